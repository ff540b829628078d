//! The table lock of a MySQL/MariaDB target: `GET_LOCK` on a detached connection.

use super::super::TableLock;
use anyhow::Result;
use md5::Digest;
use sqlx::mysql::MySqlPool;
use std::time::Duration;

/// Takes the named lock `name`, waiting up to `timeout`; `None` when it stayed taken. The
/// connection is detached from the pool, so that dropping the guard ends the session and the
/// lock with it.
pub async fn lock(pool: &MySqlPool, name: &str, timeout: Duration) -> Result<Option<TableLock>> {
    let mut conn = pool.acquire().await?.detach();
    // GET_LOCK names are at most 64 characters: long ones are shortened to a digest.
    let name = if name.len() > 64 {
        format!(
            "dbdelta:{}",
            hex::encode(&md5::Md5::digest(name.as_bytes())[..12])
        )
    } else {
        name.to_string()
    };
    let got: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, ?)")
        .bind(&name)
        .bind(timeout.as_secs_f64())
        .fetch_one(&mut conn)
        .await?;
    Ok((got == Some(1)).then_some(TableLock::MySql(conn)))
}
