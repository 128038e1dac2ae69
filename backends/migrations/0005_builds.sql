-- Build records and their logs. A build's id is given, not generated: it is the id of the queue
-- job that carries it, so a deduplicated enqueue leads straight to the existing build. Times
-- are unix milliseconds like everywhere else.
--
-- `container` has no foreign key to `containers`: the build port stands apart from the store
-- (another backend may hold either), so deleting a container removes its builds through
-- `delete_for_container`, not a cascade, and a later container of the same name starts clean.

CREATE TABLE builds (
    id           INTEGER PRIMARY KEY NOT NULL,
    container    TEXT NOT NULL,
    tag          TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    source_kind  TEXT NOT NULL CHECK (source_kind IN ('git', 'dockerfile')),
    -- The git source string or the Dockerfile's text, by `source_kind`.
    source       TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN
                     ('queued', 'running', 'success', 'failed', 'cancelled', 'interrupted')),
    reason       TEXT,
    revision     TEXT,
    digest       TEXT,
    worker       TEXT,
    queued_at    INTEGER NOT NULL,
    started_at   INTEGER,
    finished_at  INTEGER,
    -- How many rows `build_log` holds for the build, and so the last `seq` given: appends
    -- bump it and number their lines after it in one transaction.
    log_lines    INTEGER NOT NULL DEFAULT 0
);

-- A container's builds, newest first (its builds page); also serves `delete_for_container`.
CREATE INDEX builds_container ON builds (container, id DESC);
-- Live builds, oldest first (start-up recovery, the admin page): finished builds pile up as
-- history, and the partial index keeps this read as small as the live set.
CREATE INDEX builds_live ON builds (id) WHERE status IN ('queued', 'running');

-- One row a line, clustered on (build, seq) so a page of a log is one range read. Lines are
-- capped (8 KiB) by the adapter; most are far shorter.
CREATE TABLE build_log (
    build_id INTEGER NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,
    line     TEXT NOT NULL,
    PRIMARY KEY (build_id, seq)
) WITHOUT ROWID;
