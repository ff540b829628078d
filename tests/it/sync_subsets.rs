//! WHERE-filtered subsets in every mode, on every engine: rows inside the subset end as the mode
//! promises, rows outside it are never touched, and a row the subset does not own is never
//! overwritten. A deleted row the source still holds outside its subset (the sides disagree on
//! the subset, or the row left it) is deleted but reported: counted, warned about, listed.

use crate::common::{dbdelta, dbdelta_json, describe, table_report, write_job, Conn, Engine, Pair};
use std::process::Output;

const ROWS: i64 = 3000;

fn create_sql(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => "CREATE TABLE orders (id bigint PRIMARY KEY, tenant integer NOT NULL, total numeric(12,2), note text)",
        Engine::MySql => "CREATE TABLE orders (id bigint PRIMARY KEY, tenant int NOT NULL, total decimal(12,2), note text)",
        Engine::Sqlite => "CREATE TABLE orders (id INTEGER PRIMARY KEY, tenant INTEGER NOT NULL, total NUMERIC, note TEXT)",
    }
}

fn select_sql(engine: Engine, condition: &str) -> String {
    let columns = match engine {
        Engine::Postgres => "id::text, tenant::text, total::text, note",
        Engine::MySql => "CAST(id AS CHAR), CAST(tenant AS CHAR), CAST(total AS CHAR), note",
        Engine::Sqlite => "id, tenant, total, note",
    };
    format!("SELECT {columns} FROM orders WHERE {condition} ORDER BY id")
}

/// `INSERT` of rows `ids`, tenant = id % 3, with a label that makes notes differ per side.
fn insert_sql(ids: impl Iterator<Item = i64>, label: &str) -> String {
    let rows: Vec<String> = ids
        .map(|id| format!("({id}, {}, {}.25, '{label} {id} ü')", id % 3, id * 3))
        .collect();
    format!(
        "INSERT INTO orders (id, tenant, total, note) VALUES {}",
        rows.join(", ")
    )
}

async fn read(conn: &Conn, engine: Engine, condition: &str) -> Vec<Vec<Option<String>>> {
    conn.rows(&select_sql(engine, condition)).await
}

/// Both sides start from the same rows; then the source changes inside and outside tenant 1, and
/// the target drifts inside and outside it.
async fn setup(pair: &Pair) {
    pair.exec_both("DROP TABLE IF EXISTS orders").await;
    pair.exec_both(create_sql(pair.engine)).await;
    pair.exec_both(&insert_sql(1..=ROWS, "seed")).await;
    pair.source
        .exec("UPDATE orders SET total = total + 1 WHERE id % 10 = 1")
        .await;
    pair.source
        .exec("DELETE FROM orders WHERE id % 17 = 4")
        .await;
    pair.source
        .exec(&insert_sql(ROWS + 1..=ROWS + 90, "new"))
        .await;
    pair.target
        .exec("UPDATE orders SET note = 'drift' WHERE id % 13 = 0")
        .await;
    pair.target
        .exec(&insert_sql(
            (ROWS + 1000..=ROWS + 1200).step_by(7),
            "target-only",
        ))
        .await;
}

const INSIDE: &str = "tenant = 1";
const OUTSIDE: &str = "NOT (tenant = 1)";

fn job(pair: &Pair, mode: &str) -> String {
    let path = pair.job_file(&format!(
        "[defaults]\nchunk_size = 250\n[[tables]]\nname = \"orders\"\nwhere = \"{INSIDE}\"\nmode = \"{mode}\"\n"
    ));
    path.to_str().unwrap_or_default().to_string()
}

async fn subset_modes(engine: Engine) {
    let Some(pair) = Pair::new(engine).await else {
        return;
    };
    let dir = pair.dir.path();
    for mode in ["sync", "upsert", "insert-only", "truncate"] {
        setup(&pair).await;
        let source_inside = read(&pair.source, engine, INSIDE).await;
        let target_inside = read(&pair.target, engine, INSIDE).await;
        let target_outside = read(&pair.target, engine, OUTSIDE).await;
        let job = job(&pair, mode);
        let (code, report) = dbdelta_json(dir, &["sync", "-c", &job]);
        assert_eq!(code, 0, "{mode}: {report:#}");
        assert_eq!(
            read(&pair.target, engine, OUTSIDE).await,
            target_outside,
            "{mode}: rows outside the subset are untouched"
        );
        let after = read(&pair.target, engine, INSIDE).await;
        match mode {
            "sync" | "truncate" => {
                assert_eq!(after, source_inside, "{mode}: subset equals the source's")
            }
            "upsert" => {
                for row in &source_inside {
                    assert!(
                        after.contains(row),
                        "upsert: source row {row:?} is in the target"
                    );
                }
                for row in &target_inside {
                    assert!(
                        after.iter().any(|r| r[0] == row[0]),
                        "upsert never deletes: {row:?} is still there"
                    );
                }
            }
            _ => {
                for row in &target_inside {
                    assert!(after.contains(row), "insert-only never modifies {row:?}");
                }
                for row in &source_inside {
                    assert!(
                        after.iter().any(|r| r[0] == row[0]),
                        "insert-only adds {row:?}"
                    );
                }
            }
        }
        let t = table_report(&report, "orders");
        if mode == "sync" {
            assert_eq!(
                t["rows_source"],
                source_inside.len(),
                "only the subset is compared"
            );
            let output = dbdelta(dir, &["diff", "-c", &job]);
            assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
        }
        if mode == "insert-only" {
            assert_eq!(t["updated"], 0);
            assert_eq!(t["deleted"], 0);
        }
        if mode == "upsert" {
            assert_eq!(t["deleted"], 0);
        }
    }
    pair.cleanup().await;
}

