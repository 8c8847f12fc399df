//! Agent profiles: everything corral knows about one agent CLI, as data.
//!
//! A profile (TOML, `assets/profiles/<agent>.toml`, embedded; a file of the
//! same name in the config directory's `profiles/` overrides or adds one)
//! holds ordered state rules over named screen regions, how to extract a
//! permission prompt (tool, subject, question, options and their kinds), the
//! keys that give each answer, and the arguments that resume a conversation.
//! Detection ([`crate::detect`]) interprets it; no agent lives in Rust code.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{self, Deserializer};

use crate::config::ConfigError;
use crate::keys::KeyPress;
use crate::model::{AgentState, AnswerKind};

/// The built-in profiles: (file name, TOML text).
pub const BUILTIN: [(&str, &str); 6] = [
    (
        "claude.toml",
        include_str!("../assets/profiles/claude.toml"),
    ),
    ("codex.toml", include_str!("../assets/profiles/codex.toml")),
    (
        "gemini.toml",
        include_str!("../assets/profiles/gemini.toml"),
    ),
    ("aider.toml", include_str!("../assets/profiles/aider.toml")),
    (
        "opencode.toml",
        include_str!("../assets/profiles/opencode.toml"),
    ),
    (
        "generic.toml",
        include_str!("../assets/profiles/generic.toml"),
    ),
];

pub use crate::pattern::Pattern;

/// A named part of the screen a rule looks at.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Region {
    /// `"screen"`, `"title"`, `"cursor-line"` or `"last-line"`.
    Named(NamedRegion),
    /// `{ bottom = N }`: the last N non-empty rows.
    Bottom {
        /// Rows, counted from the last non-empty one.
        bottom: usize,
    },
    /// `{ after_last = REGEX }`: the rows after the last row matching REGEX
    /// (empty when no row matches).
    AfterLast {
        /// The divider.
        after_last: Pattern,
    },
    /// `{ from_last = REGEX }`: the last row matching REGEX and the rows
    /// after it (empty when no row matches).
    FromLast {
        /// The first row.
        from_last: Pattern,
    },
}

/// The regions with a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NamedRegion {
    /// Every row.
    Screen,
    /// The window title (OSC 0/2) as one line.
    Title,
    /// The row the cursor is on.
    CursorLine,
    /// The last non-empty row.
    LastLine,
}

impl Default for Region {
    fn default() -> Self {
        Region::Named(NamedRegion::Screen)
    }
}

/// A condition on a region's lines (and on time). All given fields must hold.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matcher {
    /// Some line contains this text.
    #[serde(default)]
    pub contains: Option<String>,
    /// Some line matches this regex.
    #[serde(default)]
    pub regex: Option<Pattern>,
    /// Every sub-condition holds.
    #[serde(default)]
    pub all: Vec<Matcher>,
    /// At least one sub-condition holds.
    #[serde(default)]
    pub any: Vec<Matcher>,
    /// The sub-condition does not hold.
    #[serde(default)]
    pub not: Option<Box<Matcher>>,
    /// Output arrived within this many milliseconds.
    #[serde(default)]
    pub output_within_ms: Option<u64>,
    /// The program has produced output at all (`true`) or not yet (`false`).
    #[serde(default)]
    pub output_seen: Option<bool>,
    /// The window title matches this regex, whatever the rule's region. The
    /// program sets its title with OSC 0/2; the text it shows cannot (Codex
    /// CLI 0.169.0 drops the escape from a model's answer), so it can
    /// overrule a screen row that model text may imitate.
    #[serde(default)]
    pub title: Option<Pattern>,
}

/// One state rule. (Unknown keys are caught by the flattened [`Matcher`].)
#[derive(Debug, Clone, Deserialize)]
pub struct Rule {
    /// Shown by `corral explain` (`working-footer`).
    pub name: String,
    /// The state it detects.
    #[serde(deserialize_with = "state_name")]
    pub state: AgentState,
    /// Higher is tried first; equal priorities keep file order.
    #[serde(default)]
    pub priority: i32,
    /// Where to look.
    #[serde(default)]
    pub region: Region,
    /// What must hold there.
    #[serde(flatten)]
    pub matcher: Matcher,
}

