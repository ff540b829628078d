//! What a run tells its user: progress while it runs, a summary at the end, JSON on request.
//!
//! Everything human goes to stderr, so stdout carries only results (`--json`, `diff` listings).
//! On a terminal each table gets a spinner, then a progress bar, above a bar for the whole run;
//! elsewhere (cron, CI) there are no bars but a progress line per running table every
//! `--progress-interval` seconds and one plain line per table as it finishes; `--quiet` leaves
//! only errors. With `--log-format json`
//! every message is an event line instead (see [`log`]). All of a run's stderr output goes
//! through [`Reporter`], so no plain text escapes in JSON mode.
//!
//! # Layout
//!
//! The data sits below the renderers, and nothing below imports what is above it:
//!
//! ```text
//! mod.rs       Reporter: decides, per message, between a JSON event, a line or nothing
//!   ├─ summary.rs    the human summary and timing tables at the end of a run
//!   ├─ progress.rs   progress counts, bars and what periodic lines read
//!   ├─ lines.rs      plain lines: a table's account, a periodic progress line
//!   ├─ log.rs        JSON event lines (`--log-format json`)
//!   └─ data.rs       RunReport, TableReport, Totals, ChunkListing, Signal: plain data
//! ```

pub mod data;
pub mod lines;
pub mod log;
pub mod progress;
pub mod summary;

pub use data::{error_messages, ChunkListing, RunReport, Signal, TableReport};
pub use log::LogFormat;
pub use progress::TableProgress;

/// What became of a table's held deletions (see [`Reporter::held_deletions`]).
#[derive(Debug, Clone, Copy)]
pub enum HeldDeletions<'a> {
    /// This many rows deleted.
    Applied(u64),
    Failed(&'a str),
    /// A stop came first.
    Skipped,
}

use progress::{RunCounts, TableCounts};

use crate::apply::ApplyStats;
use crate::words::counted;
use indicatif::MultiProgress;
use indicatif::ProgressDrawTarget;
use log::Level;
use serde_json::json;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    Bars,
    Lines,
    Quiet,
    /// `--log-format json`: events of at least this level, one JSON line each.
    Json(Level),
}

/// What the user asked the reporter for.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReporterOptions {
    /// Only errors.
    pub quiet: bool,
    /// Also every chunk that is written.
    pub verbose: bool,
    pub format: LogFormat,
    /// A table of the time per phase after the summary.
    pub timings: bool,
    /// Without bars: a progress line (or `progress` event) per running table this often;
    /// `None` for none.
    pub progress_interval: Option<Duration>,
}

/// Progress and messages on stderr: the one place a run writes there. Cheap to clone (the bars
/// are shared), so every chunk task of a run holds one.
#[derive(Clone)]
pub struct Reporter {
    output: Output,
    verbose: bool,
    timings: bool,
    multi: MultiProgress,
    progress_interval: Option<Duration>,
    /// The run's progress counts, shared by its tables' progress.
    run: Arc<RunCounts>,
}

impl Reporter {
    pub fn new(options: ReporterOptions) -> Reporter {
        let output = match options.format {
            LogFormat::Json if options.quiet => Output::Json(Level::Error),
            LogFormat::Json if options.verbose => Output::Json(Level::Debug),
            LogFormat::Json => Output::Json(Level::Info),
            LogFormat::Text if options.quiet => Output::Quiet,
            LogFormat::Text if std::io::stderr().is_terminal() => Output::Bars,
            LogFormat::Text => Output::Lines,
        };
        let target = match output {
            Output::Bars => ProgressDrawTarget::stderr(),
            _ => ProgressDrawTarget::hidden(),
        };
        Reporter {
            output,
            verbose: options.verbose,
            timings: options.timings,
            multi: MultiProgress::with_draw_target(target),
            progress_interval: options.progress_interval.filter(|i| !i.is_zero()),
            run: Arc::new(RunCounts::default()),
        }
    }

    /// Emits a JSON event if the output is JSON and the level passes; true if the output is
    /// JSON (whether or not the event passed), so text callers know to stay silent.
    fn event(&self, level: Level, event: &str, fields: impl FnOnce() -> serde_json::Value) -> bool {
        match self.output {
            Output::Json(least) => {
                if level >= least {
                    log::emit(level, event, fields());
                }
                true
            }
            _ => false,
        }
    }

