//! Applying one chunk's difference to the target, in one target transaction: a crash or an error
//! leaves the chunk as it was. Rows are fetched from the source only for the keys that need them.

use crate::compare::{ChunkDiff, ChunkWork};
use crate::convert::fit_row;
use crate::engine::{Chunk, Db, Identity, Statement};
use crate::schema::TablePlan;
use crate::value::{key_to_string, rows_size, Key, Value};
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::collections::HashSet;

/// Rows written to the target, and the size of the row data moved to write them.
///
/// Bytes are counted cheaply, from values already in memory: the sum of the values' encoded
/// sizes (8 for integers and floats, 1 for booleans, 0 for NULL, the byte length of texts and
/// binaries), read from the source and, after any conversion between engines, written to the
/// target. Rows piped between PostgreSQL servers count their `COPY` text on both sides. Deletes
/// move no row data and count no bytes.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct ApplyStats {
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
}

impl ApplyStats {
    pub fn add(&mut self, other: ApplyStats) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.deleted += other.deleted;
        self.bytes_read += other.bytes_read;
        self.bytes_written += other.bytes_written;
    }

    pub fn total(&self) -> u64 {
        self.inserted + self.updated + self.deleted
    }
}

/// Which of a chunk's differences are written: the table's mode as the run's policy reads it
/// (`run::Policy::changes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Changes {
    /// Rows only in the source.
    pub insert: bool,
    /// Rows that differ.
    pub update: bool,
    /// Rows only in the target.
    pub delete: bool,
}

/// Deletions held back until the tables that reference this one have been written (see
/// `run/`): whole chunks, and single keys.
#[derive(Debug, Default)]
pub struct HeldDeletes {
    pub chunks: Vec<Chunk>,
    pub keys: Vec<Key>,
}

impl HeldDeletes {
    /// Keys deleted per transaction when held deletions are finally applied.
    const KEYS_PER_TRANSACTION: usize = 10_000;

    /// Applies the held deletions, a chunk or a batch of keys per transaction, and returns the
    /// number of rows deleted.
    pub async fn apply(self, target: &Db, plan: &TablePlan) -> Result<u64> {
        let mut deleted = 0;
        for chunk in &self.chunks {
            let statements = target.change_statements(&plan.target, Some(chunk), &[], &[]);
            deleted += target.execute_in_transaction(&statements).await?;
        }
        for keys in self.keys.chunks(Self::KEYS_PER_TRANSACTION) {
            let statements = target.change_statements(&plan.target, None, keys, &[]);
            deleted += target.execute_in_transaction(&statements).await?;
        }
        Ok(deleted)
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
            ..Default::default()
        },
    }
}

/// Applies the `changes` of a chunk's difference, and returns what was written: rows that left
/// the source since the comparison are not counted (the next run will see them).
///
/// * Mode `sync`: insert, update and delete; `upsert`: no deletes; `insert-only`: only rows the
///   target lacks (`truncate` copies whole chunks); see `run/policy.rs`.
/// * With a subset, a row to insert whose key the target holds outside the subset stops the
///   table: writing it would change a row the job does not own.
/// * With `held`, deletions are added there instead of being written (and not counted).
pub async fn apply_chunk(
    source: &Db,
    target: &Db,
    plan: &TablePlan,
    diff: &ChunkDiff,
    changes: Changes,
    held: Option<&std::sync::Mutex<HeldDeletes>>,
) -> Result<ApplyStats> {
    // Identical PostgreSQL tables: a whole chunk's bytes go straight from one COPY into the
    // other. Row by row where the pipe does not apply.
    if let (ChunkWork::CopyAll { .. }, true, true, Some(from), Some(to)) = (
        &diff.work,
        plan.source.native_rows,
        may_append(plan, &diff.chunk),
        source.postgres(),
        target.postgres(),
    ) {
        let piped = to
            .pipe_chunk_from(&from, &plan.source, &plan.target, &diff.chunk)
            .await
            .context("copying the chunk from the source")?;
        if let Some(piped) = piped {
            return Ok(ApplyStats {
                inserted: piped.rows,
                bytes_read: piped.bytes,
                bytes_written: piped.bytes,
                ..Default::default()
            });
        }
    }
    let written_now = Changes {
        delete: changes.delete && held.is_none(),
        ..changes
    };
    let writes = prepare(source, target, plan, diff, written_now).await?;
    target
        .write_chunk(
            &plan.target,
            writes.delete_chunk,
            writes.delete_keys,
            &writes.rows,
            writes.fresh,
        )
        .await
        .context("writing the chunk to the target")?;
    // Held only once the rest of the chunk is written: a chunk that fails and is tried again
    // holds its deletions once.
    if let (Some(held), true) = (held, changes.delete) {
        let mut held = held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &diff.work {
            ChunkWork::DeleteAll { .. } => held.chunks.push(diff.chunk.clone()),
            ChunkWork::Rows { only_in_target, .. } => held.keys.extend_from_slice(only_in_target),
            ChunkWork::CopyAll { .. } => {}
        }
    }
    Ok(writes.stats)
}

/// The statements applying `diff` would run (`sync --dry-run -v`), after the same reads and
/// checks, without writing.
pub async fn planned_statements(
    source: &Db,
    target: &Db,
    plan: &TablePlan,
    diff: &ChunkDiff,
    changes: Changes,
) -> Result<Vec<Statement>> {
    let writes = prepare(source, target, plan, diff, changes).await?;
    Ok(target.change_statements(
        &plan.target,
        writes.delete_chunk,
        writes.delete_keys,
        &writes.rows,
    ))
}

