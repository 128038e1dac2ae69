//! The job queue on Redis, for distributed mode: any number of `web` and `builder` processes
//! share it.
//!
//! Why not apalis (apalis-redis): the queue port needs per-owner fairness, dedupe keys that
//! return the live job, and leases that the caller reaps and records; apalis provides none of
//! these, so the queue is a handful of Lua scripts on plain Redis types instead.
//!
//! # Key layout
//!
//! Every key starts with the configured prefix `P` (`bioshadock:` by default; tests use one
//! prefix each, so they can share a server):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `P seq` | string | the last job id (`INCR`); the build id is the job id |
//! | `P job:{id}` | hash | the job: `id kind owner payload state enqueued_at attempts`, plus `dedupe_key` when it has one, `worker lease_until` while leased, `finished_at` once finished. Times are unix milliseconds, `payload` is JSON text |
//! | `P queued` | sorted set | ids of all queued jobs, score = id (for `queued_count`) |
//! | `P queued:{owner}` | sorted set | ids of the owner's queued jobs, score = id (oldest first) |
//! | `P owners` | set | owners with at least one queued job |
//! | `P leased` | sorted set | ids of leased jobs, score = `lease_until` (for reaping) |
//! | `P leased_count` | hash | owner → number of leased jobs (owners with none are absent) |
//! | `P last_lease` | hash | owner → sequence number of the owner's latest lease |
//! | `P lease_seq` | string | the last lease sequence number (`INCR`) |
//! | `P dedupe:{key}` | string | id of the live (queued or leased) job with that dedupe key |
//!
//! # Atomicity
//!
//! Every state change is one Lua script (`EVALSHA`), and Redis runs a script alone: two
//! workers, in one process or many, can never lease the same job, and two enqueues of one
//! dedupe key can never both create a job. Reads of one key need no script; `pending_for`
//! reads two keys in one `MULTI`. The scripts build their keys from the prefix, so the queue
//! needs a single Redis server (or a prefix whose hash tag pins all keys to one Cluster slot).
//!
//! # Time and history
//!
//! Lease deadlines come from the clock of the process that leases or heartbeats, and
//! `reap_expired` compares them with the `now` it is given, as in the SQLite queue: keep the
//! hosts' clocks in sync (NTP). A finished job (done, failed, cancelled) stays readable by
//! [`JobQueue::get`] for [`DEFAULT_FINISHED_TTL`] (30 days; see
//! [`RedisQueue::with_finished_ttl`]), then Redis expires it: the build record in the store is
//! the lasting history, the queue only needs finished jobs while someone may still ask.
//!
//! Jobs are as durable as the Redis server is configured to be: run it with `appendonly yes`
//! so that an acknowledged enqueue survives a Redis restart.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use bioshadock_core::model::now;
use bioshadock_core::ports::queue::{Enqueued, Job, JobQueue, JobState, NewJob, Outcome};
use bioshadock_core::{PortError, PortResult};
use chrono::{DateTime, Utc};
use redis::Script;
use redis::aio::ConnectionManager;

use super::{corrupt, map_err};

/// How long a finished job stays readable by `get` unless configured otherwise.
pub const DEFAULT_FINISHED_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// The fields of a job hash, as a script returns them (`HGETALL`).
type Fields = HashMap<String, String>;

/// Lua shared by the scripts: `ARGV[1]` is always the key prefix.
const COMMON: &str = r#"
local p = ARGV[1]
local function job_key(id) return p .. 'job:' .. id end

-- Takes a job off the queued indexes.
local function unqueue(owner, id)
  redis.call('ZREM', p .. 'queued:' .. owner, id)
  redis.call('ZREM', p .. 'queued', id)
  if redis.call('ZCARD', p .. 'queued:' .. owner) == 0 then
    redis.call('SREM', p .. 'owners', owner)
  end
end

-- Takes a job off the leased indexes.
local function unlease(owner, id)
  redis.call('ZREM', p .. 'leased', id)
  if redis.call('HINCRBY', p .. 'leased_count', owner, -1) <= 0 then
    redis.call('HDEL', p .. 'leased_count', owner)
  end
end

-- Ends a job that is off the indexes: its dedupe key is free again, it has no lease, and it
-- expires after the history TTL (milliseconds; 0 keeps it forever).
local function finish(jk, id, state, now, ttl)
  local key = redis.call('HGET', jk, 'dedupe_key')
  if key and redis.call('GET', p .. 'dedupe:' .. key) == id then
    redis.call('DEL', p .. 'dedupe:' .. key)
  end
  redis.call('HSET', jk, 'state', state, 'finished_at', now)
  redis.call('HDEL', jk, 'worker', 'lease_until')
  if tonumber(ttl) > 0 then
    redis.call('PEXPIRE', jk, ttl)
  end
