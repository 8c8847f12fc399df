//! The user's terminal input: the bytes it sends (keys, bracketed paste,
//! mouse reports) decoded into [`Input`]s, and the thread that reads them.
//!
//! The thread blocks on the terminal itself and writes a key typed into a
//! pane straight into that slot's PTY when the UI armed the typing route
//! ([`Route`]): a keystroke's way to its program is then one thread
//! wake-up, one `read` and one `write`, with no hand-over to the UI first.
//! Everything else goes to the UI thread, in order.
//!
//! The decoding follows what xterm-compatible terminals send: UTF-8 text,
//! C0 controls, `ESC` + key for alt, CSI and SS3 keys with xterm modifier
//! parameters, `CSI code;mods u` (kitty) and `CSI 27;mods;code ~`
//! (xterm's modifyOtherKeys), SGR (1006), urxvt (1015) and X10 mouse
//! reports, and bracketed paste (2004).

use std::io;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::app::MouseMsg;
use crate::keys::{KeyCode, KeyPress, Mods};

/// One decoded piece of terminal input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A key press, normalised as corral's keymap names keys: a character
    /// is the character itself (`'A'`, never shift-a); ctrl with a letter
    /// is the lowercase letter.
    Key(KeyPress),
    /// Text pasted with bracketed paste (lossy UTF-8).
    Paste(String),
    /// A mouse report corral acts on.
    Mouse(MouseMsg),
}

/// Longest CSI sequence taken, in bytes; a longer one is dropped whole.
const CSI_MAX: usize = 256;

/// Most bytes a paste holds before they go out as one [`Input::Paste`]
/// (and the paste goes on).
const PASTE_MAX: usize = 8 << 20;

/// Bracketed paste's end marker.
const PASTE_END: &[u8] = b"\x1b[201~";

/// Decodes a terminal's input bytes into [`Input`]s; bytes of a sequence cut
/// off at the end of a read wait for the next [`Decoder::feed`] (or for
/// [`Decoder::flush`] once no more come).
#[derive(Debug, Default)]
pub struct Decoder {
    /// Undecoded bytes: the start of an escape sequence or of a UTF-8
    /// character.
    pending: Vec<u8>,
    /// Inside a bracketed paste: its text so far.
    paste: Option<Vec<u8>>,
    /// Inside an overlong CSI sequence: its bytes are dropped up to and
    /// including its final byte.
    skip_csi: bool,
}

/// What [`parse`] found at the start of a buffer.
enum Parsed {
    /// The bytes end before the sequence does.
    Incomplete,
    /// The first `n` bytes start a CSI sequence longer than [`CSI_MAX`].
    Overlong(usize),
    /// The first `n` bytes are one piece of input, or none (unknown or
    /// malformed: dropped).
    Done(usize, Option<Piece>),
}

/// A sequence's meaning.
enum Piece {
    Input(Input),
    /// `CSI 200 ~`: a bracketed paste begins.
    PasteStart,
}

