//! PostgreSQL: connecting, introspection through the system catalogs, and the SQL pieces of the
//! canonical row encoding (computed on the server with `md5`).

use super::{Column, SourceTable, TableInfo, TableSide, Wire};
use crate::config::DbUrl;
use crate::value::TypeClass;
use crate::value::Value;
use anyhow::{Context, Result};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::Row;
use std::str::FromStr;
use std::time::Duration;

pub async fn connect(
    url: &DbUrl,
    connections: u32,
    timeout: Duration,
    disable_integrity: bool,
) -> Result<PgPool> {
    let mut options = PgConnectOptions::from_str(url.secret())
        .map_err(|e| {
            anyhow::anyhow!(
                "invalid PostgreSQL URL {}: {}",
                url.display,
                strip_url(&e.to_string(), url)
            )
        })?
        .application_name("dbdelta")
        // Floats print exactly: PostgreSQL 12+ in their shortest round-trip form for any
        // positive value, older servers with 17 significant digits for 3. The canonical encoding
        // and the native row hash rely on it.
        .extra_float_digits(3);
    if disable_integrity {
        // Triggers, foreign keys included, do not fire for replica sessions; a superuser (or a
        // role granted the parameter) may set it, which the first connection finds out.
        options = options.options([("session_replication_role", "replica")]);
    }
    super::check_connection::<PgConnection>(&options, timeout)
        .await
        .with_context(|| format!("cannot connect to PostgreSQL at {}", url.display))?;
    Ok(PgPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(timeout)
        .connect_lazy_with(options))
}

/// sqlx may echo the URL it could not parse; never let the password through.
fn strip_url(message: &str, url: &DbUrl) -> String {
    message.replace(url.secret(), &url.display)
}

/// `schema.table` or `table` (found through `search_path`) as a `regclass` literal.
fn regclass_text(name: &str) -> String {
    super::sql::quote_table(crate::config::EngineKind::Postgres, name)
}

pub async fn table_info(pool: &PgPool, name: &str) -> Result<Option<TableInfo>> {
    let rel = regclass_text(name);
    let rows = sqlx::query(
        "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), format_type(a.atttypid, NULL), \
                COALESCE(bt.typname, t.typname)::text, NOT a.attnotnull, \
                a.atthasdef OR a.attidentity <> '', a.attgenerated <> '' \
         FROM pg_attribute a \
         JOIN pg_type t ON t.oid = a.atttypid \
         LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype \
         WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped \
         ORDER BY a.attnum",
    )
    .bind(&rel)
    .fetch_all(pool)
    .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut columns = Vec::with_capacity(rows.len());
    for r in rows {
        let base: String = r.try_get(3)?;
        let cast_type: String = r.try_get(2)?;
        columns.push(Column {
            name: r.try_get(0)?,
            decl_type: r.try_get(1)?,
            // Casting to the type without its modifier keeps length checks on assignment:
            // an explicit cast to varchar(n) or char(n) would truncate silently.
            cast_type: match base.as_str() {
                "bpchar" => "text".to_string(),
                "bit" => "varbit".to_string(),
                _ => cast_type,
            },
            class: classify(&base),
            nullable: r.try_get(4)?,
            has_default: r.try_get(5)?,
            generated: r.try_get(6)?,
        });
    }
    let keys = sqlx::query(
        "SELECT i.indisprimary, array_agg(a.attname::text ORDER BY k.ord) \
         FROM pg_index i \
         CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
         WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indpred IS NULL \
           AND i.indexprs IS NULL AND k.ord <= i.indnkeyatts \
         GROUP BY i.indexrelid, i.indisprimary \
         ORDER BY i.indisprimary DESC, i.indexrelid",
    )
    .bind(&rel)
    .fetch_all(pool)
    .await?;
    let mut primary_key = Vec::new();
    let mut unique_keys = Vec::new();
    for r in keys {
        let is_primary: bool = r.try_get(0)?;
        let cols: Vec<String> = r.try_get(1)?;
        if is_primary {
            primary_key = cols.clone();
        }
        unique_keys.push(cols);
    }
    Ok(Some(TableInfo {
        columns,
        primary_key,
        unique_keys,
    }))
}

/// The user tables of the database, as a job file names them: bare in `public`, schema-qualified
/// elsewhere; partitions are left out (their parent is the table), and so are system schemas.
pub async fn list_tables(pool: &PgPool) -> Result<Vec<SourceTable>> {
    let rows = sqlx::query(
        "SELECT n.nspname::text, c.relname::text, \
                CASE WHEN c.reltuples >= 0 THEN c.reltuples::int8 END \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition \
           AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' \
         ORDER BY n.nspname <> 'public', n.nspname, c.relname",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let schema: String = r.try_get(0)?;
            let table: String = r.try_get(1)?;
            let estimate: Option<i64> = r.try_get(2)?;
            Ok(SourceTable {
                naming_conflict: schema.contains('.') || table.contains('.'),
                name: if schema == "public" {
                    table
                } else {
                    format!("{schema}.{table}")
                },
                rows_estimate: estimate.and_then(|n| u64::try_from(n).ok()),
            })
        })
        .collect()
}