fn state_name<'de, D: Deserializer<'de>>(d: D) -> Result<AgentState, D::Error> {
    let s = String::deserialize(d)?;
    Ok(match s.as_str() {
        "starting" => AgentState::Starting,
        "working" => AgentState::Working,
        "idle" => AgentState::Idle,
        "needs-input" => AgentState::NeedsInput,
        "needs-permission" => AgentState::NeedsPermission,
        other => {
            return Err(de::Error::custom(format!(
                "unknown state {other:?} (rules detect starting, working, idle, needs-input, needs-permission)"
            )));
        }
    })
}

/// How a prompt's tool and subject are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ToolSource {
    /// The first non-empty row of the dialog.
    #[default]
    FirstLine,
    /// The question.
    Question,
    /// Any row of the dialog.
    Rows,
}

/// Where a subject is.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SubjectSpec {
    /// `{ between = REGEX }`: the rows between the first two rows matching.
    Between {
        /// The divider rows.
        between: Pattern,
    },
    /// `{ block = REGEX }`: the row matching (there must be exactly one) and
    /// the rows after it up to the first blank one, rejoined by the
    /// prompt's `[prompt.wrap]` rules.
    Block {
        /// The subject's first row.
        block: Pattern,
    },
    /// `{ line = N }`: the Nth non-empty row of the dialog (1-based).
    Line {
        /// Row number.
        line: usize,
    },
    /// `{ regex = REGEX }`: the `subject` group of the first matching row.
    Regex {
        /// Must have a `subject` group.
        regex: Pattern,
    },
    /// `{ above_question = N }`: the rows in reverse video right above the
    /// question when the screen has attributes (every one, up to the top of
    /// the block, which must be on screen), else the N rows there.
    AboveQuestion {
        /// Most lines to take.
        above_question: usize,
        /// The agent marks its subject in reverse video (Aider): only such
        /// rows count, and without attributes the subject is a guess.
        /// Otherwise the lines are rejoined from the terminal's soft-wrap
        /// flags.
        #[serde(default)]
        reverse_video: bool,
    },
    /// `{ ran = REGEX, echo = REGEX }`: a question about what an earlier,
    /// answered prompt ran, which names nothing itself (Aider's `Add command
    /// output to the chat?`). The subject is that prompt's: the nearest line
    /// above the question matching `ran` (the answered prompt, its rows
    /// rejoined as an inline prompt's; the regex says which answers ran
    /// it), its subject read as `above_question` reads one. Exact only when
    /// that is, and the rows between it and the question echo each of its
    /// commands (its lines but blank and `#` ones) once, in order (rows
    /// matching `echo`, whose `subject` group is the command, rows it wraps
    /// into after it), with none of those rows in reverse video: command
    /// output imitating a prompt, an echo or a subject makes it ambiguous.
    /// No `ran` line on screen: the last echoed command, cut off.
    Ran {
        /// The answered prompt line that ran the commands.
        ran: Pattern,
        /// A row echoing a command as it runs, its `subject` group the
        /// command (`^Running (?P<subject>.+)$`).
        echo: Pattern,
        /// Most rows of that prompt's subject.
        #[serde(default = "default_ran_rows")]
        most: usize,
        /// As for `above_question`: the agent marks the subject in reverse
        /// video.
        #[serde(default)]
        reverse_video: bool,
    },
    /// `"match"`: the `subject` group of the tool entry's own `match` regex.
    FromMatch(FromMatch),
}

fn default_ran_rows() -> usize {
    16
}

/// The `"match"` subject spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FromMatch {
    /// Use the `subject` group of `match`.
    Match,
}

