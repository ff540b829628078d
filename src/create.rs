//! Creating a missing target table (`create_missing`) from the source's definition: the columns
//! with their types mapped ([`Dialect::declare`]), NOT NULL and the key as primary key, and what
//! an application needs to insert rows of its own: the defaults the target can express, the key
//! numbered by the database where the source numbered it (`serial`, identity, `AUTO_INCREMENT`,
//! SQLite's rowid), the source's unique indexes, comments, and its foreign keys to other tables
//! of the job. What is not carried over becomes a warning of the table.
//!
//! The commands that write nothing (`diff`, `check`, `sync --dry-run`) plan against the same
//! [`Blueprint`]: its definition as the target will report it, its rows an empty relation.

use crate::config::{Job, TableJob};
use crate::convert::has_zone;
use crate::engine::extras::is_number;
use crate::engine::{
    Chunk, Column, Db, DefaultValue, Dialect, EngineKind, ForeignKey, Identity, TableInfo,
    TableSide,
};
use crate::value::{TypeClass, Value};
use anyhow::{Context, Result};

/// Whether a plan's target table exists, or is created by `create_missing`.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Creation {
    #[default]
    Exists,
    /// Missing, and `sync` will create it; this command writes nothing, so the target side is
    /// an empty relation shaped like the table.
    Planned,
    /// Created by this run. Its foreign keys to the job's tables are added once every table
    /// exists ([`add_foreign_keys`]).
    Created { foreign_keys: Vec<Ddl> },
}

/// A statement that carries one thing over, and what it carries, for the warning when the
/// target refuses it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ddl {
    sql: String,
    what: String,
}

/// How the target engine takes what goes beyond columns.
#[derive(Clone, Copy, PartialEq)]
enum Style {
    /// PostgreSQL: `COMMENT ON` statements, foreign keys added by `ALTER TABLE`, `DEFERRABLE`
    /// so that `--defer-constraints` can defer them.
    Postgres,
    /// MySQL: comments inside the `CREATE TABLE`, foreign keys added by `ALTER TABLE`.
    MySql,
    /// SQLite: no comments; foreign keys only inside the `CREATE TABLE` (SQLite has no `ADD
    /// CONSTRAINT`), where a parent created later is fine.
    Sqlite,
}

impl Style {
    fn of(kind: EngineKind) -> Style {
        match kind {
            EngineKind::Postgres => Style::Postgres,
            EngineKind::MySql => Style::MySql,
            EngineKind::Sqlite => Style::Sqlite,
        }
    }
}

/// A missing target table as `create_missing` will create it.
pub struct Blueprint {
    /// The columns as the target will report them.
    columns: Vec<Column>,
    key: Vec<String>,
    /// Unique indexes besides the key.
    unique_keys: Vec<Vec<String>>,
    create: String,
    /// Unique indexes and comments, run one by one after the `CREATE TABLE`.
    after: Vec<Ddl>,
    /// Foreign keys added once every table exists (not SQLite: in `create`).
    foreign_keys: Vec<Ddl>,
    /// What is not carried over.
    pub warnings: Vec<String>,
}

