//! Build records and their logs on MongoDB.
//!
//! Two collections:
//! - `builds`: `{_id: build id (Int64), container, tag, requested_by, source_kind, source,
//!   status, reason, revision, digest, worker, queued_at, started_at, finished_at, log_lines,
//!   options: {args, no_cache}}`,
//!   indexed on `{container: 1, _id: -1}` (a container's builds, newest first) and
//!   `{status: 1, _id: 1}` (live builds, oldest first);
//! - `build_log`: one document per line, `{build, seq, line}`, with a unique index on
//!   `{build: 1, seq: 1}` that also serves the paged reads.
//!
//! Every state change is one `find_one_and_update` (or `update_one`) whose filter names the
//! states it may start from, so a cancel and a worker finishing at the same moment cannot both
//! win: the server applies one, and the other's filter no longer matches. A log append first
//! reserves its seqs with one `$inc` of the build's `log_lines` (the server returns the new
//! count, so concurrent appenders get disjoint ranges), then inserts its lines under those
//! seqs; the unique index refuses any seq used twice.
//!
//! Times are Int64 milliseconds since the epoch, like the SQLite adapter's columns: exact to
//! the millisecond the model carries, and unchanged by any server's date handling.

use async_trait::async_trait;
use bioshadock_core::ports::builds::{
    Build, BuildOptions, BuildSource, BuildStatus, BuildStore, BuiltDescriptor, BuiltDockerfile,
    Finish, LogLine, NewBuild, stored_line,
};
use bioshadock_core::{PortError, PortResult, RepoName, TagName};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::{IndexOptions, ReturnDocument};
use mongodb::{Collection, Database, IndexModel};

use super::map_err;

const BUILDS: &str = "builds";
const LOG: &str = "build_log";
/// `{_id: build id, container, path, text}`: apart from `builds`, so that lists never read them.
const DOCKERFILES: &str = "build_dockerfiles";
/// `{_id: build id, container, kind, origin, text}`, apart for the same reason.
const DESCRIPTORS: &str = "build_descriptors";

/// The build-record port on a MongoDB database.
#[derive(Clone)]
pub struct MongoBuilds {
    builds: Collection<Document>,
    log: Collection<Document>,
    dockerfiles: Collection<Document>,
    descriptors: Collection<Document>,
}

impl MongoBuilds {
    pub fn new(db: Database) -> Self {
        Self {
            builds: db.collection(BUILDS),
            log: db.collection(LOG),
            dockerfiles: db.collection(DOCKERFILES),
            descriptors: db.collection(DESCRIPTORS),
        }
    }

    /// Stores `fields` as the file `id` recorded in `files` (one per build, replaced), if the
    /// build is running.
    async fn record(
        &self,
        files: &Collection<Document>,
        id: i64,
        fields: Document,
        what: &str,
    ) -> PortResult<()> {
        let running = self
            .builds
            .find_one(doc! { "_id": id, "status": BuildStatus::Running.as_str() })
            .projection(doc! { "container": 1 })
            .await
            .map_err(map_err)?;
        let Some(build) = running else {
            return Err(self
                .missed(id, &format!("only a running build records its {what}"))
                .await);
        };
        let mut file = doc! {
            "_id": id,
            "container": build.get_str("container").unwrap_or_default(),
        };
        file.extend(fields);
        files
            .replace_one(doc! { "_id": id }, file)
            .upsert(true)
            .await
            .map_err(map_err)
            .map(drop)
    }

    /// The file build `id` recorded in `files`; `NotFound` if the build is absent.
    async fn recorded(
        &self,
        files: &Collection<Document>,
        id: i64,
    ) -> PortResult<Option<Document>> {
        let found = files.find_one(doc! { "_id": id }).await.map_err(map_err)?;
        if found.is_some() {
            return Ok(found);
        }
        let exists = self
            .builds
            .find_one(doc! { "_id": id })
            .projection(doc! { "_id": 1 })
            .await
            .map_err(map_err)?;
        exists.map(|_| None).ok_or(PortError::NotFound)
    }

