//! End to end: the built corral binary in an outer PTY, driven by keys, its
//! screen read back through a terminal parser.

mod support;

use std::path::Path;
use std::time::Duration;

use support::{Tui, audit_lines, demo_slot, run_plain, tempdir, wait_until, write_config};

const LONG: Duration = Duration::from_secs(30);

/// The README's run command on a fresh machine: no config, so the embedded
/// demo runs; a prompt reaches the inbox within 10 s; `y` answers it and that
/// agent carries on.
#[test]
fn demo_runs_with_no_config_and_y_answers_a_prompt_at_200x50() {
    let home = tempdir();
    let t = Tui::corral(&[], 50, 200, home.path());
    t.wait_text("SLOTS", LONG);
    let screen = t.wait_for("a prompt in the inbox", Duration::from_secs(10), |s| {
        s.contains("▶ ")
    });
    for id in ["api", "web", "docs", "shell"] {
        assert!(screen.contains(id), "slot {id} missing:\n{screen}");
    }
    assert!(
        screen.contains("demo: your own agents go in config.toml"),
        "the demo says how to write a config:\n{screen}"
    );
    let line = screen
        .lines()
        .find(|l| l.contains("▶ "))
        .unwrap_or_default()
        .to_string();
    let slot = ["api", "web", "docs"]
        .into_iter()
        .find(|s| line.contains(s))
        .unwrap_or("?");
    t.send(b"y");
    wait_until("an audit line", LONG, || {
        !audit_lines(home.path()).is_empty()
    });
    let a = &audit_lines(home.path())[0];
    assert_eq!(a["slot"], slot, "{a}");
    assert_eq!(a["answer"], "approve-once");
    assert_eq!(a["result"], "sent");
    assert_eq!(a["by"]["detail"], "y");
    // The agent ran the tool and carries on.
    t.wait_for("the approved tool to run", LONG, |s| {
        s.contains("● Bash(") || s.contains("● Update(") || s.contains("● Write(")
    });
}

#[test]
fn demo_renders_at_80x24() {
    let home = tempdir();
    let t = Tui::corral(&[], 24, 80, home.path());
    let s = t.wait_for("sidebar, panes and status line", LONG, |s| {
        s.contains("SLOTS") && s.contains("NORMAL") && s.contains("api") && s.contains("shell")
    });
    assert_eq!(s.lines().count(), 24);
}

#[test]
fn malformed_config_exits_2_naming_file_line_and_column() {
    let home = tempdir();
    let cfg = write_config(
        home.path(),
        "[[slot]]\nid = \"a\"\ncommand = \"sh\"\nrestart = \"sometimes\"\n",
    );
    let (code, _, err) = run_plain(
        &["--config", &cfg, "--data-dir", "/nonexistent/never"],
        home.path(),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("{cfg}:4:11:")), "{err}");
    assert!(err.contains("sometimes"), "{err}");

    let cfg = write_config(home.path(), "[[slot]\nid = 1\n");
    let (code, _, err) = run_plain(&["--config", &cfg], home.path());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("{cfg}:1:")), "{err}");
}

#[test]
fn bad_keymap_exits_2_with_position() {
    let home = tempdir();
    let cfg = write_config(home.path(), "[[slot]]\nid = \"a\"\ncommand = \"sh\"\n");
    let km = home.path().join("km.toml");
    std::fs::write(&km, "[[normal]]\non = \"x\"\nrun = \"explode\"\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let km = km.to_string_lossy().into_owned();
    let (code, _, err) = run_plain(&["--config", &cfg, "--keymap", &km], home.path());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("{km}:3:7: unknown action")), "{err}");
}

#[test]
fn unknown_attach_slot_exits_2_listing_the_slots() {
    let home = tempdir();
    let cfg = write_config(
        home.path(),
        "[[slot]]\nid = \"alpha\"\ncommand = \"sh\"\n[[slot]]\nid = \"beta\"\ncommand = \"sh\"\n",
    );
    let (code, _, err) = run_plain(&["--config", &cfg, "--attach", "gamma"], home.path());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("\"gamma\""), "{err}");
    assert!(err.contains("alpha, beta"), "{err}");
}

fn cooked_with_echo(t: &Tui) -> bool {
    use nix::sys::termios::LocalFlags;
    t.termios().is_some_and(|tio| {
        tio.local_flags
            .contains(LocalFlags::ICANON | LocalFlags::ECHO)
    })
}

