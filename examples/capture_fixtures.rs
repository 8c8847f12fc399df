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
//!
//! With `--moments` first it captures instead the passing moments of
//! [`MOMENTS`] at each size of [`MOMENT_SIZES`] (or `--sizes`), one fresh
//! session per capture, as `<agent>-<moment>@<cols>x<rows>.raw` (the PTY
//! bytes from the program's start) and `.txt` (their screen). A moment told
//! by its title (Codex's) has its text named `<agent>-<moment>-<cols>x<rows>.txt`
//! instead, and its title written to `<agent>-titles.tsv`:
//! tests/agent_fixtures.rs reads a text capture's title from there only when
//! its name has no `@`. Review the screens, then add their rows to
//! tests/fixtures/expected.tsv.
//!
//! usage: scripts/capture-fixtures.sh --moments [AGENT ...]
//!        [--sizes COLSxROWS[,COLSxROWS]] [--out DIR]

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

/// The passing moments of `--moments`: (agent, moment, told by the title).
/// Codex's
/// `working-streaming`: its answer streams in and the status line
/// (`• Working (… esc to interrupt)`) is gone, so only the title's spinner
/// says it works. Codex's `idle-quoted-status`: a finished answer that
/// quotes the status line, a spinner and the escape that would set the
/// title ([`QUOTE`]). Aider's `permission-add-output`: `Add command output
/// to the chat?` after a command it ran, whose output (`hi`) stands between
/// the command and the question.
pub const MOMENTS: [(&str, &str, bool); 3] = [
    ("codex", "working-streaming", true),
    ("codex", "idle-quoted-status", true),
    ("aider", "permission-add-output", false),
];

/// The answer of `idle-quoted-status` (the mock's reply to `corral:quote`):
/// text imitating Codex's working signs, an OSC 0 escape among them.
pub const QUOTE: &str = "Quoted:\n\n\u{1b}]0;\u{280b} Fake | project\u{7}\n\n\u{280b} Mock session | project\n\n\u{2022} Working (3s \u{2022} esc to interrupt)\n\nThat was a quote.";

/// (cols, rows) of the moment captures.
const MOMENT_SIZES: [(u16, u16); 4] = [(40, 30), (80, 24), (120, 40), (200, 50)];

/// The command Aider runs for `permission-add-output` (its output is `hi`).
const ADD_OUTPUT_CMD: &str = "echo hi > hi.txt && cat hi.txt";

/// tests/support/mock_llm.py with a slow answer: the main-loop answer to a
/// message holding `corral:stream` (Responses API, Codex) is [`STREAM_WORDS`]
/// words sent three at a time, one delta every 60 ms, so the agent can be
/// caught mid-answer; to one holding `corral:quote` it is the text given
/// (JSON). Run as `python3 -c STREAM_MOCK SUPPORT_DIR WORDS QUOTE ARGS…`.
const STREAM_MOCK: &str = r#"
import json, sys, time
sys.path.insert(0, sys.argv.pop(1))
import mock_llm as m

HELLO = "Hello from corral's mock."
WORDS = int(sys.argv.pop(1))
QUOTE = json.loads(sys.argv.pop(1))
vocab = "the answer streams in slowly so that a capture sees it arrive".split()
paras, n = [], 0
while n < WORDS:
    para = ["Paragraph %d:" % (len(paras) + 1)] + [vocab[(n + i) % len(vocab)] for i in range(24)]
    paras.append(" ".join(para) + ".")
    n += 25
STREAM = "\n\n".join(paras) + "\n\nThat is all."

_responses = m.Handler.openai_responses
_sse = m.Handler.sse


def responses(self, body):
    items = body.get("input") or []
    user = []
    for it in reversed(items):
        if it.get("type") in (None, "message") and it.get("role") == "user":
            user = m.texts(it.get("content"))
            break
    fmt = (body.get("text") or {}).get("format") or {}
    last = items[-1] if items else {}
    main = (fmt.get("type") != "json_schema"
            and last.get("type") not in ("function_call_output", "custom_tool_call_output"))
    self.stream_reply = main and any("corral:stream" in t for t in user)
    self.quote_reply = main and any("corral:quote" in t for t in user)
    return _responses(self, body)


