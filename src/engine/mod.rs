//! The database layer: one connection pool per side, and everything dbdelta asks of a database.
//!
//! [`Db`] wraps a pool of one of the three engines (a closed set, so an enum, not a trait object)
//! and offers the operations the pipeline needs: introspect a table, find chunk boundaries,
//! checksum a chunk, list `(key, row hash)` pairs, fetch rows, apply changes in one transaction.
//! Rows read from a side with data rules are transformed here, once, so every caller (checksums,
//! listings, copies) sees the rows the target is meant to hold.
//! The SQL text of these operations is assembled in `sql` from per-engine pieces (quoting,
//! parameters, canonical expressions) that live in that engine's file; the sqlx calls are written
//! once here, expanded for each pool type by the `on_pool!` macro. A `Db` may instead be bound to
//! one transaction (a `Session`): a chunk's read snapshot of the source, or the single
//! transaction of a `--defer-constraints` run; `on_pool!` then runs every statement in it.

pub mod mysql;
pub mod postgres;
mod sql;
pub mod sqlite;
pub mod types;

use crate::config::{DbUrl, EngineKind};
use crate::rules::TableRules;
use crate::value::{key_bucket, row_hash, sum_mod_2_64, Key, TypeClass, Value};
use anyhow::{anyhow, bail, Context, Result};
use md5::Digest;
use sqlx::{Connection as _, MySqlPool, PgPool, Row, SqlitePool};
use std::time::Duration;

/// One column as introspected.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    /// The engine's full type name (`numeric(12,2)`, `varchar(16)`), for messages.
    pub decl_type: String,
    /// The type a bound parameter is cast to before it reaches this column (PostgreSQL only).
    pub cast_type: String,
    pub class: TypeClass,
    pub nullable: bool,
    /// The database fills the column when an INSERT omits it (default, identity, auto-increment).
    pub has_default: bool,
    /// A generated (computed) column: read but never written.
    pub generated: bool,
}

/// A table as one side describes it.
#[derive(Debug, Clone)]
pub struct TableInfo {
    pub columns: Vec<Column>,
    /// Primary-key columns in key order; empty when the table has none.
    pub primary_key: Vec<String>,
    /// Every unique, non-partial index (the primary key first), as column lists.
    pub unique_keys: Vec<Vec<String>>,
}

/// A table found by listing a database (for `dbdelta init`).
#[derive(Debug, Clone)]
pub struct SourceTable {
    /// The name as a job file writes it: `table`, or `schema.table` where the engine needs one.
    pub name: String,
    /// A part of the name contains `.`, so no job-file name can point at it.
    pub naming_conflict: bool,
    /// The row count the engine's statistics estimate, where it keeps one.
    pub rows_estimate: Option<u64>,
}

/// What one side reads and writes for a table: the quoted table name, the shared columns in the
/// agreed order, and the positions of the key columns among them.
#[derive(Debug, Clone)]
pub struct TableSide {
    pub table: String,
    pub columns: Vec<Column>,
    pub key: Vec<usize>,
    /// The subset condition (SQL from the job file); every read and write stays inside it.
    pub filter: Option<String>,
    /// `table` is a subquery (`(SELECT …) AS …`): read-only, and without key order to chunk by.
    pub from_query: bool,
    /// Hash rows here instead of in SQL: set for both sides of a pair of different engines when a
    /// column's canonical text cannot be produced in SQL (floats, JSON; see [`crate::value`]).
    pub hash_in_process: bool,
    /// Both sides are the same server engine with identical column declarations: rows are hashed
    /// over each value's own exact text instead of the canonical expressions (the native row
    /// hashes of [`crate::value`]), and PostgreSQL chunks are piped `COPY` to `COPY`.
    pub native_rows: bool,
    /// Data rules (source side only): every row read is transformed before it is hashed or
    /// written, so such a side is always hashed in-process and never piped (see [`crate::rules`]).
    pub rules: Option<TableRules>,
}

impl TableSide {
    pub fn key_columns(&self) -> impl Iterator<Item = &Column> {
        self.key.iter().map(|&i| &self.columns[i])
    }

    /// A row as read, turned into the row the target gets (unchanged without data rules).
    fn transform(&self, row: Vec<Value>) -> Result<Vec<Value>> {
        match &self.rules {
            Some(rules) => rules.apply(row),
            None => Ok(row),
        }
    }
}

/// A half-open key range `[lower, upper)`; `None` is unbounded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyRange {
    pub lower: Option<Key>,
    pub upper: Option<Key>,
}

/// Which rows of a table one chunk holds (see [`crate::plan`] for when each is used).
#[derive(Debug, Clone, PartialEq)]
pub enum Chunk {
    /// The rows whose key lies in a range, in the key's order.
    Range(KeyRange),
    /// The rows whose key hashes to bucket `index` of `of` (see [`crate::value::key_bucket`]).
    Bucket { index: u64, of: u64 },
}

/// How a table's chunks can all be checksummed in one grouped scan per side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// Hash buckets `0..of`.
    Buckets { of: u64 },
}

impl Grouping {
    /// The chunk a key falls into.
    pub fn chunk_of(&self, key_classes: &[TypeClass], key: &[Value]) -> u64 {
        match *self {
            Grouping::Buckets { of } => key_bucket(key_classes, key, of),
        }
    }
}

