//! Cells, rows and the compact scrollback row: the storage of corral's
//! terminal engine.
//!
//! A live cell is 16 bytes (a code point, two colours, style flags). A row
//! that scrolls off the top is packed (see [`Row::compact_into`]) as its text
//! in UTF-8 plus the runs of attributes, so a line of plain ASCII costs about
//! one byte per character instead of one cell; [`CompactRow`] reads it back.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use unicode_width::UnicodeWidthChar;

/// A cell colour, as SGR sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Color {
    /// The terminal's default foreground or background.
    #[default]
    Default,
    /// One of the 256 indexed colours (0-15 are the ANSI and bright colours).
    Idx(u8),
    /// A 24-bit colour.
    Rgb(u8, u8, u8),
}

/// Style flag: bold (SGR 1).
pub const BOLD: u8 = 1;
/// Style flag: dim (SGR 2).
pub const DIM: u8 = 1 << 1;
/// Style flag: italic (SGR 3).
pub const ITALIC: u8 = 1 << 2;
/// Style flag: underline (SGR 4).
pub const UNDERLINE: u8 = 1 << 3;
/// Style flag: inverse video (SGR 7).
pub const INVERSE: u8 = 1 << 4;
/// Style flag: crossed out (SGR 9).
pub const STRIKE: u8 = 1 << 5;
/// Layout flag: the first cell of a double-width character.
pub const WIDE: u8 = 1 << 6;
/// Layout flag: the second cell of a double-width character (no contents).
pub const WIDE_CONT: u8 = 1 << 7;
const STYLE: u8 = BOLD | DIM | ITALIC | UNDERLINE | INVERSE | STRIKE;

/// The pen: colours and style flags that printed characters and erased cells
/// get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Attrs {
    /// Foreground colour.
    pub fg: Color,
    /// Background colour.
    pub bg: Color,
    /// Style flags ([`BOLD`], [`DIM`], [`ITALIC`], [`UNDERLINE`], [`INVERSE`],
    /// [`STRIKE`]).
    pub flags: u8,
}

/// Code points at or above this value index the grapheme cluster table.
const CLUSTER_BASE: u32 = 0x0011_0000;
/// Most distinct grapheme clusters (base plus combining marks) kept; past it a
/// cell keeps only its base character. Bounds memory against hostile output.
const MAX_CLUSTERS: usize = 1 << 16;

struct Clusters {
    by_text: HashMap<&'static str, u32>,
    texts: Vec<&'static str>,
}

fn clusters() -> &'static Mutex<Clusters> {
    static C: OnceLock<Mutex<Clusters>> = OnceLock::new();
    C.get_or_init(|| {
        Mutex::new(Clusters {
            by_text: HashMap::new(),
            texts: Vec::new(),
        })
    })
}

/// Interns a grapheme cluster; `None` once the table is full.
fn intern(text: &str) -> Option<u32> {
    let mut c = clusters().lock().unwrap_or_else(|p| p.into_inner());
    if let Some(&i) = c.by_text.get(text) {
        return Some(i);
    }
    if c.texts.len() >= MAX_CLUSTERS {
        return None;
    }
    // Leaked on purpose: the table is bounded and its entries live as long as
    // any screen may show them.
    let s: &'static str = Box::leak(text.to_owned().into_boxed_str());
    let i = CLUSTER_BASE + c.texts.len() as u32;
    c.texts.push(s);
    c.by_text.insert(s, i);
    Some(i)
}

fn cluster_text(code: u32) -> &'static str {
    let c = clusters().lock().unwrap_or_else(|p| p.into_inner());
    c.texts
        .get((code - CLUSTER_BASE) as usize)
        .copied()
        .unwrap_or("\u{fffd}")
}

/// Display width of `c` in cells: 0 (combining), 1 or 2; `None` for control
/// characters, which take no cell.
pub fn char_width(c: char) -> Option<usize> {
    c.width()
}

/// One cell of the screen: 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cell {
    /// 0: empty; below 0x110000: a code point; above: a cluster table index.
    code: u32,
    fg: Color,
    bg: Color,
    flags: u8,
}

