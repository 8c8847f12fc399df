//! The server's side of `corral ctl` ([`crate::proto::ctl`]): one request
//! per connection, served on the connection's thread. Waits happen here,
//! on the session's events, pinned to the slot's generation; nothing polls.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

use super::clients::{Feed, Hub};
use super::handle::SessionManager;
use super::view::View;
use crate::detect::{AgentState, Prompt};
use crate::proto;
use crate::proto::ctl::{
    CtlAnswer, CtlEvent, CtlReply, CtlRequest, CtlSlot, CtlStats, SendInput, WaitFor,
};
use crate::proto::{AnsweredBy, Command, Event, SlotIdx};

/// Longest wait taken, in milliseconds (30 days); longer ones are cut to it.
const MAX_WAIT_MS: u64 = 30 * 24 * 3600 * 1000;

/// Longest a `ctl restart` waits for the slot's new session to start (its
/// old program has up to a few seconds to end first).
const RESTART_WAIT: Duration = Duration::from_secs(30);

/// Longest a `ctl answer` waits for the session manager to send (or
/// refuse) the answer: it waits for the agent's dialog to settle first.
const ANSWER_WAIT: Duration = Duration::from_secs(15);

/// A request's failure: the reply's text and whether it is a usage error.
type Failure = (String, bool);

fn fail<T>(why: impl Into<String>) -> Result<T, Failure> {
    Err((why.into(), false))
}

/// Serves `request` on `stream`, the connection of a `corral ctl`; `reader`
/// is the connection's reading side (EOF: the client hung up).
pub(super) fn serve(
    hub: &Arc<Hub>,
    mgr: &Arc<SessionManager>,
    request: CtlRequest,
    mut stream: UnixStream,
    reader: impl std::io::Read + Send + 'static,
) {
    tracing::info!(?request, "ctl");
    let reply = match request {
        CtlRequest::Events { slot } => {
            return events(hub, slot.as_deref(), &mut stream, reader);
        }
        CtlRequest::Wait {
            slot,
            state,
            timeout_ms,
        } => slot_of(hub, &slot).and_then(|i| {
            let (gen_now, tx, rx) = hub.follow(None, |v, _| v.slots[i].generation);
            watch_hangup(reader, tx);
            wait(hub, i, &rx, state, gen_now, false, timeout_ms)
        }),
        CtlRequest::Prompt {
            slot,
            text,
            wait: want,
            timeout_ms,
        } => slot_of(hub, &slot).and_then(|i| {
            let before = mgr
                .slot(i)
                .map(|s| s.lock().lines(usize::MAX, false))
                .unwrap_or_default();
            let (gen_now, tx, rx) = hub.follow(None, |v, _| v.slots[i].generation);
            watch_hangup(reader, tx);
            mgr.ctl_send(i, SendInput::Text(text), true).or_else(fail)?;
            let mut reached = wait(hub, i, &rx, want, gen_now, true, timeout_ms)?;
            if let CtlReply::Reached { output, .. } = &mut reached {
                let after = mgr
                    .slot(i)
                    .map(|s| s.lock().lines(usize::MAX, false))
                    .unwrap_or_default();
                *output = Some(printed_since(&before, &after));
            }
            Ok(reached)
        }),
        CtlRequest::Task {
            slot,
            text,
            wait: true,
            timeout_ms,
        } if mgr
            .slot(slot_of(hub, &slot).unwrap_or(usize::MAX))
            .is_some_and(|s| s.transport.is_structured()) =>
        {
            slot_of(hub, &slot).and_then(|i| {
                // A turn already running ends first: the message's own turn
                // is the one after it.
                let ((gen_now, busy), tx, rx) = hub.follow(None, |v, _| {
                    let s = &v.slots[i];
                    let busy = matches!(
                        s.state,
                        AgentState::Working | AgentState::NeedsPermission | AgentState::Stalled
                    );
                    (s.generation, busy)
                });
                watch_hangup(reader, tx);
                mgr.ctl_send(i, SendInput::Text(text), true).or_else(fail)?;
                turn_end(i, &slot, &rx, gen_now, usize::from(busy), timeout_ms)
            })
        }
        // A PTY slot's task is a prompt that waits for any stop.
        CtlRequest::Task {
            slot,
            text,
            wait: true,
            timeout_ms,
        } => {
            let req = CtlRequest::Prompt {
                slot,
                text,
                wait: WaitFor::AnyStop,
                timeout_ms,
            };
            return serve(hub, mgr, req, stream, reader);
        }
        CtlRequest::Restart { slot } => slot_of(hub, &slot).and_then(|i| {
            // The reply comes once the new session runs, so that a script's
            // next `ctl wait` waits on it, not on the session it replaced.
            let (gen_now, tx, rx) = hub.follow(None, |v, _| v.slots[i].generation);
            watch_hangup(reader, tx);
            mgr.send(Command::Restart { slot: i });
            let deadline = Instant::now() + RESTART_WAIT;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match rx.recv_timeout(left) {
                    Ok(Feed::Event { event, .. }) => match *event {
                        Event::Started {
                            slot: s,
                            generation,
                        } if s == i && generation > gen_now => {
                            return Ok(CtlReply::Done { slot });
                        }
                        Event::SpawnFailed { slot: s, error } if s == i => return fail(error),
                        _ => {}
                    },
                    Ok(Feed::Gone) => return fail("the client hung up"),
                    Err(RecvTimeoutError::Timeout) => {
                        return fail(format!(
                            "slot {slot:?} was asked to restart and has not started again in {} s",
                            RESTART_WAIT.as_secs()
                        ));
                    }
                    Err(RecvTimeoutError::Disconnected) => {
                        return fail("the server is stopping");
                    }
                }
            }
        }),
        other => handle(hub, mgr, other),
    };
    let reply = reply.unwrap_or_else(|(error, usage)| CtlReply::Error { error, usage });
    let _ = proto::write_frame(&mut stream, &reply);
    // The reply is all: the client (and this connection's hang-up watcher,
    // which holds a copy of it) sees the end.
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

