//! Progress while a run goes: rows compared and copied (for `diff`, found differing), the rate in
//! rows per second, the time elapsed and an estimate of the time left, per table and for the run.
//!
//! The counts are atomics that every chunk task of a table updates at once; what is shown is read
//! from them by [`Snapshot`], one pure computation that both displays share:
//! - on a terminal, indicatif bars: a spinner while a table is planned (its chunks not known yet),
//!   then a bar over its chunks, and a `run` bar below the tables' bars;
//! - elsewhere, a plain line (or with `--log-format json` a `progress` event) every
//!   `--progress-interval` seconds while a table runs, written by [`super::Reporter`] from a
//!   ticker task that ends with the table.
//!
//! The time left is estimated from chunks, the one measure known in advance: a table's from its
//! chunks done since they were planned, the run's from the share of its tables done (the table
//! running counting by its chunks).

use crate::words::noun_for;
use indicatif::{HumanCount, HumanDuration, HumanFloatCount, ProgressBar, ProgressStyle};
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// How often a bar redraws by itself, so that spinners turn and rates stay current between
/// chunks.
const TICK: Duration = Duration::from_millis(120);

/// The counts of one table, shared by its chunk tasks and its displays.
pub struct TableCounts {
    pub name: String,
    /// `sync` counts rows copied; `diff` and `--dry-run` rows found differing.
    writing: bool,
    started: Instant,
    /// When the chunks became known (`None` while the table is planned).
    planned: OnceLock<Instant>,
    chunks: AtomicU64,
    chunks_done: AtomicU64,
    rows_compared: AtomicU64,
    rows_changed: AtomicU64,
    /// What the table is doing before its chunks run (`planning`, `waiting for its lock`).
    phase: Mutex<&'static str>,
}

impl TableCounts {
    fn new(name: &str, writing: bool, phase: &'static str) -> TableCounts {
        TableCounts {
            name: name.to_string(),
            writing,
            started: Instant::now(),
            planned: OnceLock::new(),
            chunks: AtomicU64::new(0),
            chunks_done: AtomicU64::new(0),
            rows_compared: AtomicU64::new(0),
            rows_changed: AtomicU64::new(0),
            phase: Mutex::new(phase),
        }
    }

    /// The share of the table done, by chunks: 0 while it is planned.
    fn fraction(&self) -> f64 {
        let chunks = self.chunks.load(Ordering::Relaxed);
        match self.planned.get() {
            Some(_) if chunks > 0 => {
                self.chunks_done.load(Ordering::Relaxed) as f64 / chunks as f64
            }
            Some(_) => 1.0,
            None => 0.0,
        }
    }

    pub fn snapshot(&self, now: Instant) -> Snapshot {
        let chunks = self.planned.get().map(|planned| Chunks {
            done: self.chunks_done.load(Ordering::Relaxed),
            of: self.chunks.load(Ordering::Relaxed),
            since: now.saturating_duration_since(*planned),
        });
        let elapsed = now.saturating_duration_since(self.started);
        Snapshot {
            phase: *self.phase.lock().unwrap_or_else(PoisonError::into_inner),
            writing: self.writing,
            rows_compared: self.rows_compared.load(Ordering::Relaxed),
            rows_changed: self.rows_changed.load(Ordering::Relaxed),
            elapsed,
            left: chunks.and_then(|c| time_left(c.since, c.done as f64 / c.of.max(1) as f64)),
            chunks,
        }
    }
}

/// A table's chunks once planned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Chunks {
    pub done: u64,
    pub of: u64,
    /// Time since they were planned.
    pub since: Duration,
}

/// What a display shows of a table or of the run at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub phase: &'static str,
    pub writing: bool,
    /// `None` while planning.
    pub chunks: Option<Chunks>,
    pub rows_compared: u64,
    /// Rows copied (`sync`) or found differing (`diff`, `--dry-run`).
    pub rows_changed: u64,
    pub elapsed: Duration,
    /// `None` until something is done to estimate from.
    pub left: Option<Duration>,
}

impl Snapshot {
    pub fn rows_per_second(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.rows_compared as f64 / seconds
        } else {
            0.0
        }
    }

    /// `12,000 rows compared, 300 copied` (or `300 differing`).
    pub fn counts(&self) -> String {
        format!(
            "{} {} compared, {} {}",
            HumanCount(self.rows_compared),
            noun_for(self.rows_compared, "row"),
            HumanCount(self.rows_changed),
            if self.writing { "copied" } else { "differing" }
        )
    }

    /// `4,000 rows/s`.
    pub fn rate(&self) -> String {
        format!("{:.0} rows/s", HumanFloatCount(self.rows_per_second()))
    }

    /// `about 2 minutes left`, or nothing to estimate from yet.
    pub fn left(&self, compact: bool) -> String {
        match self.left {
            Some(left) if compact => format!("{:#} left", HumanDuration(left)),
            Some(left) => format!("about {} left", HumanDuration(left)),
            None => "time left unknown".to_string(),
        }
    }
}

