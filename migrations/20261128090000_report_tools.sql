-- Which tools produced each report (`depbadge report` fills it; a CycloneDX BOM names its own),
-- shown on the project page. At most 32 entries of a name and an optional version.

ALTER TABLE projects ADD COLUMN tools JSONB NOT NULL DEFAULT '[]';
