//! Sessions starting and ending: spawn, worktree making, the command line,
//! exit and restart, slots added at run time.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self};
use std::time::Instant;

use crate::config::SlotConfig;
use crate::detect::AgentState;
use crate::engine::Engine;
use crate::profile::{Profiles, SessionIdSource};
use crate::proto::{Event, SlotIdx};

use crate::server::approvals::inbox::Inbox;
use crate::server::bus::*;
use crate::server::manager::*;
use crate::server::pty;
use crate::server::session::launch::*;
use crate::server::session::reader::*;
use crate::server::session::*;
use crate::server::shared::*;
use crate::server::slot::restart;
use crate::server::timing::*;
use crate::server::transcript::Transcript;
use crate::server::{confine, conversation};

impl Manager {
    /// Starts slot `i`'s next session, and keeps the state file up to
    /// date with it.
    pub(super) fn spawn(&mut self, i: SlotIdx) {
        // A worktree still to be made is made off this thread (a large
        // repository's checkout takes seconds): the slot starts when it is.
        if self.slots.get(i).is_some_and(|s| s.making) || self.make_worktree_first(i) {
            return;
        }
        let notice = self.start_session(i);
        if let Some(text) = notice {
            self.emit(Event::Notice { slot: i, text });
        }
        self.save_state();
    }

    /// Whether slot `i` wants a worktree that does not exist yet: then
    /// `git worktree add` runs on a thread of its own, which sends
    /// [`Msg::WorktreeMade`], and the pane says so meanwhile.
    pub(super) fn make_worktree_first(&mut self, i: SlotIdx) -> bool {
        let Some(s) = self.slots.get_mut(i) else {
            return false;
        };
        let Some((branch, base)) = s
            .cfg
            .worktree
            .as_ref()
            .and_then(|w| w.branch_and_base(&s.id))
        else {
            return false;
        };
        let dir = self
            .worktree_dir
            .clone()
            .unwrap_or_else(std::env::temp_dir)
            .join(&s.id);
        if dir.exists() {
            return false;
        }
        let from = match &s.cfg.cwd {
            Some(c) => expand_home(c),
            None => std::env::current_dir().unwrap_or_default(),
        };
        s.making = true;
        pane_note(
            &s.shared,
            self.screens.as_deref(),
            i,
            &format!("[corral] making a git worktree on {branch}…\r\n"),
        );
        let tx = self.tx.clone();
        let spawned = thread::Builder::new()
            .name(format!("worktree-{}", s.id))
            .spawn(move || {
                let made = crate::worktree::repo_root(&from)
                    .and_then(|repo| crate::worktree::ensure(&repo, &dir, &branch, base.as_deref()))
                    .map(|_| ());
                let _ = tx.send(Msg::WorktreeMade { slot: i, made });
            });
        if spawned.is_err() {
            s.making = false;
            return false;
        }
        true
    }

