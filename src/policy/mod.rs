//! Policy: explicit, auditable rules that answer some prompts automatically.
//!
//! Each `[[policy]]` table of the config matches on slot, role, agent, tool and
//! subject and decides `allow`, `deny` or `ask`. Matching is by glob (`*` any
//! text, `?` one character, whole value, case-sensitive); a field ending in
//! `_regex` matches by regular expression instead (searched anywhere). A
//! matching deny beats a matching allow; with no match the answer is `ask`.
//! Commands on the dangerous list are always `ask` under an allow rule unless
//! that rule names them in `allow_dangerous`. No clock; the one I/O is the
//! path model's ([`place`]): symbolic links in the existing part of each
//! path a command writes are followed on the file system when it decides.
//!
//! Every program of a command is read through the command model
//! ([`model`], `src/policy/programs/*.toml`, docs/command-model.md): an
//! allow rule approves only what the model can account for (each write
//! placed inside the workspace and off the protected paths, no code run by
//! an option, no network send, no option or program the model does not
//! know unless the rule names the program).
//!
//! For shell tools ([`SHELL_TOOLS`]) the subject is parsed
//! ([`shell`], with the `brush-parser` crate) into simple commands: an allow
//! rule's subject must match *every* simple command (nested ones included),
//! a deny rule's *any* of them. Constructs whose effect cannot be read from
//! the words ([`Construct`]: `$(..)`, `eval`, `bash -c`, here-documents,
//! writes outside the working directory ...) turn an allow into `ask` unless
//! the rule names them in `allow_constructs`. Text that does not parse is
//! `ask`. The dangerous list ([`dangerous`]) matches parsed words, the
//! paths written, and the raw subject and dialog text.

mod configs;
mod copies;
pub mod dangerous;
mod glob;
mod judge;
pub mod model;
pub mod place;
mod repo;
pub mod shell;

pub use glob::glob_may_match;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use judge::{file_write_unprovable, shell_findings};
use model::{Model, ModelError, ProgramSpec};

use regex::Regex;
use serde::Deserialize;

use crate::pattern::Pattern;
pub use shell::{Construct, ParsedCommand, SimpleCommand, Word};

/// What a policy decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Approve once, automatically.
    Allow,
    /// Deny, automatically.
    Deny,
    /// Leave it to the user.
    Ask,
}

impl Verdict {
    /// `allow`, `deny` or `ask`, as in config and in `corral policy test`.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Deny => "deny",
            Verdict::Ask => "ask",
        }
    }
}

/// A shell-style glob over a whole value: `*` any text, `?` one character.
#[derive(Debug, Clone)]
pub struct Glob(Regex, String);

impl Glob {
    /// Compiles a glob.
    ///
    /// Errors: never for valid UTF-8 (every other character is literal); the
    /// `Result` is kept for the config error path.
    pub fn new(glob: &str) -> Result<Glob, regex::Error> {
        let mut re = String::from("(?s)^");
        for c in glob.chars() {
            match c {
                '*' => re.push_str(".*"),
                '?' => re.push('.'),
                c => re.push_str(&regex::escape(&c.to_string())),
            }
        }
        re.push('$');
        Regex::new(&re).map(|r| Glob(r, glob.to_string()))
    }

    /// Whether the whole value matches.
    pub fn matches(&self, s: &str) -> bool {
        self.0.is_match(s)
    }
}

impl<'de> Deserialize<'de> for Glob {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Glob::new(&s).map_err(serde::de::Error::custom)
    }
}

/// One `[[policy]]` rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRule {
    /// Shown in the sidebar and the audit log ("auto-approved by rule NAME").
    pub name: String,
    /// The decision when every given field matches.
    pub decision: Verdict,
    /// Slot id glob.
    #[serde(default)]
    pub slot: Option<Glob>,
    /// Role glob.
    #[serde(default)]
    pub role: Option<Glob>,
    /// Agent (profile name) glob.
    #[serde(default)]
    pub agent: Option<Glob>,
    /// Tool glob (`Bash`, `Shell`, `Edit`, `Write*`).
    #[serde(default)]
    pub tool: Option<Glob>,
    /// Subject glob (`echo *`, `src/*.rs`). Its kind follows `tool`: for
    /// shell tools a command (it must match every simple command's
    /// canonical text (allow) or any one (deny)), for file tools a path (as
    /// `path`), for the rest the whole text. Without `tool`, an allow rule's
    /// subject must show its kind (see [`PolicyRule::allow_kinds`]).
    #[serde(default)]
    pub subject: Option<Glob>,
    /// A command glob: the rule applies to shell tools only.
    #[serde(default)]
    pub command: Option<Glob>,
    /// A path glob (`src/**`, `*.md`, `/etc/*`): the rule applies to file
    /// tools only and matches the path normalised against the workspace
    /// (relative to it, or absolute for an absolute pattern); `*` stays
    /// inside one directory, `**` crosses them.
    #[serde(default)]
    pub path: Option<String>,
    /// A text glob over the whole subject: the rule applies to tools that
    /// are neither shell nor file tools (`WebFetch` URLs).
    #[serde(default)]
    pub text: Option<Glob>,
    /// Tool regex (instead of `tool`).
    #[serde(default)]
    pub tool_regex: Option<Pattern>,
    /// Subject regex (instead of `subject`).
    #[serde(default)]
    pub subject_regex: Option<Pattern>,
    /// Dangerous patterns (by name) this allow rule may approve anyway.
    #[serde(default)]
    pub allow_dangerous: Vec<String>,
    /// Unprovable constructs (kebab-case names of [`Construct`]) this allow
    /// rule may approve anyway.
    #[serde(default)]
    pub allow_constructs: Vec<Construct>,
}

/// A dangerous command or write, by name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dangerous {
    /// Its name (`sudo`, `rm-rf-root`), used by `allow_dangerous`.
    pub name: String,
    /// Searched in the raw subject, the dialog text, each simple command's
    /// canonical text (also with wrappers such as `sudo`/`env` removed) and
    /// code given to interpreters inline.
    pub regex: Pattern,
    /// Only for these tools (globs); all tools when empty.
    #[serde(default)]
    pub tools: Vec<Glob>,
}

