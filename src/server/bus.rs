//! The manager thread's one inbox ([`Msg`]) and where events go
//! ([`EventSink`]).

use crate::config::SlotConfig;
use crate::proto::{self, Command, Event, SlotIdx};

use crate::server::pty::*;
use crate::server::socket;

/// Where events go: any thread may send.
pub type EventSink = tokio::sync::mpsc::UnboundedSender<Event>;

pub(crate) enum Msg {
    Cmd(Command),
    /// A line from a structured session's agent (or its stderr).
    Agent {
        slot: SlotIdx,
        generation: u64,
        line: crate::agent_protocol::AgentLine,
    },
    /// A PTY slot's usage, read from its agent's transcript off the
    /// manager thread.
    UsageRead {
        slot: SlotIdx,
        usage: crate::agent_protocol::SlotUsage,
    },
    /// Call `done` once the input sent for `slot` before it is written
    /// ([`crate::server::SessionManager::when_input_written`]).
    InputWritten {
        slot: SlotIdx,
        done: crate::server::pty::IdleCallback,
    },
    /// Keys a person typed into a structured slot's pane: its composer's.
    Compose {
        slot: SlotIdx,
        bytes: Vec<u8>,
    },
    /// Input written on the caller's thread was not taken: said to clients.
    InputRefused {
        slot: SlotIdx,
        error: InputError,
    },
    /// A slot's reader saw output (of any of its sessions: the flag it
    /// raised is the slot's, so even a stopped session's last one counts).
    Output {
        slot: SlotIdx,
        urgent: bool,
    },
    Exited {
        slot: SlotIdx,
        generation: u64,
        status: String,
        success: bool,
    },
    EngineFailed {
        slot: SlotIdx,
        generation: u64,
    },
    Socket(socket::SocketMsg),
    /// `corral ctl worktree SLOT remove`.
    RemoveWorktree {
        slot: SlotIdx,
        force: bool,
        reply: std::sync::mpsc::Sender<Result<String, String>>,
    },
    /// A worktree made off the manager thread for slot `slot` (`Ok`), or
    /// why not: the slot starts now (or says why it cannot).
    WorktreeMade {
        slot: SlotIdx,
        made: Result<(), String>,
    },
    /// `corral ctl new`.
    AddSlot {
        cfg: Box<SlotConfig>,
        size: (u16, u16),
        /// With no `cwd` of its own, the slot works where this one does.
        near: Option<SlotIdx>,
        reply: std::sync::mpsc::Sender<Result<SlotIdx, String>>,
    },
    /// `corral ctl send` and `prompt`: type unless a prompt is open.
    CtlSend {
        slot: SlotIdx,
        input: proto::ctl::SendInput,
        enter: bool,
        reply: std::sync::mpsc::Sender<Result<(), String>>,
    },
}
