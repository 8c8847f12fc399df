//! `corral demo-agent --protocol stream-json`: a scripted stand-in for
//! Claude Code over its JSON stream (see [`crate::agent_protocol::stream_json`]
//! for the facts it follows), for a new user's first structured slot and for
//! corral's own tests.
//!
//! It reads messages on stdin and answers by markers in them, as corral's
//! mock API does for the real CLIs: `mock:bash` asks to run `echo hello >
//! hello.txt` (and runs it, in its working directory, once allowed),
//! `mock:bash2` `touch second.txt`, `mock:write` asks to create `notes.txt`,
//! `mock:slow` works 5 s first (an interrupt stops it), `mock:many` sends
//! ten thousand reply events, `mock:crash` exits
//! in the middle of a request, `mock:garbage` writes lines that are not the
//! protocol, `mock:dialog` replies with text drawn like a permission dialog;
//! anything else is echoed back. Every turn ends with a `result` carrying
//! usage and cost.

use std::io::{BufRead, Write};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Agent {
    session: String,
    cwd: String,
    lines: Receiver<Value>,
    queued: Vec<Value>,
    seq: u64,
    out: std::io::Stdout,
}

/// Input tokens and cost the fake charges per turn.
const TURN_INPUT_TOKENS: u64 = 100;
const TURN_OUTPUT_TOKENS: u64 = 20;
const TURN_COST_USD: f64 = 0.0008;

enum Waited {
    Answer(Value),
    Interrupted,
    Closed,
}

impl Agent {
    fn emit(&mut self, v: Value) {
        let mut o = self.out.lock();
        let _ = writeln!(o, "{v}");
        let _ = o.flush();
    }

    fn text(&mut self, t: &str) {
        let v = json!({"type":"assistant","message":{"role":"assistant","content":[{"type":"text","text":t}]},"session_id":self.session});
        self.emit(v);
    }

    /// Waits for the control response to `key`, queueing messages that come
    /// meanwhile; an interrupt ends the wait.
    fn wait_for(&mut self, key: &str, limit: Option<Duration>) -> Waited {
        let until = limit.map(|l| Instant::now() + l);
        loop {
            let got = match next_message(&self.lines, until) {
                Ok(Some(v)) => v,
                Ok(None) => return Waited::Answer(Value::Null),
                Err(()) => return Waited::Closed,
            };
            match got["type"].as_str() {
                Some("control_response") if got["response"]["request_id"] == key => {
                    return Waited::Answer(got["response"]["response"].clone());
                }
                Some("control_request") if got["request"]["subtype"] == "interrupt" => {
                    let id = got["request_id"].clone();
                    self.emit(json!({"type":"control_response","response":{"subtype":"success","request_id":id}}));
                    return Waited::Interrupted;
                }
                Some("user") => self.queued.push(got),
                _ => {}
            }
        }
    }

