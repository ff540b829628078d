//! The job file (`sync.toml`): its serde types, `${VAR}` expansion, and validation that points at
//! the line a user must fix.
//!
//! Parsing happens in two steps. `toml` turns the text into [`JobFile`], rejecting unknown keys and
//! wrong types with a line and column. [`Job::load`] then checks what serde cannot (sizes, duplicate
//! tables, URL schemes), expands `${VAR}` in URLs from the environment, and resolves SQLite paths
//! relative to the job file. Expansion happens after parsing on purpose: TOML errors quote the
//! offending line, and that line must never contain a secret taken from the environment.

use crate::engine::redact_unparsed;
pub use crate::engine::{DbUrl, EngineKind};
use crate::rules::{DataRules, Rule, RuleSpec, Seed, Target};
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use toml::Spanned;

pub const DEFAULT_CHUNK_SIZE: u64 = 10_000;
pub const DEFAULT_JOBS: usize = 4;
/// How long `sync` waits for an overlapping run (a cron job that ran long) by default.
pub const DEFAULT_LOCK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
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
    /// Named sets of tables with a shared subset: `dbdelta sync tenant:42`.
    #[serde(default)]
    pub groups: std::collections::BTreeMap<String, GroupFile>,
    /// Values replaced while copying: column, `table.column` or pattern → rule.
    #[serde(default)]
    pub data_rules: std::collections::BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    /// The secret the data rules are keyed with; `${VAR}` is expanded as in URLs.
    pub data_rules_seed: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupFile {
    pub tables: Vec<String>,
    /// The subset of every table in the group; `{1}` is the value after the colon.
    #[serde(rename = "where")]
    pub filter: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointFile {
    pub url: Spanned<String>,
    /// Accepted now so that job files written for later versions keep parsing; every target is
    /// accepted until the safety rules land.
    #[serde(default)]
    pub allow_remote: bool,
    /// At most this many connections to this side (default: `jobs + 1`); with fewer than
    /// `jobs`, fewer chunks run at once.
    pub max_connections: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultsFile {
    pub chunk_size: Option<Spanned<i64>>,
    pub jobs: Option<Spanned<i64>>,
    /// Create target tables that do not exist, from the source's columns and key.
    pub create_missing: Option<bool>,
    /// Write the whole run in one target transaction with foreign keys checked at commit.
    #[serde(default)]
    pub defer_constraints: bool,
    /// Turn foreign key checks off in the target sessions.
    #[serde(default)]
    pub disable_integrity: bool,
    /// After a sync, advance target sequences past the copied keys (default true).
    pub sequences: Option<bool>,
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
    pub create_missing: Option<bool>,
    /// A query whose rows are the source (then `name` is the target table).
    pub query: Option<String>,
    /// With `query`: which target rows the query owns (default: the whole target table).
    pub target_where: Option<String>,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Sync => "sync",
            Mode::Upsert => "upsert",
            Mode::InsertOnly => "insert-only",
            Mode::Truncate => "truncate",
        })
    }
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
    /// Create the target table from the source's definition when it does not exist.
    pub create_missing: bool,
    /// The source query, when the source is a query rather than the table `name`.
    pub query: Option<String>,
    /// With `query`: the target rows the query owns.
    pub target_where: Option<String>,
    /// Values for `{1}`, `{2}`, … in `filter`, `query` and `target_where`, inserted as SQL
    /// literals of each side's engine (see [`render_sql`]).
    pub args: Vec<String>,
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
            create_missing: false,
            query: None,
            target_where: None,
            args: Vec::new(),
        }
    }

    /// The subset conditions of the source and the target, and the source query, rendered for
    /// the engines of each side.
    pub fn render(&self, source: EngineKind, target: EngineKind) -> RenderedSubset {
        let render =
            |text: &Option<String>, kind| text.as_deref().map(|t| render_sql(t, &self.args, kind));
        match &self.query {
            Some(_) => RenderedSubset {
                source_filter: None,
                target_filter: render(&self.target_where, target),
                source_query: render(&self.query, source),
            },
            None => RenderedSubset {
                source_filter: render(&self.filter, source),
                target_filter: render(&self.filter, target),
                source_query: None,
            },
        }
    }
}

