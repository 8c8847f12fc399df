//! The hook path, in process and fast: a session manager with its socket
//! and a fake Claude Code (a PTY with no process) whose "hook" is this test
//! speaking corral's hook protocol, as `corral hook` would. What the
//! real-agent suites check end to end is checked here step by step: a rule
//! answers a hook request at once; one no rule covers waits in the inbox
//! and the person's answer goes back on the hook's connection; a wrong
//! token or generation is refused; a hook that hangs up closes its prompt;
//! a request too deep to evaluate waits for a person and nothing falls
//! over; every decision is audited with its source.

mod support;

use std::io::BufReader;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;

use corral::detect::Answer;
use corral::proto::{self, HookDecision, HookProtocol, HookReply, HookRequest, PROTO_VERSION};
use corral::server::{AnsweredBy, Command, Event, HookOptions};
use support::fake::{FakeSpawner, next_event, start_with};

const RULES: &str =
    "[[policy]]\nname = \"echo\"\ndecision = \"allow\"\ntool = \"Bash\"\nsubject = \"echo *\"\n";

/// The hook token corral put in the program's arguments (in the hook
/// command inside `--settings`).
fn token_of(args: &[String]) -> String {
    let all = args.join(" ");
    let at = all
        .find("--token")
        .unwrap_or_else(|| panic!("no hook in {args:?}"));
    all[at + "--token".len()..]
        .trim_start()
        .trim_start_matches('\'')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// Sends one hook request for a Bash `command`, as `corral hook` does, and
/// returns the connection to read the reply from.
fn request(sock: &Path, token: &str, generation: u64, command: &str) -> BufReader<UnixStream> {
    let mut s = UnixStream::connect(sock).unwrap_or_else(|e| panic!("{e}"));
    let req = HookRequest {
        v: PROTO_VERSION,
        slot: "cc".into(),
        generation,
        token: token.into(),
        protocol: HookProtocol::ClaudePermissionRequest,
        event: serde_json::json!({
            "hook_event_name": "PermissionRequest",
            "tool_name": "Bash",
            "tool_input": {"command": command, "description": "run it"},
        }),
    };
    proto::write_frame(&mut s, &req).unwrap_or_else(|e| panic!("{e}"));
    BufReader::new(s)
}

fn reply(r: &mut BufReader<UnixStream>) -> HookReply {
    proto::read_frame::<_, HookReply>(r)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no reply"))
}

fn audit(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// A config with the `echo *` rule and one Claude Code slot `cc` (its
/// state under `dir`), and the hook socket `<dir>/run/t.sock`.
fn claude_slot(dir: &Path) -> (String, HookOptions) {
    let cfg = format!(
        "{RULES}[[slot]]\nid = \"cc\"\nagent = \"claude\"\ncommand = \"claude\"\n[slot.env]\nCLAUDE_CONFIG_DIR = {:?}\n",
        dir.join("claude").to_string_lossy()
    );
    let hook = HookOptions {
        exe: "/usr/bin/corral".into(),
        runtime_dir: dir.join("run"),
        name: "t".into(),
        clients: None,
    };
    (cfg, hook)
}

/// The audit's record number `n` (0-based), once it is written.
fn audit_after(dir: &Path, n: usize) -> serde_json::Value {
    support::wait_until(
        &format!("audit record {n}"),
        std::time::Duration::from_secs(30),
        || audit(dir).len() > n,
    );
    audit(dir).swap_remove(n)
}

#[test]
fn hook_requests_are_answered_by_rule_by_the_person_or_refused() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    let spawner = Arc::new(FakeSpawner::default());
    let (cfg, hook) = claude_slot(d);
    // The real parse probe: every shell command is parsed in a child
    // under limits first, as in the server.
    let probe = Some(std::path::PathBuf::from(env!("CARGO_BIN_EXE_corral")));
    let (mgr, mut rx) = start_with(&cfg, d, spawner.clone(), Some(hook), probe);
    let p = spawner.program(0);
    let token = token_of(&p.args);
    assert!(token.len() >= 16, "{token:?} from {:?}", p.args);
    let sock = d.join("run/t.sock");

    // 1. A rule covers it: allowed at once, audited as the hook's.
    let mut c = request(&sock, &token, 1, "echo hi");
    let r = reply(&mut c);
    assert_eq!(r.decision, Some(HookDecision::Allow), "{r:?}");
    let last = audit_after(d, 0);
    assert_eq!(
        (&last["source"], &last["by"]["source"], &last["subject"]),
        (&"hook".into(), &"policy".into(), &"echo hi".into()),
        "{last}"
    );

    // 2. No rule: the inbox, then the person's answer on the connection.
    let mut c = request(&sock, &token, 1, "rm -rf build");
    let prompt = match next_event(
        &mut rx,
        "the hook's prompt",
        |e| matches!(e, Event::PromptOpened { prompt, .. } if prompt.subject == "rm -rf build"),
    ) {
        Event::PromptOpened { prompt, .. } => prompt,
        _ => unreachable!(),
    };
    mgr.send(Command::Answer {
        slot: 0,
        prompt: prompt.id,
        answer: Answer::Deny,
        by: AnsweredBy {
            source: "keyboard".into(),
            detail: "n".into(),
        },
    });
    assert_eq!(reply(&mut c).decision, Some(HookDecision::Deny));
    next_event(
        &mut rx,
        "the prompt closed",
        |e| matches!(e, Event::PromptClosed { prompt: id, .. } if *id == prompt.id),
    );
    let last = audit_after(d, 1);
    assert_eq!(
        (&last["answer"], &last["by"]["source"], &last["result"]),
        (&"deny".into(), &"keyboard".into(), &"sent".into()),
        "{last}"
    );

    // 3. A wrong token or another session's generation: refused, nothing
    //    opens.
    for (tok, generation) in [("not-the-token", 1), (token.as_str(), 7)] {
        let mut c = request(&sock, tok, generation, "echo hi");
        let r = reply(&mut c);
        assert!(r.decision.is_none() && r.error.is_some(), "{r:?}");
    }

    // 4. The hook hangs up (the person answered in the pane): its prompt
    //    closes and the audit says it vanished.
    let c = request(&sock, &token, 1, "rm -rf dist");
    let prompt = match next_event(
        &mut rx,
        "the second prompt",
        |e| matches!(e, Event::PromptOpened { prompt, .. } if prompt.subject == "rm -rf dist"),
    ) {
        Event::PromptOpened { prompt, .. } => prompt,
        _ => unreachable!(),
    };
    drop(c);
    next_event(
        &mut rx,
        "the hung-up prompt closed",
        |e| matches!(e, Event::PromptClosed { prompt: id, .. } if *id == prompt.id),
    );
    support::wait_until(
        "the vanished record",
        std::time::Duration::from_secs(30),
        || {
            audit(d)
                .iter()
                .any(|l| l["result"] == "vanished" && l["subject"] == "rm -rf dist")
        },
    );

    // 5. Too deep to evaluate: a person decides, and the server stays up.
    let deep = format!("{}echo deep{}", "{ ".repeat(400), "; }".repeat(400));
    let mut c = request(&sock, &token, 1, &deep);
    let prompt = match next_event(
        &mut rx,
        "the deep prompt",
        |e| matches!(e, Event::PromptOpened { prompt, .. } if prompt.subject.starts_with("{ { {")),
    ) {
        Event::PromptOpened { prompt, .. } => prompt,
        _ => unreachable!(),
    };
    mgr.send(Command::Answer {
        slot: 0,
        prompt: prompt.id,
        answer: Answer::ApproveOnce,
        by: AnsweredBy {
            source: "keyboard".into(),
            detail: "y".into(),
        },
    });
    assert_eq!(reply(&mut c).decision, Some(HookDecision::Allow));
    // 6. Text brush-parser 0.4 took 19 s (release) to parse, found by
    //    fuzzing: the vendored, memoized parser reads it at once, no rule
    //    covers what it runs, so a person decides (the deny below is the
    //    person's, not a rule's)
    //    (`a_command_the_parse_probe_cannot_finish_waits_for_a_person`
    //    covers a probe that runs out).
    let slow = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/policy/fuzz-slow-probe.bin"
    ))
    .unwrap_or_default();
    let slow = String::from_utf8_lossy(&slow).into_owned();
    assert!(slow.len() > 200);
    let mut c = request(&sock, &token, 1, &slow);
    let prompt = match next_event(
        &mut rx,
        "the slow prompt",
        |e| matches!(e, Event::PromptOpened { prompt, .. } if prompt.subject == slow),
    ) {
        Event::PromptOpened { prompt, .. } => prompt,
        _ => unreachable!(),
    };
    mgr.send(Command::Answer {
        slot: 0,
        prompt: prompt.id,
        answer: Answer::Deny,
        by: AnsweredBy {
            source: "keyboard".into(),
            detail: "n".into(),
        },
    });
    assert_eq!(reply(&mut c).decision, Some(HookDecision::Deny));
    // Still answering after all of it.
    let mut c = request(&sock, &token, 1, "echo again");
    assert_eq!(reply(&mut c).decision, Some(HookDecision::Allow));
}

