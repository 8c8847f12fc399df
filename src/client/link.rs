//! A client's link to the server of its session: the handshake, starting a
//! server in the background when none runs, and the copies (mirrors) of the
//! slots' terminals this client draws from.
//!
//! One thread reads the server's frames: events go to the UI loop; output
//! bytes are fed into the slot's mirror engine, the early echo is drawn
//! from there, and the UI loop is woken only on a slot's false-to-true
//! dirty edge. The UI thread writes the client's messages.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::engine::Engine;
use crate::proto::{
    self, ClientMsg, Command, Frame, Hello, HelloKind, PROTO_VERSION, ServerMsg, Welcome,
};
use crate::server::SlotIdx;

/// Why a connection to a server did not come about.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// No server listens on the socket (no file, or a stale one).
    #[error("no server is running for session {0:?}")]
    NoServer(String),
    /// The server refused the client; `usage` when the request was wrong
    /// (an unknown slot), so the command line exits 2.
    #[error("{why}")]
    Refused {
        /// The server's reason.
        why: String,
        /// The client asked for something that does not exist.
        usage: bool,
    },
    /// The server is up but not yet taking clients (its socket listens
    /// before its slots are ready): try again shortly.
    #[error("the server of session {0:?} is still starting")]
    Starting(String),
    /// The socket failed.
    #[error("the server's socket: {0}")]
    Io(#[from] io::Error),
}

/// How long a server may take to answer a client's hello.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Connects to `socket` and says `hello`.
///
/// Errors: [`ConnectError`].
pub fn connect(
    socket: &Path,
    session: &str,
    hello: HelloKind,
) -> Result<(Welcome, UnixStream, BufReader<UnixStream>), ConnectError> {
    let mut stream = match UnixStream::connect(socket) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Err(ConnectError::NoServer(session.to_string()));
        }
        Err(e) => return Err(e.into()),
    };
    proto::write_frame(
        &mut stream,
        &Hello {
            v: PROTO_VERSION,
            hello,
        },
    )?;
    // A server that does not answer (stuck) must not hang `corral` or `ls`.
    stream.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let value: serde_json::Value = match proto::read_frame(&mut reader)? {
        Some(v) => v,
        None => return Err(ConnectError::NoServer(session.to_string())),
    };
    stream.set_read_timeout(None)?;
    if let Some(why) = value.get("error").and_then(|e| e.as_str()) {
        let usage = value.get("usage").and_then(|u| u.as_bool()) == Some(true);
        if !usage && why == crate::proto::STARTING {
            return Err(ConnectError::Starting(session.to_string()));
        }
        let why = if usage {
            why.to_string()
        } else {
            format!(
                "the server of session {session:?} refused this client: {why} (`corral kill-server -s {session}` stops it)"
            )
        };
        return Err(ConnectError::Refused { why, usage });
    }
    let welcome: Welcome =
        serde_json::from_value(value).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok((welcome, stream, reader))
}

/// Starts `corral server` for `session` in the background, in a session of
/// its own with no terminal, and waits until its socket takes clients.
/// `args` are the flags it needs (paths, config, log level); `pane_sizes`
/// each slot's first PTY size (`ROWSxCOLS,...`).
///
/// Errors: it could not be started, or it said why it could not start.
pub fn start_server(
    exe: &Path,
    session: &str,
    args: &[std::ffi::OsString],
    pane_sizes: &str,
) -> anyhow::Result<()> {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(args)
        .arg("server")
        .arg("--session")
        .arg(session)
        .arg("--pane-sizes")
        .arg(pane_sizes)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    // SAFETY: setsid(2) is async-signal-safe; the closure touches no memory
    // of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| anyhow::anyhow!("starting the server: {e}"))?;
    let Some(out) = child.stdout.take() else {
        anyhow::bail!("starting the server: no pipe");
    };
    let mut line = String::new();
    let read = BufReader::new(out).read_line(&mut line);
    // Reaped when it ends while this client runs (no zombie); after that
    // init adopts it.
    let _ = std::thread::Builder::new()
        .name("server-reaper".into())
        .spawn(move || {
            let _ = child.wait();
        });
    read.map_err(|e| anyhow::anyhow!("starting the server: {e}"))?;
    match line.trim_end() {
        "ready" => Ok(()),
        "" => anyhow::bail!("the server exited as it started; see its log"),
        usage if usage.starts_with("usage-error: ") => Err(ConnectError::Refused {
            why: usage.trim_start_matches("usage-error: ").to_string(),
            usage: true,
        }
        .into()),
        other => anyhow::bail!(
            "the server did not start: {}",
            other.strip_prefix("error: ").unwrap_or(other)
        ),
    }
}

