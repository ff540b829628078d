//! The type matrix for cross-engine tests: one column per value type, with edge values, declared
//! natively on each engine, and a read-back that renders every engine's values in one comparable
//! form (independent of dbdelta's own canonical encoding).

use super::{Conn, Engine};

/// How a column's values are normalised for comparison across engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Decimal,
    Float,
    Float32,
    Bool,
    Text,
    Bytes,
    Date,
    Time,
    Timestamp,
    Uuid,
    Json,
}

pub struct Col {
    pub name: &'static str,
    pub kind: Kind,
    /// Declared type on PostgreSQL, MySQL/MariaDB, SQLite.
    pub types: [&'static str; 3],
    /// SQL literals of rows 1..=4 (row 3 is all NULL); `{e}`-dependent forms are chosen by `literal`.
    pub values: [&'static str; 4],
}

pub const ROWS: usize = 4;

fn engine_index(engine: Engine) -> usize {
    match engine {
        Engine::Postgres => 0,
        Engine::MySql => 1,
        Engine::Sqlite => 2,
    }
}

pub fn columns() -> Vec<Col> {
    use Kind::*;
    vec![
        Col {
            name: "i64",
            kind: Int,
            types: ["bigint", "bigint", "INTEGER"],
            values: ["9223372036854775807", "-9223372036854775808", "NULL", "0"],
        },
        Col {
            name: "i32",
            kind: Int,
            types: ["integer", "int", "INTEGER"],
            values: ["2147483647", "-2147483648", "NULL", "-1"],
        },
        Col {
            name: "big",
            kind: Decimal,
            types: ["numeric(38,10)", "decimal(38,10)", "TEXT"],
            values: [
                "'1234567890123456789012345678.0123456789'",
                "'-9999999999999999999999999999.9999999999'",
                "NULL",
                "'0.5000000000'",
            ],
        },
        Col {
            name: "money",
            kind: Decimal,
            types: ["numeric(12,2)", "decimal(12,2)", "NUMERIC"],
            values: ["12.50", "-0.01", "NULL", "100"],
        },
        Col {
            name: "f64",
            kind: Float,
            types: ["double precision", "double", "REAL"],
            values: ["0.1", "1e300", "NULL", "-2.5e-300"],
        },
        Col {
            name: "f32",
            kind: Float32,
            types: ["real", "float", "REAL"],
            values: ["1.5", "-0.25", "NULL", "16777216"],
        },
        Col {
            name: "flag",
            kind: Bool,
            types: ["boolean", "boolean", "BOOLEAN"],
            values: ["1", "0", "NULL", "1"],
        },
        Col {
            name: "txt",
            kind: Text,
            types: ["text", "text", "TEXT"],
            values: ["'😀 ü 𝄞 emoji'", "''", "NULL", "'it''s \"quoted\"'"],
        },
        Col {
            name: "bin",
            kind: Bytes,
            types: ["bytea", "blob", "BLOB"],
            values: ["00ff10", "", "NULL", "41"],
        },
        Col {
            name: "d",
            kind: Date,
            types: ["date", "date", "DATE"],
            values: ["'2024-02-29'", "'1900-01-01'", "NULL", "'1969-07-20'"],
        },
        Col {
            name: "tm",
            kind: Time,
            types: ["time(6)", "time(6)", "TIME"],
            values: ["'23:59:59.999999'", "'00:00:00'", "NULL", "'12:30:00.5'"],
        },
        Col {
            name: "ts",
            kind: Timestamp,
            types: ["timestamp(6)", "datetime(6)", "DATETIME"],
            values: [
                "'1969-07-20 20:17:40.123456'",
                "'2024-02-29 23:59:59'",
                "NULL",
                "'1000-01-01 00:00:00'",
            ],
        },
        Col {
            name: "tstz",
            kind: Timestamp,
            types: ["timestamptz", "datetime(6)", "TIMESTAMP"],
            values: [
                "'2024-02-29 12:00:00.5'",
                "'1960-01-01 00:00:00.000001'",
                "NULL",
                "'2038-01-19 03:14:08'",
            ],
        },
        Col {
            name: "uid",
            kind: Uuid,
            types: ["uuid", "char(36)", "TEXT"],
            values: [
                "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
                "'00000000-0000-0000-0000-000000000000'",
                "NULL",
                "'ffffffff-ffff-4fff-bfff-ffffffffffff'",
            ],
        },
        Col {
            name: "js",
            kind: Json,
            types: ["jsonb", "json", "JSON"],
            values: [
                "'{\"b\": [1, {\"c\": null}], \"a\": \"x\"}'",
                "'[]'",
                "NULL",
                "'{\"nested\": {\"deep\": [true, false, 1.5]}}'",
            ],
        },
    ]
}

/// The literal of `col` in row `row` (1-based) for `engine`.
fn literal(col: &Col, row: usize, engine: Engine) -> String {
    let v = col.values[row - 1];
    if v == "NULL" {
        return v.to_string();
    }
    match (col.kind, engine) {
        (Kind::Bool, Engine::Postgres) => (if v == "1" { "true" } else { "false" }).to_string(),
        (Kind::Bytes, Engine::Postgres) => format!("'\\x{v}'::bytea"),
        (Kind::Bytes, _) => format!("X'{v}'"),
        (Kind::Timestamp, Engine::Postgres) if col.name == "tstz" => {
            format!("{}+00'", &v[..v.len() - 1])
        }
        _ => v.to_string(),
    }
}

/// `CREATE TABLE name (id …, one column per type)`.
pub fn create(engine: Engine, table: &str, columns: &[Col]) -> String {
    let id = if engine == Engine::Sqlite {
        "INTEGER"
    } else {
        "integer"
    };
    let defs: Vec<String> = columns
        .iter()
        .map(|c| format!("{} {}", c.name, c.types[engine_index(engine)]))
        .collect();
    let charset = if engine == Engine::MySql {
        " DEFAULT CHARSET=utf8mb4"
    } else {
        ""
    };
    format!(
        "CREATE TABLE {table} (id {id} PRIMARY KEY, {}){charset}",
        defs.join(", ")
    )
}

/// `INSERT` of rows 1..=ROWS (ids 1 to 4).
pub fn insert(engine: Engine, table: &str, columns: &[Col]) -> String {
    let rows: Vec<String> = (1..=ROWS)
        .map(|row| {
            let values: Vec<String> = columns.iter().map(|c| literal(c, row, engine)).collect();
            format!("({row}, {})", values.join(", "))
        })
        .collect();
    let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
    format!(
        "INSERT INTO {table} (id, {}) VALUES {}",
        names.join(", "),
        rows.join(", ")
    )
}

fn select_expr(engine: Engine, col: &Col) -> String {
    let n = col.name;
    match engine {
        Engine::Postgres => match col.kind {
            Kind::Bytes => format!("encode({n}, 'hex')"),
            Kind::Time => format!("to_char(DATE '2000-01-01' + {n}, 'HH24:MI:SS.US')"),
            Kind::Timestamp if col.name == "tstz" => {
                format!("to_char({n} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')")
            }
            Kind::Timestamp => format!("to_char({n}, 'YYYY-MM-DD HH24:MI:SS.US')"),
            _ => format!("{n}::text"),
        },
        Engine::MySql => match col.kind {
            Kind::Bytes => format!("LOWER(HEX({n}))"),
            Kind::Time => format!("TIME_FORMAT({n}, '%H:%i:%s.%f')"),
            Kind::Timestamp => format!("DATE_FORMAT({n}, '%Y-%m-%d %H:%i:%s.%f')"),
            Kind::Date => format!("DATE_FORMAT({n}, '%Y-%m-%d')"),
            // MariaDB prints a FLOAT with six digits; widened to DOUBLE it prints exactly.
            Kind::Float32 => format!("CAST(CAST({n} AS DOUBLE) AS CHAR)"),
            _ => format!("CAST({n} AS CHAR)"),
        },
        Engine::Sqlite => n.to_string(),
    }
}

/// Every row, each value normalised so that equal values compare equal across engines.
pub async fn read(
    conn: &Conn,
    engine: Engine,
    table: &str,
    columns: &[Col],
) -> Vec<Vec<Option<String>>> {
    let exprs: Vec<String> = columns.iter().map(|c| select_expr(engine, c)).collect();
    let id = match engine {
        Engine::Postgres => "id::text",
        Engine::MySql => "CAST(id AS CHAR)",
        Engine::Sqlite => "id",
    };
    let sql = format!("SELECT {id}, {} FROM {table} ORDER BY id", exprs.join(", "));
    conn.rows(&sql)
        .await
        .into_iter()
        .map(|row| {
            let mut out = vec![row[0].as_deref().map(untag).map(String::from)];
            for (value, col) in row[1..].iter().zip(columns) {
                out.push(value.as_deref().map(|v| normalise(col.kind, untag(v))));
            }
            out
        })
        .collect()
}

/// Drops the storage-class tag of SQLite values (`i:`, `r:`, `t:`, `b:`).
fn untag(value: &str) -> &str {
    match value.get(..2) {
        Some("i:" | "r:" | "t:" | "b:") => &value[2..],
        _ => value,
    }
}

fn normalise(kind: Kind, v: &str) -> String {
    match kind {
        Kind::Decimal => {
            if v.contains('.') || v.contains('e') {
                // Exact decimal text; a float from SQLite's NUMERIC prints through f64.
                let text = if v.contains('e') {
                    v.parse::<f64>().map(|f| f.to_string()).unwrap_or_default()
                } else {
                    v.to_string()
                };
                let t = text.trim_end_matches('0').trim_end_matches('.');
                if t == "-0" {
                    "0".into()
                } else {
                    t.to_string()
                }
            } else {
                v.to_string()
            }
        }
        // Both zeros are one number.
        Kind::Float => match v.parse::<f64>() {
            Ok(f) => {
                if f == 0.0 {
                    "0".into()
                } else {
                    format!("{f:e}")
                }
            }
            Err(_) => v.to_string(),
        },
        Kind::Float32 => match v.parse::<f64>() {
            Ok(f) => format!("{:e}", f as f32),
            Err(_) => v.to_string(),
        },
        Kind::Bool => match v {
            "true" | "t" | "1" => "1".into(),
            "false" | "f" | "0" => "0".into(),
            other => other.to_string(),
        },
        Kind::Time | Kind::Timestamp => {
            let t = v.replacen('T', " ", 1);
            let t = t.trim_end_matches('Z').to_string();
            match t.rsplit_once(':').map(|(_, s)| s.split_once('.')) {
                Some(Some((_, fraction))) => {
                    format!("{t}{}", "0".repeat(6usize.saturating_sub(fraction.len())))
                }
                _ => format!("{t}.000000"),
            }
        }
        Kind::Uuid => v.to_ascii_lowercase(),
        Kind::Json => serde_json::from_str::<serde_json::Value>(v)
            .map(|j| j.to_string())
            .unwrap_or_else(|_| v.to_string()),
        Kind::Int | Kind::Text | Kind::Bytes | Kind::Date => v.to_string(),
    }
}
