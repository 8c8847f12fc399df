//! One read of a slot's screen: state, the screen's dialog, hook
//! correlation, reflow carry-over, and what the inbox shows.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::detect::{self, AgentState, Prompt, PromptSource, Timing};
use crate::profile::SessionIdSource;
use crate::proto::{Event, HookReply, SlotIdx};

use crate::server::approvals::inbox;
use crate::server::approvals::reflow::carry_through_reflow;
use crate::server::approvals::screen::*;
use crate::server::conversation;
use crate::server::manager::*;
use crate::server::session::launch::*;
use crate::server::timing::*;

impl Manager {
    pub(super) fn run_detect(&mut self, i: SlotIdx) {
        let epoch = self.epoch;
        let s = &mut self.slots[i];
        s.detect_due = None;
        s.shared.detect_pending.store(false, Ordering::Release);
        // A structured slot's screen is text a model wrote: never read
        // (invariant 14).
        if s.live.is_none() || s.cfg.transport.is_structured() {
            return;
        }
        let snap = s.shared.lock().snapshot();
        let last = s.shared.last_output_ms.load(Ordering::Acquire);
        let now_ms = epoch.elapsed().as_millis() as u64;
        let timing = Timing {
            since_output_ms: (last != 0).then(|| now_ms.saturating_sub(last)),
        };
        let mut d = detect::detect(&s.profile, &snap, timing);
        s.idle_since = match d.state {
            AgentState::Idle => s.idle_since.or(Some(Instant::now())),
            _ => None,
        };
        if let Some(ms) = d.recheck_after_ms {
            let at = Instant::now() + Duration::from_millis(ms.max(1));
            s.detect_due = Some(s.detect_due.map_or(at, |x| x.min(at)));
        }
        // The screen prompt keeps its id while its dialog text is unchanged,
        // and while corral's resize makes the agent draw it again.
        let mut vanished = None;
        let last_output = (last != 0).then(|| epoch + Duration::from_millis(last));
        let (held, updated) = carry_through_reflow(
            &mut s.inbox,
            &s.id,
            s.generation,
            &mut s.detect_due,
            &mut d.prompt,
            last_output,
            Instant::now(),
        );
        let changed = match (&s.inbox.screen, &d.prompt) {
            (None, None) => false,
            (Some(old), Some(new)) => old.dialog_hash != new.dialog_hash,
            _ => true,
        };
        if changed {
            let old = s.inbox.screen.take();
            // An answer handed back for a dialog that came and went without
            // it is not for the next one.
            if let (Some(o), Some(a)) = (&old, &s.inbox.after_hook)
                && o.tool == a.tool
                && o.subject == a.subject
            {
                s.inbox.after_hook = None;
            }
            s.inbox.screen = d.prompt.map(|mut p| {
                s.inbox.prompt_seq = s.inbox.prompt_seq.wrapping_add(1);
                p.identify(&s.id, s.generation, s.inbox.prompt_seq);
                p
            });
            s.inbox.screen_since = s.inbox.screen.as_ref().map(|_| Instant::now());
            if s.inbox.screen.as_ref().map(|p| p.dialog_hash) != s.inbox.answered_dialog {
                s.inbox.answered_dialog = None;
            }
            // Closed without an answer from corral: only a prompt the inbox
            // showed, and not one a hook request took over.
            if let Some(o) = old
                && s.inbox.prompt.as_ref().is_some_and(|p| p.id == o.id)
                && s.inbox.answered != Some(o.id)
            {
                vanished = Some(o);
            }
        }
        // A screen prompt on a hooked slot waits for the hook's request for
        // a moment; look again when that moment has passed.
        if s.inbox.screen.is_some()
            && !s.hook_token.is_empty()
            && s.hooks.is_empty()
            && let Some(at) = inbox::grace_ends(s.inbox.screen_since, Instant::now())
        {
            s.detect_due = Some(s.detect_due.map_or(at, |x| x.min(at)));
        }
        // A screen no rule recognises (mid-redraw, scrolled dialog) keeps the
        // last known state instead of falling back to `starting`.
        // A hook request waits for an answer whatever the screen shows (the
        // agent may draw its dialog later, or not at all).
        let (state, rule) = if s.hooks.is_empty() {
            (d.state, d.rule)
        } else {
            (
                AgentState::NeedsPermission,
                "hook.permission-request".to_string(),
            )
        };
        let keep = (state == AgentState::Starting
            && rule == "nothing-recognised"
            && s.state != AgentState::Starting)
            || held;

        let mut events = Vec::new();
        let mut learned = None;
        if let Some((was, prompt)) = updated {
            events.push(Event::PromptUpdated {
                slot: i,
                was,
                prompt,
            });
        }
        // A prompt that closes goes before the new state, one that opens
        // after it (sync_inbox): no frame shows a prompt beside a state that
        // contradicts it.
        if s.inbox.prompt.as_ref().map(|p| p.id) != inbox_want_ref(s).0.map(|p| p.id)
            && let Some(o) = s.inbox.prompt.take()
        {
            s.inbox.policy_due = None;
            events.push(Event::PromptClosed {
                slot: i,
                prompt: o.id,
            });
        }
        if s.state != state && !keep {
            tracing::debug!(slot = %s.id, state = %state.label(), rule, "state");
            // The agent finished a turn: what it changed in its worktree.
            if state == AgentState::Idle
                && let Some((repo, path, branch)) = &s.worktree
                && let Ok(c) = crate::worktree::changes(repo, path)
            {
                events.push(Event::Worktree {
                    slot: i,
                    branch: branch.clone(),
                    changes: c.len(),
                });
            }
            // The agent finished a turn: the conversation it has open.
            if state == AgentState::Idle
                && let Some(spec) = &s.profile.session
                && spec.id == SessionIdSource::OpenTranscript
                && let Some(pid) = s.live.as_ref().and_then(|l| l.pid)
                && let Some(pattern) = transcript_pattern(spec, &s.cfg)
            {
                learned = conversation::open_by(
                    pid,
                    &pattern,
                    &s.profile.programs,
                    s.session_id.as_deref(),
                );
            }
            // The agent finished a turn: what its transcript says it used.
            if state == AgentState::Idle
                && let Some(spec) = &s.profile.session
                && let Some(kind) = spec.usage
                && let (Some(pattern), Some(id)) = (
                    transcript_pattern(spec, &s.cfg),
                    s.session_id.clone().or_else(|| learned.clone()),
                )
            {
                read_usage_later(i, kind, pattern, id, self.tx.clone());
            }
            s.was_ready |= matches!(
                state,
                AgentState::Idle | AgentState::Working | AgentState::NeedsPermission
            );
            s.state = state.clone();
            events.push(Event::StateChanged {
                slot: i,
                state,
                rule,
            });
        }
        // The record is written before anyone hears the prompt closed.
        if let Some(v) = vanished {
            self.audit_vanished(i, &v, "none", "closed without an answer from corral");
        }
        for e in events {
            self.emit(e);
        }
        if let Some(id) = learned {
            self.learn_conversation(i, id);
        }
        self.correlate_hooks(i);
        self.sync_inbox(i);
        // An answer handed back from the hook, for the dialog it asked for.
        let s = &mut self.slots[i];
        let recheck = Duration::from_millis(AFTER_HOOK_RECHECK_MS);
        let step = s
            .inbox
            .after_hook
            .as_ref()
            .map(|a| a.step(s.inbox.screen.as_ref(), recheck, Instant::now()));
        match step {
            None => {}
            Some(inbox::HandBackStep::Expired) => s.inbox.after_hook = None,
            Some(inbox::HandBackStep::Answer(p)) => {
                if let Some(a) = s.inbox.after_hook.take() {
                    tracing::info!(slot = %s.id, answer = %a.answer, "answering the dialog a hook request handed back");
                    self.answer(i, p, a.answer, a.by);
                }
            }
            // Look again while the agent draws: its last frame may come in
            // the same batch as a half-drawn one.
            Some(inbox::HandBackStep::ReadAt(at)) => {
                s.detect_due = Some(s.detect_due.map_or(at, |d| d.min(at)));
            }
        }
    }

