//! Stage two: the one validated [`Job`] (and its [`TableJob`]s) that the rest of the program runs.
//!
//! [`Job::parse`] runs stage one (`file.rs`), then checks what serde cannot, expands `${VAR}`,
//! and layers the command line over the file through `precedence.rs`. No other part of the
//! program reads the job file.

use super::env::expand_env_if_set;
use super::file::{EndpointFile, JobFile};
use super::groups::{render_sql, Group};
use super::position::JobText;
use super::precedence::{self, Layers, Overrides, MAX_JOBS};
use super::select::Selection;
use super::{data_rules, expand_env, is_pattern, tables, DbUrl, EngineKind};
use crate::engine::SourceTable;
use crate::rules::DataRules;
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// A validated job, ready to run.
#[derive(Debug, Clone)]
pub struct Job {
    pub path: PathBuf,
    pub source: DbUrl,
    pub target: DbUrl,
    /// Writing to a target that is not on this machine was allowed (file or command line).
    pub allow_remote: bool,
    /// How long `sync` waits for another run's lock on a target table.
    pub lock_timeout: std::time::Duration,
    /// A pause after every chunk (zero: none).
    pub sleep: std::time::Duration,
    /// How long each side may take to accept a connection.
    pub connect_timeout: std::time::Duration,
    /// `--jobs` or `[defaults] jobs`, if set (see [`Job::chunk_jobs`]).
    pub jobs_set: Option<usize>,
    /// At most this many connections to the source (`[source] max_connections`).
    pub source_connections: Option<usize>,
    /// How the target's foreign keys are treated while writing.
    pub integrity: Integrity,
    /// After a sync, advance the target's sequences past the copied keys.
    pub sequences: bool,
    /// `sync --schema-only`: create the missing target tables (`create_missing`), copy no rows.
    pub schema_only: bool,
    /// The tables of this run, in order: the file's, or those the command line chose. A name
    /// may be a pattern until [`Job::expand`] replaces it by the source's tables it matches.
    pub tables: Vec<TableJob>,
    /// The file's groups, by name.
    pub groups: Vec<Group>,
    /// `[data_rules]` with their seed.
    pub data_rules: DataRules,
    /// How `tables` were chosen, to choose them again with the source's tables.
    selection: Selection,
}

/// One table of a job, with defaults applied.
#[derive(Debug, Clone)]
pub struct TableJob {
    /// The name as written: `schema.table` or `table`, taken literally (case-sensitive).
    pub name: String,
    /// The target table's name (the same as `name` unless `target =` says otherwise).
    pub target_name: String,
    /// Explicit key columns; `None` means the table's primary key.
    pub key: Option<Vec<String>>,
    pub chunk_size: u64,
    /// The subset condition (SQL), applied to both sides; `None` is the whole table.
    pub filter: Option<String>,
    /// Only these columns (`None`: all shared columns).
    pub columns: Option<Vec<String>>,
    pub exclude_columns: Vec<String>,
    pub mode: Mode,
    /// Create the target table from the source's definition when it does not exist.
    pub create_missing: bool,
    /// The source query, when the source is a query rather than the table `name`.
    pub query: Option<String>,
    /// With `query`: the target rows the query owns.
    pub target_where: Option<String>,
    /// Values for `{1}`, `{2}`, … in `filter`, `query` and `target_where`, inserted as SQL
    /// literals of each side's engine (see [`render_sql`]).
    pub args: Vec<String>,
}

/// What a sync may do to the target's subset.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Insert, update and delete until the subset equals the source's.
    #[default]
    Sync,
    /// Insert and update; never delete.
    Upsert,
    /// Only insert rows missing from the target.
    InsertOnly,
    /// Empty the target's subset, then copy the source's, without comparing.
    Truncate,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Sync => "sync",
            Mode::Upsert => "upsert",
            Mode::InsertOnly => "insert-only",
            Mode::Truncate => "truncate",
        })
    }
}

/// How foreign keys on the target are treated while a run writes (see `crate::run`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Integrity {
    /// Checked as usual; tables are written in dependency order.
    #[default]
    Enforce,
    /// `--defer-constraints`: one transaction for the whole run, checked at commit.
    Defer,
    /// `--disable-integrity`: not checked at all in dbdelta's target sessions.
    Disable,
}

/// A table's subset as SQL for each side.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedSubset {
    pub source_filter: Option<String>,
    pub target_filter: Option<String>,
    pub source_query: Option<String>,
}

