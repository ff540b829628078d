//! Matching a table's two definitions into a [`TablePlan`]: which columns are compared and
//! copied, which key identifies a row, how each side tells keys apart (a coarse target key
//! equality is written carefully, and checked against the source's keys: `crate::collisions`),
//! and why a pair of tables cannot be synced.
//!
//! The rules follow pgsync: columns are matched by name; a column present on one side only is a
//! warning, except a target column that is NOT NULL without a default, which would make every
//! insert fail and is refused up front. Generated target columns are never written.

use crate::config::{Mode, TableJob};
use crate::create::Creation;
use crate::engine::{Column, Db, EngineKind, Identity, KeyEquality, TableInfo, TableSide};
use crate::rules::{compile, DataRules, TableRules};
use crate::side::Side;
use crate::value::TypeClass;
use anyhow::{bail, Result};

/// Everything the pipeline needs to know about one table, both sides resolved.
#[derive(Debug, Clone)]
pub struct TablePlan {
    /// The table's name as written in the job file.
    pub name: String,
    /// The target table's name (unquoted), as in the job file.
    pub target_name: String,
    pub mode: Mode,
    pub source: TableSide,
    pub target: TableSide,
    /// The data rules the source's rows pass through (see [`crate::rules`]).
    pub rules: Option<TableRules>,
    pub chunk_size: u64,
    /// The target's key equality is coarse and the source's may be finer, so the source may
    /// hold keys the target takes for one: a sync checks for such a pair before it writes
    /// anything (see [`crate::collisions`]).
    pub keys_may_collide: bool,
    /// Differences between the two definitions that do not stop the sync.
    pub warnings: Vec<String>,
    /// Whether the target table exists or is created (`create_missing`).
    pub creation: Creation,
}

impl TablePlan {
    /// The source side of the table on `db` (the pool or a chunk's snapshot).
    pub fn source_on<'a>(&'a self, db: &'a Db) -> Side<'a> {
        Side {
            db,
            table: &self.source,
            rules: self.rules.as_ref(),
        }
    }

    /// The target side of the table on `db`.
    pub fn target_on<'a>(&'a self, db: &'a Db) -> Side<'a> {
        Side {
            db,
            table: &self.target,
            rules: None,
        }
    }
}

/// Both sides of a table as introspected, with the quoted names to use in SQL.
pub struct Definitions<'a> {
    pub source_kind: EngineKind,
    pub source: &'a TableInfo,
    pub source_table: String,
    pub target_kind: EngineKind,
    pub target: &'a TableInfo,
    pub target_table: String,
    /// The job's `[data_rules]`.
    pub rules: &'a DataRules,
}

/// The class a column is compared as, or `None` when its two sides cannot be compared. Where an
/// engine's declared types are only hints (SQLite: any column holds any value), its column takes
/// the other side's class: a SQLite `TEXT` column facing a `timestamptz` is compared as timestamps.
fn shared_class(
    source: TypeClass,
    source_kind: EngineKind,
    target: TypeClass,
    target_kind: EngineKind,
) -> Option<TypeClass> {
    let hints = |kind: EngineKind| kind.dialect().declared_types_are_hints();
    match (hints(source_kind), hints(target_kind)) {
        (true, false) => Some(target),
        (false, true) => Some(source),
        _ => source.unify(target),
    }
}

/// Whether a column of this class can be (part of) a key. Floats and JSON have no equality both
/// engines agree on, so they cannot identify rows.
fn key_class(class: TypeClass) -> bool {
    !matches!(class, TypeClass::Float | TypeClass::Json)
}

/// Where a table's [`usable_key`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrigin {
    PrimaryKey,
    UniqueIndex,
}

/// A key [`plan_table`] accepts for this table, as `dbdelta init` proposes it: the primary key,
/// else the first unique index; either only if all its columns are NOT NULL and of a class that
/// can be a key. `None`: the table has no such key, and a sync needs one set by hand.
pub fn usable_key(info: &TableInfo) -> Option<(Vec<String>, KeyOrigin)> {
    let usable = |column_name: &String| {
        info.columns
            .iter()
            .find(|c| &c.name == column_name)
            .is_some_and(|c| !c.nullable && key_class(c.class))
    };
    let key = info
        .unique_keys
        .iter()
        .find(|k| !k.is_empty() && k.iter().all(usable))?;
    let origin = if *key == info.primary_key {
        KeyOrigin::PrimaryKey
    } else {
        KeyOrigin::UniqueIndex
    };
    Some((key.clone(), origin))
}

