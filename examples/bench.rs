//! The dbdelta benchmark: dbdelta against baselines measured in the same run, so that ratios, not
//! absolute times, carry over between machines.
//!
//! ```text
//! cargo run --release --example bench -- --engine postgres --rows 2000000
//! cargo run --release --example bench -- --engine mysql --rows 500000 --scenarios A,B
//! cargo run --release --example bench -- --engine postgres --sizes 500000,2000000
//! ```
//!
//! The workload is the reference one of `shared/bench` (`make_*.sql`, `mutate_*.sql`), embedded
//! below with the row count as a parameter: table `events`, 8 columns, about 150 bytes a row,
//! bigint primary key. The bench creates the databases `dbdelta_bench_src` and
//! `dbdelta_bench_dst` on the server (dropping them first if they exist) and drops them at the
//! end. It drives the servers with their own command-line clients (`psql`, `pg_dump`; `mariadb`,
//! `mysqldump`), which must be on `PATH`.
//!
//! Scenarios (each starts from a target equal to the source):
//!
//! - **A** identical tables.
//! - **B** about 1% spread changes: the reference `mutate_*.sql` on the source (every 200th row
//!   updated, every 500th deleted, 0.1% new keys).
//! - **C** 0.1% clustered at the newest keys: the highest 0.1% of keys updated on the source and
//!   0.1% new keys appended above them.
//! - **D** first load: the target table emptied.
//!
//! In each scenario the bench times, in this order: `dbdelta diff` (compare only, A–C), the peers
//! `reladiff` and `pt-table-sync --print` if installed (compare only, A–C), `dbdelta sync`, then a
//! full copy of the table (`pg_dump | psql` or `mysqldump | mariadb`, into a dropped target table)
//! and a one-side hash scan of the source (one query summing an MD5-derived hash of every row).
//! After the sync, `dbdelta diff` must exit 0 and both sides must have the same row count.
//!
//! Every timed command is a child process: wall time is from its start to its exit, and peak RSS
//! is the largest resident set of the client processes only (from `/usr/bin/time -f %M` where
//! installed, otherwise by polling `VmHWM` in `/proc/PID/status` every 20 ms); database server
//! memory is not included. On PostgreSQL the bench also reads `pg_stat_database` before and after
//! each command for the rows the source server read and the rows the target server wrote; MariaDB
//! has no per-database counters without changing server settings, so those columns say `n/a`.

use anyhow::{anyhow, bail, ensure, Context, Result};
use clap::{Parser, ValueEnum};
use comfy_table::{presets::ASCII_MARKDOWN, CellAlignment, Table};
use serde::Deserialize;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};
use url::Url;

const SRC_DB: &str = "dbdelta_bench_src";
const DST_DB: &str = "dbdelta_bench_dst";
const GNU_TIME: &str = "/usr/bin/time";
const RSS_POLL: Duration = Duration::from_millis(20);

/// The goals of the benchmark issue: dbdelta's time divided by a baseline's, at most this.
const GOAL_A_VS_SCAN: f64 = 1.5;
const GOAL_B_VS_COPY: f64 = 1.0;
const GOAL_B_WRITTEN_VS_DIFFERING: f64 = 1.1;
const GOAL_C_VS_COPY: f64 = 0.3;
const GOAL_D_VS_COPY: f64 = 1.2;

#[derive(Parser, Debug)]
#[command(about = "Benchmark dbdelta against a full copy and a one-side hash scan, in one run")]
struct Options {
    /// The database server to use.
    #[arg(long, value_enum, default_value = "postgres")]
    engine: Engine,
    /// Rows in the source table.
    #[arg(long, default_value_t = 2_000_000, value_parser = clap::value_parser!(u64).range(1000..))]
    rows: u64,
    /// Scenarios to run, in this order.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        ignore_case = true,
        default_value = "A,B,C,D"
    )]
    scenarios: Vec<Scenario>,
    /// Run only scenario B, once at each of these sizes (instead of --rows and --scenarios).
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u64).range(1000..))]
    sizes: Vec<u64>,
    /// Passed to dbdelta as --jobs (default: dbdelta's own).
    #[arg(long)]
    jobs: Option<u64>,
    /// Passed to dbdelta as --chunk-size (default: dbdelta's own).
    #[arg(long)]
    chunk_size: Option<u64>,
    /// A server URL with a database to connect to for administration (default: the test URL,
    /// $DBDELTA_TEST_PG_URL or $DBDELTA_TEST_MYSQL_URL, or the local server).
    #[arg(long)]
    url: Option<String>,
    /// The dbdelta binary to measure (default: build target/release/dbdelta with cargo).
    #[arg(long)]
    dbdelta: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Engine {
    #[value(name = "postgres", alias = "postgresql")]
    Postgres,
    #[value(name = "mysql", alias = "mariadb")]
    MySql,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Scenario {
    A,
    B,
    C,
    D,
}

impl Scenario {
    fn title(self) -> &'static str {
        match self {
            Scenario::A => "A: identical tables",
            Scenario::B => "B: ~1% spread changes (mutate_*.sql)",
            Scenario::C => "C: 0.1% clustered at the newest keys (+0.1% appended)",
            Scenario::D => "D: empty target (first load)",
        }
    }

    /// Compare-only runs (dbdelta diff, peers) make sense where the target holds the table.
    fn compares(self) -> bool {
        self != Scenario::D
    }
}

// ---------------------------------------------------------------------------------------------
// The workload, per engine (from shared/bench/make_*.sql and mutate_*.sql).

const PG_CREATE: &str = "DROP TABLE IF EXISTS events;
CREATE TABLE events (
  id bigint PRIMARY KEY,
  user_id integer NOT NULL,
  kind text NOT NULL,
  amount numeric(12,2),
  score double precision,
  payload text,
  created_at timestamptz NOT NULL,
  flag boolean
);";

