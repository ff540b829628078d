//! Comparing one chunk: checksums on both sides at once, and, when they differ, narrowing the
//! difference down to keys (`crate::narrow`, level by level) and merging the `(key, row hash)`
//! lists of both sides' differing groups.
//!
//! Narrowing is skipped when one side of the chunk is empty and the caller needs no key listing:
//! then the whole chunk is simply copied or deleted, which is cheaper than listing it. When most
//! chunks of a table differ, the caller skips the chunk's checksum ([`Compare::Narrow`]): the
//! first level of narrowing sums the chunk anyway.
//!
//! A key only in the target may still be in the source, outside its subset: the sides disagree
//! on which rows the `where` selects (a collation that compares text differently), or the row
//! left the subset since the last sync. [`present_in_source`] finds those keys, so that their
//! deletion is reported rather than silent.

use crate::engine::{Checksum, Chunk, Db, Identity};
use crate::narrow::{narrow, Listed, Start};
use crate::schema::TablePlan;
use crate::timings::{Phase, Timings};
use crate::value::{key_to_string, Key, Value};
use anyhow::{bail, Context, Result};
// Keys are hashed by the million per run: foldhash is several times faster than the standard
// SipHash and still seeded per process.
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::time::Instant;

/// What must change in the target for one chunk to equal the source.
#[derive(Debug, Clone)]
pub struct ChunkDiff {
    pub chunk: Chunk,
    pub work: ChunkWork,
}

#[derive(Debug, Clone)]
pub enum ChunkWork {
    /// The target's chunk is empty: copy every source row of the range.
    CopyAll { rows: u64 },
    /// The source's chunk is empty: delete every target row of the (range) chunk.
    DeleteAll { rows: u64 },
    /// Both sides have rows: these keys differ (keys in no particular order).
    Rows {
        only_in_source: Vec<Key>,
        only_in_target: Vec<Key>,
        changed: Vec<Key>,
    },
}

/// The result of comparing one chunk.
#[derive(Debug, Clone)]
pub struct ChunkComparison {
    pub source: Checksum,
    pub target: Checksum,
    /// `None` when the chunk is equal on both sides.
    pub diff: Option<ChunkDiff>,
    /// The keys only in the target that the source holds outside its subset (see
    /// [`present_in_source`]); looked up only where they are to be deleted.
    pub present_in_source: Vec<Key>,
    /// Time spent checksumming and narrowing this chunk.
    pub spent: Timings,
}

/// How a chunk's two sides are compared.
#[derive(Debug, Clone)]
pub enum Compare {
    /// Checksum both sides; narrow only when the checksums differ.
    Checksums,
    /// The checksums are known already (all buckets are summed in one scan).
    Known((Checksum, Checksum)),
    /// The checksums are known and the differing groups' rows listed already (the differing
    /// buckets of a table are narrowed together).
    Listed((Checksum, Checksum), Vec<(Key, u64)>, Vec<(Key, u64)>),
    /// Narrow straight away, without the chunk's checksum: most chunks of the table differ.
    Narrow,
}

/// What the table has shown so far, to size the narrowing of a chunk.
#[derive(Debug, Clone, Copy)]
pub struct Hints {
    /// The rows a chunk is planned to hold.
    pub chunk_rows: u64,
    /// The share of compared rows that differed, once some were compared.
    pub differing_rate: Option<f64>,
    /// The source is 5 ms or more away (see `crate::narrow::Start::remote`).
    pub remote: bool,
}

