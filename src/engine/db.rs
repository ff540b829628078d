//! A connected database ([`Db`]): one connection pool of one engine, or one transaction on it,
//! and every operation dbdelta runs against a database, written once for all engines.
//!
//! The SQL text comes from `sql.rs` (engine-neutral builders over the engine's [`Dialect`]);
//! the sqlx calls are written once here and expanded for each pool type by `on_pool!`. Rows come
//! back raw, as the table holds them: data rules and in-process hashing belong to
//! [`crate::side::Side`], which owns a side's rows. Engine-specific operations reached through
//! a connection (introspection, locks) are the engine folders' [`Engine`] implementations;
//! PostgreSQL's fast paths (`COPY`, packed row hashes, sequences) are its explicit extension,
//! [`Db::postgres`].

use super::mysql::{self, MySql};
use super::postgres::{self, Postgres};
use super::sqlite::Sqlite;
use super::{
    sql, Checksum, Chunk, ConnectOptions, DbUrl, Dialect, Engine, EngineKind, Identity, KeyGroups,
    MissingFile, Param, SourceTable, Statement, TableExtras, TableInfo, TableLock, TableSide, Wire,
};
use crate::value::{is_unhashable_sum, key_bucket, rows_size, sum_mod_2_64, Key, TypeClass, Value};
use anyhow::{anyhow, bail, Context, Result};
use sqlx::{Connection as _, MySqlPool, PgPool, Row, SqlitePool};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

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