/// A table's subset as SQL for each side.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedSubset {
    pub source_filter: Option<String>,
    pub target_filter: Option<String>,
    pub source_query: Option<String>,
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
    kind.dialect().string_literal(value)
}

/// A validated job, ready to run.
#[derive(Debug, Clone)]
pub struct Job {
    pub path: PathBuf,
    pub source: DbUrl,
    pub target: DbUrl,
    /// Writing to a target that is not on this machine was allowed (file or command line).
    pub allow_remote: bool,
    /// How long `sync` waits for another run's lock on a target table.
    pub lock_timeout: std::time::Duration,
    /// A pause after every chunk (zero: none).
    pub sleep: std::time::Duration,
    pub jobs: usize,
    /// At most this many connections to the source (`[source] max_connections`).
    pub source_connections: Option<usize>,
    /// How the target's foreign keys are treated while writing.
    pub integrity: Integrity,
    /// After a sync, advance the target's sequences past the copied keys.
    pub sequences: bool,
    pub tables: Vec<TableJob>,
    /// The file's groups: name, tables, `where` template.
    pub groups: Vec<(String, Vec<String>, Option<String>)>,
    /// `[data_rules]` with their seed.
    pub data_rules: DataRules,
}

/// How foreign keys on the target are treated while a run writes (see `sync.rs`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Integrity {
    /// Checked as usual; tables are written in dependency order.
    #[default]
    Enforce,
    /// `--defer-constraints`: one transaction for the whole run, checked at commit.
    Defer,
    /// `--disable-integrity`: not checked at all in dbdelta's target sessions.
    Disable,
}

