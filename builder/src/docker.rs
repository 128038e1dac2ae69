//! The Docker Engine, through bollard: build an image from a context, read its labels, run a
//! smoke-test command in it, push it, and clean up.
//!
//! Output is forwarded line by line as the engine produces it, so a user watching a build sees
//! it progress. Success and failure are decided by what the engine reports (an error message,
//! an image id, an exit code, a digest), never by matching human-readable text.

mod build;
mod buildkit;
mod cache;
mod lines;
mod pull;
mod push;
mod run;

pub use cache::{CACHE_REPOSITORY, cache_image};

use std::collections::BTreeMap;

use bollard::Docker;
use bollard::errors::Error as BollardError;
use bollard::{API_DEFAULT_VERSION, ClientVersion};
use tokio::sync::{OnceCell, mpsc};

/// Where the engine is when `DOCKER_HOST` is not set.
const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// bollard's time limit for the engine to start answering a request. Routine calls get the
/// usual two minutes.
const REQUEST_TIMEOUT_SECS: u64 = 120;

/// Why an engine operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The engine could not be contacted (not running, socket missing, connection lost, no
    /// answer): nothing is known about the build itself, so the worker may retry it later.
    #[error("cannot reach the Docker Engine at {host}: {reason}")]
    Unavailable { host: String, reason: String },
    /// `DOCKER_HOST` (or the configured host) uses a scheme this builder does not support.
    #[error(
        "unsupported Docker Engine address `{0}`: use unix://PATH, tcp://HOST:PORT or http://HOST:PORT"
    )]
    UnsupportedHost(String),
    /// The build ran and failed (a step failed, the Dockerfile is wrong, a limit was refused);
    /// the message is the engine's.
    #[error("the build failed: {0}")]
    BuildFailed(String),
    /// The push was refused or failed; the message is the engine's or the registry's.
    #[error("the push failed: {0}")]
    PushFailed(String),
    /// A base image could not be pulled (no right to pull it, or it does not exist).
    #[error("pulling a base image failed: {0}")]
    PullFailed(String),
    /// The image does not exist on the engine.
    #[error("no such image: {0}")]
    ImageNotFound(String),
    /// Any other refusal by the engine.
    #[error("the Docker Engine refused the request: {0}")]
    Engine(String),
}

impl EngineError {
    /// Whether the engine itself was unreachable, as opposed to the work failing on it.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

/// Options of one build, also applied to its smoke test.
#[derive(Debug, Clone, Default)]
pub struct BuildSettings {
    /// The full local reference the image is tagged with, e.g. `127.0.0.1:5000/alice/tool:v1`.
    pub image: String,
    /// Labels added to the image (the build's `labels` option, on top of the Dockerfile's).
    pub labels: BTreeMap<String, String>,
    /// Memory limit of each build step and of the smoke test, in bytes; swap is not added.
    pub memory_bytes: Option<i64>,
    /// CPU limit, in CPUs (1.5 = one and a half).
    pub cpus: Option<f64>,
    /// Network of the build steps (`none`, `bridge`, ...); the engine's default when absent.
    /// Smoke tests always run without network.
    pub network_mode: Option<String>,
    /// Whether to pull a newer version of the `FROM` image before building.
    pub pull: bool,
    /// Build arguments (`--build-arg`).
    pub args: BTreeMap<String, String>,
    /// The one image whose layers the build may reuse (the container's previous successful
    /// build, see [`cache`]); without one, every step runs.
    pub cache_from: Option<String>,
}

/// A Docker Engine. Cheap to share by reference; the connection is opened on first use, so a
/// builder can start before its engine does.
pub struct Engine {
    host: String,
    docker: OnceCell<Docker>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("host", &self.host).finish()
    }
}

