-- Organisations. Each is one aggregate (members, roles, teams, repository grants) kept as JSON
-- and saved whole: `version` grows by one with every save, and a save names the version it
-- was read at, so two admins editing at once cannot lose each other's change.
-- Users and organisations share one set of names (both are namespaces): each side's insert
-- checks the other table in the same statement.
CREATE TABLE orgs (
    name    TEXT PRIMARY KEY NOT NULL,
    doc     TEXT NOT NULL,
    version INTEGER NOT NULL
);

-- Who is in which organisation, rewritten with every save: a request's permissions start
-- from the organisations of its user, found here by the primary key's prefix.
CREATE TABLE org_members (
    user TEXT NOT NULL,
    org  TEXT NOT NULL REFERENCES orgs (name) ON DELETE CASCADE,
    PRIMARY KEY (user, org)
) WITHOUT ROWID;
-- The cascade from `orgs`.
CREATE INDEX org_members_org ON org_members (org);