impl Chunk {
    /// The whole table (or subset) as one chunk.
    pub fn everything() -> Chunk {
        Chunk::Range(KeyRange::default())
    }
}

/// Row count and order-independent hash sum of a chunk (see [`crate::value`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checksum {
    pub rows: u64,
    pub sum: u64,
}

/// How a selected column travels over the wire, i.e. which Rust type it is decoded into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    Int,
    /// An unsigned 64-bit integer (MySQL `BIGINT UNSIGNED`), refused past the signed range.
    UInt,
    Float,
    Bool,
    Bytes,
    Text,
    /// A 64-bit row hash (signed on PostgreSQL, unsigned on MySQL), decoded as its bits.
    Hash,
}

/// Whether an error means the connection was lost (killed, reset, server restarting) rather than
/// that the statement was wrong: such a chunk can simply be tried again on a new connection.
pub fn is_transient(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| match cause.downcast_ref::<sqlx::Error>() {
            Some(sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Protocol(_)) => true,
            Some(sqlx::Error::Database(db)) => {
                let code = db.code().unwrap_or_default();
                // PostgreSQL: admin shutdown / crash shutdown / cannot connect now, connection
                // exceptions (08…); MySQL: server gone away, lost connection, connection killed.
                matches!(
                    code.as_ref(),
                    "57P01" | "57P02" | "57P03" | "70100" | "1927" | "2006" | "2013" | "1053"
                ) || code.starts_with("08")
            }
            _ => false,
        })
}

/// The wire type a column of this engine is read and written as.
pub fn wire_of(kind: EngineKind, column: &Column) -> Wire {
    sql::column_wire(kind, column)
}

/// A bound value with the wire type of the column it is compared with or written to.
///
/// PostgreSQL prepares a statement once per SQL text and fixes its parameter types then, so every
/// execution must bind the same types in the same positions: NULLs are bound typed, and values
/// are coerced to the column's wire type.
#[derive(Debug, Clone)]
pub struct Param {
    value: Value,
    wire: Wire,
}

impl Param {
    pub fn new(value: Value, wire: Wire) -> Param {
        let value = match (value, wire) {
            (Value::Int(i), Wire::Float) => Value::Float(i as f64),
            (Value::Int(i), Wire::Bool) => Value::Bool(i != 0),
            (Value::Bool(b), Wire::Int) => Value::Int(i64::from(b)),
            (Value::Int(i), Wire::Text) => Value::Text(i.to_string()),
            (Value::Float(f), Wire::Text) => Value::Text(f.to_string()),
            (value, _) => value,
        };
        Param { value, wire }
    }
}

/// A statement and its bound parameters.
pub type Statement = (String, Vec<Param>);

/// A statement as text for people (`sync --dry-run -v`): the SQL, then its parameters in order
/// as a JSON array.
pub fn describe_statement((text, params): &Statement) -> String {
    if params.is_empty() {
        return format!("{text};");
    }
    let values: Vec<&Value> = params.iter().map(|p| &p.value).collect();
    let values = serde_json::to_string(&values).unwrap_or_default();
    format!("{text}; -- parameters: {values}")
}

#[derive(Clone)]
enum Pool {
    Postgres(PgPool),
    MySql(MySqlPool),
    Sqlite(SqlitePool),
}

