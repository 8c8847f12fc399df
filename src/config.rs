//! Configuration: `config.toml` (slots and UI settings), with errors that name
//! the file, line and column. Depends on nothing else of corral's.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The embedded demo configuration, used when no config file exists. The
/// placeholders `{corral}` (this executable) and `{shell}` (`$SHELL`, else
/// `/bin/sh`) are replaced when it is loaded.
pub const DEMO_CONFIG: &str = include_str!("../assets/demo.toml");

/// A configuration error with its position in the source file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file the error is in (or a name such as `<embedded demo>`).
    pub path: PathBuf,
    /// 1-based line, when the position is known.
    pub line: Option<usize>,
    /// 1-based column in characters, when the position is known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {}", self.path.display(), self.message),
            _ => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl ConfigError {
    /// Builds an error at a byte span of `source`.
    pub fn at(path: &Path, source: &str, span: Option<Range<usize>>, message: String) -> Self {
        let (line, column) = match span {
            Some(r) => {
                let (l, c) = line_col(source, r.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        ConfigError {
            path: path.to_path_buf(),
            line,
            column,
            message,
        }
    }

    /// Converts a TOML parse or type error into a positioned error.
    pub fn from_toml(path: &Path, source: &str, e: &toml::de::Error) -> Self {
        Self::at(path, source, e.span(), e.message().trim().to_string())
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError {
        path: path.to_path_buf(),
        line: None,
        column: None,
        message: format!("cannot read: {e}"),
    })
}

/// 1-based line and column (in characters) of a byte offset in `source`.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |s| s.chars().count()) + 1;
    (line, col)
}

/// When a session whose child exited is started again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    /// Never restart; the slot stays `exited`.
    #[default]
    Never,
    /// Restart when the child exits with a non-zero status or a signal.
    OnFailure,
    /// Restart whenever the child exits.
    Always,
}

/// One configured agent seat (`[[slot]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotConfig {
    /// Unique id, shown in the UI and used by `--attach`.
    pub id: toml::Spanned<String>,
    /// Free-form role ("backend", "reviewer"), shown in the sidebar.
    #[serde(default)]
    pub role: String,
    /// The agent profile that detects this slot's state (`claude`, `codex`,
    /// `gemini`, `aider`, `generic` or a user profile's name).
    #[serde(default = "default_agent")]
    pub agent: toml::Spanned<String>,
    /// The program to run (looked up in `PATH`).
    pub command: toml::Spanned<String>,
    /// Arguments passed to `command`.
    #[serde(default)]
    pub args: Vec<String>,
    /// Working directory (`~/` means the home directory); defaults to
    /// corral's own.
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    /// Extra environment variables for the child.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Add the profile's resume arguments when the session is started again
    /// (so the agent continues its conversation).
    #[serde(default = "yes")]
    pub resume: bool,
    /// Restart policy. Restarts back off: 1 s, 2 s, 4 s ... up to 30 s; the
    /// delay resets once a session has run for 30 s.
    #[serde(default)]
    pub restart: RestartPolicy,
    /// Run in a git worktree of its own (`true`, or `{ branch = "...",
    /// base = "main" }`): made at start from the repository of `cwd`, on
    /// branch `corral/<slot>` by default, under corral's data directory;
    /// reused when it exists.
    #[serde(default)]
    pub worktree: Option<WorktreeConfig>,
    /// Commands run (by `sh -c`, in order, stopping at the first that
    /// fails) in a worktree just made, before the agent starts; their
    /// output shows in the pane.
    #[serde(default)]
    pub setup: Vec<String>,
    /// Confine the slot's agent, and everything it starts, to writing in
    /// its workspace (`true`, `false` or `"if-available"`; default: the
    /// `[sandbox]` table's `default`). See [`crate::sandbox`].
    #[serde(default)]
    pub sandbox: Option<crate::sandbox::SandboxMode>,
    /// More places a sandboxed slot may write (directories and everything
    /// beneath them, or files; `~/` is the home directory), beyond its
    /// workspace, its agent's state, a private temporary directory and the
    /// `[sandbox]` table's `write`.
    #[serde(default)]
    pub write: Vec<PathBuf>,
    /// How corral talks to the agent: `pty` (a terminal, the default),
    /// or `stream-json` (Claude Code's JSON stream: a structured slot,
    /// whose state and prompts come from the protocol, never the screen).
    #[serde(default)]
    pub transport: crate::agent_protocol::Transport,
}

