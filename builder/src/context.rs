//! Build contexts as the uncompressed tar archives the Docker Engine's build API takes.
//!
//! The context comes from a user's repository, so it is read without trusting it: symlinks are
//! stored as symlinks and never followed (a `data -> /` link must not send the builder's disk to
//! the engine), special files are skipped, and the size is capped while reading, before a huge
//! repository fills the builder's memory.

use std::io;
use std::path::{Path, PathBuf};

use tar::{Builder, EntryType, Header, HeaderMode};

/// Why a build context could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// The files to send exceed the configured limit.
    #[error(
        "the build context is larger than the limit of {} MiB: add a .dockerignore or build from a smaller sub-directory",
        max_bytes / (1024 * 1024)
    )]
    TooLarge { max_bytes: u64 },
    /// A file of the context could not be read (the path is relative to the context).
    #[error("cannot read `{path}` in the build context: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
}

/// The directory `dir` as a tar archive, paths relative to `dir`, at most `max_bytes` long.
///
/// - Symlinks are stored as links (with their target as written), never followed.
/// - Regular files, directories and symlinks only; sockets, FIFOs and devices are skipped.
/// - `.git` directories (at any depth) are skipped: the engine does not need the history.
/// - Metadata is made deterministic (fixed owner and time, modes 644/755), so the engine's
///   layer cache hits when the content did not change, whatever the checkout time.
/// - `.dockerignore` at the root is honoured as described in [`DockerIgnore`]; `Dockerfile` and
///   `.dockerignore` themselves are always sent, as the docker CLI does.
pub fn tar_directory(dir: &Path, max_bytes: u64) -> Result<Vec<u8>, ContextError> {
    let ignore = match std::fs::read_to_string(dir.join(".dockerignore")) {
        Ok(text) => DockerIgnore::parse(&text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => DockerIgnore::default(),
        Err(source) => {
            return Err(ContextError::Io {
                path: ".dockerignore".into(),
                source,
            });
        }
    };
    let mut tar = Builder::new(Vec::new());
    tar.mode(HeaderMode::Deterministic);
    tar.follow_symlinks(false);
    let mut pending: Vec<PathBuf> = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let full = dir.join(&relative);
        let io_error = |source| ContextError::Io {
            path: display(&relative),
            source,
        };
        let mut children = std::fs::read_dir(&full)
            .and_then(|entries| entries.collect::<Result<Vec<_>, _>>())
            .map_err(io_error)?;
        children.sort_by_key(|entry| entry.file_name());
        // Reversed onto the stack so that the archive lists names in order (depth first).
        let mut subdirs = Vec::new();
        for entry in children {
            let name = entry.file_name();
            if name == ".git" {
                continue;
            }
            let path = relative.join(&name);
            let kept_anyway = relative.as_os_str().is_empty()
                && (name == "Dockerfile" || name == ".dockerignore");
            let excluded = !kept_anyway && ignore.excludes(&display(&path));
            let meta = entry.metadata().map_err(|source| ContextError::Io {
                path: display(&path),
                source,
            })?;
            let kind = meta.file_type();
            if kind.is_dir() {
                // An excluded directory is still walked when a `!` line may bring back
                // something inside it.
                if !excluded {
                    append(&mut tar, dir, &path, 0, max_bytes)?;
                }
                if !excluded || ignore.has_exceptions() {
                    subdirs.push(path);
                }
            } else if (kind.is_file() || kind.is_symlink()) && !excluded {
                let size = if kind.is_file() { meta.len() } else { 0 };
                append(&mut tar, dir, &path, size, max_bytes)?;
            }
        }
        pending.extend(subdirs.into_iter().rev());
    }
    let bytes = tar.into_inner().map_err(|source| ContextError::Io {
        path: ".".into(),
        source,
    })?;
    if bytes.len() as u64 > max_bytes {
        return Err(ContextError::TooLarge { max_bytes });
    }
    Ok(bytes)
}

/// A context holding only a `Dockerfile` with `content`, for containers defined by a Dockerfile
/// written in the portal rather than a git repository.
pub fn tar_dockerfile(content: &str) -> Result<Vec<u8>, ContextError> {
    let mut header = Header::new_gnu();
    header.set_entry_type(EntryType::Regular);
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    let mut tar = Builder::new(Vec::new());
    tar.append_data(&mut header, "Dockerfile", content.as_bytes())
        .and_then(|()| tar.into_inner())
        .map_err(|source| ContextError::Io {
            path: "Dockerfile".into(),
            source,
        })
}

/// Appends one entry after checking that it keeps the archive within `max_bytes` (header and
/// padding included), so an oversized file is refused before it is read.
fn append(
    tar: &mut Builder<Vec<u8>>,
    dir: &Path,
    relative: &Path,
    size: u64,
    max_bytes: u64,
) -> Result<(), ContextError> {
    let after = tar.get_ref().len() as u64 + 512 + size.div_ceil(512) * 512;
    if after > max_bytes {
        return Err(ContextError::TooLarge { max_bytes });
    }
    tar.append_path_with_name(dir.join(relative), relative)
        .map_err(|source| ContextError::Io {
            path: display(relative),
            source,
        })
}

