//! MySQL and MariaDB: connecting, introspection through `information_schema`, and the SQL pieces of
//! the canonical row encoding (computed on the server with `MD5`).

use super::{Column, SourceTable, TableInfo, Wire};
use crate::config::DbUrl;
use crate::value::TypeClass;
use anyhow::{Context, Result};
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlPool, MySqlPoolOptions};
use sqlx::Row;
use std::str::FromStr;
use std::time::Duration;

pub async fn connect(
    url: &DbUrl,
    connections: u32,
    timeout: Duration,
    disable_integrity: bool,
) -> Result<MySqlPool> {
    // sqlx already runs sessions with time_zone '+00:00' and utf8mb4, which the canonical
    // encoding relies on (TIMESTAMP columns print in UTC, text hashes as UTF-8).
    let options = MySqlConnectOptions::from_str(url.secret()).map_err(|e| {
        anyhow::anyhow!(
            "invalid MySQL URL {}: {}",
            url.display,
            e.to_string().replace(url.secret(), &url.display)
        )
    })?;
    super::check_connection::<MySqlConnection>(&options, timeout)
        .await
        .with_context(|| format!("cannot connect to MySQL/MariaDB at {}", url.display))?;
    Ok(MySqlPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(timeout)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                // A chunk's snapshot is only consistent at REPEATABLE READ, whatever the server's
                // default; `--disable-integrity` turns foreign key checks off for the session.
                sqlx::query("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                    .execute(&mut *conn)
                    .await?;
                if disable_integrity {
                    sqlx::query("SET SESSION FOREIGN_KEY_CHECKS = 0")
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(())
            })
        })
        .connect_lazy_with(options))
}

/// `(schema, table)`; a bare name lives in the URL's database.
fn split_name(name: &str) -> (Option<&str>, &str) {
    match name.split_once('.') {
        Some((schema, table)) => (Some(schema), table),
        None => (None, name),
    }
}

pub async fn table_info(pool: &MySqlPool, name: &str) -> Result<Option<TableInfo>> {
    let (schema, table) = split_name(name);
    let rows = sqlx::query(
        "SELECT CAST(column_name AS CHAR), CAST(column_type AS CHAR), CAST(data_type AS CHAR), \
                CAST(is_nullable = 'YES' AS SIGNED), \
                CAST(column_default IS NOT NULL OR extra LIKE '%auto_increment%' AS SIGNED), \
                CAST(extra LIKE '%GENERATED%' AS SIGNED), \
                CAST(character_set_name AS CHAR), CAST(collation_name AS CHAR) \
         FROM information_schema.columns \
         WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ? \
         ORDER BY ordinal_position",
    )
    .bind(schema)
    .bind(table)
    .fetch_all(pool)
    .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut columns = Vec::with_capacity(rows.len());
    for r in rows {
        let column_type: String = r.try_get(1)?;
        let data_type: String = r.try_get(2)?;
        // Text columns name their character set: two `varchar(10)` of different sets hold
        // different bytes, and a copied declaration must keep it.
        let charset: Option<String> = r.try_get(6)?;
        let collation: Option<String> = r.try_get(7)?;
        let decl_type = match (charset, collation) {
            (Some(cs), Some(co)) => format!("{column_type} CHARACTER SET {cs} COLLATE {co}"),
            _ => column_type.clone(),
        };
        columns.push(Column {
            name: r.try_get(0)?,
            class: classify(
                &data_type.to_ascii_lowercase(),
                &column_type.to_ascii_lowercase(),
            ),
            cast_type: column_type,
            decl_type,
            nullable: r.try_get::<i64, _>(3)? != 0,
            has_default: r.try_get::<i64, _>(4)? != 0,
            generated: r.try_get::<i64, _>(5)? != 0,
        });
    }
    let index_rows = sqlx::query(
        "SELECT CAST(index_name AS CHAR), CAST(column_name AS CHAR), CAST(sub_part IS NOT NULL AS SIGNED) \
         FROM information_schema.statistics \
         WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ? AND non_unique = 0 \
         ORDER BY index_name = 'PRIMARY' DESC, index_name, seq_in_index",
    )
    .bind(schema)
    .bind(table)
    .fetch_all(pool)
    .await?;
    let mut indexes: Vec<(String, Vec<String>, bool)> = Vec::new();
    for r in index_rows {
        let index: String = r.try_get(0)?;
        let column: String = r.try_get(1)?;
        let prefix = r.try_get::<i64, _>(2)? != 0;
        match indexes.last_mut() {
            Some((name, cols, partial)) if *name == index => {
                cols.push(column);
                *partial |= prefix;
            }
            _ => indexes.push((index, vec![column], prefix)),
        }
    }
    let primary_key = indexes
        .iter()
        .find(|(name, _, _)| name == "PRIMARY")
        .map(|(_, cols, _)| cols.clone())
        .unwrap_or_default();
    // A unique index over column prefixes does not make the whole value unique.
    let unique_keys = indexes
        .into_iter()
        .filter(|(_, _, partial)| !partial)
        .map(|(_, cols, _)| cols)
        .collect();
    Ok(Some(TableInfo {
        columns,
        primary_key,
        unique_keys,
    }))
}

/// The base tables of the URL's database, with the row estimate `information_schema` keeps.
pub async fn list_tables(pool: &MySqlPool) -> Result<Vec<SourceTable>> {
    let database: Option<String> = sqlx::query_scalar("SELECT CAST(DATABASE() AS CHAR)")
        .fetch_one(pool)
        .await?;
    if database.is_none() {
        anyhow::bail!("the URL names no database: end it with /DATABASE");
    }
    let rows = sqlx::query(
        "SELECT CAST(table_name AS CHAR), CAST(table_rows AS SIGNED) \
         FROM information_schema.tables \
         WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' \
         ORDER BY table_name",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let name: String = r.try_get(0)?;
            let estimate: Option<i64> = r.try_get(1)?;
            Ok(SourceTable {
                naming_conflict: name.contains('.'),
                name,
                rows_estimate: estimate.and_then(|n| u64::try_from(n).ok()),
            })
        })
        .collect()
}

