//! `[groups.NAME]`: named sets of tables with a shared subset (or one per table), and how the
//! value in `dbdelta sync NAME:VALUE` gets into that subset's SQL.
//!
//! A value is never spliced with `replace`: [`render_sql`] reads the template once, left to right,
//! and writes each placeholder `{n}` as the literal of value n, built once by [`sql_literal`] for
//! the engine that runs the statement. What a value brings in (a quote, a `{2}`) is never read
//! again, so it stays data. A placeholder already between quotes (`day = '{1}'`, pgsync's habit)
//! gets the value escaped for inside that literal instead, so both spellings select the same rows;
//! one in a comment or a quoted identifier is left alone (see `sql_text`).

use super::file::{GroupFile, GroupMemberFile, GroupTablesFile};
use super::sql_text::{self, Context};
use super::EngineKind;
use anyhow::{bail, Result};
use std::path::Path;

/// A group as the job file defines it.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub name: String,
    /// The tables, by `[[tables]]` name, plain table name or pattern, in the file's order.
    pub tables: Vec<GroupTable>,
    /// The `where` shared by the group's tables; `{1}` is the value after the colon.
    pub filter: Option<String>,
}

/// One table of a group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupTable {
    pub name: String,
    /// This table's own `where` in the group, which wins over the group's.
    pub filter: Option<String>,
}

impl Group {
    /// Checks one `[groups.NAME]` entry.
    pub(super) fn from_file(name: &str, group: &GroupFile, path: &Path) -> Result<Group> {
        let member = |name: &str, filter: Option<&String>| GroupTable {
            name: name.trim().to_string(),
            filter: filter.cloned(),
        };
        let tables: Vec<GroupTable> = match &group.tables {
            GroupTablesFile::List(entries) => entries
                .iter()
                .map(|entry| match entry {
                    GroupMemberFile::Name(table) => member(table, None),
                    GroupMemberFile::Entry(e) => member(&e.name, e.filter.as_ref()),
                })
                .collect(),
            GroupTablesFile::Conditions(conditions) => conditions
                .iter()
                .map(|(table, filter)| member(table, Some(filter)))
                .collect(),
        };
        let at = path.display();
        if tables.is_empty() {
            bail!("{at}: group {name:?} lists no tables");
        }
        for table in &tables {
            if table.name.is_empty() {
                bail!("{at}: group {name:?} has a table with an empty name");
            }
            if table.filter.as_deref().is_some_and(|f| f.trim().is_empty()) {
                bail!(
                    "{at}: group {name:?} has an empty `where` for {:?}",
                    table.name
                );
            }
        }
        Ok(Group {
            name: name.to_string(),
            tables,
            filter: group.filter.clone(),
        })
    }

