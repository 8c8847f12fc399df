//! The wire between corral's processes: the server's Unix socket speaks
//! newline-delimited JSON frames, each carrying the protocol version `v`.
//!
//! Two conversations run over it, told apart by their first frame:
//! - `corral hook` (started by an agent as its permission hook) sends a
//!   [`HookRequest`] and waits for one [`HookReply`];
//! - a client (`corral`, `corral --attach`, `corral ls`, `corral
//!   kill-server`) sends a [`Hello`]. The server answers with one JSON line,
//!   a [`Welcome`] (or `{"v":..,"error":".."}`), and an attached client then
//!   speaks binary frames ([`Frame`]): the session's [`Event`]s, every
//!   slot's PTY output bytes and whole screens to rebuild a mirror from
//!   (server to client), and [`ClientMsg`]s (client to server).
//!
//! A first frame from another version is refused with a reply that says so:
//! the hook then leaves the dialog to the person, and a client exits with
//! the reason.

use std::io::{self, BufRead, Write};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::time::Duration;

use crate::detect::{AgentState, Answer, Prompt, PromptId};
use crate::keys::{self, KeyPress};

/// The reason a server gives a client it refuses while it starts (its
/// socket listens before its slots are ready): the client tries again.
pub const STARTING: &str = "the server is starting";

/// The version of the frames below. A peer with another version is refused.
pub const PROTO_VERSION: u32 = 2;

/// Largest frame accepted, in bytes (a hook request carries a whole tool
/// input, such as a file's new content).
pub const MAX_FRAME_BYTES: usize = 8 << 20;

pub use crate::model::HookProtocol;

pub mod ctl;

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

/// Index of a slot in the config's slot list.
pub type SlotIdx = usize;

/// Who decided an answer, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct AnsweredBy {
    /// `keyboard` (later also `policy`).
    pub source: String,
    /// The key or rule that decided (`y`, `a`, `n`).
    pub detail: String,
}

/// A command to the session manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", tag = "cmd")]
pub enum Command {
    /// Write raw bytes to a slot's PTY.
    Write {
        /// Target slot.
        slot: SlotIdx,
        /// Bytes, sent as they are.
        bytes: Vec<u8>,
    },
    /// Send a key press, encoded for the child's current input modes.
    Key {
        /// Target slot.
        slot: SlotIdx,
        /// The key.
        key: KeyPress,
    },
    /// Paste text (bracketed when the child asked for it).
    Paste {
        /// Target slot.
        slot: SlotIdx,
        /// The text.
        text: String,
    },
    /// A mouse event inside the slot's pane (insert mode): sent to the child
    /// when it asked for mouse reports; otherwise the wheel scrolls the
    /// scrollback view.
    Mouse {
        /// Target slot.
        slot: SlotIdx,
        /// The event, in pane cells.
        event: keys::MouseReport,
    },
    /// Resize a slot's PTY and screen to `rows` x `cols` cells.
    Resize {
        /// Target slot.
        slot: SlotIdx,
        /// Rows in cells.
        rows: u16,
        /// Columns in cells.
        cols: u16,
    },
    /// Scroll a slot's view by `delta` rows (positive = back in time).
    Scroll {
        /// Target slot.
        slot: SlotIdx,
        /// Rows; `i32::MIN` returns to the live screen.
        delta: i32,
    },
    /// Answer the prompt with this id, only if it is still on screen.
    Answer {
        /// Target slot.
        slot: SlotIdx,
        /// The prompt the user saw.
        prompt: PromptId,
        /// The answer.
        answer: Answer,
        /// Who decided.
        by: AnsweredBy,
    },
    /// Stop a slot's child (SIGHUP, then SIGKILL after 2 s). No restart.
    Kill {
        /// Target slot.
        slot: SlotIdx,
    },
    /// Stop a slot's child if it runs and start a new session at once.
    Restart {
        /// Target slot.
        slot: SlotIdx,
    },
    /// Turn automatic (policy) answers on or off.
    SetAutoAnswers {
        /// True to answer by policy.
        enabled: bool,
    },
    /// Stop every child and end the manager thread.
    Shutdown,
}