/// One known tool of a prompt.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolSpec {
    /// Regex on the tool source; a `tool` group names the tool, a `subject`
    /// group may give the subject.
    #[serde(rename = "match")]
    pub matches: Pattern,
    /// The tool name (when `match` has no `tool` group).
    #[serde(default)]
    pub tool: Option<String>,
    /// Where its subject is.
    pub subject: SubjectSpec,
    /// This "prompt" is a question, not a tool permission: the state is
    /// `needs-input` and nothing goes to the inbox.
    #[serde(default)]
    pub needs_input: bool,
}

/// Option label → kind.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindSpec {
    /// Regex on the option label (first matching entry wins).
    pub label: Pattern,
    /// Its kind.
    #[serde(deserialize_with = "kind_name")]
    pub kind: AnswerKind,
}

fn kind_name<'de, D: Deserializer<'de>>(d: D) -> Result<AnswerKind, D::Error> {
    let s = String::deserialize(d)?;
    Ok(match s.as_str() {
        "approve-once" => AnswerKind::ApproveOnce,
        "approve-always" => AnswerKind::ApproveAlways,
        "deny" => AnswerKind::Deny,
        "other" => AnswerKind::Other,
        other => {
            return Err(de::Error::custom(format!(
                "unknown option kind {other:?} (approve-once, approve-always, deny, other)"
            )));
        }
    })
}

/// A list of keys in notation (`["y", "enter"]`).
#[derive(Debug, Clone, Default)]
pub struct Keys(pub Vec<KeyPress>);

impl<'de> Deserialize<'de> for Keys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Vec::<String>::deserialize(d)?;
        v.iter()
            .map(|k| k.parse::<KeyPress>().map_err(de::Error::custom))
            .collect::<Result<Vec<_>, _>>()
            .map(Keys)
    }
}

/// How options are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Select {
    /// Press the option's number.
    #[default]
    Number,
    /// Press the key the option shows (`(y)`, `(N)o`); the number if none.
    /// Always the case for inline prompts.
    Key,
}

/// Prompt layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PromptStyle {
    /// A question and numbered option rows below it (Claude, Codex, Gemini).
    #[default]
    Numbered,
    /// One line: `Question? (Y)es/(N)o [Yes]: ` (Aider).
    Inline,
}

/// How to find and read a permission prompt.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptSpec {
    /// Layout.
    #[serde(default)]
    pub style: PromptStyle,
    /// Where the dialog is.
    #[serde(default)]
    pub region: Region,
    /// Removed from every row before parsing (box borders).
    #[serde(default)]
    pub strip: Option<Pattern>,
    /// Numbered style: an option row, with groups `num`, `label` and
    /// optionally `sel` (cursor marker) and `key`.
    #[serde(default)]
    pub option: Option<Pattern>,
    /// Inline style: the prompt line, with groups `question` and `choices`.
    #[serde(default)]
    pub line: Option<Pattern>,
    /// Inline style: one choice in `choices`, with groups `key` and `label`.
    #[serde(default)]
    pub choice: Option<Pattern>,
    /// Numbered style: the first row of the question (searched upward from
    /// the options).
    #[serde(default)]
    pub question: Option<Pattern>,
    /// Most non-empty rows allowed after the options (footers).
    #[serde(default = "default_after")]
    pub max_rows_after: usize,
    /// Where the tool name comes from.
    #[serde(default)]
    pub tool_from: ToolSource,
    /// Known tools, first match wins.
    #[serde(default)]
    pub tools: Vec<ToolSpec>,
    /// Option kinds, first match wins; unmatched options are `other`.
    #[serde(default)]
    pub kinds: Vec<KindSpec>,
    /// How options are chosen.
    #[serde(default)]
    pub select: Select,
    /// Keys sent after the selecting key (Aider needs `enter`).
    #[serde(default)]
    pub suffix: Keys,
    /// Keys that deny when the dialog has no deny option.
    #[serde(default)]
    pub deny_fallback: Keys,
    /// Why a kind is missing, shown instead of guessing (Aider has no
    /// approve-always).
    #[serde(default)]
    pub missing: BTreeMap<String, String>,
    /// How the agent lays out a subject too long for one row.
    #[serde(default)]
    pub wrap: WrapSpec,
    /// Structural checks: a dialog that fails one is still shown, but its
    /// subject is not exact and no rule answers it.
    #[serde(default, rename = "check")]
    pub checks: Vec<CheckSpec>,
}

