//! Agents' permission hooks: requests arriving on the socket, and their
//! connections going away.

use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Instant;

use crate::agent_hook;
use crate::detect::{self, Prompt, PromptId, PromptSource};
use crate::proto::{self, HookReply, HookRequest, SlotIdx};

use crate::server::approvals::answer::*;
use crate::server::manager::*;

impl Manager {
    /// A hook request arrived: check it belongs to a live session of a slot
    /// with a hook, read it, and queue it (the first is the inbox prompt).
    pub(super) fn hook_opened(&mut self, conn: u64, req: HookRequest, stream: UnixStream) {
        let refuse = |stream: UnixStream, why: String| {
            tracing::info!(conn, "hook request refused: {why}");
            send_reply(conn, &stream, &HookReply::error(why));
        };
        let Some(i) = self.slots.iter().position(|s| s.id == req.slot) else {
            return refuse(stream, format!("no slot {:?}", req.slot));
        };
        let s = &self.slots[i];
        let spec = s.profile.hook.as_ref();
        if s.live.is_none()
            || s.generation != req.generation
            || s.hook_token.is_empty()
            || s.hook_token != req.token
            || spec.map(|h| h.protocol) != Some(req.protocol)
        {
            return refuse(stream, "not the slot's current session".into());
        }
        let call = match agent_hook::parse(req.protocol, &req.event) {
            Ok(c) => c,
            Err(e) => return refuse(stream, e.to_string()),
        };
        let tool = spec
            .and_then(|h| h.rename_tools.get(&call.tool).cloned())
            .unwrap_or(call.tool);
        // The agent says which conversation it runs (it changes with
        // Claude Code's `/clear`, Codex's `/new`).
        if let Some(id) = req.event.get("session_id").and_then(|v| v.as_str()) {
            self.learn_conversation(i, id.to_string());
        }
        let s = &mut self.slots[i];
        s.inbox.prompt_seq = s.inbox.prompt_seq.wrapping_add(1);
        let mut p = Prompt {
            source: PromptSource::Hook,
            incomplete: None,
            id: PromptId(0),
            dialog_hash: 0,
            tool,
            subject: call.subject,
            question: call.question,
            options: Vec::new(),
            dialog: call.dialog,
            deny_fallback: Vec::new(),
            unavailable: Default::default(),
        };
        p.dialog_hash = detect::hash_text(&format!("hook\n{conn}\n{}\n{}", p.tool, p.subject));
        p.identify(&s.id, s.generation, s.inbox.prompt_seq);
        p.options = hook_options();
        tracing::info!(slot = %s.id, conn, tool = %p.tool, "hook request");
        let cwd = req
            .event
            .get("cwd")
            .and_then(serde_json::Value::as_str)
            .map(PathBuf::from);
        // Idle must be read again after the request came (it came with new
        // output), before a never-seen dialog counts as answered.
        s.idle_since = None;
        s.hooks.push_back(HookPending {
            to: Responder::Hook { conn, stream },
            prompt: p,
            opened: Instant::now(),
            screen_hash: None,
            screen_key: None,
            cwd,
            drawn_with_hook: req.protocol == proto::HookProtocol::ClaudePermissionRequest,
        });
        self.correlate_hooks(i);
        self.sync_inbox(i);
    }

    /// A hook's connection closed before an answer: the agent gave up on it
    /// (the person answered in the pane, or the hook timed out).
    pub(super) fn hook_gone(&mut self, conn: u64) {
        for i in 0..self.slots.len() {
            let Some(at) = self.slots[i]
                .hooks
                .iter()
                .position(|h| h.conn() == Some(conn))
            else {
                continue;
            };
            let Some(h) = self.slots[i].hooks.remove(at) else {
                return;
            };
            self.audit_vanished(i, &h.prompt, "none", "the agent closed the hook request");
            self.sync_inbox(i);
            return;
        }
    }

    /// Ends slot `i`'s open prompts because its session ended or is
    /// replaced: the inbox's prompt and every waiting hook request are
    /// audited as `vanished` by `none` with `why` (a prompt open when its
    /// session ends was never answered by corral, and the log says so
    /// rather than nothing), each hook gets no decision (the agent is gone
    /// or will ask again), and clients are told the prompt closed.
    pub(super) fn end_prompts(&mut self, i: SlotIdx, why: &str) {
        let Some(s) = self.slots.get_mut(i) else {
            return;
        };
        // An answer still waiting to go (keys for a dialog that had not
        // settled, an approve-always waiting for the agent's own dialog)
        // is refused, once, in its own record; a policy decision not yet
        // made is not made.
        s.inbox.policy_due = None;
        let mut waiting = s.inbox.answer_due.take();
        let answered = s.inbox.answered;
        let hooked: Vec<PromptId> = s.hooks.iter().map(|h| h.prompt.id).collect();
        let mut ended = Vec::new();
        // A prompt whose answer went has its record: it is not ended again.
        if let Some(p) = s
            .inbox
            .prompt
            .clone()
            .filter(|p| !hooked.contains(&p.id) && answered != Some(p.id))
        {
            ended.push(p);
        }
        let hooks: Vec<HookPending> = s.hooks.drain(..).collect();
        for h in hooks {
            ended.push(h.prompt.clone());
            h.reply(&HookReply::none());
        }
        for p in ended {
            match waiting.take_if(|w| w.1 == p.id) {
                Some((_, id, answer, by)) => {
                    let reason = format!("{why} before the answer went");
                    self.refuse(i, Some(&p), id, answer, &by, reason);
                }
                None => self.audit_vanished(i, &p, "none", why),
            }
        }
        if let Some(p) = self.slots[i].inbox.prompt.take() {
            self.emit(Event::PromptClosed {
                slot: i,
                prompt: p.id,
            });
        }
    }
}
