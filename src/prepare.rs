//! Preparing a table: introspect both sides, match their columns and keys into a
//! [`TablePlan`], or refuse the table with a reason; a missing target table is created here
//! (`create_missing`), and a `query` source gets a definition from its columns.

use crate::config::{Job, TableJob};
use crate::convert::has_zone;
use crate::engine::types::create_table;
use crate::engine::{Chunk, Column, Db, Identity, MissingFile, TableInfo, TableSide};
use crate::rules::DataRules;
use crate::schema::{plan_table, Definitions, TablePlan};
use crate::value::{TypeClass, Value};
use anyhow::{bail, Context, Result};

/// How a job opens a SQLite target file that does not exist: a `sync` that may create missing
/// tables creates it, the commands that only read (`diff`, `check`, `--dry-run`) read an empty
/// database instead and create nothing, and a job without `create_missing` refuses it.
pub fn missing_target_file(job: &Job, write: bool) -> MissingFile {
    match (job.tables.iter().any(|t| t.create_missing), write) {
        (false, _) => MissingFile::Refuse,
        (true, true) => MissingFile::Create,
        (true, false) => MissingFile::ReadEmpty,
    }
}

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
    let mut columns: Vec<Column> = src.columns.iter().filter(wanted).cloned().collect();
    zoned_timestamps(source, target, table, &mut columns).await?;
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

/// Where the source's declared types are only hints (SQLite), a timestamp column may hold texts
/// with a UTC offset (`2020-01-01 17:10:10+02:00`): such a column is created with a time zone
/// (`timestamptz`), so each value arrives as the same instant. A column without a time zone
/// would keep the wall-clock time and drop the offset. Reads every value of those columns once.
async fn zoned_timestamps(
    source: &Db,
    target: &Db,
    table: &TableJob,
    columns: &mut [Column],
) -> Result<()> {
    if !source.dialect().declared_types_are_hints() || target.dialect().declared_types_are_hints() {
        return Ok(());
    }
    let timestamps: Vec<usize> = (0..columns.len())
        .filter(|&i| columns[i].class == TypeClass::Timestamp)
        .collect();
    if timestamps.is_empty() {
        return Ok(());
    }
    let side = TableSide {
        table: source.quote_table(&table.name),
        columns: timestamps.iter().map(|&i| columns[i].clone()).collect(),
        // Only for the scan's order: any column will do.
        key: vec![0],
        filter: None,
        from_query: false,
        hash_in_process: true,
        native_rows: false,
        coarse_key: false,
        identity: Identity::WholeRow,
    };
    let mut zoned = vec![false; timestamps.len()];
    source
        .for_each_row(&side, &Chunk::everything(), None, |row| {
            for (seen, value) in zoned.iter_mut().zip(&row) {
                *seen |= matches!(value, Value::Text(text) if has_zone(text));
            }
            Ok(())
        })
        .await
        .with_context(|| {
            format!(
                "reading the timestamps of table {} in the source",
                table.name
            )
        })?;
    for (&i, _) in timestamps.iter().zip(&zoned).filter(|(_, &zoned)| zoned) {
        columns[i].class = TypeClass::TimestampTz;
    }
    Ok(())
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
