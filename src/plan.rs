//! Splitting a table's key space into chunks of about `chunk_size` rows.
//!
//! On MySQL and SQLite, when the keys are dense (the key range at most four times the row count,
//! as with sequences), the range is cut into equal widths: no index walk is needed. Otherwise
//! (and always on a PostgreSQL source, which walks its index as fast as it counts) boundaries are
//! taken from the data, not from arithmetic on the key range: in one ordered pass over the
//! source's key index, every `chunk_size`-th key starts a new chunk. Sparse or skewed keys
//! therefore give chunks of even size and never thousands of empty ones. Keys the target holds
//! below the source's smallest or above its largest key are walked on the target the same way,
//! so that a target with many extra rows (or an empty source) is still cut into chunks of
//! bounded size. PostgreSQL walks in one recursive query of index skips; MySQL and SQLite near
//! the source in a query per boundary, and over a far link in one `ROW_NUMBER()` pass (see
//! `Db::boundaries`).
//!
//! Chunks are half-open ranges `[b(i), b(i+1))`; the first has no lower and the last no upper
//! bound, so every key on either side falls into exactly one chunk.
//!
//! Ranges are used where both sides provably order and compare the key the same way (the
//! key-order model of [`columns_order_alike`]): integers on any engines; binary strings, PostgreSQL
//! UUIDs and text under byte-order collations without padding (PostgreSQL `C`, MariaDB
//! `utf8mb4_nopad_bin`) on any pair of PostgreSQL and MySQL; dates and timestamps likewise; and
//! text, decimals and the rest between two databases of one engine declaring the key with the same
//! type and collation (on PostgreSQL, the collation's provider, locale and version must match
//! too). Composite keys of such columns range as row values where both engines use the key's
//! index for them (PostgreSQL). Any other key is chunked by a hash of its canonical encoding
//! instead (`bucket = MD5(key) mod n`, the same on every engine), so that collations, case rules
//! and engine-specific orders can never put a row into different chunks on the two sides. A
//! bucket is not an index range, so the buckets' checksums are taken in one grouped scan per side
//! and the differing buckets narrowed together, level by level (see `crate::narrow`).
//!
//! A table without a key (a multiset of rows, see `crate::compare`) is always chunked by hash
//! buckets of the whole row: identical copies fall into one bucket on both sides.
//!
//! Buckets are also chosen between two PostgreSQL databases declaring the table alike when the
//! planner's statistics show the rows scattered in key order (random UUIDs, hashed text): a key
//! range of 10,000 such rows reads about 8,000 pages, so 100 ranges read the table's pages dozens
//! of times over, where a grouped scan per level reads them once.

use crate::engine::{
    Chunk, Column, Db, EngineKind, Grouping, Identity, KeyOrder, KeyRange, TableSide,
};
use crate::value::Key;
use crate::value::Value;
use anyhow::{Context, Result};

/// The chunks of one table, in order, and how all their checksums can be taken in one grouped
/// scan per side where chunks are hash buckets (a bucket query scans the whole subset).
pub struct Layout {
    pub chunks: Vec<Chunk>,
    pub grouping: Option<Grouping>,
}

