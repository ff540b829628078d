//! One table of a run: empty the subset first (`truncate`), plan the chunks, sum them in one
//! grouped scan where the layout allows, then compare (and apply) every chunk as a task of its
//! own under the run's semaphore, retrying chunks whose connection was lost. The differing hash
//! buckets of a table are narrowed together first, in batches of bounded size (one grouped scan
//! per side per level), and their chunks then only merge the lists and apply them.
//!
//! Chunks are spawned tasks, not futures polled by one task, so the CPU work inside them
//! (in-process row hashing, data rules, fitting values to the target's columns) runs on every
//! core of the runtime. Each task holds an owned permit of the semaphore until its chunk is done,
//! `--sleep` included, so at most [`Job::chunk_jobs`](crate::config::Job::chunk_jobs) chunks are
//! in flight. A stop lets the tasks in flight finish their chunk and spawns no new one; a failure
//! too, and the failed chunk still counts what its comparison found.

use super::policy::Policy;
use super::shutdown::Stop;
use crate::apply::{apply_chunk, planned_statements, planned_stats, ApplyStats, HeldDeletes};
use crate::compare::{
    compare_chunk, present_in_source, ChunkComparison, ChunkDiff, ChunkWork, Compare, Hints,
};
use crate::engine::{
    describe_statement, is_transient, Checksum, Chunk, Db, Grouping, KeyGroups, KeyRange,
};
use crate::narrow::{differing_rate, first_split, narrow_groups, Start};
use crate::plan::plan_chunks;
use crate::report::{error_messages, ChunkListing, Reporter, TableProgress, TableReport};
use crate::schema::TablePlan;
use crate::timings::{Phase, Timings};
use crate::value::{compare_keys, key_to_string, Key};
use anyhow::{anyhow, Context, Result};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio::task::{JoinError, JoinSet};

/// A chunk whose connection was lost is tried again this many times, after pauses of
/// `RETRY_PAUSE`, twice that, four times that.
const RETRIES: u32 = 3;
const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// The differing groups of a table's hash buckets are listed in passes of at most about this many
/// rows per side, so that memory stays bounded however much differs.
const LIST_PASS_ROWS: u64 = 300_000;

/// Both sides' checksums of every bucket of a table.
type BucketSums = (HashMap<u64, Checksum>, HashMap<u64, Checksum>);

/// The sums of buckets `0..of` from the sums of finer groups (a group's bucket is its number
/// modulo `of`: moduli nest).
fn bucket_sums(fine: &HashMap<u64, Checksum>, of: u64) -> HashMap<u64, Checksum> {
    let mut sums: HashMap<u64, Checksum> = HashMap::new();
    for (residue, sum) in fine {
        let bucket = sums
            .entry(residue % of.max(1))
            .or_insert(Checksum { rows: 0, sum: 0 });
        bucket.rows += sum.rows;
        bucket.sum = bucket.sum.wrapping_add(sum.sum);
    }
    sums
}

/// A chunk and its position in the table's layout.
type Positioned = (usize, Chunk);

/// Both sides' `(key, row hash)` lists of a chunk's differing groups.
type RowLists = (Vec<(Key, u64)>, Vec<(Key, u64)>);

/// Everything one table's run needs, owned or shared, so that its chunks can be tasks.
pub(super) struct TableRun {
    pub source: Arc<Db>,
    /// The target, or the run's transaction on it (`--defer-constraints`).
    pub target: Arc<Db>,
    pub plan: Arc<TablePlan>,
    pub policy: Policy,
    pub reporter: Reporter,
    /// Where the table's deletions are held, when other tables of the run reference it.
    pub held: Option<Arc<Mutex<HeldDeletes>>>,
    /// `--sleep`: the pause after every chunk.
    pub sleep: Duration,
    pub stop: Stop,
    /// The run's limit on chunks in flight.
    pub slots: Arc<Semaphore>,
    /// The source is 5 ms or more away: narrowing saves bytes before scans.
    pub remote: bool,
    /// The table's progress, shown from before its lock is taken.
    pub progress: TableProgress,
}

