//! A slot's state shared between its threads, the manager and the clients
//! ([`SlotShared`]), the list of them, and the [`ScreenSink`] that mirrors
//! every engine change.

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::detect::{self, Timing};
use crate::engine::Engine;
use crate::profile::Profile;
use crate::proto::{self, SlotIdx};

use crate::server::pty::*;

/// Receives every change to the slots' terminal engines, in the order the
/// engines saw them, each call made while that engine is locked (so what a
/// sink passes on stays in step with the engine). Calls must be quick and
/// must never wait for an engine lock.
pub trait ScreenSink: Send + Sync {
    /// `bytes` from slot `slot`'s program were just fed into `engine`.
    fn output(&self, slot: SlotIdx, bytes: &[u8], engine: &Engine);
    /// `engine` changed by other means than output (a resize, or a reset
    /// for a new session): a copy must be rebuilt from
    /// [`Engine::replay`].
    fn rebuilt(&self, slot: SlotIdx, engine: &Engine);

    /// Automatic answers are on or off as a server before left them (at
    /// start, before any client).
    fn auto_answers(&self, enabled: bool) {
        let _ = enabled;
    }

    /// Slot `slot` was added (`corral ctl new`), before it starts: called
    /// on the manager thread, so whoever shows slots knows it before any
    /// of its output or events.
    fn added(&self, slot: SlotIdx, info: &proto::SlotInfo) {
        let _ = (slot, info);
    }
}

/// State shared between a slot's threads and the UI.
pub struct SlotShared {
    /// The slot's terminal engine (kept across restarts).
    pub engine: Mutex<Engine>,
    pub(crate) ui_dirty: AtomicBool,
    pub(crate) detect_pending: AtomicBool,
    /// The session floods output and its reader runs at lower priority (see
    /// [`SlotShared::yields`]).
    pub(crate) flooding: AtomicBool,
    /// Milliseconds since the manager's epoch of the last output, 0 = none yet.
    pub(crate) last_output_ms: AtomicU64,
    /// The agent profile that reads this slot's screen.
    pub profile: Arc<Profile>,
    /// The ordered way into the running session's PTY.
    pub(crate) input: Arc<PtyInput>,
    /// How corral talks to the slot's agent: a structured slot's keys go
    /// to its composer, not to a PTY.
    pub(crate) transport: crate::agent_protocol::Transport,
    pub(crate) epoch: Instant,
    /// The running program's process id; 0 when none runs (or a test's
    /// fake has none).
    pub(crate) pid: AtomicU32,
    /// The id of its agent's conversation, for profiles with `[session]`.
    pub(crate) session_id: Mutex<Option<String>>,
    /// What its last session ran: the program and its arguments, and the
    /// directory it ran in.
    pub(crate) launch: Mutex<Option<Launch>>,
}

/// A session's command line and directory, as started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// The program, then its arguments (corral's own included).
    pub argv: Vec<String>,
    /// The directory it runs in.
    pub cwd: Option<PathBuf>,
    /// How it is confined, when its slot asks for a sandbox.
    pub sandbox: Option<crate::sandbox::SandboxStatus>,
}

impl SlotShared {
    /// How long before `now` the program last wrote output (since the
    /// manager started, when it never did).
    pub(crate) fn quiet_for(&self, now: Instant) -> Duration {
        let last = self.last_output_ms.load(Ordering::Acquire);
        let at = self.epoch + Duration::from_millis(last);
        now.saturating_duration_since(at)
    }

    /// The id corral gave the slot's agent conversation (resumed by it on
    /// a restart), for profiles with `[session]`.
    pub fn session_id(&self) -> Option<String> {
        self.session_id
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// What the slot's last session ran, and where.
    pub fn launch(&self) -> Option<Launch> {
        self.launch
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The running program's process id.
    pub fn pid(&self) -> Option<u32> {
        Some(self.pid.load(Ordering::Acquire)).filter(|p| *p != 0)
    }

    /// Detection on the current screen, explained (the in-app explain view).
    pub fn explain(&self) -> String {
        let snap = self.lock().snapshot();
        let last = self.last_output_ms.load(Ordering::Acquire);
        let now_ms = self.epoch.elapsed().as_millis() as u64;
        let timing = Timing {
            since_output_ms: (last != 0).then(|| now_ms.saturating_sub(last)),
        };
        let mut text =
            detect::explain(&self.profile, &detect::detect(&self.profile, &snap, timing));
        if let Some(id) = self.session_id() {
            text.push_str(&format!("\nconversation: {id} (a restart resumes it)\n"));
        }
        if let Some(sb) = self.launch().and_then(|l| l.sandbox) {
            text.push_str(&explain_sandbox(&sb));
        }
        text
    }

    /// Feeds `bytes` (slot `slot`'s output, or corral's own note) into the
    /// slot's engine and, while the engine is still locked, to `screens`,
    /// so every mirror sees the bytes in the engine's order: the one way
    /// into an engine. A panic in the engine is caught and returned (the
    /// mirrors are then not told: the session is to stop).
    pub(crate) fn feed(
        &self,
        slot: SlotIdx,
        bytes: &[u8],
        screens: Option<&dyn ScreenSink>,
    ) -> std::thread::Result<crate::engine::Processed> {
        let mut e = self.lock();
        let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| e.process(bytes)));
        if let (Ok(_), Some(sink)) = (&done, screens) {
            sink.output(slot, bytes, &e);
        }
        done
    }

