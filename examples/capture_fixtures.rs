//! Re-captures the agent fixtures in tests/fixtures/ from the pinned real
//! CLIs (installed by scripts/install-agents.sh), each running offline
//! against tests/support/mock_llm.py in a PTY of each width, read through
//! corral's terminal engine. Writes `<agent>-<state>@<cols>.txt` (the screen)
//! and `.raw` (the PTY bytes up to that moment).
//!
//! usage: scripts/capture-fixtures.sh [AGENT ...]   (default: all four)
//!
//! With `--long` first it captures instead the permission dialogs of long
//! shell commands (see [`LONG`]) at each size of [`LONG_SIZES`], one fresh
//! session per capture, as `<agent>-permission-<name>@<cols>x<rows>.txt` and
//! `.raw` (the PTY bytes from the program's start: replayed through the engine
//! at that size they give the screen). tests/fixtures/expected-long.tsv holds
//! the ground truth, tests/fixtures/LONG-DIALOGS.md how each agent lays them
//! out.
//!
//! usage: scripts/capture-fixtures.sh --long [AGENT ...] [--only NAME[,NAME]]
//!        [--sizes COLSxROWS[,COLSxROWS]] [--out DIR]
//!
//! `--only` picks commands of [`LONG`] by name (default: those of
//! [`LONG_DEFAULT`]), `--sizes` replaces [`LONG_SIZES`] (e.g. `40x12,50x14`
//! to find the smallest pane a dialog is drawn whole in) and `--out` writes
//! into `DIR/<agent>/` instead of tests/fixtures/<agent>/.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::Tui;
use support::agents;

const WIDTHS: [u16; 3] = [40, 60, 80];
const ROWS: u16 = 30;
const WAIT: Duration = Duration::from_secs(90);
/// How long a long-dialog capture waits for the dialog after sending the
/// command (the mock answers within seconds).
const DIALOG_WAIT: Duration = Duration::from_secs(45);

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
            // A narrow pane (30 columns) shows only the mode under the input.
            idle: &["? for shortcuts", "manual mode on"],
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

/// The long commands (name, command), sent with the mock's `corral:cmd`:
/// `long` wraps at word boundaries below 120 columns, `canary` is a
/// 60-character echo then a delete, `word` is `echo` and one unbreakable
/// 150-character word of 15 chunks `A123456789` … `O123456789` (the letter
/// tells the chunk, the digit the offset in it), redirected to a file: a
/// bare `echo` is read-only and Claude Code and Gemini CLI run it without
/// asking. `typical` is a short everyday command and `medium` a 60-character
/// one, for finding the smallest pane each dialog is drawn whole in (see
/// "Minimum pane" in tests/fixtures/LONG-DIALOGS.md).
pub const LONG: [(&str, &str); 5] = [
    (
        "long",
        "find . -name '*.rs' -print0 | xargs -0 wc -l | sort -rn > /tmp/corral-line-counts.txt && echo counted all the rust files here",
    ),
    (
        "canary",
        "echo 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' && rm -rf ./canary",
    ),
    (
        "word",
        "echo A123456789B123456789C123456789D123456789E123456789F123456789G123456789H123456789I123456789J123456789K123456789L123456789M123456789N123456789O123456789 > /tmp/corral-word.txt",
    ),
    ("typical", "npm test -- --watch=false"),
    (
        "medium",
        "cargo test --workspace --all-features -- --test-threads=2 -q",
    ),
];

/// The commands of [`LONG`] captured without `--only`.
const LONG_DEFAULT: [&str; 3] = ["long", "canary", "word"];

/// (cols, rows) of the long-dialog captures.
const LONG_SIZES: [(u16, u16); 4] = [(40, 30), (60, 30), (80, 24), (120, 40)];

/// The dialog is fully drawn: its last part (footer or last option) is on
/// screen.
fn dialog_drawn(agent: &str, s: &str) -> bool {
    match agent {
        "claude" => s.contains("Esc to cancel"),
        "codex" => s.contains("Press enter to confirm") && s.contains("(esc)"),
        "gemini" => s.contains("Allow once") && s.contains("suggest changes"),
        // The question may break mid-word (`… [Y` / `es]:` at 50 columns).
        _ => s
            .lines()
            .map(str::trim_end)
            .collect::<String>()
            .ends_with("[Yes]:"),
    }
}

