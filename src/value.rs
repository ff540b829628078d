//! The neutral value vocabulary shared by every engine, and the canonical row encoding that
//! chunk checksums are built from.
//!
//! # The promise
//!
//! Two rows compare equal **if and only if** every compared column holds the same value. Every
//! comparison path keeps it: a row is reduced to an *injective* encoding (no two different rows
//! encode alike), and the encoding is hashed as a whole by a strong hash. A chunk checksum adds
//! the row hashes, which keeps it independent of scan order; because each row hash mixes all
//! of a row's bytes, values swapped or rotated between rows change it (a sum of per-column
//! hashes would not: permutations cancel).
//!
//! # Canonical row encoding (the one definition every engine implements)
//!
//! A row is encoded over the columns both sides share, in the source's column order. Each value
//! is first turned into its *canonical text* according to its [`TypeClass`]:
//!
//! | class        | canonical text                                                       |
//! |--------------|----------------------------------------------------------------------|
//! | Int          | decimal digits with optional `-` (`-42`)                             |
//! | Decimal      | the exact decimal: trailing fractional zeros and a bare `.` removed (`12.50` → `12.5`, `3.00` → `3`); never through a float |
//! | Float, Float32 | the exact binary64 value as shortest round-trip digits in scientific form, `3.0000000000000004e-1`, `1e20`; `0e0` for either zero (IEEE equality: MariaDB and SQLite keep no sign of zero), `NaN`, `Infinity`, `-Infinity` (*). A single-precision value is widened exactly, never the other side rounded, so `real` is never compared at single precision |
//! | Bool         | `1` or `0`; text (SQLite) in any spelling PostgreSQL reads as a boolean (`t`, `true`, `yes`, `on`, …; see [`parse_bool`]) |
//! | Text, Other  | the text itself, UTF-8: compared by code points, never through a collation or a type's own equality (`citext`, `*_ci`, nondeterministic collations) |
//! | Bytes        | lowercase hex of the bytes                                           |
//! | Date         | `YYYY-MM-DD`, with ` BC` appended for years before 1 (PostgreSQL's ISO form); SQLite's `2024-1-5` is `2024-01-05` |
//! | Time         | `HH:MM:SS.ffffff` (six fractional digits, more only where a seventh or later is not zero); `10:30` is `10:30:00.000000`; `24:00:00.000000` stays distinct from midnight |
//! | Timestamp    | `YYYY-MM-DD HH:MM:SS.ffffff` (time-zone aware values in UTC), ` BC` appended for years before 1; date and time padded as for Date and Time, a date alone is its midnight |
//! | Uuid         | lowercase hyphenated; braces and the bare 32-digit form are the same UUID |
//! | Json         | compact JSON, object keys sorted by their bytes, strings unescaped then re-escaped alike, numbers as their exact decimal value (see [`canonical_json`]; never through f64); a bare number SQLite stores as INTEGER or REAL is that JSON number (*) |
//!
//! A field is then written as `N` for NULL, or as `<number of characters>:<canonical text>`
//! otherwise (`3:abc`, `0:` for the empty string), and the fields are concatenated without
//! separators. The length prefix makes the encoding injective: NULL differs from every string
//! (`''`, `'NULL'`, `'\N'`), and no text can shift content from one column into the next,
//! whatever separators it contains. The canonical texts themselves are injective per class (two
//! different values of a class never share a text), except where the table above says that two
//! spellings are one value (`1.50` and `1.5` in a decimal, `1e2` and `100` in JSON, a UUID's case,
//! SQLite's `10:30` and `10:30:00`). A target with real column types is given the canonical
//! spelling ([`respell`]), so it holds exactly the value compared.
//!
//! (*) PostgreSQL and MySQL cannot produce these forms cheaply in SQL. Across engines, a table
//! with a float or JSON column is hashed in-process on both sides from the exactly transported
//! values (see `TableSide::hash_in_process`). Between two databases of the same engine the engine's
//! own exact text stands in (PostgreSQL `float8` text is shortest round-trip, `real` is widened to
//! `float8` first; JSON text as the engine stores it).
//!
//! A table with data rules (see `crate::rules`) is hashed in-process on the source, after its
//! rows are transformed, and by this portable definition on the target.
//!
//! # Hashes
//!
//! **Portable row hash** (every pair of different engines, SQLite, data rules): the first 8 bytes
//! of the MD5 digest of the encoded row (UTF-8) read as a big-endian 64-bit integer, computed in
//! SQL by PostgreSQL and MySQL and by [`row_hash`] in-process. A chunk checksum is the number of
//! rows plus the sum of the row hashes modulo 2^64.
//!
//! **Native row hashes** (same server engine on both sides, identical column declarations), kept
//! because they cost a fraction of MD5 over the portable encoding, and exact for every column
//! type, as argued here and checked by the randomized differential test:
//! - PostgreSQL: `hashtextextended(hash_record_extended(ROW(f1, …), 0)::text, 0)`, where each
//!   field `fi` is the column made exact for hashing (`postgres::dialect::exact_hash_field`):
//!   1. *Exact fields.* `hash_record_extended` hashes each field with its type's 64-bit hash.
//!      That hash is a function of the whole value for 32-bit integers, dates, booleans, UUIDs,
//!      bytes, floats and numerics (floats with both zeros and all NaNs as one, numerics by value,
//!      `1.50` = `1.5`: the same equalities as the canonical texts above). It is *not* for `bigint`,
//!      `time` and timestamps, whose hash folds 64 bits into 32 (`1` and `2^32` hash alike), so
//!      those are hashed as their exact `*send` bytes; nor for text under a nondeterministic
//!      collation, `citext` or `jsonb`, whose hash follows their equality (`Alice` = `alice`), so
//!      those and every other type are hashed as their text under the byte-wise `C` collation.
//!      A NULL field adds 0, and a float's hash of zero is the seed, 0 too: floats are hashed
//!      once more under seed 1, as the bytes of that hash, so that `0.0` and NULL differ.
//!   2. *A fingerprint.* `hash_record_extended` combines the field hashes as
//!      `Σ 31^(n-i) · h(fi)` modulo 2^64; 31 is odd, so a change of any one field's hash changes
//!      the fingerprint. Linear, so summing fingerprints over a chunk would let values swapped
//!      between rows cancel (the bug of earlier versions, which summed it directly).
//!   3. *A strong row hash.* `hashtextextended` of the fingerprint's decimal digits (Jenkins'
//!      lookup3 in its 64-bit form) mixes all 64 bits non-linearly, so the chunk's sum of row
//!      hashes changes with any change of the multiset of rows, swaps and rotations included,
//!      but for 64-bit hash collisions.
//!
//!   Measured on 2M rows of the benchmark table (one core): 0.98 s against 2.2 s for hashing each
//!   row's text and 4.6 s for MD5 of it; the inexact `hash_record_extended` alone took 0.9 s.
//! - MySQL/MariaDB: SHA-256 over each value's own exact text through `QUOTE` (the bare word
//!   `NULL`, or the value in single quotes with quotes and backslashes escaped), joined by commas
//!   (`mysql::native_row_hash_expr`): every field ends at its first unescaped quote, so the
//!   joined text is injective. `FLOAT` is widened to `DOUBLE`. On 2M rows with MD5: 5.5–6.0 s,
//!   against 5.0 s for the earlier, ambiguous `CONCAT_WS` of the bare values and 7.0 s for length
//!   prefixes; SHA-256, which the server computes with the CPU's own instructions, takes about
//!   a quarter less than MD5.
//!
//! The key's **hash**, for tables chunked by key hash and for narrowing a differing chunk, is the
//! first 4 bytes of MD5 over the key's canonical encoding, big-endian, or a single integer key's
//! low 32 bits ([`key_hash`]); its bucket is that hash modulo the number of buckets
//! ([`key_bucket`]). Between two PostgreSQL databases declaring the key alike, narrowing within a
//! key range uses `hash_record_extended` of the key's exact fields instead, a twentieth of the
//! cost; it never decides a bucket, which must be computable in-process too.

