-- Outgoing webhooks (`core::webhooks`): the hooks, each as JSON; their deliveries, an outbox
-- written before a request is made, each as JSON beside the columns the sender and the log
-- read; and the dispatcher's place in the event stream.
CREATE TABLE webhooks (
    id         TEXT PRIMARY KEY NOT NULL,
    created_at INTEGER NOT NULL,
    doc        TEXT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id         TEXT PRIMARY KEY NOT NULL,
    hook       TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    -- 1 while pending; NULL once delivered or failed, so the due index holds only the pending.
    pending    INTEGER,
    next_at    INTEGER NOT NULL,
    doc        TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (hook, created_at);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (pending, next_at);

-- One row: the id of the last event turned into deliveries.
CREATE TABLE webhook_cursor (
    name  TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
);
