//! PostgreSQL's SQL text and value rules (see [`Dialect`]): the canonical encoding computed on
//! the server with `md5`, the native row hash, `ON CONFLICT` upserts, declarations.

use super::super::types::{integer_range, length_limit, precision_scale, standard_integer};
use super::super::{Column, Dialect, EngineKind, KeyEquality, KeyOrder, Wire};
use super::Postgres;
use crate::value::{TypeClass, Value};
use anyhow::{bail, Result};

impl Dialect for Postgres {
    fn kind(&self) -> EngineKind {
        EngineKind::Postgres
    }

    fn quote_ident(&self, ident: &str) -> String {
        format!("\"{}\"", ident.replace('"', "\"\""))
    }

    fn string_literal(&self, value: &str) -> String {
        format!("'{}'", value.replace('\'', "''"))
    }

    fn placeholder(&self, n: usize, column: &Column) -> String {
        placeholder(n, column)
    }

    fn select_expr(&self, column: &Column, quoted: &str) -> (String, Wire) {
        select_expr(column, quoted)
    }

    fn canonical_expr(&self, column: &Column, quoted: &str) -> Option<String> {
        Some(canonical_expr(column, quoted))
    }

    fn row_hash_expr(&self, canonical: &[String]) -> Option<String> {
        Some(row_hash_expr(canonical))
    }

    fn native_row_hash_expr(&self, columns: &[Column]) -> Option<String> {
        let fields: Vec<String> = columns
            .iter()
            .map(|c| exact_hash_field(c, &self.quote_ident(&c.name)))
            .collect();
        Some(native_row_hash_expr(&fields))
    }

    fn key_hash_expr(&self, canonical_key: &[String]) -> Option<String> {
        Some(key_hash_expr(canonical_key))
    }

    /// A twentieth of the portable hash's cost (measured on 1M UUIDs: 0.06 s against 1.2 s).
    fn native_key_hash_expr(&self, key: &[Column]) -> Option<String> {
        let fields: Vec<String> = key
            .iter()
            .map(|c| exact_hash_field(c, &self.quote_ident(&c.name)))
            .collect();
        Some(format!(
            "(hash_record_extended(ROW({}), 0) & 4294967295)",
            fields.join(", ")
        ))
    }

    fn sum_expr(&self, hash: &str) -> String {
        sum_expr(hash)
    }

    fn bigint(&self, expr: &str) -> String {
        format!("CAST({expr} AS BIGINT)")
    }