/// Compares one chunk. With `list_keys`, a differing chunk is always narrowed to keys (for
/// `diff`'s listing); otherwise one-sided chunks are left whole.
pub async fn compare_chunk(
    source: &Db,
    target: &Db,
    plan: &TablePlan,
    chunk: &Chunk,
    list_keys: bool,
    how: Compare,
    hints: Hints,
) -> Result<ChunkComparison> {
    let mut spent = Timings::default();
    let started = Instant::now();
    let (sums, lists) = match how {
        Compare::Known(sums) => (Some(sums), None),
        Compare::Listed(sums, src, tgt) => (Some(sums), Some((src, tgt))),
        Compare::Checksums => {
            let sums = checksums(source, target, plan, chunk).await?;
            spent.add(Phase::Checksum, started.elapsed());
            (Some(sums), None)
        }
        Compare::Narrow => (None, None),
    };
    let whole_chunk = sums.and_then(|(src, tgt)| {
        if src == tgt {
            Some(None)
        } else if tgt.rows == 0 && !list_keys {
            Some(Some(ChunkWork::CopyAll { rows: src.rows }))
        } else if src.rows == 0
            && !list_keys
            && matches!(chunk, Chunk::Range(_))
            && plan.source.filter.is_none()
        {
            // A hash bucket is not a range SQLite can delete by, so buckets are always narrowed.
            // With a source subset the keys are listed too: each may still be in the source,
            // outside the subset, and such a deletion is reported.
            Some(Some(ChunkWork::DeleteAll { rows: tgt.rows }))
        } else {
            None
        }
    });
    let (source_sum, target_sum, diff) = match (whole_chunk, sums) {
        (Some(work), Some((src, tgt))) => (src, tgt, work),
        (_, sums) => {
            let started = Instant::now();
            let (src_rows, tgt_rows, totals) = match lists {
                Some((src, tgt)) => (src, tgt, None),
                None => {
                    let rows = sums.map_or(hints.chunk_rows, |(s, t)| s.rows.max(t.rows));
                    let start = Start {
                        within: None,
                        rows,
                        differing_rate: hints.differing_rate,
                        list_limit: u64::MAX,
                        remote: hints.remote,
                    };
                    let Listed {
                        source: src,
                        target: tgt,
                        totals,
                    } = narrow(plan.source_on(source), plan.target_on(target), chunk, start)
                        .await?;
                    (src, tgt, totals)
                }
            };
            spent.add(Phase::Narrow, started.elapsed());
            // Without checksums, the first level summed the chunk, or nothing was narrowed
            // and the lists are the whole chunk.
            let (src, tgt) = sums
                .or(totals)
                .unwrap_or_else(|| (summarize(&src_rows), summarize(&tgt_rows)));
            let work = match plan.source.identity {
                Identity::WholeRow => merge_copies(src_rows, tgt_rows),
                _ => merge(src_rows, tgt_rows, plan.target.identity)?,
            };
            let differs = match &work {
                ChunkWork::Rows {
                    only_in_source,
                    only_in_target,
                    changed,
                } => {
                    !(only_in_source.is_empty() && only_in_target.is_empty() && changed.is_empty())
                }
                _ => true,
            };
            (src, tgt, differs.then_some(work))
        }
    };
    Ok(ChunkComparison {
        source: source_sum,
        target: target_sum,
        diff: diff.map(|work| ChunkDiff {
            chunk: chunk.clone(),
            work,
        }),
        present_in_source: Vec::new(),
        spent,
    })
}

/// The keys among a chunk's rows only in the target that the source holds outside its subset,
/// looked up in batches (one query each) without the `where`; none without a source subset.
pub async fn present_in_source(
    source: &Db,
    plan: &TablePlan,
    diff: &ChunkDiff,
) -> Result<Vec<Key>> {
    match &diff.work {
        ChunkWork::Rows { only_in_target, .. }
            if plan.source.filter.is_some() && !only_in_target.is_empty() =>
        {
            source
                .keys_outside_subset(&plan.source, only_in_target)
                .await
                .context("looking up the keys to delete in the source, outside its subset")
        }
        _ => Ok(Vec::new()),
    }
}

/// Both sides' checksums of one chunk, computed at the same time.
async fn checksums(
    source: &Db,
    target: &Db,
    plan: &TablePlan,
    chunk: &Chunk,
) -> Result<(Checksum, Checksum)> {
    tokio::try_join!(
        async {
            plan.source_on(source)
                .checksum(chunk)
                .await
                .context("checksum on the source")
        },
        async {
            plan.target_on(target)
                .checksum(chunk)
                .await
                .context("checksum on the target")
        },
    )
}

/// The checksum of a listed chunk, by the same definition as the servers'.
fn summarize(rows: &[(Key, u64)]) -> Checksum {
    Checksum {
        rows: rows.len() as u64,
        sum: rows.iter().fold(0u64, |acc, (_, h)| acc.wrapping_add(*h)),
    }
}

/// The keys only in the source, only in the target, and changed. A target without a unique
/// index on the key (`target`: [`Identity::Unindexed`]) may hold a key more than once: such a
/// key is changed (rewritten as the source's one row) or only in the target (all its rows
/// deleted), whatever the hashes of its copies.
fn merge(src: Vec<(Key, u64)>, tgt: Vec<(Key, u64)>, target: Identity) -> Result<ChunkWork> {
    if let (Some(src), Some(tgt)) = (integer_keys(&src), integer_keys(&tgt)) {
        return merge_integers(src, tgt, target);
    }
    merge_hashed(src, tgt, target)
}