/// Command-line values that take precedence over the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--allow-remote`: write to a target that is not on this machine.
    pub allow_remote: bool,
    /// `--lock-timeout`: how long to wait for another run's lock on a target table.
    pub lock_timeout: Option<std::time::Duration>,
    /// `--sleep`: a pause after every chunk, to be gentle with a busy production server.
    pub sleep: Option<std::time::Duration>,
    pub jobs: Option<usize>,
    pub chunk_size: Option<u64>,
    /// `--source-connections`: at most this many connections to the source.
    pub source_connections: Option<usize>,
    /// `--defer-constraints` / `--disable-integrity`.
    pub integrity: Option<Integrity>,
    /// `--no-sequences`: leave the target's sequences alone.
    pub no_sequences: bool,
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
        let data_rules = data_rules(&file, text, path)?;

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
            let here = at(t.name.span());
            match (&t.query, &t.filter, &t.target, &t.target_where) {
                (Some(q), _, _, _) if blank(q) => bail!("{here}: table {name:?} has an empty `query`"),
                (Some(_), Some(_), _, _) => bail!(
                    "{here}: table {name:?} has both `query` and `where`: put the source's condition \
                     in the query and the target's in `target_where`"
                ),
                (Some(_), _, Some(_), _) => bail!(
                    "{here}: table {name:?} has both `query` and `target`: with a query, `name` is the target table"
                ),
                (Some(_), _, _, _) if key.is_none() => {
                    bail!("{here}: table {name:?} has a `query`, so it needs `key = \"column\"`")
                }
                (None, _, _, Some(_)) => {
                    bail!("{here}: table {name:?} has `target_where` but no `query`; use `where`")
                }
                _ => {}
            }
            tables.push(TableJob {
                target_name,
                key,
                chunk_size,
                filter: t.filter.clone(),
                columns: t.columns.clone(),
                exclude_columns: t.exclude_columns.clone(),
                mode: t.mode,
                create_missing: t
                    .create_missing
                    .or(file.defaults.create_missing)
                    .unwrap_or(false),
                query: t.query.clone(),
                target_where: t.target_where.clone(),
                args: Vec::new(),
                name,
            });
        }
        for (group, g) in &file.groups {
            if g.tables.is_empty() {
                bail!("{}: group {group:?} lists no tables", path.display());
            }
        }

        if !overrides.tables.is_empty() {
            let mut chosen = Vec::new();
            let default_table = |name: &str| {
                tables
                    .iter()
                    .find(|t| t.name == name)
                    .cloned()
                    .unwrap_or_else(|| {
                        let mut t = TableJob::with_defaults(
                            name,
                            overrides.chunk_size.unwrap_or(default_chunk),
                        );
                        t.create_missing = file.defaults.create_missing.unwrap_or(false);
                        t
                    })
            };
            for (wanted, filter) in &overrides.tables {
                let (group_name, value) = match wanted.split_once(':') {
                    Some((g, v)) => (g, Some(v)),
                    None => (wanted.as_str(), None),
                };
                if let Some(group) = file.groups.get(group_name) {
                    if filter.is_some() {
                        bail!("group {group_name:?} takes a value (`{group_name}:VALUE`), not a `where`");
                    }
                    let needs_value = group.filter.as_deref().is_some_and(|f| f.contains("{1}"));
                    let args: Vec<String> = match (value, needs_value) {
                        (Some(v), true) => vec![v.to_string()],
                        (None, false) => Vec::new(),
                        (None, true) => bail!("group {group_name:?} needs a value: `{group_name}:VALUE`"),
                        (Some(_), false) => bail!("group {group_name:?} has no {{1}} in its `where`, so it takes no value"),
                    };
                    for name in &group.tables {
                        let mut t = default_table(name);
                        if t.query.is_none() {
                            t.filter = group.filter.clone().or(t.filter);
                        }
                        t.args = args.clone();
                        chosen.push(t);
                    }
                    continue;
                }
                // A table the file does not list is synced with the defaults, as in pgsync.
                let mut t = default_table(wanted);
                if let Some(filter) = filter {
                    if t.query.is_some() {
                        bail!("table {wanted:?} is defined by a query; a one-off `where` cannot apply to it");
                    }
                    t.filter = Some(filter.clone());
                }
                chosen.push(t);
            }
            tables = chosen;
        }

        let source_connections = match overrides.source_connections {
            Some(n) => Some(n),
            None => positive(
                &file.source.max_connections,
                "max_connections",
                MAX_JOBS as i64,
            )?
            .map(|n| n as usize),
        };
        let integrity = match (
            overrides.integrity,
            file.defaults.defer_constraints,
            file.defaults.disable_integrity,
        ) {
            (Some(chosen), _, _) => chosen,
            (None, true, true) => bail!(
                "{}: defer_constraints and disable_integrity exclude each other; choose one",
                path.display()
            ),
            (None, true, false) => Integrity::Defer,
            (None, false, true) => Integrity::Disable,
            (None, false, false) => Integrity::Enforce,
        };
        Ok(Job {
            path: path.to_path_buf(),
            source_connections,
            integrity,
            allow_remote: file.target.allow_remote || overrides.allow_remote,
            lock_timeout: overrides.lock_timeout.unwrap_or(DEFAULT_LOCK_TIMEOUT),
            sleep: overrides.sleep.unwrap_or_default(),
            source,
            target,
            jobs,
            sequences: file.defaults.sequences.unwrap_or(true) && !overrides.no_sequences,
            tables,
            groups: file
                .groups
                .iter()
                .map(|(name, g)| (name.clone(), g.tables.clone(), g.filter.clone()))
                .collect(),
            data_rules,
        })
    }

    /// How many chunks run at once: `jobs`, unless the source allows fewer connections (each
    /// chunk reads the source through one connection of its own).
    pub fn chunk_jobs(&self) -> usize {
        self.jobs
            .min(self.source_connections.unwrap_or(usize::MAX))
            .max(1)
    }

    /// The safety rules for writing: the target must be on this machine unless remote targets
    /// were allowed, no table may be synced onto itself, and the target must support the
    /// foreign-key handling asked for.
    pub fn check_writable(&self) -> Result<()> {
        if !self.target.is_local() && !self.allow_remote {
            bail!(
                "{}: the target {} is not on this machine; dbdelta writes to a remote database only \
                 with `allow_remote = true` in [target] or --allow-remote, so that a job file never \
                 writes into a production database by accident",
                self.path.display(),
                self.target.display
            );
        }
        if self.source.location() == self.target.location() {
            if let Some(t) = self
                .tables
                .iter()
                .find(|t| t.query.is_none() && t.name == t.target_name)
            {
                bail!(
                    "{}: source and target are the same database ({}), so table {} would be synced \
                     onto itself",
                    self.path.display(),
                    self.target.display,
                    t.name
                );
            }
        }
        if self.integrity == Integrity::Defer
            && self.target.engine.dialect().defer_constraints().is_none()
        {
            bail!(
                "{}: {} cannot defer foreign key checks (defer_constraints / \
                 --defer-constraints); use --disable-integrity to turn them off for dbdelta's \
                 sessions",
                self.path.display(),
                self.target.engine
            );
        }
        Ok(())
    }

    /// The tables and groups with their subsets as each side will run them, for `dbdelta list`.
    pub fn describe(&self) -> String {
        let mut out = format!(
            "source: {}\ntarget: {}\n",
            self.source.display, self.target.display
        );
        out.push_str("tables:\n");
        for t in &self.tables {
            let target = if t.target_name == t.name {
                String::new()
            } else {
                format!(" -> {}", t.target_name)
            };
            let key = t
                .key
                .as_ref()
                .map(|k| k.join(", "))
                .unwrap_or_else(|| "primary key".into());
            let mode = t.mode;
            out.push_str(&format!(
                "  {}{target}  key: {key}  mode: {mode}  chunk_size: {}\n",
                t.name, t.chunk_size
            ));
            let subset = t.render(self.source.engine, self.target.engine);
            if let Some(q) = &subset.source_query {
                out.push_str(&format!("    source query: {}\n", one_line(q)));
            }
            for (side, filter) in [
                ("source", &subset.source_filter),
                ("target", &subset.target_filter),
            ] {
                match filter {
                    Some(f) => out.push_str(&format!("    {side} where: {}\n", one_line(f))),
                    None if side == "target" || subset.source_query.is_none() => {
                        out.push_str(&format!("    {side} where: (all rows)\n"))
                    }
                    None => {}
                }
            }
            if let Some(columns) = &t.columns {
                out.push_str(&format!("    columns: {}\n", columns.join(", ")));
            }
            if !t.exclude_columns.is_empty() {
                out.push_str(&format!(
                    "    exclude_columns: {}\n",
                    t.exclude_columns.join(", ")
                ));
            }
        }
        if !self.data_rules.specs.is_empty() {
            out.push_str("data rules:\n");
            for spec in &self.data_rules.specs {
                out.push_str(&format!("  {} = {}\n", spec.written, spec.rule.name()));
            }
        }
        if !self.groups.is_empty() {
            out.push_str("groups:\n");
            for (name, tables, filter) in &self.groups {
                out.push_str(&format!("  {name}: {}\n", tables.join(", ")));
                if let Some(f) = filter {
                    out.push_str(&format!("    where: {}\n", one_line(f)));
                }
            }
        }
        out
    }
}

