-- Private projects and their read keys (docs/contract.md §12). Only adds: releases before this
-- one ignore both, and see every project as public (docs/upgrades.md says what that means
-- during a rollout).

-- A constant default: PostgreSQL adds the column without rewriting the table.
ALTER TABLE projects
    ADD COLUMN visibility TEXT NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'private'));

-- Only each key's SHA-256 is stored: the key itself is shown once, when it is created.
CREATE TABLE read_keys (
    id            UUID        PRIMARY KEY,
    slug          TEXT        NOT NULL REFERENCES projects (slug) ON DELETE CASCADE,
    key_sha256    BYTEA       NOT NULL UNIQUE CHECK (length(key_sha256) = 32),
    created_at    TIMESTAMPTZ NOT NULL,
    -- Recorded by each replica at most every few seconds, not by each read.
    last_used_at  TIMESTAMPTZ
);
CREATE INDEX read_keys_by_slug ON read_keys (slug, created_at);