/// The tool names whose subject is a shell command line, parsed by
/// [`shell::parse`] (Claude Code's `Bash`, Cursor's `Shell`, Gemini CLI's
/// `run_shell_command`, Codex's `shell`). Other tools' subjects are matched
/// as one text.
pub const SHELL_TOOLS: [&str; 5] = ["Bash", "Shell", "run_shell_command", "shell", "bash"];

/// File tools that write their subject (a path): Claude Code's, Codex's and
/// Gemini CLI's names, as their hooks and dialogs give them.
pub const FILE_WRITE_TOOLS: [&str; 8] = [
    "Edit",
    "Write",
    "MultiEdit",
    "NotebookEdit",
    "apply_patch",
    "write_file",
    "replace",
    "WriteFile",
];

/// Paths inside a workspace whose change acts by itself or changes an
/// agent's own rules (DESIGN.md's protected paths): a write there is
/// always `ask` unless a rule lists `protected-path` in `allow_constructs`.
/// Each entry is a path component (any level; `.git` also as a file, as in
/// a worktree) or, with a `/`, a path from any directory; a trailing `*`
/// matches a prefix, a leading one a suffix. Compared without regard to case (case-insensitive file
/// systems).
pub const PROTECTED: [&str; 123] = [
    // VCS internals (hooks, config: core.fsmonitor runs code).
    ".git",
    ".gitmodules",
    // Agents' own settings, permissions and instructions.
    ".claude",
    ".mcp.json",
    ".codex",
    ".gemini",
    ".aider*",
    ".cursor",
    ".cursorrules",
    ".windsurfrules",
    ".clinerules",
    ".opencode",
    "opencode.json",
    "opencode.jsonc",
    ".github/copilot-instructions.md",
    "CLAUDE.md",
    "CLAUDE.local.md",
    "AGENTS.md",
    "AGENTS.override.md",
    "GEMINI.md",
    // Files that run by themselves, or name a program that runs.
    ".envrc",
    ".husky",
    ".pre-commit-config.yaml",
    ".vscode/tasks.json",
    ".vscode/settings.json",
    ".vscode/launch.json",
    "*.code-workspace",
    ".devcontainer",
    ".tool-versions",
    "rust-toolchain",
    "rust-toolchain.toml",
    ".cargo/config*",
    ".npmrc",
    // Files other tools read to run code or steer an agent.
    ".env",
    ".devcontainer.json",
    ".vscode/mcp.json",
    // lefthook 2.2 reads lefthook.{yml,yaml,toml,json,jsonc}, dotted or
    // not, or under .config/, and merges lefthook-local.* and
    // .lefthook-local/ over it.
    // (Named one by one: `lefthook*` would meet every glob such as `*.o`.)
    "lefthook.yml",
    "lefthook.yaml",
    "lefthook.toml",
    "lefthook.json",
    "lefthook.jsonc",
    "lefthook-local.yml",
    "lefthook-local.yaml",
    "lefthook-local.toml",
    "lefthook-local.json",
    "lefthook-local.jsonc",
    ".lefthook*",
    ".config/lefthook*",
    // lint-staged's config names the commands its pre-commit hook runs;
    // overcommit's names its hooks.
    ".lintstagedrc*",
    "lint-staged.config.js",
    "lint-staged.config.mjs",
    "lint-staged.config.cjs",
    "lint-staged.config.ts",
    "lint-staged.config.mts",
    "lint-staged.config.cts",
    ".overcommit.yml",
    // husky 1-4 reads its hooks from these (cosmiconfig); commitlint's
    // JavaScript configs run in the commit-msg hook; simple-git-hooks'.
    ".huskyrc*",
    "husky.config.js",
    "husky.config.cjs",
    "husky.config.mjs",
    ".commitlintrc*",
    "commitlint.config.js",
    "commitlint.config.cjs",
    "commitlint.config.mjs",
    "commitlint.config.ts",
    "commitlint.config.cts",
    "commitlint.config.mts",
    ".config/commitlintrc*",
    ".simple-git-hooks*",
    "simple-git-hooks.js",
    "simple-git-hooks.cjs",
    "simple-git-hooks.json",
    // direnv's `dotenv` loads any of these; `.env.example` and the like
    // are rarely more than templates, but a `.envrc` may name them.
    ".env.*",
    // Read and run from the directory by irb, pry and pdb at start.
    ".irbrc",
    "_irbrc",
    "irb.rc",
    ".pryrc",
    ".pdbrc",
    ".yarnrc",
    ".yarnrc.yml",
    ".hg",
    ".svn",
    "AGENT.md",
    "QWEN.md",
    ".qwen",
    ".windsurf",
    ".github/instructions",
    ".continue",
    ".roo",
    ".kiro",
    ".amazonq",
    ".goosehints",
    // mise's other config files (mise.local.toml, .mise/config.toml ...,
    // mise.jdx.dev/configuration): env, hooks and tasks like mise.toml.
    ".mise.toml",
    "mise.toml",
    ".mise.*.toml",
    ".mise",
    "mise.*.toml",
    "mise/config*",
    ".config/mise",
    ".config/mise.toml",
    ".rtx.toml",
    // Editors' project files that run commands (tasks, language servers,
    // exrc) and another agent's instructions.
    ".zed",
    ".helix",
    ".nvim.lua",
    ".nvimrc",
    ".exrc",
    ".idea",
    ".junie",
    // pnpm runs it on install.
    ".pnpmfile.cjs",
    // vim's project files (with `exrc`), jj's repository config, and the
    // build wrappers' properties (they name a download that then runs).
    ".vimrc",
    "_vimrc",
    "_exrc",
    ".jj",
    ".mvn",
    "gradle/wrapper",
    // dotenv's other files, loaded like .env by frameworks.
    // Zed's project rules and Crush's config (its MCP servers and language
    // servers are commands); direnv's `source_env_if_exists .envrc.local`
    // idiom; git-lfs's config (`lfs.url` sends the objects elsewhere);
    // bundler's config (`BUNDLE_GEMFILE` names the Gemfile that runs).
    ".rules",
    ".crush.json",
    "crush.json",
    ".envrc.*",
    ".lfsconfig",
    ".bundle/config",
    ".gitconfig",
    // uv runs the interpreter it names, a path included.
    ".python-version",
];