impl Cell {
    /// An empty cell that shows `attrs`' background (erased cells keep only
    /// the pen's background, as xterm does).
    #[inline]
    pub fn blank(attrs: Attrs) -> Cell {
        Cell {
            code: 0,
            fg: Color::Default,
            bg: attrs.bg,
            flags: 0,
        }
    }

    #[inline]
    fn ascii(b: u8, a: Attrs) -> Cell {
        Cell {
            code: u32::from(b),
            fg: a.fg,
            bg: a.bg,
            flags: a.flags & STYLE,
        }
    }

    /// True if something was printed in this cell.
    #[inline]
    pub fn has_contents(&self) -> bool {
        self.code != 0
    }

    /// The cell's text: "" when empty, else one grapheme cluster.
    pub fn contents(&self) -> String {
        let mut s = String::new();
        self.push_contents(&mut s);
        s
    }

    /// Appends the cell's text to `out` (nothing when empty).
    pub fn push_contents(&self, out: &mut String) {
        match self.code {
            0 => {}
            c if c >= CLUSTER_BASE => out.push_str(cluster_text(c)),
            c => out.push(char::from_u32(c).unwrap_or('\u{fffd}')),
        }
    }

    /// The cell's character when it is a single code point; `None` when
    /// empty or a cluster with combining marks (use [`Cell::contents`]).
    #[inline]
    pub fn as_char(&self) -> Option<char> {
        match self.code {
            0 => None,
            c if c >= CLUSTER_BASE => None,
            c => char::from_u32(c),
        }
    }

    /// The pen the cell was drawn with.
    #[inline]
    pub fn attrs(&self) -> Attrs {
        Attrs {
            fg: self.fg,
            bg: self.bg,
            flags: self.flags & STYLE,
        }
    }

    /// Foreground colour.
    pub fn fgcolor(&self) -> Color {
        self.fg
    }

    /// Background colour.
    pub fn bgcolor(&self) -> Color {
        self.bg
    }

    /// True if the given style flag is set.
    #[inline]
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// True for the first cell of a double-width character.
    #[inline]
    pub fn is_wide(&self) -> bool {
        self.has(WIDE)
    }

    /// True for the second cell of a double-width character.
    #[inline]
    pub fn is_wide_continuation(&self) -> bool {
        self.has(WIDE_CONT)
    }

    fn set_char(&mut self, c: char, a: Attrs, wide: bool) {
        self.code = c as u32;
        self.fg = a.fg;
        self.bg = a.bg;
        self.flags = (a.flags & STYLE) | if wide { WIDE } else { 0 };
    }

    /// Adds a combining mark to the cell's character (dropped if the cluster
    /// table is full).
    fn combine(&mut self, mark: char) {
        if self.code == 0 {
            return;
        }
        let mut s = String::new();
        self.push_contents(&mut s);
        s.push(mark);
        if let Some(code) = intern(&s) {
            self.code = code;
        }
    }
}

/// One row of the live screen.
///
/// `used` is a high-water mark: every cell from it on is `Cell::blank` with
/// the background `fill`, so clearing and packing a short line touch only its
/// used part (at 200 columns a typical line uses a third of them).
#[derive(Debug)]
pub struct Row {
    pub(crate) cells: Vec<Cell>,
    /// The row's text continues on the next row (it was auto-wrapped).
    pub(crate) wrapped: bool,
    used: usize,
    fill: Color,
}

impl Clone for Row {
    fn clone(&self) -> Row {
        Row {
            cells: self.cells.clone(),
            wrapped: self.wrapped,
            used: self.used,
            fill: self.fill,
        }
    }

    /// Reuses the cell allocation (the frozen frame and the early echo copy
    /// rows every frame).
    fn clone_from(&mut self, src: &Row) {
        self.cells.clone_from(&src.cells);
        self.wrapped = src.wrapped;
        self.used = src.used;
        self.fill = src.fill;
    }
}

/// Rows are equal when they show the same cells; the high-water mark is
/// bookkeeping.
impl PartialEq for Row {
    fn eq(&self, other: &Row) -> bool {
        if self.wrapped != other.wrapped || self.cells.len() != other.cells.len() {
            return false;
        }
        // Past both high-water marks every cell is its row's fill.
        let n = self.used.max(other.used).min(self.cells.len());
        self.cells[..n] == other.cells[..n] && (n == self.cells.len() || self.fill == other.fill)
    }
}