use md5::{Digest, Md5};
use std::fmt;
use std::hash::{Hash, Hasher};

/// What kind of data a column holds, independent of the engine that declared it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TypeClass {
    Int,
    Decimal,
    Float,
    /// A single-precision float: compared at 32-bit precision.
    Float32,
    Bool,
    Text,
    Bytes,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Uuid,
    Json,
    Other,
}

impl TypeClass {
    /// The class both sides of a column are compared as, if their values can be compared at all:
    /// the more specific of the two where one refines the other (a UUID kept in a text column, a
    /// timestamp with or without time zone, an integer in a decimal column).
    pub fn unify(self, other: TypeClass) -> Option<TypeClass> {
        use TypeClass::*;
        if self == other {
            return Some(self);
        }
        Some(match (self, other) {
            (Int, Decimal) | (Decimal, Int) => Decimal,
            (Float, Float32) | (Float32, Float) => Float32,
            (Timestamp, TimestampTz) | (TimestampTz, Timestamp) => TimestampTz,
            (Text | Other, refined @ (Uuid | Json | Other | Text))
            | (refined @ (Uuid | Json), Text | Other) => refined,
            _ => return None,
        })
    }
}

/// One value as it travels between engines. Types without a native carrier here (decimals, dates,
/// UUIDs, …) travel as text that the target engine casts back, so no precision is lost in transit.
#[derive(Debug, Clone)]
pub enum Value {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
    Bytes(Vec<u8>),
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Int(a), Value::Int(b)) => a == b,
            // Bitwise, so that keys are usable in hash maps and NaN equals itself.
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Text(a), Value::Text(b)) => a == b,
            (Value::Bytes(a), Value::Bytes(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Value {}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            Value::Null => {}
            Value::Int(v) => v.hash(state),
            Value::Float(v) => v.to_bits().hash(state),
            Value::Bool(v) => v.hash(state),
            Value::Text(v) => v.hash(state),
            Value::Bytes(v) => v.hash(state),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Int(v) => write!(f, "{v}"),
            Value::Float(v) => write!(f, "{v}"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::Text(v) => write!(f, "{v:?}"),
            Value::Bytes(v) => write!(f, "x'{}'", hex::encode(v)),
        }
    }
}

impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_none(),
            Value::Int(v) => s.serialize_i64(*v),
            Value::Float(v) => s.serialize_f64(*v),
            Value::Bool(v) => s.serialize_bool(*v),
            Value::Text(v) => s.serialize_str(v),
            Value::Bytes(v) => s.serialize_str(&hex::encode(v)),
        }
    }
}

/// How a selected column travels over the wire, i.e. which Rust type it is decoded into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    Int,
    /// An unsigned 64-bit integer (MySQL `BIGINT UNSIGNED`), refused past the signed range.
    UInt,
    Float,
    Bool,
    Bytes,
    Text,
    /// A 64-bit row hash (signed on PostgreSQL, unsigned on MySQL), decoded as its bits.
    Hash,
    /// Whatever the value is (SQLite: every value keeps its own storage class).
    Any,
}

/// A value the wire type of its column could not take, and why.
#[derive(Debug)]
pub struct Refused {
    pub value: Value,
    pub reason: String,
}

