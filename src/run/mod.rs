//! Orchestration: connect, validate every table before anything is written (`prepare.rs`), then
//! run each table's chunks through compare (and, for `sync`, apply), with at most
//! [`Job::chunk_jobs`] chunks in flight, until done or stopped.
//!
//! Tables run one after another, parents before the tables whose foreign keys reference them, and
//! a referenced table's deletions wait until those tables are written (see `order.rs`). Within a
//! table, every chunk is a task of its own holding a permit of one semaphore, so comparing one
//! chunk overlaps with copying another and in-process hashing spreads over the cores; each chunk
//! reads the source through one snapshot and writes the target in one transaction. A failing
//! table is reported and the run goes on with the next one; the exit code then says that
//! something failed. With `--defer-constraints` all writes go into one target transaction,
//! committed at the end.
//!
//! What each command does to each table's mode is decided in one place, [`Policy::of`]; how a
//! run stops early (Ctrl-C, SIGTERM) is one path too, [`shutdown`].
//!
//! # Layout
//!
//! ```text
//! mod.rs       run: connect, prepare the tables, order them, the table loop, held deletions,
//!              the --defer-constraints transaction
//! policy.rs    Command, Policy::of(command, mode): what a run does, one row per pair
//! table.rs     one table: truncate, plan, checksums, chunk tasks under the semaphore, retries
//! shutdown.rs  Stop: SIGINT / SIGTERM broadcast to every task
//! check.rs     `dbdelta check`: connect and plan, compare nothing
//! ```

mod check;
mod policy;
pub mod shutdown;
mod table;

pub use check::check;
pub use policy::{Command, Policy};
pub use shutdown::{stop_on_signals, Stop};

use crate::apply::HeldDeletes;
use crate::collisions::refuse_colliding_keys;
use crate::config::{Integrity, Job, REMOTE_ROUND_TRIP};
use crate::create::{add_foreign_keys, Creation};
use crate::engine::{ConnectOptions, Db};
use crate::order::{write_order, WriteOrder};
use crate::prepare::{missing_target_file, prepare_table};
use crate::report::{error_messages, HeldDeletions, Reporter, RunReport, Signal, TableReport};
use crate::schema::TablePlan;
use crate::timings::{Phase, Timings};
use anyhow::{anyhow, bail, Context, Result};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;
use table::TableRun;
use tokio::sync::Semaphore;

/// The command name a `sync --schema-only` report carries.
pub const SCHEMA_ONLY: &str = "sync --schema-only";

/// Runs a job to the end. An `Err` means nothing could be compared (bad connection, a table that
/// cannot be synced); failures during a table's run are in that table's report instead.
pub async fn run(job: &Job, command: Command, reporter: &Reporter) -> Result<RunReport> {
    run_until(job, command, reporter, Stop::never()).await
}

