//! Shared helpers for the integration tests: a pair of fresh databases (source and target) on one
//! engine, a job file pointing at them, running the real `dbdelta` binary, and reading tables back
//! with each engine's own text forms so that equality is checked value for value, independently of
//! dbdelta's checksums.
//!
//! Servers: PostgreSQL and MariaDB are taken from `DBDELTA_TEST_PG_URL` / `DBDELTA_TEST_MYSQL_URL`
//! (default: the local servers with the `test` database). When one cannot be used its tests print
//! a notice saying what is missing (the server, the login, or the database: see [`Unavailable`])
//! and pass without running, unless `DBDELTA_REQUIRE_SERVERS=1` (set by `.ci/run`), which turns
//! every such case into a failure.

#![allow(dead_code)] // each test file uses a different part of these helpers

pub mod exact;
pub mod matrix;
pub mod random;
pub mod scenario;
pub mod slow_link;

use sqlx::mysql::{MySqlDatabaseError, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{MySqlPool, PgPool, Row, SqlitePool, TypeInfo, ValueRef};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Postgres,
    MySql,
    Sqlite,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Source,
    Target,
}

pub fn pg_admin_url() -> String {
    std::env::var("DBDELTA_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub fn mysql_admin_url() -> String {
    std::env::var("DBDELTA_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

fn servers_required() -> bool {
    std::env::var("DBDELTA_REQUIRE_SERVERS").is_ok_and(|v| v == "1")
}

/// Why a test server cannot be used, told from the error of connecting to it, so that a skipped
/// test says what to fix rather than calling a running server unreachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// Nothing listens there, or nothing answered in time.
    Server,
    /// The server refused the role or its password.
    Login,
    /// The server runs and took the login, but the URL's database does not exist.
    Database,
    /// Any other failure (TLS, protocol, a server error of another kind).
    Other,
}

impl Unavailable {
    /// Classifies a connection error: PostgreSQL by SQLSTATE (`3D000` invalid_catalog_name,
    /// `28000` invalid_authorization_specification, `28P01` invalid_password), MySQL by error
    /// number (1049 unknown database; 1044, 1045 and 1698 access denied), and the socket's own
    /// errors.
    pub fn of(error: &sqlx::Error) -> Unavailable {
        match error {
            sqlx::Error::Database(e) => match e.try_downcast_ref::<MySqlDatabaseError>() {
                Some(mysql) => match mysql.number() {
                    1049 => Unavailable::Database,
                    1044 | 1045 | 1698 => Unavailable::Login,
                    _ => Unavailable::Other,
                },
                None => match e.code().as_deref() {
                    Some("3D000") => Unavailable::Database,
                    Some("28000" | "28P01") => Unavailable::Login,
                    _ => Unavailable::Other,
                },
            },
            sqlx::Error::Io(e) => match e.kind() {
                std::io::ErrorKind::ConnectionRefused
                | std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::NotFound
                | std::io::ErrorKind::TimedOut
                | std::io::ErrorKind::HostUnreachable
                | std::io::ErrorKind::NetworkUnreachable
                | std::io::ErrorKind::AddrNotAvailable => Unavailable::Server,
                _ => Unavailable::Other,
            },
            sqlx::Error::PoolTimedOut => Unavailable::Server,
            _ => Unavailable::Other,
        }
    }

    /// What is missing at `url`, for the notice or the failure.
    pub fn describe(self, engine: Engine, url: &str) -> String {
        let database = url::Url::parse(url)
            .map(|u| u.path().trim_start_matches('/').to_string())
            .unwrap_or_default();
        match self {
            Unavailable::Server => format!("no {engine:?} server answers at {url}"),
            Unavailable::Login => format!("the {engine:?} server at {url} refuses the login"),
            Unavailable::Database => format!(
                "the {engine:?} server at {url} runs, but has no database `{database}` \
                 (create it: CREATE DATABASE {database})"
            ),
            Unavailable::Other => format!("cannot use the {engine:?} server at {url}"),
        }
    }
}

/// `url` with its database (the path) replaced.
pub fn with_database(url: &str, database: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("test server URL parses");
    parsed.set_path(&format!("/{database}"));
    parsed.to_string()
}

/// A name no other test (or earlier run) uses at the same time.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{}_{:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos & 0xffff
    )
}

