//! Who may do what: the one rule set that pages, the API, search, the token service and the
//! builder all ask. Deny by default: a right exists only where a rule below grants it.
//!
//! - Anyone sees public containers; private ones are seen by their owner, their members and
//!   admins only.
//! - A user owns the namespace of their name; `library/` is curated by editors and admins.
//! - An organisation's namespace belongs to its members: owners and admins hold everything on
//!   its containers, members what their teams give them (`read` sees and pulls, `write` also
//!   pushes and edits, `admin` also manages); anyone in the organisation with `write` on a
//!   name may create it.
//! - Push members may also push images and edit the description and build sources; owners
//!   and admins (and editors, in `library/`) manage visibility and members and may delete.
//! - A caller signed in with an API key holds only the key's scopes: seeing private
//!   containers needs `read`, any change needs `push`, queueing builds needs `build`.
//! - A robot account reads (`read`) or also pushes to (`write`) its owner's repositories, or the
//!   few it is limited to, and nothing outside its owner's namespace; it does nothing else.
//! - A key may mint keys only with scopes it holds and expiring no later than itself, and may
//!   revoke only keys whose scopes it holds; a session or password may do either freely.

use crate::accounts::{LIBRARY_NAMESPACE, Role, Scope, Scopes, User, UserName};
use crate::config::{AnonymousAccess, OrgCreation};
use crate::model::{Access, Container};
use crate::orgs::{Memberships, OrgRole, Organisation, Permission};
use crate::robots::{Robot, RobotPermission};
use crate::rules::RuleGate;
use crate::{Audience, Reader, RepoName};
use std::sync::Arc;

/// How a signed-in caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A browser session (all scopes).
    Session,
    /// An API key: its public id, and when it stops working (the keys it may mint cannot
    /// outlive it).
    ApiKey {
        id: String,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// A password sent with a request (the registry token service's Basic credentials).
    Password,
    /// The command line on the server (all scopes).
    Local,
}

/// A signed-in caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user: User,
    pub scopes: Scopes,
    pub credential: Credential,
    /// The user's organisations and what they hold in each (loaded with the user).
    pub memberships: Memberships,
    /// The access rules that may match this user, when any may.
    pub gate: Option<Arc<RuleGate>>,
}

/// Whoever makes a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    /// An anonymous caller some access rule may match (by address, say): decided as
    /// [`Principal::Anonymous`] where no rule matches.
    Guest(Arc<RuleGate>),
    User(Actor),
    /// A robot account, authenticated by its token, with the access rules that may match it.
    Robot(Robot, Option<Arc<RuleGate>>),
}

/// What a principal may do with one container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rights {
    /// See it in lists and search, open its page, read it through the API, pull it.
    pub see: bool,
    /// Change its description, git source and Dockerfile.
    pub edit: bool,
    /// Push images into it.
    pub push: bool,
    /// Change its visibility and members, delete it.
    pub manage: bool,
}

impl Rights {
    const ALL: Rights = Rights {
        see: true,
        edit: true,
        push: true,
        manage: true,
    };
    const SEE: Rights = Rights {
        see: true,
        edit: false,
        push: false,
        manage: false,
    };
    const WRITE: Rights = Rights {
        see: true,
        edit: true,
        push: true,
        manage: false,
    };

    /// What a team permission gives.
    fn of(permission: Permission) -> Rights {
        match permission {
            Permission::None => Rights::default(),
            Permission::Read => Rights::SEE,
            Permission::Write => Rights::WRITE,
            Permission::Admin => Rights::ALL,
        }
    }

    /// The union of two grants.
    fn or(self, other: Rights) -> Rights {
        Rights {
            see: self.see || other.see,
            edit: self.edit || other.edit,
            push: self.push || other.push,
            manage: self.manage || other.manage,
        }
    }
}

