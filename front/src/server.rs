//! The listener: every connection served by hyper's HTTP/1.1 server, every request forwarded by
//! hyper's client to the registry. Bodies are hyper's own streams handed from one side to the
//! other, so a gigabyte layer goes through a few frames at a time, with the registry's (and the
//! client's) pace as back-pressure; only a manifest pushed through the front is read whole
//! (Distribution's own limit, 4 MiB), to know its digest before the registry stores it.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use sha2::{Digest as _, Sha256};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::forward::{Upstream, to_client, to_upstream};
use crate::gate::{Gate, ManifestAction, ManifestCall, Refusal, Verdict};
use crate::route::{Route, is_index, route};

/// Distribution refuses manifests over 4 MiB; the front reads no more than that.
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;
/// A manifest body slower than this is dropped (a client holding the front's memory).
const MANIFEST_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// A client has this long to send a request's headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections served at once; the next ones wait to be accepted. Bounds the front's file
/// descriptors and memory whatever the number of clients.
const MAX_CONNECTIONS: usize = 4096;
/// On shutdown, requests in flight (an upload) may finish for this long.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

type Body = BoxBody<Bytes, hyper::Error>;

/// The front of one registry.
pub struct Front {
    upstream: Upstream,
    /// The portal's own listener, for `docker search` (`/v1/search`); `None`: not served.
    portal: Option<Upstream>,
    gate: Arc<dyn Gate>,
    client: Client<HttpConnector, Body>,
}

impl Front {
    pub fn new(upstream: Upstream, portal: Option<Upstream>, gate: Arc<dyn Gate>) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_timer(TokioTimer::new())
            .build(connector);
        Self {
            upstream,
            portal,
            gate,
            client,
        }
    }

    /// Answers one request.
    async fn handle(&self, request: Request<Incoming>, client: SocketAddr) -> Response<Body> {
        let path = request.uri().path().to_owned();
        match route(&path) {
            Route::Registry => self.forward(request.map(BodyExt::boxed), client).await,
            Route::Search => match &self.portal {
                Some(portal) => {
                    self.forward_to(portal, request.map(BodyExt::boxed), client)
                        .await
                }
                None => error(StatusCode::NOT_FOUND, "NOT_FOUND", "no search here"),
            },
            Route::Manifest {
                repository,
                reference,
            } => self.manifest(request, repository, reference, client).await,
            Route::Elsewhere => error(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                "this is the registry API (/v2/); the portal has its own address",
            ),
            Route::Unclear => error(
                StatusCode::BAD_REQUEST,
                "UNSUPPORTED",
                "registry paths with percent-encoding, empty or dot segments are not accepted",
            ),
        }
    }

    /// A manifest request: judged by the gate first (a push's body read whole for its digest),
    /// then forwarded; a pulled image is counted once its manifest is on its way.
    async fn manifest(
        &self,
        request: Request<Incoming>,
        repository: &str,
        reference: &str,
        client: SocketAddr,
    ) -> Response<Body> {
        let action = match *request.method() {
            Method::GET => ManifestAction::Read { head: false },
            Method::HEAD => ManifestAction::Read { head: true },
            Method::PUT => ManifestAction::Write,
            Method::DELETE => ManifestAction::Delete,
            // The registry answers other methods (405) as it would without the front.
            _ => return self.forward(request.map(BodyExt::boxed), client).await,
        };
        let query_tags = match query_tags(request.uri().query()) {
            Ok(tags) => tags,
            Err(refusal) => return refused(&refusal),
        };
        let (parts, body) = request.into_parts();
        let (body, digest) = if action == ManifestAction::Write {
            match read_manifest(&parts.headers, body).await {
                Ok(bytes) => {
                    let digest = format!("sha256:{:x}", Sha256::digest(&bytes));
                    (full(bytes), Some(digest))
                }
                Err(refusal) => return refused(&refusal),
            }
        } else {
            (body.boxed(), None)
        };
        let call = ManifestCall {
            action,
            repository,
            reference,
            query_tags,
            authorization: parts
                .headers
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok()),
            digest,
        };
        if let Verdict::Refuse(refusal) = self.gate.check(&call).await {
            tracing::info!(
                repository,
                reference,
                code = refusal.code,
                "the front refused a manifest request: {}",
                refusal.message
            );
            return refused(&refusal);
        }
        let response = self.forward(Request::from_parts(parts, body), client).await;
        let image_served = action == (ManifestAction::Read { head: false })
            && response.status().is_success()
            && !response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(is_index);
        tracing::debug!(
            repository,
            reference,
            ?action,
            status = response.status().as_u16(),
            media_type = ?response.headers().get(CONTENT_TYPE),
            "manifest request forwarded"
        );
        if image_served {
            self.gate.pulled(repository).await;
        }
        response
    }

    /// Sends `request` to the registry and streams its answer back.
    async fn forward(&self, request: Request<Body>, client: SocketAddr) -> Response<Body> {
        self.forward_to(&self.upstream, request, client).await
    }

    /// Sends `request` to `upstream` and streams its answer back.
    async fn forward_to(
        &self,
        upstream: &Upstream,
        request: Request<Body>,
        client: SocketAddr,
    ) -> Response<Body> {
        let request = to_upstream(request, upstream, client);
        match self.client.request(request).await {
            Ok(response) => to_client(response).map(BodyExt::boxed),
            Err(e) => {
                tracing::warn!(
                    upstream = upstream.authority(),
                    error = %e,
                    "the server behind the front does not answer"
                );
                error(
                    StatusCode::BAD_GATEWAY,
                    "UNAVAILABLE",
                    "the registry behind this front does not answer; try again shortly",
                )
            }
        }
    }
}