/// [`merge`] for any keys, through a hash map of the target's.
fn merge_hashed(src: Vec<(Key, u64)>, tgt: Vec<(Key, u64)>, target: Identity) -> Result<ChunkWork> {
    let mut target_rows: HashMap<Key, Option<u64>> = HashMap::with_capacity(tgt.len());
    for (key, hash) in tgt {
        // `None`: copies of the key.
        let copies = target == Identity::Unindexed && target_rows.contains_key(&key);
        target_rows.insert(key, (!copies).then_some(hash));
    }
    let mut only_in_source = Vec::new();
    let mut changed = Vec::new();
    // Tables have unique, NOT NULL keys; a query source has only the job file's word for it.
    let mut seen: HashSet<&Key> = HashSet::with_capacity(src.len());
    for (key, _) in &src {
        if key.contains(&Value::Null) {
            bail!("the source returns a row whose key is NULL; a key must identify every row");
        }
        if !seen.insert(key) {
            bail!(
                "the source returns key {} more than once; the key must be unique",
                key_to_string(key)
            );
        }
    }
    drop(seen);
    for (key, hash) in src {
        match target_rows.remove(&key) {
            None => only_in_source.push(key),
            Some(h) if h != Some(hash) => changed.push(key),
            Some(_) => {}
        }
    }
    Ok(ChunkWork::Rows {
        only_in_source,
        only_in_target: target_rows.into_keys().collect(),
        changed,
    })
}

/// The keys and hashes of a list whose keys are all one integer, the common case, which
/// [`merge_integers`] merges without hashing a key.
fn integer_keys(rows: &[(Key, u64)]) -> Option<Vec<(i64, u64)>> {
    rows.iter()
        .map(|(key, hash)| match key.as_slice() {
            [Value::Int(k)] => Some((*k, *hash)),
            _ => None,
        })
        .collect()
}

/// [`merge`] for one-integer keys, by sorting both lists (they usually arrive in key order, which
/// sorts in one pass) and walking them side by side.
fn merge_integers(
    mut src: Vec<(i64, u64)>,
    mut tgt: Vec<(i64, u64)>,
    target: Identity,
) -> Result<ChunkWork> {
    src.sort_unstable();
    tgt.sort_unstable();
    if let Some(pair) = src.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        bail!(
            "the source returns key {} more than once; the key must be unique",
            pair[0].0
        );
    }
    let key = |k: i64| vec![Value::Int(k)];
    let (mut only_in_source, mut only_in_target, mut changed) =
        (Vec::new(), Vec::new(), Vec::new());
    let (mut s, mut t) = (src.iter().peekable(), 0);
    // The target's rows of the key at `t`: more than one only where it has no unique index.
    let copies = |t: usize, key: i64| tgt[t..].iter().take_while(|r| r.0 == key).count();
    while t < tgt.len() || s.peek().is_some() {
        let target_key = tgt.get(t).map(|row| row.0);
        match (s.peek(), target_key) {
            (Some(&&(k, _)), Some(tk)) if k < tk => {
                only_in_source.push(key(k));
                s.next();
            }
            (Some(&&(k, hash)), Some(tk)) if k == tk => {
                let held = copies(t, tk);
                if (held > 1 && target == Identity::Unindexed) || tgt[t].1 != hash {
                    changed.push(key(k));
                }
                s.next();
                t += held;
            }
            (_, Some(tk)) => {
                only_in_target.push(key(tk));
                t += copies(t, tk);
            }
            (Some(&&(k, _)), None) => {
                only_in_source.push(key(k));
                s.next();
            }
            (None, None) => break,
        }
    }
    Ok(ChunkWork::Rows {
        only_in_source,
        only_in_target,
        changed,
    })
}

