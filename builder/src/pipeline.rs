//! One build, start to end: the build context (a git checkout or a pasted Dockerfile), the
//! image with Bioshadock's labels, its smoke tests, the push. The worker supervises it
//! (timeout, cancel, shutdown) and cleans up after it whatever happened.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bioshadock_core::PortError;
use bioshadock_core::accounts::{Scopes, UserName};
use bioshadock_core::git::GitSource;
use bioshadock_core::orgs::Memberships;
use bioshadock_core::permissions::{Actor, Credential, Principal, may_run_build_as, rule_labels};
use bioshadock_core::ports::accounts::UserStore;
use bioshadock_core::ports::builds::{
    Build, BuildSource, BuildStore, BuiltDockerfile, MAX_RECORDED_DOCKERFILE,
};
use bioshadock_core::ports::orgs::OrgStore;
use bioshadock_core::ports::rules::RuleStore;
use bioshadock_core::ports::store::ContainerStore;
use bioshadock_core::rules::{RuleGate, RuleSet};
use bioshadock_core::tokens::{Action, ResourceAccess, TokenIssuer};

use tokio_util::task::TaskTracker;

use crate::docker::{BuildSettings, Engine};
use crate::labels::append_label;
use crate::log_sink::LogSender;
use crate::settings::BuilderSettings;
use crate::{context, git, smoke};

mod bases;
mod cache;
mod changes;
mod descriptor;
mod secrets;

/// The local repository builds are tagged in, each under its build id: never a registry name.
pub const LOCAL_REPOSITORY: &str = bioshadock_core::base_images::BUILD_REPOSITORY;

/// Why a build did not succeed, in a sentence for the top of its page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(pub String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure(error.to_string())
    }
}

/// What a build leaves behind on the engine, for the worker to remove afterwards.
#[derive(Debug, Default)]
pub struct Leftovers {
    pub images: Vec<String>,
    pub containers: Vec<String>,
}

/// A build's context and what goes with it, ready for the engine.
struct Prepared {
    /// The context as an uncompressed tar, its Dockerfile at the root.
    archive: Vec<u8>,
    /// Labels the build API adds (those that could not be appended to the Dockerfile).
    api_labels: BTreeMap<String, String>,
    /// Build arguments, placeholders filled in.
    args: BTreeMap<String, String>,
}

/// What preparing a build came to.
enum Context {
    Ready(Prepared),
    /// Nothing to build (see [`changes`]); the reason, for the top of the build's page.
    Skipped(String),
}

/// How a build that did not fail ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The image was pushed: its digest.
    Pushed(String),
    /// It was not built: why.
    Skipped(String),
}

/// Everything one build needs.
pub struct Pipeline {
    pub engine: Arc<Engine>,
    pub store: Arc<dyn BuildStore>,
    pub users: Arc<dyn UserStore>,
    pub orgs: Arc<dyn OrgStore>,
    pub rules: Arc<dyn RuleStore>,
    pub containers: Arc<dyn ContainerStore>,
    pub tokens: Arc<TokenIssuer>,
    /// Opens the build secrets.
    pub sealing: Arc<bioshadock_core::sealed::SealingKey>,
    pub settings: Arc<BuilderSettings>,
    /// Set when the build must stop (cancel, timeout, shutdown): the clone, checkout and tar
    /// loops poll it.
    pub stop: Arc<AtomicBool>,
    /// The blocking work (clone, archive) this build started: dropping the pipeline's future
    /// does not stop a thread, so the worker waits on these after setting `stop`.
    pub blocking: TaskTracker,
    pub leftovers: Arc<Mutex<Leftovers>>,
}

