//! The database layer: what dbdelta asks of an engine, and the vocabulary shared by every engine.
//!
//! Each engine is a folder with the same files (`connect`, `introspect`, `dialect`, `lock`) and
//! one unit type implementing two traits, so the compiler lists what a new engine must provide:
//!
//! - [`Dialect`]: the engine's SQL text and value rules, without a connection: identifier
//!   quoting, placeholders, transport and canonical expressions, row and bucket hashes, upserts,
//!   DDL for a column, what a column can store, which errors are transient.
//! - [`Engine`]: the operations that need the engine's own sqlx pool: connect, introspect a table,
//!   list tables and foreign keys, take a table lock.
//!
//! [`Db`] (`db.rs`) is a connected database of any engine: it dispatches to the [`Engine`]
//! implementations and runs the statements that `sql.rs` builds, engine-neutrally, from a
//! [`Dialect`]. PostgreSQL's fast paths are an explicit extension ([`Db::postgres`]).
//! [`KeyTable`] (`key_table.rs`) holds keys in a temporary table declared like a table's key, so
//! that the database's own key equality can be asked which of them it takes for one.
//!
//! # Adding an engine
//! 1. Add a variant to [`EngineKind`] (and its URL scheme in `url.rs`); the compiler then points
//!    at every `match` that must learn it (no `_ =>` arm picks another engine's SQL).
//! 2. Create `src/engine/<name>/` with `mod.rs`, `connect.rs`, `introspect.rs`, `dialect.rs`
//!    and `lock.rs`, and a unit type implementing [`Dialect`] and [`Engine`].
//! 3. Add its pool and transaction to `Pool` and `Session` in `db.rs`, and its row decoding.
//! 4. Run the cross-engine and differential tests with the new engine in their engine lists.

mod db;
pub mod extras;
mod key_table;
pub mod mysql;
pub mod postgres;
mod sql;
pub mod sqlite;
pub mod types;
mod url;

pub use db::Db;
pub use extras::{ColumnDefault, DefaultValue, ForeignKey, TableExtras};
pub use key_table::KeyTable;
pub(crate) use url::redact_unparsed;
pub use url::{DbUrl, EngineKind};

pub use crate::value::Wire;
use crate::value::{coerce, Key, TypeClass, Value};
use anyhow::Result;
use std::time::Duration;

impl EngineKind {
    /// The engine's SQL text and value rules.
    pub fn dialect(self) -> &'static dyn Dialect {
        match self {
            EngineKind::Postgres => &postgres::Postgres,
            EngineKind::MySql => &mysql::MySql,
            EngineKind::Sqlite => &sqlite::Sqlite,
        }
    }
}

/// The SQL text and value rules of one engine (see the module documentation).
pub trait Dialect: Sync {
    fn kind(&self) -> EngineKind;

    /// An identifier, quoted.
    fn quote_ident(&self, ident: &str) -> String;

    /// A text value as an SQL string literal, for statements that take no parameters.
    fn string_literal(&self, value: &str) -> String;

    /// The placeholder of the `n`-th bound value (from 1) compared with or written to `column`.
    fn placeholder(&self, n: usize, column: &Column) -> String;

    /// How a column is selected for transport, and the wire type it decodes from.
    fn select_expr(&self, column: &Column, quoted: &str) -> (String, Wire);

    /// The column's canonical text in SQL (see [`crate::value`]), NULL staying NULL; `None`
    /// where the engine has no MD5 in SQL and rows are hashed in-process.
    fn canonical_expr(&self, column: &Column, quoted: &str) -> Option<String>;

    /// The portable row hash over these canonical texts, as a 64-bit integer.
    fn row_hash_expr(&self, canonical: &[String]) -> Option<String>;

    /// The native row hash for identical declarations on both sides (see [`crate::value`]),
    /// `None` where the engine has none.
    fn native_row_hash_expr(&self, columns: &[Column]) -> Option<String>;

    /// [`Dialect::row_hash_expr`] as 16 hex digits, which the client reads as the same 64-bit
    /// value: the form a listing packed into one text carries, saving the server the conversion
    /// to an integer. `None` where the engine packs listings otherwise (PostgreSQL's arrays) or
    /// not at all.
    fn hex_row_hash_expr(&self, _canonical: &[String]) -> Option<String> {
        None
    }

