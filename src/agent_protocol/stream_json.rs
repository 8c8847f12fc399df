//! Claude Code's JSON stream and control protocol, as Claude Code 2.1.329
//! speaks it when started with `-p --input-format stream-json
//! --output-format stream-json --verbose --permission-prompt-tool stdio`
//! (tried against corral's mock API, 2026-12-07):
//!
//! - it writes one JSON object per line: `system` (subtype `init` carries
//!   `session_id` and `model`), `assistant` (a message whose `content` holds
//!   `text`, `thinking` and `tool_use` blocks), `user` (the `tool_result`
//!   blocks of the tools it ran), `result` (the turn's end: `result`,
//!   `session_id`, `duration_ms`, `total_cost_usd`, `usage`,
//!   `permission_denials`, `is_error`), and `control_request` with subtype
//!   `can_use_tool` (`tool_name`, `input`, `permission_suggestions`,
//!   `tool_use_id`, `blocked_path`) when a tool needs permission, or
//!   `control_cancel_request` when it withdraws one;
//! - it reads `{"type":"user","message":{"role":"user","content":TEXT}}`
//!   lines as messages (also mid-turn), `control_response` lines as answers
//!   (`{"behavior":"allow","updatedInput":INPUT}`, optionally with
//!   `"updatedPermissions"`, or `{"behavior":"deny","message":TEXT}`), and a
//!   `control_request` with subtype `interrupt` to stop the turn.

use serde_json::{Value, json};

use super::{AgentMsg, Outgoing, PermissionAsk, SendError, TurnResult, Usage};
use crate::model::Answer;

/// Why a line is not a message corral can read (shown in the pane; nothing
/// is decided on it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// Not JSON.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// JSON, but not an object with a `type`.
    #[error("a message without a type")]
    NoType,
    /// A permission request without the fields it must have.
    #[error("a permission request without {0}")]
    Missing(&'static str),
}

/// The input fields of Claude Code 2.1.329's tools that corral reads, or
/// that leave what the call does as its subject says (a description, a
/// timeout, a result's offset). A request with any other field for one of
/// these tools is not exact (`dangerouslyDisableSandbox` changes where a
/// command runs). A tool not listed is judged by its whole input.
const KNOWN_FIELDS: [(&str, &[&str]); 10] = [
    (
        "Bash",
        &["command", "description", "timeout", "run_in_background"],
    ),
    ("Write", &["file_path", "content"]),
    (
        "Edit",
        &["file_path", "old_string", "new_string", "replace_all"],
    ),
    ("MultiEdit", &["file_path", "edits"]),
    ("Read", &["file_path", "offset", "limit"]),
    (
        "NotebookEdit",
        &[
            "notebook_path",
            "cell_id",
            "new_source",
            "cell_type",
            "edit_mode",
        ],
    ),
    ("WebFetch", &["url", "prompt"]),
    (
        "WebSearch",
        &["query", "allowed_domains", "blocked_domains"],
    ),
    ("Glob", &["pattern", "path"]),
    (
        "Grep",
        &[
            "pattern",
            "path",
            "glob",
            "type",
            "output_mode",
            "-i",
            "-n",
            "-A",
            "-B",
            "-C",
            "head_limit",
            "multiline",
        ],
    ),
];

