//! The dbdelta benchmark: dbdelta against baselines measured in the same run, so that ratios, not
//! absolute times, carry over between machines.
//!
//! ```text
//! cargo run --release --example bench -- --engine postgres --rows 2000000
//! cargo run --release --example bench -- --engine mysql --rows 500000 --scenarios A,B
//! cargo run --release --example bench -- --engine postgres --sizes 500000,2000000
//! cargo run --release --example bench -- --engine postgres --key uuid --scenarios B
//! cargo run --release --example bench -- --engine mysql --link-mbit 100 --link-rtt-ms 20
//! ```
//!
//! The workload is the reference one of `shared/bench` (`make_*.sql`, `mutate_*.sql`), embedded
//! below with the row count as a parameter: table `events`, 8 columns, about 150 bytes a row,
//! bigint primary key. The bench creates the databases `dbdelta_bench_src` and
//! `dbdelta_bench_dst` on the server (dropping them first if they exist) and drops them at the
//! end. It drives the servers with their own command-line clients (`psql`, `pg_dump`; `mariadb`,
//! `mysqldump`), which must be on `PATH`.
//!
//! **Key** (`--key bigint|uuid|text`, default bigint). With `uuid` or `text` the same rows get
//! a new first column `pk` = `md5(id)` as the primary key, and the integer `id` stays as an
//! ordinary `bigint NOT NULL` column without an index (9 columns). `uuid` is PostgreSQL `uuid`
//! (`md5(id::text)::uuid`) and on MariaDB `CHAR(36) CHARACTER SET ascii COLLATE ascii_bin`
//! holding the same lowercase hyphenated text (not MariaDB's `UUID` type, which orders
//! differently); `text` is the 32 hex digits as PostgreSQL `text` (the database's default
//! collation) or MariaDB `VARCHAR(32)` (the table's default collation, utf8mb4). The edits still
//! choose their rows by the integer `id`, so they change the same rows, and a new row's key is
//! the md5 of its new id. dbdelta finds the key by introspection (the job file names only the
//! table); the peers are told the key column.
//!
//! Scenarios (each starts from a target equal to the source):
//!
//! - **A** identical tables.
//! - **B** about 1% spread changes: the reference `mutate_*.sql` on the source (every 200th row
//!   updated, every 500th deleted, 0.1% new keys).
//! - **C** 0.1% clustered at the newest keys: the highest 0.1% of integer ids updated on the
//!   source and 0.1% new ids appended above them. With `--key uuid|text` these newest rows are
//!   chosen by `id` as well, so their md5 keys are spread over the whole key space: C is then a
//!   spread edit of 0.2% and has no goal of its own.
//! - **D** first load: the target table emptied.
//!
//! In each scenario the bench times, in this order: `dbdelta diff` (compare only, A–C), the peers
//! if installed (A–C), `dbdelta sync`, then a full copy of the table (`pg_dump | psql` or
//! `mysqldump | mariadb`, into a dropped target table) and a one-side hash scan of the source
//! (one query summing an MD5-derived hash of every row). After the sync, `dbdelta diff` must exit
//! 0 and both sides must have the same row count.
//!
//! **Peers**, on the same work: `reladiff SRC events DST events -k KEY -c COL …` with every
//! non-key column (URLs as `postgresql://`, which reladiff needs), compare only; on MariaDB
//! `pt-table-sync --print --verbose` (compare only) and, in scenario B, `pt-table-sync --execute
//! --verbose` into its own copy of the target: the database `dbdelta_bench_pt`, cloned from the
//! unsynced target before the timed steps (not timed), checked against the source afterwards
//! (`CHECKSUM TABLE` and row counts) and dropped. A peer's time is reported only if its output
//! shows that it found the rows that differ by construction: reladiff's `-`/`+` lines must name
//! exactly that many distinct keys, pt-table-sync's `--verbose` summary (deletes + replaces +
//! inserts + updates) must add up to it; otherwise the line says why it failed.
//!
//! **Thin link** (`--link-mbit N`, `--link-rtt-ms M`; either turns it on). An in-process TCP
//! proxy on 127.0.0.1 (a tokio runtime on background threads) forwards to the source server; each
//! chunk it reads (up to 32 KiB) is delivered rtt/2 after it was read, in order per direction,
//! and each direction is paced to N Mbit/s shared by all connections (a chunk is written when
//! the link would have finished sending it; without `--link-mbit` there is no rate limit). The
//! source connection of every timed command goes through it: dbdelta's job file names the
//! proxy's port, `pg_dump -d URL` and `mysqldump --protocol=TCP --port` use it, so do reladiff,
//! pt-table-sync's source DSN and the hash scan's client. Targets (and the untimed check after a
//! sync, and the bench's own administration) are reached directly. The proxy counts the bytes it
//! forwards from the source server to the clients, reset before each timed command: the column
//! "bytes from source (link)", with a row "dbdelta sync bytes ÷ full copy bytes". Without the
//! link nothing goes through a proxy and the column says `n/a`: an unthrottled proxy would add
//! its own CPU to every byte of a full copy on the same cores and skew the time ratios;
//! `--link-rtt-ms 0` alone routes through the proxy without delay or rate limit, to count bytes.
//! The link models latency and bandwidth only (no TCP handshake delay, no loss); protocol and
//! TLS overhead are part of the bytes counted.
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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use url::Url;

const SRC_DB: &str = "dbdelta_bench_src";
const DST_DB: &str = "dbdelta_bench_dst";
/// MariaDB scenario B: pt-table-sync --execute's own copy of the target.
const PT_DB: &str = "dbdelta_bench_pt";
const GNU_TIME: &str = "/usr/bin/time";
const RSS_POLL: Duration = Duration::from_millis(20);

