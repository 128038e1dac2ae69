//! Tag policies as every path applies them: the registry front (before the registry acts), the
//! notifications (after the fact, when no front stood in the way), and the portal's own
//! deletions. The rules themselves are `core::tag_policy`'s; this finds what applies to a
//! container (its own policy, else its namespace's default).

use bioshadock_core::model::Tag;
use bioshadock_core::tag_policy::{ImmutableTags, immutable_refusal};
use bioshadock_core::{Container, PortError, PortResult, RepoName};
use chrono::{DateTime, Utc};

use bioshadock_core::accounts::{Scope, UserName};
use bioshadock_core::permissions::Principal;

use crate::error::ApiError;
use crate::state::AppState;

/// The immutability default of `namespace`: its organisation's, or its user's (names are
/// shared, so it is one or the other); none for `library/` and unknown namespaces.
pub async fn namespace_default(
    state: &AppState,
    namespace: &str,
) -> PortResult<Option<ImmutableTags>> {
    if let Ok(org) = bioshadock_core::orgs::OrgName::parse(namespace) {
        match state.orgs.get_org(&org).await {
            Ok(org) => return Ok(org.immutable),
            Err(PortError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    let Ok(user) = bioshadock_core::accounts::UserName::parse(namespace) else {
        return Ok(None);
    };
    match state.users.namespace_immutable(&user).await {
        Ok(immutable) => Ok(immutable),
        Err(PortError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// What applies to one repository: its container (if catalogued) and its namespace's default.
#[derive(Debug, Clone)]
pub struct TagRules {
    pub container: Option<Container>,
    namespace_default: Option<ImmutableTags>,
}

impl TagRules {
    /// The rules of `id`, read from the store.
    pub async fn of(state: &AppState, id: &RepoName) -> PortResult<Self> {
        let container = match state.store.get(id).await {
            Ok(container) => Some(container),
            Err(PortError::NotFound) => None,
            Err(e) => return Err(e),
        };
        Self::for_container(state, id, container).await
    }

    /// The rules of `container` (already read), or of a repository not catalogued yet.
    pub async fn for_container(
        state: &AppState,
        id: &RepoName,
        container: Option<Container>,
    ) -> PortResult<Self> {
        let own = container.as_ref().and_then(|c| c.policy.immutable.as_ref());
        // A container's own policy wins: its namespace is not read for nothing.
        let namespace_default = match own {
            Some(_) => None,
            None => namespace_default(state, id.namespace()).await?,
        };
        Ok(Self {
            container,
            namespace_default,
        })
    }

    /// The immutability in force, for showing.
    pub fn immutability(&self) -> Option<&ImmutableTags> {
        self.container
            .as_ref()
            .and_then(|c| c.policy.immutable.as_ref())
            .or(self.namespace_default.as_ref())
    }

    /// Whether `tag` is immutable.
    pub fn is_immutable(&self, tag: &str) -> bool {
        self.immutability().is_some_and(|p| p.covers(tag))
    }

    /// The catalogued tags immutable under these rules that point to `digest`.
    pub fn immutable_tags_at<'a>(&'a self, digest: &'a str) -> impl Iterator<Item = &'a Tag> {
        self.container
            .iter()
            .flat_map(|c| c.tags.iter())
            .filter(move |t| t.digest == digest && self.is_immutable(t.name.as_str()))
    }

    /// Why a pull of `reference` (a tag or a digest) is refused at `now`, if it is: the
    /// deprecation of that tag (or of the tags at that digest), else of the container, with a
    /// date past.
    pub fn blocked_pull(&self, reference: &str, now: DateTime<Utc>) -> Option<String> {
        let container = self.container.as_ref()?;
        let policy = &container.policy;
        let blocking = |tag: &str| {
            policy
                .deprecation_of(tag)
                .filter(|d| d.blocks_pulls(now))
                .map(|d| d.refusal(&format!("{}:{tag}", container.id)))
        };
        if !reference.contains(':') {
            return blocking(reference);
        }
        container
            .tags
            .iter()
            .filter(|t| t.digest == reference)
            .find_map(|t| blocking(t.name.as_str()))
            .or_else(|| {
                policy
                    .deprecated
                    .as_ref()
                    .filter(|d| d.blocks_pulls(now))
                    .map(|d| d.refusal(container.id.as_str()))
            })
    }
}

/// 409 `immutable_tag` when deleting `tags` would delete an immutable one.
pub fn refuse_immutable_deletion<'a>(
    rules: &TagRules,
    id: &RepoName,
    mut tags: impl Iterator<Item = &'a Tag>,
) -> Result<(), ApiError> {
    match tags.find(|t| rules.is_immutable(t.name.as_str())) {
        Some(tag) => Err(ApiError {
            status: axum::http::StatusCode::CONFLICT,
            code: "immutable_tag",
            message: format!(
                "{}; an admin of the container may lift its immutability first",
                immutable_refusal(tag.name.as_str(), id.as_str())
            ),
        }),
        None => Ok(()),
    }
}

/// Sets (`Some(Some)`), clears (`Some(None)`) or only reads (`None`) the immutability default
/// of the caller's own namespace; answers the caller's name and the default now in force.
pub async fn set_user_default(
    state: &AppState,
    principal: &Principal,
    change: Option<Option<ImmutableTags>>,
) -> Result<(UserName, Option<ImmutableTags>), ApiError> {
    let scope = if change.is_some() {
        Scope::Push
    } else {
        Scope::Read
    };
    let actor = principal.require(scope)?;
    let name = actor.user.name.clone();
    if let Some(immutable) = change {
        state
            .users
            .set_namespace_immutable(&name, immutable.as_ref())
            .await?;
        tracing::info!(
            user = %name,
            to = immutable.as_ref().map_or("none".into(), ImmutableTags::describe),
            "namespace immutability default changed"
        );
    }
    let now = state.users.namespace_immutable(&name).await?;
    Ok((name, now))
}
