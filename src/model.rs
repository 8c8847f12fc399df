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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
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
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
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
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
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

/// How a hook talks to the agent that ran it: the shapes of its input and of
/// the decision it prints. Named in the agent profile's `[hook]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
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

/// `text` with every character a terminal would not show made visible as
/// `⟨U+XXXX⟩`: control characters other than the line break (ESC, CR, TAB,
/// ...), zero-width and joiner characters, bidirectional overrides and
/// isolates, the soft hyphen and the byte-order mark. A subject is shown
/// through this, so the person reads every character the decision covers
/// (`echo ok\u{202e}…` must not display as something else).
pub fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let hidden = (c.is_control() && c != '\n')
            || matches!(
                c,
                '\u{00ad}'
                    | '\u{061c}'
                    | '\u{180e}'
                    | '\u{200b}'..='\u{200f}'
                    | '\u{202a}'..='\u{202e}'
                    | '\u{2060}'..='\u{2064}'
                    | '\u{2066}'..='\u{2069}'
                    | '\u{feff}'
            );
        if hidden {
            out.push_str(&format!("⟨U+{:04X}⟩", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` in rows of at most `width_cells` cells, broken at spaces (a word
/// longer than a row is cut at the row's end), at most `height` rows.
/// Returns the rows and whether they hold the whole text.
pub fn wrap_words(text: &str, width_cells: usize, height: usize) -> (Vec<String>, bool) {
    let w = width_cells.max(1);
    let mut rows: Vec<String> = Vec::new();
    let mut row = String::new();
    for word in text.split_whitespace() {
        let mut word = word.to_string();
        loop {
            let need = if row.is_empty() {
                unicode_width::UnicodeWidthStr::width(word.as_str())
            } else {
                unicode_width::UnicodeWidthStr::width(row.as_str())
                    + 1
                    + unicode_width::UnicodeWidthStr::width(word.as_str())
            };
            if need <= w {
                if !row.is_empty() {
                    row.push(' ');
                }
                row.push_str(&word);
                break;
            }
            if !row.is_empty() {
                rows.push(std::mem::take(&mut row));
                continue;
            }
            // A word wider than the row: cut it at the row's end.
            let mut head = String::new();
            let mut used = 0;
            let mut rest = String::new();
            for c in word.chars() {
                let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
                if rest.is_empty() && used + cw <= w {
                    head.push(c);
                    used += cw;
                } else {
                    rest.push(c);
                }
            }
            // A character wider than the row cannot go anywhere.
            if head.is_empty() {
                break;
            }
            rows.push(head);
            if rest.is_empty() {
                break;
            }
            word = rest;
        }
    }
    if !row.is_empty() {
        rows.push(row);
    }
    let whole = rows.len() <= height;
    rows.truncate(height);
    (rows, whole)
}