def sse(self, data, event=None):
    if getattr(self, "quote_reply", False) and isinstance(data, dict):
        data = json.loads(json.dumps(data).replace(HELLO, json.dumps(QUOTE)[1:-1]))
    if getattr(self, "stream_reply", False) and isinstance(data, dict):
        if data.get("type") == "response.output_text.delta" and data.get("delta") == HELLO:
            words = STREAM.split(" ")
            for i in range(0, len(words), 3):
                tail = " " if i + 3 < len(words) else ""
                _sse(self, dict(data, delta=" ".join(words[i:i + 3]) + tail), event)
                time.sleep(0.06)
            return
        data = json.loads(json.dumps(data).replace(HELLO, STREAM.replace("\n", "\\n")))
    _sse(self, data, event)


m.Handler.openai_responses = responses
m.Handler.sse = sse
m.main()
"#;

/// Words in the slow answer (about 10 s of deltas).
const STREAM_WORDS: usize = 500;

/// The slow-answer mock ([`STREAM_MOCK`]), stopped on drop.
struct StreamMock {
    child: std::process::Child,
    port: u16,
}

impl Drop for StreamMock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_stream_mock(dir: &Path) -> StreamMock {
    let support = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support");
    let port_file = dir.join("mock.port");
    let child = std::process::Command::new("python3")
        .arg("-c")
        .arg(STREAM_MOCK)
        .arg(&support)
        .arg(STREAM_WORDS.to_string())
        .arg(serde_json::Value::String(QUOTE.to_string()).to_string())
        .arg("--port-file")
        .arg(&port_file)
        .arg("--log")
        .arg(dir.join("mock.jsonl"))
        .arg("--delay-ms")
        .arg("1500")
        .spawn()
        .unwrap_or_else(|e| panic!("python3 for the mock LLM API: {e}"));
    let mut mock = StreamMock { child, port: 0 };
    support::wait_until("the mock API's port", WAIT, || port_file.exists());
    mock.port = std::fs::read_to_string(&port_file)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("bad port file"));
    mock
}

/// The screen and title `raw` gives replayed at `(cols, rows)`: a capture's
/// text is made from its own bytes, so the two never disagree.
fn replayed(raw: &[u8], (cols, rows): (u16, u16)) -> (String, String) {
    let mut e = corral::engine::Engine::new(rows, cols, 0);
    e.process(raw);
    let snap = e.snapshot();
    let text: Vec<String> = snap.rows.iter().map(|l| l.trim_end().to_string()).collect();
    (text.join("\n") + "\n", snap.title)
}

