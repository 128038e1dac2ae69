//! The store's read and write statements, kept apart from the code that binds them so that
//! their query plans can be tested (`tests.rs`).

use bioshadock_core::Audience;

/// Every read selects one column, the container as a JSON array in the order of
/// `rows::Fields`. A macro so that `concat!` can make static SQL of it.
///
/// One column, not twelve: the driver copies each column value of each row on its worker
/// thread (taking SQLite's global allocator lock) and frees it on the reader's, which cost a
/// tenth of a full listing's time. `concat` builds the array in one allocation, as cheaply as
/// SQLite returns the twelve columns; labels and tags are stored as JSON text and go in as
/// they are, the strings through `json_quote` (which also turns NULL into `null`).
///
/// Tags come from `tags_json`, the copy that triggers keep on each container (migration
/// 0004): a correlated subquery over `tags` cost four times the rest of the row. Members, few
/// and rarely present, stay a subquery; they come in primary-key order, which is by user (the
/// row decoder sorts anyway, without a sorter per container here).
macro_rules! select {
    () => {
        "SELECT concat('[', json_quote(c.id), ',', json_quote(c.owner), ',', \
           json_quote(c.description), ',', json_quote(c.visibility), ',', json_quote(c.git), \
           ',', json_quote(c.dockerfile), ',', json_quote(c.descriptor), ',', c.policy, ',', c.labels, ',', c.pulls, ',', c.created_at, ',', \
           c.updated_at, ',', c.tags_json, ',', \
           (SELECT json_group_array(json_array(m.user, m.access)) \
              FROM container_members m WHERE m.container_id = c.id), \
           ']') AS fields \
         FROM containers c"
    };
}

pub(super) const SELECT_ONE: &str = concat!(select!(), " WHERE c.id = ?1");
/// The containers whose ids are the JSON array `?1`.
pub(super) const SELECT_MANY: &str = concat!(
    select!(),
    " WHERE c.id IN (SELECT value FROM json_each(?1))"
);
const SELECT: &str = select!();

const NEWEST_FIRST: &str = "ORDER BY c.updated_at DESC, c.id ASC";

/// Drop the tags and members of the containers whose ids are the JSON array `?1`, before a
/// write puts the new sets in.
pub(super) const CLEAR_TAGS: &str =
    "DELETE FROM tags WHERE container_id IN (SELECT value FROM json_each(?1))";
pub(super) const CLEAR_MEMBERS: &str =
    "DELETE FROM container_members WHERE container_id IN (SELECT value FROM json_each(?1))";

/// Only the portal's columns: a push landing meanwhile keeps its tags, labels and pulls. The
/// visibility triggers see the change and keep the counts right.
pub(super) const UPDATE_SETTINGS: &str = "UPDATE containers SET description = ?2, \
     visibility = ?3, git = ?4, dockerfile = ?5, descriptor = ?6, policy = ?7, updated_at = ?8 \
     WHERE id = ?1 AND updated_at = ?9";

/// Whole-visibility counts come from the trigger-kept `container_counts`.
pub(super) const COUNT_PUBLIC: &str = "SELECT n FROM container_counts WHERE visibility = 'public'";
pub(super) const COUNT_EVERYONE: &str = "SELECT coalesce(sum(n), 0) FROM container_counts";
/// The public count plus the private containers user `?1` owns or is a member of, found
/// through the owner and member indexes. UNION (not UNION ALL) counts a container once when
/// its owner is also listed as a member. CROSS JOIN fixes the join order: without statistics
/// SQLite would walk every private container and probe its members, instead of looking up
/// the user's few memberships.
pub(super) const COUNT_USER: &str = "SELECT \
       (SELECT n FROM container_counts WHERE visibility = 'public') \
     + (SELECT count(*) FROM ( \
          SELECT id FROM containers WHERE owner = ?1 AND visibility = 'private' \
          UNION \
          SELECT c.id FROM container_members m CROSS JOIN containers c ON c.id = m.container_id \
          WHERE m.user = ?1 AND c.visibility = 'private'))";
/// [`COUNT_USER`] for a user in organisations: also the private containers of the namespaces
/// `?2` (less the ids `?3`), each a range of the primary key, and the single ids `?4`.
pub(super) const COUNT_READER: &str = "SELECT \
       (SELECT n FROM container_counts WHERE visibility = 'public') \
     + (SELECT count(*) FROM ( \
          SELECT id FROM containers WHERE owner = ?1 AND visibility = 'private' \
          UNION \
          SELECT c.id FROM container_members m CROSS JOIN containers c ON c.id = m.container_id \
          WHERE m.user = ?1 AND c.visibility = 'private' \
          UNION \
          SELECT c.id FROM json_each(?2) o CROSS JOIN containers c \
          ON c.id > o.value || '/' AND c.id < o.value || '0' \
          WHERE c.visibility = 'private' AND c.id NOT IN (SELECT value FROM json_each(?3)) \
          UNION \
          SELECT c.id FROM json_each(?4) r CROSS JOIN containers c ON c.id = r.value \
          WHERE c.visibility = 'private'))";

/// One page by offset: `?1` limit, `?2` offset, `?3` the user, if any.
pub(super) fn list(audience: &Audience) -> String {
    let visible = visible_to(audience, 3);
    format!("{SELECT} {visible} {NEWEST_FIRST} LIMIT ?1 OFFSET ?2")
}

