//! `corral ctl` end to end: a corral (client and server) in an outer PTY,
//! driven by `corral ctl` commands as a script would run them.

mod support;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use support::{
    Events, Tui, audit_lines, ctl, ctl_cmd, demo_slot, tempdir, wait_until, write_config,
};

const LONG: Duration = Duration::from_secs(30);

/// Starts `corral ctl ARGS` in the background, its output piped.
fn ctl_spawn(home: &Path, args: &[&str]) -> Child {
    ctl_cmd(home, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn corral ctl: {e}"))
}

/// Waits for `child` to end (up to `timeout`): status, stdout, stderr.
fn finish(mut child: Child, timeout: Duration) -> (i32, String, String) {
    wait_until("ctl to end", timeout, || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("ctl output: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn slots(home: &Path) -> Vec<serde_json::Value> {
    let (code, out, err) = ctl(home, &["list", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    v["slots"].as_array().cloned().unwrap_or_default()
}

fn slot(home: &Path, id: &str) -> serde_json::Value {
    slots(home)
        .into_iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no slot {id}"))
}

fn alive(pid: u64) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}

/// A shell slot and a scripted Claude-style agent that asks for permission.
fn scene(home: &Path) -> Tui {
    let cfg = write_config(
        home,
        &format!(
            "[[slot]]\nid = \"sh\"\ncommand = \"/bin/sh\"\n{}",
            demo_slot("web", "web", 300)
        ),
    );
    let t = Tui::corral(&["--config", &cfg], 40, 160, home);
    wait_until("both slots running", LONG, || {
        ctl(home, &["list", "--json"]).0 == 0
            && slots(home).iter().all(|s| s["pid"].as_u64().is_some())
    });
    t
}

#[test]
fn list_send_and_screen_drive_a_shell() {
    let home = tempdir();
    let h = home.path();
    let _t = scene(h);
    let list = slots(h);
    assert_eq!(
        list.iter()
            .map(|s| s["id"].as_str().unwrap_or(""))
            .collect::<Vec<_>>(),
        ["sh", "web"]
    );
    assert!(
        list.iter()
            .all(|s| s["state"].is_string() && s["generation"] == 1),
        "{list:?}"
    );
    let (code, text, _) = ctl(h, &["list"]);
    assert_eq!(code, 0);
    assert!(text.starts_with("SLOT"), "{text}");
    // Text typed with Enter runs in the shell; the screen shows it.
    let (code, _, err) = ctl(h, &["send", "sh", "--enter", "echo", "marker-$((6*7))"]);
    assert_eq!(code, 0, "{err}");
    wait_until("the marker on sh's screen", LONG, || {
        ctl(h, &["screen", "sh"])
            .1
            .lines()
            .any(|l| l == "marker-42")
    });
    // Keys by name: a line typed, then ctrl-c drops it.
    let (code, _, err) = ctl(h, &["send", "sh", "--keys", "e", "c", "h", "o", "ctrl-c"]);
    assert_eq!(code, 0, "{err}");
    // sh takes no bracketed paste: text may not carry a CR or newline that
    // would submit (and answer from typeahead what it opens).
    for text in ["true\ry", "true\ny", "a\x1b[Z"] {
        let (code, _, err) = ctl(h, &["send", "sh", text]);
        assert_eq!(code, 1, "{text:?}");
        assert!(err.contains("control characters"), "{err}");
    }
    // Colours with --ansi.
    ctl(
        h,
        &["send", "sh", "--enter", "printf '\\033[31mred\\033[0m\\n'"],
    );
    wait_until("red on sh's screen, with its SGR", LONG, || {
        ctl(h, &["screen", "sh", "--ansi"])
            .1
            .contains("\x1b[0;38;5;1mred\x1b[0m")
    });
    let (_, json, _) = ctl(h, &["screen", "sh", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["reply"], "screen");
    assert!(v["rows"].as_u64().is_some() && v["cols"].as_u64().is_some());
    // Runtime failures exit 1, usage errors 2.
    let (code, _, err) = ctl(h, &["screen", "nope"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no slot \"nope\"") && err.contains("sh, web"),
        "{err}"
    );
    assert_eq!(ctl(h, &["send", "sh"]).0, 2);
    assert_eq!(ctl(h, &["wait", "sh", "--state", "busy"]).0, 2);
    assert_eq!(ctl(h, &["send", "sh", "--keys", "hyper-x"]).0, 2);
    let (code, _, err) = ctl(h, &["-s", "other", "list"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no server running for session \"other\""),
        "{err}"
    );
    // Counters.
    let (code, stats, _) = ctl(h, &["stats", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stats).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        v["slots"][0]["bytes_read"].as_u64().unwrap_or(0) > 0,
        "{stats}"
    );
    let (code, explained, _) = ctl(h, &["explain", "web"]);
    assert_eq!(code, 0);
    assert!(!explained.trim().is_empty());
}

/// A wait is pinned to the session it began in: a restart ends it with an
/// error (exit 1), never a hang; a state the slot is in returns at once.
#[test]
fn wait_ends_with_an_error_when_the_slot_restarts() {
    let home = tempdir();
    let h = home.path();
    let _t = scene(h);
    wait_until("sh idle", LONG, || slot(h, "sh")["state"] == "idle");
    let (code, out, _) = ctl(h, &["wait", "sh", "--state", "idle", "--timeout", "5"]);
    assert_eq!(code, 0);
    assert!(out.contains("sh: idle (session 1)"), "{out}");
    let (code, _, err) = ctl(
        h,
        &["wait", "sh", "--state", "needs-input", "--timeout", "0.3"],
    );
    assert_eq!(code, 1);
    assert!(err.contains("timed out"), "{err}");
    let waiting = ctl_spawn(
        h,
        &[
            "wait",
            "sh",
            "--state",
            "needs-permission",
            "--timeout",
            "60",
        ],
    );
    // A restart the server runs before it has the wait is not seen by the
    // wait (it waits on the new session): restart until the wait ends. The
    // head start makes the first restart the one, mostly.
    let mut waiting = waiting;
    std::thread::sleep(Duration::from_millis(300));
    let pid = slot(h, "sh")["pid"].as_u64().unwrap_or(0);
    let mut restarts = 0u64;
    loop {
        assert_eq!(ctl(h, &["restart", "sh"]).0, 0);
        restarts += 1;
        if support::wait_until_or(Duration::from_secs(5), || {
            matches!(waiting.try_wait(), Ok(Some(_)))
        }) {
            break;
        }
        assert!(restarts < 5, "the wait outlived {restarts} restarts");
    }
    let (code, _, err) = finish(waiting, LONG);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("slot \"sh\""), "{err}");
    wait_until("sh in its next session", LONG, || {
        slot(h, "sh")["generation"] == 1 + restarts
    });
    wait_until("the old shell gone", LONG, || !alive(pid));
    // Issue 22.3: a restarted plain program reaches idle (it stayed
    // `starting`: the old session's last wake-up was dropped, holding off
    // the new one's), and `ctl restart` returns once the new session runs,
    // so the wait after it is on that session.
    assert_eq!(ctl(h, &["restart", "sh"]).0, 0);
    assert_eq!(slot(h, "sh")["generation"], 2 + restarts);
    let (code, out, err) = ctl(h, &["wait", "sh", "--state", "idle", "--timeout", "20"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("sh: idle (session {})", 2 + restarts)),
        "{out}"
    );
    // kill: the process goes and is not restarted.
    let pid = slot(h, "sh")["pid"].as_u64().unwrap_or(0);
    assert!(pid > 0 && alive(pid));
    assert_eq!(ctl(h, &["kill", "sh"]).0, 0);
    wait_until("sh's process gone", LONG, || !alive(pid));
    wait_until("sh exited", LONG, || {
        slot(h, "sh")["state"]
            .as_object()
            .is_some_and(|o| o.contains_key("exited"))
    });
    assert!(slot(h, "sh")["pid"].is_null());
    let (code, _, err) = ctl(h, &["send", "sh", "x"]);
    assert_eq!(code, 1);
    assert!(err.contains("runs no program"), "{err}");
}

/// `ctl answer` answers the open prompt as a key does and the audit names
/// ctl; text never answers a prompt; `ctl events` prints, in order, what
/// happens, an answer by key in another client included.
#[test]
fn answer_is_the_only_way_and_events_follow_it() {
    let home = tempdir();
    let h = home.path();
    let t = scene(h);
    let events = Events::start(h, &["--slot", "web"]);
    let (code, out, err) = ctl(
        h,
        &[
            "wait",
            "web",
            "--state",
            "needs-permission",
            "--timeout",
            "30",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let reached: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reached["prompt"]["tool"], "Edit", "{out}");
    assert_eq!(reached["prompt"]["subject"], "web/src/header.css");
    // Issue 22.6: ids are strings of 16 hex digits, which JSON tools that
    // read numbers as doubles (jq, JavaScript) keep whole.
    let first = reached["prompt"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("the id is not a string: {out}"))
        .to_string();
    assert!(
        first.len() == 16 && first.bytes().all(|b| b.is_ascii_hexdigit()),
        "{first}"
    );
    // As a double would carry it, it is another id: refused, never rounded
    // onto the open one.
    let rounded = (u64::from_str_radix(&first, 16).unwrap_or(0) as f64) as u64;
    if format!("{rounded:016x}") != first {
        let (code, _, err) = ctl(
            h,
            &[
                "answer",
                "web",
                "approve-once",
                "--prompt",
                &rounded.to_string(),
            ],
        );
        assert_eq!(code, 1, "{err}");
    }
    // Text, keys or Enter never land in the dialog.
    for args in [
        &["send", "web", "y"][..],
        &["send", "web", "--keys", "1"],
        &["send", "web", "--enter"],
        &["prompt", "web", "1", "--timeout", "5"],
    ] {
        let (code, _, err) = ctl(h, args);
        assert_eq!(code, 1, "{args:?}");
        assert!(err.contains("a prompt is open in slot web"), "{err}");
    }
    assert_eq!(
        slot(h, "web")["prompt"]["id"].as_str(),
        Some(first.as_str())
    );
    // Another prompt's id is refused.
    let (code, _, err) = ctl(
        h,
        &[
            "answer",
            "web",
            "approve-once",
            "--prompt",
            "0000000000000001",
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("is not open"), "{err}");
    let (code, out, err) = ctl(h, &["answer", "web", "approve-once", "--prompt", &first]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("answered prompt"), "{out}");
    // The next prompt (Bash) is answered by key in the outer client.
    wait_until("web's Bash prompt", LONG, || {
        slot(h, "web")["prompt"]["tool"] == "Bash"
    });
    t.wait_text("▶ web Bash", LONG);
    t.send(b"n");
    wait_until("the deny in the audit", LONG, || {
        audit_lines(h).iter().any(|l| l["answer"] == "deny")
    });
    let lines = audit_lines(h);
    let ctl_line = lines
        .iter()
        .find(|l| l["answer"] == "approve-once")
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert_eq!(ctl_line["by"]["source"], "ctl", "{ctl_line}");
    assert_eq!(ctl_line["subject"], "web/src/header.css");
    assert_eq!(ctl_line["result"], "sent");
    // Once the view has the Bash prompt closed, its event went out too.
    wait_until("the Bash prompt closed", LONG, || {
        slot(h, "web")["prompt"]["tool"] != "Bash"
    });
    // The event stream so far, in order, once its follower has written
    // the Bash prompt's close too (it may trail the view a moment).
    wait_until("the close in the event stream", LONG, || {
        let evs = events.events();
        let deny = evs.iter().position(|e| e["answer"] == "deny");
        deny.is_some_and(|d| evs[d..].iter().any(|e| e["event"] == "prompt-closed"))
    });
    let evs = events.events();
    assert!(evs.iter().all(|e| e["slot_id"] == "web"));
    let seqs: Vec<u64> = evs.iter().filter_map(|e| e["seq"].as_u64()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let kinds: Vec<String> = evs
        .iter()
        .filter_map(|e| {
            let k = e["event"].as_str()?;
            match k {
                "prompt-opened" => Some(format!("opened {}", e["prompt"]["tool"].as_str()?)),
                "answer-sent" => Some(format!(
                    "{} by {}",
                    e["answer"].as_str()?,
                    e["by"]["source"].as_str()?
                )),
                "prompt-closed" => Some("closed".into()),
                "state-changed" if e["state"] == "needs-permission" => Some("asks".into()),
                _ => None,
            }
        })
        .collect();
    let want = [
        "asks",
        "opened Edit",
        "approve-once by ctl",
        "closed",
        "asks",
        "opened Bash",
        "deny by keyboard",
        "closed",
    ];
    // The stream may have begun after the first prompt opened.
    let start = kinds
        .iter()
        .position(|k| k == "approve-once by ctl")
        .unwrap_or_else(|| panic!("{kinds:?}"));
    let got: Vec<&str> = kinds
        .iter()
        .skip(start)
        .take(6)
        .map(String::as_str)
        .collect();
    assert_eq!(got, want[2..], "{kinds:?}");
}

/// `ctl interrupt` sends the agent's interrupt key: ctrl-c for a shell.
#[test]
fn interrupt_stops_the_running_command() {
    let home = tempdir();
    let h = home.path();
    let _t = scene(h);
    ctl(h, &["send", "sh", "--enter", "sleep 600; echo after-sleep"]);
    wait_until("sleep running", LONG, || {
        ctl(h, &["screen", "sh"]).1.contains("sleep 600")
    });
    assert_eq!(ctl(h, &["interrupt", "sh"]).0, 0);
    wait_until("the sleep interrupted", LONG, || {
        ctl(h, &["screen", "sh"]).1.contains("^C")
    });
    // The list was cut short: its echo never ran.
    let s = ctl(h, &["screen", "sh"]).1;
    assert!(!s.lines().any(|l| l.trim() == "after-sleep"), "{s}");
}

/// `ctl new` adds a slot that every attached client shows, and a client
/// that attaches later; `ctl kill` ends its process.
#[test]
fn new_adds_a_slot_every_client_shows() {
    let home = tempdir();
    let h = home.path();
    let a = scene(h);
    let cfg = h.join("test-config.toml");
    let cfg_s = cfg.to_string_lossy().into_owned();
    let b = Tui::corral(&["--config", &cfg_s], 30, 100, h);
    b.wait_text("web", LONG);
    let events = Events::start(h, &[]);
    let seen = |what: &str| events.events().iter().any(|e| e.to_string().contains(what));
    let (code, _, err) = ctl(
        h,
        &[
            "new",
            "--id",
            "extra",
            "--role",
            "helper",
            "--cwd",
            ".",
            "--",
            "/bin/sh",
            "-c",
            "echo added-$((6*7)); exec sleep 600",
        ],
    );
    assert_eq!(code, 0, "{err}");
    // A wait on the slot just added waits for its first session.
    let (code, _, err) = ctl(
        h,
        &["wait", "extra", "--state", "any-stop", "--timeout", "30"],
    );
    assert_eq!(code, 0, "{err}");
    for t in [&a, &b] {
        t.wait_text("extra", LONG);
    }
    wait_until("the new slot's output", LONG, || {
        ctl(h, &["screen", "extra"]).1.contains("added-42")
    });
    let s = slot(h, "extra");
    assert_eq!(s["role"], "helper");
    assert_eq!(s["generation"], 1);
    let pid = s["pid"].as_u64().unwrap_or(0);
    assert!(pid > 0 && alive(pid));
    // A client attaching now has it from the start.
    let c = Tui::corral(&["--config", &cfg_s], 50, 200, h);
    c.wait_text("extra", LONG);
    // Ids are unique; an unknown agent and a missing command are refused.
    assert_eq!(ctl(h, &["new", "--id", "extra", "--", "/bin/true"]).0, 1);
    assert_eq!(
        ctl(
            h,
            &["new", "--id", "x", "--agent", "nope", "--", "/bin/true"]
        )
        .0,
        1
    );
    assert_eq!(ctl(h, &["new", "--id", "x"]).0, 2);
    assert_eq!(ctl(h, &["kill", "extra"]).0, 0);
    wait_until("the new slot's process gone", LONG, || !alive(pid));
    wait_until("slot-added in the event stream", LONG, || {
        seen("\"event\":\"slot-added\"")
    });
    wait_until("the new slot's events named by its id", LONG, || {
        seen("\"slot_id\":\"extra\"")
    });
}

/// A server killed with SIGKILL and started again brings its slots back:
/// the configured ones in their next session, the one added with `ctl
/// new` too; the sidebar says so.
#[test]
fn a_server_started_again_brings_its_slots_back() {
    let home = tempdir();
    let h = home.path();
    let t = scene(h);
    let (code, _, err) = ctl(h, &["new", "--id", "extra", "--", "/bin/sh"]);
    assert_eq!(code, 0, "{err}");
    wait_until("extra running", LONG, || {
        slot(h, "extra")["pid"].as_u64().is_some()
    });
    // Rules paused by the person stay paused.
    t.wait_mode("NORMAL", LONG);
    t.send(b"P");
    t.wait_text("AUTO PAUSED", LONG);
    wait_until("the pause in the state file", LONG, || {
        std::fs::read_to_string(h.join("data/state/default.json"))
            .is_ok_and(|s| s.contains("\"auto_answers\": false"))
    });
    let pid = support::server_pid(h);
    // SAFETY: a signal to the test's own server process.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let mut t = t;
    t.wait_exit(LONG);
    let cfg = h.join("test-config.toml").to_string_lossy().into_owned();
    let t2 = Tui::corral(&["--config", &cfg], 40, 160, h);
    wait_until("the slots back", LONG, || {
        ctl(h, &["list", "--json"]).0 == 0
            && slots(h)
                .iter()
                .filter(|s| s["pid"].as_u64().is_some())
                .count()
                == 3
    });
    let ids: Vec<String> = slots(h)
        .iter()
        .map(|s| s["id"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(ids, ["sh", "web", "extra"]);
    assert!(
        slots(h).iter().all(|s| s["generation"] == 2),
        "{:?}",
        slots(h)
    );
    t2.wait_text("AUTO PAUSED", LONG);
    // The decisions panel in the sidebar says so.
    t2.wait_text("NORMAL", LONG);
    t2.send(b"D");
    t2.wait_text("fresh start (server restart)", LONG);
}

/// A state file that is not one is moved aside with a message; the slots
/// start fresh.
#[test]
fn a_corrupt_state_file_is_moved_aside() {
    let home = tempdir();
    let h = home.path();
    let state = h.join("data/state/default.json");
    std::fs::create_dir_all(state.parent().unwrap_or(h)).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&state, "{ this is not json").unwrap_or_else(|e| panic!("{e}"));
    let t = scene(h);
    assert!(slots(h).iter().all(|s| s["generation"] == 1));
    t.wait_text("NORMAL", LONG);
    t.send(b"D");
    t.wait_text("state file could not be read", LONG);
    let moved: Vec<_> = std::fs::read_dir(state.parent().unwrap_or(h))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        moved.iter().any(|n| n.starts_with("default.json.bad-")),
        "{moved:?}"
    );
    // And a good one is written in its place.
    wait_until("a new state file", LONG, || {
        std::fs::read_to_string(&state).is_ok_and(|s| s.contains("\"sh\""))
    });
}
