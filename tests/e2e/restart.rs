//! Nothing written is lost across a restart, clean (SIGTERM) or not (SIGKILL).

use crate::support::*;

async fn snapshot(site: &Site) -> (String, serde_json::Value) {
    let client = http();
    let all = client
        .get(site.url("/container/all"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let search = client
        .get(site.url("/container/search?q=bwa"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (all, search)
}

#[tokio::test]
async fn data_survives_clean_and_hard_restarts() {
    let site = Site::new();
    site.seed(120);
    let server = site.serve().await;
    let before = snapshot(&site).await;
    let listed: Vec<serde_json::Value> = serde_json::from_str(&before.0).unwrap();
    assert_eq!(listed.len(), 108, "120 seeded, every tenth private");
    assert!(before.1["total"].as_u64().unwrap() > 0);
    server.stop();

    let server = site.serve().await;
    assert_eq!(snapshot(&site).await, before, "after SIGTERM");
    server.kill();

    let server = site.serve().await;
    assert_eq!(snapshot(&site).await, before, "after SIGKILL");
    server.stop();
}
