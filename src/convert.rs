//! Fitting source values to target columns before they are written.
//!
//! Values travel between engines as integers, floats, booleans, bytes or exact text (see
//! [`crate::value::Value`]); the target engine casts them into its column types. Most casts are
//! exact, but some would change a value without an error — an engine rounds a decimal with too
//! many fraction digits or a timestamp with too many fractional-second digits, a double loses
//! digits in a single-precision column, SQLite turns NaN into NULL — and some fail inside the
//! database without saying which row. Every such case is caught here, before anything is written,
//! with an error that names the table, the key and the column: dbdelta never writes a silently
//! altered value. The limits every engine declares alike (integer ranges, lengths, precision and
//! scale, fractional seconds) are read here; what only one engine cannot store is its
//! [`Dialect::check_value`](crate::engine::Dialect::check_value).

use crate::engine::types::{integer_range, length_limit, precision_scale};
use crate::engine::{wire_of, Column, EngineKind};
use crate::value::{
    coerce, has_utc_offset, key_to_string, respell, respells, Key, TypeClass, Value,
};
use anyhow::{bail, Result};

/// Checks (and, where the engine needs it, normalises) one row for the target.
pub fn fit_row(
    table: &str,
    key: &Key,
    row: Vec<Value>,
    target: &[Column],
    engine: EngineKind,
) -> Result<Vec<Value>> {
    row.into_iter()
        .zip(target)
        .map(|(value, to)| {
            fit_value(value, to, engine).map_err(|why| {
                anyhow::anyhow!(
                    "table {table}, key {}, column {:?}: {why:#}; nothing of this chunk was written",
                    key_to_string(key),
                    to.name
                )
            })
        })
        .collect()
}

fn fit_value(value: Value, to: &Column, engine: EngineKind) -> Result<Value> {
    let dialect = engine.dialect();
    // Declared types and limits bind where declared types are more than hints; SQLite stores
    // every value as it comes.
    if dialect.declared_types_are_hints() {
        return dialect.check_value(value, to);
    }
    if let Value::Text(text) = &value {
        // PostgreSQL would drop the offset (another instant, rewritten by every run) and MySQL
        // rejects it inside the statement; a zero offset names the same wall-clock time.
        if to.class == TypeClass::Timestamp && has_utc_offset(text) {
            bail!(
                "{text} has an offset from UTC, which {} (without a time zone) does not keep, so \
                 the instant would change; declare the target column with a time zone \
                 (timestamptz)",
                to.decl_type
            );
        }
    }
    // The target is given the canonical spelling (`10:30` as `10:30:00.000000`, `'yes'` as
    // true), so it holds exactly the value the comparison sees.
    // Only texts of the classes `respell` rewrites are kept (short ones): a refusal speaks of
    // the respelled value, and the user knows the source's.
    let original = match &value {
        Value::Text(text) if respells(to.class) => Some(text.clone()),
        _ => None,
    };
    let respelled = respell(to.class, value);
    let respelled_differs = original
        .as_ref()
        .is_some_and(|text| !matches!(&respelled, Value::Text(r) if r == text));
    let fitted = dialect
        .check_value(respelled, to)
        .and_then(|value| check_declared(value, to, dialect.fraction_digits(&to.decl_type)))
        .and_then(|checked| {
            coerce(checked, wire_of(engine, to)).map_err(|refused| anyhow::anyhow!(refused.reason))
        });
    match (fitted, original) {
        (Err(why), Some(original)) if respelled_differs => {
            Err(why.context(format!("the source holds {original:?}")))
        }
        (fitted, _) => fitted,
    }
}

