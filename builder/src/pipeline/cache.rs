//! The build's arguments and its layer cache: which earlier image it may reuse, and keeping
//! its own image for the next build of the container.

use std::collections::BTreeMap;

use bioshadock_core::build_settings::substitute;
use bioshadock_core::ports::builds::Build;

use super::{Pipeline, say};
use crate::docker::cache_image;
use crate::log_sink::LogSender;

impl Pipeline {
    /// Whether builds keep their image as the next build's cache at all.
    fn caching(&self) -> bool {
        !self.settings.no_cache && self.settings.cache_bytes > 0
    }

    /// The image whose layers this build may reuse: its container's last successful build,
    /// unless the build, or the builder, asks for a cold build.
    pub(super) async fn cache_source(&self, build: &Build, log: &LogSender) -> Option<String> {
        if !self.caching() {
            say(log, "building without cache (builder.no_cache)".to_owned()).await;
            return None;
        }
        if build.options.no_cache {
            say(log, "building without cache, as asked".to_owned()).await;
            return None;
        }
        let image = cache_image(&self.settings.registry_host, &build.container);
        match self.engine.last_tagged(&image).await {
            Ok(Some(kept_at)) if self.of_an_earlier_container(build, kept_at).await => {
                // A container deleted and created again under the same name: what the old one
                // built is not the new one's to reuse.
                self.engine.drop_cache(&image).await;
                say(
                    log,
                    "the cached image is older than this container (one of the same name was \
                     deleted): not used, every step runs"
                        .to_owned(),
                )
                .await;
                None
            }
            Ok(Some(_)) => {
                say(
                    log,
                    "reusing the layers of this container's last successful build where the \
                     steps are unchanged"
                        .to_owned(),
                )
                .await;
                Some(image)
            }
            Ok(None) => {
                say(
                    log,
                    "no earlier build of this container on this engine: every step runs".to_owned(),
                )
                .await;
                None
            }
            Err(e) => {
                tracing::warn!(build = build.id, error = %e, "cannot look for the cache image");
                None
            }
        }
    }

    /// Whether a cache image kept at `kept_at` predates the container `build` is for: then it
    /// is an earlier container's of the same name. (The container's creation is the portal's
    /// clock, the tag time the engine's; a deletion and re-creation within their skew of a
    /// build is not told apart.)
    async fn of_an_earlier_container(
        &self,
        build: &Build,
        kept_at: chrono::DateTime<chrono::Utc>,
    ) -> bool {
        match self.containers.get(&build.container).await {
            Ok(container) => kept_at < container.created_at,
            Err(e) => {
                tracing::warn!(build = build.id, error = %e, "cannot read the container");
                // Not knowing, the cache is not trusted.
                true
            }
        }
    }

    /// Keeps the image just pushed as its container's cache and prunes the cache to
    /// `builder.cache_mb`. Best effort: the build has succeeded whatever happens here.
    pub(super) async fn keep_cache(&self, build: &Build, local: &str) {
        if !self.caching() {
            return;
        }
        let name = cache_image(&self.settings.registry_host, &build.container);
        if let Err(e) = self.engine.keep_as_cache(local, &name).await {
            tracing::warn!(build = build.id, error = %e, "cannot keep the image as cache");
            return;
        }
        let registry = &self.settings.registry_host;
        match self
            .engine
            .prune_cache(registry, self.settings.cache_bytes)
            .await
        {
            Ok(removed) if !removed.is_empty() => {
                tracing::info!(
                    removed = removed.len(),
                    "cache images pruned to builder.cache_mb"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot prune the build cache"),
        }
    }

    /// The build's arguments with `{sha}` filled in once the commit is known (`{tag}` was
    /// filled in when the build was queued), recorded on the build and in its log (arguments are not secret: they are in the image's history).
    pub(super) async fn record_args(
        &self,
        build: &Build,
        revision: Option<&str>,
        log: &LogSender,
    ) -> BTreeMap<String, String> {
        let args: BTreeMap<String, String> = build
            .options
            .args
            .iter()
            .map(|(name, value)| {
                (
                    name.clone(),
                    substitute(value, build.tag.as_str(), revision),
                )
            })
            .collect();
        if args.is_empty() {
            return args;
        }
        if args != build.options.args
            && let Err(e) = self.store.set_args(build.id, &args).await
        {
            tracing::warn!(build = build.id, error = %e, "cannot record the build arguments");
        }
        let listed: Vec<String> = args.iter().map(|(k, v)| format!("{k}={v}")).collect();
        say(log, format!("build arguments: {}", listed.join(" "))).await;
        args
    }
}
