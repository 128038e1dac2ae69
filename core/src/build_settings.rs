//! How a container's builds are made and when they start by themselves: its build arguments
//! and its cron schedule. Pure rules (no store, no clock of their own): the web checks what a
//! user sets with them, and the scheduler asks them which occurrences fell in a span of time.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::RepoName;

/// Build arguments one container (or one trigger) may set.
pub const MAX_ARGS: usize = 32;
/// Longest build-argument name, in bytes.
pub const MAX_ARG_NAME: usize = 64;
/// Longest build-argument value, in bytes.
pub const MAX_ARG_VALUE: usize = 4096;
/// Longest cron expression.
pub const MAX_SCHEDULE_LEN: usize = 100;
/// The shortest time a schedule may leave between two builds: a rebuild every minute would
/// only keep the builders busy.
pub const MIN_SCHEDULE_GAP_MINUTES: i64 = 60;
/// The placeholder for the tag being built, in argument values.
pub const TAG_PLACEHOLDER: &str = "{tag}";
/// The placeholder for the full commit id being built, in argument values.
pub const SHA_PLACEHOLDER: &str = "{sha}";

/// A container's build settings, kept with its policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerBuildSettings {
    /// Build arguments (`ARG` values) of every build; a trigger's own override them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, String>,
    /// A five-field cron expression (UTC): the container is rebuilt from its source then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// Rebuild when a base image of this catalogue that its last build used gets a new image.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rebuild_on_base: bool,
    /// Build secrets by name, sealed (`crate::sealed`): mounted into `RUN --mount=type=secret`
    /// steps, never shown again.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, SealedSecret>,
}

/// A sealed build secret. Its `Debug` shows nothing, so a settings value in a log line says
/// nothing of it (sealed or not).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SealedSecret(pub String);

impl std::fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealedSecret(…)")
    }
}

/// Build secrets one container (or one organisation) may hold.
pub const MAX_SECRETS: usize = 20;
/// Longest build secret, in characters (a private key in PEM fits).
pub const MAX_SECRET_CHARS: usize = 16 * 1024;
/// The JSON Schema pattern of a build secret's name (its id in `--mount=type=secret,id=NAME`,
/// and its file under `/run/secrets/`).
pub const SECRET_NAME_PATTERN: &str = "^[A-Za-z_][A-Za-z0-9_-]{0,63}$";

/// Checks a build secret's name: a letter or `_`, then letters, digits, `_` or `-`, at most
/// 64 characters (it names a file: no `/`, no `.`).
pub fn check_secret_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let ok = name.len() <= 64
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(
            "a build secret's name is a letter or _ then letters, digits, _ or - (at most 64)"
                .into(),
        )
    }
}

/// Checks a build secret's value: not empty, at most [`MAX_SECRET_CHARS`], no NUL.
pub fn check_secret_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("a build secret cannot be empty".into());
    }
    if value.chars().count() > MAX_SECRET_CHARS {
        return Err(format!(
            "a build secret is at most {MAX_SECRET_CHARS} characters"
        ));
    }
    if value.contains('\0') {
        return Err("a build secret cannot hold a NUL character".into());
    }
    Ok(())
}

impl ContainerBuildSettings {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// Checks what a user asked for; the error says what is wrong, for a 400.
    pub fn check(&self) -> Result<(), String> {
        check_args(&self.args)?;
        if let Some(schedule) = &self.schedule {
            Schedule::parse(schedule)?;
        }
        Ok(())
    }
}

/// Checks build arguments: at most [`MAX_ARGS`], names as a Dockerfile `ARG` writes them
/// (a letter or `_`, then letters, digits or `_`), values of at most [`MAX_ARG_VALUE`] bytes
/// without control characters.
pub fn check_args(args: &BTreeMap<String, String>) -> Result<(), String> {
    if args.len() > MAX_ARGS {
        return Err(format!("at most {MAX_ARGS} build arguments"));
    }
    for (name, value) in args {
        if !is_arg_name(name) {
            return Err(format!(
                "build argument name `{}` must be a letter or _ then letters, digits or _ \
                 (at most {MAX_ARG_NAME} characters)",
                name.chars().take(MAX_ARG_NAME + 1).collect::<String>()
            ));
        }
        if value.len() > MAX_ARG_VALUE {
            return Err(format!(
                "build argument {name} is longer than {MAX_ARG_VALUE} bytes"
            ));
        }
        if value.chars().any(char::is_control) {
            return Err(format!(
                "build argument {name} holds a control character (a newline, a tab…)"
            ));
        }
    }
    Ok(())
}

