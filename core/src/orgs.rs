//! Organisations: namespaces that a group of users owns together, with roles and teams.
//!
//! An [`Organisation`] is one aggregate, read and saved whole (the store keeps a version and
//! refuses a save from a stale copy), so its invariants hold without cross-row transactions on
//! any backend: every change below is a method that checks them before it mutates.
//!
//! - Roles: `owner` (everything, including owners and deleting the organisation), `admin`
//!   (members, teams, every repository), `member` (sees the organisation; repository access
//!   comes from teams). There is always at least one owner.
//! - A team is a set of members with a [`Permission`] on every repository of the organisation
//!   and per-repository overrides, which replace that permission for their repository.
//! - [`Memberships`] is what one user holds across all their organisations, the input that
//!   `core::permissions` decides with.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::accounts::UserName;
use crate::names::{self, NameError};

/// Members of one organisation, at most.
pub const MAX_MEMBERS: usize = 2000;
/// Teams of one organisation, at most.
pub const MAX_TEAMS: usize = 100;
/// Repository overrides of one team, at most.
pub const MAX_TEAM_REPOSITORIES: usize = 500;
/// The longest team name.
pub const MAX_TEAM_NAME_LEN: usize = 64;
/// The longest organisation description, in characters.
pub const MAX_DESCRIPTION: usize = 4096;

/// An organisation's name: the namespace grammar, as a user's (the two share one namespace).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String)]
pub struct OrgName(String);

impl OrgName {
    pub fn parse(input: &str) -> Result<Self, NameError> {
        UserName::parse(input).map(|name| Self(name.as_str().to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for OrgName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A team's name within its organisation: one path component, at most 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String)]
pub struct TeamName(String);

impl TeamName {
    pub fn parse(input: &str) -> Result<Self, NameError> {
        if input.is_empty() {
            return Err(NameError::Empty);
        }
        if input.len() > MAX_TEAM_NAME_LEN {
            return Err(NameError::TooLong {
                max: MAX_TEAM_NAME_LEN,
            });
        }
        if input.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(NameError::Uppercase);
        }
        if !names::is_path_component(input) {
            return Err(NameError::BadComponent(input.to_owned()));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TeamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TeamName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A member's role in an organisation, weakest first.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum OrgRole {
    /// Sees the organisation; repository access comes from teams.
    #[default]
    Member,
    /// Manages members (not owners), teams and every repository.
    Admin,
    /// Everything, including owners and deleting the organisation.
    Owner,
}

impl OrgRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Admin => "admin",
            Self::Owner => "owner",
        }
    }
}

/// What a team may do with a repository, weakest first.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Permission {
    /// Nothing beyond what the repository's visibility gives everyone.
    #[default]
    None,
    /// See and pull.
    Read,
    /// Read, push, and edit the description and build sources.
    Write,
    /// Write, change visibility and members, delete.
    Admin,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }
}

/// One member of an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrgMember {
    #[schema(value_type = String)]
    pub user: UserName,
    pub role: OrgRole,
    /// Joined because a directory group maps to one of the organisation's teams (see
    /// [`Organisation::follow_directory`]); the directory may take the membership away again.
    /// Any change made by hand makes the membership the organisation's own.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub from_directory: bool,
}

/// A team's permission on one repository of its organisation, replacing the team's
/// organisation-wide permission there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RepositoryGrant {
    /// The repository's name within the organisation (`samtools` for `genomics-core/samtools`).
    pub name: String,
    pub permission: Permission,
}

/// A named set of an organisation's members with a permission on its repositories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Team {
    #[schema(value_type = String)]
    pub name: TeamName,
    /// On every repository of the organisation, unless `repositories` says otherwise.
    pub permission: Permission,
    /// Sorted by name.
    #[schema(value_type = Vec<String>)]
    pub members: Vec<UserName>,
    /// Sorted by name, one entry per repository.
    pub repositories: Vec<RepositoryGrant>,
}

impl Team {
    /// This team's permission on repository `name` of its organisation.
    pub fn permission_on(&self, name: &str) -> Permission {
        self.repositories
            .iter()
            .find(|r| r.name == name)
            .map_or(self.permission, |r| r.permission)
    }
}

/// An organisation: the aggregate the store reads and saves whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisation {
    pub name: OrgName,
    pub description: String,
    pub created_at: DateTime<Utc>,
    /// Sorted by user name, one entry per user; at least one owner.
    pub members: Vec<OrgMember>,
    /// Sorted by name.
    pub teams: Vec<Team>,
    /// The immutability of tags in its containers that set none of their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<crate::tag_policy::ImmutableTags>,
    /// The retention policy of its containers that set none of their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<crate::retention::RetentionPolicy>,
    /// Build secrets of its containers by name, sealed; a container's own secret of the same
    /// name wins.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub build_secrets: std::collections::BTreeMap<String, crate::build_settings::SealedSecret>,
    /// Set by the store: the version this copy was read at (0 for a new organisation). A save
    /// from a copy whose version is no longer current is refused.
    #[serde(default)]
    pub version: u64,
}