#[derive(Clone)]
pub enum Conn {
    Pg(PgPool),
    My(MySqlPool),
    Lite(SqlitePool),
}

impl Conn {
    /// Runs one or more statements.
    pub async fn exec(&self, sql: &str) {
        if let Err(e) = self.try_exec(sql).await {
            panic!("test SQL failed: {e}\n{sql}");
        }
    }

    /// Runs one or more statements, returning the error instead of failing the test.
    pub async fn try_exec(&self, sql: &str) -> Result<(), sqlx::Error> {
        match self {
            Conn::Pg(p) => sqlx::raw_sql(sql).execute(p).await.map(|_| ()),
            Conn::My(p) => sqlx::raw_sql(sql).execute(p).await.map(|_| ()),
            Conn::Lite(p) => sqlx::raw_sql(sql).execute(p).await.map(|_| ()),
        }
    }

    /// Reads every row as text: PostgreSQL and MySQL queries must select text; SQLite values are
    /// tagged with their storage class and floats printed exactly. PostgreSQL statements are not
    /// kept prepared: a table dropped and created again with another collation of a column makes
    /// the same query text select another result type (`cached plan must not change result
    /// type`).
    pub async fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        let fail = |e: sqlx::Error| -> ! { panic!("test query failed: {e}\n{sql}") };
        match self {
            Conn::Pg(p) => text_rows(
                &sqlx::query(sql)
                    .persistent(false)
                    .fetch_all(p)
                    .await
                    .unwrap_or_else(|e| fail(e)),
            ),
            Conn::My(p) => text_rows(
                &sqlx::query(sql)
                    .fetch_all(p)
                    .await
                    .unwrap_or_else(|e| fail(e)),
            ),
            Conn::Lite(p) => {
                let rows = sqlx::query(sql)
                    .fetch_all(p)
                    .await
                    .unwrap_or_else(|e| fail(e));
                rows.iter()
                    .map(|r| (0..r.columns().len()).map(|i| sqlite_text(r, i)).collect())
                    .collect()
            }
        }
    }

    pub async fn count(&self, table: &str) -> i64 {
        self.count_where(table, "1 = 1").await
    }

    /// Rows of `table` matching `condition`.
    pub async fn count_where(&self, table: &str, condition: &str) -> i64 {
        let expr = match self {
            Conn::Pg(_) => "COUNT(*)::text",
            Conn::My(_) => "CAST(COUNT(*) AS CHAR)",
            Conn::Lite(_) => "COUNT(*)",
        };
        let rows = self
            .rows(&format!("SELECT {expr} FROM {table} WHERE {condition}"))
            .await;
        let text = rows[0][0].clone().unwrap_or_default();
        text.trim_start_matches("i:")
            .parse()
            .expect("count is a number")
    }

    async fn close(&self) {
        match self {
            Conn::Pg(p) => p.close().await,
            Conn::My(p) => p.close().await,
            Conn::Lite(p) => p.close().await,
        }
    }
}

/// Rows whose every column is selected as text (PostgreSQL, MySQL).
fn text_rows<R: Row>(rows: &[R]) -> Vec<Vec<Option<String>>>
where
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    rows.iter()
        .map(|r| {
            (0..r.columns().len())
                .map(|i| r.get::<Option<String>, _>(i))
                .collect()
        })
        .collect()
}

fn sqlite_text(row: &sqlx::sqlite::SqliteRow, i: usize) -> Option<String> {
    let raw = row.try_get_raw(i).expect("column exists");
    if raw.is_null() {
        return None;
    }
    let storage = raw.type_info().name().to_string();
    Some(match storage.as_str() {
        "INTEGER" => format!("i:{}", row.get::<i64, _>(i)),
        "REAL" => format!("r:{:?}", row.get::<f64, _>(i)),
        "BLOB" => format!("b:{}", hex::encode(row.get::<Vec<u8>, _>(i))),
        _ => format!("t:{}", row.get::<String, _>(i)),
    })
}

