//! The corral server: the session manager (one PTY, child process and
//! terminal engine per slot; commands in ([`Command`]), events out
//! ([`Event`])), and the process that serves it to clients over a socket.
//!
//! Threads: one manager thread owns every session's state (detection,
//! prompts, answers, restarts); per session one reader thread (PTY output into
//! the engine, replies to the child's queries, transcript), one writer thread
//! (so a child that stops reading never blocks corral; see `session/pty.rs`)
//! and one waiter thread (exit status). Readers raise a per-session dirty flag
//! and wake the UI only on its false-to-true edge. A typed key or paste is
//! written to the PTY on the calling (UI) thread when no earlier command is
//! still waiting for the manager, so it never overtakes one.
//!
//! This file is the server's public face: its rooms and what callers use.
//! The rooms, and the one way their dependencies point:
//!
//! - `host` (the process) -> `clients` (attached clients, the screen sink)
//!   -> `view` (the session view ctl and clients read) <- `ctl`;
//! - `host`/`clients`/`ctl` -> `handle` ([`SessionManager`]) -> `manager`
//!   (the thread);
//! - `manager` -> `approvals` (pure: answer checks, dialog matching, audit
//!   records; imports no other room), `session` (PTY, spawner, reader,
//!   command line), `shared`, `bus`, `timing`, `options`, and the leaf
//!   files `state`, `conversation`, `transcript`, `confine`, `probe`,
//!   `socket`.
//!
//! `tests/architecture.rs` holds the rooms to it: no circle among them, and
//! none of them uses ratatui, crossterm or tui-term (a socket server speaks
//! the same commands and events).

mod approvals;
mod bus;
mod clients;
mod confine;
mod conversation;
mod ctl;
mod handle;
pub mod host;
mod manager;
mod options;
mod probe;
mod pty;
mod session;
mod shared;
mod slot;
mod socket;
pub mod state;
mod timing;
mod transcript;
mod view;

pub use crate::proto::{AnsweredBy, Command, Event, SlotIdx};
pub use approvals::answer::{Refusal, check_answer};
pub use bus::EventSink;
pub use handle::SessionManager;
pub use options::{HookOptions, ManagerOptions};
pub use session::reader::FLOOD_BYTES;
pub use session::spawn::{PtySpawner, Spawned, Spawner};
pub use shared::{Launch, MAX_ADDED_SLOTS, ScreenSink, SlotShared};
pub use socket::ClientHandler;
pub use timing::{
    AFTER_HOOK_MS, DETECT_DEBOUNCE_MS, HOOK_GRACE_MS, POLICY_SETTLE_MS, REANSWER_AFTER_MS,
    REFLOW_GRACE_MS, REFLOW_MAX_MS, REFLOW_QUIET_MS, SHUTDOWN_GRACE,
};
