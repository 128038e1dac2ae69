//! A small client of the registry's HTTP API for the portal's own reads, with a token the
//! portal mints for itself: an image's manifest and config (for the event worker), and the
//! place for the catalogue and tag lists reconciliation needs.

mod listing;
mod manifest;

use std::time::Duration;

use axum::body::Bytes;
use bioshadock_core::RepoName;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use sha2::{Digest as _, Sha256};

pub use self::listing::Deletion;
pub use self::manifest::Image;
use self::manifest::{ImageConfig, ImageManifest, Manifest};
use super::MANIFEST_MEDIA_TYPES;

/// Distribution refuses manifests over 4 MiB.
const MAX_MANIFEST: usize = 4 * 1024 * 1024;
/// Image configs are a few kilobytes; a large history still fits.
const MAX_CONFIG: usize = 8 * 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Installs ring as the process's TLS crypto provider, which the HTTP client needs before it
/// is built (reqwest is built without one so aws-lc stays out). Call it first in `main` and
/// in test harnesses; calling it again does nothing.
pub fn install_crypto_provider() {
    // An `Err` means a provider is installed already, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Why a read from the registry failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot build the HTTP client: {0}")]
    Build(#[source] reqwest::Error),
    #[error("registry request failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("{url} answered {status}")]
    Status { url: String, status: StatusCode },
    #[error("{url} is larger than {limit} bytes")]
    TooLarge { url: String, limit: usize },
    #[error("{url} does not match its digest")]
    DigestMismatch { url: String },
    #[error("{url}: {reason}")]
    Malformed { url: String, reason: String },
}

/// The registry at one base URL (`registry.url`).
#[derive(Debug, Clone)]
pub struct RegistryClient {
    http: reqwest::Client,
    base: String,
}

impl RegistryClient {
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .user_agent(concat!("bioshadock/", env!("CARGO_PKG_VERSION")))
            .timeout(TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(ClientError::Build)?;
        Ok(Self {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
        })
    }

    /// The size, platforms and labels of the image at `digest` in `name`: for an index, its
    /// platforms and the linux/amd64 (else first) image's size and labels.
    pub async fn image(
        &self,
        name: &RepoName,
        digest: &str,
        token: &str,
    ) -> Result<Image, ClientError> {
        let (url, manifest) = self.manifest(name, digest, token).await?;
        let (platforms, image, image_url) = match manifest {
            Manifest::Image(image) => (None, image, url),
            Manifest::Index(index) => {
                let child = index.chosen().ok_or_else(|| ClientError::Malformed {
                    url: url.clone(),
                    reason: "the index lists no manifests".into(),
                })?;
                let platforms = index.platforms();
                let (child_url, child) = self.manifest(name, &child.digest, token).await?;
                match child {
                    Manifest::Image(image) => (Some(platforms), image, child_url),
                    Manifest::Index(_) => {
                        return Err(ClientError::Malformed {
                            url: child_url,
                            reason: "an index inside an index".into(),
                        });
                    }
                }
            }
        };
        let config = self.config(name, &image, token).await;
        let config = config.map_err(|e| match e {
            ClientError::Malformed { url, reason } => ClientError::Malformed {
                url,
                reason: format!("config of {image_url}: {reason}"),
            },
            other => other,
        })?;
        Ok(Image::of(&image, &config, platforms))
    }

    async fn manifest(
        &self,
        name: &RepoName,
        reference: &str,
        token: &str,
    ) -> Result<(String, Manifest), ClientError> {
        let url = format!("{}/v2/{name}/manifests/{reference}", self.base);
        let accept = MANIFEST_MEDIA_TYPES.join(", ");
        let (bytes, content_type) = self
            .fetch(&url, Some(&accept), token, MAX_MANIFEST, reference)
            .await?;
        let manifest = Manifest::parse(&bytes, content_type.as_deref()).map_err(|reason| {
            ClientError::Malformed {
                url: url.clone(),
                reason,
            }
        })?;
        Ok((url, manifest))
    }

    /// The manifest `reference` of `name` as stored (checked against a digest reference), with
    /// its media type.
    pub async fn raw_manifest(
        &self,
        name: &RepoName,
        reference: &str,
        token: &str,
    ) -> Result<(Bytes, String), ClientError> {
        let url = format!("{}/v2/{name}/manifests/{reference}", self.base);
        let accept = MANIFEST_MEDIA_TYPES.join(", ");
        let (bytes, content_type) = self
            .fetch(&url, Some(&accept), token, MAX_MANIFEST, reference)
            .await?;
        let media_type = content_type.ok_or_else(|| ClientError::Malformed {
            url,
            reason: "no Content-Type".into(),
        })?;
        Ok((bytes, media_type))
    }

    /// Stores `manifest` under `reference` (a tag) in `name`.
    pub async fn put_manifest(
        &self,
        name: &RepoName,
        reference: &str,
        manifest: Bytes,
        media_type: &str,
        token: &str,
    ) -> Result<(), ClientError> {
        let url = format!("{}/v2/{name}/manifests/{reference}", self.base);
        let response = self
            .http
            .put(&url)
            .bearer_auth(token)
            .header(CONTENT_TYPE, media_type)
            .body(manifest)
            .send()
            .await?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(ClientError::Status { url, status })
        }
    }

    async fn config(
        &self,
        name: &RepoName,
        image: &ImageManifest,
        token: &str,
    ) -> Result<ImageConfig, ClientError> {
        let digest = &image.config.digest;
        let url = format!("{}/v2/{name}/blobs/{digest}", self.base);
        let (bytes, _) = self.fetch(&url, None, token, MAX_CONFIG, digest).await?;
        ImageConfig::parse(&bytes).map_err(|reason| ClientError::Malformed { url, reason })
    }

    /// GETs `url` (following redirects: blobs may live in S3), at most `limit` bytes, and
    /// checks a `sha256:` digest. Also returns the content type.
    async fn fetch(
        &self,
        url: &str,
        accept: Option<&str>,
        token: &str,
        limit: usize,
        digest: &str,
    ) -> Result<(Bytes, Option<String>), ClientError> {
        let mut request = self.http.get(url).bearer_auth(token);
        if let Some(accept) = accept {
            request = request.header(ACCEPT, accept);
        }
        let mut response = request.send().await?;
        let status = response.status();
        if !status.is_success() {
            return Err(ClientError::Status {
                url: url.to_owned(),
                status,
            });
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let too_large = || ClientError::TooLarge {
            url: url.to_owned(),
            limit,
        };
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        if let Some(expected) = digest.strip_prefix("sha256:")
            && format!("{:x}", Sha256::digest(&body)) != expected
        {
            return Err(ClientError::DigestMismatch {
                url: url.to_owned(),
            });
        }
        Ok((Bytes::from(body), content_type))
    }
}