/// `[data_rules]` and `data_rules_seed`, each rule checked with the file position of a mistake.
fn data_rules(file: &JobFile, text: &str, path: &Path) -> Result<DataRules> {
    let at = |offset: usize| {
        let (line, column) = position(text, offset);
        format!("{}:{line}:{column}", path.display())
    };
    let mut specs = Vec::with_capacity(file.data_rules.len());
    for (key, rule) in &file.data_rules {
        let written = key.get_ref().trim();
        if written.is_empty() || written.starts_with('.') || written.ends_with('.') {
            bail!(
                "{}: [data_rules] key {written:?} must name a column, `table.column` or a pattern",
                at(key.span().start)
            );
        }
        let parsed = Rule::parse(rule.get_ref()).map_err(|why| {
            let hint = match rule.get_ref() {
                // `users.email = …` unquoted is a nested table in TOML.
                toml::Value::Table(t) if !t.contains_key("rule") && !t.contains_key("value") => {
                    format!(" (write a `table.column` key in quotes: \"{written}.…\" = …)")
                }
                _ => String::new(),
            };
            anyhow::anyhow!(
                "{}: [data_rules] {written:?}: {why}{hint}",
                at(rule.span().start)
            )
        })?;
        specs.push(RuleSpec {
            written: written.to_string(),
            target: Target::parse(written),
            rule: parsed,
            position: at(key.span().start),
        });
    }
    let seed = match &file.data_rules_seed {
        Some(seed) => {
            let expanded = expand_env(seed.get_ref())
                .with_context(|| format!("{}: data_rules_seed", at(seed.span().start)))?;
            if expanded.is_empty() {
                bail!("{}: data_rules_seed is empty", at(seed.span().start));
            }
            Seed::new(&expanded)
        }
        None => {
            if let Some(hash) = specs.iter().find(|s| s.rule == Rule::Hash) {
                bail!(
                    "{}: [data_rules] {:?}: rule hash needs a secret: set `data_rules_seed = \"${{DBDELTA_SEED}}\"` \
                     at the top of the job file (before [source]) and export DBDELTA_SEED",
                    hash.position,
                    hash.written
                );
            }
            Seed::default()
        }
    };
    Ok(DataRules { specs, seed })
}