    /// [`Dialect::native_row_hash_expr`] as 16 hex digits (see [`Dialect::hex_row_hash_expr`]).
    fn native_hex_row_hash_expr(&self, _columns: &[Column]) -> Option<String> {
        None
    }

    /// The key's portable hash over these canonical key texts: the first 4 bytes of MD5 over
    /// the encoded key, a non-negative integer (see [`crate::value::key_hash`]); `None` where
    /// keys are hashed in-process.
    fn key_hash_expr(&self, canonical_key: &[String]) -> Option<String>;

    /// A cheaper key hash for two databases of this engine that declare the key alike (both
    /// sides of the table have [`TableSide::native_rows`], and hash in SQL): any non-negative
    /// integer below 2^32 that is a function of the key's exact value. It replaces the portable
    /// hash in every bucket and group of such a table. `None` where the engine has none.
    fn native_key_hash_expr(&self, _key: &[Column]) -> Option<String> {
        None
    }

    /// The exact sum of row hashes, as text.
    fn sum_expr(&self, hash: &str) -> String;

    /// An integer expression as the engine's signed 64-bit type.
    fn bigint(&self, expr: &str) -> String;

    /// `key IN (…)` for a list of row values (`(a, b)`) of a composite key.
    fn row_values_in(&self, key: &str, rows: &[String]) -> String {
        format!("{key} IN ({})", rows.join(", "))
    }