/// How an agent wraps a long subject: the agent breaks it into rows itself
/// (no terminal soft-wrap flags; seen in every long-command capture of the
/// four CLIs, tests/fixtures/LONG-DIALOGS.md), at spaces where it can and
/// mid-word for a word longer than a row.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WrapSpec {
    /// Cells of the pane's width the subject text cannot use (gutters and
    /// margins): text width = cols - this.
    #[serde(default)]
    pub width_offset: u16,
    /// Removed from the start of every subject row (a gutter such as
    /// Claude's ` │ `); it must be on every row or on none.
    #[serde(default)]
    pub gutter: Option<Pattern>,
    /// Removed from the end of every subject row (a box border).
    #[serde(default)]
    pub right: Option<Pattern>,
    /// Removed from the start of the rejoined subject (Codex's `$ `, which
    /// takes part in the wrapping).
    #[serde(default)]
    pub first: Option<Pattern>,
    /// The space at a break stays at the end of the row (Aider), instead of
    /// being dropped.
    #[serde(default)]
    pub keeps_space: bool,
}

/// Where a structural check counts rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckScope {
    /// The dialog's region.
    #[default]
    Region,
    /// The whole screen.
    Screen,
}

/// What a failed structural check says about the prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckFailure {
    /// The dialog's structure is not the one expected.
    #[default]
    Ambiguous,
    /// Another dialog-like structure is on screen.
    SecondDialog,
    /// Part of the dialog is out of view (an option list the agent scrolled
    /// because the pane is short).
    CutOff,
    /// The subject is model text the agent prints as it is, escapes and
    /// all: what the screen shows cannot prove what runs.
    Unprovable,
}

/// One `[[prompt.check]]`: the number of rows matching `regex` in `scope`
/// must be `exactly` N, or `at_most` N.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    /// Shown by `corral explain` when it fails.
    pub name: String,
    /// Rows to count.
    pub regex: Pattern,
    /// Where to count.
    #[serde(default)]
    pub scope: CheckScope,
    /// The count must be exactly this.
    #[serde(default)]
    pub exactly: Option<usize>,
    /// The count must be at most this.
    #[serde(default)]
    pub at_most: Option<usize>,
    /// Only for these tools (as detected); every tool when empty.
    #[serde(default)]
    pub tools: Vec<String>,
    /// What a failure means.
    #[serde(default)]
    pub fails: CheckFailure,
}

fn default_interrupt() -> Vec<crate::keys::KeyPress> {
    vec![crate::keys::KeyPress::ctrl('c')]
}

fn default_after() -> usize {
    2
}

