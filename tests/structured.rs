//! Structured slots (`transport = "stream-json"`), driven as a person would:
//! the real corral binary in a real PTY, its screen read back through a
//! terminal parser, and corral's own scripted stream-json agent (`corral
//! demo-agent --protocol stream-json`) in the slot. The real Claude Code
//! over the same protocol is in tests/real_claude.rs.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::{Tui, audit_lines, ctl, wait_until};

const LONG: Duration = Duration::from_secs(30);

/// A rule that allows `echo *` for Bash.
const ECHO_RULE: &str =
    "[[policy]]\nname = \"echo\"\ndecision = \"allow\"\ntool = \"Bash\"\nsubject = \"echo *\"\n";

/// A structured slot `cc` running the scripted stream-json agent in `work`.
fn slot(work: &Path, restart: &str) -> String {
    format!(
        "[[slot]]\nid = \"cc\"\nagent = \"claude\"\ntransport = \"stream-json\"\ncommand = \"{}\"\nargs = [\"demo-agent\", \"--protocol\", \"stream-json\"]\ncwd = \"{}\"\nrestart = \"{restart}\"\n",
        support::corral_bin().display(),
        work.display()
    )
}

struct Scene {
    dir: tempfile::TempDir,
    work: PathBuf,
    t: Tui,
}

fn scene(extra: &str, restart: &str, rows: u16, cols: u16) -> Scene {
    let dir = support::tempdir();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap_or_else(|e| panic!("{e}"));
    let cfg = support::write_config(dir.path(), &format!("{}\n{extra}", slot(&work, restart)));
    let t = Tui::corral(&["--config", &cfg], rows, cols, dir.path());
    t.wait_for("the structured slot idle", LONG, |s| {
        s.contains("cc · claude · idle") && s.contains("over stream-json")
    });
    Scene { dir, work, t }
}

/// Types `text` into the focused pane and sends it, then leaves typing.
fn say(t: &Tui, text: &str) {
    t.send(b"\r");
    t.wait_mode("INSERT", LONG);
    t.type_text(text);
    t.wait_text(text, LONG);
    t.send(b"\r");
    t.send(b"\x1c");
    t.wait_mode("NORMAL", LONG);
}

fn inbox_has(screen: &str, tool: &str, subject: &str) -> bool {
    screen
        .lines()
        .any(|l| l.contains(&format!("▶ cc {tool} {subject}")))
}

