//! Pulling a base image with the build requester's registry token, and tagging for the push.

use bollard::errors::Error as BollardError;
use bollard::query_parameters::{CreateImageOptions, TagImageOptions};
use futures::StreamExt;
use tokio::sync::mpsc;

use super::{Engine, EngineError};

impl Engine {
    /// Pulls `repository` (with its registry host) at `tag_or_digest` presenting
    /// `registry_token`; returns the pinned reference `repository@sha256:…` of what was pulled.
    /// A refusal (no right to pull, no such image) is [`EngineError::PullFailed`].
    pub async fn pull_pinned(
        &self,
        repository: &str,
        tag_or_digest: &str,
        registry_token: &str,
        log: &mpsc::Sender<String>,
    ) -> Result<String, EngineError> {
        let docker = self.docker().await?;
        let credentials = super::registry_token_credentials(registry_token);
        let options = CreateImageOptions {
            from_image: Some(repository.to_owned()),
            tag: Some(tag_or_digest.to_owned()),
            ..Default::default()
        };
        let mut stream = docker.create_image(Some(options), None, Some(credentials));
        let mut digest = tag_or_digest
            .starts_with("sha256:")
            .then(|| tag_or_digest.to_owned());
        while let Some(item) = stream.next().await {
            let info = match item {
                Ok(info) => info,
                Err(BollardError::DockerStreamError { error })
                | Err(BollardError::DockerResponseServerError { message: error, .. }) => {
                    return Err(EngineError::PullFailed(error));
                }
                Err(other) => return Err(self.error(other)),
            };
            let Some(status) = info.status else { continue };
            if let Some(found) = status.strip_prefix("Digest: ") {
                digest = Some(found.trim().to_owned());
            } else if status.starts_with("Status: ") {
                let _ = log.send(status).await;
            }
        }
        match digest {
            Some(digest) => Ok(format!("{repository}@{digest}")),
            None => Err(EngineError::PullFailed(
                "the engine did not report the digest of the pulled image".into(),
            )),
        }
    }

    /// Tags the local image `image` as `repository:tag`.
    pub async fn tag(&self, image: &str, repository: &str, tag: &str) -> Result<(), EngineError> {
        let options = TagImageOptions {
            repo: Some(repository.to_owned()),
            tag: Some(tag.to_owned()),
        };
        self.docker()
            .await?
            .tag_image(image, Some(options))
            .await
            .map_err(|e| self.error(e))
    }
}