end
"#;

/// ARGV: prefix, kind, owner, payload, now, has_key ('1' or '0'), key.
/// Returns `{deduplicated (1 or 0), fields}`.
const ENQUEUE: &str = r#"
local kind, owner, payload, now = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local has_key, key = ARGV[6] == '1', ARGV[7]
if has_key then
  local live = redis.call('GET', p .. 'dedupe:' .. key)
  if live then
    local fields = redis.call('HGETALL', job_key(live))
    if #fields > 0 then
      return {1, fields}
    end
  end
end
local id = tostring(redis.call('INCR', p .. 'seq'))
local jk = job_key(id)
redis.call('HSET', jk, 'id', id, 'kind', kind, 'owner', owner, 'payload', payload,
  'state', 'queued', 'enqueued_at', now, 'attempts', '0')
if has_key then
  redis.call('HSET', jk, 'dedupe_key', key)
  redis.call('SET', p .. 'dedupe:' .. key, id)
end
redis.call('ZADD', p .. 'queued:' .. owner, id, id)
redis.call('ZADD', p .. 'queued', id, id)
redis.call('SADD', p .. 'owners', owner)
return {0, redis.call('HGETALL', jk)}
"#;

/// ARGV: prefix, worker, lease_until. Returns the leased job's fields, or nil.
///
/// The port's fairness rule: among the owners with queued jobs, the one with the fewest
/// leased jobs, then the one whose latest lease is oldest (never leased first), then the
/// oldest job; each owner competes with its oldest queued job only. A lease looks at every
/// owner with queued jobs (a few dozen in a lab), not at every job.
const LEASE: &str = r#"
local best_owner, best_sid, best_id, best_n, best_last
for _, owner in ipairs(redis.call('SMEMBERS', p .. 'owners')) do
  local head = redis.call('ZRANGE', p .. 'queued:' .. owner, 0, 0)
  if #head == 0 then
    redis.call('SREM', p .. 'owners', owner)
  else
    local id = tonumber(head[1])
    local n = tonumber(redis.call('HGET', p .. 'leased_count', owner) or '0')
    local last = tonumber(redis.call('HGET', p .. 'last_lease', owner) or '0')
    if best_id == nil or n < best_n
      or (n == best_n and (last < best_last or (last == best_last and id < best_id))) then
      best_owner, best_sid, best_id, best_n, best_last = owner, head[1], id, n, last
    end
  end
end
if best_id == nil then
  return false
end
unqueue(best_owner, best_sid)
local jk = job_key(best_sid)
redis.call('HSET', jk, 'state', 'leased', 'worker', ARGV[2], 'lease_until', ARGV[3])
redis.call('HINCRBY', jk, 'attempts', 1)
redis.call('ZADD', p .. 'leased', ARGV[3], best_sid)
redis.call('HINCRBY', p .. 'leased_count', best_owner, 1)
redis.call('HSET', p .. 'last_lease', best_owner, redis.call('INCR', p .. 'lease_seq'))
return redis.call('HGETALL', jk)
"#;

/// ARGV: prefix, id, worker, lease_until. Returns 1 done, 0 not held by worker, -1 absent.
const HEARTBEAT: &str = r#"
local jk = job_key(ARGV[2])
local st = redis.call('HMGET', jk, 'state', 'worker')
if not st[1] then
  return -1
end
if st[1] ~= 'leased' or st[2] ~= ARGV[3] then
  return 0
end
redis.call('HSET', jk, 'lease_until', ARGV[4])
redis.call('ZADD', p .. 'leased', ARGV[4], ARGV[2])
return 1
"#;

/// ARGV: prefix, id, worker, final state, now, ttl_ms. Returns 1 done, 0 not held by worker,
/// -1 absent.
const COMPLETE: &str = r#"
local id = ARGV[2]
local jk = job_key(id)
local st = redis.call('HMGET', jk, 'state', 'worker', 'owner')
if not st[1] then
  return -1
end
if st[1] ~= 'leased' or st[2] ~= ARGV[3] then
  return 0
end
unlease(st[3], id)
finish(jk, id, ARGV[4], ARGV[5], ARGV[6])
return 1
"#;

/// ARGV: prefix, id, now, ttl_ms. Returns `{1, fields}` when cancelled, `{0, {}}` when already
/// finished, `{-1, {}}` when absent.
const CANCEL: &str = r#"
local id = ARGV[2]
local jk = job_key(id)
local st = redis.call('HMGET', jk, 'state', 'owner')
if not st[1] then
  return {-1, {}}
end
if st[1] == 'queued' then
  unqueue(st[2], id)
elseif st[1] == 'leased' then
  unlease(st[2], id)
else
  return {0, {}}
end
finish(jk, id, 'cancelled', ARGV[3], ARGV[4])
return {1, redis.call('HGETALL', jk)}
"#;

