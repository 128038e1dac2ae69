//! The LDAP directory behind the sign-in port: find the user with the search account, check
//! the password with a bind as the user's own DN, then read their groups.
//!
//! Every value that reaches a filter is escaped (RFC 4515, `ldap3::ldap_escape`): what a
//! stranger types as a user name can never widen a search. An empty password never reaches
//! the directory, since an LDAP simple bind with a DN and no password is an "unauthenticated
//! bind" that many servers answer with success. Each operation opens its own connection and
//! is bounded, connection and all, by `timeout_secs`; sign-ins are rare (verified passwords
//! are remembered for a while by the web crate), so a pool would buy little.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bioshadock_core::accounts::Source;
use bioshadock_core::config::LdapConfig;
use bioshadock_core::identity::{MAX_GROUPS, VerifiedIdentity};
use bioshadock_core::ports::directory::PasswordDirectory;
use bioshadock_core::{PortError, PortResult};
use ldap3::{
    Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry, SearchOptions, ldap_escape,
};
use rustls::ClientConfig;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// `invalidCredentials`: a wrong password (or a DN that does not exist).
const INVALID_CREDENTIALS: u32 = 49;
/// The longest user name sent to the directory: longer ones cannot be valid accounts here.
const MAX_USERNAME_LEN: usize = 256;
/// The longest password sent to the directory.
const MAX_PASSWORD_LEN: usize = 1024;

/// An LDAP directory, configured by `[auth.ldap]`.
pub struct LdapDirectory {
    config: LdapConfig,
    /// The roots to trust for TLS, when `ca_file` names them.
    tls: Option<Arc<ClientConfig>>,
    timeout: Duration,
}

/// A user entry found by the search.
struct UserEntry {
    dn: String,
    username: String,
    email: Option<String>,
    member_of: Vec<String>,
}

impl LdapDirectory {
    /// The directory of `config`; reads `ca_file` now, so a bad file stops start-up rather
    /// than the first sign-in.
    pub fn new(config: &LdapConfig) -> Result<Self, String> {
        let tls = match &config.ca_file {
            Some(path) => Some(Arc::new(client_config_trusting(path)?)),
            None => None,
        };
        Ok(Self {
            config: config.clone(),
            tls,
            timeout: Duration::from_secs(config.timeout_secs),
        })
    }

    async fn connect(&self) -> PortResult<Ldap> {
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(self.timeout)
            .set_starttls(self.config.start_tls);
        if let Some(tls) = &self.tls {
            settings = settings.set_config(tls.clone());
        }
        let (connection, ldap) = LdapConnAsync::with_settings(settings, &self.config.url)
            .await
            .map_err(|e| unavailable("could not connect", &e))?;
        ldap3::drive!(connection);
        Ok(ldap)
    }

    /// Binds as the search account (or stays anonymous when there is none).
    async fn bind_search_account(&self, ldap: &mut Ldap) -> PortResult<()> {
        if self.config.bind_dn.is_empty() {
            return Ok(());
        }
        let result = ldap
            .with_timeout(self.timeout)
            .simple_bind(&self.config.bind_dn, self.config.bind_password.expose())
            .await
            .map_err(|e| unavailable("the search account's bind failed", &e))?;
        if result.rc != 0 {
            // Never the password; the DN is configuration, not a secret.
            tracing::warn!(bind_dn = %self.config.bind_dn, rc = result.rc, "the LDAP search account was refused");
            return Err(PortError::Unavailable(
                "the directory refused the search account".into(),
            ));
        }
        Ok(())
    }