/// A transaction that every statement of a [`Db`] goes through instead of the pool: a chunk's
/// consistent snapshot of the source ([`Db::snapshot`]), or the one transaction of a
/// `--defer-constraints` run on the target ([`Db::run_transaction`]).
enum Session {
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    MySql(sqlx::Transaction<'static, sqlx::MySql>),
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
}

/// Runs `$body` with `$p` bound to the database's session if it has one, else to its pool, so
/// sqlx code is written once for all engines and both kinds of executor.
macro_rules! on_pool {
    ($db:expr, $p:ident => $body:expr) => {
        match (&$db.session, &$db.pool) {
            (Some(session), _) => match &mut *session.lock().await {
                Session::Postgres(tx) => {
                    let $p = &mut **tx;
                    $body
                }
                Session::MySql(tx) => {
                    let $p = &mut **tx;
                    $body
                }
                Session::Sqlite(tx) => {
                    let $p = &mut **tx;
                    $body
                }
            },
            (None, Pool::Postgres($p)) => $body,
            (None, Pool::MySql($p)) => $body,
            (None, Pool::Sqlite($p)) => $body,
        }
    };
}

/// Like `on_pool!` for PostgreSQL-only code (`COPY`, arrays): `Some` of the body's value on a
/// PostgreSQL database, `None` elsewhere.
macro_rules! on_postgres {
    ($db:expr, $p:ident => $body:expr) => {
        match (&$db.session, &$db.pool) {
            (Some(session), _) => match &mut *session.lock().await {
                Session::Postgres(tx) => {
                    let $p = &mut **tx;
                    Some($body)
                }
                _ => None,
            },
            (None, Pool::Postgres($p)) => Some($body),
            (None, _) => None,
        }
    };
}

/// Binds every value of `$params` to `$query` in order.
macro_rules! bind_values {
    ($query:expr, $params:expr) => {{
        let mut q = $query;
        for p in $params {
            q = match &p.value {
                Value::Null => match p.wire {
                    Wire::Int => q.bind(None::<i64>),
                    Wire::Float => q.bind(None::<f64>),
                    Wire::Bool => q.bind(None::<bool>),
                    Wire::Bytes => q.bind(None::<Vec<u8>>),
                    Wire::UInt | Wire::Text | Wire::Hash => q.bind(None::<String>),
                },
                Value::Int(x) => q.bind(*x),
                Value::Float(x) => q.bind(*x),
                Value::Bool(x) => q.bind(*x),
                Value::Text(x) => q.bind(x.as_str()),
                Value::Bytes(x) => q.bind(x.as_slice()),
            };
        }
        q
    }};
}

/// Decoding of a result row into neutral values, per engine.
trait RowValues {
    fn values(&self, wires: &[Wire]) -> Result<Vec<Value>>;
}

/// PostgreSQL and MySQL rows carry static types, so each column decodes into its wire type.
macro_rules! typed_row_values {
    ($row:ty, $hash:ty, $uint:ty) => {
        impl RowValues for $row {
            fn values(&self, wires: &[Wire]) -> Result<Vec<Value>> {
                wires
                    .iter()
                    .enumerate()
                    .map(|(i, wire)| {
                        let v = match wire {
                            Wire::Int => self.try_get::<Option<i64>, _>(i)?.map(Value::Int),
                            Wire::UInt => match self.try_get::<Option<$uint>, _>(i)? {
                                Some(u) => Some(Value::Int(i64::try_from(u).map_err(|_| {
                                    anyhow!("unsigned value {u} exceeds the supported integer range")
                                })?)),
                                None => None,
                            },
                            Wire::Float => self.try_get::<Option<f64>, _>(i)?.map(Value::Float),
                            Wire::Bool => self.try_get::<Option<bool>, _>(i)?.map(Value::Bool),
                            Wire::Bytes => self.try_get::<Option<Vec<u8>>, _>(i)?.map(Value::Bytes),
                            Wire::Text => self.try_get::<Option<String>, _>(i)?.map(Value::Text),
                            // The hash's bits, whatever signedness the engine reports.
                            Wire::Hash => self
                                .try_get::<Option<$hash>, _>(i)?
                                .map(|h| Value::Int(h as i64)),
                        };
                        Ok(v.unwrap_or(Value::Null))
                    })
                    .collect()
            }
        }
    };
}
typed_row_values!(sqlx::postgres::PgRow, i64, i64);
typed_row_values!(sqlx::mysql::MySqlRow, u64, u64);

impl RowValues for sqlx::sqlite::SqliteRow {
    /// SQLite values are dynamically typed: decode by each value's storage class, not the column.
    fn values(&self, wires: &[Wire]) -> Result<Vec<Value>> {
        use sqlx::{TypeInfo, ValueRef};
        (0..wires.len())
            .map(|i| {
                let raw = self.try_get_raw(i)?;
                if raw.is_null() {
                    return Ok(Value::Null);
                }
                let storage = raw.type_info().name().to_string();
                Ok(match storage.as_str() {
                    "INTEGER" => Value::Int(self.try_get_unchecked::<i64, _>(i)?),
                    "REAL" => Value::Float(self.try_get_unchecked::<f64, _>(i)?),
                    "BLOB" => Value::Bytes(self.try_get_unchecked::<Vec<u8>, _>(i)?),
                    _ => Value::Text(self.try_get_unchecked::<String, _>(i)?),
                })
            })
            .collect()
    }
}

/// A held table lock (see [`Db::lock_table`]). The server connections are detached from the pool,
/// so that even a guard that is only dropped ends the session, and the lock with it.
pub enum TableLock {
    Postgres(sqlx::postgres::PgConnection),
    MySql(sqlx::mysql::MySqlConnection),
    File(std::fs::File),
}

impl TableLock {
    /// Releases the lock by closing its session (or file).
    pub async fn release(self) {
        // A failed close still drops the socket, which ends the session all the same.
        let _ = match self {
            TableLock::Postgres(c) => c.close().await,
            TableLock::MySql(c) => c.close().await,
            TableLock::File(_) => Ok(()),
        };
    }
}

/// What [`Db::pipe_chunk`] moved: rows, and the bytes of `COPY` text between the two servers.
#[derive(Debug, Clone, Copy)]
pub struct Piped {
    pub rows: u64,
    pub bytes: u64,
}

/// A connected database: one side of a job.
pub struct Db {
    pub kind: EngineKind,
    pool: Pool,
    /// The location with any password hidden; the only form used in messages.
    pub display: String,
    /// Engine, host, port and database (or the SQLite file): what names this database.
    location: String,
    /// SQLite allows one writer at a time; chunks take turns here instead of failing with BUSY.
    write_gate: tokio::sync::Mutex<()>,
    /// The transaction all statements go through, if any (see [`Session`]).
    session: Option<tokio::sync::Mutex<Session>>,
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Bytes gathered before a piece of `COPY` data is sent.
const COPY_BUFFER: usize = 1 << 20;

/// Makes one connection and closes it again, so that a refused or unreachable server fails at
/// once with the server's own reason; pools would keep retrying until their timeout.
async fn check_connection<C: sqlx::Connection>(
    options: &C::Options,
    timeout: Duration,
) -> Result<()> {
    let connection = tokio::time::timeout(timeout, C::connect_with(options))
        .await
        .map_err(|_| anyhow!("no answer within {} seconds", timeout.as_secs()))??;
    connection.close().await?;
    Ok(())
}

impl Db {
    /// Opens a pool of at most `connections` connections and checks that one can be made.
    /// `disable_integrity` turns foreign key checks off in every session (`--disable-integrity`).
    pub async fn connect(url: &DbUrl, connections: u32, disable_integrity: bool) -> Result<Db> {
        let (limit, timeout, off) = (connections, CONNECT_TIMEOUT, disable_integrity);
        let pool = match url.engine {
            EngineKind::Postgres => {
                Pool::Postgres(postgres::connect(url, limit, timeout, off).await?)
            }
            EngineKind::MySql => Pool::MySql(mysql::connect(url, limit, timeout, off).await?),
            EngineKind::Sqlite => Pool::Sqlite(sqlite::connect(url, limit, timeout, off).await?),
        };
        Ok(Db {
            kind: url.engine,
            pool,
            display: url.display.clone(),
            location: url.location(),
            write_gate: tokio::sync::Mutex::new(()),
            session: None,
        })
    }

