//! The approval layer's pure parts: checking an answer against the screen,
//! matching a screen dialog with a hook request or with itself after a
//! resize, and the audit record. Imports nothing else from `server/` (a test
//! holds it to that), so each part is testable alone.

pub(crate) mod answer;
pub(crate) mod audit;
pub(crate) mod inbox;
pub(crate) mod reflow;
pub(crate) mod request;
pub(crate) mod screen;

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

/// An answered prompt still on screen, unchanged, after this long may be
/// answered again (the agent missed the keys), in milliseconds.
pub const REANSWER_AFTER_MS: u64 = 2000;

/// How long an answer handed back from a hook waits for the agent's dialog,
/// in milliseconds.
pub const AFTER_HOOK_MS: u64 = 30_000;

/// How often the screen is read again while such an answer waits, in
/// milliseconds.
pub const AFTER_HOOK_RECHECK_MS: u64 = 250;
