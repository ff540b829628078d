//! Declared column types: what a declaration allows (integer ranges, character limits, decimal
//! precision), and how a column of one engine is declared on another when `create_missing`
//! creates a target table.

use super::{sql::quote_ident, Column};
use crate::config::EngineKind;
use crate::value::TypeClass;

/// The value range of a declared integer type, where the engine enforces one.
pub fn integer_range(decl: &str) -> Option<(i128, i128)> {
    let unsigned = decl.contains("unsigned");
    let bits = if decl.starts_with("tinyint") {
        8
    } else if decl.starts_with("smallint") || decl == "int2" {
        16
    } else if decl.starts_with("mediumint") {
        24
    } else if decl.starts_with("int") || decl.starts_with("integer") {
        // SQLite's INTEGER is 64 bits and declares as "integer" too; its engine check is moot.
        if decl == "integer" && !unsigned {
            return None;
        }
        32
    } else {
        return None;
    };
    Some(if unsigned {
        (0, (1i128 << bits) - 1)
    } else {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    })
}

/// `varchar(16)`, `character varying(16)`, `char(4)` → the character limit.
pub fn length_limit(decl: &str) -> Option<usize> {
    let is_char = decl.starts_with("varchar")
        || decl.starts_with("character")
        || decl.starts_with("char(")
        || decl.starts_with("nvarchar");
    if !is_char {
        return None;
    }
    let inside = decl.split_once('(')?.1.split_once(')')?.0;
    inside.trim().parse().ok()
}

/// `numeric(12,2)`, `decimal(12,2) unsigned`, `decimal(5)` → (precision, scale).
pub fn precision_scale(decl: &str) -> Option<(usize, usize)> {
    if !(decl.starts_with("numeric") || decl.starts_with("decimal")) {
        return None;
    }
    let inside = decl.split_once('(')?.1.split_once(')')?.0;
    let mut parts = inside.split(',').map(|p| p.trim().parse::<usize>());
    let precision = parts.next()?.ok()?;
    let scale = parts.next().and_then(|s| s.ok()).unwrap_or(0);
    Some((precision, scale))
}

/// The fractional-second digits a time or timestamp column keeps: the declared precision
/// (`timestamp(3)`, `datetime(6)`, `time(0) without time zone`), else the engine's default
/// (PostgreSQL 6, MySQL 0). `None` for other types and for SQLite, which keeps text as it comes.
pub fn fraction_digits(engine: EngineKind, decl: &str) -> Option<usize> {
    let temporal = ["timestamp", "datetime", "time"]
        .iter()
        .any(|t| decl.starts_with(t));
    if !temporal || engine == EngineKind::Sqlite {
        return None;
    }
    match decl.split_once('(') {
        Some((_, rest)) => rest.split_once(')')?.0.trim().parse().ok(),
        None if engine == EngineKind::MySql => Some(0),
        None => Some(6),
    }
}

/// `CREATE TABLE` for a target table shaped like the source's `columns`, keyed by `key`.
pub fn create_table(
    target: EngineKind,
    table: &str,
    source: EngineKind,
    columns: &[Column],
    key: &[String],
) -> String {
    let mut parts: Vec<String> = columns
        .iter()
        .map(|c| {
            let is_key = key.contains(&c.name);
            let null = if c.nullable && !is_key {
                ""
            } else {
                " NOT NULL"
            };
            format!(
                "{} {}{null}",
                quote_ident(target, &c.name),
                declare(target, source, c, is_key)
            )
        })
        .collect();
    let key: Vec<String> = key.iter().map(|k| quote_ident(target, k)).collect();
    parts.push(format!("PRIMARY KEY ({})", key.join(", ")));
    format!("CREATE TABLE {table} ({})", parts.join(", "))
}

/// The target type for a source column (see the README's type-mapping table).
pub fn declare(target: EngineKind, source: EngineKind, column: &Column, is_key: bool) -> String {
    let decl = column.decl_type.to_ascii_lowercase();
    if target == source {
        return column.decl_type.clone();
    }
    use EngineKind::*;
    use TypeClass::*;
    match (column.class, target) {
        (Int, Sqlite) => "INTEGER".to_string(),
        (Int, _) => match integer_range(&decl) {
            Some((min, max)) if min >= -(1 << 15) && max < (1 << 15) => "smallint".into(),
            Some((min, max)) if min >= -(1 << 31) && max < (1 << 31) => "integer".into(),
            Some((_, max)) if max >= 1 << 63 && target == Postgres => "numeric(20,0)".into(),
            Some((_, max)) if max >= 1 << 63 => "bigint unsigned".into(),
            _ => "bigint".into(),
        },
        // SQLite would keep a long decimal as a lossy double; text keeps it exact.
        (Decimal, Sqlite) => "TEXT".into(),
        (Decimal, Postgres) => match precision_scale(&decl) {
            Some((p, s)) => format!("numeric({p},{s})"),
            None => "numeric".into(),
        },
        (Decimal, MySql) => match precision_scale(&decl) {
            Some((p, s)) => format!("decimal({},{})", p.min(65), s.min(30)),
            None => "decimal(65,30)".into(),
        },
        (Float, Postgres) => "double precision".into(),
        (Float, MySql) => "double".into(),
        (Float32, Postgres) => "real".into(),
        (Float32, MySql) => "float".into(),
        (Float | Float32, Sqlite) => "REAL".into(),
        (Bool, Sqlite) => "BOOLEAN".into(),
        (Bool, _) => "boolean".into(),
        (Bytes, Postgres) => "bytea".into(),
        (Bytes, MySql) if is_key => "varbinary(767)".into(),
        (Bytes, MySql) => "longblob".into(),
        (Bytes, Sqlite) => "BLOB".into(),
        (Date, Sqlite) => "DATE".into(),
        (Date, _) => "date".into(),
        (Time, Sqlite) => "TIME".into(),
        (Time, _) => "time(6)".into(),
        (Timestamp, Postgres) => "timestamp(6)".into(),
        (TimestampTz, Postgres) => "timestamptz".into(),
        // MySQL's TIMESTAMP ends in 2038; DATETIME holds any UTC instant of years 1000–9999.
        (Timestamp | TimestampTz, MySql) => "datetime(6)".into(),
        (Timestamp, Sqlite) => "DATETIME".into(),
        (TimestampTz, Sqlite) => "TIMESTAMP".into(),
        (Uuid, Postgres) => "uuid".into(),
        (Uuid, MySql) => "char(36)".into(),
        (Json, Postgres) => "jsonb".into(),
        (Json, MySql) => "json".into(),
        (Json, Sqlite) => "JSON".into(),
        (Uuid | Text | Other, Sqlite) => "TEXT".into(),
        (Text | Other, _) => match length_limit(&decl) {
            Some(n) => format!("varchar({n})"),
            // MySQL indexes no unbounded text: a key gets the longest indexable varchar.
            None if target == MySql && is_key => "varchar(768)".into(),
            None if target == MySql => "longtext".into(),
            None => "text".into(),
        },
    }
}
