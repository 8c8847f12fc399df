//! The in-process session manager: one PTY, child process and terminal engine
//! per slot; commands in ([`Command`]), events out ([`Event`]).
//!
//! Threads: one manager thread owns every session's state (detection,
//! prompts, answers, restarts); per session one reader thread (PTY output into
//! the engine, replies to the child's queries, transcript), one writer thread
//! (so a child that stops reading never blocks corral; see `pty.rs`) and one
//! waiter thread (exit status). Readers raise a per-session dirty flag and wake
//! the UI only on its false-to-true edge. A typed key or paste is written to
//! the PTY on the calling (UI) thread when no earlier command is still waiting
//! for the manager, so it never overtakes one.
//!
//! This module never uses ratatui, crossterm or tui-term (a test enforces it):
//! a socket server could speak the same commands and events.

mod clients;
mod confine;
mod conversation;
mod ctl;
pub mod host;
mod probe;
mod pty;
mod socket;
pub mod state;
mod transcript;
mod view;

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, MasterPty, PtySize, native_pty_system};

use pty::{InputError, PtyInput, PtyReader};
use serde::Serialize;
use transcript::Transcript;

use crate::agent_hook;
use crate::config::{Config, RestartPolicy, SlotConfig};
use crate::detect::{self, AgentState, Answer, Prompt, PromptId, PromptSource, Timing};
use crate::engine::Engine;
use crate::keys::{self, KeyPress};
use crate::policy::{Policy, Subject, Verdict};
use crate::profile::{Profile, Profiles, SessionIdSource, SessionSpec};
use crate::proto::{self, HookDecision, HookReply, HookRequest, PROTO_VERSION};

/// How long the exit of a slot's program waits for the rest of its PTY
/// session to end before it is reported.
const SESSION_GONE_WAIT: Duration = Duration::from_secs(3);

/// A resumed session that fails this soon, before its agent was ever
/// ready, was refused by the agent: corral starts a new conversation.
const RESUME_GRACE: Duration = Duration::from_secs(10);

/// Debounce between output and detection, in milliseconds.
pub const DETECT_DEBOUNCE_MS: u64 = 100;
/// How long a prompt must stay unchanged on screen before a policy answers
/// it, in milliseconds. Agents draw a dialog before they listen for keys
/// (Claude Code 2.1.329 dropped a key sent 3 ms after the dialog appeared);
/// with the detection debounce this keeps automatic answers under 500 ms.
pub const POLICY_SETTLE_MS: u64 = 300;
/// How long a permission dialog may be on the screen of a slot whose agent
/// has corral's hook before the inbox shows it as a screen prompt, in
/// milliseconds: the agent starts its hook as it draws the dialog, and the
/// hook's exact request replaces the screen reading.
pub const HOOK_GRACE_MS: u64 = 1500;

/// After corral resizes a slot's PTY (a terminal resize, a zoom), how long
/// its agent may take to draw its dialog again, in milliseconds. Meanwhile a
/// dialog the screen stops showing is still pending, and one drawn again at
/// the new size is the same prompt: it keeps its id and its age. An agent
/// still drawing gets [`REFLOW_QUIET_MS`] after its last output, up to
/// [`REFLOW_MAX_MS`] after the resize.
pub const REFLOW_GRACE_MS: u64 = 2000;

/// See [`REFLOW_GRACE_MS`]: quiet time after the agent's last output, in
/// milliseconds.
pub const REFLOW_QUIET_MS: u64 = 1000;

/// See [`REFLOW_GRACE_MS`]: the longest a reflow is waited for, in
/// milliseconds.
pub const REFLOW_MAX_MS: u64 = 10_000;
/// How long the screen of an agent that draws its dialog while its hook
/// runs (Claude Code) must read idle, with no dialog, before a request whose
/// dialog corral never read is taken as answered in the pane.
const HOOK_IDLE: Duration = Duration::from_millis(1000);

/// How long after `ctl send`'s text, and after the program's last output,
/// its Enter goes: Gemini CLI 0.61 drops an Enter that comes within 500 ms
/// of a paste, and Codex CLI takes one right after fast input as part of a
/// paste.
const ENTER_AFTER_TEXT: Duration = Duration::from_millis(600);

/// The latest an Enter after text goes, however busy the program's output.
const ENTER_MAX: Duration = Duration::from_secs(5);
/// How long an answer handed back from a hook waits for the agent's dialog,
/// in milliseconds.
pub const AFTER_HOOK_MS: u64 = 30_000;
/// How often the screen is read again while such an answer waits, in
/// milliseconds.
const AFTER_HOOK_RECHECK_MS: u64 = 250;
/// An answered prompt still on screen, unchanged, after this long may be
/// answered again (the agent missed the keys), in milliseconds.
pub const REANSWER_AFTER_MS: u64 = 2000;
/// Most bytes a reader thread gathers before it hands them to the engine
/// and the transcript.
const READ_CHUNK: usize = 64 * 1024;
/// Most bytes one read of a PTY master returns on Linux (the n_tty line
/// discipline's buffer).
const PTY_READ_MAX: usize = 4096;
/// First restart delay; doubles up to [`RESTART_MAX`].
const RESTART_MIN: Duration = Duration::from_secs(1);
/// Longest restart delay.
const RESTART_MAX: Duration = Duration::from_secs(30);
/// How long agents have to end after SIGHUP when corral stops them all
/// (quit, `corral kill-server`) before they get SIGKILL.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// A session that ran this long resets the restart delay.
const RESTART_RESET_AFTER: Duration = Duration::from_secs(30);

pub use crate::proto::{AnsweredBy, Command, Event, SlotIdx};

/// Where events go: any thread may send.
pub type EventSink = tokio::sync::mpsc::UnboundedSender<Event>;

/// Options of [`SessionManager::start`].
#[derive(Clone)]
pub struct ManagerOptions {
    /// Directory for raw transcripts (`<slot>.raw`), created if missing;
    /// `None` keeps none.
    pub transcript_dir: Option<PathBuf>,
    /// Where slots with `worktree` get theirs (`<dir>/<slot id>`); the
    /// system's temporary directory when `None`.
    pub worktree_dir: Option<PathBuf>,
    /// The state file ([`state`]): read at start to bring the slots back
    /// as a server before left them, and kept up to date. `None`: none.
    /// It keeps each config's slots apart (by the config's path, from
    /// [`Config::origin`]).
    pub state_file: Option<PathBuf>,
    /// The session's name, written in every audit record.
    pub session: String,
    /// Bytes within one second above which a session counts as flooding
    /// and its reader yields ([`FLOOD_BYTES`] in the server; a test on a
    /// slow PTY may take less).
    pub flood_bytes: usize,
    /// Bytes a transcript file holds before it becomes `<slot>.raw.1`
    /// (replacing the one before) and a new one starts.
    pub transcript_max_bytes: u64,
    /// The audit log (JSON lines), created if missing.
    pub audit_path: Option<PathBuf>,
    /// Initial PTY size of each slot as (rows, cols); missing entries get 24x80.
    pub sizes: Vec<(u16, u16)>,
    /// Scrollback rows per slot.
    pub scrollback_rows: usize,
    /// Agent profiles; a slot whose agent has none uses `generic`.
    pub profiles: Profiles,
    /// Rules that answer prompts automatically.
    pub policy: Policy,
    /// Where agents' permission hooks reach this manager; `None` installs no
    /// hooks (every prompt is read off the screen).
    pub hook: Option<HookOptions>,
    /// Told of every change to every slot's terminal, in order (see
    /// [`ScreenSink`]): the server forwards them to its clients' mirrors.
    pub screens: Option<Arc<dyn ScreenSink>>,
    /// What starts the programs; `None` starts real processes
    /// ([`PtySpawner`]).
    pub spawner: Option<Arc<dyn Spawner>>,
    /// corral's executable, whose `parse-probe` parses each shell command
    /// under hard limits before the policy does ([`probe`]); `None` parses
    /// in process only (tests that run no corral binary).
    pub probe_exe: Option<PathBuf>,
}

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

/// How agents' permission hooks reach the session manager.
#[derive(Clone)]
pub struct HookOptions {
    /// The `corral` executable the hook command runs (`corral hook ...`).
    pub exe: PathBuf,
    /// The directory of the socket (made private, 0700).
    pub runtime_dir: PathBuf,
    /// The socket's name: `<name>.sock` (the session name).
    pub name: String,
    /// Who takes connections that open with a client [`proto::Hello`]
    /// (`None`: they are refused).
    pub clients: Option<ClientHandler>,
}

/// Takes over a client's connection after its [`proto::Hello`]: the reader
/// holds whatever the client sent after it.
pub type ClientHandler = Arc<dyn Fn(proto::Hello, std::io::BufReader<UnixStream>) + Send + Sync>;

