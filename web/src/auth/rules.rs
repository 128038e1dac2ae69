//! The access rules each request is decided with: the stored document, parsed once per
//! version and looked up again at most every [`RECHECK`], and the gate of a caller some rule
//! may match (their account, address and labels: `role`, and `org` for each organisation).

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bioshadock_core::permissions::{Principal, rule_labels};
use bioshadock_core::rules::{RuleGate, RuleSet};

use crate::error::ApiError;
use crate::state::AppState;

/// How long a process trusts its copy of the rules before asking the store for the version:
/// a change made in another process counts within this.
const RECHECK: Duration = Duration::from_secs(2);

/// This process's copy of the rules.
#[derive(Default)]
pub(crate) struct RulesCache {
    copy: Mutex<Option<Copy>>,
}

struct Copy {
    version: u64,
    rules: Arc<RuleSet>,
    checked: Instant,
}

impl RulesCache {
    /// The current rules. A stored document that no longer parses (it was checked when saved)
    /// refuses the request rather than deciding without its rules.
    pub(crate) async fn current(&self, state: &AppState) -> Result<Arc<RuleSet>, ApiError> {
        if let Some(copy) = self.copy.lock().unwrap_or_else(|e| e.into_inner()).as_ref()
            && copy.checked.elapsed() < RECHECK
        {
            return Ok(copy.rules.clone());
        }
        let stored = state.rules.get_rules().await?;
        let mut slot = self.copy.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(copy) = slot.as_mut()
            && copy.version == stored.version
        {
            copy.checked = Instant::now();
            return Ok(copy.rules.clone());
        }
        let rules = Arc::new(RuleSet::parse(&stored.source).map_err(|e| {
            tracing::error!(error = %e, "the stored access rules do not parse");
            ApiError::unavailable()
        })?);
        *slot = Some(Copy {
            version: stored.version,
            rules: rules.clone(),
            checked: Instant::now(),
        });
        Ok(rules)
    }

    /// Forgets the copy, after this process saved new rules.
    pub(crate) fn forget(&self) {
        *self.copy.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// `principal` under the access rules, for a request from `ip`.
pub(crate) async fn with_rules(
    state: &AppState,
    principal: Principal,
    ip: Option<IpAddr>,
) -> Result<Principal, ApiError> {
    let rules = state.rules_cache.current(state).await?;
    if rules.is_empty() {
        return Ok(principal);
    }
    let labels = principal
        .actor()
        .map(|actor| rule_labels(&actor.user, &actor.memberships))
        .unwrap_or_default();
    let account = principal.subject().unwrap_or_default().to_owned();
    let gate = RuleGate::for_caller(
        &rules,
        state.registry.tokens.service(),
        &account,
        ip,
        labels,
    );
    Ok(principal.with_gate(gate))
}
