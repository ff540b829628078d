//! Reading SQLite's pragmas: a table's columns and keys, the tables, foreign keys, and what
//! `create_missing` carries over (defaults, the rowid key, foreign keys; checks are named).

use super::super::extras::{common_default, quoted_literal};
use super::super::{
    Column, ColumnDefault, DefaultValue, ForeignKey, SourceTable, TableExtras, TableInfo,
};
use crate::value::TypeClass;
use anyhow::{Context, Result};
use sqlx::sqlite::SqlitePool;
use sqlx::Row;

pub async fn table_info(pool: &SqlitePool, name: &str) -> Result<Option<TableInfo>> {
    let (schema, table) = match name.split_once('.') {
        Some((schema, table)) => (schema, table),
        None => ("main", name),
    };
    let rows = sqlx::query(
        "SELECT name, type, \"notnull\", dflt_value IS NOT NULL, pk, hidden \
         FROM pragma_table_xinfo(?, ?) ORDER BY cid",
    )
    .bind(table)
    .bind(schema)
    .fetch_all(pool)
    .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    // Only a single-column INTEGER PRIMARY KEY is the rowid; SQLite assigns it when omitted and
    // it can never be NULL, whatever the declaration says.
    let pk_columns = rows
        .iter()
        .map(|r| r.try_get::<i64, _>(4))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|&p| p > 0)
        .count();
    let mut columns = Vec::with_capacity(rows.len());
    let mut pk: Vec<(i64, String)> = Vec::new();
    for r in rows {
        let name: String = r.try_get(0)?;
        let decl: String = r.try_get(1)?;
        let pk_pos: i64 = r.try_get(4)?;
        let hidden: i64 = r.try_get(5)?;
        let class = classify(&decl);
        if pk_pos > 0 {
            pk.push((pk_pos, name.clone()));
        }
        let rowid_alias = pk_columns == 1 && pk_pos > 0 && decl.eq_ignore_ascii_case("integer");
        columns.push(Column {
            name,
            cast_type: decl.clone(),
            decl_type: decl,
            class,
            nullable: r.try_get::<i64, _>(2)? == 0 && !rowid_alias,
            has_default: r.try_get::<bool, _>(3)? || rowid_alias,
            // 2 and 3 mark virtual and stored generated columns.
            generated: hidden == 2 || hidden == 3,
            // Known where an index names it, below: SQLite keeps a column's collation only in
            // the table's SQL text, and an index compares by its own.
            collation: None,
        });
    }
    pk.sort();
    let primary_key: Vec<String> = pk.into_iter().map(|(_, n)| n).collect();

    let index_rows = sqlx::query(
        "SELECT il.name, ii.name, ii.coll FROM pragma_index_list(?, ?) il \
         JOIN pragma_index_xinfo(il.name, ?) ii \
         WHERE il.\"unique\" = 1 AND il.partial = 0 AND ii.name IS NOT NULL AND ii.key = 1 \
         ORDER BY il.origin = 'pk' DESC, il.seq, ii.seqno",
    )
    .bind(table)
    .bind(schema)
    .bind(schema)
    .fetch_all(pool)
    .await?;
    let mut unique_keys: Vec<Vec<String>> = Vec::new();
    if !primary_key.is_empty() {
        unique_keys.push(primary_key.clone());
    }
    let mut current: Option<(String, Vec<String>)> = None;
    for r in index_rows {
        let index: String = r.try_get(0)?;
        let column: String = r.try_get(1)?;
        let collation: Option<String> = r.try_get(2)?;
        if let Some(c) = columns.iter_mut().find(|c| c.name == column) {
            c.collation = c.collation.take().or(collation);
        }
        match &mut current {
            Some((name, cols)) if *name == index => cols.push(column),
            _ => {
                if let Some((_, cols)) = current.take() {
                    unique_keys.push(cols);
                }
                current = Some((index, vec![column]));
            }
        }
    }
    if let Some((_, cols)) = current {
        unique_keys.push(cols);
    }
    Ok(Some(TableInfo {
        columns,
        primary_key,
        unique_keys,
    }))
}

