-- Where each consumer of the event stream stands (the base-image rebuilds; the webhooks keep
-- theirs in `webhook_cursor`): the id of the last event it handled. Moved forward only.
CREATE TABLE event_cursors (
    consumer TEXT PRIMARY KEY NOT NULL,
    value    INTEGER NOT NULL
) WITHOUT ROWID;
