//! The session as every client sees it ([`View`]: slots, inbox,
//! decisions, the paused-policy flag) and whose size each slot's PTY takes
//! ([`Sizes`]).
//!
//! - **Sizes: tmux's `latest` rule.** A slot's PTY takes the pane size of
//!   the client that last typed into it, or else of the last client to
//!   attach that shows it. When that client leaves, the most recently
//!   active other client's size is taken.

use std::collections::VecDeque;
use std::time::Instant;

use crate::config::Config;
use crate::detect::{AgentState, Prompt, PromptId};
use crate::proto::SlotIdx;
use crate::proto::{self, Event};

/// The shared view every client starts from: slots, inbox, decisions and
/// the paused-policy flag, kept up to date from the session events.
#[derive(Debug)]
pub struct View {
    /// Every slot.
    pub slots: Vec<SlotRow>,
    /// Pending prompts, oldest first, with when they opened.
    pub inbox: Vec<(SlotIdx, Prompt, Instant)>,
    /// Recent decisions, oldest first, at most [`crate::client::app::DECISIONS_KEPT`].
    pub decisions: VecDeque<(Instant, String)>,
    /// Automatic answers are on.
    pub auto: bool,
}

/// A slot in the [`View`].
#[derive(Debug, Clone)]
pub struct SlotRow {
    /// Its id.
    pub id: String,
    /// Its role.
    pub role: String,
    /// Its agent profile.
    pub agent: String,
    /// Detected state.
    pub state: AgentState,
    /// Since when.
    pub since: Instant,
    /// Window title.
    pub title: String,
    /// Session generation.
    pub generation: u64,
    /// PTY size (rows, cols) in cells.
    pub size: (u16, u16),
    /// Times it was started again.
    pub restarts: u64,
    /// Prompts answered with keys by a person.
    pub by_key: u64,
    /// Prompts answered by a `[[policy]]` rule.
    pub by_rule: u64,
    /// Prompts answered by `corral ctl answer`.
    pub by_ctl: u64,
    /// Prompts answered from `corral web`.
    pub by_web: u64,
    /// Its worktree's branch and files with uncommitted changes.
    pub worktree: Option<(String, usize)>,
    /// How its session is confined, when it asks for a sandbox.
    pub sandbox: Option<crate::sandbox::SandboxStatus>,
    /// A structured slot's turns, tokens and cost (`None` before its first
    /// turn ends, and for a PTY slot).
    pub usage: Option<crate::agent_protocol::SlotUsage>,
}

/// How many decisions the server keeps for clients that attach.
const DECISIONS_KEPT: usize = 50;

impl View {
    /// The view of `config`'s slots before anything ran.
    pub fn new(config: &Config, now: Instant) -> View {
        View {
            slots: config
                .slots
                .iter()
                .map(|s| SlotRow {
                    id: s.id.get_ref().clone(),
                    role: s.role.clone(),
                    agent: s.agent.get_ref().clone(),
                    state: AgentState::Starting,
                    since: now,
                    title: String::new(),
                    generation: 0,
                    size: (24, 80),
                    restarts: 0,
                    by_key: 0,
                    by_rule: 0,
                    by_ctl: 0,
                    by_web: 0,
                    worktree: None,
                    sandbox: None,
                    usage: None,
                })
                .collect(),
            inbox: Vec::new(),
            decisions: VecDeque::new(),
            auto: true,
        }
    }