/// The tables of the main database, without SQLite's own (`sqlite_*`) and virtual tables. SQLite
/// keeps no row estimate.
pub async fn list_tables(pool: &SqlitePool) -> Result<Vec<SourceTable>> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master \
         WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
           AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' \
         ORDER BY name",
    )
    .fetch_all(pool)
    .await?;
    Ok(names
        .into_iter()
        .map(|name| SourceTable {
            naming_conflict: name.contains('.'),
            name,
            rows_estimate: None,
        })
        .collect())
}

/// Classifies a declared type, following SQLite's own affinity rules first
/// (<https://www.sqlite.org/datatype3.html#determination_of_column_affinity>) and then the
/// conventional names for types SQLite stores as text or numbers.
fn classify(decl: &str) -> TypeClass {
    let t = decl.to_ascii_uppercase();
    let has = |s: &str| t.contains(s);
    if has("BOOL") {
        TypeClass::Bool
    } else if has("INT") {
        TypeClass::Int
    } else if has("UUID") {
        TypeClass::Uuid
    } else if has("JSON") {
        TypeClass::Json
    } else if has("CHAR") || has("CLOB") || has("TEXT") {
        TypeClass::Text
    } else if has("BLOB") || has("BINARY") || has("BYTEA") {
        TypeClass::Bytes
    } else if has("REAL") || has("FLOA") || has("DOUB") {
        TypeClass::Float
    } else if has("TIMESTAMP") || has("DATETIME") {
        TypeClass::Timestamp
    } else if has("DATE") {
        TypeClass::Date
    } else if has("TIME") {
        TypeClass::Time
    } else if has("DEC") || has("NUM") {
        TypeClass::Decimal
    } else {
        TypeClass::Other
    }
}

/// The foreign keys among `tables` (names as in the job file), as `(child, parent)` positions.
/// SQLite names are case-insensitive, and a foreign key names its parent without a schema.
pub async fn foreign_keys(pool: &SqlitePool, tables: &[String]) -> Result<Vec<(usize, usize)>> {
    let mut pairs = Vec::new();
    for (child, name) in tables.iter().enumerate() {
        let (schema, table) = match name.split_once('.') {
            Some((schema, table)) => (schema, table),
            None => ("main", name.as_str()),
        };
        let parents: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?, ?)")
                .bind(table)
                .bind(schema)
                .fetch_all(pool)
                .await
                .with_context(|| format!("cannot read the foreign keys of table {name}"))?;
        for parent in parents {
            let found = tables.iter().position(|t| {
                let bare = t.split_once('.').map_or(t.as_str(), |(_, t)| t);
                bare.eq_ignore_ascii_case(&parent)
            });
            if let Some(p) = found {
                pairs.push((child, p));
            }
        }
    }
    Ok(pairs)
}

