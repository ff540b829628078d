//! `dbdelta check`: connect to both sides and plan every table, comparing nothing (but for the
//! source's keys, checked against a coarser target key equality as `sync` would), and run each
//! side's subset query returning no row, so that a `where` or `query` a run would trip over
//! fails here. Every table is checked, however many fail before it.

use crate::collisions::refuse_colliding_keys;
use crate::config::{Job, TableJob};
use crate::engine::{ConnectOptions, Db};
use crate::prepare::{missing_target_file, prepare_table};
use crate::report::error_messages;
use crate::schema::TablePlan;
use crate::words::counted;
use anyhow::{bail, Context, Result};

/// Connects to both sides and checks every table without comparing anything, telling `say` one
/// line per table (and its warnings); fails, after the last table, naming the tables that
/// cannot be synced.
pub async fn check(job: &Job, say: &mut dyn FnMut(&str)) -> Result<()> {
    let (source, target) = tokio::try_join!(
        async {
            Db::connect(&job.source, 1, false, job.connect_timeout)
                .await
                .with_context(|| format!("cannot connect to the source ({})", job.source.display))
        },
        async {
            let options = ConnectOptions {
                timeout: job.connect_timeout,
                disable_integrity: false,
                missing_file: missing_target_file(job, false),
            };
            Db::connect_with(&job.target, 1, &options)
                .await
                .with_context(|| format!("cannot connect to the target ({})", job.target.display))
        },
    )?;
    say(&format!("source: {} ({})", source.display, source.kind));
    say(&format!("target: {} ({})", target.display, target.kind));
    let expanded = super::expand_patterns(job, &source).await?;
    let job = expanded.as_ref().unwrap_or(job);
    let mut failed = Vec::new();
    let mut planned = Vec::new();
    for table in &job.tables {
        match check_table(&source, &target, job, table).await {
            Ok(plan) => {
                let key: Vec<&str> = plan.source.key_columns().map(|c| c.name.as_str()).collect();
                say(&format!(
                    "ok: {}: {} compared, key ({}), mode {}",
                    plan.name,
                    counted(plan.source.columns.len() as u64, "column"),
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
                say(&format!(
                    "FAILED: {}: {}",
                    table.name,
                    error_messages(&e).join(": ")
                ));
                failed.push(table.name.as_str());
            }
        }
    }
    // A rule may match only a column of a table that failed: no warning then.
    if failed.is_empty() {
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
    if !failed.is_empty() {
        bail!(
            "{} of {} cannot be synced: {}",
            failed.len(),
            counted(job.tables.len() as u64, "table"),
            failed.join(", ")
        );
    }
    Ok(())
}

/// One table planned as `sync` would plan it, its source keys checked against the target's key
/// equality, and both sides' subset queries run.
async fn check_table(source: &Db, target: &Db, job: &Job, table: &TableJob) -> Result<TablePlan> {
    let plan = prepare_table(source, target, job, table, false).await?;
    refuse_colliding_keys(source, target, &plan).await?;
    source
        .probe(&plan.source)
        .await
        .with_context(|| format!("the subset of table {} fails on the source", plan.name))?;
    target
        .probe(&plan.target)
        .await
        .with_context(|| format!("the subset of table {} fails on the target", plan.name))?;
    Ok(plan)
}
