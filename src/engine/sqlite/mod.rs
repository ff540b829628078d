//! SQLite: opening a database file, introspection through `PRAGMA table_xinfo` and the index
//! pragmas, and column classification by declared type. SQLite has no MD5 function, so its rows
//! are hashed in-process ([`crate::value::row_hash`]); only plain column reads happen in SQL.

mod connect;
mod dialect;
mod introspect;
mod lock;

pub use lock::LockFile;

use connect::DEFER_CONSTRAINTS;

use super::{ConnectOptions, DbUrl, Engine, SourceTable, TableExtras, TableInfo, TableLock};
use anyhow::Result;
use sqlx::sqlite::SqlitePool;
use std::time::Duration;

/// The SQLite engine.
pub struct Sqlite;

impl Engine for Sqlite {
    type Pool = SqlitePool;

    async fn connect(
        url: &DbUrl,
        connections: u32,
        options: &ConnectOptions,
    ) -> Result<SqlitePool> {
        connect::connect(url, connections, options).await
    }

    async fn table_info(pool: &SqlitePool, name: &str) -> Result<Option<TableInfo>> {
        introspect::table_info(pool, name).await
    }

    async fn list_tables(pool: &SqlitePool) -> Result<Vec<SourceTable>> {
        introspect::list_tables(pool).await
    }

    async fn foreign_keys(pool: &SqlitePool, tables: &[String]) -> Result<Vec<(usize, usize)>> {
        introspect::foreign_keys(pool, tables).await
    }

    async fn table_extras(pool: &SqlitePool, name: &str) -> Result<TableExtras> {
        introspect::table_extras(pool, name).await
    }

    async fn lock(
        _pool: &SqlitePool,
        location: &str,
        _name: &str,
        timeout: Duration,
    ) -> Result<Option<TableLock>> {
        lock::lock(location, timeout).await
    }
}