impl Engine {
    /// The local engine: `DOCKER_HOST` if set, else `/var/run/docker.sock`. Nothing is
    /// contacted yet; see [`Engine::ping`].
    pub fn connect() -> Result<Self, EngineError> {
        let host = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| DEFAULT_HOST.to_owned());
        Self::connect_to(&host)
    }

    /// The engine at `host` (`unix:///path`, `tcp://host:port` or `http://host:port`).
    pub fn connect_to(host: &str) -> Result<Self, EngineError> {
        if !["unix://", "tcp://", "http://"]
            .iter()
            .any(|scheme| host.starts_with(scheme))
        {
            return Err(EngineError::UnsupportedHost(host.to_owned()));
        }
        Ok(Self {
            host: host.to_owned(),
            docker: OnceCell::new(),
        })
    }

    /// Checks that the engine answers; returns its version (e.g. `20.10.24`).
    pub async fn ping(&self) -> Result<String, EngineError> {
        let version = self
            .docker()
            .await?
            .version()
            .await
            .map_err(|e| self.error(e))?;
        Ok(version.version.unwrap_or_default())
    }

    /// The client, opened on first use with an API version both sides speak.
    async fn docker(&self) -> Result<&Docker, EngineError> {
        self.docker.get_or_try_init(|| self.open()).await
    }

    /// bollard's own negotiation asks the engine for its version with bollard's newest API
    /// version in the path, which older engines (20.10 speaks 1.41) refuse; their refusal names
    /// the highest version they speak, so that answer is used too.
    async fn open(&self) -> Result<Docker, EngineError> {
        let probe = self.client(API_DEFAULT_VERSION)?;
        match probe.version().await {
            Ok(version) => match version.api_version.as_deref().and_then(parse_api_version) {
                Some(server) if server < *API_DEFAULT_VERSION => self.client(&server),
                _ => Ok(probe),
            },
            Err(BollardError::DockerResponseServerError {
                status_code: 400,
                message,
            }) => match message
                .split("Maximum supported API version is ")
                .nth(1)
                .and_then(parse_api_version)
            {
                Some(server) => self.client(&server),
                None => Err(EngineError::Engine(message)),
            },
            Err(e) => Err(self.error(e)),
        }
    }

    fn client(&self, version: &ClientVersion) -> Result<Docker, EngineError> {
        client_for(&self.host, version).map_err(|e| self.error(e))
    }

    /// bollard's errors, sorted into "the engine is not there" and "the engine said no".
    fn error(&self, e: BollardError) -> EngineError {
        match e {
            BollardError::DockerResponseServerError { message, .. }
            | BollardError::DockerStreamError { error: message } => EngineError::Engine(message),
            BollardError::SocketNotFoundError(_)
            | BollardError::HyperLegacyError { .. }
            | BollardError::HyperResponseError { .. }
            | BollardError::IOError { .. }
            | BollardError::RequestTimeoutError => EngineError::Unavailable {
                host: self.host.clone(),
                reason: e.to_string(),
            },
            other => EngineError::Engine(other.to_string()),
        }
    }

    /// For removals: `None` when the object is already gone (or being removed).
    fn error_ignoring_gone(&self, e: BollardError) -> Option<EngineError> {
        match e {
            BollardError::DockerResponseServerError {
                status_code: 404, ..
            } => None,
            BollardError::DockerResponseServerError {
                status_code: 409,
                ref message,
            } if message.contains("already in progress") => None,
            other => Some(self.error(other)),
        }
    }
}

/// A client of the engine at `host` speaking API `version`.
fn client_for(host: &str, version: &ClientVersion) -> Result<Docker, BollardError> {
    if host.starts_with("unix://") {
        Docker::connect_with_unix(host, REQUEST_TIMEOUT_SECS, version)
    } else {
        Docker::connect_with_http(host, REQUEST_TIMEOUT_SECS, version)
    }
}

/// `1.41` → version 1.41 (anything after the number is ignored).
/// What the engine presents to the registry for a pull or push: a bearer token the portal
/// minted for this build (never a password).
fn registry_token_credentials(registry_token: &str) -> bollard::auth::DockerCredentials {
    bollard::auth::DockerCredentials {
        registrytoken: Some(registry_token.to_owned()),
        ..Default::default()
    }
}

fn parse_api_version(text: &str) -> Option<ClientVersion> {
    let text = text.trim();
    let (major, rest) = text.split_once('.')?;
    let minor: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some(ClientVersion {
        major_version: major.parse().ok()?,
        minor_version: minor.parse().ok()?,
    })
}

/// Sends lines in order. A closed receiver is not an error: whoever consumed the log has gone,
/// and the engine operation's own result still matters.
async fn send_all(log: &mpsc::Sender<String>, lines: impl IntoIterator<Item = String>) {
    for line in lines {
        let _ = log.send(line).await;
    }
}