impl TableJob {
    /// A table named only on the command line: every setting at its default.
    pub fn with_defaults(name: &str, chunk_size: u64) -> TableJob {
        TableJob {
            name: name.to_string(),
            target_name: name.to_string(),
            key: None,
            chunk_size,
            filter: None,
            columns: None,
            exclude_columns: Vec::new(),
            mode: Mode::Sync,
            create_missing: false,
            query: None,
            target_where: None,
            args: Vec::new(),
        }
    }

    /// The subset conditions of the source and the target, and the source query, rendered for
    /// the engines of each side.
    pub fn render(&self, source: EngineKind, target: EngineKind) -> RenderedSubset {
        let render =
            |text: &Option<String>, kind| text.as_deref().map(|t| render_sql(t, &self.args, kind));
        match &self.query {
            Some(_) => RenderedSubset {
                source_filter: None,
                target_filter: render(&self.target_where, target),
                source_query: render(&self.query, source),
            },
            None => RenderedSubset {
                source_filter: render(&self.filter, source),
                target_filter: render(&self.filter, target),
                source_query: None,
            },
        }
    }
}

impl Job {
    /// Reads, parses and validates a job file.
    ///
    /// Without the file, `--from` and `--to` make a job of the command line alone (its tables
    /// named there), as pgsync runs without a config file.
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Job> {
        let text = match std::fs::read_to_string(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if overrides.source_url.is_some() && overrides.target_url.is_some() {
                    return Job::parse(COMMAND_LINE_JOB, Path::new(COMMAND_LINE), overrides);
                }
                bail!(
                    "job file {} not found: write one with `dbdelta init` (or `dbdelta init \
                     --from URL` to list a database's tables), or give both --from and --to",
                    path.display()
                )
            }
            read => read.with_context(|| format!("cannot read job file {}", path.display()))?,
        };
        Job::parse(&text, path, overrides)
    }

    /// Parses job-file text; `path` names the file in messages and anchors relative SQLite paths.
    pub fn parse(text: &str, path: &Path, overrides: &Overrides) -> Result<Job> {
        let at = JobText::new(text, path);
        let file = JobFile::parse(at)?;
        Job::from_file(&file, at, overrides)
    }

    /// Stage two: the file checked, with the command line layered over it.
    fn from_file(file: &JobFile, at: JobText<'_>, cli: &Overrides) -> Result<Job> {
        cli.check()?;
        let defaults = &file.defaults;
        let layers = Layers {
            cli_chunk_size: cli.chunk_size,
            defaults_chunk_size: number(&defaults.chunk_size, "chunk_size", None, at)?,
            defaults_create_missing: defaults.create_missing,
        };
        let jobs = number(&defaults.jobs, "jobs", Some(MAX_JOBS), at)?;
        let source = match &cli.source_url {
            Some(url) => command_line_url(url, "--from")?,
            None => endpoint(&file.source, "source", at, cli.no_connection)?,
        };
        let target = match &cli.target_url {
            Some(url) => command_line_url(url, "--to")?,
            None => endpoint(&file.target, "target", at, cli.no_connection)?,
        };
        let data_rules = data_rules::read(file, at, cli.no_connection)?;
        let mut wanted = cli.tables.clone();
        if file.tables.is_empty() && wanted.is_empty() {
            // `dbdelta sync --from URL --to URL` syncs every table, as pgsync does.
            if at.path != Path::new(COMMAND_LINE) {
                bail!(
                    "{}: no [[tables]] to sync: add at least one [[tables]] entry with a name \
                     (`name = \"*\"` for every table of the source)",
                    at.path.display()
                );
            }
            wanted.push(("*".to_string(), None));
        }
        let listed = tables::listed(&file.tables, &layers, at)?;
        let groups = file
            .groups
            .iter()
            .map(|(name, group)| Group::from_file(name, group, at.path))
            .collect::<Result<Vec<_>>>()?;
        let selection = Selection {
            listed,
            groups: groups.clone(),
            wanted,
            layers,
            exclude: file.exclude.iter().chain(&cli.exclude).cloned().collect(),
            mode: cli.mode,
            source: source.engine,
        };
        let tables = selection.tables(None)?;
        let connect_timeout = number(&defaults.connect_timeout, "connect_timeout", None, at)?;
        let max_connections = number(
            &file.source.max_connections,
            "max_connections",
            Some(MAX_JOBS),
            at,
        )?;
        let integrity = integrity_in_file(file, at.path)?;
        Ok(Job {
            path: at.path.to_path_buf(),
            source,
            target,
            allow_remote: precedence::allow_remote(cli.allow_remote, file.target.allow_remote),
            lock_timeout: precedence::lock_timeout(cli.lock_timeout),
            sleep: precedence::sleep(cli.sleep),
            connect_timeout: precedence::connect_timeout(
                cli.connect_timeout,
                connect_timeout.map(std::time::Duration::from_secs),
            ),
            jobs_set: precedence::jobs(cli.jobs, jobs.map(|n| n as usize)),
            source_connections: precedence::source_connections(
                cli.source_connections,
                max_connections.map(|n| n as usize),
            ),
            integrity: precedence::integrity(cli.integrity, integrity),
            sequences: precedence::sequences(cli.no_sequences, defaults.sequences),
            schema_only: cli.schema_only,
            tables,
            groups,
            data_rules,
            selection,
        })
    }

    /// Whether a table name of the run is a pattern, to expand with [`Job::expand`].
    pub fn has_patterns(&self) -> bool {
        self.tables.iter().any(|t| is_pattern(&t.name))
    }

    /// The job with its patterns replaced by the source's tables they match (see `select.rs`);
    /// a pattern matching none is an error naming it. Tables whose name no job file can write
    /// are left out, as `dbdelta init` leaves them out.
    pub fn expand(&self, source_tables: &[SourceTable]) -> Result<Job> {
        let names: Vec<String> = source_tables
            .iter()
            .filter(|t| !t.naming_conflict)
            .map(|t| t.name.clone())
            .collect();
        let tables = self
            .selection
            .tables(Some(&names))
            .with_context(|| format!("{}: choosing the tables of the run", self.path.display()))?;
        Ok(Job {
            tables,
            ..self.clone()
        })
    }

    /// The tables (names or patterns) left out of the run: the file's `exclude` and `--exclude`.
    pub fn exclusions(&self) -> &[String] {
        &self.selection.exclude
    }

    /// How many chunks run at once: `jobs` (when not set, 4, or 12 for a `remote` source, one
    /// whose round trip takes 5 ms or more), unless the source allows fewer connections (each
    /// chunk reads the source through one connection of its own).
    pub fn chunk_jobs(&self, remote: bool) -> usize {
        let jobs = match self.jobs_set {
            Some(jobs) => jobs,
            None if remote => precedence::REMOTE_JOBS,
            None => precedence::DEFAULT_JOBS,
        };
        jobs.min(self.source_connections.unwrap_or(usize::MAX))
            .max(1)
    }

    /// Connections a side's pool may open: one per concurrent chunk however far the source
    /// turns out to be, plus one for planning (pools open them only when needed).
    pub fn connections(&self) -> usize {
        self.jobs_set
            .unwrap_or(precedence::DEFAULT_JOBS.max(precedence::REMOTE_JOBS))
            + 1
    }

    /// The safety rules for writing: the target must be on this machine unless remote targets
    /// were allowed, no table may be synced onto itself, and the target must support the
    /// foreign-key handling asked for.
    pub fn check_writable(&self) -> Result<()> {
        if !self.target.is_local() && !self.allow_remote {
            bail!(
                "{}: the target {} is not on this machine; dbdelta writes to a remote database only \
                 with `allow_remote = true` in [target] or --allow-remote, so that a job file never \
                 writes into a production database by accident",
                self.path.display(),
                self.target.display
            );
        }
        if self.source.location() == self.target.location() {
            if let Some(t) = self
                .tables
                .iter()
                .find(|t| t.query.is_none() && t.name == t.target_name)
            {
                bail!(
                    "{}: source and target are the same database ({}), so table {} would be synced \
                     onto itself",
                    self.path.display(),
                    self.target.display,
                    t.name
                );
            }
        }
        if self.integrity == Integrity::Defer
            && self.target.engine.dialect().defer_constraints().is_none()
        {
            bail!(
                "{}: {} cannot defer foreign key checks (defer_constraints / \
                 --defer-constraints); use --disable-integrity to turn them off for dbdelta's \
                 sessions",
                self.path.display(),
                self.target.engine
            );
        }
        Ok(())
    }
}

