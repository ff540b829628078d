//! Data rules: replacing column values while copying (anonymization), in a way that keeps
//! incremental sync working.
//!
//! The job file's `[data_rules]` maps a column (`email`), a table's column (`users.email`) or a
//! pattern with `*` (`*.ssn`, `*email*`) to a rule. [`DataRules`] holds them as parsed;
//! [`compile`] picks, for one table, the rule of every column and checks that its output fits the
//! column; [`TableRules::apply`] turns a source row into the row the target gets.
//!
//! Every rule is a pure function of (seed, table, column, row key) — `hash` of (seed, value)
//! instead — so the same source row always becomes the same target row. That is what makes rules
//! compatible with chunk checksums: the source side of such a table is hashed in-process *after*
//! the transformation, the target's stored values hash the same, and a re-run finds nothing to
//! write. Rules never apply to key columns, since the key is what every rule is derived from.
//! Being derived from the key, a rule fills a column where the source holds NULL too; only
//! `null`, `hash` (of the value) and `untouched` keep a NULL a NULL.

use crate::engine::types::{integer_range, length_limit};
use crate::engine::Column;
use crate::value::{canonical_text, encode_row, Key, TypeClass, Value};
use anyhow::{bail, Result};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Rule names a job file may use, for messages.
const RULE_NAMES: &str = "null, unique_email, unique_phone, random_int, random_date, \
                          random_string, hash, untouched, or { value = … }";

/// `random_int` without `min`/`max`.
const DEFAULT_INT_RANGE: (i64, i64) = (1, 1000);
/// `random_string` without `length` (shortened to a shorter column's limit).
const DEFAULT_STRING_LENGTH: usize = 12;
/// Hex digits of a `hash` (128 bits), shortened to a shorter column's limit.
const HASH_DIGITS: usize = 32;
/// `random_date` picks a day from 1970-01-02 to 2029-12-31: inside every engine's date and
/// timestamp range, MySQL's `TIMESTAMP` included.
const DATE_FIRST_DAY: i64 = 1;
const DATE_DAYS: i64 = 21914;

/// What a rule writes into a column.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// The column is copied as it is (exempts it from a broader rule).
    Untouched,
    Null,
    Fixed(Fixed),
    UniqueEmail,
    UniquePhone,
    RandomInt {
        min: i64,
        max: i64,
    },
    RandomDate,
    /// `None`: the default length, shortened to the column's limit.
    RandomString {
        length: Option<usize>,
    },
    Hash,
}

/// A fixed value from the job file.
#[derive(Debug, Clone, PartialEq)]
pub enum Fixed {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
}

impl Rule {
    /// Reads a rule as written in `[data_rules]`: a name, or a table with `value`, or with `rule`
    /// and that rule's parameters. The error says what is wrong, without a position.
    pub fn parse(written: &toml::Value) -> std::result::Result<Rule, String> {
        let table = match written {
            toml::Value::String(name) => return Rule::named(name, &toml::Table::new()),
            toml::Value::Table(table) => table,
            other => {
                return Err(format!(
                    "a data rule is a rule name or a table such as {{ value = \"x\" }}, not a {}",
                    other.type_str()
                ))
            }
        };
        if let Some(unknown) = table
            .keys()
            .find(|k| !["rule", "value", "min", "max", "length"].contains(&k.as_str()))
        {
            return Err(format!(
                "unknown data rule setting {unknown:?}; use rule, value, min, max or length"
            ));
        }
        match (table.get("value"), table.get("rule")) {
            (Some(_), Some(_)) => Err("a data rule has either `value` or `rule`, not both".into()),
            (Some(value), None) if table.len() == 1 => Ok(Rule::Fixed(Fixed::parse(value)?)),
            (Some(_), None) => Err("a fixed `value` takes no other settings".into()),
            (None, Some(toml::Value::String(name))) => Rule::named(name, table),
            (None, Some(_)) => Err("`rule` must be a rule name".into()),
            (None, None) => Err(format!(
                "a data rule table needs `rule` or `value`; rules: {RULE_NAMES}"
            )),
        }
    }

