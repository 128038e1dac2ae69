-- Push triggers (`core::triggers`), each as JSON, and their decision log: every hook
-- delivery's fate, appended, read newest first per container, pruned by age.
CREATE TABLE triggers (
    id         TEXT PRIMARY KEY NOT NULL,
    container  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    doc        TEXT NOT NULL
);
CREATE INDEX triggers_container ON triggers (container, created_at);

CREATE TABLE trigger_decisions (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    container TEXT NOT NULL,
    at        INTEGER NOT NULL,
    doc       TEXT NOT NULL
);
CREATE INDEX trigger_decisions_container ON trigger_decisions (container, id);
CREATE INDEX trigger_decisions_at ON trigger_decisions (at);