pub fn plan_table(job: &TableJob, defs: Definitions<'_>) -> Result<TablePlan> {
    let mut warnings = Vec::new();
    let (source_columns, target_columns) = match_columns(job, &defs, &mut warnings)?;
    check_target_only_columns(job, &defs, &target_columns, &mut warnings)?;
    let ChosenKey {
        columns: key,
        source: source_identity,
        target: target_identity,
    } = choose_key(job, &defs, &source_columns, &target_columns)?;
    let subset = job.render(defs.source_kind, defs.target_kind);
    let rules = compile(
        defs.rules,
        &job.name,
        &source_columns,
        &target_columns,
        &key,
    )?;
    let hashing = Hashing::decide(
        job,
        &defs,
        &source_columns,
        &target_columns,
        rules.is_some(),
    );
    let mut equality = KeyEqualities::decide(&defs, &source_columns, &target_columns, &key);
    // Rows without a key are a multiset: two rows the target takes for one are simply two
    // copies, compared and deleted exactly (see `sql::delete_copies`).
    if source_identity == Identity::WholeRow {
        equality.may_collide = false;
    }
    Ok(TablePlan {
        name: job.name.clone(),
        target_name: job.target_name.clone(),
        mode: job.mode,
        source: TableSide {
            table: defs.source_table,
            columns: source_columns,
            key: key.clone(),
            filter: subset.source_filter,
            from_query: job.query.is_some(),
            hash_in_process: hashing.source_in_process,
            native_rows: hashing.native_rows,
            coarse_key: equality.source_coarse,
            identity: source_identity,
        },
        target: TableSide {
            table: defs.target_table,
            columns: target_columns,
            key,
            filter: subset.target_filter,
            from_query: false,
            hash_in_process: hashing.target_in_process,
            native_rows: hashing.native_rows,
            coarse_key: equality.target_coarse,
            identity: target_identity,
        },
        rules,
        chunk_size: job.chunk_size,
        keys_may_collide: equality.may_collide,
        warnings,
        creation: Creation::Exists,
    })
}

fn position(info: &TableInfo, column: &str) -> Option<usize> {
    info.columns.iter().position(|c| c.name == column)
}

/// The columns both sides share and the job selects, in the source's order, each side's copy
/// given the class they are compared as; one-sided and generated target columns are warnings.
fn match_columns(
    job: &TableJob,
    defs: &Definitions<'_>,
    warnings: &mut Vec<String>,
) -> Result<(Vec<Column>, Vec<Column>)> {
    let name = &job.name;
    // Columns the job file copies must exist on both sides; an excluded one in the source (a
    // table `create_missing` made has none of them).
    for listed in job.columns.iter().flatten() {
        for (side, info) in [("source", defs.source), ("target", defs.target)] {
            if position(info, listed).is_none() {
                bail!("table {name}: column {listed:?} named in the job file does not exist in the {side}");
            }
        }
    }
    for excluded in &job.exclude_columns {
        if position(defs.source, excluded).is_none() {
            bail!("table {name}: column {excluded:?} named in the job file does not exist in the source");
        }
    }
    let selected = |column: &str| {
        job.columns
            .as_ref()
            .is_none_or(|list| list.iter().any(|c| c == column))
            && !job.exclude_columns.iter().any(|c| c == column)
    };
    let mut source_columns: Vec<Column> = Vec::new();
    let mut target_columns: Vec<Column> = Vec::new();
    for column in defs.source.columns.iter().filter(|c| selected(&c.name)) {
        match position(defs.target, &column.name).map(|i| &defs.target.columns[i]) {
            None => warnings.push(format!(
                "column {:?} exists only in the source; it is not copied",
                column.name
            )),
            Some(t) if t.generated => warnings.push(format!(
                "column {:?} is generated on the target; it is not written",
                column.name
            )),
            Some(t) => {
                let Some(class) =
                    shared_class(column.class, defs.source_kind, t.class, defs.target_kind)
                else {
                    bail!(
                        "table {name}: column {:?} cannot be compared: {} in the source ({}) but {} in the target ({})",
                        column.name,
                        column.decl_type,
                        defs.source_kind,
                        t.decl_type,
                        defs.target_kind,
                    );
                };
                let (mut s, mut t) = (column.clone(), t.clone());
                s.class = class;
                t.class = class;
                source_columns.push(s);
                target_columns.push(t);
            }
        }
    }
    Ok((source_columns, target_columns))
}

