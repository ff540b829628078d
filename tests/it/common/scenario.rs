//! The sync scenarios every engine must pass, written once: an `items` table with sparse and
//! negative keys, NULLs, empty strings, unicode, decimals, extreme floats, pre-1970 timestamps with
//! microseconds, booleans and binary with `\0`; the engine-specific SQL lives in [`Sql`].

use super::{dbdelta, dbdelta_json, describe, table_report, Conn, Engine, Pair};
use std::collections::BTreeMap;

/// Seeded rows: keys from `g` in 1..=SEEDED; `g` above that lands beyond the largest key.
pub const SEEDED: i64 = 50_000;

/// Engine-specific SQL of the scenario.
pub struct Sql {
    pub create: &'static str,
    /// Inserts the rows for `g` in `[from, to]`.
    pub seed: fn(i64, i64) -> String,
    /// Every column as text, in key order.
    pub select: &'static str,
}

pub fn sql(engine: Engine) -> Sql {
    match engine {
        Engine::Postgres => Sql {
            create: "CREATE TABLE items (id bigint PRIMARY KEY, qty integer, name text, price numeric(14,4), \
                     ratio double precision, active boolean, created timestamptz, payload bytea)",
            seed: |from, to| {
                format!(
                    "INSERT INTO items SELECT {id}, g % 1000 - 500, \
                       CASE WHEN g % 11 = 0 THEN NULL WHEN g % 7 = 0 THEN '' ELSE 'név ' || g || ' 😀 ü' END, \
                       CASE WHEN g % 13 = 0 THEN NULL ELSE g * 1.2345 END, \
                       CASE WHEN g % 17 = 0 THEN NULL WHEN g = 5 THEN 1e300 WHEN g = 6 THEN -2.5e-300 ELSE g / 7.0 END, \
                       CASE WHEN g % 19 = 0 THEN NULL ELSE g % 2 = 0 END, \
                       timestamptz '1969-12-31 23:59:58.5+00' + g * interval '1.000001 second', \
                       CASE WHEN g % 23 = 0 THEN NULL ELSE convert_to(g::text, 'UTF8') || '\\x00ff'::bytea END \
                     FROM generate_series({from}, {to}) g",
                    id = ID_EXPR
                )
            },
            select: "SELECT id::text, qty::text, name, price::text, ratio::text, active::text, created::text, \
                     encode(payload, 'hex') FROM items ORDER BY id",
        },
        Engine::MySql => Sql {
            create: "CREATE TABLE items (id bigint PRIMARY KEY, qty int, name varchar(100), price decimal(14,4), \
                     ratio double, active boolean, created datetime(6), payload blob) \
                     ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
            seed: |from, to| {
                format!(
                    "INSERT INTO items SELECT {id}, g % 1000 - 500, \
                       CASE WHEN g % 11 = 0 THEN NULL WHEN g % 7 = 0 THEN '' ELSE CONCAT('név ', g, ' 😀 ü') END, \
                       CASE WHEN g % 13 = 0 THEN NULL ELSE g * 1.2345 END, \
                       CASE WHEN g % 17 = 0 THEN NULL WHEN g = 5 THEN 1e300 WHEN g = 6 THEN -2.5e-300 ELSE g / 7.0 END, \
                       CASE WHEN g % 19 = 0 THEN NULL ELSE g % 2 = 0 END, \
                       TIMESTAMP '1969-12-31 23:59:58.5' + INTERVAL g * 1000001 MICROSECOND, \
                       CASE WHEN g % 23 = 0 THEN NULL ELSE CONCAT(CAST(g AS BINARY), X'00ff') END \
                     FROM (SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d + 100000 * h.d AS g \
                           FROM {digits} a, {digits} b, {digits} c, {digits} e, {digits} f, {digits} h) s \
                     WHERE g BETWEEN {from} AND {to}",
                    id = ID_EXPR,
                    digits = "(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL \
                              SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL \
                              SELECT 8 UNION ALL SELECT 9)"
                )
            },
            select: "SELECT CAST(id AS CHAR), CAST(qty AS CHAR), name, CAST(price AS CHAR), CAST(ratio AS CHAR), \
                     CAST(active AS CHAR), CAST(created AS CHAR), HEX(payload) FROM items ORDER BY id",
        },
        Engine::Sqlite => Sql {
            create: "CREATE TABLE items (id INTEGER PRIMARY KEY, qty INTEGER, name TEXT, price NUMERIC, \
                     ratio REAL, active BOOLEAN, created TEXT, payload BLOB)",
            seed: |from, to| {
                format!(
                    "WITH RECURSIVE s(g) AS (SELECT {from} UNION ALL SELECT g + 1 FROM s WHERE g < {to}) \
                     INSERT INTO items SELECT {id}, g % 1000 - 500, \
                       CASE WHEN g % 11 = 0 THEN NULL WHEN g % 7 = 0 THEN '' ELSE 'név ' || g || ' 😀 ü' END, \
                       CASE WHEN g % 13 = 0 THEN NULL ELSE g * 1.2345 END, \
                       CASE WHEN g % 17 = 0 THEN NULL WHEN g = 5 THEN 1e300 WHEN g = 6 THEN -2.5e-300 ELSE g / 7.0 END, \
                       CASE WHEN g % 19 = 0 THEN NULL ELSE g % 2 = 0 END, \
                       strftime('%Y-%m-%d %H:%M:%f', '1969-12-31 23:59:58.5', '+' || (g * 1.000001) || ' seconds'), \
                       CASE WHEN g % 23 = 0 THEN NULL ELSE CAST(CAST(g AS BLOB) || x'00ff' AS BLOB) END \
                     FROM s",
                    id = ID_EXPR
                )
            },
            select: "SELECT * FROM items ORDER BY id",
        },
    }
}

