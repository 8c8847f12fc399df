//! The real Claude Code CLI (2.1.329, installed by scripts/install-agents.sh
//! into a cache outside the repository) supervised by corral in a tile,
//! against corral's own mock Anthropic Messages API on 127.0.0.1. Never
//! skipped: without the CLI the test fails and says how to install it.

mod support;

use std::time::Duration;

use support::agents;
use support::{Tui, audit_lines, wait_until};

const LONG: Duration = Duration::from_secs(60);

/// A rule that allows `echo *` for Bash.
const ECHO_RULE: &str =
    "[[policy]]\nname = \"echo\"\ndecision = \"allow\"\ntool = \"Bash\"\nsubject = \"echo *\"\n";

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
    t.wait_mode("INSERT", LONG);
    t.type_text(text);
    t.wait_text(text, LONG);
    t.send(b"\r");
    t.send(b"\x1c");
    t.wait_mode("NORMAL", LONG);
}

/// Real Claude Code as slot `cc` of a corral in a `rows` x `cols` terminal,
/// against the mock API (answers delayed by `delay_ms`), idle; the config is
/// `before`, the slot, then `after`.
struct Scene {
    dir: tempfile::TempDir,
    _mock: agents::Mock,
    project: std::path::PathBuf,
    t: Tui,
}

fn scene(delay_ms: u32, before: &str, after: &str, rows: u16, cols: u16) -> Scene {
    let dir = support::tempdir();
    let mock = agents::start_mock(dir.path(), delay_ms);
    let run = agents::setup("claude", &dir.path().join("claude"), mock.port);
    let cfg = dir.path().join("config.toml");
    let config = format!("{before}{}\n{after}", run.slot_toml("cc"));
    std::fs::write(&cfg, config).unwrap_or_else(|e| panic!("{e}"));
    let cfg = cfg.to_string_lossy().into_owned();
    let t = Tui::corral(&["--config", &cfg], rows, cols, dir.path());
    t.wait_for("claude idle", LONG, |s| {
        sidebar_line(s, "cc").contains("idle")
    });
    Scene {
        project: run.cwd.clone(),
        dir,
        _mock: mock,
        t,
    }
}

