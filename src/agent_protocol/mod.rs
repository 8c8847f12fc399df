//! Structured transports: an agent driven over its own protocol instead of a
//! terminal (DESIGN.md, "transport"). Pure: no I/O, no threads, no clock.
//!
//! Each protocol's codec turns the agent's lines into [`AgentMsg`]s, the one
//! vocabulary the server works with whatever the protocol, and turns what
//! corral does (a message, an answer, an interrupt) into lines for the
//! agent's stdin. [`draw`] renders the conversation as terminal output for
//! the slot's pane. Nothing here reads text a model wrote as a dialog:
//! requests and states come from the protocol's own fields.

pub mod acp;
pub mod draw;
pub mod stream_json;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{Answer, AnswerKind};

/// How corral talks to a slot's agent (a slot's `transport`).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    /// A terminal: screen reading, keys, hooks where the agent has them.
    #[default]
    Pty,
    /// Claude Code's JSON stream and control protocol (`-p --input-format
    /// stream-json --output-format stream-json`).
    StreamJson,
    /// The Agent Client Protocol (JSON-RPC over stdio: `gemini --acp`).
    Acp,
}

impl Transport {
    /// The name as in config files (`pty`, `stream-json`).
    pub fn name(self) -> &'static str {
        match self {
            Transport::Pty => "pty",
            Transport::StreamJson => "stream-json",
            Transport::Acp => "acp",
        }
    }

    /// A structured transport: the agent speaks a protocol, not a screen.
    pub fn is_structured(self) -> bool {
        !matches!(self, Transport::Pty)
    }
}

/// Most bytes of one protocol line corral reads (8 MiB); a longer line is
/// dropped with an error in the pane, never half-parsed.
pub const MAX_LINE_BYTES: usize = 8 << 20;

/// Most characters of a tool result drawn in the pane (the rest is in the
/// agent's own transcript and corral's protocol log).
pub const MAX_RESULT_CHARS: usize = 2000;

/// What a structured agent said, whatever its protocol.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentMsg {
    /// The agent's conversation id (its first message, and again when it
    /// changes).
    Session {
        /// The id (Claude Code: a UUID).
        id: String,
        /// The model, when said.
        model: Option<String>,
    },
    /// A block of the agent's reply text (written by a model: drawn, never
    /// read as a dialog).
    Text(String),
    /// The agent calls a tool (drawn; its permission, if needed, is a
    /// separate [`AgentMsg::Permission`]).
    ToolCall {
        /// The call's id, which its result names.
        id: String,
        /// The tool's name.
        tool: String,
        /// Its input, as the agent sent it.
        input: Value,
    },
    /// A tool's result.
    ToolResult {
        /// The call it answers.
        id: String,
        /// The tool failed (or was refused).
        is_error: bool,
        /// Its text, whole (the pane draws the start of it).
        text: String,
    },
    /// The agent asks to use a tool and waits for the answer.
    Permission(PermissionAsk),
    /// The agent withdrew a request it asked before (an interrupt).
    Withdrawn {
        /// The request's key.
        key: String,
    },
    /// A turn ended.
    TurnEnded(TurnResult),
    /// The agent answered one of corral's own requests (an interrupt): `Err`
    /// with its error.
    Replied {
        /// corral's request id.
        key: String,
        /// What the agent said of it.
        result: Result<(), String>,
    },
    /// Something to show that is neither the model's text nor a request: a
    /// status the agent reports (an API retry, a compaction).
    Notice(String),
    /// The agent asked corral something corral does not serve (a control
    /// request of another subtype): it gets an error back, never silence.
    Unserved {
        /// The request's id.
        key: String,
        /// What it asked.
        what: String,
    },
}

/// What a structured session's reader got from one line of its agent's
/// output.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentLine {
    /// A protocol line, read.
    Msgs(Vec<AgentMsg>),
    /// A line that is not a protocol message (a setup command's output, a
    /// crash's text on stdout): shown as it is.
    Text(String),
    /// A protocol line corral could not read, and why.
    Bad(String),
    /// A line of the agent's stderr.
    Stderr(String),
    /// A JSON-RPC message (ACP), read by the slot's [`acp::Client`] on the
    /// manager thread, which holds the connection's state.
    Rpc(serde_json::Value),
}

