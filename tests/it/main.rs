//! The integration tests, one binary: each module tests one capability against the real
//! servers (PostgreSQL and MariaDB from `DBDELTA_TEST_PG_URL` / `DBDELTA_TEST_MYSQL_URL`, SQLite
//! embedded), running the `dbdelta` binary and reading both databases back with sqlx. Shared
//! helpers are in `common/`. `DBDELTA_REQUIRE_SERVERS=1` turns an unreachable server into a
//! failure instead of a skip.

mod common;

mod chunk_boundaries;
mod cli_errors;
mod command_line;
mod converging_values;
mod crash;
mod create_missing;
mod cross_engine;
mod data_rules;
mod differential;
mod exact_comparison;
mod foreign_keys;
mod harness;
mod identifiers;
mod init;
mod interrupt;
mod key_equality;
mod keyless;
mod locking;
mod narrowing;
mod precision;
mod progress;
mod reconnect;
mod reporting;
mod seeding;
mod sequences;
mod source_reads;
mod sync_engines;
mod sync_keys;
mod sync_queries_groups;
mod sync_subsets;
mod table_selection;
mod write_limits;
