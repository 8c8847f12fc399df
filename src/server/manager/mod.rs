//! The manager thread: owns every slot's runtime state and runs what the
//! rooms decide (approvals, sessions, persistence). One thread, so every
//! decision about a slot is made in one order.

mod answers;
mod commands;
mod reading;

use lifecycle::new_slot;
use persist::identity_of;
mod hooks;
mod lifecycle;
mod persist;
mod structured;

use std::collections::VecDeque;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::config::{Config, SlotConfig};
use crate::detect::{AgentState, Prompt};
use crate::keys::{self};
use crate::policy::Policy;
use crate::profile::{Profile, Profiles};
use crate::proto::{self, Command, Event, HookReply, SlotIdx};

use crate::server::approvals::inbox::Inbox;
use crate::server::bus::*;
use crate::server::options::*;
use crate::server::session::spawn::*;
use crate::server::session::*;
use crate::server::shared::*;
use crate::server::timing::*;
use crate::server::{socket, state};

pub(crate) struct SlotRt {
    profile: Arc<Profile>,
    cfg: SlotConfig,
    id: String,
    shared: Arc<SlotShared>,
    live: Option<Live>,
    generation: u64,
    state: AgentState,
    /// Its prompts: what the inbox shows, what was answered, the dialog on
    /// its screen, and what waits on the clock.
    inbox: Inbox,
    detect_due: Option<Instant>,
    restart_due: Option<Instant>,
    backoff: crate::server::slot::restart::Backoff,
    started_at: Instant,
    size: (u16, u16),
    restart_now: bool,
    /// Why the session is being stopped by corral, reported as its status.
    failure: Option<String>,
    /// Hook requests waiting for an answer, oldest first; the first is the
    /// inbox prompt.
    hooks: VecDeque<HookPending>,
    /// The secret the current session's hook was installed with; empty when
    /// no hook is installed.
    hook_token: String,
    /// The working directory the session started in (policy judges writes
    /// against it).
    cwd: Option<PathBuf>,
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
    /// A structured slot's message being typed in its pane.
    composer: crate::agent_protocol::draw::Composer,
    /// A structured slot's turn and usage, as its protocol tells them.
    turn: structured::Turn,
    /// An ACP slot's side of the connection (its requests in flight, its
    /// session).
    acp: Option<crate::agent_protocol::acp::Client>,
}

/// The Enter of a `ctl send --enter` that follows its text.
pub(crate) struct EnterDue {
    /// When it is next looked at.
    at: Instant,
    /// When the text went.
    sent: Instant,
    /// Who waits for it.
    reply: std::sync::mpsc::Sender<Result<(), String>>,
}

/// Where the answer to an exact request goes.
pub(crate) enum Responder {
    /// The agent's permission hook, waiting on connection `conn`.
    Hook { conn: u64, stream: UnixStream },
    /// A structured slot's agent, waiting for the protocol's answer to
    /// `ask`.
    Protocol {
        ask: Box<crate::agent_protocol::PermissionAsk>,
    },
}

/// An exact request waiting for its answer: from an agent's hook, or from a
/// structured slot's protocol.
pub(crate) struct HookPending {
    /// Where the answer goes.
    to: Responder,
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
    /// For a hook's request: sends the reply and closes the connection (the
    /// hook then exits). A protocol request is answered by the manager, on
    /// the session's input: nothing here.
    fn reply(self, reply: &HookReply) {
        if let Responder::Hook { conn, stream } = &self.to {
            send_reply(*conn, stream, reply);
        }
    }

    /// The hook connection it waits on, for a hook's request.
    fn conn(&self) -> Option<u64> {
        match &self.to {
            Responder::Hook { conn, .. } => Some(*conn),
            Responder::Protocol { .. } => None,
        }
    }

    /// The protocol's key of the request, for a structured slot's.
    fn protocol_key(&self) -> Option<&String> {
        match &self.to {
            Responder::Protocol { ask } => Some(&ask.key),
            Responder::Hook { .. } => None,
        }
    }
}

