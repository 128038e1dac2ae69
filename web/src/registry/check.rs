//! The registry self-check, shared by `bioshadock registry-check` and the admin page: mint a
//! token, call the registry with it, and say in plain words what is misconfigured. Issuer,
//! service, certificate and clock mismatches are the usual reasons a token server "does not
//! work"; the registry itself only answers "authentication required".

use std::time::Duration;

use bioshadock_core::tokens::{ResourceAccess, TokenIssuer};
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{DATE, WWW_AUTHENTICATE};

/// The token subject of the self-check's requests.
pub(crate) const CHECK_SUBJECT: &str = "bioshadock-check";

/// How far the registry's clock may be from ours before tokens risk being "not yet valid".
const MAX_SKEW_SECS: i64 = 30;

/// What one check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    Ok(String),
    Problem(String),
}

impl Finding {
    pub fn is_problem(&self) -> bool {
        matches!(self, Self::Problem(_))
    }

    pub fn text(&self) -> &str {
        match self {
            Self::Ok(text) | Self::Problem(text) => text,
        }
    }
}

/// What is checked: this portal's side of the configuration.
pub struct Target<'a> {
    /// `registry.url`.
    pub registry_url: &'a str,
    /// `web.public_url`: the token realm the registry should send clients to.
    pub public_url: &'a str,
    /// Where this portal's certificate is, as said to the user.
    pub certificate: &'a str,
    /// The portal's token issuer (its issuer, service and key).
    pub tokens: &'a TokenIssuer,
}

/// Runs every check, in order; stops early when a later check cannot mean anything.
pub async fn check(target: &Target<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let base = target.registry_url.trim_end_matches('/');
    let tokens = target.tokens;
    super::install_crypto_provider();
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            findings.push(Finding::Problem(format!(
                "cannot build an HTTP client: {e}"
            )));
            return findings;
        }
    };

    // 1. Reachability, and the challenge the registry gives clients.
    let anonymous = match client.get(format!("{base}/v2/")).send().await {
        Ok(response) => response,
        Err(e) => {
            findings.push(Finding::Problem(format!(
                "cannot reach the registry at {base} (registry.url): {e}; is it running, and \
                 is registry.url how this machine reaches it?"
            )));
            return findings;
        }
    };
    findings.push(Finding::Ok(format!("the registry answers at {base}")));
    if let Some(date) = anonymous
        .headers()
        .get(DATE)
        .and_then(|d| d.to_str().ok())
        .and_then(|d| DateTime::parse_from_rfc2822(d).ok())
    {
        let skew = (date.with_timezone(&Utc) - Utc::now()).num_seconds();
        if skew.abs() > MAX_SKEW_SECS {
            findings.push(Finding::Problem(format!(
                "the registry's clock is {skew} s off this machine's: tokens may be refused as \
                 not yet valid or expired; synchronise the clocks (NTP)"
            )));
        } else {
            findings.push(Finding::Ok("the clocks agree".into()));
        }
    }
    match anonymous.status() {
        StatusCode::UNAUTHORIZED => {
            let challenge = anonymous
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|c| c.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            findings.extend(check_challenge(target, &challenge));
        }
        StatusCode::OK => findings.push(Finding::Problem(
            "the registry lets anyone in without a token: its configuration has no `auth.token` \
             section; generate one with `bioshadock registry-config`"
                .into(),
        )),
        other => findings.push(Finding::Problem(format!(
            "the registry answered {other} to GET /v2/; is {base} really a Docker registry?"
        ))),
    }

    // 2. A token of ours, as the registry checks it.
    let catalog = match tokens.mint(CHECK_SUBJECT, vec![ResourceAccess::catalog()]) {
        Ok(token) => token,
        Err(e) => {
            findings.push(Finding::Problem(format!("cannot mint a token: {e}")));
            return findings;
        }
    };
    let response = client
        .get(format!("{base}/v2/_catalog?n=1"))
        .bearer_auth(&catalog.token)
        .send()
        .await;
    match response.map(|r| r.status()) {
        Ok(status) if status.is_success() => findings.push(Finding::Ok(
            "the registry accepts this portal's tokens (issuer, service and certificate agree) \
             and lets it list repositories"
                .into(),
        )),
        Ok(StatusCode::UNAUTHORIZED) => findings.push(Finding::Problem(format!(
            "the registry refuses this portal's tokens. Its `auth.token` section must have \
             issuer \"{}\" (registry.issuer), service \"{}\" (registry.service) and \
             rootcertbundle {} (this portal's certificate; the registry reads it only at \
             start-up: restart it after changing it). `bioshadock registry-config` prints a \
             matching configuration",
            tokens.issuer(),
            tokens.service(),
            target.certificate
        ))),
        Ok(status) => findings.push(Finding::Problem(format!(
            "listing repositories with a token answered {status}"
        ))),
        Err(e) => findings.push(Finding::Problem(format!(
            "the registry stopped answering: {e}"
        ))),
    }
    findings
}

/// Compares `Bearer realm="…",service="…"` with what this portal serves.
fn check_challenge(target: &Target<'_>, challenge: &str) -> Vec<Finding> {
    let expected_realm = format!("{}/v2/token", target.public_url.trim_end_matches('/'));
    let expected_service = target.tokens.service();
    let realm = parameter(challenge, "realm");
    let service = parameter(challenge, "service");
    let mut findings = Vec::new();
    if !challenge.to_ascii_lowercase().starts_with("bearer") {
        findings.push(Finding::Problem(format!(
            "the registry does not ask for bearer tokens (it says `{challenge}`): configure \
             `auth.token` as `bioshadock registry-config` prints it"
        )));
        return findings;
    }
    match realm {
        Some(realm) if realm == expected_realm => {
            findings.push(Finding::Ok(format!(
                "clients are sent to {realm} for tokens"
            )));
        }
        Some(realm) => findings.push(Finding::Problem(format!(
            "the registry sends clients to {realm} for tokens, but this portal's token service \
             is {expected_realm}: set the registry's auth.token.realm, or web.public_url"
        ))),
        None => findings.push(Finding::Problem(
            "the registry's challenge has no realm".into(),
        )),
    }
    match service {
        Some(service) if service == expected_service => {
            findings.push(Finding::Ok(format!("the service names agree ({service})")));
        }
        Some(service) => findings.push(Finding::Problem(format!(
            "the registry calls itself \"{service}\" but this portal issues tokens for \"{}\": \
             make auth.token.service and registry.service the same",
            expected_service
        ))),
        None => findings.push(Finding::Problem(
            "the registry's challenge has no service".into(),
        )),
    }
    findings
}

/// The value of `name="value"` in a challenge.
fn parameter(challenge: &str, name: &str) -> Option<String> {
    let start = challenge.find(&format!("{name}=\""))? + name.len() + 2;
    let end = challenge[start..].find('"')? + start;
    Some(challenge[start..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_challenge_parameters() {
        let challenge = r#"Bearer realm="http://portal/v2/token",service="reg",scope="x""#;
        assert_eq!(
            parameter(challenge, "realm").as_deref(),
            Some("http://portal/v2/token")
        );
        assert_eq!(parameter(challenge, "service").as_deref(), Some("reg"));
        assert_eq!(parameter(challenge, "issuer"), None);
    }
}
