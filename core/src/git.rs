//! Git sources of builds: `URL`, `URL#ref`, or `URL#ref:subdir`, as Bioshadock wrote them.
//!
//! Only network schemes are accepted (`https`, `http`, `git`, `ssh`, and scp-like
//! `user@host:path`): a `file://` URL or a bare path would let a build read the builder's own
//! disk.

/// Why a git source was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid git source: {0}")]
pub struct GitSourceError(String);

/// A validated git source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitSource {
    pub url: String,
    pub reference: Option<String>,
    pub subdir: Option<String>,
}

/// The longest git source, in characters.
pub const MAX_LEN: usize = 2048;

/// [`GitSource::parse`]'s grammar as one regular expression (with look-aheads, which JSON
/// Schema's dialect and Python have), for the OpenAPI document. A test holds it to the parser.
///
/// - no whitespace or control character anywhere, at most 2048 characters;
/// - `scheme://[user@]host/path` with scheme https, http, git or ssh (any case), or scp-like
///   `user@host:path` when no `://` comes before the `#`; user, host and path do not start
///   with `-`, host and path are not empty;
/// - then optionally `#ref` or `#ref:subdir`: the ref does not start with `-` nor contain
///   `..`, the sub-directory does not start with `/` nor have a `..` part.
///
/// Its length bound is not in it (a look-ahead over the whole string defeats generators of
/// examples): publish [`MAX_LEN`] beside it as `maxLength`.
pub const GIT_SOURCE_PATTERN: &str = concat!(
    r"^(?:(?:[hH][tT][tT][pP][sS]?|[gG][iI][tT]|[sS][sS][hH])://",
    r"(?:(?!-)[^/#\s\x00-\x1f\x7f-\x9f]*@)?(?!-)[^/#@\s\x00-\x1f\x7f-\x9f]+/(?!-)[^#\s\x00-\x1f\x7f-\x9f]+",
    r"|(?![^#]*://)(?!-)[^:#\s\x00-\x1f\x7f-\x9f]+@(?!-)[^:#@\s\x00-\x1f\x7f-\x9f]+:(?!-)[^#\s\x00-\x1f\x7f-\x9f]+)",
    r"(?:#(?!-)(?:(?!\.\.)[^:\s\x00-\x1f\x7f-\x9f])*",
    r"(?::(?!/)(?!(?:[^/]*/)*\.\.(?:/|$))[^\s\x00-\x1f\x7f-\x9f]*)?)?$"
);

impl GitSource {
    pub fn parse(raw: &str) -> Result<Self, GitSourceError> {
        let bad = |why: &str| Err(GitSourceError(why.to_owned()));
        // No trimming: a source with surrounding spaces is refused like any other space, so
        // the API accepts exactly what its published pattern says. Forms trim before calling.
        if raw.is_empty() {
            return bad("it is empty");
        }
        if raw.chars().count() > MAX_LEN {
            return bad("it is longer than 2048 characters");
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return bad("it contains spaces or control characters");
        }
        let (url, fragment) = match raw.split_once('#') {
            Some((url, fragment)) => (url, Some(fragment)),
            None => (raw, None),
        };
        check_url(url)?;
        let (reference, subdir) = match fragment {
            None => (None, None),
            Some(fragment) => {
                let (reference, subdir) = match fragment.split_once(':') {
                    Some((r, s)) => (r, Some(s)),
                    None => (fragment, None),
                };
                if reference.starts_with('-') || reference.contains("..") {
                    return bad("the ref after `#` is not a valid branch, tag or commit");
                }
                if let Some(dir) = subdir
                    && (dir.starts_with('/') || dir.split('/').any(|part| part == ".."))
                {
                    return bad("the sub-directory must be a relative path inside the repository");
                }
                (
                    Some(reference.to_owned()).filter(|r| !r.is_empty()),
                    subdir.map(str::to_owned).filter(|s| !s.is_empty()),
                )
            }
        };
        Ok(Self {
            url: url.to_owned(),
            reference,
            subdir,
        })
    }
}

impl GitSource {
    /// The URL without any `user:password@` part: what logs, labels and pages may show.
    pub fn public_url(&self) -> String {
        redact_userinfo(&self.url)
    }
}

/// A commit id as git shows it short: its first seven characters.
pub fn short_commit(commit: &str) -> String {
    commit.chars().take(7).collect()
}

/// `scheme://user:secret@host/path?token=…#ref` → `scheme://host/path#ref`: credentials live in
/// the user-info part or the query. scp-like `git@host:path` is kept (its user is a
/// convention, not a secret).
pub fn redact_userinfo(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
            let host = authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host);
            let path = match path.split_once('?') {
                Some((before, query)) => match query.split_once('#') {
                    Some((_, fragment)) => format!("{before}#{fragment}"),
                    None => before.to_owned(),
                },
                None => path.to_owned(),
            };
            if path.is_empty() && !rest.contains('/') {
                format!("{scheme}://{host}")
            } else {
                format!("{scheme}://{host}/{path}")
            }
        }
        None => url.to_owned(),
    }
}