fn signal_restores_terminal(sig: nix::sys::signal::Signal) {
    let home = tempdir();
    let mut t = Tui::corral(&[], 24, 80, home.path());
    t.wait_text("SLOTS", LONG);
    assert!(!cooked_with_echo(&t), "corral runs in raw mode");
    let pid = nix::unistd::Pid::from_raw(t.pid() as i32);
    nix::sys::signal::kill(pid, sig).unwrap_or_else(|e| panic!("kill: {e}"));
    t.wait_exit(LONG);
    assert!(cooked_with_echo(&t), "terminal not restored after {sig}");
    // The reader may still be draining the last bytes the program wrote
    // before it exited (seen once on a loaded machine).
    let restored = |raw: &str| {
        let tail = &raw[raw.rfind("\x1b[?1049h").unwrap_or(0)..];
        tail.contains("\x1b[?1049l") && tail.contains("\x1b[?25h")
    };
    let _ = support::wait_until_or(LONG, || restored(&String::from_utf8_lossy(&t.raw())));
    let raw = String::from_utf8_lossy(&t.raw()).into_owned();
    let tail = &raw[raw.rfind("\x1b[?1049h").unwrap_or(0)..];
    assert!(
        tail.contains("\x1b[?1049l"),
        "alternate screen left after {sig}"
    );
    assert!(tail.contains("\x1b[?25h"), "cursor shown after {sig}");
}

#[test]
fn sigterm_restores_the_terminal() {
    signal_restores_terminal(nix::sys::signal::Signal::SIGTERM);
}

#[test]
fn sighup_restores_the_terminal() {
    signal_restores_terminal(nix::sys::signal::Signal::SIGHUP);
}

#[test]
fn insert_mode_types_into_the_focused_pane_and_ctrl_backslash_leaves() {
    let home = tempdir();
    let cfg = write_config(
        home.path(),
        "[ui]\nmin_pane = { cols = 30, rows = 8 }\n[[slot]]\nid = \"one\"\ncommand = \"/bin/sh\"\n[[slot]]\nid = \"two\"\ncommand = \"/bin/sh\"\n",
    );
    let t = Tui::corral(&["--config", &cfg], 30, 120, home.path());
    t.wait_text("NORMAL", LONG);
    // Focus the second pane with the keyboard, then type into it.
    t.send(b"l");
    t.send(b"\r");
    t.wait_text("INSERT", LONG);
    t.type_text("echo typed-$((6*7))\r");
    let s = t.wait_text("typed-42", LONG);
    let row = s
        .lines()
        .find(|l| l.contains("typed-42") && !l.contains("echo"))
        .unwrap_or_default();
    let col = row.find("typed-42").unwrap_or(0);
    let mid = row.len() / 2;
    assert!(col > mid, "output should be in the right pane:\n{s}");
    // ctrl-\ leaves insert mode; the next keys are commands again.
    t.send(b"\x1c");
    t.wait_mode("NORMAL", LONG);
    t.send(b"?");
    t.wait_text("any key closes this help", LONG);
    t.send(b"x");
    t.wait_for("help closed", LONG, |s| {
        !s.contains("any key closes this help")
    });
}

/// Resizing the terminal redraws corral at the new size and resizes the
/// pane's PTY: the shell in it sees the new size.
#[test]
fn terminal_resize_reaches_the_layout_and_the_pane() {
    let home = tempdir();
    let cfg = write_config(
        home.path(),
        "[[slot]]\nid = \"one\"\ncommand = \"/bin/sh\"\n",
    );
    let t = Tui::corral(&["--config", &cfg], 24, 80, home.path());
    t.wait_text("NORMAL", LONG);
    t.send(b"\r");
    t.wait_text("INSERT", LONG);
    t.type_text("stty size\r");
    let small = t.wait_for("the pane's size", LONG, |s| pane_size(s).is_some());
    let (rows0, cols0) = pane_size(&small).unwrap_or_default();
    assert!(rows0 < 24 && cols0 < 80, "pane {rows0}x{cols0}:\n{small}");
    // Nothing else is about to wake corral (the generic profile turns the
    // slot idle 1.5 s after its last output): the resize alone must.
    t.wait_quiet(Duration::from_secs(2), LONG);
    t.resize(50, 200);
    // The status line moves to the new last row.
    t.wait_for("the frame at 50x200", LONG, |s| {
        s.lines().nth(49).is_some_and(|l| l.contains("INSERT"))
    });
    // Typed at once: the new size goes through the server, and keys after
    // it wait for it (they would else go straight into the PTY first).
    t.type_text("clear; stty size\r");
    let big = t.wait_for("the pane's new size", LONG, |s| {
        pane_size(s).is_some_and(|(r, c)| r > rows0 && c > cols0)
    });
    let (rows1, cols1) = pane_size(&big).unwrap_or_default();
    assert!(rows1 < 50 && cols1 < 200, "pane {rows1}x{cols1}:\n{big}");
}

/// The last `ROWS COLS` that `stty size` printed on the screen: a cell run
/// between pane borders that holds just two numbers.
fn pane_size(screen: &str) -> Option<(u16, u16)> {
    screen.lines().rev().find_map(|l| {
        l.split(['┃', '│']).find_map(|cell| {
            let nums: Vec<u16> = cell
                .split_whitespace()
                .map(|w| w.parse().ok())
                .collect::<Option<_>>()?;
            match nums[..] {
                [r, c] => Some((r, c)),
                _ => None,
            }
        })
    })
}

