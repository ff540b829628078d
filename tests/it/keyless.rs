//! Tables without a primary key: a keyless table syncs as a multiset of whole rows (duplicate
//! rows and NULLs included) in every mode, on every engine and across engines, and a second run
//! writes nothing; a `key` without a unique index is used once the source is found unique on it,
//! and refused, naming the duplicate, when it is not.

use crate::common::{dbdelta, dbdelta_json, describe, table_report, write_job, Conn, Engine, Pair};

fn create_sql(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => {
            "CREATE TABLE audit_log (at timestamp, action text, detail text, n integer)"
        }
        Engine::MySql => {
            "CREATE TABLE audit_log (at datetime(6), action varchar(40), detail text, n int)"
        }
        Engine::Sqlite => "CREATE TABLE audit_log (at TEXT, action TEXT, detail TEXT, n INTEGER)",
    }
}

/// Every row as comparable text, sorted: the table as a multiset.
async fn multiset(conn: &Conn, engine: Engine) -> Vec<Vec<Option<String>>> {
    let sql = match engine {
        Engine::Postgres => {
            "SELECT to_char(at, 'YYYY-MM-DD HH24:MI:SS'), action, detail, n::text FROM audit_log"
        }
        Engine::MySql => {
            "SELECT DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s'), action, detail, CAST(n AS CHAR) \
             FROM audit_log"
        }
        Engine::Sqlite => "SELECT at, action, detail, n FROM audit_log",
    };
    let mut rows: Vec<Vec<Option<String>>> = conn
        .rows(sql)
        .await
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|v| {
                    v.map(|v| {
                        v.trim_start_matches("t:")
                            .trim_start_matches("i:")
                            .to_string()
                    })
                })
                .collect()
        })
        .collect();
    rows.sort();
    rows
}

const SOURCE_ROWS: &str = "INSERT INTO audit_log VALUES \
    ('2024-01-01 10:00:00', 'login', 'alice', 1), \
    ('2024-01-01 10:00:00', 'login', 'alice', 1), \
    ('2024-01-01 10:00:00', 'login', 'alice', 1), \
    ('2024-01-02 11:30:00', 'logout', NULL, 2), \
    ('2024-01-02 11:30:00', 'logout', NULL, 2), \
    (NULL, 'purge', 'all', NULL), \
    (NULL, NULL, NULL, NULL), \
    ('2024-01-03 00:00:00', 'edit', 'Ü ß', 3)";

/// Overlaps the source: one copy too few of one row, copies the source lacks, a row that
/// differs only by NULL against a value, and a case that a coarse collation would fold.
const TARGET_ROWS: &str = "INSERT INTO audit_log VALUES \
    ('2024-01-01 10:00:00', 'login', 'alice', 1), \
    ('2024-01-02 11:30:00', 'logout', NULL, 2), \
    ('2024-01-02 11:30:00', 'logout', NULL, 2), \
    ('2024-01-02 11:30:00', 'logout', NULL, 2), \
    ('2024-01-02 11:30:00', 'logout', '', 2), \
    (NULL, NULL, NULL, NULL), \
    (NULL, NULL, NULL, NULL), \
    ('2024-01-03 00:00:00', 'EDIT', 'Ü ß', 3), \
    ('2024-01-09 00:00:00', 'stale', 'x', 9)";

/// More rows than one chunk holds, so that several buckets differ.
fn bulk_rows(copies_of: impl Fn(i64) -> i64) -> String {
    let rows: Vec<String> = (1..=300)
        .flat_map(|i| {
            let row = format!("('2024-02-01 00:00:00', 'bulk', 'row {}', {i})", i % 7);
            std::iter::repeat_n(row, copies_of(i) as usize)
        })
        .collect();
    format!("INSERT INTO audit_log VALUES {}", rows.join(", "))
}

async fn seed(source: &Conn, target: &Conn, source_engine: Engine, target_engine: Engine) {
    for (conn, engine) in [(source, source_engine), (target, target_engine)] {
        conn.exec("DROP TABLE IF EXISTS audit_log").await;
        conn.exec(create_sql(engine)).await;
    }
    source.exec(SOURCE_ROWS).await;
    source.exec(&bulk_rows(|i| 1 + i % 3)).await;
    target.exec(TARGET_ROWS).await;
    target.exec(&bulk_rows(|i| (i + 1) % 3)).await;
}

fn totals(report: &serde_json::Value) -> (i64, i64, i64) {
    let t = table_report(report, "audit_log");
    let n = |field: &str| t[field].as_i64().unwrap_or(-1);
    (n("inserted"), n("updated"), n("deleted"))
}

