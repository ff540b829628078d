//! SQLite's SQL text and value rules (see [`Dialect`]). SQLite has no MD5 in SQL, so its rows
//! are hashed in-process by the same definition ([`crate::value::row_hash`]); its declared types
//! are only hints, so values are stored as they come and checked only for what SQLite would
//! change (NaN becomes NULL, long decimals become doubles).

use super::super::{Column, DefaultValue, Dialect, EngineKind, KeyEquality, KeyOrder, Wire};
use super::Sqlite;
use crate::value::{canonical_number, TypeClass, Value};
use anyhow::{bail, Result};

impl Dialect for Sqlite {
    fn kind(&self) -> EngineKind {
        EngineKind::Sqlite
    }

    fn quote_ident(&self, ident: &str) -> String {
        format!("\"{}\"", ident.replace('"', "\"\""))
    }

    fn string_literal(&self, value: &str) -> String {
        format!("'{}'", value.replace('\'', "''"))
    }

    fn placeholder(&self, _n: usize, _column: &Column) -> String {
        "?".to_string()
    }

    /// Columns are read as stored; values decode by their storage class (see `RowValues`).
    fn select_expr(&self, _column: &Column, quoted: &str) -> (String, Wire) {
        (quoted.to_string(), Wire::Any)
    }

    fn canonical_expr(&self, _column: &Column, _quoted: &str) -> Option<String> {
        None
    }

    fn row_hash_expr(&self, _canonical: &[String]) -> Option<String> {
        None
    }

    fn native_row_hash_expr(&self, _columns: &[Column]) -> Option<String> {
        None
    }

    fn key_hash_expr(&self, _canonical_key: &[String]) -> Option<String> {
        None
    }

    fn sum_expr(&self, hash: &str) -> String {
        format!("CAST(COALESCE(SUM({hash}), 0) AS TEXT)")
    }

    fn bigint(&self, expr: &str) -> String {
        format!("CAST({expr} AS INTEGER)")
    }

    /// SQLite takes a list of row values only as a subquery.
    fn row_values_in(&self, key: &str, rows: &[String]) -> String {
        let rows: Vec<String> = rows.iter().map(|r| format!("VALUES {r}")).collect();
        format!("{key} IN ({})", rows.join(" UNION ALL "))
    }

    fn upsert_clause(&self, keys: &[String], others: &[String]) -> String {
        super::super::postgres::on_conflict_clause(keys, others)
    }

    fn declare(&self, source: EngineKind, column: &Column, _is_key: bool) -> String {
        if source == EngineKind::Sqlite {
            return column.decl_type.clone();
        }
        match column.class {
            TypeClass::Int => "INTEGER",
            // SQLite would keep a long decimal as a lossy double; text keeps it exact.
            TypeClass::Decimal => "TEXT",
            TypeClass::Float | TypeClass::Float32 => "REAL",
            TypeClass::Bool => "BOOLEAN",
            TypeClass::Bytes => "BLOB",
            TypeClass::Date => "DATE",
            TypeClass::Time => "TIME",
            TypeClass::Timestamp => "DATETIME",
            TypeClass::TimestampTz => "TIMESTAMP",
            TypeClass::Json => "JSON",
            TypeClass::Uuid | TypeClass::Text | TypeClass::Other => "TEXT",
        }
        .to_string()
    }

    /// A single-column `INTEGER` primary key is the rowid, which SQLite assigns when a row
    /// omits it.
    fn declare_numbered(&self, _declared: &str) -> Option<String> {
        Some("INTEGER".into())
    }

    /// Any column takes any literal; `CURRENT_TIMESTAMP` and `CURRENT_DATE` are text in UTC.
    fn default_sql(&self, default: &DefaultValue, column: &Column) -> Option<String> {
        match default {
            DefaultValue::Number(n) => Some(n.clone()),
            DefaultValue::Text(text) => Some(self.string_literal(text)),
            DefaultValue::Bool(b) => Some(if *b { "1" } else { "0" }.into()),
            DefaultValue::CurrentTimestamp
                if matches!(column.class, TypeClass::Timestamp | TypeClass::TimestampTz) =>
            {
                Some("CURRENT_TIMESTAMP".into())
            }
            DefaultValue::CurrentDate if column.class == TypeClass::Date => {
                Some("CURRENT_DATE".into())
            }
            _ => None,
        }
    }

    /// Only integers: any column may hold values of every storage class, which sort by class
    /// before value, so no other declaration promises an order another engine shares.
    fn key_order(&self, column: &Column) -> KeyOrder {
        match column.class {
            TypeClass::Int => KeyOrder::Integer,
            _ => KeyOrder::Unordered,
        }
    }

    /// Text under the default `BINARY` collation is exact; `NOCASE` folds ASCII case, `RTRIM`
    /// ignores trailing spaces, and an application's own collation may do anything. The
    /// collation is the one the key's unique index compares by (see `introspect.rs`).
    fn key_equality(&self, column: &Column) -> KeyEquality {
        let binary = column
            .collation
            .as_deref()
            .is_none_or(|c| c.eq_ignore_ascii_case("BINARY"));
        match column.class {
            TypeClass::Text | TypeClass::Other if !binary => KeyEquality::Coarse,
            _ => KeyEquality::Exact,
        }
    }

