//! What a token grants: the actions asked for that the permission rules allow.
//!
//! Asking for more than one may have is not an error: the token carries the intersection
//! (possibly nothing) and the registry answers `insufficient_scope` for the rest, as Docker
//! Distribution expects of its token servers.

use serde::{Deserialize, Serialize};

use super::scope::{Action, RequestedScope, ScopeKind};
use crate::accounts::Scope;
use crate::model::Container;
use crate::names::RepoName;
use crate::permissions::Principal;

/// One entry of a token's `access` claim: `{"type", "name", "actions"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceAccess {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

impl ResourceAccess {
    /// `registry:catalog:*`, for the portal's own reconciliation token.
    pub fn catalog() -> Self {
        Self {
            kind: ScopeKind::Registry.as_str().to_owned(),
            name: CATALOG.to_owned(),
            actions: vec![Action::All.as_str().to_owned()],
        }
    }

    /// `repository:<name>:<actions>`.
    pub fn repository(name: &RepoName, actions: &[Action]) -> Self {
        Self {
            kind: ScopeKind::Repository.as_str().to_owned(),
            name: name.as_str().to_owned(),
            actions: actions.iter().map(|a| a.as_str().to_owned()).collect(),
        }
    }
}

/// The only registry-wide resource: listing every repository.
const CATALOG: &str = "catalog";

/// The actions a repository entry can carry, in the order they are listed.
const REPOSITORY_ACTIONS: [Action; 3] = [Action::Pull, Action::Push, Action::Delete];

/// What `principal` gets of `scope`, or `None` when that is nothing.
///
/// `container` is the catalogue's container named by the scope, `None` when it does not exist
/// (yet). On an existing container `pull` needs the right to see it, `push` the right to push and
/// `delete` the right to manage it; `*` asks for all three and gets what is allowed. A container
/// that does not exist may be pushed (and pulled) by whoever may create it: "push creates".
/// `registry:catalog:*` is for administrators holding `read`.
pub fn grant(
    principal: &Principal,
    scope: &RequestedScope,
    container: Option<&Container>,
) -> Option<ResourceAccess> {
    match scope.kind {
        ScopeKind::Registry => {
            // An access rule of `type: registry` decides when one matches; else admins only.
            let allowed = scope.name == CATALOG
                && scope.wants(Action::All)
                && principal
                    .may_list_catalog()
                    .unwrap_or_else(|| principal.require_admin(Scope::Read).is_ok());
            allowed.then(ResourceAccess::catalog)
        }
        ScopeKind::Repository => {
            let name = scope.repository()?;
            let permitted = permitted(principal, &name, container)?;
            let actions: Vec<Action> = REPOSITORY_ACTIONS
                .into_iter()
                .filter(|&a| scope.wants(a) && permitted.contains(&a))
                .collect();
            if actions.is_empty() {
                return None;
            }
            Some(ResourceAccess {
                kind: ScopeKind::Repository.as_str().to_owned(),
                name: scope.name.clone(),
                actions: actions.iter().map(|a| a.as_str().to_owned()).collect(),
            })
        }
    }
}

/// Every action the rules allow on the repository `name`.
fn permitted(
    principal: &Principal,
    name: &RepoName,
    container: Option<&Container>,
) -> Option<Vec<Action>> {
    let mut actions = Vec::new();
    match container {
        // A container for another name is a caller's mistake: grant nothing rather than
        // another repository's rights.
        Some(container) if container.id != *name => return None,
        Some(container) => {
            let rights = principal.rights_on(container);
            for (allowed, action) in [
                (rights.see, Action::Pull),
                (rights.push, Action::Push),
                (rights.manage, Action::Delete),
            ] {
                if allowed {
                    actions.push(action);
                }
            }
        }
        // Pull too: the registry may hold a repository the catalogue has not heard of yet (a
        // lost notification), and it can only be the creator's own.
        None if principal.may_push_new(name) => {
            actions.extend([Action::Pull, Action::Push]);
        }
        None => {}
    }
    Some(actions)
}

#[cfg(test)]
mod tests;
