//! The tables a run covers: the file's, or those the command line names (`TABLES...`), in its
//! order. A name is a group (`NAME` or `NAME:VALUE`) when the file has that group, else a table;
//! a table the file does not list gets the defaults, as in pgsync.

use super::groups::Group;
use super::job::TableJob;
use super::precedence::{self, Layers};
use anyhow::{bail, Result};

/// `wanted` is the command line's list, each name with its one-off `where`; empty means every
/// table of the file.
pub(super) fn tables(
    listed: Vec<TableJob>,
    groups: &[Group],
    wanted: &[(String, Option<String>)],
    layers: &Layers,
) -> Result<Vec<TableJob>> {
    if wanted.is_empty() {
        return Ok(listed);
    }
    let mut chosen = Vec::new();
    for (name, one_off) in wanted {
        match group_named(groups, name) {
            Some((group, value)) => {
                if one_off.is_some() {
                    let name = &group.name;
                    bail!("group {name:?} takes a value (`{name}:VALUE`), not a `where`");
                }
                let args = group.args(value)?;
                for table in &group.tables {
                    let mut t = table_named(&listed, table, layers);
                    precedence::group_subset(&mut t, group.filter.as_deref(), &args);
                    chosen.push(t);
                }
            }
            None => {
                let mut t = table_named(&listed, name, layers);
                if let Some(one_off) = one_off {
                    precedence::one_off_subset(&mut t, one_off)?;
                }
                chosen.push(t);
            }
        }
    }
    Ok(chosen)
}

/// The group `wanted` names, with the value after its colon.
fn group_named<'g, 'w>(
    groups: &'g [Group],
    wanted: &'w str,
) -> Option<(&'g Group, Option<&'w str>)> {
    let (name, value) = match wanted.split_once(':') {
        Some((name, value)) => (name, Some(value)),
        None => (wanted, None),
    };
    let group = groups.iter().find(|g| g.name == name)?;
    Some((group, value))
}

/// The file's entry for the table, or the layers' defaults for one it does not list.
fn table_named(listed: &[TableJob], name: &str, layers: &Layers) -> TableJob {
    listed
        .iter()
        .find(|t| t.name == name)
        .cloned()
        .unwrap_or_else(|| layers.unlisted_table(name))
}