impl SlotConfig {
    /// The branch of the slot's worktree (`corral/<id>` unless it names
    /// one), when it has one.
    pub fn worktree_branch(&self) -> Option<String> {
        self.worktree
            .as_ref()
            .and_then(|w| w.branch_and_base(self.id.get_ref()))
            .map(|(b, _)| b)
    }
}

/// A slot's `worktree` setting.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum WorktreeConfig {
    /// `worktree = true` (`false` is no worktree).
    On(bool),
    /// `worktree = { branch = "...", base = "..." }`.
    Spec {
        /// The branch (default `corral/<slot>`).
        #[serde(default)]
        branch: Option<String>,
        /// What a new branch starts from (default: the repository's HEAD).
        #[serde(default)]
        base: Option<String>,
    },
}

impl WorktreeConfig {
    /// The branch and base, or `None` for `worktree = false`.
    pub fn branch_and_base(&self, slot: &str) -> Option<(String, Option<String>)> {
        match self {
            WorktreeConfig::On(false) => None,
            WorktreeConfig::On(true) => Some((crate::worktree::default_branch(slot), None)),
            WorktreeConfig::Spec { branch, base } => Some((
                branch
                    .clone()
                    .unwrap_or_else(|| crate::worktree::default_branch(slot)),
                base.clone(),
            )),
        }
    }
}

/// Checks a slot id: not empty, no spaces or control characters.
///
/// Errors: why it is not one.
pub fn check_slot_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "slot id {id:?} must be non-empty and have no spaces"
        ));
    }
    Ok(())
}

fn default_agent() -> toml::Spanned<String> {
    toml::Spanned::new(0..0, "generic".to_string())
}

fn yes() -> bool {
    true
}

/// `[ui]` settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UiConfig {
    /// Sidebar width in cells (0 hides the sidebar).
    pub sidebar_width: u16,
    /// Scrollback rows kept per slot.
    pub scrollback_rows: usize,
    /// The smallest PTY a slot gets. Panes that would be smaller stack (see
    /// `app::layout::compute`).
    pub min_pane: PaneSize,
    /// A shell command that takes copied text on its standard input and
    /// puts it on the system clipboard (`wl-copy`, `xclip -i -selection
    /// clipboard`, `pbcopy`), run with `sh -c` besides the OSC 52 sequence
    /// every copy sends. None: OSC 52 only.
    #[serde(alias = "copy-command")]
    pub copy_command: Option<String>,
    /// How long an escape sequence cut off at the end of a read of the
    /// terminal waits for its rest before its bytes count as keys (a lone
    /// `ESC` as the Esc key), in milliseconds (tmux's `escape-time`); at
    /// most 2000. Raise it over a slow link that splits sequences.
    #[serde(alias = "escape-ms")]
    pub escape_ms: u64,
}

/// The default of [`UiConfig::escape_ms`], in milliseconds. Terminals
/// send a sequence in one write; only a slow link splits one. (tmux's
/// `escape-time` is 10 ms.)
pub const ESCAPE_MS_DEFAULT: u64 = 20;

impl UiConfig {
    /// [`UiConfig::escape_ms`] as a duration, at most 2 s.
    pub fn escape_wait(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.escape_ms.min(2000))
    }
}

/// A pane size in cells: `{ cols = 50, rows = 18 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaneSize {
    /// Columns, in cells.
    pub cols: u16,
    /// Rows, in cells.
    pub rows: u16,
}

