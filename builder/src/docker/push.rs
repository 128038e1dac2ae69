//! Pushing an image to the registry, and removing local images.

use bollard::errors::Error as BollardError;
use bollard::query_parameters::{PushImageOptions, RemoveImageOptions};
use futures::StreamExt;
use tokio::sync::mpsc;

use super::{Engine, EngineError};

impl Engine {
    /// Pushes `image:tag` (`image` is the repository with its registry, without tag) with
    /// `registry_token` as the bearer token the engine presents to the registry; returns the
    /// digest of the pushed manifest (`sha256:...`). `log` gets the status changes (a layer
    /// pushed, already present, mounted), not the byte progress. The token is never logged.
    pub async fn push(
        &self,
        image: &str,
        tag: &str,
        registry_token: &str,
        log: &mpsc::Sender<String>,
    ) -> Result<String, EngineError> {
        let docker = self.docker().await?;
        let credentials = super::registry_token_credentials(registry_token);
        let options = PushImageOptions {
            tag: Some(tag.to_owned()),
            ..Default::default()
        };
        let mut stream = docker.push_image(image, Some(options), Some(credentials));
        let mut digest = None;
        while let Some(item) = stream.next().await {
            let info = match item {
                Ok(info) => info,
                Err(BollardError::DockerStreamError { error })
                | Err(BollardError::DockerResponseServerError { message: error, .. }) => {
                    let _ = log.send(format!("Push failed: {error}")).await;
                    return Err(EngineError::PushFailed(error));
                }
                Err(other) => return Err(self.error(other)),
            };
            let Some(status) = info.status else { continue };
            if let Some(found) = manifest_digest(&status) {
                digest = Some(found);
            }
            // Per-layer chatter before and during the upload; the outcome lines are kept.
            if matches!(status.as_str(), "Preparing" | "Waiting" | "Pushing")
                || status.starts_with("Retrying in ")
            {
                continue;
            }
            let _ = log.send(status).await;
        }
        digest.ok_or_else(|| {
            EngineError::PushFailed(
                "the engine did not report the digest of the pushed manifest".into(),
            )
        })
    }

    /// Removes a local image (forcefully: other tags of it stay, containers do not hold it).
    /// A missing image is not an error; other failures are only logged (cleanup path).
    ///
    /// Its untagged parents go with it. No other build is using them: builds reuse layers
    /// only from their own container's cache image (see [`super::cache`]), whose chain is
    /// tagged and so kept.
    pub async fn remove_image(&self, image: &str) {
        let options = RemoveImageOptions {
            force: true,
            ..Default::default()
        };
        let result = match self.docker().await {
            Ok(docker) => docker
                .remove_image(image, Some(options), None)
                .await
                .map(drop)
                .map_err(|e| self.error_ignoring_gone(e)),
            Err(e) => Err(Some(e)),
        };
        if let Err(Some(e)) = result {
            tracing::warn!(image, error = %e, "could not remove an image");
        }
    }
}

/// The digest in the engine's final push status, `TAG: digest: sha256:HEX size: N`.
fn manifest_digest(status: &str) -> Option<String> {
    let after = status.split("digest: ").nth(1)?;
    let digest = after.split_whitespace().next()?;
    digest.starts_with("sha256:").then(|| digest.to_owned())
}
