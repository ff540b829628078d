//! MySQL/MariaDB's SQL text and value rules (see [`Dialect`]): the canonical encoding computed
//! on the server with `MD5`, the native row hash, `ON DUPLICATE KEY UPDATE`, declarations, and
//! what MySQL cannot store (non-finite floats, timestamps outside its ranges).

use super::super::types::{integer_range, length_limit, precision_scale, standard_integer};
use super::super::{Column, DefaultValue, Dialect, EngineKind, KeyEquality, KeyOrder, Wire};
use super::MySql;
use crate::value::{TypeClass, Value, UNHASHABLE_ROW};
use anyhow::{bail, Result};

impl Dialect for MySql {
    fn kind(&self) -> EngineKind {
        EngineKind::MySql
    }

    fn quote_ident(&self, ident: &str) -> String {
        format!("`{}`", ident.replace('`', "``"))
    }

    fn string_literal(&self, value: &str) -> String {
        // MySQL treats a backslash in a string literal as an escape character.
        format!("'{}'", value.replace('\'', "''").replace('\\', "\\\\"))
    }

    fn placeholder(&self, _n: usize, _column: &Column) -> String {
        "?".to_string()
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
        Some(native_row_hash_expr(columns))
    }

    fn hex_row_hash_expr(&self, canonical: &[String]) -> Option<String> {
        Some(row_hash_hex(canonical))
    }

    fn native_hex_row_hash_expr(&self, columns: &[Column]) -> Option<String> {
        Some(native_row_hash_hex(columns))
    }

    fn key_hash_expr(&self, canonical_key: &[String]) -> Option<String> {
        Some(key_hash_expr(canonical_key))
    }

    fn sum_expr(&self, hash: &str) -> String {
        sum_expr(hash)
    }

    fn bigint(&self, expr: &str) -> String {
        format!("CAST({expr} AS SIGNED)")
    }

    fn upsert_clause(&self, keys: &[String], others: &[String]) -> String {
        upsert_clause(keys, others)
    }

    fn declare(&self, source: EngineKind, column: &Column, is_key: bool) -> String {
        if source == EngineKind::MySql {
            return column.decl_type.clone();
        }
        let decl = column.decl_type.to_ascii_lowercase();
        match column.class {
            // SQLite keeps any integer of an INT, SMALLINT or TINYINT column in 64 bits.
            TypeClass::Int if source == EngineKind::Sqlite => "bigint".into(),
            TypeClass::Int => match (standard_integer(&decl), integer_range(&decl)) {
                (Some(standard), _) => standard.into(),
                (None, Some((_, max))) if max >= 1 << 63 => "bigint unsigned".into(),
                _ => "bigint".into(),
            },
            TypeClass::Decimal => match precision_scale(&decl) {
                Some((p, s)) => format!("decimal({},{})", p.min(65), s.min(30)),
                None => "decimal(65,30)".into(),
            },
            TypeClass::Float => "double".into(),
            TypeClass::Float32 => "float".into(),
            TypeClass::Bool => "boolean".into(),
            TypeClass::Bytes if is_key => "varbinary(767)".into(),
            TypeClass::Bytes => "longblob".into(),
            TypeClass::Date => "date".into(),
            TypeClass::Time => "time(6)".into(),
            // MySQL's TIMESTAMP ends in 2038; DATETIME holds any UTC instant of years 1000–9999.
            TypeClass::Timestamp | TypeClass::TimestampTz => "datetime(6)".into(),
            TypeClass::Uuid => "char(36)".into(),
            TypeClass::Json => "json".into(),
            // A key compares by code points, without padding, so that the target tells apart
            // every key the source does (`'a'`, `'A'`, `'a '`): see `key_equality`.
            TypeClass::Text | TypeClass::Other if is_key => format!(
                "varchar({}) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin",
                // MySQL indexes at most 3072 bytes, 768 characters of utf8mb4; a longer value is
                // refused when its row is written.
                length_limit(&decl).unwrap_or(768).min(768)
            ),
            // In utf8mb4 whatever the database's default character set; a varchar holds at
            // most 16383 such characters.
            TypeClass::Text | TypeClass::Other => match length_limit(&decl) {
                Some(n) if n <= 16383 => format!("varchar({n}) CHARACTER SET utf8mb4"),
                _ => "longtext CHARACTER SET utf8mb4".into(),
            },
        }
    }