#[test]
fn mouse_click_focuses_a_pane() {
    let home = tempdir();
    let cfg = write_config(
        home.path(),
        "[ui]\nsidebar_width = 30\nmin_pane = { cols = 30, rows = 8 }\n[[slot]]\nid = \"left\"\ncommand = \"/bin/sh\"\n[[slot]]\nid = \"right\"\ncommand = \"/bin/sh\"\n",
    );
    let t = Tui::corral(&["--config", &cfg], 30, 120, home.path());
    t.wait_text("NORMAL", LONG);
    // SGR mouse: left press and release at column 100, row 10 (1-based).
    t.send(b"\x1b[<0;100;10M\x1b[<0;100;10m");
    t.send(b"i");
    t.wait_text("INSERT", LONG);
    t.type_text("echo clicked-$((1+1))\r");
    let s = t.wait_text("clicked-2", LONG);
    let row = s
        .lines()
        .find(|l| l.contains("clicked-2") && !l.contains("echo"))
        .unwrap_or_default();
    assert!(row.find("clicked-2").unwrap_or(0) > 75, "{s}");
}

#[test]
fn scrollback_view_with_page_up_and_back_with_g() {
    let home = tempdir();
    let cfg = write_config(
        home.path(),
        "[[slot]]\nid = \"sh\"\ncommand = \"/bin/sh\"\n",
    );
    let t = Tui::corral(&["--config", &cfg], 24, 80, home.path());
    t.wait_text("NORMAL", LONG);
    t.send(b"\r");
    t.type_text("i=0; while [ $i -lt 300 ]; do i=$((i+1)); echo line-$i; done\r");
    t.wait_text("line-300", LONG);
    t.send(b"\x1c");
    t.send(b"\x1b[5~");
    let s = t.wait_text("rows · G live", LONG);
    assert!(!s.contains("line-300"), "scrolled back:\n{s}");
    t.send(b"G");
    t.wait_for("live screen", LONG, |s| {
        s.contains("line-300") && !s.contains("G live")
    });
    // In insert mode the wheel scrolls a shell's pane back (the shell asked
    // for no mouse reports); typing then returns it to the live screen, where
    // the echo shows, as xterm does on a key press.
    t.send(b"i");
    t.wait_text("INSERT", LONG);
    for _ in 0..4 {
        t.send(b"\x1b[<64;50;10M");
    }
    t.wait_text("rows · G live", LONG);
    t.type_text("echo typed-now\r");
    t.wait_for("live screen with the echo", LONG, |s| {
        s.contains("typed-now") && !s.contains("G live")
    });
}

#[test]
fn quit_asks_while_agents_run() {
    let home = tempdir();
    let cfg = write_config(
        home.path(),
        "[[slot]]\nid = \"sh\"\ncommand = \"/bin/sh\"\n",
    );
    let mut t = Tui::corral(&["--config", &cfg], 24, 80, home.path());
    t.wait_text("NORMAL", LONG);
    t.send(b"q");
    t.wait_text("Quit corral? y / n", LONG);
    t.send(b"n");
    t.wait_for("dialog closed", LONG, |s| !s.contains("Quit corral?"));
    t.send(b"q");
    t.wait_text("Quit corral? y / n", LONG);
    t.send(b"y");
    assert_eq!(t.wait_exit(LONG), 0);
    assert!(cooked_with_echo(&t));
}

#[test]
fn crashing_agent_is_shown_exited_and_restarted() {
    let home = tempdir();
    let cfg = write_config(
        home.path(),
        "[[slot]]\nid = \"crashy\"\ncommand = \"/bin/sh\"\nargs = [\"-c\", \"echo started; sleep 0.3; exit 3\"]\nrestart = \"on-failure\"\n[[slot]]\nid = \"once\"\ncommand = \"/bin/sh\"\nargs = [\"-c\", \"exit 5\"]\n",
    );
    let t = Tui::corral(&["--config", &cfg], 30, 120, home.path());
    t.wait_text("crashy exited (3); restarting in", LONG);
    t.wait_text("exited (5)", LONG);
    // corral itself keeps running and the crashing slot comes back.
    wait_until("a second session of crashy", LONG, || {
        std::fs::read_to_string(home.path().join("data/transcripts/default/crashy.raw"))
            .is_ok_and(|s| s.matches("started").count() >= 2)
    });
    t.wait_text("NORMAL", LONG);
}

