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
        let teams = self
            .team
            .iter()
            .map(|t| TeamMapping::parse(&t.group, &t.team))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(GroupMapping {
            admin_group: self.admin_group.clone().filter(|g| !g.trim().is_empty()),
            editor_group: self.editor_group.clone().filter(|g| !g.trim().is_empty()),
            teams,
        })
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
