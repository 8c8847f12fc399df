//! The terminal client: the app and its UI on the user's terminal, showing
//! the server of its session ([`link`]). Owns the terminal (raw mode,
//! alternate screen, its restoration on every exit, detach, panic and
//! signal), reads keys, paste and mouse from it, draws frames paced to
//! output and echoes keystrokes early. It never spawns an agent: the server
//! does, and it keeps them running when the client goes.

pub mod admin;
pub mod app;
pub mod copy;
pub mod ctl;
pub mod input;
pub mod link;
pub mod ui;

use std::io::{self, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::terminal::{
    BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen,
};
use crossterm::{cursor, execute, queue};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::config::UiConfig;
use crate::engine::Engine;
use crate::keymap::Keymap;
use crate::keys::{InputModes, KeyPress};
use crate::paths::Paths;
use crate::proto::{ClientMsg, Command, Event, HelloKind, ServerMsg};
use crate::server::SlotIdx;
use app::{App, Effect, Flash, Msg};
use input::{Input, TermMsg, Typing};
use link::{ConnectError, Link, LinkEvent, Mirrors};
use std::sync::atomic::{AtomicU64, Ordering};
use ui::ScreenSource;

/// Frame pacing of output: at most one frame per this, in milliseconds.
const FRAME: Duration = Duration::from_millis(16);

/// What [`run`] needs: everything loaded and checked by the command line.
pub struct Options {
    /// The session's name (`default`, `-s NAME`).
    pub session: String,
    /// `[ui]` settings from this client's config.
    pub ui: UiConfig,
    /// The keymap.
    pub keymap: Keymap,
    /// Where files go.
    pub paths: Paths,
    /// `--attach SLOT`: show that one slot.
    pub attach: Option<String>,
    /// The config's slot ids, to refuse an unknown `--attach` slot before a
    /// server is started for it.
    pub config_slots: Vec<String>,
    /// The embedded demo runs (no config file): say so.
    pub is_demo: bool,
    /// The config this client read (its path and digest).
    pub config: Option<crate::proto::ConfigId>,
    /// The person named that config (`--config`): a server running another
    /// one is worth a word.
    pub config_given: bool,
    /// The flags a server started by this client gets (paths, config, log
    /// level), before `server`.
    pub server_args: Vec<std::ffi::OsString>,
}

/// How a client ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The person quit: the server and its agents stopped.
    Quit,
    /// The person detached (or the terminal closed): the agents go on.
    Detached,
    /// The server went away, and why.
    ServerGone(String),
}

/// Connects to the server of `o.session` (starting one in the background if
/// none runs) and shows it until the person quits or detaches, the
/// terminal closes, or the server goes; the terminal is restored on every
/// way out.
///
/// Errors: the server cannot be started or reached or refuses this client
/// ([`ConnectError`], usage errors among them), the async runtime or the
/// terminal cannot be set up.
pub fn run(o: Options) -> anyhow::Result<Ended> {
    let socket = crate::server::host::socket_path(&o.paths.runtime_dir, &o.session);
    let size = crossterm::terminal::size().unwrap_or((80, 24));
    let hello = HelloKind::Attach {
        cols: size.0,
        rows: size.1,
        slot: o.attach.clone(),
    };
    // Without a terminal there is nothing to show: say so before any server
    // is started (it would run on, unseen, at a guessed size), after what
    // is wrong with the request itself (an unknown slot).
    if let Err(e) = check_terminal() {
        if let Some(slot) = &o.attach {
            let known = match link::connect(&socket, &o.session, HelloKind::List) {
                Ok((w, _, _)) => w.slots.into_iter().map(|s| s.id).collect(),
                Err(_) => o.config_slots.clone(),
            };
            if !known.contains(slot) {
                return Err(ConnectError::Refused {
                    why: format!("--attach: no slot {slot:?}; slots: {}", known.join(", ")),
                    usage: true,
                }
                .into());
            }
        }
        return Err(e);
    }
    let mut started = false;
    let (welcome, stream, reader) = match link::connect(&socket, &o.session, hello.clone()) {
        Ok(c) => c,
        // Another client started it a moment ago.
        Err(ConnectError::Starting(_)) => connect_soon(&socket, &o.session, hello)?,
        Err(ConnectError::NoServer(_)) => {
            if let Some(slot) = &o.attach
                && !o.config_slots.contains(slot)
            {
                return Err(ConnectError::Refused {
                    why: format!(
                        "--attach: no slot {slot:?}; configured slots: {}",
                        o.config_slots.join(", ")
                    ),
                    usage: true,
                }
                .into());
            }
            let exe = std::env::current_exe().context("finding corral's own executable")?;
            // The agents start at the size this client will give their
            // panes, so none has to draw again at once.
            let sizes = first_pane_sizes(&o, size);
            match link::start_server(&exe, &o.session, &o.server_args, &sizes) {
                Ok(()) => {
                    started = true;
                    connect_soon(&socket, &o.session, hello)?
                }
                // Another client started it at the same moment: attach to
                // that one once its socket is up.
                Err(e) if e.to_string().contains("already running") => {
                    connect_soon(&socket, &o.session, hello)?
                }
                Err(e) => return Err(e),
            }
        }
        Err(e) => return Err(e.into()),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let note = if started {
        None
    } else {
        config_mismatch(
            &o.session,
            o.config.as_ref(),
            o.config_given,
            welcome.config.as_ref(),
        )
    };
    if let Some((_, whole)) = &note {
        tracing::warn!("{whole}");
    }
    install_panic_hook();
    let guard = TermGuard::enter().context("setting up the terminal")?;
    let short = note.as_ref().map(|(s, _)| s.clone());
    let result = runtime.block_on(ui_loop(o, welcome, stream, reader, socket, short));
    drop(guard);
    // Said again where it stays: the screen it was shown on is gone.
    if let Some((_, whole)) = note {
        eprintln!("corral: {whole}");
    }
    result
}

/// Checks that corral has a terminal to draw on: standard output is one,
/// and the terminal its keys come from (standard input, else `/dev/tty`)
/// opens.
///
/// Errors: either is missing, with what to use instead.
fn check_terminal() -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let ok = std::io::stdout().is_terminal() && TtyFd::open().is_ok();
    if !ok {
        anyhow::bail!(
            "corral shows its agents in a terminal, and this has none (standard input and output \
             are not one); scripts drive a session with `corral ctl`"
        );
    }
    Ok(())
}