impl PaneSize {
    /// The default minimum pane: the smallest at which every built-in agent
    /// (Claude Code 2.1.329, Codex CLI 0.169.0, Gemini CLI 0.61.0, Aider
    /// 0.86.2) draws its shell-command permission dialog whole, measured
    /// with `scripts/capture-fixtures.sh --long --sizes` (see
    /// tests/fixtures/LONG-DIALOGS.md, "Minimum pane").
    pub const DEFAULT: PaneSize = PaneSize { cols: 50, rows: 18 };
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            sidebar_width: 46,
            scrollback_rows: 5000,
            min_pane: PaneSize::DEFAULT,
            copy_command: None,
            escape_ms: ESCAPE_MS_DEFAULT,
        }
    }
}

/// `[transcripts]` settings: every slot's raw output is kept in
/// `transcripts/<session>/<slot>.raw` in the data directory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TranscriptConfig {
    /// MiB one transcript file holds before it becomes `<slot>.raw.1`
    /// (replacing the one before) and a new one starts, so a slot keeps at
    /// most twice this on disk. 0 keeps no transcripts.
    pub max_mib: u64,
}

impl Default for TranscriptConfig {
    fn default() -> Self {
        TranscriptConfig { max_mib: 1024 }
    }
}

/// `[sandbox]` settings: the default for every slot that does not say.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SandboxConfig {
    /// `sandbox` for slots that do not set it (`false` unless given).
    pub default: crate::sandbox::SandboxMode,
    /// Places every sandboxed slot may also write (`~/.cargo/registry`).
    pub write: Vec<PathBuf>,
}

/// `[notify]`: where a slot's needs-permission, needs-input, stalled and
/// exited events are pushed (besides the terminal's bell and OSC
/// notifications, which stay as they are).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// A URL that gets each event as a JSON body (`POST`).
    pub webhook: Option<String>,
    /// An ntfy topic URL (`https://ntfy.sh/TOPIC`): the event as text, with
    /// `Title`, `Tags`, `Priority` and `Click` headers.
    pub ntfy: Option<String>,
    /// A link sent with each event (the page of `corral web`).
    pub link: Option<String>,
}

/// The whole `config.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// UI settings.
    #[serde(default)]
    pub ui: UiConfig,
    /// Transcript settings.
    #[serde(default)]
    pub transcripts: TranscriptConfig,
    /// `copy_command` (or `copy-command`) at the top level: the same as
    /// `[ui] copy_command`, which it fills when that is not set.
    #[serde(default, alias = "copy-command")]
    pub copy_command: Option<String>,
    /// Sandbox defaults.
    #[serde(default)]
    pub sandbox: SandboxConfig,
    /// Push notifications (`[notify]`).
    #[serde(default)]
    pub notify: NotifyConfig,
    /// The slots, in display order.
    #[serde(rename = "slot", default)]
    pub slots: Vec<SlotConfig>,
    /// Rules that answer prompts automatically (`[[policy]]`), in order.
    #[serde(rename = "policy", default)]
    pub policy: Vec<crate::policy::PolicyRule>,
    /// Dangerous patterns added to the built-in list (`[[dangerous]]`).
    #[serde(default)]
    pub dangerous: Vec<crate::policy::Dangerous>,
    /// Programs added to (or replacing, by name) the built-in command model
    /// (`[[program]]`, docs/command-model.md).
    #[serde(rename = "program", default)]
    pub programs: Vec<crate::policy::model::ProgramSpec>,
    /// Where the config came from (path and text), for positioned errors
    /// found after parsing.
    #[serde(skip)]
    pub origin: Option<(PathBuf, String)>,
}

