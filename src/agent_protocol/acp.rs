//! The Agent Client Protocol (JSON-RPC 2.0 over stdio, one message per
//! line), corral as the client, as Gemini CLI 0.61.0 speaks it with
//! `--acp` (tried against corral's mock Gemini API, 2026-12-07):
//!
//! - corral sends `initialize` (protocol version 1, no file-system or
//!   terminal capabilities: corral offers none), then `session/new` with the
//!   working directory, or `session/load` to resume a conversation when the
//!   agent says it can (`agentCapabilities.loadSession`);
//! - a message is a `session/prompt` request, whose response (`stopReason`)
//!   ends the turn; the agent reports the turn as `session/update`
//!   notifications (`agent_message_chunk`, `tool_call`, `tool_call_update`,
//!   `plan`);
//! - the agent asks with a `session/request_permission` request (`toolCall`
//!   with `title`, `kind`, `content`, `locations`, maybe `rawInput`, and
//!   `options`, each with an `optionId` and a `kind`: `allow_once`,
//!   `allow_always`, `reject_once`, `reject_always`), answered with
//!   `{"outcome":{"outcome":"selected","optionId":…}}`, or
//!   `{"outcome":"cancelled"}` after a `session/cancel`;
//! - any other request from the agent (file system, terminals) gets a
//!   method-not-found error: corral did not offer them.
//!
//! What a request is about: Gemini CLI 0.61.0 titles a shell call with the
//! whole command (`ShellToolInvocation.getDisplayTitle` returns
//! `params.command`), sends no `rawInput`, and says where it runs as the
//! first words of its text content (`getContextualDetails`: `[current
//! working directory DIR]`, or `[in DIR]` when the model chose another
//! directory); a file edit carries a `diff` with the file's absolute
//! `path`. A title counts as the command only for an agent whose profile
//! says so (`execute_title_is_command`), and only for a call that runs in
//! the slot's own directory. Other titles are descriptions, possibly
//! shortened: such a request is not exact, and no rule answers it.

use serde_json::{Value, json};

use super::{AgentMsg, Outgoing, PermissionAsk, SendError, TurnResult, Usage};
use crate::model::{Answer, AnswerKind};

/// The ACP protocol version corral speaks.
pub const PROTOCOL_VERSION: u64 = 1;

/// What an ACP request corral sent was.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sent {
    Initialize,
    NewSession,
    LoadSession(String),
    Prompt,
}

/// The client side of one ACP connection: its requests in flight, the
/// session, text being streamed, and messages waiting for the turn to end.
#[derive(Debug, Default)]
pub struct Client {
    next_id: u64,
    sent: Vec<(u64, Sent)>,
    session: Option<String>,
    cwd: String,
    resume: Option<String>,
    /// Reply text streamed in chunks, drawn when something else comes.
    text: String,
    /// A turn runs (a `session/prompt` is in flight).
    in_turn: bool,
    /// Messages sent while a turn ran (ACP takes one prompt at a time).
    queued: Vec<String>,
    /// Permission requests waiting, by their JSON-RPC id (as JSON text).
    asking: Vec<String>,
    /// Usage reported in the turn.
    usage: Usage,
    /// The turn was cancelled by corral.
    cancelled: bool,
    /// Tools whose request was answered with a reject, this turn.
    denials: Vec<String>,
    /// The agent's shell calls are titled with their whole command (its
    /// profile says so: Gemini CLI 0.61.0).
    title_is_command: bool,
}