fn display(relative: &Path) -> String {
    if relative.as_os_str().is_empty() {
        ".".into()
    } else {
        relative.to_string_lossy().into_owned()
    }
}

/// The subset of `.dockerignore` that is honoured: one pattern per line, blank lines and `#`
/// comments ignored, a leading `/` and `./` dropped; in a pattern `*` matches within one path
/// segment, `?` one character, `[a-z]`/`[!a-z]` a class, `**` any number of segments, `\`
/// escapes. A pattern that matches a directory excludes everything under it. A line starting
/// with `!` re-includes what it matches, and the last matching line wins, as with Docker.
#[derive(Debug, Default)]
pub struct DockerIgnore {
    patterns: Vec<(bool, Vec<String>)>,
}

impl DockerIgnore {
    /// Reads the lines of a `.dockerignore` file.
    pub fn parse(text: &str) -> Self {
        let patterns = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .filter_map(|line| {
                let (negated, pattern) = match line.strip_prefix('!') {
                    Some(rest) => (true, rest.trim()),
                    None => (false, line),
                };
                let segments: Vec<String> = pattern
                    .split('/')
                    .filter(|s| !s.is_empty() && *s != ".")
                    .map(str::to_owned)
                    .collect();
                (!segments.is_empty()).then_some((negated, segments))
            })
            .collect();
        Self { patterns }
    }

    /// Whether some line starts with `!`.
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|(negated, _)| *negated)
    }

    /// Whether `path` (relative to the context, `/`-separated) is left out of the context.
    pub fn excludes(&self, path: &str) -> bool {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut excluded = false;
        for (negated, pattern) in &self.patterns {
            let pattern: Vec<&str> = pattern.iter().map(String::as_str).collect();
            // The path itself or one of its parent directories.
            let hit = (1..=segments.len()).any(|n| match_segments(&pattern, &segments[..n]));
            if hit {
                excluded = !negated;
            }
        }
        excluded
    }
}

fn match_segments(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|skip| match_segments(rest, &path[skip..])),
        Some((first, rest)) => match path.split_first() {
            Some((name, tail)) => {
                let pattern: Vec<char> = first.chars().collect();
                let name: Vec<char> = name.chars().collect();
                match_segment(&pattern, &name) && match_segments(rest, tail)
            }
            None => false,
        },
    }
}

/// One path segment against one pattern segment (`*`, `?`, classes, `\` escapes).
fn match_segment(pattern: &[char], name: &[char]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some(('*', rest)) => (0..=name.len()).any(|skip| match_segment(rest, &name[skip..])),
        Some(('?', rest)) => !name.is_empty() && match_segment(rest, &name[1..]),
        Some(('[', rest)) => {
            let Some(close) = rest.iter().skip(1).position(|c| *c == ']').map(|i| i + 1) else {
                // An unclosed `[` is taken literally.
                return name.first() == Some(&'[') && match_segment(rest, &name[1..]);
            };
            let Some(c) = name.first() else {
                return false;
            };
            let (negated, class) = match rest[..close].split_first() {
                Some(('!' | '^', class)) => (true, class),
                _ => (false, &rest[..close]),
            };
            let mut found = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    found |= (class[i]..=class[i + 2]).contains(c);
                    i += 3;
                } else {
                    found |= class[i] == *c;
                    i += 1;
                }
            }
            found != negated && match_segment(&rest[close + 1..], &name[1..])
        }
        Some(('\\', rest)) if !rest.is_empty() => {
            name.first() == Some(&rest[0]) && match_segment(&rest[1..], &name[1..])
        }
        Some((c, rest)) => name.first() == Some(c) && match_segment(rest, &name[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::DockerIgnore;

    #[test]
    fn dockerignore_patterns() {
        let ignore = DockerIgnore::parse(
            "# comment\n\n*.log\n/build\ndocs/**/*.tmp\nsecret?.txt\n[ab]x\n!keep.log\n",
        );
        assert!(ignore.excludes("a.log"));
        assert!(!ignore.excludes("keep.log"));
        assert!(
            !ignore.excludes("dir/a.log"),
            "`*` stays within one segment"
        );
        assert!(ignore.excludes("build"));
        assert!(
            ignore.excludes("build/out/x.o"),
            "a matched directory excludes its content"
        );
        assert!(ignore.excludes("docs/a/b/c.tmp"));
        assert!(ignore.excludes("docs/c.tmp"));
        assert!(!ignore.excludes("docs/c.md"));
        assert!(ignore.excludes("secret1.txt"));
        assert!(!ignore.excludes("secret12.txt"));
        assert!(ignore.excludes("ax"));
        assert!(!ignore.excludes("cx"));
        assert!(ignore.has_exceptions());
        assert!(!DockerIgnore::parse("# nothing\n").excludes("a"));
    }
}
