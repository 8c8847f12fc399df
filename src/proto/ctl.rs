//! `corral ctl`: scripts (and other agents) drive a session over the
//! server's socket. A ctl connection sends a [`super::Hello`] of kind `ctl`
//! carrying one [`CtlRequest`]; the server answers with one [`CtlReply`]
//! (for `events`, one per event until the connection closes) and hangs up.
//! Every frame is one JSON line. `corral ctl schema` prints the JSON schema
//! of both.

use serde::{Deserialize, Serialize};

use crate::detect::{AgentState, Prompt, PromptId};
use crate::keys::KeyPress;
use crate::model::AnswerKind;

/// A state `ctl wait` and `ctl prompt` wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum WaitFor {
    /// Launched, nothing recognisable on screen yet.
    Starting,
    /// Busy.
    Working,
    /// Waiting for the next message.
    Idle,
    /// Showing a tool-permission prompt.
    NeedsPermission,
    /// Asking something that is not a tool permission.
    NeedsInput,
    /// Working with a screen that has not changed for too long.
    Stalled,
    /// The program exited.
    Exited,
    /// Any of idle, needs-permission, needs-input, stalled: the agent
    /// stopped and waits for somebody.
    AnyStop,
}

impl WaitFor {
    /// Whether `state` is what this waits for.
    pub fn matches(self, state: &AgentState) -> bool {
        match self {
            WaitFor::Starting => *state == AgentState::Starting,
            WaitFor::Working => *state == AgentState::Working,
            WaitFor::Idle => *state == AgentState::Idle,
            WaitFor::NeedsPermission => *state == AgentState::NeedsPermission,
            WaitFor::NeedsInput => *state == AgentState::NeedsInput,
            WaitFor::Stalled => *state == AgentState::Stalled,
            WaitFor::Exited => matches!(state, AgentState::Exited(_)),
            WaitFor::AnyStop => matches!(
                state,
                AgentState::Idle
                    | AgentState::NeedsPermission
                    | AgentState::NeedsInput
                    | AgentState::Stalled
            ),
        }
    }
}

/// An answer `ctl answer` may give (choosing a numbered option is left to
/// a person in corral).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CtlAnswer {
    /// Allow this one request.
    ApproveOnce,
    /// Allow this request and similar ones from now on.
    ApproveAlways,
    /// Refuse the request.
    Deny,
}

impl CtlAnswer {
    /// The answer as the session manager takes it.
    pub fn answer(self) -> crate::detect::Answer {
        match self {
            CtlAnswer::ApproveOnce => crate::detect::Answer::ApproveOnce,
            CtlAnswer::ApproveAlways => crate::detect::Answer::ApproveAlways,
            CtlAnswer::Deny => crate::detect::Answer::Deny,
        }
    }

    /// The kind of option it picks.
    pub fn kind(self) -> AnswerKind {
        match self {
            CtlAnswer::ApproveOnce => AnswerKind::ApproveOnce,
            CtlAnswer::ApproveAlways => AnswerKind::ApproveAlways,
            CtlAnswer::Deny => AnswerKind::Deny,
        }
    }
}

/// What `ctl send` types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case", tag = "as", content = "input")]
pub enum SendInput {
    /// Text, as a paste (bracketed when the program asked for it).
    Text(String),
    /// Keys by name (`ctrl-c`, `enter`), each encoded for the program's
    /// input modes.
    Keys(Vec<KeyPress>),
}