/// The normal components of `p`, each as a case-insensitive file system
/// compares it ([`fold_case`]).
fn folded_parts(p: &Path) -> Vec<String> {
    p.components()
        .filter_map(|c| match c {
            std::path::Component::Normal(n) => Some(fold_case(&n.to_string_lossy())),
            _ => None,
        })
        .collect()
}

/// The entry of [`PROTECTED`] that path `p` (relative to its workspace, `.`
/// and `..` resolved) falls under, if any.
pub fn protected(p: &Path) -> Option<&'static str> {
    let parts = folded_parts(p);
    PROTECTED.into_iter().find(|entry| {
        let want: Vec<String> = entry.split('/').map(str::to_lowercase).collect();
        parts.windows(want.len()).any(|w| {
            w.iter().zip(&want).all(|(have, want)| {
                glob_may_match(have, want)
                    && !(want == ".env.*" && DOTENV_TEMPLATES.contains(&have.as_str()))
            })
        })
    })
}

/// Dotenv files that are templates, which no loader reads by itself (a
/// `.envrc` that names one makes it code: see `configs::envrc_paths`).
const DOTENV_TEMPLATES: [&str; 4] = [".env.example", ".env.sample", ".env.template", ".env.dist"];

/// The [`PROTECTED`] entry of two or more parts whose leading parts the
/// end of `p` (relative to its workspace) names: `.vscode` of
/// `.vscode/tasks.json`, `x/.cargo` of `.cargo/config*`. A link put there
/// makes its target's files that entry; a tree moved there brings its own.
pub fn protected_parent(p: &Path) -> Option<&'static str> {
    let parts = folded_parts(p);
    PROTECTED.into_iter().find(|entry| {
        let want: Vec<String> = entry.split('/').map(str::to_lowercase).collect();
        (1..want.len()).any(|k| {
            parts.len() >= k
                && parts[parts.len() - k..]
                    .iter()
                    .zip(&want[..k])
                    .all(|(have, want)| glob_may_match(have, want))
        })
    })
}

/// `name` as a case-insensitive file system compares it: lowercase, and
/// the characters whose Unicode case folding is ASCII letters folded to
/// them (CaseFolding.txt, Unicode 15: `ſ` is `s`, `ß` is `ss`, `ﬅ` is `st`;
/// the Kelvin sign lowercases to `k`). APFS and ext4's casefold folds
/// them so: `.ſlaude` is `.claude` there.
pub fn fold_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            'ſ' => out.push('s'),
            'ß' | 'ẞ' => out.push_str("ss"),
            'ﬀ' => out.push_str("ff"),
            'ﬁ' => out.push_str("fi"),
            'ﬂ' => out.push_str("fl"),
            'ﬃ' => out.push_str("ffi"),
            'ﬄ' => out.push_str("ffl"),
            'ﬅ' | 'ﬆ' => out.push_str("st"),
            _ => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// The entry of [`PROTECTED`] that a file named `p` (relative to its
/// workspace) plus any suffix could fall under: `p` itself, or `p`'s last
/// component a start of the entry's matching component (`.envr` of
/// `.envrc`, `sub/.gi` of `.git`), compared without regard to case.
pub fn protected_by_prefix(p: &Path) -> Option<&'static str> {
    if let Some(e) = protected(p) {
        return Some(e);
    }
    let last = fold_case(&p.file_name()?.to_string_lossy());
    if last.is_empty() {
        return None;
    }
    PROTECTED.into_iter().find(|entry| {
        entry.split('/').any(|part| {
            let part = part.trim_matches('*').to_lowercase();
            part.starts_with(&last)
        })
    })
}

/// Whether a tool's subject is a shell command line.
pub fn is_shell_tool(tool: &str) -> bool {
    SHELL_TOOLS.contains(&tool)
}

/// The decision on one prompt, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// What to do.
    pub verdict: Verdict,
    /// The rule that decided (none for the default ask).
    pub rule: Option<String>,
    /// Why, in words: the rule, or the simple command and the check that
    /// made it ask, or the dangerous pattern.
    pub reason: String,
}

/// What a prompt is, for matching.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// Slot id.
    pub slot: &'a str,
    /// Slot role.
    pub role: &'a str,
    /// Agent profile name.
    pub agent: &'a str,
    /// Tool name.
    pub tool: &'a str,
    /// The command, file or URL.
    pub subject: &'a str,
    /// The slot's working directory: relative redirection targets are
    /// resolved against it. `None` (unknown) treats relative targets that
    /// stay below their starting directory as inside.
    pub cwd: Option<&'a Path>,
    /// Where the agent runs the tool, when it says (a hook's `cwd`: a `cd`
    /// in an earlier command may have moved it), inside the workspace:
    /// relative paths resolve there. `None`: the workspace `cwd`.
    pub dir: Option<&'a Path>,
    /// The whole dialog text as shown (may equal `subject`); the dangerous
    /// list is searched in it too.
    pub dialog: &'a str,
    /// `Some(why)` when the subject is not known exactly (cut off, wrapped
    /// ambiguously): the answer is then always `ask`.
    pub incomplete: Option<&'a str>,
}

impl<'a> Subject<'a> {
    /// A subject with no working directory, the dialog equal to the subject
    /// and nothing missing.
    pub fn new(
        slot: &'a str,
        role: &'a str,
        agent: &'a str,
        tool: &'a str,
        subject: &'a str,
    ) -> Self {
        Subject {
            slot,
            role,
            agent,
            tool,
            subject,
            cwd: None,
            dir: None,
            dialog: subject,
            incomplete: None,
        }
    }
}

/// All rules, the configured dangerous patterns (the built-in ones are
/// [`dangerous::BUILTIN`]) and the command model.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Rules in config order.
    pub rules: Vec<PolicyRule>,
    /// Configured (`[[dangerous]]`) patterns, added to the built-in list.
    pub dangerous: Vec<Dangerous>,
    /// What programs' options and operands do (built in, plus `[[program]]`).
    pub model: Arc<Model>,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy::new(Vec::new(), Vec::new())
    }
}