impl Pipeline {
    /// Runs `build` and returns the pushed digest (or why it was not built).
    ///
    /// The image is built under a name of this attempt's own (`bioshadock-build/ID-NONCE`), tagged
    /// with its registry name only for the push and untagged right after: a registry name left
    /// on the shared engine would be a base image another user's build could borrow.
    pub async fn run(&self, build: &Build, log: &LogSender) -> Result<Ended, Failure> {
        let image_repo = format!("{}/{}", self.settings.registry_host, build.container);
        let image = format!("{image_repo}:{}", build.tag);
        // Unique per attempt, not only per build id: portals sharing one engine number their
        // builds independently, and two `build 2`s must not tag (or remove) each other's image.
        let attempt = format!("{}-{:08x}", build.id, rand::random::<u32>());
        let local = format!("{LOCAL_REPOSITORY}/{attempt}:latest");
        say(
            log,
            format!(
                "building {}:{} (build {}, requested by {}) on {} as {local}",
                build.container, build.tag, build.id, build.requested_by, self.settings.worker
            ),
        )
        .await;
        let requester = self.check_requester(build).await?;
        // The checkout lives until the build is over; dropping it deletes it.
        let workdir = tempfile::Builder::new()
            .prefix("bioshadock-build-")
            .tempdir()
            .map_err(|e| Failure(format!("cannot create a work directory: {e}")))?;
        let prepared = match self.context(build, &requester, workdir.path(), log).await? {
            Context::Ready(prepared) => prepared,
            Context::Skipped(why) => return Ok(Ended::Skipped(why)),
        };
        let settings = BuildSettings {
            image: local.clone(),
            labels: prepared.api_labels,
            memory_bytes: self.settings.memory_bytes,
            cpus: self.settings.cpus,
            network_mode: self.settings.network.clone(),
            pull: self.settings.pull,
            args: prepared.args,
            cache_from: self.cache_source(build, log).await,
        };
        let context = prepared.archive;
        let secrets = self.secrets(build, workdir.path(), log).await?;
        self.leave(local.clone());
        say(log, "building the image".to_owned()).await;
        if secrets.is_empty() {
            self.engine.build(&settings, context, log).await?;
        } else {
            self.engine
                .build_with_secrets(&settings, context, &secrets.files, self.stop.clone())
                .await
                .map_err(|e| Failure(secrets.redact(&e.to_string())))?;
        }
        self.smoke_tests(&attempt, &local, &settings, log).await?;
        say(log, format!("pushing {image}")).await;
        let access = vec![ResourceAccess::repository(
            &build.container,
            &[Action::Pull, Action::Push],
        )];
        let token = self
            .tokens
            .mint_for(&build.requested_by, access, self.settings.timeout)
            .map_err(|e| Failure(format!("cannot sign a registry token for the push: {e}")))?;
        self.leave(image.clone());
        self.engine
            .tag(&local, &image_repo, build.tag.as_str())
            .await?;
        let pushed = self
            .engine
            .push(&image_repo, build.tag.as_str(), &token.token, log)
            .await;
        self.engine.remove_image(&image).await;
        let digest = pushed?;
        say(log, format!("pushed {image}@{digest}")).await;
        self.keep_cache(build, &local).await;
        Ok(Ended::Pushed(digest))
    }

    /// Records an image name for the worker to remove once the build is over.
    fn leave(&self, image: String) {
        self.leftovers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .images
            .push(image);
    }

    /// Refuses the build when its requester may no longer push to the container (disabled, or
    /// removed as a member, while the build was queued), before anything is cloned or pushed.
    async fn check_requester(&self, build: &Build) -> Result<Actor, Failure> {
        let unavailable =
            |e: PortError| Failure(format!("cannot check the requester's rights: {e}"));
        let gone = || {
            Failure(format!(
                "{} no longer exists: the build was not run",
                build.requested_by
            ))
        };
        let name = UserName::parse(&build.requested_by).map_err(|_| gone())?;
        let user = match self.users.get_user(&name).await {
            Ok(user) => user,
            Err(PortError::NotFound) => return Err(gone()),
            Err(e) => return Err(unavailable(e)),
        };
        let container = match self.containers.get(&build.container).await {
            Ok(container) => container,
            Err(PortError::NotFound) => {
                return Err(Failure(format!(
                    "the container {} no longer exists",
                    build.container
                )));
            }
            Err(e) => return Err(unavailable(e)),
        };
        let orgs = self.orgs.orgs_of(&name).await.map_err(unavailable)?;
        let memberships = Memberships::of(&name, &orgs);
        let gate = self.requester_gate(&user, &memberships).await?;
        let account = Actor {
            user,
            scopes: Scopes::all(),
            credential: Credential::Local,
            memberships,
            gate,
        };
        may_run_build_as(&Principal::User(account.clone()), &container)
            .map_err(|denied| Failure(format!("{denied}: the build was not run")))?;
        Ok(account)
    }

    /// The access rules that may match the requester (as the web decides: account, `role` and
    /// `org` labels; a build has no client address).
    async fn requester_gate(
        &self,
        user: &bioshadock_core::accounts::User,
        memberships: &Memberships,
    ) -> Result<Option<std::sync::Arc<RuleGate>>, Failure> {
        let stored = self
            .rules
            .get_rules()
            .await
            .map_err(|e| Failure(format!("cannot read the access rules: {e}")))?;
        let rules = std::sync::Arc::new(
            RuleSet::parse(&stored.source)
                .map_err(|e| Failure(format!("the stored access rules do not parse: {e}")))?,
        );
        if rules.is_empty() {
            return Ok(None);
        }
        Ok(RuleGate::for_caller(
            &rules,
            self.tokens.service(),
            user.name.as_str(),
            None,
            rule_labels(user, memberships),
        ))
    }

