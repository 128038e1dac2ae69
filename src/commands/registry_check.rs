//! `bioshadock registry-check`: runs the self-check of `bioshadock_web::registry::check` with
//! this configuration and prints its findings, one a line (`ok       …` / `PROBLEM  …`).

use std::time::Duration;

use anyhow::{Result, bail};
use bioshadock_core::config::Config;
use bioshadock_core::tokens::{CERTIFICATE_FILE, SigningMaterial, TokenIssuer};
use bioshadock_web::registry::check::{Finding, Target, check};

pub async fn run(config: Config) -> Result<()> {
    let findings = findings(&config).await;
    let mut problems = 0;
    for finding in &findings {
        match finding {
            Finding::Ok(text) => println!("ok       {text}"),
            Finding::Problem(text) => {
                problems += 1;
                println!("PROBLEM  {text}");
            }
        }
    }
    if problems > 0 {
        bail!("{problems} problem(s) between this portal and the registry; see above");
    }
    println!("The registry accepts this portal's tokens.");
    Ok(())
}

/// The registry's own findings, and with a front the same checks through it (what clients see).
async fn findings(config: &Config) -> Vec<Finding> {
    let mut all = findings_at(config, &config.registry.url).await;
    if let Some(front) = config.registry.front_listen() {
        let host = bioshadock_core::config::reachable_locally(front);
        for finding in findings_at(config, &format!("http://{host}")).await {
            all.push(match finding {
                Finding::Ok(text) => Finding::Ok(format!("through the front at {front}: {text}")),
                Finding::Problem(text) => {
                    Finding::Problem(format!("through the front at {front}: {text}"))
                }
            });
        }
    }
    all
}

async fn findings_at(config: &Config, registry_url: &str) -> Vec<Finding> {
    // Only load: a check must not create a key the running registry does not know.
    let material = match SigningMaterial::load(&config.secrets_dir()) {
        Ok(material) => material,
        Err(e) => {
            return vec![Finding::Problem(format!(
                "no token signing key yet ({e}); start `bioshadock serve` or run \
                 `bioshadock registry-config` once to create it"
            ))];
        }
    };
    let tokens = TokenIssuer::new(
        material,
        config.registry.issuer.clone(),
        config.registry.service.clone(),
        config.registry.token_kid,
        Duration::from_secs(60),
    );
    let certificate = config.secrets_dir().join(CERTIFICATE_FILE);
    let certificate = certificate.display().to_string();
    let target = Target {
        registry_url,
        public_url: &config.web.public_url,
        certificate: &certificate,
        tokens: &tokens,
    };
    check(&target).await
}