/// Why a change to an organisation was refused (the web maps these to 400/404/409).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgError {
    #[error("{0} is not a member of this organisation")]
    NotAMember(String),
    #[error("this organisation has no team `{0}`")]
    NoSuchTeam(String),
    #[error("a team `{0}` already exists")]
    TeamExists(String),
    #[error("an organisation keeps at least one owner: make someone else owner first")]
    LastOwner,
    #[error("an organisation has at most {max} {what}")]
    TooMany { what: &'static str, max: usize },
    #[error("a description has at most {MAX_DESCRIPTION} characters")]
    DescriptionTooLong,
}

impl Organisation {
    /// A new organisation with `owner` as its only member.
    pub fn new(name: OrgName, description: String, owner: UserName) -> Result<Self, OrgError> {
        check_description(&description)?;
        Ok(Self {
            name,
            description,
            created_at: crate::model::now(),
            members: vec![OrgMember {
                user: owner,
                role: OrgRole::Owner,
                from_directory: false,
            }],
            teams: Vec::new(),
            immutable: None,
            retention: None,
            build_secrets: Default::default(),
            version: 0,
        })
    }

    /// `user`'s role, if they are a member.
    pub fn role_of(&self, user: &UserName) -> Option<OrgRole> {
        self.members
            .iter()
            .find(|m| &m.user == user)
            .map(|m| m.role)
    }

    pub fn team(&self, name: &TeamName) -> Option<&Team> {
        self.teams.iter().find(|t| &t.name == name)
    }

    fn team_mut(&mut self, name: &TeamName) -> Result<&mut Team, OrgError> {
        self.teams
            .iter_mut()
            .find(|t| &t.name == name)
            .ok_or_else(|| OrgError::NoSuchTeam(name.to_string()))
    }

    pub fn set_description(&mut self, description: String) -> Result<(), OrgError> {
        check_description(&description)?;
        self.description = description;
        Ok(())
    }

    /// Adds `user` with `role`, or changes their role. Refuses to leave no owner.
    pub fn set_member(&mut self, user: &UserName, role: OrgRole) -> Result<(), OrgError> {
        match self.members.binary_search_by(|m| m.user.cmp(user)) {
            Ok(i) => {
                let was_owner = self.members[i].role == OrgRole::Owner;
                if was_owner && role != OrgRole::Owner && self.owner_count() == 1 {
                    return Err(OrgError::LastOwner);
                }
                self.members[i].role = role;
                self.members[i].from_directory = false;
            }
            Err(i) => {
                if self.members.len() >= MAX_MEMBERS {
                    return Err(OrgError::TooMany {
                        what: "members",
                        max: MAX_MEMBERS,
                    });
                }
                self.members.insert(
                    i,
                    OrgMember {
                        user: user.clone(),
                        role,
                        from_directory: false,
                    },
                );
            }
        }
        Ok(())
    }

    /// Removes `user` from the organisation and all its teams. Refuses to remove the last owner.
    pub fn remove_member(&mut self, user: &UserName) -> Result<(), OrgError> {
        let i = self
            .members
            .binary_search_by(|m| m.user.cmp(user))
            .map_err(|_| OrgError::NotAMember(user.to_string()))?;
        if self.members[i].role == OrgRole::Owner && self.owner_count() == 1 {
            return Err(OrgError::LastOwner);
        }
        self.members.remove(i);
        for team in &mut self.teams {
            team.members.retain(|m| m != user);
        }
        Ok(())
    }

    fn owner_count(&self) -> usize {
        self.members
            .iter()
            .filter(|m| m.role == OrgRole::Owner)
            .count()
    }

    /// Creates a team with no members.
    pub fn add_team(&mut self, name: TeamName, permission: Permission) -> Result<(), OrgError> {
        match self.teams.binary_search_by(|t| t.name.cmp(&name)) {
            Ok(_) => Err(OrgError::TeamExists(name.to_string())),
            Err(_) if self.teams.len() >= MAX_TEAMS => Err(OrgError::TooMany {
                what: "teams",
                max: MAX_TEAMS,
            }),
            Err(i) => {
                self.teams.insert(
                    i,
                    Team {
                        name,
                        permission,
                        members: Vec::new(),
                        repositories: Vec::new(),
                    },
                );
                Ok(())
            }
        }
    }

    /// Changes a team's organisation-wide permission.
    pub fn set_team_permission(
        &mut self,
        name: &TeamName,
        permission: Permission,
    ) -> Result<(), OrgError> {
        self.team_mut(name)?.permission = permission;
        Ok(())
    }