/// Turns a value into the carrier a column is read and written with (an integer read as text
/// from SQLite into PostgreSQL's `integer`, a 0/1 into a `boolean`). The one conversion table:
/// bound parameters and rows written both go through it. What does not parse is refused, with
/// the value handed back.
pub fn coerce(value: Value, wire: Wire) -> Result<Value, Refused> {
    let refuse = |value: Value, reason: String| Err(Refused { value, reason });
    Ok(match (value, wire) {
        (Value::Null, _) => Value::Null,
        (Value::Bool(b), Wire::Int | Wire::UInt) => Value::Int(i64::from(b)),
        (Value::Float(f), Wire::Int | Wire::UInt) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
            Value::Int(f as i64)
        }
        (Value::Text(t), Wire::Int | Wire::UInt) => match t.trim().parse() {
            Ok(i) => Value::Int(i),
            Err(_) => return refuse(Value::Text(t.clone()), format!("{t:?} is not an integer")),
        },
        (Value::Int(i), Wire::Float) => Value::Float(i as f64),
        (Value::Text(t), Wire::Float) => match t.trim().parse() {
            Ok(f) => Value::Float(f),
            Err(_) => return refuse(Value::Text(t.clone()), format!("{t:?} is not a number")),
        },
        (Value::Int(i), Wire::Bool) => Value::Bool(i != 0),
        (Value::Text(t), Wire::Bool) => match parse_bool(&t) {
            Some(b) => Value::Bool(b),
            None => return refuse(Value::Text(t.clone()), format!("{t:?} is not a boolean")),
        },
        (Value::Text(t), Wire::Bytes) => Value::Bytes(t.into_bytes()),
        (Value::Int(i), Wire::Text) => Value::Text(i.to_string()),
        (Value::Float(f), Wire::Text) => Value::Text(f.to_string()),
        (Value::Bool(b), Wire::Text) => Value::Text(b.to_string()),
        (Value::Bytes(b), Wire::Text) => match String::from_utf8(b) {
            Ok(t) => Value::Text(t),
            Err(e) => {
                let reason = "the bytes are not UTF-8 text".to_string();
                return refuse(Value::Bytes(e.into_bytes()), reason);
            }
        },
        (value @ Value::Int(_), Wire::Int | Wire::UInt)
        | (value @ Value::Float(_), Wire::Float)
        | (value @ Value::Bool(_), Wire::Bool)
        | (value @ Value::Bytes(_), Wire::Bytes)
        | (value @ Value::Text(_), Wire::Text | Wire::Hash)
        | (value, Wire::Any) => value,
        (value, wire) => {
            let reason = format!("{value} cannot be written as {wire:?}");
            return refuse(value, reason);
        }
    })
}

/// A primary-key value: one entry per key column.
pub type Key = Vec<Value>;