    /// Locks the engine. A panic in another thread while it held the lock
    /// leaves the engine usable (the data is plain cells).
    pub fn lock(&self) -> MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A descriptor of the running session's PTY master, for a client that
    /// writes the person's keys to it itself.
    pub fn input_descriptor(&self) -> Option<File> {
        self.input.descriptor()
    }

    /// Locks the engine if no other thread holds it, else `None` at once.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, Engine>> {
        match self.engine.try_lock() {
            Ok(g) => Some(g),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    /// True while the session floods output: its reader thread runs at lower
    /// priority and can be preempted while it holds the engine, so a wait
    /// for the lock may take tens of milliseconds (measured under eight
    /// panes of `yes` on 2 cores). The UI does not wait for such a slot; it
    /// shows the slot's last drawn frame instead.
    pub fn yields(&self) -> bool {
        self.flooding.load(Ordering::Relaxed)
    }
}

/// Slots `corral ctl new` may add to a session beyond its configured ones.
pub const MAX_ADDED_SLOTS: usize = 64;

/// The slots' shared state, read from any thread without a lock while the
/// manager thread (the only writer) appends a slot: a fixed row of cells
/// set once, and how many are set.
pub(crate) struct SlotList {
    pub(crate) items: Vec<std::sync::OnceLock<Arc<SlotShared>>>,
    pub(crate) len: AtomicUsize,
}

impl SlotList {
    pub(crate) fn with_capacity(n: usize) -> SlotList {
        SlotList {
            items: (0..n).map(|_| std::sync::OnceLock::new()).collect(),
            len: AtomicUsize::new(0),
        }
    }

    pub(crate) fn get(&self, i: SlotIdx) -> Option<&Arc<SlotShared>> {
        if i < self.len.load(Ordering::Acquire) {
            self.items.get(i).and_then(|c| c.get())
        } else {
            None
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Appends; `None` when full. Only the manager thread calls it.
    pub(crate) fn push(&self, s: Arc<SlotShared>) -> Option<SlotIdx> {
        let i = self.len.load(Ordering::Acquire);
        self.items.get(i)?.set(s).ok()?;
        self.len.store(i + 1, Ordering::Release);
        Some(i)
    }
}

/// Writes corral's own `note` into slot `i`'s pane, as output of the slot
/// (clients see it too).
pub(crate) fn pane_note(
    shared: &SlotShared,
    screens: Option<&dyn ScreenSink>,
    i: SlotIdx,
    note: &str,
) {
    if shared.feed(i, note.as_bytes(), screens).is_err() {
        // The engine is plain cells and stays usable; the note is lost.
        tracing::error!(slot = i, "terminal engine panicked on corral's own note");
    }
    shared.ui_dirty.store(true, Ordering::Release);
}

/// The sandbox part of `ctl explain`: its state, where the session may
/// write, and what it does not cover.
pub(crate) fn explain_sandbox(sb: &crate::sandbox::SandboxStatus) -> String {
    let mut t = format!("\nsandbox: {}", sb.label());
    if let Some(abi) = sb.abi {
        t.push_str(&format!(" (Landlock ABI {abi})"));
    }
    t.push('\n');
    if let Some(why) = &sb.why {
        t.push_str(&format!("  {why}\n"));
    }
    if !sb.write.is_empty() {
        t.push_str("  may write: ");
        t.push_str(&sb.write.join(", "));
        t.push_str(", ttys and /dev/null\n");
        t.push_str("  not covered: reading, the network, permissions and times of files, services outside it\n");
    }
    t
}

/// Writes `bytes` to slot `slot`'s PTY through its input lane.
///
/// Errors: why they were not written or queued (no session runs; the
/// child is not reading and its queue is full), for the caller to say.
pub(crate) fn write_input(s: &SlotShared, slot: SlotIdx, bytes: &[u8]) -> Result<(), InputError> {
    let r = s.input.write(bytes);
    if let Err(e) = r {
        tracing::info!(slot, "{e}; input not sent");
    }
    r
}
