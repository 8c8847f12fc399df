//! The wire between corral's processes: the server's Unix socket speaks
//! newline-delimited JSON frames, each carrying the protocol version `v`.
//!
//! Today one conversation runs over it: `corral hook` (started by an agent as
//! its permission hook) sends a [`HookRequest`] and waits for one
//! [`HookReply`]. The server issue adds clients and `corral ctl` to the same
//! socket and framing. A frame from another version is refused with a reply
//! that says so, and the hook then leaves the dialog to the person.

use std::io::{self, BufRead, Write};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The version of the frames below. A peer with another version is refused.
pub const PROTO_VERSION: u32 = 1;

/// Largest frame accepted, in bytes (a hook request carries a whole tool
/// input, such as a file's new content).
pub const MAX_FRAME_BYTES: usize = 8 << 20;

/// How a hook talks to the agent that ran it: the shapes of its input and of
/// the decision it prints. Named in the agent profile's `[hook]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HookProtocol {
    /// Claude Code's `PermissionRequest` command hook (2.1.329): stdin is one
    /// JSON object with `tool_name` and `tool_input`; stdout
    /// `{"hookSpecificOutput":{"hookEventName":"PermissionRequest","decision":{"behavior":"allow"|"deny"}}}`
    /// closes the dialog; empty stdout leaves it for the person.
    ClaudePermissionRequest,
    /// Codex CLI's `PermissionRequest` command hook (0.169.0): the same
    /// input shape (`tool_name` is `Bash` for shell commands) and the same
    /// decision; it runs before Codex draws its dialog, which appears only
    /// when the hook decides nothing.
    CodexPermissionRequest,
}

/// A permission request from an agent's hook, forwarded by `corral hook`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HookRequest {
    /// Protocol version ([`PROTO_VERSION`]).
    pub v: u32,
    /// The slot whose agent ran the hook.
    pub slot: String,
    /// The session generation the hook was installed for.
    pub generation: u64,
    /// The per-session secret the hook was installed with: a request for a
    /// session that has ended, or from anything else, does not match.
    pub token: String,
    /// How to read `event`.
    pub protocol: HookProtocol,
    /// The agent's hook input, as it wrote it.
    pub event: serde_json::Value,
}

/// A decision on a hook request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HookDecision {
    /// Let the tool run.
    Allow,
    /// Refuse it.
    Deny,
}

/// The server's answer to a [`HookRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookReply {
    /// Protocol version ([`PROTO_VERSION`]).
    pub v: u32,
    /// The decision; `None` leaves the dialog to the person in the pane.
    pub decision: Option<HookDecision>,
    /// Shown to the agent with a deny (Claude Code passes it to the model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Why the request was refused (version mismatch, unknown slot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl HookReply {
    /// A reply that decides nothing: the dialog stays for the person.
    pub fn none() -> HookReply {
        HookReply {
            v: PROTO_VERSION,
            decision: None,
            message: None,
            error: None,
        }
    }

    /// A refusal with its reason (nothing is decided).
    pub fn error(why: impl Into<String>) -> HookReply {
        HookReply {
            error: Some(why.into()),
            ..HookReply::none()
        }
    }
}

/// Writes one frame: `value` as JSON on one line.
///
/// Errors: the writer's I/O errors; serialization never fails for these types.
pub fn write_frame<W: Write, T: Serialize>(w: &mut W, value: &T) -> io::Result<()> {
    let mut line = serde_json::to_vec(value).map_err(io::Error::other)?;
    line.push(b'\n');
    w.write_all(&line)?;
    w.flush()
}

/// Reads one frame. `Ok(None)` at a clean end of stream.
///
/// Errors: I/O errors; a frame longer than [`MAX_FRAME_BYTES`], or one that
/// is not valid JSON of type `T` (`InvalidData`).
pub fn read_frame<R: BufRead, T: DeserializeOwned>(r: &mut R) -> io::Result<Option<T>> {
    let mut line = Vec::new();
    let n = io::Read::take(&mut *r, MAX_FRAME_BYTES as u64 + 1).read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        let why = if line.len() > MAX_FRAME_BYTES {
            "frame too long"
        } else {
            "frame cut off"
        };
        return Err(io::Error::new(io::ErrorKind::InvalidData, why));
    }
    serde_json::from_slice(&line)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_bad_ones_are_errors() {
        let req = HookRequest {
            v: PROTO_VERSION,
            slot: "api".into(),
            generation: 2,
            token: "t".into(),
            protocol: HookProtocol::ClaudePermissionRequest,
            event: serde_json::json!({"tool_name": "Bash", "tool_input": {"command": "ls\nx"}}),
        };
        let mut buf = Vec::new();
        write_frame(&mut buf, &req).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(buf.iter().filter(|b| **b == b'\n').count(), 1);
        let mut r = io::Cursor::new(buf);
        let back: Option<HookRequest> = read_frame(&mut r).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, Some(req));
        let end: Option<HookRequest> = read_frame(&mut r).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(end, None);
        let mut cut = io::Cursor::new(b"{\"v\":1".to_vec());
        assert!(read_frame::<_, HookReply>(&mut cut).is_err());
        let mut junk = io::Cursor::new(b"not json\n".to_vec());
        assert!(read_frame::<_, HookReply>(&mut junk).is_err());
    }
}
