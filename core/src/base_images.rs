//! The images a Dockerfile builds from (`FROM`, `COPY --from=`) that live in this portal's
//! registry.
//!
//! The engine is shared by every build, and the classic builder resolves `FROM` from local
//! images first: a build that names `registry/alice/secret` would pick up a copy another build
//! left on the engine. So each such reference is found here, pulled with a token minted for
//! the build's requester (the builder's pipeline), and the Dockerfile is rewritten to the digest
//! just pulled, so the build uses exactly what its requester was allowed to pull. The portal
//! reads the same references from recorded Dockerfiles to rebuild the containers built on a
//! base image that changed.

/// The local repository the builder tags each build's image in (`bioshadock-build/ID-NONCE`):
/// never a registry name.
pub const BUILD_REPOSITORY: &str = "bioshadock-build";
/// The local repository the builder keeps each container's cache image in.
pub const CACHE_REPOSITORY: &str = "bioshadock-cache";

/// One reference to an image of the portal's registry, as `written` in the instruction on
/// physical lines `lines` (0-based, continuations joined in `instruction`), with
/// build-argument defaults substituted into `reference`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalImage {
    pub lines: std::ops::RangeInclusive<usize>,
    pub instruction: String,
    pub written: String,
    pub reference: String,
}

/// The instructions of a Dockerfile as the engine reads them: continuation lines joined
/// (with the escape character of a `# escape=` directive), comment lines dropped; each with the
/// physical lines it spans.
fn instructions(dockerfile: &str) -> Vec<(std::ops::RangeInclusive<usize>, String)> {
    let mut escape = '\\';
    let mut directives = true;
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (n, raw) in dockerfile.lines().enumerate() {
        let trimmed = raw.trim();
        if directives {
            let directive = trimmed.strip_prefix('#').map(str::trim);
            match directive.and_then(|d| d.split_once('=')) {
                Some((key, value)) if key.trim().eq_ignore_ascii_case("escape") => {
                    escape = value.trim().chars().next().unwrap_or('\\');
                    continue;
                }
                _ if directive.is_some() || trimmed.is_empty() => {}
                _ => directives = false,
            }
        }
        if trimmed.starts_with('#') {
            continue;
        }
        let (start, mut text) = current.take().unwrap_or((n, String::new()));
        match trimmed.strip_suffix(escape) {
            Some(head) => {
                text.push_str(head.trim_end());
                text.push(' ');
                current = Some((start, text));
            }
            None => {
                text.push_str(trimmed);
                out.push((start..=n, text));
            }
        }
    }
    if let Some((start, text)) = current {
        out.push((start..=dockerfile.lines().count().saturating_sub(1), text));
    }
    out
}

