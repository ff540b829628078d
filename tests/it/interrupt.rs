//! Stopping `sync` with Ctrl-C (SIGINT) or SIGTERM part-way: the chunks in flight finish, no new
//! one starts, the partial report says it was interrupted, the exit code is 130 or 143, and the
//! target holds whole chunks only, each either equal to the source or untouched; the next run
//! finishes the job. A second signal exits at once, and the servers roll back what was in flight.

use crate::common::{dbdelta, describe, Engine, Pair};
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

const ROWS: i64 = 200_000;
const CHUNK: i64 = 1_000;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Log {
    Text,
    Json,
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        _ => "another signal",
    }
}

fn send(child: &Child, signal: i32) {
    let pid = libc::pid_t::try_from(child.id()).expect("pid fits");
    // SAFETY: kill(2) with the id of our own child process and a valid signal number.
    let sent = unsafe { libc::kill(pid, signal) };
    assert_eq!(sent, 0, "kill({pid}, {signal})");
}

/// Starts `dbdelta sync` on `t` with a pause after every chunk, so it runs long enough.
fn start_sync(pair: &Pair, job: &str, log: Log, extra: &[&str]) -> Child {
    let log = match log {
        Log::Text => "text",
        Log::Json => "json",
    };
    let mut args = vec![
        "sync",
        "-c",
        job,
        "--jobs",
        "2",
        "--sleep",
        "100",
        "--json",
        "--log-format",
        log,
    ];
    args.extend_from_slice(extra);
    std::process::Command::new(env!("CARGO_BIN_EXE_dbdelta"))
        .args(&args)
        .current_dir(pair.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dbdelta")
}

/// Waits until some chunks are written (`v = 'new'` rows in the target).
async fn wait_for_written_chunks(pair: &Pair) {
    let started = Instant::now();
    while pair.target.count_where("t", "v = 'new'").await == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no chunk was written within two minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `(id, v)` of every row, as `(i64, text)`, read with the engine's own client.
async fn id_and_value(conn: &crate::common::Conn, engine: Engine) -> BTreeMap<i64, String> {
    let sql = match engine {
        Engine::Postgres => "SELECT id::text, v FROM t",
        Engine::MySql => "SELECT CAST(id AS CHAR), v FROM t",
        Engine::Sqlite => "SELECT id, v FROM t",
    };
    let strip = |text: Option<String>| -> String {
        let text = text.unwrap_or_default();
        match text.split_once(':') {
            Some(("i" | "t", rest)) if engine == Engine::Sqlite => rest.to_string(),
            _ => text,
        }
    };
    conn.rows(sql)
        .await
        .into_iter()
        .map(|row| {
            let mut row = row.into_iter();
            let id = strip(row.next().flatten()).parse().expect("id is a number");
            (id, strip(row.next().flatten()))
        })
        .collect()
}

/// Reads both sides back and checks that every chunk of the target is either equal to the
/// source or as it was before the run (`'old'` everywhere); returns how many are equal.
async fn whole_chunks(pair: &Pair) -> i64 {
    let source = id_and_value(&pair.source, pair.engine).await;
    let target = id_and_value(&pair.target, pair.engine).await;
    assert_eq!(source.len(), ROWS as usize);
    assert_eq!(
        target.len(),
        ROWS as usize,
        "the target lost or gained rows"
    );
    let (mut equal, mut untouched) = (0, 0);
    for chunk in 0..ROWS / CHUNK {
        let ids = chunk * CHUNK + 1..=(chunk + 1) * CHUNK;
        let now: Vec<(&i64, &String)> = target.range(ids.clone()).collect();
        let wanted: Vec<(&i64, &String)> = source.range(ids.clone()).collect();
        if now == wanted {
            equal += 1;
        } else if now.iter().all(|(_, v)| v.as_str() == "old") && now.len() == CHUNK as usize {
            untouched += 1;
        } else {
            let new = now.iter().filter(|(_, v)| v.as_str() == "new").count();
            panic!("chunk {chunk} ({ids:?}) is half written: {new} of {CHUNK} rows new");
        }
    }
    assert_eq!(equal + untouched, ROWS / CHUNK);
    equal
}

/// Every stderr line of a `--log-format json` run, parsed.
fn events(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {line}\n{}", describe(output)))
        })
        .collect()
}