impl Eq for Row {}

impl Row {
    /// A row of `cols` empty cells with `attrs`' background.
    pub fn new(cols: u16, attrs: Attrs) -> Row {
        Row {
            cells: vec![Cell::blank(attrs); usize::from(cols)],
            wrapped: false,
            used: 0,
            fill: attrs.bg,
        }
    }

    /// The cells, left to right.
    pub fn cells(&self) -> &[Cell] {
        &self.cells
    }

    /// True if the row was auto-wrapped into the next one.
    pub fn wrapped(&self) -> bool {
        self.wrapped
    }

    /// Empties every cell with `attrs`' background.
    pub fn clear(&mut self, attrs: Attrs) {
        let end = if attrs.bg == self.fill {
            self.used.min(self.cells.len())
        } else {
            self.cells.len()
        };
        self.cells[..end].fill(Cell::blank(attrs));
        self.wrapped = false;
        self.used = 0;
        self.fill = attrs.bg;
    }

    /// Notes that cells before `end` may differ from the fill.
    #[inline]
    fn touch(&mut self, end: usize) {
        self.used = self.used.max(end);
    }

    /// Notes blanks with `attrs`' background written up to `end`.
    #[inline]
    fn touch_blank(&mut self, end: usize, attrs: Attrs) {
        if attrs.bg != self.fill {
            self.touch(end);
        }
    }

    /// Resizes to `cols` cells, keeping the left part.
    pub fn resize(&mut self, cols: u16) {
        let old = self.cells.len();
        self.cells.resize(usize::from(cols), Cell::default());
        if let Some(last) = self.cells.last_mut()
            && last.is_wide()
        {
            *last = Cell::default();
        }
        self.used = self.used.min(self.cells.len());
        if self.fill != Color::Default && self.cells.len() > old {
            self.used = self.cells.len();
        }
    }

    /// Erases cells `from..to` (clamped), splitting any wide character cut at
    /// either edge.
    pub fn erase(&mut self, from: usize, to: usize, attrs: Attrs) {
        let to = to.min(self.cells.len());
        if from >= to {
            return;
        }
        self.fix_edge(from);
        self.fix_edge(to);
        self.cells[from..to].fill(Cell::blank(attrs));
        self.touch_blank(to, attrs);
    }

    /// Before cells starting at `col` are overwritten, blanks the other half
    /// of a wide character that straddles `col - 1 | col`.
    #[inline]
    fn fix_edge(&mut self, col: usize) {
        if col == 0 || col >= self.cells.len() {
            return;
        }
        if self.cells[col].is_wide_continuation() {
            let a = self.cells[col - 1].attrs();
            self.cells[col - 1] = Cell::blank(a);
            let a = self.cells[col].attrs();
            self.cells[col] = Cell::blank(a);
        }
    }

    /// Writes a run of printable ASCII at `col`; the caller guarantees it fits.
    #[inline]
    pub(crate) fn write_ascii(&mut self, col: usize, run: &[u8], attrs: Attrs) {
        let end = col + run.len();
        self.fix_edge(col);
        self.fix_edge(end);
        for (cell, &b) in self.cells[col..end].iter_mut().zip(run) {
            *cell = Cell::ascii(b, attrs);
        }
        self.touch(end);
    }

    /// Writes `c` of width 1 or 2 at `col`; the caller guarantees it fits.
    pub(crate) fn write_char(&mut self, col: usize, c: char, width: usize, attrs: Attrs) {
        self.fix_edge(col);
        self.fix_edge(col + width);
        self.cells[col].set_char(c, attrs, width == 2);
        if width == 2
            && let Some(next) = self.cells.get_mut(col + 1)
        {
            *next = Cell::blank(attrs);
            next.flags |= WIDE_CONT;
        }
        self.touch(col + width);
    }

