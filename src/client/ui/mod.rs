//! Drawing: `&App` and the sessions' screens into a ratatui frame. Mutates
//! nothing but the [`PaneCache`]. Panes are rendered by tui-term through a
//! small adapter over the engine's screens. [`Shown`] puts a keystroke's
//! echo on the terminal between frames, from the thread that parsed it.

mod echo;
pub mod status;

pub use echo::{Echoed, Shown};

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};
use ref_cast::RefCast;
use tui_term::widget::{Cursor, PseudoTerminal};

use crate::client::app::{App, Modal, layout};
use crate::detect::AgentState;
use crate::engine::Engine;
use crate::keymap::{Action, Mode};
use crate::server::SlotIdx;

/// Gives the UI read access to each slot's terminal engine while drawing.
pub trait ScreenSource {
    /// Calls `f` with the slot's engine (locked for the duration of `f`).
    fn with_engine(&self, slot: SlotIdx, f: &mut dyn FnMut(&Engine));

    /// True if waiting for the slot's engine may take long (its session
    /// floods output and its reader runs at lower priority): the UI then
    /// uses [`ScreenSource::try_with_engine`] and, when the engine is busy,
    /// shows the pane's last drawn frame.
    fn yields(&self, _slot: SlotIdx) -> bool {
        false
    }

    /// Calls `f` with the slot's engine if it is free now; returns whether
    /// `f` ran.
    fn try_with_engine(&self, slot: SlotIdx, f: &mut dyn FnMut(&Engine)) -> bool {
        self.with_engine(slot, f);
        true
    }
}

/// The last drawn contents of the terminal area of each pane whose session
/// floods output, drawn again when that session's engine is busy at draw
/// time, so one flooding pane never holds up a frame (a keystroke's echo in
/// another pane).
#[derive(Debug, Default)]
pub struct PaneCache {
    panes: HashMap<SlotIdx, CachedPane>,
    /// The pane being typed in, as the last frame drew it.
    typed: Option<TypedPane>,
}

/// What the last frame showed of the pane being typed in: its screen rows,
/// the area they were drawn in and the frame's area. Lets a keystroke's echo
/// reach the terminal before the whole frame is drawn again
/// ([`early_echo`]).
#[derive(Debug)]
struct TypedPane {
    slot: SlotIdx,
    area: Rect,
    frame: Rect,
    rows: Vec<crate::engine::Row>,
    /// Where the terminal's cursor is (`None`: hidden), in frame cells.
    cursor: Option<(u16, u16)>,
}

#[derive(Debug)]
struct CachedPane {
    area: Rect,
    cells: Vec<ratatui::buffer::Cell>,
    scrolled: usize,
    cursor: Option<(u16, u16)>,
}

impl PaneCache {
    /// Keeps `area` of `frame` as the slot's last frame.
    fn store(
        &mut self,
        slot: SlotIdx,
        frame: &mut Frame,
        area: Rect,
        scrolled: usize,
        cursor: Option<(u16, u16)>,
    ) {
        let e = self.panes.entry(slot).or_insert_with(|| CachedPane {
            area,
            cells: Vec::new(),
            scrolled,
            cursor,
        });
        e.area = area;
        e.scrolled = scrolled;
        e.cursor = cursor;
        e.cells.clear();
        let buf = frame.buffer_mut();
        for y in area.top()..area.bottom() {
            for x in area.left()..area.right() {
                if let Some(c) = buf.cell((x, y)) {
                    e.cells.push(c.clone());
                }
            }
        }
    }

    /// Draws the slot's last frame into `area` if it was kept at that same
    /// area; returns its scroll offset and cursor.
    fn restore(
        &self,
        slot: SlotIdx,
        frame: &mut Frame,
        area: Rect,
    ) -> Option<(usize, Option<(u16, u16)>)> {
        let e = self.panes.get(&slot).filter(|e| e.area == area)?;
        let buf = frame.buffer_mut();
        let mut cells = e.cells.iter();
        for y in area.top()..area.bottom() {
            for x in area.left()..area.right() {
                if let (Some(dst), Some(src)) = (buf.cell_mut((x, y)), cells.next()) {
                    *dst = src.clone();
                }
            }
        }
        Some((e.scrolled, e.cursor))
    }
}

/// The cells of the pane being typed in (`slot`) that changed since the last
/// frame, as that frame would draw them: in each changed row the span from
/// its first to its last changed cell, without the second cells of wide
/// characters (the terminal fills those). Appends them
/// to `out` as (x, y, cell) and returns where the cursor goes (`None`:
/// hidden).
///
/// Returns `None` (nothing to draw early; the caller waits for the whole
/// frame) unless the last frame drew `slot` as the pane being typed in, at
/// this frame size, and the pane shows its live screen. A whole frame must
/// still follow: it is the authority, and this only puts the echo on the
/// terminal about 250 us sooner (one 200x50 frame takes 175-230 us to
/// render and diff).
pub fn early_echo(
    cache: &mut PaneCache,
    slot: SlotIdx,
    e: &Engine,
    frame: Rect,
    out: &mut Vec<(u16, u16, ratatui::buffer::Cell)>,
) -> Option<Option<(u16, u16)>> {
    let t = cache
        .typed
        .as_mut()
        .filter(|t| t.slot == slot && t.frame == frame)?;
    if e.scroll_offset() != 0 {
        return None;
    }
    let screen = e.screen();
    let (rows, cols) = screen.size();
    if usize::from(rows) != t.rows.len()
        || t.rows.first().map(|r| r.cells().len()) != Some(usize::from(cols))
    {
        return None;
    }
    let area = t.area;
    for (r, (row, drawn)) in screen
        .rows()
        .iter()
        .zip(t.rows.iter_mut())
        .enumerate()
        .take(usize::from(area.height))
    {
        if row == drawn {
            continue;
        }
        // Only the span that changed (a keystroke's echo is a cell or two).
        let (new, old) = (row.cells(), drawn.cells());
        let width = usize::from(area.width).min(new.len()).min(old.len());
        if let Some(mut first) = (0..width).find(|&c| new[c] != old[c]) {
            let last = (first..width)
                .rev()
                .find(|&c| new[c] != old[c])
                .unwrap_or(first);
            // A wide character is drawn whole, from its first cell.
            if first > 0 && (new[first].is_wide_continuation() || old[first].is_wide_continuation())
            {
                first -= 1;
            }
            for (c, cell) in new.iter().enumerate().take(last + 1).skip(first) {
                if cell.is_wide_continuation() {
                    continue;
                }
                let mut rc = ratatui::buffer::Cell::default();
                tui_term::widget::Cell::apply(PaneCell::ref_cast(cell), &mut rc);
                out.push((area.x + c as u16, area.y + r as u16, rc));
            }
        }
        drawn.clone_from(row);
    }
    t.cursor = pane_cursor(screen, area);
    Some(t.cursor)
}

