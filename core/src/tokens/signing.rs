//! The key that signs registry tokens and the self-signed certificate the registry trusts
//! (`auth.token.rootcertbundle`).
//!
//! Both live as PEM files in one directory. They are created together when both are missing
//! and never overwritten: the registry reads the certificate once at start-up, so a new key would
//! silently invalidate every token until the registry is given the new certificate and restarted.

mod der_walk;

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Datelike as _, Months, NaiveDate, Utc};
use jsonwebtoken::{DecodingKey, EncodingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use p256::pkcs8::{
    DecodePrivateKey as _, DecodePublicKey as _, EncodePrivateKey as _, EncodePublicKey as _,
};
use p256::{PublicKey, SecretKey};
use sha2::{Digest as _, Sha256};

use super::TokenError;

/// The private key's file name: PKCS#8 PEM, mode 0600.
pub const KEY_FILE: &str = "token-signing-key.pem";
/// The certificate's file name: the registry's `auth.token.rootcertbundle`.
pub const CERTIFICATE_FILE: &str = "token-certificate.pem";
/// The subject of the certificates we create.
pub const CERTIFICATE_COMMON_NAME: &str = "Bioshadock token signer";
/// How long a created certificate is valid: ten years, so it never expires under a running site.
const VALIDITY: Months = Months::new(120);

/// The two ways a token's key is named in its `kid` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyIds {
    /// The legacy libtrust id Distribution 2.x matches: twelve groups of four base32 letters.
    pub libtrust: String,
    /// The RFC 7638 JWK thumbprint (base64url SHA-256), for Distribution 3.
    pub rfc7638: String,
}

/// The token signing key with its certificate. `Debug` shows neither the key nor the
/// certificate.
pub struct SigningMaterial {
    encoding_key: EncodingKey,
    /// The same key for ring, which signs ES256 several times faster than the pure-Rust
    /// p256 behind jsonwebtoken: every pull and push asks for a token.
    signer: ring::signature::EcdsaKeyPair,
    decoding_key: DecodingKey,
    certificate_pem: String,
    certificate_der: Vec<u8>,
    ids: KeyIds,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
    created: bool,
}

impl std::fmt::Debug for SigningMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningMaterial")
            .field("libtrust_kid", &self.ids.libtrust)
            .field("jwk_thumbprint", &self.ids.rfc7638)
            .field("not_after", &self.not_after)
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

impl SigningMaterial {
    /// Loads `dir/token-signing-key.pem` and `dir/token-certificate.pem`, creating both (and
    /// `dir`) when both are missing. Exactly one of them present is an error: creating the
    /// other would not match what the registry was given.
    pub fn load_or_create(dir: &Path) -> Result<Self, TokenError> {
        let (key_path, certificate_path) = paths(dir);
        match (exists(&key_path)?, exists(&certificate_path)?) {
            (true, true) => Self::load(dir),
            (false, false) => {
                let (key_pem, certificate_pem) = generate_pem()?;
                create_dir(dir)?;
                write_new(&key_path, &key_pem, 0o600)?;
                // 0600 like everything in data_dir (a registry running as another account gets a copy).
                if let Err(err) = write_new(&certificate_path, &certificate_pem, 0o600) {
                    // We created the key a moment ago: leave no lone half behind.
                    let _ = std::fs::remove_file(&key_path);
                    return Err(err);
                }
                let mut material = Self::from_pem(&key_pem, &certificate_pem)?;
                material.created = true;
                Ok(material)
            }
            (true, false) => Err(TokenError::Incomplete {
                present: key_path,
                missing: certificate_path,
            }),
            (false, true) => Err(TokenError::Incomplete {
                present: certificate_path,
                missing: key_path,
            }),
        }
    }

    /// Loads the key and certificate from `dir`, never creating anything.
    pub fn load(dir: &Path) -> Result<Self, TokenError> {
        let (key_path, certificate_path) = paths(dir);
        let key_pem = read(&key_path)?;
        let certificate_pem = read(&certificate_path)?;
        parse(
            &key_pem,
            &key_path.display().to_string(),
            &certificate_pem,
            &certificate_path.display().to_string(),
        )
    }

    /// Material from a PKCS#8 (or SEC1) P-256 private key and its certificate, both PEM.
    pub fn from_pem(key_pem: &str, certificate_pem: &str) -> Result<Self, TokenError> {
        parse(
            key_pem,
            "the signing key",
            certificate_pem,
            "the signing certificate",
        )
    }

    /// A fresh key and certificate kept in memory only (tests, throw-away registries).
    pub fn generate() -> Result<Self, TokenError> {
        let (key_pem, certificate_pem) = generate_pem()?;
        let mut material = Self::from_pem(&key_pem, &certificate_pem)?;
        material.created = true;
        Ok(material)
    }

    /// Whether this material was just created rather than loaded (the registry must be
    /// given the new certificate).
    pub fn was_created(&self) -> bool {
        self.created
    }

