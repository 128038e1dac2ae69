//! The HTTP client and its errors, kept free of the configured URL: it may carry credentials,
//! and the HTTP client's own error messages quote the URL of the failed request.

use std::error::Error as StdError;
use std::time::Duration;

use bioshadock_core::{PortError, PortResult};
use elasticsearch::Elasticsearch;
use elasticsearch::auth::Credentials;
use elasticsearch::http::Url;
use elasticsearch::http::response::Response;
use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use serde_json::Value;

/// The configuration key users fix when the cluster cannot be reached.
const URL_KEY: &str = "search.elasticsearch_url";
/// A request taking longer fails; the caller may retry.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A failure described without the URL, for [`PortError::Backend`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct EsError(pub String);

impl EsError {
    pub fn port(message: impl Into<String>) -> PortError {
        PortError::backend(Self(message.into()))
    }
}

/// Builds a client for `url`; user and password in the URL become Basic credentials.
pub fn connect(url: &str) -> PortResult<Elasticsearch> {
    let invalid = |why: &str| PortError::Unavailable(format!("{URL_KEY} {why}"));
    let mut url =
        Url::parse(url.trim()).map_err(|e| invalid(&format!("is not a valid URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid("must be an http:// or https:// URL with a host"));
    }
    let credentials = (!url.username().is_empty() || url.password().is_some()).then(|| {
        Credentials::Basic(
            percent_decode(url.username()),
            percent_decode(url.password().unwrap_or_default()),
        )
    });
    // Neither can fail on an http(s) URL with a host.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_fragment(None);
    // Request paths are joined onto the URL: a base path (behind a proxy) needs its slash.
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    let mut builder =
        TransportBuilder::new(SingleNodeConnectionPool::new(url)).timeout(REQUEST_TIMEOUT);
    if let Some(credentials) = credentials {
        builder = builder.auth(credentials);
    }
    let transport = builder.build().map_err(|e| {
        PortError::Unavailable(format!(
            "cannot set up the Elasticsearch client for {URL_KEY}: {e}"
        ))
    })?;
    Ok(Elasticsearch::new(transport))
}

/// The JSON body of a successful answer; `None` for a status in `tolerated`. An unreachable
/// cluster, refused credentials, an overloaded or failing cluster are `Unavailable`; other
/// refusals are backend errors carrying Elasticsearch's reason.
pub async fn checked(
    result: Result<Response, elasticsearch::Error>,
    what: &str,
    tolerated: &[u16],
) -> PortResult<Option<Value>> {
    let response = result.map_err(|e| {
        PortError::Unavailable(format!(
            "cannot reach Elasticsearch ({URL_KEY}) to {what}: {}",
            cause(&e)
        ))
    })?;
    let status = response.status_code();
    if tolerated.contains(&status.as_u16()) {
        return Ok(None);
    }
    if status.is_success() {
        let body = response.json::<Value>().await.map_err(|e| {
            EsError::port(format!(
                "cannot {what}: unreadable answer from Elasticsearch ({})",
                cause(&e)
            ))
        })?;
        return Ok(Some(body));
    }
    let body: Value = response.json().await.unwrap_or_default();
    let error = &body["error"];
    let reason = error["reason"]
        .as_str()
        .or_else(|| error.as_str())
        .unwrap_or("no reason given");
    let kind = error["type"].as_str().unwrap_or("error");
    let code = status.as_u16();
    Err(match code {
        401 | 403 => PortError::Unavailable(format!(
            "Elasticsearch refused the credentials of {URL_KEY} (HTTP {code}) to {what}"
        )),
        429 | 500.. => PortError::Unavailable(format!(
            "Elasticsearch could not {what} (HTTP {code}, {kind}): {reason}"
        )),
        _ => EsError::port(format!(
            "Elasticsearch refused to {what} (HTTP {code}, {kind}): {reason}"
        )),
    })
}

/// The innermost cause of a client error. The outer layers are the HTTP client's error,
/// whose message names the request URL, so they are skipped.
fn cause(err: &elasticsearch::Error) -> String {
    let mut chain: Vec<&(dyn StdError + 'static)> = Vec::new();
    let mut next = err.source();
    while let Some(e) = next {
        chain.push(e);
        next = e.source();
    }
    match chain.as_slice() {
        // The client's own message (no HTTP involved).
        [] => err.to_string(),
        [_, .., innermost] => innermost.to_string(),
        [_] if err.is_timeout() => "timed out".to_owned(),
        [_] => "the request failed".to_owned(),
    }
}

/// Decodes `%XX` escapes (user names and passwords in URLs); invalid ones stay as they are.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |i: usize| bytes.get(i).and_then(|&b| (b as char).to_digit(16));
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(high), Some(low)) = (hex(i + 1), hex(i + 2))
        {
            out.push((high * 16 + low) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("p%40ss%3Aw%zz%4"), "p@ss:w%zz%4");
        assert_eq!(percent_decode("caf%C3%A9"), "café");
    }

    #[test]
    fn bad_urls_name_the_key_not_the_url() {
        for url in ["not a url", "ftp://secret@host", "file:///x"] {
            let Err(PortError::Unavailable(message)) = connect(url) else {
                panic!("{url} must be refused");
            };
            assert!(message.contains(URL_KEY), "{message}");
            assert!(!message.contains("secret"), "{message}");
        }
        assert!(connect("https://user:p%40ss@search.example:9200/base").is_ok());
    }
}