    /// Creates the indexes the reads rely on (idempotent).
    pub async fn ensure_indexes(&self) -> PortResult<()> {
        let by_container = IndexModel::builder()
            .keys(doc! { "container": 1, "_id": -1 })
            .build();
        let by_status = IndexModel::builder()
            .keys(doc! { "status": 1, "_id": 1 })
            .build();
        self.builds
            .create_indexes([by_container, by_status])
            .await
            .map_err(map_err)?;
        let lines = IndexModel::builder()
            .keys(doc! { "build": 1, "seq": 1 })
            .options(IndexOptions::builder().unique(true).build())
            .build();
        self.log.create_index(lines).await.map_err(map_err)?;
        Ok(())
    }

    /// Why a guarded update matched nothing: the build is absent (`NotFound`) or not in a
    /// state the change may start from (`Conflict`).
    async fn missed(&self, id: i64, what: &str) -> PortError {
        let found = self
            .builds
            .find_one(doc! { "_id": id })
            .projection(doc! { "status": 1 })
            .await;
        match found {
            Ok(Some(d)) => {
                let status = d.get_str("status").unwrap_or("in an unknown state");
                PortError::Conflict(format!("build {id} is {status}: {what}"))
            }
            Ok(None) => PortError::NotFound,
            Err(e) => map_err(e),
        }
    }

    /// One guarded `$set`, returning the build as it is afterwards.
    async fn guarded(
        &self,
        id: i64,
        from: &[BuildStatus],
        set: Document,
        what: &str,
    ) -> PortResult<Build> {
        let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        let updated = self
            .builds
            .find_one_and_update(
                doc! { "_id": id, "status": { "$in": from } },
                doc! { "$set": set },
            )
            .return_document(ReturnDocument::After)
            .await
            .map_err(map_err)?;
        match updated {
            Some(d) => build_from(&d),
            None => Err(self.missed(id, what).await),
        }
    }

    async fn find_builds(
        &self,
        filter: Document,
        sort: Document,
        limit: Option<usize>,
    ) -> PortResult<Vec<Build>> {
        let mut find = self.builds.find(filter).sort(sort);
        if let Some(limit) = limit {
            find = find.limit(to_i64(limit));
        }
        let found: Vec<Document> = find
            .await
            .map_err(map_err)?
            .try_collect()
            .await
            .map_err(map_err)?;
        found.iter().map(build_from).collect()
    }
}

#[async_trait]
impl BuildStore for MongoBuilds {
    #[tracing::instrument(skip_all, fields(build_id = build.id), err(level = "debug"))]
    async fn create(&self, build: NewBuild) -> PortResult<Build> {
        let (kind, source) = match &build.source {
            BuildSource::Git(git) => ("git", git.as_str()),
            BuildSource::Dockerfile(text) => ("dockerfile", text.as_str()),
        };
        let document = doc! {
            "_id": build.id,
            "container": build.container.as_str(),
            "tag": build.tag.as_str(),
            "requested_by": &build.requested_by,
            "source_kind": kind,
            "source": source,
            "status": BuildStatus::Queued.as_str(),
            "reason": Bson::Null,
            "revision": Bson::Null,
            "digest": Bson::Null,
            "worker": Bson::Null,
            "queued_at": build.queued_at.timestamp_millis(),
            "started_at": Bson::Null,
            "finished_at": Bson::Null,
            "log_lines": 0_i64,
            "options": mongodb::bson::to_bson(&build.options).map_err(PortError::backend)?,
        };
        // A taken id is a duplicate `_id`, which `map_err` turns into `Conflict`.
        self.builds.insert_one(&document).await.map_err(map_err)?;
        build_from(&document)
    }

    #[tracing::instrument(skip_all, fields(build_id = id), err(level = "debug"))]
    async fn get(&self, id: i64) -> PortResult<Build> {
        let found = self
            .builds
            .find_one(doc! { "_id": id })
            .await
            .map_err(map_err)?;
        build_from(&found.ok_or(PortError::NotFound)?)
    }