/// Refuses values the target column's declaration would change or reject; `fraction_digits` is
/// what a time or timestamp column keeps.
fn check_declared(value: Value, to: &Column, fraction_digits: Option<usize>) -> Result<Value> {
    let decl = to.decl_type.to_ascii_lowercase();
    Ok(match value {
        Value::Float(f) if !f.is_finite() && to.class == TypeClass::Decimal => {
            bail!("{f} cannot be stored in a decimal column")
        }
        Value::Float(f) if to.class == TypeClass::Float32 && f64::from(f as f32) != f => {
            bail!(
                "{f} needs double precision, but {} is single precision ({})",
                to.name,
                to.decl_type
            )
        }
        // SQLite keeps a NUMERIC or REAL value with a fraction as a double: it is written as
        // its shortest round-trip digits (how it is compared, too), which must all fit.
        Value::Float(f) if to.class == TypeClass::Decimal => {
            check_decimal(&f.to_string(), to, &decl)?;
            Value::Float(f)
        }
        Value::Int(i) if to.class == TypeClass::Bool && !(0..=1).contains(&i) => {
            bail!("{i} is not a boolean (0 or 1)")
        }
        Value::Int(i) => {
            if let Some((min, max)) = integer_range(&decl) {
                if i128::from(i) < min || i128::from(i) > max {
                    bail!("{i} does not fit {}", to.decl_type);
                }
            }
            if to.class == TypeClass::Decimal {
                check_decimal(&i.to_string(), to, &decl)?;
            }
            Value::Int(i)
        }
        Value::Text(text) => {
            if let Some(limit) = length_limit(&decl) {
                let length = text.chars().count();
                if length > limit {
                    bail!("{length} characters do not fit {}", to.decl_type);
                }
            }
            if let Some(kept) = fraction_digits {
                check_fraction(&text, kept, to)?;
            }
            if to.class == TypeClass::Decimal {
                check_decimal(&text, to, &decl)?;
            }
            Value::Text(text)
        }
        other => other,
    })
}

/// Refuses a time or timestamp with more (non-zero) fractional-second digits than the column
/// keeps: the engine would round it without a word.
fn check_fraction(text: &str, kept: usize, to: &Column) -> Result<()> {
    let (clock, _) = clock_and_zone(text);
    let digits = clock
        .split_once('.')
        .map_or("", |(_, f)| f)
        .trim_end_matches('0');
    if digits.len() > kept {
        bail!(
            "{text} has {} fractional-second digits, but {} keeps {kept}",
            digits.len(),
            to.decl_type
        );
    }
    Ok(())
}

/// Whether a time or timestamp text names its time zone (`…+02:00`, `…Z`).
pub fn has_zone(text: &str) -> bool {
    !clock_and_zone(text).1.is_empty()
}

/// The clock (`HH:MM:SS[.f]`) of a time or timestamp text and the time zone written after it,
/// without the date and an era suffix: `2024-01-01T10:00:02.5+02:00 BC` → (`10:00:02.5`,
/// `+02:00`).
fn clock_and_zone(text: &str) -> (&str, &str) {
    let text = text.strip_suffix(" BC").unwrap_or(text);
    let time = text.split_once([' ', 'T']).map_or(text, |(_, time)| time);
    // The zone follows the clock: a sign before the first colon is a negative time (MySQL),
    // and text without a colon (a bare date) has no clock at all.
    let Some(colon) = time.find(':') else {
        return (time, "");
    };
    match time[colon..].find(['+', '-', 'Z']) {
        Some(at) => (time[..colon + at].trim_end(), &time[colon + at..]),
        None => (time, ""),
    }
}

