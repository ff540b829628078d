//! Who wins when the command line, a `[[tables]]` entry, `[defaults]` (or `[source]`/`[target]`)
//! and the built-in defaults each say something. One function per setting, and nowhere else:
//! the rest of stage two only validates values and hands them here.
//!
//! The order is always the same: command line, then the table's own value, then the file's
//! run-wide value, then the built-in default.

use super::job::{Integrity, Mode, TableJob};
use anyhow::{bail, Result};
use std::time::Duration;

pub const DEFAULT_CHUNK_SIZE: u64 = 10_000;
pub const DEFAULT_JOBS: usize = 4;
/// Chunks at once, when `jobs` is not set, for a source whose round trip takes
/// [`REMOTE_ROUND_TRIP`] or more: narrowing a chunk takes several round trips, and over a slow
/// link their waits, not the servers, bound the run.
pub const REMOTE_JOBS: usize = 12;
pub const REMOTE_ROUND_TRIP: Duration = Duration::from_millis(5);
/// How long `sync` waits for an overlapping run (a cron job that ran long) by default.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);
/// More concurrent chunks than this only queue up on the servers.
pub const MAX_JOBS: usize = 1024;

/// How long connecting to a side may take by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Command-line values that take precedence over the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--from`: the source URL, instead of the file's.
    pub source_url: Option<String>,
    /// `--to`: the target URL, instead of the file's.
    pub target_url: Option<String>,
    /// `--mode` (or `--preserve`, `--overwrite`, `--truncate`): every table's mode.
    pub mode: Option<Mode>,
    /// `--connect-timeout`.
    pub connect_timeout: Option<Duration>,
    /// `--allow-remote`: write to a target that is not on this machine.
    pub allow_remote: bool,
    /// `--lock-timeout`: how long to wait for another run's lock on a target table.
    pub lock_timeout: Option<Duration>,
    /// `--sleep`: a pause after every chunk, to be gentle with a busy production server.
    pub sleep: Option<Duration>,
    pub jobs: Option<usize>,
    pub chunk_size: Option<u64>,
    /// `--source-connections`: at most this many connections to the source.
    pub source_connections: Option<usize>,
    /// `--defer-constraints` / `--disable-integrity`.
    pub integrity: Option<Integrity>,
    /// `--no-sequences`: leave the target's sequences alone.
    pub no_sequences: bool,
    /// `--schema-only`: create the missing tables, copy no rows.
    pub schema_only: bool,
    /// Only these tables, in this order, each with an optional one-off subset condition that
    /// replaces the file's `where`. A table the file does not list gets the defaults. A name
    /// may be a pattern (`orders_*`), expanded against the source's tables.
    pub tables: Vec<(String, Option<String>)>,
    /// `--exclude`: more tables (names or patterns) to leave out, besides the file's `exclude`.
    pub exclude: Vec<String>,
    /// `list`: nothing will connect, so a URL (or `data_rules_seed`) whose `${VAR}` is not set
    /// is kept as written instead of failing.
    pub no_connection: bool,
}

impl Overrides {
    /// Refuses what the command-line parser refuses too, for callers of the library.
    pub(super) fn check(&self) -> Result<()> {
        if self.jobs == Some(0) || self.chunk_size == Some(0) {
            bail!("--jobs and --chunk-size must be positive numbers");
        }
        Ok(())
    }
}

/// The layers around a table's own settings: the command line above them, `[defaults]` below.
#[derive(Debug, Clone, Copy)]
pub(super) struct Layers {
    pub cli_chunk_size: Option<u64>,
    pub defaults_chunk_size: Option<u64>,
    pub defaults_create_missing: Option<bool>,
}

impl Layers {
    /// `--chunk-size`, then the table's `chunk_size`, then `[defaults]`, then 10000.
    pub fn chunk_size(&self, table: Option<u64>) -> u64 {
        self.cli_chunk_size
            .or(table)
            .or(self.defaults_chunk_size)
            .unwrap_or(DEFAULT_CHUNK_SIZE)
    }

    /// The table's `create_missing`, then `[defaults]`, then off.
    pub fn create_missing(&self, table: Option<bool>) -> bool {
        table.or(self.defaults_create_missing).unwrap_or(false)
    }

    /// A table the file does not list: every setting from the layers.
    pub fn unlisted_table(&self, name: &str) -> TableJob {
        let mut table = TableJob::with_defaults(name, self.chunk_size(None));
        table.create_missing = self.create_missing(None);
        table
    }
}

/// `--jobs`, then `[defaults] jobs`, then 4 (see [`REMOTE_JOBS`] for a distant source); `None`
/// when neither sets it.
pub(super) fn jobs(cli: Option<usize>, defaults: Option<usize>) -> Option<usize> {
    cli.or(defaults)
}

/// `--source-connections`, then `[source] max_connections`, then no limit of its own.
pub(super) fn source_connections(cli: Option<usize>, source: Option<usize>) -> Option<usize> {
    cli.or(source)
}

/// `--defer-constraints` or `--disable-integrity`, then `[defaults]`, then enforced.
pub(super) fn integrity(cli: Option<Integrity>, defaults: Option<Integrity>) -> Integrity {
    cli.or(defaults).unwrap_or_default()
}

/// Off with `--no-sequences`, else `[defaults] sequences`, else on.
pub(super) fn sequences(no_sequences: bool, defaults: Option<bool>) -> bool {
    !no_sequences && defaults.unwrap_or(true)
}