    #[tracing::instrument(skip_all, fields(container = %container), err(level = "debug"))]
    async fn list(&self, container: &RepoName, limit: usize) -> PortResult<Vec<Build>> {
        // A limit of 0 means "no limit" to MongoDB.
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.find_builds(
            doc! { "container": container.as_str() },
            doc! { "_id": -1 },
            Some(limit),
        )
        .await
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn live(&self) -> PortResult<Vec<Build>> {
        let live = [BuildStatus::Queued.as_str(), BuildStatus::Running.as_str()];
        self.find_builds(
            doc! { "status": { "$in": live.to_vec() } },
            doc! { "_id": 1 },
            None,
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(build_id = id), err(level = "debug"))]
    async fn start(&self, id: i64, worker: &str, at: DateTime<Utc>) -> PortResult<Build> {
        self.guarded(
            id,
            &[BuildStatus::Queued],
            doc! {
                "status": BuildStatus::Running.as_str(),
                "worker": worker,
                "started_at": at.timestamp_millis(),
            },
            "only a queued build can start",
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(build_id = id), err(level = "debug"))]
    async fn set_revision(&self, id: i64, revision: &str) -> PortResult<()> {
        let done = self
            .builds
            .update_one(
                doc! { "_id": id, "status": BuildStatus::Running.as_str() },
                doc! { "$set": { "revision": revision } },
            )
            .await
            .map_err(map_err)?;
        if done.matched_count == 1 {
            return Ok(());
        }
        Err(self.missed(id, "only a running build has a revision").await)
    }

    #[tracing::instrument(skip_all, fields(build_id = id), err(level = "debug"))]
    async fn set_args(
        &self,
        id: i64,
        args: &std::collections::BTreeMap<String, String>,
    ) -> PortResult<()> {
        let args = mongodb::bson::to_bson(args).map_err(PortError::backend)?;
        let done = self
            .builds
            .update_one(
                doc! { "_id": id, "status": BuildStatus::Running.as_str() },
                doc! { "$set": { "options.args": args } },
            )
            .await
            .map_err(map_err)?;
        if done.matched_count == 1 {
            return Ok(());
        }
        Err(self
            .missed(id, "only a running build records its args")
            .await)
    }

    #[tracing::instrument(skip_all, fields(build_id = id), err(level = "debug"))]
    async fn set_dockerfile(&self, id: i64, dockerfile: &BuiltDockerfile) -> PortResult<()> {
        let fields = doc! { "path": &dockerfile.path, "text": &dockerfile.text };
        self.record(&self.dockerfiles, id, fields, "Dockerfile")
            .await
    }

    #[tracing::instrument(skip_all, fields(build_id = id), err(level = "debug"))]
    async fn dockerfile(&self, id: i64) -> PortResult<Option<BuiltDockerfile>> {
        let found = self.recorded(&self.dockerfiles, id).await?;
        Ok(found.map(|d| {
            let field = |name: &str| d.get_str(name).map(str::to_owned).unwrap_or_default();
            BuiltDockerfile {
                path: field("path"),
                text: field("text"),
            }
        }))
    }

    #[tracing::instrument(skip_all, fields(build_id = id), err(level = "debug"))]
    async fn set_descriptor(&self, id: i64, descriptor: &BuiltDescriptor) -> PortResult<()> {
        let fields = doc! {
            "kind": &descriptor.kind,
            "origin": &descriptor.origin,
            "text": &descriptor.text,
        };
        self.record(&self.descriptors, id, fields, "descriptor")
            .await
    }

    #[tracing::instrument(skip_all, fields(build_id = id), err(level = "debug"))]
    async fn descriptor(&self, id: i64) -> PortResult<Option<BuiltDescriptor>> {
        let found = self.recorded(&self.descriptors, id).await?;
        Ok(found.map(|d| {
            let field = |name: &str| d.get_str(name).map(str::to_owned).unwrap_or_default();
            BuiltDescriptor {
                kind: field("kind"),
                origin: field("origin"),
                text: field("text"),
            }
        }))
    }

    #[tracing::instrument(skip_all, fields(build_id = id, status = finish.status.as_str()), err(level = "debug"))]
    async fn finish(&self, id: i64, finish: Finish) -> PortResult<Build> {
        // A caller's bug, not a state of the build: refused before touching the database, and
        // as a backend error (`Conflict` would read as "already ended").
        if !finish.status.is_final() {
            return Err(PortError::Backend(
                format!(
                    "build {id} cannot finish as {}: not a final status",
                    finish.status.as_str()
                )
                .into(),
            ));
        }
        self.guarded(
            id,
            &[BuildStatus::Queued, BuildStatus::Running],
            doc! {
                "status": finish.status.as_str(),
                "reason": finish.reason,
                "digest": finish.digest,
                "finished_at": finish.at.timestamp_millis(),
            },
            "it has already ended",
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(build_id = id, lines = lines.len()), err(level = "debug"))]
    async fn append_log(&self, id: i64, lines: &[String]) -> PortResult<u64> {
        if lines.is_empty() {
            let found = self
                .builds
                .find_one(doc! { "_id": id })
                .projection(doc! { "log_lines": 1 })
                .await
                .map_err(map_err)?
                .ok_or(PortError::NotFound)?;
            return log_lines(&found, id);
        }
        let n = to_i64(lines.len());
        // Reserve seqs `after - n + 1 ..= after`: the server applies `$inc`s one at a time, so
        // each appender gets its own range.
        let reserved = self
            .builds
            .find_one_and_update(doc! { "_id": id }, doc! { "$inc": { "log_lines": n } })
            .projection(doc! { "log_lines": 1 })
            .return_document(ReturnDocument::After)
            .await
            .map_err(map_err)?
            .ok_or(PortError::NotFound)?;
        let after = log_lines(&reserved, id)?;
        let first = to_i64_u(after) - n + 1;
        let documents: Vec<Document> = lines
            .iter()
            .zip(first..)
            .map(|(line, seq)| doc! { "build": id, "seq": seq, "line": stored_line(line).into_owned() })
            .collect();
        // If this fails, the reserved seqs stay counted but unwritten: a reader sees a gap,
        // never a duplicate, and the caller gets the error (the lines were not acknowledged).
        self.log
            .insert_many(documents)
            .ordered(true)
            .await
            .map_err(map_err)?;
        Ok(after)
    }

    #[tracing::instrument(skip_all, fields(build_id = id), err(level = "debug"))]
    async fn log(&self, id: i64, after: u64, limit: usize) -> PortResult<Vec<LogLine>> {
        // A limit of 0 means "no limit" to MongoDB.
        if limit == 0 {
            return Ok(Vec::new());
        }
        let found: Vec<Document> = self
            .log
            .find(doc! { "build": id, "seq": { "$gt": to_i64_u(after) } })
            .projection(doc! { "_id": 0, "seq": 1, "line": 1 })
            .sort(doc! { "seq": 1 })
            .limit(to_i64(limit))
            .await
            .map_err(map_err)?
            .try_collect()
            .await
            .map_err(map_err)?;
        found
            .iter()
            .map(|d| {
                let seq = integer(d, "seq")
                    .ok_or_else(|| corrupt(format!("build {id} log line seq: {d}")))?;
                let text = d
                    .get_str("line")
                    .map_err(|_| corrupt(format!("build {id} log line {seq}: {d}")))?;
                Ok(LogLine {
                    seq: seq.max(0) as u64,
                    text: text.to_owned(),
                })
            })
            .collect()
    }

    #[tracing::instrument(skip_all, fields(container = %container), err(level = "debug"))]
    async fn delete_for_container(&self, container: &RepoName) -> PortResult<u64> {
        let filter = doc! { "container": container.as_str() };
        let ids: Vec<Bson> = self
            .builds
            .find(filter.clone())
            .projection(doc! { "_id": 1 })
            .await
            .map_err(map_err)?
            .try_collect::<Vec<Document>>()
            .await
            .map_err(map_err)?
            .into_iter()
            .filter_map(|mut d| d.remove("_id"))
            .collect();
        if ids.is_empty() {
            return Ok(0);
        }
        // The builds first, then their lines: once a build is gone no append can reserve seqs
        // in it any more. (An append that reserved just before and inserts just after could
        // still leave its lines behind; MongoDB offers no cheaper guard short of a
        // transaction, and a build is deleted only with its container.)
        let done = self
            .builds
            .delete_many(doc! { "_id": { "$in": &ids } })
            .await
            .map_err(map_err)?;
        self.log
            .delete_many(doc! { "build": { "$in": &ids } })
            .await
            .map_err(map_err)?;
        for files in [&self.dockerfiles, &self.descriptors] {
            files
                .delete_many(doc! { "_id": { "$in": &ids } })
                .await
                .map_err(map_err)?;
        }
        Ok(done.deleted_count)
    }
}

/// A `builds` document as the model's [`Build`].
fn build_from(d: &Document) -> PortResult<Build> {
    let id = integer(d, "_id").ok_or_else(|| corrupt(format!("build id: {:?}", d.get("_id"))))?;
    let text = |field: &str| -> PortResult<String> {
        d.get_str(field)
            .map(str::to_owned)
            .map_err(|_| corrupt(format!("build {id} field {field}: {:?}", d.get(field))))
    };
    let optional_text = |field: &str| -> PortResult<Option<String>> {
        match d.get(field) {
            None | Some(Bson::Null) => Ok(None),
            Some(Bson::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(corrupt(format!("build {id} field {field}: {other:?}"))),
        }
    };
    let optional_time = |field: &str| -> PortResult<Option<DateTime<Utc>>> {
        match d.get(field) {
            None | Some(Bson::Null) => Ok(None),
            Some(_) => integer(d, field)
                .and_then(DateTime::from_timestamp_millis)
                .map(Some)
                .ok_or_else(|| corrupt(format!("build {id} field {field}: {:?}", d.get(field)))),
        }
    };
    let source = text("source")?;
    let source = match text("source_kind")?.as_str() {
        "git" => BuildSource::Git(source),
        "dockerfile" => BuildSource::Dockerfile(source),
        other => return Err(corrupt(format!("build {id} source kind {other}"))),
    };
    let container = text("container")?;
    let tag = text("tag")?;
    let status = text("status")?;
    Ok(Build {
        id,
        container: RepoName::parse(&container)
            .map_err(|e| corrupt(format!("build {id} container: {e}")))?,
        tag: TagName::parse(&tag).map_err(|e| corrupt(format!("build {id} tag: {e}")))?,
        requested_by: text("requested_by")?,
        source,
        // Builds recorded before options existed have none.
        options: match d.get("options") {
            None | Some(Bson::Null) => BuildOptions::default(),
            Some(options) => mongodb::bson::from_bson(options.clone())
                .map_err(|e| corrupt(format!("build {id} options: {e}")))?,
        },
        status: BuildStatus::parse(&status)
            .ok_or_else(|| corrupt(format!("build {id} status {status}")))?,
        reason: optional_text("reason")?,
        revision: optional_text("revision")?,
        digest: optional_text("digest")?,
        worker: optional_text("worker")?,
        queued_at: optional_time("queued_at")?
            .ok_or_else(|| corrupt(format!("build {id} has no queued_at")))?,
        started_at: optional_time("started_at")?,
        finished_at: optional_time("finished_at")?,
        log_lines: log_lines(d, id)?,
    })
}

fn log_lines(d: &Document, id: i64) -> PortResult<u64> {
    integer(d, "log_lines")
        .map(|n| n.max(0) as u64)
        .ok_or_else(|| corrupt(format!("build {id} log_lines: {:?}", d.get("log_lines"))))
}

/// An integer field, Int64 or Int32 (a server may narrow small numbers).
fn integer(d: &Document, field: &str) -> Option<i64> {
    match d.get(field)? {
        Bson::Int64(n) => Some(*n),
        Bson::Int32(n) => Some(i64::from(*n)),
        _ => None,
    }
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_i64_u(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn corrupt(what: String) -> PortError {
    PortError::Backend(format!("corrupt build data: {what}").into())
}