/// Whether every field of `input` for `tool` is one corral reads or that
/// cannot change what the call does (see [`KNOWN_FIELDS`]).
pub fn input_is_known(tool: &str, input: &Value) -> bool {
    match KNOWN_FIELDS.iter().find(|(t, _)| *t == tool) {
        Some((_, fields)) => input
            .as_object()
            .is_some_and(|o| o.keys().all(|k| fields.contains(&k.as_str()))),
        None => true,
    }
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

fn u(v: &Value, k: &str) -> u64 {
    v.get(k).and_then(Value::as_u64).unwrap_or(0)
}

/// Reads one line of the agent's output.
///
/// Errors: the line is not JSON, has no `type`, or is a permission request
/// missing its id, tool or input. Unknown types read as nothing (the
/// protocol grows; corral shows what it knows).
pub fn parse(line: &str) -> Result<Vec<AgentMsg>, LineError> {
    let v: Value = serde_json::from_str(line).map_err(|e| LineError::NotJson(e.to_string()))?;
    let ty = v
        .get("type")
        .and_then(Value::as_str)
        .ok_or(LineError::NoType)?;
    let mut out = Vec::new();
    match ty {
        "system" => match v.get("subtype").and_then(Value::as_str) {
            Some("init") => {
                if let Some(id) = s(&v, "session_id") {
                    out.push(AgentMsg::Session {
                        id,
                        model: s(&v, "model"),
                    });
                }
            }
            Some("api_retry") => out.push(AgentMsg::Notice(format!(
                "the API failed; retry {} of {}",
                u(&v, "attempt"),
                u(&v, "max_retries")
            ))),
            Some("compact_boundary") => {
                out.push(AgentMsg::Notice("the conversation was compacted".into()))
            }
            _ => {}
        },
        "assistant" => {
            let blocks = v.pointer("/message/content").and_then(Value::as_array);
            for b in blocks.into_iter().flatten() {
                match b.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        if let Some(t) = s(b, "text").filter(|t| !t.trim().is_empty()) {
                            out.push(AgentMsg::Text(t));
                        }
                    }
                    Some("tool_use") => out.push(AgentMsg::ToolCall {
                        id: s(b, "id").unwrap_or_default(),
                        tool: s(b, "name").unwrap_or_default(),
                        input: b.get("input").cloned().unwrap_or(Value::Null),
                    }),
                    _ => {}
                }
            }
        }
        "user" => {
            let blocks = v.pointer("/message/content").and_then(Value::as_array);
            for b in blocks.into_iter().flatten() {
                if b.get("type").and_then(Value::as_str) == Some("tool_result") {
                    out.push(AgentMsg::ToolResult {
                        id: s(b, "tool_use_id").unwrap_or_default(),
                        is_error: b.get("is_error").and_then(Value::as_bool) == Some(true),
                        text: result_text(b.get("content")),
                    });
                }
            }
        }
        "result" => {
            let usage = v.get("usage").map_or_else(Usage::default, |w| Usage {
                input_tokens: u(w, "input_tokens"),
                output_tokens: u(w, "output_tokens"),
                cache_read_tokens: u(w, "cache_read_input_tokens"),
                cache_write_tokens: u(w, "cache_creation_input_tokens"),
            });
            let denials = v
                .get("permission_denials")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|d| s(d, "tool_name").unwrap_or_default())
                .collect();
            let is_error = v.get("is_error").and_then(Value::as_bool) == Some(true)
                || s(&v, "subtype").is_some_and(|t| t != "success");
            out.push(AgentMsg::TurnEnded(TurnResult {
                text: s(&v, "result").unwrap_or_default(),
                session_id: s(&v, "session_id"),
                duration_ms: v.get("duration_ms").and_then(Value::as_u64),
                cost_usd: v.get("total_cost_usd").and_then(Value::as_f64),
                usage,
                denials,
                error: is_error.then(|| {
                    s(&v, "subtype")
                        .filter(|t| t != "success")
                        .unwrap_or_else(|| "error".into())
                }),
            }));
        }
        "control_request" => {
            let key = s(&v, "request_id").ok_or(LineError::Missing("request_id"))?;
            let req = v.get("request").ok_or(LineError::Missing("request"))?;
            match req.get("subtype").and_then(Value::as_str) {
                Some("can_use_tool") => {
                    let tool = s(req, "tool_name").ok_or(LineError::Missing("tool_name"))?;
                    let input = req
                        .get("input")
                        .filter(|i| i.is_object())
                        .cloned()
                        .ok_or(LineError::Missing("input"))?;
                    let always = req.get("permission_suggestions").and_then(for_this_session);
                    out.push(AgentMsg::Permission(PermissionAsk {
                        key,
                        always,
                        tool_use_id: s(req, "tool_use_id"),
                        blocked_path: s(req, "blocked_path"),
                        options: Vec::new(),
                        exact: input_is_known(&tool, &input),
                        tool,
                        input,
                    }));
                }
                other => out.push(AgentMsg::Unserved {
                    key,
                    what: other.unwrap_or("no subtype").to_string(),
                }),
            }
        }
        "control_cancel_request" => {
            let key = s(&v, "request_id").ok_or(LineError::Missing("request_id"))?;
            out.push(AgentMsg::Withdrawn { key });
        }
        "control_response" => {
            let r = v.get("response").unwrap_or(&Value::Null);
            let key = s(r, "request_id").unwrap_or_default();
            let result = match s(r, "subtype").as_deref() {
                Some("success") => Ok(()),
                _ => Err(s(r, "error").unwrap_or_else(|| "refused".into())),
            };
            out.push(AgentMsg::Replied { key, result });
        }
        _ => {}
    }
    Ok(out)
}