/// Waits until the screen text has not changed for `quiet`; after `timeout`
/// gives up and returns the rows that kept changing (an animation).
fn wait_stable(t: &Tui, quiet: Duration, timeout: Duration) -> Result<(), String> {
    let deadline = std::time::Instant::now() + timeout;
    // Blinking bullets (Claude's `●` on a running tool, Codex's `•`/`◦`)
    // never settle: they do not count as changes.
    let text = || t.text().replace(['●', '•', '◦'], " ");
    let mut last = text();
    let mut since = std::time::Instant::now();
    let mut changing = String::new();
    while std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        let now = text();
        if now != last {
            changing = now
                .lines()
                .zip(last.lines())
                .filter(|(a, b)| a != b)
                .map(|(a, b)| format!("{b:?} -> {a:?}"))
                .collect::<Vec<_>>()
                .join("; ");
            last = now;
            since = std::time::Instant::now();
        } else if since.elapsed() >= quiet {
            return Ok(());
        }
    }
    Err(changing)
}

/// Waits until `pred(screen)` holds; after `timeout` prints a note and
/// returns false (a small pane may never show the mark: the capture is kept
/// to look at).
fn wait_or_note(t: &Tui, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while !pred(&t.text()) {
        if std::time::Instant::now() > deadline {
            eprintln!("note: no {what} after {timeout:?}");
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

fn capture_long(agent: &str, name: &str, cmd: &str, (cols, rows): (u16, u16), out: &Path) {
    let dir = support::tempdir();
    let mock = agents::start_mock(dir.path(), 1500);
    let run = agents::setup(agent, dir.path(), mock.port);
    let env: Vec<(&str, &str)> = run
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain([("COLORTERM", "truecolor")])
        .collect();
    let args: Vec<&str> = run.args.iter().map(String::as_str).collect();
    let t = Tui::spawn(&run.command, &args, rows, cols, &env, &run.cwd);
    let m = marks(agent);
    wait_or_note(&t, "idle mark", WAIT, |s| {
        if agent == "aider" {
            s.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .is_some_and(|l| l.trim_end() == ">")
        } else {
            any(s, m.idle) && !any(s, m.working)
        }
    });
    std::thread::sleep(Duration::from_millis(800));
    for c in format!("corral:cmd {cmd}").chars() {
        let mut b = [0u8; 4];
        t.send(c.encode_utf8(&mut b).as_bytes());
        std::thread::sleep(Duration::from_millis(12));
    }
    std::thread::sleep(Duration::from_millis(700));
    t.send(b"\r");
    let file = format!("{agent}-permission-{name}@{cols}x{rows}");
    if wait_or_note(&t, "permission dialog", DIALOG_WAIT, |s| {
        dialog_drawn(agent, s)
    }) {
        if let Err(changing) = wait_stable(&t, Duration::from_millis(1500), Duration::from_secs(10))
        {
            eprintln!("note: {file}: the screen never settled: {changing}");
        }
        wait_or_note(&t, "dialog still drawn", WAIT, |s| dialog_drawn(agent, s));
    }
    let text: Vec<String> = t.text().lines().map(|l| l.trim_end().to_string()).collect();
    std::fs::write(out.join(format!("{file}.txt")), text.join("\n") + "\n")
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(out.join(format!("{file}.raw")), t.raw()).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("captured {file}");
}

/// `COLSxROWS[,COLSxROWS…]` (the value of `--sizes`).
fn parse_sizes(s: &str) -> Vec<(u16, u16)> {
    s.split(',')
        .map(|size| {
            size.split_once('x')
                .and_then(|(c, r)| Some((c.parse().ok()?, r.parse().ok()?)))
                .unwrap_or_else(|| panic!("--sizes: {size:?} is not COLSxROWS"))
        })
        .collect()
}

/// Removes `--flag VALUE` from `args`; returns the value.
fn take_flag(args: &mut Vec<String>, flag: &str) -> Option<String> {
    let i = args.iter().position(|a| a == flag)?;
    let value = args
        .get(i + 1)
        .cloned()
        .unwrap_or_else(|| panic!("{flag} needs a value"));
    args.drain(i..i + 2);
    Some(value)
}

fn main() {
    let mut root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let long = args.first().is_some_and(|a| a == "--long");
    let mut only: Vec<String> = LONG_DEFAULT.iter().map(|n| n.to_string()).collect();
    let mut sizes = LONG_SIZES.to_vec();
    if long {
        args.remove(0);
        if let Some(o) = take_flag(&mut args, "--only") {
            only = o.split(',').map(str::to_string).collect();
            for o in &only {
                assert!(
                    LONG.iter().any(|(name, _)| name == o),
                    "--only: no command named {o:?}"
                );
            }
        }
        if let Some(s) = take_flag(&mut args, "--sizes") {
            sizes = parse_sizes(&s);
        }
        if let Some(dir) = take_flag(&mut args, "--out") {
            root = PathBuf::from(dir);
        }
    }
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
        if long {
            for &size in &sizes {
                for (name, cmd) in LONG {
                    if only.iter().any(|o| o == name) {
                        capture_long(agent, name, cmd, size, &out);
                    }
                }
            }
            continue;
        }
        for cols in WIDTHS {
            capture(agent, cols, &out);
        }
    }
}
