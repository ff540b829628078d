//! The job file (`sync.toml`): its serde types, `${VAR}` expansion, and validation that points at
//! the line a user must fix.
//!
//! Parsing happens in two steps. `toml` turns the text into [`JobFile`], rejecting unknown keys and
//! wrong types with a line and column. [`Job::load`] then checks what serde cannot (sizes, duplicate
//! tables, URL schemes), expands `${VAR}` in URLs from the environment, and resolves SQLite paths
//! relative to the job file. Expansion happens after parsing on purpose: TOML errors quote the
//! offending line, and that line must never contain a secret taken from the environment.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use toml::Spanned;

pub const DEFAULT_CHUNK_SIZE: u64 = 10_000;
pub const DEFAULT_JOBS: usize = 4;
/// More concurrent chunks than this only queue up on the servers.
pub const MAX_JOBS: usize = 1024;

/// The job file exactly as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobFile {
    pub source: EndpointFile,
    pub target: EndpointFile,
    #[serde(default)]
    pub defaults: DefaultsFile,
    #[serde(default)]
    pub tables: Vec<TableFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointFile {
    pub url: Spanned<String>,
    /// Accepted now so that job files written for later versions keep parsing; every target is
    /// accepted until the safety rules land.
    #[serde(default)]
    pub allow_remote: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultsFile {
    pub chunk_size: Option<Spanned<i64>>,
    pub jobs: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableFile {
    pub name: Spanned<String>,
    pub key: Option<KeyFile>,
    pub chunk_size: Option<Spanned<i64>>,
    /// SQL condition selecting the subset, applied to both sides.
    #[serde(rename = "where")]
    pub filter: Option<String>,
    pub columns: Option<Vec<String>>,
    #[serde(default)]
    pub exclude_columns: Vec<String>,
    /// The target table's name when it differs from the source's.
    pub target: Option<String>,
    #[serde(default)]
    pub mode: Mode,
}

/// What a sync may do to the target's subset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Insert, update and delete until the subset equals the source's.
    #[default]
    Sync,
    /// Insert and update; never delete.
    Upsert,
    /// Only insert rows missing from the target.
    InsertOnly,
    /// Empty the target's subset, then copy the source's, without comparing.
    Truncate,
}

/// `key = "id"` or `key = ["tenant_id", "id"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum KeyFile {
    One(String),
    Many(Vec<String>),
}

/// Which database product a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    Postgres,
    MySql,
    Sqlite,
}

impl std::fmt::Display for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EngineKind::Postgres => "PostgreSQL",
            EngineKind::MySql => "MySQL/MariaDB",
            EngineKind::Sqlite => "SQLite",
        })
    }
}

/// A database location with its secret kept apart from what may be shown.
#[derive(Clone)]
pub struct DbUrl {
    pub engine: EngineKind,
    /// The URL to connect with, `${VAR}`s expanded; may contain a password, never print it.
    secret: String,
    /// The URL with any password replaced by `***`: the only form that appears in output.
    pub display: String,
    /// For SQLite, the database file, resolved against the job file's folder.
    pub sqlite_path: Option<PathBuf>,
}

impl std::fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display)
    }
}