    /// The one entry the user filter finds for `username`; `None` for none, or for several
    /// (an ambiguous filter must not let the first of them sign in).
    async fn find_user(&self, ldap: &mut Ldap, username: &str) -> PortResult<Option<UserEntry>> {
        let filter = self
            .config
            .user_filter
            .replace("{username}", &ldap_escape(username));
        let attributes = [
            self.config.username_attribute.as_str(),
            self.config.email_attribute.as_str(),
            "memberOf",
        ];
        let entries = self
            .search(ldap, &self.config.user_base_dn, &filter, &attributes, 2)
            .await?;
        if entries.len() > 1 {
            tracing::warn!(
                filter = %self.config.user_filter,
                "the LDAP user filter matches several entries for one name; refusing the sign-in"
            );
            return Ok(None);
        }
        let Some(entry) = entries.into_iter().next() else {
            return Ok(None);
        };
        let first = |attribute: &str| {
            entry
                .attrs
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(attribute))
                .and_then(|(_, values)| values.first().cloned())
        };
        let Some(found_name) = first(&self.config.username_attribute) else {
            tracing::warn!(attribute = %self.config.username_attribute, "a directory user has no name attribute");
            return Ok(None);
        };
        let member_of = entry
            .attrs
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("memberOf"))
            .map(|(_, values)| values.clone())
            .unwrap_or_default();
        Ok(Some(UserEntry {
            email: first(&self.config.email_attribute),
            username: found_name,
            dn: entry.dn,
            member_of,
        }))
    }

    /// The DNs of `user`'s groups: their `memberOf`, and what the group filter finds.
    async fn groups_of(&self, ldap: &mut Ldap, user: &UserEntry) -> PortResult<Vec<String>> {
        let mut groups = user.member_of.clone();
        if !self.config.group_base_dn.is_empty() {
            let filter = self
                .config
                .group_filter
                .replace("{dn}", &ldap_escape(user.dn.as_str()))
                .replace("{username}", &ldap_escape(user.username.as_str()));
            let found = self
                .search(
                    ldap,
                    &self.config.group_base_dn,
                    &filter,
                    &["1.1"],
                    MAX_GROUPS,
                )
                .await?;
            groups.extend(found.into_iter().map(|e| e.dn));
        }
        groups.sort();
        groups.dedup();
        if groups.len() > MAX_GROUPS {
            tracing::warn!(user = %user.username, max = MAX_GROUPS, "a directory user has too many groups; the rest are ignored");
            groups.truncate(MAX_GROUPS);
        }
        Ok(groups)
    }

    /// At most `limit` entries of a subtree search (asked of the server, and enforced here
    /// for a server that ignores the size limit).
    async fn search(
        &self,
        ldap: &mut Ldap,
        base: &str,
        filter: &str,
        attributes: &[&str],
        limit: usize,
    ) -> PortResult<Vec<SearchEntry>> {
        let mut stream = ldap
            .with_search_options(
                SearchOptions::new().sizelimit(i32::try_from(limit).unwrap_or(i32::MAX)),
            )
            .with_timeout(self.timeout)
            .streaming_search(base, Scope::Subtree, filter, attributes.to_vec())
            .await
            .map_err(|e| unavailable("the search failed", &e))?;
        let mut entries = Vec::new();
        while let Some(entry) = stream
            .next()
            .await
            .map_err(|e| unavailable("the search failed", &e))?
        {
            // `construct` panics on an entry it cannot decode; a directory's bad answer must
            // not take the request (or a worker thread's runtime) down with it.
            let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                SearchEntry::construct(entry)
            }))
            .map_err(|_| {
                tracing::warn!("the directory sent an entry that cannot be decoded");
                PortError::Unavailable("the directory sent an entry that cannot be decoded".into())
            })?;
            entries.push(decoded);
            if entries.len() >= limit {
                // Enough: the connection is closed right after, which abandons the rest.
                return Ok(entries);
            }
        }
        let result = stream.finish().await;
        // 0 success, 4 sizeLimitExceeded (we asked for the limit), 32 noSuchObject (an empty
        // base): each leaves the entries read so far as the answer.
        if !matches!(result.rc, 0 | 4 | 32) {
            tracing::warn!(rc = result.rc, text = %result.text, "an LDAP search failed");
            return Err(PortError::Unavailable(format!(
                "the directory's search failed (LDAP result {})",
                result.rc
            )));
        }
        Ok(entries)
    }

    fn identity(&self, user: UserEntry, groups: Vec<String>) -> VerifiedIdentity {
        VerifiedIdentity {
            source: Source::Ldap,
            username: user.username,
            email: user.email,
            groups,
        }
    }

    async fn authenticate_within(
        &self,
        username: &str,
        password: &str,
    ) -> PortResult<Option<VerifiedIdentity>> {
        let mut ldap = self.connect().await?;
        self.bind_search_account(&mut ldap).await?;
        let Some(user) = self.find_user(&mut ldap, username).await? else {
            return Ok(None);
        };
        let bound = ldap
            .with_timeout(self.timeout)
            .simple_bind(&user.dn, password)
            .await
            .map_err(|e| unavailable("the user's bind failed", &e))?;
        match bound.rc {
            0 => {}
            INVALID_CREDENTIALS => return Ok(None),
            rc => {
                tracing::warn!(rc, text = %bound.text, "the directory refused a user's bind");
                return Ok(None);
            }
        }
        // Groups are read as the search account: a user may not be allowed to read them.
        self.bind_search_account(&mut ldap).await?;
        let groups = self.groups_of(&mut ldap, &user).await?;
        let _ = ldap.unbind().await;
        Ok(Some(self.identity(user, groups)))
    }

    async fn lookup_within(&self, username: &str) -> PortResult<Option<VerifiedIdentity>> {
        let mut ldap = self.connect().await?;
        self.bind_search_account(&mut ldap).await?;
        let Some(user) = self.find_user(&mut ldap, username).await? else {
            return Ok(None);
        };
        let groups = self.groups_of(&mut ldap, &user).await?;
        let _ = ldap.unbind().await;
        Ok(Some(self.identity(user, groups)))
    }

    /// Runs `operation` within the configured timeout.
    async fn bounded<T>(&self, operation: impl Future<Output = PortResult<T>>) -> PortResult<T> {
        tokio::time::timeout(self.timeout, operation)
            .await
            .unwrap_or_else(|_| {
                Err(PortError::Unavailable(format!(
                    "the directory did not answer within {} s",
                    self.timeout.as_secs()
                )))
            })
    }
}

