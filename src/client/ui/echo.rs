//! A keystroke's echo on the terminal before the whole frame: the changed
//! rows of the pane being typed in, written by the thread that parsed them
//! (the session's reader), so the echo skips the hand-over to the UI thread
//! and one full render.

use std::io::{self, Write};

use crossterm::queue;
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::buffer::{Buffer, Cell};

use super::{PaneCache, early_echo};
use crate::engine::Engine;
use crate::server::SlotIdx;

/// Most cells early echoes may write before a whole frame must catch up
/// (each is remembered for [`Shown::repair`]).
const EARLY_MAX: usize = 8192;

/// What [`Shown::echo`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Echoed {
    /// The pane is not the one the last frame drew as typed in (or the
    /// terminal was resized since): only a whole frame shows its output.
    NotTyped,
    /// Its changes were written: the terminal shows the pane as its engine
    /// has it.
    Written,
    /// Nothing changed since the last frame or echo: the terminal already
    /// shows the pane as its engine has it.
    Unchanged,
}

/// What is on the terminal beyond ratatui's own record of the last frame:
/// the panes' last drawn contents ([`PaneCache`]) and the cells early
/// echoes wrote since that frame.
///
/// Shared by the UI thread and the sessions' reader threads behind one
/// lock, held while a frame is rendered and written and while an echo is
/// written, so the two never interleave on the terminal. A reader thread
/// only ever tries the lock (it holds its engine, which the UI's render
/// waits for).
#[derive(Debug, Default)]
pub struct Shown {
    /// The panes' last drawn contents, as [`super::draw`] keeps them.
    pub cache: PaneCache,
    /// Cells early echoes wrote since the last frame, as (x, y, cell) in
    /// terminal cells.
    early: Vec<(u16, u16, Cell)>,
    /// Of those, the ones the next frame shows otherwise ([`Shown::repair`]).
    stale: Vec<(u16, u16, Cell)>,
    cells: Vec<(u16, u16, Cell)>,
    bytes: Vec<u8>,
}

impl Shown {
    /// Writes what changed in pane `slot` (its engine `e`, locked by the
    /// caller) to `out` at once, if the last frame drew it as the pane being
    /// typed in and the terminal was not resized since: the changed rows and
    /// the cursor where the pane has it.
    ///
    /// Errors: the write to `out` failed.
    pub fn echo(&mut self, slot: SlotIdx, e: &Engine, out: &mut dyn Write) -> io::Result<Echoed> {
        self.cells.clear();
        let (frame, before) = match &self.cache.typed {
            Some(t) => (t.frame, t.cursor),
            None => return Ok(Echoed::NotTyped),
        };
        let Some(cursor) = early_echo(&mut self.cache, slot, e, frame, &mut self.cells) else {
            return Ok(Echoed::NotTyped);
        };
        // Nothing new on screen: a key that only moves the cursor (an
        // arrow key, Enter at the end of a line) still goes out at once.
        if self.cells.is_empty() && cursor == before {
            return Ok(Echoed::Unchanged);
        }
        self.bytes.clear();
        {
            let mut be = CrosstermBackend::new(&mut self.bytes);
            queue!(be, BeginSynchronizedUpdate)?;
            be.draw(self.cells.iter().map(|(x, y, c)| (*x, *y, c)))?;
            match cursor {
                Some(at) => {
                    be.set_cursor_position(at)?;
                    be.show_cursor()?;
                }
                None => be.hide_cursor()?,
            }
            queue!(be, EndSynchronizedUpdate)?;
        }
        out.write_all(&self.bytes)?;
        out.flush()?;
        self.early.append(&mut self.cells);
        Ok(Echoed::Written)
    }

    /// True when early echoes wrote so much since the last frame that one
    /// should be drawn (what they wrote is remembered until then).
    pub fn wants_frame(&self) -> bool {
        self.early.len() > EARLY_MAX
    }