    fn named(name: &str, settings: &toml::Table) -> std::result::Result<Rule, String> {
        let int = |key: &str| match settings.get(key) {
            None => Ok(None),
            Some(toml::Value::Integer(i)) => Ok(Some(*i)),
            Some(_) => Err(format!("`{key}` of rule {name} must be an integer")),
        };
        let allowed: &[&str] = match name {
            "random_int" => &["rule", "min", "max"],
            "random_string" => &["rule", "length"],
            _ => &["rule"],
        };
        if let Some(extra) = settings.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(format!("rule {name} takes no setting {extra:?}"));
        }
        Ok(match name {
            "untouched" => Rule::Untouched,
            "null" => Rule::Null,
            "unique_email" => Rule::UniqueEmail,
            "unique_phone" => Rule::UniquePhone,
            "random_date" => Rule::RandomDate,
            "hash" => Rule::Hash,
            "random_int" => {
                let min = int("min")?.unwrap_or(DEFAULT_INT_RANGE.0);
                let max = int("max")?.unwrap_or(DEFAULT_INT_RANGE.1);
                if min > max {
                    return Err(format!("random_int: min {min} is greater than max {max}"));
                }
                Rule::RandomInt { min, max }
            }
            "random_string" => match int("length")? {
                None => Rule::RandomString { length: None },
                Some(n @ 1..=10_000) => Rule::RandomString {
                    length: Some(n as usize),
                },
                Some(n) => {
                    return Err(format!(
                        "random_string: length must be from 1 to 10000, got {n}"
                    ))
                }
            },
            other => return Err(format!("unknown data rule {other:?}; use {RULE_NAMES}")),
        })
    }

    /// The rule's name, for messages and listings.
    pub fn name(&self) -> &'static str {
        match self {
            Rule::Untouched => "untouched",
            Rule::Null => "null",
            Rule::Fixed(_) => "value",
            Rule::UniqueEmail => "unique_email",
            Rule::UniquePhone => "unique_phone",
            Rule::RandomInt { .. } => "random_int",
            Rule::RandomDate => "random_date",
            Rule::RandomString { .. } => "random_string",
            Rule::Hash => "hash",
        }
    }
}

impl Fixed {
    fn parse(value: &toml::Value) -> std::result::Result<Fixed, String> {
        Ok(match value {
            toml::Value::Integer(i) => Fixed::Int(*i),
            toml::Value::Float(f) => Fixed::Float(*f),
            toml::Value::Boolean(b) => Fixed::Bool(*b),
            toml::Value::String(s) => Fixed::Text(s.clone()),
            toml::Value::Datetime(d) => Fixed::Text(d.to_string()),
            other => {
                return Err(format!(
                    "a fixed `value` must be a string, number, boolean or date, not a {}",
                    other.type_str()
                ))
            }
        })
    }

    fn text(&self) -> String {
        match self {
            Fixed::Int(i) => i.to_string(),
            Fixed::Float(f) => f.to_string(),
            Fixed::Bool(b) => b.to_string(),
            Fixed::Text(t) => t.clone(),
        }
    }
}

/// Which columns a `[data_rules]` entry names.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// `users.email`: one table's column (the table as in the job file, or without its schema).
    Exact { table: String, column: String },
    /// `email`: that column in every table.
    Column(String),
    /// `*.ssn`, `*email*`: a pattern with `*`, matched against `table.column` when it has a dot
    /// and against the column name otherwise.
    Pattern(String),
}

impl Target {
    pub fn parse(written: &str) -> Target {
        if written.contains('*') {
            Target::Pattern(written.to_string())
        } else if let Some((table, column)) = written.rsplit_once('.') {
            Target::Exact {
                table: table.to_string(),
                column: column.to_string(),
            }
        } else {
            Target::Column(written.to_string())
        }
    }