#[test]
fn attach_shows_one_slot_and_answers_after_ctrl_backslash() {
    let home = tempdir();
    let cfg = write_config(
        home.path(),
        &format!(
            "{}{}",
            demo_slot("api", "api", 300),
            "[[slot]]\nid = \"other\"\ncommand = \"/bin/sh\"\n"
        ),
    );
    let t = Tui::corral(&["--config", &cfg, "--attach", "api"], 30, 100, home.path());
    let s = t.wait_for("the attached slot blocked on a prompt", LONG, |s| {
        s.lines().last().is_some_and(|l| {
            l.contains("needs-permission") && (l.contains("approve") || l.contains("y/a/n"))
        })
    });
    assert!(!s.contains("SLOTS"), "no sidebar in attach view:\n{s}");
    assert!(!s.contains("other"), "only the attached slot:\n{s}");
    assert!(
        s.lines()
            .last()
            .is_some_and(|l| l.contains("INSERT") && l.contains("Bash")),
        "{s}"
    );
    // In insert mode `y` goes to the agent; leave insert mode first.
    t.send(b"\x1c");
    t.wait_mode("NORMAL", LONG);
    t.send(b"y");
    wait_until("an audit line", LONG, || {
        !audit_lines(home.path()).is_empty()
    });
    assert_eq!(audit_lines(home.path())[0]["result"], "sent");
    t.wait_text("● Bash(echo hello > hello.txt)", LONG);
}

/// In insert mode a paste reaches the program (bracketed only if it asked)
/// and mouse events inside the pane are reported in pane cells when the
/// program turned mouse reporting on.
#[test]
fn paste_and_mouse_reach_the_program_in_insert_mode() {
    let home = tempdir();
    let out = home.path().join("input.bin");
    let cfg = write_config(
        home.path(),
        &format!(
            "[ui]\nsidebar_width = 36\n[[slot]]\nid = \"rec\"\ncommand = \"/bin/sh\"\nargs = [\"-c\", \"printf '\\\\033[?1000h\\\\033[?1006hready'; stty raw -echo; dd bs=1 count=20 of='{}' 2>/dev/null; printf ' got-all'; sleep 30\"]\n",
            out.display()
        ),
    );
    let t = Tui::corral(&["--config", &cfg], 30, 120, home.path());
    t.wait_text("ready", LONG);
    t.send(b"i");
    t.wait_text("INSERT", LONG);
    t.send(b"\x1b[200~ab\x1b[201~");
    // The pane's first inner cell is at column 37, row 1 (0-based).
    wait_until("the paste at the program", LONG, || {
        std::fs::read(&out).is_ok_and(|b| b.len() >= 2)
    });
    t.send(b"\x1b[<0;38;2M\x1b[<0;38;2m");
    t.wait_text("got-all", LONG);
    assert_eq!(
        std::fs::read(&out).unwrap_or_default(),
        b"ab\x1b[<0;1;1M\x1b[<0;1;1m".to_vec()
    );
}

/// A user profile for a made-up agent, added without rebuilding: a shell
/// script that prints `Proceed? [y/N]`. Its prompt reaches the inbox and `y`
/// answers it (the letter and Enter, as the profile says).
#[test]
fn user_profile_for_a_made_up_agent_is_answered_from_the_inbox() {
    let home = tempdir();
    let profiles = home.path().join("config/profiles");
    std::fs::create_dir_all(&profiles).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        profiles.join("yesno.toml"),
        r#"name = "yesno"
source = "a shell script that asks Proceed? [y/N]"

[[rule]]
name = "done"
state = "idle"
region = "last-line"
regex = "^(approved|denied)$"

[prompt]
style = "inline"
region = "last-line"
line = '^(?P<question>Proceed\?) (?P<choices>\[y/N\])$'
choice = '(?P<key>[yYnN])'
suffix = ["enter"]

[[prompt.tools]]
match = "."
tool = "Shell"
subject = { above_question = 1 }

[[prompt.kinds]]
label = "^[yY]$"
kind = "approve-once"
[[prompt.kinds]]
label = "^[nN]$"
kind = "deny"
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = home.path().join("answer.txt");
    let cfg = write_config(
        home.path(),
        &format!(
            "[[slot]]\nid = \"ask\"\nagent = \"yesno\"\ncommand = \"/bin/sh\"\nargs = [\"-c\", \"echo 'rm -rf build'; printf 'Proceed? [y/N] '; read a; if [ \\\"$a\\\" = y ]; then echo approved | tee '{0}'; else echo denied | tee '{0}'; fi; sleep 30\"]\n",
            out.display()
        ),
    );
    let t = Tui::corral(&["--config", &cfg], 30, 120, home.path());
    let s = t.wait_text("▶ ask Shell rm -rf build", LONG);
    assert!(s.contains("PERMISSION"), "{s}");
    // The in-app explain view shows the matched rule and the prompt.
    t.send(b"e");
    let s = t.wait_text("explain · ask", LONG);
    assert!(s.contains("rule:     permission-prompt"), "{s}");
    assert!(s.contains("approve-once: y enter"), "{s}");
    t.send(b"x");
    t.wait_for("explain closed", LONG, |s| !s.contains("explain · ask"));
    t.send(b"y");
    wait_until("the answer", LONG, || {
        std::fs::read_to_string(&out).is_ok_and(|s| s.trim() == "approved")
    });
    t.wait_for("idle", LONG, |s| s.contains("INBOX (0)"));
}