/// A permission request as the protocol carries it: exact, bound to its key.
#[derive(Debug, Clone, PartialEq)]
pub struct PermissionAsk {
    /// The protocol's id for the request, which the answer names.
    pub key: String,
    /// The tool's name as the agent gives it (`Bash`, `Write`).
    pub tool: String,
    /// The tool's input, whole.
    pub input: Value,
    /// What "approve always" sends back (Claude Code's
    /// `permission_suggestions`); `None` when the agent offered none, and
    /// then there is no approve-always.
    pub always: Option<Value>,
    /// The tool call this request is for, when the protocol says.
    pub tool_use_id: Option<String>,
    /// The path the agent found outside its working directories, when it
    /// says (Claude Code's `blocked_path`).
    pub blocked_path: Option<String>,
    /// The answers the agent offers, each with the protocol's id for it and
    /// its name (ACP's options); empty when the protocol has fixed answers
    /// (stream-json: allow, and deny).
    pub options: Vec<(AnswerKind, String, String)>,
    /// Its input is the call's own, whole: otherwise (an ACP title that is
    /// a description) no rule may answer it.
    pub exact: bool,
}

impl PermissionAsk {
    /// The answers this request can take, in the order the inbox offers
    /// them.
    pub fn kinds(&self) -> Vec<AnswerKind> {
        if !self.options.is_empty() {
            let mut k = Vec::new();
            for want in [
                AnswerKind::ApproveOnce,
                AnswerKind::ApproveAlways,
                AnswerKind::Deny,
            ] {
                if self.options.iter().any(|(o, _, _)| *o == want) {
                    k.push(want);
                }
            }
            return k;
        }
        let mut k = vec![AnswerKind::ApproveOnce];
        if self.always.is_some() {
            k.push(AnswerKind::ApproveAlways);
        }
        k.push(AnswerKind::Deny);
        k
    }
}

/// Tokens a turn (or a slot, summed) used, from the protocol's own counts.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Usage {
    /// Input tokens sent to the model (not read from its cache).
    pub input_tokens: u64,
    /// Output tokens the model wrote.
    pub output_tokens: u64,
    /// Input tokens read from the model's prompt cache.
    pub cache_read_tokens: u64,
    /// Input tokens written to the model's prompt cache.
    pub cache_write_tokens: u64,
}

impl Usage {
    /// Adds `o` to these counts (saturating).
    pub fn add(&mut self, o: &Usage) {
        self.input_tokens = self.input_tokens.saturating_add(o.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(o.output_tokens);
        self.cache_read_tokens = self.cache_read_tokens.saturating_add(o.cache_read_tokens);
        self.cache_write_tokens = self.cache_write_tokens.saturating_add(o.cache_write_tokens);
    }
}

/// How a turn ended, as the agent reported it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TurnResult {
    /// The final reply text.
    pub text: String,
    /// The conversation's id.
    pub session_id: Option<String>,
    /// How long the turn took, in milliseconds.
    pub duration_ms: Option<u64>,
    /// What the turn cost, in US dollars (the agent's own figure).
    pub cost_usd: Option<f64>,
    /// Its tokens.
    pub usage: Usage,
    /// Tool calls refused during the turn (their tool names, in order).
    pub denials: Vec<String>,
    /// Why the turn failed, when it did (an error, an interrupt, a limit).
    pub error: Option<String>,
}

// Equality is total: the one float, a cost read from JSON, is never NaN
// (JSON has no NaN).
impl Eq for TurnResult {}

/// What a slot's turns used in all, from its protocol's turn results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SlotUsage {
    /// Turns ended.
    pub turns: u64,
    /// Their tokens.
    pub usage: Usage,
    /// Their cost in US dollars, the agent's own figures summed.
    pub cost_usd: f64,
}

// Equality is total: only finite, non-negative costs are ever added.
impl Eq for SlotUsage {}

impl SlotUsage {
    /// Counts turn `r` in. A cost that is not a finite, non-negative number
    /// (a hostile or broken stream) is left out rather than poisoning the
    /// sum.
    pub fn add(&mut self, r: &TurnResult) {
        self.turns = self.turns.saturating_add(1);
        self.usage.add(&r.usage);
        if let Some(c) = r.cost_usd.filter(|c| c.is_finite() && *c >= 0.0) {
            let sum = self.cost_usd + c;
            if sum.is_finite() {
                self.cost_usd = sum;
            }
        }
    }
}

