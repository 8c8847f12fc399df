//! Structured slots: what their agents say over the protocol (drawn into
//! the pane; requests into the inbox as exact prompts; states and usage
//! from the protocol only), what a person types (the composer), and
//! answers sent back as protocol lines.
//!
//! Screen detection never runs on such a slot (DESIGN.md invariant 14):
//! its pane holds text a model wrote.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::agent_hook;
use crate::agent_protocol::draw::{self, ComposerAct};
use crate::agent_protocol::{
    AgentMsg, Outgoing, PermissionAsk, Transport, TurnResult, acp, stream_json,
};
use crate::detect::{self, AgentState, Answer, AnswerKind, Prompt, PromptId, PromptSource};
use crate::proto::{AnsweredBy, Event, HookProtocol, SlotIdx};

use crate::agent_protocol::AgentLine;
use crate::server::approvals::request::Via;
use crate::server::manager::lifecycle::spawn_waiter;
use crate::server::manager::*;
use crate::server::session::structured::{self, ProtocolInput, ProtocolLog};

/// A structured slot's turn, as the protocol tells it.
#[derive(Debug, Default)]
pub(crate) struct Turn {
    /// When the agent last said anything.
    pub(crate) last_event: Option<Instant>,
    /// When the current turn started (a message went); `None` between turns.
    pub(crate) started: Option<Instant>,
    /// Tokens and cost of every turn of the slot so far.
    pub(crate) usage: crate::agent_protocol::Usage,
    /// US dollars, the agent's own figures summed.
    pub(crate) cost_usd: f64,
    /// Turns ended.
    pub(crate) turns: u64,
    /// The last turn's result.
    pub(crate) last: Option<TurnResult>,
    /// corral's own requests sent (interrupts), for their ids.
    pub(crate) requests_sent: u64,
    /// The composer's line is drawn at the cursor's row.
    pub(crate) composer_shown: bool,
    /// What the pane shows of the conversation, as drawn (its newest
    /// [`draw::MAX_HISTORY_BYTES`]): drawn again at a new size, so lines wrap
    /// to the pane's width as a program would redraw them.
    pub(crate) drawn: String,
}