/// Something that keeps a shell command from being provably what an allow
/// rule covers: a construct, or a write outside the working directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unprovable {
    /// What kind (also the name an allow rule uses to accept it).
    pub construct: Construct,
    /// The text that shows it (`$(rm -rf ~)`, `> /etc/x`).
    pub text: String,
    /// Why, for a write (`outside /work/x`); empty otherwise.
    pub why: String,
}

/// An effect that only a rule naming its program approves (see
/// [`Analysis::named_only`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedOnly {
    /// The construct a rule may list instead.
    pub construct: Construct,
    /// The program a rule must name (`kill`, `npx`).
    pub program: String,
    /// What was found, as shown.
    pub text: String,
    /// Why it is not provable.
    pub why: String,
    /// Its simple command (an index into [`Analysis::texts`]).
    pub command: usize,
    /// A rule that matches whatever the program is (`*`, `* --help`)
    /// approves it too: only a rule that leans on part of its name
    /// (`gcc*` for `gcc/x`) must spell it out.
    pub any_program_ok: bool,
}

/// What [`Policy::analyze`] finds in a subject.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// The parsed command line (shell tools that parse).
    pub parsed: Option<ParsedCommand>,
    /// The parse error (shell tools whose text does not parse).
    pub error: Option<String>,
    /// Constructs and writes that cannot be proven.
    pub unprovable: Vec<Unprovable>,
    /// Names of the dangerous patterns hit, built-in first.
    pub dangers: Vec<String>,
    /// Per simple command, the texts a rule may match: its canonical text,
    /// each command it runs through wrappers, and the command model's
    /// canonical spelling of each (`git -C . push` is also `git push`).
    pub texts: Vec<Vec<String>>,
    /// Per simple command: whether a wrapper in it runs code of its own
    /// (then a rule must match the whole command, not only what it wraps).
    pub wrapped: Vec<bool>,
    /// The model's canonical spelling of each simple command as a whole
    /// (its index into `texts`, the text): `git -C . push` is `git push`.
    pub own_texts: Vec<(usize, String)>,
    /// Programs the command model does not know, with the index of their
    /// simple command (into `texts`): an allow rule must name them.
    pub unknown_programs: Vec<(String, usize)>,
    /// Effects an allow rule accepts only when it names the program (or
    /// lists the construct): a process id (`kill PID`), a package npx
    /// fetches by name (`npx tree`).
    pub named_only: Vec<NamedOnly>,
    /// Every effect found, in words, for `corral policy test`.
    pub effects: Vec<String>,
    /// A file tool's path relative to the workspace (inside it), or
    /// absolute (outside), for path rules.
    pub path: Option<PathBuf>,
}

impl Analysis {
    /// The canonical text of every simple command.
    pub fn commands(&self) -> Vec<String> {
        self.parsed
            .iter()
            .flat_map(|p| p.simple.iter().map(SimpleCommand::canonical))
            .collect()
    }
}

fn glob_text(g: &Option<Glob>) -> String {
    g.as_ref().map(|g| g.1.clone()).unwrap_or_default()
}

/// What kind of subject a tool has, and so which kind of pattern a rule's
/// subject is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    /// A shell command line ([`SHELL_TOOLS`]).
    Command,
    /// A file path ([`PATH_TOOLS`]).
    Path,
    /// Any other text (a URL, a query).
    Text,
}

impl SubjectKind {
    /// `command`, `path` or `text`, as the rule keys.
    pub fn name(self) -> &'static str {
        match self {
            SubjectKind::Command => "command",
            SubjectKind::Path => "path",
            SubjectKind::Text => "text",
        }
    }
}

/// Tools whose subject is a file path: the writing ones
/// ([`FILE_WRITE_TOOLS`]) and Claude Code's, Codex's and Gemini CLI's
/// readers.
pub const PATH_TOOLS: [&str; 13] = [
    "Edit",
    "Write",
    "MultiEdit",
    "NotebookEdit",
    "apply_patch",
    "write_file",
    "replace",
    "WriteFile",
    "Read",
    "NotebookRead",
    "read_file",
    "read_many_files",
    "list_directory",
];

/// Tools of the agents whose subject is text and whose effect corral
/// knows (reading, searching, fetching, planning): any other tool (an MCP
/// server's `mcp__fs__write_file`) is allowed only by a rule that names it.
pub const KNOWN_TEXT_TOOLS: [&str; 20] = [
    "WebFetch",
    "WebSearch",
    "Glob",
    "Grep",
    "LS",
    "TodoWrite",
    "Task",
    "ExitPlanMode",
    "BashOutput",
    "KillShell",
    "KillBash",
    "web_fetch",
    "google_web_search",
    "glob",
    "search_file_content",
    "list_directory",
    "update_plan",
    "view_image",
    "web_search",
    "Agent",
];

/// The kind of subject `tool` has.
pub fn subject_kind(tool: &str) -> SubjectKind {
    if is_shell_tool(tool) {
        SubjectKind::Command
    } else if PATH_TOOLS.contains(&tool) {
        SubjectKind::Path
    } else {
        SubjectKind::Text
    }
}

/// Subjects a path tool sends, for telling whether a tool-less pattern
/// could match one.
const PATH_SAMPLES: [&str; 8] = [
    "README.md",
    "notes.txt",
    "src/lib.rs",
    "/etc/passwd",
    "/home/u/.bashrc",
    ".claude/settings.local.json",
    "x",
    "src/../../.ssh/authorized_keys",
];

/// Which kinds of subject an allow rule applies to (index by
/// [`SubjectKind`] order: command, path, text).
pub type Kinds = [bool; 3];

fn kind_index(k: SubjectKind) -> usize {
    match k {
        SubjectKind::Command => 0,
        SubjectKind::Path => 1,
        SubjectKind::Text => 2,
    }
}

impl PolicyRule {
    /// Whether every field except the subject matches.
    fn matches_meta(&self, s: &Subject) -> bool {
        let g = |g: &Option<Glob>, v: &str| g.as_ref().is_none_or(|g| g.matches(v));
        let r = |p: &Option<Pattern>, v: &str| p.as_ref().is_none_or(|p| p.0.is_match(v));
        let kind = subject_kind(s.tool);
        let kind_ok = match self.decision {
            // A deny or ask rule may apply more widely than meant: that
            // errs towards a person.
            Verdict::Deny | Verdict::Ask => self.explicit_kind().is_none_or(|k| k == kind),
            Verdict::Allow => self.allow_kinds().is_ok_and(|k| k[kind_index(kind)]),
        };
        kind_ok
            && g(&self.slot, s.slot)
            && g(&self.role, s.role)
            && g(&self.agent, s.agent)
            && g(&self.tool, s.tool)
            && r(&self.tool_regex, s.tool)
    }

