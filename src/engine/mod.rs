//! The terminal engine of one session: corral's own VT parser and screen.
//! Beyond drawing cells it answers the child's queries (DA1, DA2, cursor
//! position, OSC 10/11 colours, XTVERSION, kitty keyboard flags, DECRQM,
//! window size), keeps the title (OSC 0/2), counts bells, tracks the kitty
//! keyboard flag stack, and holds back half-painted frames while the child is
//! inside a synchronized update (DEC mode 2026).
//!
//! Owned rather than borrowed from `vt100` for speed and memory: runs of
//! printable ASCII are written to a row in one step, and scrollback rows are
//! packed as text plus attribute runs (see [`grid::CompactRow`]).

pub mod grid;
pub mod history;
pub mod parser;
mod replay;
pub mod scrollback;
pub mod term;

use std::time::Duration;

pub use grid::{Attrs, Cell, Color, CompactRow, Row};
pub use history::History;
pub use term::Screen;

use crate::keys::InputModes;
use crate::model::ScreenSnapshot;

/// Longest time a synchronized update may hold back the display before the
/// live (possibly half-painted) screen is shown anyway.
pub const SYNC_TIMEOUT: Duration = Duration::from_millis(500);

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
    parser: parser::Parser,
    term: term::Term,
    /// The scrolled-back view (scrollback rows above the live rows), built
    /// while the scroll offset is above 0.
    view: Option<Screen>,
}

impl Engine {
    /// A blank terminal of `rows` x `cols` cells (each at least 1) keeping up to
    /// `scrollback_rows` rows of scrollback.
    pub fn new(rows: u16, cols: u16, scrollback_rows: usize) -> Self {
        Engine {
            parser: parser::Parser::default(),
            term: term::Term::new(rows, cols, scrollback_rows),
            view: None,
        }
    }

    /// Feeds child output through the parser. Returns the replies to write
    /// back to the child and whether the title changed or bells rang.
    pub fn process(&mut self, bytes: &[u8]) -> Processed {
        let before = self.term.bells;
        self.parser.advance(bytes, &mut self.term);
        if self.term.scroll_offset > 0 {
            self.rebuild_view();
        }
        Processed {
            replies: std::mem::take(&mut self.term.replies),
            title_changed: std::mem::take(&mut self.term.title_changed),
            bells: self.term.bells - before,
        }
    }

    /// Starts over with a blank terminal of the same size (a new session).
    pub fn reset(&mut self) {
        let (rows, cols) = self.size();
        *self = Engine::new(rows, cols, self.term.scrollback.max());
    }

    /// Resizes the terminal to `rows` x `cols` cells (each at least 1).
    pub fn resize(&mut self, rows: u16, cols: u16) {
        self.term.resize(rows, cols);
        self.view = None;
    }

    /// Size as (rows, cols) in cells.
    pub fn size(&self) -> (u16, u16) {
        self.term.live.size()
    }

    fn frozen(&self) -> Option<&Screen> {
        match self.term.frozen_at {
            Some(at) if at.elapsed() < SYNC_TIMEOUT => Some(&self.term.frozen),
            _ => None,
        }
    }

    /// The screen to show: the scrolled-back view when the offset is above 0,
    /// else the last complete frame while a synchronized update is in
    /// progress (up to [`SYNC_TIMEOUT`]), else the live screen.
    pub fn screen(&self) -> &Screen {
        if let Some(v) = &self.view {
            return v;
        }
        self.frozen().unwrap_or(&self.term.live)
    }

    /// The live screen as the child has drawn it so far, ignoring any
    /// synchronized update and the scroll offset.
    pub fn live_screen(&self) -> &Screen {
        &self.term.live
    }

    /// True while the child is inside a synchronized update.
    pub fn in_sync_update(&self) -> bool {
        self.frozen().is_some()
    }

    /// The title last set with OSC 0 or OSC 2.
    pub fn title(&self) -> &str {
        &self.term.title
    }