/// An event from the session manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case", tag = "event")]
pub enum Event {
    /// New output was drawn (sent once until [`SessionManager::take_dirty`]).
    Output {
        /// The slot.
        slot: SlotIdx,
    },
    /// A session started (generation counts from 1).
    Started {
        /// The slot.
        slot: SlotIdx,
        /// Generation of the new session.
        generation: u64,
    },
    /// The detected state changed.
    StateChanged {
        /// The slot.
        slot: SlotIdx,
        /// New state.
        state: AgentState,
        /// Rule that decided.
        rule: String,
    },
    /// A permission prompt appeared.
    PromptOpened {
        /// The slot.
        slot: SlotIdx,
        /// The prompt, with its id.
        prompt: Prompt,
    },
    /// A pending prompt was drawn again after corral resized its pane: the
    /// same dialog, keeping its place in the inbox and its age, with what
    /// the screen shows now. Its id is new (`prompt.id != was`) when it
    /// reads otherwise (a re-wrap may read a cut subject more whole): an
    /// answer to the old id is then refused.
    PromptUpdated {
        /// The slot.
        slot: SlotIdx,
        /// The id it had.
        was: PromptId,
        /// The prompt as read now, with its id.
        prompt: Prompt,
    },
    /// A prompt is no longer on screen.
    PromptClosed {
        /// The slot.
        slot: SlotIdx,
        /// Its id.
        prompt: PromptId,
    },
    /// The title changed.
    Title {
        /// The slot.
        slot: SlotIdx,
        /// New title.
        title: String,
    },
    /// The child rang the bell.
    Bell {
        /// The slot.
        slot: SlotIdx,
    },
    /// The child exited.
    Exited {
        /// The slot.
        slot: SlotIdx,
        /// `0`, `1`, `signal Hangup`, ...
        status: String,
        /// Whether it will be restarted, and after how long.
        restart_in: Option<Duration>,
    },
    /// Keys for an answer were sent.
    AnswerSent {
        /// The slot.
        slot: SlotIdx,
        /// The prompt.
        prompt: PromptId,
        /// The answer.
        answer: Answer,
        /// Who decided (keyboard or a policy rule).
        by: AnsweredBy,
    },
    /// The policy left a prompt to the user, and why (`dangerous: sudo`).
    PolicyAsked {
        /// The slot.
        slot: SlotIdx,
        /// The prompt.
        prompt: PromptId,
        /// Why it was not answered automatically.
        reason: String,
    },
    /// An answer was not sent, and why.
    AnswerRefused {
        /// The slot.
        slot: SlotIdx,
        /// The prompt the user saw.
        prompt: PromptId,
        /// Why nothing was sent.
        reason: String,
    },
    /// Starting a session failed.
    SpawnFailed {
        /// The slot.
        slot: SlotIdx,
        /// What went wrong.
        error: String,
    },
    /// A slot's git worktree: its branch, and how many files have
    /// uncommitted changes (read when it is made and whenever the agent
    /// goes idle).
    Worktree {
        /// The slot.
        slot: SlotIdx,
        /// Its branch.
        branch: String,
        /// Files with uncommitted changes (`git status --porcelain` lines).
        changes: usize,
    },
    /// How a slot's new session is confined (`None`: it asks for no
    /// sandbox), sent as each session starts.
    Sandbox {
        /// The slot.
        slot: SlotIdx,
        /// Its sandbox (boxed: events stay small).
        status: Option<Box<crate::sandbox::SandboxStatus>>,
    },
    /// A slot's git worktree was removed (`ctl worktree SLOT remove`): it
    /// has none now.
    WorktreeRemoved {
        /// The slot.
        slot: SlotIdx,
    },
    /// Something about a slot a person should know (a server started again
    /// resumed its conversation, or could not read its state file); shown
    /// with the decisions.
    Notice {
        /// The slot.
        slot: SlotIdx,
        /// What happened, one line.
        text: String,
    },
    /// Input for a slot was not taken (no session runs; its program is not
    /// reading): said, never dropped silently.
    InputRefused {
        /// The slot.
        slot: SlotIdx,
        /// Why, one line (`sh: no session is running: input not sent`).
        reason: String,
    },
    /// A structured slot's agent ended a turn: its result, as the protocol
    /// reported it.
    TurnEnded {
        /// The slot.
        slot: SlotIdx,
        /// The turn's result (final text, conversation id, duration, cost,
        /// tokens, tools denied).
        result: Box<crate::agent_protocol::TurnResult>,
    },
    /// A PTY slot's conversation usage, as its agent's own transcript says
    /// it when a turn ended (the whole conversation's, not a delta).
    Usage {
        /// The slot.
        slot: SlotIdx,
        /// Turns (prompts typed), tokens; no cost.
        usage: crate::agent_protocol::SlotUsage,
    },
    /// A slot was added to the session (`corral ctl new`), with the next
    /// index; it starts after this.
    SlotAdded {
        /// The new slot's index.
        slot: SlotIdx,
        /// The slot.
        info: SlotInfo,
    },
}

