//! The `dbdelta` command line: parse arguments, load the job file, run, and turn the outcome into
//! an exit code (0 in sync, 1 differences found by `diff`, 2 error, 130 / 143 stopped by SIGINT /
//! SIGTERM).

use clap::{Args, Parser, Subcommand};
use dbdelta::config::Integrity;
use dbdelta::{Command, Job, LogFormat, Overrides, Reporter, ReporterOptions, RunReport};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "dbdelta",
    version,
    about = "Make a target database match a source, copying only what differs"
)]
struct Cli {
    #[command(subcommand)]
    command: CliCommand,
}

#[derive(Subcommand)]
enum CliCommand {
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
struct InitArgs {
    /// The job file to write; it must not exist yet.
    #[arg(short = 'c', long = "config", default_value = "sync.toml")]
    config: PathBuf,
    /// The source database whose tables to list. A password in it is not written to the file:
    /// the file reads it from the environment variable DBDELTA_SOURCE_PASSWORD instead.
    #[arg(long, value_name = "URL")]
    from: Option<String>,
}

#[derive(Args)]
struct FileArgs {
    /// The job file.
    #[arg(short = 'c', long = "config", default_value = "sync.toml")]
    config: PathBuf,
    /// Only these tables or groups (`GROUP:VALUE`), as for `sync`.
    tables: Vec<String>,
}

#[derive(Args)]
struct RunArgs {
    /// The job file.
    #[arg(short = 'c', long = "config", default_value = "sync.toml")]
    config: PathBuf,
    /// Only these tables (default: all of the job file's). A table may be followed by a one-off
    /// subset, as in `orders "where id < 1000"`; a table the file does not list gets the defaults.
    tables: Vec<String>,
    /// Print one JSON document with the results on stdout.
    #[arg(long)]
    json: bool,
    /// Chunks compared and copied at once (overrides `jobs` in the file).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=dbdelta::config::MAX_JOBS as u64))]
    jobs: Option<u64>,
    /// Approximate rows per chunk (overrides every `chunk_size` in the file).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    chunk_size: Option<u64>,
    /// `sync` only: compare and list what would be written (keys to insert, update, delete),
    /// write nothing. Exits 0 unless something fails.
    #[arg(long)]
    dry_run: bool,
    /// Milliseconds to pause after every chunk, to be gentle with a busy production server.
    #[arg(long, value_name = "MS")]
    sleep: Option<u64>,
    /// Seconds `sync` waits for another run that is writing the same target table.
    #[arg(long, value_name = "SECONDS")]
    lock_timeout: Option<u64>,
    /// Allow writing to a target that is not on this machine (as `allow_remote = true`).
    #[arg(long)]
    allow_remote: bool,
    /// Write the whole run in one target transaction, checking foreign keys at commit
    /// (PostgreSQL `DEFERRABLE` constraints, SQLite); for cycles between tables.
    #[arg(long, conflicts_with = "disable_integrity")]
    defer_constraints: bool,
    /// Turn foreign key checks off while writing (PostgreSQL `session_replication_role =
    /// replica`, which needs a superuser; MySQL `FOREIGN_KEY_CHECKS = 0`; SQLite).
    #[arg(long)]
    disable_integrity: bool,
    /// At most this many connections to the source (as `max_connections` in [source]).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=dbdelta::config::MAX_JOBS as u64))]
    source_connections: Option<u64>,
    /// `sync` only: leave the target's sequences, identity and AUTO_INCREMENT counters as they
    /// are (as `sequences = false`).
    #[arg(long)]
    no_sequences: bool,
    /// Print only errors.
    #[arg(short, long, conflicts_with = "verbose")]
    quiet: bool,
    /// Print what happens to every chunk that differs.
    #[arg(short, long)]
    verbose: bool,
    /// How stderr is written: `text` (progress, lines, summary) or `json` (one JSON object per
    /// event and line, for log shippers).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Also show the time spent per phase (introspect, plan, checksum, narrow, copy).
    #[arg(long)]
    timings: bool,
}

/// Keys listed per chunk and kind in `diff`'s human output; `--json` has them all.
const LISTED_KEYS: usize = 10;

const EXIT_DIFFERENCES: u8 = 1;
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
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
            return ExitCode::from(EXIT_ERROR);
        }
        Err(e) => e.exit(),
    };
    // Made before anything can fail, so that even a bad job file is reported in the format asked.
    let reporter = Reporter::new(match &cli.command {
        CliCommand::Sync(a) | CliCommand::Diff(a) => ReporterOptions {
            quiet: a.quiet,
            verbose: a.verbose,
            format: a.log_format,
            timings: a.timings,
        },
        CliCommand::List(_) | CliCommand::Check(_) | CliCommand::Init(_) => {
            ReporterOptions::default()
        }
    });
    let outcome = match cli.command {
        CliCommand::Sync(a) => {
            let command = if a.dry_run {
                Command::DryRun
            } else {
                Command::Sync
            };
            execute(command, &a, &reporter).map(|r| exit_code(command, &r))
        }
        CliCommand::Diff(a) => {
            execute(Command::Diff, &a, &reporter).map(|r| exit_code(Command::Diff, &r))
        }
        CliCommand::List(a) => list(&a).map(|()| 0),
        CliCommand::Check(a) => check(&a).map(|()| 0),
        CliCommand::Init(a) => init(&a).map(|()| 0),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            reporter.error(&e);
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn execute(command: Command, args: &RunArgs, reporter: &Reporter) -> anyhow::Result<RunReport> {
    let overrides = Overrides {
        allow_remote: args.allow_remote,
        lock_timeout: args.lock_timeout.map(std::time::Duration::from_secs),
        sleep: args.sleep.map(std::time::Duration::from_millis),
        jobs: args.jobs.map(|j| j as usize),
        chunk_size: args.chunk_size,
        source_connections: args.source_connections.map(|n| n as usize),
        integrity: if args.defer_constraints {
            Some(Integrity::Defer)
        } else if args.disable_integrity {
            Some(Integrity::Disable)
        } else {
            None
        },
        no_sequences: args.no_sequences,
        tables: table_arguments(&args.tables)?,
    };
    let job = Job::load(&args.config, &overrides)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // Ctrl-C and SIGTERM stop the run between chunks; a second one exits at once.
    let report = runtime.block_on(async {
        let stop = dbdelta::run::stop_on_signals(reporter.clone())?;
        dbdelta::run_until(&job, command, reporter, stop).await
    })?;
    let printed = if args.json {
        serde_json::to_string_pretty(&report)
            .map_err(std::io::Error::other)
            .and_then(|text| writeln!(std::io::stdout().lock(), "{text}"))
    } else {
        match command {
            Command::Diff | Command::DryRun => print_differences(&report),
            Command::Sync => Ok(()),
        }
    };
    reporter.run_finished(&report, !args.json);
    // A reader that stops early (`| head`) is no reason to fail or panic; the run is done.
    match printed {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(report),
    }
}

fn list(args: &FileArgs) -> anyhow::Result<()> {
    let overrides = Overrides {
        tables: table_arguments(&args.tables)?,
        ..Default::default()
    };
    let job = Job::load(&args.config, &overrides)?;
    let printed = write!(std::io::stdout().lock(), "{}", job.describe());
    match printed {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn check(args: &FileArgs) -> anyhow::Result<()> {
    let overrides = Overrides {
        tables: table_arguments(&args.tables)?,
        ..Default::default()
    };
    let job = Job::load(&args.config, &overrides)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(dbdelta::sync::check(&job, &mut |line| eprintln!("{line}")))
}

/// Whether the raw command line asks for `--log-format json`, for errors that stop it from parsing.
fn json_logs_requested() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--log-format=json")
        || args
            .windows(2)
            .any(|pair| pair[0] == "--log-format" && pair[1] == "json")
}

fn init(args: &InitArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let written = runtime.block_on(dbdelta::init::init(&args.config, args.from.as_deref()))?;
    let path = args.config.display();
    if !written.from_source {
        eprintln!("wrote {path}: a template; edit its URLs and tables, then run `dbdelta check -c {path}`");
        return Ok(());
    }
    eprintln!(
        "wrote {path}: {} table(s) with their keys, {} commented out (no usable key: set `key` to sync them)",
        written.keyed, written.commented
    );
    if written.password_replaced {
        eprintln!(
            "the source password is not in {path}: its URL reads ${{{}}}; set that environment variable",
            dbdelta::init::SOURCE_PASSWORD_VARIABLE
        );
    }
    if written.keyed == 0 {
        eprintln!("warning: {path} lists no table to sync, so dbdelta refuses it until one [[tables]] entry is active");
    }
    eprintln!("next: check the [target] url in {path}, then run `dbdelta check -c {path}`");
    Ok(())
}

/// `orders "where id < 1000" customers` → `[(orders, Some("id < 1000")), (customers, None)]`.
fn table_arguments(args: &[String]) -> anyhow::Result<Vec<(String, Option<String>)>> {
    let mut tables: Vec<(String, Option<String>)> = Vec::new();
    for arg in args {
        let trimmed = arg.trim();
        let condition = trimmed
            .get(..6)
            .filter(|head| head.eq_ignore_ascii_case("where "))
            .map(|_| trimmed[6..].trim().to_string());
        match (condition, tables.last_mut()) {
            (Some(c), Some((_, filter @ None))) if !c.is_empty() => *filter = Some(c),
            (Some(_), _) => {
                anyhow::bail!("{arg:?} must follow the name of the table it filters, once")
            }
            (None, _) => tables.push((trimmed.to_string(), None)),
        }
    }
    Ok(tables)
}

/// `diff`'s listing on stdout: per table, each differing chunk and its keys.
fn print_differences(report: &RunReport) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    for table in &report.tables {
        for chunk in &table.differences {
            writeln!(out, "{} chunk {}:", table.table, chunk.range)?;
            for (what, keys) in [
                ("only in source", &chunk.only_in_source),
                ("only in target", &chunk.only_in_target),
                ("changed", &chunk.changed),
            ] {
                if !keys.is_empty() {
                    let mut list: Vec<String> = keys
                        .iter()
                        .take(LISTED_KEYS)
                        .map(|k| k.to_string())
                        .collect();
                    if keys.len() > LISTED_KEYS {
                        list.push(format!(
                            "… {} more (--json lists all)",
                            keys.len() - LISTED_KEYS
                        ));
                    }
                    writeln!(out, "  {what} ({}): {}", keys.len(), list.join(", "))?;
                }
            }
        }
    }
    out.flush()
}

fn exit_code(command: Command, report: &RunReport) -> u8 {
    if let Some(signal) = report.signal {
        signal.exit_code()
    } else if report.tables.iter().any(|t| t.error.is_some()) {
        EXIT_ERROR
    } else if report.in_sync {
        0
    } else if command == Command::Diff {
        EXIT_DIFFERENCES
    } else {
        EXIT_ERROR
    }
}
