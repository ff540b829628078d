//! What each command does to each table, by the table's mode: decided here, in one table, and
//! nowhere else. The orchestrator and `apply.rs` read the fields of a [`Policy`]; none of them
//! asks which command or mode is running. A new mode (or command) is one new row in
//! [`Policy::of`], and the unit test below makes every pair be thought through.

use crate::apply::Changes;
use crate::config::Mode;

/// What a run does with the differences it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Make the target equal to the source.
    Sync,
    /// Only report the differences.
    Diff,
    /// `sync --dry-run`: check everything `sync` would, list what it would write, write nothing.
    DryRun,
}

impl Command {
    pub const ALL: [Command; 3] = [Command::Sync, Command::Diff, Command::DryRun];

    /// The command as the user typed it, for reports.
    pub fn name(self) -> &'static str {
        match self {
            Command::Sync => "sync",
            Command::Diff => "diff",
            Command::DryRun => "sync --dry-run",
        }
    }
}

/// What one command does to one table of a given mode.
///
/// `insert`, `update` and `delete` say what becomes of the differences a chunk's comparison
/// finds: written by `sync`, turned into the statements `sync --dry-run -v` prints, nothing for
/// `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The target must pass the guards for writing (on this machine unless `allow_remote`, not
    /// the source itself, foreign-key handling it supports), checked before connecting: for
    /// `--dry-run` too, so that it fails where the real run would.
    pub guard_target: bool,
    /// The run writes the target: it must be allowed to (local, or `allow_remote`), it takes the
    /// table locks, creates missing tables (`create_missing`), orders tables by their foreign
    /// keys, may open the `--defer-constraints` transaction and advances sequences.
    pub write: bool,
    /// A table whose target takes two of the source's keys for one (a coarser collation) is
    /// refused before anything is written (see `crate::collisions`): for `--dry-run` too, so
    /// that it fails where the real run would. `diff` lists such keys as they are.
    pub refuse_key_collisions: bool,
    /// Compare each chunk's two sides; without, every chunk is copied whole (`truncate`).
    pub compare: bool,
    /// Rows only in the source are inserted.
    pub insert: bool,
    /// Rows that differ are updated.
    pub update: bool,
    /// Rows only in the target are deleted (chunk by chunk).
    pub delete: bool,
    /// The target's subset is emptied before anything is copied.
    pub truncate: bool,
    /// Differing chunks are narrowed down to their keys, kept for the listing and `--json`.
    pub list_keys: bool,
    /// A table that other tables of the run reference keeps its deletions until those tables
    /// are written (see `order.rs`).
    pub hold_deletions: bool,
    /// With `-v`, the statements a chunk would run are printed instead of run.
    pub print_statements: bool,
    /// Differences found mean "not in sync" (`diff` exits 1); for `sync` they were written, and
    /// `--dry-run` only shows them.
    pub differences_fail: bool,
}

impl Policy {
    /// The one table of what runs do.
    pub fn of(command: Command, mode: Mode) -> Policy {
        // What the mode does to the target's rows, whether or not this command writes them.
        let (compare, insert, update, delete, truncate) = match mode {
            //                 compare insert update delete truncate
            Mode::Sync => (true, true, true, true, false),
            Mode::Upsert => (true, true, true, false, false),
            Mode::InsertOnly => (true, true, false, false, false),
            // Emptied first, then copied whole: changed rows come back with the source's values.
            // Its deletions are the emptying, not a chunk's, so `delete` stays off (and
            // `--dry-run` lists the copy, not the emptying).
            Mode::Truncate => (false, true, true, false, true),
        };
        match command {
            Command::Sync => Policy {
                guard_target: true,
                write: true,
                refuse_key_collisions: true,
                compare,
                insert,
                update,
                delete,
                truncate,
                list_keys: false,
                hold_deletions: delete,
                print_statements: false,
                differences_fail: false,
            },
            // Nothing is emptied first, so every chunk is compared; what the statements would
            // be is the mode's, with deletions in their chunk.
            Command::DryRun => Policy {
                guard_target: true,
                write: false,
                refuse_key_collisions: true,
                compare: true,
                insert,
                update,
                delete,
                truncate: false,
                list_keys: true,
                hold_deletions: false,
                print_statements: true,
                differences_fail: false,
            },
            Command::Diff => Policy {
                guard_target: false,
                write: false,
                refuse_key_collisions: false,
                compare: true,
                insert: false,
                update: false,
                delete: false,
                truncate: false,
                list_keys: true,
                hold_deletions: false,
                print_statements: false,
                differences_fail: true,
            },
        }
    }

