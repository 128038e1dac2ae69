//! Replacing the access rules, for the admin API and the admin page: checked whole first,
//! saved against the version read, in effect at once in this process.

use bioshadock_core::PortError;
use bioshadock_core::accounts::Scope;
use bioshadock_core::permissions::Principal;
use bioshadock_core::rules::{MAX_SOURCE_BYTES, RuleSet};

use super::events;
use crate::error::ApiError;
use crate::state::AppState;
use bioshadock_core::events::{Event, EventKind};

/// Replaces the rules with `source` if they are still at `version`; returns the new version
/// and how many rules it holds.
pub async fn replace(
    state: &AppState,
    caller: &Principal,
    source: &str,
    version: u64,
) -> Result<(u64, usize), ApiError> {
    let admin = caller.require_admin(Scope::Push)?;
    if source.len() > MAX_SOURCE_BYTES {
        return Err(ApiError::bad_request(format!(
            "the rules are larger than {} KiB",
            MAX_SOURCE_BYTES / 1024
        )));
    }
    let rules =
        RuleSet::parse(source).map_err(|e| ApiError::bad_request(format!("access rules: {e}")))?;
    let version = match state.rules.put_rules(source, version).await {
        Ok(version) => version,
        Err(PortError::Conflict(_)) => {
            return Err(ApiError::conflict(
                "the access rules changed since that version: read them again",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    state.rules_cache.forget();
    tracing::info!(by = %admin.user.name, version, rules = rules.len(), "access rules changed");
    let event = Event::new(
        EventKind::RulesChanged,
        "access-rules",
        events::actor_of(caller),
        format!("version {version}, {} rules", rules.len()),
    );
    events::record(state, event).await;
    Ok((version, rules.len()))
}
