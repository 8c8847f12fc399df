//! The first ten minutes in a small terminal, end to end: the built corral
//! binary in an outer PTY at 80x24 (and resized), driven by keys, its screen
//! read back through a terminal parser.

mod support;

use std::time::{Duration, Instant};

use support::{Tui, audit_lines, tempdir, wait_until, write_config};

const LONG: Duration = Duration::from_secs(30);

/// The status line (the last row).
fn status(s: &str) -> String {
    s.lines().last().unwrap_or_default().to_string()
}

/// Asserts the status line shows the mode first and the help key.
fn check_status(s: &str, mode: &str) {
    let line = status(s);
    assert!(
        line.trim_start().starts_with(mode),
        "the mode first:\n{line}"
    );
    assert!(line.trim_end().ends_with("? help"), "the help key:\n{line}");
}

/// The inbox row of `slot`'s prompt, if listed.
fn inbox_row(s: &str, slot: &str) -> Option<String> {
    s.lines()
        .map(|l| l.split('│').nth(1).unwrap_or_default().to_string())
        .find(|l| {
            l.strip_prefix("▶ ")
                .or_else(|| l.strip_prefix("  "))
                .is_some_and(|rest| rest.starts_with(&format!("{slot} ")))
        })
}

/// The selected inbox row, if any.
fn selected_row(s: &str) -> Option<String> {
    s.lines()
        .map(|l| l.split('│').nth(1).unwrap_or_default().to_string())
        .find(|l| l.starts_with("▶ "))
}

/// Tabs through the inbox until `slot`'s prompt is selected: one Tab at a
/// time, the next once the client has drawn the last one's move (two Tabs
/// in one frame's time would step past it).
fn select(t: &Tui, slot: &str) {
    t.wait_for(&format!("{slot}'s prompt in the inbox"), LONG, |s| {
        inbox_row(s, slot).is_some()
    });
    for _ in 0..8 {
        let s = t.text();
        if inbox_row(&s, slot).is_some_and(|r| r.starts_with("▶")) {
            return;
        }
        let before = selected_row(&s);
        t.send(b"\t");
        t.wait_for("the selection moved", LONG, |s| selected_row(s) != before);
    }
    panic!("{slot}'s prompt never got selected:\n{}", t.text());
}

/// The demo in an 80x24 terminal: all three prompts reach the inbox with
/// their tools within 20 s, and `y`, `n` and `a` answer them from the inbox
/// (two of the three agents are stacked away under the focused pane).
#[test]
fn demo_at_80x24_lists_every_prompt_with_its_tool_and_answers_them() {
    let home = tempdir();
    let t = Tui::corral(&[], 24, 80, home.path());
    let s = t.wait_for(
        "the three demo prompts in the inbox",
        Duration::from_secs(20),
        |s| {
            inbox_row(s, "api").is_some_and(|r| r.contains("api Bash"))
                && inbox_row(s, "web").is_some_and(|r| r.contains("web Edit"))
                && inbox_row(s, "docs").is_some_and(|r| r.contains("docs Write"))
        },
    );
    check_status(&s, "NORMAL");
    for (slot, key, answer) in [
        ("web", b"n", "deny"),
        ("docs", b"a", "approve-always"),
        ("api", b"y", "approve-once"),
    ] {
        select(&t, slot);
        // A person reads the prompt before answering: keys right after the
        // selection moved by itself answer nothing (RESELECT_GUARD).
        std::thread::sleep(Duration::from_millis(500));
        t.send(key);
        wait_until(&format!("{slot}'s answer in the audit"), LONG, || {
            audit_lines(home.path())
                .iter()
                .any(|a| a["slot"] == slot && a["result"] == "sent" && a["answer"] == answer)
        });
        // `deny (n) → web Edit …`, wrapped into the sidebar's message rows.
        let said = format!("{answer} ({})", key[0] as char);
        let s = t.wait_for("the message", LONG, |s| s.contains(&said));
        check_status(&s, "NORMAL");
    }
    // Every answer went out by key, none was refused, nothing vanished.
    let audit = audit_lines(home.path());
    assert!(audit.iter().all(|a| a["result"] == "sent"), "{audit:#?}");
}

