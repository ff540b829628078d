//! What a run reports about itself: `--log-format json` event lines on stderr (in order, every
//! line JSON, never a password), `--json` totals and bytes moved, `--timings` per phase, and what
//! a failed table found before it failed.

use crate::common::{dbdelta, dbdelta_json, describe, table_report, Engine, Pair};
use serde_json::Value;
use sqlx::Connection;
use std::process::Output;
use std::time::{Duration, Instant};

const PHASES: [&str; 5] = ["introspect", "plan", "checksum", "narrow", "copy"];

/// Every stderr line, each of which must be a JSON object with `ts`, `level` and `event`.
fn events(output: &Output) -> Vec<Value> {
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(
        !text.contains('\u{1b}'),
        "no ANSI codes:\n{}",
        describe(output)
    );
    text.lines()
        .map(|line| {
            let event: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {line}\n{}", describe(output)));
            for field in ["ts", "level", "event"] {
                assert!(event[field].is_string(), "{field} missing: {line}");
            }
            let ts = event["ts"].as_str().unwrap_or_default();
            assert!(humantime::parse_rfc3339(ts).is_ok(), "ts is RFC 3339: {ts}");
            event
        })
        .collect()
}

fn names(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["event"].as_str().unwrap_or_default())
        .collect()
}

/// Two SQLite tables: `a` differs (changed, missing and extra rows), `b` is equal.
async fn sqlite_pair() -> Pair {
    let pair = Pair::new(Engine::Sqlite).await.expect("SQLite is embedded");
    pair.exec_both(
        "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT);
         CREATE TABLE b (id INTEGER PRIMARY KEY, v TEXT);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
         INSERT INTO a SELECT i, 'row ' || i FROM n;
         INSERT INTO b SELECT id, v FROM a WHERE id <= 100;",
    )
    .await;
    pair.target
        .exec(
            "UPDATE a SET v = 'stale' WHERE id % 50 = 0;
             DELETE FROM a WHERE id > 280;
             INSERT INTO a VALUES (1000, 'extra');",
        )
        .await;
    pair
}

fn job(pair: &Pair) -> String {
    pair.job_file(
        "[defaults]\nchunk_size = 50\n[[tables]]\nname = \"a\"\n[[tables]]\nname = \"b\"\n",
    )
    .to_str()
    .unwrap_or_default()
    .to_string()
}