/// Where a rule's pattern (or else its name) is written in `source`, for
/// positioned errors.
fn rule_position(source: &str, r: &crate::policy::PolicyRule) -> Option<std::ops::Range<usize>> {
    let name_at = source.find(&format!("{:?}", r.name))?;
    let rest = &source[name_at..];
    let end = rest.find("[[").unwrap_or(rest.len());
    let table = &rest[..end];
    [
        "subject",
        "subject_regex",
        "path",
        "command",
        "text",
        "tool",
    ]
    .iter()
    .filter_map(|k| {
        table
            .lines()
            .scan(0usize, |off, l| {
                let at = *off;
                *off += l.len() + 1;
                Some((at, l))
            })
            .find(|(_, l)| {
                l.trim_start().starts_with(&format!("{k} "))
                    || l.trim_start().starts_with(&format!("{k}="))
            })
            .map(|(at, l)| at + (l.len() - l.trim_start().len()))
    })
    .min()
    .map(|off| name_at + off..name_at + off + 1)
    .or(Some(name_at..name_at + 1))
}

impl Config {
    /// Parses and validates a config from TOML text. `path` names the source
    /// in errors.
    ///
    /// Errors: TOML syntax, unknown keys, wrong types, no slots, an empty or
    /// duplicate slot id, an empty command; each with line and column.
    pub fn parse(path: &Path, source: &str) -> Result<Config, ConfigError> {
        Self::parse_with(path, source, true)
    }

    /// Like [`Config::load`], but a config without slots is accepted (for
    /// `corral policy test`, which needs only `[[policy]]` and
    /// `[[dangerous]]`).
    ///
    /// Errors: the file cannot be read, or any other check of
    /// [`Config::parse`] fails.
    pub fn load_policy(path: &Path) -> Result<Config, ConfigError> {
        let source = read(path)?;
        Self::parse_with(path, &source, false)
    }

