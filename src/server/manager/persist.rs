//! The state file: slots brought back from a server before, and their
//! conversations.

use crate::config::SlotConfig;
use crate::proto::{Event, SlotIdx};

use crate::server::manager::*;
use crate::server::session::launch::*;
use crate::server::{conversation, state};

impl Manager {
    /// Starts every configured slot, and brings back what a server before
    /// left in the state file: each slot's generation and conversation id
    /// (so it resumes that conversation), and the slots it added at
    /// runtime. A state file that could not be read was moved aside; the
    /// first slot says so.
    pub(super) fn restore(&mut self, restored: state::Loaded) {
        let (old, bad) = match restored {
            state::Loaded::State(s) => {
                // This config's part; the others' are kept as they are.
                let mut configs = s.configs;
                let mine = configs
                    .iter()
                    .position(|c| c.config == self.config_key)
                    .map(|at| configs.remove(at));
                self.other_configs = configs;
                // Rules paused by a person stay paused.
                if mine.as_ref().is_some_and(|m| !m.auto_answers) {
                    self.auto = false;
                    if let Some(sink) = &self.screens {
                        sink.auto_answers(false);
                    }
                }
                (mine.map(|m| m.slots).unwrap_or_default(), None)
            }
            state::Loaded::Bad { why, moved } => {
                let to = moved.map_or("left in place".into(), |m| {
                    format!("moved to {}", m.display())
                });
                tracing::warn!("state file not read ({why}): {to}");
                (
                    Vec::new(),
                    Some(format!(
                        "the state file could not be read ({why}); {to}; slots start fresh"
                    )),
                )
            }
            state::Loaded::None => (Vec::new(), None),
        };
        let mut notices = Vec::new();
        for i in 0..self.slots.len() {
            if let Some(o) = old
                .iter()
                .find(|o| o.id == self.slots[i].id && o.added.is_none())
            {
                let now = self.identity(i);
                match o.identity.changed(&now) {
                    None => self.take_old(i, o, &mut notices),
                    Some((names, what)) => {
                        tracing::info!(slot = %o.id, "not the slot before ({what}): fresh start");
                        notices.push((i, format!("fresh start: its {names} changed")));
                    }
                }
            } else if let Some(c) = self
                .other_configs
                .iter()
                .find(|c| c.slots.iter().any(|o| o.id == self.slots[i].id))
            {
                // Its namesake under another config keeps its conversation.
                tracing::info!(
                    slot = %self.slots[i].id,
                    config = %c.config,
                    "a slot of this id ran under another config: fresh start"
                );
                notices.push((i, "fresh start: new in this config".to_string()));
            }
            self.spawn(i);
        }
        for o in old.iter().filter(|o| o.added.is_some()) {
            let Some(a) = &o.added else { continue };
            let cfg = SlotConfig {
                id: toml::Spanned::new(0..0, o.id.clone()),
                role: a.role.clone(),
                agent: toml::Spanned::new(0..0, a.agent.clone()),
                command: toml::Spanned::new(0..0, a.command.clone()),
                args: a.args.clone(),
                cwd: a.cwd.clone(),
                env: Default::default(),
                resume: true,
                restart: Default::default(),
                worktree: a
                    .worktree
                    .clone()
                    .map(|branch| crate::config::WorktreeConfig::Spec {
                        branch: Some(branch),
                        base: None,
                    }),
                setup: Vec::new(),
                sandbox: None,
                write: Vec::new(),
                transport: Default::default(),
            };
            let size = self.slots.first().map_or((24, 80), |s| s.size);
            // Brought back as what it was, or fresh: one added in another
            // directory (a server started elsewhere) never resumes its
            // conversation here.
            let changed = o.identity.changed(&identity_of(&cfg));
            let old = match &changed {
                None => Some(o),
                Some((_, what)) => {
                    tracing::info!(slot = %o.id, "not the slot before ({what}): fresh start");
                    None
                }
            };
            match self.add_slot_as(cfg, size, old, &mut notices) {
                Ok(i) => {
                    if let Some((names, _)) = changed {
                        notices.push((i, format!("fresh start: its {names} changed")));
                    }
                }
                Err(e) => tracing::warn!(slot = %o.id, "not brought back: {e}"),
            }
        }
        if let Some(text) = bad {
            notices.insert(0, (0, text));
        }
        for (slot, text) in notices {
            self.emit(Event::Notice { slot, text });
        }
        self.save_state();
    }

