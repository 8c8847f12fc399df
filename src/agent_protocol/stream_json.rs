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
                    let always = req
                        .get("permission_suggestions")
                        .filter(|p| p.as_array().is_some_and(|a| !a.is_empty()))
                        .map(for_this_session);
                    out.push(AgentMsg::Permission(PermissionAsk {
                        key,
                        tool,
                        input,
                        always,
                        tool_use_id: s(req, "tool_use_id"),
                        blocked_path: s(req, "blocked_path"),
                        options: Vec::new(),
                        exact: true,
                    }));
                }
                other => out.push(AgentMsg::Notice(format!(
                    "the agent sent a request corral does not handle ({})",
                    other.unwrap_or("no subtype")
                ))),
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
fn for_this_session(suggestions: &Value) -> Value {
    let mut v = suggestions.clone();
    if let Some(items) = v.as_array_mut() {
        for s in items {
            if let Some(o) = s.as_object_mut() {
                o.insert("destination".into(), Value::String("session".into()));
            }
        }
    }
    v
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
        let words = describe_always(&always);
        assert_eq!(words[0], "allow Bash(echo hello *)");
        assert_eq!(words[1], "add directory /tmp/rc/proj");
        assert_eq!(words[2], "switch to mode acceptEdits");
        assert!(words[3].contains("brandNew"));
        assert_eq!(ask.blocked_path.as_deref(), Some("/tmp/rc/proj/hello.txt"));
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