/// Defaults as written in the table's SQL, the rowid key, foreign keys, and the table's
/// `CHECK` clauses (SQLite keeps no comments).
pub async fn table_extras(pool: &SqlitePool, name: &str) -> Result<TableExtras> {
    let (schema, table) = match name.split_once('.') {
        Some((schema, table)) => (schema, table),
        None => ("main", name),
    };
    let rows = sqlx::query(
        "SELECT name, type, dflt_value, pk FROM pragma_table_xinfo(?, ?) \
         WHERE hidden NOT IN (2, 3) ORDER BY cid",
    )
    .bind(table)
    .bind(schema)
    .fetch_all(pool)
    .await?;
    let mut extras = TableExtras::default();
    let mut key: Vec<(String, String)> = Vec::new();
    for r in rows {
        let column: String = r.try_get(0)?;
        let decl: String = r.try_get(1)?;
        let default: Option<String> = r.try_get(2)?;
        if r.try_get::<i64, _>(3)? > 0 {
            key.push((column.clone(), decl));
        }
        if let Some(raw) = default {
            if let Some(value) = default_value(&raw) {
                extras.defaults.push((column, ColumnDefault { raw, value }));
            }
        }
    }
    // The one INTEGER PRIMARY KEY column is the rowid, numbered by SQLite when omitted.
    if let [(column, decl)] = key.as_slice() {
        if decl.eq_ignore_ascii_case("integer") {
            extras.numbered.push(column.clone());
        }
    }
    let key_rows = sqlx::query(
        "SELECT id, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?, ?) ORDER BY id, seq",
    )
    .bind(table)
    .bind(schema)
    .fetch_all(pool)
    .await?;
    let mut last_id = None;
    for r in key_rows {
        let id: i64 = r.try_get(0)?;
        let parent: String = r.try_get(1)?;
        let (column, parent_column): (String, Option<String>) = (r.try_get(2)?, r.try_get(3)?);
        match extras.foreign_keys.last_mut() {
            Some(key) if last_id == Some(id) => {
                key.columns.push(column);
                key.parent_columns.extend(parent_column);
            }
            _ => extras.foreign_keys.push(ForeignKey {
                name: None,
                columns: vec![column],
                parent,
                parent_columns: parent_column.into_iter().collect(),
            }),
        }
        last_id = Some(id);
    }
    let sql: Option<String> = sqlx::query_scalar(&format!(
        "SELECT sql FROM {}.sqlite_master WHERE type = 'table' AND name = ?",
        super::super::sql::quote_ident(super::super::EngineKind::Sqlite, schema)
    ))
    .bind(table)
    .fetch_optional(pool)
    .await?
    .flatten();
    extras.checks = check_clauses(sql.as_deref().unwrap_or_default());
    Ok(extras)
}

/// A default as the table's SQL writes it; `None` for `NULL`.
fn default_value(raw: &str) -> Option<DefaultValue> {
    if raw.eq_ignore_ascii_case("null") {
        return None;
    }
    if let Some((value, "")) = quoted_literal(raw) {
        return Some(DefaultValue::Text(value));
    }
    Some(common_default(raw).unwrap_or(DefaultValue::Expression))
}

/// The `CHECK (…)` clauses of a `CREATE TABLE` statement, as written.
fn check_clauses(sql: &str) -> Vec<String> {
    let upper = sql.to_ascii_uppercase();
    let mut clauses = Vec::new();
    let mut from = 0;
    while let Some(found) = upper[from..].find("CHECK") {
        let start = from + found;
        from = start + 5;
        let Some(open) = upper[from..]
            .trim_start()
            .starts_with('(')
            .then(|| upper[from..].find('('))
            .flatten()
        else {
            continue;
        };
        let mut depth = 0;
        for (i, c) in sql[from + open..].char_indices() {
            depth += match c {
                '(' => 1,
                ')' => -1,
                _ => 0,
            };
            if depth == 0 {
                let end = from + open + i + 1;
                clauses.push(sql[start..end].to_string());
                from = end;
                break;
            }
        }
    }
    clauses
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_map_to_classes() {
        assert_eq!(classify("INTEGER"), TypeClass::Int);
        assert_eq!(classify("varchar(20)"), TypeClass::Text);
        assert_eq!(classify("BOOLEAN"), TypeClass::Bool);
        assert_eq!(classify("NUMERIC(12,2)"), TypeClass::Decimal);
        assert_eq!(classify("DATETIME"), TypeClass::Timestamp);
        assert_eq!(classify(""), TypeClass::Other);
    }

    #[test]
    fn check_clauses_are_found_in_the_table_sql() {
        let sql =
            "CREATE TABLE t (a INTEGER CHECK (a > 0), b TEXT, checked INT, CHECK(length(b) < (5)))";
        assert_eq!(
            check_clauses(sql),
            ["CHECK (a > 0)", "CHECK(length(b) < (5))"]
        );
    }
}