/// ARGV: prefix, now, ttl_ms. Fails every leased job whose lease ended before now; returns
/// their fields.
const REAP: &str = r#"
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', p .. 'leased', '-inf', '(' .. ARGV[2])) do
  local jk = job_key(id)
  local owner = redis.call('HGET', jk, 'owner')
  if owner then
    unlease(owner, id)
    finish(jk, id, 'failed', ARGV[2], ARGV[3])
    table.insert(out, redis.call('HGETALL', jk))
  else
    redis.call('ZREM', p .. 'leased', id)
  end
end
return out
"#;

/// The scripts, each with the shared Lua in front, hashed once.
struct Scripts {
    enqueue: Script,
    lease: Script,
    heartbeat: Script,
    complete: Script,
    cancel: Script,
    reap: Script,
}

static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| {
    let script = |body: &str| Script::new(&format!("{COMMON}{body}"));
    Scripts {
        enqueue: script(ENQUEUE),
        lease: script(LEASE),
        heartbeat: script(HEARTBEAT),
        complete: script(COMPLETE),
        cancel: script(CANCEL),
        reap: script(REAP),
    }
});

/// The queue port on Redis.
#[derive(Clone)]
pub struct RedisQueue {
    conn: ConnectionManager,
    prefix: Arc<str>,
    finished_ttl: Duration,
}

impl RedisQueue {
    /// A queue on `conn` (see [`super::connect`]) whose keys start with `prefix`
    /// ([`super::DEFAULT_PREFIX`] for an installation).
    pub fn new(conn: ConnectionManager, prefix: impl Into<String>) -> Self {
        Self {
            conn,
            prefix: prefix.into().into(),
            finished_ttl: DEFAULT_FINISHED_TTL,
        }
    }

    /// How long finished jobs stay readable by `get`; `Duration::ZERO` keeps them forever.
    pub fn with_finished_ttl(mut self, ttl: Duration) -> Self {
        self.finished_ttl = ttl;
        self
    }

    fn key(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.prefix)
    }

    /// The history TTL in milliseconds, capped where Redis would refuse it (`PEXPIRE` must
    /// not overflow now + ttl): a longer one is forever in practice.
    fn ttl_ms(&self) -> i64 {
        const CAP: i64 = i64::MAX / 4;
        i64::try_from(self.finished_ttl.as_millis()).map_or(CAP, |ms| ms.min(CAP))
    }

    /// The answer of a guarded script: 1 done, 0 `Conflict`, anything else `NotFound`.
    fn guarded(code: i64, job_id: i64, what: &str) -> PortResult<()> {
        match code {
            1 => Ok(()),
            0 => Err(PortError::Conflict(format!("job {job_id} {what}"))),
            _ => Err(PortError::NotFound),
        }
    }
}

