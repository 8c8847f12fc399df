//! A structured slot's pane: the conversation drawn as terminal output into
//! the slot's own engine (so clients, scrollback, copy mode, `ctl screen`
//! and reattach work as for any pane), and the line a person composes a
//! message in.
//!
//! Everything a model or a tool wrote goes through [`super::printable`]
//! first: the pane shows characters, never sequences from the conversation.
//! Lines end in CR LF (the engine is a terminal).

use serde_json::Value;

use super::{AgentMsg, MAX_RESULT_CHARS, TurnResult, printable, shorten};

const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const CYAN: &str = "\x1b[36m";
const RESET: &str = "\x1b[0m";

/// Turns `\n` into CR LF, indenting continuation lines by `indent` spaces.
fn lines(text: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    text.trim_end_matches('\n')
        .split('\n')
        .collect::<Vec<_>>()
        .join(&format!("\r\n{pad}"))
}

/// Most characters of one reply text drawn (256 Ki: a runaway reply is
/// shortened, the whole of it is in the protocol log).
pub const MAX_TEXT_CHARS: usize = 256 << 10;

/// The bytes that start a structured slot's pane: bracketed paste on (so a
/// pasted text with newlines is one message) and a header.
pub fn header(agent: &str, transport: &str) -> String {
    format!(
        "\x1b[?2004h{DIM}[corral] {agent} over {transport}: type a message, Enter sends it{RESET}\r\n"
    )
}

/// The text a tool call is named by: its subject field when the tool is
/// known, else its input as compact JSON.
pub fn call_subject(tool: &str, input: &Value) -> String {
    let field = match tool {
        "Bash" => "command",
        "Write" | "Edit" | "MultiEdit" | "Read" => "file_path",
        "NotebookEdit" => "notebook_path",
        "WebFetch" => "url",
        "WebSearch" => "query",
        "Glob" | "Grep" => "pattern",
        _ => "",
    };
    input
        .get(field)
        .and_then(Value::as_str)
        .map_or_else(|| input.to_string(), str::to_string)
}

/// How a message from the agent is drawn (`None`: not drawn).
pub fn message(m: &AgentMsg) -> Option<String> {
    Some(match m {
        AgentMsg::Session { id, model } => format!(
            "{DIM}conversation {}{}{RESET}\r\n",
            printable(id),
            model
                .as_deref()
                .map(|m| format!(" · {}", printable(m)))
                .unwrap_or_default()
        ),
        AgentMsg::Text(t) => format!(
            "● {}\r\n",
            lines(&shorten(&printable(t), MAX_TEXT_CHARS), 2)
        ),
        AgentMsg::ToolCall { tool, input, .. } => {
            let subject = shorten(&printable(&call_subject(tool, input)), MAX_RESULT_CHARS);
            format!(
                "{BOLD}⏺ {}{RESET}({})\r\n",
                printable(tool),
                lines(&subject, 4)
            )
        }
        AgentMsg::ToolResult { is_error, text, .. } => {
            let text = printable(text);
            let shown: String = shorten(text.trim_end(), MAX_RESULT_CHARS);
            let shown = match shown.lines().count() {
                n if n > 8 => {
                    let head: Vec<&str> = shown.lines().take(8).collect();
                    format!("{}\n… {} more lines", head.join("\n"), n - 8)
                }
                _ => shown,
            };
            let colour = if *is_error { RED } else { DIM };
            format!(
                "{colour}  ⎿  {}{RESET}\r\n",
                lines(
                    if shown.is_empty() {
                        "(no output)"
                    } else {
                        &shown
                    },
                    5
                )
            )
        }
        AgentMsg::Permission(ask) => format!(
            "{YELLOW}  ? {} asks for permission: {}{RESET}\r\n{YELLOW}    answer in corral's inbox{RESET}\r\n",
            printable(&ask.tool),
            lines(
                &shorten(
                    &printable(&call_subject(&ask.tool, &ask.input)),
                    MAX_RESULT_CHARS
                ),
                4
            )
        ),
        AgentMsg::Withdrawn { .. } => format!("{DIM}  (the agent withdrew its request){RESET}\r\n"),
        AgentMsg::TurnEnded(r) => turn_end(r),
        AgentMsg::Replied { result: Ok(()), .. } => return None,
        AgentMsg::Replied { result: Err(e), .. } => {
            format!(
                "{RED}[corral] the agent refused: {}{RESET}\r\n",
                printable(e)
            )
        }
        AgentMsg::Notice(n) => format!("{DIM}[agent] {}{RESET}\r\n", printable(n)),
        AgentMsg::Unserved { what, .. } => format!(
            "{DIM}[corral] the agent asked for {} (not served){RESET}\r\n",
            printable(what)
        ),
    })
}