#[test]
fn requests_over_the_protocol_are_answered_by_rule_by_key_and_by_ctl() {
    let Scene { dir, work, t } = scene(ECHO_RULE, "never", 40, 160);
    // By rule: no key pressed.
    say(&t, "mock:bash please");
    wait_until("hello.txt, approved by the echo rule", LONG, || {
        work.join("hello.txt").exists()
    });
    t.wait_for("the turn's end in the pane", LONG, |s| {
        s.contains("approved once by rule echo") && s.contains("── done")
    });
    // By key, from the inbox, without entering the pane.
    say(&t, "mock:bash2 now");
    let s = t.wait_for("the exact request in the inbox", LONG, |s| {
        inbox_has(s, "Bash", "touch second.txt")
    });
    assert!(s.contains("cc · claude · needs-permission"), "{s}");
    t.send(b"y");
    wait_until("second.txt, approved by key", LONG, || {
        work.join("second.txt").exists()
    });
    // Denied by key: nothing written, the agent is told.
    say(&t, "mock:write it");
    t.wait_for("the Write request", LONG, |s| {
        inbox_has(s, "Write", "notes.txt")
    });
    // An answer key right after another, for a prompt that just took the
    // selection, is held by the client (RESELECT_GUARD): a person pauses.
    let shown = std::time::Instant::now();
    wait_until("a pause since the prompt took the selection", LONG, || {
        shown.elapsed() > corral::client::app::RESELECT_GUARD
    });
    t.send(b"n");
    t.wait_for("the denial in the pane", LONG, |s| {
        s.contains("Write denied by you") && s.contains("1 denied")
    });
    assert!(!work.join("notes.txt").exists(), "a denied write ran");
    // Approve-always by ctl: kept to the agent's session, never a file.
    say(&t, "mock:bash2 again");
    t.wait_for("the second Bash request", LONG, |s| {
        inbox_has(s, "Bash", "touch second.txt")
    });
    let (code, out, err) = ctl(dir.path(), &["answer", "cc", "approve-always"]);
    assert_eq!(code, 0, "{out}{err}");
    t.wait_for("the rule kept for the session", LONG, |s| {
        s.contains("rule kept in: session") && s.contains("cc · claude · idle")
    });
    let audit = audit_lines(dir.path());
    let got: Vec<(&str, &str, &str, &str)> = audit
        .iter()
        .map(|l| {
            (
                l["source"].as_str().unwrap_or(""),
                l["answer"].as_str().unwrap_or(""),
                l["by"]["source"].as_str().unwrap_or(""),
                l["result"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(got.len(), 4, "{audit:?}");
    assert_eq!(got[0], ("protocol", "approve-once", "policy", "sent"));
    assert_eq!(got[1].0, "protocol");
    assert_eq!(got[1].1, "approve-once");
    assert_eq!(got[2].1, "deny");
    assert_eq!(got[3], ("protocol", "approve-always", "ctl", "sent"));
    // Every line both ways is in the slot's protocol log.
    let log = std::fs::read_to_string(
        dir.path()
            .join("data/transcripts/default/cc.protocol.jsonl"),
    )
    .unwrap_or_default();
    assert!(log.contains("\"from\":\"corral\"") && log.contains("can_use_tool"));
}

#[test]
fn a_crash_mid_request_closes_the_prompt_and_audits_it() {
    let Scene { dir, work, t } = scene("", "never", 30, 120);
    say(&t, "mock:crash mock:bash");
    let s = t.wait_for("the slot exited", LONG, |s| {
        s.contains("cc · claude · exited")
    });
    assert!(s.contains("INBOX (0)"), "{s}");
    assert!(!work.join("hello.txt").exists());
    let audit = audit_lines(dir.path());
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0]["result"], "vanished");
    assert_eq!(audit[0]["source"], "protocol");
    assert!(
        audit[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("session ended (3)")),
        "{audit:?}"
    );
    // The server is up and says so.
    let (code, out, _) = ctl(dir.path(), &["list"]);
    assert_eq!(code, 0);
    assert!(out.contains("exited"), "{out}");
}

#[test]
fn lines_that_are_not_the_protocol_and_dialogs_in_model_text_open_nothing() {
    let Scene { dir, work, t } = scene(
        "[[policy]]\nname = \"all\"\ndecision = \"allow\"\nsubject = \"*\"\n",
        "never",
        40,
        160,
    );
    say(&t, "mock:garbage mock:dialog");
    let s = t.wait_for("the turn's end", LONG, |s| {
        s.contains("── done") && s.contains("could not be read") && s.contains("cc · claude · idle")
    });
    // The unreadable request (no id) and the dialog drawn by the model are
    // shown, never asked or answered.
    assert!(s.contains("INBOX (0)"), "{s}");
    assert!(s.contains("Do you want to proceed?"), "{s}");
    assert!(s.contains("plain words on stdout"), "{s}");
    assert!(s.contains("cc · claude · idle"), "{s}");
    assert!(audit_lines(dir.path()).is_empty());
    assert!(!work.join("hello.txt").exists());
    let (code, _, _) = ctl(dir.path(), &["list"]);
    assert_eq!(code, 0);
}

#[test]
fn esc_interrupts_a_turn_and_a_message_mid_turn_is_taken() {
    let Scene { dir, t, .. } = scene("", "never", 30, 120);
    t.send(b"\r");
    t.wait_mode("INSERT", LONG);
    t.type_text("mock:slow please");
    t.send(b"\r");
    t.wait_for("working", LONG, |s| s.contains("cc · claude · working"));
    t.send(b"\x1b");
    t.wait_for("the interrupted turn", LONG, |s| {
        s.contains("interrupt sent") && s.contains("ended: error_during_execution")
    });
    t.wait_for("idle after the interrupt", LONG, |s| {
        s.contains("cc · claude · idle")
    });
    // A message sent while a turn runs is queued by the agent and answered.
    t.type_text("mock:slow first");
    t.send(b"\r");
    t.wait_for("working again", LONG, |s| {
        s.contains("cc · claude · working")
    });
    let (code, out, err) = ctl(dir.path(), &["send", "cc", "--enter", "second message"]);
    assert_eq!(code, 0, "{out}{err}");
    t.wait_for("both answered", Duration::from_secs(40), |s| {
        s.contains("You said: second message")
    });
}

/// An ACP slot (`transport = "acp"`) running corral's scripted ACP agent.
fn acp_slot(work: &Path) -> String {
    format!(
        "[[slot]]\nid = \"gm\"\nagent = \"gemini\"\ntransport = \"acp\"\ncommand = \"{}\"\nargs = [\"demo-agent\", \"--protocol\", \"acp\"]\ncwd = \"{}\"\nrestart = \"never\"\n",
        support::corral_bin().display(),
        work.display()
    )
}

#[test]
fn acp_requests_are_exact_only_when_the_protocol_gives_the_call_itself() {
    let dir = support::tempdir();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap_or_else(|e| panic!("{e}"));
    let cfg = support::write_config(
        dir.path(),
        &format!(
            "{}\n{ECHO_RULE}\n[[policy]]\nname = \"all\"\ndecision = \"allow\"\ntool = \"fetch\"\nsubject = \"*\"\n",
            acp_slot(&work)
        ),
    );
    let t = Tui::corral(&["--config", &cfg], 40, 160, dir.path());
    t.wait_for("the ACP slot idle once its session is open", LONG, |s| {
        s.contains("gm · gemini · idle") && s.contains("over acp")
    });
    // The shell call is titled with its command: exact, approved by rule.
    let (code, out, err) = ctl(
        dir.path(),
        &["task", "gm", "mock:bash please", "--wait", "--json"],
    );
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    assert_eq!(v["result"]["usage"]["input_tokens"], 120, "{out}");
    assert!(work.join("hello.txt").exists());
    // A title that is a description: even a rule for every fetch leaves it
    // to a person, and ctl may not approve it.
    let (code, _, _) = ctl(dir.path(), &["task", "gm", "mock:fetch it"]);
    assert_eq!(code, 0);
    let s = t.wait_for("the fetch request in the inbox", LONG, |s| {
        s.contains("▶ gm fetch")
    });
    assert!(s.contains("gm · gemini · needs-permission"), "{s}");
    let (code, _, err) = ctl(dir.path(), &["answer", "gm", "approve-once"]);
    assert_ne!(code, 0);
    assert!(err.contains("described the call"), "{err}");
    // Esc in the pane cancels the turn: the request leaves the inbox.
    t.send(b"\r");
    t.wait_mode("INSERT", LONG);
    t.send(b"\x1b");
    t.wait_for("the cancelled turn", LONG, |s| {
        s.contains("ended: cancelled")
            && s.contains("INBOX (0)")
            && s.contains("gm · gemini · idle")
    });
    let audit = audit_lines(dir.path());
    // ctl refused before anything reached the server: not an answer.
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert_eq!(audit[0]["result"], "sent");
    assert_eq!(audit[0]["source"], "protocol");
    assert_eq!(audit[1]["result"], "vanished");
    assert!(
        audit[1]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("cancelled"))
    );
    assert!(audit[1]["incomplete"].is_string(), "{audit:?}");
}

/// An ACP agent that dies with its permission request open: the request
/// (sent as its last line) is read before the exit, so it leaves the inbox
/// audited as vanished, never answered.
#[test]
fn an_acp_agent_crashing_mid_request_closes_the_prompt_and_audits_it() {
    let dir = support::tempdir();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap_or_else(|e| panic!("{e}"));
    let cfg = support::write_config(dir.path(), &acp_slot(&work));
    let t = Tui::corral(&["--config", &cfg], 30, 120, dir.path());
    t.wait_for("the ACP slot idle", LONG, |s| {
        s.contains("gm · gemini · idle")
    });
    let (code, out, err) = ctl(dir.path(), &["task", "gm", "mock:crash mock:bash"]);
    assert_eq!(code, 0, "{out}{err}");
    let s = t.wait_for("the slot exited", LONG, |s| {
        s.contains("gm · gemini · exited")
    });
    assert!(s.contains("INBOX (0)"), "{s}");
    assert!(!work.join("hello.txt").exists());
    let audit = audit_lines(dir.path());
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0]["result"], "vanished");
    assert_eq!(audit[0]["source"], "protocol");
    assert!(
        audit[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("session ended (3)")),
        "{audit:?}"
    );
}