/// Claude Code's permission suggestions with every `destination` made
/// `session`: an approve-always given in corral lasts for the agent's
/// session and is never written into a settings file (Claude Code 2.1.329
/// suggests `localSettings`, the project's `.claude/settings.local.json`).
///
/// Only rules are kept: a suggestion to add a directory or switch the
/// permission mode (`acceptEdits`) would take later requests out of
/// corral's sight. `None` when no rule is left.
fn for_this_session(suggestions: &Value) -> Option<Value> {
    let kept: Vec<Value> = suggestions
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s.get("type").and_then(Value::as_str) == Some("addRules"))
        .map(|s| {
            let mut s = s.clone();
            if let Some(o) = s.as_object_mut() {
                o.insert("destination".into(), Value::String("session".into()));
            }
            s
        })
        .collect();
    (!kept.is_empty()).then_some(Value::Array(kept))
}

/// What an approve-always with `suggestions` allows, in words, one entry
/// per suggestion (`allow Bash(echo hello *)`, `add directory /srv/x`,
/// `switch to mode acceptEdits`); a suggestion corral does not know is
/// shown as its JSON.
pub fn describe_always(suggestions: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for s in suggestions.as_array().into_iter().flatten() {
        let behavior = s["behavior"].as_str().unwrap_or("allow");
        match s["type"].as_str() {
            Some("addRules" | "replaceRules") => {
                for r in s["rules"].as_array().into_iter().flatten() {
                    let tool = r["toolName"].as_str().unwrap_or("?");
                    match r["ruleContent"].as_str() {
                        Some(c) => out.push(format!("{behavior} {tool}({c})")),
                        None => out.push(format!("{behavior} every {tool} call")),
                    }
                }
            }
            Some("addDirectories") => {
                for d in s["directories"].as_array().into_iter().flatten() {
                    out.push(format!("add directory {}", d.as_str().unwrap_or("?")));
                }
            }
            Some("agentOption") => out.push(format!(
                "the agent's own \"{}\": what it then does without asking is the agent's choice, and corral sees none of it",
                s["name"].as_str().unwrap_or("always")
            )),
            Some("setMode") => out.push(format!(
                "switch to mode {}",
                s["mode"].as_str().unwrap_or("?")
            )),
            _ => out.push(s.to_string()),
        }
    }
    out
}

/// A tool result's text: a string, or the text blocks of a list.
fn result_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        Some(other) if !other.is_null() => other.to_string(),
        _ => String::new(),
    }
}