    fn declare_numbered(&self, declared: &str) -> Option<String> {
        let lower = declared.to_ascii_lowercase();
        ["tinyint", "smallint", "mediumint", "int", "bigint"]
            .iter()
            .any(|t| lower.starts_with(t))
            .then(|| format!("{declared} AUTO_INCREMENT"))
    }

    /// `CURRENT_TIMESTAMP` with the column's fractional digits (MySQL refuses another
    /// precision); literals of BLOB, TEXT and JSON columns in parentheses, the only form MySQL
    /// takes for them (MariaDB takes both).
    fn default_sql(&self, default: &DefaultValue, column: &Column) -> Option<String> {
        let decl = column.decl_type.to_ascii_lowercase();
        let long = [
            "tinytext",
            "text",
            "mediumtext",
            "longtext",
            "tinyblob",
            "blob",
            "mediumblob",
            "longblob",
            "json",
        ]
        .iter()
        .any(|t| decl.starts_with(t));
        let literal = |text: String| if long { format!("({text})") } else { text };
        match default {
            DefaultValue::Number(n) => Some(literal(n.clone())),
            DefaultValue::Text(text) => Some(literal(self.string_literal(text))),
            DefaultValue::Bool(b) => Some(literal(if *b { "1" } else { "0" }.into())),
            DefaultValue::CurrentTimestamp
                if matches!(column.class, TypeClass::Timestamp | TypeClass::TimestampTz) =>
            {
                Some(
                    match super::super::types::declared_fraction_digits(&decl, 0) {
                        Some(digits) if digits > 0 => format!("CURRENT_TIMESTAMP({digits})"),
                        _ => "CURRENT_TIMESTAMP".into(),
                    },
                )
            }
            DefaultValue::CurrentDate if column.class == TypeClass::Date => {
                Some("(CURRENT_DATE)".into())
            }
            _ => None,
        }
    }

    /// Not decimals: MySQL compares a DECIMAL column with a bound text value as doubles. Only
    /// the `nopad_bin` collations of UTF-8 and ASCII order by code point, which is UTF-8's byte
    /// order; `utf8mb4_bin` pads with spaces, so `'a'` equals `'a '` and sorts after `'a\t'`.
    /// MariaDB's `UUID` type orders its groups swapped, so it has the engine's order only.
    fn key_order(&self, column: &Column) -> KeyOrder {
        match column.class {
            TypeClass::Int => KeyOrder::Integer,
            TypeClass::Bytes => KeyOrder::Bytes,
            TypeClass::Text
                if column.collation.as_deref().is_some_and(|c| {
                    [
                        "utf8mb4_nopad_bin",
                        "utf8mb3_nopad_bin",
                        "utf8_nopad_bin",
                        "ascii_nopad_bin",
                    ]
                    .contains(&c)
                }) =>
            {
                KeyOrder::Bytes
            }
            TypeClass::Date | TypeClass::Timestamp => KeyOrder::Chronological,
            TypeClass::Text | TypeClass::TimestampTz | TypeClass::Uuid => KeyOrder::Engine,
            _ => KeyOrder::Unordered,
        }
    }

    /// Text is exact only under a binary collation without padding (`utf8mb4_nopad_bin` and
    /// the other `_nopad_bin` ones, MySQL's `utf8mb4_0900_bin`): every other collation is
    /// `PAD SPACE` (`'a'` = `'a '`, `utf8mb4_bin` too), and most also ignore case or accents.
    /// `CHAR(n)` drops trailing spaces whatever its collation; ENUM, SET and the types dbdelta
    /// does not know have their own equality.
    fn key_equality(&self, column: &Column) -> KeyEquality {
        let exact_collation = column
            .collation
            .as_deref()
            .is_some_and(|c| c.ends_with("_nopad_bin") || c == "utf8mb4_0900_bin");
        let fixed_width = column.decl_type.to_ascii_lowercase().starts_with("char(");
        match column.class {
            TypeClass::Text if exact_collation && !fixed_width => KeyEquality::Exact,
            TypeClass::Text | TypeClass::Other => KeyEquality::Coarse,
            _ => KeyEquality::Exact,
        }
    }