/// Polls the program's bytes until their screen and title satisfy `pred`;
/// returns those bytes, or `None` (with a note) after `timeout`.
fn catch(
    t: &Tui,
    size: (u16, u16),
    what: &str,
    timeout: Duration,
    pred: impl Fn(&str, &str) -> bool,
) -> Option<Vec<u8>> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let raw = t.raw();
        let (text, title) = replayed(&raw, size);
        if pred(&text, &title) {
            return Some(raw);
        }
        if std::time::Instant::now() > deadline {
            eprintln!("note: no {what} after {timeout:?}; screen:\n{text}");
            return None;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Codex's title spinner: a braille cell first (`⠋ Mock session | project`).
fn spinner_title(title: &str) -> bool {
    title
        .chars()
        .next()
        .is_some_and(|c| ('\u{2801}'..='\u{28ff}').contains(&c))
}

fn capture_moment(agent: &str, moment: &str, titled: bool, (cols, rows): (u16, u16), out: &Path) {
    let dir = support::tempdir();
    let (port, _mock): (u16, Box<dyn std::any::Any>) = if agent == "codex" {
        let m = start_stream_mock(dir.path());
        (m.port, Box::new(m))
    } else {
        let m = agents::start_mock(dir.path(), 1500);
        (m.port, Box::new(m))
    };
    let run = agents::setup(agent, dir.path(), port);
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
    let message = match (agent, moment) {
        ("codex", "working-streaming") => "corral:stream please".to_string(),
        ("codex", "idle-quoted-status") => "corral:quote please".to_string(),
        ("aider", "permission-add-output") => format!("corral:cmd {ADD_OUTPUT_CMD}"),
        _ => panic!("no moment {moment} for {agent}"),
    };
    for c in message.chars() {
        let mut b = [0u8; 4];
        t.send(c.encode_utf8(&mut b).as_bytes());
        std::thread::sleep(Duration::from_millis(12));
    }
    std::thread::sleep(Duration::from_millis(700));
    t.send(b"\r");
    let size = (cols, rows);
    let raw = if moment == "idle-quoted-status" {
        // The answer is in and the turn over: the title spins no more.
        let raw = catch(&t, size, "the quote, idle", WAIT, |s, title| {
            s.contains("That was a quote.") && !title.is_empty() && !spinner_title(title)
        });
        if raw.is_some() {
            std::thread::sleep(Duration::from_millis(800));
        }
        raw.map(|_| t.raw())
    } else if agent == "codex" {
        // Mid-answer: streamed text on screen, the status line gone, the
        // answer not finished.
        catch(
            &t,
            size,
            "streaming answer without a status line",
            WAIT,
            |s, title| {
                s.contains("Paragraph 2:")
                    && !s.contains("esc to interrupt")
                    && !s.contains("That is all.")
                    && spinner_title(title)
            },
        )
    } else {
        // The question is the last line (it wraps in narrow panes).
        let last_is = |s: &str, what: &str| {
            let mut tail: Vec<&str> = s
                .lines()
                .map(str::trim_end)
                .filter(|l| !l.is_empty())
                .rev()
                .take(3)
                .collect();
            tail.reverse();
            let joined = tail.concat();
            joined.ends_with("[Yes]:") && joined.contains(what)
        };
        wait_or_note(&t, "Run shell command?", DIALOG_WAIT, |s| {
            last_is(s, "Run shell command?")
        });
        std::thread::sleep(Duration::from_millis(500));
        t.send(b"y\r");
        wait_or_note(&t, "Add command output to the chat?", DIALOG_WAIT, |s| {
            last_is(s, "Add command output to the chat?")
        });
        if let Err(changing) = wait_stable(&t, Duration::from_millis(1500), Duration::from_secs(10))
        {
            eprintln!("note: {agent} {moment}: the screen never settled: {changing}");
        }
        Some(t.raw())
    };
    let Some(raw) = raw else {
        return;
    };
    let file = format!("{agent}-{moment}@{cols}x{rows}");
    let (text, title) = replayed(&raw, size);
    std::fs::write(out.join(format!("{file}.raw")), &raw).unwrap_or_else(|e| panic!("{e}"));
    if !titled {
        std::fs::write(out.join(format!("{file}.txt")), text).unwrap_or_else(|e| panic!("{e}"));
        eprintln!("captured {file} (title {title:?})");
        return;
    }
    let text_file = format!("{agent}-{moment}-{cols}x{rows}.txt");
    std::fs::write(out.join(&text_file), text).unwrap_or_else(|e| panic!("{e}"));
    // The title at capture time, read with the text by
    // tests/agent_fixtures.rs; other lines kept.
    let titles = out.join(format!("{agent}-titles.tsv"));
    let key = format!("{moment}-{cols}x{rows}");
    let mut lines: Vec<String> = std::fs::read_to_string(&titles)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.split('\t').next() != Some(key.as_str()))
        .map(str::to_string)
        .collect();
    lines.push(format!("{key}\t{title}\traw_bytes={}", raw.len()));
    std::fs::write(&titles, lines.join("\n") + "\n").unwrap_or_else(|e| panic!("{e}"));
    eprintln!("captured {file}.raw and {text_file} (title {title:?})");
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
    let moments = args.first().is_some_and(|a| a == "--moments");
    let mut only: Vec<String> = LONG_DEFAULT.iter().map(|n| n.to_string()).collect();
    let mut sizes = LONG_SIZES.to_vec();
    if moments {
        args.remove(0);
        sizes = MOMENT_SIZES.to_vec();
        if let Some(s) = take_flag(&mut args, "--sizes") {
            sizes = parse_sizes(&s);
        }
        if let Some(dir) = take_flag(&mut args, "--out") {
            root = PathBuf::from(dir);
        }
        if args.is_empty() {
            args = MOMENTS.iter().map(|(a, _, _)| a.to_string()).collect();
            args.dedup();
        }
    }
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
        if moments {
            for &size in &sizes {
                for (_, moment, titled) in MOMENTS.iter().filter(|(a, _, _)| a == agent) {
                    capture_moment(agent, moment, *titled, size, &out);
                }
            }
            continue;
        }
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
