-- Containers deleted in the portal, with the visibility they had: a repository of that name
-- that reappears later (a push, or remains found by reconciliation) is never made more visible.
CREATE TABLE deleted_containers (
    id TEXT PRIMARY KEY NOT NULL,
    visibility TEXT NOT NULL,
    deleted_at INTEGER NOT NULL
);
