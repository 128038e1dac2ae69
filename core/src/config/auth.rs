//! `[auth]`: how users sign in besides the portal's own passwords.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::identity::{GroupMapping, TeamMapping};
use crate::secret::Secret;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Whether local accounts sign in with their password. `false` leaves it to
    /// administrators (a break-glass account) and makes the directory the way in.
    pub local_sign_in: bool,
    /// The LDAP directory, when there is one.
    #[serde(default)]
    pub ldap: Option<LdapConfig>,
    /// OpenID Connect providers, one `[[auth.oidc]]` block each.
    #[serde(default)]
    pub oidc: Vec<OidcConfig>,
}

/// `[[auth.oidc]]`: one OpenID Connect provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// Names the provider in URLs (`/auth/oidc/{id}/callback`) and account sources
    /// (`oidc:{id}`): lowercase letters, digits and `-`.
    pub id: String,
    /// The button's label on the sign-in page.
    pub display_name: String,
    /// The issuer URL; its `/.well-known/openid-configuration` describes the provider.
    pub issuer: String,
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Secret<String>,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// The claim whose value names the account here.
    #[serde(default = "default_username_claim")]
    pub username_claim: String,
    /// The claim that lists the user's groups (e.g. `groups`); absent: no groups.
    #[serde(default)]
    pub groups_claim: Option<String>,
    #[serde(default)]
    pub admin_group: Option<String>,
    #[serde(default)]
    pub editor_group: Option<String>,
    /// `[[auth.oidc.team]] group = "…"  team = "org/team"`.
    #[serde(default)]
    pub team: Vec<TeamMappingConfig>,
    /// E-mail domains whose (verified) addresses may create an account; empty: any.
    #[serde(default)]
    pub allowed_domains: Vec<String>,
    /// Bounds each request to the provider.
    #[serde(default = "default_oidc_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_scopes() -> Vec<String> {
    ["openid", "profile", "email"].map(String::from).to_vec()
}
fn default_username_claim() -> String {
    "preferred_username".into()
}
fn default_oidc_timeout_secs() -> u64 {
    10
}

impl OidcConfig {
    /// The role and team mapping, validated.
    pub fn mapping(&self) -> Result<GroupMapping, String> {
        mapping(&self.admin_group, &self.editor_group, &self.team)
    }

    /// The first thing wrong with the settings.
    pub(super) fn problem(&self) -> Option<String> {
        let id = &self.id;
        if let Err(e) = crate::accounts::ProviderId::parse(id) {
            return Some(format!("`id` {id:?}: {e}"));
        }
        if self.display_name.trim().is_empty() {
            return Some(format!("provider `{id}`: `display_name` must not be empty"));
        }
        if !secure_or_loopback(&self.issuer) {
            return Some(format!(
                "provider `{id}`: `issuer` must be an https:// URL (http:// only on this machine)"
            ));
        }
        if self.client_id.trim().is_empty() {
            return Some(format!("provider `{id}`: `client_id` must not be empty"));
        }
        if !self.scopes.iter().any(|s| s == "openid") {
            return Some(format!("provider `{id}`: `scopes` must include openid"));
        }
        if let Some(bad) = self.scopes.iter().find(|s| {
            s.is_empty()
                || !s
                    .chars()
                    .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
        }) {
            return Some(format!(
                "provider `{id}`: scope {bad:?} is not a scope token"
            ));
        }
        if self.username_claim.trim().is_empty() {
            return Some(format!(
                "provider `{id}`: `username_claim` must not be empty"
            ));
        }
        if let Some(bad) = self
            .allowed_domains
            .iter()
            .find(|d| d.is_empty() || d.contains('@') || d.contains(char::is_whitespace))
        {
            return Some(format!(
                "provider `{id}`: {bad:?} is not an e-mail domain (`allowed_domains`)"
            ));
        }
        if !(1..=120).contains(&self.timeout_secs) {
            return Some(format!(
                "provider `{id}`: `timeout_secs` must be between 1 and 120"
            ));
        }
        self.mapping()
            .err()
            .map(|e| format!("provider `{id}`: team {e}"))
    }
}

