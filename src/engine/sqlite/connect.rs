//! Opening a SQLite database file as a pool, and the pragmas that shape its sessions.

use super::super::{check_connection, ConnectOptions, DbUrl, MissingFile};
use anyhow::{bail, Context, Result};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqlitePool, SqlitePoolOptions};
use std::time::Duration;

pub async fn connect(
    url: &DbUrl,
    connections: u32,
    options: &ConnectOptions,
) -> Result<SqlitePool> {
    let ConnectOptions {
        timeout,
        disable_integrity,
        missing_file,
    } = *options;
    let Some(path) = &url.sqlite_path else {
        bail!("{} is not a SQLite URL", url.display);
    };
    let exists = path.is_file();
    let base = match missing_file {
        _ if exists => SqliteConnectOptions::new().filename(path),
        MissingFile::Refuse => bail!("SQLite database file {} does not exist", path.display()),
        // Only a `sync` that creates tables creates the file, which then has them.
        MissingFile::Create => SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true),
        // Each connection of the pool opens its own empty database; nothing is written to them.
        MissingFile::ReadEmpty => SqliteConnectOptions::new().in_memory(true),
    };
    let connect_options = base
        .foreign_keys(!disable_integrity)
        // Another process (or our own writer) may hold the write lock for a moment.
        .busy_timeout(Duration::from_secs(30));
    check_connection::<SqliteConnection>(&connect_options, timeout)
        .await
        .with_context(|| format!("cannot open SQLite database {}", path.display()))?;
    Ok(SqlitePoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(timeout)
        .connect_lazy_with(connect_options))
}

/// Makes a `--defer-constraints` transaction check foreign keys at commit.
pub const DEFER_CONSTRAINTS: &str = "PRAGMA defer_foreign_keys = ON";
