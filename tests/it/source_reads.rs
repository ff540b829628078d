//! Reads from the source: a writer changing the source throughout a sync does not break it (each
//! chunk is compared and copied from one snapshot), the next run catches what changed, and the
//! source never sees more connections than `--source-connections` allows.

use crate::common::{describe, Conn, Engine, Pair};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const ROWS: i64 = 20_000;

/// `t (id, n, v)` with ids 1..=ROWS on both sides; the target's `v` is stale everywhere.
async fn seed(pair: &Pair) {
    pair.exec_both("CREATE TABLE t (id integer PRIMARY KEY, n integer NOT NULL, v varchar(20))")
        .await;
    for (conn, v) in [(&pair.source, "new"), (&pair.target, "old")] {
        for start in (1..=ROWS).step_by(5000) {
            let values: Vec<String> = (start..(start + 5000).min(ROWS + 1))
                .map(|i| format!("({i}, {}, '{v}')", i % 7))
                .collect();
            conn.exec(&format!("INSERT INTO t VALUES {}", values.join(", ")))
                .await;
        }
    }
}

/// Updates, inserts and deletes rows all over the source until `stop`, counting the rounds.
async fn write_until(source: Conn, stop: Arc<AtomicBool>, rounds: Arc<AtomicU64>) {
    let mut round: i64 = 0;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let statements = format!(
            "UPDATE t SET n = n + 1, v = 'w{round}' WHERE id % 211 = {};\
             INSERT INTO t VALUES ({}, 0, 'added');\
             DELETE FROM t WHERE id = {}",
            round % 211,
            ROWS + round,
            (round * 37) % ROWS + 1
        );
        // A busy SQLite file may refuse a write now and then; the next round goes on.
        let _ = source.try_exec(&statements).await;
        rounds.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn all_rows(conn: &Conn) -> Vec<Vec<Option<String>>> {
    conn.rows("SELECT CAST(id AS CHAR(20)), CAST(n AS CHAR(20)), v FROM t ORDER BY id")
        .await
}

async fn writes_during_a_sync_are_caught_by_the_next_run(engine: Engine) {
    let Some(pair) = Pair::new(engine).await else {
        return;
    };
    seed(&pair).await;
    pair.job_file("[[tables]]\nname = \"t\"\nchunk_size = 500\n");
    let stop = Arc::new(AtomicBool::new(false));
    let rounds = Arc::new(AtomicU64::new(0));
    let writer = tokio::spawn(write_until(
        pair.source.clone(),
        stop.clone(),
        rounds.clone(),
    ));
    // The writer is under way before the sync starts and still going when it ends.
    while rounds.load(Ordering::Relaxed) < 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let before = rounds.load(Ordering::Relaxed);
    let dir = pair.dir.path().to_path_buf();
    let during = tokio::task::spawn_blocking(move || {
        crate::common::dbdelta(&dir, &["sync", "--jobs", "4", "--sleep", "10"])
    })
    .await
    .expect("dbdelta runs");
    let after = rounds.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    writer.await.expect("writer stops");
    assert_eq!(during.status.code(), Some(0), "{}", describe(&during));
    assert!(after > before, "the source changed while the sync ran");

    let after = crate::common::dbdelta(pair.dir.path(), &["sync"]);
    assert_eq!(after.status.code(), Some(0), "{}", describe(&after));
    assert_eq!(all_rows(&pair.source).await, all_rows(&pair.target).await);
    let diff = crate::common::dbdelta(pair.dir.path(), &["diff"]);
    assert_eq!(diff.status.code(), Some(0), "{}", describe(&diff));
    pair.cleanup().await;
}

#[tokio::test]
async fn postgres_writes_during_a_sync_are_caught_by_the_next_run() {
    writes_during_a_sync_are_caught_by_the_next_run(Engine::Postgres).await;
}

#[tokio::test]
async fn mysql_writes_during_a_sync_are_caught_by_the_next_run() {
    writes_during_a_sync_are_caught_by_the_next_run(Engine::MySql).await;
}

#[tokio::test]
async fn sqlite_writes_during_a_sync_are_caught_by_the_next_run() {
    writes_during_a_sync_are_caught_by_the_next_run(Engine::Sqlite).await;
}

/// Sessions on the source database: dbdelta's on PostgreSQL (by application name); on MySQL
/// every other session, the test's own idle ones included.
async fn source_sessions(pair: &Pair) -> i64 {
    let sql = match pair.engine {
        Engine::Postgres => {
            "SELECT CAST(count(*) AS text) FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = 'dbdelta'"
        }
        _ => {
            "SELECT CAST(count(*) AS CHAR) FROM information_schema.processlist \
             WHERE db = DATABASE() AND id <> CONNECTION_ID()"
        }
    };
    let rows = pair.source.rows(sql).await;
    rows.first()
        .and_then(|r| r[0].as_deref())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

async fn source_connections_are_bounded(engine: Engine) {
    let Some(pair) = Pair::new(engine).await else {
        return;
    };
    seed(&pair).await;
    let job = format!(
        "[source]\nurl = \"{}\"\nmax_connections = 2\n[target]\nurl = \"{}\"\n\
         [[tables]]\nname = \"t\"\nchunk_size = 500\n",
        pair.source_url, pair.target_url
    );
    std::fs::write(pair.dir.path().join("sync.toml"), job).expect("write job file");
    let dir = pair.dir.path().to_path_buf();
    let before = source_sessions(&pair).await;
    let run = tokio::task::spawn_blocking(move || {
        crate::common::dbdelta(&dir, &["sync", "--jobs", "8", "--sleep", "5"])
    });
    let mut most = 0;
    while !run.is_finished() {
        most = most.max(source_sessions(&pair).await - before);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let output = run.await.expect("dbdelta runs");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(most >= 1, "dbdelta was seen on the source");
    assert!(most <= 2, "{most} source connections, at most 2 allowed");
    assert_eq!(all_rows(&pair.source).await, all_rows(&pair.target).await);
    pair.cleanup().await;
}

#[tokio::test]
async fn postgres_source_connections_are_bounded() {
    source_connections_are_bounded(Engine::Postgres).await;
}

#[tokio::test]
async fn mysql_source_connections_are_bounded() {
    source_connections_are_bounded(Engine::MySql).await;
}