/// What every chunk task of a table shares.
struct Shared {
    run: TableRun,
    /// Every chunk is copied whole (`truncate`, or an empty target).
    copy_only: bool,
    /// The checksums of every chunk on both sides, when summed in one grouped scan each.
    sums: Option<BucketSums>,
    /// The lists of chunks narrowed before their task (differing hash buckets), by position;
    /// taken by the chunk's first try.
    listed: Mutex<HashMap<usize, RowLists>>,
    density: Density,
}

/// A chunk done: its position, comparison and what was written.
type Done = (usize, ChunkComparison, ApplyStats);

/// A chunk that failed, with what its comparison found and what it wrote when it got that far,
/// so that a failed table still reports the differences it saw.
struct Failed {
    error: anyhow::Error,
    found: Option<Done>,
}

impl From<anyhow::Error> for Failed {
    fn from(error: anyhow::Error) -> Failed {
        Failed { error, found: None }
    }
}

/// Compares (and, when the policy writes, applies) one table into `report`. A stop before the
/// chunks are planned leaves the table untouched (but for `truncate`'s emptying, which is never
/// cut short); after, the chunks in flight finish. `report.interrupted` then says so.
pub(super) async fn run_table(table: TableRun, report: &mut TableReport) -> Result<()> {
    let (source, target, plan, policy) = (&table.source, &table.target, &table.plan, table.policy);
    if policy.truncate {
        table.progress.phase("emptying the subset");
        let t0 = Instant::now();
        report.deleted = target
            .delete_subset(&plan.target)
            .await
            .context("emptying the target's subset")?;
        report.timings.add(Phase::Copy, t0.elapsed());
    }
    table.progress.phase("planning");
    let planning = Instant::now();
    // Planning and summing only read, so a stop abandons them.
    let planned = table.stop.unless_stopped(async {
        // A first load (or `truncate`) has nothing to compare with: unless keys are listed,
        // every chunk is a plain copy.
        let copy_only = !policy.compare
            || (!policy.list_keys
                && target
                    .is_empty(&plan.target)
                    .await
                    .context("looking for rows in the target")?);
        let layout = plan_chunks(
            source,
            target,
            &plan.source,
            &plan.target,
            plan.chunk_size,
            copy_only,
            !table.remote,
        )
        .await?;
        Ok::<_, anyhow::Error>((copy_only, layout))
    });
    let Some(planned) = planned.await else {
        report.interrupted = true;
        return Ok(());
    };
    let (copy_only, layout) = planned?;
    let chunks = layout.chunks;
    report.chunks = chunks.len() as u64;
    report.timings.add(Phase::Plan, planning.elapsed());
    let summing = Instant::now();
    // Where the layout allows, every chunk is summed in one grouped scan per side rather than a
    // query per chunk.
    // Buckets are summed through finer groups, where narrowing a differing bucket starts.
    let fine = match layout.grouping {
        Some(Grouping::Buckets { of }) if !copy_only => {
            table.progress.phase("summing checksums");
            let by = first_split(of * plan.chunk_size, of);
            let both = table.stop.unless_stopped(async {
                tokio::try_join!(
                    async {
                        plan.source_on(source)
                            .grouped_checksums(&Chunk::everything(), None, by)
                            .await
                            .context("checksums on the source")
                    },
                    async {
                        plan.target_on(target)
                            .grouped_checksums(&Chunk::everything(), None, by)
                            .await
                            .context("checksums on the target")
                    },
                )
            });
            let Some(both) = both.await else {
                report.interrupted = true;
                return Ok(());
            };
            report.timings.add(Phase::Checksum, summing.elapsed());
            Some((by, both?))
        }
        _ => None,
    };
    let sums = fine.as_ref().map(|(_, (src, tgt))| {
        let of = report.chunks;
        (bucket_sums(src, of), bucket_sums(tgt, of))
    });
    table.progress.planned(report.chunks);
    let buckets = match (layout.grouping, fine) {
        (Some(Grouping::Buckets { of }), Some(fine)) => Some((of, fine)),
        _ => None,
    };
    let shared = Arc::new(Shared {
        run: table,
        copy_only,
        sums,
        listed: Mutex::new(HashMap::new()),
        density: Density::default(),
    });
    let chunks: Vec<(usize, Chunk)> = chunks.into_iter().enumerate().collect();
    let result = match buckets {
        Some((of, fine)) => run_buckets(&shared, chunks, of, fine, report).await,
        None => run_chunks(&shared, chunks, report).await,
    };
    if result.is_ok() && report.chunks_compared < report.chunks {
        report.interrupted = true;
    }
    shared.run.progress.finish();
    // Listings in key order read better than completion order.
    report.differences.sort_by_key(|listing| listing.chunk);
    result
}