/// The JSON Schema pattern of a build-argument name, for the API's schema.
pub const ARG_NAME_PATTERN: &str = "^[A-Za-z_][A-Za-z0-9_]{0,63}$";

fn is_arg_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= MAX_ARG_NAME
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The arguments of one build: the container's, overridden by the trigger's, with `{tag}`
/// replaced by `tag` and `{sha}` by `sha` when it is known (the builder replaces it after
/// cloning otherwise). Other text in braces stays as written.
pub fn resolve_args(
    container: &BTreeMap<String, String>,
    trigger: &BTreeMap<String, String>,
    tag: &str,
    sha: Option<&str>,
) -> BTreeMap<String, String> {
    container
        .iter()
        .chain(trigger)
        .map(|(name, value)| (name.clone(), substitute(value, tag, sha)))
        .collect()
}

/// `value` with its placeholders replaced: `{tag}` always, `{sha}` when `sha` is known.
pub fn substitute(value: &str, tag: &str, sha: Option<&str>) -> String {
    let value = value.replace(TAG_PLACEHOLDER, tag);
    match sha {
        Some(sha) => value.replace(SHA_PLACEHOLDER, sha),
        None => value,
    }
}

/// A parsed cron schedule: five fields (minute, hour, day of month, month, day of week) or a
/// nickname (`@daily`, `@weekly`…), in UTC.
#[derive(Debug, Clone)]
pub struct Schedule(Cron);

impl Schedule {
    /// Parses `text`; refuses seconds and years fields, and schedules that would build more
    /// often than every [`MIN_SCHEDULE_GAP_MINUTES`] minutes.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() > MAX_SCHEDULE_LEN {
            return Err(format!(
                "the schedule is longer than {MAX_SCHEDULE_LEN} characters"
            ));
        }
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build()
            .parse(text)
            .map_err(|e| {
                format!(
                    "`{text}` is not a cron expression (five fields: minute hour day-of-month \
                     month day-of-week, e.g. `0 3 * * 1`): {e}"
                )
            })?;
        let schedule = Self(cron);
        schedule.check_gap(text)?;
        Ok(schedule)
    }

    /// Refuses a schedule whose occurrences come closer than the minimum gap, looking at the
    /// occurrences of the coming eight days (a week and a day covers every weekly pattern; a
    /// schedule rarer than that cannot be too frequent).
    fn check_gap(&self, text: &str) -> Result<(), String> {
        let start =
            DateTime::<Utc>::from_timestamp(0, 0).unwrap_or_default() + Duration::days(20_454); // 2026-01-01, a fixed start keeps the check repeatable
        let end = start + Duration::days(8);
        let mut previous: Option<DateTime<Utc>> = None;
        for occurrence in self.0.iter_after(start).take_while(|o| *o < end).take(200) {
            if let Some(previous) = previous
                && occurrence - previous < Duration::minutes(MIN_SCHEDULE_GAP_MINUTES)
            {
                return Err(format!(
                    "`{text}` builds more often than every {MIN_SCHEDULE_GAP_MINUTES} minutes"
                ));
            }
            previous = Some(occurrence);
        }
        Ok(())
    }

    /// The occurrences in `(after, until]`, oldest first, at most `limit` of them.
    pub fn occurrences(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Vec<DateTime<Utc>> {
        self.0
            .iter_after(after)
            .take_while(|o| *o <= until)
            .take(limit)
            .collect()
    }
}

/// How long after each occurrence `container`'s scheduled build starts: a fixed share of
/// `spread` taken from a hash of its name, so a hundred containers scheduled for 03:00 start
/// spread over the following `spread` instead of all at once, each at the same offset every
/// time and on every portal.
pub fn jitter(container: &RepoName, spread: std::time::Duration) -> Duration {
    let spread_secs = spread.as_secs();
    if spread_secs == 0 {
        return Duration::zero();
    }
    let hash = Sha256::digest(container.as_str().as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash[..8]);
    let offset = u64::from_be_bytes(first) % spread_secs;
    Duration::seconds(i64::try_from(offset).unwrap_or(0))
}

/// The scheduled builds due in `(after, until]` for a schedule and a jitter: the occurrences
/// whose start (occurrence plus jitter) falls in that span. The scheduler asks for the span
/// since its previous look, so each occurrence is due exactly once.
pub fn due(
    schedule: &Schedule,
    jitter: Duration,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    // At most the newest occurrence of a span counts: a portal that was stopped does not
    // make up for a week of missed occurrences with a week of builds.
    schedule
        .occurrences(after - jitter, until - jitter, 1000)
        .last()
        .copied()
}

#[cfg(test)]
mod tests;
