//! Reading each provider's push and tag payloads (as documented, and as the fixtures beside
//! this file record them) into one [`Push`]: the ref, the pushed commit, the files the commits
//! touched when the payload lists them all, and the default branch.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::{MAX_CHANGED_PATHS, Provider, Push, RefKind, is_commit_id};

/// What a delivery amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A push of a branch or tag to build from.
    Push(Push),
    /// Something to acknowledge and not build: a ping, another event, a deletion.
    Ignore(String),
}

/// The fields the providers share (GitHub and Gitea exactly; GitLab adds `checkout_sha`,
/// `total_commits_count` and names its repository `project`).
#[derive(Debug, Deserialize)]
struct Payload {
    #[serde(rename = "ref")]
    reference: Option<String>,
    after: Option<String>,
    checkout_sha: Option<String>,
    #[serde(default)]
    commits: Option<Vec<Commit>>,
    /// GitLab: how many commits the push holds (the list stops at 20).
    total_commits_count: Option<u64>,
    /// Gitea: the same.
    total_commits: Option<u64>,
    repository: Option<Repository>,
    project: Option<Repository>,
    /// GitHub: the ref was deleted.
    #[serde(default)]
    deleted: bool,
}

#[derive(Debug, Deserialize)]
struct Commit {
    #[serde(default)]
    added: Vec<String>,
    #[serde(default)]
    removed: Vec<String>,
    #[serde(default)]
    modified: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Repository {
    default_branch: Option<String>,
}

/// The generic form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Generic {
    #[serde(rename = "ref")]
    reference: String,
    commit: String,
    changed_paths: Option<Vec<String>>,
    default_branch: Option<String>,
}

/// What `body` says, given the provider's event header (`X-GitHub-Event`, `X-Gitlab-Event`,
/// `X-Gitea-Event`; none for the generic form). `Err` for a body that is not the payload it
/// claims to be.
pub fn parse(provider: Provider, event: Option<&str>, body: &[u8]) -> Result<Received, String> {
    let wanted = match (provider, event) {
        (Provider::Generic, _) => return generic(body),
        (Provider::Github, Some("push")) | (Provider::Gitea, Some("push")) => true,
        (Provider::Gitlab, Some("Push Hook" | "Tag Push Hook")) => true,
        (Provider::Github, Some("ping")) => {
            return Ok(Received::Ignore("a ping: the hook is set up".into()));
        }
        (_, Some(other)) => {
            let other: String = other.chars().take(64).collect();
            return Ok(Received::Ignore(format!("a `{other}` event, not a push")));
        }
        (_, None) => return Err("the event header is missing".into()),
    };
    debug_assert!(wanted);
    let payload: Payload =
        serde_json::from_slice(body).map_err(|e| format!("not a push payload: {e}"))?;
    let reference = payload.reference.ok_or("the payload names no ref")?;
    let (kind, name) = split_ref(&reference)?;
    let commit = payload
        .checkout_sha
        .filter(|c| !c.is_empty())
        .or(payload.after)
        .unwrap_or_default();
    if payload.deleted || commit.bytes().all(|b| b == b'0') {
        return Ok(Received::Ignore(format!(
            "{} was deleted",
            kind.describe(&name)
        )));
    }
    if !is_commit_id(&commit) {
        return Err(format!("`{}` is not a commit id", shown(&commit)));
    }
    let listed = payload.commits.as_deref().unwrap_or_default().len() as u64;
    let total = payload.total_commits_count.or(payload.total_commits);
    // A tag or a new branch lists no commits (or not all of them); a list cut short says
    // nothing of the files it left out.
    let complete = kind == RefKind::Branch && listed > 0 && total.is_none_or(|t| t == listed);
    let changed_paths = complete
        .then(|| changed(payload.commits.unwrap_or_default()))
        .flatten();
    // GitLab names it in `project` (its `repository` has no such field).
    let default_branch = payload
        .project
        .and_then(|p| p.default_branch)
        .or_else(|| payload.repository.and_then(|r| r.default_branch));
    Ok(Received::Push(Push {
        kind,
        name,
        commit: commit.to_ascii_lowercase(),
        changed_paths,
        default_branch,
    }))
}