    /// What follows an `INSERT`'s column list so that the row's own values are written even
    /// into columns the database fills itself (PostgreSQL's `GENERATED ALWAYS AS IDENTITY`
    /// refuses them without `OVERRIDING SYSTEM VALUE`); empty where values are always taken.
    fn insert_overriding(&self) -> &'static str {
        ""
    }

    /// The clause that makes an `INSERT` update the row whose key exists already.
    fn upsert_clause(&self, keys: &[String], others: &[String]) -> String;

    /// How a column of `source`'s engine is declared in this engine by `create_missing`.
    fn declare(&self, source: EngineKind, column: &Column, is_key: bool) -> String;

    /// How `create_missing` declares an integer key column that this engine numbers itself
    /// when a row omits it (as the source's `serial`, identity, `AUTO_INCREMENT` or rowid
    /// column was), from the column's declaration here; `None` where that type cannot be one.
    fn declare_numbered(&self, declared: &str) -> Option<String>;

    /// A default as this engine writes it after `DEFAULT` for a created `column` (declared
    /// here, compared as its class); `None` where this engine cannot express it for that column.
    fn default_sql(&self, default: &DefaultValue, column: &Column) -> Option<String>;

    /// A NULL of this declaration, for the empty stand-in of a table `sync` will create.
    fn typed_null(&self, _declared: &str) -> String {
        "NULL".into()
    }

    /// Whether rows are hashed in SQL on the server; `false` where the engine has no MD5 in SQL
    /// (SQLite), whose rows are read and hashed in-process by the same definition.
    fn hashes_in_sql(&self) -> bool {
        true
    }

    /// How a key column of this declaration orders, so that the planner can tell whether both
    /// sides put every key in the same range (see `crate::plan`). Range conditions on a column
    /// with any order but [`KeyOrder::Unordered`] must be exact with bound values.
    fn key_order(&self, _column: &Column) -> KeyOrder {
        KeyOrder::Unordered
    }

    /// How a key column of this declaration tells two keys apart: [`KeyEquality::Coarse`] where
    /// its type or collation takes some different values for one key (case- or
    /// accent-insensitive collations, trailing spaces ignored, `citext`), so that a target may
    /// find a row by a key spelled differently from the source's (see `crate::collisions`).
    fn key_equality(&self, column: &Column) -> KeyEquality;

    /// `expr` (a key column of this declaration, or a value bound for one) as an expression
    /// that compares exactly, value for value (for text: code point for code point), for key
    /// columns whose [`Dialect::key_equality`] is coarse. Not usable through the key's index, so
    /// only ever added to a condition that is.
    fn exact_key_expr(&self, expr: &str) -> String;

    /// `left` and `right` (a column of this declaration and a value bound for it) compared
    /// NULL-safely: true where both are NULL, or both hold the same value.
    fn null_safe_equal(&self, column: &Column, left: &str, right: &str) -> String;

    /// `DELETE` of at most `limit` rows of `table` (whose columns are `columns`) matching
    /// `condition`, which rows being immaterial (they are identical copies, see
    /// [`Identity::WholeRow`]).
    fn delete_limited(
        &self,
        table: &str,
        columns: &[Column],
        condition: &str,
        limit: u64,
    ) -> String;

    /// `CREATE TEMPORARY TABLE name` with these `columns` of `table` declared exactly as they
    /// are there (type, character set, collation), so that the temporary table compares values
    /// by the table's own equality, and a 64-bit integer column `ordinal` (see
    /// `crate::collisions`).
    fn create_temporary_table(
        &self,
        name: &str,
        table: &str,
        columns: &[Column],
        ordinal: &str,
    ) -> String;

    /// Drops the temporary table `name` if it exists, and never a table of the database that
    /// happens to have the same name.
    fn drop_temporary_table(&self, name: &str) -> String;

    /// Whether a set of integers (the key groups of a narrowing level) is bound as one array
    /// parameter (`IN (SELECT unnest(CAST($n AS int8[])))`), so that every level's statement has the same
    /// text and is prepared once per connection: a round trip less per query over a slow link.
    /// Elsewhere the integers are written into the text.
    fn binds_integer_sets(&self) -> bool {
        false
    }

    /// Whether composite keys of columns with a [`Dialect::key_order`] compare as row values
    /// `(a, b) >= (x, y)` through the key's index, so that their chunks can be key ranges too.
    fn ranges_over_row_values(&self) -> bool {
        false
    }

    /// Declared types are only hints: any column holds any value (SQLite), so a column is
    /// compared as the class of the column it faces.
    fn declared_types_are_hints(&self) -> bool {
        false
    }

    /// The fractional-second digits a time or timestamp column keeps, `None` where the engine
    /// keeps the value as given.
    fn fraction_digits(&self, decl: &str) -> Option<usize>;

    /// Refuses a value this engine cannot store in `to` exactly, beyond the declared limits
    /// every engine shares (see `crate::convert`). Returns the value as it is written.
    fn check_value(&self, value: Value, to: &Column) -> Result<Value>;

    /// The statement that makes a transaction check foreign keys only at commit
    /// (`--defer-constraints`), `None` where the engine cannot defer them.
    fn defer_constraints(&self) -> Option<&'static str>;

    /// Whether an error code (SQLSTATE, or the engine's own error number) means the work may
    /// simply be tried again: the connection was lost (killed, reset, server restarting), or the
    /// transaction lost a deadlock or a serialization conflict and was rolled back, not that the
    /// statement was wrong.
    fn is_transient(&self, code: &str) -> bool;
}

/// The operations that need the engine's own pool (see the module documentation).
#[allow(async_fn_in_trait)] // used through `Db`'s dispatch, never as `dyn`
pub trait Engine: Dialect {
    type Pool: Clone;

    /// A pool of at most `connections` connections, after one connection was made and closed
    /// so that a refused or unreachable server fails at once with its own reason.
    async fn connect(url: &DbUrl, connections: u32, options: &ConnectOptions)
        -> Result<Self::Pool>;

    /// The table's columns and keys, or `None` when it does not exist.
    async fn table_info(pool: &Self::Pool, name: &str) -> Result<Option<TableInfo>>;

    /// The database's user tables, in a stable order.
    async fn list_tables(pool: &Self::Pool) -> Result<Vec<SourceTable>>;

    /// The foreign keys among `tables` (names as in the job file), as `(child, parent)`
    /// positions in the list.
    async fn foreign_keys(pool: &Self::Pool, tables: &[String]) -> Result<Vec<(usize, usize)>>;

    /// What the table's definition holds beyond columns and keys (defaults, numbered columns,
    /// comments, foreign keys, checks), for `create_missing` to carry over.
    async fn table_extras(pool: &Self::Pool, name: &str) -> Result<TableExtras>;