/// The time left when `fraction` of the work took `spent`: `None` before anything is done.
fn time_left(spent: Duration, fraction: f64) -> Option<Duration> {
    if fraction <= 0.0 {
        return None;
    }
    let fraction = fraction.min(1.0);
    Some(spent.mul_f64((1.0 - fraction) / fraction))
}

/// The run's counts: its tables, and the rows of every table so far.
pub struct RunCounts {
    started: Instant,
    tables: AtomicU64,
    tables_done: AtomicU64,
    /// The rows of the tables done.
    rows_compared: AtomicU64,
    rows_changed: AtomicU64,
    /// The table running now (tables run one after another).
    current: Mutex<Option<Arc<TableCounts>>>,
    /// The `run` bar, on a terminal.
    bar: OnceLock<ProgressBar>,
}

impl Default for RunCounts {
    fn default() -> RunCounts {
        RunCounts {
            started: Instant::now(),
            tables: AtomicU64::new(0),
            tables_done: AtomicU64::new(0),
            rows_compared: AtomicU64::new(0),
            rows_changed: AtomicU64::new(0),
            current: Mutex::new(None),
            bar: OnceLock::new(),
        }
    }
}

/// What a display shows of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSnapshot {
    pub tables: u64,
    pub tables_done: u64,
    pub totals: Snapshot,
}

impl RunCounts {
    pub fn snapshot(&self, now: Instant) -> RunSnapshot {
        let current = self
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let (mut compared, mut changed) = (
            self.rows_compared.load(Ordering::Relaxed),
            self.rows_changed.load(Ordering::Relaxed),
        );
        let (tables, tables_done) = (
            self.tables.load(Ordering::Relaxed),
            self.tables_done.load(Ordering::Relaxed),
        );
        let mut done = tables_done as f64;
        let mut writing = true;
        if let Some(table) = &current {
            compared += table.rows_compared.load(Ordering::Relaxed);
            changed += table.rows_changed.load(Ordering::Relaxed);
            done += table.fraction();
            writing = table.writing;
        }
        let elapsed = now.saturating_duration_since(self.started);
        RunSnapshot {
            tables,
            tables_done,
            totals: Snapshot {
                phase: "",
                writing,
                chunks: None,
                rows_compared: compared,
                rows_changed: changed,
                elapsed,
                left: time_left(elapsed, done / tables.max(1) as f64),
            },
        }
    }

    /// The run's tables are known: on a terminal, the `run` bar starts.
    pub fn start(self: &Arc<Self>, tables: u64, bars: Option<&indicatif::MultiProgress>) {
        self.tables.store(tables, Ordering::Relaxed);
        let Some(multi) = bars else {
            return;
        };
        let run = self.clone();
        let bar = multi.add(ProgressBar::new(tables));
        bar.set_style(
            style(
                "{spinner:.green} {prefix:.bold} [{bar:25.green/white}] {pos}/{len} tables, {counts}, {rate}, {elapsed} elapsed, {left}",
            )
            .with_key("counts", key(&run, |s| s.totals.counts()))
            .with_key("rate", key(&run, |s| s.totals.rate()))
            .with_key("left", key(&run, |s| s.totals.left(true))),
        );
        bar.set_prefix("run");
        bar.enable_steady_tick(TICK);
        // A second start (there is none) keeps the first bar.
        let _ = self.bar.set(bar);
    }

    /// The run's tables are counted again once patterns have been expanded on the source.
    pub fn recount(&self, tables: u64) {
        self.tables.store(tables, Ordering::Relaxed);
        if let Some(bar) = self.bar.get() {
            bar.set_length(tables);
        }
    }

    /// The run is over: its bar goes, so the summary follows the tables' bars.
    pub fn finish(&self) {
        if let Some(bar) = self.bar.get() {
            bar.finish_and_clear();
        }
    }
}

/// A template key of the `run` bar, computed from the run's counts at every draw.
fn key(
    run: &Arc<RunCounts>,
    text: fn(&RunSnapshot) -> String,
) -> impl Fn(&indicatif::ProgressState, &mut dyn Write) + Send + Sync + Clone + 'static {
    let run = run.clone();
    move |_, w| {
        let _ = w.write_str(&text(&run.snapshot(Instant::now())));
    }
}

/// A template key of a table's bar.
fn table_key(
    counts: &Arc<TableCounts>,
    text: fn(&Snapshot) -> String,
) -> impl Fn(&indicatif::ProgressState, &mut dyn Write) + Send + Sync + Clone + 'static {
    let counts = counts.clone();
    move |_, w| {
        let _ = w.write_str(&text(&counts.snapshot(Instant::now())));
    }
}

/// A style from a template of ours; a template indicatif refused would be a bug, and the plain
/// default still shows the counts.
fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// The progress of one table. Ends its bar and its ticker when finished or dropped (a table that
/// stopped early).
pub struct TableProgress {
    counts: Arc<TableCounts>,
    run: Arc<RunCounts>,
    bar: Option<ProgressBar>,
    ticker: Option<JoinHandle<()>>,
    finished: AtomicBool,
}

