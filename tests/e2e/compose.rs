//! The docker-compose file of distributed mode. It cannot be started here (no image can be
//! pulled), so it is validated by `docker-compose config` and its wiring is checked: the services
//! a lab needs, state only in named volumes, the Docker socket for builders only, and a registry
//! configured by `bioshadock registry-config`.

use std::process::Command;

use serde_json::Value;

/// The compose file as `docker-compose config` normalises it, as JSON.
fn normalised() -> Value {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("docker-compose")
        .args(["-f", &format!("{root}/docker-compose.yml"), "config"])
        .output()
        .expect("docker-compose is missing: run scripts/test, which installs it");
    assert!(
        out.status.success(),
        "docker-compose config refused the file: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Debian's docker-compose brings PyYAML to its own Python.
    let mut python = Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    python.stdin.take().unwrap().write_all(&out.stdout).unwrap();
    let json = python.wait_with_output().unwrap();
    assert!(json.status.success());
    serde_json::from_slice(&json.stdout).unwrap()
}

fn volumes(service: &Value) -> Vec<String> {
    service["volumes"]
        .as_array()
        .map(|v| {
            v.iter()
                .map(|m| match m {
                    Value::String(s) => s.clone(),
                    m => format!(
                        "{}:{}",
                        m["source"].as_str().unwrap_or_default(),
                        m["target"].as_str().unwrap_or_default()
                    ),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_compose_file_is_valid_and_wires_distributed_mode() {
    let compose = normalised();
    let services = &compose["services"];
    for name in [
        "mongo",
        "redis",
        "elasticsearch",
        "registry",
        "init",
        "web",
        "builder",
    ] {
        assert!(services[name].is_object(), "no `{name}` service");
    }

    // Web and builders run on the external backends.
    for name in ["web", "builder"] {
        let env = &services[name]["environment"];
        assert_eq!(env["BIOSHADOCK__STORAGE__BACKEND"], "mongodb", "{name}");
        assert_eq!(
            env["BIOSHADOCK__SEARCH__BACKEND"], "elasticsearch",
            "{name}"
        );
        assert_eq!(env["BIOSHADOCK__QUEUE__BACKEND"], "redis", "{name}");
    }
    assert_eq!(services["web"]["command"][0], "web");
    assert_eq!(services["builder"]["command"][0], "builder");

    // Only builders get the Docker socket.
    let socket = "/var/run/docker.sock";
    for (name, service) in services.as_object().unwrap() {
        let has_socket = volumes(service).iter().any(|v| v.contains(socket));
        assert_eq!(has_socket, name == "builder", "docker.sock in `{name}`");
    }

    // The registry's configuration comes from `bioshadock registry-config`, notifications
    // going to the web service.
    let init = services["init"]["command"].to_string();
    assert!(init.contains("bioshadock registry-config"), "{init}");
    assert!(init.contains("--notify-url http://web:8080"), "{init}");
    assert!(services["registry"]["depends_on"]["init"].is_object());

    // State lives in named volumes only (plus the socket bind).
    let named: Vec<&String> = compose["volumes"].as_object().unwrap().keys().collect();
    for (name, service) in services.as_object().unwrap() {
        for volume in volumes(service) {
            if volume.contains(socket) {
                continue;
            }
            let source = volume.split(':').next().unwrap().to_owned();
            assert!(
                named.contains(&&source),
                "`{name}` mounts `{volume}`, not a named volume"
            );
        }
    }
    for name in ["mongo", "redis", "elasticsearch", "web"] {
        assert!(
            services[name]["healthcheck"].is_object() || name == "web",
            "`{name}` has a health check"
        );
    }
}