/// Runs a job until done or until `stop` comes; a stopped run finishes the chunks in flight,
/// starts nothing new, and returns its partial report marked as interrupted.
pub async fn run_until(
    job: &Job,
    command: Command,
    reporter: &Reporter,
    stop: Stop,
) -> Result<RunReport> {
    let started = Instant::now();
    let policy = Policy::run(command);
    reporter.run_started(
        command.name(),
        &job.source.display,
        &job.target.display,
        job.tables.len(),
    );
    if policy.guard_target {
        job.check_writable()?;
    }
    // One connection per concurrent chunk, plus one for planning; `max_connections` may bound
    // the source further (`chunk_jobs` then runs fewer chunks at once).
    let connections = u32::try_from(job.connections()).unwrap_or(u32::MAX);
    let source_connections = job
        .source_connections
        .map_or(connections, |n| u32::try_from(n).unwrap_or(u32::MAX));
    let disable_integrity = job.integrity == Integrity::Disable && policy.write;
    let connecting = async {
        tokio::try_join!(
            async {
                Db::connect(&job.source, source_connections, false, job.connect_timeout)
                    .await
                    .with_context(|| {
                        format!("cannot connect to the source ({})", job.source.display)
                    })
            },
            async {
                let options = ConnectOptions {
                    timeout: job.connect_timeout,
                    disable_integrity,
                    missing_file: missing_target_file(job, policy.write),
                };
                Db::connect_with(&job.target, connections, &options)
                    .await
                    .with_context(|| {
                        format!(
                            "cannot connect to the target ({}){}",
                            job.target.display,
                            if disable_integrity {
                                " with --disable-integrity, which on PostgreSQL needs a superuser"
                            } else {
                                ""
                            }
                        )
                    })
            },
        )
    };
    // Connecting writes nothing, so a stop abandons it.
    let Some(connected) = stop.unless_stopped(connecting).await else {
        return Ok(interrupted_before_tables(command, job, started, &stop));
    };
    let (source, target) = connected?;
    let remote = source
        .round_trip()
        .await
        .context("cannot reach the source")?
        >= REMOTE_ROUND_TRIP;
    let expanded = expand_patterns(job, &source).await?;
    if let Some(expanded) = &expanded {
        reporter.tables_expanded(expanded.tables.len());
    }
    let job = expanded.as_ref().unwrap_or(job);
    let (source, target) = (Arc::new(source), Arc::new(target));
    let sides = Sides {
        source: &source,
        target: &target,
        chunk_jobs: job.chunk_jobs(remote),
        remote,
    };
    let result = run_connected(job, command, reporter, sides, started, &stop).await;
    tokio::join!(source.close(), target.close());
    result
}

/// The job with its table-name patterns matched against the source's tables (`None` when it has
/// none, so that listing the source's tables is skipped).
pub(crate) async fn expand_patterns(job: &Job, source: &Db) -> Result<Option<Job>> {
    if !job.has_patterns() {
        return Ok(None);
    }
    let tables = source.list_tables().await?;
    job.expand(&tables).map(Some)
}

/// The report of a run stopped before any table started.
fn interrupted_before_tables(
    command: Command,
    job: &Job,
    started: Instant,
    stop: &Stop,
) -> RunReport {
    let mut report = RunReport::new(
        command.name(),
        false,
        started.elapsed().as_secs_f64(),
        vec![],
    );
    report.not_started = job.tables.iter().map(|t| t.name.clone()).collect();
    match stop.requested() {
        Some(signal) => report.interrupted_by(signal),
        None => report,
    }
}

/// Both connected sides, and how many chunks may run at once between them.
struct Sides<'a> {
    source: &'a Arc<Db>,
    target: &'a Arc<Db>,
    chunk_jobs: usize,
    /// The source is 5 ms or more away.
    remote: bool,
}