/// After the stop the next run converges: `sync` then `diff` both exit 0.
async fn rerun_converges(pair: &Pair, job: &str) {
    let output = dbdelta(pair.dir.path(), &["sync", "-c", job, "-q"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let output = dbdelta(pair.dir.path(), &["diff", "-c", job, "-q"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert_eq!(pair.target.count_where("t", "v = 'old'").await, 0);
}

async fn stopped_sync_finishes_the_chunks_in_flight(engine: Engine, signal: i32, log: Log) {
    let Some(pair) = Pair::new(engine).await else {
        return;
    };
    crate::common::new_and_old(&pair, ROWS).await;
    let job = pair.job_file(&format!("[[tables]]\nname = \"t\"\nchunk_size = {CHUNK}\n"));
    let job = job.to_str().unwrap_or_default().to_string();
    let child = start_sync(&pair, &job, log, &[]);
    wait_for_written_chunks(&pair).await;
    send(&child, signal);
    let output = child.wait_with_output().expect("dbdelta ends");
    let name = signal_name(signal);

    let code = if signal == libc::SIGINT { 130 } else { 143 };
    assert_eq!(output.status.code(), Some(code), "{}", describe(&output));
    let message = "finishing the chunks in flight, starting no new ones";
    match log {
        Log::Text => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let line = format!("interrupted ({name}): {message}");
            assert!(
                stderr.lines().any(|l| l == line),
                "{line:?} missing\n{}",
                describe(&output)
            );
        }
        Log::Json => {
            let events = events(&output);
            let stopped = events
                .iter()
                .find(|e| e["event"] == "interrupted")
                .unwrap_or_else(|| panic!("no interrupted event\n{}", describe(&output)));
            assert_eq!(stopped["signal"], name);
            assert_eq!(stopped["message"], message);
            let last = events.last().expect("events");
            assert_eq!(last["event"], "run_finished", "{}", describe(&output));
            assert_eq!(last["interrupted"], true);
            assert_eq!(last["signal"], name);
            assert_eq!(last["in_sync"], false);
        }
    }
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{}", describe(&output)));
    assert_eq!(report["interrupted"], true, "{report:#}");
    assert_eq!(report["signal"], name);
    let table = crate::common::table_report(&report, "t");
    assert_eq!(table["interrupted"], true, "{table:#}");
    let (compared, chunks) = (table["chunks_compared"].as_i64(), table["chunks"].as_i64());
    assert!(
        compared.unwrap_or(0) > 0 && compared < chunks,
        "the stop came part-way: {compared:?} of {chunks:?} chunks"
    );

    // Every chunk compared was written whole and reported; no other chunk was touched.
    let equal = whole_chunks(&pair).await;
    assert_eq!(Some(equal), compared, "chunks written = chunks reported");
    assert_eq!(
        report["totals"]["updated"].as_i64(),
        Some(equal * CHUNK),
        "rows written = rows reported"
    );
    rerun_converges(&pair, &job).await;
    pair.cleanup().await;
}

#[tokio::test]
async fn postgres_ctrl_c_finishes_the_chunks_in_flight_and_exits_130() {
    stopped_sync_finishes_the_chunks_in_flight(Engine::Postgres, libc::SIGINT, Log::Json).await;
}

#[tokio::test]
async fn postgres_sigterm_finishes_the_chunks_in_flight_and_exits_143() {
    stopped_sync_finishes_the_chunks_in_flight(Engine::Postgres, libc::SIGTERM, Log::Text).await;
}

#[tokio::test]
async fn mysql_ctrl_c_finishes_the_chunks_in_flight_and_exits_130() {
    stopped_sync_finishes_the_chunks_in_flight(Engine::MySql, libc::SIGINT, Log::Json).await;
}

#[tokio::test]
async fn sqlite_ctrl_c_finishes_the_chunks_in_flight_and_exits_130() {
    stopped_sync_finishes_the_chunks_in_flight(Engine::Sqlite, libc::SIGINT, Log::Text).await;
}

#[tokio::test]
async fn sqlite_sigterm_finishes_the_chunks_in_flight_and_exits_143() {
    stopped_sync_finishes_the_chunks_in_flight(Engine::Sqlite, libc::SIGTERM, Log::Json).await;
}

/// `--defer-constraints` writes the whole run in one transaction: stopped, it rolls back, says
/// so, and leaves the target as it was.
#[tokio::test]
async fn sqlite_stopped_deferred_run_rolls_back_everything() {
    let pair = Pair::new(Engine::Sqlite).await.expect("SQLite is embedded");
    crate::common::new_and_old(&pair, ROWS).await;
    let job = pair.job_file(&format!("[[tables]]\nname = \"t\"\nchunk_size = {CHUNK}\n"));
    let job = job.to_str().unwrap_or_default().to_string();
    let mut child = start_sync(&pair, &job, Log::Json, &["--defer-constraints", "-v"]);
    // Nothing is visible in the target before the commit: `-v` logs every chunk written.
    let stderr = child.stderr.take().expect("piped stderr");
    let (lines, seen) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines.send(line);
        }
    });
    let mut log = Vec::new();
    while !log.iter().any(|l: &String| l.contains("\"chunk_copied\"")) {
        let line = seen
            .recv_timeout(Duration::from_secs(120))
            .expect("a chunk is written within two minutes");
        log.push(line);
    }
    send(&child, libc::SIGINT);
    let output = child.wait_with_output().expect("dbdelta ends");
    reader.join().expect("stderr read");
    log.extend(seen.try_iter());
    let output = Output {
        stderr: log.join("\n").into_bytes(),
        ..output
    };
    assert_eq!(output.status.code(), Some(130), "{}", describe(&output));
    let events = events(&output);
    assert!(
        events.iter().any(|e| e["event"] == "run_rolled_back"),
        "{}",
        describe(&output)
    );
    let last = events.last().expect("events");
    assert_eq!(last["event"], "run_finished");
    assert_eq!(last["interrupted"], true);
    assert_eq!(last["rolled_back"], true);
    assert_eq!(last["totals"]["updated"], 0, "nothing was written");
    let report: Value = serde_json::from_slice(&output.stdout).expect("--json");
    let table = crate::common::table_report(&report, "t");
    assert!(table["chunks_compared"].as_i64() > Some(0), "{table:#}");
    assert_eq!(whole_chunks(&pair).await, 0, "the target is as it was");
    rerun_converges(&pair, &job).await;
    pair.cleanup().await;
}

