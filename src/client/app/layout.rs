//! Layout math: where the sidebar, the panes and the status line go, for
//! drawing and for mouse hit-testing. Pure functions of the app state.

pub use ratatui::layout::Rect;

use super::App;
use crate::keymap::Action;
use crate::server::SlotIdx;

/// Narrowest sidebar, in cells: a slot's id and state fit in it. Below
/// this the sidebar folds into a one-line summary.
pub const MIN_SIDEBAR: u16 = 22;

/// Rows at the bottom of the sidebar kept for messages (answers sent,
/// refusals, notices), so a message never covers the hints or the inbox.
pub const MESSAGE_ROWS: u16 = 3;

/// One visible pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaneArea {
    /// The slot shown.
    pub slot: SlotIdx,
    /// The pane including its border.
    pub area: Rect,
    /// The terminal inside it.
    pub inner: Rect,
    /// The PTY size as (rows, cols): the inner size, but never below the
    /// minimum pane. When it is larger than `inner` (a terminal smaller than
    /// one minimum pane), the pane shows the bottom-left part of the screen.
    pub pty: (u16, u16),
}

impl PaneArea {
    /// Whether the pane shows only part of its slot's screen.
    pub fn clipped(&self) -> bool {
        self.pty.0 > self.inner.height || self.pty.1 > self.inner.width
    }
}

/// A slot stacked away under the focused pane: one row with its title and
/// state. `slot` is `None` for the row that counts the slots left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackBar {
    /// The slot, or `None` for "+N more".
    pub slot: Option<SlotIdx>,
    /// Its row.
    pub area: Rect,
    /// How many slots the "+N more" row stands for (0 for a slot's bar).
    pub more: usize,
}

/// Where everything goes on the screen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScreenLayout {
    /// The sidebar, if shown.
    pub sidebar: Option<Rect>,
    /// The one-line summary of slots and inbox that replaces the sidebar on
    /// a terminal too narrow for it beside one minimum pane.
    pub summary: Option<Rect>,
    /// The area the panes share.
    pub tiles: Rect,
    /// The one-line status line at the bottom.
    pub status: Rect,
    /// Visible panes.
    pub panes: Vec<PaneArea>,
    /// Stacked layout: the other slots' title bars, in slot order around
    /// the focused pane.
    pub bars: Vec<StackBar>,
    /// PTY sizes (rows, cols) of the slots stacked away: the focused pane's,
    /// so moving the focus through the stack resizes nothing.
    pub stacked_sizes: Vec<(SlotIdx, (u16, u16))>,
    /// Sidebar row of each slot (clickable).
    pub slot_rows: Vec<(SlotIdx, Rect)>,
    /// Sidebar row of each inbox entry (clickable), by inbox index.
    pub inbox_rows: Vec<(usize, Rect)>,
    /// Where the sidebar shows the selected prompt's whole subject (below
    /// the inbox and its key hint); `None` when there is no room or the
    /// decisions panel covers it.
    pub inbox_detail: Option<Rect>,
    /// Where messages go: the bottom rows of the sidebar. `None` (no
    /// sidebar, or one too short) puts them in the status line.
    pub message: Option<Rect>,
}

fn shrink(r: Rect) -> Rect {
    Rect {
        x: r.x.saturating_add(1),
        y: r.y.saturating_add(1),
        width: r.width.saturating_sub(2),
        height: r.height.saturating_sub(2),
    }
}

/// Columns and rows of the near-square grid for `n` panes.
pub fn grid(n: usize) -> (usize, usize) {
    if n == 0 {
        return (1, 1);
    }
    let mut cols = 1;
    while cols * cols < n {
        cols += 1;
    }
    let rows = n.div_ceil(cols);
    (cols, rows)
}

/// Splits `len` cells into `parts` nearly equal runs; returns (offset, len).
fn split(start: u16, len: u16, parts: usize) -> Vec<(u16, u16)> {
    let parts = parts.max(1) as u32;
    (0..parts)
        .map(|i| {
            let a = u32::from(len) * i / parts;
            let b = u32::from(len) * (i + 1) / parts;
            (start + a as u16, (b - a) as u16)
        })
        .collect()
}

/// The grid (columns, rows) that tiles `n` panes in `area` with every
/// pane's inside at least `min` (cols, rows): the near-square one if it
/// fits, else the fitting one with the fewest empty cells and the largest
/// smallest pane. `None` when no grid fits.
pub fn fitting_grid(n: usize, area: Rect, min: (u16, u16)) -> Option<(usize, usize)> {
    let fits = |gc: usize, gr: usize| {
        let w = usize::from(area.width) / gc;
        let h = usize::from(area.height) / gr;
        (w >= usize::from(min.0) + 2 && h >= usize::from(min.1) + 2).then_some(w * h)
    };
    let square = grid(n);
    if fits(square.0, square.1).is_some() {
        return Some(square);
    }
    (1..=n)
        .filter_map(|gc| {
            let gr = n.div_ceil(gc);
            fits(gc, gr).map(|smallest| (gc * gr - n, std::cmp::Reverse(smallest), gc, gr))
        })
        .min()
        .map(|(_, _, gc, gr)| (gc, gr))
}

