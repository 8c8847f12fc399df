//! The slot state machine (detect, prompt, policy, answer, exit, restart)
//! driven through a fake spawner: each "program" is a PTY with no process
//! behind it. The test writes the program's screen into the PTY's other
//! side, reads back the keys corral sends, and ends it with the exit status
//! it chooses, so every step is the test's, with no timing of a real child.

mod support;

use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use corral::detect::{AgentState, Answer};
use corral::server::{AnsweredBy, Command, Event, SessionManager};
use support::fake::{self, FakeSpawner, next_event};
use tokio::sync::mpsc::UnboundedReceiver;

fn start(
    cfg: &str,
    dir: &Path,
    spawner: Arc<FakeSpawner>,
) -> (SessionManager, UnboundedReceiver<Event>) {
    fake::start_with(cfg, dir, spawner, None, None)
}

const RULE: &str =
    "────────────────────────────────────────────────────────────────────────────────";
const DASH: &str = "╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌";

/// Claude Code's Bash permission dialog (2.1.329's shape).
fn dialog(cmd: &str) -> String {
    format!(
        "{RULE}\n Bash command\n{DASH}\n {cmd}\n{DASH}\n Do you want to proceed?\n ❯ 1. Yes\n   2. No\n\n Esc to cancel · Tab to amend\n"
    )
}

/// Claude Code at its prompt, idle.
const IDLE: &str = "● Done.\n\n────────────────────────────────────────\n❯ \n────────────────────────────────────────\n  ? for shortcuts\n";

fn keyboard() -> AnsweredBy {
    AnsweredBy {
        source: "keyboard".into(),
        detail: "y".into(),
    }
}