#[test]
fn real_claude_code_prompts_are_answered_from_the_inbox() {
    let Scene {
        dir,
        _mock,
        project,
        t,
    } = scene(
        1500,
        "",
        "[[slot]]\nid = \"sh\"\ncommand = \"/bin/sh\"\n",
        50,
        200,
    );
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

/// Policy on the real Claude Code: an allow rule for `echo hello*` approves
/// its Bash prompt with no key pressed; a deny rule for `echo second*` denies
/// the next one and Claude reports the rejection. Both are in the audit log
/// with the rule that decided.
#[test]
fn real_claude_code_prompts_are_answered_by_policy() {
    let Scene {
        dir,
        _mock,
        project,
        t,
    } = scene(
        500,
        "",
        "[[policy]]\nname = \"echo-hello\"\ndecision = \"allow\"\ntool = \"Bash\"\nsubject = \"echo hello*\"\n\n[[policy]]\nname = \"no-second\"\ndecision = \"deny\"\nsubject = \"echo second*\"\n",
        50,
        200,
    );
    ask(&t, "corral:bash please write hello.txt");
    wait_until("hello.txt, approved by rule", LONG, || {
        project.join("hello.txt").exists()
    });
    t.wait_for("claude idle again", LONG, |s| {
        sidebar_line(s, "cc").contains("idle")
    });
    ask(&t, "corral:bash2 please write second.txt");
    t.wait_for("Claude reports the rejection", LONG, |s| {
        s.contains("Interrupted · What should Claude do instead?") || s.contains("Did not run")
    });
    assert!(!project.join("second.txt").exists(), "denied command ran");
    let audit = std::fs::read_to_string(dir.path().join("data/audit.jsonl")).unwrap_or_default();
    let lines: Vec<serde_json::Value> = audit
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(lines.len(), 2, "{audit}");
    assert_eq!(
        (
            lines[0]["answer"].as_str(),
            lines[0]["by"]["detail"].as_str(),
            lines[0]["result"].as_str()
        ),
        (Some("approve-once"), Some("echo-hello"), Some("sent"))
    );
    assert_eq!(
        (
            lines[1]["answer"].as_str(),
            lines[1]["by"]["detail"].as_str(),
            lines[1]["result"].as_str()
        ),
        (Some("deny"), Some("no-second"), Some("sent"))
    );
}

/// The hook: corral installs Claude Code's PermissionRequest hook for the
/// session (`--settings`), the request arrives exact over the socket, a rule
/// allowing `echo *` approves `echo hello > hello.txt` through the hook with
/// no key, and the audit says it came from the hook.
#[test]
fn real_claude_code_hook_request_is_approved_by_rule() {
    let Scene {
        dir,
        _mock,
        project,
        t,
    } = scene(500, "", ECHO_RULE, 50, 200);
    ask(&t, "corral:bash please write hello.txt");
    wait_until("hello.txt, approved through the hook", LONG, || {
        project.join("hello.txt").exists()
    });
    t.wait_for("claude idle again", LONG, |s| {
        sidebar_line(s, "cc").contains("idle") && s.contains("INBOX (0)")
    });
    let lines = audit_lines(dir.path());
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(
        (
            lines[0]["source"].as_str(),
            lines[0]["answer"].as_str(),
            lines[0]["by"]["detail"].as_str(),
            lines[0]["subject"].as_str(),
            lines[0]["result"].as_str()
        ),
        (
            Some("hook"),
            Some("approve-once"),
            Some("echo"),
            Some("echo hello > hello.txt"),
            Some("sent")
        )
    );
}

/// With no corral at the other end of the hook (its socket is gone), the
/// hook prints nothing and the dialog stays for the person, who answers it
/// in the pane.
#[test]
fn real_claude_code_dialog_stays_when_corral_is_gone() {
    let dir = support::tempdir();
    let mock = agents::start_mock(dir.path(), 300);
    let run = agents::setup("claude", &dir.path().join("claude"), mock.port);
    let project = run.cwd.clone();
    let ran = dir.path().join("hook-ran");
    let hook = format!(
        "{} hook --socket {} --slot cc --generation 1 --token x --protocol claude-permission-request; touch {}",
        support::corral_bin().display(),
        dir.path().join("no-such.sock").display(),
        ran.display()
    );
    let settings = serde_json::json!({"hooks": {"PermissionRequest": [{"matcher": "*", "hooks": [{"type": "command", "command": hook, "timeout": 60}]}]}}).to_string();
    let mut args: Vec<&str> = run.args.iter().map(String::as_str).collect();
    args.extend(["--settings", &settings]);
    let env: Vec<(&str, &str)> = run
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let t = Tui::spawn(&run.command, &args, 40, 120, &env, &project);
    t.wait_for("claude idle", LONG, |s| {
        s.contains("? for shortcuts") || s.contains("manual mode on")
    });
    t.type_text("corral:bash please write hello.txt");
    t.wait_text("corral:bash please write hello.txt", LONG);
    t.send(b"\r");
    t.wait_text("Do you want to proceed?", LONG);
    // The hook has run and given up; the dialog is still there.
    wait_until("the hook ran", LONG, || ran.exists());
    let s = t.wait_text("Do you want to proceed?", LONG);
    assert!(!project.join("hello.txt").exists(), "{s}");
    // Claude drops a key that comes before it listens: press again while
    // the dialog is still up.
    let mut last = std::time::Instant::now() - Duration::from_secs(10);
    wait_until("hello.txt after the person's answer", LONG, || {
        if last.elapsed() > Duration::from_secs(3) && t.text().contains("Do you want to proceed?") {
            t.send(b"1");
            last = std::time::Instant::now();
        }
        project.join("hello.txt").exists()
    });
}

/// Types `text` into the focused pane and sends it: waits only for its
/// first characters (a long text wraps in a narrow pane).
fn ask_long(t: &Tui, text: &str) {
    t.send(b"\r");
    t.wait_mode("INSERT", LONG);
    t.type_text(text);
    t.wait_text(&text[..20.min(text.len())], LONG);
    t.send(b"\r");
    t.send(b"\x1c");
    t.wait_mode("NORMAL", LONG);
}

/// Every row of `subject` as the sidebar wraps it (`width` cells) is on
/// screen: the person sees the whole command.
fn shows_whole(screen: &str, subject: &str, width: usize) -> bool {
    corral::client::app::wrap_cells(subject, width)
        .iter()
        .all(|row| screen.contains(row.as_str()))
}

/// Under a rule allowing `echo *`, a chained delete from real Claude Code
/// waits in the inbox, exact (from the hook), and the canary survives; the
/// person denies it through the hook. The same after a 60-character echo,
/// in a 60-column pane: whole in the inbox and in the audit.
#[test]
fn real_claude_code_chained_command_waits_for_the_person() {
    // 88 columns: a 26-cell sidebar and a pane 60 cells wide inside its border.
    let Scene {
        dir,
        _mock,
        project,
        t,
    } = scene(300, "[ui]\nsidebar_width = 26\n\n", ECHO_RULE, 50, 88);
    std::fs::create_dir_all(project.join("canary")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(project.join("canary/bird"), "alive").unwrap_or_else(|e| panic!("{e}"));
    let chained = "echo ok && rm -rf ./canary";
    let long = format!("echo '{}' && rm -rf ./canary", "a".repeat(60));
    for (i, cmd) in [chained.to_string(), long].iter().enumerate() {
        ask_long(&t, &format!("corral:cmd {cmd}"));
        let s = t.wait_for("the prompt in the inbox, whole", LONG, |s| {
            s.contains("INBOX (1)") && shows_whole(s, cmd, 24)
        });
        assert!(s.contains("▶ cc Bash"), "{s}");
        assert!(project.join("canary/bird").exists(), "the canary died");
        t.send(b"n");
        t.wait_for("claude idle after the deny", LONG, |s| {
            s.contains("INBOX (0)") && sidebar_line(s, "cc").contains("idle")
        });
        assert!(project.join("canary/bird").exists(), "the canary died");
        let lines = audit_lines(dir.path());
        let last = lines
            .iter()
            .rev()
            .find(|l| l["result"] == "sent")
            .unwrap_or_else(|| panic!("no answer in the audit: {lines:?}"));
        assert_eq!(
            (
                last["source"].as_str(),
                last["answer"].as_str(),
                last["subject"].as_str()
            ),
            (Some("hook"), Some("deny"), Some(cmd.as_str())),
            "answer {i}"
        );
    }
}

/// The person answers Claude's dialog in the pane while corral's hook waits
/// (Claude does not stop its hook then): corral sees the dialog close, tells
/// the hook to decide nothing, and the inbox and the audit say so.
#[test]
fn real_claude_code_dialog_answered_in_the_pane_closes_the_hook_request() {
    let Scene {
        dir,
        _mock,
        project,
        t,
    } = scene(300, "", "", 50, 200);
    ask(&t, "corral:bash please write hello.txt");
    t.wait_for("the hook's prompt in the inbox", LONG, |s| {
        inbox_has(s, "Bash", "echo hello > hello.txt")
    });
    // Into the pane, and answer there.
    t.send(b"\r");
    t.wait_mode("INSERT", LONG);
    let mut last = std::time::Instant::now() - Duration::from_secs(10);
    wait_until("hello.txt after the answer in the pane", LONG, || {
        if last.elapsed() > Duration::from_secs(3) && t.text().contains("Do you want to proceed?") {
            t.send(b"1");
            last = std::time::Instant::now();
        }
        project.join("hello.txt").exists()
    });
    t.send(b"\x1c");
    t.wait_for("the inbox empty again", LONG, |s| s.contains("INBOX (0)"));
    let lines = audit_lines(dir.path());
    assert!(
        lines.iter().any(|l| l["source"] == "hook"
            && l["result"] == "vanished"
            && l["reason"] == "the dialog was answered in the pane"),
        "{lines:?}"
    );
    assert!(
        lines.iter().all(|l| l["result"] != "sent"),
        "corral answered too: {lines:?}"
    );
}

/// The pids of the processes running in directory `cwd`.
fn pids_in(cwd: &std::path::Path) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if std::fs::read_link(e.path().join("cwd")).is_ok_and(|d| d == cwd) {
            out.push(pid);
        }
    }
    out
}