/// Renders a key for messages and listings: the bare value for one column, a tuple otherwise.
pub fn key_to_string(key: &Key) -> String {
    match key.as_slice() {
        [one] => one.to_string(),
        many => format!(
            "({})",
            many.iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Orders keys for listings: numbers numerically, everything else by its text.
pub fn compare_keys(a: &Key, b: &Key) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        let order = match (x, y) {
            (Value::Int(x), Value::Int(y)) => x.cmp(y),
            _ => x.to_string().cmp(&y.to_string()),
        };
        if order.is_ne() {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

/// The canonical text of one value (see the module documentation), or `None` for NULL.
pub fn canonical_text(class: TypeClass, value: &Value) -> Option<String> {
    Some(match value {
        Value::Null => return None,
        Value::Int(v) => match class {
            // SQLite keeps a whole number in a REAL or untyped column as an integer.
            TypeClass::Float | TypeClass::Float32 => float_text(*v as f64),
            // A boolean stored as an integer keeps its number, so that 2 and 1 still differ.
            _ => v.to_string(),
        },
        Value::Float(v) => match class {
            // SQLite stores a NUMERIC value that has no fraction as an integer and one with a
            // fraction as REAL; both spell the decimal the way the server engines do.
            TypeClass::Decimal => trim_decimal(&v.to_string()),
            // A top-level JSON number in a SQLite `JSON` column (NUMERIC affinity) is stored as
            // REAL: it is the JSON number of the double's exact shortest digits.
            TypeClass::Json if v.is_finite() => canonical_number(&v.to_string()),
            _ => float_text(*v),
        },
        Value::Bool(v) => (if *v { "1" } else { "0" }).to_string(),
        Value::Bytes(v) => hex::encode(v),
        Value::Text(v) => match class {
            TypeClass::Decimal => trim_decimal(v),
            TypeClass::Bool => match parse_bool(v) {
                Some(b) => (if b { "1" } else { "0" }).to_string(),
                None => v.clone(),
            },
            TypeClass::Date => canonical_date(v).unwrap_or_else(|| v.clone()),
            TypeClass::Time => canonical_clock(v).unwrap_or_else(|| pad_fraction(v)),
            TypeClass::Timestamp => canonical_timestamp(v, false),
            TypeClass::TimestampTz => canonical_timestamp(v, true),
            TypeClass::Uuid => canonical_uuid(v),
            TypeClass::Json => canonical_json(v),
            // Text facing a binary column (SQLite keeps either in any column) is written as its
            // UTF-8 bytes, so it is compared as those bytes.
            TypeClass::Bytes => hex::encode(v.as_bytes()),
            TypeClass::Float | TypeClass::Float32 => v
                .parse::<f64>()
                .map(float_text)
                .unwrap_or_else(|_| v.clone()),
            _ => v.clone(),
        },
    })
}

/// A value of a class that travels as text (or a boolean), respelled canonically: what a target
/// with real column types is given, so that it holds exactly the text the comparison sees (and
/// never parses a loose spelling its own way). SQLite keeps any spelling its users wrote —
/// `'10:30'`, `'2024-1-5'`, `'true'`, `'{A0EEBC99-…}'` — and each is the one value of its class
/// that [`canonical_text`] names. Values of other classes, and text that is no spelling of the
/// class, are left as they are (for the target to refuse, or the comparison to flag).
pub fn respell(class: TypeClass, value: Value) -> Value {
    if !respells(class) {
        return value;
    }
    match (class, value) {
        (TypeClass::Bool, Value::Text(t)) => match parse_bool(&t) {
            Some(b) => Value::Bool(b),
            None => Value::Text(t),
        },
        (
            TypeClass::Date
            | TypeClass::Time
            | TypeClass::Timestamp
            | TypeClass::TimestampTz
            | TypeClass::Uuid,
            Value::Text(t),
        ) => Value::Text(canonical_text(class, &Value::Text(t)).unwrap_or_default()),
        (_, value) => value,
    }
}

/// Whether [`respell`] may rewrite a text of this class.
pub fn respells(class: TypeClass) -> bool {
    matches!(
        class,
        TypeClass::Bool
            | TypeClass::Date
            | TypeClass::Time
            | TypeClass::Timestamp
            | TypeClass::TimestampTz
            | TypeClass::Uuid
    )
}

/// A boolean as PostgreSQL reads one from text (case and surrounding blanks ignored):
/// `t`/`true`/`y`/`yes`/`on`/`1`, `f`/`false`/`n`/`no`/`off`/`0`.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "t" | "true" | "y" | "yes" | "on" => Some(true),
        "0" | "f" | "false" | "n" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// `Y-M-D` with a year of four or more digits and a month and day of one or two, as
/// `YYYY-MM-DD` (`2024-1-5` → `2024-01-05`); `None` for anything else (a two-digit year is read
/// differently by each engine).
fn canonical_date(text: &str) -> Option<String> {
    let mut parts = text.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |p: &str, lengths: std::ops::RangeInclusive<usize>| {
        lengths.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
    };
    if parts.next().is_some()
        || !digits(year, 4..=9)
        || !digits(month, 1..=2)
        || !digits(day, 1..=2)
    {
        return None;
    }
    Some(format!("{year}-{month:0>2}-{day:0>2}"))
}

/// `[-]H:M[:S[.f]]` as `[-]HH:MM:SS.ffffff` (`10:30` → `10:30:00.000000`; hours may have three
/// digits, as MySQL's `TIME` range needs). Fractions shorter than six digits are padded, and
/// longer ones lose trailing zeros down to six: `.1234560` is `.123456`, while `.1234567` keeps
/// its seventh digit, a different value (refused where the target keeps six). `None` for any
/// other shape.
fn canonical_clock(text: &str) -> Option<String> {
    let (sign, unsigned) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    let (hms, fraction) = match unsigned.split_once('.') {
        Some((hms, fraction)) => (hms, fraction),
        None => (unsigned, ""),
    };
    let digits = |p: &str, lengths: std::ops::RangeInclusive<usize>| {
        lengths.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
    };
    let mut parts = hms.split(':');
    let (hours, minutes) = (parts.next()?, parts.next()?);
    let seconds = parts.next().unwrap_or("0");
    if parts.next().is_some()
        || !digits(hours, 1..=3)
        || !digits(minutes, 1..=2)
        || !digits(seconds, 1..=2)
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || (unsigned.contains('.') && fraction.is_empty())
    {
        return None;
    }
    let kept = fraction.trim_end_matches('0').len().max(6);
    let fraction = format!("{fraction:0<6}");
    Some(format!(
        "{sign}{hours:0>2}:{minutes:0>2}:{seconds:0>2}.{}",
        &fraction[..kept]
    ))
}

/// A UUID in any spelling PostgreSQL reads — either case, with or without braces, hyphenated or
/// as 32 bare hex digits — as lowercase `8-4-4-4-12`; other text only lowercased, as before.
fn canonical_uuid(text: &str) -> String {
    let bare = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(text);
    // PostgreSQL's reading: 32 hex digits, with a hyphen allowed after any group of four.
    let mut hex = String::with_capacity(32);
    let mut well_formed = !bare.ends_with('-');
    let mut after_hyphen = false;
    for c in bare.chars() {
        match c {
            '-' if !hex.is_empty() && hex.len().is_multiple_of(4) && !after_hyphen => {
                after_hyphen = true
            }
            c if c.is_ascii_hexdigit() => {
                hex.push(c.to_ascii_lowercase());
                after_hyphen = false;
            }
            _ => well_formed = false,
        }
    }
    if !(well_formed && hex.len() == 32) {
        return text.to_ascii_lowercase();
    }
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Shortest round-trip digits of the exact binary64 value in scientific form; both zeros are
/// `0e0`.
pub fn float_text(v: f64) -> String {
    if v == 0.0 {
        "0e0".to_string()
    } else if v.is_nan() {
        "NaN".to_string()
    } else if v.is_infinite() {
        (if v > 0.0 { "Infinity" } else { "-Infinity" }).to_string()
    } else {
        format!("{v:e}")
    }
}

/// `2024-01-01T10:00:00Z` → `2024-01-01 10:00:00.000000`: the separator, a UTC designator and the
/// fraction are normalised. A time-zone aware value (`tz_aware`) with another offset, as SQLite
/// may store one in text, is moved to UTC, as the server engines print theirs. A value without
/// a time zone keeps any offset text, for the comparison to flag: PostgreSQL would drop it.
/// An era suffix (` BC`, as PostgreSQL prints years before 1) is kept after the fraction.
fn canonical_timestamp(text: &str, tz_aware: bool) -> String {
    if let Some(before_christ) = text.strip_suffix(" BC") {
        return format!("{} BC", canonical_timestamp(before_christ, tz_aware));
    }
    let spaced = text.replacen('T', " ", 1);
    let utc = ["Z", "+00:00", "+00", "+0000"]
        .iter()
        .find_map(|suffix| spaced.strip_suffix(suffix).map(str::to_string));
    let utc = match utc {
        Some(utc) => utc,
        None if tz_aware => offset_to_utc(&spaced).unwrap_or(spaced),
        None => spaced,
    };
    // A date alone is its midnight; a loosely spelled date or time is padded.
    let (date, clock) = utc.split_once(' ').unwrap_or((&utc, "0:0"));
    match (canonical_date(date), canonical_clock(clock)) {
        (Some(date), Some(clock)) if !clock.starts_with('-') => format!("{date} {clock}"),
        _ => pad_fraction(&utc),
    }
}

/// Whether a timestamp text carries an offset from UTC, which a column without a time zone
/// would drop (PostgreSQL) or apply its own way (MySQL): the value such a column gets is not
/// the one written.
pub fn has_utc_offset(text: &str) -> bool {
    canonical_timestamp(text, true) != canonical_timestamp(text, false)
}

/// `2024-03-01 01:30:00.5+02:00` → `2024-02-29 23:30:00.5`; `None` when the text has no
/// `±HH`, `±HHMM` or `±HH:MM` offset after its time, or does not parse.
fn offset_to_utc(text: &str) -> Option<String> {
    let (date, time) = text.split_once(' ')?;
    let (clock, offset) = time.split_at(time.find(['+', '-'])?);
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let digits = offset[1..].replace(':', "");
    // Only ASCII digits: the slicing below is by bytes.
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let offset_minutes: i64 = match digits.len() {
        2 => digits.parse::<i64>().ok()? * 60,
        4 => digits[..2].parse::<i64>().ok()? * 60 + digits[2..].parse::<i64>().ok()?,
        _ => return None,
    };
    let mut ymd = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (ymd.next()??, ymd.next()??, ymd.next()??);
    let (hms, fraction) = match clock.split_once('.') {
        Some((hms, fraction)) => (hms, format!(".{fraction}")),
        None => (clock, String::new()),
    };
    let mut parts = hms.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (hour, minute) = (parts.next()??, parts.next()??);
    let second = parts.next().unwrap_or(Some(0))?;
    let minutes =
        days_from_civil(year, month, day) * 1440 + hour * 60 + minute - sign * offset_minutes;
    let (year, month, day) = civil_from_days(minutes.div_euclid(1440));
    let of_day = minutes.rem_euclid(1440);
    Some(format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{second:02}{fraction}",
        of_day / 60,
        of_day % 60
    ))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date `days` after 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Compact JSON with object keys sorted by their bytes and every number as its exact decimal
/// value ([`canonical_number`]); text that is not JSON stays as it is. `{"b": 1e2, "a": 1.50}`
/// and `{"a":1.5,"b":100}` are one value; `12345678901234567890123` and `…124` are not.
pub fn canonical_json(text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value) => {
            let mut out = String::with_capacity(text.len());
            write_json(&mut out, &value);
            out
        }
        Err(_) => text.to_string(),
    }
}

fn write_json(out: &mut String, value: &serde_json::Value) {
    use serde_json::Value as J;
    match value {
        // serde_json's maps are ordered by key (no `preserve_order`), so objects come out sorted.
        J::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&J::String(key.clone()).to_string());
                out.push(':');
                write_json(out, item);
            }
            out.push('}');
        }
        J::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item);
            }
            out.push(']');
        }
        // `arbitrary_precision` keeps a number's text as written: no f64 in between.
        J::Number(n) => out.push_str(&canonical_number(&n.to_string())),
        other => out.push_str(&other.to_string()),
    }
}