    /// Starts slot `i`'s next session; returns what the sidebar says about
    /// its conversation on the first start after a server restart.
    pub(super) fn start_session(&mut self, i: SlotIdx) -> Option<String> {
        // An Enter meant for the session before is not this one's.
        self.drop_enter(i, "the slot restarted before its Enter went");
        let tx = self.tx.clone();
        let events = self.events.clone();
        let screens = self.screens.clone();
        let epoch = self.epoch;
        let transcript = self.transcript_dir.as_ref().and_then(|d| {
            Transcript::open(d, &self.slots[i].id, self.transcript_max_bytes)
                .map_err(|e| tracing::warn!("transcript: {e}"))
                .ok()
        });
        let token = new_token();
        let socket_path = self.socket.as_ref().map(|k| k.path().to_path_buf());
        let hook_exe = self.hook_exe.clone();
        self.end_prompts(i, "a new session started");
        let s = &mut self.slots[i];
        s.generation += 1;
        s.inbox.screen = None;
        s.inbox.screen_since = None;
        s.inbox.answered_dialog = None;
        s.inbox.answered = None;
        s.inbox.policy_due = None;
        s.inbox.answer_due = None;
        s.inbox.after_hook = None;
        s.idle_since = None;
        // A detection due for the session before is dropped with it, and so
        // is its raised flag: else the new session's output never wakes
        // detection (the reader wakes the manager only when it raises it).
        s.detect_due = None;
        s.shared.detect_pending.store(false, Ordering::Release);
        s.shared.last_output_ms.store(0, Ordering::Release);
        let (rows, cols) = s.size;
        {
            let mut e = s.shared.lock();
            e.reset();
            e.resize(rows, cols);
            if let Some(sink) = &self.screens {
                sink.rebuilt(i, &e);
            }
        }
        // Hook options first: resume arguments may be a subcommand (`codex
        // resume --last`).
        let mut extra: Vec<String> = Vec::new();
        let mut restore_notice = None;
        s.hook_token.clear();
        if let (Some(spec), Some(path), Some(exe), Some(token)) =
            (&s.profile.hook, socket_path, hook_exe, token)
            && s.profile.takes_args(s.cfg.command.get_ref())
            && !s.cfg.transport.is_structured()
        {
            let command = [
                exe.to_string_lossy().into_owned(),
                "hook".into(),
                "--socket".into(),
                path.to_string_lossy().into_owned(),
                "--slot".into(),
                s.id.clone(),
                "--generation".into(),
                s.generation.to_string(),
                "--token".into(),
                token.clone(),
                "--protocol".into(),
                serde_json::to_value(spec.protocol)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
            ]
            .iter()
            .map(|w| shell_quote(w))
            .collect::<Vec<_>>()
            .join(" ");
            extra.extend(spec.render_args(&command));
            s.hook_token = token;
        }
        // An ACP agent resumes over the protocol (`session/load`), not by
        // its command line.
        if s.cfg.transport == crate::agent_protocol::Transport::Acp {
            s.resuming = s.cfg.resume && s.session_id.is_some();
            s.was_ready = false;
            s.restored = false;
        } else if let Some(spec) = &s.profile.session
            && s.profile.takes_args(s.cfg.command.get_ref())
        {
            // The slot's own conversation: resumed by its id when it has
            // one (also after corral itself restarted), else a new one,
            // named by corral or learned later from the agent.
            let (id, resume) = match conversation_to_resume(spec, &s.cfg, s.session_id.as_deref()) {
                Some(id) => (Some(id), true),
                None if spec.id == SessionIdSource::Corral => (new_uuid(), false),
                None => (None, false),
            };
            if let Some(id) = &id {
                extra.extend(spec.args(id, resume));
            }
            s.resuming = resume;
            s.was_ready = false;
            *s.shared
                .session_id
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = id.clone();
            s.session_id = id;
            if std::mem::take(&mut s.restored) {
                restore_notice = Some(match (&s.session_id, resume) {
                    (Some(id), true) => format!(
                        "resumed {} (server restart)",
                        id.chars().take(8).collect::<String>()
                    ),
                    _ => "fresh start (server restart)".to_string(),
                });
            }
        } else if s.generation > 1 && s.cfg.resume && s.profile.takes_args(s.cfg.command.get_ref())
        {
            extra.extend(s.profile.resume_args.iter().cloned());
        }
        // A structured slot's agent is started to speak its protocol.
        let mut prepared = Ok(());
        if s.cfg.transport.is_structured() && s.profile.takes_args(s.cfg.command.get_ref()) {
            match s.profile.transports.get(&s.cfg.transport) {
                Some(t) => extra.extend(t.args.iter().cloned()),
                None => {
                    prepared = Err(anyhow::anyhow!(
                        "the {} profile does not speak {}",
                        s.profile.name,
                        s.cfg.transport.name()
                    ))
                }
            }
        }
        let mut cwd = match &s.cfg.cwd {
            Some(c) => Some(expand_home(c)),
            None => std::env::current_dir().ok(),
        };
        // A slot with a worktree runs in it; one just made runs its setup
        // commands first, in the pane, then the agent (`exec`).
        let mut run = std::borrow::Cow::Borrowed(&s.cfg);
        if let Some((branch, base)) = s
            .cfg
            .worktree
            .as_ref()
            .and_then(|w| w.branch_and_base(&s.id))
        {
            let dir = self
                .worktree_dir
                .clone()
                .unwrap_or_else(std::env::temp_dir)
                .join(&s.id);
            let from = cwd.clone().unwrap_or_default();
            match crate::worktree::repo_root(&from).and_then(|repo| {
                crate::worktree::ensure(&repo, &dir, &branch, base.as_deref()).map(|e| (repo, e))
            }) {
                Ok((repo, ensured)) => {
                    tracing::info!(slot = %s.id, ?ensured, path = %dir.display(), %branch, "worktree");
                    let changes = crate::worktree::changes(&repo, &dir).map_or(0, |c| c.len());
                    let _ = self.events.send(Event::Worktree {
                        slot: i,
                        branch: branch.clone(),
                        changes,
                    });
                    s.worktree = Some((repo, dir.clone(), branch));
                    cwd = Some(dir);
                    let made_now = std::mem::take(&mut s.made_now);
                    if (made_now || ensured == crate::worktree::Ensured::Created)
                        && !s.cfg.setup.is_empty()
                    {
                        let mut script = String::from("set -e\n");
                        for c in &s.cfg.setup {
                            script.push_str(c);
                            script.push('\n');
                        }
                        script.push_str("exec \"$@\"\n");
                        let mut args = vec!["-c".to_string(), script, "corral-setup".into()];
                        args.push(s.cfg.command.get_ref().clone());
                        args.extend(s.cfg.args.iter().cloned());
                        args.append(&mut extra);
                        let mut cfg = s.cfg.clone();
                        cfg.command = toml::Spanned::new(0..0, "/bin/sh".into());
                        cfg.args = args;
                        run = std::borrow::Cow::Owned(cfg);
                    }
                }
                Err(e) => prepared = Err(anyhow::anyhow!("worktree: {e}")),
            }
        }
        s.cwd = cwd.clone();
        let argv: Vec<String> = std::iter::once(run.command.get_ref().clone())
            .chain(run.args.iter().cloned())
            .chain(extra.iter().cloned())
            .collect();
        // The sandbox: around the setup script too, so it runs confined.
        let ctx = confine::Context {
            defaults: &self.sandbox,
            exe: self.exe.as_deref(),
            temp_base: &sandbox_temp_base(&self.session, &self.config_key),
            protected: &self.protected,
            support: sandbox_support(),
        };
        let worktree = s
            .worktree
            .as_ref()
            .map(|(r, d, _)| (r.as_path(), d.as_path()));
        s.sandbox = None;
        match confine::plan(&ctx, &s.cfg, &s.profile, &run, cwd.as_deref(), worktree) {
            confine::Plan::Off => {}
            confine::Plan::Confined {
                run: r,
                status,
                notes,
            } => {
                for n in notes {
                    pane_note(
                        &s.shared,
                        self.screens.as_deref(),
                        i,
                        &format!("[corral] {n}\r\n"),
                    );
                }
                tracing::info!(slot = %s.id, write = ?status.write, "sandboxed");
                run = std::borrow::Cow::Owned(*r);
                s.sandbox = Some(status);
            }
            confine::Plan::Unconfined { status } => {
                tracing::warn!(slot = %s.id, why = ?status.why, "not confined");
                s.sandbox = Some(status);
            }
            confine::Plan::Refused { status } => {
                let why = status.why.clone().unwrap_or_default();
                if prepared.is_ok() {
                    prepared = Err(anyhow::anyhow!("{why}"));
                }
                s.sandbox = Some(status);
            }
        }
        let _ = self.events.send(Event::Sandbox {
            slot: i,
            status: s.sandbox.clone().map(Box::new),
        });
        *s.shared.launch.lock().unwrap_or_else(|p| p.into_inner()) = Some(Launch {
            argv,
            cwd: cwd.clone(),
            sandbox: s.sandbox.clone(),
        });
        if s.cfg.transport.is_structured() {
            let run = run.into_owned();
            let confined = s.sandbox.as_ref().is_some_and(|b| {
                matches!(
                    b.state,
                    crate::sandbox::SandboxState::Confined | crate::sandbox::SandboxState::Partial
                )
            });
            match prepared.and_then(|()| self.start_structured(i, &run, &extra, cwd, confined)) {
                Ok(()) => {
                    self.session_started(i);
                    // Claude Code's stream waits for a message; an ACP agent
                    // once its session is open.
                    if self.slots[i].cfg.transport == crate::agent_protocol::Transport::StreamJson {
                        self.set_state(i, AgentState::Idle, "protocol.started");
                    }
                }
                Err(e) => self.start_failed(i, e),
            }
            return restore_notice;
        }
        let started = prepared
            .and_then(|()| self.spawner.spawn(&run, &extra, cwd, s.size))
            .and_then(|sp| {
                let (reader, input) = pty::open(&*sp.master)?;
                Ok((sp.master, reader, input, sp.child))
            });
        match started {
            Ok((master, reader, input, mut child)) => {
                let pid = child.process_id();
                let killer = child.clone_killer();
                let generation = s.generation;
                if let Err(e) = s.shared.input.open(&s.id, input) {
                    tracing::warn!(slot = %s.id, "no writer thread, input is lost: {e}");
                }
                spawn_reader(
                    &s.id,
                    i,
                    generation,
                    reader,
                    s.shared.clone(),
                    tx.clone(),
                    events.clone(),
                    epoch,
                    transcript,
                    screens,
                    self.flood_bytes,
                );
                // A sandboxed agent's processes end with its session: one
                // left behind (`nohup`) could go on changing its worktree's
                // links after corral has put them back.
                let confined = s.sandbox.as_ref().is_some_and(|b| {
                    matches!(
                        b.state,
                        crate::sandbox::SandboxState::Confined
                            | crate::sandbox::SandboxState::Partial
                    )
                });
                spawn_waiter(&s.id, i, generation, pid, confined, tx, move || {
                    child.wait().map(|st| {
                        let desc = match st.signal() {
                            Some(sig) => format!("signal {sig}"),
                            None => st.exit_code().to_string(),
                        };
                        (desc, st.success())
                    })
                });
                s.shared.pid.store(pid.unwrap_or(0), Ordering::Release);
                s.live = Some(Live {
                    backend: Backend::Pty { master },
                    input: s.shared.input.clone(),
                    pid,
                    killer: Some(Mutex::new(killer)),
                });
                self.session_started(i);
            }
            Err(e) => self.start_failed(i, e),
        }
        restore_notice
    }

