//! What a run tells its user: progress while it runs, a summary at the end, JSON on request.
//!
//! Everything human goes to stderr, so stdout carries only results (`--json`, `diff` listings).
//! On a terminal each table gets a progress bar; elsewhere (cron, CI) there are no bars but one
//! plain line per table as it finishes; `--quiet` leaves only errors. With `--log-format json`
//! every message is an event line instead (see [`crate::log`]). All of a run's stderr output goes
//! through [`Reporter`], so no plain text escapes in JSON mode.

use crate::apply::ApplyStats;
use crate::log::{self, Level, LogFormat};
use crate::summary;
use crate::timings::Timings;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use serde_json::json;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The messages of an error and its causes, leaving out a cause that only repeats its parent
/// (sqlx's database errors print their source's text once more).
pub fn error_messages(e: &anyhow::Error) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !out.last().is_some_and(|previous| previous.contains(&text)) {
            out.push(text);
        }
    }
    out
}

/// The keys that differ in one chunk, for `diff`.
#[derive(Debug, Clone, Serialize)]
pub struct ChunkListing {
    /// The chunk's position in key order.
    pub chunk: usize,
    /// `[lower, upper)` in key terms, for people.
    pub range: String,
    pub only_in_source: Vec<serde_json::Value>,
    pub only_in_target: Vec<serde_json::Value>,
    pub changed: Vec<serde_json::Value>,
}

/// The outcome for one table; the JSON report is a list of these.
#[derive(Debug, Clone, Serialize, Default)]
pub struct TableReport {
    pub table: String,
    pub rows_source: u64,
    pub rows_target: u64,
    pub chunks: u64,
    pub chunks_differing: u64,
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    /// Rows that differ, by kind (what `diff` found, or what `sync` found before writing).
    pub rows_only_in_source: u64,
    pub rows_only_in_target: u64,
    pub rows_changed: u64,
    /// Row data read from the source and written to the target (see [`ApplyStats`]).
    pub bytes_read: u64,
    pub bytes_written: u64,
    /// Wall time of the table.
    pub seconds: f64,
    /// Time per phase, summed across concurrent chunks.
    pub timings: Timings,
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<ChunkListing>,
}

impl TableReport {
    pub fn written(&self) -> ApplyStats {
        ApplyStats {
            inserted: self.inserted,
            updated: self.updated,
            deleted: self.deleted,
            bytes_read: self.bytes_read,
            bytes_written: self.bytes_written,
        }
    }
}

/// The sums over a run's tables.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Totals {
    pub tables: u64,
    pub tables_failed: u64,
    pub rows_source: u64,
    pub rows_target: u64,
    pub chunks: u64,
    pub chunks_differing: u64,
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
}

impl Totals {
    pub fn of(tables: &[TableReport]) -> Totals {
        let mut totals = Totals::default();
        for t in tables {
            totals.tables += 1;
            totals.tables_failed += u64::from(t.error.is_some());
            totals.rows_source += t.rows_source;
            totals.rows_target += t.rows_target;
            totals.chunks += t.chunks;
            totals.chunks_differing += t.chunks_differing;
            totals.inserted += t.inserted;
            totals.updated += t.updated;
            totals.deleted += t.deleted;
            totals.bytes_read += t.bytes_read;
            totals.bytes_written += t.bytes_written;
        }
        totals
    }
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub command: &'static str,
    /// Every table equal at the end (`sync`) or found equal (`diff`), and no errors.
    pub in_sync: bool,
    /// Wall time of the run.
    pub seconds: f64,
    pub totals: Totals,
    /// Time per phase, summed over tables and across concurrent chunks.
    pub timings: Timings,
    pub tables: Vec<TableReport>,
}

impl RunReport {
    /// The report of a run of `tables`, with totals and timings summed from them.
    pub fn new(
        command: &'static str,
        in_sync: bool,
        seconds: f64,
        tables: Vec<TableReport>,
    ) -> RunReport {
        let mut timings = Timings::default();
        for t in &tables {
            timings.merge(&t.timings);
        }
        RunReport {
            command,
            in_sync,
            seconds,
            totals: Totals::of(&tables),
            timings,
            tables,
        }
    }
}

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
}