async fn run_connected(
    job: &Job,
    command: Command,
    reporter: &Reporter,
    sides: Sides<'_>,
    started: Instant,
    stop: &Stop,
) -> Result<RunReport> {
    let Sides {
        source,
        target,
        chunk_jobs,
        remote,
    } = sides;
    let run_policy = Policy::run(command);
    let Some(plans) = plan_tables(job, run_policy, reporter, source, target, stop).await? else {
        return Ok(interrupted_before_tables(command, job, started, stop));
    };
    if job.schema_only && run_policy.write {
        // Preparing created what was missing; no row is compared or copied.
        let tables = plans
            .iter()
            .map(|(plan, timings)| TableReport {
                table: plan.name.clone(),
                warnings: plan.warnings.clone(),
                timings: *timings,
                created: matches!(plan.creation, Creation::Created { .. }),
                ..Default::default()
            })
            .collect();
        let elapsed = started.elapsed().as_secs_f64();
        return Ok(RunReport::new(SCHEMA_ONLY, true, elapsed, tables));
    }
    let order = if run_policy.write {
        let names: Vec<String> = plans.iter().map(|(p, _)| p.target_name.clone()).collect();
        write_order(target, &names, job.integrity, reporter).await?
    } else {
        WriteOrder::as_listed(plans.len())
    };
    // `--defer-constraints`: every write of the run goes into one target transaction.
    let run_transaction =
        match (run_policy.write, job.integrity) {
            (true, Integrity::Defer) => Some(Arc::new(target.run_transaction().await.context(
                "cannot open the run's transaction on the target (--defer-constraints)",
            )?)),
            _ => None,
        };
    let writer = run_transaction.clone().unwrap_or_else(|| target.clone());
    let tables = Tables {
        job,
        command,
        reporter,
        source,
        writer: &writer,
        stop,
        plans: &plans,
        chunk_jobs,
        remote,
    };
    let (mut reports, held) = tables.run(&order).await;
    tables.delete_held(&order, held, &mut reports).await;
    let not_started: Vec<String> = order
        .tables
        .iter()
        .filter(|&&i| reports[i].is_none())
        .map(|&i| plans[i].0.name.clone())
        .collect();
    let mut tables: Vec<TableReport> = order
        .tables
        .iter()
        .filter_map(|&i| reports[i].take())
        .collect();
    let signal = stop.requested();
    drop(writer);
    let rolled_back = match run_transaction {
        Some(run_transaction) => {
            finish_run_transaction(run_transaction, &mut tables, signal, reporter).await?
        }
        None => false,
    };
    let in_sync = tables
        .iter()
        .all(|t| t.error.is_none() && (!run_policy.differences_fail || t.chunks_differing == 0));
    let mut report = RunReport::new(
        command.name(),
        in_sync,
        started.elapsed().as_secs_f64(),
        tables,
    );
    report.rolled_back = rolled_back;
    report.not_started = not_started;
    Ok(match signal {
        Some(signal) => report.interrupted_by(signal),
        None => report,
    })
}

/// Every table prepared (introspected, matched, created where missing, its source keys checked
/// against a coarser target key equality) before anything is written, with the time it took,
/// and its warnings told; `None` when a stop came first.
/// Preparing may create a missing table, so it is not cut short, only not begun.
async fn plan_tables(
    job: &Job,
    run_policy: Policy,
    reporter: &Reporter,
    source: &Db,
    target: &Db,
    stop: &Stop,
) -> Result<Option<Vec<(Arc<TablePlan>, Timings)>>> {
    let mut plans = Vec::with_capacity(job.tables.len());
    for table in &job.tables {
        if stop.requested().is_some() {
            return Ok(None);
        }
        let t0 = Instant::now();
        let plan = prepare_table(source, target, job, table, run_policy.write).await?;
        if run_policy.refuse_key_collisions {
            refuse_colliding_keys(source, target, &plan).await?;
        }
        let mut timings = Timings::default();
        timings.add(Phase::Introspect, t0.elapsed());
        plans.push((plan, timings));
    }
    // Every table exists now: the foreign keys of those just created can point at each other.
    for (plan, _) in &mut plans {
        let refused = add_foreign_keys(target, &plan.creation).await;
        plan.warnings.extend(refused);
    }
    let plans: Vec<(Arc<TablePlan>, Timings)> = plans
        .into_iter()
        .map(|(plan, timings)| (Arc::new(plan), timings))
        .collect();
    for (plan, _) in &plans {
        for w in &plan.warnings {
            reporter.warning(&plan.name, w);
        }
    }
    Ok(Some(plans))
}

/// Commits the `--defer-constraints` transaction, or rolls it back after a stop (returns `true`)
/// or a failed table (an error: nothing was written).
async fn finish_run_transaction(
    run_transaction: Arc<Db>,
    tables: &mut [TableReport],
    signal: Option<Signal>,
    reporter: &Reporter,
) -> Result<bool> {
    let run_transaction = Arc::try_unwrap(run_transaction)
        .map_err(|_| anyhow!("the run's transaction is still in use after every table"))?;
    if let Some(signal) = signal {
        drop(run_transaction);
        roll_back(tables, signal, reporter);
        return Ok(true);
    }
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
    Ok(false)
}