impl Actor {
    /// Whether this actor may create a key of its own with `scopes`, expiring at
    /// `expires_at` (`None`: never). A key cannot widen itself: no scope it lacks, and no life
    /// beyond its own (an expiring key cannot mint one that never expires).
    pub fn may_mint_key(
        &self,
        scopes: &Scopes,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<(), Denied> {
        let Credential::ApiKey {
            expires_at: own_expiry,
            ..
        } = &self.credential
        else {
            return Ok(());
        };
        if !scopes.is_subset(&self.scopes) {
            return Err(Denied::Forbidden(
                "a key cannot create a key with scopes it does not have".into(),
            ));
        }
        match (own_expiry, expires_at) {
            (None, _) => Ok(()),
            (Some(own), Some(new)) if new <= *own => Ok(()),
            (Some(own), _) => Err(Denied::Forbidden(format!(
                "this key expires at {}: a key it creates must expire no later (give `expires_in_days`)",
                own.format("%Y-%m-%d %H:%M UTC")
            ))),
        }
    }

    /// Whether this actor may revoke `key` (one of its user's keys): a key may revoke only
    /// keys whose every scope it holds, so a `read` key cannot take away a `push` key.
    pub fn may_revoke_key(&self, key: &crate::accounts::ApiKey) -> Result<(), Denied> {
        match &self.credential {
            Credential::ApiKey { .. } if !key.scopes.is_subset(&self.scopes) => Err(
                Denied::Forbidden("a key cannot revoke a key with scopes it does not have".into()),
            ),
            _ => Ok(()),
        }
    }
}

/// Why something was refused; the web maps these to 401/403.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("sign in or present an API key first")]
    NotSignedIn,
    #[error("this API key lacks the `{}` scope", .0.as_str())]
    MissingScope(Scope),
    #[error("{0}")]
    Forbidden(String),
}

impl Principal {
    /// A principal for `user` holding `scopes`.
    pub fn user(user: User, scopes: Scopes, credential: Credential) -> Self {
        Self::User(Actor {
            user,
            scopes,
            credential,
            memberships: Memberships::default(),
            gate: None,
        })
    }

    /// A robot account's principal.
    pub fn robot(robot: Robot) -> Self {
        Self::Robot(robot, None)
    }

    /// This principal under the access rules of `gate` (`None`: no rule may match it).
    pub fn with_gate(self, gate: Option<Arc<RuleGate>>) -> Self {
        match (self, gate) {
            (Self::Anonymous | Self::Guest(_), Some(gate)) => Self::Guest(gate),
            (Self::Anonymous | Self::Guest(_), None) => Self::Anonymous,
            (Self::User(mut actor), gate) => {
                actor.gate = gate;
                Self::User(actor)
            }
            (Self::Robot(robot, _), gate) => Self::Robot(robot, gate),
        }
    }

    /// The access rules that may match this principal, if any may.
    pub fn gate(&self) -> Option<&RuleGate> {
        match self {
            Self::Anonymous => None,
            Self::Guest(gate) => Some(gate),
            Self::User(actor) => actor.gate.as_deref(),
            Self::Robot(_, gate) => gate.as_deref(),
        }
    }

    /// Whether this is a caller without credentials (a guest included).
    pub fn is_anonymous(&self) -> bool {
        matches!(self, Self::Anonymous | Self::Guest(_))
    }

    /// This principal with its user's organisation memberships (no change for anonymous).
    pub fn with_memberships(mut self, memberships: Memberships) -> Self {
        if let Self::User(actor) = &mut self {
            actor.memberships = memberships;
        }
        self
    }

    pub fn actor(&self) -> Option<&Actor> {
        match self {
            Self::User(actor) => Some(actor),
            Self::Anonymous | Self::Guest(_) | Self::Robot(..) => None,
        }
    }

    pub fn name(&self) -> Option<&UserName> {
        self.actor().map(|a| &a.user.name)
    }

