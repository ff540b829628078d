//! Reading PostgreSQL's system catalogs: a table's columns and keys, the user tables, foreign
//! keys, and what `create_missing` carries over (defaults, identity, comments, constraints).

use super::super::extras::{common_default, quoted_literal};
use super::super::{
    Column, ColumnDefault, DefaultValue, ForeignKey, SourceTable, TableExtras, TableInfo,
};
use crate::value::TypeClass;
use anyhow::{Context, Result};
use sqlx::postgres::PgPool;
use sqlx::Row;

/// `schema.table` or `table` (found through `search_path`) as a `regclass` literal.
fn regclass_text(name: &str) -> String {
    super::super::sql::quote_table(&super::Postgres, name)
}

pub async fn table_info(pool: &PgPool, name: &str) -> Result<Option<TableInfo>> {
    let rel = regclass_text(name);
    let rows = sqlx::query(
        "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), format_type(a.atttypid, NULL), \
                COALESCE(bt.typname, t.typname)::text, NOT a.attnotnull, \
                a.atthasdef OR a.attidentity <> '', a.attgenerated <> '', \
                CASE WHEN a.attcollation = 0 THEN NULL \
                     WHEN co.collname = 'default' THEN \
                       (SELECT concat_ws('/', 'default', j->>'datlocprovider', j->>'datcollate', \
                                         j->>'daticulocale', j->>'datlocale', j->>'datcollversion') \
                        FROM pg_database d, to_jsonb(d) j WHERE d.datname = current_database()) \
                     ELSE concat_ws('/', co.collname, co.collprovider::text, co.collcollate, \
                                    to_jsonb(co)->>'colliculocale', to_jsonb(co)->>'colllocale', \
                                    co.collversion, \
                                    CASE WHEN co.collisdeterministic THEN 'deterministic' \
                                         ELSE 'nondeterministic' END) \
                END \
         FROM pg_attribute a \
         JOIN pg_type t ON t.oid = a.atttypid \
         LEFT JOIN pg_collation co ON co.oid = a.attcollation \
         LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype \
         WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped \
         ORDER BY a.attnum",
    )
    .bind(&rel)
    .fetch_all(pool)
    .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut columns = Vec::with_capacity(rows.len());
    for r in rows {
        let base: String = r.try_get(3)?;
        let cast_type: String = r.try_get(2)?;
        columns.push(Column {
            name: r.try_get(0)?,
            decl_type: r.try_get(1)?,
            // Casting to the type without its modifier keeps length checks on assignment:
            // an explicit cast to varchar(n) or char(n) would truncate silently.
            cast_type: match base.as_str() {
                "bpchar" => "text".to_string(),
                "bit" => "varbit".to_string(),
                _ => cast_type,
            },
            class: classify(&base),
            nullable: r.try_get(4)?,
            has_default: r.try_get(5)?,
            generated: r.try_get(6)?,
            collation: r.try_get(7)?,
        });
    }
    let keys = sqlx::query(
        "SELECT i.indisprimary, array_agg(a.attname::text ORDER BY k.ord) \
         FROM pg_index i \
         CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
         WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indpred IS NULL \
           AND i.indexprs IS NULL AND k.ord <= i.indnkeyatts \
         GROUP BY i.indexrelid, i.indisprimary \
         ORDER BY i.indisprimary DESC, i.indexrelid",
    )
    .bind(&rel)
    .fetch_all(pool)
    .await?;
    let mut primary_key = Vec::new();
    let mut unique_keys = Vec::new();
    for r in keys {
        let is_primary: bool = r.try_get(0)?;
        let cols: Vec<String> = r.try_get(1)?;
        if is_primary {
            primary_key = cols.clone();
        }
        unique_keys.push(cols);
    }
    Ok(Some(TableInfo {
        columns,
        primary_key,
        unique_keys,
    }))
}

/// The user tables of the database, as a job file names them: bare in `public`, schema-qualified
/// elsewhere; partitions are left out (their parent is the table), and so are system schemas.
pub async fn list_tables(pool: &PgPool) -> Result<Vec<SourceTable>> {
    let rows = sqlx::query(
        "SELECT n.nspname::text, c.relname::text, \
                CASE WHEN c.reltuples >= 0 THEN c.reltuples::int8 END \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition \
           AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' \
         ORDER BY n.nspname <> 'public', n.nspname, c.relname",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let schema: String = r.try_get(0)?;
            let table: String = r.try_get(1)?;
            let estimate: Option<i64> = r.try_get(2)?;
            Ok(SourceTable {
                naming_conflict: schema.contains('.') || table.contains('.'),
                name: if schema == "public" {
                    table
                } else {
                    format!("{schema}.{table}")
                },
                rows_estimate: estimate.and_then(|n| u64::try_from(n).ok()),
            })
        })
        .collect()
}