    /// Applies one session event.
    pub fn apply(&mut self, ev: &Event, now: Instant) {
        let text = proto::decision_text(
            ev,
            |slot| {
                self.slots
                    .get(slot)
                    .map(|s| s.id.clone())
                    .unwrap_or_default()
            },
            |id: PromptId| {
                self.inbox
                    .iter()
                    .find(|(_, p, _)| p.id == id)
                    .map(|(_, p, _)| (p.tool.clone(), p.subject.clone()))
            },
        );
        if let Some(text) = text {
            self.decisions.push_back((now, text));
            while self.decisions.len() > DECISIONS_KEPT {
                self.decisions.pop_front();
            }
        }
        match ev {
            Event::Started { slot, generation } => {
                if let Some(s) = self.slots.get_mut(*slot) {
                    s.generation = *generation;
                    if *generation > 1 {
                        s.restarts += 1;
                    }
                }
            }
            Event::Usage { slot, usage } => {
                if let Some(s) = self.slots.get_mut(*slot) {
                    s.usage = Some(*usage);
                }
            }
            Event::TurnEnded { slot, result } => {
                if let Some(s) = self.slots.get_mut(*slot) {
                    s.usage.get_or_insert_default().add(result);
                }
            }
            Event::AnswerSent { slot, by, .. } => {
                if let Some(s) = self.slots.get_mut(*slot) {
                    match by.source.as_str() {
                        "policy" => s.by_rule += 1,
                        "ctl" => s.by_ctl += 1,
                        "web" => s.by_web += 1,
                        _ => s.by_key += 1,
                    }
                }
            }
            Event::StateChanged { slot, state, .. } => {
                if let Some(s) = self.slots.get_mut(*slot)
                    && s.state != *state
                {
                    s.state = state.clone();
                    s.since = now;
                }
            }
            Event::PromptOpened { slot, prompt }
                if !self.inbox.iter().any(|(_, p, _)| p.id == prompt.id) =>
            {
                self.inbox.push((*slot, prompt.clone(), now));
            }
            Event::PromptUpdated { was, prompt, .. } => {
                if let Some(e) = self.inbox.iter_mut().find(|(_, p, _)| p.id == *was) {
                    e.1 = prompt.clone();
                }
            }
            Event::PromptClosed { prompt, .. } => self.inbox.retain(|(_, p, _)| p.id != *prompt),
            Event::Title { slot, title } => {
                if let Some(s) = self.slots.get_mut(*slot) {
                    s.title = title.clone();
                }
            }
            Event::SlotAdded { slot, info } if *slot == self.slots.len() => {
                self.slots.push(SlotRow {
                    id: info.id.clone(),
                    role: info.role.clone(),
                    agent: info.agent.clone(),
                    state: info.state.clone(),
                    since: now,
                    title: info.title.clone(),
                    generation: info.generation,
                    size: (info.rows, info.cols),
                    restarts: 0,
                    by_key: 0,
                    by_rule: 0,
                    by_ctl: 0,
                    by_web: 0,
                    worktree: None,
                    sandbox: None,
                    usage: None,
                });
            }
            Event::Worktree {
                slot,
                branch,
                changes,
            } => {
                if let Some(s) = self.slots.get_mut(*slot) {
                    s.worktree = Some((branch.clone(), *changes));
                }
            }
            Event::WorktreeRemoved { slot } => {
                if let Some(s) = self.slots.get_mut(*slot) {
                    s.worktree = None;
                }
            }
            Event::Sandbox { slot, status } => {
                if let Some(s) = self.slots.get_mut(*slot) {
                    s.sandbox = status.as_deref().cloned();
                }
            }
            _ => {}
        }
    }
}

/// tmux's `latest` rule for PTY sizes: per slot, the client whose size it
/// has (its owner), and per client the pane size it would give each slot
/// and when it last typed.
#[derive(Debug, Default)]
pub struct Sizes {
    owner: Vec<Option<u64>>,
    /// (client, slot) -> wanted (rows, cols).
    want: std::collections::BTreeMap<(u64, SlotIdx), (u16, u16)>,
    /// client -> activity counter (higher = more recent).
    active: std::collections::BTreeMap<u64, u64>,
    /// client -> the one slot it shows.
    attach: std::collections::BTreeMap<u64, Option<SlotIdx>>,
    clock: u64,
}

impl Sizes {
    /// No owners yet, for `slots` slots.
    pub fn new(slots: usize) -> Sizes {
        Sizes {
            owner: vec![None; slots],
            ..Sizes::default()
        }
    }