/// Advances every sequence that fills a column of `side` (`serial` columns and identity
/// columns, found by `pg_get_serial_sequence`) so that its next value is above the column's
/// largest value. A sequence already past it is left alone: it never moves back. Returns
/// `(sequence, value it was set to)` for each sequence moved.
pub async fn advance_sequences(
    db: impl sqlx::Acquire<'_, Database = sqlx::Postgres>,
    side: &TableSide,
) -> Result<Vec<(String, i64)>> {
    let mut conn = db.acquire().await?;
    let mut advanced = Vec::new();
    let filled = |c: &&Column| c.class == TypeClass::Int && c.has_default;
    for column in side.columns.iter().filter(filled) {
        let quoted = super::sql::quote_ident(crate::config::EngineKind::Postgres, &column.name);
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

/// Maps a base type name (`pg_type.typname`) to its class.
fn classify(typname: &str) -> TypeClass {
    match typname {
        "int2" | "int4" | "int8" => TypeClass::Int,
        "numeric" => TypeClass::Decimal,
        "float4" => TypeClass::Float32,
        "float8" => TypeClass::Float,
        "bool" => TypeClass::Bool,
        "text" | "varchar" | "bpchar" | "name" | "citext" => TypeClass::Text,
        "bytea" => TypeClass::Bytes,
        "date" => TypeClass::Date,
        "time" => TypeClass::Time,
        "timestamp" => TypeClass::Timestamp,
        "timestamptz" => TypeClass::TimestampTz,
        "uuid" => TypeClass::Uuid,
        "json" | "jsonb" => TypeClass::Json,
        _ => TypeClass::Other,
    }
}

/// `$n`, cast to the column's type so that text-carried values (decimals, timestamps, UUIDs…)
/// arrive typed, and out-of-range values fail instead of being altered.
pub fn placeholder(n: usize, column: &Column) -> String {
    format!("CAST(${n} AS {})", column.cast_type)
}

/// How a column is selected for transport, and the wire type it decodes from.
pub fn select_expr(column: &Column, quoted: &str) -> (String, Wire) {
    match column.class {
        TypeClass::Int => (format!("{quoted}::int8"), Wire::Int),
        TypeClass::Float | TypeClass::Float32 => (format!("{quoted}::float8"), Wire::Float),
        TypeClass::Bool => (quoted.to_string(), Wire::Bool),
        TypeClass::Bytes => (quoted.to_string(), Wire::Bytes),
        TypeClass::Date | TypeClass::Time | TypeClass::Timestamp | TypeClass::TimestampTz => {
            (canonical_expr(column, quoted), Wire::Text)
        }
        _ => (format!("{quoted}::text"), Wire::Text),
    }
}

/// The canonical text of a column (see [`crate::value`]); NULL stays NULL.
pub fn canonical_expr(column: &Column, quoted: &str) -> String {
    match column.class {
        TypeClass::Decimal => format!("trim_scale({quoted})::text"),
        TypeClass::Bool => format!("{quoted}::int::text"),
        TypeClass::Bytes => format!("encode({quoted}, 'hex')"),
        // Through `interval`, so that `24:00:00` keeps its hours instead of becoming midnight.
        TypeClass::Time => format!("to_char({quoted}::interval, 'HH24:MI:SS.US')"),
        // Sessions run in UTC (sqlx sets TimeZone), so time-zone aware values print in UTC.
        // The era is printed and ` AD` dropped, so years before 1 keep their ` BC`. Infinite
        // timestamps have no digits; they keep their text.
        TypeClass::Timestamp | TypeClass::TimestampTz => format!(
            "CASE WHEN isfinite({quoted}) THEN replace(to_char({quoted}, 'YYYY-MM-DD HH24:MI:SS.US BC'), ' AD', '') ELSE {quoted}::text END"
        ),
        TypeClass::Json => format!("{quoted}::jsonb::text"),
        // A `real` is widened to its exact double value, never the other side rounded.
        TypeClass::Float | TypeClass::Float32 => format!("{quoted}::float8::text"),
        _ => format!("{quoted}::text"),
    }
}

/// The row hash as a signed bigint: the first 16 hex digits of MD5 over the encoded row.
pub fn row_hash_expr(canonical: &[String]) -> String {
    format!(
        "('x' || substr(md5({}), 1, 16))::bit(64)::int8",
        encoded_row(canonical)
    )
}

/// The row hash between two PostgreSQL databases with identical declarations: the 64-bit
/// `hashtextextended` of the row's text under the byte-wise `C` collation. The record text is
/// injective and exact for every type, and the hash mixes every byte of it (the argument is in
/// the module documentation of [`crate::value`]).
pub fn native_row_hash_expr(quoted_columns: &[String]) -> String {
    format!(
        "hashtextextended(ROW({})::text COLLATE \"C\", 0)",
        quoted_columns.join(", ")
    )
}

/// The canonical row encoding of these canonical texts (see [`crate::value`]).
fn encoded_row(canonical: &[String]) -> String {
    canonical
        .iter()
        .map(|t| format!("COALESCE(length({t})::text || ':' || {t}, 'N')"))
        .collect::<Vec<_>>()
        .join(" || ")
}

/// The key's bucket: the first 8 hex digits of MD5 over the encoded key, modulo `buckets`.
pub fn bucket_expr(canonical_key: &[String], buckets: u64) -> String {
    format!(
        "(('x' || substr(md5({}), 1, 8))::bit(32)::int8 % {buckets})",
        encoded_row(canonical_key)
    )
}

/// The exact (numeric) sum of the row hashes, as text.
pub fn sum_expr(hash: &str) -> String {
    format!("COALESCE(SUM({hash}), 0)::text")
}

/// Appends `rows` to `table` with `COPY … FROM STDIN` (text format) on `conn`: the fastest way
/// into PostgreSQL, used for chunks the target does not have yet.
pub async fn copy_rows(
    conn: &mut PgConnection,
    table: &str,
    columns: &[String],
    rows: &[Vec<Value>],
) -> Result<u64> {
    let statement = format!("COPY {table} ({}) FROM STDIN", columns.join(", "));
    let mut copy = conn.copy_in_raw(&statement).await?;
    let mut buffer = String::with_capacity(1 << 20);
    for row in rows {
        for (i, value) in row.iter().enumerate() {
            if i > 0 {
                buffer.push('\t');
            }
            push_copy_text(&mut buffer, value);
        }
        buffer.push('\n');
        if buffer.len() >= 1 << 20 {
            copy.send(std::mem::take(&mut buffer).into_bytes()).await?;
        }
    }
    if !buffer.is_empty() {
        copy.send(buffer.into_bytes()).await?;
    }
    Ok(copy.finish().await?)
}

/// One value in COPY's text format: `\N` for NULL, backslash escapes for text, `\\x…` for bytes.
fn push_copy_text(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("\\N"),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) if f.is_nan() => out.push_str("NaN"),
        Value::Float(f) if f.is_infinite() => {
            out.push_str(if *f > 0.0 { "Infinity" } else { "-Infinity" })
        }
        // Scientific notation with the shortest round-trip digits: parsed back exactly.
        Value::Float(f) => out.push_str(&format!("{f:e}")),
        Value::Bool(b) => out.push(if *b { 't' } else { 'f' }),
        Value::Bytes(b) => {
            out.push_str("\\\\x");
            out.push_str(&hex::encode(b));
        }
        Value::Text(t) => {
            for c in t.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c => out.push(c),
                }
            }
        }
    }
}

