//! Policy, answers (by keys or through a hook), refusals and the audit
//! log, for every prompt whatever its source.

use std::time::{Duration, Instant};

use crate::detect::{self, Answer, Prompt, PromptId, Timing};
use crate::keys::{self};
use crate::policy::{Subject, Verdict};
use crate::proto::{AnsweredBy, Event, HookDecision, HookReply, PROTO_VERSION, SlotIdx};

use crate::server::approvals::answer::*;
use crate::server::approvals::audit::*;
use crate::server::approvals::inbox::{self, HandBack};
use crate::server::approvals::request::{self, Via};
use crate::server::manager::*;
use crate::server::probe;
use crate::server::timing::*;

impl Manager {
    /// Answers a new prompt by policy, through the same verified path as a
    /// keypress (the answer names the prompt id; it is re-detected first).
    pub(super) fn apply_policy(&mut self, i: SlotIdx, p: &Prompt) {
        let s = &self.slots[i];
        // Never decide on a guess: a rule answers only an exact subject.
        if let Err(why) = request::exactness(p, !s.hook_token.is_empty()) {
            if !self.policy.rules.is_empty() {
                self.emit(Event::PolicyAsked {
                    slot: i,
                    prompt: p.id,
                    reason: format!("subject not exact: {why}"),
                });
            }
            return;
        }
        // A hook says where the agent runs the tool: writes are judged
        // against the slot's directory only while the agent is inside it.
        let hook_cwd = s
            .hooks
            .iter()
            .find(|h| h.prompt.id == p.id)
            .and_then(|h| h.cwd.clone());
        let outside = request::inside(hook_cwd.as_deref(), s.cwd.as_deref()).err();
        // A shell command is parsed first in a child under hard limits.
        let probed = match &self.probe_exe {
            Some(exe) if crate::policy::is_shell_tool(&p.tool) => {
                probe::check(exe, &p.subject).err()
            }
            _ => None,
        };
        let d = if let Some(why) = probed {
            tracing::warn!(slot = %s.id, "{why}");
            crate::policy::Decision {
                verdict: Verdict::Ask,
                rule: None,
                reason: format!("unparseable: {why}"),
            }
        } else {
            self.policy.decide(&Subject {
                slot: &s.id,
                role: &s.cfg.role,
                agent: &s.profile.name,
                tool: &p.tool,
                subject: &p.subject,
                cwd: s.cwd.as_deref(),
                // The agent's own directory, where it is inside the slot's
                // (outside, the answer is `ask` anyway): `cd .git` in one
                // command, `>> config` in the next, is `.git/config`.
                dir: hook_cwd
                    .as_deref()
                    .filter(|_| outside.is_none())
                    .map(std::path::Path::new),
                dialog: &p.dialog.join("\n"),
                incomplete: outside.as_deref(),
            })
        };
        let answer = match d.verdict {
            Verdict::Allow => Answer::ApproveOnce,
            Verdict::Deny => Answer::Deny,
            Verdict::Ask => {
                // A rule's reason, or why the subject could not be
                // evaluated at all (`unparseable: nested too deeply`).
                if d.rule.is_some()
                    || (!self.policy.rules.is_empty() && d.reason.starts_with("unparseable"))
                {
                    self.emit(Event::PolicyAsked {
                        slot: i,
                        prompt: p.id,
                        reason: d.reason,
                    });
                }
                return;
            }
        };
        if !self.auto {
            self.emit(Event::PolicyAsked {
                slot: i,
                prompt: p.id,
                reason: format!("paused ({})", d.reason),
            });
            return;
        }
        let by = AnsweredBy {
            source: "policy".into(),
            detail: d.rule.unwrap_or_default(),
        };
        self.answer(i, p.id, answer, by);
    }