/// One page after a cursor: `?1` limit, `?2` the cursor's `updated_at`, `?3` its id, `?4` the
/// user, if any. Without a cursor, `?2` and `?3` are bound but unused.
pub(super) fn list_after(audience: &Audience, cursor: bool) -> String {
    // `updated_at <= t` is the range the index seeks to; the OR then drops the rows of the
    // cursor's own instant up to and including the cursor's id.
    let keyset = if cursor {
        "c.updated_at <= ?2 AND (c.updated_at < ?2 OR c.id > ?3)"
    } else {
        "1"
    };
    let visible = visible_to(audience, 4);
    format!("{SELECT} {visible} AND {keyset} {NEWEST_FIRST} LIMIT ?1")
}

/// What follows `FROM containers c` to keep what `audience` may see: an optional index hint
/// and a `WHERE` condition; a user's name is bound as `?{param}`. Literal SQL per audience, so
/// the public catalogue walks `containers_visible_newest`. For a user, SQLite would otherwise
/// merge index searches and sort every public row; walking `containers_newest` (which holds
/// id, visibility and owner) in order stops after one page, and only rows neither public nor
/// owned cost a membership probe on the members' primary key.
///
/// A user in organisations also reads the private containers of the namespaces, less the
/// hidden ids, and the single ids of [`reader_binds`] (`?{param+1}` to `?{param+3}`, JSON
/// arrays); a namespace `ns` is the id range between `ns/` and `ns0` (`0` follows `/`).
fn visible_to(audience: &Audience, param: usize) -> String {
    match audience {
        Audience::Public => "WHERE c.visibility = 'public'".to_owned(),
        Audience::User(reader) if reader.has_organisations() => format!(
            "INDEXED BY containers_newest WHERE (c.visibility = 'public' OR c.owner = ?{param} \
             OR EXISTS (SELECT 1 FROM container_members m \
                        WHERE m.container_id = c.id AND m.user = ?{param}) \
             OR c.id IN (SELECT value FROM json_each(?{repositories})) \
             OR (EXISTS (SELECT 1 FROM json_each(?{namespaces}) o \
                         WHERE c.id > o.value || '/' AND c.id < o.value || '0') \
                 AND c.id NOT IN (SELECT value FROM json_each(?{hidden}))))",
            namespaces = param + 1,
            hidden = param + 2,
            repositories = param + 3,
        ),
        Audience::User(_) => format!(
            "INDEXED BY containers_newest WHERE (c.visibility = 'public' OR c.owner = ?{param} \
             OR EXISTS (SELECT 1 FROM container_members m \
                        WHERE m.container_id = c.id AND m.user = ?{param}))"
        ),
        Audience::Everyone => "WHERE 1".to_owned(),
        // The first rule whose expression matches the id decides (1 shown, 0 not); none: the
        // base audience's condition. The rules are one JSON argument after the base's binds.
        Audience::Ruled(ruled) => {
            let base = visible_to(&ruled.base, param);
            let (hint, condition) = base.split_once("WHERE ").unwrap_or(("", &base));
            let rules = param + reader_binds(&ruled.base).len();
            format!(
                "{hint}WHERE COALESCE((SELECT json_extract(r.value, '$.pull') \
                 FROM json_each(?{rules}) r WHERE c.id REGEXP json_extract(r.value, '$.re') \
                 ORDER BY CAST(r.key AS INTEGER) LIMIT 1), ({condition}))"
            )
        }
    }
}

/// The values [`visible_to`] and [`count`] bind for `audience`, in order from their first
/// user parameter: the name, then for a user in organisations the JSON arrays of namespaces,
/// hidden ids and single ids.
pub(super) fn reader_binds(audience: &Audience) -> Vec<String> {
    if let Audience::Ruled(ruled) = audience {
        let mut binds = reader_binds(&ruled.base);
        let rules: Vec<serde_json::Value> = ruled
            .rules
            .iter()
            .map(|r| serde_json::json!({"re": format!("^(?:{})$", r.pattern), "pull": r.pull}))
            .collect();
        binds.push(serde_json::Value::from(rules).to_string());
        return binds;
    }
    let Audience::User(reader) = audience else {
        return Vec::new();
    };
    let mut binds = vec![reader.name.clone()];
    if reader.has_organisations() {
        for list in [&reader.namespaces, &reader.hidden, &reader.repositories] {
            binds.push(serde_json::Value::from(list.clone()).to_string());
        }
    }
    binds
}

/// The count of what `audience` sees; binds [`reader_binds`] from `?1`.
pub(super) fn count(audience: &Audience) -> std::borrow::Cow<'static, str> {
    match audience {
        Audience::Public => COUNT_PUBLIC.into(),
        Audience::Everyone => COUNT_EVERYONE.into(),
        Audience::User(reader) if reader.has_organisations() => COUNT_READER.into(),
        Audience::User(_) => COUNT_USER.into(),
        // Rules match by expression: every row is looked at.
        Audience::Ruled(_) => format!(
            "SELECT count(*) FROM containers c {}",
            visible_to(audience, 1)
        )
        .into(),
    }
}
