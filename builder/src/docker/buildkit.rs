//! Builds with secrets, through the engine's embedded BuildKit: the classic builder's `/build`
//! cannot mount secrets. bollard's `Moby` driver opens a session with the engine (`/session`)
//! that serves the context and the secrets, and asks BuildKit's control API (`/grpc`) to solve
//! the Dockerfile and export the image to the engine under `settings.image`.
//!
//! Differences from the classic path, said in the build's log and the README: the steps' own
//! output is not streamed (the driver returns the outcome only), every step runs (BuildKit's
//! cache keys leave secret values out, so a cached step of another build with another secret
//! could be reused), and BuildKit applies no per-build memory or CPU limit.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bollard::grpc::build::{
    ImageBuildFrontendOptions, ImageBuildLoadInput, ImageBuildNetworkMode, SecretSource,
};
use bollard::grpc::driver::Build as _;
use bollard::grpc::driver::moby::Moby;

use super::{BuildSettings, Engine, EngineError, client_for};

/// How often a running solve looks whether the build was stopped.
const STOP_POLL: Duration = Duration::from_millis(200);

impl Engine {
    /// Builds `context` (an uncompressed tar with a `Dockerfile` at its root) with the secret
    /// files `secrets` (`(id, file)`), tagged `settings.image`; returns the image id.
    pub async fn build_with_secrets(
        &self,
        settings: &BuildSettings,
        context: Vec<u8>,
        secrets: &[(String, PathBuf)],
        stop: Arc<AtomicBool>,
    ) -> Result<String, EngineError> {
        let mut options = ImageBuildFrontendOptions::builder()
            .nocache(true)
            .pull(settings.pull);
        for (key, value) in &settings.labels {
            options = options.label(key, value);
        }
        for (key, value) in &settings.args {
            options = options.buildarg(key, value);
        }
        match settings.network_mode.as_deref() {
            None | Some("default" | "bridge") => {}
            Some("none") => options = options.force_network_mode(&ImageBuildNetworkMode::None),
            Some("host") => options = options.force_network_mode(&ImageBuildNetworkMode::Host),
            Some(other) => {
                return Err(EngineError::BuildFailed(format!(
                    "builds with secrets run under BuildKit, whose steps use the default network, \
                     none or host, not `{other}` (builder.network)"
                )));
            }
        }
        for (id, file) in secrets {
            options = options.set_secret(id, &SecretSource::File(file.clone()));
        }
        // bollard's session future is not `Send`: it runs on a thread of its own, with a
        // runtime and a client of its own, and stops (dropping the session, which makes
        // BuildKit abandon the solve) when `stop` is set.
        let version = self.docker().await?.client_version();
        let host = self.host.clone();
        let image = settings.image.clone();
        let frontend = options.build();
        let (done, outcome) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("buildkit-session".into())
            .spawn(move || {
                let result = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())
                    .and_then(|runtime| {
                        runtime.block_on(solve(&host, &version, &image, frontend, context, &stop))
                    });
                let _ = done.send(result);
            })
            .map_err(|e| EngineError::Engine(format!("cannot start a BuildKit session: {e}")))?;
        outcome
            .await
            .map_err(|_| EngineError::BuildFailed("the BuildKit session ended abruptly".into()))?
            .map_err(EngineError::BuildFailed)?;
        self.image_id(&settings.image).await?.ok_or_else(|| {
            EngineError::BuildFailed("BuildKit reported no error but produced no image".into())
        })
    }
}

/// One solve on the engine at `host`, until it ends or `stop` is set; the error is BuildKit's.
async fn solve(
    host: &str,
    version: &bollard::ClientVersion,
    image: &str,
    frontend: ImageBuildFrontendOptions,
    context: Vec<u8>,
    stop: &AtomicBool,
) -> Result<(), String> {
    let docker = client_for(host, version).map_err(|e| e.to_string())?;
    let input = ImageBuildLoadInput::Upload(bytes::Bytes::from(context));
    let build = Moby::new(&docker).docker_build(image, frontend, input, None, None);
    let stopped = async {
        while !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(STOP_POLL).await;
        }
    };
    tokio::select! {
        result = build => result.map_err(|e| e.to_string()),
        () = stopped => Err("stopped".into()),
    }
}