fn check_url(url: &str) -> Result<(), GitSourceError> {
    let refuse = |why: &str| Err(GitSourceError(why.to_owned()));
    // Git hands the user, host and path of an ssh source to `ssh` as arguments: one that
    // starts with `-` is read as an option (`-oProxyCommand=…` runs a command on the builder).
    let option_like = |part: &str| part.starts_with('-');
    if let Some((scheme, rest)) = url.split_once("://") {
        if !matches!(
            scheme.to_ascii_lowercase().as_str(),
            "https" | "http" | "git" | "ssh"
        ) {
            return refuse(
                "use an https, http, git or ssh URL (file and other schemes are refused)",
            );
        }
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (user, host) = match authority.rsplit_once('@') {
            Some((user, host)) => (Some(user), host),
            None => (None, authority),
        };
        if host.is_empty() || option_like(host) {
            return refuse("the URL has no host");
        }
        if user.is_some_and(option_like) {
            return refuse("the user name in the URL may not start with `-`");
        }
        if path.is_empty() {
            return refuse("the URL has no repository path");
        }
        if option_like(path) {
            return refuse("the repository path may not start with `-`");
        }
        return Ok(());
    }
    // scp-like `git@github.com:org/repo.git`: a user, a host and a path, none of them empty
    // and none looking like an option.
    let scp_like = url.split_once(':').and_then(|(user_host, path)| {
        let (user, host) = user_host.rsplit_once('@')?;
        Some([user, host, path])
    });
    match scp_like {
        Some(parts) if parts.iter().all(|p| !p.is_empty() && !option_like(p)) => Ok(()),
        Some(_) => refuse(
            "in `user@host:path` the user, the host and the path must be present and may not start with `-`",
        ),
        None => refuse("use an https, http, git or ssh URL; local paths are refused"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_network_urls_with_refs_and_subdirs() {
        let s = GitSource::parse("https://github.com/lab/tool.git#v1.2:docker").unwrap();
        assert_eq!(s.url, "https://github.com/lab/tool.git");
        assert_eq!(s.reference.as_deref(), Some("v1.2"));
        assert_eq!(s.subdir.as_deref(), Some("docker"));
        for ok in [
            "http://git.lab.org/x/y",
            "git://git.lab.org/x/y",
            "ssh://git@git.lab.org/x/y.git",
            "git@github.com:lab/tool.git",
            "ssh://git@git.lab.org:2222/x/y.git",
            "deploy@git.lab.org:~lab/tool.git",
            "https://github.com/lab/tool#main",
        ] {
            assert!(GitSource::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn public_url_hides_credentials() {
        let s = GitSource::parse("https://bob:s3cret@git.lab.org/x/y.git#main").unwrap();
        assert_eq!(s.public_url(), "https://git.lab.org/x/y.git");
        let s = GitSource::parse("git@github.com:lab/tool.git").unwrap();
        assert_eq!(s.public_url(), "git@github.com:lab/tool.git");
        assert_eq!(
            redact_userinfo("https://x:tok@git.lab.org/a/b.git?private_token=t#v1:docker"),
            "https://git.lab.org/a/b.git#v1:docker"
        );
    }

    #[test]
    fn refuses_local_and_odd_sources() {
        for bad in [
            "",
            "file:///etc",
            "/srv/repo",
            "../repo",
            "ext::sh -c touch% /tmp/pwned",
            "https://",
            "https://github.com",
            "https://github.com/lab/tool#main:../..",
            "https://github.com/lab/tool#--upload-pack=x",
            "ftp://host/x",
            "-oProxyCommand=x:y",
            // Options smuggled into the arguments git gives `ssh`.
            "git@-oProxyCommand=x:repo",
            "git@host:-x",
            "-git@host:path",
            "-host:path",
            "@host:path",
            "git@:path",
            "git@host:",
            "ssh://-oProxyCommand=x/repo",
            "ssh://git@-oProxyCommand=x/repo",
            "ssh://-oProxyCommand=x@host/repo",
            "ssh://host/-x",
            "ssh://host/",
        ] {
            assert!(GitSource::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    /// The published pattern accepts exactly what the parser accepts: on the cases above, and
    /// on every combination of a set of URL pieces chosen to sit on each rule's edge.
    #[test]
    fn the_published_pattern_is_the_parsers_grammar() {
        let pattern = fancy_regex::Regex::new(GIT_SOURCE_PATTERN).unwrap();
        let agree = |raw: &str| {
            assert_eq!(
                pattern.is_match(raw).unwrap() && raw.chars().count() <= MAX_LEN,
                GitSource::parse(raw).is_ok(),
                "{raw:?}"
            );
        };
        let heads = [
            "https://", "HTTP://", "git://", "ssh://", "ftp://", "", "-", "u@", "@", "a@b@", "-u@",
            "u@-", "x:",
        ];
        let middles = ["host", "-host", "h@st", "", "h:22", "h st", "h\u{7}"];
        let tails = [
            "/repo", "/", "/-r", ":repo", ":-r", ":", "/a://b", "://x", "/r/", "/é",
        ];
        let fragments = [
            "",
            "#",
            "#main",
            "#-x",
            "#a..b",
            "#v1:docker",
            "#v1:/abs",
            "#v1:a/../b",
            "#:..",
            "#:a/..",
            "#:a/..b",
            "#:...",
            "#a#b:c:d",
            "#x:a b",
            "#.",
        ];
        for head in heads {
            for middle in middles {
                for tail in tails {
                    for fragment in fragments {
                        agree(&format!("{head}{middle}{tail}{fragment}"));
                    }
                }
            }
        }
        agree(&format!("https://h/{}", "r".repeat(MAX_LEN - 10)));
        agree(&format!("https://h/{}", "r".repeat(MAX_LEN - 9)));
        agree(&format!("https://h/{}", "é".repeat(MAX_LEN - 9)));
        agree(" https://h/r");
        agree("https://h/r\n");
    }
}