/// What Claude Code's own transcript of a conversation (its
/// `projects/*/<id>.jsonl`, as Claude Code 2.1.329 writes it) says the
/// conversation used: the tokens of each assistant message (counted once
/// per message id: a message's blocks are lines of their own, each with the
/// message's usage) and the prompts typed (user lines whose content is
/// text, not tool results). The transcript has no cost.
pub fn claude_transcript_usage(text: &str) -> SlotUsage {
    let mut u = SlotUsage::default();
    let mut seen = std::collections::HashSet::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        match v.get("type").and_then(serde_json::Value::as_str) {
            Some("user") if v.pointer("/message/content").is_some_and(|c| c.is_string()) => {
                u.turns = u.turns.saturating_add(1);
            }
            Some("assistant") => {
                let (Some(id), Some(usage)) = (
                    v.pointer("/message/id").and_then(serde_json::Value::as_str),
                    v.pointer("/message/usage"),
                ) else {
                    continue;
                };
                if !seen.insert(id.to_string()) {
                    continue;
                }
                let n = |k: &str| {
                    usage
                        .get(k)
                        .and_then(serde_json::Value::as_u64)
                        .unwrap_or(0)
                };
                u.usage.add(&Usage {
                    input_tokens: n("input_tokens"),
                    output_tokens: n("output_tokens"),
                    cache_read_tokens: n("cache_read_input_tokens"),
                    cache_write_tokens: n("cache_creation_input_tokens"),
                });
            }
            _ => {}
        }
    }
    u
}

/// What Gemini CLI's own record of a conversation (its
/// `tmp/<project>/chats/session-*-<id8>.jsonl`, as Gemini CLI 0.61.0 writes
/// it in a terminal) says it used. Its lines are a header, message records
/// (written again, whole, as they change: the last one of an id counts) and
/// `{"$set": ...}` updates (a `messages` list replaces them all). Tokens are
/// each model message's `tokens`: `input` (cached part included), `output`
/// plus `thoughts` (billed as output), `cached`. Turns are the prompts a
/// person gave: user messages that are not Gemini's own context, slash
/// commands or hook context (what Gemini CLI itself does not count as a
/// conversation). The record has no cost.
pub fn gemini_transcript_usage(text: &str) -> SlotUsage {
    use serde_json::Value;
    // Message id -> the message, in the order first seen.
    let mut order: Vec<String> = Vec::new();
    let mut msgs: std::collections::HashMap<String, Value> = std::collections::HashMap::new();
    let put = |order: &mut Vec<String>,
               msgs: &mut std::collections::HashMap<String, Value>,
               m: &Value| {
        let Some(id) = m.get("id").and_then(Value::as_str) else {
            return;
        };
        if msgs.insert(id.to_string(), m.clone()).is_none() {
            order.push(id.to_string());
        }
    };
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if let Some(list) = v.pointer("/$set/messages").and_then(Value::as_array) {
            order.clear();
            msgs.clear();
            for m in list {
                put(&mut order, &mut msgs, m);
            }
        } else if v.get("type").is_some() {
            put(&mut order, &mut msgs, &v);
        }
    }
    let mut u = SlotUsage::default();
    for id in &order {
        let Some(m) = msgs.get(id) else { continue };
        match m.get("type").and_then(Value::as_str) {
            Some("user") => {
                let text: String = match m.get("content") {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Array(parts)) => parts
                        .iter()
                        .filter_map(|p| p.get("text").and_then(Value::as_str))
                        .collect(),
                    _ => String::new(),
                };
                let t = text.trim();
                let own = t.is_empty()
                    || t.starts_with('/')
                    || t.starts_with('?')
                    || t.starts_with("<session_context>")
                    || t.starts_with("<hook_context>");
                if !own {
                    u.turns = u.turns.saturating_add(1);
                }
            }
            Some("gemini") => {
                let Some(t) = m.get("tokens") else { continue };
                let n = |k: &str| t.get(k).and_then(Value::as_u64).unwrap_or(0);
                u.usage.add(&Usage {
                    input_tokens: n("input"),
                    output_tokens: n("output").saturating_add(n("thoughts")),
                    cache_read_tokens: n("cached"),
                    cache_write_tokens: 0,
                });
            }
            _ => {}
        }
    }
    u
}

