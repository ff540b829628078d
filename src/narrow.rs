//! Narrowing a differing chunk to its differing rows, level by level, so that only the rows of
//! small differing groups are ever listed.
//!
//! A level splits every group still in question into `fan` groups by the key hash
//! ([`crate::value::key_hash`]: group = hash mod `modulus`, the modulus growing by the fan at every
//! level, so each group lies inside one group of the level above) and both sides compute the row
//! count and hash sum of every group in **one grouped query each**. Groups whose sums agree hold
//! equal rows and drop out; the rest go on to the next level. At the end the `(key, row hash)`
//! lists of the groups left are read and merged (`crate::compare`).
//!
//! The fan-out follows a cost model in bytes, measured in listed rows: listing `n` rows costs `n`;
//! a level of `G` groups costs `GROUP_COST · G` and leaves about `k · n / G` rows to list when `k`
//! rows differ, which is least at `G = √(k·n / GROUP_COST)`. A level is taken only while it costs
//! well under half of listing at once (`k < n / 32`) when the source is far; near it, where
//! bytes are cheap and a level's extra scan is not, only for `k < n / 256`. When nearly every
//! group differs, the rows are listed directly, as a chunk of mostly changed rows should be. `k` is estimated from the
//! previous level (the share of groups that differed) or, before the first, from the rate of
//! differing rows the table has shown so far.
//!
//! A chunk that is a key range is narrowed within its range (an index range scan per level); the
//! differing hash buckets of a table are narrowed all together, each level one grouped scan of
//! the subset per side, never one scan per bucket, and levels go on (where groups can still be
//! split) until at most [`Start::list_limit`] rows are left, since their listing is held in
//! memory.

use crate::engine::{Checksum, Chunk, KeyGroups};
use crate::side::Side;
use crate::value::Key;
use anyhow::{Context, Result};
use std::collections::{BTreeSet, HashMap};

/// What a group's `(count, sum)` costs to receive, in listed rows (a key and a hash).
const GROUP_COST: f64 = 2.0;
/// Groups are never smaller than this many rows on average: below, listing is as cheap.
const LEAF_ROWS: f64 = 8.0;
/// At most this many groups in one level's answer per side.
const MAX_GROUPS: f64 = 200_000.0;
/// The key hash has 32 bits: a finer modulus splits nothing.
const MAX_MODULUS: u64 = 1 << 32;

/// The `(key, row hash)` lists of the groups left at the last level, on both sides.
pub struct Listed {
    pub source: Vec<(Key, u64)>,
    pub target: Vec<(Key, u64)>,
    /// The whole slice's count and sum on both sides, when the first level summed all of it
    /// (narrowing that started without checksums).
    pub totals: Option<(Checksum, Checksum)>,
}

/// The groups a chunk was narrowed to.
pub struct Narrowed {
    /// The groups left (none: the sides are equal), or `None` when no level was worth taking
    /// and the whole chunk is to be listed.
    pub within: Option<KeyGroups>,
    /// The rows of each group left, on the larger side.
    pub rows: HashMap<u64, u64>,
    /// See [`Listed::totals`].
    pub totals: Option<(Checksum, Checksum)>,
}

/// Where narrowing starts and what it knows.
pub struct Start {
    /// The groups of the chunk in question (`None`: all of it).
    pub within: Option<KeyGroups>,
    /// Rows in question on the larger side.
    pub rows: u64,
    /// The share of rows found differing so far in this table, if any were compared.
    pub differing_rate: Option<f64>,
    /// Levels go on, where groups can still be split, until at most this many rows are left to
    /// list (a pass of listing holds them all in memory).
    pub list_limit: u64,
    /// The source is far (its round trip 5 ms or more): bytes cost more than the servers'
    /// scans, so levels are taken down to the byte model's limit. Near a source, a level (one
    /// more scan of the rows in question per side) is taken only for very sparse changes.
    pub remote: bool,
}

/// A level is taken only while fewer than one row in this many differs: over a slow link
/// (where it costs well under half of listing at once), and near the source (where listing a
/// row costs about as much as scanning it again).
const SPARSE_REMOTE: f64 = 32.0;
const SPARSE_LOCAL: f64 = 256.0;

