//! The command line as typed: clap's types, and their conversion into the configuration's
//! command-line layer ([`Overrides`]) and the reporter's options. Arguments shared by several
//! subcommands are declared once and flattened. What each subcommand does is `commands.rs`.

use crate::config::{Integrity, Mode, Overrides, MAX_JOBS};
use crate::report::LogFormat;
use crate::report::{Reporter, ReporterOptions};
use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// `diff` found differences.
pub const EXIT_DIFFERENCES: u8 = 1;
/// Something failed: the job file, a connection, a table.
pub const EXIT_ERROR: u8 = 2;

#[derive(Parser)]
#[command(
    name = "dbdelta",
    version,
    about = "Make a target database match a source, copying only what differs"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: CliCommand,
}

/// Exit codes and examples, after every `--help`.
const AFTER_HELP: &str = "\
Exit codes:
  0    in sync (diff), or synced (sync)
  1    diff found differences
  2    an error: the job file, a connection, a table that failed or could not be compared
  130  stopped by Ctrl-C (SIGINT); 143 stopped by SIGTERM

Examples:
  dbdelta init --from postgres://app@prod/app       write sync.toml listing prod's tables
  dbdelta sync --from postgres://app@prod/app --to postgres://localhost/app orders users
  dbdelta diff -c nightly.toml --json               compare only, results as JSON";

#[derive(Subcommand)]
pub enum CliCommand {
    /// Make the target tables equal to the source tables.
    #[command(after_help = AFTER_HELP)]
    Sync(SyncArgs),
    /// Compare only: list the chunks and keys that differ, write nothing.
    #[command(after_help = AFTER_HELP)]
    Diff(RunArgs),
    /// Show the job's tables and groups with their resolved subsets; connects to nothing.
    List(FileArgs),
    /// Validate the job file and connect to both sides to check every table can be synced,
    /// without comparing anything.
    Check(FileArgs),
    /// Write a commented starter job file; with --from, listing the source's tables and keys.
    /// Never overwrites a file.
    Init(InitArgs),
}

#[derive(Args)]
pub struct InitArgs {
    /// The job file to write; it must not exist yet.
    #[arg(short = 'c', long = "config", default_value = "sync.toml")]
    pub config: PathBuf,
    /// The source database whose tables to list. A password in it is not written to the file:
    /// the file reads it from the environment variable DBDELTA_SOURCE_PASSWORD instead.
    #[arg(long, value_name = "URL")]
    pub from: Option<String>,
}

/// The job file and the tables to work on: every subcommand but `init`.
#[derive(Args)]
pub struct FileArgs {
    /// The job file.
    #[arg(short = 'c', long = "config", default_value = "sync.toml")]
    pub config: PathBuf,
    /// Only these tables or groups (`GROUP:VALUE`), in this order (default: all of the job
    /// file's). A table may be followed by a one-off subset, as in `orders "where id < 1000"`; a
    /// table the file does not list gets the defaults. A pattern (`"orders_*"`, `"public.*"`;
    /// `*` any characters, `?` one) stands for every source table it matches.
    pub tables: Vec<String>,
    /// Leave out these tables (a name or a pattern; repeatable), as `exclude` in the job file;
    /// a table named in TABLES is still synced.
    #[arg(long, value_name = "PATTERN")]
    pub exclude: Vec<String>,
}

/// `sync` and `diff`: the job file and tables, and how the run goes.
#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub file: FileArgs,
    /// The source database, instead of the job file's `[source] url`; with --to and no job
    /// file, the run needs none (and without TABLES covers every table of the source).
    #[arg(long, value_name = "URL")]
    pub from: Option<String>,
    /// The target database, instead of the job file's `[target] url`.
    #[arg(long, value_name = "URL")]
    pub to: Option<String>,
    /// Print one JSON document with the results on stdout.
    #[arg(long)]
    pub json: bool,
    /// Chunks compared and copied at once (overrides `jobs` in the file) [default: 4, or 12
    /// when the source is 5 ms or more away]
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_JOBS as u64))]
    pub jobs: Option<u64>,
    /// Approximate rows per chunk (overrides every `chunk_size` in the file) [default: 10000]
    #[arg(long, value_name = "ROWS", value_parser = clap::value_parser!(u64).range(1..))]
    pub chunk_size: Option<u64>,
    /// Milliseconds to pause after every chunk, to be gentle with a busy production server.
    #[arg(long, value_name = "MS")]
    pub sleep: Option<u64>,
    /// At most this many connections to the source (as `max_connections` in [source]).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_JOBS as u64))]
    pub source_connections: Option<u64>,
    /// Seconds to wait for each side to accept a connection [default: 15]
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub connect_timeout: Option<u64>,
    /// Print only errors.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print what happens to every chunk that differs.
    #[arg(short, long)]
    pub verbose: bool,
    /// How stderr is written: `text` (progress, lines, summary) or `json` (one JSON object per
    /// event and line, for log shippers).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Also show the time spent per phase (introspect, plan, checksum, narrow, copy).
    #[arg(long)]
    pub timings: bool,
    /// Without a terminal (cron, CI), print a progress line per running table this often
    /// (with `--log-format json`, a `progress` event); 0 for none.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_PROGRESS_INTERVAL)]
    pub progress_interval: u64,
}