/// A whole life of a slot: a dialog becomes a prompt; the person's answer
/// sends the profile's key; a rule answers a routine one by itself and
/// leaves a dangerous one; the program crashes before its conversation
/// has a transcript and starts a new one after the back-off; `restart`
/// kills it and starts it again at once, resuming its conversation by id.
#[test]
fn a_slot_lives_through_prompts_answers_a_crash_and_restarts() {
    let dir = support_dir();
    let spawner = Arc::new(FakeSpawner::default());
    let claude_dir = dir.path().join("claude");
    let cfg = format!(
        "[[policy]]\nname = \"echo\"\ndecision = \"allow\"\ntool = \"Bash\"\nsubject = \"echo *\"\n\
         [[slot]]\nid = \"cc\"\nagent = \"claude\"\ncommand = \"claude\"\nrestart = \"on-failure\"\n\
         [slot.env]\nCLAUDE_CONFIG_DIR = {:?}\n",
        claude_dir.to_string_lossy()
    );
    let (mgr, mut rx) = start(&cfg, dir.path(), spawner.clone());
    let mut p = spawner.program(0);
    // The first start names the conversation; every start after resumes
    // exactly it (Claude's `[session]`).
    assert_eq!(p.args.len(), 2, "{:?}", p.args);
    assert_eq!(p.args[0], "--session-id", "{:?}", p.args);
    let id = p.args[1].clone();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    next_event(&mut rx, "started", |e| {
        matches!(e, Event::Started { generation: 1, .. })
    });

    // A dialog: a prompt, and the state says so.
    p.show(&dialog("npm test"));
    next_event(&mut rx, "needs-permission", |e| {
        matches!(
            e,
            Event::StateChanged {
                state: AgentState::NeedsPermission,
                ..
            }
        )
    });
    let prompt = match next_event(&mut rx, "the prompt", |e| {
        matches!(e, Event::PromptOpened { .. })
    }) {
        Event::PromptOpened { prompt, .. } => prompt,
        _ => unreachable!(),
    };
    assert_eq!(
        (prompt.tool.as_str(), prompt.subject.as_str()),
        ("Bash", "npm test")
    );
    // The person approves: the option's key reaches the program.
    mgr.send(Command::Answer {
        slot: 0,
        prompt: prompt.id,
        answer: Answer::ApproveOnce,
        by: keyboard(),
    });
    p.expect_input(b"1");
    next_event(&mut rx, "answer sent", |e| {
        matches!(e, Event::AnswerSent { .. })
    });
    p.show(IDLE);
    next_event(&mut rx, "prompt closed", |e| {
        matches!(e, Event::PromptClosed { .. })
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

    // A routine command under the rule: answered by it.
    p.show(&dialog("echo hi"));
    match next_event(&mut rx, "the rule's answer", |e| {
        matches!(e, Event::AnswerSent { .. })
    }) {
        Event::AnswerSent { by, answer, .. } => {
            assert_eq!((by.source.as_str(), by.detail.as_str()), ("policy", "echo"));
            assert_eq!(answer, Answer::ApproveOnce);
        }
        _ => unreachable!(),
    }
    p.expect_input(b"1");
    p.show(IDLE);
    next_event(&mut rx, "idle again", |e| {
        matches!(
            e,
            Event::StateChanged {
                state: AgentState::Idle,
                ..
            }
        )
    });
    // A dangerous one under the same rule: left to the person.
    p.show(&dialog("echo hi; rm -rf ~"));
    next_event(&mut rx, "left to the person", |e| {
        matches!(e, Event::PolicyAsked { .. })
    });
    p.show(IDLE);
    next_event(&mut rx, "closed", |e| {
        matches!(e, Event::PromptClosed { .. })
    });

    // A crash: shown as exited, restarted after the back-off. Claude has
    // not written the conversation (no message yet: `--resume` would exit
    // "No conversation found"), so it starts a new one.
    p.exit.exit(1);
    match next_event(&mut rx, "the exit", |e| matches!(e, Event::Exited { .. })) {
        Event::Exited {
            status, restart_in, ..
        } => {
            assert_eq!(status, "1");
            assert_eq!(restart_in, Some(Duration::from_secs(1)));
        }
        _ => unreachable!(),
    }
    // A key for the exited slot (before its restart) is refused, said.
    mgr.send(Command::Key {
        slot: 0,
        key: corral::keys::KeyPress::plain(corral::keys::KeyCode::Char('x')),
    });
    next_event(
        &mut rx,
        "the refused key",
        |e| matches!(e, Event::InputRefused { reason, .. } if reason.contains("no session is running")),
    );
    let p2 = spawner.program(1);
    assert_eq!(p2.args[0], "--session-id", "{:?}", p2.args);
    let id = p2.args[1].clone();
    assert_ne!(id, p.args[1], "a new conversation");
    // Once Claude has its transcript, every start resumes exactly it.
    let project = claude_dir.join("projects/-tmp-project");
    std::fs::create_dir_all(&project).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(project.join(format!("{id}.jsonl")), "{}\n").unwrap_or_else(|e| panic!("{e}"));
    let resume = vec!["--resume".to_string(), id.clone()];
    next_event(&mut rx, "second start", |e| {
        matches!(e, Event::Started { generation: 2, .. })
    });

    // `restart`: the running program is ended and started again at once.
    mgr.send(Command::Restart { slot: 0 });
    let p3 = spawner.program(2);
    assert!(
        p2.exit.code.lock().map(|c| c.is_some()).unwrap_or(false),
        "the old one was ended"
    );
    assert_eq!(p3.args, resume);
    next_event(&mut rx, "third start", |e| {
        matches!(e, Event::Started { generation: 3, .. })
    });

    // Every answer is in the audit with who decided.
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap_or_default();
    let sent: Vec<serde_json::Value> = audit
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v["result"] == "sent")
        .collect();
    assert_eq!(sent.len(), 2, "{audit}");
    assert_eq!(sent[0]["by"]["source"], "keyboard");
    assert_eq!(sent[1]["by"]["source"], "policy");
    mgr.shutdown();
}

/// A resume the agent refuses, failing before it was ever ready (Gemini
/// CLI deletes an empty conversation as it exits, after corral looked;
/// exit 42), starts a new conversation right away, whatever the restart
/// policy, and says so.
#[test]
fn a_refused_resume_starts_a_new_conversation() {
    let dir = support_dir();
    let spawner = Arc::new(FakeSpawner::default());
    let claude_dir = dir.path().join("claude");
    let cfg = format!(
        "[[slot]]\nid = \"cc\"\nagent = \"claude\"\ncommand = \"claude\"\nrestart = \"never\"\n\
         [slot.env]\nCLAUDE_CONFIG_DIR = {:?}\n",
        claude_dir.to_string_lossy()
    );
    let (mgr, mut rx) = start(&cfg, dir.path(), spawner.clone());
    let p = spawner.program(0);
    let id = p.args[1].clone();
    let project = claude_dir.join("projects/-tmp-project");
    std::fs::create_dir_all(&project).unwrap_or_else(|e| panic!("{e}"));
    let transcript = project.join(format!("{id}.jsonl"));
    std::fs::write(&transcript, "{}\n").unwrap_or_else(|e| panic!("{e}"));
    mgr.send(Command::Restart { slot: 0 });
    let p2 = spawner.program(1);
    assert_eq!(p2.args, ["--resume".to_string(), id.clone()]);
    // Gone as the old one exits; the resume fails at once.
    std::fs::remove_file(&transcript).unwrap_or_else(|e| panic!("{e}"));
    p2.exit.exit(42);
    match next_event(&mut rx, "the notice", |e| matches!(e, Event::Notice { .. })) {
        Event::Notice { text, .. } => assert!(text.contains(&id[..8]), "{text}"),
        _ => unreachable!(),
    }
    let p3 = spawner.program(2);
    assert_eq!(p3.args[0], "--session-id", "{:?}", p3.args);
    assert_ne!(p3.args[1], id);
    // A resumed agent that got ready and then failed is an ordinary exit:
    // the restart policy (never) holds.
    let id3 = p3.args[1].clone();
    std::fs::write(project.join(format!("{id3}.jsonl")), "{}\n").unwrap_or_else(|e| panic!("{e}"));
    mgr.send(Command::Restart { slot: 0 });
    let mut p4 = spawner.program(3);
    assert_eq!(p4.args, ["--resume".to_string(), id3]);
    p4.show(IDLE);
    next_event(&mut rx, "idle", |e| {
        matches!(
            e,
            Event::StateChanged {
                state: AgentState::Idle,
                ..
            }
        )
    });
    p4.exit.exit(1);
    next_event(&mut rx, "exited for good", |e| {
        matches!(
            e,
            Event::Exited {
                restart_in: None,
                ..
            }
        )
    });
    mgr.shutdown();
}

/// An answer to a prompt that is no longer on the screen sends nothing.
#[test]
fn an_answer_to_a_gone_prompt_sends_nothing() {
    let dir = support_dir();
    let spawner = Arc::new(FakeSpawner::default());
    let cfg = "[[slot]]\nid = \"cc\"\nagent = \"claude\"\ncommand = \"claude\"\n";
    let (mgr, mut rx) = start(cfg, dir.path(), spawner.clone());
    let mut p = spawner.program(0);
    p.show(&dialog("npm test"));
    let first = match next_event(&mut rx, "the prompt", |e| {
        matches!(e, Event::PromptOpened { .. })
    }) {
        Event::PromptOpened { prompt, .. } => prompt,
        _ => unreachable!(),
    };
    // Another dialog takes its place before the answer comes.
    p.show(&dialog("rm -rf build"));
    next_event(
        &mut rx,
        "the second prompt",
        |e| matches!(e, Event::PromptOpened { prompt, .. } if prompt.subject == "rm -rf build"),
    );
    mgr.send(Command::Answer {
        slot: 0,
        prompt: first.id,
        answer: Answer::ApproveOnce,
        by: keyboard(),
    });
    next_event(&mut rx, "the refusal", |e| {
        matches!(e, Event::AnswerRefused { .. })
    });
    // Nothing reached the program.
    let mut buf = [0u8; 64];
    // SAFETY: poll on our own open descriptor.
    let ready = unsafe {
        let mut fd = libc::pollfd {
            fd: p.tty.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        libc::poll(&mut fd, 1, 300)
    };
    if ready > 0 {
        let n = p.tty.read(&mut buf).unwrap_or(0);
        assert_eq!(n, 0, "bytes reached the program: {:?}", &buf[..n]);
    }
    mgr.shutdown();
}

/// A prompt still open when its session ends is audited, not forgotten:
/// `vanished`, by `none`, with the session's exit status as the reason.
#[test]
fn a_prompt_open_when_its_session_ends_is_audited() {
    let dir = support_dir();
    let spawner = Arc::new(FakeSpawner::default());
    let cfg = "[[slot]]\nid = \"cc\"\nagent = \"claude\"\ncommand = \"claude\"\n";
    let (mgr, mut rx) = start(cfg, dir.path(), spawner.clone());
    let mut p = spawner.program(0);
    p.show(&dialog("rm -rf build"));
    let prompt = match next_event(&mut rx, "the prompt", |e| {
        matches!(e, Event::PromptOpened { .. })
    }) {
        Event::PromptOpened { prompt, .. } => prompt,
        _ => unreachable!(),
    };
    p.exit.exit(3);
    next_event(
        &mut rx,
        "the prompt closed",
        |e| matches!(e, Event::PromptClosed { prompt: id, .. } if *id == prompt.id),
    );
    next_event(&mut rx, "the exit", |e| matches!(e, Event::Exited { .. }));
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap_or_default();
    let records: Vec<serde_json::Value> = audit
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(records.len(), 1, "{audit}");
    let r = &records[0];
    assert_eq!(r["prompt_id"], prompt.id.to_string(), "{r}");
    assert_eq!(r["subject"], "rm -rf build", "{r}");
    assert_eq!(r["result"], "vanished", "{r}");
    assert_eq!(r["by"]["source"], "none", "{r}");
    assert_eq!(r["answer"], "", "{r}");
    assert!(
        r["reason"]
            .as_str()
            .is_some_and(|w| w.contains("session ended (3)")),
        "{r}"
    );
    mgr.shutdown();
}

/// A prompt whose answer went (or was still waiting to go) when its
/// session ends has one record only: `sent`, or `refused` because the
/// session ended first, never also `vanished`.
#[test]
fn an_answered_prompt_is_not_recorded_again_when_its_session_ends() {
    let dir = support_dir();
    let spawner = Arc::new(FakeSpawner::default());
    let cfg =
        "[[slot]]\nid = \"cc\"\nagent = \"claude\"\ncommand = \"claude\"\nrestart = \"always\"\n";
    let (mgr, mut rx) = start(cfg, dir.path(), spawner.clone());
    let records = || -> Vec<serde_json::Value> {
        std::fs::read_to_string(dir.path().join("audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    };
    // 1. Keys went; the agent exits before redrawing (the dialog is still
    //    on its screen).
    let mut p = spawner.program(0);
    p.show(&dialog("npm test"));
    let prompt = match next_event(&mut rx, "the prompt", |e| {
        matches!(e, Event::PromptOpened { .. })
    }) {
        Event::PromptOpened { prompt, .. } => prompt,
        _ => unreachable!(),
    };
    mgr.send(Command::Answer {
        slot: 0,
        prompt: prompt.id,
        answer: Answer::ApproveOnce,
        by: keyboard(),
    });
    next_event(&mut rx, "the answer", |e| {
        matches!(e, Event::AnswerSent { .. })
    });
    p.exit.exit(0);
    next_event(&mut rx, "the exit", |e| matches!(e, Event::Exited { .. }));
    let r = records();
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0]["result"], "sent", "{r:?}");
    // 2. An answer given at once waits for the dialog to settle; the agent
    //    exits first. (On a machine slow enough that the keys went first,
    //    it is `sent`: one record either way.)
    let mut p = spawner.program(1);
    p.show(&dialog("rm -rf build"));
    let prompt = match next_event(&mut rx, "the second prompt", |e| {
        matches!(e, Event::PromptOpened { .. })
    }) {
        Event::PromptOpened { prompt, .. } => prompt,
        _ => unreachable!(),
    };
    mgr.send(Command::Answer {
        slot: 0,
        prompt: prompt.id,
        answer: Answer::Deny,
        by: keyboard(),
    });
    p.exit.exit(1);
    next_event(&mut rx, "the second exit", |e| {
        matches!(e, Event::Exited { .. })
    });
    support::wait_until("its record", Duration::from_secs(10), || {
        records().len() >= 2
    });
    // Nothing more comes for it after a while: the restart is 1 s away.
    next_event(&mut rx, "the restart", |e| {
        matches!(e, Event::Started { generation: 3, .. })
    });
    let r = records();
    assert_eq!(r.len(), 2, "{r:?}");
    let last = &r[1];
    assert_eq!(last["prompt_id"], prompt.id.to_string(), "{last}");
    assert_eq!(last["answer"], "deny", "{last}");
    match last["result"].as_str() {
        Some("refused") => assert!(
            last["reason"]
                .as_str()
                .is_some_and(|w| w.contains("session ended (1) before the answer went")),
            "{last}"
        ),
        Some("sent") => {}
        other => panic!("{other:?}: {last}"),
    }
    mgr.shutdown();
}

fn support_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("corral-test.")
        .tempdir()
        .unwrap_or_else(|e| panic!("tempdir: {e}"))
}