/// Resizing 200x50 -> 80x24 -> 200x50 and zooming in and out keeps every
/// pending prompt in the inbox with its age still growing, and writes no
/// "vanished" audit line.
#[test]
fn resizes_and_zooms_keep_every_prompt_and_its_age() {
    let home = tempdir();
    let t = Tui::corral(&[], 50, 200, home.path());
    let ages = |s: &str| -> Vec<(String, u64)> {
        ["api", "web", "docs"]
            .iter()
            .filter_map(|slot| {
                let row = inbox_row(s, slot)?;
                let age = row
                    .split_whitespace()
                    .last()?
                    .strip_suffix('s')?
                    .parse()
                    .ok()?;
                Some((slot.to_string(), age))
            })
            .collect()
    };
    let first = t.wait_for("three prompts with ages", LONG, |s| ages(s).len() == 3);
    let before = ages(&first);
    let t0 = Instant::now();
    t.resize(24, 80);
    t.wait_for("the stacked layout", LONG, |s| {
        s.lines().next().is_some_and(|l| l.chars().count() <= 80) && s.contains("SLOTS")
    });
    std::thread::sleep(Duration::from_millis(2500));
    t.resize(50, 200);
    t.wait_for("the grid again", LONG, |s| s.contains("4 slots"));
    std::thread::sleep(Duration::from_millis(1500));
    t.send(b"z");
    std::thread::sleep(Duration::from_millis(1500));
    t.send(b"z");
    std::thread::sleep(Duration::from_millis(2500));
    let s = t.wait_for("three prompts with ages", LONG, |s| ages(s).len() == 3);
    let after = ages(&s);
    let waited = t0.elapsed().as_secs();
    for ((slot, a), (_, b)) in before.iter().zip(&after) {
        assert!(
            *b >= a + waited.saturating_sub(1),
            "{slot}'s age went from {a}s to {b}s over {waited}s:\n{s}"
        );
    }
    let vanished: Vec<_> = audit_lines(home.path())
        .into_iter()
        .filter(|a| a["result"] == "vanished")
        .collect();
    assert!(vanished.is_empty(), "{vanished:#?}");
    // And each prompt still answers by its id.
    select(&t, "web");
    t.send(b"y");
    wait_until("web's answer sent", LONG, || {
        audit_lines(home.path())
            .iter()
            .any(|a| a["slot"] == "web" && a["result"] == "sent")
    });
}

/// The pane's inside rows (below its top border, above its bottom border
/// and the status line), for a config without a sidebar.
fn pane_rows(s: &str) -> Vec<String> {
    let rows: Vec<&str> = s.lines().collect();
    rows[1..rows.len().saturating_sub(2)]
        .iter()
        .map(|r| r.to_string())
        .collect()
}

