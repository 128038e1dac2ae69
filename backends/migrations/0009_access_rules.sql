-- The access rules (docker_auth ACL format): one document, kept as the admin wrote it, with a
-- version that a save must name (two admins saving at once cannot lose one another's change).
CREATE TABLE access_rules (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    source  TEXT NOT NULL,
    version INTEGER NOT NULL
);