    /// How specific a match is: exact beats a column name beats a pattern, and a pattern with
    /// more literal characters beats one with fewer. `None`: no match.
    fn rank(&self, table: &str, column: &str) -> Option<(u8, usize)> {
        let bare_table = table.rsplit_once('.').map_or(table, |(_, t)| t);
        match self {
            Target::Exact {
                table: t,
                column: c,
            } => (c == column && (t == table || t == bare_table)).then_some((2, 0)),
            Target::Column(c) => (c == column).then_some((1, 0)),
            Target::Pattern(p) => {
                let matched = if p.contains('.') {
                    glob(p, &format!("{table}.{column}"))
                        || glob(p, &format!("{bare_table}.{column}"))
                } else {
                    glob(p, column)
                };
                matched.then(|| (0, p.chars().filter(|&c| c != '*').count()))
            }
        }
    }
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = match parts.split_first() {
        Some(split) => split,
        None => return text.is_empty(),
    };
    let Some(mut remaining) = text.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return remaining.is_empty();
    };
    for part in middle {
        match remaining.find(part) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

/// One `[data_rules]` entry.
#[derive(Debug, Clone)]
pub struct RuleSpec {
    /// The key as written (`users.email`), for messages.
    pub written: String,
    pub target: Target,
    pub rule: Rule,
    /// `sync.toml:12:1`, for messages.
    pub position: String,
}

/// The secret the rules are keyed with; never printed.
#[derive(Clone, Default)]
pub struct Seed(Vec<u8>);

impl Seed {
    pub fn new(secret: &str) -> Seed {
        Seed(secret.as_bytes().to_vec())
    }
}

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// The job file's `[data_rules]` and `data_rules_seed`.
#[derive(Debug, Clone, Default)]
pub struct DataRules {
    pub specs: Vec<RuleSpec>,
    pub seed: Seed,
}

impl DataRules {
    /// The rule for a column: the most specific entry that names it.
    pub fn rule_for(&self, table: &str, column: &str) -> Option<&RuleSpec> {
        self.specs
            .iter()
            .filter_map(|s| s.target.rank(table, column).map(|rank| (rank, s)))
            // The highest rank; on a tie the first entry (the file's keys are sorted) wins.
            .min_by_key(|(rank, _)| std::cmp::Reverse(*rank))
            .map(|(_, s)| s)
    }

    /// Entries that name no column of these tables (`(table, columns)`), for warnings.
    pub fn unused<'a>(&'a self, tables: &[(&str, Vec<&str>)]) -> Vec<&'a RuleSpec> {
        self.specs
            .iter()
            .filter(|s| {
                !tables
                    .iter()
                    .any(|(t, columns)| columns.iter().any(|c| s.target.rank(t, c).is_some()))
            })
            .collect()
    }
}

/// The rules of one table, ready to transform its source rows.
#[derive(Debug, Clone)]
pub struct TableRules {
    table: String,
    /// HMAC-SHA256 keyed by the seed, cloned for every digest.
    mac: Hmac<Sha256>,
    columns: Vec<ColumnRule>,
    key: Vec<usize>,
    key_classes: Vec<TypeClass>,
    /// The key is one integer column: `unique_*` then embed the key itself, which makes them
    /// unique by construction.
    integer_key: bool,
}

#[derive(Debug, Clone)]
struct ColumnRule {
    index: usize,
    name: String,
    class: TypeClass,
    rule: Rule,
    /// `Fixed` as the value written.
    fixed: Value,
    /// The target column's character limit, if it has one.
    limit: Option<usize>,
}