/// A pane at `area` for `slot`, its PTY at least `min` (cols, rows).
fn pane_at(slot: SlotIdx, area: Rect, min: (u16, u16)) -> PaneArea {
    let inner = shrink(area);
    PaneArea {
        slot,
        area,
        inner,
        pty: (inner.height.max(min.1), inner.width.max(min.0)),
    }
}

/// Computes the layout for the app's size, view and slots.
///
/// The panes tile the area beside the sidebar in a grid while every pane
/// keeps at least the minimum pane size (`[ui] min_pane`, at which the
/// built-in agents draw their dialogs whole). When they would be smaller
/// they stack, as zellij's stacked panes do: the focused pane takes the
/// area and the others show as one-row title bars around it, in slot order.
/// The sidebar narrows down to [`MIN_SIDEBAR`] to leave one minimum pane
/// beside it, and below that folds into a one-line summary at the top.
pub fn compute(app: &App) -> ScreenLayout {
    let (cols, rows) = app.size;
    let min = app.min_pane;
    let status = Rect::new(0, rows.saturating_sub(1), cols, rows.min(1));
    let body = Rect::new(0, 0, cols, rows.saturating_sub(1));
    let n = app.slots.len();
    let focus = app.focus.min(n.saturating_sub(1));
    if app.attach {
        let area = body;
        return ScreenLayout {
            tiles: area,
            status,
            panes: vec![PaneArea {
                slot: app.focus,
                area,
                inner: area,
                pty: (area.height.max(min.1), area.width.max(min.0)),
            }],
            ..ScreenLayout::default()
        };
    }
    // The sidebar: as configured (at most 30% of a wide terminal), narrower
    // where one minimum pane would not fit beside it, folded below that.
    let need = min.0.saturating_add(2);
    let want = app.sidebar_width.min((cols * 3 / 10).max(MIN_SIDEBAR));
    let sw = if app.sidebar_width == 0 {
        0
    } else if cols >= want.saturating_add(need) {
        want
    } else {
        cols.saturating_sub(need).min(want)
    };
    let (sidebar, summary, tiles) = if sw >= MIN_SIDEBAR {
        (
            Some(Rect::new(0, 0, sw, body.height)),
            None,
            Rect::new(sw, 0, cols - sw, body.height),
        )
    } else if app.sidebar_width > 0 && body.height > 1 {
        (
            None,
            Some(Rect::new(0, 0, cols, 1)),
            Rect::new(0, 1, cols, body.height - 1),
        )
    } else {
        (None, None, body)
    };
    let mut panes = Vec::new();
    let mut bars = Vec::new();
    let mut stacked_sizes = Vec::new();
    if n == 0 {
    } else if app.zoom || n == 1 {
        panes.push(pane_at(focus, tiles, min));
    } else if let Some((gc, gr)) = fitting_grid(n, tiles, min) {
        let row_spans = split(tiles.y, tiles.height, gr);
        for (r, (y, h)) in row_spans.into_iter().enumerate() {
            let first = r * gc;
            if first >= n {
                break;
            }
            let in_row = (n - first).min(gc);
            for (c, (x, w)) in split(tiles.x, tiles.width, in_row).into_iter().enumerate() {
                panes.push(pane_at(first + c, Rect::new(x, y, w, h), min));
            }
        }
    } else {
        // Stacked. Bars for as many others as leave the focused pane its
        // minimum height, nearest to the focus first; a last row counts the
        // rest.
        let room = tiles.height.saturating_sub(min.1.saturating_add(2));
        let others: Vec<SlotIdx> = (0..n).filter(|&s| s != focus).collect();
        let shown: Vec<SlotIdx> = if others.len() <= usize::from(room) {
            others.clone()
        } else {
            let mut by_distance = others.clone();
            by_distance.sort_by_key(|&s| (s.abs_diff(focus), s));
            let mut keep: Vec<SlotIdx> = by_distance
                .into_iter()
                .take(usize::from(room.saturating_sub(1)))
                .collect();
            keep.sort_unstable();
            keep
        };
        // With no room at all the sidebar still lists every slot.
        let more = if room > 0 {
            others.len() - shown.len()
        } else {
            0
        };
        let above = shown.iter().filter(|&&s| s < focus).count() as u16;
        let below = shown.len() as u16 - above + u16::from(more > 0);
        let pane_h = tiles.height.saturating_sub(above + below);
        let mut y = tiles.y;
        for &s in shown.iter().filter(|&&s| s < focus) {
            bars.push(StackBar {
                slot: Some(s),
                area: Rect::new(tiles.x, y, tiles.width, 1),
                more: 0,
            });
            y += 1;
        }
        let p = pane_at(focus, Rect::new(tiles.x, y, tiles.width, pane_h), min);
        y += pane_h;
        for &s in shown.iter().filter(|&&s| s > focus) {
            bars.push(StackBar {
                slot: Some(s),
                area: Rect::new(tiles.x, y, tiles.width, 1),
                more: 0,
            });
            y += 1;
        }
        if more > 0 {
            bars.push(StackBar {
                slot: None,
                area: Rect::new(tiles.x, y, tiles.width, 1),
                more,
            });
        }
        stacked_sizes = others.iter().map(|&s| (s, p.pty)).collect();
        panes.push(p);
    }
    let mut slot_rows = Vec::new();
    let mut inbox_rows = Vec::new();
    let mut inbox_detail = None;
    let mut message = None;
    if let Some(sb) = sidebar {
        let inner = shrink(sb);
        let mut bottom = inner.y + inner.height;
        // Messages get the last rows when the sidebar has room for them
        // below its slots and a few inbox rows.
        let needed = n as u16 + 6 + MESSAGE_ROWS;
        if inner.height >= needed {
            bottom -= MESSAGE_ROWS;
            message = Some(Rect::new(inner.x, bottom, inner.width, MESSAGE_ROWS));
        }
        // Row layout mirrors ui::sidebar: "SLOTS", slots, blank, "INBOX", entries.
        let mut y = inner.y + 1;
        for i in 0..n {
            if y < bottom {
                slot_rows.push((i, Rect::new(inner.x, y, inner.width, 1)));
            }
            y += 1;
        }
        y += 2;
        for i in 0..app.inbox.len() {
            if y + 2 < bottom {
                inbox_rows.push((i, Rect::new(inner.x, y, inner.width, 1)));
            }
            y += 1;
        }
        // The key hint, then the selected prompt's subject.
        y += 1;
        if !app.inbox.is_empty() && !app.show_decisions && y < bottom {
            inbox_detail = Some(Rect::new(inner.x, y, inner.width, bottom - y));
        }
    }
    ScreenLayout {
        sidebar,
        summary,
        tiles,
        status,
        panes,
        bars,
        stacked_sizes,
        slot_rows,
        inbox_rows,
        inbox_detail,
        message,
    }
}

