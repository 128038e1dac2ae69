-- Workflow descriptors (CWL, WDL, …): the container names one (a path in its git source or a
-- URL), and each build records the one it fetched with its source, so GA4GH TRS serves what
-- was built. Kept apart from `builds`, like the Dockerfiles, so listing builds never reads them.
ALTER TABLE containers ADD COLUMN descriptor TEXT;

CREATE TABLE build_descriptors (
    build  INTEGER PRIMARY KEY NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
    kind   TEXT NOT NULL,
    origin TEXT NOT NULL,
    text   TEXT NOT NULL
);