/// Progress and messages on stderr: the one place a run writes there.
pub struct Reporter {
    output: Output,
    verbose: bool,
    timings: bool,
    multi: MultiProgress,
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
        self.event(
            Level::Info,
            "run_started",
            || json!({ "command": command, "source": source, "target": target, "tables": tables }),
        );
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

    /// Starts the progress display of one table with `chunks` chunks.
    pub fn table(&self, name: &str, chunks: u64, writing: bool) -> TableProgress {
        let bar = (self.output == Output::Bars).then(|| {
            let bar = self.multi.add(ProgressBar::new(chunks));
            let style = ProgressStyle::with_template(
                "{prefix:.bold} [{bar:30.cyan/blue}] {pos}/{len} chunks compared {msg} ({elapsed})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(name.to_string());
            bar
        });
        TableProgress {
            bar,
            writing,
            copied: AtomicU64::new(0),
            differing: AtomicU64::new(0),
        }
    }

    /// The account of a finished table: always for a failure, otherwise only where there are no
    /// bars to show it.
    pub fn table_finished(&self, report: &TableReport, writing: bool) {
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
            }
            fields
        }) {
            return;
        }
        let line = match &report.error {
            Some(e) => format!("{}: FAILED after {:.1}s: {e}", report.table, report.seconds),
            None if report.chunks_differing == 0 => format!(
                "{}: in sync, {} rows in {} chunks, nothing {} ({:.1}s)",
                report.table,
                report.rows_source,
                report.chunks,
                if writing { "written" } else { "differs" },
                report.seconds
            ),
            None if writing => {
                let w = report.written();
                format!(
                    "{}: {} of {} chunks differed; inserted {}, updated {}, deleted {} ({:.1}s)",
                    report.table, report.chunks_differing, report.chunks, w.inserted, w.updated, w.deleted, report.seconds
                )
            }
            None => format!(
                "{}: {} of {} chunks differ; {} rows only in source, {} only in target, {} changed ({:.1}s)",
                report.table,
                report.chunks_differing,
                report.chunks,
                report.rows_only_in_source,
                report.rows_only_in_target,
                report.rows_changed,
                report.seconds
            ),
        };
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

    /// The end of a run: a `run_finished` event with the totals, or the human summary table
    /// (when `summary`, i.e. not replaced by `--json`) and, with `--timings`, the phase table.
    pub fn run_finished(&self, report: &RunReport, summary: bool) {
        let level = match report.totals.tables_failed {
            0 => Level::Info,
            _ => Level::Error,
        };
        if self.event(level, "run_finished", || {
            json!({
                "command": report.command,
                "in_sync": report.in_sync,
                "seconds": report.seconds,
                "totals": report.totals,
                "timings": report.timings,
            })
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

    /// An error that stops the run, with its causes; exit code 2 follows.
    pub fn error(&self, e: &anyhow::Error) {
        let messages = error_messages(e);
        if self.event(Level::Error, "error", || {
            json!({
                "message": messages.first().cloned().unwrap_or_default(),
                "causes": messages.get(1..).unwrap_or_default(),
            })
        }) {
            return;
        }
        for (i, message) in messages.iter().enumerate() {
            if i == 0 {
                eprintln!("error: {message}");
            } else {
                eprintln!("  caused by: {message}");
            }
        }
    }
}

/// The progress of one table: chunks compared, chunks copied.
pub struct TableProgress {
    bar: Option<ProgressBar>,
    writing: bool,
    copied: AtomicU64,
    differing: AtomicU64,
}

impl TableProgress {
    pub fn compared(&self, differs: bool) {
        if differs {
            self.differing.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(bar) = &self.bar {
            bar.inc(1);
            self.refresh(bar);
        }
    }

    pub fn copied(&self) {
        self.copied.fetch_add(1, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            self.refresh(bar);
        }
    }

    fn refresh(&self, bar: &ProgressBar) {
        let differing = self.differing.load(Ordering::Relaxed);
        if self.writing {
            bar.set_message(format!(
                "{}/{differing} differing copied",
                self.copied.load(Ordering::Relaxed)
            ));
        } else {
            bar.set_message(format!("{differing} differ"));
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}