impl Decoder {
    /// Decodes `bytes` after what is pending, appending complete inputs to
    /// `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Input>) {
        self.pending.extend_from_slice(bytes);
        let mut at = 0;
        loop {
            if let Some(paste) = self.paste.as_mut() {
                // Search from where the marker could begin in the new bytes.
                let from = paste.len().saturating_sub(PASTE_END.len() - 1);
                paste.extend_from_slice(&self.pending[at..]);
                at = self.pending.len();
                match find(&paste[from..], PASTE_END) {
                    Some(i) => {
                        let end = from + i;
                        let rest = paste.split_off(end + PASTE_END.len());
                        paste.truncate(end);
                        let text = String::from_utf8_lossy(paste).into_owned();
                        self.paste = None;
                        out.push(Input::Paste(text));
                        self.pending = rest;
                        at = 0;
                        continue;
                    }
                    None => {
                        if paste.len() > PASTE_MAX {
                            // Keep what may start the end marker, and cut
                            // at a character's start.
                            let mut cut = paste.len() - (PASTE_END.len() - 1);
                            while cut > 0 && paste[cut] & 0xc0 == 0x80 {
                                cut -= 1;
                            }
                            let rest = paste.split_off(cut);
                            let text = String::from_utf8_lossy(paste).into_owned();
                            *paste = rest;
                            out.push(Input::Paste(text));
                        }
                        break;
                    }
                }
            }
            while self.skip_csi && at < self.pending.len() {
                match self.pending[at] {
                    0x20..=0x3f => at += 1,
                    0x40..=0x7e => {
                        at += 1;
                        self.skip_csi = false;
                    }
                    _ => self.skip_csi = false,
                }
            }
            if at >= self.pending.len() {
                break;
            }
            match parse(&self.pending[at..]) {
                Parsed::Incomplete => break,
                Parsed::Overlong(n) => {
                    at += n;
                    self.skip_csi = true;
                }
                Parsed::Done(n, piece) => {
                    at += n.max(1);
                    match piece {
                        Some(Piece::Input(i)) => out.push(i),
                        Some(Piece::PasteStart) => self.paste = Some(Vec::new()),
                        None => {}
                    }
                }
            }
        }
        self.pending.drain(..at.min(self.pending.len()));
    }

    /// True when bytes of a cut-off sequence wait for their rest (not
    /// inside a paste, which waits for its end marker however long).
    pub fn waiting(&self) -> bool {
        self.paste.is_none() && !self.pending.is_empty()
    }

    /// No more bytes came for what is pending: a lone `ESC` is the Esc key,
    /// `ESC` + `[` or `O` is alt with that character; the start of a longer
    /// sequence or of a UTF-8 character is dropped.
    pub fn flush(&mut self, out: &mut Vec<Input>) {
        if self.paste.is_some() {
            return;
        }
        match self.pending.as_slice() {
            [0x1b] => out.push(Input::Key(KeyPress::plain(KeyCode::Esc))),
            [0x1b, c @ (b'[' | b'O')] => out.push(Input::Key(KeyPress {
                code: KeyCode::Char(char::from(*c)),
                mods: Mods {
                    alt: true,
                    ..Mods::NONE
                },
            })),
            _ => {}
        }
        self.pending.clear();
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn key(code: KeyCode, mods: Mods) -> Option<Piece> {
    Some(Piece::Input(Input::Key(KeyPress { code, mods })))
}

/// Decodes the input at the start of `b` (not empty).
fn parse(b: &[u8]) -> Parsed {
    if b[0] != 0x1b {
        return plain(b);
    }
    match b.get(1) {
        None => Parsed::Incomplete,
        Some(b'[') => csi(b),
        Some(b'O') => match b.get(2) {
            None => Parsed::Incomplete,
            Some(&f) => match ss3_key(f) {
                Some(code) => Parsed::Done(3, key(code, Mods::NONE)),
                // Not SS3: alt-O, then whatever follows on its own.
                None => Parsed::Done(2, key(KeyCode::Char('O'), alt())),
            },
        },
        // ESC ESC: the Esc key; the second one starts what follows.
        Some(0x1b) => Parsed::Done(1, key(KeyCode::Esc, Mods::NONE)),
        Some(_) => match plain(&b[1..]) {
            Parsed::Incomplete => Parsed::Incomplete,
            Parsed::Overlong(n) => Parsed::Overlong(n + 1),
            Parsed::Done(n, Some(Piece::Input(Input::Key(mut k)))) => {
                k.mods.alt = true;
                Parsed::Done(n + 1, Some(Piece::Input(Input::Key(k))))
            }
            Parsed::Done(n, _) => Parsed::Done(n + 1, None),
        },
    }
}

fn alt() -> Mods {
    Mods {
        alt: true,
        ..Mods::NONE
    }
}

fn ctrl() -> Mods {
    Mods {
        ctrl: true,
        ..Mods::NONE
    }
}

/// One key that is not an escape sequence: a C0 control, DEL, or a UTF-8
/// character (an invalid byte is dropped).
fn plain(b: &[u8]) -> Parsed {
    let c = b[0];
    let k = match c {
        b'\r' => key(KeyCode::Enter, Mods::NONE),
        b'\t' => key(KeyCode::Tab, Mods::NONE),
        0x7f => key(KeyCode::Backspace, Mods::NONE),
        0x00 => key(KeyCode::Char(' '), ctrl()),
        0x1b => key(KeyCode::Esc, Mods::NONE),
        0x01..=0x1a => key(KeyCode::Char(char::from(b'a' + c - 1)), ctrl()),
        0x1c => key(KeyCode::Char('\\'), ctrl()),
        0x1d => key(KeyCode::Char(']'), ctrl()),
        0x1e => key(KeyCode::Char('^'), ctrl()),
        0x1f => key(KeyCode::Char('_'), ctrl()),
        0x20..=0x7e => key(KeyCode::Char(char::from(c)), Mods::NONE),
        _ => {
            let len = match c {
                0xc2..=0xdf => 2,
                0xe0..=0xef => 3,
                0xf0..=0xf4 => 4,
                _ => return Parsed::Done(1, None),
            };
            // Stop at the first byte that cannot continue the character.
            let have = b.len().min(len);
            if b[1..have].iter().any(|&x| x & 0xc0 != 0x80) {
                return Parsed::Done(1, None);
            }
            if b.len() < len {
                return Parsed::Incomplete;
            }
            return match std::str::from_utf8(&b[..len])
                .ok()
                .and_then(|s| s.chars().next())
            {
                Some(ch) => Parsed::Done(len, key(KeyCode::Char(ch), Mods::NONE)),
                None => Parsed::Done(1, None),
            };
        }
    };
    Parsed::Done(1, k)
}

fn ss3_key(f: u8) -> Option<KeyCode> {
    Some(match f {
        b'A' => KeyCode::Up,
        b'B' => KeyCode::Down,
        b'C' => KeyCode::Right,
        b'D' => KeyCode::Left,
        b'H' => KeyCode::Home,
        b'F' => KeyCode::End,
        b'P' => KeyCode::F(1),
        b'Q' => KeyCode::F(2),
        b'R' => KeyCode::F(3),
        b'S' => KeyCode::F(4),
        _ => return None,
    })
}

/// Modifiers from an xterm modifier parameter (1 + shift 1 + alt 2 + ctrl
/// 4 + meta 8, meta taken as alt).
fn mods_from(p: u32) -> Mods {
    let bits = p.saturating_sub(1);
    Mods {
        shift: bits & 1 != 0,
        alt: bits & 2 != 0 || bits & 8 != 0,
        ctrl: bits & 4 != 0,
    }
}

/// A sequence starting `ESC [` (`b` holds at least those two bytes).
fn csi(b: &[u8]) -> Parsed {
    // X10 mouse: CSI M and three bytes, each 32 + a value.
    if b.get(2) == Some(&b'M') {
        if b.len() < 6 {
            return Parsed::Incomplete;
        }
        let v = |i: usize| u32::from(b[i]).saturating_sub(32);
        return Parsed::Done(6, mouse(v(3), v(4), v(5), false));
    }
    let mut end = 2;
    loop {
        let Some(&c) = b.get(end) else {
            return Parsed::Incomplete;
        };
        match c {
            0x20..=0x3f => end += 1,
            0x40..=0x7e => break,
            // Not part of a CSI sequence: drop what came before it.
            _ => return Parsed::Done(end, None),
        }
        if end >= CSI_MAX {
            return Parsed::Overlong(end);
        }
    }
    let fin = b[end];
    let n = end + 1;
    let body = &b[2..end];
    if let Some(rest) = body.strip_prefix(b"<") {
        // SGR mouse: CSI < b ; x ; y M (press) or m (release).
        let p = params(rest);
        return match (fin, p.as_slice()) {
            (b'M' | b'm', [cb, x, y]) => Parsed::Done(n, mouse(*cb, *x, *y, fin == b'm')),
            _ => Parsed::Done(n, None),
        };
    }
    if body
        .first()
        .is_some_and(|c| !c.is_ascii_digit() && *c != b';')
    {
        // Private replies (CSI ? … c, CSI > … c) and the like: not input.
        return Parsed::Done(n, None);
    }
    let p = params(body);
    let arg = |i: usize| p.get(i).copied();
    let m = arg(1).map_or(Mods::NONE, mods_from);
    let piece = match fin {
        b'A' | b'B' | b'C' | b'D' | b'H' | b'F' | b'P' | b'Q' | b'R' | b'S' => {
            ss3_key(fin).and_then(|code| key(code, m))
        }
        b'Z' => key(KeyCode::BackTab, Mods::NONE),
        b'~' => match arg(0) {
            Some(200) => Some(Piece::PasteStart),
            // modifyOtherKeys: CSI 27 ; mods ; code ~
            Some(27) => arg(2).and_then(|code| code_key(code, m)),
            Some(code) => tilde_key(code).and_then(|k| key(k, m)),
            None => None,
        },
        b'u' => arg(0).and_then(|code| code_key(code, m)),
        // urxvt mouse: CSI b ; x ; y M, b as 32 + value.
        b'M' if p.len() == 3 => mouse(p[0].saturating_sub(32), p[1], p[2], false),
        _ => None,
    };
    Parsed::Done(n, piece)
}

/// The numbers of a CSI parameter list (`1;5`); an empty one is 0, a
/// sub-parameter (`:`) is left out.
fn params(body: &[u8]) -> Vec<u32> {
    body.split(|&c| c == b';')
        .map(|p| {
            let main = p.split(|&c| c == b':').next().unwrap_or_default();
            main.iter()
                .filter(|c| c.is_ascii_digit())
                .fold(0u32, |acc, c| {
                    acc.saturating_mul(10).saturating_add(u32::from(c - b'0'))
                })
        })
        .collect()
}

/// The key of `CSI n ~`.
fn tilde_key(n: u32) -> Option<KeyCode> {
    Some(match n {
        1 | 7 => KeyCode::Home,
        2 => KeyCode::Insert,
        3 => KeyCode::Delete,
        4 | 8 => KeyCode::End,
        5 => KeyCode::PageUp,
        6 => KeyCode::PageDown,
        11..=15 => KeyCode::F((n - 10) as u8),
        17..=21 => KeyCode::F((n - 11) as u8),
        23 | 24 => KeyCode::F((n - 12) as u8),
        _ => return None,
    })
}

/// A key given by its Unicode code point (kitty's and modifyOtherKeys'
/// form), with modifiers; shift is part of a character.
fn code_key(code: u32, mut m: Mods) -> Option<Piece> {
    let code = match code {
        13 => KeyCode::Enter,
        9 => KeyCode::Tab,
        27 => KeyCode::Esc,
        127 | 8 => KeyCode::Backspace,
        c => {
            let ch = char::from_u32(c).filter(|c| !c.is_control())?;
            m.shift = false;
            KeyCode::Char(if m.ctrl { ch.to_ascii_lowercase() } else { ch })
        }
    };
    key(code, m)
}

/// A mouse report: button byte `cb` (its value, without X10's 32), 1-based
/// cell `x`, `y`; `release` for SGR's `m`. Only what corral acts on: the
/// left button and the wheel.
fn mouse(cb: u32, x: u32, y: u32, release: bool) -> Option<Piece> {
    let col = u16::try_from(x.saturating_sub(1)).unwrap_or(u16::MAX);
    let row = u16::try_from(y.saturating_sub(1)).unwrap_or(u16::MAX);
    let button = cb & 3;
    // Shift with the left button is the outer terminal's own selection (as
    // in tmux and zellij): one that still reports it gets nothing from
    // corral either.
    if cb & 4 != 0 && cb & 64 == 0 {
        return None;
    }
    let m = if cb & 64 != 0 {
        match button {
            0 => MouseMsg::WheelUp(col, row),
            1 => MouseMsg::WheelDown(col, row),
            _ => return None,
        }
    } else if cb & 32 != 0 {
        if button != 0 {
            return None;
        }
        MouseMsg::Drag(col, row)
    } else if release || button == 3 {
        // X10 reports a release without its button.
        if release && button != 0 {
            return None;
        }
        MouseMsg::Release(col, row)
    } else if button == 0 {
        MouseMsg::Click(col, row)
    } else {
        return None;
    };
    Some(Piece::Input(Input::Mouse(m)))
}

/// Where a key typed in a pane goes without the UI: the slot the UI said
/// keys go to now, while the UI has seen every input sent to it.
#[derive(Debug, Default)]
pub struct Route {
    state: Mutex<RouteState>,
}

#[derive(Debug, Default)]
struct RouteState {
    /// The slot typed keys go to; `None` sends every input to the UI.
    armed: Option<usize>,
    /// Inputs sent to the UI so far.
    sent: u64,
}

impl Route {
    /// The UI has handled `handled` inputs and its app now types keys into
    /// `slot` (or into none): arms the route, unless inputs it has not
    /// handled yet may change where keys go.
    pub fn arm(&self, handled: u64, slot: Option<usize>) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.armed = if s.sent == handled { slot } else { None };
    }
}