/// A keyless table's chunk as two multisets of rows ([`Identity::WholeRow`]: each "key" is the
/// whole row): every row hash counted on both sides, and each hash's surplus copies in the target
/// deleted, its missing copies inserted. Rows are matched by their row hash, the canonical
/// identity of a row across engines, so each side's copies are written with that side's values.
/// Nothing is ever "changed": a changed row is one copy less of the old row and one more of the
/// new.
fn merge_copies(src: Vec<(Key, u64)>, tgt: Vec<(Key, u64)>) -> ChunkWork {
    // Per row hash: source copies minus target copies, and a row of each side.
    let mut rows: HashMap<u64, (i64, Option<Key>, Option<Key>)> = HashMap::new();
    for (row, hash) in src {
        let entry = rows.entry(hash).or_default();
        entry.0 += 1;
        entry.1.get_or_insert(row);
    }
    for (row, hash) in tgt {
        let entry = rows.entry(hash).or_default();
        entry.0 -= 1;
        entry.2.get_or_insert(row);
    }
    let (mut only_in_source, mut only_in_target) = (Vec::new(), Vec::new());
    for (surplus, source_row, target_row) in rows.into_values() {
        let (row, copies, into) = match (surplus, source_row, target_row) {
            (n, Some(row), _) if n > 0 => (row, n, &mut only_in_source),
            (n, _, Some(row)) if n < 0 => (row, -n, &mut only_in_target),
            _ => continue,
        };
        into.extend(std::iter::repeat_n(row, copies as usize));
    }
    ChunkWork::Rows {
        only_in_source,
        only_in_target,
        changed: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::compare_keys;

    fn row(v: i64) -> Key {
        vec![Value::Int(v), Value::Null]
    }

    #[test]
    fn copies_are_counted_on_both_sides() {
        let src = vec![(row(1), 11), (row(1), 11), (row(1), 11), (row(2), 22)];
        let tgt = vec![(row(1), 11), (row(3), 33), (row(3), 33), (row(2), 22)];
        let ChunkWork::Rows {
            only_in_source,
            mut only_in_target,
            changed,
        } = merge_copies(src, tgt)
        else {
            panic!("rows expected");
        };
        assert_eq!(only_in_source, vec![row(1), row(1)]);
        only_in_target.sort_by(compare_keys);
        assert_eq!(only_in_target, vec![row(3), row(3)]);
        assert!(changed.is_empty());
    }

    #[test]
    fn integer_keys_merge_as_any_keys_do() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let sorted = |work: ChunkWork| match work {
            ChunkWork::Rows {
                mut only_in_source,
                mut only_in_target,
                mut changed,
            } => {
                for keys in [&mut only_in_source, &mut only_in_target, &mut changed] {
                    keys.sort_by(compare_keys);
                }
                (only_in_source, only_in_target, changed)
            }
            _ => panic!("rows expected"),
        };
        for round in 0..200 {
            let target = [Identity::Unique, Identity::Unindexed][round % 2];
            let mut src: Vec<(i64, u64)> = (0..rng.gen_range(0..40))
                .map(|_| (rng.gen_range(-20..20), rng.gen_range(0..3)))
                .collect();
            src.sort_unstable_by_key(|r| r.0);
            src.dedup_by_key(|r| r.0);
            let mut tgt: Vec<(i64, u64)> = (0..rng.gen_range(0..40))
                .map(|_| (rng.gen_range(-20..20), rng.gen_range(0..3)))
                .collect();
            if target == Identity::Unique {
                tgt.sort_unstable_by_key(|r| r.0);
                tgt.dedup_by_key(|r| r.0);
            }
            let keyed = |rows: &[(i64, u64)]| -> Vec<(Key, u64)> {
                rows.iter()
                    .map(|(k, h)| (vec![Value::Int(*k)], *h))
                    .collect()
            };
            let fast = merge_integers(src.clone(), tgt.clone(), target).unwrap();
            let hashed = merge_hashed(keyed(&src), keyed(&tgt), target).unwrap();
            assert_eq!(sorted(fast), sorted(hashed), "round {round}");
        }
        let twice = vec![(1, 0), (1, 0)];
        assert!(merge_integers(twice, Vec::new(), Identity::Unique).is_err());
    }

    #[test]
    fn a_key_the_target_holds_twice_is_rewritten_or_deleted() {
        let k = |v| vec![Value::Int(v)];
        let src = vec![(k(1), 11)];
        let tgt = vec![(k(1), 11), (k(1), 12), (k(2), 22), (k(2), 22)];
        let ChunkWork::Rows {
            only_in_source,
            only_in_target,
            changed,
        } = merge(src, tgt, Identity::Unindexed).unwrap()
        else {
            panic!("rows expected");
        };
        assert!(only_in_source.is_empty());
        assert_eq!(changed, vec![k(1)]);
        assert_eq!(only_in_target, vec![k(2)]);
    }
}
