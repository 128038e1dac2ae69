-- The catalogue: containers and their tags. Times are unix milliseconds (the precision every
-- backend keeps); labels and platforms are JSON text.

CREATE TABLE containers (
    id          TEXT PRIMARY KEY NOT NULL,
    owner       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    visibility  TEXT NOT NULL CHECK (visibility IN ('public', 'private')),
    git         TEXT,
    dockerfile  TEXT,
    labels      TEXT NOT NULL DEFAULT '{}',
    pulls       INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- Newest-first listings walk one of these in order and stop after a page, for every audience.
-- `containers_newest` carries visibility and owner so that a signed-in user's listing
-- ("public or mine") filters on the index alone and reads only the rows it returns.
CREATE INDEX containers_newest ON containers (updated_at DESC, id, visibility, owner);
CREATE INDEX containers_visible_newest ON containers (visibility, updated_at DESC, id);
-- A user's own containers (their private count, "my containers").
CREATE INDEX containers_owner ON containers (owner, visibility);

-- Small rows read by container: clustered on the primary key.
CREATE TABLE tags (
    container_id TEXT NOT NULL REFERENCES containers (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    digest       TEXT NOT NULL,
    size         INTEGER NOT NULL,
    platforms    TEXT NOT NULL DEFAULT '[]',
    pushed_at    INTEGER NOT NULL,
    PRIMARY KEY (container_id, name)
) WITHOUT ROWID;

-- How many containers of each visibility exist, kept by triggers so that counting the public
-- catalogue is one row read instead of a scan of 100,000 index entries.
CREATE TABLE container_counts (
    visibility TEXT PRIMARY KEY NOT NULL,
    n          INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO container_counts (visibility, n) VALUES ('public', 0), ('private', 0);

CREATE TRIGGER containers_count_insert AFTER INSERT ON containers
BEGIN
    UPDATE container_counts SET n = n + 1 WHERE visibility = NEW.visibility;
END;

CREATE TRIGGER containers_count_delete AFTER DELETE ON containers
BEGIN
    UPDATE container_counts SET n = n - 1 WHERE visibility = OLD.visibility;
END;

CREATE TRIGGER containers_count_update AFTER UPDATE OF visibility ON containers
WHEN OLD.visibility <> NEW.visibility
BEGIN
    UPDATE container_counts SET n = n - 1 WHERE visibility = OLD.visibility;
    UPDATE container_counts SET n = n + 1 WHERE visibility = NEW.visibility;
END;