/// Narrows one chunk to its differing groups and lists their rows on both sides.
pub async fn narrow(
    source: Side<'_>,
    target: Side<'_>,
    chunk: &Chunk,
    start: Start,
) -> Result<Listed> {
    let narrowed = narrow_groups(source, target, chunk, start).await?;
    let (source_rows, target_rows) = match &narrowed.within {
        Some(groups) if groups.residues.is_empty() => (Vec::new(), Vec::new()),
        within => list(source, target, chunk, within.as_ref()).await?,
    };
    Ok(Listed {
        source: source_rows,
        target: target_rows,
        totals: narrowed.totals,
    })
}

/// Both sides' `(key, row hash)` lists of a chunk's groups, read at the same time.
pub async fn list(
    source: Side<'_>,
    target: Side<'_>,
    chunk: &Chunk,
    within: Option<&KeyGroups>,
) -> Result<(Vec<(Key, u64)>, Vec<(Key, u64)>)> {
    tokio::try_join!(
        async {
            source
                .row_hashes(chunk, within)
                .await
                .context("row hashes on the source")
        },
        async {
            target
                .row_hashes(chunk, within)
                .await
                .context("row hashes on the target")
        },
    )
}

/// Narrows one chunk (or, for a table of hash buckets, the differing buckets together) level by
/// level to its differing groups, without listing rows.
pub async fn narrow_groups(
    source: Side<'_>,
    target: Side<'_>,
    chunk: &Chunk,
    start: Start,
) -> Result<Narrowed> {
    let Start {
        mut within,
        rows,
        differing_rate,
        list_limit,
        remote,
    } = start;
    let sparse = if remote { SPARSE_REMOTE } else { SPARSE_LOCAL };
    let mut rows = rows as f64;
    let mut modulus = within.as_ref().map_or(1, |g| g.modulus);
    let mut groups = within.as_ref().map_or(1, |g| g.residues.len()) as f64;
    // Before any level, the table's rate; with nothing seen yet, a sparse guess that the first
    // level corrects.
    let mut differing = differing_rate
        .map_or(rows / 1000.0, |rate| rate * rows)
        .max(1.0);
    let mut totals = None;
    let mut group_rows = HashMap::new();
    while let Some(fan) = (differing * sparse < rows)
        .then(|| fan_out(rows, differing, groups, modulus))
        .flatten()
        .or_else(|| (rows > list_limit as f64).then(|| finest_fan(rows, groups, modulus))?)
    {
        let by = modulus * fan;
        let (src, tgt) = tokio::try_join!(
            async {
                source
                    .grouped_checksums(chunk, within.as_ref(), by)
                    .await
                    .context("group checksums on the source")
            },
            async {
                target
                    .grouped_checksums(chunk, within.as_ref(), by)
                    .await
                    .context("group checksums on the target")
            },
        )?;
        if within.is_none() {
            totals = Some((total(&src), total(&tgt)));
        }
        let empty = Checksum { rows: 0, sum: 0 };
        let residues: BTreeSet<u64> = src.keys().chain(tgt.keys()).copied().collect();
        group_rows = residues
            .into_iter()
            .filter_map(|r| {
                let (s, t) = (src.get(&r).unwrap_or(&empty), tgt.get(&r).unwrap_or(&empty));
                (s != t).then_some((r, s.rows.max(t.rows)))
            })
            .collect();
        let split = groups * fan as f64;
        rows = group_rows.values().sum::<u64>() as f64;
        differing = estimate_differing(group_rows.len() as f64, split, rows);
        groups = group_rows.len() as f64;
        modulus = by;
        let mut residues: Vec<u64> = group_rows.keys().copied().collect();
        residues.sort_unstable();
        within = Some(KeyGroups { modulus, residues });
        if group_rows.is_empty() {
            break;
        }
    }
    Ok(Narrowed {
        within,
        rows: group_rows,
        totals,
    })
}

