//! Agent-state detection: pure functions of a screen snapshot and the time.
//!
//! No I/O and no clock: the session manager passes in the snapshot, the
//! agent profile and how long ago output last arrived. Each [`Detection`]
//! names the rule that matched and the evidence lines, which `corral explain`
//! will print.
//!
//! What to look for comes from the agent's [`Profile`] (data, not code): its
//! state rules over named screen regions and its prompt extraction.

use std::fmt;

use serde::Serialize;

use regex::Captures;

use crate::keys::KeyPress;
use crate::profile::{
    CheckFailure, CheckScope, FromMatch, Matcher, NamedRegion, Profile, PromptSpec, PromptStyle,
    Region, Select, SubjectSpec, ToolSource,
};

pub use crate::model::{AgentState, Answer, AnswerKind, ScreenSnapshot};

/// One option of a permission dialog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
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
///
/// On the wire (ctl's JSON, the audit log) it is a string of 16 hex digits,
/// as the text output prints it: a 64-bit number does not survive JSON tools
/// that read numbers as doubles (jq, JavaScript). Reading also takes a JSON
/// number or a decimal string, as corral before 0.2 wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PromptId(pub u64);

impl PromptId {
    /// Reads a prompt id: 16 hex digits (as corral prints it), else a
    /// decimal number.
    ///
    /// Errors: neither.
    pub fn parse(s: &str) -> Result<PromptId, String> {
        let hex = s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit());
        let n = if hex {
            u64::from_str_radix(s, 16).ok()
        } else {
            s.parse().ok()
        };
        n.map(PromptId)
            .ok_or_else(|| format!("`{s}` is not a prompt id (16 hex digits)"))
    }
}

impl Serialize for PromptId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for PromptId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<PromptId, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = PromptId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a prompt id: 16 hex digits")
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<PromptId, E> {
                Ok(PromptId(n))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<PromptId, E> {
                PromptId::parse(s).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl schemars::JsonSchema for PromptId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PromptId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A prompt id: 16 lower-case hex digits, as a string.",
            "type": "string",
            "pattern": "^[0-9a-f]{16}$"
        })
    }
}

impl fmt::Display for PromptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// Where a prompt's facts come from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum PromptSource {
    /// The agent's own permission hook: tool and subject are exact, and the
    /// answer goes back through the hook, bound to that request.
    Hook,
    /// Read off the screen: exact only if every structural check passed
    /// ([`Prompt::incomplete`] is `None`); answered by keys.
    Screen,
    /// A structured slot's protocol (Claude Code's `can_use_tool` control
    /// request): exact, answered on the protocol, bound to its request.
    Protocol,
}

impl PromptSource {
    /// `hook`, `screen` or `protocol`, as in the audit log.
    pub fn name(self) -> &'static str {
        match self {
            PromptSource::Hook => "hook",
            PromptSource::Screen => "screen",
            PromptSource::Protocol => "protocol",
        }
    }
}

/// Why a prompt read off the screen is not known to be exact. A policy rule
/// never answers such a prompt; the inbox shows the reason.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Incomplete {
    /// The dialog's top (header, tool, subject) is above the pane.
    CutOff,
    /// The subject wraps in a way corral cannot rejoin exactly, or a row of
    /// it fills the pane's width (it may go on past the edge).
    Wrapped,
    /// The subject was cut short by the agent (`…`).
    Truncated,
    /// The dialog does not have the structure its profile requires (for
    /// example more than two dashed rules: model text imitating a dialog).
    Ambiguous,
    /// Another dialog-like structure is on screen above the real one.
    SecondDialog,
    /// The subject is empty.
    Empty,
    /// The agent described the call (an ACP title) instead of giving its
    /// input: the description may be shortened or worded by the agent.
    Described,
    /// The request carries input fields corral does not read, which may
    /// change what the call does (Claude Code's `dangerouslyDisableSandbox`).
    ExtraInput,
    /// The subject is model text the agent prints with its escapes (Aider
    /// 0.86.2 through rich, which passes ESC on): a command can draw a
    /// harmless one over itself, so no screen proves what runs.
    Unprovable,
}

impl fmt::Display for Incomplete {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Incomplete::CutOff => "dialog taller than the pane: zoom to see it",
            Incomplete::Wrapped => "command wrapped past what corral can read: zoom",
            Incomplete::Truncated => "subject cut short by the agent",
            Incomplete::Ambiguous => "dialog structure ambiguous",
            Incomplete::SecondDialog => "a second dialog-like structure on screen",
            Incomplete::Empty => "empty subject",
            Incomplete::Described => "the agent described the call instead of giving its input",
            Incomplete::ExtraInput => "the request carries input corral does not read",
            Incomplete::Unprovable => {
                "the agent shows the model's text with its escapes: the screen cannot prove what runs"
            }
        })
    }
}

/// A detected tool-permission dialog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Prompt {
    /// Where the facts come from: the agent's hook or the screen.
    pub source: PromptSource,
    /// `None` when the subject is exact (always for a hook); otherwise why
    /// it may not be, and no rule answers it.
    pub incomplete: Option<Incomplete>,
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
    /// The dialog as shown (its rows, trailing blanks removed), for the
    /// prompt details view.
    pub dialog: Vec<String>,
    /// Keys that deny when no option is a deny option (from the profile).
    pub deny_fallback: Vec<KeyPress>,
    /// Answers this agent does not have, with the reason to show (from the
    /// profile: Aider has no approve-always).
    pub unavailable: std::collections::BTreeMap<String, String>,
}

/// Why an answer cannot be turned into keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    /// The dialog offers no option of that kind.
    #[error("this prompt has no {0} option")]
    NoSuchOption(String),
    /// The agent has no such answer at all, and why.
    #[error("{0}")]
    Unavailable(String),
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
        if let Some(o) = self.options.iter().find(|o| o.kind == want) {
            return Ok(o.keys.clone());
        }
        if want == AnswerKind::Deny && !self.deny_fallback.is_empty() {
            return Ok(self.deny_fallback.clone());
        }
        match self.unavailable.get(&answer.to_string()) {
            Some(why) => Err(AnswerError::Unavailable(why.clone())),
            None => Err(AnswerError::NoSuchOption(answer.to_string())),
        }
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
    /// Name of the rule that decided (`working-footer`, `permission-prompt`).
    pub rule: String,
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