/// The tables of one run, and what they share.
struct Tables<'a> {
    job: &'a Job,
    command: Command,
    reporter: &'a Reporter,
    source: &'a Arc<Db>,
    /// The target, or the run's transaction on it (`--defer-constraints`).
    writer: &'a Arc<Db>,
    stop: &'a Stop,
    plans: &'a [(Arc<TablePlan>, Timings)],
    /// Chunks at once (`Job::chunk_jobs`).
    chunk_jobs: usize,
    /// The source is 5 ms or more away.
    remote: bool,
}

impl Tables<'_> {
    /// Runs the tables in write order until a stop: each table's report (by plan position), and
    /// the deletions held for after the tables that reference it.
    async fn run(
        &self,
        order: &WriteOrder,
    ) -> (Vec<Option<TableReport>>, Vec<Option<HeldDeletes>>) {
        // The one limit on chunks in flight, shared by every table of the run.
        let chunk_slots = Arc::new(Semaphore::new(self.chunk_jobs));
        let mut reports: Vec<Option<TableReport>> = self.plans.iter().map(|_| None).collect();
        let mut held: Vec<Option<HeldDeletes>> = self.plans.iter().map(|_| None).collect();
        for &i in &order.tables {
            if self.stop.requested().is_some() {
                break;
            }
            let holds = order.delete_last[i];
            let (report, deletes) = self.run_table(i, holds, &chunk_slots).await;
            held[i] = deletes;
            reports[i] = Some(report);
        }
        (reports, held)
    }

    /// One table, under its lock; its report is told as its own pass ends, with the deletions
    /// it holds for after the tables that reference it.
    async fn run_table(
        &self,
        i: usize,
        holds: bool,
        chunk_slots: &Arc<Semaphore>,
    ) -> (TableReport, Option<HeldDeletes>) {
        let (plan, timings) = &self.plans[i];
        let (job, reporter, stop) = (self.job, self.reporter, self.stop);
        let policy = Policy::of(self.command, plan.mode);
        reporter.table_started(&plan.name);
        let t0 = Instant::now();
        let mut report = TableReport {
            table: plan.name.clone(),
            warnings: plan.warnings.clone(),
            timings: *timings,
            created: matches!(plan.creation, Creation::Created { .. }),
            ..Default::default()
        };
        let holding =
            (policy.hold_deletions && holds).then(|| Arc::new(Mutex::new(HeldDeletes::default())));
        let waiting = if policy.write {
            "waiting for its lock"
        } else {
            "planning"
        };
        let table = TableRun {
            progress: reporter.table(&plan.name, policy.write, waiting),
            source: self.source.clone(),
            target: self.writer.clone(),
            plan: plan.clone(),
            policy,
            reporter: reporter.clone(),
            held: holding.clone(),
            sleep: job.sleep,
            stop: stop.clone(),
            slots: chunk_slots.clone(),
            remote: self.remote,
        };
        let writer = self.writer;
        let received = (self.source.bytes_received(), writer.bytes_received());
        let outcome = while_locked(writer, plan, policy, job, stop, async {
            let outcome = table::run_table(table, &mut report).await;
            // Also after a failed or interrupted table: the chunks it did write may hold new keys.
            if policy.write && job.sequences {
                return outcome.and(advance_sequences(writer, plan, reporter).await);
            }
            outcome
        })
        .await;
        match outcome {
            Ok(Some(())) => {}
            Ok(None) => report.interrupted = true,
            Err(e) => report.error = Some(error_messages(&e).join(": ")),
        }
        warn_deleted_present_in_source(&mut report, policy, reporter);
        let held = match holding {
            Some(h) if report.error.is_none() && !report.interrupted => Some(std::mem::take(
                &mut *h.lock().unwrap_or_else(PoisonError::into_inner),
            )),
            _ => None,
        };
        report.seconds = t0.elapsed().as_secs_f64();
        report.bytes_from_source = self.source.bytes_received() - received.0;
        report.bytes_from_target = writer.bytes_received() - received.1;
        // Every deletion the table found waits for the tables that reference it.
        let waiting = held.as_ref().map_or(0, |_| report.rows_only_in_target);
        reporter.table_finished(&report, policy.write, waiting);
        (report, held)
    }

    /// Rows that other tables of the run may still have referenced go last, children first.
    async fn delete_held(
        &self,
        order: &WriteOrder,
        mut held: Vec<Option<HeldDeletes>>,
        reports: &mut [Option<TableReport>],
    ) {
        for &i in order.tables.iter().rev() {
            let (Some(deletes), Some(report)) = (held[i].take(), reports[i].as_mut()) else {
                continue;
            };
            let plan = &self.plans[i].0;
            let policy = Policy::of(self.command, plan.mode);
            // Stopped: the tables that reference this one may be half done, so its deletions
            // wait for the next run.
            if self.stop.requested().is_some() {
                report.interrupted = true;
                self.reporter
                    .held_deletions(&report.table, HeldDeletions::Skipped, 0.0);
                continue;
            }
            let t0 = Instant::now();
            let writer = self.writer;
            let outcome = while_locked(writer, plan, policy, self.job, self.stop, async {
                deletes
                    .apply(writer, plan)
                    .await
                    .context("deleting rows after the tables that reference them")
            })
            .await;
            let seconds = t0.elapsed().as_secs_f64();
            report.seconds += seconds;
            let told = match outcome {
                Ok(Some(deleted)) => {
                    report.deleted += deleted;
                    HeldDeletions::Applied(deleted)
                }
                Ok(None) => {
                    report.interrupted = true;
                    HeldDeletions::Skipped
                }
                Err(e) => {
                    report.error = Some(error_messages(&e).join(": "));
                    HeldDeletions::Failed(report.error.as_deref().unwrap_or_default())
                }
            };
            self.reporter.held_deletions(&report.table, told, seconds);
        }
    }
}