/// One agent profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The `agent` name slots use.
    pub name: String,
    /// Human name and version the facts come from.
    #[serde(default)]
    pub source: String,
    /// Arguments added when a session is restarted, to resume the
    /// conversation; only for the [`Profile::programs`].
    #[serde(default)]
    pub resume_args: Vec<String>,
    /// The program file names (`claude`) the profile's command-line
    /// arguments (`resume_args`, the hook's `args`) are for. A slot whose
    /// command is anything else (a wrapper script, corral's demo agent) is
    /// read with this profile but gets none of them. Empty: every program.
    #[serde(default)]
    pub programs: Vec<String>,
    /// Working with no output for this long is `stalled`, in milliseconds.
    #[serde(default = "default_stalled")]
    pub stalled_after_ms: u64,
    /// How corral names the agent's conversation, so a restart resumes
    /// exactly it (`[session]`); when set, used instead of
    /// [`Profile::resume_args`].
    #[serde(default)]
    pub session: Option<SessionSpec>,
    /// The keys that interrupt the agent's work (`corral ctl interrupt`):
    /// Esc for Claude Code, Codex and Gemini CLI ("esc to interrupt"),
    /// ctrl-c for Aider and a shell. Default: ctrl-c.
    #[serde(default = "default_interrupt")]
    pub interrupt: Vec<crate::keys::KeyPress>,
    /// State rules.
    #[serde(default, rename = "rule")]
    pub rules: Vec<Rule>,
    /// The permission prompt, if this agent has them.
    #[serde(default)]
    pub prompt: Option<PromptSpec>,
    /// How corral installs its permission hook into this agent for one
    /// session, if the agent has such a hook.
    #[serde(default)]
    pub hook: Option<HookSpec>,
    /// What the agent itself writes outside its workspace, which a
    /// sandboxed slot must allow (`[sandbox]`).
    #[serde(default)]
    pub sandbox: SandboxSpec,
    /// The structured transports this agent speaks (`[transport.stream-json]`),
    /// with the arguments each needs.
    #[serde(default, rename = "transport")]
    pub transports: std::collections::BTreeMap<crate::agent_protocol::Transport, TransportSpec>,
}

/// A `[transport.NAME]` table: how the agent is started to speak a
/// structured protocol.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransportSpec {
    /// Arguments added to the agent's command line (only for the profile's
    /// [`Profile::programs`]; a wrapper or corral's demo agent is given its
    /// own in the slot's `args`).
    pub args: Vec<String>,
    /// Where the facts come from ("Claude Code 2.1.329, tried 2026-12-07").
    #[serde(default)]
    pub source: String,
    /// ACP: the agent titles a shell call with its whole command, so a
    /// title may be read as the command (only for a call that says it runs
    /// in the slot's directory).
    #[serde(default)]
    pub execute_title_is_command: bool,
    /// Environment the agent gets on this transport (Claude Code:
    /// `CLAUDE_BASH_MAINTAIN_PROJECT_WORKING_DIR`, so every command runs
    /// in the directory its request is judged against).
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
}

/// The `[sandbox]` table of a profile: the agent's own state, which a
/// sandboxed slot may write besides its workspace.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxSpec {
    /// Paths: `~` is the slot's `HOME`, `${NAME:-fallback}` its
    /// environment. One ending in `/` is a directory (everything beneath
    /// it), made before the agent starts if missing; any other is a file,
    /// writable only if it exists (Landlock grants existing files).
    #[serde(default)]
    pub write: Vec<String>,
    /// Where the list comes from ("written by Codex 0.169.0 at start: ...").
    #[serde(default)]
    pub source: String,
    /// The agent opens terminals of its own (node-pty, pexpect, a shell's
    /// `ssh -t`): it may write every PTY under `/dev/pts`, which also holds
    /// the user's other terminals. Otherwise only the one it runs on.
    #[serde(default)]
    pub ptys: bool,
}

/// The `[session]` table: how a slot's conversation is named, found and
/// resumed, `{id}` standing for its id (a UUID).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSpec {
    /// Where the id comes from.
    #[serde(default)]
    pub id: SessionIdSource,
    /// For the conversation's first start (`--session-id {id}`); only with
    /// `id = "corral"`.
    #[serde(default)]
    pub start_args: Vec<String>,
    /// For every start after, resuming it (`--resume {id}`).
    pub resume_args: Vec<String>,
    /// Where the agent keeps a conversation's transcript: a glob with `{id}`
    /// (or `{id8}`, its first 8 characters) in the file name, `~` for the
    /// slot's `HOME` and `${NAME:-fallback}` for its environment. A restart
    /// resumes an id only when its transcript exists (the agents refuse an
    /// id with no conversation yet); with `id = "open-transcript"` it is
    /// also how the id is found. None: every known id is resumed.
    #[serde(default)]
    pub transcript: Option<String>,
    /// How the transcript tells the conversation's tokens (`claude`,
    /// `codex`, `gemini`), for a PTY slot's usage; none: it is not read.
    #[serde(default)]
    pub usage: Option<TranscriptUsage>,
}