/// Opens a chunk's read snapshot (see `Db::snapshot`).
pub const SNAPSHOT_BEGIN: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";

/// Makes a `--defer-constraints` transaction check `DEFERRABLE` constraints at commit.
pub const DEFER_CONSTRAINTS: &str = "SET CONSTRAINTS ALL DEFERRED";

/// The foreign keys among `tables` (quoted names), as `(child, parent)` positions in the list.
pub async fn foreign_keys(pool: &PgPool, tables: &[String]) -> Result<Vec<(usize, usize)>> {
    let rows = sqlx::query(
        "SELECT DISTINCT child.i, parent.i \
         FROM pg_constraint c \
         JOIN unnest($1::text[]) WITH ORDINALITY AS child(name, i) \
           ON c.conrelid = to_regclass(child.name) \
         JOIN unnest($1::text[]) WITH ORDINALITY AS parent(name, i) \
           ON c.confrelid = to_regclass(parent.name) \
         WHERE c.contype = 'f'",
    )
    .bind(tables)
    .fetch_all(pool)
    .await
    .context("cannot read the foreign keys")?;
    rows.iter()
        .map(|r| {
            let (child, parent): (i64, i64) = (r.try_get(0)?, r.try_get(1)?);
            Ok((child as usize - 1, parent as usize - 1))
        })
        .collect()
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

    #[test]
    fn copy_text_escapes_what_copy_reads_specially() {
        let mut out = String::new();
        for v in [
            Value::Null,
            Value::Text("a\tb\\c\nd".into()),
            Value::Bytes(vec![0, 255]),
            Value::Float(0.1),
            Value::Bool(false),
        ] {
            push_copy_text(&mut out, &v);
            out.push('|');
        }
        assert_eq!(out, "\\N|a\\tb\\\\c\\nd|\\\\x00ff|1e-1|f|");
    }
}
