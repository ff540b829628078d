//! Preparing a table: introspect both sides, match their columns and keys into a
//! [`TablePlan`], or refuse the table with a reason; a missing target table is created here
//! (`create_missing`), and a `query` source gets a definition from its columns.

use crate::config::TableJob;
use crate::engine::types::create_table;
use crate::engine::{Column, Db, TableInfo};
use crate::rules::DataRules;
use crate::schema::{plan_table, Definitions, TablePlan};
use crate::value::TypeClass;
use anyhow::{bail, Context, Result};

/// Introspects both sides and matches them; refuses tables that cannot be compared. A missing
/// target table is created (`create_missing`) only when `may_create`, i.e. for a real `sync`:
/// `diff`, `--dry-run` and `check` write nothing.
pub async fn prepare_table(
    source: &Db,
    target: &Db,
    table: &TableJob,
    rules: &DataRules,
    may_create: bool,
) -> Result<TablePlan> {
    let subset = table.render(source.kind, target.kind);
    let (src, tgt) = match &subset.source_query {
        None => tokio::try_join!(
            source.table_info(&table.name),
            target.table_info(&table.target_name)
        )?,
        Some(query) => {
            let (columns, tgt) = tokio::try_join!(
                async {
                    source.query_columns(query).await.with_context(|| {
                        format!("the query of table {} fails on the source", table.name)
                    })
                },
                target.table_info(&table.target_name)
            )?;
            let Some(tgt) = tgt else {
                bail!(
                    "table {} does not exist in the target ({})",
                    table.target_name,
                    target.display
                );
            };
            (Some(query_definition(table, &columns, &tgt)), Some(tgt))
        }
    };
    let Some(src) = src else {
        bail!(
            "table {} does not exist in the source ({})",
            table.name,
            source.display
        );
    };
    let tgt = match tgt {
        Some(tgt) => tgt,
        None if table.create_missing && may_create => {
            create_target(&src, source, target, table).await?
        }
        None if table.create_missing => bail!(
            "table {} does not exist in the target ({}); `sync` would create it (create_missing)",
            table.target_name,
            target.display
        ),
        None => bail!(
            "table {} does not exist in the target ({}); set `create_missing = true` to create it",
            table.target_name,
            target.display
        ),
    };
    let source_table = match &subset.source_query {
        Some(query) => source.query_as_table(query),
        None => source.quote_table(&table.name),
    };
    plan_table(
        table,
        Definitions {
            source_kind: source.kind,
            source: &src,
            source_table,
            target_kind: target.kind,
            target: &tgt,
            target_table: target.quote_table(&table.target_name),
            rules,
        },
    )
}

/// Creates the missing target table from the source's definition (`create_missing`), and
/// returns its definition as the target now reports it.
async fn create_target(
    src: &TableInfo,
    source: &Db,
    target: &Db,
    table: &TableJob,
) -> Result<TableInfo> {
    let key = table.key.clone().unwrap_or_else(|| src.primary_key.clone());
    if key.is_empty() {
        bail!(
            "table {} has no primary key in the source, so it cannot be created in the target: set `key`",
            table.name
        );
    }
    let wanted = |c: &&Column| {
        table
            .columns
            .as_ref()
            .is_none_or(|list| list.contains(&c.name))
            && !table.exclude_columns.contains(&c.name)
            && !c.generated
    };
    let columns: Vec<Column> = src.columns.iter().filter(wanted).cloned().collect();
    let sql = create_table(
        target.dialect(),
        &target.quote_table(&table.target_name),
        source.kind,
        &columns,
        &key,
    );
    target
        .execute_in_transaction(&[(sql, Vec::new())])
        .await
        .with_context(|| format!("cannot create table {} in the target", table.target_name))?;
    target
        .table_info(&table.target_name)
        .await?
        .with_context(|| {
            format!(
                "table {} was created but cannot be found",
                table.target_name
            )
        })
}

/// The "definition" of a query source: its columns typed like the target's columns of the same
/// name (the canonical encoding is chosen per class), and its declared key taken as unique and
/// NOT NULL; narrowing refuses a query that returns a key twice or a NULL key.
fn query_definition(table: &TableJob, columns: &[String], target: &TableInfo) -> TableInfo {
    let key = table.key.clone().unwrap_or_default();
    let columns = columns
        .iter()
        .map(|name| {
            let mut column = target
                .columns
                .iter()
                .find(|c| &c.name == name)
                .cloned()
                .unwrap_or_else(|| Column {
                    name: name.clone(),
                    decl_type: "query column".into(),
                    cast_type: String::new(),
                    class: TypeClass::Other,
                    nullable: true,
                    has_default: false,
                    generated: false,
                    collation: None,
                });
            column.decl_type = format!("query column ({})", column.decl_type);
            column.nullable = !key.contains(name);
            column.generated = false;
            column
        })
        .collect();
    TableInfo {
        columns,
        primary_key: key.clone(),
        unique_keys: vec![key],
    }
}
