//! The filters and the order of the store's listings.

use bioshadock_core::Audience;
use bioshadock_core::ports::store::ListCursor;
use mongodb::bson::{Document, doc};

use super::doc::millis;

/// Newest first: `updated_at` descending, then `id` ascending.
pub(super) fn newest_first() -> Document {
    doc! { "updated_at": -1, "_id": 1 }
}

/// What `audience` may see: public containers, plus for a user those whose `readers` (owner
/// and members) name them; everything for everyone.
pub(super) fn visible_to(audience: &Audience) -> Document {
    match audience {
        Audience::Public => doc! { "visibility": "public" },
        Audience::User(reader) => {
            let mut any = vec![
                doc! { "visibility": "public" },
                doc! { "readers": reader.name.as_str() },
            ];
            if !reader.repositories.is_empty() {
                any.push(doc! { "_id": { "$in": reader.repositories.clone() } });
            }
            for namespace in &reader.namespaces {
                // The namespace is the id range between `ns/` and `ns0` (`0` follows `/`),
                // which the `_id` index serves; less the ids an override hides.
                any.push(doc! { "_id": {
                    "$gt": format!("{namespace}/"),
                    "$lt": format!("{namespace}0"),
                    "$nin": reader.hidden.clone(),
                } });
            }
            doc! { "$or": any }
        }
        Audience::Everyone => doc! {},
        // The first rule whose names match decides; a container no rule matches is shown as
        // to the base audience. (`$nor` rather than `$not`, which the stand-in lacks.)
        Audience::Ruled(ruled) => {
            let matcher = |pattern: &str| doc! { "_id": { "$regex": format!("^(?:{pattern})$") } };
            let mut any = Vec::new();
            for (i, rule) in ruled.rules.iter().enumerate().filter(|(_, r)| r.pull) {
                let earlier: Vec<Document> = ruled.rules[..i]
                    .iter()
                    .map(|r| matcher(&r.pattern))
                    .collect();
                let mut branch = vec![matcher(&rule.pattern)];
                if !earlier.is_empty() {
                    branch.push(doc! { "$nor": earlier });
                }
                any.push(doc! { "$and": branch });
            }
            let all: Vec<Document> = ruled.rules.iter().map(|r| matcher(&r.pattern)).collect();
            let mut unmatched = vec![doc! { "$nor": all }];
            let base = visible_to(&ruled.base);
            if !base.is_empty() {
                unmatched.push(base);
            }
            any.push(doc! { "$and": unmatched });
            doc! { "$or": any }
        }
    }
}

/// What `audience` may see strictly after `cursor` in newest-first order: older, or as old
/// with a greater id. A position, not a row: it works once the cursor's container is gone.
pub(super) fn visible_after(audience: &Audience, cursor: Option<&ListCursor>) -> Document {
    let visible = visible_to(audience);
    let Some(cursor) = cursor else {
        return visible;
    };
    let t = millis(cursor.updated_at);
    let keyset = doc! { "$or": [
        { "updated_at": { "$lt": t } },
        { "updated_at": t, "_id": { "$gt": cursor.id.as_str() } },
    ] };
    if visible.is_empty() {
        keyset
    } else {
        doc! { "$and": [visible, keyset] }
    }
}
