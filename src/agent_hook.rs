//! What an agent's permission hook says, and what corral prints back: the
//! agent-facing half of the hook (the wire to the server is [`crate::proto`]).
//! Pure: no I/O.
//!
//! Facts from Claude Code 2.1.329, tried against corral's mock API (see
//! AGENTS.md): the PermissionRequest hook's stdin is one JSON object with
//! `hook_event_name`, `tool_name` and `tool_input`
//! (`{"command", "description"}` for Bash, `{"file_path", "content"}` for
//! Write, `{"file_path", "old_string", "new_string"}` for Edit); printing
//! `{"hookSpecificOutput":{"hookEventName":"PermissionRequest","decision":{"behavior":"allow"}}}`
//! closes the dialog and runs the tool, `"behavior":"deny"` (with an optional
//! `"message"`) refuses it, and empty output leaves the dialog on screen.

use serde_json::Value;

use crate::proto::{HookDecision, HookProtocol};

/// Most rows of a tool input shown in the prompt details (a Write's content
/// can be a whole file).
pub const MAX_DETAIL_ROWS: usize = 200;

/// A tool call as the agent's hook reported it: exact, never read off a
/// screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookCall {
    /// The agent's tool name (`Bash`, `Write`, `Edit`, `WebFetch`, `mcp__x__y`).
    pub tool: String,
    /// What it acts on, exactly: the whole command, the file path, the URL;
    /// for a tool corral does not know, its input as compact JSON.
    pub subject: String,
    /// The question to show.
    pub question: String,
    /// The request as rows for the prompt details: header, description,
    /// subject and (bounded) content.
    pub dialog: Vec<String>,
}

/// Why a hook input was not understood (the dialog then stays for the
/// person).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HookInputError {
    /// Not the event this protocol handles.
    #[error("not a permission request (hook_event_name {0:?})")]
    WrongEvent(String),
    /// A field is missing or has the wrong type.
    #[error("hook input without {0}")]
    Missing(&'static str),
}

/// The field of `tool_input` that holds each known tool's subject, and its
/// path for errors (Claude Code 2.1.329's tool inputs).
const SUBJECT_FIELDS: [(&str, &str, &str); 10] = [
    ("Bash", "command", "tool_input.command"),
    ("Write", "file_path", "tool_input.file_path"),
    ("Edit", "file_path", "tool_input.file_path"),
    ("MultiEdit", "file_path", "tool_input.file_path"),
    ("Read", "file_path", "tool_input.file_path"),
    ("NotebookEdit", "notebook_path", "tool_input.notebook_path"),
    ("WebFetch", "url", "tool_input.url"),
    ("WebSearch", "query", "tool_input.query"),
    ("Glob", "pattern", "tool_input.pattern"),
    ("Grep", "pattern", "tool_input.pattern"),
];

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Reads a hook input.
///
/// Errors: the event is not a permission request, or `tool_name` /
/// `tool_input` (or the field the tool's subject comes from) is missing.
pub fn parse(protocol: HookProtocol, event: &Value) -> Result<HookCall, HookInputError> {
    match protocol {
        // Codex 0.169.0 sends the same shape (tests/fixtures/HOOKS.md).
        HookProtocol::ClaudePermissionRequest | HookProtocol::CodexPermissionRequest => {
            parse_claude(event)
        }
    }
}

fn parse_claude(event: &Value) -> Result<HookCall, HookInputError> {
    let name = str_field(event, "hook_event_name").unwrap_or("");
    if name != "PermissionRequest" {
        return Err(HookInputError::WrongEvent(name.to_string()));
    }
    let tool = str_field(event, "tool_name")
        .ok_or(HookInputError::Missing("tool_name"))?
        .to_string();
    let input = event
        .get("tool_input")
        .filter(|v| v.is_object())
        .ok_or(HookInputError::Missing("tool_input"))?;
    // The field that names what the tool acts on. A known tool without it is
    // an error (never an empty subject a rule could match).
    let key = SUBJECT_FIELDS
        .iter()
        .find(|(t, _, _)| *t == tool)
        .map(|(_, field, path)| (*field, *path));
    let subject = match key {
        Some((field, path)) => str_field(input, field)
            .ok_or(HookInputError::Missing(path))?
            .to_string(),
        None => input.to_string(),
    };
    let key = key.map(|(field, _)| field);
    // A search says where, too: `TODO` in `/` is not `TODO` here.
    let subject = match (tool.as_str(), str_field(input, "path")) {
        ("Glob" | "Grep", Some(path)) if !path.is_empty() => format!("{subject} in {path}"),
        _ => subject,
    };
    // A file inside the directory the agent runs in is named as the agent's
    // dialog names it, relative to it (so a rule's `src/*.rs` matches both
    // sources); anything else stays absolute.
    let subject = match (key, str_field(event, "cwd")) {
        (Some("file_path" | "notebook_path"), Some(cwd)) if !cwd.is_empty() => {
            let base = format!("{}/", cwd.trim_end_matches('/'));
            match subject.strip_prefix(&base) {
                Some(rel)
                    if !rel.is_empty() && rel.split('/').all(|c| !matches!(c, "" | "." | "..")) =>
                {
                    rel.to_string()
                }
                _ => subject,
            }
        }
        _ => subject,
    };
    let mut dialog = vec![format!("{tool} (from the agent's hook: exact)")];
    if let Some(d) = str_field(input, "description") {
        dialog.push(format!("description: {d}"));
    }
    dialog.extend(subject.lines().map(str::to_string));
    for k in ["content", "old_string", "new_string", "prompt"] {
        if let Some(text) = str_field(input, k) {
            dialog.push(format!("{k}:"));
            dialog.extend(text.lines().map(|l| format!("  {l}")));
        }
    }
    if dialog.len() > MAX_DETAIL_ROWS {
        let more = dialog.len() - MAX_DETAIL_ROWS;
        dialog.truncate(MAX_DETAIL_ROWS);
        dialog.push(format!("… {more} more rows"));
    }
    let question = match tool.as_str() {
        "Bash" => "Run this command?".to_string(),
        "Write" => "Create this file?".to_string(),
        "Edit" | "MultiEdit" => "Make this edit?".to_string(),
        _ => format!("Allow {tool}?"),
    };
    Ok(HookCall {
        tool,
        subject,
        question,
        dialog,
    })
}