/// The chunks of one table: key ranges in key order, or hash buckets (see the module doc). A
/// table that is only copied (`copy_only`: an empty target, or `truncate`) is cut into the
/// source's own key ranges whatever the target's order: nothing is compared, and the target is
/// never asked for a range. `near`: the source answers within a few milliseconds, so that
/// boundaries may be walked a query at a time where that is cheaper for the server.
pub async fn plan_chunks(
    source: &Db,
    target: &Db,
    src: &TableSide,
    tgt: &TableSide,
    chunk_size: u64,
    copy_only: bool,
    near: bool,
) -> Result<Layout> {
    let source_alone = copy_only
        && !src.from_query
        && src.identity != Identity::WholeRow
        && (src.key.len() == 1 || source.dialect().ranges_over_row_values());
    if source_alone
        || (keys_order_alike(source, target, src, tgt)
            && !scattered(source, src, chunk_size).await?)
    {
        let ranges = plan_ranges(source, target, src, tgt, chunk_size, near).await?;
        return Ok(Layout {
            chunks: ranges.into_iter().map(Chunk::Range).collect(),
            grouping: None,
        });
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
    Ok(Layout {
        chunks: (0..of).map(|index| Chunk::Bucket { index, of }).collect(),
        grouping: Some(Grouping::Buckets { of }),
    })
}

/// Whether the key order is worth giving up for hash buckets: between two PostgreSQL databases
/// declaring the table alike (whose buckets and groups use PostgreSQL's own cheap key hash),
/// when the source's statistics say its rows lie scattered in key order. Each key range would
/// then read a page per row, while buckets are summed and narrowed with a sequential scan per
/// level. Small tables (under 32 chunks) keep their ranges.
async fn scattered(source: &Db, src: &TableSide, chunk_size: u64) -> Result<bool> {
    match source.postgres() {
        Some(pg) if src.native_rows => pg
            .scattered_key(src, 32 * chunk_size)
            .await
            .context("reading the source's statistics"),
        _ => Ok(false),
    }
}

/// Whether both sides order and compare the key identically, so that a key range holds the same
/// keys on both (see [`columns_order_alike`]); several columns only where both engines range
/// over row values through the key's index. A query source has no index to walk; hashing also
/// runs it a bounded number of times.
fn keys_order_alike(source: &Db, target: &Db, src: &TableSide, tgt: &TableSide) -> bool {
    // A keyless table's "key" is every column, NULLs included: no range can hold it.
    if src.from_query || src.identity == Identity::WholeRow {
        return false;
    }
    let (source_dialect, target_dialect) = (source.dialect(), target.dialect());
    let composite_ok = src.key.len() == 1
        || (source_dialect.ranges_over_row_values() && target_dialect.ranges_over_row_values());
    composite_ok
        && src.key_columns().zip(tgt.key_columns()).all(|(s, t)| {
            let same_engine = source.kind == target.kind;
            let orders = (source_dialect.key_order(s), target_dialect.key_order(t));
            columns_order_alike(same_engine, s, t, orders)
        })
}

/// The key-order model: two key columns put every key in the same range when both order as
/// integers; when both order by bytes or chronologically and hold the same kind of value (text
/// with text, bytes with bytes, a date with a date), on any engines; and when one engine orders
/// both by its own rules for the same declaration and collation. Anything else (text under
/// different or locale collations across engines, SQLite's loosely typed columns) is chunked by
/// hash buckets.
fn columns_order_alike(
    same_engine: bool,
    s: &Column,
    t: &Column,
    (source_order, target_order): (KeyOrder, KeyOrder),
) -> bool {
    match (source_order, target_order) {
        (KeyOrder::Integer, KeyOrder::Integer) => true,
        (KeyOrder::Bytes, KeyOrder::Bytes) | (KeyOrder::Chronological, KeyOrder::Chronological) => {
            s.class == t.class
        }
        (KeyOrder::Unordered, _) | (_, KeyOrder::Unordered) => false,
        (a, b) => same_engine && a == b && s.decl_type == t.decl_type && s.collation == t.collation,
    }
}

/// Key ranges of about `chunk_size` rows, in key order: equal widths over a dense key range,
/// boundaries walked from the data otherwise.
async fn plan_ranges(
    source: &Db,
    target: &Db,
    src: &TableSide,
    tgt: &TableSide,
    chunk_size: u64,
    near: bool,
) -> Result<Vec<KeyRange>> {
    // PostgreSQL walks its key index about as fast as it counts the rows (see
    // `sql::boundaries`), so it is walked without counting; elsewhere a count and the extremes
    // may show dense keys, which need no walk.
    let count = source.kind != EngineKind::Postgres;
    let (source_shape, target_shape) = tokio::try_join!(
        async {
            shape(source, src, count)
                .await
                .context("cannot plan chunks on the source")
        },
        async {
            shape(target, tgt, count)
                .await
                .context("cannot plan chunks on the target")
        },
    )?;
    // Ranges are checksummed a query per chunk: index range scans run `jobs` at a time on
    // every core, where one grouped scan would run on one.
    if let Some(ranges) = dense_ranges(&source_shape, &target_shape, chunk_size) {
        return Ok(ranges);
    }
    let extremes = source_shape.extremes;
    let source_walk = source
        .boundaries(src, None, None, chunk_size, near)
        .await
        .context("cannot plan chunks on the source")?;

    let boundaries = match extremes {
        // Nothing in the source: the target alone decides.
        None => target
            .boundaries(tgt, None, None, chunk_size, near)
            .await
            .context("cannot plan chunks on the target")?,
        Some((min, max)) => {
            let (below, above) = tokio::try_join!(
                target.boundaries(tgt, None, Some(&min), chunk_size, near),
                target.boundaries(tgt, Some(&max), None, chunk_size, near),
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

/// Row count (when counted) and smallest and largest key of one side.
struct Shape {
    rows: Option<u64>,
    extremes: Option<(Key, Key)>,
}

async fn shape(db: &Db, side: &TableSide, count: bool) -> Result<Shape> {
    let rows = async {
        if count {
            db.count(side).await.map(Some)
        } else {
            Ok(None)
        }
    };
    let (rows, extremes) = tokio::try_join!(rows, db.key_extremes(side))?;
    Ok(Shape { rows, extremes })
}

/// Equal-width ranges over the keys of both sides when they are dense (the key range at most
/// four times the rows): chunks then hold about `chunk_size` rows without walking the index.
fn dense_ranges(source: &Shape, target: &Shape, chunk_size: u64) -> Option<Vec<KeyRange>> {
    let int = |key: &Key| match key.as_slice() {
        [Value::Int(i)] => Some(i128::from(*i)),
        _ => None,
    };
    let sides = [source, target];
    let bounds: Vec<(i128, i128)> = sides
        .iter()
        .filter_map(|s| s.extremes.as_ref())
        .map(|(lo, hi)| Some((int(lo)?, int(hi)?)))
        .collect::<Option<_>>()?;
    let low = bounds.iter().map(|b| b.0).min()?;
    let high = bounds.iter().map(|b| b.1).max()?;
    let rows = i128::from(source.rows?.max(target.rows?).max(1));
    let span = high - low + 1;
    if span > 4 * rows {
        return None;
    }
    let chunks = (rows / i128::from(chunk_size.max(1))).max(1);
    let width = (span + chunks - 1) / chunks;
    let boundaries = (1..chunks)
        .map(|k| low + k * width)
        .take_while(|&b| b <= high)
        .map(|b| i64::try_from(b).map(|b| vec![Value::Int(b)]))
        .collect::<Result<Vec<_>, _>>()
        .ok()?;
    Some(ranges_from_boundaries(boundaries))
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
    fn dense_keys_get_equal_widths_and_sparse_keys_none() {
        let shape = |rows, lo, hi| Shape {
            rows: Some(rows),
            extremes: Some((vec![Value::Int(lo)], vec![Value::Int(hi)])),
        };
        let empty = Shape {
            rows: Some(0),
            extremes: None,
        };
        let ranges = dense_ranges(&shape(1000, 1, 1000), &empty, 250).unwrap();
        assert_eq!(ranges.len(), 4);
        assert_eq!(ranges[1].lower, Some(vec![Value::Int(251)]));
        assert!(dense_ranges(&shape(1000, 1, 1_000_000), &empty, 250).is_none());
        let extremes = dense_ranges(&shape(10, i64::MIN, i64::MIN + 9), &empty, 5).unwrap();
        assert_eq!(extremes.len(), 2);
    }

    #[test]
    fn key_order_model_pairs_only_columns_that_place_every_key_alike() {
        use crate::value::TypeClass;
        let column = |class, decl: &str, collation: Option<&str>| Column {
            name: "k".into(),
            decl_type: decl.into(),
            cast_type: decl.into(),
            class,
            nullable: false,
            has_default: false,
            generated: false,
            collation: collation.map(Into::into),
        };
        let text_c = column(TypeClass::Text, "text", Some("C"));
        let text_bin = column(TypeClass::Text, "varchar(9)", Some("utf8mb4_nopad_bin"));
        let uuid = column(TypeClass::Uuid, "uuid", None);
        let int = column(TypeClass::Int, "bigint", None);
        let date = column(TypeClass::Date, "date", None);
        let en = column(TypeClass::Text, "text", Some("en_US/c/en_US.utf8/2.36"));
        let en_other = column(TypeClass::Text, "text", Some("en_US/c/en_US.utf8/2.31"));
        use KeyOrder::*;
        assert!(columns_order_alike(false, &int, &int, (Integer, Integer)));
        assert!(columns_order_alike(
            false,
            &text_c,
            &text_bin,
            (Bytes, Bytes)
        ));
        assert!(!columns_order_alike(
            false,
            &uuid,
            &text_bin,
            (Bytes, Bytes)
        ));
        assert!(columns_order_alike(
            false,
            &date,
            &date,
            (Chronological, Chronological)
        ));
        assert!(columns_order_alike(true, &en, &en, (Engine, Engine)));
        assert!(!columns_order_alike(false, &en, &en, (Engine, Engine)));
        assert!(!columns_order_alike(true, &en, &en_other, (Engine, Engine)));
        assert!(!columns_order_alike(true, &text_c, &en, (Bytes, Engine)));
        assert!(!columns_order_alike(
            true,
            &int,
            &int,
            (Unordered, Unordered)
        ));
    }

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