/// The issue's scene, through the server: real Claude Code and a shell in
/// terminal A; `echo marker-1` in the shell; A is killed, and both agents
/// live on; terminal B (another size) shows the marker and Claude's state;
/// `--attach cc` in terminal C shows Claude's permission dialog, and
/// `ctrl-\ y` there approves it: B shows the decision and the state change.
/// `ls` lists the session and `kill-server` ends it with no agent left.
#[test]
fn real_claude_code_outlives_its_terminal_and_is_answered_from_another() {
    let dir = support::tempdir();
    let mock = agents::start_mock(dir.path(), 300);
    let run = agents::setup("claude", &dir.path().join("claude"), mock.port);
    let cfg = dir.path().join("config.toml");
    let shell_dir = dir.path().join("shell");
    std::fs::create_dir_all(&shell_dir).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        &cfg,
        format!(
            "{}\n[[slot]]\nid = \"sh\"\ncommand = \"/bin/sh\"\ncwd = {:?}\n",
            run.slot_toml("cc"),
            shell_dir.display().to_string()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let cfg = cfg.to_string_lossy().into_owned();
    let mut a = Tui::corral(&["--config", &cfg], 50, 200, dir.path());
    a.wait_for("claude idle", LONG, |s| {
        sidebar_line(s, "cc").contains("idle")
    });
    a.send(b"l");
    a.send(b"\r");
    a.wait_mode("INSERT", LONG);
    a.type_text("echo marker-1\r");
    a.wait_for("the shell's output", LONG, |s| {
        s.lines().any(|l| l.contains("┃marker-1 "))
    });
    let shell = pids_in(&shell_dir);
    assert!(!shell.is_empty(), "the shell's process");
    // SAFETY: SIGKILL to the client this test started (its terminal "closes").
    unsafe { libc::kill(a.pid() as i32, libc::SIGKILL) };
    a.wait_exit(LONG);
    std::thread::sleep(Duration::from_secs(5));
    // SAFETY: signal 0 only checks that the process exists.
    let alive = |p: &i32| unsafe { libc::kill(*p, 0) } == 0;
    assert!(shell.iter().all(alive), "the shell died with its terminal");
    let (_, ls, _) = support::run_plain(
        &[
            "--runtime-dir",
            &dir.path().join("run").to_string_lossy(),
            "ls",
        ],
        dir.path(),
    );
    assert!(
        ls.contains("cc") && ls.contains("claude") && ls.contains("idle"),
        "{ls}"
    );

    let b = Tui::corral(&["--config", &cfg], 40, 160, dir.path());
    let s = b.wait_text("marker-1", LONG);
    assert!(sidebar_line(&s, "cc").contains("idle"), "{s}");
    ask(&b, "corral:bash please write hello.txt");
    b.wait_for("the prompt in B's inbox", LONG, |s| {
        inbox_has(s, "Bash", "echo hello > hello.txt")
    });
    let c = Tui::corral(&["--config", &cfg, "--attach", "cc"], 30, 100, dir.path());
    c.wait_for("Claude's dialog in the attach view", LONG, |s| {
        s.contains("Do you want to proceed?")
            && s.lines()
                .last()
                .is_some_and(|l| l.contains("needs-permission"))
    });
    c.wait_quiet(Duration::from_millis(1000), LONG);
    c.send(b"\x1c");
    c.wait_mode("NORMAL", LONG);
    c.send(b"y");
    wait_until("hello.txt", LONG, || run.cwd.join("hello.txt").exists());
    b.wait_for("B shows the decision and the state change", LONG, |s| {
        s.contains("approve-once (y) → cc") && !sidebar_line(s, "cc").contains("PERMISSION")
    });
    let lines = audit_lines(dir.path());
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["result"], "sent");

    let claude = pids_in(&run.cwd);
    assert!(!claude.is_empty(), "Claude's process");
    let rt = dir.path().join("run").to_string_lossy().into_owned();
    let (code, out, err) = support::run_plain(&["--runtime-dir", &rt, "kill-server"], dir.path());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("stopped session default"), "{out}");
    assert!(
        shell.iter().all(|p| !alive(p)),
        "the shell outlived kill-server"
    );
    assert!(
        claude.iter().all(|p| !alive(p)),
        "Claude outlived kill-server"
    );
    drop(mock);
}

