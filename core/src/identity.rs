//! Identities vouched for elsewhere: what an identity provider (the LDAP directory; OpenID
//! Connect providers) says about a user after it has checked them, and how the provider's
//! groups become a role and team memberships here.
//!
//! The rest of the code sees a [`VerifiedIdentity`] and never an LDAP entry or a token: the
//! adapters (the `bioshadock-identity` crate) turn what their protocol returns into one.

use std::collections::{BTreeMap, BTreeSet};

use crate::accounts::{Role, Source, UserName};
use crate::names::NameError;
use crate::orgs::{OrgName, TeamName};

/// Groups of one identity that are considered, at most (a directory answering with more is
/// cut off there, with a warning, rather than allowed to grow a sign-in without bound).
pub const MAX_GROUPS: usize = 1000;

/// Who a provider says the user is, after it checked their credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIdentity {
    pub source: Source,
    /// The user's name at the provider (the LDAP `username_attribute`, an OIDC claim).
    pub username: String,
    pub email: Option<String>,
    /// The provider's names for the user's groups (LDAP: group DNs).
    pub groups: Vec<String>,
}

impl VerifiedIdentity {
    /// The account name for this identity: the provider's name, lowercased. A name that is
    /// not a valid namespace (or is reserved) is refused rather than mangled, so that two
    /// directory names can never end up as one account.
    pub fn account_name(&self) -> Result<UserName, NameError> {
        UserName::parse(&self.username.to_ascii_lowercase())
    }
}

/// How many numbered variants of a name are tried for a new account (`anna`, `anna-2`, …).
pub const NAME_VARIANTS: usize = 20;

/// Account names to try, best first, for a new account a provider named `raw` (an OpenID
/// Connect claim, which may hold anything): lowercased, with every run of other characters
/// turned into one `-`, cut to fit, then the same with `-2`, `-3`, … A name that cannot be made
/// valid (empty, reserved) becomes `user`.
pub fn name_candidates(raw: &str) -> Vec<UserName> {
    let mut base = String::new();
    for c in raw.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            base.push(c);
        } else if !base.ends_with('-') {
            base.push('-');
        }
    }
    // Room for a `-20` suffix within the namespace length.
    base.truncate(crate::accounts::MAX_USER_NAME_LEN - 3);
    let base = base.trim_matches('-');
    let base = if UserName::parse(base).is_ok() {
        base
    } else {
        "user"
    };
    (1..=NAME_VARIANTS)
        .filter_map(|n| {
            let name = if n == 1 {
                base.to_owned()
            } else {
                format!("{base}-{n}")
            };
            UserName::parse(&name).ok()
        })
        .collect()
}

/// A provider group that puts its members in a team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamMapping {
    pub group: String,
    pub org: OrgName,
    pub team: TeamName,
}

impl TeamMapping {
    /// Parses the `org/team` form of the configuration.
    pub fn parse(group: &str, org_team: &str) -> Result<Self, String> {
        let (org, team) = org_team
            .split_once('/')
            .ok_or_else(|| format!("`{org_team}` is not of the form org/team"))?;
        Ok(Self {
            group: group.to_owned(),
            org: OrgName::parse(org).map_err(|e| format!("organisation `{org}`: {e}"))?,
            team: TeamName::parse(team).map_err(|e| format!("team `{team}`: {e}"))?,
        })
    }
}

/// How a provider's groups decide roles and teams here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupMapping {
    /// Members of this group are administrators.
    pub admin_group: Option<String>,
    /// Members of this group (and not of the admin group) are editors.
    pub editor_group: Option<String>,
    pub teams: Vec<TeamMapping>,
}

/// What the groups of one sign-in decide in one organisation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgTeams {
    /// Every team the mapping names in this organisation.
    pub mapped: BTreeSet<TeamName>,
    /// The ones the user's groups put them in.
    pub wanted: BTreeSet<TeamName>,
}

impl GroupMapping {
    /// The role the groups give, or `None` when no role group is configured (the role is
    /// then the portal's to decide, and stays as an administrator set it).
    pub fn role(&self, groups: &[String]) -> Option<Role> {
        if self.admin_group.is_none() && self.editor_group.is_none() {
            return None;
        }
        let member_of = |group: &Option<String>| {
            group
                .as_deref()
                .is_some_and(|g| groups.iter().any(|have| same_group(have, g)))
        };
        Some(if member_of(&self.admin_group) {
            Role::Admin
        } else if member_of(&self.editor_group) {
            Role::Editor
        } else {
            Role::User
        })
    }