    /// The kind named by `command`, `path` or `text`, if one is used.
    fn explicit_kind(&self) -> Option<SubjectKind> {
        if self.command.is_some() {
            Some(SubjectKind::Command)
        } else if self.path.is_some() {
            Some(SubjectKind::Path)
        } else if self.text.is_some() {
            Some(SubjectKind::Text)
        } else {
            None
        }
    }

    /// The kinds of subject this rule's pattern applies to.
    ///
    /// `command`, `path` and `text` say it. Otherwise `subject` takes its
    /// kind from `tool`/`tool_regex` (the kinds of the known tools it
    /// matches; a tool corral does not know is text). Without a tool, a
    /// glob whose first word is literal and followed by a space
    /// (`git push*`) is a command, one with `://` text, and `*` anything;
    /// a regex that matches no path a file tool sends is a command or text.
    ///
    /// Errors: the pattern could silently apply to another kind of subject
    /// (`*.md` with no tool matches `rm -rf src README.md`; `tool = "*"`
    /// with a subject), or more than one of `subject`, `command`, `path`,
    /// `text` is given, or the path glob is invalid. Config loading reports
    /// it with file, line and column; such a rule never allows.
    pub fn allow_kinds(&self) -> Result<Kinds, String> {
        let given = [
            self.subject.is_some() || self.subject_regex.is_some(),
            self.command.is_some(),
            self.path.is_some(),
            self.text.is_some(),
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err("give one of subject (or subject_regex), command, path and text".into());
        }
        if let Some(p) = &self.path {
            path_glob(p)?;
            return Ok([false, true, false]);
        }
        if self.command.is_some() {
            return Ok([true, false, false]);
        }
        if self.text.is_some() {
            return Ok([false, false, true]);
        }
        let everything =
            self.subject.as_ref().is_none_or(|g| g.1 == "*") && self.subject_regex.is_none();
        if self.tool.is_some() || self.tool_regex.is_some() {
            let mut kinds = [false; 3];
            let known = SHELL_TOOLS.iter().chain(PATH_TOOLS.iter());
            let mut matched_known = false;
            for t in known {
                let m = self.tool.as_ref().is_none_or(|g| g.matches(t))
                    && self.tool_regex.as_ref().is_none_or(|p| p.0.is_match(t));
                if m {
                    matched_known = true;
                    kinds[kind_index(subject_kind(t))] = true;
                }
            }
            if !matched_known {
                // A tool corral does not know (`WebFetch`): text.
                kinds[2] = true;
            }
            // A command pattern read as a path (or the other way round) is
            // what makes `*.md` allow `rm -rf src README.md`; paths and
            // text mix harmlessly.
            if !everything && kinds[0] && (kinds[1] || kinds[2]) {
                return Err(format!(
                    "its tool matches shell tools and others, so the subject {} could match a command as well as a path or text: use command = \"..\", path = \"..\" or text = \"..\", or name one kind of tool",
                    self.subject_text()
                ));
            }
            return Ok(kinds);
        }
        if everything {
            return Ok([true, true, true]);
        }
        if let Some(g) = &self.subject {
            let literal: String =
                g.1.chars()
                    .take_while(|c| !matches!(c, '*' | '?'))
                    .collect();
            if literal.contains("://") {
                return Ok([false, false, true]);
            }
            if literal.contains(' ') && !literal.starts_with(' ') {
                return Ok([true, false, false]);
            }
        }
        // A tool-less regex is a command pattern only when it is anchored
        // on a program's name (`^(echo|date)( |$)`, `^git (log|status)`)
        // and matches no path a file tool sends; `\.py$` is not.
        if let Some(r) = &self.subject_regex
            && self.subject.is_none()
        {
            let src = r.0.as_str();
            let anchored = src
                .strip_prefix('^')
                .map(|rest| rest.trim_start_matches('('))
                .is_some_and(|rest| {
                    rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                });
            if anchored && !PATH_SAMPLES.iter().any(|p| r.0.is_match(p)) {
                return Ok([true, false, true]);
            }
        }
        Err(format!(
            "{} has no tool and could match a file path as well as a shell command (`*.md` would allow `rm -rf src README.md`): give tool (tool = \"Edit\", tool = \"Bash\"), or write command = \"..\" or path = \"..\"",
            self.subject_text()
        ))
    }

    /// Whether the rule names `program` in one of a command's `texts` (see
    /// [`Analysis::texts`]): it matches the text, and would not with the
    /// program's word replaced by a made-up one. `*` names nothing,
    /// `mytool *` names `mytool`, `sudo apt-get install *` names `apt-get`,
    /// `timeout *` does not name what it runs.
    pub fn names(&self, program: &str, texts: &[String]) -> bool {
        if !self.has_subject() || self.path.is_some() || self.text.is_some() {
            return false;
        }
        let probe = "\u{1}zz\u{1}";
        // The program's name with one character changed: a rule names the
        // program only when every character of it is literal in the
        // pattern (`make*` does not name `make-first-existing-target`).
        // A program run by path is named by its directory (up to the last
        // `/`): its file name may be a rule's wildcard (`./scripts/*`).
        let named_part = program.rfind('/').map_or(program.len(), |i| i + 1);
        let altered: Vec<String> = program
            .char_indices()
            .filter(|(i, _)| *i < named_part)
            .map(|(i, c)| format!("{}\u{1}{}", &program[..i], &program[i + c.len_utf8()..]))
            .collect();
        texts.iter().any(|t| {
            let with = |name: &str| -> String {
                t.split(' ')
                    .map(|w| {
                        if w == program || shell::basename(w) == program {
                            name
                        } else {
                            w
                        }
                    })
                    .collect::<Vec<&str>>()
                    .join(" ")
            };
            self.subject_matches(t)
                && !self.subject_matches(&with(probe))
                && altered.iter().all(|a| !self.subject_matches(&with(a)))
        })
    }

