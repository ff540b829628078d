//! Where a run's time goes, by phase: introspect, plan, checksum, narrow, copy.
//!
//! Chunks run concurrently, so the phases of one table overlap: each phase is the time summed
//! across chunks (two chunks checksummed at once for one second each count two seconds), and can
//! add up to more than the wall time, which reports carry separately. Measuring is an `Instant`
//! around an await; the sums are gathered where chunk outcomes are recorded, one at a time.

use serde::Serialize;
use std::time::Duration;

/// One phase of a table's run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Reading both sides' definitions and matching them.
    Introspect,
    /// Finding chunk boundaries (and whether the target is empty).
    Plan,
    /// Chunk checksums on both sides, per chunk or grouped.
    Checksum,
    /// Listing `(key, row hash)` on both sides and merging the lists.
    Narrow,
    /// Reading rows from the source and writing them (and deletes) to the target.
    Copy,
}

impl Phase {
    pub const ALL: [Phase; 5] = [
        Phase::Introspect,
        Phase::Plan,
        Phase::Checksum,
        Phase::Narrow,
        Phase::Copy,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Phase::Introspect => "introspect",
            Phase::Plan => "plan",
            Phase::Checksum => "checksum",
            Phase::Narrow => "narrow",
            Phase::Copy => "copy",
        }
    }
}

/// Seconds per phase, summed across chunks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Timings {
    pub introspect: f64,
    pub plan: f64,
    pub checksum: f64,
    pub narrow: f64,
    pub copy: f64,
}

impl Timings {
    pub fn add(&mut self, phase: Phase, spent: Duration) {
        *self.slot(phase) += spent.as_secs_f64();
    }

    pub fn merge(&mut self, other: &Timings) {
        for phase in Phase::ALL {
            *self.slot(phase) += other.get(phase);
        }
    }

    pub fn get(&self, phase: Phase) -> f64 {
        match phase {
            Phase::Introspect => self.introspect,
            Phase::Plan => self.plan,
            Phase::Checksum => self.checksum,
            Phase::Narrow => self.narrow,
            Phase::Copy => self.copy,
        }
    }

    fn slot(&mut self, phase: Phase) -> &mut f64 {
        match phase {
            Phase::Introspect => &mut self.introspect,
            Phase::Plan => &mut self.plan,
            Phase::Checksum => &mut self.checksum,
            Phase::Narrow => &mut self.narrow,
            Phase::Copy => &mut self.copy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_add_up_separately() {
        let mut a = Timings::default();
        a.add(Phase::Checksum, Duration::from_millis(1500));
        a.add(Phase::Checksum, Duration::from_millis(500));
        let mut b = Timings::default();
        b.add(Phase::Copy, Duration::from_secs(3));
        b.merge(&a);
        assert_eq!(b.checksum, 2.0);
        assert_eq!(b.copy, 3.0);
        assert_eq!(b.get(Phase::Narrow), 0.0);
    }
}
