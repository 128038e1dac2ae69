-- The immutability default of a user's namespace (`core::tag_policy::ImmutableTags` as JSON),
-- NULL for none. Organisations keep theirs in their document.
ALTER TABLE users ADD COLUMN immutable TEXT;