/// `corral ctl` drives real Claude Code: `ctl prompt` returns with the
/// hook's prompt (tool and exact command), `ctl answer` approves it, `ctl
/// wait` returns once Claude is idle, and the audit names ctl.
#[test]
fn ctl_prompt_answer_and_wait_drive_real_claude_code() {
    let Scene {
        dir,
        _mock,
        project,
        t: _t,
    } = scene(300, "", "", 50, 200);
    let h = dir.path();
    let events = support::Events::start(h, &["--slot", "cc"]);
    let (code, out, err) = support::ctl(
        h,
        &[
            "prompt",
            "cc",
            "mock:bash please write hello.txt",
            "--wait",
            "needs-permission",
            "--timeout",
            "60",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let reached: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(reached["state"], "needs-permission", "{out}");
    assert_eq!(reached["prompt"]["tool"], "Bash", "{out}");
    assert_eq!(
        reached["prompt"]["subject"], "echo hello > hello.txt",
        "{out}"
    );
    assert_eq!(reached["prompt"]["source"], "hook", "{out}");
    let (code, _, err) = support::ctl(h, &["answer", "cc", "approve-once"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = support::ctl(h, &["wait", "cc", "--state", "idle", "--timeout", "60"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("cc: idle"), "{out}");
    support::wait_until("hello.txt written", LONG, || {
        project.join("hello.txt").exists()
    });
    let lines = audit_lines(h);
    let last = lines
        .iter()
        .rev()
        .find(|l| l["result"] == "sent")
        .unwrap_or_else(|| panic!("no answer in the audit: {lines:?}"));
    assert_eq!(last["by"]["source"], "ctl", "{last}");
    assert_eq!(last["answer"], "approve-once");
    assert_eq!(last["subject"], "echo hello > hello.txt");
    // `ctl events` had the run in order: working, the prompt asked, opened,
    // answered by ctl and closed, then idle (the stream may be a moment
    // behind the wait).
    let kinds_now = || -> Vec<String> {
        events
            .events()
            .iter()
            .filter_map(|e| {
                Some(match e["event"].as_str()? {
                    "state-changed" => e["state"].as_str()?.to_string(),
                    "prompt-opened" => format!("opened {}", e["prompt"]["subject"].as_str()?),
                    "answer-sent" => format!(
                        "{} by {}",
                        e["answer"].as_str()?,
                        e["by"]["source"].as_str()?
                    ),
                    "prompt-closed" => "closed".into(),
                    _ => return None,
                })
            })
            .collect()
    };
    support::wait_until("idle after the answer in the event stream", LONG, || {
        let k = kinds_now();
        let closed = k.iter().position(|x| x == "closed");
        closed.is_some_and(|c| k[c..].iter().any(|x| x == "idle"))
    });
    let kinds = kinds_now();
    let at = |k: &str| {
        kinds
            .iter()
            .position(|x| x == k)
            .unwrap_or_else(|| panic!("{k} missing: {kinds:?}"))
    };
    let order = [
        at("working"),
        at("needs-permission"),
        at("opened echo hello > hello.txt"),
        at("approve-once by ctl"),
        at("closed"),
        kinds.iter().rposition(|x| x == "idle").unwrap_or(0),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{kinds:?}");
}

/// corral names Claude's conversation (`--session-id`) and a restart
/// resumes exactly it (`--resume <id>`): the process's arguments say so, and
/// the screen shows the earlier conversation.
#[test]
fn a_restart_resumes_the_slots_own_conversation() {
    let Scene {
        dir,
        _mock,
        project: _,
        t,
    } = scene(0, "", "", 50, 200);
    let h = dir.path();
    ask(&t, "remember the word tangerine");
    t.wait_text("Hello from corral", LONG);
    let slot = |k: &str| {
        let v: serde_json::Value =
            serde_json::from_str(&support::ctl(h, &["list", "--json"]).1).unwrap_or_default();
        v["slots"][0][k].clone()
    };
    let id = slot("session_id").as_str().unwrap_or_default().to_string();
    assert_eq!(id.len(), 36, "{id}");
    let args = support::exec_args;
    let first = args(slot("pid").as_u64().unwrap_or(0));
    assert!(
        first
            .windows(2)
            .any(|w| w[0] == "--session-id" && w[1] == id),
        "{first:?}"
    );
    assert_eq!(support::ctl(h, &["restart", "cc"]).0, 0);
    wait_until("session 2 running", LONG, || {
        slot("generation") == 2 && slot("pid").as_u64().is_some()
    });
    let again = args(slot("pid").as_u64().unwrap_or(0));
    assert!(
        again.windows(2).any(|w| w[0] == "--resume" && w[1] == id),
        "{again:?}"
    );
    assert_eq!(slot("session_id").as_str(), Some(id.as_str()));
    t.wait_text("remember the word tangerine", LONG);
    let (_, explained, _) = support::ctl(h, &["explain", "cc"]);
    assert!(explained.contains(&id), "{explained}");
    // The server stopped and started again: the same conversation again.
    let rt = h.join("run").to_string_lossy().into_owned();
    let (code, _, err) = support::run_plain(&["--runtime-dir", &rt, "kill-server"], h);
    assert_eq!(code, 0, "{err}");
    drop(t);
    let cfg = h.join("config.toml").to_string_lossy().into_owned();
    let t = Tui::corral(&["--config", &cfg], 50, 200, h);
    wait_until("cc back in session 3", LONG, || {
        slot("generation") == 3 && slot("pid").as_u64().is_some()
    });
    let back = args(slot("pid").as_u64().unwrap_or(0));
    assert!(
        back.windows(2).any(|w| w[0] == "--resume" && w[1] == id),
        "{back:?}"
    );
    t.wait_text("remember the word tangerine", LONG);
    // The decisions panel in the sidebar says so.
    t.send(b"D");
    t.wait_text(&format!("resumed {} (server restart)", &id[..8]), LONG);
}

/// Two real Claude Code slots in one repository, each in a worktree of its
/// own: a file one writes is not in the other's checkout, and a restart
/// resumes each one's own conversation by its id.
#[test]
fn two_claude_slots_in_worktrees_keep_apart_and_resume_their_own() {
    let dir = support::tempdir();
    let h = dir.path();
    let mock = agents::start_mock(h, 300);
    let run = agents::setup("claude", &h.join("claude"), mock.port);
    let wa = h.join("data/worktrees/default/a");
    let wb = h.join("data/worktrees/default/b");
    // Claude asks to trust a folder it has not seen: the worktrees are
    // trusted as the project is.
    let cj = h.join("claude/home/.claude.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cj).unwrap_or_default()).unwrap_or_default();
    for w in [&wa, &wb] {
        v["projects"][w.to_string_lossy().as_ref()] =
            serde_json::json!({"hasTrustDialogAccepted": true});
    }
    std::fs::write(&cj, v.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let with_worktree = |id: &str| {
        run.slot_toml(id)
            .replace("[slot.env]\n", "worktree = true\n[slot.env]\n")
    };
    let cfg = h.join("config.toml");
    std::fs::write(
        &cfg,
        format!("{}\n{}", with_worktree("a"), with_worktree("b")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let cfg_s = cfg.to_string_lossy().into_owned();
    let _t = Tui::corral(&["--config", &cfg_s], 50, 200, h);
    wait_until("the server up", LONG, || support::ctl(h, &["list"]).0 == 0);
    let secs = LONG.as_secs().to_string();
    for id in ["a", "b"] {
        let (code, _, err) = support::ctl(h, &["wait", id, "--state", "idle", "--timeout", &secs]);
        assert_eq!(code, 0, "{id}: {err}");
    }
    let git_head = |p: &std::path::Path| {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(p)
            .args(["rev-parse", "--abbrev-ref", "HEAD"])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(git_head(&wa), "corral/a");
    assert_eq!(git_head(&wb), "corral/b");
    let (code, out, err) = support::ctl(
        h,
        &[
            "prompt",
            "a",
            "mock:bash please write hello.txt",
            "--wait",
            "needs-permission",
            "--timeout",
            &secs,
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("echo hello > hello.txt"), "{out}");
    assert_eq!(support::ctl(h, &["answer", "a", "approve-once"]).0, 0);
    wait_until("a's file", LONG, || wa.join("hello.txt").exists());
    assert!(!wb.join("hello.txt").exists() && !run.cwd.join("hello.txt").exists());
    let list = |k: &str, i: usize| {
        let v: serde_json::Value =
            serde_json::from_str(&support::ctl(h, &["list", "--json"]).1).unwrap_or_default();
        v["slots"][i][k].clone()
    };
    let (ida, idb) = (list("session_id", 0), list("session_id", 1));
    assert!(
        ida.is_string() && idb.is_string() && ida != idb,
        "{ida} {idb}"
    );
    assert_eq!(support::ctl(h, &["restart", "a"]).0, 0);
    wait_until("a in session 2", LONG, || {
        list("generation", 0) == 2 && list("pid", 0).as_u64().is_some()
    });
    let pid = list("pid", 0).as_u64().unwrap_or(0);
    let args = support::exec_args(pid);
    let ida = ida.as_str().unwrap_or_default();
    assert!(
        args.windows(2).any(|w| w[0] == "--resume" && w[1] == ida),
        "{args:?}"
    );
}

/// Issue 22.1 and 22.2 with real Claude Code: slot `cc` of config A talks
/// in project A; the server stops; config B's slot `cc`, in project B,
/// starts a conversation of its own (`--session-id`, never `--resume` of
/// A's), says so, and shows nothing of A's. A client naming config A while
/// B runs is told so.
#[test]
fn a_slot_of_another_config_never_resumes_the_first_ones_conversation() {
    let Scene {
        dir,
        _mock,
        project,
        t,
    } = scene(0, "", "", 50, 200);
    let h = dir.path();
    ask(&t, "remember the word tangerine");
    t.wait_text("Hello from corral", LONG);
    let list = || {
        serde_json::from_str::<serde_json::Value>(&support::ctl(h, &["list", "--json"]).1)
            .unwrap_or_default()
    };
    let id_a = list()["slots"][0]["session_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(id_a.len(), 36, "{id_a}");
    let rt = h.join("run").to_string_lossy().into_owned();
    let (code, _, err) = support::run_plain(&["--runtime-dir", &rt, "kill-server"], h);
    assert_eq!(code, 0, "{err}");
    drop(t);

    // Project B, trusted by the same Claude home, under config B.
    let proj_b = h.join("project-b");
    std::fs::create_dir_all(&proj_b).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(proj_b.join("README.md"), "b\n").unwrap_or_else(|e| panic!("{e}"));
    let claude_json = h.join("claude/home/.claude.json");
    let mut cj: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&claude_json).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"));
    cj["projects"][proj_b.to_string_lossy().as_ref()] =
        serde_json::json!({"hasTrustDialogAccepted": true});
    std::fs::write(&claude_json, cj.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let cfg_a = h.join("config.toml");
    let text_a = std::fs::read_to_string(&cfg_a).unwrap_or_default();
    let a_path = project.to_string_lossy().into_owned();
    assert!(text_a.contains(&a_path), "{text_a}");
    let cfg_b = h.join("config-b.toml");
    std::fs::write(&cfg_b, text_a.replace(&a_path, &proj_b.to_string_lossy()))
        .unwrap_or_else(|e| panic!("{e}"));
    let t = Tui::corral(&["--config", &cfg_b.to_string_lossy()], 50, 200, h);
    t.wait_for("claude idle in project B", LONG, |s| {
        sidebar_line(s, "cc").contains("idle")
    });
    let cc = list()["slots"][0].clone();
    assert_eq!(cc["generation"], 1, "{cc}");
    assert_eq!(cc["cwd"], proj_b.to_string_lossy().as_ref(), "{cc}");
    let id_b = cc["session_id"].as_str().unwrap_or_default().to_string();
    assert_eq!(id_b.len(), 36, "{cc}");
    assert_ne!(id_b, id_a);
    let argv: Vec<String> = cc["command"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| x.as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        argv.windows(2)
            .any(|w| w[0] == "--session-id" && w[1] == id_b),
        "{argv:?}"
    );
    assert!(
        !argv.iter().any(|a| a == "--resume" || *a == id_a),
        "{argv:?}"
    );
    t.send(b"D");
    t.wait_text("fresh start: new in this config", LONG);
    assert!(!t.text().contains("tangerine"), "{}", t.text());

    // A client naming config A while B runs is told so.
    let mut other = Tui::corral(&["--config", &cfg_a.to_string_lossy()], 40, 160, h);
    other.wait_for("the other config named", LONG, |s| {
        support::sidebar_text(s).contains("session default runs config-b.toml, not config.toml")
    });
    other.send(b"d");
    other.wait_exit(LONG);
    assert!(!t.text().contains("tangerine"), "{}", t.text());
    let (code, _, err) = support::run_plain(&["--runtime-dir", &rt, "kill-server"], h);
    assert_eq!(code, 0, "{err}");
}

/// Issue 23 against real Claude Code through its hook: under `echo *` and a
/// Write rule for `src/**`, a subscript that runs a command, a write of
/// Claude's own settings and a Write that climbs out of `src/` all wait in
/// the inbox and change nothing, while a Write inside `src/` is approved by
/// the rule; 400 nested braces sent through the hook are asked about and
/// the server, Claude and a shell slot stay up.
#[test]
fn real_claude_code_approvals_prove_what_they_allow() {
    let shell_dir = support::tempdir();
    let write_rule = "[[policy]]\nname = \"src\"\ndecision = \"allow\"\ntool = \"Write\"\nsubject = \"src/**\"\n";
    let after = format!(
        "{ECHO_RULE}\n{write_rule}\n[[slot]]\nid = \"sh\"\ncommand = \"/bin/sh\"\ncwd = {:?}\n",
        shell_dir.path().display().to_string()
    );
    let Scene {
        dir,
        _mock,
        project,
        t,
    } = scene(300, "", &after, 50, 200);
    std::fs::create_dir_all(project.join("src")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(project.join("canary")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(project.join("canary/bird"), "alive").unwrap_or_else(|e| panic!("{e}"));
    let settings = project.join(".claude/settings.local.json");
    let settings_before = std::fs::read(&settings).ok();
    let outside = project
        .parent()
        .unwrap_or_else(|| panic!("{project:?}"))
        .join("outside.txt");

    let denied_in_inbox = |ask_text: &str, tool: &str, what: &str| {
        ask_long(&t, ask_text);
        let s = t.wait_for(what, LONG, |s| {
            s.contains("INBOX (1)") && s.contains(&format!("▶ cc {tool}"))
        });
        assert!(project.join("canary/bird").exists(), "the canary died: {s}");
        t.send(b"n");
        t.wait_for("claude idle after the deny", LONG, |s| {
            s.contains("INBOX (0)") && sidebar_line(s, "cc").contains("idle")
        });
        let lines = audit_lines(dir.path());
        let last = lines
            .iter()
            .rev()
            .find(|l| l["result"] == "sent")
            .unwrap_or_else(|| panic!("no answer in the audit: {lines:?}"));
        assert_eq!(
            (
                last["source"].as_str(),
                last["answer"].as_str(),
                last["by"]["source"].as_str()
            ),
            (Some("hook"), Some("deny"), Some("keyboard")),
            "{what}: {last}"
        );
    };
    // bash runs the subscript's substitution before `echo`.
    denied_in_inbox(
        "corral:cmd a[$(rm -rf ./canary)]=1; echo hi",
        "Bash",
        "the subscript in the inbox",
    );
    assert!(project.join("canary/bird").exists(), "the canary died");
    // The model writing its own permissions.
    denied_in_inbox(
        "corral:cmd echo '{\"permissions\":{\"allow\":[\"Bash\"]}}' > .claude/settings.local.json",
        "Bash",
        "the settings write in the inbox",
    );
    assert_eq!(
        std::fs::read(&settings).ok(),
        settings_before,
        "settings changed"
    );
    // A Write that climbs out of src/ and the project.
    denied_in_inbox(
        "corral:writeto src/../../outside.txt",
        "Write",
        "the outside Write in the inbox",
    );
    assert!(!outside.exists(), "written outside the project");
    // The benign control: a Write inside src/ is the rule's.
    ask_long(&t, "corral:writeto src/new.rs");
    wait_until("src/new.rs written by rule", LONG, || {
        project.join("src/new.rs").exists()
    });
    t.wait_for("claude idle after the write", LONG, |s| {
        s.contains("INBOX (0)") && sidebar_line(s, "cc").contains("idle")
    });
    let lines = audit_lines(dir.path());
    assert!(
        lines.iter().any(|l| l["by"]["source"] == "policy"
            && l["answer"] == "approve-once"
            && l["tool"] == "Write"
            && l["subject"]
                .as_str()
                .is_some_and(|s| s.ends_with("src/new.rs"))),
        "{lines:?}"
    );

    // 400 nested braces through Claude's hook, as a model would send them.
    // Every simple command in it is `echo deep`, which `echo *` covers: in
    // the inbox, it was the nesting limit that asked (before, the server's
    // stack overflowed and every agent died).
    ask_long(&t, "corral:deep 400");
    let s = t.wait_for("the deep command in the inbox", LONG, |s| {
        s.contains("INBOX (1)") && s.contains("▶ cc Bash { { {")
    });
    assert!(sidebar_line(&s, "sh").contains("idle"), "{s}");
    let (code, list, err) = support::ctl(dir.path(), &["list"]);
    assert_eq!(code, 0, "the server answers: {err}");
    assert!(list.contains("cc") && list.contains("sh"), "{list}");
    t.send(b"n");
    t.wait_for("everything still up", LONG, |s| {
        s.contains("INBOX (0)") && sidebar_line(s, "cc").contains("idle")
    });
}

/// Real Claude Code in a sandboxed slot: a person approves a Bash command
/// that writes outside the project; the file does not appear, the agent
/// gets the error and goes on. A write inside, approved by rule through
/// the hook, lands; the audit says the slot was confined.
#[test]
fn real_claude_code_in_a_sandbox_cannot_write_outside() {
    let Scene {
        dir,
        _mock,
        project,
        t,
    } = scene(300, "[sandbox]\ndefault = true\n\n", ECHO_RULE, 50, 200);
    let outside = project
        .parent()
        .unwrap_or_else(|| panic!("{project:?}"))
        .join("outside.txt");
    t.wait_text("· sandboxed", LONG);
    // Policy leaves a write outside the workspace to the person; the
    // person approves it, and the sandbox refuses it.
    ask_long(&t, "corral:cmd echo escaped > ../outside.txt");
    t.wait_for("the outside write in the inbox", LONG, |s| {
        s.contains("INBOX (1)") && s.contains("▶ cc Bash")
    });
    t.send(b"y");
    t.wait_for("claude idle after the refused write", LONG, |s| {
        s.contains("INBOX (0)") && sidebar_line(s, "cc").contains("idle")
    });
    assert!(!outside.exists(), "written outside the sandbox");
    // The refusal reached the agent as its tool's error (its transcript,
    // which Claude Code writes as it goes: read until it is there).
    let projects = dir.path().join("claude/home/.claude/projects");
    let transcript = || -> String {
        std::fs::read_dir(&projects)
            .into_iter()
            .flatten()
            .flatten()
            .flat_map(|d| std::fs::read_dir(d.path()).into_iter().flatten().flatten())
            .filter_map(|f| std::fs::read_to_string(f.path()).ok())
            .collect()
    };
    // In the words of the shell Claude Code runs (zsh: `permission denied:
    // ../outside.txt`; bash: `../outside.txt: Permission denied`).
    wait_until("the agent saw the refusal", LONG, || {
        transcript().to_lowercase().split("\\n").any(|l| {
            l.contains("permission denied")
                && l.contains("../outside.txt")
                && !l.contains("corral:cmd")
        })
    });
    // Inside, by rule, through the hook.
    ask(&t, "corral:bash please");
    wait_until("hello.txt written by rule", LONG, || {
        project.join("hello.txt").exists()
    });
    t.wait_for("claude idle after the write", LONG, |s| {
        s.contains("INBOX (0)") && sidebar_line(s, "cc").contains("idle")
    });
    let lines = audit_lines(dir.path());
    let by_rule = lines
        .iter()
        .rev()
        .find(|l| l["by"]["source"] == "policy")
        .unwrap_or_else(|| panic!("no rule answer: {lines:?}"));
    assert_eq!(by_rule["source"], "hook", "{by_rule}");
    assert_eq!(by_rule["sandbox"]["state"], "confined", "{by_rule}");
    let by_key = lines
        .iter()
        .find(|l| l["by"]["source"] == "keyboard")
        .unwrap_or_else(|| panic!("no key answer: {lines:?}"));
    assert_eq!(by_key["sandbox"]["state"], "confined", "{by_key}");
    // A restart resumes the conversation, confined again.
    let h = dir.path();
    let slot = |k: &str| {
        let v: serde_json::Value =
            serde_json::from_str(&support::ctl(h, &["list", "--json"]).1).unwrap_or_default();
        v["slots"][0][k].clone()
    };
    let id = slot("session_id").as_str().unwrap_or_default().to_string();
    assert_eq!(support::ctl(h, &["restart", "cc"]).0, 0);
    wait_until("session 2 running", LONG, || {
        slot("generation") == 2 && slot("pid").as_u64().is_some()
    });
    let again = support::exec_args(slot("pid").as_u64().unwrap_or(0));
    assert!(
        again.windows(2).any(|w| w[0] == "--resume" && w[1] == id),
        "{again:?}"
    );
    assert_eq!(slot("sandbox")["state"], "confined");
    t.wait_for("claude idle again", LONG, |s| {
        sidebar_line(s, "cc").contains("idle")
    });
    t.wait_text("corral:bash please", LONG);
}

/// Real Claude Code over its JSON stream (`transport = "stream-json"`): a
/// task under an `echo *` rule is approved over the protocol and its result
/// comes back with conversation, cost and tokens; a request answered by key
/// from the inbox; a restart and a server killed with SIGKILL each bring the
/// slot back in its own conversation, its earlier messages in the pane.
#[test]
fn real_claude_code_over_stream_json_is_tasked_answered_and_resumed() {
    let dir = support::tempdir();
    let h = dir.path();
    let _mock = agents::start_mock(h, 0);
    let run = agents::setup("claude", &h.join("claude"), _mock.port);
    let slot_toml =
        run.slot_toml("cc")
            .replacen("[[slot]]\n", "[[slot]]\ntransport = \"stream-json\"\n", 1);
    let cfg = h.join("config.toml");
    std::fs::write(&cfg, format!("{ECHO_RULE}\n{slot_toml}")).unwrap_or_else(|e| panic!("{e}"));
    let cfg = cfg.to_string_lossy().into_owned();
    let t = Tui::corral(&["--config", &cfg], 50, 200, h);
    t.wait_for("the structured slot idle", LONG, |s| {
        s.contains("over stream-json") && sidebar_line(s, "cc").contains("idle")
    });
    // A task, approved by rule over the protocol.
    let (code, out, err) = support::ctl(
        h,
        &[
            "task",
            "cc",
            "mock:bash please write hello.txt",
            "--wait",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    let id = v["result"]["session_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(id.len(), 36, "{out}");
    assert!(
        v["result"]["cost_usd"].as_f64().is_some_and(|c| c > 0.0),
        "{out}"
    );
    assert!(
        v["result"]["usage"]["input_tokens"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{out}"
    );
    assert!(
        run.cwd.join("hello.txt").exists(),
        "the task's command did not run"
    );
    // A request the rule does not cover, answered by key.
    ask(&t, "corral:cmd touch by-key.txt");
    t.wait_for("the exact request in the inbox", LONG, |s| {
        inbox_has(s, "Bash", "touch by-key.txt")
    });
    t.send(b"y");
    wait_until("by-key.txt", LONG, || run.cwd.join("by-key.txt").exists());
    let audit = audit_lines(h);
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert!(
        audit
            .iter()
            .all(|l| l["source"] == "protocol" && l["result"] == "sent")
    );
    assert_eq!(audit[0]["by"]["source"], "policy");
    assert_eq!(audit[1]["by"]["source"], "keyboard");
    let slot = |k: &str| {
        let v: serde_json::Value =
            serde_json::from_str(&support::ctl(h, &["list", "--json"]).1).unwrap_or_default();
        v["slots"][0][k].clone()
    };
    wait_until("both turns counted", LONG, || {
        slot("usage")["turns"].as_u64().is_some_and(|n| n >= 2)
    });
    // R: the same conversation, its earlier messages drawn again.
    assert_eq!(support::ctl(h, &["restart", "cc"]).0, 0);
    wait_until("session 2 running", LONG, || slot("generation") == 2);
    let args = support::exec_args(slot("pid").as_u64().unwrap_or(0));
    assert!(
        args.windows(2).any(|w| w[0] == "--resume" && w[1] == id),
        "{args:?}"
    );
    t.wait_for("the earlier messages in the pane", LONG, |s| {
        s.contains("mock:bash please write hello.txt") && s.contains("touch by-key.txt")
    });
    let (code, out, _) = support::ctl(h, &["task", "cc", "mock:text again", "--wait", "--json"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&id), "another conversation after R: {out}");
    // The server killed: started again, the same conversation and pane.
    let server = support::server_pid(h);
    // SAFETY: kill(2) on the test's own server process.
    unsafe { libc::kill(server, libc::SIGKILL) };
    drop(t);
    let t = Tui::corral(&["--config", &cfg], 50, 200, h);
    wait_until("cc back in a new server", LONG, || {
        slot("pid").as_u64().is_some() && support::server_pid(h) != server
    });
    let args = support::exec_args(slot("pid").as_u64().unwrap_or(0));
    assert!(
        args.windows(2).any(|w| w[0] == "--resume" && w[1] == id),
        "{args:?}"
    );
    t.wait_for("the conversation in the new server's pane", LONG, |s| {
        s.contains("mock:bash please write hello.txt") && s.contains("mock:text again")
    });
    let (code, out, _) = support::ctl(
        h,
        &["task", "cc", "mock:text once more", "--wait", "--json"],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&id),
        "another conversation after the server's death: {out}"
    );
}

/// A PTY slot's usage: read from Claude Code's own transcript when a turn
/// ends (tokens and prompts; the transcript has no cost), in `ctl list`.
#[test]
fn a_claude_pty_slots_usage_comes_from_its_transcript() {
    let Scene {
        dir,
        _mock,
        project: _,
        t,
    } = scene(0, "", "", 50, 200);
    let h = dir.path();
    ask(&t, "say hello");
    t.wait_text("Hello from corral", LONG);
    wait_until("the usage read from the transcript", LONG, || {
        let v: serde_json::Value =
            serde_json::from_str(&support::ctl(h, &["list", "--json"]).1).unwrap_or_default();
        let u = &v["slots"][0]["usage"];
        u["usage"]["input_tokens"].as_u64().is_some_and(|n| n > 0)
            && u["usage"]["output_tokens"].as_u64().is_some_and(|n| n > 0)
            && u["turns"].as_u64().is_some_and(|n| n >= 1)
    });
}
