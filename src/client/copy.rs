//! Copy mode: a cursor, a selection and a search over a frozen copy of one
//! pane's lines ([`History`]: its scrollback and screen when copy mode
//! began), so output that keeps arriving never moves what the person reads.
//! Motions follow vi as tmux's copy mode does (`h j k l`, `w b e`, `0 ^ $`,
//! `g G`, pages); the text a selection copies joins the lines the program
//! wrote as one (the engine's wrap flags), takes wide characters whole and
//! drops trailing blanks. Pure: the app drives it, the UI draws it.

use crate::engine::{Cell, History, Row};
use crate::proto::SlotIdx;

/// A place in the history: a line (0 = the oldest) and a column (cells).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// Line, 0 = the oldest scrollback row.
    pub line: usize,
    /// Column in cells, 0-based.
    pub col: u16,
}

/// What a selection takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Characters from one place to another, across lines (`v`).
    Chars,
    /// Whole lines (`V`).
    Lines,
    /// A rectangle of columns (`ctrl-v`).
    Block,
}

/// Which way a search goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Toward older lines (`/`).
    Up,
    /// Toward newer lines (`?`).
    Down,
}

impl Direction {
    fn reversed(self) -> Direction {
        match self {
            Direction::Up => Direction::Down,
            Direction::Down => Direction::Up,
        }
    }
}

/// A cursor motion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Motion {
    /// One cell left (`h`).
    Left,
    /// One cell right (`l`).
    Right,
    /// One line up (`k`).
    Up,
    /// One line down (`j`).
    Down,
    /// The start of the next word (`w`).
    NextWord,
    /// The start of this or the previous word (`b`).
    PrevWord,
    /// The end of this or the next word (`e`).
    WordEnd,
    /// Column 0 (`0`).
    LineStart,
    /// The line's first non-blank cell (`^`).
    FirstNonBlank,
    /// The line's last non-blank cell (`$`).
    LineEnd,
    /// The oldest line (`g`).
    Top,
    /// The newest line (`G`).
    Bottom,
    /// Half a view up (`ctrl-u`).
    HalfPageUp,
    /// Half a view down (`ctrl-d`).
    HalfPageDown,
    /// A view up, keeping one line of context (`ctrl-b`).
    PageUp,
    /// A view down (`ctrl-f`).
    PageDown,
}

/// The last search: its text and direction, and how many matches the whole
/// history holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    /// The text searched for (case-insensitive unless it has a capital).
    pub pattern: String,
    /// The direction `n` goes.
    pub dir: Direction,
    /// Matches in the whole history.
    pub total: usize,
    /// Which of them (1-based, oldest first) the cursor is on.
    pub current: Option<usize>,
}

/// Copy mode on one pane.
#[derive(Debug, Clone)]
pub struct CopyMode {
    /// The slot whose pane this is.
    pub slot: SlotIdx,
    history: History,
    /// The cursor.
    pub cursor: Pos,
    /// The first line shown.
    pub top: usize,
    /// Lines shown (the pane's height in cells).
    height: u16,
    /// The other end of the selection and its shape, while one is made.
    pub selection: Option<(Pos, Shape)>,
    /// The last search.
    pub search: Option<Search>,
    /// A search being typed: its direction and text so far.
    pub input: Option<(Direction, String)>,
    /// The column `j`/`k` aim for (vi's "curswant").
    want_col: u16,
}

/// One line's cells as (class, second cell of a wide character), cached
/// by line.
type LineCache = Option<(usize, Vec<(Class, bool)>)>;

/// Word class of a cell, as vi sees words: blanks, word characters
/// (letters, digits, `_`) and other marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Blank,
    Word,
    Mark,
}

fn class_of(c: &Cell) -> Class {
    match c.contents().chars().next() {
        None | Some(' ') => Class::Blank,
        Some(ch) if ch.is_alphanumeric() || ch == '_' => Class::Word,
        Some(ch) if ch.is_whitespace() => Class::Blank,
        Some(_) => Class::Mark,
    }
}

/// The classes of a row's cells; the second cell of a wide character has
/// its first cell's class.
fn classes(row: &Row) -> Vec<Class> {
    let mut out: Vec<Class> = Vec::with_capacity(row.cells().len());
    for c in row.cells() {
        let k = if c.is_wide_continuation() {
            out.last().copied().unwrap_or(Class::Blank)
        } else {
            class_of(c)
        };
        out.push(k);
    }
    out
}

/// The text of cells `from..to` of `row`: a wide character cut by either
/// edge is taken whole, empty cells are spaces.
fn cells_text(row: &Row, from: usize, to: usize) -> String {
    let cells = row.cells();
    let to = to.min(cells.len());
    let mut from = from.min(to);
    while from > 0 && cells[from].is_wide_continuation() {
        from -= 1;
    }
    let mut s = String::new();
    for c in &cells[from..to] {
        if c.is_wide_continuation() {
            continue;
        }
        if c.has_contents() {
            s.push_str(&c.contents());
        } else {
            s.push(' ');
        }
    }
    s
}