    /// The head hook request and the screen: a dialog seen while the request
    /// waited that closes or changes was answered in the pane, so the request
    /// is done (the hook is told to print nothing).
    pub(super) fn correlate_hooks(&mut self, i: SlotIdx) {
        let epoch = self.epoch;
        loop {
            let s = &mut self.slots[i];
            let last = s.shared.last_output_ms.load(Ordering::Acquire);
            let last_output = (last != 0).then(|| epoch + Duration::from_millis(last));
            // A dialog cut off by a small pane says nothing either way.
            let screen = s
                .inbox
                .screen
                .as_ref()
                .filter(|p| p.incomplete != Some(detect::Incomplete::CutOff))
                .map(|p| ((p.tool.clone(), p.subject.clone()), p.dialog_hash));
            if s.inbox.screen.is_some() && screen.is_none() {
                return;
            }
            let answered_dialog = s.inbox.answered_dialog;
            let Some(h) = s.hooks.front_mut() else { return };
            match (&h.screen_key, screen) {
                // Only the dialog of this very call: the same tool, the same
                // subject as far as the screen can tell, and not a dialog
                // whose request was already answered (the screen may be a
                // read behind).
                (None, Some((key, hash)))
                    if Some(hash) != answered_dialog && same_call(&h.prompt, &key) =>
                {
                    h.screen_key = Some(key);
                    h.screen_hash = Some(hash);
                    return;
                }
                (None, Some(_)) => return,
                // Redrawn (a resize re-wraps it): still this call.
                (Some(_), Some((b, hash))) if same_call(&h.prompt, &b) => {
                    h.screen_hash = Some(hash);
                    return;
                }
                // Never seen: the agent that draws its dialog with the hook
                // is back at its idle prompt, long after the request came.
                // The dialog was answered in the pane before corral read
                // it (the hook waits on regardless); the hook decides
                // nothing, so nothing is answered on a guess.
                (None, None)
                    if h.drawn_with_hook
                        && last_output.is_some_and(|t| t > h.opened)
                        && s.idle_since.is_some_and(|t| t.elapsed() >= HOOK_IDLE)
                        && h.opened.elapsed() >= Duration::from_millis(HOOK_GRACE_MS) =>
                {
                    let Some(h) = s.hooks.pop_front() else { return };
                    let prompt = h.prompt.clone();
                    h.reply(&HookReply::none());
                    self.audit_vanished(i, &prompt, "pane", "the dialog was answered in the pane");
                }
                (None, None) => {
                    if h.drawn_with_hook
                        && let Some(t) = s.idle_since
                    {
                        let at =
                            (t + HOOK_IDLE).max(h.opened + Duration::from_millis(HOOK_GRACE_MS));
                        s.detect_due = Some(s.detect_due.map_or(at, |d| d.min(at)));
                    }
                    return;
                }
                (Some(_), _) => {
                    let Some(h) = s.hooks.pop_front() else { return };
                    let prompt = h.prompt.clone();
                    h.reply(&HookReply::none());
                    self.audit_vanished(i, &prompt, "pane", "the dialog was answered in the pane");
                }
            }
        }
    }