/// One row of make_pg.sql as a function of its integer key `g`.
const PG_ROW: &str =
    "g, ((g::bigint*7919) % 100000)::int, (ARRAY['click','view','buy','share'])[1 + g % 4],
       ((g % 100000)::numeric / 100)::numeric(12,2),
       CASE WHEN g % 13 = 0 THEN NULL ELSE (g % 1000) / 7.0 END,
       CASE WHEN g % 17 = 0 THEN NULL ELSE md5(g::text) || ' ü ' || repeat('x', (g % 50)) END,
       timestamptz '2024-01-01 00:00:00+00' + (g || ' seconds')::interval,
       CASE WHEN g % 3 = 0 THEN NULL ELSE g % 2 = 0 END";

const MY_CREATE: &str = "DROP TABLE IF EXISTS events;
CREATE TABLE events (
  id bigint PRIMARY KEY,
  user_id integer NOT NULL,
  kind varchar(16) NOT NULL,
  amount decimal(12,2),
  score double,
  payload text,
  created_at datetime(6) NOT NULL,
  flag boolean
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;";

/// One row of make_my.sql as a function of its key `seq`.
const MY_ROW: &str = "seq, (seq*7919) % 100000, ELT(1 + seq % 4, 'click','view','buy','share'),
       (seq % 100000) / 100,
       IF(seq % 13 = 0, NULL, (seq % 1000) / 7.0),
       IF(seq % 17 = 0, NULL, CONCAT(MD5(seq), ' ü ', REPEAT('x', seq % 50))),
       TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq SECOND,
       IF(seq % 3 = 0, NULL, seq % 2 = 0)";

/// mutate_pg.sql, each statement printing how many rows it changed.
const PG_SPREAD_EDIT: &str = "
WITH c AS (UPDATE events SET amount = amount + 1 WHERE id % 200 = 7 RETURNING 1) SELECT count(*) FROM c;
WITH c AS (DELETE FROM events WHERE id % 500 = 11 RETURNING 1) SELECT count(*) FROM c;
WITH c AS (INSERT INTO events SELECT id + 100000000, user_id, kind, amount, score, payload, created_at, flag
           FROM events WHERE id % 1000 = 3 RETURNING 1) SELECT count(*) FROM c;";

/// mutate_my.sql, each statement printing how many rows it changed.
const MY_SPREAD_EDIT: &str = "
UPDATE events SET amount = amount + 1 WHERE id % 200 = 7; SELECT ROW_COUNT();
DELETE FROM events WHERE id % 500 = 11; SELECT ROW_COUNT();
INSERT INTO events SELECT id + 100000000, user_id, kind, amount, score, payload, created_at, flag
  FROM events WHERE id % 1000 = 3; SELECT ROW_COUNT();";

/// A column list for the MariaDB hash scan (CONCAT_WS skips NULLs; good enough for a baseline).
const MY_COLUMNS: &str = "id, user_id, kind, amount, score, payload, created_at, flag";

impl Engine {
    fn default_url(self) -> String {
        let (var, fallback) = match self {
            Engine::Postgres => (
                "DBDELTA_TEST_PG_URL",
                "postgres://postgres@127.0.0.1:5432/test",
            ),
            Engine::MySql => ("DBDELTA_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
        };
        std::env::var(var).unwrap_or_else(|_| fallback.to_string())
    }

    fn clients(self) -> [&'static str; 2] {
        match self {
            Engine::Postgres => ["psql", "pg_dump"],
            Engine::MySql => ["mariadb", "mysqldump"],
        }
    }

    /// Creates `events` with keys 1..=rows.
    fn make_sql(self, rows: u64) -> String {
        match self {
            Engine::Postgres => format!(
                "{PG_CREATE}\nINSERT INTO events SELECT {PG_ROW} FROM generate_series(1, {rows}) g;"
            ),
            Engine::MySql => {
                format!("{MY_CREATE}\nINSERT INTO events SELECT {MY_ROW} FROM seq_1_to_{rows};")
            }
        }
    }

    fn spread_edit_sql(self) -> &'static str {
        match self {
            Engine::Postgres => PG_SPREAD_EDIT,
            Engine::MySql => MY_SPREAD_EDIT,
        }
    }

    /// Updates the `count` highest keys and appends `count` new keys above them; prints the
    /// number of rows changed per statement.
    fn clustered_edit_sql(self, count: u64) -> String {
        let offset = count - 1;
        match self {
            Engine::Postgres => format!(
                "WITH c AS (UPDATE events SET amount = amount + 1 WHERE id >= \
                   (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET {offset}) RETURNING 1) \
                 SELECT count(*) FROM c;
                 WITH c AS (INSERT INTO events SELECT {PG_ROW} FROM \
                   (SELECT (m + i)::int AS g FROM generate_series(1, {count}) i, \
                    (SELECT max(id) AS m FROM events) x) s RETURNING 1) \
                 SELECT count(*) FROM c;"
            ),
            Engine::MySql => format!(
                "SET @edge = (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET {offset});
                 UPDATE events SET amount = amount + 1 WHERE id >= @edge; SELECT ROW_COUNT();
                 SET @top = (SELECT MAX(id) FROM events);
                 INSERT INTO events SELECT {MY_ROW} FROM \
                   (SELECT @top + seq AS seq FROM seq_1_to_{count}) s; SELECT ROW_COUNT();"
            ),
        }
    }

    /// Vacuum and statistics, so that neither side pays for the previous step's leftovers
    /// (PostgreSQL hint bits and dead rows) inside a timed command.
    fn settle_sql(self) -> &'static str {
        match self {
            Engine::Postgres => "VACUUM (ANALYZE) events;",
            Engine::MySql => "ANALYZE TABLE events;",
        }
    }

    fn hash_scan_sql(self) -> String {
        match self {
            Engine::Postgres => {
                "SELECT sum(('x'||substr(md5(t::text),1,16))::bit(64)::bigint) FROM events t".into()
            }
            Engine::MySql => format!(
                "SELECT SUM(CONV(SUBSTRING(MD5(CONCAT_WS('|', {MY_COLUMNS})),1,16),16,10)) FROM events"
            ),
        }
    }

    fn table_mib_sql(self) -> &'static str {
        match self {
            Engine::Postgres => "SELECT pg_total_relation_size('events') / 1048576",
            Engine::MySql => {
                "SELECT (data_length + index_length) DIV 1048576 FROM information_schema.tables \
                 WHERE table_schema = DATABASE() AND table_name = 'events'"
            }
        }
    }

    fn version_sql(self) -> &'static str {
        match self {
            Engine::Postgres => "SELECT split_part(version(), ' on ', 1)",
            Engine::MySql => "SELECT CONCAT('MariaDB/MySQL ', VERSION())",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// External commands and their measurement.

/// An external command, kept as data so that it can be run plainly or under `/usr/bin/time`.
#[derive(Clone, Debug)]
struct Tool {
    program: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Tool {
    fn new(program: impl Into<String>) -> Tool {
        Tool {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    fn arg(mut self, arg: impl Into<String>) -> Tool {
        self.args.push(arg.into());
        self
    }

    fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Tool {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    fn env(mut self, key: &str, value: &str) -> Tool {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    fn name(&self) -> &str {
        Path::new(&self.program)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(&self.program)
    }

    /// The command, run under `/usr/bin/time -f %M -o rss_file` when `rss_file` is given.
    fn command(&self, rss_file: Option<&Path>) -> Command {
        let mut command = match rss_file {
            Some(file) => {
                let mut c = Command::new(GNU_TIME);
                c.args(["-f", "%M", "-o"]).arg(file).arg(&self.program);
                c
            }
            None => Command::new(&self.program),
        };
        command.args(&self.args);
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    /// Runs to completion with `input` on stdin and returns stdout; a failure carries stderr.
    fn run(&self, input: &str) -> Result<String> {
        let mut child = self
            .command(None)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", self.program))?;
        let mut stdin = child
            .stdin
            .take()
            .ok_or_else(|| anyhow!("no stdin for {}", self.program))?;
        let input = input.to_string();
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let output = child
            .wait_with_output()
            .with_context(|| format!("{} did not finish", self.program))?;
        let written = writer
            .join()
            .map_err(|_| anyhow!("writing to {} panicked", self.program))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        ensure!(
            output.status.success(),
            "{} failed ({}): {}",
            self.name(),
            output.status,
            stderr.trim()
        );
        written.with_context(|| format!("cannot write to {}", self.program))?;
        String::from_utf8(output.stdout)
            .with_context(|| format!("{} printed non-UTF-8", self.name()))
    }
}

/// One timed run of a pipeline of commands.
struct Timed {
    seconds: f64,
    /// The largest peak resident set of the pipeline's processes.
    peak_rss_kib: Option<u64>,
    /// The last command's standard output.
    stdout: String,
    /// Exit code of each command (`None`: killed by a signal), with its stderr.
    exits: Vec<(String, Option<i32>, String)>,
}

impl Timed {
    /// The last command's exit code.
    fn code(&self) -> Option<i32> {
        self.exits.last().and_then(|(_, code, _)| *code)
    }

    /// `Err` describing the first command that did not exit with one of `accepted` codes.
    fn check(&self, accepted: &[i32]) -> Result<()> {
        for (name, code, stderr) in &self.exits {
            if !code.is_some_and(|c| accepted.contains(&c)) {
                let code = code.map_or("a signal".to_string(), |c| format!("exit code {c}"));
                bail!("{name} ended with {code}: {}", tail(stderr, 800));
            }
        }
        Ok(())
    }
}

fn tail(text: &str, max: usize) -> &str {
    let text = text.trim();
    let start = text.len().saturating_sub(max);
    let start = (start..=text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    &text[start..]
}

/// Runs `stages` connected by pipes (the first reads nothing, the last's stdout is kept) and
/// measures wall time and peak RSS.
fn measure(stages: &[Tool]) -> Result<Timed> {
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let gnu_time = Path::new(GNU_TIME).exists();
    let file = |name: String| dir.path().join(name);
    let started = Instant::now();
    let mut children: Vec<Child> = Vec::with_capacity(stages.len());
    let mut upstream: Option<ChildStdout> = None;
    for (i, tool) in stages.iter().enumerate() {
        let rss_file = gnu_time.then(|| file(format!("rss{i}")));
        let mut command = tool.command(rss_file.as_deref());
        command.stdin(upstream.take().map_or_else(Stdio::null, Stdio::from));
        let last = i + 1 == stages.len();
        if last {
            command.stdout(create(&file("stdout".into()))?);
        } else {
            command.stdout(Stdio::piped());
        }
        command.stderr(create(&file(format!("stderr{i}")))?);
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {}", tool.program))?;
        upstream = child.stdout.take();
        children.push(child);
    }
    let (codes, polled_peak) = wait_all(&mut children, !gnu_time)?;
    let seconds = started.elapsed().as_secs_f64();

    let peak_rss_kib = if gnu_time {
        let mut peak = None;
        for i in 0..stages.len() {
            peak = peak.max(read_gnu_time_rss(&file(format!("rss{i}"))));
        }
        peak
    } else {
        polled_peak
    };
    let read = |path: PathBuf| {
        std::fs::read(&path)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .with_context(|| format!("cannot read {}", path.display()))
    };
    let mut exits = Vec::with_capacity(stages.len());
    for (i, (tool, code)) in stages.iter().zip(codes).enumerate() {
        exits.push((
            tool.name().to_string(),
            code,
            read(file(format!("stderr{i}")))?,
        ));
    }
    Ok(Timed {
        seconds,
        peak_rss_kib,
        stdout: read(file("stdout".into()))?,
        exits,
    })
}

fn create(path: &Path) -> Result<File> {
    File::create(path).with_context(|| format!("cannot create {}", path.display()))
}

/// Waits for every child; with `poll_rss`, reads each one's `VmHWM` every 20 ms meanwhile
/// (exits are then seen up to 20 ms late).
fn wait_all(children: &mut [Child], poll_rss: bool) -> Result<(Vec<Option<i32>>, Option<u64>)> {
    if !poll_rss {
        let codes = children
            .iter_mut()
            .map(|c| Ok(c.wait().context("cannot wait for a child")?.code()))
            .collect::<Result<_>>()?;
        return Ok((codes, None));
    }
    let mut codes: Vec<Option<Option<i32>>> = vec![None; children.len()];
    let mut peak: Option<u64> = None;
    while codes.iter().any(Option::is_none) {
        for (child, code) in children.iter_mut().zip(codes.iter_mut()) {
            if code.is_some() {
                continue;
            }
            peak = peak.max(vm_hwm_kib(child.id()));
            if let Some(status) = child.try_wait().context("cannot wait for a child")? {
                *code = Some(status.code());
            }
        }
        std::thread::sleep(RSS_POLL);
    }
    Ok((codes.into_iter().flatten().collect(), peak))
}

/// The high-water mark of a running process's resident set, in KiB.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// GNU time's `%M` (KiB); on a failed command the file starts with a status line.
fn read_gnu_time_rss(path: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().rev().find_map(|l| l.trim().parse().ok())
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

// ---------------------------------------------------------------------------------------------
// The database server, driven through its command-line clients.

struct Server {
    engine: Engine,
    url: Url,
}

/// Server-side counters of one database (PostgreSQL's `pg_stat_database`).
#[derive(Clone, Copy, Default)]
struct DbCounters {
    rows_read: u64,
    rows_written: u64,
}

impl Server {
    fn new(engine: Engine, url: Option<String>) -> Result<Server> {
        let text = url.unwrap_or_else(|| engine.default_url());
        let url = Url::parse(&text).with_context(|| format!("invalid server URL {text}"))?;
        Ok(Server { engine, url })
    }

    /// The URL of database `db` on this server (for dbdelta, psql and peers).
    fn db_url(&self, db: &str) -> String {
        let mut url = self.url.clone();
        url.set_path(&format!("/{db}"));
        url.to_string()
    }

    /// The database named in the server URL, used for administration.
    fn admin_db(&self) -> String {
        self.url.path().trim_start_matches('/').to_string()
    }

    /// `mysql`-style connection options: host, port, user (the password goes in MYSQL_PWD).
    fn mysql_options(&self) -> Vec<String> {
        vec![
            "--protocol=TCP".into(),
            format!("--host={}", self.url.host_str().unwrap_or("127.0.0.1")),
            format!("--port={}", self.url.port().unwrap_or(3306)),
            format!("--user={}", percent_decode(self.url.username())),
        ]
    }

    fn with_password(&self, tool: Tool) -> Tool {
        match self.url.password() {
            Some(p) if self.engine == Engine::MySql => tool.env("MYSQL_PWD", &percent_decode(p)),
            _ => tool,
        }
    }

    /// The SQL client in batch mode: values only, one row a line, stop at the first error.
    fn client(&self, db: &str) -> Tool {
        match self.engine {
            Engine::Postgres => Tool::new("psql")
                .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d"])
                .arg(self.db_url(db))
                .env("PGOPTIONS", "--client-min-messages=warning"),
            Engine::MySql => self.with_password(
                Tool::new("mariadb")
                    .args(self.mysql_options())
                    .args(["--batch", "--skip-column-names"])
                    .arg(db),
            ),
        }
    }

    fn sql(&self, db: &str, text: &str) -> Result<String> {
        self.client(db)
            .run(text)
            .with_context(|| format!("SQL on {db} failed: {}", tail(text, 300)))
    }

    /// The first line of a query's output.
    fn scalar(&self, db: &str, text: &str) -> Result<String> {
        let out = self.sql(db, text)?;
        Ok(out.lines().next().unwrap_or("").trim().to_string())
    }

    fn number(&self, db: &str, text: &str) -> Result<u64> {
        let value = self.scalar(db, text)?;
        value
            .parse()
            .with_context(|| format!("expected a number from {text:?}, got {value:?}"))
    }

    /// Runs statements that each print a row count, and returns their sum.
    fn changed_rows(&self, db: &str, text: &str) -> Result<u64> {
        let out = self.sql(db, text)?;
        out.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                l.trim()
                    .parse::<u64>()
                    .with_context(|| format!("expected a row count, got {l:?}"))
            })
            .sum()
    }

    fn rows(&self, db: &str) -> Result<u64> {
        self.number(db, "SELECT count(*) FROM events")
    }

    fn settle(&self, db: &str) -> Result<()> {
        self.sql(db, self.engine.settle_sql()).map(drop)
    }

    fn recreate_databases(&self) -> Result<()> {
        for db in [SRC_DB, DST_DB] {
            self.drop_database(db)?;
            self.sql(&self.admin_db(), &format!("CREATE DATABASE {db}"))?;
        }
        Ok(())
    }

    fn drop_database(&self, db: &str) -> Result<()> {
        let text = match self.engine {
            Engine::Postgres => format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
            Engine::MySql => format!("DROP DATABASE IF EXISTS {db}"),
        };
        self.sql(&self.admin_db(), &text).map(drop)
    }

    /// `pg_dump | psql` or `mysqldump | mariadb` of table `events` from source to target.
    fn full_copy(&self) -> [Tool; 2] {
        match self.engine {
            Engine::Postgres => [
                Tool::new("pg_dump")
                    .args(["--no-owner", "--no-privileges", "--table=events", "-d"])
                    .arg(self.db_url(SRC_DB)),
                Tool::new("psql")
                    .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d"])
                    .arg(self.db_url(DST_DB)),
            ],
            Engine::MySql => [
                self.with_password(Tool::new("mysqldump").args(self.mysql_options()).args([
                    "--single-transaction",
                    "--quick",
                    SRC_DB,
                    "events",
                ])),
                self.with_password(Tool::new("mariadb").args(self.mysql_options()).arg(DST_DB)),
            ],
        }
    }

    /// Rows read and written so far in `db`, where the server counts them per database.
    fn counters(&self, db: &str) -> Result<Option<DbCounters>> {
        if self.engine != Engine::Postgres {
            return Ok(None);
        }
        let out = self.scalar(
            db,
            "SELECT tup_returned || ' ' || (tup_inserted + tup_updated + tup_deleted) \
             FROM pg_stat_database WHERE datname = current_database()",
        )?;
        let mut numbers = out.split_whitespace().map(str::parse::<u64>);
        match (numbers.next(), numbers.next()) {
            (Some(Ok(rows_read)), Some(Ok(rows_written))) => Ok(Some(DbCounters {
                rows_read,
                rows_written,
            })),
            _ => bail!("unexpected pg_stat_database output {out:?}"),
        }
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Drops the bench databases when the run ends, also after an error.
struct DropDatabasesAtEnd<'a>(&'a Server);

impl Drop for DropDatabasesAtEnd<'_> {
    fn drop(&mut self) {
        for db in [SRC_DB, DST_DB] {
            if let Err(e) = self.0.drop_database(db) {
                eprintln!("warning: could not drop database {db}: {e:#}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// dbdelta itself.

/// The parts of `dbdelta --json` the bench uses.
#[derive(Deserialize)]
struct DbdeltaReport {
    in_sync: bool,
    tables: Vec<DbdeltaTable>,
}

#[derive(Deserialize)]
struct DbdeltaTable {
    chunks: u64,
    chunks_differing: u64,
    inserted: u64,
    updated: u64,
    deleted: u64,
    rows_only_in_source: u64,
    rows_only_in_target: u64,
    rows_changed: u64,
    error: Option<String>,
}

impl DbdeltaTable {
    fn written(&self) -> u64 {
        self.inserted + self.updated + self.deleted
    }

    fn found(&self) -> u64 {
        self.rows_only_in_source + self.rows_only_in_target + self.rows_changed
    }
}

/// The one table of a `dbdelta sync --json` report, which must say the run ended in sync.
fn parse_sync_report(timed: &Timed) -> Result<DbdeltaTable> {
    let report: DbdeltaReport = serde_json::from_str(&timed.stdout).with_context(|| {
        format!(
            "dbdelta printed no JSON report: {}",
            tail(&timed.stdout, 300)
        )
    })?;
    let table = report
        .tables
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("dbdelta reported no table"))?;
    if let Some(error) = &table.error {
        bail!("dbdelta failed on events: {error}");
    }
    ensure!(report.in_sync, "dbdelta sync did not report in_sync");
    Ok(table)
}

/// The dbdelta binary: the one given, or target/release/dbdelta built now with cargo.
fn locate_dbdelta(given: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(path) = given {
        ensure!(path.is_file(), "no dbdelta binary at {}", path.display());
        return Ok(path);
    }
    let exe = std::env::current_exe().context("cannot locate the bench executable")?;
    // target/release/examples/bench → target/release/dbdelta
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| anyhow!("unexpected bench location {}", exe.display()))?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("building dbdelta (cargo build --release --bin dbdelta) …");
    let status = Command::new(&cargo)
        .args(["build", "--release", "--quiet", "--bin", "dbdelta"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .with_context(|| format!("cannot run {cargo}"))?;
    ensure!(
        status.success(),
        "cargo build --release --bin dbdelta failed"
    );
    let path = dir.join(format!("dbdelta{}", std::env::consts::EXE_SUFFIX));
    ensure!(path.is_file(), "no dbdelta binary at {}", path.display());
    Ok(path)
}

/// Writes the job file and builds dbdelta command lines.
struct Dbdelta {
    binary: PathBuf,
    job: PathBuf,
    jobs: Option<u64>,
    chunk_size: Option<u64>,
}

impl Dbdelta {
    fn new(binary: PathBuf, dir: &Path, server: &Server, options: &Options) -> Result<Dbdelta> {
        let quoted = |db| toml::Value::String(server.db_url(db)).to_string();
        let text = format!(
            "# written by examples/bench.rs\n[source]\nurl = {}\n\n[target]\nurl = {}\n\n\
             [[tables]]\nname = \"events\"\n",
            quoted(SRC_DB),
            quoted(DST_DB)
        );
        let job = dir.join("bench.toml");
        std::fs::write(&job, text).with_context(|| format!("cannot write {}", job.display()))?;
        Ok(Dbdelta {
            binary,
            job,
            jobs: options.jobs,
            chunk_size: options.chunk_size,
        })
    }

    /// `dbdelta sync|diff -c JOB -q [--json] [--jobs N] [--chunk-size N]`.
    fn tool(&self, command: &str, json: bool) -> Tool {
        let mut tool = Tool::new(self.binary.to_string_lossy())
            .arg(command)
            .arg("-c")
            .arg(self.job.to_string_lossy())
            .arg("-q");
        if json {
            tool = tool.arg("--json");
        }
        if let Some(jobs) = self.jobs {
            tool = tool.arg(format!("--jobs={jobs}"));
        }
        if let Some(size) = self.chunk_size {
            tool = tool.arg(format!("--chunk-size={size}"));
        }
        tool
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios.

/// One line of a scenario's table.
struct Measurement {
    label: String,
    result: std::result::Result<Figures, String>,
}

#[derive(Clone, Copy)]
struct Figures {
    seconds: f64,
    peak_rss_kib: Option<u64>,
    /// Rows written to the target (dbdelta: its report; full copy: every source row).
    rows_written: u64,
    source: Option<DbCounters>,
    target: Option<DbCounters>,
}

struct ScenarioResult {
    /// The 1-minute load average when the timed steps began and ended.
    load: (String, String),
    engine: Engine,
    scenario: Scenario,
    rows: u64,
    /// Rows that differ by construction (what the edit changed), before the sync.
    differing: u64,
    sync: Figures,
    report: DbdeltaTable,
    verified: std::result::Result<(), String>,
    full_copy: Figures,
    hash_scan: Figures,
    lines: Vec<Measurement>,
}

struct Bench<'a> {
    server: &'a Server,
    dbdelta: Dbdelta,
    reladiff: Option<PathBuf>,
    pt_table_sync: Option<PathBuf>,
}

impl Bench<'_> {
    /// Fresh databases with the same `rows` rows on both sides.
    fn setup(&self, rows: u64) -> Result<()> {
        eprintln!("setting up {rows} rows on both sides …");
        self.server.recreate_databases()?;
        let make = self.server.engine.make_sql(rows);
        for db in [SRC_DB, DST_DB] {
            self.server.sql(db, &make)?;
            self.server.settle(db)?;
        }
        Ok(())
    }

    /// Turns the equal pair into the scenario's starting point; returns the rows that differ.
    fn prepare(&self, scenario: Scenario, rows: u64) -> Result<u64> {
        let engine = self.server.engine;
        let differing = match scenario {
            Scenario::A => 0,
            Scenario::B => self.server.changed_rows(SRC_DB, engine.spread_edit_sql())?,
            Scenario::C => {
                let count = (rows / 1000).max(1);
                let sql = engine.clustered_edit_sql(count);
                self.server.changed_rows(SRC_DB, &sql)?
            }
            Scenario::D => {
                self.server.sql(DST_DB, "TRUNCATE TABLE events")?;
                self.server.rows(SRC_DB)?
            }
        };
        for db in [SRC_DB, DST_DB] {
            self.server.settle(db)?;
        }
        Ok(differing)
    }

    /// Runs `stages` and collects the figures, with server counters where available.
    fn timed(&self, stages: &[Tool], accepted: &[i32]) -> Result<(Figures, Timed)> {
        let before = (self.server.counters(SRC_DB)?, self.server.counters(DST_DB)?);
        let timed = measure(stages)?;
        // Backends report their counters when they exit, just after the client does.
        if before.0.is_some() {
            std::thread::sleep(Duration::from_millis(500));
        }
        let after = (self.server.counters(SRC_DB)?, self.server.counters(DST_DB)?);
        timed.check(accepted)?;
        let delta = |b: Option<DbCounters>, a: Option<DbCounters>| {
            b.zip(a).map(|(b, a)| DbCounters {
                rows_read: a.rows_read.saturating_sub(b.rows_read),
                rows_written: a.rows_written.saturating_sub(b.rows_written),
            })
        };
        let figures = Figures {
            seconds: timed.seconds,
            peak_rss_kib: timed.peak_rss_kib,
            rows_written: 0,
            source: delta(before.0, after.0),
            target: delta(before.1, after.1),
        };
        Ok((figures, timed))
    }

    fn run(&self, scenario: Scenario, rows: u64) -> Result<ScenarioResult> {
        eprintln!("scenario {} …", scenario.title());
        let differing = self.prepare(scenario, rows)?;
        let source_rows = self.server.rows(SRC_DB)?;
        let load_before = load_average();
        let mut lines = Vec::new();

        if scenario.compares() {
            let diff = self
                .timed(&[self.dbdelta.tool("diff", true)], &[0, 1])
                .context("dbdelta diff (compare only)")?;
            lines.push(Measurement {
                label: "dbdelta diff (compare only)".into(),
                result: Ok(diff.0),
            });
            lines.extend(self.peers());
        }

        let (mut sync, timed) = self
            .timed(&[self.dbdelta.tool("sync", true)], &[0])
            .context("dbdelta sync")?;
        let report = parse_sync_report(&timed)?;
        sync.rows_written = report.written();
        let verified = self.verify();

        self.server.sql(DST_DB, "DROP TABLE IF EXISTS events")?;
        let (mut full_copy, _) = self
            .timed(&self.server.full_copy(), &[0])
            .context("full copy")?;
        full_copy.rows_written = source_rows;
        self.server.settle(DST_DB)?;

        let one_query = match self.server.engine {
            Engine::Postgres => "-c",
            Engine::MySql => "-e",
        };
        let scan = self
            .server
            .client(SRC_DB)
            .arg(one_query)
            .arg(self.server.engine.hash_scan_sql());
        let (hash_scan, _) = self.timed(&[scan], &[0]).context("hash scan")?;

        Ok(ScenarioResult {
            load: (load_before, load_average()),
            engine: self.server.engine,
            scenario,
            rows: source_rows,
            differing,
            sync,
            report,
            verified,
            full_copy,
            hash_scan,
            lines,
        })
    }

    /// After a sync: `dbdelta diff` exits 0 and both sides count the same rows.
    fn verify(&self) -> std::result::Result<(), String> {
        let check = || -> Result<()> {
            let timed = measure(&[self.dbdelta.tool("diff", false)])?;
            ensure!(
                timed.code() == Some(0),
                "dbdelta diff after sync exited with {:?}: {}",
                timed.code(),
                tail(&timed.stdout, 300)
            );
            let (src, dst) = (self.server.rows(SRC_DB)?, self.server.rows(DST_DB)?);
            ensure!(
                src == dst,
                "row counts differ after sync: source {src}, target {dst}"
            );
            Ok(())
        };
        check().map_err(|e| format!("{e:#}"))
    }

    /// The peers, compare only, or why they did not run.
    fn peers(&self) -> Vec<Measurement> {
        let engine = self.server.engine;
        let reladiff = match &self.reladiff {
            None => Err("not installed".to_string()),
            Some(path) => {
                let tool = Tool::new(path.to_string_lossy())
                    .arg(self.server.db_url(SRC_DB))
                    .arg("events")
                    .arg(self.server.db_url(DST_DB))
                    .arg("events")
                    .args(["-k", "id"]);
                self.timed(&[tool], &[0, 1])
                    .map(|(f, _)| f)
                    .map_err(|e| format!("failed: {e:#}"))
            }
        };
        let mut peers = vec![Measurement {
            label: "reladiff (compare only)".into(),
            result: reladiff,
        }];
        if engine != Engine::MySql {
            return peers;
        }
        let pt = match &self.pt_table_sync {
            None => Err("not installed".to_string()),
            Some(path) => {
                let dsn = |db: &str| {
                    let url = &self.server.url;
                    let mut dsn = format!(
                        "h={},P={},u={},D={db},t=events",
                        url.host_str().unwrap_or("127.0.0.1"),
                        url.port().unwrap_or(3306),
                        percent_decode(url.username())
                    );
                    if let Some(p) = url.password() {
                        dsn.push_str(&format!(",p={}", percent_decode(p)));
                    }
                    dsn
                };
                let tool = Tool::new(path.to_string_lossy())
                    .arg("--print")
                    .arg(dsn(SRC_DB))
                    .arg(dsn(DST_DB));
                self.timed(&[tool], &[0, 1, 2])
                    .map(|(f, _)| f)
                    .map_err(|e| format!("failed: {e:#}"))
            }
        };
        peers.push(Measurement {
            label: "pt-table-sync --print (compare only)".into(),
            result: pt,
        });
        peers
    }
}

// ---------------------------------------------------------------------------------------------
// Output.

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        f64::NAN
    }
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("n/a".into(), |k| format!("{:.0}", k as f64 / 1024.0))
}

fn counter(c: Option<DbCounters>, pick: fn(DbCounters) -> u64) -> String {
    c.map_or("n/a".into(), |c| pick(c).to_string())
}

fn markdown_table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(ASCII_MARKDOWN)
        .set_header(header.to_vec());
    table
}

fn align_numbers(table: &mut Table, from: usize) {
    for i in from..table.column_count() {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
}

fn print_scenario(result: &ScenarioResult) {
    let r = &result.report;
    println!("### Scenario {}\n", result.scenario.title());
    println!(
        "source {} rows; {} rows differ by construction; dbdelta: {} of {} chunks differed, \
         found {} (only in source {}, only in target {}, changed {}), wrote {} \
         (inserted {}, updated {}, deleted {}); check after sync: {}; \
         load average {} before, {} after\n",
        result.rows,
        result.differing,
        r.chunks_differing,
        r.chunks,
        r.found(),
        r.rows_only_in_source,
        r.rows_only_in_target,
        r.rows_changed,
        r.written(),
        r.inserted,
        r.updated,
        r.deleted,
        match &result.verified {
            Ok(()) => "diff exit 0, row counts equal".to_string(),
            Err(e) => format!("FAILED: {e}"),
        },
        result.load.0,
        result.load.1,
    );
    let mut table = markdown_table(&[
        "measurement",
        "wall s",
        "peak RSS MiB",
        "rows written",
        "src rows read (server)",
        "dst rows written (server)",
        "dbdelta sync ÷ this",
    ]);
    let mut lines: Vec<(String, std::result::Result<Figures, String>)> =
        vec![("dbdelta sync".into(), Ok(result.sync))];
    lines.extend(
        result
            .lines
            .iter()
            .map(|m| (m.label.clone(), m.result.clone())),
    );
    let copy_label = match result.engine {
        Engine::Postgres => "full copy (pg_dump into psql)",
        Engine::MySql => "full copy (mysqldump into mariadb)",
    };
    lines.push((copy_label.into(), Ok(result.full_copy)));
    lines.push(("one-side hash scan (source)".into(), Ok(result.hash_scan)));
    for (label, figures) in lines {
        match figures {
            Ok(f) => table.add_row(vec![
                label,
                format!("{:.2}", f.seconds),
                mib(f.peak_rss_kib),
                f.rows_written.to_string(),
                counter(f.source, |c| c.rows_read),
                counter(f.target, |c| c.rows_written),
                format!("{:.2}", ratio(result.sync.seconds, f.seconds)),
            ]),
            Err(why) => table.add_row(vec![
                label,
                why,
                "".into(),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
            ]),
        };
    }
    align_numbers(&mut table, 1);
    println!("{table}\n");
}

/// One goal of the issue, checked against a scenario's figures.
struct Goal {
    scenario: Scenario,
    what: &'static str,
    value: f64,
    limit: f64,
}

fn goals(result: &ScenarioResult) -> Vec<Goal> {
    let sync = result.sync.seconds;
    let copy = result.full_copy.seconds;
    let goal = |what, value, limit| Goal {
        scenario: result.scenario,
        what,
        value,
        limit,
    };
    match result.scenario {
        Scenario::A => vec![goal(
            "sync ÷ one-side scan",
            ratio(sync, result.hash_scan.seconds),
            GOAL_A_VS_SCAN,
        )],
        Scenario::B => vec![
            goal("sync ÷ full copy", ratio(sync, copy), GOAL_B_VS_COPY),
            goal(
                "rows written ÷ differing rows",
                ratio(result.sync.rows_written as f64, result.differing as f64),
                GOAL_B_WRITTEN_VS_DIFFERING,
            ),
        ],
        Scenario::C => vec![goal("sync ÷ full copy", ratio(sync, copy), GOAL_C_VS_COPY)],
        Scenario::D => vec![goal("sync ÷ full copy", ratio(sync, copy), GOAL_D_VS_COPY)],
    }
}

fn print_goals(rows: u64, results: &[ScenarioResult]) {
    println!("### Goals at {rows} rows\n");
    let mut table = markdown_table(&["scenario", "goal", "measured", "limit", "met?"]);
    for g in results.iter().flat_map(goals) {
        table.add_row(vec![
            format!("{:?}", g.scenario),
            g.what.to_string(),
            format!("{:.2}", g.value),
            format!("≤ {:.1}", g.limit),
            if g.value <= g.limit { "met" } else { "missed" }.to_string(),
        ]);
    }
    align_numbers(&mut table, 2);
    println!("{table}\n");
}

fn print_scaling(results: &[ScenarioResult]) {
    println!("### Scaling, scenario B\n");
    let mut table = markdown_table(&[
        "source rows",
        "differing",
        "dbdelta sync s",
        "full copy s",
        "one-side scan s",
        "sync ÷ copy",
        "sync s per 1M rows",
        "rows written ÷ differing",
    ]);
    for r in results {
        table.add_row(vec![
            r.rows.to_string(),
            r.differing.to_string(),
            format!("{:.2}", r.sync.seconds),
            format!("{:.2}", r.full_copy.seconds),
            format!("{:.2}", r.hash_scan.seconds),
            format!("{:.2}", ratio(r.sync.seconds, r.full_copy.seconds)),
            format!("{:.2}", r.sync.seconds / (r.rows as f64 / 1e6)),
            format!(
                "{:.2}",
                ratio(r.sync.rows_written as f64, r.differing as f64)
            ),
        ]);
    }
    align_numbers(&mut table, 0);
    println!("{table}\n");
}

fn machine_description() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let ram_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.split_whitespace().next()?.parse::<f64>().ok())
        .map_or("unknown".into(), |kib| {
            format!("{:.1} GiB", kib / 1048576.0)
        });
    format!("{cpus} CPUs ({model}), RAM {ram_gib}")
}

/// The 1-minute load average, to tell a quiet machine from a busy one.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "n/a".into())
}

fn git_revision() -> String {
    Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn print_header(server: &Server, options: &Options) -> Result<()> {
    let version = server.scalar(&server.admin_db(), server.engine.version_sql())?;
    println!("## dbdelta benchmark: {version}\n");
    println!("- machine: {}", machine_description());
    let binary = match &options.dbdelta {
        Some(path) => format!("{} (as given)", path.display()),
        None => format!("release build of the working tree at {}", git_revision()),
    };
    println!(
        "- dbdelta: {binary}, --jobs {}, --chunk-size {}",
        options.jobs.map_or("default".into(), |j| j.to_string()),
        options
            .chunk_size
            .map_or("default".into(), |c| c.to_string()),
    );
    println!(
        "- peak RSS: client processes only ({}); server memory not included",
        if Path::new(GNU_TIME).exists() {
            "GNU time %M"
        } else {
            "VmHWM polled every 20 ms"
        }
    );
    println!(
        "- src rows read / dst rows written (server): pg_stat_database tup_returned and \
         tup_inserted+tup_updated+tup_deleted deltas (rows, not bytes; n/a on MariaDB)\n"
    );
    Ok(())
}

fn print_table_size(server: &Server, rows: u64) -> Result<()> {
    let size = server.scalar(SRC_DB, server.engine.table_mib_sql())?;
    println!("Source table at start: {rows} rows, {size} MiB (table and indexes).\n");
    Ok(())
}

// ---------------------------------------------------------------------------------------------

fn main() -> Result<()> {
    let options = Options::parse();
    ensure!(
        !cfg!(debug_assertions),
        "the bench measures nothing useful in a debug build: \
         cargo run --release --example bench -- …"
    );
    let server = Server::new(options.engine, options.url.clone())?;
    for client in options.engine.clients() {
        ensure!(
            find_in_path(client).is_some(),
            "{client} is not on PATH; the bench drives the server with it"
        );
    }
    let built = locate_dbdelta(options.dbdelta.clone())?;
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    // Measure a private copy, so that a rebuild during the run cannot swap the binary.
    let binary = dir.path().join("dbdelta");
    std::fs::copy(&built, &binary)
        .with_context(|| format!("cannot copy {} to {}", built.display(), binary.display()))?;
    eprintln!("measuring a copy of {}", built.display());
    let bench = Bench {
        server: &server,
        dbdelta: Dbdelta::new(binary, dir.path(), &server, &options)?,
        reladiff: find_in_path("reladiff"),
        pt_table_sync: find_in_path("pt-table-sync"),
    };
    print_header(&server, &options)?;
    let mut peers = vec![("reladiff", &bench.reladiff)];
    if options.engine == Engine::MySql {
        peers.push(("pt-table-sync", &bench.pt_table_sync));
    }
    for (name, path) in peers {
        if path.is_none() {
            println!("Peer {name}: not installed, not measured.\n");
        }
    }
    let _cleanup = DropDatabasesAtEnd(&server);

    let mut failed = false;
    if options.sizes.is_empty() {
        bench.setup(options.rows)?;
        print_table_size(&server, options.rows)?;
        let mut results = Vec::new();
        for &scenario in &options.scenarios {
            let result = bench.run(scenario, options.rows)?;
            print_scenario(&result);
            failed |= result.verified.is_err();
            results.push(result);
        }
        print_goals(options.rows, &results);
    } else {
        let mut results = Vec::new();
        for &rows in &options.sizes {
            bench.setup(rows)?;
            print_table_size(&server, rows)?;
            let result = bench.run(Scenario::B, rows)?;
            print_scenario(&result);
            failed |= result.verified.is_err();
            results.push(result);
        }
        print_scaling(&results);
    }
    ensure!(
        !failed,
        "a sync did not leave the target equal to the source"
    );
    Ok(())
}