/// The transcript formats corral reads usage from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TranscriptUsage {
    /// Claude Code 2.1.329's `projects/*/<id>.jsonl` (see
    /// [`crate::agent_protocol::claude_transcript_usage`]).
    Claude,
    /// Codex CLI 0.169.0's `rollout-*-<id>.jsonl` (see
    /// [`crate::agent_protocol::codex_transcript_usage`]).
    Codex,
    /// Gemini CLI 0.61.0's `chats/session-*-<id8>.jsonl` (see
    /// [`crate::agent_protocol::gemini_transcript_usage`]).
    Gemini,
}

/// Where a conversation's id comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SessionIdSource {
    /// corral makes one and gives it in `start_args` (Claude Code's
    /// `--session-id`, Gemini CLI's `--session-id`).
    #[default]
    Corral,
    /// The agent makes its own; corral reads it from the transcript file
    /// the agent holds open (Codex CLI's `rollout-<time>-<uuid>.jsonl`),
    /// whenever the agent goes idle, and from its hook's `session_id`.
    OpenTranscript,
}

impl SessionSpec {
    /// The arguments for a start of conversation `id`: the first, or one
    /// that resumes it.
    pub fn args(&self, id: &str, resume: bool) -> Vec<String> {
        let list = if resume {
            &self.resume_args
        } else {
            &self.start_args
        };
        list.iter().map(|a| a.replace("{id}", id)).collect()
    }
}

/// The `[hook]` table: how corral's permission hook is installed into one
/// session of the agent, never into the user's own settings files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookSpec {
    /// What the hook reads and prints.
    pub protocol: crate::model::HookProtocol,
    /// Arguments added to the agent's command line. In each, `{command_json}`
    /// is replaced by the hook command as a JSON string (quotes included) and
    /// `{command}` by the plain hook command.
    pub args: Vec<String>,
    /// A template whose SHA-256 the agent wants as proof that the user
    /// trusts the hook (Codex): `{trust_hash}` in `args` becomes
    /// `sha256:<hex>` of it, with `{command_json}` put in first.
    #[serde(default)]
    pub trust: Option<String>,
    /// The agent's tool names as the hook gives them, mapped to the names its
    /// screen profile uses (Codex's hook says `Bash`, its dialog is `Shell`),
    /// so rules and the inbox name a tool one way.
    #[serde(default)]
    pub rename_tools: BTreeMap<String, String>,
    /// The agent draws its own dialog only after the hook decides nothing
    /// (Codex): an answer the hook cannot carry (approve always) is given by
    /// handing the request back and answering that dialog.
    #[serde(default)]
    pub dialog_after_hook: bool,
}

impl Profile {
    /// Whether a slot running `command` takes this profile's command-line
    /// arguments (resume arguments, the hook): its file name is one of
    /// [`Profile::programs`].
    pub fn takes_args(&self, command: &str) -> bool {
        let name = Path::new(command)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.programs.is_empty() || self.programs.contains(&name)
    }
}

