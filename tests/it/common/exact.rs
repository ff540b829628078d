//! Exact read-backs for the comparison tests: a source and a target on any two engines ([`Link`]),
//! the keys a `diff --json` report lists ([`Listed`]), and a normalisation of read-back values that
//! keeps every difference a comparison must see (case, trailing spaces, eras, `24:00`, every
//! decimal digit, JSON numbers by their exact value) and drops only spelling: trailing fraction
//! zeros of a decimal, the fraction digits a time or timestamp leaves out, and a JSON document's
//! whitespace, key order and number notation (`1e2` is `100`, `1.50` is `1.5`). Nothing here goes
//! through dbdelta's own canonical encoding, and no number goes through `f64` unless it is one.

use super::{dbdelta_json, table_report, write_job, Conn, Engine, Pair};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A fresh source database on `from` and a fresh target database on `to` (the same engine or
/// another), with a job file between them in the folder a SQLite URL resolves against.
pub struct Link {
    pub from: Engine,
    pub to: Engine,
    /// `from`'s pair; also `to`'s when the engines are the same.
    first: Pair,
    /// `to`'s pair when the engines differ (its target database is used).
    second: Option<Pair>,
}

impl Link {
    /// `None` (after a printed notice) when a server is unreachable and not required.
    pub async fn new(from: Engine, to: Engine) -> Option<Link> {
        let first = Pair::new(from).await?;
        let second = if from == to {
            None
        } else {
            Some(Pair::new(to).await?)
        };
        Some(Link {
            from,
            to,
            first,
            second,
        })
    }

    pub fn source(&self) -> &Conn {
        &self.first.source
    }

    pub fn target(&self) -> &Conn {
        match &self.second {
            Some(pair) => &pair.target,
            None => &self.first.target,
        }
    }

    fn target_pair(&self) -> &Pair {
        self.second.as_ref().unwrap_or(&self.first)
    }

    /// Where the job file lives and dbdelta runs: the SQLite side's folder, since a relative
    /// `sqlite://` URL resolves against the job file's folder.
    pub fn dir(&self) -> &Path {
        if self.to == Engine::Sqlite {
            self.target_pair().dir.path()
        } else {
            self.first.dir.path()
        }
    }

    /// Writes the job file (`[source]`, `[target]`, then `rest`) and returns its path as text.
    pub fn job(&self, rest: &str) -> String {
        let path: PathBuf = write_job(
            &self.dir().join("link.toml"),
            &self.first.source_url,
            &self.target_pair().target_url,
            rest,
        );
        path.to_string_lossy().into_owned()
    }

    /// `PostgreSQL → MariaDB`, for messages.
    pub fn name(&self) -> String {
        format!("{} → {}", engine_name(self.from), engine_name(self.to))
    }

    /// Drops the databases.
    pub async fn cleanup(self) {
        self.first.cleanup().await;
        if let Some(pair) = self.second {
            pair.cleanup().await;
        }
    }
}

pub fn engine_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => "PostgreSQL",
        Engine::MySql => "MariaDB",
        Engine::Sqlite => "SQLite",
    }
}

/// The keys a report lists for one table, by kind (integer keys).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listed {
    pub only_in_source: BTreeSet<i64>,
    pub only_in_target: BTreeSet<i64>,
    pub changed: BTreeSet<i64>,
}