/// A chunk whose write waits on a row lock keeps a stopped run alive (it is never cut in half);
/// a second Ctrl-C exits at once, and the server rolls the chunk back.
#[tokio::test]
async fn postgres_second_ctrl_c_exits_at_once_and_the_chunk_in_flight_rolls_back() {
    let Some(pair) = Pair::new(Engine::Postgres).await else {
        return;
    };
    crate::common::new_and_old(&pair, ROWS).await;
    let crate::common::Conn::Pg(pool) = &pair.target else {
        unreachable!("a PostgreSQL pair")
    };
    // Holds the first chunk's rows, so its write waits.
    let mut blocker = pool.begin().await.expect("begin");
    sqlx::query(&format!("SELECT id FROM t WHERE id <= {CHUNK} FOR UPDATE"))
        .execute(&mut *blocker)
        .await
        .expect("lock the first chunk's rows");
    let job = pair.job_file(&format!("[[tables]]\nname = \"t\"\nchunk_size = {CHUNK}\n"));
    let job = job.to_str().unwrap_or_default().to_string();
    let mut child = start_sync(&pair, &job, Log::Json, &[]);
    wait_for_written_chunks(&pair).await;
    send(&child, libc::SIGINT);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        child.try_wait().expect("poll dbdelta").is_none(),
        "a stopped run waits for its chunk in flight"
    );
    send(&child, libc::SIGINT);
    let started = Instant::now();
    let output = child.wait_with_output().expect("dbdelta ends");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "exited at once"
    );
    assert_eq!(output.status.code(), Some(130), "{}", describe(&output));
    let events = events(&output);
    let aborted = events
        .iter()
        .find(|e| e["event"] == "aborted")
        .unwrap_or_else(|| panic!("no aborted event\n{}", describe(&output)));
    assert_eq!(aborted["signal"], "SIGINT");
    // The aborted session's write, unblocked now, dies with its connection uncommitted.
    blocker.rollback().await.expect("release the rows");
    assert!(
        whole_chunks(&pair).await > 0,
        "chunks before the stop were written"
    );
    let first_chunk = pair
        .target
        .count_where("t", &format!("id <= {CHUNK} AND v = 'new'"))
        .await;
    assert_eq!(first_chunk, 0, "the chunk in flight was rolled back");
    rerun_converges(&pair, &job).await;
    pair.cleanup().await;
}
