//! The registry calls reconciliation and deletion need: list repositories and tags (paginated
//! through `n` and the `Link` header), resolve a tag to its digest, delete a manifest.

use bioshadock_core::RepoName;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, LINK};
use serde::Deserialize;

use super::{ClientError, RegistryClient};
use crate::registry::MANIFEST_MEDIA_TYPES;

/// Entries asked for per page of `_catalog` or `tags/list`.
const PAGE: usize = 500;
/// A registry that keeps sending `Link` headers past this many pages is looping.
const MAX_PAGES: usize = 10_000;

/// What a `DELETE /v2/NAME/manifests/REFERENCE` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletion {
    Deleted,
    /// The registry does not know it (already gone).
    Absent,
    /// The registry does not delete by this kind of reference (Distribution 2.x and tags),
    /// or deletion is disabled in its configuration.
    Unsupported,
}

#[derive(Deserialize)]
struct CatalogPage {
    #[serde(default)]
    repositories: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct TagsPage {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

impl RegistryClient {
    /// Every repository name in `/v2/_catalog` (token: `registry:catalog:*`).
    pub async fn catalog(&self, token: &str) -> Result<Vec<String>, ClientError> {
        let first = format!("{}/v2/_catalog?n={PAGE}", self.base);
        let mut out = Vec::new();
        self.paginate(first, token, |body, url| {
            let page: CatalogPage = parse(body, url)?;
            out.extend(page.repositories.unwrap_or_default());
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// The tags of `name`; a repository the registry does not know has none.
    pub async fn tags(&self, name: &RepoName, token: &str) -> Result<Vec<String>, ClientError> {
        let first = format!("{}/v2/{name}/tags/list?n={PAGE}", self.base);
        let mut out = Vec::new();
        let result = self
            .paginate(first, token, |body, url| {
                let page: TagsPage = parse(body, url)?;
                out.extend(page.tags.unwrap_or_default());
                Ok(())
            })
            .await;
        match result {
            Ok(()) => Ok(out),
            Err(ClientError::Status {
                status: StatusCode::NOT_FOUND,
                ..
            }) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// The digest `reference` resolves to (`HEAD`, `Docker-Content-Digest`); `None` if unknown.
    pub async fn digest(
        &self,
        name: &RepoName,
        reference: &str,
        token: &str,
    ) -> Result<Option<String>, ClientError> {
        let url = format!("{}/v2/{name}/manifests/{reference}", self.base);
        let response = self
            .http
            .head(&url)
            .bearer_auth(token)
            .header(ACCEPT, MANIFEST_MEDIA_TYPES.join(", "))
            .send()
            .await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(None),
            status if status.is_success() => response
                .headers()
                .get("docker-content-digest")
                .and_then(|v| v.to_str().ok())
                .map(|v| Some(v.to_owned()))
                .ok_or_else(|| ClientError::Malformed {
                    url,
                    reason: "no Docker-Content-Digest header".into(),
                }),
            status => Err(ClientError::Status { url, status }),
        }
    }

    /// Deletes the manifest `reference` (a digest, or a tag where the registry allows it).
    pub async fn delete_manifest(
        &self,
        name: &RepoName,
        reference: &str,
        token: &str,
    ) -> Result<Deletion, ClientError> {
        let url = format!("{}/v2/{name}/manifests/{reference}", self.base);
        let response = self.http.delete(&url).bearer_auth(token).send().await?;
        let status = response.status();
        if status.is_success() {
            return Ok(Deletion::Deleted);
        }
        let body = response.text().await.unwrap_or_default();
        if body.contains("UNSUPPORTED") {
            return Ok(Deletion::Unsupported);
        }
        match status {
            StatusCode::METHOD_NOT_ALLOWED | StatusCode::BAD_REQUEST => Ok(Deletion::Unsupported),
            StatusCode::NOT_FOUND => Ok(Deletion::Absent),
            status => Err(ClientError::Status { url, status }),
        }
    }

    /// GETs `first` and every page its `Link: <...>; rel="next"` headers lead to.
    async fn paginate(
        &self,
        first: String,
        token: &str,
        mut each: impl FnMut(&[u8], &str) -> Result<(), ClientError>,
    ) -> Result<(), ClientError> {
        let mut next = Some(first);
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(ClientError::Malformed {
                    url,
                    reason: "too many pages".into(),
                });
            }
            let response = self.http.get(&url).bearer_auth(token).send().await?;
            let status = response.status();
            if !status.is_success() {
                return Err(ClientError::Status { url, status });
            }
            next = response
                .headers()
                .get(LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(next_link)
                .map(|link| self.absolute(link));
            let body = response.bytes().await?;
            each(&body, &url)?;
        }
        Ok(())
    }

    /// Links are usually relative to the registry (`</v2/_catalog?last=x&n=500>`).
    fn absolute(&self, link: &str) -> String {
        if link.starts_with("http://") || link.starts_with("https://") {
            link.to_owned()
        } else {
            format!("{}{link}", self.base)
        }
    }
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8], url: &str) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|e| ClientError::Malformed {
        url: url.to_owned(),
        reason: e.to_string(),
    })
}

/// The target of the `rel="next"` link in a `Link` header.
fn next_link(header: &str) -> Option<&str> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            })
            .then(|| target.trim().trim_start_matches('<').trim_end_matches('>'))
    })
}

#[cfg(test)]
mod tests {
    use super::next_link;

    #[test]
    fn finds_the_next_link() {
        assert_eq!(
            next_link(r#"</v2/_catalog?last=b&n=2>; rel="next""#),
            Some("/v2/_catalog?last=b&n=2")
        );
        assert_eq!(next_link(r#"<http://x/a>; rel="prev""#), None);
    }
}
