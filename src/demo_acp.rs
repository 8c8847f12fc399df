//! `corral demo-agent --protocol acp`: a scripted stand-in for an agent that
//! speaks the Agent Client Protocol as Gemini CLI 0.61.0 does (see
//! [`crate::agent_protocol::acp`] for the facts it follows), for corral's
//! own tests and a first ACP slot with nothing installed.
//!
//! It answers `session/prompt` by markers in the text, as
//! [`crate::demo_stream`] does: `mock:bash` asks to run `echo hello >
//! hello.txt` (titled with the command, kind `execute`, no `rawInput`) and
//! runs it once allowed, `mock:write` asks to create `notes.txt` (a `diff`),
//! `mock:fetch` asks with a title that is a description, `mock:slow` works
//! 5 s first (`session/cancel` stops it), `mock:crash` exits with a request
//! open, `mock:garbage` writes lines that are not JSON-RPC. Turns end with
//! token counts in `_meta`, as Gemini CLI's do.

use std::io::Write;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::demo_stream::{demo_uuid, next_message, stdin_messages};

struct Agent {
    lines: Receiver<Value>,
    queued: Vec<Value>,
    next: u64,
    session: String,
    cwd: String,
}

enum Reply {
    Got(Value),
    Cancelled,
    Closed,
}

fn emit(v: &Value) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{v}");
    let _ = o.flush();
}

impl Agent {
    fn update(&self, u: Value) {
        emit(
            &json!({"jsonrpc":"2.0","method":"session/update","params":{"sessionId":self.session,"update":u}}),
        );
    }