    /// The value's UTF-8 bytes: binary strings compare every byte, trailing spaces included.
    fn exact_key_expr(&self, expr: &str) -> String {
        format!("CAST(CONVERT({expr} USING utf8mb4) AS BINARY)")
    }

    /// A decimal is bound as text, and MySQL compares a DECIMAL with a string as doubles
    /// (`0.1` would equal `0.10000000000000000001`): the value is cast to the column's own
    /// declaration first, so the comparison is exact.
    fn null_safe_equal(&self, column: &Column, left: &str, right: &str) -> String {
        match precision_scale(&column.decl_type.to_ascii_lowercase()) {
            Some((precision, scale)) if column.class == TypeClass::Decimal => {
                format!("{left} <=> CAST({right} AS DECIMAL({precision}, {scale}))")
            }
            _ => format!("{left} <=> {right}"),
        }
    }

    fn delete_limited(
        &self,
        table: &str,
        _columns: &[Column],
        condition: &str,
        limit: u64,
    ) -> String {
        format!("DELETE FROM {table} WHERE {condition} LIMIT {limit}")
    }

    /// Declared as the introspected declaration says, character set and collation included.
    fn create_temporary_table(
        &self,
        name: &str,
        _table: &str,
        columns: &[Column],
        ordinal: &str,
    ) -> String {
        let columns: Vec<String> = columns
            .iter()
            .map(|c| format!("{} {}", self.quote_ident(&c.name), c.decl_type))
            .collect();
        format!(
            "CREATE TEMPORARY TABLE {name} ({}, {ordinal} bigint)",
            columns.join(", ")
        )
    }

    /// A rolled-back transaction keeps MySQL's temporary tables: they are dropped by name
    /// (`TEMPORARY` drops no other table).
    fn drop_temporary_table(&self, name: &str) -> String {
        format!("DROP TEMPORARY TABLE IF EXISTS {name}")
    }

    fn fraction_digits(&self, decl: &str) -> Option<usize> {
        super::super::types::declared_fraction_digits(decl, 0)
    }

    fn check_value(&self, value: Value, to: &Column) -> Result<Value> {
        Ok(match value {
            Value::Float(f) if !f.is_finite() => bail!("{f} cannot be stored in MySQL/MariaDB"),
            // Timestamps arrive in canonical form (`crate::value::respell`), which MySQL reads
            // (it takes neither a `T` separator nor a `Z`).
            Value::Text(text)
                if matches!(to.class, TypeClass::Timestamp | TypeClass::TimestampTz) =>
            {
                check_timestamp(&text, &to.decl_type.to_ascii_lowercase())?;
                Value::Text(text)
            }
            Value::Text(text) if to.class == TypeClass::Date => {
                check_date(&text)?;
                Value::Text(text)
            }
            other => other,
        })
    }

    fn defer_constraints(&self) -> Option<&'static str> {
        None
    }

    fn is_transient(&self, code: &str) -> bool {
        // Query or connection killed (SQLSTATE 70100; 1317, 1927), shutdown in progress (1053),
        // server gone away and lost connection (2006, 2013); a deadlock rolled the transaction
        // back (SQLSTATE 40001; 1213) or a lock wait timed out (1205).
        matches!(
            code,
            "70100" | "40001" | "1317" | "1927" | "1053" | "2006" | "2013" | "1213" | "1205"
        )
    }
}