fn line(v: &Value) -> Vec<u8> {
    let mut l = v.to_string().into_bytes();
    l.push(b'\n');
    l
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

/// The kind of answer an ACP option's `kind` is.
fn option_kind(kind: &str) -> Option<AnswerKind> {
    match kind {
        "allow_once" => Some(AnswerKind::ApproveOnce),
        "allow_always" => Some(AnswerKind::ApproveAlways),
        "reject_once" | "reject_always" => Some(AnswerKind::Deny),
        _ => None,
    }
}

impl Client {
    /// A client for an agent working in `cwd` (an absolute path), resuming
    /// conversation `resume` when the agent can load one.
    pub fn new(cwd: &str, resume: Option<String>) -> Client {
        Client {
            next_id: 1,
            cwd: cwd.to_string(),
            resume,
            ..Client::default()
        }
    }

    /// The agent titles its shell calls with their whole command
    /// (`execute_title_is_command` in its profile's `[transport.acp]`).
    pub fn titles_are_commands(mut self, yes: bool) -> Client {
        self.title_is_command = yes;
        self
    }

    fn request(&mut self, method: &str, params: Value, what: Sent) -> Vec<u8> {
        let id = self.next_id;
        self.next_id += 1;
        self.sent.push((id, what));
        line(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
    }

    /// The lines that open the connection (`initialize`).
    pub fn start(&mut self) -> Vec<Vec<u8>> {
        let params = json!({
            "protocolVersion": PROTOCOL_VERSION,
            "clientCapabilities": {"fs": {"readTextFile": false, "writeTextFile": false}, "terminal": false},
        });
        vec![self.request("initialize", params, Sent::Initialize)]
    }

    /// The conversation's id, once the agent gave one.
    pub fn session(&self) -> Option<&str> {
        self.session.as_deref()
    }

    fn flush_text(&mut self, out: &mut Vec<AgentMsg>) {
        let t = std::mem::take(&mut self.text);
        if !t.trim().is_empty() {
            out.push(AgentMsg::Text(t));
        }
    }

    fn prompt(&mut self, text: &str) -> Vec<u8> {
        self.in_turn = true;
        self.cancelled = false;
        self.usage = Usage::default();
        self.denials.clear();
        let params = json!({
            "sessionId": self.session,
            "prompt": [{"type": "text", "text": text}],
        });
        self.request("session/prompt", params, Sent::Prompt)
    }

    /// Reads one message from the agent: what it says, and the lines corral
    /// sends in reply (the next step of the opening, an error for a request
    /// corral does not serve, a queued message after a turn).
    ///
    /// Errors: not a JSON-RPC message corral can read (nothing is decided
    /// on it).
    pub fn read(&mut self, v: &Value) -> Result<(Vec<AgentMsg>, Vec<Vec<u8>>), String> {
        let mut out = Vec::new();
        let mut reply = Vec::new();
        let method = v.get("method").and_then(Value::as_str);
        let id = v
            .get("id")
            .filter(|i| i.is_u64() || i.is_string() || i.is_i64());
        match (method, id) {
            // A response to one of corral's requests.
            (None, Some(id)) => {
                let Some(at) = self.sent.iter().position(|(n, _)| id.as_u64() == Some(*n)) else {
                    return Err(format!("a response to no request of corral's ({id})"));
                };
                let (_, what) = self.sent.remove(at);
                if let Some(e) = v.get("error") {
                    let why = e
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("an error")
                        .to_string();
                    match what {
                        Sent::LoadSession(_) => {
                            out.push(AgentMsg::Notice(format!(
                                "the conversation could not be loaded ({why}): a new one"
                            )));
                            let params = json!({"cwd": self.cwd, "mcpServers": []});
                            reply.push(self.request("session/new", params, Sent::NewSession));
                        }
                        Sent::Prompt => {
                            self.flush_text(&mut out);
                            self.in_turn = false;
                            out.push(AgentMsg::TurnEnded(TurnResult {
                                session_id: self.session.clone(),
                                error: Some(why),
                                usage: self.usage,
                                denials: std::mem::take(&mut self.denials),
                                ..TurnResult::default()
                            }));
                            reply.extend(self.next_queued());
                        }
                        Sent::Initialize | Sent::NewSession => {
                            return Err(format!("the agent refused to start a session: {why}"));
                        }
                    }
                    return Ok((out, reply));
                }
                let result = v.get("result").cloned().unwrap_or(Value::Null);
                match what {
                    Sent::Initialize => {
                        let can_load = result
                            .pointer("/agentCapabilities/loadSession")
                            .and_then(Value::as_bool)
                            == Some(true);
                        match self.resume.clone() {
                            Some(id) if can_load => {
                                let params =
                                    json!({"sessionId": id, "cwd": self.cwd, "mcpServers": []});
                                reply.push(self.request(
                                    "session/load",
                                    params,
                                    Sent::LoadSession(id),
                                ));
                            }
                            _ => {
                                let params = json!({"cwd": self.cwd, "mcpServers": []});
                                reply.push(self.request("session/new", params, Sent::NewSession));
                            }
                        }
                    }
                    Sent::NewSession | Sent::LoadSession(_) => {
                        let id = match what {
                            Sent::LoadSession(id) => Some(id),
                            _ => s(&result, "sessionId"),
                        };
                        let Some(id) = id else {
                            return Err("session/new gave no sessionId".into());
                        };
                        self.session = Some(id.clone());
                        out.push(AgentMsg::Session { id, model: None });
                        reply.extend(self.next_queued());
                    }
                    Sent::Prompt => {
                        self.flush_text(&mut out);
                        self.in_turn = false;
                        // A request still open when its turn ended is over.
                        self.asking.clear();
                        let stop = s(&result, "stopReason").unwrap_or_else(|| "end_turn".into());
                        self.add_usage(result.get("_meta"));
                        self.add_usage(result.get("usage"));
                        out.push(AgentMsg::TurnEnded(TurnResult {
                            text: String::new(),
                            session_id: self.session.clone(),
                            duration_ms: None,
                            cost_usd: None,
                            usage: self.usage,
                            denials: std::mem::take(&mut self.denials),
                            error: (stop != "end_turn").then_some(stop),
                        }));
                        reply.extend(self.next_queued());
                    }
                }
            }
            (Some("session/update"), None) => {
                let u = v.pointer("/params/update").unwrap_or(&Value::Null);
                self.update(u, &mut out);
            }
            (Some("session/request_permission"), Some(id)) => {
                self.flush_text(&mut out);
                let p = v.get("params").unwrap_or(&Value::Null);
                out.push(AgentMsg::Permission(self.ask(id, p)?));
            }
            // Requests corral offered no capability for.
            (Some(m), Some(id)) => {
                reply.push(line(&json!({
                    "jsonrpc": "2.0",
                    "id": id,
                    "error": {"code": -32601, "message": format!("corral does not serve {m}")},
                })));
            }
            (Some(_), None) => {}
            (None, None) => return Err("neither a request, a response nor a notification".into()),
        }
        Ok((out, reply))
    }

    fn next_queued(&mut self) -> Vec<Vec<u8>> {
        if self.in_turn || self.session.is_none() || self.queued.is_empty() {
            return Vec::new();
        }
        let text = self.queued.remove(0);
        vec![self.prompt(&text)]
    }

    fn add_usage(&mut self, meta: Option<&Value>) {
        let Some(m) = meta else { return };
        // Gemini CLI 0.61.0 puts the turn's token counts in `_meta`
        // (`quota.token_count`: `input_tokens`, `output_tokens`); other
        // agents use the same names at the top.
        let find = |k: &str| {
            m.pointer(&format!("/quota/token_count/{k}"))
                .or_else(|| m.get(k))
                .and_then(Value::as_u64)
        };
        if let Some(n) = find("input_tokens").or_else(|| find("inputTokens")) {
            self.usage.input_tokens = self.usage.input_tokens.max(n);
        }
        if let Some(n) = find("output_tokens").or_else(|| find("outputTokens")) {
            self.usage.output_tokens = self.usage.output_tokens.max(n);
        }
    }

    fn update(&mut self, u: &Value, out: &mut Vec<AgentMsg>) {
        match u.get("sessionUpdate").and_then(Value::as_str) {
            Some("agent_message_chunk") => {
                if let Some(t) = u.pointer("/content/text").and_then(Value::as_str) {
                    // Bounded: a runaway stream is drawn in parts.
                    self.text.push_str(t);
                    if self.text.len() > 64 << 10 {
                        self.flush_text(out);
                    }
                }
            }
            Some("tool_call") => {
                self.flush_text(out);
                let title = s(u, "title").unwrap_or_default();
                out.push(AgentMsg::ToolCall {
                    id: s(u, "toolCallId").unwrap_or_default(),
                    tool: s(u, "kind").unwrap_or_else(|| "tool".into()),
                    input: u
                        .get("rawInput")
                        .cloned()
                        .unwrap_or(json!({"title": title})),
                });
            }
            Some("tool_call_update") => {
                let status = s(u, "status").unwrap_or_default();
                if status == "completed" || status == "failed" {
                    self.flush_text(out);
                    let text = u
                        .get("content")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|c| c.pointer("/content/text").and_then(Value::as_str))
                        .collect::<Vec<_>>()
                        .join("\n");
                    out.push(AgentMsg::ToolResult {
                        id: s(u, "toolCallId").unwrap_or_default(),
                        is_error: status == "failed",
                        text,
                    });
                }
            }
            Some("plan") => {
                self.flush_text(out);
                let entries: Vec<String> = u
                    .get("entries")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|e| {
                        let mark = match e.get("status").and_then(Value::as_str) {
                            Some("completed") => "☒",
                            Some("in_progress") => "◐",
                            _ => "☐",
                        };
                        format!("{mark} {}", s(e, "content").unwrap_or_default())
                    })
                    .collect();
                if !entries.is_empty() {
                    out.push(AgentMsg::Notice(format!("plan:\n{}", entries.join("\n"))));
                }
            }
            _ => {}
        }
    }

    /// A permission request: what it asks about, read from the protocol's
    /// own fields (see the module's notes on what is exact).
    fn ask(&mut self, id: &Value, p: &Value) -> Result<PermissionAsk, String> {
        let call = p
            .get("toolCall")
            .ok_or("a permission request without toolCall")?;
        let options = p
            .get("options")
            .and_then(Value::as_array)
            .ok_or("a permission request without options")?;
        let mut opts = Vec::new();
        for o in options {
            let (Some(oid), Some(kind)) = (s(o, "optionId"), o.get("kind").and_then(Value::as_str))
            else {
                continue;
            };
            if let Some(k) = option_kind(kind) {
                opts.push((k, oid, s(o, "name").unwrap_or_default()));
            }
        }
        let kind = s(call, "kind").unwrap_or_default();
        let title = s(call, "title").unwrap_or_default();
        let raw = call.get("rawInput").filter(|r| r.is_object());
        let diffs: Vec<&Value> = call
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|c| c.get("type").and_then(Value::as_str) == Some("diff"))
            .collect();
        // One diff, of one absolute path with no `.` or `..` in it, which
        // every location names too: else which files it writes is not known.
        let locations: Vec<&str> = call
            .get("locations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|l| l.get("path").and_then(Value::as_str))
            .collect();
        let diff = match diffs.as_slice() {
            [d] => Some(*d),
            _ => None,
        };
        let one_file = diff
            .and_then(|d| d.get("path").and_then(Value::as_str))
            .is_some_and(|p| {
                p.starts_with('/')
                    && p.split('/').skip(1).all(|c| !matches!(c, "" | "." | ".."))
                    && locations.iter().all(|l| *l == p)
            });
        // Where a titled shell call runs, as Gemini CLI 0.61.0 says it.
        let here = format!("[current working directory {}]", self.cwd);
        let runs_here = call
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.pointer("/content/text").and_then(Value::as_str))
            .any(|t| t == here || t.starts_with(&format!("{here} ")));
        // The tool and its input as corral's policy reads them.
        let (tool, input, exact) = match (kind.as_str(), raw, diff) {
            ("execute", Some(r), _) if r.get("command").is_some_and(Value::is_string) => {
                // Exact when it says it runs in the slot's directory and
                // nothing else in it could change what runs, or where.
                let here = |k: &str| r.get(k).and_then(Value::as_str) == Some(self.cwd.as_str());
                let known = r.as_object().is_some_and(|o| {
                    o.iter().all(|(k, v)| match k.as_str() {
                        "command" | "description" | "timeout" | "is_background" => true,
                        "cwd" | "dir_path" | "workdir" => v.as_str() == Some(self.cwd.as_str()),
                        _ => false,
                    })
                }) && (here("cwd") || here("dir_path") || here("workdir"));
                ("Bash".to_string(), r.clone(), known)
            }
            ("execute", _, _) => (
                "Bash".to_string(),
                json!({"command": title}),
                self.title_is_command && runs_here,
            ),
            ("edit", _, Some(d)) => {
                let new_file = d.pointer("/_meta/kind").and_then(Value::as_str) == Some("add")
                    || d.get("oldText").is_none_or(Value::is_null);
                let path = s(d, "path").unwrap_or_default();
                let tool = if new_file { "Write" } else { "Edit" };
                let mut input = json!({"file_path": path});
                if let Some(t) = d.get("newText") {
                    input[if new_file { "content" } else { "new_string" }] = t.clone();
                }
                if let Some(t) = d.get("oldText").filter(|t| !t.is_null()) {
                    input["old_string"] = t.clone();
                }
                (tool.to_string(), input, one_file)
            }
            (k, _, _) => (
                if k.is_empty() {
                    "tool".to_string()
                } else {
                    k.to_string()
                },
                json!({"title": title, "kind": k}),
                false,
            ),
        };
        let key = id.to_string();
        // One request per id: a second with the id of one still waiting
        // could take the first one's answer.
        if self.asking.contains(&key) {
            return Err(format!("a second permission request with id {key}"));
        }
        self.asking.push(key.clone());
        Ok(PermissionAsk {
            key,
            tool,
            input,
            always: opts
                .iter()
                .find(|(k, _, _)| *k == AnswerKind::ApproveAlways)
                .map(|(_, oid, name)| {
                    json!([{"type": "agentOption", "optionId": oid, "name": name}])
                }),
            tool_use_id: s(call, "toolCallId"),
            blocked_path: None,
            options: opts,
            exact,
        })
    }

    /// The lines that send `out`.
    ///
    /// Errors: an answer the request did not offer; a message or interrupt
    /// before the session is open.
    pub fn encode(&mut self, out: &Outgoing) -> Result<Vec<Vec<u8>>, SendError> {
        match out {
            Outgoing::Message(text) => {
                if self.session.is_none() || self.in_turn {
                    self.queued.push(text.clone());
                    return Ok(Vec::new());
                }
                Ok(vec![self.prompt(text)])
            }
            Outgoing::Answer { ask, answer, .. } => {
                let want = match answer {
                    Answer::ApproveOnce => AnswerKind::ApproveOnce,
                    Answer::ApproveAlways => AnswerKind::ApproveAlways,
                    Answer::Deny => AnswerKind::Deny,
                    Answer::Select(_) => return Err(SendError::NoSuchAnswer("numbered")),
                };
                let Some((_, oid, _)) = ask.options.iter().find(|(k, _, _)| *k == want) else {
                    return Err(SendError::NoSuchAnswer(want.name()));
                };
                if !self.asking.contains(&ask.key) {
                    return Err(SendError::NotWaiting);
                }
                let id: Value = serde_json::from_str(&ask.key).unwrap_or(Value::Null);
                self.asking.retain(|k| k != &ask.key);
                if want == AnswerKind::Deny {
                    self.denials.push(ask.tool.clone());
                }
                Ok(vec![line(&json!({
                    "jsonrpc": "2.0",
                    "id": id,
                    "result": {"outcome": {"outcome": "selected", "optionId": oid}},
                }))])
            }
            // ACP's client answers unserved requests itself, as they come.
            Outgoing::Unserved { .. } => Ok(Vec::new()),
            Outgoing::Interrupt { .. } => {
                let Some(session) = self.session.clone() else {
                    return Err(SendError::NotWaiting);
                };
                self.cancelled = true;
                self.queued.clear();
                // Every request still waiting is answered `cancelled`, as
                // the protocol requires of a client that cancels.
                let mut lines = vec![line(&json!({
                    "jsonrpc": "2.0",
                    "method": "session/cancel",
                    "params": {"sessionId": session},
                }))];
                for key in std::mem::take(&mut self.asking) {
                    let id: Value = serde_json::from_str(&key).unwrap_or(Value::Null);
                    lines.push(line(&json!({
                        "jsonrpc": "2.0",
                        "id": id,
                        "result": {"outcome": {"outcome": "cancelled"}},
                    })));
                }
                Ok(lines)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(t: &str) -> Value {
        serde_json::from_str(t).unwrap_or_else(|e| panic!("{e}: {t}"))
    }

    fn text(lines: &[Vec<u8>]) -> Vec<Value> {
        lines
            .iter()
            .map(|l| serde_json::from_slice(l).unwrap_or(Value::Null))
            .collect()
    }

    /// A client with its session open, for an agent whose shell titles
    /// are commands.
    fn open() -> Client {
        let mut c = Client::new("/w/proj", None).titles_are_commands(true);
        let init = text(&c.start());
        assert_eq!(init[0]["method"], "initialize");
        let (_, next) = c
            .read(&v(r#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":1,"agentCapabilities":{"loadSession":true}}}"#))
            .unwrap_or_default();
        let next = text(&next);
        assert_eq!(next[0]["method"], "session/new");
        assert_eq!(next[0]["params"]["cwd"], "/w/proj");
        let (msgs, _) = c
            .read(&v(
                r#"{"jsonrpc":"2.0","id":2,"result":{"sessionId":"s-9"}}"#,
            ))
            .unwrap_or_default();
        assert!(matches!(&msgs[0], AgentMsg::Session { id, .. } if id == "s-9"));
        c
    }

    #[test]
    fn a_shell_request_of_gemini_cli_is_exact_and_answered_by_its_option_id() {
        let mut c = open();
        let sent = text(
            &c.encode(&Outgoing::Message("go".into()))
                .unwrap_or_default(),
        );
        assert_eq!(sent[0]["method"], "session/prompt");
        // As Gemini CLI 0.61.0 sent it for `echo hello > hello.txt`.
        let req = v(
            r#"{"jsonrpc":"2.0","id":0,"method":"session/request_permission","params":{"sessionId":"s-9","options":[{"optionId":"proceed_always","name":"Always Allow","kind":"allow_always"},{"optionId":"proceed_once","name":"Allow","kind":"allow_once"},{"optionId":"cancel","name":"Reject","kind":"reject_once"}],"toolCall":{"toolCallId":"run_shell_command-1","status":"pending","title":"echo hello > hello.txt","content":[{"type":"content","content":{"type":"text","text":"[current working directory /w/proj] (Write hello.txt)"}}],"locations":[],"kind":"execute"}}}"#,
        );
        let (msgs, _) = c.read(&req).unwrap_or_default();
        let AgentMsg::Permission(ask) = &msgs[0] else {
            panic!("{msgs:?}")
        };
        assert!(ask.exact);
        assert_eq!(ask.tool, "Bash");
        assert_eq!(ask.input["command"], "echo hello > hello.txt");
        let once = text(
            &c.encode(&Outgoing::Answer {
                ask: Box::new(ask.clone()),
                answer: Answer::ApproveOnce,
                message: String::new(),
            })
            .unwrap_or_default(),
        );
        assert_eq!(once[0]["id"], 0);
        assert_eq!(once[0]["result"]["outcome"]["optionId"], "proceed_once");
        // Answered: a second answer to it is refused.
        let again = c.encode(&Outgoing::Answer {
            ask: Box::new(ask.clone()),
            answer: Answer::Deny,
            message: String::new(),
        });
        assert_eq!(again, Err(SendError::NotWaiting));
        // Deny is the option of kind reject_once.
        let req = v(&req.to_string().replace(r#""id":0"#, r#""id":1"#));
        let (msgs, _) = c.read(&req).unwrap_or_default();
        let Some(AgentMsg::Permission(ask)) = msgs.first() else {
            panic!("{msgs:?}")
        };
        let deny = text(
            &c.encode(&Outgoing::Answer {
                ask: Box::new(ask.clone()),
                answer: Answer::Deny,
                message: String::new(),
            })
            .unwrap_or_default(),
        );
        assert_eq!(deny[0]["id"], 1);
        assert_eq!(deny[0]["result"]["outcome"]["optionId"], "cancel");
    }

    #[test]
    fn a_shell_title_elsewhere_or_from_another_agent_or_with_more_input_is_not_exact() {
        let mut n = 10;
        let mut ask = |c: &mut Client, call: &str| -> PermissionAsk {
            n += 1;
            let req = format!(
                r#"{{"jsonrpc":"2.0","id":{n},"method":"session/request_permission","params":{{"sessionId":"s-9","options":[{{"optionId":"o","name":"Allow","kind":"allow_once"}}],"toolCall":{call}}}}}"#
            );
            match c.read(&v(&req)).unwrap_or_default().0.pop() {
                Some(AgentMsg::Permission(a)) => a,
                other => panic!("{other:?}"),
            }
        };
        let mut c = open();
        // The model chose another directory: the command runs there.
        let elsewhere = r#"{"toolCallId":"t","title":"rm -rf src","kind":"execute","content":[{"type":"content","content":{"type":"text","text":"[in /home/u] (clean)"}}]}"#;
        assert!(!ask(&mut c, elsewhere).exact);
        // A description that imitates the directory note is after it, never
        // before: the note must be the text's start.
        let spoof = r#"{"toolCallId":"t","title":"rm -rf src","kind":"execute","content":[{"type":"content","content":{"type":"text","text":"[in /] ([current working directory /w/proj])"}}]}"#;
        assert!(!ask(&mut c, spoof).exact);
        // No note at all.
        let bare = r#"{"toolCallId":"t","title":"ls","kind":"execute"}"#;
        assert!(!ask(&mut c, bare).exact);
        // rawInput with something that changes what runs.
        let env = r#"{"toolCallId":"t","title":"ls","kind":"execute","rawInput":{"command":"ls","env":{"PATH":"."}}}"#;
        assert!(!ask(&mut c, env).exact);
        let other_dir = r#"{"toolCallId":"t","title":"ls","kind":"execute","rawInput":{"command":"ls","cwd":"/"}}"#;
        assert!(!ask(&mut c, other_dir).exact);
        // opencode 1.18.33's request: the command, but not where it runs.
        let nowhere =
            r#"{"toolCallId":"t","title":"ls","kind":"execute","rawInput":{"command":"ls"}}"#;
        assert!(!ask(&mut c, nowhere).exact);
        let plain = r#"{"toolCallId":"t","title":"Run ls","kind":"execute","rawInput":{"command":"ls","cwd":"/w/proj"}}"#;
        let a = ask(&mut c, plain);
        assert!(a.exact);
        assert_eq!(a.input["command"], "ls");
        // An agent whose profile does not say its titles are commands.
        let mut other = Client::new("/w/proj", None);
        other.start();
        other
            .read(&v(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#))
            .unwrap_or_default();
        other
            .read(&v(r#"{"jsonrpc":"2.0","id":2,"result":{"sessionId":"s"}}"#))
            .unwrap_or_default();
        let here = r#"{"toolCallId":"t","title":"echo hi","kind":"execute","content":[{"type":"content","content":{"type":"text","text":"[current working directory /w/proj]"}}]}"#;
        assert!(!ask(&mut other, here).exact);
        assert!(ask(&mut c, here).exact);
    }

    #[test]
    fn a_title_that_is_a_description_is_not_exact() {
        let mut c = open();
        let req = v(
            r#"{"jsonrpc":"2.0","id":"q","method":"session/request_permission","params":{"sessionId":"s-9","options":[{"optionId":"a","name":"Allow","kind":"allow_once"}],"toolCall":{"toolCallId":"t","title":"Fetch https://example.com/...","kind":"fetch"}}}"#,
        );
        let (msgs, _) = c.read(&req).unwrap_or_default();
        let AgentMsg::Permission(ask) = &msgs[0] else {
            panic!("{msgs:?}")
        };
        assert!(!ask.exact);
        // No reject option offered: deny cannot be sent as one.
        assert!(
            c.encode(&Outgoing::Answer {
                ask: Box::new(ask.clone()),
                answer: Answer::Deny,
                message: String::new(),
            })
            .is_err()
        );
    }

    #[test]
    fn an_edit_request_names_its_file_from_the_diff() {
        let mut c = open();
        let req = v(
            r#"{"jsonrpc":"2.0","id":5,"method":"session/request_permission","params":{"sessionId":"s-9","options":[{"optionId":"proceed_once","name":"Allow","kind":"allow_once"}],"toolCall":{"toolCallId":"w","title":"Writing to notes.txt","kind":"edit","content":[{"type":"diff","path":"/w/proj/notes.txt","oldText":"","newText":"hi\n","_meta":{"kind":"add"}}]}}}"#,
        );
        let (msgs, _) = c.read(&req).unwrap_or_default();
        let AgentMsg::Permission(ask) = &msgs[0] else {
            panic!("{msgs:?}")
        };
        assert!(ask.exact);
        assert_eq!(ask.tool, "Write");
        assert_eq!(ask.input["file_path"], "/w/proj/notes.txt");
        assert_eq!(ask.input["content"], "hi\n");
    }

    #[test]
    fn an_edit_of_two_files_or_a_relative_path_is_not_exact() {
        let ask = |c: &mut Client, id: u32, content: &str, locations: &str| -> PermissionAsk {
            let req = format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"session/request_permission","params":{{"sessionId":"s-9","options":[{{"optionId":"o","name":"Allow","kind":"allow_once"}}],"toolCall":{{"toolCallId":"w","title":"Writing","kind":"edit","content":{content},"locations":{locations}}}}}}}"#
            );
            match c.read(&v(&req)).unwrap_or_default().0.pop() {
                Some(AgentMsg::Permission(a)) => a,
                other => panic!("{other:?}"),
            }
        };
        let mut c = open();
        let d = |p: &str| format!(r#"{{"type":"diff","path":"{p}","oldText":"a","newText":"b"}}"#);
        let two = format!(
            "[{},{}]",
            d("/w/proj/src/a.rs"),
            d("/w/proj/.git/hooks/pre-commit")
        );
        assert!(!ask(&mut c, 1, &two, "[]").exact);
        let rel = format!("[{}]", d("pre-commit"));
        assert!(!ask(&mut c, 2, &rel, "[]").exact);
        let dots = format!("[{}]", d("/w/proj/src/../../x"));
        assert!(!ask(&mut c, 3, &dots, "[]").exact);
        let one = format!("[{}]", d("/w/proj/src/a.rs"));
        assert!(!ask(&mut c, 4, &one, r#"[{"path":"/w/proj/other"}]"#).exact);
        assert!(ask(&mut c, 5, &one, r#"[{"path":"/w/proj/src/a.rs"}]"#).exact);
        // The same id twice while the first waits: refused.
        let again = format!(
            r#"{{"jsonrpc":"2.0","id":5,"method":"session/request_permission","params":{{"sessionId":"s-9","options":[{{"optionId":"o","name":"Allow","kind":"allow_once"}}],"toolCall":{{"toolCallId":"w","title":"x","kind":"edit","content":{one}}}}}}}"#
        );
        assert!(c.read(&v(&again)).is_err());
    }

    #[test]
    fn chunks_become_one_text_and_the_prompt_response_ends_the_turn() {
        let mut c = open();
        c.encode(&Outgoing::Message("hi".into()))
            .unwrap_or_default();
        // A second message waits for the turn.
        assert!(
            c.encode(&Outgoing::Message("next".into()))
                .unwrap_or_default()
                .is_empty()
        );
        for t in ["Hel", "lo"] {
            let n = json!({"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"s-9","update":{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":t}}}});
            let (m, _) = c.read(&n).unwrap_or_default();
            assert!(m.is_empty());
        }
        let (msgs, reply) = c
            .read(&v(r#"{"jsonrpc":"2.0","id":3,"result":{"stopReason":"end_turn","_meta":{"quota":{"token_count":{"input_tokens":12,"output_tokens":5}}}}}"#))
            .unwrap_or_default();
        assert_eq!(msgs[0], AgentMsg::Text("Hello".into()));
        let AgentMsg::TurnEnded(r) = &msgs[1] else {
            panic!("{msgs:?}")
        };
        assert_eq!((r.usage.input_tokens, r.usage.output_tokens), (12, 5));
        assert_eq!(r.error, None);
        assert_eq!(r.session_id.as_deref(), Some("s-9"));
        // The queued message goes now.
        assert_eq!(text(&reply)[0]["params"]["prompt"][0]["text"], "next");
    }

    #[test]
    fn cancel_answers_every_waiting_request_cancelled() {
        let mut c = open();
        c.encode(&Outgoing::Message("hi".into()))
            .unwrap_or_default();
        let req = v(
            r#"{"jsonrpc":"2.0","id":7,"method":"session/request_permission","params":{"sessionId":"s-9","options":[{"optionId":"o","name":"Allow","kind":"allow_once"}],"toolCall":{"toolCallId":"t","title":"ls","kind":"execute"}}}"#,
        );
        c.read(&req).unwrap_or_default();
        let lines = text(
            &c.encode(&Outgoing::Interrupt { key: "x".into() })
                .unwrap_or_default(),
        );
        assert_eq!(lines[0]["method"], "session/cancel");
        assert_eq!(lines[1]["id"], 7);
        assert_eq!(lines[1]["result"]["outcome"]["outcome"], "cancelled");
    }

    #[test]
    fn requests_corral_does_not_serve_get_an_error_and_junk_is_an_error() {
        let mut c = open();
        let (m, reply) = c
            .read(&v(r#"{"jsonrpc":"2.0","id":9,"method":"fs/write_text_file","params":{"path":"/etc/x","content":"y"}}"#))
            .unwrap_or_default();
        assert!(m.is_empty());
        assert_eq!(text(&reply)[0]["error"]["code"], -32601);
        assert!(
            c.read(&v(r#"{"jsonrpc":"2.0","id":99,"result":{}}"#))
                .is_err()
        );
        assert!(c.read(&v(r#"{"x":1}"#)).is_err());
        let no_call = v(
            r#"{"jsonrpc":"2.0","id":8,"method":"session/request_permission","params":{"options":[]}}"#,
        );
        assert!(c.read(&no_call).is_err());
    }

    #[test]
    fn a_resume_loads_the_conversation_when_the_agent_can() {
        let mut c = Client::new("/w", Some("old-1".into()));
        c.start();
        let (_, next) = c
            .read(&v(
                r#"{"jsonrpc":"2.0","id":1,"result":{"agentCapabilities":{"loadSession":true}}}"#,
            ))
            .unwrap_or_default();
        let next = text(&next);
        assert_eq!(next[0]["method"], "session/load");
        assert_eq!(next[0]["params"]["sessionId"], "old-1");
        let (msgs, _) = c
            .read(&v(r#"{"jsonrpc":"2.0","id":2,"result":null}"#))
            .unwrap_or_default();
        assert!(matches!(&msgs[0], AgentMsg::Session { id, .. } if id == "old-1"));
        // An agent that cannot load starts a new one.
        let mut c = Client::new("/w", Some("old-1".into()));
        c.start();
        let (_, next) = c
            .read(&v(
                r#"{"jsonrpc":"2.0","id":1,"result":{"agentCapabilities":{}}}"#,
            ))
            .unwrap_or_default();
        assert_eq!(text(&next)[0]["method"], "session/new");
    }
}
