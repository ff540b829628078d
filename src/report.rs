//! What a run tells its user: progress while it runs, a summary at the end, JSON on request.
//!
//! Everything human goes to stderr, so stdout carries only results (`--json`, `diff` listings).
//! On a terminal each table gets a progress bar; elsewhere (cron, CI) there are no bars but one
//! plain line per table as it finishes; `--quiet` leaves only errors.

use crate::apply::ApplyStats;
use comfy_table::{presets::UTF8_BORDERS_ONLY, Cell, CellAlignment, Table};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

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
    pub seconds: f64,
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
        }
    }
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub command: &'static str,
    /// Every table equal at the end (`sync`) or found equal (`diff`), and no errors.
    pub in_sync: bool,
    pub seconds: f64,
    pub tables: Vec<TableReport>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    Bars,
    Lines,
    Quiet,
}

/// Progress and messages on stderr.
pub struct Reporter {
    output: Output,
    verbose: bool,
    multi: MultiProgress,
}

impl Reporter {
    pub fn new(quiet: bool, verbose: bool) -> Reporter {
        let output = if quiet {
            Output::Quiet
        } else if std::io::stderr().is_terminal() {
            Output::Bars
        } else {
            Output::Lines
        };
        let target = match output {
            Output::Bars => ProgressDrawTarget::stderr(),
            _ => ProgressDrawTarget::hidden(),
        };
        Reporter {
            output,
            verbose,
            multi: MultiProgress::with_draw_target(target),
        }
    }

    /// A message the user should see unless they asked for quiet.
    pub fn note(&self, text: &str) {
        match self.output {
            Output::Bars => {
                // Printing above the bars keeps them intact; a failure only loses the message.
                let _ = self.multi.println(text);
            }
            Output::Lines => eprintln!("{text}"),
            Output::Quiet => {}
        }
    }

    /// A message for `--verbose` only.
    pub fn detail(&self, text: &str) {
        if self.verbose {
            self.note(text);
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

    /// The one-line account of a finished table: always for a failure, otherwise only where there
    /// are no bars to show it.
    pub fn table_finished(&self, report: &TableReport, writing: bool) {
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

    /// The human summary table on stderr.
    pub fn summary(&self, report: &RunReport) {
        if self.output == Output::Quiet {
            return;
        }
        let writing = report.command == "sync";
        if report.command == "sync --dry-run" {
            eprintln!("Dry run: nothing was written. `only source` rows would be inserted, `only target` rows deleted, `changed` rows updated.");
        }
        let mut table = Table::new();
        table.load_preset(UTF8_BORDERS_ONLY);
        let mut header = vec!["table", "source rows", "target rows", "chunks", "differing"];
        if writing {
            header.extend(["inserted", "updated", "deleted"]);
        } else {
            header.extend(["only source", "only target", "changed"]);
        }
        header.extend(["seconds", "status"]);
        table.set_header(header);
        for t in &report.tables {
            let counts = if writing {
                [t.inserted, t.updated, t.deleted]
            } else {
                [t.rows_only_in_source, t.rows_only_in_target, t.rows_changed]
            };
            let status = match (&t.error, t.chunks_differing, writing) {
                (Some(_), _, _) => "FAILED",
                (None, 0, _) => "in sync",
                (None, _, true) => "synced",
                (None, _, false) => "differs",
            };
            let mut row: Vec<Cell> = vec![Cell::new(&t.table)];
            for n in [t.rows_source, t.rows_target, t.chunks, t.chunks_differing]
                .into_iter()
                .chain(counts)
            {
                row.push(Cell::new(n).set_alignment(CellAlignment::Right));
            }
            row.push(Cell::new(format!("{:.2}", t.seconds)).set_alignment(CellAlignment::Right));
            row.push(Cell::new(status));
            table.add_row(row);
        }
        eprintln!("{table}");
        let written: u64 = report.tables.iter().map(|t| t.written().total()).sum();
        if writing && report.in_sync && written == 0 {
            eprintln!("Everything was already in sync; nothing was written.");
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