/// Syncs `source` into `target` in every mode, reading both sides back as multisets.
async fn modes(
    dir: &std::path::Path,
    (source, source_engine): (&Conn, Engine),
    (target, target_engine): (&Conn, Engine),
    job: &dyn Fn(&str) -> std::path::PathBuf,
) {
    let label = format!("{source_engine:?} -> {target_engine:?}");
    seed(source, target, source_engine, target_engine).await;
    let config = job("sync");
    let config = config.to_str().unwrap_or_default();

    // `diff` lists the differing rows and exits 1.
    let output = dbdelta(dir, &["diff", "-c", config]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{label}: {}",
        describe(&output)
    );

    let (code, report) = dbdelta_json(dir, &["sync", "-c", config, "--chunk-size", "50"]);
    assert_eq!(code, 0, "{label}: {report:#}");
    let (inserted, updated, deleted) = totals(&report);
    assert!(
        inserted > 0 && deleted > 0 && updated == 0,
        "{label}: {report:#}"
    );
    let want = multiset(source, source_engine).await;
    assert_eq!(multiset(target, target_engine).await, want, "{label}: sync");

    let (code, report) = dbdelta_json(dir, &["sync", "-c", config, "--chunk-size", "50"]);
    assert_eq!(
        (code, totals(&report)),
        (0, (0, 0, 0)),
        "{label}: {report:#}"
    );
    let output = dbdelta(dir, &["diff", "-c", config]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{label}: {}",
        describe(&output)
    );

    // insert-only adds the missing copies and deletes nothing.
    seed(source, target, source_engine, target_engine).await;
    let before = multiset(target, target_engine).await;
    let config = job("insert-only");
    let (code, _) = dbdelta_json(dir, &["sync", "-c", config.to_str().unwrap_or_default()]);
    assert_eq!(code, 0, "{label}: insert-only");
    let after = multiset(target, target_engine).await;
    let count = |rows: &[Vec<Option<String>>], row: &Vec<Option<String>>| {
        rows.iter().filter(|r| *r == row).count()
    };
    for row in want.iter().chain(&before) {
        assert_eq!(
            count(&after, row),
            count(&want, row).max(count(&before, row)),
            "{label}: insert-only, row {row:?}"
        );
    }
    let (code, report) = dbdelta_json(dir, &["sync", "-c", config.to_str().unwrap_or_default()]);
    assert_eq!(
        (code, totals(&report)),
        (0, (0, 0, 0)),
        "{label}: {report:#}"
    );

    // truncate rewrites the whole table.
    let config = job("truncate");
    let (code, report) = dbdelta_json(dir, &["sync", "-c", config.to_str().unwrap_or_default()]);
    assert_eq!(code, 0, "{label}: truncate {report:#}");
    assert_eq!(
        multiset(target, target_engine).await,
        want,
        "{label}: truncate"
    );
}

fn table(mode: &str) -> String {
    format!("[[tables]]\nname = \"audit_log\"\nmode = \"{mode}\"\n")
}

async fn same_engine(engine: Engine) {
    let Some(pair) = Pair::new(engine).await else {
        return;
    };
    let job = |mode: &str| pair.job_file(&table(mode));
    modes(
        pair.dir.path(),
        (&pair.source, engine),
        (&pair.target, engine),
        &job,
    )
    .await;
    pair.cleanup().await;
}

#[tokio::test]
async fn keyless_tables_sync_as_multisets_on_postgres() {
    same_engine(Engine::Postgres).await;
}

#[tokio::test]
async fn keyless_tables_sync_as_multisets_on_mariadb() {
    same_engine(Engine::MySql).await;
}

#[tokio::test]
async fn keyless_tables_sync_as_multisets_on_sqlite() {
    same_engine(Engine::Sqlite).await;
}

#[tokio::test]
async fn keyless_tables_sync_as_multisets_from_postgres_to_mariadb() {
    let (Some(pg), Some(my)) = (
        Pair::new(Engine::Postgres).await,
        Pair::new(Engine::MySql).await,
    ) else {
        return;
    };
    let path = pg.dir.path().join("cross.toml");
    let job = |mode: &str| write_job(&path, &pg.source_url, &my.target_url, &table(mode));
    modes(
        pg.dir.path(),
        (&pg.source, Engine::Postgres),
        (&my.target, Engine::MySql),
        &job,
    )
    .await;
    pg.cleanup().await;
    my.cleanup().await;
}