async fn one_off_subset_and_foreign_rows(engine: Engine) {
    let Some(pair) = Pair::new(engine).await else {
        return;
    };
    let dir = pair.dir.path();
    setup(&pair).await;
    // The file syncs the whole table; the command line narrows this run to tenant 2.
    let path = pair.job_file("[[tables]]\nname = \"orders\"\n");
    let job = path.to_str().unwrap_or_default();
    let others = read(&pair.target, engine, "NOT (tenant = 2)").await;
    let source_two = read(&pair.source, engine, "tenant = 2").await;
    let output = dbdelta(dir, &["sync", "-c", job, "orders", "where tenant = 2"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert_eq!(read(&pair.target, engine, "tenant = 2").await, source_two);
    assert_eq!(read(&pair.target, engine, "NOT (tenant = 2)").await, others);

    // A tenant-1 source row (7) whose key the target holds as a tenant-0 row: not ours to overwrite.
    pair.target
        .exec("UPDATE orders SET tenant = 0 WHERE id = 7")
        .await;
    pair.source
        .exec("UPDATE orders SET total = 999 WHERE id = 7")
        .await;
    let before = read(&pair.target, engine, "1 = 1").await;
    let job = self::job(&pair, "sync");
    let output = dbdelta(dir, &["sync", "-c", &job]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("key 7 exists in the target outside the subset"),
        "{stderr}"
    );
    let after = read(&pair.target, engine, "1 = 1").await;
    let row_7 = |rows: &Vec<Vec<Option<String>>>| {
        rows.iter()
            .find(|r| matches!(r[0].as_deref(), Some("7" | "i:7")))
            .cloned()
    };
    assert_eq!(
        row_7(&after),
        row_7(&before),
        "the foreign row is untouched"
    );
    pair.cleanup().await;
}

#[tokio::test]
async fn postgres_subsets_in_every_mode() {
    subset_modes(Engine::Postgres).await;
}

#[tokio::test]
async fn mysql_subsets_in_every_mode() {
    subset_modes(Engine::MySql).await;
}

#[tokio::test]
async fn sqlite_subsets_in_every_mode() {
    subset_modes(Engine::Sqlite).await;
}

#[tokio::test]
async fn postgres_one_off_subset_and_foreign_rows() {
    one_off_subset_and_foreign_rows(Engine::Postgres).await;
}

#[tokio::test]
async fn mysql_one_off_subset_and_foreign_rows() {
    one_off_subset_and_foreign_rows(Engine::MySql).await;
}

#[tokio::test]
async fn sqlite_one_off_subset_and_foreign_rows() {
    one_off_subset_and_foreign_rows(Engine::Sqlite).await;
}

/// `sync --json` (or `--dry-run`), returning the exit code, the report and stderr.
fn sync_json(dir: &std::path::Path, args: &[&str]) -> (Output, serde_json::Value, String) {
    let mut all = vec!["sync", "--json"];
    all.extend_from_slice(args);
    let output = dbdelta(dir, &all);
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", describe(&output)));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, report, stderr)
}

/// The source compares text by byte (`C`: `apple` sorts after `M`), the target case-insensitively
/// (`apple` before `M`): the target's subset holds `apple` and `banana`, which the source keeps
/// outside its own. The sync deletes them, as it must, but says so.
#[tokio::test]
async fn postgres_c_to_mariadb_ci_deletes_rows_the_source_holds_outside_its_subset() {
    let Some(pg) = Pair::new(Engine::Postgres).await else {
        return;
    };
    let Some(my) = Pair::new(Engine::MySql).await else {
        return;
    };
    let rows = "INSERT INTO fruit VALUES (1, 'apple'), (2, 'banana'), (3, 'Cherry'), (4, 'Date'), (5, 'zebra')";
    pg.source
        .exec("CREATE TABLE fruit (id integer PRIMARY KEY, name text COLLATE \"C\")")
        .await;
    pg.source.exec(rows).await;
    my.target
        .exec(
            "CREATE TABLE fruit (id int PRIMARY KEY, name varchar(20) COLLATE utf8mb4_general_ci)",
        )
        .await;
    my.target.exec(rows).await;
    let job = write_job(
        &pg.dir.path().join("sync.toml"),
        &pg.source_url,
        &my.target_url,
        "[[tables]]\nname = \"fruit\"\nwhere = \"name < 'M'\"\n",
    );
    let job = job.to_str().unwrap_or_default();
    let dir = pg.dir.path();
    let read = "SELECT CAST(id AS CHAR) FROM fruit ORDER BY id";

    let (output, report, stderr) = sync_json(dir, &["--dry-run", "-c", job]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let t = table_report(&report, "fruit");
    assert_eq!(t["deleted_present_in_source"], 2, "{t:#}");
    assert_eq!(
        t["differences"][0]["present_in_source"],
        serde_json::json!([1, 2])
    );
    assert!(
        stderr.contains("warning: table fruit: 2 of the rows to delete"),
        "{stderr}"
    );
    assert_eq!(
        my.target.rows(read).await.len(),
        5,
        "the dry run wrote nothing"
    );
    let listing = dbdelta(dir, &["sync", "--dry-run", "-c", job]);
    assert!(
        String::from_utf8_lossy(&listing.stdout)
            .contains("still in the source, outside its subset (2): 1, 2"),
        "{}",
        describe(&listing)
    );

    let (output, report, stderr) = sync_json(dir, &["-c", job]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let t = table_report(&report, "fruit");
    assert_eq!(t["deleted"], 2, "{t:#}");
    assert_eq!(t["deleted_present_in_source"], 2, "{t:#}");
    assert_eq!(report["totals"]["deleted_present_in_source"], 2);
    assert!(
        stderr.contains(
            "warning: table fruit: 2 of the rows deleted from the target are still in the source"
        ) && stderr.contains("disagree on which rows the `where` selects"),
        "{stderr}"
    );
    assert!(
        t["warnings"].to_string().contains("still in the source"),
        "{t:#}"
    );
    let ids = |rows: Vec<Vec<Option<String>>>| -> Vec<String> {
        rows.into_iter().filter_map(|mut r| r.remove(0)).collect()
    };
    assert_eq!(ids(my.target.rows(read).await), ["3", "4", "5"]);
    assert_eq!(
        ids(pg
            .source
            .rows("SELECT id::text FROM fruit ORDER BY id")
            .await),
        ["1", "2", "3", "4", "5"],
        "the source is only read"
    );
    my.cleanup().await;
    pg.cleanup().await;
}

/// A row updated out of the subset since the last sync leaves the target's subset too, and its
/// deletion is reported: once, in the run that deletes it.
#[tokio::test]
async fn a_row_that_left_the_subset_is_deleted_and_reported() {
    let pair = Pair::new(Engine::Sqlite).await.expect("SQLite is embedded");
    let dir = pair.dir.path();
    pair.exec_both(create_sql(Engine::Sqlite)).await;
    pair.exec_both(&insert_sql(1..=30, "seed")).await;
    let job = self::job(&pair, "sync");
    pair.source
        .exec("UPDATE orders SET tenant = 2 WHERE id = 4")
        .await;

    let listing = dbdelta(dir, &["sync", "--dry-run", "-c", &job]);
    assert_eq!(listing.status.code(), Some(0), "{}", describe(&listing));
    assert!(
        String::from_utf8_lossy(&listing.stdout)
            .contains("still in the source, outside its subset (1): 4"),
        "{}",
        describe(&listing)
    );
    assert!(
        String::from_utf8_lossy(&listing.stderr).contains("still in source"),
        "the summary has the column: {}",
        describe(&listing)
    );

    let (output, report, stderr) = sync_json(dir, &["-c", &job]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let t = table_report(&report, "orders");
    assert_eq!(
        (
            t["deleted"].as_u64(),
            t["deleted_present_in_source"].as_u64()
        ),
        (Some(1), Some(1)),
        "{t:#}"
    );
    assert!(
        stderr.contains("warning: table orders: 1 of the rows deleted from the target")
            && stderr.contains("left the subset since the last sync"),
        "{stderr}"
    );
    assert_eq!(
        read(&pair.target, Engine::Sqlite, INSIDE).await,
        read(&pair.source, Engine::Sqlite, INSIDE).await
    );
    assert_eq!(pair.target.count_where("orders", "id = 4").await, 0);
    assert_eq!(pair.source.count_where("orders", "id = 4").await, 1);

    let (output, report, stderr) = sync_json(dir, &["-c", &job]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert_eq!(report["totals"]["deleted_present_in_source"], 0);
    assert_eq!(report["totals"]["deleted"], 0);
    assert!(!stderr.contains("warning"), "{stderr}");
    pair.cleanup().await;
}