#[async_trait]
impl JobQueue for RedisQueue {
    #[tracing::instrument(skip_all, fields(kind = %job.kind), err(level = "debug"))]
    async fn enqueue(&self, job: NewJob) -> PortResult<Enqueued> {
        let payload = serde_json::to_string(&job.payload).map_err(PortError::backend)?;
        let (deduplicated, fields): (i64, Fields) = SCRIPTS
            .enqueue
            .arg(&*self.prefix)
            .arg(&job.kind)
            .arg(&job.owner)
            .arg(payload)
            .arg(now().timestamp_millis())
            .arg(if job.dedupe_key.is_some() { "1" } else { "0" })
            .arg(job.dedupe_key.as_deref().unwrap_or(""))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(map_err)?;
        Ok(Enqueued {
            job: decode(fields)?,
            deduplicated: deduplicated == 1,
        })
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn lease(&self, worker: &str, lease: Duration) -> PortResult<Option<Job>> {
        let fields: Option<Fields> = SCRIPTS
            .lease
            .arg(&*self.prefix)
            .arg(worker)
            .arg(until(now(), lease))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(map_err)?;
        fields.map(decode).transpose()
    }

    #[tracing::instrument(skip_all, fields(job_id = job_id), err(level = "debug"))]
    async fn heartbeat(&self, job_id: i64, worker: &str, lease: Duration) -> PortResult<()> {
        let code: i64 = SCRIPTS
            .heartbeat
            .arg(&*self.prefix)
            .arg(job_id)
            .arg(worker)
            .arg(until(now(), lease))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(map_err)?;
        Self::guarded(code, job_id, "is not leased by this worker")
    }

    #[tracing::instrument(skip_all, fields(job_id = job_id), err(level = "debug"))]
    async fn complete(&self, job_id: i64, worker: &str, outcome: Outcome) -> PortResult<()> {
        let state = match outcome {
            Outcome::Done => JobState::Done,
            Outcome::Failed => JobState::Failed,
        };
        let code: i64 = SCRIPTS
            .complete
            .arg(&*self.prefix)
            .arg(job_id)
            .arg(worker)
            .arg(state_str(state))
            .arg(now().timestamp_millis())
            .arg(self.ttl_ms())
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(map_err)?;
        Self::guarded(code, job_id, "is not leased by this worker")
    }

    #[tracing::instrument(skip_all, fields(job_id = job_id), err(level = "debug"))]
    async fn cancel(&self, job_id: i64) -> PortResult<Job> {
        let (code, fields): (i64, Fields) = SCRIPTS
            .cancel
            .arg(&*self.prefix)
            .arg(job_id)
            .arg(now().timestamp_millis())
            .arg(self.ttl_ms())
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(map_err)?;
        Self::guarded(code, job_id, "is already finished")?;
        decode(fields)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn reap_expired(&self, now: DateTime<Utc>) -> PortResult<Vec<Job>> {
        let reaped: Vec<Fields> = SCRIPTS
            .reap
            .arg(&*self.prefix)
            .arg(now.timestamp_millis())
            .arg(self.ttl_ms())
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(map_err)?;
        let mut jobs = reaped
            .into_iter()
            .map(decode)
            .collect::<PortResult<Vec<_>>>()?;
        jobs.sort_by_key(|j| j.id);
        Ok(jobs)
    }

    #[tracing::instrument(skip_all, fields(job_id = job_id), err(level = "debug"))]
    async fn get(&self, job_id: i64) -> PortResult<Job> {
        let fields: Fields = redis::cmd("HGETALL")
            .arg(self.key(&format!("job:{job_id}")))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(map_err)?;
        if fields.is_empty() {
            return Err(PortError::NotFound);
        }
        decode(fields)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn pending_for(&self, owner: &str) -> PortResult<u64> {
        // One MULTI, so a job moving from queued to leased is counted once.
        let (queued, leased): (u64, Option<i64>) = redis::pipe()
            .atomic()
            .zcard(self.key(&format!("queued:{owner}")))
            .hget(self.key("leased_count"), owner)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(map_err)?;
        Ok(queued + leased.unwrap_or(0).max(0) as u64)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn queued_count(&self) -> PortResult<u64> {
        redis::cmd("ZCARD")
            .arg(self.key("queued"))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(map_err)
    }

    async fn reserve_ids_through(&self, last_id: i64) -> PortResult<()> {
        // Raise, never lower, in one step: a concurrent INCR must not be undone.
        let raise = redis::Script::new(
            "local now = tonumber(redis.call('GET', KEYS[1]) or '0') \
             if now < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end \
             return 1",
        );
        let _: i64 = raise
            .key(self.key("seq"))
            .arg(last_id)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(map_err)?;
        Ok(())
    }
}

fn state_str(state: JobState) -> &'static str {
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

/// A job from the fields of its hash.
fn decode(mut fields: Fields) -> PortResult<Job> {
    let id_raw = fields.remove("id").unwrap_or_default();
    let id: i64 = id_raw
        .parse()
        .map_err(|_| corrupt(format!("job id {id_raw:?}")))?;
    let mut take = |name: &str| {
        fields
            .remove(name)
            .ok_or_else(|| corrupt(format!("job {id} has no {name}")))
    };
    let kind = take("kind")?;
    let owner = take("owner")?;
    let payload = take("payload")?;
    let state = take("state")?;
    let enqueued_at = take("enqueued_at")?;
    let attempts = take("attempts")?;
    let millis = |raw: &str, what: &str| {
        raw.parse::<i64>()
            .ok()
            .and_then(DateTime::from_timestamp_millis)
            .ok_or_else(|| corrupt(format!("job {id} {what} {raw:?}")))
    };
    Ok(Job {
        id,
        payload: serde_json::from_str(&payload)
            .map_err(|e| corrupt(format!("job {id} payload: {e}")))?,
        state: parse_state(&state).ok_or_else(|| corrupt(format!("job {id} state {state:?}")))?,
        lease_until: fields
            .get("lease_until")
            .map(|raw| millis(raw, "lease_until"))
            .transpose()?,
        enqueued_at: millis(&enqueued_at, "enqueued_at")?,
        attempts: attempts
            .parse::<i64>()
            .map_err(|_| corrupt(format!("job {id} attempts {attempts:?}")))?
            .clamp(0, i64::from(u32::MAX)) as u32,
        kind,
        owner,
        dedupe_key: fields.remove("dedupe_key"),
        worker: fields.remove("worker"),
    })
}

/// `from + lease` in unix milliseconds, saturating for absurd leases.
fn until(from: DateTime<Utc>, lease: Duration) -> i64 {
    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    from.timestamp_millis().saturating_add(lease_ms)
}
