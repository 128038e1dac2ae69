//! Reading the account and rule files of other registries' authentication (an Apache htpasswd
//! file, a cesanta/docker_auth configuration), checked line by line, so that an import either
//! applies a file that is entirely understood or names each line it cannot take.

pub mod docker_auth;
pub mod htpasswd;

/// A line of an imported file that cannot be taken, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based.
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// The largest file an import reads.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