    /// This database seen through one read-only transaction on one connection: every read made
    /// through the returned `Db` sees the same snapshot, however the data changes meanwhile
    /// (PostgreSQL `REPEATABLE READ`, MySQL `WITH CONSISTENT SNAPSHOT`, a SQLite read
    /// transaction). A chunk's comparison and copy read the source through one of these, so what
    /// is written is exactly what was compared. Kept per chunk, not per run, so that no snapshot
    /// holds back the server's cleanup for long.
    pub async fn snapshot(&self) -> Result<Db> {
        let session = match &self.pool {
            Pool::Postgres(p) => Session::Postgres(p.begin_with(postgres::SNAPSHOT_BEGIN).await?),
            Pool::MySql(p) => Session::MySql(p.begin_with(mysql::SNAPSHOT_BEGIN).await?),
            Pool::Sqlite(p) => Session::Sqlite(p.begin().await?),
        };
        Ok(self.with_session(session))
    }

    /// This database seen through one read-write transaction in which foreign keys are checked
    /// only at commit (`--defer-constraints`): PostgreSQL `SET CONSTRAINTS ALL DEFERRED` (for
    /// constraints declared `DEFERRABLE`), SQLite `PRAGMA defer_foreign_keys`. Each chunk then
    /// writes in a savepoint of it, and nothing is visible until [`Db::finish`] commits.
    /// MySQL has no deferred constraints.
    pub async fn run_transaction(&self) -> Result<Db> {
        let session = match &self.pool {
            Pool::Postgres(p) => {
                let mut tx = p.begin().await?;
                sqlx::query(postgres::DEFER_CONSTRAINTS)
                    .execute(&mut *tx)
                    .await?;
                Session::Postgres(tx)
            }
            // Refused before connecting (`Job::check_writable`).
            Pool::MySql(_) => bail!("MySQL/MariaDB cannot defer foreign key checks"),
            Pool::Sqlite(p) => {
                let mut tx = p.begin().await?;
                sqlx::query(sqlite::DEFER_CONSTRAINTS)
                    .execute(&mut *tx)
                    .await?;
                Session::Sqlite(tx)
            }
        };
        Ok(self.with_session(session))
    }

    fn with_session(&self, session: Session) -> Db {
        Db {
            kind: self.kind,
            pool: self.pool.clone(),
            display: self.display.clone(),
            location: self.location.clone(),
            write_gate: tokio::sync::Mutex::new(()),
            session: Some(tokio::sync::Mutex::new(session)),
        }
    }

    /// Commits the session of a `Db` from [`Db::snapshot`] or [`Db::run_transaction`]. Dropping
    /// such a `Db` instead rolls its transaction back.
    pub async fn finish(self) -> Result<()> {
        match self.session.map(tokio::sync::Mutex::into_inner) {
            Some(Session::Postgres(tx)) => tx.commit().await?,
            Some(Session::MySql(tx)) => tx.commit().await?,
            Some(Session::Sqlite(tx)) => tx.commit().await?,
            None => {}
        }
        Ok(())
    }

    /// The table's columns and keys, or `None` when it does not exist.
    pub async fn table_info(&self, name: &str) -> Result<Option<TableInfo>> {
        match &self.pool {
            Pool::Postgres(p) => postgres::table_info(p, name).await,
            Pool::MySql(p) => mysql::table_info(p, name).await,
            Pool::Sqlite(p) => sqlite::table_info(p, name).await,
        }
        .with_context(|| {
            format!(
                "cannot read the definition of table {name} on {}",
                self.display
            )
        })
    }

    /// The foreign keys among these tables, as `(child, parent)` positions in `tables`.
    pub async fn foreign_keys(&self, tables: &[String]) -> Result<Vec<(usize, usize)>> {
        let pairs = match &self.pool {
            Pool::Postgres(p) => {
                let quoted: Vec<String> = tables.iter().map(|t| self.quote_table(t)).collect();
                postgres::foreign_keys(p, &quoted).await
            }
            Pool::MySql(p) => mysql::foreign_keys(p, tables).await,
            Pool::Sqlite(p) => sqlite::foreign_keys(p, tables).await,
        };
        pairs.with_context(|| format!("on {}", self.display))
    }

