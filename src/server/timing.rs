//! Every timing constant of the server, in one place (milliseconds or
//! [`Duration`]s).

use std::time::Duration;

/// How long the exit of a slot's program waits for the rest of its PTY
/// session to end before it is reported.
pub(crate) const SESSION_GONE_WAIT: Duration = Duration::from_secs(3);

/// A resumed session that fails this soon, before its agent was ever
/// ready, was refused by the agent: corral starts a new conversation.
pub(crate) const RESUME_GRACE: Duration = Duration::from_secs(10);

/// Debounce between output and detection, in milliseconds.
pub const DETECT_DEBOUNCE_MS: u64 = 100;
/// How long a prompt must stay unchanged on screen before a policy answers
/// it, in milliseconds. Agents draw a dialog before they listen for keys
/// (Claude Code 2.1.329 dropped a key sent 3 ms after the dialog appeared);
/// with the detection debounce this keeps automatic answers under 500 ms.
pub const POLICY_SETTLE_MS: u64 = 300;
/// How long a permission dialog may be on the screen of a slot whose agent
/// has corral's hook before the inbox shows it as a screen prompt, in
/// milliseconds: the agent starts its hook as it draws the dialog, and the
/// hook's exact request replaces the screen reading.
pub const HOOK_GRACE_MS: u64 = 1500;

/// After corral resizes a slot's PTY (a terminal resize, a zoom), how long
/// its agent may take to draw its dialog again, in milliseconds. Meanwhile a
/// dialog the screen stops showing is still pending, and one drawn again at
/// the new size is the same prompt: it keeps its id and its age. An agent
/// still drawing gets [`REFLOW_QUIET_MS`] after its last output, up to
/// [`REFLOW_MAX_MS`] after the resize.
pub const REFLOW_GRACE_MS: u64 = 2000;

/// See [`REFLOW_GRACE_MS`]: quiet time after the agent's last output, in
/// milliseconds.
pub const REFLOW_QUIET_MS: u64 = 1000;

/// See [`REFLOW_GRACE_MS`]: the longest a reflow is waited for, in
/// milliseconds.
pub const REFLOW_MAX_MS: u64 = 10_000;
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
/// How long an answer handed back from a hook waits for the agent's dialog,
/// in milliseconds.
pub const AFTER_HOOK_MS: u64 = 30_000;
/// How often the screen is read again while such an answer waits, in
/// milliseconds.
pub(crate) const AFTER_HOOK_RECHECK_MS: u64 = 250;
/// An answered prompt still on screen, unchanged, after this long may be
/// answered again (the agent missed the keys), in milliseconds.
pub const REANSWER_AFTER_MS: u64 = 2000;
/// Most bytes a reader thread gathers before it hands them to the engine
/// and the transcript.
pub(crate) const READ_CHUNK: usize = 64 * 1024;
/// Most bytes one read of a PTY master returns on Linux (the n_tty line
/// discipline's buffer).
pub(crate) const PTY_READ_MAX: usize = 4096;
/// First restart delay; doubles up to [`RESTART_MAX`].
pub(crate) const RESTART_MIN: Duration = Duration::from_secs(1);
/// Longest restart delay.
pub(crate) const RESTART_MAX: Duration = Duration::from_secs(30);
/// How long agents have to end after SIGHUP when corral stops them all
/// (quit, `corral kill-server`) before they get SIGKILL.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// A session that ran this long resets the restart delay.
pub(crate) const RESTART_RESET_AFTER: Duration = Duration::from_secs(30);
