//! Opening a PostgreSQL pool, and the statements that shape its sessions.

use super::super::{check_connection, ConnectOptions, DbUrl};
use anyhow::Result;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use std::str::FromStr;

pub async fn connect(url: &DbUrl, connections: u32, options: &ConnectOptions) -> Result<PgPool> {
    let ConnectOptions {
        timeout,
        disable_integrity,
        missing_file: _,
    } = *options;
    let mut options = PgConnectOptions::from_str(url.secret())
        .map_err(|e| {
            anyhow::anyhow!(
                "invalid PostgreSQL URL {}: {}",
                url.display,
                strip_url(&e.to_string(), url)
            )
        })?
        .application_name("dbdelta")
        // Floats print exactly: PostgreSQL 12+ in their shortest round-trip form for any
        // positive value, older servers with 17 significant digits for 3. The canonical encoding
        // and the native row hash rely on it.
        .extra_float_digits(3)
        // A prepared statement is planned with its bound values every time: a bound set of key
        // groups is then planned for by its size, where a generic plan would guess.
        .options([("plan_cache_mode", "force_custom_plan")])
        // JIT compiles every scan of a large table anew, about 0.9 s of CPU (per parallel
        // worker) for a 2M-row checksum whose hashes are function calls it cannot speed up.
        .options([("jit", "off")]);
    if disable_integrity {
        // Triggers, foreign keys included, do not fire for replica sessions; a superuser (or a
        // role granted the parameter) may set it, which the first connection finds out.
        options = options.options([("session_replication_role", "replica")]);
    }
    check_connection::<PgConnection>(&options, timeout).await?;
    Ok(PgPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(timeout)
        .connect_lazy_with(options))
}

/// sqlx may echo the URL it could not parse; never let the password through.
fn strip_url(message: &str, url: &DbUrl) -> String {
    message.replace(url.secret(), &url.display)
}

/// Opens a chunk's read snapshot (see `Db::snapshot`).
pub const SNAPSHOT_BEGIN: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";

/// Makes a `--defer-constraints` transaction check `DEFERRABLE` constraints at commit.
pub const DEFER_CONSTRAINTS: &str = "SET CONSTRAINTS ALL DEFERRED";
