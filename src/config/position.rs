//! Positions in the job file, so that every message points at the line a user must fix.
//!
//! Messages quote positions, never the text at them: a line of the file may hold a password.

use std::path::Path;

/// The job file's text and path, for messages that point into it.
#[derive(Debug, Clone, Copy)]
pub struct JobText<'a> {
    pub text: &'a str,
    pub path: &'a Path,
}

impl<'a> JobText<'a> {
    pub fn new(text: &'a str, path: &'a Path) -> JobText<'a> {
        JobText { text, path }
    }

    /// `path:line` of a byte offset, for a value that must change.
    pub fn line_at(&self, offset: usize) -> String {
        format!("{}:{}", self.path.display(), line_of(self.text, offset))
    }

    /// `path:line:column` of a byte offset, for a value inside a longer line.
    pub fn column_at(&self, offset: usize) -> String {
        let (line, column) = position(self.text, offset);
        format!("{}:{line}:{column}", self.path.display())
    }

    /// A TOML error as "path: line L, column C: message", without echoing the source line.
    pub fn toml_error(&self, e: &toml::de::Error) -> anyhow::Error {
        let mut message = e.message().trim().to_string();
        // TOML puts a key under the last [section] above it: these two belong before [source].
        for top_level in ["exclude", "data_rules_seed"] {
            if message.starts_with(&format!("unknown field `{top_level}`")) {
                message.push_str(&format!(
                    " (`{top_level}` is a top-level key: put it before [source])"
                ));
            }
        }
        let described = match e.span() {
            Some(span) => {
                let (line, column) = position(self.text, span.start);
                format!("line {line}, column {column}: {message}")
            }
            None => message.to_string(),
        };
        anyhow::anyhow!("{}: {described}", self.path.display())
    }
}

/// The 1-based line number of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The 1-based line and column (in bytes) of a byte offset.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let start = offset.min(text.len());
    let column = start - text[..start].rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line_of(text, start), column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_columns() {
        let text = "a = 1\nbb = 2\n";
        let at = JobText::new(text, Path::new("/jobs/sync.toml"));
        assert_eq!(at.line_at(0), "/jobs/sync.toml:1");
        assert_eq!(at.column_at(11), "/jobs/sync.toml:2:6");
        assert_eq!(at.line_at(1000), "/jobs/sync.toml:3");
    }
}
