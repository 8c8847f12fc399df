//! Agent-state detection: pure functions of a screen snapshot and the time.
//!
//! No I/O and no clock: the session manager passes in the snapshot, the
//! agent profile and how long ago output last arrived. Each [`Detection`]
//! names the rule that matched and the evidence lines, which `corral explain`
//! will print.
//!
//! Profiles: `claude` (facts from the real screens of Claude Code 2.1.329 in
//! `tests/fixtures/claude/`) and `generic` (any program: working while output
//! flows, idle after it settles).

use std::fmt;

use serde::Serialize;

use crate::config::AgentKind;
use crate::keys::KeyPress;

/// Time after the last output byte at which a generic program counts as idle,
/// in milliseconds.
pub const GENERIC_SETTLE_MS: u64 = 1500;

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

/// One option of a permission dialog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PromptOption {
    /// The number shown in front of it.
    pub number: u8,
    /// The label as shown (wrapped lines joined).
    pub label: String,
    /// What it does.
    pub kind: AnswerKind,
    /// The key presses that choose it.
    pub keys: Vec<KeyPress>,
    /// True if the dialog's cursor is on it.
    pub selected: bool,
}

/// Identifies a prompt as the user saw it: a hash of the slot, the session
/// generation, the prompt's occurrence number and its normalized dialog text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct PromptId(pub u64);

impl fmt::Display for PromptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// A detected tool-permission dialog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Prompt {
    /// Set by the session manager ([`Prompt::identify`]); until then the hash of
    /// the normalized dialog text alone.
    pub id: PromptId,
    /// Hash of the normalized dialog text (what changes when the dialog does).
    pub dialog_hash: u64,
    /// Tool name: `Bash`, `Write`, `Edit`, ...
    pub tool: String,
    /// What the tool acts on: the command, file or URL.
    pub subject: String,
    /// The dialog's question.
    pub question: String,
    /// The options in display order.
    pub options: Vec<PromptOption>,
}

/// Why an answer cannot be turned into keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    /// The dialog offers no option of that kind.
    #[error("this prompt has no {0} option")]
    NoSuchOption(String),
}

impl Prompt {
    /// Sets the prompt id from the slot, session generation and occurrence
    /// number (which grows each time a prompt opens in that session).
    pub fn identify(&mut self, slot: &str, generation: u64, occurrence: u64) {
        let mut h = Fnv::new();
        h.write(slot.as_bytes());
        h.write(&generation.to_le_bytes());
        h.write(&occurrence.to_le_bytes());
        h.write(&self.dialog_hash.to_le_bytes());
        self.id = PromptId(h.finish());
    }

    /// The key presses that give `answer`, from the parsed options: the deny
    /// option is found by its label, never by a fixed number.
    ///
    /// Errors: the dialog has no option of that kind (for example no
    /// approve-always option).
    pub fn keys_for(&self, answer: Answer) -> Result<Vec<KeyPress>, AnswerError> {
        let want = match answer {
            Answer::ApproveOnce => AnswerKind::ApproveOnce,
            Answer::ApproveAlways => AnswerKind::ApproveAlways,
            Answer::Deny => AnswerKind::Deny,
            Answer::Select(n) => {
                return self
                    .options
                    .iter()
                    .find(|o| o.number == n)
                    .map(|o| o.keys.clone())
                    .ok_or_else(|| AnswerError::NoSuchOption(format!("number {n}")));
            }
        };
        self.options
            .iter()
            .find(|o| o.kind == want)
            .map(|o| o.keys.clone())
            .ok_or_else(|| AnswerError::NoSuchOption(answer.to_string()))
    }
}

/// The result of detection on one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    /// The detected state (never `Exited`/`Restarting`/`Stalled`: those come
    /// from the session manager).
    pub state: AgentState,
    /// The open permission prompt, when `state` is `NeedsPermission`.
    pub prompt: Option<Prompt>,
    /// Name of the rule that decided (`claude.permission-dialog`).
    pub rule: &'static str,
    /// The screen lines (or title) that matched.
    pub evidence: Vec<String>,
    /// Detect again after this many milliseconds even without new output
    /// (time-based rules such as the generic idle settle).
    pub recheck_after_ms: Option<u64>,
}