    /// For every organisation the mapping names, its mapped teams and those `groups` select.
    pub fn teams(&self, groups: &[String]) -> BTreeMap<OrgName, OrgTeams> {
        let mut by_org: BTreeMap<OrgName, OrgTeams> = BTreeMap::new();
        for mapping in &self.teams {
            let entry = by_org.entry(mapping.org.clone()).or_default();
            entry.mapped.insert(mapping.team.clone());
            if groups.iter().any(|have| same_group(have, &mapping.group)) {
                entry.wanted.insert(mapping.team.clone());
            }
        }
        by_org
    }
}

/// Whether two group names are the same group. LDAP compares DNs without regard to case and
/// to spaces around `,` and `=` (`cn=Admins, ou=groups` is `cn=admins,ou=groups`); group
/// names of other providers are compared the same way, which is at worst more forgiving.
pub fn same_group(a: &str, b: &str) -> bool {
    normalise_group(a) == normalise_group(b)
}

fn normalise_group(raw: &str) -> String {
    raw.split(',')
        .map(|rdn| {
            rdn.split('=')
                .map(|part| part.trim().to_lowercase())
                .collect::<Vec<_>>()
                .join("=")
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(raw: &[&str]) -> Vec<String> {
        raw.iter().map(|g| (*g).to_owned()).collect()
    }

    fn mapping() -> GroupMapping {
        GroupMapping {
            admin_group: Some("cn=admins,ou=groups,dc=example,dc=org".into()),
            editor_group: Some("cn=editors,ou=groups,dc=example,dc=org".into()),
            teams: vec![
                TeamMapping::parse("cn=genomics,ou=groups,dc=example,dc=org", "lab/genomics")
                    .unwrap(),
                TeamMapping::parse("cn=imaging,ou=groups,dc=example,dc=org", "lab/imaging")
                    .unwrap(),
            ],
        }
    }

    #[test]
    fn roles_follow_the_strongest_group_and_dns_compare_loosely() {
        let m = mapping();
        assert_eq!(
            m.role(&groups(&["CN=Admins, OU=groups,dc=example,dc=org"])),
            Some(Role::Admin)
        );
        assert_eq!(
            m.role(&groups(&[
                "cn=editors,ou=groups,dc=example,dc=org",
                "cn=admins,ou=groups,dc=example,dc=org"
            ])),
            Some(Role::Admin)
        );
        assert_eq!(
            m.role(&groups(&["cn=editors,ou=groups,dc=example,dc=org"])),
            Some(Role::Editor)
        );
        assert_eq!(m.role(&groups(&["cn=other"])), Some(Role::User), "demoted");
        assert_eq!(GroupMapping::default().role(&groups(&["cn=admins"])), None);
    }

    #[test]
    fn teams_are_mapped_per_organisation() {
        let teams = mapping().teams(&groups(&["cn=imaging,ou=groups,dc=example,dc=org"]));
        let lab = &teams[&OrgName::parse("lab").unwrap()];
        assert_eq!(lab.mapped.len(), 2);
        assert_eq!(
            lab.wanted.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
            ["imaging"]
        );
    }

    #[test]
    fn provider_names_become_valid_account_names_with_variants() {
        let first = |raw: &str| name_candidates(raw)[0].as_str().to_owned();
        assert_eq!(first("Anna.Schmidt"), "anna-schmidt");
        assert_eq!(first("jöhn  döe"), "j-hn-d-e");
        assert_eq!(first("*)(uid=*"), "uid");
        assert_eq!(first("../../etc"), "etc");
        assert_eq!(first(""), "user");
        assert_eq!(first("library"), "user", "reserved");
        assert_eq!(
            first(&"x".repeat(500)).len(),
            crate::accounts::MAX_USER_NAME_LEN - 3
        );
        let all = name_candidates("anna");
        assert_eq!(all.len(), NAME_VARIANTS);
        assert_eq!(all[1].as_str(), "anna-2");
        assert!(
            all.iter()
                .all(|n| n.as_str().len() <= crate::accounts::MAX_USER_NAME_LEN)
        );
    }

    #[test]
    fn mappings_and_names_are_validated() {
        assert!(TeamMapping::parse("cn=x", "lab").is_err());
        assert!(TeamMapping::parse("cn=x", "Lab/team").is_err());
        assert!(TeamMapping::parse("cn=x", "lab/").is_err());
        let identity = |name: &str| VerifiedIdentity {
            source: Source::Ldap,
            username: name.to_owned(),
            email: None,
            groups: Vec::new(),
        };
        assert_eq!(identity("Alice").account_name().unwrap().as_str(), "alice");
        for bad in ["*)(uid=*", "library", "a b", ""] {
            assert!(identity(bad).account_name().is_err(), "{bad}");
        }
    }
}