impl HookSpec {
    /// The arguments with the hook command put in.
    pub fn render_args(&self, command: &str) -> Vec<String> {
        use sha2::Digest;
        let json = serde_json::Value::String(command.to_string()).to_string();
        let fill = |a: &str| {
            a.replace("{command_json}", &json)
                .replace("{command}", command)
        };
        let hash = self.trust.as_deref().map(|t| {
            let digest = sha2::Sha256::digest(fill(t).as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            format!("sha256:{hex}")
        });
        self.args
            .iter()
            .map(|a| {
                let a = fill(a);
                match &hash {
                    Some(h) => a.replace("{trust_hash}", h),
                    None => a,
                }
            })
            .collect()
    }
}

fn default_stalled() -> u64 {
    60_000
}

impl Profile {
    /// Parses a profile; `path` names it in errors.
    ///
    /// Errors: TOML errors, bad regexes, unknown states or kinds, a numbered
    /// prompt without `option` or an inline one without `line`/`choice`,
    /// each with line and column.
    pub fn parse(path: &Path, src: &str) -> Result<Profile, ConfigError> {
        let mut p: Profile =
            toml::from_str(src).map_err(|e| ConfigError::from_toml(path, src, &e))?;
        if let Some(spec) = &p.prompt {
            let missing = match spec.style {
                PromptStyle::Numbered if spec.option.is_none() => Some("`option`"),
                PromptStyle::Inline if spec.line.is_none() || spec.choice.is_none() => {
                    Some("`line` and `choice`")
                }
                _ => None,
            };
            if let Some(what) = missing {
                let pos = src.find("[prompt]").map(|p| p..p + 1);
                return Err(ConfigError::at(
                    path,
                    src,
                    pos,
                    format!("[prompt] needs {what} for this style"),
                ));
            }
        }
        if let Some(spec) = &p.session {
            let why = match spec.id {
                SessionIdSource::Corral if spec.start_args.is_empty() => {
                    Some("`id = \"corral\"` needs `start_args` that give the agent the id")
                }
                SessionIdSource::OpenTranscript
                    if !spec
                        .transcript
                        .as_deref()
                        .and_then(|t| t.rsplit_once('/'))
                        .is_some_and(|(_, file)| file.contains("{id}")) =>
                {
                    Some(
                        "`id = \"open-transcript\"` needs a `transcript` whose file name holds `{id}`",
                    )
                }
                _ => None,
            };
            if let Some(why) = why {
                let pos = src.find("[session]").map(|p| p..p + 1);
                return Err(ConfigError::at(path, src, pos, format!("[session] {why}")));
            }
        }
        // Higher priority first; the sort is stable, so ties keep file order.
        p.rules.sort_by_key(|r| std::cmp::Reverse(r.priority));
        Ok(p)
    }
}

/// Every known profile by name.
#[derive(Debug, Clone, Default)]
pub struct Profiles {
    map: BTreeMap<String, Arc<Profile>>,
}

impl Profiles {
    /// The built-in profiles, then every `*.toml` in `user_dir` (if it
    /// exists), which replaces a built-in of the same name or adds one.
    ///
    /// Errors: a profile that does not parse (file, line, column), or a user
    /// directory that cannot be read.
    pub fn load(user_dir: Option<&Path>) -> Result<Profiles, ConfigError> {
        let mut map = BTreeMap::new();
        for (file, src) in BUILTIN {
            let p = Profile::parse(&PathBuf::from(format!("<built-in {file}>")), src)?;
            map.insert(p.name.clone(), Arc::new(p));
        }
        if let Some(dir) = user_dir.filter(|d| d.is_dir()) {
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(|e| ConfigError {
                    path: dir.to_path_buf(),
                    line: None,
                    column: None,
                    message: format!("cannot read: {e}"),
                })?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            files.sort();
            for f in files {
                let src = std::fs::read_to_string(&f).map_err(|e| ConfigError {
                    path: f.clone(),
                    line: None,
                    column: None,
                    message: format!("cannot read: {e}"),
                })?;
                let p = Profile::parse(&f, &src)?;
                map.insert(p.name.clone(), Arc::new(p));
            }
        }
        Ok(Profiles { map })
    }

    /// The built-in profiles only.
    ///
    /// Errors: only if a built-in file is broken (a test guards them).
    pub fn builtin() -> Result<Profiles, ConfigError> {
        Self::load(None)
    }