/// Where a pane showing `screen`'s live screen in `area` puts the terminal's
/// cursor, in frame cells; `None` when hidden or outside the area.
fn pane_cursor(screen: &crate::engine::Screen, area: Rect) -> Option<(u16, u16)> {
    let (cr, cc) = screen.cursor_position();
    (!screen.hide_cursor() && cr < area.height && cc < area.width)
        .then_some((area.x + cc, area.y + cr))
}

/// An engine cell seen through tui-term's `Cell` trait.
#[derive(RefCast)]
#[repr(transparent)]
struct PaneCell(crate::engine::Cell);

fn map_color(c: crate::engine::Color) -> Color {
    match c {
        crate::engine::Color::Default => Color::Reset,
        crate::engine::Color::Idx(i) => Color::Indexed(i),
        crate::engine::Color::Rgb(r, g, b) => Color::Rgb(r, g, b),
    }
}

impl tui_term::widget::Cell for PaneCell {
    fn has_contents(&self) -> bool {
        self.0.has_contents()
    }

    fn apply(&self, cell: &mut ratatui::buffer::Cell) {
        use crate::engine::grid::{BOLD, DIM, INVERSE, ITALIC, STRIKE, UNDERLINE};
        let c = &self.0;
        // Most of a screen is empty cells: PseudoTerminal has already reset
        // them (a blank with the default colours), so there is nothing to do.
        if *c == crate::engine::Cell::default() {
            return;
        }
        match c.as_char() {
            Some(ch) => {
                cell.set_char(ch);
            }
            None if c.has_contents() => {
                cell.set_symbol(&c.contents());
            }
            None => {}
        }
        let mut m = Modifier::empty();
        for (flag, modifier) in [
            (BOLD, Modifier::BOLD),
            (DIM, Modifier::DIM),
            (ITALIC, Modifier::ITALIC),
            (UNDERLINE, Modifier::UNDERLINED),
            (INVERSE, Modifier::REVERSED),
            (STRIKE, Modifier::CROSSED_OUT),
        ] {
            if c.has(flag) {
                m |= modifier;
            }
        }
        cell.set_style(
            Style::reset()
                .fg(map_color(c.fgcolor()))
                .bg(map_color(c.bgcolor()))
                .add_modifier(m),
        );
    }
}

/// An engine screen seen through tui-term's `Screen` trait, from row `.1`
/// down (a pane smaller than its PTY shows the bottom of the screen).
struct PaneScreen<'a>(&'a crate::engine::Screen, u16);

impl tui_term::widget::Screen for PaneScreen<'_> {
    type C = PaneCell;

    fn cell(&self, row: u16, col: u16) -> Option<&PaneCell> {
        self.0.cell(row + self.1, col).map(PaneCell::ref_cast)
    }

    fn hide_cursor(&self) -> bool {
        self.0.hide_cursor() || self.0.cursor_position().0 < self.1
    }

    fn cursor_position(&self) -> (u16, u16) {
        let (r, c) = self.0.cursor_position();
        (r.saturating_sub(self.1), c)
    }
}

/// Glyph and colour of a state.
pub fn state_style(s: &AgentState) -> (&'static str, Color) {
    match s {
        AgentState::Starting => ("…", Color::DarkGray),
        AgentState::Working => ("●", Color::Yellow),
        AgentState::Idle => ("○", Color::Green),
        AgentState::NeedsInput => ("?", Color::Cyan),
        AgentState::NeedsPermission => ("◆", Color::LightMagenta),
        AgentState::Stalled => ("◌", Color::LightRed),
        AgentState::Exited(_) => ("✕", Color::Red),
        AgentState::Restarting => ("↻", Color::DarkGray),
    }
}

/// Age of a slot's state as the sidebar shows it: `<1m`, `4m`, `3h`
/// (minutes, so an idle screen needs no per-second redraws).
pub fn slot_age(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 { "<1m".into() } else { age(d) }
}

/// Age as the inbox shows it: `12s`, `4m`, `3h`.
pub fn age(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m", s / 60)
    } else {
        format!("{}h", s / 3600)
    }
}

/// A slot id cut to `width` characters in its middle (`gene…c-1`): ids
/// that share a start (`generic-1`, `generic-2`) differ at their end.
pub fn truncate_id(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width || width < 3 {
        return truncate(s, width);
    }
    let tail = (width - 1) / 2;
    let head = width - 1 - tail;
    let start: String = s.chars().take(head).collect();
    let end: String = s.chars().skip(n - tail).collect();
    format!("{start}…{end}")
}

fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A slot's title as panes and stack bars show it: its state glyph, its
/// id in bold, its agent and state.
fn slot_title(
    slot: &crate::client::app::SlotView,
    glyph: &'static str,
    color: Color,
) -> Vec<Span<'static>> {
    vec![
        Span::raw(" "),
        Span::styled(glyph, Style::default().fg(color)),
        Span::styled(
            format!(" {} ", slot.id),
            Style::default().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!("· {} · {} ", slot.agent, slot.state.label())),
    ]
}

/// `· ⎇ branch ` for a slot in a worktree, with `*N ` for N files with
/// uncommitted changes; empty otherwise.
fn worktree_label(slot: &crate::client::app::SlotView) -> String {
    match &slot.worktree {
        Some((branch, 0)) => format!("· ⎇ {branch} "),
        Some((branch, n)) => format!("· ⎇ {branch} *{n} "),
        None => String::new(),
    }
}

