//! The server's clients: the [`Hub`] that shows the session to every
//! attached client and `corral ctl` connection.
//!
//! - **Screens.** Each client keeps a copy (a mirror) of every slot's
//!   terminal it shows: it gets the slot's whole terminal once
//!   ([`Frame::Screen`], from [`Engine::replay`]) and then every byte the
//!   program writes ([`Frame::Output`]), in the order the server's engine
//!   parsed them. A client that falls behind by more than
//!   [`QUEUE_HIGH_BYTES`] misses output and gets the whole terminal again
//!   once it caught up: its queue stays bounded and it never shows a stale
//!   screen for long.
//! - A client that dies (a closed terminal, SIGHUP, `kill -9`) is a closed
//!   connection: it is forgotten, and nothing else changes.
//! - `corral ctl` requests are served by the function the process gives
//!   the hub ([`CtlServe`]): this file does not depend on `ctl.rs`, which
//!   depends on it.

use std::collections::VecDeque;
use std::io::{BufReader, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use super::handle::SessionManager;
use super::shared::ScreenSink;
use crate::config::Config;
use crate::engine::Engine;
use crate::proto::SlotIdx;
use crate::proto::{
    self, ClientMsg, Command, DecisionInfo, Event, Frame, Hello, HelloKind, InboxInfo,
    PROTO_VERSION, ServerMsg, SlotInfo, Welcome,
};

use super::view::{Sizes, View};

mod conn;

use conn::{Conn, Item, Out};

/// A client's queue of frames not yet written may hold this many bytes of
/// output; more is dropped and the client gets the slot's whole terminal
/// again once its queue is below [`QUEUE_LOW_BYTES`].
pub const QUEUE_HIGH_BYTES: usize = 8 << 20;
/// See [`QUEUE_HIGH_BYTES`].
pub const QUEUE_LOW_BYTES: usize = 1 << 20;
/// A client whose queue holds more than this (events keep coming while its
/// output is dropped) is not reading at all: it is disconnected.
pub const QUEUE_HARD_BYTES: usize = 4 * QUEUE_HIGH_BYTES;
/// Most bytes of queued frames written to a client in one write.
const WRITE_BATCH_BYTES: usize = 256 << 10;
/// A slot whose engine stays between two parts of an escape sequence this
/// long is sent whole anyway (its copy may misread the sequence's rest).
const RESYNC_WAIT: Duration = Duration::from_millis(500);

/// How the hub serves a `corral ctl` request: `ctl::serve`, given by the
/// process that makes the hub (so this file does not depend on `ctl.rs`).
pub(super) type CtlServe = fn(
    &Arc<Hub>,
    &Arc<SessionManager>,
    crate::proto::ctl::CtlRequest,
    UnixStream,
    Box<dyn std::io::Read + Send>,
);

/// The server's shared state and its clients.
pub(super) struct Hub {
    /// Serves `corral ctl` requests.
    ctl: CtlServe,
    session: String,
    started: Instant,
    scrollback_rows: usize,
    /// The config this server runs.
    config_id: Option<crate::proto::ConfigId>,
    mgr: OnceLock<Arc<SessionManager>>,
    clients: Mutex<Vec<Arc<Conn>>>,
    next_id: AtomicU64,
    state: Mutex<State>,
    quit: tokio::sync::mpsc::UnboundedSender<String>,
    /// `kill-server` connections, kept open until the process ends.
    killers: Mutex<Vec<UnixStream>>,
    /// `corral ctl` connections that follow the events.
    subscribers: Mutex<Vec<Follower>>,
    /// Bytes each slot's programs wrote.
    bytes_read: Vec<AtomicU64>,
}

/// A `corral ctl` connection that follows the events.
struct Follower {
    tx: std::sync::mpsc::SyncSender<Feed>,
    /// The connection of a `ctl events` stream: shut when it is dropped
    /// for falling behind, so its thread and its client see the end.
    stream: Option<UnixStream>,
}

/// Most events a `corral ctl` connection may have waiting; one further
/// behind is dropped (its stream ends).
const FEED_MAX: usize = 10_000;

/// What a `corral ctl` connection that follows the session hears.
#[derive(Debug)]
pub(super) enum Feed {
    /// A session event (never output), numbered from 1 in the order the
    /// view took it, with its time (RFC 3339).
    Event {
        /// Its number.
        seq: u64,
        /// When.
        time: String,
        /// The event.
        event: Box<Event>,
    },
    /// The ctl client hung up.
    Gone,
}

struct State {
    view: View,
    sizes: Sizes,
    /// Events taken so far.
    seq: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Hub {
    /// A hub for session `session` over `config`'s slots (sizes 24x80
    /// until [`Hub::set_sizes`]), with no manager yet
    /// ([`Hub::set_manager`]); `quit` hears why the server must stop, and
    /// `ctl` serves `corral ctl` requests.
    pub(super) fn new(
        session: String,
        config: &Config,
        config_id: Option<crate::proto::ConfigId>,
        quit: tokio::sync::mpsc::UnboundedSender<String>,
        ctl: CtlServe,
    ) -> Arc<Hub> {
        Arc::new(Hub {
            ctl,
            session,
            started: Instant::now(),
            scrollback_rows: config.ui.scrollback_rows,
            config_id,
            mgr: OnceLock::new(),
            clients: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
            state: Mutex::new(State {
                view: View::new(config, Instant::now()),
                sizes: Sizes::new(config.slots.len()),
                seq: 0,
            }),
            quit,
            killers: Mutex::new(Vec::new()),
            subscribers: Mutex::new(Vec::new()),
            bytes_read: (0..config.slots.len() + super::shared::MAX_ADDED_SLOTS)
                .map(|_| AtomicU64::new(0))
                .collect(),
        })
    }

    /// The slots' first PTY sizes (rows, cols), in slot order.
    pub(super) fn set_sizes(&self, sizes: &[(u16, u16)]) {
        let mut st = self.lock_state();
        for (s, size) in st.view.slots.iter_mut().zip(sizes) {
            s.size = *size;
        }
    }

    /// The session manager, once it runs.
    pub(super) fn set_manager(&self, mgr: Arc<SessionManager>) {
        let _ = self.mgr.set(mgr);
    }

    fn lock_state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// The session's name.
    pub(super) fn session(&self) -> &str {
        &self.session
    }

    /// Runs `f` on the view as it is now.
    pub(super) fn with_view<R>(&self, f: impl FnOnce(&View) -> R) -> R {
        f(&self.lock_state().view)
    }

    /// Runs `f` on the view (and the number of the last event it took) and
    /// follows the events from there: none is missed or seen twice between
    /// the two.
    pub(super) fn follow<R>(
        &self,
        stream: Option<UnixStream>,
        f: impl FnOnce(&View, u64) -> R,
    ) -> (
        R,
        std::sync::mpsc::SyncSender<Feed>,
        std::sync::mpsc::Receiver<Feed>,
    ) {
        let st = self.lock_state();
        let r = f(&st.view, st.seq);
        let (tx, rx) = std::sync::mpsc::sync_channel(FEED_MAX);
        lock(&self.subscribers).push(Follower {
            tx: tx.clone(),
            stream,
        });
        drop(st);
        (r, tx, rx)
    }

    /// `N` in a client: a slot running `agent`'s program (its profile's
    /// program, or the shell for one that names none), id `<agent>-<n>`,
    /// where the server was started, in a worktree on `branch` if given.
    ///
    /// Errors: why not.
    fn new_slot(
        &self,
        mgr: &SessionManager,
        agent: &str,
        branch: Option<String>,
        near: Option<SlotIdx>,
    ) -> Result<SlotIdx, String> {
        let command = mgr
            .program_of(agent)
            .ok_or_else(|| format!("no agent profile {agent:?}"))?;
        let id = self.with_view(|v| {
            (1..)
                .map(|n| format!("{agent}-{n}"))
                .find(|id| v.slots.iter().all(|s| &s.id != id))
                .unwrap_or_default()
        });
        let cfg = crate::config::SlotConfig {
            id: toml::Spanned::new(0..0, id),
            role: String::new(),
            agent: toml::Spanned::new(0..0, agent.to_string()),
            command: toml::Spanned::new(0..0, command),
            args: Vec::new(),
            cwd: None,
            env: Default::default(),
            resume: true,
            restart: Default::default(),
            worktree: branch.map(|b| crate::config::WorktreeConfig::Spec {
                branch: Some(b),
                base: None,
            }),
            setup: Vec::new(),
            sandbox: None,
            write: Vec::new(),
            transport: Default::default(),
        };
        let size = self.with_view(|v| v.slots.first().map_or((24, 80), |s| s.size));
        mgr.add_slot_near(cfg, size, near)
    }

    /// Bytes slot `slot`'s programs wrote.
    pub(super) fn bytes_read(&self, slot: SlotIdx) -> u64 {
        self.bytes_read
            .get(slot)
            .map_or(0, |n| n.load(Ordering::Relaxed))
    }

    /// An event from the sessions: into the shared view, then to every
    /// client (output is sent as bytes, not as events).
    pub(super) fn event(&self, ev: Event) {
        if matches!(ev, Event::Output { .. }) {
            return;
        }
        let mut st = self.lock_state();
        st.view.apply(&ev, Instant::now());
        st.seq += 1;
        if let Event::SlotAdded { slot, .. } = &ev {
            // Every client that hears of it keeps its per-slot state; one
            // attaching later gets it in its welcome.
            st.sizes.added(*slot);
            for c in lock(&self.clients).iter() {
                let mut o = lock(&c.out);
                if o.resync.len() <= *slot {
                    o.resync.resize(*slot + 1, None);
                    o.again.resize(*slot + 1, false);
                    o.history.resize(*slot + 1, false);
                }
            }
        }
        {
            let mut subs = lock(&self.subscribers);
            if !subs.is_empty() {
                let time = super::approvals::audit::now_rfc3339();
                let seq = st.seq;
                subs.retain(|f| {
                    let sent = f.tx.try_send(Feed::Event {
                        seq,
                        time: time.clone(),
                        event: Box::new(ev.clone()),
                    });
                    // A follower this far behind (a `ctl events` whose
                    // reader stopped) is dropped, not waited for, and its
                    // stream ends.
                    if let Err(std::sync::mpsc::TrySendError::Full(_)) = &sent
                        && let Some(s) = &f.stream
                    {
                        let _ = s.shutdown(std::net::Shutdown::Both);
                    }
                    sent.is_ok()
                });
            }
        }
        let started = match ev {
            Event::Started { slot, .. } => Some(slot),
            _ => None,
        };
        let frame = match Frame::json(&ServerMsg::Event { event: ev }) {
            Ok(f) => f.encode(),
            Err(e) => return tracing::warn!("event: {e}"),
        };
        let clients: Vec<Arc<Conn>> = lock(&self.clients).clone();
        for c in &clients {
            c.push(frame.clone());
        }
        drop(st);
        // A new session has a new PTY: its input goes to the clients that
        // write keys themselves, after the event that says it started.
        if let (Some(slot), Some(mgr)) = (started, self.mgr.get()) {
            for c in clients
                .iter()
                .filter(|c| c.shows(slot) && c.wants_input.load(Ordering::Acquire))
            {
                self.send_input(c, mgr, slot);
            }
        }
    }

    pub(super) fn broadcast(&self, msg: &ServerMsg) {
        let Ok(frame) = Frame::json(msg) else { return };
        let frame = frame.encode();
        for c in lock(&self.clients).iter() {
            c.push(frame.clone());
        }
    }

    /// Lets every client's writer finish (up to 1 s), then closes them.
    pub(super) fn close_all(&self) {
        let deadline = Instant::now() + Duration::from_secs(1);
        let clients: Vec<Arc<Conn>> = lock(&self.clients).clone();
        for c in &clients {
            let mut o = lock(&c.out);
            while !o.queue.is_empty() && !o.closed {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                o =
                    c.cv.wait_timeout(o, left)
                        .map(|(g, _)| g)
                        .unwrap_or_else(|p| p.into_inner().0);
            }
            drop(o);
            c.close();
        }
    }

    fn welcome(&self, st: &State, clients: usize) -> Welcome {
        let now = Instant::now();
        let ms = |t: Instant| now.saturating_duration_since(t).as_millis() as u64;
        Welcome {
            v: PROTO_VERSION,
            session: self.session.clone(),
            pid: std::process::id(),
            uptime_ms: ms(self.started),
            slots: st
                .view
                .slots
                .iter()
                .map(|s| SlotInfo {
                    id: s.id.clone(),
                    role: s.role.clone(),
                    agent: s.agent.clone(),
                    state: s.state.clone(),
                    state_age_ms: ms(s.since),
                    title: s.title.clone(),
                    generation: s.generation,
                    rows: s.size.0,
                    cols: s.size.1,
                    worktree: s.worktree.clone(),
                    sandbox: s.sandbox.clone().map(Box::new),
                    usage: s.usage.map(Box::new),
                })
                .collect(),
            inbox: st
                .view
                .inbox
                .iter()
                .map(|(slot, prompt, at)| InboxInfo {
                    slot: *slot,
                    prompt: prompt.clone(),
                    age_ms: ms(*at),
                })
                .collect(),
            decisions: st
                .view
                .decisions
                .iter()
                .map(|(at, text)| DecisionInfo {
                    age_ms: ms(*at),
                    text: text.clone(),
                })
                .collect(),
            auto_answers: st.view.auto,
            clients,
            scrollback_rows: self.scrollback_rows,
            config: self.config_id.clone(),
        }
    }

    /// Serves one client connection on the calling (connection) thread.
    pub(super) fn client(self: Arc<Self>, hello: Hello, reader: BufReader<UnixStream>) {
        let Ok(mut stream) = reader.get_ref().try_clone() else {
            return;
        };
        // What the handshake's reader already took, then the socket, each
        // read waiting in poll first (see [`proto::wait_readable`]).
        let leftover = reader.buffer().to_vec();
        let mut reader = BufReader::new(std::io::Read::chain(
            std::io::Cursor::new(leftover),
            proto::PollRead(reader.into_inner()),
        ));
        let refuse = |mut s: &UnixStream, why: String, usage: bool| {
            let _ = proto::write_frame(
                &mut s,
                &serde_json::json!({"v": PROTO_VERSION, "error": why, "usage": usage}),
            );
        };
        if hello.v != PROTO_VERSION {
            return refuse(
                &stream,
                format!(
                    "protocol version {}, this server speaks {PROTO_VERSION}",
                    hello.v
                ),
                false,
            );
        }
        let watch = matches!(hello.hello, HelloKind::Watch);
        let (cols, rows, slot) = match hello.hello {
            HelloKind::List => {
                let st = self.lock_state();
                let n = lock(&self.clients).len();
                let w = self.welcome(&st, n);
                drop(st);
                let _ = proto::write_frame(&mut stream, &w);
                return;
            }
            HelloKind::Kill => {
                let st = self.lock_state();
                let n = lock(&self.clients).len();
                let w = self.welcome(&st, n);
                drop(st);
                let _ = proto::write_frame(&mut stream, &w);
                lock(&self.killers).push(stream);
                let _ = self.quit.send("kill-server".into());
                return;
            }
            HelloKind::Ctl { request } => {
                let Some(mgr) = self.mgr.get().cloned() else {
                    return refuse(&stream, crate::proto::STARTING.into(), false);
                };
                (self.ctl)(&self, &mgr, request, stream, Box::new(reader));
                return;
            }
            HelloKind::Attach { cols, rows, slot } => (cols, rows, slot),
            HelloKind::Watch => (0, 0, None),
        };
        let _ = (cols, rows);
        let attach = match slot {
            None => None,
            Some(id) => {
                let st = self.lock_state();
                match st.view.slots.iter().position(|s| s.id == id) {
                    Some(i) => Some(i),
                    None => {
                        let ids: Vec<&str> = st.view.slots.iter().map(|s| s.id.as_str()).collect();
                        let why = format!(
                            "--attach: no slot {id:?}; slots of session {:?}: {}",
                            self.session,
                            ids.join(", ")
                        );
                        drop(st);
                        return refuse(&stream, why, true);
                    }
                }
            }
        };
        let Some(mgr) = self.mgr.get().cloned() else {
            return refuse(&stream, crate::proto::STARTING.into(), false);
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        // Under the state lock: no event falls between the welcome and the
        // queue, and the slots counted are the welcome's (a slot added
        // after it reaches this client as an event, which grows its state).
        let mut st = self.lock_state();
        let n = st.view.slots.len();
        let conn = Arc::new(Conn {
            id,
            wants_input: std::sync::atomic::AtomicBool::new(false),
            attach,
            watch,
            out: Mutex::new(Out {
                queue: VecDeque::new(),
                bytes: 0,
                // Every shown slot's whole terminal goes first.
                resync: (0..n)
                    .map(|i| attach.is_none_or(|a| a == i).then(Instant::now))
                    .collect(),
                again: vec![false; n],
                history: vec![false; n],
                writing: false,
                closed: false,
            }),
            cv: Condvar::new(),
            stream: stream.try_clone().ok(),
        });
        {
            let mut clients = lock(&self.clients);
            clients.push(conn.clone());
            let w = self.welcome(&st, clients.len());
            drop(clients);
            if !watch {
                st.sizes.attached(id, attach, n);
            }
            // A client that does not read must not hold the state (and every
            // other client) for long.
            let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
            let sent = proto::write_frame(&mut stream, &w);
            let _ = stream.set_write_timeout(None);
            drop(st);
            if sent.is_err() {
                self.remove(&conn);
                return;
            }
        }
        tracing::info!(client = id, ?attach, watch, "client attached");
        {
            let hub = self.clone();
            let out_conn = conn.clone();
            let spawned = thread::Builder::new()
                .name(format!("client-{id}-out"))
                .spawn(move || hub.writer(&out_conn, stream));
            if spawned.is_err() {
                self.remove(&conn);
                return;
            }
        }
        loop {
            match Frame::read_at_most(&mut reader, proto::MAX_FRAME_BYTES) {
                Ok(Some(Frame::Json(b))) => match serde_json::from_slice::<ClientMsg>(&b) {
                    Ok(msg) => self.on_message(&conn, &mgr, msg),
                    Err(e) => tracing::warn!(client = id, "bad message: {e}"),
                },
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    tracing::info!(client = id, "client connection: {e}");
                    break;
                }
            }
        }
        tracing::info!(client = id, "client detached");
        self.remove(&conn);
    }

    fn remove(&self, conn: &Arc<Conn>) {
        conn.close();
        lock(&self.clients).retain(|c| c.id != conn.id);
        let resizes = self.lock_state().sizes.left(conn.id);
        if let Some(mgr) = self.mgr.get() {
            for (slot, (rows, cols)) in resizes {
                mgr.send(Command::Resize { slot, rows, cols });
            }
        }
    }

    fn on_message(&self, conn: &Arc<Conn>, mgr: &SessionManager, msg: ClientMsg) {
        // A watching client only reads: its scrollback wish is all it says.
        if conn.watch && !matches!(msg, ClientMsg::History { .. }) {
            tracing::warn!(
                client = conn.id,
                "a watching client sent a command: ignored"
            );
            return;
        }
        let cmd = match msg {
            ClientMsg::WantInput => {
                conn.wants_input.store(true, Ordering::Release);
                let n = mgr.len();
                for slot in (0..n).filter(|s| conn.shows(*s)) {
                    self.send_input(conn, mgr, slot);
                }
                return;
            }
            ClientMsg::InputSync { slot, seq } => {
                let conn = conn.clone();
                mgr.when_input_written(
                    slot,
                    Box::new(move || {
                        if let Ok(f) = Frame::json(&ServerMsg::InputWritten { slot, seq }) {
                            conn.push(f.encode());
                        }
                    }),
                );
                return;
            }
            ClientMsg::History { slot, on } => {
                if !conn.shows(slot) {
                    return;
                }
                let mut o = lock(&conn.out);
                if o.closed || o.history.len() <= slot || o.resync.len() <= slot {
                    return;
                }
                o.history[slot] = on;
                // With it on, the whole terminal again, with its history;
                // off, the client drops what it kept.
                if on {
                    o.resync[slot] = Some(Instant::now());
                    drop(o);
                    conn.cv.notify_all();
                }
                return;
            }
            ClientMsg::Typed { slot } => {
                if conn.shows(slot)
                    && let Some((rows, cols)) = self.lock_state().sizes.typed(conn.id, slot)
                {
                    mgr.send(Command::Resize { slot, rows, cols });
                }
                return;
            }
            ClientMsg::Quit => {
                let _ = self.quit.send("quit by a client".into());
                return;
            }
            ClientMsg::Explain { slot } => {
                if !conn.shows(slot) {
                    return;
                }
                if let Some(s) = mgr.slot(slot) {
                    let text = s.explain();
                    if let Ok(f) = Frame::json(&ServerMsg::Explained { slot, text }) {
                        conn.push(f.encode());
                    }
                }
                return;
            }
            ClientMsg::NewSlot {
                agent,
                branch,
                near,
            } => {
                let added = self.new_slot(mgr, &agent, branch, near);
                if let Err(why) = added
                    && let Ok(f) = Frame::json(&ServerMsg::Refused { why })
                {
                    conn.push(f.encode());
                }
                return;
            }
            ClientMsg::Command { command } => command,
        };
        let slot_of = |c: &Command| match c {
            Command::Write { slot, .. }
            | Command::Key { slot, .. }
            | Command::Paste { slot, .. }
            | Command::Mouse { slot, .. }
            | Command::Resize { slot, .. }
            | Command::Scroll { slot, .. }
            | Command::Answer { slot, .. }
            | Command::Kill { slot }
            | Command::Restart { slot } => Some(*slot),
            Command::SetAutoAnswers { .. } | Command::Shutdown => None,
        };
        if let Some(slot) = slot_of(&cmd)
            && (slot >= mgr.len() || !conn.shows(slot))
        {
            tracing::warn!(
                client = conn.id,
                slot,
                "command for a slot it does not show"
            );
            return;
        }
        match cmd {
            // Each client scrolls its own copy; the server's engine stays live.
            Command::Scroll { .. } | Command::Shutdown => {}
            Command::Resize { slot, rows, cols } => {
                // Bounded: the engine holds rows x cols cells.
                let (rows, cols) = (rows.clamp(1, 1000), cols.clamp(1, 1000));
                let apply = self.lock_state().sizes.want(conn.id, slot, (rows, cols));
                if let Some((rows, cols)) = apply {
                    mgr.send(Command::Resize { slot, rows, cols });
                }
            }
            Command::Key { slot, .. }
            | Command::Paste { slot, .. }
            | Command::Write { slot, .. }
            | Command::Mouse { slot, .. } => {
                let apply = self.lock_state().sizes.typed(conn.id, slot);
                if let Some((rows, cols)) = apply {
                    mgr.send(Command::Resize { slot, rows, cols });
                }
                mgr.send(cmd);
            }
            Command::SetAutoAnswers { enabled } => {
                // Under the state lock: the manager, the view and every
                // client take two clients' changes in one order.
                let mut st = self.lock_state();
                mgr.send(cmd);
                st.view.auto = enabled;
                self.broadcast(&ServerMsg::AutoAnswers { enabled });
                drop(st);
            }
            // A client answers by key: the audit says so whatever it claims
            // (rules answer inside the server, never through a client).
            Command::Answer {
                slot,
                prompt,
                answer,
                mut by,
            } => {
                if by.source != "keyboard" {
                    tracing::warn!(
                        client = conn.id,
                        source = by.source,
                        "answer source set to keyboard"
                    );
                    by.source = "keyboard".into();
                }
                mgr.send(Command::Answer {
                    slot,
                    prompt,
                    answer,
                    by,
                })
            }
            Command::Kill { .. } | Command::Restart { .. } => mgr.send(cmd),
        }
    }

    /// Queues slot `slot`'s PTY input descriptor for `conn`, if a session
    /// runs.
    fn send_input(&self, conn: &Conn, mgr: &SessionManager, slot: SlotIdx) {
        let Some(file) = mgr.slot(slot).and_then(|s| s.input_descriptor()) else {
            return;
        };
        let generation = self
            .lock_state()
            .view
            .slots
            .get(slot)
            .map_or(0, |s| s.generation);
        let Ok(frame) = Frame::json(&ServerMsg::Input { slot, generation }) else {
            return;
        };
        let mut o = lock(&conn.out);
        if o.closed {
            return;
        }
        let frame = frame.encode();
        o.bytes += frame.len();
        o.queue
            .push_back(Item::WithFd(frame, std::os::fd::OwnedFd::from(file)));
        drop(o);
        conn.cv.notify_all();
    }
}