    pub(super) fn exited(&mut self, i: SlotIdx, generation: u64, status: String, success: bool) {
        let now = Instant::now();
        let Some(s) = self.slots.get_mut(i) else {
            return;
        };
        if s.generation != generation {
            return;
        }
        let (status, success) = match s.failure.take() {
            Some(f) => (f, false),
            None => (status, success),
        };
        s.live = None;
        s.shared.pid.store(0, Ordering::Release);
        if let Some(e) = s.enter_due.take() {
            let _ = e
                .reply
                .send(Err("the program exited before its Enter went".into()));
        }
        s.detect_due = None;
        s.inbox.screen = None;
        s.hook_token.clear();
        self.end_prompts(i, &format!("its session ended ({status})"));
        let Some(s) = self.slots.get_mut(i) else {
            return;
        };
        // A resume the agent refused starts a new conversation right away
        // (see [`restart::resume_refused`]).
        let mut ended = restart::Ended {
            success,
            exit_code: status.parse::<i32>().is_ok(),
            ran_for: now.saturating_duration_since(s.started_at),
            resuming: std::mem::take(&mut s.resuming),
            was_ready: s.was_ready,
            has_conversation: s.session_id.is_some(),
            restart_now: s.restart_now,
        };
        if restart::resume_refused(&ended) {
            let id: String = s
                .session_id
                .take()
                .unwrap_or_default()
                .chars()
                .take(8)
                .collect();
            *s.shared
                .session_id
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = None;
            ended.restart_now = true;
            tracing::info!(slot = %s.id, %status, "resume refused; a new conversation");
            let _ = self.events.send(Event::Notice {
                slot: i,
                text: format!("{id} could not be resumed ({status}): a new conversation"),
            });
        }
        s.restart_now = false;
        let restart_in = s.backoff.after(s.cfg.restart, &ended);
        tracing::info!(slot = %s.id, %status, ?restart_in, "session exited");
        s.state = AgentState::Exited(status.clone());
        let _ = self.events.send(Event::Exited {
            slot: i,
            status: status.clone(),
            restart_in,
        });
        if let Some(d) = restart_in {
            s.restart_due = Some(now + d);
            s.state = AgentState::Restarting;
            let _ = self.events.send(Event::StateChanged {
                slot: i,
                state: AgentState::Restarting,
                rule: "session.restart-policy".into(),
            });
        } else {
            let _ = self.events.send(Event::StateChanged {
                slot: i,
                state: AgentState::Exited(status),
                rule: "session.exited".into(),
            });
        }
    }

