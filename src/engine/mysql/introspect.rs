//! Reading `information_schema`: a table's columns and keys, the base tables, foreign keys, and
//! what `create_missing` carries over (defaults, AUTO_INCREMENT, comments, constraints).

use super::super::extras::{common_default, quoted_literal};
use super::super::{
    Column, ColumnDefault, DefaultValue, ForeignKey, SourceTable, TableExtras, TableInfo,
};
use crate::value::TypeClass;
use anyhow::{Context, Result};
use sqlx::mysql::MySqlPool;
use sqlx::Row;

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
                CAST(extra LIKE '%GENERATED%' AND extra NOT LIKE '%DEFAULT_GENERATED%' AS SIGNED), \
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
        let decl_type = match (&charset, &collation) {
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
            collation,
        });
    }
    // MariaDB's `json` is a LONGTEXT with a `json_valid` check: such a column holds JSON.
    // (MySQL's own JSON type reports `json`; its CHECK_CONSTRAINTS has no table column, so the
    // query fails there and nothing changes.)
    let json_checks: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(check_clause AS CHAR) FROM information_schema.check_constraints \
         WHERE constraint_schema = COALESCE(?, DATABASE()) AND table_name = ?",
    )
    .bind(schema)
    .bind(table)
    .fetch_all(pool)
    .await
    .unwrap_or_default();
    for column in &mut columns {
        let check = format!("json_valid(`{}`)", column.name.replace('`', "``"));
        if column.class == TypeClass::Text && json_checks.contains(&check) {
            column.class = TypeClass::Json;
        }
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

/// Defaults, `AUTO_INCREMENT`, comments, foreign keys and checks from `information_schema`.
pub async fn table_extras(pool: &MySqlPool, name: &str) -> Result<TableExtras> {
    let (schema, table) = split_name(name);
    let version: String = sqlx::query_scalar("SELECT CAST(VERSION() AS CHAR)")
        .fetch_one(pool)
        .await?;
    let mariadb = version.contains("MariaDB");
    let rows = sqlx::query(
        "SELECT CAST(column_name AS CHAR), CAST(column_default AS CHAR), CAST(extra AS CHAR), \
                CAST(column_comment AS CHAR) \
         FROM information_schema.columns \
         WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ? \
         ORDER BY ordinal_position",
    )
    .bind(schema)
    .bind(table)
    .fetch_all(pool)
    .await?;
    let mut extras = TableExtras::default();
    for r in rows {
        let column: String = r.try_get(0)?;
        let default: Option<String> = r.try_get(1)?;
        let extra: String = r.try_get::<Option<String>, _>(2)?.unwrap_or_default();
        let comment: Option<String> = r.try_get(3)?;
        let extra = extra.to_ascii_lowercase();
        if extra.contains("auto_increment") {
            extras.numbered.push(column.clone());
        }
        let generated = extra.contains("generated") && !extra.contains("default_generated");
        if let Some(raw) = default.filter(|_| !generated) {
            let value = if mariadb {
                mariadb_default(&raw)
            } else {
                mysql_default(&raw, extra.contains("default_generated"))
            };
            if let Some(value) = value {
                extras
                    .defaults
                    .push((column.clone(), ColumnDefault { raw, value }));
            }
        }
        if let Some(comment) = comment.filter(|c| !c.is_empty()) {
            extras.column_comments.push((column, comment));
        }
    }
    let comment: Option<String> = sqlx::query_scalar(
        "SELECT CAST(table_comment AS CHAR) FROM information_schema.tables \
         WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ?",
    )
    .bind(schema)
    .bind(table)
    .fetch_optional(pool)
    .await?
    .flatten();
    extras.comment = comment.filter(|c| !c.is_empty());
    let key_rows = sqlx::query(
        "SELECT CAST(constraint_name AS CHAR), CAST(column_name AS CHAR), \
                CAST(referenced_table_schema AS CHAR), CAST(referenced_table_name AS CHAR), \
                CAST(referenced_column_name AS CHAR), CAST(table_schema AS CHAR) \
         FROM information_schema.key_column_usage \
         WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ? \
           AND referenced_table_name IS NOT NULL \
         ORDER BY constraint_name, ordinal_position",
    )
    .bind(schema)
    .bind(table)
    .fetch_all(pool)
    .await?;
    for r in key_rows {
        let name: String = r.try_get(0)?;
        let (column, parent_column): (String, String) = (r.try_get(1)?, r.try_get(4)?);
        let (parent_schema, parent, own_schema): (String, String, String) =
            (r.try_get(2)?, r.try_get(3)?, r.try_get(5)?);
        match extras.foreign_keys.last_mut() {
            Some(key) if key.name.as_deref() == Some(name.as_str()) => {
                key.columns.push(column);
                key.parent_columns.push(parent_column);
            }
            _ => extras.foreign_keys.push(ForeignKey {
                name: Some(name),
                columns: vec![column],
                parent: if parent_schema == own_schema {
                    parent
                } else {
                    format!("{parent_schema}.{parent}")
                },
                parent_columns: vec![parent_column],
            }),
        }
    }
    // MariaDB's CHECK_CONSTRAINTS has a table column (MySQL's does not: then none are read).
    // A `json` column's own `json_valid` check comes with its type.
    let checks: Vec<(String, String)> = sqlx::query_as(
        "SELECT CAST(constraint_name AS CHAR), CAST(check_clause AS CHAR) \
         FROM information_schema.check_constraints \
         WHERE constraint_schema = COALESCE(?, DATABASE()) AND table_name = ?",
    )
    .bind(schema)
    .bind(table)
    .fetch_all(pool)
    .await
    .unwrap_or_default();
    extras.checks = checks
        .into_iter()
        .filter(|(_, clause)| !clause.starts_with("json_valid("))
        .map(|(name, _)| name)
        .collect();
    Ok(extras)
}

/// A default as MariaDB's `COLUMN_DEFAULT` prints it: string literals quoted, numbers and
/// expressions bare, `NULL` for none.
fn mariadb_default(raw: &str) -> Option<DefaultValue> {
    if raw.eq_ignore_ascii_case("null") {
        return None;
    }
    if let Some((value, "")) = quoted_literal(raw) {
        return Some(DefaultValue::Text(value));
    }
    Some(common_default(raw).unwrap_or(DefaultValue::Expression))
}

/// A default as MySQL's `COLUMN_DEFAULT` prints it: literals bare and unquoted, expressions
/// marked `DEFAULT_GENERATED` in `EXTRA` (and `CURRENT_TIMESTAMP` bare before 8.0.13).
fn mysql_default(raw: &str, expression: bool) -> Option<DefaultValue> {
    let now = common_default(raw).filter(|v| *v == DefaultValue::CurrentTimestamp);
    Some(match (expression, now) {
        (_, Some(now)) => now,
        (true, None) => common_default(raw).unwrap_or(DefaultValue::Expression),
        (false, None) => DefaultValue::Text(raw.to_string()),
    })
}