/// What the input thread tells the UI thread.
#[derive(Debug)]
pub enum TermMsg {
    /// Input for the app.
    Input(Input),
    /// A key was typed into this slot's PTY already, and its pane left the
    /// scrollback for it: the app must draw it. (A key typed into a live
    /// pane wakes nobody: its echo is drawn by the link's reader.)
    Typed {
        /// The slot.
        slot: usize,
    },
    /// The terminal hung up (its window closed), or reading it failed.
    Closed(Option<io::Error>),
}

/// What typing a key from the client did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Typing {
    /// This client has no input for the slot: the key must go through the
    /// server.
    NoInput,
    /// Typed. `back`: the pane's copy was scrolled back and is at its live
    /// screen again, which only a frame shows.
    Typed {
        /// The copy left its scrollback.
        back: bool,
    },
}

/// Types `key` into `slot`'s PTY.
pub type TypeKey = Box<dyn Fn(usize, KeyPress) -> Typing + Send>;

/// The thread reading the terminal; stopped (and joined) on drop.
pub struct Reader {
    stop: Option<std::fs::File>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Whether `k` leaves insert mode in `keymap` (then the UI must see it).
pub type LeavesInsert = Box<dyn Fn(KeyPress) -> bool + Send>;

impl Reader {
    /// Starts reading terminal `fd` (kept open by the caller for the
    /// reader's life). Typed keys go through `type_key` while `route` is
    /// armed and `leaves` says the key does not leave insert mode; the rest
    /// goes to `tx`.
    ///
    /// An escape sequence cut off at the end of a read waits `escape_wait`
    /// for its rest (`[ui] escape_ms`).
    ///
    /// Errors: the stop pipe or the thread cannot be made.
    pub fn start(
        fd: RawFd,
        route: Arc<Route>,
        leaves: LeavesInsert,
        type_key: TypeKey,
        tx: tokio::sync::mpsc::UnboundedSender<TermMsg>,
        escape_wait: Duration,
    ) -> io::Result<Reader> {
        let mut fds = [0; 2];
        // SAFETY: pipe2 fills two descriptors we then own.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both descriptors were just created and are owned here.
        let (stop_r, stop_w) = unsafe {
            use std::os::fd::FromRawFd;
            (
                std::fs::File::from_raw_fd(fds[0]),
                std::fs::File::from_raw_fd(fds[1]),
            )
        };
        let thread = std::thread::Builder::new()
            .name("term-input".into())
            .spawn(move || read_loop(fd, &stop_r, &route, &leaves, &type_key, &tx, escape_wait))?;
        Ok(Reader {
            stop: Some(stop_w),
            thread: Some(thread),
        })
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        // Closing the pipe's write end wakes the thread's poll.
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Waits for `fd` to be readable or `stop` to close, up to `timeout_ms`
/// (-1: no limit). Returns (terminal readable or hung up, stop closed).
fn wait(fd: RawFd, stop: RawFd, timeout_ms: libc::c_int) -> io::Result<(bool, bool)> {
    let mut p = [
        libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: stop,
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    loop {
        // SAFETY: two valid pollfds on open descriptors.
        let n = unsafe { libc::poll(p.as_mut_ptr(), 2, timeout_ms) };
        if n >= 0 {
            return Ok((p[0].revents != 0, p[1].revents != 0));
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

fn read_loop(
    fd: RawFd,
    stop: &std::fs::File,
    route: &Route,
    leaves: &LeavesInsert,
    type_key: &TypeKey,
    tx: &tokio::sync::mpsc::UnboundedSender<TermMsg>,
    escape_wait: Duration,
) {
    use std::os::fd::AsRawFd;
    let mut dec = Decoder::default();
    let mut buf = vec![0u8; 4096];
    let mut inputs = Vec::new();
    let closed = |e: Option<io::Error>| {
        let _ = tx.send(TermMsg::Closed(e));
    };
    loop {
        // A cut-off escape sequence waits a little for its rest.
        let timeout = if dec.waiting() {
            escape_wait.as_millis().min(i32::MAX as u128) as libc::c_int
        } else {
            -1
        };
        let (readable, stopped) = match wait(fd, stop.as_raw_fd(), timeout) {
            Ok(r) => r,
            Err(e) => return closed(Some(e)),
        };
        if stopped {
            return;
        }
        if !readable {
            dec.flush(&mut inputs);
        } else {
            // SAFETY: read(2) into a live buffer of its length.
            let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n == 0 {
                return closed(None);
            }
            if n < 0 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock => continue,
                    // Linux reports a hung-up terminal as EIO.
                    _ if e.raw_os_error() == Some(libc::EIO) => return closed(None),
                    _ => return closed(Some(e)),
                }
            }
            dec.feed(&buf[..n as usize], &mut inputs);
        }
        for input in inputs.drain(..) {
            let mut s = route.state.lock().unwrap_or_else(|p| p.into_inner());
            if let (Some(slot), Input::Key(k)) = (s.armed, &input)
                && !leaves(*k)
                && let Typing::Typed { back } = type_key(slot, *k)
            {
                drop(s);
                if back && tx.send(TermMsg::Typed { slot }).is_err() {
                    return;
                }
                continue;
            }
            // The UI decides this one, and what comes after it waits for
            // the UI to have seen it.
            s.armed = None;
            s.sent += 1;
            drop(s);
            if tx.send(TermMsg::Input(input)).is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{InputModes, encode};

    fn dec(bytes: &[u8]) -> Vec<Input> {
        let mut d = Decoder::default();
        let mut out = Vec::new();
        d.feed(bytes, &mut out);
        d.flush(&mut out);
        out
    }

    fn k(s: &str) -> Input {
        Input::Key(s.parse().unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn keys_as_terminals_send_them() {
        assert_eq!(dec(b"aZ?"), [k("a"), k("Z"), k("?")]);
        assert_eq!(
            dec(b"\r\t\x7f\x1b"),
            [k("enter"), k("tab"), k("backspace"), k("esc")]
        );
        assert_eq!(
            dec(b"\x03\x1c\x1f\x00"),
            [k("ctrl-c"), k("ctrl-\\"), k("ctrl-_"), k("ctrl-space")]
        );
        assert_eq!(dec(b"\x1bx\x1b\x03"), [k("alt-x"), k("alt-ctrl-c")]);
        assert_eq!(dec("é漢".as_bytes()), [k("é"), k("漢")]);
        assert_eq!(
            dec(b"\x1b[A\x1bOB\x1b[1;5C\x1b[1;2D\x1b[H\x1b[4~"),
            [
                k("up"),
                k("down"),
                k("ctrl-right"),
                k("shift-left"),
                k("home"),
                k("end")
            ]
        );
        assert_eq!(
            dec(b"\x1b[5~\x1b[6;3~\x1b[3~\x1b[2~\x1b[Z"),
            [
                k("pgup"),
                k("alt-pgdn"),
                k("delete"),
                k("insert"),
                k("backtab")
            ]
        );
        assert_eq!(
            dec(b"\x1bOP\x1b[1;5Q\x1b[15~\x1b[24~"),
            [k("f1"), k("ctrl-f2"), k("f5"), k("f12")]
        );
        // kitty and modifyOtherKeys forms.
        assert_eq!(
            dec(b"\x1b[97;5u\x1b[27;5;105~\x1b[27u"),
            [k("ctrl-a"), k("ctrl-i"), k("esc")]
        );
        // Two Escs in one read are two keys.
        assert_eq!(dec(b"\x1b\x1b"), [k("esc"), k("esc")]);
    }

    /// Every key corral encodes for a program decodes back to itself, where
    /// the legacy encoding can tell it apart at all.
    #[test]
    fn what_encode_writes_decodes_back() {
        let names = [
            "a",
            "Z",
            "~",
            "ü",
            "enter",
            "esc",
            "tab",
            "backtab",
            "backspace",
            "up",
            "ctrl-up",
            "shift-down",
            "alt-left",
            "right",
            "home",
            "end",
            "pgup",
            "ctrl-pgdn",
            "insert",
            "delete",
            "f1",
            "f4",
            "alt-f4",
            "f5",
            "f12",
            "ctrl-a",
            "ctrl-z",
            "alt-x",
            "ctrl-\\",
            "ctrl-]",
            "alt-enter",
        ];
        for n in names {
            let key: KeyPress = n.parse().unwrap_or_else(|e| panic!("{e}"));
            let bytes = encode(key, InputModes::default());
            assert_eq!(dec(&bytes), [Input::Key(key)], "{n}: {bytes:?}");
        }
    }

    #[test]
    fn sequences_cut_by_a_read_wait_for_their_rest() {
        let mut d = Decoder::default();
        let mut out = Vec::new();
        for chunk in [
            &b"\x1b"[..],
            b"[",
            b"1;5",
            b"A",
            "漢".as_bytes()[..1].as_ref(),
        ] {
            d.feed(chunk, &mut out);
        }
        assert_eq!(out, [k("ctrl-up")]);
        assert!(d.waiting());
        d.feed(&"漢".as_bytes()[1..], &mut out);
        assert_eq!(out, [k("ctrl-up"), k("漢")]);
        assert!(!d.waiting());
        // Nothing more came: ESC [ is alt-[; a cut CSI is dropped, not typed.
        assert_eq!(dec(b"\x1b["), [k("alt-[")]);
        assert_eq!(dec(b"\x1b[1;5"), []);
        assert_eq!(dec(b"x\xe6\xbc"), [k("x")]);
    }

    #[test]
    fn garbage_is_dropped_and_what_follows_kept() {
        assert_eq!(dec(b"\xff\xc3a"), [k("a")]);
        assert_eq!(dec(b"\x1b[?1;2c\x1b[>0;1c\x1b[Ix"), [k("x")]);
        assert_eq!(dec(b"\x1b[12\x03"), [k("ctrl-c")]);
        // An overlong sequence is dropped whole, however it is cut.
        let long = [b"\x1b[".to_vec(), vec![b'1'; 5000], b"Ay".to_vec()].concat();
        assert_eq!(dec(&long), [k("y")]);
        let mut d = Decoder::default();
        let mut out = Vec::new();
        for c in long.chunks(7) {
            d.feed(c, &mut out);
        }
        assert_eq!(out, [k("y")]);
        // ESC O and a byte that ends no SS3 key: alt-O, then that key.
        assert_eq!(dec(b"\x1bOx"), [k("alt-O"), k("x")]);
    }

    #[test]
    fn bracketed_paste_is_one_input_however_it_is_cut() {
        let text = b"\x1b[200~line 1\r\n\x1b[A not a key\x1b[201~q";
        for cut in 1..text.len() {
            let mut d = Decoder::default();
            let mut out = Vec::new();
            d.feed(&text[..cut], &mut out);
            d.feed(&text[cut..], &mut out);
            assert_eq!(
                out,
                [Input::Paste("line 1\r\n\x1b[A not a key".into()), k("q")],
                "cut at {cut}"
            );
        }
        // A paste waits for its end however long it takes.
        let mut d = Decoder::default();
        let mut out = Vec::new();
        d.feed(b"\x1b[200~abc", &mut out);
        assert!(!d.waiting());
        d.flush(&mut out);
        assert!(out.is_empty());
    }

    /// A paste longer than [`PASTE_MAX`] goes out in pieces without losing
    /// an end marker cut at a piece's edge or splitting a character.
    #[test]
    fn a_huge_paste_keeps_its_end_marker_and_characters() {
        let mut body = vec![b'a'; PASTE_MAX - 1];
        body.extend_from_slice("é".as_bytes());
        body.extend_from_slice(b"\x1b[2");
        let mut d = Decoder::default();
        let mut out = Vec::new();
        d.feed(b"\x1b[200~", &mut out);
        d.feed(&body, &mut out);
        d.feed(b"01~q", &mut out);
        let mut text = String::new();
        for i in &out[..out.len() - 1] {
            match i {
                Input::Paste(t) => text.push_str(t),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(out.last(), Some(&k("q")));
        assert!(
            text.len() == PASTE_MAX + 1 && text.ends_with('é'),
            "{}",
            text.len()
        );
        assert!(!text.contains('\u{fffd}'));
    }

    #[test]
    fn mouse_reports_in_each_encoding() {
        assert_eq!(
            dec(b"\x1b[<0;10;5M\x1b[<32;11;5M\x1b[<0;11;5m\x1b[<64;1;1M\x1b[<65;2;3M"),
            [
                Input::Mouse(MouseMsg::Click(9, 4)),
                Input::Mouse(MouseMsg::Drag(10, 4)),
                Input::Mouse(MouseMsg::Release(10, 4)),
                Input::Mouse(MouseMsg::WheelUp(0, 0)),
                Input::Mouse(MouseMsg::WheelDown(1, 2)),
            ]
        );
        // Right button: nothing corral acts on.
        assert_eq!(dec(b"\x1b[<2;5;5M"), []);
        // Shift with the left button: the terminal's own selection.
        assert_eq!(dec(b"\x1b[<4;5;5M\x1b[<36;6;5M\x1b[<4;6;5m"), []);
        // X10: 32 + value bytes; urxvt: decimal with 32 added to the button.
        assert_eq!(
            dec(&[
                0x1b,
                b'[',
                b'M',
                32,
                33 + 4,
                33 + 2,
                0x1b,
                b'[',
                b'M',
                35,
                40,
                40
            ]),
            [
                Input::Mouse(MouseMsg::Click(4, 2)),
                Input::Mouse(MouseMsg::Release(7, 7))
            ]
        );
        assert_eq!(
            dec(b"\x1b[96;3;4M"),
            [Input::Mouse(MouseMsg::WheelUp(2, 3))]
        );
    }
}