/// Column of the cell that holds byte `at` of `row`'s text (as
/// [`Row::text`] builds it).
fn col_of_byte(row: &Row, at: usize) -> u16 {
    let mut bytes = 0usize;
    for (col, c) in row.cells().iter().enumerate() {
        if c.is_wide_continuation() {
            continue;
        }
        bytes += if c.has_contents() {
            c.contents().len()
        } else {
            1
        };
        if bytes > at {
            return col as u16;
        }
    }
    row.cells().len().saturating_sub(1) as u16
}

/// Where `pattern` occurs in `text`, as byte ranges of `text`; case-blind
/// when `fold` (then a character that folds to several is matched by them).
fn find_all(text: &str, pattern: &str, fold: bool) -> Vec<(usize, usize)> {
    if pattern.is_empty() {
        return Vec::new();
    }
    if !fold {
        return text
            .match_indices(pattern)
            .map(|(i, m)| (i, i + m.len()))
            .collect();
    }
    // The folded text, and for each of its bytes the byte it came from.
    let mut lower = String::with_capacity(text.len());
    let mut from: Vec<usize> = Vec::with_capacity(text.len() + 1);
    for (i, ch) in text.char_indices() {
        for l in ch.to_lowercase() {
            let before = lower.len();
            lower.push(l);
            from.extend(std::iter::repeat_n(i, lower.len() - before));
        }
    }
    from.push(text.len());
    let pat = pattern.to_lowercase();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(k) = lower[at..].find(&pat) {
        let s = at + k;
        let e = s + pat.len();
        let end = from.get(e).copied().unwrap_or(text.len());
        out.push((from[s], end.max(from[s] + 1)));
        at = s + pat.len().max(1);
        while at < lower.len() && !lower.is_char_boundary(at) {
            at += 1;
        }
    }
    out
}

impl CopyMode {
    /// Copy mode over `history` in a pane `height` lines tall, showing what
    /// the pane showed: the view `offset` lines above the live screen, the
    /// cursor at the program's cursor (`cursor`, (row, col) on the screen)
    /// when it is in view, else at the start of the view's last line.
    pub fn new(
        slot: SlotIdx,
        history: History,
        offset: usize,
        height: u16,
        cursor: Option<(u16, u16)>,
    ) -> CopyMode {
        let len = history.len();
        let bottom = len.saturating_sub(offset).max(1.min(len));
        let screen_top = history.scrollback_len();
        // As the pane showed it: a screen shorter than the pane at its top
        // (another client sized it), a taller one by its last rows.
        let top = if len - screen_top < usize::from(height.max(1)) {
            screen_top.saturating_sub(offset)
        } else {
            bottom.saturating_sub(usize::from(height.max(1)))
        };
        let at = match cursor {
            Some((r, c)) if offset == 0 => Pos {
                line: (screen_top + usize::from(r)).min(len.saturating_sub(1)),
                col: c.min(history.cols().saturating_sub(1)),
            },
            _ => Pos {
                line: bottom.saturating_sub(1),
                col: 0,
            },
        };
        let mut m = CopyMode {
            slot,
            history,
            cursor: at,
            top,
            height: height.max(1),
            selection: None,
            search: None,
            input: None,
            want_col: at.col,
        };
        m.fix_cursor_col();
        m.follow();
        m
    }

    /// The lines held.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Lines held.
    pub fn len(&self) -> usize {
        self.history.len()
    }

    /// Whether no line is held.
    pub fn is_empty(&self) -> bool {
        self.history.is_empty()
    }

    /// Lines shown.
    pub fn height(&self) -> u16 {
        self.height
    }

    /// The pane is now `height` lines tall: the view keeps its cursor.
    pub fn set_height(&mut self, height: u16) {
        self.height = height.max(1);
        self.follow();
    }

    fn last_line(&self) -> usize {
        self.len().saturating_sub(1)
    }

    /// The last top line: the newest lines fill the view, or, for a screen
    /// shorter than the view, its first row is at the view's top (as the
    /// pane shows it).
    fn max_top(&self) -> usize {
        self.len()
            .saturating_sub(usize::from(self.height))
            .max(self.history.scrollback_len().min(self.last_line()))
    }

    /// Scrolls the view so the cursor is in it.
    fn follow(&mut self) {
        let h = usize::from(self.height);
        if self.cursor.line < self.top {
            self.top = self.cursor.line;
        } else if self.cursor.line >= self.top + h {
            self.top = self.cursor.line + 1 - h;
        }
        self.top = self.top.min(self.max_top());
    }

    /// Never on the second cell of a wide character.
    fn fix_cursor_col(&mut self) {
        let row = self.history.row(self.cursor.line);
        let cells = row.cells();
        let mut c = usize::from(self.cursor.col).min(cells.len().saturating_sub(1));
        while c > 0 && cells.get(c).is_some_and(Cell::is_wide_continuation) {
            c -= 1;
        }
        self.cursor.col = c as u16;
    }