/// A positive whole number from the file, at most `limit` when there is one; a mistake is named
/// with its line and the range allowed.
pub(super) fn number(
    value: &Option<Spanned<i64>>,
    what: &str,
    limit: Option<usize>,
    at: JobText<'_>,
) -> Result<Option<u64>> {
    let Some(value) = value else {
        return Ok(None);
    };
    let n = *value.get_ref();
    let max = limit.map_or(i64::MAX, |limit| limit as i64);
    if (1..=max).contains(&n) {
        return Ok(Some(n as u64));
    }
    let here = at.line_at(value.span().start);
    match limit {
        None => bail!("{here}: {what} must be a positive number, got {n}"),
        Some(limit) => bail!("{here}: {what} must be a number from 1 to {limit}, got {n}"),
    }
}

/// What messages call a job made of the command line alone (`--from`, `--to`, tables).
const COMMAND_LINE: &str = "the command line";

/// The job file such a job starts from: both URLs come from the command line.
const COMMAND_LINE_JOB: &str = "[source]\nurl = \"\"\n[target]\nurl = \"\"\n";

/// A URL given on the command line; a relative SQLite path is taken from the current directory.
fn command_line_url(url: &str, flag: &str) -> Result<DbUrl> {
    DbUrl::parse(url, Path::new(".")).with_context(|| flag.to_string())
}