    /// Adds a combining mark to the character at or before `col`.
    pub(crate) fn combine(&mut self, col: usize, mark: char) {
        let mut col = col.min(self.cells.len().saturating_sub(1));
        if col > 0 && self.cells[col].is_wide_continuation() {
            col -= 1;
        }
        if let Some(cell) = self.cells.get_mut(col) {
            cell.combine(mark);
            self.touch(col + 1);
        }
    }

    /// Inserts `n` blank cells at `col`, pushing the rest right (ICH).
    pub fn insert(&mut self, col: usize, n: usize, attrs: Attrs) {
        let len = self.cells.len();
        if col >= len {
            return;
        }
        self.fix_edge(col);
        let n = n.min(len - col);
        self.cells[col..].rotate_right(n);
        self.cells[col..col + n].fill(Cell::blank(attrs));
        if let Some(last) = self.cells.last_mut()
            && last.is_wide()
        {
            *last = Cell::blank(attrs);
        }
        self.used = len;
    }

    /// Deletes `n` cells at `col`, pulling the rest left (DCH).
    pub fn delete(&mut self, col: usize, n: usize, attrs: Attrs) {
        let len = self.cells.len();
        if col >= len {
            return;
        }
        let n = n.min(len - col);
        self.fix_edge(col);
        self.fix_edge(col + n);
        self.cells[col..].rotate_left(n);
        self.cells[len - n..].fill(Cell::blank(attrs));
        self.touch_blank(len, attrs);
    }

    /// The row's text: empty cells as spaces, trailing blanks removed.
    pub fn text(&self) -> String {
        let mut s = String::with_capacity(self.cells.len());
        for c in &self.cells {
            if c.is_wide_continuation() {
                continue;
            }
            if c.has_contents() {
                c.push_contents(&mut s);
            } else {
                s.push(' ');
            }
        }
        let t = s.trim_end_matches(' ').len();
        s.truncate(t);
        s
    }

    /// Packs the row for scrollback: appends its text (empty cells as spaces,
    /// trailing blanks dropped) to `text` and the columns where its
    /// attributes change to `runs`.
    pub fn compact_into(&self, text: &mut String, runs: &mut Vec<(u16, Attrs)>) {
        let scan = if self.fill == Color::Default {
            self.used.min(self.cells.len())
        } else {
            self.cells.len()
        };
        let end = self.cells[..scan]
            .iter()
            .rposition(|c| {
                c.code != 0
                    || c.bg != Color::Default
                    || c.fg != Color::Default
                    || c.flags & STYLE != 0
            })
            .map_or(0, |i| i + 1);
        text.reserve(end);
        let mut cur = Attrs::default();
        for (i, c) in self.cells[..end].iter().enumerate() {
            if c.flags & WIDE_CONT != 0 {
                continue;
            }
            if c.fg != cur.fg || c.bg != cur.bg || c.flags & STYLE != cur.flags {
                cur = c.attrs();
                runs.push((i as u16, cur));
            }
            match c.code {
                0 => text.push(' '),
                1..=0x7f => text.push(char::from(c.code as u8)),
                _ => c.push_contents(text),
            }
        }
    }
}

/// A scrollback row as stored, borrowed from its block: its text (empty cells
/// as spaces, trailing blanks dropped), the columns where the attributes
/// change, and whether it wrapped onto the next row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactRow<'a> {
    pub(crate) text: &'a str,
    pub(crate) runs: &'a [(u16, Attrs)],
    pub(crate) wrapped: bool,
}

impl<'a> CompactRow<'a> {
    /// The row's text, trailing blanks removed.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// True if the row was auto-wrapped into the next one.
    pub fn wrapped(&self) -> bool {
        self.wrapped
    }