impl Listed {
    /// Only `changed` keys.
    pub fn changed(keys: &[i64]) -> Listed {
        Listed {
            changed: keys.iter().copied().collect(),
            ..Listed::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.only_in_source.is_empty() && self.only_in_target.is_empty() && self.changed.is_empty()
    }

    /// The keys of `table` in a `diff --json` report (every chunk's listing).
    pub fn of(report: &serde_json::Value, table: &str) -> Listed {
        Listed::of_keys(report, table, serde_json::Value::as_i64)
            .unwrap_or_else(|e| panic!("{e} (not an integer)"))
    }

    /// The keys of `table` in a `diff --json` report, each mapped to an integer by `id_of`;
    /// `Err` names a listed key that maps to none.
    pub fn of_keys(
        report: &serde_json::Value,
        table: &str,
        id_of: impl Fn(&serde_json::Value) -> Option<i64>,
    ) -> Result<Listed, String> {
        let mut listed = Listed::default();
        let t = table_report(report, table);
        let Some(chunks) = t.get("differences").and_then(|d| d.as_array()) else {
            return Ok(listed);
        };
        for chunk in chunks {
            for (kind, set) in [
                ("only_in_source", &mut listed.only_in_source),
                ("only_in_target", &mut listed.only_in_target),
                ("changed", &mut listed.changed),
            ] {
                for key in chunk[kind].as_array().into_iter().flatten() {
                    let id = id_of(key).ok_or_else(|| {
                        format!("key {key} listed {kind} in table {table} is no key of the test")
                    })?;
                    set.insert(id);
                }
            }
        }
        Ok(listed)
    }
}

/// Runs `dbdelta diff --json` on `table` and returns the exit code, the listed keys and the report.
pub fn diff(link: &Link, job: &str, table: &str) -> (i32, Listed, serde_json::Value) {
    let (code, report) = dbdelta_json(link.dir(), &["diff", "-c", job, table]);
    let listed = if code == 2 {
        Listed::default()
    } else {
        Listed::of(&report, table)
    };
    (code, listed, report)
}

/// Rows a `sync --json` report says it wrote (inserted, updated and deleted, over every table).
pub fn rows_written(report: &serde_json::Value) -> u64 {
    ["inserted", "updated", "deleted"]
        .iter()
        .map(|field| report["totals"][field].as_u64().unwrap_or(u64::MAX / 4))
        .sum()
}

/// How a column's values are read back and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    /// Exact decimal: compared by value, every digit.
    Decimal,
    /// Floating point (double or single precision, read as double): compared bit for bit, both
    /// zeros being one value.
    Float,
    Bool,
    /// Text, exactly: case, trailing spaces, every code point.
    Text,
    Bytes,
    /// With its era (`BC`).
    Date,
    /// `24:00:00` is not `00:00:00`.
    Time,
    /// With its era (`BC`).
    Timestamp,
    /// By value: key order and whitespace ignored, numbers by exact decimal value.
    Json,
}

/// The expression that selects `column` for [`normalise`] on `engine`.
pub fn select_expr(engine: Engine, kind: Kind, column: &str) -> String {
    let c = column;
    match engine {
        Engine::Postgres => match kind {
            Kind::Bytes => format!("encode({c}, 'hex')"),
            Kind::Date => format!("to_char({c}, 'YYYY-MM-DD BC')"),
            Kind::Timestamp => format!("to_char({c}, 'YYYY-MM-DD HH24:MI:SS.US BC')"),
            // A `real` widened to double prints its exact value (as `double precision` does).
            Kind::Float => format!("{c}::float8::text"),
            // `time`'s own text keeps 24:00:00.
            _ => format!("{c}::text"),
        },
        Engine::MySql => match kind {
            Kind::Bytes => format!("LOWER(HEX({c}))"),
            Kind::Date => format!("DATE_FORMAT({c}, '%Y-%m-%d')"),
            Kind::Time => format!("TIME_FORMAT({c}, '%H:%i:%s.%f')"),
            Kind::Timestamp => format!("DATE_FORMAT({c}, '%Y-%m-%d %H:%i:%s.%f')"),
            // MariaDB prints a FLOAT with six digits; widened to DOUBLE it prints exactly.
            Kind::Float => format!("CAST(CAST({c} AS DOUBLE) AS CHAR)"),
            _ => format!("CAST({c} AS CHAR)"),
        },
        Engine::Sqlite => c.to_string(),
    }
}

/// A table read back: key → normalised values of the columns, in the order asked for.
pub type Rows = BTreeMap<i64, Vec<Option<String>>>;

/// Every row of `table` (integer key `id`), each value normalised by its column's kind.
pub async fn read(conn: &Conn, engine: Engine, table: &str, columns: &[(&str, Kind)]) -> Rows {
    read_keyed(conn, engine, table, &[("id", Kind::Int)], columns, |key| {
        key[0].as_deref()?.parse().ok()
    })
    .await
}

