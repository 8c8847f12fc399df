//! Commands from clients and `ctl`: input, `ctl send` and its Enter, the
//! rest of [`Command`].

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use portable_pty::PtySize;

use crate::config::SlotConfig;
use crate::detect::AgentState;
use crate::keys::{self};
use crate::proto::{self, Command, Event, SlotIdx};

use crate::server::manager::*;
use crate::server::pty::*;
use crate::server::session::*;
use crate::server::shared::*;
use crate::server::state;

impl Manager {
    /// [`SessionManager::add_slot`] on the manager thread.
    pub(super) fn add_slot(
        &mut self,
        mut cfg: SlotConfig,
        size: (u16, u16),
    ) -> Result<SlotIdx, String> {
        // Its directory kept absolute: a server started again elsewhere
        // brings it back where it was.
        cfg.cwd = Some(identity_of(&cfg).workspace);
        self.add_slot_as(cfg, size, None, &mut Vec::new())
    }

    /// Adds slot `cfg`, with what a server before knew of it (`old`).
    pub(super) fn add_slot_as(
        &mut self,
        cfg: SlotConfig,
        size: (u16, u16),
        old: Option<&state::SlotState>,
        notices: &mut Vec<(SlotIdx, String)>,
    ) -> Result<SlotIdx, String> {
        let id = cfg.id.get_ref().clone();
        crate::config::check_slot_id(&id)?;
        if self.slots.iter().any(|s| s.id == id) {
            return Err(format!("a slot {id:?} exists already"));
        }
        if self.profiles.get(cfg.agent.get_ref()).is_none() {
            return Err(format!(
                "no agent profile {:?} (built in: claude, codex, gemini, aider, generic)",
                cfg.agent.get_ref()
            ));
        }
        let rt = new_slot(&cfg, size, &self.profiles, self.scrollback_rows, self.epoch)
            .map_err(|e| e.to_string())?;
        let info = proto::SlotInfo {
            id: id.clone(),
            role: cfg.role.clone(),
            agent: cfg.agent.get_ref().clone(),
            state: AgentState::Starting,
            state_age_ms: 0,
            title: String::new(),
            generation: 0,
            rows: rt.size.0,
            cols: rt.size.1,
            worktree: None,
            sandbox: None,
            usage: None,
        };
        let Some(i) = self.shared.push(rt.shared.clone()) else {
            return Err(format!(
                "this session holds {MAX_ADDED_SLOTS} added slots already"
            ));
        };
        self.slots.push(rt);
        if let Some(o) = old {
            self.take_old(i, o, notices);
        }
        tracing::info!(slot = %id, "slot added");
        // Every client knows the slot before any of its output or events.
        if let Some(sink) = &self.screens {
            sink.added(i, &info);
        }
        self.spawn(i);
        Ok(i)
    }

    /// [`SessionManager::ctl_send`] on the manager thread. Returns true
    /// when the Enter is still to be sent, after [`ENTER_AFTER_TEXT`].
    pub(super) fn ctl_send(
        &mut self,
        i: SlotIdx,
        input: proto::ctl::SendInput,
        enter: bool,
    ) -> Result<bool, String> {
        let Some(s) = self.slots.get(i) else {
            return Err(format!("no slot {i}"));
        };
        if s.live.is_none() {
            return Err(format!(
                "slot {} runs no program ({})",
                s.id,
                s.state.label()
            ));
        }
        // A structured slot takes messages, never answers, as text: a
        // message goes whole with Enter (also mid-turn, and with a request
        // open: text cannot answer it there).
        if s.cfg.transport.is_structured() {
            return match input {
                proto::ctl::SendInput::Text(t) if enter => self.send_message(i, &t).map(|()| false),
                proto::ctl::SendInput::Text(t) => {
                    let pasted = keys::InputModes {
                        bracketed_paste: true,
                        ..keys::InputModes::default()
                    };
                    self.compose(i, &keys::encode_paste(&t, pasted));
                    Ok(false)
                }
                proto::ctl::SendInput::Keys(ks) => {
                    let mut bytes: Vec<u8> = ks
                        .into_iter()
                        .flat_map(|k| keys::encode(k, keys::InputModes::default()))
                        .collect();
                    if enter {
                        bytes.push(b'\r');
                    }
                    self.compose(i, &bytes);
                    Ok(false)
                }
            };
        }
        // What is on screen now decides, not what was read a moment ago.
        self.run_detect(i);
        let s = &self.slots[i];
        let open = s
            .hooks
            .front()
            .map(|h| &h.prompt)
            .or(s.inbox.screen.as_ref())
            .or(s.inbox.prompt.as_ref());
        if let Some(p) = open {
            return Err(format!(
                "a prompt is open in slot {} ({} {:?}, id {}): text never answers it; `corral ctl answer` does",
                s.id, p.tool, p.subject, p.id
            ));
        }
        let Some(modes) = self.input_modes_live(i) else {
            return Err(format!("slot {} runs no program", s.id));
        };
        let mut bytes = match input {
            // Without bracketed paste the program reads the text as typed
            // keys: a CR or ESC in it would act (submit, or answer what it
            // opens from typeahead). Keys and Enter go by name.
            proto::ctl::SendInput::Text(t)
                if !modes.bracketed_paste && t.chars().any(|c| c.is_control() && c != '\t') =>
            {
                return Err(format!(
                    "slot {}: its program takes no bracketed paste, so text may not hold control characters (newline, CR, ESC); send keys with --keys and Enter with --enter",
                    s.id
                ));
            }
            proto::ctl::SendInput::Text(t) => keys::encode_paste(&t, modes),
            proto::ctl::SendInput::Keys(ks) => ks
                .into_iter()
                .flat_map(|k| keys::encode(k, modes))
                .collect(),
        };
        let later = enter && !bytes.is_empty();
        if enter && !later {
            bytes.extend(keys::encode(
                keys::KeyPress::plain(keys::KeyCode::Enter),
                modes,
            ));
        }
        if self.write(i, bytes) {
            Ok(later)
        } else {
            Err(format!(
                "slot {}: the program is not reading its input",
                self.slots[i].id
            ))
        }
    }

