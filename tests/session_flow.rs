//! In-process flows with real PTYs: the session manager runs small scripted
//! programs; prompts appear, answers send the right bytes, a stale prompt gets
//! nothing, crashing children are reported and restarted.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use corral::config::Config;
use corral::detect::{AgentState, Answer, Prompt};
use corral::server::{AnsweredBy, Command, Event, ManagerOptions, SessionManager};
use tokio::sync::mpsc::UnboundedReceiver;

const LONG: Duration = Duration::from_secs(30);

/// One test of this file at a time: the flood test measures a rate (8 MiB
/// within a second trips it), which the other tests' programs competing
/// for the machine's two cores can hold below the threshold.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE.lock().unwrap_or_else(|p| p.into_inner())
}

fn start(cfg: &str, dir: &Path) -> (SessionManager, UnboundedReceiver<Event>) {
    start_with(cfg, dir, corral::server::FLOOD_BYTES)
}

/// [`start`] with a flood threshold of `flood_bytes` within a second.
fn start_with(
    cfg: &str,
    dir: &Path,
    flood_bytes: usize,
) -> (SessionManager, UnboundedReceiver<Event>) {
    let config = Config::parse(Path::new("test.toml"), cfg).unwrap_or_else(|e| panic!("{e}"));
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mgr = SessionManager::start(
        &config,
        ManagerOptions {
            transcript_dir: Some(dir.join("transcripts")),
            worktree_dir: None,
            state_file: None,
            session: "test".into(),
            flood_bytes,
            transcript_max_bytes: 1 << 30,
            audit_path: Some(dir.join("audit.jsonl")),
            sizes: vec![(30, 100); config.slots.len()],
            scrollback_rows: 100,
            profiles: corral::profile::Profiles::builtin().unwrap_or_else(|e| panic!("{e}")),
            policy: corral::policy::Policy::new(config.policy.clone(), config.dangerous.clone()),
            screens: None,
            spawner: None,
            probe_exe: None,
            hook: None,
        },
        tx,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    (mgr, rx)
}

/// Waits for an event matching `pred`, skipping others.
fn next_event(
    rx: &mut UnboundedReceiver<Event>,
    what: &str,
    mut pred: impl FnMut(&Event) -> bool,
) -> Event {
    let deadline = Instant::now() + LONG;
    loop {
        match rx.try_recv() {
            Ok(e) if pred(&e) => return e,
            Ok(_) => {}
            Err(tokio::sync::mpsc::error::TryRecvError::Empty) => {
                if Instant::now() > deadline {
                    panic!("timed out waiting for {what}");
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("event channel closed while waiting for {what}: {e}"),
        }
    }
}

fn opened(rx: &mut UnboundedReceiver<Event>) -> Prompt {
    match next_event(rx, "a prompt", |e| matches!(e, Event::PromptOpened { .. })) {
        Event::PromptOpened { prompt, .. } => prompt,
        _ => unreachable!(),
    }
}

fn keyboard(k: &str) -> AnsweredBy {
    AnsweredBy {
        source: "keyboard".into(),
        detail: k.into(),
    }
}

const RULE: &str =
    "────────────────────────────────────────────────────────────────────────────────";
const DASH: &str = "╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌";

fn dialog(cmd: &str) -> String {
    format!(
        "{RULE}\n Bash command\n{DASH}\n {cmd}\n{DASH}\n Do you want to proceed?\n ❯ 1. Yes\n   2. No\n\n Esc to cancel · Tab to amend\n"
    )
}

/// A program that shows dialog A, switches to dialog B when `switch` appears,
/// and then records every byte of input it gets into `input`.
fn two_dialog_program(dir: &Path) -> PathBuf {
    two_dialogs(dir, "echo first", "rm -rf build")
}

/// Like [`two_dialog_program`] with the commands of dialogs A and B given.
fn two_dialogs(dir: &Path, a: &str, b: &str) -> PathBuf {
    // The program's terminal is raw, so lines end in CR LF.
    std::fs::write(dir.join("a.txt"), dialog(a).replace('\n', "\r\n"))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("b.txt"), dialog(b).replace('\n', "\r\n"))
        .unwrap_or_else(|e| panic!("{e}"));
    let script = dir.join("two.sh");
    std::fs::write(
        &script,
        format!(
            "stty raw -echo\ncat '{d}/a.txt'\nwhile [ ! -e '{d}/switch' ]; do sleep 0.02; done\nprintf '\\033[2J\\033[H'\ncat '{d}/b.txt'\nexec dd bs=1 of='{d}/input' 2>/dev/null\n",
            d = dir.display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    script
}

fn input_of(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("input")).unwrap_or_default()
}

/// Safety invariant 1: an answer goes only to the prompt the user saw.
#[test]
fn a_stale_prompt_gets_nothing_and_the_current_one_gets_its_keys() {
    let _serial = serial();
    let dir = support::tempdir();
    let script = two_dialog_program(dir.path());
    let (mgr, mut rx) = start(
        &format!(
            "[[slot]]\nid = \"two\"\nagent = \"claude\"\ncommand = \"/bin/sh\"\nargs = [\"{}\"]\n",
            script.display()
        ),
        dir.path(),
    );
    let a = opened(&mut rx);
    assert_eq!(a.subject, "echo first");
    // The screen changes to dialog B; answer A before the manager has even
    // noticed (its re-detection at answer time must catch it).
    std::fs::write(dir.path().join("switch"), "").unwrap_or_else(|e| panic!("{e}"));
    let shared = mgr.slot(0).unwrap_or_else(|| panic!("no slot")).clone();
    support::wait_until("dialog B on screen", LONG, || {
        shared
            .lock()
            .snapshot()
            .rows
            .iter()
            .any(|r| r.contains("rm -rf build"))
    });
    mgr.send(Command::Answer {
        slot: 0,
        prompt: a.id,
        answer: Answer::ApproveOnce,
        by: keyboard("y"),
    });
    match next_event(&mut rx, "the answer's outcome", |e| {
        matches!(e, Event::AnswerRefused { .. } | Event::AnswerSent { .. })
    }) {
        Event::AnswerRefused { prompt, reason, .. } => {
            assert_eq!(prompt, a.id);
            assert!(
                reason.contains("changed") || reason.contains("no longer"),
                "{reason}"
            );
        }
        e => panic!("stale answer was sent: {e:?}"),
    }
    let b = opened(&mut rx);
    assert_eq!(b.subject, "rm -rf build");
    assert_ne!(a.id, b.id);
    // Answering A again, now that B is known, is still refused.
    mgr.send(Command::Answer {
        slot: 0,
        prompt: a.id,
        answer: Answer::ApproveOnce,
        by: keyboard("y"),
    });
    next_event(&mut rx, "refusal", |e| {
        matches!(e, Event::AnswerRefused { .. })
    });
    // B denied: "No" is option 2 here, found by its label.
    mgr.send(Command::Answer {
        slot: 0,
        prompt: b.id,
        answer: Answer::Deny,
        by: keyboard("n"),
    });
    next_event(&mut rx, "sent", |e| matches!(e, Event::AnswerSent { .. }));
    support::wait_until("the deny key at the program", LONG, || {
        input_of(dir.path()) == "2"
    });
    // A second answer to the same prompt is refused (no double keys).
    mgr.send(Command::Answer {
        slot: 0,
        prompt: b.id,
        answer: Answer::Deny,
        by: keyboard("n"),
    });
    match next_event(&mut rx, "refusal", |e| {
        matches!(e, Event::AnswerRefused { .. })
    }) {
        Event::AnswerRefused { reason, .. } => assert!(reason.contains("already"), "{reason}"),
        _ => unreachable!(),
    }
    // The approve-always answer does not exist in this dialog.
    assert_eq!(
        input_of(dir.path()),
        "2",
        "exactly one key reached the program"
    );
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap_or_default();
    // Three refusals, one answer, and prompt A closing unanswered.
    assert_eq!(audit.lines().count(), 5, "{audit}");
    assert_eq!(
        audit
            .lines()
            .filter(|l| l.contains("\"result\":\"vanished\""))
            .count(),
        1
    );
    assert_eq!(
        audit
            .lines()
            .filter(|l| l.contains("\"result\":\"sent\""))
            .count(),
        1
    );
    mgr.shutdown();
}

/// The demo agent under the session manager: working, then a prompt; `y`
/// sends `1` and the agent carries on (working again).
#[test]
fn demo_agent_prompt_approve_and_carry_on() {
    let _serial = serial();
    let dir = support::tempdir();
    let (mgr, mut rx) = start(
        &format!(
            "[[slot]]\nid = \"api\"\nagent = \"claude\"\ncommand = \"{}\"\nargs = [\"demo-agent\", \"--script\", \"api\", \"--pace-ms\", \"200\"]\n",
            support::corral_bin().display()
        ),
        dir.path(),
    );
    next_event(&mut rx, "working", |e| {
        matches!(
            e,
            Event::StateChanged {
                state: AgentState::Working,
                ..
            }
        )
    });
    // The state comes first, so a frame showing the prompt shows it too.
    next_event(&mut rx, "needs-permission", |e| {
        matches!(
            e,
            Event::StateChanged {
                state: AgentState::NeedsPermission,
                ..
            }
        )
    });
    let p = opened(&mut rx);
    assert_eq!(
        (p.tool.as_str(), p.subject.as_str()),
        ("Bash", "echo hello > hello.txt")
    );
    mgr.send(Command::Answer {
        slot: 0,
        prompt: p.id,
        answer: Answer::ApproveOnce,
        by: keyboard("y"),
    });
    next_event(&mut rx, "sent", |e| matches!(e, Event::AnswerSent { .. }));
    next_event(&mut rx, "prompt closed", |e| {
        matches!(e, Event::PromptClosed { .. })
    });
    next_event(&mut rx, "working again", |e| {
        matches!(
            e,
            Event::StateChanged {
                state: AgentState::Working,
                ..
            }
        )
    });
    next_event(&mut rx, "idle", |e| {
        matches!(
            e,
            Event::StateChanged {
                state: AgentState::Idle,
                ..
            }
        )
    });
    let shared = mgr.slot(0).unwrap_or_else(|| panic!("no slot")).clone();
    assert!(
        shared
            .lock()
            .snapshot()
            .rows
            .iter()
            .any(|r| r.contains("● Bash(echo hello > hello.txt)"))
    );
    let transcript = std::fs::read(dir.path().join("transcripts/api.raw")).unwrap_or_default();
    assert!(String::from_utf8_lossy(&transcript).contains("Bash command"));
    mgr.shutdown();
}

#[test]
fn exit_status_restart_policy_and_spawn_failure() {
    let _serial = serial();
    let dir = support::tempdir();
    let (mgr, mut rx) = start(
        "[[slot]]\nid = \"crash\"\ncommand = \"/bin/sh\"\nargs = [\"-c\", \"exit 3\"]\nrestart = \"on-failure\"\n\
         [[slot]]\nid = \"ok\"\ncommand = \"/bin/sh\"\nargs = [\"-c\", \"exit 0\"]\nrestart = \"on-failure\"\n\
         [[slot]]\nid = \"missing\"\ncommand = \"/nonexistent/agent\"\n",
        dir.path(),
    );
    // Events of the three slots interleave: collect them all.
    let mut seen = Vec::new();
    let deadline = Instant::now() + LONG;
    let done = |seen: &Vec<Event>| {
        seen.iter()
            .filter(|e| matches!(e, Event::Exited { slot: 0, .. }))
            .count()
            >= 2
            && seen
                .iter()
                .any(|e| matches!(e, Event::Exited { slot: 1, .. }))
            && seen
                .iter()
                .any(|e| matches!(e, Event::SpawnFailed { slot: 2, .. }))
    };
    while !done(&seen) {
        assert!(Instant::now() < deadline, "timed out; events: {seen:?}");
        match rx.try_recv() {
            Ok(e) => seen.push(e),
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    let crashes: Vec<(String, Option<Duration>)> = seen
        .iter()
        .filter_map(|e| match e {
            Event::Exited {
                slot: 0,
                status,
                restart_in,
            } => Some((status.clone(), *restart_in)),
            _ => None,
        })
        .collect();
    assert_eq!(crashes[0], ("3".to_string(), Some(Duration::from_secs(1))));
    assert_eq!(
        crashes[1],
        ("3".to_string(), Some(Duration::from_secs(2))),
        "backoff doubles"
    );
    assert!(seen.iter().any(|e| matches!(
        e,
        Event::Started {
            slot: 0,
            generation: 2
        }
    )));
    assert!(
        seen.iter().any(
            |e| matches!(e, Event::Exited { slot: 1, status, restart_in: None } if status == "0")
        ),
        "on-failure does not restart a clean exit: {seen:?}"
    );
    assert!(seen.iter().any(|e| matches!(
        e,
        Event::StateChanged { slot: 2, state: AgentState::Exited(s), .. } if s == "failed to start"
    )));
    mgr.shutdown();
}

#[test]
fn keys_are_encoded_for_the_child_and_resize_reaches_it() {
    let _serial = serial();
    let dir = support::tempdir();
    let out = dir.path().join("keys");
    let (mgr, mut rx) = start(
        &format!(
            "[[slot]]\nid = \"k\"\ncommand = \"/bin/sh\"\nargs = [\"-c\", \"stty raw -echo; printf 'ready\\\\033[?1h'; dd bs=1 count=6 of='{}' 2>/dev/null; stty size; sleep 5\"]\n",
            out.display()
        ),
        dir.path(),
    );
    next_event(&mut rx, "output", |e| matches!(e, Event::Output { .. }));
    let shared = mgr.slot(0).unwrap_or_else(|| panic!("no slot")).clone();
    support::wait_until("ready", LONG, || {
        shared.lock().snapshot().rows[0].contains("ready")
    });
    mgr.send(Command::Resize {
        slot: 0,
        rows: 20,
        cols: 70,
    });
    // Application cursor mode is on: up is ESC O A.
    mgr.send(Command::Key {
        slot: 0,
        key: "up".parse().unwrap_or_else(|e| panic!("{e}")),
    });
    mgr.send(Command::Key {
        slot: 0,
        key: "ctrl-c".parse().unwrap_or_else(|e| panic!("{e}")),
    });
    mgr.send(Command::Write {
        slot: 0,
        bytes: b"xy".to_vec(),
    });
    support::wait_until("six bytes", LONG, || {
        std::fs::read(&out).is_ok_and(|b| b.len() == 6)
    });
    assert_eq!(std::fs::read(&out).unwrap_or_default(), b"\x1bOA\x03xy");
    support::wait_until("stty size", LONG, || {
        shared
            .lock()
            .snapshot()
            .rows
            .iter()
            .any(|r| r.contains("20 70"))
    });
    mgr.shutdown();
}

/// An allow-everything rule still leaves `rm -rf /` to the user: nothing is
/// sent; the next, harmless prompt is approved automatically through the
/// same verified path.
#[test]
fn dangerous_commands_wait_even_under_allow_everything() {
    let _serial = serial();
    let dir = support::tempdir();
    let script = two_dialogs(dir.path(), "rm -rf /", "echo safe");
    let (mgr, mut rx) = start(
        &format!(
            "[[slot]]\nid = \"d\"\nagent = \"claude\"\ncommand = \"/bin/sh\"\nargs = [\"{}\"]\n\n[[policy]]\nname = \"yolo\"\ndecision = \"allow\"\n",
            script.display()
        ),
        dir.path(),
    );
    let a = opened(&mut rx);
    assert_eq!(a.subject, "rm -rf /");
    match next_event(&mut rx, "the policy's decision", |e| {
        matches!(e, Event::PolicyAsked { .. } | Event::AnswerSent { .. })
    }) {
        Event::PolicyAsked { reason, .. } => {
            assert!(reason.contains("dangerous (rm-rf-root)"), "{reason}");
        }
        e => panic!("a dangerous command was answered: {e:?}"),
    }
    std::fs::write(dir.path().join("switch"), "").unwrap_or_else(|e| panic!("{e}"));
    let b = opened(&mut rx);
    assert_eq!(b.subject, "echo safe");
    match next_event(&mut rx, "the automatic answer", |e| {
        matches!(e, Event::AnswerSent { .. })
    }) {
        Event::AnswerSent {
            prompt, answer, by, ..
        } => {
            assert_eq!((prompt, answer), (b.id, Answer::ApproveOnce));
            assert_eq!((by.source.as_str(), by.detail.as_str()), ("policy", "yolo"));
        }
        _ => unreachable!(),
    }
    support::wait_until("the approve key", LONG, || input_of(dir.path()) == "1");
    mgr.shutdown();
    // The unanswered dangerous prompt is in the audit log as vanished.
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap_or_default();
    assert!(
        audit
            .lines()
            .any(|l| l.contains("\"result\":\"vanished\"") && l.contains("rm -rf /")),
        "{audit}"
    );
    assert!(
        audit
            .lines()
            .any(|l| l.contains("\"result\":\"sent\"") && l.contains("echo safe")),
        "{audit}"
    );
}

/// Waits for the transcript at `path` to reach the length of `want`, then
/// asserts it is exactly `want`.
fn assert_transcript_whole(path: &Path, want: &str) {
    support::wait_until("the whole transcript", LONG, || {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) >= want.len() as u64
    });
    let got = std::fs::read(path).unwrap_or_default();
    assert!(
        got == want.as_bytes(),
        "transcript differs ({} bytes, want {})",
        got.len(),
        want.len()
    );
}

#[test]
fn a_burst_of_output_reaches_screen_scrollback_and_transcript_whole() {
    let _serial = serial();
    let dir = support::tempdir();
    // About 1.9 MiB in one burst, then the child stays: nothing may wait in
    // a buffer for more output or for the end.
    let (mgr, _rx) = start(
        "[[slot]]\nid = \"burst\"\ncommand = \"/bin/sh\"\nargs = [\"-c\", \"seq 1 300000; sleep 600\"]\n",
        dir.path(),
    );
    let shared = mgr.slot(0).unwrap_or_else(|| panic!("no slot")).clone();
    let want: String = (1..=300_000).map(|i| format!("{i}\r\n")).collect();
    assert_transcript_whole(&dir.path().join("transcripts/burst.raw"), &want);
    support::wait_until("the last line on screen", LONG, || {
        shared.lock().snapshot().rows.iter().any(|r| r == "300000")
    });
    let e = shared.lock();
    // 100 rows of scrollback (the manager's limit here), in order, right
    // above the screen.
    let sb: Vec<String> = e.scrollback().map(|r| r.text().to_string()).collect();
    assert_eq!(sb.len(), 100);
    let first: usize = sb[0].parse().unwrap_or_else(|_| panic!("{:?}", sb[0]));
    for (k, line) in sb.iter().enumerate() {
        assert_eq!(line, &(first + k).to_string());
    }
    let top = &e.snapshot().rows[0];
    assert_eq!(top, &(first + 100).to_string());
    drop(e);
    mgr.shutdown();
}

#[test]
fn a_flood_lowers_the_reader_and_loses_no_byte() {
    let _serial = serial();
    let dir = support::tempdir();
    // 24 MiB as fast as the PTY takes it: past the flood threshold, after
    // which the reader reads 4 KiB at a time at lower priority. The server's
    // threshold (8 MiB within a second) is about what this machine's PTYs
    // carry at all under a loaded test run: 2 MiB here trips it surely and
    // still leaves 22 MiB to read at the lower priority.
    let (mgr, _rx) = start_with(
        "[[slot]]\nid = \"flood\"\ncommand = \"/bin/sh\"\nargs = [\"-c\", \"yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 25165824; echo; echo END; sleep 600\"]\n",
        dir.path(),
        2 << 20,
    );
    let shared = mgr.slot(0).unwrap_or_else(|| panic!("no slot")).clone();
    let line = "0123456789abcdefghijklmnopqrstuvwxyz\r\n";
    let full = 25_165_824 / 37;
    let mut want = line.repeat(full);
    want.push_str(&line[..25_165_824 - full * 37]);
    want.push_str("\r\nEND\r\n");
    assert_transcript_whole(&dir.path().join("transcripts/flood.raw"), &want);
    support::wait_until("END on screen", LONG, || {
        shared.lock().snapshot().rows.iter().any(|r| r == "END")
    });
    assert!(shared.yields(), "the flood was not detected");
    mgr.shutdown();
}

/// A program that shows a dialog, draws it again after a pause on every
/// SIGWINCH (blank in between, as agents do), and clears it for good when
/// `close` appears; then records its input.
fn redrawing_program(dir: &Path) -> PathBuf {
    std::fs::write(dir.join("a.txt"), dialog("npm test").replace('\n', "\r\n"))
        .unwrap_or_else(|e| panic!("{e}"));
    let script = dir.join("redraw.sh");
    std::fs::write(
        &script,
        format!(
            "stty raw -echo\ndraw() {{ printf '\\033[2J\\033[H'; sleep 0.4; cat '{d}/a.txt'; }}\ntrap draw WINCH\ndraw\nwhile [ ! -e '{d}/close' ]; do sleep 0.02; done\nprintf '\\033[2J\\033[Hclosed\\r\\n'\nexec dd bs=1 of='{d}/input' 2>/dev/null\n",
            d = dir.display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    script
}

/// Events until `deadline`.
fn events_until(rx: &mut UnboundedReceiver<Event>, deadline: Instant) -> Vec<Event> {
    let mut out = Vec::new();
    while Instant::now() < deadline {
        match rx.try_recv() {
            Ok(e) => out.push(e),
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    out
}

/// A resize makes the agent draw its dialog again (blank for a moment): the
/// prompt stays, with its id, and answers as before. A dialog the agent
/// really closes right after a resize is reported closed once the reflow
/// grace is over, and audited as closed without corral's answer.
#[test]
fn a_resize_keeps_the_prompt_and_a_real_close_still_shows() {
    let _serial = serial();
    let dir = support::tempdir();
    let script = redrawing_program(dir.path());
    let (mgr, mut rx) = start(
        &format!(
            "[[slot]]\nid = \"r\"\nagent = \"claude\"\ncommand = \"/bin/sh\"\nargs = [\"{}\"]\n",
            script.display()
        ),
        dir.path(),
    );
    let p = opened(&mut rx);
    assert_eq!(p.subject, "npm test");
    mgr.send(Command::Resize {
        slot: 0,
        rows: 24,
        cols: 90,
    });
    let during = events_until(&mut rx, Instant::now() + Duration::from_millis(2500));
    assert!(
        !during
            .iter()
            .any(|e| matches!(e, Event::PromptClosed { .. } | Event::PromptOpened { .. })),
        "{during:?}"
    );
    // The agent closes its dialog right after another resize: held through
    // the grace, then closed, and audited as closed without an answer.
    let start_at = Instant::now();
    mgr.send(Command::Resize {
        slot: 0,
        rows: 30,
        cols: 100,
    });
    std::fs::write(dir.path().join("close"), "").unwrap_or_else(|e| panic!("{e}"));
    next_event(
        &mut rx,
        "the prompt closed",
        |e| matches!(e, Event::PromptClosed { prompt, .. } if *prompt == p.id),
    );
    assert!(
        start_at.elapsed() >= Duration::from_millis(corral::server::REFLOW_GRACE_MS - 200),
        "held through the reflow grace"
    );
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap_or_default();
    assert!(
        audit.contains("\"vanished\"") && audit.contains("npm test"),
        "{audit}"
    );
    // Its id answers nothing now.
    mgr.send(Command::Answer {
        slot: 0,
        prompt: p.id,
        answer: Answer::ApproveOnce,
        by: keyboard("y"),
    });
    next_event(
        &mut rx,
        "a refusal",
        |e| matches!(e, Event::AnswerRefused { prompt, .. } if *prompt == p.id),
    );
    drop(mgr);
}
