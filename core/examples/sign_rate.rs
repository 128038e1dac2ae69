//! The raw ES256 signing rate of the token issuer, as a baseline for the token service
//! benchmark (bench/registry.sh): mints tokens in a loop on one thread and prints tokens/s.
//!
//! `cargo run --release -p bioshadock-core --example sign_rate [SECONDS]`

use std::time::{Duration, Instant};

use bioshadock_core::RepoName;
use bioshadock_core::tokens::{Action, KidStyle, ResourceAccess, SigningMaterial, TokenIssuer};

fn main() {
    let seconds: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    let issuer = TokenIssuer::new(
        SigningMaterial::generate().expect("a signing key"),
        "bioshadock".into(),
        "bioshadock-registry".into(),
        KidStyle::Libtrust,
        Duration::from_secs(300),
    );
    let repository = RepoName::parse("lab/samtools").expect("a valid name");
    let started = Instant::now();
    let mut minted = 0u64;
    while started.elapsed().as_secs_f64() < seconds {
        let access = vec![ResourceAccess::repository(&repository, &[Action::Pull])];
        issuer.mint("alice", access).expect("a token");
        minted += 1;
    }
    let rate = minted as f64 / started.elapsed().as_secs_f64();
    println!("raw ES256 signing (one thread): {rate:.0} tokens/s");
}