    /// Whether the rule matches one of `texts` with the word `program` in
    /// it replaced by a name no program has: it does not care which
    /// program runs (`*`).
    pub fn matches_any_program(&self, program: &str, texts: &[String]) -> bool {
        texts.iter().any(|t| {
            let swapped: Vec<&str> = t
                .split(' ')
                .map(|w| if w == program { "\u{1}zz\u{1}" } else { w })
                .collect();
            self.subject_matches(t) && self.subject_matches(&swapped.join(" "))
        })
    }

    fn has_subject(&self) -> bool {
        self.subject.is_some()
            || self.subject_regex.is_some()
            || self.command.is_some()
            || self.path.is_some()
            || self.text.is_some()
    }

    /// Whether the subject fields match one text (glob whole, regex search).
    /// Path patterns are matched by [`PolicyRule::path_matches`].
    fn subject_matches(&self, text: &str) -> bool {
        self.subject.as_ref().is_none_or(|g| g.matches(text))
            && self.command.as_ref().is_none_or(|g| g.matches(text))
            && self.text.as_ref().is_none_or(|g| g.matches(text))
            && self
                .subject_regex
                .as_ref()
                .is_none_or(|p| p.0.is_match(text))
    }

    /// Whether the subject fields match a file tool's path: `rel` relative
    /// to the workspace (inside it) or absolute. A relative pattern matches
    /// only a path inside the workspace; `*` stays in one directory.
    fn path_matches(&self, path: &Path, raw: &str) -> bool {
        let text = path.to_string_lossy();
        let glob_ok = |pat: &str| {
            let absolute = pat.starts_with('/');
            if absolute != path.is_absolute() {
                return false;
            }
            path_glob(pat).is_ok_and(|g| g.is_match(path))
        };
        self.path.as_deref().is_none_or(glob_ok)
            && self.subject.as_ref().is_none_or(|g| glob_ok(&g.1))
            && self
                .subject_regex
                .as_ref()
                .is_none_or(|p| p.0.is_match(&text) && p.0.is_match(raw))
    }

    /// The subject fields, for reasons: `subject "echo *"`.
    fn subject_text(&self) -> String {
        let mut parts = Vec::new();
        if self.subject.is_some() {
            parts.push(format!("subject {:?}", glob_text(&self.subject)));
        }
        if let Some(r) = &self.subject_regex {
            parts.push(format!("subject_regex {:?}", r.0.as_str()));
        }
        if self.command.is_some() {
            parts.push(format!("command {:?}", glob_text(&self.command)));
        }
        if let Some(p) = &self.path {
            parts.push(format!("path {p:?}"));
        }
        if self.text.is_some() {
            parts.push(format!("text {:?}", glob_text(&self.text)));
        }
        parts.join(", ")
    }
}

/// A path glob: `*` and `?` within one directory, `**` across them.
///
/// Errors: an invalid glob (an unclosed `[`).
pub fn path_glob(pat: &str) -> Result<globset::GlobMatcher, String> {
    globset::GlobBuilder::new(pat)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("path {pat:?}: {e}"))
}

impl Policy {
    /// A policy from config rules and extra dangerous patterns (added to the
    /// built-in list).
    ///
    /// The command model is the built-in one; should it fail to load (a
    /// test keeps it well-formed) every program is unknown and every
    /// command not named by a rule asks.
    pub fn new(rules: Vec<PolicyRule>, extra: Vec<Dangerous>) -> Policy {
        Policy {
            rules,
            dangerous: extra,
            model: Arc::new(Model::builtin().unwrap_or_default()),
        }
    }

    /// A policy whose command model is the built-in one extended by the
    /// config's `[[program]]` tables.
    ///
    /// Errors: a `[[program]]` table is malformed.
    pub fn with_programs(
        rules: Vec<PolicyRule>,
        extra: Vec<Dangerous>,
        programs: &[ProgramSpec],
    ) -> Result<Policy, ModelError> {
        Ok(Policy {
            rules,
            dangerous: extra,
            model: Arc::new(Model::with(programs)?),
        })
    }

    /// Parses the subject (shell tools) and finds what cannot be proven and
    /// what is dangerous.
    pub fn analyze(&self, s: &Subject) -> Analysis {
        let mut a = Analysis::default();
        if is_shell_tool(s.tool) {
            match shell::parse(s.subject) {
                Ok(p) => {
                    shell_findings(&self.model, &p, s.cwd, s.dir, &mut a);
                    a.parsed = Some(p);
                }
                Err(e) => a.error = Some(e.0),
            }
        } else if PATH_TOOLS.contains(&s.tool) {
            let frame = place::Frame::at(s.cwd, s.dir);
            // `~/x` and `$HOME/x` as the tool will read them, for deny and
            // ask rules; an allow still asks (not a plain path).
            let home = std::env::var("HOME").unwrap_or_default();
            let subject = s.subject.trim();
            let expanded = match (subject.strip_prefix("~/"), subject.strip_prefix("$HOME/")) {
                (Some(rest), _) | (_, Some(rest)) if !home.is_empty() => format!("{home}/{rest}"),
                _ => subject.to_string(),
            };
            let word = Word {
                literal: !expanded.starts_with('~') && !expanded.contains('$'),
                text: expanded,
            };
            a.path = match frame.place(&word, &[]) {
                place::Place::Inside(rel) => Some(rel),
                place::Place::Outside { abs, .. } => abs,
                place::Place::Device => Some(PathBuf::from(s.subject.trim())),
            };
            if FILE_WRITE_TOOLS.contains(&s.tool) {
                a.unprovable = file_write_unprovable(s.subject, s.cwd, s.dir);
                for u in &a.unprovable {
                    a.effects.push(format!(
                        "write {} ({}: {})",
                        u.text,
                        u.construct.name(),
                        u.why
                    ));
                }
                if a.unprovable.is_empty() {
                    a.effects
                        .push(format!("write {} (inside the workspace)", s.subject.trim()));
                }
            }
        }
        a.dangers = self.dangers_in(s, a.parsed.as_ref());
        a
    }

    /// The names of the dangerous patterns a subject matches.
    pub fn dangers(&self, s: &Subject) -> Vec<String> {
        self.analyze(s).dangers
    }