    /// [`SessionManager::remove_worktree`] on the manager thread.
    pub(super) fn remove_worktree(&mut self, i: SlotIdx, force: bool) -> Result<String, String> {
        let Some(s) = self.slots.get_mut(i) else {
            return Err(format!("no slot {i}"));
        };
        let Some((repo, path, _)) = s.worktree.clone() else {
            return Err(format!("slot {} has no worktree", s.id));
        };
        if s.live.is_some() || s.making {
            return Err(format!(
                "slot {} runs in its worktree: stop it first (`corral ctl kill {}`)",
                s.id, s.id
            ));
        }
        crate::worktree::remove(&repo, &path, force)?;
        s.worktree = None;
        self.emit(Event::WorktreeRemoved { slot: i });
        self.save_state();
        Ok(path.to_string_lossy().into_owned())
    }

    /// Slot `i`'s session just started: its clock, state and the events.
    pub(super) fn session_started(&mut self, i: SlotIdx) {
        let s = &mut self.slots[i];
        let generation = s.generation;
        s.started_at = Instant::now();
        s.state = AgentState::Starting;
        let pid = s.live.as_ref().and_then(|l| l.pid);
        tracing::info!(slot = %s.id, generation, ?pid, "session started");
        self.emit(Event::Started {
            slot: i,
            generation,
        });
        self.emit(Event::StateChanged {
            slot: i,
            state: AgentState::Starting,
            rule: "session.started".into(),
        });
    }