    /// Answers hook request `pos` of slot `i` through its hook: allow or
    /// deny, bound to that request. Other answers are refused (they exist
    /// only as keys in the pane).
    pub(super) fn answer_hook(&mut self, i: SlotIdx, pos: usize, answer: Answer, by: AnsweredBy) {
        let s = &mut self.slots[i];
        // A structured slot's request is answered over its protocol.
        if s.hooks.get(pos).is_some_and(|h| h.protocol_key().is_some()) {
            return self.answer_protocol(i, pos, answer, by);
        }
        let decision = match answer {
            Answer::ApproveOnce => HookDecision::Allow,
            Answer::Deny => HookDecision::Deny,
            Answer::ApproveAlways | Answer::Select(_)
                if s.profile.hook.as_ref().is_some_and(|h| h.dialog_after_hook) =>
            {
                // The agent draws its dialog once the hook decides nothing:
                // hand the request back and answer that dialog when it shows
                // this same subject, read exactly.
                let Some(h) = s.hooks.remove(pos) else { return };
                tracing::info!(slot = %s.id, %answer, "hook request handed back for the agent's dialog");
                s.inbox.after_hook = Some(HandBack {
                    tool: h.prompt.tool.clone(),
                    subject: h.prompt.subject.clone(),
                    answer,
                    by,
                    until: Instant::now() + Duration::from_millis(AFTER_HOOK_MS),
                });
                h.reply(&HookReply::none());
                let at = Instant::now() + Duration::from_millis(AFTER_HOOK_RECHECK_MS);
                s.detect_due = Some(s.detect_due.map_or(at, |d| d.min(at)));
                self.sync_inbox(i);
                return;
            }
            Answer::ApproveAlways | Answer::Select(_) => {
                let Some(h) = s.hooks.get(pos) else { return };
                let (prompt, want) = (h.prompt.clone(), h.prompt.id);
                // The hook only says allow or deny. The agent's own dialog for
                // this request, seen while it waited and still on screen, has
                // the other options: answer there, by the verified keys path.
                let dialog = s
                    .inbox
                    .screen
                    .as_ref()
                    .filter(|p| h.screen_hash == Some(p.dialog_hash))
                    .map(|p| (p.id, p.dialog_hash));
                // Its dialog may not be read yet: look again shortly.
                if dialog.is_none() && h.opened.elapsed() < Duration::from_millis(HOOK_GRACE_MS) {
                    let at = Instant::now() + Duration::from_millis(DETECT_DEBOUNCE_MS * 2);
                    s.inbox.answer_due = Some((at, want, answer, by));
                    return;
                }
                if dialog.is_some()
                    && let Some(at) = inbox::settle_until(s.inbox.screen_since, Instant::now())
                {
                    s.inbox.answer_due = Some((at, want, answer, by));
                    return;
                }
                if let Some((screen_id, hash)) = dialog {
                    self.answer(i, screen_id, answer, by);
                    let s = &mut self.slots[i];
                    if s.inbox.answered == Some(screen_id)
                        && let Some(at) = s.hooks.iter().position(|h| h.prompt.id == want)
                        && let Some(h) = s.hooks.remove(at)
                    {
                        s.inbox.answered_dialog = Some(hash);
                        h.reply(&HookReply::none());
                        self.sync_inbox(i);
                    }
                    return;
                }
                let reason = format!(
                    "{answer} is not sent through the agent's hook, and its dialog is not on screen"
                );
                return self.refuse(i, Some(&prompt), want, answer, &by, reason);
            }
        };
        let Some(h) = s.hooks.remove(pos) else { return };
        let prompt = h.prompt.clone();
        // The dialog this request showed is answered: never offer it again.
        s.inbox.answered_dialog = h
            .screen_hash
            .or_else(|| s.inbox.screen.as_ref().map(|p| p.dialog_hash));
        let message = (decision == HookDecision::Deny).then(|| match by.source.as_str() {
            "policy" => format!("Denied by corral rule {}", by.detail),
            _ => "Denied by the person supervising this agent in corral".to_string(),
        });
        let conn = h.conn().unwrap_or_default();
        h.reply(&HookReply {
            v: PROTO_VERSION,
            decision: Some(decision),
            message,
            error: None,
        });
        self.sent(i, &prompt, answer, by, Via::Hook { conn });
    }

    /// The one follow-up after an answer reached the agent `via` keys or
    /// its hook: the prompt counts as answered from now (the re-answer
    /// window), the audit says `sent`, clients hear of it, and then, for
    /// keys, the screen is read again soon (for the dialog to go), for a
    /// hook, the inbox moves on to the next request.
    pub(super) fn sent(
        &mut self,
        i: SlotIdx,
        prompt: &Prompt,
        answer: Answer,
        by: AnsweredBy,
        via: Via,
    ) {
        let now = Instant::now();
        let want = prompt.id;
        let s = &mut self.slots[i];
        s.inbox.answered = Some(want);
        s.inbox.answered_at = Some(now);
        if via == Via::Keys {
            s.detect_due = Some(now + Duration::from_millis(DETECT_DEBOUNCE_MS));
        }
        self.audit(i, Some(prompt), want, Some(answer), &by, "sent", None);
        let conn = match via {
            Via::Hook { conn } => Some(conn),
            Via::Keys | Via::Protocol => None,
        };
        tracing::info!(slot = %self.slots[i].id, %want, %answer, via = via.label(), ?conn, "answer sent");
        self.emit(Event::AnswerSent {
            slot: i,
            prompt: want,
            answer,
            by,
        });
        if let Via::Hook { .. } | Via::Protocol = via {
            self.sync_inbox(i);
        }
    }