/// The rules that apply to a table's columns, or `None` when no column has one (or only
/// `untouched`). `source` and `target` are the matched columns (same order), `key` the key
/// positions. Refuses rules on key columns and rules whose output the target column cannot hold.
pub fn compile(
    rules: &DataRules,
    table: &str,
    source: &[Column],
    target: &[Column],
    key: &[usize],
) -> Result<Option<TableRules>> {
    let mut columns = Vec::new();
    for (index, (s, t)) in source.iter().zip(target).enumerate() {
        let Some(spec) = rules.rule_for(table, &s.name) else {
            continue;
        };
        if spec.rule == Rule::Untouched {
            continue;
        }
        let about = || {
            format!(
                "table {table}, column {:?}: rule {} (`{}` at {})",
                s.name,
                spec.rule.name(),
                spec.written,
                spec.position
            )
        };
        if key.len() == source.len() {
            bail!(
                "{}: the table has no key (it syncs as a multiset of whole rows), and rules are \
                 derived from a row's key; set `key` to columns that identify a row, or exempt the \
                 column with `\"{table}.{}\" = \"untouched\"`",
                about(),
                s.name
            );
        }
        if key.contains(&index) {
            bail!(
                "{}: the column is part of the key, and rules are derived from the key, so a key \
                 column cannot have a rule; exempt it with `\"{table}.{}\" = \"untouched\"`",
                about(),
                s.name
            );
        }
        let decl = t.decl_type.to_ascii_lowercase();
        let fixed = match &spec.rule {
            Rule::Fixed(f) => {
                fixed_value(f, s.class).map_err(|why| anyhow::anyhow!("{}: {why}", about()))?
            }
            _ => Value::Null,
        };
        if let Err(why) = check_fits(&spec.rule, &fixed, s.class, t, &decl) {
            bail!("{}: {why}", about());
        }
        columns.push(ColumnRule {
            index,
            name: s.name.clone(),
            class: s.class,
            rule: spec.rule.clone(),
            fixed,
            limit: length_limit(&decl),
        });
    }
    if columns.is_empty() {
        return Ok(None);
    }
    let key_classes: Vec<TypeClass> = key.iter().map(|&i| source[i].class).collect();
    Ok(Some(TableRules {
        table: table.to_string(),
        mac: <Hmac<Sha256> as Mac>::new_from_slice(&rules.seed.0)
            .map_err(|e| anyhow::anyhow!("data_rules_seed cannot key HMAC-SHA256: {e}"))?,
        integer_key: key_classes == [TypeClass::Int],
        columns,
        key: key.to_vec(),
        key_classes,
    }))
}

/// A fixed value as the column's class carries it.
fn fixed_value(fixed: &Fixed, class: TypeClass) -> std::result::Result<Value, String> {
    use TypeClass::*;
    let wrong = |what: &str| Err(format!("the fixed value {fixed:?} is not {what}"));
    Ok(match (class, fixed) {
        (Int, Fixed::Int(i)) => Value::Int(*i),
        (Int, _) => return wrong("an integer"),
        (Decimal, Fixed::Int(i)) => Value::Int(*i),
        (Decimal, Fixed::Float(f)) if f.is_finite() => Value::Text(f.to_string()),
        (Decimal, Fixed::Text(t)) if t.trim().parse::<f64>().is_ok() => Value::Text(t.clone()),
        (Decimal, _) => return wrong("a decimal number"),
        (Float | Float32, Fixed::Int(i)) => Value::Float(*i as f64),
        (Float | Float32, Fixed::Float(f)) => Value::Float(*f),
        (Float | Float32, _) => return wrong("a number"),
        (Bool, Fixed::Bool(b)) => Value::Bool(*b),
        (Bool, Fixed::Int(i @ 0..=1)) => Value::Bool(*i == 1),
        (Bool, _) => return wrong("a boolean"),
        (Text | Other, f) => Value::Text(f.text()),
        (Bytes, Fixed::Text(t)) => Value::Bytes(t.as_bytes().to_vec()),
        // Written in the canonical form, which every engine reads (no `T`, no `Z`).
        (Date | Time | Timestamp | TimestampTz | Uuid | Json, Fixed::Text(t)) => {
            Value::Text(canonical_text(class, &Value::Text(t.clone())).unwrap_or_default())
        }
        (_, _) => return wrong("text"),
    })
}