/// Remote targets are allowed by either `--allow-remote` or `[target] allow_remote`.
pub(super) fn allow_remote(cli: bool, target: bool) -> bool {
    cli || target
}

/// `--lock-timeout`, else 60 seconds (the file has no setting).
pub(super) fn lock_timeout(cli: Option<Duration>) -> Duration {
    cli.unwrap_or(DEFAULT_LOCK_TIMEOUT)
}

/// `--connect-timeout`, then `[defaults] connect_timeout`, then 15 seconds.
pub(super) fn connect_timeout(cli: Option<Duration>, defaults: Option<Duration>) -> Duration {
    cli.or(defaults).unwrap_or(DEFAULT_CONNECT_TIMEOUT)
}

/// `--mode` replaces every table's own.
pub(super) fn mode(cli: Option<Mode>, table: &mut TableJob) {
    if let Some(mode) = cli {
        table.mode = mode;
    }
}

/// `--sleep`, else no pause (the file has no setting).
pub(super) fn sleep(cli: Option<Duration>) -> Duration {
    cli.unwrap_or_default()
}

/// A group's `where` replaces the table's own: the one the group gives this table, else the
/// group's shared one. A query table keeps its `query` and `target_where`, into which the group's
/// value goes instead; a `where` the group gives it by name cannot apply, and is refused.
pub(super) fn group_subset(
    table: &mut TableJob,
    own: Option<&str>,
    shared: Option<&str>,
    args: &[String],
) -> Result<()> {
    match (&table.query, own.or(shared)) {
        (Some(_), _) if own.is_some() => bail!(
            "table {:?} is defined by a query; a group's `where` for it cannot apply (put the \
             condition in its `query` and `target_where`)",
            table.name
        ),
        (None, Some(filter)) => table.filter = Some(filter.to_string()),
        _ => {}
    }
    table.args = args.to_vec();
    Ok(())
}

/// A one-off `where` from the command line replaces the table's own; a query table has none.
pub(super) fn one_off_subset(table: &mut TableJob, one_off: &str) -> Result<()> {
    if table.query.is_some() {
        bail!(
            "table {:?} is defined by a query; a one-off `where` cannot apply to it",
            table.name
        );
    }
    table.filter = Some(one_off.to_string());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_wins_then_the_table_then_defaults() {
        let layers = |cli, defaults| Layers {
            cli_chunk_size: cli,
            defaults_chunk_size: defaults,
            defaults_create_missing: Some(true),
        };
        assert_eq!(layers(Some(1), Some(3)).chunk_size(Some(2)), 1);
        assert_eq!(layers(None, Some(3)).chunk_size(Some(2)), 2);
        assert_eq!(layers(None, Some(3)).chunk_size(None), 3);
        assert_eq!(layers(None, None).chunk_size(None), DEFAULT_CHUNK_SIZE);
        assert!(!layers(None, None).create_missing(Some(false)));
        assert!(layers(None, None).create_missing(None));
        let unlisted = layers(Some(9), None).unlisted_table("x");
        assert_eq!((unlisted.chunk_size, unlisted.create_missing), (9, true));

        assert_eq!(jobs(Some(2), Some(8)), Some(2));
        assert_eq!(jobs(None, Some(8)), Some(8));
        assert_eq!(jobs(None, None), None);
        assert_eq!(source_connections(None, Some(3)), Some(3));
        assert_eq!(
            integrity(Some(Integrity::Disable), Some(Integrity::Defer)),
            Integrity::Disable
        );
        assert_eq!(integrity(None, None), Integrity::Enforce);
        assert!(!sequences(true, Some(true)));
        assert!(!sequences(false, Some(false)));
        assert!(sequences(false, None));
        assert_eq!(lock_timeout(None), DEFAULT_LOCK_TIMEOUT);
        assert!(sleep(None).is_zero());
    }

    #[test]
    fn subsets_from_groups_and_the_command_line() {
        let mut plain = TableJob::with_defaults("t", 10);
        plain.filter = Some("own".into());
        group_subset(&mut plain, None, Some("g = {1}"), &["7".into()]).unwrap();
        assert_eq!(plain.filter.as_deref(), Some("g = {1}"));
        assert_eq!(plain.args, ["7"]);
        let mut kept = TableJob::with_defaults("t", 10);
        kept.filter = Some("own".into());
        group_subset(&mut kept, None, None, &[]).unwrap();
        assert_eq!(kept.filter.as_deref(), Some("own"));
        let mut by_name = TableJob::with_defaults("t", 10);
        group_subset(&mut by_name, Some("u = {1}"), Some("g = {1}"), &[]).unwrap();
        assert_eq!(by_name.filter.as_deref(), Some("u = {1}"));

        let mut query = TableJob::with_defaults("q", 10);
        query.query = Some("SELECT 1".into());
        group_subset(&mut query, None, Some("g = {1}"), &["7".into()]).unwrap();
        assert_eq!(
            (query.filter.clone(), query.args.clone()),
            (None, vec!["7".to_string()])
        );
        let err = group_subset(&mut query, Some("u = {1}"), None, &[]).unwrap_err();
        assert!(err.to_string().contains("defined by a query"), "{err}");
        let mut query = TableJob::with_defaults("q", 10);
        query.query = Some("SELECT 1".into());
        let err = one_off_subset(&mut query, "x = 1").unwrap_err();
        assert!(err.to_string().contains("defined by a query"), "{err}");
        one_off_subset(&mut plain, "x = 1").unwrap();
        assert_eq!(plain.filter.as_deref(), Some("x = 1"));
    }
}