/// The rule under a turn: how long, what it cost, its tokens.
pub fn turn_end(r: &TurnResult) -> String {
    let mut parts = Vec::new();
    if let Some(e) = &r.error {
        parts.push(format!("ended: {}", printable(e)));
    } else {
        parts.push("done".to_string());
    }
    if let Some(ms) = r.duration_ms {
        parts.push(format!("{:.1} s", ms as f64 / 1000.0));
    }
    if let Some(c) = r.cost_usd {
        parts.push(format!("${c:.4}"));
    }
    parts.push(format!(
        "{} in / {} out tokens",
        r.usage.input_tokens, r.usage.output_tokens
    ));
    if !r.denials.is_empty() {
        parts.push(format!("{} denied", r.denials.len()));
    }
    let colour = if r.error.is_some() { RED } else { DIM };
    format!("{colour}── {} ──{RESET}\r\n", parts.join(" · "))
}

/// A message the person (or `ctl`) sent, as the pane shows it.
pub fn user(text: &str) -> String {
    format!("\r\n{CYAN}› {}{RESET}\r\n", lines(&printable(text), 2))
}

/// How an answer to a request is drawn: `verb` ("approved once", "denied")
/// and who gave it.
pub fn answered(tool: &str, verb: &str, by: &str) -> String {
    let colour = if verb.starts_with("denied") {
        RED
    } else {
        GREEN
    };
    format!(
        "{colour}  {} {verb} by {}{RESET}\r\n",
        printable(tool),
        printable(by)
    )
}

/// A note from corral itself (an error reading the agent, its exit).
pub fn note(text: &str) -> String {
    format!("{RED}[corral] {}{RESET}\r\n", lines(&printable(text), 9))
}

/// Most bytes of history [`history`] draws (its tail is kept).
pub const MAX_HISTORY_BYTES: usize = 4 << 20;

/// Conversation `session`'s earlier messages, drawn as the pane showed them,
/// from a protocol log's text (`{"from":…,"msg":…}` lines, oldest first; see
/// the server's protocol log). Its part starts at the agent's `init` with
/// that id (and the message that started it); another conversation's init
/// ends it. At most [`MAX_HISTORY_BYTES`], the newest kept.
pub fn history(log: &str, session: &str) -> String {
    let mut out = String::new();
    let mut on = false;
    let mut first_message: Option<String> = None;
    for line in log.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let msg = &v["msg"];
        match v["from"].as_str() {
            Some("corral") if msg["type"] == "user" => {
                let text = msg["message"]["content"].as_str().unwrap_or("").to_string();
                if on {
                    out.push_str(&user(&text));
                } else {
                    first_message = Some(text);
                }
            }
            Some("agent") => {
                if msg["type"] == "system" && msg["subtype"] == "init" {
                    on = msg["session_id"].as_str() == Some(session);
                    if on && let Some(t) = first_message.take() {
                        out.push_str(&user(&t));
                    }
                    continue;
                }
                if !on {
                    continue;
                }
                let Ok(msgs) = super::stream_json::parse(&msg.to_string()) else {
                    continue;
                };
                for m in msgs {
                    if let Some(t) = message(&m) {
                        out.push_str(&t);
                    }
                }
            }
            _ => {}
        }
    }
    if out.len() > MAX_HISTORY_BYTES {
        let mut cut = out.len() - MAX_HISTORY_BYTES;
        while !out.is_char_boundary(cut) {
            cut += 1;
        }
        // From a line's start, so no sequence is cut in two.
        let cut = out[cut..].find("\r\n").map_or(cut, |n| cut + n + 2);
        out.drain(..cut);
    }
    out
}

