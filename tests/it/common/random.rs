//! Random tables for the differential test (`tests/it/differential.rs`): one table shape with a
//! column of every kind, declared natively on each engine; values that both engines of a pair
//! hold exactly (and nasty ones: separators, quotes, `NULL` vs `''` vs `'NULL'`, case-only
//! differences, big decimals, JSON numbers beyond `f64`); the key's shapes (an integer, a UUID, a
//! text, composites of an integer and a UUID, a date or a text: [`Shape`]), declared per engine;
//! SQL literals rendered per engine; and the mutations the test applies to the target. Everything is drawn from one seeded RNG, so a
//! seed replays the same case.

use super::exact::Kind;
use super::Engine;
use rand::seq::SliceRandom;
use rand::Rng;
use std::collections::BTreeMap;

/// The source and target engines of a case, and what both can hold exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pairing {
    pub from: Engine,
    pub to: Engine,
}

impl Pairing {
    /// PostgreSQL on both sides: BC eras, `24:00:00`, NaN and infinities, `citext`.
    pub fn postgres_only(self) -> bool {
        self.from == Engine::Postgres && self.to == Engine::Postgres
    }

    fn involves(self, engine: Engine) -> bool {
        self.from == engine || self.to == engine
    }

    /// Across engines the two sides spell equal JSON differently (key order, whitespace, `1e2`
    /// for `100`, `1.50` for `1.5`): that is no difference. Between two databases of one engine
    /// both sides get the same text (MariaDB keeps JSON as text, and whether two spellings of one
    /// document are one value there is not this test's question).
    pub fn json_spellings_vary(self) -> bool {
        self.from != self.to
    }
}

/// The columns of the random table (after the key `id`), in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    I,
    B,
    Dec,
    F,
    Txt,
    Ci,
    Flag,
    Bin,
    D,
    Tm,
    Ts,
    Js,
}

pub const COLUMNS: [Col; 12] = [
    Col::I,
    Col::B,
    Col::Dec,
    Col::F,
    Col::Txt,
    Col::Ci,
    Col::Flag,
    Col::Bin,
    Col::D,
    Col::Tm,
    Col::Ts,
    Col::Js,
];

impl Col {
    pub fn name(self) -> &'static str {
        match self {
            Col::I => "i",
            Col::B => "b",
            Col::Dec => "big",
            Col::F => "f",
            Col::Txt => "txt",
            Col::Ci => "ci",
            Col::Flag => "flag",
            Col::Bin => "bin",
            Col::D => "d",
            Col::Tm => "tm",
            Col::Ts => "ts",
            Col::Js => "js",
        }
    }

    pub fn kind(self) -> Kind {
        match self {
            Col::I | Col::B => Kind::Int,
            Col::Dec => Kind::Decimal,
            Col::F => Kind::Float,
            Col::Txt | Col::Ci => Kind::Text,
            Col::Flag => Kind::Bool,
            Col::Bin => Kind::Bytes,
            Col::D => Kind::Date,
            Col::Tm => Kind::Time,
            Col::Ts => Kind::Timestamp,
            Col::Js => Kind::Json,
        }
    }

    /// The column's declaration on `engine` in a case of `pairing`.
    pub fn decl(self, engine: Engine, pairing: Pairing) -> &'static str {
        let [pg, my, lite] = match self {
            Col::I => ["integer", "int", "INTEGER"],
            Col::B => ["bigint", "bigint", "INTEGER"],
            Col::Dec => ["numeric(38,10)", "decimal(38,10)", "TEXT"],
            Col::F => ["double precision", "double", "REAL"],
            Col::Txt => ["text", "text", "TEXT"],
            // Case-insensitive where the engine has it: MariaDB's default collation is `_ci`.
            // (`citext` only where both sides are PostgreSQL; the other two are never asked for.)
            Col::Ci if pairing.postgres_only() => ["citext", "", ""],
            Col::Ci => ["text", "varchar(200)", "TEXT COLLATE NOCASE"],
            Col::Flag => ["boolean", "boolean", "BOOLEAN"],
            Col::Bin => ["bytea", "blob", "BLOB"],
            Col::D => ["date", "date", "DATE"],
            Col::Tm => ["time(6)", "time(6)", "TIME"],
            Col::Ts => ["timestamp(6)", "datetime(6)", "DATETIME"],
            Col::Js => ["jsonb", "json", "JSON"],
        };
        match engine {
            Engine::Postgres => pg,
            Engine::MySql => my,
            Engine::Sqlite => lite,
        }
    }
}

/// `(name, kind)` of every column, for `exact::read`.
pub fn read_columns() -> Vec<(&'static str, Kind)> {
    COLUMNS.iter().map(|c| (c.name(), c.kind())).collect()
}

/// `DROP` and `CREATE` of `table` keyed as `shape` on `engine` (with `citext` installed where it
/// is used).
pub fn create_table(engine: Engine, pairing: Pairing, shape: Shape, table: &str) -> String {
    let columns: Vec<String> = COLUMNS
        .iter()
        .map(|c| format!("{} {}", c.name(), c.decl(engine, pairing)))
        .collect();
    let (before, after) = match engine {
        Engine::Postgres if pairing.postgres_only() => {
            ("CREATE EXTENSION IF NOT EXISTS citext; ", "")
        }
        Engine::MySql => ("", " DEFAULT CHARSET=utf8mb4"),
        _ => ("", ""),
    };
    format!(
        "{before}DROP TABLE IF EXISTS {table}; CREATE TABLE {table} ({}, {}){after}",
        columns.join(", "),
        shape.declare(engine, pairing)
    )
}

/// A calendar date; `bc` only where both sides are PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date {
    pub year: u32,
    pub month: u32,
    pub day: u32,
    pub bc: bool,
}

/// Microseconds in a day: `Time(DAY)` is `24:00:00`.
pub const DAY: u64 = 86_400_000_000;

#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    /// A number's plain spelling (no exponent, no trailing fraction zeros).
    Num(String),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

/// One generated value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    /// Plain decimal text with ten fraction digits.
    Dec(String),
    Float(f64),
    Text(String),
    Bool(bool),
    Bytes(Vec<u8>),
    Date(Date),
    /// Microseconds since midnight, up to [`DAY`].
    Time(u64),
    Ts(Date, u64),
    Json(Json),
}