    /// The position `at` in the view's cell (`row`, `col`) of the pane.
    pub fn pos_at(&self, row: u16, col: u16) -> Pos {
        Pos {
            line: (self.top + usize::from(row)).min(self.last_line()),
            col: col.min(self.history.cols().saturating_sub(1)),
        }
    }

    /// Moves the cursor; the view follows it.
    pub fn motion(&mut self, m: Motion) {
        let h = usize::from(self.height);
        let keep_want = matches!(m, Motion::Up | Motion::Down);
        match m {
            Motion::Left => {
                self.cursor.col = self.cursor.col.saturating_sub(1);
                self.fix_cursor_col();
            }
            Motion::Right => {
                let row = self.history.row(self.cursor.line);
                let cells = row.cells();
                let mut c = usize::from(self.cursor.col) + 1;
                while cells.get(c).is_some_and(Cell::is_wide_continuation) {
                    c += 1;
                }
                if c < cells.len() {
                    self.cursor.col = c as u16;
                }
            }
            Motion::Up => self.cursor.line = self.cursor.line.saturating_sub(1),
            Motion::Down => self.cursor.line = (self.cursor.line + 1).min(self.last_line()),
            Motion::NextWord => self.cursor = self.next_word(self.cursor),
            Motion::PrevWord => self.cursor = self.prev_word(self.cursor),
            Motion::WordEnd => self.cursor = self.word_end(self.cursor),
            Motion::LineStart => self.cursor.col = 0,
            Motion::FirstNonBlank => {
                let k = classes(&self.history.row(self.cursor.line));
                self.cursor.col = k.iter().position(|c| *c != Class::Blank).unwrap_or(0) as u16;
            }
            Motion::LineEnd => {
                let k = classes(&self.history.row(self.cursor.line));
                self.cursor.col = k.iter().rposition(|c| *c != Class::Blank).unwrap_or(0) as u16;
            }
            Motion::Top => self.cursor = Pos::default(),
            Motion::Bottom => {
                self.cursor = Pos {
                    line: self.last_line(),
                    col: 0,
                }
            }
            Motion::HalfPageUp | Motion::PageUp | Motion::HalfPageDown | Motion::PageDown => {
                let n = match m {
                    Motion::HalfPageUp | Motion::HalfPageDown => (h / 2).max(1),
                    _ => h.saturating_sub(1).max(1),
                };
                // The view moves and the cursor keeps its row in it; at an
                // end the cursor goes the rest of the way.
                if matches!(m, Motion::HalfPageUp | Motion::PageUp) {
                    let moved = n.min(self.top);
                    self.top -= moved;
                    self.cursor.line =
                        self.cursor
                            .line
                            .saturating_sub(if moved > 0 { moved } else { n });
                } else {
                    let moved = n.min(self.max_top().saturating_sub(self.top));
                    self.top += moved;
                    self.cursor.line = (self.cursor.line + if moved > 0 { moved } else { n })
                        .min(self.last_line());
                }
            }
        }
        if keep_want {
            self.cursor.col = self.want_col;
        }
        self.fix_cursor_col();
        if !keep_want {
            self.want_col = self.cursor.col;
        }
        self.follow();
    }

    /// The next position in reading order, and whether it is on another
    /// line (a line's end parts words); `None` at the end.
    fn step(&self, p: Pos, cols: usize) -> Option<(Pos, bool)> {
        if usize::from(p.col) + 1 < cols {
            Some((
                Pos {
                    line: p.line,
                    col: p.col + 1,
                },
                false,
            ))
        } else if p.line < self.last_line() {
            Some((
                Pos {
                    line: p.line + 1,
                    col: 0,
                },
                true,
            ))
        } else {
            None
        }
    }

    /// The position before `p` in reading order; `None` at the start.
    fn step_back(&self, p: Pos, cols: usize) -> Option<(Pos, bool)> {
        if p.col > 0 {
            Some((
                Pos {
                    line: p.line,
                    col: p.col - 1,
                },
                false,
            ))
        } else if p.line > 0 {
            Some((
                Pos {
                    line: p.line - 1,
                    col: cols.saturating_sub(1) as u16,
                },
                true,
            ))
        } else {
            None
        }
    }

    /// The class at `p`, and whether `p` is the second cell of a wide
    /// character, reading lines through a one-line cache.
    fn cell_at(&self, cache: &mut LineCache, p: Pos) -> (Class, bool) {
        if cache.as_ref().is_none_or(|(l, _)| *l != p.line) {
            let row = self.history.row(p.line);
            let k = classes(&row)
                .into_iter()
                .zip(row.cells().iter().map(Cell::is_wide_continuation))
                .collect();
            *cache = Some((p.line, k));
        }
        cache
            .as_ref()
            .and_then(|(_, k)| k.get(usize::from(p.col)).copied())
            .unwrap_or((Class::Blank, false))
    }