    /// The values for `{1}`, … from `NAME:VALUE`: one value exactly when a `where` of the group
    /// (its own or one of its tables') has `{1}`.
    pub(super) fn args(&self, value: Option<&str>) -> Result<Vec<String>> {
        let name = &self.name;
        let needs_value = std::iter::once(&self.filter)
            .chain(self.tables.iter().map(|t| &t.filter))
            .any(|f| f.as_deref().is_some_and(|f| f.contains("{1}")));
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

/// Replaces `{1}`, `{2}`, … with `args` as SQL literals for `kind` (see [`sql_literal`]), in one
/// pass: the text a value brings in is copied, never scanned for placeholders again. A
/// placeholder without a value (`{3}` with two) is left as written.
///
/// Where a placeholder stands is read by [`sql_text::pieces`]: in code it becomes the whole
/// literal; inside an ordinary `'…'` string (`day = '{1}'`, `name LIKE '%{1}%'`) the value
/// escaped for inside it; in a comment, a quoted identifier or a dollar-quoted or `E'…'` string
/// it is left as written, since no value could go there and stay data.
pub fn render_sql(template: &str, args: &[String], kind: EngineKind) -> String {
    let literals: Vec<String> = args.iter().map(|arg| sql_literal(arg, kind)).collect();
    let mut out = String::with_capacity(template.len());
    for (context, piece) in sql_text::pieces(template, kind) {
        match context {
            Context::Code => fill(piece, &literals, |literal| literal, &mut out),
            Context::Quoted => fill(piece, &literals, inside_quotes, &mut out),
            Context::Elsewhere => out.push_str(piece),
        }
    }
    out
}

/// Copies `text` into `out` with each placeholder that has a value replaced by `form` of its
/// literal.
fn fill(text: &str, literals: &[String], form: fn(&str) -> &str, out: &mut String) {
    let mut rest = text;
    while let Some(at) = rest.find('{') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        match placeholder(after).and_then(|(n, len)| Some((literals.get(n - 1)?, len))) {
            Some((literal, len)) => {
                out.push_str(form(literal));
                rest = &after[len + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
}

/// A literal without its surrounding quotes (a number is its own inside).
fn inside_quotes(literal: &str) -> &str {
    literal
        .strip_prefix('\'')
        .and_then(|l| l.strip_suffix('\''))
        .unwrap_or(literal)
}

/// The number of a placeholder whose `{` was just read (`12}…` → 12) and its digits' length;
/// `None` unless digits without a leading zero are followed by `}`.
fn placeholder(after_brace: &str) -> Option<(usize, usize)> {
    let digits = after_brace.bytes().take_while(u8::is_ascii_digit).count();
    let bytes = after_brace.as_bytes();
    if digits == 0 || bytes[0] == b'0' || bytes.get(digits) != Some(&b'}') {
        return None;
    }
    let number = after_brace[..digits].parse().ok()?;
    Some((number, digits))
}

/// A value as an SQL literal of `kind`: a plain decimal number stays a number, anything else
/// becomes the engine dialect's quoted string, so that a value like `42; DROP TABLE x` is data.
pub(super) fn sql_literal(value: &str, kind: EngineKind) -> String {
    let digits = value.strip_prefix('-').unwrap_or(value);
    let numeric = !digits.is_empty()
        && digits.split('.').count() <= 2
        && digits
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    if numeric {
        return value.to_string();
    }
    kind.dialect().string_literal(value)
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
        for not_a_number in ["", "-", "1.", ".5", "1.2.3", "1e5", "+1", "0x10"] {
            assert_eq!(
                render("{1}", &[not_a_number], EngineKind::Sqlite),
                format!("'{not_a_number}'")
            );
        }
    }

    #[test]
    fn a_value_cannot_close_the_quote_of_another() {
        // With repeated replacement, `{2}` inside the first value would be replaced by the second
        // literal, whose opening quote would then close the first one's.
        let rendered = render(
            "a = {1} AND b = {2}",
            &["x' OR '{2}", " OR 1=1 --"],
            EngineKind::Postgres,
        );
        assert_eq!(rendered, "a = 'x'' OR ''{2}' AND b = ' OR 1=1 --'");
    }

    #[test]
    fn a_value_holding_a_placeholder_stays_data() {
        assert_eq!(
            render("a = {1} OR b = {1}", &["{1}"], EngineKind::Sqlite),
            "a = '{1}' OR b = '{1}'"
        );
        assert_eq!(
            render("a = {2} AND b = {1}", &["{2}", "7"], EngineKind::MySql),
            "a = 7 AND b = '{2}'"
        );
    }

    #[test]
    fn mysql_backslashes_cannot_escape_the_closing_quote() {
        // Unescaped, `\'` would be a quote inside the string and the literal would run on.
        assert_eq!(
            render("a = {1} AND b = {2}", &["x\\", "y"], EngineKind::MySql),
            "a = 'x\\\\' AND b = 'y'"
        );
        assert_eq!(
            render("a = {1}", &["\\' OR 1=1 -- "], EngineKind::MySql),
            "a = '\\\\'' OR 1=1 -- '"
        );
        assert_eq!(render("a = {1}", &["x\\"], EngineKind::Sqlite), "a = 'x\\'");
    }

    #[test]
    fn text_that_is_not_a_placeholder_is_kept() {
        let template = "a = '{' AND b = {0} AND c = {01} AND d = {3} AND e = {1 AND f = {}";
        assert_eq!(render(template, &["v"], EngineKind::Postgres), template);
        assert_eq!(
            render("{1}{1}}{{1}", &["v"], EngineKind::Postgres),
            "'v''v'}{'v'"
        );
        assert_eq!(render("ü{1}é", &["ß"], EngineKind::Sqlite), "ü'ß'é");
    }

    #[test]
    fn a_group_takes_a_value_exactly_when_its_where_has_one() {
        let group = |filter: Option<&str>| Group {
            name: "tenant".into(),
            tables: vec![GroupTable {
                name: "t".into(),
                filter: None,
            }],
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
        let mut own = group(None);
        own.tables[0].filter = Some("user_id = {1}".into());
        assert_eq!(own.args(Some("7")).unwrap(), ["7".to_string()]);
    }

    #[test]
    fn a_quote_in_a_comment_or_identifier_cannot_turn_a_value_into_code() {
        // Were the comment's apostrophe taken for a quote, `{1}` would count as inside a string
        // and `0 OR true` would be written bare.
        let template = "-- the tenant's orders\ntenant_id = {1}";
        assert_eq!(
            render(template, &["0 OR true"], EngineKind::Postgres),
            "-- the tenant's orders\ntenant_id = '0 OR true'"
        );
        assert_eq!(
            render("\"it's\" = {1} /* {1} */", &["x"], EngineKind::Postgres),
            "\"it's\" = 'x' /* {1} */"
        );
        assert_eq!(
            render("name LIKE '%{1}%'", &["O'Brien"], EngineKind::Sqlite),
            "name LIKE '%O''Brien%'"
        );
    }

    #[test]
    fn a_placeholder_between_quotes_gets_the_inside_of_a_literal() {
        let day = ["2024-02-01"];
        for kind in [EngineKind::Postgres, EngineKind::MySql, EngineKind::Sqlite] {
            assert_eq!(
                render("day = '{1}'", &day, kind),
                render("day = {1}", &day, kind)
            );
            assert_eq!(render("n = '{1}'", &["7"], kind), "n = '7'");
        }
        assert_eq!(
            render("a = 'x{1}y' AND b = {1}", &["o'k"], EngineKind::Postgres),
            "a = 'xo''ky' AND b = 'o''k'"
        );
        assert_eq!(
            render("a = '{1}'", &["\\' OR 1=1 --"], EngineKind::MySql),
            "a = '\\\\'' OR 1=1 --'"
        );
        // A quote written inside a literal does not end it.
        assert_eq!(
            render("a = 'it''s {1}' AND b = {1}", &["v"], EngineKind::Sqlite),
            "a = 'it''s v' AND b = 'v'"
        );
        assert_eq!(
            render("a = 'it\\'s {1}' AND b = {1}", &["v"], EngineKind::MySql),
            "a = 'it\\'s v' AND b = 'v'"
        );
        assert_eq!(
            render("a = '{1}'", &["{1}"], EngineKind::Postgres),
            "a = '{1}'"
        );
    }
}
