//! Stage one: the job file exactly as written.
//!
//! `toml` turns the text into [`JobFile`], refusing unknown keys and wrong types with a line and
//! column. Values that a later message must point at keep their [`Spanned`] position. Nothing
//! here checks sizes, combinations or URLs, applies a default or reads the environment: that is
//! stage two, [`Job`](super::Job).

use super::position::JobText;
use super::Mode;
use anyhow::Result;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

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
    pub groups: BTreeMap<String, GroupFile>,
    /// Values replaced while copying: column, `table.column` or pattern → rule.
    #[serde(default)]
    pub data_rules: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    /// The secret the data rules are keyed with; `${VAR}` is expanded as in URLs.
    pub data_rules_seed: Option<Spanned<String>>,
    /// Tables (names or patterns) no run covers unless the command line names them.
    #[serde(default)]
    pub exclude: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupFile {
    pub tables: GroupTablesFile,
    /// The subset of every table in the group; `{1}` is the value after the colon.
    #[serde(rename = "where")]
    pub filter: Option<String>,
}

/// A group's tables: `["users", "orders"]`, each entry a name or `{ name = …, where = … }`, or
/// pgsync's table → condition, `{ users = "id = {1}", orders = "user_id = {1}" }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum GroupTablesFile {
    List(Vec<GroupMemberFile>),
    Conditions(BTreeMap<String, String>),
}

/// One entry of a group's `tables` array.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum GroupMemberFile {
    Name(String),
    Entry(GroupEntryFile),
}

/// `{ name = "users", where = "id = {1}" }`: a group's table with a `where` of its own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupEntryFile {
    pub name: String,
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
    /// Seconds to wait for each side to accept a connection (default 15).
    pub connect_timeout: Option<Spanned<i64>>,
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

/// `key = "id"` or `key = ["tenant_id", "id"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum KeyFile {
    One(String),
    Many(Vec<String>),
}

impl JobFile {
    /// Parses the text of a job file; errors name the file, line and column.
    pub fn parse(at: JobText<'_>) -> Result<JobFile> {
        toml::from_str(at.text).map_err(|e| at.toml_error(&e))
    }
}

impl KeyFile {
    /// The key's columns, as written.
    pub fn columns(&self) -> Vec<String> {
        match self {
            KeyFile::One(column) => vec![column.clone()],
            KeyFile::Many(columns) => columns.clone(),
        }
    }
}
