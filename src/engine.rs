//! The terminal engine of one session: a `vt100` 0.18 parser plus what a real
//! terminal does beyond drawing cells. It answers the child's queries (DA1,
//! DA2, cursor position, OSC 10/11 colours, XTVERSION, kitty keyboard flags,
//! DECRQM, window size), keeps the title (OSC 0/2), counts bells, tracks the
//! kitty keyboard flag stack, and holds back half-painted frames while the
//! child is inside a synchronized update (DEC mode 2026).
//!
//! Everything else in corral reads a session's screen through this type, so
//! the vt100 version lives behind one small surface.

use std::num::NonZeroU16;
use std::time::{Duration, Instant};

use crate::detect::ScreenSnapshot;
use crate::keys::{InputModes, MouseMode};

/// Longest time a synchronized update may hold back the display before the
/// live (possibly half-painted) screen is shown anyway.
pub const SYNC_TIMEOUT: Duration = Duration::from_millis(500);

/// Foreground colour reported for OSC 10 queries (`rgb:RRRR/GGGG/BBBB`).
const REPORT_FG: &str = "rgb:d0d0/d0d0/d0d0";
/// Background colour reported for OSC 11 queries.
const REPORT_BG: &str = "rgb:0000/0000/0000";

/// Parser callbacks: query answers and side state.
#[derive(Default)]
struct Hooks {
    replies: Vec<u8>,
    title: String,
    title_changed: bool,
    bells: u64,
    /// Snapshot of the last complete frame, taken when a synchronized update
    /// began; `None` outside one.
    frozen: Option<(vt100::Screen, Instant)>,
    /// Kitty keyboard protocol flag stack (top = current flags).
    kitty: Vec<u8>,
}

/// Kitty keyboard flags corral honours: 1 (disambiguate) changes the key
/// encoding; 4 (report alternate keys) only adds fields corral never has to
/// send. Other flags are refused, as the protocol allows.
const KITTY_SUPPORTED: u8 = 0b101;

fn first(params: &[&[u16]], i: usize) -> Option<u16> {
    params.get(i).and_then(|p| p.first().copied())
}

