//! Scrollback: rows that scrolled off the top of the primary screen, packed
//! into blocks.
//!
//! Each block holds up to [`BLOCK_ROWS`] rows in three flat buffers: the rows'
//! text as one UTF-8 string, their attribute runs, and per row where its text
//! and runs end. A row scrolling off costs no allocation of its own, and a
//! block freed at the front is recycled at the back, so a full scrollback
//! under a flood allocates nothing. Plain ASCII costs about one byte per
//! character plus 12 bytes per row.

use std::collections::VecDeque;

use super::grid::{Attrs, CompactRow, Row};

/// Rows per block. Memory is released at the front a block at a time.
pub const BLOCK_ROWS: usize = 256;

/// Where one row's text and runs end in its block's buffers, in bytes and in
/// runs.
#[derive(Debug, Clone, Copy)]
struct RowEnd {
    text: u32,
    runs: u32,
    wrapped: bool,
}

#[derive(Debug, Default, Clone)]
struct Block {
    text: String,
    runs: Vec<(u16, Attrs)>,
    ends: Vec<RowEnd>,
}

impl Block {
    fn row(&self, k: usize) -> CompactRow<'_> {
        let (t0, r0) = match k.checked_sub(1) {
            Some(p) => (self.ends[p].text as usize, self.ends[p].runs as usize),
            None => (0, 0),
        };
        let e = self.ends[k];
        CompactRow {
            text: &self.text[t0..e.text as usize],
            runs: &self.runs[r0..e.runs as usize],
            wrapped: e.wrapped,
        }
    }

    fn clear(&mut self) {
        self.text.clear();
        self.runs.clear();
        self.ends.clear();
    }
}

/// A bounded scrollback of at most `max` rows, oldest first.
///
/// Every block but the last holds exactly [`BLOCK_ROWS`] rows (the first one
/// counting the rows already dropped from its front), so row `i` is found by
/// division.
#[derive(Debug, Default, Clone)]
pub struct Scrollback {
    blocks: VecDeque<Block>,
    /// Rows already dropped from the front of the first block.
    head: usize,
    len: usize,
    max: usize,
    /// One emptied block kept for reuse.
    spare: Option<Block>,
}

impl Scrollback {
    /// Bytes its blocks hold (their capacity: text, attribute runs, row
    /// ends).
    pub fn heap_bytes(&self) -> usize {
        self.blocks
            .iter()
            .map(|b| {
                b.text.capacity()
                    + b.runs.capacity() * std::mem::size_of::<(u16, Attrs)>()
                    + b.ends.capacity() * std::mem::size_of::<RowEnd>()
            })
            .sum()
    }

    /// An empty scrollback that keeps at most `max` rows (0 keeps none).
    pub fn new(max: usize) -> Scrollback {
        Scrollback {
            max,
            ..Scrollback::default()
        }
    }

    /// Rows stored.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no row is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The most rows kept.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Packs `row` in as the newest row, dropping the oldest when full.
    /// Returns whether a row was dropped (a kept row keeps its index
    /// otherwise). Does nothing when the limit is 0.
    pub fn push(&mut self, row: &Row) -> bool {
        if self.max == 0 {
            return false;
        }
        let dropped = self.len >= self.max;
        if dropped {
            self.pop_front();
        }
        if self
            .blocks
            .back()
            .is_none_or(|b| b.ends.len() >= BLOCK_ROWS)
        {
            let b = self.spare.take().unwrap_or_default();
            self.blocks.push_back(b);
        }
        let Some(b) = self.blocks.back_mut() else {
            return dropped;
        };
        row.compact_into(&mut b.text, &mut b.runs);
        b.ends.push(RowEnd {
            text: b.text.len() as u32,
            runs: b.runs.len() as u32,
            wrapped: row.wrapped(),
        });
        self.len += 1;
        dropped
    }

    fn pop_front(&mut self) {
        let Some(first) = self.blocks.front() else {
            return;
        };
        self.head += 1;
        self.len -= 1;
        if self.head >= first.ends.len() {
            self.head = 0;
            if let Some(mut b) = self.blocks.pop_front() {
                b.clear();
                self.spare = Some(b);
            }
        }
    }