    /// The database's user tables (base tables, no views), in a stable order.
    pub async fn list_tables(&self) -> Result<Vec<SourceTable>> {
        match &self.pool {
            Pool::Postgres(p) => postgres::list_tables(p).await,
            Pool::MySql(p) => mysql::list_tables(p).await,
            Pool::Sqlite(p) => sqlite::list_tables(p).await,
        }
        .with_context(|| format!("cannot list the tables of {}", self.display))
    }

    /// After a sync: moves the sequences that fill the side's columns (PostgreSQL `serial` and
    /// identity columns) past the column's largest value, never backwards, and returns each one
    /// moved with its new value. MySQL/MariaDB raise a table's AUTO_INCREMENT, and SQLite its
    /// `sqlite_sequence` entry, by themselves whenever a larger explicit value is inserted, so
    /// there is nothing to do for them (`tests/sequences.rs` checks that they do).
    /// Runs in the run's transaction under `--defer-constraints`, where the copied keys are.
    pub async fn advance_sequences(&self, side: &TableSide) -> Result<Vec<(String, i64)>> {
        on_postgres!(self, p => postgres::advance_sequences(p, side).await)
            .unwrap_or_else(|| Ok(Vec::new()))
            .with_context(|| format!("advancing the sequences of table {}", side.table))
    }

    /// The names of the columns a query returns; fails with the database's reason when the
    /// query does not run.
    pub async fn query_columns(&self, query: &str) -> Result<Vec<String>> {
        use sqlx::{Column as _, Executor as _};
        let names: Vec<String> = on_pool!(self, p => {
            let description = p.describe(query).await?;
            description.columns().iter().map(|c| c.name().to_string()).collect()
        });
        Ok(names)
    }

    /// A query as a table expression for `FROM`.
    pub fn query_as_table(&self, query: &str) -> String {
        format!(
            "({query}) AS {}",
            sql::quote_ident(self.kind, "dbdelta_query")
        )
    }

    /// Quotes a possibly schema-qualified table name for this engine.
    pub fn quote_table(&self, name: &str) -> String {
        sql::quote_table(self.kind, name)
    }

    /// Runs a query and decodes every row into values.
    async fn fetch(&self, sql: &str, params: &[Param], wires: &[Wire]) -> Result<Vec<Vec<Value>>> {
        let rows: Vec<Vec<Value>> = on_pool!(self, p => {
            let rows = bind_values!(sqlx::query(sql), params).fetch_all(p).await?;
            rows.iter().map(|r| r.values(wires)).collect::<Result<_>>()?
        });
        Ok(rows)
    }

    /// The chunk boundaries strictly between `after` and `before`: every `step`-th key, in one
    /// ordered pass over the key index (see `sql::boundaries`).
    pub async fn boundaries(
        &self,
        side: &TableSide,
        after: Option<&Key>,
        before: Option<&Key>,
        step: u64,
    ) -> Result<Vec<Key>> {
        let (text, params) = sql::boundaries(self.kind, side, after, before, step);
        let wires = sql::key_wires(self.kind, side);
        self.fetch(&text, &params, &wires).await
    }

    /// The smallest and largest key of the table, if it has rows.
    pub async fn key_extremes(&self, side: &TableSide) -> Result<Option<(Key, Key)>> {
        let wires = sql::key_wires(self.kind, side);
        let first = sql::extreme_key(self.kind, side, false);
        let last = sql::extreme_key(self.kind, side, true);
        let min = self.fetch(&first, &[], &wires).await?.into_iter().next();
        let max = self.fetch(&last, &[], &wires).await?.into_iter().next();
        Ok(min.zip(max))
    }

    /// Row count and hash sum of the rows in `range`: in SQL where the engine can, otherwise by
    /// reading the rows and hashing them here with the same definition.
    pub async fn checksum(&self, side: &TableSide, chunk: &Chunk) -> Result<Checksum> {
        match sql::checksum(self.kind, side, chunk) {
            Some((text, params)) => {
                let row = self.fetch(&text, &params, &[Wire::Int, Wire::Text]).await?;
                let (rows, sum) = match row.as_slice() {
                    [r] => match (&r[0], &r[1]) {
                        (Value::Int(n), Value::Text(s)) => (*n, s.clone()),
                        other => bail!("unexpected checksum result {other:?}"),
                    },
                    _ => bail!("checksum query returned {} rows", row.len()),
                };
                let sum = sum_mod_2_64(&sum)
                    .ok_or_else(|| anyhow!("checksum sum {sum:?} is not an integer"))?;
                Ok(Checksum {
                    rows: rows as u64,
                    sum,
                })
            }
            None => {
                let classes = classes(side);
                let rows = self.rows_in_chunk(side, chunk).await?;
                let sum = rows
                    .iter()
                    .fold(0u64, |acc, r| acc.wrapping_add(row_hash(&classes, r)));
                Ok(Checksum {
                    rows: rows.len() as u64,
                    sum,
                })
            }
        }
    }