/// A fresh source and target database on one engine, dropped again when the value is dropped.
pub struct Pair {
    pub engine: Engine,
    pub source_url: String,
    pub target_url: String,
    pub source: Conn,
    pub target: Conn,
    /// Holds the job file (and the SQLite databases).
    pub dir: tempfile::TempDir,
    admin: Option<Conn>,
    admin_url: String,
    databases: Vec<String>,
}

impl Pair {
    /// `None` (after a printed notice) when the engine's server is unreachable and not required.
    pub async fn new(engine: Engine) -> Option<Pair> {
        let dir = tempfile::tempdir().expect("temp dir");
        match engine {
            Engine::Sqlite => {
                let mut conns = Vec::new();
                let mut urls = Vec::new();
                for name in ["source.db", "target.db"] {
                    let options = SqliteConnectOptions::new()
                        .filename(dir.path().join(name))
                        .create_if_missing(true);
                    let pool = SqlitePoolOptions::new()
                        .max_connections(1)
                        .connect_with(options)
                        .await
                        .expect("create SQLite database");
                    conns.push(Conn::Lite(pool));
                    urls.push(format!("sqlite://{name}"));
                }
                let target = conns.pop()?;
                let source = conns.pop()?;
                Some(Pair {
                    engine,
                    target_url: urls.pop()?,
                    source_url: urls.pop()?,
                    source,
                    target,
                    dir,
                    admin: None,
                    admin_url: String::new(),
                    databases: vec![],
                })
            }
            Engine::Postgres | Engine::MySql => {
                let admin_url = match engine {
                    Engine::Postgres => pg_admin_url(),
                    _ => mysql_admin_url(),
                };
                let admin = match connect(engine, &admin_url).await {
                    Ok(c) => c,
                    Err(e) => {
                        let what =
                            format!("{}: {e}", Unavailable::of(&e).describe(engine, &admin_url));
                        if servers_required() {
                            panic!("{what} (DBDELTA_REQUIRE_SERVERS=1)");
                        }
                        eprintln!("NOTICE: skipping this test: {what}");
                        return None;
                    }
                };
                let names = [unique_name("dbdelta_src"), unique_name("dbdelta_dst")];
                for n in &names {
                    admin.exec(&format!("CREATE DATABASE {n}")).await;
                }
                let source_url = with_database(&admin_url, &names[0]);
                let target_url = with_database(&admin_url, &names[1]);
                let source = connect(engine, &source_url)
                    .await
                    .expect("connect to new source database");
                let target = connect(engine, &target_url)
                    .await
                    .expect("connect to new target database");
                Some(Pair {
                    engine,
                    source_url,
                    target_url,
                    source,
                    target,
                    dir,
                    admin: Some(admin),
                    admin_url,
                    databases: names.to_vec(),
                })
            }
        }
    }

    pub fn conn(&self, side: Side) -> &Conn {
        match side {
            Side::Source => &self.source,
            Side::Target => &self.target,
        }
    }

    /// Runs the same SQL on both sides.
    pub async fn exec_both(&self, sql: &str) {
        self.source.exec(sql).await;
        self.target.exec(sql).await;
    }

    /// Writes `sync.toml` with this pair's URLs followed by `rest`, and returns its path.
    pub fn job_file(&self, rest: &str) -> PathBuf {
        write_job(
            &self.dir.path().join("sync.toml"),
            &self.source_url,
            &self.target_url,
            rest,
        )
    }

    /// Closes the pools and drops the databases (also done on drop, without waiting).
    pub async fn cleanup(mut self) {
        self.drop_databases().await;
    }

    async fn drop_databases(&mut self) {
        self.source.close().await;
        self.target.close().await;
        if let Some(admin) = self.admin.take() {
            for n in self.databases.drain(..) {
                admin.exec(&drop_database_sql(self.engine, &n)).await;
            }
            admin.close().await;
        }
    }
}

