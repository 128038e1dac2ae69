//! Whether a cookie-authenticated request that changes something came from our own pages.
//!
//! The session cookie is SameSite=Lax, which still sends it on a top-level cross-site
//! navigation and, for body-less `POST`s, lets a page elsewhere trigger an action without any
//! CSRF token in play. So every state-changing request that the session cookie authenticates
//! must prove it came from this site: a browser's `Sec-Fetch-Site: same-origin`, or an
//! `Origin` equal to the portal's, or the session's CSRF token in `X-CSRF-Token` (for
//! clients that send neither header). Form posts also carry the token in their body, which
//! their handlers check.

use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};

/// The header a script may use to present the session's CSRF token.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

/// Methods that never change anything (and so need no proof of origin).
pub(crate) fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// What the browser's own headers say about where the request came from.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Provenance {
    /// `Sec-Fetch-Site: same-origin`, or an `Origin` equal to the portal's.
    SameOrigin,
    /// A header names another site (or `Origin: null`, a sandboxed or privacy-hidden origin).
    CrossSite,
    /// Neither header: not a current browser, or one that hides them.
    Unknown,
}

/// Reads `Sec-Fetch-Site` first (browsers set it and pages cannot), then `Origin`.
pub(crate) fn provenance(headers: &HeaderMap, public_url: &str) -> Provenance {
    if let Some(site) = headers.get("sec-fetch-site") {
        // `none` is a user-initiated navigation (typed URL, bookmark): no other site involved.
        return match site.to_str().map(str::trim) {
            Ok("same-origin" | "none") => Provenance::SameOrigin,
            _ => Provenance::CrossSite,
        };
    }
    match headers.get(axum::http::header::ORIGIN) {
        Some(origin) => match origin.to_str() {
            Ok(origin) if same_as(origin, public_url) || same_as_host(origin, headers) => {
                Provenance::SameOrigin
            }
            _ => Provenance::CrossSite,
        },
        None => Provenance::Unknown,
    }
}

/// Whether `origin` (`scheme://host[:port]`) is the origin of `public_url`.
fn same_as(origin: &str, public_url: &str) -> bool {
    match (reqwest::Url::parse(origin), reqwest::Url::parse(public_url)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin() && a.origin().is_tuple(),
        _ => false,
    }
}

/// Whether `origin` names the host the request was sent to (a portal reached by another
/// name than its public URL, e.g. on loopback). A page elsewhere cannot choose the `Host` of
/// a request its visitor's browser sends to us, so this proves the same origin as well.
fn same_as_host(origin: &str, headers: &HeaderMap) -> bool {
    let Some(host) = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
    else {
        return false;
    };
    let Ok(origin) = reqwest::Url::parse(origin) else {
        return false;
    };
    let Some(origin_host) = origin.host_str() else {
        return false;
    };
    let authority = match origin.port() {
        Some(port) => format!("{origin_host}:{port}"),
        None => origin_host.to_owned(),
    };
    matches!(origin.scheme(), "http" | "https") && authority.eq_ignore_ascii_case(host.trim())
}

/// The `X-CSRF-Token` header of a request, if readable.
pub(crate) fn presented_token(parts: &Parts) -> Option<&str> {
    parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    const PORTAL: &str = "https://portal.example.org";

    #[test]
    fn fetch_metadata_decides_first() {
        let same = headers(&[
            ("sec-fetch-site", "same-origin"),
            ("origin", "https://evil.example"),
        ]);
        assert_eq!(provenance(&same, PORTAL), Provenance::SameOrigin);
        for site in ["cross-site", "same-site", "garbage"] {
            let map = {
                let mut m = HeaderMap::new();
                m.insert("sec-fetch-site", HeaderValue::from_str(site).unwrap());
                m
            };
            assert_eq!(provenance(&map, PORTAL), Provenance::CrossSite, "{site}");
        }
    }

    #[test]
    fn origin_must_be_the_portal_or_the_requested_host() {
        let ours = headers(&[("origin", "https://portal.example.org")]);
        assert_eq!(provenance(&ours, PORTAL), Provenance::SameOrigin);
        let by_host = headers(&[
            ("origin", "http://127.0.0.1:8080"),
            ("host", "127.0.0.1:8080"),
        ]);
        assert_eq!(provenance(&by_host, PORTAL), Provenance::SameOrigin);
        for evil in [
            "https://evil.example",
            "null",
            "https://portal.example.org.evil.example",
            "https://portal.example.org:444",
        ] {
            let mut map = headers(&[("host", "portal.example.org")]);
            map.insert("origin", HeaderValue::from_str(evil).unwrap());
            assert_eq!(provenance(&map, PORTAL), Provenance::CrossSite, "{evil}");
        }
        assert_eq!(provenance(&HeaderMap::new(), PORTAL), Provenance::Unknown);
    }
}