    /// Takes the lock named `name` that keeps two runs from writing one table at once, waiting
    /// up to `timeout`; `None` when another run held it all that time. `location` names the
    /// database (the SQLite file).
    async fn lock(
        pool: &Self::Pool,
        location: &str,
        name: &str,
        timeout: Duration,
    ) -> Result<Option<TableLock>>;
}

/// A held table lock (see [`Db::lock_table`] and [`Engine::lock`]). The server connections are detached from the pool,
/// so that even a guard that is only dropped ends the session, and the lock with it.
pub enum TableLock {
    Postgres(sqlx::postgres::PgConnection),
    MySql(sqlx::mysql::MySqlConnection),
    File(sqlite::LockFile),
}

impl TableLock {
    /// Releases the lock by closing its session (or file).
    pub async fn release(self) {
        // A failed close still drops the socket, which ends the session all the same.
        let _ = match self {
            TableLock::Postgres(c) => sqlx::Connection::close(c).await,
            TableLock::MySql(c) => sqlx::Connection::close(c).await,
            TableLock::File(lock) => {
                lock.release();
                Ok(())
            }
        };
    }
}

/// How a pool is opened, whatever the engine.
#[derive(Debug, Clone, Copy)]
pub struct ConnectOptions {
    /// How long to wait for the first connection.
    pub timeout: Duration,
    /// Turn foreign key checks off in every session (`--disable-integrity`).
    pub disable_integrity: bool,
    /// What a SQLite URL naming a file that does not exist opens.
    pub missing_file: MissingFile,
}

/// What opening a SQLite database whose file does not exist does (other engines have no file).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MissingFile {
    /// Fail: the URL names no database.
    #[default]
    Refuse,
    /// Create the file: a `sync` whose job creates missing tables (`create_missing`).
    Create,
    /// Open an empty database in memory instead and create nothing: `diff`, `check` and
    /// `sync --dry-run` of such a job, which then report every table as one `sync` will create.
    ReadEmpty,
}

/// Makes one connection and closes it again, so that a refused or unreachable server fails at
/// once with the server's own reason; pools would keep retrying until their timeout.
async fn check_connection<C: sqlx::Connection>(
    options: &C::Options,
    timeout: Duration,
) -> Result<()> {
    let connection = tokio::time::timeout(timeout, C::connect_with(options))
        .await
        .map_err(|_| anyhow::anyhow!("no answer within {} seconds", timeout.as_secs()))??;
    connection.close().await?;
    Ok(())
}

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
    /// The collation of a text column as the engine names it, with what makes two collations of
    /// one name differ (on PostgreSQL: provider, locale and version); `None` for other types.
    pub collation: Option<String>,
}

impl Column {
    /// The collation's name: the first part of [`Column::collation`] (PostgreSQL's database
    /// default is `default`).
    pub fn collation_name(&self) -> Option<&str> {
        self.collation.as_deref()?.split('/').next()
    }
}

/// How a key column orders its values, as far as chunking by key ranges cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrder {
    /// Integers: numeric order, on every engine.
    Integer,
    /// By the value's bytes (UTF-8 for text, the 16 bytes of a PostgreSQL `uuid`), with
    /// equality of the bytes: binary strings, and text under a byte-order collation without
    /// padding (PostgreSQL `C`/`POSIX`, MariaDB `utf8mb4_nopad_bin`). Alike on every engine.
    Bytes,
    /// Chronological: dates and timestamps without a time zone. Alike on PostgreSQL and MySQL.
    Chronological,
    /// The engine's own order for this declaration and collation: alike only on the same engine
    /// with the same declaration and collation.
    Engine,
    /// No order that range conditions can use exactly.
    Unordered,
}