    fn insert_overriding(&self) -> &'static str {
        // Harmless where the table has no identity column (PostgreSQL 10 and later).
        " OVERRIDING SYSTEM VALUE"
    }

    fn upsert_clause(&self, keys: &[String], others: &[String]) -> String {
        on_conflict_clause(keys, others)
    }

    fn declare(&self, source: EngineKind, column: &Column, is_key: bool) -> String {
        if source == EngineKind::Postgres {
            return column.decl_type.clone();
        }
        let decl = column.decl_type.to_ascii_lowercase();
        match column.class {
            TypeClass::Int => match (standard_integer(&decl), integer_range(&decl)) {
                (Some(standard), _) => standard.into(),
                (None, Some((_, max))) if max >= 1 << 63 => "numeric(20,0)".into(),
                _ => "bigint".into(),
            },
            TypeClass::Decimal => match precision_scale(&decl) {
                Some((p, s)) => format!("numeric({p},{s})"),
                None => "numeric".into(),
            },
            TypeClass::Float => "double precision".into(),
            TypeClass::Float32 => "real".into(),
            TypeClass::Bool => "boolean".into(),
            TypeClass::Bytes => "bytea".into(),
            TypeClass::Date => "date".into(),
            TypeClass::Time => "time(6)".into(),
            TypeClass::Timestamp => "timestamp(6)".into(),
            TypeClass::TimestampTz => "timestamptz".into(),
            TypeClass::Uuid => "uuid".into(),
            TypeClass::Json => "jsonb".into(),
            TypeClass::Text | TypeClass::Other => {
                let text = match length_limit(&decl) {
                    Some(n) => format!("varchar({n})"),
                    None => "text".into(),
                };
                // A key under the byte-wise `C` collation tells apart every key and orders by
                // code points, as MariaDB's `utf8mb4_nopad_bin` does, so chunks can be ranges.
                if is_key {
                    format!("{text} COLLATE \"C\"")
                } else {
                    text
                }
            }
        }
    }

    /// `citext` folds case whatever its collation, so it has the engine's order only.
    fn key_order(&self, column: &Column) -> KeyOrder {
        match column.class {
            TypeClass::Int => KeyOrder::Integer,
            TypeClass::Uuid | TypeClass::Bytes => KeyOrder::Bytes,
            TypeClass::Text
                if column.decl_type != "citext"
                    && column
                        .collation
                        .as_deref()
                        .is_some_and(byte_order_collation) =>
            {
                KeyOrder::Bytes
            }
            TypeClass::Date | TypeClass::Timestamp => KeyOrder::Chronological,
            TypeClass::Text | TypeClass::Decimal | TypeClass::Time | TypeClass::TimestampTz => {
                KeyOrder::Engine
            }
            _ => KeyOrder::Unordered,
        }
    }

    /// Deterministic collations take two texts for one only when their bytes are equal, so
    /// `text` and `varchar` keys are exact under every collation but a nondeterministic one.
    /// `citext` folds case, `character(n)` ignores trailing spaces, and a type dbdelta does not
    /// know has its own equality (`interval '1 day'` equals `interval '24 hours'`).
    fn key_equality(&self, column: &Column) -> KeyEquality {
        let nondeterministic = column
            .collation
            .as_deref()
            .is_some_and(|c| c.ends_with("/nondeterministic"));
        let decl = column.decl_type.as_str();
        match column.class {
            TypeClass::Text
                if nondeterministic
                    || decl == "citext"
                    || decl == "bpchar"
                    || decl.starts_with("character(") =>
            {
                KeyEquality::Coarse
            }
            TypeClass::Other => KeyEquality::Coarse,
            _ => KeyEquality::Exact,
        }
    }

    /// The value's text under the byte-wise `C` collation.
    fn exact_key_expr(&self, expr: &str) -> String {
        format!("({expr})::text COLLATE \"C\"")
    }

    /// `json` has no equality operator: its values are compared as `jsonb`.
    fn null_safe_equal(&self, column: &Column, left: &str, right: &str) -> String {
        match column.class {
            TypeClass::Json => format!("({left})::jsonb IS NOT DISTINCT FROM ({right})::jsonb"),
            _ => format!("{left} IS NOT DISTINCT FROM {right}"),
        }
    }

    /// PostgreSQL's `DELETE` takes no `LIMIT`: the rows are picked by their physical address,
    /// with the partition's `tableoid`, since `ctid`s repeat across a partitioned table's parts.
    fn delete_limited(&self, table: &str, condition: &str, limit: u64) -> String {
        format!(
            "DELETE FROM {table} WHERE (tableoid, ctid) IN \
             (SELECT tableoid, ctid FROM {table} WHERE {condition} LIMIT {limit})"
        )
    }

    /// `CREATE TABLE … AS SELECT` keeps each column's type, modifiers and collation (a domain's
    /// and `citext` too), whatever schema they live in. Dropped at the end of the transaction.
    fn create_temporary_table(
        &self,
        name: &str,
        table: &str,
        columns: &[Column],
        ordinal: &str,
    ) -> String {
        let columns: Vec<String> = columns.iter().map(|c| self.quote_ident(&c.name)).collect();
        format!(
            "CREATE TEMPORARY TABLE {name} ON COMMIT DROP AS SELECT {}, CAST(0 AS bigint) AS {ordinal} \
             FROM {table} WITH NO DATA",
            columns.join(", ")
        )
    }

    fn drop_temporary_table(&self, name: &str) -> String {
        format!("DROP TABLE IF EXISTS pg_temp.{name}")
    }

    /// Sessions plan every execution with its values (`plan_cache_mode`, see `connect`), so the
    /// planner sizes the semi-join against a bound set by its real length.
    fn binds_integer_sets(&self) -> bool {
        true
    }

    fn ranges_over_row_values(&self) -> bool {
        true
    }

    fn fraction_digits(&self, decl: &str) -> Option<usize> {
        super::super::types::declared_fraction_digits(decl, 6)
    }

    fn check_value(&self, value: Value, to: &Column) -> Result<Value> {
        if let Value::Text(text) = &value {
            if text.contains('\0') {
                bail!("PostgreSQL text cannot hold the character U+0000");
            }
            if to.class == TypeClass::Time {
                check_time(text)?;
            }
        }
        Ok(value)
    }

    fn defer_constraints(&self) -> Option<&'static str> {
        Some(super::DEFER_CONSTRAINTS)
    }

    fn is_transient(&self, code: &str) -> bool {
        // Admin shutdown, crash shutdown, cannot connect now; serialization failure, deadlock;
        // connection exceptions (08…).
        matches!(code, "57P01" | "57P02" | "57P03" | "40001" | "40P01") || code.starts_with("08")
    }
}

/// PostgreSQL's `time` runs from `00:00:00` to `24:00:00`; MySQL's TIME holds durations of
/// ±838 hours, which would fail inside the statement without naming the row.
fn check_time(text: &str) -> Result<()> {
    let hours: Option<u32> = text.split_once(':').and_then(|(h, _)| h.parse().ok());
    let past_midnight = text
        .get(3..)
        .is_some_and(|rest| rest.bytes().any(|b| (b'1'..=b'9').contains(&b)));
    match hours {
        Some(h) if h < 24 || (h == 24 && !past_midnight) => Ok(()),
        _ => bail!("{text} is not a time of day PostgreSQL can store (00:00:00 to 24:00:00)"),
    }
}

/// `$n`, cast to the column's type so that text-carried values (decimals, timestamps, UUIDs…)
/// arrive typed, and out-of-range values fail instead of being altered.
fn placeholder(n: usize, column: &Column) -> String {
    format!("CAST(${n} AS {})", column.cast_type)
}

