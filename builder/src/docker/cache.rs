//! The layer cache: each container's last successful image stays on the engine under
//! `bioshadock-cache/REGISTRY/NAMESPACE/NAME:latest`, and its next build reuses its layers
//! (`cachefrom`). Cache images beyond `builder.cache_mb` go, least recently built first.
//!
//! `REGISTRY` is the registry's host made a path component: two installations sharing an
//! engine (staging and production, say) each keep, reuse and prune only their own.
//!
//! A cache image is only ever a cache source for builds of its own container: the classic
//! builder given `cachefrom` reuses nothing else, and Dockerfiles may not name these images
//! (see `base_images::refuse_local_only`), so a private container's layers serve no one else.

use bollard::query_parameters::{ListImagesOptionsBuilder, RemoveImageOptions};
use chrono::{DateTime, Utc};

use bioshadock_core::RepoName;

use super::{Engine, EngineError};

/// The local repository cache images are kept in: never a registry name.
pub const CACHE_REPOSITORY: &str = bioshadock_core::base_images::CACHE_REPOSITORY;

/// Where the cache images of the installation pushing to `registry_host` are kept.
fn cache_repositories(registry_host: &str) -> String {
    let host: String = registry_host
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let host = host.trim_matches('-');
    let host = if host.is_empty() { "registry" } else { host };
    format!("{CACHE_REPOSITORY}/{host}")
}

/// The cache image of `container`, for the installation pushing to `registry_host`.
pub fn cache_image(registry_host: &str, container: &RepoName) -> String {
    format!("{}/{container}:latest", cache_repositories(registry_host))
}

/// One cache image as the pruning sees it.
#[derive(Debug, Clone)]
struct Kept {
    name: String,
    bytes: u64,
    /// When it was last tagged, that is, when its container last built successfully.
    built_at: DateTime<Utc>,
}

impl Engine {
    /// The id of a local image, `None` if there is none of that name.
    pub async fn image_id(&self, image: &str) -> Result<Option<String>, EngineError> {
        match self.docker().await?.inspect_image(image).await {
            Ok(inspect) => Ok(inspect.id),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(e) => Err(self.error(e)),
        }
    }

    /// When the local image `image` was last tagged (for a cache image: when its container
    /// last built successfully); `None` if there is no such image.
    pub async fn last_tagged(&self, image: &str) -> Result<Option<DateTime<Utc>>, EngineError> {
        match self.docker().await?.inspect_image(image).await {
            Ok(inspect) => Ok(Some(
                inspect
                    .metadata
                    .and_then(|m| m.last_tag_time)
                    .unwrap_or(DateTime::<Utc>::MIN_UTC),
            )),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(e) => Err(self.error(e)),
        }
    }

    /// Removes the cache image `name`, unless something uses it (see [`Self::prune_cache`]).
    pub async fn drop_cache(&self, name: &str) {
        self.remove_unforced(name).await;
    }

    /// Keeps `built` (a local image name) as the cache image `name` (see [`cache_image`]),
    /// replacing the previous one, whose own layers (those `built` did not reuse) go with it.
    pub async fn keep_as_cache(&self, built: &str, name: &str) -> Result<(), EngineError> {
        let previous = self.image_id(name).await?;
        let (repo, tag) = name.rsplit_once(':').unwrap_or((name, "latest"));
        self.tag(built, repo, tag).await?;
        let current = self.image_id(name).await?;
        if let Some(previous) = previous
            && Some(&previous) != current.as_ref()
        {
            // Not forced: an image another build is using right now stays, and goes at the
            // next pruning instead.
            self.remove_unforced(&previous).await;
        }
        Ok(())
    }

    /// Removes cache images, least recently built first, until the rest add up to at most
    /// `max_bytes`. Each image counts its full size (shared base layers count in each), so
    /// the engine holds at most that much for the cache. Returns the names removed.
    pub async fn prune_cache(
        &self,
        registry_host: &str,
        max_bytes: u64,
    ) -> Result<Vec<String>, EngineError> {
        let mut kept = self.cache_images(registry_host).await?;
        kept.sort_by_key(|image| std::cmp::Reverse(image.built_at));
        let mut total = 0u64;
        let mut removed = Vec::new();
        for image in kept {
            total = total.saturating_add(image.bytes);
            if total > max_bytes {
                self.remove_unforced(&image.name).await;
                removed.push(image.name);
            }
        }
        Ok(removed)
    }

    /// Every cache image of the installation pushing to `registry_host`.
    async fn cache_images(&self, registry_host: &str) -> Result<Vec<Kept>, EngineError> {
        let docker = self.docker().await?;
        let repositories = cache_repositories(registry_host);
        let pattern = format!("{repositories}/*/*");
        let filters = std::collections::HashMap::from([("reference", vec![pattern.as_str()])]);
        let listed = docker
            .list_images(Some(
                ListImagesOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(|e| self.error(e))?;
        let mut kept = Vec::new();
        for summary in listed {
            for name in summary
                .repo_tags
                .iter()
                .filter(|t| t.starts_with(&format!("{repositories}/")))
            {
                let built_at = match docker.inspect_image(name).await {
                    Ok(inspect) => inspect.metadata.and_then(|m| m.last_tag_time),
                    Err(_) => continue,
                };
                kept.push(Kept {
                    name: name.clone(),
                    bytes: u64::try_from(summary.size).unwrap_or(0),
                    built_at: built_at.unwrap_or(DateTime::<Utc>::MIN_UTC),
                });
            }
        }
        Ok(kept)
    }

    /// Removes an image with its untagged parents, unless a container or another image uses
    /// it; failures are logged, not returned (the cache is best effort).
    async fn remove_unforced(&self, image: &str) {
        let result = match self.docker().await {
            Ok(docker) => docker
                .remove_image(image, None::<RemoveImageOptions>, None)
                .await
                .map(drop)
                .map_err(|e| self.error_ignoring_gone(e)),
            Err(e) => Err(Some(e)),
        };
        if let Err(Some(e)) = result {
            tracing::info!(image, error = %e, "a cache image stays for now");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_installation_has_its_own_cache_names() {
        let tool = RepoName::parse("alice/tool").unwrap();
        assert_eq!(
            cache_image("127.0.0.1:5000", &tool),
            "bioshadock-cache/127-0-0-1-5000/alice/tool:latest"
        );
        assert_eq!(
            cache_image("Registry.Example.org", &tool),
            "bioshadock-cache/registry-example-org/alice/tool:latest"
        );
        assert_eq!(
            cache_image("[::1]:5000", &tool),
            "bioshadock-cache/1--5000/alice/tool:latest"
        );
        assert_ne!(cache_image("a:1", &tool), cache_image("a:2", &tool));
    }
}
