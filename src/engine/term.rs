//! The terminal state that the parser drives: live screen, alternate screen,
//! scrollback, cursor, pen, modes, and the answers to the child's queries.
//!
//! Behaviour follows xterm where programs depend on it: pending wrap at the
//! last column, erase with the pen's background, scroll regions (DECSTBM) and
//! origin mode, alternate screen 47/1047/1049, DEC special graphics, REP.

use std::time::Instant;

use super::grid::{self, Attrs, Color, Row};
use super::parser::{Params, Perform};
use super::scrollback::Scrollback;
use crate::keys::MouseMode;

/// Foreground colour reported for OSC 10 queries (`rgb:RRRR/GGGG/BBBB`).
const REPORT_FG: &str = "rgb:d0d0/d0d0/d0d0";
/// Background colour reported for OSC 11 queries.
const REPORT_BG: &str = "rgb:0000/0000/0000";
/// Kitty keyboard flags corral honours: 1 (disambiguate) changes the key
/// encoding; 4 (report alternate keys) only adds fields corral never has to
/// send. Other flags are refused, as the protocol allows.
const KITTY_SUPPORTED: u8 = 0b101;
/// Depth of the kitty keyboard flag stack; pushing more drops the oldest.
const KITTY_STACK: usize = 16;

/// A screen as it is shown: rows x cols cells, the cursor and its visibility.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screen {
    pub(crate) rows: Vec<Row>,
    pub(crate) cols: u16,
    /// (row, col), 0-based; col is at most cols - 1.
    pub(crate) cursor: (u16, u16),
    pub(crate) hide_cursor: bool,
}

impl Screen {
    pub(crate) fn new(rows: u16, cols: u16) -> Screen {
        Screen {
            rows: (0..rows)
                .map(|_| Row::new(cols, Attrs::default()))
                .collect(),
            cols,
            cursor: (0, 0),
            hide_cursor: false,
        }
    }

    /// Size as (rows, cols) in cells.
    pub fn size(&self) -> (u16, u16) {
        (self.rows.len() as u16, self.cols)
    }

    /// The cell at (`row`, `col`), 0-based; `None` outside the screen.
    #[inline]
    pub fn cell(&self, row: u16, col: u16) -> Option<&grid::Cell> {
        self.rows
            .get(usize::from(row))
            .and_then(|r| r.cells.get(usize::from(col)))
    }

    /// The rows, top to bottom.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// Cursor as (row, col), 0-based.
    pub fn cursor_position(&self) -> (u16, u16) {
        self.cursor
    }

    /// True if the child hid the cursor (DECTCEM reset).
    pub fn hide_cursor(&self) -> bool {
        self.hide_cursor
    }

