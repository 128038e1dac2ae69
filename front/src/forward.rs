//! Rewriting a request for the registry behind the front, and its answer for the client, as a
//! proxy must (RFC 9110 §7.6): hop-by-hop headers stay on their hop, everything else passes
//! untouched. The `Host` header is kept, so Distribution writes the `Location` of an upload or
//! a blob for the host the client used (the front), not for its own private address.

use std::net::SocketAddr;

use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::http::uri::{Authority, PathAndQuery, Scheme};
use hyper::{Request, Response, Uri};

/// Headers that belong to one connection (RFC 9110 §7.6.1), never forwarded.
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::UPGRADE,
];

/// Where the registry is: `http://host:port` (the front speaks plain HTTP to a registry on a
/// private address; TLS, if any, ends before the front).
#[derive(Debug, Clone)]
pub struct Upstream {
    authority: Authority,
}

impl Upstream {
    /// From `registry.url`; only `http://host:port` (with an optional trailing slash).
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            format!(
                "the front forwards to a registry over plain HTTP on a private address; \
                 `{url}` is not an http:// URL"
            )
        })?;
        let authority = rest.trim_end_matches('/');
        if authority.contains('/') || authority.is_empty() {
            return Err(format!("`{url}` must be http://HOST:PORT, without a path"));
        }
        let authority = authority
            .parse::<Authority>()
            .map_err(|e| format!("`{url}`: {e}"))?;
        Ok(Self { authority })
    }

    pub fn authority(&self) -> &str {
        self.authority.as_str()
    }

    fn uri(&self, path_and_query: Option<&PathAndQuery>) -> Uri {
        let mut parts = hyper::http::uri::Parts::default();
        parts.scheme = Some(Scheme::HTTP);
        parts.authority = Some(self.authority.clone());
        parts.path_and_query = Some(
            path_and_query
                .cloned()
                .unwrap_or_else(|| PathAndQuery::from_static("/")),
        );
        // Scheme, authority and a path taken from a valid URI: always a valid URI.
        Uri::from_parts(parts).unwrap_or_default()
    }
}

/// The request to send to the registry: same method, path, query, headers (less hop-by-hop)
/// and body; the client's address appended to `X-Forwarded-For`, which Distribution reports as
/// the request's address in its notifications.
pub fn to_upstream<B>(request: Request<B>, upstream: &Upstream, client: SocketAddr) -> Request<B> {
    let (mut parts, body) = request.into_parts();
    parts.uri = upstream.uri(parts.uri.path_and_query());
    strip_hop_by_hop(&mut parts.headers);
    let forwarded = match parts
        .headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
    {
        Some(earlier) => format!("{earlier}, {}", client.ip()),
        None => client.ip().to_string(),
    };
    if let Ok(value) = HeaderValue::from_str(&forwarded) {
        parts.headers.insert("x-forwarded-for", value);
    }
    parts.version = hyper::Version::HTTP_11;
    Request::from_parts(parts, body)
}

/// The registry's answer for the client: the same, less hop-by-hop headers.
pub fn to_client<B>(response: Response<B>) -> Response<B> {
    let (mut parts, body) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    Response::from_parts(parts, body)
}

/// Removes the hop-by-hop headers and those the `Connection` header names. `Transfer-Encoding`
/// is left to hyper, which decodes chunked bodies on the way in and encodes them again on the
/// way out when there is no `Content-Length`.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(name);
    }
    headers.remove(header::TRANSFER_ENCODING);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_registries_without_a_path_are_fronted() {
        assert_eq!(
            Upstream::parse("http://127.0.0.1:5001/")
                .unwrap()
                .authority(),
            "127.0.0.1:5001"
        );
        assert!(Upstream::parse("https://registry:5000").is_err());
        assert!(Upstream::parse("http://registry:5000/v2").is_err());
        assert!(Upstream::parse("http://").is_err());
    }

    #[test]
    fn requests_keep_their_headers_but_not_those_of_the_hop() {
        let request = Request::builder()
            .method("PATCH")
            .uri("/v2/a/b/blobs/uploads/u?_state=x")
            .header("host", "front:5000")
            .header("connection", "keep-alive, x-private")
            .header("x-private", "1")
            .header("keep-alive", "timeout=5")
            .header("content-range", "0-99")
            .header("authorization", "Bearer t")
            .header("x-forwarded-for", "10.0.0.1")
            .body(())
            .unwrap();
        let upstream = Upstream::parse("http://127.0.0.1:5001").unwrap();
        let out = to_upstream(request, &upstream, "192.0.2.7:40000".parse().unwrap());
        assert_eq!(
            out.uri().to_string(),
            "http://127.0.0.1:5001/v2/a/b/blobs/uploads/u?_state=x"
        );
        let headers = out.headers();
        assert_eq!(headers["host"], "front:5000");
        assert_eq!(headers["content-range"], "0-99");
        assert_eq!(headers["authorization"], "Bearer t");
        assert_eq!(headers["x-forwarded-for"], "10.0.0.1, 192.0.2.7");
        for gone in ["connection", "x-private", "keep-alive"] {
            assert!(!headers.contains_key(gone), "{gone}");
        }
    }
}