    /// Slot `i`'s program could not start (`e`, said in the pane and to
    /// clients): it counts as exited, and its restart policy applies.
    pub(super) fn start_failed(&mut self, i: SlotIdx, e: anyhow::Error) {
        let s = &self.slots[i];
        // One line: the message goes to the message area too.
        let why = format!("{e:#}")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let msg = format!("cannot start `{}`: {why}", s.cfg.command.get_ref());
        tracing::warn!(slot = %s.id, "{msg}");
        pane_note(
            &s.shared,
            self.screens.as_deref(),
            i,
            &format!("\r\n[corral] {msg}\r\n"),
        );
        let status = "failed to start".to_string();
        self.emit(Event::SpawnFailed {
            slot: i,
            error: msg,
        });
        self.emit(Event::Output { slot: i });
        let generation = self.slots[i].generation;
        self.exited(i, generation, status, false);
    }

    /// Drops slot `i`'s pending `ctl send` Enter, telling who waits why.
    pub(super) fn drop_enter(&mut self, i: SlotIdx, why: &str) {
        if let Some(e) = self.slots.get_mut(i).and_then(|s| s.enter_due.take()) {
            let _ = e.reply.send(Err(why.to_string()));
        }
    }
}

/// A slot's state before its first session: `cfg` with a PTY of `size`
/// (rows, cols) and its agent's profile (the generic one when it has
/// none).
///
/// Errors: not even the generic profile is loaded.
pub(crate) fn new_slot(
    cfg: &SlotConfig,
    size: (u16, u16),
    profiles: &Profiles,
    scrollback_rows: usize,
    epoch: Instant,
) -> anyhow::Result<SlotRt> {
    let (rows, cols) = size;
    let profile = profiles
        .get(cfg.agent.get_ref())
        .or_else(|| profiles.get("generic"))
        .ok_or_else(|| anyhow::anyhow!("no profile for agent {:?}", cfg.agent.get_ref()))?;
    let shared = Arc::new(SlotShared {
        engine: Mutex::new(Engine::new(rows, cols, scrollback_rows)),
        ui_dirty: AtomicBool::new(false),
        detect_pending: AtomicBool::new(false),
        flooding: AtomicBool::new(false),
        last_output_ms: AtomicU64::new(0),
        pid: AtomicU32::new(0),
        session_id: Mutex::new(None),
        launch: Mutex::new(None),
        profile: profile.clone(),
        input: Arc::default(),
        transport: cfg.transport,
        epoch,
    });
    Ok(SlotRt {
        profile,
        cfg: cfg.clone(),
        id: cfg.id.get_ref().clone(),
        shared,
        live: None,
        generation: 0,
        state: AgentState::Starting,
        // Random start: prompt ids of a slot that starts again at session 1
        // (a fresh start, another server) are never those of before, so a
        // stale `ctl answer --prompt ID` cannot answer a new prompt.
        inbox: Inbox::new(random_u64()),
        detect_due: None,
        restart_due: None,
        backoff: restart::Backoff::default(),
        started_at: epoch,
        size: (rows.max(1), cols.max(1)),
        restart_now: false,
        failure: None,
        hooks: VecDeque::new(),
        hook_token: String::new(),
        cwd: None,
        idle_since: None,
        enter_due: None,
        worktree: None,
        refused_at: None,
        sandbox: None,
        session_id: None,
        restored: false,
        resuming: false,
        was_ready: false,
        making: false,
        making_cancelled: false,
        made_now: false,
        composer: Default::default(),
        turn: Default::default(),
        acp: None,
    })
}

/// Waits for a session's child on a thread of its own (`wait` blocks until
/// it exits, giving its status in words and whether it succeeded), ends
/// what it left running in its session (`pid`'s; killed when `confined`:
/// a sandboxed agent's processes end with it), and tells the manager.
pub(crate) fn spawn_waiter(
    id: &str,
    i: SlotIdx,
    generation: u64,
    pid: Option<u32>,
    confined: bool,
    tx: std::sync::mpsc::Sender<Msg>,
    wait: impl FnOnce() -> std::io::Result<(String, bool)> + Send + 'static,
) {
    let _ = thread::Builder::new()
        .name(format!("wait-{id}"))
        .spawn(move || {
            let waited = wait();
            // What the program left running in its session (a relaunched
            // child still saving) ends first.
            if let Some(pid) = pid
                && !conversation::wait_session_gone(pid, SESSION_GONE_WAIT)
                && confined
            {
                conversation::kill_session(pid);
            }
            let (status, success) = waited.unwrap_or_else(|e| (format!("wait failed: {e}"), false));
            let _ = tx.send(Msg::Exited {
                slot: i,
                generation,
                status,
                success,
            });
        });
}
