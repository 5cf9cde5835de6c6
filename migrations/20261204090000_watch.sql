-- `depbadge watch` (docs/watching.md): what the registries and advisory sources say about every
-- package a stored report names, and from each package to the projects that use it. Only adds:
-- releases before this one neither read nor write any of it.

-- One row per package (ecosystem and name, as `package_key` spells it), inserted by the write
-- path the first time a report names the package; checked by the watcher.
CREATE TABLE watched_packages (
    key                  TEXT        PRIMARY KEY,
    ecosystem            TEXT        NOT NULL,
    name                 TEXT        NOT NULL,
    named_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- The registry's newest stable release; NULL until a look-up has said.
    latest               TEXT,
    etag                 TEXT,
    last_modified        TEXT,
    -- When the registry last confirmed `latest` (200 or 304).
    checked_at           TIMESTAMPTZ,
    -- A package never checked is due at once, before every other.
    next_check_at        TIMESTAMPTZ NOT NULL DEFAULT '1970-01-01T00:00:00Z',
    failures             INTEGER     NOT NULL DEFAULT 0 CHECK (failures >= 0),
    -- Advisory rules (`AdvisoryRule`): from the OSV sources, and from the registry (PyPI).
    osv_advisories       JSONB       NOT NULL DEFAULT '[]',
    registry_advisories  JSONB       NOT NULL DEFAULT '[]'
);
CREATE INDEX watched_packages_due ON watched_packages (ecosystem, next_check_at);

-- The versions of PyPI packages that reports name: PyPI lists advisories per release.
CREATE TABLE watched_versions (
    key      TEXT NOT NULL,
    version  TEXT NOT NULL,
    PRIMARY KEY (key, version)
);

-- The reverse index: the keys of the packages each project's report names, and the digest of
-- the report they were taken from (a release before this one writes reports without them; the
-- watcher fills them in where the digests differ).
ALTER TABLE projects
    ADD COLUMN packages TEXT[],
    ADD COLUMN packages_sha256 BYTEA;
CREATE INDEX projects_packages ON projects USING GIN (packages);

-- When the advisory sources were last read completely.
CREATE TABLE watch_state (
    only_row          BOOLEAN     PRIMARY KEY DEFAULT true CHECK (only_row),
    advisories_as_of  TIMESTAMPTZ
);
INSERT INTO watch_state (only_row) VALUES (true);