#[tokio::test]
async fn json_log_is_one_event_per_line_in_run_order() {
    let pair = sqlite_pair().await;
    pair.source.exec("ALTER TABLE b ADD COLUMN note TEXT").await;
    let job = job(&pair);
    let output = dbdelta(
        pair.dir.path(),
        &["sync", "-c", &job, "--log-format", "json", "-v", "--json"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let events = events(&output);
    let names = names(&events);
    let copied = names.iter().filter(|n| **n == "chunk_copied").count();
    assert!(copied > 0, "-v adds chunk_copied events: {names:?}");
    let mut expected = vec!["run_started", "warning", "table_started"];
    expected.extend(std::iter::repeat_n("chunk_copied", copied));
    expected.extend([
        "table_finished",
        "table_started",
        "table_finished",
        "run_finished",
    ]);
    assert_eq!(names, expected);
    assert_eq!(events[0]["command"], "sync");
    assert_eq!(events[0]["tables"], 2);
    assert!(events[0]["source"]
        .as_str()
        .is_some_and(|s| s.contains("source.db")));
    assert_eq!(events[1]["table"], "b");
    assert_eq!(events[1]["level"], "warn");
    assert!(events[1]["message"]
        .as_str()
        .is_some_and(|m| m.contains("note")));
    assert_eq!(events[2]["table"], "a");
    let finished = &events[copied + 3];
    assert_eq!(finished["table"], "a");
    assert_eq!(finished["level"], "info");
    assert_eq!(finished["updated"], 5);
    assert!(
        finished["differences"].is_null(),
        "no key listings in events"
    );
    // The run's last event carries what `--json` puts on stdout.
    let report: Value = serde_json::from_slice(&output.stdout).expect("--json on stdout");
    let last = events.last().expect("events");
    assert_eq!(last["totals"], report["totals"]);
    assert_eq!(last["in_sync"], true);
    pair.cleanup().await;
}

#[tokio::test]
async fn quiet_json_log_keeps_only_errors() {
    let pair = sqlite_pair().await;
    let job = job(&pair);
    let output = dbdelta(
        pair.dir.path(),
        &["sync", "-c", &job, "--log-format", "json", "-q"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert_eq!(events(&output), Vec::<Value>::new());
    pair.exec_both("CREATE TABLE c (id INTEGER PRIMARY KEY, v TEXT)")
        .await;
    pair.target.exec("DROP TABLE c").await;
    let job = pair
        .job_file("[[tables]]\nname = \"c\"\n")
        .to_str()
        .unwrap_or_default()
        .to_string();
    let output = dbdelta(
        pair.dir.path(),
        &["diff", "-c", &job, "--log-format", "json", "-q"],
    );
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let events = events(&output);
    assert_eq!(names(&events), ["error"]);
    assert!(events[0]["message"]
        .as_str()
        .is_some_and(|m| m.contains("does not exist in the target")));
    pair.cleanup().await;
}

#[tokio::test]
async fn bad_job_file_or_command_line_with_json_log_is_one_error_event() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("sync.toml"), "[source\nurl = 1\n").expect("write job file");
    let output = dbdelta(dir.path(), &["sync", "--log-format", "json"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let found = events(&output);
    assert_eq!(names(&found), ["error"], "{}", describe(&output));
    assert_eq!(found[0]["level"], "error");
    assert!(found[0]["message"]
        .as_str()
        .is_some_and(|m| m.contains("sync.toml")));
    assert!(output.stdout.is_empty());

    let output = dbdelta(dir.path(), &["sync", "--log-format", "json", "--jobs", "0"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let events = events(&output);
    assert_eq!(names(&events), ["error"], "{}", describe(&output));
    assert!(events[0]["message"]
        .as_str()
        .is_some_and(|m| m.contains("--jobs")));
}

#[tokio::test]
async fn unreachable_server_error_event_hides_the_password() {
    let pair = sqlite_pair().await;
    let path = pair.dir.path().join("unreachable.toml");
    std::fs::write(
        &path,
        format!(
            "[source]\nurl = \"postgres://app:Sup3rSecret@127.0.0.1:1/app\"\n[target]\nurl = \"{}\"\n[[tables]]\nname = \"a\"\n",
            pair.target_url
        ),
    )
    .expect("write job file");
    let job = path.to_str().unwrap_or_default();
    let output = dbdelta(
        pair.dir.path(),
        &["diff", "-c", job, "--log-format", "json"],
    );
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let events = events(&output);
    assert_eq!(names(&events), ["run_started", "error"]);
    assert!(events[0]["source"]
        .as_str()
        .is_some_and(|s| s.contains("app:***@")));
    let text = describe(&output);
    assert!(!text.contains("Sup3rSecret"), "{text}");
    pair.cleanup().await;
}

#[tokio::test]
async fn json_totals_are_the_sums_of_the_tables_and_count_bytes_written() {
    let pair = sqlite_pair().await;
    let job = job(&pair);
    let dir = pair.dir.path();
    let (code, report) = dbdelta_json(dir, &["sync", "-c", &job]);
    assert_eq!(code, 0, "{report:#}");
    let totals = &report["totals"];
    let tables = report["tables"].as_array().expect("tables");
    for field in [
        "rows_source",
        "rows_target",
        "inserted",
        "updated",
        "deleted",
        "chunks",
        "chunks_differing",
        "bytes_read",
        "bytes_written",
        "bytes_from_source",
        "bytes_from_target",
    ] {
        let sum: u64 = tables.iter().filter_map(|t| t[field].as_u64()).sum();
        assert_eq!(
            totals[field].as_u64(),
            Some(sum),
            "totals.{field}: {report:#}"
        );
    }
    assert_eq!(totals["tables"], 2);
    assert_eq!(totals["tables_failed"], 0);
    assert_eq!(totals["inserted"], 20);
    assert_eq!(totals["updated"], 5);
    assert_eq!(totals["deleted"], 1);
    let a = table_report(&report, "a");
    assert!(a["bytes_read"].as_u64().is_some_and(|b| b > 0), "{a:#}");
    // SQLite rows are hashed in-process: every row of both sides is received.
    for side in ["bytes_from_source", "bytes_from_target"] {
        assert!(a[side].as_u64() > a["bytes_read"].as_u64(), "{side}: {a:#}");
    }
    assert!(a["bytes_written"].as_u64().is_some_and(|b| b > 0), "{a:#}");
    let b = table_report(&report, "b");
    assert_eq!(b["bytes_read"], 0);
    assert_eq!(b["bytes_written"], 0);

    // Everything is in sync now: nothing is read for copying, nothing written.
    for command in ["sync", "diff"] {
        let (code, report) = dbdelta_json(dir, &[command, "-c", &job]);
        assert_eq!(code, 0, "{report:#}");
        assert_eq!(report["totals"]["bytes_read"], 0, "{report:#}");
        assert_eq!(report["totals"]["bytes_written"], 0, "{report:#}");
        assert_eq!(report["totals"]["rows_source"], 400, "{report:#}");
    }
    pair.cleanup().await;
}

#[tokio::test]
async fn timings_show_every_phase_in_the_summary_and_json() {
    let pair = sqlite_pair().await;
    let job = job(&pair);
    let dir = pair.dir.path();
    let output = dbdelta(dir, &["diff", "-c", &job]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let plain = String::from_utf8_lossy(&output.stderr);
    assert!(
        !plain.contains("introspect"),
        "only with --timings: {plain}"
    );

    let output = dbdelta(dir, &["sync", "-c", &job, "--timings"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let summary = String::from_utf8_lossy(&output.stderr);
    for word in PHASES.iter().chain(&[
        "wall",
        "(run)",
        "summed across chunks",
        "from source",
        "from target",
    ]) {
        assert!(summary.contains(word), "summary lacks {word:?}:\n{summary}");
    }

    let (code, report) = dbdelta_json(dir, &["diff", "-c", &job]);
    assert_eq!(code, 0, "{report:#}");
    for timings in [&report["timings"], &table_report(&report, "a")["timings"]] {
        for phase in PHASES {
            assert!(
                timings[phase].as_f64().is_some_and(|s| s >= 0.0),
                "timings.{phase}: {report:#}"
            );
        }
    }
    assert!(report["timings"]["checksum"]
        .as_f64()
        .is_some_and(|s| s > 0.0));
    pair.cleanup().await;
}

/// PostgreSQL, with a password in the job file (the test server's trust authentication accepts
/// any): a chunk whose session is terminated while it waits for a row lock held by the test is
/// retried, and says so in a `chunk_retried` event; a chunk piped by `COPY` counts its bytes.
#[tokio::test]
async fn postgres_json_log_reports_a_retried_chunk_and_never_the_password() {
    let Some(pair) = Pair::new(Engine::Postgres).await else {
        return;
    };
    crate::common::new_and_old(&pair, 2000).await;
    pair.exec_both("CREATE TABLE fresh (id integer PRIMARY KEY, v text)")
        .await;
    pair.source
        .exec("INSERT INTO fresh SELECT i, 'row ' || i FROM generate_series(1, 500) AS i")
        .await;
    let with_password = |url: &str| {
        let mut url = url::Url::parse(url).expect("test URL");
        url.set_password(Some("Sup3rSecret"))
            .expect("URL takes a password");
        url.to_string()
    };
    let path = pair.dir.path().join("sync.toml");
    std::fs::write(
        &path,
        format!(
            "[source]\nurl = \"{}\"\n[target]\nurl = \"{}\"\n[defaults]\nchunk_size = 1000\n\
             [[tables]]\nname = \"t\"\n[[tables]]\nname = \"fresh\"\n",
            with_password(&pair.source_url),
            with_password(&pair.target_url)
        ),
    )
    .expect("write job file");
    // Row 1 is locked, so the first chunk's write waits for it until the test ends that session.
    let mut holder = sqlx::PgConnection::connect(&pair.target_url)
        .await
        .expect("connect");
    sqlx::raw_sql("BEGIN; SELECT id FROM t WHERE id = 1 FOR UPDATE")
        .execute(&mut holder)
        .await
        .expect("lock row 1");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_dbdelta"))
        .args([
            "sync",
            "-c",
            path.to_str().unwrap_or_default(),
            "--jobs",
            "1",
            "--log-format",
            "json",
            "--json",
        ])
        .current_dir(pair.dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start dbdelta");
    let waiting = "SELECT pid::text FROM pg_stat_activity \
                   WHERE datname = current_database() AND wait_event_type = 'Lock'";
    let started = Instant::now();
    while pair.target.rows(waiting).await.is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "dbdelta never waited for the locked row"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    pair.target
        .exec(&waiting.replace("pid::text", "pg_terminate_backend(pid)"))
        .await;
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut holder)
        .await
        .expect("release row 1");
    holder.close().await.expect("close");
    let output = child.wait_with_output().expect("dbdelta finishes");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let text = describe(&output);
    assert!(!text.contains("Sup3rSecret"), "{text}");
    let events = events(&output);
    let retried = events
        .iter()
        .find(|e| e["event"] == "chunk_retried")
        .unwrap_or_else(|| panic!("a chunk_retried event:\n{text}"));
    assert_eq!(retried["table"], "t");
    assert_eq!(retried["attempt"], 1);
    assert_eq!(retried["level"], "warn");
    assert!(retried["chunk"]
        .as_str()
        .is_some_and(|c| c.starts_with('[')));
    assert!(retried["reason"].as_str().is_some_and(|r| !r.is_empty()));
    assert!(events[0]["target"]
        .as_str()
        .is_some_and(|t| t.contains(":***@")));
    assert_eq!(pair.target.count_where("t", "v = 'old'").await, 0);
    let report: Value = serde_json::from_slice(&output.stdout).expect("--json on stdout");
    let fresh = table_report(&report, "fresh");
    assert_eq!(fresh["inserted"], 500);
    assert!(
        fresh["bytes_written"].as_u64().is_some_and(|b| b > 0),
        "{fresh:#}"
    );
    pair.cleanup().await;
}

/// A table whose writes fail part-way (a target foreign key to a table outside the job refuses
/// some rows) still reports what it found and wrote, and the error; the next table runs.
#[tokio::test]
async fn a_failed_table_reports_what_it_found_and_the_error() {
    let pair = Pair::new(Engine::Sqlite).await.expect("SQLite is embedded");
    pair.source
        .exec(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER, v TEXT);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 90)
             INSERT INTO orders SELECT i, i % 10, 'new ' || i FROM n;",
        )
        .await;
    // Customer 9 is missing on the target, so the source's orders of customer 9 cannot land.
    pair.target
        .exec(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY);
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 8)
             INSERT INTO customers SELECT i FROM n;
             CREATE TABLE orders (id INTEGER PRIMARY KEY,
                                  customer INTEGER REFERENCES customers (id), v TEXT);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)
             INSERT INTO orders SELECT i, i % 9, 'old ' || i FROM n;
             INSERT INTO orders SELECT id + 1000, customer, v FROM orders WHERE id <= 11;",
        )
        .await;
    pair.exec_both(
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, v TEXT);
         INSERT INTO notes VALUES (1, 'same');",
    )
    .await;
    pair.source
        .exec("INSERT INTO notes VALUES (2, 'new')")
        .await;
    let job = pair.job_file("[[tables]]\nname = \"orders\"\n[[tables]]\nname = \"notes\"\n");
    let job = job.to_str().unwrap_or_default();
    let dir = pair.dir.path();
    let (code, diff) = dbdelta_json(dir, &["diff", "-c", job]);
    assert_eq!(code, 1);
    let found = table_report(&diff, "orders");
    let counts = |t: &Value| {
        [
            "rows_source",
            "rows_target",
            "rows_only_in_source",
            "rows_only_in_target",
            "rows_changed",
        ]
        .map(|field| t[field].as_u64())
    };
    assert_eq!(
        counts(found),
        [Some(90), Some(51), Some(50), Some(11), Some(40)],
        "{found:#}"
    );

    let (code, report) = dbdelta_json(dir, &["sync", "-c", job]);
    assert_eq!(code, 2);
    let orders = table_report(&report, "orders");
    assert_eq!(counts(orders), counts(found), "{orders:#}");
    assert!(orders["chunks_differing"].as_u64() > Some(0), "{orders:#}");
    assert!(
        orders["error"]
            .as_str()
            .is_some_and(|e| e.contains("FOREIGN KEY constraint failed")),
        "{orders:#}"
    );
    assert_eq!(report["totals"]["tables_failed"], 1);
    assert_eq!(report["totals"]["rows_source"], 90 + 2);
    let written = ["inserted", "updated", "deleted"].map(|f| orders[f].as_u64().unwrap_or(0));
    assert_eq!(
        pair.target.count_where("orders", "v LIKE 'new%'").await as u64,
        written[0] + written[1],
        "what is reported as written is what the target holds: {orders:#}"
    );
    assert_eq!(table_report(&report, "notes")["inserted"], 1);
    assert_eq!(pair.target.count("notes").await, 2);

    let output = dbdelta(dir, &["sync", "-c", job]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "orders: FAILED; found 50 rows only in source, 11 only in target, 40 changed"
        ) && stderr.contains("FOREIGN KEY constraint failed"),
        "{}",
        describe(&output)
    );
    pair.cleanup().await;
}

/// Two tables in foreign key order, listed child first: the per-table lines and the summary
/// both follow the write order (parents first); the parent's deletions, held until its child is
/// written, are announced on its line and, with `-v`, told when applied (a JSON event too).
#[tokio::test]
async fn tables_are_told_in_write_order_and_held_deletions_with_verbose() {
    let pair = Pair::new(Engine::Sqlite).await.expect("SQLite is embedded");
    pair.exec_both(
        "CREATE TABLE owners (id INTEGER PRIMARY KEY, v TEXT);
         CREATE TABLE pets (id INTEGER PRIMARY KEY, owner INTEGER REFERENCES owners (id));
         INSERT INTO owners VALUES (1, 'a'), (2, 'b');
         INSERT INTO pets VALUES (1, 1), (2, 2);",
    )
    .await;
    let stale = "INSERT INTO owners VALUES (3, 'gone'); INSERT INTO pets VALUES (3, 3);";
    pair.target.exec(stale).await;
    let job = pair.job_file("[[tables]]\nname = \"pets\"\n[[tables]]\nname = \"owners\"\n");
    let job = job.to_str().unwrap_or_default();
    let dir = pair.dir.path();
    let output = dbdelta(dir, &["sync", "-c", job, "-v"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let at = |needle: &str| {
        stderr
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing:\n{stderr}"))
    };
    let owners = at("owners: 1 of 1 chunk differed; inserted 0, updated 0, deleted 0; 1 row to delete after the tables that reference it");
    let pets = at("pets: 1 of 1 chunk differed; inserted 0, updated 0, deleted 1");
    let held = at("owners: deleted 1 row held back for the tables that reference it");
    let summary_owners = at("│ owners");
    let summary_pets = at("│ pets");
    assert!(
        owners < pets && pets < held,
        "lines in write order:\n{stderr}"
    );
    assert!(
        held < summary_owners && summary_owners < summary_pets,
        "{stderr}"
    );
    assert_eq!(pair.target.count("owners").await, 2);

    // Without -v no held-deletion line; with JSON logs, an event (with -v).
    pair.target.exec(stale).await;
    let output = dbdelta(dir, &["sync", "-c", job]);
    assert!(!String::from_utf8_lossy(&output.stderr).contains("held back"));
    pair.target.exec(stale).await;
    let output = dbdelta(dir, &["sync", "-c", job, "-v", "--log-format", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let events = events(&output);
    let told: Vec<(&str, &str)> = events
        .iter()
        .filter_map(|e| Some((e["event"].as_str()?, e["table"].as_str()?)))
        .filter(|(event, _)| !["table_started", "chunk_copied"].contains(event))
        .collect();
    assert_eq!(
        told,
        [
            ("table_finished", "owners"),
            ("table_finished", "pets"),
            ("held_deletions_applied", "owners")
        ],
        "{}",
        describe(&output)
    );
    let finished = events
        .iter()
        .find(|e| e["event"] == "table_finished")
        .expect("owners");
    assert_eq!(finished["deletions_held"], 1);
    let applied = events
        .iter()
        .find(|e| e["event"] == "held_deletions_applied")
        .expect("event");
    assert_eq!(applied["deleted"], 1);
    assert_eq!(applied["level"], "debug");
    assert_eq!(pair.target.count("owners").await, 2);
    pair.cleanup().await;
}