    fn dangers_in(&self, s: &Subject, parsed: Option<&ParsedCommand>) -> Vec<String> {
        let mut texts: Vec<String> = vec![s.subject.to_string(), s.dialog.to_string()];
        let mut names: Vec<String> = Vec::new();
        if let Some(p) = parsed {
            names.extend(dangerous::builtin_hits(p).into_iter().map(String::from));
            texts.extend(dangerous::command_texts(p));
        }
        // Compiled once: a decision used to compile every pattern again.
        static BUILTIN_RES: std::sync::OnceLock<Vec<Option<Regex>>> = std::sync::OnceLock::new();
        let res = BUILTIN_RES.get_or_init(|| {
            dangerous::BUILTIN
                .iter()
                .map(|b| b.text.and_then(|t| Regex::new(t).ok()))
                .collect()
        });
        for (b, re) in dangerous::BUILTIN.iter().zip(res) {
            let Some(re) = re else {
                continue;
            };
            if texts.iter().any(|t| re.is_match(t)) && !names.iter().any(|n| n == b.name) {
                names.push(b.name.to_string());
            }
        }
        for d in &self.dangerous {
            let for_tool = d.tools.is_empty() || d.tools.iter().any(|t| t.matches(s.tool));
            if for_tool && texts.iter().any(|t| d.regex.0.is_match(t)) && !names.contains(&d.name) {
                names.push(d.name.clone());
            }
        }
        names
    }

    /// Decides a prompt.
    ///
    /// In order: an inexact subject asks; a deny rule matching any simple
    /// command (or the whole subject) denies; unparseable shell text asks;
    /// the first allow rule whose subject covers every simple command
    /// allows unless the command has an unprovable construct or a dangerous
    /// pattern it does not name; an ask rule asks; otherwise ask.
    pub fn decide(&self, s: &Subject) -> Decision {
        self.decide_with(s, &self.analyze(s))
    }

    fn decide_with(&self, s: &Subject, a: &Analysis) -> Decision {
        let ask = |rule: Option<&str>, reason: String| Decision {
            verdict: Verdict::Ask,
            rule: rule.map(String::from),
            reason,
        };
        if let Some(why) = s.incomplete {
            return ask(None, format!("subject not exact: {why}"));
        }
        let commands: Vec<&SimpleCommand> = a.parsed.iter().flat_map(|p| p.simple.iter()).collect();
        // Deny: the whole subject, any simple command, or any command a
        // wrapper runs (`sudo rm x` is also `rm x`).
        let mut texts: Vec<String> = vec![s.subject.to_string()];
        if let Some(p) = &a.parsed {
            texts.extend(dangerous::command_texts(p));
        }
        for t in a.texts.iter().flatten() {
            if !texts.contains(t) {
                texts.push(t.clone());
            }
        }
        // A file tool's path also in its normalised form.
        let path_hit = |r: &PolicyRule| {
            a.path
                .as_ref()
                .is_some_and(|p| r.has_subject() && r.path_matches(p, s.subject))
        };
        let matching: Vec<&PolicyRule> = self.rules.iter().filter(|r| r.matches_meta(s)).collect();
        for r in matching.iter().filter(|r| r.decision == Verdict::Deny) {
            let hit = texts
                .iter()
                .find(|t| r.path.is_none() && r.subject_matches(t))
                .cloned()
                .or_else(|| path_hit(r).then(|| s.subject.to_string()));
            if let Some(t) = hit {
                let detail = if r.has_subject() {
                    format!(": {t:?} matches {}", r.subject_text())
                } else {
                    String::new()
                };
                return Decision {
                    verdict: Verdict::Deny,
                    rule: Some(r.name.clone()),
                    reason: format!("denied by rule {}{detail}", r.name),
                };
            }
        }
        if let Some(e) = &a.error {
            return ask(None, format!("unparseable: {e}"));
        }
        let covers = |r: &PolicyRule| -> Result<(), Option<String>> {
            if !r.has_subject() {
                return Ok(());
            }
            if subject_kind(s.tool) == SubjectKind::Path {
                return if path_hit(r) { Ok(()) } else { Err(None) };
            }
            if commands.is_empty() || a.parsed.is_none() {
                return if r.subject_matches(s.subject) {
                    Ok(())
                } else {
                    Err(None)
                };
            }
            // A command is covered when the rule matches its text, a
            // command it runs through wrappers, or the model's canonical
            // spelling of either.
            let misses: Vec<String> = commands
                .iter()
                .enumerate()
                .filter(|(k, c)| {
                    let own = c.canonical();
                    let whole = r.subject_matches(&own)
                        || a.own_texts
                            .iter()
                            .any(|(i, t)| i == k && r.subject_matches(t));
                    let inner = !a.wrapped.get(*k).copied().unwrap_or(true)
                        && a.texts
                            .get(*k)
                            .is_some_and(|ts| ts.iter().any(|t| r.subject_matches(t)));
                    !whole && !inner
                })
                .map(|(_, c)| c.canonical())
                .collect();
            match misses.first() {
                None => Ok(()),
                // Some commands match: say which one does not.
                Some(m) if misses.len() < commands.len() => Err(Some(m.clone())),
                Some(_) => Err(None),
            }
        };
        let mut near_miss: Option<(&PolicyRule, String)> = None;
        for r in matching.iter().filter(|r| r.decision == Verdict::Allow) {
            match covers(r) {
                Ok(()) => return self.allow_checks(r, s, a),
                Err(Some(miss)) => {
                    near_miss.get_or_insert((r, miss));
                }
                Err(None) => {}
            }
        }
        for r in matching.iter().filter(|r| r.decision == Verdict::Ask) {
            let any = !r.has_subject()
                || texts
                    .iter()
                    .any(|t| r.path.is_none() && r.subject_matches(t))
                || path_hit(r);
            if any {
                return ask(Some(&r.name), format!("rule {} says ask", r.name));
            }
        }
        match near_miss {
            // A construct explains the miss better than the command it hides
            // (`echo $(rm -rf ~)`: the substitution, not `rm -rf ~`).
            Some((r, _)) if unallowed(r, a).is_some_and(|u| u.construct.is_syntax()) => {
                let mut d = self.allow_checks(r, s, a);
                d.verdict = Verdict::Ask;
                d
            }
            Some((r, miss)) => ask(
                Some(&r.name),
                format!(
                    "{miss:?} does not match rule {} ({})",
                    r.name,
                    r.subject_text()
                ),
            ),
            None => {
                // Say what a rule would also have to accept.
                let also = a
                    .unprovable
                    .first()
                    .map(|u| {
                        let why = if u.why.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", u.why)
                        };
                        format!(
                            "; and {} {} is not provable{why}",
                            u.construct.describe(),
                            u.text
                        )
                    })
                    .unwrap_or_default();
                ask(None, format!("no rule matches{also}"))
            }
        }
    }

    /// The checks an allow rule that covers every command must pass.
    fn allow_checks(&self, r: &PolicyRule, s: &Subject, a: &Analysis) -> Decision {
        let ask = |reason: String| Decision {
            verdict: Verdict::Ask,
            rule: Some(r.name.clone()),
            reason,
        };
        let blocked: Vec<&str> = a
            .dangers
            .iter()
            .filter(|d| !r.allow_dangerous.contains(d))
            .map(String::as_str)
            .collect();
        if let Some(u) = unallowed(r, a) {
            let why = if u.why.is_empty() {
                String::new()
            } else {
                format!(" ({})", u.why)
            };
            // The dangerous pattern's name says it plainest, when there is one.
            let also = if blocked.is_empty() {
                String::new()
            } else {
                format!("; and dangerous ({})", blocked.join(", "))
            };
            return ask(format!(
                "{} {} in {:?} is not provable{why}: rule {} does not list {:?} in allow_constructs{also}",
                u.construct.describe(),
                u.text,
                s.subject,
                r.name,
                u.construct.name()
            ));
        }
        // A tool corral does not know (an MCP server's) may write or run
        // anything: only a rule that names it approves it.
        let names_tool = r.tool.as_ref().is_some_and(|g| !g.1.contains(['*', '?']))
            || r.tool_regex
                .as_ref()
                .is_some_and(|p| !p.0.is_match("\u{1}zz\u{1}"))
            || r.tool.as_ref().is_some_and(|g| !g.matches("\u{1}zz\u{1}"));
        if subject_kind(s.tool) == SubjectKind::Text
            && !KNOWN_TEXT_TOOLS.contains(&s.tool)
            && !names_tool
            && !r.allow_constructs.contains(&Construct::UnknownProgram)
        {
            return ask(format!(
                "tool {:?} is not one corral knows, and rule {} does not name it in `tool`",
                s.tool, r.name
            ));
        }
        if !r.allow_constructs.contains(&Construct::UnknownProgram)
            && let Some((prog, k)) = a
                .unknown_programs
                .iter()
                .find(|(p, k)| !r.names(p, a.texts.get(*k).map(Vec::as_slice).unwrap_or_default()))
        {
            let text = a
                .texts
                .get(*k)
                .and_then(|t| t.first())
                .cloned()
                .unwrap_or_default();
            return ask(format!(
                "{prog:?} in {text:?} is not in corral's command model, and rule {} does not name it (name it in the rule's pattern, add a [[program]] table, or list \"unknown-program\" in allow_constructs)",
                r.name
            ));
        }
        // Which process a number is, or whose package npx fetches, cannot
        // be known: only a rule that names the program approves it.
        if let Some(n) = a.named_only.iter().find(|n| {
            let texts = a
                .texts
                .get(n.command)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let approved = r.allow_constructs.contains(&n.construct)
                || r.names(&n.program, texts)
                || (n.any_program_ok && r.matches_any_program(&n.program, texts));
            !approved
        }) {
            return ask(format!(
                "{} {:?} in {:?} is not provable ({}): rule {} does not name {} (name it in the rule's pattern, or list {:?} in allow_constructs)",
                n.construct.describe(),
                n.text,
                s.subject,
                n.why,
                r.name,
                n.program,
                n.construct.name()
            ));
        }
        if !blocked.is_empty() {
            return ask(format!(
                "dangerous ({}): rule {} does not allow it by name",
                blocked.join(", "),
                r.name
            ));
        }
        Decision {
            verdict: Verdict::Allow,
            rule: Some(r.name.clone()),
            reason: format!("allowed by rule {}", r.name),
        }
    }
}

