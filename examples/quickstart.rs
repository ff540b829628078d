//! Quickstart: a real dbdelta run on a fresh machine, no database server needed.
//!
//! Creates `quickstart/source.db` (SQLite, table `events` with 100,000 rows) and
//! `quickstart/target.db` (a copy in which some rows were changed, some deleted and some added),
//! writes the job file `quickstart/sync.toml`, and then runs the same library code as the
//! `dbdelta` binary: `diff` (what differs), `sync` (copy only that), and `diff` again (in sync).
//! Running it again starts over with fresh databases.
//!
//! ```text
//! cargo run --example quickstart
//! ```

use anyhow::{bail, Context, Result};
use dbdelta::{Command, Job, Overrides, Reporter, ReporterOptions, RunReport};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::path::Path;

const DIR: &str = "quickstart";

const JOB_FILE: &str = r#"# Written by `cargo run --example quickstart`; see sync.toml.example for every key.
[source]
url = "sqlite://source.db"   # relative paths are relative to this file

[target]
url = "sqlite://target.db"

[defaults]
chunk_size = 5000            # rows per checksummed chunk
jobs = 4                     # chunks compared and copied at once

[[tables]]
name = "events"
key = "id"                   # optional: the primary key is used when omitted
"#;

/// The source: 100,000 rows with NULLs, non-ASCII text, decimals, floats and booleans.
const SOURCE_SQL: &str = "
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    amount NUMERIC(12, 2),
    score REAL,
    payload TEXT,
    created_at TEXT,
    flag BOOLEAN
);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
INSERT INTO events
SELECT i, i % 997,
       CASE i % 4 WHEN 0 THEN 'view' WHEN 1 THEN 'click' WHEN 2 THEN 'purchase' ELSE 'refund' END,
       CASE WHEN i % 5 = 0 THEN NULL ELSE (i % 10000) / 100.0 END,
       (i * 7919 % 1000) / 8.0,
       CASE i % 10 WHEN 0 THEN NULL WHEN 1 THEN 'Grüße aus Zürich #' || i ELSE 'payload ' || i END,
       strftime('%Y-%m-%d %H:%M:%S', 1700000000 + i * 37, 'unixepoch'),
       i % 3 = 0
FROM n;
";

/// Turns the copy into a target that drifted: 60 rows changed, 5,000 missing (a whole chunk at
/// `chunk_size = 5000`, copied without narrowing), 255 extra below and above the source's keys.
const DRIFT_SQL: &str = "
UPDATE events SET amount = amount + 1 WHERE id BETWEEN 70001 AND 80000 AND id % 1000 = 7;
UPDATE events SET payload = 'geändert: ü' WHERE id BETWEEN 50001 AND 50050;
DELETE FROM events WHERE id BETWEEN 20001 AND 25000;
WITH RECURSIVE n(i) AS (SELECT -4 UNION ALL SELECT i + 1 FROM n WHERE i < 100250)
INSERT INTO events SELECT i, 0, 'stale', 1.5, 0.25, 'nur im Ziel: ü', NULL, 1 FROM n WHERE i <= 0 OR i > 100000;
";

fn main() -> Result<()> {
    let dir = Path::new(DIR);
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {DIR}/"))?;
    let (source, target) = (dir.join("source.db"), dir.join("target.db"));
    for db in [&source, &target].into_iter().filter(|db| db.exists()) {
        std::fs::remove_file(db).with_context(|| format!("cannot remove {}", db.display()))?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;

    eprintln!(
        "Creating {} with 100,000 rows in table events …",
        source.display()
    );
    runtime.block_on(execute(&source, SOURCE_SQL))?;
    eprintln!(
        "Copying it to {} and letting the copy drift (updates, deletes, extra rows) …",
        target.display()
    );
    std::fs::copy(&source, &target).context("cannot copy source.db to target.db")?;
    runtime.block_on(execute(&target, DRIFT_SQL))?;
    let job_path = dir.join("sync.toml");
    std::fs::write(&job_path, JOB_FILE)
        .with_context(|| format!("cannot write {}", job_path.display()))?;
    eprintln!("Wrote the job file {}.\n", job_path.display());

    let job = Job::load(&job_path, &Overrides::default())?;
    let reporter = Reporter::new(ReporterOptions::default());
    let step = |title: &str, command: Command| -> Result<RunReport> {
        eprintln!("{title}");
        let report = runtime.block_on(dbdelta::run(&job, command, &reporter))?;
        reporter.run_finished(&report, true);
        if let Some(failed) = report.tables.iter().find_map(|t| t.error.as_ref()) {
            bail!("a table failed: {failed}");
        }
        eprintln!();
        Ok(report)
    };

    step(
        "1. dbdelta diff: checksum both sides chunk by chunk, count what differs (writes nothing).",
        Command::Diff,
    )?;
    step(
        "2. dbdelta sync: copy only the differing rows, one target transaction per chunk.",
        Command::Sync,
    )?;
    let last = step(
        "3. dbdelta diff again: every chunk's checksum now matches.",
        Command::Diff,
    )?;
    if !last.in_sync {
        bail!("the target still differs from the source after sync");
    }

    eprintln!("Done. Now try it yourself (edit quickstart/target.db with any SQLite tool first):");
    eprintln!("  cargo run -- diff -c {DIR}/sync.toml");
    eprintln!("  cargo run -- sync -c {DIR}/sync.toml");
    Ok(())
}

/// Creates (if needed) the SQLite database at `path` and runs `sql` on it.
async fn execute(path: &Path, sql: &str) -> Result<()> {
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .connect()
        .await
        .with_context(|| format!("cannot open {}", path.display()))?;
    sqlx::raw_sql(sql)
        .execute(&mut conn)
        .await
        .with_context(|| format!("cannot fill {}", path.display()))?;
    conn.close().await?;
    Ok(())
}
