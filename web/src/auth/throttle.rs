//! Login throttling: after too many failed logins for one user name or from one client
//! address within a window, further attempts are refused until the window has passed, without
//! even checking the password (so guessing costs the attacker time, and us no hashing).
//!
//! Kept in memory per process: a restart forgets it, which bounds a lock-out's damage.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed per user name in one window.
const PER_USER: u32 = 5;
/// Failures allowed per client address in one window (several users may share a NAT).
const PER_ADDRESS: u32 = 20;
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Bounds memory under a spray of made-up names.
const CAPACITY: usize = 50_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Subject {
    User(String),
    Address(IpAddr),
}

struct Failures {
    count: u32,
    since: Instant,
}

#[derive(Default)]
pub(crate) struct LoginThrottle {
    failures: Mutex<HashMap<Subject, Failures>>,
}

impl LoginThrottle {
    /// `Err(seconds to wait)` when this user or address has failed too often lately.
    pub fn check(&self, user: &str, address: Option<IpAddr>) -> Result<(), u64> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let blocked = |subject: &Subject, limit: u32| {
            failures
                .get(subject)
                .filter(|f| f.since.elapsed() < WINDOW && f.count >= limit)
                .map(|f| WINDOW.saturating_sub(f.since.elapsed()).as_secs().max(1))
        };
        let by_user = blocked(&Subject::User(user.to_owned()), PER_USER);
        let by_address = address.and_then(|a| blocked(&Subject::Address(a), PER_ADDRESS));
        match by_user.max(by_address) {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    pub fn failed(&self, user: &str, address: Option<IpAddr>) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= CAPACITY {
            failures.retain(|_, f| f.since.elapsed() < WINDOW);
        }
        let subjects =
            std::iter::once(Subject::User(user.to_owned())).chain(address.map(Subject::Address));
        for subject in subjects {
            let entry = failures.entry(subject).or_insert(Failures {
                count: 0,
                since: Instant::now(),
            });
            if entry.since.elapsed() >= WINDOW {
                *entry = Failures {
                    count: 0,
                    since: Instant::now(),
                };
            }
            entry.count += 1;
        }
    }

    /// A successful login clears the user's failures (not the address's).
    pub fn succeeded(&self, user: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&Subject::User(user.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_a_user_after_repeated_failures_and_success_resets() {
        let throttle = LoginThrottle::default();
        let address = Some(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..PER_USER {
            assert!(throttle.check("alice", address).is_ok());
            throttle.failed("alice", address);
        }
        assert!(throttle.check("alice", address).is_err());
        assert!(
            throttle.check("bob", address).is_ok(),
            "other users unaffected"
        );
        throttle.succeeded("alice");
        assert!(throttle.check("alice", address).is_ok());
    }

    #[test]
    fn locks_an_address_spraying_many_names() {
        let throttle = LoginThrottle::default();
        let address = Some(IpAddr::from([10, 0, 0, 2]));
        for i in 0..PER_ADDRESS {
            throttle.failed(&format!("user{i}"), address);
        }
        assert!(throttle.check("fresh", address).is_err());
        assert!(
            throttle
                .check("fresh", Some(IpAddr::from([10, 0, 0, 3])))
                .is_ok()
        );
    }
}