/// What Codex CLI's own transcript of a conversation (its
/// `sessions/*/*/*/rollout-*-<id>.jsonl`, as Codex CLI 0.169.0 writes it)
/// says it used: the last `token_count` event's `total_token_usage`, and the
/// turns it completed (`task_complete` events). The transcript has no cost.
pub fn codex_transcript_usage(text: &str) -> SlotUsage {
    let mut u = SlotUsage::default();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v.get("type").and_then(serde_json::Value::as_str) != Some("event_msg") {
            continue;
        }
        match v
            .pointer("/payload/type")
            .and_then(serde_json::Value::as_str)
        {
            Some("task_complete") => u.turns = u.turns.saturating_add(1),
            Some("token_count") => {
                if let Some(t) = v.pointer("/payload/info/total_token_usage") {
                    let n = |k: &str| t.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
                    u.usage = Usage {
                        input_tokens: n("input_tokens"),
                        output_tokens: n("output_tokens"),
                        cache_read_tokens: n("cached_input_tokens"),
                        cache_write_tokens: n("cache_write_input_tokens"),
                    };
                }
            }
            _ => {}
        }
    }
    u
}

/// What corral sends an agent: the protocol codec turns it into lines.
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
    /// A person's (or `ctl`'s) message.
    Message(String),
    /// The answer to permission request `ask`.
    Answer {
        /// The request.
        ask: Box<PermissionAsk>,
        /// The answer (`Select` is not a protocol answer: refused before).
        answer: Answer,
        /// The reason a deny gives the agent.
        message: String,
    },
    /// Stop the current turn.
    Interrupt {
        /// corral's id for the request.
        key: String,
    },
    /// An error answer to an agent's request corral does not serve.
    Unserved {
        /// The request's id.
        key: String,
        /// Why, for the agent.
        why: String,
    },
}

/// Why an [`Outgoing`] cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The request offered no such answer.
    #[error("this request has no {0} answer")]
    NoSuchAnswer(&'static str),
    /// The request is not waiting (answered, cancelled, or never asked).
    #[error("the agent is not waiting for an answer to this request")]
    NotWaiting,
}

/// Removes what a terminal would act on from text a model or a tool wrote
/// (escape sequences, C0 and C1 controls but newline and tab), so drawing it
/// can only ever print characters: no title, clipboard, bell or cursor
/// movement comes from the conversation.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\t' => c,
            c if c.is_control() => '\u{fffd}',
            // Bidirectional overrides reorder what is shown.
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => '\u{fffd}',
            c => c,
        })
        .collect()
}

