//! What `create_missing` carries over beyond columns and keys, as each engine's introspection
//! reads it from the source: column defaults (sorted into the few kinds every engine can write),
//! columns the database numbers itself, comments, foreign keys and check constraints.

/// A column default, as the source's catalog spells it and as far as it is portable.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDefault {
    /// The catalog's own text (`nextval('t_id_seq'::regclass)`, `'x'::text`), for warnings.
    pub raw: String,
    pub value: DefaultValue,
}

/// The kinds of default every engine can write, and the rest.
#[derive(Debug, Clone, PartialEq)]
pub enum DefaultValue {
    /// A number literal, as written (`-1`, `2.50`).
    Number(String),
    /// A string literal's value (quotes removed, escapes resolved).
    Text(String),
    Bool(bool),
    /// The current date and time (`now()`, `CURRENT_TIMESTAMP`, `current_timestamp(6)`).
    CurrentTimestamp,
    /// The current date (`CURRENT_DATE`, `curdate()`).
    CurrentDate,
    /// Any other expression: not carried over.
    Expression,
}

/// A foreign key of a source table.
#[derive(Debug, Clone, PartialEq)]
pub struct ForeignKey {
    /// The constraint's name, where the engine keeps one.
    pub name: Option<String>,
    pub columns: Vec<String>,
    /// The referenced table as the source's catalog names it (bare, or `schema.table`).
    pub parent: String,
    /// The referenced columns; empty where the key references the parent's primary key
    /// without naming it (SQLite).
    pub parent_columns: Vec<String>,
}

/// Everything beyond columns and keys that a table's definition holds.
#[derive(Debug, Clone, Default)]
pub struct TableExtras {
    /// `(column, default)` for each column with a default other than NULL.
    pub defaults: Vec<(String, ColumnDefault)>,
    /// Columns whose values the database assigns itself: PostgreSQL `serial` and identity
    /// columns, MySQL `AUTO_INCREMENT`, SQLite's `INTEGER PRIMARY KEY` (the rowid).
    pub numbered: Vec<String>,
    /// The table's comment.
    pub comment: Option<String>,
    /// `(column, comment)`.
    pub column_comments: Vec<(String, String)>,
    pub foreign_keys: Vec<ForeignKey>,
    /// Check constraints, by name (or clause where they have none).
    pub checks: Vec<String>,
}

impl TableExtras {
    pub fn default_of(&self, column: &str) -> Option<&ColumnDefault> {
        self.defaults
            .iter()
            .find(|(c, _)| c == column)
            .map(|(_, d)| d)
    }

    pub fn comment_of(&self, column: &str) -> Option<&str> {
        self.column_comments
            .iter()
            .find(|(c, _)| c == column)
            .map(|(_, d)| d.as_str())
    }
}

/// Whether `text` is a plain decimal number literal (`-1`, `+2.50`, `1e3`, `.5`).
pub fn is_number(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match digits.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e.strip_prefix(['-', '+']).unwrap_or(e))),
        None => (digits, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    !(whole.is_empty() && fraction.is_empty())
        && all_digits(whole)
        && all_digits(fraction)
        && exponent.is_none_or(|e| !e.is_empty() && all_digits(e))
}

/// The value of a single-quoted SQL string literal that makes up all of `text` (`''` inside
/// stands for `'`), and what follows its closing quote; `None` when `text` starts otherwise.
pub fn quoted_literal(text: &str) -> Option<(String, &str)> {
    let mut rest = text.strip_prefix('\'')?;
    let mut value = String::new();
    loop {
        let end = rest.find('\'')?;
        value.push_str(&rest[..end]);
        rest = &rest[end + 1..];
        match rest.strip_prefix('\'') {
            Some(after) => {
                value.push('\'');
                rest = after;
            }
            None => return Some((value, rest)),
        }
    }
}

/// The current date, time or literal a default common to several engines spells: numbers,
/// `TRUE`/`FALSE`, `CURRENT_TIMESTAMP`/`CURRENT_DATE` and their function forms; `None` for
/// anything else (each engine reads its own string literals).
pub fn common_default(text: &str) -> Option<DefaultValue> {
    let lower = text.trim().to_ascii_lowercase();
    let bare = unwrap_parentheses(&lower);
    if is_number(bare) {
        return Some(DefaultValue::Number(bare.to_string()));
    }
    match bare {
        "datetime('now')" => return Some(DefaultValue::CurrentTimestamp),
        "date('now')" => return Some(DefaultValue::CurrentDate),
        _ => {}
    }
    // Precision arguments (`current_timestamp(6)`, `now(3)`) do not change what is meant; any
    // other text after the name (`now() + interval '1 day'`) does.
    let name = match bare.split_once('(') {
        Some((name, rest))
            if rest
                .strip_suffix(')')
                .is_some_and(|digits| digits.bytes().all(|b| b.is_ascii_digit())) =>
        {
            name.trim()
        }
        Some(_) => return None,
        None => bare.trim(),
    };
    Some(match name {
        "true" => DefaultValue::Bool(true),
        "false" => DefaultValue::Bool(false),
        "now"
        | "current_timestamp"
        | "localtimestamp"
        | "transaction_timestamp"
        | "statement_timestamp" => DefaultValue::CurrentTimestamp,
        "current_date" | "curdate" => DefaultValue::CurrentDate,
        _ => return None,
    })
}

/// `text` without the parentheses that enclose all of it (`((-1))` → `-1`).
fn unwrap_parentheses(mut text: &str) -> &str {
    while let Some(inner) = text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        let mut depth = 0i32;
        let balanced = inner.chars().all(|c| {
            depth += match c {
                '(' => 1,
                ')' => -1,
                _ => 0,
            };
            depth >= 0
        });
        if !balanced || depth != 0 {
            break;
        }
        text = inner.trim();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_literals_are_recognised() {
        for n in ["0", "-1", "+2.50", "1e3", ".5", "3."] {
            assert!(is_number(n), "{n}");
        }
        for n in ["", "-", "1e", "a", "1.2.3", "0x10"] {
            assert!(!is_number(n), "{n}");
        }
        assert_eq!(
            quoted_literal("'it''s'::text"),
            Some(("it's".to_string(), "::text"))
        );
        assert_eq!(quoted_literal("now()"), None);
        assert_eq!(
            common_default("current_timestamp(6)"),
            Some(DefaultValue::CurrentTimestamp)
        );
        assert_eq!(
            common_default("(-1)"),
            Some(DefaultValue::Number("-1".into()))
        );
        assert_eq!(
            common_default("(datetime('now'))"),
            Some(DefaultValue::CurrentTimestamp)
        );
        assert_eq!(common_default("uuid()"), None);
        assert_eq!(common_default("(now() + '1 day'::interval)"), None);
        assert_eq!(
            common_default("now()"),
            Some(DefaultValue::CurrentTimestamp)
        );
    }
}