/// One `corral ctl` request. Slots are named by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case", tag = "cmd")]
pub enum CtlRequest {
    /// Every slot and its state.
    List,
    /// A slot's screen as text.
    Screen {
        /// The slot's id.
        slot: String,
        /// With SGR sequences for colours and attributes.
        ansi: bool,
        /// Rows of scrollback before the screen (at most what is kept).
        scrollback: usize,
    },
    /// Types into a slot. Refused while a prompt is open in it: text never
    /// answers a prompt (`answer` does).
    Send {
        /// The slot's id.
        slot: String,
        /// What to type.
        input: SendInput,
        /// Enter after it.
        enter: bool,
    },
    /// Sends `text` and Enter, then waits until the slot leaves `working`
    /// for a state `wait` matches.
    Prompt {
        /// The slot's id.
        slot: String,
        /// The message.
        text: String,
        /// The state to wait for.
        wait: WaitFor,
        /// Longest wait, in milliseconds.
        timeout_ms: u64,
    },
    /// Sends `text` as a task: a message (and Enter) to the slot's agent;
    /// with `wait`, the reply comes when its turn ends: a structured slot's
    /// turn result (text, conversation, duration, cost, tokens, denials), a
    /// PTY slot's state and output as `Prompt` gives them.
    Task {
        /// The slot's id.
        slot: String,
        /// The message.
        text: String,
        /// Wait for the turn's end.
        wait: bool,
        /// Longest wait, in milliseconds.
        timeout_ms: u64,
    },
    /// Waits until the slot is in a state `state` matches (at once if it is
    /// now), in the session that runs now: a restart ends the wait with an
    /// error.
    Wait {
        /// The slot's id.
        slot: String,
        /// The state to wait for.
        state: WaitFor,
        /// Longest wait, in milliseconds.
        timeout_ms: u64,
    },
    /// Answers the slot's pending prompt as a key would, verified the same
    /// way (the dialog must still be on screen).
    Answer {
        /// The slot's id.
        slot: String,
        /// The answer.
        answer: CtlAnswer,
        /// Only this prompt: refused if another one is pending.
        prompt: Option<PromptId>,
        /// Sent by `corral web` for the person holding the token of this
        /// name: audited as `by: web` with it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by_web: Option<String>,
    },
    /// Stops the slot's program and starts it again.
    Restart {
        /// The slot's id.
        slot: String,
    },
    /// Stops the slot's program (SIGHUP, SIGKILL after 2 s); no restart.
    Kill {
        /// The slot's id.
        slot: String,
    },
    /// Sends the agent's own interrupt key (its profile's).
    Interrupt {
        /// The slot's id.
        slot: String,
    },
    /// The session's events as they happen, one reply each, until the
    /// connection closes.
    Events {
        /// Only this slot's.
        slot: Option<String>,
    },
    /// Counters per slot.
    Stats,
    /// What detection reads on the slot's live screen, and why.
    Explain {
        /// The slot's id.
        slot: String,
    },
    /// Adds a slot to the running session and starts it; every client
    /// shows it. (It is not written to the config file.)
    New {
        /// Its id (unique, no spaces).
        id: String,
        /// Its agent profile.
        agent: String,
        /// Its role.
        role: String,
        /// Its working directory (the server's when `None`).
        cwd: Option<String>,
        /// The program and its arguments.
        command: Vec<String>,
        /// Run in a git worktree of its own on this branch (made from the
        /// repository of `cwd`).
        #[serde(default)]
        worktree: Option<String>,
    },
    /// Removes the slot's git worktree (its branch stays): not while its
    /// program runs, nor, without `force`, while it has uncommitted changes
    /// (the reply names them).
    RemoveWorktree {
        /// The slot's id.
        slot: String,
        /// Even with uncommitted changes.
        force: bool,
    },
}

/// A slot as `ctl list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CtlSlot {
    /// The slot's id.
    pub id: String,
    /// Its role.
    pub role: String,
    /// Its agent profile.
    pub agent: String,
    /// The detected state.
    pub state: AgentState,
    /// Milliseconds in that state.
    pub state_age_ms: u64,
    /// The pending prompt, if any.
    pub prompt: Option<Prompt>,
    /// The program's process id while it runs.
    pub pid: Option<u32>,
    /// Session generation (1 = first start).
    pub generation: u64,
    /// The id of its agent's conversation, which a restart resumes (Claude
    /// Code's `--session-id`/`--resume`).
    #[serde(default)]
    pub session_id: Option<String>,
    /// What its last session ran: the program, then its arguments (those
    /// corral adds, such as hook settings and `--resume`, included).
    #[serde(default)]
    pub command: Vec<String>,
    /// The directory it ran in (its worktree, if it has one).
    #[serde(default)]
    pub cwd: Option<String>,
    /// How its session is confined (`confined`, `partial`, `unconfined`,
    /// `refused`), where it may write, and why; absent when the slot asks
    /// for no sandbox.
    #[serde(default)]
    pub sandbox: Option<crate::sandbox::SandboxStatus>,
    /// A structured slot's turns, tokens and cost, from its protocol.
    #[serde(default)]
    pub usage: Option<crate::agent_protocol::SlotUsage>,
}

