//! A queued build runs with its requester's rights as they are when it starts: a requester
//! disabled, or removed as a push member, while the build waited is refused before anything
//! is cloned, built or pushed. A real worker on the embedded backends and the real engine.

use std::time::{Duration, Instant};

use bioshadock_backends::{Backends, open_backends};
use bioshadock_builder::{BuilderSettings, WorkerPorts, run};
use bioshadock_core::accounts::{Role, User, UserName};
use bioshadock_core::config::Config;
use bioshadock_core::model::{Access, Container, Member, Visibility, now};
use bioshadock_core::ports::builds::{BUILD_JOB, Build, BuildSource, BuildStatus, NewBuild};
use bioshadock_core::ports::queue::NewJob;
use bioshadock_core::tokens::{KidStyle, SigningMaterial, TokenIssuer};
use bioshadock_core::{RepoName, TagName};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

async fn backends() -> (Config, Backends, TempDir) {
    let dir = TempDir::new().unwrap();
    let mut config = Config::load(None).unwrap();
    config.data_dir = dir.path().to_path_buf();
    let backends = open_backends(&config).await.unwrap();
    (config, backends, dir)
}

fn worker_ports(backends: &Backends) -> WorkerPorts {
    WorkerPorts {
        queue: backends.queue.clone(),
        builds: backends.builds.clone(),
        users: backends.users.clone(),
        orgs: backends.orgs.clone(),
        rules: backends.rules.clone(),
        containers: backends.store.clone(),
        events: backends.events.clone(),
        tokens: std::sync::Arc::new(TokenIssuer::new(
            SigningMaterial::generate().unwrap(),
            "bioshadock".into(),
            "bioshadock-registry".into(),
            KidStyle::Libtrust,
            Duration::from_secs(300),
        )),
        sealing: std::sync::Arc::new(
            bioshadock_core::sealed::SealingKey::from_bytes(&[7; 32]).unwrap(),
        ),
        wake: Default::default(),
        status: Default::default(),
    }
}

/// Queues a build of `container` for `requester`, as the web does once it checked the rights.
async fn queue(backends: &Backends, container: &str, requester: &str) -> i64 {
    let job = backends
        .queue
        .enqueue(NewJob {
            kind: BUILD_JOB.into(),
            owner: requester.into(),
            dedupe_key: Some(format!("build:{container}:{requester}")),
            payload: serde_json::json!({}),
        })
        .await
        .unwrap()
        .job;
    backends
        .builds
        .create(NewBuild {
            id: job.id,
            container: RepoName::parse(container).unwrap(),
            tag: TagName::parse("latest").unwrap(),
            requested_by: requester.into(),
            source: BuildSource::Dockerfile("FROM scratch\nLABEL a=b\n".into()),
            options: Default::default(),
            queued_at: now(),
        })
        .await
        .unwrap();
    job.id
}

