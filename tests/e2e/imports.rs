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