/// Like `on_pool!` for PostgreSQL-only code (`COPY`, arrays), which [`PostgresExt`] only runs
/// on a PostgreSQL database.
macro_rules! on_postgres {
    ($db:expr, $p:ident => $body:expr) => {
        match (&$db.session, &$db.pool) {
            (Some(session), _) => match &mut *session.lock().await {
                Session::Postgres(tx) => {
                    let $p = &mut **tx;
                    $body
                }
                _ => bail!("{} is not a PostgreSQL database", $db.display),
            },
            (None, Pool::Postgres($p)) => $body,
            (None, _) => bail!("{} is not a PostgreSQL database", $db.display),
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
                    Wire::UInt | Wire::Text | Wire::Hash | Wire::Any => q.bind(None::<String>),
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
                            // Statically typed rows have no `Any` column; read it as text.
                            Wire::Text | Wire::Any => {
                                self.try_get::<Option<String>, _>(i)?.map(Value::Text)
                            }
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

/// What [`PostgresExt::pipe_chunk_from`] moved: rows, and the bytes of `COPY` text between the two servers.
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
    /// Row data received from this database, shared with every session opened from it (see
    /// [`Db::bytes_received`]).
    received: Arc<AtomicU64>,
    /// The most bytes of values one statement may carry to this server (MySQL's
    /// `max_allowed_packet`, PostgreSQL's 1 GiB message limit): writes are batched under it, and
    /// a row that alone exceeds it is refused before anything is written.
    statement_bytes: Option<u64>,
}

/// Bytes of a statement kept for its text and framing when a single row is measured against the
/// server's limit.
const STATEMENT_ROOM: u64 = 64 << 10;

/// Bytes gathered before a piece of `COPY` data is sent.
const COPY_BUFFER: usize = 1 << 20;

impl Db {
    /// Opens a pool of at most `connections` connections and checks that one can be made
    /// within `timeout`. `disable_integrity` turns foreign key checks off in every session
    /// (`--disable-integrity`).
    pub async fn connect(
        url: &DbUrl,
        connections: u32,
        disable_integrity: bool,
        timeout: Duration,
    ) -> Result<Db> {
        let options = ConnectOptions {
            timeout,
            disable_integrity,
            missing_file: MissingFile::Refuse,
        };
        Db::connect_with(url, connections, &options).await
    }

    /// [`Db::connect`] with every option, the handling of a missing SQLite file included.
    pub async fn connect_with(
        url: &DbUrl,
        connections: u32,
        options: &ConnectOptions,
    ) -> Result<Db> {
        let options = *options;
        let pool = match url.engine {
            EngineKind::Postgres => {
                Pool::Postgres(Postgres::connect(url, connections, &options).await?)
            }
            EngineKind::MySql => Pool::MySql(MySql::connect(url, connections, &options).await?),
            EngineKind::Sqlite => Pool::Sqlite(Sqlite::connect(url, connections, &options).await?),
        };
        let statement_bytes =
            match &pool {
                Pool::Postgres(_) => Some(postgres::MESSAGE_BYTES),
                Pool::MySql(p) => Some(mysql::max_allowed_packet(p).await.with_context(|| {
                    format!("cannot read max_allowed_packet from {}", url.display)
                })?),
                // Values are handed to SQLite in memory, not sent.
                Pool::Sqlite(_) => None,
            };
        Ok(Db {
            kind: url.engine,
            pool,
            display: url.display.clone(),
            location: url.location(),
            write_gate: tokio::sync::Mutex::new(()),
            session: None,
            received: Arc::default(),
            statement_bytes,
        })
    }

    /// The row data received from this database so far, by every session opened from it: the
    /// sizes of the values decoded (8 bytes for integers, floats and row hashes, 1 for booleans,
    /// 0 for NULL, the byte length of texts and binaries, and the bytes of `COPY` text piped from
    /// it). Protocol framing is not counted, so this is a floor of what crossed the network; the
    /// benchmark's link proxy measures the wire.
    pub fn bytes_received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    fn count_received(&self, bytes: u64) {
        self.received.fetch_add(bytes, Ordering::Relaxed);
    }

    /// The engine's SQL text and value rules.
    pub fn dialect(&self) -> &'static dyn Dialect {
        self.kind.dialect()
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
        // Refused before connecting where the engine cannot defer (`Job::check_writable`).
        let Some(defer) = self.dialect().defer_constraints() else {
            bail!("{} cannot defer foreign key checks", self.kind);
        };
        let mut session = match &self.pool {
            Pool::Postgres(p) => Session::Postgres(p.begin().await?),
            Pool::MySql(p) => Session::MySql(p.begin().await?),
            Pool::Sqlite(p) => Session::Sqlite(p.begin().await?),
        };
        match &mut session {
            Session::Postgres(tx) => sqlx::query(defer).execute(&mut **tx).await.map(|_| ()),
            Session::MySql(tx) => sqlx::query(defer).execute(&mut **tx).await.map(|_| ()),
            Session::Sqlite(tx) => sqlx::query(defer).execute(&mut **tx).await.map(|_| ()),
        }?;
        Ok(self.with_session(session))
    }

    /// This database through one read-write transaction on one connection, for work that
    /// needs a single session (a temporary table): rolled back when the returned `Db` is
    /// dropped, unless [`Db::finish`] commits it.
    pub async fn session(&self) -> Result<Db> {
        let session = match &self.pool {
            Pool::Postgres(p) => Session::Postgres(p.begin().await?),
            Pool::MySql(p) => Session::MySql(p.begin().await?),
            Pool::Sqlite(p) => Session::Sqlite(p.begin().await?),
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
            received: self.received.clone(),
            statement_bytes: self.statement_bytes,
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
            Pool::Postgres(p) => Postgres::table_info(p, name).await,
            Pool::MySql(p) => MySql::table_info(p, name).await,
            Pool::Sqlite(p) => Sqlite::table_info(p, name).await,
        }
        .with_context(|| {
            format!(
                "cannot read the definition of table {name} on {}",
                self.display
            )
        })
    }

    /// What the table's definition holds beyond columns and keys (see [`TableExtras`]).
    pub async fn table_extras(&self, name: &str) -> Result<TableExtras> {
        match &self.pool {
            Pool::Postgres(p) => Postgres::table_extras(p, name).await,
            Pool::MySql(p) => MySql::table_extras(p, name).await,
            Pool::Sqlite(p) => Sqlite::table_extras(p, name).await,
        }
        .with_context(|| {
            format!(
                "cannot read the defaults, comments and constraints of table {name} on {}",
                self.display
            )
        })
    }

    /// The foreign keys among these tables, as `(child, parent)` positions in `tables`.
    pub async fn foreign_keys(&self, tables: &[String]) -> Result<Vec<(usize, usize)>> {
        match &self.pool {
            Pool::Postgres(p) => Postgres::foreign_keys(p, tables).await,
            Pool::MySql(p) => MySql::foreign_keys(p, tables).await,
            Pool::Sqlite(p) => Sqlite::foreign_keys(p, tables).await,
        }
        .with_context(|| format!("on {}", self.display))
    }

    /// The database's user tables (base tables, no views), in a stable order.
    pub async fn list_tables(&self) -> Result<Vec<SourceTable>> {
        match &self.pool {
            Pool::Postgres(p) => Postgres::list_tables(p).await,
            Pool::MySql(p) => MySql::list_tables(p).await,
            Pool::Sqlite(p) => Sqlite::list_tables(p).await,
        }
        .with_context(|| format!("cannot list the tables of {}", self.display))
    }

    /// PostgreSQL's own fast paths (`COPY`, packed row hashes, sequences), on a PostgreSQL
    /// database; `None` on any other engine, whose callers take the portable way.
    pub fn postgres(&self) -> Option<PostgresExt<'_>> {
        (self.kind == EngineKind::Postgres).then_some(PostgresExt { db: self })
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
        sql::quote_table(self.dialect(), name)
    }

    /// Runs a query and decodes every row into values.
    pub(super) async fn fetch(
        &self,
        sql: &str,
        params: &[Param],
        wires: &[Wire],
    ) -> Result<Vec<Vec<Value>>> {
        let rows: Vec<Vec<Value>> = on_pool!(self, p => {
            let rows = bind_values!(sqlx::query(sql), params).fetch_all(p).await?;
            rows.iter().map(|r| r.values(wires)).collect::<Result<_>>()?
        });
        self.count_received(rows.iter().map(|row| rows_size(row)).sum());
        Ok(rows)
    }

    /// The chunk boundaries strictly between `after` and `before`: every `step`-th key, in one
    /// ordered pass over the key index (see `sql::boundaries`), or, on MySQL and SQLite when
    /// the side is `near` (round trips cheap), a query per boundary that skips `step` keys of
    /// the index (see `sql::boundary_step`).
    pub async fn boundaries(
        &self,
        side: &TableSide,
        after: Option<&Key>,
        before: Option<&Key>,
        step: u64,
        near: bool,
    ) -> Result<Vec<Key>> {
        let wires = sql::key_wires(self.kind, side);
        let step = step.max(1);
        if self.kind == EngineKind::Postgres || !near {
            let (text, params) = sql::boundaries(self.kind, side, after, before, step);
            return self.fetch(&text, &params, &wires).await;
        }
        // Counting from the first row, positions step+1, 2·step+1, …; from an exclusive lower
        // bound, positions step, 2·step, …: each chunk holds `step` rows.
        let mut skip = if after.is_some() { step - 1 } else { step };
        let mut walked: Vec<Key> = Vec::new();
        loop {
            let from = walked.last().or(after);
            let (text, params) = sql::boundary_step(self.kind, side, from, before, skip);
            match self.fetch(&text, &params, &wires).await?.into_iter().next() {
                Some(key) => walked.push(key),
                None => return Ok(walked),
            }
            skip = step - 1;
        }
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

    /// Row count and hash sum of the rows of a chunk, computed in SQL; `None` where the side's
    /// rows are hashed in-process (see `Side::checksum` in `side.rs`).
    pub async fn checksum_in_sql(
        &self,
        side: &TableSide,
        chunk: &Chunk,
    ) -> Result<Option<Checksum>> {
        let Some((text, params)) = sql::checksum(self.kind, side, chunk) else {
            return Ok(None);
        };
        let row = self.fetch(&text, &params, &[Wire::Int, Wire::Text]).await?;
        let (rows, sum) = match row.as_slice() {
            [r] => match (&r[0], &r[1]) {
                (Value::Int(n), Value::Text(s)) => (*n, s.clone()),
                other => bail!("unexpected checksum result {other:?}"),
            },
            _ => bail!(
                "checksum query returned {}",
                crate::words::counted(row.len() as u64, "row")
            ),
        };
        let sum = self.hash_sum(&sum)?;
        Ok(Some(Checksum {
            rows: rows as u64,
            sum,
        }))
    }

    /// A checksum's sum of row hashes, sent as decimal text and taken modulo 2^64.
    fn hash_sum(&self, sum: &str) -> Result<u64> {
        if is_unhashable_sum(sum) {
            return Err(self.unhashable_row());
        }
        sum_mod_2_64(sum).ok_or_else(|| anyhow!("checksum sum {sum:?} is not an integer"))
    }

    /// A row too large for the server to hash: MySQL's string functions return NULL for
    /// results longer than `max_allowed_packet`, and such a row cannot be compared there.
    fn unhashable_row(&self) -> anyhow::Error {
        anyhow!(
            "a row is too large for {} to hash: its encoding exceeds max_allowed_packet ({} \
             bytes); raise the server's max_allowed_packet",
            self.display,
            self.statement_bytes.unwrap_or_default()
        )
    }

    /// Row count and hash sum of every non-empty group of a chunk (see
    /// `sql::grouped_checksums`) in one grouped scan in SQL; `None` where the side's rows are
    /// hashed in-process.
    pub async fn grouped_checksums_in_sql(
        &self,
        side: &TableSide,
        chunk: &Chunk,
        within: Option<&KeyGroups>,
        by: u64,
    ) -> Result<Option<HashMap<u64, Checksum>>> {
        if let Some(pg) = self.postgres() {
            if let Some(sums) = pg.grouped_checksums_packed(side, chunk, within, by).await? {
                return Ok(Some(sums));
            }
        }
        let Some((text, params)) = sql::grouped_checksums(self.kind, side, chunk, within, by)
        else {
            return Ok(None);
        };
        let mut sums = HashMap::new();
        for row in self
            .fetch(&text, &params, &[Wire::Int, Wire::Int, Wire::Text])
            .await?
        {
            match row.as_slice() {
                [Value::Int(chunk), Value::Int(rows), Value::Text(sum)] => {
                    let sum = self.hash_sum(sum)?;
                    let rows = *rows as u64;
                    sums.insert(*chunk as u64, Checksum { rows, sum });
                }
                other => bail!("unexpected chunk checksum {other:?}"),
            }
        }
        Ok(Some(sums))
    }

    /// Every `(key, row hash)` pair of a chunk (narrowed to some key groups, when given), hashed
    /// in SQL; `None` where the side's rows are hashed in-process.
    pub async fn row_hashes_in_sql(
        &self,
        side: &TableSide,
        chunk: &Chunk,
        groups: Option<&KeyGroups>,
    ) -> Result<Option<Vec<(Key, u64)>>> {
        if let Some(pg) = self.postgres() {
            if let Some(pairs) = pg.row_hashes_packed(side, chunk, groups).await? {
                return Ok(Some(pairs));
            }
        }
        if let Some(pairs) = self.row_hashes_concatenated(side, chunk, groups).await? {
            return Ok(Some(pairs));
        }
        let Some((text, params)) = sql::row_hashes(self.kind, side, chunk, groups) else {
            return Ok(None);
        };
        let nkey = side.key.len();
        let mut wires = sql::key_wires(self.kind, side);
        wires.push(Wire::Hash);
        let rows = self.fetch(&text, &params, &wires).await?;
        rows.into_iter()
            .map(|mut r| match r.pop() {
                Some(Value::Int(h)) if r.len() == nkey => {
                    // Kept by the thousand: without the room of the hash's slot.
                    r.shrink_to_fit();
                    Ok((r, h as u64))
                }
                Some(Value::Null) => Err(self.unhashable_row()),
                other => bail!("unexpected row hash {other:?}"),
            })
            .collect::<Result<_>>()
            .map(Some)
    }

    /// [`Db::row_hashes_in_sql`] from one text (see `sql::row_hashes_concatenated`), where the
    /// engine packs listings so: a row per key costs MySQL's client several times the parsing of
    /// its text. `None` where it does not, or when the text was cut short (the rows are then
    /// listed one by one).
    async fn row_hashes_concatenated(
        &self,
        side: &TableSide,
        chunk: &Chunk,
        groups: Option<&KeyGroups>,
    ) -> Result<Option<Vec<(Key, u64)>>> {
        let Some((text, params)) = sql::row_hashes_concatenated(self.kind, side, chunk, groups)
        else {
            return Ok(None);
        };
        let row = self.fetch(&text, &params, &[Wire::Int, Wire::Text]).await?;
        let (rows, packed) = match row.as_slice() {
            [r] => match (&r[0], &r[1]) {
                (Value::Int(0), Value::Null) => return Ok(Some(Vec::new())),
                (Value::Int(rows), Value::Text(packed)) => (*rows, packed),
                other => bail!("unexpected row listing {other:?}"),
            },
            _ => bail!("the row listing returned {} rows", row.len()),
        };
        match unpack_listing(rows, packed) {
            Unpacked::Rows(listed) => Ok(Some(listed)),
            Unpacked::CutShort => Ok(None),
            Unpacked::Unhashable => Err(self.unhashable_row()),
        }
    }

    /// The `(bucket, key, row hash)` of every row in these key groups of the subset, with its
    /// bucket among `buckets`, hashed in SQL; `None` where the side's rows are hashed
    /// in-process.
    pub async fn bucketed_row_hashes_in_sql(
        &self,
        side: &TableSide,
        groups: &KeyGroups,
        buckets: u64,
    ) -> Result<Option<Vec<(u64, Key, u64)>>> {
        let Some((text, params)) = sql::bucketed_row_hashes(self.kind, side, groups, buckets)
        else {
            return Ok(None);
        };
        let nkey = side.key.len();
        let mut wires = vec![Wire::Int];
        wires.extend(sql::key_wires(self.kind, side));
        wires.push(Wire::Hash);
        // Decoded as they arrive: a pass may list hundreds of thousands of rows.
        let mut listed = Vec::new();
        self.fetch_each(&text, &params, &wires, |mut r| match (r.pop(), r.first()) {
            (Some(Value::Int(h)), Some(&Value::Int(bucket))) if r.len() == nkey + 1 => {
                // A key of its own size: the row's vector has room for three values, which
                // hundreds of thousands of listed keys would keep.
                let key: Key = r.drain(1..).collect();
                listed.push((bucket as u64, key, h as u64));
                Ok(())
            }
            (Some(Value::Null), _) => Err(self.unhashable_row()),
            other => bail!("unexpected row hash {other:?}"),
        })
        .await?;
        Ok(Some(listed))
    }

    /// Runs a query and hands each row, decoded, to `each` as it arrives.
    async fn fetch_each(
        &self,
        sql: &str,
        params: &[Param],
        wires: &[Wire],
        mut each: impl FnMut(Vec<Value>) -> Result<()>,
    ) -> Result<()> {
        use futures::TryStreamExt;
        on_pool!(self, p => {
            let mut rows = bind_values!(sqlx::query(sql), params).fetch(p);
            while let Some(row) = rows.try_next().await? {
                let row = row.values(wires)?;
                self.count_received(rows_size(&row));
                each(row)?;
            }
        });
        Ok(())
    }

    /// Streams every row of the chunk (narrowed to some key groups, when given), as the table
    /// holds it, into `each`: memory stays bounded however large the chunk. Groups are picked
    /// out here, by the portable key hash.
    pub async fn for_each_row(
        &self,
        side: &TableSide,
        chunk: &Chunk,
        groups: Option<&KeyGroups>,
        mut each: impl FnMut(Vec<Value>) -> Result<()>,
    ) -> Result<()> {
        let (text, params) = sql::rows_in_chunk(self.kind, side, chunk);
        let wires = sql::column_wires(self.kind, side);
        // Without the bucket in SQL the chunk is the whole subset: its rows are picked out here,
        // by the same definition.
        let bucket = match chunk {
            Chunk::Bucket { index, of } if !sql::buckets_in_sql(self.kind, side) => {
                Some((*index, *of))
            }
            _ => None,
        };
        let key_classes: Vec<TypeClass> = side.key_columns().map(|c| c.class).collect();
        let groups = groups.map(|g| {
            (
                g.modulus,
                g.residues.iter().copied().collect::<HashSet<_>>(),
            )
        });
        self.fetch_each(&text, &params, &wires, |row| {
            if let Some((index, of)) = bucket {
                if key_bucket(&key_classes, &side.key_of(&row), of) != index {
                    return Ok(());
                }
            }
            if let Some((modulus, residues)) = &groups {
                let residue = key_bucket(&key_classes, &side.key_of(&row), *modulus);
                if !residues.contains(&residue) {
                    return Ok(());
                }
            }
            each(row)
        })
        .await
    }

    /// Streams every row of the side's subset (the whole table without one), as the table
    /// holds it, into `each` in batches of at most `batch` rows: memory stays bounded however
    /// large the table, and `each` may wait on another database meanwhile.
    pub async fn for_each_batch(
        &self,
        side: &TableSide,
        batch: usize,
        mut each: impl AsyncFnMut(Vec<Vec<Value>>) -> Result<()>,
    ) -> Result<()> {
        use futures::TryStreamExt;
        let (text, params) = sql::rows_in_chunk(self.kind, side, &Chunk::everything());
        let wires = sql::column_wires(self.kind, side);
        let batch = batch.max(1);
        let mut rows = Vec::with_capacity(batch);
        on_pool!(self, p => {
            let mut stream = bind_values!(sqlx::query(&text), &params).fetch(p);
            while let Some(row) = stream.try_next().await? {
                rows.push(row.values(&wires)?);
                if rows.len() == batch {
                    each(std::mem::replace(&mut rows, Vec::with_capacity(batch))).await?;
                }
            }
        });
        if !rows.is_empty() {
            each(rows).await?;
        }
        Ok(())
    }

    /// Rows in the side's subset (the whole table without one).
    pub async fn count(&self, side: &TableSide) -> Result<u64> {
        let (text, params) = sql::count(self.kind, side);
        match self.fetch(&text, &params, &[Wire::Int]).await?.as_slice() {
            [row] => match row.as_slice() {
                [Value::Int(n)] => Ok(*n as u64),
                other => bail!("unexpected count {other:?}"),
            },
            rows => bail!(
                "count returned {}",
                crate::words::counted(rows.len() as u64, "row")
            ),
        }
    }

    /// A key the side's subset holds on more than one row, if any.
    pub async fn first_duplicate_key(&self, side: &TableSide) -> Result<Option<Key>> {
        let (text, params) = sql::first_duplicate_key(self.kind, side);
        let wires = sql::key_wires(self.kind, side);
        Ok(self.fetch(&text, &params, &wires).await?.into_iter().next())
    }

    /// The rows with these keys as the table holds them (missing keys are simply absent from
    /// the result).
    pub async fn rows_by_keys(&self, side: &TableSide, keys: &[Key]) -> Result<Vec<Vec<Value>>> {
        let wires = sql::column_wires(self.kind, side);
        let mut out = Vec::with_capacity(keys.len());
        for batch in keys.chunks(sql::batch_rows(side.key.len())) {
            let (text, params) = sql::rows_by_keys(self.kind, side, batch);
            out.extend(self.fetch(&text, &params, &wires).await?);
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
        if let (true, false, Some(pg)) = (fresh, rows.is_empty(), self.postgres()) {
            let deletes = self.change_statements(side, delete_chunk, delete_keys, &[]);
            return pg.copy_chunk(side, &deletes, rows).await;
        }
        let statements = self.change_statements(side, delete_chunk, delete_keys, rows);
        self.execute_in_transaction(&statements).await.map(|_| ())
    }

    /// Takes the lock that keeps two runs from writing one target table at once, waiting up to
    /// `timeout`: a PostgreSQL advisory lock, a MySQL `GET_LOCK`, or an exclusive lock on a file
    /// beside the SQLite database. The lock lasts as long as the returned guard.
    pub async fn lock_table(&self, table: &str, timeout: Duration) -> Result<TableLock> {
        // Named by where the table is, not by who connects, so every run agrees on the name.
        let name = format!("dbdelta:{}/{table}", self.location);
        let location = &self.location;
        let lock = match &self.pool {
            Pool::Postgres(p) => Postgres::lock(p, location, &name, timeout).await?,
            Pool::MySql(p) => MySql::lock(p, location, &name, timeout).await?,
            Pool::Sqlite(p) => Sqlite::lock(p, location, &name, timeout).await?,
        };
        lock.ok_or_else(|| {
            anyhow!(
                "another dbdelta run is writing table {table} in {} and did not finish within {} s \
                 (--lock-timeout); nothing was written",
                self.display,
                timeout.as_secs()
            )
        })
    }

    /// The shortest of three round trips of a trivial query: how far the server is.
    pub async fn round_trip(&self) -> Result<Duration> {
        let mut shortest = Duration::MAX;
        let query = format!("SELECT {}", self.dialect().bigint("1"));
        for _ in 0..3 {
            let started = std::time::Instant::now();
            self.fetch(&query, &[], &[Wire::Int]).await?;
            shortest = shortest.min(started.elapsed());
        }
        Ok(shortest)
    }

    /// Runs the side's subset query, returning no row (see `sql::probe`): fails with the
    /// server's reason where a run's reads would.
    pub async fn probe(&self, side: &TableSide) -> Result<()> {
        let (text, params) = sql::probe(self.kind, side);
        // No row comes back, so the row hash's column needs no wire of its own.
        let wires = sql::column_wires(self.kind, side);
        self.fetch(&text, &params, &wires).await?;
        Ok(())
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
        if side.identity == Identity::WholeRow {
            // A keyless side's "keys" are whole rows, one per copy to delete.
            for (row, copies) in copies(delete_keys) {
                statements.push(sql::delete_copies(self.kind, side, row, copies));
            }
        } else {
            for batch in delete_keys.chunks(sql::delete_batch(side)) {
                statements.push(sql::delete_keys(self.kind, side, batch));
            }
        }
        if side.identity == Identity::Unindexed {
            // No unique index to upsert against: every copy of a written key goes first.
            let keys: Vec<Key> = upsert_rows.iter().map(|row| side.key_of(row)).collect();
            for batch in keys.chunks(sql::delete_batch(side)) {
                statements.push(sql::delete_keys(self.kind, side, batch));
            }
        }
        let rows_per_batch = sql::batch_rows(side.columns.len());
        let bytes_per_batch = self.write_batch_bytes();
        let mut rest = upsert_rows;
        while !rest.is_empty() {
            let (mut rows, mut bytes) = (0, 0);
            // At least one row per statement; `prepare` refused rows too large to send at all.
            while rows < rest.len().min(rows_per_batch)
                && (rows == 0 || bytes + rows_size(&rest[rows]) <= bytes_per_batch)
            {
                bytes += rows_size(&rest[rows]);
                rows += 1;
            }
            let (batch, after) = rest.split_at(rows);
            statements.push(match side.identity {
                Identity::Unique => sql::upsert(self.kind, side, batch),
                Identity::Unindexed | Identity::WholeRow => sql::insert(self.kind, side, batch),
            });
            rest = after;
        }
        statements
    }

    /// The values one write statement gathers at most: half of what the server accepts, which
    /// leaves room for the statement's own text and the protocol's framing of each value.
    fn write_batch_bytes(&self) -> u64 {
        self.statement_bytes.map_or(u64::MAX, |limit| limit / 2)
    }

    /// Refuses a row too large for the server to receive in one statement, naming the limit:
    /// sending it would only lose the connection, however often it were tried.
    pub fn check_row_size(&self, row: &[Value]) -> Result<()> {
        let size = rows_size(row);
        match self.statement_bytes {
            Some(limit) if size > limit.saturating_sub(STATEMENT_ROOM) => bail!(
                "the row is {size} bytes, more than {} accepts in one statement ({limit} bytes{}); \
                 nothing of this chunk was written",
                self.display,
                match self.kind {
                    EngineKind::MySql => ": raise the server's max_allowed_packet",
                    _ => "",
                }
            ),
            _ => Ok(()),
        }
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

/// PostgreSQL's own fast paths on a PostgreSQL [`Db`] (see [`Db::postgres`]), in the manner of
/// sqlx's `PgPoolCopyExt`: reached explicitly, so shared code never branches on the engine.
/// What a listing packed into one text held (see `sql::row_hashes_concatenated`).
#[derive(Debug, PartialEq)]
enum Unpacked {
    Rows(Vec<(Key, u64)>),
    /// Fewer pairs than the `rows` counted, or a pair cut in two: the text hit its limit.
    CutShort,
    /// A row too large to hash (its hash `N`).
    Unhashable,
}

/// Reads `key hash key hash …` (integer keys, hashes as hex digits) of a listing of `rows` rows.
fn unpack_listing(rows: i64, packed: &str) -> Unpacked {
    let mut fields = packed.split(' ');
    let mut listed = Vec::with_capacity(usize::try_from(rows).unwrap_or_default());
    while let (Some(key), Some(hash)) = (fields.next(), fields.next()) {
        if hash == "N" {
            return Unpacked::Unhashable;
        }
        // Every hash has 16 digits: one cut inside the last still parses, but shorter.
        match (key.parse::<i64>(), u64::from_str_radix(hash, 16)) {
            (Ok(key), Ok(hash_value)) if hash.len() == 16 => {
                listed.push((vec![Value::Int(key)], hash_value))
            }
            _ => return Unpacked::CutShort,
        }
    }
    if listed.len() as i64 == rows {
        Unpacked::Rows(listed)
    } else {
        Unpacked::CutShort
    }
}

pub struct PostgresExt<'a> {
    db: &'a Db,
}

impl PostgresExt<'_> {
    /// [`Db::row_hashes_in_sql`] as two arrays in one row (keys, hashes), for a single key column
    /// carried as an integer or as text: decoding two arrays costs the client a fraction of
    /// decoding a row per key. `None` for other keys, or where the side's rows are hashed
    /// in-process.
    pub async fn row_hashes_packed(
        &self,
        side: &TableSide,
        chunk: &Chunk,
        groups: Option<&KeyGroups>,
    ) -> Result<Option<Vec<(Key, u64)>>> {
        let Some((text, params)) = sql::row_hashes_packed(self.db.kind, side, chunk, groups) else {
            return Ok(None);
        };
        let integer_key = sql::key_wires(self.db.kind, side) == [Wire::Int];
        let (keys, hashes): (Vec<Value>, Vec<i64>) = on_postgres!(self.db, p => {
            let row = bind_values!(sqlx::query(&text), &params).fetch_one(p).await?;
            let keys: Vec<Value> = if integer_key {
                row.try_get::<Vec<i64>, _>(0)?.into_iter().map(Value::Int).collect()
            } else {
                row.try_get::<Vec<String>, _>(0)?.into_iter().map(Value::Text).collect()
            };
            (keys, row.try_get(1)?)
        });
        self.db
            .count_received(rows_size(&keys) + 8 * hashes.len() as u64);
        Ok(Some(
            keys.into_iter()
                .zip(hashes)
                .map(|(k, h)| (vec![k], h as u64))
                .collect(),
        ))
    }

    /// Whether the table's rows lie scattered in key order: the planner's statistics
    /// (`pg_stats.correlation` of the first key column, after `ANALYZE`) say that physical and
    /// key order are nearly unrelated (|correlation| < 0.5), as with random UUIDs or hashed text.
    /// A key range then touches a page per row, and the whole table is read faster by one
    /// sequential scan per narrowing level. `false` without statistics, and for tables the
    /// statistics put below `min_rows`.
    pub async fn scattered_key(&self, side: &TableSide, min_rows: u64) -> Result<bool> {
        let Some(first) = side.key_columns().next() else {
            return Ok(false);
        };
        let correlation: Option<f32> = on_postgres!(self.db, p => {
            sqlx::query_scalar(
                "SELECT s.correlation FROM pg_stats s \
                 JOIN pg_class c ON c.relname = s.tablename \
                 JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = s.schemaname \
                 WHERE c.oid = to_regclass($1) AND s.attname = $2 AND c.reltuples >= $3",
            )
            .bind(side.table.as_str())
            .bind(first.name.as_str())
            .bind(min_rows as f32)
            .fetch_optional(p)
            .await?
            .flatten()
        });
        Ok(correlation.is_some_and(|c| c.abs() < 0.5))
    }

    /// [`Db::grouped_checksums_in_sql`] as three arrays in one row (see
    /// `sql::grouped_checksums_packed`); `None` where the side's rows are hashed in-process.
    pub async fn grouped_checksums_packed(
        &self,
        side: &TableSide,
        chunk: &Chunk,
        within: Option<&KeyGroups>,
        by: u64,
    ) -> Result<Option<HashMap<u64, Checksum>>> {
        let Some((text, params)) =
            sql::grouped_checksums_packed(self.db.kind, side, chunk, within, by)
        else {
            return Ok(None);
        };
        let (groups, counts, sums): (Vec<i64>, Vec<i64>, Vec<i64>) = on_postgres!(self.db, p => {
            let row = bind_values!(sqlx::query(&text), &params).fetch_one(p).await?;
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)
        });
        self.db.count_received(24 * groups.len() as u64);
        Ok(Some(
            groups
                .into_iter()
                .zip(counts.into_iter().zip(sums))
                .map(|(group, (rows, sum))| {
                    let checksum = Checksum {
                        rows: rows as u64,
                        sum: sum as u64,
                    };
                    (group as u64, checksum)
                })
                .collect(),
        ))
    }

    /// Runs `deletes`, then appends `rows` with `COPY … FROM STDIN`, in one transaction.
    async fn copy_chunk(
        &self,
        side: &TableSide,
        deletes: &[Statement],
        rows: &[Vec<Value>],
    ) -> Result<()> {
        let columns: Vec<String> = side
            .columns
            .iter()
            .map(|c| sql::quote_ident(self.db.kind, &c.name))
            .collect();
        on_postgres!(self.db, p => {
            let mut tx = p.begin().await.context("cannot begin a transaction")?;
            for (text, params) in deletes {
                bind_values!(sqlx::query(text), params)
                    .execute(&mut *tx)
                    .await?;
            }
            postgres::copy_rows(&mut tx, &side.table, &columns, rows).await?;
            tx.commit().await.context("cannot commit")?;
        });
        Ok(())
    }

    /// Copies a chunk from `source` into this database, both PostgreSQL with identical column
    /// declarations: `COPY (SELECT …) TO STDOUT` piped into `COPY … FROM STDIN` in one target
    /// transaction, the bytes passed through untouched, as `pg_dump | psql` does. Returns the
    /// rows and `COPY` bytes copied, or `None` for a chunk whose bounds `COPY` cannot take
    /// (they must be written into its text: integers only); the caller then copies row by row.
    pub async fn pipe_chunk_from(
        &self,
        source: &PostgresExt<'_>,
        source_side: &TableSide,
        target_side: &TableSide,
        chunk: &Chunk,
    ) -> Result<Option<Piped>> {
        use futures::TryStreamExt;
        use sqlx::postgres::PgPoolCopyExt;
        let Some(select) = sql::select_chunk_literal(source.db.kind, source_side, chunk) else {
            return Ok(None);
        };
        let copy_out = format!("COPY ({select}) TO STDOUT");
        let columns: Vec<String> = target_side
            .columns
            .iter()
            .map(|c| sql::quote_ident(self.db.kind, &c.name))
            .collect();
        let copy_in = format!(
            "COPY {} ({}) FROM STDIN",
            target_side.table,
            columns.join(", ")
        );
        let piped = on_postgres!(source.db, from => {
            let mut rows = from
                .copy_out_raw(&copy_out)
                .await
                .context("cannot read the chunk from the source")?;
            on_postgres!(self.db, to => {
                let mut tx = to.begin().await.context("cannot begin a transaction")?;
                let mut writer = tx.copy_in_raw(&copy_in).await?;
                // The source sends a message per row; the target gets them in large pieces.
                let mut buffer: Vec<u8> = Vec::with_capacity(COPY_BUFFER);
                let mut bytes_piped: u64 = 0;
                while let Some(bytes) = rows.try_next().await? {
                    bytes_piped += bytes.len() as u64;
                    source.db.count_received(bytes.len() as u64);
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
        Ok(Some(piped))
    }

    /// After a sync: moves the sequences that fill the side's columns (`serial` and identity
    /// columns) past the column's largest value, never backwards, and returns each one moved
    /// with its new value. MySQL/MariaDB raise a table's AUTO_INCREMENT, and SQLite its
    /// `sqlite_sequence` entry, by themselves whenever a larger explicit value is inserted
    /// (`tests/it/sequences.rs` checks that they do). Runs in the run's transaction under
    /// `--defer-constraints`, where the copied keys are.
    pub async fn advance_sequences(&self, side: &TableSide) -> Result<Vec<(String, i64)>> {
        let advanced = on_postgres!(self.db, p => postgres::advance_sequences(p, side).await);
        advanced.with_context(|| format!("advancing the sequences of table {}", side.table))
    }
}

/// Each distinct row among `rows` with the number of times it occurs, in first-seen order.
fn copies(rows: &[Key]) -> Vec<(&Key, u64)> {
    let mut counted: Vec<(&Key, u64)> = Vec::new();
    let mut at: HashMap<&Key, usize> = HashMap::new();
    for row in rows {
        match at.get(row) {
            Some(&i) => counted[i].1 += 1,
            None => {
                at.insert(row, counted.len());
                counted.push((row, 1));
            }
        }
    }
    counted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_listings_are_read_whole_or_not_at_all() {
        let k = |v| vec![Value::Int(v)];
        assert_eq!(
            unpack_listing(2, "7 00000000000000ff -3 8000000000000000"),
            Unpacked::Rows(vec![(k(7), 255), (k(-3), 1 << 63)])
        );
        assert_eq!(
            unpack_listing(2, "7 00000000000000ff -3 N"),
            Unpacked::Unhashable
        );
        // Cut inside the last hash, between a key and its hash, after a whole pair.
        assert_eq!(
            unpack_listing(2, "7 00000000000000ff -3 80000"),
            Unpacked::CutShort
        );
        assert_eq!(
            unpack_listing(2, "7 00000000000000ff -3"),
            Unpacked::CutShort
        );
        assert_eq!(unpack_listing(2, "7 00000000000000ff"), Unpacked::CutShort);
        assert_eq!(
            unpack_listing(2, "7 00000000000000ff 1"),
            Unpacked::CutShort
        );
        assert_eq!(unpack_listing(1, "7 0000000000000zff"), Unpacked::CutShort);
    }
}