/// What to tell a person whose client read config `mine` (named by them
/// when `given`) about the server of session `session`, which runs
/// `theirs`: another file, or the same file since changed. `None`: nothing;
/// else a short text for the screen (file names) and a whole one for the
/// log and the terminal once corral ends (paths).
pub fn config_mismatch(
    session: &str,
    mine: Option<&crate::proto::ConfigId>,
    given: bool,
    theirs: Option<&crate::proto::ConfigId>,
) -> Option<(String, String)> {
    let (mine, theirs) = (mine?, theirs?);
    let flag = if session == "default" {
        String::new()
    } else {
        format!(" -s {session}")
    };
    let name = |c: &crate::proto::ConfigId, whole: bool| {
        if c.is_demo() {
            "the built-in demo".to_string()
        } else if whole {
            c.path.clone()
        } else {
            std::path::Path::new(&c.path)
                .file_name()
                .map_or(c.path.clone(), |f| f.to_string_lossy().into_owned())
        }
    };
    // The same text under another name (a copy) runs as it is.
    if mine.sha256 == theirs.sha256 {
        return None;
    }
    if mine.path == theirs.path {
        if mine.is_demo() {
            return None;
        }
        return Some((
            format!(
                "{} changed since this server started; to load it: corral{flag} kill-server",
                name(mine, false)
            ),
            format!(
                "{} changed since session {session}'s server started: it runs the config as it \
                 was. To load it: `corral{flag} kill-server` (its agents stop), then corral again",
                name(mine, true)
            ),
        ));
    }
    if !given {
        return None;
    }
    Some((
        format!(
            "session {session} runs {}, not {}; to load yours: corral{flag} kill-server, or -s NAME",
            name(theirs, false),
            name(mine, false)
        ),
        format!(
            "session {session} runs {}, not {}: this client shows it as it is. To load yours: \
             `corral{flag} kill-server` (its agents stop) and run corral again, or run both side \
             by side with `corral -s NAME --config {}`",
            name(theirs, true),
            name(mine, true),
            mine.path
        ),
    ))
}

/// Connects to a server another client is starting: its socket appears
/// within moments of its lock. Tries for up to 10 s.
///
/// Errors: the last connection error.
fn connect_soon(
    socket: &std::path::Path,
    session: &str,
    hello: HelloKind,
) -> Result<
    (
        crate::proto::Welcome,
        std::os::unix::net::UnixStream,
        std::io::BufReader<std::os::unix::net::UnixStream>,
    ),
    ConnectError,
> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match link::connect(socket, session, hello.clone()) {
            Err(ConnectError::NoServer(_) | ConnectError::Starting(_))
                if Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

/// The pane size (`ROWSxCOLS`, comma-separated in slot order) this client
/// gives each configured slot in a `size` (cols, rows) terminal.
fn first_pane_sizes(o: &Options, size: (u16, u16)) -> String {
    let w = crate::proto::Welcome {
        v: crate::proto::PROTO_VERSION,
        session: o.session.clone(),
        pid: 0,
        uptime_ms: 0,
        slots: o
            .config_slots
            .iter()
            .map(|id| crate::proto::SlotInfo {
                id: id.clone(),
                role: String::new(),
                agent: String::new(),
                state: crate::detect::AgentState::Starting,
                state_age_ms: 0,
                title: String::new(),
                generation: 0,
                rows: 24,
                cols: 80,
                worktree: None,
                sandbox: None,
                usage: None,
            })
            .collect(),
        inbox: Vec::new(),
        decisions: Vec::new(),
        auto_answers: true,
        clients: 1,
        scrollback_rows: 0,
        config: None,
    };
    let mut app = App::from_welcome(&w, &o.ui, o.keymap.clone(), size, Instant::now());
    if let Some(i) = o
        .attach
        .as_ref()
        .and_then(|a| o.config_slots.iter().position(|s| s == a))
    {
        app.attach_to(i);
    }
    let mut sizes = vec![(24u16, 80u16); o.config_slots.len()];
    for (slot, sz) in app.pane_sizes() {
        if let Some(s) = sizes.get_mut(slot) {
            *s = sz;
        }
    }
    sizes
        .iter()
        .map(|(r, c)| format!("{r}x{c}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Puts the terminal into raw mode on the alternate screen, and restores it on
/// drop (also on error and unwinding).
struct TermGuard;

impl TermGuard {
    fn enter() -> io::Result<TermGuard> {
        crossterm::terminal::enable_raw_mode()?;
        let guard = TermGuard;
        execute!(
            io::stdout(),
            EnterAlternateScreen,
            EnableMouseCapture,
            EnableBracketedPaste,
            cursor::Hide
        )?;
        Ok(guard)
    }
}

impl Drop for TermGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Set once the user's terminal is being restored: from then on nothing
/// else is drawn (a reader thread's early echo checks it while it holds
/// stdout's lock, so no echo can land after the restore).
static TERMINAL_RESTORED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn restore_terminal() {
    TERMINAL_RESTORED.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut out = io::stdout().lock();
    let _ = execute!(
        out,
        EndSynchronizedUpdate,
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = out.flush();
    let _ = crossterm::terminal::disable_raw_mode();
}

fn install_panic_hook() {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        prev(info);
    }));
}

/// How long corral may take to end after its terminal hung up before the
/// watchdog ends it ([`watch_hangup`]); a normal shutdown takes at most 3 s.
const HANGUP_GRACE: Duration = Duration::from_secs(8);

/// Starts a thread that ends the process if the terminal `fd` hangs up and
/// corral has not ended [`HANGUP_GRACE`] later: a last resort, so a UI
/// thread stuck inside a read of the dead terminal can never leave corral
/// running (and spinning) with no one to see it. It waits in `poll` with no
/// events asked for, which wakes only on hang-up or error: no CPU meanwhile.
fn watch_hangup(fd: std::os::fd::RawFd) {
    // SAFETY: dup of an open descriptor; the copy belongs to the thread.
    let fd = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if fd < 0 {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("hangup-watch".into())
        .spawn(move || {
            let mut p = libc::pollfd {
                fd,
                events: 0,
                revents: 0,
            };
            loop {
                // SAFETY: one valid pollfd on our own descriptor.
                let n = unsafe { libc::poll(&mut p, 1, -1) };
                if n > 0 {
                    break;
                }
                if n < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                    return;
                }
            }
            std::thread::sleep(HANGUP_GRACE);
            tracing::error!("the terminal hung up and corral did not end: ending it now");
            std::process::exit(129);
        });
    if let Err(e) = spawned {
        tracing::warn!("no hang-up watchdog: {e}");
    }
}

/// The descriptor the user's input is read from: standard input when it is
/// a terminal, else `/dev/tty` (as crossterm, which sets its modes, does).
struct TtyFd(Option<std::fs::File>);

impl TtyFd {
    /// Errors: standard input is not a terminal and `/dev/tty` cannot be
    /// opened.
    fn open() -> io::Result<TtyFd> {
        // SAFETY: isatty only reads the descriptor's state.
        if unsafe { libc::isatty(libc::STDIN_FILENO) } == 1 {
            Ok(TtyFd(None))
        } else {
            Ok(TtyFd(Some(std::fs::File::open("/dev/tty")?)))
        }
    }
}

impl std::os::fd::AsRawFd for TtyFd {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0
            .as_ref()
            .map_or(libc::STDIN_FILENO, |f| f.as_raw_fd())
    }
}

/// Output arrived for the pane being typed in (`slot`): puts what changed
/// there on the terminal now if its reader thread could not (the UI held the
/// terminal). Returns true when the terminal then shows the pane as its
/// engine has it, so this output needs no frame; the next frame repaints
/// whatever else changed.
///
/// Errors: the write to the terminal failed.
fn echo_typed(
    shown: &std::sync::Mutex<ui::Shown>,
    mirrors: &Mirrors,
    slot: SlotIdx,
) -> io::Result<bool> {
    // Output parsed after this raises a new event.
    mirrors.take_dirty(slot);
    let mut shown = lock_shown(shown);
    let Some(e) = mirrors.lock(slot) else {
        return Ok(false);
    };
    let echoed = shown.echo(slot, &e, &mut io::stdout().lock())?;
    Ok(echoed != ui::Echoed::NotTyped && !shown.wants_frame())
}

/// True if a write to stdout would not wait now.
fn stdout_writable() -> bool {
    poll_now(libc::STDOUT_FILENO, libc::POLLOUT) & libc::POLLOUT != 0
}

/// What `fd` reports now for `events` (`poll` with no wait): the `revents`
/// bits, hang-up and error included; 0 when nothing is ready or `poll`
/// fails.
fn poll_now(fd: std::os::fd::RawFd, events: libc::c_short) -> libc::c_short {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd on an open descriptor, zero timeout.
    if unsafe { libc::poll(&mut p, 1, 0) } > 0 {
        p.revents
    } else {
        0
    }
}

/// Locks what is on the terminal; a panic elsewhere while it was held
/// leaves it usable (the next frame repaints what differs).
fn lock_shown(shown: &std::sync::Mutex<ui::Shown>) -> std::sync::MutexGuard<'_, ui::Shown> {
    shown.lock().unwrap_or_else(|p| p.into_inner())
}

