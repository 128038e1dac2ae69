use serde_json::{Value, json};

use super::*;
use crate::tokens::ResourceAccess;

const ISSUER: &str = "bioshadock";
const SERVICE: &str = "registry.example.org";

fn issuer_with(kid: KidStyle, ttl: Duration) -> TokenIssuer {
    TokenIssuer::new(
        SigningMaterial::generate().unwrap(),
        ISSUER.into(),
        SERVICE.into(),
        kid,
        ttl,
    )
}

fn issuer() -> TokenIssuer {
    issuer_with(KidStyle::Libtrust, Duration::from_secs(300))
}

/// The decoded JSON of a token part (0 header, 1 claims).
fn part(token: &str, index: usize) -> (String, Value) {
    let encoded = token.split('.').nth(index).unwrap();
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(encoded).unwrap()).unwrap();
    let value = serde_json::from_str(&raw).unwrap();
    (raw, value)
}

fn pull(name: &str) -> ResourceAccess {
    ResourceAccess {
        kind: "repository".into(),
        name: name.into(),
        actions: vec!["pull".into()],
    }
}

#[test]
fn a_minted_token_verifies() {
    let issuer = issuer();
    let issued = issuer.mint("olivia", vec![pull("olivia/tool")]).unwrap();
    assert_eq!(issued.expires_in, 300);
    let claims = issuer.verify(&issued.token).unwrap();
    assert_eq!(claims.iss, ISSUER);
    assert_eq!(claims.sub, "olivia");
    assert_eq!(claims.aud, SERVICE);
    assert_eq!(claims.access, [pull("olivia/tool")]);
    assert_eq!(claims.exp - claims.iat, 300);
    assert_eq!(claims.iat - claims.nbf, 5);
    assert_eq!(claims.iat, issued.issued_at.timestamp());
    assert!((Utc::now() - issued.issued_at).num_seconds().abs() < 5);
}

#[test]
fn the_header_names_the_certificate_and_the_key() {
    let issuer = issuer();
    let token = issuer.mint("", Vec::new()).unwrap().token;
    let (_, header) = part(&token, 0);
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"], issuer.material().libtrust_kid());
    assert_eq!(
        header["x5c"],
        json!([STANDARD.encode(issuer.material().certificate_der())])
    );

    let v3 = issuer_with(KidStyle::Rfc7638, Duration::from_secs(300));
    let token = v3.mint("", Vec::new()).unwrap().token;
    assert_eq!(part(&token, 0).1["kid"], v3.material().jwk_thumbprint());
    v3.verify(&token).unwrap();
}

