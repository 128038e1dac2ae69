-- A container's tag policy (immutable tags, deprecations of the container and of single
-- tags), one JSON object (`core::tag_policy::ContainerPolicy`); `{}` when it has none.
ALTER TABLE containers ADD COLUMN policy TEXT NOT NULL DEFAULT '{}';