#[test]
fn a_turn_with_no_message_for_the_profiles_time_is_stalled_until_one_comes() {
    let dir = support::tempdir();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap_or_else(|e| panic!("{e}"));
    // A profile of the user's: stalled after 800 ms without a message.
    let profiles = dir.path().join("config/profiles");
    std::fs::create_dir_all(&profiles).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        profiles.join("quick.toml"),
        "name = \"quick\"\nsource = \"a test\"\nstalled_after_ms = 800\ninterrupt = [\"esc\"]\n[transport.stream-json]\nargs = []\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let slot = slot(&work, "never").replace("agent = \"claude\"", "agent = \"quick\"");
    let cfg = support::write_config(dir.path(), &slot);
    let t = Tui::corral(&["--config", &cfg], 30, 120, dir.path());
    t.wait_for("idle", LONG, |s| s.contains("cc · quick · idle"));
    let (code, _, err) = ctl(dir.path(), &["task", "cc", "mock:slow please"]);
    assert_eq!(code, 0, "{err}");
    t.wait_for("stalled, and why", LONG, |s| {
        s.contains("cc · quick · stalled") && s.contains("no message from the agent for 0.8 s")
    });
    // The agent's next message ends the stall; its turn's end, the turn.
    t.wait_for("idle after the slow turn", LONG, |s| {
        s.contains("cc · quick · idle") && s.contains("── done")
    });
}

