//! The table lock of a SQLite target: an exclusive lock on a file beside the database,
//! `<database file>.dbdelta-lock`, removed again when the lock is released.
//!
//! Removing the file opens a race: a waiter may have opened it before the holder removed it and
//! lock it after, holding a lock on a file no longer at the path while a third run creates a new
//! one there and locks that. So whoever gets the lock checks that the file it locked is still the
//! one at the path, and starts over otherwise. The holder removes the file while it still holds
//! the lock, so a file at the path is never removed by anyone but its holder. (Where files have no
//! identity to compare, on other systems than Unix, the file is left in place, as a lock without
//! the race.)

use super::super::TableLock;
use anyhow::{Context, Result};
use std::fs::File;
use std::path::PathBuf;
use std::time::Duration;

/// How often a waiter tries again.
const RETRY: Duration = Duration::from_millis(200);

/// A held lock file.
#[derive(Debug)]
pub struct LockFile {
    file: File,
    path: PathBuf,
}

impl LockFile {
    /// Removes the file, then unlocks it by closing it.
    pub fn release(self) {
        #[cfg(unix)]
        {
            // A file left behind is only untidy: the next run locks and removes it.
            let _ = std::fs::remove_file(&self.path);
        }
        drop(self.file);
    }
}

/// Locks `<database file>.dbdelta-lock`, trying every 200 ms until `timeout`; `None` when it
/// stayed locked. One lock per database file: SQLite has one writer at a time anyway.
pub async fn lock(location: &str, timeout: Duration) -> Result<Option<TableLock>> {
    let path = PathBuf::from(format!(
        "{}.dbdelta-lock",
        location.trim_start_matches("sqlite:")
    ));
    Ok(lock_file(path, timeout).await?.map(TableLock::File))
}

async fn lock_file(path: PathBuf, timeout: Duration) -> Result<Option<LockFile>> {
    let deadline = tokio::time::Instant::now() + timeout;
    let shown = path.display();
    loop {
        // Opened anew on every try: the file of an earlier try may have been removed since.
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open the lock file {shown}"))?;
        match file.try_lock() {
            Ok(()) if still_at(&file, &path) => return Ok(Some(LockFile { file, path })),
            // Locked after its holder removed it: try the file now at the path.
            Ok(()) => continue,
            Err(std::fs::TryLockError::WouldBlock) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(RETRY).await;
            }
            Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {shown}"))
            }
        }
    }
}

/// Whether `file` is the file at `path` (not one removed from there).
#[cfg(unix)]
fn still_at(file: &File, path: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(open), Ok(there)) => (open.dev(), open.ino()) == (there.dev(), there.ino()),
        _ => false,
    }
}

/// Without file identities the file is never removed, so it is still there.
#[cfg(not(unix))]
fn still_at(_file: &File, _path: &std::path::Path) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_lock_file_goes_with_the_lock_and_a_waiter_still_excludes_others() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("db.sqlite.dbdelta-lock");
        let first = lock_file(path.clone(), Duration::ZERO)
            .await
            .expect("lock")
            .expect("free");
        assert!(path.exists());
        // A waiter opens the file, which the first holder then removes.
        let waiter = tokio::spawn(lock_file(path.clone(), Duration::from_secs(10)));
        tokio::time::sleep(RETRY / 2).await;
        first.release();
        let second = waiter.await.expect("task").expect("lock").expect("got it");
        assert!(path.exists(), "the waiter locked a file at the path");
        // The waiter's lock excludes a third run.
        let third = lock_file(path.clone(), Duration::from_millis(300))
            .await
            .expect("lock");
        assert!(third.is_none(), "two runs held the lock at once");
        second.release();
        #[cfg(unix)]
        assert!(!path.exists(), "the lock file is removed with the lock");
    }

    #[cfg(unix)]
    #[test]
    fn a_file_removed_from_the_path_is_not_the_lock_file_any_more() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("x.dbdelta-lock");
        let file = File::create(&path).expect("create");
        assert!(still_at(&file, &path));
        std::fs::remove_file(&path).expect("remove");
        assert!(!still_at(&file, &path));
        File::create(&path).expect("create anew");
        assert!(!still_at(&file, &path));
    }
}