/// The exact value of a JSON number's text as `[-]D[.DDD]` or, for exponents far from zero,
/// `[-]DDDeN` (digits without leading or trailing zeros): `1e2`, `100` and `100.0` → `100`,
/// `1.50` → `1.5`, `-0` → `0`, `1e400` → `1e400`. One value, one text; different values,
/// different texts.
pub fn canonical_number(text: &str) -> String {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.trim_start_matches('+').parse::<i64>().ok()),
        None => (unsigned, Some(0)),
    };
    let Some(exponent) = exponent else {
        return text.to_string();
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    // value = digits × 10^scale
    let digits = format!("{whole}{fraction}");
    let mut scale = exponent.saturating_sub(fraction.len() as i64);
    let digits = digits.trim_start_matches('0');
    let trimmed = digits.trim_end_matches('0');
    scale = scale.saturating_add((digits.len() - trimmed.len()) as i64);
    if trimmed.is_empty() {
        return "0".to_string();
    }
    let sign = if negative { "-" } else { "" };
    let places = trimmed.len() as i64;
    // Plain decimal text while it stays short; far exponents keep the mantissa-exponent form.
    if (0..=40).contains(&scale) {
        format!("{sign}{trimmed}{}", "0".repeat(scale as usize))
    } else if scale < 0 && scale >= -40 - places {
        let point = places + scale;
        if point > 0 {
            let (int_part, frac_part) = trimmed.split_at(point as usize);
            format!("{sign}{int_part}.{frac_part}")
        } else {
            format!("{sign}0.{}{trimmed}", "0".repeat((-point) as usize))
        }
    } else {
        format!("{sign}{trimmed}e{scale}")
    }
}

/// `12.50` → `12.5`, `3.00` → `3`, `-0.0` → `0`; integers are left alone.
fn trim_decimal(text: &str) -> String {
    if !text.contains('.') {
        return text.to_string();
    }
    let trimmed = text.trim_end_matches('0').trim_end_matches('.');
    match trimmed {
        "-0" | "" | "-" => "0".to_string(),
        _ => trimmed.to_string(),
    }
}

/// Pads (or adds) the fractional seconds of a `…HH:MM:SS[.f]` text to six digits.
fn pad_fraction(text: &str) -> String {
    let Some(colon) = text.rfind(':') else {
        return text.to_string();
    };
    let seconds = &text[colon + 1..];
    match seconds.find('.') {
        Some(dot) => {
            let digits = seconds.len() - dot - 1;
            if digits >= 6 {
                text.to_string()
            } else {
                format!("{text}{}", "0".repeat(6 - digits))
            }
        }
        None => format!("{text}.000000"),
    }
}

