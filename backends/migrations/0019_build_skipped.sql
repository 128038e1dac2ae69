-- no-transaction
-- A build may now end `skipped` (a trigger's path filter matched no file changed since the
-- last build). SQLite cannot change a CHECK constraint in place, so the table is made again,
-- the documented way: foreign keys off (else dropping `builds` would cascade to its log,
-- Dockerfile and descriptor rows), copy, drop, rename, check, all in one transaction; they are
-- turned on again after it. Hence `no-transaction` above: the pragma has no effect inside one.
PRAGMA foreign_keys = OFF;

BEGIN;

CREATE TABLE builds_new (
    id           INTEGER PRIMARY KEY NOT NULL,
    container    TEXT NOT NULL,
    tag          TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    source_kind  TEXT NOT NULL CHECK (source_kind IN ('git', 'dockerfile')),
    source       TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN
                     ('queued', 'running', 'success', 'failed', 'cancelled', 'interrupted',
                      'skipped')),
    reason       TEXT,
    revision     TEXT,
    digest       TEXT,
    worker       TEXT,
    queued_at    INTEGER NOT NULL,
    started_at   INTEGER,
    finished_at  INTEGER,
    log_lines    INTEGER NOT NULL DEFAULT 0,
    options      TEXT NOT NULL DEFAULT '{}'
);

INSERT INTO builds_new (id, container, tag, requested_by, source_kind, source, status, reason,
                        revision, digest, worker, queued_at, started_at, finished_at, log_lines,
                        options)
SELECT id, container, tag, requested_by, source_kind, source, status, reason, revision, digest,
       worker, queued_at, started_at, finished_at, log_lines, options
FROM builds;

DROP TABLE builds;
ALTER TABLE builds_new RENAME TO builds;

CREATE INDEX builds_container ON builds (container, id DESC);
CREATE INDEX builds_live ON builds (id) WHERE status IN ('queued', 'running');

COMMIT;

PRAGMA foreign_keys = ON;