impl Val {
    /// The same value (floats bit for bit).
    fn same(&self, other: &Val) -> bool {
        match (self, other) {
            (Val::Float(a), Val::Float(b)) => a.to_bits() == b.to_bits(),
            _ => self == other,
        }
    }
}

pub type Row = Vec<Val>;

/// Draws values for one pairing.
pub struct Gen<'a, R: Rng> {
    pub rng: &'a mut R,
    pub pairing: Pairing,
}

const NASTY_TEXT: &[&str] = &[
    "",
    "NULL",
    "null",
    "\\N",
    "N",
    "a|b",
    "a,b",
    "a\tb",
    "line\nbreak",
    "cr\r\nlf",
    "it's",
    "\"quoted\"",
    "back\\slash",
    "\\",
    "x\u{1f}y",
    "\u{1f}",
    "😀 ü 𝄞",
    "trailing  ",
    " leading",
    "  ",
    "Straße",
    "日本語",
    "0:",
    "3:abc",
];

const CI_WORDS: &[&str] = &[
    "Alice",
    "alice",
    "ALICE",
    "Bob",
    "bOB",
    "Zoë",
    "ZOË",
    "straße",
    "x",
    "X",
    "Mixed Case",
    "mixed case",
    "trailing ",
    "",
];

const JSON_KEYS: &[&str] = &[
    "a",
    "b",
    "c",
    "id",
    "name",
    "n",
    "x",
    "é",
    "Z",
    "key with space",
    "q\"uote",
];