/// A deletion of a row the source still holds, outside its subset, is done (the target must equal
/// the source's subset) but never silent: a warning naming the table and the likely reasons,
/// also kept in the table's report.
fn warn_deleted_present_in_source(report: &mut TableReport, policy: Policy, reporter: &Reporter) {
    let n = report.deleted_present_in_source;
    if n == 0 {
        return;
    }
    let (what, listed) = if policy.write {
        (
            "deleted from the target",
            "`sync --dry-run` lists such keys",
        )
    } else {
        (
            "to delete from the target",
            "they are listed as `still in the source`",
        )
    };
    let (are, these_rows) = if n == 1 {
        ("is", "this row")
    } else {
        ("are", "these rows")
    };
    let message = format!(
        "{n} of the rows {what} {are} still in the source, outside its subset: either the two \
         sides disagree on which rows the `where` selects (text compared under different \
         collations, say), or {these_rows} left the subset since the last sync; {listed}"
    );
    reporter.warning(&report.table, &message);
    report.warnings.push(message);
}

/// An interrupted `--defer-constraints` run: its transaction (already dropped, so rolled back)
/// wrote nothing, whatever its tables counted.
fn roll_back(tables: &mut [TableReport], signal: Signal, reporter: &Reporter) {
    for table in tables.iter_mut() {
        table.inserted = 0;
        table.updated = 0;
        table.deleted = 0;
        table.deleted_present_in_source = 0;
        table.bytes_written = 0;
    }
    reporter.run_rolled_back(&format!(
        "interrupted ({}): the run's transaction was rolled back (--defer-constraints); nothing was written",
        signal.name()
    ));
}

/// Runs `work` holding, when the run writes, the lock that keeps overlapping runs (a cron job
/// that ran long) from interleaving their writes to the table. `None` when a stop came while
/// waiting for the lock: then nothing ran.
async fn while_locked<T>(
    target: &Db,
    plan: &TablePlan,
    policy: Policy,
    job: &Job,
    stop: &Stop,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<Option<T>> {
    let lock = if policy.write {
        // Waiting for the lock holds nothing yet, so a stop ends the wait.
        match stop
            .unless_stopped(target.lock_table(&plan.target.table, job.lock_timeout))
            .await
        {
            Some(lock) => Some(lock?),
            None => return Ok(None),
        }
    } else {
        None
    };
    let outcome = work.await;
    if let Some(lock) = lock {
        lock.release().await;
    }
    outcome.map(Some)
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
