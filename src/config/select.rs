//! The tables a run covers: the file's, or those the command line names (`TABLES...`), in its
//! order, less the excluded ones. A name is a group (`NAME` or `NAME:VALUE`) when the file has that
//! group, else a table or a pattern (`patterns.rs`); a table the file does not list gets the
//! settings of the most specific `[[tables]]` pattern covering it, else the defaults, as in
//! pgsync.
//!
//! Patterns can only be expanded against the source's tables, so the choice is made twice: when
//! the job is loaded, with patterns kept as they are (what `list` shows), and again by
//! [`Job::expand`](super::Job::expand) once a run has listed the source's tables. A table a
//! pattern matches that is also named on its own takes its own entry, once; `exclude` and
//! `--exclude` remove tables a pattern matched and tables of the file (or of a group), but never a
//! name typed on the command line.

use super::groups::Group;
use super::job::{Mode, TableJob};
use super::patterns::{covers, is_pattern, specificity};
use super::precedence::{self, Layers};
use super::EngineKind;
use anyhow::{bail, Result};
use std::collections::HashSet;

/// What decides the run's tables, kept so that they can be chosen again with the source's.
#[derive(Debug, Clone)]
pub(super) struct Selection {
    /// The file's `[[tables]]`, patterns among them.
    pub listed: Vec<TableJob>,
    pub groups: Vec<Group>,
    /// The command line's list, each name with its one-off `where`; empty means every table of
    /// the file.
    pub wanted: Vec<(String, Option<String>)>,
    pub layers: Layers,
    /// The file's `exclude` and `--exclude`.
    pub exclude: Vec<String>,
    /// `--mode`, over every table's own.
    pub mode: Option<Mode>,
    /// The source's engine, which decides how a schema in a name is matched.
    pub source: EngineKind,
}

/// One name the run asks for, with what it says about the table's subset.
struct Request<'a> {
    name: &'a str,
    subset: Subset<'a>,
    /// Typed on the command line: never excluded.
    typed: bool,
}

/// Where a requested table's subset comes from.
enum Subset<'a> {
    /// The table's own entry (or the defaults).
    Own,
    /// A one-off `where` after the name on the command line.
    OneOff(&'a str),
    /// A group: its `where` for this table, the group's, and the value after the colon.
    Group {
        own: Option<&'a str>,
        shared: Option<&'a str>,
        args: Vec<String>,
    },
}

impl Subset<'_> {
    fn apply(&self, table: &mut TableJob) -> Result<()> {
        match self {
            Subset::Own => Ok(()),
            Subset::OneOff(condition) => precedence::one_off_subset(table, condition),
            Subset::Group { own, shared, args } => {
                precedence::group_subset(table, *own, *shared, args)
            }
        }
    }
}

impl Selection {
    /// The run's tables. Without the source's table names, a pattern stays one entry named by
    /// the pattern; with them, it becomes every source table it matches (in the source's order)
    /// that is not named on its own, excluded or already chosen, and one matching nothing is an
    /// error naming it.
    pub fn tables(&self, source_tables: Option<&[String]>) -> Result<Vec<TableJob>> {
        let requests = self.requests()?;
        let named: Vec<&str> = requests
            .iter()
            .map(|r| r.name)
            .filter(|name| !is_pattern(name))
            .collect();
        let mut seen = HashSet::new();
        let mut chosen = Vec::new();
        for request in &requests {
            let names: Vec<&str> = match source_tables {
                Some(source) if is_pattern(request.name) => {
                    let matched: Vec<&str> = source
                        .iter()
                        .map(String::as_str)
                        .filter(|table| covers(request.name, table, self.source))
                        .collect();
                    if matched.is_empty() {
                        bail!("pattern {:?} matches no table of the source", request.name);
                    }
                    matched
                        .into_iter()
                        .filter(|table| {
                            !named.iter().any(|n| covers(n, table, self.source))
                                && !self.excluded(table)
                                && seen.insert(table.to_string())
                        })
                        .collect()
                }
                _ if !request.typed && !is_pattern(request.name) && self.excluded(request.name) => {
                    continue
                }
                _ => vec![request.name],
            };
            for name in names {
                let mut table = self.entry_for(name);
                request.subset.apply(&mut table)?;
                precedence::mode(self.mode, &mut table);
                chosen.push(table);
            }
        }
        if chosen.is_empty() {
            bail!("every table of the run is excluded (`exclude`, --exclude): nothing to do");
        }
        Ok(chosen)
    }

    /// The names asked for, in order: the command line's (a group standing for its tables), or
    /// else the file's.
    fn requests(&self) -> Result<Vec<Request<'_>>> {
        if self.wanted.is_empty() {
            return Ok(self
                .listed
                .iter()
                .map(|t| Request {
                    name: &t.name,
                    subset: Subset::Own,
                    typed: false,
                })
                .collect());
        }
        let mut requests = Vec::new();
        for (name, one_off) in &self.wanted {
            match group_named(&self.groups, name) {
                Some((group, value)) => {
                    if one_off.is_some() {
                        let name = &group.name;
                        bail!("group {name:?} takes a value (`{name}:VALUE`), not a `where`");
                    }
                    let args = group.args(value)?;
                    for member in &group.tables {
                        requests.push(Request {
                            name: &member.name,
                            subset: Subset::Group {
                                own: member.filter.as_deref(),
                                shared: group.filter.as_deref(),
                                args: args.clone(),
                            },
                            typed: false,
                        });
                    }
                }
                None => requests.push(Request {
                    name,
                    subset: one_off.as_deref().map_or(Subset::Own, Subset::OneOff),
                    typed: true,
                }),
            }
        }
        Ok(requests)
    }

    /// The table's settings: its own entry (`public.t` and `t` being one PostgreSQL table), else
    /// those of the most specific pattern entry covering it (the first in the file among equals),
    /// else the defaults. A pattern itself finds its own entry by its text.
    fn entry_for(&self, name: &str) -> TableJob {
        let own = self.listed.iter().find(|t| t.name == name).or_else(|| {
            self.listed
                .iter()
                .find(|t| !is_pattern(&t.name) && covers(&t.name, name, self.source))
        });
        if let Some(own) = own {
            return own.clone();
        }
        let pattern = self
            .listed
            .iter()
            .rev()
            .filter(|t| is_pattern(&t.name) && covers(&t.name, name, self.source))
            .max_by_key(|t| specificity(&t.name));
        match pattern {
            Some(pattern) => {
                let mut table = pattern.clone();
                table.name = name.to_string();
                table.target_name = name.to_string();
                table
            }
            None => self.layers.unlisted_table(name),
        }
    }

    fn excluded(&self, table: &str) -> bool {
        self.exclude
            .iter()
            .any(|pattern| covers(pattern, table, self.source))
    }
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