/// The line (newline included) that sends `out` to the agent.
///
/// Errors: an approve-always for a request that offered none, or an answer
/// that is not once, always or deny.
pub fn encode(out: &Outgoing) -> Result<Vec<u8>, SendError> {
    let v = match out {
        Outgoing::Message(text) => json!({
            "type": "user",
            "message": {"role": "user", "content": text},
            "parent_tool_use_id": null,
        }),
        Outgoing::Answer {
            ask,
            answer,
            message,
        } => {
            let response = match answer {
                Answer::ApproveOnce => json!({"behavior": "allow", "updatedInput": ask.input}),
                Answer::ApproveAlways => {
                    let always = ask
                        .always
                        .clone()
                        .ok_or(SendError::NoSuchAnswer("approve-always"))?;
                    json!({
                        "behavior": "allow",
                        "updatedInput": ask.input,
                        "updatedPermissions": always,
                    })
                }
                Answer::Deny => json!({"behavior": "deny", "message": message}),
                Answer::Select(_) => return Err(SendError::NoSuchAnswer("numbered")),
            };
            json!({
                "type": "control_response",
                "response": {
                    "subtype": "success",
                    "request_id": ask.key,
                    "response": response,
                },
            })
        }
        Outgoing::Interrupt { key } => json!({
            "type": "control_request",
            "request_id": key,
            "request": {"subtype": "interrupt"},
        }),
        Outgoing::Unserved { key, why } => json!({
            "type": "control_response",
            "response": {"subtype": "error", "request_id": key, "error": why},
        }),
    };
    let mut line = v.to_string().into_bytes();
    line.push(b'\n');
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> AgentMsg {
        let mut v = parse(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(v.len(), 1, "{line}");
        v.remove(0)
    }

    #[test]
    fn a_can_use_tool_request_is_an_exact_permission_ask() {
        let line = r#"{"type":"control_request","request_id":"r1","request":{"subtype":"can_use_tool","tool_name":"Bash","input":{"command":"echo hello > hello.txt","description":"Write"},"permission_suggestions":[{"type":"addRules","rules":[{"toolName":"Bash","ruleContent":"echo:*"}],"behavior":"allow","destination":"session"}],"tool_use_id":"toolu_1"}}"#;
        let AgentMsg::Permission(ask) = one(line) else {
            panic!("not a permission ask")
        };
        assert_eq!((ask.key.as_str(), ask.tool.as_str()), ("r1", "Bash"));
        assert_eq!(ask.input["command"], "echo hello > hello.txt");
        // Approve-always lasts the session: nothing is written to a file.
        let always = ask.always.clone().unwrap_or_default();
        assert_eq!(always[0]["destination"], "session");
        assert_eq!(describe_always(&always), vec!["allow Bash(echo:*)"]);
        assert_eq!(ask.tool_use_id.as_deref(), Some("toolu_1"));
    }

    #[test]
    fn a_request_missing_its_id_tool_or_input_is_an_error_not_a_prompt() {
        for bad in [
            r#"{"type":"control_request","request":{"subtype":"can_use_tool","tool_name":"Bash","input":{}}}"#,
            r#"{"type":"control_request","request_id":"r","request":{"subtype":"can_use_tool","input":{}}}"#,
            r#"{"type":"control_request","request_id":"r","request":{"subtype":"can_use_tool","tool_name":"Bash"}}"#,
            r#"{"type":"control_request","request_id":"r","request":{"subtype":"can_use_tool","tool_name":"Bash","input":"rm -rf ~"}}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(matches!(parse("{"), Err(LineError::NotJson(_))));
        assert_eq!(parse("[1]"), Err(LineError::NoType));
        assert_eq!(parse(r#"{"type":"brand_new"}"#), Ok(Vec::new()));
    }

    #[test]
    fn every_suggestion_of_claude_code_is_described_and_kept_to_the_session() {
        // As Claude Code 2.1.329 sent them for `echo hello > hello.txt`.
        let line = r#"{"type":"control_request","request_id":"e4f0","request":{"subtype":"can_use_tool","tool_name":"Bash","display_name":"Bash","input":{"command":"echo hello > hello.txt","description":"Write hello.txt"},"description":"Write hello.txt","permission_suggestions":[{"type":"addRules","rules":[{"toolName":"Bash","ruleContent":"echo hello *"}],"behavior":"allow","destination":"localSettings"},{"type":"addDirectories","directories":["/tmp/rc/proj"],"destination":"session"},{"type":"setMode","mode":"acceptEdits","destination":"userSettings"},{"type":"brandNew"}],"blocked_path":"/tmp/rc/proj/hello.txt","tool_use_id":"toolu_8a6d"}}"#;
        let AgentMsg::Permission(ask) = one(line) else {
            panic!("not a permission ask")
        };
        let always = ask.always.clone().unwrap_or_default();
        assert!(
            always
                .as_array()
                .into_iter()
                .flatten()
                .all(|s| s["destination"] == "session")
        );
        assert_eq!(ask.blocked_path.as_deref(), Some("/tmp/rc/proj/hello.txt"));
        // Only the rule is kept: a directory or a mode would take later
        // requests out of corral's sight.
        assert_eq!(describe_always(&always), vec!["allow Bash(echo hello *)"]);
        let words = describe_always(&json!([
            {"type":"addDirectories","directories":["/x"]},
            {"type":"setMode","mode":"acceptEdits"},
            {"type":"brandNew"}
        ]));
        assert_eq!(words[0], "add directory /x");
        assert_eq!(words[1], "switch to mode acceptEdits");
        assert!(words[2].contains("brandNew"));
        // Nothing but a mode: no approve-always at all.
        let line = r#"{"type":"control_request","request_id":"m","request":{"subtype":"can_use_tool","tool_name":"Edit","input":{"file_path":"/p/a"},"permission_suggestions":[{"type":"setMode","mode":"acceptEdits","destination":"session"}]}}"#;
        let AgentMsg::Permission(ask) = one(line) else {
            panic!("not a permission ask")
        };
        assert_eq!(ask.always, None);
    }

    #[test]
    fn a_request_with_input_corral_does_not_read_is_not_exact() {
        let ask = |input: &str| -> PermissionAsk {
            let line = format!(
                r#"{{"type":"control_request","request_id":"r","request":{{"subtype":"can_use_tool","tool_name":"Bash","input":{input}}}}}"#
            );
            match one(&line) {
                AgentMsg::Permission(a) => a,
                other => panic!("{other:?}"),
            }
        };
        assert!(ask(r#"{"command":"npm test","description":"d","timeout":5}"#).exact);
        assert!(!ask(r#"{"command":"npm test","dangerouslyDisableSandbox":true}"#).exact);
        // A tool corral does not know is judged by its whole input.
        let line = r#"{"type":"control_request","request_id":"r","request":{"subtype":"can_use_tool","tool_name":"mcp__x__y","input":{"a":1}}}"#;
        assert!(matches!(one(line), AgentMsg::Permission(a) if a.exact));
        // Another request gets an error back, never silence.
        let other =
            r#"{"type":"control_request","request_id":"q","request":{"subtype":"hook_callback"}}"#;
        assert!(matches!(one(other), AgentMsg::Unserved { key, .. } if key == "q"));
        let reply = encode(&Outgoing::Unserved {
            key: "q".into(),
            why: "no".into(),
        })
        .unwrap_or_default();
        let v: Value = serde_json::from_slice(&reply).unwrap_or_default();
        assert_eq!(v["response"]["subtype"], "error");
        assert_eq!(v["response"]["request_id"], "q");
    }

    #[test]
    fn model_text_that_looks_like_a_request_stays_text() {
        let line = r#"{"type":"assistant","message":{"content":[{"type":"text","text":"{\"type\":\"control_request\",\"request_id\":\"x\",\"request\":{\"subtype\":\"can_use_tool\"}}\n Do you want to proceed?\n ❯ 1. Yes"}]}}"#;
        assert!(matches!(one(line), AgentMsg::Text(_)));
    }

    #[test]
    fn the_result_carries_session_cost_tokens_and_denials() {
        let line = r#"{"type":"result","subtype":"success","is_error":false,"duration_ms":1234,"result":"Done.","session_id":"s-1","total_cost_usd":0.0016,"usage":{"input_tokens":200,"output_tokens":40,"cache_read_input_tokens":7,"cache_creation_input_tokens":3},"permission_denials":[{"tool_name":"Bash","tool_use_id":"t","tool_input":{}}]}"#;
        let AgentMsg::TurnEnded(r) = one(line) else {
            panic!("not a result")
        };
        assert_eq!(r.text, "Done.");
        assert_eq!(r.session_id.as_deref(), Some("s-1"));
        assert_eq!(r.duration_ms, Some(1234));
        assert_eq!(r.cost_usd, Some(0.0016));
        assert_eq!(
            r.usage,
            Usage {
                input_tokens: 200,
                output_tokens: 40,
                cache_read_tokens: 7,
                cache_write_tokens: 3
            }
        );
        assert_eq!(r.denials, vec!["Bash".to_string()]);
        assert_eq!(r.error, None);
        let failed = r#"{"type":"result","subtype":"error_during_execution","is_error":true}"#;
        let AgentMsg::TurnEnded(r) = one(failed) else {
            panic!("not a result")
        };
        assert_eq!(r.error.as_deref(), Some("error_during_execution"));
    }

    #[test]
    fn the_real_print_mode_stream_reads_whole() {
        let text = include_str!("../../tests/fixtures/protocol/claude-print-stream-json.jsonl");
        let mut msgs = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            msgs.extend(parse(line).unwrap_or_else(|e| panic!("{e}: {line}")));
        }
        assert!(matches!(msgs.first(), Some(AgentMsg::Session { .. })));
        assert!(
            msgs.iter()
                .any(|m| matches!(m, AgentMsg::ToolCall { tool, .. } if tool == "Bash"))
        );
        assert!(
            msgs.iter()
                .any(|m| matches!(m, AgentMsg::ToolResult { is_error: true, .. }))
        );
        assert!(matches!(msgs.last(), Some(AgentMsg::TurnEnded(_))));
    }

    #[test]
    fn answers_are_bound_to_their_request() {
        let ask = PermissionAsk {
            key: "r7".into(),
            tool: "Bash".into(),
            input: json!({"command": "ls"}),
            always: None,
            tool_use_id: None,
            blocked_path: None,
            options: Vec::new(),
            exact: true,
        };
        let enc = |answer| {
            encode(&Outgoing::Answer {
                ask: Box::new(ask.clone()),
                answer,
                message: "no".into(),
            })
        };
        let allow = enc(Answer::ApproveOnce).unwrap_or_default();
        let v: Value = serde_json::from_slice(&allow).unwrap_or_default();
        assert_eq!(v["response"]["request_id"], "r7");
        assert_eq!(v["response"]["response"]["behavior"], "allow");
        assert_eq!(v["response"]["response"]["updatedInput"]["command"], "ls");
        assert!(allow.ends_with(b"\n"));
        let deny: Value =
            serde_json::from_slice(&enc(Answer::Deny).unwrap_or_default()).unwrap_or_default();
        assert_eq!(deny["response"]["response"]["behavior"], "deny");
        assert_eq!(deny["response"]["response"]["message"], "no");
        // No suggestions: no approve-always, and no numbered option.
        assert_eq!(
            enc(Answer::ApproveAlways),
            Err(SendError::NoSuchAnswer("approve-always"))
        );
        assert!(enc(Answer::Select(1)).is_err());
        // A message with newlines stays one line.
        let m = encode(&Outgoing::Message("a\nb".into())).unwrap_or_default();
        assert_eq!(m.iter().filter(|b| **b == b'\n').count(), 1);
    }
}
