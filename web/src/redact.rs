//! What a logged request line may show: credentials in a query string (`?apikey=bsk_…`, which
//! the original Bioshadock's hook URLs put there) are replaced before the URI reaches a log
//! at any level.

use std::borrow::Cow;

use axum::http::Uri;

/// Query parameters whose values are secrets (compared case-insensitively).
const SECRET_PARAMETERS: &[&str] = &[
    "apikey",
    "api_key",
    "key",
    "password",
    "token",
    "access_token",
    "refresh_token",
    "private_token",
    "secret",
    "client_secret",
    // An OpenID Connect callback's: single-use, but nothing a log should keep.
    "code",
    "state",
    "code_verifier",
];

/// `uri` with the value of every secret query parameter replaced by `REDACTED`.
pub(crate) fn uri_for_log(uri: &Uri) -> Cow<'_, str> {
    let Some(query) = uri.query() else {
        return Cow::Borrowed(uri.path());
    };
    let parts: Vec<Cow<'_, str>> = query
        .split('&')
        .map(|pair| {
            let (name, _) = pair.split_once('=').unwrap_or((pair, ""));
            if is_secret(name) {
                Cow::Owned(format!("{name}=REDACTED"))
            } else {
                Cow::Borrowed(pair)
            }
        })
        .collect();
    Cow::Owned(format!("{}?{}", uri.path(), parts.join("&")))
}

fn is_secret(name: &str) -> bool {
    // The name may itself be percent-encoded (`api%6Bey`): decode it before comparing.
    let decoded: String = form_urlencoded::parse(name.as_bytes())
        .next()
        .map(|(name, _)| name.into_owned())
        .unwrap_or_default();
    SECRET_PARAMETERS
        .iter()
        .any(|secret| decoded.trim().eq_ignore_ascii_case(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(uri: &str) -> String {
        uri_for_log(&uri.parse().unwrap()).into_owned()
    }

    #[test]
    fn hides_credentials_and_keeps_the_rest() {
        assert_eq!(
            shown("/user?apikey=bsk_0123456789ab_secret&x=1"),
            "/user?apikey=REDACTED&x=1"
        );
        assert_eq!(
            shown("/v2/token?service=r&PASSWORD=hunter2&Token=t&api%6Bey=k"),
            "/v2/token?service=r&PASSWORD=REDACTED&Token=REDACTED&api%6Bey=REDACTED"
        );
        assert_eq!(shown("/container/all"), "/container/all");
        assert_eq!(shown("/search?q=apikey"), "/search?q=apikey");
        assert_eq!(shown("/x?apikey"), "/x?apikey=REDACTED");
    }
}