impl DbUrl {
    /// Parses a URL as written in a job file (after `${VAR}` expansion). `base` is the folder that
    /// relative SQLite paths are relative to.
    pub fn parse(url: &str, base: &Path) -> Result<DbUrl> {
        let Some((scheme, rest)) = url.split_once(':') else {
            bail!(
                "database URL {} has no scheme: start it with postgres://, mysql://, mariadb:// or sqlite://",
                redact_unparsed(url)
            );
        };
        let scheme = scheme.to_ascii_lowercase();
        let engine = match scheme.as_str() {
            "postgres" | "postgresql" => EngineKind::Postgres,
            "mysql" | "mariadb" => EngineKind::MySql,
            "sqlite" => EngineKind::Sqlite,
            _ => bail!(
                "unsupported database URL scheme {:?}: use postgres://, mysql://, mariadb:// or sqlite://",
                scheme
            ),
        };
        if engine == EngineKind::Sqlite {
            let path_text = rest.strip_prefix("//").unwrap_or(rest);
            let path_text = path_text.split('?').next().unwrap_or_default();
            if path_text.is_empty() {
                bail!("SQLite URL {url:?} names no file: write sqlite://path/to/file.db");
            }
            let path = Path::new(path_text);
            let path = if path.is_absolute() {
                path.to_path_buf()
            } else {
                base.join(path)
            };
            return Ok(DbUrl {
                engine,
                secret: url.to_string(),
                display: format!("sqlite://{}", path.display()),
                sqlite_path: Some(path),
            });
        }
        // sqlx wants `mysql://`; accept the product name too.
        let normalized = match scheme.as_str() {
            "mariadb" => format!("mysql:{rest}"),
            _ => url.to_string(),
        };
        let mut parsed = url::Url::parse(&normalized)
            .map_err(|e| anyhow::anyhow!("invalid database URL {}: {e}", redact_unparsed(url)))?;
        if parsed.host_str().is_none() {
            bail!("database URL {} names no host", redact_unparsed(url));
        }
        if parsed.password().is_some() {
            // Cannot fail: the URL has a host, so it can carry credentials.
            let _ = parsed.set_password(Some("***"));
        }
        Ok(DbUrl {
            engine,
            secret: normalized,
            display: parsed.to_string(),
            sqlite_path: None,
        })
    }

    /// The connection string, password included. Only the engine layer calls this.
    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }
}