/// Whether the rule's output can be stored in the target column `to` (declared `decl`).
fn check_fits(
    rule: &Rule,
    fixed: &Value,
    class: TypeClass,
    to: &Column,
    decl: &str,
) -> std::result::Result<(), String> {
    use TypeClass::*;
    let textual = matches!(class, Text | Other);
    let fits = match rule {
        Rule::Untouched | Rule::Fixed(_) => true,
        Rule::Null => {
            if !to.nullable {
                return Err(format!("the target column is NOT NULL ({})", to.decl_type));
            }
            true
        }
        Rule::UniqueEmail | Rule::UniquePhone | Rule::RandomString { .. } | Rule::Hash => textual,
        Rule::RandomInt { .. } => matches!(class, Int | Decimal | Float | Float32) || textual,
        Rule::RandomDate => matches!(class, Date | Timestamp | TimestampTz) || textual,
    };
    if !fits {
        let writes = match rule {
            Rule::RandomInt { .. } => "integers",
            Rule::RandomDate => "dates",
            _ => "text",
        };
        return Err(format!(
            "the rule writes {writes}, which the target column cannot hold: it is {} ({})",
            class_name(class),
            to.decl_type
        ));
    }
    let limit = length_limit(decl);
    match (rule, fixed, limit) {
        (Rule::Fixed(_), Value::Text(t), Some(limit)) if t.chars().count() > limit => {
            return Err(format!(
                "the value has {} characters, more than {} holds",
                t.chars().count(),
                to.decl_type
            ))
        }
        (Rule::Fixed(_), Value::Int(i), _) => {
            if let Some((min, max)) = integer_range(decl) {
                if !(min..=max).contains(&i128::from(*i)) {
                    return Err(format!("{i} does not fit {}", to.decl_type));
                }
            }
        }
        (Rule::RandomString { length: Some(n) }, _, Some(limit)) if *n > limit => {
            return Err(format!("length {n} is more than {} holds", to.decl_type))
        }
        (Rule::RandomInt { min, max }, _, _) => {
            if let (Some((lo, hi)), Int) = (integer_range(decl), class) {
                if i128::from(*min) < lo || i128::from(*max) > hi {
                    return Err(format!(
                        "the range {min}..={max} does not fit {}",
                        to.decl_type
                    ));
                }
            }
            let widest = min.to_string().len().max(max.to_string().len());
            if limit.is_some_and(|l| widest > l) {
                return Err(format!("{widest}-digit values do not fit {}", to.decl_type));
            }
        }
        (Rule::RandomDate, _, Some(limit)) if limit < 10 => {
            return Err(format!("a date does not fit {}", to.decl_type))
        }
        _ => {}
    }
    Ok(())
}

/// A class as people call it, for messages.
fn class_name(class: TypeClass) -> &'static str {
    use TypeClass::*;
    match class {
        Int => "an integer column",
        Decimal => "a decimal column",
        Float | Float32 => "a floating-point column",
        Bool => "a boolean column",
        Text | Other => "a text column",
        Bytes => "a binary column",
        Date => "a date column",
        Time => "a time column",
        Timestamp | TimestampTz => "a timestamp column",
        Uuid => "a UUID column",
        Json => "a JSON column",
    }
}

impl TableRules {
    /// `column: rule` for every column with a rule, for `dbdelta check`.
    pub fn describe(&self) -> Vec<String> {
        self.columns
            .iter()
            .map(|c| format!("{}: {}", c.name, c.rule.name()))
            .collect()
    }

    /// The target row for a source row: every column with a rule replaced. Fails only when a
    /// `unique_email` or `unique_phone` is longer than the target column allows.
    pub fn apply(&self, mut row: Vec<Value>) -> Result<Vec<Value>> {
        let key: Key = self.key.iter().map(|&i| row[i].clone()).collect();
        let encoded_key = encode_row(&self.key_classes, &key);
        for c in &self.columns {
            let value = self.output(c, &key, &encoded_key, &row[c.index]);
            if let (Value::Text(t), Some(limit)) = (&value, c.limit) {
                if t.chars().count() > limit {
                    bail!(
                        "table {}, key {}, column {:?}: rule {} gives {t:?}, longer than the target \
                         column's {limit} characters; nothing of this chunk was written",
                        self.table,
                        crate::value::key_to_string(&key),
                        c.name,
                        c.rule.name()
                    );
                }
            }
            row[c.index] = value;
        }
        Ok(row)
    }

