//! Orchestration: connect, validate every table before anything is written (`prepare.rs`), then
//! run each table's chunks through compare (and, for `sync`, apply) with at most `jobs` chunks in
//! flight.
//!
//! Tables run one after another, parents before the tables whose foreign keys reference them, and
//! a referenced table's deletions wait until those tables are written (see `order.rs`). Within a
//! table, chunks run concurrently; each chunk reads the source through one snapshot and compares
//! both sides at once, so comparing one chunk overlaps with copying another. A failing table is
//! reported and the run goes on with the next one; the exit code then says that something failed.
//! With `--defer-constraints` all writes go into one target transaction, committed at the end.

use crate::apply::{apply_chunk, planned_statements, planned_stats, ApplyStats, HeldDeletes};
use crate::compare::{compare_chunk, ChunkComparison, ChunkDiff, ChunkWork, Compare};
use crate::config::Job;
use crate::config::{Integrity, Mode};
use crate::engine::{describe_statement, is_transient, Checksum, Chunk, Db, KeyRange};
use crate::order::{write_order, WriteOrder};
use crate::plan::plan_chunks;
use crate::prepare::prepare_table;
use crate::report::{error_messages, ChunkListing, Reporter, RunReport, TableReport};
use crate::schema::TablePlan;
use crate::timings::{Phase, Timings};
use crate::value::{compare_keys, key_to_string, Key};
use anyhow::{bail, Context, Result};
use futures::{StreamExt, TryStreamExt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// What a run does with the differences it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Make the target equal to the source.
    Sync,
    /// Only report the differences.
    Diff,
    /// `sync --dry-run`: check everything `sync` would, list what it would write, write nothing.
    DryRun,
}

impl Command {
    fn name(self) -> &'static str {
        match self {
            Command::Sync => "sync",
            Command::Diff => "diff",
            Command::DryRun => "sync --dry-run",
        }
    }
}

/// Runs a job. An `Err` means nothing could be compared (bad connection, a table that cannot be
/// synced); failures during a table's run are in that table's report instead.
pub async fn run(job: &Job, command: Command, reporter: &Reporter) -> Result<RunReport> {
    let started = Instant::now();
    reporter.run_started(
        command.name(),
        &job.source.display,
        &job.target.display,
        job.tables.len(),
    );
    if command != Command::Diff {
        job.check_writable()?;
    }
    // One connection per concurrent chunk, plus one for planning; `max_connections` may bound
    // the source further (`chunk_jobs` then runs fewer chunks at once).
    let connections = u32::try_from(job.jobs + 1).unwrap_or(u32::MAX);
    let source_connections = job
        .source_connections
        .map_or(connections, |n| u32::try_from(n).unwrap_or(u32::MAX));
    let disable_integrity = job.integrity == Integrity::Disable && command == Command::Sync;
    let (source, target) = tokio::try_join!(
        async {
            Db::connect(&job.source, source_connections, false)
                .await
                .context("source")
        },
        async {
            Db::connect(&job.target, connections, disable_integrity)
                .await
                .context(if disable_integrity {
                    "target (with --disable-integrity, which on PostgreSQL needs a superuser)"
                } else {
                    "target"
                })
        },
    )?;
    let result = run_connected(job, command, reporter, &source, &target, started).await;
    tokio::join!(source.close(), target.close());
    result
}

