-- The Dockerfile each build built, as its source held it: shown on the container page for
-- every built tag, not only for Dockerfiles pasted in the portal. Kept apart from `builds` so
-- that listing builds never reads the texts.
CREATE TABLE build_dockerfiles (
    build INTEGER PRIMARY KEY NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
    path  TEXT NOT NULL,
    text  TEXT NOT NULL
);