    fn tick(&mut self, client: u64) {
        self.clock += 1;
        self.active.insert(client, self.clock);
    }

    /// Slot `slot` was added: no one owns it until a client sizes it.
    pub fn added(&mut self, slot: SlotIdx) {
        if self.owner.len() <= slot {
            self.owner.resize(slot + 1, None);
        }
    }

    /// Client `client` attached, showing every slot or one: it owns them.
    pub fn attached(&mut self, client: u64, attach: Option<SlotIdx>, slots: usize) {
        self.owner.resize(slots, None);
        self.tick(client);
        self.attach.insert(client, attach);
        for (i, o) in self.owner.iter_mut().enumerate() {
            if attach.is_none_or(|a| a == i) {
                *o = Some(client);
            }
        }
    }

    /// Client `client` would give `slot` `size`: returns the size to set
    /// now if it owns the slot (or no one does).
    pub fn want(&mut self, client: u64, slot: SlotIdx, size: (u16, u16)) -> Option<(u16, u16)> {
        self.want.insert((client, slot), size);
        let owner = self.owner.get_mut(slot)?;
        match owner {
            Some(o) if *o != client => None,
            _ => {
                *owner = Some(client);
                Some(size)
            }
        }
    }

    /// Client `client` typed into `slot`: it owns it now; returns its size
    /// to set if the slot had another owner.
    pub fn typed(&mut self, client: u64, slot: SlotIdx) -> Option<(u16, u16)> {
        self.tick(client);
        let owner = self.owner.get_mut(slot)?;
        if *owner == Some(client) {
            return None;
        }
        *owner = Some(client);
        self.want.get(&(client, slot)).copied()
    }

    /// Client `client` left: each slot it owned goes to the most recently
    /// active client that shows it; returns the sizes to set.
    pub fn left(&mut self, client: u64) -> Vec<(SlotIdx, (u16, u16))> {
        self.active.remove(&client);
        self.attach.remove(&client);
        self.want.retain(|(c, _), _| *c != client);
        let mut out = Vec::new();
        for slot in 0..self.owner.len() {
            if self.owner[slot] != Some(client) {
                continue;
            }
            let next = self
                .want
                .iter()
                .filter(|((_, s), _)| *s == slot)
                .max_by_key(|((c, _), _)| self.active.get(c).copied().unwrap_or(0))
                .map(|((c, _), size)| (*c, *size));
            self.owner[slot] = next.map(|(c, _)| c);
            if let Some((_, size)) = next {
                out.push((slot, size));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_client_sets_the_size() {
        let mut s = Sizes::new(2);
        s.attached(1, None, 2);
        assert_eq!(s.want(1, 0, (40, 100)), Some((40, 100)));
        assert_eq!(s.want(1, 1, (40, 100)), Some((40, 100)));
        // A second client attaches: it takes every slot.
        s.attached(2, None, 2);
        assert_eq!(s.want(2, 0, (20, 50)), Some((20, 50)));
        assert_eq!(s.want(2, 1, (20, 50)), Some((20, 50)));
        // The first one types into slot 0: its size comes back.
        assert_eq!(s.typed(1, 0), Some((40, 100)));
        assert_eq!(s.typed(1, 0), None);
        // Its later resizes apply; the other's do not.
        assert_eq!(s.want(1, 0, (41, 100)), Some((41, 100)));
        assert_eq!(s.want(2, 0, (21, 50)), None);
        // An attach view of slot 1 only.
        s.attached(3, Some(1), 2);
        assert_eq!(s.want(3, 1, (50, 200)), Some((50, 200)));
        assert_eq!(s.want(3, 0, (50, 200)), None);
        // It leaves: slot 1 goes to the most recently active client that
        // shows it (client 1 typed last).
        assert_eq!(s.left(3), vec![(1, (40, 100))]);
        // Client 1 leaves: slot 0 and 1 go to client 2.
        assert_eq!(s.left(1), vec![(0, (21, 50)), (1, (20, 50))]);
        assert_eq!(s.left(2), vec![]);
    }
}
