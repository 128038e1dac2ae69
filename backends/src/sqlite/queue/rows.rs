//! How jobs are stored: the state names and the row a read decodes.

use bioshadock_core::PortResult;
use bioshadock_core::ports::queue::{Job, JobState};

use crate::sqlite::{corrupt, from_millis};

pub(super) fn state_str(state: JobState) -> &'static str {
    match state {
        JobState::Queued => "queued",
        JobState::Leased => "leased",
        JobState::Done => "done",
        JobState::Failed => "failed",
        JobState::Cancelled => "cancelled",
    }
}

fn parse_state(raw: &str) -> Option<JobState> {
    Some(match raw {
        "queued" => JobState::Queued,
        "leased" => JobState::Leased,
        "done" => JobState::Done,
        "failed" => JobState::Failed,
        "cancelled" => JobState::Cancelled,
        _ => return None,
    })
}

/// One row of `jobs`, in the order of `columns!()`.
#[derive(sqlx::FromRow)]
pub(super) struct JobRow {
    id: i64,
    kind: String,
    pub(super) owner: String,
    dedupe_key: Option<String>,
    payload: String,
    state: String,
    worker: Option<String>,
    lease_until: Option<i64>,
    enqueued_at: i64,
    attempts: i64,
}

impl JobRow {
    pub(super) fn into_job(self) -> PortResult<Job> {
        let id = self.id;
        Ok(Job {
            id,
            payload: serde_json::from_str(&self.payload)
                .map_err(|e| corrupt(format!("job {id} payload: {e}")))?,
            state: parse_state(&self.state)
                .ok_or_else(|| corrupt(format!("job {id} state {}", self.state)))?,
            lease_until: self.lease_until.map(from_millis).transpose()?,
            enqueued_at: from_millis(self.enqueued_at)?,
            attempts: u32::try_from(self.attempts.max(0)).unwrap_or(u32::MAX),
            kind: self.kind,
            owner: self.owner,
            dedupe_key: self.dedupe_key,
            worker: self.worker,
        })
    }
}