/// The goals of the benchmark issue: dbdelta's time divided by a baseline's, at most this
/// (unless said otherwise).
const GOAL_A_VS_SCAN: f64 = 1.5;
/// Scenario B with the bigint key: ≤ 1.0 until issue [3/5], which asked for 0.8.
const GOAL_B_VS_COPY: f64 = 0.8;
const GOAL_B_WRITTEN_VS_DIFFERING: f64 = 1.1;
const GOAL_C_VS_COPY: f64 = 0.3;
const GOAL_D_VS_COPY: f64 = 1.2;
/// `--key uuid|text`, scenario B: sync ÷ full copy.
const GOAL_B_MD5_KEY_VS_COPY: f64 = 1.0;
/// Thin link, bigint key, scenario B: sync ÷ full copy through the same link, and the bytes
/// the source sent for the sync ÷ those it sent for the full copy.
const GOAL_LINK_B_VS_COPY: f64 = 0.25;
const GOAL_LINK_B_BYTES_VS_COPY: f64 = 0.05;
/// Peers' time divided by dbdelta sync's, at least this (scenario B): MariaDB's
/// `pt-table-sync --execute`, and reladiff (compare only) with the bigint key.
const GOAL_B_PT_EXECUTE_VS_SYNC: f64 = 4.0;
const GOAL_B_RELADIFF_VS_SYNC: f64 = 8.0;

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
    /// The primary key of `events`: the integer `id`, or `md5(id)` as a UUID or as text (the
    /// integer stays as an ordinary column `id`).
    #[arg(long, value_enum, default_value = "bigint")]
    key: KeyKind,
    /// Route the source connection of every timed command through a throttling proxy limited to
    /// this many Mbit/s in each direction (turns the link on; default: no rate limit).
    #[arg(long, value_parser = positive_f64)]
    link_mbit: Option<f64>,
    /// The link's round-trip time in milliseconds, half of it added in each direction (turns the
    /// link on; default 0).
    #[arg(long, value_parser = non_negative_f64)]
    link_rtt_ms: Option<f64>,
}

impl Options {
    /// The thin link, when `--link-mbit` or `--link-rtt-ms` is given.
    fn link(&self) -> Option<LinkSpec> {
        if self.link_mbit.is_none() && self.link_rtt_ms.is_none() {
            return None;
        }
        Some(LinkSpec {
            mbit: self.link_mbit,
            rtt: Duration::from_secs_f64(self.link_rtt_ms.unwrap_or(0.0) / 1000.0),
        })
    }
}

fn positive_f64(text: &str) -> std::result::Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("expected a positive number, got {text:?}")),
    }
}

fn non_negative_f64(text: &str) -> std::result::Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("expected a number ≥ 0, got {text:?}")),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Engine {
    #[value(name = "postgres", alias = "postgresql")]
    Postgres,
    #[value(name = "mysql", alias = "mariadb")]
    MySql,
}

/// The primary key of the workload table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum KeyKind {
    /// `id bigint PRIMARY KEY`, as in `shared/bench`.
    Bigint,
    /// `pk` = `md5(id)` as a UUID: PostgreSQL `uuid`, MariaDB `CHAR(36)` ASCII binary, lowercase
    /// hyphenated (not MariaDB's `UUID` type, which orders differently).
    Uuid,
    /// `pk` = `md5(id)` as 32 hex digits: PostgreSQL `text` (the database's default
    /// collation), MariaDB `VARCHAR(32)` (the table's default collation).
    Text,
}

impl KeyKind {
    fn name(self) -> &'static str {
        match self {
            KeyKind::Bigint => "bigint",
            KeyKind::Uuid => "uuid",
            KeyKind::Text => "text",
        }
    }
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
// The workload, per engine and key (from shared/bench/make_*.sql and mutate_*.sql).

/// The columns after `id` in make_pg.sql.
const PG_COLUMNS: &str = "  user_id integer NOT NULL,
  kind text NOT NULL,
  amount numeric(12,2),
  score double precision,
  payload text,
  created_at timestamptz NOT NULL,
  flag boolean
);";

/// One row of make_pg.sql (from `id` on) as a function of its integer id `g`.
const PG_ROW: &str =
    "g, ((g::bigint*7919) % 100000)::int, (ARRAY['click','view','buy','share'])[1 + g % 4],
       ((g % 100000)::numeric / 100)::numeric(12,2),
       CASE WHEN g % 13 = 0 THEN NULL ELSE (g % 1000) / 7.0 END,
       CASE WHEN g % 17 = 0 THEN NULL ELSE md5(g::text) || ' ü ' || repeat('x', (g % 50)) END,
       timestamptz '2024-01-01 00:00:00+00' + (g || ' seconds')::interval,
       CASE WHEN g % 3 = 0 THEN NULL ELSE g % 2 = 0 END";

/// The columns after `id` in make_my.sql.
const MY_COLUMNS: &str = "  user_id integer NOT NULL,
  kind varchar(16) NOT NULL,
  amount decimal(12,2),
  score double,
  payload text,
  created_at datetime(6) NOT NULL,
  flag boolean
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;";

/// One row of make_my.sql (from `id` on) as a function of its integer id `seq`.
const MY_ROW: &str = "seq, (seq*7919) % 100000, ELT(1 + seq % 4, 'click','view','buy','share'),
       (seq % 100000) / 100,
       IF(seq % 13 = 0, NULL, (seq % 1000) / 7.0),
       IF(seq % 17 = 0, NULL, CONCAT(MD5(seq), ' ü ', REPEAT('x', seq % 50))),
       TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq SECOND,
       IF(seq % 3 = 0, NULL, seq % 2 = 0)";

/// The columns after `id`, on both engines.
const OTHER_COLUMNS: [&str; 7] = [
    "user_id",
    "kind",
    "amount",
    "score",
    "payload",
    "created_at",
    "flag",
];

/// The column of `--key uuid|text` (the integer `id` stays as an ordinary column).
const MD5_KEY: &str = "pk";

/// The table `events` of one engine with one kind of key, and the SQL that makes and edits it.
/// The integer `id` of shared/bench is always there; with `--key uuid|text` it is an ordinary
/// column after the key `pk` = `md5(id)`, and the edits select their rows by `id` as before.
#[derive(Clone, Copy, Debug)]
struct Workload {
    engine: Engine,
    key: KeyKind,
}