/// What a client is, in its first frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Protocol version ([`PROTO_VERSION`]).
    pub v: u32,
    /// What the client wants.
    pub hello: HelloKind,
}

/// What a client wants from the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum HelloKind {
    /// Show the session in a terminal of `cols` x `rows` cells: the whole
    /// grid, or one slot (`--attach SLOT`).
    Attach {
        /// Terminal width in cells.
        cols: u16,
        /// Terminal height in cells.
        rows: u16,
        /// The one slot to show, by id.
        slot: Option<String>,
    },
    /// `corral web`: show every slot without a terminal of its own. The
    /// client gets the welcome, events and every slot's output as an
    /// attached one does, but has no size (the panes keep the terminal
    /// clients' sizes) and sends no commands: what it types or answers goes
    /// as `ctl` requests, checked as those are.
    Watch,
    /// `corral ls`: the [`Welcome`] alone, then the server hangs up.
    List,
    /// `corral kill-server`: the server answers with a [`Welcome`], stops
    /// every agent (SIGHUP, then SIGKILL after a grace period) and exits;
    /// the connection closes when it is gone.
    Kill,
    /// `corral ctl`: one request; the server answers with
    /// [`ctl::CtlReply`] frames instead of a [`Welcome`] and hangs up.
    Ctl {
        /// What to do.
        request: ctl::CtlRequest,
    },
}

/// The server's answer to a [`Hello`]: the session as it is now. Ages are
/// in milliseconds before the moment the welcome was sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Welcome {
    /// Protocol version ([`PROTO_VERSION`]).
    pub v: u32,
    /// The session's name (`default`).
    pub session: String,
    /// The server's process id.
    pub pid: u32,
    /// Milliseconds since the server started.
    pub uptime_ms: u64,
    /// Every slot, in slot order.
    pub slots: Vec<SlotInfo>,
    /// Pending prompts, oldest first.
    pub inbox: Vec<InboxInfo>,
    /// Recent decisions, oldest first.
    pub decisions: Vec<DecisionInfo>,
    /// Automatic (policy) answers are on; the person paused them if not.
    pub auto_answers: bool,
    /// Clients attached, this one included.
    pub clients: usize,
    /// Rows of scrollback each slot keeps (a client's copies keep as many).
    pub scrollback_rows: usize,
    /// The config the server runs (`None` from a server that does not say).
    #[serde(default)]
    pub config: Option<ConfigId>,
}

/// Which config a server runs: the file, and a digest of its text as the
/// server read it, so that a client can tell another file, or the same file
/// edited since, from the one that runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigId {
    /// The file's canonical path (`<embedded demo config>` for the built-in
    /// demo).
    pub path: String,
    /// SHA-256 of the text, 64 lower-case hex digits.
    pub sha256: String,
}

impl ConfigId {
    /// The id of config text `text` read from `path`.
    pub fn of(path: &std::path::Path, text: &str) -> ConfigId {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(text.as_bytes());
        // One file, one name: `..`, symlinks and the directory it was
        // named from make no difference (else a second name would read as
        // another config, its state kept apart).
        let path = if path.to_string_lossy().starts_with('<') {
            path.to_path_buf()
        } else {
            std::fs::canonicalize(path)
                .or_else(|_| std::path::absolute(path))
                .unwrap_or_else(|_| path.to_path_buf())
        };
        ConfigId {
            path: path.to_string_lossy().into_owned(),
            sha256: digest.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }

    /// Whether this is the built-in demo's config.
    pub fn is_demo(&self) -> bool {
        self.path.starts_with('<')
    }
}

/// A slot as a [`Welcome`] shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SlotInfo {
    /// The slot's id.
    pub id: String,
    /// Its role.
    pub role: String,
    /// Its agent profile's name.
    pub agent: String,
    /// The detected state.
    pub state: AgentState,
    /// Milliseconds in that state.
    pub state_age_ms: u64,
    /// The window title its program set.
    pub title: String,
    /// Session generation (1 = first start, 0 = never started).
    pub generation: u64,
    /// PTY size in cells, rows.
    pub rows: u16,
    /// PTY size in cells, columns.
    pub cols: u16,
    /// Its worktree's branch and files with uncommitted changes.
    #[serde(default)]
    pub worktree: Option<(String, usize)>,
    /// How its session is confined, when it asks for a sandbox (boxed:
    /// events that carry a slot stay small).
    #[serde(default)]
    pub sandbox: Option<Box<crate::sandbox::SandboxStatus>>,
    /// A structured slot's turns, tokens and cost, from its protocol
    /// (boxed, as `sandbox`).
    #[serde(default)]
    pub usage: Option<Box<crate::agent_protocol::SlotUsage>>,
}

