//! dbdelta: make a target database's tables match a source's while moving as little data as
//! possible. The pipeline runs one way, each stage taking the previous stage's plain data:
//!
//! ```text
//! config ─► schema (introspect, match) ─► plan (chunks) ─► compare (checksums, narrowing) ─► apply ─► report
//! ```
//!
//! [`sync::run`] wires the stages. [`cli`] holds the command line's types, [`commands`] what each
//! subcommand does and prints, and `main.rs` only parses, runs on one runtime and maps the outcome
//! to an exit code. [`config`] turns the job file and the command line into one validated [`Job`].

pub mod apply;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod config;
pub mod convert;
pub mod engine;
pub mod init;
pub mod log;
pub mod order;
pub mod plan;
pub mod prepare;
pub mod report;
pub mod rules;
pub mod schema;
pub mod side;
pub mod summary;
pub mod sync;
pub mod timings;
pub mod value;

pub use config::{Job, Overrides};
pub use log::LogFormat;
pub use report::{Reporter, ReporterOptions, RunReport};
pub use sync::{run, Command};