fn generic(body: &[u8]) -> Result<Received, String> {
    let form: Generic = serde_json::from_slice(body)
        .map_err(|e| format!("the body is not {{ref, commit, changed_paths?}}: {e}"))?;
    let (kind, name) = split_ref(&form.reference)?;
    if !is_commit_id(&form.commit) {
        return Err(format!("`{}` is not a commit id", shown(&form.commit)));
    }
    let changed_paths = match form.changed_paths {
        Some(paths) if paths.len() <= MAX_CHANGED_PATHS => Some(paths.into_iter().collect()),
        _ => None,
    };
    Ok(Received::Push(Push {
        kind,
        name,
        commit: form.commit.to_ascii_lowercase(),
        changed_paths,
        default_branch: form.default_branch,
    }))
}

/// `refs/heads/x` → branch x, `refs/tags/v1` → tag v1; a bare name is a branch.
fn split_ref(reference: &str) -> Result<(RefKind, String), String> {
    let (kind, name) = if let Some(name) = reference.strip_prefix("refs/heads/") {
        (RefKind::Branch, name)
    } else if let Some(name) = reference.strip_prefix("refs/tags/") {
        (RefKind::Tag, name)
    } else if reference.starts_with("refs/") {
        return Err(format!(
            "`{}` is neither a branch nor a tag",
            shown(reference)
        ));
    } else {
        (RefKind::Branch, reference)
    };
    let valid = !name.is_empty()
        && name.len() <= 255
        && !name.chars().any(|c| c.is_control() || c.is_whitespace())
        && !name.contains("..");
    if valid {
        Ok((kind, name.to_owned()))
    } else {
        Err(format!("`{}` is not a ref name", shown(reference)))
    }
}

/// Every path the commits touched; `None` beyond [`MAX_CHANGED_PATHS`].
fn changed(commits: Vec<Commit>) -> Option<BTreeSet<String>> {
    let mut paths = BTreeSet::new();
    for commit in commits {
        for path in commit
            .added
            .into_iter()
            .chain(commit.removed)
            .chain(commit.modified)
        {
            paths.insert(path);
            if paths.len() > MAX_CHANGED_PATHS {
                return None;
            }
        }
    }
    Some(paths)
}

