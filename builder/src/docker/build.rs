//! Building an image and reading its labels.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bollard::errors::Error as BollardError;
use bollard::query_parameters::BuildImageOptionsBuilder;
use futures::StreamExt;
use tokio::sync::mpsc;

use super::lines::LineBuffer;
use super::{BuildSettings, Engine, EngineError, send_all};

/// A build only starts answering once the engine has received the whole context, which can take
/// a while for a large one on a busy engine.
const BUILD_ANSWER_TIMEOUT: Duration = Duration::from_secs(600);

/// CFS period used to turn a number of CPUs into a quota for the build containers.
const CPU_PERIOD_MICROS: i32 = 100_000;

impl Engine {
    /// Builds `context` (an uncompressed tar with a `Dockerfile` at its root) with the classic
    /// builder and tags the result `settings.image`; returns the image id (`sha256:...`).
    ///
    /// Intermediate containers are removed whatever happens. Output lines go to `log` as they
    /// arrive; a failing step ends with [`EngineError::BuildFailed`] carrying the engine's
    /// message (also sent to `log`). Dropping the returned future closes the connection, which
    /// makes the engine abandon the build.
    pub async fn build(
        &self,
        settings: &BuildSettings,
        context: Vec<u8>,
        log: &mpsc::Sender<String>,
    ) -> Result<String, EngineError> {
        let labels: HashMap<&str, &str> = settings
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut options = BuildImageOptionsBuilder::default()
            .dockerfile("Dockerfile")
            .t(&settings.image)
            .rm(true)
            .forcerm(true)
            .labels(&labels);
        if settings.pull {
            options = options.pull("1");
        }
        let args: HashMap<&str, &str> = settings
            .args
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if !args.is_empty() {
            options = options.buildargs(&args);
        }
        // The classic builder reuses any local image whose history matches, which on a shared
        // engine means another user's layers (and their cleanup racing this build). Given
        // `cachefrom`, it reuses only the chain of those images: this container's own last
        // build. Without one, nothing is reused.
        match &settings.cache_from {
            Some(image) => options = options.cachefrom(&vec![image.clone()]),
            None => options = options.nocache(true),
        }
        if let Some(cpus) = settings.cpus {
            let quota = (cpus * f64::from(CPU_PERIOD_MICROS)).round();
            options = options
                .cpuperiod(CPU_PERIOD_MICROS)
                .cpuquota(quota.clamp(1.0, f64::from(i32::MAX)) as i32);
        }
        if let Some(network) = &settings.network_mode {
            options = options.networkmode(network);
        }
        let mut docker = self
            .docker()
            .await?
            .clone()
            .with_timeout(BUILD_ANSWER_TIMEOUT);
        if let Some(memory) = settings.memory_bytes {
            // bollard types the build's `memory` as i32, which caps it at 2 GiB; the engine
            // takes any int64, so the parameters are added to the request itself.
            docker = docker.with_request_modifier(move |mut request| {
                if request.uri().path().ends_with("/build") {
                    let uri = request.uri().to_string();
                    let separator = if uri.contains('?') { '&' } else { '?' };
                    let uri = format!("{uri}{separator}memory={memory}&memswap={memory}");
                    if let Ok(uri) = uri.parse() {
                        *request.uri_mut() = uri;
                    }
                }
                request
            });
        }

        let mut stream = docker.build_image(
            options.build(),
            None,
            Some(bollard::body_full(context.into())),
        );
        let mut output = LineBuffer::default();
        let mut image_id = None;
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(text) = info.stream {
                        send_all(log, output.push(text.as_bytes())).await;
                    }
                    if let Some(status) = info.status {
                        // Pull progress of a `FROM` image: its status changes, not its bytes.
                        let progress = info
                            .progress_detail
                            .is_some_and(|p| p.current.is_some() || p.total.is_some());
                        if !progress {
                            let line = match info.id {
                                Some(id) => format!("{id}: {status}"),
                                None => status,
                            };
                            send_all(log, output.flush().into_iter().chain([line])).await;
                        }
                    }
                    // The classic builder's aux is the image id (BuildKit's would be its trace).
                    if let Some(bollard::models::BuildInfoAux::Default(aux)) = info.aux
                        && let Some(id) = aux.id
                    {
                        image_id = Some(id);
                    }
                }
                Err(e) => {
                    send_all(log, output.flush()).await;
                    let error = match e {
                        BollardError::DockerStreamError { error } => {
                            EngineError::BuildFailed(error)
                        }
                        BollardError::DockerResponseServerError { message, .. } => {
                            EngineError::BuildFailed(message)
                        }
                        other => self.error(other),
                    };
                    if let EngineError::BuildFailed(message) = &error {
                        let _ = log.send(message.clone()).await;
                    }
                    return Err(error);
                }
            }
        }
        send_all(log, output.flush()).await;
        match image_id {
            Some(id) => Ok(id),
            None => {
                let image = self.docker().await?.inspect_image(&settings.image).await;
                match image.map_err(|e| self.error(e))?.id {
                    Some(id) => Ok(id),
                    None => Err(EngineError::BuildFailed(
                        "the engine reported no error but produced no image".into(),
                    )),
                }
            }
        }
    }

    /// The labels of a local image (those of its Dockerfile, its base images and the build).
    pub async fn image_labels(&self, image: &str) -> Result<BTreeMap<String, String>, EngineError> {
        let inspect = self
            .docker()
            .await?
            .inspect_image(image)
            .await
            .map_err(|e| match e {
                BollardError::DockerResponseServerError {
                    status_code: 404, ..
                } => EngineError::ImageNotFound(image.to_owned()),
                other => self.error(other),
            })?;
        Ok(inspect
            .config
            .and_then(|config| config.labels)
            .unwrap_or_default()
            .into_iter()
            .collect())
    }
}