/// State shared between a slot's threads and the UI.
pub struct SlotShared {
    /// The slot's terminal engine (kept across restarts).
    pub engine: Mutex<Engine>,
    ui_dirty: AtomicBool,
    detect_pending: AtomicBool,
    /// The session floods output and its reader runs at lower priority (see
    /// [`SlotShared::yields`]).
    flooding: AtomicBool,
    /// Milliseconds since the manager's epoch of the last output, 0 = none yet.
    last_output_ms: AtomicU64,
    /// The agent profile that reads this slot's screen.
    pub profile: Arc<Profile>,
    /// The ordered way into the running session's PTY.
    input: Arc<PtyInput>,
    epoch: Instant,
    /// The running program's process id; 0 when none runs (or a test's
    /// fake has none).
    pid: AtomicU32,
    /// The id of its agent's conversation, for profiles with `[session]`.
    session_id: Mutex<Option<String>>,
    /// What its last session ran: the program and its arguments, and the
    /// directory it ran in.
    launch: Mutex<Option<Launch>>,
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
    fn quiet_for(&self, now: Instant) -> Duration {
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

enum Msg {
    Cmd(Command),
    /// Input written on the caller's thread was not taken: said to clients.
    InputRefused {
        slot: SlotIdx,
        error: InputError,
    },
    /// A slot's reader saw output (of any of its sessions: the flag it
    /// raised is the slot's, so even a stopped session's last one counts).
    Output {
        slot: SlotIdx,
        urgent: bool,
    },
    Exited {
        slot: SlotIdx,
        generation: u64,
        status: String,
        success: bool,
    },
    EngineFailed {
        slot: SlotIdx,
        generation: u64,
    },
    Socket(socket::SocketMsg),
    /// `corral ctl worktree SLOT remove`.
    RemoveWorktree {
        slot: SlotIdx,
        force: bool,
        reply: std::sync::mpsc::Sender<Result<String, String>>,
    },
    /// A worktree made off the manager thread for slot `slot` (`Ok`), or
    /// why not: the slot starts now (or says why it cannot).
    WorktreeMade {
        slot: SlotIdx,
        made: Result<(), String>,
    },
    /// `corral ctl new`.
    AddSlot {
        cfg: Box<SlotConfig>,
        size: (u16, u16),
        /// With no `cwd` of its own, the slot works where this one does.
        near: Option<SlotIdx>,
        reply: std::sync::mpsc::Sender<Result<SlotIdx, String>>,
    },
    /// `corral ctl send` and `prompt`: type unless a prompt is open.
    CtlSend {
        slot: SlotIdx,
        input: proto::ctl::SendInput,
        enter: bool,
        reply: std::sync::mpsc::Sender<Result<(), String>>,
    },
}

/// Slots `corral ctl new` may add to a session beyond its configured ones.
pub const MAX_ADDED_SLOTS: usize = 64;

/// The slots' shared state, read from any thread without a lock while the
/// manager thread (the only writer) appends a slot: a fixed row of cells
/// set once, and how many are set.
struct SlotList {
    items: Vec<std::sync::OnceLock<Arc<SlotShared>>>,
    len: AtomicUsize,
}

impl SlotList {
    fn with_capacity(n: usize) -> SlotList {
        SlotList {
            items: (0..n).map(|_| std::sync::OnceLock::new()).collect(),
            len: AtomicUsize::new(0),
        }
    }

    fn get(&self, i: SlotIdx) -> Option<&Arc<SlotShared>> {
        if i < self.len.load(Ordering::Acquire) {
            self.items.get(i).and_then(|c| c.get())
        } else {
            None
        }
    }

    fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Appends; `None` when full. Only the manager thread calls it.
    fn push(&self, s: Arc<SlotShared>) -> Option<SlotIdx> {
        let i = self.len.load(Ordering::Acquire);
        self.items.get(i)?.set(s).ok()?;
        self.len.store(i + 1, Ordering::Release);
        Some(i)
    }
}

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
        if let Some(dir) = &opts.transcript_dir {
            std::fs::create_dir_all(dir)?;
        }
        let (tx, rx) = mpsc::channel();
        let inflight = Arc::new(AtomicUsize::new(0));
        let epoch = Instant::now();
        let shared = Arc::new(SlotList::with_capacity(
            config.slots.len() + MAX_ADDED_SLOTS,
        ));
        let mut rts = Vec::new();
        for (i, cfg) in config.slots.iter().enumerate() {
            let size = opts.sizes.get(i).copied().unwrap_or((24, 80));
            let rt = new_slot(cfg, size, &opts.profiles, opts.scrollback_rows, epoch)?;
            shared.push(rt.shared.clone());
            rts.push(rt);
        }
        let socket = match &opts.hook {
            Some(h) => {
                let tx = tx.clone();
                match socket::bind(
                    &h.runtime_dir,
                    &h.name,
                    move |m| tx.send(Msg::Socket(m)).is_ok(),
                    h.clients.clone(),
                ) {
                    Ok(s) => {
                        tracing::info!(path = %s.path().display(), "hook socket");
                        Some(s)
                    }
                    Err(e) => {
                        tracing::warn!(
                            "no hook socket in {}: {e}; prompts are read off the screen",
                            h.runtime_dir.display()
                        );
                        None
                    }
                }
            }
            None => None,
        };
        let profiles_copy = opts.profiles.clone();
        let protected: Vec<PathBuf> = [
            opts.audit_path.as_deref().and_then(Path::parent),
            opts.state_file.as_deref().and_then(Path::parent),
            opts.hook.as_ref().map(|h| h.runtime_dir.as_path()),
            config
                .origin
                .as_ref()
                .and_then(|(p, _)| p.parent())
                .filter(|p| !p.as_os_str().is_empty()),
        ]
        .into_iter()
        .flatten()
        .map(Path::to_path_buf)
        .collect();
        let mut mgr = Manager {
            hook_exe: opts.hook.as_ref().map(|h| h.exe.clone()),
            socket,
            policy: opts.policy,
            auto: true,
            slots: rts,
            tx: tx.clone(),
            inflight: inflight.clone(),
            events,
            epoch,
            transcript_dir: opts.transcript_dir,
            transcript_max_bytes: opts.transcript_max_bytes,
            screens: opts.screens,
            spawner: opts.spawner.unwrap_or_else(|| Arc::new(PtySpawner)),
            audit_path: opts.audit_path,
            profiles: opts.profiles,
            scrollback_rows: opts.scrollback_rows,
            shared: shared.clone(),
            worktree_dir: opts.worktree_dir,
            state_file: opts.state_file.clone(),
            configured: config.slots.len(),
            session: opts.session.clone(),
            flood_bytes: opts.flood_bytes,
            config_key: config
                .origin
                .as_ref()
                .map(|(p, t)| crate::proto::ConfigId::of(p, t).path)
                .unwrap_or_default(),
            other_configs: Vec::new(),
            sandbox: config.sandbox.clone(),
            exe: std::env::current_exe().ok(),
            protected,
            probe_exe: opts.probe_exe,
        };
        let restored = opts
            .state_file
            .as_deref()
            .map_or(state::Loaded::None, state::load);
        let thread = thread::Builder::new()
            .name("corral-sessions".into())
            // Room beyond the default 2 MiB: deciding walks parsed commands
            // (bounded in depth, see `policy::shell::MAX_NESTING`), and a
            // deep walk must never take the server down.
            .stack_size(SESSIONS_STACK_BYTES)
            .spawn(move || {
                mgr.restore(restored);
                mgr.run(rx);
            })?;
        Ok(SessionManager {
            tx,
            inflight,
            slots: shared,
            thread: Mutex::new(Some(thread)),
            profiles: profiles_copy,
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

struct Live {
    master: Box<dyn MasterPty + Send>,
    input: Arc<PtyInput>,
    pid: Option<u32>,
    /// Ends a child that has no process id to signal (a test's fake).
    killer: Mutex<Box<dyn portable_pty::ChildKiller + Send + Sync>>,
}

impl Live {
    /// Sends `sig` to the child's process group; a child without a process
    /// id is killed through its killer.
    fn signal(&self, sig: libc::c_int) {
        if self.pid.is_some() {
            signal_group(self.pid, sig);
        } else {
            let _ = self.killer.lock().unwrap_or_else(|p| p.into_inner()).kill();
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.input.close();
    }
}

struct SlotRt {
    profile: Arc<Profile>,
    cfg: SlotConfig,
    id: String,
    shared: Arc<SlotShared>,
    live: Option<Live>,
    generation: u64,
    state: AgentState,
    prompt: Option<Prompt>,
    prompt_seq: u64,
    /// When the current prompt was detected.
    prompt_opened: Option<Instant>,
    /// A policy answer waiting for the prompt to settle.
    policy_due: Option<(Instant, PromptId)>,
    /// An answer by keys waiting for the agent's dialog to settle (agents
    /// drop keys that come before they listen).
    answer_due: Option<(Instant, PromptId, Answer, AnsweredBy)>,
    answered: Option<PromptId>,
    answered_at: Option<Instant>,
    detect_due: Option<Instant>,
    restart_due: Option<Instant>,
    backoff: Duration,
    started_at: Instant,
    size: (u16, u16),
    restart_now: bool,
    /// Why the session is being stopped by corral, reported as its status.
    failure: Option<String>,
    /// The prompt read off the screen now (with its id), whether or not the
    /// inbox shows it.
    screen: Option<Prompt>,
    /// When the current screen prompt appeared.
    screen_since: Option<Instant>,
    /// A screen dialog whose hook request was answered: never shown again.
    answered_dialog: Option<u64>,
    /// When corral last resized the PTY of the running session.
    reflowed_at: Option<Instant>,
    /// Hook requests waiting for an answer, oldest first; the first is the
    /// inbox prompt.
    hooks: VecDeque<HookPending>,
    /// The secret the current session's hook was installed with; empty when
    /// no hook is installed.
    hook_token: String,
    /// The working directory the session started in (policy judges writes
    /// against it).
    cwd: Option<PathBuf>,
    /// An answer the hook could not carry, for the dialog the agent draws
    /// next (see [`crate::profile::HookSpec::dialog_after_hook`]).
    after_hook: Option<AfterHook>,
    /// Since when the screen has read as idle (the agent at its prompt,
    /// no dialog), whatever a pending hook request makes the state.
    idle_since: Option<Instant>,
    /// `ctl send --enter`: the Enter that follows the text.
    enter_due: Option<EnterDue>,
    /// Its git worktree (repository, path, branch), once made.
    worktree: Option<(PathBuf, PathBuf, String)>,
    /// When input for it was last refused (said once a second at most).
    refused_at: Option<Instant>,
    /// How its current session is confined, when it asks for a sandbox.
    sandbox: Option<crate::sandbox::SandboxStatus>,
    /// The id of its agent's conversation (profiles with `[session]`):
    /// given by corral or learned from the agent.
    session_id: Option<String>,
    /// Restored from a server before: its next start tells the sidebar
    /// whether it resumed.
    restored: bool,
    /// This session was started resuming its conversation.
    resuming: bool,
    /// This session's agent has been idle, working or asking: it got
    /// past its start.
    was_ready: bool,
    /// Its worktree is being made off the manager thread.
    making: bool,
    /// ... and then it is not to start (killed meanwhile).
    making_cancelled: bool,
    /// Its worktree was just made: the setup commands run.
    made_now: bool,
}

/// The Enter of a `ctl send --enter` that follows its text.
struct EnterDue {
    /// When it is next looked at.
    at: Instant,
    /// When the text went.
    sent: Instant,
    /// Who waits for it.
    reply: std::sync::mpsc::Sender<Result<(), String>>,
}

/// An answer waiting for the agent's own dialog of a request handed back
/// from its hook.
struct AfterHook {
    tool: String,
    subject: String,
    answer: Answer,
    by: AnsweredBy,
    /// Given up after this (the dialog then waits for the person).
    until: Instant,
}

/// A hook request waiting for its answer.
struct HookPending {
    conn: u64,
    /// Where the reply goes.
    stream: UnixStream,
    prompt: Prompt,
    opened: Instant,
    /// The screen dialog seen while this request waited (its latest text
    /// hash): when it closes or shows another tool call, the person answered
    /// it in the pane.
    screen_hash: Option<u64>,
    /// That dialog's tool and subject: a redraw (a resize re-wraps it) keeps
    /// them.
    screen_key: Option<(String, String)>,
    /// The directory the agent runs the tool in, as its hook reported it.
    cwd: Option<PathBuf>,
    /// The agent draws its dialog while this hook runs (Claude Code), so
    /// its screen never reads idle while the request is real.
    drawn_with_hook: bool,
}

impl HookPending {
    /// Sends the reply and closes the connection (the hook then exits).
    fn reply(self, reply: &HookReply) {
        send_reply(self.conn, &self.stream, reply);
    }
}

/// Writes `reply` on a hook's connection and closes it.
fn send_reply(conn: u64, stream: &UnixStream, reply: &HookReply) {
    let mut w = stream;
    let _ = w.set_write_timeout(Some(Duration::from_secs(2)));
    if let Err(e) = proto::write_frame(&mut w, reply) {
        tracing::info!(conn, "hook reply not delivered: {e}");
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

struct Manager {
    /// The socket agents' hooks reach; `None` when hooks are off.
    socket: Option<socket::Socket>,
    hook_exe: Option<PathBuf>,
    policy: Policy,
    auto: bool,
    slots: Vec<SlotRt>,
    tx: Sender<Msg>,
    /// Shared with [`SessionManager`]; lowered once a command is carried out.
    inflight: Arc<AtomicUsize>,
    events: EventSink,
    epoch: Instant,
    transcript_dir: Option<PathBuf>,
    transcript_max_bytes: u64,
    audit_path: Option<PathBuf>,
    screens: Option<Arc<dyn ScreenSink>>,
    spawner: Arc<dyn Spawner>,
    /// The agent profiles, for slots added later.
    profiles: Profiles,
    scrollback_rows: usize,
    /// The slots' shared state, as [`SessionManager`] reads it.
    shared: Arc<SlotList>,
    /// Where slots' worktrees go (one directory per slot id).
    worktree_dir: Option<PathBuf>,
    /// The state file, kept up to date.
    state_file: Option<PathBuf>,
    /// How many slots the config has (the rest were added at runtime).
    configured: usize,
    /// The session's name (audit records carry it).
    session: String,
    /// See [`ManagerOptions::flood_bytes`].
    flood_bytes: usize,
    /// The config's path: the state file keeps each config's slots apart.
    config_key: String,
    /// What the state file holds for other configs, written back unchanged.
    other_configs: Vec<state::ConfigState>,
    /// The `[sandbox]` table.
    sandbox: crate::config::SandboxConfig,
    /// corral's own executable: a sandboxed slot starts through its
    /// `sandbox` command.
    exe: Option<PathBuf>,
    /// Directories no sandbox grant may contain (see [`confine::Context`]).
    protected: Vec<PathBuf>,
    /// See [`ManagerOptions::probe_exe`].
    probe_exe: Option<PathBuf>,
}

/// One line of `audit.jsonl`.
#[derive(Debug, Serialize)]
struct AuditRecord<'a> {
    time: String,
    /// The session's name: `corral audit -s NAME` shows one session.
    session: &'a str,
    slot: &'a str,
    agent: &'a str,
    generation: u64,
    prompt_id: String,
    tool: &'a str,
    subject: &'a str,
    question: &'a str,
    answer: String,
    by: &'a AnsweredBy,
    result: &'a str,
    /// `hook` or `screen`: where the tool and subject came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<PromptSource>,
    /// Why a screen prompt's subject was not known exact.
    #[serde(skip_serializing_if = "Option::is_none")]
    incomplete: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    /// Milliseconds from the prompt's detection to this record.
    #[serde(skip_serializing_if = "Option::is_none")]
    waited_ms: Option<u64>,
    /// How the slot's session was confined, when it asks for a sandbox.
    #[serde(skip_serializing_if = "Option::is_none")]
    sandbox: Option<&'a crate::sandbox::SandboxStatus>,
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn signal_group(pid: Option<u32>, sig: libc::c_int) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()).filter(|p| *p > 0) {
        // The child leads its own session (setsid), so -pid is its group.
        // SAFETY: kill(2) with a valid signal number has no memory effects.
        unsafe {
            if libc::kill(-pid, sig) != 0 {
                libc::kill(pid, sig);
            }
        }
    }
}

impl Manager {
    fn emit(&self, ev: Event) {
        let _ = self.events.send(ev);
    }

    fn run(&mut self, rx: Receiver<Msg>) {
        loop {
            let deadline = self
                .slots
                .iter()
                .flat_map(|s| {
                    [
                        s.detect_due,
                        s.restart_due,
                        s.policy_due.map(|p| p.0),
                        s.answer_due.as_ref().map(|a| a.0),
                        s.enter_due.as_ref().map(|e| e.at),
                    ]
                })
                .flatten()
                .min();
            let msg = match deadline {
                Some(d) => match rx.recv_timeout(d.saturating_duration_since(Instant::now())) {
                    Ok(m) => Some(m),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                },
                None => match rx.recv() {
                    Ok(m) => Some(m),
                    Err(_) => break,
                },
            };
            match msg {
                Some(Msg::Cmd(Command::Shutdown)) => {
                    self.shutdown_all(&rx);
                    return;
                }
                Some(Msg::Cmd(c)) => {
                    self.command(c);
                    self.inflight.fetch_sub(1, Ordering::AcqRel);
                }
                Some(Msg::Output { slot, urgent }) => {
                    // One from a session before (its reader's last output
                    // as it was stopped) still schedules a detection: the
                    // slot's `detect_pending` flag it raised would else hold
                    // off the new session's wake-ups, leaving it `starting`.
                    if let Some(s) = self.slots.get_mut(slot)
                        && s.live.is_some()
                    {
                        let at = Instant::now()
                            + if urgent {
                                Duration::ZERO
                            } else {
                                Duration::from_millis(DETECT_DEBOUNCE_MS)
                            };
                        s.detect_due = Some(s.detect_due.map_or(at, |d| d.min(at)));
                    }
                }
                Some(Msg::Exited {
                    slot,
                    generation,
                    status,
                    success,
                }) => self.exited(slot, generation, status, success),
                Some(Msg::EngineFailed { slot, generation }) => {
                    // The session is errored: stop its child; the exit is
                    // reported with this reason and the restart policy applies.
                    if let Some(s) = self.slots.get_mut(slot)
                        && s.generation == generation
                    {
                        s.failure = Some("terminal engine error".into());
                        if let Some(live) = &s.live {
                            kill_later(live);
                        }
                    }
                }
                Some(Msg::Socket(socket::SocketMsg::Hook {
                    conn,
                    request,
                    stream,
                })) => self.hook_opened(conn, request, stream),
                Some(Msg::Socket(socket::SocketMsg::Gone { conn })) => self.hook_gone(conn),
                Some(Msg::WorktreeMade { slot, made }) => {
                    if let Some(s) = self.slots.get_mut(slot) {
                        s.making = false;
                        s.made_now = made.is_ok();
                        if std::mem::take(&mut s.making_cancelled) {
                            s.made_now = false;
                            let generation = s.generation;
                            self.exited(slot, generation, "killed".into(), false);
                        } else {
                            // An error is found again, and said, as it starts.
                            self.spawn(slot);
                        }
                    }
                }
                Some(Msg::RemoveWorktree { slot, force, reply }) => {
                    let _ = reply.send(self.remove_worktree(slot, force));
                }
                Some(Msg::InputRefused { slot, error }) => self.input_refused(slot, error),
                Some(Msg::AddSlot {
                    mut cfg,
                    size,
                    near,
                    reply,
                }) => {
                    if cfg.cwd.is_none()
                        && let Some(s) = near.and_then(|i| self.slots.get(i))
                    {
                        cfg.cwd = s.cwd.clone().or_else(|| s.cfg.cwd.clone());
                    }
                    let _ = reply.send(self.add_slot(*cfg, size));
                }
                Some(Msg::CtlSend {
                    slot,
                    input,
                    enter,
                    reply,
                }) => {
                    let typed = self.ctl_send(slot, input, enter);
                    match (typed, self.slots.get_mut(slot)) {
                        // Enter after text goes later, and the reply with it.
                        (Ok(true), Some(s)) => {
                            if let Some(earlier) = s.enter_due.take() {
                                let _ = earlier.reply.send(Err("another send came first".into()));
                            }
                            let now = Instant::now();
                            s.enter_due = Some(EnterDue {
                                at: now + ENTER_AFTER_TEXT,
                                sent: now,
                                reply,
                            });
                        }
                        (typed, _) => {
                            let _ = reply.send(typed.map(|_| ()));
                        }
                    }
                }
                None => {}
            }
            let now = Instant::now();
            for i in 0..self.slots.len() {
                if self.slots[i].restart_due.is_some_and(|d| d <= now) {
                    self.slots[i].restart_due = None;
                    self.spawn(i);
                }
                if self.slots[i].detect_due.is_some_and(|d| d <= now) {
                    self.run_detect(i);
                }
                if self.slots[i]
                    .answer_due
                    .as_ref()
                    .is_some_and(|a| a.0 <= now)
                    && let Some((_, id, answer, by)) = self.slots[i].answer_due.take()
                {
                    self.answer(i, id, answer, by);
                }
                if self.slots[i]
                    .enter_due
                    .as_ref()
                    .is_some_and(|e| e.at <= now)
                    && let Some(EnterDue { sent, reply, .. }) = self.slots[i].enter_due.take()
                {
                    // The program's own clock starts when it took the text,
                    // which its drawing of it tells: Enter once it has been
                    // quiet as long since (or at the latest ENTER_MAX).
                    let quiet = self.slots[i].shared.quiet_for(now);
                    if quiet < ENTER_AFTER_TEXT && now < sent + ENTER_MAX {
                        let at = now + (ENTER_AFTER_TEXT - quiet);
                        self.slots[i].enter_due = Some(EnterDue {
                            at: at.min(sent + ENTER_MAX),
                            sent,
                            reply,
                        });
                    } else {
                        let enter = keys::KeyPress::plain(keys::KeyCode::Enter);
                        let typed =
                            self.ctl_send(i, proto::ctl::SendInput::Keys(vec![enter]), false);
                        let _ = reply.send(typed.map(|_| ()));
                    }
                }
                if let Some((at, id)) = self.slots[i].policy_due
                    && at <= now
                {
                    self.slots[i].policy_due = None;
                    if let Some(p) = self.slots[i].prompt.clone().filter(|p| p.id == id) {
                        self.apply_policy(i, &p);
                    }
                }
            }
        }
    }

    /// Stops every child as tmux does: SIGHUP to its process group, then,
    /// for those still running after [`SHUTDOWN_GRACE`], SIGKILL. Returns
    /// when every child is gone (or the grace and one more second passed).
    fn shutdown_all(&mut self, rx: &Receiver<Msg>) {
        let mut running: Vec<(SlotIdx, u64, Option<u32>)> = Vec::new();
        for (i, s) in self.slots.iter_mut().enumerate() {
            s.restart_due = None;
            if let Some(live) = s.live.take() {
                live.signal(libc::SIGHUP);
                running.push((i, s.generation, live.pid));
                drop(live);
            }
        }
        let start = Instant::now();
        let mut killed = false;
        while !running.is_empty() {
            let now = Instant::now();
            if !killed && now >= start + SHUTDOWN_GRACE {
                for (slot, _, pid) in &running {
                    tracing::info!(slot, "still running after SIGHUP: SIGKILL");
                    signal_group(*pid, libc::SIGKILL);
                }
                killed = true;
            }
            let until = if killed {
                start + SHUTDOWN_GRACE + Duration::from_secs(1)
            } else {
                start + SHUTDOWN_GRACE
            };
            if now >= until && killed {
                break;
            }
            match rx.recv_timeout(until.saturating_duration_since(now)) {
                Ok(Msg::Exited {
                    slot, generation, ..
                }) => running.retain(|(s, g, _)| !(*s == slot && *g == generation)),
                Ok(_) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
    }

    /// Starts slot `i`'s next session, and keeps the state file up to
    /// date with it.
    fn spawn(&mut self, i: SlotIdx) {
        // A worktree still to be made is made off this thread (a large
        // repository's checkout takes seconds): the slot starts when it is.
        if self.slots.get(i).is_some_and(|s| s.making) || self.make_worktree_first(i) {
            return;
        }
        let notice = self.start_session(i);
        if let Some(text) = notice {
            self.emit(Event::Notice { slot: i, text });
        }
        self.save_state();
    }

    /// Whether slot `i` wants a worktree that does not exist yet: then
    /// `git worktree add` runs on a thread of its own, which sends
    /// [`Msg::WorktreeMade`], and the pane says so meanwhile.
    fn make_worktree_first(&mut self, i: SlotIdx) -> bool {
        let Some(s) = self.slots.get_mut(i) else {
            return false;
        };
        let Some((branch, base)) = s
            .cfg
            .worktree
            .as_ref()
            .and_then(|w| w.branch_and_base(&s.id))
        else {
            return false;
        };
        let dir = self
            .worktree_dir
            .clone()
            .unwrap_or_else(std::env::temp_dir)
            .join(&s.id);
        if dir.exists() {
            return false;
        }
        let from = match &s.cfg.cwd {
            Some(c) => expand_home(c),
            None => std::env::current_dir().unwrap_or_default(),
        };
        s.making = true;
        pane_note(
            &s.shared,
            self.screens.as_deref(),
            i,
            &format!("[corral] making a git worktree on {branch}…\r\n"),
        );
        let tx = self.tx.clone();
        let spawned = thread::Builder::new()
            .name(format!("worktree-{}", s.id))
            .spawn(move || {
                let made = crate::worktree::repo_root(&from)
                    .and_then(|repo| crate::worktree::ensure(&repo, &dir, &branch, base.as_deref()))
                    .map(|_| ());
                let _ = tx.send(Msg::WorktreeMade { slot: i, made });
            });
        if spawned.is_err() {
            s.making = false;
            return false;
        }
        true
    }

    /// Starts slot `i`'s next session; returns what the sidebar says about
    /// its conversation on the first start after a server restart.
    fn start_session(&mut self, i: SlotIdx) -> Option<String> {
        // An Enter meant for the session before is not this one's.
        self.drop_enter(i, "the slot restarted before its Enter went");
        let tx = self.tx.clone();
        let events = self.events.clone();
        let screens = self.screens.clone();
        let epoch = self.epoch;
        let transcript = self.transcript_dir.as_ref().and_then(|d| {
            Transcript::open(d, &self.slots[i].id, self.transcript_max_bytes)
                .map_err(|e| tracing::warn!("transcript: {e}"))
                .ok()
        });
        let token = new_token();
        let socket_path = self.socket.as_ref().map(|k| k.path().to_path_buf());
        let hook_exe = self.hook_exe.clone();
        self.drop_hooks(i);
        let s = &mut self.slots[i];
        s.generation += 1;
        s.prompt = None;
        s.screen = None;
        s.screen_since = None;
        s.answered_dialog = None;
        s.answered = None;
        s.policy_due = None;
        s.answer_due = None;
        s.after_hook = None;
        s.idle_since = None;
        // A detection due for the session before is dropped with it, and so
        // is its raised flag: else the new session's output never wakes
        // detection (the reader wakes the manager only when it raises it).
        s.detect_due = None;
        s.shared.detect_pending.store(false, Ordering::Release);
        s.shared.last_output_ms.store(0, Ordering::Release);
        let (rows, cols) = s.size;
        {
            let mut e = s.shared.lock();
            e.reset();
            e.resize(rows, cols);
            if let Some(sink) = &self.screens {
                sink.rebuilt(i, &e);
            }
        }
        // Hook options first: resume arguments may be a subcommand (`codex
        // resume --last`).
        let mut extra: Vec<String> = Vec::new();
        let mut restore_notice = None;
        s.hook_token.clear();
        if let (Some(spec), Some(path), Some(exe), Some(token)) =
            (&s.profile.hook, socket_path, hook_exe, token)
            && s.profile.takes_args(s.cfg.command.get_ref())
        {
            let command = [
                exe.to_string_lossy().into_owned(),
                "hook".into(),
                "--socket".into(),
                path.to_string_lossy().into_owned(),
                "--slot".into(),
                s.id.clone(),
                "--generation".into(),
                s.generation.to_string(),
                "--token".into(),
                token.clone(),
                "--protocol".into(),
                serde_json::to_value(spec.protocol)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
            ]
            .iter()
            .map(|w| shell_quote(w))
            .collect::<Vec<_>>()
            .join(" ");
            extra.extend(spec.render_args(&command));
            s.hook_token = token;
        }
        if let Some(spec) = &s.profile.session
            && s.profile.takes_args(s.cfg.command.get_ref())
        {
            // The slot's own conversation: resumed by its id when it has
            // one (also after corral itself restarted), else a new one,
            // named by corral or learned later from the agent.
            let (id, resume) = match conversation_to_resume(spec, &s.cfg, s.session_id.as_deref()) {
                Some(id) => (Some(id), true),
                None if spec.id == SessionIdSource::Corral => (new_uuid(), false),
                None => (None, false),
            };
            if let Some(id) = &id {
                extra.extend(spec.args(id, resume));
            }
            s.resuming = resume;
            s.was_ready = false;
            *s.shared
                .session_id
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = id.clone();
            s.session_id = id;
            if std::mem::take(&mut s.restored) {
                restore_notice = Some(match (&s.session_id, resume) {
                    (Some(id), true) => format!(
                        "resumed {} (server restart)",
                        id.chars().take(8).collect::<String>()
                    ),
                    _ => "fresh start (server restart)".to_string(),
                });
            }
        } else if s.generation > 1 && s.cfg.resume && s.profile.takes_args(s.cfg.command.get_ref())
        {
            extra.extend(s.profile.resume_args.iter().cloned());
        }
        let mut cwd = match &s.cfg.cwd {
            Some(c) => Some(expand_home(c)),
            None => std::env::current_dir().ok(),
        };
        // A slot with a worktree runs in it; one just made runs its setup
        // commands first, in the pane, then the agent (`exec`).
        let mut run = std::borrow::Cow::Borrowed(&s.cfg);
        let mut prepared = Ok(());
        if let Some((branch, base)) = s
            .cfg
            .worktree
            .as_ref()
            .and_then(|w| w.branch_and_base(&s.id))
        {
            let dir = self
                .worktree_dir
                .clone()
                .unwrap_or_else(std::env::temp_dir)
                .join(&s.id);
            let from = cwd.clone().unwrap_or_default();
            match crate::worktree::repo_root(&from).and_then(|repo| {
                crate::worktree::ensure(&repo, &dir, &branch, base.as_deref()).map(|e| (repo, e))
            }) {
                Ok((repo, ensured)) => {
                    tracing::info!(slot = %s.id, ?ensured, path = %dir.display(), %branch, "worktree");
                    let changes = crate::worktree::changes(&repo, &dir).map_or(0, |c| c.len());
                    let _ = self.events.send(Event::Worktree {
                        slot: i,
                        branch: branch.clone(),
                        changes,
                    });
                    s.worktree = Some((repo, dir.clone(), branch));
                    cwd = Some(dir);
                    let made_now = std::mem::take(&mut s.made_now);
                    if (made_now || ensured == crate::worktree::Ensured::Created)
                        && !s.cfg.setup.is_empty()
                    {
                        let mut script = String::from("set -e\n");
                        for c in &s.cfg.setup {
                            script.push_str(c);
                            script.push('\n');
                        }
                        script.push_str("exec \"$@\"\n");
                        let mut args = vec!["-c".to_string(), script, "corral-setup".into()];
                        args.push(s.cfg.command.get_ref().clone());
                        args.extend(s.cfg.args.iter().cloned());
                        args.append(&mut extra);
                        let mut cfg = s.cfg.clone();
                        cfg.command = toml::Spanned::new(0..0, "/bin/sh".into());
                        cfg.args = args;
                        run = std::borrow::Cow::Owned(cfg);
                    }
                }
                Err(e) => prepared = Err(anyhow::anyhow!("worktree: {e}")),
            }
        }
        s.cwd = cwd.clone();
        let argv: Vec<String> = std::iter::once(run.command.get_ref().clone())
            .chain(run.args.iter().cloned())
            .chain(extra.iter().cloned())
            .collect();
        // The sandbox: around the setup script too, so it runs confined.
        let ctx = confine::Context {
            defaults: &self.sandbox,
            exe: self.exe.as_deref(),
            temp_base: &sandbox_temp_base(&self.session, &self.config_key),
            protected: &self.protected,
            support: sandbox_support(),
        };
        let worktree = s
            .worktree
            .as_ref()
            .map(|(r, d, _)| (r.as_path(), d.as_path()));
        s.sandbox = None;
        match confine::plan(&ctx, &s.cfg, &s.profile, &run, cwd.as_deref(), worktree) {
            confine::Plan::Off => {}
            confine::Plan::Confined {
                run: r,
                status,
                notes,
            } => {
                for n in notes {
                    pane_note(
                        &s.shared,
                        self.screens.as_deref(),
                        i,
                        &format!("[corral] {n}\r\n"),
                    );
                }
                tracing::info!(slot = %s.id, write = ?status.write, "sandboxed");
                run = std::borrow::Cow::Owned(*r);
                s.sandbox = Some(status);
            }
            confine::Plan::Unconfined { status } => {
                tracing::warn!(slot = %s.id, why = ?status.why, "not confined");
                s.sandbox = Some(status);
            }
            confine::Plan::Refused { status } => {
                let why = status.why.clone().unwrap_or_default();
                if prepared.is_ok() {
                    prepared = Err(anyhow::anyhow!("{why}"));
                }
                s.sandbox = Some(status);
            }
        }
        let _ = self.events.send(Event::Sandbox {
            slot: i,
            status: s.sandbox.clone().map(Box::new),
        });
        *s.shared.launch.lock().unwrap_or_else(|p| p.into_inner()) = Some(Launch {
            argv,
            cwd: cwd.clone(),
            sandbox: s.sandbox.clone(),
        });
        let started = prepared
            .and_then(|()| self.spawner.spawn(&run, &extra, cwd, s.size))
            .and_then(|sp| {
                let (reader, input) = pty::open(&*sp.master)?;
                Ok((sp.master, reader, input, sp.child))
            });
        match started {
            Ok((master, reader, input, mut child)) => {
                let pid = child.process_id();
                let killer = child.clone_killer();
                let generation = s.generation;
                if let Err(e) = s.shared.input.open(&s.id, input) {
                    tracing::warn!(slot = %s.id, "no writer thread, input is lost: {e}");
                }
                spawn_reader(
                    &s.id,
                    i,
                    generation,
                    reader,
                    s.shared.clone(),
                    tx.clone(),
                    events.clone(),
                    epoch,
                    transcript,
                    screens,
                    self.flood_bytes,
                );
                // A sandboxed agent's processes end with its session: one
                // left behind (`nohup`) could go on changing its worktree's
                // links after corral has put them back.
                let confined = s.sandbox.as_ref().is_some_and(|b| {
                    matches!(
                        b.state,
                        crate::sandbox::SandboxState::Confined
                            | crate::sandbox::SandboxState::Partial
                    )
                });
                let _ = thread::Builder::new()
                    .name(format!("wait-{}", s.id))
                    .spawn(move || {
                        let waited = child.wait();
                        // What the program left running in its session
                        // (a relaunched child still saving) ends first.
                        if let Some(pid) = pid
                            && !conversation::wait_session_gone(pid, SESSION_GONE_WAIT)
                            && confined
                        {
                            conversation::kill_session(pid);
                        }
                        let (status, success) = match waited {
                            Ok(st) => {
                                let desc = match st.signal() {
                                    Some(sig) => format!("signal {sig}"),
                                    None => st.exit_code().to_string(),
                                };
                                (desc, st.success())
                            }
                            Err(e) => (format!("wait failed: {e}"), false),
                        };
                        let _ = tx.send(Msg::Exited {
                            slot: i,
                            generation,
                            status,
                            success,
                        });
                    });
                s.shared.pid.store(pid.unwrap_or(0), Ordering::Release);
                s.live = Some(Live {
                    master,
                    input: s.shared.input.clone(),
                    pid,
                    killer: Mutex::new(killer),
                });
                s.started_at = Instant::now();
                s.state = AgentState::Starting;
                tracing::info!(slot = %s.id, generation, ?pid, "session started");
                self.emit(Event::Started {
                    slot: i,
                    generation,
                });
                self.emit(Event::StateChanged {
                    slot: i,
                    state: AgentState::Starting,
                    rule: "session.started".into(),
                });
            }
            Err(e) => {
                // One line: the message goes to the message area too.
                let why = format!("{e:#}")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                let msg = format!("cannot start `{}`: {why}", s.cfg.command.get_ref());
                tracing::warn!(slot = %s.id, "{msg}");
                pane_note(
                    &s.shared,
                    self.screens.as_deref(),
                    i,
                    &format!("\r\n[corral] {msg}\r\n"),
                );
                let status = "failed to start".to_string();
                self.emit(Event::SpawnFailed {
                    slot: i,
                    error: msg,
                });
                self.emit(Event::Output { slot: i });
                let generation = self.slots[i].generation;
                self.exited(i, generation, status, false);
            }
        }
        restore_notice
    }

    fn exited(&mut self, i: SlotIdx, generation: u64, status: String, success: bool) {
        let Some(s) = self.slots.get_mut(i) else {
            return;
        };
        if s.generation != generation {
            return;
        }
        let (status, success) = match s.failure.take() {
            Some(f) => (f, false),
            None => (status, success),
        };
        s.live = None;
        s.shared.pid.store(0, Ordering::Release);
        if let Some(e) = s.enter_due.take() {
            let _ = e
                .reply
                .send(Err("the program exited before its Enter went".into()));
        }
        s.detect_due = None;
        s.screen = None;
        s.hook_token.clear();
        if let Some(p) = s.prompt.take() {
            let _ = self.events.send(Event::PromptClosed {
                slot: i,
                prompt: p.id,
            });
        }
        self.drop_hooks(i);
        let Some(s) = self.slots.get_mut(i) else {
            return;
        };
        // A resume the agent refused (it failed before it was ever ready:
        // Claude Code's "No conversation found", Gemini CLI's exit 42 for
        // an empty conversation it deleted as it exited, after corral
        // looked) starts a new conversation right away.
        // Only a program that ran and exited with a status of its own (not
        // a signal: a kill; not a start that failed) refused.
        let refused = std::mem::take(&mut s.resuming)
            && !success
            && !s.restart_now
            && !s.was_ready
            && status.parse::<i32>().is_ok()
            && s.started_at.elapsed() < RESUME_GRACE
            && s.session_id.is_some();
        if refused {
            let id: String = s
                .session_id
                .take()
                .unwrap_or_default()
                .chars()
                .take(8)
                .collect();
            *s.shared
                .session_id
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = None;
            s.restart_now = true;
            tracing::info!(slot = %s.id, %status, "resume refused; a new conversation");
            let _ = self.events.send(Event::Notice {
                slot: i,
                text: format!("{id} could not be resumed ({status}): a new conversation"),
            });
        }
        let restart = s.restart_now
            || match s.cfg.restart {
                RestartPolicy::Never => false,
                RestartPolicy::OnFailure => !success,
                RestartPolicy::Always => true,
            };
        let restart_in = if s.restart_now {
            s.restart_now = false;
            Some(Duration::ZERO)
        } else if restart {
            if s.started_at.elapsed() >= RESTART_RESET_AFTER {
                s.backoff = RESTART_MIN;
            }
            let d = s.backoff;
            s.backoff = (s.backoff * 2).min(RESTART_MAX);
            Some(d)
        } else {
            None
        };
        tracing::info!(slot = %s.id, %status, ?restart_in, "session exited");
        s.state = AgentState::Exited(status.clone());
        let _ = self.events.send(Event::Exited {
            slot: i,
            status: status.clone(),
            restart_in,
        });
        if let Some(d) = restart_in {
            s.restart_due = Some(Instant::now() + d);
            s.state = AgentState::Restarting;
            let _ = self.events.send(Event::StateChanged {
                slot: i,
                state: AgentState::Restarting,
                rule: "session.restart-policy".into(),
            });
        } else {
            let _ = self.events.send(Event::StateChanged {
                slot: i,
                state: AgentState::Exited(status),
                rule: "session.exited".into(),
            });
        }
    }

    /// [`SessionManager::remove_worktree`] on the manager thread.
    fn remove_worktree(&mut self, i: SlotIdx, force: bool) -> Result<String, String> {
        let Some(s) = self.slots.get_mut(i) else {
            return Err(format!("no slot {i}"));
        };
        let Some((repo, path, _)) = s.worktree.clone() else {
            return Err(format!("slot {} has no worktree", s.id));
        };
        if s.live.is_some() || s.making {
            return Err(format!(
                "slot {} runs in its worktree: stop it first (`corral ctl kill {}`)",
                s.id, s.id
            ));
        }
        crate::worktree::remove(&repo, &path, force)?;
        s.worktree = None;
        self.emit(Event::WorktreeRemoved { slot: i });
        self.save_state();
        Ok(path.to_string_lossy().into_owned())
    }

    /// Drops slot `i`'s pending `ctl send` Enter, telling who waits why.
    fn drop_enter(&mut self, i: SlotIdx, why: &str) {
        if let Some(e) = self.slots.get_mut(i).and_then(|s| s.enter_due.take()) {
            let _ = e.reply.send(Err(why.to_string()));
        }
    }

    /// Starts every configured slot, and brings back what a server before
    /// left in the state file: each slot's generation and conversation id
    /// (so it resumes that conversation), and the slots it added at
    /// runtime. A state file that could not be read was moved aside; the
    /// first slot says so.
    fn restore(&mut self, restored: state::Loaded) {
        let (old, bad) = match restored {
            state::Loaded::State(s) => {
                // This config's part; the others' are kept as they are.
                let mut configs = s.configs;
                let mine = configs
                    .iter()
                    .position(|c| c.config == self.config_key)
                    .map(|at| configs.remove(at));
                self.other_configs = configs;
                // Rules paused by a person stay paused.
                if mine.as_ref().is_some_and(|m| !m.auto_answers) {
                    self.auto = false;
                    if let Some(sink) = &self.screens {
                        sink.auto_answers(false);
                    }
                }
                (mine.map(|m| m.slots).unwrap_or_default(), None)
            }
            state::Loaded::Bad { why, moved } => {
                let to = moved.map_or("left in place".into(), |m| {
                    format!("moved to {}", m.display())
                });
                tracing::warn!("state file not read ({why}): {to}");
                (
                    Vec::new(),
                    Some(format!(
                        "the state file could not be read ({why}); {to}; slots start fresh"
                    )),
                )
            }
            state::Loaded::None => (Vec::new(), None),
        };
        let mut notices = Vec::new();
        for i in 0..self.slots.len() {
            if let Some(o) = old
                .iter()
                .find(|o| o.id == self.slots[i].id && o.added.is_none())
            {
                let now = self.identity(i);
                match o.identity.changed(&now) {
                    None => self.take_old(i, o, &mut notices),
                    Some((names, what)) => {
                        tracing::info!(slot = %o.id, "not the slot before ({what}): fresh start");
                        notices.push((i, format!("fresh start: its {names} changed")));
                    }
                }
            } else if let Some(c) = self
                .other_configs
                .iter()
                .find(|c| c.slots.iter().any(|o| o.id == self.slots[i].id))
            {
                // Its namesake under another config keeps its conversation.
                tracing::info!(
                    slot = %self.slots[i].id,
                    config = %c.config,
                    "a slot of this id ran under another config: fresh start"
                );
                notices.push((i, "fresh start: new in this config".to_string()));
            }
            self.spawn(i);
        }
        for o in old.iter().filter(|o| o.added.is_some()) {
            let Some(a) = &o.added else { continue };
            let cfg = SlotConfig {
                id: toml::Spanned::new(0..0, o.id.clone()),
                role: a.role.clone(),
                agent: toml::Spanned::new(0..0, a.agent.clone()),
                command: toml::Spanned::new(0..0, a.command.clone()),
                args: a.args.clone(),
                cwd: a.cwd.clone(),
                env: Default::default(),
                resume: true,
                restart: Default::default(),
                worktree: a
                    .worktree
                    .clone()
                    .map(|branch| crate::config::WorktreeConfig::Spec {
                        branch: Some(branch),
                        base: None,
                    }),
                setup: Vec::new(),
                sandbox: None,
                write: Vec::new(),
            };
            let size = self.slots.first().map_or((24, 80), |s| s.size);
            // Brought back as what it was, or fresh: one added in another
            // directory (a server started elsewhere) never resumes its
            // conversation here.
            let changed = o.identity.changed(&identity_of(&cfg));
            let old = match &changed {
                None => Some(o),
                Some((_, what)) => {
                    tracing::info!(slot = %o.id, "not the slot before ({what}): fresh start");
                    None
                }
            };
            match self.add_slot_as(cfg, size, old, &mut notices) {
                Ok(i) => {
                    if let Some((names, _)) = changed {
                        notices.push((i, format!("fresh start: its {names} changed")));
                    }
                }
                Err(e) => tracing::warn!(slot = %o.id, "not brought back: {e}"),
            }
        }
        if let Some(text) = bad {
            notices.insert(0, (0, text));
        }
        for (slot, text) in notices {
            self.emit(Event::Notice { slot, text });
        }
        self.save_state();
    }

    /// Takes slot `i`'s generation and conversation id from a server
    /// before, and notes what its next start does.
    fn take_old(&mut self, i: SlotIdx, o: &state::SlotState, notices: &mut Vec<(SlotIdx, String)>) {
        let s = &mut self.slots[i];
        s.generation = o.generation;
        s.session_id = o.session_id.clone().filter(|id| conversation::is_uuid(id));
        // Whether it resumes is known when it starts (its transcript).
        if s.profile.session.is_some() && s.profile.takes_args(s.cfg.command.get_ref()) {
            s.restored = true;
        } else {
            notices.push((i, "fresh start (server restart)".to_string()));
        }
    }

    /// What slot `i` is, as the state file records it: a slot of another
    /// agent, program or workspace under the same id starts fresh.
    fn identity(&self, i: SlotIdx) -> state::Identity {
        identity_of(&self.slots[i].cfg)
    }

    /// Slot `i`'s agent runs conversation `id` (read from its open
    /// transcript or its hook): kept, shown and written to the state file
    /// when it is a UUID and new.
    fn learn_conversation(&mut self, i: SlotIdx, id: String) {
        let Some(s) = self.slots.get_mut(i) else {
            return;
        };
        // Agents write UUIDs in lower case; transcripts are named so.
        let id = id.to_ascii_lowercase();
        if s.profile.session.is_none()
            || !conversation::is_uuid(&id)
            || s.session_id.as_deref() == Some(id.as_str())
        {
            return;
        }
        tracing::info!(slot = %s.id, conversation = %id, "conversation learned");
        *s.shared
            .session_id
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(id.clone());
        s.session_id = Some(id);
        self.save_state();
    }

    /// Writes the state file, if there is one.
    fn save_state(&self) {
        let Some(path) = &self.state_file else {
            return;
        };
        let mine = state::ConfigState {
            config: self.config_key.clone(),
            auto_answers: self.auto,
            slots: self
                .slots
                .iter()
                .enumerate()
                .map(|(i, s)| state::SlotState {
                    id: s.id.clone(),
                    identity: self.identity(i),
                    generation: s.generation,
                    session_id: s.session_id.clone(),
                    worktree: s.worktree.as_ref().map(|(_, p, b)| (p.clone(), b.clone())),
                    added: (i >= self.configured).then(|| state::AddedSlot {
                        agent: s.cfg.agent.get_ref().clone(),
                        role: s.cfg.role.clone(),
                        cwd: s.cfg.cwd.clone(),
                        command: s.cfg.command.get_ref().clone(),
                        args: s.cfg.args.clone(),
                        worktree: s.cfg.worktree_branch(),
                    }),
                })
                .collect(),
        };
        let st = state::State {
            v: state::STATE_VERSION,
            configs: std::iter::once(mine)
                .chain(self.other_configs.iter().cloned())
                .take(state::MAX_CONFIGS)
                .collect(),
        };
        if let Err(e) = state::save(path, &st) {
            tracing::warn!("state file {}: {e}", path.display());
        }
    }

    /// [`SessionManager::add_slot`] on the manager thread.
    fn add_slot(&mut self, mut cfg: SlotConfig, size: (u16, u16)) -> Result<SlotIdx, String> {
        // Its directory kept absolute: a server started again elsewhere
        // brings it back where it was.
        cfg.cwd = Some(identity_of(&cfg).workspace);
        self.add_slot_as(cfg, size, None, &mut Vec::new())
    }

    /// Adds slot `cfg`, with what a server before knew of it (`old`).
    fn add_slot_as(
        &mut self,
        cfg: SlotConfig,
        size: (u16, u16),
        old: Option<&state::SlotState>,
        notices: &mut Vec<(SlotIdx, String)>,
    ) -> Result<SlotIdx, String> {
        let id = cfg.id.get_ref().clone();
        crate::config::check_slot_id(&id)?;
        if self.slots.iter().any(|s| s.id == id) {
            return Err(format!("a slot {id:?} exists already"));
        }
        if self.profiles.get(cfg.agent.get_ref()).is_none() {
            return Err(format!(
                "no agent profile {:?} (built in: claude, codex, gemini, aider, generic)",
                cfg.agent.get_ref()
            ));
        }
        let rt = new_slot(&cfg, size, &self.profiles, self.scrollback_rows, self.epoch)
            .map_err(|e| e.to_string())?;
        let info = proto::SlotInfo {
            id: id.clone(),
            role: cfg.role.clone(),
            agent: cfg.agent.get_ref().clone(),
            state: AgentState::Starting,
            state_age_ms: 0,
            title: String::new(),
            generation: 0,
            rows: rt.size.0,
            cols: rt.size.1,
            worktree: None,
            sandbox: None,
        };
        let Some(i) = self.shared.push(rt.shared.clone()) else {
            return Err(format!(
                "this session holds {MAX_ADDED_SLOTS} added slots already"
            ));
        };
        self.slots.push(rt);
        if let Some(o) = old {
            self.take_old(i, o, notices);
        }
        tracing::info!(slot = %id, "slot added");
        // Every client knows the slot before any of its output or events.
        if let Some(sink) = &self.screens {
            sink.added(i, &info);
        }
        self.spawn(i);
        Ok(i)
    }

    /// [`SessionManager::ctl_send`] on the manager thread. Returns true
    /// when the Enter is still to be sent, after [`ENTER_AFTER_TEXT`].
    fn ctl_send(
        &mut self,
        i: SlotIdx,
        input: proto::ctl::SendInput,
        enter: bool,
    ) -> Result<bool, String> {
        let Some(s) = self.slots.get(i) else {
            return Err(format!("no slot {i}"));
        };
        if s.live.is_none() {
            return Err(format!(
                "slot {} runs no program ({})",
                s.id,
                s.state.label()
            ));
        }
        // What is on screen now decides, not what was read a moment ago.
        self.run_detect(i);
        let s = &self.slots[i];
        let open = s
            .hooks
            .front()
            .map(|h| &h.prompt)
            .or(s.screen.as_ref())
            .or(s.prompt.as_ref());
        if let Some(p) = open {
            return Err(format!(
                "a prompt is open in slot {} ({} {:?}, id {}): text never answers it; `corral ctl answer` does",
                s.id, p.tool, p.subject, p.id
            ));
        }
        let Some(modes) = self.input_modes_live(i) else {
            return Err(format!("slot {} runs no program", s.id));
        };
        let mut bytes = match input {
            // Without bracketed paste the program reads the text as typed
            // keys: a CR or ESC in it would act (submit, or answer what it
            // opens from typeahead). Keys and Enter go by name.
            proto::ctl::SendInput::Text(t)
                if !modes.bracketed_paste && t.chars().any(|c| c.is_control() && c != '\t') =>
            {
                return Err(format!(
                    "slot {}: its program takes no bracketed paste, so text may not hold control characters (newline, CR, ESC); send keys with --keys and Enter with --enter",
                    s.id
                ));
            }
            proto::ctl::SendInput::Text(t) => keys::encode_paste(&t, modes),
            proto::ctl::SendInput::Keys(ks) => ks
                .into_iter()
                .flat_map(|k| keys::encode(k, modes))
                .collect(),
        };
        let later = enter && !bytes.is_empty();
        if enter && !later {
            bytes.extend(keys::encode(
                keys::KeyPress::plain(keys::KeyCode::Enter),
                modes,
            ));
        }
        if self.write(i, bytes) {
            Ok(later)
        } else {
            Err(format!(
                "slot {}: the program is not reading its input",
                self.slots[i].id
            ))
        }
    }

    fn write(&mut self, i: SlotIdx, bytes: Vec<u8>) -> bool {
        let Some(s) = self.slots.get(i) else {
            return false;
        };
        match write_input(&s.shared, i, &bytes) {
            Ok(()) => true,
            Err(error) => {
                self.input_refused(i, error);
                false
            }
        }
    }

    /// Tells clients that input for slot `i` was not taken, and why; once
    /// a second at most per slot (a key held down on an exited slot).
    fn input_refused(&mut self, i: SlotIdx, error: InputError) {
        let Some(s) = self.slots.get_mut(i) else {
            return;
        };
        let now = Instant::now();
        if s.refused_at
            .is_some_and(|t| now.duration_since(t) < Duration::from_secs(1))
        {
            return;
        }
        s.refused_at = Some(now);
        let reason = format!("{}: {error}: input not sent", s.id);
        self.emit(Event::InputRefused { slot: i, reason });
    }

    /// The slot's input modes, for encoding what the user types; a pane
    /// scrolled back returns to its live screen first (as xterm does on a
    /// key press), so the echo is seen. `None` for an unknown slot.
    fn input_modes_live(&self, slot: SlotIdx) -> Option<keys::InputModes> {
        let s = self.slots.get(slot)?;
        let mut e = s.shared.lock();
        if e.scroll_offset() > 0 {
            e.set_scroll_offset(0);
            s.shared.ui_dirty.store(true, Ordering::Release);
            let _ = self.events.send(Event::Output { slot });
        }
        Some(e.input_modes())
    }

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Write { slot, bytes } => {
                self.write(slot, bytes);
            }
            Command::Key { slot, key } => {
                let Some(modes) = self.input_modes_live(slot) else {
                    return;
                };
                self.write(slot, keys::encode(key, modes));
            }
            Command::Paste { slot, text } => {
                let Some(modes) = self.input_modes_live(slot) else {
                    return;
                };
                self.write(slot, keys::encode_paste(&text, modes));
            }
            Command::Mouse { slot, event } => {
                let Some(s) = self.slots.get(slot) else {
                    return;
                };
                let modes = s.shared.lock().input_modes();
                tracing::debug!(slot, ?event, ?modes, "mouse");
                match keys::encode_mouse(event, modes) {
                    Some(bytes) => {
                        self.write(slot, bytes);
                    }
                    None => {
                        let delta = match event {
                            keys::MouseReport::WheelUp(..) => 3,
                            keys::MouseReport::WheelDown(..) => -3,
                            _ => return,
                        };
                        self.command(Command::Scroll { slot, delta });
                    }
                }
            }
            Command::Resize { slot, rows, cols } => {
                let Some(s) = self.slots.get_mut(slot) else {
                    return;
                };
                let (rows, cols) = (rows.max(1), cols.max(1));
                if s.size == (rows, cols) {
                    return;
                }
                s.size = (rows, cols);
                {
                    let mut e = s.shared.lock();
                    e.resize(rows, cols);
                    if let Some(sink) = &self.screens {
                        sink.rebuilt(slot, &e);
                    }
                }
                if let Some(live) = &s.live {
                    s.reflowed_at = Some(Instant::now());
                    let _ = live.master.resize(PtySize {
                        rows,
                        cols,
                        pixel_width: 0,
                        pixel_height: 0,
                    });
                }
                s.shared.ui_dirty.store(true, Ordering::Release);
                let _ = self.events.send(Event::Output { slot });
            }
            Command::Scroll { slot, delta } => {
                let Some(s) = self.slots.get(slot) else {
                    return;
                };
                s.shared.lock().scroll_by(delta);
                s.shared.ui_dirty.store(true, Ordering::Release);
                let _ = self.events.send(Event::Output { slot });
            }
            Command::Answer {
                slot,
                prompt,
                answer,
                by,
            } => self.answer(slot, prompt, answer, by),
            Command::Kill { slot } => {
                if let Some(s) = self.slots.get_mut(slot) {
                    s.restart_due = None;
                    s.restart_now = false;
                    s.making_cancelled = s.making;
                    if let Some(live) = &s.live {
                        kill_later(live);
                    }
                }
            }
            Command::Restart { slot } => {
                if let Some(s) = self.slots.get_mut(slot) {
                    match &s.live {
                        Some(live) => {
                            s.restart_now = true;
                            kill_later(live);
                        }
                        None => {
                            s.restart_due = Some(Instant::now());
                        }
                    }
                }
            }
            Command::SetAutoAnswers { enabled } => {
                self.auto = enabled;
                tracing::info!(enabled, "automatic answers");
                self.save_state();
            }
            Command::Shutdown => {}
        }
    }

    fn run_detect(&mut self, i: SlotIdx) {
        let epoch = self.epoch;
        let s = &mut self.slots[i];
        s.detect_due = None;
        s.shared.detect_pending.store(false, Ordering::Release);
        if s.live.is_none() {
            return;
        }
        let snap = s.shared.lock().snapshot();
        let last = s.shared.last_output_ms.load(Ordering::Acquire);
        let now_ms = epoch.elapsed().as_millis() as u64;
        let timing = Timing {
            since_output_ms: (last != 0).then(|| now_ms.saturating_sub(last)),
        };
        let mut d = detect::detect(&s.profile, &snap, timing);
        s.idle_since = match d.state {
            AgentState::Idle => s.idle_since.or(Some(Instant::now())),
            _ => None,
        };
        if let Some(ms) = d.recheck_after_ms {
            let at = Instant::now() + Duration::from_millis(ms.max(1));
            s.detect_due = Some(s.detect_due.map_or(at, |x| x.min(at)));
        }
        // The screen prompt keeps its id while its dialog text is unchanged,
        // and while corral's resize makes the agent draw it again.
        let mut vanished = None;
        let last_output = (last != 0).then(|| epoch + Duration::from_millis(last));
        let (held, updated) = carry_through_reflow(s, &mut d, last_output);
        let changed = match (&s.screen, &d.prompt) {
            (None, None) => false,
            (Some(old), Some(new)) => old.dialog_hash != new.dialog_hash,
            _ => true,
        };
        if changed {
            let old = s.screen.take();
            // An answer handed back for a dialog that came and went without
            // it is not for the next one.
            if let (Some(o), Some(a)) = (&old, &s.after_hook)
                && o.tool == a.tool
                && o.subject == a.subject
            {
                s.after_hook = None;
            }
            s.screen = d.prompt.map(|mut p| {
                s.prompt_seq = s.prompt_seq.wrapping_add(1);
                p.identify(&s.id, s.generation, s.prompt_seq);
                p
            });
            s.screen_since = s.screen.as_ref().map(|_| Instant::now());
            if s.screen.as_ref().map(|p| p.dialog_hash) != s.answered_dialog {
                s.answered_dialog = None;
            }
            // Closed without an answer from corral: only a prompt the inbox
            // showed, and not one a hook request took over.
            if let Some(o) = old
                && s.prompt.as_ref().is_some_and(|p| p.id == o.id)
                && s.answered != Some(o.id)
            {
                vanished = Some(o);
            }
        }
        // A screen prompt on a hooked slot waits for the hook's request for
        // a moment; look again when that moment has passed.
        if s.screen.is_some()
            && !s.hook_token.is_empty()
            && s.hooks.is_empty()
            && let Some(since) = s.screen_since
        {
            let at = since + Duration::from_millis(HOOK_GRACE_MS);
            if at > Instant::now() {
                s.detect_due = Some(s.detect_due.map_or(at, |x| x.min(at)));
            }
        }
        // A screen no rule recognises (mid-redraw, scrolled dialog) keeps the
        // last known state instead of falling back to `starting`.
        // A hook request waits for an answer whatever the screen shows (the
        // agent may draw its dialog later, or not at all).
        let (state, rule) = if s.hooks.is_empty() {
            (d.state, d.rule)
        } else {
            (
                AgentState::NeedsPermission,
                "hook.permission-request".to_string(),
            )
        };
        let keep = (state == AgentState::Starting
            && rule == "nothing-recognised"
            && s.state != AgentState::Starting)
            || held;

        let mut events = Vec::new();
        let mut learned = None;
        if let Some((was, prompt)) = updated {
            events.push(Event::PromptUpdated {
                slot: i,
                was,
                prompt,
            });
        }
        // A prompt that closes goes before the new state, one that opens
        // after it (sync_inbox): no frame shows a prompt beside a state that
        // contradicts it.
        if s.prompt.as_ref().map(|p| p.id) != inbox_want_ref(s).0.map(|p| p.id)
            && let Some(o) = s.prompt.take()
        {
            s.policy_due = None;
            events.push(Event::PromptClosed {
                slot: i,
                prompt: o.id,
            });
        }
        if s.state != state && !keep {
            tracing::debug!(slot = %s.id, state = %state.label(), rule, "state");
            // The agent finished a turn: what it changed in its worktree.
            if state == AgentState::Idle
                && let Some((repo, path, branch)) = &s.worktree
                && let Ok(c) = crate::worktree::changes(repo, path)
            {
                events.push(Event::Worktree {
                    slot: i,
                    branch: branch.clone(),
                    changes: c.len(),
                });
            }
            // The agent finished a turn: the conversation it has open.
            if state == AgentState::Idle
                && let Some(spec) = &s.profile.session
                && spec.id == SessionIdSource::OpenTranscript
                && let Some(pid) = s.live.as_ref().and_then(|l| l.pid)
                && let Some(pattern) = transcript_pattern(spec, &s.cfg)
            {
                learned = conversation::open_by(
                    pid,
                    &pattern,
                    &s.profile.programs,
                    s.session_id.as_deref(),
                );
            }
            s.was_ready |= matches!(
                state,
                AgentState::Idle | AgentState::Working | AgentState::NeedsPermission
            );
            s.state = state.clone();
            events.push(Event::StateChanged {
                slot: i,
                state,
                rule,
            });
        }
        for e in events {
            self.emit(e);
        }
        if let Some(id) = learned {
            self.learn_conversation(i, id);
        }
        self.correlate_hooks(i);
        if let Some(v) = vanished {
            self.audit_vanished(i, &v, "none", "closed without an answer from corral");
        }
        self.sync_inbox(i);
        // An answer handed back from the hook, for the dialog it asked for.
        let s = &mut self.slots[i];
        if s.after_hook
            .as_ref()
            .is_some_and(|a| a.until < Instant::now())
        {
            s.after_hook = None;
        }
        let ready = s.screen.as_ref().filter(|p| {
            s.after_hook.as_ref().is_some_and(|a| {
                p.incomplete.is_none() && p.subject == a.subject && p.tool == a.tool
            })
        });
        if let Some(p) = ready.map(|p| p.id)
            && let Some(a) = s.after_hook.take()
        {
            tracing::info!(slot = %s.id, answer = %a.answer, "answering the dialog a hook request handed back");
            self.answer(i, p, a.answer, a.by);
        } else if s.after_hook.is_some() {
            // Look again while the agent draws: its last frame may come in
            // the same batch as a half-drawn one.
            let at = Instant::now() + Duration::from_millis(AFTER_HOOK_RECHECK_MS);
            s.detect_due = Some(s.detect_due.map_or(at, |d| d.min(at)));
        }
    }

    /// The head hook request and the screen: a dialog seen while the request
    /// waited that closes or changes was answered in the pane, so the request
    /// is done (the hook is told to print nothing).
    fn correlate_hooks(&mut self, i: SlotIdx) {
        let epoch = self.epoch;
        loop {
            let s = &mut self.slots[i];
            let last = s.shared.last_output_ms.load(Ordering::Acquire);
            let last_output = (last != 0).then(|| epoch + Duration::from_millis(last));
            // A dialog cut off by a small pane says nothing either way.
            let screen = s
                .screen
                .as_ref()
                .filter(|p| p.incomplete != Some(detect::Incomplete::CutOff))
                .map(|p| ((p.tool.clone(), p.subject.clone()), p.dialog_hash));
            if s.screen.is_some() && screen.is_none() {
                return;
            }
            let answered_dialog = s.answered_dialog;
            let Some(h) = s.hooks.front_mut() else { return };
            match (&h.screen_key, screen) {
                // Only the dialog of this very call: the same tool, the same
                // subject as far as the screen can tell, and not a dialog
                // whose request was already answered (the screen may be a
                // read behind).
                (None, Some((key, hash)))
                    if Some(hash) != answered_dialog && same_call(&h.prompt, &key) =>
                {
                    h.screen_key = Some(key);
                    h.screen_hash = Some(hash);
                    return;
                }
                (None, Some(_)) => return,
                // Redrawn (a resize re-wraps it): still this call.
                (Some(_), Some((b, hash))) if same_call(&h.prompt, &b) => {
                    h.screen_hash = Some(hash);
                    return;
                }
                // Never seen: the agent that draws its dialog with the hook
                // is back at its idle prompt, long after the request came.
                // The dialog was answered in the pane before corral read
                // it (the hook waits on regardless); the hook decides
                // nothing, so nothing is answered on a guess.
                (None, None)
                    if h.drawn_with_hook
                        && last_output.is_some_and(|t| t > h.opened)
                        && s.idle_since.is_some_and(|t| t.elapsed() >= HOOK_IDLE)
                        && h.opened.elapsed() >= Duration::from_millis(HOOK_GRACE_MS) =>
                {
                    let Some(h) = s.hooks.pop_front() else { return };
                    let prompt = h.prompt.clone();
                    h.reply(&HookReply::none());
                    self.audit_vanished(i, &prompt, "pane", "the dialog was answered in the pane");
                }
                (None, None) => {
                    if h.drawn_with_hook
                        && let Some(t) = s.idle_since
                    {
                        let at =
                            (t + HOOK_IDLE).max(h.opened + Duration::from_millis(HOOK_GRACE_MS));
                        s.detect_due = Some(s.detect_due.map_or(at, |d| d.min(at)));
                    }
                    return;
                }
                (Some(_), _) => {
                    let Some(h) = s.hooks.pop_front() else { return };
                    let prompt = h.prompt.clone();
                    h.reply(&HookReply::none());
                    self.audit_vanished(i, &prompt, "pane", "the dialog was answered in the pane");
                }
            }
        }
    }

    /// Makes the inbox prompt of slot `i` the oldest hook request, else the
    /// screen prompt (on a hooked slot only after [`HOOK_GRACE_MS`], and never
    /// a dialog whose hook request was answered), and announces a change.
    fn sync_inbox(&mut self, i: SlotIdx) {
        let s = &self.slots[i];
        if s.prompt.as_ref().map(|p| p.id) == inbox_want_ref(s).0.map(|p| p.id) {
            return;
        }
        let (want, opened_at) = inbox_want(s);
        let s = &mut self.slots[i];
        let mut events = Vec::new();
        if let Some(o) = s.prompt.take() {
            events.push(Event::PromptClosed {
                slot: i,
                prompt: o.id,
            });
        }
        s.prompt = want.clone();
        s.prompt_opened = opened_at;
        s.policy_due = None;
        if let Some(p) = want {
            // A hook request is exact and bound to its connection: decide at
            // once. A screen dialog must first settle (agents draw before
            // they listen).
            let delay = match p.source {
                PromptSource::Hook => 0,
                PromptSource::Screen => POLICY_SETTLE_MS,
            };
            s.policy_due = Some((Instant::now() + Duration::from_millis(delay), p.id));
            if p.source == PromptSource::Hook && s.state != AgentState::NeedsPermission {
                s.state = AgentState::NeedsPermission;
                events.push(Event::StateChanged {
                    slot: i,
                    state: AgentState::NeedsPermission,
                    rule: "hook.permission-request".into(),
                });
            }
            events.push(Event::PromptOpened { slot: i, prompt: p });
        }
        for e in events {
            self.emit(e);
        }
    }

    /// A hook request arrived: check it belongs to a live session of a slot
    /// with a hook, read it, and queue it (the first is the inbox prompt).
    fn hook_opened(&mut self, conn: u64, req: HookRequest, stream: UnixStream) {
        let refuse = |stream: UnixStream, why: String| {
            tracing::info!(conn, "hook request refused: {why}");
            send_reply(conn, &stream, &HookReply::error(why));
        };
        let Some(i) = self.slots.iter().position(|s| s.id == req.slot) else {
            return refuse(stream, format!("no slot {:?}", req.slot));
        };
        let s = &self.slots[i];
        let spec = s.profile.hook.as_ref();
        if s.live.is_none()
            || s.generation != req.generation
            || s.hook_token.is_empty()
            || s.hook_token != req.token
            || spec.map(|h| h.protocol) != Some(req.protocol)
        {
            return refuse(stream, "not the slot's current session".into());
        }
        let call = match agent_hook::parse(req.protocol, &req.event) {
            Ok(c) => c,
            Err(e) => return refuse(stream, e.to_string()),
        };
        let tool = spec
            .and_then(|h| h.rename_tools.get(&call.tool).cloned())
            .unwrap_or(call.tool);
        // The agent says which conversation it runs (it changes with
        // Claude Code's `/clear`, Codex's `/new`).
        if let Some(id) = req.event.get("session_id").and_then(|v| v.as_str()) {
            self.learn_conversation(i, id.to_string());
        }
        let s = &mut self.slots[i];
        s.prompt_seq = s.prompt_seq.wrapping_add(1);
        let mut p = Prompt {
            source: PromptSource::Hook,
            incomplete: None,
            id: PromptId(0),
            dialog_hash: 0,
            tool,
            subject: call.subject,
            question: call.question,
            options: Vec::new(),
            dialog: call.dialog,
            deny_fallback: Vec::new(),
            unavailable: Default::default(),
        };
        p.dialog_hash = detect::hash_text(&format!("hook\n{conn}\n{}\n{}", p.tool, p.subject));
        p.identify(&s.id, s.generation, s.prompt_seq);
        p.options = hook_options();
        tracing::info!(slot = %s.id, conn, tool = %p.tool, "hook request");
        let cwd = req
            .event
            .get("cwd")
            .and_then(serde_json::Value::as_str)
            .map(PathBuf::from);
        // Idle must be read again after the request came (it came with new
        // output), before a never-seen dialog counts as answered.
        s.idle_since = None;
        s.hooks.push_back(HookPending {
            conn,
            stream,
            prompt: p,
            opened: Instant::now(),
            screen_hash: None,
            screen_key: None,
            cwd,
            drawn_with_hook: req.protocol == proto::HookProtocol::ClaudePermissionRequest,
        });
        self.correlate_hooks(i);
        self.sync_inbox(i);
    }

    /// A hook's connection closed before an answer: the agent gave up on it
    /// (the person answered in the pane, or the hook timed out).
    fn hook_gone(&mut self, conn: u64) {
        for i in 0..self.slots.len() {
            let Some(at) = self.slots[i].hooks.iter().position(|h| h.conn == conn) else {
                continue;
            };
            let Some(h) = self.slots[i].hooks.remove(at) else {
                return;
            };
            self.audit_vanished(i, &h.prompt, "none", "the agent closed the hook request");
            self.sync_inbox(i);
            return;
        }
    }

    /// Ends every waiting hook request of slot `i` (its session ends): each
    /// hook prints nothing.
    fn drop_hooks(&mut self, i: SlotIdx) {
        let Some(s) = self.slots.get_mut(i) else {
            return;
        };
        for h in s.hooks.drain(..) {
            h.reply(&HookReply::none());
        }
    }

    /// Answers a new prompt by policy, through the same verified path as a
    /// keypress (the answer names the prompt id; it is re-detected first).
    fn apply_policy(&mut self, i: SlotIdx, p: &Prompt) {
        let s = &self.slots[i];
        // Never decide on a guess: a rule answers only an exact subject.
        let inexact = match (p.source, p.incomplete) {
            (PromptSource::Screen, _) if !s.hook_token.is_empty() => {
                Some("the agent's hook did not report this dialog".to_string())
            }
            (PromptSource::Screen, Some(why)) => Some(why.to_string()),
            _ => None,
        };
        if let Some(why) = inexact {
            if !self.policy.rules.is_empty() {
                self.emit(Event::PolicyAsked {
                    slot: i,
                    prompt: p.id,
                    reason: format!("subject not exact: {why}"),
                });
            }
            return;
        }
        // A hook says where the agent runs the tool: writes are judged
        // against the slot's directory only while the agent is inside it.
        let hook_cwd = s
            .hooks
            .iter()
            .find(|h| h.prompt.id == p.id)
            .and_then(|h| h.cwd.clone());
        let outside = match (&hook_cwd, &s.cwd) {
            (Some(h), Some(c)) if !h.starts_with(c) => Some(format!(
                "the agent runs in {}, outside the slot's directory {}",
                h.display(),
                c.display()
            )),
            _ => None,
        };
        // A shell command is parsed first in a child under hard limits.
        let probed = match &self.probe_exe {
            Some(exe) if crate::policy::is_shell_tool(&p.tool) => {
                probe::check(exe, &p.subject).err()
            }
            _ => None,
        };
        let d = if let Some(why) = probed {
            tracing::warn!(slot = %s.id, "{why}");
            crate::policy::Decision {
                verdict: Verdict::Ask,
                rule: None,
                reason: format!("unparseable: {why}"),
            }
        } else {
            self.policy.decide(&Subject {
                slot: &s.id,
                role: &s.cfg.role,
                agent: &s.profile.name,
                tool: &p.tool,
                subject: &p.subject,
                cwd: s.cwd.as_deref(),
                dialog: &p.dialog.join("\n"),
                incomplete: outside.as_deref(),
            })
        };
        let answer = match d.verdict {
            Verdict::Allow => Answer::ApproveOnce,
            Verdict::Deny => Answer::Deny,
            Verdict::Ask => {
                // A rule's reason, or why the subject could not be
                // evaluated at all (`unparseable: nested too deeply`).
                if d.rule.is_some()
                    || (!self.policy.rules.is_empty() && d.reason.starts_with("unparseable"))
                {
                    self.emit(Event::PolicyAsked {
                        slot: i,
                        prompt: p.id,
                        reason: d.reason,
                    });
                }
                return;
            }
        };
        if !self.auto {
            self.emit(Event::PolicyAsked {
                slot: i,
                prompt: p.id,
                reason: format!("paused ({})", d.reason),
            });
            return;
        }
        let by = AnsweredBy {
            source: "policy".into(),
            detail: d.rule.unwrap_or_default(),
        };
        self.answer(i, p.id, answer, by);
    }

    /// Answers hook request `pos` of slot `i` through its hook: allow or
    /// deny, bound to that request. Other answers are refused (they exist
    /// only as keys in the pane).
    fn answer_hook(&mut self, i: SlotIdx, pos: usize, answer: Answer, by: AnsweredBy) {
        let s = &mut self.slots[i];
        let decision = match answer {
            Answer::ApproveOnce => HookDecision::Allow,
            Answer::Deny => HookDecision::Deny,
            Answer::ApproveAlways | Answer::Select(_)
                if s.profile.hook.as_ref().is_some_and(|h| h.dialog_after_hook) =>
            {
                // The agent draws its dialog once the hook decides nothing:
                // hand the request back and answer that dialog when it shows
                // this same subject, read exactly.
                let Some(h) = s.hooks.remove(pos) else { return };
                tracing::info!(slot = %s.id, %answer, "hook request handed back for the agent's dialog");
                s.after_hook = Some(AfterHook {
                    tool: h.prompt.tool.clone(),
                    subject: h.prompt.subject.clone(),
                    answer,
                    by,
                    until: Instant::now() + Duration::from_millis(AFTER_HOOK_MS),
                });
                h.reply(&HookReply::none());
                let at = Instant::now() + Duration::from_millis(AFTER_HOOK_RECHECK_MS);
                s.detect_due = Some(s.detect_due.map_or(at, |d| d.min(at)));
                self.sync_inbox(i);
                return;
            }
            Answer::ApproveAlways | Answer::Select(_) => {
                let Some(h) = s.hooks.get(pos) else { return };
                let (prompt, want) = (h.prompt.clone(), h.prompt.id);
                // The hook only says allow or deny. The agent's own dialog for
                // this request, seen while it waited and still on screen, has
                // the other options: answer there, by the verified keys path.
                let dialog = s
                    .screen
                    .as_ref()
                    .filter(|p| h.screen_hash == Some(p.dialog_hash))
                    .map(|p| (p.id, p.dialog_hash));
                // Its dialog may not be read yet: look again shortly.
                if dialog.is_none() && h.opened.elapsed() < Duration::from_millis(HOOK_GRACE_MS) {
                    let at = Instant::now() + Duration::from_millis(DETECT_DEBOUNCE_MS * 2);
                    s.answer_due = Some((at, want, answer, by));
                    return;
                }
                let settled = s
                    .screen_since
                    .map(|t| t + Duration::from_millis(POLICY_SETTLE_MS));
                if dialog.is_some()
                    && let Some(at) = settled.filter(|at| *at > Instant::now())
                {
                    s.answer_due = Some((at, want, answer, by));
                    return;
                }
                if let Some((screen_id, hash)) = dialog {
                    self.answer(i, screen_id, answer, by);
                    let s = &mut self.slots[i];
                    if s.answered == Some(screen_id)
                        && let Some(at) = s.hooks.iter().position(|h| h.prompt.id == want)
                        && let Some(h) = s.hooks.remove(at)
                    {
                        s.answered_dialog = Some(hash);
                        h.reply(&HookReply::none());
                        self.sync_inbox(i);
                    }
                    return;
                }
                let reason = format!(
                    "{answer} is not sent through the agent's hook, and its dialog is not on screen"
                );
                return self.refuse(i, Some(&prompt), want, answer, &by, reason);
            }
        };
        let Some(h) = s.hooks.remove(pos) else { return };
        let prompt = h.prompt.clone();
        let want = prompt.id;
        // The dialog this request showed is answered: never offer it again.
        s.answered_dialog = h
            .screen_hash
            .or_else(|| s.screen.as_ref().map(|p| p.dialog_hash));
        s.answered = Some(want);
        s.answered_at = Some(Instant::now());
        let message = (decision == HookDecision::Deny).then(|| match by.source.as_str() {
            "policy" => format!("Denied by corral rule {}", by.detail),
            _ => "Denied by the person supervising this agent in corral".to_string(),
        });
        h.reply(&HookReply {
            v: PROTO_VERSION,
            decision: Some(decision),
            message,
            error: None,
        });
        self.audit(i, Some(&prompt), want, Some(answer), &by, "sent", None);
        tracing::info!(slot = %self.slots[i].id, %want, %answer, "answer sent through the hook");
        self.emit(Event::AnswerSent {
            slot: i,
            prompt: want,
            answer,
            by,
        });
        self.sync_inbox(i);
    }

    fn answer(&mut self, i: SlotIdx, want: PromptId, answer: Answer, by: AnsweredBy) {
        let Some(s) = self.slots.get(i) else { return };
        if s.answer_due.as_ref().is_some_and(|a| a.1 == want) {
            let reason =
                "this prompt was already answered (its keys wait for the dialog to settle)";
            let prompt = s.screen.clone().filter(|p| p.id == want);
            return self.refuse(i, prompt.as_ref(), want, answer, &by, reason.into());
        }
        if let Some(pos) = s.hooks.iter().position(|h| h.prompt.id == want) {
            return self.answer_hook(i, pos, answer, by);
        }
        // A dialog whose hook request was answered takes no keys too.
        if let Some(p) = s
            .screen
            .as_ref()
            .filter(|p| p.id == want && s.answered_dialog == Some(p.dialog_hash))
        {
            let reason = "this dialog was already answered through the agent's hook";
            let p = p.clone();
            return self.refuse(i, Some(&p), want, answer, &by, reason.into());
        }

        // Re-detect on the screen as it is now: the user's decision applies
        // only to the dialog they saw.
        let current = if s.live.is_some() {
            let snap = s.shared.lock().snapshot();
            detect::detect(&s.profile, &snap, Timing::default()).prompt
        } else {
            None
        };
        // Keys an agent missed: the same prompt still on screen long after
        // its answer may be answered again.
        let answered = s.answered.filter(|_| {
            s.answered_at
                .is_none_or(|t| t.elapsed() < Duration::from_millis(REANSWER_AFTER_MS))
        });
        let verdict = check_answer(current.as_ref(), s.screen.as_ref(), answered, want, answer)
            .map(|(p, keys)| {
                let modes = s.shared.lock().input_modes();
                let bytes: Vec<u8> = keys.iter().flat_map(|k| keys::encode(*k, modes)).collect();
                (p, bytes)
            });
        // Keys for a dialog drawn a moment ago wait until the agent listens
        // (and are checked again then).
        if verdict.is_ok()
            && let Some(at) = s
                .screen_since
                .map(|t| t + Duration::from_millis(POLICY_SETTLE_MS))
                .filter(|at| *at > Instant::now())
        {
            self.slots[i].answer_due = Some((at, want, answer, by));
            return;
        }
        match verdict {
            Ok((prompt, bytes)) => {
                let sent = self.write(i, bytes);
                let s = &mut self.slots[i];
                if sent {
                    s.answered = Some(want);
                    s.answered_at = Some(Instant::now());
                    s.detect_due = Some(Instant::now() + Duration::from_millis(DETECT_DEBOUNCE_MS));
                    self.audit(i, Some(&prompt), want, Some(answer), &by, "sent", None);
                    tracing::info!(slot = %self.slots[i].id, %want, %answer, "answer sent");
                    self.emit(Event::AnswerSent {
                        slot: i,
                        prompt: want,
                        answer,
                        by,
                    });
                } else {
                    let reason = "the session is not accepting input";
                    self.refuse(i, Some(&prompt), want, answer, &by, reason.into());
                }
            }
            Err(Refusal { reason, prompt }) => {
                tracing::info!(slot = %self.slots[i].id, %want, %reason, "answer refused");
                self.refuse(i, prompt.as_deref(), want, answer, &by, reason);
            }
        }
    }

    /// Audits an answer that was not sent, and tells the clients why.
    fn refuse(
        &self,
        i: SlotIdx,
        prompt: Option<&Prompt>,
        want: PromptId,
        answer: Answer,
        by: &AnsweredBy,
        reason: String,
    ) {
        self.audit(i, prompt, want, Some(answer), by, "refused", Some(&reason));
        self.emit(Event::AnswerRefused {
            slot: i,
            prompt: want,
            reason,
        });
    }

    /// Audits a prompt that closed without an answer from corral; `who` is
    /// `none`, or `pane` when the person answered in the pane.
    fn audit_vanished(&self, i: SlotIdx, p: &Prompt, who: &str, why: &str) {
        let by = AnsweredBy {
            source: who.into(),
            detail: String::new(),
        };
        self.audit(i, Some(p), p.id, None, &by, "vanished", Some(why));
    }

    #[allow(clippy::too_many_arguments)]
    fn audit(
        &self,
        i: SlotIdx,
        prompt: Option<&Prompt>,
        id: PromptId,
        answer: Option<Answer>,
        by: &AnsweredBy,
        result: &str,
        reason: Option<&str>,
    ) {
        let Some(path) = &self.audit_path else { return };
        let s = &self.slots[i];
        let rec = AuditRecord {
            time: now_rfc3339(),
            session: &self.session,
            slot: &s.id,
            agent: &s.profile.name,
            generation: s.generation,
            prompt_id: id.to_string(),
            source: prompt.map(|p| p.source),
            incomplete: prompt.and_then(|p| p.incomplete).map(|i| i.to_string()),
            tool: prompt.map_or("", |p| p.tool.as_str()),
            subject: prompt.map_or("", |p| p.subject.as_str()),
            question: prompt.map_or("", |p| p.question.as_str()),
            answer: answer.map(|a| a.to_string()).unwrap_or_default(),
            by,
            result,
            reason,
            waited_ms: s
                .prompt_opened
                .filter(|_| s.prompt.as_ref().is_some_and(|p| p.id == id))
                .map(|t| t.elapsed().as_millis() as u64),
            sandbox: s.sandbox.as_ref(),
        };
        let line = match serde_json::to_string(&rec) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("audit: {e}");
                return;
            }
        };
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let res = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = res {
            tracing::warn!("audit log {}: {e}", path.display());
        }
    }
}

/// Whether a screen dialog showing (tool, subject) `key` can be the dialog
/// of hook request `p`: the same tool, and the same subject with runs of
/// white space alike (the screen's reading of a wrapped command is a best
/// guess, so a subject cut off with `…` also matches its start).
fn same_call(p: &Prompt, key: &(String, String)) -> bool {
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let (tool, subject) = key;
    if *tool != p.tool {
        return false;
    }
    let (a, b) = (norm(subject), norm(&p.subject));
    a == b
        || a.strip_suffix('…')
            .is_some_and(|start| b.starts_with(start.trim_end()))
}

/// After corral resized slot `s`'s pane, the dialog its agent draws again
/// is the prompt the inbox shows: a reading with no dialog (mid-redraw) keeps
/// the old prompt (`held`), and a redraw of the same dialog ([`same_dialog`])
/// keeps its place and age. Returns whether the prompt was held, and the id
/// it had with the prompt as read now when the inbox's prompt was redrawn.
fn carry_through_reflow(
    s: &mut SlotRt,
    d: &mut detect::Detection,
    last_output: Option<Instant>,
) -> (bool, Option<(PromptId, Prompt)>) {
    let reflow_end = s
        .reflowed_at
        .map(|t| {
            let quiet = last_output
                .filter(|o| *o > t)
                .map(|o| o + Duration::from_millis(REFLOW_QUIET_MS));
            let end = t + Duration::from_millis(REFLOW_GRACE_MS);
            quiet
                .map_or(end, |q| end.max(q))
                .min(t + Duration::from_millis(REFLOW_MAX_MS))
        })
        .filter(|end| *end > Instant::now());
    // Outside a reflow (nearly always) nothing is copied.
    let Some(end) = reflow_end else {
        return (false, None);
    };
    let Some(old) = s.screen.clone() else {
        return (false, None);
    };
    if s.answered == Some(old.id) {
        return (false, None);
    }
    match &d.prompt {
        // Mid-redraw: the dialog is still there for the agent.
        None => {
            d.prompt = Some(old);
            s.detect_due = Some(s.detect_due.map_or(end, |x| x.min(end)));
            (true, None)
        }
        Some(new) if new.dialog_hash != old.dialog_hash && same_dialog(&old, new) => {
            let mut new = new.clone();
            // An id names what the person saw: a reading that says
            // something else (more of a cut subject) gets a new id, so an
            // answer to the old one is refused; the inbox entry and its age
            // stay.
            let reads_otherwise = old.subject != new.subject
                || old.tool != new.tool
                || old.incomplete != new.incomplete;
            if reads_otherwise {
                s.prompt_seq = s.prompt_seq.wrapping_add(1);
                new.identify(&s.id, s.generation, s.prompt_seq);
            } else {
                new.id = old.id;
            }
            if s.answered_dialog == Some(old.dialog_hash) {
                s.answered_dialog = Some(new.dialog_hash);
            }
            s.screen = Some(new.clone());
            d.prompt = Some(new.clone());
            if s.prompt.as_ref().is_none_or(|p| p.id != old.id) {
                return (false, None);
            }
            s.prompt = Some(new.clone());
            if reads_otherwise {
                // Judge it again as it reads now.
                let at = Instant::now() + Duration::from_millis(POLICY_SETTLE_MS);
                s.policy_due = Some((at, new.id));
            }
            (false, Some((old.id, new)))
        }
        Some(_) => (false, None),
    }
}

/// Whether `new`, read after corral resized the pane, is dialog `old` drawn
/// again at the new size: the same options, the same tool (unless the pane
/// cut the tool off), and the same subject as far as either reading can
/// tell (a re-wrap may drop spaces or cut it short; a dialog cut off by the
/// pane showed no subject at all). A reading whose structure is in doubt
/// (possibly model text imitating a dialog) is never the same dialog.
fn same_dialog(old: &Prompt, new: &Prompt) -> bool {
    use detect::Incomplete;
    let options = |p: &Prompt| {
        p.options
            .iter()
            .map(|o| (o.number, o.kind))
            .collect::<Vec<_>>()
    };
    let doubtful = |p: &Prompt| {
        matches!(
            p.incomplete,
            Some(Incomplete::Ambiguous | Incomplete::SecondDialog | Incomplete::Empty)
        )
    };
    if doubtful(old) || doubtful(new) || options(old) != options(new) {
        return false;
    }
    if old.incomplete == Some(Incomplete::CutOff) || new.incomplete == Some(Incomplete::CutOff) {
        return old.tool == new.tool
            || old.tool == detect::UNKNOWN_TOOL
            || new.tool == detect::UNKNOWN_TOOL;
    }
    if old.tool != new.tool {
        return false;
    }
    if old.subject == new.subject {
        return true;
    }
    let dense = |s: &str| {
        s.chars()
            .filter(|c| !c.is_whitespace() && *c != '…')
            .collect::<String>()
    };
    let (a, b) = (dense(&old.subject), dense(&new.subject));
    // Two exact readings that differ are two commands (`rm -rf / tmp` is not
    // `rm -rf /tmp`).
    (old.incomplete.is_some() || new.incomplete.is_some())
        && !a.is_empty()
        && !b.is_empty()
        && (a.starts_with(&b) || b.starts_with(&a))
}

/// The prompt slot `s`'s inbox should show, and since when: the oldest hook
/// request, else the screen prompt (on a hooked slot only after
/// [`HOOK_GRACE_MS`], and never a dialog whose hook request was answered).
fn inbox_want(s: &SlotRt) -> (Option<Prompt>, Option<Instant>) {
    let (p, since) = inbox_want_ref(s);
    (p.cloned(), since)
}

/// [`inbox_want`] without the copy.
fn inbox_want_ref(s: &SlotRt) -> (Option<&Prompt>, Option<Instant>) {
    if let Some(h) = s.hooks.front() {
        return (Some(&h.prompt), Some(h.opened));
    }
    let Some(p) = &s.screen else {
        return (None, None);
    };
    let grace_over = s
        .screen_since
        .is_some_and(|t| t.elapsed() >= Duration::from_millis(HOOK_GRACE_MS));
    if s.answered_dialog == Some(p.dialog_hash) || !(s.hook_token.is_empty() || grace_over) {
        return (None, None);
    }
    (Some(p), s.screen_since)
}

/// A slot's state before its first session: `cfg` with a PTY of `size`
/// (rows, cols) and its agent's profile (the generic one when it has
/// none).
///
/// Errors: not even the generic profile is loaded.
fn new_slot(
    cfg: &SlotConfig,
    size: (u16, u16),
    profiles: &Profiles,
    scrollback_rows: usize,
    epoch: Instant,
) -> anyhow::Result<SlotRt> {
    let (rows, cols) = size;
    let profile = profiles
        .get(cfg.agent.get_ref())
        .or_else(|| profiles.get("generic"))
        .ok_or_else(|| anyhow::anyhow!("no profile for agent {:?}", cfg.agent.get_ref()))?;
    let shared = Arc::new(SlotShared {
        engine: Mutex::new(Engine::new(rows, cols, scrollback_rows)),
        ui_dirty: AtomicBool::new(false),
        detect_pending: AtomicBool::new(false),
        flooding: AtomicBool::new(false),
        last_output_ms: AtomicU64::new(0),
        pid: AtomicU32::new(0),
        session_id: Mutex::new(None),
        launch: Mutex::new(None),
        profile: profile.clone(),
        input: Arc::default(),
        epoch,
    });
    Ok(SlotRt {
        profile,
        cfg: cfg.clone(),
        id: cfg.id.get_ref().clone(),
        shared,
        live: None,
        generation: 0,
        state: AgentState::Starting,
        prompt: None,
        // Random start: prompt ids of a slot that starts again at session 1
        // (a fresh start, another server) are never those of before, so a
        // stale `ctl answer --prompt ID` cannot answer a new prompt.
        prompt_seq: random_u64(),
        prompt_opened: None,
        policy_due: None,
        answer_due: None,
        answered: None,
        answered_at: None,
        detect_due: None,
        restart_due: None,
        backoff: RESTART_MIN,
        started_at: epoch,
        size: (rows.max(1), cols.max(1)),
        restart_now: false,
        failure: None,
        screen: None,
        screen_since: None,
        reflowed_at: None,
        answered_dialog: None,
        hooks: VecDeque::new(),
        hook_token: String::new(),
        cwd: None,
        after_hook: None,
        idle_since: None,
        enter_due: None,
        worktree: None,
        refused_at: None,
        sandbox: None,
        session_id: None,
        restored: false,
        resuming: false,
        was_ready: false,
        making: false,
        making_cancelled: false,
        made_now: false,
    })
}

/// Writes corral's own `note` into slot `i`'s pane, as output of the slot
/// (clients see it too).
fn pane_note(shared: &SlotShared, screens: Option<&dyn ScreenSink>, i: SlotIdx, note: &str) {
    {
        let mut e = shared.lock();
        e.process(note.as_bytes());
        if let Some(sink) = screens {
            sink.output(i, note.as_bytes(), &e);
        }
    }
    shared.ui_dirty.store(true, Ordering::Release);
}

/// The conversation slot `cfg` resumes: its known `id`, when the slot
/// resumes at all and the agent has a transcript of it (where the profile
/// says where to look).
fn conversation_to_resume(
    spec: &SessionSpec,
    cfg: &SlotConfig,
    id: Option<&str>,
) -> Option<String> {
    let id = id.filter(|id| conversation::is_uuid(id))?;
    if !cfg.resume {
        return None;
    }
    if spec.transcript.is_none() {
        return Some(id.to_string());
    }
    let pattern = transcript_pattern(spec, cfg)?;
    conversation::exists(&pattern, id).then(|| id.to_string())
}

/// The profile's transcript pattern with slot `cfg`'s environment (its
/// `env` table, then the server's) put in.
fn transcript_pattern(spec: &SessionSpec, cfg: &SlotConfig) -> Option<String> {
    let env = |k: &str| cfg.env.get(k).cloned().or_else(|| std::env::var(k).ok());
    conversation::expand(spec.transcript.as_deref()?, &env)
}

/// A random (version 4) UUID from the OS, as text; `None` when the OS
/// gives no randomness.
/// A random number from the system (0 when it has none to give).
fn random_u64() -> u64 {
    use std::io::Read;
    let mut b = [0u8; 8];
    match File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)) {
        Ok(()) => u64::from_le_bytes(b),
        Err(_) => 0,
    }
}

/// What slot `cfg` is (see [`state::Identity`]): its workspace is its `cwd`
/// made absolute against the server's directory (that directory when it
/// has none).
fn identity_of(cfg: &SlotConfig) -> state::Identity {
    let here = std::env::current_dir().unwrap_or_default();
    let workspace = match &cfg.cwd {
        Some(c) => here.join(expand_home(c)),
        None => here,
    };
    state::Identity {
        agent: cfg.agent.get_ref().clone(),
        command: cfg.command.get_ref().clone(),
        workspace: std::path::absolute(&workspace).unwrap_or(workspace),
        worktree: cfg.worktree_branch(),
    }
}

fn new_uuid() -> Option<String> {
    use std::io::Read;
    let mut b = [0u8; 16];
    File::open("/dev/urandom").ok()?.read_exact(&mut b).ok()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

/// A random secret for a session's hook (128 bits from the OS); `None`
/// when the OS gives none (the session then gets no hook).
fn new_token() -> Option<String> {
    use std::io::Read;
    let mut b = [0u8; 16];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(|e| tracing::warn!("no random token, so no hook: {e}"))
        .ok()?;
    Some(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// `w` quoted for a POSIX shell (agents run hook commands through one).
fn shell_quote(w: &str) -> String {
    if !w.is_empty()
        && w.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:@%+,".contains(&b))
    {
        return w.to_string();
    }
    format!("'{}'", w.replace('\'', "'\\''"))
}

/// The options of a hook prompt: what the inbox offers (approve once and
/// deny, both sent through the hook).
fn hook_options() -> Vec<detect::PromptOption> {
    vec![
        detect::PromptOption {
            number: 1,
            label: "Yes (through the hook)".into(),
            kind: detect::AnswerKind::ApproveOnce,
            keys: Vec::new(),
            selected: false,
        },
        detect::PromptOption {
            number: 2,
            label: "No (through the hook)".into(),
            kind: detect::AnswerKind::Deny,
            keys: Vec::new(),
            selected: false,
        },
    ]
}

/// The safety check in front of every answer (invariant 1 of DESIGN.md):
/// keys go out only if the prompt detected on the screen *now* (`current`)
/// is the dialog the manager announced (`known`) under the id the answer
/// names (`want`), and that prompt was not answered yet. Returns the prompt
/// and the keys, or why nothing may be sent (with the prompt, if known).
pub fn check_answer(
    current: Option<&Prompt>,
    known: Option<&Prompt>,
    answered: Option<PromptId>,
    want: PromptId,
    answer: Answer,
) -> Result<(Prompt, Vec<KeyPress>), Refusal> {
    let refuse = |reason: &str, p: Option<&Prompt>| Refusal {
        reason: reason.to_string(),
        prompt: p.map(|p| Box::new(p.clone())),
    };
    match (current, known) {
        (None, k) => Err(refuse(
            "the prompt is no longer on screen",
            k.filter(|k| k.id == want),
        )),
        (Some(cur), Some(k)) if cur.dialog_hash == k.dialog_hash && k.id == want => {
            if answered == Some(want) {
                return Err(refuse("this prompt was already answered", Some(k)));
            }
            match cur.keys_for(answer) {
                Ok(keys) => Ok((k.clone(), keys)),
                Err(e) => Err(refuse(&e.to_string(), Some(k))),
            }
        }
        (Some(_), k) => Err(refuse(
            "the prompt on screen changed since it was shown",
            k.filter(|k| k.id == want),
        )),
    }
}

/// Why an answer was not sent, with the prompt it named (when known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// In words, for the user and the audit log.
    pub reason: String,
    /// The prompt the answer named, if the manager knows it.
    pub prompt: Option<Box<Prompt>>,
}

/// SIGHUP the child's process group now and SIGKILL it 2 s later if needed.
fn kill_later(live: &Live) {
    live.signal(libc::SIGHUP);
    let pid = live.pid;
    let _ = thread::Builder::new().name("killer".into()).spawn(move || {
        thread::sleep(Duration::from_secs(2));
        signal_group(pid, libc::SIGKILL);
    });
}

/// What starts a slot's program: a real process on a new PTY
/// ([`PtySpawner`]), or a fake in tests (a PTY with no process, whose
/// "program" the test plays through the PTY's other side).
pub trait Spawner: Send + Sync {
    /// Starts `slot`'s program with `extra_args` (resume and hook
    /// arguments) after its own, in `cwd`, on a PTY of `size` (rows, cols).
    ///
    /// Errors: why it cannot start (no such command, no such directory, no
    /// PTY), in one line for the pane.
    fn spawn(
        &self,
        slot: &SlotConfig,
        extra_args: &[String],
        cwd: Option<PathBuf>,
        size: (u16, u16),
    ) -> anyhow::Result<Spawned>;
}

/// A started program: the PTY's master side and the child.
pub struct Spawned {
    /// The PTY's master side (output is read, input written, size set here).
    pub master: Box<dyn MasterPty + Send>,
    /// The child: its exit is waited for, and it is killed through it when
    /// it has no process id to signal.
    pub child: Box<dyn portable_pty::Child + Send + Sync>,
}

/// Starts real processes on new PTYs (portable-pty), each in a session of
/// its own.
pub struct PtySpawner;

impl Spawner for PtySpawner {
    fn spawn(
        &self,
        slot: &SlotConfig,
        extra_args: &[String],
        cwd: Option<PathBuf>,
        (rows, cols): (u16, u16),
    ) -> anyhow::Result<Spawned> {
        let pair = native_pty_system().openpty(PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })?;
        let program = slot.command.get_ref();
        find_program(slot)?;
        let mut cmd = CommandBuilder::new(program);
        cmd.args(&slot.args);
        cmd.args(extra_args);
        let cwd = cwd.ok_or_else(|| anyhow::anyhow!("no working directory"))?;
        if !cwd.is_dir() {
            anyhow::bail!("working directory {} does not exist", cwd.display());
        }
        cmd.cwd(cwd);
        // The child's terminal is corral, not whatever corral runs in.
        for k in [
            "TMUX",
            "TMUX_PANE",
            "TERM_PROGRAM",
            "TERM_PROGRAM_VERSION",
            "COLUMNS",
            "LINES",
        ] {
            cmd.env_remove(k);
        }
        cmd.env("TERM", "xterm-256color");
        cmd.env("COLORTERM", "truecolor");
        cmd.env("CORRAL_SLOT", slot.id.get_ref());
        for (k, v) in &slot.env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd)?;
        drop(pair.slave);
        Ok(Spawned {
            master: pair.master,
            child,
        })
    }
}

/// The sandbox part of `ctl explain`: its state, where the session may
/// write, and what it does not cover.
fn explain_sandbox(sb: &crate::sandbox::SandboxStatus) -> String {
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

/// Checks that slot `slot`'s program can be found: a bare name in the
/// `PATH` the child gets (the slot's own, else corral's).
///
/// Errors: "no such command in PATH".
fn find_program(slot: &SlotConfig) -> anyhow::Result<()> {
    let program = slot.command.get_ref();
    let path = slot
        .env
        .get("PATH")
        .map(std::ffi::OsString::from)
        .or_else(|| std::env::var_os("PATH"));
    let cwd_now = std::env::current_dir().unwrap_or_default();
    if !program.contains('/') && which::which_in(program, path, cwd_now).is_err() {
        anyhow::bail!("no such command in PATH");
    }
    Ok(())
}

/// Where sandboxed slots of session `session` under the config `config`
/// (its path) get their private temporary directories:
/// `<tmp>/corral-<uid>-sandbox/<session>-<config hash>/<slot>`, so a slot of
/// the same id under another config never finds the first one's files.
fn sandbox_temp_base(session: &str, config: &str) -> PathBuf {
    use sha2::Digest;
    // SAFETY: getuid(2) has no failure modes and no memory effects.
    let uid = unsafe { libc::getuid() };
    let digest = sha2::Sha256::digest(config.as_bytes());
    let hash: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    std::env::temp_dir()
        .join(format!("corral-{uid}-sandbox"))
        .join(format!("{session}-{hash}"))
}

/// Landlock here, and whether the server can keep a sandbox's promise: a
/// server that itself runs with `no_new_privs` cannot tell a sandboxed
/// agent's connections from a person's.
fn sandbox_support() -> crate::sandbox::Support {
    match crate::sandbox::support() {
        crate::sandbox::Support::Available { .. } if crate::sandbox::server_has_no_new_privs() => {
            crate::sandbox::Support::Missing {
                why: "corral's server runs with no_new_privs set (a container or service manager set it), so it cannot tell a sandboxed agent's connections from yours".into(),
            }
        }
        other => other,
    }
}

/// `~` or `~/...` at the start of a path means the home directory.
fn expand_home(p: &std::path::Path) -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    match (p.strip_prefix("~"), home) {
        (Ok(rest), Some(h)) => h.join(rest),
        _ => p.to_path_buf(),
    }
}

/// Writes `bytes` to slot `slot`'s PTY through its input lane.
///
/// Errors: why they were not written or queued (no session runs; the
/// child is not reading and its queue is full), for the caller to say.
fn write_input(s: &SlotShared, slot: SlotIdx, bytes: &[u8]) -> Result<(), InputError> {
    let r = s.input.write(bytes);
    if let Err(e) = r {
        tracing::info!(slot, "{e}; input not sent");
    }
    r
}

/// Stack of the session manager's thread, in bytes.
const SESSIONS_STACK_BYTES: usize = 16 << 20;

/// Bytes within one [`FLOOD_WINDOW`] above which a session counts as
/// flooding (8 MiB/s; agents redrawing their screens stay far below it).
pub const FLOOD_BYTES: usize = 8 << 20;
/// The window over which [`FLOOD_BYTES`] is counted.
const FLOOD_WINDOW: Duration = Duration::from_secs(1);
/// Most bytes a flooding session's reader hands to the engine under one lock:
/// the reader runs at lower priority and may be preempted while it holds the
/// engine, so it holds it for one PTY read's worth at most.
const FLOOD_BATCH: usize = 4096;
/// Nice value a flooding session's reader thread takes (Linux, per thread).
const FLOOD_NICE: libc::c_int = 10;

/// Detects a session that floods output (`yes`, a runaway log): true once,
/// the first time more than [`FLOOD_BYTES`] arrive within [`FLOOD_WINDOW`].
#[derive(Debug, Default)]
struct FloodMeter {
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
fn yield_to_interactive_work() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain syscalls on the calling thread's own id; no memory is shared.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, FLOOD_NICE);
    }
}