    pub(super) fn answer(&mut self, i: SlotIdx, want: PromptId, answer: Answer, by: AnsweredBy) {
        let Some(s) = self.slots.get(i) else { return };
        if s.inbox.answer_due.as_ref().is_some_and(|a| a.1 == want) {
            let reason =
                "this prompt was already answered (its keys wait for the dialog to settle)";
            let prompt = s.inbox.screen.clone().filter(|p| p.id == want);
            return self.refuse(i, prompt.as_ref(), want, answer, &by, reason.into());
        }
        if let Some(pos) = s.hooks.iter().position(|h| h.prompt.id == want) {
            return self.answer_hook(i, pos, answer, by);
        }
        // A dialog whose hook request was answered takes no keys too.
        if let Some(p) = s
            .inbox
            .screen
            .as_ref()
            .filter(|p| p.id == want && s.inbox.answered_dialog == Some(p.dialog_hash))
        {
            let reason = "this dialog was already answered through the agent's hook";
            let p = p.clone();
            return self.refuse(i, Some(&p), want, answer, &by, reason.into());
        }

        // Re-detect on the screen as it is now: the user's decision applies
        // only to the dialog they saw.
        let current = if s.live.is_some() {
            let snap = s.shared.lock().snapshot();
            detect::detect(&s.profile, &snap, Timing::default()).prompt
        } else {
            None
        };
        // Keys an agent missed: the same prompt still on screen long after
        // its answer may be answered again.
        let answered = inbox::still_answered(s.inbox.answered, s.inbox.answered_at, Instant::now());
        let verdict = check_answer(
            current.as_ref(),
            s.inbox.screen.as_ref(),
            answered,
            want,
            answer,
        )
        .map(|(p, keys)| {
            let modes = s.shared.lock().input_modes();
            let bytes: Vec<u8> = keys.iter().flat_map(|k| keys::encode(*k, modes)).collect();
            (p, bytes)
        });
        // Keys for a dialog drawn a moment ago wait until the agent listens
        // (and are checked again then).
        if verdict.is_ok()
            && let Some(at) = inbox::settle_until(s.inbox.screen_since, Instant::now())
        {
            self.slots[i].inbox.answer_due = Some((at, want, answer, by));
            return;
        }
        match verdict {
            Ok((prompt, bytes)) => {
                if self.write(i, bytes) {
                    self.sent(i, &prompt, answer, by, Via::Keys);
                } else {
                    let reason = "the session is not accepting input";
                    self.refuse(i, Some(&prompt), want, answer, &by, reason.into());
                }
            }
            Err(Refusal { reason, prompt }) => {
                tracing::info!(slot = %self.slots[i].id, %want, %reason, "answer refused");
                self.refuse(i, prompt.as_deref(), want, answer, &by, reason);
            }
        }
    }

    /// Audits an answer that was not sent, and tells the clients why.
    pub(super) fn refuse(
        &self,
        i: SlotIdx,
        prompt: Option<&Prompt>,
        want: PromptId,
        answer: Answer,
        by: &AnsweredBy,
        reason: String,
    ) {
        self.audit(i, prompt, want, Some(answer), by, "refused", Some(&reason));
        self.emit(Event::AnswerRefused {
            slot: i,
            prompt: want,
            reason,
        });
    }

    /// Audits a prompt that closed without an answer from corral; `who` is
    /// `none`, or `pane` when the person answered in the pane.
    pub(super) fn audit_vanished(&self, i: SlotIdx, p: &Prompt, who: &str, why: &str) {
        let by = AnsweredBy {
            source: who.into(),
            detail: String::new(),
        };
        self.audit(i, Some(p), p.id, None, &by, "vanished", Some(why));
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn audit(
        &self,
        i: SlotIdx,
        prompt: Option<&Prompt>,
        id: PromptId,
        answer: Option<Answer>,
        by: &AnsweredBy,
        result: &'static str,
        reason: Option<&str>,
    ) {
        let Some(path) = &self.audit_path else { return };
        let s = &self.slots[i];
        let slot = AuditSlot {
            session: self.session.clone(),
            slot: s.id.clone(),
            agent: s.profile.name.clone(),
            generation: s.generation,
            sandbox: s.sandbox.clone(),
        };
        let outcome = Outcome {
            answer,
            by: by.clone(),
            result,
            reason: reason.map(str::to_string),
            waited_ms: s
                .inbox
                .prompt_opened
                .filter(|_| s.inbox.prompt.as_ref().is_some_and(|p| p.id == id))
                .map(|t| t.elapsed().as_millis() as u64),
        };
        AuditRecord::new(slot, prompt, id, outcome).append(path);
    }
}