    /// Makes the inbox prompt of slot `i` the oldest hook request, else the
    /// screen prompt (on a hooked slot only after [`HOOK_GRACE_MS`], and never
    /// a dialog whose hook request was answered), and announces a change.
    pub(super) fn sync_inbox(&mut self, i: SlotIdx) {
        let s = &self.slots[i];
        if s.inbox.prompt.as_ref().map(|p| p.id) == inbox_want_ref(s).0.map(|p| p.id) {
            return;
        }
        let (want, opened_at) = inbox_want(s);
        let s = &mut self.slots[i];
        let mut events = Vec::new();
        if let Some(o) = s.inbox.prompt.take() {
            events.push(Event::PromptClosed {
                slot: i,
                prompt: o.id,
            });
        }
        s.inbox.prompt = want.clone();
        s.inbox.prompt_opened = opened_at;
        s.inbox.policy_due = None;
        if let Some(p) = want {
            // A hook request is exact and bound to its connection: decide at
            // once. A screen dialog must first settle (agents draw before
            // they listen).
            let delay = match p.source {
                PromptSource::Hook | PromptSource::Protocol => 0,
                PromptSource::Screen => POLICY_SETTLE_MS,
            };
            s.inbox.policy_due = Some((Instant::now() + Duration::from_millis(delay), p.id));
            let rule = match p.source {
                PromptSource::Hook => Some("hook.permission-request"),
                PromptSource::Protocol => Some("protocol.permission-request"),
                PromptSource::Screen => None,
            };
            if let Some(rule) = rule
                && s.state != AgentState::NeedsPermission
            {
                s.state = AgentState::NeedsPermission;
                s.was_ready = true;
                events.push(Event::StateChanged {
                    slot: i,
                    state: AgentState::NeedsPermission,
                    rule: rule.into(),
                });
            }
            events.push(Event::PromptOpened { slot: i, prompt: p });
        }
        for e in events {
            self.emit(e);
        }
    }
}