    /// Row count and hash sum of every non-empty chunk of a grouping, in one pass over the subset
    /// (rows are streamed where they are hashed here, so memory stays bounded).
    pub async fn grouped_checksums(
        &self,
        side: &TableSide,
        grouping: Grouping,
    ) -> Result<std::collections::HashMap<u64, Checksum>> {
        let mut sums: std::collections::HashMap<u64, Checksum> = std::collections::HashMap::new();
        let mut add = |chunk: u64, rows: u64, sum: u64| {
            let entry = sums.entry(chunk).or_insert(Checksum { rows: 0, sum: 0 });
            entry.rows += rows;
            entry.sum = entry.sum.wrapping_add(sum);
        };
        match sql::grouped_checksums(self.kind, side, grouping) {
            Some((text, params)) => {
                for row in self
                    .fetch(&text, &params, &[Wire::Int, Wire::Int, Wire::Text])
                    .await?
                {
                    match row.as_slice() {
                        [Value::Int(chunk), Value::Int(rows), Value::Text(sum)] => {
                            let sum = sum_mod_2_64(sum)
                                .ok_or_else(|| anyhow!("checksum sum {sum:?} is not an integer"))?;
                            add(*chunk as u64, *rows as u64, sum);
                        }
                        other => bail!("unexpected chunk checksum {other:?}"),
                    }
                }
            }
            None => {
                let classes = classes(side);
                let key_classes: Vec<TypeClass> = side.key_columns().map(|c| c.class).collect();
                let (text, params) = sql::rows_in_chunk(self.kind, side, &Chunk::everything());
                let wires = sql::column_wires(self.kind, side);
                on_pool!(self, p => {
                    use futures::TryStreamExt;
                    let mut rows = bind_values!(sqlx::query(&text), &params).fetch(p);
                    while let Some(row) = rows.try_next().await? {
                        let row = side.transform(row.values(&wires)?)?;
                        let key: Key = side.key.iter().map(|&i| row[i].clone()).collect();
                        add(grouping.chunk_of(&key_classes, &key), 1, row_hash(&classes, &row));
                    }
                });
            }
        }
        Ok(sums)
    }

    /// Every `(key, row hash)` pair in `range`.
    pub async fn row_hashes(&self, side: &TableSide, chunk: &Chunk) -> Result<Vec<(Key, u64)>> {
        if let Some((text, params)) = sql::row_hashes_packed(self.kind, side, chunk) {
            let packed = on_postgres!(self, p => {
                let row = bind_values!(sqlx::query(&text), &params).fetch_one(p).await?;
                let keys: Vec<i64> = row.try_get(0)?;
                let hashes: Vec<i64> = row.try_get(1)?;
                keys.into_iter()
                    .zip(hashes)
                    .map(|(k, h)| (vec![Value::Int(k)], h as u64))
                    .collect::<Vec<_>>()
            });
            if let Some(pairs) = packed {
                return Ok(pairs);
            }
        }
        let nkey = side.key.len();
        match sql::row_hashes(self.kind, side, chunk) {
            Some((text, params)) => {
                let mut wires = sql::key_wires(self.kind, side);
                wires.push(Wire::Hash);
                let rows = self.fetch(&text, &params, &wires).await?;
                rows.into_iter()
                    .map(|mut r| match r.pop() {
                        Some(Value::Int(h)) if r.len() == nkey => Ok((r, h as u64)),
                        other => bail!("unexpected row hash {other:?}"),
                    })
                    .collect()
            }
            None => {
                let classes = classes(side);
                let rows = self.rows_in_chunk(side, chunk).await?;
                Ok(rows
                    .into_iter()
                    .map(|r| {
                        let h = row_hash(&classes, &r);
                        (side.key.iter().map(|&i| r[i].clone()).collect(), h)
                    })
                    .collect())
            }
        }
    }

    /// Every row of the chunk, columns in the side's order, data rules applied.
    pub async fn rows_in_chunk(&self, side: &TableSide, chunk: &Chunk) -> Result<Vec<Vec<Value>>> {
        let (text, params) = sql::rows_in_chunk(self.kind, side, chunk);
        let mut rows = self
            .fetch(&text, &params, &sql::column_wires(self.kind, side))
            .await?;
        if let (Chunk::Bucket { index, of }, false) = (chunk, sql::buckets_in_sql(self.kind)) {
            // No MD5 in SQLite's SQL: the bucket is picked out here, by the same definition.
            let key_classes: Vec<TypeClass> = side.key_columns().map(|c| c.class).collect();
            rows.retain(|r| {
                let key: Key = side.key.iter().map(|&i| r[i].clone()).collect();
                key_bucket(&key_classes, &key, *of) == *index
            });
        }
        rows.into_iter().map(|row| side.transform(row)).collect()
    }

    /// Rows in the side's subset (the whole table without one).
    pub async fn count(&self, side: &TableSide) -> Result<u64> {
        let (text, params) = sql::count(self.kind, side);
        match self.fetch(&text, &params, &[Wire::Int]).await?.as_slice() {
            [row] => match row.as_slice() {
                [Value::Int(n)] => Ok(*n as u64),
                other => bail!("unexpected count {other:?}"),
            },
            rows => bail!("count returned {} rows", rows.len()),
        }
    }

