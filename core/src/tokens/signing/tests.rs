use super::*;

/// The test vector of docs/registry-protocol.md.
const PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEGsxk+f6z6Ib9N3RBQvI1Z2DrGCSM
DrwG11txappyn5chg/D3sv/gh1wb+m7x69bynEQDKZ7lKyKxJ0xZLMBvfw==
-----END PUBLIC KEY-----
";

#[test]
fn key_ids_match_the_test_vector() {
    let spki = pem::parse(PUBLIC_KEY).unwrap().into_contents();
    let ids = key_ids(&spki).unwrap();
    assert_eq!(
        ids.libtrust,
        "HHNG:POHG:V3GB:3SHA:3HGC:NFUJ:YKYA:C34J:WAMN:3SVD:2UW4:HVFP"
    );
    assert_eq!(ids.rfc7638, "jv1Fd8cFpG9j1RtngX9mcv-st8_bZ85odi9VRhhiYHw");
    assert!(key_ids(b"not a key").is_err());
}

#[test]
fn base32_follows_rfc_4648() {
    // RFC 4648 §10, without the padding.
    for (input, output) in [
        ("", ""),
        ("f", "MY"),
        ("fo", "MZXQ"),
        ("foo", "MZXW6"),
        ("foob", "MZXW6YQ"),
        ("fooba", "MZXW6YTB"),
        ("foobar", "MZXW6YTBOI"),
    ] {
        assert_eq!(base32(input.as_bytes()), output, "{input}");
    }
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn material_is_created_once_and_reloaded_identical() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().join("keys");
    let created = SigningMaterial::load_or_create(&dir).unwrap();
    assert!(created.was_created());
    let key_path = dir.join(KEY_FILE);
    let certificate_path = dir.join(CERTIFICATE_FILE);
    assert_eq!(mode(&key_path), 0o600);
    let key_pem = std::fs::read_to_string(&key_path).unwrap();
    assert!(key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert_eq!(
        std::fs::read_to_string(&certificate_path).unwrap(),
        created.certificate_pem()
    );

    let loaded = SigningMaterial::load_or_create(&dir).unwrap();
    assert!(!loaded.was_created());
    assert_eq!(loaded.libtrust_kid(), created.libtrust_kid());
    assert_eq!(loaded.jwk_thumbprint(), created.jwk_thumbprint());
    assert_eq!(loaded.certificate_der(), created.certificate_der());
    assert_eq!(std::fs::read_to_string(&key_path).unwrap(), key_pem);
    let again = SigningMaterial::load(&dir).unwrap();
    assert_eq!(again.libtrust_kid(), created.libtrust_kid());
}

#[test]
fn the_certificate_is_self_signed_for_ten_years() {
    let material = SigningMaterial::generate().unwrap();
    let info = der_walk::read_certificate(material.certificate_der()).unwrap();
    // The kid names the certificate's key.
    assert_eq!(
        key_ids(info.spki).unwrap().libtrust,
        material.libtrust_kid()
    );
    let now = Utc::now();
    assert!(
        material.not_before() <= now && now - material.not_before() < chrono::Duration::days(2)
    );
    let years = (material.not_after() - now).num_days() / 365;
    assert!((9..=10).contains(&years), "{years}");
    let common_name = CERTIFICATE_COMMON_NAME.as_bytes();
    assert!(
        material
            .certificate_der()
            .windows(common_name.len())
            .any(|w| w == common_name)
    );
}

#[test]
fn existing_files_are_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join(KEY_FILE);
    let certificate_path = dir.path().join(CERTIFICATE_FILE);

    // A lone certificate: refused, and left as it was.
    std::fs::write(&certificate_path, "kept").unwrap();
    let err = SigningMaterial::load_or_create(dir.path()).unwrap_err();
    assert!(
        matches!(&err, TokenError::Incomplete { present, missing }
            if *present == certificate_path && *missing == key_path),
        "{err}"
    );
    assert!(err.to_string().contains(KEY_FILE), "{err}");
    assert_eq!(std::fs::read_to_string(&certificate_path).unwrap(), "kept");
    assert!(!key_path.exists());

    // A lone key: the same.
    std::fs::remove_file(&certificate_path).unwrap();
    std::fs::write(&key_path, "kept").unwrap();
    assert!(matches!(
        SigningMaterial::load_or_create(dir.path()),
        Err(TokenError::Incomplete { .. })
    ));
    assert_eq!(std::fs::read_to_string(&key_path).unwrap(), "kept");
    assert!(!certificate_path.exists());

    // Both present but unreadable as keys: an error, not a new pair.
    std::fs::write(&certificate_path, "kept").unwrap();
    let err = SigningMaterial::load_or_create(dir.path()).unwrap_err();
    assert!(matches!(err, TokenError::BadMaterial { .. }), "{err}");
    assert_eq!(std::fs::read_to_string(&key_path).unwrap(), "kept");
    assert_eq!(std::fs::read_to_string(&certificate_path).unwrap(), "kept");
}

#[test]
fn load_never_creates() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        SigningMaterial::load(dir.path()),
        Err(TokenError::Io { .. })
    ));
    assert!(!dir.path().join(KEY_FILE).exists());
}

#[test]
fn a_certificate_of_another_key_is_refused() {
    let (key_pem, _) = generate_pem().unwrap();
    let (_, other_certificate) = generate_pem().unwrap();
    assert!(matches!(
        SigningMaterial::from_pem(&key_pem, &other_certificate),
        Err(TokenError::Mismatch { .. })
    ));
    assert!(matches!(
        SigningMaterial::from_pem(&key_pem, PUBLIC_KEY),
        Err(TokenError::BadMaterial { .. })
    ));
}

#[test]
fn sec1_keys_are_accepted() {
    let (key_pem, certificate_pem) = generate_pem().unwrap();
    let secret = parse_key(&key_pem).unwrap();
    let sec1 = secret.to_sec1_der().unwrap();
    let sec1_pem = format!(
        "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n{}",
        pem::encode(&pem::Pem::new("EC PRIVATE KEY", sec1.to_vec()))
    );
    let from_sec1 = SigningMaterial::from_pem(&sec1_pem, &certificate_pem).unwrap();
    let from_pkcs8 = SigningMaterial::from_pem(&key_pem, &certificate_pem).unwrap();
    assert_eq!(from_sec1.libtrust_kid(), from_pkcs8.libtrust_kid());
}

#[test]
fn debug_shows_no_key() {
    let (key_pem, certificate_pem) = generate_pem().unwrap();
    let material = SigningMaterial::from_pem(&key_pem, &certificate_pem).unwrap();
    let debug = format!("{material:?}");
    assert!(debug.contains(material.libtrust_kid()), "{debug}");
    let key_body = key_pem.lines().nth(1).unwrap();
    assert!(!debug.contains(key_body), "{debug}");
    assert!(!debug.contains("PRIVATE"), "{debug}");
    let der = pem::parse(&key_pem).unwrap().into_contents();
    assert!(!debug.contains(&format!("{:?}", &der[..8])), "{debug}");
}