impl<R: Rng> Gen<'_, R> {
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.gen_range(0..items.len())]
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p)
    }

    /// A fresh row.
    pub fn row(&mut self) -> Row {
        COLUMNS.iter().map(|&c| self.value(c)).collect()
    }

    /// A fresh value for `col` (NULL one time in ten).
    pub fn value(&mut self, col: Col) -> Val {
        if self.chance(0.1) {
            return Val::Null;
        }
        match col {
            Col::I => Val::Int(if self.chance(0.2) {
                self.pick(&[0, 1, -1, i64::from(i32::MAX), i64::from(i32::MIN)])
            } else {
                i64::from(self.rng.gen::<i32>())
            }),
            Col::B => Val::Int(if self.chance(0.2) {
                self.pick(&[0, i64::MAX, i64::MIN, 9_007_199_254_740_993])
            } else {
                self.rng.gen()
            }),
            Col::Dec => Val::Dec(self.decimal()),
            Col::F => Val::Float(self.float()),
            Col::Txt => Val::Text(self.text()),
            Col::Ci => Val::Text(if self.chance(0.5) {
                self.pick(CI_WORDS).to_string()
            } else {
                self.word()
            }),
            Col::Flag => Val::Bool(self.rng.gen()),
            Col::Bin => {
                let n = self.rng.gen_range(0..12);
                Val::Bytes(
                    (0..n)
                        .map(|_| {
                            if self.chance(0.3) {
                                self.pick(&[0x00, 0xff, b'\\', b'\'', 0x1f])
                            } else {
                                self.rng.gen()
                            }
                        })
                        .collect(),
                )
            }
            Col::D => Val::Date(self.date()),
            Col::Tm => Val::Time(if self.pairing.postgres_only() && self.chance(0.1) {
                DAY
            } else {
                self.micros()
            }),
            Col::Ts => Val::Ts(self.date(), self.micros()),
            Col::Js => Val::Json(self.json_object(0)),
        }
    }

    fn decimal(&mut self) -> String {
        let whole_digits = self.rng.gen_range(1..=28);
        let whole: String = if self.chance(0.15) {
            "0".into()
        } else {
            let first = self.rng.gen_range(1..=9);
            let rest: String = (1..whole_digits)
                .map(|_| char::from(b'0' + self.rng.gen_range(0..=9u8)))
                .collect();
            format!("{first}{rest}")
        };
        let fraction: String = (0..10)
            .map(|i| {
                if i >= 4 && self.chance(0.3) {
                    '0'
                } else {
                    char::from(b'0' + self.rng.gen_range(0..=9u8))
                }
            })
            .collect();
        let zero = whole == "0" && fraction.bytes().all(|b| b == b'0');
        let sign = if !zero && self.chance(0.3) { "-" } else { "" };
        format!("{sign}{whole}.{fraction}")
    }

    fn float(&mut self) -> f64 {
        if self.pairing.postgres_only() && self.chance(0.06) {
            return self.pick(&[f64::NAN, f64::INFINITY, f64::NEG_INFINITY]);
        }
        if self.chance(0.3) {
            return self.pick(&[
                0.1,
                1e300,
                -2.5e-300,
                0.30000000000000004,
                std::f64::consts::PI,
                1.0,
                0.0,
                -1.5,
                123_456_789.125,
                f64::MIN_POSITIVE,
                f64::MAX,
                9_007_199_254_740_993.0,
            ]);
        }
        let mantissa: f64 = self.rng.gen_range(1.0..10.0);
        let exponent = self.rng.gen_range(-300..=300);
        let sign = if self.chance(0.3) { -1.0 } else { 1.0 };
        // Rounded to a double: any double is fine, it need not be this decimal.
        sign * mantissa * 10f64.powi(exponent)
    }

    fn text(&mut self) -> String {
        if self.chance(0.4) {
            return self.pick(NASTY_TEXT).to_string();
        }
        let pieces = [
            "a", "B", "z", "0", "7", " ", ",", "|", "'", "\\", "ü", "😀", "\t",
        ];
        let n = self.rng.gen_range(1..10);
        let mut s: String = (0..n).map(|_| self.pick(&pieces)).collect();
        // Some texts carry a unit separator, so that a value can be split across two columns.
        if self.chance(0.2) {
            let at = s.char_indices().map(|(i, _)| i).collect::<Vec<_>>();
            let i = at[self.rng.gen_range(0..at.len())];
            s.insert(i, '\u{1f}');
        }
        s
    }

    fn word(&mut self) -> String {
        let n = self.rng.gen_range(1..8);
        (0..n)
            .map(|_| {
                let c = char::from(b'a' + self.rng.gen_range(0..26u8));
                if self.chance(0.4) {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect()
    }

    fn date(&mut self) -> Date {
        let p = self.pairing;
        let (bc, year) = if p.postgres_only() && self.chance(0.1) {
            (true, self.rng.gen_range(1..=999))
        } else if p.involves(Engine::MySql) {
            // MariaDB's DATE and DATETIME hold years 1000 to 9999.
            (false, self.rng.gen_range(1000..=9999))
        } else {
            (false, self.rng.gen_range(1..=9999))
        };
        Date {
            year,
            month: self.rng.gen_range(1..=12),
            day: self.rng.gen_range(1..=28),
            bc,
        }
    }

    fn micros(&mut self) -> u64 {
        let seconds = self.rng.gen_range(0..86_400u64) * 1_000_000;
        if self.chance(0.5) {
            seconds
        } else {
            seconds + self.rng.gen_range(0..1_000_000)
        }
    }

    fn json_object(&mut self, depth: u32) -> Json {
        let n = self.rng.gen_range(1..=4);
        let mut keys: Vec<&str> = JSON_KEYS.to_vec();
        keys.shuffle(&mut *self.rng);
        Json::Obj(
            keys.into_iter()
                .take(n)
                .map(|k| (k.to_string(), self.json_value(depth + 1)))
                .collect(),
        )
    }

    fn json_value(&mut self, depth: u32) -> Json {
        let roll = self.rng.gen_range(0..100);
        match roll {
            0..=39 => Json::Num(self.json_number()),
            40..=54 => Json::Str(self.text()),
            55..=61 => Json::Bool(self.rng.gen()),
            62..=67 => Json::Null,
            68..=81 if depth < 3 => {
                let n = self.rng.gen_range(0..4);
                Json::Arr((0..n).map(|_| self.json_value(depth + 1)).collect())
            }
            _ if depth < 3 => self.json_object(depth),
            _ => Json::Num(self.json_number()),
        }
    }

    /// A number's plain spelling: small integers (`-0` among them, which is `0`), round numbers
    /// (respelled `1e2` across engines), integers beyond `u64`, fractions longer than `f64` keeps.
    fn json_number(&mut self) -> String {
        let sign = if self.chance(0.2) { "-" } else { "" };
        let digits = |g: &mut Self, n: usize| -> String {
            let first = g.rng.gen_range(1..=9);
            let rest: String = (1..n)
                .map(|_| char::from(b'0' + g.rng.gen_range(0..=9u8)))
                .collect();
            format!("{first}{rest}")
        };
        match self.rng.gen_range(0..6) {
            0 => format!("{sign}{}", self.rng.gen_range(0..1000)),
            1 => format!(
                "{sign}{}",
                self.pick(&["100", "1000000", "0.5", "12.5", "0.001"])
            ),
            2 => {
                let n = self.rng.gen_range(20..=30);
                format!("{sign}{}", digits(self, n))
            }
            3 => {
                let zeros = "0".repeat(self.rng.gen_range(15..=25));
                format!("{sign}0.1{zeros}{}", self.rng.gen_range(1..=9))
            }
            4 => {
                let n = self.rng.gen_range(1..=6);
                let m = self.rng.gen_range(1..=20);
                let fraction = digits(self, m);
                let fraction = fraction.trim_end_matches('0');
                format!("{sign}{}.{fraction}", digits(self, n))
            }
            _ => "0".into(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Literals

/// A SQL string literal on `engine` (MariaDB reads backslash escapes in strings).
pub fn quote(engine: Engine, s: &str) -> String {
    match engine {
        Engine::MySql => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''")),
        _ => format!("'{}'", s.replace('\'', "''")),
    }
}

fn date_text(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
}

fn time_text(micros: u64) -> String {
    if micros == DAY {
        return "24:00:00".into();
    }
    let s = micros / 1_000_000;
    format!(
        "{:02}:{:02}:{:02}.{:06}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        micros % 1_000_000
    )
}

/// The SQL literal of `value` in column `col` on `engine`. JSON is spelled with `rng` when
/// `vary_json` (other key order, whitespace and number notation; the same value).
pub fn literal(engine: Engine, value: &Val, rng: &mut impl Rng, vary_json: bool) -> String {
    let pg = engine == Engine::Postgres;
    let typed = |text: String, ty: &str| {
        if pg {
            format!("{}::{ty}", quote(engine, &text))
        } else {
            quote(engine, &text)
        }
    };
    match value {
        Val::Null => "NULL".into(),
        Val::Int(i) if *i == i64::MIN => "(-9223372036854775807 - 1)".into(),
        Val::Int(i) => i.to_string(),
        Val::Dec(d) if engine == Engine::Sqlite => quote(engine, d),
        Val::Dec(d) => d.clone(),
        Val::Float(f) if pg => {
            let text = if f.is_nan() {
                "NaN".into()
            } else if f.is_infinite() {
                (if *f > 0.0 { "Infinity" } else { "-Infinity" }).into()
            } else {
                format!("{f:e}")
            };
            format!("'{text}'::float8")
        }
        Val::Float(f) if engine == Engine::Sqlite => sqlite_real(*f),
        Val::Float(f) => format!("{f:e}"),
        Val::Text(s) => quote(engine, s),
        Val::Bool(b) if pg => b.to_string(),
        Val::Bool(b) => u8::from(*b).to_string(),
        Val::Bytes(b) if pg => format!("'\\x{}'::bytea", hex::encode(b)),
        Val::Bytes(b) => format!("X'{}'", hex::encode(b)),
        Val::Date(d) => typed(
            format!("{}{}", date_text(*d), if d.bc { " BC" } else { "" }),
            "date",
        ),
        Val::Time(t) => typed(time_text(*t), "time"),
        Val::Ts(d, t) => typed(
            format!(
                "{} {}{}",
                date_text(*d),
                time_text(*t),
                if d.bc { " BC" } else { "" }
            ),
            "timestamp",
        ),
        Val::Json(j) => {
            let mut text = String::new();
            render_json(j, rng, vary_json, &mut text);
            typed(text, "jsonb")
        }
    }
}

/// Whitespace between JSON tokens: none, or some when spellings vary.
fn space(rng: &mut impl Rng, vary: bool, out: &mut String) {
    if vary {
        out.push_str(["", " ", "\n  "][rng.gen_range(0..3)]);
    }
}

/// A SQLite expression of exactly `f` (finite, normal or zero). SQLite's own parsing of decimal
/// literals is not correctly rounded for every double (`8.60335012446968e182` comes out one ulp
/// off), so the value is built from its integer mantissa and powers of two, which is exact.
fn sqlite_real(f: f64) -> String {
    if f == 0.0 {
        return "0.0".into();
    }
    let bits = f.to_bits();
    let mut mantissa = (bits & ((1 << 52) - 1)) | (1 << 52);
    let mut exponent = ((bits >> 52) & 0x7ff) as i64 - 1075;
    while mantissa.is_multiple_of(2) {
        mantissa /= 2;
        exponent += 1;
    }
    let sign = if f < 0.0 { "-" } else { "" };
    let mut out = format!("(CAST({sign}{mantissa} AS REAL)");
    let op = if exponent > 0 { " * " } else { " / " };
    let mut left = exponent.unsigned_abs();
    while left > 0 {
        let step = left.min(62);
        out.push_str(op);
        out.push_str(&(1u64 << step).to_string());
        left -= step;
    }
    out.push(')');
    out
}

fn render_json(j: &Json, rng: &mut impl Rng, vary: bool, out: &mut String) {
    match j {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Num(n) => out.push_str(&if vary { respell(n, rng) } else { n.clone() }),
        Json::Str(s) => out.push_str(&serde_json::Value::String(s.clone()).to_string()),
        Json::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                space(rng, vary, out);
                render_json(item, rng, vary, out);
            }
            out.push(']');
        }
        Json::Obj(members) => {
            let mut order: Vec<&(String, Json)> = members.iter().collect();
            if vary {
                order.shuffle(rng);
            }
            out.push('{');
            for (i, (k, v)) in order.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                space(rng, vary, out);
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                space(rng, vary, out);
                render_json(v, rng, vary, out);
            }
            out.push('}');
        }
    }
}

/// Another spelling of the same number: `100` as `1e2` or `1E+2`, `1.5` as `1.50` or `15e-1`.
fn respell(plain: &str, rng: &mut impl Rng) -> String {
    match rng.gen_range(0..4) {
        0 if plain.contains('.') => format!("{plain}0"),
        0 => format!("{plain}.0"),
        1 | 2 => {
            // Digits without leading or trailing zeros and a power of ten.
            let Some(exact) = super::exact::exact_number(plain) else {
                return plain.to_string();
            };
            match exact.split_once('e') {
                Some((digits, exponent)) if rng.gen_bool(0.5) => {
                    format!(
                        "{digits}E{}{exponent}",
                        if exponent.starts_with('-') { "" } else { "+" }
                    )
                }
                Some((digits, exponent)) => format!("{digits}e{exponent}"),
                None => exact,
            }
        }
        _ => plain.to_string(),
    }
}

/// `INSERT` of `rows` (identity → row) into `table` keyed as `shape` on `engine`.
pub fn insert(
    engine: Engine,
    pairing: Pairing,
    shape: Shape,
    table: &str,
    rows: &[(i64, &Row)],
    rng: &mut impl Rng,
    vary_json: bool,
) -> String {
    let names: Vec<&str> = COLUMNS.iter().map(|c| c.name()).collect();
    let values: Vec<String> = rows
        .iter()
        .map(|(key, row)| {
            let literals: Vec<String> = COLUMNS
                .iter()
                .zip(row.iter())
                .map(|(_, v)| literal(engine, v, rng, vary_json))
                .collect();
            format!(
                "({}, {})",
                shape.literals(engine, pairing, *key).join(", "),
                literals.join(", ")
            )
        })
        .collect();
    format!(
        "INSERT INTO {table} ({}, {}) VALUES {}",
        shape.names(),
        names.join(", "),
        values.join(", ")
    )
}

// ---------------------------------------------------------------------------------------------
// Mutations

/// One change made to the target.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// One value changed; `how` says which kind of change.
    Set {
        key: i64,
        col: Col,
        how: &'static str,
        from: Val,
        to: Val,
    },
    /// One column's values swapped between two nearby rows (one chunk).
    Swap {
        col: Col,
        keys: [i64; 2],
    },
    /// One column's values rotated among nearby rows: the first row gets the second's value…
    Rotate {
        col: Col,
        keys: Vec<i64>,
    },
    /// `txt` ends at a unit separator it held and `ci` starts with what followed: the joined
    /// row text is the same.
    SeparatorShift {
        key: i64,
    },
    Delete {
        key: i64,
    },
    Insert {
        key: i64,
    },
}

/// Draws `count` mutations of `table` (the target's rows, changed in place) and returns them
/// with the SQL that makes the target database match.
pub fn mutate<R: Rng>(
    gen: &mut Gen<'_, R>,
    rows: &mut BTreeMap<i64, Row>,
    count: usize,
    table: &str,
    engine: Engine,
    shape: Shape,
) -> (Vec<Mutation>, Vec<String>) {
    let mut mutations = Vec::new();
    let mut sql = Vec::new();
    let vary = gen.pairing.json_spellings_vary();
    let pairing = gen.pairing;
    while mutations.len() < count && rows.len() > 8 {
        let keys: Vec<i64> = rows.keys().copied().collect();
        let at = gen.rng.gen_range(0..keys.len() - 4);
        // Columns whose comparisons go wrong most easily come up more often.
        let col = gen.pick(&[
            Col::I,
            Col::B,
            Col::Dec,
            Col::Dec,
            Col::F,
            Col::Txt,
            Col::Txt,
            Col::Ci,
            Col::Ci,
            Col::Flag,
            Col::Bin,
            Col::D,
            Col::Tm,
            Col::Ts,
            Col::Ts,
            Col::Js,
            Col::Js,
            Col::Js,
            Col::Js,
        ]);
        let c = COLUMNS.iter().position(|&x| x == col).unwrap_or(0);
        let set = |key: i64, col: Col, v: &Val, rng: &mut R| {
            format!(
                "UPDATE {table} SET {} = {} WHERE {}",
                col.name(),
                literal(engine, v, rng, vary),
                shape.where_id(engine, pairing, key)
            )
        };
        match gen.rng.gen_range(0..100) {
            0..=34 => {
                let key = keys[at];
                let from = rows[&key][c].clone();
                let (how, to) = change(gen, col, &from);
                sql.push(set(key, col, &to, &mut *gen.rng));
                if let Some(row) = rows.get_mut(&key) {
                    row[c] = to.clone();
                }
                mutations.push(Mutation::Set {
                    key,
                    col,
                    how,
                    from,
                    to,
                });
            }
            35..=49 => {
                let ks = [keys[at], keys[at + gen.rng.gen_range(1..=2)]];
                let (a, b) = (rows[&ks[0]][c].clone(), rows[&ks[1]][c].clone());
                sql.push(set(ks[0], col, &b, &mut *gen.rng));
                sql.push(set(ks[1], col, &a, &mut *gen.rng));
                if let Some(row) = rows.get_mut(&ks[0]) {
                    row[c] = b;
                }
                if let Some(row) = rows.get_mut(&ks[1]) {
                    row[c] = a;
                }
                mutations.push(Mutation::Swap { col, keys: ks });
            }
            50..=64 => {
                let n = gen.rng.gen_range(3..=4);
                let ks: Vec<i64> = keys[at..at + n].to_vec();
                let values: Vec<Val> = ks.iter().map(|k| rows[k][c].clone()).collect();
                for (i, k) in ks.iter().enumerate() {
                    let v = values[(i + 1) % n].clone();
                    sql.push(set(*k, col, &v, &mut *gen.rng));
                    if let Some(row) = rows.get_mut(k) {
                        row[c] = v;
                    }
                }
                mutations.push(Mutation::Rotate { col, keys: ks });
            }
            65..=72 => {
                let (t, ci) = (position(Col::Txt), position(Col::Ci));
                let candidates: Vec<i64> = keys
                    .iter()
                    .copied()
                    .filter(|k| {
                        matches!((&rows[k][t], &rows[k][ci]),
                            (Val::Text(s), Val::Text(_)) if s.contains('\u{1f}'))
                    })
                    .collect();
                if candidates.is_empty() {
                    continue;
                }
                let key = candidates[gen.rng.gen_range(0..candidates.len())];
                let (Val::Text(joined), Val::Text(next)) = (&rows[&key][t], &rows[&key][ci]) else {
                    continue;
                };
                let (head, tail) = joined.split_once('\u{1f}').unwrap_or((joined, ""));
                let (head, shifted) = (
                    Val::Text(head.to_string()),
                    Val::Text(format!("{tail}\u{1f}{next}")),
                );
                sql.push(set(key, Col::Txt, &head, &mut *gen.rng));
                sql.push(set(key, Col::Ci, &shifted, &mut *gen.rng));
                if let Some(row) = rows.get_mut(&key) {
                    row[t] = head;
                    row[ci] = shifted;
                }
                mutations.push(Mutation::SeparatorShift { key });
            }
            73..=84 => {
                let key = keys[at];
                rows.remove(&key);
                sql.push(format!(
                    "DELETE FROM {table} WHERE {}",
                    shape.where_id(engine, pairing, key)
                ));
                mutations.push(Mutation::Delete { key });
            }
            _ => {
                // A key in a gap, or past the end.
                let last = keys[keys.len() - 1];
                let gap = (keys[at]..keys[at + 1]).find(|k| !rows.contains_key(k));
                let key = match gap {
                    Some(k) if gen.chance(0.7) => k,
                    _ => last + gen.rng.gen_range(1..=5),
                };
                let row = gen.row();
                sql.push(insert(
                    engine,
                    pairing,
                    shape,
                    table,
                    &[(key, &row)],
                    &mut *gen.rng,
                    vary,
                ));
                rows.insert(key, row);
                mutations.push(Mutation::Insert { key });
            }
        }
    }
    (mutations, sql)
}

fn position(col: Col) -> usize {
    COLUMNS.iter().position(|&c| c == col).unwrap_or(0)
}

/// A change of `from` in `col` of the kinds that comparisons get wrong: case only, NULL vs ''
/// vs 'NULL', the last digit of a long number, one ulp, one microsecond, the era, 24:00.
fn change<R: Rng>(gen: &mut Gen<'_, R>, col: Col, from: &Val) -> (&'static str, Val) {
    let postgres_only = gen.pairing.postgres_only();
    for _ in 0..20 {
        let (how, to) = match (col, from) {
            (Col::Txt, _) if gen.chance(0.4) => (
                "NULL, '', 'NULL' or '\\N'",
                [
                    Val::Null,
                    Val::Text(String::new()),
                    Val::Text("NULL".into()),
                    Val::Text("\\N".into()),
                ][gen.rng.gen_range(0..4)]
                .clone(),
            ),
            (Col::Txt | Col::Ci, Val::Text(s)) if gen.chance(0.6) => {
                if gen.chance(0.7) && s.chars().any(|c| c.is_ascii_alphabetic()) {
                    ("case only", Val::Text(flip_case(s, &mut *gen.rng)))
                } else if s.ends_with(' ') {
                    (
                        "trailing space removed",
                        Val::Text(s.trim_end().to_string()),
                    )
                } else {
                    ("trailing space added", Val::Text(format!("{s} ")))
                }
            }
            (Col::I | Col::B, Val::Int(i)) if gen.chance(0.7) => {
                let max = if col == Col::I {
                    i64::from(i32::MAX)
                } else {
                    i64::MAX
                };
                (
                    "last digit",
                    Val::Int(if *i == max { i - 1 } else { i + 1 }),
                )
            }
            (Col::Dec, Val::Dec(d)) if gen.chance(0.7) => ("last digit", Val::Dec(last_digit(d))),
            (Col::F, Val::Float(f)) if f.is_finite() && *f != 0.0 && gen.chance(0.7) => {
                let up = f64::from_bits(f.to_bits() + 1);
                let next = if up.is_finite() {
                    up
                } else {
                    f64::from_bits(f.to_bits() - 1)
                };
                ("one ulp", Val::Float(next))
            }
            (Col::Flag, Val::Bool(b)) => ("toggled", Val::Bool(!b)),
            (Col::Bin, Val::Bytes(b)) if gen.chance(0.7) => {
                let mut b = b.clone();
                match b.last_mut() {
                    Some(last) => *last ^= 1,
                    None => b.push(0),
                }
                ("last byte", Val::Bytes(b))
            }
            // PostgreSQL's dates start in 4713 BC.
            (Col::D, Val::Date(d)) if postgres_only && d.year <= 4713 && gen.chance(0.5) => {
                ("era", Val::Date(Date { bc: !d.bc, ..*d }))
            }
            (Col::D, Val::Date(d)) if gen.chance(0.7) => (
                "one day",
                Val::Date(Date {
                    day: if d.day == 28 { 27 } else { d.day + 1 },
                    ..*d
                }),
            ),
            (Col::Tm, Val::Time(t)) if postgres_only && (*t == 0 || *t == DAY) => {
                ("24:00 vs midnight", Val::Time(DAY - t))
            }
            (Col::Tm, Val::Time(_)) if postgres_only && gen.chance(0.3) => (
                "24:00 vs midnight",
                Val::Time(if gen.chance(0.5) { 0 } else { DAY }),
            ),
            (Col::Tm, Val::Time(t)) if gen.chance(0.7) => (
                "one microsecond",
                Val::Time(if *t == 0 { 1 } else { t - 1 }),
            ),
            (Col::Ts, Val::Ts(d, t)) if postgres_only && d.year <= 4713 && gen.chance(0.4) => {
                ("era", Val::Ts(Date { bc: !d.bc, ..*d }, *t))
            }
            (Col::Ts, Val::Ts(d, t)) if gen.chance(0.7) => (
                "one microsecond",
                Val::Ts(*d, if *t == 0 { 1 } else { t - 1 }),
            ),
            (Col::Js, Val::Json(j)) if gen.chance(0.8) => {
                let mut j = j.clone();
                if json_last_digit(&mut j, &mut *gen.rng) {
                    ("last digit of a JSON number", Val::Json(j))
                } else {
                    ("fresh", gen.value(col))
                }
            }
            _ => ("fresh", gen.value(col)),
        };
        if !to.same(from) {
            return (how, to);
        }
    }
    // Twenty draws gave the same value: NULL and a fresh value cannot both equal it.
    match from {
        Val::Null => ("fresh", fresh_non_null(gen, col)),
        _ => ("NULL", Val::Null),
    }
}

fn fresh_non_null<R: Rng>(gen: &mut Gen<'_, R>, col: Col) -> Val {
    loop {
        let v = gen.value(col);
        if v != Val::Null {
            return v;
        }
    }
}

/// `s` with the case of one ASCII letter flipped.
fn flip_case(s: &str, rng: &mut impl Rng) -> String {
    let letters: Vec<usize> = s
        .char_indices()
        .filter(|(_, c)| c.is_ascii_alphabetic())
        .map(|(i, _)| i)
        .collect();
    let at = letters[rng.gen_range(0..letters.len())];
    s.char_indices()
        .map(|(i, c)| {
            if i != at {
                c
            } else if c.is_ascii_uppercase() {
                c.to_ascii_lowercase()
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect()
}

/// The decimal with its last digit changed (`…19` → `…10`, others `+1`).
fn last_digit(d: &str) -> String {
    let mut bytes = d.as_bytes().to_vec();
    if let Some(last) = bytes.last_mut() {
        *last = if *last == b'9' { b'0' } else { *last + 1 };
    }
    String::from_utf8(bytes).unwrap_or_else(|_| d.to_string())
}

/// Every number in `j`.
fn json_numbers(j: &mut Json) -> Vec<&mut String> {
    match j {
        Json::Num(n) => vec![n],
        Json::Arr(items) => items.iter_mut().flat_map(json_numbers).collect(),
        Json::Obj(members) => members
            .iter_mut()
            .flat_map(|(_, v)| json_numbers(v))
            .collect(),
        _ => vec![],
    }
}

/// Changes the last digit of one number in `j`, preferring one with more digits than a double
/// keeps; false when `j` has no number.
fn json_last_digit(j: &mut Json, rng: &mut impl Rng) -> bool {
    let mut numbers = json_numbers(j);
    let long: Vec<usize> = (0..numbers.len())
        .filter(|&i| numbers[i].bytes().filter(u8::is_ascii_digit).count() > 17)
        .collect();
    let at = if !long.is_empty() && rng.gen_bool(0.8) {
        long[rng.gen_range(0..long.len())]
    } else if numbers.is_empty() {
        return false;
    } else {
        rng.gen_range(0..numbers.len())
    };
    let n = &mut numbers[at];
    let changed = last_digit(n);
    // `…0.19` → `…0.10` would end in a zero, which a plain spelling never has.
    let changed = if changed.contains('.') && changed.ends_with('0') {
        format!("{}1", &changed[..changed.len() - 1])
    } else {
        changed
    };
    if changed == **n || changed == "-0" {
        return false;
    }
    **n = changed;
    true
}

// ---------------------------------------------------------------------------------------------
// Keys

/// How the random table is keyed. Rows keep an integer identity (`id` in the test's maps); the
/// shape maps it onto the key columns written to the databases and maps keys read back and
/// listed by `diff --json` back to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `id integer`, the identity itself.
    Int,
    /// `k`: a UUID mixed from the identity; `uuid` on PostgreSQL, `char(36)` on MariaDB
    /// (`binary(16)` between two MariaDB databases), `TEXT` on SQLite.
    Uuid,
    /// `(k1 integer, k2 uuid)`: `k1` is the identity divided by three, `k2` its UUID.
    CompositeUuid,
    /// `(k1 integer, k2 date)`: `k1` is the identity divided by three, `k2` a date mixed from it.
    CompositeDate,
    /// `k`: a text of the identity ([`text_of`]: case and accent twins, non-ASCII, leading
    /// zeros), declared so that every engine tells every key apart: `utf8mb4_nopad_bin` on
    /// MariaDB, `TEXT` (`BINARY`) on SQLite, and on PostgreSQL `text` under the given collation.
    Text(PgText),
    /// `(k1 integer, k2 text)`: `k1` is the identity divided by three, `k2` one of three twins
    /// ([`twin_of`]: `'key'`, `'Key'` and `'KEY'` under one `k1`), declared as in [`Shape::Text`].
    CompositeText(PgText),
}

/// The collation of a text key column on PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgText {
    /// `text` under the database's default collation (a locale, even `C.UTF-8`): its order is
    /// PostgreSQL's own, so across engines the key is chunked by hash buckets.
    Default,
    /// `text COLLATE "C"`: byte order, as MariaDB's `utf8mb4_nopad_bin`, so PostgreSQL and
    /// MariaDB chunk a single text key by key ranges.
    C,
}

/// A key column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyType {
    Int,
    Uuid,
    Date,
    Text,
}

/// The MariaDB declaration of a text key column: exact (no padding, code point for code point),
/// in byte order.
const MARIADB_TEXT_KEY: &str = "varchar(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin";

impl Shape {
    /// The shape of a seed's table: eight shapes (the text ones under both PostgreSQL
    /// collations) in turn, so that every one comes up among the fixed seeds `1..=10` of every
    /// pair.
    pub fn for_seed(seed: u64) -> Shape {
        match seed % 8 {
            0 => Shape::CompositeDate,
            1 => Shape::Int,
            2 => Shape::Uuid,
            3 => Shape::CompositeUuid,
            4 => Shape::Text(PgText::C),
            5 => Shape::Text(PgText::Default),
            6 => Shape::CompositeText(PgText::C),
            _ => Shape::CompositeText(PgText::Default),
        }
    }

    fn columns(self) -> &'static [(&'static str, KeyType)] {
        match self {
            Shape::Int => &[("id", KeyType::Int)],
            Shape::Uuid => &[("k", KeyType::Uuid)],
            Shape::CompositeUuid => &[("k1", KeyType::Int), ("k2", KeyType::Uuid)],
            Shape::CompositeDate => &[("k1", KeyType::Int), ("k2", KeyType::Date)],
            Shape::Text(_) => &[("k", KeyType::Text)],
            Shape::CompositeText(_) => &[("k1", KeyType::Int), ("k2", KeyType::Text)],
        }
    }

    /// The PostgreSQL declaration of a text key column of this shape.
    fn pg_text(self) -> &'static str {
        match self {
            Shape::Text(PgText::C) | Shape::CompositeText(PgText::C) => "text COLLATE \"C\"",
            _ => "text",
        }
    }

    /// The key columns, comma-separated.
    pub fn names(self) -> String {
        let names: Vec<&str> = self.columns().iter().map(|(n, _)| *n).collect();
        names.join(", ")
    }

    /// Declarations of the key columns and the primary key on `engine`.
    fn declare(self, engine: Engine, pairing: Pairing) -> String {
        let mut parts: Vec<String> = self
            .columns()
            .iter()
            .map(|(name, ty)| {
                let decl = match (ty, engine) {
                    (KeyType::Int, Engine::Sqlite) => "INTEGER",
                    (KeyType::Int, _) => "integer",
                    (KeyType::Uuid, Engine::Postgres) => "uuid",
                    (KeyType::Uuid, Engine::MySql) if pairing.from == pairing.to => "binary(16)",
                    (KeyType::Uuid, Engine::MySql) => "char(36)",
                    (KeyType::Uuid, Engine::Sqlite) => "TEXT",
                    (KeyType::Date, Engine::Sqlite) => "DATE",
                    (KeyType::Date, _) => "date",
                    (KeyType::Text, Engine::Postgres) => self.pg_text(),
                    (KeyType::Text, Engine::MySql) => MARIADB_TEXT_KEY,
                    (KeyType::Text, Engine::Sqlite) => "TEXT",
                };
                format!("{name} {decl} NOT NULL")
            })
            .collect();
        parts.push(format!("PRIMARY KEY ({})", self.names()));
        parts.join(", ")
    }

    /// The canonical text of each key column of `id`: the integer, the UUID lowercase and
    /// hyphenated, the date `YYYY-MM-DD`, the text itself.
    pub fn key_texts(self, id: i64) -> Vec<String> {
        self.columns()
            .iter()
            .map(|(_, ty)| match (ty, self) {
                (KeyType::Int, Shape::Int) => id.to_string(),
                (KeyType::Int, _) => id.div_euclid(3).to_string(),
                (KeyType::Uuid, _) => uuid_of(id),
                (KeyType::Date, _) => date_of(id),
                (KeyType::Text, Shape::Text(_)) => text_of(id),
                (KeyType::Text, _) => twin_of(id),
            })
            .collect()
    }

    /// SQL literals of the key columns of `id` on `engine`.
    fn literals(self, engine: Engine, pairing: Pairing, id: i64) -> Vec<String> {
        self.columns()
            .iter()
            .zip(self.key_texts(id))
            .map(|((_, ty), text)| match (ty, engine) {
                (KeyType::Int, _) => text,
                (KeyType::Uuid, Engine::Postgres) => format!("'{text}'::uuid"),
                (KeyType::Uuid, Engine::MySql) if pairing.from == pairing.to => {
                    format!("X'{}'", text.replace('-', ""))
                }
                (KeyType::Date, Engine::Postgres) => format!("'{text}'::date"),
                _ => quote(engine, &text),
            })
            .collect()
    }

    /// `k1 = … AND k2 = …` for the row `id` on `engine`.
    pub fn where_id(self, engine: Engine, pairing: Pairing, id: i64) -> String {
        let terms: Vec<String> = self
            .columns()
            .iter()
            .zip(self.literals(engine, pairing, id))
            .map(|((name, _), literal)| format!("{name} = {literal}"))
            .collect();
        terms.join(" AND ")
    }

    /// `(name, kind)` of the key columns for `exact::read`: a `binary(16)` UUID reads as bytes.
    pub fn read_columns(self, engine: Engine, pairing: Pairing) -> Vec<(&'static str, Kind)> {
        self.columns()
            .iter()
            .map(|(name, ty)| {
                let kind = match ty {
                    KeyType::Int => Kind::Int,
                    KeyType::Uuid if engine == Engine::MySql && pairing.from == pairing.to => {
                        Kind::Bytes
                    }
                    KeyType::Uuid | KeyType::Text => Kind::Text,
                    KeyType::Date => Kind::Date,
                };
                (*name, kind)
            })
            .collect()
    }

    /// Canonical key texts of normalised read-back key values (see [`Shape::key_texts`]).
    pub fn canonical(self, values: &[Option<String>]) -> Option<Vec<String>> {
        self.columns()
            .iter()
            .zip(values)
            .map(|((_, ty), value)| {
                let value = value.as_deref()?;
                Some(match ty {
                    KeyType::Uuid => hyphenate(value),
                    _ => value.to_string(),
                })
            })
            .collect()
    }

    /// Canonical key texts of a key listed by `diff --json`: the bare value for one column, an
    /// array for several; UUIDs held as bytes are listed as 32 hex digits.
    pub fn canonical_json(self, key: &serde_json::Value) -> Option<Vec<String>> {
        let parts: Vec<&serde_json::Value> = match key {
            serde_json::Value::Array(items) => items.iter().collect(),
            one => vec![one],
        };
        if parts.len() != self.columns().len() {
            return None;
        }
        self.columns()
            .iter()
            .zip(parts)
            .map(|((_, ty), part)| match (ty, part) {
                (KeyType::Int, serde_json::Value::Number(n)) => Some(n.to_string()),
                (KeyType::Uuid, serde_json::Value::String(s)) => Some(hyphenate(s)),
                (KeyType::Date | KeyType::Text, serde_json::Value::String(s)) => Some(s.clone()),
                _ => None,
            })
            .collect()
    }
}

