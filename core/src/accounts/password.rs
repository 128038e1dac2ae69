//! Password hashing with argon2id (the crate's defaults: 19 MiB, 2 passes, 1 lane).

use argon2::password_hash::PasswordHasher;
use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;

/// Why a password was refused when it was set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must be at least {MIN_PASSWORD_LEN} characters long")]
    TooShort,
    #[error("the password must be at most {MAX_PASSWORD_LEN} characters long")]
    TooLong,
    #[error("the password could not be hashed")]
    Hashing,
}

pub const MIN_PASSWORD_LEN: usize = 8;
/// Bounds the work an attacker can ask of one login.
/// Counted in characters, as the message says and the OpenAPI document's `maxLength` counts.
pub const MAX_PASSWORD_LEN: usize = 1024;
/// The same bound in bytes (four per character at most in UTF-8), for checks before decoding.
const MAX_PASSWORD_BYTES: usize = MAX_PASSWORD_LEN * 4;

/// Hashes a new password into a PHC string, after checking its length.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    let len = password.chars().count();
    if len < MIN_PASSWORD_LEN {
        return Err(PasswordError::TooShort);
    }
    if len > MAX_PASSWORD_LEN {
        return Err(PasswordError::TooLong);
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|_| PasswordError::Hashing)
}

/// Whether `password` matches a stored PHC string. A malformed hash never matches. For many
/// verifications, [`verify_password_in`] with memory kept between them.
pub fn verify_password(password: &str, stored: &str) -> bool {
    verify_password_in(&mut VerifyMemory::default(), password, stored)
}

/// The most memory a stored hash may ask one verification for (64 MiB; ours use 19 MiB).
const MAX_VERIFY_KIB: u32 = 64 * 1024;

/// argon2's working memory, kept between verifications.
///
/// argon2 allocates its ~19 MiB of 64-byte-aligned blocks afresh for every hash, and glibc's
/// allocator does not reuse such aligned blocks well: measured here, 20 verifications in a
/// row on one thread left ~200 MiB resident, and 100 queued ones ~1.5 GiB. Verifying into
/// memory that is allocated once and reused keeps a process at (verifiers × 19 MiB).
#[derive(Default)]
pub struct VerifyMemory(Vec<Block>);

impl std::fmt::Debug for VerifyMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VerifyMemory({} blocks)", self.0.len())
    }
}

/// [`verify_password`] in reusable working memory. Hashes asking for more than 64 MiB (none
/// of ours; perhaps an imported one) never match, so no stored value can make one
/// verification take the server's memory.
pub fn verify_password_in(memory: &mut VerifyMemory, password: &str, stored: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    if is_bcrypt(stored) {
        return verify_bcrypt(password, stored);
    }
    let Ok(hash) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm.as_str()) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    if params.m_cost() > MAX_VERIFY_KIB {
        return false;
    }
    let blocks = params.block_count();
    if memory.0.len() < blocks {
        memory.0.resize(blocks, Block::new());
    }
    let mut computed = vec![0u8; expected.as_bytes().len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut computed, &mut memory.0[..])
        .is_ok()
        && bool::from(computed.ct_eq(expected.as_bytes()))
}

/// The highest bcrypt cost verified (2^14 rounds, about a second here): an imported hash asking
/// for more never matches, so no stored value can make one verification take minutes.
pub const MAX_BCRYPT_COST: u32 = 14;

/// Whether a stored hash is bcrypt (`$2a$`, `$2b$` or `$2y$`), as `htpasswd -B` and docker_auth
/// write them: imported accounts keep their passwords, and sign-in replaces such a hash with an
/// argon2id one ([`needs_rehash`]).
pub fn is_bcrypt(stored: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"]
        .iter()
        .any(|p| stored.starts_with(p))
}

/// Whether a stored hash should be replaced by an argon2id one after the next successful check.
pub fn needs_rehash(stored: &str) -> bool {
    is_bcrypt(stored)
}

/// Checks the shape of a bcrypt hash to import: `$2y$CC$` and 53 characters of bcrypt's
/// base64, with a cost of 4 to [`MAX_BCRYPT_COST`].
pub fn check_bcrypt_hash(stored: &str) -> Result<(), String> {
    if !is_bcrypt(stored) {
        return Err(format!("not a bcrypt hash ({})", hash_format(stored)));
    }
    let cost = bcrypt_cost(stored).ok_or("a bcrypt hash with a malformed cost")?;
    if !(4..=MAX_BCRYPT_COST).contains(&cost) {
        return Err(format!("bcrypt cost {cost} is outside 4-{MAX_BCRYPT_COST}"));
    }
    let rest = &stored[7..];
    let well_formed = rest.len() == 53
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/');
    if well_formed {
        Ok(())
    } else {
        Err("a malformed bcrypt hash".into())
    }
}

/// What kind of password hash `stored` looks like, to name it in an import's refusal.
pub fn hash_format(stored: &str) -> &'static str {
    if is_bcrypt(stored) {
        "bcrypt"
    } else if stored.starts_with("$apr1$") {
        "MD5 ($apr1$)"
    } else if stored.starts_with("{SHA}") {
        "SHA-1 ({SHA})"
    } else if stored.starts_with("$argon2") {
        "argon2"
    } else if stored.starts_with("$5$") || stored.starts_with("$6$") || stored.starts_with("$1$") {
        "crypt (SHA/MD5)"
    } else if stored.len() == 13
        && stored
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/')
    {
        "crypt (DES)"
    } else {
        "plain text or unknown"
    }
}

fn bcrypt_cost(stored: &str) -> Option<u32> {
    let cost = stored.get(4..6)?;
    if stored.as_bytes().get(6) != Some(&b'$') || !cost.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    cost.parse().ok()
}

fn verify_bcrypt(password: &str, stored: &str) -> bool {
    if check_bcrypt_hash(stored).is_err() {
        return false;
    }
    bcrypt::verify(password, stored).unwrap_or(false)
}

/// A hash to verify against when the user does not exist, so that an unknown name costs as
/// long as a wrong password and login timing does not reveal which names exist.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password, never matches").unwrap_or_default())
}
