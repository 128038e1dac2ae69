//! Checking that a hook delivery comes from who holds the trigger's secret, as each provider
//! signs: an HMAC-SHA256 of the raw body (GitHub, Gitea, the generic form) or the secret itself
//! in a header (GitLab). Comparisons take constant time.

use subtle::ConstantTimeEq;

use super::Provider;

/// GitHub: `sha256=` and the hex HMAC.
pub const GITHUB_HEADER: &str = "x-hub-signature-256";
/// GitLab: the secret as is.
pub const GITLAB_HEADER: &str = "x-gitlab-token";
/// Gitea: the hex HMAC.
pub const GITEA_HEADER: &str = "x-gitea-signature";
/// Forgejo sends this beside Gitea's (the same value).
pub const FORGEJO_HEADER: &str = "x-forgejo-signature";
/// The generic form: `sha256=` and the hex HMAC, as GitHub.
pub const GENERIC_HEADER: &str = "bioshadock-signature-256";

/// Why a delivery is not believed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the {0} header is missing")]
    Missing(&'static str),
    #[error("the {0} header does not match the trigger's secret")]
    Mismatch(&'static str),
}

/// Checks the delivery's signature; `header` returns a request header by lower-case name.
pub fn verify<'h>(
    provider: Provider,
    secret: &str,
    header: impl Fn(&str) -> Option<&'h str>,
    body: &[u8],
) -> Result<(), SignatureError> {
    match provider {
        Provider::Github => hmac_with_prefix(GITHUB_HEADER, header(GITHUB_HEADER), secret, body),
        Provider::Generic => hmac_with_prefix(GENERIC_HEADER, header(GENERIC_HEADER), secret, body),
        Provider::Gitea => {
            let given = header(GITEA_HEADER).or_else(|| header(FORGEJO_HEADER));
            let given = given.ok_or(SignatureError::Missing(GITEA_HEADER))?;
            hmac_hex(GITEA_HEADER, given, secret, body)
        }
        Provider::Gitlab => {
            let given = header(GITLAB_HEADER).ok_or(SignatureError::Missing(GITLAB_HEADER))?;
            if bool::from(given.as_bytes().ct_eq(secret.as_bytes())) {
                Ok(())
            } else {
                Err(SignatureError::Mismatch(GITLAB_HEADER))
            }
        }
    }
}

fn hmac_with_prefix(
    name: &'static str,
    given: Option<&str>,
    secret: &str,
    body: &[u8],
) -> Result<(), SignatureError> {
    let given = given.ok_or(SignatureError::Missing(name))?;
    let hex = given
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Mismatch(name))?;
    hmac_hex(name, hex, secret, body)
}

fn hmac_hex(
    name: &'static str,
    given_hex: &str,
    secret: &str,
    body: &[u8],
) -> Result<(), SignatureError> {
    let given = hex::decode(given_hex.trim()).map_err(|_| SignatureError::Mismatch(name))?;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    ring::hmac::verify(&key, body, &given).map_err(|_| SignatureError::Mismatch(name))
}

/// The hex HMAC-SHA256 of `body` under `secret`, as GitHub, Gitea and the generic form send it
/// (GitHub and the generic form with `sha256=` before it).
pub fn hmac_hex_of(secret: &str, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    hex::encode(ring::hmac::sign(&key, body).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = include_bytes!("fixtures/github_push.json");
    const SECRET: &str = "trigger secret";

    fn headers<'a>(pairs: &'a [(&'static str, String)]) -> impl Fn(&str) -> Option<&'a str> {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        }
    }

    #[test]
    fn each_provider_is_believed_with_the_secret_and_only_with_it() {
        let hmac = hmac_hex_of(SECRET, BODY);
        let cases = [
            (Provider::Github, GITHUB_HEADER, format!("sha256={hmac}")),
            (Provider::Generic, GENERIC_HEADER, format!("sha256={hmac}")),
            (Provider::Gitea, GITEA_HEADER, hmac.clone()),
            (Provider::Gitea, FORGEJO_HEADER, hmac.clone()),
            (Provider::Gitlab, GITLAB_HEADER, SECRET.to_owned()),
        ];
        for (provider, name, value) in cases {
            let good = [(name, value.clone())];
            assert_eq!(
                verify(provider, SECRET, headers(&good), BODY),
                Ok(()),
                "{name}"
            );
            // Another secret, another body, no header, a mangled value: refused.
            assert!(verify(provider, "other secret", headers(&good), BODY).is_err());
            if provider != Provider::Gitlab {
                assert!(verify(provider, SECRET, headers(&good), b"{}").is_err());
            }
            assert!(verify(provider, SECRET, headers(&[]), BODY).is_err());
            let mangled = [(name, format!("{value}0"))];
            assert!(verify(provider, SECRET, headers(&mangled), BODY).is_err());
        }
        // GitHub's value needs its prefix.
        let bare = [(GITHUB_HEADER, hmac.clone())];
        assert_eq!(
            verify(Provider::Github, SECRET, headers(&bare), BODY),
            Err(SignatureError::Mismatch(GITHUB_HEADER))
        );
        assert_eq!(
            verify(Provider::Gitlab, SECRET, headers(&[]), BODY),
            Err(SignatureError::Missing(GITLAB_HEADER))
        );
    }
}