/// MySQL's DATETIME holds years 1000–9999; its TIMESTAMP holds 1970-01-01 00:00:01 to
/// 2038-01-19 03:14:07 UTC. Infinity and years before 1 have no counterpart.
fn check_timestamp(normal: &str, decl: &str) -> Result<()> {
    let year: Option<u32> = normal.get(..4).and_then(|y| y.parse().ok());
    let Some(year) = year.filter(|_| normal.len() >= 19 && !normal.ends_with(" BC")) else {
        bail!("{normal:?} is not a timestamp MySQL/MariaDB can store");
    };
    if decl.starts_with("timestamp") {
        if !("1970-01-01 00:00:01".."2038-01-19 03:14:08").contains(&&normal[..19]) {
            bail!("{normal} is outside MySQL's TIMESTAMP range (1970-01-01 00:00:01 to 2038-01-19 03:14:07 UTC)");
        }
    } else if !(1000..=9999).contains(&year) {
        bail!("{normal} is outside MySQL's DATETIME range (years 1000 to 9999)");
    }
    Ok(())
}

/// MySQL's DATE has no era and no infinity: a year before 1 (PostgreSQL's ` BC`) or
/// `infinity` would fail inside the statement, without naming the row.
fn check_date(text: &str) -> Result<()> {
    // Four digits before the first `-`: no year 10000 or later either.
    let year = text
        .split('-')
        .next()
        .filter(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()));
    if year.is_none() || text.ends_with(" BC") {
        bail!("{text:?} is not a date MySQL/MariaDB can store (no era before year 1, no infinity)");
    }
    Ok(())
}

fn is_unsigned_bigint(column: &Column) -> bool {
    let t = column.decl_type.to_ascii_lowercase();
    t.starts_with("bigint") && t.contains("unsigned")
}

/// How a column is selected for transport, and the wire type it decodes from.
fn select_expr(column: &Column, quoted: &str) -> (String, Wire) {
    match column.class {
        // CAST AS SIGNED would wrap an unsigned BIGINT past 2^63; read it as it is and check.
        TypeClass::Int if is_unsigned_bigint(column) => (quoted.to_string(), Wire::UInt),
        TypeClass::Int | TypeClass::Bool => (format!("CAST({quoted} AS SIGNED)"), Wire::Int),
        TypeClass::Float | TypeClass::Float32 => (quoted.to_string(), Wire::Float),
        TypeClass::Bytes => (quoted.to_string(), Wire::Bytes),
        TypeClass::Date | TypeClass::Time | TypeClass::Timestamp | TypeClass::TimestampTz => {
            (canonical_expr(column, quoted), Wire::Text)
        }
        _ => (format!("CAST({quoted} AS CHAR)"), Wire::Text),
    }
}

/// The canonical text of a column (see [`crate::value`]); NULL stays NULL.
fn canonical_expr(column: &Column, quoted: &str) -> String {
    match column.class {
        TypeClass::Decimal => format!(
            "IF(INSTR(CAST({quoted} AS CHAR), '.') > 0, \
             TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM CAST({quoted} AS CHAR))), CAST({quoted} AS CHAR))"
        ),
        TypeClass::Bytes => format!("LOWER(HEX({quoted}))"),
        TypeClass::Date => format!("DATE_FORMAT({quoted}, '%Y-%m-%d')"),
        TypeClass::Time => format!("TIME_FORMAT({quoted}, '%H:%i:%s.%f')"),
        TypeClass::Timestamp | TypeClass::TimestampTz => {
            format!("DATE_FORMAT({quoted}, '%Y-%m-%d %H:%i:%s.%f')")
        }
        // Hash text as UTF-8 whatever the column's character set.
        TypeClass::Text => format!("CONVERT({quoted} USING utf8mb4)"),
        TypeClass::Uuid => format!("LOWER(CONVERT({quoted} USING utf8mb4))"),
        // MariaDB prints a FLOAT with six digits; widened to DOUBLE it prints exactly.
        TypeClass::Float32 => format!("CAST(CAST({quoted} AS DOUBLE) AS CHAR)"),
        _ => format!("CAST({quoted} AS CHAR)"),
    }
}

/// The row hash as an unsigned BIGINT: the first 16 hex digits of MD5 over the encoded row.
fn row_hash_expr(canonical: &[String]) -> String {
    hex_to_unsigned(&row_hash_hex(canonical))
}

/// [`row_hash_expr`] as its 16 hex digits.
fn row_hash_hex(canonical: &[String]) -> String {
    format!("SUBSTRING(MD5({}), 1, 16)", encoded_row(canonical))
}