/// Target columns that are not copied: a warning, or an error when no row could be inserted.
fn check_target_only_columns(
    job: &TableJob,
    defs: &Definitions<'_>,
    copied: &[Column],
    warnings: &mut Vec<String>,
) -> Result<()> {
    for column in &defs.target.columns {
        if copied.iter().any(|c| c.name == column.name) || column.generated {
            continue;
        }
        if !column.nullable && !column.has_default {
            bail!(
                "table {}: target column {:?} is NOT NULL without a default and is not copied \
                 from the source, so no row could be inserted; copy it, give it a default, or make it \
                 nullable",
                job.name,
                column.name
            );
        }
        if position(defs.source, &column.name).is_none() {
            warnings.push(format!(
                "column {:?} exists only in the target; new rows get its default",
                column.name
            ));
        }
    }
    Ok(())
}

/// The key a table is synced by: the positions of its columns among the shared columns, and
/// how it identifies each side's rows.
struct ChosenKey {
    columns: Vec<usize>,
    source: Identity,
    target: Identity,
}

/// The job's `key`, else the source's primary key, else its first unique NOT NULL index (as
/// `dbdelta init` proposes), else none: every column, the rows a multiset
/// ([`Identity::WholeRow`]). A key's columns are NOT NULL and of a class that can be a key; a
/// key the job names without a unique index on a side is [`Identity::Unindexed`] there.
fn choose_key(
    job: &TableJob,
    defs: &Definitions<'_>,
    source_columns: &[Column],
    target_columns: &[Column],
) -> Result<ChosenKey> {
    let name = &job.name;
    let key_names = match &job.key {
        Some(key) => key.clone(),
        None if !defs.source.primary_key.is_empty() => defs.source.primary_key.clone(),
        None => match usable_key(defs.source) {
            Some((key, _)) => key,
            None => {
                return Ok(ChosenKey {
                    columns: (0..source_columns.len()).collect(),
                    source: Identity::WholeRow,
                    target: Identity::WholeRow,
                })
            }
        },
    };
    let mut key = Vec::with_capacity(key_names.len());
    for k in &key_names {
        let Some(pos) = source_columns.iter().position(|c| &c.name == k) else {
            let side = if position(defs.source, k).is_none() {
                "source"
            } else {
                "target"
            };
            bail!("table {name}: key column {k:?} does not exist in the {side}");
        };
        let (s, t) = (&source_columns[pos], &target_columns[pos]);
        if !key_class(s.class) || !key_class(t.class) {
            bail!(
                "table {name}: key column {k:?} is {} in the source and {} in the target; \
                 floating-point and JSON columns cannot be keys",
                s.decl_type,
                t.decl_type
            );
        }
        if s.nullable || t.nullable {
            bail!(
                "table {name}: key column {k:?} allows NULL; a key must be NOT NULL (a table \
                 without `key` and without a primary key is synced as a multiset of whole rows)"
            );
        }
        key.push(pos);
    }
    let identity = |info: &TableInfo| {
        let unique = info
            .unique_keys
            .iter()
            .any(|u| u.len() == key_names.len() && key_names.iter().all(|k| u.contains(k)));
        if unique {
            Identity::Unique
        } else {
            Identity::Unindexed
        }
    };
    Ok(ChosenKey {
        columns: key,
        source: identity(defs.source),
        target: identity(defs.target),
    })
}

/// How the two sides tell keys apart, decided once per table from each key column's
/// [`Dialect::key_equality`](crate::engine::Dialect::key_equality).
struct KeyEqualities {
    source_coarse: bool,
    target_coarse: bool,
    /// Some key column is coarse on the target without being known to compare alike on the
    /// source. Only two databases of one engine declaring the column alike, with the same
    /// collation, are known to: a source holding `'a'` and `'A'` under a case-insensitive
    /// collation is impossible there. Anything else is checked ([`crate::collisions`]).
    may_collide: bool,
}