#[test]
fn unknown_agent_in_config_exits_2() {
    let home = tempdir();
    let cfg = write_config(
        home.path(),
        "[[slot]]\nid = \"a\"\nagent = \"clod\"\ncommand = \"sh\"\n",
    );
    let (code, _, err) = run_plain(
        &[
            "--config",
            &cfg,
            "--config-dir",
            &home.path().join("c").to_string_lossy(),
        ],
        home.path(),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("{cfg}:3:9: unknown agent \"clod\"")),
        "{err}"
    );
    assert!(err.contains("claude, codex, gemini, generic"), "{err}");
}

/// Policy end to end with the demo agents: an allow rule for `echo *`
/// approves the Bash prompt automatically (no key pressed), a deny rule
/// denies an edit automatically and the agent shows the rejection, the
/// attention sequences (bell, OSC 9, OSC 777) reach the outer terminal for
/// an unfocused pane, a manual answer follows, and `corral audit --json`
/// lists every decision.
#[test]
fn policy_answers_automatically_and_audit_lists_every_decision() {
    let home = tempdir();
    let cfg = write_config(
        home.path(),
        &format!(
            "[[slot]]\nid = \"shell\"\ncommand = \"/bin/sh\"\n{}{}\n\
             [[policy]]\nname = \"echo-ok\"\ndecision = \"allow\"\ntool = \"Bash\"\nsubject = \"echo *\"\n\n\
             [[policy]]\nname = \"no-web-edits\"\ndecision = \"deny\"\ntool = \"Edit\"\nsubject = \"web/*\"\n",
            demo_slot("api", "api", 300),
            demo_slot("web", "web", 300),
        ),
    );
    let t = Tui::corral(&["--config", &cfg], 50, 200, home.path());
    // api's first prompt: Bash `echo hello > hello.txt`, approved by rule.
    t.wait_text("● Bash(echo hello > hello.txt)", LONG);
    // web's first prompt: Edit web/src/header.css, denied by rule.
    t.wait_text("Rejected update to web/src/header.css", LONG);
    let raw = String::from_utf8_lossy(&t.raw()).into_owned();
    assert!(
        raw.contains("\x1b]9;corral: api needs permission: Bash echo hello > hello.txt\x07"),
        "no OSC 9"
    );
    assert!(raw.contains("\x1b]777;notify;corral;"), "no OSC 777");
    // api's next prompt (an Edit) has no rule: it waits for the user.
    t.wait_text("▶ api Edit src/router.rs", LONG);
    t.send(b"n");
    t.wait_text("Rejected update to src/router.rs", LONG);
    let audit = || {
        run_plain(
            &[
                "audit",
                "--json",
                "--data-dir",
                &home.path().join("data").to_string_lossy(),
            ],
            home.path(),
        )
    };
    // The record of an answer follows its keys: the agent may draw first.
    wait_until("the manual deny in the audit", LONG, || {
        audit()
            .1
            .lines()
            .any(|l| l.contains("\"keyboard\"") && l.contains("\"Edit\"") && l.contains("\"sent\""))
    });
    let (code, out, err) = audit();
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let find = |slot: &str, tool: &str| {
        lines
            .iter()
            .find(|l| l["slot"] == slot && l["tool"] == tool && l["result"] == "sent")
            .cloned()
            .unwrap_or_else(|| panic!("no audit line for {slot} {tool}:\n{out}"))
    };
    let auto_yes = find("api", "Bash");
    assert_eq!(auto_yes["answer"], "approve-once");
    assert_eq!(auto_yes["by"]["source"], "policy");
    assert_eq!(auto_yes["by"]["detail"], "echo-ok");
    assert_eq!(auto_yes["subject"], "echo hello > hello.txt");
    let auto_no = find("web", "Edit");
    assert_eq!(auto_no["answer"], "deny");
    assert_eq!(auto_no["by"]["detail"], "no-web-edits");
    let manual = find("api", "Edit");
    assert_eq!(manual["answer"], "deny");
    assert_eq!(manual["by"]["source"], "keyboard");
    // The table form and the filters.
    let (code, table, _) = run_plain(
        &[
            "audit",
            "--slot",
            "web",
            "--since",
            "1h",
            "--data-dir",
            &home.path().join("data").to_string_lossy(),
        ],
        home.path(),
    );
    assert_eq!(code, 0);
    assert!(table.contains("rule no-web-edits"), "{table}");
    assert!(!table.contains("echo hello"), "{table}");
}

