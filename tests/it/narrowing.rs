//! Narrowing moves little: a sync of a table with a few spread changes receives from the source a
//! small share of the table's data (reported as `bytes_from_source`), on key ranges and on hash
//! buckets alike, and still leaves both sides equal; sparse changes, for which narrowing takes
//! levels, are found exactly on every engine.

use crate::common::{dbdelta_json, table_report, Engine, Pair};

const ROWS: u64 = 20_000;

/// A 20,000-row table keyed as `key` with about 150 bytes a row; every 997th row changed, every
/// 1,499th deleted and 20 added on the source.
async fn spread_changes(pair: &Pair, key: &str) {
    pair.exec_both(&format!(
        "CREATE TABLE events AS SELECT {key} AS id, g AS n, repeat(md5(g::text), 4) AS payload \
         FROM generate_series(1, {ROWS}) g"
    ))
    .await;
    pair.exec_both("ALTER TABLE events ADD PRIMARY KEY (id)")
        .await;
    pair.source
        .exec("UPDATE events SET payload = 'changed' WHERE n % 997 = 0")
        .await;
    pair.source
        .exec("DELETE FROM events WHERE n % 1499 = 0")
        .await;
    pair.source
        .exec(&format!(
            "INSERT INTO events SELECT {key}, g, 'new' FROM generate_series({}, {}) g",
            ROWS + 1,
            ROWS + 20
        ))
        .await;
    // Statistics, as autovacuum would gather them: random keys lie scattered in key order.
    pair.exec_both("ANALYZE events").await;
}

/// `layout` is how `diff --json` describes the differing chunks: `"bucket"` or `"["`.
async fn narrowing_receives_a_small_share(key: &str, layout: &str) {
    let Some(pair) = Pair::new(Engine::Postgres).await else {
        return;
    };
    spread_changes(&pair, key).await;
    let job = pair.job_file("[defaults]\nchunk_size = 500\n[[tables]]\nname = \"events\"\n");
    let job = job.to_str().unwrap_or_default();
    let dir = pair.dir.path();
    let (code, listing) = dbdelta_json(dir, &["diff", "-c", job]);
    assert_eq!(code, 1, "{listing:#}");
    let differences = table_report(&listing, "events")["differences"].clone();
    let chunks = differences
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    assert!(!chunks.is_empty(), "{listing:#}");
    for chunk in chunks {
        let range = chunk["range"].as_str().unwrap_or_default();
        assert!(range.starts_with(layout), "{range}");
    }
    let (code, report) = dbdelta_json(dir, &["sync", "-c", job]);
    assert_eq!(code, 0, "{report:#}");
    let events = table_report(&report, "events");
    assert_eq!(events["inserted"], 20, "{events:#}");
    assert_eq!(events["deleted"], ROWS / 1499, "{events:#}");
    assert_eq!(events["updated"], ROWS / 997, "{events:#}");
    // The table holds about 3 MB of row data; listing every row's key and hash would be 320 kB.
    let received = events["bytes_from_source"].as_u64().unwrap_or(u64::MAX);
    assert!(received < 150_000, "{received} bytes: {events:#}");
    let everything = "SELECT id::text, n::text, payload FROM events ORDER BY id";
    assert_eq!(
        pair.source.rows(everything).await,
        pair.target.rows(everything).await
    );
    let (code, report) = dbdelta_json(dir, &["sync", "-c", job]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["totals"]["chunks_differing"], 0, "{report:#}");
    pair.cleanup().await;
}

#[tokio::test]
async fn integer_key_ranges_receive_a_small_share_of_the_table() {
    narrowing_receives_a_small_share("g", "[").await;
}

#[tokio::test]
async fn scattered_uuid_key_buckets_receive_a_small_share_of_the_table() {
    narrowing_receives_a_small_share("md5(g::text)::uuid", "bucket").await;
}