    /// The rows with these keys (missing keys are simply absent from the result), data rules
    /// applied.
    pub async fn rows_by_keys(&self, side: &TableSide, keys: &[Key]) -> Result<Vec<Vec<Value>>> {
        let wires = sql::column_wires(self.kind, side);
        let mut out = Vec::with_capacity(keys.len());
        for batch in keys.chunks(sql::batch_rows(side.key.len())) {
            let (text, params) = sql::rows_by_keys(self.kind, side, batch);
            for row in self.fetch(&text, &params, &wires).await? {
                out.push(side.transform(row)?);
            }
        }
        Ok(out)
    }

    /// The keys among `keys` that the table holds outside the side's subset.
    pub async fn keys_outside_subset(&self, side: &TableSide, keys: &[Key]) -> Result<Vec<Key>> {
        let wires = sql::key_wires(self.kind, side);
        let mut out = Vec::new();
        for batch in keys.chunks(sql::batch_rows(side.key.len())) {
            if let Some((text, params)) = sql::keys_outside_subset(self.kind, side, batch) {
                out.extend(self.fetch(&text, &params, &wires).await?);
            }
        }
        Ok(out)
    }

    /// Deletes every row of the side's subset (the whole table without one) in one transaction,
    /// and returns how many there were.
    pub async fn delete_subset(&self, side: &TableSide) -> Result<u64> {
        self.execute_in_transaction(&[sql::delete_chunk(self.kind, side, &Chunk::everything())])
            .await
    }

    /// Makes the target's chunk match in one transaction: delete this chunk and these keys, then
    /// write these rows. `fresh` rows are known to be new to the target (the chunk was empty),
    /// which PostgreSQL takes by `COPY`; otherwise rows are upserted.
    pub async fn write_chunk(
        &self,
        side: &TableSide,
        delete_chunk: Option<&Chunk>,
        delete_keys: &[Key],
        rows: &[Vec<Value>],
        fresh: bool,
    ) -> Result<()> {
        if fresh && !rows.is_empty() {
            let columns: Vec<String> = side
                .columns
                .iter()
                .map(|c| sql::quote_ident(self.kind, &c.name))
                .collect();
            let deletes = self.change_statements(side, delete_chunk, delete_keys, &[]);
            let copied = on_postgres!(self, p => {
                let mut tx = p.begin().await.context("cannot begin a transaction")?;
                for (text, params) in deletes {
                    bind_values!(sqlx::query(&text), &params)
                        .execute(&mut *tx)
                        .await?;
                }
                postgres::copy_rows(&mut tx, &side.table, &columns, rows).await?;
                tx.commit().await.context("cannot commit")?;
            });
            if copied.is_some() {
                return Ok(());
            }
        }
        let statements = self.change_statements(side, delete_chunk, delete_keys, rows);
        self.execute_in_transaction(&statements).await.map(|_| ())
    }

    /// Copies a chunk from a PostgreSQL source into this PostgreSQL target whose columns are
    /// declared identically: `COPY (SELECT …) TO STDOUT` piped into `COPY … FROM STDIN` in one
    /// target transaction, the bytes passed through untouched, as `pg_dump | psql` does. Returns
    /// the rows and `COPY` bytes copied, or `None` where the pipe does not apply (other engines,
    /// non-integer bounds, a source with data rules); the caller then copies row by row.
    pub async fn pipe_chunk(
        &self,
        source: &Db,
        source_side: &TableSide,
        target_side: &TableSide,
        chunk: &Chunk,
    ) -> Result<Option<Piped>> {
        use futures::TryStreamExt;
        use sqlx::postgres::PgPoolCopyExt;
        if (source.kind, self.kind) != (EngineKind::Postgres, EngineKind::Postgres) {
            return Ok(None);
        }
        if source_side.rules.is_some() {
            return Ok(None);
        }
        let Some(select) = sql::select_chunk_literal(source.kind, source_side, chunk) else {
            return Ok(None);
        };
        let copy_out = format!("COPY ({select}) TO STDOUT");
        let columns: Vec<String> = target_side
            .columns
            .iter()
            .map(|c| sql::quote_ident(self.kind, &c.name))
            .collect();
        let copy_in = format!(
            "COPY {} ({}) FROM STDIN",
            target_side.table,
            columns.join(", ")
        );
        let piped = on_postgres!(source, from => {
            let mut rows = from
                .copy_out_raw(&copy_out)
                .await
                .context("cannot read the chunk from the source")?;
            on_postgres!(self, to => {
                let mut tx = to.begin().await.context("cannot begin a transaction")?;
                let mut writer = tx.copy_in_raw(&copy_in).await?;
                // The source sends a message per row; the target gets them in large pieces.
                let mut buffer: Vec<u8> = Vec::with_capacity(COPY_BUFFER);
                let mut bytes_piped: u64 = 0;
                while let Some(bytes) = rows.try_next().await? {
                    bytes_piped += bytes.len() as u64;
                    buffer.extend_from_slice(&bytes);
                    if buffer.len() >= COPY_BUFFER {
                        writer.send(std::mem::take(&mut buffer)).await?;
                        buffer.reserve(COPY_BUFFER);
                    }
                }
                if !buffer.is_empty() {
                    writer.send(buffer).await?;
                }
                let copied = writer.finish().await?;
                tx.commit().await.context("cannot commit")?;
                Piped {
                    rows: copied,
                    bytes: bytes_piped,
                }
            })
        });
        Ok(piped.flatten())
    }