    /// Removes the newest row and unpacks it to `cols` cells, or `None` when
    /// empty.
    pub fn pop_back(&mut self, cols: u16) -> Option<Row> {
        let only = self.blocks.len() == 1;
        let head = self.head;
        let b = self.blocks.back_mut()?;
        let k = b.ends.len().checked_sub(1)?;
        let row = b.row(k).expand(cols);
        b.ends.pop();
        let (t, r) = b
            .ends
            .last()
            .map_or((0, 0), |e| (e.text as usize, e.runs as usize));
        b.text.truncate(t);
        b.runs.truncate(r);
        if b.ends.len() <= if only { head } else { 0 } {
            self.blocks.pop_back();
            if only {
                self.head = 0;
            }
        }
        self.len -= 1;
        Some(row)
    }

    /// Row `i` (0 = oldest), or `None` past the end.
    pub fn get(&self, i: usize) -> Option<CompactRow<'_>> {
        if i >= self.len {
            return None;
        }
        let j = i + self.head;
        self.blocks
            .get(j / BLOCK_ROWS)
            .map(|b| b.row(j % BLOCK_ROWS))
    }

    /// The rows, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = CompactRow<'_>> {
        (0..self.len).filter_map(|i| self.get(i))
    }

    /// Keeps at most `max` rows from now on, dropping the oldest beyond it
    /// (0: every row, and the blocks' memory).
    pub fn set_max(&mut self, max: usize) {
        self.max = max;
        if max == 0 {
            self.clear();
            self.spare = None;
            return;
        }
        while self.len > max {
            self.pop_front();
        }
    }

    /// Drops every row (ED 3).
    pub fn clear(&mut self) {
        self.blocks.clear();
        self.head = 0;
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(s: &str) -> Row {
        let mut r = Row::new(8, Attrs::default());
        r.write_ascii(0, s.as_bytes(), Attrs::default());
        r
    }

    fn texts(sb: &Scrollback) -> Vec<String> {
        sb.iter().map(|r| r.text().to_string()).collect()
    }

    #[test]
    fn bounded_across_blocks_and_rows_keep_their_order() {
        let mut sb = Scrollback::new(BLOCK_ROWS + 10);
        let mut dropped = 0;
        for i in 0..3 * BLOCK_ROWS {
            dropped += usize::from(sb.push(&row(&i.to_string())));
        }
        assert_eq!(sb.len(), BLOCK_ROWS + 10);
        assert_eq!(dropped, 3 * BLOCK_ROWS - sb.len());
        let want: Vec<String> = (3 * BLOCK_ROWS - sb.len()..3 * BLOCK_ROWS)
            .map(|i| i.to_string())
            .collect();
        assert_eq!(texts(&sb), want);
        assert!(sb.get(sb.len()).is_none());
    }

    #[test]
    fn pop_back_walks_back_over_block_edges_then_push_again() {
        let mut sb = Scrollback::new(1000);
        for i in 0..BLOCK_ROWS + 2 {
            sb.push(&row(&i.to_string()));
        }
        for i in (BLOCK_ROWS - 3..BLOCK_ROWS + 2).rev() {
            let r = sb.pop_back(8).map(|r| r.text());
            assert_eq!(r.as_deref(), Some(i.to_string().as_str()));
        }
        sb.push(&row("x"));
        assert_eq!(sb.len(), BLOCK_ROWS - 2);
        assert_eq!(sb.get(BLOCK_ROWS - 3).map(|r| r.text()), Some("x"));
        assert_eq!(sb.get(0).map(|r| r.text()), Some("0"));
    }

    #[test]
    fn dropping_from_the_front_then_popping_the_back_empties_cleanly() {
        let mut sb = Scrollback::new(3);
        for s in ["a", "b", "c", "d", "e"] {
            sb.push(&row(s));
        }
        assert_eq!(texts(&sb), ["c", "d", "e"]);
        for want in ["e", "d", "c"] {
            assert_eq!(sb.pop_back(8).map(|r| r.text()).as_deref(), Some(want));
        }
        assert!(sb.pop_back(8).is_none());
        assert!(sb.is_empty());
        sb.push(&row("f"));
        assert_eq!(texts(&sb), ["f"]);
    }

    #[test]
    fn zero_limit_keeps_nothing() {
        let mut sb = Scrollback::new(0);
        assert!(!sb.push(&row("a")));
        assert!(sb.is_empty());
    }
}
