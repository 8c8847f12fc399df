//! [`Term::replay`]: the bytes that rebuild a terminal's state in a fresh one
//! of the same size. A client that attaches to a running session feeds them
//! to its own engine, then the session's output from that moment on.

use std::fmt::Write as _;

use super::grid::{Attrs, BOLD, Cell, Color, DIM, INVERSE, ITALIC, Row, STRIKE, UNDERLINE};
use super::term::Term;
use crate::keys::MouseMode;

/// SGR parameters that set exactly `a` from any pen (a reset first).
fn sgr(out: &mut String, a: Attrs) {
    out.push_str("\x1b[0");
    for (flag, n) in [
        (BOLD, 1),
        (DIM, 2),
        (ITALIC, 3),
        (UNDERLINE, 4),
        (INVERSE, 7),
        (STRIKE, 9),
    ] {
        if a.flags & flag != 0 {
            let _ = write!(out, ";{n}");
        }
    }
    for (c, base) in [(a.fg, 38), (a.bg, 48)] {
        match c {
            Color::Default => {}
            Color::Idx(i) => {
                let _ = write!(out, ";{base};5;{i}");
            }
            Color::Rgb(r, g, b) => {
                let _ = write!(out, ";{base};2;{r};{g};{b}");
            }
        }
    }
    out.push('m');
}

/// Row `r` as text with SGR sequences (empty cells as spaces, trailing
/// default blanks removed), ending with a reset when it set any attribute.
pub fn row_sgr(r: &Row) -> String {
    let mut out = String::new();
    let mut pen = Attrs::default();
    let cells = r.cells();
    let end = cells
        .iter()
        .rposition(|c| c.has_contents() || *c != Cell::blank(Attrs::default()))
        .map_or(0, |i| i + 1);
    for c in &cells[..end] {
        if c.is_wide_continuation() {
            continue;
        }
        let a = if c.has_contents() {
            attrs_of(c)
        } else {
            Attrs {
                bg: c.bgcolor(),
                ..Attrs::default()
            }
        };
        if a != pen {
            sgr(&mut out, a);
            pen = a;
        }
        if c.has_contents() {
            c.push_contents(&mut out);
        } else {
            out.push(' ');
        }
    }
    if pen != Attrs::default() {
        out.push_str("\x1b[0m");
    }
    out
}

/// The pen that prints `c` as it is.
fn attrs_of(c: &Cell) -> Attrs {
    c.attrs()
}

/// Writes row `r` from column 0 with the cursor at its start, leaving the
/// cursor after its last cell (pending wrap when it fills the row).
fn row(out: &mut String, r: &Row, pen: &mut Option<Attrs>) {
    let cells = r.cells();
    // Past the last cell with contents or a colour, the rest is erased with
    // the row's last background (EL fills it as the row was filled).
    let end = cells
        .iter()
        .rposition(|c| c.has_contents() || *c != Cell::blank(Attrs::default()))
        .map_or(0, |i| i + 1);
    let mut col = 0;
    while col < end {
        let c = &cells[col];
        if c.is_wide_continuation() {
            col += 1;
            continue;
        }
        if c.has_contents() {
            let a = attrs_of(c);
            if *pen != Some(a) {
                sgr(out, a);
                *pen = Some(a);
            }
            c.push_contents(out);
            col += if c.is_wide() { 2 } else { 1 };
            continue;
        }
        // An empty cell: erase it in its colour and step over it.
        let a = Attrs {
            bg: c.bgcolor(),
            ..Attrs::default()
        };
        if *pen != Some(a) {
            sgr(out, a);
            *pen = Some(a);
        }
        // Empty cells up to the end of the row in one colour: EL.
        let run = cells[col..end]
            .iter()
            .take_while(|x| !x.has_contents() && x.bgcolor() == c.bgcolor())
            .count();
        if col + run == end && end == cells.len() {
            out.push_str("\x1b[K");
            col = end;
        } else {
            let _ = write!(out, "\x1b[{run}X\x1b[{run}C");
            col += run;
        }
    }
    if end < cells.len() {
        let bg = cells[cells.len() - 1].bgcolor();
        if bg != Color::Default {
            let a = Attrs {
                bg,
                ..Attrs::default()
            };
            if *pen != Some(a) {
                sgr(out, a);
                *pen = Some(a);
            }
            out.push_str("\x1b[K");
        }
    }
}

impl Term {
    /// Bytes that, fed to a fresh terminal of the same size and scrollback
    /// limit, rebuild this one: the scrollback (with its soft-wrap marks),
    /// the primary and the alternate screen, the cursor and its visibility,
    /// the pen, the saved cursor, the scroll region, origin, autowrap and
    /// insert modes, the character sets, the input modes (application
    /// cursor keys, bracketed paste, mouse reporting, the kitty keyboard
    /// flag stack) and the title. Not rebuilt: a wrap pending on a row's
    /// last column that ends in an empty cell, and a synchronized update in
    /// progress (the live screen is replayed).
    pub fn replay(&self) -> Vec<u8> {
        self.replay_with(true)
    }

