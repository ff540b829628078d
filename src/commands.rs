//! What each subcommand does, and what it prints: `sync` and `diff` run the pipeline
//! ([`crate::run::run_until`], stopped between chunks by Ctrl-C or SIGTERM), `list` describes
//! the job, `check` connects and checks every table, `init` writes a starter job file.
//!
//! stdout carries only results (`--json`, `diff` and `--dry-run` listings, `list`); everything
//! else goes to stderr. A reader that stops early (`| head`) is no reason to fail.

use crate::cli::{CliCommand, FileArgs, InitArgs, RunArgs, EXIT_DIFFERENCES, EXIT_ERROR};
use crate::config::Overrides;
use crate::config::{is_pattern, Job, TableJob};
use crate::report::{Reporter, RunReport};
use crate::run::Command;
use anyhow::Result;
use std::io::Write;

/// Keys listed per chunk and kind in `diff`'s human output; `--json` has them all.
const LISTED_KEYS: usize = 10;

/// Runs one subcommand to its exit code. An `Err` is for the caller to report; it exits with
/// [`EXIT_ERROR`].
pub async fn execute(command: CliCommand, reporter: &Reporter) -> Result<u8> {
    match command {
        CliCommand::Sync(args) => {
            let command = if args.dry_run {
                Command::DryRun
            } else {
                Command::Sync
            };
            let report = compare(command, &args.run, &args.overrides()?, reporter).await?;
            Ok(exit_code(command, &report))
        }
        CliCommand::Diff(args) => {
            let report = compare(Command::Diff, &args, &args.overrides()?, reporter).await?;
            Ok(exit_code(Command::Diff, &report))
        }
        CliCommand::List(args) => list(&args).map(|()| 0),
        CliCommand::Check(args) => check(&args).await.map(|()| 0),
        CliCommand::Init(args) => init(&args).await.map(|()| 0),
    }
}

/// `sync`, `sync --dry-run` and `diff`: the run, its results on stdout, its summary on stderr.
async fn compare(
    command: Command,
    args: &RunArgs,
    overrides: &Overrides,
    reporter: &Reporter,
) -> Result<RunReport> {
    let job = Job::load(&args.file.config, overrides)?;
    // Ctrl-C and SIGTERM stop the run between chunks; a second one exits at once.
    let stop = crate::run::stop_on_signals(reporter.clone())?;
    let report = crate::run::run_until(&job, command, reporter, stop).await?;
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
    // The run is done either way; only a real write error is one.
    unless_broken_pipe(printed)?;
    Ok(report)
}

/// `list`: the job as it would run, on stdout; connects to nothing, so patterns are shown as
/// patterns and a URL whose `${VAR}` is not set as written.
fn list(args: &FileArgs) -> Result<()> {
    let overrides = Overrides {
        no_connection: true,
        ..args.overrides()?
    };
    let job = Job::load(&args.config, &overrides)?;
    unless_broken_pipe(write!(std::io::stdout().lock(), "{}", listing(&job)))
}

/// `check`: connects to both sides and checks every table, a line each on stderr.
async fn check(args: &FileArgs) -> Result<()> {
    let job = Job::load(&args.config, &args.overrides()?)?;
    crate::run::check(&job, &mut |line| eprintln!("{line}")).await
}

/// `init`: writes the starter file and says on stderr what to do next.
async fn init(args: &InitArgs) -> Result<()> {
    let written = crate::init::init(&args.config, args.from.as_deref()).await?;
    let path = args.config.display();
    if !written.from_source {
        eprintln!("wrote {path}: a template; edit its URLs and tables, then run `dbdelta check -c {path}`");
        return Ok(());
    }
    eprintln!(
        "wrote {path}: {} table(s) to sync, {} commented out (a name no job file can express)",
        written.keyed, written.commented
    );
    if written.password_replaced {
        eprintln!(
            "the source password is not in {path}: its URL reads ${{{}}}; set that environment variable",
            crate::init::SOURCE_PASSWORD_VARIABLE
        );
    }
    if written.keyed == 0 {
        eprintln!("warning: {path} lists no table to sync, so dbdelta refuses it until one [[tables]] entry is active");
    }
    eprintln!("next: check the [target] url in {path}, then run `dbdelta check -c {path}`");
    Ok(())
}