/// `key` names columns without a unique index: the target's copies of a key are replaced by the
/// source's one row; a source holding a key twice is refused before anything is written.
async fn unindexed_key(engine: Engine) {
    let Some(pair) = Pair::new(engine).await else {
        return;
    };
    let text = if engine == Engine::MySql {
        "varchar(20)"
    } else {
        "text"
    };
    pair.exec_both(&format!(
        "CREATE TABLE events (id integer NOT NULL, kind {text} NOT NULL, v {text})"
    ))
    .await;
    pair.source
        .exec("INSERT INTO events VALUES (1, 'a', 'one'), (2, 'a', 'two'), (2, 'b', 'two b'), (3, 'a', NULL)")
        .await;
    pair.target
        .exec("INSERT INTO events VALUES (1, 'a', 'one'), (1, 'a', 'one'), (2, 'a', 'old'), (9, 'z', 'gone'), (9, 'z', 'gone')")
        .await;
    let config =
        pair.job_file("[[tables]]\nname = \"events\"\nkey = [\"id\", \"kind\"]\nchunk_size = 2\n");
    let config = config.to_str().unwrap_or_default();
    let (code, report) = dbdelta_json(pair.dir.path(), &["sync", "-c", config]);
    assert_eq!(code, 0, "{engine:?}: {report:#}");
    let select = match engine {
        Engine::Postgres => "SELECT id::text, kind, v FROM events ORDER BY id, kind",
        Engine::MySql => "SELECT CAST(id AS CHAR), kind, v FROM events ORDER BY id, kind",
        Engine::Sqlite => "SELECT id, kind, v FROM events ORDER BY id, kind",
    };
    assert_eq!(
        pair.target.rows(select).await,
        pair.source.rows(select).await,
        "{engine:?}"
    );
    let (code, report) = dbdelta_json(pair.dir.path(), &["sync", "-c", config]);
    assert_eq!(code, 0, "{engine:?}: {report:#}");
    let t = table_report(&report, "events");
    assert_eq!(
        (&t["inserted"], &t["updated"], &t["deleted"]),
        (&0.into(), &0.into(), &0.into()),
        "{engine:?}: {report:#}"
    );

    // A duplicate key in the source: refused, naming table, columns and key; nothing written.
    pair.source
        .exec("INSERT INTO events VALUES (3, 'a', 'again')")
        .await;
    pair.target.exec("DELETE FROM events WHERE id = 1").await;
    let output = dbdelta(pair.dir.path(), &["sync", "-c", config]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(
        stderr.contains("table events")
            && stderr.contains("(id, kind)")
            && stderr.contains("(3, \"a\")"),
        "{}",
        describe(&output)
    );
    assert_eq!(pair.target.count("events").await, 3, "nothing was written");
    pair.cleanup().await;
}

#[tokio::test]
async fn a_key_without_a_unique_index_is_checked_and_used_on_postgres() {
    unindexed_key(Engine::Postgres).await;
}

#[tokio::test]
async fn a_key_without_a_unique_index_is_checked_and_used_on_mariadb() {
    unindexed_key(Engine::MySql).await;
}

#[tokio::test]
async fn a_key_without_a_unique_index_is_checked_and_used_on_sqlite() {
    unindexed_key(Engine::Sqlite).await;
}

/// A keyless table with a float column, PostgreSQL into SQLite over several buckets, into a
/// target that holds one row: buckets copied whole and buckets narrowed row by row must agree on
/// which bucket each row is in (floats have no canonical text in SQL, so rows are bucketed
/// in-process on both sides). Every row arrives once.
#[tokio::test]
async fn keyless_rows_with_floats_arrive_once_across_engines_and_buckets() {
    let (Some(pg), Some(lite)) = (
        Pair::new(Engine::Postgres).await,
        Pair::new(Engine::Sqlite).await,
    ) else {
        return;
    };
    pg.source
        .exec(
            "CREATE TABLE readings (sensor integer, value double precision);
             INSERT INTO readings SELECT g % 97, g / 8.0 FROM generate_series(1, 30000) g",
        )
        .await;
    lite.target
        .exec(
            "CREATE TABLE readings (sensor INTEGER, value REAL);
             INSERT INTO readings VALUES (1, 0.125)",
        )
        .await;
    let job = write_job(
        &lite.dir.path().join("readings.toml"),
        &pg.source_url,
        &lite.target_url,
        "[[tables]]\nname = \"readings\"\nchunk_size = 10000\n",
    );
    let job = job.to_str().unwrap_or_default();
    let output = dbdelta(lite.dir.path(), &["sync", "-c", job]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let count = |conn: &Conn, sql: &str| {
        let (conn, sql) = (conn.clone(), sql.to_string());
        async move { conn.rows(&sql).await }
    };
    let pg_rows = count(
        &pg.source,
        "SELECT count(*)::text, count(DISTINCT (sensor, value))::text, sum(value)::bigint::text FROM readings",
    )
    .await;
    let lite_rows = count(
        &lite.target,
        "SELECT CAST(count(*) AS TEXT), CAST((SELECT count(*) FROM (SELECT DISTINCT sensor, value FROM readings)) AS TEXT), CAST(CAST(sum(value) AS INTEGER) AS TEXT) FROM readings",
    )
    .await;
    let untag = |rows: Vec<Vec<Option<String>>>| -> Vec<Option<String>> {
        rows.into_iter()
            .flatten()
            .map(|v| v.map(|v| v.trim_start_matches("t:").to_string()))
            .collect()
    };
    assert_eq!(untag(pg_rows), untag(lite_rows));
    let (code, report) = dbdelta_json(lite.dir.path(), &["sync", "-c", job]);
    assert_eq!(
        (code, report["in_sync"].as_bool()),
        (0, Some(true)),
        "{report}"
    );
    pg.cleanup().await;
    lite.cleanup().await;
}
