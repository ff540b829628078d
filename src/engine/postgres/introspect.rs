//! Reading PostgreSQL's system catalogs: a table's columns and keys, the user tables, foreign keys.

use super::super::{Column, SourceTable, TableInfo};
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
