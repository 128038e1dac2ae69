-- The job queue. A job is queued, then leased by one worker until `lease_until`, then finished
-- (done, failed or cancelled). Finished jobs stay for history; partial indexes keep the live
-- part fast however long the history grows.

CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    owner       TEXT NOT NULL,
    dedupe_key  TEXT,
    payload     TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('queued', 'leased', 'done', 'failed', 'cancelled')),
    worker      TEXT,
    lease_until INTEGER,
    enqueued_at INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    finished_at INTEGER
);

-- At most one live job per dedupe key: the backstop behind enqueue's check.
CREATE UNIQUE INDEX jobs_live_dedupe ON jobs (dedupe_key)
    WHERE dedupe_key IS NOT NULL AND state IN ('queued', 'leased');
-- Each owner's oldest queued job, and the queued count.
CREATE INDEX jobs_queued ON jobs (owner, id) WHERE state = 'queued';
-- Leased jobs per owner (fairness, pending count) and by expiry (reaping).
CREATE INDEX jobs_leased_owner ON jobs (owner) WHERE state = 'leased';
CREATE INDEX jobs_leased_until ON jobs (lease_until) WHERE state = 'leased';

-- When each owner last got a job leased, as a sequence number rather than a clock so that two
-- leases in the same millisecond still have an order. Owners never leased have no row.
CREATE TABLE queue_owners (
    owner          TEXT PRIMARY KEY NOT NULL,
    last_lease_seq INTEGER NOT NULL
) WITHOUT ROWID;