/// The UI's output. A frame is gathered here and reaches the terminal in one
/// write ([`FrameOut::present`]): ratatui flushes its backend several times
/// per draw (cells, then the cursor), and each flush would be a write.
#[derive(Default, Clone)]
struct FrameOut {
    buf: Arc<std::sync::Mutex<Vec<u8>>>,
}

impl Write for FrameOut {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.buf
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(b);
        Ok(b.len())
    }

    /// Does nothing: the frame goes out whole in [`FrameOut::present`].
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl FrameOut {
    /// Writes the gathered bytes to stdout.
    ///
    /// Errors: the write to stdout failed (the terminal is gone).
    fn present(&self) -> io::Result<()> {
        let mut buf = self.buf.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = io::stdout().lock();
        out.write_all(&buf)?;
        out.flush()?;
        buf.clear();
        Ok(())
    }
}

struct Screens<'a>(&'a Mirrors);

impl ScreenSource for Screens<'_> {
    fn with_engine(&self, slot: SlotIdx, f: &mut dyn FnMut(&Engine)) {
        if let Some(e) = self.0.lock(slot) {
            f(&e);
        }
    }

    fn yields(&self, _slot: SlotIdx) -> bool {
        false
    }

    fn try_with_engine(&self, slot: SlotIdx, f: &mut dyn FnMut(&Engine)) -> bool {
        match self.0.try_lock(slot) {
            Some(Some(e)) => {
                f(&e);
                true
            }
            Some(None) => false,
            None => true,
        }
    }
}

fn msg_from(i: Input) -> Msg {
    match i {
        Input::Key(k) => Msg::Key(k),
        Input::Paste(p) => Msg::Paste(p),
        Input::Mouse(m) => Msg::Mouse(m),
    }
}

/// `seq` wrapped for tmux's DCS passthrough: every ESC inside is doubled.
fn tmux_passthrough(seq: &str) -> String {
    format!("\x1bPtmux;{}\x1b\\", seq.replace('\x1b', "\x1b\x1b"))
}

/// Rings the outer terminal's bell and posts a desktop notification with
/// OSC 9 (iTerm2, Windows Terminal, kitty, ...) and OSC 777 (rxvt, foot,
/// VTE). Inside tmux they are wrapped for passthrough; both travel over SSH.
fn notify(text: &str) {
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    let osc = format!("\x1b]9;corral: {clean}\x07\x1b]777;notify;corral;{clean}\x07");
    let seq = if std::env::var_os("TMUX").is_some() {
        tmux_passthrough(&osc)
    } else {
        osc
    };
    let mut out = io::stdout();
    let _ = out.write_all(b"\x07");
    let _ = out.write_all(seq.as_bytes());
    let _ = out.flush();
    #[cfg(feature = "native-notify")]
    {
        // Off the UI thread: D-Bus can be slow or absent.
        let body = clean.clone();
        std::thread::spawn(move || {
            if let Err(e) = notify_rust::Notification::new()
                .summary("corral")
                .body(&body)
                .show()
            {
                tracing::debug!("native notification: {e}");
            }
        });
    }
}

