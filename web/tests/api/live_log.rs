//! The live log's bounds, read as a browser reads it, frame by frame: it wakes on appended
//! lines rather than polling, ends when the caller loses access, ends when idle and resumes
//! with `Last-Event-ID`, and is capped per client address and in all.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::{Body, BodyDataStream};
use axum::extract::ConnectInfo;
use axum::http::{Request, header};
use bioshadock_core::accounts::Role;
use bioshadock_core::model::now;
use bioshadock_web::LiveLogSettings;
use futures::StreamExt;

use crate::support::*;

/// A live-log stream being read.
struct Live {
    body: BodyDataStream,
    /// What arrived and is not yet parsed into events.
    buffer: String,
}

/// One server-sent event: its name (`message` unless named), id and data.
#[derive(Debug)]
struct Sse {
    event: String,
    id: Option<u64>,
    data: String,
}

impl Live {
    /// The next event within `within`; `Ok(None)` when the stream ended, `Err` on timeout.
    async fn next(&mut self, within: Duration) -> Result<Option<Sse>, &'static str> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse(&block) {
                    return Ok(Some(event));
                }
            }
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Err(_) => return Err("no event in time"),
                Ok(None) => return Ok(None),
                Ok(Some(chunk)) => self
                    .buffer
                    .push_str(&String::from_utf8_lossy(&chunk.unwrap())),
            }
        }
    }

    /// The next `message` event's id and text, skipping status events.
    async fn line(&mut self, within: Duration) -> Result<Option<(u64, String)>, &'static str> {
        loop {
            match self.next(within).await? {
                None => return Ok(None),
                Some(Sse {
                    event,
                    id: Some(id),
                    data,
                }) if event == "message" => {
                    return Ok(Some((id, data)));
                }
                Some(_) => {}
            }
        }
    }
}

/// An SSE block; `None` for comments alone (keep-alives).
fn parse(block: &str) -> Option<Sse> {
    let mut event = Sse {
        event: "message".into(),
        id: None,
        data: String::new(),
    };
    let mut any = false;
    for line in block.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            event.event = v.trim().into();
            any = true;
        } else if let Some(v) = line.strip_prefix("id:") {
            event.id = v.trim().parse().ok();
            any = true;
        } else if let Some(v) = line.strip_prefix("data:") {
            event.data.push_str(v.strip_prefix(' ').unwrap_or(v));
            any = true;
        }
    }
    any.then_some(event)
}

fn settings() -> LiveLogSettings {
    LiveLogSettings {
        max_streams: 100,
        max_streams_per_client: 100,
        idle: Duration::from_secs(60),
        poll: Duration::from_millis(200),
    }
}

/// alice's public `alice/tool` with a running build; returns the app, alice's key and the id.
async fn running(live_log: LiveLogSettings) -> (TestApp, String, i64) {
    let app = TestApp::with_live_log(live_log).await;
    let mut tool = public("alice/tool", 1);
    tool.dockerfile = Some("FROM busybox\n".into());
    app.add(&[tool]).await;
    app.user("alice", Role::User, "alice password").await;
    let key = app.key("alice", "read,build,push").await;
    let id = app
        .get(&format!("/container/git/alice/tool?apikey={key}"))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    app.backends
        .builds
        .start(id, "test-worker", now())
        .await
        .unwrap();
    (app, key, id)
}

fn events_request(id: i64, from: Option<&str>, last_event_id: Option<u64>) -> Request<Body> {
    let mut request = Request::get(format!("/build/{id}/events"));
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id.to_string());
    }
    let mut request = request.body(Body::empty()).unwrap();
    if let Some(ip) = from {
        let addr: SocketAddr = format!("{ip}:40000").parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(addr));
    }
    request
}

async fn open(app: &TestApp, id: i64, from: Option<&str>, last_event_id: Option<u64>) -> Live {
    let response = app.open(events_request(id, from, last_event_id)).await;
    assert_eq!(response.status(), 200);
    Live {
        body: response.into_body().into_data_stream(),
        buffer: String::new(),
    }
}

async fn append(app: &TestApp, id: i64, lines: &[&str]) {
    let lines: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    app.backends.builds.append_log(id, &lines).await.unwrap();
}

