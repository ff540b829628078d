//! Splitting a table's key space into chunks of about `chunk_size` rows.
//!
//! Boundaries are taken from the data, not from arithmetic on the key range: in one ordered pass
//! over the source's key index (`ROW_NUMBER() OVER (ORDER BY key)`), every `chunk_size`-th key
//! starts a new chunk. Sparse or skewed keys therefore give chunks of even
//! size and never thousands of empty ones. Keys the target holds below the source's smallest or
//! above its largest key are walked on the target the same way, so that a target with many extra
//! rows (or an empty source) is still cut into chunks of bounded size.
//!
//! Chunks are half-open ranges `[b(i), b(i+1))`; the first has no lower and the last no upper
//! bound, so every key on either side falls into exactly one chunk.
//!
//! Ranges are used only for a single integer key, whose order every engine agrees on. Any other
//! key (text, UUID, dates, several columns) is chunked by a hash of its canonical encoding instead
//! (`bucket = MD5(key) mod n`, the same on every engine), so that collations, case rules and
//! engine-specific orders can never put a row into different chunks on the two sides. The price:
//! a bucket is not an index range, so each bucket query scans the side's subset; `n` is the row
//! count divided by `chunk_size`.

use crate::engine::{Chunk, Db, KeyRange, TableSide};
use crate::value::Key;
use crate::value::TypeClass;
use anyhow::{Context, Result};

/// The chunks of one table: key ranges in key order, or hash buckets (see the module doc).
pub async fn plan_chunks(
    source: &Db,
    target: &Db,
    src: &TableSide,
    tgt: &TableSide,
    chunk_size: u64,
) -> Result<Vec<Chunk>> {
    // A query source has no index to walk; hashing also runs it a bounded number of times.
    let ordered = !src.from_query
        && src.key.len() == 1
        && src.key_columns().all(|c| c.class == TypeClass::Int);
    if ordered {
        let ranges = plan_ranges(source, target, src, tgt, chunk_size).await?;
        return Ok(ranges.into_iter().map(Chunk::Range).collect());
    }
    let (rows_source, rows_target) = tokio::try_join!(
        async {
            source
                .count(src)
                .await
                .context("counting rows on the source")
        },
        async {
            target
                .count(tgt)
                .await
                .context("counting rows on the target")
        },
    )?;
    let of = rows_source.max(rows_target).div_ceil(chunk_size).max(1);
    Ok((0..of).map(|index| Chunk::Bucket { index, of }).collect())
}

/// Key ranges of about `chunk_size` rows, in key order.
async fn plan_ranges(
    source: &Db,
    target: &Db,
    src: &TableSide,
    tgt: &TableSide,
    chunk_size: u64,
) -> Result<Vec<KeyRange>> {
    let (source_walk, extremes) = tokio::try_join!(
        source.boundaries(src, None, None, chunk_size),
        source.key_extremes(src),
    )
    .context("cannot plan chunks on the source")?;

    let boundaries = match extremes {
        // Nothing in the source: the target alone decides.
        None => target
            .boundaries(tgt, None, None, chunk_size)
            .await
            .context("cannot plan chunks on the target")?,
        Some((min, max)) => {
            let (below, above) = tokio::try_join!(
                target.boundaries(tgt, None, Some(&min), chunk_size),
                target.boundaries(tgt, Some(&max), None, chunk_size),
            )
            .context("cannot plan chunks on the target")?;
            let mut all = below;
            if !all.is_empty() {
                all.push(min);
            }
            all.extend(source_walk);
            all.extend(above);
            all
        }
    };
    Ok(ranges_from_boundaries(boundaries))
}

/// `[b0, b1, …]` → `(-∞, b0), [b0, b1), …, [bn, +∞)`.
fn ranges_from_boundaries(boundaries: Vec<Key>) -> Vec<KeyRange> {
    let mut ranges = Vec::with_capacity(boundaries.len() + 1);
    let mut lower: Option<Key> = None;
    for b in boundaries {
        ranges.push(KeyRange {
            lower: lower.take(),
            upper: Some(b.clone()),
        });
        lower = Some(b);
    }
    ranges.push(KeyRange { lower, upper: None });
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    #[test]
    fn boundaries_become_half_open_ranges_covering_everything() {
        let k = |v| vec![Value::Int(v)];
        let ranges = ranges_from_boundaries(vec![k(10), k(20)]);
        assert_eq!(
            ranges,
            vec![
                KeyRange {
                    lower: None,
                    upper: Some(k(10))
                },
                KeyRange {
                    lower: Some(k(10)),
                    upper: Some(k(20))
                },
                KeyRange {
                    lower: Some(k(20)),
                    upper: None
                },
            ]
        );
        assert_eq!(ranges_from_boundaries(vec![]), vec![KeyRange::default()]);
    }
}
