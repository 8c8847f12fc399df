//! Push notifications (`[notify]`): a slot that needs a person (a
//! permission prompt, a question, a stall) or exited is sent to an ntfy
//! topic and/or a webhook, off the server's threads: the server only hands
//! events to a bounded queue and never waits.
//!
//! A prompt is sent after [`GRACE`] unless it closed first (a policy rule
//! answered it: nobody needs to hear). Sends are rate-limited (per slot and
//! kind, and in all) and retried with backoff.

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::NotifyConfig;
use crate::model::AgentState;
use crate::proto::Event;

/// How long a prompt or state waits before it is sent: one answered by a
/// rule within it is not.
pub const GRACE: Duration = Duration::from_millis(300);

/// The least time between two sends of one slot's same kind of event.
pub const PER_SLOT_EVERY: Duration = Duration::from_secs(5);

/// Most sends a minute, in all.
pub const PER_MINUTE: usize = 30;

/// Tries per send (the first and the retries), waiting 1, 2, 4 s between.
pub const TRIES: u32 = 3;

/// Events waiting for the notifier before new ones are dropped.
const QUEUE: usize = 256;

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A permission prompt waits.
    NeedsPermission,
    /// A question that is not a permission waits.
    NeedsInput,
    /// Working, with a screen that has not changed for too long.
    Stalled,
    /// The program exited.
    Exited,
}

impl Kind {
    fn words(self) -> &'static str {
        match self {
            Kind::NeedsPermission => "needs permission",
            Kind::NeedsInput => "needs input",
            Kind::Stalled => "stalled",
            Kind::Exited => "exited",
        }
    }
}

/// One notification: the webhook's JSON body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// The session's name.
    pub session: String,
    /// The slot's id.
    pub slot: String,
    /// What happened.
    pub kind: Kind,
    /// The tool a permission prompt asks for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// What it acts on: the command, file or URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The prompt's id (16 hex digits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_id: Option<String>,
    /// An exited program's status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// When (RFC 3339, UTC).
    pub time: String,
    /// `[notify] link`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

impl Notice {
    /// The one-line text an ntfy message carries.
    pub fn text(&self) -> String {
        match (&self.tool, &self.subject, &self.status) {
            (Some(t), Some(s), _) => format!("{} {}: {t} {s}", self.slot, self.kind.words()),
            (_, _, Some(st)) => format!("{} {} ({st})", self.slot, self.kind.words()),
            _ => format!("{} {}", self.slot, self.kind.words()),
        }
    }
}

/// Decides what to send, with no clock or I/O of its own: fed events and
/// `now`, it says which notices are due.
#[derive(Debug)]
pub struct Planner {
    session: String,
    link: Option<String>,
    ids: Vec<String>,
    /// Per slot: a notice waiting out its grace, and when it is due.
    waiting: HashMap<usize, (Instant, Notice)>,
    last_sent: HashMap<(usize, Kind), Instant>,
    sent: VecDeque<Instant>,
}

impl Planner {
    /// A planner for `session`, whose slots are `ids` (in slot order).
    pub fn new(session: &str, ids: Vec<String>, link: Option<String>) -> Planner {
        Planner {
            session: session.to_string(),
            link,
            ids,
            waiting: HashMap::new(),
            last_sent: HashMap::new(),
            sent: VecDeque::new(),
        }
    }

    fn notice(&self, slot: usize, kind: Kind, time: String) -> Notice {
        Notice {
            session: self.session.clone(),
            slot: self
                .ids
                .get(slot)
                .cloned()
                .unwrap_or_else(|| format!("#{slot}")),
            kind,
            tool: None,
            subject: None,
            prompt_id: None,
            status: None,
            time,
            link: self.link.clone(),
        }
    }

    /// Takes event `ev` at `now` (`time`: now, RFC 3339); returns a notice
    /// to send at once (an exit).
    pub fn event(&mut self, ev: &Event, now: Instant, time: String) -> Option<Notice> {
        match ev {
            Event::SlotAdded { slot, info } => {
                if *slot >= self.ids.len() {
                    self.ids.resize(*slot + 1, String::new());
                }
                self.ids[*slot] = info.id.clone();
                None
            }
            Event::PromptOpened { slot, prompt } | Event::PromptUpdated { slot, prompt, .. } => {
                let mut n = self.notice(*slot, Kind::NeedsPermission, time);
                n.tool = Some(prompt.tool.clone());
                n.subject = Some(prompt.subject.clone());
                n.prompt_id = Some(prompt.id.to_string());
                // An update of one waiting keeps its due time.
                let due = match self.waiting.get(slot) {
                    Some((d, w)) if w.kind == Kind::NeedsPermission => *d,
                    _ => now + GRACE,
                };
                if matches!(ev, Event::PromptUpdated { .. }) && !self.waiting.contains_key(slot) {
                    return None;
                }
                self.waiting.insert(*slot, (due, n));
                None
            }
            Event::PromptClosed { slot, .. } | Event::AnswerSent { slot, .. } => {
                self.waiting.remove(slot);
                None
            }
            Event::StateChanged { slot, state, .. } => {
                let kind = match state {
                    AgentState::NeedsInput => Kind::NeedsInput,
                    AgentState::Stalled => Kind::Stalled,
                    AgentState::NeedsPermission => return None,
                    _ => {
                        // It moved on: what waited for it is moot.
                        if self
                            .waiting
                            .get(slot)
                            .is_some_and(|(_, n)| n.kind != Kind::NeedsPermission)
                        {
                            self.waiting.remove(slot);
                        }
                        return None;
                    }
                };
                let n = self.notice(*slot, kind, time);
                self.waiting.insert(*slot, (now + GRACE, n));
                None
            }
            Event::Exited { slot, status, .. } => {
                self.waiting.remove(slot);
                let mut n = self.notice(*slot, Kind::Exited, time);
                n.status = Some(status.clone());
                self.allow(*slot, Kind::Exited, now).then_some(n)
            }
            _ => None,
        }
    }