/// A command whose parse outruns the probe's limits (here a probe that
/// only burns CPU) is never parsed in the server: even a command a rule
/// covers waits for a person, with the reason, and the server goes on.
#[test]
fn a_command_the_parse_probe_cannot_finish_waits_for_a_person() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    let busy = d.join("busy-probe");
    std::fs::write(&busy, "#!/bin/sh\nwhile :; do :; done\n").unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(&busy, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
    let spawner = Arc::new(FakeSpawner::default());
    let (cfg, hook) = claude_slot(d);
    let (mgr, mut rx) = start_with(&cfg, d, spawner.clone(), Some(hook), Some(busy));
    let token = token_of(&spawner.program(0).args);
    let mut c = request(&d.join("run/t.sock"), &token, 1, "echo hi");
    let prompt = match next_event(&mut rx, "the prompt", |e| {
        matches!(e, Event::PromptOpened { .. })
    }) {
        Event::PromptOpened { prompt, .. } => prompt,
        _ => unreachable!(),
    };
    next_event(
        &mut rx,
        "the policy's reason",
        |e| matches!(e, Event::PolicyAsked { reason, .. } if reason.contains("unparseable") && reason.contains("more than 2 s")),
    );
    mgr.send(Command::Answer {
        slot: 0,
        prompt: prompt.id,
        answer: Answer::Deny,
        by: AnsweredBy {
            source: "keyboard".into(),
            detail: "n".into(),
        },
    });
    assert_eq!(reply(&mut c).decision, Some(HookDecision::Deny));
}

