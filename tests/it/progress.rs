//! Progress while a run goes, without a terminal (as under cron or CI): a plain line per running
//! table every `--progress-interval` seconds, a `progress` event with `--log-format json`,
//! nothing with `-q` or an interval of 0.

use crate::common::{dbdelta, describe, Engine, Pair};
use serde_json::Value;

/// A SQLite table of 2,000 rows, all missing from the target, in 20 chunks: with one chunk at
/// a time and `--sleep 150` the sync lasts about three seconds.
async fn slow_pair() -> (Pair, String) {
    let pair = Pair::new(Engine::Sqlite).await.expect("SQLite is embedded");
    pair.exec_both("CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT)")
        .await;
    pair.source
        .exec(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
             INSERT INTO a SELECT i, 'row ' || i FROM n",
        )
        .await;
    // A first row on the target, so that chunks are compared rather than only copied.
    pair.target.exec("INSERT INTO a VALUES (1, 'row 1')").await;
    let job = pair.job_file("[defaults]\nchunk_size = 100\n[[tables]]\nname = \"a\"\n");
    let job = job.to_str().unwrap_or_default().to_string();
    (pair, job)
}

fn slow_sync<'a>(job: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["sync", "-c", job, "--jobs", "1", "--sleep", "150"];
    args.extend(more);
    args
}

#[tokio::test]
async fn without_a_terminal_a_running_table_prints_progress_lines() {
    let (pair, job) = slow_pair().await;
    let dir = pair.dir.path();
    let output = dbdelta(dir, &slow_sync(&job, &["--progress-interval", "1"]));
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("progress: a: "))
        .collect();
    assert!(lines.len() >= 2, "a line every second:\n{stderr}");
    for line in &lines {
        assert!(
            line.contains(" of 20 chunks, ")
                && line.contains("rows compared, ")
                && line.contains(" copied, ")
                && line.contains(" rows/s, ")
                && line.contains(" elapsed")
                && line.contains("; run: table 1 of 1, "),
            "{line}"
        );
    }
    let last = lines.last().copied().unwrap_or_default();
    assert!(last.contains("left"), "{last}");
    assert!(
        !stderr.contains('\u{1b}'),
        "no bars or colours without a terminal:\n{stderr}"
    );
    // The table's own line still ends it.
    assert!(
        stderr.contains("a: 20 of 20 chunks differed; inserted 1999"),
        "{stderr}"
    );

    // Interval 0 and -q: no progress lines.
    pair.target.exec("DELETE FROM a WHERE id > 1").await;
    for quiet in [
        &["--progress-interval", "0"][..],
        &["-q", "--progress-interval", "1"],
    ] {
        let output = dbdelta(dir, &slow_sync(&job, quiet));
        assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("progress:"), "{quiet:?}:\n{stderr}");
        pair.target.exec("DELETE FROM a WHERE id > 1").await;
    }
    pair.cleanup().await;
}

#[tokio::test]
async fn json_log_has_progress_events_at_the_interval() {
    let (pair, job) = slow_pair().await;
    let output = dbdelta(
        pair.dir.path(),
        &slow_sync(&job, &["--progress-interval", "1", "--log-format", "json"]),
    );
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let events: Vec<Value> = String::from_utf8_lossy(&output.stderr)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let progress: Vec<&Value> = events.iter().filter(|e| e["event"] == "progress").collect();
    assert!(progress.len() >= 2, "{}", describe(&output));
    let names: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    let first = names.iter().position(|n| *n == "progress");
    let started = names.iter().position(|n| *n == "table_started");
    let finished = names.iter().position(|n| *n == "table_finished");
    assert!(started < first && first < finished, "{names:?}");
    let mut compared = 0;
    for event in progress {
        assert_eq!(event["level"], "info");
        assert_eq!(event["table"], "a");
        assert_eq!(event["chunks"], 20, "{event}");
        let done = event["chunks_done"].as_u64().expect("chunks_done");
        assert!(done <= 20, "{event}");
        let rows = event["rows_compared"].as_u64().expect("rows_compared");
        assert!(rows >= compared, "counts only grow: {event}");
        compared = rows;
        assert!(event["rows_copied"].is_u64(), "{event}");
        assert!(event["rows_per_second"].is_f64(), "{event}");
        assert!(event["elapsed_seconds"].as_f64() >= Some(1.0), "{event}");
        assert_eq!(event["run"]["tables"], 1, "{event}");
        assert!(
            event["run"]["rows_compared"].as_u64() >= Some(rows),
            "{event}"
        );
    }
    assert!(compared > 0);
    pair.cleanup().await;
}