/// The pause key stops automatic answers (shown in the status line); the
/// prompt then waits in the inbox, and the details view answers it by number.
#[test]
fn paused_policy_leaves_prompts_to_the_user_and_details_answers_by_number() {
    let home = tempdir();
    let cfg = write_config(
        home.path(),
        &format!(
            "{}\n[[policy]]\nname = \"echo-ok\"\ndecision = \"allow\"\ntool = \"Bash\"\nsubject = \"echo *\"\n",
            demo_slot("api", "api", 2000)
        ),
    );
    let t = Tui::corral(&["--config", &cfg], 40, 160, home.path());
    t.wait_text("NORMAL", LONG);
    t.send(b"P");
    t.wait_text("AUTO PAUSED", LONG);
    t.wait_text("▶ api Bash echo hello > hello.txt", LONG);
    t.send(b"D");
    t.wait_text("api: left to you: paused", LONG);
    t.send(b"v");
    let s = t.wait_text("a number chooses that option", LONG);
    assert!(s.contains("Do you want to proceed?"), "{s}");
    assert!(s.contains("approve-once"), "{s}");
    t.send(b"1");
    t.wait_text("● Bash(echo hello > hello.txt)", LONG);
    // The record of an answer follows its keys: the agent may draw first.
    let audit =
        || std::fs::read_to_string(home.path().join("data/audit.jsonl")).unwrap_or_default();
    wait_until("the answer in the audit", LONG, || {
        audit().contains("\"answer\":\"select 1\"")
    });
    assert!(audit().contains("\"source\":\"keyboard\""), "{}", audit());
}

/// Closing the terminal's window (its PTY hangs up) ends corral: it never
/// keeps reading a terminal that is gone. Repeated, since corral may notice
/// the signal or the end of input first.
#[test]
fn a_closed_terminal_ends_the_client_and_the_server_keeps_the_agent() {
    use portable_pty::{CommandBuilder, PtySize, native_pty_system};
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    for round in 0..6 {
        let home = tempdir();
        let cfg = write_config(
            home.path(),
            "[[slot]]\nid = \"one\"\ncommand = \"/bin/sh\"\n",
        );
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: 24,
                cols: 80,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap_or_else(|e| panic!("openpty: {e}"));
        let h = home.path().to_string_lossy().into_owned();
        let mut cmd = CommandBuilder::new(support::corral_bin());
        cmd.args([
            "--config",
            &cfg,
            "--config-dir",
            &format!("{h}/config"),
            "--data-dir",
            &format!("{h}/data"),
            "--runtime-dir",
            &format!("{h}/run"),
        ]);
        cmd.env("HOME", &h);
        cmd.env("TERM", "xterm-256color");
        cmd.cwd(home.path());
        let mut child = pair
            .slave
            .spawn_command(cmd)
            .unwrap_or_else(|e| panic!("spawn: {e}"));
        drop(pair.slave);
        // Read what corral draws until it is up, on a descriptor of our own
        // that is closed with the master afterwards.
        let fd = pair
            .master
            .as_raw_fd()
            .unwrap_or_else(|| panic!("the PTY has no descriptor"));
        // SAFETY: dup of an open descriptor; the copy is ours alone.
        let mut out = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(libc::dup(fd)) });
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&seen).contains("NORMAL") {
            match out.read(&mut buf) {
                Ok(0) | Err(_) => panic!("round {round}: corral ended before it drew"),
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
        drop(out);
        drop(pair.master);
        let deadline = std::time::Instant::now() + LONG;
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            if std::time::Instant::now() > deadline {
                let pid = child.process_id().unwrap_or(0);
                let mut diag = String::new();
                if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
                    for t in tasks.flatten() {
                        let p = t.path();
                        let rd = |f: &str| std::fs::read_to_string(p.join(f)).unwrap_or_default();
                        diag.push_str(&format!(
                            "{} {} {} | {}\n",
                            t.file_name().to_string_lossy(),
                            rd("comm").trim(),
                            rd("wchan"),
                            rd("stat")
                        ));
                    }
                }
                let _ = child.kill();
                panic!("round {round}: corral still runs after its terminal closed\n{diag}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // The client is gone; its server, with the agent, goes on until
        // it is stopped.
        let rt = format!("{h}/run");
        let (code, out, err) = support::run_plain(&["--runtime-dir", &rt, "ls"], home.path());
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains("default: 1 slot") && out.contains("one"),
            "{out}"
        );
        support::kill_servers(&home.path().join("run"));
    }
}

/// A burst of typed input longer than crossterm reads at once (1 KiB; a
/// paste into a terminal without bracketed paste, a script) reaches the
/// pane whole and at once, not only when the next key comes.
#[test]
fn a_burst_of_keys_longer_than_a_kib_reaches_the_pane_whole() {
    let home = tempdir();
    let got = home.path().join("got");
    let cfg = write_config(
        home.path(),
        &format!(
            "[[slot]]\nid = \"one\"\ncommand = \"/bin/sh\"\nargs = [\"-c\", \"stty raw -echo; exec dd bs=1 of={} 2>/dev/null\"]\n",
            got.display()
        ),
    );
    let t = Tui::corral(&["--config", &cfg], 24, 80, home.path());
    t.wait_text("NORMAL", LONG);
    t.send(b"\r");
    t.wait_text("INSERT", LONG);
    let burst: Vec<u8> = (0..3000u32).map(|i| b'a' + (i * 7 % 26) as u8).collect();
    t.send(&burst);
    wait_until("the whole burst in the pane", LONG, || {
        std::fs::read(&got).is_ok_and(|b| b.len() >= burst.len())
    });
    assert_eq!(std::fs::read(&got).unwrap_or_default(), burst);
}

