//! Query plans of the catalogue's hot reads: a listing walks an index in order and stops
//! after a page (it never sorts every visible row) and reads tags from the container row, not
//! through a subquery per row; a user's count probes indexes, never scans the catalogue.

use bioshadock_core::Audience;
use sqlx::{AssertSqlSafe, SqlitePool};

use super::sql;

/// The plan's detail lines; `binds` are as many placeholder values as the statement takes.
async fn plan(pool: &SqlitePool, statement: &str, binds: usize) -> Vec<String> {
    let mut query = sqlx::query_as(AssertSqlSafe(format!("EXPLAIN QUERY PLAN {statement}")));
    for _ in 0..binds {
        query = query.bind("alice");
    }
    let rows: Vec<(i64, i64, i64, String)> = query.fetch_all(pool).await.expect("explain");
    rows.into_iter().map(|(_, _, _, detail)| detail).collect()
}

fn assert_no_sort(plan: &[String], what: &str) {
    assert!(
        !plan.iter().any(|line| line.contains("TEMP B-TREE")),
        "{what} sorts: {plan:#?}"
    );
}

/// Whether a read looks up `tags` per container (a correlated subquery) instead of reading
/// the row's `tags_json`. Any table a plan searches or scans other than the containers and
/// their members counts, whatever its alias.
fn reads_another_table(plan: &[String]) -> bool {
    plan.iter().any(|line| {
        let mut words = line.split_whitespace();
        matches!(words.next(), Some("SEARCH" | "SCAN"))
            && !matches!(
                words.next(),
                Some("c" | "m" | "json_each" | "containers" | "container_members")
            )
    })
}

fn assert_tags_from_the_row(plan: &[String], what: &str) {
    assert!(
        !reads_another_table(plan),
        "{what} reads tags through a subquery: {plan:#?}"
    );
}

#[tokio::test]
async fn reads_take_tags_from_the_container_row() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pool = crate::sqlite::open(&dir.path().join("db.sqlite"))
        .await
        .expect("open");
    for audience in [
        Audience::Public,
        Audience::User("alice".into()),
        Audience::Everyone,
    ] {
        let list = plan(&pool, &sql::list(&audience), 3).await;
        assert_tags_from_the_row(&list, &format!("list for {audience:?}"));
        for cursor in [false, true] {
            let after = plan(&pool, &sql::list_after(&audience, cursor), 4).await;
            assert_tags_from_the_row(&after, &format!("list_after for {audience:?}"));
        }
    }
    let one = plan(&pool, sql::SELECT_ONE, 1).await;
    assert_tags_from_the_row(&one, "get");
    let many = plan(&pool, sql::SELECT_MANY, 1).await;
    assert_tags_from_the_row(&many, "get_many");

    // The check sees the subquery this replaced.
    let old = "SELECT c.id, (SELECT json_group_array(t.name) FROM tags t \
               WHERE t.container_id = c.id) AS tags FROM containers c";
    assert!(reads_another_table(&plan(&pool, old, 0).await));
}

#[tokio::test]
async fn listings_walk_an_index_and_counts_probe_indexes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pool = crate::sqlite::open(&dir.path().join("db.sqlite"))
        .await
        .expect("open");
    let alice = Audience::User("alice".into());
    for audience in [Audience::Public, alice.clone(), Audience::Everyone] {
        let list = plan(&pool, &sql::list(&audience), 3).await;
        assert_no_sort(&list, &format!("list for {audience:?}"));
        for cursor in [false, true] {
            let after = plan(&pool, &sql::list_after(&audience, cursor), 4).await;
            assert_no_sort(&after, &format!("list_after for {audience:?}"));
        }
    }
    let user_list = plan(&pool, &sql::list(&alice), 3).await;
    assert!(
        user_list
            .iter()
            .any(|l| l.contains("SCAN c USING INDEX containers_newest")),
        "a user's listing walks containers_newest: {user_list:#?}"
    );

    let count = plan(&pool, sql::COUNT_USER, 1).await;
    for index in [
        "containers_owner (owner=? AND visibility=?)",
        "container_members_user (user=?)",
    ] {
        assert!(
            count.iter().any(|l| l.contains(index)),
            "a user's count looks up {index}: {count:#?}"
        );
    }
    assert!(
        !count
            .iter()
            .any(|l| l.contains("containers_visible_newest")),
        "a user's count walks every private container: {count:#?}"
    );
}