/// What a keystroke in a structured slot's pane does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComposerAct {
    /// Send this message.
    Send(String),
    /// Stop the agent's turn.
    Interrupt,
}

/// The line a person types a message in, at the bottom of a structured
/// slot's pane. Keys arrive as the bytes a terminal sends (a plain keymap:
/// no application modes, bracketed paste on).
#[derive(Debug, Default, Clone)]
pub struct Composer {
    text: String,
    /// Inside a bracketed paste.
    pasting: bool,
    /// An escape sequence's bytes not yet complete.
    pending: Vec<u8>,
}

/// Most characters a composed message holds (1 MiB of text).
pub const MAX_COMPOSED_CHARS: usize = 1 << 20;

impl Composer {
    /// The text typed so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Something is typed (the line is shown).
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Takes the keys in `bytes`: printable text is typed, Backspace
    /// deletes, Ctrl-U clears, Ctrl-W deletes a word, Enter sends (inside
    /// a paste it is a newline), Esc interrupts, Ctrl-C clears the line or,
    /// when it is empty, interrupts. Other sequences (arrows, function
    /// keys) do nothing.
    pub fn keys(&mut self, bytes: &[u8]) -> Vec<ComposerAct> {
        let mut acts = Vec::new();
        let mut buf = std::mem::take(&mut self.pending);
        buf.extend_from_slice(bytes);
        // A character split across two reads waits for its end.
        let (text, rest) = decode(&buf);
        let chars: Vec<char> = text.chars().collect();
        let mut at = 0;
        while at < chars.len() {
            let c = chars[at];
            at += 1;
            if c == '\x1b' {
                // Inside a paste only its end counts: any other escape in
                // pasted text is dropped, never acted on.
                if self.pasting {
                    let end: String = chars[at..].iter().take(5).collect();
                    if end == "[201~" {
                        self.pasting = false;
                        at += 5;
                    } else if "[201~".starts_with(&end) && at + end.chars().count() == chars.len() {
                        // Maybe the end, cut by the read: wait for the rest.
                        self.pending = format!("\x1b{end}").into_bytes();
                        at = chars.len();
                    }
                    continue;
                }
                match chars.get(at) {
                    // A lone Esc at the end of a read is the Esc key.
                    None => acts.push(ComposerAct::Interrupt),
                    // CSI: parameters, then a final byte.
                    Some('[') => {
                        let seq_end = chars[at + 1..].iter().position(|d| ('@'..='~').contains(d));
                        match seq_end {
                            Some(n) => {
                                let seq: String = chars[at + 1..at + 2 + n].iter().collect();
                                if seq == "200~" {
                                    self.pasting = true;
                                }
                                at += 2 + n;
                            }
                            None => {
                                let seq: String = chars[at - 1..].iter().collect();
                                self.pending = seq.into_bytes();
                                at = chars.len();
                            }
                        }
                    }
                    // SS3 (a function key): one character after `O`.
                    Some('O') => at += 2,
                    // Alt+key: both dropped.
                    Some(_) => at += 1,
                }
                continue;
            }
            match c {
                '\r' | '\n' if self.pasting => self.push('\n'),
                '\r' | '\n' => {
                    if !self.text.trim().is_empty() {
                        acts.push(ComposerAct::Send(std::mem::take(&mut self.text)));
                    }
                    self.text.clear();
                }
                '\t' => self.push(' '),
                c if self.pasting && c.is_control() => {}
                '\x7f' | '\x08' => {
                    self.text.pop();
                }
                '\x15' => self.text.clear(),
                '\x17' => {
                    let t = self.text.trim_end_matches(' ');
                    let cut = t.rfind(' ').map_or(0, |i| i + 1);
                    self.text.truncate(cut);
                }
                '\x03' if self.text.is_empty() => acts.push(ComposerAct::Interrupt),
                '\x03' => self.text.clear(),
                c if c.is_control() => {}
                c => self.push(c),
            }
        }
        self.pending.extend_from_slice(rest);
        acts
    }