/// How a key column decides that two values are one key, as far as writing by key cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyEquality {
    /// Two values are one key only when they are the same value (text: the same code points).
    Exact,
    /// Some different values are one key: `'a'` and `'A'` under a case-insensitive collation,
    /// `'a'` and `'a '` under a `PAD SPACE` one, `'e'` and `'é'` under an accent-insensitive one.
    Coarse,
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
    /// Hash rows in-process instead of in SQL: where the engine has no hash in SQL (SQLite),
    /// where a column's canonical text cannot be produced in SQL across engines (floats, JSON;
    /// see [`crate::value`]), and on a source with data rules (its rows are hashed as the rules
    /// transform them).
    pub hash_in_process: bool,
    /// Both sides are the same server engine with identical column declarations: rows are hashed
    /// over each value's own exact text instead of the canonical expressions (the native row
    /// hashes of [`crate::value`]), and PostgreSQL chunks are piped `COPY` to `COPY`.
    pub native_rows: bool,
    /// Some key column compares keys more coarsely than by value ([`KeyEquality::Coarse`]).
    /// On a target, deletes by key then also compare the key exactly, and upserts write the key
    /// columns too: a row found by a key of another spelling (`key7` for the source's `Key7`)
    /// takes the source's spelling, and no delete of `key7` can remove it afterwards.
    pub coarse_key: bool,
    /// How the key identifies the side's rows, and so how rows are written.
    pub identity: Identity,
}

/// How a side's key identifies its rows (decided by `crate::schema`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// The primary key or a unique index: one row per key, rows are upserted.
    Unique,
    /// Columns the job file names as the key without a unique index on this side. The source's
    /// subset is checked to hold each key once before anything is written
    /// (`crate::collisions`); a target may hold copies of a key, so its rows are written by
    /// deleting every row of the key, then inserting.
    Unindexed,
    /// No key at all: every column is the key and the rows are a multiset. Identical rows are
    /// told apart by their count only; surplus copies are deleted one statement per distinct row
    /// with a limit, missing copies inserted (see `crate::compare`).
    WholeRow,
}

impl TableSide {
    pub fn key_columns(&self) -> impl Iterator<Item = &Column> {
        self.key.iter().map(|&i| &self.columns[i])
    }

    /// This side reading only its key columns.
    pub fn keys_only(&self) -> TableSide {
        TableSide {
            columns: self.key_columns().cloned().collect(),
            key: (0..self.key.len()).collect(),
            ..self.clone()
        }
    }

    /// The key of a row of this side.
    pub fn key_of(&self, row: &[Value]) -> Key {
        self.key.iter().map(|&i| row[i].clone()).collect()
    }

    /// The classes of the columns, in order.
    pub fn classes(&self) -> Vec<TypeClass> {
        self.columns.iter().map(|c| c.class).collect()
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

/// The rows of a chunk whose key hash modulo `modulus` is one of `residues`: the groups a
/// differing chunk is narrowed to, level by level (see `crate::narrow`). Groups at a finer level
/// take a multiple of the modulus, so that every group lies inside one group of the level above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyGroups {
    pub modulus: u64,
    pub residues: Vec<u64>,
}

/// How a table's chunks can all be checksummed in one grouped scan per side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// Hash buckets `0..of`.
    Buckets { of: u64 },
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

/// Whether an error means the work may simply be tried again (see [`Dialect::is_transient`]):
/// a lost connection, or a transient code of one of these engines' servers.
pub fn is_transient(kinds: &[EngineKind], error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| match cause.downcast_ref::<sqlx::Error>() {
            Some(sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Protocol(_)) => true,
            Some(sqlx::Error::Database(db)) => {
                // The SQLSTATE, and MySQL's own error number, which tells more (1205 has none).
                let mut codes: Vec<String> =
                    db.code().map(|c| c.into_owned()).into_iter().collect();
                if let Some(mysql) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
                    codes.push(mysql.number().to_string());
                }
                kinds
                    .iter()
                    .any(|k| codes.iter().any(|c| k.dialect().is_transient(c)))
            }
            _ => false,
        })
}