    fn class_at(&self, cache: &mut LineCache, p: Pos) -> Class {
        self.cell_at(cache, p).0
    }

    /// The next character's position in reading order (over the second
    /// cells of wide characters), and whether it is on another line.
    fn next_char(&self, cache: &mut LineCache, p: Pos, cols: usize) -> Option<(Pos, bool)> {
        let (mut q, mut crossed) = self.step(p, cols)?;
        while self.cell_at(cache, q).1 {
            let (n, c) = self.step(q, cols)?;
            q = n;
            crossed |= c;
        }
        Some((q, crossed))
    }

    /// The previous character's position (a wide character's first cell).
    fn prev_char(&self, cache: &mut LineCache, p: Pos, cols: usize) -> Option<(Pos, bool)> {
        let (mut q, mut crossed) = self.step_back(p, cols)?;
        while self.cell_at(cache, q).1 {
            let (n, c) = self.step_back(q, cols)?;
            q = n;
            crossed |= c;
        }
        Some((q, crossed))
    }

    fn next_word(&self, from: Pos) -> Pos {
        let cols = usize::from(self.history.cols());
        let mut cache = None;
        let start = self.class_at(&mut cache, from);
        let mut p = from;
        let mut crossed = false;
        // The rest of this word.
        if start != Class::Blank {
            loop {
                let Some((n, line)) = self.next_char(&mut cache, p, cols) else {
                    return p;
                };
                p = n;
                if line {
                    crossed = true;
                    break;
                }
                if self.class_at(&mut cache, p) != start {
                    break;
                }
            }
        }
        // Then blanks (an empty line is a word of its own, as in vi).
        loop {
            let k = self.class_at(&mut cache, p);
            if k != Class::Blank {
                return p;
            }
            if crossed && p.col == 0 && self.history.text(p.line).is_empty() && p != from {
                return p;
            }
            let Some((n, line)) = self.next_char(&mut cache, p, cols) else {
                return p;
            };
            crossed |= line;
            p = n;
        }
    }

    fn word_end(&self, from: Pos) -> Pos {
        let cols = usize::from(self.history.cols());
        let mut cache = None;
        let Some((mut p, _)) = self.next_char(&mut cache, from, cols) else {
            return from;
        };
        while self.class_at(&mut cache, p) == Class::Blank {
            match self.next_char(&mut cache, p, cols) {
                Some((n, _)) => p = n,
                None => return from,
            }
        }
        let k = self.class_at(&mut cache, p);
        while let Some((n, false)) = self.next_char(&mut cache, p, cols) {
            if self.class_at(&mut cache, n) != k {
                break;
            }
            p = n;
        }
        p
    }

    fn prev_word(&self, from: Pos) -> Pos {
        let cols = usize::from(self.history.cols());
        let mut cache = None;
        let Some((mut p, _)) = self.prev_char(&mut cache, from, cols) else {
            return from;
        };
        while self.class_at(&mut cache, p) == Class::Blank {
            match self.prev_char(&mut cache, p, cols) {
                Some((n, _)) => p = n,
                None => return Pos::default(),
            }
        }
        let k = self.class_at(&mut cache, p);
        while let Some((n, false)) = self.prev_char(&mut cache, p, cols) {
            if self.class_at(&mut cache, n) != k {
                break;
            }
            p = n;
        }
        p
    }

    /// Starts a selection of `shape` at the cursor; the same shape again
    /// ends it, another changes it.
    pub fn toggle_selection(&mut self, shape: Shape) {
        self.selection = match self.selection {
            Some((_, s)) if s == shape => None,
            Some((anchor, _)) => Some((anchor, shape)),
            None => Some((self.cursor, shape)),
        };
    }

    /// Selects from `from` to `to` (a mouse drag), characters.
    pub fn select_range(&mut self, from: Pos, to: Pos) {
        self.selection = Some((from, Shape::Chars));
        self.cursor = to;
        self.fix_cursor_col();
        self.want_col = self.cursor.col;
        self.follow();
    }

    /// Selects the word at `at` (a double-click): the run of cells of its
    /// class on its line; a blank selects the blanks around it.
    pub fn select_word(&mut self, at: Pos) {
        let k = classes(&self.history.row(at.line));
        let c = usize::from(at.col).min(k.len().saturating_sub(1));
        let Some(&want) = k.get(c) else {
            return;
        };
        let mut a = c;
        while a > 0 && k[a - 1] == want {
            a -= 1;
        }
        let mut b = c;
        while b + 1 < k.len() && k[b + 1] == want {
            b += 1;
        }
        self.select_range(
            Pos {
                line: at.line,
                col: a as u16,
            },
            Pos {
                line: at.line,
                col: b as u16,
            },
        );
    }