fn check_decimal(text: &str, to: &Column, decl: &str) -> Result<()> {
    let digits = text.trim_start_matches('-');
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let fraction = fraction.trim_end_matches('0');
    let whole = whole.trim_start_matches('0');
    if let Some((precision, scale)) = precision_scale(decl) {
        if fraction.len() > scale {
            bail!(
                "{text} has more fraction digits than {} keeps",
                to.decl_type
            );
        }
        if whole.len() > precision.saturating_sub(scale) {
            bail!("{text} has more integer digits than {} keeps", to.decl_type);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(decl: &str, class: TypeClass) -> Column {
        Column {
            name: "c".into(),
            decl_type: decl.into(),
            cast_type: decl.into(),
            class,
            nullable: true,
            has_default: false,
            generated: false,
            collation: None,
        }
    }

    fn fit(value: Value, decl: &str, class: TypeClass, engine: EngineKind) -> Result<Value> {
        fit_value(value, &column(decl, class), engine)
    }

    #[test]
    fn values_that_would_change_are_refused() {
        use EngineKind::*;
        assert!(fit(Value::Float(f64::NAN), "double", TypeClass::Float, MySql).is_err());
        assert!(fit(Value::Float(f64::NAN), "REAL", TypeClass::Float, Sqlite).is_err());
        assert!(fit(
            Value::Float(f64::INFINITY),
            "double precision",
            TypeClass::Float,
            Postgres
        )
        .is_ok());
        assert!(fit(Value::Float(0.1), "real", TypeClass::Float32, Postgres).is_err());
        assert!(fit(Value::Int(2), "boolean", TypeClass::Bool, Postgres).is_err());
        assert!(fit(Value::Int(40_000), "smallint", TypeClass::Int, Postgres).is_err());
        assert!(fit(Value::Int(-1), "int(10) unsigned", TypeClass::Int, MySql).is_err());
        assert!(fit(
            Value::Text("1.239".into()),
            "numeric(12,2)",
            TypeClass::Decimal,
            Postgres
        )
        .is_err());
        assert!(fit(
            Value::Text("1.230".into()),
            "decimal(12,2)",
            TypeClass::Decimal,
            MySql
        )
        .is_ok());
        let long = "12345678901234567890.5".to_string();
        assert!(fit(
            Value::Text(long.clone()),
            "NUMERIC",
            TypeClass::Decimal,
            Sqlite
        )
        .is_err());
        assert!(fit(Value::Text(long), "TEXT", TypeClass::Decimal, Sqlite).is_ok());
        assert!(fit(
            Value::Text("abcde".into()),
            "character varying(4)",
            TypeClass::Text,
            Postgres
        )
        .is_err());
        assert!(fit(
            Value::Text("a\0b".into()),
            "text",
            TypeClass::Text,
            Postgres
        )
        .is_err());
        let old = Value::Text("0044-03-15 12:00:00.000000".into());
        assert!(fit(old, "datetime(6)", TypeClass::Timestamp, MySql).is_err());
        let late = Value::Text("2040-01-01 00:00:00".into());
        assert!(fit(late, "timestamp(6)", TypeClass::TimestampTz, MySql).is_err());
        let fraction = || Value::Text("2024-01-01 10:00:00.700000".into());
        assert!(fit(fraction(), "datetime", TypeClass::Timestamp, MySql).is_err());
        assert!(fit(fraction(), "datetime(1)", TypeClass::Timestamp, MySql).is_ok());
        let ts0 = "timestamp(0) without time zone";
        assert!(fit(fraction(), ts0, TypeClass::Timestamp, Postgres).is_err());
        let whole = Value::Text("2024-01-01 10:00:00.000000".into());
        assert!(fit(whole, ts0, TypeClass::Timestamp, Postgres).is_ok());
        let ms = Value::Text("10:00:00.123400".into());
        assert!(fit(
            ms.clone(),
            "time(3) without time zone",
            TypeClass::Time,
            Postgres
        )
        .is_err());
        assert!(fit(ms, "time(4)", TypeClass::Time, MySql).is_ok());
    }

    #[test]
    fn loose_spellings_are_written_canonically_and_offsets_refused() {
        use EngineKind::*;
        let text = |t: &str| Value::Text(t.into());
        let ts = "timestamp without time zone";
        assert_eq!(
            fit(text("2024-1-5"), ts, TypeClass::Timestamp, Postgres).unwrap(),
            text("2024-01-05 00:00:00.000000")
        );
        assert_eq!(
            fit(text("true"), "tinyint(1)", TypeClass::Bool, MySql).unwrap(),
            Value::Int(1)
        );
        assert_eq!(
            fit(
                text("{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}"),
                "uuid",
                TypeClass::Uuid,
                MySql
            )
            .unwrap(),
            text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
        );
        let offset = || text("2024-01-01 10:00:00+02:00");
        assert!(fit(offset(), ts, TypeClass::Timestamp, Postgres).is_err());
        assert!(fit(offset(), "timestamptz", TypeClass::TimestampTz, Postgres).is_ok());
        let seven = |d: &str| text(&format!("2024-01-01 10:00:00.123456{d}"));
        assert!(fit(seven("7"), ts, TypeClass::Timestamp, Postgres).is_err());
        assert!(fit(seven("0"), ts, TypeClass::Timestamp, Postgres).is_ok());
        // SQLite keeps what it is given, spelling and all.
        assert_eq!(
            fit(text("10:30"), "TIME", TypeClass::Time, Sqlite).unwrap(),
            text("10:30")
        );
    }

    #[test]
    fn bare_json_numbers_are_bound_as_numbers_sqlite_keeps_exactly() {
        use EngineKind::Sqlite;
        let text = |t: &str| Value::Text(t.into());
        let json = |t: &str, decl: &str| fit(text(t), decl, TypeClass::Json, Sqlite);
        assert_eq!(json("1.5", "JSON").unwrap(), Value::Float(1.5));
        assert_eq!(json("1e2", "JSON").unwrap(), Value::Int(100));
        assert_eq!(json("{\"n\": 1.5}", "JSON").unwrap(), text("{\"n\": 1.5}"));
        assert!(json("0.10000000000000000001", "JSON").is_err());
        assert!(json("123456789012345678901", "JSON").is_err());
        assert_eq!(
            json("0.10000000000000000001", "TEXT").unwrap(),
            text("0.10000000000000000001")
        );
    }

    #[test]
    fn offsets_are_no_fraction_digits_and_no_zone_is_dropped() {
        use EngineKind::*;
        assert_eq!(
            clock_and_zone("2024-01-01T10:00:02.5+02:00 BC"),
            ("10:00:02.5", "+02:00")
        );
        assert_eq!(clock_and_zone("-10:00:00"), ("-10:00:00", ""));
        assert_eq!(clock_and_zone("2024-01-01"), ("2024-01-01", ""));
        assert!(has_zone("2024-01-01 10:00:00Z") && !has_zone("2024-01-01 10:00:00"));
        let text = |t: &str| Value::Text(t.into());
        let ts3 = "timestamp(3) with time zone";
        let micros = text("2024-01-01 12:00:02.020409+02:00");
        assert!(fit(micros, ts3, TypeClass::TimestampTz, Postgres).is_err());
        let millis = text("2024-01-01 12:00:02.020000+02:00");
        assert!(fit(millis, ts3, TypeClass::TimestampTz, Postgres).is_ok());
        let naive = "timestamp without time zone";
        let zoned = text("2020-01-01 17:10:10+02:00");
        assert!(fit(zoned.clone(), naive, TypeClass::Timestamp, Postgres).is_err());
        assert!(fit(zoned, "datetime(6)", TypeClass::Timestamp, MySql).is_err());
        let utc = text("2020-01-01 17:10:10+00:00");
        assert!(fit(utc, naive, TypeClass::Timestamp, Postgres).is_ok());
    }

    #[test]
    fn sqlite_numbers_must_fit_the_decimal_scale() {
        use EngineKind::*;
        let n = |f: f64, decl: &str| fit(Value::Float(f), decl, TypeClass::Decimal, Postgres);
        assert!(n(0.00188, "numeric(6,3)").is_err());
        assert!(n(0.002, "numeric(6,3)").is_ok());
        assert!(n(0.001201923076923077, "numeric(65,10)").is_err());
        assert!(n(0.0012019231, "numeric(65,10)").is_ok());
        assert!(fit(Value::Int(12345), "decimal(6,3)", TypeClass::Decimal, MySql).is_err());
        assert!(fit(Value::Int(123), "decimal(6,3)", TypeClass::Decimal, MySql).is_ok());
    }

    #[test]
    fn utc_timestamps_are_normalised_for_mysql() {
        let v = fit(
            Value::Text("2024-02-29T10:00:00Z".into()),
            "datetime(6)",
            TypeClass::Timestamp,
            EngineKind::MySql,
        )
        .unwrap();
        assert_eq!(v, Value::Text("2024-02-29 10:00:00.000000".into()));
    }
}