impl TableProgress {
    /// The progress of a table starting now, in `phase`; `bars` on a terminal.
    pub(super) fn start(
        run: &Arc<RunCounts>,
        bars: Option<&indicatif::MultiProgress>,
        name: &str,
        writing: bool,
        phase: &'static str,
    ) -> TableProgress {
        let counts = Arc::new(TableCounts::new(name, writing, phase));
        *run.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(counts.clone());
        let bar = bars.map(|multi| {
            let bar = ProgressBar::new_spinner();
            let bar = match run.bar.get() {
                Some(below) => multi.insert_before(below, bar),
                None => multi.add(bar),
            };
            bar.set_style(
                style("{spinner:.green} {prefix:.bold} {phase} ({elapsed})")
                    .with_key("phase", table_key(&counts, |s| s.phase.to_string())),
            );
            bar.set_prefix(name.to_string());
            bar.enable_steady_tick(TICK);
            bar
        });
        TableProgress {
            counts,
            run: run.clone(),
            bar,
            ticker: None,
            finished: AtomicBool::new(false),
        }
    }

    pub fn counts(&self) -> &Arc<TableCounts> {
        &self.counts
    }

    /// The ticker writing periodic progress; it is stopped with the table.
    pub(super) fn set_ticker(&mut self, ticker: JoinHandle<()>) {
        self.ticker = Some(ticker);
    }

    /// What the table does before its chunks are known.
    pub fn phase(&self, phase: &'static str) {
        *self
            .counts
            .phase
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = phase;
    }

    /// The table's `chunks` are planned: the spinner becomes a bar over them.
    pub fn planned(&self, chunks: u64) {
        self.counts.chunks.store(chunks, Ordering::Relaxed);
        let _ = self.counts.planned.set(Instant::now());
        if let Some(bar) = &self.bar {
            bar.set_length(chunks);
            bar.set_style(
                style(
                    "{spinner:.green} {prefix:.bold} [{bar:25.cyan/blue}] {pos}/{len} chunks, {counts}, {rate}, {elapsed} elapsed, {left}",
                )
                .with_key("counts", table_key(&self.counts, |s| s.counts()))
                .with_key("rate", table_key(&self.counts, |s| s.rate()))
                .with_key("left", table_key(&self.counts, |s| s.left(true))),
            );
        }
    }

    /// A chunk is done: `compared` rows looked at, `changed` rows copied (or found differing).
    pub fn chunk_done(&self, compared: u64, changed: u64) {
        self.counts.chunks_done.fetch_add(1, Ordering::Relaxed);
        self.counts
            .rows_compared
            .fetch_add(compared, Ordering::Relaxed);
        self.counts
            .rows_changed
            .fetch_add(changed, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// The table is done (or stopped): its rows join the run's, its bar shows the final counts.
    pub fn finish(&self) {
        if self.finished.swap(true, Ordering::Relaxed) {
            return;
        }
        if let Some(ticker) = &self.ticker {
            ticker.abort();
        }
        let run = &self.run;
        run.rows_compared.fetch_add(
            self.counts.rows_compared.load(Ordering::Relaxed),
            Ordering::Relaxed,
        );
        run.rows_changed.fetch_add(
            self.counts.rows_changed.load(Ordering::Relaxed),
            Ordering::Relaxed,
        );
        run.tables_done.fetch_add(1, Ordering::Relaxed);
        *run.current.lock().unwrap_or_else(PoisonError::into_inner) = None;
        if let Some(bar) = run.bar.get() {
            bar.inc(1);
        }
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

impl Drop for TableProgress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_follows_the_share_done() {
        assert_eq!(time_left(Duration::from_secs(10), 0.0), None);
        assert_eq!(
            time_left(Duration::from_secs(10), 0.25),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            time_left(Duration::from_secs(10), 1.0),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn a_snapshot_counts_rows_rate_and_time_left() {
        let run = Arc::new(RunCounts::default());
        run.start(2, None);
        let progress = TableProgress::start(&run, None, "orders", true, "planning");
        let start = progress.counts.started;
        let planning = progress.counts.snapshot(start + Duration::from_secs(1));
        assert_eq!(planning.chunks, None);
        assert_eq!(planning.phase, "planning");
        assert_eq!(planning.left(false), "time left unknown");
        progress.planned(4);
        progress.chunk_done(1000, 1);
        let planned = *progress.counts.planned.get().expect("planned");
        let now = planned + Duration::from_secs(2);
        let snapshot = progress.counts.snapshot(now);
        assert_eq!(
            snapshot.chunks,
            Some(Chunks {
                done: 1,
                of: 4,
                since: Duration::from_secs(2)
            })
        );
        assert_eq!(snapshot.left, Some(Duration::from_secs(6)));
        assert_eq!(snapshot.counts(), "1,000 rows compared, 1 copied");
        // Half of the first of two tables: a quarter of the run.
        progress.chunk_done(500, 0);
        let whole = run.snapshot(now);
        assert_eq!((whole.tables, whole.tables_done), (2, 0));
        assert_eq!(whole.totals.rows_compared, 1500);
        progress.finish();
        let whole = run.snapshot(now);
        assert_eq!((whole.tables_done, whole.totals.rows_compared), (1, 1500));
        assert_eq!(whole.totals.rows_changed, 1);
    }
}
