//! The session's events in the UI state: slots' states, prompts opening and
//! closing, decisions, exits and restarts.

use super::*;

impl App {
    pub(super) fn session_event(&mut self, ev: Event, now: Instant, fx: &mut Vec<Effect>) {
        // Decisions are worded before the event changes the inbox (an
        // answered prompt's subject is still there).
        let decision = match &ev {
            Event::PolicyAsked { .. }
            | Event::AnswerSent { .. }
            | Event::AnswerRefused { .. }
            | Event::Notice { .. } => self.decision_text(&ev),
            _ => None,
        };
        match ev {
            Event::Output { .. } | Event::Bell { .. } => {}
            Event::Usage { slot, usage } => {
                if let Some(s) = self.slots.get_mut(slot) {
                    s.usage = Some(usage);
                }
            }
            Event::TurnEnded { slot, result } => {
                if let Some(s) = self.slots.get_mut(slot) {
                    s.usage.get_or_insert_default().add(&result);
                }
            }
            Event::SlotAdded { slot, info } => {
                if slot == self.slots.len() {
                    self.slots.push(SlotView {
                        id: info.id.clone(),
                        role: info.role.clone(),
                        agent: info.agent.clone(),
                        state: info.state.clone(),
                        since: now,
                        title: info.title.clone(),
                        generation: info.generation,
                        restart_asked: false,
                        restart_at: None,
                        worktree: info.worktree.clone(),
                        sandbox: info.sandbox.as_deref().cloned(),
                        usage: info.usage.as_deref().copied(),
                    });
                    self.scrolled.push(false);
                    self.sent_sizes.push(None);
                    self.pty_sizes.push(Some((info.rows, info.cols)));
                    self.flash(format!("slot {} added", info.id), false, now);
                }
            }
            Event::Started { slot, generation } => {
                if let Some(s) = self.slots.get_mut(slot) {
                    s.generation = generation;
                    s.restart_asked = false;
                }
            }
            Event::StateChanged { slot, state, .. } => {
                if let Some(s) = self.slots.get_mut(slot)
                    && s.state != state
                {
                    let id = s.id.clone();
                    s.state = state.clone();
                    s.since = now;
                    if !matches!(state, AgentState::Restarting | AgentState::Exited(_)) {
                        s.restart_at = None;
                    }
                    if state == AgentState::NeedsInput {
                        self.notify(slot, format!("{id} needs input"), now, fx);
                    }
                }
            }
            Event::PromptOpened { slot, prompt } => {
                if !self.inbox.iter().any(|e| e.prompt.id == prompt.id) {
                    let id = self
                        .slots
                        .get(slot)
                        .map(|s| s.id.clone())
                        .unwrap_or_default();
                    let text = format!(
                        "{id} needs permission: {} {}",
                        prompt.tool,
                        shown(&prompt.subject)
                    );
                    self.inbox.push(InboxEntry {
                        slot,
                        prompt,
                        opened: now,
                        seen: false,
                    });
                    self.notify(slot, text, now, fx);
                }
            }
            Event::PolicyAsked { .. } => {
                if let Some(text) = decision {
                    self.decision(text, now);
                }
            }
            Event::PromptUpdated { was, prompt, .. } => {
                let now_id = prompt.id;
                if let Some(e) = self.inbox.iter_mut().find(|e| e.prompt.id == was) {
                    // What the person saw is no longer what it says (a new
                    // id: it reads otherwise, if only in how sure it is).
                    if now_id != was
                        || e.prompt.tool != prompt.tool
                        || e.prompt.subject != prompt.subject
                    {
                        e.seen = false;
                    }
                    e.prompt = prompt;
                }
                // Details of what it said before: show it as it reads now.
                if let Modal::Details(id) = self.modal
                    && id == was
                {
                    self.modal = Modal::Details(now_id);
                }
            }
            Event::PromptClosed { prompt, .. } => self.remove_prompt(prompt),
            Event::Title { slot, title } => {
                if let Some(s) = self.slots.get_mut(slot) {
                    s.title = title;
                }
            }
            Event::Exited {
                slot,
                status,
                restart_in,
            } => {
                let Some(s) = self.slots.get(slot) else {
                    return;
                };
                let id = s.id.clone();
                // Stopped for the restart the person asked for: "restarting"
                // already says it.
                if s.restart_asked && restart_in.is_some() {
                    if let Some(s) = self.slots.get_mut(slot) {
                        s.restart_asked = false;
                    }
                    return;
                }
                let text = match restart_in {
                    Some(d) => format!("{id} exited ({status}); restarting in {}s", d.as_secs()),
                    None => format!("{id} exited ({status})"),
                };
                // The sidebar counts down to the restart for as long as it
                // is due; the message says why once.
                if let Some(s) = self.slots.get_mut(slot) {
                    s.restart_at = restart_in.map(|d| now + d);
                }
                self.flash(text, status != "0", now);
            }
            Event::AnswerSent { .. } => {
                if let Some(text) = decision {
                    self.flash(text.clone(), false, now);
                    self.decision(text, now);
                }
            }
            Event::AnswerRefused { .. } => {
                if let Some(text) = decision {
                    self.flash(text.clone(), true, now);
                    self.decision(text, now);
                }
            }
            Event::SpawnFailed { error, .. } => self.flash(error, true, now),
            Event::InputRefused { reason, .. } => self.flash(reason, true, now),
            Event::Worktree {
                slot,
                branch,
                changes,
            } => {
                if let Some(s) = self.slots.get_mut(slot) {
                    s.worktree = Some((branch, changes));
                }
            }
            Event::WorktreeRemoved { slot } => {
                if let Some(s) = self.slots.get_mut(slot) {
                    s.worktree = None;
                }
            }
            Event::Sandbox { slot, status } => {
                if let Some(s) = self.slots.get_mut(slot) {
                    s.sandbox = status.map(|b| *b);
                }
            }
            Event::Notice { .. } => {
                if let Some(text) = decision {
                    self.flash(text.clone(), false, now);
                    self.decision(text, now);
                }
            }
        }
    }

    /// [`crate::proto::decision_text`] with this app's slots and inbox.
    pub(super) fn decision_text(&self, ev: &Event) -> Option<String> {
        crate::proto::decision_text(
            ev,
            |slot| {
                self.slots
                    .get(slot)
                    .map(|s| s.id.clone())
                    .unwrap_or_default()
            },
            |id| {
                self.inbox
                    .iter()
                    .find(|e| e.prompt.id == id)
                    .map(|e| (e.prompt.tool.clone(), e.prompt.subject.clone()))
            },
        )
    }

    pub(super) fn remove_prompt(&mut self, id: PromptId) {
        let Some(pos) = self.inbox.iter().position(|e| e.prompt.id == id) else {
            return;
        };
        self.inbox.remove(pos);
        if pos < self.inbox_sel {
            self.inbox_sel -= 1;
        }
        if self.inbox_sel >= self.inbox.len() {
            self.inbox_sel = self.inbox.len().saturating_sub(1);
        }
    }
}