/// `· 1.2k tok · $0.0016 ` for a structured slot once a turn ended (its
/// protocol's counts); empty otherwise.
fn usage_label(slot: &crate::client::app::SlotView) -> String {
    let Some(u) = slot.usage else {
        return String::new();
    };
    let tokens = u.usage.input_tokens.saturating_add(u.usage.output_tokens);
    let tokens = if tokens >= 1000 {
        format!("{:.1}k", tokens as f64 / 1000.0)
    } else {
        tokens.to_string()
    };
    format!("· {tokens} tok · ${:.4} ", u.cost_usd)
}

/// `· sandboxed ` (or `· sandboxed (partly) `, `· NOT confined `, `· no
/// sandbox: not started `) for a slot that asks for a sandbox, styled red
/// when it is not confined; `None` for one that does not ask.
fn sandbox_label(slot: &crate::client::app::SlotView) -> Option<Span<'static>> {
    use crate::sandbox::SandboxState;
    let st = slot.sandbox.as_ref()?;
    let text = format!("· {} ", st.label());
    Some(match st.state {
        SandboxState::Confined | SandboxState::Partial => Span::raw(text),
        SandboxState::Unconfined | SandboxState::Refused => Span::styled(
            text,
            Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
        ),
    })
}

/// Draws the whole UI.
pub fn draw(
    frame: &mut Frame,
    app: &App,
    screens: &dyn ScreenSource,
    cache: &mut PaneCache,
    now: Instant,
) {
    let lay = app.layout();
    // Taken for reuse of its rows; put back only if a pane is typed in now.
    let mut typed = cache.typed.take();
    if let Some(sb) = lay.sidebar {
        sidebar(frame, app, sb, now);
        if app.show_decisions {
            decisions(frame, app, sb, now);
        }
    }
    if let Some(r) = lay.summary {
        summary(frame, app, r);
    }
    cache.panes.retain(|slot, _| screens.yields(*slot));
    for p in &lay.panes {
        pane(frame, app, p, screens, cache, &mut typed);
    }
    for b in &lay.bars {
        stack_bar(frame, app, b);
    }
    if let Some(r) = lay.message {
        message(frame, app, r);
    }
    if lay.panes.is_empty() {
        frame.render_widget(
            Paragraph::new("no slots configured").alignment(Alignment::Center),
            lay.tiles,
        );
    }
    status_line(frame, app, lay.status, lay.message.is_none());
    match &app.modal {
        Modal::Help => help(frame, app),
        Modal::ConfirmQuit => confirm_quit(frame, app),
        Modal::Explain(text) => explain(frame, app, text),
        Modal::Details(id) => details(frame, app, *id),
        Modal::NewSlot(text) => new_slot(frame, text),
        Modal::None => {}
    }
}

/// The "new slot" box: the agent and branch typed so far.
fn new_slot(frame: &mut Frame, text: &str) {
    let lines = vec![
        Line::from(format!("agent [branch]: {text}_")),
        Line::raw(""),
        Line::from("claude, codex, gemini, aider, generic or yours;"),
        Line::from("a branch puts it in a git worktree of its own."),
        Line::from("Enter adds it · Esc cancels"),
    ];
    let area = centered(frame.area(), 56, 7);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .title(" new slot ")
                .borders(Borders::ALL)
                .border_style(Style::default().fg(Color::Yellow)),
        ),
        area,
    );
}

/// `typed`: the last frame's [`TypedPane`], for reuse of its rows; it goes
/// back into the cache if this pane is the one being typed in.
fn pane(
    frame: &mut Frame,
    app: &App,
    p: &layout::PaneArea,
    screens: &dyn ScreenSource,
    cache: &mut PaneCache,
    typed: &mut Option<TypedPane>,
) {
    let Some(slot) = app.slots.get(p.slot) else {
        return;
    };
    let focused = p.slot == app.focus;
    let (glyph, color) = state_style(&slot.state);
    let mut scrolled = 0;
    let mut cursor = None;
    let insert_here = focused && app.mode == Mode::Insert && app.modal == Modal::None;
    let copying = app.copy.as_ref().filter(|c| c.slot == p.slot);
    let mut draw_term = |frame: &mut Frame,
                         area: Rect,
                         block: Option<Block>,
                         scrolled: &mut usize,
                         cursor: &mut Option<(u16, u16)>| {
        let inner = match block {
            Some(b) => {
                let inner = b.inner(area);
                frame.render_widget(b, area);
                inner
            }
            None => area,
        };
        let slot = p.slot;
        let dialog = app.inbox.iter().any(|e| e.slot == slot);
        if let Some(c) = copying {
            *cursor = render_copy(frame, inner, c);
        } else if insert_here && !screens.yields(slot) && !p.clipped() {
            // Keep the rows drawn, under the same lock, for an early echo.
            screens.with_engine(slot, &mut |e| {
                render_engine(frame, inner, e, dialog, scrolled, cursor);
                if *scrolled == 0 {
                    let mut t = typed.take().unwrap_or(TypedPane {
                        slot,
                        area: inner,
                        frame: frame.area(),
                        rows: Vec::new(),
                        cursor: None,
                    });
                    (t.slot, t.area, t.frame) = (slot, inner, frame.area());
                    t.cursor = pane_cursor(e.screen(), inner);
                    let src = e.screen().rows();
                    t.rows.truncate(src.len());
                    for (d, s) in t.rows.iter_mut().zip(src) {
                        d.clone_from(s);
                    }
                    let have = t.rows.len();
                    t.rows.extend(src[have..].iter().cloned());
                    cache.typed = Some(t);
                }
            });
        } else if !screens.yields(slot) {
            screens.with_engine(slot, &mut |e| {
                render_engine(frame, inner, e, dialog, scrolled, cursor)
            });
        } else if screens.try_with_engine(slot, &mut |e| {
            render_engine(frame, inner, e, dialog, scrolled, cursor)
        }) {
            cache.store(slot, frame, inner, *scrolled, *cursor);
        } else if let Some((s, c)) = cache.restore(slot, frame, inner) {
            (*scrolled, *cursor) = (s, c);
        } else {
            screens.with_engine(slot, &mut |e| {
                render_engine(frame, inner, e, dialog, scrolled, cursor)
            });
            cache.store(slot, frame, inner, *scrolled, *cursor);
        }
    };
    if app.attach {
        draw_term(frame, p.area, None, &mut scrolled, &mut cursor);
    } else {
        let border = if focused {
            Style::default().fg(color).add_modifier(Modifier::BOLD)
        } else {
            Style::default().fg(match slot.state {
                AgentState::NeedsPermission | AgentState::NeedsInput => color,
                _ => Color::DarkGray,
            })
        };
        let mut spans = slot_title(slot, glyph, color);
        spans.push(Span::raw(worktree_label(slot)));
        spans.extend(sandbox_label(slot));
        spans.push(Span::raw(usage_label(slot)));
        let title = Line::from(spans);
        let mut block = Block::default()
            .borders(Borders::ALL)
            .border_type(if focused {
                BorderType::Thick
            } else {
                BorderType::Plain
            })
            .border_style(border)
            .title(title);
        if insert_here {
            block = block.title_bottom(Line::from(" INSERT ").right_aligned());
        }
        if let Some(c) = copying {
            block = block.title_bottom(
                Line::from(Span::styled(
                    format!(" COPY {} ", c.position_label()),
                    Style::default().fg(Color::Black).bg(Color::Yellow),
                ))
                .right_aligned(),
            );
        }
        draw_term(frame, p.area, Some(block), &mut scrolled, &mut cursor);
        if scrolled > 0 {
            let label = format!(" ↑ {scrolled} rows · G live ");
            let w = label.chars().count() as u16;
            if p.area.width > w + 2 {
                let r = Rect::new(
                    p.area.x + p.area.width - w - 1,
                    p.area.y + p.area.height - 1,
                    w,
                    1,
                );
                frame.render_widget(
                    Paragraph::new(label)
                        .style(Style::default().fg(Color::Black).bg(Color::Yellow)),
                    r,
                );
            }
        }
    }
    if (insert_here || copying.is_some())
        && let Some((row, col)) = cursor
        && row < p.inner.height
        && col < p.inner.width
    {
        frame.set_cursor_position((p.inner.x + col, p.inner.y + row));
    }
}