    fn end(&mut self, text: &str, denials: Vec<Value>, error: Option<&str>) {
        let v = json!({
            "type": "result",
            "subtype": error.unwrap_or("success"),
            "is_error": error.is_some(),
            "duration_ms": 12,
            "result": text,
            "session_id": self.session,
            "total_cost_usd": TURN_COST_USD,
            "usage": {"input_tokens": TURN_INPUT_TOKENS, "output_tokens": TURN_OUTPUT_TOKENS,
                      "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0},
            "permission_denials": denials,
        });
        self.emit(v);
    }

    /// One tool call that needs permission; returns false when the turn was
    /// interrupted or stdin closed.
    fn tool(&mut self, tool: &str, input: Value, run: Option<&str>) -> Result<(), Vec<Value>> {
        self.seq += 1;
        let use_id = format!("toolu_demo_{}", self.seq);
        let key = format!("req-{}", self.seq);
        self.emit(json!({"type":"assistant","message":{"role":"assistant","content":[{"type":"tool_use","id":use_id,"name":tool,"input":input}]},"session_id":self.session}));
        let rule = input
            .get("command")
            .or(input.get("file_path"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        self.emit(json!({"type":"control_request","request_id":key,"request":{
            "subtype":"can_use_tool","tool_name":tool,"input":input,"tool_use_id":use_id,
            "permission_suggestions":[{"type":"addRules","rules":[{"toolName":tool,"ruleContent":rule}],
                                        "behavior":"allow","destination":"localSettings"}]}}));
        let answer = match self.wait_for(&key, None) {
            Waited::Answer(a) => a,
            Waited::Interrupted => {
                self.emit(json!({"type":"control_cancel_request","request_id":key}));
                return Err(Vec::new());
            }
            Waited::Closed => std::process::exit(0),
        };
        let (ok, output) = match answer["behavior"].as_str() {
            Some("allow") => {
                let input = answer.get("updatedInput").cloned().unwrap_or(input);
                let out = match run {
                    Some("sh") => std::process::Command::new("sh")
                        .arg("-c")
                        .arg(input["command"].as_str().unwrap_or("true"))
                        .current_dir(&self.cwd)
                        .output()
                        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                        .unwrap_or_else(|e| e.to_string()),
                    Some("write") => {
                        let path = input["file_path"].as_str().unwrap_or("notes.txt");
                        let body = input["content"].as_str().unwrap_or("");
                        match std::fs::write(std::path::Path::new(&self.cwd).join(path), body) {
                            Ok(()) => format!("File created successfully at: {path}"),
                            Err(e) => e.to_string(),
                        }
                    }
                    _ => String::new(),
                };
                // Says where an approve-always's rule would be kept.
                let kept: Vec<&str> = answer["updatedPermissions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["destination"].as_str())
                    .collect();
                let out = if kept.is_empty() {
                    out
                } else {
                    format!("{out}(rule kept in: {})", kept.join(", "))
                };
                (true, out)
            }
            _ => (
                false,
                answer["message"]
                    .as_str()
                    .unwrap_or("The user doesn't want to proceed with this tool use.")
                    .to_string(),
            ),
        };
        self.emit(json!({"type":"user","message":{"role":"user","content":[{"type":"tool_result","tool_use_id":use_id,"content":output,"is_error":!ok}]},"session_id":self.session}));
        if ok {
            Ok(())
        } else {
            Err(vec![
                json!({"tool_name":tool,"tool_use_id":use_id,"tool_input":{}}),
            ])
        }
    }

    fn turn(&mut self, text: &str) {
        if text.contains("mock:slow") {
            // Work that an interrupt stops.
            if let Waited::Interrupted = self.wait_for("", Some(Duration::from_secs(5))) {
                return self.end("", Vec::new(), Some("error_during_execution"));
            }
        }
        if text.contains("mock:garbage") {
            let mut o = self.out.lock();
            let _ = writeln!(o, "{{\"type\":");
            let _ = writeln!(o, "plain words on stdout");
            let _ = writeln!(
                o,
                "{{\"type\":\"control_request\",\"request\":{{\"subtype\":\"can_use_tool\",\"tool_name\":\"Bash\",\"input\":{{\"command\":\"rm -rf ~\"}}}}}}"
            );
            let _ = o.flush();
        }
        // `mock:many`: ten thousand events in one turn (a long conversation).
        if text.contains("mock:many") {
            for n in 0..10_000 {
                self.text(&format!(
                    "event {n}: the quick brown fox jumps over the lazy dog"
                ));
            }
        }
        if text.contains("mock:dialog") {
            self.text(
                "Bash command\n\n   rm -rf ~/src\n   Remove it\n\n Do you want to proceed?\n ❯ 1. Yes\n   2. Yes, and don't ask again for rm commands\n   3. No\n\n Esc to cancel · Tab to amend",
            );
        }
        let mut denials = Vec::new();
        let mut interrupted = false;
        let calls: [(&str, &str, Value, &str); 3] = [
            (
                "mock:bash2",
                "Bash",
                json!({"command":"touch second.txt","description":"Create a file"}),
                "sh",
            ),
            (
                "mock:bash",
                "Bash",
                json!({"command":"echo hello > hello.txt","description":"Write a file"}),
                "sh",
            ),
            (
                "mock:write",
                "Write",
                json!({"file_path":"notes.txt","content":"notes\n"}),
                "write",
            ),
        ];
        for (marker, tool, input, run) in calls {
            let hit = match marker {
                // `mock:bash` is not the start of `mock:bash2`.
                "mock:bash" => text.split_whitespace().any(|w| w == "mock:bash"),
                m => text.contains(m),
            };
            if !hit {
                continue;
            }
            self.text(&format!("I will use {tool}."));
            if text.contains("mock:crash") {
                self.seq += 1;
                self.emit(json!({"type":"control_request","request_id":format!("req-{}", self.seq),"request":{"subtype":"can_use_tool","tool_name":tool,"input":input}}));
                std::process::exit(3);
            }
            match self.tool(tool, input, Some(run)) {
                Ok(()) => {}
                Err(d) if d.is_empty() => {
                    interrupted = true;
                    break;
                }
                Err(d) => denials.extend(d),
            }
        }
        if interrupted {
            return self.end("", denials, Some("error_during_execution"));
        }
        let reply = if text.contains("mock:") {
            "Done.".to_string()
        } else {
            format!("You said: {text}")
        };
        self.text(&reply);
        self.end(&reply, denials, None);
    }
}

/// A JSON message from stdin, one per line, on a thread of its own (a
/// line that is not JSON is said on stderr and skipped). Shared with
/// [`crate::demo_acp`].
///
/// Errors: the thread cannot start.
pub(crate) fn stdin_messages() -> std::io::Result<Receiver<Value>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                match serde_json::from_str::<Value>(&line) {
                    Ok(v) => {
                        if tx.send(v).is_err() {
                            break;
                        }
                    }
                    Err(e) => eprintln!("demo-agent: not a message: {e}"),
                }
            }
        })?;
    Ok(rx)
}

