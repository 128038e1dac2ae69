//! The served OpenAPI document says exactly what the server does: schemathesis (pinned, installed
//! by scripts/test) generates requests from the document, valid and invalid, against a portal
//! with a real registry, and checks every answer against it (`--checks all`): documented status
//! codes, response schemas and content types, valid requests accepted, invalid ones refused,
//! credentials enforced. Zero failures.

use std::path::PathBuf;
use std::process::Command;

use crate::registry::{Registry, text};
use crate::support::*;

/// Fixed, so that CI is repeatable; set `BIOSHADOCK_SCHEMATHESIS_SEED` to explore further.
const DEFAULT_SEED: &str = "20261203";

pub(crate) fn schemathesis() -> PathBuf {
    let path = std::env::var_os("BIOSHADOCK_SCHEMATHESIS").map_or_else(
        || PathBuf::from("/opt/bioshadock-schemathesis/bin/schemathesis"),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "{} is missing: scripts/test installs schemathesis (or set BIOSHADOCK_SCHEMATHESIS)",
        path.display()
    );
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_no_difference_between_the_document_and_the_server() {
    let site = Site::with_registry()
        // Live logs of builds it queues end quickly instead of holding a request open.
        .with_env("BIOSHADOCK__WEB__LIVE_LOG_IDLE_SECS", "2");
    site.seed(20);
    site.add_user("admin", "admin-password");
    let key = crate::registry::api_key(&site, "admin", "read,build,push");
    let _registry = Registry::start(&site).await;
    // The log goes to a file: schemathesis's bad passwords fill it with throttling warnings.
    let _server = site
        .serve_logging_to(&site.dir.path().join("serve.log"))
        .await;

    let config = site.dir.path().join("schemathesis.toml");
    // Two facts no schema can state, so schema-valid input may be refused with 400 (the
    // documented exceptions): a webhook's URL must resolve to a public address (DNS), and a
    // build schedule must be a cron expression that builds at most hourly.
    let webhook_creations: String = [
        "POST /container/webhooks/{namespace}/{name}",
        "POST /orgs/{org}/webhooks",
        "POST /admin/webhooks",
        "PUT /container/build-settings/{namespace}/{name}",
    ]
    .iter()
    .map(|operation| {
        format!(
            "[[operations]]\ninclude-name = \"{operation}\"\n\
             checks.positive_data_acceptance.expected-statuses = \
             [200, 201, 400, 401, 403, 404, 409]\n"
        )
    })
    .collect();
    std::fs::write(
        &config,
        format!("[auth.openapi.bearer]\nbearer = \"{key}\"\n{webhook_creations}"),
    )
    .unwrap();
    let seed =
        std::env::var("BIOSHADOCK_SCHEMATHESIS_SEED").unwrap_or_else(|_| DEFAULT_SEED.to_owned());
    let out = Command::new(schemathesis())
        .arg("--config-file")
        .arg(&config)
        .args(["run", &site.url("/api/openapi.json")])
        .args([
            "--checks",
            "all",
            "--max-examples",
            "20",
            "--request-timeout",
            "10",
        ])
        .args(["--seed", &seed])
        // No example database: each run starts from the seed alone.
        .args(["--generation-database", "none"])
        .env("NO_COLOR", "1")
        .current_dir(site.dir.path())
        .output()
        .unwrap();
    let report = text(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found differences (seed {seed}):\n{report}\n{}",
        text(&out.stderr)
    );
    // It really ran: every operation of the document was tested.
    let doc: serde_json::Value = http()
        .get(site.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let operations: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert!(
        report.contains(&format!("Tested: {operations}")),
        "not every one of the {operations} operations was tested:\n{report}"
    );
}
