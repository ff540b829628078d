//! PostgreSQL: connecting, introspection through the system catalogs, the SQL of the canonical
//! row encoding (computed on the server with `md5`) and of the native row hash, advisory locks,
//! and the engine's own fast paths: `COPY`, packed row hashes, sequences (see `Db::postgres`).

mod connect;
mod copy;
mod dialect;
mod introspect;
mod lock;
mod sequences;

use connect::DEFER_CONSTRAINTS;
pub(in crate::engine) use connect::SNAPSHOT_BEGIN;
pub(in crate::engine) use copy::copy_rows;
pub(in crate::engine) use dialect::on_conflict_clause;
pub(in crate::engine) use sequences::advance_sequences;

use super::{ConnectOptions, DbUrl, Engine, SourceTable, TableExtras, TableInfo, TableLock};
use anyhow::Result;
use sqlx::postgres::PgPool;
use std::time::Duration;

/// The largest message a PostgreSQL server accepts (its `MaxAllocSize`, 1 GiB less a byte),
/// which bounds a statement with its bound values.
pub(in crate::engine) const MESSAGE_BYTES: u64 = (1 << 30) - 1;

/// The PostgreSQL engine.
pub struct Postgres;

impl Engine for Postgres {
    type Pool = PgPool;

    async fn connect(url: &DbUrl, connections: u32, options: &ConnectOptions) -> Result<PgPool> {
        connect::connect(url, connections, options).await
    }

    async fn table_info(pool: &PgPool, name: &str) -> Result<Option<TableInfo>> {
        introspect::table_info(pool, name).await
    }

    async fn list_tables(pool: &PgPool) -> Result<Vec<SourceTable>> {
        introspect::list_tables(pool).await
    }

    async fn foreign_keys(pool: &PgPool, tables: &[String]) -> Result<Vec<(usize, usize)>> {
        introspect::foreign_keys(pool, tables).await
    }

    async fn table_extras(pool: &PgPool, name: &str) -> Result<TableExtras> {
        introspect::table_extras(pool, name).await
    }

    async fn lock(
        pool: &PgPool,
        _location: &str,
        name: &str,
        timeout: Duration,
    ) -> Result<Option<TableLock>> {
        lock::lock(pool, name, timeout).await
    }
}