/// The prompt slot `s`'s inbox should show, and since when (see
/// [`inbox::shown`]).
pub(crate) fn inbox_want(s: &SlotRt) -> (Option<Prompt>, Option<Instant>) {
    let (p, since) = inbox_want_ref(s);
    (p.cloned(), since)
}

/// [`inbox_want`] without the copy.
pub(crate) fn inbox_want_ref(s: &SlotRt) -> (Option<&Prompt>, Option<Instant>) {
    inbox::shown(
        s.hooks.front().map(|h| (&h.prompt, h.opened)),
        s.inbox.screen.as_ref(),
        s.inbox.screen_since,
        s.inbox.answered_dialog,
        !s.hook_token.is_empty(),
        Instant::now(),
    )
}

/// Between two looks at a transcript whose usage is to be read.
const USAGE_READ_PAUSE: std::time::Duration = std::time::Duration::from_millis(250);

/// Most bytes of a transcript read for its usage (64 MiB): a longer one is
/// not read, and the slot's usage stays as it was.
const USAGE_READ_MAX: u64 = 64 << 20;

/// Reads conversation `id`'s transcript (under `pattern`) on a thread of
/// its own and sends slot `i`'s usage from it to the manager.
fn read_usage_later(
    i: SlotIdx,
    kind: crate::profile::TranscriptUsage,
    pattern: String,
    id: String,
    tx: std::sync::mpsc::Sender<Msg>,
) {
    let _ = std::thread::Builder::new()
        .name("usage".into())
        .spawn(move || {
            // The agent writes its transcript as it goes, and may finish
            // the turn's last line just after its screen went idle: read
            // until the file stops changing (2 s at most).
            let mut last_len = None;
            for _ in 0..8 {
                std::thread::sleep(USAGE_READ_PAUSE);
                let Some(path) = conversation::find(&pattern, &id) else {
                    continue;
                };
                let len = std::fs::metadata(&path).map_or(0, |m| m.len());
                if len > USAGE_READ_MAX {
                    tracing::info!(slot = i, path = %path.display(), "transcript too long to read for usage");
                    return;
                }
                if last_len == Some(len) {
                    let Ok(text) = std::fs::read_to_string(&path) else {
                        return;
                    };
                    let usage = match kind {
                        crate::profile::TranscriptUsage::Claude => {
                            crate::agent_protocol::claude_transcript_usage(&text)
                        }
                        crate::profile::TranscriptUsage::Codex => {
                            crate::agent_protocol::codex_transcript_usage(&text)
                        }
                        crate::profile::TranscriptUsage::Gemini => {
                            crate::agent_protocol::gemini_transcript_usage(&text)
                        }
                    };
                    let _ = tx.send(Msg::UsageRead { slot: i, usage });
                    return;
                }
                last_len = Some(len);
            }
        });
}