    /// Who this is in a registry token's `sub` and an `account` parameter: the user's or the
    /// robot's name.
    pub fn subject(&self) -> Option<&str> {
        match self {
            Self::User(actor) => Some(actor.user.name.as_str()),
            Self::Robot(robot, _) => Some(robot.name.as_str()),
            Self::Anonymous | Self::Guest(_) => None,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.actor().is_some_and(|a| a.user.role == Role::Admin)
    }

    fn has_scope(&self, scope: Scope) -> bool {
        self.actor().is_some_and(|a| a.scopes.contains(scope))
    }

    /// Whether this principal is let in at all: anonymous callers only where the installation
    /// admits them (`access.anonymous`).
    pub fn admitted(&self, anonymous: AnonymousAccess) -> Result<(), Denied> {
        match (self, anonymous) {
            (Self::Anonymous | Self::Guest(_), AnonymousAccess::None) => Err(Denied::NotSignedIn),
            _ => Ok(()),
        }
    }

    /// The signed-in actor holding `scope`, or why not.
    pub fn require(&self, scope: Scope) -> Result<&Actor, Denied> {
        if let Self::Robot(robot, _) = self {
            return Err(Denied::Forbidden(format!(
                "{} is a robot account: robots pull, push and read, nothing else",
                robot.name
            )));
        }
        let actor = self.actor().ok_or(Denied::NotSignedIn)?;
        if actor.scopes.contains(scope) {
            Ok(actor)
        } else {
            Err(Denied::MissingScope(scope))
        }
    }

    /// An admin holding `scope`, or why not.
    pub fn require_admin(&self, scope: Scope) -> Result<&Actor, Denied> {
        let actor = self.require(scope)?;
        if actor.user.role == Role::Admin {
            Ok(actor)
        } else {
            Err(Denied::Forbidden("only administrators may do this".into()))
        }
    }

    /// Which containers this principal's lists and searches include. Mirrors
    /// [`rights_on`](Self::rights_on)`.see`, except that editors are not shown private
    /// `library/` containers they are not members of (they still reach them by name).
    pub fn audience(&self) -> Audience {
        let base = self.builtin_audience();
        let rules = self.gate().map(RuleGate::name_rules).unwrap_or_default();
        if rules.is_empty() {
            base
        } else {
            Audience::Ruled(Box::new(crate::audience::Ruled { base, rules }))
        }
    }

    /// [`Principal::audience`] by the built-in rules alone.
    fn builtin_audience(&self) -> Audience {
        if let Self::Robot(robot, _) = self {
            return Audience::User(robot_reader(robot));
        }
        match self.actor() {
            Some(actor) if actor.scopes.contains(Scope::Read) => match actor.user.role {
                Role::Admin => Audience::Everyone,
                _ => Audience::User(reader(actor)),
            },
            _ => Audience::Public,
        }
    }

    /// What this principal may do with `container`: what the first matching access rule
    /// grants, else what the built-in rules give; a key holds only its scopes either way, and a
    /// robot never edits or manages.
    pub fn rights_on(&self, container: &Container) -> Rights {
        let Some(grant) = self
            .gate()
            .and_then(|gate| gate.decide("repository", container.id.as_str()))
        else {
            return self.builtin_rights_on(container);
        };
        let ruled = Rights {
            see: grant.pull,
            edit: grant.push,
            push: grant.push,
            manage: grant.delete,
        };
        match self {
            Self::User(_) => self.within_scopes(ruled, container.visibility.is_public()),
            Self::Robot(..) => Rights {
                edit: false,
                manage: false,
                ..ruled
            },
            Self::Anonymous | Self::Guest(_) => ruled,
        }
    }

    /// What the built-in rules give, before any access rule.
    fn builtin_rights_on(&self, container: &Container) -> Rights {
        let public = container.visibility.is_public();
        if let Self::Robot(robot, _) = self {
            // Its own grant on its owner's repositories, or a membership of the container
            // (robots only join containers of their own namespace); either way it pulls and at
            // most pushes.
            let pushes = Rights {
                see: true,
                edit: false,
                push: true,
                manage: false,
            };
            let own = match robot.permission_on(&container.id) {
                Some(RobotPermission::Write) => pushes,
                Some(RobotPermission::Read) => Rights::SEE,
                None if public => Rights::SEE,
                None => Rights::default(),
            };
            let as_member = match container.member_access(robot.name.as_str()) {
                Some(Access::Push) => pushes,
                Some(Access::Pull) => Rights::SEE,
                None => Rights::default(),
            };
            return own.or(as_member);
        }
        let Some(actor) = self.actor() else {
            return if public {
                Rights::SEE
            } else {
                Rights::default()
            };
        };
        let name = actor.user.name.as_str();
        let granted = if actor.user.role == Role::Admin
            || container.owner == name
            || (actor.user.role == Role::Editor && container.id.namespace() == LIBRARY_NAMESPACE)
        {
            Rights::ALL
        } else {
            let as_member = match container.member_access(name) {
                Some(Access::Push) => Rights::WRITE,
                Some(Access::Pull) => Rights::SEE,
                None if public => Rights::SEE,
                None => Rights::default(),
            };
            as_member.or(Rights::of(organisation_permission(actor, &container.id)))
        };
        self.within_scopes(granted, public)
    }

    /// `granted` as far as this principal's scopes go: a key holds only its scopes, private
    /// containers need `read`, changes need `push`.
    fn within_scopes(&self, granted: Rights, public: bool) -> Rights {
        let may_read_private = self.has_scope(Scope::Read);
        let may_change = self.has_scope(Scope::Push);
        Rights {
            see: granted.see && (public || may_read_private),
            edit: granted.edit && may_change,
            push: granted.push && may_change,
            manage: granted.manage && may_change,
        }
    }

    /// Whether this principal may create container `id`: in their own namespace, in
    /// `library/` as an editor, or where their organisation standing gives `write` on the name.
    pub fn may_create(&self, id: &RepoName) -> Result<&Actor, Denied> {
        if let Some(grant) = self
            .gate()
            .and_then(|g| g.decide("repository", id.as_str()))
        {
            let actor = self.require(Scope::Push)?;
            return if grant.push {
                Ok(actor)
            } else {
                Err(Denied::Forbidden(format!(
                    "an access rule does not let you push to {id}"
                )))
            };
        }
        match self.may_create_in(id.namespace()) {
            Err(Denied::Forbidden(_))
                if self
                    .actor()
                    .is_some_and(|a| organisation_permission(a, id) >= Permission::Write) =>
            {
                self.require(Scope::Push)
            }
            decided => decided,
        }
    }

    /// Whether a push may create repository `id`, which does not exist yet: a user who may
    /// create it, or a robot that may write to it.
    pub fn may_push_new(&self, id: &RepoName) -> bool {
        if let Some(grant) = self
            .gate()
            .and_then(|g| g.decide("repository", id.as_str()))
        {
            return grant.push && (!matches!(self, Self::User(_)) || self.has_scope(Scope::Push));
        }
        match self {
            Self::Robot(robot, _) => robot.permission_on(id) == Some(RobotPermission::Write),
            _ => self.may_create(id).is_ok(),
        }
    }

    /// Whether an access rule lets this principal list the registry's catalogue
    /// (`registry:catalog:*`, otherwise for administrators only).
    pub fn may_list_catalog(&self) -> Option<bool> {
        self.gate()
            .and_then(|g| g.decide("registry", "catalog"))
            .map(|grant| grant.pull)
    }

    /// Whether this principal may create any container in `namespace`.
    pub fn may_create_in(&self, namespace: &str) -> Result<&Actor, Denied> {
        let actor = self.require(Scope::Push)?;
        let allowed = match actor.user.role {
            Role::Admin => true,
            Role::Editor => namespace == LIBRARY_NAMESPACE || namespace == actor.user.name.as_str(),
            Role::User => namespace == actor.user.name.as_str(),
        } || actor
            .memberships
            .in_org(namespace)
            .is_some_and(|standing| standing.everywhere >= Permission::Write);
        if allowed {
            Ok(actor)
        } else if namespace == LIBRARY_NAMESPACE {
            Err(Denied::Forbidden(
                "`library/` is curated: only editors and administrators publish there".into(),
            ))
        } else {
            Err(Denied::Forbidden(format!(
                "you may only create containers in your own namespace, `{}/`",
                actor.user.name
            )))
        }
    }
}

/// What a principal may do with an organisation itself (its containers follow
/// [`Principal::rights_on`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OrgRights {
    /// See its members, their roles and its teams (members and site admins).
    pub see_members: bool,
    /// Change its description; add, change and remove members other than owners; manage
    /// teams and their repository permissions (its admins and owners).
    pub manage: bool,
    /// Make and unmake owners, delete the organisation (its owners).
    pub own: bool,
}