/// Writes `reply` on a hook's connection and closes it.
pub(crate) fn send_reply(conn: u64, stream: &UnixStream, reply: &HookReply) {
    let mut w = stream;
    let _ = w.set_write_timeout(Some(Duration::from_secs(2)));
    if let Err(e) = proto::write_frame(&mut w, reply) {
        tracing::info!(conn, "hook reply not delivered: {e}");
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

pub(crate) struct Manager {
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

impl Manager {
    pub(super) fn emit(&self, ev: Event) {
        let _ = self.events.send(ev);
    }

    pub(super) fn run(&mut self, rx: Receiver<Msg>) {
        loop {
            let deadline = self
                .slots
                .iter()
                .flat_map(|s| {
                    [
                        s.detect_due,
                        s.restart_due,
                        s.inbox.policy_due.map(|p| p.0),
                        s.inbox.answer_due.as_ref().map(|a| a.0),
                        s.enter_due.as_ref().map(|e| e.at),
                    ]
                })
                .flatten()
                .chain((0..self.slots.len()).filter_map(|i| self.stall_due(i)))
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
                Some(Msg::Agent {
                    slot,
                    generation,
                    line,
                }) => self.agent_line(slot, generation, line),
                Some(Msg::InputWritten { slot, done }) => {
                    match self.slots.get(slot) {
                        Some(s) => s.shared.input.when_idle(done),
                        None => done(),
                    }
                    self.inflight.fetch_sub(1, Ordering::AcqRel);
                }
                Some(Msg::UsageRead { slot, usage }) => {
                    self.emit(Event::Usage { slot, usage });
                }
                Some(Msg::Compose { slot, bytes }) => {
                    if self.slots.get(slot).is_some_and(|s| s.live.is_some()) {
                        self.compose(slot, &bytes);
                    } else {
                        self.input_refused(slot, crate::server::pty::InputError::NotRunning);
                    }
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
                self.stall_check(i, now);
                if self.slots[i].restart_due.is_some_and(|d| d <= now) {
                    self.slots[i].restart_due = None;
                    self.spawn(i);
                }
                if self.slots[i].detect_due.is_some_and(|d| d <= now) {
                    self.run_detect(i);
                }
                if self.slots[i]
                    .inbox
                    .answer_due
                    .as_ref()
                    .is_some_and(|a| a.0 <= now)
                    && let Some((_, id, answer, by)) = self.slots[i].inbox.answer_due.take()
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
                if let Some((at, id)) = self.slots[i].inbox.policy_due
                    && at <= now
                {
                    self.slots[i].inbox.policy_due = None;
                    if let Some(p) = self.slots[i].inbox.prompt.clone().filter(|p| p.id == id) {
                        self.apply_policy(i, &p);
                    }
                }
            }
        }
    }

    /// Stops every child as tmux does: SIGHUP to its process group, then,
    /// for those still running after [`SHUTDOWN_GRACE`], SIGKILL. Returns
    /// when every child is gone (or the grace and one more second passed).
    pub(super) fn shutdown_all(&mut self, rx: &Receiver<Msg>) {
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
}

/// Stack of the session manager's thread, in bytes.
pub(crate) const SESSIONS_STACK_BYTES: usize = 16 << 20;

/// A manager thread just started, and what its [`SessionManager`] handle
/// keeps of it.
pub(crate) struct Started {
    /// The manager's inbox.
    pub(crate) tx: Sender<Msg>,
    /// Commands sent and not yet carried out.
    pub(crate) inflight: Arc<AtomicUsize>,
    /// The slots' shared state.
    pub(crate) slots: Arc<SlotList>,
    /// The manager thread.
    pub(crate) thread: JoinHandle<()>,
    /// The agent profiles (for slots a person adds).
    pub(crate) profiles: Profiles,
}

/// Builds the manager of `config`'s slots and starts its thread (which
/// restores the state file's slots first, then runs).
///
/// Errors: the transcript directory cannot be created, a slot has no
/// profile, the thread cannot start.
pub(crate) fn start(
    config: &Config,
    opts: ManagerOptions,
    events: EventSink,
) -> anyhow::Result<Started> {
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
    Ok(Started {
        tx,
        inflight,
        slots: shared,
        thread,
        profiles: profiles_copy,
    })
}