    /// What `apply.rs` writes (or, for `--dry-run`, shows) of a chunk's difference.
    pub fn changes(&self) -> Changes {
        Changes {
            insert: self.insert,
            update: self.update,
            delete: self.delete,
        }
    }

    /// The fields that do not depend on the mode (`guard_target`, `write`,
    /// `refuse_key_collisions`, `list_keys`, `print_statements`, `differences_fail`),
    /// for decisions made once per run, before any table's mode is known.
    pub fn run(command: Command) -> Policy {
        Policy::of(command, Mode::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODES: [Mode; 4] = [Mode::Sync, Mode::Upsert, Mode::InsertOnly, Mode::Truncate];

    /// Every (command, mode) pair, spelled out: a new mode or command fails here until its row
    /// is written.
    #[test]
    fn every_command_and_mode_has_its_policy() {
        let row = |guard_target,
                   write,
                   refuse_key_collisions,
                   compare,
                   insert,
                   update,
                   delete,
                   truncate,
                   list_keys,
                   hold_deletions,
                   print_statements,
                   differences_fail| Policy {
            guard_target,
            write,
            refuse_key_collisions,
            compare,
            insert,
            update,
            delete,
            truncate,
            list_keys,
            hold_deletions,
            print_statements,
            differences_fail,
        };
        let (t, f) = (true, false);
        use Command::{Diff, DryRun, Sync};
        #[rustfmt::skip]
        let expected = [
            //                        guard write keys compare insert update delete truncate list hold print fail
            ((Sync, Mode::Sync),       row(t, t, t, t, t, t, t, f, f, t, f, f)),
            ((Sync, Mode::Upsert),     row(t, t, t, t, t, t, f, f, f, f, f, f)),
            ((Sync, Mode::InsertOnly), row(t, t, t, t, t, f, f, f, f, f, f, f)),
            ((Sync, Mode::Truncate),   row(t, t, t, f, t, t, f, t, f, f, f, f)),
            ((DryRun, Mode::Sync),       row(t, f, t, t, t, t, t, f, t, f, t, f)),
            ((DryRun, Mode::Upsert),     row(t, f, t, t, t, t, f, f, t, f, t, f)),
            ((DryRun, Mode::InsertOnly), row(t, f, t, t, t, f, f, f, t, f, t, f)),
            ((DryRun, Mode::Truncate),   row(t, f, t, t, t, t, f, f, t, f, t, f)),
            ((Diff, Mode::Sync),       row(f, f, f, t, f, f, f, f, t, f, f, t)),
            ((Diff, Mode::Upsert),     row(f, f, f, t, f, f, f, f, t, f, f, t)),
            ((Diff, Mode::InsertOnly), row(f, f, f, t, f, f, f, f, t, f, f, t)),
            ((Diff, Mode::Truncate),   row(f, f, f, t, f, f, f, f, t, f, f, t)),
        ];
        let mut seen = 0;
        for command in Command::ALL {
            for mode in MODES {
                let (_, policy) = expected
                    .iter()
                    .find(|((c, m), _)| *c == command && *m == mode)
                    .unwrap_or_else(|| panic!("no expected row for {command:?} {mode:?}"));
                assert_eq!(Policy::of(command, mode), *policy, "{command:?} {mode:?}");
                seen += 1;
            }
        }
        assert_eq!(seen, expected.len());
    }

    #[test]
    fn run_wide_fields_do_not_depend_on_the_mode() {
        for command in Command::ALL {
            let run = Policy::run(command);
            for mode in MODES {
                let table = Policy::of(command, mode);
                assert_eq!(table.guard_target, run.guard_target);
                assert_eq!(table.write, run.write, "{command:?} {mode:?}");
                assert_eq!(table.refuse_key_collisions, run.refuse_key_collisions);
                assert_eq!(table.list_keys, run.list_keys, "{command:?} {mode:?}");
                assert_eq!(table.differences_fail, run.differences_fail);
                assert_eq!(table.print_statements, run.print_statements);
            }
        }
    }

    #[test]
    fn only_sync_writes_and_nothing_else_deletes_or_truncates_for_real() {
        for mode in MODES {
            for command in [Command::Diff, Command::DryRun] {
                let policy = Policy::of(command, mode);
                assert!(!policy.write && !policy.truncate && !policy.hold_deletions);
            }
            let sync = Policy::of(Command::Sync, mode);
            assert!(sync.write && sync.insert);
            // Whatever writes is guarded.
            assert!(sync.guard_target);
            // Held deletions exist only where the mode deletes.
            assert!(!sync.hold_deletions || sync.delete);
            // A table emptied first has nothing to compare.
            assert_eq!(sync.truncate, !sync.compare);
        }
    }
}