#[allow(clippy::too_many_arguments)]
fn spawn_reader(
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
                let done = {
                    let mut e = shared.lock();
                    let done =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| e.process(chunk)));
                    if let (Ok(_), Some(sink)) = (&done, &screens) {
                        sink.output(slot, chunk, &e);
                    }
                    done
                };
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

    fn read(text: &str, cols: u16) -> Prompt {
        let profile = crate::profile::Profiles::builtin()
            .ok()
            .and_then(|p| p.get("claude"))
            .unwrap_or_else(|| panic!("no claude profile"));
        let snap = crate::detect::ScreenSnapshot::from_text(text, cols, "");
        detect::detect(&profile, &snap, Timing::default())
            .prompt
            .unwrap_or_else(|| panic!("no prompt in:\n{text}"))
    }

    fn dialog(subject: &str) -> String {
        let rule = "─".repeat(60);
        let dash = "╌".repeat(60);
        format!(
            "{rule}\n Bash command\n{dash}\n {subject}\n{dash}\n Do you want to proceed?\n ❯ 1. Yes\n   2. No\n\n Esc to cancel\n"
        )
    }

    #[test]
    fn a_redrawn_dialog_is_the_same_prompt_and_another_command_never_is() {
        let a = read(&dialog("npm test"), 80);
        // Drawn again at another width: the same prompt.
        let b = read(&format!("\n\n{}", dialog("npm test")), 70);
        assert!(same_dialog(&a, &b));
        // Exact readings that differ are two commands, however close.
        for other in ["npm  test", "npm test2", "npm tes", "rm -rf / tmp"] {
            let c = read(&dialog(other), 80);
            assert!(!same_dialog(&a, &c), "{other}");
        }
        let rm = read(&dialog("rm -rf /tmp"), 80);
        let spaced = read(&dialog("rm -rf / tmp"), 80);
        assert!(!same_dialog(&rm, &spaced));
        // A reading that is not exact matches one it could be the start of.
        let mut cut = a.clone();
        cut.subject = "npm t".into();
        cut.incomplete = Some(detect::Incomplete::Truncated);
        assert!(same_dialog(&cut, &a) && same_dialog(&a, &cut));
        cut.subject = "npx t".into();
        assert!(!same_dialog(&cut, &a));
        // Another tool or other options: another dialog.
        let mut edit = a.clone();
        edit.tool = "Edit".into();
        assert!(!same_dialog(&a, &edit));
        let mut fewer = a.clone();
        fewer.options.pop();
        assert!(!same_dialog(&a, &fewer));
    }

    #[test]
    fn tilde_means_home() {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default();
        assert_eq!(
            expand_home(std::path::Path::new("~/src/api")),
            home.join("src/api")
        );
        assert_eq!(expand_home(std::path::Path::new("~")), home);
        assert_eq!(
            expand_home(std::path::Path::new("/srv/~x")),
            PathBuf::from("/srv/~x")
        );
    }
}
