//! Preparing a table: introspect both sides, match their columns and keys into a
//! [`TablePlan`], or refuse the table with a reason; a missing target table is created here
//! (`create_missing`, see `crate::create`), or planned against as `sync` will create it, and a
//! `query` source gets a definition from its columns.

use crate::config::{Job, TableJob};
use crate::create::{blueprint, Creation};
use crate::engine::{Column, Db, MissingFile, TableInfo};
use crate::schema::{plan_table, Definitions, TablePlan};
use crate::value::TypeClass;
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
/// `diff`, `--dry-run` and `check` write nothing, and compare with an empty table shaped as
/// `sync` will create it ([`Creation::Planned`]).
pub async fn prepare_table(
    source: &Db,
    target: &Db,
    job: &Job,
    table: &TableJob,
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
    let mut target_table = target.quote_table(&table.target_name);
    let mut warnings = Vec::new();
    let (tgt, creation) = match tgt {
        Some(tgt) => (tgt, Creation::Exists),
        None if table.create_missing => {
            let mut blueprint = blueprint(source, target, job, table, &src).await?;
            let (tgt, creation) = if may_create {
                blueprint.create(target, &table.target_name).await?
            } else {
                warnings.push(
                    "does not exist in the target; `sync` will create it (create_missing)".into(),
                );
                target_table = blueprint.empty_relation(target.dialect());
                (blueprint.definition(), Creation::Planned)
            };
            warnings.append(&mut blueprint.warnings);
            (tgt, creation)
        }
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
    let mut plan = plan_table(
        table,
        Definitions {
            source_kind: source.kind,
            source: &src,
            source_table,
            target_kind: target.kind,
            target: &tgt,
            target_table,
            rules: &job.data_rules,
        },
    )?;
    // The stand-in of a table yet to be created is only read.
    plan.target.from_query = creation == Creation::Planned;
    plan.creation = creation;
    warnings.append(&mut plan.warnings);
    plan.warnings = warnings;
    Ok(plan)
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
