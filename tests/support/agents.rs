//! Setting up the real agent CLIs (installed by scripts/install-agents.sh into
//! the test cache) to run offline against tests/support/mock_llm.py. Every
//! setup fact comes from running the pinned versions: Claude Code 2.1.329,
//! Codex CLI 0.169.0, Gemini CLI 0.61.0, Aider 0.86.2.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

/// Pinned versions (scripts/install-agents.sh installs exactly these).
pub const VERSIONS: [(&str, &str); 4] = [
    ("claude", "2.1.329"),
    ("codex", "0.169.0"),
    ("gemini", "0.61.0"),
    ("aider", "0.86.2"),
];

/// The cache the install script fills.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("CORRAL_TEST_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME").map(|p| PathBuf::from(p).join("corral-test"))
        })
        .or_else(|| std::env::var_os("HOME").map(|p| PathBuf::from(p).join(".cache/corral-test")))
        .unwrap_or_else(|| PathBuf::from("/nonexistent"))
}

/// The executable of an agent CLI in the cache; panics (never skips) when it
/// is missing, saying how to install it.
pub fn bin(agent: &str) -> PathBuf {
    let c = cache_dir();
    let p = match agent {
        "claude" => c.join("npm/bin/claude"),
        "codex" => c.join("codex/bin/codex"),
        "gemini" => c.join("gemini/bin/gemini"),
        "aider" => c.join("aider-venv/bin/aider"),
        "opencode" => c.join("opencode/bin/opencode"),
        other => panic!("unknown agent {other}"),
    };
    assert!(
        p.exists(),
        "{agent} is not installed at {}: run scripts/install-agents.sh",
        p.display()
    );
    p
}

/// The mock LLM server, stopped on drop.
pub struct Mock {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts tests/support/mock_llm.py; main-loop answers wait `delay_ms`.
pub fn start_mock(dir: &Path, delay_ms: u32) -> Mock {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/mock_llm.py");
    let port_file = dir.join("mock.port");
    let child = Command::new("python3")
        .arg(script)
        .arg("--port-file")
        .arg(&port_file)
        .arg("--log")
        .arg(dir.join("mock.jsonl"))
        .arg("--delay-ms")
        .arg(delay_ms.to_string())
        .spawn()
        .unwrap_or_else(|e| panic!("python3 for the mock LLM API: {e}"));
    let mut mock = Mock { child, port: 0 };
    super::wait_until("the mock API's port", Duration::from_secs(30), || {
        port_file.exists()
    });
    mock.port = std::fs::read_to_string(&port_file)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("bad port file"));
    mock
}

/// How to run one agent: program, arguments, environment and directory.
pub struct AgentRun {
    /// The agent's name (its profile).
    pub agent: String,
    /// The program.
    pub command: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Extra environment.
    pub env: Vec<(String, String)>,
    /// Working directory (a fresh git repository with a README).
    pub cwd: PathBuf,
}

const CLAUDE_KEY: &str = "sk-ant-api03-corraltest-0000000000000000000000000000000000000-abcdefAA";