/// Maps canonical key texts back to row identities (every identity a case can use).
pub struct KeyIndex {
    shape: Shape,
    ids: BTreeMap<Vec<String>, i64>,
}

impl KeyIndex {
    /// Identities `0..limit`; panics when two of them share a key, or a text key holds a NUL or
    /// ends in a space.
    pub fn new(shape: Shape, limit: i64) -> KeyIndex {
        let mut ids = BTreeMap::new();
        for id in 0..limit {
            let texts = shape.key_texts(id);
            for text in &texts {
                assert!(
                    !text.contains('\0') && !text.ends_with(' '),
                    "{shape:?}: key {text:?} of identity {id} has a NUL or a trailing space"
                );
            }
            if let Some(other) = ids.insert(texts.clone(), id) {
                panic!("{shape:?}: identities {other} and {id} have one key {texts:?}");
            }
        }
        KeyIndex { shape, ids }
    }

    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// The identity of normalised read-back key values.
    pub fn of_read(&self, values: &[Option<String>]) -> Option<i64> {
        self.ids.get(&self.shape.canonical(values)?).copied()
    }

    /// The identity of a key listed by `diff --json`.
    pub fn of_json(&self, key: &serde_json::Value) -> Option<i64> {
        self.ids.get(&self.shape.canonical_json(key)?).copied()
    }
}

