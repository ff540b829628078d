//! `COPY … FROM STDIN` in text format: the fastest way into PostgreSQL, for chunks the target
//! does not have yet (part of PostgreSQL's extension, see `Db::postgres`).

use crate::value::Value;
use anyhow::Result;
use sqlx::postgres::PgConnection;

/// Appends `rows` to `table` with `COPY … FROM STDIN` (text format) on `conn`: the fastest way
/// into PostgreSQL, used for chunks the target does not have yet.
pub(in crate::engine) async fn copy_rows(
    conn: &mut PgConnection,
    table: &str,
    columns: &[String],
    rows: &[Vec<Value>],
) -> Result<u64> {
    let statement = format!("COPY {table} ({}) FROM STDIN", columns.join(", "));
    let mut copy = conn.copy_in_raw(&statement).await?;
    let mut buffer = String::with_capacity(1 << 20);
    for row in rows {
        for (i, value) in row.iter().enumerate() {
            if i > 0 {
                buffer.push('\t');
            }
            push_copy_text(&mut buffer, value);
        }
        buffer.push('\n');
        if buffer.len() >= 1 << 20 {
            copy.send(std::mem::take(&mut buffer).into_bytes()).await?;
        }
    }
    if !buffer.is_empty() {
        copy.send(buffer.into_bytes()).await?;
    }
    Ok(copy.finish().await?)
}

/// One value in COPY's text format: `\N` for NULL, backslash escapes for text, `\\x…` for bytes.
fn push_copy_text(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("\\N"),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) if f.is_nan() => out.push_str("NaN"),
        Value::Float(f) if f.is_infinite() => {
            out.push_str(if *f > 0.0 { "Infinity" } else { "-Infinity" })
        }
        // Scientific notation with the shortest round-trip digits: parsed back exactly.
        Value::Float(f) => out.push_str(&format!("{f:e}")),
        Value::Bool(b) => out.push(if *b { 't' } else { 'f' }),
        Value::Bytes(b) => {
            out.push_str("\\\\x");
            out.push_str(&hex::encode(b));
        }
        Value::Text(t) => {
            for c in t.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c => out.push(c),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_what_copy_reads_specially() {
        let mut out = String::new();
        for v in [
            Value::Null,
            Value::Text("a\tb\\c\nd".into()),
            Value::Bytes(vec![0, 255]),
            Value::Float(0.1),
            Value::Bool(false),
        ] {
            push_copy_text(&mut out, &v);
            out.push('|');
        }
        assert_eq!(out, "\\N|a\\tb\\\\c\\nd|\\\\x00ff|1e-1|f|");
    }
}
