//! Reading the audit log: administrators read every event, an organisation's owners and admins
//! the events of their organisation. Entries are the event stream's, newest first.

use bioshadock_core::PortError;
use bioshadock_core::accounts::Scope;
use bioshadock_core::events::{EventFilter, EventKind, Recorded};
use bioshadock_core::orgs::OrgName;
use bioshadock_core::permissions::Principal;

use crate::error::ApiError;
use crate::state::AppState;

/// Entries per page, at most.
pub const MAX_PAGE: usize = 200;

/// Whose entries.
#[derive(Debug, Clone)]
pub enum AuditScope {
    /// Every event (administrators).
    Everything,
    /// One organisation's events (its owners and admins, and administrators).
    Organisation(String),
}

/// One page: the entries, and the `before` of the next page when there may be one.
pub async fn page(
    state: &AppState,
    principal: &Principal,
    scope: AuditScope,
    mut filter: EventFilter,
    before: Option<u64>,
    limit: usize,
) -> Result<(Vec<Recorded>, Option<u64>), ApiError> {
    match scope {
        AuditScope::Everything => {
            principal.require_admin(Scope::Read)?;
        }
        AuditScope::Organisation(name) => {
            principal.require(Scope::Read)?;
            let unknown = || ApiError::not_found(format!("no organisation `{name}`"));
            let parsed = OrgName::parse(&name).map_err(|_| unknown())?;
            let org = match state.orgs.get_org(&parsed).await {
                Ok(org) => org,
                Err(PortError::NotFound) => return Err(unknown()),
                Err(e) => return Err(e.into()),
            };
            let rights = principal.org_rights(&org);
            if !rights.see_members {
                // Its members' list is not theirs to see: neither is the organisation's record.
                return Err(unknown());
            }
            if !rights.manage {
                return Err(ApiError::forbidden(
                    "forbidden",
                    "only the organisation's owners and admins read its audit log",
                ));
            }
            filter.org = Some(parsed.to_string());
        }
    }
    let limit = limit.clamp(1, MAX_PAGE);
    let entries = state.events.query(&filter, before, limit).await?;
    let next = (entries.len() == limit)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    Ok((entries, next))
}

/// The `action` filter as given: absent is none, anything but a kind's name is a 400.
pub fn action_filter(raw: Option<&str>) -> Result<Option<EventKind>, ApiError> {
    match raw {
        None => Ok(None),
        Some(raw) => EventKind::parse(raw)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(format!("unknown action `{raw}`"))),
    }
}
