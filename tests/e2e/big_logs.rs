//! A build log of a hundred megabytes, read by anonymous strangers at once: the build, the
//! download and the build page each hold a bounded part of it, never the whole log.

use std::time::Duration;

use bioshadock_backends::sqlite::{self, SqliteBuildStore};
use bioshadock_core::ports::builds::{BuildSource, BuildStatus, BuildStore, Finish, NewBuild};
use bioshadock_core::{RepoName, TagName};
use futures::StreamExt;
use serde_json::json;

use crate::registry::{api_key, create_container};
use crate::support::*;

/// Lines of 8 KiB (the longest a store keeps): 12,800 of them make 100 MiB.
const LINE_BYTES: usize = 8 * 1024;
const LINES: usize = 12_800;
/// The build's id, clear of the queue's own.
const BUILD: i64 = 1_000_000;

/// Writes a finished build of `container` with a 100 MiB log straight into the site's store
/// (the portal is stopped meanwhile: the embedded store belongs to one process).
async fn record_huge_build(site: &Site, container: &str) {
    let pool = sqlite::open(&site.data_dir().join("bioshadock.db"))
        .await
        .unwrap();
    let store = SqliteBuildStore::new(pool.clone());
    store
        .create(NewBuild {
            id: BUILD,
            container: RepoName::parse(container).unwrap(),
            tag: TagName::parse("latest").unwrap(),
            requested_by: "alice".into(),
            source: BuildSource::Dockerfile("FROM busybox\n".into()),
            options: Default::default(),
            queued_at: chrono::Utc::now(),
        })
        .await
        .unwrap();
    store
        .start(BUILD, "test-worker", chrono::Utc::now())
        .await
        .unwrap();
    let filler = "x".repeat(LINE_BYTES - 6);
    for first in (1..=LINES).step_by(256) {
        let chunk: Vec<String> = (first..first + 256)
            .map(|n| format!("{n:05} {filler}"))
            .collect();
        store.append_log(BUILD, &chunk).await.unwrap();
    }
    let done = Finish {
        status: BuildStatus::Success,
        reason: None,
        digest: None,
        at: chrono::Utc::now(),
    };
    store.finish(BUILD, done).await.unwrap();
    pool.close().await;
}

/// The process's resident memory, in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// Reads a whole answer a chunk at a time, keeping only its size and its last bytes.
async fn read(url: String) -> (u16, u64, Vec<u8>) {
    let response = http().get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let mut stream = response.bytes_stream();
    let (mut size, mut last) = (0, Vec::new());
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        size += chunk.len() as u64;
        last = chunk.to_vec();
    }
    (status, size, last)
}

#[tokio::test]
async fn three_strangers_reading_a_100_mb_log_at_once_cost_the_server_little_memory() {
    let site = Site::new();
    site.add_user("alice", "alice password");
    let key = api_key(&site, "alice", "read,push,build");
    let server = site.serve().await;
    let body = json!({ "name": "alice/chatty", "dockerfile": "FROM busybox\n", "visible": true });
    create_container(&site, &key, body).await;
    server.stop();
    let writing = std::time::Instant::now();
    record_huge_build(&site, "alice/chatty").await;
    eprintln!("wrote the 100 MiB log in {:?}", writing.elapsed());
    let server = site.serve().await;
    let pid = server.pid();

    let before = rss(pid);
    let (sampler_stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let sampler = tokio::spawn(async move {
        let mut peak = 0;
        loop {
            peak = peak.max(rss(pid));
            tokio::select! {
                _ = &mut stopped => return peak,
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        }
    });
    let readers: Vec<_> = [
        format!("/build/{BUILD}"),
        format!("/build/{BUILD}/log.txt"),
        format!("/r/alice/chatty/builds/{BUILD}"),
    ]
    .into_iter()
    .map(|path| tokio::spawn(read(site.url(&path))))
    .collect();
    let mut answers = Vec::new();
    for reader in readers {
        answers.push(reader.await.unwrap());
    }
    sampler_stop.send(()).unwrap();
    let peak = sampler.await.unwrap();

    for (i, (status, size, last)) in answers.iter().enumerate() {
        assert_eq!(*status, 200, "reader {i}");
        match i {
            // The build: its last MiB (and some JSON around it).
            0 => assert!(*size < 1_100_000, "the build is {size} bytes"),
            // The download: the whole log, ending with the last line.
            1 => {
                assert_eq!(*size, (LINES * (LINE_BYTES + 1)) as u64, "the whole log");
                assert!(last.ends_with(b"xxx\n"));
            }
            _ => assert!(*size < 1_300_000, "the page is {size} bytes"),
        }
    }
    let growth = peak.saturating_sub(before);
    eprintln!("serve RSS {before} → peak {peak} bytes (+{growth})");
    assert!(
        growth < 50 * 1024 * 1024,
        "reading a 100 MiB log three ways at once grew the server by {} MiB",
        growth / (1024 * 1024)
    );
    server.stop();
}