/// Renders copy mode's frozen lines into `area`: every search match in view
/// marked, the selection in reverse video, the cursor's cell too. Returns
/// the cursor as (row, col) in `area` when it is in view.
fn render_copy(
    frame: &mut Frame,
    area: Rect,
    c: &crate::client::copy::CopyMode,
) -> Option<(u16, u16)> {
    let area = area.intersection(frame.area());
    if area.is_empty() {
        return None;
    }
    let screen = c.history().screen(c.top, area.height);
    let ps = PaneScreen(&screen, 0);
    frame.render_widget(
        PseudoTerminal::new(&ps).cursor(Cursor::default().visibility(false)),
        area,
    );
    let buf = frame.buffer_mut();
    let mut paint = |row: u16, (a, b): (u16, u16), style: Style| {
        for col in a..b.min(area.width) {
            if let Some(cell) = buf.cell_mut((area.x + col, area.y + row)) {
                cell.set_style(style);
            }
        }
    };
    let current = c.search.as_ref().and(Some(c.cursor));
    for row in 0..area.height {
        let line = c.top + usize::from(row);
        if line >= c.len() {
            break;
        }
        for m in c.matches_on(line) {
            let here = current.is_some_and(|p| p.line == line && p.col == m.0);
            let bg = if here { Color::LightRed } else { Color::Yellow };
            paint(row, m, Style::default().fg(Color::Black).bg(bg));
        }
        if let Some(sel) = c.selected_cols(line) {
            paint(
                row,
                sel,
                Style::default().fg(Color::Black).bg(Color::LightBlue),
            );
        }
    }
    let row = c.cursor.line.checked_sub(c.top)?;
    let row = u16::try_from(row).ok().filter(|r| *r < area.height)?;
    let col = c.cursor.col;
    if col < area.width {
        paint(
            row,
            (col, col + 1),
            Style::default().add_modifier(Modifier::REVERSED),
        );
        Some((row, col))
    } else {
        None
    }
}

/// Renders the engine's screen (the scrolled-back view if any) into `area`;
/// sets the scroll offset and, when the cursor shows, its position. A
/// screen taller than `area` shows the rows that matter: its bottom while
/// `dialog` (a prompt of the slot is open: agents draw dialogs there), else
/// the rows down to its cursor.
fn render_engine(
    frame: &mut Frame,
    area: Rect,
    e: &Engine,
    dialog: bool,
    scrolled: &mut usize,
    cursor: &mut Option<(u16, u16)>,
) {
    // The terminal can be smaller than the layout for one frame: ratatui
    // resizes the frame itself before corral sees the resize event.
    let full = area;
    let area = area.intersection(frame.area());
    let screen = e.screen();
    *scrolled = e.scroll_offset();
    if area.is_empty() {
        return;
    }
    let top = clipped_top(screen, full.height, dialog);
    let ps = PaneScreen(screen, top);
    let term = PseudoTerminal::new(&ps).cursor(Cursor::default().visibility(false));
    frame.render_widget(term, area);
    if !tui_term::widget::Screen::hide_cursor(&ps) && *scrolled == 0 {
        *cursor = Some(tui_term::widget::Screen::cursor_position(&ps));
    }
}

/// The first row of `screen` a pane `height` rows tall shows: 0 when it
/// fits. Else the bottom rows, where agents draw their dialogs and input
/// (always while `dialog`), unless the cursor shows above them: then the
/// rows down to the cursor's (a shell whose prompt is at the top is not
/// typed into blind).
pub fn clipped_top(screen: &crate::engine::Screen, height: u16, dialog: bool) -> u16 {
    let rows = screen.size().0;
    let bottom = rows.saturating_sub(height);
    let (cursor_row, _) = screen.cursor_position();
    if dialog || screen.hide_cursor() || cursor_row >= bottom {
        return bottom;
    }
    (cursor_row + 1).saturating_sub(height)
}