    /// Takes the lock that keeps two runs from writing one target table at once, waiting up to
    /// `timeout`: a PostgreSQL advisory lock, a MySQL `GET_LOCK`, or an exclusive lock on a file
    /// beside the SQLite database. The lock lasts as long as the returned guard.
    pub async fn lock_table(&self, table: &str, timeout: Duration) -> Result<TableLock> {
        // Named by where the table is, not by who connects, so every run agrees on the name.
        let name = format!("dbdelta:{}/{table}", self.location);
        let deadline = tokio::time::Instant::now() + timeout;
        let busy = || {
            anyhow!(
                "another dbdelta run is writing table {table} in {} and did not finish within {} s \
                 (--lock-timeout); nothing was written",
                self.display,
                timeout.as_secs()
            )
        };
        match &self.pool {
            Pool::Postgres(p) => {
                let mut conn = p.acquire().await?.detach();
                loop {
                    let got: bool =
                        sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
                            .bind(&name)
                            .fetch_one(&mut conn)
                            .await?;
                    if got {
                        return Ok(TableLock::Postgres(conn));
                    }
                    if tokio::time::Instant::now() >= deadline {
                        return Err(busy());
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            Pool::MySql(p) => {
                let mut conn = p.acquire().await?.detach();
                // GET_LOCK names are at most 64 characters: long ones are shortened to a digest.
                let name = if name.len() > 64 {
                    format!(
                        "dbdelta:{}",
                        hex::encode(&md5::Md5::digest(name.as_bytes())[..12])
                    )
                } else {
                    name
                };
                let got: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, ?)")
                    .bind(&name)
                    .bind(timeout.as_secs_f64())
                    .fetch_one(&mut conn)
                    .await?;
                match got {
                    Some(1) => Ok(TableLock::MySql(conn)),
                    _ => Err(busy()),
                }
            }
            Pool::Sqlite(_) => {
                let path = format!(
                    "{}.dbdelta-lock",
                    self.location.trim_start_matches("sqlite:")
                );
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)
                    .with_context(|| format!("cannot open the lock file {path}"))?;
                loop {
                    match file.try_lock() {
                        Ok(()) => return Ok(TableLock::File(file)),
                        Err(std::fs::TryLockError::WouldBlock)
                            if tokio::time::Instant::now() < deadline =>
                        {
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                        Err(std::fs::TryLockError::WouldBlock) => return Err(busy()),
                        Err(std::fs::TryLockError::Error(e)) => {
                            return Err(e).with_context(|| format!("cannot lock {path}"))
                        }
                    }
                }
            }
        }
    }

    /// Whether the side's subset holds no rows at all.
    pub async fn is_empty(&self, side: &TableSide) -> Result<bool> {
        let (text, params) = sql::any_row(self.kind, side);
        let wires = sql::key_wires(self.kind, side);
        Ok(self.fetch(&text, &params, &wires).await?.is_empty())
    }

    /// Statements that make the target match: delete these keys and this chunk, then upsert these
    /// rows. Built here so that callers never see SQL.
    pub fn change_statements(
        &self,
        side: &TableSide,
        delete_chunk: Option<&Chunk>,
        delete_keys: &[Key],
        upsert_rows: &[Vec<Value>],
    ) -> Vec<Statement> {
        let mut statements = Vec::new();
        if let Some(chunk) = delete_chunk {
            statements.push(sql::delete_chunk(self.kind, side, chunk));
        }
        for batch in delete_keys.chunks(sql::batch_rows(side.key.len())) {
            statements.push(sql::delete_keys(self.kind, side, batch));
        }
        for batch in upsert_rows.chunks(sql::batch_rows(side.columns.len())) {
            statements.push(sql::upsert(self.kind, side, batch));
        }
        statements
    }

    /// Runs the statements in one transaction: all of them take effect, or none.
    /// Returns the number of rows the statements affected.
    pub async fn execute_in_transaction(&self, statements: &[Statement]) -> Result<u64> {
        if statements.is_empty() {
            return Ok(0);
        }
        let mut affected = 0;
        let _turn = match self.pool {
            Pool::Sqlite(_) => Some(self.write_gate.lock().await),
            _ => None,
        };
        on_pool!(self, p => {
            let mut tx = p.begin().await.context("cannot begin a transaction")?;
            for (text, params) in statements {
                affected += bind_values!(sqlx::query(text), params)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }
            tx.commit().await.context("cannot commit")?;
        });
        Ok(affected)
    }

    /// Closes the pool, waiting for connections to finish cleanly.
    pub async fn close(&self) {
        match &self.pool {
            Pool::Postgres(p) => p.close().await,
            Pool::MySql(p) => p.close().await,
            Pool::Sqlite(p) => p.close().await,
        }
    }
}

fn classes(side: &TableSide) -> Vec<TypeClass> {
    side.columns.iter().map(|c| c.class).collect()
}
