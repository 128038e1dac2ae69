-- Robot accounts, named `owner+name`. `owner` is a user or an organisation and deliberately has
-- no foreign key (it may be either); an organisation's robots are deleted with it by the
-- portal. Only the SHA-256 hash of a robot's token is stored. `repositories` is a JSON array of
-- names within the owner's namespace (empty: all of them).
CREATE TABLE robots (
    name         TEXT PRIMARY KEY NOT NULL,
    owner        TEXT NOT NULL,
    permission   TEXT NOT NULL CHECK (permission IN ('read', 'write')),
    repositories TEXT NOT NULL DEFAULT '[]',
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    disabled     INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    token_hash   TEXT NOT NULL
);
-- An owner's robots, by name.
CREATE INDEX robots_owner ON robots (owner, name);