/// Scrolled back 20 rows in a pane that prints a line every 10 ms, the
/// visible text stays put for 3 s while the position counts up from the
/// live screen; `G` returns to it.
#[test]
fn a_scrolled_back_view_stays_on_its_text_while_output_arrives() {
    let home = tempdir();
    let cfg = write_config(
        home.path(),
        "[ui]\nsidebar_width = 0\nscrollback_rows = 600\n[[slot]]\nid = \"sh\"\ncommand = \"/bin/sh\"\n",
    );
    let t = Tui::corral(&["--config", &cfg], 24, 80, home.path());
    t.wait_text("NORMAL", LONG);
    t.send(b"\r");
    t.wait_mode("INSERT", LONG);
    t.type_text("i=0; while :; do i=$((i+1)); echo tick-$i; sleep 0.01; done\r");
    // Past a full scrollback (600 rows), with room for 3 s more.
    t.wait_text("tick-700", LONG);
    t.send(b"\x1c");
    t.wait_mode("NORMAL", LONG);
    // ctrl-u twice: half a page each (the pane is 21 rows: 10 + 10). The
    // second once the first is drawn: the offset alone cannot tell them
    // apart, as it grows with the output too.
    let offset = |s: &str| -> Option<u64> {
        let i = s.find(" ↑ ")?;
        s[i + " ↑ ".len()..].split_whitespace().next()?.parse().ok()
    };
    t.send(b"\x15");
    let s = t.wait_for("scrolled back 10 rows", LONG, |s| {
        offset(s).is_some_and(|o| o >= 10)
    });
    let half = pane_rows(&s);
    t.send(b"\x15");
    let s = t.wait_for("scrolled back 10 more", LONG, |s| {
        offset(s).is_some_and(|o| o >= 20) && pane_rows(s) != half
    });
    let first = offset(&s).unwrap_or(0);
    let view = pane_rows(&s);
    let start = Instant::now();
    let mut last = first;
    while start.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(100));
        let s = t.text();
        assert_eq!(
            pane_rows(&s),
            view,
            "the view moved after {:?}",
            start.elapsed()
        );
        if let Some(o) = offset(&s) {
            assert!(o >= last, "the position counts from the live screen");
            last = o;
        }
    }
    assert!(
        last > first + 50,
        "the output kept arriving ({first} -> {last})"
    );
    t.send(b"G");
    t.wait_for("the live screen", LONG, |s| !s.contains("G live"));
    t.send(b"i");
    t.send(b"\x03");
}

/// PgUp moves a page minus one row: the row at the top of the live pane is
/// at the bottom of the page above.
#[test]
fn page_up_moves_a_page_minus_one_row() {
    let home = tempdir();
    let cfg = write_config(
        home.path(),
        "[ui]\nsidebar_width = 0\n[[slot]]\nid = \"sh\"\ncommand = \"/bin/sh\"\n",
    );
    let t = Tui::corral(&["--config", &cfg], 24, 80, home.path());
    t.wait_text("NORMAL", LONG);
    t.send(b"\r");
    t.type_text("clear; seq 1 200 | sed 's/^/row-/'\r");
    let s = t.wait_text("row-200", LONG);
    let live = pane_rows(&s);
    let top = live[0].clone();
    t.send(b"\x1c");
    t.wait_mode("NORMAL", LONG);
    t.send(b"\x1b[5~");
    let s = t.wait_text("rows · G live", LONG);
    let page = pane_rows(&s);
    assert_eq!(
        page.last().map(String::as_str),
        Some(top.as_str()),
        "one row of the live screen stays in view:\n{s}"
    );
    assert!(s.contains(" ↑ 20 rows"), "a page of a 21-row pane:\n{s}");
}

/// `R` on a demo slot runs its script again: no resume arguments for a
/// program that is not the agent's own, no restart loop.
#[test]
fn restart_runs_the_demo_script_again() {
    let home = tempdir();
    let t = Tui::corral(&[], 24, 80, home.path());
    t.wait_for("api's prompt", LONG, |s| {
        inbox_row(s, "api").is_some_and(|r| r.contains("api Bash"))
    });
    select(&t, "api");
    t.send(b"y");
    t.wait_for("api's prompt answered", LONG, |s| {
        inbox_row(s, "api").is_none()
    });
    // api is focused (the first slot): restart it.
    t.send(b"R");
    let s = t.wait_for("api's first prompt again", LONG, |s| {
        inbox_row(s, "api").is_some_and(|r| r.contains("api Bash echo hello"))
    });
    check_status(&s, "NORMAL");
    let raw = std::fs::read_to_string(home.path().join("data/transcripts/default/api.raw"))
        .unwrap_or_default();
    // Each run of the demo agent switches to the alternate screen once.
    assert_eq!(
        raw.matches("\x1b[?1049h").count(),
        2,
        "the script ran twice, nothing else:\n{raw}"
    );
    assert!(!raw.contains("--continue"), "{raw}");
    assert!(!s.contains("exited"), "{s}");
}