    fn parse_with(path: &Path, source: &str, need_slots: bool) -> Result<Config, ConfigError> {
        let mut cfg: Config =
            toml::from_str(source).map_err(|e| ConfigError::from_toml(path, source, &e))?;
        cfg.origin = Some((path.to_path_buf(), source.to_string()));
        if cfg.ui.copy_command.is_none() {
            cfg.ui.copy_command = cfg.copy_command.clone();
        }
        let known: Vec<String> = crate::policy::dangerous::builtin_names()
            .map(String::from)
            .chain(cfg.dangerous.iter().map(|d| d.name.clone()))
            .collect();
        if let Err(e) = crate::policy::model::Model::with(&cfg.programs) {
            let pos = source.find("[[program]]").map(|p| p..p + 1);
            return Err(ConfigError::at(
                path,
                source,
                pos,
                format!("[[program]]: {e}"),
            ));
        }
        for r in &cfg.policy {
            if r.decision == crate::policy::Verdict::Allow
                && let Err(why) = r.allow_kinds()
            {
                // Point at the rule's subject if it can be found, else its name.
                let pos = rule_position(source, r);
                return Err(ConfigError::at(
                    path,
                    source,
                    pos,
                    format!("policy {:?}: {why}", r.name),
                ));
            }
            if let Some(bad) = r.allow_dangerous.iter().find(|n| !known.contains(n)) {
                let pos = source.find(&format!("\"{bad}\"")).map(|p| p..p + 1);
                return Err(ConfigError::at(
                    path,
                    source,
                    pos,
                    format!(
                        "policy {:?}: allow_dangerous names unknown pattern {bad:?} (known: {})",
                        r.name,
                        known.join(", ")
                    ),
                ));
            }
        }
        if need_slots && cfg.slots.is_empty() {
            return Err(ConfigError::at(
                path,
                source,
                None,
                "no slots: add at least one [[slot]] table with `id` and `command`".into(),
            ));
        }
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, s) in cfg.slots.iter().enumerate() {
            let id = s.id.get_ref();
            if let Err(why) = check_slot_id(id) {
                return Err(ConfigError::at(path, source, Some(s.id.span()), why));
            }
            if let Some(prev) = seen.insert(id, i) {
                return Err(ConfigError::at(
                    path,
                    source,
                    Some(s.id.span()),
                    format!("duplicate slot id {id:?} (slot {} has it too)", prev + 1),
                ));
            }
            if s.command.get_ref().trim().is_empty() {
                return Err(ConfigError::at(
                    path,
                    source,
                    Some(s.command.span()),
                    format!("slot {id:?} has an empty command"),
                ));
            }
        }
        Ok(cfg)
    }

    /// Reads and parses a config file.
    ///
    /// Errors: the file cannot be read, or [`Config::parse`] fails.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::parse(path, &read(path)?)
    }

    /// The embedded demo config with `{corral}` replaced by `exe` and `{shell}`
    /// by `shell`.
    ///
    /// Errors: only if the embedded file itself is broken (a test guards it).
    pub fn demo(exe: &Path, shell: &str) -> Result<Config, ConfigError> {
        let exe = exe
            .to_string_lossy()
            .replace('\\', "\\\\")
            .replace('"', "\\\"");
        let shell = shell.replace('\\', "\\\\").replace('"', "\\\"");
        let src = DEMO_CONFIG
            .replace("{corral}", &exe)
            .replace("{shell}", &shell);
        Config::parse(Path::new("<embedded demo config>"), &src)
    }

    /// An error at byte span `span` of the config's text (found after
    /// parsing), naming its file as given.
    fn error_at(&self, span: Range<usize>, message: String) -> ConfigError {
        let (path, src) = self
            .origin
            .clone()
            .unwrap_or_else(|| (PathBuf::from("<config>"), String::new()));
        let span = (!src.is_empty()).then_some(span);
        ConfigError::at(&path, &src, span, message)
    }

    /// Checks that every slot's `agent` names a known profile.
    ///
    /// Errors: an unknown agent, with its position and the known names.
    pub fn check_agents(&self, known: &[&str]) -> Result<(), ConfigError> {
        for s in &self.slots {
            let a = s.agent.get_ref();
            if !known.contains(&a.as_str()) {
                return Err(self.error_at(
                    s.agent.span(),
                    format!("unknown agent {a:?} (known: {})", known.join(", ")),
                ));
            }
        }
        Ok(())
    }

    /// Checks that every slot with `worktree` has a working directory in a
    /// git repository (runs `git`).
    ///
    /// Errors: the first slot whose directory is not, named, at its id's
    /// line and column.
    pub fn check_worktrees(&self) -> Result<(), ConfigError> {
        for s in &self.slots {
            if s.worktree
                .as_ref()
                .and_then(|w| w.branch_and_base(s.id.get_ref()))
                .is_none()
            {
                continue;
            }
            let dir = match &s.cwd {
                Some(c) => match (c.strip_prefix("~"), std::env::var_os("HOME")) {
                    (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
                    _ => c.clone(),
                },
                None => std::env::current_dir().unwrap_or_default(),
            };
            if let Err(e) = crate::worktree::repo_root(&dir) {
                return Err(self.error_at(
                    s.id.span(),
                    format!("slot {:?} has worktree = true, but {e}", s.id.get_ref()),
                ));
            }
        }
        Ok(())
    }

    /// Index of the slot with this id.
    pub fn slot_index(&self, id: &str) -> Option<usize> {
        self.slots.iter().position(|s| s.id.get_ref() == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("c.toml"), src)
    }

    #[test]
    fn copy_command_is_taken_in_ui_or_at_the_top_either_spelling() {
        let slot = "[[slot]]\nid = \"a\"\ncommand = \"sh\"\n";
        for (src, want) in [
            ("[ui]\ncopy_command = \"wl-copy\"\n", Some("wl-copy")),
            ("[ui]\ncopy-command = \"pbcopy\"\n", Some("pbcopy")),
            ("copy-command = \"xclip -i\"\n", Some("xclip -i")),
            (
                "copy_command = \"a\"\n[ui]\ncopy_command = \"b\"\n",
                Some("b"),
            ),
            ("", None),
        ] {
            let c = parse(&format!("{src}{slot}")).unwrap_or_else(|e| panic!("{src}: {e}"));
            assert_eq!(c.ui.copy_command.as_deref(), want, "{src}");
        }
    }

    #[test]
    fn transcripts_take_a_size_and_reject_unknown_keys() {
        let slot = "[[slot]]\nid = \"a\"\ncommand = \"sh\"\n";
        let c =
            parse(&format!("[transcripts]\nmax_mib = 0\n{slot}")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.transcripts.max_mib, 0);
        let e = parse(&format!("[transcripts]\nmax_mb = 5\n{slot}"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("c.toml:2:1") && e.contains("max_mb"), "{e}");
    }

    #[test]
    fn parses_slots_and_defaults() {
        let c = parse(
            r#"
[ui]
sidebar_width = 30

[[slot]]
id = "api"
role = "backend"
agent = "claude"
command = "claude"
args = ["--permission-mode", "default"]
cwd = "/tmp"
env = { FOO = "bar" }
restart = "on-failure"

[[slot]]
id = "sh"
command = "bash"
"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.ui.sidebar_width, 30);
        assert_eq!(c.ui.scrollback_rows, 5000);
        assert_eq!(c.transcripts.max_mib, 1024);
        assert_eq!(c.slots.len(), 2);
        assert_eq!(c.slots[0].agent.get_ref(), "claude");
        assert_eq!(c.slots[0].restart, RestartPolicy::OnFailure);
        assert_eq!(c.slots[1].agent.get_ref(), "generic");
        assert!(c.check_agents(&["claude", "generic"]).is_ok());
        let e = Config::parse(
            Path::new("c.toml"),
            "[[slot]]\nid = \"a\"\nagent = \"clod\"\ncommand = \"x\"\n",
        )
        .and_then(|c| c.check_agents(&["claude", "generic"]))
        .err()
        .unwrap_or_else(|| panic!("expected an error"));
        assert_eq!((e.line, e.column), (Some(3), Some(9)), "{e}");
        assert_eq!(c.slots[1].restart, RestartPolicy::Never);
        assert_eq!(c.slot_index("sh"), Some(1));
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse("[[slot]]\nid = \"a\"\ncommand = \"x\"\nrestart = \"sometimes\"\n")
            .err()
            .unwrap_or_else(|| panic!("expected an error"));
        assert_eq!(e.line, Some(4));
        assert_eq!(e.column, Some(11));
        assert!(e.to_string().starts_with("c.toml:4:11: "), "{e}");
        assert!(e.message.contains("sometimes"), "{e}");

        let e =
            parse("[[slot]]\nid = \"a\"\ncommand = \"x\"\n[[slot]]\nid = \"a\"\ncommand = \"y\"\n")
                .err()
                .unwrap_or_else(|| panic!("expected an error"));
        assert_eq!((e.line, e.column), (Some(5), Some(6)));
        assert!(e.message.contains("duplicate"), "{e}");

        let e = parse("[[slot]\n")
            .err()
            .unwrap_or_else(|| panic!("expected an error"));
        assert_eq!(e.line, Some(1));

        let e = parse("[[slot]]\nid = \"a\"\ncomand = \"x\"\n")
            .err()
            .unwrap_or_else(|| panic!("expected an error"));
        assert_eq!(e.line, Some(3), "{e}");
    }

    #[test]
    fn demo_config_is_valid() {
        let c =
            Config::demo(Path::new("/usr/bin/corral"), "/bin/sh").unwrap_or_else(|e| panic!("{e}"));
        assert!(c.slots.len() >= 4);
        assert!(
            c.slots
                .iter()
                .any(|s| s.command.get_ref() == "/usr/bin/corral")
        );
    }

    #[test]
    fn line_col_counts_chars() {
        assert_eq!(line_col("ab\ncé x", 7), (2, 4));
        assert_eq!(line_col("", 0), (1, 1));
    }
}