    /// Total bells rung since the session began.
    pub fn bells(&self) -> u64 {
        self.term.bells
    }

    /// True while the alternate screen is shown.
    pub fn alternate_screen(&self) -> bool {
        self.term.alt_active
    }

    /// The input modes that decide how keys and pastes are encoded.
    pub fn input_modes(&self) -> InputModes {
        let t = &self.term;
        InputModes {
            application_cursor: t.application_cursor,
            bracketed_paste: t.bracketed_paste,
            kitty_flags: t.kitty.last().copied().unwrap_or(0),
            mouse: t.mouse,
            mouse_sgr: t.mouse_sgr,
        }
    }

    /// Bytes that rebuild this terminal in a fresh [`Engine`] of the same
    /// size and scrollback limit: scrollback, screens, cursor, pen and modes
    /// (see `Term::replay` for what is and is not rebuilt). A client that
    /// attaches to a running session feeds them to its own engine, then the
    /// session's output from that moment on.
    pub fn replay(&self) -> Vec<u8> {
        self.term.replay()
    }

    /// [`Engine::replay`] without the scrollback: rebuilds the screens,
    /// cursor, pen and modes in an engine that keeps no history (a client's
    /// copy of a pane no one scrolls).
    pub fn replay_live(&self) -> Vec<u8> {
        self.term.replay_with(false)
    }

    /// Keeps at most `rows` rows of scrollback from now on, dropping the
    /// oldest beyond it at once (0: none, and its memory is freed). The view
    /// stays within what is kept.
    pub fn set_scrollback_limit(&mut self, rows: usize) {
        self.term.scrollback.set_max(rows);
        let offset = self.term.scroll_offset;
        self.set_scroll_offset(offset);
    }

    /// The most rows of scrollback kept.
    pub fn scrollback_limit(&self) -> usize {
        self.term.scrollback.max()
    }

    /// Whether the stream fed so far ends between sequences and characters:
    /// a [`Engine::replay`] taken now, followed by the rest of the stream,
    /// rebuilds this engine. (Inside a sequence the rest would start with
    /// its tail.)
    pub fn at_rest(&self) -> bool {
        self.parser.at_rest()
    }

    /// The last `scrollback` rows of scrollback (fewer when fewer are kept),
    /// then every row of the live screen (ignoring the scroll offset and any
    /// synchronized update), each as text with trailing blanks removed; with
    /// `ansi`, with SGR sequences for colours and attributes, each row
    /// ending with a reset.
    pub fn lines(&self, scrollback: usize, ansi: bool) -> Vec<String> {
        let sb = &self.term.scrollback;
        let cols = self.term.live.cols;
        let first = sb.len().saturating_sub(scrollback);
        let mut out = Vec::with_capacity(sb.len() - first + self.term.live.rows.len());
        for i in first..sb.len() {
            if let Some(r) = sb.get(i) {
                out.push(if ansi {
                    replay::row_sgr(&r.expand(cols))
                } else {
                    r.text().to_string()
                });
            }
        }
        for r in &self.term.live.rows {
            out.push(if ansi { replay::row_sgr(r) } else { r.text() });
        }
        out
    }

    /// Bytes the engine's screens and scrollback hold, roughly (cells of
    /// both screens and of a frozen frame, scrollback blocks).
    pub fn heap_bytes(&self) -> usize {
        let rows = |rs: &[Row]| {
            rs.iter()
                .map(|r| std::mem::size_of_val(r.cells()))
                .sum::<usize>()
        };
        rows(&self.term.live.rows)
            + rows(&self.term.other)
            + rows(&self.term.frozen.rows)
            + self.term.scrollback.heap_bytes()
    }

    /// A frozen copy of every line for copy mode: the scrollback and the
    /// screen as shown (the last complete frame during a synchronized
    /// update); on the alternate screen, only that screen.
    pub fn history(&self) -> History {
        let screen = self.frozen().unwrap_or(&self.term.live);
        let scrollback = if self.term.alt_active {
            scrollback::Scrollback::new(0)
        } else {
            self.term.scrollback.clone()
        };
        History::new(scrollback, screen.rows.clone(), screen.cols)
    }