/// The `tag` parameters of a manifest push's query (OCI distribution 1.1 lets a push by digest
/// name tags there). Encoded values are refused, as encoded paths are: tags never need it.
fn query_tags(query: Option<&str>) -> Result<Vec<String>, Refusal> {
    let Some(query) = query else {
        return Ok(Vec::new());
    };
    let mut tags = Vec::new();
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key == "tag" {
            if value.contains('%') || value.contains('+') {
                return Err(Refusal {
                    status: 400,
                    code: "TAG_INVALID",
                    message: "an encoded tag in the query is not accepted".into(),
                });
            }
            tags.push(value.to_owned());
        }
    }
    Ok(tags)
}

/// A pushed manifest, whole: at most [`MAX_MANIFEST_BYTES`], within [`MANIFEST_READ_TIMEOUT`].
async fn read_manifest(headers: &hyper::HeaderMap, body: Incoming) -> Result<Bytes, Refusal> {
    let too_large = || Refusal {
        status: 413,
        code: "MANIFEST_INVALID",
        message: format!("a manifest is at most {MAX_MANIFEST_BYTES} bytes"),
    };
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_MANIFEST_BYTES as u64) {
        return Err(too_large());
    }
    let collected = tokio::time::timeout(
        MANIFEST_READ_TIMEOUT,
        Limited::new(body, MAX_MANIFEST_BYTES).collect(),
    )
    .await
    .map_err(|_| Refusal {
        status: 408,
        code: "MANIFEST_INVALID",
        message: "the manifest did not arrive in time".into(),
    })?;
    match collected {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(_) => Err(Refusal {
            status: 400,
            code: "MANIFEST_INVALID",
            message: "the manifest body could not be read".into(),
        }),
    }
}

fn full(bytes: Bytes) -> Body {
    Full::new(bytes)
        .map_err(|never: Infallible| match never {})
        .boxed()
}

fn refused(refusal: &Refusal) -> Response<Body> {
    let status = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::FORBIDDEN);
    error(status, refusal.code, &refusal.message)
}

/// A Distribution-style error (`{"errors": [{code, message, detail}]}`), which the docker CLI
/// prints as `CODE (lower case): MESSAGE`.
fn error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    let body = serde_json::json!({
        "errors": [{"code": code, "message": message, "detail": null}]
    });
    let mut response = Response::new(full(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Serves the front on `listener` until `shutdown` resolves; then requests in flight may
/// finish for a while.
pub async fn serve(
    listener: TcpListener,
    front: Arc<Front>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let (stream, client) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "the front cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let front = front.clone();
        let service = hyper::service::service_fn(move |request| {
            let front = front.clone();
            async move { Ok::<_, Infallible>(front.handle(request, client).await) }
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "front connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("the front stopped with requests still in flight");
    }
    Ok(())
}