/// The chunks of a table of hash buckets: the equal ones are only counted; the differing ones
/// are narrowed together (each level one grouped scan per side), their differing groups listed in
/// passes of whole buckets holding at most about [`LIST_PASS_ROWS`] rows, and each pass's buckets
/// then merged and applied as tasks.
async fn run_buckets(
    shared: &Arc<Shared>,
    chunks: Vec<(usize, Chunk)>,
    of: u64,
    (by, (fine_source, fine_target)): (u64, BucketSums),
    report: &mut TableReport,
) -> Result<()> {
    let run = &shared.run;
    let plan = &run.plan;
    let bucket_rows = |index: usize| {
        let (src, tgt) = shared.known_sums(index);
        src.rows.max(tgt.rows)
    };
    let (differing, equal): (Vec<_>, Vec<_>) = chunks.into_iter().partition(|(index, _)| {
        let (src, tgt) = shared.known_sums(*index);
        src != tgt
    });
    run_chunks(shared, equal, report).await?;
    if differing.is_empty() {
        return Ok(());
    }
    let started = Instant::now();
    // The finer groups that differ, where narrowing goes on.
    let empty = Checksum { rows: 0, sum: 0 };
    let mut fine_rows: HashMap<u64, u64> = HashMap::new();
    for residue in fine_source.keys().chain(fine_target.keys()) {
        let (src, tgt) = (
            fine_source.get(residue).unwrap_or(&empty),
            fine_target.get(residue).unwrap_or(&empty),
        );
        if src != tgt {
            fine_rows.insert(*residue, src.rows.max(tgt.rows));
        }
    }
    let mut residues: Vec<u64> = fine_rows.keys().copied().collect();
    residues.sort_unstable();
    let rows: u64 = fine_rows.values().sum();
    let table_rows = (0..report.chunks as usize).map(bucket_rows).sum();
    let start = Start {
        differing_rate: Some(differing_rate(residues.len() as u64, by, table_rows))
            .map(|rate| rate * table_rows as f64 / rows.max(1) as f64),
        within: Some(KeyGroups {
            modulus: by,
            residues,
        }),
        rows,
        list_limit: LIST_PASS_ROWS,
        remote: run.remote,
    };
    let (source, target) = (plan.source_on(&run.source), plan.target_on(&run.target));
    let everything = Chunk::everything();
    let narrowing = narrow_groups(source, target, &everything, start);
    let Some(narrowed) = run.stop.unless_stopped(narrowing).await else {
        return Ok(());
    };
    let narrowed = narrowed.context("narrowing the differing buckets")?;
    report.timings.add(Phase::Narrow, started.elapsed());
    let leaves = narrowed.within.unwrap_or(KeyGroups {
        modulus: of,
        residues: Vec::new(),
    });
    // The differing groups under each differing bucket (a group's bucket is its residue modulo
    // the bucket count: moduli nest), and the rows they hold.
    let mut under: HashMap<u64, (Vec<u64>, u64)> = differing
        .iter()
        .map(|(index, _)| (*index as u64, (Vec::new(), 0)))
        .collect();
    for residue in &leaves.residues {
        let rows = narrowed
            .rows
            .get(residue)
            .or_else(|| fine_rows.get(residue))
            .copied()
            .unwrap_or_default();
        let entry = under.entry(residue % of).or_default();
        entry.0.push(*residue);
        entry.1 += rows;
    }
    // Each pass: its buckets, and the differing groups under them.
    let mut passes: Vec<(Vec<Positioned>, Vec<u64>)> = Vec::new();
    let mut pass_rows = 0;
    for (index, chunk) in differing {
        let (residues, rows) = under.remove(&(index as u64)).unwrap_or_default();
        if passes.is_empty() || (pass_rows + rows > LIST_PASS_ROWS && pass_rows > 0) {
            passes.push((Vec::new(), Vec::new()));
            pass_rows = 0;
        }
        pass_rows += rows;
        if let Some((chunks, groups)) = passes.last_mut() {
            chunks.push((index, chunk));
            groups.extend(residues);
        }
    }
    for (chunks, residues) in passes {
        let started = Instant::now();
        let groups = KeyGroups {
            modulus: leaves.modulus,
            residues,
        };
        let listing = async {
            if groups.residues.is_empty() {
                return Ok((Vec::new(), Vec::new()));
            }
            tokio::try_join!(
                async {
                    source
                        .bucketed_row_hashes(&groups, of)
                        .await
                        .context("row hashes on the source")
                },
                async {
                    target
                        .bucketed_row_hashes(&groups, of)
                        .await
                        .context("row hashes on the target")
                },
            )
        };
        let Some(lists) = run.stop.unless_stopped(listing).await else {
            return Ok(());
        };
        let (source_rows, target_rows) = lists?;
        report.timings.add(Phase::Narrow, started.elapsed());
        // Each bucket's lists sized to their rows: a pass holds hundreds of thousands.
        let mut sizes: HashMap<usize, (usize, usize)> = HashMap::new();
        for (bucket, _, _) in &source_rows {
            sizes.entry(*bucket as usize).or_default().0 += 1;
        }
        for (bucket, _, _) in &target_rows {
            sizes.entry(*bucket as usize).or_default().1 += 1;
        }
        let mut by_bucket: HashMap<usize, RowLists> = chunks
            .iter()
            .map(|(index, _)| {
                let (src, tgt) = sizes.get(index).copied().unwrap_or_default();
                (*index, (Vec::with_capacity(src), Vec::with_capacity(tgt)))
            })
            .collect();
        for (bucket, key, hash) in source_rows {
            if let Some((src, _)) = by_bucket.get_mut(&(bucket as usize)) {
                src.push((key, hash));
            }
        }
        for (bucket, key, hash) in target_rows {
            if let Some((_, tgt)) = by_bucket.get_mut(&(bucket as usize)) {
                tgt.push((key, hash));
            }
        }
        shared
            .listed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(by_bucket);
        run_chunks(shared, chunks, report).await?;
        if run.stop.requested().is_some() {
            break;
        }
    }
    Ok(())
}