    /// Selects the line at `at` (a triple-click).
    pub fn select_line(&mut self, at: Pos) {
        self.selection = Some((at, Shape::Lines));
        self.cursor = at;
        self.follow();
    }

    /// The selection's cells on `line` as a column range (end exclusive),
    /// for drawing; `None` when the line has none.
    pub fn selected_cols(&self, line: usize) -> Option<(u16, u16)> {
        let (anchor, shape) = self.selection?;
        let (a, b) = (anchor.min(self.cursor), anchor.max(self.cursor));
        if line < a.line || line > b.line {
            return None;
        }
        let cols = self.history.cols();
        let end_of = |p: Pos| {
            let row = self.history.row(p.line);
            let mut e = usize::from(p.col) + 1;
            while row.cells().get(e).is_some_and(Cell::is_wide_continuation) {
                e += 1;
            }
            e.min(usize::from(cols)) as u16
        };
        Some(match shape {
            Shape::Lines => (0, cols),
            Shape::Block => {
                let (l, r) = (
                    anchor.col.min(self.cursor.col),
                    anchor.col.max(self.cursor.col),
                );
                let row = self.history.row(line);
                let mut e = usize::from(r) + 1;
                while row.cells().get(e).is_some_and(Cell::is_wide_continuation) {
                    e += 1;
                }
                (l, e.min(usize::from(cols)) as u16)
            }
            Shape::Chars => {
                let from = if line == a.line { a.col } else { 0 };
                let to = if line == b.line { end_of(b) } else { cols };
                (from, to)
            }
        })
    }

    /// The selected text, as a person expects to paste it: lines the program
    /// wrote as one (wrapped) are joined, others end in a newline (none
    /// after the last); trailing blanks are dropped; wide characters are
    /// whole. `None` without a selection.
    pub fn selected_text(&self) -> Option<String> {
        let (anchor, shape) = self.selection?;
        let (a, b) = (anchor.min(self.cursor), anchor.max(self.cursor));
        let mut out = String::new();
        for line in a.line..=b.line {
            let (from, to) = self.selected_cols(line)?;
            let row = self.history.row(line);
            let mut piece = cells_text(&row, usize::from(from), usize::from(to));
            let joined = shape != Shape::Block
                && line < b.line
                && self.history.wrapped(line)
                && usize::from(to) >= row.cells().len();
            if joined {
                // A wide character that did not fit left a blank at the end.
                let next = self.history.row(line + 1);
                if next.cells().first().is_some_and(Cell::is_wide)
                    && row.cells().last().is_some_and(|c| !c.has_contents())
                {
                    piece.pop();
                }
            } else {
                let keep = piece.trim_end_matches(' ').len();
                piece.truncate(keep);
            }
            out.push_str(&piece);
            if line < b.line && !joined {
                out.push('\n');
            }
        }
        Some(out)
    }

    /// Whether `pattern` is searched case-blind: it has no capital letter
    /// (smart case, as vi's `smartcase`).
    fn folds(pattern: &str) -> bool {
        !pattern.chars().any(char::is_uppercase)
    }

    /// The matches of the last search on `line`, as column ranges (end
    /// exclusive), for drawing.
    pub fn matches_on(&self, line: usize) -> Vec<(u16, u16)> {
        let Some(s) = &self.search else {
            return Vec::new();
        };
        self.line_matches(line, &s.pattern)
    }

    fn line_matches(&self, line: usize, pattern: &str) -> Vec<(u16, u16)> {
        let text = self.history.text(line);
        let found = find_all(&text, pattern, Self::folds(pattern));
        if found.is_empty() {
            return Vec::new();
        }
        let row = self.history.row(line);
        found
            .into_iter()
            .map(|(s, e)| {
                let a = col_of_byte(&row, s);
                let mut b = usize::from(col_of_byte(&row, e.saturating_sub(1))) + 1;
                while row.cells().get(b).is_some_and(Cell::is_wide_continuation) {
                    b += 1;
                }
                (a, b as u16)
            })
            .collect()
    }

    /// Searches for `pattern` from the cursor toward `dir`, wrapping
    /// around the history's ends; the cursor goes to the match found.
    /// Returns whether there was one.
    pub fn search(&mut self, pattern: &str, dir: Direction) -> bool {
        let mut s = Search {
            pattern: pattern.to_string(),
            dir,
            total: 0,
            current: None,
        };
        let fold = Self::folds(pattern);
        let mut total = 0;
        for line in 0..self.len() {
            total += find_all(&self.history.text(line), pattern, fold).len();
        }
        s.total = total;
        self.search = Some(s);
        self.find(dir)
    }

    /// The last search again, its way (`n`) or the other way (`N`).
    pub fn search_again(&mut self, reverse: bool) -> bool {
        let Some(dir) = self.search.as_ref().map(|s| s.dir) else {
            return false;
        };
        self.find(if reverse { dir.reversed() } else { dir })
    }