fn unless_broken_pipe(written: std::io::Result<()>) -> Result<()> {
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// 0 when the tables are in sync (or `--dry-run` compared them), 1 when `diff` found
/// differences, 2 when a table failed or `sync` left differences, 130 / 143 when SIGINT /
/// SIGTERM stopped the run.
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
                (
                    "still in the source, outside its subset",
                    &chunk.present_in_source,
                ),
            ] {
                if !keys.is_empty() {
                    writeln!(out, "  {what} ({}): {}", keys.len(), some_keys(keys))?;
                }
            }
        }
    }
    out.flush()
}

/// At most [`LISTED_KEYS`] keys, and how many more there are.
fn some_keys<K: ToString>(keys: &[K]) -> String {
    let mut list: Vec<String> = keys.iter().take(LISTED_KEYS).map(K::to_string).collect();
    if keys.len() > LISTED_KEYS {
        list.push(format!(
            "… {} more (--json lists all)",
            keys.len() - LISTED_KEYS
        ));
    }
    list.join(", ")
}

/// `list`'s output: the tables and groups with their subsets as each side will run them.
fn listing(job: &Job) -> String {
    let mut out = format!(
        "source: {}\ntarget: {}\n",
        job.source.display, job.target.display
    );
    out.push_str("tables:\n");
    for table in &job.tables {
        out.push_str(&list_table(job, table));
    }
    if !job.exclusions().is_empty() {
        out.push_str(&format!("exclude: {}\n", job.exclusions().join(", ")));
    }
    if !job.data_rules.specs.is_empty() {
        out.push_str("data rules:\n");
        for spec in &job.data_rules.specs {
            out.push_str(&format!("  {} = {}\n", spec.written, spec.rule.name()));
        }
    }
    if !job.groups.is_empty() {
        out.push_str("groups:\n");
        for group in &job.groups {
            let names: Vec<&str> = group.tables.iter().map(|t| t.name.as_str()).collect();
            out.push_str(&format!("  {}: {}\n", group.name, names.join(", ")));
            if let Some(filter) = &group.filter {
                out.push_str(&format!("    where: {}\n", one_line(filter)));
            }
            for table in &group.tables {
                if let Some(filter) = &table.filter {
                    out.push_str(&format!("    {} where: {}\n", table.name, one_line(filter)));
                }
            }
        }
    }
    out
}

/// One table of `list`: names, key, mode and chunk size, then its rendered subset and columns.
fn list_table(job: &Job, t: &TableJob) -> String {
    let target = if t.target_name == t.name {
        String::new()
    } else {
        format!(" -> {}", t.target_name)
    };
    let key = t
        .key
        .as_ref()
        .map(|k| k.join(", "))
        .unwrap_or_else(|| "primary key".into());
    let mut out = format!(
        "  {}{target}  key: {key}  mode: {}  chunk_size: {}\n",
        t.name, t.mode, t.chunk_size
    );
    if is_pattern(&t.name) {
        out.push_str("    pattern: every source table it matches, when a run connects\n");
    }
    let subset = t.render(job.source.engine, job.target.engine);
    if let Some(q) = &subset.source_query {
        out.push_str(&format!("    source query: {}\n", one_line(q)));
    }
    for (side, filter) in [
        ("source", &subset.source_filter),
        ("target", &subset.target_filter),
    ] {
        match filter {
            Some(f) => out.push_str(&format!("    {side} where: {}\n", one_line(f))),
            None if side == "target" || subset.source_query.is_none() => {
                out.push_str(&format!("    {side} where: (all rows)\n"))
            }
            None => {}
        }
    }
    if let Some(columns) = &t.columns {
        out.push_str(&format!("    columns: {}\n", columns.join(", ")));
    }
    if !t.exclude_columns.is_empty() {
        out.push_str(&format!(
            "    exclude_columns: {}\n",
            t.exclude_columns.join(", ")
        ));
    }
    out
}

/// SQL on one line, whitespace runs folded, for listings.
fn one_line(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}