    pub fn remove_team(&mut self, name: &TeamName) -> Result<(), OrgError> {
        let before = self.teams.len();
        self.teams.retain(|t| &t.name != name);
        if self.teams.len() == before {
            return Err(OrgError::NoSuchTeam(name.to_string()));
        }
        Ok(())
    }

    /// Adds (`true`) or removes (`false`) `user` in a team; only members of the organisation
    /// may join its teams. Idempotent.
    pub fn set_team_member(
        &mut self,
        team: &TeamName,
        user: &UserName,
        present: bool,
    ) -> Result<(), OrgError> {
        if present && self.role_of(user).is_none() {
            return Err(OrgError::NotAMember(user.to_string()));
        }
        let team = self.team_mut(team)?;
        match (team.members.binary_search(user), present) {
            (Err(i), true) => team.members.insert(i, user.clone()),
            (Ok(i), false) => {
                team.members.remove(i);
            }
            _ => {}
        }
        Ok(())
    }

    /// Sets (`Some`) or removes (`None`) a team's permission on repository `name` (the part
    /// after `org/`).
    pub fn set_team_repository(
        &mut self,
        team: &TeamName,
        name: &str,
        permission: Option<Permission>,
    ) -> Result<(), OrgError> {
        let team = self.team_mut(team)?;
        match (
            team.repositories
                .binary_search_by(|r| r.name.as_str().cmp(name)),
            permission,
        ) {
            (Ok(i), Some(permission)) => team.repositories[i].permission = permission,
            (Ok(i), None) => {
                team.repositories.remove(i);
            }
            (Err(_), Some(_)) if team.repositories.len() >= MAX_TEAM_REPOSITORIES => {
                return Err(OrgError::TooMany {
                    what: "repository permissions per team",
                    max: MAX_TEAM_REPOSITORIES,
                });
            }
            (Err(i), Some(permission)) => team.repositories.insert(
                i,
                RepositoryGrant {
                    name: name.to_owned(),
                    permission,
                },
            ),
            (Err(_), None) => {}
        }
        Ok(())
    }

    /// What `user` holds in this organisation, or `None` if they are not a member.
    pub fn standing_of(&self, user: &UserName) -> Option<Standing> {
        let role = self.role_of(user)?;
        if role >= OrgRole::Admin {
            return Some(Standing {
                role,
                everywhere: Permission::Admin,
                repositories: BTreeMap::new(),
            });
        }
        let teams: Vec<&Team> = self
            .teams
            .iter()
            .filter(|t| t.members.binary_search(user).is_ok())
            .collect();
        let everywhere = teams.iter().map(|t| t.permission).max().unwrap_or_default();
        // Where any of the user's teams overrides a repository, the user holds the best of
        // what each of their teams holds there (an override, or that team's default).
        let mut repositories = BTreeMap::new();
        for name in teams
            .iter()
            .flat_map(|t| t.repositories.iter().map(|r| r.name.as_str()))
        {
            let best = teams
                .iter()
                .map(|t| t.permission_on(name))
                .max()
                .unwrap_or_default();
            repositories.insert(name.to_owned(), best);
        }
        Some(Standing {
            role,
            everywhere,
            repositories,
        })
    }
}

fn check_description(description: &str) -> Result<(), OrgError> {
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(OrgError::DescriptionTooLong);
    }
    Ok(())
}

/// What one user holds in one organisation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Standing {
    pub role: OrgRole,
    /// On every repository not in `repositories`.
    pub everywhere: Permission,
    /// Repositories (names within the organisation) where the user's teams say otherwise.
    pub repositories: BTreeMap<String, Permission>,
}

impl Standing {
    /// The user's permission on repository `name` of the organisation.
    pub fn on(&self, name: &str) -> Permission {
        self.repositories
            .get(name)
            .copied()
            .unwrap_or(self.everywhere)
    }
}

/// What one user holds across all their organisations, by organisation name. Loaded with the
/// user for every request, so a change of membership counts at once.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Memberships(BTreeMap<String, Standing>);

impl Memberships {
    /// `user`'s standing in each of `orgs` (those they are not a member of are skipped).
    pub fn of<'a>(user: &UserName, orgs: impl IntoIterator<Item = &'a Organisation>) -> Self {
        Self(
            orgs.into_iter()
                .filter_map(|org| Some((org.name.to_string(), org.standing_of(user)?)))
                .collect(),
        )
    }

    /// The standing in organisation `org`, if a member.
    pub fn in_org(&self, org: &str) -> Option<&Standing> {
        self.0.get(org)
    }

    /// Every organisation and standing, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Standing)> {
        self.0
            .iter()
            .map(|(name, standing)| (name.as_str(), standing))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

mod directory;

#[cfg(test)]
mod tests;
