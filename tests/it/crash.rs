//! Killing `sync` part-way (SIGKILL) leaves every chunk either as it was or fully synced, never
//! half-applied; the next run finishes the job.

use crate::common::{describe, Engine, Pair};
use std::time::{Duration, Instant};

const ROWS: i64 = 20_000;
const CHUNK: i64 = 500;

async fn killed_sync_leaves_whole_chunks(engine: Engine) {
    let Some(pair) = Pair::new(engine).await else {
        return;
    };
    crate::common::new_and_old(&pair, ROWS).await;
    let job = pair.job_file(&format!("[[tables]]\nname = \"t\"\nchunk_size = {CHUNK}\n"));
    let job = job.to_str().unwrap_or_default().to_string();
    let args = ["sync", "-c", &job, "-q", "--jobs", "2", "--sleep", "200"];
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dbdelta"))
        .args(args)
        .current_dir(pair.dir.path())
        .spawn()
        .expect("start dbdelta");
    // Kill as soon as some chunks are written, while others are still in flight.
    let started = Instant::now();
    loop {
        let done = pair.target.count_where("t", "v = 'new'").await;
        if done > 0 || started.elapsed() > Duration::from_secs(60) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();

    let per_chunk = match engine {
        Engine::Postgres => format!(
            "SELECT ((id - 1) / {CHUNK})::text, SUM(CASE WHEN v = 'new' THEN 1 ELSE 0 END)::text, \
             COUNT(*)::text FROM t GROUP BY (id - 1) / {CHUNK}"
        ),
        Engine::MySql => format!(
            "SELECT CAST((id - 1) DIV {CHUNK} AS CHAR), CAST(SUM(v = 'new') AS CHAR), CAST(COUNT(*) AS CHAR) \
             FROM t GROUP BY (id - 1) DIV {CHUNK}"
        ),
        Engine::Sqlite => format!(
            "SELECT (id - 1) / {CHUNK}, SUM(v = 'new'), COUNT(*) FROM t GROUP BY (id - 1) / {CHUNK}"
        ),
    };
    let chunks = pair.target.rows(&per_chunk).await;
    let (mut whole_new, mut whole_old) = (0, 0);
    for chunk in &chunks {
        let n = |i: usize| {
            chunk[i]
                .clone()
                .unwrap_or_default()
                .trim_start_matches("i:")
                .parse::<i64>()
                .unwrap_or(-1)
        };
        let (new, total) = (n(1), n(2));
        assert_eq!(total, CHUNK, "chunk {:?} lost or gained rows", chunk[0]);
        assert!(
            new == 0 || new == CHUNK,
            "chunk {:?} is half-applied: {new} of {total} rows new",
            chunk[0]
        );
        if new == CHUNK {
            whole_new += 1
        } else {
            whole_old += 1
        }
    }
    assert!(
        whole_new > 0 && whole_old > 0,
        "the kill came part-way ({whole_new} chunks new, {whole_old} old)"
    );

    let output = crate::common::dbdelta(pair.dir.path(), &["sync", "-c", &job]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert_eq!(
        pair.target.count_where("t", "v = 'old'").await,
        0,
        "the re-run finished the job"
    );
    pair.cleanup().await;
}

#[tokio::test]
async fn postgres_killed_sync_leaves_whole_chunks() {
    killed_sync_leaves_whole_chunks(Engine::Postgres).await;
}

#[tokio::test]
async fn mysql_killed_sync_leaves_whole_chunks() {
    killed_sync_leaves_whole_chunks(Engine::MySql).await;
}

#[tokio::test]
async fn sqlite_killed_sync_leaves_whole_chunks() {
    killed_sync_leaves_whole_chunks(Engine::Sqlite).await;
}
