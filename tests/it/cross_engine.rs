//! Every direction between PostgreSQL, MariaDB and SQLite, with every value type: the canonical
//! encoding gives equal hashes for equal values on every engine, a sync copies values faithfully
//! (read back and compared value by value), `create_missing` creates the target, and a value the
//! target cannot hold stops the table with an error naming table, key and column.

use crate::common::matrix::{self, Col};
use crate::common::{dbdelta, dbdelta_json, describe, table_report, write_job, Conn, Engine, Pair};
use std::path::PathBuf;

/// One database per engine: the `source` side of a pair of each.
struct Engines {
    pg: Pair,
    my: Pair,
    lite: Pair,
}

impl Engines {
    async fn new() -> Option<Engines> {
        Some(Engines {
            pg: Pair::new(Engine::Postgres).await?,
            my: Pair::new(Engine::MySql).await?,
            lite: Pair::new(Engine::Sqlite).await?,
        })
    }

    fn pair(&self, engine: Engine) -> &Pair {
        match engine {
            Engine::Postgres => &self.pg,
            Engine::MySql => &self.my,
            Engine::Sqlite => &self.lite,
        }
    }

    fn conn(&self, engine: Engine) -> &Conn {
        &self.pair(engine).source
    }

    /// A job file (in the SQLite pair's folder, where `sqlite://source.db` resolves) syncing
    /// `from` into `to`.
    fn job(&self, from: Engine, to: Engine, tables: &str) -> PathBuf {
        write_job(
            &self.lite.dir.path().join(format!("{from:?}-{to:?}.toml")),
            &self.pair(from).source_url,
            &self.pair(to).source_url,
            tables,
        )
    }

    async fn cleanup(self) {
        self.pg.cleanup().await;
        self.my.cleanup().await;
        self.lite.cleanup().await;
    }
}

const ENGINES: [Engine; 3] = [Engine::Postgres, Engine::MySql, Engine::Sqlite];

fn directions() -> Vec<(Engine, Engine)> {
    ENGINES
        .iter()
        .flat_map(|&a| {
            ENGINES
                .iter()
                .filter(move |&&b| b != a)
                .map(move |&b| (a, b))
        })
        .collect()
}

async fn recreate(conn: &Conn, engine: Engine, table: &str, columns: &[Col], seed: bool) {
    conn.exec(&format!("DROP TABLE IF EXISTS {table}")).await;
    conn.exec(&matrix::create(engine, table, columns)).await;
    if seed {
        conn.exec(&matrix::insert(engine, table, columns)).await;
    }
}