    /// A text message the user should see unless they asked for quiet.
    fn note(&self, text: &str) {
        match self.output {
            Output::Bars => {
                // Printing above the bars keeps them intact; a failure only loses the message.
                let _ = self.multi.println(text);
            }
            Output::Lines => eprintln!("{text}"),
            Output::Quiet | Output::Json(_) => {}
        }
    }

    /// The run connects; `source` and `target` are display forms, passwords hidden.
    pub fn run_started(&self, command: &str, source: &str, target: &str, tables: usize) {
        self.run.start(tables as u64, self.bars());
        self.event(
            Level::Info,
            "run_started",
            || json!({ "command": command, "source": source, "target": target, "tables": tables }),
        );
    }

    /// The job's patterns were expanded against the source: the run covers `tables` tables.
    pub fn tables_expanded(&self, tables: usize) {
        self.run.recount(tables as u64);
    }

    /// A schema warning about one table (one-sided columns and the like).
    pub fn warning(&self, table: &str, message: &str) {
        if !self.event(
            Level::Warn,
            "warning",
            || json!({ "table": table, "message": message }),
        ) {
            self.note(&format!("warning: table {table}: {message}"));
        }
    }

    /// A table's run begins (before it is locked and planned).
    pub fn table_started(&self, table: &str) {
        self.event(Level::Info, "table_started", || json!({ "table": table }));
    }

    /// A chunk lost its connection and is tried again after `pause`.
    pub fn chunk_retried(
        &self,
        table: &str,
        chunk: &str,
        attempt: u32,
        of: u32,
        reason: &str,
        pause: Duration,
    ) {
        if !self.event(Level::Warn, "chunk_retried", || {
            json!({
                "table": table,
                "chunk": chunk,
                "attempt": attempt,
                "attempts": of,
                "reason": reason,
                "pause_seconds": pause.as_secs_f64(),
            })
        }) {
            self.note(&format!(
                "{table}: chunk {chunk}: lost the connection ({reason}); retry {attempt} of {of} in {:.1} s",
                pause.as_secs_f64()
            ));
        }
    }

    /// A differing chunk was written (`--verbose` only).
    pub fn chunk_copied(&self, table: &str, chunk: &str, written: &ApplyStats) {
        self.detail(
            "chunk_copied",
            || {
                json!({
                    "table": table,
                    "chunk": chunk,
                    "inserted": written.inserted,
                    "updated": written.updated,
                    "deleted": written.deleted,
                    "bytes_read": written.bytes_read,
                    "bytes_written": written.bytes_written,
                })
            },
            || {
                format!(
                    "{table}: chunk {chunk}: inserted {}, updated {}, deleted {}",
                    written.inserted, written.updated, written.deleted
                )
            },
        );
    }

    /// Whether per-chunk details were asked for (`--verbose`): `sync --dry-run` then reads what
    /// it needs to show the statements it would run.
    pub fn verbose(&self) -> bool {
        self.verbose
    }

    /// A statement `sync --dry-run -v` would have run in one chunk's transaction.
    pub fn planned_statement(&self, table: &str, chunk: &str, statement: &str) {
        self.detail(
            "planned_statement",
            || json!({ "table": table, "chunk": chunk, "statement": statement }),
            || format!("{table}: chunk {chunk}: would run: {statement}"),
        );
    }

    /// A target sequence was moved past the copied keys (`--verbose` only).
    pub fn sequence_advanced(&self, table: &str, sequence: &str, value: i64) {
        self.detail(
            "sequence_advanced",
            || json!({ "table": table, "sequence": sequence, "value": value }),
            || format!("{table}: sequence {sequence} advanced to {value}"),
        );
    }

    /// A `--verbose`-only detail: a debug event in JSON, a line of `text` otherwise.
    fn detail(
        &self,
        event: &str,
        fields: impl FnOnce() -> serde_json::Value,
        text: impl FnOnce() -> String,
    ) {
        if self.verbose && !self.event(Level::Debug, event, fields) {
            self.note(&text());
        }
    }