/// Timing facts detection may use, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timing {
    /// Milliseconds since the session's last output, `None` if it never
    /// produced any.
    pub since_output_ms: Option<u64>,
}

/// Detects the state of an agent of kind `agent` from a snapshot.
pub fn detect(agent: AgentKind, snap: &ScreenSnapshot, timing: Timing) -> Detection {
    match agent {
        AgentKind::Claude => claude::detect(snap),
        AgentKind::Generic => generic(timing),
    }
}

fn generic(timing: Timing) -> Detection {
    match timing.since_output_ms {
        None => Detection {
            state: AgentState::Starting,
            prompt: None,
            rule: "generic.no-output-yet",
            evidence: vec![],
            recheck_after_ms: None,
        },
        Some(ms) if ms < GENERIC_SETTLE_MS => Detection {
            state: AgentState::Working,
            prompt: None,
            rule: "generic.output-flowing",
            evidence: vec![format!("last output {ms} ms ago")],
            recheck_after_ms: Some(GENERIC_SETTLE_MS - ms),
        },
        Some(ms) => Detection {
            state: AgentState::Idle,
            prompt: None,
            rule: "generic.settled",
            evidence: vec![format!("no output for {ms} ms")],
            recheck_after_ms: None,
        },
    }
}

/// FNV-1a, 64 bit: a stable hash (the same across runs and builds).
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Claude Code 2.1.329 (and corral's demo agent, which draws the same shapes).
mod claude {
    use super::*;

    /// Title glyphs Claude Code shows while working (`◐`/`◑` alternate).
    const WORKING_TITLE_GLYPHS: [char; 4] = ['◐', '◑', '◒', '◓'];
    /// Footer labels of the idle input box, one per permission mode.
    const IDLE_FOOTERS: [&str; 5] = [
        "? for shortcuts",
        "manual mode on",
        "accept edits on",
        "plan mode on",
        "auto mode on",
    ];

    fn is_solid_rule(row: &str, cols: u16) -> bool {
        let t = row.trim();
        let n = t.chars().count();
        n >= 8 && n * 10 >= usize::from(cols) * 6 && t.chars().all(|c| c == '─')
    }

    fn is_dashed_rule(row: &str) -> bool {
        let t = row.trim();
        t.chars().count() >= 4 && t.chars().all(|c| c == '╌')
    }

    /// `❯ 1. Yes` / `  2. No` → (selected, number, label).
    fn parse_option(row: &str) -> Option<(bool, u8, String)> {
        let t = row.trim_start();
        let (selected, t) = match t.strip_prefix('❯') {
            Some(rest) => (true, rest.trim_start()),
            None => (false, t),
        };
        let dot = t.find(". ")?;
        let num = &t[..dot];
        if num.is_empty() || num.len() > 2 || !num.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u8 = num.parse().ok()?;
        Some((selected, n, t[dot + 2..].trim().to_string()))
    }

    fn indent(row: &str) -> usize {
        row.chars()
            .take_while(|c| *c == ' ' || *c == '\u{a0}')
            .count()
    }

    /// Kind of an option from its label. The first "Yes…" option approves
    /// once (in Tab-amend mode it reads "Yes, and tell Claude what to do
    /// next"); the next "Yes, and …" that keeps allowing (Bash: "always allow
    /// access to DIR"; Write/Edit: "switch to accept edits") approves always;
    /// "auto mode" switches and anything else is `Other`.
    fn option_kind(label: &str, seen_once: bool, seen_always: bool) -> AnswerKind {
        let l = label.to_lowercase();
        if l.starts_with("yes") {
            if !seen_once {
                AnswerKind::ApproveOnce
            } else if !seen_always
                && !l.contains("auto mode")
                && (l.contains("always") || l.contains("accept edits") || l.contains("don't ask"))
            {
                AnswerKind::ApproveAlways
            } else {
                AnswerKind::Other
            }
        } else if l == "no" || l.starts_with("no,") || l.starts_with("no ") {
            AnswerKind::Deny
        } else {
            AnswerKind::Other
        }
    }

    fn tool_of(header: &str) -> String {
        match header {
            "Bash command" => "Bash".into(),
            "Create file" => "Write".into(),
            "Edit file" => "Edit".into(),
            "Read file" => "Read".into(),
            "Fetch" => "WebFetch".into(),
            other => other
                .split_whitespace()
                .next()
                .unwrap_or("Tool")
                .to_string(),
        }
    }

    fn normalize(rows: &[&str]) -> String {
        rows.iter()
            .map(|r| {
                r.replace('❯', " ")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|r| !r.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn permission(rows: &[&str], cols: u16) -> Option<Detection> {
        let last = rows.iter().rposition(|r| !r.trim().is_empty())?;
        let rule = rows[..=last].iter().rposition(|r| is_solid_rule(r, cols))?;
        let region = &rows[rule + 1..=last];
        // Options: consecutive numbered rows, with deeper-indented continuation
        // rows of wrapped labels.
        let first_opt = region.iter().position(|r| parse_option(r).is_some())?;
        let mut options: Vec<PromptOption> = Vec::new();
        let mut end = first_opt;
        let mut label_indent = 0;
        for (i, row) in region.iter().enumerate().skip(first_opt) {
            if let Some((selected, number, label)) = parse_option(row) {
                if number as usize != options.len() + 1 {
                    break;
                }
                label_indent = row.find(". ").map_or(0, |p| row[..p + 2].chars().count());
                options.push(PromptOption {
                    number,
                    label,
                    kind: AnswerKind::Other,
                    keys: vec![KeyPress::ch(char::from(b'0' + number % 10))],
                    selected,
                });
                end = i;
            } else if !row.trim().is_empty() && indent(row) >= label_indent && label_indent > 0 {
                if let Some(o) = options.last_mut() {
                    o.label.push(' ');
                    o.label.push_str(row.trim());
                }
                end = i;
            } else {
                break;
            }
        }
        if options.len() < 2 {
            return None;
        }
        // Nothing but the footer may follow the options.
        let tail: Vec<&str> = region[end + 1..]
            .iter()
            .map(|r| r.trim())
            .filter(|r| !r.is_empty())
            .collect();
        if tail.len() > 2 || tail.iter().any(|r| r.starts_with('❯')) {
            return None;
        }
        // The question: the rows right above the options, up to a blank row or
        // a dashed rule (it wraps in narrow panes).
        let mut q_start = first_opt;
        while q_start > 0 {
            let r = region[q_start - 1];
            if r.trim().is_empty() || is_dashed_rule(r) {
                break;
            }
            q_start -= 1;
            if region[q_start].trim_start().starts_with("Do you want") {
                break;
            }
        }
        let question = region[q_start..first_opt]
            .iter()
            .map(|r| r.trim())
            .collect::<Vec<_>>()
            .join(" ");
        if !question.contains('?') {
            return None;
        }
        let header = region.iter().map(|r| r.trim()).find(|r| !r.is_empty())?;
        let tool = tool_of(header);
        let dashed: Vec<usize> = region[..q_start]
            .iter()
            .enumerate()
            .filter(|(_, r)| is_dashed_rule(r))
            .map(|(i, _)| i)
            .collect();
        let subject = if matches!(tool.as_str(), "Write" | "Edit" | "Read") || dashed.len() < 2 {
            region
                .iter()
                .map(|r| r.trim())
                .filter(|r| !r.is_empty())
                .nth(1)
                .unwrap_or("")
                .to_string()
        } else {
            region[dashed[0] + 1..dashed[1]]
                .iter()
                .map(|r| r.trim())
                .filter(|r| !r.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let (mut seen_once, mut seen_always) = (false, false);
        for o in &mut options {
            o.kind = option_kind(&o.label, seen_once, seen_always);
            seen_once |= o.kind == AnswerKind::ApproveOnce;
            seen_always |= o.kind == AnswerKind::ApproveAlways;
        }
        let mut h = Fnv::new();
        h.write(normalize(region).as_bytes());
        let dialog_hash = h.finish();
        let mut evidence = vec![header.to_string(), question.clone()];
        evidence.extend(options.iter().map(|o| format!("{}. {}", o.number, o.label)));
        Some(Detection {
            state: AgentState::NeedsPermission,
            prompt: Some(Prompt {
                id: PromptId(dialog_hash),
                dialog_hash,
                tool,
                subject,
                question,
                options,
            }),
            rule: "claude.permission-dialog",
            evidence,
            recheck_after_ms: None,
        })
    }

    pub(super) fn detect(snap: &ScreenSnapshot) -> Detection {
        let rows: Vec<&str> = snap.rows.iter().map(String::as_str).collect();
        if let Some(d) = permission(&rows, snap.cols) {
            return d;
        }
        let bottom: Vec<&str> = rows
            .iter()
            .rev()
            .filter(|r| !r.trim().is_empty())
            .take(12)
            .copied()
            .collect();
        let found = |pat: &str, n: usize| bottom.iter().take(n).find(|r| r.contains(pat));
        if let Some(r) = found("Enter to confirm", 4) {
            return Detection {
                state: AgentState::NeedsInput,
                prompt: None,
                rule: "claude.dialog-enter-to-confirm",
                evidence: vec![r.trim().to_string()],
                recheck_after_ms: None,
            };
        }
        if let Some(r) = found("esc to interrupt", 4) {
            return Detection {
                state: AgentState::Working,
                prompt: None,
                rule: "claude.working-footer",
                evidence: vec![r.trim().to_string()],
                recheck_after_ms: None,
            };
        }
        if snap
            .title
            .chars()
            .next()
            .is_some_and(|c| WORKING_TITLE_GLYPHS.contains(&c))
        {
            return Detection {
                state: AgentState::Working,
                prompt: None,
                rule: "claude.working-title",
                evidence: vec![format!("title: {}", snap.title)],
                recheck_after_ms: None,
            };
        }
        for pat in IDLE_FOOTERS {
            if let Some(r) = found(pat, 3) {
                return Detection {
                    state: AgentState::Idle,
                    prompt: None,
                    rule: "claude.idle-footer",
                    evidence: vec![r.trim().to_string()],
                    recheck_after_ms: None,
                };
            }
        }
        // The input box: `❯` (plus NBSP and typed text) between solid rules.
        let last = rows.iter().rposition(|r| !r.trim().is_empty()).unwrap_or(0);
        let from = last.saturating_sub(6);
        for i in (from.max(1)..last).rev() {
            let r = rows[i];
            let boxed = r.trim_end() == "❯" || r.starts_with("❯\u{a0}");
            if boxed
                && is_solid_rule(rows[i - 1], snap.cols)
                && is_solid_rule(rows[i + 1], snap.cols)
            {
                return Detection {
                    state: AgentState::Idle,
                    prompt: None,
                    rule: "claude.idle-input-box",
                    evidence: vec![r.to_string()],
                    recheck_after_ms: None,
                };
            }
        }
        // A menu without numbers (first-run choices): a `❯ ` selected row
        // beside other indented choices near the bottom.
        if let Some(r) = bottom.iter().take(6).find(|r| {
            r.trim_start()
                .strip_prefix("❯ ")
                .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_digit()))
        }) {
            return Detection {
                state: AgentState::NeedsInput,
                prompt: None,
                rule: "claude.menu",
                evidence: vec![r.trim().to_string()],
                recheck_after_ms: None,
            };
        }
        Detection {
            state: AgentState::Starting,
            prompt: None,
            rule: "claude.nothing-recognised",
            evidence: vec![],
            recheck_after_ms: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(text: &str) -> ScreenSnapshot {
        ScreenSnapshot::from_text(text, 60, "")
    }

    const RULE: &str = "────────────────────────────────────────────────────────────";
    const DASH: &str = "╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌";

    #[test]
    fn bash_dialog_with_three_options_finds_no_by_label() {
        let text = format!(
            "● I will run it.\n{RULE}\n Bash command\n Write a file\n{DASH}\n echo hi > a.txt\n{DASH}\n Do you want to proceed?\n ❯ 1. Yes\n   2. Yes, and always allow access to /x from this project\n   3. No\n\n Esc to cancel · Tab to amend\n"
        );
        let d = detect(AgentKind::Claude, &snap(&text), Timing::default());
        assert_eq!(d.state, AgentState::NeedsPermission);
        let p = d.prompt.unwrap_or_else(|| panic!("no prompt"));
        assert_eq!(p.tool, "Bash");
        assert_eq!(p.subject, "echo hi > a.txt");
        assert_eq!(p.keys_for(Answer::Deny), Ok(vec![KeyPress::ch('3')]));
        assert_eq!(p.keys_for(Answer::ApproveOnce), Ok(vec![KeyPress::ch('1')]));
        assert_eq!(
            p.keys_for(Answer::ApproveAlways),
            Ok(vec![KeyPress::ch('2')])
        );
        assert!(p.options[0].selected);
    }

    #[test]
    fn moving_the_cursor_keeps_the_prompt_id() {
        let a = format!(
            "{RULE}\n Bash command\n{DASH}\n ls\n{DASH}\n Do you want to proceed?\n ❯ 1. Yes\n   2. No\n"
        );
        let b = a.replace(" ❯ 1. Yes\n   2. No", "   1. Yes\n ❯ 2. No");
        let pa = claude::detect(&snap(&a)).prompt.map(|p| p.dialog_hash);
        let pb = claude::detect(&snap(&b)).prompt.map(|p| p.dialog_hash);
        assert!(pa.is_some());
        assert_eq!(pa, pb);
        let c = a.replace(" ls", " rm -rf /");
        let pc = claude::detect(&snap(&c)).prompt.map(|p| p.dialog_hash);
        assert_ne!(pa, pc);
    }

    #[test]
    fn numbered_lines_in_transcript_are_not_a_dialog() {
        let text = format!(
            "Steps:\n 1. Build it\n 2. Test it\n{RULE}\n❯\u{a0}\n{RULE}\n  ⏸ manual mode on · ? for shortcuts\n"
        );
        let d = detect(AgentKind::Claude, &snap(&text), Timing::default());
        assert_eq!(d.state, AgentState::Idle);
    }

    #[test]
    fn generic_settles() {
        let t = |ms| Timing {
            since_output_ms: ms,
        };
        let s = ScreenSnapshot::default();
        assert_eq!(
            detect(AgentKind::Generic, &s, t(None)).state,
            AgentState::Starting
        );
        let d = detect(AgentKind::Generic, &s, t(Some(100)));
        assert_eq!(d.state, AgentState::Working);
        assert_eq!(d.recheck_after_ms, Some(GENERIC_SETTLE_MS - 100));
        assert_eq!(
            detect(AgentKind::Generic, &s, t(Some(5000))).state,
            AgentState::Idle
        );
    }

    #[test]
    fn identify_mixes_slot_generation_and_occurrence() {
        let text = format!(
            "{RULE}\n Bash command\n{DASH}\n ls\n{DASH}\n Do you want to proceed?\n ❯ 1. Yes\n   2. No\n"
        );
        let p = claude::detect(&snap(&text))
            .prompt
            .unwrap_or_else(|| panic!("no prompt"));
        let id = |slot: &str, g, o| {
            let mut q = p.clone();
            q.identify(slot, g, o);
            q.id
        };
        assert_ne!(id("a", 1, 1), id("b", 1, 1));
        assert_ne!(id("a", 1, 1), id("a", 2, 1));
        assert_ne!(id("a", 1, 1), id("a", 1, 2));
        assert_eq!(id("a", 1, 1), id("a", 1, 1));
    }
}