fn sidebar(frame: &mut Frame, app: &App, area: Rect, now: Instant) {
    let waiting = app.inbox.len();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(Color::DarkGray))
        .title(Span::styled(
            " corral ",
            Style::default().add_modifier(Modifier::BOLD),
        ))
        .title(
            Line::from(if area.width >= 40 {
                format!(
                    " {} · {waiting} waiting ",
                    plural(app.slots.len(), "slot", "slots")
                )
            } else {
                format!(" {waiting} waiting ")
            })
            .right_aligned(),
        );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let w = usize::from(inner.width);
    let mut lines: Vec<Line> = Vec::new();
    lines.push(Line::from(Span::styled(
        "SLOTS",
        Style::default().add_modifier(Modifier::BOLD),
    )));
    for (i, s) in app.slots.iter().enumerate() {
        let (glyph, color) = state_style(&s.state);
        // A worktree with uncommitted changes: its id ends in `*`; a
        // sandboxed slot's in `⊡`, one that asked for a sandbox and runs
        // without in `!`.
        let marked;
        let dirty = matches!(&s.worktree, Some((_, n)) if *n > 0);
        let boxed = s.sandbox.as_ref().map(|b| match b.state {
            crate::sandbox::SandboxState::Confined | crate::sandbox::SandboxState::Partial => "⊡",
            _ => "!",
        });
        let s = if dirty || boxed.is_some() {
            marked = crate::client::app::SlotView {
                id: format!(
                    "{}{}{}",
                    s.id,
                    if dirty { "*" } else { "" },
                    boxed.unwrap_or("")
                ),
                ..s.clone()
            };
            &marked
        } else {
            s
        };
        let label = match &s.state {
            AgentState::NeedsPermission => "PERMISSION".to_string(),
            AgentState::NeedsInput => "INPUT".to_string(),
            // Counting down to a restart its policy delays.
            AgentState::Restarting | AgentState::Exited(_)
                if s.restart_at.is_some_and(|at| at > now) =>
            {
                let left = s.restart_at.map_or(0, |at| {
                    at.saturating_duration_since(now).as_secs_f64().ceil() as u64
                });
                format!("restart {left}s")
            }
            other => other.label(),
        };
        let age = slot_age(app.ages_at(now).saturating_duration_since(s.since));
        let text = if w >= 40 {
            format!(
                "{:<10} {:<7} {:<12} {:>4}",
                truncate_id(&s.id, 10),
                truncate(&s.agent, 7),
                truncate(&label, 12),
                age
            )
        } else if w >= 28 {
            format!(
                "{:<8} {:<10} {:>4}",
                truncate_id(&s.id, 8),
                truncate(&label, 10),
                age
            )
        } else {
            format!("{:<8} {}", truncate_id(&s.id, 8), label)
        };
        let style = if i == app.focus {
            Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED)
        } else {
            Style::default()
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{glyph} "), Style::default().fg(color)),
            Span::styled(truncate(&text, w.saturating_sub(2)), style),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(
        format!("INBOX ({waiting})"),
        Style::default().add_modifier(Modifier::BOLD),
    )));
    for (i, e) in app.inbox.iter().enumerate() {
        let id = app.slots.get(e.slot).map_or("?", |s| s.id.as_str());
        let sel = i == app.inbox_sel;
        // Slot, tool and subject first; the age only where it fits. A mark
        // tells what corral does not know exactly: `?` a subject read off
        // the screen that failed a check.
        let mark = if e.prompt.incomplete.is_some() && e.prompt.tool != crate::detect::UNKNOWN_TOOL
        {
            "?"
        } else {
            ""
        };
        let mut text = format!(
            "{} {} {}{mark} {}",
            if sel { "▶" } else { " " },
            truncate_id(id, 10),
            e.prompt.tool,
            crate::client::app::shown(&e.prompt.subject).replace('\n', "⏎")
        );
        let age = age(now.saturating_duration_since(e.opened));
        let used = text.chars().count();
        if used + age.chars().count() < w {
            text.push_str(&" ".repeat(w - used - age.chars().count()));
            text.push_str(&age);
        }
        let style = if sel {
            Style::default()
                .fg(Color::LightMagenta)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default()
        };
        lines.push(Line::from(Span::styled(truncate(&text, w), style)));
    }
    if app.inbox.is_empty() {
        lines.push(Line::from(Span::styled(
            "  nothing waiting",
            Style::default().fg(Color::DarkGray),
        )));
    } else {
        let k = |a: Action| {
            app.keymap
                .key_for(Mode::Normal, a)
                .unwrap_or_else(|| "-".into())
        };
        let always = app.target_prompt().is_some_and(|e| {
            e.prompt
                .options
                .iter()
                .any(|o| o.kind == crate::detect::AnswerKind::ApproveAlways)
        });
        let mut hint = format!("  [{}] once ", k(Action::ApproveOnce));
        if always {
            hint.push_str(&format!(" [{}] always ", k(Action::ApproveAlways)));
        }
        hint.push_str(&format!(
            " [{}] deny  [{}] go",
            k(Action::Deny),
            k(Action::GoToPrompt)
        ));
        if hint.chars().count() > w {
            hint = format!(
                " {}/{}/{} answer {} go",
                k(Action::ApproveOnce),
                k(Action::ApproveAlways),
                k(Action::Deny),
                k(Action::GoToPrompt)
            );
        }
        lines.push(Line::from(Span::styled(
            truncate(&hint, w),
            Style::default().fg(Color::Cyan),
        )));
    }
    frame.render_widget(Paragraph::new(lines), inner);
    // The selected prompt's whole subject, exactly as it will be decided on.
    if let (Some(r), Some(e)) = (app.layout().inbox_detail, app.inbox.get(app.inbox_sel)) {
        let b = crate::client::app::subject_block(
            &e.prompt,
            usize::from(r.width),
            usize::from(r.height),
        );
        let n_subject = b.subject_rows;
        let always_from = b.always_from;
        let block: Vec<Line> = b
            .rows
            .into_iter()
            .enumerate()
            .map(|(i, row)| {
                let style = if i < n_subject {
                    Style::default().fg(Color::White)
                } else if i >= always_from {
                    Style::default().fg(Color::Cyan)
                } else {
                    Style::default().fg(Color::Yellow)
                };
                Line::from(Span::styled(row, style))
            })
            .collect();
        frame.render_widget(Paragraph::new(block), r);
    }
}

