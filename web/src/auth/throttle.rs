//! Login throttling: after too many failed logins for one user name or from one client
//! address within a window, further attempts are refused until the window has passed, without
//! even checking the password (so guessing costs the attacker time, and us no hashing).
//!
//! The counts live in the coordination port: in memory in embedded mode (a restart forgets
//! them, which bounds a lock-out's damage), on Redis in distributed mode, so that every `web`
//! process counts the same failures; there they expire with their window. If the port fails,
//! logins are let through (with a warning) rather than refused: an outage of the shared state
//! must not lock everybody out.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bioshadock_core::ports::coordination::Coordination;

/// Failures allowed per user name in one window.
const PER_USER: u32 = 5;
/// Failures allowed per client address in one window (several users may share a NAT).
const PER_ADDRESS: u32 = 20;
const WINDOW: Duration = Duration::from_secs(15 * 60);

fn user_key(user: &str) -> String {
    format!("login:user:{user}")
}

fn address_key(address: IpAddr) -> String {
    format!("login:address:{address}")
}

pub(crate) struct LoginThrottle {
    coordination: Arc<dyn Coordination>,
}

impl LoginThrottle {
    pub fn new(coordination: Arc<dyn Coordination>) -> Self {
        Self { coordination }
    }

    /// `Err(seconds to wait)` when this user or address has failed too often lately.
    pub async fn check(&self, user: &str, address: Option<IpAddr>) -> Result<(), u64> {
        let by_user = self.blocked(&user_key(user), PER_USER).await;
        let by_address = match address {
            Some(a) => self.blocked(&address_key(a), PER_ADDRESS).await,
            None => None,
        };
        match by_user.max(by_address) {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// Seconds to wait if `key` has reached `limit` failures in its window.
    async fn blocked(&self, key: &str, limit: u32) -> Option<u64> {
        match self.coordination.failures(key).await {
            Ok(Some((count, left))) if count >= limit => Some(left.as_secs().max(1)),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read login failures; not throttling");
                None
            }
        }
    }

    pub async fn failed(&self, user: &str, address: Option<IpAddr>) {
        let keys = std::iter::once(user_key(user)).chain(address.map(address_key));
        for key in keys {
            if let Err(e) = self.coordination.add_failure(&key, WINDOW).await {
                tracing::warn!(error = %e, "cannot count a login failure");
            }
        }
    }

    /// A successful login clears the user's failures (not the address's).
    pub async fn succeeded(&self, user: &str) {
        if let Err(e) = self.coordination.clear_failures(&user_key(user)).await {
            tracing::warn!(error = %e, "cannot clear login failures");
        }
    }
}

#[cfg(test)]
mod tests {
    use bioshadock_backends::MemoryCoordination;

    use super::*;

    fn throttle() -> LoginThrottle {
        LoginThrottle::new(Arc::new(MemoryCoordination::new()))
    }

    #[tokio::test]
    async fn locks_a_user_after_repeated_failures_and_success_resets() {
        let throttle = throttle();
        let address = Some(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..PER_USER {
            assert!(throttle.check("alice", address).await.is_ok());
            throttle.failed("alice", address).await;
        }
        assert!(throttle.check("alice", address).await.is_err());
        assert!(
            throttle.check("bob", address).await.is_ok(),
            "other users unaffected"
        );
        throttle.succeeded("alice").await;
        assert!(throttle.check("alice", address).await.is_ok());
    }

    #[tokio::test]
    async fn locks_an_address_spraying_many_names() {
        let throttle = throttle();
        let address = Some(IpAddr::from([10, 0, 0, 2]));
        for i in 0..PER_ADDRESS {
            throttle.failed(&format!("user{i}"), address).await;
        }
        assert!(throttle.check("fresh", address).await.is_err());
        assert!(
            throttle
                .check("fresh", Some(IpAddr::from([10, 0, 0, 3])))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn two_throttles_on_one_coordination_share_their_counts() {
        let shared: Arc<dyn Coordination> = Arc::new(MemoryCoordination::new());
        let (one, two) = (
            LoginThrottle::new(shared.clone()),
            LoginThrottle::new(shared),
        );
        for _ in 0..PER_USER {
            one.failed("carol", None).await;
        }
        assert!(two.check("carol", None).await.is_err(), "seen by the other");
        two.succeeded("carol").await;
        assert!(one.check("carol", None).await.is_ok(), "cleared for both");
    }
}
