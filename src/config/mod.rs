//! The job file (`sync.toml`) and the command line, turned into the one validated [`Job`] that the
//! rest of the program runs.
//!
//! Configuration happens in two stages, as ripgrep turns its flags into low-level and then
//! high-level arguments:
//!
//! 1. **As written** (`file.rs`): `toml` parses the text into [`JobFile`], refusing unknown keys
//!    and wrong types with a line and column (`position.rs`). Values that a later message must point
//!    at keep their span.
//! 2. **As run** (`job.rs`): [`Job::load`] checks what serde cannot (sizes, empty names, duplicate
//!    tables, combinations of keys, URL schemes), expands `${VAR}` from the environment (`env.rs`),
//!    resolves SQLite paths against the job file's folder, layers the command line's
//!    [`Overrides`] over the file, and picks the tables and groups the command line names
//!    (`select.rs`, `groups.rs`). Table-name patterns (`patterns.rs`) are kept as written until
//!    a run connects and [`Job::expand`] matches them against the source's tables.
//!
//! Every "who wins" rule — command line over table over `[defaults]` over built-in default — is
//! one small function in `precedence.rs`; no other part of the configuration picks a winner.
//! Expansion happens after parsing on purpose: TOML errors quote positions in the text, and that
//! text must never contain a secret taken from the environment.

mod data_rules;
mod env;
mod file;
mod groups;
mod job;
mod patterns;
mod position;
mod precedence;
mod select;
mod sql_text;
mod tables;

/// Where a job's databases are: defined by the engine layer, named here too for the job's users.
pub use crate::engine::{DbUrl, EngineKind};
pub use env::expand_env;
pub use job::{Integrity, Job, Mode, TableJob};
pub use patterns::is_pattern;
pub use precedence::{Overrides, DEFAULT_CONNECT_TIMEOUT, MAX_JOBS, REMOTE_ROUND_TRIP};