#[test]
fn a_task_sent_mid_turn_returns_its_own_turns_result() {
    let Scene { dir, t, .. } = scene("", "never", 30, 120);
    let (code, _, err) = ctl(dir.path(), &["task", "cc", "mock:slow first"]);
    assert_eq!(code, 0, "{err}");
    t.wait_for("working", LONG, |s| s.contains("cc · claude · working"));
    let (code, out, err) = ctl(
        dir.path(),
        &[
            "task",
            "cc",
            "second one",
            "--wait",
            "--json",
            "--timeout",
            "40",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    assert_eq!(v["result"]["text"], "You said: second one", "{out}");
}

#[test]
fn a_resized_pane_wraps_the_conversation_anew() {
    let Scene { dir, t, .. } = scene("", "never", 24, 80);
    let (code, _, err) = ctl(
        dir.path(),
        &[
            "task",
            "cc",
            "tell me something long enough to wrap at eighty columns",
            "--wait",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let narrow = t.text();
    assert!(
        !narrow.contains("type a message, Enter sends it"),
        "{narrow}"
    );
    t.resize(40, 200);
    t.wait_for("the header and the reply on one line each", LONG, |s| {
        s.contains("type a message, Enter sends it")
            && s.contains("You said: tell me something long enough to wrap at eighty columns")
    });
}

/// A conversation of 10,000 events scrolls and copies as a PTY pane does:
/// copy mode finds an event thousands of rows back and yanks exactly its
/// line; the pane is live again after.
#[test]
fn a_long_conversation_scrolls_and_copies_like_a_pty_pane() {
    let Scene { dir, t, .. } = scene("", "never", 40, 160);
    let (code, out, err) = ctl(dir.path(), &["task", "cc", "mock:many", "--wait"]);
    assert_eq!(code, 0, "{out}{err}");
    t.wait_text("event 9999:", LONG);
    t.send(b"[");
    t.wait_mode("COPY", LONG);
    t.type_text("/event 7777:");
    t.wait_for("the search typed", LONG, |s| {
        s.lines().last().is_some_and(|l| l.contains("/event 7777:"))
    });
    t.send(b"\r");
    t.wait_for("the match in view", LONG, |s| {
        s.lines()
            .any(|l| l.contains("event 7777: the quick brown fox jumps over the lazy dog"))
    });
    t.send(b"V");
    t.send(b"y");
    wait_until("the line on the clipboard", LONG, || {
        t.clipboard()
            .last()
            .is_some_and(|c| c == "● event 7777: the quick brown fox jumps over the lazy dog")
    });
    t.wait_mode("NORMAL", LONG);
    t.wait_text("event 9999:", LONG);
}