/// Negative keys (g < 20000), keys three apart, and a sparse tail far beyond for g > 49990.
const ID_EXPR: &str = "CASE WHEN g <= 49990 THEN (g - 20000) * 3 ELSE 1000000000000 + g * 7919 END";

/// Rows by key (the first column).
pub async fn read_items(conn: &Conn, engine: Engine) -> BTreeMap<String, Vec<Option<String>>> {
    let rows = conn.rows(sql(engine).select).await;
    rows.into_iter()
        .map(|r| (r[0].clone().unwrap_or_default(), r))
        .collect()
}

/// Differences between two read-backs: (only in source, only in target, changed).
pub fn expected_difference(
    source: &BTreeMap<String, Vec<Option<String>>>,
    target: &BTreeMap<String, Vec<Option<String>>>,
) -> (u64, u64, u64) {
    let only_source = source.keys().filter(|k| !target.contains_key(*k)).count() as u64;
    let only_target = target.keys().filter(|k| !source.contains_key(*k)).count() as u64;
    let changed = source
        .iter()
        .filter(|(k, row)| target.get(*k).is_some_and(|t| t != *row))
        .count() as u64;
    (only_source, only_target, changed)
}

/// Asserts that both sides hold exactly the same rows, value for value.
pub async fn assert_tables_equal(pair: &Pair) {
    let source = read_items(&pair.source, pair.engine).await;
    let target = read_items(&pair.target, pair.engine).await;
    assert_eq!(source.len(), target.len(), "row counts differ");
    for (key, row) in &source {
        assert_eq!(Some(row), target.get(key), "row {key} differs");
    }
}

const JOB: &str = "[defaults]\nchunk_size = 997\njobs = 4\n[[tables]]\nname = \"items\"\n";

