//! Copy mode and the mouse in the UI state: selecting, searching and copying
//! a pane's history, clicks, drags and the wheel.

use super::*;

impl App {
    /// The inner area of `slot`'s pane, if it is on screen.
    pub(super) fn pane_inner(&self, slot: SlotIdx) -> Option<Rect> {
        self.layout()
            .panes
            .iter()
            .find(|p| p.slot == slot)
            .map(|p| p.inner)
    }

    /// Starts copy mode on `slot` (the answer to [`Effect::EnterCopy`])
    /// over `history`, its pane's view `offset` lines back and the
    /// program's cursor at `cursor` (row, col); carries out the mouse
    /// gesture that asked for it, if any. Returns what that asks of the
    /// outside (a copy).
    pub fn start_copy(
        &mut self,
        slot: SlotIdx,
        history: History,
        offset: usize,
        cursor: Option<(u16, u16)>,
        now: Instant,
    ) -> Vec<Effect> {
        let mut fx = Vec::new();
        let Some(inner) = self.pane_inner(slot) else {
            self.copy_intent = None;
            return fx;
        };
        if self.modal != Modal::None {
            self.copy_intent = None;
            return fx;
        }
        let mut c = CopyMode::new(slot, history, offset, inner.height, cursor);
        let intent = self.copy_intent.take();
        if self.mode != Mode::Copy {
            self.copy_return = if self.mode == Mode::Insert && slot == self.focus {
                Mode::Insert
            } else {
                Mode::Normal
            };
        }
        self.focus = slot;
        self.mode = Mode::Copy;
        self.pending.clear();
        match intent {
            Some(MouseIntent::Drag { from, to }) => {
                let a = c.pos_at(from.1, from.0);
                c.select_range(a, c.pos_at(to.1, to.0));
                self.drag_anchor = Some(a);
                self.copy = Some(c);
            }
            Some(MouseIntent::Word(at)) => {
                c.select_word(c.pos_at(at.1, at.0));
                self.copy = Some(c);
                self.copy_selection(now, &mut fx);
            }
            Some(MouseIntent::Line(at)) => {
                c.select_line(c.pos_at(at.1, at.0));
                self.copy = Some(c);
                self.copy_selection(now, &mut fx);
            }
            None => self.copy = Some(c),
        }
        fx
    }

    /// Leaves copy mode: back to normal mode and the pane's live screen.
    pub(super) fn leave_copy(&mut self, fx: &mut Vec<Effect>) {
        if let Some(c) = self.copy.take() {
            fx.push(Effect::Session(Command::Scroll {
                slot: c.slot,
                delta: i32::MIN,
            }));
        }
        self.drag_anchor = None;
        self.pending.clear();
        self.mode = std::mem::replace(&mut self.copy_return, Mode::Normal);
    }

    /// Copies the selection and leaves copy mode; with none, says so.
    pub(super) fn copy_selection(&mut self, now: Instant, fx: &mut Vec<Effect>) {
        match self.copy.as_ref().and_then(CopyMode::selected_text) {
            Some(text) if !text.is_empty() => {
                let n = text.chars().count();
                let lines = text.lines().count();
                fx.push(Effect::Copy(text));
                self.flash(
                    format!(
                        "copied {} ({})",
                        plural_word(n, "character", "characters"),
                        plural_word(lines, "line", "lines")
                    ),
                    false,
                    now,
                );
                self.leave_copy(fx);
            }
            _ => self.flash("nothing selected: v, V or ctrl-v selects", true, now),
        }
    }