    /// True if the last frame drew `slot` as the pane being typed in: the
    /// only one [`Shown::echo`] writes (a cheap test before taking stdout).
    pub fn typing_in(&self, slot: SlotIdx) -> bool {
        self.cache.typed.as_ref().is_some_and(|t| t.slot == slot)
    }

    /// Forgets the pane being typed in until the next frame: the terminal
    /// was resized, so the last frame's places are no longer where they
    /// were.
    pub fn resized(&mut self) {
        self.cache.typed = None;
    }

    /// Call with a frame rendered into `buf`, before ratatui writes it:
    /// writes to `out` the cells early echoes wrote since the last frame
    /// that this frame shows otherwise, as this frame has them. ratatui
    /// writes only the cells that differ from its last frame, which knows
    /// nothing of the echoes (a dialog opened over the pane since, say). A
    /// wide character is written whole, never its second cell alone.
    ///
    /// Errors: the write to `out` failed.
    pub fn repair(&mut self, buf: &Buffer, out: &mut dyn Write) -> io::Result<()> {
        let wide = |c: &Cell| unicode_width::UnicodeWidthStr::width(c.symbol()) > 1;
        // Positions as (row, column), so they sort in drawing order.
        let mut at: Vec<(u16, u16)> = Vec::new();
        for (x, y, echoed) in self.early.drain(..) {
            if buf.cell((x, y)).is_none_or(|now| *now == echoed) {
                continue;
            }
            at.push((y, x));
            if wide(&echoed) {
                at.push((y, x + 1));
            }
        }
        for p in &mut at {
            let (y, x) = *p;
            if x > 0 && buf.cell((x - 1, y)).is_some_and(wide) {
                p.1 = x - 1;
            }
        }
        at.sort_unstable();
        at.dedup();
        self.stale.clear();
        self.stale.extend(
            at.into_iter()
                .filter_map(|(y, x)| Some((x, y, buf.cell((x, y))?.clone()))),
        );
        if self.stale.is_empty() {
            return Ok(());
        }
        CrosstermBackend::new(out).draw(self.stale.iter().map(|(x, y, c)| (*x, *y, c)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;

    fn cell(s: &str) -> Cell {
        let mut c = Cell::default();
        c.set_symbol(s);
        c
    }

    fn repaired(early: Vec<(u16, u16, Cell)>, buf: &Buffer) -> Vec<(u16, String)> {
        let mut shown = Shown {
            early,
            ..Shown::default()
        };
        let mut out = Vec::new();
        shown
            .repair(buf, &mut out)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.is_empty(), shown.stale.is_empty());
        shown
            .stale
            .iter()
            .map(|(x, _, c)| (*x, c.symbol().to_string()))
            .collect()
    }

    #[test]
    fn repair_rewrites_only_cells_the_frame_shows_otherwise() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 10, 1));
        buf.set_string(0, 0, "ab", ratatui::style::Style::default());
        let early = vec![(0, 0, cell("a")), (1, 0, cell("x")), (9, 0, cell("z"))];
        assert_eq!(
            repaired(early, &buf),
            [(1, "b".to_string()), (9, " ".to_string())]
        );
        // Outside the frame (it shrank since): nothing.
        assert!(repaired(vec![(20, 3, cell("q"))], &buf).is_empty());
    }

    #[test]
    fn repair_writes_wide_characters_whole() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 10, 1));
        buf.set_string(4, 0, "漢", ratatui::style::Style::default());
        // The echo wrote two narrow cells where the frame has one wide
        // character: the wide one is written, not its second cell.
        let early = vec![(4, 0, cell("a")), (5, 0, cell("b"))];
        assert_eq!(repaired(early, &buf), [(4, "漢".to_string())]);
        // The echo wrote a wide character where the frame has narrow ones:
        // both its cells are written again.
        buf.set_string(0, 0, "xy", ratatui::style::Style::default());
        assert_eq!(
            repaired(vec![(0, 0, cell("字"))], &buf),
            [(0, "x".to_string()), (1, "y".to_string())]
        );
    }
}