/// 32 hex digits as a hyphenated UUID; anything else as it is.
fn hyphenate(s: &str) -> String {
    if s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        format!(
            "{}-{}-{}-{}-{}",
            &s[..8],
            &s[8..12],
            &s[12..16],
            &s[16..20],
            &s[20..]
        )
    } else {
        s.to_string()
    }
}

/// SplitMix64's finaliser: a fixed bijective mixing of 64 bits.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A UUID of `id`, lowercase and hyphenated: 128 bits mixed from it, so that key order is not
/// the identities' order. Identities are `< 2^32`: the high half alone is unique.
fn uuid_of(id: i64) -> String {
    let high = mix(id as u64);
    let low = mix(high ^ 0x5555_5555_5555_5555);
    hyphenate(&format!("{high:016x}{low:016x}"))
}

/// A date of `id` (years 1900 to 2099, within MariaDB's range), unique among the three
/// identities that share `k1`: its month modulo three is the identity's.
fn date_of(id: i64) -> String {
    let m = mix(id as u64 ^ 0xdead_beef);
    let month = 1 + id.rem_euclid(3) as u64 + 3 * (m % 4);
    let day = 1 + (m >> 8) % 28;
    let year = 1900 + (m >> 16) % 200;
    format!("{year:04}-{month:02}-{day:02}")
}