    /// The certificate, PEM, as the registry's `rootcertbundle` holds it.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// The certificate, DER, as the `x5c` header carries it (base64).
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }

    /// The libtrust key id Distribution 2.x matches a `kid` against.
    pub fn libtrust_kid(&self) -> &str {
        &self.ids.libtrust
    }

    /// The RFC 7638 JWK thumbprint of the key.
    pub fn jwk_thumbprint(&self) -> &str {
        &self.ids.rfc7638
    }

    /// When the certificate becomes valid.
    pub fn not_before(&self) -> DateTime<Utc> {
        self.not_before
    }

    /// When the certificate expires; the registry refuses tokens after that.
    pub fn not_after(&self) -> DateTime<Utc> {
        self.not_after
    }

    /// ES256 (P-256, SHA-256) signature of `message` in JWS form: r and s, 32 bytes each.
    pub(super) fn sign_es256(&self, message: &[u8]) -> Result<Vec<u8>, TokenError> {
        self.signer
            .sign(&ring::rand::SystemRandom::new(), message)
            .map(|signature| signature.as_ref().to_vec())
            .map_err(|_| TokenError::Generate("ES256 signing failed".into()))
    }

    #[allow(dead_code)] // kept for jsonwebtoken-based signing in tests
    pub(super) fn encoding_key(&self) -> &EncodingKey {
        &self.encoding_key
    }

    /// The certificate's public key, as the registry uses it.
    pub(super) fn decoding_key(&self) -> &DecodingKey {
        &self.decoding_key
    }
}

/// The libtrust key id and the RFC 7638 thumbprint of a P-256 public key given as a DER
/// SubjectPublicKeyInfo.
pub fn key_ids(spki_der: &[u8]) -> Result<KeyIds, TokenError> {
    let public = PublicKey::from_public_key_der(spki_der).map_err(|_| TokenError::BadMaterial {
        what: "the public key".into(),
        reason: "not a P-256 SubjectPublicKeyInfo".into(),
    })?;
    Ok(ids_of(&public))
}

fn ids_of(public: &PublicKey) -> KeyIds {
    // Libtrust hashes Go's `x509.MarshalPKIXPublicKey`, the canonical DER that p256 writes too.
    let spki = public
        .to_public_key_der()
        .map(|doc| doc.into_vec())
        .unwrap_or_default();
    let libtrust = base32(&Sha256::digest(&spki)[..30])
        .as_bytes()
        .chunks(4)
        .map(|group| String::from_utf8_lossy(group).into_owned())
        .collect::<Vec<_>>()
        .join(":");

    let point = public.to_encoded_point(false);
    let coordinate =
        |c: Option<&p256::FieldBytes>| c.map(|c| URL_SAFE_NO_PAD.encode(c)).unwrap_or_default();
    // RFC 7638: the required members only, in lexicographic order, no whitespace.
    let jwk = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        coordinate(point.x()),
        coordinate(point.y()),
    );
    let rfc7638 = URL_SAFE_NO_PAD.encode(Sha256::digest(jwk.as_bytes()));
    KeyIds { libtrust, rfc7638 }
}

/// RFC 4648 base32, upper case, without padding.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u16, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u16::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[usize::from((buffer >> bits) & 31)]));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(
            ALPHABET[usize::from((buffer << (5 - bits)) & 31)],
        ));
    }
    out
}

fn parse(
    key_pem: &str,
    key_what: &str,
    certificate_pem: &str,
    certificate_what: &str,
) -> Result<SigningMaterial, TokenError> {
    let bad = |what: &str, reason: String| TokenError::BadMaterial {
        what: what.to_owned(),
        reason,
    };
    let secret = parse_key(key_pem).map_err(|reason| bad(key_what, reason))?;
    let certificate_der = pem_block(certificate_pem, |tag| tag == "CERTIFICATE")
        .map_err(|reason| bad(certificate_what, reason))?;
    let info = der_walk::read_certificate(&certificate_der)
        .map_err(|e| bad(certificate_what, format!("not an X.509 certificate: {e}")))?;
    let public = PublicKey::from_public_key_der(info.spki).map_err(|_| {
        bad(
            certificate_what,
            "the certificate's key is not a P-256 (ES256) key".into(),
        )
    })?;
    if secret.public_key() != public {
        return Err(TokenError::Mismatch {
            key: key_what.to_owned(),
            certificate: certificate_what.to_owned(),
        });
    }
    let pkcs8 = secret
        .to_pkcs8_der()
        .map_err(|e| bad(key_what, format!("cannot re-encode the key: {e}")))?;
    let signer = ring::signature::EcdsaKeyPair::from_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        pkcs8.as_bytes(),
        &ring::rand::SystemRandom::new(),
    )
    .map_err(|e| bad(key_what, format!("the key is not usable for ES256: {e}")))?;
    Ok(SigningMaterial {
        encoding_key: EncodingKey::from_ec_der(pkcs8.as_bytes()),
        signer,
        decoding_key: DecodingKey::from_ec_der(public.to_encoded_point(false).as_bytes()),
        ids: ids_of(&public),
        not_before: info.not_before,
        not_after: info.not_after,
        certificate_pem: certificate_pem.to_owned(),
        certificate_der,
        created: false,
    })
}

