use super::*;

#[test]
fn user_names_follow_the_namespace_grammar() {
    for good in ["alice", "jdoe-lab", "a.b", "x_y", "u2", "a--b"] {
        assert!(UserName::parse(good).is_ok(), "{good} should be accepted");
    }
    for bad in [
        "", "Alice", "-alice", "alice-", "a..b", "a/b", "al ice", "library", "search", "v2", "é",
    ] {
        assert!(UserName::parse(bad).is_err(), "{bad:?} should be refused");
    }
    assert!(UserName::parse(&"a".repeat(MAX_USER_NAME_LEN)).is_ok());
    assert!(UserName::parse(&"a".repeat(MAX_USER_NAME_LEN + 1)).is_err());
}

#[test]
fn passwords_hash_with_argon2id_and_verify() {
    let hash = hash_password("correct horse").unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(verify_password("correct horse", &hash));
    assert!(!verify_password("correct horsf", &hash));
    assert!(!verify_password("correct horse", "not a hash"));
    assert_eq!(hash_password("short"), Err(PasswordError::TooShort));
    assert_eq!(
        hash_password(&"x".repeat(MAX_PASSWORD_LEN + 1)),
        Err(PasswordError::TooLong)
    );
    assert!(!verify_password("anything", decoy_hash()));
}

#[test]
fn keys_round_trip_and_only_their_hash_matches() {
    let key = KeySecret::generate();
    let parsed = KeySecret::parse(key.expose()).expect("a generated key parses");
    assert_eq!(parsed.id(), key.id());
    assert_eq!(key.id().len(), 12);
    let stored = key.hash();
    assert_ne!(stored, key.expose());
    assert!(parsed.matches(&stored));
    assert!(!KeySecret::generate().matches(&stored));
    assert!(
        !format!("{key:?}").contains(&key.expose()[17..]),
        "Debug must hide the secret"
    );
}

#[test]
fn malformed_keys_are_not_ours() {
    let key = KeySecret::generate();
    let good = key.expose();
    for bad in [
        "",
        "bsk_",
        &good[..good.len() - 1],
        &good.replace("bsk_", "xsk_"),
        &good.to_uppercase(),
        &format!("{good}x"),
        "bsk_0123456789ab_short",
    ] {
        assert!(KeySecret::parse(bad).is_none(), "{bad:?} should not parse");
    }
}

#[test]
fn scope_lists_parse_and_refuse_unknown_names() {
    let scopes = Scopes::parse_list("read, push").unwrap();
    assert!(scopes.contains(Scope::Read) && scopes.contains(Scope::Push));
    assert!(!scopes.contains(Scope::Build));
    assert_eq!(scopes.to_list(), "read,push");
    assert!(
        Scopes::parse_list("read,admin")
            .unwrap_err()
            .contains("admin")
    );
    assert!(Scopes::parse_list("").is_err());
    assert!(
        Scopes::parse_list("read")
            .unwrap()
            .is_subset(&Scopes::all())
    );
}

#[test]
fn expired_and_revoked_keys_are_unusable() {
    let now = crate::model::now();
    let mut key = ApiKey {
        id: "0123456789ab".into(),
        user: UserName::parse("alice").unwrap(),
        label: "ci".into(),
        scopes: Scopes::all(),
        created_at: now,
        expires_at: None,
        last_used_at: None,
        revoked: false,
    };
    assert!(key.is_usable(now));
    key.expires_at = Some(now - chrono::Duration::seconds(1));
    assert!(!key.is_usable(now));
    key.expires_at = Some(now + chrono::Duration::hours(1));
    assert!(key.is_usable(now));
    key.revoked = true;
    assert!(!key.is_usable(now));
}

#[test]
fn verifying_in_reused_memory_agrees_with_the_library() {
    let hash = hash_password("correct horse").unwrap();
    let mut memory = VerifyMemory::default();
    for _ in 0..3 {
        assert!(verify_password_in(&mut memory, "correct horse", &hash));
        assert!(!verify_password_in(&mut memory, "correct horsf", &hash));
    }
    assert!(!verify_password_in(&mut memory, "anything", decoy_hash()));
    assert!(!verify_password_in(
        &mut memory,
        "correct horse",
        "not a hash"
    ));
    // A stored hash that asks for 1 GiB is refused, not computed.
    let greedy = hash.replacen("m=19456", "m=1048576", 1);
    assert_ne!(greedy, hash);
    assert!(!verify_password_in(&mut memory, "correct horse", &greedy));
}

/// `htpasswd -Bbn alice 'alice password'` (Debian's apache2-utils), and the other formats it
/// writes: `-m` (the default, MD5), `-s` (SHA-1), `-d` (crypt).
const HTPASSWD_BCRYPT: &str = "$2y$05$SgEjIeIG7YcaBUXjdnF7ieBiL1XR8pg86K9rqIAFt0qfGzKbscyA2";

#[test]
fn imported_bcrypt_hashes_verify_and_ask_to_be_replaced() {
    assert!(verify_password("alice password", HTPASSWD_BCRYPT));
    assert!(!verify_password("alice passwore", HTPASSWD_BCRYPT));
    assert!(needs_rehash(HTPASSWD_BCRYPT));
    assert!(!needs_rehash(&hash_password("alice password").unwrap()));
    assert_eq!(check_bcrypt_hash(HTPASSWD_BCRYPT), Ok(()));
    // bcrypt's own 2b prefix and a docker_auth-style cost.
    let own = bcrypt::hash("a password", 10).unwrap();
    assert!(verify_password("a password", &own));
    // Too costly to verify: refused at import, never matching at sign-in.
    let costly = HTPASSWD_BCRYPT.replacen("$05$", "$15$", 1);
    assert!(check_bcrypt_hash(&costly).is_err());
    assert!(!verify_password("alice password", &costly));
    assert!(check_bcrypt_hash(&HTPASSWD_BCRYPT[..50]).is_err());
}

#[test]
fn other_htpasswd_formats_are_named() {
    for (hash, format) in [
        ("$apr1$0Tul1DvU$Hp26wV7miJ8QB0WvjRjUX0", "MD5 ($apr1$)"),
        ("{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=", "SHA-1 ({SHA})"),
        ("zN76s8YC1/OPY", "crypt (DES)"),
        ("secret", "plain text or unknown"),
    ] {
        assert_eq!(hash_format(hash), format);
        assert!(check_bcrypt_hash(hash).is_err(), "{hash}");
        assert!(!verify_password("secret", hash), "{hash} is never checked");
    }
}