/// A hook request still waiting when its session ends: the hook is told
/// nothing (no decision), and the request is audited as `vanished` by
/// `none` because the session ended. (Requests queued behind it go through
/// the same loop in `end_prompts`.)
#[test]
fn a_hook_request_open_when_the_session_ends_is_audited_and_released() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    let spawner = Arc::new(FakeSpawner::default());
    let (cfg, hook) = claude_slot(d);
    let (mgr, mut rx) = start_with(&cfg, d, spawner.clone(), Some(hook), None);
    let p = spawner.program(0);
    let token = token_of(&p.args);
    let mut c = request(&d.join("run/t.sock"), &token, 1, "rm -rf build");
    let prompt = match next_event(&mut rx, "the prompt", |e| {
        matches!(e, Event::PromptOpened { .. })
    }) {
        Event::PromptOpened { prompt, .. } => prompt,
        _ => unreachable!(),
    };
    p.exit.exit(1);
    next_event(
        &mut rx,
        "the prompt closed",
        |e| matches!(e, Event::PromptClosed { prompt: id, .. } if *id == prompt.id),
    );
    assert_eq!(reply(&mut c).decision, None);
    let r = audit_after(d, 0);
    assert_eq!(
        (
            &r["result"],
            &r["by"]["source"],
            &r["source"],
            &r["subject"]
        ),
        (
            &"vanished".into(),
            &"none".into(),
            &"hook".into(),
            &"rm -rf build".into()
        ),
        "{r}"
    );
    assert!(
        r["reason"]
            .as_str()
            .is_some_and(|w| w.contains("session ended (1)")),
        "{r}"
    );
    next_event(&mut rx, "the exit", |e| matches!(e, Event::Exited { .. }));
    assert_eq!(audit(d).len(), 1, "one record: {:?}", audit(d));
    mgr.shutdown();
}

