//! Accounts from the command line: `bioshadock user …`, alone and beside a running `serve`.

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

use sha2::{Digest, Sha256};

use crate::support::*;

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `bioshadock ARGS` with `input` on standard input.
fn run_with_stdin(site: &Site, args: &[&str], input: &str) -> Output {
    let mut child = site
        .command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Dropping the handle closes standard input.
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Runs a command that must succeed, and returns its standard output.
fn ok(site: &Site, args: &[&str]) -> String {
    let out = site.run(args);
    assert!(out.status.success(), "{args:?} failed: {}", stderr(&out));
    stdout(&out)
}

/// Asserts a failure with one line on standard error that contains `needle`.
fn assert_fails_with(out: &Output, needle: &str) {
    assert!(!out.status.success(), "should fail: {}", stdout(out));
    let err = stderr(out);
    assert!(err.contains(needle), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
}

/// The row of `user list` for `name`, split into columns.
fn listed(site: &Site, name: &str) -> Option<Vec<String>> {
    ok(site, &["user", "list"])
        .lines()
        .map(|line| {
            line.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .find(|columns| columns.first().is_some_and(|first| first == name))
}

fn is_api_key(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("bsk_") else {
        return false;
    };
    let Some((id, secret)) = rest.split_once('_') else {
        return false;
    };
    id.len() == 12
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && secret.len() == 43
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Every byte of every file under `dir` (database, its WAL, the index, …), concatenated.
fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            bytes.extend(all_bytes(&path));
        } else {
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    bytes
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_user_added_with_a_password_on_stdin_is_listed() {
    let site = Site::new();
    let out = run_with_stdin(
        &site,
        &["user", "add", "alice", "--editor", "--password-stdin"],
        "correct horse battery\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim_end(), "created editor \"alice\"");
    assert_eq!(listed(&site, "alice").unwrap()[1..3], ["editor", "no"]);
    let stored = all_bytes(&site.data_dir());
    assert!(
        !contains(&stored, b"correct horse battery"),
        "password stored in clear"
    );
}

#[test]
fn without_password_stdin_a_generated_password_is_shown_once() {
    let site = Site::new();
    let printed = ok(&site, &["user", "add", "root", "--admin"]);
    let password = printed
        .trim_end()
        .strip_prefix("created admin \"root\"; password: ")
        .and_then(|rest| rest.strip_suffix(" (shown once: store it now)"))
        .unwrap_or_else(|| panic!("unexpected output: {printed}"));
    assert_eq!(password.len(), 20);
    assert!(password.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(listed(&site, "root").unwrap()[1], "admin");
}

#[test]
fn a_taken_name_is_refused() {
    let site = Site::new();
    site.add_user("bob", "first password");
    let out = run_with_stdin(
        &site,
        &["user", "add", "bob", "--password-stdin"],
        "second password\n",
    );
    assert_fails_with(&out, "user `bob` already exists");
}

#[test]
fn an_invalid_name_is_refused_before_anything_is_created() {
    let site = Site::new();
    let out = site.run(&["user", "add", "Bad/Name"]);
    assert_fails_with(&out, "not a valid user name");
    let out = site.run(&["user", "add", "library"]);
    assert_fails_with(&out, "reserved");
    assert!(!site.data_dir().exists(), "nothing was created");
}

#[test]
fn a_short_or_missing_password_is_refused() {
    let site = Site::new();
    let out = run_with_stdin(
        &site,
        &["user", "add", "carol", "--password-stdin"],
        "short\n",
    );
    assert_fails_with(&out, "at least 8 characters");
    let out = run_with_stdin(&site, &["user", "add", "carol", "--password-stdin"], "");
    assert_fails_with(&out, "at least 8 characters");
    assert!(listed(&site, "carol").is_none());
}

#[test]
fn apikey_prints_one_new_key_alone_each_time() {
    let site = Site::new();
    site.add_user("dave", "dave's password");
    let first = ok(&site, &["user", "apikey", "dave"]);
    let second = ok(
        &site,
        &[
            "user",
            "apikey",
            "dave",
            "--label",
            "ci",
            "--scopes",
            "read,build",
            "--expires-days",
            "30",
        ],
    );
    for printed in [&first, &second] {
        assert_eq!(printed.lines().count(), 1, "{printed}");
        assert!(printed.ends_with('\n'));
        assert!(is_api_key(printed.trim_end()), "{printed}");
    }
    assert_ne!(first, second);
}

#[test]
fn keys_are_stored_only_as_hashes() {
    let site = Site::new();
    site.add_user("erin", "erin's password");
    let printed = ok(&site, &["user", "apikey", "erin"]);
    let key = printed.trim_end();
    let id = &key[4..16];
    let stored = all_bytes(&site.data_dir());
    assert!(
        !contains(&stored, key.as_bytes()),
        "the key is stored in clear"
    );
    let secret = &key[17..];
    assert!(
        !contains(&stored, secret.as_bytes()),
        "the secret is stored in clear"
    );
    assert!(contains(&stored, id.as_bytes()), "the public id is stored");
    let hash = hex::encode(Sha256::digest(key.as_bytes()));
    assert!(
        contains(&stored, hash.as_bytes()),
        "the SHA-256 hex is stored"
    );
}

#[test]
fn apikey_refuses_an_unknown_user_and_unknown_scopes() {
    let site = Site::new();
    site.add_user("frank", "frank's password");
    let out = site.run(&["user", "apikey", "nobody"]);
    assert_fails_with(&out, "no user `nobody`");
    assert!(out.stdout.is_empty());
    let out = site.run(&["user", "apikey", "frank", "--scopes", "read,admin"]);
    assert_fails_with(&out, "unknown scope `admin`");
    assert!(out.stdout.is_empty());
}

#[test]
fn role_passwd_disable_and_enable_change_the_user() {
    let site = Site::new();
    site.add_user("grace", "grace's password");
    ok(&site, &["user", "role", "grace", "admin"]);
    ok(&site, &["user", "disable", "grace"]);
    assert_eq!(listed(&site, "grace").unwrap()[1..3], ["admin", "yes"]);
    ok(&site, &["user", "enable", "grace"]);
    assert_eq!(listed(&site, "grace").unwrap()[1..3], ["admin", "no"]);
    let printed = ok(&site, &["user", "passwd", "grace"]);
    assert!(printed.contains("shown once"), "{printed}");
    let out = run_with_stdin(
        &site,
        &["user", "passwd", "grace", "--password-stdin"],
        "tiny\n",
    );
    assert_fails_with(&out, "at least 8 characters");
    assert_fails_with(
        &site.run(&["user", "disable", "nobody"]),
        "no user `nobody`",
    );
}

#[tokio::test]
async fn user_commands_work_while_serve_runs_and_serve_explains_the_first_step() {
    let site = Site::new();
    let log = site.dir.path().join("serve.log");
    let server = site.serve_logging_to(&log).await;
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("bioshadock user add admin --admin"),
        "{logged}"
    );
    assert!(logged.contains(&site.url("/login")), "{logged}");

    site.add_user("heidi", "heidi's password");
    assert_eq!(listed(&site, "heidi").unwrap()[1], "user");
    let key = ok(&site, &["user", "apikey", "heidi"]);
    assert!(is_api_key(key.trim_end()), "{key}");
    server.stop();

    let server = site.serve_logging_to(&log).await;
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        !logged.contains("user add"),
        "no hint once a user exists: {logged}"
    );
    server.stop();
}
