//! MySQL and MariaDB: connecting, introspection through `information_schema`, the SQL of the
//! canonical row encoding (computed on the server with `MD5`) and of the native row hash, and
//! `GET_LOCK` table locks.

mod connect;
mod dialect;
mod introspect;
mod lock;

pub(in crate::engine) use connect::{max_allowed_packet, SNAPSHOT_BEGIN};

use super::{ConnectOptions, DbUrl, Engine, SourceTable, TableExtras, TableInfo, TableLock};
use anyhow::Result;
use sqlx::mysql::MySqlPool;
use std::time::Duration;

/// The MySQL/MariaDB engine.
pub struct MySql;

impl Engine for MySql {
    type Pool = MySqlPool;

    async fn connect(url: &DbUrl, connections: u32, options: &ConnectOptions) -> Result<MySqlPool> {
        connect::connect(url, connections, options).await
    }

    async fn table_info(pool: &MySqlPool, name: &str) -> Result<Option<TableInfo>> {
        introspect::table_info(pool, name).await
    }

    async fn list_tables(pool: &MySqlPool) -> Result<Vec<SourceTable>> {
        introspect::list_tables(pool).await
    }

    async fn foreign_keys(pool: &MySqlPool, tables: &[String]) -> Result<Vec<(usize, usize)>> {
        introspect::foreign_keys(pool, tables).await
    }

    async fn table_extras(pool: &MySqlPool, name: &str) -> Result<TableExtras> {
        introspect::table_extras(pool, name).await
    }

    async fn lock(
        pool: &MySqlPool,
        _location: &str,
        name: &str,
        timeout: Duration,
    ) -> Result<Option<TableLock>> {
        lock::lock(pool, name, timeout).await
    }
}