/// The first unprovable construct a rule does not accept.
fn unallowed<'a>(r: &PolicyRule, a: &'a Analysis) -> Option<&'a Unprovable> {
    a.unprovable
        .iter()
        .find(|u| !r.allow_constructs.contains(&u.construct))
}

/// `corral policy test`: the decision on one subject and how it was
/// reached, as text. The first word of the first line is the verdict
/// (`allow`, `deny` or `ask`), followed by the reason; then the simple
/// commands parsed (one per line), the effects the command model found
/// (`effect: write ../.bashrc -> /home/u/.bashrc (outside: ...)`,
/// `effect: runs code: ...`), the unprovable constructs and the dangerous
/// patterns hit.
pub fn report(policy: &Policy, s: &Subject) -> String {
    let a = policy.analyze(s);
    let d = policy.decide_with(s, &a);
    let mut out = format!("{} -- {}\n", d.verdict.name(), d.reason);
    if let Some(rule) = &d.rule {
        out.push_str(&format!("rule: {rule}\n"));
    }
    if is_shell_tool(s.tool) {
        match &a.error {
            Some(e) => out.push_str(&format!("unparseable: {e}\n")),
            None => {
                for c in a.commands() {
                    out.push_str(&format!("command: {c}\n"));
                }
            }
        }
    }
    for e in &a.effects {
        out.push_str(&format!("effect: {e}\n"));
    }
    for u in &a.unprovable {
        let why = if u.why.is_empty() {
            String::new()
        } else {
            format!(" ({})", u.why)
        };
        out.push_str(&format!(
            "not provable: {} {}{why}\n",
            u.construct.name(),
            u.text
        ));
    }
    for name in &a.dangers {
        let what = dangerous::BUILTIN
            .iter()
            .find(|b| b.name == name)
            .map_or("configured [[dangerous]] pattern", |b| b.what);
        out.push_str(&format!("dangerous: {name}: {what}\n"));
    }
    out
}

#[cfg(test)]
mod tests;
