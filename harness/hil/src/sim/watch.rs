//! The simulator's watchdog. A simulation runs on a thread of its own and
//! streams its trace back in batches; this module runs it and watches it.
//! A step of the simulation takes microseconds of wall-clock time, so one
//! that does not finish for [`STALL`] means a task that never yields (a
//! busy loop in the device under test, e.g. a driver whose deadline is
//! stuck in the past): turmoil cannot preempt it, and the run would hang
//! forever. The watchdog then reports an infrastructure failure, with the
//! trace emitted up to that point already written, and abandons the thread
//! (a thread cannot be stopped; it ends with the process).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::backend::{BackendError, RunOutcome};
use crate::trace::sink::TraceSink;
use crate::trace::Record;

/// Wall-clock time without a finished step after which a simulation is
/// declared hung.
pub const STALL: Duration = Duration::from_secs(60);

/// How far the simulation got: steps finished and simulated time.
#[derive(Debug, Default)]
pub struct Progress {
    steps: AtomicU64,
    sim_ms: AtomicU64,
}

impl Progress {
    /// One more step finished, at simulated time `elapsed`.
    pub fn step(&self, elapsed: Duration) {
        self.sim_ms
            .store(elapsed.as_millis() as u64, Ordering::Relaxed);
        self.steps.fetch_add(1, Ordering::Relaxed);
    }

    fn steps(&self) -> u64 {
        self.steps.load(Ordering::Relaxed)
    }

    fn sim_ms(&self) -> u64 {
        self.sim_ms.load(Ordering::Relaxed)
    }
}

/// Sends batches of records to the thread that owns the real sink.
pub struct ChannelSink(SyncSender<Vec<Record>>);

impl ChannelSink {
    pub fn emit_batch(&mut self, batch: Vec<Record>) -> std::io::Result<()> {
        self.0.send(batch).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the trace sink is gone")
        })
    }
}

/// Runs `work` on a new thread (so that no thread-local state, tokio's or
/// turmoil's, carries over from an earlier run: one scenario and one seed
/// give one trace, whatever ran before), writes the batches it sends to
/// `sink` as they come, and returns its result. A panic in `work` and a
/// stall of `stall` without progress are infrastructure errors, reported
/// after everything emitted before them was written.
pub fn watched<F>(
    stall: Duration,
    work: F,
    sink: &mut dyn TraceSink,
) -> Result<RunOutcome, BackendError>
where
    F: FnOnce(&mut ChannelSink, &Progress) -> Result<RunOutcome, BackendError> + Send + 'static,
{
    let (tx, rx) = sync_channel::<Vec<Record>>(256);
    let progress = Arc::new(Progress::default());
    let p = progress.clone();
    let thread = std::thread::Builder::new()
        .name("hil-sim".into())
        .spawn(move || work(&mut ChannelSink(tx), &p))
        .map_err(|e| BackendError::Infrastructure(format!("cannot start the simulation: {e}")))?;
    if let Err(e) = drain(&rx, &progress, stall, sink) {
        if !matches!(e, BackendError::Trace(_)) {
            // Hung: the thread is left to the end of the process.
            return Err(e);
        }
        // The sink failed: dropping the receiver stops the simulation at
        // its next step; wait for that.
        drop(rx);
        let _ = thread.join();
        return Err(e);
    }
    thread.join().unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("unknown panic");
        Err(BackendError::Infrastructure(format!(
            "the simulation panicked: {what}"
        )))
    })
}

/// Writes batches until the simulation ends (its sender is dropped).
fn drain(
    rx: &Receiver<Vec<Record>>,
    progress: &Progress,
    stall: Duration,
    sink: &mut dyn TraceSink,
) -> Result<(), BackendError> {
    let poll = (stall / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
    let mut seen = (progress.steps(), Instant::now());
    loop {
        match rx.recv_timeout(poll) {
            Ok(batch) => {
                for record in batch {
                    sink.emit(record).map_err(BackendError::Trace)?;
                }
            }
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
            Err(RecvTimeoutError::Timeout) => {}
        }
        let steps = progress.steps();
        if steps != seen.0 {
            seen = (steps, Instant::now());
        } else if seen.1.elapsed() >= stall {
            return Err(BackendError::Infrastructure(format!(
                "the simulation stopped making progress at {} ms of simulated time: \
                 no step finished for {} s of wall-clock time (a task that never \
                 yields, e.g. a busy loop in the device under test); the run was abandoned",
                progress.sim_ms(),
                stall.as_secs_f64()
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::sink::VecSink;
    use crate::trace::{Actor, Event};

    fn record(t_ms: u64) -> Record {
        Record::new(t_ms, Actor::Faults, Event::WifiDown)
    }

    /// A simulation that stops stepping (here: sleeping forever, which the
    /// watchdog cannot tell from a busy loop) is reported within the stall
    /// window, with its earlier trace written.
    #[test]
    fn a_simulation_that_stops_stepping_is_an_infrastructure_failure() {
        let mut sink = VecSink::default();
        let started = Instant::now();
        let result = watched(
            Duration::from_millis(300),
            |out, progress| {
                progress.step(Duration::from_millis(5));
                out.emit_batch(vec![record(5)]).unwrap();
                loop {
                    std::thread::sleep(Duration::from_secs(3600));
                }
            },
            &mut sink,
        );
        let Err(BackendError::Infrastructure(why)) = result else {
            panic!("expected an infrastructure error, got {result:?}");
        };
        assert!(why.contains("stopped making progress at 5 ms"), "{why}");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(sink.records, vec![record(5)]);
    }

    /// Slow but steady progress is never cut short.
    #[test]
    fn a_slow_simulation_that_keeps_stepping_runs_to_the_end() {
        let mut sink = VecSink::default();
        let result = watched(
            Duration::from_millis(300),
            |out, progress| {
                for i in 0..12u64 {
                    std::thread::sleep(Duration::from_millis(100));
                    progress.step(Duration::from_millis(i));
                    if i % 4 == 0 {
                        out.emit_batch(vec![record(i)]).unwrap();
                    }
                }
                Ok(RunOutcome::at(11))
            },
            &mut sink,
        );
        assert_eq!(result.unwrap().end_ms, 11);
        assert_eq!(sink.records.len(), 3);
    }

    #[test]
    fn a_panic_is_an_infrastructure_failure_after_the_trace() {
        let mut sink = VecSink::default();
        let result = watched(
            STALL,
            |out, _| {
                out.emit_batch(vec![record(1)]).unwrap();
                panic!("boom");
            },
            &mut sink,
        );
        let Err(BackendError::Infrastructure(why)) = result else {
            panic!("expected an infrastructure error");
        };
        assert!(why.contains("panicked: boom"), "{why}");
        assert_eq!(sink.records.len(), 1);
    }
}
