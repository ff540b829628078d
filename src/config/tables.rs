//! `[[tables]]` entries checked into [`TableJob`]s: names, keys, subsets and the combinations of
//! `query`, `where`, `target` and `target_where` that make sense together.

use super::file::TableFile;
use super::job::{number, TableJob};
use super::patterns::is_pattern;
use super::position::JobText;
use super::precedence::Layers;
use anyhow::{bail, Result};
use std::collections::HashSet;

/// The file's tables in file order, each checked; a name listed twice is refused.
pub(super) fn listed(
    entries: &[TableFile],
    layers: &Layers,
    at: JobText<'_>,
) -> Result<Vec<TableJob>> {
    let mut seen = HashSet::new();
    let mut tables = Vec::with_capacity(entries.len());
    for entry in entries {
        let table = table(entry, layers, at)?;
        if !seen.insert(table.name.clone()) {
            let here = at.line_at(entry.name.span().start);
            bail!("{here}: table {:?} is listed twice", table.name);
        }
        tables.push(table);
    }
    Ok(tables)
}

/// One entry, with the layers around it for what it does not say.
fn table(t: &TableFile, layers: &Layers, at: JobText<'_>) -> Result<TableJob> {
    let here = at.line_at(t.name.span().start);
    let name = t.name.get_ref().trim().to_string();
    if name.is_empty() {
        bail!("{here}: table name is empty");
    }
    if is_pattern(&name) && (t.query.is_some() || t.target.is_some()) {
        bail!(
            "{here}: table {name:?} is a pattern, so it cannot have `query` or `target`, which \
             stand for one table"
        );
    }
    let key = key(t, &name, &here)?;
    let chunk_size = layers.chunk_size(number(&t.chunk_size, "chunk_size", None, at)?);
    check_subset(t, &name, &here)?;
    let target_name = target_name(t, &name, &here)?;
    check_query(t, key.is_some(), &name, &here)?;
    Ok(TableJob {
        target_name,
        key,
        chunk_size,
        filter: t.filter.clone(),
        columns: t.columns.clone(),
        exclude_columns: t.exclude_columns.clone(),
        mode: t.mode,
        create_missing: layers.create_missing(t.create_missing),
        query: t.query.clone(),
        target_where: t.target_where.clone(),
        args: Vec::new(),
        name,
    })
}

fn blank(text: &str) -> bool {
    text.trim().is_empty()
}

/// `key = "id"` or `key = ["a", "b"]`, every column named.
fn key(t: &TableFile, name: &str, here: &str) -> Result<Option<Vec<String>>> {
    let key = t.key.as_ref().map(|k| k.columns());
    if key
        .as_ref()
        .is_some_and(|k| k.is_empty() || k.iter().any(|c| blank(c)))
    {
        bail!("{here}: table {name:?} has an empty key column name");
    }
    Ok(key)
}

/// `where` and `columns`, when given, say something.
fn check_subset(t: &TableFile, name: &str, here: &str) -> Result<()> {
    if t.filter.as_deref().is_some_and(blank) {
        bail!("{here}: table {name:?} has an empty `where`");
    }
    if t.columns
        .as_ref()
        .is_some_and(|c| c.is_empty() || c.iter().any(|c| blank(c)))
    {
        bail!("{here}: table {name:?}: `columns` must list column names");
    }
    Ok(())
}

/// `target`, or else the table's own name.
fn target_name(t: &TableFile, name: &str, here: &str) -> Result<String> {
    match &t.target {
        Some(target) if blank(target) => bail!("{here}: table {name:?} has an empty `target`"),
        Some(target) => Ok(target.trim().to_string()),
        None => Ok(name.to_string()),
    }
}

/// A `query` replaces the source table: it needs a key, and `where` and `target` make no sense
/// with it; `target_where` makes sense only with it.
fn check_query(t: &TableFile, has_key: bool, name: &str, here: &str) -> Result<()> {
    match (&t.query, &t.filter, &t.target, &t.target_where) {
        (Some(q), _, _, _) if blank(q) => bail!("{here}: table {name:?} has an empty `query`"),
        (Some(_), Some(_), _, _) => bail!(
            "{here}: table {name:?} has both `query` and `where`: put the source's condition \
             in the query and the target's in `target_where`"
        ),
        (Some(_), _, Some(_), _) => bail!(
            "{here}: table {name:?} has both `query` and `target`: with a query, `name` is the target table"
        ),
        (Some(_), _, _, _) if !has_key => {
            bail!("{here}: table {name:?} has a `query`, so it needs `key = \"column\"`")
        }
        (None, _, _, Some(_)) => {
            bail!("{here}: table {name:?} has `target_where` but no `query`; use `where`")
        }
        _ => Ok(()),
    }
}