async fn run_connected(
    job: &Job,
    command: Command,
    reporter: &Reporter,
    source: &Db,
    target: &Db,
    started: Instant,
) -> Result<RunReport> {
    let mut plans = Vec::with_capacity(job.tables.len());
    for table in &job.tables {
        let t0 = Instant::now();
        let plan = prepare_table(
            source,
            target,
            table,
            &job.data_rules,
            command == Command::Sync,
        )
        .await?;
        let mut timings = Timings::default();
        timings.add(Phase::Introspect, t0.elapsed());
        plans.push((plan, timings));
    }
    for (plan, _) in &plans {
        for w in &plan.warnings {
            reporter.warning(&plan.name, w);
        }
    }
    let writing = command == Command::Sync;
    let order = if writing {
        let names: Vec<String> = plans.iter().map(|(p, _)| p.target_name.clone()).collect();
        write_order(target, &names, job.integrity, reporter).await?
    } else {
        WriteOrder::as_listed(plans.len())
    };
    // `--defer-constraints`: every write of the run goes into one target transaction.
    let run_transaction =
        match (writing, job.integrity) {
            (true, Integrity::Defer) => Some(target.run_transaction().await.context(
                "cannot open the run's transaction on the target (--defer-constraints)",
            )?),
            _ => None,
        };
    let target = run_transaction.as_ref().unwrap_or(target);
    let mut reports: Vec<Option<TableReport>> = plans.iter().map(|_| None).collect();
    let mut held: Vec<Option<HeldDeletes>> = plans.iter().map(|_| None).collect();
    for &i in &order.tables {
        let (plan, timings) = &plans[i];
        reporter.table_started(&plan.name);
        let t0 = Instant::now();
        let mut report = TableReport {
            table: plan.name.clone(),
            warnings: plan.warnings.clone(),
            timings: *timings,
            ..Default::default()
        };
        let holding = order.delete_last[i].then(std::sync::Mutex::<HeldDeletes>::default);
        let outcome = while_locked(target, plan, command, job, async {
            let outcome = run_table(
                source,
                target,
                plan,
                command,
                job,
                reporter,
                &mut report,
                holding.as_ref(),
            )
            .await;
            // Also after a failed table: the chunks it did write may hold new keys.
            if command == Command::Sync && job.sequences {
                return outcome.and(advance_sequences(target, plan, reporter).await);
            }
            outcome
        })
        .await;
        match outcome {
            Ok(()) => {
                held[i] = holding.map(|h| {
                    h.into_inner()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                })
            }
            Err(e) => report.error = Some(error_messages(&e).join(": ")),
        }
        report.seconds = t0.elapsed().as_secs_f64();
        if held[i].is_none() {
            reporter.table_finished(&report, writing);
        }
        reports[i] = Some(report);
    }
    // Rows that other tables of the run may still have referenced go last, children first.
    for &i in order.tables.iter().rev() {
        let (Some(deletes), Some(report)) = (held[i].take(), reports[i].as_mut()) else {
            continue;
        };
        let t0 = Instant::now();
        let plan = &plans[i].0;
        let outcome = while_locked(target, plan, command, job, async {
            deletes
                .apply(target, plan)
                .await
                .context("deleting rows after the tables that reference them")
        })
        .await;
        match outcome {
            Ok(deleted) => report.deleted += deleted,
            Err(e) => report.error = Some(error_messages(&e).join(": ")),
        }
        report.seconds += t0.elapsed().as_secs_f64();
        reporter.table_finished(report, writing);
    }
    let tables: Vec<TableReport> = order
        .tables
        .iter()
        .filter_map(|&i| reports[i].take())
        .collect();
    if let Some(run_transaction) = run_transaction {
        if let Some(failed) = tables.iter().find(|t| t.error.is_some()) {
            bail!(
                "table {} failed, so the run's transaction was rolled back (--defer-constraints); \
                 nothing was written",
                failed.table
            );
        }
        run_transaction
            .finish()
            .await
            .context("the target refused to commit the run (--defer-constraints): a foreign key may still be violated; nothing was written")?;
    }
    let in_sync = tables
        .iter()
        .all(|t| t.error.is_none() && (command != Command::Diff || t.chunks_differing == 0));
    Ok(RunReport::new(
        command.name(),
        in_sync,
        started.elapsed().as_secs_f64(),
        tables,
    ))
}

/// Runs `work` holding, for `sync`, the lock that keeps overlapping runs (a cron job that ran
/// long) from interleaving their writes to the table.
async fn while_locked<T>(
    target: &Db,
    plan: &TablePlan,
    command: Command,
    job: &Job,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let lock = match command {
        Command::Sync => Some(
            target
                .lock_table(&plan.target.table, job.lock_timeout)
                .await?,
        ),
        _ => None,
    };
    let outcome = work.await;
    if let Some(lock) = lock {
        lock.release().await;
    }
    outcome
}

async fn advance_sequences(target: &Db, plan: &TablePlan, reporter: &Reporter) -> Result<()> {
    let Some(pg) = target.postgres() else {
        // MySQL and SQLite raise their counters by themselves on explicit inserts.
        return Ok(());
    };
    for (sequence, value) in pg.advance_sequences(&plan.target).await? {
        reporter.sequence_advanced(&plan.name, &sequence, value);
    }
    Ok(())
}