/// The recent decisions, newest first, over the lower half of the sidebar.
fn decisions(frame: &mut Frame, app: &App, sidebar: Rect, now: Instant) {
    let h = (sidebar.height / 2).max(4).min(sidebar.height);
    let area = Rect::new(sidebar.x, sidebar.y + sidebar.height - h, sidebar.width, h);
    let w = usize::from(sidebar.width.saturating_sub(2));
    let lines: Vec<Line> = if app.decisions.is_empty() {
        vec![Line::from(Span::styled(
            "no decisions yet",
            Style::default().fg(Color::DarkGray),
        ))]
    } else {
        app.decisions
            .iter()
            .rev()
            .map(|d| {
                Line::from(truncate(
                    &format!("{:>4} {}", age(now.saturating_duration_since(d.at)), d.text),
                    w,
                ))
            })
            .collect()
    };
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(Style::default().fg(Color::Cyan))
                .title(" decisions "),
        ),
        area,
    );
}

/// The status line: the mode (and `AUTO PAUSED`) first, the help key at
/// the right end, and between them the hints shortened to fit (in the
/// attach view: the slot's state and its prompt's answer keys and subject).
/// A message goes here only where the sidebar has no room for it, and then
/// takes the hints' place without touching the mode or the help key.
fn status_line(frame: &mut Frame, app: &App, area: Rect, message_here: bool) {
    let total = usize::from(area.width);
    let mut left: Vec<Span> = Vec::new();
    let badge_style = match app.mode {
        Mode::Normal => Style::default().fg(Color::Black).bg(Color::Blue),
        Mode::Insert => Style::default().fg(Color::Black).bg(Color::Green),
        Mode::Copy => Style::default().fg(Color::Black).bg(Color::Yellow),
    };
    let badges = app.status_badges(total);
    for (i, b) in badges.into_iter().enumerate() {
        let style = if i == 0 {
            badge_style.add_modifier(Modifier::BOLD)
        } else {
            Style::default()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD)
        };
        left.push(Span::styled(b, style));
    }
    // The help key, reachable from insert mode through the leave key.
    let help = app.status_help(total);
    let room = app.status_room(total);
    let used: usize = left.iter().map(|s| status::width(&s.content)).sum();

    let mut middle: Vec<Span> = Vec::new();
    let flash = app.flash.as_ref().filter(|_| message_here);
    if let Some(f) = flash {
        let style = if f.error {
            Style::default().fg(Color::White).bg(Color::Red)
        } else {
            Style::default().fg(Color::Black).bg(Color::Cyan)
        };
        middle.push(Span::raw(" "));
        middle.push(Span::styled(
            status::cut(&f.text, room.saturating_sub(1)),
            style,
        ));
    } else if let Some((dir, text)) = app.copy.as_ref().and_then(|c| c.input.as_ref()) {
        // A search being typed: the text, and where it is typed.
        let lead = match dir {
            crate::client::copy::Direction::Up => "/",
            crate::client::copy::Direction::Down => "?",
        };
        let shown_text = status::cut_left(&crate::model::shown(text), room.saturating_sub(3));
        middle.push(Span::styled(
            format!(" {lead}{shown_text}"),
            Style::default().fg(Color::White),
        ));
        middle.push(Span::styled(
            " ",
            Style::default().add_modifier(Modifier::REVERSED),
        ));
    } else if app.attach && app.mode != Mode::Copy {
        // Answer keys first: they matter most.
        let mut parts: Vec<(String, Style)> = Vec::new();
        let (glyph, color, id, label) = app.slots.get(app.focus).map_or(
            ("", Color::Reset, String::new(), String::new()),
            |s| {
                let (g, c) = state_style(&s.state);
                (g, c, s.id.clone(), s.state.label())
            },
        );
        parts.push((format!(" {glyph}"), Style::default().fg(color)));
        if let Some(e) = app.target_prompt() {
            let [state_full, state_short, keys_full, keys_short, subject] =
                app.attach_status_parts(e);
            // Shorter words before the subject is cut: the full state and
            // keys, then shorter keys, then the slot id alone.
            let fits = |a: &str, b: &str| {
                2 + status::width(a) + status::width(b) + status::width(&subject) <= room
            };
            let (state, keys) = if fits(&state_full, &keys_full) {
                (state_full, keys_full)
            } else if fits(&state_full, &keys_short) {
                (state_full, keys_short)
            } else {
                (state_short, keys_short)
            };
            parts.push((state, Style::default()));
            parts.push((keys, Style::default().fg(Color::Cyan)));
            parts.push((subject, Style::default().fg(Color::LightMagenta)));
        } else {
            parts.push((format!(" {id} · {label} "), Style::default()));
            let hints = status::fit_hints(&hint_list(app), room.saturating_sub(24), 0);
            if !hints.is_empty() {
                parts.push((format!("· {hints}"), Style::default().fg(Color::Gray)));
            }
        }
        let mut left_room = room;
        for (text, style) in parts {
            if left_room == 0 {
                break;
            }
            let t = status::cut(&text, left_room);
            left_room -= status::width(&t);
            middle.push(Span::styled(t, style));
        }
    } else {
        let mut room = room;
        if let Some(s) = app.copy.as_ref().and_then(|c| c.search.as_ref()) {
            let found = match s.current {
                Some(k) => format!(" {}: {k} of {} ", s.pattern, s.total),
                None => format!(" {}: {} ", s.pattern, plural(s.total, "match", "matches")),
            };
            let found = status::cut(&crate::model::shown(&found), room.saturating_sub(1));
            room = room.saturating_sub(status::width(&found));
            middle.push(Span::styled(
                found,
                Style::default().fg(Color::Black).bg(Color::Yellow),
            ));
        }
        let hints = status::fit_hints(&hint_list(app), room.saturating_sub(1), app.inbox.len());
        middle.push(Span::styled(
            format!(" {hints}"),
            Style::default().fg(Color::Gray),
        ));
    }
    let used_mid: usize = middle.iter().map(|s| status::width(&s.content)).sum();
    let mut spans = left;
    spans.extend(middle);
    let pad = total.saturating_sub(used + used_mid + status::width(&help));
    spans.push(Span::raw(" ".repeat(pad)));
    spans.push(Span::styled(
        help,
        Style::default().fg(Color::Black).bg(Color::Gray),
    ));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The current mode's hints from the keymap, without the help key (it has