    /// The notices due at `now` (their grace over), within the rate limits.
    pub fn due(&mut self, now: Instant) -> Vec<Notice> {
        let ready: Vec<usize> = self
            .waiting
            .iter()
            .filter(|(_, (d, _))| *d <= now)
            .map(|(s, _)| *s)
            .collect();
        let mut out = Vec::new();
        for slot in ready {
            if let Some((_, n)) = self.waiting.remove(&slot)
                && self.allow(slot, n.kind, now)
            {
                out.push(n);
            }
        }
        out
    }

    /// When the next waiting notice is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.waiting.values().map(|(d, _)| *d).min()
    }

    /// Whether a send of `kind` for `slot` at `now` is within the limits
    /// (and counts it).
    fn allow(&mut self, slot: usize, kind: Kind, now: Instant) -> bool {
        while self
            .sent
            .front()
            .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(60))
        {
            self.sent.pop_front();
        }
        if self.sent.len() >= PER_MINUTE {
            tracing::warn!("notify: over {PER_MINUTE} a minute; dropped");
            return false;
        }
        if self
            .last_sent
            .get(&(slot, kind))
            .is_some_and(|t| now.duration_since(*t) < PER_SLOT_EVERY)
        {
            return false;
        }
        self.last_sent.insert((slot, kind), now);
        self.sent.push_back(now);
        true
    }
}

/// The handle the server holds: events go in, never blocking.
pub struct Notifier {
    tx: SyncSender<Event>,
}