async fn ended(backends: &Backends, id: i64) -> Build {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let build = backends.builds.get(id).await.unwrap();
        if build.status.is_final() {
            return build;
        }
        assert!(Instant::now() < deadline, "still {:?}", build.status);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_whose_requester_lost_the_right_to_push_is_refused_when_it_starts() {
    super::support::engine().await;
    let (config, backends, _dir) = backends().await;
    let name = |n: &str| UserName::parse(n).unwrap();
    for user in ["alice", "bob"] {
        let user = User::new(name(user), Role::User);
        backends.users.create_user(&user, "x").await.unwrap();
    }
    let mut tool = Container::new(
        RepoName::parse("alice/tool").unwrap(),
        "alice",
        Visibility::Private,
    );
    tool.members = vec![Member {
        user: bioshadock_core::MemberName::from(name("bob")),
        access: Access::Push,
    }];
    backends.store.create(&tool).await.unwrap();
    let mut other = Container::new(
        RepoName::parse("alice/other").unwrap(),
        "alice",
        Visibility::Private,
    );
    other.dockerfile = Some("FROM scratch\n".into());
    backends.store.create(&other).await.unwrap();

    // Both queued while allowed; then bob is made a pull member and alice is disabled.
    let bobs = queue(&backends, "alice/tool", "bob").await;
    let alices = queue(&backends, "alice/other", "alice").await;
    tool.members[0].access = Access::Pull;
    backends.store.put(&tool).await.unwrap();
    backends
        .users
        .set_disabled(&name("alice"), true)
        .await
        .unwrap();

    let stop = CancellationToken::new();
    let worker = tokio::spawn(run(
        worker_ports(&backends),
        BuilderSettings::from_config(&config),
        stop.clone(),
    ));
    let bob_build = ended(&backends, bobs).await;
    let alice_build = ended(&backends, alices).await;
    stop.cancel();
    worker.await.unwrap();

    assert_eq!(bob_build.status, BuildStatus::Failed);
    assert_eq!(
        bob_build.reason.as_deref(),
        Some("bob no longer has push rights on alice/tool: the build was not run")
    );
    assert_eq!(alice_build.status, BuildStatus::Failed);
    assert_eq!(
        alice_build.reason.as_deref(),
        Some("alice was disabled after queueing this build: the build was not run")
    );
    for id in [bobs, alices] {
        let log: Vec<String> = backends
            .builds
            .log(id, 0, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.text)
            .collect();
        assert!(
            !log.iter()
                .any(|l| l.contains("building the image") || l.contains("pushing")),
            "nothing built or pushed: {log:?}"
        );
        assert!(backends.builds.get(id).await.unwrap().digest.is_none());
    }
}

/// Organisation standing counts when the build starts: a member removed from the organisation
/// while her build waited is refused; an admin of the organisation is let through the check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_whose_requester_left_the_organisation_is_refused_when_it_starts() {
    use bioshadock_core::orgs::{OrgName, OrgRole, Organisation, Permission, TeamName};
    super::support::engine().await;
    let (config, backends, _dir) = backends().await;
    let name = |n: &str| UserName::parse(n).unwrap();
    for user in ["olga", "ada", "mia"] {
        let user = User::new(name(user), Role::User);
        backends.users.create_user(&user, "x").await.unwrap();
    }
    let mut lab =
        Organisation::new(OrgName::parse("lab").unwrap(), String::new(), name("olga")).unwrap();
    lab.set_member(&name("ada"), OrgRole::Admin).unwrap();
    lab.set_member(&name("mia"), OrgRole::Member).unwrap();
    let builders = TeamName::parse("builders").unwrap();
    lab.add_team(builders.clone(), Permission::Write).unwrap();
    lab.set_team_member(&builders, &name("mia"), true).unwrap();
    backends.orgs.create_org(&lab).await.unwrap();
    let tool = Container::new(
        RepoName::parse("lab/tool").unwrap(),
        "lab",
        Visibility::Private,
    );
    backends.store.create(&tool).await.unwrap();

    let mias = queue(&backends, "lab/tool", "mia").await;
    let adas = queue(&backends, "lab/tool", "ada").await;
    let mut lab = backends.orgs.get_org(&lab.name).await.unwrap();
    lab.remove_member(&name("mia")).unwrap();
    backends.orgs.save_org(&lab).await.unwrap();

    let stop = CancellationToken::new();
    let worker = tokio::spawn(run(
        worker_ports(&backends),
        BuilderSettings::from_config(&config),
        stop.clone(),
    ));
    let mia_build = ended(&backends, mias).await;
    let ada_build = ended(&backends, adas).await;
    stop.cancel();
    worker.await.unwrap();
    assert_eq!(
        mia_build.reason.as_deref(),
        Some("mia no longer has push rights on lab/tool: the build was not run")
    );
    assert!(
        !ada_build
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("no longer has push rights"),
        "an admin of the organisation may build: {:?}",
        ada_build.reason
    );
}

/// The access rules decide at the start of a build as they do on the web: a rule that lets the
/// requester only pull refuses their queued build.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_an_access_rule_no_longer_allows_is_refused_when_it_starts() {
    super::support::engine().await;
    let (config, backends, _dir) = backends().await;
    let bob = User::new(UserName::parse("bob").unwrap(), Role::User);
    backends.users.create_user(&bob, "x").await.unwrap();
    let tool = Container::new(
        RepoName::parse("bob/tool").unwrap(),
        "bob",
        Visibility::Private,
    );
    backends.store.create(&tool).await.unwrap();
    let queued = queue(&backends, "bob/tool", "bob").await;
    backends
        .rules
        .put_rules("- match: {account: bob}\n  actions: [pull]\n", 0)
        .await
        .unwrap();
    let stop = CancellationToken::new();
    let worker = tokio::spawn(run(
        worker_ports(&backends),
        BuilderSettings::from_config(&config),
        stop.clone(),
    ));
    let build = ended(&backends, queued).await;
    stop.cancel();
    worker.await.unwrap();
    assert_eq!(
        build.reason.as_deref(),
        Some("bob no longer has push rights on bob/tool: the build was not run")
    );
}