/// `[source]` or `[target]`'s URL with `${VAR}` expanded; a mistake is named with its line. With
/// `no_connection` (`list`), a URL whose variable is not set is kept as written.
fn endpoint(
    endpoint: &EndpointFile,
    side: &str,
    at: JobText<'_>,
    no_connection: bool,
) -> Result<DbUrl> {
    let here = || format!("{}: [{side}] url", at.line_at(endpoint.url.span().start));
    let written = endpoint.url.get_ref();
    let expanded = if no_connection {
        match expand_env_if_set(written).with_context(here)? {
            Some(expanded) => expanded,
            // Shown as written: the text before expansion holds no secret from the environment.
            None => return Ok(DbUrl::as_written(written)),
        }
    } else {
        expand_env(written).with_context(here)?
    };
    let base = at.path.parent().unwrap_or(Path::new("."));
    DbUrl::parse(&expanded, base).with_context(here)
}

/// `defer_constraints` or `disable_integrity` in `[defaults]`; both at once is a mistake.
fn integrity_in_file(file: &JobFile, path: &Path) -> Result<Option<Integrity>> {
    match (
        file.defaults.defer_constraints,
        file.defaults.disable_integrity,
    ) {
        (true, true) => bail!(
            "{}: defer_constraints and disable_integrity exclude each other; choose one",
            path.display()
        ),
        (true, false) => Ok(Some(Integrity::Defer)),
        (false, true) => Ok(Some(Integrity::Disable)),
        (false, false) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::precedence::DEFAULT_CHUNK_SIZE;
    use crate::rules::Rule;

    fn parse(text: &str) -> Result<Job> {
        Job::parse(text, Path::new("/jobs/sync.toml"), &Overrides::default())
    }

    fn parse_with(text: &str, overrides: &Overrides) -> Result<Job> {
        Job::parse(text, Path::new("/jobs/sync.toml"), overrides)
    }

    const MINIMAL: &str = "[source]\nurl = \"sqlite://a.db\"\n[target]\nurl = \"sqlite:///tmp/b.db\"\n[[tables]]\nname = \"t\"\n";

    #[test]
    fn the_documented_example_parses() {
        let job = parse(include_str!("../../sync.toml.example")).unwrap();
        assert_eq!(job.integrity, Integrity::Enforce);
        assert!(!job.tables.is_empty());
    }

    #[test]
    fn integrity_and_source_connections_come_from_the_file() {
        let job = parse(&MINIMAL.replace(
            "[target]",
            "max_connections = 2\n[defaults]\ndefer_constraints = true\n[target]",
        ));
        let job = job.unwrap();
        assert_eq!(job.source_connections, Some(2));
        assert_eq!(job.integrity, Integrity::Defer);
        assert_eq!(job.chunk_jobs(false), 2);
        let both = MINIMAL.replace(
            "[target]",
            "[defaults]\ndefer_constraints = true\ndisable_integrity = true\n[target]",
        );
        assert!(parse(&both)
            .unwrap_err()
            .to_string()
            .contains("exclude each other"));
        let zero = MINIMAL.replace("[target]", "max_connections = 0\n[target]");
        assert!(parse(&zero)
            .unwrap_err()
            .to_string()
            .contains("max_connections"));
    }

    #[test]
    fn the_command_line_wins_over_the_table_and_the_defaults() {
        let text = format!(
            "{}[defaults]\nchunk_size = 30\njobs = 3\ncreate_missing = true\nsequences = false\n\
             [[tables]]\nname = \"t\"\nchunk_size = 20\ncreate_missing = false\n[[tables]]\nname = \"u\"\n",
            MINIMAL.replace("[[tables]]\nname = \"t\"\n", "")
        );
        let job = parse(&text).unwrap();
        let sizes: Vec<u64> = job.tables.iter().map(|t| t.chunk_size).collect();
        assert_eq!(sizes, [20, 30]);
        let created: Vec<bool> = job.tables.iter().map(|t| t.create_missing).collect();
        assert_eq!(created, [false, true]);
        assert_eq!((job.jobs_set, job.sequences), (Some(3), false));
        assert_eq!(
            job.lock_timeout,
            crate::config::precedence::DEFAULT_LOCK_TIMEOUT
        );

        let cli = Overrides {
            chunk_size: Some(10),
            jobs: Some(7),
            integrity: Some(Integrity::Disable),
            tables: vec![("u".into(), None), ("unlisted".into(), None)],
            ..Default::default()
        };
        let job = parse_with(&text, &cli).unwrap();
        let sizes: Vec<u64> = job.tables.iter().map(|t| t.chunk_size).collect();
        assert_eq!(sizes, [10, 10]);
        assert!(
            job.tables[1].create_missing,
            "unlisted tables get [defaults]"
        );
        assert_eq!((job.jobs_set, job.integrity), (Some(7), Integrity::Disable));

        let zero = Overrides {
            jobs: Some(0),
            ..Default::default()
        };
        let err = parse_with(MINIMAL, &zero).unwrap_err().to_string();
        assert!(err.contains("must be positive numbers"), "{err}");
    }

    #[test]
    fn relative_sqlite_paths_follow_the_job_file() {
        let job = parse(MINIMAL).unwrap();
        assert_eq!(
            job.source.sqlite_path.as_deref(),
            Some(Path::new("/jobs/a.db"))
        );
        assert_eq!(
            job.target.sqlite_path.as_deref(),
            Some(Path::new("/tmp/b.db"))
        );
        assert_eq!(
            job.tables[0].chunk_size,
            crate::config::precedence::DEFAULT_CHUNK_SIZE
        );
        assert_eq!(job.jobs_set, None);
        assert_eq!(
            job.chunk_jobs(false),
            crate::config::precedence::DEFAULT_JOBS
        );
        assert_eq!(job.chunk_jobs(true), crate::config::precedence::REMOTE_JOBS);
    }

    #[test]
    fn unknown_keys_name_key_and_line() {
        let err = parse(&format!("{MINIMAL}chunk_sise = 5\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 7"), "{err}");
        assert!(err.contains("chunk_sise"), "{err}");
    }

    #[test]
    fn zero_chunk_size_is_refused_with_its_line() {
        let err = parse(&format!("{MINIMAL}chunk_size = 0\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("sync.toml:7"), "{err}");
    }

    #[test]
    fn remote_targets_and_self_syncs_are_refused() {
        let text = "[source]\nurl = \"postgres://u@localhost/app\"\n[target]\nurl = \"postgres://u@db.prod/app\"\n[[tables]]\nname = \"t\"\n";
        let job = parse(text).unwrap();
        let err = job.check_writable().unwrap_err().to_string();
        assert!(
            err.contains("not on this machine") && err.contains("allow_remote"),
            "{err}"
        );
        let allowed =
            parse(&text.replace("[target]\n", "[target]\nallow_remote = true\n")).unwrap();
        assert!(allowed.check_writable().is_ok());
        let same = parse(&text.replace("db.prod", "127.0.0.1:5432")).unwrap();
        let err = same.check_writable().unwrap_err().to_string();
        assert!(err.contains("onto itself"), "{err}");
    }

    #[test]
    fn groups_expand_with_their_value() {
        let text = format!(
            "{MINIMAL}[[tables]]\nname = \"u\"\nwhere = \"x = 1\"\n[groups.tenant]\ntables = [\"t\", \"u\", \"v\"]\nwhere = \"tenant_id = {{1}}\"\n"
        );
        let overrides = Overrides {
            tables: vec![("tenant:7".into(), None)],
            ..Default::default()
        };
        let job = parse_with(&text, &overrides).unwrap();
        let names: Vec<&str> = job.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["t", "u", "v"]);
        let subset = job.tables[1].render(EngineKind::Postgres, EngineKind::Sqlite);
        assert_eq!(subset.source_filter.as_deref(), Some("tenant_id = 7"));
        let missing = Overrides {
            tables: vec![("tenant".into(), None)],
            ..Default::default()
        };
        let err = parse_with(&text, &missing).unwrap_err();
        assert!(err.to_string().contains("needs a value"), "{err}");
        let with_where = Overrides {
            tables: vec![("tenant:7".into(), Some("x = 2".into()))],
            ..Default::default()
        };
        let err = parse_with(&text, &with_where).unwrap_err();
        assert!(err.to_string().contains("not a `where`"), "{err}");
    }

    #[test]
    fn a_group_value_reaches_each_side_as_that_engines_literal() {
        let text = format!(
            "{}[[tables]]\nname = \"q\"\nkey = \"id\"\nquery = \"SELECT * FROM s WHERE k = {{1}}\"\n\
             target_where = \"k = {{1}}\"\n[groups.g]\ntables = [\"q\", \"t\"]\nwhere = \"k = {{1}}\"\n",
            MINIMAL.replace("sqlite:///tmp/b.db", "mysql://root@127.0.0.1/test")
        );
        let overrides = Overrides {
            tables: vec![("g:a\\'{1}".into(), None)],
            ..Default::default()
        };
        let job = parse_with(&text, &overrides).unwrap();
        let query = job.tables[0].render(EngineKind::Sqlite, EngineKind::MySql);
        assert_eq!(
            query.source_query.as_deref(),
            Some("SELECT * FROM s WHERE k = 'a\\''{1}'")
        );
        assert_eq!(query.target_filter.as_deref(), Some("k = 'a\\\\''{1}'"));
        let plain = job.tables[1].render(EngineKind::Sqlite, EngineKind::MySql);
        assert_eq!(plain.source_filter.as_deref(), Some("k = 'a\\''{1}'"));
    }

    fn source(names: &[&str]) -> Vec<SourceTable> {
        names
            .iter()
            .map(|name| SourceTable {
                name: name.to_string(),
                naming_conflict: false,
                rows_estimate: None,
            })
            .collect()
    }

    fn names(job: &Job) -> Vec<&str> {
        job.tables.iter().map(|t| t.name.as_str()).collect()
    }

    #[test]
    fn patterns_expand_against_the_source_and_own_entries_win() {
        let text = format!(
            "exclude = [\"tmp_*\"]\n{}[[tables]]\nname = \"orders_*\"\nchunk_size = 5\n\
             [[tables]]\nname = \"orders_b\"\nchunk_size = 7\n[[tables]]\nname = \"*\"\n",
            MINIMAL.replace("[[tables]]\nname = \"t\"\n", "")
        );
        let job = parse(&text).unwrap();
        assert_eq!(names(&job), ["orders_*", "orders_b", "*"]);
        assert!(job.has_patterns());
        let tables = source(&["orders_a", "orders_b", "tmp_x", "users"]);
        let expanded = job.expand(&tables).unwrap();
        assert_eq!(names(&expanded), ["orders_a", "orders_b", "users"]);
        let sizes: Vec<u64> = expanded.tables.iter().map(|t| t.chunk_size).collect();
        assert_eq!(sizes, [5, 7, DEFAULT_CHUNK_SIZE]);
        assert!(!expanded.has_patterns());

        // On the command line: a pattern, a name a file pattern covers, an excluded name typed.
        let cli = Overrides {
            tables: vec![
                ("orders_*".into(), Some("id < 3".into())),
                ("orders_c".into(), None),
                ("tmp_x".into(), None),
            ],
            exclude: vec!["orders_a".into()],
            ..Default::default()
        };
        let job = parse_with(&text, &cli).unwrap();
        assert_eq!(names(&job), ["orders_*", "orders_c", "tmp_x"]);
        assert_eq!(
            job.tables[1].chunk_size, 5,
            "orders_c takes orders_*'s entry"
        );
        let expanded = job
            .expand(&source(&["orders_a", "orders_b", "orders_c", "tmp_x"]))
            .unwrap();
        assert_eq!(names(&expanded), ["orders_b", "orders_c", "tmp_x"]);
        assert_eq!(expanded.tables[0].chunk_size, 7, "orders_b keeps its own");
        assert_eq!(expanded.tables[0].filter.as_deref(), Some("id < 3"));

        let err = job.expand(&source(&["users"])).unwrap_err();
        assert!(
            format!("{err:#}").contains("pattern \"orders_*\" matches no table of the source"),
            "{err:#}"
        );
        let all_out = Overrides {
            exclude: vec!["*".into()],
            ..Default::default()
        };
        let err = parse_with(&text, &all_out)
            .unwrap()
            .expand(&tables)
            .unwrap_err();
        assert!(format!("{err:#}").contains("every table of the run is excluded"));
        let query =
            format!("{MINIMAL}[[tables]]\nname = \"q_*\"\nquery = \"SELECT 1\"\nkey = \"id\"\n");
        let err = parse(&query).unwrap_err().to_string();
        assert!(err.contains("is a pattern"), "{err}");
    }

    #[test]
    fn postgres_patterns_name_schemas() {
        let text = MINIMAL
            .replace("sqlite://a.db", "postgres://u@127.0.0.1/a")
            .replace("name = \"t\"", "name = \"public.*\"");
        let job = parse(&text).unwrap();
        let expanded = job
            .expand(&source(&["orders", "users", "audit.log"]))
            .unwrap();
        assert_eq!(names(&expanded), ["orders", "users"]);
        let cli = Overrides {
            tables: vec![("*".into(), None), ("audit.*".into(), None)],
            exclude: vec!["public.users".into()],
            ..Default::default()
        };
        let job = parse_with(&text, &cli).unwrap();
        let expanded = job
            .expand(&source(&["orders", "users", "audit.log"]))
            .unwrap();
        assert_eq!(names(&expanded), ["orders", "audit.log"]);
    }

    #[test]
    fn a_command_line_job_without_tables_covers_every_table() {
        let cli = Overrides {
            source_url: Some("sqlite:///tmp/a.db".into()),
            target_url: Some("sqlite:///tmp/b.db".into()),
            exclude: vec!["schema_migrations".into()],
            ..Default::default()
        };
        let job = Job::parse(COMMAND_LINE_JOB, Path::new(COMMAND_LINE), &cli).unwrap();
        assert_eq!(names(&job), ["*"]);
        let expanded = job
            .expand(&source(&["schema_migrations", "users"]))
            .unwrap();
        assert_eq!(names(&expanded), ["users"]);
        let err = parse(&MINIMAL.replace("[[tables]]\nname = \"t\"\n", ""))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no [[tables]]") && err.contains("name = \"*\""),
            "{err}"
        );
    }

    #[test]
    fn a_group_may_give_each_table_its_own_where() {
        for groups in [
            "[groups.tenant]\ntables = { users = \"id = {1}\", orders = \"user_id = {1}\" }\n",
            "[groups.tenant]\ntables = [{ name = \"users\", where = \"id = {1}\" }, \
             { name = \"orders\", where = \"user_id = {1}\" }]\n",
            "[groups.tenant]\nwhere = \"user_id = {1}\"\n\
             tables = [\"orders\", { name = \"users\", where = \"id = {1}\" }]\n",
        ] {
            let cli = Overrides {
                tables: vec![("tenant:4".into(), None)],
                ..Default::default()
            };
            let job = parse_with(&format!("{MINIMAL}{groups}"), &cli).unwrap();
            let mut filters: Vec<(String, String)> = job
                .tables
                .iter()
                .map(|t| {
                    let subset = t.render(EngineKind::Sqlite, EngineKind::Sqlite);
                    (t.name.clone(), subset.source_filter.unwrap_or_default())
                })
                .collect();
            filters.sort();
            assert_eq!(
                filters,
                [
                    ("orders".to_string(), "user_id = 4".to_string()),
                    ("users".to_string(), "id = 4".to_string())
                ],
                "{groups}"
            );
        }
        let typo = format!("{MINIMAL}[groups.g]\ntables = [{{ name = \"u\", were = \"x\" }}]\n");
        assert!(parse(&typo).is_err());
    }

    #[test]
    fn list_keeps_urls_whose_variables_are_not_set() {
        let text = format!(
            "data_rules_seed = \"${{DBDELTA_SURELY_UNSET_SEED}}\"\n{}[data_rules]\nssn = \"hash\"\n",
            MINIMAL.replace("sqlite://a.db", "${DBDELTA_SURELY_UNSET_URL}")
        );
        let err = parse(&text).unwrap_err();
        assert!(
            format!("{err:#}").contains("DBDELTA_SURELY_UNSET_URL"),
            "{err:#}"
        );
        let listing = Overrides {
            no_connection: true,
            ..Default::default()
        };
        let job = parse_with(&text, &listing).unwrap();
        assert_eq!(job.source.display, "${DBDELTA_SURELY_UNSET_URL}");
        let misplaced = parse(&format!("{MINIMAL}exclude = [\"x\"]\n")).unwrap_err();
        assert!(
            misplaced.to_string().contains("before [source]"),
            "{misplaced}"
        );
        let malformed = MINIMAL.replace("sqlite://a.db", "${OPEN");
        assert!(parse_with(&malformed, &listing).is_err());
    }

    #[test]
    fn data_rules_are_read_with_their_positions() {
        let text = format!(
            "data_rules_seed = \"s3cret\"\n{MINIMAL}[data_rules]\nemail = \"unique_email\"\n\"users.last_name\" = {{ value = \"Doe\" }}\n\"*.ssn\" = \"null\"\nage = {{ rule = \"random_int\", min = 18, max = 99 }}\n"
        );
        let job = parse(&text).unwrap();
        let rules = &job.data_rules;
        assert_eq!(rules.specs.len(), 4);
        let rule = |t: &str, c: &str| rules.rule_for(t, c).map(|s| s.rule.clone());
        assert_eq!(rule("users", "email"), Some(Rule::UniqueEmail));
        assert_eq!(rule("people", "ssn"), Some(Rule::Null));
        assert!(!format!("{job:?}").contains("s3cret"));

        let unknown = format!("{MINIMAL}[data_rules]\nemail = \"scramble\"\n");
        let err = parse(&unknown).unwrap_err().to_string();
        assert!(
            err.contains("sync.toml:8:9") && err.contains("unknown data rule \"scramble\""),
            "{err}"
        );
        let unseeded = format!("{MINIMAL}[data_rules]\n\nssn = \"hash\"\n");
        let err = parse(&unseeded).unwrap_err().to_string();
        assert!(
            err.contains("sync.toml:9:1") && err.contains("data_rules_seed"),
            "{err}"
        );
    }

    #[test]
    fn duplicate_tables_are_refused() {
        let err = parse(&format!("{MINIMAL}[[tables]]\nname = \"t\"\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("listed twice"), "{err}");
    }

    #[test]
    fn query_tables_are_checked_with_their_line() {
        for (entry, needle) in [
            ("query = \" \"\nkey = \"id\"", "empty `query`"),
            ("query = \"SELECT 1\"", "needs `key = \"column\"`"),
            (
                "query = \"SELECT 1\"\nkey = \"id\"\nwhere = \"x\"",
                "both `query` and `where`",
            ),
            ("target_where = \"x\"", "`target_where` but no `query`"),
            ("key = [\"id\", \" \"]", "empty key column name"),
            ("columns = []", "`columns` must list column names"),
        ] {
            let text = format!("{MINIMAL}[[tables]]\nname = \"q\"\n{entry}\n");
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.contains("sync.toml:8") && err.contains(needle), "{err}");
        }
    }

    #[test]
    fn passwords_are_redacted_for_display() {
        let url = DbUrl::parse("postgres://app:s3cret@db:5432/app", Path::new(".")).unwrap();
        assert_eq!(url.display, "postgres://app:***@db:5432/app");
        assert!(!format!("{url:?}").contains("s3cret"));
        let url = DbUrl::parse(
            "postgres://db/app?sslmode=require&password=s3cret",
            Path::new("."),
        )
        .unwrap();
        assert_eq!(
            url.display,
            "postgres://db/app?sslmode=require&password=***"
        );
        assert_eq!(
            crate::engine::redact_unparsed("mysql://u:s3cret@h:bad/x"),
            "mysql://***@h:bad/x"
        );
    }

    #[test]
    fn loopback_addresses_and_sqlite_files_are_local() {
        let local = DbUrl::parse("postgres://u@127.0.0.2:5432/db", Path::new(".")).unwrap();
        assert!(local.is_local());
        assert!(DbUrl::parse("mysql://u@[::1]/db", Path::new("."))
            .unwrap()
            .is_local());
        assert!(DbUrl::parse("sqlite://x.db", Path::new("."))
            .unwrap()
            .is_local());
        assert!(
            !DbUrl::parse("postgres://u:pw@db.internal/app", Path::new("."))
                .unwrap()
                .is_local()
        );
    }

    #[test]
    fn urls_without_scheme_are_refused() {
        assert!(DbUrl::parse("sqlite", Path::new(".")).is_err());
        assert!(DbUrl::parse("oracle://x/y", Path::new(".")).is_err());
    }
}
