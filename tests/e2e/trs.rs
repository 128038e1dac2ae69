//! GA4GH TRS 2.0.1 checked as a peer would: schemathesis (pinned) drives the served API from
//! the vendored specification (`openapi/ga4gh/trs-2.0.1.yaml`) and checks every answer against
//! it, and trs-cli (pinned), a strict client whose models refuse unknown fields, reads every
//! endpoint. Both against a seeded portal.

use std::path::PathBuf;
use std::process::Command;

use crate::registry::{api_key, text};
use crate::support::*;

/// Fixed, so that CI is repeatable; set `BIOSHADOCK_SCHEMATHESIS_SEED` to explore further.
const DEFAULT_SEED: &str = "20261204";

fn tool(var: &str, default: &str, what: &str) -> PathBuf {
    let path = std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from);
    assert!(
        path.exists(),
        "{} is missing: scripts/test installs {what} (or set {var})",
        path.display()
    );
    path
}

fn spec() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi/ga4gh/trs-2.0.1.yaml")
}

/// A seeded, running portal and the id and first version of one of its tools.
async fn seeded() -> (Site, Server, String, String) {
    let site = Site::new();
    site.seed(20);
    let server = site
        .serve_logging_to(&site.dir.path().join("serve.log"))
        .await;
    let tools = get_json(&site.url("/ga4gh/trs/v2/tools?limit=1"), None).await;
    let id = tools[0]["id"].as_str().expect("a seeded tool").to_owned();
    let version = tools[0]["versions"][0]["id"]
        .as_str()
        .expect("a seeded tag")
        .to_owned();
    (site, server, id, version)
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_no_difference_between_trs_2_0_1_and_the_server() {
    let (site, _server, id, version) = seeded().await;
    // A peer with a key: the specification declares a BEARER scheme.
    site.add_user("peer", "peer password");
    let key = api_key(&site, "peer", "read");
    let config = site.dir.path().join("trs.toml");
    // Real ids, so that the tool and version operations reach a tool and not only 404s.
    std::fs::write(
        &config,
        format!(
            "[auth.openapi.BEARER]\napi_key = \"Bearer {key}\"\n\n\
             [parameters]\n\"path.id\" = \"{id}\"\n\"path.version_id\" = \"{version}\"\n"
        ),
    )
    .unwrap();
    let seed =
        std::env::var("BIOSHADOCK_SCHEMATHESIS_SEED").unwrap_or_else(|_| DEFAULT_SEED.to_owned());
    let out = Command::new(crate::openapi_conformance::schemathesis())
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(spec())
        .args(["--url", &site.url("/ga4gh/trs/v2")])
        // The API is public and read-only: anonymous reads are the normal case, so the checks
        // about the declared BEARER scheme and about invalid input the specification does not
        // document an answer for are left out.
        .args(["--mode", "positive"])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        ])
        .args(["--max-examples", "30", "--request-timeout", "10"])
        .args(["--seed", &seed])
        .args(["--generation-database", "none"])
        .env("NO_COLOR", "1")
        .current_dir(site.dir.path())
        .output()
        .unwrap();
    let report = text(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found differences from TRS 2.0.1 (seed {seed}):\n{report}\n{}",
        text(&out.stderr)
    );
    assert!(
        report.contains("Tested: 11"),
        "every one of the 11 TRS operations was tested:\n{report}"
    );
}

/// The start of every trs-cli script: a client for the portal on port `argv[1]`, and `show`,
/// which prints one call's answer as `NAME JSON` on a line.
const TRS_CLI_PRELUDE: &str = r#"
import json, sys
from trs_cli import TRSClient
port, tool_id, version = int(sys.argv[1]), sys.argv[2], sys.argv[3]
client = TRSClient(uri="http://127.0.0.1", port=port)
def plain(v):
    return json.loads(v.json()) if hasattr(v, "json") else v
def show(name, value):
    value = [plain(v) for v in value] if isinstance(value, list) else plain(value)
    print(name, json.dumps(value, default=str))
"#;

/// Runs trs-cli calls (`show("name", client.get_…(id=tool_id, version_id=version))` lines)
/// against the portal for tool `id` (sent percent-encoded, as in a TRS URI) and `version`, and
/// returns each answer by name. Panics if trs-cli refused an answer (its models reject any
/// field they do not know).
pub async fn trs_cli(
    site: &Site,
    id: &str,
    version: &str,
    calls: &str,
) -> std::collections::HashMap<String, serde_json::Value> {
    let python = tool(
        "BIOSHADOCK_TRS_CLI_PYTHON",
        "/opt/bioshadock-trs-cli/bin/python",
        "trs-cli",
    );
    let encoded = id.replace('/', "%2F");
    let script = format!("{TRS_CLI_PRELUDE}{calls}");
    let out = Command::new(python)
        .args(["-c", &script, &site.port.to_string(), &encoded, version])
        .output()
        .unwrap();
    let said = text(&out.stdout);
    assert!(
        out.status.success(),
        "trs-cli refused an answer:\n{said}\n{}",
        text(&out.stderr)
    );
    said.lines()
        .filter_map(|line| line.split_once(' '))
        .map(|(name, json)| (name.to_owned(), serde_json::from_str(json).unwrap()))
        .collect()
}

const EVERY_READ: &str = r#"
show("service_info", client.get_service_info())
show("tool_classes", client.get_tool_classes())
show("tools", client.get_tools(limit=5))
show("tools_by_org", client.get_tools(organization=tool_id.split("%2F")[0]))
show("tool", client.get_tool(id=tool_id))
show("versions", client.get_versions(id=tool_id))
show("version", client.get_version(id=tool_id, version_id=version))
show("containerfiles", client.get_containerfiles(id=tool_id, version_id=version))
show("descriptor", client.get_descriptor(type="CWL", id=tool_id, version_id=version))
show("files", client.get_files(type="CWL", id=tool_id, version_id=version))
show("tests", client.get_tests(type="CWL", id=tool_id, version_id=version))
"#;

#[tokio::test(flavor = "multi_thread")]
async fn trs_cli_reads_every_endpoint_without_an_unknown_field() {
    let (site, _server, id, version) = seeded().await;
    let answers = trs_cli(&site, &id, &version, EVERY_READ).await;
    assert_eq!(answers["service_info"]["type"]["artifact"], "trs");
    assert_eq!(answers["tool_classes"][0]["name"], "CommandLineTool");
    assert!(!answers["tools"].as_array().unwrap().is_empty());
    assert_eq!(answers["tool"]["id"], id.as_str());
    assert!(
        answers["tools_by_org"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["organization"] == answers["tool"]["organization"])
    );
    assert_eq!(answers["version"]["id"], version.as_str());
    assert_eq!(
        answers["version"]["images"][0]["image_name"],
        format!("{id}:{version}")
    );
    assert!(!answers["versions"].as_array().unwrap().is_empty());
    // Seeded tools were pushed, not built, and carry no descriptor: the specification's Error.
    for name in ["containerfiles", "descriptor", "files", "tests"] {
        assert_eq!(answers[name]["code"], 404, "{name}: {}", answers[name]);
    }
}