/// Whether `username` and `password` are worth sending at all.
fn presentable(username: &str, password: &str) -> bool {
    !username.is_empty()
        && username.len() <= MAX_USERNAME_LEN
        && !password.is_empty()
        && password.len() <= MAX_PASSWORD_LEN
}

#[async_trait]
impl PasswordDirectory for LdapDirectory {
    async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> PortResult<Option<VerifiedIdentity>> {
        if !presentable(username, password) {
            return Ok(None);
        }
        self.bounded(self.authenticate_within(username, password))
            .await
    }

    async fn lookup(&self, username: &str) -> PortResult<Option<VerifiedIdentity>> {
        if username.is_empty() || username.len() > MAX_USERNAME_LEN {
            return Ok(None);
        }
        self.bounded(self.lookup_within(username)).await
    }
}

fn unavailable(what: &str, error: &ldap3::LdapError) -> PortError {
    tracing::warn!(error = %error, "LDAP: {what}");
    PortError::Unavailable(format!("the directory is unreachable: {what}"))
}

/// A TLS client configuration that trusts the PEM certificates in `path`.
fn client_config_trusting(path: &std::path::Path) -> Result<ClientConfig, String> {
    let why = |e: &dyn std::fmt::Display| format!("`auth.ldap.ca_file` ({}): {e}", path.display());
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_file_iter(path).map_err(|e| why(&e))? {
        roots
            .add(certificate.map_err(|e| why(&e))?)
            .map_err(|e| why(&e))?;
    }
    if roots.is_empty() {
        return Err(why(&"holds no certificate"));
    }
    Ok(
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| why(&e))?
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}