/// Waits for structured slot `i`'s (`id`'s) turn to end in session
/// `generation`, up to `timeout_ms`: the first turn that ends after the
/// message went and after the `skip` turns that ran when it went (a
/// message sent mid-turn is answered in a turn of its own).
///
/// Errors: the session ended or restarted first, the wait timed out, the
/// client hung up, the server is stopping.
fn turn_end(
    i: SlotIdx,
    id: &str,
    rx: &Receiver<Feed>,
    generation: u64,
    mut skip: usize,
    timeout_ms: u64,
) -> Result<CtlReply, Failure> {
    let deadline = Instant::now() + Duration::from_millis(timeout_ms.min(MAX_WAIT_MS));
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Feed::Event { event, .. }) => match *event {
                Event::TurnEnded { slot, .. } if slot == i && skip > 0 => skip -= 1,
                Event::TurnEnded { slot, result } if slot == i => {
                    return Ok(CtlReply::TaskEnded {
                        slot: id.to_string(),
                        result,
                    });
                }
                Event::Exited { slot, status, .. } if slot == i => {
                    return fail(format!(
                        "slot {id:?}: its agent exited ({status}) before the turn ended"
                    ));
                }
                Event::Started {
                    slot,
                    generation: g,
                } if slot == i && g > generation => {
                    return fail(format!("slot {id:?} restarted before the turn ended"));
                }
                _ => {}
            },
            Ok(Feed::Gone) => return fail("the client hung up"),
            Err(RecvTimeoutError::Timeout) => {
                return fail(format!(
                    "slot {id:?}: the turn did not end in {} s",
                    timeout_ms / 1000
                ));
            }
            Err(RecvTimeoutError::Disconnected) => return fail("the server is stopping"),
        }
    }
}

/// The index of the slot with id `id`.
///
/// Errors: no slot has it (the reply lists the slots).
fn slot_of(hub: &Hub, id: &str) -> Result<SlotIdx, Failure> {
    hub.with_view(|v| {
        v.slots.iter().position(|s| s.id == id).ok_or_else(|| {
            let ids: Vec<&str> = v.slots.iter().map(|s| s.id.as_str()).collect();
            (
                format!(
                    "no slot {id:?} in session {:?}; slots: {}",
                    hub.session(),
                    ids.join(", ")
                ),
                false,
            )
        })
    })
}