/// The wire type a column of this engine is read and written as.
pub fn wire_of(kind: EngineKind, column: &Column) -> Wire {
    kind.dialect().select_expr(column, "").1
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
    /// `value` as the column's wire type takes it ([`coerce`]); a value that does not convert is
    /// bound as it is, for the database to refuse or to compare as unequal.
    pub fn new(value: Value, wire: Wire) -> Param {
        let value = coerce(value, wire).unwrap_or_else(|refused| refused.value);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn text(decl: &str, collation: Option<&str>) -> Column {
        Column {
            name: "code".into(),
            decl_type: decl.into(),
            cast_type: decl.into(),
            class: TypeClass::Text,
            nullable: false,
            has_default: false,
            generated: false,
            collation: collation.map(Into::into),
        }
    }

    #[test]
    fn key_equality_is_exact_only_where_every_value_is_its_own_key() {
        use KeyEquality::{Coarse, Exact};
        let cases = [
            (
                EngineKind::MySql,
                text(
                    "varchar(9) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci",
                    Some("utf8mb4_general_ci"),
                ),
                Coarse,
            ),
            // Binary, but PAD SPACE: 'a' = 'a '.
            (
                EngineKind::MySql,
                text(
                    "varchar(9) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
                    Some("utf8mb4_bin"),
                ),
                Coarse,
            ),
            (
                EngineKind::MySql,
                text(
                    "varchar(9) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin",
                    Some("utf8mb4_nopad_bin"),
                ),
                Exact,
            ),
            // CHAR drops trailing spaces whatever the collation.
            (
                EngineKind::MySql,
                text(
                    "char(9) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin",
                    Some("utf8mb4_nopad_bin"),
                ),
                Coarse,
            ),
            (
                EngineKind::Postgres,
                text("text", Some("default/c/C.UTF-8/C.UTF-8///")),
                Exact,
            ),
            (
                EngineKind::Postgres,
                text(
                    "character varying(9)",
                    Some("en_US/c/en_US.utf8//2.36/deterministic"),
                ),
                Exact,
            ),
            (
                EngineKind::Postgres,
                text("text", Some("ci/i/und-u-ks-level2//153/nondeterministic")),
                Coarse,
            ),
            (
                EngineKind::Postgres,
                text("citext", Some("default/c/C.UTF-8/C.UTF-8///")),
                Coarse,
            ),
            (
                EngineKind::Postgres,
                text("character(3)", Some("default/c/C.UTF-8/C.UTF-8///")),
                Coarse,
            ),
            (EngineKind::Sqlite, text("TEXT", None), Exact),
            (EngineKind::Sqlite, text("TEXT", Some("BINARY")), Exact),
            (EngineKind::Sqlite, text("TEXT", Some("nocase")), Coarse),
            (EngineKind::Sqlite, text("TEXT", Some("RTRIM")), Coarse),
        ];
        for (kind, column, expected) in cases {
            assert_eq!(
                kind.dialect().key_equality(&column),
                expected,
                "{kind} {column:?}"
            );
        }
        let mut number = text("bigint", None);
        number.class = TypeClass::Int;
        for kind in [EngineKind::Postgres, EngineKind::MySql, EngineKind::Sqlite] {
            assert_eq!(kind.dialect().key_equality(&number), Exact);
        }
    }

    #[test]
    fn created_text_keys_tell_every_key_apart() {
        let source = text("text", None);
        let mysql = EngineKind::MySql
            .dialect()
            .declare(EngineKind::Postgres, &source, true);
        assert_eq!(
            mysql,
            "varchar(768) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin"
        );
        let postgres = EngineKind::Postgres
            .dialect()
            .declare(EngineKind::MySql, &source, true);
        assert_eq!(postgres, "text COLLATE \"C\"");
        let sqlite = EngineKind::Sqlite
            .dialect()
            .declare(EngineKind::MySql, &source, true);
        assert_eq!(sqlite, "TEXT");
        // Other columns keep the character set's default collation.
        let other = EngineKind::MySql
            .dialect()
            .declare(EngineKind::Postgres, &source, false);
        assert_eq!(other, "longtext CHARACTER SET utf8mb4");
    }

    #[test]
    fn deadlocks_and_lost_connections_are_tried_again_but_not_mistakes() {
        let mysql = EngineKind::MySql.dialect();
        let postgres = EngineKind::Postgres.dialect();
        for code in ["1213", "1205", "40001", "2013", "1927"] {
            assert!(mysql.is_transient(code), "MySQL {code}");
        }
        for code in ["40001", "40P01", "57P01", "08006"] {
            assert!(postgres.is_transient(code), "PostgreSQL {code}");
        }
        // A duplicate key, a syntax error, an undefined column: trying again cannot help.
        for code in ["1062", "1064", "42000", "HY000"] {
            assert!(!mysql.is_transient(code), "MySQL {code}");
        }
        for code in ["23505", "42601", "42703"] {
            assert!(!postgres.is_transient(code), "PostgreSQL {code}");
        }
    }
}
