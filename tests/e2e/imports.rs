//! Bringing users along: an htpasswd file written by Debian's `htpasswd -B` (apache2-utils)
//! imports, refuses what it cannot take with line numbers, is idempotent, and its passwords
//! work for the real `docker login` and push; the first sign-in replaces the bcrypt hash.

use std::process::{Command, Output};

use crate::registry::{Client, Registry, assert_ok};
use crate::support::*;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `htpasswd -Bbn NAME PASSWORD` (or with `flag` instead of `-B`): one line of the file.
fn htpasswd(flag: &str, name: &str, password: &str) -> String {
    let out: Output = Command::new("htpasswd")
        .args([&format!("{flag}bn"), name, password])
        .output()
        .expect("htpasswd (apache2-utils) is installed by scripts/test");
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).trim().to_owned()
}

#[tokio::test]
async fn an_htpasswd_file_imports_and_its_passwords_work_with_docker() {
    let site = Site::with_registry();
    let file = site.dir.path().join("htpasswd");
    let lines = [
        "# the old registry's users".to_owned(),
        htpasswd("-B", "alice", "alice password"),
        htpasswd("-B", "bob", "bob password"),
        htpasswd("-m", "carol", "carol password"),
    ];
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let path = file.to_str().unwrap();

    // A file with a line it cannot take imports nothing, and says which line and why.
    let refused = site.run(&["import", "htpasswd", path]);
    assert!(!refused.status.success());
    let said = text(&refused.stderr);
    assert!(
        said.contains("line 4: carol: not a bcrypt hash (MD5 ($apr1$))"),
        "{said}"
    );
    assert!(said.contains("nothing was imported"), "{said}");
    let users = text(&site.run(&["user", "list"]).stdout);
    assert!(!users.contains("alice"), "{users}");

    // With --skip-invalid the others come in; a second run changes nothing.
    let imported = site.run(&[
        "import",
        "htpasswd",
        path,
        "--skip-invalid",
        "--role",
        "editor",
    ]);
    assert_ok(&imported, "import");
    assert!(
        text(&imported.stdout)
            .contains("imported 2 users (role editor), replaced 0 passwords, 0 unchanged"),
        "{}",
        text(&imported.stdout)
    );
    let again = site.run(&["import", "htpasswd", path, "--skip-invalid"]);
    assert!(
        text(&again.stdout)
            .contains("imported 0 users (role user), replaced 0 passwords, 2 unchanged"),
        "{}",
        text(&again.stdout)
    );
    assert!(text(&site.run(&["user", "list"]).stdout).contains("editor"));

    // The original password works for docker login and push.
    let server = site.serve().await;
    let registry = Registry::start(&site).await;
    let alice = Client::new();
    assert_ok(
        &alice.login(&registry, "alice", "alice password"),
        "docker login with the imported password",
    );
    let image = registry.image("alice/tool:1.0");
    alice.build(&image, "imported");
    assert_ok(&alice.push(&image), "push");
    let wrong = Client::new();
    assert!(!wrong.login(&registry, "bob", "not bob's").status.success());
    drop(server);

    // alice signed in, so her bcrypt hash was replaced by an argon2id one: the file's line is no
    // longer what is stored, and an import leaves her password alone unless --overwrite.
    let third = site.run(&["import", "htpasswd", path, "--skip-invalid"]);
    let said = text(&third.stdout);
    assert!(said.contains("1 unchanged, 1 existing kept"), "{said}");
    assert!(said.contains("--overwrite replaces them): alice"), "{said}");
}

/// A docker_auth configuration (its sample's users and ACL) imports, idempotently, and its rules
/// then decide the real `docker push` and `pull`: admin does anything anywhere, readonly only
/// pulls.
#[tokio::test]
async fn a_docker_auth_config_imports_and_its_rules_decide_docker() {
    let site = Site::with_registry();
    let hash = |name: &str, password: &str| {
        let line = htpasswd("-B", name, password);
        line.split_once(':').unwrap().1.to_owned()
    };
    let config = format!(
        "server:\n  addr: \":5001\"\ntoken:\n  issuer: \"Acme auth server\"\n  expiration: 900\n\
         users:\n  \"admin\":\n    password: \"{}\"\n  \"readonly\":\n    password: \"{}\"\n\
         acl:\n  - match: {{account: \"admin\"}}\n    actions: [\"*\"]\n    comment: \"Admin has full access to everything.\"\n\
         \x20 - match: {{account: \"readonly\"}}\n    actions: [\"pull\"]\n",
        hash("admin", "admin password"),
        hash("readonly", "readonly password"),
    );
    let file = site.dir.path().join("auth_config.yml");
    std::fs::write(&file, config).unwrap();
    let path = file.to_str().unwrap();
    let first = site.run(&["import", "docker-auth", path]);
    assert_ok(&first, "import");
    let said = text(&first.stdout);
    assert!(said.contains("imported 2 users"), "{said}");
    assert!(said.contains("access rules now hold 2 rules"), "{said}");
    assert!(said.contains("not imported: `server:`"), "{said}");
    assert!(said.contains("built-in rules decide"), "{said}");
    let again = site.run(&["import", "docker-auth", path]);
    let said = text(&again.stdout);
    assert!(
        said.contains("imported 0 users") && said.contains("2 unchanged"),
        "{said}"
    );
    assert!(said.contains("access rules unchanged"), "{said}");

    let server = site.serve().await;
    let registry = Registry::start(&site).await;
    let admin = Client::new();
    assert_ok(
        &admin.login(&registry, "admin", "admin password"),
        "admin logs in",
    );
    // Anywhere: the rule gives admin `*`, though `lab/` is no namespace of theirs.
    let image = registry.image("lab/tool:1.0");
    admin.build(&image, "pushed by admin");
    assert_ok(&admin.push(&image), "admin pushes anywhere");
    let reader = Client::new();
    assert_ok(
        &reader.login(&registry, "readonly", "readonly password"),
        "readonly logs in",
    );
    assert_ok(&reader.pull(&image), "readonly pulls");
    let update = registry.image("lab/tool:1.1");
    reader.build(&update, "not allowed");
    crate::registry::assert_denied(&reader.push(&update), "readonly pushes");
    let own = registry.image("readonly/tool:1.0");
    reader.build(&own, "not even its own");
    crate::registry::assert_denied(
        &reader.push(&own),
        "the rule decides even in its own namespace",
    );
    drop(server);
}