/// Detects the state of an agent from a snapshot with its profile: first a
/// permission prompt, then the state rules by priority. With no match the
/// state is `starting` (rule `<profile>.nothing-recognised`); a session
/// manager keeps the last known state then. `working` with no output for the
/// profile's `stalled_after_ms` becomes `stalled`.
pub fn detect(profile: &Profile, snap: &ScreenSnapshot, timing: Timing) -> Detection {
    let mut thresholds: Vec<u64> = Vec::new();
    let mut d = match profile.prompt.as_ref().and_then(|p| prompt(p, snap)) {
        Some(Found::Permission(prompt, evidence)) => Detection {
            state: AgentState::NeedsPermission,
            prompt: Some(prompt),
            rule: "permission-prompt".into(),
            evidence,
            recheck_after_ms: None,
        },
        Some(Found::Question(kind, evidence)) => Detection {
            state: AgentState::NeedsInput,
            prompt: None,
            rule: format!("question:{kind}"),
            evidence,
            recheck_after_ms: None,
        },
        None => {
            let mut found = None;
            for r in &profile.rules {
                let lines = region(&r.region, snap);
                let mut ev = Vec::new();
                if matches(
                    &r.matcher,
                    &lines,
                    &snap.title,
                    timing,
                    &mut ev,
                    &mut thresholds,
                ) {
                    found = Some(Detection {
                        state: r.state.clone(),
                        prompt: None,
                        rule: r.name.clone(),
                        evidence: ev,
                        recheck_after_ms: None,
                    });
                    break;
                }
            }
            found.unwrap_or(Detection {
                state: AgentState::Starting,
                prompt: None,
                rule: "nothing-recognised".into(),
                evidence: vec![],
                recheck_after_ms: None,
            })
        }
    };
    if d.state == AgentState::Working {
        thresholds.push(profile.stalled_after_ms);
        if let Some(ms) = timing.since_output_ms
            && ms >= profile.stalled_after_ms
        {
            d.evidence.push(format!("no output for {ms} ms"));
            d.state = AgentState::Stalled;
            d.rule = format!("{}+stalled", d.rule);
        }
    }
    // Time-based conditions: look again when the next threshold passes.
    if let Some(since) = timing.since_output_ms {
        d.recheck_after_ms = thresholds
            .into_iter()
            .filter(|t| *t > since)
            .map(|t| t - since)
            .min();
    }
    d
}

/// A human-readable account of a detection: state, rule, evidence and the
/// extracted prompt with every option's kind and keys (`corral explain`).
pub fn explain(profile: &Profile, d: &Detection) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "agent:    {} ({})\n",
        profile.name, profile.source
    ));
    out.push_str(&format!("state:    {}\n", d.state.label()));
    out.push_str(&format!("rule:     {}\n", d.rule));
    if !d.evidence.is_empty() {
        out.push_str("evidence:\n");
        for e in &d.evidence {
            out.push_str(&format!("  | {e}\n"));
        }
    }
    if let Some(p) = &d.prompt {
        out.push_str(&format!("prompt:   {}\n", p.id));
        out.push_str(&format!("  tool:     {}\n", p.tool));
        out.push_str(&format!("  subject:  {}\n", p.subject));
        out.push_str(&format!(
            "  exact:    {}\n",
            match p.incomplete {
                None => format!("yes (from the {})", p.source.name()),
                Some(why) => format!("no: {why}"),
            }
        ));
        out.push_str(&format!("  question: {}\n", p.question));
        out.push_str("  options:\n");
        for o in &p.options {
            let keys: Vec<String> = o.keys.iter().map(|k| k.to_string()).collect();
            out.push_str(&format!(
                "    {}{}. {:<16} keys {:<12} {}\n",
                if o.selected { ">" } else { " " },
                o.number,
                o.kind.name(),
                keys.join(" "),
                o.label
            ));
        }
        for a in [Answer::ApproveOnce, Answer::ApproveAlways, Answer::Deny] {
            match p.keys_for(a) {
                Ok(k) => out.push_str(&format!(
                    "  {a}: {}\n",
                    k.iter()
                        .map(|k| k.to_string())
                        .collect::<Vec<_>>()
                        .join(" ")
                )),
                Err(e) => out.push_str(&format!("  {a}: none ({e})\n")),
            }
        }
    }
    out
}

/// The lines of a region.
pub fn region(r: &Region, snap: &ScreenSnapshot) -> Vec<String> {
    let last = snap.rows.iter().rposition(|r| !r.trim().is_empty());
    match r {
        Region::Named(NamedRegion::Screen) => snap.rows.clone(),
        Region::Named(NamedRegion::Title) => vec![snap.title.clone()],
        Region::Named(NamedRegion::CursorLine) => snap
            .rows
            .get(usize::from(snap.cursor.0))
            .cloned()
            .into_iter()
            .collect(),
        Region::Named(NamedRegion::LastLine) => {
            last.map(|i| snap.rows[i].clone()).into_iter().collect()
        }
        Region::Bottom { bottom } => {
            let mut v: Vec<String> = snap
                .rows
                .iter()
                .rev()
                .filter(|r| !r.trim().is_empty())
                .take(*bottom)
                .cloned()
                .collect();
            v.reverse();
            v
        }
        Region::AfterLast { after_last } => {
            match snap.rows.iter().rposition(|r| after_last.0.is_match(r)) {
                Some(i) => snap.rows[i + 1..].to_vec(),
                None => Vec::new(),
            }
        }
        Region::FromLast { from_last } => {
            match snap.rows.iter().rposition(|r| from_last.0.is_match(r)) {
                Some(i) => snap.rows[i..].to_vec(),
                None => Vec::new(),
            }
        }
    }
}

/// Whether `m` holds on `lines` (and the window `title`); matching lines
/// are added to `ev`, time thresholds that could change the answer to
/// `thresholds`.
fn matches(
    m: &Matcher,
    lines: &[String],
    title: &str,
    t: Timing,
    ev: &mut Vec<String>,
    thresholds: &mut Vec<u64>,
) -> bool {
    if let Some(c) = &m.contains {
        match lines.iter().find(|l| l.contains(c.as_str())) {
            Some(l) => ev.push(l.trim().to_string()),
            None => return false,
        }
    }
    if let Some(re) = &m.regex {
        match lines.iter().find(|l| re.0.is_match(l)) {
            Some(l) => ev.push(l.trim().to_string()),
            None => return false,
        }
    }
    if let Some(re) = &m.title {
        if re.0.is_match(title) {
            ev.push(format!("title: {}", title.trim()));
        } else {
            return false;
        }
    }
    if let Some(ms) = m.output_within_ms {
        thresholds.push(ms);
        match t.since_output_ms {
            Some(since) if since < ms => ev.push(format!("output {since} ms ago")),
            _ => return false,
        }
    }
    if let Some(seen) = m.output_seen
        && t.since_output_ms.is_some() != seen
    {
        return false;
    }
    for sub in &m.all {
        if !matches(sub, lines, title, t, ev, thresholds) {
            return false;
        }
    }
    if !m.any.is_empty()
        && !m
            .any
            .iter()
            .any(|sub| matches(sub, lines, title, t, ev, thresholds))
    {
        return false;
    }
    if let Some(not) = &m.not {
        let mut scratch = Vec::new();
        if matches(not, lines, title, t, &mut scratch, thresholds) {
            return false;
        }
    }
    true
}