    fn output(&self, c: &ColumnRule, key: &Key, encoded_key: &str, current: &Value) -> Value {
        let digest = || self.digest(&[&self.table, &c.name, encoded_key]);
        let integer_key = match key.as_slice() {
            [Value::Int(k)] if self.integer_key => Some(*k),
            _ => None,
        };
        match &c.rule {
            Rule::Untouched => current.clone(),
            Rule::Null => Value::Null,
            Rule::Fixed(_) => c.fixed.clone(),
            Rule::UniqueEmail => Value::Text(match integer_key {
                Some(k) => format!("user-{k}@example.com"),
                None => format!("user-{}@example.com", hex::encode(&digest()[..8])),
            }),
            Rule::UniquePhone => Value::Text(match integer_key {
                Some(k) => format!("555{k:07}"),
                None => format!("555{:015}", number(&digest()) % 1_000_000_000_000_000),
            }),
            Rule::RandomInt { min, max } => {
                let span = (i128::from(*max) - i128::from(*min) + 1) as u128;
                let value =
                    (i128::from(*min) + (u128::from(number(&digest())) % span) as i128) as i64;
                match c.class {
                    TypeClass::Text | TypeClass::Other => Value::Text(value.to_string()),
                    _ => Value::Int(value),
                }
            }
            Rule::RandomDate => {
                let day = DATE_FIRST_DAY + (number(&digest()) % DATE_DAYS as u64) as i64;
                let date = date_text(day);
                Value::Text(match c.class {
                    TypeClass::Timestamp | TypeClass::TimestampTz => format!("{date} 00:00:00"),
                    _ => date,
                })
            }
            Rule::RandomString { length } => {
                let length =
                    length.unwrap_or(DEFAULT_STRING_LENGTH.min(c.limit.unwrap_or(usize::MAX)));
                let mut state = number(&digest());
                const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
                let text = (0..length)
                    .map(|_| {
                        ALPHABET[(splitmix64(&mut state) % ALPHABET.len() as u64) as usize] as char
                    })
                    .collect();
                Value::Text(text)
            }
            Rule::Hash => match canonical_text(c.class, current) {
                None => Value::Null,
                Some(text) => {
                    let mut hex = hex::encode(self.digest(&["hash", &text]));
                    hex.truncate(HASH_DIGITS.min(c.limit.unwrap_or(usize::MAX)));
                    Value::Text(hex)
                }
            },
        }
    }

