//! What a request path is to the front: a manifest (which the portal checks and counts), some
//! other registry path (forwarded as it is), or a path the front will not interpret.
//!
//! The front decides from the path as sent, so the path must mean the same thing to the front
//! and to Distribution. Docker, containerd, podman and skopeo never percent-encode registry
//! paths, nor send empty or dot segments (image names and tags cannot hold them), so such paths
//! are refused rather than guessed at: an encoded `manifests%2F1.0` must not slip past the
//! manifest checks to a registry that decodes it.

/// One request path, classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// `/v2/NAME/manifests/REFERENCE`: an image manifest by tag or digest.
    Manifest {
        repository: &'a str,
        reference: &'a str,
    },
    /// Any other path of the registry API (`/v2/`, blobs, uploads, tag lists, the catalogue).
    Registry,
    /// Docker Hub's v1 search (`/v1/search`, `/v1/_ping`), which `docker search HOST/TERM`
    /// asks of the registry host: the portal answers it.
    Search,
    /// Not the registry API: the front serves nothing else.
    Elsewhere,
    /// Percent-encoded, or holding empty or dot segments.
    Unclear,
}

/// Classifies `path` (without the query).
pub fn route(path: &str) -> Route<'_> {
    if path == "/v1/search" || path == "/v1/_ping" {
        return Route::Search;
    }
    let Some(rest) = path.strip_prefix("/v2") else {
        return Route::Elsewhere;
    };
    if rest.is_empty() || rest == "/" {
        return Route::Registry;
    }
    let Some(rest) = rest.strip_prefix('/') else {
        return Route::Elsewhere;
    };
    // A trailing slash is the registry's own (`/blobs/uploads/`); other empty segments are not.
    let segments = rest.strip_suffix('/').unwrap_or(rest);
    if path.contains('%')
        || segments
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Route::Unclear;
    }
    // The reference has no slash, so the last `/manifests/` separates it from the name (a
    // repository may itself be called `manifests`).
    match rest.rsplit_once("/manifests/") {
        Some((repository, reference)) if !reference.is_empty() && !reference.contains('/') => {
            Route::Manifest {
                repository,
                reference,
            }
        }
        // No reference: the registry answers it (404) as it would without the front.
        _ => Route::Registry,
    }
}

/// The manifest media types that list other manifests (one per platform): pulling one is
/// followed by a pull of the chosen platform's manifest, which is the one counted.
pub const INDEX_MEDIA_TYPES: [&str; 2] = [
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
];

/// Whether a `Content-Type` value names an index (parameters ignored).
pub fn is_index(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    INDEX_MEDIA_TYPES
        .iter()
        .any(|t| essence.eq_ignore_ascii_case(t))
}

/// A reference that is a digest (`algorithm:hex`) rather than a tag: tags cannot hold `:`.
pub fn is_digest(reference: &str) -> bool {
    reference.contains(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_are_told_from_other_registry_paths() {
        assert_eq!(
            route("/v2/genomics-core/samtools/manifests/1.0"),
            Route::Manifest {
                repository: "genomics-core/samtools",
                reference: "1.0"
            }
        );
        assert_eq!(
            route("/v2/a/manifests/manifests/sha256:ab"),
            Route::Manifest {
                repository: "a/manifests",
                reference: "sha256:ab"
            }
        );
        assert_eq!(route("/v2/"), Route::Registry);
        assert_eq!(route("/v2"), Route::Registry);
        assert_eq!(route("/v2/_catalog"), Route::Registry);
        assert_eq!(route("/v2/a/b/blobs/uploads/"), Route::Registry);
        assert_eq!(route("/v2/a/b/tags/list"), Route::Registry);
        assert_eq!(route("/v2/a/b/manifests/"), Route::Registry);
        assert_eq!(route("/"), Route::Elsewhere);
        assert_eq!(route("/v2x/a"), Route::Elsewhere);
        assert_eq!(route("/container/all"), Route::Elsewhere);
        assert_eq!(route("/v1/search"), Route::Search);
        assert_eq!(route("/v1/_ping"), Route::Search);
        assert_eq!(route("/v1/users"), Route::Elsewhere);
    }

    #[test]
    fn paths_that_could_mean_two_things_are_refused() {
        for path in [
            "/v2/a/b/manifests%2F1.0",
            "/v2/a/b/manifests/1%2e0",
            "/v2/a//b/manifests/1.0",
            "/v2/a/./b/manifests/1.0",
            "/v2/a/b/../c/manifests/1.0",
            "/v2//a/b/manifests/1.0",
        ] {
            assert_eq!(route(path), Route::Unclear, "{path}");
        }
    }

    #[test]
    fn indexes_are_recognised_by_their_media_type() {
        assert!(is_index("application/vnd.oci.image.index.v1+json"));
        assert!(is_index(
            "application/vnd.docker.distribution.manifest.list.v2+json; charset=utf-8"
        ));
        assert!(!is_index("application/vnd.oci.image.manifest.v1+json"));
        assert!(!is_index(""));
        assert!(is_digest("sha256:0123"));
        assert!(!is_digest("1.0"));
    }
}