/// Every row of `table` keyed by the columns `keys`, each value normalised by its column's kind;
/// `id_of` maps the normalised key values to the row's integer identity (a key it maps to none
/// fails the test).
pub async fn read_keyed(
    conn: &Conn,
    engine: Engine,
    table: &str,
    keys: &[(&str, Kind)],
    columns: &[(&str, Kind)],
    id_of: impl Fn(&[Option<String>]) -> Option<i64>,
) -> Rows {
    let exprs: Vec<String> = keys
        .iter()
        .chain(columns)
        .map(|(c, k)| select_expr(engine, *k, c))
        .collect();
    let names: Vec<&str> = keys.iter().map(|(c, _)| *c).collect();
    let sql = format!(
        "SELECT {} FROM {table} ORDER BY {}",
        exprs.join(", "),
        names.join(", ")
    );
    conn.rows(&sql)
        .await
        .into_iter()
        .map(|row| {
            let key: Vec<Option<String>> = row[..keys.len()]
                .iter()
                .zip(keys)
                .map(|(value, (_, kind))| normalise(engine, *kind, value.as_deref()))
                .collect();
            let id = id_of(&key)
                .unwrap_or_else(|| panic!("{table}: key {key:?} read back is no key of the test"));
            let values = row[keys.len()..]
                .iter()
                .zip(columns)
                .map(|(value, (_, kind))| normalise(engine, *kind, value.as_deref()))
                .collect();
            (id, values)
        })
        .collect()
}

/// The keys whose rows differ between two read-backs, by kind.
pub fn differing(source: &Rows, target: &Rows) -> Listed {
    let mut listed = Listed::default();
    for (key, values) in source {
        match target.get(key) {
            None => {
                listed.only_in_source.insert(*key);
            }
            Some(other) if other != values => {
                listed.changed.insert(*key);
            }
            Some(_) => {}
        }
    }
    for key in target.keys() {
        if !source.contains_key(key) {
            listed.only_in_target.insert(*key);
        }
    }
    listed
}

/// Every difference between two read-backs, one line each (empty when equal).
pub fn describe_differences(source: &Rows, target: &Rows, columns: &[(&str, Kind)]) -> String {
    let mut out = String::new();
    let listed = differing(source, target);
    for key in &listed.only_in_source {
        out.push_str(&format!("  key {key}: only in the source\n"));
    }
    for key in &listed.only_in_target {
        out.push_str(&format!("  key {key}: only in the target\n"));
    }
    for key in &listed.changed {
        for (i, (column, _)) in columns.iter().enumerate() {
            let (s, t) = (&source[key][i], &target[key][i]);
            if s != t {
                out.push_str(&format!(
                    "  key {key}, column {column}: source {s:?}, target {t:?}\n"
                ));
            }
        }
    }
    out
}

/// A read-back value in the form that compares equal exactly when the values are equal.
pub fn normalise(engine: Engine, kind: Kind, raw: Option<&str>) -> Option<String> {
    let raw = raw?;
    let text = if engine == Engine::Sqlite {
        match sqlite_storage(kind, raw) {
            Ok(text) => text,
            // A value stored in a class the column's values never take is never equal to one
            // that is: keep the class in the normalised form.
            Err(()) => return Some(format!("<SQLite storage {raw}>")),
        }
    } else {
        raw
    };
    Some(match kind {
        Kind::Int | Kind::Text => text.to_string(),
        Kind::Decimal => exact_number(text).unwrap_or_else(|| format!("<not a number {text}>")),
        Kind::Float => match text.parse::<f64>() {
            Ok(f) if f.is_nan() => "NaN".into(),
            Ok(0.0) => "0".into(),
            Ok(f) => format!("{f:e}"),
            Err(_) => format!("<not a number {text}>"),
        },
        Kind::Bool => match text {
            "t" | "true" | "1" => "1".into(),
            "f" | "false" | "0" => "0".into(),
            other => format!("<not a boolean {other}>"),
        },
        Kind::Bytes => text.to_ascii_lowercase(),
        Kind::Date => text.strip_suffix(" AD").unwrap_or(text).to_string(),
        Kind::Time | Kind::Timestamp => {
            // SQLite keeps timestamps as text, where `T` is another spelling of the separator.
            let text = text.replacen('T', " ", 1);
            let text = text.strip_suffix(" AD").unwrap_or(&text);
            match text.strip_suffix(" BC") {
                Some(ad) => format!("{} BC", pad_fraction(ad)),
                None => pad_fraction(text),
            }
        }
        Kind::Json => exact_json(text).unwrap_or_else(|e| format!("<invalid JSON {text:?}: {e}>")),
    })
}