/// Keys, mode changes and escape sequences in one write reach the pane in
/// order, each where the mode at its turn sends it; an escape sequence cut
/// in two by the terminal is still one key, and a lone Esc is the Esc key.
#[test]
fn keys_and_mode_changes_in_one_write_keep_their_order() {
    let home = tempdir();
    let got = home.path().join("got");
    let cfg = write_config(
        home.path(),
        &format!(
            // A second for a cut sequence's rest: the test's 5 ms pause
            // between its halves may stretch on a loaded machine.
            "[ui]\nescape_ms = 1000\n[[slot]]\nid = \"one\"\ncommand = \"/bin/sh\"\nargs = [\"-c\", \"stty raw -echo; exec dd bs=1 of={} 2>/dev/null\"]\n",
            got.display()
        ),
    );
    let t = Tui::corral(&["--config", &cfg], 24, 80, home.path());
    t.wait_text("NORMAL", LONG);
    let has = |want: &[u8]| {
        let ok = support::wait_until_or(LONG, || std::fs::read(&got).is_ok_and(|b| b == want));
        assert!(
            ok,
            "waited for {want:?} in the pane; it got {:?}\n{}",
            std::fs::read(&got).unwrap_or_default(),
            t.text()
        );
    };
    // Enter (normal: into the pane), keys, an arrow, ctrl-\ (back to
    // normal), Enter again, keys: one write.
    t.send(b"\rab\x1b[A\x1c\rcd");
    has(b"ab\x1b[Acd");
    t.wait_mode("INSERT", LONG);
    // The terminal's sequence cut by a slow link: one arrow key, not alt-[.
    t.send(b"\x1b[");
    std::thread::sleep(std::time::Duration::from_millis(5));
    t.send(b"B");
    has(b"ab\x1b[Acd\x1b[B");
    // A lone Esc, then ctrl-\ twice (sends it through).
    t.send(b"\x1b");
    has(b"ab\x1b[Acd\x1b[B\x1b");
    t.send(b"\x1c");
    t.wait_mode("NORMAL", LONG);
    t.send(b"\x1c");
    has(b"ab\x1b[Acd\x1b[B\x1b\x1c");
    t.wait_mode("INSERT", LONG);
}