/// A shell slot restarted settles to idle.
#[test]
fn restarting_a_shell_settles_to_idle() {
    let home = tempdir();
    let cfg = write_config(
        home.path(),
        "[[slot]]\nid = \"sh\"\ncommand = \"/bin/sh\"\n",
    );
    let t = Tui::corral(&["--config", &cfg], 24, 80, home.path());
    t.wait_for("the shell idle", LONG, |s| s.contains("○ sh"));
    t.send(b"R");
    t.wait_text("restarting", LONG);
    let s = t.wait_for("the shell idle again", LONG, |s| {
        s.contains("○ sh") && !s.contains("restarting")
    });
    check_status(&s, "NORMAL");
}

/// At 80 columns the status line shows the mode and the help key in both
/// modes, with the decisions panel open, and while a message shows.
#[test]
fn the_status_line_keeps_the_mode_and_help_at_80_columns() {
    let home = tempdir();
    let t = Tui::corral(&[], 24, 80, home.path());
    // The demo's notice is a message: it has its own place.
    // Issue 22.12: whole at 80x24, `(see README)` included.
    let s = t.wait_for("the whole demo notice", LONG, |s| {
        support::sidebar_text(s).contains("demo: your own agents go in config.toml (see README)")
    });
    assert!(s.contains("demo: your own agents"), "{s}");
    check_status(&s, "NORMAL");
    assert!(!status(&s).contains("demo:"), "{}", status(&s));
    t.send(b"P");
    let s = t.wait_text("automatic answers", LONG);
    check_status(&s, "NORMAL");
    assert!(status(&s).contains("PAUSED"), "{}", status(&s));
    t.send(b"P");
    t.send(b"D");
    let s = t.wait_text("decisions", LONG);
    check_status(&s, "NORMAL");
    t.send(b"D");
    t.send(b"y");
    let s = t.wait_for("an answer or a refusal", LONG, |s| {
        s.contains("→ api") || s.contains("nothing sent") || s.contains("no prompt")
    });
    check_status(&s, "NORMAL");
    t.send(b"i");
    let s = t.wait_mode("INSERT", LONG);
    check_status(&s, "INSERT");
    t.send(b"\x1c");
    let s = t.wait_mode("NORMAL", LONG);
    check_status(&s, "NORMAL");
}

/// A command that does not exist says so on one row of its pane (no
/// staircase of a multi-line error without carriage returns), and the slot
/// shows as exited.
#[test]
fn a_missing_command_says_so_on_one_row() {
    let home = tempdir();
    let cfg = write_config(
        home.path(),
        "[[slot]]\nid = \"bad\"\ncommand = \"no-such-command-xyz\"\n",
    );
    let t = Tui::corral(&["--config", &cfg], 24, 100, home.path());
    // The pane's text and the sidebar's state come as output and as an
    // event: wait for both.
    let s = t.wait_for("the error and the exited state", LONG, |s| {
        s.contains("no such command in PATH") && s.contains("exited")
    });
    assert!(
        s.lines()
            .any(|l| l
                .contains("[corral] cannot start `no-such-command-xyz`: no such command in PATH")),
        "{s}"
    );
}

/// Issue 22.8: in a terminal smaller than the smallest pane, a shell whose
/// prompt sits at the top of its (taller) screen is shown there, not by
/// its blank bottom rows: what is typed shows as it is typed.
#[test]
fn a_pane_smaller_than_its_screen_shows_the_rows_down_to_the_cursor() {
    let home = tempdir();
    let cfg = write_config(
        home.path(),
        "[[slot]]\nid = \"sh\"\ncommand = \"/bin/sh\"\nenv = { PS1 = \"top-prompt$ \" }\n",
    );
    let t = Tui::corral(&["--config", &cfg], 14, 80, home.path());
    t.wait_for("the shell idle", LONG, |s| s.contains("○ sh"));
    t.wait_text("top-prompt$", LONG);
    t.send(b"\r");
    t.wait_mode("INSERT", LONG);
    t.type_text("echo typed-here\r");
    // The echo, then the shell's output and its next prompt, all in view.
    t.wait_for("the command ran and its prompt came back", LONG, |s| {
        s.contains("typed-here") && s.matches("top-prompt$").count() >= 2
    });
}
