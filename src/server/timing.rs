//! Every timing constant of the server, in one place (milliseconds or
//! [`Duration`]s).

use std::time::Duration;

/// How long the exit of a slot's program waits for the rest of its PTY
/// session to end before it is reported.
pub(crate) const SESSION_GONE_WAIT: Duration = Duration::from_secs(3);

/// How long the exit of a structured slot's agent waits for its stdout and
/// stderr readers to reach the end of their pipes, so its last lines are read
/// before its exit is reported (a grandchild holding a pipe open is not
/// waited for longer).
pub(crate) const READERS_DRAIN_WAIT: Duration = Duration::from_secs(2);

/// Debounce between output and detection, in milliseconds.
pub const DETECT_DEBOUNCE_MS: u64 = 100;

/// How long the screen of an agent that draws its dialog while its hook
/// runs (Claude Code) must read idle, with no dialog, before a request whose
/// dialog corral never read is taken as answered in the pane.
pub(crate) const HOOK_IDLE: Duration = Duration::from_millis(1000);

/// How long after `ctl send`'s text, and after the program's last output,
/// its Enter goes: Gemini CLI 0.61 drops an Enter that comes within 500 ms
/// of a paste, and Codex CLI takes one right after fast input as part of a
/// paste.
pub(crate) const ENTER_AFTER_TEXT: Duration = Duration::from_millis(600);

/// The latest an Enter after text goes, however busy the program's output.
pub(crate) const ENTER_MAX: Duration = Duration::from_secs(5);
/// Most bytes a reader thread gathers before it hands them to the engine
/// and the transcript.
pub(crate) const READ_CHUNK: usize = 64 * 1024;
/// Most bytes one read of a PTY master returns on Linux (the n_tty line
/// discipline's buffer).
pub(crate) const PTY_READ_MAX: usize = 4096;
/// How long agents have to end after SIGHUP when corral stops them all
/// (quit, `corral kill-server`) before they get SIGKILL.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

pub use crate::server::approvals::{
    AFTER_HOOK_MS, AFTER_HOOK_RECHECK_MS, HOOK_GRACE_MS, POLICY_SETTLE_MS, REANSWER_AFTER_MS,
    REFLOW_GRACE_MS, REFLOW_MAX_MS, REFLOW_QUIET_MS,
};
