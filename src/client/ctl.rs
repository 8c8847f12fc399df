//! `corral ctl`: one request to a session's server, its reply printed as
//! text or as JSON (`--json`; `events` prints one JSON object per line).

use std::io::{BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use crate::detect::PromptId;
use crate::model::shown;
use crate::proto::ctl::{CtlEvent, CtlReply, CtlRequest, CtlSlot, CtlStats};
use crate::proto::{self, Hello, HelloKind, PROTO_VERSION};

/// How `corral ctl` ended.
#[derive(Debug)]
pub enum CtlError {
    /// A runtime failure (no server, no such slot, a timeout): exit 1.
    Failed(String),
    /// A request that cannot be right: exit 2.
    Usage(String),
}

/// Sends `request` to the server of `session` (socket `socket`) and writes
/// its reply (for `events`, every reply until the server hangs up) to
/// `out`, as text or as `json`.
///
/// Errors: [`CtlError`].
pub fn run(
    socket: &Path,
    session: &str,
    request: CtlRequest,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), CtlError> {
    exchange(socket, session, request, |value, reply| {
        let written = if json {
            writeln!(out, "{value}")
        } else {
            write!(out, "{}", text(&reply))
        };
        // Whoever reads our output may be gone (`| head`): that ends it.
        written.and_then(|()| out.flush()).is_ok()
    })
}

/// Sends `request` to the server of `session` (socket `socket`) and calls
/// `each` with every reply (as JSON, and read), until one that ends the
/// request, `each` returning false, or the server hanging up.
///
/// Errors: [`CtlError`]: no server, a refusal, or a [`CtlReply::Error`].
pub fn exchange(
    socket: &Path,
    session: &str,
    request: CtlRequest,
    mut each: impl FnMut(serde_json::Value, CtlReply) -> bool,
) -> Result<(), CtlError> {
    let io =
        |e: std::io::Error| CtlError::Failed(format!("the server of session {session:?}: {e}"));
    let mut stream = UnixStream::connect(socket).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
            CtlError::Failed(format!("no server running for session {session:?}"))
        }
        _ => io(e),
    })?;
    proto::write_frame(
        &mut stream,
        &Hello {
            v: PROTO_VERSION,
            hello: HelloKind::Ctl { request },
        },
    )
    .map_err(io)?;
    let mut reader = BufReader::new(stream);
    let mut any = false;
    loop {
        let value: serde_json::Value = match proto::read_frame(&mut reader).map_err(io)? {
            Some(v) => v,
            None if any => return Ok(()),
            None => return Err(CtlError::Failed("the server closed the connection".into())),
        };
        any = true;
        // A server of another version answers with its own error form.
        if value.get("reply").is_none()
            && let Some(why) = value.get("error").and_then(|e| e.as_str())
        {
            return Err(CtlError::Failed(format!(
                "the server of session {session:?} refused: {why}"
            )));
        }
        let reply: CtlReply = serde_json::from_value(value.clone())
            .map_err(|e| CtlError::Failed(format!("bad reply from the server: {e}")))?;
        if let CtlReply::Error { error, usage } = reply {
            return Err(if usage {
                CtlError::Usage(error)
            } else {
                CtlError::Failed(error)
            });
        }
        let more = matches!(reply, CtlReply::Event(_) | CtlReply::Following { .. });
        if !each(value, reply) || !more {
            return Ok(());
        }
    }
}

/// A reply as text for a person.
fn text(reply: &CtlReply) -> String {
    match reply {
        CtlReply::Error { error, .. } => format!("error: {error}\n"),
        CtlReply::Slots { slots } => slots_table(slots),
        CtlReply::Screen { lines, .. } => {
            let mut s = lines.join("\n");
            s.push('\n');
            s
        }
        CtlReply::Done { .. } => String::new(),
        CtlReply::Reached {
            slot,
            state,
            generation,
            prompt,
            output,
        } => {
            let mut s = format!("{slot}: {} (session {generation})\n", state.label());
            if let Some(p) = prompt {
                s.push_str(&format!(
                    "prompt {}: {} {}\n",
                    p.id,
                    shown(&p.tool),
                    shown(&p.subject)
                ));
            }
            if let Some(lines) = output {
                for l in lines {
                    s.push_str(l);
                    s.push('\n');
                }
            }
            s
        }
        CtlReply::Answered { slot, prompt } => format!("{slot}: answered prompt {prompt}\n"),
        CtlReply::TaskEnded { slot, result } => {
            let mut s = String::new();
            if !result.text.is_empty() {
                s.push_str(&result.text);
                s.push('\n');
            }
            let mut facts = vec![match &result.error {
                Some(e) => format!("{slot}: turn ended: {e}"),
                None => format!("{slot}: done"),
            }];
            if let Some(id) = &result.session_id {
                facts.push(format!("conversation {id}"));
            }
            if let Some(ms) = result.duration_ms {
                facts.push(format!("{:.1} s", ms as f64 / 1000.0));
            }
            if let Some(c) = result.cost_usd {
                facts.push(format!("${c:.4}"));
            }
            facts.push(format!(
                "{} in / {} out tokens",
                result.usage.input_tokens, result.usage.output_tokens
            ));
            if !result.denials.is_empty() {
                facts.push(format!("denied: {}", result.denials.join(", ")));
            }
            s.push_str(&facts.join(" · "));
            s.push('\n');
            s
        }
        CtlReply::Event(e) => event_line(e),
        CtlReply::Following { seq } => format!("# following the session after event #{seq}\n"),
        CtlReply::Stats { slots } => stats_table(slots),
        CtlReply::Explained { text, .. } => {
            let mut s = text.clone();
            if !s.ends_with('\n') {
                s.push('\n');
            }
            s
        }
    }
}