impl KeyEqualities {
    fn decide(
        defs: &Definitions<'_>,
        source_columns: &[Column],
        target_columns: &[Column],
        key: &[usize],
    ) -> KeyEqualities {
        let coarse =
            |kind: EngineKind, c: &Column| kind.dialect().key_equality(c) == KeyEquality::Coarse;
        let same_equality = |s: &Column, t: &Column| {
            defs.source_kind == defs.target_kind
                && s.decl_type == t.decl_type
                && s.collation == t.collation
        };
        let pairs = || {
            key.iter()
                .map(|&i| (&source_columns[i], &target_columns[i]))
        };
        KeyEqualities {
            source_coarse: pairs().any(|(s, _)| coarse(defs.source_kind, s)),
            target_coarse: pairs().any(|(_, t)| coarse(defs.target_kind, t)),
            may_collide: pairs().any(|(s, t)| coarse(defs.target_kind, t) && !same_equality(s, t)),
        }
    }
}

/// How each side's rows are hashed, decided once per table (see [`crate::value`]).
struct Hashing {
    /// Same engine, same declarations: each value's own exact text is hashed on both sides (the
    /// native row hashes), where the engine hashes in SQL.
    native_rows: bool,
    source_in_process: bool,
    target_in_process: bool,
}

impl Hashing {
    fn decide(
        job: &TableJob,
        defs: &Definitions<'_>,
        source_columns: &[Column],
        target_columns: &[Column],
        rules: bool,
    ) -> Hashing {
        // Rows with data rules are hashed as transformed, in-process on the source, so the target
        // hashes by the portable definition too, as if the engines differed.
        let portable = defs.source_kind != defs.target_kind || rules;
        let native_rows = !portable
            && job.query.is_none()
            && defs.source_kind.dialect().hashes_in_sql()
            && source_columns
                .iter()
                .zip(target_columns)
                .all(|(s, t)| s.decl_type == t.decl_type);
        // Floats and JSON have no canonical text in SQL; an engine without a hash in SQL hashes
        // every row in-process.
        let no_canonical_sql = portable
            && source_columns.iter().any(|c| {
                matches!(
                    c.class,
                    TypeClass::Float | TypeClass::Float32 | TypeClass::Json
                )
            });
        let in_process = |kind: EngineKind| no_canonical_sql || !kind.dialect().hashes_in_sql();
        Hashing {
            native_rows,
            source_in_process: in_process(defs.source_kind) || rules,
            target_in_process: in_process(defs.target_kind),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, class: TypeClass, nullable: bool, has_default: bool) -> Column {
        Column {
            name: name.into(),
            decl_type: format!("{class:?}"),
            cast_type: String::new(),
            class,
            nullable,
            has_default,
            generated: false,
            collation: None,
        }
    }

    fn info(columns: Vec<Column>, pk: &[&str]) -> TableInfo {
        let pk: Vec<String> = pk.iter().map(|s| s.to_string()).collect();
        TableInfo {
            columns,
            unique_keys: if pk.is_empty() {
                vec![]
            } else {
                vec![pk.clone()]
            },
            primary_key: pk,
        }
    }

    fn plan(job_key: Option<&str>, source: &TableInfo, target: &TableInfo) -> Result<TablePlan> {
        let mut job = TableJob::with_defaults("t", 10);
        job.key = job_key.map(|k| vec![k.to_string()]);
        plan_table(
            &job,
            Definitions {
                source_kind: EngineKind::Postgres,
                source,
                source_table: "\"t\"".into(),
                target_kind: EngineKind::Postgres,
                target,
                target_table: "\"t\"".into(),
                rules: &DataRules::default(),
            },
        )
    }

    #[test]
    fn one_sided_columns_are_warnings() {
        let s = info(
            vec![
                column("id", TypeClass::Int, false, false),
                column("extra", TypeClass::Text, true, false),
            ],
            &["id"],
        );
        let t = info(
            vec![
                column("id", TypeClass::Int, false, false),
                column("note", TypeClass::Text, true, false),
            ],
            &["id"],
        );
        let p = plan(None, &s, &t).unwrap();
        assert_eq!(p.source.columns.len(), 1);
        assert_eq!(p.warnings.len(), 2);
    }

    #[test]
    fn required_target_only_column_is_an_error() {
        let s = info(vec![column("id", TypeClass::Int, false, false)], &["id"]);
        let t = info(
            vec![
                column("id", TypeClass::Int, false, false),
                column("must", TypeClass::Text, false, false),
            ],
            &["id"],
        );
        let err = plan(None, &s, &t).unwrap_err().to_string();
        assert!(err.contains("\"must\""), "{err}");
    }

    #[test]
    fn a_table_without_a_key_is_a_multiset_of_whole_rows() {
        let s = info(
            vec![
                column("at", TypeClass::Timestamp, true, false),
                column("f", TypeClass::Float, true, false),
            ],
            &[],
        );
        let p = plan(None, &s, &s).unwrap();
        assert_eq!(p.source.key, vec![0, 1]);
        assert_eq!(p.source.identity, Identity::WholeRow);
        assert_eq!(p.target.identity, Identity::WholeRow);
        assert!(!p.keys_may_collide);
    }

    #[test]
    fn incompatible_types_are_refused() {
        let s = info(
            vec![
                column("id", TypeClass::Int, false, false),
                column("v", TypeClass::Json, true, false),
            ],
            &["id"],
        );
        let t = info(
            vec![
                column("id", TypeClass::Int, false, false),
                column("v", TypeClass::Int, true, false),
            ],
            &["id"],
        );
        let err = plan(None, &s, &t).unwrap_err().to_string();
        assert!(err.contains("column \"v\" cannot be compared"), "{err}");
    }

    #[test]
    fn float_keys_are_refused() {
        let s = info(vec![column("f", TypeClass::Float, false, false)], &["f"]);
        let err = plan(None, &s, &s).unwrap_err().to_string();
        assert!(err.contains("cannot be keys"), "{err}");
    }

    #[test]
    fn usable_key_prefers_the_primary_key_then_a_not_null_unique_index() {
        let mut t = info(
            vec![
                column("id", TypeClass::Int, false, false),
                column("code", TypeClass::Text, true, false),
                column("ref", TypeClass::Text, false, false),
            ],
            &["id"],
        );
        assert_eq!(
            usable_key(&t),
            Some((vec!["id".to_string()], KeyOrigin::PrimaryKey))
        );
        t.primary_key.clear();
        t.unique_keys = vec![vec!["code".into()], vec!["ref".into()]];
        assert_eq!(
            usable_key(&t),
            Some((vec!["ref".to_string()], KeyOrigin::UniqueIndex))
        );
        t.unique_keys.pop();
        assert_eq!(usable_key(&t), None);
        let floats = info(vec![column("f", TypeClass::Float, false, false)], &["f"]);
        assert_eq!(usable_key(&floats), None);
    }

    #[test]
    fn key_collisions_are_checked_only_where_the_target_may_merge_source_keys() {
        let text = |decl: &str, collation: &str| Column {
            decl_type: decl.into(),
            collation: Some(collation.into()),
            ..column("code", TypeClass::Text, false, false)
        };
        let decide = |source_kind, source: Column, target_kind, target: Column| {
            let (s, t) = (info(vec![source], &["code"]), info(vec![target], &["code"]));
            let defs = Definitions {
                source_kind,
                source: &s,
                source_table: "t".into(),
                target_kind,
                target: &t,
                target_table: "t".into(),
                rules: &DataRules::default(),
            };
            let e = KeyEqualities::decide(&defs, &s.columns, &t.columns, &[0]);
            (e.target_coarse, e.may_collide)
        };
        let pg = text("text", "default/c/C.UTF-8/C.UTF-8///");
        let ci = text(
            "varchar(9) COLLATE utf8mb4_general_ci",
            "utf8mb4_general_ci",
        );
        let nopad = text("varchar(9) COLLATE utf8mb4_nopad_bin", "utf8mb4_nopad_bin");
        use EngineKind::{MySql, Postgres};
        assert_eq!(
            decide(Postgres, pg.clone(), MySql, ci.clone()),
            (true, true)
        );
        assert_eq!(
            decide(Postgres, pg.clone(), MySql, nopad.clone()),
            (false, false)
        );
        // One engine, one declaration and collation: the source cannot hold 'a' and 'A'.
        assert_eq!(decide(MySql, ci.clone(), MySql, ci.clone()), (true, false));
        assert_eq!(decide(MySql, nopad, MySql, ci.clone()), (true, true));
        assert_eq!(decide(MySql, ci, Postgres, pg), (false, false));
    }

    #[test]
    fn an_explicit_key_without_a_unique_index_is_unindexed() {
        let s = info(
            vec![
                column("id", TypeClass::Int, false, false),
                column("n", TypeClass::Int, false, false),
            ],
            &["id"],
        );
        let p = plan(Some("n"), &s, &s).unwrap();
        assert_eq!(p.source.key, vec![1]);
        assert_eq!(p.source.identity, Identity::Unindexed);
        assert_eq!(p.target.identity, Identity::Unindexed);
        assert_eq!(
            plan(Some("id"), &s, &s).unwrap().target.identity,
            Identity::Unique
        );
    }
}
