-- Fixes forward what 20261128150000 broke for release 0.1.0 (1ae8056), which reads a project's
-- dependencies only from the rows of `dependencies`: that migration emptied the table, so every
-- 0.1.0 replica still running answered every project with no dependencies, and its exports had
-- none. This puts the rows back from the documents; from this release on, writers keep both
-- (docs/upgrades.md). It only adds rows: nothing a running version reads is changed or removed.
--
-- Only projects whose document is current (its digest is the report's) and that have no rows:
-- a project 0.1.0 wrote after 20261128150000 has rows newer than its document, and keeps them.
--
-- Writers of every version delete and insert a slug's rows under the project row's lock; this
-- statement takes no such lock, so the table is locked against writers for its duration (reads
-- go on), and no writer can insert rows for a slug between this statement's check and its insert.
LOCK TABLE dependencies IN SHARE ROW EXCLUSIVE MODE;

INSERT INTO dependencies (slug, position, purl, ecosystem, name, version, latest, scope, freshness, advisories)
SELECT p.slug,
       (d.ordinality - 1)::int4,
       d.value ->> 'purl',
       d.value ->> 'ecosystem',
       d.value ->> 'name',
       d.value ->> 'version',
       d.value ->> 'latest',
       d.value ->> 'scope',
       d.value ->> 'freshness',
       COALESCE((d.value -> 'advisories')::jsonb, '[]'::jsonb)
FROM projects p
CROSS JOIN LATERAL json_array_elements(p.dependencies) WITH ORDINALITY AS d (value, ordinality)
WHERE p.dependencies_sha256 = p.report_sha256
  AND NOT EXISTS (SELECT 1 FROM dependencies r WHERE r.slug = p.slug);