/// Counters of one slot, for `ctl stats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CtlStats {
    /// The slot's id.
    pub id: String,
    /// Bytes its programs wrote, over every session.
    pub bytes_read: u64,
    /// Rows of scrollback kept now.
    pub scrollback_rows: usize,
    /// Memory its terminal engine holds, in bytes (screens and scrollback).
    pub engine_bytes: usize,
    /// Times it was started again.
    pub restarts: u64,
    /// Prompts answered, by who answered.
    pub answered_by_key: u64,
    /// Prompts answered by a `[[policy]]` rule.
    pub answered_by_rule: u64,
    /// Prompts answered by `ctl answer`.
    pub answered_by_ctl: u64,
    /// Prompts answered from `corral web`.
    #[serde(default)]
    pub answered_by_web: u64,
    /// A structured slot's turns, tokens and cost, from its protocol.
    #[serde(default)]
    pub usage: Option<crate::agent_protocol::SlotUsage>,
}

/// One event as `ctl events` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CtlEvent {
    /// Sequence number in the server, from 1, without gaps (an event another
    /// slot's filter left out still counts).
    pub seq: u64,
    /// When it happened (RFC 3339, UTC).
    pub time: String,
    /// The slot's id.
    pub slot_id: String,
    /// The event.
    #[serde(flatten)]
    pub event: super::Event,
}

/// The server's answer to a [`CtlRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case", tag = "reply")]
pub enum CtlReply {
    /// The request failed: `usage` for a request that cannot be right (an
    /// unknown slot is not one: the session may change).
    Error {
        /// Why.
        error: String,
        /// A usage error (exit 2) rather than a runtime failure (exit 1).
        usage: bool,
    },
    /// `list`.
    Slots {
        /// Every slot, in slot order.
        slots: Vec<CtlSlot>,
    },
    /// `screen`: rows of scrollback, then the screen's rows.
    Screen {
        /// The slot's id.
        slot: String,
        /// Screen size in cells, rows.
        rows: u16,
        /// Screen size in cells, columns.
        cols: u16,
        /// The text, a line per row, trailing blanks removed.
        lines: Vec<String>,
    },
    /// `send`, `restart`, `kill`, `interrupt`: done.
    Done {
        /// The slot's id.
        slot: String,
    },
    /// `wait` and `prompt`: the state reached.
    Reached {
        /// The slot's id.
        slot: String,
        /// The state.
        state: AgentState,
        /// The session generation it was reached in.
        generation: u64,
        /// The prompt open now, if any.
        prompt: Option<Prompt>,
        /// `prompt`: the rows the agent printed since the message (the
        /// screen's and scrollback's rows after those that were there
        /// before).
        output: Option<Vec<String>>,
    },
    /// `task --wait` on a structured slot: how its turn ended, as the
    /// agent's protocol reported it.
    TaskEnded {
        /// The slot's id.
        slot: String,
        /// The turn's result.
        result: Box<crate::agent_protocol::TurnResult>,
    },
    /// `answer`: the keys were sent.
    Answered {
        /// The slot's id.
        slot: String,
        /// The prompt answered.
        prompt: PromptId,
    },
    /// `events`, first: the stream follows the session from here; the
    /// events after `seq` come next.
    Following {
        /// The number of the last event before the stream began (0: none
        /// yet).
        seq: u64,
    },
    /// `events`: one event.
    Event(CtlEvent),
    /// `stats`.
    Stats {
        /// Per slot, in slot order.
        slots: Vec<CtlStats>,
    },
    /// `explain`.
    Explained {
        /// The slot's id.
        slot: String,
        /// The explanation.
        text: String,
    },
}