/// A pending prompt as a [`Welcome`] shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxInfo {
    /// The slot that asks.
    pub slot: SlotIdx,
    /// The prompt, with its id.
    pub prompt: Prompt,
    /// Milliseconds it has waited.
    pub age_ms: u64,
}

/// One line of the decisions panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionInfo {
    /// Milliseconds since the decision.
    pub age_ms: u64,
    /// What happened, in words.
    pub text: String,
}

/// A message from an attached client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "msg")]
pub enum ClientMsg {
    /// A command for the sessions. `Resize` is this client's pane size for
    /// the slot; the PTY takes it when this client is the slot's latest
    /// (see the server).
    Command {
        /// The command.
        command: Command,
    },
    /// Explain detection on a slot's live screen; answered with
    /// [`ServerMsg::Explained`].
    Explain {
        /// The slot.
        slot: SlotIdx,
    },
    /// Stop every agent and the server (the person quit).
    Quit,
    /// Send this client each shown slot's PTY input ([`ServerMsg::Input`]),
    /// now and after every restart: it writes the person's keys there
    /// itself, one hop shorter than through the server.
    WantInput,
    /// Answer with [`ServerMsg::InputWritten`] once every key, paste and
    /// write this client sent for `slot` before this message reached its
    /// PTY: until then the client sends its keys through the server too,
    /// so none overtakes another.
    InputSync {
        /// The slot.
        slot: SlotIdx,
        /// The client's number for this request, echoed back.
        seq: u64,
    },
    /// The person typed into `slot` through its PTY input: for the size
    /// rule (the slot takes this client's size).
    Typed {
        /// The slot.
        slot: SlotIdx,
    },
    /// This client's copy of `slot` keeps its scrollback (`on`: the person
    /// scrolls back or copies; the server sends the whole terminal with it)
    /// or the screen only (`off`, the default: a copy no one scrolls needs
    /// no history, and the server keeps it).
    History {
        /// The slot.
        slot: SlotIdx,
        /// With scrollback.
        on: bool,
    },
    /// Add a slot running `agent`'s program (`N`), in a git worktree on
    /// `branch` if one is given; answered with its `SlotAdded` event, or
    /// [`ServerMsg::Refused`].
    NewSlot {
        /// The agent profile.
        agent: String,
        /// The worktree's branch.
        branch: Option<String>,
        /// The slot it goes beside (the focused one): it works where that
        /// one does (its worktree, else its directory).
        #[serde(default)]
        near: Option<SlotIdx>,
    },
}

/// A message from the server to an attached client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "msg")]
pub enum ServerMsg {
    /// Something happened in the sessions.
    Event {
        /// The event.
        event: Event,
    },
    /// Automatic answers were turned on or off (by any client).
    AutoAnswers {
        /// True when rules answer.
        enabled: bool,
    },
    /// A descriptor of the PTY master of the slot's session `generation`
    /// comes with this frame (SCM_RIGHTS): the person's keys may be written
    /// there. It is for typed keys and pastes only: answers go through the
    /// server, which checks the screen first.
    Input {
        /// The slot.
        slot: SlotIdx,
        /// The session the descriptor belongs to.
        generation: u64,
    },
    /// The answer to [`ClientMsg::InputSync`] `seq`: what the client sent
    /// for `slot` before it is in the PTY (or its session ended).
    InputWritten {
        /// The slot.
        slot: SlotIdx,
        /// The request's number.
        seq: u64,
    },
    /// The client's copy of this slot misses output from here on (it fell
    /// behind); the slot's whole terminal follows once it caught up. Until
    /// then its pane does not show the slot as it is.
    Stale {
        /// The slot.
        slot: SlotIdx,
    },
    /// The answer to [`ClientMsg::Explain`].
    Explained {
        /// The slot.
        slot: SlotIdx,
        /// `corral explain`'s text for its live screen.
        text: String,
    },
    /// What this client asked could not be done, and why.
    Refused {
        /// Why.
        why: String,
    },
    /// The server is going away, and why (`quit by another client`).
    Bye {
        /// Why.
        reason: String,
    },
}

