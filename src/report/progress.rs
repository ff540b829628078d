//! Progress bars on a terminal: one per table, chunks compared and, for `sync`, how many of the
//! differing chunks were copied. Updated from every chunk task at once, so counts are atomic.

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::sync::atomic::{AtomicU64, Ordering};

/// Starts the display of one table with `chunks` chunks; without `multi` (no terminal, JSON
/// logs, `--quiet`) only the counts are kept.
pub fn table_progress(
    multi: Option<&MultiProgress>,
    name: &str,
    chunks: u64,
    writing: bool,
) -> TableProgress {
    let bar = multi.map(|multi| {
        let bar = multi.add(ProgressBar::new(chunks));
        let style = ProgressStyle::with_template(
            "{prefix:.bold} [{bar:30.cyan/blue}] {pos}/{len} chunks compared {msg} ({elapsed})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(name.to_string());
        bar
    });
    TableProgress {
        bar,
        writing,
        copied: AtomicU64::new(0),
        differing: AtomicU64::new(0),
    }
}

/// The progress of one table: chunks compared, chunks copied.
pub struct TableProgress {
    bar: Option<ProgressBar>,
    writing: bool,
    copied: AtomicU64,
    differing: AtomicU64,
}

impl TableProgress {
    pub fn compared(&self, differs: bool) {
        if differs {
            self.differing.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(bar) = &self.bar {
            bar.inc(1);
            self.refresh(bar);
        }
    }

    pub fn copied(&self) {
        self.copied.fetch_add(1, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            self.refresh(bar);
        }
    }

    fn refresh(&self, bar: &ProgressBar) {
        let differing = self.differing.load(Ordering::Relaxed);
        if self.writing {
            bar.set_message(format!(
                "{}/{differing} differing copied",
                self.copied.load(Ordering::Relaxed)
            ));
        } else {
            bar.set_message(format!("{differing} differ"));
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}