/// Sends one hook request with the event's `cwd` and the tool's input.
fn request_in(
    sock: &Path,
    token: &str,
    cwd: &Path,
    tool: &str,
    input: serde_json::Value,
) -> BufReader<UnixStream> {
    let mut s = UnixStream::connect(sock).unwrap_or_else(|e| panic!("{e}"));
    let req = HookRequest {
        v: PROTO_VERSION,
        slot: "cc".into(),
        generation: 1,
        token: token.into(),
        protocol: HookProtocol::ClaudePermissionRequest,
        event: serde_json::json!({
            "hook_event_name": "PermissionRequest",
            "cwd": cwd.to_string_lossy(),
            "tool_name": tool,
            "tool_input": input,
        }),
    };
    proto::write_frame(&mut s, &req).unwrap_or_else(|e| panic!("{e}"));
    BufReader::new(s)
}

#[test]
fn a_hook_judges_relative_paths_where_the_agent_is() {
    // Claude Code keeps a `cd` for its next command: after `cd .git`, the
    // hook's cwd is <slot>/.git, and `>> config` writes .git/config.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    let ws = d.join("ws");
    std::fs::create_dir_all(ws.join(".git")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(ws.join("src")).unwrap_or_else(|e| panic!("{e}"));
    let spawner = Arc::new(FakeSpawner::default());
    let (cfg, hook) = claude_slot(d);
    // allow-everything, and the slot in `ws`.
    let cfg = cfg
        .replacen(
            RULES,
            "[[policy]]\nname = \"all\"\ndecision = \"allow\"\n",
            1,
        )
        .replacen(
            "command = \"claude\"\n",
            &format!("command = \"claude\"\ncwd = {:?}\n", ws.to_string_lossy()),
            1,
        );
    let (_mgr, mut rx) = start_with(&cfg, d, spawner.clone(), Some(hook), None);
    let token = token_of(&spawner.program(0).args);
    let sock = d.join("run/t.sock");
    let bash = |c: &str| serde_json::json!({"command": c, "description": "x"});

    // From the slot's directory: an ordinary file, allowed.
    let mut c = request_in(&sock, &token, &ws, "Bash", bash("printf x >> config"));
    assert_eq!(reply(&mut c).decision, Some(HookDecision::Allow));
    // From .git: the same words write .git/config, and a person decides.
    let git = ws.join(".git");
    let c = request_in(&sock, &token, &git, "Bash", bash("printf x >> config"));
    let prompt = match next_event(
        &mut rx,
        "the prompt for .git/config",
        |e| matches!(e, Event::PromptOpened { prompt, .. } if prompt.subject == "printf x >> config"),
    ) {
        Event::PromptOpened { prompt, .. } => prompt,
        _ => unreachable!(),
    };
    // The hook hangs up: its prompt closes.
    drop(c);
    next_event(
        &mut rx,
        "the prompt closed",
        |e| matches!(e, Event::PromptClosed { prompt: id, .. } if *id == prompt.id),
    );
    // A file tool's path, shortened against the agent's directory, too.
    let _w = request_in(
        &sock,
        &token,
        &git,
        "Write",
        serde_json::json!({"file_path": git.join("hooks/pre-commit").to_string_lossy(), "content": "x"}),
    );
    next_event(
        &mut rx,
        "the prompt for .git/hooks/pre-commit",
        |e| matches!(e, Event::PromptOpened { prompt, .. } if prompt.tool == "Write"),
    );
}
