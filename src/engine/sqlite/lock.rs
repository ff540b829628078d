//! The table lock of a SQLite target: an exclusive lock on a file beside the database.

use super::super::TableLock;
use anyhow::{Context, Result};
use std::time::Duration;

/// Locks `<database file>.dbdelta-lock`, trying every 200 ms until `timeout`; `None` when it
/// stayed locked. One lock per database file: SQLite has one writer at a time anyway.
pub async fn lock(location: &str, timeout: Duration) -> Result<Option<TableLock>> {
    let deadline = tokio::time::Instant::now() + timeout;
    let path = format!("{}.dbdelta-lock", location.trim_start_matches("sqlite:"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open the lock file {path}"))?;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Some(TableLock::File(file))),
            Err(std::fs::TryLockError::WouldBlock) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {path}"))
            }
        }
    }
}