/// How a column is selected for transport, and the wire type it decodes from.
fn select_expr(column: &Column, quoted: &str) -> (String, Wire) {
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
fn canonical_expr(column: &Column, quoted: &str) -> String {
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

/// Whether a collation as introspection names it (`name/provider/locale…`, the database default
/// as `default/provider/locale…`) compares text by its bytes: `C`, `POSIX` and `ucs_basic`, or a
/// database default of the libc `C`/`POSIX` locale.
fn byte_order_collation(collation: &str) -> bool {
    let mut parts = collation.split('/');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some("C" | "POSIX" | "ucs_basic"), _, _)
            | (Some("default"), Some("c"), Some("C" | "POSIX"))
    )
}

/// The row hash as a signed bigint: the first 16 hex digits of MD5 over the encoded row.
fn row_hash_expr(canonical: &[String]) -> String {
    format!(
        "('x' || substr(md5({}), 1, 16))::bit(64)::int8",
        encoded_row(canonical)
    )
}

/// The row hash between two PostgreSQL databases with identical declarations, from fields
/// that [`exact_hash_field`] made exact: `hash_record_extended` gives a 64-bit fingerprint of
/// the row (a linear combination of the fields' 64-bit hashes, so any change of one field
/// changes it), and `hashtextextended` of that fingerprint's digits mixes all its 64 bits
/// non-linearly, so values swapped or rotated between rows do not cancel in a chunk's sum. Half
/// the cost of hashing the row's text (the argument is in the module documentation of
/// [`crate::value`]).
fn native_row_hash_expr(fields: &[String]) -> String {
    format!(
        "hashtextextended(hash_record_extended(ROW({}), 0)::text, 0)",
        fields.join(", ")
    )
}

/// A column as `hash_record_extended` hashes it exactly: through each type's own 64-bit hash
/// where that hash is a function of the whole value (32-bit integers, dates, booleans, floats,
/// numerics, UUIDs, bytes), through the exact `*send` bytes where the type's hash folds 64 bits
/// into 32 (bigint, time, timestamps), and as text under the byte-wise `C` collation where the
/// type's hash follows its equality rather than its value (text under a nondeterministic
/// collation, `citext`, `jsonb`) and for every other type (their text is exact).
fn exact_hash_field(column: &Column, quoted: &str) -> String {
    let decl = column.decl_type.as_str();
    match column.class {
        TypeClass::Int if decl == "smallint" || decl == "integer" => quoted.to_string(),
        TypeClass::Int => format!("int8send({quoted}::int8)"),
        TypeClass::Time => format!("time_send({quoted}::time)"),
        TypeClass::Timestamp => format!("timestamp_send({quoted}::timestamp)"),
        TypeClass::TimestampTz => format!("timestamptz_send({quoted}::timestamptz)"),
        TypeClass::Decimal
        | TypeClass::Float
        | TypeClass::Float32
        | TypeClass::Bool
        | TypeClass::Bytes
        | TypeClass::Date
        | TypeClass::Uuid => quoted.to_string(),
        TypeClass::Text | TypeClass::Json | TypeClass::Other => {
            format!("{quoted}::text COLLATE \"C\"")
        }
    }
}

/// The canonical row encoding of these canonical texts (see [`crate::value`]).
fn encoded_row(canonical: &[String]) -> String {
    canonical
        .iter()
        .map(|t| format!("COALESCE(length({t})::text || ':' || {t}, 'N')"))
        .collect::<Vec<_>>()
        .join(" || ")
}

/// The key's portable hash: the first 8 hex digits of MD5 over the encoded key.
fn key_hash_expr(canonical_key: &[String]) -> String {
    format!(
        "('x' || substr(md5({}), 1, 8))::bit(32)::int8",
        encoded_row(canonical_key)
    )
}

/// The exact (numeric) sum of the row hashes, as text.
fn sum_expr(hash: &str) -> String {
    format!("COALESCE(SUM({hash}), 0)::text")
}

/// `ON CONFLICT (key) DO UPDATE SET …` taking every non-key column from the inserted row (also
/// SQLite's form).
pub(in crate::engine) fn on_conflict_clause(keys: &[String], others: &[String]) -> String {
    if others.is_empty() {
        format!("ON CONFLICT ({}) DO NOTHING", keys.join(", "))
    } else {
        let sets: Vec<String> = others
            .iter()
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        format!(
            "ON CONFLICT ({}) DO UPDATE SET {}",
            keys.join(", "),
            sets.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::check_time;

    #[test]
    fn times_of_day_run_to_24_00() {
        for fits in ["00:00:00", "23:59:59.999999", "24:00:00", "24:00:00.000000"] {
            assert!(check_time(fits).is_ok(), "{fits}");
        }
        for refused in [
            "24:00:01",
            "24:00:00.5",
            "25:00:00",
            "-01:00:00",
            "838:59:59",
        ] {
            assert!(check_time(refused).is_err(), "{refused}");
        }
    }
}