    /// HMAC-SHA256 keyed by the seed over the length-prefixed parts (no part can run into the
    /// next).
    fn digest(&self, parts: &[&str]) -> [u8; 32] {
        let classes = vec![TypeClass::Text; parts.len()];
        let values: Vec<Value> = parts.iter().map(|p| Value::Text(p.to_string())).collect();
        let mut mac = self.mac.clone();
        mac.update(encode_row(&classes, &values).as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// The first 8 bytes of a digest as a number.
fn number(digest: &[u8; 32]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// SplitMix64: a tiny, well-mixed generator for drawing characters from one digest.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `YYYY-MM-DD` of a day number counted from 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn date_text(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(written: &str, rule: Rule) -> RuleSpec {
        RuleSpec {
            written: written.into(),
            target: Target::parse(written),
            rule,
            position: "sync.toml:1:1".into(),
        }
    }

    fn column(name: &str, class: TypeClass, decl: &str) -> Column {
        Column {
            name: name.into(),
            decl_type: decl.into(),
            cast_type: String::new(),
            class,
            nullable: name != "id",
            has_default: false,
            generated: false,
            collation: None,
        }
    }

    fn users() -> Vec<Column> {
        vec![
            column("id", TypeClass::Int, "integer"),
            column("email", TypeClass::Text, "varchar(100)"),
            column("phone", TypeClass::Text, "text"),
            column("age", TypeClass::Int, "smallint"),
            column("born", TypeClass::Date, "date"),
            column("nick", TypeClass::Text, "varchar(8)"),
            column("secret", TypeClass::Text, "text"),
        ]
    }

    fn rules(specs: Vec<RuleSpec>, seed: &str) -> DataRules {
        DataRules {
            specs,
            seed: Seed::new(seed),
        }
    }

    fn all_rules(seed: &str) -> TableRules {
        let r = rules(
            vec![
                spec("email", Rule::UniqueEmail),
                spec("phone", Rule::UniquePhone),
                spec("age", Rule::RandomInt { min: 18, max: 99 }),
                spec("born", Rule::RandomDate),
                spec("nick", Rule::RandomString { length: None }),
                spec("secret", Rule::Hash),
            ],
            seed,
        );
        compile(&r, "users", &users(), &users(), &[0])
            .unwrap()
            .unwrap()
    }

    fn row(id: i64) -> Vec<Value> {
        vec![
            Value::Int(id),
            Value::Text("a@b.c".into()),
            Value::Text("+49 1".into()),
            Value::Int(40),
            Value::Text("1980-01-01".into()),
            Value::Text("nick".into()),
            Value::Text("pw".into()),
        ]
    }

    #[test]
    fn rules_are_deterministic_for_key_and_seed() {
        let a = all_rules("s1").apply(row(7)).unwrap();
        assert_eq!(a, all_rules("s1").apply(row(7)).unwrap());
        assert_ne!(a, all_rules("s1").apply(row(8)).unwrap());
        let other_seed = all_rules("s2").apply(row(7)).unwrap();
        assert_ne!(a[3..6], other_seed[3..6]);
        assert_eq!(a[1], Value::Text("user-7@example.com".into()));
        assert_eq!(a[2], Value::Text("5550000007".into()));
        assert!(matches!(a[3], Value::Int(18..=99)));
        assert!(matches!(&a[5], Value::Text(t) if t.len() == 8));
        // A hash depends on the value (and the seed), not on the key.
        assert_eq!(a[6], all_rules("s1").apply(row(8)).unwrap()[6]);
        assert!(matches!(&a[6], Value::Text(t) if t.len() == HASH_DIGITS));
    }

    #[test]
    fn what_each_rule_makes_of_null() {
        let null_row = |id: i64| {
            let mut row = row(id);
            for value in &mut row[1..] {
                *value = Value::Null;
            }
            row
        };
        // Rules derived from the key write a value whatever the source holds.
        let out = all_rules("s").apply(null_row(7)).unwrap();
        assert_eq!(
            out[1],
            Value::Text("user-7@example.com".into()),
            "unique_email"
        );
        assert_eq!(out[2], Value::Text("5550000007".into()), "unique_phone");
        assert!(matches!(out[3], Value::Int(18..=99)), "random_int");
        assert!(
            matches!(&out[4], Value::Text(d) if d.len() == 10),
            "random_date"
        );
        assert!(
            matches!(&out[5], Value::Text(t) if t.len() == 8),
            "random_string"
        );
        // `hash` depends on the value only: NULL stays NULL.
        assert_eq!(out[6], Value::Null, "hash");
        // The same values as for a row holding something: NULL changes nothing.
        assert_eq!(out[1..6], all_rules("s").apply(row(7)).unwrap()[1..6]);

        let r = rules(
            vec![
                spec("email", Rule::Null),
                spec("phone", Rule::Fixed(Fixed::Text("none".into()))),
                spec("age", Rule::Untouched),
            ],
            "s",
        );
        let table = compile(&r, "users", &users(), &users(), &[0])
            .unwrap()
            .unwrap();
        let out = table.apply(null_row(7)).unwrap();
        assert_eq!(out[1], Value::Null, "null");
        assert_eq!(out[2], Value::Text("none".into()), "{{ value = … }}");
        assert_eq!(out[3], Value::Null, "untouched");
        assert_eq!(table.apply(row(7)).unwrap()[1], Value::Null, "null");
    }

    #[test]
    fn exact_beats_column_beats_pattern_and_untouched_exempts() {
        let r = rules(
            vec![
                spec("*email*", Rule::Null),
                spec("*.email", Rule::Hash),
                spec("email", Rule::UniqueEmail),
                spec("users.email", Rule::Untouched),
                spec("public.orders.email", Rule::RandomString { length: None }),
            ],
            "",
        );
        let rule = |t: &str, c: &str| r.rule_for(t, c).map(|s| s.rule.name());
        assert_eq!(rule("users", "email"), Some("untouched"));
        assert_eq!(rule("public.users", "email"), Some("untouched"));
        assert_eq!(rule("public.orders", "email"), Some("random_string"));
        assert_eq!(rule("accounts", "email"), Some("unique_email"));
        // `*.email` has more literal characters than `*email*`.
        assert_eq!(rule("accounts", "work_email"), Some("null"));
        assert_eq!(rule("accounts", "name"), None);
        assert!(glob("*.ssn", "people.ssn") && !glob("*.ssn", "people.ssn2"));
        assert!(glob("a*b*c", "abxbc") && !glob("a*b*c", "acb"));
    }

    #[test]
    fn misplaced_rules_are_refused() {
        let compile_one = |written: &str, rule: Rule| {
            compile(
                &rules(vec![spec(written, rule)], "s"),
                "users",
                &users(),
                &users(),
                &[0],
            )
            .map(|_| ())
            .unwrap_err()
            .to_string()
        };
        let err = compile_one("id", Rule::Null);
        assert!(
            err.contains("table users, column \"id\"") && err.contains("key"),
            "{err}"
        );
        let keyless = compile(
            &rules(vec![spec("age", Rule::Null)], "s"),
            "users",
            &users(),
            &users(),
            &(0..users().len()).collect::<Vec<_>>(),
        )
        .map(|_| ())
        .unwrap_err()
        .to_string();
        assert!(keyless.contains("has no key"), "{keyless}");
        let err = compile_one("age", Rule::UniqueEmail);
        assert!(
            err.contains("unique_email") && err.contains("smallint"),
            "{err}"
        );
        let err = compile_one("born", Rule::RandomInt { min: 1, max: 2 });
        assert!(err.contains("random_int"), "{err}");
        let err = compile_one(
            "age",
            Rule::RandomInt {
                min: 1,
                max: 100_000,
            },
        );
        assert!(err.contains("does not fit smallint"), "{err}");
        let err = compile_one("nick", Rule::Fixed(Fixed::Text("far too long".into())));
        assert!(err.contains("varchar(8)"), "{err}");
    }

    #[test]
    fn rule_settings_are_checked() {
        let parse = |text: &str| -> std::result::Result<Rule, String> {
            let table: toml::Table = toml::from_str(&format!("r = {text}")).unwrap();
            Rule::parse(&table["r"])
        };
        assert_eq!(
            parse("{ rule = \"random_int\", min = 5, max = 6 }"),
            Ok(Rule::RandomInt { min: 5, max: 6 })
        );
        assert_eq!(parse("{ value = 3 }"), Ok(Rule::Fixed(Fixed::Int(3))));
        assert!(parse("\"scramble\"")
            .unwrap_err()
            .contains("unknown data rule"));
        assert!(parse("{ rule = \"null\", length = 3 }").is_err());
        assert!(parse("{ rule = \"random_int\", min = 7, max = 6 }").is_err());
    }

    #[test]
    fn day_numbers_become_dates() {
        assert_eq!(date_text(0), "1970-01-01");
        assert_eq!(date_text(DATE_FIRST_DAY + DATE_DAYS - 1), "2029-12-31");
        assert_eq!(date_text(19_782), "2024-02-29");
    }
}
