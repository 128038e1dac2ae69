-- Each container carries a copy of its tags as JSON, so that a listing reads one column instead
-- of running a correlated `json_group_array` over `tags` for every row (≈ 35 µs a row against
-- ≈ 8 µs without it, which made streaming 90,000 containers take seconds). `tags` stays the
-- source of truth: triggers rebuild the copy of the container whose tags change, whichever
-- statement changes them. The shape is what the store's row decoder reads:
-- `[[name, digest, size, [platform, ...], pushed_at], ...]`, in primary-key (name) order; the
-- decoder sorts tags itself.

ALTER TABLE containers ADD COLUMN tags_json TEXT NOT NULL DEFAULT '[]';

UPDATE containers SET tags_json = (
    SELECT json_group_array(json_array(t.name, t.digest, t.size, json(t.platforms), t.pushed_at))
    FROM tags t WHERE t.container_id = containers.id
);

-- Deleting a container cascades to its tags, whose trigger then updates no row: harmless.
CREATE TRIGGER tags_json_insert AFTER INSERT ON tags
BEGIN
    UPDATE containers SET tags_json = (
        SELECT json_group_array(json_array(t.name, t.digest, t.size, json(t.platforms), t.pushed_at))
        FROM tags t WHERE t.container_id = NEW.container_id
    ) WHERE id = NEW.container_id;
END;

CREATE TRIGGER tags_json_delete AFTER DELETE ON tags
BEGIN
    UPDATE containers SET tags_json = (
        SELECT json_group_array(json_array(t.name, t.digest, t.size, json(t.platforms), t.pushed_at))
        FROM tags t WHERE t.container_id = OLD.container_id
    ) WHERE id = OLD.container_id;
END;

-- Covers an update that moves a tag to another container as well as one that edits it.
CREATE TRIGGER tags_json_update AFTER UPDATE ON tags
BEGIN
    UPDATE containers SET tags_json = (
        SELECT json_group_array(json_array(t.name, t.digest, t.size, json(t.platforms), t.pushed_at))
        FROM tags t WHERE t.container_id = containers.id
    ) WHERE id IN (OLD.container_id, NEW.container_id);
END;