/// The text of a SQLite value (tagged with its storage class by `Conn::rows`), if its storage
/// class is one the column's values are written in.
fn sqlite_storage(kind: Kind, tagged: &str) -> Result<&str, ()> {
    let (tag, text) = (tagged.get(..2).ok_or(())?, &tagged[2..]);
    let fits = match kind {
        Kind::Int | Kind::Bool => tag == "i:",
        Kind::Float => tag == "r:" || tag == "i:",
        Kind::Bytes => tag == "b:",
        _ => tag == "t:",
    };
    if fits {
        Ok(text)
    } else {
        Err(())
    }
}

/// `HH:MM:SS[.f]` at the end of `text` with exactly six fraction digits.
fn pad_fraction(text: &str) -> String {
    let seconds = &text[text.rfind(':').map_or(0, |i| i + 1)..];
    match seconds.find('.') {
        Some(dot) => {
            let digits = seconds.len() - dot - 1;
            format!("{text}{}", "0".repeat(6usize.saturating_sub(digits)))
        }
        None => format!("{text}.000000"),
    }
}

/// An exact decimal (optionally with an exponent) as `<sign><digits>e<exponent>` with no leading
/// or trailing zeros in the digits (`12.50` → `125e-1`, `1e2` and `100` → `1e2`, `-0.0` → `0`);
/// `None` when `text` is not a number.
pub fn exact_number(text: &str) -> Option<String> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().ok()?),
        None => (rest, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    if !whole
        .bytes()
        .chain(fraction.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let digits = format!("{whole}{fraction}");
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Some("0".into());
    }
    let kept = digits.trim_end_matches('0');
    let exponent = exponent - fraction.len() as i64 + (digits.len() - kept.len()) as i64;
    Some(format!(
        "{}{kept}e{exponent}",
        if negative { "-" } else { "" }
    ))
}

/// A JSON document by value: objects with their keys sorted (by bytes), no whitespace, strings
/// in one escaping, numbers as [`exact_number`]. Never goes through `f64`.
pub fn exact_json(text: &str) -> Result<String, String> {
    let mut parser = JsonParser {
        s: text.as_bytes(),
        text,
        i: 0,
    };
    parser.whitespace();
    let value = parser.value(0)?;
    parser.whitespace();
    if parser.i != parser.s.len() {
        return Err(format!("trailing text at byte {}", parser.i));
    }
    Ok(value)
}

struct JsonParser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
}