/// Maps a base type name (`pg_type.typname`) to its class.
fn classify(typname: &str) -> TypeClass {
    match typname {
        "int2" | "int4" | "int8" => TypeClass::Int,
        "numeric" => TypeClass::Decimal,
        "float4" => TypeClass::Float32,
        "float8" => TypeClass::Float,
        "bool" => TypeClass::Bool,
        "text" | "varchar" | "bpchar" | "name" | "citext" => TypeClass::Text,
        "bytea" => TypeClass::Bytes,
        "date" => TypeClass::Date,
        "time" => TypeClass::Time,
        "timestamp" => TypeClass::Timestamp,
        "timestamptz" => TypeClass::TimestampTz,
        "uuid" => TypeClass::Uuid,
        "json" | "jsonb" => TypeClass::Json,
        _ => TypeClass::Other,
    }
}

/// The foreign keys among `tables` (names as in the job file), as `(child, parent)` positions.
pub async fn foreign_keys(pool: &PgPool, tables: &[String]) -> Result<Vec<(usize, usize)>> {
    let tables: Vec<String> = tables.iter().map(|t| regclass_text(t)).collect();
    let rows = sqlx::query(
        "SELECT DISTINCT child.i, parent.i \
         FROM pg_constraint c \
         JOIN unnest($1::text[]) WITH ORDINALITY AS child(name, i) \
           ON c.conrelid = to_regclass(child.name) \
         JOIN unnest($1::text[]) WITH ORDINALITY AS parent(name, i) \
           ON c.confrelid = to_regclass(parent.name) \
         WHERE c.contype = 'f'",
    )
    .bind(&tables)
    .fetch_all(pool)
    .await
    .context("cannot read the foreign keys")?;
    rows.iter()
        .map(|r| {
            let (child, parent): (i64, i64) = (r.try_get(0)?, r.try_get(1)?);
            Ok((child as usize - 1, parent as usize - 1))
        })
        .collect()
}

/// Defaults (`pg_get_expr`), `serial` and identity columns, comments, foreign keys and checks.
pub async fn table_extras(pool: &PgPool, name: &str) -> Result<TableExtras> {
    let rel = regclass_text(name);
    let rows = sqlx::query(
        "SELECT a.attname::text, pg_get_expr(d.adbin, d.adrelid), a.attidentity <> '', \
                col_description(a.attrelid, a.attnum) \
         FROM pg_attribute a \
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped \
           AND a.attgenerated = '' \
         ORDER BY a.attnum",
    )
    .bind(&rel)
    .fetch_all(pool)
    .await?;
    let mut extras = TableExtras::default();
    for r in rows {
        let column: String = r.try_get(0)?;
        let default: Option<String> = r.try_get(1)?;
        let identity: bool = r.try_get(2)?;
        let comment: Option<String> = r.try_get(3)?;
        // A `serial` column is an integer whose default draws from a sequence it owns.
        let serial = default
            .as_deref()
            .is_some_and(|d| d.starts_with("nextval("));
        if identity || serial {
            extras.numbered.push(column.clone());
        }
        if let Some(raw) = default {
            if let Some(value) = default_value(&raw) {
                extras
                    .defaults
                    .push((column.clone(), ColumnDefault { raw, value }));
            }
        }
        if let Some(comment) = comment {
            extras.column_comments.push((column, comment));
        }
    }
    extras.comment = sqlx::query_scalar("SELECT obj_description(to_regclass($1), 'pg_class')")
        .bind(&rel)
        .fetch_one(pool)
        .await?;
    let keys = sqlx::query(
        "SELECT c.conname::text, c.confrelid::regclass::text, \
                ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY AS k(n, o) \
                      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o), \
                ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY AS k(n, o) \
                      JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o) \
         FROM pg_constraint c WHERE c.conrelid = to_regclass($1) AND c.contype = 'f' \
         ORDER BY c.conname",
    )
    .bind(&rel)
    .fetch_all(pool)
    .await?;
    for r in keys {
        extras.foreign_keys.push(ForeignKey {
            name: Some(r.try_get(0)?),
            parent: r.try_get(1)?,
            columns: r.try_get(2)?,
            parent_columns: r.try_get(3)?,
        });
    }
    extras.checks = sqlx::query_scalar(
        "SELECT conname::text FROM pg_constraint \
         WHERE conrelid = to_regclass($1) AND contype = 'c' ORDER BY conname",
    )
    .bind(&rel)
    .fetch_all(pool)
    .await?;
    Ok(extras)
}

/// A default as `pg_get_expr` prints it: a literal with an optional cast (`'x'::text`,
/// `'-1'::integer`), a number, a boolean, the current time; `None` for `NULL`.
fn default_value(raw: &str) -> Option<DefaultValue> {
    if raw.to_ascii_lowercase().starts_with("null") {
        return None;
    }
    if let Some(value) = common_default(raw) {
        return Some(value);
    }
    let plain_cast = |rest: &str| {
        rest.is_empty()
            || rest.strip_prefix("::").is_some_and(|ty| {
                !ty.contains("::")
                    && ty
                        .chars()
                        .all(|c| c.is_alphanumeric() || " _\"().,[]".contains(c))
            })
    };
    Some(match quoted_literal(raw) {
        Some((value, rest)) if plain_cast(rest) => DefaultValue::Text(value),
        _ => DefaultValue::Expression,
    })
}