/// 20,000 rows keyed as `key` (`bigint` or text), 5 rows changed, 3 deleted and 2 added on the
/// source: sparse enough that narrowing takes levels on every engine (in SQL on MariaDB,
/// in-process on SQLite, whose text keys are hash buckets narrowed together).
async fn sparse_changes_are_found_exactly(engine: Engine, text_key: bool) {
    let Some(pair) = Pair::new(engine).await else {
        return;
    };
    let key_type = if text_key { "varchar(40)" } else { "bigint" };
    // Keys scattered over the key space, as SQL literals.
    let key = |i: u64| match text_key {
        true => format!("'k{:07}'", i * 7919 % 1_000_003),
        false => (i * 7919 % 1_000_003).to_string(),
    };
    pair.exec_both(&format!(
        "CREATE TABLE events (id {key_type} NOT NULL PRIMARY KEY, n integer, payload varchar(200))"
    ))
    .await;
    let rows = |range: std::ops::Range<u64>| {
        let values: Vec<String> = range
            .map(|i| format!("({}, {i}, 'payload of row {i}')", key(i)))
            .collect();
        format!("INSERT INTO events VALUES {}", values.join(", "))
    };
    for start in (0..ROWS).step_by(1000) {
        pair.exec_both(&rows(start..start + 1000)).await;
    }
    for i in [11, 4_000, 9_999, 15_000, 19_998] {
        pair.source
            .exec(&format!(
                "UPDATE events SET payload = 'changed' WHERE id = {}",
                key(i)
            ))
            .await;
    }
    for i in [12, 7_777, 18_000] {
        pair.source
            .exec(&format!("DELETE FROM events WHERE id = {}", key(i)))
            .await;
    }
    pair.source.exec(&rows(ROWS..ROWS + 2)).await;
    let job = pair.job_file("[defaults]\nchunk_size = 2000\n[[tables]]\nname = \"events\"\n");
    let job = job.to_str().unwrap_or_default();
    let dir = pair.dir.path();
    let (code, listing) = dbdelta_json(dir, &["diff", "-c", job]);
    assert_eq!(code, 1, "{listing:#}");
    let events = table_report(&listing, "events");
    assert_eq!(events["rows_only_in_source"], 2, "{events:#}");
    assert_eq!(events["rows_only_in_target"], 3, "{events:#}");
    assert_eq!(events["rows_changed"], 5, "{events:#}");
    let (code, report) = dbdelta_json(dir, &["sync", "-c", job]);
    assert_eq!(code, 0, "{report:#}");
    if engine != Engine::Sqlite {
        // Listing every row of the eight or so differing chunks would be about 300 kB.
        let received = table_report(&report, "events")["bytes_from_source"].as_u64();
        assert!(received < Some(100_000), "{report:#}");
    }
    let text = if engine == Engine::Postgres {
        "text"
    } else {
        "char"
    };
    let everything =
        format!("SELECT CAST(id AS {text}), CAST(n AS {text}), payload FROM events ORDER BY id");
    assert_eq!(
        pair.source.rows(&everything).await,
        pair.target.rows(&everything).await
    );
    let (code, report) = dbdelta_json(dir, &["sync", "-c", job]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["totals"]["chunks_differing"], 0, "{report:#}");
    pair.cleanup().await;
}

#[tokio::test]
async fn sparse_changes_are_found_exactly_mysql() {
    sparse_changes_are_found_exactly(Engine::MySql, false).await;
    sparse_changes_are_found_exactly(Engine::MySql, true).await;
}

#[tokio::test]
async fn sparse_changes_are_found_exactly_sqlite() {
    sparse_changes_are_found_exactly(Engine::Sqlite, false).await;
    sparse_changes_are_found_exactly(Engine::Sqlite, true).await;
}

#[tokio::test]
async fn sparse_changes_are_found_exactly_postgres() {
    sparse_changes_are_found_exactly(Engine::Postgres, false).await;
    sparse_changes_are_found_exactly(Engine::Postgres, true).await;
}