impl Manager {
    /// Starts structured slot `i`'s program (`run`, then `extra`) on pipes
    /// in `cwd`: the pane is drawn anew (with the conversation's history
    /// when it resumes one), the reader, writer and waiter threads start.
    ///
    /// Errors: the program cannot start, or its threads cannot.
    pub(super) fn start_structured(
        &mut self,
        i: SlotIdx,
        run: &crate::config::SlotConfig,
        extra: &[String],
        cwd: Option<std::path::PathBuf>,
        confined: bool,
    ) -> anyhow::Result<()> {
        let dir = self.transcript_dir.clone();
        let s = &mut self.slots[i];
        let log = ProtocolLog::open(dir.as_deref(), &s.id, self.transcript_max_bytes);
        s.composer = draw::Composer::default();
        s.turn.composer_shown = false;
        s.turn.drawn.clear();
        s.turn.started = None;
        s.turn.last_event = None;
        let mut text = draw::header(&s.profile.name, s.cfg.transport.name());
        if s.resuming
            && let (Some(dir), Some(id)) = (&dir, &s.session_id)
        {
            let read = |name: String| tail_of(&dir.join(name), draw::MAX_HISTORY_BYTES * 2);
            let log_text = read(format!("{}.protocol.jsonl.1", s.id))
                + &read(format!("{}.protocol.jsonl", s.id));
            text.push_str(&draw::history(&log_text, id));
        }
        self.draw(i, &text);
        let s = &mut self.slots[i];
        let mut run = run.clone();
        if let Some(t) = s.profile.transports.get(&s.cfg.transport) {
            for (k, v) in &t.env {
                run.env.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        let mut child = structured::spawn(&run, extra, cwd)?;
        let pid = child.id();
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            anyhow::bail!("the agent's pipes could not be opened");
        };
        let input = match ProtocolInput::start(&s.id, stdin, log.clone()) {
            Ok(input) => input,
            Err(e) => {
                let _ = child.kill();
                return Err(e.into());
            }
        };
        s.acp = None;
        if s.cfg.transport == Transport::Acp {
            let cwd = s
                .cwd
                .as_ref()
                .map(|c| c.to_string_lossy().into_owned())
                .unwrap_or_default();
            let resume = s.resuming.then(|| s.session_id.clone()).flatten();
            let titles = s
                .profile
                .transports
                .get(&Transport::Acp)
                .is_some_and(|t| t.execute_title_is_command);
            let mut client = acp::Client::new(&cwd, resume).titles_are_commands(titles);
            for l in client.start() {
                let _ = input.send(l);
            }
            s.acp = Some(client);
        }
        let generation = s.generation;
        let drained = structured::spawn_readers(
            &s.id,
            i,
            generation,
            s.cfg.transport,
            stdout,
            child.stderr.take(),
            self.tx.clone(),
            log,
        );
        spawn_waiter(
            &s.id,
            i,
            generation,
            Some(pid),
            confined,
            self.tx.clone(),
            move || {
                let waited = child.wait().map(|st| {
                    use std::os::unix::process::ExitStatusExt;
                    let desc = match (st.code(), st.signal()) {
                        (Some(c), _) => c.to_string(),
                        (None, Some(sig)) => format!("signal {sig}"),
                        (None, None) => "unknown".to_string(),
                    };
                    (desc, st.success())
                });
                // The agent's last lines go to the manager before its exit;
                // a pipe a grandchild keeps open is not waited for long.
                let _ = drained.recv_timeout(crate::server::timing::READERS_DRAIN_WAIT);
                waited
            },
        );
        s.shared
            .pid
            .store(pid, std::sync::atomic::Ordering::Release);
        s.live = Some(Live {
            backend: Backend::Structured { input },
            input: s.shared.input.clone(),
            pid: Some(pid),
            killer: None,
        });
        Ok(())
    }

    /// Sends `out` to structured slot `i`'s agent in its protocol.
    ///
    /// Errors: the answer is not one the request offered, no session runs,
    /// or the agent stopped reading.
    pub(super) fn protocol_send(&mut self, i: SlotIdx, out: &Outgoing) -> Result<(), String> {
        let s = self.slots.get_mut(i).ok_or("no such slot")?;
        let lines = match (s.cfg.transport, s.acp.as_mut()) {
            (Transport::Acp, Some(c)) => c.encode(out).map_err(|e| e.to_string())?,
            (Transport::Acp, None) => return Err(format!("slot {} runs no program", s.id)),
            _ => vec![stream_json::encode(out).map_err(|e| e.to_string())?],
        };
        let Some(Backend::Structured { input }) = s.live.as_ref().map(|l| &l.backend) else {
            return Err(format!("slot {} runs no program", s.id));
        };
        for l in lines {
            input
                .send(l)
                .map_err(|()| "the agent is not reading its input".to_string())?;
        }
        Ok(())
    }

    /// Draws `text` into structured slot `i`'s pane above its composer line.
    pub(super) fn draw(&mut self, i: SlotIdx, text: &str) {
        let Some(s) = self.slots.get_mut(i) else {
            return;
        };
        let mut out = String::new();
        if s.turn.composer_shown {
            out.push_str(draw::Composer::erase());
        }
        out.push_str(text);
        s.turn.drawn.push_str(text);
        if s.turn.drawn.len() > draw::MAX_HISTORY_BYTES {
            let mut cut = s.turn.drawn.len() - draw::MAX_HISTORY_BYTES;
            while !s.turn.drawn.is_char_boundary(cut) {
                cut += 1;
            }
            // From a line's start, so no sequence is cut in two.
            let cut = s.turn.drawn[cut..]
                .find("\r\n")
                .map_or(cut, |n| cut + n + 2);
            s.turn.drawn.drain(..cut);
        }
        out.push_str(&s.composer.line(s.size.1));
        s.turn.composer_shown = true;
        pane_note(&s.shared, self.screens.as_deref(), i, &out);
        self.emit(Event::Output { slot: i });
    }

    /// Draws structured slot `i`'s pane again from what it showed, at the
    /// engine's new size (after a resize: nothing else redraws it).
    pub(super) fn redraw(&mut self, i: SlotIdx) {
        let Some(s) = self.slots.get_mut(i) else {
            return;
        };
        {
            let mut e = s.shared.lock();
            let (rows, cols) = s.size;
            e.reset();
            e.resize(rows, cols);
            if let Some(sink) = &self.screens {
                sink.rebuilt(i, &e);
            }
        }
        let text = std::mem::take(&mut s.turn.drawn);
        s.turn.composer_shown = false;
        self.draw(i, &text);
    }

    /// Sets structured slot `i`'s state from the protocol (`rule` says which
    /// message decided), telling clients of a change.
    pub(super) fn set_state(&mut self, i: SlotIdx, state: AgentState, rule: &str) {
        let Some(s) = self.slots.get_mut(i) else {
            return;
        };
        if s.state == state {
            return;
        }
        s.was_ready |= matches!(
            state,
            AgentState::Idle | AgentState::Working | AgentState::NeedsPermission
        );
        s.state = state.clone();
        let mut events = Vec::new();
        // A turn ended: what the agent changed in its worktree.
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
        events.push(Event::StateChanged {
            slot: i,
            state,
            rule: rule.to_string(),
        });
        for e in events {
            self.emit(e);
        }
    }

    /// A line from structured slot `i`'s session `generation`.
    pub(super) fn agent_line(&mut self, i: SlotIdx, generation: u64, line: AgentLine) {
        let Some(s) = self.slots.get_mut(i) else {
            return;
        };
        if s.generation != generation || s.live.is_none() {
            return;
        }
        s.turn.last_event = Some(Instant::now());
        match line {
            AgentLine::Msgs(msgs) => {
                for m in msgs {
                    self.agent_msg(i, m);
                }
            }
            AgentLine::Text(t) => {
                self.draw(i, &format!("\x1b[2m{}\x1b[0m\r\n", printable_line(&t)))
            }
            AgentLine::Stderr(t) => self.draw(
                i,
                &format!("\x1b[2m[stderr] {}\x1b[0m\r\n", printable_line(&t)),
            ),
            AgentLine::Rpc(v) => {
                let read = self.slots[i].acp.as_mut().map(|c| c.read(&v));
                match read {
                    Some(Ok((msgs, replies))) => {
                        if let Some(Live {
                            backend: Backend::Structured { input },
                            ..
                        }) = &self.slots[i].live
                        {
                            for l in replies {
                                let _ = input.send(l);
                            }
                        }
                        for m in msgs {
                            self.agent_msg(i, m);
                        }
                    }
                    Some(Err(why)) => {
                        tracing::warn!(slot = %self.slots[i].id, "unreadable ACP message: {why}");
                        self.draw(
                            i,
                            &draw::note(&format!(
                                "a message from the agent could not be read ({why}); nothing was decided on it"
                            )),
                        );
                    }
                    None => {}
                }
            }
            AgentLine::Bad(why) => {
                tracing::warn!(slot = %self.slots[i].id, "unreadable protocol line: {why}");
                self.draw(
                    i,
                    &draw::note(&format!(
                        "a message from the agent could not be read ({why}); nothing was decided on it"
                    )),
                );
            }
        }
        self.stall_check(i, Instant::now());
    }

    fn agent_msg(&mut self, i: SlotIdx, m: AgentMsg) {
        if !matches!(m, AgentMsg::Permission(_))
            && let Some(text) = draw::message(&m)
        {
            self.draw(i, &text);
        }
        match m {
            AgentMsg::Session { id, .. } => {
                self.learn_conversation(i, id);
                if self.slots[i].state == AgentState::Starting {
                    self.set_state(i, AgentState::Idle, "protocol.session-open");
                }
            }
            AgentMsg::Permission(ask) => self.protocol_request(i, ask),
            AgentMsg::Withdrawn { key } => {
                let s = &mut self.slots[i];
                if let Some(at) = s.hooks.iter().position(|h| h.protocol_key() == Some(&key))
                    && let Some(h) = s.hooks.remove(at)
                {
                    self.audit_vanished(i, &h.prompt, "none", "the agent withdrew the request");
                    self.sync_inbox(i);
                    self.settle(i, "protocol.withdrawn");
                }
            }
            AgentMsg::TurnEnded(r) => {
                // A request still open when its turn ended is over: the
                // agent no longer waits for it.
                self.end_protocol_requests(i, "the turn ended before an answer");
                let s = &mut self.slots[i];
                s.turn.usage.add(&r.usage);
                s.turn.cost_usd += r.cost_usd.unwrap_or(0.0);
                s.turn.turns += 1;
                s.turn.started = None;
                if let Some(id) = r.session_id.clone() {
                    self.learn_conversation(i, id);
                }
                let s = &mut self.slots[i];
                s.turn.last = Some(r.clone());
                let waiting = !s.hooks.is_empty();
                self.emit(Event::TurnEnded {
                    slot: i,
                    result: Box::new(r),
                });
                if !waiting {
                    self.set_state(i, AgentState::Idle, "protocol.result");
                }
            }
            AgentMsg::Text(_) | AgentMsg::ToolCall { .. } | AgentMsg::ToolResult { .. } => {
                self.activity(i, "protocol.activity")
            }
            AgentMsg::Unserved { key, what } => {
                let why = format!("corral does not serve {what}");
                if let Err(e) = self.protocol_send(i, &Outgoing::Unserved { key, why }) {
                    tracing::info!(slot = %self.slots[i].id, "{e}");
                }
            }
            AgentMsg::Replied { .. } | AgentMsg::Notice(_) => {}
        }
    }

    /// The agent is at work (a message, a tool): working, unless a request
    /// waits or no turn runs (output after a turn's end is its tail).
    fn activity(&mut self, i: SlotIdx, rule: &str) {
        let s = &self.slots[i];
        if s.hooks.is_empty() && (s.turn.started.is_some() || s.state == AgentState::Stalled) {
            self.set_state(i, AgentState::Working, rule);
        }
    }

    /// A permission request from the protocol: an exact prompt, queued with
    /// the hook requests (the first is the inbox prompt).
    fn protocol_request(&mut self, i: SlotIdx, ask: PermissionAsk) {
        let s = &mut self.slots[i];
        // Claude Code's tool inputs are those its hook gives: the subject is
        // read by the same code, relative paths as its dialog shows them.
        let event = json!({
            "hook_event_name": "PermissionRequest",
            "tool_name": ask.tool,
            "tool_input": ask.input,
            "cwd": s.cwd.as_ref().map(|c| c.to_string_lossy().into_owned()),
        });
        let (tool, subject, question, mut dialog, mut unreadable) =
            match agent_hook::parse(HookProtocol::ClaudePermissionRequest, &event) {
                Ok(c) => (c.tool, c.subject, c.question, c.dialog, None),
                // Never an empty or guessed subject: the person sees the
                // whole input, and no rule answers it.
                Err(e) => (
                    ask.tool.clone(),
                    ask.input.to_string(),
                    format!("Allow {}?", ask.tool),
                    vec![format!("{} (from the agent's protocol)", ask.tool)],
                    Some(e.to_string()),
                ),
            };
        let inexact = match s.cfg.transport {
            Transport::Acp => detect::Incomplete::Described,
            _ => detect::Incomplete::ExtraInput,
        };
        if !ask.exact {
            unreadable = Some(inexact.to_string());
        }
        if let Some(first) = dialog.first_mut() {
            *first = match &unreadable {
                None => format!("{tool} (from the agent's protocol: exact)"),
                Some(why) => format!("{tool} (from the agent's protocol: {why})"),
            };
        }
        if let Some(p) = &ask.blocked_path {
            dialog.push(format!("the path it asks about: {p}"));
        }
        let scope = ask
            .always
            .as_ref()
            .map(stream_json::describe_always)
            .unwrap_or_default();
        if !scope.is_empty() {
            dialog.push("approve always, for this agent session only:".into());
            dialog.extend(scope.iter().map(|s| format!("  {s}")));
        }
        s.inbox.prompt_seq = s.inbox.prompt_seq.wrapping_add(1);
        let kinds = ask.kinds();
        let mut p = Prompt {
            source: PromptSource::Protocol,
            incomplete: match (&unreadable, ask.exact) {
                (_, false) => Some(inexact),
                (Some(_), true) => Some(detect::Incomplete::Unprovable),
                (None, true) => None,
            },
            id: PromptId(0),
            dialog_hash: 0,
            tool,
            subject,
            question,
            options: kinds
                .iter()
                .enumerate()
                .map(|(n, k)| detect::PromptOption {
                    number: u8::try_from(n + 1).unwrap_or(u8::MAX),
                    label: match (k, ask.options.iter().find(|(o, _, _)| o == k)) {
                        // The agent's own words for its options.
                        (_, Some((_, _, name))) if !name.is_empty() => {
                            format!("{name} (through the protocol)")
                        }
                        (AnswerKind::ApproveOnce, _) => "Yes (through the protocol)".into(),
                        (AnswerKind::ApproveAlways, _) => {
                            format!("Yes, and this session: {}", scope.join("; "))
                        }
                        _ => "No (through the protocol)".into(),
                    },
                    kind: *k,
                    keys: Vec::new(),
                    selected: false,
                })
                .collect(),
            dialog,
            deny_fallback: Vec::new(),
            unavailable: Default::default(),
        };
        if !kinds.contains(&AnswerKind::ApproveAlways) {
            p.unavailable.insert(
                AnswerKind::ApproveAlways.name().to_string(),
                "the agent offered no rule to approve always".into(),
            );
        }
        p.dialog_hash =
            detect::hash_text(&format!("protocol\n{}\n{}\n{}", ask.key, p.tool, p.subject));
        p.identify(&s.id, s.generation, s.inbox.prompt_seq);
        if let Some(why) = &unreadable {
            tracing::warn!(slot = %s.id, "protocol request not readable: {why}");
        }
        tracing::info!(slot = %s.id, key = %ask.key, tool = %p.tool, "protocol request");
        let text = draw::message(&AgentMsg::Permission(ask.clone())).unwrap_or_default();
        s.hooks.push_back(HookPending {
            to: Responder::Protocol { ask: Box::new(ask) },
            prompt: p,
            opened: Instant::now(),
            screen_hash: None,
            screen_key: None,
            cwd: None,
            drawn_with_hook: false,
        });
        self.draw(i, &text);
        self.sync_inbox(i);
    }

    /// Answers protocol request `pos` of slot `i` with a protocol line.
    pub(super) fn answer_protocol(
        &mut self,
        i: SlotIdx,
        pos: usize,
        answer: Answer,
        by: AnsweredBy,
    ) {
        let s = &mut self.slots[i];
        let Some(h) = s.hooks.get(pos) else { return };
        let (prompt, want) = (h.prompt.clone(), h.prompt.id);
        let Responder::Protocol { ask } = &h.to else {
            return;
        };
        // A numbered option is the kind it shows.
        let answer = match answer {
            Answer::Select(n) => match prompt.options.iter().find(|o| o.number == n) {
                Some(o) if o.kind == AnswerKind::ApproveOnce => Answer::ApproveOnce,
                Some(o) if o.kind == AnswerKind::ApproveAlways => Answer::ApproveAlways,
                Some(o) if o.kind == AnswerKind::Deny => Answer::Deny,
                _ => {
                    let reason = format!("this prompt has no option {n}");
                    return self.refuse(i, Some(&prompt), want, answer, &by, reason);
                }
            },
            a => a,
        };
        let message = match by.source.as_str() {
            "policy" => format!("Denied by corral rule {}", by.detail),
            _ => "Denied by the person supervising this agent in corral".to_string(),
        };
        let out = Outgoing::Answer {
            ask: ask.clone(),
            answer,
            message,
        };
        if let Err(reason) = self.protocol_send(i, &out) {
            return self.refuse(i, Some(&prompt), want, answer, &by, reason);
        }
        let s = &mut self.slots[i];
        s.hooks.remove(pos);
        let verb = match answer {
            Answer::ApproveAlways => "approved always",
            Answer::Deny => "denied",
            _ => "approved once",
        };
        let who = match by.source.as_str() {
            "policy" => format!("rule {}", by.detail),
            "keyboard" => "you".to_string(),
            other => other.to_string(),
        };
        self.draw(i, &draw::answered(&prompt.tool, verb, &who));
        self.sent(i, &prompt, answer, by, Via::Protocol);
        self.settle(i, "protocol.answered");
    }

    /// Structured slot `i`'s state once no request of its waits: working
    /// while a turn runs, else idle.
    fn settle(&mut self, i: SlotIdx, rule: &str) {
        let s = &self.slots[i];
        if !s.hooks.is_empty() {
            return;
        }
        let state = if s.turn.started.is_some() {
            AgentState::Working
        } else {
            AgentState::Idle
        };
        self.set_state(i, state, rule);
    }

    /// Ends structured slot `i`'s open protocol requests (`why` in the
    /// audit): they leave the inbox, recorded as vanished.
    fn end_protocol_requests(&mut self, i: SlotIdx, why: &str) {
        let s = &mut self.slots[i];
        if !s.hooks.iter().any(|h| h.protocol_key().is_some()) {
            return;
        }
        let (gone, kept): (Vec<HookPending>, Vec<HookPending>) =
            s.hooks.drain(..).partition(|h| h.protocol_key().is_some());
        s.hooks.extend(kept);
        for h in gone {
            self.audit_vanished(i, &h.prompt, "none", why);
        }
        self.sync_inbox(i);
    }

    /// What a person typed into structured slot `i`'s pane.
    pub(super) fn compose(&mut self, i: SlotIdx, bytes: &[u8]) {
        let Some(s) = self.slots.get_mut(i) else {
            return;
        };
        let acts = s.composer.keys(bytes);
        self.draw(i, "");
        for act in acts {
            let r = match act {
                ComposerAct::Send(text) => self.send_message(i, &text),
                ComposerAct::Interrupt => self.interrupt_turn(i),
            };
            if let Err(reason) = r {
                let id = self.slots[i].id.clone();
                self.emit(Event::InputRefused {
                    slot: i,
                    reason: format!("{id}: {reason}"),
                });
            }
        }
    }

    /// Sends `text` to structured slot `i`'s agent as a message (mid-turn
    /// too: the agent queues it).
    ///
    /// Errors: no session runs, or the agent stopped reading.
    pub(super) fn send_message(&mut self, i: SlotIdx, text: &str) -> Result<(), String> {
        self.protocol_send(i, &Outgoing::Message(text.to_string()))?;
        let s = &mut self.slots[i];
        s.turn.started.get_or_insert_with(Instant::now);
        s.turn.last_event = Some(Instant::now());
        self.draw(i, &draw::user(text));
        if self.slots[i].hooks.is_empty() {
            self.set_state(i, AgentState::Working, "protocol.message");
        }
        Ok(())
    }

    /// Asks structured slot `i`'s agent to stop its turn.
    ///
    /// Errors: no session runs, or the agent stopped reading.
    pub(super) fn interrupt_turn(&mut self, i: SlotIdx) -> Result<(), String> {
        let s = self.slots.get_mut(i).ok_or("no such slot")?;
        s.turn.requests_sent += 1;
        let key = format!("corral-{}", s.turn.requests_sent);
        self.protocol_send(i, &Outgoing::Interrupt { key })?;
        self.draw(i, "\x1b[2m[corral] interrupt sent\x1b[0m\r\n");
        // ACP: the cancel answered every waiting request `cancelled`; they
        // leave the inbox now (Claude Code withdraws its own).
        if self.slots[i].cfg.transport == Transport::Acp {
            self.end_protocol_requests(i, "the turn was cancelled");
        }
        Ok(())
    }

    /// When structured slot `i` is next to be looked at for a stall: a turn
    /// running with no message from the agent for the profile's
    /// `stalled_after_ms`.
    pub(super) fn stall_due(&self, i: SlotIdx) -> Option<Instant> {
        let s = self.slots.get(i)?;
        if !s.cfg.transport.is_structured()
            || s.live.is_none()
            || s.state != AgentState::Working
            || !s.hooks.is_empty()
        {
            return None;
        }
        let last = s.turn.last_event.or(s.turn.started)?;
        Some(last + Duration::from_millis(s.profile.stalled_after_ms))
    }

    /// Marks structured slot `i` stalled when [`Manager::stall_due`] passed.
    pub(super) fn stall_check(&mut self, i: SlotIdx, now: Instant) {
        if let Some(at) = self.stall_due(i)
            && at <= now
        {
            let secs = self.slots[i].profile.stalled_after_ms as f64 / 1000.0;
            self.draw(
                i,
                &format!(
                    "\x1b[33m[corral] no message from the agent for {secs:.1} s in a turn: stalled\x1b[0m\r\n"
                ),
            );
            self.set_state(i, AgentState::Stalled, "protocol.no-message");
        }
    }
}

/// One line of text from the agent's process, printable.
fn printable_line(t: &str) -> String {
    crate::agent_protocol::printable(t).replace('\n', " ")
}

/// The last `max` bytes of file `path` as text, from a line's start (empty
/// when it cannot be read): a long protocol log is never read whole.
fn tail_of(path: &std::path::Path, max: usize) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map_or(0, |m| m.len());
    let from = len.saturating_sub(max as u64);
    if f.seek(SeekFrom::Start(from)).is_err() {
        return String::new();
    }
    let mut buf = Vec::new();
    if f.take(max as u64).read_to_end(&mut buf).is_err() {
        return String::new();
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    match (from, text.find('\n')) {
        (0, _) => text,
        (_, Some(n)) => text[n + 1..].to_string(),
        (_, None) => String::new(),
    }
}
