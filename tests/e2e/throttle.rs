//! Password guessing against the real binary: parallel guesses cannot pass the per-user limit,
//! argon2 verifications are bounded (memory stays flat), and a busy shared address does not
//! lock out people who know their password.

use futures::future::join_all;

use crate::support::*;

async fn token_status(site: &Site, user: impl AsRef<str>, password: impl AsRef<str>) -> u16 {
    let (user, password) = (user.as_ref(), password.as_ref());
    http()
        .get(site.url("/v2/token?service=bioshadock-registry"))
        .basic_auth(user, Some(password))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn parallel_guesses_are_counted_before_verifying_and_hashing_is_bounded() {
    let site = Site::new();
    site.add_user("bob", "bob's real password");
    site.add_user("alice", "alice's real password");
    let server = site.serve().await;
    assert_eq!(
        token_status(&site, "alice", "alice's real password").await,
        200
    );
    let before = server.peak_rss_kib();

    // 100 guesses for one user at once: only the allowed attempts are even verified.
    let guesses =
        join_all((0..100).map(|i| token_status(&site, "bob", format!("guess {i}")))).await;
    let wrong = guesses.iter().filter(|&&s| s == 401).count();
    let throttled = guesses.iter().filter(|&&s| s == 429).count();
    assert_eq!((wrong, throttled), (5, 95), "{guesses:?}");
    assert_eq!(
        token_status(&site, "bob", "bob's real password").await,
        429,
        "bob is locked for the window"
    );

    // 100 guesses for 100 names at once each cost a verification; they queue, so the
    // server's peak memory grows by a few argon2 buffers (19 MiB each), not a hundred.
    let spray =
        join_all((0..100).map(|i| token_status(&site, format!("nobody{i}"), "guess"))).await;
    assert!(spray.iter().all(|&s| s == 401 || s == 429), "{spray:?}");
    let growth_mib = server.peak_rss_kib().saturating_sub(before) / 1024;
    eprintln!("peak RSS growth over 105 verifications: {growth_mib} MiB");
    assert!(growth_mib < 200, "peak RSS grew by {growth_mib} MiB");

    // This address is now far over its failure limit: wrong passwords get 429, but alice,
    // who is not locked, still signs in with hers (people share addresses behind NAT).
    assert_eq!(token_status(&site, "alice", "a wrong one").await, 429);
    assert_eq!(
        token_status(&site, "alice", "alice's real password").await,
        200
    );
    let page = http().get(site.url("/login")).send().await.unwrap();
    assert_eq!(page.status(), 200);
}
