//! [`SessionManager`]: the handle every other thread holds. Starts the
//! manager thread, writes typed keys on the caller's thread (the fast path),
//! and makes the blocking calls (`ctl send`, add a slot, remove a worktree).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::config::{Config, SlotConfig};
use crate::keys::{self};
use crate::profile::Profiles;
use crate::proto::{self, Command, SlotIdx};

use crate::server::bus::*;
use crate::server::manager;
use crate::server::options::*;
use crate::server::shared::*;
use crate::server::timing::*;

/// The handle to a running session manager.
pub struct SessionManager {
    tx: Sender<Msg>,
    /// Commands sent and not yet carried out by the manager thread.
    inflight: Arc<AtomicUsize>,
    slots: Arc<SlotList>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// The agent profiles (for slots a person adds).
    profiles: Profiles,
}

impl SessionManager {
    /// Starts the manager thread and a session for every slot.
    ///
    /// Errors: the transcript directory cannot be created. A slot whose
    /// command cannot start is reported as [`Event::SpawnFailed`] and shown as
    /// exited, never as an error here.
    pub fn start(config: &Config, opts: ManagerOptions, events: EventSink) -> anyhow::Result<Self> {
        let started = manager::start(config, opts, events)?;
        Ok(SessionManager {
            tx: started.tx,
            inflight: started.inflight,
            slots: started.slots,
            thread: Mutex::new(Some(started.thread)),
            profiles: started.profiles,
        })
    }

    /// Sends a command; commands are carried out in the order sent.
    ///
    /// A key, paste, mouse report or raw write is written to the slot's PTY
    /// on the calling thread when no earlier command is still waiting for
    /// the manager thread (the fast way to a keystroke's echo); everything
    /// else is carried out on the manager thread.
    pub fn send(&self, cmd: Command) {
        let cmd = if self.inflight.load(Ordering::Acquire) == 0 {
            match self.write_now(cmd) {
                Ok(()) => return,
                Err(cmd) => cmd,
            }
        } else {
            cmd
        };
        self.inflight.fetch_add(1, Ordering::AcqRel);
        if self.tx.send(Msg::Cmd(cmd)).is_err() {
            self.inflight.fetch_sub(1, Ordering::AcqRel);
            tracing::warn!("session manager is gone; command dropped");
        }
    }

    /// Calls `done` once every key, paste and write sent before this call
    /// for `slot` has reached its PTY (or cannot any more: no session, an
    /// unknown slot). A client that sent keys through the server waits for
    /// it before it writes into the PTY itself again, so its keys keep their
    /// order.
    pub fn when_input_written(&self, slot: SlotIdx, done: crate::server::pty::IdleCallback) {
        if self.inflight.load(Ordering::Acquire) == 0 {
            match self.slots.get(slot) {
                Some(s) => s.input.when_idle(done),
                None => done(),
            }
            return;
        }
        self.inflight.fetch_add(1, Ordering::AcqRel);
        if let Err(std::sync::mpsc::SendError(Msg::InputWritten { done, .. })) =
            self.tx.send(Msg::InputWritten { slot, done })
        {
            self.inflight.fetch_sub(1, Ordering::AcqRel);
            done();
        }
    }

    /// Writes a key, paste, mouse report or raw bytes to the slot's PTY now,
    /// encoded for the child's input modes. Gives the command back when the
    /// manager thread must carry it out: another kind of command, an unknown
    /// slot, a pane scrolled back (the manager returns it to the live screen
    /// first), a mouse event the child takes no report of (the wheel scrolls
    /// the view) or a flooding slot's engine that is busy (the UI never
    /// waits on it).
    fn write_now(&self, cmd: Command) -> Result<(), Command> {
        let slot = match &cmd {
            Command::Key { slot, .. }
            | Command::Paste { slot, .. }
            | Command::Write { slot, .. }
            | Command::Mouse { slot, .. } => *slot,
            _ => return Err(cmd),
        };
        let Some(s) = self.slots.get(slot) else {
            return Err(cmd);
        };
        let modes = {
            let engine = if s.yields() {
                s.try_lock()
            } else {
                Some(s.lock())
            };
            match engine {
                Some(e) if e.scroll_offset() == 0 => e.input_modes(),
                _ => return Err(cmd),
            }
        };
        let bytes = match cmd {
            Command::Key { key, .. } => keys::encode(key, modes),
            Command::Paste { text, .. } => keys::encode_paste(&text, modes),
            Command::Write { bytes, .. } => bytes,
            Command::Mouse { event, .. } => match keys::encode_mouse(event, modes) {
                Some(bytes) => bytes,
                // The child takes no mouse reports: the wheel scrolls the
                // view, which the manager does.
                None => return Err(cmd),
            },
            other => return Err(other),
        };
        // A structured slot's keys go to its composer, on the manager
        // thread, in order with everything else it does.
        if s.transport.is_structured() {
            let _ = self.tx.send(Msg::Compose { slot, bytes });
            return Ok(());
        }
        if let Err(error) = write_input(s, slot, &bytes) {
            // Said to the person by the manager thread, never dropped
            // silently.
            let _ = self.tx.send(Msg::InputRefused { slot, error });
        }
        Ok(())
    }

