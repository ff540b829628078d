//! The plain one-line accounts of a table, for stderr without bars (cron, CI logs) and for the
//! failure lines under the summary: counts spelled with [`counted`], so one row is `1 row`.

use super::data::TableReport;
use super::progress::{RunSnapshot, Snapshot};
use crate::words::{counted, noun_for};
use indicatif::HumanDuration;

/// What a table found: `3 rows only in source, 1 only in target, 0 changed`.
pub fn found(report: &TableReport) -> String {
    format!(
        "{} only in source, {} only in target, {} changed",
        counted(report.rows_only_in_source, "row"),
        report.rows_only_in_target,
        report.rows_changed
    )
}

/// What a table wrote: `inserted 3, updated 1, deleted 0`.
pub fn written(report: &TableReport) -> String {
    let w = report.written();
    format!(
        "inserted {}, updated {}, deleted {}",
        w.inserted, w.updated, w.deleted
    )
}

/// `2 of 5 chunks`: pluralized by the total.
pub fn of_chunks(part: u64, whole: u64) -> String {
    format!("{part} of {whole} {}", noun_for(whole, "chunk"))
}

/// A periodic progress line of a running table, with the run's:
/// `progress: orders: 12 of 40 chunks, 120,000 rows compared, 300 copied, 4,000 rows/s, 30
/// seconds elapsed, about 1 minute left; run: table 2 of 5, …`.
pub fn progress(table: &str, now: &Snapshot, run: &RunSnapshot) -> String {
    let doing = match now.chunks {
        None => now.phase.to_string(),
        Some(chunks) => format!(
            "{}, {}, {}",
            of_chunks(chunks.done, chunks.of),
            now.counts(),
            now.rate()
        ),
    };
    format!(
        "progress: {table}: {doing}, {} elapsed, {}; run: table {} of {}, {}, {} elapsed, {}",
        HumanDuration(now.elapsed),
        now.left(false),
        (run.tables_done + 1).min(run.tables),
        run.tables,
        run.totals.counts(),
        HumanDuration(run.totals.elapsed),
        run.totals.left(false),
    )
}

/// The line for a finished (or failed, or interrupted) table, which still has `held` rows to
/// delete after the tables that reference it.
pub fn finished(report: &TableReport, writing: bool, held: u64) -> String {
    let table = &report.table;
    let seconds = report.seconds;
    if let Some(e) = &report.error {
        return format!("{table}: FAILED after {seconds:.1}s: {e}");
    }
    let found_or_written = || {
        if writing {
            written(report)
        } else {
            found(report)
        }
    };
    if report.interrupted {
        return format!(
            "{table}: interrupted after {}, {} differing; {} ({seconds:.1}s)",
            of_chunks(report.chunks_compared, report.chunks),
            report.chunks_differing,
            found_or_written()
        );
    }
    if report.chunks_differing == 0 {
        return format!(
            "{table}: in sync, {} in {}, nothing {} ({seconds:.1}s)",
            counted(report.rows_source, "row"),
            counted(report.chunks, "chunk"),
            if writing { "written" } else { "differs" },
        );
    }
    let chunks = of_chunks(report.chunks_differing, report.chunks);
    if writing {
        let present = match report.deleted_present_in_source {
            0 => String::new(),
            n => format!(" ({n} of them still in the source, outside its subset)"),
        };
        let held = match held {
            0 => String::new(),
            n => format!(
                "; {} to delete after the tables that reference it",
                counted(n, "row")
            ),
        };
        format!(
            "{table}: {chunks} differed; {}{present}{held} ({seconds:.1}s)",
            written(report)
        )
    } else {
        format!(
            "{table}: {chunks} differ; {} ({seconds:.1}s)",
            found(report)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_and_one_chunk_are_singular() {
        let report = TableReport {
            table: "t".into(),
            rows_source: 1,
            chunks: 1,
            chunks_compared: 1,
            seconds: 0.25,
            ..Default::default()
        };
        assert_eq!(
            finished(&report, true, 0),
            "t: in sync, 1 row in 1 chunk, nothing written (0.2s)"
        );
        let differing = TableReport {
            chunks_differing: 1,
            rows_only_in_source: 1,
            ..report
        };
        assert_eq!(
            finished(&differing, false, 0),
            "t: 1 of 1 chunk differ; 1 row only in source, 0 only in target, 0 changed (0.2s)"
        );
    }
}
