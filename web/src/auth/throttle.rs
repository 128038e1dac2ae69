//! Login throttling, for the sign-in form and the registry token service alike.
//!
//! - Per user name, every attempt is counted *before* its password is verified, atomically
//!   (the count comes back from the increment), so a hundred parallel guesses cannot all slip
//!   under the limit while the first ones are still hashing. Past the limit the user is
//!   locked for the rest of the window and no password is verified; a correct password clears
//!   the count.
//! - Per client address, only failures are counted, and they never refuse a correct password:
//!   many people behind one busy NAT must still sign in while someone there guesses. A wrong
//!   password from an address over its limit is answered 429 instead of 401.
//!
//! The counts live in the coordination port: in memory in embedded mode (a restart forgets
//! them, which bounds a lock-out's damage), on Redis in distributed mode, so that every `web`
//! process counts the same attempts; there they expire with their window. If the port fails,
//! logins are let through (with a warning) rather than refused: an outage of the shared state
//! must not lock everybody out.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bioshadock_core::ports::coordination::Coordination;

/// Attempts allowed per user name in one window (the last one may succeed).
const PER_USER: u32 = 5;
/// Failures per client address in one window after which its wrong passwords get 429.
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

    /// Counts one attempt for `user`; `Err(seconds to wait)` when the user is locked (this
    /// attempt went past the limit), and then the password must not be verified.
    pub async fn attempt(&self, user: &str) -> Result<(), u64> {
        let key = user_key(user);
        match self.coordination.add_failure(&key, WINDOW).await {
            Ok(count) if count > PER_USER => Err(self.seconds_left(&key).await),
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "cannot count a login attempt; not throttling");
                Ok(())
            }
        }
    }

    /// A correct password: the user's attempts are forgotten (the address's failures stay).
    pub async fn succeeded(&self, user: &str) {
        if let Err(e) = self.coordination.clear_failures(&user_key(user)).await {
            tracing::warn!(error = %e, "cannot clear login attempts");
        }
    }

    /// A wrong password (the user's attempt is already counted). `Err(seconds to wait)` when
    /// the address is now over its limit.
    pub async fn failed(&self, address: Option<IpAddr>) -> Result<(), u64> {
        let Some(address) = address else {
            return Ok(());
        };
        let key = address_key(address);
        match self.coordination.add_failure(&key, WINDOW).await {
            Ok(count) if count > PER_ADDRESS => Err(self.seconds_left(&key).await),
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "cannot count a login failure");
                Ok(())
            }
        }
    }

    async fn seconds_left(&self, key: &str) -> u64 {
        match self.coordination.failures(key).await {
            Ok(Some((_, left))) => left.as_secs().max(1),
            _ => WINDOW.as_secs(),
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
    async fn locks_a_user_after_the_allowed_attempts_and_success_resets() {
        let throttle = throttle();
        for _ in 0..PER_USER {
            assert!(throttle.attempt("alice").await.is_ok());
        }
        assert!(throttle.attempt("alice").await.is_err());
        assert!(
            throttle.attempt("bob").await.is_ok(),
            "other users unaffected"
        );
        throttle.succeeded("alice").await;
        assert!(throttle.attempt("alice").await.is_ok());
    }

    #[tokio::test]
    async fn parallel_attempts_cannot_pass_the_limit_together() {
        let throttle = Arc::new(throttle());
        let attempts = (0..100).map(|_| {
            let throttle = throttle.clone();
            tokio::spawn(async move { throttle.attempt("carol").await.is_ok() })
        });
        let mut allowed = 0;
        for attempt in attempts {
            allowed += u32::from(attempt.await.unwrap());
        }
        assert_eq!(allowed, PER_USER);
    }

    #[tokio::test]
    async fn an_address_over_its_limit_is_told_so_on_failures_only() {
        let throttle = throttle();
        let address = Some(IpAddr::from([10, 0, 0, 2]));
        for _ in 0..PER_ADDRESS {
            assert!(throttle.failed(address).await.is_ok());
        }
        assert!(throttle.failed(address).await.is_err());
        assert!(
            throttle
                .failed(Some(IpAddr::from([10, 0, 0, 3])))
                .await
                .is_ok()
        );
        assert!(
            throttle.attempt("fresh").await.is_ok(),
            "a user behind that address may still try"
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
            assert!(one.attempt("carol").await.is_ok());
        }
        assert!(two.attempt("carol").await.is_err(), "seen by the other");
        two.succeeded("carol").await;
        assert!(one.attempt("carol").await.is_ok(), "cleared for both");
    }
}
