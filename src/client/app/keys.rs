//! Keys in the UI state: what each key does in each mode, and the actions
//! the keymap names.

use super::*;

impl App {
    pub(super) fn key(&mut self, k: KeyPress, now: Instant, fx: &mut Vec<Effect>) {
        if let Some(until) = self.copy_guard_until {
            // Keys that act on an agent or on corral wait; moving about
            // does not.
            let acts = self.mode == Mode::Insert
                || matches!(
                    self.keymap.lookup(Mode::Normal, &[k]),
                    Lookup::Action(
                        Action::ApproveOnce
                            | Action::ApproveAlways
                            | Action::Deny
                            | Action::Insert
                            | Action::Quit
                            | Action::Detach
                            | Action::Restart
                            | Action::PauseAuto
                            | Action::Details
                    )
                );
            if now < until && self.mode != Mode::Copy && acts {
                self.copy_guard_until = Some(now + RESELECT_GUARD);
                self.flash(
                    format!("copy mode just ended: {k} did nothing; press it again"),
                    true,
                    now,
                );
                return;
            }
            if now >= until {
                self.copy_guard_until = None;
            }
        }
        match self.modal.clone() {
            Modal::Help | Modal::Explain(_) => {
                self.modal = Modal::None;
                return;
            }
            Modal::Details(id) => {
                self.modal = Modal::None;
                // The person sees it whole here: answer keys act on it.
                let answer = match self.keymap.lookup(Mode::Normal, &[k]) {
                    Lookup::Action(Action::ApproveOnce) => Some(Answer::ApproveOnce),
                    Lookup::Action(Action::ApproveAlways) => Some(Answer::ApproveAlways),
                    Lookup::Action(Action::Deny) => Some(Answer::Deny),
                    _ => None,
                };
                // Deny needs no whole view: it is always safe.
                if let Some(answer) = answer
                    && let Some(e) = self
                        .inbox
                        .iter()
                        .find(|e| e.prompt.id == id && (e.seen || answer == Answer::Deny))
                {
                    fx.push(Effect::Session(Command::Answer {
                        slot: e.slot,
                        prompt: id,
                        answer,
                        by: AnsweredBy {
                            source: "keyboard".into(),
                            detail: format!("details {k}"),
                        },
                    }));
                    return;
                }
                // A number chooses its option only on a prompt seen whole
                // here, unless the option denies.
                if let KeyCode::Char(c @ '1'..='9') = k.code
                    && let Some(e) = self.inbox.iter().find(|e| e.prompt.id == id)
                {
                    let n = c as u8 - b'0';
                    let option = e.prompt.options.iter().find(|o| o.number == n);
                    let denies = option.is_some_and(|o| o.kind == crate::detect::AnswerKind::Deny);
                    if option.is_some() && (e.seen || denies) {
                        fx.push(Effect::Session(Command::Answer {
                            slot: e.slot,
                            prompt: id,
                            answer: Answer::Select(n),
                            by: AnsweredBy {
                                source: "keyboard".into(),
                                detail: format!("details {n}"),
                            },
                        }));
                    }
                }
                return;
            }
            Modal::NewSlot(mut text) => {
                match k.code {
                    KeyCode::Esc => self.modal = Modal::None,
                    KeyCode::Enter => {
                        self.modal = Modal::None;
                        let mut words = text.split_whitespace();
                        if let Some(agent) = words.next() {
                            fx.push(Effect::NewSlot {
                                agent: agent.to_string(),
                                branch: words.next().map(str::to_string),
                                near: self.focus,
                            });
                        }
                    }
                    KeyCode::Backspace => {
                        text.pop();
                        self.modal = Modal::NewSlot(text);
                    }
                    KeyCode::Char(c) if !k.mods.ctrl && !k.mods.alt && text.len() < 200 => {
                        text.push(c);
                        self.modal = Modal::NewSlot(text);
                    }
                    _ => {}
                }
                return;
            }
            Modal::ConfirmQuit => {
                self.modal = Modal::None;
                if matches!(
                    k.code,
                    KeyCode::Char('y') | KeyCode::Char('q') | KeyCode::Enter
                ) {
                    fx.push(Effect::Quit);
                }
                return;
            }
            Modal::None => {}
        }
        match self.mode {
            Mode::Copy => self.copy_key(k, now, fx),
            Mode::Insert => {
                if App::leaves_insert(&self.keymap, k) {
                    self.mode = Mode::Normal;
                    self.escape_armed = Some(k);
                    return;
                }
                fx.push(Effect::Session(Command::Key {
                    slot: self.focus,
                    key: k,
                }));
            }
            Mode::Normal => {
                if let Some(esc) = self.escape_armed.take()
                    && esc == k
                    && self.pending.is_empty()
                {
                    // The leave-insert key pressed twice: send it through.
                    self.mode = Mode::Insert;
                    fx.push(Effect::Session(Command::Key {
                        slot: self.focus,
                        key: k,
                    }));
                    return;
                }
                if let Some((a, keys)) = self.pending_action(Mode::Normal, k) {
                    self.run(a, &keys, now, fx);
                }
            }
        }
    }