/// The prompt open in slot `i`, as the inbox has it.
fn open_prompt(v: &View, i: SlotIdx) -> Option<Prompt> {
    v.inbox
        .iter()
        .find(|(s, _, _)| *s == i)
        .map(|(_, p, _)| p.clone())
}

/// Requests answered at once.
fn handle(hub: &Hub, mgr: &SessionManager, request: CtlRequest) -> Result<CtlReply, Failure> {
    match request {
        CtlRequest::List => {
            let launch = |i: SlotIdx| mgr.slot(i).and_then(|s| s.launch());
            Ok(CtlReply::Slots {
                slots: hub.with_view(|v| {
                    let now = Instant::now();
                    v.slots
                        .iter()
                        .enumerate()
                        .map(|(i, s)| CtlSlot {
                            id: s.id.clone(),
                            role: s.role.clone(),
                            agent: s.agent.clone(),
                            state: s.state.clone(),
                            state_age_ms: now.saturating_duration_since(s.since).as_millis() as u64,
                            prompt: open_prompt(v, i),
                            pid: mgr.slot(i).and_then(|s| s.pid()),
                            session_id: mgr.slot(i).and_then(|s| s.session_id()),
                            generation: s.generation,
                            command: launch(i).map(|l| l.argv).unwrap_or_default(),
                            cwd: launch(i)
                                .and_then(|l| l.cwd)
                                .map(|c| c.to_string_lossy().into_owned()),
                            sandbox: s.sandbox.clone(),
                            usage: s.usage,
                        })
                        .collect()
                }),
            })
        }
        CtlRequest::Screen {
            slot,
            ansi,
            scrollback,
        } => {
            let i = slot_of(hub, &slot)?;
            let Some(s) = mgr.slot(i) else {
                return fail(format!("no slot {slot:?}"));
            };
            let e = s.lock();
            let (rows, cols) = e.size();
            Ok(CtlReply::Screen {
                slot,
                rows,
                cols,
                lines: e.lines(scrollback, ansi),
            })
        }
        CtlRequest::Send { slot, input, enter } => {
            let i = slot_of(hub, &slot)?;
            if let SendInput::Keys(k) = &input
                && k.is_empty()
                && !enter
            {
                return Err(("nothing to send".into(), true));
            }
            mgr.ctl_send(i, input, enter).or_else(fail)?;
            Ok(CtlReply::Done { slot })
        }
        CtlRequest::Answer {
            slot,
            answer,
            prompt,
            by_web,
        } => answer_prompt(hub, mgr, &slot, answer, prompt, by_web),
        CtlRequest::Kill { slot } => {
            let i = slot_of(hub, &slot)?;
            mgr.send(Command::Kill { slot: i });
            Ok(CtlReply::Done { slot })
        }
        CtlRequest::Interrupt { slot } => {
            let i = slot_of(hub, &slot)?;
            let keys = mgr
                .slot(i)
                .map(|s| s.profile.interrupt.clone())
                .unwrap_or_default();
            // The interrupt key is how a person stops an agent: it may
            // close a dialog (as Esc cancels Claude's), never approve one.
            for key in keys {
                mgr.send(Command::Key { slot: i, key });
            }
            Ok(CtlReply::Done { slot })
        }
        CtlRequest::Stats => Ok(CtlReply::Stats {
            slots: hub.with_view(|v| {
                v.slots
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let (scrollback_rows, engine_bytes) = mgr.slot(i).map_or((0, 0), |sh| {
                            let e = sh.lock();
                            (e.scrollback_len(), e.heap_bytes())
                        });
                        CtlStats {
                            id: s.id.clone(),
                            bytes_read: hub.bytes_read(i),
                            scrollback_rows,
                            engine_bytes,
                            restarts: s.restarts,
                            answered_by_key: s.by_key,
                            answered_by_rule: s.by_rule,
                            answered_by_ctl: s.by_ctl,
                            answered_by_web: s.by_web,
                            usage: s.usage,
                        }
                    })
                    .collect()
            }),
        }),
        CtlRequest::RemoveWorktree { slot, force } => {
            let i = slot_of(hub, &slot)?;
            mgr.remove_worktree(i, force).or_else(fail)?;
            Ok(CtlReply::Done { slot })
        }
        CtlRequest::New {
            id,
            agent,
            role,
            cwd,
            command,
            worktree,
        } => {
            let Some((program, args)) = command.split_first() else {
                return Err(("ctl new: no command (give it after --)".into(), true));
            };
            if let Some(dir) = &cwd
                && !std::path::Path::new(dir).is_dir()
            {
                return fail(format!("ctl new: --cwd {dir}: not a directory"));
            }
            let cfg = crate::config::SlotConfig {
                id: toml::Spanned::new(0..0, id.clone()),
                role,
                agent: toml::Spanned::new(0..0, agent),
                command: toml::Spanned::new(0..0, program.clone()),
                args: args.to_vec(),
                cwd: cwd.map(std::path::PathBuf::from),
                env: Default::default(),
                resume: true,
                restart: Default::default(),
                worktree: worktree.map(|branch| crate::config::WorktreeConfig::Spec {
                    branch: Some(branch),
                    base: None,
                }),
                setup: Vec::new(),
                sandbox: None,
                write: Vec::new(),
                transport: Default::default(),
            };
            // As big as the session's first pane until a client sizes it.
            let size = hub.with_view(|v| v.slots.first().map_or((24, 80), |s| s.size));
            mgr.add_slot(cfg, size).or_else(fail)?;
            Ok(CtlReply::Done { slot: id })
        }
        CtlRequest::Explain { slot } => {
            let i = slot_of(hub, &slot)?;
            let text = mgr.slot(i).map(|s| s.explain()).unwrap_or_default();
            Ok(CtlReply::Explained { slot, text })
        }
        // Without --wait: the message goes, and that is all.
        CtlRequest::Task { slot, text, .. } => {
            let i = slot_of(hub, &slot)?;
            mgr.ctl_send(i, SendInput::Text(text), true).or_else(fail)?;
            Ok(CtlReply::Done { slot })
        }
        // Served by `serve` itself.
        CtlRequest::Events { .. }
        | CtlRequest::Wait { .. }
        | CtlRequest::Prompt { .. }
        | CtlRequest::Restart { .. } => Err(("not a one-shot request".into(), true)),
    }
}

