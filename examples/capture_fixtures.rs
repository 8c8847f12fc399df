//! Re-captures the agent fixtures in tests/fixtures/ from the pinned real
//! CLIs (installed by scripts/install-agents.sh), each running offline
//! against tests/support/mock_llm.py in a PTY of each width, read through
//! corral's terminal engine. Writes `<agent>-<state>@<cols>.txt` (the screen)
//! and `.raw` (the PTY bytes up to that moment).
//!
//! usage: scripts/capture-fixtures.sh [AGENT ...]   (default: all four)

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::Tui;
use support::agents;

const WIDTHS: [u16; 3] = [40, 60, 80];
const ROWS: u16 = 30;
const WAIT: Duration = Duration::from_secs(90);

/// Screen texts that mark each state, per agent (what a person would wait
/// for; deliberately not corral's own detection).
struct Marks {
    idle: &'static [&'static str],
    working: &'static [&'static str],
    dialog: &'static [&'static str],
}

fn marks(agent: &str) -> Marks {
    match agent {
        "claude" => Marks {
            idle: &["? for shortcuts"],
            working: &["esc to interrupt"],
            dialog: &["Esc to cancel"],
        },
        "codex" => Marks {
            idle: &["Ask Codex to do anything"],
            working: &["esc to interrupt)"],
            dialog: &["Press enter to confirm"],
        },
        "gemini" => Marks {
            idle: &["Type your message"],
            working: &["esc to cancel"],
            dialog: &["Allow once"],
        },
        _ => Marks {
            idle: &["> "],
            working: &["Waiting for"],
            dialog: &["[Yes]:"],
        },
    }
}

fn any(s: &str, pats: &[&str]) -> bool {
    pats.iter().any(|p| s.contains(p))
}

fn save(out: &Path, agent: &str, state: &str, cols: u16, t: &Tui) {
    let name = format!("{agent}-{state}@{cols}");
    let text: Vec<String> = t.text().lines().map(|l| l.trim_end().to_string()).collect();
    std::fs::write(out.join(format!("{name}.txt")), text.join("\n") + "\n")
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(out.join(format!("{name}.raw")), t.raw()).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("captured {name}");
}

fn capture(agent: &str, cols: u16, out: &Path) {
    let dir = support::tempdir();
    let mock = agents::start_mock(dir.path(), 2500);
    let run = agents::setup(agent, dir.path(), mock.port);
    let env: Vec<(&str, &str)> = run
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain([("COLORTERM", "truecolor")])
        .collect();
    let args: Vec<&str> = run.args.iter().map(String::as_str).collect();
    let t = Tui::spawn(&run.command, &args, ROWS, cols, &env, &run.cwd);
    let m = marks(agent);
    let idle = |s: &str| {
        if agent == "aider" {
            s.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .is_some_and(|l| l.trim_end() == ">")
        } else {
            any(s, m.idle) && !any(s, m.working)
        }
    };
    t.wait_for("idle", WAIT, idle);
    std::thread::sleep(Duration::from_millis(800));
    save(out, agent, "idle", cols, &t);
    for c in "corral:bash please".chars() {
        t.send(c.to_string().as_bytes());
        std::thread::sleep(Duration::from_millis(15));
    }
    std::thread::sleep(Duration::from_millis(600));
    t.send(b"\r");
    t.wait_for("working", WAIT, |s| any(s, m.working));
    std::thread::sleep(Duration::from_millis(500));
    save(out, agent, "working", cols, &t);
    t.wait_for("the permission dialog", WAIT, |s| any(s, m.dialog));
    std::thread::sleep(Duration::from_millis(800));
    save(out, agent, "permission-bash", cols, &t);
    let approve: &[u8] = match agent {
        "codex" => b"y",
        "aider" => b"y\r",
        _ => b"1",
    };
    t.send(approve);
    t.wait_for("the command's file", WAIT, |_| {
        run.cwd.join("hello.txt").exists()
    });
    // Aider leaves the answered prompt on screen.
    t.wait_for("idle again", WAIT, |s| {
        (agent == "aider" || !any(s, m.dialog)) && idle(s)
    });
    std::thread::sleep(Duration::from_millis(800));
    save(out, agent, "after-approve", cols, &t);
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let args: Vec<String> = std::env::args().skip(1).collect();
    let list: Vec<String> = if args.is_empty() {
        agents::VERSIONS
            .iter()
            .map(|(a, _)| a.to_string())
            .collect()
    } else {
        args
    };
    for agent in &list {
        let out = root.join(agent);
        std::fs::create_dir_all(&out).unwrap_or_else(|e| panic!("{e}"));
        for cols in WIDTHS {
            capture(agent, cols, &out);
        }
    }
}
