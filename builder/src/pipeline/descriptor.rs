//! The workflow descriptor a container names (`Container::descriptor`), fetched with the
//! source at build time and recorded with the build, so that GA4GH TRS serves exactly the
//! descriptor each version was built with.
//!
//! A path is read from the checkout like the Dockerfile: a regular UTF-8 file inside the
//! repository (a link out of it is refused), at most [`MAX_DESCRIPTOR_BYTES`]. A URL is fetched
//! with no redirects, a time limit and the same size bound; unless
//! `builder.descriptor_private_urls` allows it, a host that resolves to a loopback, private,
//! link-local or otherwise non-public address is refused, and the connection goes to the
//! address that was checked (a second DNS answer cannot swap it). A descriptor that cannot be
//! had is said in the build log and the build goes on without it: the image is still good.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bioshadock_core::descriptor::{DescriptorSource, MAX_DESCRIPTOR_BYTES};
use bioshadock_core::ports::builds::{Build, BuiltDescriptor};

use super::{Pipeline, say};
use crate::context;
use crate::log_sink::LogSender;

/// How long fetching a descriptor URL may take, connection and body together.
const FETCH_TIMEOUT: Duration = Duration::from_secs(15);

impl Pipeline {
    /// Records the container's descriptor for `build`; `checkout` is the git source's clone
    /// (none for a pasted Dockerfile, which can only name a URL).
    pub(super) async fn record_descriptor(
        &self,
        build: &Build,
        checkout: Option<&Path>,
        log: &LogSender,
    ) {
        let named = match self.containers.get(&build.container).await {
            Ok(c) => c.descriptor,
            Err(e) => {
                tracing::warn!(build = build.id, error = %e, "cannot read the container's descriptor");
                None
            }
        };
        let Some(raw) = named else { return };
        let source = match DescriptorSource::parse(&raw) {
            Ok(source) => source,
            Err(e) => return say(log, format!("descriptor skipped: {e}")).await,
        };
        let Some(kind) = source.kind() else { return };
        let text = match &source {
            DescriptorSource::Path(path) => match checkout {
                Some(checkout) => {
                    read_path(checkout.to_owned(), path.clone(), &self.blocking).await
                }
                None => Err("a descriptor path needs a git source; give a URL instead".to_owned()),
            },
            DescriptorSource::Url(url) => {
                fetch_url(url, self.settings.descriptor_private_urls).await
            }
        };
        let text = match text {
            Ok(text) => text,
            Err(e) => {
                return say(
                    log,
                    format!("the {kind} descriptor {raw} was not recorded: {e}"),
                )
                .await;
            }
        };
        let bytes = text.len();
        let recorded = BuiltDescriptor {
            kind: kind.as_str().to_owned(),
            origin: source.origin().to_owned(),
            text,
        };
        match self.store.set_descriptor(build.id, &recorded).await {
            Ok(()) => {
                say(
                    log,
                    format!("recorded the {kind} descriptor {raw} ({bytes} bytes)"),
                )
                .await
            }
            Err(e) => tracing::warn!(build = build.id, error = %e, "cannot record the descriptor"),
        }
    }
}

/// The file at `path` in the checkout, as text.
async fn read_path(
    checkout: std::path::PathBuf,
    path: String,
    blocking: &tokio_util::task::TaskTracker,
) -> Result<String, String> {
    let shown = path.clone();
    let bytes = blocking
        .spawn_blocking(move || {
            context::read_regular_file(&checkout, &path, MAX_DESCRIPTOR_BYTES as u64)
        })
        .await
        .map_err(|e| format!("reading it failed: {e}"))?
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("`{shown}` is not in the repository"))?;
    String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_owned())
}

/// The document at `url`, as text, within the bounds above.
pub(crate) async fn fetch_url(url: &str, private_allowed: bool) -> Result<String, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    let host = parsed
        .host_str()
        .ok_or_else(|| "the URL has no host".to_owned())?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = parsed
        .port_or_known_default()
        .ok_or_else(|| "the URL has no port".to_owned())?;
    let addresses: Vec<SocketAddr> = tokio::time::timeout(
        FETCH_TIMEOUT,
        tokio::net::lookup_host((host.as_str(), port)),
    )
    .await
    .map_err(|_| format!("resolving {host} took too long"))?
    .map_err(|e| format!("cannot resolve {host}: {e}"))?
    .collect();
    let address = *addresses
        .first()
        .ok_or_else(|| format!("{host} has no address"))?;
    if !private_allowed
        && let Some(private) = addresses
            .iter()
            .find(|a| !bioshadock_core::net::is_public(a.ip()))
    {
        return Err(format!(
            "{host} resolves to {}, a non-public address (builder.descriptor_private_urls)",
            private.ip()
        ));
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(FETCH_TIMEOUT)
        .resolve(&host, address)
        .build()
        .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
    let mut response = client
        .get(parsed)
        .send()
        .await
        .map_err(|e| format!("fetching it failed: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("the server answered {}", response.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("reading it failed: {e}"))?
    {
        if body.len() + chunk.len() > MAX_DESCRIPTOR_BYTES {
            return Err(format!(
                "it is larger than {} KiB",
                MAX_DESCRIPTOR_BYTES / 1024
            ));
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|_| "it is not UTF-8 text".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_url_on_the_builders_own_network_is_refused() {
        let refused = fetch_url("http://127.0.0.1:9/tool.cwl", false)
            .await
            .unwrap_err();
        assert!(refused.contains("non-public address"), "{refused}");
        let refused = fetch_url("http://localhost:9/tool.cwl", false)
            .await
            .unwrap_err();
        assert!(refused.contains("non-public address"), "{refused}");
    }
}
