//! The order a `sync` writes its tables in: parents before the tables whose foreign keys
//! reference them, and deletions the other way round, read from the target's foreign keys.
//!
//! Inserting a child row before its parent, or deleting a parent before its children, fails on
//! a target that checks foreign keys. So tables are written parents first, and a table that
//! other tables of the run reference holds its deletions until those tables are written
//! (`run/mod.rs` applies them last, children first). Cycles and self-references cannot be ordered;
//! they are reported, and `--defer-constraints` or `--disable-integrity` handle them.

use crate::config::Integrity;
use crate::engine::Db;
use crate::report::Reporter;
use anyhow::{Context, Result};

/// The order a run writes its tables in, and which tables keep their deletions for last.
#[derive(Debug, PartialEq)]
pub struct WriteOrder {
    /// Positions in the job's table list: parents before the tables that reference them.
    pub tables: Vec<usize>,
    /// Per table: other tables of the run reference it, so its rows are deleted only after
    /// those tables are written (children first), when their references are gone.
    pub delete_last: Vec<bool>,
}

impl WriteOrder {
    pub fn as_listed(tables: usize) -> WriteOrder {
        WriteOrder {
            tables: (0..tables).collect(),
            delete_last: vec![false; tables],
        }
    }

    /// Parents first, otherwise in the job's order; `references` are `(child, parent)` pairs.
    /// Tables in a cycle keep the job's order after everything else, and are returned apart.
    fn from_references(tables: usize, references: &[(usize, usize)]) -> (WriteOrder, Vec<usize>) {
        let mut parents: Vec<Vec<usize>> = vec![Vec::new(); tables];
        let mut delete_last = vec![false; tables];
        for &(child, parent) in references {
            if child != parent {
                parents[child].push(parent);
                delete_last[parent] = true;
            }
        }
        let mut order = Vec::with_capacity(tables);
        let mut placed = vec![false; tables];
        // Repeatedly take the first table (in job order) whose parents are all placed.
        while let Some(next) =
            (0..tables).find(|&t| !placed[t] && parents[t].iter().all(|&p| placed[p]))
        {
            placed[next] = true;
            order.push(next);
        }
        let cycle: Vec<usize> = (0..tables).filter(|&t| !placed[t]).collect();
        order.extend(&cycle);
        (
            WriteOrder {
                tables: order,
                delete_last,
            },
            cycle,
        )
    }
}

/// Reads the target's foreign keys between the run's tables (`names`, as in the job file) and
/// orders the writes by them
/// (see [`WriteOrder`]); warns about what ordering cannot solve. With `--defer-constraints` or
/// `--disable-integrity` foreign keys are not checked while writing, so the job's order stays.
pub async fn write_order(
    target: &Db,
    names: &[String],
    integrity: Integrity,
    reporter: &Reporter,
) -> Result<WriteOrder> {
    if integrity != Integrity::Enforce || names.is_empty() {
        return Ok(WriteOrder::as_listed(names.len()));
    }
    let references = target
        .foreign_keys(names)
        .await
        .context("cannot order the tables by their foreign keys")?;
    let (order, cycle) = WriteOrder::from_references(names.len(), &references);
    let on_itself: Vec<&str> = references
        .iter()
        .filter(|(child, parent)| child == parent)
        .map(|&(t, _)| names[t].as_str())
        .collect();
    if !cycle.is_empty() {
        let cycle: Vec<&str> = cycle.iter().map(|&t| names[t].as_str()).collect();
        reporter.warning(
            &cycle.join(", "),
            "these tables reference each other, so no order writes parents first; if a foreign \
             key fails, run with --defer-constraints or --disable-integrity",
        );
    }
    if !on_itself.is_empty() {
        reporter.warning(
            &on_itself.join(", "),
            "the table references itself and its chunks are written in parallel; if a foreign \
             key fails, run with --defer-constraints or --disable-integrity",
        );
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::WriteOrder;

    #[test]
    fn parents_are_written_first_and_delete_last() {
        // 0 orders → 1 customers, 2 items → 0 orders, 3 unrelated.
        let (order, cycle) = WriteOrder::from_references(4, &[(0, 1), (2, 0)]);
        assert_eq!(order.tables, vec![1, 0, 2, 3]);
        assert_eq!(order.delete_last, vec![true, true, false, false]);
        assert!(cycle.is_empty());
    }

    #[test]
    fn self_references_do_not_change_the_order() {
        let (order, cycle) = WriteOrder::from_references(2, &[(0, 0)]);
        assert_eq!(order.tables, vec![0, 1]);
        assert_eq!(order.delete_last, vec![false, false]);
        assert!(cycle.is_empty());
    }

    #[test]
    fn cycles_keep_the_job_order_after_the_rest() {
        // 0 ⇄ 2, 1 → 3.
        let (order, cycle) = WriteOrder::from_references(4, &[(0, 2), (2, 0), (1, 3)]);
        assert_eq!(order.tables, vec![3, 1, 0, 2]);
        assert_eq!(cycle, vec![0, 2]);
    }
}