    /// Rows of scrollback currently stored.
    pub fn scrollback_len(&self) -> usize {
        self.term.scrollback.len()
    }

    /// The scrollback rows, oldest first.
    pub fn scrollback(&self) -> impl Iterator<Item = CompactRow<'_>> {
        self.term.scrollback.iter()
    }

    /// How many rows the view is scrolled back (0 = live screen).
    pub fn scroll_offset(&self) -> usize {
        self.term.scroll_offset
    }

    /// Scrolls the view to `rows` back from the live screen (clamped to the
    /// stored scrollback; always 0 on the alternate screen). Returns the
    /// offset now in effect.
    pub fn set_scroll_offset(&mut self, rows: usize) -> usize {
        let max = if self.term.alt_active {
            0
        } else {
            self.term.scrollback.len()
        };
        self.term.scroll_offset = rows.min(max);
        self.rebuild_view();
        self.term.scroll_offset
    }

    /// Scrolls the view by `delta` rows (positive = back in time;
    /// `i32::MIN` = to the live screen). Returns the offset now in effect.
    pub fn scroll_by(&mut self, delta: i32) -> usize {
        let cur = self.scroll_offset();
        let new = if delta == i32::MIN {
            0
        } else if delta >= 0 {
            cur.saturating_add(delta as usize)
        } else {
            cur.saturating_sub(delta.unsigned_abs() as usize)
        };
        self.set_scroll_offset(new)
    }

    fn rebuild_view(&mut self) {
        let t = &self.term;
        if t.scroll_offset == 0 || t.alt_active {
            self.view = None;
            return;
        }
        let (rows, cols) = t.live.size();
        let sb = t.scrollback.len();
        let start = sb - t.scroll_offset.min(sb);
        let mut v = self.view.take().unwrap_or_else(|| Screen::new(1, 1));
        v.rows.clear();
        for i in 0..usize::from(rows) {
            let idx = start + i;
            v.rows.push(if let Some(r) = t.scrollback.get(idx) {
                r.expand(cols)
            } else {
                t.live.rows[idx - sb].clone()
            });
        }
        v.cols = cols;
        v.cursor = (0, 0);
        v.hide_cursor = true;
        self.view = Some(v);
    }

    /// A text snapshot of the live screen (never the scrolled-back view, and
    /// the last complete frame during a synchronized update) for detection:
    /// every row with trailing blanks removed, plus title, cursor and the
    /// alternate-screen flag.
    pub fn snapshot(&self) -> ScreenSnapshot {
        let screen = self.frozen().unwrap_or(&self.term.live);
        let (_, cols) = screen.size();
        ScreenSnapshot {
            rows: screen
                .rows()
                .iter()
                .map(|r| {
                    let mut t = r.text();
                    let keep = t.trim_end().len();
                    t.truncate(keep);
                    t
                })
                .collect(),
            cols,
            title: self.term.title.clone(),
            cursor: screen.cursor_position(),
            alternate: self.term.alt_active,
            inverse: screen
                .rows()
                .iter()
                .map(|r| {
                    let mut any = false;
                    for c in r.cells() {
                        let blank = match c.as_char() {
                            Some(ch) => ch.is_whitespace(),
                            None => !c.has_contents(),
                        };
                        if !blank {
                            if !c.has(grid::INVERSE) {
                                return false;
                            }
                            any = true;
                        }
                    }
                    any
                })
                .collect(),
            wrapped: screen.rows().iter().map(|r| r.wrapped()).collect(),
            continued: !self.term.alt_active
                && self
                    .term
                    .scrollback
                    .get(self.term.scrollback.len().wrapping_sub(1))
                    .is_some_and(|r| r.wrapped()),
            inverse_end: screen
                .rows()
                .iter()
                .map(|r| {
                    let n = r
                        .cells()
                        .iter()
                        .take_while(|c| c.has(grid::INVERSE))
                        .count();
                    u16::try_from(n).unwrap_or(u16::MAX)
                })
                .collect(),
        }
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

    fn rows(e: &Engine) -> Vec<String> {
        e.snapshot().rows
    }

    #[test]
    fn index_next_line_and_ansi_save_restore() {
        let mut e = Engine::new(3, 10, 0);
        e.process(b"ab\x1bDc\x1bEd\x1b[s\x1b[3;5Hx\x1b[uy");
        assert_eq!(rows(&e), vec!["ab", "  c", "dy  x"]);
    }

    #[test]
    fn dec_special_graphics_draws_lines() {
        let mut e = Engine::new(2, 10, 0);
        e.process(b"\x1b(0lqqk\x1b(B ok\r\n\x0e\x1b)0x\x0fx");
        assert_eq!(rows(&e), vec!["┌──┐ ok", "│x"]);
    }

    #[test]
    fn scrollback_is_compact_and_the_view_stays_put() {
        let mut e = Engine::new(2, 20, 100);
        for i in 0..10 {
            e.process(format!("\x1b[1;3{}mline {i}\x1b[0m\r\n", i % 8).as_bytes());
        }
        assert_eq!(e.scrollback_len(), 9);
        let texts: Vec<&str> = e.scrollback().map(|r| r.text()).collect();
        assert_eq!(texts[0], "line 0");
        assert_eq!(e.set_scroll_offset(3), 3);
        assert_eq!(e.screen().row_text(0), "line 6");
        let red = e.screen().cell(0, 0).map(|c| c.fgcolor());
        assert_eq!(red, Some(Color::Idx(6)));
        // New output does not move what the user is reading.
        e.process(b"more\r\n");
        assert_eq!(e.scroll_offset(), 4);
        assert_eq!(e.screen().row_text(0), "line 6");
        assert_eq!(e.snapshot().rows, vec!["more", ""]);
        assert_eq!(e.set_scroll_offset(0), 0);
        assert_eq!(e.screen().row_text(0), "more");
    }

    #[test]
    fn a_full_scrollback_keeps_the_view_on_its_rows() {
        let mut e = Engine::new(5, 20, 50);
        for i in 0..200 {
            e.process(format!("line {i}\r\n").as_bytes());
        }
        assert_eq!(e.scrollback_len(), 50);
        assert_eq!(e.set_scroll_offset(20), 20);
        let before: Vec<String> = (0..5).map(|r| e.screen().row_text(r)).collect();
        for i in 200..220 {
            e.process(format!("line {i}\r\n").as_bytes());
        }
        // 20 rows later the view is 40 rows from the live screen, on the
        // same text.
        assert_eq!(e.scroll_offset(), 40);
        let after: Vec<String> = (0..5).map(|r| e.screen().row_text(r)).collect();
        assert_eq!(before, after);
        // Once its rows are dropped, it stays at the oldest row kept.
        for i in 220..300 {
            e.process(format!("line {i}\r\n").as_bytes());
        }
        assert_eq!(e.scroll_offset(), 50);
        assert_eq!(e.screen().row_text(0), "line 246");
    }

    #[test]
    fn scrollback_is_bounded() {
        let mut e = Engine::new(3, 10, 5);
        for i in 0..100 {
            e.process(format!("{i}\r\n").as_bytes());
        }
        assert_eq!(e.scrollback_len(), 5);
        assert_eq!(e.scrollback().next().map(|r| r.text()), Some("93"));
    }

    /// The alternate screen is made when a program first switches to it
    /// (issue 22: lazy allocation for idle slots), at the size it is then.
    #[test]
    fn the_alternate_screen_is_made_on_first_use() {
        let mut e = Engine::new(24, 80, 0);
        let one = 24 * 80 * 16;
        assert!(e.heap_bytes() < 2 * one, "{}", e.heap_bytes());
        e.process(b"primary");
        e.resize(30, 100);
        e.process(b"\x1b[?1049h\x1b[HALT\x1b[5;5Hx");
        assert_eq!(e.screen().size(), (30, 100));
        assert!(e.lines(0, false)[0].starts_with("ALT"));
        e.resize(20, 60);
        e.process(b"\x1b[?1049l");
        assert_eq!(e.screen().size(), (20, 60));
        assert!(e.lines(0, false).iter().any(|l| l.contains("primary")));
        e.process(b"\x1b[?47h");
        assert_eq!(e.lines(0, false).len(), 20);
        e.process(b"\x1b[?47l");
        assert!(e.lines(0, false).iter().any(|l| l.contains("primary")));
    }

    /// A copy with no history (a client's, [`Engine::replay_live`]) shows
    /// what the full one shows, and letting go of history frees it.
    #[test]
    fn a_live_replay_rebuilds_the_screen_without_history() {
        let mut e = Engine::new(5, 20, 100);
        for i in 0..40 {
            e.process(format!("\x1b[3{}mrow-{i}\x1b[0m\r\n", i % 8).as_bytes());
        }
        e.process(b"tail \x1b[1mbold");
        let mut live = Engine::new(5, 20, 0);
        live.process(&e.replay_live());
        let mut full = Engine::new(5, 20, 100);
        full.process(&e.replay());
        assert_eq!(live.lines(0, true), full.lines(0, true));
        assert_eq!(
            live.screen().cursor_position(),
            e.screen().cursor_position()
        );
        assert_eq!(live.scrollback_len(), 0);
        assert_eq!(full.scrollback_len(), e.scrollback_len());
        // Both go on alike.
        for x in [&mut live, &mut full] {
            x.process(b"\r\nmore\r\nand more");
        }
        assert_eq!(live.lines(0, true), full.lines(0, true));
        full.set_scroll_offset(10);
        full.set_scrollback_limit(3);
        assert_eq!(full.scrollback_len(), 3);
        assert_eq!(full.scroll_offset(), 3);
        full.set_scrollback_limit(0);
        assert_eq!((full.scrollback_len(), full.scroll_offset()), (0, 0));
        assert_eq!(full.heap_bytes(), live.heap_bytes());
        full.process(b"\r\n\r\n\r\n\r\n\r\n\r\n");
        assert_eq!(full.scrollback_len(), 0);
    }

    #[test]
    fn resize_keeps_the_cursor_row_and_pulls_scrollback_back() {
        let mut e = Engine::new(4, 10, 100);
        e.process(b"a\r\nb\r\nc\r\nd");
        e.resize(2, 10);
        assert_eq!(rows(&e), vec!["c", "d"]);
        assert_eq!(e.screen().cursor_position(), (1, 1));
        e.resize(4, 10);
        assert_eq!(rows(&e), vec!["a", "b", "c", "d"]);
        assert_eq!(e.screen().cursor_position(), (3, 1));
    }

    #[test]
    fn alternate_screen_keeps_the_primary_and_no_scrollback() {
        let mut e = Engine::new(2, 10, 100);
        e.process(b"shell\x1b[?1049h\x1b[Hvim\r\n\r\n\r\nx");
        assert!(e.alternate_screen());
        assert_eq!(e.scrollback_len(), 0);
        e.process(b"\x1b[?1049l");
        assert_eq!(rows(&e), vec!["shell", ""]);
        assert_eq!(e.screen().cursor_position(), (0, 5));
    }

    #[test]
    fn wide_characters_wrap_whole() {
        let mut e = Engine::new(2, 5, 0);
        e.process("abcd漢".as_bytes());
        assert_eq!(rows(&e), vec!["abcd", "漢"]);
        e.process(b"\x1b[2;2Hx");
        assert_eq!(rows(&e), vec!["abcd", " x"]);
    }
}