/// The finer groups a table of `buckets` hash buckets of about `rows` rows in all is first summed
/// by, as a multiple of the bucket count: the buckets' own sums follow from them, and the
/// narrowing that a differing bucket needs starts one level down, saving a scan of the table per
/// side. Sized for changes of one row in a hundred: groups of about fourteen rows, so that spread
/// changes are usually listed right after this scan, while an identical table costs a few
/// percent of its size in group sums.
pub fn first_split(rows: u64, buckets: u64) -> u64 {
    let rows = rows as f64;
    let fan = fan_out(rows, (rows / 100.0).max(1.0), buckets as f64, buckets).unwrap_or(1);
    buckets * fan
}

/// The share of rows in question that differ, estimated from a level that found `found` of
/// `split` groups differing among `rows` rows in question.
pub fn differing_rate(found: u64, split: u64, rows: u64) -> f64 {
    let rows = rows.max(1) as f64;
    estimate_differing(found as f64, split as f64, rows) / rows
}

/// How many groups to split each group in question into at the next level, or `None` when
/// listing the rows now is about as cheap (see the module doc).
fn fan_out(rows: f64, differing: f64, groups: f64, modulus: u64) -> Option<u64> {
    if differing * 32.0 >= rows || rows / groups < 2.0 * LEAF_ROWS {
        return None;
    }
    let best = (differing * rows / GROUP_COST).sqrt();
    let total = best.min(rows / LEAF_ROWS).min(MAX_GROUPS);
    let fan = (total / groups).floor() as u64;
    let fan = fan.min(MAX_MODULUS / modulus.max(1));
    (fan >= 2).then_some(fan)
}

/// The finest split the limits allow, for a level taken to bound what is left to list.
fn finest_fan(rows: f64, groups: f64, modulus: u64) -> Option<u64> {
    let total = (rows / LEAF_ROWS).min(MAX_GROUPS);
    let fan = ((total / groups).floor() as u64).min(MAX_MODULUS / modulus.max(1));
    (fan >= 2).then_some(fan)
}

/// The differing rows behind `found` differing groups among `split` (rows falling into groups
/// at random): about `found` when few groups differ; `split · ln(split / (split − found))` as
/// they fill up; every row in question when all differ.
fn estimate_differing(found: f64, split: f64, rows: f64) -> f64 {
    if found >= split {
        return rows;
    }
    let estimate = split * (split / (split - found)).ln();
    estimate.max(found).min(rows)
}

fn total(sums: &HashMap<u64, Checksum>) -> Checksum {
    sums.values()
        .fold(Checksum { rows: 0, sum: 0 }, |acc, c| Checksum {
            rows: acc.rows + c.rows,
            sum: acc.sum.wrapping_add(c.sum),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_changes_take_a_level_and_dense_ones_are_listed_at_once() {
        // 70 of 10,000 rows differ: one level of about 590 groups.
        let fan = fan_out(10_000.0, 70.0, 1.0, 1).unwrap();
        assert!((500..700).contains(&fan), "{fan}");
        // Half the rows differ: list them.
        assert_eq!(fan_out(10_000.0, 5_000.0, 1.0, 1), None);
        // One differing row: a coarse level, then finer ones.
        let first = fan_out(10_000.0, 1.0, 1.0, 1).unwrap();
        assert!((50..100).contains(&first), "{first}");
        assert!(fan_out(10_000.0 / first as f64, 1.0, 1.0, first).is_some());
        // Small groups are listed.
        assert_eq!(fan_out(12.0, 1.0, 1.0, 1), None);
        // The hash has 32 bits.
        assert_eq!(fan_out(1e9, 1.0, 1.0, 1 << 32), None);
    }

    #[test]
    fn differing_rows_are_estimated_from_the_share_of_groups_found() {
        assert_eq!(estimate_differing(10.0, 1000.0, 5000.0).round(), 10.0);
        assert_eq!(estimate_differing(100.0, 100.0, 5000.0), 5000.0);
        let half = estimate_differing(500.0, 1000.0, 1e6);
        assert!((690.0..700.0).contains(&half), "{half}");
    }
}