/// Puts `text` on the clipboard: an OSC 52 sequence to the outer terminal
/// (over SSH too; tmux with `set-clipboard on` takes it into its paste
/// buffer), again wrapped for tmux's passthrough when inside tmux (for an
/// outer terminal that tmux does not forward it to), and `command`'s
/// standard input when one is configured (run with `sh -c`, off this
/// thread: `xclip` stays to serve the selection).
fn copy_out(text: &str, command: Option<&str>) {
    use base64::Engine as _;
    let osc = format!(
        "\x1b]52;c;{}\x07",
        base64::engine::general_purpose::STANDARD.encode(text)
    );
    let mut out = io::stdout();
    let _ = out.write_all(osc.as_bytes());
    if std::env::var_os("TMUX").is_some() {
        let _ = out.write_all(tmux_passthrough(&osc).as_bytes());
    }
    let _ = out.flush();
    if let Some(cmd) = command.filter(|c| !c.trim().is_empty()) {
        let cmd = cmd.to_string();
        let text = text.to_string();
        std::thread::spawn(move || {
            let child = std::process::Command::new("sh")
                .arg("-c")
                .arg(&cmd)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn();
            match child {
                Ok(mut child) => {
                    if let Some(mut stdin) = child.stdin.take() {
                        let _ = stdin.write_all(text.as_bytes());
                    }
                    match child.wait() {
                        Ok(st) if !st.success() => {
                            tracing::warn!("copy_command `{cmd}` exited with {st}")
                        }
                        Err(e) => tracing::warn!("copy_command `{cmd}`: {e}"),
                        Ok(_) => {}
                    }
                }
                Err(e) => tracing::warn!("copy_command `{cmd}`: {e}"),
            }
        });
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
        None => std::future::pending().await,
    }
}

/// Carries out a command for the sessions: scrolling is this client's own
/// (its copy of the screen), as is the wheel over a program that did not
/// ask for the mouse; everything else goes to the server.
fn command(link: &Link, c: Command) -> io::Result<bool> {
    let scroll = match &c {
        Command::Scroll { slot, delta } => Some((*slot, *delta)),
        Command::Mouse { slot, event } => {
            let wants = link
                .mirrors
                .lock(*slot)
                .is_some_and(|e| e.input_modes().mouse != crate::keys::MouseMode::None);
            match event {
                crate::keys::MouseReport::WheelUp(..) if !wants => Some((*slot, 3)),
                crate::keys::MouseReport::WheelDown(..) if !wants => Some((*slot, -3)),
                _ if !wants => return Ok(false),
                _ => None,
            }
        }
        // A key or paste returns a scrolled-back copy to the live screen
        // (as xterm does), so the echo is seen; so does a resize (the app
        // counts the pane as live from then on, whether or not the server
        // takes this client's size).
        Command::Key { slot, .. } | Command::Paste { slot, .. } | Command::Resize { slot, .. } => {
            let back = link.mirrors.lock(*slot).is_some_and(|mut e| {
                let was = e.scroll_offset() > 0;
                e.set_scroll_offset(0);
                was
            });
            if back {
                link.mirrors.mark(*slot);
            }
            None
        }
        _ => None,
    };
    // The person's keys and pastes go straight into the PTY when the server
    // gave this client its input.
    let typed = match &c {
        Command::Key { slot, key } => type_key(link, *slot, *key),
        Command::Paste { slot, text } => {
            type_bytes(link, *slot, |modes| crate::keys::encode_paste(text, modes))
        }
        _ => Typing::NoInput,
    };
    if let Typing::Typed { back } = typed {
        return Ok(back);
    }
    if let Command::Resize { slot, rows, cols } = &c {
        link.wanted(*slot, (*rows, *cols));
    }
    if let Some((slot, delta)) = scroll {
        // Back in time: the copy needs the history the server keeps.
        if delta > 0 {
            link.ensure_history(slot, HISTORY_WAIT);
        }
        if let Some(mut e) = link.mirrors.lock(slot) {
            e.scroll_by(delta);
        }
        link.mirrors.mark(slot);
        return Ok(true);
    }
    link.send(&ClientMsg::Command { command: c })?;
    Ok(false)
}

/// Types `key` into slot `slot`'s PTY from this client ([`type_bytes`]).
fn type_key(link: &Link, slot: SlotIdx, key: KeyPress) -> Typing {
    type_bytes(link, slot, |modes| crate::keys::encode(key, modes))
}

/// Writes what `encode` makes for the modes the program set (as this
/// client's copy of its screen has them) straight into slot `slot`'s PTY;
/// bytes the PTY did not take at once go through the server, after them. A
/// scrolled-back copy returns to the live screen (as xterm does), so the
/// echo is seen. [`Typing::NoInput`] when this client has no input for the
/// slot: the caller sends the key through the server.
fn type_bytes(link: &Link, slot: SlotIdx, encode: impl FnOnce(InputModes) -> Vec<u8>) -> Typing {
    let Some((modes, back)) = link.mirrors.lock(slot).map(|mut e| {
        let back = e.scroll_offset() > 0;
        e.set_scroll_offset(0);
        (e.input_modes(), back)
    }) else {
        return Typing::NoInput;
    };
    if back {
        link.mirrors.mark(slot);
    }
    let bytes = encode(modes);
    let done = link.type_into(slot, &bytes);
    if done == 0 && !bytes.is_empty() {
        return Typing::NoInput;
    }
    if done < bytes.len() {
        let _ = link.send(&ClientMsg::Command {
            command: Command::Write {
                slot,
                bytes: bytes[done..].to_vec(),
            },
        });
        return Typing::Typed { back };
    }
    // The program (and the kernel's work that wakes it) may want this
    // core: its echo matters more than the rest of this thread's turn.
    std::thread::yield_now();
    Typing::Typed { back }
}

