//! Applying one chunk's difference to the target, in one target transaction: a crash or an error
//! leaves the chunk as it was. Rows are fetched from the source only for the keys that need them.

use crate::compare::{ChunkDiff, ChunkWork};
use crate::engine::Db;
use crate::schema::TablePlan;
use crate::value::Key;
use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::HashSet;

/// Rows written to the target.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct ApplyStats {
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
}

impl ApplyStats {
    pub fn add(&mut self, other: ApplyStats) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.deleted += other.deleted;
    }

    pub fn total(&self) -> u64 {
        self.inserted + self.updated + self.deleted
    }
}

/// What applying `diff` writes, without writing it.
pub fn planned_stats(diff: &ChunkDiff) -> ApplyStats {
    match &diff.work {
        ChunkWork::CopyAll { rows } => ApplyStats {
            inserted: *rows,
            ..Default::default()
        },
        ChunkWork::DeleteAll { rows } => ApplyStats {
            deleted: *rows,
            ..Default::default()
        },
        ChunkWork::Rows {
            only_in_source,
            only_in_target,
            changed,
        } => ApplyStats {
            inserted: only_in_source.len() as u64,
            updated: changed.len() as u64,
            deleted: only_in_target.len() as u64,
        },
    }
}

/// Makes the target's chunk equal to the source's, and returns what was written: rows that left
/// the source since the comparison are not counted (the next run will see them).
pub async fn apply_chunk(
    source: &Db,
    target: &Db,
    plan: &TablePlan,
    diff: &ChunkDiff,
) -> Result<ApplyStats> {
    let (statements, stats) = match &diff.work {
        ChunkWork::CopyAll { .. } => {
            let rows = source
                .rows_in_range(&plan.source, &diff.range)
                .await
                .context("reading the chunk from the source")?;
            let stats = ApplyStats {
                inserted: rows.len() as u64,
                ..Default::default()
            };
            (
                target.change_statements(&plan.target, None, &[], &rows),
                stats,
            )
        }
        ChunkWork::DeleteAll { .. } => (
            target.change_statements(&plan.target, Some(&diff.range), &[], &[]),
            planned_stats(diff),
        ),
        ChunkWork::Rows {
            only_in_source,
            only_in_target,
            changed,
        } => {
            let wanted: Vec<_> = only_in_source.iter().chain(changed).cloned().collect();
            let rows = source
                .rows_by_keys(&plan.source, &wanted)
                .await
                .context("reading changed rows from the source")?;
            let new: HashSet<&Key> = only_in_source.iter().collect();
            let inserted = rows
                .iter()
                .filter(|row| {
                    new.contains(
                        &plan
                            .source
                            .key
                            .iter()
                            .map(|&i| row[i].clone())
                            .collect::<Key>(),
                    )
                })
                .count() as u64;
            let stats = ApplyStats {
                inserted,
                updated: rows.len() as u64 - inserted,
                deleted: only_in_target.len() as u64,
            };
            (
                target.change_statements(&plan.target, None, only_in_target, &rows),
                stats,
            )
        }
    };
    target
        .execute_in_transaction(&statements)
        .await
        .context("writing the chunk to the target")?;
    Ok(stats)
}