/// A paste larger than the PTY holds while the program is not reading
/// waits for it in order, and keys typed after it come after it, never in
/// its middle (they would take a shorter way into the PTY).
#[test]
fn keys_after_a_paste_the_program_has_not_read_come_after_it() {
    let home = tempdir();
    let got = home.path().join("got");
    let go = home.path().join("go");
    let cfg = write_config(
        home.path(),
        &format!(
            "[[slot]]\nid = \"one\"\ncommand = \"/bin/sh\"\nargs = [\"-c\", \"stty raw -echo; echo waiting; while [ ! -e {} ]; do sleep 0.05; done; exec dd bs=4096 of={} 2>/dev/null\"]\n",
            go.display(),
            got.display()
        ),
    );
    let t = Tui::corral(&["--config", &cfg], 24, 80, home.path());
    t.wait_text("waiting", LONG);
    t.send(b"\r");
    t.wait_mode("INSERT", LONG);
    let paste: Vec<u8> = (0..200_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let mut burst = b"\x1b[200~".to_vec();
    burst.extend_from_slice(&paste);
    burst.extend_from_slice(b"\x1b[201~");
    t.send(&burst);
    // One key per write, as a person types after the paste.
    t.type_text("XYZ");
    std::fs::write(&go, b"").unwrap_or_else(|e| panic!("{e}"));
    let want = paste.len() + 3;
    let ok = support::wait_until_or(LONG, || {
        std::fs::metadata(&got).is_ok_and(|m| m.len() as usize >= want)
    });
    let bytes = std::fs::read(&got).unwrap_or_default();
    assert!(ok, "{} of {want} bytes reached the program", bytes.len());
    assert_eq!(bytes.len(), want, "bytes lost or added");
    if let Some(at) = bytes[..paste.len()]
        .iter()
        .zip(&paste)
        .position(|(a, b)| a != b)
    {
        panic!(
            "the paste was cut at byte {at}: {:?}",
            String::from_utf8_lossy(&bytes[at.saturating_sub(8)..(at + 16).min(bytes.len())])
        );
    }
    assert_eq!(&bytes[paste.len()..], b"XYZ");
}

/// A slot's transcript rotates at `[transcripts] max_mib`: the current file
/// and the one before stay within the limit, and hold the output's tail.
#[test]
fn transcripts_rotate_at_their_limit() {
    let home = tempdir();
    let cfg = write_config(
        home.path(),
        "[transcripts]\nmax_mib = 1\n[[slot]]\nid = \"big\"\ncommand = \"/bin/sh\"\nargs = [\"-c\", \"head -c 3000000 /dev/zero | tr '\\\\0' x; echo; echo big-done; sleep 600\"]\n",
    );
    let t = Tui::corral(&["--config", &cfg], 24, 80, home.path());
    t.wait_text("big-done", LONG);
    let dir = home.path().join("data/transcripts/default");
    let cur = dir.join("big.raw");
    let old = dir.join("big.raw.1");
    wait_until("the transcript's end", LONG, || {
        std::fs::read(&cur).is_ok_and(|b| b.ends_with(b"big-done\r\n"))
    });
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    assert!(size(&cur) <= 1 << 20, "{} bytes", size(&cur));
    assert!(
        size(&old) <= 1 << 20 && size(&old) > 0,
        "{} bytes",
        size(&old)
    );
    let older = std::fs::read(&old).unwrap_or_default();
    assert!(
        older.iter().all(|b| *b == b'x'),
        "the older file holds the flood"
    );
}

/// `max_mib = 0` keeps no transcripts.
#[test]
fn transcripts_can_be_turned_off() {
    let home = tempdir();
    let cfg = write_config(
        home.path(),
        "[transcripts]\nmax_mib = 0\n[[slot]]\nid = \"quiet\"\ncommand = \"/bin/sh\"\nargs = [\"-c\", \"echo quiet-done; sleep 600\"]\n",
    );
    let t = Tui::corral(&["--config", &cfg], 24, 80, home.path());
    t.wait_text("quiet-done", LONG);
    assert!(
        !home
            .path()
            .join("data/transcripts/default/quiet.raw")
            .exists()
    );
}

/// Keys that come while corral redraws after a resize (ratatui then asks
/// the terminal where the cursor is, and crossterm keeps the keys it reads
/// meanwhile) take effect at once, not when the next key comes.
#[test]
fn keys_sent_with_a_resize_are_not_held_back() {
    let home = tempdir();
    let cfg = write_config(
        home.path(),
        "[[slot]]\nid = \"one\"\ncommand = \"/bin/sh\"\n",
    );
    let t = Tui::corral(&["--config", &cfg], 24, 80, home.path());
    t.wait_text("NORMAL", LONG);
    for round in 0..8u16 {
        let (rows, cols) = if round % 2 == 0 { (30, 100) } else { (24, 80) };
        t.resize(rows, cols);
        t.send(b"i");
        t.wait_mode("INSERT", LONG);
        t.send(b"\x1c");
        t.wait_mode("NORMAL", LONG);
    }
}

/// At 80x24 the demo's dialogs are taller than their panes. `y` on such a
/// prompt sends nothing, zooms its pane so the dialog shows whole, and says
/// so; once the person sees it whole, `y` answers it.
#[test]
fn y_on_a_cut_off_prompt_sends_nothing_and_shows_the_dialog_at_80x24() {
    let home = tempdir();
    // The demo in tiles smaller than its dialogs: a user's choice.
    let demo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo.toml"))
        .unwrap_or_else(|e| panic!("{e}"))
        .replace("[ui]\n", "[ui]\nmin_pane = { cols = 20, rows = 6 }\n")
        .replace("{corral}", &support::corral_bin().to_string_lossy())
        .replace("{shell}", "/bin/sh");
    let cfg = write_config(home.path(), &demo);
    let t = Tui::corral(&["--config", &cfg], 24, 80, home.path());
    let cut = "? (dialog";
    let selected = |s: &str| {
        s.lines()
            .find(|l| l.contains("▶ "))
            .unwrap_or_default()
            .to_string()
    };
    t.wait_for("a cut-off prompt in the inbox", LONG, |s| s.contains(cut));
    // Select it: one Tab at a time, the next once the last one moved the
    // selection (two in one frame's time would step past it).
    for _ in 0..4 {
        let before = selected(&t.text());
        if before.contains(cut) {
            break;
        }
        t.send(b"\t");
        t.wait_for("the selection moved", LONG, |s| selected(s) != before);
    }
    let s = t.wait_for("the cut-off prompt selected", LONG, |s| {
        selected(s).contains(cut)
    });
    let slot = ["api", "web", "docs"]
        .into_iter()
        .find(|id| selected(&s).contains(id))
        .unwrap_or_else(|| panic!("no slot in {:?}", selected(&s)));
    t.send(b"y");
    t.wait_for("nothing sent, and why", LONG, |s| {
        s.contains("nothing sent")
    });
    assert!(
        audit_lines(home.path())
            .iter()
            .all(|a| a["result"] != "sent"),
        "an answer went out: {:?}",
        audit_lines(home.path())
    );
    // Zoomed: the dialog is read whole, and `y` now answers it.
    t.wait_for("the prompt read whole in the zoomed pane", LONG, |s| {
        s.lines()
            .any(|l| l.contains(&format!("▶ {slot}")) && !l.contains(cut))
    });
    // A person reads it first: a key right after the prompt changed under
    // the last one answers nothing (RESELECT_GUARD).
    std::thread::sleep(Duration::from_millis(500));
    t.send(b"y");
    wait_until("the answer in the audit", LONG, || {
        audit_lines(home.path())
            .iter()
            .any(|a| a["result"] == "sent" && a["slot"] == slot)
    });
}