/// Families of three texts that only a byte-wise, unpadded comparison tells apart: case twins,
/// accents, a precomposed `é` and `e` with a combining accent, `ß` and `ss`, the ohm sign and
/// omega, Turkish dotted and dotless `i`, titlecase digraphs, emoji, digits alone (leading
/// zeros), punctuation a locale skips (`'_x'` and `'-x'` sort near `'x'` in a locale, after
/// `'Z'` and before `'a'` in bytes), internal spaces and tabs, the empty text. No NUL and no
/// trailing space (a `PAD SPACE` side would take `'a'` and `'a '` for one key). No family
/// member but the digit ones ends in an ASCII digit (see [`text_of`]).
const TEXT_TWINS: &[[&str; 3]] = &[
    ["key", "Key", "KEY"],
    ["a", "A", "á"],
    ["b", "B", "_b"],
    ["z", "Z", "ž"],
    ["_x", "x", "-x"],
    ["e\u{301}", "é", "É"],
    ["ss", "ß", "SS"],
    ["straße", "Straße", "STRASSE"],
    ["i", "İ", "ı"],
    ["ǆ", "ǅ", "Ǆ"],
    ["Ω", "ω", "\u{2126}"],
    ["😀", "😀a", "a😀"],
    ["", "0", "00"],
    ["a b", "a-b", "a\tb"],
    ["日本", "にほん", "ニホン"],
    ["Zoë", "zoe", "ZOË"],
    [
        "Lorem ipsum dolor sit amet, consectetur",
        "lorem ipsum dolor sit amet, consectetur",
        "LOREM IPSUM DOLOR SIT AMET, CONSECTETUR",
    ],
];