/// `ctl answer`: the same command a key sends, so the session manager
/// checks the dialog is still on screen before it sends a key; refused here
/// first when what would be approved is not known whole.
fn answer_prompt(
    hub: &Hub,
    mgr: &SessionManager,
    slot: &str,
    answer: CtlAnswer,
    want: Option<crate::detect::PromptId>,
    by_web: Option<String>,
) -> Result<CtlReply, Failure> {
    let i = slot_of(hub, slot)?;
    let (open, _tx, rx) = hub.follow(None, |v, _| open_prompt(v, i));
    let Some(p) = open else {
        return fail(format!("no prompt is open in slot {slot:?}"));
    };
    if let Some(w) = want
        && w != p.id
    {
        return fail(format!(
            "prompt {w} is not open in slot {slot:?}; the open one is {} ({} {:?})",
            p.id, p.tool, p.subject
        ));
    }
    // Fail closed: the script cannot see the dialog, so it may only approve
    // a request whose subject corral read whole.
    if answer != CtlAnswer::Deny
        && let Some(why) = &p.incomplete
    {
        return fail(format!(
            "not approved: the subject of prompt {} may not be whole ({why}); answer it in corral, where its dialog shows",
            p.id
        ));
    }
    if let Err(e) = p.keys_for(answer.answer()) {
        return fail(format!("prompt {}: {e}", p.id));
    }
    mgr.send(Command::Answer {
        slot: i,
        prompt: p.id,
        answer: answer.answer(),
        by: match by_web {
            Some(name) => AnsweredBy {
                source: "web".into(),
                detail: format!("{name}: {}", answer_name(answer)),
            },
            None => AnsweredBy {
                source: "ctl".into(),
                detail: format!("ctl answer {}", answer_name(answer)),
            },
        },
    });
    let deadline = Instant::now() + ANSWER_WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Feed::Event { event, .. }) => match *event {
                Event::AnswerSent {
                    slot: s, prompt, ..
                } if s == i && prompt == p.id => {
                    return Ok(CtlReply::Answered {
                        slot: slot.to_string(),
                        prompt,
                    });
                }
                Event::AnswerRefused {
                    slot: s,
                    prompt,
                    reason,
                } if s == i && prompt == p.id => {
                    return fail(format!("not answered: {reason}"));
                }
                _ => {}
            },
            Ok(Feed::Gone) => return fail("the client hung up"),
            Err(_) => {
                return fail(format!(
                    "no answer was sent within {} s",
                    ANSWER_WAIT.as_secs()
                ));
            }
        }
    }
}

