//! A session's reader thread: PTY output into the slot's engine (and its
//! [`ScreenSink`]) under the engine lock, replies to the child's queries,
//! the transcript, and the flood meter.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;
use std::thread::{self};
use std::time::{Duration, Instant};

use crate::proto::{Event, SlotIdx};

use crate::server::bus::*;
use crate::server::pty::*;
use crate::server::shared::*;
use crate::server::timing::*;
use crate::server::transcript::Transcript;

/// Bytes within one [`FLOOD_WINDOW`] above which a session counts as
/// flooding (8 MiB/s; agents redrawing their screens stay far below it).
pub const FLOOD_BYTES: usize = 8 << 20;
/// The window over which [`FLOOD_BYTES`] is counted.
pub(crate) const FLOOD_WINDOW: Duration = Duration::from_secs(1);
/// Most bytes a flooding session's reader hands to the engine under one lock:
/// the reader runs at lower priority and may be preempted while it holds the
/// engine, so it holds it for one PTY read's worth at most.
pub(crate) const FLOOD_BATCH: usize = 4096;
/// Nice value a flooding session's reader thread takes (Linux, per thread).
pub(crate) const FLOOD_NICE: libc::c_int = 10;

/// Detects a session that floods output (`yes`, a runaway log): true once,
/// the first time more than [`FLOOD_BYTES`] arrive within [`FLOOD_WINDOW`].
#[derive(Debug, Default)]
pub(crate) struct FloodMeter {
    window_start: Option<Instant>,
    bytes: usize,
    tripped: bool,
    /// Bytes within the window that trip it.
    limit: usize,
}

impl FloodMeter {
    fn add(&mut self, n: usize, now: Instant) -> bool {
        if self.tripped {
            return false;
        }
        match self.window_start {
            Some(t) if now.duration_since(t) < FLOOD_WINDOW => self.bytes += n,
            _ => {
                self.window_start = Some(now);
                self.bytes = n;
            }
        }
        self.tripped = self.bytes > self.limit;
        self.tripped
    }
}

/// Lowers the calling thread's scheduling priority so that a flooding
/// session yields the CPU to the UI and to the panes the user types in (a
/// key still echoes at once while eight panes run `yes`). Every byte is
/// still read, parsed and written to the transcript. Only Linux sets the
/// nice value per thread; elsewhere this does nothing.
pub(crate) fn yield_to_interactive_work() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain syscalls on the calling thread's own id; no memory is shared.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, FLOOD_NICE);
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn spawn_reader(
    id: &str,
    slot: SlotIdx,
    generation: u64,
    mut reader: PtyReader,
    shared: Arc<SlotShared>,
    mgr: Sender<Msg>,
    events: EventSink,
    epoch: Instant,
    mut transcript: Option<Transcript>,
    screens: Option<Arc<dyn ScreenSink>>,
    flood_bytes: usize,
) {
    let _ = thread::Builder::new()
        .name(format!("read-{id}"))
        .spawn(move || {
            let mut buf = vec![0u8; READ_CHUNK];
            let mut flood = FloodMeter {
                limit: flood_bytes,
                ..FloodMeter::default()
            };
            shared.flooding.store(false, Ordering::Relaxed);
            let mut filled = 0;
            let mut batch_max = READ_CHUNK;
            loop {
                // An error ends the session like the end of output does.
                let n = reader.read(&mut buf[filled..]).unwrap_or_default();
                filled += n;
                // Output that arrives faster than one read takes it (a
                // burst): gather what is already waiting, up to `batch_max`,
                // for one engine lock, one transcript write and one wakeup. A
                // keystroke's echo (nothing more waiting) goes through at
                // once. A read may return more than PTY_READ_MAX; the next
                // one always gets at least that much room.
                if n > 0 && filled + PTY_READ_MAX <= batch_max && reader.ready() {
                    continue;
                }
                if filled == 0 {
                    break;
                }
                let chunk = &buf[..std::mem::take(&mut filled)];
                if flood.add(chunk.len(), Instant::now()) {
                    yield_to_interactive_work();
                    shared.flooding.store(true, Ordering::Relaxed);
                    batch_max = FLOOD_BATCH;
                    tracing::info!(
                        slot,
                        "output flood: reader thread now runs at lower priority"
                    );
                }
                let done = shared.feed(slot, chunk, screens.as_deref());
                // A small batch (a keystroke's echo) just went to the
                // clients, whose readers the kernel woke to run on this
                // core: let them, before this thread's own work after it
                // (the transcript, detection's wake-up).
                if screens.is_some() && chunk.len() <= PTY_READ_MAX && batch_max != FLOOD_BATCH {
                    thread::yield_now();
                }
                let done = match done {
                    Ok(d) => d,
                    Err(_) => {
                        if let Some(t) = transcript.as_mut() {
                            let _ = t.write(chunk);
                        }
                        tracing::error!(slot, "terminal engine panicked; stopping the session");
                        let _ = mgr.send(Msg::EngineFailed { slot, generation });
                        break;
                    }
                };
                if !done.replies.is_empty() {
                    // Replies to the program's own terminal queries: not a
                    // person's input, and a program that does not read
                    // them does not ask again.
                    let _ = write_input(&shared, slot, &done.replies);
                }
                let ms = (epoch.elapsed().as_millis() as u64).max(1);
                shared.last_output_ms.store(ms, Ordering::Release);
                if done.title_changed {
                    let title = shared.lock().title().to_string();
                    let _ = events.send(Event::Title { slot, title });
                }
                if done.bells > 0 {
                    let _ = events.send(Event::Bell { slot });
                }
                if !shared.ui_dirty.swap(true, Ordering::AcqRel) {
                    let _ = events.send(Event::Output { slot });
                }
                let urgent = done.title_changed || done.bells > 0;
                if !shared.detect_pending.swap(true, Ordering::AcqRel) || urgent {
                    let _ = mgr.send(Msg::Output { slot, urgent });
                }
                // The disk comes last: a write held up by the kernel's
                // writeback (other sessions flooding) must not delay what
                // the user sees.
                if let Some(t) = transcript.as_mut()
                    && let Err(e) = t.write(chunk)
                {
                    tracing::warn!(slot, "transcript: {e}; no longer written");
                    transcript = None;
                }
                if n == 0 {
                    break;
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn flood_meter_trips_once_on_sustained_output() {
        let t0 = Instant::now();
        let mut m = FloodMeter {
            limit: FLOOD_BYTES,
            ..FloodMeter::default()
        };
        // 4 MiB/s for 3 s: an agent redrawing hard, not a flood.
        for i in 0..300u64 {
            assert!(!m.add(40 << 10, t0 + Duration::from_millis(i * 10)));
        }
        let t1 = t0 + Duration::from_secs(10);
        let mut trips = 0;
        for i in 0..300u64 {
            trips += usize::from(m.add(1 << 20, t1 + Duration::from_millis(i * 10)));
        }
        assert_eq!(trips, 1);
    }
}