impl Notifier {
    /// Starts the notifier's threads for `session` (slots `ids`), or none
    /// when `[notify]` names no target.
    pub fn start(cfg: &NotifyConfig, session: &str, ids: Vec<String>) -> Option<Notifier> {
        if cfg.webhook.is_none() && cfg.ntfy.is_none() {
            return None;
        }
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE);
        let (send_tx, send_rx) = std::sync::mpsc::sync_channel::<Notice>(QUEUE);
        let planner = Planner::new(session, ids, cfg.link.clone());
        let plan = std::thread::Builder::new()
            .name("notify-plan".into())
            .spawn(move || plan_loop(planner, &rx, &send_tx));
        let targets = (cfg.webhook.clone(), cfg.ntfy.clone());
        let send = std::thread::Builder::new()
            .name("notify-send".into())
            .spawn(move || send_loop(&send_rx, &targets.0, &targets.1));
        if plan.is_err() || send.is_err() {
            tracing::warn!("notify: its threads could not start");
            return None;
        }
        Some(Notifier { tx })
    }

    /// Hands `ev` to the notifier if it may concern it; drops it when the
    /// queue is full (said in the log), never waits.
    pub fn event(&self, ev: &Event) {
        let wanted = matches!(
            ev,
            Event::SlotAdded { .. }
                | Event::PromptOpened { .. }
                | Event::PromptUpdated { .. }
                | Event::PromptClosed { .. }
                | Event::AnswerSent { .. }
                | Event::StateChanged { .. }
                | Event::Exited { .. }
        );
        if wanted && let Err(TrySendError::Full(_)) = self.tx.try_send(ev.clone()) {
            tracing::warn!("notify: queue full; an event was dropped");
        }
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn plan_loop(mut p: Planner, rx: &Receiver<Event>, out: &SyncSender<Notice>) {
    let forward = |n: Notice| {
        if let Err(TrySendError::Full(_)) = out.try_send(n) {
            tracing::warn!("notify: the sender is behind; a notice was dropped");
        }
    };
    loop {
        let wait = p
            .next_due()
            .map(|d| d.saturating_duration_since(Instant::now()));
        let got = match wait {
            Some(w) => rx.recv_timeout(w),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match got {
            Ok(ev) => {
                if let Some(n) = p.event(&ev, Instant::now(), now_rfc3339()) {
                    forward(n);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        for n in p.due(Instant::now()) {
            forward(n);
        }
    }
}

fn send_loop(rx: &Receiver<Notice>, webhook: &Option<String>, ntfy: &Option<String>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    while let Ok(n) = rx.recv() {
        if let Some(url) = webhook {
            deliver("webhook", || {
                agent
                    .post(url)
                    .header("Content-Type", "application/json")
                    .send(serde_json::to_string(&n).unwrap_or_default())
                    .map(|_| ())
            });
        }
        if let Some(url) = ntfy {
            let priority = match n.kind {
                Kind::NeedsPermission | Kind::NeedsInput => "high",
                Kind::Stalled | Kind::Exited => "default",
            };
            deliver("ntfy", || {
                let mut r = agent
                    .post(url)
                    .header("Title", format!("corral: {} {}", n.slot, n.kind.words()))
                    .header("Tags", "robot")
                    .header("Priority", priority);
                if let Some(link) = &n.link {
                    r = r.header("Click", link);
                }
                r.send(n.text()).map(|_| ())
            });
        }
    }
}

/// Tries `send` up to [`TRIES`] times, waiting 1, 2, 4 s between.
fn deliver(what: &str, mut send: impl FnMut() -> Result<(), ureq::Error>) {
    let mut wait = Duration::from_secs(1);
    for attempt in 1..=TRIES {
        match send() {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!("notify: {what} (try {attempt} of {TRIES}): {e}");
                if attempt < TRIES {
                    std::thread::sleep(wait);
                    wait *= 2;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{Prompt, PromptId};

    fn prompt(id: u64) -> Prompt {
        Prompt {
            source: crate::detect::PromptSource::Screen,
            incomplete: None,
            id: PromptId(id),
            dialog_hash: 0,
            tool: "Bash".into(),
            subject: "rm -rf build".into(),
            question: "Do you want to proceed?".into(),
            options: Vec::new(),
            dialog: Vec::new(),
            deny_fallback: Vec::new(),
            unavailable: Default::default(),
        }
    }

    #[test]
    fn a_prompt_is_sent_after_its_grace_with_tool_and_subject() {
        let mut p = Planner::new("default", vec!["api".into()], Some("http://x/".into()));
        let t0 = Instant::now();
        let ev = Event::PromptOpened {
            slot: 0,
            prompt: prompt(7),
        };
        assert_eq!(p.event(&ev, t0, "t".into()), None);
        assert!(p.due(t0).is_empty(), "sent before its grace");
        let sent = p.due(t0 + GRACE);
        assert_eq!(sent.len(), 1);
        let n = &sent[0];
        assert_eq!(n.slot, "api");
        assert_eq!(n.kind, Kind::NeedsPermission);
        assert_eq!(n.tool.as_deref(), Some("Bash"));
        assert_eq!(n.subject.as_deref(), Some("rm -rf build"));
        assert_eq!(n.link.as_deref(), Some("http://x/"));
        assert_eq!(n.text(), "api needs permission: Bash rm -rf build");
        assert!(p.due(t0 + GRACE * 2).is_empty(), "sent twice");
    }

    #[test]
    fn a_prompt_a_rule_answers_within_the_grace_is_not_sent() {
        let mut p = Planner::new("default", vec!["api".into()], None);
        let t0 = Instant::now();
        p.event(
            &Event::PromptOpened {
                slot: 0,
                prompt: prompt(7),
            },
            t0,
            "t".into(),
        );
        p.event(
            &Event::AnswerSent {
                slot: 0,
                prompt: PromptId(7),
                answer: crate::detect::Answer::ApproveOnce,
                by: crate::proto::AnsweredBy {
                    source: "policy".into(),
                    detail: "rule".into(),
                },
            },
            t0,
            "t".into(),
        );
        assert!(p.due(t0 + GRACE).is_empty());
        assert_eq!(p.next_due(), None);
    }

    #[test]
    fn sends_are_rate_limited_per_slot_and_in_all() {
        let mut p = Planner::new("default", vec!["a".into(), "b".into()], None);
        let t0 = Instant::now();
        let exit = |slot| Event::Exited {
            slot,
            status: "1".into(),
            restart_in: None,
        };
        assert!(p.event(&exit(0), t0, "t".into()).is_some());
        assert!(p.event(&exit(0), t0, "t".into()).is_none(), "twice at once");
        assert!(p.event(&exit(1), t0, "t".into()).is_some(), "another slot");
        assert!(p.event(&exit(0), t0 + PER_SLOT_EVERY, "t".into()).is_some());
        // In all: no more than PER_MINUTE a minute.
        let mut q = Planner::new("default", Vec::new(), None);
        let sent = (0..PER_MINUTE * 2)
            .filter(|i| q.event(&exit(*i), t0, "t".into()).is_some())
            .count();
        assert_eq!(sent, PER_MINUTE);
    }

    #[test]
    fn a_question_or_stall_waits_its_grace_and_is_dropped_when_it_moves_on() {
        let mut p = Planner::new("default", vec!["a".into()], None);
        let t0 = Instant::now();
        let state = |s| Event::StateChanged {
            slot: 0,
            state: s,
            rule: String::new(),
        };
        p.event(&state(AgentState::NeedsInput), t0, "t".into());
        p.event(&state(AgentState::Working), t0, "t".into());
        assert!(p.due(t0 + GRACE).is_empty());
        p.event(&state(AgentState::Stalled), t0, "t".into());
        let sent = p.due(t0 + GRACE);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].kind, Kind::Stalled);
    }
}