    fn say(&self, text: &str) {
        self.update(
            json!({"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":text}}),
        );
    }

    /// Waits for the response to request `id` (or, with a `limit`, for that
    /// long); a `session/cancel` ends the wait. Other messages wait their
    /// turn.
    fn wait(&mut self, id: Option<u64>, limit: Option<Duration>) -> Reply {
        let until = limit.map(|l| Instant::now() + l);
        loop {
            let got = match next_message(&self.lines, until) {
                Ok(Some(v)) => v,
                Ok(None) => return Reply::Got(Value::Null),
                Err(()) => return Reply::Closed,
            };
            if got["method"] == "session/cancel" {
                return Reply::Cancelled;
            }
            if got.get("method").is_none() && id.is_some_and(|i| got["id"] == i) {
                return Reply::Got(got);
            }
            if got.get("method").is_some() {
                self.queued.push(got);
            }
        }
    }

    /// One tool call that needs permission: false when the turn was
    /// cancelled.
    fn tool(&mut self, kind: &str, title: &str, content: Value, run: &str) -> bool {
        self.next += 1;
        let id = self.next;
        let call = format!("{kind}-{id}");
        emit(
            &json!({"jsonrpc":"2.0","id":id,"method":"session/request_permission","params":{
            "sessionId": self.session,
            "options": [
                {"optionId":"proceed_always","name":"Always Allow","kind":"allow_always"},
                {"optionId":"proceed_once","name":"Allow","kind":"allow_once"},
                {"optionId":"cancel","name":"Reject","kind":"reject_once"}],
            "toolCall": {"toolCallId": call, "status":"pending", "title": title,
                         "content": content, "locations": [], "kind": kind}}}),
        );
        let answer = match self.wait(Some(id), None) {
            Reply::Got(v) => v,
            Reply::Cancelled => {
                // The client answers the request `cancelled` too.
                let _ = self.wait(Some(id), Some(Duration::from_secs(2)));
                return false;
            }
            Reply::Closed => std::process::exit(0),
        };
        let chosen = answer
            .pointer("/result/outcome/optionId")
            .and_then(Value::as_str)
            .unwrap_or("cancel");
        if answer.pointer("/result/outcome/outcome") == Some(&json!("cancelled")) {
            return false;
        }
        let (status, text) = if chosen.starts_with("proceed") {
            let out = match run {
                "sh" => std::process::Command::new("sh")
                    .arg("-c")
                    .arg(title)
                    .current_dir(&self.cwd)
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                    .unwrap_or_else(|e| e.to_string()),
                "write" => {
                    match std::fs::write(
                        std::path::Path::new(&self.cwd).join("notes.txt"),
                        "notes\n",
                    ) {
                        Ok(()) => "Wrote notes.txt".into(),
                        Err(e) => e.to_string(),
                    }
                }
                _ => "fetched".into(),
            };
            ("completed", format!("{out}(option {chosen})"))
        } else {
            (
                "failed",
                format!("Tool \"{kind}\" was canceled by the user."),
            )
        };
        self.update(json!({"sessionUpdate":"tool_call_update","toolCallId":call,"status":status,
            "title":title,"kind":kind,"content":[{"type":"content","content":{"type":"text","text":text}}]}));
        true
    }

    fn turn(&mut self, id: &Value, text: &str) {
        let end = |stop: &str| {
            emit(&json!({"jsonrpc":"2.0","id":id,"result":{"stopReason":stop,
                "_meta":{"quota":{"token_count":{"input_tokens":120,"output_tokens":30}}}}}));
        };
        if text.contains("mock:garbage") {
            let mut o = std::io::stdout().lock();
            let _ = writeln!(o, "{{\"jsonrpc\":");
            let _ = writeln!(o, "plain words on stdout");
            let _ = writeln!(
                o,
                "{{\"jsonrpc\":\"2.0\",\"id\":77,\"method\":\"session/request_permission\",\"params\":{{\"options\":[]}}}}"
            );
            let _ = o.flush();
        }
        if text.contains("mock:slow")
            && let Reply::Cancelled = self.wait(None, Some(Duration::from_secs(5)))
        {
            return end("cancelled");
        }
        let cwd = self.cwd.clone();
        let calls = [
            (
                "mock:bash",
                "execute",
                "echo hello > hello.txt".to_string(),
                json!([{"type":"content","content":{"type":"text","text":format!("[current working directory {cwd}] (Write hello.txt)")}}]),
                "sh",
            ),
            (
                "mock:write",
                "edit",
                "Writing to notes.txt".to_string(),
                json!([{"type":"diff","path":format!("{cwd}/notes.txt"),"oldText":null,"newText":"notes\n","_meta":{"kind":"add"}}]),
                "write",
            ),
            (
                "mock:fetch",
                "fetch",
                "Fetching https://example.com/…".to_string(),
                json!([]),
                "fetch",
            ),
        ];
        for (marker, kind, title, content, run) in calls {
            if !text.contains(marker) {
                continue;
            }
            self.say(&format!("I will use {kind}. "));
            if text.contains("mock:crash") {
                self.next += 1;
                emit(
                    &json!({"jsonrpc":"2.0","id":self.next,"method":"session/request_permission","params":{
                    "sessionId":self.session,"options":[{"optionId":"proceed_once","name":"Allow","kind":"allow_once"}],
                    "toolCall":{"toolCallId":"c","title":title,"kind":kind}}}),
                );
                std::process::exit(3);
            }
            if !self.tool(kind, &title, content, run) {
                return end("cancelled");
            }
        }
        if text.contains("mock:") {
            self.say("Done.");
        } else {
            self.say("You said: ");
            self.say(text);
        }
        end("end_turn");
    }
}

/// Runs the fake ACP agent until stdin closes.
///
/// Errors: stdin's reader thread cannot start.
pub fn run() -> anyhow::Result<()> {
    let rx = stdin_messages()?;
    let mut a = Agent {
        lines: rx,
        queued: Vec::new(),
        next: 0,
        session: String::new(),
        cwd: std::env::current_dir()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| ".".into()),
    };
    loop {
        let msg = if a.queued.is_empty() {
            match a.lines.recv() {
                Ok(v) => v,
                Err(_) => return Ok(()),
            }
        } else {
            a.queued.remove(0)
        };
        let id = msg["id"].clone();
        match msg["method"].as_str() {
            Some("initialize") => emit(&json!({"jsonrpc":"2.0","id":id,"result":{
                "protocolVersion":1,"agentCapabilities":{"loadSession":true}}})),
            Some("session/new") => {
                a.session = demo_uuid();
                emit(&json!({"jsonrpc":"2.0","id":id,"result":{"sessionId":a.session}}));
            }
            Some("session/load") => {
                a.session = msg["params"]["sessionId"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                emit(&json!({"jsonrpc":"2.0","id":id,"result":null}));
            }
            Some("session/prompt") => {
                let text: String = msg["params"]["prompt"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|b| b["text"].as_str())
                    .collect();
                a.turn(&id, &text);
            }
            Some(m) if !id.is_null() => emit(&json!({"jsonrpc":"2.0","id":id,
                "error":{"code":-32601,"message":format!("no method {m}")}})),
            _ => {}
        }
    }
}