/// Whether `url` is https, or http to this machine (a provider in a test or a tunnel).
fn secure_or_loopback(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

fn mapping(
    admin_group: &Option<String>,
    editor_group: &Option<String>,
    teams: &[TeamMappingConfig],
) -> Result<GroupMapping, String> {
    let teams = teams
        .iter()
        .map(|t| TeamMapping::parse(&t.group, &t.team))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(GroupMapping {
        admin_group: admin_group.clone().filter(|g| !g.trim().is_empty()),
        editor_group: editor_group.clone().filter(|g| !g.trim().is_empty()),
        teams,
    })
}

/// `[auth.ldap]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapConfig {
    /// `ldap://host:389` or `ldaps://host:636`.
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS before sending anything.
    #[serde(default)]
    pub start_tls: bool,
    /// PEM certificates to trust for the directory's TLS instead of the system's roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The search account; empty for an anonymous search.
    #[serde(default)]
    pub bind_dn: String,
    #[serde(default)]
    pub bind_password: Secret<String>,
    /// Where users are searched (the whole subtree).
    pub user_base_dn: String,
    /// `{username}` is replaced by the escaped name that was typed.
    #[serde(default = "default_user_filter")]
    pub user_filter: String,
    /// The attribute that names the account here.
    #[serde(default = "default_username_attribute")]
    pub username_attribute: String,
    #[serde(default = "default_email_attribute")]
    pub email_attribute: String,
    /// Where groups are searched; empty to use only the user's `memberOf`.
    #[serde(default)]
    pub group_base_dn: String,
    /// `{dn}` and `{username}` are replaced by the user's escaped DN and name.
    #[serde(default = "default_group_filter")]
    pub group_filter: String,
    /// The DN of the group whose members are administrators here.
    #[serde(default)]
    pub admin_group: Option<String>,
    /// The DN of the group whose members are editors here.
    #[serde(default)]
    pub editor_group: Option<String>,
    /// `[[auth.ldap.team]] group = "cn=…"  team = "org/team"`.
    #[serde(default)]
    pub team: Vec<TeamMappingConfig>,
    /// How often a directory user's presence and groups are checked again for their API keys
    /// and sessions.
    #[serde(default = "default_recheck_secs")]
    pub recheck_secs: u64,
    /// Bounds every connection and operation: a directory that does not answer in time is
    /// "unavailable", not a hung sign-in.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamMappingConfig {
    pub group: String,
    pub team: String,
}

fn default_user_filter() -> String {
    "(uid={username})".into()
}
fn default_username_attribute() -> String {
    "uid".into()
}
fn default_email_attribute() -> String {
    "mail".into()
}
fn default_group_filter() -> String {
    "(|(member={dn})(memberUid={username}))".into()
}
fn default_recheck_secs() -> u64 {
    300
}
fn default_timeout_secs() -> u64 {
    5
}

impl LdapConfig {
    /// The role and team mapping, validated.
    pub fn mapping(&self) -> Result<GroupMapping, String> {
        mapping(&self.admin_group, &self.editor_group, &self.team)
    }

    /// The first thing wrong with the settings, as `(key, why)`.
    pub(super) fn problem(&self) -> Option<(&'static str, String)> {
        if !(self.url.starts_with("ldap://") || self.url.starts_with("ldaps://")) {
            return Some(("auth.ldap.url", "must be an ldap:// or ldaps:// URL".into()));
        }
        if self.start_tls && self.url.starts_with("ldaps://") {
            return Some((
                "auth.ldap.start_tls",
                "is for ldap:// URLs; ldaps:// is TLS already".into(),
            ));
        }
        if self.user_base_dn.trim().is_empty() {
            return Some(("auth.ldap.user_base_dn", "must not be empty".into()));
        }
        if !self.user_filter.contains("{username}") {
            return Some(("auth.ldap.user_filter", "must contain {username}".into()));
        }
        for (key, filter) in [
            ("auth.ldap.user_filter", &self.user_filter),
            ("auth.ldap.group_filter", &self.group_filter),
        ] {
            if !(filter.starts_with('(') && filter.ends_with(')')) {
                return Some((key, "must be an LDAP filter in parentheses".into()));
            }
        }
        for (key, attribute) in [
            ("auth.ldap.username_attribute", &self.username_attribute),
            ("auth.ldap.email_attribute", &self.email_attribute),
        ] {
            if attribute.is_empty()
                || !attribute
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ';')
            {
                return Some((key, "must be an attribute name".into()));
            }
        }
        if !(10..=86_400).contains(&self.recheck_secs) {
            return Some((
                "auth.ldap.recheck_secs",
                "must be between 10 and 86400".into(),
            ));
        }
        if !(1..=120).contains(&self.timeout_secs) {
            return Some(("auth.ldap.timeout_secs", "must be between 1 and 120".into()));
        }
        if let Err(e) = self.mapping() {
            return Some(("auth.ldap.team", e));
        }
        None
    }
}