/// A binary frame after the handshake: a tag byte, the payload's length as
/// a little-endian u32, and the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// Tag 1: a [`ServerMsg`] or [`ClientMsg`] as JSON.
    Json(Vec<u8>),
    /// Tag 2: bytes a slot's program wrote, in order, after what the
    /// client's mirror holds (payload: slot as u32 LE, then the bytes).
    Output {
        /// The slot.
        slot: SlotIdx,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Tag 3 (screen only) or 4 (with scrollback): a slot's whole terminal,
    /// to rebuild the mirror from: a fresh engine of `rows` x `cols` cells
    /// fed `replay` ([`crate::engine::Engine::replay`], or
    /// [`crate::engine::Engine::replay_live`] without history) (payload:
    /// slot u32, rows u16, cols u16, all LE, then the bytes).
    Screen {
        /// The slot.
        slot: SlotIdx,
        /// Rows in cells.
        rows: u16,
        /// Columns in cells.
        cols: u16,
        /// The replay holds the scrollback (the client asked for its
        /// history, [`ClientMsg::History`]): the mirror keeps as much.
        history: bool,
        /// The bytes that rebuild it.
        replay: Vec<u8>,
    },
}

/// Largest binary frame accepted, in bytes (a screen with a full
/// scrollback of wide, coloured rows).
pub const MAX_BINARY_FRAME_BYTES: usize = 256 << 20;

impl Frame {
    /// A JSON frame of `value`.
    ///
    /// Errors: serialization failed (never for this module's types).
    pub fn json<T: Serialize>(value: &T) -> io::Result<Frame> {
        serde_json::to_vec(value)
            .map(Frame::Json)
            .map_err(io::Error::other)
    }

    /// The frame's bytes on the wire.
    pub fn encode(&self) -> Vec<u8> {
        let (tag, head, body): (u8, Vec<u8>, &[u8]) = match self {
            Frame::Json(b) => (1, Vec::new(), b),
            Frame::Output { slot, bytes } => (2, (*slot as u32).to_le_bytes().to_vec(), bytes),
            Frame::Screen {
                slot,
                rows,
                cols,
                history,
                replay,
            } => {
                let mut h = (*slot as u32).to_le_bytes().to_vec();
                h.extend_from_slice(&rows.to_le_bytes());
                h.extend_from_slice(&cols.to_le_bytes());
                (if *history { 4 } else { 3 }, h, replay)
            }
        };
        let len = (head.len() + body.len()) as u32;
        let mut out = Vec::with_capacity(5 + len as usize);
        out.push(tag);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&head);
        out.extend_from_slice(body);
        out
    }

    /// Reads one frame. `Ok(None)` at a clean end of stream.
    ///
    /// Errors: I/O errors; an unknown tag, a frame longer than
    /// [`MAX_BINARY_FRAME_BYTES`] or one too short for its header
    /// (`InvalidData`); a stream cut inside a frame (`UnexpectedEof`).
    pub fn read<R: io::Read>(r: &mut R) -> io::Result<Option<Frame>> {
        Frame::read_at_most(r, MAX_BINARY_FRAME_BYTES)
    }

    /// [`Frame::read`] with a smaller limit: a server reads a client's
    /// frames (commands, pasted text) with [`MAX_FRAME_BYTES`].
    ///
    /// Errors: as [`Frame::read`], with `max` bytes as the limit.
    pub fn read_at_most<R: io::Read>(r: &mut R, max: usize) -> io::Result<Option<Frame>> {
        let mut head = [0u8; 5];
        match r.read(&mut head[..1])? {
            0 => return Ok(None),
            _ => r.read_exact(&mut head[1..])?,
        }
        let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidData, why.to_string());
        if len > max {
            return Err(bad("frame too long"));
        }
        let mut body = vec![0u8; len];
        r.read_exact(&mut body)?;
        let u32_at = |b: &[u8], i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        match head[0] {
            1 => Ok(Some(Frame::Json(body))),
            2 if len >= 4 => Ok(Some(Frame::Output {
                slot: u32_at(&body, 0) as SlotIdx,
                bytes: body.split_off(4),
            })),
            tag @ (3 | 4) if len >= 8 => Ok(Some(Frame::Screen {
                slot: u32_at(&body, 0) as SlotIdx,
                rows: u16::from_le_bytes([body[4], body[5]]),
                cols: u16::from_le_bytes([body[6], body[7]]),
                history: tag == 4,
                replay: body.split_off(8),
            })),
            2..=4 => Err(bad("frame too short for its header")),
            t => Err(bad(&format!("unknown frame tag {t}"))),
        }
    }
}