fn slots_table(slots: &[CtlSlot]) -> String {
    let mut rows = vec![[
        "SLOT".to_string(),
        "AGENT".into(),
        "ROLE".into(),
        "STATE".into(),
        "FOR".into(),
        "PID".into(),
        "GEN".into(),
        "CONVERSATION".into(),
        "SANDBOX".into(),
        "PROMPT".into(),
    ]];
    let mut notes = String::new();
    for s in slots {
        if let Some(sb) = &s.sandbox
            && let Some(why) = &sb.why
        {
            notes.push_str(&format!("# {}: {}: {why}\n", s.id, sb.label()));
        }
        rows.push([
            s.id.clone(),
            s.agent.clone(),
            s.role.clone(),
            s.state.label(),
            age(s.state_age_ms),
            s.pid.map_or("-".into(), |p| p.to_string()),
            s.generation.to_string(),
            s.session_id
                .as_deref()
                .map_or("-".into(), |id| id.chars().take(8).collect()),
            s.sandbox.as_ref().map_or("-".into(), |sb| {
                serde_json::to_value(sb.state)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default()
            }),
            s.prompt.as_ref().map_or("-".into(), |p| {
                format!("{} {} {}", p.id, shown(&p.tool), shown(&p.subject))
            }),
        ]);
    }
    table(&rows) + &notes
}

fn stats_table(slots: &[CtlStats]) -> String {
    let mut rows = vec![[
        "SLOT".to_string(),
        "BYTES".into(),
        "SCROLLBACK".into(),
        "ENGINE".into(),
        "RESTARTS".into(),
        "BY KEY".into(),
        "BY RULE".into(),
        "BY CTL".into(),
        "TOKENS IN/OUT".into(),
        "COST".into(),
    ]];
    for s in slots {
        rows.push([
            s.id.clone(),
            s.bytes_read.to_string(),
            s.scrollback_rows.to_string(),
            format!("{} KiB", s.engine_bytes.div_ceil(1024)),
            s.restarts.to_string(),
            s.answered_by_key.to_string(),
            s.answered_by_rule.to_string(),
            s.answered_by_ctl.to_string(),
            // Only a structured slot's protocol says; a PTY slot's `-`.
            s.usage.map_or_else(
                || "-".to_string(),
                |u| format!("{}/{}", u.usage.input_tokens, u.usage.output_tokens),
            ),
            s.usage
                .map_or_else(|| "-".to_string(), |u| format!("${:.4}", u.cost_usd)),
        ]);
    }
    table(&rows)
}

/// Columns padded to their widest cell; the last one is not padded.
fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let width = |c: usize| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..N).map(width).collect();
    let mut s = String::new();
    for r in rows {
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == N {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  ", w = widths[c]));
            }
        }
        s.push('\n');
    }
    s
}

fn age(ms: u64) -> String {
    match ms / 1000 {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s => format!("{}h", s / 3600),
    }
}

/// `#SEQ TIME SLOT EVENT field=value ...` for a person.
fn event_line(e: &CtlEvent) -> String {
    let mut s = format!("#{} {} {}", e.seq, e.time, e.slot_id);
    if let Ok(serde_json::Value::Object(m)) = serde_json::to_value(&e.event) {
        if let Some(name) = m.get("event").and_then(|v| v.as_str()) {
            s.push(' ');
            s.push_str(name);
        }
        for (k, v) in &m {
            if k == "event" || k == "slot" {
                continue;
            }
            // Prompt ids as `ctl list` prints them.
            let id = |x: &serde_json::Value| {
                x.as_u64()
                    .map_or_else(|| x.to_string(), |n| PromptId(n).to_string())
            };
            let v = match v {
                serde_json::Value::String(t) => shown(t),
                serde_json::Value::Number(_) if k == "prompt" || k == "was" => id(v),
                serde_json::Value::Object(o) if k == "prompt" => {
                    // A prompt: its id, tool and subject.
                    let f = |n: &str| {
                        o.get(n)
                            .and_then(|x| x.as_str())
                            .map(|x| format!("{:?}", shown(x)))
                            .unwrap_or_default()
                    };
                    let pid = o.get("id").map(id).unwrap_or_default();
                    format!("{pid} {} {}", f("tool"), f("subject"))
                }
                serde_json::Value::Object(o) if k == "by" => {
                    let f = |n: &str| shown(o.get(n).and_then(|x| x.as_str()).unwrap_or_default());
                    format!("{} ({})", f("source"), f("detail"))
                }
                other => other.to_string(),
            };
            s.push_str(&format!(" {k}={v}"));
        }
    }
    s.push('\n');
    s
}
