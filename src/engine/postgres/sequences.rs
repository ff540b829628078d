//! Moving the sequences behind `serial` and identity columns past the copied keys (part of
//! PostgreSQL's extension, see `Db::postgres`).

use super::super::{Column, Dialect, TableSide};
use super::Postgres;
use crate::value::TypeClass;
use anyhow::{Context, Result};
use sqlx::Row;

/// Advances every sequence that fills a column of `side` (`serial` columns and identity
/// columns, found by `pg_get_serial_sequence`) so that its next value is above the column's
/// largest value. A sequence already past it is left alone: it never moves back. Returns
/// `(sequence, value it was set to)` for each sequence moved.
pub(in crate::engine) async fn advance_sequences(
    db: impl sqlx::Acquire<'_, Database = sqlx::Postgres>,
    side: &TableSide,
) -> Result<Vec<(String, i64)>> {
    let mut conn = db.acquire().await?;
    let mut advanced = Vec::new();
    let filled = |c: &&Column| c.class == TypeClass::Int && c.has_default;
    for column in side.columns.iter().filter(filled) {
        let quoted = Postgres.quote_ident(&column.name);
        let state = sqlx::query(&format!(
            "SELECT s.seqrelid::regclass::text, (SELECT max({quoted})::int8 FROM {}), \
                    pg_sequence_last_value(s.seqrelid), s.seqstart, s.seqincrement \
             FROM pg_sequence s \
             WHERE s.seqrelid = to_regclass(pg_get_serial_sequence($1, $2))",
            side.table
        ))
        .bind(&side.table)
        .bind(&column.name)
        .fetch_optional(&mut *conn)
        .await
        .with_context(|| format!("cannot read the sequence of column {:?}", column.name))?;
        // No sequence owns the column (a plain default), or the table is empty.
        let Some(state) = state else {
            continue;
        };
        let sequence: String = state.try_get(0)?;
        let Some(max) = state.try_get::<Option<i64>, _>(1)? else {
            continue;
        };
        let (last, start, increment) = (state.try_get(2)?, state.try_get(3)?, state.try_get(4)?);
        if let Some(value) = sequence_catch_up(max, last, start, increment) {
            sqlx::query("SELECT setval(to_regclass($1), $2)")
                .bind(&sequence)
                .bind(value)
                .execute(&mut *conn)
                .await
                .with_context(|| format!("cannot advance sequence {sequence} to {value}"))?;
            advanced.push((sequence, value));
        }
    }
    Ok(advanced)
}

/// The value to `setval` a sequence to so that its next value is above `max`, or `None` when it
/// already is. `last` is the last value it handed out (`None`: never used, so `start` is next).
/// Descending sequences count away from the copied keys and are left alone.
fn sequence_catch_up(max: i64, last: Option<i64>, start: i64, increment: i64) -> Option<i64> {
    if increment <= 0 {
        return None;
    }
    let next = match last {
        // Past the end of the range: nextval fails whatever setval does.
        Some(last) => last.checked_add(increment)?,
        None => start,
    };
    (next <= max).then_some(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_only_move_forward() {
        assert_eq!(sequence_catch_up(100, None, 1, 1), Some(100));
        assert_eq!(sequence_catch_up(100, Some(40), 1, 1), Some(100));
        assert_eq!(sequence_catch_up(100, Some(100), 1, 1), None);
        assert_eq!(sequence_catch_up(100, Some(500), 1, 1), None);
        assert_eq!(sequence_catch_up(100, None, 1000, 1), None);
        assert_eq!(sequence_catch_up(100, Some(85), 1, 10), Some(100));
        assert_eq!(sequence_catch_up(100, Some(95), 1, 10), None);
        assert_eq!(sequence_catch_up(100, Some(1), 1, -1), None);
    }
}
