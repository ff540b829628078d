//! Two runs against the same target table cannot interleave: the second waits up to
//! `--lock-timeout`, then exits 2 with a clear message and writes nothing (PostgreSQL advisory
//! lock, MySQL `GET_LOCK`, a lock file beside a SQLite database).

use crate::common::{dbdelta, describe, Engine, Pair};
use dbdelta::{Db, DbUrl};
use std::time::Duration;

async fn overlapping_runs_wait_then_give_up(engine: Engine) {
    let Some(pair) = Pair::new(engine).await else {
        return;
    };
    let create = match engine {
        Engine::Sqlite => "CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT)",
        _ => "CREATE TABLE items (id integer PRIMARY KEY, v varchar(20))",
    };
    pair.exec_both(create).await;
    pair.source
        .exec("INSERT INTO items VALUES (1, 'a'), (2, 'b')")
        .await;
    let job = pair.job_file("[[tables]]\nname = \"items\"\n");
    let job = job.to_str().unwrap_or_default();

    // Another run holds the lock: this one is the library's own, taken as `sync` takes it.
    let url = DbUrl::parse(&pair.target_url, pair.dir.path()).expect("target URL");
    let other = Db::connect(&url, 2, false, std::time::Duration::from_secs(15))
        .await
        .expect("connect");
    let lock = other
        .lock_table(&other.quote_table("items"), Duration::from_secs(1))
        .await
        .expect("the first run gets the lock");
    let output = dbdelta(pair.dir.path(), &["sync", "-c", job, "--lock-timeout", "1"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("another dbdelta run is writing table"),
        "{stderr}"
    );
    assert_eq!(pair.target.count("items").await, 0, "nothing was written");

    lock.release().await;
    let output = dbdelta(pair.dir.path(), &["sync", "-c", job, "--lock-timeout", "1"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert_eq!(pair.target.count("items").await, 2);
    other.close().await;
    pair.cleanup().await;
}

#[tokio::test]
async fn postgres_runs_take_turns() {
    overlapping_runs_wait_then_give_up(Engine::Postgres).await;
}

#[tokio::test]
async fn mysql_runs_take_turns() {
    overlapping_runs_wait_then_give_up(Engine::MySql).await;
}

#[tokio::test]
async fn sqlite_runs_take_turns() {
    overlapping_runs_wait_then_give_up(Engine::Sqlite).await;
}

/// The lock file beside a SQLite target is gone after a run; a run that waited for it while
/// another held it (and removed it on release) still gets the lock and syncs.
#[tokio::test]
async fn sqlite_lock_file_is_removed_and_a_waiting_run_goes_on() {
    let pair = Pair::new(Engine::Sqlite).await.expect("SQLite is embedded");
    pair.exec_both("CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT)")
        .await;
    pair.source
        .exec("INSERT INTO items VALUES (1, 'a'), (2, 'b')")
        .await;
    let job = pair.job_file("[[tables]]\nname = \"items\"\n");
    let job = job.to_str().unwrap_or_default();
    let lock_files = || {
        std::fs::read_dir(pair.dir.path())
            .expect("read the test directory")
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".dbdelta-lock"))
            .collect::<Vec<_>>()
    };

    let output = dbdelta(pair.dir.path(), &["sync", "-c", job]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert_eq!(lock_files(), Vec::<String>::new());

    // Another run holds the lock; this one waits, then syncs once the other releases it.
    pair.source.exec("INSERT INTO items VALUES (3, 'c')").await;
    let url = DbUrl::parse(&pair.target_url, pair.dir.path()).expect("target URL");
    let other = Db::connect(&url, 2, false, Duration::from_secs(15))
        .await
        .expect("connect");
    let lock = other
        .lock_table(&other.quote_table("items"), Duration::from_secs(1))
        .await
        .expect("the first run gets the lock");
    let waiting = std::process::Command::new(env!("CARGO_BIN_EXE_dbdelta"))
        .args(["sync", "-c", job, "--lock-timeout", "30"])
        .current_dir(pair.dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start dbdelta");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(lock_files().len(), 1, "the lock is held");
    assert_eq!(pair.target.count("items").await, 2, "the waiting run waits");
    lock.release().await;
    let output = waiting.wait_with_output().expect("dbdelta finishes");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert_eq!(pair.target.count("items").await, 3);
    assert_eq!(lock_files(), Vec::<String>::new());
    other.close().await;
    pair.cleanup().await;
}
