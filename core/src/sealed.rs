//! Secrets the portal must use again later (a webhook's signing secret), sealed at rest: each
//! is encrypted with ChaCha20-Poly1305 (ring's AEAD) under a key kept in `data_dir`, with a
//! fresh random nonce. Hashing would not do: a signature needs the secret itself. A sealed
//! secret that was tampered with, or sealed under another key, does not open.
//!
//! Every portal process of an installation must share the key file, as they share the token
//! signing key.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use crate::tokens::{TokenError, load_or_create_random_secret};

/// The key's file under `data_dir`.
pub const SEALING_KEY_FILE: &str = "sealing.key";
/// What a sealed value starts with, naming the scheme (so another can follow).
const PREFIX: &str = "v1.";

/// The key that seals and opens secrets.
pub struct SealingKey(LessSafeKey);

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(…)")
    }
}

/// Why a sealed value does not open.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a sealed secret does not open (tampered with, or sealed under another key)")]
pub struct Unsealable;

impl SealingKey {
    /// The key in `dir`, created the first time.
    pub fn load_or_create(dir: &Path) -> Result<Self, TokenError> {
        let encoded = load_or_create_random_secret(dir, SEALING_KEY_FILE)?;
        let bad = |reason: &str| TokenError::BadMaterial {
            what: dir.join(SEALING_KEY_FILE).display().to_string(),
            reason: reason.to_owned(),
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded.as_bytes())
            .map_err(|_| bad("not base64url"))?;
        Self::from_bytes(&bytes).ok_or_else(|| bad("not a 32-byte key"))
    }

    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        UnboundKey::new(&CHACHA20_POLY1305, bytes)
            .ok()
            .map(|key| Self(LessSafeKey::new(key)))
    }

    /// `secret` sealed: `v1.` and the nonce and ciphertext, base64url.
    pub fn seal(&self, secret: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut nonce);
        let mut sealed = secret.as_bytes().to_vec();
        // Sealing in place cannot fail for inputs this size (ring refuses only > 256 GiB).
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::empty(),
                &mut sealed,
            )
            .expect("a secret far below ring's limit seals");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(out))
    }

    /// The secret inside `sealed`.
    pub fn open(&self, sealed: &str) -> Result<String, Unsealable> {
        let encoded = sealed.strip_prefix(PREFIX).ok_or(Unsealable)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded.as_bytes())
            .map_err(|_| Unsealable)?;
        if bytes.len() < NONCE_LEN {
            return Err(Unsealable);
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Unsealable)?;
        let mut rest = rest.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::empty(), &mut rest)
            .map_err(|_| Unsealable)?;
        String::from_utf8(plain.to_vec()).map_err(|_| Unsealable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_under_their_key_and_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let key = SealingKey::load_or_create(dir.path()).unwrap();
        let sealed = key.seal("whsec_very secret");
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains("very"));
        assert_ne!(
            sealed,
            key.seal("whsec_very secret"),
            "a fresh nonce each time"
        );
        assert_eq!(key.open(&sealed).unwrap(), "whsec_very secret");
        // The same file gives the same key.
        let again = SealingKey::load_or_create(dir.path()).unwrap();
        assert_eq!(again.open(&sealed).unwrap(), "whsec_very secret");
        let other = SealingKey::from_bytes(&[7u8; 32]).unwrap();
        assert_eq!(other.open(&sealed), Err(Unsealable));
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            key.open(&String::from_utf8(tampered).unwrap()),
            Err(Unsealable)
        );
        assert_eq!(key.open("v1."), Err(Unsealable));
        assert_eq!(key.open("plain"), Err(Unsealable));
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(dir.path().join(SEALING_KEY_FILE))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o077, 0, "readable by its owner only");
    }
}