/// The decisions panel's line for `ev`, or `None` if it decides nothing:
/// an answer sent (by key, rule or ctl), an answer refused, a prompt a rule
/// left to the person. `slot_id` names a slot; `pending` gives the tool and
/// subject of a prompt still in the inbox. The server and every client make
/// their lines with this, so all show the same.
pub fn decision_text(
    ev: &Event,
    slot_id: impl Fn(SlotIdx) -> String,
    pending: impl Fn(PromptId) -> Option<(String, String)>,
) -> Option<String> {
    match ev {
        Event::PolicyAsked { slot, reason, .. } => {
            Some(format!("{}: left to you: {reason}", slot_id(*slot)))
        }
        Event::AnswerSent {
            slot,
            prompt,
            answer,
            by,
        } => {
            let id = slot_id(*slot);
            let what = pending(*prompt)
                .map(|(tool, subject)| format!(" {tool} {}", crate::model::shown(&subject)))
                .unwrap_or_default();
            Some(if by.source == "policy" {
                let verb = match answer {
                    Answer::Deny => "auto-denied",
                    _ => "auto-approved",
                };
                format!("{verb} by rule {} → {id}{what}", by.detail)
            } else {
                format!("{answer} ({}) → {id}{what}", by.detail)
            })
        }
        Event::AnswerRefused { slot, reason, .. } => {
            Some(format!("nothing sent to {}: {reason}", slot_id(*slot)))
        }
        Event::Notice { slot, text } => Some(format!("{}: {text}", slot_id(*slot))),
        _ => None,
    }
}

/// Sends `bytes` with descriptor `fd` attached (SCM_RIGHTS) on a Unix
/// stream socket, blocking until all of it is sent.
///
/// Errors: the socket's.
pub fn send_with_fd(
    sock: &std::os::unix::net::UnixStream,
    bytes: &[u8],
    fd: std::os::fd::BorrowedFd<'_>,
) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let raw = fd.as_raw_fd();
    // SAFETY: CMSG_SPACE is arithmetic on its argument.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<libc::c_int>() as u32) } as usize;
    let mut control = vec![0u8; space];
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr() as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    // SAFETY: msghdr is plain data; every pointer in it points into live
    // buffers (`iov`, `control`) for the duration of the call, and the
    // control message is written inside `control`'s CMSG_SPACE bytes.
    let sent = unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        if cmsg.is_null() {
            return Err(io::Error::other("no room for the descriptor"));
        }
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<libc::c_int>() as u32) as _;
        std::ptr::copy_nonoverlapping(
            (&raw as *const libc::c_int).cast::<u8>(),
            libc::CMSG_DATA(cmsg),
            std::mem::size_of::<libc::c_int>(),
        );
        libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL)
    };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    let sent = sent as usize;
    if sent < bytes.len() {
        // The descriptor went with the first byte; the rest is plain.
        let mut s = sock;
        io::Write::write_all(&mut s, &bytes[sent..])?;
    }
    Ok(())
}

/// Waits until `fd` has something to read (or hung up), in `poll`.
///
/// A thread blocked in `read` on a Unix stream socket is woken each time
/// the peer reads (the kernel wakes the socket's whole wait queue when
/// room frees up); one waiting in `poll` for input only is not. So every
/// blocking read of the socket waits here first: the server's connection
/// thread is not woken by each echo its client reads, on the echo's way.
///
/// Errors: `poll`'s, other than an interruption.
pub fn wait_readable(fd: std::os::fd::RawFd) -> io::Result<()> {
    loop {
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the call.
        let n = unsafe { libc::poll(&mut p, 1, -1) };
        if n >= 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// A reader that waits in [`wait_readable`] before each read.
pub struct PollRead(pub std::os::unix::net::UnixStream);

impl io::Read for PollRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use std::os::fd::AsRawFd;
        wait_readable(self.0.as_raw_fd())?;
        self.0.read(buf)
    }
}

/// Reads a Unix stream socket with `recvmsg`, keeping every descriptor
/// that comes with the bytes (SCM_RIGHTS), in order: a descriptor arrives
/// no later than the first byte of the frame it was sent with.
pub struct FdReader {
    sock: std::os::unix::net::UnixStream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Descriptors received and not yet taken.
    pub fds: std::collections::VecDeque<std::os::fd::OwnedFd>,
}

impl FdReader {
    /// Reads `sock`, starting with `leftover` (bytes a buffered reader
    /// already took from it).
    pub fn new(sock: std::os::unix::net::UnixStream, leftover: &[u8]) -> FdReader {
        // Room for one recvmsg, and for whatever was left over.
        let mut buf = leftover.to_vec();
        buf.resize(leftover.len().max(64 * 1024), 0);
        FdReader {
            sock,
            end: leftover.len(),
            buf,
            start: 0,
            fds: std::collections::VecDeque::new(),
        }
    }