    fn push(&mut self, c: char) {
        if self.text.len() < MAX_COMPOSED_CHARS {
            self.text.push(c);
        }
    }

    /// The composer's line, redrawn in place at the cursor's row (which it
    /// owns): the end of the text that fits in `cols` columns.
    pub fn line(&self, cols: u16) -> String {
        let room = usize::from(cols).saturating_sub(3).max(1);
        let shown: Vec<char> = printable(&self.text.replace('\n', "⏎")).chars().collect();
        let from = shown.len().saturating_sub(room);
        let shown: String = shown[from..].iter().collect();
        format!("\r\x1b[2K{CYAN}› {RESET}{shown}")
    }

    /// Erases the composer's line (before conversation output is drawn).
    pub fn erase() -> &'static str {
        "\r\x1b[2K"
    }
}

/// `buf` as text (invalid bytes replaced), and the bytes at its end that
/// begin a character not yet whole.
fn decode(buf: &[u8]) -> (String, &[u8]) {
    let mut out = String::new();
    let mut rest = buf;
    loop {
        match std::str::from_utf8(rest) {
            Ok(t) => {
                out.push_str(t);
                return (out, &[]);
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(good).unwrap_or_default());
                match e.error_len() {
                    None => return (out, bad),
                    Some(n) => {
                        out.push('\u{fffd}');
                        rest = &bad[n..];
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent_protocol::{PermissionAsk, Usage};
    use serde_json::json;

    #[test]
    fn typing_editing_and_enter_send_one_message() {
        let mut c = Composer::default();
        assert!(c.keys(b"helo").is_empty());
        assert!(c.keys(b"\x7flo wrld\x17world").is_empty());
        assert_eq!(c.text(), "hello world");
        assert_eq!(c.keys(b"\r"), vec![ComposerAct::Send("hello world".into())]);
        assert!(c.is_empty());
        // An empty line sends nothing.
        assert!(c.keys(b"  \r").is_empty());
    }

    #[test]
    fn a_paste_keeps_its_newlines_and_arrows_type_nothing() {
        let mut c = Composer::default();
        assert!(c.keys(b"\x1b[200~line one\rline two\x1b[201~").is_empty());
        assert!(c.keys(b"\x1b[A\x1b[D\x1bOP").is_empty());
        assert_eq!(c.text(), "line one\nline two");
        assert_eq!(
            c.keys(b"\r"),
            vec![ComposerAct::Send("line one\nline two".into())]
        );
    }

    #[test]
    fn only_the_real_paste_end_ends_a_paste_and_escapes_in_it_do_nothing() {
        let mut c = Composer::default();
        // An SS3 look-alike and a lone ESC inside a paste: text, not keys.
        assert!(
            c.keys(b"\x1b[200~a\x1bO201~\rb\x1b\x1b[2Jc\x1b[201~")
                .is_empty()
        );
        assert_eq!(c.text(), "aO201~\nb[2Jc");
        // The paste's end split across reads is still its end.
        let mut c = Composer::default();
        assert!(c.keys(b"\x1b[200~x\x1b[20").is_empty());
        assert!(c.keys(b"1~").is_empty());
        assert_eq!(c.keys(b"\r"), vec![ComposerAct::Send("x".into())]);
        // A character split across reads is one character.
        let mut c = Composer::default();
        let e = "é".as_bytes();
        assert!(c.keys(&e[..1]).is_empty());
        assert!(c.keys(&e[1..]).is_empty());
        assert_eq!(c.text(), "é");
    }

    #[test]
    fn esc_interrupts_and_ctrl_c_clears_first() {
        let mut c = Composer::default();
        assert_eq!(c.keys(b"\x1b"), vec![ComposerAct::Interrupt]);
        c.keys(b"abc");
        assert!(c.keys(b"\x03").is_empty());
        assert_eq!(c.keys(b"\x03"), vec![ComposerAct::Interrupt]);
        // A sequence split across reads is completed, not typed.
        assert!(c.keys(b"\x1b[1;5").is_empty());
        assert!(c.keys(b"Cx").is_empty());
        assert_eq!(c.text(), "x");
    }

    #[test]
    fn the_composer_line_fits_its_width() {
        let mut c = Composer::default();
        c.keys("é".repeat(100).as_bytes());
        let line = c.line(20);
        assert_eq!(line.matches('é').count(), 17);
        assert!(line.starts_with("\r\x1b[2K"));
    }

    #[test]
    fn model_text_is_drawn_as_characters_only() {
        let m = AgentMsg::Text("\x1b]52;c;ZWNobw==\x07hi\x1b[2J\nthere".into());
        let out = message(&m).unwrap_or_default();
        assert!(!out.contains("\x1b]"));
        assert!(!out.contains("\x1b[2J"));
        assert!(out.contains("hi"));
        assert!(out.contains("\r\n  there"));
    }

    #[test]
    fn history_draws_one_conversation_from_its_log() {
        let log = [
            r#"{"at":1,"from":"corral","msg":{"type":"user","message":{"role":"user","content":"first question"}}}"#,
            r#"{"at":2,"from":"agent","msg":{"type":"system","subtype":"init","session_id":"A"}}"#,
            r#"{"at":3,"from":"agent","msg":{"type":"assistant","message":{"content":[{"type":"text","text":"answer one"}]}}}"#,
            r#"{"at":4,"from":"agent","text":"not json"}"#,
            r#"{"at":5,"from":"corral","msg":{"type":"user","message":{"role":"user","content":"other talk"}}}"#,
            r#"{"at":6,"from":"agent","msg":{"type":"system","subtype":"init","session_id":"B"}}"#,
            r#"{"at":7,"from":"agent","msg":{"type":"assistant","message":{"content":[{"type":"text","text":"answer in B"}]}}}"#,
            r#"{"at":8,"from":"agent","msg":{"type":"system","subtype":"init","session_id":"A"}}"#,
            r#"{"at":9,"from":"agent","msg":{"type":"assistant","message":{"content":[{"type":"text","text":"answer two"}]}}}"#,
        ]
        .join("\n");
        let h = history(&log, "A");
        assert!(h.contains("first question") && h.contains("answer one"));
        assert!(h.contains("answer two"));
        assert!(!h.contains("answer in B"));
        assert_eq!(history(&log, "C"), "");
    }

    #[test]
    fn requests_results_and_turns_are_drawn() {
        let ask = AgentMsg::Permission(PermissionAsk {
            key: "k".into(),
            tool: "Bash".into(),
            input: json!({"command": "echo hello > hello.txt"}),
            always: None,
            tool_use_id: None,
            blocked_path: None,
            options: Vec::new(),
            exact: true,
        });
        assert!(
            message(&ask)
                .unwrap_or_default()
                .contains("echo hello > hello.txt")
        );
        let long = AgentMsg::ToolResult {
            id: "t".into(),
            is_error: false,
            text: (0..20).map(|i| format!("line {i}\n")).collect(),
        };
        assert!(
            message(&long)
                .unwrap_or_default()
                .contains("… 12 more lines")
        );
        let end = turn_end(&TurnResult {
            duration_ms: Some(1500),
            cost_usd: Some(0.0016),
            usage: Usage {
                input_tokens: 200,
                output_tokens: 40,
                ..Usage::default()
            },
            ..TurnResult::default()
        });
        assert!(end.contains("1.5 s") && end.contains("$0.0016") && end.contains("200 in"));
    }
}
