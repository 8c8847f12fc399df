//! Layout math: where the sidebar, the panes and the status line go, for
//! drawing and for mouse hit-testing. Pure functions of the app state.

pub use ratatui::layout::Rect;

use crate::app::App;
use crate::keymap::Action;
use crate::session::SlotIdx;

/// Narrowest tile area (in cells) the sidebar leaves beside itself.
const MIN_TILES_WIDTH: u16 = 24;

/// One visible pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaneArea {
    /// The slot shown.
    pub slot: SlotIdx,
    /// The pane including its border.
    pub area: Rect,
    /// The terminal inside it: the PTY gets exactly this size.
    pub inner: Rect,
}

/// Where everything goes on the screen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScreenLayout {
    /// The sidebar, if shown.
    pub sidebar: Option<Rect>,
    /// The area the panes share.
    pub tiles: Rect,
    /// The one-line status line at the bottom.
    pub status: Rect,
    /// Visible panes.
    pub panes: Vec<PaneArea>,
    /// Sidebar row of each slot (clickable).
    pub slot_rows: Vec<(SlotIdx, Rect)>,
    /// Sidebar row of each inbox entry (clickable), by inbox index.
    pub inbox_rows: Vec<(usize, Rect)>,
    /// Where the sidebar shows the selected prompt's whole subject (below
    /// the inbox and its key hint); `None` when there is no room or the
    /// decisions panel covers it.
    pub inbox_detail: Option<Rect>,
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

/// Computes the layout for the app's size, view and slots.
pub fn compute(app: &App) -> ScreenLayout {
    let (cols, rows) = app.size;
    let full = Rect::new(0, 0, cols, rows);
    let status = Rect::new(0, rows.saturating_sub(1), cols, rows.min(1));
    let body = Rect::new(0, 0, cols, rows.saturating_sub(1));
    let n = app.slots.len();
    if app.attach {
        let area = body;
        return ScreenLayout {
            sidebar: None,
            tiles: area,
            status,
            panes: vec![PaneArea {
                slot: app.focus,
                area,
                inner: area,
            }],
            slot_rows: vec![],
            inbox_rows: vec![],
            inbox_detail: None,
        };
    }
    // Narrow terminals get a narrower sidebar: at most 30% of the width, but
    // never under 24 cells unless the sidebar is turned off.
    let sw = app
        .sidebar_width
        .min((cols * 3 / 10).max(24))
        .min(cols.saturating_sub(MIN_TILES_WIDTH));
    let (sidebar, tiles) = if sw >= 16 {
        (
            Some(Rect::new(0, 0, sw, body.height)),
            Rect::new(sw, 0, cols - sw, body.height),
        )
    } else {
        (None, body)
    };
    let mut panes = Vec::new();
    if app.zoom || n <= 1 {
        if n > 0 {
            panes.push(PaneArea {
                slot: app.focus.min(n - 1),
                area: tiles,
                inner: shrink(tiles),
            });
        }
    } else {
        let (gc, gr) = grid(n);
        let row_spans = split(tiles.y, tiles.height, gr);
        for (r, (y, h)) in row_spans.into_iter().enumerate() {
            let first = r * gc;
            let in_row = (n - first).min(gc);
            for (c, (x, w)) in split(tiles.x, tiles.width, in_row).into_iter().enumerate() {
                let area = Rect::new(x, y, w, h);
                panes.push(PaneArea {
                    slot: first + c,
                    area,
                    inner: shrink(area),
                });
            }
        }
    }
    let mut slot_rows = Vec::new();
    let mut inbox_rows = Vec::new();
    let mut inbox_detail = None;
    if let Some(sb) = sidebar {
        let inner = shrink(sb);
        let bottom = inner.y + inner.height;
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
    let _ = full;
    ScreenLayout {
        sidebar,
        tiles,
        status,
        panes,
        slot_rows,
        inbox_rows,
        inbox_detail,
    }
}

/// The pane next to `from` in the direction of a focus action, if any.
pub fn neighbour(lay: &ScreenLayout, from: SlotIdx, dir: Action) -> Option<SlotIdx> {
    let cur = lay.panes.iter().find(|p| p.slot == from)?.area;
    let cx = i32::from(cur.x) * 2 + i32::from(cur.width);
    let cy = i32::from(cur.y) * 2 + i32::from(cur.height);
    lay.panes
        .iter()
        .filter(|p| p.slot != from)
        .filter_map(|p| {
            let a = p.area;
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
            ok.then_some((primary, secondary, p.slot))
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