/// Equal values seeded natively on each engine hash equally, one table per type: server-side
/// SQL on PostgreSQL and MySQL and in-process hashing for SQLite agree (floats and JSON are hashed
/// in-process on every side across engines).
#[tokio::test]
async fn every_type_hashes_equal_on_every_engine() {
    let Some(engines) = Engines::new().await else {
        return;
    };
    let mut tables = String::new();
    for col in matrix::columns() {
        let table = format!("h_{}", col.name);
        for engine in ENGINES {
            recreate(
                engines.conn(engine),
                engine,
                &table,
                std::slice::from_ref(&col),
                true,
            )
            .await;
        }
        tables.push_str(&format!("[[tables]]\nname = \"{table}\"\nchunk_size = 2\n"));
    }
    for (from, to) in directions() {
        let job = engines.job(from, to, &tables);
        let (code, report) = dbdelta_json(
            engines.lite.dir.path(),
            &["diff", "-c", job.to_str().unwrap_or_default()],
        );
        let differing: Vec<String> = report["tables"]
            .as_array()
            .map(|ts| {
                ts.iter()
                    .filter(|t| t["chunks_differing"] != 0 || t.get("error").is_some())
                    .map(|t| {
                        format!(
                            "{} {}",
                            t["table"],
                            t.get("error").map(|e| e.to_string()).unwrap_or_default()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            differing.is_empty() && code == 0,
            "{from:?} -> {to:?}: types that hash differently: {differing:?}"
        );
    }
    engines.cleanup().await;
}

async fn sync_all_directions(create_missing: bool) {
    let Some(engines) = Engines::new().await else {
        return;
    };
    let columns = matrix::columns();
    let dir = engines.lite.dir.path().to_path_buf();
    for (from, to) in directions() {
        let (src, dst) = (engines.conn(from), engines.conn(to));
        recreate(src, from, "matrix", &columns, true).await;
        if create_missing {
            dst.exec("DROP TABLE IF EXISTS matrix").await;
        } else {
            recreate(dst, to, "matrix", &columns, false).await;
        }
        let job = engines.job(
            from,
            to,
            "[defaults]\ncreate_missing = true\n[[tables]]\nname = \"matrix\"\nchunk_size = 2\n",
        );
        let job = job.to_str().unwrap_or_default();
        let (code, report) = dbdelta_json(&dir, &["sync", "-c", job]);
        assert_eq!(code, 0, "{from:?} -> {to:?}: {report:#}");
        let expected = matrix::read(src, from, "matrix", &columns).await;
        let copied = matrix::read(dst, to, "matrix", &columns).await;
        for (e, c) in expected.iter().zip(&copied) {
            for ((value, copy), name) in e
                .iter()
                .zip(c)
                .zip(std::iter::once("id").chain(columns.iter().map(|c| c.name)))
            {
                assert_eq!(
                    value, copy,
                    "{from:?} -> {to:?}: row {:?}, column {name}",
                    e[0]
                );
            }
        }
        assert_eq!(
            expected.len(),
            copied.len(),
            "{from:?} -> {to:?}: row count"
        );
        let output = dbdelta(&dir, &["diff", "-c", job]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{from:?} -> {to:?}: {}",
            describe(&output)
        );

        // Known edits: two rows changed, one deleted, one added.
        src.exec("UPDATE matrix SET txt = 'edited ✓', f64 = 2.5 WHERE id IN (1, 2)")
            .await;
        src.exec("DELETE FROM matrix WHERE id = 4").await;
        let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
        src.exec(&format!(
            "INSERT INTO matrix (id, {0}) SELECT 5, {0} FROM matrix WHERE id = 1",
            names.join(", ")
        ))
        .await;
        let (code, report) = dbdelta_json(&dir, &["diff", "-c", job]);
        assert_eq!(code, 1, "{from:?} -> {to:?}: {report:#}");
        let t = table_report(&report, "matrix");
        assert_eq!(
            (
                t["rows_changed"].as_u64(),
                t["rows_only_in_source"].as_u64(),
                t["rows_only_in_target"].as_u64()
            ),
            (Some(2), Some(1), Some(1)),
            "{from:?} -> {to:?}: exactly the edited rows differ: {t:#}"
        );
        let (code, report) = dbdelta_json(&dir, &["sync", "-c", job]);
        assert_eq!(code, 0, "{from:?} -> {to:?}: {report:#}");
        assert_eq!(
            matrix::read(src, from, "matrix", &columns).await,
            matrix::read(dst, to, "matrix", &columns).await,
            "{from:?} -> {to:?}: equal after the edits"
        );
    }
    engines.cleanup().await;
}

#[tokio::test]
async fn every_direction_copies_every_type_faithfully() {
    sync_all_directions(false).await;
}

#[tokio::test]
async fn create_missing_creates_the_target_in_every_direction() {
    sync_all_directions(true).await;
}

/// Values the target cannot hold stop the table before anything is written, naming table, key
/// and column.
#[tokio::test]
async fn unrepresentable_values_are_refused_by_name() {
    let Some(engines) = Engines::new().await else {
        return;
    };
    let dir = engines.lite.dir.path().to_path_buf();
    let columns = matrix::columns();
    let cases = [
        (
            Engine::Postgres,
            Engine::MySql,
            "UPDATE matrix SET f64 = 'NaN' WHERE id = 2",
            "f64",
            "cannot be stored in MySQL",
        ),
        (
            Engine::Postgres,
            Engine::Sqlite,
            "UPDATE matrix SET f64 = 'NaN' WHERE id = 2",
            "f64",
            "NaN would become NULL",
        ),
        (
            Engine::Postgres,
            Engine::MySql,
            "UPDATE matrix SET ts = '0044-03-15 12:00:00' WHERE id = 2",
            "ts",
            "outside MySQL's DATETIME range",
        ),
        (
            Engine::Postgres,
            Engine::MySql,
            "UPDATE matrix SET tstz = 'infinity' WHERE id = 2",
            "tstz",
            "not a timestamp",
        ),
    ];
    for (from, to, edit, column, why) in cases {
        let (src, dst) = (engines.conn(from), engines.conn(to));
        recreate(src, from, "matrix", &columns, true).await;
        recreate(dst, to, "matrix", &columns, false).await;
        src.exec(edit).await;
        let job = engines.job(
            from,
            to,
            "[[tables]]\nname = \"matrix\"\nchunk_size = 100\n",
        );
        let output = dbdelta(&dir, &["sync", "-c", job.to_str().unwrap_or_default()]);
        assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        let named = format!("table matrix, key 2, column \"{column}\"");
        assert!(
            stderr.contains(&named) && stderr.contains(why),
            "{from:?} -> {to:?} {edit}: {stderr}"
        );
        assert_eq!(
            dst.count("matrix").await,
            0,
            "nothing of the chunk was written"
        );
    }
    // JSON facing an integer cannot be compared at all: refused before anything is written.
    engines
        .conn(Engine::Postgres)
        .exec("DROP TABLE IF EXISTS jx")
        .await;
    engines
        .conn(Engine::Postgres)
        .exec("CREATE TABLE jx (id integer PRIMARY KEY, v jsonb)")
        .await;
    engines
        .conn(Engine::MySql)
        .exec("DROP TABLE IF EXISTS jx")
        .await;
    engines
        .conn(Engine::MySql)
        .exec("CREATE TABLE jx (id integer PRIMARY KEY, v integer)")
        .await;
    let job = engines.job(
        Engine::Postgres,
        Engine::MySql,
        "[[tables]]\nname = \"jx\"\n",
    );
    let output = dbdelta(&dir, &["sync", "-c", job.to_str().unwrap_or_default()]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("column \"v\" cannot be compared: jsonb"),
        "{}",
        describe(&output)
    );

    // A 38-digit decimal does not fit SQLite's NUMERIC (a double) exactly.
    let dec = [Col {
        name: "big",
        kind: matrix::Kind::Decimal,
        types: ["numeric(38,10)", "decimal(38,10)", "NUMERIC"],
        values: [
            "'1234567890123456789012345678.0123456789'",
            "1",
            "NULL",
            "2",
        ],
    }];
    recreate(
        engines.conn(Engine::Postgres),
        Engine::Postgres,
        "matrix",
        &dec,
        true,
    )
    .await;
    recreate(
        engines.conn(Engine::Sqlite),
        Engine::Sqlite,
        "matrix",
        &dec,
        false,
    )
    .await;
    let job = engines.job(
        Engine::Postgres,
        Engine::Sqlite,
        "[[tables]]\nname = \"matrix\"\n",
    );
    let output = dbdelta(&dir, &["sync", "-c", job.to_str().unwrap_or_default()]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("key 1, column \"big\""),
        "{}",
        describe(&output)
    );
    engines.cleanup().await;
}

/// SQLite keeps a time-zone aware value as text with whatever offset it was written with; it is
/// the same instant as the server engines' UTC value, so it compares equal and is written as UTC.
#[tokio::test]
async fn sqlite_offsets_are_the_same_instant_on_the_servers() {
    let Some(engines) = Engines::new().await else {
        return;
    };
    engines
        .lite
        .source
        .exec(
            "CREATE TABLE stamps (id INTEGER PRIMARY KEY, at TIMESTAMP);
             INSERT INTO stamps VALUES (1, '2024-03-01 01:30:00+02:00'),
               (2, '2023-12-31T22:15:00.25-02:45'), (3, '2024-06-01 12:00:00Z');",
        )
        .await;
    engines
        .pg
        .source
        .exec("CREATE TABLE stamps (id integer PRIMARY KEY, at timestamptz)")
        .await;
    engines
        .my
        .source
        .exec("CREATE TABLE stamps (id integer PRIMARY KEY, at timestamp(6) NULL)")
        .await;
    let utc = [
        "2024-02-29 23:30:00.000000",
        "2024-01-01 01:00:00.250000",
        "2024-06-01 12:00:00.000000",
    ];
    for (to, read) in [
        (
            Engine::Postgres,
            "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') FROM stamps ORDER BY id",
        ),
        (
            Engine::MySql,
            "SELECT DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s.%f') FROM stamps ORDER BY id",
        ),
    ] {
        let job = engines.job(Engine::Sqlite, to, "[[tables]]\nname = \"stamps\"\n");
        let job = job.to_str().unwrap_or_default();
        let dir = engines.lite.dir.path();
        let (code, report) = dbdelta_json(dir, &["sync", "-c", job]);
        assert_eq!(code, 0, "{to:?}: {report:#}");
        let values: Vec<Option<String>> = engines
            .conn(to)
            .rows(read)
            .await
            .into_iter()
            .map(|r| r[0].clone())
            .collect();
        assert_eq!(values, utc.map(|v| Some(v.to_string())), "{to:?}");
        let diff = dbdelta(dir, &["diff", "-c", job]);
        assert_eq!(diff.status.code(), Some(0), "{to:?}: {}", describe(&diff));
    }
    engines.cleanup().await;
}