    fn fill(&mut self) -> io::Result<usize> {
        use std::os::fd::{AsRawFd, FromRawFd};
        // SAFETY: CMSG_SPACE is arithmetic on its argument.
        let space =
            unsafe { libc::CMSG_SPACE((4 * std::mem::size_of::<libc::c_int>()) as u32) } as usize;
        let mut control = vec![0u8; space];
        self.start = 0;
        self.end = 0;
        let mut iov = libc::iovec {
            iov_base: self.buf.as_mut_ptr().cast(),
            iov_len: self.buf.len(),
        };
        wait_readable(self.sock.as_raw_fd())?;
        loop {
            // SAFETY: msghdr points into live buffers for the call; the
            // control messages read are within `control`, and each
            // descriptor received is owned from here on (closed if unused).
            let n = unsafe {
                let mut msg: libc::msghdr = std::mem::zeroed();
                msg.msg_iov = &mut iov;
                msg.msg_iovlen = 1;
                msg.msg_control = control.as_mut_ptr().cast();
                msg.msg_controllen = space as _;
                let n = libc::recvmsg(self.sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC);
                if n >= 0 {
                    let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
                    while !cmsg.is_null() {
                        if (*cmsg).cmsg_level == libc::SOL_SOCKET
                            && (*cmsg).cmsg_type == libc::SCM_RIGHTS
                        {
                            let data = libc::CMSG_DATA(cmsg);
                            let len = (*cmsg).cmsg_len as usize - (data as usize - cmsg as usize);
                            for i in 0..len / std::mem::size_of::<libc::c_int>() {
                                let mut fd: libc::c_int = 0;
                                std::ptr::copy_nonoverlapping(
                                    data.add(i * std::mem::size_of::<libc::c_int>()),
                                    (&mut fd as *mut libc::c_int).cast::<u8>(),
                                    std::mem::size_of::<libc::c_int>(),
                                );
                                self.fds.push_back(std::os::fd::OwnedFd::from_raw_fd(fd));
                            }
                        }
                        cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
                    }
                }
                n
            };
            if n >= 0 {
                self.end = n as usize;
                return Ok(self.end);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

impl io::Read for FdReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.start == self.end && self.fill()? == 0 {
            return Ok(0);
        }
        let n = out.len().min(self.end - self.start);
        out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        Ok(n)
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

    /// One config file has one id, however it was named (`..`, a symlink).
    #[test]
    fn a_config_has_one_id_by_any_name() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let sub = d.path().join("sub");
        std::fs::create_dir_all(&sub).unwrap_or_else(|e| panic!("{e}"));
        let f = d.path().join("c.toml");
        std::fs::write(&f, "x").unwrap_or_else(|e| panic!("{e}"));
        let link = d.path().join("link.toml");
        std::os::unix::fs::symlink(&f, &link).unwrap_or_else(|e| panic!("{e}"));
        let id = ConfigId::of(&f, "x");
        assert_eq!(ConfigId::of(&sub.join("../c.toml"), "x"), id);
        assert_eq!(ConfigId::of(&link, "x"), id);
        assert!(!id.is_demo());
        assert!(ConfigId::of(std::path::Path::new("<embedded demo config>"), "x").is_demo());
    }

    #[test]
    fn binary_frames_round_trip_and_bad_ones_are_errors() {
        let msg = ServerMsg::Event {
            event: Event::AnswerSent {
                slot: 2,
                prompt: PromptId(7),
                answer: Answer::Select(3),
                by: AnsweredBy {
                    source: "keyboard".into(),
                    detail: "y".into(),
                },
            },
        };
        let frames = [
            Frame::json(&msg).unwrap_or_else(|e| panic!("{e}")),
            Frame::Output {
                slot: 3,
                bytes: b"\x1b[1mhi".to_vec(),
            },
            Frame::Screen {
                slot: 0,
                rows: 24,
                cols: 80,
                history: false,
                replay: vec![0; 100_000],
            },
            Frame::Screen {
                slot: 2,
                rows: 5,
                cols: 9,
                history: true,
                replay: b"old\r\nnew".to_vec(),
            },
            Frame::Output {
                slot: 1,
                bytes: Vec::new(),
            },
        ];
        let mut wire: Vec<u8> = frames.iter().flat_map(Frame::encode).collect();
        let mut r = io::Cursor::new(wire.clone());
        for f in &frames {
            let got = Frame::read(&mut r).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(got.as_ref(), Some(f));
        }
        assert_eq!(Frame::read(&mut r).unwrap_or_else(|e| panic!("{e}")), None);
        if let Some(Frame::Json(b)) = frames.first() {
            let back: ServerMsg = serde_json::from_slice(b).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(back, msg);
        }
        // Cut inside a frame, an unknown tag, a short header, a huge length.
        wire.truncate(wire.len() - 1);
        let mut r = io::Cursor::new(wire);
        let mut last = Ok(None);
        for _ in 0..frames.len() {
            last = Frame::read(&mut r);
        }
        assert!(last.is_err());
        let big = Frame::Output {
            slot: 0,
            bytes: vec![b'x'; MAX_FRAME_BYTES + 1],
        }
        .encode();
        assert!(Frame::read_at_most(&mut io::Cursor::new(big), MAX_FRAME_BYTES).is_err());
        for bad in [
            vec![9u8, 0, 0, 0, 0],
            vec![2u8, 1, 0, 0, 0, 0],
            vec![1u8, 0xff, 0xff, 0xff, 0xff],
        ] {
            assert!(Frame::read(&mut io::Cursor::new(bad)).is_err());
        }
    }

    #[test]
    fn a_descriptor_travels_with_its_frame() {
        use std::io::{Read, Write};
        use std::os::fd::AsFd;
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap_or_else(|e| panic!("{e}"));
        let (mut pipe_r, pipe_w) = std::io::pipe().unwrap_or_else(|e| panic!("{e}"));
        let before = Frame::Output {
            slot: 0,
            bytes: b"before".to_vec(),
        }
        .encode();
        let with = Frame::json(&ServerMsg::Input {
            slot: 1,
            generation: 3,
        })
        .unwrap_or_else(|e| panic!("{e}"))
        .encode();
        (&a).write_all(&before).unwrap_or_else(|e| panic!("{e}"));
        send_with_fd(&a, &with, pipe_w.as_fd()).unwrap_or_else(|e| panic!("{e}"));
        drop(pipe_w);
        drop(a);
        let mut r = FdReader::new(b, &[]);
        let first = Frame::read(&mut r).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(first, Some(Frame::Output { .. })));
        let second = Frame::read(&mut r).unwrap_or_else(|e| panic!("{e}"));
        let Some(Frame::Json(j)) = second else {
            panic!("not json: {second:?}")
        };
        let msg: ServerMsg = serde_json::from_slice(&j).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            msg,
            ServerMsg::Input {
                slot: 1,
                generation: 3
            }
        );
        let fd = r
            .fds
            .pop_front()
            .unwrap_or_else(|| panic!("no descriptor came"));
        let mut w = std::fs::File::from(fd);
        w.write_all(b"typed").unwrap_or_else(|e| panic!("{e}"));
        drop(w);
        let mut got = String::new();
        pipe_r
            .read_to_string(&mut got)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got, "typed");
        assert!(
            Frame::read(&mut r)
                .unwrap_or_else(|e| panic!("{e}"))
                .is_none()
        );
    }

    #[test]
    fn commands_and_keys_travel_as_json() {
        use crate::keys::{KeyCode, Mods};
        let mut keys = vec![
            KeyPress::ch(' '),
            KeyPress::ch('-'),
            KeyPress::ch('"'),
            KeyPress::ctrl('\\'),
            KeyPress::plain(KeyCode::F(12)),
            KeyPress {
                code: KeyCode::Up,
                mods: Mods {
                    ctrl: true,
                    alt: true,
                    shift: true,
                },
            },
        ];
        keys.extend((' '..='~').map(KeyPress::ch));
        keys.extend(['é', '中', '🙂'].map(KeyPress::ch));
        for key in keys {
            let cmd = ClientMsg::Command {
                command: Command::Key { slot: 1, key },
            };
            let json = serde_json::to_string(&cmd).unwrap_or_else(|e| panic!("{e}"));
            let back: ClientMsg =
                serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
            assert_eq!(back, cmd, "{json}");
        }
        let hello = Hello {
            v: PROTO_VERSION,
            hello: HelloKind::Attach {
                cols: 80,
                rows: 24,
                slot: Some("cc".into()),
            },
        };
        let json = serde_json::to_string(&hello).unwrap_or_else(|e| panic!("{e}"));
        assert!(json.contains("\"kind\":\"attach\""), "{json}");
        let back: Hello = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, hello);
    }
}