    /// The build context as a tar archive, with its portal base images pinned (see
    /// [`bases`]) and the source labels appended to its Dockerfile, and the build arguments
    /// with the commit filled in (recorded on the build).
    async fn context(
        &self,
        build: &Build,
        requester: &Actor,
        workdir: &std::path::Path,
        log: &LogSender,
    ) -> Result<Context, Failure> {
        let mut labels = BTreeMap::new();
        labels.insert(
            "org.opencontainers.image.created".into(),
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        );
        match &build.source {
            BuildSource::Dockerfile(text) => {
                labels.insert(
                    "org.opencontainers.image.source".into(),
                    format!("{}/r/{}", self.settings.public_url, build.container),
                );
                say(log, "using the Dockerfile saved in the portal".to_owned()).await;
                self.record_dockerfile(build.id, "Dockerfile", text).await;
                self.record_descriptor(build, None, log).await;
                let args = self.record_args(build, None, log).await;
                let text = self.pin_base_images(text, &args, requester, log).await?;
                let (archive, api_labels) = match append_label(&text, &labels) {
                    Some(labelled) => (context::tar_dockerfile(&labelled)?, BTreeMap::new()),
                    None => (context::tar_dockerfile(&text)?, labels),
                };
                Ok(Context::Ready(Prepared {
                    archive,
                    api_labels,
                    args,
                }))
            }
            BuildSource::Git(raw) => {
                let source = GitSource::parse(raw)?;
                labels.insert(
                    "org.opencontainers.image.source".into(),
                    source.public_url(),
                );
                let checkout = workdir.join("checkout");
                let revision = self.clone(source.clone(), checkout.clone(), log).await?;
                if let Err(e) = self.store.set_revision(build.id, &revision).await {
                    tracing::warn!(build = build.id, error = %e, "cannot record the revision");
                }
                if let Some(why) = self.unchanged(build, &source, &checkout, log).await? {
                    return Ok(Context::Skipped(why));
                }
                let args = self.record_args(build, Some(&revision), log).await;
                labels.insert("org.opencontainers.image.revision".into(), revision);
                let subdir = source.subdir.clone();
                let (dir, text, committed) = self
                    .blocking
                    .spawn_blocking(move || {
                        let dir = git::context_dir(&checkout, source.subdir.as_deref())?;
                        let text = read_dockerfile(&checkout, &dir)?;
                        Ok::<_, Failure>((dir, text, git::commit_time(&checkout)))
                    })
                    .await
                    .map_err(|e| Failure(format!("reading the Dockerfile failed: {e}")))??;
                // The commit's time, not the build's (as SOURCE_DATE_EPOCH does): the labels of
                // an unchanged source are then the same, and so is their step, which the cache
                // serves too, so the rebuild makes the same image and pushes nothing new.
                if let Some(committed) = committed {
                    labels.insert(
                        "org.opencontainers.image.created".into(),
                        committed.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    );
                }
                let path = match subdir.as_deref().map(|s| s.trim_matches('/')) {
                    Some(subdir) if !subdir.is_empty() => format!("{subdir}/Dockerfile"),
                    _ => "Dockerfile".to_owned(),
                };
                self.record_dockerfile(build.id, &path, &text).await;
                let checkout = workdir.join("checkout");
                self.record_descriptor(build, Some(&checkout), log).await;
                let text = self.pin_base_images(&text, &args, requester, log).await?;
                let (text, api_labels) = match append_label(&text, &labels) {
                    Some(labelled) => (labelled, BTreeMap::new()),
                    None => (text, labels),
                };
                let max = self.settings.max_context_bytes;
                let stop = self.stop.clone();
                let archive = self
                    .blocking
                    .spawn_blocking(move || {
                        let cancelled = || stop.load(Ordering::Relaxed);
                        write_dockerfile(&dir, &text)?;
                        Ok::<_, Failure>(context::tar_directory(&dir, max, &cancelled)?)
                    })
                    .await
                    .map_err(|e| Failure(format!("preparing the build context failed: {e}")))??;
                Ok(Context::Ready(Prepared {
                    archive,
                    api_labels,
                    args,
                }))
            }
        }
    }

