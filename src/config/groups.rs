//! `[groups.NAME]`: named sets of tables with a shared subset, and how the value in
//! `dbdelta sync NAME:VALUE` gets into that subset's SQL.

use super::file::GroupFile;
use super::EngineKind;
use anyhow::{bail, Result};
use std::path::Path;

/// A group as the job file defines it.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub name: String,
    /// The tables, by `[[tables]]` name or plain table name.
    pub tables: Vec<String>,
    /// The `where` shared by the group's tables; `{1}` is the value after the colon.
    pub filter: Option<String>,
}

impl Group {
    /// Checks one `[groups.NAME]` entry.
    pub(super) fn from_file(name: &str, group: &GroupFile, path: &Path) -> Result<Group> {
        if group.tables.is_empty() {
            bail!("{}: group {name:?} lists no tables", path.display());
        }
        Ok(Group {
            name: name.to_string(),
            tables: group.tables.clone(),
            filter: group.filter.clone(),
        })
    }

    /// The values for `{1}`, … from `NAME:VALUE`: one value exactly when the `where` has `{1}`.
    pub(super) fn args(&self, value: Option<&str>) -> Result<Vec<String>> {
        let name = &self.name;
        let needs_value = self.filter.as_deref().is_some_and(|f| f.contains("{1}"));
        match (value, needs_value) {
            (Some(v), true) => Ok(vec![v.to_string()]),
            (None, false) => Ok(Vec::new()),
            (None, true) => bail!("group {name:?} needs a value: `{name}:VALUE`"),
            (Some(_), false) => {
                bail!("group {name:?} has no {{1}} in its `where`, so it takes no value")
            }
        }
    }
}

/// Replaces `{1}`, `{2}`, … with `args` as SQL literals for `kind`: a number stays a number,
/// anything else becomes a quoted string, so that a value like `42; DROP TABLE x` is data.
pub fn render_sql(template: &str, args: &[String], kind: EngineKind) -> String {
    let mut out = template.to_string();
    for (i, arg) in args.iter().enumerate() {
        out = out.replace(&format!("{{{}}}", i + 1), &sql_literal(arg, kind));
    }
    out
}

fn sql_literal(value: &str, kind: EngineKind) -> String {
    let digits = value.strip_prefix('-').unwrap_or(value);
    let numeric = !digits.is_empty()
        && digits.split('.').count() <= 2
        && digits
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    if numeric {
        return value.to_string();
    }
    let mut quoted = value.replace('\'', "''");
    if kind == EngineKind::MySql {
        // MySQL treats a backslash in a string literal as an escape character.
        quoted = quoted.replace('\\', "\\\\");
    }
    format!("'{quoted}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(template: &str, args: &[&str], kind: EngineKind) -> String {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        render_sql(template, &args, kind)
    }

    #[test]
    fn group_values_become_literals_of_each_engine() {
        assert_eq!(
            render("t = {1}", &["42; DROP TABLE x"], EngineKind::Postgres),
            "t = '42; DROP TABLE x'"
        );
        assert_eq!(render("t = {1}", &["42"], EngineKind::MySql), "t = 42");
        assert_eq!(render("t = {1}", &["-4.5"], EngineKind::Sqlite), "t = -4.5");
        assert_eq!(
            render("t = {1}", &["a'b\\"], EngineKind::MySql),
            "t = 'a''b\\\\'"
        );
        assert_eq!(
            render("t = {1}", &["a'b\\"], EngineKind::Postgres),
            "t = 'a''b\\'"
        );
    }

    #[test]
    fn a_group_takes_a_value_exactly_when_its_where_has_one() {
        let group = |filter: Option<&str>| Group {
            name: "tenant".into(),
            tables: vec!["t".into()],
            filter: filter.map(String::from),
        };
        assert_eq!(
            group(Some("id = {1}")).args(Some("7")).unwrap(),
            ["7".to_string()]
        );
        assert!(group(None).args(None).unwrap().is_empty());
        let err = group(Some("id = {1}")).args(None).unwrap_err().to_string();
        assert!(err.contains("needs a value: `tenant:VALUE`"), "{err}");
        let err = group(None).args(Some("7")).unwrap_err().to_string();
        assert!(err.contains("takes no value"), "{err}");
    }
}
