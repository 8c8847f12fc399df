//! Types shared by every part of corral: the screen snapshot detection
//! reads, the agent states, the answer kinds. A leaf: it depends on nothing
//! of corral's (DESIGN.md §2, `model/`).

use std::fmt;

use serde::Serialize;

/// A text snapshot of a session's visible screen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScreenSnapshot {
    /// Every visible row (top to bottom), trailing blanks removed.
    pub rows: Vec<String>,
    /// Screen width in cells.
    pub cols: u16,
    /// Window title (OSC 0/2), empty if never set.
    pub title: String,
    /// Cursor as (row, col), 0-based.
    pub cursor: (u16, u16),
    /// True on the alternate screen.
    pub alternate: bool,
    /// Per row: every non-blank cell is in reverse video (Aider marks
    /// subjects so). Empty when unknown (text captures).
    pub inverse: Vec<bool>,
    /// Per row: the cells from the row's start that are in reverse video,
    /// blanks included (Aider keeps the space at a break inside its
    /// marking). Empty when unknown.
    pub inverse_end: Vec<u16>,
    /// Per row: the row was auto-wrapped by the terminal and its text goes
    /// on in the next row (the engine's soft-wrap flag). Empty when unknown.
    pub wrapped: Vec<bool>,
    /// The first row continues a row in the scrollback (it was soft-wrapped
    /// into it). False when unknown.
    pub continued: bool,
}

impl ScreenSnapshot {
    /// A snapshot from plain text lines (one per row), as in a `.txt` capture.
    pub fn from_text(text: &str, cols: u16, title: &str) -> Self {
        ScreenSnapshot {
            rows: text.lines().map(|l| l.trim_end().to_string()).collect(),
            cols,
            title: title.to_string(),
            cursor: (0, 0),
            alternate: true,
            inverse: Vec::new(),
            inverse_end: Vec::new(),
            wrapped: Vec::new(),
            continued: false,
        }
    }
}

/// What a session's agent is doing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgentState {
    /// Launched, nothing recognisable on screen yet.
    Starting,
    /// Busy (spinner, output flowing).
    Working,
    /// Waiting for the user's next message.
    Idle,
    /// Asking a question or showing a menu that is not a tool permission
    /// (first-run dialogs, trust prompts).
    NeedsInput,
    /// Showing a tool-permission prompt.
    NeedsPermission,
    /// Working, but the screen has not changed for too long.
    Stalled,
    /// The child exited with this description (`0`, `1`, `signal 9`).
    Exited(String),
    /// Waiting to be started again after an exit.
    Restarting,
}

impl AgentState {
    /// Short label for the UI (`needs-permission`).
    pub fn label(&self) -> String {
        match self {
            AgentState::Starting => "starting".into(),
            AgentState::Working => "working".into(),
            AgentState::Idle => "idle".into(),
            AgentState::NeedsInput => "needs-input".into(),
            AgentState::NeedsPermission => "needs-permission".into(),
            AgentState::Stalled => "stalled".into(),
            AgentState::Exited(s) => format!("exited ({s})"),
            AgentState::Restarting => "restarting".into(),
        }
    }

    /// True for the states in which the agent waits for the user.
    pub fn is_blocked(&self) -> bool {
        matches!(self, AgentState::NeedsInput | AgentState::NeedsPermission)
    }
}

/// What an answer option does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnswerKind {
    /// Allow this one request.
    ApproveOnce,
    /// Allow this request and similar ones from now on.
    ApproveAlways,
    /// Refuse the request.
    Deny,
    /// Anything else (for example Claude's "switch to auto mode").
    Other,
}

/// An answer the user (or later a policy) gives to a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Answer {
    /// Approve once.
    ApproveOnce,
    /// Approve always.
    ApproveAlways,
    /// Deny.
    Deny,
    /// Choose the option with this number.
    Select(u8),
}

impl AnswerKind {
    /// The kind's name as in profiles (`approve-once`).
    pub fn name(self) -> &'static str {
        match self {
            AnswerKind::ApproveOnce => "approve-once",
            AnswerKind::ApproveAlways => "approve-always",
            AnswerKind::Deny => "deny",
            AnswerKind::Other => "other",
        }
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::ApproveOnce => f.write_str("approve-once"),
            Answer::ApproveAlways => f.write_str("approve-always"),
            Answer::Deny => f.write_str("deny"),
            Answer::Select(n) => write!(f, "select {n}"),
        }
    }
}
