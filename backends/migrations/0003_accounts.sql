-- Accounts: local users and their API keys, the members of containers, and web sessions.
-- Times are unix milliseconds like the catalogue's, except the sessions' expiry (see below).

CREATE TABLE users (
    name          TEXT PRIMARY KEY NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('user', 'editor', 'admin')),
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    -- A PHC string (argon2id); the secret itself is never stored.
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

-- The `id` is the key's public part (`bsk_<id>_…`, 12 hex digits): a presented key is found by
-- it, then its secret is checked against `secret_hash` (SHA-256, never the secret itself).
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY NOT NULL,
    user         TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    label        TEXT NOT NULL DEFAULT '',
    -- Comma-separated scope names, `read,build,push`.
    scopes       TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked      INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
);
-- A user's keys, newest first (the keys page); also serves the cascade from `users`.
CREATE INDEX api_keys_user ON api_keys (user, created_at DESC);

-- Users given rights on a container they do not own. Written with the container (put, seed,
-- migration), so `user` deliberately has no foreign key to `users`: a container may arrive
-- before its members' accounts do, exactly as `containers.owner` may. Small rows read by
-- container: clustered on the primary key, which also keeps them sorted by user.
CREATE TABLE container_members (
    container_id TEXT NOT NULL REFERENCES containers (id) ON DELETE CASCADE,
    user         TEXT NOT NULL,
    access       TEXT NOT NULL CHECK (access IN ('pull', 'push')),
    PRIMARY KEY (container_id, user)
) WITHOUT ROWID;
-- The containers a user is a member of: a signed-in listing's visibility check and count.
CREATE INDEX container_members_user ON container_members (user, container_id);

-- Web sessions (tower-sessions records, JSON). `expiry_date` is in unix *seconds*, the
-- precision of the session cookie's expiry; expired rows are ignored on load and swept by
-- `delete_expired`, which the index keeps from scanning live sessions.
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY NOT NULL,
    data        BLOB NOT NULL,
    expiry_date INTEGER NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expiry_date);
