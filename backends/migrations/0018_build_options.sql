-- How a build is made beyond its source (build args, no-cache), as JSON: `{}` for the builds
-- recorded before options existed, which had none.
ALTER TABLE builds ADD COLUMN options TEXT NOT NULL DEFAULT '{}';
