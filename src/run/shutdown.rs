//! One stop path for a run, as in mini-redis: the binary turns SIGINT and SIGTERM into a stop
//! ([`stop_on_signals`]), broadcast through a `watch` channel to every part of the run that
//! holds a [`Stop`]. Nothing is cancelled from outside: each part checks the stop at its own safe
//! points.
//!
//! * The table loop starts no new table, and skips the held deletions of the tables it ran.
//! * A table starts no new chunk; the chunks in flight finish their unit of work (one target
//!   transaction, committed or rolled back, never cut in half) and are recorded.
//! * Reads that write nothing (planning, grouped checksums, waiting for a lock, a retry's pause,
//!   `--sleep`) are abandoned at once.
//! * A `--defer-constraints` run rolls its transaction back.
//!
//! The report is then marked interrupted, and the binary exits 128 + the signal's number (130
//! for SIGINT, 143 for SIGTERM). A second signal exits at once with its code: the servers roll
//! back the transactions that were in flight, so even then no chunk is half written.

use crate::report::{Reporter, Signal};
use anyhow::{Context, Result};
use std::future::Future;
use tokio::sync::watch;

/// The receiving end of a run's stop, cloned into every task that must heed it.
#[derive(Clone, Debug)]
pub struct Stop {
    receiver: watch::Receiver<Option<Signal>>,
}

/// The sending end of a run's stop.
#[derive(Debug)]
pub struct StopTrigger {
    sender: watch::Sender<Option<Signal>>,
}

/// A new stop and the trigger that sets it off.
pub fn stop_channel() -> (StopTrigger, Stop) {
    let (sender, receiver) = watch::channel(None);
    (StopTrigger { sender }, Stop { receiver })
}

impl StopTrigger {
    /// Whether a stop was asked for already.
    pub fn stopped(&self) -> bool {
        self.sender.borrow().is_some()
    }

    /// Asks the run to stop because of `signal`; true the first time, false when a stop was
    /// already asked for.
    pub fn stop(&self, signal: Signal) -> bool {
        self.sender.send_if_modified(|current| match current {
            Some(_) => false,
            None => {
                *current = Some(signal);
                true
            }
        })
    }
}

impl Stop {
    /// A stop that never comes, for callers that handle no signals.
    pub fn never() -> Stop {
        stop_channel().1
    }

    /// The signal that asked the run to stop, if one did.
    pub fn requested(&self) -> Option<Signal> {
        *self.receiver.borrow()
    }

    /// Resolves when a stop is asked for (never, once its trigger is gone without one).
    pub async fn wait(&self) -> Signal {
        let mut receiver = self.receiver.clone();
        if let Ok(signal) = receiver.wait_for(Option::is_some).await {
            if let Some(signal) = *signal {
                return signal;
            }
        }
        std::future::pending().await
    }

    /// Runs `work` unless a stop comes first, in which case `work` is dropped: only for work
    /// that writes nothing, since dropping it may cut it anywhere.
    pub async fn unless_stopped<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        if self.requested().is_some() {
            return None;
        }
        tokio::select! {
            biased;
            _ = self.wait() => None,
            done = work => Some(done),
        }
    }
}

/// Listens to SIGINT (Ctrl-C) and SIGTERM for the rest of the process; must be called inside a
/// Tokio runtime. The first signal stops the returned [`Stop`] and says so through `reporter`;
/// a second one exits the process at once with the signal's exit code.
pub fn stop_on_signals(reporter: Reporter) -> Result<Stop> {
    let (trigger, stop) = stop_channel();
    // Installed now, not when first polled, so no signal between here and the task is lost.
    let mut signals = Signals::listen().context("cannot listen for SIGINT and SIGTERM")?;
    tokio::spawn(async move {
        while let Some(signal) = signals.next().await {
            if trigger.stopped() {
                reporter.aborted(signal);
                std::process::exit(i32::from(signal.exit_code()));
            }
            // Said before the run hears it, so the line comes before the run's last ones.
            reporter.interrupted(signal);
            trigger.stop(signal);
        }
    });
    Ok(stop)
}

/// The process's stop signals as one stream.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn listen() -> std::io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        // What `tokio::signal::ctrl_c` listens to on Unix, as a stream that misses no signal
        // between two waits.
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    #[cfg(unix)]
    async fn next(&mut self) -> Option<Signal> {
        tokio::select! {
            Some(()) = self.interrupt.recv() => Some(Signal::Interrupt),
            Some(()) = self.terminate.recv() => Some(Signal::Terminate),
            else => None,
        }
    }

    #[cfg(not(unix))]
    fn listen() -> std::io::Result<Signals> {
        Ok(Signals {})
    }

    #[cfg(not(unix))]
    async fn next(&mut self) -> Option<Signal> {
        tokio::signal::ctrl_c()
            .await
            .ok()
            .map(|()| Signal::Interrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn the_first_stop_is_seen_by_every_clone_and_later_ones_are_not_new() {
        let (trigger, stop) = stop_channel();
        let task = stop.clone();
        assert_eq!(stop.requested(), None);
        let waiting = tokio::spawn(async move { task.wait().await });
        assert!(!trigger.stopped());
        assert!(trigger.stop(Signal::Terminate));
        assert!(trigger.stopped());
        assert!(
            !trigger.stop(Signal::Interrupt),
            "only the first signal stops"
        );
        let seen = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the waiting task wakes")
            .expect("the task ends");
        assert_eq!(seen, Signal::Terminate);
        assert_eq!(stop.requested(), Some(Signal::Terminate));
        assert_eq!(stop.unless_stopped(async { 1 }).await, None);
    }

    #[tokio::test]
    async fn a_stop_that_never_comes_lets_work_finish() {
        let stop = Stop::never();
        assert_eq!(stop.unless_stopped(async { 7 }).await, Some(7));
        let waited = tokio::time::timeout(Duration::from_millis(50), stop.wait()).await;
        assert!(waited.is_err(), "no stop without a trigger");
    }
}