    fn exact_key_expr(&self, expr: &str) -> String {
        format!("{expr} COLLATE BINARY")
    }

    fn null_safe_equal(&self, _column: &Column, left: &str, right: &str) -> String {
        format!("{left} IS {right}")
    }

    /// By the row's `rowid` (a table without a primary key always has one), since SQLite builds
    /// without `SQLITE_ENABLE_UPDATE_DELETE_LIMIT` take no `LIMIT` on `DELETE`; under whichever of
    /// its three names no column of the table has taken (a column named `rowid` hides the real
    /// one).
    fn delete_limited(
        &self,
        table: &str,
        columns: &[Column],
        condition: &str,
        limit: u64,
    ) -> String {
        let rowid = ["rowid", "_rowid_", "oid"]
            .into_iter()
            .find(|alias| !columns.iter().any(|c| c.name.eq_ignore_ascii_case(alias)))
            .unwrap_or("rowid");
        format!(
            "DELETE FROM {table} WHERE {rowid} IN \
             (SELECT {rowid} FROM {table} WHERE {condition} LIMIT {limit})"
        )
    }

    /// Declared with the column's type (hence its affinity) and the collation its key index
    /// compares by, in the connection's `temp` schema.
    fn create_temporary_table(
        &self,
        name: &str,
        _table: &str,
        columns: &[Column],
        ordinal: &str,
    ) -> String {
        let columns: Vec<String> = columns
            .iter()
            .map(|c| {
                let collation = c
                    .collation
                    .as_deref()
                    .map(|co| format!(" COLLATE {}", self.quote_ident(co)))
                    .unwrap_or_default();
                format!("{} {}{collation}", self.quote_ident(&c.name), c.decl_type)
            })
            .collect();
        format!(
            "CREATE TEMPORARY TABLE {name} ({}, {ordinal} INTEGER)",
            columns.join(", ")
        )
    }

    fn drop_temporary_table(&self, name: &str) -> String {
        format!("DROP TABLE IF EXISTS temp.{name}")
    }

    fn hashes_in_sql(&self) -> bool {
        false
    }

    fn declared_types_are_hints(&self) -> bool {
        true
    }

    fn fraction_digits(&self, _decl: &str) -> Option<usize> {
        None
    }

    fn check_value(&self, value: Value, to: &Column) -> Result<Value> {
        match &value {
            Value::Float(f) if f.is_nan() => bail!("NaN would become NULL in SQLite"),
            Value::Text(text) if to.class == TypeClass::Decimal => check_decimal(text, to)?,
            Value::Text(text) if to.class == TypeClass::Json && !text_affinity(to) => {
                if let Some(number) = json_number(text, to)? {
                    return Ok(number);
                }
            }
            _ => {}
        }
        Ok(value)
    }

    fn defer_constraints(&self) -> Option<&'static str> {
        Some(super::DEFER_CONSTRAINTS)
    }

    fn is_transient(&self, _code: &str) -> bool {
        false
    }
}

/// Whether SQLite keeps text in the column as text (its declared type names `CHAR`, `CLOB` or
/// `TEXT`); other columns turn text that reads as a number into one.
fn text_affinity(column: &Column) -> bool {
    let decl = column.decl_type.to_ascii_lowercase();
    ["char", "clob", "text"].iter().any(|t| decl.contains(t))
}

/// A JSON document that is a bare number, for a column that would store it as a number (a
/// `JSON` column has NUMERIC affinity): SQLite would parse the text into an integer or a double
/// keeping 15 digits. It is bound as the number instead — an integer, or the double whose
/// shortest digits are exactly the JSON number's value — so the column holds that value; a
/// number no double holds exactly is refused. `None`: the document is no bare number.
fn json_number(text: &str, to: &Column) -> Result<Option<Value>> {
    let Ok(serde_json::Value::Number(number)) = serde_json::from_str(text) else {
        return Ok(None);
    };
    let exact = canonical_number(&number.to_string());
    if let Ok(integer) = exact.parse::<i64>() {
        return Ok(Some(Value::Int(integer)));
    }
    match exact.parse::<f64>() {
        Ok(double) if double.is_finite() && canonical_number(&double.to_string()) == exact => {
            Ok(Some(Value::Float(double)))
        }
        _ => bail!(
            "the JSON number {text} would be stored by SQLite's {} as a double, which does not \
             hold it exactly; declare the column TEXT",
            to.decl_type
        ),
    }
}

/// A decimal in a column without text affinity is stored as a double: refused past the 15
/// digits a double keeps exactly.
fn check_decimal(text: &str, to: &Column) -> Result<()> {
    let text_affinity = text_affinity(to);
    let digits = text.trim_start_matches('-');
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let significant = whole.trim_start_matches('0').len() + fraction.trim_end_matches('0').len();
    if !text_affinity && significant > 15 {
        bail!(
            "{text} has more digits than SQLite's {} keeps exactly (15); declare the column TEXT",
            to.decl_type
        );
    }
    Ok(())
}
