-- Where each account's identity comes from: `local` (a password hashed here), `ldap`, or
-- `oidc:ID`. Accounts of a provider keep an unusable `password_hash` (the web crate's sign-in).
ALTER TABLE users ADD COLUMN source TEXT NOT NULL DEFAULT 'local';
-- The provider's stable id of the person (an OpenID Connect `sub`); one account per id.
ALTER TABLE users ADD COLUMN subject TEXT;
CREATE UNIQUE INDEX users_source_subject ON users (source, subject) WHERE subject IS NOT NULL;
