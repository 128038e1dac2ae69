//! `bioshadock audit export [--since WHEN]`: the audit log as JSON lines, oldest first, read
//! page by page (the stream may be long) from the store the portal writes it to.

use std::io::Write;

use anyhow::{Context, Result, anyhow};
use bioshadock_core::config::Config;
use bioshadock_core::events::EventFilter;
use bioshadock_core::ports::events::MAX_EVENTS_PER_READ;
use chrono::{DateTime, NaiveDate, Utc};

use crate::cli::AuditCommand;

pub async fn run(config: Config, command: AuditCommand) -> Result<()> {
    let AuditCommand::Export { since } = command;
    let since = since.as_deref().map(parse_when).transpose()?;
    let accounts = super::accounts(&config).await?;
    let filter = EventFilter {
        since,
        ..EventFilter::default()
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut after = 0;
    let result: Result<()> = async {
        loop {
            let page = accounts
                .events
                .read_after(after, MAX_EVENTS_PER_READ)
                .await?;
            let Some(last) = page.last() else {
                break;
            };
            after = last.id;
            for recorded in page.iter().filter(|r| filter.admits(r)) {
                serde_json::to_writer(&mut out, recorded)?;
                out.write_all(b"\n")?;
            }
        }
        out.flush().context("cannot write the export")
    }
    .await;
    accounts.close().await;
    result
}

/// RFC 3339, or a day from midnight UTC.
fn parse_when(raw: &str) -> Result<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Ok(at.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map(|day| day.and_time(chrono::NaiveTime::MIN).and_utc())
        .map_err(|_| anyhow!("--since takes an RFC 3339 time or a day (YYYY-MM-DD), not `{raw}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_time_or_a_day() {
        assert_eq!(
            parse_when("2026-12-01").unwrap().to_rfc3339(),
            "2026-12-01T00:00:00+00:00"
        );
        assert_eq!(
            parse_when("2026-12-01T10:00:00+02:00")
                .unwrap()
                .to_rfc3339(),
            "2026-12-01T08:00:00+00:00"
        );
        assert!(parse_when("yesterday").is_err());
    }
}
