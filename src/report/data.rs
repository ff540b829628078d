//! The data a run reports: per table, per run, and what stopped it early. Plain values that the
//! renderers beside this file (summary tables, JSON events, `--json`) read; nothing here prints.

use crate::apply::ApplyStats;
use crate::timings::Timings;
use serde::Serialize;

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
    /// The keys of `only_in_target` that the source holds outside its subset (listed only where
    /// they are to be deleted: `sync --dry-run`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub present_in_source: Vec<serde_json::Value>,
}

/// The outcome for one table; the JSON report is a list of these.
#[derive(Debug, Clone, Serialize, Default)]
pub struct TableReport {
    pub table: String,
    pub rows_source: u64,
    pub rows_target: u64,
    pub chunks: u64,
    /// Chunks compared (and for `sync` written): `chunks` unless the run was interrupted.
    pub chunks_compared: u64,
    pub chunks_differing: u64,
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    /// Of the rows deleted (for `sync --dry-run`, to be deleted), those whose key the source
    /// holds outside its subset: the sides disagree on which rows the `where` selects, or the
    /// rows left the subset since the last sync.
    pub deleted_present_in_source: u64,
    /// Rows that differ, by kind (what `diff` found, or what `sync` found before writing).
    pub rows_only_in_source: u64,
    pub rows_only_in_target: u64,
    pub rows_changed: u64,
    /// Row data read from the source and written to the target (see [`ApplyStats`]).
    pub bytes_read: u64,
    pub bytes_written: u64,
    /// Everything received from each side for this table: checksums, narrowing levels, row
    /// lists and copied rows (see `Db::bytes_received`).
    pub bytes_from_source: u64,
    pub bytes_from_target: u64,
    /// Wall time of the table.
    pub seconds: f64,
    /// Time per phase, summed across concurrent chunks.
    pub timings: Timings,
    pub warnings: Vec<String>,
    /// `create_missing` created the target table in this run (`"created": true` in `--json`).
    #[serde(skip_serializing_if = "is_false")]
    pub created: bool,
    /// A signal stopped the run before every chunk of the table (or its held deletions) ran.
    #[serde(skip_serializing_if = "is_false")]
    pub interrupted: bool,
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
    pub deleted_present_in_source: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub bytes_from_source: u64,
    pub bytes_from_target: u64,
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
            totals.deleted_present_in_source += t.deleted_present_in_source;
            totals.bytes_read += t.bytes_read;
            totals.bytes_written += t.bytes_written;
            totals.bytes_from_source += t.bytes_from_source;
            totals.bytes_from_target += t.bytes_from_target;
        }
        totals
    }
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub command: &'static str,
    /// Every table equal at the end (`sync`) or found equal (`diff`), no errors, and not
    /// interrupted.
    pub in_sync: bool,
    /// A signal stopped the run: chunks in flight finished, no new ones started.
    pub interrupted: bool,
    /// The signal that stopped the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<Signal>,
    /// `--defer-constraints`: the run's transaction was rolled back, so nothing was written
    /// (an interrupted run); the tables' written counts are then 0.
    #[serde(skip_serializing_if = "is_false")]
    pub rolled_back: bool,
    /// The job's tables an interrupted run never started, in the order they would have run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_started: Vec<String>,
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
            interrupted: false,
            signal: None,
            rolled_back: false,
            not_started: Vec::new(),
            seconds,
            totals: Totals::of(&tables),
            timings,
            tables,
        }
    }
}

impl RunReport {
    /// Marks the run as stopped by `signal`: it is then not in sync, whatever was compared.
    pub fn interrupted_by(mut self, signal: Signal) -> RunReport {
        self.interrupted = true;
        self.in_sync = false;
        self.signal = Some(signal);
        self
    }
}

/// A signal that asks a run to stop (see `crate::run::shutdown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Signal {
    /// Ctrl-C.
    #[serde(rename = "SIGINT")]
    Interrupt,
    /// `kill`, `systemctl stop`, `timeout`, a container runtime stopping.
    #[serde(rename = "SIGTERM")]
    Terminate,
}

impl Signal {
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }

    /// The shell's convention: 128 + the signal's number.
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }
}

fn is_false(value: &bool) -> bool {
    !value
}
