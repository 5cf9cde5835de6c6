-- A report's dependencies are written whole and read whole (the JSON API, the page, exports).
-- As rows, replacing a 10,000-dependency report cost PostgreSQL about 100 ms: deleting the old
-- rows and inserting the new ones with their index entries. As one JSON value in the project's
-- row (stored compressed, out of line) it costs about 25 ms.
--
-- `dependencies_sha256` is the digest of the report the document was written from. A replica of
-- an earlier version, still running during a rollout, writes rows and `report_sha256` and leaves
-- the document as it was: where the two digests differ, readers read the rows instead. So the
-- rows table stays: emptied here once its rows are documents, written to only by such replicas,
-- cleared slug by slug by writers of this version, and dropped by a later migration.
ALTER TABLE projects
    ADD COLUMN dependencies JSON,
    ADD COLUMN dependencies_sha256 BYTEA;

UPDATE projects p
SET dependencies = COALESCE(
        (SELECT json_agg(json_build_object(
                    'purl', d.purl, 'ecosystem', d.ecosystem, 'name', d.name, 'version', d.version,
                    'latest', d.latest, 'scope', d.scope, 'freshness', d.freshness,
                    'advisories', d.advisories)
                ORDER BY d.position)
         FROM dependencies d WHERE d.slug = p.slug),
        '[]'::json),
    dependencies_sha256 = p.report_sha256;

DELETE FROM dependencies;
