//! Build secrets, per container and per organisation: write-only values, sealed at rest
//! (`core::sealed`, under the installation's `sealing.key`), listed by name only, mounted by the
//! builder into `RUN --mount=type=secret,id=NAME` steps. Only a container's managers (its owner
//! and admins) or an organisation's admins and owners set and remove them; note that anyone who
//! may build the container can write a Dockerfile that reads them.

use std::collections::BTreeMap;

use bioshadock_core::RepoName;
use bioshadock_core::accounts::Scope;
use bioshadock_core::build_settings::{
    MAX_SECRETS, SealedSecret, check_secret_name, check_secret_value,
};
use bioshadock_core::events::EventKind;
use bioshadock_core::permissions::Principal;
use bioshadock_core::ports::store::ContainerSettings;

use super::orgs::{self, Change};
use super::{containers, events};
use crate::error::ApiError;
use crate::state::AppState;

/// Sets (`Some`) or removes (`None`) `name` in `secrets`, within the bounds.
pub(crate) fn put(
    secrets: &mut BTreeMap<String, SealedSecret>,
    name: String,
    sealed: Option<SealedSecret>,
) -> Result<(), ApiError> {
    match sealed {
        Some(sealed) => {
            if !secrets.contains_key(&name) && secrets.len() >= MAX_SECRETS {
                return Err(ApiError::conflict(format!(
                    "at most {MAX_SECRETS} build secrets: remove one first"
                )));
            }
            secrets.insert(name, sealed);
        }
        None => {
            if secrets.remove(&name).is_none() {
                return Err(ApiError::not_found(format!("no build secret `{name}`")));
            }
        }
    }
    Ok(())
}

/// The name and value checked, the value sealed.
fn sealed(state: &AppState, name: &str, value: &str) -> Result<SealedSecret, ApiError> {
    check_secret_name(name).map_err(ApiError::bad_request)?;
    check_secret_value(value).map_err(ApiError::bad_request)?;
    Ok(SealedSecret(state.sealing.seal(value)))
}

/// A container its caller manages.
async fn managed(
    state: &AppState,
    principal: &Principal,
    id: &RepoName,
    scope: Scope,
) -> Result<bioshadock_core::Container, ApiError> {
    containers::managed(state, principal, id, scope, "a container's build secrets").await
}

/// The names of a container's build secrets.
pub async fn names(
    state: &AppState,
    principal: &Principal,
    id: &RepoName,
) -> Result<Vec<String>, ApiError> {
    let container = managed(state, principal, id, Scope::Read).await?;
    Ok(container.policy.build.secrets.into_keys().collect())
}

/// Sets (`Some(value)`) or removes (`None`) one of a container's build secrets.
pub async fn set(
    state: &AppState,
    principal: &Principal,
    id: &RepoName,
    name: &str,
    value: Option<&str>,
) -> Result<(), ApiError> {
    let container = managed(state, principal, id, Scope::Push).await?;
    check_secret_name(name).map_err(ApiError::bad_request)?;
    let sealed = value.map(|v| sealed(state, name, v)).transpose()?;
    let mut settings = ContainerSettings::of(&container);
    let what = if sealed.is_some() { "set" } else { "removed" };
    put(&mut settings.policy.build.secrets, name.to_owned(), sealed)?;
    containers::save(state, id, settings).await?;
    let summary = format!("build secret {name} {what}");
    let kind = EventKind::ContainerEdited;
    events::record_on_container(state, principal, kind, id, id.to_string(), summary).await;
    Ok(())
}

/// The names of an organisation's build secrets (its admins and owners).
pub async fn org_names(
    state: &AppState,
    principal: &Principal,
    org: &str,
) -> Result<Vec<String>, ApiError> {
    principal.require(Scope::Read)?;
    let (found, rights) = orgs::get(state, principal, org).await?;
    if !rights.manage {
        return Err(ApiError::forbidden(
            "forbidden",
            "only the organisation's admins and owners manage its build secrets",
        ));
    }
    Ok(found.build_secrets.into_keys().collect())
}

/// Sets or removes one of an organisation's build secrets.
pub async fn org_set(
    state: &AppState,
    principal: &Principal,
    org: &str,
    name: &str,
    value: Option<&str>,
) -> Result<(), ApiError> {
    principal.require(Scope::Push)?;
    check_secret_name(name).map_err(ApiError::bad_request)?;
    let sealed = value.map(|v| sealed(state, name, v)).transpose()?;
    orgs::apply(
        state,
        principal,
        org,
        Change::SetBuildSecret(name.to_owned(), sealed),
    )
    .await?;
    Ok(())
}
