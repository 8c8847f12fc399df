//! The real Claude Code CLI (2.1.329, installed by scripts/install-agents.sh
//! into a cache outside the repository) supervised by corral in a tile,
//! against corral's own mock Anthropic Messages API on 127.0.0.1. Never
//! skipped: without the CLI the test fails and says how to install it.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use support::{Tui, wait_until};

const LONG: Duration = Duration::from_secs(60);
const CLAUDE_VERSION: &str = "2.1.329";
const API_KEY: &str = "sk-ant-api03-corraltest-0000000000000000000000000000000000000-abcdefAA";

fn claude_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("CORRAL_CLAUDE_BIN") {
        return PathBuf::from(p);
    }
    let cache = std::env::var_os("CORRAL_TEST_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME").map(|p| PathBuf::from(p).join("corral-test"))
        })
        .or_else(|| std::env::var_os("HOME").map(|p| PathBuf::from(p).join(".cache/corral-test")))
        .unwrap_or_else(|| PathBuf::from("/nonexistent"));
    cache.join("npm/bin/claude")
}

struct Mock(Child);

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_mock(dir: &Path) -> (Mock, u16) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/mock_anthropic.py");
    let port_file = dir.join("port");
    let child = Command::new("python3")
        .arg(script)
        .arg("--port-file")
        .arg(&port_file)
        .arg("--log")
        .arg(dir.join("mock.jsonl"))
        .arg("--delay-ms")
        .arg("1500")
        .spawn()
        .unwrap_or_else(|e| panic!("python3 for the mock API: {e}"));
    let mock = Mock(child);
    wait_until("the mock API's port", LONG, || port_file.exists());
    let port = std::fs::read_to_string(&port_file)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("bad port file"));
    (mock, port)
}

/// HOME and settings that reach Claude's idle screen with no first-run
/// dialog, in manual permission mode (facts: Claude Code 2.1.329).
fn seed_home(home: &Path, project: &Path) {
    std::fs::create_dir_all(home.join(".claude")).unwrap_or_else(|e| panic!("{e}"));
    let cfg = serde_json::json!({
        "hasCompletedOnboarding": true,
        "lastReleaseNotesSeen": CLAUDE_VERSION,
        "hasSeenAutoDefaultNudge": true,
        "hasSeenAutoDefaultNotice": true,
        "customApiKeyResponses": {"approved": [&API_KEY[API_KEY.len() - 20..]], "rejected": []},
        "projects": {project.to_string_lossy(): {"hasTrustDialogAccepted": true}},
    });
    std::fs::write(home.join(".claude.json"), cfg.to_string()).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        home.join(".claude/settings.json"),
        r#"{"permissions":{"defaultMode":"default"}}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

fn sidebar_line<'a>(screen: &'a str, slot: &str) -> &'a str {
    screen
        .lines()
        .find(|l| {
            l.starts_with('│')
                && l.chars().nth(3).is_some()
                && l[l.char_indices().nth(3).map_or(0, |x| x.0)..].starts_with(slot)
        })
        .unwrap_or("")
}

fn inbox_has(screen: &str, tool: &str, subject: &str) -> bool {
    screen
        .lines()
        .any(|l| l.contains(&format!("▶ cc {tool} {subject}")))
}

fn ask(t: &Tui, text: &str) {
    t.send(b"\r");
    t.wait_for("insert mode", LONG, |s| {
        s.lines().last().is_some_and(|l| l.contains("INSERT"))
    });
    t.type_text(text);
    t.wait_text(text, LONG);
    t.send(b"\r");
    t.send(b"\x1c");
    t.wait_for("normal mode", LONG, |s| {
        s.lines().last().is_some_and(|l| l.contains("NORMAL"))
    });
}

#[test]
fn real_claude_code_prompts_are_answered_from_the_inbox() {
    let claude = claude_bin();
    assert!(
        claude.exists(),
        "Claude Code {CLAUDE_VERSION} is not installed at {}: run scripts/install-agents.sh",
        claude.display()
    );
    let dir = support::tempdir();
    let (_mock, port) = start_mock(dir.path());
    let home = dir.path().join("home");
    let project = dir.path().join("project");
    std::fs::create_dir_all(&project).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(project.join("README.md"), "hello\n").unwrap_or_else(|e| panic!("{e}"));
    seed_home(&home, &project);
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"[[slot]]
id = "cc"
role = "coder"
agent = "claude"
command = "{claude}"
cwd = "{project}"
[slot.env]
HOME = "{home}"
ANTHROPIC_BASE_URL = "http://127.0.0.1:{port}"
ANTHROPIC_API_KEY = "{API_KEY}"
DISABLE_AUTOUPDATER = "1"
CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = "1"

[[slot]]
id = "sh"
command = "/bin/sh"
"#,
            claude = claude.display(),
            project = project.display(),
            home = home.display(),
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let cfg = cfg.to_string_lossy().into_owned();
    let t = Tui::corral(&["--config", &cfg], 50, 200, dir.path());

    t.wait_for("claude idle", LONG, |s| {
        sidebar_line(s, "cc").contains("idle")
    });
    ask(&t, "corral:bash please write hello.txt");
    t.wait_for("claude working", LONG, |s| {
        sidebar_line(s, "cc").contains("working")
    });
    let s = t.wait_for("the Bash prompt in the inbox", LONG, |s| {
        inbox_has(s, "Bash", "echo hello > hello.txt")
    });
    assert!(sidebar_line(&s, "cc").contains("PERMISSION"), "{s}");
    t.send(b"y");
    wait_until("hello.txt", LONG, || project.join("hello.txt").exists());
    t.wait_for("claude idle again", LONG, |s| {
        sidebar_line(s, "cc").contains("idle") && s.contains("INBOX (0)")
    });

    ask(&t, "corral:bash2 please write second.txt");
    t.wait_for("the second prompt", LONG, |s| {
        inbox_has(s, "Bash", "echo second > second.txt")
    });
    t.send(b"n");
    t.wait_for("Claude reports the rejection", LONG, |s| {
        s.contains("Interrupted · What should Claude do instead?") || s.contains("Did not run")
    });
    t.wait_for("claude idle at the end", LONG, |s| {
        sidebar_line(s, "cc").contains("idle")
    });
    assert!(!project.join("second.txt").exists(), "denied command ran");

    let audit = std::fs::read_to_string(dir.path().join("data/audit.jsonl")).unwrap_or_default();
    let lines: Vec<serde_json::Value> = audit
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(lines.len(), 2, "{audit}");
    assert_eq!(lines[0]["answer"], "approve-once");
    assert_eq!(lines[0]["subject"], "echo hello > hello.txt");
    assert_eq!(lines[1]["answer"], "deny");
    assert!(
        lines
            .iter()
            .all(|l| l["result"] == "sent" && l["tool"] == "Bash")
    );
}