/// Caps `text` at `max` characters, saying how much was left out.
pub fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((at, _)) => {
            let rest = text[at..].chars().count();
            format!("{}… ({rest} more characters)", &text[..at])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_text_has_no_control_sequences() {
        let hostile = "ok\x1b]0;title\x07\x1b[2J\r\u{9b}31m\u{202e}gnp.exe\nnext\tcol";
        let p = printable(hostile);
        assert!(!p.chars().any(|c| c.is_control() && c != '\n' && c != '\t'));
        assert!(p.contains("\nnext\tcol"));
        assert!(!p.contains('\u{202e}'));
    }

    #[test]
    fn usage_sums_turns_and_leaves_out_costs_that_are_not_numbers() {
        let mut u = SlotUsage::default();
        let turn = |cost: Option<f64>, input| TurnResult {
            cost_usd: cost,
            usage: Usage {
                input_tokens: input,
                output_tokens: 1,
                ..Usage::default()
            },
            ..TurnResult::default()
        };
        u.add(&turn(Some(0.5), 10));
        u.add(&turn(Some(-1.0), u64::MAX));
        u.add(&turn(Some(f64::MAX), 1));
        u.add(&turn(Some(f64::MAX), 1));
        u.add(&turn(None, 1));
        assert_eq!(u.turns, 5);
        assert_eq!(u.usage.input_tokens, u64::MAX);
        assert_eq!(u.usage.output_tokens, 5);
        assert!(u.cost_usd.is_finite() && u.cost_usd >= 0.5);
        assert_eq!(u, u);
    }

    #[test]
    fn a_claude_transcript_counts_each_message_once_and_each_typed_prompt() {
        let t = [
            r#"{"type":"user","message":{"role":"user","content":"hi"}}"#,
            r#"{"type":"assistant","message":{"id":"m1","usage":{"input_tokens":10,"output_tokens":5,"cache_read_input_tokens":2}}}"#,
            r#"{"type":"assistant","message":{"id":"m1","usage":{"input_tokens":10,"output_tokens":5,"cache_read_input_tokens":2}}}"#,
            r#"{"type":"user","message":{"role":"user","content":[{"type":"tool_result","content":"x"}]}}"#,
            r#"{"type":"assistant","message":{"id":"m2","usage":{"input_tokens":7,"output_tokens":1}}}"#,
            "not json",
        ]
        .join("\n");
        let u = claude_transcript_usage(&t);
        assert_eq!(u.turns, 1);
        assert_eq!((u.usage.input_tokens, u.usage.output_tokens), (17, 6));
        assert_eq!(u.usage.cache_read_tokens, 2);
        assert_eq!(u.cost_usd, 0.0);
    }

    #[test]
    fn a_codex_transcript_gives_its_last_total_and_its_completed_turns() {
        let t = [
            r#"{"type":"session_meta","payload":{}}"#,
            r#"{"type":"event_msg","payload":{"type":"task_started"}}"#,
            r#"{"type":"event_msg","payload":{"type":"token_count","info":{"total_token_usage":{"input_tokens":100,"cached_input_tokens":0,"cache_write_input_tokens":0,"output_tokens":20}}}}"#,
            r#"{"type":"event_msg","payload":{"type":"token_count","info":{"total_token_usage":{"input_tokens":200,"cached_input_tokens":5,"cache_write_input_tokens":0,"output_tokens":40}}}}"#,
            r#"{"type":"event_msg","payload":{"type":"task_complete"}}"#,
            r#"{"type":"event_msg","payload":{"type":"token_count","info":null}}"#,
        ]
        .join("\n");
        let u = codex_transcript_usage(&t);
        assert_eq!(u.turns, 1);
        assert_eq!((u.usage.input_tokens, u.usage.output_tokens), (200, 40));
        assert_eq!(u.usage.cache_read_tokens, 5);
    }

    #[test]
    fn a_gemini_record_counts_each_message_once_and_each_prompt_given() {
        // As Gemini CLI 0.61.0 wrote it for one prompt (`gemini -p`, against
        // corral's mock).
        let real = include_str!("../../tests/fixtures/transcripts/gemini-0.61.0-one-turn.jsonl");
        let u = gemini_transcript_usage(real);
        assert_eq!(u.turns, 1);
        assert_eq!((u.usage.input_tokens, u.usage.output_tokens), (100, 20));
        // A message written again as it changed counts once (its last
        // form); a `$set` of the messages replaces them; thoughts are output;
        // a slash command is not a turn; a broken line is skipped.
        let t = [
            r#"{"sessionId":"s","kind":"main"}"#,
            r#"{"$set":{"messages":[{"id":"c","type":"user","content":[{"text":"<session_context>x"}]}]}}"#,
            r#"{"id":"u1","type":"user","content":[{"text":"fix it"}]}"#,
            r#"{"id":"g1","type":"gemini","content":"","tokens":{"input":10,"output":1}}"#,
            r#"{"id":"g1","type":"gemini","content":"ok","tokens":{"input":10,"output":5,"cached":4,"thoughts":2}}"#,
            r#"{"id":"u2","type":"user","content":[{"text":"/stats"}]}"#,
            r#"{"id":"u3","type":"user","content":"again"}"#,
            r#"{"id":"g2","type":"gemini","content":"done","tokens":{"input":30,"output":3}}"#,
            r#"{"$set":{"lastUpdated":"x"}}"#,
            "{broken",
        ]
        .join("\n");
        let u = gemini_transcript_usage(&t);
        assert_eq!(u.turns, 2);
        assert_eq!((u.usage.input_tokens, u.usage.output_tokens), (40, 10));
        assert_eq!(u.usage.cache_read_tokens, 4);
        assert_eq!(u.cost_usd, 0.0);
    }

    #[test]
    fn shortened_text_says_what_is_left_out() {
        assert_eq!(shorten("abc", 5), "abc");
        assert_eq!(shorten("abcdef", 3), "abc… (3 more characters)");
        assert_eq!(shorten("ééééé", 2), "éé… (3 more characters)");
    }
}