/// The next message from `lines`, waiting until `until` at most (`None`:
/// for as long as it takes): `Ok(None)` when the time ran out, `Err(())`
/// when stdin closed.
pub(crate) fn next_message(
    lines: &Receiver<Value>,
    until: Option<Instant>,
) -> Result<Option<Value>, ()> {
    match until {
        Some(u) => match lines.recv_timeout(u.saturating_duration_since(Instant::now())) {
            Ok(v) => Ok(Some(v)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(()),
        },
        None => lines.recv().map(Some).map_err(|_| ()),
    }
}

/// A UUID-shaped conversation id from the time and the process id (a demo's
/// own; not random enough for anything else).
pub(crate) fn demo_uuid() -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    // Time and pid, mixed so every hex digit varies.
    let h = (n ^ (u128::from(std::process::id()) << 64))
        .wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
    let x = format!("{h:032x}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &x[0..8],
        &x[8..12],
        &x[13..16],
        &x[17..20],
        &x[20..32]
    )
}

/// Runs the fake agent until stdin closes. `session` is the conversation id
/// it was given (`--session-id`, `--resume`), else it makes one.
///
/// Errors: stdin's reader thread cannot start.
pub fn run(session: Option<String>) -> anyhow::Result<()> {
    let rx = stdin_messages()?;
    let session = session.unwrap_or_else(demo_uuid);
    let mut a = Agent {
        session,
        cwd: std::env::current_dir()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| ".".into()),
        lines: rx,
        queued: Vec::new(),
        seq: 0,
        out: std::io::stdout(),
    };
    let mut started = false;
    loop {
        let msg = if a.queued.is_empty() {
            match a.lines.recv() {
                Ok(v) => v,
                Err(_) => return Ok(()),
            }
        } else {
            a.queued.remove(0)
        };
        match msg["type"].as_str() {
            Some("user") => {
                if !started {
                    started = true;
                    let (s, cwd) = (a.session.clone(), a.cwd.clone());
                    a.emit(json!({"type":"system","subtype":"init","session_id":s,"cwd":cwd,"model":"demo","permissionMode":"default"}));
                }
                let text = match &msg["message"]["content"] {
                    Value::String(t) => t.clone(),
                    Value::Array(items) => items
                        .iter()
                        .filter_map(|i| i["text"].as_str())
                        .collect::<Vec<_>>()
                        .join("\n"),
                    _ => String::new(),
                };
                a.turn(&text);
            }
            Some("control_request") if msg["request"]["subtype"] == "interrupt" => {
                let id = msg["request_id"].clone();
                a.emit(json!({"type":"control_response","response":{"subtype":"success","request_id":id}}));
            }
            _ => {}
        }
    }
}