    pub(super) fn write(&mut self, i: SlotIdx, bytes: Vec<u8>) -> bool {
        let Some(s) = self.slots.get(i) else {
            return false;
        };
        // A structured slot's keys are its composer's.
        if s.cfg.transport.is_structured() {
            if s.live.is_none() {
                self.input_refused(i, InputError::NotRunning);
                return false;
            }
            self.compose(i, &bytes);
            return true;
        }
        match write_input(&s.shared, i, &bytes) {
            Ok(()) => true,
            Err(error) => {
                self.input_refused(i, error);
                false
            }
        }
    }

    /// Tells clients that input for slot `i` was not taken, and why; once
    /// a second at most per slot (a key held down on an exited slot).
    pub(super) fn input_refused(&mut self, i: SlotIdx, error: InputError) {
        let Some(s) = self.slots.get_mut(i) else {
            return;
        };
        let now = Instant::now();
        if s.refused_at
            .is_some_and(|t| now.duration_since(t) < Duration::from_secs(1))
        {
            return;
        }
        s.refused_at = Some(now);
        let reason = format!("{}: {error}: input not sent", s.id);
        self.emit(Event::InputRefused { slot: i, reason });
    }

    /// The slot's input modes, for encoding what the user types; a pane
    /// scrolled back returns to its live screen first (as xterm does on a
    /// key press), so the echo is seen. `None` for an unknown slot.
    pub(super) fn input_modes_live(&self, slot: SlotIdx) -> Option<keys::InputModes> {
        let s = self.slots.get(slot)?;
        let mut e = s.shared.lock();
        if e.scroll_offset() > 0 {
            e.set_scroll_offset(0);
            s.shared.ui_dirty.store(true, Ordering::Release);
            let _ = self.events.send(Event::Output { slot });
        }
        Some(e.input_modes())
    }

    pub(super) fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Write { slot, bytes } => {
                self.write(slot, bytes);
            }
            Command::Key { slot, key } => {
                let Some(modes) = self.input_modes_live(slot) else {
                    return;
                };
                self.write(slot, keys::encode(key, modes));
            }
            Command::Paste { slot, text } => {
                let Some(modes) = self.input_modes_live(slot) else {
                    return;
                };
                self.write(slot, keys::encode_paste(&text, modes));
            }
            Command::Mouse { slot, event } => {
                let Some(s) = self.slots.get(slot) else {
                    return;
                };
                let modes = s.shared.lock().input_modes();
                tracing::debug!(slot, ?event, ?modes, "mouse");
                match keys::encode_mouse(event, modes) {
                    Some(bytes) => {
                        self.write(slot, bytes);
                    }
                    None => {
                        let delta = match event {
                            keys::MouseReport::WheelUp(..) => 3,
                            keys::MouseReport::WheelDown(..) => -3,
                            _ => return,
                        };
                        self.command(Command::Scroll { slot, delta });
                    }
                }
            }
            Command::Resize { slot, rows, cols } => {
                let Some(s) = self.slots.get_mut(slot) else {
                    return;
                };
                let (rows, cols) = (rows.max(1), cols.max(1));
                if s.size == (rows, cols) {
                    return;
                }
                s.size = (rows, cols);
                {
                    let mut e = s.shared.lock();
                    e.resize(rows, cols);
                    if let Some(sink) = &self.screens {
                        sink.rebuilt(slot, &e);
                    }
                }
                if let Some(Live {
                    backend: Backend::Pty { master },
                    ..
                }) = &s.live
                {
                    s.inbox.reflowed_at = Some(Instant::now());
                    let _ = master.resize(PtySize {
                        rows,
                        cols,
                        pixel_width: 0,
                        pixel_height: 0,
                    });
                }
                s.shared.ui_dirty.store(true, Ordering::Release);
                let _ = self.events.send(Event::Output { slot });
                // A structured slot's conversation wraps anew at its new width.
                if self.slots[slot].cfg.transport.is_structured() && self.slots[slot].live.is_some()
                {
                    self.redraw(slot);
                }
            }
            Command::Scroll { slot, delta } => {
                let Some(s) = self.slots.get(slot) else {
                    return;
                };
                s.shared.lock().scroll_by(delta);
                s.shared.ui_dirty.store(true, Ordering::Release);
                let _ = self.events.send(Event::Output { slot });
            }
            Command::Answer {
                slot,
                prompt,
                answer,
                by,
            } => self.answer(slot, prompt, answer, by),
            Command::Kill { slot } => {
                if let Some(s) = self.slots.get_mut(slot) {
                    s.restart_due = None;
                    s.restart_now = false;
                    s.making_cancelled = s.making;
                    if let Some(live) = &s.live {
                        kill_later(live);
                    }
                }
            }
            Command::Restart { slot } => {
                if let Some(s) = self.slots.get_mut(slot) {
                    match &s.live {
                        Some(live) => {
                            s.restart_now = true;
                            kill_later(live);
                        }
                        None => {
                            s.restart_due = Some(Instant::now());
                        }
                    }
                }
            }
            Command::SetAutoAnswers { enabled } => {
                self.auto = enabled;
                tracing::info!(enabled, "automatic answers");
                self.save_state();
            }
            Command::Shutdown => {}
        }
    }
}