/// `--progress-interval`: often enough that a log shows a long table moving, rarely enough not
/// to flood it.
const DEFAULT_PROGRESS_INTERVAL: u64 = 10;

/// `sync`: what `diff` takes, and how the target is written.
#[derive(Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Compare and list what would be written (keys to insert, update, delete), write nothing.
    /// Exits 0 unless something fails.
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// Create the missing target tables (tables with `create_missing`), copy no rows.
    #[arg(long, conflicts_with = "dry_run")]
    pub schema_only: bool,
    /// How every table is written, over the file's `mode` [default: sync]
    #[arg(long, value_enum, value_name = "MODE", group = "modes")]
    pub mode: Option<Mode>,
    /// pgsync's word for `--mode insert-only`: keep the target's rows, add the missing ones.
    #[arg(long, group = "modes")]
    pub preserve: bool,
    /// pgsync's word for `--mode upsert`: insert and update rows, delete none.
    #[arg(long, group = "modes")]
    pub overwrite: bool,
    /// pgsync's word for `--mode truncate`: empty the target's subset, then copy the source's.
    #[arg(long, group = "modes")]
    pub truncate: bool,
    /// Seconds to wait for another run that is writing the same target table [default: 60]
    #[arg(long, value_name = "SECONDS")]
    pub lock_timeout: Option<u64>,
    /// Allow writing to a target that is not on this machine (as `allow_remote = true`).
    #[arg(long)]
    pub allow_remote: bool,
    /// Write the whole run in one target transaction, checking foreign keys at commit
    /// (PostgreSQL `DEFERRABLE` constraints, SQLite); for cycles between tables.
    #[arg(long, conflicts_with = "disable_integrity")]
    pub defer_constraints: bool,
    /// Turn foreign key checks off while writing (PostgreSQL `session_replication_role =
    /// replica`, which needs a superuser; MySQL `FOREIGN_KEY_CHECKS = 0`; SQLite).
    #[arg(long)]
    pub disable_integrity: bool,
    /// Leave the target's sequences, identity and AUTO_INCREMENT counters as they are (as
    /// `sequences = false`).
    #[arg(long)]
    pub no_sequences: bool,
}

impl Cli {
    /// The process's command line. `--help`, `--version` and mistakes are printed by clap, which
    /// exits; a mistake under `--log-format json` is reported as a JSON event instead, and `Err`
    /// carries the exit code.
    pub fn parse_args() -> Result<Cli, ExitCode> {
        match Cli::try_parse() {
            Ok(cli) => Ok(cli),
            // A cron job that asked for JSON logs gets its bad command line as an event too.
            Err(e) if e.use_stderr() && json_logs_requested() => {
                let text = e.render().to_string();
                let message = text.lines().next().unwrap_or_default();
                let message = message.strip_prefix("error: ").unwrap_or(message);
                Reporter::new(ReporterOptions {
                    format: LogFormat::Json,
                    ..Default::default()
                })
                .error(&anyhow::anyhow!("{message}"));
                Err(ExitCode::from(EXIT_ERROR))
            }
            Err(e) => e.exit(),
        }
    }

    /// How progress and messages are written on stderr.
    pub fn reporter_options(&self) -> ReporterOptions {
        match &self.command {
            CliCommand::Sync(SyncArgs { run: a, .. }) | CliCommand::Diff(a) => ReporterOptions {
                quiet: a.quiet,
                verbose: a.verbose,
                format: a.log_format,
                timings: a.timings,
                progress_interval: Some(Duration::from_secs(a.progress_interval)),
            },
            CliCommand::List(_) | CliCommand::Check(_) | CliCommand::Init(_) => {
                ReporterOptions::default()
            }
        }
    }
}

impl FileArgs {
    /// Only the tables: the other subcommands take the rest from the file.
    pub fn overrides(&self) -> Result<Overrides> {
        Ok(Overrides {
            tables: table_arguments(&self.tables)?,
            exclude: self.exclude.clone(),
            ..Default::default()
        })
    }
}

impl RunArgs {
    /// Every option of `diff` that the job file also has a say on.
    pub fn overrides(&self) -> Result<Overrides> {
        Ok(Overrides {
            source_url: self.from.clone(),
            target_url: self.to.clone(),
            sleep: self.sleep.map(Duration::from_millis),
            jobs: self.jobs.map(|j| j as usize),
            chunk_size: self.chunk_size,
            source_connections: self.source_connections.map(|n| n as usize),
            connect_timeout: self.connect_timeout.map(Duration::from_secs),
            ..self.file.overrides()?
        })
    }
}