/// The single text key of `id`: a member of a family of [`TEXT_TWINS`] (chosen by `id / 3`,
/// the member by `id % 3`), then `id / 3` in decimal after zero to two leading zeros (`'Key7'`,
/// `'key7'` and `'KEY7'`; `'a007'`; `'0'`, `'00'` and `'000'`). Unique: the digits at the end
/// give back `id / 3` (a head ends in no digit, or is all digits, whose number stripped of
/// leading zeros is `id / 3` too), which gives the family and the number of zeros, and the
/// three members of a family differ.
fn text_of(id: i64) -> String {
    let base = id.div_euclid(3);
    let m = mix(base as u64 ^ 0x7e47);
    let family = TEXT_TWINS[(m % TEXT_TWINS.len() as u64) as usize];
    let zeros = "0".repeat(((m >> 16) % 3) as usize);
    format!("{}{zeros}{base}", family[id.rem_euclid(3) as usize])
}

/// The text `k2` of a composite key of `id`: the three identities under one `k1` (`id / 3`) take
/// the three members of one family of [`TEXT_TWINS`].
fn twin_of(id: i64) -> String {
    let m = mix(id.div_euclid(3) as u64 ^ 0x7717);
    TEXT_TWINS[(m % TEXT_TWINS.len() as u64) as usize][id.rem_euclid(3) as usize].to_string()
}