    fn find(&mut self, dir: Direction) -> bool {
        let Some(pattern) = self.search.as_ref().map(|s| s.pattern.clone()) else {
            return false;
        };
        let n = self.len();
        if n == 0 || pattern.is_empty() {
            return false;
        }
        let here = self.cursor;
        let mut found = None;
        // The cursor's line first (only past the cursor), then every other
        // line in turn, then the cursor's line again (before it).
        for k in 0..=n {
            let line = match dir {
                Direction::Up => (here.line + n - k % n) % n,
                Direction::Down => (here.line + k) % n,
            };
            let m = self.line_matches(line, &pattern);
            let pick = match dir {
                Direction::Up => m
                    .iter()
                    .rev()
                    .find(|(a, _)| k > 0 || *a < here.col)
                    .copied(),
                Direction::Down => m.iter().find(|(a, _)| k > 0 || *a > here.col).copied(),
            };
            if let Some((a, _)) = pick {
                found = Some(Pos { line, col: a });
                break;
            }
        }
        let Some(p) = found else {
            if let Some(s) = &mut self.search {
                s.current = None;
            }
            return false;
        };
        self.cursor = p;
        self.want_col = p.col;
        // Which match it is, counted from the oldest.
        let fold = Self::folds(&pattern);
        let before: usize = (0..p.line)
            .map(|l| find_all(&self.history.text(l), &pattern, fold).len())
            .sum();
        let on_line = self
            .line_matches(p.line, &pattern)
            .iter()
            .filter(|(a, _)| *a < p.col)
            .count();
        if let Some(s) = &mut self.search {
            s.current = Some(before + on_line + 1);
        }
        self.follow();
        true
    }