impl Drop for Pair {
    /// A test that panicked never reached `cleanup`: drop its databases from a helper thread.
    fn drop(&mut self) {
        if self.databases.is_empty() {
            return;
        }
        let databases = std::mem::take(&mut self.databases);
        let engine = self.engine;
        let admin_url = self.admin_url.clone();
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                // The test's own pools belong to its (possibly dead) runtime: connect afresh.
                let Ok(admin) = connect(engine, &admin_url).await else {
                    return;
                };
                for n in databases {
                    let sql = drop_database_sql(engine, &n);
                    let _ = match &admin {
                        Conn::Pg(p) => sqlx::raw_sql(&sql).execute(p).await.map(|_| ()),
                        Conn::My(p) => sqlx::raw_sql(&sql).execute(p).await.map(|_| ()),
                        Conn::Lite(_) => Ok(()),
                    };
                }
            });
        })
        .join();
    }
}

fn drop_database_sql(engine: Engine, name: &str) -> String {
    match engine {
        // FORCE ends sessions a failed test may have left open.
        Engine::Postgres => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        _ => format!("DROP DATABASE IF EXISTS {name}"),
    }
}

pub async fn connect(engine: Engine, url: &str) -> Result<Conn, sqlx::Error> {
    let timeout = Duration::from_secs(5);
    Ok(match engine {
        Engine::Postgres => Conn::Pg(
            PgPoolOptions::new()
                .max_connections(2)
                .acquire_timeout(timeout)
                // Shortest exact float text, so read-backs compare floats exactly.
                .connect_with(PgConnectOptions::from_str(url)?.extra_float_digits(3))
                .await?,
        ),
        Engine::MySql => Conn::My(
            MySqlPoolOptions::new()
                .max_connections(2)
                .acquire_timeout(timeout)
                .connect(url)
                .await?,
        ),
        Engine::Sqlite => unreachable!("SQLite pairs are created directly"),
    })
}

/// A table `t (id, v)` with ids 1..=rows: `v = 'new'` in the source, `'old'` in the target, so
/// every row differs and every chunk must be written.
pub async fn new_and_old(pair: &Pair, rows: i64) {
    let text = if pair.engine == Engine::MySql {
        "varchar(10)"
    } else {
        "text"
    };
    pair.exec_both(&format!(
        "CREATE TABLE t (id integer PRIMARY KEY, v {text})"
    ))
    .await;
    for (conn, value) in [(&pair.source, "new"), (&pair.target, "old")] {
        for start in (1..=rows).step_by(5000) {
            let values: Vec<String> = (start..(start + 5000).min(rows + 1))
                .map(|i| format!("({i}, '{value}')"))
                .collect();
            conn.exec(&format!("INSERT INTO t VALUES {}", values.join(", ")))
                .await;
        }
    }
}

/// Writes a job file at `path` with these URLs followed by `rest`, and returns the path.
pub fn write_job(path: &Path, source_url: &str, target_url: &str, rest: &str) -> PathBuf {
    let text =
        format!("[source]\nurl = \"{source_url}\"\n[target]\nurl = \"{target_url}\"\n{rest}");
    std::fs::write(path, text).expect("write job file");
    path.to_path_buf()
}

/// Runs the real binary in `dir` with `args`.
pub fn dbdelta(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_dbdelta"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run dbdelta")
}

/// Stdout and stderr of a run, for assertion messages.
pub fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `dbdelta <args> --json` and returns the exit code and the parsed report.
pub fn dbdelta_json(dir: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let mut all: Vec<&str> = args.to_vec();
    all.push("--json");
    let output = dbdelta(dir, &all);
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", describe(&output)));
    (output.status.code().unwrap_or(-1), report)
}

/// The one table entry of a JSON report.
pub fn table_report<'a>(report: &'a serde_json::Value, table: &str) -> &'a serde_json::Value {
    report["tables"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["table"] == table))
        .unwrap_or_else(|| panic!("no table {table} in report {report:#}"))
}