/// Spawns a task per chunk as permits free up, records each outcome as it comes, and after a
/// stop or a failure spawns no more but waits for those in flight.
async fn run_chunks(
    shared: &Arc<Shared>,
    chunks: Vec<(usize, Chunk)>,
    report: &mut TableReport,
) -> Result<()> {
    let stop = &shared.run.stop;
    let list_keys = shared.run.policy.list_keys;
    let mut tasks: JoinSet<Result<Option<Done>, Failed>> = JoinSet::new();
    let mut failure: Option<anyhow::Error> = None;
    let mut pending = chunks.into_iter();
    'spawning: while failure.is_none() && stop.requested().is_none() {
        let Some((index, chunk)) = pending.next() else {
            break;
        };
        let permit = loop {
            tokio::select! {
                biased;
                _ = stop.wait() => break 'spawning,
                Some(joined) = tasks.join_next() => {
                    take(joined, report, &mut failure, list_keys, &shared.run.plan.name);
                    if failure.is_some() {
                        break 'spawning;
                    }
                }
                permit = shared.run.slots.clone().acquire_owned() => match permit {
                    Ok(permit) => break permit,
                    Err(e) => {
                        failure = Some(anyhow!("no chunk can start: {e}"));
                        break 'spawning;
                    }
                },
            }
        };
        let shared = shared.clone();
        tasks.spawn(async move {
            let _permit = permit;
            shared.chunk(index, chunk).await
        });
    }
    // The chunks in flight finish their transaction, committed or rolled back, and are counted.
    while let Some(joined) = tasks.join_next().await {
        take(
            joined,
            report,
            &mut failure,
            list_keys,
            &shared.run.plan.name,
        );
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Records a finished chunk task in the report, or keeps its error (the first one); a failed
/// chunk that was compared still counts what it found (and what it wrote, if anything).
fn take(
    joined: Result<Result<Option<Done>, Failed>, JoinError>,
    report: &mut TableReport,
    failure: &mut Option<anyhow::Error>,
    list_keys: bool,
    table: &str,
) {
    let error = match joined {
        Ok(Ok(Some((index, comparison, written)))) => {
            record(report, index, &comparison, written, list_keys);
            return;
        }
        // Stopped before the chunk was done: nothing of it was written.
        Ok(Ok(None)) => return,
        Ok(Err(Failed { error, found })) => {
            if let Some((index, comparison, written)) = found {
                record(report, index, &comparison, written, list_keys);
            }
            error
        }
        Err(e) => anyhow!("a chunk task of table {table} ended abnormally: {e}"),
    };
    failure.get_or_insert(error);
}

impl Shared {
    /// Both sides' checksums of chunk `index` of a table summed in one grouped scan.
    fn known_sums(&self, index: usize) -> (Checksum, Checksum) {
        let empty = Checksum { rows: 0, sum: 0 };
        let at = index as u64;
        match &self.sums {
            Some((src, tgt)) => (
                src.get(&at).copied().unwrap_or(empty),
                tgt.get(&at).copied().unwrap_or(empty),
            ),
            None => (empty, empty),
        }
    }

    /// One chunk, compared and (when writing) applied, tried again after a lost connection;
    /// `None` when a stop came while it waited to be tried again.
    async fn chunk(&self, index: usize, chunk: Chunk) -> Result<Option<Done>, Failed> {
        let run = &self.run;
        let mut retries = 0;
        let (comparison, written) = loop {
            match self.attempt(index, &chunk).await {
                Ok(done) => break done,
                Err(Failed { error: e, .. })
                    if retries < RETRIES
                        && is_transient(&[run.source.kind, run.target.kind], &e) =>
                {
                    retries += 1;
                    let pause = RETRY_PAUSE * 2u32.pow(retries - 1);
                    run.reporter.chunk_retried(
                        &run.plan.name,
                        &describe_chunk(&chunk),
                        retries,
                        RETRIES,
                        &error_messages(&e).join(": "),
                        pause,
                    );
                    if run
                        .stop
                        .unless_stopped(tokio::time::sleep(pause))
                        .await
                        .is_none()
                    {
                        return Ok(None);
                    }
                }
                Err(e) => return Err(e),
            }
        };
        let differs = comparison.diff.is_some();
        self.density.record(&comparison);
        let rows = comparison.source.rows.max(comparison.target.rows);
        let changed = match &comparison.diff {
            _ if run.policy.write => written.total(),
            Some(diff) => planned_stats(diff).total(),
            None => 0,
        };
        // A chunk copied without comparing counts what it copied.
        run.progress.chunk_done(rows.max(written.inserted), changed);
        if run.policy.write && differs {
            run.reporter
                .chunk_copied(&run.plan.name, &describe_chunk(&chunk), &written);
        }
        if !run.sleep.is_zero() {
            // The chunk is done; only the pause is cut short.
            run.stop.unless_stopped(tokio::time::sleep(run.sleep)).await;
        }
        Ok(Some((index, comparison, written)))
    }

    /// One try at a chunk; safe to repeat, since nothing of a chunk is written unless all of it
    /// is.
    async fn attempt(
        &self,
        index: usize,
        chunk: &Chunk,
    ) -> Result<(ChunkComparison, ApplyStats), Failed> {
        let run = &self.run;
        let (target, plan, policy) = (&*run.target, &*run.plan, run.policy);
        let known = self.sums.as_ref().map(|_| self.known_sums(index));
        if let (Some((src, tgt)), false) = (known, self.copy_only) {
            if src == tgt {
                // Summed equal with the rest of the table: nothing to read.
                let comparison = ChunkComparison {
                    source: src,
                    target: tgt,
                    diff: None,
                    present_in_source: Vec::new(),
                    spent: Timings::default(),
                };
                return Ok((comparison, ApplyStats::default()));
            }
        }
        // Everything this chunk reads from the source comes from one snapshot, so the rows copied
        // are the rows compared; later source changes wait for the next run.
        let snapshot = run
            .source
            .snapshot()
            .await
            .context("cannot open a read snapshot on the source")?;
        let source = &snapshot;
        let mut comparison = if self.copy_only {
            copy_without_comparing(chunk)
        } else {
            // Taken, not copied: a try that fails after this narrows the bucket again.
            let listed = self
                .listed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&index);
            let how = match (known, listed) {
                (Some(sums), Some((src, tgt))) => Compare::Listed(sums, src, tgt),
                (Some(sums), None) => Compare::Known(sums),
                (None, _) if self.density.mostly_differing() => Compare::Narrow,
                (None, _) => Compare::Checksums,
            };
            let hints = Hints {
                chunk_rows: plan.chunk_size,
                differing_rate: self.density.differing_rate(),
                remote: run.remote,
            };
            compare_chunk(source, target, plan, chunk, policy.list_keys, how, hints)
                .await
                .with_context(|| format!("comparing chunk {}", describe_chunk(chunk)))?
        };
        if let (Some(diff), true) = (&comparison.diff, policy.delete) {
            comparison.present_in_source = present_in_source(source, plan, diff)
                .await
                .with_context(|| format!("comparing chunk {}", describe_chunk(chunk)))?;
        }
        let copying = Instant::now();
        let written = match self.write(source, chunk, &comparison).await {
            Ok(written) => written,
            Err(error) => {
                // Nothing of the chunk was written, so none of its deletions happened.
                comparison.present_in_source.clear();
                let found = Some((index, comparison, ApplyStats::default()));
                return Err(Failed { error, found });
            }
        };
        comparison.spent.add(Phase::Copy, copying.elapsed());
        if let Err(error) = snapshot
            .finish()
            .await
            .context("closing the source snapshot")
        {
            let found = Some((index, comparison, written));
            return Err(Failed { error, found });
        }
        Ok((comparison, written))
    }

    /// Writes a compared chunk's difference (or, for `sync --dry-run -v`, prints the
    /// statements it would run), reading the source through `source`, the chunk's snapshot.
    async fn write(
        &self,
        source: &Db,
        chunk: &Chunk,
        comparison: &ChunkComparison,
    ) -> Result<ApplyStats> {
        let run = &self.run;
        let (target, plan, policy) = (&*run.target, &*run.plan, run.policy);
        Ok(match &comparison.diff {
            Some(diff) if policy.write => {
                let held = run.held.as_deref();
                apply_chunk(source, target, plan, diff, policy.changes(), held)
                    .await
                    .with_context(|| format!("copying chunk {}", describe_chunk(chunk)))?
            }
            Some(diff) if policy.print_statements && run.reporter.verbose() => {
                let statements = planned_statements(source, target, plan, diff, policy.changes())
                    .await
                    .with_context(|| {
                        format!("reading chunk {} for --dry-run", describe_chunk(chunk))
                    })?;
                for statement in &statements {
                    run.reporter.planned_statement(
                        &plan.name,
                        &describe_chunk(chunk),
                        &describe_statement(statement),
                    );
                }
                ApplyStats::default()
            }
            _ => ApplyStats::default(),
        })
    }
}