    pub(super) fn run(&mut self, a: Action, keys: &[KeyPress], now: Instant, fx: &mut Vec<Effect>) {
        let n = self.slots.len();
        match a {
            Action::FocusLeft | Action::FocusRight | Action::FocusUp | Action::FocusDown => {
                if !self.attach && !self.zoom {
                    let lay = self.layout();
                    if let Some(to) = layout::neighbour(&lay, self.focus, a) {
                        self.focus = to;
                    }
                }
            }
            Action::FocusNext if !self.attach && n > 0 => self.focus = (self.focus + 1) % n,
            Action::FocusPrev if !self.attach && n > 0 => self.focus = (self.focus + n - 1) % n,
            Action::FocusNext | Action::FocusPrev => {}
            Action::Insert => {
                self.mode = Mode::Insert;
                fx.push(Effect::Session(Command::Scroll {
                    slot: self.focus,
                    delta: i32::MIN,
                }));
            }
            Action::Normal => self.mode = Mode::Normal,
            Action::CopyMode => {
                self.copy_intent = None;
                fx.push(Effect::EnterCopy { slot: self.focus });
            }
            // Copy mode's own keys ([`App::copy_key`]).
            Action::CursorLeft
            | Action::CursorDown
            | Action::CursorUp
            | Action::CursorRight
            | Action::NextWord
            | Action::PreviousWord
            | Action::NextWordEnd
            | Action::StartOfLine
            | Action::BackToIndentation
            | Action::EndOfLine
            | Action::HistoryTop
            | Action::HistoryBottom
            | Action::SelectChars
            | Action::SelectLines
            | Action::SelectBlock
            | Action::CopySelection
            | Action::SearchUp
            | Action::SearchDown
            | Action::SearchAgain
            | Action::SearchReverse => {}
            Action::ApproveOnce | Action::ApproveAlways | Action::Deny => {
                let answer = match a {
                    Action::ApproveOnce => Answer::ApproveOnce,
                    Action::ApproveAlways => Answer::ApproveAlways,
                    _ => Answer::Deny,
                };
                let detail = keys
                    .iter()
                    .map(|k| k.to_string())
                    .collect::<Vec<_>>()
                    .join(" ");
                self.answer_target(answer, detail, now, fx);
            }
            Action::InboxNext if !self.inbox.is_empty() => {
                self.inbox_sel = (self.inbox_sel + 1) % self.inbox.len();
            }
            Action::InboxPrev if !self.inbox.is_empty() => {
                self.inbox_sel = (self.inbox_sel + self.inbox.len() - 1) % self.inbox.len();
            }
            Action::InboxNext | Action::InboxPrev => {}
            Action::GoToPrompt => {
                if let Some(e) = self.inbox.get(self.inbox_sel)
                    && !self.attach
                {
                    self.focus = e.slot;
                }
            }
            Action::Zoom => {
                if !self.attach {
                    self.zoom = !self.zoom;
                }
            }
            Action::ScrollUp
            | Action::ScrollDown
            | Action::ScrollPageUp
            | Action::ScrollPageDown
            | Action::ScrollHalfPageUp
            | Action::ScrollHalfPageDown => {
                let height = self
                    .layout()
                    .panes
                    .iter()
                    .find(|p| p.slot == self.focus)
                    .map_or(20, |p| i32::from(p.inner.height));
                let page = (height - 1).max(1);
                let half = (height / 2).max(1);
                let delta = match a {
                    Action::ScrollUp => 1,
                    Action::ScrollDown => -1,
                    Action::ScrollPageUp => page,
                    Action::ScrollPageDown => -page,
                    Action::ScrollHalfPageUp => half,
                    _ => -half,
                };
                fx.push(Effect::Session(Command::Scroll {
                    slot: self.focus,
                    delta,
                }));
            }
            Action::ScrollBottom => fx.push(Effect::Session(Command::Scroll {
                slot: self.focus,
                delta: i32::MIN,
            })),
            Action::Restart => {
                fx.push(Effect::Session(Command::Restart { slot: self.focus }));
                if let Some(s) = self.slots.get_mut(self.focus) {
                    s.restart_asked = true;
                }
                let id = self
                    .slots
                    .get(self.focus)
                    .map(|s| s.id.clone())
                    .unwrap_or_default();
                self.flash(format!("restarting {id}"), false, now);
            }
            Action::Help => self.modal = Modal::Help,
            Action::GoToWaiting => {
                let oldest = self
                    .slots
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.state.is_blocked())
                    .min_by_key(|(_, s)| s.since)
                    .map(|(i, _)| i);
                match oldest {
                    Some(i) if !self.attach => {
                        self.focus = i;
                        if let Some(pos) = self.inbox.iter().position(|e| e.slot == i) {
                            self.inbox_sel = pos;
                        }
                    }
                    Some(_) => {}
                    None => self.flash("no slot is waiting", false, now),
                }
            }
            Action::Details => match self.target_prompt().map(|e| e.prompt.id) {
                Some(id) => {
                    self.open_details(id);
                }
                None => self.flash("no prompt is waiting", true, now),
            },
            Action::Decisions => self.show_decisions = !self.show_decisions,
            Action::NewSlot if !self.attach => self.modal = Modal::NewSlot(String::new()),
            Action::NewSlot => {}
            Action::PauseAuto => {
                self.auto_paused = !self.auto_paused;
                fx.push(Effect::Session(Command::SetAutoAnswers {
                    enabled: !self.auto_paused,
                }));
                let text = if self.auto_paused {
                    "automatic answers paused"
                } else {
                    "automatic answers resumed"
                };
                self.flash(text, false, now);
            }
            Action::Explain => fx.push(Effect::Explain(self.focus)),
            Action::Detach => fx.push(Effect::Detach),
            Action::Quit => {
                if self.agents_running() {
                    self.modal = Modal::ConfirmQuit;
                } else {
                    fx.push(Effect::Quit);
                }
            }
            Action::None => {}
        }
    }
}