    /// [`Term::replay`], with the scrollback left out when not
    /// `scrollback`: a copy that shows the screen only needs no history.
    pub fn replay_with(&self, scrollback: bool) -> Vec<u8> {
        let mut out = String::new();
        let (rows, cols) = self.live.size();
        let primary: &[Row] = if self.alt_active {
            &self.other
        } else {
            &self.live.rows
        };
        // Scrollback and the primary screen, top to bottom: the rows above
        // the screen scroll into the scrollback as they are written.
        let mut pen = None;
        let kept = if scrollback { self.scrollback.len() } else { 0 };
        let sb: Vec<Row> = (0..kept)
            .filter_map(|i| self.scrollback.get(i).map(|r| r.expand(cols)))
            .collect();
        let all: Vec<&Row> = sb.iter().chain(primary.iter()).collect();
        for (i, r) in all.iter().enumerate() {
            row(&mut out, r, &mut pen);
            if i + 1 == all.len() {
                break;
            }
            // A soft-wrapped row ends on its last column: the next row's
            // first character wraps onto it and marks it wrapped again.
            // (A wide character that did not fit left that column empty:
            // such a mark is not rebuilt.)
            let runs_on = r.wrapped() && r.cells().last().is_some_and(Cell::has_contents);
            if !runs_on {
                // A scroll fills the new row with the pen's background.
                if pen.is_some_and(|p| p.bg != Color::Default) {
                    sgr(&mut out, Attrs::default());
                    pen = Some(Attrs::default());
                }
                out.push_str("\r\n");
            }
        }
        let pos = |out: &mut String, (r, c): (u16, u16)| {
            let _ = write!(out, "\x1b[{};{}H", r + 1, c + 1);
        };
        let saved_primary = self.saved[0];
        if self.alt_active {
            // 1049 saves the primary cursor, switches and clears.
            pos(&mut out, saved_primary.cursor);
            sgr(&mut out, saved_primary.pen);
            out.push_str("\x1b[?1049h\x1b[0m\x1b[2J");
            pen = Some(Attrs::default());
            for (i, r) in self.live.rows.iter().enumerate() {
                pos(&mut out, (i as u16, 0));
                row(&mut out, r, &mut pen);
            }
        } else {
            // The saved cursor of the primary screen (DECSC).
            pos(&mut out, saved_primary.cursor);
            sgr(&mut out, saved_primary.pen);
            out.push_str("\x1b7");
        }
        if self.alt_active {
            let s = self.saved[1];
            pos(&mut out, s.cursor);
            sgr(&mut out, s.pen);
            out.push_str("\x1b7");
        }
        // Modes, then the cursor (origin mode addresses from the region).
        if (self.top, self.bottom) != (0, rows - 1) {
            let _ = write!(out, "\x1b[{};{}r", self.top + 1, self.bottom + 1);
        }
        if !self.autowrap {
            out.push_str("\x1b[?7l");
        }
        if self.insert {
            out.push_str("\x1b[4h");
        }
        if self.application_cursor {
            out.push_str("\x1b[?1h");
        }
        if self.bracketed_paste {
            out.push_str("\x1b[?2004h");
        }
        match self.mouse {
            MouseMode::None => {}
            MouseMode::Press => out.push_str("\x1b[?9h"),
            MouseMode::PressRelease => out.push_str("\x1b[?1000h"),
            MouseMode::ButtonMotion => out.push_str("\x1b[?1002h"),
            MouseMode::AnyMotion => out.push_str("\x1b[?1003h"),
        }
        if self.mouse_sgr {
            out.push_str("\x1b[?1006h");
        }
        for f in &self.kitty {
            let _ = write!(out, "\x1b[>{f}u");
        }
        if !self.title.is_empty() {
            let _ = write!(
                out,
                "\x1b]2;{}\x07",
                self.title.replace(['\x07', '\x1b'], "")
            );
        }
        if self.live.hide_cursor {
            out.push_str("\x1b[?25l");
        }
        let (cr, cc) = self.live.cursor;
        if self.origin {
            out.push_str("\x1b[?6h");
            pos(&mut out, (cr.saturating_sub(self.top), cc));
        } else {
            pos(&mut out, (cr, cc));
        }
        // A wrap pending on the last column: print that cell again.
        if self.wrap_pending
            && let Some(c) = self
                .live
                .rows
                .get(usize::from(cr))
                .and_then(|r| r.cells().get(usize::from(cc)))
                .filter(|c| c.has_contents() && !c.is_wide())
        {
            sgr(&mut out, attrs_of(c));
            c.push_contents(&mut out);
        }
        if self.g[0] {
            out.push_str("\x1b(0");
        }
        if self.g[1] {
            out.push_str("\x1b)0");
        }
        if self.gl == 1 {
            out.push('\x0e');
        }
        sgr(&mut out, self.pen);
        out.into_bytes()
    }
}