/// 16 hex digits as the unsigned BIGINT they spell.
fn hex_to_unsigned(hex: &str) -> String {
    format!("CAST(CONV({hex}, 16, 10) AS UNSIGNED)")
}

/// The row hash between two MySQL databases with identical declarations (character sets
/// included): SHA-256 over each value's own text through `QUOTE` (NULL as the bare word `NULL`,
/// any other value in single quotes with `\` and `'` escaped), joined by commas. Read left to
/// right, every field ends at its first unescaped quote, so separators inside values cannot shift
/// content between columns and NULL differs from every string: the joined text is injective.
/// FLOAT columns are widened to DOUBLE, since MariaDB prints a FLOAT with only six digits;
/// DOUBLE and DECIMAL print exactly. About 25 % cheaper than the canonical expressions; SHA-256
/// rather than MD5 because the server's SHA-256 runs on the CPU's own instructions (MariaDB
/// 10.11, 200k rows of the benchmark table: 0.32 s against 0.44 s).
fn native_row_hash_expr(columns: &[Column]) -> String {
    hex_to_unsigned(&native_row_hash_hex(columns))
}

/// [`native_row_hash_expr`] as its 16 hex digits.
fn native_row_hash_hex(columns: &[Column]) -> String {
    let fields: Vec<String> = columns
        .iter()
        .map(|c| {
            let q = MySql.quote_ident(&c.name);
            match c.class {
                TypeClass::Float32 => format!("QUOTE(CAST({q} AS DOUBLE))"),
                _ => format!("QUOTE({q})"),
            }
        })
        .collect();
    // CONCAT rather than CONCAT_WS: a value whose QUOTE overflows max_allowed_packet is NULL,
    // which CONCAT_WS would skip and CONCAT turns into a NULL hash (see `sum_expr`).
    format!(
        "SUBSTRING(SHA2(CONCAT({}), 256), 1, 16)",
        fields.join(", ',', ")
    )
}

/// The key's portable hash: the first 8 hex digits of MD5 over the encoded key.
fn key_hash_expr(canonical_key: &[String]) -> String {
    format!(
        "CAST(CONV(SUBSTRING(MD5({}), 1, 8), 16, 10) AS UNSIGNED)",
        encoded_row(canonical_key)
    )
}

/// The canonical row encoding of these canonical texts (see [`crate::value`]).
fn encoded_row(canonical: &[String]) -> String {
    let fields: Vec<String> = canonical
        .iter()
        // A CONCAT longer than max_allowed_packet is NULL too: only a NULL value is 'N', and an
        // overflow stays NULL, which makes the row's hash NULL and its chunk's sum refused.
        .map(|t| {
            format!("COALESCE(CONCAT(CHAR_LENGTH({t}), ':', {t}), IF({t} IS NULL, 'N', NULL))")
        })
        .collect();
    format!("CONCAT({})", fields.join(", "))
}

/// The exact (DECIMAL) sum of the row hashes, as text. MySQL's string functions return NULL
/// for a result longer than `max_allowed_packet`, so a huge row has no hash; it adds
/// [`UNHASHABLE_ROW`] instead, which no sum of real hashes reaches, rather than dropping out of
/// the sum (see `Db::hash_sum`).
fn sum_expr(hash: &str) -> String {
    format!("CAST(COALESCE(SUM(IFNULL({hash}, {UNHASHABLE_ROW})), 0) AS CHAR)")
}

/// `ON DUPLICATE KEY UPDATE` taking every non-key column from the inserted row.
fn upsert_clause(keys: &[String], others: &[String]) -> String {
    let sets: Vec<String> = if others.is_empty() {
        keys.iter().map(|k| format!("{k} = {k}")).collect()
    } else {
        others
            .iter()
            .map(|c| format!("{c} = VALUES({c})"))
            .collect()
    };
    format!("ON DUPLICATE KEY UPDATE {}", sets.join(", "))
}

#[cfg(test)]
mod tests {
    use super::check_date;

    #[test]
    fn dates_before_year_1_are_refused() {
        assert!(check_date("0044-03-15").is_ok());
        assert!(check_date("0044-03-15 BC").is_err());
        assert!(check_date("infinity").is_err());
    }
}