/// `dbdelta check`: connects to both sides and plans every table without comparing anything,
/// telling `say` one line per table (and its warnings); fails with the first reason a table
/// cannot be synced.
pub async fn check(job: &Job, say: &mut dyn FnMut(&str)) -> Result<()> {
    let (source, target) = tokio::try_join!(
        async { Db::connect(&job.source, 1, false).await.context("source") },
        async { Db::connect(&job.target, 1, false).await.context("target") },
    )?;
    say(&format!("source: {} ({})", source.display, source.kind));
    say(&format!("target: {} ({})", target.display, target.kind));
    let mut result = Ok(());
    let mut planned = Vec::new();
    for table in &job.tables {
        match prepare_table(&source, &target, table, &job.data_rules, false).await {
            Ok(plan) => {
                let key: Vec<&str> = plan.source.key_columns().map(|c| c.name.as_str()).collect();
                say(&format!(
                    "ok: {}: {} columns compared, key ({}), mode {}",
                    plan.name,
                    plan.source.columns.len(),
                    key.join(", "),
                    plan.mode
                ));
                if let Some(rules) = &plan.rules {
                    say(&format!("  data rules: {}", rules.describe().join(", ")));
                }
                for w in &plan.warnings {
                    say(&format!("  warning: {w}"));
                }
                planned.push(plan);
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    if result.is_ok() {
        let tables: Vec<(&str, Vec<&str>)> = planned
            .iter()
            .map(|p| {
                let columns = p.source.columns.iter().map(|c| c.name.as_str()).collect();
                (p.name.as_str(), columns)
            })
            .collect();
        for spec in job.data_rules.unused(&tables) {
            say(&format!(
                "warning: data rule `{}` ({}) matches no column of the tables checked",
                spec.written, spec.position
            ));
        }
    }
    tokio::join!(source.close(), target.close());
    result
}

/// Compares (and for `sync`, writes) one table; with `held`, its deletions are collected there
/// instead of written.
#[allow(clippy::too_many_arguments)]
async fn run_table(
    source: &Db,
    target: &Db,
    plan: &TablePlan,
    command: Command,
    job: &Job,
    reporter: &Reporter,
    report: &mut TableReport,
    held: Option<&std::sync::Mutex<HeldDeletes>>,
) -> Result<()> {
    let writing = command == Command::Sync;
    // `truncate` empties the target's subset first; every chunk is then a plain copy.
    let truncating = writing && plan.mode == Mode::Truncate;
    if truncating {
        let t0 = Instant::now();
        report.deleted = target
            .delete_subset(&plan.target)
            .await
            .context("emptying the target's subset")?;
        report.timings.add(Phase::Copy, t0.elapsed());
    }
    let planning = Instant::now();
    // A first load (or `truncate`) has nothing to compare with: every chunk is a plain copy.
    let copy_only = truncating
        || (writing
            && target
                .is_empty(&plan.target)
                .await
                .context("looking for rows in the target")?);
    let layout = plan_chunks(source, target, &plan.source, &plan.target, plan.chunk_size).await?;
    let chunks = layout.chunks;
    report.chunks = chunks.len() as u64;
    report.timings.add(Phase::Plan, planning.elapsed());
    let summing = Instant::now();
    // Where the layout allows, every chunk is summed in one grouped scan per side rather than a
    // query per chunk.
    let grouped_sums = match layout.grouping {
        Some(grouping) if !copy_only => Some(tokio::try_join!(
            async {
                plan.source_on(source)
                    .grouped_checksums(grouping)
                    .await
                    .context("checksums on the source")
            },
            async {
                plan.target_on(target)
                    .grouped_checksums(grouping)
                    .await
                    .context("checksums on the target")
            },
        )?),
        _ => None,
    };
    if grouped_sums.is_some() {
        report.timings.add(Phase::Checksum, summing.elapsed());
    }
    let grouped_sums = &grouped_sums;
    let progress = reporter.table(&plan.name, report.chunks, writing);
    let progress = &progress;
    let density = &Density::default();

    let outcomes = futures::stream::iter(chunks.iter().enumerate())
        .map(|(index, chunk)| async move {
            let known = grouped_sums.as_ref().map(|(src, tgt)| {
                let empty = Checksum { rows: 0, sum: 0 };
                let at = index as u64;
                (
                    src.get(&at).copied().unwrap_or(empty),
                    tgt.get(&at).copied().unwrap_or(empty),
                )
            });
            // One chunk, compared and (for `sync`) applied; safe to repeat, since nothing of a
            // chunk is written unless all of it is.
            let attempt = || async {
                // Everything this chunk reads from the source comes from one snapshot, so the
                // rows copied are the rows compared; later source changes wait for the next run.
                let snapshot = source
                    .snapshot()
                    .await
                    .context("cannot open a read snapshot on the source")?;
                let source = &snapshot;
                let mut comparison = if copy_only {
                    copy_without_comparing(chunk)
                } else {
                    let how = match known {
                        Some(sums) => Compare::Known(sums),
                        None if density.mostly_differing() => Compare::RowByRow,
                        None => Compare::Checksums,
                    };
                    compare_chunk(source, target, plan, chunk, !writing, how)
                        .await
                        .with_context(|| format!("comparing chunk {}", describe_chunk(chunk)))?
                };
                let copying = Instant::now();
                let written = match (&comparison.diff, command) {
                    (Some(diff), Command::Sync) => apply_chunk(source, target, plan, diff, held)
                        .await
                        .with_context(|| format!("copying chunk {}", describe_chunk(chunk)))?,
                    (Some(diff), Command::DryRun) if reporter.verbose() => {
                        let statements = planned_statements(source, target, plan, diff)
                            .await
                            .with_context(|| {
                                format!("reading chunk {} for --dry-run", describe_chunk(chunk))
                            })?;
                        for statement in &statements {
                            reporter.planned_statement(
                                &plan.name,
                                &describe_chunk(chunk),
                                &describe_statement(statement),
                            );
                        }
                        ApplyStats::default()
                    }
                    _ => ApplyStats::default(),
                };
                comparison.spent.add(Phase::Copy, copying.elapsed());
                snapshot
                    .finish()
                    .await
                    .context("closing the source snapshot")?;
                Ok::<_, anyhow::Error>((comparison, written))
            };
            let mut retries = 0;
            let (comparison, written) = loop {
                match attempt().await {
                    Ok(done) => break done,
                    Err(e)
                        if retries < RETRIES && is_transient(&[source.kind, target.kind], &e) =>
                    {
                        retries += 1;
                        let pause = RETRY_PAUSE * 2u32.pow(retries - 1);
                        reporter.chunk_retried(
                            &plan.name,
                            &describe_chunk(chunk),
                            retries,
                            RETRIES,
                            &error_messages(&e).join(": "),
                            pause,
                        );
                        tokio::time::sleep(pause).await;
                    }
                    Err(e) => return Err(e),
                }
            };
            density.record(comparison.diff.is_some());
            progress.compared(comparison.diff.is_some());
            if writing && comparison.diff.is_some() {
                progress.copied();
                reporter.chunk_copied(&plan.name, &describe_chunk(chunk), &written);
            }
            if !job.sleep.is_zero() {
                tokio::time::sleep(job.sleep).await;
            }
            Ok::<_, anyhow::Error>((index, comparison, written))
        })
        .buffer_unordered(job.chunk_jobs());
    let result = outcomes
        .try_for_each(|(index, comparison, written)| {
            record(report, index, &comparison, written, !writing);
            futures::future::ready(Ok(()))
        })
        .await;
    progress.finish();
    // Listings in key order read better than completion order.
    report.differences.sort_by_key(|listing| listing.chunk);
    result
}

/// A chunk whose connection was lost is tried again this many times, after pauses of
/// `RETRY_PAUSE`, twice that, four times that.
const RETRIES: u32 = 3;
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(500);

/// How often chunks of the table have differed so far. When most do (changes spread over the
/// whole table), checksumming a chunk before listing its rows only reads it twice: later chunks
/// then go straight to the `(key, row hash)` lists, one pass per side.
#[derive(Default)]
struct Density {
    compared: AtomicU64,
    differing: AtomicU64,
}

impl Density {
    /// Chunks seen before the rate is trusted.
    const SAMPLE: u64 = 8;

    fn record(&self, differs: bool) {
        self.compared.fetch_add(1, Ordering::Relaxed);
        if differs {
            self.differing.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn mostly_differing(&self) -> bool {
        let compared = self.compared.load(Ordering::Relaxed);
        compared >= Self::SAMPLE && self.differing.load(Ordering::Relaxed) * 2 > compared
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
    // In truncate mode nothing is counted on the source but what was copied.
    report.rows_source += comparison.source.rows.max(written.inserted);
    report.rows_target += comparison.target.rows;
    report.inserted += written.inserted;
    report.updated += written.updated;
    report.deleted += written.deleted;
    report.bytes_read += written.bytes_read;
    report.bytes_written += written.bytes_written;
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