/// This client's copies of the slots' terminals: a fixed row of cells, each
/// set once (a slot added later, `corral ctl new`, takes the next), read
/// from any thread without a lock on the row.
///
/// A copy keeps the screen only (the server holds the scrollback) until the
/// person scrolls it back or copies from it: then [`Link::ensure_history`]
/// fetches the whole terminal with its scrollback, and the copy keeps it
/// until the view is live again ([`Link::drop_history`]).
pub struct Mirrors {
    engines: Vec<std::sync::OnceLock<Mutex<Engine>>>,
    dirty: Vec<AtomicBool>,
    len: std::sync::atomic::AtomicUsize,
    /// Per slot: the history was asked for, and how many whole terminals
    /// with it arrived so far (a wait for one watches the count).
    history: Mutex<Vec<(bool, u64)>>,
    arrived: std::sync::Condvar,
}

impl Mirrors {
    fn new(w: &Welcome) -> Mirrors {
        let cap = w.slots.len() + crate::server::MAX_ADDED_SLOTS;
        let m = Mirrors {
            engines: (0..cap).map(|_| std::sync::OnceLock::new()).collect(),
            dirty: (0..cap).map(|_| AtomicBool::new(false)).collect(),
            len: std::sync::atomic::AtomicUsize::new(0),
            history: Mutex::new(vec![(false, 0); cap]),
            arrived: std::sync::Condvar::new(),
        };
        for (i, s) in w.slots.iter().enumerate() {
            m.add(i, s.rows, s.cols);
        }
        m
    }

    /// Makes slot `slot`'s copy, `rows` x `cols` and blank, if it is the
    /// next one. Only the link's reader (and [`Mirrors::new`]) call it.
    fn add(&self, slot: SlotIdx, rows: u16, cols: u16) {
        if slot != self.len.load(Ordering::Acquire) {
            return;
        }
        let Some(cell) = self.engines.get(slot) else {
            return;
        };
        // No history until it is asked for.
        let _ = cell.set(Mutex::new(Engine::new(rows.max(1), cols.max(1), 0)));
        self.len.store(slot + 1, Ordering::Release);
    }

    /// Locks slot `slot`'s copy. A panic elsewhere while it was held leaves
    /// it usable (plain cells).
    pub fn lock(&self, slot: SlotIdx) -> Option<MutexGuard<'_, Engine>> {
        self.engines
            .get(slot)
            .and_then(|c| c.get())
            .map(|m| m.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Locks slot `slot`'s copy if no other thread holds it: `Some(None)`
    /// when busy, `None` for no such slot.
    pub fn try_lock(&self, slot: SlotIdx) -> Option<Option<MutexGuard<'_, Engine>>> {
        self.engines
            .get(slot)
            .and_then(|c| c.get())
            .map(|m| match m.try_lock() {
                Ok(g) => Some(g),
                Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
                Err(std::sync::TryLockError::WouldBlock) => None,
            })
    }

    /// Clears a slot's dirty flag, returning whether it was set.
    pub fn take_dirty(&self, slot: SlotIdx) -> bool {
        self.dirty
            .get(slot)
            .is_some_and(|d| d.swap(false, Ordering::AcqRel))
    }

