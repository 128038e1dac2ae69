//! A build's secrets: its organisation's and its container's (the container's win), opened
//! with the installation's key and written to files of the build's own work directory for
//! BuildKit to mount (`RUN --mount=type=secret,id=NAME`). The files go with the work
//! directory; the values never reach the log: anything the engine says is redacted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bioshadock_core::PortError;
use bioshadock_core::orgs::OrgName;
use bioshadock_core::ports::builds::Build;

use super::{Failure, Pipeline, say};
use crate::log_sink::LogSender;

/// What replaces a secret's value in anything shown.
const REDACTED: &str = "[secret]";

/// The secrets of one build.
#[derive(Default)]
pub(super) struct BuildSecrets {
    /// `(name, file)`, for the engine.
    pub files: Vec<(String, PathBuf)>,
    values: Vec<String>,
}

impl BuildSecrets {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// `text` with every secret value replaced.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        // Longest first, so a secret that contains another is replaced whole.
        let mut values: Vec<&String> = self.values.iter().collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        for value in values {
            out = out.replace(value.as_str(), REDACTED);
        }
        out
    }
}

impl Pipeline {
    /// The build's secrets, written under `workdir`.
    pub(super) async fn secrets(
        &self,
        build: &Build,
        workdir: &Path,
        log: &LogSender,
    ) -> Result<BuildSecrets, Failure> {
        let unavailable = |e: PortError| Failure(format!("cannot read the build secrets: {e}"));
        let mut sealed = BTreeMap::new();
        if let Ok(org) = OrgName::parse(build.container.namespace()) {
            match self.orgs.get_org(&org).await {
                Ok(org) => sealed.extend(org.build_secrets),
                Err(PortError::NotFound) => {}
                Err(e) => return Err(unavailable(e)),
            }
        }
        let container = self
            .containers
            .get(&build.container)
            .await
            .map_err(unavailable)?;
        sealed.extend(container.policy.build.secrets);
        if sealed.is_empty() {
            return Ok(BuildSecrets::default());
        }
        let dir = workdir.join("secrets");
        create_private_dir(&dir)
            .map_err(|e| Failure(format!("cannot write the build secrets: {e}")))?;
        let mut secrets = BuildSecrets::default();
        for (name, value) in sealed {
            let value = self.sealing.open(&value.0).map_err(|_| {
                Failure(format!(
                    "the build secret {name} does not open: this builder's sealing.key is not the portal's"
                ))
            })?;
            let file = dir.join(&name);
            write_private(&file, value.as_bytes())
                .map_err(|e| Failure(format!("cannot write the build secrets: {e}")))?;
            secrets.files.push((name, file));
            secrets.values.push(value);
        }
        let names: Vec<&str> = secrets.files.iter().map(|(n, _)| n.as_str()).collect();
        say(
            log,
            format!(
                "building with BuildKit, build secrets {} mounted where a step asks \
                 (RUN --mount=type=secret,id=NAME); the steps' own output is not shown, and every \
                 step runs (BuildKit's cache does not tell builds with other secrets apart)",
                names.join(", ")
            ),
        )
        .await;
        Ok(secrets)
    }
}

/// A directory only this user can read.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().mode(0o700).create(dir)
}

/// A file only this user can read, with `bytes`.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_is_redacted_longest_first() {
        let secrets = BuildSecrets {
            files: Vec::new(),
            values: vec!["abc".into(), "abcdef".into()],
        };
        assert_eq!(
            secrets.redact("x abcdef y abc z"),
            "x [secret] y [secret] z"
        );
    }
}