/// Appends one field of the canonical row encoding.
fn push_field(out: &mut String, text: Option<&str>) {
    match text {
        None => out.push('N'),
        Some(t) => {
            out.push_str(&t.chars().count().to_string());
            out.push(':');
            out.push_str(t);
        }
    }
}

/// The canonical encoding of a whole row.
pub fn encode_row(classes: &[TypeClass], row: &[Value]) -> String {
    let mut out = String::new();
    for (class, value) in classes.iter().zip(row) {
        push_field(&mut out, canonical_text(*class, value).as_deref());
    }
    out
}

/// The 64-bit row hash: the first 8 bytes of MD5 over the canonical encoding, big-endian.
pub fn row_hash(classes: &[TypeClass], row: &[Value]) -> u64 {
    hash_encoded(&encode_row(classes, row))
}

/// The 64-bit hash of an already encoded row.
pub fn hash_encoded(encoded: &str) -> u64 {
    let digest = Md5::digest(encoded.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// The portable hash of a key, for chunking by hash buckets and narrowing differing chunks: a
/// single integer key is its own hash (its low 32 bits: consecutive keys spread evenly over the
/// groups, and no engine spends a digest on it); any other key the first 4 bytes of MD5 over its
/// canonical encoding, big-endian. Computed in SQL on every engine with the same definition.
pub fn key_hash(classes: &[TypeClass], key: &[Value]) -> u64 {
    if let ([TypeClass::Int], [Value::Int(i)]) = (classes, key) {
        return (*i as u64) & 0xffff_ffff;
    }
    let digest = Md5::digest(encode_row(classes, key).as_bytes());
    u64::from(u32::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3],
    ]))
}

/// The size of values as row data is counted ([`crate::engine::Db::bytes_received`], the
/// `bytes_read`/`bytes_written` of a copy): 8 bytes for integers and floats, 1 for booleans, 0
/// for NULL, the byte length of texts and binaries.
pub fn rows_size(values: &[Value]) -> u64 {
    values
        .iter()
        .map(|value| match value {
            Value::Null => 0,
            Value::Int(_) | Value::Float(_) => 8,
            Value::Bool(_) => 1,
            Value::Text(text) => text.len() as u64,
            Value::Bytes(bytes) => bytes.len() as u64,
        })
        .sum()
}

/// The hash bucket of a key among `buckets`: its [`key_hash`] modulo `buckets`.
pub fn key_bucket(classes: &[TypeClass], key: &[Value], buckets: u64) -> u64 {
    key_hash(classes, key) % buckets.max(1)
}

/// What a row the server cannot hash adds to a chunk's sum of row hashes: 2^104, more than the
/// hashes of 2^40 rows add up to, so a sum of at least this magnitude says a row was not hashed
/// (see [`is_unhashable_sum`]), and such a chunk is never taken for equal.
pub const UNHASHABLE_ROW: &str = "20282409603651670423947251286016";

/// Whether a decimal sum of row hashes holds an [`UNHASHABLE_ROW`].
pub fn is_unhashable_sum(decimal: &str) -> bool {
    let digits = decimal.trim().trim_start_matches('-');
    digits.len() >= UNHASHABLE_ROW.len()
        && digits.parse::<u128>().map_or(true, |sum| sum >= 1 << 104)
}