/// What the hook prints for a decision: `None` prints nothing (the dialog
/// stays for the person).
pub fn render(
    protocol: HookProtocol,
    decision: Option<HookDecision>,
    message: Option<&str>,
) -> Option<String> {
    let decision = decision?;
    match protocol {
        HookProtocol::ClaudePermissionRequest | HookProtocol::CodexPermissionRequest => {
            let mut d = serde_json::json!({
                "behavior": match decision {
                    HookDecision::Allow => "allow",
                    HookDecision::Deny => "deny",
                }
            });
            if let (HookDecision::Deny, Some(m)) = (decision, message) {
                d["message"] = Value::String(m.to_string());
            }
            Some(
                serde_json::json!({
                    "hookSpecificOutput": {
                        "hookEventName": "PermissionRequest",
                        "decision": d,
                    }
                })
                .to_string(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const P: HookProtocol = HookProtocol::ClaudePermissionRequest;

    #[test]
    fn bash_request_gives_the_whole_command() {
        let cmd = "echo ok && rm -rf ./canary\necho two";
        let ev = json!({
            "hook_event_name": "PermissionRequest",
            "tool_name": "Bash",
            "tool_input": {"command": cmd, "description": "Bash command\n────\n$ echo hello"},
        });
        let c = parse(P, &ev).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((c.tool.as_str(), c.subject.as_str()), ("Bash", cmd));
        // The description is shown, never taken for the subject.
        assert!(c.dialog.iter().any(|r| r.starts_with("description: ")));
    }

    #[test]
    fn files_inside_the_working_directory_are_relative() {
        let ev = |path: &str| {
            json!({
                "hook_event_name": "PermissionRequest",
                "cwd": "/w/proj",
                "tool_name": "Write",
                "tool_input": {"file_path": path, "content": "x"},
            })
        };
        let subject = |path: &str| parse(P, &ev(path)).map(|c| c.subject);
        assert_eq!(subject("/w/proj/src/a.rs"), Ok("src/a.rs".into()));
        assert_eq!(subject("/w/proj/../etc/x"), Ok("/w/proj/../etc/x".into()));
        assert_eq!(subject("/w/projx/a"), Ok("/w/projx/a".into()));
        assert_eq!(subject("/etc/passwd"), Ok("/etc/passwd".into()));
    }

    #[test]
    fn a_search_names_where_it_searches() {
        let ev = json!({
            "hook_event_name": "PermissionRequest",
            "tool_name": "Grep",
            "tool_input": {"pattern": "TODO", "path": "/"},
        });
        assert_eq!(parse(P, &ev).map(|c| c.subject), Ok("TODO in /".into()));
    }

    #[test]
    fn missing_fields_and_other_events_are_errors() {
        let no_cmd =
            json!({"hook_event_name": "PermissionRequest", "tool_name": "Bash", "tool_input": {}});
        assert_eq!(
            parse(P, &no_cmd),
            Err(HookInputError::Missing("tool_input.command"))
        );
        let pre = json!({"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": "ls"}});
        assert!(matches!(parse(P, &pre), Err(HookInputError::WrongEvent(_))));
        let no_input = json!({"hook_event_name": "PermissionRequest", "tool_name": "Bash"});
        assert!(parse(P, &no_input).is_err());
        let unknown = json!({"hook_event_name": "PermissionRequest", "tool_name": "mcp__x__y", "tool_input": {"a": 1}});
        assert_eq!(
            parse(P, &unknown).map(|c| c.subject),
            Ok("{\"a\":1}".to_string())
        );
    }

    #[test]
    fn decisions_render_as_claude_reads_them() {
        assert_eq!(render(P, None, None), None);
        let allow = render(P, Some(HookDecision::Allow), Some("x")).unwrap_or_default();
        let v: Value = serde_json::from_str(&allow).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            v["hookSpecificOutput"]["decision"],
            json!({"behavior": "allow"})
        );
        let deny = render(P, Some(HookDecision::Deny), Some("no")).unwrap_or_default();
        let v: Value = serde_json::from_str(&deny).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            v["hookSpecificOutput"]["decision"],
            json!({"behavior": "deny", "message": "no"})
        );
        assert_eq!(
            v["hookSpecificOutput"]["hookEventName"],
            "PermissionRequest"
        );
    }
}
