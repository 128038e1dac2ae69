//! Deleting images in the registry when the portal deletes a container or a tag, so the
//! catalogue and the registry agree. The registry goes first: if it cannot be reached, nothing
//! is deleted in the catalogue either (reconciliation would otherwise bring nothing back, and
//! the image would stay pullable while the catalogue says it is gone).

use std::collections::BTreeSet;

use axum::http::StatusCode;
use bioshadock_core::tokens::{Action, ResourceAccess};
use bioshadock_core::{Container, RepoName, Tag, TagName};

use super::PORTAL_SUBJECT;
use super::client::{ClientError, Deletion, RegistryClient};
use crate::error::ApiError;
use crate::state::AppState;

/// Deletes the manifest of every tag the registry lists for `container`, and of every tag
/// the catalogue records (each digest once). The registry's own listing matters: a tag pushed
/// while notifications were lost is unknown to the catalogue, and a manifest left behind would
/// let reconciliation recreate the container with the default visibility.
pub(crate) async fn delete_container(
    state: &AppState,
    container: &Container,
) -> Result<(), ApiError> {
    let Some((client, token)) = connect(state, &container.id)? else {
        return Ok(());
    };
    let id = &container.id;
    let mut digests: BTreeSet<String> = container
        .tags
        .iter()
        .map(|t| t.digest.clone())
        .filter(|d| !d.is_empty())
        .collect();
    let listed = client.tags(id, &token).await.map_err(|e| failed(id, e))?;
    for tag in listed {
        // Registry tag names come from the registry itself, so they are safe in a URL path
        // only once they parse as tags.
        let Ok(tag) = TagName::parse(&tag) else {
            continue;
        };
        match client.digest(id, tag.as_str(), &token).await {
            Ok(Some(digest)) => {
                digests.insert(digest);
            }
            Ok(None) => {}
            Err(e) => return Err(failed(id, e)),
        }
    }
    for digest in &digests {
        match client.delete_manifest(id, digest, &token).await {
            Ok(Deletion::Deleted | Deletion::Absent) => {}
            Ok(Deletion::Unsupported) => return Err(deletion_disabled(id)),
            Err(e) => return Err(failed(id, e)),
        }
    }
    Ok(())
}

/// Deletes `tag` of `container`: by tag where the registry supports it (Distribution 3), else
/// by digest, which Distribution 2.x applies to every tag of that image, so that is refused
/// (409) when other tags share the digest.
pub(crate) async fn delete_tag(
    state: &AppState,
    container: &Container,
    tag: &Tag,
) -> Result<(), ApiError> {
    let Some((client, token)) = connect(state, &container.id)? else {
        return Ok(());
    };
    let id = &container.id;
    match client.delete_manifest(id, tag.name.as_str(), &token).await {
        Ok(Deletion::Deleted | Deletion::Absent) => return Ok(()),
        Ok(Deletion::Unsupported) => {}
        Err(e) => return Err(failed(id, e)),
    }
    let mut sharing: Vec<&str> = container
        .tags
        .iter()
        .filter(|t| t.digest == tag.digest && t.name != tag.name)
        .map(|t| t.name.as_str())
        .collect();
    if !sharing.is_empty() {
        sharing.insert(0, tag.name.as_str());
        return Err(ApiError::conflict(format!(
            "tags {} point to the same image; delete them together",
            sharing.join(", ")
        )));
    }
    match client.delete_manifest(id, &tag.digest, &token).await {
        Ok(Deletion::Deleted | Deletion::Absent) => Ok(()),
        Ok(Deletion::Unsupported) => Err(deletion_disabled(id)),
        Err(e) => Err(failed(id, e)),
    }
}

/// A client and a `delete` token for `id`; `None` when no registry is configured.
fn connect(state: &AppState, id: &RepoName) -> Result<Option<(RegistryClient, String)>, ApiError> {
    let registry = &state.registry;
    if registry.registry_url.is_empty() {
        return Ok(None);
    }
    let client = RegistryClient::new(&registry.registry_url).map_err(|e| {
        tracing::error!(error = %e, "cannot build the registry client");
        ApiError::internal()
    })?;
    let access = vec![ResourceAccess::repository(
        id,
        &[Action::Pull, Action::Delete],
    )];
    let token = registry.tokens.mint(PORTAL_SUBJECT, access).map_err(|e| {
        tracing::error!(error = %e, "cannot mint a registry token");
        ApiError::internal()
    })?;
    Ok(Some((client, token.token)))
}

fn failed(id: &RepoName, error: ClientError) -> ApiError {
    tracing::warn!(error = %error, %id, "deleting in the registry failed");
    match error {
        ClientError::Status { status, .. } => ApiError {
            status: StatusCode::BAD_GATEWAY,
            code: "registry_refused",
            message: format!(
                "the registry refused the deletion ({status}); nothing was deleted from the \
                 catalogue (`bioshadock registry-check` says why)"
            ),
        },
        _ => ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "registry_unavailable",
            message: "the registry could not be reached; nothing was deleted".into(),
        },
    }
}

fn deletion_disabled(id: &RepoName) -> ApiError {
    tracing::warn!(%id, "the registry refuses deletions: is storage.delete.enabled true?");
    ApiError {
        status: StatusCode::BAD_GATEWAY,
        code: "registry_refused",
        message: "the registry does not allow deletions (its storage.delete.enabled is off); \
                  nothing was deleted"
            .into(),
    }
}