/// Inserts, updates and deletes spread over the key range and clustered at its end, plus drift on
/// the target; `diff` sees them, `sync` writes exactly them, the tables end equal.
pub async fn spread_and_clustered_changes(engine: Engine) {
    let Some(pair) = Pair::new(engine).await else {
        return;
    };
    let q = sql(engine);
    pair.exec_both(q.create).await;
    pair.exec_both(&(q.seed)(1, SEEDED)).await;

    // Source edits: spread updates (also to NULL), spread deletes, clustered updates and appends.
    pair.source
        .exec("UPDATE items SET name = 'changed ✓', price = price + 1 WHERE id % 97 = 0")
        .await;
    pair.source
        .exec("UPDATE items SET ratio = NULL, payload = NULL WHERE id % 101 = 0")
        .await;
    pair.source
        .exec("DELETE FROM items WHERE id % 89 = 0")
        .await;
    pair.source
        .exec("UPDATE items SET qty = qty + 1 WHERE id > 1000000000000 + 49995 * 7919")
        .await;
    pair.source.exec(&(q.seed)(SEEDED + 1, SEEDED + 500)).await;
    // Target drift: flipped flags and rows the source never had.
    pair.target
        .exec("UPDATE items SET active = NOT active WHERE id % 113 = 0")
        .await;
    pair.target
        .exec("INSERT INTO items (id, qty) SELECT id + 1, qty FROM items WHERE id % 37 = 0")
        .await;

    let before_source = read_items(&pair.source, engine).await;
    let before_target = read_items(&pair.target, engine).await;
    let (only_source, only_target, changed) = expected_difference(&before_source, &before_target);
    assert!(
        only_source > 400 && only_target > 1000 && changed > 1000,
        "scenario makes real changes"
    );

    let job = pair.job_file(JOB);
    let job = job.to_str().expect("utf-8 path");
    let dir = pair.dir.path();

    let (code, report) = dbdelta_json(dir, &["diff", "-c", job]);
    assert_eq!(code, 1, "diff before sync reports differences: {report:#}");
    let t = table_report(&report, "items");
    assert_eq!(t["rows_only_in_source"], only_source);
    assert_eq!(t["rows_only_in_target"], only_target);
    assert_eq!(t["rows_changed"], changed);
    assert_eq!(
        read_items(&pair.target, engine).await,
        before_target,
        "diff writes nothing"
    );

    let (code, report) = dbdelta_json(dir, &["sync", "-c", job]);
    assert_eq!(code, 0, "sync succeeds: {report:#}");
    let t = table_report(&report, "items");
    assert_eq!(
        t["inserted"], only_source,
        "inserts exactly the missing rows"
    );
    assert_eq!(t["deleted"], only_target, "deletes exactly the extra rows");
    assert_eq!(t["updated"], changed, "updates exactly the changed rows");
    assert!(
        t["chunks"].as_u64().unwrap_or(0) > 40,
        "the table was cut into many chunks: {t:#}"
    );
    assert_eq!(t["rows_source"], before_source.len());
    assert_eq!(t["rows_target"], before_target.len());

    assert_tables_equal(&pair).await;

    let output = dbdelta(dir, &["diff", "-c", job]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "diff after sync: {}",
        describe(&output)
    );

    let (code, report) = dbdelta_json(dir, &["sync", "-c", job]);
    assert_eq!(code, 0);
    let t = table_report(&report, "items");
    assert_eq!(
        (
            t["inserted"].as_u64(),
            t["updated"].as_u64(),
            t["deleted"].as_u64()
        ),
        (Some(0), Some(0), Some(0))
    );
    assert_eq!(
        t["chunks_differing"], 0,
        "a second sync finds nothing to do"
    );
    pair.cleanup().await;
}

/// An empty target is filled; an emptied source empties the target.
pub async fn first_load_and_emptying(engine: Engine) {
    let Some(pair) = Pair::new(engine).await else {
        return;
    };
    let q = sql(engine);
    pair.exec_both(q.create).await;
    pair.source.exec(&(q.seed)(1, 20_000)).await;
    let job = pair.job_file("[defaults]\nchunk_size = 1500\n[[tables]]\nname = \"items\"\n");
    let job = job.to_str().expect("utf-8 path");
    let dir = pair.dir.path();

    let (code, report) = dbdelta_json(dir, &["sync", "-c", job]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(table_report(&report, "items")["inserted"], 20_000);
    assert_tables_equal(&pair).await;

    pair.source.exec("DELETE FROM items").await;
    let (code, report) = dbdelta_json(dir, &["sync", "-c", job]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(table_report(&report, "items")["deleted"], 20_000);
    assert_eq!(pair.target.count("items").await, 0);
    pair.cleanup().await;
}