impl SyncArgs {
    /// Every option of `sync` that the job file also has a say on.
    pub fn overrides(&self) -> Result<Overrides> {
        Ok(Overrides {
            mode: self.mode(),
            allow_remote: self.allow_remote,
            lock_timeout: self.lock_timeout.map(Duration::from_secs),
            integrity: if self.defer_constraints {
                Some(Integrity::Defer)
            } else if self.disable_integrity {
                Some(Integrity::Disable)
            } else {
                None
            },
            no_sequences: self.no_sequences,
            schema_only: self.schema_only,
            ..self.run.overrides()?
        })
    }

    /// `--mode`, or the pgsync word for one.
    fn mode(&self) -> Option<Mode> {
        if self.preserve {
            Some(Mode::InsertOnly)
        } else if self.overwrite {
            Some(Mode::Upsert)
        } else if self.truncate {
            Some(Mode::Truncate)
        } else {
            self.mode
        }
    }
}

/// Whether the raw command line asks for `--log-format json`, for errors that stop it from parsing.
fn json_logs_requested() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--log-format=json")
        || args
            .windows(2)
            .any(|pair| pair[0] == "--log-format" && pair[1] == "json")
}

/// `orders "where id < 1000" customers` → `[(orders, Some("id < 1000")), (customers, None)]`.
fn table_arguments(args: &[String]) -> Result<Vec<(String, Option<String>)>> {
    let mut tables: Vec<(String, Option<String>)> = Vec::new();
    for arg in args {
        let trimmed = arg.trim();
        let condition = trimmed
            .get(..6)
            .filter(|head| head.eq_ignore_ascii_case("where "))
            .map(|_| trimmed[6..].trim().to_string());
        match (condition, tables.last_mut()) {
            (Some(c), Some((_, filter @ None))) if !c.is_empty() => *filter = Some(c),
            (Some(_), _) => bail!("{arg:?} must follow the name of the table it filters, once"),
            (None, _) => tables.push((trimmed.to_string(), None)),
        }
    }
    Ok(tables)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_options_become_overrides() {
        let cli = Cli::try_parse_from([
            "dbdelta",
            "sync",
            "-c",
            "job.toml",
            "orders",
            "where id < 10",
            "tenant:4",
            "-j",
            "3",
            "--overwrite",
            "--from",
            "sqlite://a.db",
            "--disable-integrity",
            "--no-sequences",
            "--sleep",
            "5",
            "--exclude",
            "tmp_*",
            "--exclude=audit",
            "--progress-interval",
            "0",
        ])
        .unwrap();
        let CliCommand::Sync(args) = &cli.command else {
            panic!("parsed as another subcommand");
        };
        assert_eq!(args.run.file.config, PathBuf::from("job.toml"));
        let overrides = args.overrides().unwrap();
        assert_eq!(
            overrides.tables,
            [
                ("orders".to_string(), Some("id < 10".to_string())),
                ("tenant:4".to_string(), None)
            ]
        );
        assert_eq!(overrides.jobs, Some(3));
        assert_eq!(overrides.mode, Some(Mode::Upsert));
        assert_eq!(overrides.source_url.as_deref(), Some("sqlite://a.db"));
        assert_eq!(overrides.integrity, Some(Integrity::Disable));
        assert_eq!(overrides.sleep, Some(Duration::from_millis(5)));
        assert_eq!(overrides.exclude, ["tmp_*", "audit"]);
        assert!(overrides.no_sequences && !overrides.allow_remote);
        assert_eq!(args.run.progress_interval, 0);
        let Ok(Cli {
            command: CliCommand::Diff(args),
        }) = Cli::try_parse_from(["dbdelta", "diff"])
        else {
            panic!("diff parses");
        };
        assert_eq!(args.progress_interval, DEFAULT_PROGRESS_INTERVAL);
        assert!(Cli::try_parse_from(["dbdelta", "sync", "--jobs", "0"]).is_err());
        // Flags that only writing needs are not `diff`'s.
        for sync_only in ["--dry-run", "--mode=upsert", "--preserve", "--allow-remote"] {
            assert!(Cli::try_parse_from(["dbdelta", "diff", sync_only]).is_err());
        }
        assert!(Cli::try_parse_from([
            "dbdelta",
            "sync",
            "--defer-constraints",
            "--disable-integrity"
        ])
        .is_err());
    }

    #[test]
    fn a_where_must_follow_a_table() {
        let strings = |args: &[&str]| args.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        for bad in [&["where id = 1"][..], &["t", "where a = 1", "WHERE b = 2"]] {
            let err = table_arguments(&strings(bad)).unwrap_err().to_string();
            assert!(err.contains("must follow the name of the table"), "{err}");
        }
        let parsed = table_arguments(&strings(&[" t ", "WHERE  x = 1 "])).unwrap();
        assert_eq!(parsed, [("t".to_string(), Some("x = 1".to_string()))]);
    }
}