    /// The profile called `name`.
    pub fn get(&self, name: &str) -> Option<Arc<Profile>> {
        self.map.get(name).cloned()
    }

    /// All profile names.
    pub fn names(&self) -> Vec<&str> {
        self.map.keys().map(String::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The trust hash Codex 0.169.0 wrote for a hook (seen in
    /// tests/fixtures/HOOKS.md): the same bytes hash the same.
    #[test]
    fn codex_hook_trust_hash_matches_the_one_codex_computes() {
        let p = Profiles::builtin()
            .unwrap_or_else(|e| panic!("{e}"))
            .get("codex")
            .unwrap_or_else(|| panic!("no codex"));
        let hook = p.hook.as_ref().unwrap_or_else(|| panic!("no hook"));
        let args = hook.render_args(r#"/tmp/hooks-lab/hook.py 'CX tok 1234' "$CODEX_HOME""#);
        assert!(
            args.iter().any(|a| a.contains(
                "sha256:cd5398ce4d119828cfd255570363ac982ce3b10c91f0ac752ceebdd4e543ad8f"
            )),
            "{args:?}"
        );
        assert!(
            args.iter()
                .any(|a| a
                    .contains(r#"command="/tmp/hooks-lab/hook.py 'CX tok 1234' \"$CODEX_HOME\"""#)),
            "{args:?}"
        );
        assert!(p.takes_args("/x/bin/codex") && !p.takes_args("/x/bin/corral"));
    }

    #[test]
    fn builtin_profiles_parse() {
        let p = Profiles::builtin().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            p.names(),
            ["aider", "claude", "codex", "gemini", "generic", "opencode"]
        );
    }

    #[test]
    fn profile_errors_have_positions() {
        let e = Profile::parse(
            Path::new("x.toml"),
            "name = \"x\"\n[[rule]]\nname = \"r\"\nstate = \"dancing\"\n",
        )
        .err()
        .unwrap_or_else(|| panic!("expected an error"));
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.message.contains("dancing"), "{e}");
        let e = Profile::parse(
            Path::new("x.toml"),
            "name = \"x\"\n[[rule]]\nname = \"r\"\nstate = \"idle\"\nregex = \"(\"\n",
        )
        .err()
        .unwrap_or_else(|| panic!("expected an error"));
        assert!(e.message.contains("bad regex"), "{e}");
        assert!(e.line.is_some(), "{e}");
        let e = Profile::parse(
            Path::new("x.toml"),
            "name = \"x\"\n[prompt]\nstyle = \"inline\"\n",
        )
        .err()
        .unwrap_or_else(|| panic!("expected an error"));
        assert_eq!(e.line, Some(2), "{e}");
        // A conversation corral names needs arguments that name it; one the
        // agent names needs a file to read it from.
        for (session, want) in [
            ("resume_args = [\"--resume\", \"{id}\"]\n", "start_args"),
            (
                "id = \"open-transcript\"\nresume_args = [\"resume\", \"{id}\"]\n",
                "transcript",
            ),
            (
                "id = \"open-transcript\"\nresume_args = []\ntranscript = \"~/{id}/x.jsonl\"\n",
                "transcript",
            ),
        ] {
            let e = Profile::parse(
                Path::new("x.toml"),
                &format!("name = \"x\"\n\n[session]\n{session}"),
            )
            .err()
            .unwrap_or_else(|| panic!("expected an error for {session}"));
            assert_eq!(e.line, Some(3), "{e}");
            assert!(e.message.contains(want), "{e}");
        }
    }

    #[test]
    fn rules_sort_by_priority_keeping_file_order() {
        let p = Profile::parse(
            Path::new("x.toml"),
            "name = \"x\"\n[[rule]]\nname = \"a\"\nstate = \"idle\"\n[[rule]]\nname = \"b\"\nstate = \"working\"\npriority = 5\n[[rule]]\nname = \"c\"\nstate = \"idle\"\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&str> = p.rules.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["b", "a", "c"]);
    }
}
