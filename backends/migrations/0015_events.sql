-- The event stream (`core::events`): every change, appended once, read by the audit log and
-- followed by the webhooks. AUTOINCREMENT: an id is never handed out again, even after the
-- newest events were pruned, so a consumer's "after id N" stays meaningful.
CREATE TABLE events (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     INTEGER NOT NULL,
    kind   TEXT NOT NULL,
    target TEXT NOT NULL,
    org    TEXT,
    actor  TEXT NOT NULL,
    -- The whole event as JSON (`core::events::Event`).
    doc    TEXT NOT NULL
);
CREATE INDEX events_at ON events (at);
CREATE INDEX events_target ON events (target, id);
CREATE INDEX events_actor ON events (actor, id);
CREATE INDEX events_org ON events (org, id);
