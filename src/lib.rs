//! dbdelta: make a target database's tables match a source's while moving as little data as
//! possible. The pipeline runs one way, each stage taking the previous stage's plain data:
//!
//! ```text
//! config ─► schema (introspect, match) ─► plan (chunks) ─► compare (checksums, narrowing) ─► apply ─► report
//! ```
//!
//! [`run()`] wires the stages (`run/`: the policy of each command and mode, chunks as tasks under
//! a semaphore, one stop path for Ctrl-C and SIGTERM); `report/` tells the user; `main.rs` only
//! turns a command line into a run and an exit code.

pub mod apply;
pub mod compare;
pub mod config;
pub mod convert;
pub mod engine;
pub mod init;
pub mod order;
pub mod plan;
pub mod prepare;
pub mod report;
pub mod rules;
pub mod run;
pub mod schema;
pub mod side;
pub mod timings;
pub mod value;

pub use config::{Job, Overrides};
pub use report::log::{self, LogFormat};
pub use report::{summary, Reporter, ReporterOptions, RunReport, Signal};
pub use run::{check, run, run_until, Command, Policy, Stop};

/// The orchestrator's former path (`dbdelta::sync::check`), kept while callers move to
/// [`run`](mod@run).
pub mod sync {
    pub use crate::run::{check, run, Command};
}
