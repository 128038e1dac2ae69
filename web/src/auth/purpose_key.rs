//! Keys for what the portal signs and hands to browsers (the sign-in form's token, the OpenID
//! Connect flow cookie). Each is derived from the installation's shared notification secret,
//! which every `web` process already holds, and from its purpose, so that a value signed for one
//! use is never valid for another.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub(crate) struct PurposeKey([u8; 32]);

impl PurposeKey {
    pub fn derive(purpose: &str, shared_secret: &str) -> Self {
        Self(
            Sha256::new()
                .chain_update(purpose.as_bytes())
                .chain_update(b"\0")
                .chain_update(shared_secret.as_bytes())
                .finalize()
                .into(),
        )
    }

    /// An HMAC-SHA256 of `data` under this key, to finish or verify.
    pub fn mac(&self, data: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("any key length");
        mac.update(data);
        mac
    }
}
