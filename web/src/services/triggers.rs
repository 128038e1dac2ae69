//! Push triggers on behalf of a container's managers (create, list, delete, the decision log)
//! and of a git server (`POST /hooks/{provider}/{namespace}/{name}`): the delivery is believed
//! by the trigger whose secret signed it, read, decided under that trigger's rules, and built
//! from the pushed commit exactly, as the trigger's creator, through the same queue as every
//! other build. Every delivery's fate is recorded with its reason, whatever it is.

use axum::http::{HeaderMap, StatusCode};
use bioshadock_core::accounts::Scope;
use bioshadock_core::events::EventKind;
use bioshadock_core::git::short_commit;
use bioshadock_core::permissions::Principal;
use bioshadock_core::ports::builds::ChangeFilter;
use bioshadock_core::ports::triggers::MAX_DECISIONS_PER_READ;
use bioshadock_core::triggers::{
    self, Decision, Outcome, Provider, Push, Received, Trigger, TriggerRules, Verdict,
};
use bioshadock_core::{PortError, RepoName};

use super::{builds, containers, events};
use crate::error::ApiError;
use crate::state::AppState;

/// Triggers of one container, at most.
pub const MAX_TRIGGERS: usize = 10;
/// Bad-signature deliveries recorded per container and minute, at most: a stranger cannot fill
/// the log.
const BAD_SIGNATURE_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

/// A trigger as asked for.
#[derive(Debug)]
pub struct NewTrigger {
    pub provider: Provider,
    /// The secret; generated when absent.
    pub secret: Option<String>,
    pub rules: TriggerRules,
    /// Build arguments over the container's.
    pub build_args: std::collections::BTreeMap<String, String>,
}

/// A container its caller manages (a trigger builds as its creator: only managers make one).
async fn managed(
    state: &AppState,
    principal: &Principal,
    id: &RepoName,
    scope: Scope,
) -> Result<bioshadock_core::Container, ApiError> {
    containers::managed(state, principal, id, scope, "a container's triggers").await
}

/// Creates a trigger; answers it with its secret, shown this once.
pub async fn create(
    state: &AppState,
    principal: &Principal,
    id: &RepoName,
    new: NewTrigger,
) -> Result<(Trigger, String), ApiError> {
    let container = managed(state, principal, id, Scope::Push).await?;
    if container.git.as_deref().is_none_or(|g| g.trim().is_empty()) {
        return Err(ApiError::conflict(format!(
            "`{id}` has no git source to build from: set one first"
        )));
    }
    let rules = new.rules.checked().map_err(ApiError::bad_request)?;
    bioshadock_core::build_settings::check_args(&new.build_args).map_err(ApiError::bad_request)?;
    let secret = match new.secret {
        Some(secret) => super::webhooks::checked_secret(secret)?,
        None => bioshadock_core::webhooks::new_secret(),
    };
    let existing = state.triggers.triggers_of(id.as_str()).await?;
    if existing.len() >= MAX_TRIGGERS {
        return Err(ApiError::conflict(format!(
            "at most {MAX_TRIGGERS} triggers per container: delete one first"
        )));
    }
    let trigger = Trigger {
        id: triggers::new_trigger_id(),
        container: id.to_string(),
        provider: new.provider,
        sealed_secret: state.sealing.seal(&secret),
        rules,
        build_args: new.build_args,
        created_by: principal
            .name()
            .map(ToString::to_string)
            .unwrap_or_default(),
        created_at: bioshadock_core::model::now(),
    };
    state.triggers.create_trigger(&trigger).await?;
    let summary = format!(
        "trigger {} added ({})",
        trigger.id,
        trigger.provider.as_str()
    );
    let kind = EventKind::ContainerEdited;
    events::record_on_container(state, principal, kind, id, id.to_string(), summary).await;
    Ok((trigger, secret))
}

/// A container's triggers.
pub async fn list(
    state: &AppState,
    principal: &Principal,
    id: &RepoName,
) -> Result<Vec<Trigger>, ApiError> {
    managed(state, principal, id, Scope::Read).await?;
    Ok(state.triggers.triggers_of(id.as_str()).await?)
}