    /// A key in copy mode: a search being typed takes it as text;
    /// otherwise the `[[copy]]` keymap.
    pub(super) fn copy_key(&mut self, k: KeyPress, now: Instant, fx: &mut Vec<Effect>) {
        let height = self.copy.as_ref().and_then(|c| self.pane_inner(c.slot));
        let Some(c) = self.copy.as_mut() else {
            self.mode = Mode::Normal;
            return;
        };
        if let Some(h) = height {
            c.set_height(h.height);
        }
        if let Some((dir, mut text)) = c.input.take() {
            match k.code {
                KeyCode::Esc => {}
                KeyCode::Enter => {
                    // An empty search repeats the last one, as in vi.
                    let found = if text.is_empty() {
                        c.search.is_some() && c.search_again(false)
                    } else {
                        c.search(&text, dir)
                    };
                    if !found {
                        let what = if text.is_empty() {
                            c.search
                                .as_ref()
                                .map(|s| s.pattern.clone())
                                .unwrap_or_default()
                        } else {
                            text
                        };
                        self.flash(format!("not found: {what}"), true, now);
                    }
                }
                KeyCode::Backspace => {
                    text.pop();
                    c.input = Some((dir, text));
                }
                KeyCode::Char(ch) if !k.mods.ctrl && !k.mods.alt && text.chars().count() < 200 => {
                    text.push(ch);
                    c.input = Some((dir, text));
                }
                _ => c.input = Some((dir, text)),
            }
            return;
        }
        if let Some((a, _)) = self.pending_action(Mode::Copy, k) {
            self.run_copy(a, now, fx);
            if self.mode != Mode::Copy {
                self.copy_guard_until = Some(now + RESELECT_GUARD);
            }
        }
    }

    /// `k` after the keys pressed so far, looked up in `mode`: the action
    /// they complete, with the keys; `None` while they are a prefix or
    /// when nothing is bound to them (then they are forgotten).
    pub(super) fn pending_action(
        &mut self,
        mode: Mode,
        k: KeyPress,
    ) -> Option<(Action, Vec<KeyPress>)> {
        self.pending.push(k);
        match self.keymap.lookup(mode, &self.pending) {
            Lookup::Prefix => None,
            Lookup::Unbound => {
                self.pending.clear();
                None
            }
            Lookup::Action(a) => Some((a, std::mem::take(&mut self.pending))),
        }
    }

    /// Runs action `a` in copy mode.
    pub(super) fn run_copy(&mut self, a: Action, now: Instant, fx: &mut Vec<Effect>) {
        let motion = match a {
            Action::CursorLeft => Some(Motion::Left),
            Action::CursorDown => Some(Motion::Down),
            Action::CursorUp => Some(Motion::Up),
            Action::CursorRight => Some(Motion::Right),
            Action::NextWord => Some(Motion::NextWord),
            Action::PreviousWord => Some(Motion::PrevWord),
            Action::NextWordEnd => Some(Motion::WordEnd),
            Action::StartOfLine => Some(Motion::LineStart),
            Action::BackToIndentation => Some(Motion::FirstNonBlank),
            Action::EndOfLine => Some(Motion::LineEnd),
            Action::HistoryTop => Some(Motion::Top),
            Action::HistoryBottom | Action::ScrollBottom => Some(Motion::Bottom),
            Action::ScrollHalfPageUp => Some(Motion::HalfPageUp),
            Action::ScrollHalfPageDown => Some(Motion::HalfPageDown),
            Action::ScrollPageUp => Some(Motion::PageUp),
            Action::ScrollPageDown => Some(Motion::PageDown),
            Action::ScrollUp => Some(Motion::Up),
            Action::ScrollDown => Some(Motion::Down),
            _ => None,
        };
        let Some(c) = self.copy.as_mut() else {
            return;
        };
        if let Some(m) = motion {
            c.motion(m);
            return;
        }
        match a {
            Action::SelectChars => c.toggle_selection(Shape::Chars),
            Action::SelectLines => c.toggle_selection(Shape::Lines),
            Action::SelectBlock => c.toggle_selection(Shape::Block),
            Action::SearchUp => c.input = Some((Direction::Up, String::new())),
            Action::SearchDown => c.input = Some((Direction::Down, String::new())),
            Action::SearchAgain | Action::SearchReverse => {
                let Some(what) = c.search.as_ref().map(|s| s.pattern.clone()) else {
                    self.flash("no search yet: / or ? searches", true, now);
                    return;
                };
                if !c.search_again(a == Action::SearchReverse) {
                    self.flash(format!("not found: {what}"), true, now);
                }
            }
            Action::CopySelection => self.copy_selection(now, fx),
            Action::Normal => self.leave_copy(fx),
            Action::Help => self.modal = Modal::Help,
            _ => {}
        }
    }

