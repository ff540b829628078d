//! Opening a MySQL/MariaDB pool, and the statements that shape its sessions.

use super::super::{check_connection, ConnectOptions, DbUrl};
use anyhow::Result;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlPool, MySqlPoolOptions};
use std::str::FromStr;

pub async fn connect(url: &DbUrl, connections: u32, options: &ConnectOptions) -> Result<MySqlPool> {
    let ConnectOptions {
        timeout,
        disable_integrity,
        missing_file: _,
    } = *options;
    // sqlx already runs sessions with time_zone '+00:00' and utf8mb4, which the canonical
    // encoding relies on (TIMESTAMP columns print in UTC, text hashes as UTF-8).
    let connect_options = MySqlConnectOptions::from_str(url.secret()).map_err(|e| {
        anyhow::anyhow!(
            "invalid MySQL URL {}: {}",
            url.display,
            e.to_string().replace(url.secret(), &url.display)
        )
    })?;
    check_connection::<MySqlConnection>(&connect_options, timeout).await?;
    Ok(MySqlPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(timeout)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                // A chunk's snapshot is only consistent at REPEATABLE READ, whatever the server's
                // default; `--disable-integrity` turns foreign key checks off for the session.
                sqlx::query("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                    .execute(&mut *conn)
                    .await?;
                // A chunk's row listing comes as one GROUP_CONCAT text (see
                // `sql::row_hashes_concatenated`): as long as a packet may be, not 1 MB.
                sqlx::query("SET SESSION group_concat_max_len = @@max_allowed_packet")
                    .execute(&mut *conn)
                    .await?;
                if disable_integrity {
                    sqlx::query("SET SESSION FOREIGN_KEY_CHECKS = 0")
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(())
            })
        })
        .connect_lazy_with(connect_options))
}

/// The server's `max_allowed_packet`: the largest statement (with its bound values) it takes.
pub async fn max_allowed_packet(pool: &MySqlPool) -> Result<u64> {
    let bytes: u64 = sqlx::query_scalar("SELECT CAST(@@max_allowed_packet AS UNSIGNED)")
        .fetch_one(pool)
        .await?;
    Ok(bytes)
}

/// Opens a chunk's read snapshot (see `Db::snapshot`); sessions run at REPEATABLE READ (set on
/// connect), which is what makes the snapshot consistent.
pub const SNAPSHOT_BEGIN: &str = "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY";
