//! Where in a job file's SQL text a placeholder stands: in code, inside an ordinary string
//! literal, or somewhere no value may go (a comment, a quoted identifier, a PostgreSQL
//! dollar-quoted or `E'…'` string). A small lexer of exactly the tokens that change how the
//! characters after them are read, so that a value is only ever written where it stays data.

use super::EngineKind;

/// What the text at some position is part of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// SQL code: a value goes in as a whole literal.
    Code,
    /// Inside an ordinary `'…'` string: a value goes in escaped for inside that literal.
    Quoted,
    /// A comment, a quoted identifier, or a string whose escaping differs from the literals
    /// dbdelta writes: no value goes in.
    Elsewhere,
}

/// Splits `text` into pieces, each with its [`Context`]: consecutive characters of one context
/// form one piece. The quotes that open and close a string belong to the code around it.
pub fn pieces(text: &str, kind: EngineKind) -> Vec<(Context, &str)> {
    let mut lexer = Lexer {
        text,
        kind,
        pieces: Vec::new(),
        start: 0,
    };
    lexer.run();
    lexer.pieces
}

struct Lexer<'t> {
    text: &'t str,
    kind: EngineKind,
    pieces: Vec<(Context, &'t str)>,
    /// Where the current code piece began.
    start: usize,
}

impl<'t> Lexer<'t> {
    fn run(&mut self) {
        let bytes = self.text.as_bytes();
        let mut at = 0;
        while at < bytes.len() {
            // Bytes, not characters: every token that matters is ASCII, and a multi-byte
            // character never holds an ASCII byte, so the text is only sliced at ASCII bytes.
            let rest = &bytes[at..];
            let mysql = self.kind == EngineKind::MySql;
            let postgres = self.kind == EngineKind::Postgres;
            at = match bytes[at] {
                b'\'' if postgres && escape_string_prefix(bytes, at) => {
                    // `E'…'`: backslash escapes, unlike the literals dbdelta writes.
                    self.enclosed(at, at + 1, b'\'', true, Context::Elsewhere)
                }
                b'\'' => self.enclosed(at, at + 1, b'\'', mysql, Context::Quoted),
                b'"' => self.enclosed(at, at + 1, b'"', mysql, Context::Elsewhere),
                b'`' if !postgres => self.enclosed(at, at + 1, b'`', false, Context::Elsewhere),
                b'-' if rest.starts_with(b"--") => self.until(at, "\n"),
                b'#' if mysql => self.until(at, "\n"),
                b'/' if rest.starts_with(b"/*") => self.until(at, "*/"),
                b'$' if postgres => match dollar_tag(&self.text[at..]) {
                    Some(tag) => self.dollar_quoted(at, tag),
                    None => at + 1,
                },
                _ => at + 1,
            };
        }
        self.code_until(bytes.len());
    }

    /// Ends the code piece at `end`.
    fn code_until(&mut self, end: usize) {
        if end > self.start {
            self.pieces
                .push((Context::Code, &self.text[self.start..end]));
        }
        self.start = end;
    }

    /// A string or identifier opened at `open` whose content starts at `from` and ends at the
    /// first `close` not doubled (nor, with `backslashes`, escaped); returns where code resumes.
    fn enclosed(
        &mut self,
        open: usize,
        from: usize,
        close: u8,
        backslashes: bool,
        inside: Context,
    ) -> usize {
        let bytes = self.text.as_bytes();
        let mut at = from;
        while at < bytes.len() {
            match bytes[at] {
                b'\\' if backslashes => at += 2,
                b if b == close && bytes.get(at + 1) == Some(&close) => at += 2,
                b if b == close => break,
                _ => at += 1,
            }
        }
        let end = at.min(bytes.len());
        self.code_until(open + 1);
        if end > from {
            self.pieces.push((inside, &self.text[from..end]));
        }
        self.start = end;
        (end + 1).min(bytes.len())
    }

    /// A comment from `open` to the end of `terminator` (or of the text).
    fn until(&mut self, open: usize, terminator: &str) -> usize {
        let end = self.text[open..]
            .find(terminator)
            .map_or(self.text.len(), |i| open + i + terminator.len());
        self.code_until(open);
        self.pieces
            .push((Context::Elsewhere, &self.text[open..end]));
        self.start = end;
        end
    }

    /// A PostgreSQL dollar-quoted string `$tag$…$tag$` opened at `open`.
    fn dollar_quoted(&mut self, open: usize, tag: &str) -> usize {
        let body = open + tag.len();
        let end = self.text[body..]
            .find(tag)
            .map_or(self.text.len(), |i| body + i + tag.len());
        self.code_until(open);
        self.pieces
            .push((Context::Elsewhere, &self.text[open..end]));
        self.start = end;
        end
    }
}

/// Whether the quote at `at` opens a PostgreSQL `E'…'` string: an `E` just before it that is a
/// word of its own (`date'2024-01-01'` is a typed literal, not an escape string).
fn escape_string_prefix(bytes: &[u8], at: usize) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    at >= 1 && bytes[at - 1].eq_ignore_ascii_case(&b'e') && (at == 1 || !word(bytes[at - 2]))
}

/// The tag of a dollar quote starting `text` (`$$` or `$name$`); `None` for a parameter (`$1`)
/// or a lone `$`.
fn dollar_tag(text: &str) -> Option<&str> {
    let name_length = text[1..]
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    let starts_well = text[1..]
        .bytes()
        .next()
        .is_some_and(|b| b == b'$' || b.is_ascii_alphabetic() || b == b'_');
    (starts_well && text.as_bytes().get(1 + name_length) == Some(&b'$'))
        .then(|| &text[..name_length + 2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use Context::*;

    #[test]
    fn strings_comments_and_identifiers_are_told_apart() {
        let pg = pieces(
            "a = '{1}' -- it's\nAND \"x{1}\" = $$ {1} $$ AND e = E'\\'{1}' AND c = {1}",
            EngineKind::Postgres,
        );
        assert_eq!(
            pg,
            [
                (Code, "a = '"),
                (Quoted, "{1}"),
                (Code, "' "),
                (Elsewhere, "-- it's\n"),
                (Code, "AND \""),
                (Elsewhere, "x{1}"),
                (Code, "\" = "),
                (Elsewhere, "$$ {1} $$"),
                (Code, " AND e = E'"),
                (Elsewhere, "\\'{1}"),
                (Code, "' AND c = {1}"),
            ]
        );
        let my = pieces(
            "a = 'it''s \\' {1}' # {1}\n/* {1} */ AND `{1}` = {1}",
            EngineKind::MySql,
        );
        assert_eq!(
            my,
            [
                (Code, "a = '"),
                (Quoted, "it''s \\' {1}"),
                (Code, "' "),
                (Elsewhere, "# {1}\n"),
                (Elsewhere, "/* {1} */"),
                (Code, " AND `"),
                (Elsewhere, "{1}"),
                (Code, "` = {1}"),
            ]
        );
    }

    #[test]
    fn parameters_and_unclosed_quotes_do_not_break_the_lexer() {
        assert_eq!(
            pieces("d = date'{1}'", EngineKind::Postgres)[1],
            (Quoted, "{1}")
        );
        assert_eq!(pieces("a = $1", EngineKind::Postgres), [(Code, "a = $1")]);
        assert_eq!(
            pieces("a = 'open {1}", EngineKind::Sqlite),
            [(Code, "a = '"), (Quoted, "open {1}")]
        );
        assert_eq!(pieces("é = 'ü'", EngineKind::Sqlite).len(), 3);
    }
}