    /// A mouse event over a pane outside insert mode: a click focuses it,
    /// a drag selects (copy mode begins) and the release copies, a double
    /// click copies a word and a triple click a line; the wheel scrolls.
    pub(super) fn pane_mouse(
        &mut self,
        m: MouseMsg,
        p: &layout::PaneArea,
        now: Instant,
        fx: &mut Vec<Effect>,
    ) {
        let inner = p.inner;
        let (col, row) = match m {
            MouseMsg::Click(c, r)
            | MouseMsg::Release(c, r)
            | MouseMsg::Drag(c, r)
            | MouseMsg::WheelUp(c, r)
            | MouseMsg::WheelDown(c, r) => (c, r),
        };
        // In the pane's cells, clamped to it (a drag may leave it).
        let cell = (
            col.clamp(inner.x, inner.x + inner.width.max(1) - 1) - inner.x,
            row.clamp(inner.y, inner.y + inner.height.max(1) - 1) - inner.y,
        );
        let copying = self.copy.as_ref().is_some_and(|c| c.slot == p.slot);
        match m {
            MouseMsg::Click(..) => {
                if self.copy.is_some() && !copying {
                    self.leave_copy(fx);
                }
                self.focus = p.slot;
                let count = match self.press {
                    Some(q)
                        if q.slot == p.slot
                            && q.at == cell
                            && now.saturating_duration_since(q.when) < MULTI_CLICK =>
                    {
                        q.count % 3 + 1
                    }
                    _ => 1,
                };
                self.press = Some(Press {
                    slot: p.slot,
                    at: cell,
                    when: now,
                    count,
                });
                self.held = Some((p.slot, cell));
                self.drag_anchor = None;
                let intent = match count {
                    2 => Some(MouseIntent::Word(cell)),
                    3 => Some(MouseIntent::Line(cell)),
                    _ => None,
                };
                match (intent, copying) {
                    (Some(i), true) => {
                        if let Some(c) = self.copy.as_mut() {
                            let at = c.pos_at(cell.1, cell.0);
                            match i {
                                MouseIntent::Word(_) => c.select_word(at),
                                _ => c.select_line(at),
                            }
                        }
                        self.copy_selection(now, fx);
                    }
                    (Some(i), false) => {
                        self.copy_intent = Some(i);
                        fx.push(Effect::EnterCopy { slot: p.slot });
                    }
                    (None, true) => {
                        if let Some(c) = self.copy.as_mut() {
                            let at = c.pos_at(cell.1, cell.0);
                            c.selection = None;
                            c.select_range(at, at);
                            c.selection = None;
                        }
                    }
                    (None, false) => {}
                }
            }
            MouseMsg::Drag(..) => {
                let Some((_, at)) = self.held.filter(|(s, _)| *s == p.slot) else {
                    return;
                };
                if copying {
                    let Some(c) = self.copy.as_mut() else {
                        return;
                    };
                    // Past the top or bottom edge: the view scrolls.
                    if row < inner.y {
                        c.motion(Motion::Up);
                    } else if row >= inner.y + inner.height {
                        c.motion(Motion::Down);
                    }
                    let anchor = *self.drag_anchor.get_or_insert(c.pos_at(at.1, at.0));
                    c.select_range(anchor, c.pos_at(cell.1, cell.0));
                } else if cell != at && self.copy_intent.is_none() && self.modal == Modal::None {
                    self.copy_intent = Some(MouseIntent::Drag { from: at, to: cell });
                    fx.push(Effect::EnterCopy { slot: p.slot });
                }
            }
            MouseMsg::Release(..) => {
                if copying && self.drag_anchor.is_some() {
                    if let Some(c) = self.copy.as_mut() {
                        let anchor = self.drag_anchor.unwrap_or_default();
                        c.select_range(anchor, c.pos_at(cell.1, cell.0));
                    }
                    self.copy_selection(now, fx);
                }
                self.drag_anchor = None;
                self.held = None;
            }
            MouseMsg::WheelUp(..) | MouseMsg::WheelDown(..) if copying => {
                if let Some(c) = self.copy.as_mut() {
                    let m = if matches!(m, MouseMsg::WheelUp(..)) {
                        Motion::Up
                    } else {
                        Motion::Down
                    };
                    for _ in 0..3 {
                        c.motion(m);
                    }
                }
            }
            MouseMsg::WheelUp(..) => fx.push(Effect::Session(Command::Scroll {
                slot: p.slot,
                delta: 3,
            })),
            MouseMsg::WheelDown(..) => fx.push(Effect::Session(Command::Scroll {
                slot: p.slot,
                delta: -3,
            })),
        }
    }