/// A value from a stranger, cut for an error message.
fn shown(value: &str) -> String {
    value.chars().filter(|c| !c.is_control()).take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(provider: Provider, event: &str, body: &str) -> Push {
        match parse(provider, Some(event), body.as_bytes()).unwrap() {
            Received::Push(push) => push,
            other => panic!("{other:?}"),
        }
    }

    fn paths(list: &[&str]) -> Option<BTreeSet<String>> {
        Some(list.iter().map(|p| (*p).to_owned()).collect())
    }

    #[test]
    fn github_pushes_and_tags_are_read() {
        let main = push(
            Provider::Github,
            "push",
            include_str!("fixtures/github_push.json"),
        );
        assert_eq!(main.kind, RefKind::Branch);
        assert_eq!(main.name, "main");
        assert_eq!(main.commit, "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c");
        assert!(main.to_default_branch());
        assert_eq!(
            main.changed_paths,
            paths(&[
                "samtools/Dockerfile",
                "samtools/old-test.sh",
                "samtools/test.sh"
            ])
        );
        let tag = push(
            Provider::Github,
            "push",
            include_str!("fixtures/github_tag.json"),
        );
        assert_eq!((tag.kind, tag.name.as_str()), (RefKind::Tag, "v1.20.0"));
        assert_eq!(tag.changed_paths, None, "a tag lists no commits");
        let deleted = parse(
            Provider::Github,
            Some("push"),
            include_bytes!("fixtures/github_branch_deleted.json"),
        );
        assert_eq!(
            deleted,
            Ok(Received::Ignore("branch feature/old was deleted".into()))
        );
        let ping = parse(
            Provider::Github,
            Some("ping"),
            include_bytes!("fixtures/github_ping.json"),
        );
        assert!(matches!(ping, Ok(Received::Ignore(why)) if why.contains("ping")));
        let other = parse(Provider::Github, Some("issues"), b"{}");
        assert!(matches!(other, Ok(Received::Ignore(why)) if why.contains("`issues`")));
    }

    #[test]
    fn gitlab_pushes_and_tags_are_read() {
        let master = push(
            Provider::Gitlab,
            "Push Hook",
            include_str!("fixtures/gitlab_push.json"),
        );
        assert_eq!(master.name, "master");
        assert_eq!(master.commit, "da1560886d4f094c3e6c9ef40349f7d38b5d27d7");
        assert!(master.to_default_branch());
        assert_eq!(
            master.changed_paths,
            paths(&["README.md", "aligner/CHANGELOG", "aligner/Dockerfile"])
        );
        let tag = push(
            Provider::Gitlab,
            "Tag Push Hook",
            include_str!("fixtures/gitlab_tag.json"),
        );
        assert_eq!((tag.kind, tag.name.as_str()), (RefKind::Tag, "v2.1"));
        assert_eq!(tag.commit, "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7");
        // 37 commits, 1 listed: the files are not known.
        let cut = push(
            Provider::Gitlab,
            "Push Hook",
            include_str!("fixtures/gitlab_truncated.json"),
        );
        assert_eq!(cut.changed_paths, None);
    }

    #[test]
    fn gitea_pushes_are_read() {
        let develop = push(
            Provider::Gitea,
            "push",
            include_str!("fixtures/gitea_push.json"),
        );
        assert_eq!(develop.name, "develop");
        assert!(!develop.to_default_branch());
        assert_eq!(develop.default_branch.as_deref(), Some("main"));
        assert_eq!(
            develop.changed_paths,
            paths(&["bwa/Dockerfile", "bwa/build.sh"])
        );
    }

    #[test]
    fn the_generic_form_and_bad_bodies() {
        let body = br#"{"ref": "refs/tags/v3", "commit": "0D1A26E67D8F5EAF1F6BA5C57FC3C7D91AC0FD1C", "changed_paths": ["a/Dockerfile"]}"#;
        let Ok(Received::Push(generic)) = parse(Provider::Generic, None, body) else {
            panic!()
        };
        assert_eq!((generic.kind, generic.name.as_str()), (RefKind::Tag, "v3"));
        assert_eq!(generic.commit, "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c");
        assert_eq!(generic.changed_paths, paths(&["a/Dockerfile"]));
        for bad in [
            &br#"{"ref": "main"}"#[..],
            br#"{"ref": "main", "commit": "HEAD"}"#,
            br#"{"ref": "refs/pull/1/head", "commit": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"}"#,
            br#"{"ref": "a b", "commit": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"}"#,
            br#"{"ref": "main", "commit": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "extra": 1}"#,
            b"not json",
        ] {
            assert!(
                parse(Provider::Generic, None, bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(
            parse(
                Provider::Github,
                Some("push"),
                br#"{"ref": "refs/heads/main", "after": "nope"}"#
            )
            .is_err()
        );
        assert!(
            parse(Provider::Github, None, b"{}").is_err(),
            "no event header"
        );
        let too_many: Vec<String> = (0..=MAX_CHANGED_PATHS).map(|n| format!("f{n}")).collect();
        let body = serde_json::json!({"ref": "main", "commit": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "changed_paths": too_many});
        let Ok(Received::Push(many)) = parse(Provider::Generic, None, body.to_string().as_bytes())
        else {
            panic!()
        };
        assert_eq!(many.changed_paths, None, "beyond the bound: unknown");
    }
}