    /// Where the cursor is, for the status line: `line/lines`, counted from
    /// the oldest line (1-based).
    pub fn position_label(&self) -> String {
        format!("{}/{}", self.cursor.line + 1, self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Engine;

    /// Copy mode over what `bytes` leave in a `rows` x `cols` terminal.
    fn copy(rows: u16, cols: u16, bytes: &str) -> CopyMode {
        let mut e = Engine::new(rows, cols, 1000);
        e.process(bytes.replace('\n', "\r\n").as_bytes());
        let cursor = e.screen().cursor_position();
        CopyMode::new(0, e.history(), 0, rows, Some(cursor))
    }

    fn at(line: usize, col: u16) -> Pos {
        Pos { line, col }
    }

    #[test]
    fn it_starts_at_the_programs_cursor_showing_the_screen() {
        let mut text = String::new();
        for i in 0..30 {
            text.push_str(&format!("line {i}\n"));
        }
        text.push_str("$ ");
        let m = copy(5, 20, &text);
        // 26 lines of scrollback, then the 5 rows of the screen.
        assert_eq!(m.len(), 31);
        assert_eq!(m.cursor, at(30, 2));
        assert_eq!(m.top, 26);
        // Scrolled back 10 lines: the view stays there, cursor at its end.
        let mut e = Engine::new(5, 20, 1000);
        e.process(text.replace('\n', "\r\n").as_bytes());
        let m = CopyMode::new(0, e.history(), 10, 5, None);
        assert_eq!(m.top, 16);
        assert_eq!(m.cursor, at(20, 0));
    }

    #[test]
    fn vi_motions_move_over_cells_words_and_lines() {
        let mut m = copy(4, 30, "foo.bar  baz_1\n  indented(x)\n\nlast");
        m.cursor = at(0, 0);
        m.motion(Motion::NextWord);
        assert_eq!(m.cursor, at(0, 3), "`.` is a word of its own");
        m.motion(Motion::NextWord);
        assert_eq!(m.cursor, at(0, 4));
        m.motion(Motion::NextWord);
        assert_eq!(m.cursor, at(0, 9), "blanks skipped");
        m.motion(Motion::WordEnd);
        assert_eq!(m.cursor, at(0, 13));
        m.motion(Motion::NextWord);
        assert_eq!(m.cursor, at(1, 2), "to the next line's first word");
        m.motion(Motion::NextWord);
        assert_eq!(m.cursor, at(1, 10));
        m.motion(Motion::NextWord);
        m.motion(Motion::NextWord);
        assert_eq!(m.cursor, at(1, 12));
        m.motion(Motion::NextWord);
        assert_eq!(m.cursor, at(2, 0), "an empty line stops w");
        m.motion(Motion::NextWord);
        assert_eq!(m.cursor, at(3, 0));
        m.motion(Motion::PrevWord);
        assert_eq!(
            m.cursor,
            at(1, 12),
            "b goes back over the empty line to `)`"
        );
        m.motion(Motion::PrevWord);
        assert_eq!(m.cursor, at(1, 11));
        m.motion(Motion::LineStart);
        assert_eq!(m.cursor, at(1, 0));
        m.motion(Motion::FirstNonBlank);
        assert_eq!(m.cursor, at(1, 2));
        m.motion(Motion::LineEnd);
        assert_eq!(m.cursor, at(1, 12));
        m.motion(Motion::Up);
        assert_eq!(m.cursor, at(0, 12));
        m.motion(Motion::Down);
        m.motion(Motion::Down);
        assert_eq!(
            m.cursor,
            at(2, 12),
            "past an empty line's end: the column is kept"
        );
        m.motion(Motion::Down);
        assert_eq!(m.cursor, at(3, 12), "kept for the next line");
        m.motion(Motion::Left);
        assert_eq!(m.cursor, at(3, 11));
        m.motion(Motion::Top);
        assert_eq!(m.cursor, at(0, 0));
        m.motion(Motion::Left);
        m.motion(Motion::Up);
        assert_eq!(m.cursor, at(0, 0), "stops at the start");
        m.motion(Motion::Bottom);
        assert_eq!(m.cursor, at(3, 0));
    }

    #[test]
    fn wide_characters_are_one_stop_and_copied_whole() {
        let mut m = copy(3, 20, "a漢字b");
        m.cursor = at(0, 0);
        m.motion(Motion::Right);
        assert_eq!(m.cursor, at(0, 1));
        m.motion(Motion::Right);
        assert_eq!(m.cursor, at(0, 3), "over the wide character's second cell");
        m.motion(Motion::Right);
        assert_eq!(m.cursor, at(0, 5));
        m.motion(Motion::Left);
        assert_eq!(m.cursor, at(0, 3));
        // A selection that starts on a second cell takes the character.
        m.select_range(at(0, 2), at(0, 4));
        assert_eq!(m.selected_text().as_deref(), Some("漢字"));
        assert_eq!(m.selected_cols(0), Some((2, 5)));
        // Word motions step over second cells: `e` twice reaches the next
        // word, never sticking on a wide character.
        let mut m = copy(3, 30, "héllo 漢字 wörld x");
        m.cursor = at(0, 0);
        m.motion(Motion::NextWord);
        assert_eq!(m.cursor, at(0, 6));
        m.toggle_selection(Shape::Chars);
        m.motion(Motion::WordEnd);
        assert_eq!(m.cursor, at(0, 8));
        m.motion(Motion::WordEnd);
        assert_eq!(m.cursor, at(0, 15));
        assert_eq!(m.selected_text().as_deref(), Some("漢字 wörld"));
        m.motion(Motion::PrevWord);
        assert_eq!(m.cursor, at(0, 11));
        m.motion(Motion::PrevWord);
        assert_eq!(m.cursor, at(0, 6));
        m.motion(Motion::NextWord);
        assert_eq!(m.cursor, at(0, 11));
    }

    #[test]
    fn lines_kept_from_a_wider_pane_are_whole() {
        let mut e = Engine::new(3, 40, 100);
        let long = "0123456789abcdefghijklmnopqrstuvwxyzABCD";
        for _ in 0..5 {
            e.process(format!("{long}\r\n").as_bytes());
        }
        e.resize(3, 20);
        let h = e.history();
        assert_eq!(h.cols(), 40);
        let mut m = CopyMode::new(0, h, 0, 3, None);
        m.select_line(at(0, 0));
        assert_eq!(m.selected_text().as_deref(), Some(long));
        assert!(m.search("ABCD", Direction::Up));
        assert_eq!(m.cursor.col, 36);
    }

    #[test]
    fn a_screen_shorter_than_its_pane_is_shown_from_the_top() {
        let mut e = Engine::new(4, 20, 100);
        for i in 0..10 {
            e.process(format!("row {i}\r\n").as_bytes());
        }
        // The pane is 8 rows; the PTY (another client's size) 4.
        let m = CopyMode::new(0, e.history(), 0, 8, None);
        assert_eq!(m.top, m.history().scrollback_len());
        let m = CopyMode::new(0, e.history(), 2, 8, None);
        assert_eq!(m.top, m.history().scrollback_len() - 2);
    }

    #[test]
    fn page_motions_move_the_view_and_the_cursor() {
        let mut text = String::new();
        for i in 0..100 {
            text.push_str(&format!("{i}\n"));
        }
        let mut m = copy(10, 20, &text);
        let (top, line) = (m.top, m.cursor.line);
        m.motion(Motion::HalfPageUp);
        assert_eq!((m.top, m.cursor.line), (top - 5, line - 5));
        m.motion(Motion::PageUp);
        assert_eq!((m.top, m.cursor.line), (top - 14, line - 14));
        m.motion(Motion::PageDown);
        m.motion(Motion::HalfPageDown);
        assert_eq!((m.top, m.cursor.line), (top, line));
        m.motion(Motion::Top);
        assert_eq!(m.top, 0);
        m.motion(Motion::HalfPageUp);
        assert_eq!((m.top, m.cursor.line), (0, 0));
    }

    #[test]
    fn selections_copy_chars_lines_and_blocks() {
        let mut m = copy(5, 20, "alpha beta   \ngamma delta\nepsilon");
        m.cursor = at(0, 6);
        m.toggle_selection(Shape::Chars);
        m.cursor = at(1, 4);
        assert_eq!(m.selected_text().as_deref(), Some("beta\ngamma"));
        m.toggle_selection(Shape::Lines);
        assert_eq!(
            m.selected_text().as_deref(),
            Some("alpha beta\ngamma delta"),
            "trailing blanks dropped"
        );
        m.toggle_selection(Shape::Block);
        m.cursor = at(2, 8);
        assert_eq!(m.selected_text().as_deref(), Some("bet\ndel\nn"));
        m.toggle_selection(Shape::Block);
        assert_eq!(m.selected_text(), None, "the same shape again ends it");
        // Backwards is the same selection.
        m.cursor = at(1, 4);
        m.toggle_selection(Shape::Chars);
        m.cursor = at(0, 6);
        assert_eq!(m.selected_text().as_deref(), Some("beta\ngamma"));
    }

    #[test]
    fn a_wrapped_line_is_copied_as_the_program_wrote_it() {
        // 25 characters in 10 columns: three rows, one line.
        let mut m = copy(6, 10, "0123456789abcdefghijKLMNO\nnext");
        m.select_line(at(0, 0));
        m.cursor = at(3, 0);
        assert_eq!(
            m.selected_text().as_deref(),
            Some("0123456789abcdefghijKLMNO\nnext")
        );
        // A space at the wrap is kept.
        let mut m = copy(6, 10, "012345678 abcdefg");
        m.select_line(at(0, 0));
        m.cursor = at(1, 3);
        assert_eq!(m.selected_text().as_deref(), Some("012345678 abcdefg"));
        // A wide character that did not fit leaves no blank.
        let mut m = copy(6, 10, "012345678漢字");
        m.select_line(at(0, 0));
        m.cursor = at(1, 0);
        assert_eq!(m.selected_text().as_deref(), Some("012345678漢字"));
    }

    #[test]
    fn search_covers_the_scrollback_counts_and_wraps() {
        let mut text = String::new();
        for i in 0..500 {
            if i == 42 {
                text.push_str("marker-copy-42\n");
            } else if i == 300 {
                text.push_str("x Marker-Copy-300 and marker-copy-301\n");
            } else {
                text.push_str(&format!("line {i}\n"));
            }
        }
        let mut m = copy(10, 60, &text);
        assert!(m.search("marker-copy", Direction::Up));
        let s = m.search.clone().unwrap_or_else(|| panic!("a search"));
        assert_eq!(s.total, 3);
        assert_eq!(m.cursor, at(300, 22), "the nearest above");
        assert_eq!(s.current, Some(3));
        assert!(m.search_again(false));
        assert_eq!(m.cursor, at(300, 2));
        assert!(m.search_again(false));
        assert_eq!(m.cursor, at(42, 0));
        assert_eq!(m.search.as_ref().and_then(|s| s.current), Some(1));
        assert!(m.top <= 42 && 42 < m.top + 10, "the view follows");
        assert!(m.search_again(false));
        assert_eq!(m.cursor, at(300, 22), "wraps around");
        assert!(m.search_again(true));
        assert_eq!(m.cursor, at(42, 0), "N goes the other way (down, wrapping)");
        assert_eq!(m.matches_on(300), vec![(2, 13), (22, 33)]);
        // A capital makes it exact.
        assert!(m.search("Marker", Direction::Down));
        assert_eq!(m.search.as_ref().map(|s| s.total), Some(1));
        assert!(!m.search("no-such-text", Direction::Up));
        assert_eq!(m.search.as_ref().map(|s| s.total), Some(0));
        // Then V and y: the marker line alone.
        assert!(m.search("marker-copy-42", Direction::Up));
        m.toggle_selection(Shape::Lines);
        assert_eq!(m.selected_text().as_deref(), Some("marker-copy-42"));
    }

    #[test]
    fn search_finds_wide_and_folded_text_at_its_cells() {
        let mut m = copy(3, 30, "漢字 ÉCOLE école");
        assert!(m.search("école", Direction::Down));
        assert_eq!(m.search.as_ref().map(|s| s.total), Some(2));
        assert_eq!(m.matches_on(0), vec![(5, 10), (11, 16)]);
        assert!(m.search("字", Direction::Down));
        assert_eq!(m.matches_on(0), vec![(2, 4)]);
    }

    #[test]
    fn a_double_click_takes_a_word_and_a_triple_click_its_line() {
        let mut m = copy(3, 30, "cargo test --release\nnext");
        m.select_word(at(0, 8));
        assert_eq!(m.selected_text().as_deref(), Some("test"));
        m.select_line(at(0, 3));
        assert_eq!(m.selected_text().as_deref(), Some("cargo test --release"));
        let p = m.pos_at(0, 6);
        let q = m.pos_at(0, 15);
        m.select_range(p, q);
        assert_eq!(m.selected_text().as_deref(), Some("test --rel"));
    }
}