    /// Types `input` (then Enter, with `enter`) into slot `slot` for `corral
    /// ctl`, on the manager thread after every earlier command, unless a
    /// permission prompt is open there: the screen is read again first, so
    /// text never lands in a dialog that is on screen. An Enter after text
    /// goes [`ENTER_AFTER_TEXT`] later, checked the same way, and this
    /// returns once it went. Waits up to 10 s.
    ///
    /// Errors: why nothing was typed (a prompt is open, the slot runs no
    /// program, the manager is gone or busy).
    pub fn ctl_send(
        &self,
        slot: SlotIdx,
        input: proto::ctl::SendInput,
        enter: bool,
    ) -> Result<(), String> {
        let (reply, rx) = std::sync::mpsc::channel();
        self.tx
            .send(Msg::CtlSend {
                slot,
                input,
                enter,
                reply,
            })
            .map_err(|_| "the session manager is gone".to_string())?;
        rx.recv_timeout(Duration::from_secs(10))
            .map_err(|_| "the session manager did not answer".to_string())?
    }

    /// Adds slot `cfg` (`corral ctl new`) and starts its program, on the
    /// manager thread: every client is told before any of its output
    /// ([`ScreenSink::added`]). Returns its index. Waits up to 10 s.
    ///
    /// Errors: the id is taken or not valid, its agent has no profile, the
    /// session holds [`MAX_ADDED_SLOTS`] added slots already, the manager is
    /// gone.
    pub fn add_slot(&self, cfg: SlotConfig, size: (u16, u16)) -> Result<SlotIdx, String> {
        self.add_slot_near(cfg, size, None)
    }

    /// [`SessionManager::add_slot`], the slot working where slot `near`
    /// works (its worktree, else its directory) when `cfg` names no `cwd`:
    /// the `N` key adds an agent beside the focused one.
    ///
    /// Errors: as [`SessionManager::add_slot`].
    pub fn add_slot_near(
        &self,
        cfg: SlotConfig,
        size: (u16, u16),
        near: Option<SlotIdx>,
    ) -> Result<SlotIdx, String> {
        let (reply, rx) = std::sync::mpsc::channel();
        self.tx
            .send(Msg::AddSlot {
                cfg: Box::new(cfg),
                size,
                near,
                reply,
            })
            .map_err(|_| "the session manager is gone".to_string())?;
        rx.recv_timeout(Duration::from_secs(10))
            .map_err(|_| "the session manager did not answer".to_string())?
    }

    /// Removes slot `slot`'s git worktree (not while its program runs);
    /// without `force`, not while it has uncommitted changes. Returns its
    /// path.
    ///
    /// Errors: why not (the changes named), or git's message.
    pub fn remove_worktree(&self, slot: SlotIdx, force: bool) -> Result<String, String> {
        let (reply, rx) = std::sync::mpsc::channel();
        self.tx
            .send(Msg::RemoveWorktree { slot, force, reply })
            .map_err(|_| "the session manager is gone".to_string())?;
        rx.recv_timeout(Duration::from_secs(60))
            .map_err(|_| "the session manager did not answer".to_string())?
    }

    /// The program a slot of agent `agent` runs when the person adds one:
    /// its profile's first program, or the shell (`$SHELL`, else `sh`) for
    /// a profile that names none. `None` for an unknown agent.
    pub fn program_of(&self, agent: &str) -> Option<String> {
        let p = self.profiles.get(agent)?;
        Some(
            p.programs
                .first()
                .cloned()
                .unwrap_or_else(|| std::env::var("SHELL").unwrap_or_else(|_| "sh".into())),
        )
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when there are no slots.
    pub fn is_empty(&self) -> bool {
        self.slots.len() == 0
    }

    /// The shared state (engine) of a slot.
    pub fn slot(&self, slot: SlotIdx) -> Option<&Arc<SlotShared>> {
        self.slots.get(slot)
    }

    /// Clears a slot's dirty flag, returning whether it was set. Call before
    /// drawing the slot, so output during the draw raises a new event.
    pub fn take_dirty(&self, slot: SlotIdx) -> bool {
        self.slots
            .get(slot)
            .is_some_and(|s| s.ui_dirty.swap(false, Ordering::AcqRel))
    }

    /// Stops every child and waits (up to 3 s) for the manager thread.
    pub fn shutdown(&self) {
        self.stop();
    }

    fn stop(&self) {
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some(t) = thread else { return };
        self.inflight.fetch_add(1, Ordering::AcqRel);
        let _ = self.tx.send(Msg::Cmd(Command::Shutdown));
        {
            let deadline = Instant::now() + SHUTDOWN_GRACE + Duration::from_secs(2);
            while !t.is_finished() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(10));
            }
            if t.is_finished() {
                let _ = t.join();
            }
        }
    }
}

impl Drop for SessionManager {
    fn drop(&mut self) {
        self.stop();
    }
}