impl Principal {
    /// What this principal may do with `org`. Site admins hold everything; a key needs
    /// `read` to see members and `push` to change anything.
    pub fn org_rights(&self, org: &Organisation) -> OrgRights {
        let Some(actor) = self.actor() else {
            return OrgRights::default();
        };
        let role = if actor.user.role == Role::Admin {
            Some(OrgRole::Owner)
        } else {
            org.role_of(&actor.user.name)
        };
        let may_change = self.has_scope(Scope::Push);
        OrgRights {
            see_members: role.is_some() && self.has_scope(Scope::Read),
            manage: role >= Some(OrgRole::Admin) && may_change,
            own: role == Some(OrgRole::Owner) && may_change,
        }
    }

    /// Whether this principal may create organisations, given who the installation lets
    /// (`access.org_creation`).
    pub fn may_create_org(&self, creation: OrgCreation) -> Result<&Actor, Denied> {
        let actor = self.require(Scope::Push)?;
        match creation {
            OrgCreation::Users => Ok(actor),
            OrgCreation::Admins if actor.user.role == Role::Admin => Ok(actor),
            OrgCreation::Admins => Err(Denied::Forbidden(
                "on this installation only administrators create organisations".into(),
            )),
        }
    }
}

/// The permission `actor`'s organisation standing gives on container `id`, if `id` lies in one
/// of their organisations.
fn organisation_permission(actor: &Actor, id: &RepoName) -> Permission {
    actor
        .memberships
        .in_org(id.namespace())
        .map_or(Permission::None, |standing| standing.on(id.short_name()))
}

