//! What the registry holds, per namespace, as the catalogue knows it (administrators): the
//! compressed size of each distinct image once, so tags sharing an image count it once. Blobs
//! shared across repositories are stored once by the registry but counted in each namespace
//! here: the figures say what each namespace would free, not the disk's exact total.

use std::collections::{BTreeMap, BTreeSet};

use bioshadock_core::PortResult;
use bioshadock_core::accounts::Scope;
use bioshadock_core::permissions::Principal;

use super::containers;
use crate::error::ApiError;
use crate::state::AppState;

/// One namespace's share.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamespaceUsage {
    pub namespace: String,
    pub containers: u64,
    pub tags: u64,
    /// Distinct images (manifest digests).
    pub images: u64,
    /// Their compressed sizes, each image once.
    pub bytes: u64,
}

/// Every namespace's share, largest first, for administrators.
pub async fn per_namespace(
    state: &AppState,
    principal: &Principal,
) -> Result<Vec<NamespaceUsage>, ApiError> {
    principal.require_admin(Scope::Read)?;
    Ok(walk(state).await?)
}

async fn walk(state: &AppState) -> PortResult<Vec<NamespaceUsage>> {
    let mut usage: BTreeMap<String, NamespaceUsage> = BTreeMap::new();
    containers::every(state, |container| {
        let namespace = container.id.namespace().to_owned();
        let entry = usage
            .entry(namespace.clone())
            .or_insert_with(|| NamespaceUsage {
                namespace,
                ..NamespaceUsage::default()
            });
        entry.containers += 1;
        entry.tags += container.tags.len() as u64;
        let mut seen = BTreeSet::new();
        for tag in &container.tags {
            if seen.insert(tag.digest.as_str()) {
                entry.images += 1;
                entry.bytes = entry.bytes.saturating_add(tag.size);
            }
        }
        None::<()>
    })
    .await?;
    let mut rows: Vec<NamespaceUsage> = usage.into_values().collect();
    rows.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.namespace.cmp(&b.namespace)));
    Ok(rows)
}

/// The record of the last garbage collection, when there is one.
pub fn last_gc(state: &AppState) -> Option<bioshadock_core::registry_gc::LastGc> {
    let data_dir = state.settings.data_dir.as_deref()?;
    bioshadock_core::registry_gc::read_last_gc(data_dir)
}