    /// The text of row `row` with trailing blanks removed ("" outside).
    pub fn row_text(&self, row: u16) -> String {
        self.rows
            .get(usize::from(row))
            .map(Row::text)
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Saved {
    pub(crate) cursor: (u16, u16),
    pub(crate) pen: Attrs,
    wrap_pending: bool,
    origin: bool,
    g: [bool; 2],
    gl: usize,
}

/// Everything a terminal remembers between bytes.
pub struct Term {
    pub(crate) live: Screen,
    /// The screen not shown: the primary one while the alternate is active.
    pub(crate) other: Vec<Row>,
    pub(crate) alt_active: bool,
    pub(crate) scrollback: Scrollback,
    /// Rows the view is scrolled back; kept anchored while output arrives.
    pub(crate) scroll_offset: usize,
    pub(crate) wrap_pending: bool,
    pub(crate) pen: Attrs,
    pub(crate) saved: [Saved; 2],
    pub(crate) top: u16,
    pub(crate) bottom: u16,
    pub(crate) origin: bool,
    pub(crate) autowrap: bool,
    pub(crate) insert: bool,
    /// G0 and G1: true when designated DEC special graphics.
    pub(crate) g: [bool; 2],
    /// Which of G0/G1 is shifted in (SI/SO).
    pub(crate) gl: usize,
    last_char: Option<char>,
    pub(crate) application_cursor: bool,
    pub(crate) bracketed_paste: bool,
    pub(crate) mouse: MouseMode,
    pub(crate) mouse_sgr: bool,
    pub(crate) kitty: Vec<u8>,
    pub(crate) title: String,
    pub(crate) title_changed: bool,
    pub(crate) bells: u64,
    pub(crate) replies: Vec<u8>,
    /// The last complete frame, kept while a synchronized update (DEC 2026)
    /// is under way.
    pub(crate) frozen: Screen,
    pub(crate) frozen_at: Option<Instant>,
}

impl Term {
    /// A blank terminal of `rows` x `cols` (each at least 1).
    pub fn new(rows: u16, cols: u16, scrollback_max: usize) -> Term {
        let (rows, cols) = (rows.max(1), cols.max(1));
        Term {
            live: Screen::new(rows, cols),
            // Made on the first switch: most shells never use it.
            other: Vec::new(),
            alt_active: false,
            scrollback: Scrollback::new(scrollback_max),
            scroll_offset: 0,
            wrap_pending: false,
            pen: Attrs::default(),
            saved: [Saved::default(); 2],
            top: 0,
            bottom: rows - 1,
            origin: false,
            autowrap: true,
            insert: false,
            g: [false; 2],
            gl: 0,
            last_char: None,
            application_cursor: false,
            bracketed_paste: false,
            mouse: MouseMode::None,
            mouse_sgr: false,
            kitty: Vec::new(),
            title: String::new(),
            title_changed: false,
            bells: 0,
            replies: Vec::new(),
            frozen: Screen::new(1, 1),
            frozen_at: None,
        }
    }

    fn rows(&self) -> u16 {
        self.live.rows.len() as u16
    }

    fn cols(&self) -> u16 {
        self.live.cols
    }

    /// Resizes both screens to `rows` x `cols` (each at least 1). Shrinking
    /// pushes the rows above the cursor into scrollback; growing pulls them
    /// back, as xterm does. Resets the scroll region and the view offset.
    pub fn resize(&mut self, rows: u16, cols: u16) {
        let (rows, cols) = (rows.max(1), cols.max(1));
        if (rows, cols) == (self.rows(), self.cols()) {
            return;
        }
        for r in self.live.rows.iter_mut().chain(self.other.iter_mut()) {
            r.resize(cols);
        }
        self.live.cols = cols;
        let old = self.rows();
        if rows < old {
            let below = old - 1 - self.live.cursor.0;
            let push = (old - rows).saturating_sub(below);
            for _ in 0..push {
                let r = self.live.rows.remove(0);
                if !self.alt_active {
                    self.scrollback.push(&r);
                    self.anchor_view();
                }
            }
            self.live.rows.truncate(usize::from(rows));
            self.live.cursor.0 -= push;
            self.other.truncate(usize::from(rows));
        } else if rows > old {
            let mut add = rows - old;
            if !self.alt_active {
                while add > 0 {
                    let Some(r) = self.scrollback.pop_back(cols) else {
                        break;
                    };
                    self.live.rows.insert(0, r);
                    self.live.cursor.0 += 1;
                    add -= 1;
                }
            }
            for _ in 0..add {
                self.live.rows.push(Row::new(cols, Attrs::default()));
            }
            // (Not made before it is first used.)
            while !self.other.is_empty() && self.other.len() < usize::from(rows) {
                self.other.push(Row::new(cols, Attrs::default()));
            }
        }
        self.top = 0;
        self.bottom = rows - 1;
        self.scroll_offset = 0;
        self.wrap_pending = false;
        self.live.cursor.0 = self.live.cursor.0.min(rows - 1);
        self.live.cursor.1 = self.live.cursor.1.min(cols - 1);
        for s in &mut self.saved {
            s.cursor = (s.cursor.0.min(rows - 1), s.cursor.1.min(cols - 1));
        }
        self.frozen_at = None;
    }

    /// After a row went to scrollback: keeps the scrolled-back view on the
    /// same rows (the offset counts rows from the live screen, so it grows
    /// by one). A full scrollback dropped its oldest row to make room; a
    /// view already on that row can only move with it.
    fn anchor_view(&mut self) {
        if self.scroll_offset > 0 {
            self.scroll_offset = (self.scroll_offset + 1).min(self.scrollback.len());
        }
    }

    /// Scrolls rows `top..=bottom` up by `n`; rows leaving the top of the
    /// full primary screen go to scrollback.
    fn scroll_up(&mut self, n: u16) {
        let keep = self.top == 0 && !self.alt_active && self.scrollback.max() > 0;
        self.scroll_up_region(n, keep);
    }

    fn scroll_up_region(&mut self, n: u16, to_scrollback: bool) {
        let (top, bottom) = (usize::from(self.top), usize::from(self.bottom));
        let n = usize::from(n).min(bottom + 1 - top);
        let bg = self.erase_attrs();
        for _ in 0..n {
            if to_scrollback {
                self.scrollback.push(&self.live.rows[top]);
                self.anchor_view();
            }
            self.live.rows[top..=bottom].rotate_left(1);
            self.live.rows[bottom].clear(bg);
        }
    }

    /// Scrolls rows `top..=bottom` down by `n`, blank rows entering at the top.
    fn scroll_down(&mut self, n: u16) {
        let (top, bottom) = (usize::from(self.top), usize::from(self.bottom));
        let n = usize::from(n).min(bottom + 1 - top);
        let bg = self.erase_attrs();
        for _ in 0..n {
            self.live.rows[top..=bottom].rotate_right(1);
            self.live.rows[top].clear(bg);
        }
    }

    fn erase_attrs(&self) -> Attrs {
        Attrs {
            bg: self.pen.bg,
            ..Attrs::default()
        }
    }

    /// LF, VT, FF and IND. A pending wrap survives it, as in tmux and vt100:
    /// a full line followed by a bare LF continues on the row after next.
    fn linefeed(&mut self) {
        let row = self.live.cursor.0;
        if row == self.bottom {
            self.scroll_up(1);
        } else if row + 1 < self.rows() {
            self.live.cursor.0 = row + 1;
        }
    }

    fn reverse_index(&mut self) {
        let row = self.live.cursor.0;
        if row == self.top {
            self.scroll_down(1);
        } else if row > 0 {
            self.live.cursor.0 = row - 1;
        }
    }

    fn wrap_to_next_line(&mut self) {
        let r = usize::from(self.live.cursor.0);
        self.live.rows[r].wrapped = true;
        self.linefeed();
        self.live.cursor.1 = 0;
    }

    fn graphics(&self) -> bool {
        self.g[self.gl]
    }

    fn print_char(&mut self, c: char) {
        let Some(w) = grid::char_width(c) else {
            return;
        };
        let cols = usize::from(self.cols());
        if w == 0 {
            let (r, c0) = self.live.cursor;
            let col = if self.wrap_pending {
                usize::from(c0)
            } else if c0 > 0 {
                usize::from(c0) - 1
            } else {
                return;
            };
            self.live.rows[usize::from(r)].combine(col, c);
            return;
        }
        if self.wrap_pending && self.autowrap {
            self.wrap_to_next_line();
        }
        self.wrap_pending = false;
        let mut col = usize::from(self.live.cursor.1);
        if w == 2 && col + 2 > cols {
            if cols < 2 || !self.autowrap {
                return;
            }
            // The last column keeps what it had, as in xterm.
            self.wrap_to_next_line();
            col = 0;
        }
        let r = usize::from(self.live.cursor.0);
        if self.insert {
            let a = self.erase_attrs();
            self.live.rows[r].insert(col, w, a);
        }
        self.live.rows[r].write_char(col, c, w, self.pen);
        self.last_char = Some(c);
        col += w;
        if col >= cols {
            self.live.cursor.1 = (cols - 1) as u16;
            self.wrap_pending = self.autowrap;
        } else {
            self.live.cursor.1 = col as u16;
        }
    }

    fn move_to(&mut self, row: u16, col: u16) {
        self.wrap_pending = false;
        self.live.cursor = (row.min(self.rows() - 1), col.min(self.cols() - 1));
    }

    /// CUP and VPA honour origin mode: rows count from the region's top and
    /// stay inside it.
    fn move_to_origin(&mut self, row: u16, col: u16) {
        if self.origin {
            let r = self.top.saturating_add(row).min(self.bottom);
            self.move_to(r, col);
        } else {
            self.move_to(row, col);
        }
    }

    /// CUU. Vertical moves keep a pending wrap, as in tmux and vt100 (the
    /// cursor is logically one past the last column).
    fn cursor_up(&mut self, n: u16) {
        let r = self.live.cursor.0;
        let floor = if r >= self.top { self.top } else { 0 };
        self.live.cursor.0 = r.saturating_sub(n).max(floor);
    }

    /// CUD; see [`Term::cursor_up`].
    fn cursor_down(&mut self, n: u16) {
        let r = self.live.cursor.0;
        let ceil = if r <= self.bottom {
            self.bottom
        } else {
            self.rows() - 1
        };
        self.live.cursor.0 = r.saturating_add(n).min(ceil);
    }

    /// CUB and BS: with a pending wrap the cursor counts from one past the
    /// last column, as in tmux and vt100.
    fn cursor_left(&mut self, n: u16) {
        let c = self.live.cursor.1 + u16::from(self.wrap_pending);
        self.wrap_pending = false;
        self.live.cursor.1 = c.saturating_sub(n).min(self.cols() - 1);
    }

    /// ED; the cursor's own row is erased as EL does it.
    fn erase_display(&mut self, mode: u16) {
        let a = self.erase_attrs();
        let r = usize::from(self.live.cursor.0);
        match mode {
            0 => {
                self.erase_line(0);
                for row in &mut self.live.rows[r + 1..] {
                    row.clear(a);
                }
            }
            1 => {
                for row in &mut self.live.rows[..r] {
                    row.clear(a);
                }
                self.erase_line(1);
            }
            2 => {
                for row in &mut self.live.rows {
                    row.clear(a);
                }
            }
            // The alternate screen has no scrollback of its own, and as in
            // tmux its ED 3 leaves the primary screen's alone.
            3 if !self.alt_active => {
                self.scrollback.clear();
                self.scroll_offset = 0;
            }
            _ => {}
        }
    }

    fn erase_line(&mut self, mode: u16) {
        let a = self.erase_attrs();
        let (r, c) = self.live.cursor;
        // With a pending wrap the cursor is past the last column.
        let (r, c) = (
            usize::from(r),
            usize::from(c) + usize::from(self.wrap_pending),
        );
        let cols = usize::from(self.cols());
        let row = &mut self.live.rows[r];
        match mode {
            0 => {
                row.erase(c, cols, a);
                row.wrapped = false;
            }
            1 => row.erase(0, c + 1, a),
            2 => row.clear(a),
            _ => {}
        }
    }

    /// IL / DL: only inside the scroll region; the cursor goes to column 0.
    fn insert_lines(&mut self, n: u16, insert: bool) {
        let r = self.live.cursor.0;
        if r < self.top || r > self.bottom {
            return;
        }
        let saved_top = self.top;
        self.top = r;
        if insert {
            self.scroll_down(n);
        } else {
            // Deleted lines never go to scrollback.
            self.scroll_up_region(n, false);
        }
        self.top = saved_top;
        self.move_to(r, 0);
    }

    fn save_cursor(&mut self) {
        self.saved[usize::from(self.alt_active)] = Saved {
            cursor: self.live.cursor,
            pen: self.pen,
            wrap_pending: self.wrap_pending,
            origin: self.origin,
            g: self.g,
            gl: self.gl,
        };
    }

    fn restore_cursor(&mut self) {
        let s = self.saved[usize::from(self.alt_active)];
        self.move_to(s.cursor.0, s.cursor.1);
        self.pen = s.pen;
        self.wrap_pending = s.wrap_pending;
        self.origin = s.origin;
        self.g = s.g;
        self.gl = s.gl;
    }

    fn set_alternate(&mut self, on: bool, mode: u16) {
        if !on && !self.alt_active && mode == 1049 {
            // xterm restores the cursor even when the alternate screen was
            // never entered.
            self.restore_cursor();
            return;
        }
        if on == self.alt_active {
            if on && mode != 47 {
                // Entering again still hands the program a clean screen.
                let a = self.erase_attrs();
                for row in &mut self.live.rows {
                    row.clear(a);
                }
            }
            return;
        }
        if on && mode == 1049 {
            self.save_cursor();
        }
        // The other screen, blank, the first time it is used.
        let (rows, cols) = (usize::from(self.rows()), self.cols());
        if self.other.len() != rows {
            self.other
                .resize_with(rows, || Row::new(cols, Attrs::default()));
        }
        std::mem::swap(&mut self.live.rows, &mut self.other);
        self.alt_active = on;
        if on {
            self.scroll_offset = 0;
            if mode != 47 {
                let a = self.erase_attrs();
                for row in &mut self.live.rows {
                    row.clear(a);
                }
            }
        } else if mode == 1049 {
            self.restore_cursor();
        }
        self.wrap_pending = false;
    }

    fn set_private_mode(&mut self, mode: u16, on: bool) {
        match mode {
            1 => self.application_cursor = on,
            6 => {
                self.origin = on;
                self.move_to_origin(0, 0);
            }
            7 => self.autowrap = on,
            25 => self.live.hide_cursor = !on,
            47 | 1047 | 1049 => self.set_alternate(on, mode),
            1048 => {
                if on {
                    self.save_cursor();
                } else {
                    self.restore_cursor();
                }
            }
            9 | 1000 | 1002 | 1003 => {
                let m = match mode {
                    9 => MouseMode::Press,
                    1000 => MouseMode::PressRelease,
                    1002 => MouseMode::ButtonMotion,
                    _ => MouseMode::AnyMotion,
                };
                if on {
                    self.mouse = m;
                } else if self.mouse == m {
                    self.mouse = MouseMode::None;
                }
            }
            1006 => self.mouse_sgr = on,
            2004 => self.bracketed_paste = on,
            2026 => {
                if on {
                    if self.frozen_at.is_none() {
                        self.frozen.clone_from(&self.live);
                        self.frozen_at = Some(Instant::now());
                    }
                } else {
                    self.frozen_at = None;
                }
            }
            _ => {}
        }
    }

    fn private_mode_state(&self, mode: u16) -> u8 {
        let b = |on: bool| if on { 1 } else { 2 };
        match mode {
            1 => b(self.application_cursor),
            6 => b(self.origin),
            7 => b(self.autowrap),
            25 => b(!self.live.hide_cursor),
            47 | 1047 | 1049 => b(self.alt_active),
            9 => b(self.mouse == MouseMode::Press),
            1000 => b(self.mouse == MouseMode::PressRelease),
            1002 => b(self.mouse == MouseMode::ButtonMotion),
            1003 => b(self.mouse == MouseMode::AnyMotion),
            1006 => b(self.mouse_sgr),
            2004 => b(self.bracketed_paste),
            2026 => b(self.frozen_at.is_some()),
            _ => 0,
        }
    }

    fn sgr(&mut self, params: &Params) {
        if params.is_empty() {
            self.pen = Attrs::default();
            return;
        }
        let mut groups = params.groups();
        while let Some(g) = groups.next() {
            let v = g[0];
            match v {
                0 => self.pen = Attrs::default(),
                1 => self.pen.flags |= grid::BOLD,
                2 => self.pen.flags |= grid::DIM,
                3 => self.pen.flags |= grid::ITALIC,
                4 => {
                    if g.get(1) == Some(&0) {
                        self.pen.flags &= !grid::UNDERLINE;
                    } else {
                        self.pen.flags |= grid::UNDERLINE;
                    }
                }
                7 => self.pen.flags |= grid::INVERSE,
                9 => self.pen.flags |= grid::STRIKE,
                21 => self.pen.flags |= grid::UNDERLINE,
                22 => self.pen.flags &= !(grid::BOLD | grid::DIM),
                23 => self.pen.flags &= !grid::ITALIC,
                24 => self.pen.flags &= !grid::UNDERLINE,
                27 => self.pen.flags &= !grid::INVERSE,
                29 => self.pen.flags &= !grid::STRIKE,
                30..=37 => self.pen.fg = Color::Idx((v - 30) as u8),
                39 => self.pen.fg = Color::Default,
                40..=47 => self.pen.bg = Color::Idx((v - 40) as u8),
                49 => self.pen.bg = Color::Default,
                90..=97 => self.pen.fg = Color::Idx((v - 90 + 8) as u8),
                100..=107 => self.pen.bg = Color::Idx((v - 100 + 8) as u8),
                38 | 48 | 58 => {
                    // Colon form carries the colour in the group itself;
                    // the semicolon form takes the following groups.
                    let color = if g.len() > 1 {
                        match g[1] {
                            5 => g.get(2).map(|&i| Color::Idx(i as u8)),
                            2 => {
                                // 38:2:CS:R:G:B or 38:2:R:G:B
                                let rgb = if g.len() >= 6 { &g[3..6] } else { &g[2..] };
                                (rgb.len() >= 3)
                                    .then(|| Color::Rgb(rgb[0] as u8, rgb[1] as u8, rgb[2] as u8))
                            }
                            _ => None,
                        }
                    } else {
                        match groups.next().map(|g| g[0]) {
                            Some(5) => groups.next().map(|g| Color::Idx(g[0] as u8)),
                            Some(2) => {
                                let r = groups.next().map(|g| g[0]);
                                let gr = groups.next().map(|g| g[0]);
                                let b = groups.next().map(|g| g[0]);
                                match (r, gr, b) {
                                    (Some(r), Some(gr), Some(b)) => {
                                        Some(Color::Rgb(r as u8, gr as u8, b as u8))
                                    }
                                    _ => None,
                                }
                            }
                            _ => None,
                        }
                    };
                    if let Some(c) = color {
                        match v {
                            38 => self.pen.fg = c,
                            48 => self.pen.bg = c,
                            _ => {} // underline colour: not shown
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn reply(&mut self, s: &str) {
        self.replies.extend_from_slice(s.as_bytes());
    }

    fn query_or_kitty(&mut self, prefix: u8, params: &Params, inter: &[u8], fin: u8) -> bool {
        match (prefix, inter, fin) {
            // DA1: a VT220 with ANSI colour.
            (0, [], b'c') if params.count(0, 0) == 0 => self.reply("\x1b[?62;22c"),
            // DA2.
            (b'>', [], b'c') => self.reply("\x1b[>1;10;0c"),
            // DSR: status and cursor position.
            (0, [], b'n') => match params.get(0) {
                Some(5) => self.reply("\x1b[0n"),
                Some(6) => {
                    let (r, c) = self.live.cursor;
                    self.reply(&format!("\x1b[{};{}R", r + 1, c + 1));
                }
                _ => {}
            },
            (b'?', [], b'n') if params.get(0) == Some(6) => {
                let (r, c) = self.live.cursor;
                self.reply(&format!("\x1b[?{};{}R", r + 1, c + 1));
            }
            // XTVERSION.
            (b'>', [], b'q') => {
                self.reply(&format!(
                    "\x1bP>|corral {}\x1b\\",
                    env!("CARGO_PKG_VERSION")
                ));
            }
            // Kitty keyboard protocol: query, push, pop, set.
            (b'?', [], b'u') => {
                let f = self.kitty.last().copied().unwrap_or(0);
                self.reply(&format!("\x1b[?{f}u"));
            }
            (b'>', [], b'u') => {
                let f = params.count(0, 0) as u8 & KITTY_SUPPORTED;
                if self.kitty.len() >= KITTY_STACK {
                    self.kitty.remove(0);
                }
                self.kitty.push(f);
            }
            (b'<', [], b'u') => {
                let n = usize::from(params.count(0, 1));
                let keep = self.kitty.len().saturating_sub(n);
                self.kitty.truncate(keep);
            }
            (b'=', [], b'u') => {
                let f = params.count(0, 0) as u8 & KITTY_SUPPORTED;
                let cur = self.kitty.last().copied().unwrap_or(0);
                let new = match params.count(1, 1) {
                    2 => cur | f,
                    3 => cur & !f,
                    _ => f,
                };
                match self.kitty.last_mut() {
                    Some(top) => *top = new,
                    None => self.kitty.push(new),
                }
            }
            // DECRQM for private modes.
            (b'?', [b'$'], b'p') => {
                let mode = params.count(0, 0);
                let state = self.private_mode_state(mode);
                self.reply(&format!("\x1b[?{mode};{state}$y"));
            }
            // Window size reports (cells and an assumed 8x16 cell in pixels).
            (0, [], b't') => {
                let (rows, cols) = (self.rows(), self.cols());
                match params.get(0) {
                    Some(18) => self.reply(&format!("\x1b[8;{rows};{cols}t")),
                    Some(14) => self.reply(&format!(
                        "\x1b[4;{};{}t",
                        u32::from(rows) * 16,
                        u32::from(cols) * 8
                    )),
                    Some(16) => self.reply("\x1b[6;16;8t"),
                    _ => {}
                }
            }
            _ => return false,
        }
        true
    }

    fn soft_reset(&mut self) {
        self.pen = Attrs::default();
        self.top = 0;
        self.bottom = self.rows() - 1;
        self.origin = false;
        self.autowrap = true;
        self.insert = false;
        self.g = [false; 2];
        self.gl = 0;
        self.application_cursor = false;
        self.live.hide_cursor = false;
        self.saved = [Saved::default(); 2];
    }
}

/// DEC special graphics (line drawing) for bytes 0x5f-0x7e.
fn dec_graphics(b: u8) -> char {
    const MAP: [char; 32] = [
        ' ', '◆', '▒', '␉', '␌', '␍', '␊', '°', '±', '␤', '␋', '┘', '┐', '┌', '└', '┼', '⎺', '⎻',
        '─', '⎼', '⎽', '├', '┤', '┴', '┬', '│', '≤', '≥', 'π', '≠', '£', '·',
    ];
    if (0x5f..=0x7e).contains(&b) {
        MAP[usize::from(b - 0x5f)]
    } else {
        char::from(b)
    }
}

impl Perform for Term {
    #[inline]
    fn print_ascii(&mut self, mut run: &[u8]) {
        if self.graphics() {
            for &b in run {
                self.print_char(dec_graphics(b));
            }
            return;
        }
        let cols = usize::from(self.cols());
        while !run.is_empty() {
            if self.wrap_pending {
                if self.autowrap {
                    self.wrap_to_next_line();
                }
                self.wrap_pending = false;
            }
            let (r, col) = self.live.cursor;
            let (r, col) = (usize::from(r), usize::from(col));
            let avail = cols - col;
            let mut n = run.len().min(avail);
            if !self.autowrap && run.len() > avail {
                // Without autowrap the last column is overwritten in place:
                // only the final byte of the overflow remains.
                n = avail - 1;
                if n > 0 {
                    self.live.rows[r].write_ascii(col, &run[..n], self.pen);
                }
                let last = run[run.len() - 1];
                self.live.rows[r].write_ascii(cols - 1, &[last], self.pen);
                self.last_char = Some(char::from(last));
                self.live.cursor.1 = (cols - 1) as u16;
                return;
            }
            let erase = self.erase_attrs();
            let row = &mut self.live.rows[r];
            if self.insert {
                row.insert(col, n, erase);
            }
            row.write_ascii(col, &run[..n], self.pen);
            self.last_char = Some(char::from(run[n - 1]));
            run = &run[n..];
            if col + n >= cols {
                self.live.cursor.1 = (cols - 1) as u16;
                self.wrap_pending = self.autowrap;
            } else {
                self.live.cursor.1 = (col + n) as u16;
            }
        }
    }

    fn print(&mut self, c: char) {
        self.print_char(c);
    }

    fn execute(&mut self, byte: u8) {
        match byte {
            0x07 => self.bells += 1,
            0x08 => self.cursor_left(1),
            0x09 => {
                self.wrap_pending = false;
                let c = self.live.cursor.1;
                self.live.cursor.1 = ((c / 8 + 1) * 8).min(self.cols() - 1);
            }
            0x0a..=0x0c => self.linefeed(),
            0x0d => {
                self.wrap_pending = false;
                self.live.cursor.1 = 0;
            }
            0x0e => self.gl = 1,
            0x0f => self.gl = 0,
            _ => {}
        }
    }

    /// Control sequences. With a pending wrap the cursor is logically past
    /// the last column, so ICH, DCH and ECH do nothing there (as in tmux).
    fn csi(&mut self, prefix: u8, params: &Params, inter: &[u8], fin: u8) {
        if self.query_or_kitty(prefix, params, inter, fin) {
            return;
        }
        let p0 = params.count(0, 1);
        let (row, col) = self.live.cursor;
        match (prefix, inter, fin) {
            (0, [], b'@') if !self.wrap_pending => {
                let a = self.erase_attrs();
                self.wrap_pending = false;
                self.live.rows[usize::from(row)].insert(usize::from(col), usize::from(p0), a);
            }
            (0, [], b'A') => self.cursor_up(p0),
            (0, [], b'B' | b'e') => self.cursor_down(p0),
            (0, [], b'C' | b'a') => self.move_to(row, col.saturating_add(p0)),
            (0, [], b'D') => self.cursor_left(p0),
            (0, [], b'E') => {
                self.cursor_down(p0);
                self.move_to(self.live.cursor.0, 0);
            }
            (0, [], b'F') => {
                self.cursor_up(p0);
                self.move_to(self.live.cursor.0, 0);
            }
            (0, [], b'G' | b'`') => self.move_to(row, p0 - 1),
            (0, [], b'H' | b'f') => self.move_to_origin(p0 - 1, params.count(1, 1) - 1),
            (0, [], b'I') => {
                for _ in 0..p0.min(self.cols()) {
                    self.execute(0x09);
                }
            }
            (0, [], b'Z') => {
                let mut c = col;
                for _ in 0..p0 {
                    c = c.saturating_sub(1) / 8 * 8;
                }
                self.move_to(row, c);
            }
            (0, [], b'J') => self.erase_display(params.count(0, 0)),
            (b'?', [], b'J') => self.erase_display(params.count(0, 0)),
            (0, [], b'K') | (b'?', [], b'K') => self.erase_line(params.count(0, 0)),
            (0, [], b'L') => self.insert_lines(p0, true),
            (0, [], b'M') => self.insert_lines(p0, false),
            (0, [], b'P') if !self.wrap_pending => {
                let a = self.erase_attrs();
                self.wrap_pending = false;
                self.live.rows[usize::from(row)].delete(usize::from(col), usize::from(p0), a);
            }
            (0, [], b'S') => self.scroll_up(p0),
            (0, [], b'T') if params.len() <= 1 => self.scroll_down(p0),
            (0, [], b'X') if !self.wrap_pending => {
                let a = self.erase_attrs();
                self.wrap_pending = false;
                let c = usize::from(col);
                self.live.rows[usize::from(row)].erase(c, c + usize::from(p0), a);
            }
            (0, [], b'b') => {
                if let Some(c) = self.last_char {
                    let n =
                        usize::from(p0).min(usize::from(self.cols()) * usize::from(self.rows()));
                    if c.is_ascii() && !self.graphics() {
                        let run = vec![c as u8; n];
                        self.print_ascii(&run);
                    } else {
                        for _ in 0..n {
                            self.print_char(c);
                        }
                    }
                }
            }
            (0, [], b'd') => {
                // VPA keeps a pending wrap (a vertical move, as in tmux).
                let pending = self.wrap_pending;
                self.move_to_origin(p0 - 1, col);
                self.wrap_pending = pending;
            }
            (0, [], b'h' | b'l') => {
                for g in params.groups() {
                    if g[0] == 4 {
                        self.insert = fin == b'h';
                    }
                }
            }
            (b'?', [], b'h' | b'l') => {
                for g in params.groups() {
                    self.set_private_mode(g[0], fin == b'h');
                }
            }
            (0, [], b'm') => self.sgr(params),
            (0, [], b'r') => {
                let top = params.count(0, 1) - 1;
                let bottom = params.count(1, self.rows()).min(self.rows()) - 1;
                if top < bottom {
                    self.top = top;
                    self.bottom = bottom;
                    self.move_to_origin(0, 0);
                }
            }
            (0, [], b's') if params.is_empty() => self.save_cursor(),
            (0, [], b'u') if params.is_empty() => self.restore_cursor(),
            (0, [b'!'], b'p') => self.soft_reset(),
            _ => {}
        }
    }

    fn esc(&mut self, inter: &[u8], fin: u8) {
        match (inter, fin) {
            ([], b'7') => self.save_cursor(),
            ([], b'8') => self.restore_cursor(),
            ([], b'D') => self.linefeed(),
            ([], b'E') => {
                self.linefeed();
                self.wrap_pending = false;
                self.live.cursor.1 = 0;
            }
            ([], b'M') => self.reverse_index(),
            ([], b'c') => {
                let (rows, cols) = (self.rows(), self.cols());
                let mut fresh = Term::new(rows, cols, self.scrollback.max());
                fresh.scrollback = std::mem::take(&mut self.scrollback);
                fresh.title = std::mem::take(&mut self.title);
                fresh.bells = self.bells;
                fresh.replies = std::mem::take(&mut self.replies);
                *self = fresh;
            }
            ([b'('], f) => self.g[0] = f == b'0',
            ([b')'], f) => self.g[1] = f == b'0',
            _ => {}
        }
    }

    fn osc(&mut self, data: &[u8]) {
        let (code, rest) = match data.iter().position(|&b| b == b';') {
            Some(i) => (&data[..i], &data[i + 1..]),
            None => (data, &b""[..]),
        };
        match code {
            b"0" | b"2" => {
                let t = String::from_utf8_lossy(rest).into_owned();
                if t != self.title {
                    self.title = t;
                    self.title_changed = true;
                }
            }
            b"10" if rest == b"?" => self.reply(&format!("\x1b]10;{REPORT_FG}\x1b\\")),
            b"11" if rest == b"?" => self.reply(&format!("\x1b]11;{REPORT_BG}\x1b\\")),
            _ => {}
        }
    }
}