impl Workload {
    fn key_column(self) -> &'static str {
        match self.key {
            KeyKind::Bigint => "id",
            KeyKind::Uuid | KeyKind::Text => MD5_KEY,
        }
    }

    /// Every column but the key, in table order (what a peer is told to compare).
    fn compared_columns(self) -> Vec<&'static str> {
        let id = (self.key != KeyKind::Bigint).then_some("id");
        id.into_iter().chain(OTHER_COLUMNS).collect()
    }

    /// Every column, in table order.
    fn columns(self) -> Vec<&'static str> {
        let mut columns = vec![self.key_column()];
        columns.extend(self.compared_columns());
        columns
    }

    /// The key of the row whose integer id is the SQL expression `id`, followed by a comma;
    /// empty where the integer is the key.
    fn key_prefix(self, id: &str) -> String {
        let key = match (self.engine, self.key) {
            (_, KeyKind::Bigint) => return String::new(),
            (Engine::Postgres, KeyKind::Uuid) => format!("md5(({id})::text)::uuid"),
            (Engine::Postgres, KeyKind::Text) => format!("md5(({id})::text)"),
            // The lowercase hyphenated form of PostgreSQL's md5(…)::uuid.
            (Engine::MySql, KeyKind::Uuid) => {
                format!(
                    "INSERT(INSERT(INSERT(INSERT(MD5({id}),21,0,'-'),17,0,'-'),13,0,'-'),9,0,'-')"
                )
            }
            (Engine::MySql, KeyKind::Text) => format!("MD5({id})"),
        };
        format!("{key}, ")
    }

    fn create_sql(self) -> String {
        let key = match (self.engine, self.key) {
            (_, KeyKind::Bigint) => "  id bigint PRIMARY KEY,\n".to_string(),
            (engine, key) => {
                let declaration = match (engine, key) {
                    (Engine::Postgres, KeyKind::Uuid) => "uuid",
                    // The database's default collation.
                    (Engine::Postgres, _) => "text",
                    (Engine::MySql, KeyKind::Uuid) => {
                        "CHAR(36) CHARACTER SET ascii COLLATE ascii_bin"
                    }
                    // The table's default collation.
                    (Engine::MySql, _) => "VARCHAR(32)",
                };
                format!("  {MD5_KEY} {declaration} PRIMARY KEY,\n  id bigint NOT NULL,\n")
            }
        };
        let rest = match self.engine {
            Engine::Postgres => PG_COLUMNS,
            Engine::MySql => MY_COLUMNS,
        };
        format!("DROP TABLE IF EXISTS events;\nCREATE TABLE events (\n{key}{rest}")
    }

    /// One full row as a function of its integer id (`g` on PostgreSQL, `seq` on MariaDB).
    fn row_sql(self) -> String {
        match self.engine {
            Engine::Postgres => format!("{}{PG_ROW}", self.key_prefix("g")),
            Engine::MySql => format!("{}{MY_ROW}", self.key_prefix("seq")),
        }
    }

    /// Creates `events` with integer ids 1..=rows.
    fn make_sql(self, rows: u64) -> String {
        let (create, row) = (self.create_sql(), self.row_sql());
        match self.engine {
            Engine::Postgres => format!(
                "{create}\nINSERT INTO events SELECT {row} FROM generate_series(1, {rows}) g;"
            ),
            Engine::MySql => {
                format!("{create}\nINSERT INTO events SELECT {row} FROM seq_1_to_{rows};")
            }
        }
    }

    /// mutate_*.sql (rows chosen by the integer id), each statement printing how many rows it
    /// changed.
    fn spread_edit_sql(self) -> String {
        let insert = format!(
            "INSERT INTO events SELECT {}id + 100000000, user_id, kind, amount, score, payload, \
             created_at, flag FROM events WHERE id % 1000 = 3",
            self.key_prefix("id + 100000000")
        );
        match self.engine {
            Engine::Postgres => format!(
                "WITH c AS (UPDATE events SET amount = amount + 1 WHERE id % 200 = 7 RETURNING 1) \
                   SELECT count(*) FROM c;
                 WITH c AS (DELETE FROM events WHERE id % 500 = 11 RETURNING 1) \
                   SELECT count(*) FROM c;
                 WITH c AS ({insert} RETURNING 1) SELECT count(*) FROM c;"
            ),
            Engine::MySql => format!(
                "UPDATE events SET amount = amount + 1 WHERE id % 200 = 7; SELECT ROW_COUNT();
                 DELETE FROM events WHERE id % 500 = 11; SELECT ROW_COUNT();
                 {insert}; SELECT ROW_COUNT();"
            ),
        }
    }

    /// Updates the `count` rows of highest integer id and appends `count` new ids above them
    /// (with an md5 key these rows are spread over the key space); prints the number of rows
    /// changed per statement.
    fn clustered_edit_sql(self, count: u64) -> String {
        let offset = count - 1;
        let row = self.row_sql();
        match self.engine {
            Engine::Postgres => format!(
                "WITH c AS (UPDATE events SET amount = amount + 1 WHERE id >= \
                   (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET {offset}) RETURNING 1) \
                 SELECT count(*) FROM c;
                 WITH c AS (INSERT INTO events SELECT {row} FROM \
                   (SELECT (m + i)::int AS g FROM generate_series(1, {count}) i, \
                    (SELECT max(id) AS m FROM events) x) s RETURNING 1) \
                 SELECT count(*) FROM c;"
            ),
            Engine::MySql => format!(
                "SET @edge = (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET {offset});
                 UPDATE events SET amount = amount + 1 WHERE id >= @edge; SELECT ROW_COUNT();
                 SET @top = (SELECT MAX(id) FROM events);
                 INSERT INTO events SELECT {row} FROM \
                   (SELECT @top + seq AS seq FROM seq_1_to_{count}) s; SELECT ROW_COUNT();"
            ),
        }
    }

    /// The one-side hash scan (on MariaDB CONCAT_WS skips NULLs; good enough for a baseline).
    fn hash_scan_sql(self) -> String {
        match self.engine {
            Engine::Postgres => {
                "SELECT sum(('x'||substr(md5(t::text),1,16))::bit(64)::bigint) FROM events t".into()
            }
            Engine::MySql => format!(
                "SELECT SUM(CONV(SUBSTRING(MD5(CONCAT_WS('|', {})),1,16),16,10)) FROM events",
                self.columns().join(", ")
            ),
        }
    }
}

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

    /// Vacuum and statistics, so that neither side pays for the previous step's leftovers
    /// (PostgreSQL hint bits and dead rows) inside a timed command.
    fn settle_sql(self) -> &'static str {
        match self {
            Engine::Postgres => "VACUUM (ANALYZE) events;",
            Engine::MySql => "ANALYZE TABLE events;",
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
    /// The port of the thin link's proxy in front of this server, when the link is on.
    link_port: Option<u16>,
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
        Ok(Server {
            engine,
            url,
            link_port: None,
        })
    }

    /// The server's host and port, as the URL gives them.
    fn address(&self) -> (String, u16) {
        let default = match self.engine {
            Engine::Postgres => 5432,
            Engine::MySql => 3306,
        };
        (
            self.url.host_str().unwrap_or("127.0.0.1").to_string(),
            self.url.port().unwrap_or(default),
        )
    }

    /// Host and port to connect to: through the link's proxy when `via_link` and the link is
    /// on, otherwise the server itself.
    fn endpoint(&self, via_link: bool) -> (String, u16) {
        match self.link_port {
            Some(port) if via_link => ("127.0.0.1".into(), port),
            _ => self.address(),
        }
    }

    fn url_at(&self, db: &str, via_link: bool) -> Url {
        let mut url = self.url.clone();
        url.set_path(&format!("/{db}"));
        if via_link && self.link_port.is_some() {
            let (host, port) = self.endpoint(true);
            // Both only fail for URLs that cannot have a host, which a server URL has.
            let _ = url.set_host(Some(&host));
            let _ = url.set_port(Some(port));
        }
        url
    }

    /// The URL of database `db` on this server, direct (for administration and the target).
    fn db_url(&self, db: &str) -> String {
        self.url_at(db, false).to_string()
    }

    /// The URL of the source database as timed commands reach it: through the link if on.
    fn source_url(&self) -> String {
        self.url_at(SRC_DB, true).to_string()
    }

    /// The database named in the server URL, used for administration.
    fn admin_db(&self) -> String {
        self.url.path().trim_start_matches('/').to_string()
    }

    /// `mysql`-style connection options: host, port, user (the password goes in MYSQL_PWD).
    fn mysql_options(&self, via_link: bool) -> Vec<String> {
        let (host, port) = self.endpoint(via_link);
        vec![
            "--protocol=TCP".into(),
            format!("--host={host}"),
            format!("--port={port}"),
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
        self.client_at(db, false)
    }

    /// The SQL client on the source as timed commands reach it (through the link if on).
    fn source_client(&self) -> Tool {
        self.client_at(SRC_DB, true)
    }

    fn client_at(&self, db: &str, via_link: bool) -> Tool {
        match self.engine {
            Engine::Postgres => Tool::new("psql")
                .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d"])
                .arg(self.url_at(db, via_link).to_string())
                .env("PGOPTIONS", "--client-min-messages=warning"),
            Engine::MySql => self.with_password(
                Tool::new("mariadb")
                    .args(self.mysql_options(via_link))
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
        self.drop_database(PT_DB)?;
        for db in [SRC_DB, DST_DB] {
            self.drop_database(db)?;
            self.sql(&self.admin_db(), &format!("CREATE DATABASE {db}"))?;
        }
        Ok(())
    }

    /// MariaDB: database `to` with a copy of `events` of database `from` (not timed).
    fn clone_table(&self, from: &str, to: &str) -> Result<()> {
        self.drop_database(to)?;
        self.sql(
            &self.admin_db(),
            &format!(
                "CREATE DATABASE {to};
                 CREATE TABLE {to}.events LIKE {from}.events;
                 INSERT INTO {to}.events SELECT * FROM {from}.events;"
            ),
        )?;
        self.settle(to)
    }

    /// MariaDB: `CHECKSUM TABLE` of `events` in `db` (over the rows' contents, any order).
    fn checksum(&self, db: &str) -> Result<String> {
        let out = self.scalar(db, "CHECKSUM TABLE events")?;
        out.split_whitespace()
            .last()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("no checksum of {db}.events"))
    }

    fn drop_database(&self, db: &str) -> Result<()> {
        let text = match self.engine {
            Engine::Postgres => format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
            Engine::MySql => format!("DROP DATABASE IF EXISTS {db}"),
        };
        self.sql(&self.admin_db(), &text).map(drop)
    }

    /// `pg_dump | psql` or `mysqldump | mariadb` of table `events` from source (through the
    /// link if on) to target.
    fn full_copy(&self) -> [Tool; 2] {
        match self.engine {
            Engine::Postgres => [
                Tool::new("pg_dump")
                    .args(["--no-owner", "--no-privileges", "--table=events", "-d"])
                    .arg(self.source_url()),
                Tool::new("psql")
                    .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d"])
                    .arg(self.db_url(DST_DB)),
            ],
            Engine::MySql => [
                self.with_password(Tool::new("mysqldump").args(self.mysql_options(true)).args([
                    "--single-transaction",
                    "--quick",
                    SRC_DB,
                    "events",
                ])),
                self.with_password(
                    Tool::new("mariadb")
                        .args(self.mysql_options(false))
                        .arg(DST_DB),
                ),
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
        for db in [SRC_DB, DST_DB, PT_DB] {
            if let Err(e) = self.0.drop_database(db) {
                eprintln!("warning: could not drop database {db}: {e:#}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The thin link: a throttling TCP proxy in front of the source server.

/// What `--link-mbit` and `--link-rtt-ms` ask for.
#[derive(Clone, Copy, Debug)]
struct LinkSpec {
    /// Bandwidth of each direction in Mbit/s (`None`: not limited).
    mbit: Option<f64>,
    /// Round-trip time; each direction adds half of it.
    rtt: Duration,
}

impl LinkSpec {
    fn describe(&self) -> String {
        let rate = self
            .mbit
            .map_or("no rate limit".into(), |m| format!("{m} Mbit/s each way"));
        format!("{rate}, RTT {} ms", self.rtt.as_secs_f64() * 1000.0)
    }
}

/// The most one read takes from a socket; the unit of delay and pacing.
const LINK_CHUNK: usize = 32 * 1024;
/// Chunks queued per direction of a connection before the proxy stops reading (then TCP's
/// own flow control holds the sender back): at most 4 MiB in flight each way.
const LINK_QUEUE: usize = 128;

/// A TCP proxy on 127.0.0.1 that forwards to the source server, delays every chunk by rtt/2
/// and paces each direction to the rate, shared by all connections (one link, many streams).
/// It runs on its own tokio runtime, whose worker threads do the forwarding in the background.
struct Link {
    spec: LinkSpec,
    port: u16,
    shared: Arc<LinkShared>,
    _runtime: tokio::runtime::Runtime,
}

struct LinkShared {
    one_way: Duration,
    /// Per direction (to the source, from the source): the pacer, if the rate is limited.
    pacers: [Option<Pacer>; 2],
    /// Bytes forwarded from the source server to its clients, and the other way.
    from_source: AtomicU64,
    to_source: AtomicU64,
}

#[derive(Clone, Copy)]
enum Direction {
    ToSource = 0,
    FromSource = 1,
}

/// Paces one direction of the link: each chunk is sent when the previous ones have had the time
/// to cross at the link's rate (serialization delay), whichever connection they belong to.
struct Pacer {
    bytes_per_second: f64,
    next_free: Mutex<tokio::time::Instant>,
}

impl Pacer {
    /// Reserves the link for `bytes`; returns when their last bit has crossed.
    fn reserve(&self, bytes: usize) -> tokio::time::Instant {
        let mut next = self.next_free.lock().unwrap_or_else(|e| e.into_inner());
        let start = (*next).max(tokio::time::Instant::now());
        *next = start + Duration::from_secs_f64(bytes as f64 / self.bytes_per_second);
        *next
    }
}

impl Link {
    /// Starts the proxy in front of `upstream` (host, port) and returns once it listens.
    fn start(spec: LinkSpec, upstream: (String, u16)) -> Result<Link> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("bench-link")
            .enable_all()
            .build()
            .context("cannot start the link's runtime")?;
        let listener = runtime
            .block_on(TcpListener::bind(("127.0.0.1", 0)))
            .context("cannot listen on 127.0.0.1 for the link")?;
        let port = listener.local_addr()?.port();
        let pacer = || {
            spec.mbit.map(|mbit| Pacer {
                bytes_per_second: mbit * 1e6 / 8.0,
                next_free: Mutex::new(tokio::time::Instant::now()),
            })
        };
        let shared = Arc::new(LinkShared {
            one_way: spec.rtt / 2,
            pacers: [pacer(), pacer()],
            from_source: AtomicU64::new(0),
            to_source: AtomicU64::new(0),
        });
        let accepting = shared.clone();
        runtime.spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((client, _)) => {
                        tokio::spawn(link_connection(client, upstream.clone(), accepting.clone()));
                    }
                    Err(e) => {
                        eprintln!("link: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
        Ok(Link {
            spec,
            port,
            shared,
            _runtime: runtime,
        })
    }

    /// Zeroes the byte counters (before each timed command).
    fn reset(&self) {
        self.shared.from_source.store(0, Ordering::SeqCst);
        self.shared.to_source.store(0, Ordering::SeqCst);
    }

    /// Bytes forwarded from the source server since the last reset.
    fn bytes_from_source(&self) -> u64 {
        self.shared.from_source.load(Ordering::SeqCst)
    }
}

/// One client connection: connects to the server and forwards both ways until both close.
async fn link_connection(client: TcpStream, upstream: (String, u16), shared: Arc<LinkShared>) {
    let server = match TcpStream::connect((upstream.0.as_str(), upstream.1)).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("link: cannot connect to {}:{}: {e}", upstream.0, upstream.1);
            return;
        }
    };
    // Small messages (queries, protocol handshakes) must not wait for Nagle.
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::join!(
        link_forward(
            client_read,
            server_write,
            Direction::ToSource,
            shared.clone()
        ),
        link_forward(server_read, client_write, Direction::FromSource, shared),
    );
}

/// One direction of a connection: a reader that stamps each chunk with its delivery time
/// (read time + rtt/2) into a queue, and a writer that takes them in order, waits for that time
/// and for the pacer, then writes.
async fn link_forward(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    direction: Direction,
    shared: Arc<LinkShared>,
) {
    let (sender, mut queue) = mpsc::channel::<(tokio::time::Instant, Vec<u8>)>(LINK_QUEUE);
    let one_way = shared.one_way;
    let reader = async move {
        let mut buffer = vec![0u8; LINK_CHUNK];
        loop {
            let n = match from.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let due = tokio::time::Instant::now() + one_way;
            if sender.send((due, buffer[..n].to_vec())).await.is_err() {
                break;
            }
        }
        // Dropping the sender ends the writer once the queue is empty.
    };
    let writer = async move {
        while let Some((due, bytes)) = queue.recv().await {
            tokio::time::sleep_until(due).await;
            if let Some(pacer) = &shared.pacers[direction as usize] {
                tokio::time::sleep_until(pacer.reserve(bytes.len())).await;
            }
            if to.write_all(&bytes).await.is_err() {
                break;
            }
            let counter = match direction {
                Direction::ToSource => &shared.to_source,
                Direction::FromSource => &shared.from_source,
            };
            counter.fetch_add(bytes.len() as u64, Ordering::SeqCst);
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(reader, writer);
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

/// Writes the job files and builds dbdelta command lines.
struct Dbdelta {
    binary: PathBuf,
    /// Source through the link if on (the timed runs).
    job: PathBuf,
    /// Source direct (the check after a sync, which is not timed).
    direct_job: PathBuf,
    jobs: Option<u64>,
    chunk_size: Option<u64>,
}

impl Dbdelta {
    fn new(binary: PathBuf, dir: &Path, server: &Server, options: &Options) -> Result<Dbdelta> {
        let write = |name: &str, source: String| -> Result<PathBuf> {
            let quoted = |url: String| toml::Value::String(url).to_string();
            let text = format!(
                "# written by examples/bench.rs\n[source]\nurl = {}\n\n[target]\nurl = {}\n\n\
                 [[tables]]\nname = \"events\"\n",
                quoted(source),
                quoted(server.db_url(DST_DB))
            );
            let job = dir.join(name);
            std::fs::write(&job, text)
                .with_context(|| format!("cannot write {}", job.display()))?;
            Ok(job)
        };
        Ok(Dbdelta {
            binary,
            job: write("bench.toml", server.source_url())?,
            direct_job: write("direct.toml", server.db_url(SRC_DB))?,
            jobs: options.jobs,
            chunk_size: options.chunk_size,
        })
    }

    /// `dbdelta sync|diff -c JOB -q [--json] [--jobs N] [--chunk-size N]`, the source through
    /// the link if on.
    fn tool(&self, command: &str, json: bool) -> Tool {
        self.tool_with(&self.job, command, json)
    }

    /// The same, the source reached directly.
    fn direct_tool(&self, command: &str, json: bool) -> Tool {
        self.tool_with(&self.direct_job, command, json)
    }

    fn tool_with(&self, job: &Path, command: &str, json: bool) -> Tool {
        let mut tool = Tool::new(self.binary.to_string_lossy())
            .arg(command)
            .arg("-c")
            .arg(job.to_string_lossy())
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

/// What a line of a scenario's table measured (the goals look lines up by it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Line {
    DbdeltaDiff,
    Reladiff,
    PtPrint,
    PtExecute,
}

/// One line of a scenario's table.
struct Measurement {
    line: Line,
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
    /// Bytes the source server sent through the link during the command (`None`: link off).
    source_bytes: Option<u64>,
}

struct ScenarioResult {
    /// The 1-minute load average when the timed steps began and ended.
    load: (String, String),
    workload: Workload,
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

impl ScenarioResult {
    fn line(&self, line: Line) -> Option<&Figures> {
        self.lines
            .iter()
            .find(|m| m.line == line)
            .and_then(|m| m.result.as_ref().ok())
    }
}

struct Bench<'a> {
    server: &'a Server,
    workload: Workload,
    link: Option<Link>,
    dbdelta: Dbdelta,
    reladiff: Option<PathBuf>,
    pt_table_sync: Option<PathBuf>,
}

impl Bench<'_> {
    /// Fresh databases with the same `rows` rows on both sides.
    fn setup(&self, rows: u64) -> Result<()> {
        eprintln!(
            "setting up {rows} rows ({} key) on both sides …",
            self.workload.key.name()
        );
        self.server.recreate_databases()?;
        let make = self.workload.make_sql(rows);
        for db in [SRC_DB, DST_DB] {
            self.server.sql(db, &make)?;
            self.server.settle(db)?;
        }
        Ok(())
    }

    /// Turns the equal pair into the scenario's starting point; returns the rows that differ.
    fn prepare(&self, scenario: Scenario, rows: u64) -> Result<u64> {
        let differing = match scenario {
            Scenario::A => 0,
            Scenario::B => self
                .server
                .changed_rows(SRC_DB, &self.workload.spread_edit_sql())?,
            Scenario::C => {
                let count = (rows / 1000).max(1);
                let sql = self.workload.clustered_edit_sql(count);
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

    /// pt-table-sync --execute runs in MariaDB scenario B, on its own copy of the target.
    fn pt_executes(&self, scenario: Scenario) -> bool {
        scenario == Scenario::B
            && self.workload.engine == Engine::MySql
            && self.pt_table_sync.is_some()
    }

    /// Runs `stages` and collects the figures, with server counters where available and the
    /// bytes that came from the source through the link.
    fn timed(&self, stages: &[Tool], accepted: &[i32]) -> Result<(Figures, Timed)> {
        let before = (self.server.counters(SRC_DB)?, self.server.counters(DST_DB)?);
        if let Some(link) = &self.link {
            link.reset();
        }
        let timed = measure(stages)?;
        let source_bytes = self.link.as_ref().map(Link::bytes_from_source);
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
            source_bytes,
        };
        Ok((figures, timed))
    }

    fn run(&self, scenario: Scenario, rows: u64) -> Result<ScenarioResult> {
        eprintln!("scenario {} …", scenario.title());
        let differing = self.prepare(scenario, rows)?;
        let source_rows = self.server.rows(SRC_DB)?;
        if self.pt_executes(scenario) {
            // pt-table-sync --execute's own copy of the unsynced target (not timed).
            self.server.clone_table(DST_DB, PT_DB)?;
        }
        let load_before = load_average();
        let mut lines = Vec::new();

        if scenario.compares() {
            let diff = self
                .timed(&[self.dbdelta.tool("diff", true)], &[0, 1])
                .context("dbdelta diff (compare only)")?;
            lines.push(Measurement {
                line: Line::DbdeltaDiff,
                label: "dbdelta diff (compare only)".into(),
                result: Ok(diff.0),
            });
            lines.extend(self.peers(scenario, differing));
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

        let one_query = match self.workload.engine {
            Engine::Postgres => "-c",
            Engine::MySql => "-e",
        };
        let scan = self
            .server
            .source_client()
            .arg(one_query)
            .arg(self.workload.hash_scan_sql());
        let (hash_scan, _) = self.timed(&[scan], &[0]).context("hash scan")?;

        Ok(ScenarioResult {
            load: (load_before, load_average()),
            workload: self.workload,
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

    /// After a sync: `dbdelta diff` (source direct) exits 0 and both sides count the same rows.
    fn verify(&self) -> std::result::Result<(), String> {
        let check = || -> Result<()> {
            let timed = measure(&[self.dbdelta.direct_tool("diff", false)])?;
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

    /// The peers on the same work (compare only, and on MariaDB in scenario B pt-table-sync
    /// --execute too), or why they did not run. A peer's figures are reported only if its
    /// output shows that it found the `differing` rows.
    fn peers(&self, scenario: Scenario, differing: u64) -> Vec<Measurement> {
        let mut peers = vec![self.reladiff(differing)];
        if self.workload.engine != Engine::MySql {
            return peers;
        }
        peers.push(self.pt_table_sync(false, differing));
        if self.pt_executes(scenario) {
            peers.push(self.pt_table_sync(true, differing));
        }
        peers
    }

    /// `reladiff SRC events DST events -k KEY -c COL …` (every non-key column compared).
    fn reladiff(&self, differing: u64) -> Measurement {
        let label = "reladiff (compare only)".to_string();
        let Some(path) = &self.reladiff else {
            return Measurement {
                line: Line::Reladiff,
                label,
                result: Err("not installed".into()),
            };
        };
        let mut tool = Tool::new(path.to_string_lossy())
            // reladiff prints through `rich`, which wraps long lines at the terminal width.
            .env("COLUMNS", "100000")
            .arg(reladiff_url(&self.server.source_url()))
            .arg("events")
            .arg(reladiff_url(&self.server.db_url(DST_DB)))
            .arg("events")
            .args(["-k", self.workload.key_column()]);
        for column in self.workload.compared_columns() {
            tool = tool.args(["-c", column]);
        }
        let result = self
            .timed(&[tool], &[0, 1])
            .map_err(|e| format!("failed: {e:#}"))
            .and_then(|(figures, timed)| {
                let found = reladiff_found(&timed.stdout);
                if found.keys == differing {
                    Ok((figures, found))
                } else {
                    Err(format!(
                        "failed the check: its output names {} differing keys ({} '-' and {} '+' \
                         lines), {differing} rows differ by construction",
                        found.keys, found.minus, found.plus
                    ))
                }
            });
        match result {
            Ok((figures, found)) => Measurement {
                line: Line::Reladiff,
                label: format!(
                    "{label}: found {} keys ({} '-', {} '+' lines)",
                    found.keys, found.minus, found.plus
                ),
                result: Ok(figures),
            },
            Err(why) => Measurement {
                line: Line::Reladiff,
                label,
                result: Err(why),
            },
        }
    }

    /// `pt-table-sync --print|--execute --verbose SRC DST`: print compares the source with the
    /// target; execute syncs pt-table-sync's own copy of the target and is then checked
    /// against the source (`CHECKSUM TABLE`, row counts).
    fn pt_table_sync(&self, execute: bool, differing: u64) -> Measurement {
        let (line, label) = if execute {
            (
                Line::PtExecute,
                "pt-table-sync --execute (into its own copy of the target)",
            )
        } else {
            (Line::PtPrint, "pt-table-sync --print (compare only)")
        };
        let Some(path) = &self.pt_table_sync else {
            return Measurement {
                line,
                label: label.into(),
                result: Err("not installed".into()),
            };
        };
        let dsn = |db: &str, via_link: bool| {
            let (host, port) = self.server.endpoint(via_link);
            let url = &self.server.url;
            let mut dsn = format!(
                "h={host},P={port},u={},D={db},t=events",
                percent_decode(url.username())
            );
            if let Some(p) = url.password() {
                dsn.push_str(&format!(",p={}", percent_decode(p)));
            }
            dsn
        };
        let target = if execute { PT_DB } else { DST_DB };
        let tool = Tool::new(path.to_string_lossy())
            .arg(if execute { "--execute" } else { "--print" })
            .arg("--verbose")
            .arg(dsn(SRC_DB, true))
            .arg(dsn(target, false));
        // Exit 0: no differences; 2: differences found (and, with --execute, applied).
        let result = self
            .timed(&[tool], &[0, 2])
            .map_err(|e| format!("failed: {e:#}"))
            .and_then(|(mut figures, timed)| {
                let found = pt_found(&timed.stdout).ok_or_else(|| {
                    format!(
                        "failed the check: no summary line in its output: {}",
                        tail(&timed.stdout, 300)
                    )
                })?;
                if found.total() != differing {
                    return Err(format!(
                        "failed the check: it changed {} rows ({found}), {differing} rows \
                         differ by construction",
                        found.total()
                    ));
                }
                if execute {
                    self.pt_copy_equals_source()
                        .map_err(|e| format!("failed the check after --execute: {e:#}"))?;
                    figures.rows_written = found.total();
                }
                Ok((figures, found))
            });
        if execute {
            if let Err(e) = self.server.drop_database(PT_DB) {
                eprintln!("warning: could not drop database {PT_DB}: {e:#}");
            }
        }
        match result {
            Ok((figures, found)) => Measurement {
                line,
                label: format!("{label}: {found}"),
                result: Ok(figures),
            },
            Err(why) => Measurement {
                line,
                label: label.into(),
                result: Err(why),
            },
        }
    }

    /// pt-table-sync --execute's copy has the source's rows.
    fn pt_copy_equals_source(&self) -> Result<()> {
        let (src, pt) = (self.server.rows(SRC_DB)?, self.server.rows(PT_DB)?);
        ensure!(src == pt, "row counts differ: source {src}, copy {pt}");
        let (src, pt) = (self.server.checksum(SRC_DB)?, self.server.checksum(PT_DB)?);
        ensure!(src == pt, "CHECKSUM TABLE differs: source {src}, copy {pt}");
        Ok(())
    }
}

/// reladiff wants `postgresql://`, not `postgres://`.
fn reladiff_url(url: &str) -> String {
    match url.strip_prefix("postgres://") {
        Some(rest) => format!("postgresql://{rest}"),
        None => url.to_string(),
    }
}

/// What reladiff's default output lists: `- key, …` for a row as the source (first table) has
/// it, `+ key, …` as the target has it; a changed row has both.
struct ReladiffFound {
    keys: u64,
    minus: u64,
    plus: u64,
}

fn reladiff_found(stdout: &str) -> ReladiffFound {
    let mut keys = std::collections::HashSet::new();
    let (mut minus, mut plus) = (0, 0);
    for line in stdout.lines() {
        let (sign, rest) = match (line.strip_prefix("- "), line.strip_prefix("+ ")) {
            (Some(rest), _) => (&mut minus, rest),
            (_, Some(rest)) => (&mut plus, rest),
            _ => continue,
        };
        *sign += 1;
        // The key column comes first; no key of the workload contains ", ".
        keys.insert(rest.split(", ").next().unwrap_or(rest).trim().to_string());
    }
    ReladiffFound {
        keys: keys.len() as u64,
        minus,
        plus,
    }
}

/// The counts of pt-table-sync's `--verbose` summary line
/// (`#  DELETE REPLACE INSERT UPDATE ALGORITHM START END EXIT DATABASE.TABLE`).
struct PtFound {
    delete: u64,
    replace: u64,
    insert: u64,
    update: u64,
}

impl PtFound {
    fn total(&self) -> u64 {
        self.delete + self.replace + self.insert + self.update
    }
}

impl std::fmt::Display for PtFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} deletes, {} replaces, {} inserts, {} updates",
            self.delete, self.replace, self.insert, self.update
        )
    }
}

fn pt_found(stdout: &str) -> Option<PtFound> {
    stdout.lines().find_map(|line| {
        let fields: Vec<&str> = line.strip_prefix('#')?.split_whitespace().collect();
        let number = |i: usize| fields.get(i)?.parse::<u64>().ok();
        Some(PtFound {
            delete: number(0)?,
            replace: number(1)?,
            insert: number(2)?,
            update: number(3)?,
        })
    })
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

/// Bytes from the source of `a` ÷ those of `b`, where the link counted them.
fn bytes_ratio(a: &Figures, b: &Figures) -> Option<f64> {
    Some(ratio(a.source_bytes? as f64, b.source_bytes? as f64))
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
        "bytes from source (link)",
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
    let copy_label = match result.workload.engine {
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
                f.source_bytes.map_or("n/a".into(), |b| b.to_string()),
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
                "".into(),
            ]),
        };
    }
    if let Some(bytes) = bytes_ratio(&result.sync, &result.full_copy) {
        table.add_row(vec![
            "dbdelta sync bytes ÷ full copy bytes".into(),
            "".into(),
            "".into(),
            "".into(),
            "".into(),
            "".into(),
            format!("{bytes:.4}"),
            "".into(),
        ]);
    }
    align_numbers(&mut table, 1);
    println!("{table}\n");
}

/// One goal of the issue, checked against a scenario's figures.
struct Goal {
    scenario: Scenario,
    what: String,
    /// `None`: not measured (a peer not installed or failed).
    value: Option<f64>,
    limit: f64,
    /// The value must be at least the limit (otherwise at most).
    at_least: bool,
}

fn goals(result: &ScenarioResult) -> Vec<Goal> {
    let sync = result.sync.seconds;
    let copy = result.full_copy.seconds;
    let key = result.workload.key;
    let goal = |what: &str, value: Option<f64>, limit: f64| Goal {
        scenario: result.scenario,
        what: what.to_string(),
        value,
        limit,
        at_least: false,
    };
    let at_least = |what: &str, value: Option<f64>, limit: f64| Goal {
        at_least: true,
        ..goal(what, value, limit)
    };
    match result.scenario {
        Scenario::A => vec![goal(
            "sync ÷ one-side scan",
            Some(ratio(sync, result.hash_scan.seconds)),
            GOAL_A_VS_SCAN,
        )],
        Scenario::B => {
            let mut goals = vec![
                match key {
                    KeyKind::Bigint => {
                        goal("sync ÷ full copy", Some(ratio(sync, copy)), GOAL_B_VS_COPY)
                    }
                    KeyKind::Uuid | KeyKind::Text => goal(
                        &format!("sync ÷ full copy ({} key)", key.name()),
                        Some(ratio(sync, copy)),
                        GOAL_B_MD5_KEY_VS_COPY,
                    ),
                },
                goal(
                    "rows written ÷ differing rows",
                    Some(ratio(
                        result.sync.rows_written as f64,
                        result.differing as f64,
                    )),
                    GOAL_B_WRITTEN_VS_DIFFERING,
                ),
            ];
            let link = result.sync.source_bytes.is_some();
            if key == KeyKind::Bigint && link {
                goals.push(goal(
                    "sync ÷ full copy, both through the thin link",
                    Some(ratio(sync, copy)),
                    GOAL_LINK_B_VS_COPY,
                ));
                goals.push(goal(
                    "sync bytes from source ÷ full copy's (thin link)",
                    bytes_ratio(&result.sync, &result.full_copy),
                    GOAL_LINK_B_BYTES_VS_COPY,
                ));
            }
            if key == KeyKind::Bigint {
                goals.push(at_least(
                    "reladiff (compare only) ÷ sync",
                    result.line(Line::Reladiff).map(|f| ratio(f.seconds, sync)),
                    GOAL_B_RELADIFF_VS_SYNC,
                ));
            }
            if result.workload.engine == Engine::MySql {
                goals.push(at_least(
                    "pt-table-sync --execute ÷ sync",
                    result.line(Line::PtExecute).map(|f| ratio(f.seconds, sync)),
                    GOAL_B_PT_EXECUTE_VS_SYNC,
                ));
            }
            goals
        }
        // With an md5 key the newest rows are spread over the key space: no clustered goal.
        Scenario::C if key != KeyKind::Bigint => Vec::new(),
        Scenario::C => vec![goal(
            "sync ÷ full copy",
            Some(ratio(sync, copy)),
            GOAL_C_VS_COPY,
        )],
        Scenario::D => vec![goal(
            "sync ÷ full copy",
            Some(ratio(sync, copy)),
            GOAL_D_VS_COPY,
        )],
    }
}

/// A limit with the decimals it needs (1.5, 0.25, 0.05).
fn limit_text(limit: f64) -> String {
    let text = format!("{limit:.2}");
    match text.strip_suffix('0') {
        Some(short) if !short.ends_with('.') => short.to_string(),
        _ => text,
    }
}

fn print_goals(rows: u64, results: &[ScenarioResult]) {
    println!("### Goals at {rows} rows\n");
    let mut table = markdown_table(&["scenario", "goal", "measured", "limit", "met?"]);
    for g in results.iter().flat_map(goals) {
        let met = match g.value {
            None => "not measured",
            Some(v) if (g.at_least && v >= g.limit) || (!g.at_least && v <= g.limit) => "met",
            Some(_) => "missed",
        };
        table.add_row(vec![
            format!("{:?}", g.scenario),
            g.what,
            g.value.map_or("n/a".into(), |v| format!("{v:.2}")),
            format!(
                "{} {}",
                if g.at_least { "≥" } else { "≤" },
                limit_text(g.limit)
            ),
            met.to_string(),
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
        "sync ÷ copy bytes from source",
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
            bytes_ratio(&r.sync, &r.full_copy).map_or("n/a".into(), |b| format!("{b:.4}")),
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
        "- table: `events`, key {}",
        match options.key {
            KeyKind::Bigint => "`id bigint`".to_string(),
            key => format!(
                "`{MD5_KEY}` = md5(id) as {} (the integer `id` an ordinary column)",
                key.name()
            ),
        }
    );
    println!(
        "- thin link: {}",
        match options.link() {
            Some(spec) => format!(
                "{} (proxy on 127.0.0.1:{}); the source connection of every timed command \
                 goes through it, the target is reached directly",
                spec.describe(),
                server.link_port.unwrap_or(0)
            ),
            None => "off (bytes from source: n/a)".into(),
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
    let mut server = Server::new(options.engine, options.url.clone())?;
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
    let link = match options.link() {
        Some(spec) => {
            let link = Link::start(spec, server.address())?;
            server.link_port = Some(link.port);
            eprintln!(
                "thin link: {} on 127.0.0.1:{}",
                link.spec.describe(),
                link.port
            );
            Some(link)
        }
        None => None,
    };
    let bench = Bench {
        server: &server,
        workload: Workload {
            engine: options.engine,
            key: options.key,
        },
        link,
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