/// The pane next to `from` in the direction of a focus action, if any.
pub fn neighbour(lay: &ScreenLayout, from: SlotIdx, dir: Action) -> Option<SlotIdx> {
    let cur = lay.panes.iter().find(|p| p.slot == from)?.area;
    let cx = i32::from(cur.x) * 2 + i32::from(cur.width);
    let cy = i32::from(cur.y) * 2 + i32::from(cur.height);
    let bars = lay.bars.iter().filter_map(|b| b.slot.map(|s| (s, b.area)));
    lay.panes
        .iter()
        .map(|p| (p.slot, p.area))
        .chain(bars)
        .filter(|(slot, _)| *slot != from)
        .filter_map(|(slot, a)| {
            let px = i32::from(a.x) * 2 + i32::from(a.width);
            let py = i32::from(a.y) * 2 + i32::from(a.height);
            let ok = match dir {
                Action::FocusLeft => a.x + a.width <= cur.x,
                Action::FocusRight => a.x >= cur.x + cur.width,
                Action::FocusUp => a.y + a.height <= cur.y,
                Action::FocusDown => a.y >= cur.y + cur.height,
                _ => false,
            };
            let (primary, secondary) = match dir {
                Action::FocusLeft | Action::FocusRight => ((px - cx).abs(), (py - cy).abs()),
                _ => ((py - cy).abs(), (px - cx).abs()),
            };
            ok.then_some((primary, secondary, slot))
        })
        .min()
        .map(|(_, _, s)| s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_is_near_square() {
        assert_eq!(grid(1), (1, 1));
        assert_eq!(grid(2), (2, 1));
        assert_eq!(grid(3), (2, 2));
        assert_eq!(grid(4), (2, 2));
        assert_eq!(grid(5), (3, 2));
        assert_eq!(grid(9), (3, 3));
        assert_eq!(grid(10), (4, 3));
    }

    #[test]
    fn split_covers_the_length_exactly() {
        let s = split(10, 101, 3);
        assert_eq!(s.first().map(|x| x.0), Some(10));
        assert_eq!(s.iter().map(|x| x.1).sum::<u16>(), 101);
        let last = s[2];
        assert_eq!(last.0 + last.1, 111);
    }
}
