//! Team membership that follows a directory: a group mapped to `org/team` puts its members in
//! that team, and taking them out of the group takes them out of the team.

use std::collections::BTreeSet;

use super::{OrgError, OrgRole, Organisation, Permission, TeamName};
use crate::accounts::UserName;

/// The permission of a team the directory mapping creates (an organisation admin can raise it).
pub const MAPPED_TEAM_PERMISSION: Permission = Permission::Read;

impl Organisation {
    /// Makes `user`'s membership of the `mapped` teams match the directory: in exactly those of
    /// `wanted` (a subset of `mapped`). Missing mapped teams are created with
    /// [`MAPPED_TEAM_PERMISSION`]. A user the directory puts in a team joins the organisation
    /// as a `member` marked [`from_directory`](super::OrgMember::from_directory); such a
    /// member who ends up in no team at all leaves it again. Memberships made by hand, and
    /// teams the mapping does not name, are left alone. Returns whether anything changed.
    pub fn follow_directory(
        &mut self,
        user: &UserName,
        mapped: &BTreeSet<TeamName>,
        wanted: &BTreeSet<TeamName>,
    ) -> Result<bool, OrgError> {
        let before = self.clone();
        for team in mapped {
            if self.team(team).is_none() {
                self.add_team(team.clone(), MAPPED_TEAM_PERMISSION)?;
            }
        }
        if !wanted.is_empty() && self.role_of(user).is_none() {
            self.set_member(user, OrgRole::Member)?;
            if let Some(member) = self.members.iter_mut().find(|m| &m.user == user) {
                member.from_directory = true;
            }
        }
        for team in mapped {
            let present = wanted.contains(team);
            if present || self.role_of(user).is_some() {
                self.set_team_member(team, user, present)?;
            }
        }
        let joined_by_directory = self
            .members
            .iter()
            .any(|m| &m.user == user && m.from_directory && m.role == OrgRole::Member);
        let in_a_team = self.teams.iter().any(|t| t.members.contains(user));
        if joined_by_directory && !in_a_team {
            self.remove_member(user)?;
        }
        Ok(*self != before)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orgs::OrgName;

    fn name(raw: &str) -> UserName {
        UserName::parse(raw).unwrap()
    }

    fn teams(raw: &[&str]) -> BTreeSet<TeamName> {
        raw.iter().map(|t| TeamName::parse(t).unwrap()).collect()
    }

    fn org() -> Organisation {
        Organisation::new(OrgName::parse("lab").unwrap(), String::new(), name("boss")).unwrap()
    }

    #[test]
    fn a_group_puts_its_member_in_the_team_and_leaving_it_takes_them_out() {
        let mut org = org();
        let mapped = teams(&["readers", "pushers"]);
        let alice = name("alice");
        assert!(
            org.follow_directory(&alice, &mapped, &teams(&["readers"]))
                .unwrap()
        );
        assert_eq!(org.role_of(&alice), Some(OrgRole::Member));
        assert_eq!(
            org.team(&TeamName::parse("readers").unwrap())
                .unwrap()
                .members,
            std::slice::from_ref(&alice)
        );
        assert!(
            org.team(&TeamName::parse("pushers").unwrap())
                .unwrap()
                .members
                .is_empty()
        );
        assert_eq!(
            org.team(&TeamName::parse("pushers").unwrap())
                .unwrap()
                .permission,
            MAPPED_TEAM_PERMISSION,
            "created when missing"
        );
        assert!(
            !org.follow_directory(&alice, &mapped, &teams(&["readers"]))
                .unwrap(),
            "no change"
        );
        assert!(
            org.follow_directory(&alice, &mapped, &teams(&["pushers"]))
                .unwrap()
        );
        assert!(
            org.team(&TeamName::parse("readers").unwrap())
                .unwrap()
                .members
                .is_empty()
        );
        assert!(org.follow_directory(&alice, &mapped, &teams(&[])).unwrap());
        assert_eq!(
            org.role_of(&alice),
            None,
            "out of every group: out of the organisation"
        );
    }

    #[test]
    fn memberships_made_by_hand_stay() {
        let mut org = org();
        let mapped = teams(&["readers"]);
        let bob = name("bob");
        org.set_member(&bob, OrgRole::Admin).unwrap();
        org.follow_directory(&bob, &mapped, &teams(&["readers"]))
            .unwrap();
        org.follow_directory(&bob, &mapped, &teams(&[])).unwrap();
        assert_eq!(
            org.role_of(&bob),
            Some(OrgRole::Admin),
            "a member by hand stays a member"
        );

        let carol = name("carol");
        org.follow_directory(&carol, &mapped, &teams(&["readers"]))
            .unwrap();
        org.add_team(TeamName::parse("manual").unwrap(), Permission::Write)
            .unwrap();
        org.set_team_member(&TeamName::parse("manual").unwrap(), &carol, true)
            .unwrap();
        org.follow_directory(&carol, &mapped, &teams(&[])).unwrap();
        assert_eq!(
            org.role_of(&carol),
            Some(OrgRole::Member),
            "still in a team added by hand"
        );

        let dave = name("dave");
        org.follow_directory(&dave, &mapped, &teams(&["readers"]))
            .unwrap();
        org.set_member(&dave, OrgRole::Member).unwrap();
        org.follow_directory(&dave, &mapped, &teams(&[])).unwrap();
        assert_eq!(
            org.role_of(&dave),
            Some(OrgRole::Member),
            "confirmed by hand: their own"
        );
    }

    #[test]
    fn the_owner_is_never_removed_by_the_directory() {
        let mut org = org();
        let boss = name("boss");
        org.follow_directory(&boss, &teams(&["readers"]), &teams(&[]))
            .unwrap();
        assert_eq!(org.role_of(&boss), Some(OrgRole::Owner));
    }
}