/// Reduces a server-side `SUM` of row hashes (an arbitrary-precision decimal, signed on
/// PostgreSQL and unsigned on MySQL) to the sum modulo 2^64. Both readings agree modulo 2^64.
pub fn sum_mod_2_64(decimal: &str) -> Option<u64> {
    let text = decimal.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut acc: u64 = 0;
    for b in digits.bytes() {
        acc = acc.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
    }
    Some(if negative { acc.wrapping_neg() } else { acc })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_and_empty_string_encode_differently() {
        let classes = [TypeClass::Text, TypeClass::Text];
        let a = encode_row(&classes, &[Value::Null, Value::Text(String::new())]);
        let b = encode_row(&classes, &[Value::Text(String::new()), Value::Null]);
        assert_eq!(a, "N0:");
        assert_ne!(a, b);
    }

    #[test]
    fn length_prefix_counts_characters_not_bytes() {
        let row = [Value::Text("ü€😀".into())];
        assert_eq!(encode_row(&[TypeClass::Text], &row), "3:ü€😀");
    }

    #[test]
    fn decimals_lose_trailing_zeros_only_after_the_point() {
        assert_eq!(trim_decimal("12.50"), "12.5");
        assert_eq!(trim_decimal("3.00"), "3");
        assert_eq!(trim_decimal("100"), "100");
        assert_eq!(trim_decimal("-0.00"), "0");
    }

    #[test]
    fn timestamps_get_six_fractional_digits() {
        assert_eq!(
            pad_fraction("2024-01-01 10:00:00"),
            "2024-01-01 10:00:00.000000"
        );
        assert_eq!(
            pad_fraction("2024-01-01 10:00:00.5"),
            "2024-01-01 10:00:00.500000"
        );
        assert_eq!(pad_fraction("10:00:01.123456"), "10:00:01.123456");
    }

    #[test]
    fn floats_use_shortest_scientific_digits() {
        assert_eq!(float_text(0.1 + 0.2), "3.0000000000000004e-1");
        assert_eq!(float_text(1e20), "1e20");
        assert_eq!(float_text(-0.0), "0e0");
        assert_eq!(float_text(f64::NEG_INFINITY), "-Infinity");
        // A single-precision value is compared by its exact value, widened: never rounded.
        assert_eq!(
            canonical_text(TypeClass::Float32, &Value::Float(f64::from(1.1f32))),
            Some("1.100000023841858e0".into())
        );
        assert_ne!(
            canonical_text(TypeClass::Float32, &Value::Float(std::f64::consts::PI)),
            canonical_text(
                TypeClass::Float32,
                &Value::Float(f64::from(std::f32::consts::PI))
            )
        );
    }

    #[test]
    fn json_ignores_key_order_and_whitespace() {
        let a = canonical_text(
            TypeClass::Json,
            &Value::Text("{\"b\": [1, 2], \"a\": {\"y\": null, \"x\": 1.50}}".into()),
        );
        let b = canonical_text(
            TypeClass::Json,
            &Value::Text("{\"a\":{\"x\":1.5,\"y\":null},\"b\":[1,2]}".into()),
        );
        assert_eq!(a, b);
        assert_eq!(
            a.as_deref(),
            Some("{\"a\":{\"x\":1.5,\"y\":null},\"b\":[1,2]}")
        );
    }

    #[test]
    fn json_numbers_compare_by_exact_value() {
        let canon = |t: &str| canonical_text(TypeClass::Json, &Value::Text(t.into()));
        assert_eq!(canon(r#"{"n": 1e2}"#), canon(r#"{"n":100}"#));
        assert_eq!(canon(r#"{"n": 1.50}"#), canon(r#"{"n":1.5}"#));
        assert_eq!(canon(r#"[-0, 0.0, 0e5]"#).as_deref(), Some("[0,0,0]"));
        assert_ne!(
            canon(r#"{"n":12345678901234567890123}"#),
            canon(r#"{"n":12345678901234567890124}"#)
        );
        assert_ne!(
            canon(r#"{"x":0.10000000000000000001}"#),
            canon(r#"{"x":0.1}"#)
        );
        for (text, exact) in [
            ("100", "100"),
            ("1E+2", "100"),
            ("-12.3400", "-12.34"),
            ("0.00120", "0.0012"),
            ("123.45e-1", "12.345"),
            ("1e400", "1e400"),
            ("-25e-60", "-25e-60"),
            ("12345678901234567890123", "12345678901234567890123"),
        ] {
            assert_eq!(canonical_number(text), exact, "{text}");
        }
    }

    #[test]
    fn eras_and_24_00_are_kept() {
        let ts = |t: &str| canonical_text(TypeClass::Timestamp, &Value::Text(t.into()));
        assert_eq!(
            ts("0044-03-15 12:00:00 BC").as_deref(),
            Some("0044-03-15 12:00:00.000000 BC")
        );
        assert_ne!(ts("0044-03-15 12:00:00 BC"), ts("0044-03-15 12:00:00"));
        let time = |t: &str| canonical_text(TypeClass::Time, &Value::Text(t.into()));
        assert_eq!(time("24:00:00").as_deref(), Some("24:00:00.000000"));
        assert_ne!(time("24:00:00"), time("00:00:00"));
    }

    #[test]
    fn separators_inside_values_cannot_shift_between_columns() {
        let classes = [TypeClass::Text, TypeClass::Text];
        let text = |t: &str| Value::Text(t.into());
        let a = encode_row(&classes, &[text("x\u{1f}y"), text("z")]);
        let b = encode_row(&classes, &[text("x"), text("y\u{1f}z")]);
        assert_ne!(a, b);
        let nulls = [Value::Null, text(""), text("NULL"), text("\\N")];
        for (i, x) in nulls.iter().enumerate() {
            for y in &nulls[i + 1..] {
                assert_ne!(
                    encode_row(&[TypeClass::Text], std::slice::from_ref(x)),
                    encode_row(&[TypeClass::Text], std::slice::from_ref(y))
                );
            }
        }
    }

    #[test]
    fn loose_spellings_are_one_value_of_their_class() {
        let canon = |class, t: &str| canonical_text(class, &Value::Text(t.into()));
        for (class, spellings, canonical) in [
            (
                TypeClass::Time,
                &["10:30", "10:30:00", "10:30:0.0", "10:30:00.0000000"][..],
                "10:30:00.000000",
            ),
            (
                TypeClass::Time,
                &["9:05", "09:05:00.000"][..],
                "09:05:00.000000",
            ),
            (TypeClass::Time, &["-838:59:59"][..], "-838:59:59.000000"),
            (
                TypeClass::Time,
                &["10:30:00.1234560"][..],
                "10:30:00.123456",
            ),
            (
                TypeClass::Date,
                &["2024-1-5", "2024-01-05"][..],
                "2024-01-05",
            ),
            (
                TypeClass::Timestamp,
                &["2024-01-01", "2024-1-1 0:0", "2024-01-01T00:00:00Z"][..],
                "2024-01-01 00:00:00.000000",
            ),
            (
                TypeClass::TimestampTz,
                &[
                    "2024-1-5 10:00",
                    "2024-01-05T12:00+02:00",
                    "2024-01-05 10:00:00.0000000",
                ][..],
                "2024-01-05 10:00:00.000000",
            ),
            (
                TypeClass::Bool,
                &["true", "t", "YES", "on", " y ", "1"][..],
                "1",
            ),
            (
                TypeClass::Bool,
                &["false", "F", "no", "off", "n", "0"][..],
                "0",
            ),
            (
                TypeClass::Uuid,
                &[
                    "{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}",
                    "a0eebc999c0b4ef8bb6d6bb9bd380a11",
                    "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
                ][..],
                "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            ),
        ] {
            for spelling in spellings {
                assert_eq!(
                    canon(class, spelling).as_deref(),
                    Some(canonical),
                    "{spelling}"
                );
            }
        }
    }

    #[test]
    fn different_values_keep_different_canonical_texts() {
        let canon = |class, t: &str| canonical_text(class, &Value::Text(t.into()));
        for (class, a, b) in [
            (TypeClass::Time, "10:30:00.1234567", "10:30:00.123456"),
            (TypeClass::Time, "24:00", "00:00"),
            (
                TypeClass::Timestamp,
                "2024-01-01 10:00:00+02:00",
                "2024-01-01 10:00:00",
            ),
            (TypeClass::Timestamp, "0044-03-15 BC", "0044-03-15"),
            (TypeClass::Date, "24-1-5", "2024-01-05"),
            (TypeClass::Bool, "yes!", "1"),
            (
                TypeClass::Uuid,
                "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1}",
                "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
            ),
        ] {
            assert_ne!(canon(class, a), canon(class, b), "{a} and {b}");
        }
        // Text that is no spelling of its class stays as it is, for the comparison to flag.
        assert_eq!(
            canon(TypeClass::Date, "yesterday").as_deref(),
            Some("yesterday")
        );
        assert_eq!(
            canon(TypeClass::Timestamp, "infinity").as_deref(),
            Some("infinity")
        );
    }

    #[test]
    fn respelling_gives_the_target_the_canonical_value() {
        let text = |t: &str| Value::Text(t.into());
        assert_eq!(respell(TypeClass::Bool, text("yes")), Value::Bool(true));
        assert_eq!(respell(TypeClass::Bool, text("maybe")), text("maybe"));
        assert_eq!(
            respell(TypeClass::Time, text("10:30")),
            text("10:30:00.000000")
        );
        assert_eq!(respell(TypeClass::Text, text("10:30")), text("10:30"));
        assert_eq!(respell(TypeClass::Time, Value::Int(5)), Value::Int(5));
        assert!(has_utc_offset("2024-01-01 10:00:00+02:00"));
        let uuid = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
        for spelling in [
            "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
            "a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
            "{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}",
        ] {
            assert_eq!(canonical_uuid(spelling), uuid, "{spelling}");
        }
        for not_one in [
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
            "a0e-ebc99",
            "a0eebc99--9c0b4ef8bb6d6bb9bd380a11",
            "a0eebc999c0b4ef8bb6d6bb9bd380a11-",
        ] {
            assert_eq!(
                canonical_uuid(not_one),
                not_one.to_ascii_lowercase(),
                "{not_one}"
            );
        }
        assert!(
            !has_utc_offset("2024-01-01 10:00:00+1é1"),
            "no panic either"
        );
        assert!(!has_utc_offset("2024-01-01 10:00:00Z"));
        assert!(!has_utc_offset("2024-01-01"));
    }

    #[test]
    fn json_numbers_stored_as_sqlite_numbers_are_json_numbers() {
        let json = |v: Value| canonical_text(TypeClass::Json, &v);
        assert_eq!(json(Value::Float(1.5)).as_deref(), Some("1.5"));
        assert_eq!(json(Value::Float(1e20)), json(Value::Text("1e20".into())));
        assert_eq!(
            json(Value::Float(-1e-6)),
            json(Value::Text("-0.000001".into()))
        );
        assert_eq!(json(Value::Int(100)), json(Value::Text("100.0".into())));
        assert_ne!(
            json(Value::Float(0.1)),
            json(Value::Text("0.10000000000000000001".into()))
        );
    }

    #[test]
    fn utc_timestamps_lose_their_designator() {
        assert_eq!(
            canonical_timestamp("2024-02-29T23:59:59.5Z", true),
            "2024-02-29 23:59:59.500000"
        );
        assert_eq!(
            canonical_timestamp("1969-12-31 23:59:59+00:00", false),
            "1969-12-31 23:59:59.000000"
        );
    }

    #[test]
    fn other_offsets_move_to_utc_when_the_time_zone_matters() {
        for (text, utc) in [
            ("2024-03-01 01:30:00+02:00", "2024-02-29 23:30:00.000000"),
            ("2023-12-31T22:15:00.25-0245", "2024-01-01 01:00:00.250000"),
            ("1969-12-31 23:00:00-01", "1970-01-01 00:00:00.000000"),
            (
                "2000-02-28 23:59:59.999999-00:01",
                "2000-02-29 00:00:59.999999",
            ),
            ("1900-03-01 00:00:00+05:30", "1900-02-28 18:30:00.000000"),
        ] {
            assert_eq!(canonical_timestamp(text, true), utc, "{text}");
        }
        // Without a time zone the offset stays, and so does text that is not a timestamp.
        assert!(canonical_timestamp("2024-03-01 01:30:00+02:00", false).contains("+02:00"));
        assert_eq!(canonical_timestamp("infinity", true), "infinity");
    }

    #[test]
    fn civil_dates_round_trip() {
        for days in [-719_468, -1, 0, 59, 11_016, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn row_hash_is_md5_prefix() {
        // md5("N") = 8d9c307cb7f3c4a32822a51922d1ceaa
        assert_eq!(hash_encoded("N"), 0x8d9c307cb7f3c4a3);
    }

    #[test]
    fn server_sums_reduce_modulo_2_64() {
        assert_eq!(sum_mod_2_64("18446744073709551617"), Some(1));
        assert_eq!(sum_mod_2_64("-1"), Some(u64::MAX));
        assert_eq!(sum_mod_2_64("0"), Some(0));
        assert_eq!(sum_mod_2_64("1.5"), None);
    }

    #[test]
    fn a_sum_holding_an_unhashable_row_is_told_from_any_sum_of_hashes() {
        let most = (u128::from(u64::MAX) << 40).to_string();
        assert!(!is_unhashable_sum(&most));
        assert!(!is_unhashable_sum(&format!("-{most}")));
        assert!(!is_unhashable_sum("0"));
        assert!(is_unhashable_sum(UNHASHABLE_ROW));
        let two: u128 = (1 << 105) + 12345;
        assert!(is_unhashable_sum(&two.to_string()));
        assert!(is_unhashable_sum(&format!("{}0", u128::MAX)));
    }
}