fn answer_name(a: CtlAnswer) -> &'static str {
    match a {
        CtlAnswer::ApproveOnce => "approve-once",
        CtlAnswer::ApproveAlways => "approve-always",
        CtlAnswer::Deny => "deny",
    }
}

/// Sends [`Feed::Gone`] on `tx` once `reader` ends (the client hung up), so
/// a wait ends with its client, not at its timeout.
fn watch_hangup(mut reader: impl std::io::Read + Send + 'static, tx: SyncSender<Feed>) {
    let _ = std::thread::Builder::new()
        .name("ctl-hangup".into())
        .spawn(move || {
            let mut b = [0u8; 256];
            while matches!(reader.read(&mut b), Ok(n) if n > 0) {}
            let _ = tx.try_send(Feed::Gone);
        });
}

/// Waits on `rx` until slot `i` is in a state `want` matches, in session
/// generation `generation`. A slot in it now returns at once, unless
/// `after_work`: then (`ctl prompt`) it must first have been seen working
/// or in another state.
///
/// Errors: the slot restarted or exited (unless that is awaited), the time
/// ran out, the client hung up.
fn wait(
    hub: &Hub,
    i: SlotIdx,
    rx: &Receiver<Feed>,
    want: WaitFor,
    generation: u64,
    after_work: bool,
    timeout_ms: u64,
) -> Result<CtlReply, Failure> {
    let id = hub.with_view(|v| v.slots[i].id.clone());
    let reached = |state: AgentState| {
        let prompt = hub.with_view(|v| open_prompt(v, i));
        CtlReply::Reached {
            slot: id.clone(),
            state,
            generation,
            prompt,
            output: None,
        }
    };
    let (now, started) = hub.with_view(|v| (v.slots[i].state.clone(), v.slots[i].generation));
    // A slot not started yet (just added) waits for its first session.
    let mut generation = generation;
    if generation == 0 && started == 1 {
        generation = 1;
    }
    if started != generation {
        return fail(format!(
            "slot {id:?} restarted (session {generation} → {started}) before the wait began"
        ));
    }
    // A slot asking for permission is reported with its prompt, which the
    // inbox takes a moment after the state (the hook's request, or the
    // screen's dialog once no hook claimed it): until then it waits here.
    let has_prompt = || hub.with_view(|v| open_prompt(v, i).is_some());
    let mut asking: Option<AgentState> = None;
    let mut moved = !after_work;
    if moved && want.matches(&now) {
        if now != AgentState::NeedsPermission || has_prompt() {
            return Ok(reached(now));
        }
        asking = Some(now.clone());
    }
    let deadline = Instant::now() + Duration::from_millis(timeout_ms.min(MAX_WAIT_MS));
    let mut last = now;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Feed::Event { event, .. }) => match *event {
                Event::PromptOpened { slot, .. } if slot == i => {
                    if let Some(state) = asking.take() {
                        return Ok(reached(state));
                    }
                }
                Event::StateChanged { slot, state, .. } if slot == i => {
                    if state != last {
                        moved = true;
                    }
                    last = state.clone();
                    asking = None;
                    if moved && want.matches(&state) {
                        if state != AgentState::NeedsPermission || has_prompt() {
                            return Ok(reached(state));
                        }
                        asking = Some(state.clone());
                    }
                    if let AgentState::Exited(status) = &state {
                        return fail(format!(
                            "slot {id:?} exited ({status}) while waiting for {}",
                            wait_name(want)
                        ));
                    }
                }
                Event::Started {
                    slot,
                    generation: 1,
                } if slot == i && generation == 0 => generation = 1,
                Event::Started {
                    slot,
                    generation: g,
                } if slot == i && g != generation => {
                    return fail(format!(
                        "slot {id:?} restarted (session {generation} → {g}) while waiting for {}",
                        wait_name(want)
                    ));
                }
                Event::Exited { slot, status, .. } if slot == i => {
                    if want == WaitFor::Exited {
                        return Ok(reached(AgentState::Exited(status)));
                    }
                    return fail(format!(
                        "slot {id:?} exited ({status}) while waiting for {}",
                        wait_name(want)
                    ));
                }
                _ => {}
            },
            Ok(Feed::Gone) => return fail("the client hung up"),
            Err(RecvTimeoutError::Timeout) => {
                if let Some(state) = asking {
                    return Ok(reached(state));
                }
                return fail(format!(
                    "timed out after {} ms waiting for slot {id:?} to be {} (it is {})",
                    timeout_ms,
                    wait_name(want),
                    last.label()
                ));
            }
            Err(RecvTimeoutError::Disconnected) => return fail("the server is stopping"),
        }
    }
}