/// SQL on one line, whitespace runs folded, for listings.
fn one_line(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
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

/// A TOML error as "line L, column C: message", without echoing the source line.
fn describe_toml_error(e: &toml::de::Error, text: &str) -> String {
    let message = e.message().trim();
    match e.span() {
        Some(span) => {
            let (line, column) = position(text, span.start);
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
    fn the_documented_example_parses() {
        let job = parse(include_str!("../sync.toml.example")).unwrap();
        assert_eq!(job.integrity, Integrity::Enforce);
        assert!(!job.tables.is_empty());
    }

    #[test]
    fn integrity_and_source_connections_come_from_the_file() {
        let job = parse(&MINIMAL.replace(
            "[target]",
            "max_connections = 2\n[defaults]\ndefer_constraints = true\n[target]",
        ));
        let job = job.unwrap();
        assert_eq!(job.source_connections, Some(2));
        assert_eq!(job.integrity, Integrity::Defer);
        assert_eq!(job.chunk_jobs(), 2);
        let both = MINIMAL.replace(
            "[target]",
            "[defaults]\ndefer_constraints = true\ndisable_integrity = true\n[target]",
        );
        assert!(parse(&both)
            .unwrap_err()
            .to_string()
            .contains("exclude each other"));
        let zero = MINIMAL.replace("[target]", "max_connections = 0\n[target]");
        assert!(parse(&zero)
            .unwrap_err()
            .to_string()
            .contains("max_connections"));
    }

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
        let url = DbUrl::parse(
            "postgres://db/app?sslmode=require&password=s3cret",
            Path::new("."),
        )
        .unwrap();
        assert_eq!(
            url.display,
            "postgres://db/app?sslmode=require&password=***"
        );
        assert_eq!(
            redact_unparsed("mysql://u:s3cret@h:bad/x"),
            "mysql://***@h:bad/x"
        );
    }

    #[test]
    fn remote_targets_and_self_syncs_are_refused() {
        let local = DbUrl::parse("postgres://u@127.0.0.2:5432/db", Path::new(".")).unwrap();
        assert!(local.is_local());
        assert!(DbUrl::parse("mysql://u@[::1]/db", Path::new("."))
            .unwrap()
            .is_local());
        assert!(DbUrl::parse("sqlite://x.db", Path::new("."))
            .unwrap()
            .is_local());
        assert!(
            !DbUrl::parse("postgres://u:pw@db.internal/app", Path::new("."))
                .unwrap()
                .is_local()
        );
        let text = "[source]\nurl = \"postgres://u@localhost/app\"\n[target]\nurl = \"postgres://u@db.prod/app\"\n[[tables]]\nname = \"t\"\n";
        let job = parse(text).unwrap();
        let err = job.check_writable().unwrap_err().to_string();
        assert!(
            err.contains("not on this machine") && err.contains("allow_remote"),
            "{err}"
        );
        let allowed =
            parse(&text.replace("[target]\n", "[target]\nallow_remote = true\n")).unwrap();
        assert!(allowed.check_writable().is_ok());
        let same = parse(&text.replace("db.prod", "127.0.0.1:5432")).unwrap();
        let err = same.check_writable().unwrap_err().to_string();
        assert!(err.contains("onto itself"), "{err}");
    }

    #[test]
    fn urls_without_scheme_are_refused() {
        assert!(DbUrl::parse("sqlite", Path::new(".")).is_err());
        assert!(DbUrl::parse("oracle://x/y", Path::new(".")).is_err());
    }

    #[test]
    fn group_values_become_literals_of_each_engine() {
        let args = vec!["42; DROP TABLE x".to_string()];
        assert_eq!(
            render_sql("t = {1}", &args, EngineKind::Postgres),
            "t = '42; DROP TABLE x'"
        );
        assert_eq!(
            render_sql("t = {1}", &["42".into()], EngineKind::MySql),
            "t = 42"
        );
        assert_eq!(
            render_sql("t = {1}", &["-4.5".into()], EngineKind::Sqlite),
            "t = -4.5"
        );
        assert_eq!(
            render_sql("t = {1}", &["a'b\\".into()], EngineKind::MySql),
            "t = 'a''b\\\\'"
        );
        assert_eq!(
            render_sql("t = {1}", &["a'b\\".into()], EngineKind::Postgres),
            "t = 'a''b\\'"
        );
    }

    #[test]
    fn groups_expand_with_their_value() {
        let text = format!(
            "{MINIMAL}[[tables]]\nname = \"u\"\nwhere = \"x = 1\"\n[groups.tenant]\ntables = [\"t\", \"u\", \"v\"]\nwhere = \"tenant_id = {{1}}\"\n"
        );
        let overrides = Overrides {
            tables: vec![("tenant:7".into(), None)],
            ..Default::default()
        };
        let job = Job::parse(&text, Path::new("/jobs/sync.toml"), &overrides).unwrap();
        let names: Vec<&str> = job.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["t", "u", "v"]);
        let subset = job.tables[1].render(EngineKind::Postgres, EngineKind::Sqlite);
        assert_eq!(subset.source_filter.as_deref(), Some("tenant_id = 7"));
        let missing = Overrides {
            tables: vec![("tenant".into(), None)],
            ..Default::default()
        };
        let err = Job::parse(&text, Path::new("/jobs/sync.toml"), &missing).unwrap_err();
        assert!(err.to_string().contains("needs a value"), "{err}");
    }

    #[test]
    fn unset_variables_are_named() {
        let err = expand_env("postgres://u:${DBDELTA_SURELY_UNSET}@h/db").unwrap_err();
        assert!(err.to_string().contains("DBDELTA_SURELY_UNSET"));
    }

    #[test]
    fn data_rules_are_read_with_their_positions() {
        let text = format!(
            "data_rules_seed = \"s3cret\"\n{MINIMAL}[data_rules]\nemail = \"unique_email\"\n\"users.last_name\" = {{ value = \"Doe\" }}\n\"*.ssn\" = \"null\"\nage = {{ rule = \"random_int\", min = 18, max = 99 }}\n"
        );
        let job = parse(&text).unwrap();
        let rules = &job.data_rules;
        assert_eq!(rules.specs.len(), 4);
        let rule = |t: &str, c: &str| rules.rule_for(t, c).map(|s| s.rule.clone());
        assert_eq!(rule("users", "email"), Some(Rule::UniqueEmail));
        assert_eq!(rule("people", "ssn"), Some(Rule::Null));
        assert!(!format!("{job:?}").contains("s3cret"));

        let unknown = format!("{MINIMAL}[data_rules]\nemail = \"scramble\"\n");
        let err = parse(&unknown).unwrap_err().to_string();
        assert!(
            err.contains("sync.toml:8:9") && err.contains("unknown data rule \"scramble\""),
            "{err}"
        );
        let unseeded = format!("{MINIMAL}[data_rules]\n\nssn = \"hash\"\n");
        let err = parse(&unseeded).unwrap_err().to_string();
        assert!(
            err.contains("sync.toml:9:1") && err.contains("data_rules_seed"),
            "{err}"
        );
    }

    #[test]
    fn duplicate_tables_are_refused() {
        let err = parse(&format!("{MINIMAL}[[tables]]\nname = \"t\"\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("listed twice"), "{err}");
    }
}