#[tokio::test]
async fn lines_arrive_at_once_on_a_wake_up_not_on_a_poll() {
    // A poll an hour apart: a line arriving within a second came by the wake-up.
    let (app, _, id) = running(LiveLogSettings {
        poll: Duration::from_secs(3600),
        ..settings()
    })
    .await;
    let mut live = open(&app, id, None, None).await;
    let status = live.next(Duration::from_secs(1)).await.unwrap().unwrap();
    assert_eq!(status.event, "status");
    assert!(
        live.next(Duration::from_millis(300)).await.is_err(),
        "nothing yet"
    );
    for n in 1..=3 {
        let text = format!("step {n}");
        append(&app, id, &[&text]).await;
        assert_eq!(
            live.line(Duration::from_secs(1)).await,
            Ok(Some((n, text))),
            "line {n} arrives promptly"
        );
    }
}

#[tokio::test]
async fn a_stream_ends_when_its_container_turns_private() {
    let (app, key, id) = running(settings()).await;
    append(&app, id, &["public line"]).await;
    let mut live = open(&app, id, None, None).await;
    assert_eq!(
        live.line(Duration::from_secs(1)).await,
        Ok(Some((1, "public line".into())))
    );
    let private = Request::patch("/container/alice/tool")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"visible": false}"#))
        .unwrap();
    let changed = app.with_key(&key, private).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    append(&app, id, &["secret line"]).await;
    assert_eq!(
        live.line(Duration::from_secs(2)).await,
        Ok(None),
        "the stream ends without sending what followed"
    );
    // Nor can anonymous callers open it again.
    let again = app.send(events_request(id, None, None)).await;
    again.assert_error(404, "not_found");
}

#[tokio::test]
async fn an_idle_stream_ends_and_resumes_after_its_last_event_id() {
    let app = TestApp::with_live_log(LiveLogSettings {
        idle: Duration::from_millis(500),
        ..settings()
    })
    .await;
    let mut tool = public("alice/tool", 1);
    tool.dockerfile = Some("FROM busybox\n".into());
    app.add(&[tool]).await;
    app.user("alice", Role::User, "alice password").await;
    let key = app.key("alice", "read,build").await;
    let id = app
        .get(&format!("/container/git/alice/tool?apikey={key}"))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();

    // Queued, nothing happens: the stream sends the status, then ends after the idle bound.
    let mut live = open(&app, id, None, None).await;
    let status = live.next(Duration::from_secs(1)).await.unwrap().unwrap();
    assert_eq!(
        (status.event.as_str(), status.data.contains("queued")),
        ("status", true)
    );
    assert!(
        matches!(live.next(Duration::from_secs(2)).await, Ok(None)),
        "ended when idle"
    );

    // It starts and logs; a stream follows, goes idle and ends after line 2.
    app.backends
        .builds
        .start(id, "test-worker", now())
        .await
        .unwrap();
    append(&app, id, &["one", "two"]).await;
    let mut live = open(&app, id, None, None).await;
    assert_eq!(
        live.line(Duration::from_secs(1)).await,
        Ok(Some((1, "one".into())))
    );
    assert_eq!(
        live.line(Duration::from_secs(1)).await,
        Ok(Some((2, "two".into())))
    );
    assert_eq!(
        live.line(Duration::from_secs(2)).await,
        Ok(None),
        "ended when idle"
    );

    // Lines logged meanwhile come with the resumed stream, from after its Last-Event-ID.
    append(&app, id, &["three"]).await;
    let mut resumed = open(&app, id, None, Some(2)).await;
    assert_eq!(
        resumed.line(Duration::from_secs(1)).await,
        Ok(Some((3, "three".into())))
    );
    append(&app, id, &["four"]).await;
    assert_eq!(
        resumed.line(Duration::from_secs(1)).await,
        Ok(Some((4, "four".into())))
    );
}

#[tokio::test]
async fn streams_are_capped_per_client_address_and_in_all() {
    let (app, _, id) = running(LiveLogSettings {
        max_streams: 3,
        max_streams_per_client: 2,
        ..settings()
    })
    .await;
    let first = open(&app, id, Some("10.0.0.1"), None).await;
    let _second = open(&app, id, Some("10.0.0.1"), None).await;
    let refused = app.send(events_request(id, Some("10.0.0.1"), None)).await;
    refused.assert_error(429, "too_many_streams");
    assert!(refused.body.contains("web.live_log_max_streams_per_client"));
    let _third = open(&app, id, Some("10.0.0.2"), None).await;
    let refused = app.send(events_request(id, Some("10.0.0.3"), None)).await;
    refused.assert_error(429, "too_many_streams");
    assert!(refused.body.contains("web.live_log_max_streams"));

    // A stream that goes away gives its place back.
    drop(first);
    let _again = open(&app, id, Some("10.0.0.1"), None).await;
    app.send(events_request(id, Some("10.0.0.1"), None))
        .await
        .assert_error(429, "too_many_streams");
}