/// A P-256 private key from the first `PRIVATE KEY` (PKCS#8) or `EC PRIVATE KEY` (SEC1, as
/// `openssl ecparam -genkey` writes it) block.
fn parse_key(key_pem: &str) -> Result<SecretKey, String> {
    let blocks = pem::parse_many(key_pem).map_err(|e| format!("not PEM: {e}"))?;
    let block = blocks
        .iter()
        .find(|b| b.tag() == "PRIVATE KEY" || b.tag() == "EC PRIVATE KEY")
        .ok_or("no `PRIVATE KEY` block (an unencrypted PKCS#8 P-256 key is expected)")?;
    let key = if block.tag() == "PRIVATE KEY" {
        SecretKey::from_pkcs8_der(block.contents()).ok()
    } else {
        SecretKey::from_sec1_der(block.contents()).ok()
    };
    key.ok_or_else(|| "not a P-256 (ES256) private key".into())
}

/// The contents of the first PEM block whose tag `wanted` accepts.
fn pem_block(text: &str, wanted: impl Fn(&str) -> bool) -> Result<Vec<u8>, String> {
    let blocks = pem::parse_many(text).map_err(|e| format!("not PEM: {e}"))?;
    blocks
        .into_iter()
        .find(|b| wanted(b.tag()))
        .map(pem::Pem::into_contents)
        .ok_or_else(|| "no `CERTIFICATE` block".into())
}

/// A new P-256 key (PKCS#8 PEM) and a self-signed certificate for it (PEM).
fn generate_pem() -> Result<(String, String), TokenError> {
    let generate = |e: rcgen::Error| TokenError::Generate(e.to_string());
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(generate)?;
    let mut params = rcgen::CertificateParams::default();
    let mut subject = rcgen::DistinguishedName::new();
    subject.push(rcgen::DnType::CommonName, CERTIFICATE_COMMON_NAME);
    params.distinguished_name = subject;
    // A day back, so a registry whose clock lags a little still accepts it.
    let today = Utc::now().date_naive();
    let from = today.pred_opt().unwrap_or(today);
    let until = today.checked_add_months(VALIDITY).unwrap_or(today);
    let midnight =
        |day: NaiveDate| rcgen::date_time_ymd(day.year(), day.month() as u8, day.day() as u8);
    params.not_before = midnight(from);
    params.not_after = midnight(until);
    let certificate = params.self_signed(&key).map_err(generate)?;
    Ok((key.serialize_pem(), certificate.pem()))
}

fn paths(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join(KEY_FILE), dir.join(CERTIFICATE_FILE))
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> TokenError {
    let path = path.to_owned();
    move |source| TokenError::Io {
        action,
        path,
        source,
    }
}

/// The file holding the generated notification secret.
pub const NOTIFICATION_SECRET_FILE: &str = "registry-notification-secret";

/// The shared secret of registry notifications, created once under `dir` (mode 0600) when
/// missing and never overwritten.
pub fn load_or_create_notification_secret(dir: &Path) -> Result<String, TokenError> {
    load_or_create_random_secret(dir, NOTIFICATION_SECRET_FILE)
}

/// A random secret (32 bytes, base64url) kept in `dir/file_name`: created readable by this
/// user only the first time, read afterwards; when several processes start at once, all use
/// the one written first.
pub fn load_or_create_random_secret(dir: &Path, file_name: &str) -> Result<String, TokenError> {
    let path = dir.join(file_name);
    if !exists(&path)? {
        create_dir(dir)?;
        let mut bytes = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
        let secret =
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
        match write_new(&path, &secret, 0o600) {
            Ok(()) => return Ok(secret),
            // Another process created it first: use theirs.
            Err(TokenError::Io { ref source, .. })
                if source.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    let secret = read(&path)?.trim().to_owned();
    if secret.len() < 16 {
        return Err(TokenError::BadMaterial {
            what: path.display().to_string(),
            reason: "the secret is too short; delete the file to generate a new one".into(),
        });
    }
    Ok(secret)
}

fn exists(path: &Path) -> Result<bool, TokenError> {
    path.try_exists().map_err(io_error("look for", path))
}

fn read(path: &Path) -> Result<String, TokenError> {
    std::fs::read_to_string(path).map_err(io_error("read", path))
}

fn create_dir(dir: &Path) -> Result<(), TokenError> {
    std::fs::create_dir_all(dir).map_err(io_error("create the directory", dir))
}

/// Writes a file that must not exist yet, with `mode` (before the umask) on Unix.
#[cfg_attr(not(unix), allow(unused_variables))]
fn write_new(path: &Path, contents: &str, mode: u32) -> Result<(), TokenError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    let mut file = options.open(path).map_err(io_error("create", path))?;
    let written = file
        .write_all(contents.as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(source) = written {
        let _ = std::fs::remove_file(path);
        return Err(io_error("write", path)(source));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