/// Deletes one of a container's triggers.
pub async fn delete(
    state: &AppState,
    principal: &Principal,
    id: &RepoName,
    trigger: &str,
) -> Result<(), ApiError> {
    managed(state, principal, id, Scope::Push).await?;
    let ours = state.triggers.triggers_of(id.as_str()).await?;
    if !ours.iter().any(|t| t.id == trigger) {
        return Err(ApiError::not_found(format!(
            "`{id}` has no trigger `{trigger}`"
        )));
    }
    match state.triggers.delete_trigger(trigger).await {
        Ok(()) | Err(PortError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    let summary = format!("trigger {trigger} removed");
    let kind = EventKind::ContainerEdited;
    events::record_on_container(state, principal, kind, id, id.to_string(), summary).await;
    Ok(())
}

/// A container's decision log, newest first.
pub async fn decisions(
    state: &AppState,
    principal: &Principal,
    id: &RepoName,
    limit: usize,
) -> Result<Vec<Decision>, ApiError> {
    managed(state, principal, id, Scope::Read).await?;
    let limit = limit.clamp(1, MAX_DECISIONS_PER_READ);
    Ok(state.triggers.decisions(id.as_str(), limit).await?)
}

/// What the hook endpoint answers.
#[derive(Debug)]
pub struct HookAnswer {
    pub status: StatusCode,
    pub decision: Decision,
}

/// A delivery to `/hooks/{provider}/{id}`: believed, read, decided, built; recorded.
pub async fn receive(
    state: &AppState,
    provider: Provider,
    id: &RepoName,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<HookAnswer, ApiError> {
    // A container nobody may know of, or without such a trigger, is simply not there.
    let unknown = || ApiError::not_found(format!("no {} trigger for `{id}`", provider.as_str()));
    let candidates: Vec<Trigger> = state
        .triggers
        .triggers_of(id.as_str())
        .await?
        .into_iter()
        .filter(|t| t.provider == provider)
        .collect();
    if candidates.is_empty() {
        return Err(unknown());
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let believed: Vec<Trigger> = candidates
        .into_iter()
        .filter(|t| {
            state
                .sealing
                .open(&t.sealed_secret)
                .is_ok_and(|secret| triggers::verify(provider, &secret, header, body).is_ok())
        })
        .collect();
    let mut decision = Decision {
        at: bioshadock_core::model::now(),
        container: id.to_string(),
        trigger: None,
        provider: provider.into(),
        reference: None,
        commit: None,
        outcome: Outcome::BadSignature,
        reason: String::new(),
        builds: Vec::new(),
    };
    let Some(first) = believed.first() else {
        decision.reason = "the signature (or token) does not match any trigger's secret".into();
        // Recorded once a minute per container at most: strangers cannot fill the log.
        let key = format!("trigger-bad-signature:{id}");
        if state
            .coordination
            .first_time(&key, BAD_SIGNATURE_WINDOW)
            .await
            .unwrap_or(true)
        {
            record(state, &decision).await;
        }
        return Err(ApiError::unauthorized(decision.reason));
    };
    decision.trigger = Some(first.id.clone());
    let event = match provider {
        Provider::Github => header("x-github-event"),
        Provider::Gitlab => header("x-gitlab-event"),
        Provider::Gitea => header("x-gitea-event").or_else(|| header("x-forgejo-event")),
        Provider::Generic => None,
    };
    let push = match triggers::parse(provider, event, body) {
        Ok(Received::Push(push)) => push,
        Ok(Received::Ignore(why)) => {
            decision.outcome = Outcome::Ignored;
            decision.reason = why;
            return Ok(answer(state, StatusCode::OK, decision).await);
        }
        Err(why) => {
            decision.outcome = Outcome::Ignored;
            decision.reason = why;
            record(state, &decision).await;
            return Err(ApiError::bad_request(decision.reason.clone()));
        }
    };
    decision.reference = Some(push.describe());
    decision.commit = Some(push.commit.clone());
    // Several triggers of one provider may share a secret (one per path, say): each decides.
    let mut outcomes = Vec::new();
    for trigger in &believed {
        outcomes.push(decide_one(state, trigger, &push, &mut decision.builds).await);
    }
    let (outcome, reason) = summarise(outcomes);
    decision.outcome = outcome;
    decision.reason = reason;
    let status = match decision.outcome {
        Outcome::Queued | Outcome::Deduplicated => StatusCode::ACCEPTED,
        Outcome::OverLimit => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::OK,
    };
    Ok(answer(state, status, decision).await)
}

/// One trigger's decision on `push`: its outcome and reason; queued builds are added to
/// `builds`.
async fn decide_one(
    state: &AppState,
    trigger: &Trigger,
    push: &Push,
    builds: &mut Vec<(i64, String)>,
) -> (Outcome, String) {
    let today = bioshadock_core::model::now().date_naive();
    let tags = match triggers::decide(&trigger.rules, push, today) {
        Verdict::Build { tags } => tags,
        Verdict::IgnoredByRef => {
            return (
                Outcome::IgnoredByRef,
                format!("{} is not among the trigger's refs", push.describe()),
            );
        }
        Verdict::IgnoredByPath => {
            return (
                Outcome::IgnoredByPath,
                "no changed file matches the trigger's paths".to_owned(),
            );
        }
        Verdict::NoTag => {
            return (
                Outcome::NoTag,
                format!("no tag template applies to {}", push.describe()),
            );
        }
    };
    let requester = match creator(state, trigger).await {
        Ok(principal) => principal,
        Err(why) => return (Outcome::Failed, why),
    };
    let Ok(id) = RepoName::parse(&trigger.container) else {
        return (Outcome::Failed, "the trigger names no container".to_owned());
    };
    let mut queued_any = false;
    let mut deduplicated_any = false;
    // The payload did not list the changed files, and the path filter needs them: each tag's
    // build compares the pushed commit with the one the tag was last built from.
    let compare = push.changed_paths.is_none() && !trigger.rules.paths.is_empty();
    let last_built = if compare {
        match builds::newest_success_per_tag(state, &id).await {
            Ok(newest) => newest,
            Err(e) => return (Outcome::Failed, format!("cannot read the builds: {e}")),
        }
    } else {
        Default::default()
    };
    let mut compared = Vec::new();
    for tag in &tags {
        let since = last_built.get(tag).and_then(|b| b.revision.clone());
        if let Some(since) = &since {
            compared.push(format!("{tag} with {}", short_commit(since)));
        }
        let extras = builds::Extras {
            args: trigger.build_args.clone(),
            no_cache: false,
            only_if_changed: since.map(|since| ChangeFilter {
                since,
                paths: trigger.rules.paths.clone(),
            }),
        };
        let queued =
            builds::queue_build_at(state, &requester, &id, tag, Some(&push.commit), &extras).await;
        match queued {
            Ok(queued) => {
                builds.push((queued.build.id, tag.clone()));
                if queued.deduplicated {
                    deduplicated_any = true;
                } else {
                    queued_any = true;
                }
            }
            Err(e) if e.status == StatusCode::TOO_MANY_REQUESTS => {
                return (Outcome::OverLimit, e.message);
            }
            Err(e) => return (Outcome::Failed, e.message),
        }
    }
    let short = short_commit(&push.commit);
    if queued_any {
        let unknown_paths = match (compare, compared.is_empty()) {
            (false, _) => String::new(),
            (true, true) => {
                " (the payload did not list the changed files and no earlier build is there to \
                 compare with: built to be safe)"
                    .to_owned()
            }
            (true, false) => format!(
                " (the payload did not list the changed files: the builder compares {} and \
                 skips the build when no changed file matches the paths)",
                compared.join(", ")
            ),
        };
        (
            Outcome::Queued,
            format!(
                "{} at {short}: building {}{unknown_paths}",
                push.describe(),
                tags.join(", ")
            ),
        )
    } else if deduplicated_any {
        (
            Outcome::Deduplicated,
            format!("{} at {short} is already queued", push.describe()),
        )
    } else {
        (Outcome::Failed, "nothing was queued".to_owned())
    }
}

/// The principal a trigger builds as: its creator, while they may still build the container.
async fn creator(state: &AppState, trigger: &Trigger) -> Result<Principal, String> {
    builds::acting_user(state, &trigger.created_by, "who made the trigger").await
}

/// One outcome for the delivery: queued if any trigger queued, else the first one's.
fn summarise(outcomes: Vec<(Outcome, String)>) -> (Outcome, String) {
    let queued: Vec<&(Outcome, String)> = outcomes
        .iter()
        .filter(|(o, _)| *o == Outcome::Queued)
        .collect();
    if !queued.is_empty() {
        let reasons: Vec<&str> = queued.iter().map(|(_, r)| r.as_str()).collect();
        return (Outcome::Queued, reasons.join("; "));
    }
    outcomes
        .into_iter()
        .next()
        .unwrap_or((Outcome::Failed, "no trigger decided".to_owned()))
}

async fn answer(state: &AppState, status: StatusCode, decision: Decision) -> HookAnswer {
    let decision = decision.bounded();
    record(state, &decision).await;
    HookAnswer { status, decision }
}

async fn record(state: &AppState, decision: &Decision) {
    let decision = decision.clone().bounded();
    if let Err(e) = state.triggers.record_decision(&decision).await {
        tracing::error!(error = %e, container = %decision.container, "a trigger decision could not be recorded");
    }
}
