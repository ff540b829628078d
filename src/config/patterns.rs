//! Table-name patterns, as pgsync users write them: `orders_*`, `public.*`, `*`.
//!
//! `*` stands for any run of characters and `?` for one; everything else is itself, compared
//! case-sensitively, as table names are taken literally everywhere else. A name is matched in the
//! form a job file writes it (and `dbdelta init` lists it): on PostgreSQL bare for a table in
//! `public` and `schema.table` elsewhere. A pattern with a `.` is matched against `schema.table`
//! (a table in `public` as `public.table`), so `public.*` covers `public` and `*.orders` every
//! schema's `orders`; a pattern without one covers only tables named without a schema, as an
//! unqualified name does. The same matching decides `exclude`.

use super::EngineKind;

/// Whether a name is a pattern rather than one table's name.
pub fn is_pattern(name: &str) -> bool {
    name.contains(['*', '?'])
}

/// Whether `pattern` (or a plain name) covers the table `name` of a `kind` source.
pub(super) fn covers(pattern: &str, name: &str, kind: EngineKind) -> bool {
    if kind != EngineKind::Postgres {
        return glob(pattern, name);
    }
    // `public.orders` written out and `orders` are the same table.
    let name = name.strip_prefix("public.").unwrap_or(name);
    match (pattern.contains('.'), name.contains('.')) {
        (true, true) => glob(pattern, name),
        (true, false) => glob(pattern, &format!("public.{name}")),
        (false, true) => false,
        (false, false) => glob(pattern, name),
    }
}

/// How specific a pattern is: its characters that are not wildcards. Among the patterns covering
/// a table, the most specific gives its settings, as with data rules.
pub(super) fn specificity(pattern: &str) -> usize {
    pattern.chars().filter(|c| !matches!(c, '*' | '?')).count()
}

/// `*` any run of characters, `?` exactly one, the rest literally. Backtracks only to the last
/// `*`, so it runs in time proportional to the product of the lengths at worst.
fn glob(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    // The last `*` seen, and the text position it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                // Let the last `*` take one more character and try again from there.
                Some((star_p, star_t)) => {
                    star = Some((star_p, star_t + 1));
                    p = star_p + 1;
                    t = star_t + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_and_question_marks() {
        assert!(glob("orders_*", "orders_2024"));
        assert!(glob("orders_*", "orders_"));
        assert!(!glob("orders_*", "orders"));
        assert!(glob("*", ""));
        assert!(glob("*_log", "audit_log"));
        assert!(glob("a*b*c", "aXbYbZc"));
        assert!(!glob("a*b*c", "aXbYbZ"));
        assert!(glob("t?", "t1"));
        assert!(!glob("t?", "t"));
        assert!(!glob("t?", "t12"));
        assert!(glob("ü?", "üß"));
        assert!(!glob("Orders", "orders"), "case-sensitive");
    }

    #[test]
    fn postgres_patterns_follow_the_schema() {
        let pg = EngineKind::Postgres;
        assert!(covers("public.*", "orders", pg));
        assert!(covers("public.*", "public.orders", pg));
        assert!(!covers("public.*", "audit.log", pg));
        assert!(covers("audit.*", "audit.log", pg));
        assert!(covers("*.orders", "orders", pg));
        assert!(covers("*.orders", "audit.orders", pg));
        assert!(covers("*", "orders", pg));
        assert!(!covers("*", "audit.log", pg), "unqualified: public only");
        assert!(covers("orders", "public.orders", pg));
        assert!(covers("*", "t.x", EngineKind::Sqlite));
        assert!(!covers("main.*", "t", EngineKind::Sqlite));
    }

    #[test]
    fn more_literal_characters_are_more_specific() {
        assert!(specificity("orders_*") > specificity("*"));
        assert_eq!(specificity("o?d*"), 2);
    }
}