    /// Marks a slot changed; true on the false-to-true edge.
    pub fn mark(&self, slot: SlotIdx) -> bool {
        self.dirty
            .get(slot)
            .is_some_and(|d| !d.swap(true, Ordering::AcqRel))
    }

    fn history(&self) -> MutexGuard<'_, Vec<(bool, u64)>> {
        self.history.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The slots whose copies keep their history now.
    pub fn with_history(&self) -> Vec<SlotIdx> {
        self.history()
            .iter()
            .enumerate()
            .filter(|(_, (on, _))| *on)
            .map(|(i, _)| i)
            .collect()
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// True with no slots.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What the link's reader thread tells the UI loop.
#[derive(Debug)]
pub enum LinkEvent {
    /// A message from the server.
    Msg(ServerMsg),
    /// A slot's copy changed (sent once until [`Mirrors::take_dirty`]).
    Output(SlotIdx),
    /// A slot's copy was rebuilt at `rows` x `cols` cells.
    Screen {
        /// The slot.
        slot: SlotIdx,
        /// Rows in cells.
        rows: u16,
        /// Columns in cells.
        cols: u16,
    },
    /// The connection ended: the server stopped (or died).
    Closed,
}

/// How often at most a client tells the server it typed into a slot.
const TYPED_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Called on the reader thread right after output was fed into a slot's
/// copy, with the output and the copy (locked): the UI draws a keystroke's
/// echo from there; `corral web` streams the bytes.
pub type OnOutput = Box<dyn Fn(SlotIdx, &[u8], &Engine) + Send>;

/// Per slot: the PTY input of its session (generation, descriptor), when
/// the server gave it.
type Inputs = Mutex<Vec<Option<(u64, std::fs::File)>>>;

/// What the server has yet to hear about this client's typing.
#[derive(Default)]
struct Typed {
    told: Vec<Option<std::time::Instant>>,
    pending: Vec<bool>,
    wanted: Vec<Option<(u16, u16)>>,
}

/// Per slot, the last [`ClientMsg::InputSync`] not yet answered: input
/// sent for it through the server may not be in its PTY yet, so keys go
/// through the server too (after it), never straight in (before it).
#[derive(Default)]
struct Detours {
    next: u64,
    open: std::collections::HashMap<SlotIdx, u64>,
}

/// The slot whose later keys must come after this command: one that types
/// into it through the server, or a new size for its PTY (a program must
/// not read keys typed after a resize before it is resized: `stty size`
/// typed at once).
fn input_slot(msg: &ClientMsg) -> Option<SlotIdx> {
    match msg {
        ClientMsg::Command {
            command:
                Command::Key { slot, .. }
                | Command::Paste { slot, .. }
                | Command::Write { slot, .. }
                | Command::Mouse { slot, .. }
                | Command::Resize { slot, .. },
        } => Some(*slot),
        _ => None,
    }
}

/// An attached client's link.
pub struct Link {
    out: Mutex<UnixStream>,
    inputs: Arc<Inputs>,
    /// Held while typing straight into a PTY and while sending input
    /// through the server, so the two ways keep one order.
    detours: Arc<Mutex<Detours>>,
    /// Per slot: when the server was last told this client typed there,
    /// whether it is still to be told, and the pane size (rows, cols) this
    /// client last asked for.
    typed: Mutex<Typed>,
    /// The copies of the slots' terminals.
    pub mirrors: Arc<Mirrors>,
    /// Where the server's socket is.
    pub socket: PathBuf,
}

impl Link {
    /// Starts the reader thread over an attached connection.
    ///
    /// Errors: the reader thread cannot start.
    pub fn start(
        welcome: &Welcome,
        stream: UnixStream,
        reader: BufReader<UnixStream>,
        socket: PathBuf,
        events: tokio::sync::mpsc::UnboundedSender<LinkEvent>,
        on_output: OnOutput,
    ) -> io::Result<Link> {
        let mirrors = Arc::new(Mirrors::new(welcome));
        let scrollback = welcome.scrollback_rows;
        let inputs: Arc<Inputs> =
            Arc::new(Mutex::new(welcome.slots.iter().map(|_| None).collect()));
        let detours: Arc<Mutex<Detours>> = Arc::default();
        // From here on descriptors may come with the frames: read with
        // recvmsg, starting with what the handshake's reader already took.
        let leftover = reader.buffer().to_vec();
        let mut reader = proto::FdReader::new(reader.into_inner(), &leftover);
        {
            let mirrors = mirrors.clone();
            let inputs = inputs.clone();
            let detours = detours.clone();
            std::thread::Builder::new()
                .name("link-read".into())
                .spawn(move || {
                    loop {
                        let frame = match Frame::read(&mut reader) {
                            Ok(Some(f)) => f,
                            Ok(None) => break,
                            Err(e) => {
                                tracing::info!("server connection: {e}");
                                break;
                            }
                        };
                        match frame {
                            Frame::Json(b) => match serde_json::from_slice::<ServerMsg>(&b) {
                                Ok(ServerMsg::Input { slot, generation }) => {
                                    let fd = reader.fds.pop_front();
                                    let mut ins = inputs.lock().unwrap_or_else(|p| p.into_inner());
                                    if ins.len() <= slot && slot < mirrors.len() {
                                        ins.resize_with(slot + 1, || None);
                                    }
                                    if let (Some(fd), Some(i)) = (fd, ins.get_mut(slot)) {
                                        *i = Some((generation, std::fs::File::from(fd)));
                                    }
                                }
                                Ok(ServerMsg::InputWritten { slot, seq }) => {
                                    let mut d = detours.lock().unwrap_or_else(|p| p.into_inner());
                                    if d.open.get(&slot) == Some(&seq) {
                                        d.open.remove(&slot);
                                    }
                                }
                                Ok(m) => {
                                    // A slot added to the session: its copy
                                    // exists before any of its output.
                                    if let ServerMsg::Event {
                                        event: crate::proto::Event::SlotAdded { slot, info },
                                    } = &m
                                    {
                                        mirrors.add(*slot, info.rows, info.cols);
                                    }
                                    // A new session: the old PTY is gone; its
                                    // input comes after this event.
                                    let gone = match &m {
                                        ServerMsg::Event {
                                            event: crate::proto::Event::Started { slot, generation },
                                        } => Some((*slot, Some(*generation))),
                                        // Its PTY is done with: let go of it.
                                        ServerMsg::Event {
                                            event: crate::proto::Event::Exited { slot, .. },
                                        } => Some((*slot, None)),
                                        _ => None,
                                    };
                                    if let Some((slot, generation)) = gone {
                                        let mut ins =
                                            inputs.lock().unwrap_or_else(|p| p.into_inner());
                                        if let Some(i) = ins.get_mut(slot)
                                            && i.as_ref().is_some_and(|(g, _)| Some(*g) != generation)
                                        {
                                            *i = None;
                                        }
                                    }
                                    if events.send(LinkEvent::Msg(m)).is_err() {
                                        break;
                                    }
                                }
                                Err(e) => tracing::warn!("bad server message: {e}"),
                            },
                            Frame::Output { slot, bytes } => {
                                if let Some(mut e) = mirrors.lock(slot) {
                                    // The server answers the program's queries.
                                    let _ = e.process(&bytes);
                                    on_output(slot, &bytes, &e);
                                }
                                if mirrors.mark(slot)
                                    && events.send(LinkEvent::Output(slot)).is_err()
                                {
                                    break;
                                }
                            }
                            Frame::Screen {
                                slot,
                                rows,
                                cols,
                                history,
                                replay,
                            } => {
                                // The scrollback only when it came (and is
                                // still wanted): else the screen alone. The
                                // wish is held, then the copy (the order
                                // `drop_history` takes them in), so a copy
                                // let go of meanwhile is never rebuilt with
                                // its history.
                                let mut fresh = Engine::new(rows.max(1), cols.max(1), scrollback);
                                let _ = fresh.process(&replay);
                                let mut h = mirrors.history();
                                let keep = history && h.get(slot).is_some_and(|x| x.0);
                                if !keep {
                                    fresh.set_scrollback_limit(0);
                                }
                                if let Some(mut e) = mirrors.lock(slot) {
                                    *e = fresh;
                                }
                                if keep {
                                    if let Some(x) = h.get_mut(slot) {
                                        x.1 += 1;
                                    }
                                    mirrors.arrived.notify_all();
                                }
                                drop(h);
                                mirrors.mark(slot);
                                if events.send(LinkEvent::Screen { slot, rows, cols }).is_err() {
                                    break;
                                }
                            }
                        }
                    }
                    let _ = events.send(LinkEvent::Closed);
                })?;
        }
        let n = welcome.slots.len();
        let link = Link {
            out: Mutex::new(stream),
            inputs,
            detours,
            typed: Mutex::new(Typed {
                told: vec![None; n],
                pending: vec![false; n],
                wanted: vec![None; n],
            }),
            mirrors,
            socket,
        };
        link.send(&ClientMsg::WantInput)?;
        Ok(link)
    }

    /// Writes `bytes` the person typed straight into slot `slot`'s PTY,
    /// without waiting; returns how many went (0 when this client has no
    /// input for the slot). The rest must go through the server.
    pub fn type_into(&self, slot: SlotIdx, bytes: &[u8]) -> usize {
        use std::os::fd::AsRawFd;
        let detours = self.detours.lock().unwrap_or_else(|p| p.into_inner());
        if detours.open.contains_key(&slot) {
            return 0;
        }
        let ins = self.inputs.lock().unwrap_or_else(|p| p.into_inner());
        let Some(Some((_, file))) = ins.get(slot) else {
            return 0;
        };
        let mut done = 0;
        while done < bytes.len() {
            // SAFETY: write(2) from a live slice to a descriptor we own; the
            // descriptor is non-blocking (the server's PTY master).
            let n = unsafe {
                libc::write(
                    file.as_raw_fd(),
                    bytes[done..].as_ptr().cast(),
                    bytes.len() - done,
                )
            };
            if n > 0 {
                done += n as usize;
            } else if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            } else {
                break;
            }
        }
        drop(ins);
        drop(detours);
        if done > 0 {
            self.typed(slot);
        }
        done
    }

    /// This client gives slot `slot` a pane of `size` (rows, cols).
    pub fn wanted(&self, slot: SlotIdx, size: (u16, u16)) {
        let mut t = self.typed.lock().unwrap_or_else(|p| p.into_inner());
        // A slot added since this client attached.
        if t.wanted.len() <= slot && slot < self.mirrors.len() {
            t.wanted.resize(slot + 1, None);
            t.pending.resize(slot + 1, false);
            t.told.resize(slot + 1, None);
        }
        if let Some(w) = t.wanted.get_mut(slot) {
            *w = Some(size);
        }
    }

    /// This client typed into `slot`: the server hears it (for the size
    /// rule) when the PTY does not have this client's size; when it has,
    /// telling would change nothing, and nothing goes out on the
    /// keystroke's way to its echo. (Should another client resize it
    /// later, the next key here takes it back.)
    fn typed(&self, slot: SlotIdx) {
        let size = self.mirrors.lock(slot).map(|e| e.size());
        let mut t = self.typed.lock().unwrap_or_else(|p| p.into_inner());
        let differs = t
            .wanted
            .get(slot)
            .copied()
            .flatten()
            .is_some_and(|w| Some(w) != size);
        if !differs {
            return;
        }
        if let Some(p) = t.pending.get_mut(slot) {
            *p = true;
        }
        drop(t);
        self.flush_typed(std::time::Instant::now());
    }

    /// Tells the server of the slots typed into since it last heard, each
    /// at most every [`TYPED_EVERY`].
    fn flush_typed(&self, now: std::time::Instant) {
        let mut tell = Vec::new();
        {
            let mut t = self.typed.lock().unwrap_or_else(|p| p.into_inner());
            for slot in 0..t.pending.len() {
                if !t.pending[slot] {
                    continue;
                }
                t.pending[slot] = false;
                let recent = t.told[slot].is_some_and(|at| now.duration_since(at) < TYPED_EVERY);
                if !recent {
                    t.told[slot] = Some(now);
                    tell.push(slot);
                }
            }
        }
        for slot in tell {
            let _ = self.send(&ClientMsg::Typed { slot });
        }
    }

    /// Sends a message to the server.
    ///
    /// Errors: the connection is gone.
    ///
    /// Input for a slot (a key, paste, write or mouse report) or a new size
    /// for its PTY is followed by a [`ClientMsg::InputSync`]: until the
    /// server answers it, this client types into that slot through the
    /// server only, so later keys come after it.
    pub fn send(&self, msg: &ClientMsg) -> io::Result<()> {
        let frame = Frame::json(msg)?.encode();
        let Some(slot) = input_slot(msg) else {
            let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
            return out.write_all(&frame);
        };
        let mut detours = self.detours.lock().unwrap_or_else(|p| p.into_inner());
        detours.next += 1;
        let seq = detours.next;
        let sync = Frame::json(&ClientMsg::InputSync { slot, seq })?.encode();
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        out.write_all(&frame)?;
        out.write_all(&sync)?;
        detours.open.insert(slot, seq);
        Ok(())
    }

    /// Makes slot `slot`'s copy keep its scrollback, fetching it from the
    /// server if it does not yet, and waits up to `wait` for it (a local
    /// socket: milliseconds). Keys meanwhile wait in their queue, so a
    /// scroll or copy mode acts on the whole history. Returns whether the
    /// copy has it (if not, it goes on with what it has).
    pub fn ensure_history(&self, slot: SlotIdx, wait: std::time::Duration) -> bool {
        let mut h = self.mirrors.history();
        let Some(&(on, seen)) = h.get(slot) else {
            return false;
        };
        if on && seen > 0 {
            return true;
        }
        if !on {
            h[slot] = (true, 0);
            drop(h);
            if self.send(&ClientMsg::History { slot, on: true }).is_err() {
                return false;
            }
            h = self.mirrors.history();
        }
        let deadline = std::time::Instant::now() + wait;
        while h.get(slot).is_some_and(|x| x.0 && x.1 == 0) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                tracing::info!(slot, "the scrollback did not come in time");
                return false;
            }
            h = self
                .mirrors
                .arrived
                .wait_timeout(h, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        h.get(slot).is_some_and(|x| x.0 && x.1 > 0)
    }

    /// Slot `slot`'s copy shows the live screen again and is not copied
    /// from: it drops its scrollback (the server keeps it) and is sent the
    /// screen only from now on.
    pub fn drop_history(&self, slot: SlotIdx) {
        {
            let mut h = self.mirrors.history();
            match h.get_mut(slot) {
                Some(x) if x.0 => *x = (false, 0),
                _ => return,
            }
        }
        let _ = self.send(&ClientMsg::History { slot, on: false });
        if let Some(mut e) = self.mirrors.lock(slot) {
            e.set_scrollback_limit(0);
        }
    }

    /// Closes the connection (the server forgets this client).
    pub fn close(&self) {
        let out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let _ = out.shutdown(std::net::Shutdown::Both);
    }
}