/// The `FROM` and `COPY --from=` images of `dockerfile` that name one of `hosts` (the
/// registry's host as images name it); stage names and other registries are left out.
///
/// The `ARG`s declared before the first `FROM` are substituted as the engine will: the build's
/// argument when it sets one (`build_args`), else the declared default. A reference still
/// holding a `$` then is refused: it could expand to the portal's registry. So is a reference
/// to an image only this builder's engine has (see [`refuse_local_only`]).
pub fn portal_images(
    dockerfile: &str,
    hosts: &[String],
    build_args: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<PortalImage>, String> {
    let mut args: Vec<(String, String)> = Vec::new();
    let mut stages: Vec<String> = Vec::new();
    let mut seen_from = false;
    let mut found = Vec::new();
    for (lines, text) in instructions(dockerfile) {
        let mut words = text.split_whitespace();
        let Some(instruction) = words.next() else {
            continue;
        };
        let written = match instruction.to_ascii_uppercase().as_str() {
            "ARG" if !seen_from => {
                for word in words {
                    let (name, default) = word.split_once('=').unwrap_or((word, ""));
                    let value = match build_args.get(name) {
                        Some(given) => given.clone(),
                        None => default.trim_matches('"').to_owned(),
                    };
                    args.push((name.to_owned(), value));
                }
                continue;
            }
            "FROM" => {
                seen_from = true;
                let mut rest = words.skip_while(|w| w.starts_with("--"));
                let Some(image) = rest.next() else { continue };
                if rest.next().is_some_and(|w| w.eq_ignore_ascii_case("as"))
                    && let Some(stage) = rest.next()
                {
                    stages.push(stage.to_ascii_lowercase());
                }
                image.to_owned()
            }
            "COPY" => match words.find_map(|w| w.strip_prefix("--from=")) {
                Some(image) => image.to_owned(),
                None => continue,
            },
            _ => continue,
        };
        let reference = substitute(&written, &args);
        if reference.contains('$') {
            return Err(format!(
                "line {}: `{written}` uses a build argument without a default: write the image name out",
                lines.start() + 1
            ));
        }
        let lower = reference.to_ascii_lowercase();
        let is_stage = stages.contains(&lower) || lower.chars().all(|c| c.is_ascii_digit());
        if !is_stage {
            refuse_local_only(&lower)
                .map_err(|why| format!("line {}: {why}", lines.start() + 1))?;
        }
        if !is_stage && hosts.iter().any(|h| lower.starts_with(&format!("{h}/"))) {
            found.push(PortalImage {
                lines,
                instruction: text.clone(),
                written,
                reference,
            });
        }
    }
    Ok(found)
}

/// Refuses a base image that only this builder's engine holds, which would hand a build
/// whatever another build left there:
/// - the builder's own repositories (`bioshadock-build/…`, each build's image, and
///   `bioshadock-cache/…`, each container's cache image, possibly a private one);
/// - an image id or a prefix of one (`FROM 3f2a`, `FROM sha256:…`): the engine looks a name it
///   does not know up as an id prefix, which would pick any image on the engine.
pub fn refuse_local_only(reference: &str) -> Result<(), String> {
    let name = ["docker.io/", "index.docker.io/"]
        .iter()
        .find_map(|prefix| reference.strip_prefix(prefix))
        .unwrap_or(reference);
    for local in [BUILD_REPOSITORY, CACHE_REPOSITORY] {
        if name.starts_with(&format!("{local}/")) {
            return Err(format!(
                "`{reference}` names an image of the builder's own ({local}/…), which builds may not use"
            ));
        }
    }
    let id = name.strip_prefix("sha256:").unwrap_or(name);
    if !id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!(
            "`{reference}` reads as an image id: name the image (repository and tag or digest)"
        ));
    }
    Ok(())
}

/// `dockerfile` with each found reference replaced by its pinned form (`pinned[i]` for
/// `images[i]`), everything else as it was.
pub fn pin(dockerfile: &str, images: &[PortalImage], pinned: &[String]) -> String {
    let mut lines: Vec<String> = dockerfile.lines().map(str::to_owned).collect();
    for (image, pinned) in images.iter().zip(pinned) {
        // The instruction is written back on one line (its continuations emptied, so line
        // numbers in the engine's messages stay right), with the reference replaced at its
        // first occurrence after the instruction word: the one that was read.
        let instruction = &image.instruction;
        let word_end = instruction
            .find(char::is_whitespace)
            .unwrap_or(instruction.len());
        let replaced = match instruction[word_end..].find(&image.written) {
            Some(at) => {
                let at = word_end + at;
                format!(
                    "{}{pinned}{}",
                    &instruction[..at],
                    &instruction[at + image.written.len()..]
                )
            }
            None => instruction.clone(),
        };
        for n in image.lines.clone() {
            lines[n] = String::new();
        }
        lines[*image.lines.start()] = replaced;
    }
    let mut out = lines.join("\n");
    if dockerfile.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// `$NAME` and `${NAME}` replaced by the default of `ARG NAME=…`; unknown names are kept.
fn substitute(word: &str, args: &[(String, String)]) -> String {
    let mut out = word.to_owned();
    for (name, value) in args.iter().rev() {
        out = out
            .replace(&format!("${{{name}}}"), value)
            .replace(&format!("${name}"), value);
    }
    out
}

/// Splits `host/ns/name[:tag][@digest]` (host already checked) into the repository path
/// and what to pull: a digest if there is one, else the tag (`latest` by default).
pub fn split_reference<'a>(reference: &'a str, host: &str) -> (&'a str, &'a str) {
    let path = &reference[host.len() + 1..];
    if let Some((repo, digest)) = path.split_once('@') {
        let repo = repo.split_once(':').map_or(repo, |(r, _)| r);
        return (repo, digest);
    }
    match path.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (path, "latest"),
    }
}

#[cfg(test)]
mod tests;
