//! The password directory (LDAP) as the portal uses it: its answers at sign-in, and the
//! periodic re-check that makes a user removed from the directory (or moved between its
//! groups) count for their API keys and sessions too, not only at their next password.
//!
//! The re-check is per process and per user, at most every `recheck` (`auth.ldap.recheck_secs`).
//! When the directory cannot be reached, the last answer this process had stands (a blip must
//! not lock every script out); a user it last found absent stays refused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bioshadock_core::PortError;
use bioshadock_core::accounts::{Source, User};
use bioshadock_core::identity::GroupMapping;
use bioshadock_core::ports::directory::PasswordDirectory;

use crate::error::ApiError;
use crate::services::identities;
use crate::state::AppState;

/// Users whose last check is remembered, at most; past it the oldest answers are dropped
/// (they are checked again, nothing is wrongly admitted).
const CAPACITY: usize = 100_000;

/// A directory that checks passwords, and what its groups mean here.
pub struct DirectorySignIn {
    pub directory: Arc<dyn PasswordDirectory>,
    pub mapping: GroupMapping,
    /// How long an answer about a user stands before their keys and sessions ask again.
    pub recheck: Duration,
}

/// The directory and this process's last answer about each of its users.
pub(crate) struct Directory {
    pub(crate) sign_in: DirectorySignIn,
    answers: Mutex<HashMap<String, Answer>>,
}

#[derive(Clone, Copy)]
struct Answer {
    present: bool,
    at: Instant,
}

impl Directory {
    pub(crate) fn new(sign_in: DirectorySignIn) -> Self {
        Self {
            sign_in,
            answers: Mutex::default(),
        }
    }

    /// Notes what the directory said about `user` just now.
    pub(crate) fn record(&self, user: &str, present: bool) {
        let mut answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        if answers.len() >= CAPACITY {
            let recheck = self.sign_in.recheck;
            answers.retain(|_, a| a.at.elapsed() < recheck);
            if answers.len() >= CAPACITY {
                answers.clear();
            }
        }
        answers.insert(
            user.to_owned(),
            Answer {
                present,
                at: Instant::now(),
            },
        );
    }

    fn last(&self, user: &str) -> Option<Answer> {
        let answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        answers.get(user).copied()
    }
}

/// `user` as the directory vouches for them now: unchanged for local accounts, refused for a
/// directory account the directory no longer has (or when no directory is configured for
/// it), and otherwise with the role the directory's groups give (teams follow too).
pub(crate) async fn vouched(state: &AppState, user: User) -> Result<User, ApiError> {
    if user.source != Source::Ldap {
        return Ok(user);
    }
    let Some(directory) = &state.directory else {
        return Err(ApiError::unauthorized(
            "this account signs in through a directory that is not configured any more",
        ));
    };
    let name = user.name.as_str().to_owned();
    let last = directory.last(&name);
    if let Some(answer) = last
        && answer.at.elapsed() < directory.sign_in.recheck
    {
        return if answer.present {
            Ok(user)
        } else {
            Err(gone())
        };
    }
    match directory.sign_in.directory.lookup(&name).await {
        Ok(Some(identity)) if identity.account_name().is_ok_and(|n| n == user.name) => {
            directory.record(&name, true);
            let mapping = &directory.sign_in.mapping;
            match identities::follow(state, user.clone(), &identity, mapping).await {
                Ok(user) => Ok(user),
                // The user is still vouched for; their groups apply at the next check.
                Err(e) => {
                    tracing::warn!(user = %name, error = %e.message, "could not apply the directory's groups");
                    Ok(user)
                }
            }
        }
        Ok(_) => {
            directory.record(&name, false);
            tracing::info!(user = %name, "a directory account is no longer in the directory");
            Err(gone())
        }
        Err(PortError::Unavailable(detail)) => {
            tracing::warn!(user = %name, %detail, "the directory cannot be reached; the last answer stands");
            match last {
                Some(answer) if !answer.present => Err(gone()),
                _ => Ok(user),
            }
        }
        Err(e) => Err(e.into()),
    }
}

fn gone() -> ApiError {
    ApiError::unauthorized("this account is no longer in the directory")
}
