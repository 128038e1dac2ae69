//! Reading the catalogue: all containers (streamed), the latest ones, one container, its tags.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bioshadock_core::catalogue::stream_batches;
use bioshadock_core::permissions::Principal;
use futures::StreamExt;
use serde::Deserialize;
use utoipa::IntoParams;

use super::grammar::ContainerPath;
use crate::auth::Caller;
use crate::cache::Key;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiQuery, ContainerId};
use crate::services::{containers, tag_policies};
use crate::state::AppState;
use crate::views::{ContainerView, TagView};

/// Every container the caller may see, newest first.
///
/// The array is streamed as it is read from the store, so memory stays flat whatever the size
/// of the catalogue. A reader task fetches the next batch from the store while the previous
/// one is serialised and sent, so the two cores share the work.
#[utoipa::path(get, path = "/container/all", tag = "containers",
    security((), ("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, description = "Visible containers, newest first", body = [ContainerView])))]
pub async fn all(State(state): State<AppState>, Caller(caller): Caller) -> Response {
    let pull_host = state.settings.pull_host.clone();
    let (batches_tx, batches) = tokio::sync::mpsc::channel(1);
    let mut reader = stream_batches(state.store.clone(), caller.audience());
    tokio::spawn(async move {
        while let Some(batch) = reader.next().await {
            let failed = batch.is_err();
            // A closed channel means the client went away: stop reading.
            if batches_tx.send(batch).await.is_err() || failed {
                break;
            }
        }
    });
    let mut first = true;
    let items = futures::stream::unfold(batches, |mut rx| async move {
        rx.recv().await.map(|batch| (batch, rx))
    })
    .map(move |batch| {
        let batch = batch
            .inspect_err(|e| tracing::error!(error = %e, "streaming /container/all failed"))?;
        let mut chunk = Vec::with_capacity(batch.len() * 2048);
        for container in batch {
            if !std::mem::take(&mut first) {
                chunk.push(b',');
            }
            serde_json::to_writer(&mut chunk, &ContainerView::new(container, &pull_host))
                .map_err(bioshadock_core::PortError::backend)?;
        }
        Ok::<_, bioshadock_core::PortError>(Bytes::from(chunk))
    });
    let body = futures::stream::once(async { Ok(Bytes::from_static(b"[")) })
        .chain(items)
        .chain(futures::stream::once(async {
            Ok(Bytes::from_static(b"]"))
        }));
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LatestParams {
    /// How many containers (1-100, default 20).
    #[param(value_type = u32, required = false, minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// The most recently updated containers the caller may see.
#[utoipa::path(get, path = "/container/latest", tag = "containers", params(LatestParams),
    security((), ("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses(
        (status = 200, description = "Newest first", body = [ContainerView]),
        (status = 400, description = "Bad limit", body = ErrorBody)))]
pub async fn latest(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<LatestParams>,
) -> Result<Response, ApiError> {
    let limit = params.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad_request("`limit` must be between 1 and 100"));
    }
    // The same answer for every anonymous caller: micro-cached (`crate::cache`). A signed-in
    // caller or an API key may see private containers, so never.
    let body = if matches!(caller, Principal::Anonymous) {
        let build = latest_json(&state, &caller, limit);
        state.cache.get_or_build(Key::Latest(limit), build).await?
    } else {
        latest_json(&state, &caller, limit).await?
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

async fn latest_json(state: &AppState, caller: &Principal, limit: u32) -> Result<Bytes, ApiError> {
    let containers = state
        .store
        .list(&caller.audience(), 0, limit as usize)
        .await?;
    let host = &state.settings.pull_host;
    let views: Vec<ContainerView> = containers
        .into_iter()
        .map(|c| ContainerView::new(c, host))
        .collect();
    let json = serde_json::to_vec(&views).map_err(|e| {
        tracing::error!(error = %e, "serialising /container/latest failed");
        ApiError::internal()
    })?;
    Ok(Bytes::from(json))
}

/// One container.
#[utoipa::path(get, path = "/container/{namespace}/{name}", tag = "containers",
    security((), ("apikey" = []), ("bearer" = []), ("basic" = [])),
    params(ContainerPath),
    responses(
        (status = 200, body = ContainerView),
        (status = 400, description = "Invalid name", body = ErrorBody),
        (status = 404, description = "No such container (or not visible to the caller)", body = ErrorBody)))]
pub async fn one(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ContainerId(id): ContainerId,
) -> Result<Json<ContainerView>, ApiError> {
    let (container, _) = containers::visible(&state, &caller, &id).await?;
    Ok(Json(one_view(&state, container).await?))
}

/// One container's view, its tags marked immutable by its own policy or its namespace's.
async fn one_view(
    state: &AppState,
    container: bioshadock_core::Container,
) -> Result<ContainerView, ApiError> {
    let default = tag_policies::namespace_default(state, container.id.namespace()).await?;
    Ok(ContainerView::new(container, &state.settings.pull_host)
        .with_namespace_default(default.as_ref()))
}

/// A container's tags, newest first.
#[utoipa::path(get, path = "/container/tags/{namespace}/{name}", tag = "containers",
    security((), ("apikey" = []), ("bearer" = []), ("basic" = [])),
    params(ContainerPath),
    responses(
        (status = 200, body = [TagView]),
        (status = 400, description = "Invalid name", body = ErrorBody),
        (status = 404, description = "No such container", body = ErrorBody)))]
pub async fn tags(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ContainerId(id): ContainerId,
) -> Result<Json<Vec<TagView>>, ApiError> {
    let (container, _) = containers::visible(&state, &caller, &id).await?;
    Ok(Json(one_view(&state, container).await?.tags))
}