    /// Takes slot `i`'s generation and conversation id from a server
    /// before, and notes what its next start does.
    pub(super) fn take_old(
        &mut self,
        i: SlotIdx,
        o: &state::SlotState,
        notices: &mut Vec<(SlotIdx, String)>,
    ) {
        let s = &mut self.slots[i];
        s.generation = o.generation;
        s.session_id = o.session_id.clone().filter(|id| conversation::is_uuid(id));
        // Whether it resumes is known when it starts (its transcript).
        if s.profile.session.is_some() && s.profile.takes_args(s.cfg.command.get_ref()) {
            s.restored = true;
        } else {
            notices.push((i, "fresh start (server restart)".to_string()));
        }
    }

    /// What slot `i` is, as the state file records it: a slot of another
    /// agent, program or workspace under the same id starts fresh.
    pub(super) fn identity(&self, i: SlotIdx) -> state::Identity {
        identity_of(&self.slots[i].cfg)
    }

    /// Slot `i`'s agent runs conversation `id` (read from its open
    /// transcript or its hook): kept, shown and written to the state file
    /// when it is a UUID and new.
    pub(super) fn learn_conversation(&mut self, i: SlotIdx, id: String) {
        let Some(s) = self.slots.get_mut(i) else {
            return;
        };
        // Agents write UUIDs in lower case; transcripts are named so.
        let id = id.to_ascii_lowercase();
        if s.profile.session.is_none()
            || !conversation::is_uuid(&id)
            || s.session_id.as_deref() == Some(id.as_str())
        {
            return;
        }
        tracing::info!(slot = %s.id, conversation = %id, "conversation learned");
        *s.shared
            .session_id
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(id.clone());
        s.session_id = Some(id);
        self.save_state();
    }

    /// Writes the state file, if there is one.
    pub(super) fn save_state(&self) {
        let Some(path) = &self.state_file else {
            return;
        };
        let mine = state::ConfigState {
            config: self.config_key.clone(),
            auto_answers: self.auto,
            slots: self
                .slots
                .iter()
                .enumerate()
                .map(|(i, s)| state::SlotState {
                    id: s.id.clone(),
                    identity: self.identity(i),
                    generation: s.generation,
                    session_id: s.session_id.clone(),
                    worktree: s.worktree.as_ref().map(|(_, p, b)| (p.clone(), b.clone())),
                    added: (i >= self.configured).then(|| state::AddedSlot {
                        agent: s.cfg.agent.get_ref().clone(),
                        role: s.cfg.role.clone(),
                        cwd: s.cfg.cwd.clone(),
                        command: s.cfg.command.get_ref().clone(),
                        args: s.cfg.args.clone(),
                        worktree: s.cfg.worktree_branch(),
                    }),
                })
                .collect(),
        };
        let st = state::State {
            v: state::STATE_VERSION,
            configs: std::iter::once(mine)
                .chain(self.other_configs.iter().cloned())
                .take(state::MAX_CONFIGS)
                .collect(),
        };
        if let Err(e) = state::save(path, &st) {
            tracing::warn!("state file {}: {e}", path.display());
        }
    }
}

/// What slot `cfg` is (see [`state::Identity`]): its workspace is its `cwd`
/// made absolute against the server's directory (that directory when it
/// has none).
pub(crate) fn identity_of(cfg: &SlotConfig) -> state::Identity {
    let here = std::env::current_dir().unwrap_or_default();
    let workspace = match &cfg.cwd {
        Some(c) => here.join(expand_home(c)),
        None => here,
    };
    state::Identity {
        agent: cfg.agent.get_ref().clone(),
        command: cfg.command.get_ref().clone(),
        workspace: std::path::absolute(&workspace).unwrap_or(workspace),
        worktree: cfg.worktree_branch(),
    }
}