/// its own place).
fn hint_list(app: &App) -> Vec<crate::keymap::Hint> {
    app.keymap
        .hints(app.mode)
        .into_iter()
        .filter(|h| h.action != Action::Help)
        .collect()
}

/// The current message, wrapped into the sidebar's message rows.
fn message(frame: &mut Frame, app: &App, area: Rect) {
    let Some(f) = &app.flash else { return };
    let style = if f.error {
        Style::default().fg(Color::LightRed)
    } else {
        Style::default().fg(Color::Cyan)
    };
    let (mut rows, whole) =
        status::wrap_words(&f.text, usize::from(area.width), usize::from(area.height));
    if !whole && let Some(last) = rows.last_mut() {
        *last = status::cut(&format!("{last}…"), usize::from(area.width));
    }
    let lines: Vec<Line> = rows
        .into_iter()
        .map(|r| Line::from(Span::styled(r, style)))
        .collect();
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(lines), area);
}

/// The one-line summary that replaces the sidebar on narrow terminals:
/// every slot's state glyph and id, then the inbox.
fn summary(frame: &mut Frame, app: &App, area: Rect) {
    let mut spans = Vec::new();
    for (i, s) in app.slots.iter().enumerate() {
        let (glyph, color) = state_style(&s.state);
        spans.push(Span::styled(glyph, Style::default().fg(color)));
        let style = if i == app.focus {
            Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED)
        } else {
            Style::default()
        };
        spans.push(Span::styled(s.id.clone(), style));
        spans.push(Span::raw(" "));
    }
    let waiting = app.inbox.len();
    if let Some(e) = app.inbox.get(app.inbox_sel) {
        let id = app.slots.get(e.slot).map_or("?", |s| s.id.as_str());
        spans.push(Span::styled(
            format!(
                "│ {waiting} waiting ▶ {id} {} {}",
                e.prompt.tool,
                crate::client::app::shown(&e.prompt.subject).replace('\n', "⏎")
            ),
            Style::default().fg(Color::LightMagenta),
        ));
    } else {
        spans.push(Span::styled(
            "│ nothing waiting",
            Style::default().fg(Color::DarkGray),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// A slot stacked away under the focused pane: its title on one row.
fn stack_bar(frame: &mut Frame, app: &App, b: &layout::StackBar) {
    let title = match b.slot.and_then(|s| app.slots.get(s)) {
        Some(slot) => {
            let (glyph, color) = state_style(&slot.state);
            let style = match slot.state {
                AgentState::NeedsPermission | AgentState::NeedsInput => Style::default().fg(color),
                _ => Style::default().fg(Color::DarkGray),
            };
            let block = Block::default()
                .borders(Borders::TOP)
                .border_style(style)
                .title(Line::from(slot_title(slot, glyph, color)));
            frame.render_widget(block, b.area);
            return;
        }
        None => format!(" +{} more: the sidebar lists every slot ", b.more),
    };
    frame.render_widget(
        Block::default()
            .borders(Borders::TOP)
            .border_style(Style::default().fg(Color::DarkGray))
            .title(title),
        b.area,
    );
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// The help overlay's lines: each mode's actions with every key bound to
/// each, one per line, or (`packed`, for a terminal too short for that)
/// as many `keys action` items to a line of `width` cells as fit.
fn help_lines(app: &App, packed: bool, width: usize) -> Vec<Line<'static>> {
    let mut lines: Vec<Line> = Vec::new();
    for mode in [Mode::Normal, Mode::Insert, Mode::Copy] {
        lines.push(Line::from(Span::styled(
            format!("{} mode", mode.label()),
            Style::default().add_modifier(Modifier::BOLD),
        )));
        let mut seen: Vec<Action> = Vec::new();
        let mut row = String::new();
        for b in app.keymap.bindings(mode) {
            if seen.contains(&b.action) {
                continue;
            }
            seen.push(b.action);
            let keys: Vec<String> = app
                .keymap
                .bindings(mode)
                .iter()
                .filter(|x| x.action == b.action)
                .map(|x| x.keys_label())
                .collect();
            if !packed {
                lines.push(Line::from(format!(
                    " {:<14} {}",
                    keys.join(" "),
                    b.action.name()
                )));
                continue;
            }
            let item = format!("{} {}", keys.join(" "), b.action.name());
            if !row.is_empty() && status::width(&row) + 2 + status::width(&item) > width {
                lines.push(Line::from(std::mem::take(&mut row)));
            }
            row.push_str(if row.is_empty() { " " } else { "  " });
            row.push_str(&item);
        }
        if !row.is_empty() {
            lines.push(Line::from(row));
        }
        if mode == Mode::Insert {
            lines.push(Line::from(" other keys go to the focused pane"));
        }
    }
    lines.push(Line::from(Span::styled(
        "any key closes this help",
        Style::default().fg(Color::DarkGray),
    )));
    lines
}

/// Where the help's lines go on into its right column: half way, but
/// never right after a mode's heading (the heading goes with its keys).
fn help_split(lines: &[Line]) -> usize {
    let heading = |l: &Line| {
        l.spans
            .first()
            .is_some_and(|s| s.style.add_modifier.contains(Modifier::BOLD))
    };
    let mut half = lines.len().div_ceil(2);
    while half > 1 && lines.get(half - 1).is_some_and(heading) {
        half -= 1;
    }
    half
}

fn help(frame: &mut Frame, app: &App) {
    let screen = frame.area();
    let mut lines = help_lines(app, false, 0);
    if lines.len() as u16 > 2 * screen.height.saturating_sub(2) {
        lines = help_lines(app, true, 38);
    }
    let two_cols = lines.len() as u16 + 2 > screen.height;
    let (w, h) = if two_cols {
        let split = help_split(&lines);
        (80, split.max(lines.len() - split) as u16 + 2)
    } else {
        (44, lines.len() as u16 + 2)
    };
    let area = centered(screen, w, h);
    frame.render_widget(Clear, area);
    let block = Block::default().borders(Borders::ALL).title(" help ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if two_cols {
        let right = lines.split_off(help_split(&lines));
        let lw = inner.width / 2;
        frame.render_widget(
            Paragraph::new(lines),
            Rect::new(inner.x, inner.y, lw, inner.height),
        );
        frame.render_widget(
            Paragraph::new(right),
            Rect::new(inner.x + lw, inner.y, inner.width - lw, inner.height),
        );
    } else {
        frame.render_widget(Paragraph::new(lines), inner);
    }
}

fn explain(frame: &mut Frame, app: &App, text: &str) {
    let id = app.slots.get(app.focus).map_or("", |s| s.id.as_str());
    let mut lines: Vec<Line> = text.lines().map(|l| Line::from(l.to_string())).collect();
    lines.push(Line::from(Span::styled(
        "any key closes this view",
        Style::default().fg(Color::DarkGray),
    )));
    text_box(frame, &format!(" explain · {id} "), lines);
}

/// A centred box sized to its lines (at least 40 cells wide), over the rest.
fn text_box(frame: &mut Frame, title: &str, lines: Vec<Line>) {
    let screen = frame.area();
    let w = (lines.iter().map(|l| l.width()).max().unwrap_or(20) as u16 + 4).min(screen.width);
    let area = centered(screen, w.max(40), lines.len() as u16 + 2);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(title.to_string()),
        ),
        area,
    );
}

fn details(frame: &mut Frame, app: &App, id: crate::detect::PromptId) {
    let Some(e) = app.inbox.iter().find(|e| e.prompt.id == id) else {
        return;
    };
    let slot = app.slots.get(e.slot).map_or("", |s| s.id.as_str());
    let p = &e.prompt;
    // Every row wrapped to the screen: nothing of the subject is cut off.
    let width = crate::client::app::details_width(frame.area().width);
    let mut lines: Vec<Line> = Vec::new();
    for row in crate::client::app::wrap_cells(&crate::client::app::details_header(slot, p), width) {
        lines.push(Line::from(Span::styled(
            row,
            Style::default().add_modifier(Modifier::BOLD),
        )));
    }
    for row in crate::client::app::wrap_cells(&crate::client::app::shown(&p.subject), width) {
        lines.push(Line::from(Span::styled(
            row,
            Style::default()
                .fg(Color::White)
                .add_modifier(Modifier::BOLD),
        )));
    }
    // The options and what they send come before the dialog's copy (its
    // pane shows it too): a small screen cuts the dialog, not the keys.
    lines.push(Line::raw(""));
    for o in &p.options {
        // The keys first, then the label wrapped at words under itself: a
        // long label never cuts off what the option sends.
        let keys: Vec<String> = o.keys.iter().map(|k| k.to_string()).collect();
        let sends = if keys.is_empty() {
            String::new()
        } else {
            format!("[{}] ", keys.join(" "))
        };
        let head = format!("  {}  {:<15} {sends}", o.number, o.kind.name());
        let label = crate::client::app::shown(&o.label);
        // Beside the head when it leaves room, else on rows of their own.
        let beside = status::width(&head) <= width / 2;
        let indent = if beside { status::width(&head) } else { 4 };
        let (rows, _) = status::wrap_words(&label, width.saturating_sub(indent).max(1), usize::MAX);
        if !beside || rows.is_empty() {
            lines.push(Line::from(head.clone()));
        }
        for (i, r) in rows.iter().enumerate() {
            let lead = if i == 0 && beside {
                head.clone()
            } else {
                " ".repeat(indent)
            };
            lines.push(Line::from(format!("{lead}{r}")));
        }
    }
    lines.push(Line::from(Span::styled(
        "y/a/n answer · a number chooses that option · any other key closes",
        Style::default().fg(Color::DarkGray),
    )));
    lines.push(Line::raw(""));
    for r in &p.dialog {
        lines.extend(
            crate::client::app::wrap_cells(r, width)
                .into_iter()
                .map(Line::from),
        );
    }
    text_box(frame, " prompt ", lines);
}

/// `n` and the noun in the right number: `1 slot`, `2 slots`.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What quitting stops, in words: `2 agents and 1 program are running`.
/// An agent is a slot with an agent profile; a `generic` slot (a shell, a
/// server) is a program.
pub fn running_text(app: &App) -> String {
    let running = app
        .slots
        .iter()
        .filter(|s| !matches!(s.state, AgentState::Exited(_) | AgentState::Restarting));
    let (agents, programs) = running.fold((0, 0), |(a, p), s| {
        if s.agent == "generic" {
            (a, p + 1)
        } else {
            (a + 1, p)
        }
    });
    let mut parts = Vec::new();
    if agents > 0 {
        parts.push(plural(agents, "agent", "agents"));
    }
    if programs > 0 {
        parts.push(plural(programs, "program", "programs"));
    }
    let verb = if agents + programs == 1 { "is" } else { "are" };
    format!("{} {verb} running", parts.join(" and "))
}

fn confirm_quit(frame: &mut Frame, app: &App) {
    let first = format!(
        "{}; quitting stops {}.",
        running_text(app),
        if app.running_count() == 1 {
            "it"
        } else {
            "them"
        }
    );
    let w = (status::width(&first) as u16 + 4).max(50);
    let text = vec![
        Line::from(first),
        Line::raw(""),
        Line::from("Quit corral? y / n"),
    ];
    let area = centered(frame.area(), w, 5);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(text).alignment(Alignment::Center).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(Style::default().fg(Color::Yellow)),
        ),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 22.12: `generic-1` and `generic-2` both showed as `generic…`.
    #[test]
    fn ids_cut_in_the_middle_stay_apart() {
        assert_eq!(truncate_id("generic-1", 8), "gene…c-1");
        assert_ne!(truncate_id("generic-1", 8), truncate_id("generic-2", 8));
        assert_eq!(truncate_id("api", 8), "api");
        assert_eq!(truncate_id("claude-code-12", 10), "claud…e-12");
        assert_eq!(truncate_id("x-日本語-y-z", 6).chars().count(), 6);
    }
}