/// How often chunks, and rows, of the table have differed so far. When most chunks do (changes
/// spread over the whole table), checksumming a chunk before narrowing it only reads it twice:
/// later chunks then narrow straight away. The rate of differing rows sizes the first level of
/// narrowing.
#[derive(Default)]
struct Density {
    compared: AtomicU64,
    differing: AtomicU64,
    rows: AtomicU64,
    rows_differing: AtomicU64,
}

impl Density {
    /// Chunks seen before the rate is trusted.
    const SAMPLE: u64 = 8;

    fn record(&self, comparison: &ChunkComparison) {
        self.compared.fetch_add(1, Ordering::Relaxed);
        let rows = comparison.source.rows.max(comparison.target.rows);
        self.rows.fetch_add(rows, Ordering::Relaxed);
        if let Some(diff) = &comparison.diff {
            self.differing.fetch_add(1, Ordering::Relaxed);
            let found = planned_stats(diff);
            let differing = (found.inserted + found.updated + found.deleted).min(rows);
            self.rows_differing.fetch_add(differing, Ordering::Relaxed);
        }
    }

    fn mostly_differing(&self) -> bool {
        let compared = self.compared.load(Ordering::Relaxed);
        compared >= Self::SAMPLE && self.differing.load(Ordering::Relaxed) * 2 > compared
    }

