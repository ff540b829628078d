//! dbdelta: make a target database's tables match a source's while moving as little data as
//! possible.
//!
//! # Layout
//!
//! The pipeline runs one way; each stage hands plain data to the next:
//!
//! ```text
//! cli ─► config ─► prepare/schema ─► plan ─► compare ─► apply ─► report
//!        (Job)     (TablePlan)        (Chunk) (ChunkDiff) (ApplyStats) (RunReport)
//! ```
//!
//! | module | holds |
//! |---|---|
//! | `cli`, `commands` | the clap types; what each subcommand does and prints (`main.rs` only parses, runs on one runtime and maps the outcome to an exit code) |
//! | `config/` | the job file's serde types (`file.rs`), then one validated `Job` with every precedence decided (`job.rs`, `precedence.rs`) |
//! | `engine/` | the `Dialect` and `Engine` traits, one folder per engine (`postgres/`, `mysql/`, `sqlite/`: connect, introspect, dialect, lock), `Db` (a pool or a transaction of any engine) and the engine-neutral SQL builders; PostgreSQL's fast paths as `Db::postgres` |
//! | `prepare`, `schema`, `order` | introspect both sides and match them into a `TablePlan`; the order tables are written in (foreign keys) |
//! | `create` | `create_missing`: a missing target table created from the source's definition (defaults, numbered key, unique indexes, comments, foreign keys between the job's tables), or its empty stand-in for the commands that write nothing |
//! | `collisions` | keys that cannot identify rows: a source holding a key twice where no unique index forbids it, or a target that takes two of the source's keys for one (a coarser collation), refused before anything is written |
//! | `side` | a side's rows: data rules applied, hashed in-process where the plan says so |
//! | `plan` | the key-order model and the chunks of a table (key ranges, or hash buckets) |
//! | `compare`, `narrow` | one chunk: checksums on both sides, narrowed level by level (one grouped query per side per level) to the keys that differ |
//! | `apply`, `convert` | one chunk's writes in one target transaction; every value checked against its target column first |
//! | `value` | the neutral value vocabulary, the canonical row encoding and its hashes (the promise: rows compare equal iff every column holds the same value) |
//! | `rules` | data rules (anonymisation) |
//! | `run/` | orchestration: `Policy::of(command, mode)`, chunks as tasks under a semaphore, one stop path for Ctrl-C and SIGTERM |
//! | `report/` | progress, summary, JSON and log events, over plain report data |
//! | `words` | counted nouns for human text (`1 row`, `2 rows`) |
//!
//! The modules are private; the names the binary, the examples and the tests use are
//! re-exported here.

mod apply;
mod cli;
mod collisions;
mod commands;
mod compare;
mod config;
mod convert;
mod create;
mod engine;
mod init;
mod narrow;
mod order;
mod plan;
mod prepare;
mod report;
mod rules;
mod run;
mod schema;
mod side;
mod timings;
mod value;
mod words;

pub use cli::{Cli, EXIT_DIFFERENCES, EXIT_ERROR};
pub use commands::execute;
pub use config::{Job, Overrides};
pub use engine::{Db, DbUrl, EngineKind};
pub use report::{LogFormat, Reporter, ReporterOptions, RunReport, Signal};
pub use run::{check, run, run_until, Command, Stop};