impl vt100::Callbacks for Hooks {
    fn audible_bell(&mut self, _: &mut vt100::Screen) {
        self.bells += 1;
    }

    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        let t = String::from_utf8_lossy(title).into_owned();
        if t != self.title {
            self.title = t;
            self.title_changed = true;
        }
    }

    fn unhandled_csi(
        &mut self,
        screen: &mut vt100::Screen,
        i1: Option<u8>,
        i2: Option<u8>,
        params: &[&[u16]],
        c: char,
    ) {
        match (i1, i2, c) {
            // DA1: a VT220 with ANSI colour.
            (None, None, 'c') if first(params, 0).unwrap_or(0) == 0 => {
                self.replies.extend_from_slice(b"\x1b[?62;22c");
            }
            // DA2.
            (Some(b'>'), None, 'c') => self.replies.extend_from_slice(b"\x1b[>1;10;0c"),
            // DSR: status and cursor position.
            (None, None, 'n') => match first(params, 0) {
                Some(5) => self.replies.extend_from_slice(b"\x1b[0n"),
                Some(6) => {
                    let (r, c) = screen.cursor_position();
                    self.replies
                        .extend_from_slice(format!("\x1b[{};{}R", r + 1, c + 1).as_bytes());
                }
                _ => {}
            },
            (Some(b'?'), None, 'n') if first(params, 0) == Some(6) => {
                let (r, c) = screen.cursor_position();
                self.replies
                    .extend_from_slice(format!("\x1b[?{};{}R", r + 1, c + 1).as_bytes());
            }
            // XTVERSION.
            (Some(b'>'), None, 'q') => {
                self.replies.extend_from_slice(
                    format!("\x1bP>|corral {}\x1b\\", env!("CARGO_PKG_VERSION")).as_bytes(),
                );
            }
            // Kitty keyboard protocol: query, push, pop, set.
            (Some(b'?'), None, 'u') => {
                let f = self.kitty.last().copied().unwrap_or(0);
                self.replies
                    .extend_from_slice(format!("\x1b[?{f}u").as_bytes());
            }
            (Some(b'>'), None, 'u') => {
                let f = first(params, 0).unwrap_or(0) as u8 & KITTY_SUPPORTED;
                if self.kitty.len() >= 16 {
                    self.kitty.remove(0);
                }
                self.kitty.push(f);
            }
            (Some(b'<'), None, 'u') => {
                let n = first(params, 0).unwrap_or(1).max(1) as usize;
                let keep = self.kitty.len().saturating_sub(n);
                self.kitty.truncate(keep);
            }
            (Some(b'='), None, 'u') => {
                let f = first(params, 0).unwrap_or(0) as u8 & KITTY_SUPPORTED;
                let cur = self.kitty.last().copied().unwrap_or(0);
                let new = match first(params, 1).unwrap_or(1) {
                    2 => cur | f,
                    3 => cur & !f,
                    _ => f,
                };
                match self.kitty.last_mut() {
                    Some(top) => *top = new,
                    None => self.kitty.push(new),
                }
            }
            // DEC private modes corral tracks itself: synchronized output.
            (Some(b'?'), None, 'h')
                if self.frozen.is_none() && params.iter().any(|p| p.first() == Some(&2026)) =>
            {
                self.frozen = Some((screen.clone(), Instant::now()));
            }
            (Some(b'?'), None, 'l') if params.iter().any(|p| p.first() == Some(&2026)) => {
                self.frozen = None;
            }
            // DECRQM for private modes.
            (Some(b'?'), Some(b'$'), 'p') => {
                let mode = first(params, 0).unwrap_or(0);
                let state = match mode {
                    2026 => {
                        if self.frozen.is_some() {
                            1
                        } else {
                            2
                        }
                    }
                    2004 => {
                        if screen.bracketed_paste() {
                            1
                        } else {
                            2
                        }
                    }
                    1049 | 47 | 1047 => {
                        if screen.alternate_screen() {
                            1
                        } else {
                            2
                        }
                    }
                    25 => {
                        if screen.hide_cursor() {
                            2
                        } else {
                            1
                        }
                    }
                    1 => {
                        if screen.application_cursor() {
                            1
                        } else {
                            2
                        }
                    }
                    _ => 0,
                };
                self.replies
                    .extend_from_slice(format!("\x1b[?{mode};{state}$y").as_bytes());
            }
            // Window size reports (cells and an assumed 8x16 cell in pixels).
            (None, None, 't') => {
                let (rows, cols) = screen.size();
                let (rows, cols) = (rows.get(), cols.get());
                match first(params, 0) {
                    Some(18) => self
                        .replies
                        .extend_from_slice(format!("\x1b[8;{rows};{cols}t").as_bytes()),
                    Some(14) => self.replies.extend_from_slice(
                        format!("\x1b[4;{};{}t", u32::from(rows) * 16, u32::from(cols) * 8)
                            .as_bytes(),
                    ),
                    Some(16) => self.replies.extend_from_slice(b"\x1b[6;16;8t"),
                    _ => {}
                }
            }
            _ => {}
        }
    }

    fn unhandled_osc(&mut self, _: &mut vt100::Screen, params: &[&[u8]]) {
        match params {
            [b"10", b"?"] => self
                .replies
                .extend_from_slice(format!("\x1b]10;{REPORT_FG}\x1b\\").as_bytes()),
            [b"11", b"?"] => self
                .replies
                .extend_from_slice(format!("\x1b]11;{REPORT_BG}\x1b\\").as_bytes()),
            _ => {}
        }
    }
}

/// What one [`Engine::process`] call produced besides screen changes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Processed {
    /// Bytes to write back to the child (answers to its queries).
    pub replies: Vec<u8>,
    /// The title changed.
    pub title_changed: bool,
    /// Bells rung (BEL outside OSC strings).
    pub bells: u64,
}

/// One session's terminal: screen, scrollback and terminal state.
pub struct Engine {
    parser: vt100::Parser<Hooks>,
    scrollback_rows: usize,
}

fn nz(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n.max(1)).unwrap_or(NonZeroU16::MIN)
}