fn wait_name(w: WaitFor) -> String {
    serde_json::to_value(w)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The rows after the longest stretch `before` and `after` share at their
/// start, trailing blank rows left out: what the agent printed since.
fn printed_since(before: &[String], after: &[String]) -> Vec<String> {
    let same = before.iter().zip(after).take_while(|(a, b)| a == b).count();
    let mut out: Vec<String> = after[same..].to_vec();
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    out
}

/// `ctl events`: every event (of `slot` only, if given) as one reply each,
/// until the client hangs up or the server stops.
fn events(
    hub: &Hub,
    slot: Option<&str>,
    stream: &mut UnixStream,
    reader: impl std::io::Read + Send + 'static,
) {
    let only = match slot.map(|s| slot_of(hub, s)).transpose() {
        Ok(o) => o,
        Err((error, usage)) => {
            let _ = proto::write_frame(stream, &CtlReply::Error { error, usage });
            return;
        }
    };
    let ((mut ids, seq), tx, rx) = hub.follow(stream.try_clone().ok(), |v, seq| {
        (
            v.slots.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
            seq,
        )
    });
    watch_hangup(reader, tx);
    // A reader that stopped reading for this long (its socket full) ends
    // its stream rather than holding this thread.
    let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
    // The stream is live: a script may act now and see what follows.
    if proto::write_frame(stream, &CtlReply::Following { seq }).is_err() {
        return;
    }
    while let Ok(feed) = rx.recv() {
        let Feed::Event { seq, time, event } = feed else {
            return;
        };
        let i = event_slot(&event);
        if let Event::SlotAdded { slot, info } = &*event
            && *slot == ids.len()
        {
            ids.push(info.id.clone());
        }
        if only.is_some_and(|o| o != i) {
            continue;
        }
        let reply = CtlReply::Event(CtlEvent {
            seq,
            time,
            slot_id: ids.get(i).cloned().unwrap_or_default(),
            event: *event,
        });
        if proto::write_frame(stream, &reply).is_err() || stream.flush().is_err() {
            return;
        }
    }
}

/// The slot an event is about.
fn event_slot(e: &Event) -> SlotIdx {
    match e {
        Event::Output { slot }
        | Event::Started { slot, .. }
        | Event::StateChanged { slot, .. }
        | Event::PromptOpened { slot, .. }
        | Event::PromptUpdated { slot, .. }
        | Event::PromptClosed { slot, .. }
        | Event::Title { slot, .. }
        | Event::Bell { slot }
        | Event::Exited { slot, .. }
        | Event::AnswerSent { slot, .. }
        | Event::PolicyAsked { slot, .. }
        | Event::AnswerRefused { slot, .. }
        | Event::SpawnFailed { slot, .. }
        | Event::Notice { slot, .. }
        | Event::Worktree { slot, .. }
        | Event::WorktreeRemoved { slot }
        | Event::Sandbox { slot, .. }
        | Event::InputRefused { slot, .. }
        | Event::TurnEnded { slot, .. }
        | Event::Usage { slot, .. }
        | Event::SlotAdded { slot, .. } => *slot,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_since_is_what_follows_the_shared_start() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            printed_since(&s(&["$ ", "", ""]), &s(&["$ ", "hello", "$ ", ""])),
            s(&["hello", "$ "])
        );
        assert!(printed_since(&s(&["a", ""]), &s(&["a", ""])).is_empty());
    }
}