fn write(path: &Path, text: &str) {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn git(home: &Path, cwd: &Path, args: &[&str]) {
    let st = Command::new("git")
        .args(args)
        .current_dir(cwd)
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .unwrap_or_else(|e| panic!("git: {e}"));
    assert!(st.success(), "git {args:?} failed");
}

/// Prepares a private HOME and project under `root` for `agent`, talking to
/// the mock on `port`, with no first-run dialog and manual approvals.
pub fn setup(agent: &str, root: &Path, port: u16) -> AgentRun {
    let home = root.join("home");
    let proj = root.join("project");
    std::fs::create_dir_all(&proj).unwrap_or_else(|e| panic!("{e}"));
    write(
        &home.join(".gitconfig"),
        "[user]\n\tname = corral test\n\temail = test@corral.invalid\n[init]\n\tdefaultBranch = main\n",
    );
    write(&proj.join("README.md"), "hello\n");
    git(&home, &proj, &["init", "-q"]);
    git(&home, &proj, &["add", "-A"]);
    git(&home, &proj, &["commit", "-qm", "init"]);
    let h = home.to_string_lossy().into_owned();
    let base = format!("http://127.0.0.1:{port}");
    let mut env = vec![("HOME".to_string(), h.clone())];
    let (args, extra): (Vec<String>, Vec<(&str, String)>) = match agent {
        "claude" => {
            let cfg = serde_json::json!({
                "hasCompletedOnboarding": true,
                "lastReleaseNotesSeen": "2.1.329",
                "hasSeenAutoDefaultNudge": true,
                "hasSeenAutoDefaultNotice": true,
                "customApiKeyResponses": {"approved": [&CLAUDE_KEY[CLAUDE_KEY.len() - 20..]], "rejected": []},
                "projects": {proj.to_string_lossy(): {"hasTrustDialogAccepted": true}},
            });
            write(&home.join(".claude.json"), &cfg.to_string());
            // 2.1.3xx defaults to "auto" mode, which shows no dialogs.
            write(
                &home.join(".claude/settings.json"),
                r#"{"permissions":{"defaultMode":"default"}}"#,
            );
            (
                vec![],
                vec![
                    ("ANTHROPIC_BASE_URL", base.clone()),
                    ("ANTHROPIC_API_KEY", CLAUDE_KEY.into()),
                    ("DISABLE_AUTOUPDATER", "1".into()),
                    ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".into()),
                ],
            )
        }
        "codex" => {
            let codex_home = home.join(".codex");
            let tmp = root.join("tmp");
            std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("{e}"));
            // gpt-5.5 is in 0.169's catalog (an unknown slug gets no
            // apply_patch); read-only sandbox and on-request approvals make
            // escalated commands ask.
            write(
                &codex_home.join("config.toml"),
                &format!(
                    r#"model = "gpt-5.5"
model_provider = "mock"
approval_policy = "on-request"
sandbox_mode = "read-only"
check_for_update_on_startup = false

[model_providers.mock]
name = "Mock"
base_url = "{base}/v1"
env_key = "MOCK_API_KEY"
wire_api = "responses"

[analytics]
enabled = false

[tui]
screen_reader_detection_done = true

[notice.model_migrations]
"gpt-5.5" = "gpt-6-sol"

[projects."{proj}"]
trust_level = "trusted"
"#,
                    proj = proj.display()
                ),
            );
            (
                // Without --no-daemon 0.169 leaves a background server behind.
                vec!["--no-daemon".into()],
                vec![
                    ("CODEX_HOME", codex_home.to_string_lossy().into_owned()),
                    ("MOCK_API_KEY", "sk-test".into()),
                    ("TMPDIR", tmp.to_string_lossy().into_owned()),
                ],
            )
        }
        "gemini" => {
            // The base URL alone selects auth type "gateway", which 0.61
            // rejects: pin API-key auth; pre-trust the folder.
            write(
                &home.join(".gemini/settings.json"),
                r#"{"security":{"auth":{"selectedType":"gemini-api-key"}}}"#,
            );
            write(
                &home.join(".gemini/trustedFolders.json"),
                &format!("{{\"{}\": \"TRUST_FOLDER\"}}", proj.display()),
            );
            (
                vec![],
                vec![
                    ("GOOGLE_GEMINI_BASE_URL", base.clone()),
                    (
                        "GEMINI_API_KEY",
                        "AIzaSy-corral-test-key-0000000000000000".into(),
                    ),
                ],
            )
        }
        "opencode" => {
            // An OpenAI-compatible provider at the mock; bash and edits ask.
            let cfg = serde_json::json!({
                "provider": {"mock": {
                    "npm": "@ai-sdk/openai-compatible",
                    "name": "Mock",
                    "options": {"baseURL": format!("{base}/v1"), "apiKey": "sk-test"},
                    "models": {"gpt-4o": {"name": "gpt-4o"}},
                }},
                "model": "mock/gpt-4o",
                "permission": {"bash": "ask", "edit": "ask"},
                "autoupdate": false,
                "share": "disabled",
            });
            write(
                &home.join(".config/opencode/opencode.json"),
                &cfg.to_string(),
            );
            let x = |d: &str| home.join(d).to_string_lossy().into_owned();
            (
                vec![],
                vec![
                    ("XDG_CONFIG_HOME", x(".config")),
                    ("XDG_DATA_HOME", x(".local/share")),
                    ("XDG_CACHE_HOME", x(".cache")),
                    ("XDG_STATE_HOME", x(".local/state")),
                ],
            )
        }
        "aider" => {
            // Aider fetches litellm's price map at start; seed its cache from
            // litellm's bundled copy so the start is offline and quiet.
            let venv = cache_dir().join("aider-venv");
            if let Some(src) = find_file(&venv, "model_prices_and_context_window_backup.json") {
                let dst = home.join(".aider/caches/model_prices_and_context_window.json");
                std::fs::create_dir_all(dst.parent().unwrap_or(&home))
                    .unwrap_or_else(|e| panic!("{e}"));
                std::fs::copy(src, dst).unwrap_or_else(|e| panic!("{e}"));
            }
            (
                [
                    "--model",
                    "openai/gpt-4o",
                    "--openai-api-base",
                    &format!("{base}/v1"),
                    "--openai-api-key",
                    "sk-test",
                    "--no-check-update",
                    "--no-show-release-notes",
                    "--analytics-disable",
                    "--no-gitignore",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect(),
                vec![
                    ("LITELLM_LOCAL_MODEL_COST_MAP", "True".into()),
                    ("OPENAI_API_KEY", "sk-test".into()),
                ],
            )
        }
        other => panic!("unknown agent {other}"),
    };
    env.extend(extra.into_iter().map(|(k, v)| (k.to_string(), v)));
    AgentRun {
        agent: agent.to_string(),
        command: bin(agent),
        args,
        env,
        cwd: proj,
    }
}

fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.filter_map(Result::ok) {
        let p = e.path();
        if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
        if p.is_dir()
            && !p.is_symlink()
            && let Some(f) = find_file(&p, name)
        {
            return Some(f);
        }
    }
    None
}

fn toml_str(s: &str) -> String {
    format!("{s:?}")
}

impl AgentRun {
    /// This run as a corral `[[slot]]` table.
    pub fn slot_toml(&self, id: &str) -> String {
        let mut t = format!(
            "[[slot]]\nid = {}\nagent = {}\ncommand = {}\nargs = [{}]\ncwd = {}\n[slot.env]\n",
            toml_str(id),
            toml_str(&self.agent),
            toml_str(&self.command.to_string_lossy()),
            self.args
                .iter()
                .map(|a| toml_str(a))
                .collect::<Vec<_>>()
                .join(", "),
            toml_str(&self.cwd.to_string_lossy()),
        );
        for (k, v) in &self.env {
            t.push_str(&format!("{k} = {}\n", toml_str(v)));
        }
        t
    }
}
