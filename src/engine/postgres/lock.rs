//! The table lock of a PostgreSQL target: a session-level advisory lock on a detached connection.

use super::super::TableLock;
use anyhow::Result;
use sqlx::postgres::PgPool;
use std::time::Duration;

/// Takes the advisory lock `name`, trying every 200 ms until `timeout`; `None` when it stayed
/// taken. The connection is detached from the pool, so that dropping the guard ends the session
/// and the lock with it.
pub async fn lock(pool: &PgPool, name: &str, timeout: Duration) -> Result<Option<TableLock>> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut conn = pool.acquire().await?.detach();
    loop {
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
            .bind(name)
            .fetch_one(&mut conn)
            .await?;
        if got {
            return Ok(Some(TableLock::Postgres(conn)));
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