impl Engine {
    /// A blank terminal of `rows` x `cols` cells (each at least 1) keeping up to
    /// `scrollback_rows` rows of scrollback.
    pub fn new(rows: u16, cols: u16, scrollback_rows: usize) -> Self {
        Engine {
            parser: vt100::Parser::new_with_callbacks(
                nz(rows),
                nz(cols),
                scrollback_rows,
                Hooks::default(),
            ),
            scrollback_rows,
        }
    }

    /// Feeds child output through the parser. Returns the replies to write
    /// back to the child and whether the title changed or bells rang.
    pub fn process(&mut self, bytes: &[u8]) -> Processed {
        let before = self.parser.callbacks().bells;
        self.parser.process(bytes);
        let cb = self.parser.callbacks_mut();
        Processed {
            replies: std::mem::take(&mut cb.replies),
            title_changed: std::mem::take(&mut cb.title_changed),
            bells: cb.bells - before,
        }
    }

    /// Starts over with a blank terminal of the same size (a new session).
    pub fn reset(&mut self) {
        let (rows, cols) = self.size();
        *self = Engine::new(rows, cols, self.scrollback_rows);
    }

    /// Resizes the terminal to `rows` x `cols` cells.
    pub fn resize(&mut self, rows: u16, cols: u16) {
        self.parser.set_size(nz(rows), nz(cols));
        if let Some((frozen, _)) = self.parser.callbacks_mut().frozen.as_mut() {
            frozen.set_size(nz(rows), nz(cols));
        }
    }

    /// Size as (rows, cols) in cells.
    pub fn size(&self) -> (u16, u16) {
        let (r, c) = self.parser.screen().size();
        (r.get(), c.get())
    }

    /// The screen to show and to detect on: the last complete frame while a
    /// synchronized update is in progress (up to [`SYNC_TIMEOUT`]), else the
    /// live screen.
    pub fn screen(&self) -> &vt100::Screen {
        match &self.parser.callbacks().frozen {
            Some((s, at)) if at.elapsed() < SYNC_TIMEOUT => s,
            _ => self.parser.screen(),
        }
    }

    /// True while the child is inside a synchronized update.
    pub fn in_sync_update(&self) -> bool {
        self.parser
            .callbacks()
            .frozen
            .as_ref()
            .is_some_and(|(_, at)| at.elapsed() < SYNC_TIMEOUT)
    }

    /// The title last set with OSC 0 or OSC 2.
    pub fn title(&self) -> &str {
        &self.parser.callbacks().title
    }

    /// Total bells rung since the session began.
    pub fn bells(&self) -> u64 {
        self.parser.callbacks().bells
    }

    /// The input modes that decide how keys and pastes are encoded.
    pub fn input_modes(&self) -> InputModes {
        let s = self.parser.screen();
        InputModes {
            application_cursor: s.application_cursor(),
            bracketed_paste: s.bracketed_paste(),
            kitty_flags: self.parser.callbacks().kitty.last().copied().unwrap_or(0),
            mouse: match s.mouse_protocol_mode() {
                vt100::MouseProtocolMode::None => MouseMode::None,
                vt100::MouseProtocolMode::Press => MouseMode::Press,
                vt100::MouseProtocolMode::PressRelease => MouseMode::PressRelease,
                vt100::MouseProtocolMode::ButtonMotion => MouseMode::ButtonMotion,
                vt100::MouseProtocolMode::AnyMotion => MouseMode::AnyMotion,
            },
            mouse_sgr: s.mouse_protocol_encoding() == vt100::MouseProtocolEncoding::Sgr,
        }
    }

    /// Rows of scrollback currently stored.
    pub fn scrollback_len(&self) -> usize {
        self.parser.screen().scrollback_len()
    }

    /// How many rows the view is scrolled back (0 = live screen).
    pub fn scroll_offset(&self) -> usize {
        self.parser.screen().scrollback()
    }

    /// Scrolls the view to `rows` back from the live screen (clamped to the
    /// stored scrollback). Returns the offset now in effect.
    pub fn set_scroll_offset(&mut self, rows: usize) -> usize {
        self.parser.screen_mut().set_scrollback(rows);
        self.parser.screen().scrollback()
    }