#[test]
fn the_claims_are_what_distribution_reads() {
    let issuer = issuer();
    let token = issuer.mint("", Vec::new()).unwrap().token;
    let (raw, claims) = part(&token, 1);
    assert!(raw.contains(r#""access":[]"#), "{raw}");
    assert!(raw.contains(&format!(r#""aud":"{SERVICE}""#)), "{raw}");
    assert_eq!(claims["sub"], "");
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
    for claim in ["iat", "nbf", "exp"] {
        assert!(claims[claim].is_i64(), "{claim}: {raw}");
    }
    let other = issuer.mint("", Vec::new()).unwrap().token;
    assert_ne!(part(&other, 1).1["jti"], claims["jti"], "jti is random");
}

#[test]
fn the_ttl_is_at_least_a_minute() {
    let issuer = issuer_with(KidStyle::Libtrust, Duration::from_secs(5));
    assert_eq!(issuer.ttl(), MIN_TTL);
    let issued = issuer.mint("olivia", Vec::new()).unwrap();
    assert_eq!(issued.expires_in, 60);
    let claims = issuer.verify(&issued.token).unwrap();
    assert_eq!(claims.exp - claims.iat, 60);
}

#[test]
fn a_token_of_another_key_is_refused() {
    let ours = issuer();
    let theirs = issuer();
    let token = theirs.mint("olivia", Vec::new()).unwrap().token;
    let err = ours.verify(&token).unwrap_err();
    assert!(err.to_string().contains("x5c"), "{err}");

    // Even naming our certificate, the signature gives it away.
    let mut header = Header::new(Algorithm::ES256);
    header.x5c = Some(vec![STANDARD.encode(ours.material().certificate_der())]);
    let forged = sign(&theirs, header, &claims_now(&ours, 0, 300));
    let err = ours.verify(&forged).unwrap_err();
    assert!(err.to_string().contains("signature"), "{err}");
}

/// Claims as `issuer` would mint them, shifted `offset` seconds, valid `ttl` seconds.
fn claims_now(issuer: &TokenIssuer, offset: i64, ttl: i64) -> Claims {
    let iat = Utc::now().timestamp() + offset;
    Claims {
        iss: issuer.issuer().into(),
        sub: "olivia".into(),
        aud: issuer.service().into(),
        iat,
        nbf: iat - 5,
        exp: iat + ttl,
        jti: "test".into(),
        access: Vec::new(),
    }
}

fn sign(by: &TokenIssuer, header: Header, claims: &impl Serialize) -> String {
    jsonwebtoken::encode(&header, claims, by.material().encoding_key()).unwrap()
}

fn our_header(issuer: &TokenIssuer) -> Header {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(issuer.material().libtrust_kid().into());
    header.x5c = Some(vec![STANDARD.encode(issuer.material().certificate_der())]);
    header
}

#[test]
fn issuer_and_service_must_match() {
    let issuer = issuer();
    let mut claims = claims_now(&issuer, 0, 300);
    claims.aud = "other.example.org".into();
    let err = issuer
        .verify(&sign(&issuer, our_header(&issuer), &claims))
        .unwrap_err();
    assert!(err.to_string().contains("auth.token.service"), "{err}");

    let mut claims = claims_now(&issuer, 0, 300);
    claims.iss = "someone-else".into();
    let err = issuer
        .verify(&sign(&issuer, our_header(&issuer), &claims))
        .unwrap_err();
    assert!(err.to_string().contains("auth.token.issuer"), "{err}");
}

#[test]
fn an_audience_list_is_refused_like_distribution_2_8_does() {
    let issuer = issuer();
    let mut claims = serde_json::to_value(claims_now(&issuer, 0, 300)).unwrap();
    claims["aud"] = json!([SERVICE]);
    let err = issuer
        .verify(&sign(&issuer, our_header(&issuer), &claims))
        .unwrap_err();
    assert!(matches!(err, TokenError::Rejected(_)), "{err}");
}

#[test]
fn expired_and_future_tokens_are_refused() {
    let issuer = issuer();
    // Within the 60 s leeway: fine.
    let recent = claims_now(&issuer, -330, 300);
    issuer
        .verify(&sign(&issuer, our_header(&issuer), &recent))
        .unwrap();
    let expired = claims_now(&issuer, -400, 300);
    let err = issuer
        .verify(&sign(&issuer, our_header(&issuer), &expired))
        .unwrap_err();
    assert!(err.to_string().contains("expired"), "{err}");
    let future = claims_now(&issuer, 120, 300);
    let err = issuer
        .verify(&sign(&issuer, our_header(&issuer), &future))
        .unwrap_err();
    assert!(err.to_string().contains("not valid yet"), "{err}");
}

#[test]
fn the_key_may_be_named_by_kid_alone() {
    let issuer = issuer();
    let claims = claims_now(&issuer, 0, 300);
    for kid in [
        issuer.material().libtrust_kid(),
        issuer.material().jwk_thumbprint(),
    ] {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.into());
        issuer.verify(&sign(&issuer, header, &claims)).unwrap();
    }
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("AAAA:BBBB".into());
    assert!(issuer.verify(&sign(&issuer, header, &claims)).is_err());
    let anonymous_key = Header::new(Algorithm::ES256);
    assert!(
        issuer
            .verify(&sign(&issuer, anonymous_key, &claims))
            .is_err()
    );
}

#[test]
fn garbage_is_refused() {
    let issuer = issuer();
    for token in ["", "a.b.c", "not a token"] {
        assert!(
            matches!(issuer.verify(token), Err(TokenError::Rejected(_))),
            "{token}"
        );
    }
}

#[test]
fn debug_hides_the_token() {
    let issued = issuer().mint("olivia", Vec::new()).unwrap();
    let debug = format!("{issued:?}");
    assert!(!debug.contains(&issued.token), "{debug}");
    let signature = issued.token.rsplit('.').next().unwrap();
    assert!(!debug.contains(signature), "{debug}");
}