    pub(super) fn mouse(&mut self, m: MouseMsg, now: Instant, fx: &mut Vec<Effect>) {
        if self.modal != Modal::None {
            return;
        }
        let lay = self.layout();
        let (col, row) = match m {
            MouseMsg::Click(c, r)
            | MouseMsg::Release(c, r)
            | MouseMsg::Drag(c, r)
            | MouseMsg::WheelUp(c, r)
            | MouseMsg::WheelDown(c, r) => (c, r),
        };
        let hit =
            |r: &Rect| col >= r.x && col < r.x + r.width && row >= r.y && row < r.y + r.height;
        // Insert mode: events inside the focused pane belong to its program
        // when it asked for mouse reports; else they select, as elsewhere.
        if self.mode == Mode::Insert
            && self.focus_wants_mouse
            && let Some(p) = lay
                .panes
                .iter()
                .find(|p| p.slot == self.focus && hit(&p.inner))
        {
            let (c, r) = (col - p.inner.x, row - p.inner.y);
            let event = match m {
                MouseMsg::Click(..) => MouseReport::Press(c, r),
                MouseMsg::Release(..) => MouseReport::Release(c, r),
                MouseMsg::Drag(..) => MouseReport::Drag(c, r),
                MouseMsg::WheelUp(..) => MouseReport::WheelUp(c, r),
                MouseMsg::WheelDown(..) => MouseReport::WheelDown(c, r),
            };
            fx.push(Effect::Session(Command::Mouse {
                slot: p.slot,
                event,
            }));
            // The program has the button: no selection of corral's.
            if matches!(m, MouseMsg::Click(..) | MouseMsg::Release(..)) {
                self.held = None;
            }
            return;
        }
        // A drag goes on in the pane it began in, wherever the pointer is.
        let dragging = match m {
            MouseMsg::Drag(..) | MouseMsg::Release(..) => self.held.map(|(s, _)| s),
            _ => None,
        };
        if let Some(p) = lay
            .panes
            .iter()
            .find(|p| Some(p.slot) == dragging)
            .or_else(|| lay.panes.iter().find(|p| hit(&p.area)))
        {
            let p = *p;
            self.pane_mouse(m, &p, now, fx);
            return;
        }
        if matches!(m, MouseMsg::Click(..) | MouseMsg::Release(..)) {
            self.held = None;
        }
        if let MouseMsg::Click(..) = m {
            if let Some(slot) = lay.bars.iter().find(|b| hit(&b.area)).and_then(|b| b.slot) {
                self.focus = slot;
            } else if let Some((i, _)) = lay.inbox_rows.iter().find(|(_, r)| hit(r)) {
                self.inbox_sel = *i;
            } else if let Some((slot, _)) = lay.slot_rows.iter().find(|(_, r)| hit(r)) {
                self.focus = *slot;
            }
        }
    }
}