/// The JSON schema of the `ctl` conversation: the hello a client sends
/// (carrying a [`CtlRequest`]) and every [`CtlReply`] (`docs/ctl.schema.json`
/// holds a copy).
pub fn schema() -> serde_json::Value {
    serde_json::json!({
        "$comment": "corral ctl over the server's Unix socket (<runtime dir>/<session>.sock): one JSON line from the client, {\"v\": 1, \"hello\": {\"kind\": \"ctl\", \"request\": <request>}}; then the server's replies, one JSON line each (one, or for `events` one per event until the connection closes).",
        "version": super::PROTO_VERSION,
        "request": schemars::schema_for!(CtlRequest),
        "reply": schemars::schema_for!(CtlReply),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(
        v: &T,
    ) -> String {
        let s = serde_json::to_string(v).unwrap_or_else(|e| panic!("{e}"));
        let back: T = serde_json::from_str(&s).unwrap_or_else(|e| panic!("{e}: {s}"));
        assert_eq!(&back, v);
        s
    }

    #[test]
    fn requests_and_replies_round_trip_as_documented() {
        let s = round_trip(&CtlRequest::Send {
            slot: "sh".into(),
            input: SendInput::Keys(vec![
                KeyPress::ctrl('c'),
                "enter".parse().unwrap_or_else(|e| panic!("{e}")),
            ]),
            enter: false,
        });
        assert_eq!(
            s,
            r#"{"cmd":"send","slot":"sh","input":{"as":"keys","input":["ctrl-c","enter"]},"enter":false}"#
        );
        let s = round_trip(&CtlRequest::Wait {
            slot: "cc".into(),
            state: WaitFor::AnyStop,
            timeout_ms: 5000,
        });
        assert_eq!(
            s,
            r#"{"cmd":"wait","slot":"cc","state":"any-stop","timeout_ms":5000}"#
        );
        round_trip(&CtlRequest::Answer {
            slot: "cc".into(),
            answer: CtlAnswer::ApproveOnce,
            prompt: Some(PromptId(7)),
            by_web: None,
        });
        round_trip(&CtlRequest::Events { slot: None });
        let s = round_trip(&CtlReply::Error {
            error: "no slot \"x\"".into(),
            usage: false,
        });
        assert_eq!(
            s,
            r#"{"reply":"error","error":"no slot \"x\"","usage":false}"#
        );
        let s = round_trip(&CtlReply::Event(CtlEvent {
            seq: 3,
            time: "2026-12-02T05:00:00Z".into(),
            slot_id: "sh".into(),
            event: super::super::Event::StateChanged {
                slot: 0,
                state: AgentState::Idle,
                rule: "idle".into(),
            },
        }));
        assert!(s.contains(r#""event":"state-changed""#), "{s}");
        assert!(s.contains(r#""seq":3"#), "{s}");
        // Unknown commands and fields of the wrong type are errors.
        assert!(serde_json::from_str::<CtlRequest>(r#"{"cmd":"format-disk"}"#).is_err());
        assert!(
            serde_json::from_str::<CtlRequest>(
                r#"{"cmd":"wait","slot":"a","state":"busy","timeout_ms":1}"#
            )
            .is_err()
        );
    }

    /// The schema in `docs/` is the one the code makes (regenerate it with
    /// `corral ctl schema > docs/ctl.schema.json`).
    #[test]
    fn the_documented_schema_is_the_one_the_code_makes() {
        let made = serde_json::to_string_pretty(&schema()).unwrap_or_default() + "\n";
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/ctl.schema.json");
        let doc = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            made == doc,
            "docs/ctl.schema.json is out of date: run `corral ctl schema > docs/ctl.schema.json`"
        );
        // It describes what the server sends.
        let reply = &schema()["reply"];
        let text = reply.to_string();
        for name in [
            "slots",
            "reached",
            "answered",
            "event",
            "state-changed",
            "needs-permission",
        ] {
            assert!(text.contains(name), "{name} missing from the reply schema");
        }
    }

    #[test]
    fn any_stop_is_every_state_that_waits_for_somebody() {
        let stops = [
            AgentState::Idle,
            AgentState::NeedsPermission,
            AgentState::NeedsInput,
            AgentState::Stalled,
        ];
        for s in &stops {
            assert!(WaitFor::AnyStop.matches(s), "{s:?}");
        }
        for s in [
            AgentState::Starting,
            AgentState::Working,
            AgentState::Exited("0".into()),
            AgentState::Restarting,
        ] {
            assert!(!WaitFor::AnyStop.matches(&s), "{s:?}");
        }
        assert!(WaitFor::Exited.matches(&AgentState::Exited("signal 9".into())));
    }
}