/// A chunk's writes, read from the source and checked, not yet written.
struct ChunkWrites<'a> {
    delete_chunk: Option<&'a Chunk>,
    delete_keys: &'a [Key],
    rows: Vec<Vec<Value>>,
    /// The target's chunk was empty: every row is new (PostgreSQL takes them by `COPY`).
    fresh: bool,
    stats: ApplyStats,
}

/// Reads the rows `diff` needs from the source and checks them against the target; without
/// `changes.delete` (a mode that never deletes, or deletions held for later) nothing is deleted.
async fn prepare<'a>(
    source: &Db,
    target: &Db,
    plan: &TablePlan,
    diff: &'a ChunkDiff,
    changes: Changes,
) -> Result<ChunkWrites<'a>> {
    let deletes = changes.delete;
    let (delete_chunk, delete_keys, rows, new_keys): (_, &[Key], _, Option<HashSet<&Key>>) =
        match &diff.work {
            ChunkWork::CopyAll { .. } => {
                let rows = plan
                    .source_on(source)
                    .rows_in_chunk(&diff.chunk)
                    .await
                    .context("reading the chunk from the source")?;
                (None, &[], rows, None)
            }
            ChunkWork::DeleteAll { .. } => (deletes.then_some(&diff.chunk), &[], Vec::new(), None),
            ChunkWork::Rows {
                only_in_source,
                only_in_target,
                changed,
            } => {
                let wanted: Vec<Key> = changes
                    .insert
                    .then_some(only_in_source)
                    .into_iter()
                    .chain(changes.update.then_some(changed))
                    .flatten()
                    .cloned()
                    .collect();
                // A keyless table's keys are its whole rows, as the source listed them.
                let rows = match plan.source.identity {
                    Identity::WholeRow => wanted,
                    _ => plan
                        .source_on(source)
                        .rows_by_keys(&wanted)
                        .await
                        .context("reading changed rows from the source")?,
                };
                let deleted: &[Key] = if deletes { only_in_target } else { &[] };
                (None, deleted, rows, Some(only_in_source.iter().collect()))
            }
        };
    let key_of = |row: &Vec<Value>| plan.source.key_of(row);
    let bytes_read = rows.iter().map(|row| rows_size(row)).sum();
    // Which rows the target lacks, by the keys the comparison listed: fitting a row below may
    // respell its key (SQLite's `2024-1-5` as `2024-01-05`), which no listed key then matches.
    let is_new: Vec<bool> = rows
        .iter()
        .map(|row| {
            new_keys
                .as_ref()
                .is_none_or(|new| new.contains(&key_of(row)))
        })
        .collect();
    // Unless both sides declare every column alike, every value is checked against its target
    // column before anything is written: a narrower target would round it without a word.
    let rows = if plan.source.native_rows {
        rows
    } else {
        rows.into_iter()
            .map(|row| {
                let key = key_of(&row);
                fit_row(&plan.name, &key, row, &plan.target.columns, target.kind)
            })
            .collect::<Result<Vec<_>>>()?
    };
    for row in &rows {
        target.check_row_size(row).map_err(|why| {
            anyhow::anyhow!(
                "table {}, key {}: {why}",
                plan.name,
                key_to_string(&key_of(row))
            )
        })?;
    }
    // Rows whose key the target lacks, as they will be written; the rest of `rows` update
    // existing target rows.
    let inserting: Vec<Key> = rows
        .iter()
        .zip(&is_new)
        .filter(|(_, &new)| new)
        .map(|(row, _)| key_of(row))
        .collect();
    let inserted = inserting.len() as u64;
    let outside = target
        .keys_outside_subset(&plan.target, &inserting)
        .await
        .context("checking the target for rows outside the subset")?;
    if let Some(key) = outside.first() {
        bail!(
            "the source row with key {} exists in the target outside the subset ({} such {} in this \
             chunk); refusing to overwrite rows the `where` does not select",
            key_to_string(key),
            outside.len(),
            crate::words::noun_for(outside.len() as u64, "row")
        );
    }
    let stats = ApplyStats {
        inserted,
        updated: rows.len() as u64 - inserted,
        deleted: match delete_chunk {
            Some(_) => planned_stats(diff).deleted,
            None => delete_keys.len() as u64,
        },
        bytes_read,
        bytes_written: rows.iter().map(|row| rows_size(row)).sum(),
    };
    Ok(ChunkWrites {
        delete_chunk,
        delete_keys,
        fresh: matches!(diff.work, ChunkWork::CopyAll { .. }) && may_append(plan, &diff.chunk),
        rows,
        stats,
    })
}

/// Whether the rows of a chunk whose target side is empty may be appended (`COPY`) rather than
/// upserted. Not where the target's key equality is coarse and the chunk is a hash bucket: a
/// row the target takes for the same key (`key7` for `Key7`) may sit in another bucket, and only
/// an upsert finds it. Key ranges are only used where both sides compare keys alike (see
/// `crate::plan`), so such a row is in the same range, which is then not empty.
fn may_append(plan: &TablePlan, chunk: &Chunk) -> bool {
    !(plan.target.coarse_key && matches!(chunk, Chunk::Bucket { .. }))
}
