//! The command line as typed: clap's types, and their conversion into the configuration's
//! command-line layer ([`Overrides`]) and the reporter's options. Arguments shared by several
//! subcommands are declared once and flattened. What each subcommand does is `commands.rs`.

use crate::config::{Integrity, Overrides, MAX_JOBS};
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

#[derive(Subcommand)]
pub enum CliCommand {
    /// Make the target tables equal to the source tables.
    Sync(RunArgs),
    /// Compare only: list the chunks and keys that differ, write nothing.
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
    /// table the file does not list gets the defaults.
    pub tables: Vec<String>,
}

/// `sync` and `diff`: the job file and tables, and how the run goes.
#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub file: FileArgs,
    /// Print one JSON document with the results on stdout.
    #[arg(long)]
    pub json: bool,
    /// Chunks compared and copied at once (overrides `jobs` in the file).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=MAX_JOBS as u64))]
    pub jobs: Option<u64>,
    /// Approximate rows per chunk (overrides every `chunk_size` in the file).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub chunk_size: Option<u64>,
    /// `sync` only: compare and list what would be written (keys to insert, update, delete),
    /// write nothing. Exits 0 unless something fails.
    #[arg(long)]
    pub dry_run: bool,
    /// Milliseconds to pause after every chunk, to be gentle with a busy production server.
    #[arg(long, value_name = "MS")]
    pub sleep: Option<u64>,
    /// Seconds `sync` waits for another run that is writing the same target table.
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
    /// At most this many connections to the source (as `max_connections` in [source]).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_JOBS as u64))]
    pub source_connections: Option<u64>,
    /// `sync` only: leave the target's sequences, identity and AUTO_INCREMENT counters as they
    /// are (as `sequences = false`).
    #[arg(long)]
    pub no_sequences: bool,
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
            CliCommand::Sync(a) | CliCommand::Diff(a) => ReporterOptions {
                quiet: a.quiet,
                verbose: a.verbose,
                format: a.log_format,
                timings: a.timings,
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
            ..Default::default()
        })
    }
}

impl RunArgs {
    /// Every option that the job file also has a say on.
    pub fn overrides(&self) -> Result<Overrides> {
        Ok(Overrides {
            allow_remote: self.allow_remote,
            lock_timeout: self.lock_timeout.map(Duration::from_secs),
            sleep: self.sleep.map(Duration::from_millis),
            jobs: self.jobs.map(|j| j as usize),
            chunk_size: self.chunk_size,
            source_connections: self.source_connections.map(|n| n as usize),
            integrity: if self.defer_constraints {
                Some(Integrity::Defer)
            } else if self.disable_integrity {
                Some(Integrity::Disable)
            } else {
                None
            },
            no_sequences: self.no_sequences,
            ..self.file.overrides()?
        })
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
            "--jobs",
            "3",
            "--disable-integrity",
            "--no-sequences",
            "--sleep",
            "5",
        ])
        .unwrap();
        let CliCommand::Sync(args) = &cli.command else {
            panic!("parsed as another subcommand");
        };
        assert_eq!(args.file.config, PathBuf::from("job.toml"));
        let overrides = args.overrides().unwrap();
        assert_eq!(
            overrides.tables,
            [
                ("orders".to_string(), Some("id < 10".to_string())),
                ("tenant:4".to_string(), None)
            ]
        );
        assert_eq!(overrides.jobs, Some(3));
        assert_eq!(overrides.integrity, Some(Integrity::Disable));
        assert_eq!(overrides.sleep, Some(Duration::from_millis(5)));
        assert!(overrides.no_sequences && !overrides.allow_remote);
        assert!(Cli::try_parse_from(["dbdelta", "sync", "--jobs", "0"]).is_err());
        assert!(Cli::try_parse_from([
            "dbdelta",
            "diff",
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
