//! A connection dropped mid-run (its session terminated from another session) is retried with
//! backoff, and the run completes with an exact target, never a false success. So is a chunk whose
//! transaction lost a deadlock to another chunk of the same run.

use crate::common::{describe, Conn, Engine, Pair};
use std::time::{Duration, Instant};

const ROWS: i64 = 20_000;

async fn dropped_connections_are_retried(engine: Engine) {
    let Some(pair) = Pair::new(engine).await else {
        return;
    };
    crate::common::new_and_old(&pair, ROWS).await;
    let job = pair.job_file("[[tables]]\nname = \"t\"\nchunk_size = 500\n");
    let job = job.to_str().unwrap_or_default().to_string();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_dbdelta"))
        .args(["sync", "-c", &job, "--jobs", "2", "--sleep", "20"])
        .current_dir(pair.dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start dbdelta");
    let started = Instant::now();
    while pair.target.count_where("t", "v = 'new'").await == 0
        && started.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Terminate every other session on both databases (dbdelta's among them: pooled target
    // connections and the source snapshots of chunks in flight), three times, so that some kills
    // land on a running statement, not only on idle pooled connections.
    for _ in 0..3 {
        terminate_other_sessions(&pair.source, engine).await;
        terminate_other_sessions(&pair.target, engine).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let output = child.wait_with_output().expect("dbdelta finishes");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    // Kills of idle pooled connections are healed by the pool; kills of running statements by
    // a retry of the chunk. Either way the target must end exact.
    if String::from_utf8_lossy(&output.stderr).contains("lost the connection") {
        eprintln!("a chunk was retried after its connection was killed");
    }
    assert_eq!(
        pair.target.count_where("t", "v = 'old'").await,
        0,
        "the target is complete"
    );
    assert_eq!(pair.target.count("t").await, ROWS);
    pair.cleanup().await;
}

async fn terminate_other_sessions(conn: &Conn, engine: Engine) {
    match engine {
        Engine::Postgres => {
            conn.exec(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            .await
        }
        _ => {
            let ids = conn
                .rows("SELECT CAST(id AS CHAR) FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()")
                .await;
            for id in ids.into_iter().filter_map(|r| r[0].clone()) {
                // A session may end on its own in between; that is fine.
                let _ = conn.try_exec(&format!("KILL {id}")).await;
            }
        }
    }
}

#[tokio::test]
async fn postgres_dropped_connections_are_retried() {
    dropped_connections_are_retried(Engine::Postgres).await;
}

#[tokio::test]
async fn mysql_dropped_connections_are_retried() {
    dropped_connections_are_retried(Engine::MySql).await;
}

/// Chunks of one table deleting and writing neighbouring keys at once deadlock now and then on
/// MariaDB (gap locks): such a chunk is rolled back and tried again, and every run succeeds.
#[tokio::test]
async fn chunks_that_lose_a_deadlock_are_tried_again_mariadb() {
    let Some(pair) = Pair::new(Engine::MySql).await else {
        return;
    };
    pair.exec_both(
        "CREATE TABLE pairs (a int NOT NULL, b int NOT NULL, v varchar(20), PRIMARY KEY (a, b))",
    )
    .await;
    let rows: Vec<String> = (0..1000)
        .map(|i| format!("({}, {}, 'v{i}')", i / 100, i % 100))
        .collect();
    let job = pair.job_file("[[tables]]\nname = \"pairs\"\nchunk_size = 100\n");
    let job = job.to_str().unwrap_or_default().to_string();
    for round in 0..6 {
        pair.exec_both("DELETE FROM pairs").await;
        pair.exec_both(&format!("INSERT INTO pairs VALUES {}", rows.join(", ")))
            .await;
        pair.source
            .exec(&format!("DELETE FROM pairs WHERE a = {}", 2 + round % 5))
            .await;
        pair.source
            .exec("UPDATE pairs SET v = 'changed' WHERE b % 7 = 0")
            .await;
        let output = crate::common::dbdelta(pair.dir.path(), &["sync", "-c", &job]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "round {round}: {}",
            describe(&output)
        );
        let read = |conn: &Conn| {
            let conn = conn.clone();
            async move {
                conn.rows("SELECT CAST(a AS CHAR), CAST(b AS CHAR), v FROM pairs ORDER BY a, b")
                    .await
            }
        };
        assert_eq!(
            read(&pair.source).await,
            read(&pair.target).await,
            "round {round}"
        );
    }
    pair.cleanup().await;
}