    /// A text snapshot of the live screen (never the scrolled-back view, and
    /// the last complete frame during a synchronized update) for detection:
    /// every row with trailing blanks removed, plus title, cursor and the
    /// alternate-screen flag.
    pub fn snapshot(&mut self) -> ScreenSnapshot {
        let offset = self.scroll_offset();
        if offset != 0 {
            self.parser.screen_mut().set_scrollback(0);
        }
        let snap = {
            let screen = match &self.parser.callbacks().frozen {
                Some((s, at)) if at.elapsed() < SYNC_TIMEOUT => s,
                _ => self.parser.screen(),
            };
            let (_, cols) = screen.size();
            ScreenSnapshot {
                rows: screen
                    .rows(0, cols.get())
                    .map(|r| r.trim_end().to_string())
                    .collect(),
                cols: cols.get(),
                title: self.parser.callbacks().title.clone(),
                cursor: screen.cursor_position(),
                alternate: screen.alternate_screen(),
                inverse: (0..screen.size().0.get())
                    .map(|r| {
                        let mut any = false;
                        for c in 0..cols.get() {
                            if let Some(cell) = screen.cell(r, c)
                                && cell.has_contents()
                                && !cell.contents().trim().is_empty()
                            {
                                if !cell.inverse() {
                                    return false;
                                }
                                any = true;
                            }
                        }
                        any
                    })
                    .collect(),
            }
        };
        if offset != 0 {
            self.parser.screen_mut().set_scrollback(offset);
        }
        snap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_terminal_queries() {
        let mut e = Engine::new(24, 80, 100);
        e.process(b"abc\x1b[3;5H");
        let p = e.process(b"\x1b[6n\x1b[c\x1b[>c\x1b[>q\x1b]11;?\x07\x1b[?u");
        let r = String::from_utf8_lossy(&p.replies).into_owned();
        assert!(
            r.starts_with("\x1b[3;5R\x1b[?62;22c\x1b[>1;10;0c\x1bP>|corral "),
            "{r:?}"
        );
        assert!(r.contains("\x1b]11;rgb:0000/0000/0000\x1b\\"), "{r:?}");
        assert!(r.ends_with("\x1b[?0u"), "{r:?}");
    }

    #[test]
    fn kitty_flag_stack() {
        let mut e = Engine::new(24, 80, 0);
        e.process(b"\x1b[>5u");
        assert_eq!(e.input_modes().kitty_flags, 5);
        e.process(b"\x1b[>31u");
        assert_eq!(
            e.input_modes().kitty_flags,
            5,
            "unsupported flags are refused"
        );
        let p = e.process(b"\x1b[<u\x1b[?u");
        assert_eq!(p.replies, b"\x1b[?5u");
        e.process(b"\x1b[<u");
        assert_eq!(e.input_modes().kitty_flags, 0);
    }

    #[test]
    fn title_and_bell() {
        let mut e = Engine::new(24, 80, 0);
        let p = e.process(b"\x1b]0;\xe2\x9c\xb3 Claude Code\x07\x07");
        assert!(p.title_changed);
        assert_eq!(p.bells, 1);
        assert_eq!(e.title(), "✳ Claude Code");
    }

    #[test]
    fn synchronized_update_holds_back_the_frame() {
        let mut e = Engine::new(4, 20, 0);
        e.process(b"old frame");
        e.process(b"\x1b[?2026h\x1b[2J\x1b[Hnew");
        assert!(e.in_sync_update());
        assert_eq!(e.snapshot().rows[0], "old frame");
        e.process(b" frame\x1b[?2026l");
        assert_eq!(e.snapshot().rows[0], "new frame");
    }

    #[test]
    fn tiny_screens_and_hpa_rep_work() {
        let mut e = Engine::new(1, 1, 0);
        e.process(b"hello\r\nworld");
        e.resize(0, 0);
        let mut e = Engine::new(2, 10, 0);
        e.process(b"x\x1b[5`y\x1b[2b");
        assert_eq!(e.snapshot().rows[0], "x   yyy");
    }

    #[test]
    fn snapshot_ignores_scroll_position() {
        let mut e = Engine::new(2, 10, 10);
        e.process(b"1\r\n2\r\n3\r\n4");
        assert_eq!(e.set_scroll_offset(2), 2);
        let s = e.snapshot();
        assert_eq!(s.rows, vec!["3", "4"]);
        assert_eq!(e.scroll_offset(), 2);
    }
}