/// A URL that failed to parse may still hold a password: hide everything between `://` and `@`.
fn redact_unparsed(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(start), Some(at)) if at > start => {
            format!("{}://***@{}", &url[..start], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// One table of a job, with defaults applied.
#[derive(Debug, Clone)]
pub struct TableJob {
    /// The name as written: `schema.table` or `table`, taken literally (case-sensitive).
    pub name: String,
    /// The target table's name (the same as `name` unless `target =` says otherwise).
    pub target_name: String,
    /// Explicit key columns; `None` means the table's primary key.
    pub key: Option<Vec<String>>,
    pub chunk_size: u64,
    /// The subset condition (SQL), applied to both sides; `None` is the whole table.
    pub filter: Option<String>,
    /// Only these columns (`None`: all shared columns).
    pub columns: Option<Vec<String>>,
    pub exclude_columns: Vec<String>,
    pub mode: Mode,
}

impl TableJob {
    /// A table named only on the command line: every setting at its default.
    pub fn with_defaults(name: &str, chunk_size: u64) -> TableJob {
        TableJob {
            name: name.to_string(),
            target_name: name.to_string(),
            key: None,
            chunk_size,
            filter: None,
            columns: None,
            exclude_columns: Vec::new(),
            mode: Mode::Sync,
        }
    }
}

/// A validated job, ready to run.
#[derive(Debug, Clone)]
pub struct Job {
    pub path: PathBuf,
    pub source: DbUrl,
    pub target: DbUrl,
    pub jobs: usize,
    pub tables: Vec<TableJob>,
}

/// Command-line values that take precedence over the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub jobs: Option<usize>,
    pub chunk_size: Option<u64>,
    /// Only these tables, in this order, each with an optional one-off subset condition that
    /// replaces the file's `where`. A table the file does not list gets the defaults.
    pub tables: Vec<(String, Option<String>)>,
}

impl Job {
    /// Reads, parses and validates a job file.
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Job> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read job file {}", path.display()))?;
        Job::parse(&text, path, overrides)
    }

    /// Parses job-file text; `path` names the file in messages and anchors relative SQLite paths.
    pub fn parse(text: &str, path: &Path, overrides: &Overrides) -> Result<Job> {
        let file: JobFile = toml::from_str(text).map_err(|e| {
            anyhow::anyhow!("{}: {}", path.display(), describe_toml_error(&e, text))
        })?;
        let at = |span: std::ops::Range<usize>| {
            format!("{}:{}", path.display(), line_of(text, span.start))
        };
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));

        let positive =
            |value: &Option<Spanned<i64>>, what: &str, limit: i64| -> Result<Option<u64>> {
                match value {
                    None => Ok(None),
                    Some(v) if (1..=limit).contains(v.get_ref()) => Ok(Some(*v.get_ref() as u64)),
                    Some(v) if limit == i64::MAX => {
                        bail!(
                            "{}: {what} must be a positive number, got {}",
                            at(v.span()),
                            v.get_ref()
                        )
                    }
                    Some(v) => bail!(
                        "{}: {what} must be a number from 1 to {limit}, got {}",
                        at(v.span()),
                        v.get_ref()
                    ),
                }
            };
        let default_chunk = overrides
            .chunk_size
            .or(positive(&file.defaults.chunk_size, "chunk_size", i64::MAX)?)
            .unwrap_or(DEFAULT_CHUNK_SIZE);
        let jobs = match overrides.jobs {
            Some(j) => j,
            None => positive(&file.defaults.jobs, "jobs", MAX_JOBS as i64)?
                .map(|j| j as usize)
                .unwrap_or(DEFAULT_JOBS),
        };
        if jobs == 0 || overrides.chunk_size == Some(0) {
            bail!("--jobs and --chunk-size must be positive numbers");
        }

        let endpoint = |e: &EndpointFile, side: &str| -> Result<DbUrl> {
            let expanded = expand_env(e.url.get_ref())
                .with_context(|| format!("{}: [{side}] url", at(e.url.span())))?;
            DbUrl::parse(&expanded, &base)
                .with_context(|| format!("{}: [{side}] url", at(e.url.span())))
        };
        let source = endpoint(&file.source, "source")?;
        let target = endpoint(&file.target, "target")?;

        if file.tables.is_empty() && overrides.tables.is_empty() {
            bail!(
                "{}: no [[tables]] to sync: add at least one [[tables]] entry with a name",
                path.display()
            );
        }
        let mut seen = HashSet::new();
        let mut tables = Vec::new();
        for t in &file.tables {
            let name = t.name.get_ref().trim().to_string();
            if name.is_empty() {
                bail!("{}: table name is empty", at(t.name.span()));
            }
            if !seen.insert(name.clone()) {
                bail!("{}: table {name:?} is listed twice", at(t.name.span()));
            }
            let key = match &t.key {
                None => None,
                Some(KeyFile::One(k)) => Some(vec![k.clone()]),
                Some(KeyFile::Many(ks)) => Some(ks.clone()),
            };
            if let Some(k) = &key {
                if k.is_empty() || k.iter().any(|c| c.trim().is_empty()) {
                    bail!(
                        "{}: table {name:?} has an empty key column name",
                        at(t.name.span())
                    );
                }
            }
            let chunk_size = overrides
                .chunk_size
                .or(positive(&t.chunk_size, "chunk_size", i64::MAX)?)
                .unwrap_or(default_chunk);
            let blank = |s: &str| s.trim().is_empty();
            if t.filter.as_deref().is_some_and(blank) {
                bail!("{}: table {name:?} has an empty `where`", at(t.name.span()));
            }
            if t.columns
                .as_ref()
                .is_some_and(|c| c.is_empty() || c.iter().any(|c| blank(c)))
            {
                bail!(
                    "{}: table {name:?}: `columns` must list column names",
                    at(t.name.span())
                );
            }
            let target_name = match &t.target {
                Some(target) if blank(target) => bail!(
                    "{}: table {name:?} has an empty `target`",
                    at(t.name.span())
                ),
                Some(target) => target.trim().to_string(),
                None => name.clone(),
            };
            tables.push(TableJob {
                target_name,
                key,
                chunk_size,
                filter: t.filter.clone(),
                columns: t.columns.clone(),
                exclude_columns: t.exclude_columns.clone(),
                mode: t.mode,
                name,
            });
        }

        if !overrides.tables.is_empty() {
            let mut chosen = Vec::new();
            for (wanted, filter) in &overrides.tables {
                // A table the file does not list is synced with the defaults, as in pgsync.
                let mut t = tables
                    .iter()
                    .find(|t| &t.name == wanted)
                    .cloned()
                    .unwrap_or_else(|| {
                        TableJob::with_defaults(
                            wanted,
                            overrides.chunk_size.unwrap_or(default_chunk),
                        )
                    });
                if let Some(filter) = filter {
                    t.filter = Some(filter.clone());
                }
                chosen.push(t);
            }
            tables = chosen;
        }

        Ok(Job {
            path: path.to_path_buf(),
            source,
            target,
            jobs,
            tables,
        })
    }
}