    /// What a checkout (and a fetch) may hold: `builder.max_context_mb` and
    /// `builder.max_context_files`.
    fn checkout_limits(&self) -> git::CheckoutLimits {
        git::CheckoutLimits {
            max_bytes: self.settings.max_context_bytes,
            max_files: self.settings.max_context_files,
        }
    }

    /// Clones off the async runtime (libgit2 blocks), forwarding its progress lines.
    async fn clone(
        &self,
        source: GitSource,
        into: std::path::PathBuf,
        log: &LogSender,
    ) -> Result<String, Failure> {
        let stop = self.stop.clone();
        let lines = log.clone();
        let limits = self.checkout_limits();
        self.blocking
            .spawn_blocking(move || {
                let mut forward = |line: String| {
                    // The clone runs on a plain thread: wait for room rather than drop lines.
                    let _ = lines.blocking_send(line);
                };
                let cancelled = || stop.load(Ordering::Relaxed);
                git::clone_source(&source, &into, limits, &mut forward, &cancelled)
            })
            .await
            .map_err(|e| Failure(format!("the clone stopped unexpectedly: {e}")))?
            .map_err(Failure::from)
    }

    /// Runs the image's declared smoke tests; the first that fails fails the build.
    async fn smoke_tests(
        &self,
        attempt: &str,
        image: &str,
        settings: &BuildSettings,
        log: &LogSender,
    ) -> Result<(), Failure> {
        let labels = self.engine.image_labels(image).await?;
        let Some(declared) = labels.get(smoke::TESTS_LABEL) else {
            return Ok(());
        };
        let commands = smoke::commands(declared).map_err(Failure)?;
        for (n, command) in commands.iter().enumerate() {
            let n = n + 1;
            let name = format!("bioshadock-build-{attempt}-test-{n}");
            self.leftovers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .containers
                .push(name.clone());
            say(log, format!("smoke test {n}/{}: {command}", commands.len())).await;
            let code = self
                .engine
                .run_command(image, &name, command, settings, log)
                .await?;
            if code != 0 {
                return Err(Failure(format!(
                    "smoke test {n} (`{command}`) exited with code {code}; the image was not pushed"
                )));
            }
        }
        say(log, format!("{} smoke test(s) passed", commands.len())).await;
        Ok(())
    }
}

impl Pipeline {
    /// Records the Dockerfile this build builds, as its source holds it, so the container page
    /// can show it for every built tag. Best effort: the build goes on if the store refuses.
    async fn record_dockerfile(&self, id: i64, path: &str, text: &str) {
        let mut end = text.len().min(MAX_RECORDED_DOCKERFILE);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let recorded = BuiltDockerfile {
            path: path.to_owned(),
            text: text[..end].to_owned(),
        };
        if let Err(e) = self.store.set_dockerfile(id, &recorded).await {
            tracing::warn!(build = id, error = %e, "cannot record the Dockerfile");
        }
    }
}

/// The text of the context's Dockerfile: a regular UTF-8 file inside the checkout of at most
/// [`context::MAX_SMALL_FILE`] bytes.
fn read_dockerfile(checkout: &std::path::Path, dir: &std::path::Path) -> Result<String, Failure> {
    let checkout = checkout
        .canonicalize()
        .map_err(|e| Failure(format!("cannot use the checkout directory: {e}")))?;
    let path = dir.join("Dockerfile");
    let relative = path.strip_prefix(&checkout).unwrap_or(&path);
    let bytes = context::read_regular_file(
        &checkout,
        &relative.to_string_lossy(),
        context::MAX_SMALL_FILE,
    )?
    .ok_or_else(|| Failure("the Dockerfile disappeared from the checkout".to_owned()))?;
    String::from_utf8(bytes).map_err(|_| Failure("the Dockerfile is not UTF-8 text".to_owned()))
}

/// Replaces the context's Dockerfile (our own copy: the clone is ours) with `text`. A
/// symlinked Dockerfile is replaced by a file, so whatever it points at stays as it was.
fn write_dockerfile(dir: &std::path::Path, text: &str) -> Result<(), Failure> {
    let path = dir.join("Dockerfile");
    std::fs::remove_file(&path)
        .and_then(|()| std::fs::write(&path, text))
        .map_err(|e| Failure(format!("cannot write the Dockerfile: {e}")))
}

/// A line of Bioshadock's own, marked so it stands out from the build's output.
pub async fn say(log: &LogSender, line: String) {
    let _ = log.send(format!("[bioshadock] {line}")).await;
}