    /// Unpacks into a live row of `cols` cells (cut or padded).
    pub fn expand(&self, cols: u16) -> Row {
        let mut row = Row::new(cols, Attrs::default());
        row.wrapped = self.wrapped;
        let cols = usize::from(cols);
        let mut col = 0usize;
        let mut run = 0usize;
        let mut attrs = Attrs::default();
        for c in self.text.chars() {
            while run < self.runs.len() && usize::from(self.runs[run].0) <= col {
                attrs = self.runs[run].1;
                run += 1;
            }
            let w = char_width(c).unwrap_or(0);
            if w == 0 {
                if col > 0 {
                    row.combine(col - 1, c);
                }
                continue;
            }
            if col + w > cols {
                break;
            }
            if c == ' ' && attrs.fg == Color::Default && attrs.flags == 0 {
                row.cells[col] = Cell::blank(attrs);
                col += 1;
                continue;
            }
            row.write_char(col, c, w, attrs);
            col += w;
        }
        // Trailing coloured blanks (erased with a background) carry no text.
        while run < self.runs.len() {
            let (at, a) = self.runs[run];
            run += 1;
            let end = self.runs.get(run).map_or(cols, |r| usize::from(r.0));
            for cell in row
                .cells
                .iter_mut()
                .take(end)
                .skip(usize::from(at).max(col))
            {
                *cell = Cell::blank(a);
            }
        }
        row.used = cols;
        row
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_is_sixteen_bytes() {
        assert_eq!(std::mem::size_of::<Cell>(), 16);
    }

    #[test]
    fn cells_past_the_high_water_mark_are_always_the_fill() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        let pens = [
            Attrs::default(),
            Attrs {
                bg: Color::Idx(4),
                ..Attrs::default()
            },
            Attrs {
                fg: Color::Idx(1),
                flags: BOLD,
                ..Attrs::default()
            },
        ];
        let mut row = Row::new(10, Attrs::default());
        let mut prev = row.clone();
        for step in 0..20_000 {
            // Equality (which skips cells past both high-water marks) is
            // cell for cell equality, against the last step's row too.
            let naive = |a: &Row, b: &Row| a.cells == b.cells && a.wrapped == b.wrapped;
            assert_eq!(row == prev, naive(&row, &prev), "step {step}");
            let full = Row {
                used: row.cells.len(),
                ..row.clone()
            };
            assert!(row == full, "step {step}");
            assert!(full == row, "step {step}");
            prev.clone_from(&row);
            if step % 3 == 0 {
                prev = Row::new(row.cells.len() as u16, pens[next(pens.len())]);
            }
            let a = pens[next(pens.len())];
            let len = row.cells.len();
            let col = next(len);
            match next(9) {
                0 => row.clear(a),
                1 => row.erase(col, col + next(12), a),
                2 => {
                    let n = next(len - col) + 1;
                    row.write_ascii(col, &b"abcdefghijkl"[..n.min(12)], a);
                }
                3 if col + 2 <= len => row.write_char(col, '漢', 2, a),
                4 => row.combine(col, '\u{301}'),
                5 => row.insert(col, next(4) + 1, a),
                6 => row.delete(col, next(4) + 1, a),
                7 => row.resize(1 + next(14) as u16),
                _ => {
                    let (mut t, mut r) = (String::new(), Vec::new());
                    row.compact_into(&mut t, &mut r);
                    let c = CompactRow {
                        text: &t,
                        runs: &r,
                        wrapped: row.wrapped,
                    };
                    if row.fill == Color::Default {
                        assert_eq!(c.expand(row.cells.len() as u16), row, "step {step}");
                    }
                }
            }
            let fill = Cell::blank(Attrs {
                bg: row.fill,
                ..Attrs::default()
            });
            let used = row.used.min(row.cells.len());
            assert!(
                row.cells[used..].iter().all(|c| *c == fill),
                "step {step}: {row:?}"
            );
        }
    }

    #[test]
    fn compact_round_trip() {
        let red = Attrs {
            fg: Color::Idx(1),
            ..Attrs::default()
        };
        let mut row = Row::new(12, Attrs::default());
        row.write_ascii(0, b"ab", Attrs::default());
        row.write_char(2, '漢', 2, red);
        row.write_ascii(5, b"z", red);
        row.combine(5, '\u{301}');
        row.erase(
            9,
            12,
            Attrs {
                bg: Color::Idx(4),
                ..Attrs::default()
            },
        );
        let (mut text, mut runs) = (String::new(), Vec::new());
        row.compact_into(&mut text, &mut runs);
        let c = CompactRow {
            text: &text,
            runs: &runs,
            wrapped: false,
        };
        assert_eq!(c.text(), "ab漢 z\u{301}      ");
        assert_eq!(c.expand(12), row);
    }
}