/// Maps `information_schema.columns.data_type` (and `column_type` for the details) to a class.
fn classify(data_type: &str, column_type: &str) -> TypeClass {
    match data_type {
        "tinyint" if column_type.starts_with("tinyint(1)") => TypeClass::Bool,
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "year" => {
            TypeClass::Int
        }
        "decimal" | "numeric" => TypeClass::Decimal,
        "float" => TypeClass::Float32,
        "double" | "real" => TypeClass::Float,
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" => TypeClass::Text,
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" | "bit" => {
            TypeClass::Bytes
        }
        "date" => TypeClass::Date,
        "time" => TypeClass::Time,
        "datetime" => TypeClass::Timestamp,
        "timestamp" => TypeClass::TimestampTz,
        "uuid" => TypeClass::Uuid,
        "json" => TypeClass::Json,
        _ => TypeClass::Other,
    }
}

fn is_unsigned_bigint(column: &Column) -> bool {
    let t = column.decl_type.to_ascii_lowercase();
    t.starts_with("bigint") && t.contains("unsigned")
}

/// How a column is selected for transport, and the wire type it decodes from.
pub fn select_expr(column: &Column, quoted: &str) -> (String, Wire) {
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
pub fn canonical_expr(column: &Column, quoted: &str) -> String {
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
pub fn row_hash_expr(canonical: &[String]) -> String {
    format!(
        "CAST(CONV(SUBSTRING(MD5({}), 1, 16), 16, 10) AS UNSIGNED)",
        encoded_row(canonical)
    )
}

/// The row hash between two MySQL databases with identical declarations (character sets
/// included): MD5 over the portable encoding of each value's own text (`N`, or its length in
/// bytes, `:` and the text), about twice as fast as the canonical expressions. The length
/// prefix keeps separators inside values from shifting content between columns, and NULL apart
/// from every string. FLOAT columns are widened to DOUBLE, since MariaDB prints a FLOAT with only
/// six digits; DOUBLE and DECIMAL print exactly.
pub fn native_row_hash_expr(columns: &[Column]) -> String {
    let fields: Vec<String> = columns
        .iter()
        .map(|c| {
            let q = super::sql::quote_ident(crate::config::EngineKind::MySql, &c.name);
            let value = match c.class {
                TypeClass::Float32 => format!("CAST({q} AS DOUBLE)"),
                _ => q,
            };
            format!("COALESCE(CONCAT(LENGTH({value}), ':', {value}), 'N')")
        })
        .collect();
    format!(
        "CAST(CONV(SUBSTRING(MD5(CONCAT({})), 1, 16), 16, 10) AS UNSIGNED)",
        fields.join(", ")
    )
}

/// The key's bucket: the first 8 hex digits of MD5 over the encoded key, modulo `buckets`.
pub fn bucket_expr(canonical_key: &[String], buckets: u64) -> String {
    format!(
        "(CAST(CONV(SUBSTRING(MD5({}), 1, 8), 16, 10) AS UNSIGNED) % {buckets})",
        encoded_row(canonical_key)
    )
}

/// The canonical row encoding of these canonical texts (see [`crate::value`]).
fn encoded_row(canonical: &[String]) -> String {
    let fields: Vec<String> = canonical
        .iter()
        .map(|t| format!("COALESCE(CONCAT(CHAR_LENGTH({t}), ':', {t}), 'N')"))
        .collect();
    format!("CONCAT({})", fields.join(", "))
}

/// The exact (DECIMAL) sum of the row hashes, as text.
pub fn sum_expr(hash: &str) -> String {
    format!("CAST(COALESCE(SUM({hash}), 0) AS CHAR)")
}

/// `ON DUPLICATE KEY UPDATE` taking every non-key column from the inserted row.
pub fn upsert_clause(keys: &[String], others: &[String]) -> String {
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

/// Opens a chunk's read snapshot (see `Db::snapshot`); sessions run at REPEATABLE READ (set on
/// connect), which is what makes the snapshot consistent.
pub const SNAPSHOT_BEGIN: &str = "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY";

/// The foreign keys among `tables` (names as in the job file), as `(child, parent)` positions.
pub async fn foreign_keys(pool: &MySqlPool, tables: &[String]) -> Result<Vec<(usize, usize)>> {
    let rows = sqlx::query(
        "SELECT DISTINCT CAST(constraint_schema AS CHAR), CAST(table_name AS CHAR), \
                CAST(unique_constraint_schema AS CHAR), CAST(referenced_table_name AS CHAR), \
                CAST(DATABASE() AS CHAR) \
         FROM information_schema.referential_constraints",
    )
    .fetch_all(pool)
    .await
    .context("cannot read the foreign keys")?;
    let mut pairs = Vec::new();
    for row in &rows {
        let (schema, table, parent_schema, parent): (String, String, String, String) = (
            row.try_get(0)?,
            row.try_get(1)?,
            row.try_get(2)?,
            row.try_get(3)?,
        );
        let current: Option<String> = row.try_get(4)?;
        let position = |wanted_schema: &str, wanted: &str| {
            tables.iter().position(|name| {
                let (s, t) = split_name(name);
                t == wanted && s.or(current.as_deref()) == Some(wanted_schema)
            })
        };
        if let (Some(c), Some(p)) = (position(&schema, &table), position(&parent_schema, &parent)) {
            pairs.push((c, p));
        }
    }
    Ok(pairs)
}