/// The blueprint of `table`'s missing target table, from the source's definition `src`.
pub async fn blueprint(
    source: &Db,
    target: &Db,
    job: &Job,
    table: &TableJob,
    src: &TableInfo,
) -> Result<Blueprint> {
    // Without a primary key (or a `key` of the job's) the table is created without one too:
    // its unique indexes, if any, come along below, and a keyless table syncs as a multiset.
    let key = table.key.clone().unwrap_or_else(|| src.primary_key.clone());
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
    let extras = source.table_extras(&table.name).await?;
    let dialect = target.dialect();
    let style = Style::of(target.kind);
    let quoted = target.quote_table(&table.target_name);
    let bare = table
        .target_name
        .rsplit_once('.')
        .map_or(table.target_name.as_str(), |(_, t)| t);
    let mut warnings = Vec::new();

    let copied = |names: &[String]| names.iter().all(|n| columns.iter().any(|c| &c.name == n));
    let mut unique_keys: Vec<Vec<String>> = Vec::new();
    for unique in &src.unique_keys {
        if same_columns(unique, &key) || unique_keys.iter().any(|u| same_columns(u, unique)) {
            continue;
        }
        if copied(unique) {
            unique_keys.push(unique.clone());
        } else {
            warnings.push(format!(
                "unique index ({}) not carried over: not all its columns are copied",
                unique.join(", ")
            ));
        }
    }

    let mut parts = Vec::new();
    let mut after = Vec::new();
    let mut created = Vec::new();
    for c in &columns {
        let is_key = key.contains(&c.name);
        // Declared like a key: the columns of unique indexes, and those of foreign keys, which
        // must match the parent's key to be accepted.
        let indexed = is_key
            || unique_keys.iter().any(|u| u.contains(&c.name))
            || extras
                .foreign_keys
                .iter()
                .any(|fk| fk.columns.contains(&c.name));
        let declared = dialect.declare(source.kind, c, indexed);
        let numbered = (extras.numbered.contains(&c.name)
            && key.len() == 1
            && is_key
            && c.class == TypeClass::Int)
            .then(|| dialect.declare_numbered(&declared))
            .flatten();
        let collation = match declared.split_once(" COLLATE ") {
            Some((_, collation)) => Some(collation.trim_matches('"').to_string()),
            None if source.kind == target.kind => c.collation.clone(),
            None => None,
        };
        let mut column = Column {
            name: c.name.clone(),
            decl_type: declared.clone(),
            cast_type: declared.clone(),
            class: c.class,
            nullable: c.nullable && !is_key,
            has_default: numbered.is_some(),
            generated: false,
            collation,
        };
        let mut definition = format!(
            "{} {}",
            dialect.quote_ident(&c.name),
            numbered.as_deref().unwrap_or(&declared)
        );
        match (extras.default_of(&c.name), &numbered) {
            // The database numbers the column instead of the source's sequence.
            (Some(_), Some(_)) => {}
            (Some(default), None) => {
                match portable(&default.value, c.class)
                    .and_then(|d| dialect.default_sql(&d, &column))
                {
                    Some(sql) => {
                        definition.push_str(&format!(" DEFAULT {sql}"));
                        column.has_default = true;
                    }
                    None => warnings.push(format!(
                        "column {:?}: default {} not carried over",
                        c.name, default.raw
                    )),
                }
            }
            (None, _) if numbered.is_none() && extras.numbered.contains(&c.name) => {
                warnings.push(format!(
                    "column {:?}: numbering by the database (identity, AUTO_INCREMENT) not \
                     carried over: only a single-column integer key is",
                    c.name
                ))
            }
            (None, _) => {}
        }
        if !column.nullable {
            definition.push_str(" NOT NULL");
        }
        if let Some(comment) = extras.comment_of(&c.name) {
            match style {
                Style::MySql => {
                    definition.push_str(&format!(" COMMENT {}", dialect.string_literal(comment)))
                }
                Style::Postgres => after.push(Ddl {
                    sql: format!(
                        "COMMENT ON COLUMN {quoted}.{} IS {}",
                        dialect.quote_ident(&c.name),
                        dialect.string_literal(comment)
                    ),
                    what: format!("the comment of column {:?}", c.name),
                }),
                Style::Sqlite => {}
            }
        }
        parts.push(definition);
        created.push(column);
    }
    let quote_list = |names: &[String]| {
        names
            .iter()
            .map(|n| dialect.quote_ident(n))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !key.is_empty() {
        parts.push(format!("PRIMARY KEY ({})", quote_list(&key)));
    }

    let mut foreign_keys = Vec::new();
    for fk in &extras.foreign_keys {
        let Some(link) = foreign_key(source, target, job, fk, &columns).await? else {
            warnings.push(format!(
                "foreign key ({}) to {} not carried over: {}",
                fk.columns.join(", "),
                fk.parent,
                if copied(&fk.columns) {
                    "that table is not one of the job's"
                } else {
                    "not all its columns are copied"
                }
            ));
            continue;
        };
        let name = fk
            .name
            .clone()
            .unwrap_or_else(|| index_name(bare, &fk.columns, "fkey"));
        let constraint = format!("CONSTRAINT {} {link}", dialect.quote_ident(&name));
        match style {
            Style::Sqlite => parts.push(constraint),
            Style::Postgres | Style::MySql => foreign_keys.push(Ddl {
                sql: format!(
                    "ALTER TABLE {quoted} ADD {constraint}{}",
                    if style == Style::Postgres {
                        " DEFERRABLE"
                    } else {
                        ""
                    }
                ),
                what: format!("foreign key ({}) to {}", fk.columns.join(", "), fk.parent),
            }),
        }
    }

    let mut create = format!("CREATE TABLE {quoted} ({})", parts.join(", "));
    if let Some(comment) = &extras.comment {
        match style {
            Style::MySql => {
                create.push_str(&format!(" COMMENT = {}", dialect.string_literal(comment)))
            }
            Style::Postgres => after.push(Ddl {
                sql: format!(
                    "COMMENT ON TABLE {quoted} IS {}",
                    dialect.string_literal(comment)
                ),
                what: "the table's comment".into(),
            }),
            Style::Sqlite => {}
        }
    }
    if style == Style::Sqlite && (extras.comment.is_some() || !extras.column_comments.is_empty()) {
        warnings.push("comments not carried over: SQLite keeps none".into());
    }
    for unique in &unique_keys {
        after.push(Ddl {
            sql: format!(
                "CREATE UNIQUE INDEX {} ON {quoted} ({})",
                dialect.quote_ident(&index_name(bare, unique, "key")),
                quote_list(unique)
            ),
            what: format!("unique index ({})", unique.join(", ")),
        });
    }
    for check in &extras.checks {
        warnings.push(format!("check constraint {check} not carried over"));
    }
    Ok(Blueprint {
        columns: created,
        key,
        unique_keys,
        create,
        after,
        foreign_keys,
        warnings,
    })
}

impl Blueprint {
    /// The table's definition as the target will report it once created.
    pub fn definition(&self) -> TableInfo {
        TableInfo {
            columns: self.columns.clone(),
            primary_key: self.key.clone(),
            unique_keys: std::iter::once(self.key.clone())
                .filter(|key| !key.is_empty())
                .chain(self.unique_keys.iter().cloned())
                .collect(),
        }
    }

    /// An empty relation with the table's columns, read in its place by the commands that
    /// write nothing.
    pub fn empty_relation(&self, dialect: &dyn Dialect) -> String {
        let columns: Vec<String> = self
            .columns
            .iter()
            .map(|c| {
                format!(
                    "{} AS {}",
                    dialect.typed_null(&c.decl_type),
                    dialect.quote_ident(&c.name)
                )
            })
            .collect();
        format!(
            "(SELECT {} LIMIT 0) AS {}",
            columns.join(", "),
            dialect.quote_ident("dbdelta_missing")
        )
    }

    /// Creates the table, then its unique indexes and comments (each refused one a warning),
    /// and returns its definition as the target reports it, and what [`add_foreign_keys`]
    /// adds later.
    pub async fn create(&mut self, target: &Db, name: &str) -> Result<(TableInfo, Creation)> {
        target
            .execute_in_transaction(&[(self.create.clone(), Vec::new())])
            .await
            .with_context(|| format!("cannot create table {name} in the target"))?;
        for ddl in &self.after {
            if let Some(warning) = run_ddl(target, ddl).await {
                self.warnings.push(warning);
            }
        }
        let info = target
            .table_info(name)
            .await?
            .with_context(|| format!("table {name} was created but cannot be found"))?;
        let foreign_keys = std::mem::take(&mut self.foreign_keys);
        Ok((info, Creation::Created { foreign_keys }))
    }
}

/// Adds the foreign keys of a table this run created, now that every table of the job exists;
/// returns a warning for each the target refuses.
pub async fn add_foreign_keys(target: &Db, creation: &Creation) -> Vec<String> {
    let Creation::Created { foreign_keys } = creation else {
        return Vec::new();
    };
    let mut warnings = Vec::new();
    for ddl in foreign_keys {
        warnings.extend(run_ddl(target, ddl).await);
    }
    warnings
}

/// Runs one statement in its own transaction; a warning when the target refuses it.
async fn run_ddl(target: &Db, ddl: &Ddl) -> Option<String> {
    let ran = target
        .execute_in_transaction(&[(ddl.sql.clone(), Vec::new())])
        .await;
    ran.err()
        .map(|e| format!("{} not carried over: {}", ddl.what, e.root_cause()))
}

/// `FOREIGN KEY (…) REFERENCES parent (…)` for a foreign key whose parent is one of the job's
/// tables and whose columns are all copied; `None` otherwise.
async fn foreign_key(
    source: &Db,
    target: &Db,
    job: &Job,
    fk: &ForeignKey,
    columns: &[Column],
) -> Result<Option<String>> {
    if !fk
        .columns
        .iter()
        .all(|n| columns.iter().any(|c| &c.name == n))
    {
        return Ok(None);
    }
    let unquoted = |name: &str| name.replace('"', "");
    let parent_name = unquoted(&fk.parent);
    let bare = |name: &str| name.rsplit_once('.').map_or(name, |(_, t)| t).to_string();
    let same = |a: &str, b: &str| match source.kind {
        EngineKind::Sqlite => a.eq_ignore_ascii_case(b),
        EngineKind::Postgres | EngineKind::MySql => a == b,
    };
    let parent = job
        .tables
        .iter()
        .find(|t| same(&t.name, &parent_name))
        // SQLite names the parent without a schema; elsewhere a schema is part of the name.
        .or_else(|| {
            (source.kind == EngineKind::Sqlite)
                .then(|| {
                    job.tables
                        .iter()
                        .find(|t| same(&bare(&t.name), &bare(&parent_name)))
                })
                .flatten()
        });
    let Some(parent) = parent else {
        return Ok(None);
    };
    let parent_columns = if fk.parent_columns.is_empty() {
        // SQLite: the parent's primary key, unnamed.
        source
            .table_info(&parent.name)
            .await?
            .map(|info| info.primary_key)
            .unwrap_or_default()
    } else {
        fk.parent_columns.clone()
    };
    let dialect = target.dialect();
    let list = |names: &[String]| {
        names
            .iter()
            .map(|n| dialect.quote_ident(n))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Ok(Some(format!(
        "FOREIGN KEY ({}) REFERENCES {} ({})",
        list(&fk.columns),
        target.quote_table(&parent.target_name),
        list(&parent_columns)
    )))
}

/// The default as the created column's class takes it: numbers for numeric columns (whatever
/// the source's quoting), booleans for boolean ones; `None` where it does not fit the class.
fn portable(value: &DefaultValue, class: TypeClass) -> Option<DefaultValue> {
    use DefaultValue::{Bool, Expression, Number, Text};
    let numeric = matches!(
        class,
        TypeClass::Int | TypeClass::Decimal | TypeClass::Float | TypeClass::Float32
    );
    Some(match (value, class) {
        (Expression, _) => return None,
        (Text(_) | Number(_) | Bool(_), TypeClass::Bytes) => return None,
        // A literal date, time, UUID or JSON default is spelled and bounded differently on each
        // engine (`'0000-00-00'`, `'infinity'`, an offset): one the target refused would fail the
        // whole `CREATE TABLE`, so such defaults are only named in a warning.
        (
            Text(_) | Number(_) | Bool(_),
            TypeClass::Date
            | TypeClass::Time
            | TypeClass::Timestamp
            | TypeClass::TimestampTz
            | TypeClass::Uuid
            | TypeClass::Json,
        ) => return None,
        (Bool(b), _) if numeric => Number(if *b { "1" } else { "0" }.into()),
        (Text(t), _) if numeric => match is_number(t.trim()) {
            true => Number(t.trim().to_string()),
            false => return None,
        },
        (Number(n) | Text(n), TypeClass::Bool) => match n.to_ascii_lowercase().as_str() {
            "0" | "f" | "false" | "n" | "no" | "off" => Bool(false),
            "1" | "t" | "true" | "y" | "yes" | "on" => Bool(true),
            _ => return None,
        },
        (Number(n), _) if !numeric => Text(n.clone()),
        (other, _) => other.clone(),
    })
}

fn same_columns(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

/// `table_a_b_suffix`, cut to 60 bytes: PostgreSQL keeps 63, MySQL 64.
fn index_name(table: &str, columns: &[String], suffix: &str) -> String {
    let mut name = format!("{table}_{}_{suffix}", columns.join("_"));
    while name.len() > 60 {
        name.pop();
    }
    name
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_take_the_created_column_class() {
        use DefaultValue::{Bool, Expression, Number, Text};
        assert_eq!(
            portable(&Text("-1".into()), TypeClass::Int),
            Some(Number("-1".into()))
        );
        assert_eq!(portable(&Text("abc".into()), TypeClass::Int), None);
        assert_eq!(
            portable(&Number("1".into()), TypeClass::Bool),
            Some(Bool(true))
        );
        assert_eq!(
            portable(&Number("0".into()), TypeClass::Text),
            Some(Text("0".into()))
        );
        assert_eq!(portable(&Text("x".into()), TypeClass::Bytes), None);
        assert_eq!(portable(&Expression, TypeClass::Text), None);
        let long: Vec<String> = (0..20).map(|i| format!("column{i}")).collect();
        assert!(index_name("table", &long, "key").len() <= 60);
    }
}