    /// The bars' display, on a terminal.
    fn bars(&self) -> Option<&MultiProgress> {
        (self.output == Output::Bars).then_some(&self.multi)
    }

    /// Starts the progress of one table, in `phase` until its chunks are planned: a spinner,
    /// then a bar, on a terminal; elsewhere a progress line (or event) every
    /// `--progress-interval` while it runs.
    pub fn table(&self, name: &str, writing: bool, phase: &'static str) -> TableProgress {
        let mut progress = TableProgress::start(&self.run, self.bars(), name, writing, phase);
        let periodic = match self.output {
            Output::Lines => true,
            Output::Json(least) => least <= Level::Info,
            Output::Bars | Output::Quiet => false,
        };
        // Only inside the runtime, where runs are; a progress made elsewhere has no ticker.
        if let (true, Some(every), Ok(runtime)) = (
            periodic,
            self.progress_interval,
            tokio::runtime::Handle::try_current(),
        ) {
            let reporter = self.clone();
            let counts = progress.counts().clone();
            progress.set_ticker(runtime.spawn(async move {
                let first = tokio::time::Instant::now() + every;
                let mut ticks = tokio::time::interval_at(first, every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticks.tick().await;
                    reporter.progress(&counts);
                }
            }));
        }
        progress
    }

    /// One periodic progress report of a running table.
    fn progress(&self, counts: &TableCounts) {
        let now = Instant::now();
        let (table, run) = (counts.snapshot(now), self.run.snapshot(now));
        // `sync` counts rows copied; `diff` and `--dry-run` rows found differing.
        let changed = if table.writing {
            "rows_copied"
        } else {
            "rows_differing"
        };
        if !self.event(Level::Info, "progress", || {
            let chunks = table.chunks;
            json!({
                "table": counts.name,
                "phase": chunks.is_none().then_some(table.phase),
                "chunks": chunks.map(|c| c.of),
                "chunks_done": chunks.map(|c| c.done),
                "rows_compared": table.rows_compared,
                changed: table.rows_changed,
                "rows_per_second": table.rows_per_second(),
                "elapsed_seconds": table.elapsed.as_secs_f64(),
                "left_seconds": table.left.map(|d| d.as_secs_f64()),
                "run": {
                    "tables": run.tables,
                    "tables_done": run.tables_done,
                    "rows_compared": run.totals.rows_compared,
                    changed: run.totals.rows_changed,
                    "elapsed_seconds": run.totals.elapsed.as_secs_f64(),
                    "left_seconds": run.totals.left.map(|d| d.as_secs_f64()),
                },
            })
        }) {
            self.note(&lines::progress(&counts.name, &table, &run));
        }
    }

    /// The account of a finished table: always for a failure, otherwise only where there are no
    /// bars to show it. Told as the table's own pass ends, so that tables are told in the order
    /// they are written (parents first, as in the summary); `held` rows it still has to delete
    /// wait for the tables that reference it (see [`Reporter::held_deletions`]).
    pub fn table_finished(&self, report: &TableReport, writing: bool, held: u64) {
        let level = match report.error {
            Some(_) => Level::Error,
            None => Level::Info,
        };
        if self.event(level, "table_finished", || {
            let mut fields = serde_json::to_value(report).unwrap_or_else(|_| json!({}));
            // Key listings belong in `--json`; warnings had their own events.
            if let Some(fields) = fields.as_object_mut() {
                fields.remove("differences");
                fields.remove("warnings");
                if held > 0 {
                    fields.insert("deletions_held".into(), json!(held));
                }
            }
            fields
        }) {
            return;
        }
        let line = lines::finished(report, writing, held);
        match (self.output, &report.error) {
            (Output::Lines, _) => eprintln!("{line}"),
            // A failure is never silent, not even with bars or --quiet.
            (Output::Bars, Some(_)) => {
                let _ = self.multi.println(&line);
            }
            (Output::Quiet, Some(_)) => eprintln!("{line}"),
            _ => {}
        }
    }

