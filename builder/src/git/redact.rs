//! Keeping the credentials a URL carries out of log lines and error messages.

use git2::ErrorCode;

use super::GitError;

/// The URL as it may be shown, plus the pieces that must never be shown.
pub(super) struct Secret {
    raw_url: String,
    pub(super) shown_url: String,
    hidden: Vec<String>,
}

impl Secret {
    pub(super) fn new(url: &str) -> Self {
        // Userinfo and query strings are where access tokens travel.
        let shown_url = bioshadock_core::git::redact_userinfo(url);
        let mut hidden = Vec::new();
        if let Some((_, rest)) = url.split_once("://") {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
            if let Some((userinfo, _)) = authority.rsplit_once('@') {
                hidden.push(userinfo.to_owned());
                if let Some((user, password)) = userinfo.split_once(':') {
                    hidden.push(password.to_owned());
                    hidden.push(user.to_owned());
                }
            }
        }
        // Masking a one- or two-letter user name would garble every message it occurs in.
        hidden.retain(|s| s.len() >= 3);
        Self {
            raw_url: url.to_owned(),
            shown_url,
            hidden,
        }
    }

    /// A libgit2 message with the URL redacted and any credential piece masked.
    pub(super) fn scrub(&self, message: &str) -> String {
        let mut message = message.replace(&self.raw_url, &self.shown_url);
        for piece in &self.hidden {
            message = message.replace(piece.as_str(), "***");
        }
        message
    }

    pub(super) fn failed(&self, e: git2::Error) -> GitError {
        GitError::Failed {
            url: self.shown_url.clone(),
            reason: self.scrub(e.message()),
        }
    }

    /// Errors while talking to the server: credentials problems are told apart because their
    /// remedy differs.
    pub(super) fn classify(&self, e: git2::Error) -> GitError {
        let auth = e.code() == ErrorCode::Auth
            || e.message().contains("authentication required")
            || e.message().contains("401");
        if auth {
            GitError::AuthRequired {
                url: self.shown_url.clone(),
            }
        } else {
            GitError::Unreachable {
                url: self.shown_url.clone(),
                reason: self.scrub(e.message()),
            }
        }
    }
}
