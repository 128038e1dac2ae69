-- Where each account's identity comes from: `local` (a password hashed here), `ldap`, or
-- `oidc:ID`. Directory accounts keep an unusable `password_hash` (see the web crate's sign-in).
ALTER TABLE users ADD COLUMN source TEXT NOT NULL DEFAULT 'local';