    /// A table's held deletions, after the tables that reference it: applied (a `--verbose`
    /// detail), failed (never silent) or skipped by a stop (the next run applies them).
    pub fn held_deletions(&self, table: &str, outcome: HeldDeletions<'_>, seconds: f64) {
        match outcome {
            HeldDeletions::Applied(deleted) => self.detail(
                "held_deletions_applied",
                || json!({ "table": table, "deleted": deleted, "seconds": seconds }),
                || {
                    format!(
                        "{table}: deleted {} held back for the tables that reference it ({seconds:.1}s)",
                        counted(deleted, "row")
                    )
                },
            ),
            HeldDeletions::Failed(error) => {
                if !self.event(Level::Error, "held_deletions_failed", || {
                    json!({ "table": table, "error": error, "seconds": seconds })
                }) {
                    let line = format!(
                        "{table}: FAILED deleting the rows held back for the tables that reference it: {error}"
                    );
                    match self.output {
                        Output::Bars => {
                            let _ = self.multi.println(&line);
                        }
                        _ => eprintln!("{line}"),
                    }
                }
            }
            HeldDeletions::Skipped => {
                let message = "stopped before the rows held back for the tables that reference it were deleted; the next run deletes them";
                if !self.event(Level::Warn, "held_deletions_skipped", || {
                    json!({ "table": table, "message": message })
                }) {
                    self.note(&format!("{table}: {message}"));
                }
            }
        }
    }

    /// The end of a run: a `run_finished` event with the totals, or the human summary table
    /// (when `summary`, i.e. not replaced by `--json`) and, with `--timings`, the phase table.
    pub fn run_finished(&self, report: &RunReport, summary: bool) {
        self.run.finish();
        let level = match (report.totals.tables_failed, report.interrupted) {
            (0, false) => Level::Info,
            (0, true) => Level::Warn,
            _ => Level::Error,
        };
        if self.event(level, "run_finished", || {
            let mut fields = json!({
                "command": report.command,
                "in_sync": report.in_sync,
                "interrupted": report.interrupted,
                "seconds": report.seconds,
                "totals": report.totals,
                "timings": report.timings,
            });
            if let Some(signal) = report.signal {
                fields["signal"] = json!(signal);
            }
            if report.rolled_back {
                fields["rolled_back"] = json!(true);
            }
            fields
        }) {
            return;
        }
        if summary && self.output != Output::Quiet {
            summary::print_summary(report);
            if self.timings {
                summary::print_timings(report);
            }
        }
    }

    /// The first stop signal: chunks in flight finish, no new ones start.
    pub fn interrupted(&self, signal: Signal) {
        let message = "finishing the chunks in flight, starting no new ones";
        if !self.event(
            Level::Warn,
            "interrupted",
            || json!({ "signal": signal, "message": message }),
        ) {
            self.note(&format!("interrupted ({}): {message}", signal.name()));
        }
    }

    /// A second stop signal: the process exits at once (never silent, not even with `-q`).
    pub fn aborted(&self, signal: Signal) {
        let message = "stopping at once; the servers roll back the chunks in flight";
        if !self.event(
            Level::Error,
            "aborted",
            || json!({ "signal": signal, "message": message }),
        ) {
            let text = format!("interrupted again ({}): {message}", signal.name());
            match self.output {
                Output::Bars => {
                    let _ = self.multi.println(&text);
                }
                _ => eprintln!("{text}"),
            }
        }
    }

    /// `--defer-constraints`: the run's transaction was rolled back instead of committed.
    pub fn run_rolled_back(&self, reason: &str) {
        if !self.event(
            Level::Warn,
            "run_rolled_back",
            || json!({ "message": reason }),
        ) {
            self.note(reason);
        }
    }

    /// An error that stops the run, with its causes; exit code 2 follows.
    pub fn error(&self, e: &anyhow::Error) {
        // One line leading with what failed and where, its causes after colons (as ripgrep
        // and anyhow's `{:#}` print them).
        let messages = error_messages(e);
        let line = messages.join(": ");
        // The run's bar ends first, so the error is not drawn over.
        self.run.finish();
        if self.event(Level::Error, "error", || {
            json!({
                "message": line,
                "causes": messages.get(1..).unwrap_or_default(),
            })
        }) {
            return;
        }
        eprintln!("error: {line}");
    }
}