/// A stable 64-bit hash of `text` (FNV-1a: the same across runs and builds),
/// for prompt identities.
pub fn hash_text(text: &str) -> u64 {
    let mut h = Fnv::new();
    h.write(text.as_bytes());
    h.finish()
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

fn indent(row: &str) -> usize {
    row.chars()
        .take_while(|c| *c == ' ' || *c == '\u{a0}')
        .count()
}

/// Collapses whitespace and drops selection markers, so moving the cursor in
/// a dialog keeps its identity.
fn normalize(rows: &[String], markers: &[&str]) -> String {
    rows.iter()
        .map(|r| {
            let mut r = r.clone();
            for m in markers {
                r = r.replace(m, " ");
            }
            r.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .filter(|r| !r.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn kind_of(spec: &PromptSpec, label: &str) -> AnswerKind {
    spec.kinds
        .iter()
        .find(|k| k.label.0.is_match(label))
        .map_or(AnswerKind::Other, |k| k.kind)
}

fn option_keys(spec: &PromptSpec, number: u8, key: Option<&str>) -> Vec<KeyPress> {
    // Inline prompts have no numbers: their keys are the choice letters.
    let by_key = spec.select == Select::Key || spec.style == PromptStyle::Inline;
    let mut keys = match (by_key, key) {
        (true, Some(k)) => match k.parse::<KeyPress>() {
            Ok(kp) => vec![kp],
            Err(_) => vec![KeyPress::ch(char::from(b'0' + number % 10))],
        },
        _ => vec![KeyPress::ch(char::from(b'0' + number % 10))],
    };
    keys.extend(spec.suffix.0.iter().copied());
    keys
}

/// A tool and subject found in a dialog.
struct Extracted {
    tool: String,
    subject: String,
    needs_input: bool,
    incomplete: Option<Incomplete>,
    /// The first row the subject was read from, when it is above the
    /// dialog (`{ ran = … }`): the dialog shown starts there.
    top: Option<usize>,
}

/// Display width of `s` in cells.
fn cells(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

/// Rejoins the rows an agent broke a subject into, at text width `width`
/// (cells). Agents wrap at spaces (dropping the space, or keeping it at the
/// row's end with `keeps_space`) and break a word longer than a row
/// mid-word. A break where the next row's first word would have fitted is
/// the command's own line break (joined with `\n`, so a shell parser sees
/// two commands, never one longer one), or a wrap that ate a run of spaces.
/// A break where it would not
/// have fitted is a wrap at a space, or a line break at the same place,
/// and a full row ends a word that fitted exactly or one broken mid-word:
/// neither is provable from the screen, so the result is then a best guess
/// (a space, or nothing inside a long word) with `false`.
pub fn rejoin(rows: &[String], width: usize, keeps_space: bool) -> (String, bool) {
    let mut out = String::new();
    let mut exact = true;
    for (i, row) in rows.iter().enumerate() {
        if i == 0 {
            out.push_str(row);
            continue;
        }
        let prev = &rows[i - 1];
        let first = row.split(' ').next().unwrap_or("");
        let pw = cells(prev);
        if pw >= width {
            exact = false;
            // A word longer than a row is broken mid-word; one that ended
            // at the edge had its space dropped.
            let last = prev.rsplit(' ').next().unwrap_or("");
            // A shell operator starts a word of its own.
            let operator = |c: Option<char>| c.is_some_and(|c| "<>|&;".contains(c));
            let glued = cells(last) + cells(first) > width
                && !operator(first.chars().next())
                && !operator(last.chars().last());
            if !(glued || keeps_space && prev.ends_with(' ')) {
                out.push(' ');
            }
        } else if keeps_space {
            if prev.ends_with(' ') && pw + cells(first) > width {
                // The kept space is already in `out` (or the line ended
                // in a space: the same rows).
                exact = false;
            } else {
                if prev.ends_with(' ') {
                    out.truncate(out.trim_end_matches(' ').len());
                }
                out.push('\n');
            }
        } else if pw + 1 + cells(first) > width {
            // A wrap, or a line break where the wrap would be.
            exact = false;
            out.push(' ');
        } else {
            out.push('\n');
        }
        out.push_str(row);
    }
    // A break that looks like the command's own line break may also be a
    // wrap that ate a run of spaces (the agents trim them): no reading of
    // more than one row is provable.
    (out, exact && rows.len() <= 1)
}

/// Subject rows with the wrap spec's gutter and right border removed and
/// trailing blanks trimmed. `None` when only some rows have the gutter
/// (model text imitating it).
fn unwrap_rows(spec: &PromptSpec, rows: &[&str]) -> Option<Vec<String>> {
    let w = &spec.wrap;
    let with_gutter = rows
        .iter()
        .filter(|r| w.gutter.as_ref().is_some_and(|g| g.0.is_match(r)))
        .count();
    if with_gutter != 0 && with_gutter != rows.len() {
        return None;
    }
    Some(
        rows.iter()
            .map(|r| {
                let mut r = r.to_string();
                if with_gutter > 0
                    && let Some(g) = &w.gutter
                {
                    r = g.0.replace(&r, "").into_owned();
                }
                if let Some(right) = &w.right {
                    r = right.0.replace(&r, "").into_owned();
                }
                r.trim_end().to_string()
            })
            .collect(),
    )
}

/// A multi-row subject rejoined by the profile's wrap rules.
fn join_subject(spec: &PromptSpec, rows: &[&str], cols: u16) -> (String, Option<Incomplete>) {
    let mut rows: Vec<&str> = rows.to_vec();
    while rows.first().is_some_and(|r| r.trim().is_empty()) {
        rows.remove(0);
    }
    while rows.last().is_some_and(|r| r.trim().is_empty()) {
        rows.pop();
    }
    let Some(clean) = unwrap_rows(spec, &rows) else {
        let joined = rows.iter().map(|r| r.trim()).collect::<Vec<_>>().join(" ");
        return (joined, Some(Incomplete::Ambiguous));
    };
    let width = usize::from(cols.saturating_sub(spec.wrap.width_offset)).max(1);
    let (mut text, exact) = rejoin(&clean, width, spec.wrap.keeps_space);
    if let Some(first) = &spec.wrap.first {
        text = first.0.replace(&text, "").into_owned();
    }
    let text = text.trim().to_string();
    // A single row may go on past what the pane shows.
    let fills = clean.len() == 1 && cells(&clean[0]) >= width;
    let incomplete = (!exact || fills).then_some(Incomplete::Wrapped);
    (text, incomplete)
}

/// One row that holds a subject: cut short with `…`, or filling the pane's
/// width (it may go on past the edge).
fn row_incomplete(row: &str, subject: &str, cols: u16) -> Option<Incomplete> {
    if subject.ends_with('…') {
        Some(Incomplete::Truncated)
    } else if cells(row.trim_end()) >= usize::from(cols) {
        Some(Incomplete::Wrapped)
    } else {
        None
    }
}

/// Finds the tool and subject: the first tool entry whose `match` fits the
/// tool source, and its subject spec.
fn tool_and_subject(
    spec: &PromptSpec,
    rows: &[String],
    question: &str,
    q_index: usize,
    snap: &ScreenSnapshot,
    inverse: &[bool],
) -> Option<Extracted> {
    let cols = snap.cols;
    let nonempty: Vec<&str> = rows
        .iter()
        .map(|r| r.trim())
        .filter(|r| !r.is_empty())
        .collect();
    let sources: Vec<&str> = match spec.tool_from {
        ToolSource::FirstLine => nonempty.first().copied().into_iter().collect(),
        ToolSource::Question => vec![question],
        ToolSource::Rows => rows[..q_index.min(rows.len())]
            .iter()
            .map(String::as_str)
            .collect(),
    };
    for t in &spec.tools {
        let mut top = None;
        let Some((src, caps)): Option<(&str, Captures)> = sources
            .iter()
            .find_map(|s| t.matches.0.captures(s).map(|c| (*s, c)))
        else {
            continue;
        };
        let tool = caps
            .name("tool")
            .map(|m| m.as_str().to_string())
            .or_else(|| t.tool.clone())
            .unwrap_or_else(|| "Tool".into());
        let (subject, incomplete) = match &t.subject {
            SubjectSpec::FromMatch(FromMatch::Match) => {
                let s = caps
                    .name("subject")
                    .map(|m| m.as_str().trim().to_string())
                    .unwrap_or_default();
                let inc = row_incomplete(src, &s, cols);
                (s, inc)
            }
            SubjectSpec::Line { line } => {
                let row = nonempty.get(line.saturating_sub(1)).copied().unwrap_or("");
                let width = cols.saturating_sub(spec.wrap.width_offset);
                (row.to_string(), row_incomplete(row, row, width))
            }
            SubjectSpec::Between { between } => {
                let idx: Vec<usize> = rows
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| between.0.is_match(r))
                    .map(|(i, _)| i)
                    .collect();
                match idx.as_slice() {
                    [a, b, rest @ ..] => {
                        let body: Vec<&str> = rows[a + 1..*b].iter().map(String::as_str).collect();
                        let (s, inc) = join_subject(spec, &body, cols);
                        // More dividers than one box: model text imitates one.
                        (
                            s,
                            if rest.is_empty() {
                                inc
                            } else {
                                Some(Incomplete::Ambiguous)
                            },
                        )
                    }
                    _ => (String::new(), Some(Incomplete::Ambiguous)),
                }
            }
            SubjectSpec::Block { block } => {
                // Before the options (the question may be above or below).
                let before_options = rows
                    .iter()
                    .position(|r| spec.option.as_ref().is_some_and(|o| o.0.is_match(r)))
                    .unwrap_or(rows.len());
                let starts: Vec<usize> = rows[..before_options]
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| block.0.is_match(r))
                    .map(|(i, _)| i)
                    .collect();
                match starts.as_slice() {
                    [a, rest @ ..] => {
                        // Up to the options: a blank row inside is part of
                        // it (a command with an empty line), never its end.
                        let mut body: Vec<&str> = rows[*a..before_options]
                            .iter()
                            .map(String::as_str)
                            .collect();
                        while body.last().is_some_and(|r| r.trim().is_empty()) {
                            body.pop();
                        }
                        let blank_inside = body.iter().any(|r| r.trim().is_empty());
                        let (s, inc) = join_subject(spec, &body, cols);
                        (
                            s,
                            if rest.is_empty() && !blank_inside {
                                inc
                            } else {
                                Some(Incomplete::Ambiguous)
                            },
                        )
                    }
                    [] => (String::new(), Some(Incomplete::Ambiguous)),
                }
            }
            SubjectSpec::Regex { regex } => {
                let found = rows
                    .iter()
                    .find_map(|r| regex.0.captures(r).map(|c| (r.as_str(), c)));
                match found.and_then(|(r, c)| c.name("subject").map(|m| (r, m.as_str().trim()))) {
                    Some((row, s)) => (s.to_string(), row_incomplete(row, s, cols)),
                    None => (String::new(), Some(Incomplete::Empty)),
                }
            }
            SubjectSpec::AboveQuestion {
                above_question,
                reverse_video,
            } => {
                if *reverse_video {
                    above_question_subject(spec, rows, q_index, snap, inverse, *above_question)
                } else {
                    logical_lines_above(rows, q_index, snap, *above_question)
                }
            }
            SubjectSpec::Ran {
                ran,
                echo,
                most,
                reverse_video,
            } => {
                let r = ran_subject(
                    spec,
                    rows,
                    q_index,
                    snap,
                    inverse,
                    RanSpec {
                        ran,
                        echo,
                        most: *most,
                        reverse_video: *reverse_video,
                    },
                );
                top = r.2;
                (r.0, r.1)
            }
        };
        let incomplete = incomplete.or_else(|| subject.is_empty().then_some(Incomplete::Empty));
        return Some(Extracted {
            tool,
            subject,
            needs_input: t.needs_input,
            incomplete,
            top,
        });
    }
    None
}

/// The subject right above an inline question: the whole block of rows in
/// reverse video (Aider's marking) when the screen has attributes, rejoined
/// with the spaces the agent kept at each row's end; else the nearest
/// non-empty rows, which cannot be proven to be the whole subject.
fn above_question_subject(
    spec: &PromptSpec,
    rows: &[String],
    q_index: usize,
    snap: &ScreenSnapshot,
    inverse: &[bool],
    most: usize,
) -> (String, Option<Incomplete>) {
    let above: Vec<usize> = (0..q_index)
        .rev()
        .filter(|i| !rows[*i].trim().is_empty())
        .collect();
    let block: Vec<usize> = above
        .iter()
        .copied()
        .take_while(|i| inverse.get(*i).copied().unwrap_or(false))
        .collect();
    if block.is_empty() {
        // No attributes (a text capture): the rows after the blank row
        // above the question, rejoined as a best guess, never exact.
        let pick: Vec<String> = (0..q_index)
            .rev()
            .take_while(|i| !rows[*i].trim().is_empty())
            .take(most)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .map(|i| rows[i].trim_end().to_string())
            .collect();
        let width = usize::from(snap.cols.saturating_sub(spec.wrap.width_offset)).max(1);
        let (text, _) = rejoin(&pick, width, false);
        return (text.trim().to_string(), Some(Incomplete::Ambiguous));
    }
    // Each row as far as its reverse video goes (the kept space included).
    let texts: Vec<String> = block
        .iter()
        .rev()
        .map(|i| {
            let row = rows[*i].trim_end();
            let end = snap.inverse_end.get(*i).copied().map_or(0, usize::from);
            let pad = end.saturating_sub(cells(row));
            format!("{row}{}", " ".repeat(pad))
        })
        .collect();
    let width = usize::from(snap.cols.saturating_sub(spec.wrap.width_offset)).max(1);
    let (text, exact) = rejoin(&texts, width, true);
    let top = block.last().copied().unwrap_or(0);
    let incomplete = if rows[..top].iter().all(|r| r.trim().is_empty()) {
        // The block may begin above the screen: at its top row, or past
        // blank rows up to it (a subject's empty lines are blank rows, so
        // `rm -rf ~`, 30 empty lines and `echo hi` shows only `echo hi`).
        Some(Incomplete::CutOff)
    } else if !exact {
        Some(Incomplete::Wrapped)
    } else {
        None
    };
    (text.trim().to_string(), incomplete)
}

/// The `{ ran = …, echo = … }` subject spec.
struct RanSpec<'a> {
    ran: &'a crate::profile::Pattern,
    echo: &'a crate::profile::Pattern,
    most: usize,
    reverse_video: bool,
}

/// The subject of the answered prompt that ran what the question at
/// `q_index` is about (see [`SubjectSpec::Ran`]), whether it is exact, and
/// the first row it was read from.
fn ran_subject(
    spec: &PromptSpec,
    rows: &[String],
    q_index: usize,
    snap: &ScreenSnapshot,
    inverse: &[bool],
    r: RanSpec<'_>,
) -> (String, Option<Incomplete>, Option<usize>) {
    let width = usize::from(snap.cols);
    // The answered prompt may wrap in a narrow pane: a row alone, then
    // joined with the rows after it (soft-wrapped rows fill the width).
    let found = (0..q_index).rev().find_map(|i| {
        (0..3usize).filter(|k| i + k < q_index).find_map(|k| {
            let mut joined = String::new();
            for (j, row) in rows[i..=i + k].iter().enumerate() {
                joined.push_str(row);
                if j < k {
                    let n = cells(row);
                    joined.extend(std::iter::repeat_n(' ', width.saturating_sub(n)));
                }
            }
            r.ran.0.is_match(joined.trim_end()).then_some((i, i + k))
        })
    });
    let echoes = |from: usize| -> Vec<(usize, String)> {
        (from..q_index)
            .filter_map(|i| {
                let c = r.echo.0.captures(rows[i].trim_end())?;
                Some((i, c.name("subject")?.as_str().trim().to_string()))
            })
            .collect()
    };
    let Some((first, last)) = found else {
        // Scrolled away (or never shown): the last echoed command is a
        // guess, never exact.
        let guess = echoes(0).pop().map(|(_, s)| s).unwrap_or_default();
        return (guess, Some(Incomplete::CutOff), None);
    };
    let (subject, incomplete) = if r.reverse_video {
        above_question_subject(spec, rows, first, snap, inverse, r.most)
    } else {
        logical_lines_above(rows, first, snap, r.most)
    };
    let block_top = (0..first)
        .rev()
        .take_while(|i| inverse.get(*i).copied().unwrap_or(false))
        .last();
    // Between the answered prompt and the question: only the echoes of its
    // commands and their output. A row in reverse video there is output
    // imitating a subject; an echo too many or one that differs is output
    // imitating an echo (or another prompt's run).
    let between = last + 1..q_index;
    let marked = between
        .clone()
        .any(|i| inverse.get(i).copied().unwrap_or(false));
    let commands: Vec<&str> = subject
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let echoed = echoes(between.start);
    let agree = !marked && echoes_agree(rows, &echoed, q_index, &commands);
    let incomplete = incomplete.or((!agree).then_some(Incomplete::Ambiguous));
    (subject, incomplete, Some(block_top.unwrap_or(first)))
}

/// Whether the echo rows `echoed` (row, echoed text) name `commands`, one
/// each and in order. An echo may wrap into the rows after it (up to the
/// next echo or `end`), so the text is compared without whitespace.
fn echoes_agree(
    rows: &[String],
    echoed: &[(usize, String)],
    end: usize,
    commands: &[&str],
) -> bool {
    let squeeze = |s: &str| -> String { s.chars().filter(|c| !c.is_whitespace()).collect() };
    if echoed.len() != commands.len() || commands.is_empty() {
        return false;
    }
    echoed
        .iter()
        .zip(commands)
        .enumerate()
        .all(|(k, ((row, text), cmd))| {
            let want = squeeze(cmd);
            let next = echoed.get(k + 1).map_or(end, |e| e.0);
            let mut got = squeeze(text);
            let mut i = row + 1;
            while got.len() < want.len() && i < next {
                got.push_str(&squeeze(&rows[i]));
                i += 1;
            }
            got == want
        })
}

/// The `most` lines right above an inline question, each rejoined from the
/// rows the terminal soft-wrapped it into (the engine's wrap flags): exact
/// when the first line's start is on screen and no row without a wrap flag
/// fills the width (a text capture has no flags).
fn logical_lines_above(
    rows: &[String],
    q_index: usize,
    snap: &ScreenSnapshot,
    most: usize,
) -> (String, Option<Incomplete>) {
    let wrapped = |i: usize| snap.wrapped.get(i).copied().unwrap_or(false);
    let mut lines: Vec<String> = Vec::new();
    let mut i = q_index;
    let mut top_seen = true;
    let mut fills = false;
    while lines.len() < most.max(1) && i > 0 {
        // Skip blank rows between the lines and the question.
        if lines.is_empty() && rows[i - 1].trim().is_empty() {
            i -= 1;
            continue;
        }
        let end = i - 1;
        let mut start = end;
        while start > 0 && wrapped(start - 1) {
            start -= 1;
        }
        if start == 0 && (snap.continued || snap.wrapped.is_empty()) {
            // It began in the scrollback, or nothing says it did not.
            top_seen = false;
        }
        let mut line = String::new();
        for (k, r) in rows[start..=end].iter().enumerate() {
            if start + k < end {
                // A wrapped row is full: its trailing blanks are text.
                let pad = usize::from(snap.cols).saturating_sub(cells(r));
                line.push_str(r);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str(r);
            }
        }
        // Without flags (a text capture), a full row may be wrapped.
        let full = |r: usize| cells(rows[r].trim_end()) >= usize::from(snap.cols);
        if snap.wrapped.is_empty() && (full(end) || start > 0 && full(start - 1)) {
            fills = true;
        }
        lines.push(line.trim().to_string());
        i = start;
        if rows
            .get(start.wrapping_sub(1))
            .is_none_or(|r| r.trim().is_empty())
        {
            break;
        }
    }
    lines.reverse();
    let incomplete = if !top_seen {
        Some(Incomplete::CutOff)
    } else if fills {
        Some(Incomplete::Wrapped)
    } else {
        None
    };
    (lines.join("\n"), incomplete)
}

/// The first structural check of the profile that fails for `tool`.
fn failed_check(
    spec: &PromptSpec,
    tool: &str,
    region: &[String],
    snap: &ScreenSnapshot,
) -> Option<(Incomplete, String)> {
    spec.checks.iter().find_map(|c| {
        if !c.tools.is_empty() && !c.tools.iter().any(|t| t == tool) {
            return None;
        }
        let rows = match c.scope {
            CheckScope::Region => region,
            CheckScope::Screen => &snap.rows,
        };
        let n = rows.iter().filter(|r| c.regex.0.is_match(r)).count();
        let ok = c.exactly.is_none_or(|e| n == e) && c.at_most.is_none_or(|m| n <= m);
        (!ok).then(|| {
            let kind = match c.fails {
                CheckFailure::Ambiguous => Incomplete::Ambiguous,
                CheckFailure::SecondDialog => Incomplete::SecondDialog,
                CheckFailure::CutOff => Incomplete::CutOff,
                CheckFailure::Unprovable => Incomplete::Unprovable,
            };
            (kind, format!("check {} failed: {n} rows", c.name))
        })
    })
}

/// What prompt extraction found.
enum Found {
    /// A tool permission.
    Permission(Prompt, Vec<String>),
    /// A question shaped like a prompt that the profile marks as input.
    Question(String, Vec<String>),
}

fn question_only(tool: String, question: String) -> Found {
    Found::Question(tool, vec![question])
}

#[allow(clippy::too_many_arguments)]
fn finish_prompt(
    spec: &PromptSpec,
    region_rows: &[String],
    tool: String,
    subject: String,
    incomplete: Option<(Incomplete, String)>,
    question: String,
    options: Vec<PromptOption>,
    markers: &[&str],
) -> Found {
    let mut h = Fnv::new();
    h.write(normalize(region_rows, markers).as_bytes());
    let dialog_hash = h.finish();
    let mut evidence = vec![
        format!("tool: {tool}"),
        format!("subject: {subject}"),
        question.clone(),
    ];
    if let Some((why, detail)) = &incomplete {
        evidence.push(format!("not exact: {why} ({detail})"));
    }
    evidence.extend(
        options
            .iter()
            .map(|o| format!("{}. {} [{}]", o.number, o.label, o.kind.name())),
    );
    Found::Permission(
        Prompt {
            source: PromptSource::Screen,
            incomplete: incomplete.map(|i| i.0),
            id: PromptId(dialog_hash),
            dialog_hash,
            tool,
            subject,
            question,
            options,
            dialog: region_rows
                .iter()
                .map(|r| r.trim_end().to_string())
                .skip_while(|r| r.trim().is_empty())
                .collect(),
            deny_fallback: spec.deny_fallback.0.clone(),
            unavailable: spec.missing.clone(),
        },
        evidence,
    )
}

/// Extracts a permission prompt with the profile's prompt spec.
/// The subject shown when a dialog's top (its header, tool and subject) has
/// scrolled out of a pane too short for it.
pub const CUT_OFF_SUBJECT: &str = "(dialog taller than the pane: zoom to see it)";

/// The tool shown for such a dialog. Policies never answer it.
pub const UNKNOWN_TOOL: &str = "?";

fn prompt(spec: &PromptSpec, snap: &ScreenSnapshot) -> Option<Found> {
    let mut raw = region(&spec.region, snap);
    // A dialog taller than its pane loses its top, divider included: read the
    // question and options from the whole screen and say the rest is cut off.
    let cut_off = raw.is_empty()
        && matches!(
            spec.region,
            Region::AfterLast { .. } | Region::FromLast { .. }
        )
        && spec.style == PromptStyle::Numbered;
    if cut_off {
        raw = snap.rows.clone();
    }
    let rows: Vec<String> = raw
        .iter()
        .map(|r| match &spec.strip {
            Some(p) => p.0.replace_all(r, "").into_owned(),
            None => r.clone(),
        })
        .collect();
    // Row offset of the region in the snapshot, for per-row attributes.
    let offset = snap.rows.len().saturating_sub(raw.len());
    let inverse: Vec<bool> = (0..rows.len())
        .map(|i| snap.inverse.get(offset + i).copied().unwrap_or(false))
        .collect();
    match spec.style {
        PromptStyle::Inline => inline_prompt(spec, snap),
        PromptStyle::Numbered => numbered_prompt(spec, &rows, &inverse, cut_off, snap),
    }
}

fn inline_prompt(spec: &PromptSpec, snap: &ScreenSnapshot) -> Option<Found> {
    let line_re = spec.line.as_ref()?;
    let choice_re = spec.choice.as_ref()?;
    // The prompt line may wrap in a narrow pane: try the last row alone, then
    // joined with the rows above it (soft-wrapped rows fill the width, so
    // trailing blanks trimmed from them are put back).
    let last = snap.rows.iter().rposition(|r| !r.trim().is_empty())?;
    let width = usize::from(snap.cols);
    let (q_index, line) = (0..3usize).filter(|k| *k <= last).find_map(|k| {
        let first = last - k;
        let mut joined = String::new();
        for (j, r) in snap.rows[first..=last].iter().enumerate() {
            joined.push_str(r);
            if first + j < last {
                let n = r.chars().count();
                joined.extend(std::iter::repeat_n(' ', width.saturating_sub(n)));
            }
        }
        line_re.0.is_match(&joined).then_some((first, joined))
    })?;
    let caps = line_re.0.captures(&line)?;
    let question = caps.name("question")?.as_str().trim().to_string();
    let choices = caps.name("choices")?.as_str();
    let mut options = Vec::new();
    for (i, c) in choice_re.0.captures_iter(choices).enumerate() {
        let key = c.name("key").map(|m| m.as_str().to_lowercase());
        let label = format!(
            "{}{}",
            c.name("key").map_or("", |m| m.as_str()),
            c.name("label").map_or("", |m| m.as_str())
        );
        let number = u8::try_from(i + 1).unwrap_or(u8::MAX);
        options.push(PromptOption {
            number,
            kind: kind_of(spec, &label),
            keys: option_keys(spec, number, key.as_deref()),
            label,
            selected: false,
        });
    }
    if options.len() < 2 {
        return None;
    }
    // The whole screen gives subject rows above the question line.
    let x = tool_and_subject(spec, &snap.rows, &question, q_index, snap, &snap.inverse)?;
    // The dialog as shown: the subject block and the question.
    let top = (0..q_index)
        .rev()
        .take_while(|i| snap.inverse.get(*i).copied().unwrap_or(false))
        .last()
        .unwrap_or(q_index.saturating_sub(1));
    let top = x.top.map_or(top, |t| t.min(top));
    let dialog: Vec<String> = snap.rows[top.min(q_index)..=last].to_vec();
    if x.needs_input {
        return Some(question_only(x.tool, question));
    }
    let incomplete = x
        .incomplete
        .map(|i| (i, "subject".to_string()))
        .or_else(|| failed_check(spec, &x.tool, &dialog, snap));
    Some(finish_prompt(
        spec,
        &dialog,
        x.tool,
        x.subject,
        incomplete,
        question,
        options,
        &[],
    ))
}

fn numbered_prompt(
    spec: &PromptSpec,
    rows: &[String],
    inverse: &[bool],
    cut_off: bool,
    snap: &ScreenSnapshot,
) -> Option<Found> {
    let opt_re = spec.option.as_ref()?;
    let last = rows.iter().rposition(|r| !r.trim().is_empty())?;
    let rows = &rows[..=last];
    let first_opt = rows.iter().position(|r| opt_re.0.is_match(r))?;
    let mut options: Vec<PromptOption> = Vec::new();
    let mut markers: Vec<String> = Vec::new();
    let mut end = first_opt;
    let mut label_indent = 0;
    for (i, row) in rows.iter().enumerate().skip(first_opt) {
        if let Some(c) = opt_re.0.captures(row) {
            let number: u8 = c
                .name("num")
                .and_then(|m| m.as_str().parse().ok())
                .unwrap_or(0);
            if usize::from(number) != options.len() + 1 {
                break;
            }
            let label_start = c.name("label").map_or(0, |m| m.start());
            label_indent = row[..label_start].chars().count();
            if let Some(sel) = c.name("sel") {
                markers.push(sel.as_str().to_string());
            }
            options.push(PromptOption {
                number,
                label: c
                    .name("label")
                    .map_or("", |m| m.as_str())
                    .trim()
                    .to_string(),
                kind: AnswerKind::Other,
                keys: option_keys(spec, number, c.name("key").map(|m| m.as_str())),
                selected: c.name("sel").is_some(),
            });
            end = i;
        } else if !row.trim().is_empty() && label_indent > 0 && indent(row) >= label_indent {
            // A wrapped label (narrow panes); a key shown at its end counts.
            if let Some(o) = options.last_mut() {
                o.label.push(' ');
                o.label.push_str(row.trim());
                if let Some(c) = opt_re.0.captures(&format!("{}. {}", o.number, o.label))
                    && let Some(k) = c.name("key")
                {
                    o.keys = option_keys(spec, o.number, Some(k.as_str()));
                    if let Some(l) = c.name("label") {
                        o.label = l.as_str().trim().to_string();
                    }
                }
            }
            end = i;
        } else {
            break;
        }
    }
    if options.len() < 2 {
        return None;
    }
    let after = rows[end + 1..]
        .iter()
        .filter(|r| !r.trim().is_empty())
        .count();
    if after > spec.max_rows_after {
        return None;
    }
    // The question: the nearest row above the options matching `question`,
    // joined with the rows after it until the text ends in `?` (it wraps).
    let q_re = spec.question.as_ref();
    // A long command between them pushes the question far up (Codex at 40
    // columns: 14 rows).
    let q_start = (0..first_opt).rev().take(40).find(|i| {
        let r = rows[*i].trim();
        !r.is_empty() && q_re.is_none_or(|q| q.0.is_match(&rows[*i]))
    })?;
    let mut question = String::new();
    for r in &rows[q_start..first_opt] {
        let r = r.trim();
        if r.is_empty() {
            break;
        }
        if !question.is_empty() {
            question.push(' ');
        }
        question.push_str(r);
        if question.ends_with('?') {
            break;
        }
    }
    if !question.contains('?') {
        return None;
    }
    for o in &mut options {
        o.kind = kind_of(spec, &o.label);
    }
    // A cut-off dialog must still show its question (matched by the
    // profile's own `question` pattern, never a bare "?").
    if cut_off && spec.question.is_none() {
        return None;
    }
    let x = if cut_off {
        Extracted {
            tool: UNKNOWN_TOOL.to_string(),
            subject: CUT_OFF_SUBJECT.to_string(),
            needs_input: false,
            incomplete: Some(Incomplete::CutOff),
            top: None,
        }
    } else {
        tool_and_subject(spec, rows, &question, q_start, snap, inverse)?
    };
    if x.needs_input {
        return Some(question_only(x.tool, question));
    }
    let incomplete = x
        .incomplete
        .map(|i| (i, "subject".to_string()))
        .or_else(|| failed_check(spec, &x.tool, rows, snap));
    let marker_refs: Vec<&str> = markers.iter().map(String::as_str).collect();
    Some(finish_prompt(
        spec,
        rows,
        x.tool,
        x.subject,
        incomplete,
        question,
        options,
        &marker_refs,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profiles;

    fn profile(name: &str) -> std::sync::Arc<Profile> {
        Profiles::builtin()
            .unwrap_or_else(|e| panic!("{e}"))
            .get(name)
            .unwrap_or_else(|| panic!("no profile {name}"))
    }

    fn snap(text: &str) -> ScreenSnapshot {
        ScreenSnapshot::from_text(text, 60, "")
    }

    fn claude(text: &str) -> Detection {
        detect(&profile("claude"), &snap(text), Timing::default())
    }

    const RULE: &str = "────────────────────────────────────────────────────────────";
    const DASH: &str = "╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌";

    #[test]
    fn bash_dialog_with_three_options_finds_no_by_label() {
        let text = format!(
            "● I will run it.\n{RULE}\n Bash command\n Write a file\n{DASH}\n echo hi > a.txt\n{DASH}\n Do you want to proceed?\n ❯ 1. Yes\n   2. Yes, and always allow access to /x from this project\n   3. No\n\n Esc to cancel · Tab to amend\n"
        );
        let d = claude(&text);
        assert_eq!(d.state, AgentState::NeedsPermission);
        let p = d.prompt.unwrap_or_else(|| panic!("no prompt"));
        assert_eq!(p.tool, "Bash");
        assert_eq!(p.subject, "echo hi > a.txt");
        assert_eq!(p.keys_for(Answer::Deny), Ok(vec![KeyPress::ch('3')]));
        assert_eq!(p.keys_for(Answer::ApproveOnce), Ok(vec![KeyPress::ch('1')]));
        assert!(
            p.keys_for(Answer::ApproveAlways).is_err(),
            "directory access is no approve-always"
        );
        assert!(p.options[0].selected);
    }

    #[test]
    fn moving_the_cursor_keeps_the_prompt_id() {
        let a = format!(
            "{RULE}\n Bash command\n{DASH}\n ls\n{DASH}\n Do you want to proceed?\n ❯ 1. Yes\n   2. No\n"
        );
        let b = a.replace(" ❯ 1. Yes\n   2. No", "   1. Yes\n ❯ 2. No");
        let pa = claude(&a).prompt.map(|p| p.dialog_hash);
        let pb = claude(&b).prompt.map(|p| p.dialog_hash);
        assert!(pa.is_some());
        assert_eq!(pa, pb);
        let c = a.replace(" ls", " rm -rf /");
        assert_ne!(pa, claude(&c).prompt.map(|p| p.dialog_hash));
    }

    #[test]
    fn numbered_lines_in_transcript_are_not_a_dialog() {
        let text = format!(
            "Steps:\n 1. Build it\n 2. Test it\n{RULE}\n❯\u{a0}\n{RULE}\n  ⏸ manual mode on · ? for shortcuts\n"
        );
        assert_eq!(claude(&text).state, AgentState::Idle);
    }

    #[test]
    fn generic_settles_and_rechecks() {
        let t = |ms| Timing {
            since_output_ms: ms,
        };
        let g = profile("generic");
        let s = ScreenSnapshot::default();
        assert_eq!(detect(&g, &s, t(None)).state, AgentState::Starting);
        let d = detect(&g, &s, t(Some(100)));
        assert_eq!(d.state, AgentState::Working);
        assert_eq!(d.recheck_after_ms, Some(1400));
        assert_eq!(detect(&g, &s, t(Some(5000))).state, AgentState::Idle);
    }

    #[test]
    fn working_without_output_becomes_stalled() {
        let text = format!("{RULE}\n❯\u{a0}\n{RULE}\n  ⏸ manual mode on · esc to interrupt\n");
        let p = profile("claude");
        let d = detect(
            &p,
            &snap(&text),
            Timing {
                since_output_ms: Some(1000),
            },
        );
        assert_eq!(d.state, AgentState::Working);
        assert_eq!(d.recheck_after_ms, Some(59_000));
        let d = detect(
            &p,
            &snap(&text),
            Timing {
                since_output_ms: Some(61_000),
            },
        );
        assert_eq!(d.state, AgentState::Stalled);
    }

    #[test]
    fn identify_mixes_slot_generation_and_occurrence() {
        let text = format!(
            "{RULE}\n Bash command\n{DASH}\n ls\n{DASH}\n Do you want to proceed?\n ❯ 1. Yes\n   2. No\n"
        );
        let p = claude(&text).prompt.unwrap_or_else(|| panic!("no prompt"));
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

    #[test]
    fn a_dialog_taller_than_the_pane_is_still_a_prompt() {
        // The rule, header and subject scrolled out of a short pane.
        let text = "\n Do you want to proceed?\n ❯ 1. Yes\n   2. Yes, and always allow access to /x from this project\n   3. No\n\n Esc to cancel · Tab to amend\n";
        let d = claude(text);
        assert_eq!(d.state, AgentState::NeedsPermission);
        let p = d.prompt.unwrap_or_else(|| panic!("no prompt"));
        assert_eq!(
            (p.tool.as_str(), p.subject.as_str()),
            (UNKNOWN_TOOL, CUT_OFF_SUBJECT)
        );
        assert_eq!(p.keys_for(Answer::Deny), Ok(vec![KeyPress::ch('3')]));
        // An idle screen with a numbered list is still no prompt.
        let idle = format!(
            "Do you want to proceed?\n 1. a\n 2. b\n{RULE}\n❯\u{a0}\n{RULE}\n  ⏸ manual mode on · ? for shortcuts\n"
        );
        assert_eq!(claude(&idle).state, AgentState::Idle);
    }

    /// A plain inline agent's command soft-wrapped by the terminal is
    /// rejoined from the engine's wrap flags; a text capture of the same
    /// screen cannot tell, and says so.
    #[test]
    fn soft_wrapped_lines_rejoin_by_the_wrap_flags() {
        let src = r#"name = "yesno"
[prompt]
style = "inline"
region = "last-line"
line = '^(?P<question>Proceed\?) (?P<choices>\[y/N\])$'
choice = '(?P<key>[yYnN])'
suffix = ["enter"]
[[prompt.tools]]
match = "."
tool = "Shell"
subject = { above_question = 1 }
[[prompt.kinds]]
label = "^y"
kind = "approve-once"
[[prompt.kinds]]
label = "^N"
kind = "deny"
"#;
        let p = Profile::parse(std::path::Path::new("yesno.toml"), src)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut e = crate::engine::Engine::new(6, 20, 100);
        e.process(b"out\r\necho 0123456789012345 && rm -rf x\r\nProceed? [y/N]");
        let snap = e.snapshot();
        assert_eq!(snap.rows[1], "echo 012345678901234");
        let got = detect(&p, &snap, Timing::default())
            .prompt
            .unwrap_or_else(|| panic!("no prompt"));
        assert_eq!(
            (got.subject.as_str(), got.incomplete),
            ("echo 0123456789012345 && rm -rf x", None)
        );
        let text = ScreenSnapshot::from_text(&snap.rows.join("\n"), 20, "");
        let got = detect(&p, &text, Timing::default())
            .prompt
            .unwrap_or_else(|| panic!("no prompt"));
        assert_eq!(got.incomplete, Some(Incomplete::Wrapped), "{}", got.subject);
        // Scrolled so the line starts in the scrollback: its start is unseen.
        let mut e = crate::engine::Engine::new(2, 20, 100);
        e.process(b"echo 0123456789012345 && rm -rf x\r\nProceed? [y/N]");
        let got = detect(&p, &e.snapshot(), Timing::default())
            .prompt
            .unwrap_or_else(|| panic!("no prompt"));
        assert_eq!(got.incomplete, Some(Incomplete::CutOff), "{}", got.subject);
    }

    #[test]
    fn aider_inline_prompt_has_no_approve_always() {
        let text = "Tokens: 2.6k sent\n\necho hi > hi.txt\nRun shell command? (Y)es/(N)o/(D)on't ask again [Yes]:\n";
        let d = detect(&profile("aider"), &snap(text), Timing::default());
        let p = d.prompt.unwrap_or_else(|| panic!("no prompt"));
        assert_eq!(
            (p.tool.as_str(), p.subject.as_str()),
            ("Shell", "echo hi > hi.txt")
        );
        assert_eq!(
            p.keys_for(Answer::ApproveOnce),
            Ok(vec![
                KeyPress::ch('y'),
                KeyPress::plain(crate::keys::KeyCode::Enter)
            ])
        );
        assert_eq!(
            p.keys_for(Answer::Deny),
            Ok(vec![
                KeyPress::ch('n'),
                KeyPress::plain(crate::keys::KeyCode::Enter)
            ])
        );
        assert!(
            p.keys_for(Answer::ApproveAlways).is_err(),
            "d is deny-forever, never approve-always"
        );
        let answered = text.replace("[Yes]:", "[Yes]: n");
        assert!(
            detect(&profile("aider"), &snap(&answered), Timing::default())
                .prompt
                .is_none()
        );
    }
}