/// How long a frame that shows no keystroke's echo waits after a key typed
/// into a pane.
const ECHO_FIRST: Duration = Duration::from_millis(3);

/// How long a scroll back or copy mode waits for a slot's scrollback from
/// the server (it comes in milliseconds over the local socket); after it,
/// they go on with the screen the copy has.
const HISTORY_WAIT: Duration = Duration::from_secs(2);

/// How long a quitting client waits for the server to stop its agents.
const QUIT_WAIT: Duration = Duration::from_secs(10);

async fn ui_loop(
    o: Options,
    welcome: crate::proto::Welcome,
    stream: std::os::unix::net::UnixStream,
    reader: std::io::BufReader<std::os::unix::net::UnixStream>,
    socket: std::path::PathBuf,
    note: Option<String>,
) -> anyhow::Result<Ended> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;

    let frame_out = FrameOut::default();
    let backend = CrosstermBackend::new(frame_out.clone());
    let mut terminal = Terminal::new(backend)?;
    let size = crossterm::terminal::size()?;
    let now = Instant::now();
    let mut app = App::from_welcome(&welcome, &o.ui, o.keymap.clone(), size, now);
    if let Some(slot) = &o.attach
        && let Some(i) = welcome.slots.iter().position(|s| &s.id == slot)
    {
        app.attach_to(i);
    }
    // Not over the attach view's one status line, where the answer keys go.
    if o.is_demo && o.attach.is_none() {
        // Three rows of the narrowest sidebar (22 cells) hold it whole:
        // the README says where config.toml goes.
        app.flash = Some(Flash {
            text: "demo: your own agents go in config.toml (see README)".to_string(),
            error: false,
            until: now + Duration::from_secs(20),
        });
    }
    // The server runs another config than this client read: said first.
    if let Some(n) = note {
        app.notice(n, now);
    }
    // A prompt that came while no client was attached: ring once.
    if !welcome.inbox.is_empty() {
        notify(&format!("{} prompt(s) waiting", welcome.inbox.len()));
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let shown = Arc::new(std::sync::Mutex::new(ui::Shown::default()));
    // A keystroke's echo goes to the terminal from the link's reader thread
    // that parsed it. It only tries the lock: the UI holds it while it
    // renders, and the frame it is about to write shows the echo anyway.
    let on_output: link::OnOutput = {
        let shown = shown.clone();
        Box::new(move |slot, _bytes, e| {
            let Ok(mut shown) = shown.try_lock() else {
                return;
            };
            if !shown.typing_in(slot) {
                return;
            }
            let mut out = io::stdout().lock();
            // A terminal not taking output now (a slow link) must not hold
            // up the reader: the UI thread echoes instead.
            if TERMINAL_RESTORED.load(std::sync::atomic::Ordering::SeqCst) || !stdout_writable() {
                return;
            }
            if let Err(err) = shown.echo(slot, e, &mut out) {
                tracing::warn!("early echo: {err}");
            }
        })
    };
    let link = Arc::new(Link::start(
        &welcome, stream, reader, socket, tx, on_output,
    )?);
    let mirrors = link.mirrors.clone();
    // The terminal is read on a thread of its own, which types keys into
    // the pane itself while the route is armed (see `input`); declared
    // before the reader, so it outlives it.
    let tty = TtyFd::open().context("reading the terminal")?;
    let tty_fd = std::os::fd::AsRawFd::as_raw_fd(&tty);
    watch_hangup(tty_fd);
    let mut winch = signal(SignalKind::window_change())?;
    let route = Arc::new(input::Route::default());
    let (term_tx, mut term_rx) = tokio::sync::mpsc::unbounded_channel();
    // When the input thread last typed a key (ms since `epoch`, plus 1; 0:
    // never): output drawn by frames is not paced for a moment after it.
    let epoch = Instant::now();
    let typed_at = Arc::new(AtomicU64::new(0));
    let _reader = {
        let keymap = o.keymap.clone();
        let link = link.clone();
        let typed_at = typed_at.clone();
        input::Reader::start(
            tty_fd,
            route.clone(),
            Box::new(move |k| App::leaves_insert(&keymap, k)),
            Box::new(move |slot, key| {
                let t = type_key(&link, slot, key);
                if t != Typing::NoInput {
                    typed_at.store(epoch.elapsed().as_millis() as u64 + 1, Ordering::Relaxed);
                }
                t
            }),
            term_tx,
            o.ui.escape_wait(),
        )
        .context("reading the terminal")?
    };
    // Inputs the app has handled (the route's count).
    let mut handled: u64 = 0;
    let mut pending = app.update(Msg::Tick, now);
    let mut dirty = true;
    // What is dirty includes output of the pane being typed in that no
    // early echo put on the terminal.
    let mut echo_frame = false;
    let mut last_draw: Option<Instant> = None;
    // Until this instant output is drawn at once, not paced: after a key,
    // paste or click goes to a pane (its echo), and right after start.
    let mut eager_until = now + Duration::from_millis(500);
    let mut ended: Option<Ended> = None;
    let mut bye: Option<String> = None;
    while ended.is_none() {
        // What carrying out an effect asked for in turn (a copy that copy
        // mode made as it began).
        let mut later = Vec::new();
        for fx in pending.drain(..) {
            match fx {
                Effect::Session(c) => {
                    if matches!(
                        c,
                        Command::Key { .. }
                            | Command::Paste { .. }
                            | Command::Mouse { .. }
                            | Command::Write { .. }
                    ) {
                        eager_until = Instant::now() + Duration::from_millis(100);
                    }
                    match command(&link, c) {
                        Ok(scrolled) => dirty |= scrolled,
                        Err(e) => tracing::warn!("to the server: {e}"),
                    }
                }
                Effect::Quit => {
                    let _ = link.send(&ClientMsg::Quit);
                    ended = Some(Ended::Quit);
                }
                Effect::Detach => ended = Some(Ended::Detached),
                Effect::Notify(text) => notify(&text),
                Effect::EnterCopy { slot } => {
                    link.ensure_history(slot, HISTORY_WAIT);
                    let frozen = mirrors.lock(slot).map(|e| {
                        let s = e.screen();
                        let cursor = (!s.hide_cursor()).then(|| s.cursor_position());
                        (e.history(), e.scroll_offset(), cursor)
                    });
                    match frozen {
                        Some((history, offset, cursor)) => {
                            later.extend(app.start_copy(
                                slot,
                                history,
                                offset,
                                cursor,
                                Instant::now(),
                            ));
                            dirty = true;
                        }
                        None => app.cancel_copy_intent(),
                    }
                }
                Effect::Copy(text) => copy_out(&text, o.ui.copy_command.as_deref()),
                Effect::Explain(slot) => {
                    let _ = link.send(&ClientMsg::Explain { slot });
                }
                Effect::NewSlot {
                    agent,
                    branch,
                    near,
                } => {
                    let _ = link.send(&ClientMsg::NewSlot {
                        agent,
                        branch,
                        near: Some(near),
                    });
                }
            }
        }
        if ended.is_some() {
            break;
        }
        if !later.is_empty() {
            pending = later;
            continue;
        }
        route.arm(handled, app.typing_slot());
        let now = Instant::now();
        let typed_ms = typed_at.load(Ordering::Relaxed);
        let typed = (typed_ms > 0).then(|| epoch + Duration::from_millis(typed_ms - 1));
        if let Some(t) = typed {
            eager_until = eager_until.max(t + Duration::from_millis(100));
        }
        let mut frame_at = if now < eager_until {
            now
        } else {
            last_draw.map_or(now, |t| t + FRAME)
        };
        // A frame that is not a keystroke's echo (the sidebar's state, other
        // panes) waits a moment after the key: on a small machine it would
        // take the core the echo's way needs (the program, the server's
        // reader, this client's reader, the terminal).
        if !echo_frame && let Some(t) = typed {
            frame_at = frame_at.max(t + ECHO_FIRST);
        }
        if dirty && now >= frame_at {
            for i in 0..mirrors.len() {
                mirrors.take_dirty(i);
            }
            // Held until the frame is written, so no early echo comes
            // between the render and the write.
            let mut shown = lock_shown(&shown);
            let backend = terminal.backend_mut();
            queue!(backend, BeginSynchronizedUpdate)?;
            let mut repaired = Ok(());
            terminal.draw(|f| {
                ui::draw(f, &app, &Screens(&mirrors), &mut shown.cache, now);
                // Ahead of ratatui's diff: what early echoes wrote that this
                // frame shows otherwise.
                repaired = shown.repair(f.buffer_mut(), &mut frame_out.clone());
            })?;
            repaired?;
            let backend = terminal.backend_mut();
            queue!(backend, EndSynchronizedUpdate)?;
            frame_out.present()?;
            drop(shown);
            dirty = false;
            echo_frame = false;
            last_draw = Some(now);
        }
        // A copy back at its live screen and not copied from lets go of its
        // history (the server keeps it).
        for slot in mirrors.with_history() {
            let copying = app.copy.as_ref().is_some_and(|c| c.slot == slot);
            if !copying && mirrors.lock(slot).is_some_and(|e| e.scroll_offset() == 0) {
                link.drop_history(slot);
            }
        }
        let draw_at = dirty.then_some(frame_at);
        let tick_at = app.next_deadline(now);
        tokio::select! {
            msg = term_rx.recv() => match msg {
                None | Some(TermMsg::Closed(None)) => {
                    tracing::info!("the terminal closed");
                    ended = Some(Ended::Detached);
                }
                Some(TermMsg::Closed(Some(e))) => {
                    return Err(anyhow::Error::from(e).context("reading the terminal"));
                }
                // Typed into the pane by the input thread already. Like a
                // key typed here, it changes nothing on screen until its
                // echo.
                Some(TermMsg::Typed { slot }) => {
                    pending = app.update(Msg::Typed { slot }, Instant::now());
                    dirty = true;
                    echo_frame = true;
                }
                Some(TermMsg::Input(i)) => {
                    handled += 1;
                    let mode = app.mode;
                    if matches!(i, Input::Mouse(_)) {
                        app.focus_wants_mouse = mirrors.lock(app.focus).is_some_and(|e| {
                            e.input_modes().mouse != crate::keys::MouseMode::None
                        });
                    }
                    pending = app.update(msg_from(i), Instant::now());
                    // A key typed into the pane changes nothing on screen
                    // until its echo, which is drawn at once; a frame now
                    // would only hold the copy the echo is parsed into.
                    let typed = app.mode == mode
                        && matches!(
                            pending.as_slice(),
                            [Effect::Session(Command::Key { .. } | Command::Paste { .. })]
                        );
                    dirty |= !typed;
                }
            },
            _ = winch.recv() => {
                let (cols, rows) = crossterm::terminal::size()?;
                lock_shown(&shown).resized();
                terminal.autoresize()?;
                pending = app.update(Msg::Resize(cols, rows), Instant::now());
                dirty = true;
            }
            ev = rx.recv() => {
                let now = Instant::now();
                let focus = app.focus;
                // Output for the focused pane, and whether anything else came.
                let (mut typed_output, mut other) = (false, false);
                let mut next = ev;
                while let Some(ev) = next.take() {
                    match ev {
                        LinkEvent::Output(slot) => {
                            if slot == focus {
                                typed_output = true;
                            } else {
                                other = true;
                            }
                            pending.extend(app.update(Msg::Session(Event::Output { slot }), now));
                        }
                        LinkEvent::Screen { slot, rows, cols } => {
                            other = true;
                            pending.extend(app.update(Msg::PtySize { slot, rows, cols }, now));
                        }
                        LinkEvent::Msg(ServerMsg::Event { event }) => {
                            other = true;
                            pending.extend(app.update(Msg::Session(event), now));
                        }
                        LinkEvent::Msg(ServerMsg::AutoAnswers { enabled }) => {
                            other = true;
                            pending.extend(app.update(Msg::AutoAnswers(enabled), now));
                        }
                        LinkEvent::Msg(ServerMsg::Explained { slot, text }) => {
                            if slot == app.focus {
                                app.show_explain(text);
                                other = true;
                            }
                        }
                        LinkEvent::Msg(ServerMsg::Bye { reason }) => bye = Some(reason),
                        LinkEvent::Msg(ServerMsg::Refused { why }) => {
                            other = true;
                            app.flash(why, true, now);
                        }
                        // Taken by the link itself.
                        LinkEvent::Msg(ServerMsg::Input { .. } | ServerMsg::InputWritten { .. }) => {}
                        LinkEvent::Msg(ServerMsg::Stale { slot }) => {
                            pending.extend(app.update(Msg::PtyStale { slot }, now));
                        }
                        LinkEvent::Closed => {
                            ended = Some(Ended::ServerGone(bye.clone().unwrap_or_else(|| {
                                "the connection closed".into()
                            })));
                        }
                    }
                    // Take what else is queued, so a burst costs one frame.
                    next = rx.try_recv().ok();
                }
                // A keystroke's echo (or any output of the pane being typed
                // in) that is on the terminal already needs no frame.
                let echoed = typed_output
                    && app.mode == crate::keymap::Mode::Insert
                    && app.modal == crate::client::app::Modal::None
                    && echo_typed(&shown, &mirrors, app.focus)?;
                dirty |= other || (typed_output && !echoed);
                echo_frame |= typed_output && !echoed;
            }
            _ = sleep_until_opt(draw_at) => {}
            _ = sleep_until_opt(tick_at) => {
                pending = app.update(Msg::Tick, Instant::now());
                dirty = true;
            }
            _ = sigterm.recv() => { tracing::info!("SIGTERM"); ended = Some(Ended::Detached) }
            _ = sighup.recv() => { tracing::info!("SIGHUP"); ended = Some(Ended::Detached) }
            _ = sigint.recv() => { tracing::info!("SIGINT"); ended = Some(Ended::Detached) }
        }
    }
    let ended = ended.unwrap_or(Ended::Detached);
    if ended == Ended::Quit {
        // Until the server has stopped its agents: `q` returns when they are
        // gone.
        let deadline = tokio::time::Instant::now() + QUIT_WAIT;
        loop {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(LinkEvent::Closed)) | Ok(None) | Err(_) => break,
                Ok(Some(_)) => {}
            }
        }
    }
    link.close();
    tracing::info!(?ended, "client ending");
    drop(terminal);
    Ok(ended)
}
