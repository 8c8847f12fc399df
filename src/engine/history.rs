//! A frozen copy of a terminal's text for copy mode: every scrollback row,
//! then the rows of the screen as shown, so the person can move, select and
//! search while output keeps arriving in the engine.

use std::borrow::Cow;

use super::grid::{Attrs, Row};
use super::scrollback::Scrollback;
use super::term::Screen;

/// The lines of a terminal at one moment: scrollback rows (oldest first)
/// then the screen's rows; `cols` cells wide. On the alternate screen only
/// its rows (a full-screen program has no scrollback).
#[derive(Debug, Clone)]
pub struct History {
    scrollback: Scrollback,
    screen: Vec<Row>,
    cols: u16,
}

impl History {
    /// `cols` is the screen's width; a scrollback row stored when the
    /// terminal was wider widens the history to it, so no line is cut.
    pub(crate) fn new(scrollback: Scrollback, screen: Vec<Row>, cols: u16) -> History {
        let widest = scrollback
            .iter()
            .map(|r| unicode_width::UnicodeWidthStr::width(r.text()))
            .max()
            .unwrap_or(0);
        History {
            scrollback,
            screen,
            cols: cols.max(u16::try_from(widest).unwrap_or(u16::MAX)),
        }
    }

    /// Lines held: scrollback rows plus screen rows.
    pub fn len(&self) -> usize {
        self.scrollback.len() + self.screen.len()
    }

    /// Whether it holds no line.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Width in cells: the screen's, or the widest scrollback row's.
    pub fn cols(&self) -> u16 {
        self.cols
    }

    /// Lines of scrollback (the screen's first row is line `scrollback_len`).
    pub fn scrollback_len(&self) -> usize {
        self.scrollback.len()
    }

    /// Line `i` as `cols` cells (a blank row past the end).
    pub fn row(&self, i: usize) -> Cow<'_, Row> {
        let sb = self.scrollback.len();
        match self.scrollback.get(i) {
            Some(r) => Cow::Owned(r.expand(self.cols)),
            None => match self.screen.get(i - sb.min(i)) {
                Some(r) if i >= sb => Cow::Borrowed(r),
                _ => Cow::Owned(Row::new(self.cols, Attrs::default())),
            },
        }
    }

    /// Whether line `i` wrapped onto the next: the program wrote them as
    /// one line.
    pub fn wrapped(&self, i: usize) -> bool {
        let sb = self.scrollback.len();
        match self.scrollback.get(i) {
            Some(r) => r.wrapped(),
            None => i >= sb && self.screen.get(i - sb).is_some_and(Row::wrapped),
        }
    }

    /// Line `i`'s text, trailing blanks removed ("" past the end).
    pub fn text(&self, i: usize) -> Cow<'_, str> {
        let sb = self.scrollback.len();
        match self.scrollback.get(i) {
            Some(r) => Cow::Borrowed(r.text()),
            None if i >= sb => {
                Cow::Owned(self.screen.get(i - sb).map(Row::text).unwrap_or_default())
            }
            None => Cow::Borrowed(""),
        }
    }

    /// `rows` lines from line `top` as a screen to draw (rows past the end
    /// blank; no cursor).
    pub fn screen(&self, top: usize, rows: u16) -> Screen {
        Screen {
            rows: (0..usize::from(rows))
                .map(|k| {
                    let mut r = self.row(top + k).into_owned();
                    if r.cells().len() < usize::from(self.cols) {
                        r.resize(self.cols);
                    }
                    r
                })
                .collect(),
            cols: self.cols,
            cursor: (0, 0),
            hide_cursor: true,
        }
    }
}