/// The 1-based line number of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// A TOML error as "line L, column C: message", without echoing the source line.
fn describe_toml_error(e: &toml::de::Error, text: &str) -> String {
    let message = e.message().trim();
    match e.span() {
        Some(span) => {
            let start = span.start.min(text.len());
            let line = line_of(text, start);
            let column = start - text[..start].rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message.to_string(),
    }
}

/// Replaces every `${NAME}` with the environment variable NAME; an unset variable is an error
/// that names it.
pub fn expand_env(text: &str) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            bail!("unterminated ${{ in {:?}", redact_unparsed(text));
        };
        let name = &after[..end];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            bail!("invalid variable name ${{{name}}}");
        }
        let value = std::env::var(name)
            .map_err(|_| anyhow::anyhow!("environment variable {name} is not set"))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Job> {
        Job::parse(text, Path::new("/jobs/sync.toml"), &Overrides::default())
    }

    const MINIMAL: &str = "[source]\nurl = \"sqlite://a.db\"\n[target]\nurl = \"sqlite:///tmp/b.db\"\n[[tables]]\nname = \"t\"\n";

    #[test]
    fn relative_sqlite_paths_follow_the_job_file() {
        let job = parse(MINIMAL).unwrap();
        assert_eq!(
            job.source.sqlite_path.as_deref(),
            Some(Path::new("/jobs/a.db"))
        );
        assert_eq!(
            job.target.sqlite_path.as_deref(),
            Some(Path::new("/tmp/b.db"))
        );
        assert_eq!(job.tables[0].chunk_size, DEFAULT_CHUNK_SIZE);
        assert_eq!(job.jobs, DEFAULT_JOBS);
    }

    #[test]
    fn unknown_keys_name_key_and_line() {
        let err = parse(&format!("{MINIMAL}chunk_sise = 5\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 7"), "{err}");
        assert!(err.contains("chunk_sise"), "{err}");
    }

    #[test]
    fn zero_chunk_size_is_refused_with_its_line() {
        let err = parse(&format!("{MINIMAL}chunk_size = 0\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("sync.toml:7"), "{err}");
    }

    #[test]
    fn passwords_are_redacted_for_display() {
        let url = DbUrl::parse("postgres://app:s3cret@db:5432/app", Path::new(".")).unwrap();
        assert_eq!(url.display, "postgres://app:***@db:5432/app");
        assert!(!format!("{url:?}").contains("s3cret"));
        assert_eq!(
            redact_unparsed("mysql://u:s3cret@h:bad/x"),
            "mysql://***@h:bad/x"
        );
    }

    #[test]
    fn urls_without_scheme_are_refused() {
        assert!(DbUrl::parse("sqlite", Path::new(".")).is_err());
        assert!(DbUrl::parse("oracle://x/y", Path::new(".")).is_err());
    }

    #[test]
    fn unset_variables_are_named() {
        let err = expand_env("postgres://u:${DBDELTA_SURELY_UNSET}@h/db").unwrap_err();
        assert!(err.to_string().contains("DBDELTA_SURELY_UNSET"));
    }

    #[test]
    fn duplicate_tables_are_refused() {
        let err = parse(&format!("{MINIMAL}[[tables]]\nname = \"t\"\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("listed twice"), "{err}");
    }
}