impl JsonParser<'_> {
    fn whitespace(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        if self.s.get(self.i) == Some(&byte) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected {:?} at byte {}", byte as char, self.i))
        }
    }

    fn value(&mut self, depth: usize) -> Result<String, String> {
        if depth > 100 {
            return Err("nested too deeply".into());
        }
        match self.s.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                let mut members: Vec<(String, String)> = Vec::new();
                self.whitespace();
                if self.s.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok("{}".into());
                }
                loop {
                    self.whitespace();
                    let key = self.string()?;
                    self.whitespace();
                    self.expect(b':')?;
                    self.whitespace();
                    let value = self.value(depth + 1)?;
                    members.push((key, value));
                    self.whitespace();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            break;
                        }
                        _ => return Err(format!("expected , or }} at byte {}", self.i)),
                    }
                }
                members.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                let inner: Vec<String> = members
                    .iter()
                    .map(|(k, v)| format!("{}:{v}", quote(k)))
                    .collect();
                Ok(format!("{{{}}}", inner.join(",")))
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.whitespace();
                if self.s.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok("[]".into());
                }
                loop {
                    self.whitespace();
                    items.push(self.value(depth + 1)?);
                    self.whitespace();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            break;
                        }
                        _ => return Err(format!("expected , or ] at byte {}", self.i)),
                    }
                }
                Ok(format!("[{}]", items.join(",")))
            }
            Some(b'"') => Ok(quote(&self.string()?)),
            Some(b't') if self.s[self.i..].starts_with(b"true") => {
                self.i += 4;
                Ok("true".into())
            }
            Some(b'f') if self.s[self.i..].starts_with(b"false") => {
                self.i += 5;
                Ok("false".into())
            }
            Some(b'n') if self.s[self.i..].starts_with(b"null") => {
                self.i += 4;
                Ok("null".into())
            }
            Some(b'-' | b'0'..=b'9') => {
                let start = self.i;
                while self.i < self.s.len()
                    && matches!(
                        self.s[self.i],
                        b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
                    )
                {
                    self.i += 1;
                }
                let token = &self.text[start..self.i];
                exact_number(token).ok_or_else(|| format!("bad number {token:?}"))
            }
            _ => Err(format!("unexpected input at byte {}", self.i)),
        }
    }

    /// A string literal, unescaped.
    fn string(&mut self) -> Result<String, String> {
        self.expect(b'"')?;
        let mut out = String::new();
        loop {
            let rest = &self.text[self.i..];
            let mut chars = rest.chars();
            let c = chars.next().ok_or("unterminated string")?;
            self.i += c.len_utf8();
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let e = self.s.get(self.i).copied().ok_or("unterminated escape")?;
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let high = self.hex4()?;
                            let code = if (0xd800..0xdc00).contains(&high) {
                                self.expect(b'\\')?;
                                self.expect(b'u')?;
                                let low = self.hex4()?;
                                0x10000 + ((high - 0xd800) << 10) + (low.wrapping_sub(0xdc00))
                            } else {
                                high
                            };
                            out.push(char::from_u32(code).ok_or("bad \\u escape")?);
                        }
                        _ => return Err(format!("bad escape at byte {}", self.i)),
                    }
                }
                c => out.push(c),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self
            .text
            .get(self.i..self.i + 4)
            .ok_or("short \\u escape")?;
        self.i += 4;
        u32::from_str_radix(digits, 16).map_err(|e| e.to_string())
    }
}

/// A string as a JSON literal, in one escaping.
fn quote(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// Self-checks of the normalisation (a test of the test helpers, run by the files that use them).
pub fn check_normalisation() {
    assert_eq!(exact_number("100").as_deref(), Some("1e2"));
    assert_eq!(exact_number("1e2").as_deref(), Some("1e2"));
    assert_eq!(exact_number("1.0E+2").as_deref(), Some("1e2"));
    assert_eq!(exact_number("1.50"), exact_number("1.5"));
    assert_eq!(exact_number("-0.000"), Some("0".into()));
    assert_eq!(exact_number("0012.3400").as_deref(), Some("1234e-2"));
    assert_ne!(
        exact_number("12345678901234567890123"),
        exact_number("12345678901234567890124")
    );
    assert_ne!(exact_number("0.10000000000000000001"), exact_number("0.1"));
    assert_eq!(
        exact_json("{\"b\": [1, {\"c\": null}], \"a\": 1e2}"),
        exact_json("{\"a\":100,\"b\":[1.0,{\"c\":null}]}")
    );
    assert_ne!(
        exact_json("{\"n\":12345678901234567890123}"),
        exact_json("{\"n\":12345678901234567890124}")
    );
    assert_eq!(
        exact_json("\"\\u00fc\\ud834\\udd1e\\n\""),
        exact_json("\"ü𝄞\\n\"")
    );
    assert!(exact_json("{\"a\":1,}").is_err());
    assert_eq!(
        normalise(Engine::Postgres, Kind::Time, Some("24:00:00")).as_deref(),
        Some("24:00:00.000000")
    );
    assert_eq!(
        normalise(
            Engine::Postgres,
            Kind::Timestamp,
            Some("0044-03-15 12:00:00.000000 BC")
        )
        .as_deref(),
        Some("0044-03-15 12:00:00.000000 BC")
    );
    assert_eq!(
        normalise(
            Engine::Sqlite,
            Kind::Timestamp,
            Some("t:2024-01-01T10:00:00.5")
        ),
        normalise(
            Engine::MySql,
            Kind::Timestamp,
            Some("2024-01-01 10:00:00.500000")
        )
    );
    assert_eq!(
        normalise(Engine::Sqlite, Kind::Text, Some("i:5")).as_deref(),
        Some("<SQLite storage i:5>")
    );
}
