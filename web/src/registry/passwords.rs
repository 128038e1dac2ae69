//! Checking a password sent with a registry token request.
//!
//! `docker` sends the user's password with every token request (each pull and push asks for a
//! token), and argon2 is deliberately slow. A verified password is remembered for a few
//! minutes, keyed by a per-process keyed hash of it (so the cache holds nothing an attacker
//! could brute-force offline) and tied to the stored hash it matched: a password change, in
//! any process, changes the stored hash and so invalidates the entry.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::RngCore;
use sha2::{Digest, Sha256};

/// How long a verified password is trusted without hashing it again.
const TTL: Duration = Duration::from_secs(300);
/// Bounds the cache.
const CAPACITY: usize = 10_000;

struct Entry {
    stored_hash: String,
    at: Instant,
}

pub(crate) struct PasswordCache {
    /// Random per process: the cache keys are useless outside it.
    key: [u8; 32],
    entries: Mutex<HashMap<(String, [u8; 32]), Entry>>,
}

impl Default for PasswordCache {
    fn default() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self {
            key,
            entries: Mutex::default(),
        }
    }
}

impl PasswordCache {
    fn fingerprint(&self, password: &str) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(self.key);
        hasher.update(password.as_bytes());
        hasher.finalize().into()
    }

    /// Whether `password` was verified for `user` against this very `stored_hash` lately.
    pub fn verified(&self, user: &str, password: &str, stored_hash: &str) -> bool {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&(user.to_owned(), self.fingerprint(password)))
            .is_some_and(|e| e.at.elapsed() < TTL && e.stored_hash == stored_hash)
    }

    /// Forgets what was verified for `user`: the sign-in form asks afresh, so that a directory
    /// account's groups are read again at every sign-in.
    pub fn forget(&self, user: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|(name, _), _| name != user);
    }

    pub fn remember(&self, user: &str, password: &str, stored_hash: &str) {
        let fingerprint = self.fingerprint(password);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY {
            entries.retain(|_, e| e.at.elapsed() < TTL);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(
            (user.to_owned(), fingerprint),
            Entry {
                stored_hash: stored_hash.to_owned(),
                at: Instant::now(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_only_the_same_password_against_the_same_hash() {
        let cache = PasswordCache::default();
        cache.remember("alice", "secret password", "$argon2id$one");
        assert!(cache.verified("alice", "secret password", "$argon2id$one"));
        assert!(!cache.verified("alice", "other password", "$argon2id$one"));
        assert!(!cache.verified("bob", "secret password", "$argon2id$one"));
        assert!(
            !cache.verified("alice", "secret password", "$argon2id$two"),
            "a changed password hash invalidates the entry"
        );
    }
}
