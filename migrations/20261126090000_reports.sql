-- Projects, their dependencies, and the per-scope status computed when a report is written.
-- The slug key is the lowercased slug (SPEC 1); display_slug keeps the spelling first reported.

CREATE TABLE projects (
    slug           TEXT        PRIMARY KEY CHECK (slug = lower(slug) AND length(slug) <= 255),
    display_slug   TEXT        NOT NULL CHECK (lower(display_slug) = slug),
    analyzed_at    TIMESTAMPTZ NOT NULL,
    -- When this report was written: the badge's Last-Modified.
    updated_at     TIMESTAMPTZ NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    -- SHA-256 of the dependency list: an identical retried PUT is recognised without reading it.
    report_sha256  BYTEA       NOT NULL
);

CREATE TABLE dependencies (
    slug        TEXT    NOT NULL REFERENCES projects (slug) ON DELETE CASCADE,
    position    INTEGER NOT NULL CHECK (position >= 0),
    purl        TEXT    NOT NULL,
    ecosystem   TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    version     TEXT    NOT NULL,
    latest      TEXT,
    scope       TEXT    NOT NULL CHECK (scope IN ('runtime', 'dev', 'build', 'optional')),
    freshness   TEXT    NOT NULL CHECK (freshness IN ('up-to-date', 'outdated', 'vulnerable', 'unknown')),
    advisories  JSONB   NOT NULL DEFAULT '[]',
    PRIMARY KEY (slug, position)
);

-- One row per project and scope selection: everything a badge needs, found by its primary key.
CREATE TABLE project_statuses (
    slug         TEXT        NOT NULL REFERENCES projects (slug) ON DELETE CASCADE,
    scope        TEXT        NOT NULL CHECK (scope IN ('runtime', 'dev', 'all')),
    status       TEXT        NOT NULL CHECK (status IN ('up-to-date', 'out-of-date', 'vulnerable', 'none', 'unknown')),
    total        INTEGER     NOT NULL CHECK (total >= 0),
    up_to_date   INTEGER     NOT NULL CHECK (up_to_date >= 0),
    outdated     INTEGER     NOT NULL CHECK (outdated >= 0),
    vulnerable   INTEGER     NOT NULL CHECK (vulnerable >= 0),
    unknown      INTEGER     NOT NULL CHECK (unknown >= 0),
    analyzed_at  TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (slug, scope),
    CHECK (total = up_to_date + outdated + vulnerable + unknown)
);

-- GET /v1/projects?status=...: keyset pagination by slug within a scope and status.
CREATE INDEX project_statuses_listing ON project_statuses (scope, status, slug);
