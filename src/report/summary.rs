//! The human summary at the end of a run, on stderr: one row per table with its counts and
//! status, then a line per failed table with what it found and wrote before failing, and with
//! `--timings` a second table of seconds per phase. `--json` and `--log-format json` replace
//! them.

use super::data::RunReport;
use super::lines;
use crate::timings::Phase;
use comfy_table::{presets::UTF8_BORDERS_ONLY, Cell, CellAlignment, Table};

/// The human summary table on stderr.
pub fn print_summary(report: &RunReport) {
    let writing = report.command == "sync";
    if report.command == crate::run::SCHEMA_ONLY {
        eprintln!(
            "Schema only: missing tables with create_missing were created (see the warnings for \
             what was not carried over); no rows were compared or copied."
        );
    }
    if report.command == "sync --dry-run" {
        eprintln!("Dry run: nothing was written. `only source` rows would be inserted, `only target` rows deleted, `changed` rows updated.");
    }
    let mut table = Table::new();
    table.load_preset(UTF8_BORDERS_ONLY);
    let mut header = vec!["table", "source rows", "target rows", "chunks", "differing"];
    if writing {
        header.extend(["inserted", "updated", "deleted"]);
    } else {
        header.extend(["only source", "only target", "changed"]);
    }
    // Only when it happened: deletions of rows the source still holds outside its subset.
    let present_in_source = report.totals.deleted_present_in_source > 0;
    if present_in_source {
        header.push("still in source");
    }
    header.extend(["seconds", "status"]);
    table.set_header(header);
    for t in &report.tables {
        let counts = if writing {
            [t.inserted, t.updated, t.deleted]
        } else {
            [t.rows_only_in_source, t.rows_only_in_target, t.rows_changed]
        };
        let status = match (&t.error, t.chunks_differing, writing) {
            (Some(_), _, _) => "FAILED",
            (None, _, _) if report.command == crate::run::SCHEMA_ONLY => {
                if t.created {
                    "created"
                } else {
                    "exists"
                }
            }
            (None, _, _) if t.interrupted => "interrupted",
            (None, 0, _) => "in sync",
            (None, _, true) => "synced",
            (None, _, false) => "differs",
        };
        let mut row: Vec<Cell> = vec![Cell::new(&t.table)];
        let present = present_in_source.then_some(t.deleted_present_in_source);
        for n in [t.rows_source, t.rows_target, t.chunks, t.chunks_differing]
            .into_iter()
            .chain(counts)
            .chain(present)
        {
            row.push(Cell::new(n).set_alignment(CellAlignment::Right));
        }
        row.push(Cell::new(format!("{:.2}", t.seconds)).set_alignment(CellAlignment::Right));
        row.push(Cell::new(status));
        table.add_row(row);
    }
    eprintln!("{table}");
    if present_in_source {
        eprintln!(
            "`still in source`: of the rows {} the target, those the source still holds outside its subset (see the warnings above).",
            if writing { "deleted from" } else { "only in" }
        );
    }
    for t in &report.tables {
        if let Some(error) = &t.error {
            eprintln!(
                "{}: FAILED; found {} in the {} compared; written before the failure: {}; error: {error}",
                t.table,
                lines::found(t),
                lines::of_chunks(t.chunks_compared, t.chunks),
                lines::written(t),
            );
        }
    }
    if let Some(signal) = report.signal {
        eprintln!(
            "Interrupted ({}): the chunks in flight were finished and no new ones started; {}",
            signal.name(),
            if report.rolled_back {
                "the run's transaction was rolled back (--defer-constraints), so nothing was written."
            } else if writing {
                "every chunk is either written whole or untouched. Run again to finish."
            } else {
                "the chunks not compared were left out. Run again for the whole answer."
            }
        );
    }
    let written: u64 = report.tables.iter().map(|t| t.written().total()).sum();
    if writing && report.in_sync && written == 0 {
        eprintln!("Everything was already in sync; nothing was written.");
    }
}

/// `--timings`: seconds per phase and table, and the run's, with the row data received from
/// each side.
pub fn print_timings(report: &RunReport) {
    let mut table = Table::new();
    table.load_preset(UTF8_BORDERS_ONLY);
    let mut header = vec!["table"];
    header.extend(Phase::ALL.map(Phase::name));
    header.extend(["wall", "from source", "from target"]);
    table.set_header(header);
    let totals = &report.totals;
    let rows = report
        .tables
        .iter()
        .map(|t| {
            let bytes = (t.bytes_from_source, t.bytes_from_target);
            (t.table.as_str(), &t.timings, t.seconds, bytes)
        })
        .chain([(
            "(run)",
            &report.timings,
            report.seconds,
            (totals.bytes_from_source, totals.bytes_from_target),
        )]);
    for (name, timings, wall, (from_source, from_target)) in rows {
        let mut row = vec![Cell::new(name)];
        for seconds in Phase::ALL.map(|p| timings.get(p)).into_iter().chain([wall]) {
            row.push(Cell::new(format!("{seconds:.2}")).set_alignment(CellAlignment::Right));
        }
        for bytes in [from_source, from_target] {
            row.push(Cell::new(human_bytes(bytes)).set_alignment(CellAlignment::Right));
        }
        table.add_row(row);
    }
    eprintln!("Seconds per phase, summed across chunks running at once (so they can exceed the wall time), and the row data received from each side:");
    eprintln!("{table}");
}

/// `1.5 MB`-style sizes (powers of 1000, as network rates are given).
fn human_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000_000 => format!("{:.2} GB", b as f64 / 1e9),
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b if b >= 1_000 => format!("{:.1} kB", b as f64 / 1e3),
        b => format!("{b} B"),
    }
}