/// The containers beyond their own that `actor` sees in lists and search, from the same
/// standing [`organisation_permission`] reads: whole organisations where they read by default
/// (less the overrides that say otherwise), and single repositories granted elsewhere.
fn reader(actor: &Actor) -> Reader {
    let mut reader = Reader::from(actor.user.name.as_str());
    for (org, standing) in actor.memberships.iter() {
        let reads_all = standing.everywhere >= Permission::Read;
        if reads_all {
            reader.namespaces.push(org.to_owned());
        }
        for (name, permission) in &standing.repositories {
            let reads = *permission >= Permission::Read;
            if reads != reads_all {
                let list = if reads {
                    &mut reader.repositories
                } else {
                    &mut reader.hidden
                };
                list.push(format!("{org}/{name}"));
            }
        }
    }
    reader.hidden.sort();
    reader.repositories.sort();
    reader
}

/// The containers a robot sees in lists and search: its owner's, or its chosen few (the
/// robot's own name is never an owner or a member, so it adds nothing).
fn robot_reader(robot: &Robot) -> Reader {
    let mut reader = Reader::from(robot.name.as_str());
    let owner = robot.name.owner();
    if robot.repositories.is_empty() {
        reader.namespaces.push(owner.to_owned());
    } else {
        reader.repositories = robot
            .repositories
            .iter()
            .map(|name| format!("{owner}/{name}"))
            .collect();
    }
    reader
}

/// The labels access rules see for a signed-in `user`: `role`, and `org` with one value per
/// organisation they are a member of. One definition for the web, the builder and the rules
/// page's test form.
pub fn rule_labels(
    user: &User,
    memberships: &Memberships,
) -> std::collections::BTreeMap<String, Vec<String>> {
    let orgs = memberships.iter().map(|(org, _)| org.to_owned()).collect();
    std::collections::BTreeMap::from([
        ("role".to_owned(), vec![user.role.as_str().to_owned()]),
        ("org".to_owned(), orgs),
    ])
}

/// Whether a build of `container` requested by `user` (whose organisation standing is
/// `memberships`) may still run. A build acts with its requester's account (not the key that
/// queued it), and rights can change while it waits in the queue: the worker asks again when
/// it starts the build. The reason is for the build page.
pub fn may_run_build(
    user: &User,
    memberships: &Memberships,
    container: &Container,
) -> Result<(), Denied> {
    if user.disabled {
        return Err(Denied::Forbidden(format!(
            "{} was disabled after queueing this build",
            user.name
        )));
    }
    let account = Principal::user(user.clone(), Scopes::all(), Credential::Local)
        .with_memberships(memberships.clone());
    may_run_build_as(&account, container)
}

/// [`may_run_build`] for the requester's account as a principal (with its memberships and the
/// access rules that may match it).
pub fn may_run_build_as(account: &Principal, container: &Container) -> Result<(), Denied> {
    let Some(actor) = account.actor() else {
        return Err(Denied::NotSignedIn);
    };
    let user = &actor.user;
    if user.disabled {
        return Err(Denied::Forbidden(format!(
            "{} was disabled after queueing this build",
            user.name
        )));
    }
    if !account.rights_on(container).push {
        return Err(Denied::Forbidden(format!(
            "{} no longer has push rights on {}",
            user.name, container.id
        )));
    }
    Ok(())
}

/// The owner recorded for a new container in `namespace` created by `creator`: the user whose
/// namespace it is, or the creator in the curated `library/`.
pub fn owner_for(namespace: &str, creator: &UserName) -> String {
    if namespace == LIBRARY_NAMESPACE {
        creator.as_str().to_owned()
    } else {
        namespace.to_owned()
    }
}

#[cfg(test)]
mod tests;