    /// The share of compared rows that differed, once any rows were compared.
    fn differing_rate(&self) -> Option<f64> {
        let rows = self.rows.load(Ordering::Relaxed);
        (rows > 0).then(|| self.rows_differing.load(Ordering::Relaxed) as f64 / rows as f64)
    }
}

/// The "comparison" of a chunk that is copied without comparing (`truncate`, empty target).
fn copy_without_comparing(chunk: &Chunk) -> ChunkComparison {
    let none = Checksum { rows: 0, sum: 0 };
    ChunkComparison {
        source: none,
        target: none,
        diff: Some(ChunkDiff {
            chunk: chunk.clone(),
            work: ChunkWork::CopyAll { rows: 0 },
        }),
        present_in_source: Vec::new(),
        spent: Timings::default(),
    }
}

/// Adds one chunk's outcome to the table's report; `list_keys` keeps the differing keys (`diff`).
fn record(
    report: &mut TableReport,
    chunk: usize,
    comparison: &ChunkComparison,
    written: ApplyStats,
    list_keys: bool,
) {
    report.chunks_compared += 1;
    // In truncate mode nothing is counted on the source but what was copied.
    report.rows_source += comparison.source.rows.max(written.inserted);
    report.rows_target += comparison.target.rows;
    report.inserted += written.inserted;
    report.updated += written.updated;
    report.deleted += written.deleted;
    report.bytes_read += written.bytes_read;
    report.bytes_written += written.bytes_written;
    report.deleted_present_in_source += comparison.present_in_source.len() as u64;
    report.timings.merge(&comparison.spent);
    let Some(diff) = &comparison.diff else {
        return;
    };
    report.chunks_differing += 1;
    let found = planned_stats(diff);
    report.rows_only_in_source += found.inserted;
    report.rows_changed += found.updated;
    report.rows_only_in_target += found.deleted;
    if let ChunkWork::Rows {
        only_in_source,
        only_in_target,
        changed,
    } = &diff.work
    {
        if list_keys {
            report.differences.push(ChunkListing {
                chunk,
                range: describe_chunk(&diff.chunk),
                only_in_source: sorted_json(only_in_source),
                only_in_target: sorted_json(only_in_target),
                changed: sorted_json(changed),
                present_in_source: sorted_json(&comparison.present_in_source),
            });
        }
    }
}

/// Keys as JSON: the bare value for a one-column key, an array for a composite one.
fn sorted_json(keys: &[Key]) -> Vec<serde_json::Value> {
    let mut keys: Vec<&Key> = keys.iter().collect();
    keys.sort_by(|a, b| compare_keys(a, b));
    keys.iter()
        .map(|k| match k.as_slice() {
            [one] => serde_json::to_value(one).unwrap_or_default(),
            many => serde_json::to_value(many).unwrap_or_default(),
        })
        .collect()
}

/// `[lower, upper)` or `bucket i of n`, for messages.
pub fn describe_chunk(chunk: &Chunk) -> String {
    match chunk {
        Chunk::Range(range) => describe_range(range),
        Chunk::Bucket { index, of } => format!("bucket {index} of {of}"),
    }
}

fn describe_range(range: &KeyRange) -> String {
    let lower = range
        .lower
        .as_ref()
        .map(key_to_string)
        .unwrap_or_else(|| "-inf".into());
    let upper = range
        .upper
        .as_ref()
        .map(key_to_string)
        .unwrap_or_else(|| "+inf".into());
    format!("[{lower}, {upper})")
}
