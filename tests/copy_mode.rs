//! Copy mode, search and selection, driven as a person would: corral in an
//! outer PTY, keys and mouse reports typed into it, the screen read back
//! through a terminal parser and the clipboard read from the OSC 52
//! sequence corral writes to the outer terminal.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use support::{Tui, ctl, tempdir, wait_until, write_config};

const LONG: Duration = Duration::from_secs(30);

/// corral with one `/bin/sh` slot, 40 x 160, once the shell runs; every
/// copy also goes to `clip.txt` in `home` through `copy_command`.
fn shell(home: &Path) -> Tui {
    let cfg = write_config(
        home,
        &format!(
            "[ui]\ncopy_command = \"cat > '{}'\"\n\n[[slot]]\nid = \"sh\"\ncommand = \"/bin/sh\"\n",
            home.join("clip.txt").display()
        ),
    );
    let t = Tui::corral(&["--config", &cfg], 40, 160, home);
    wait_until("the shell running", LONG, || {
        ctl(home, &["list", "--json"]).0 == 0
    });
    t.wait_mode("NORMAL", LONG);
    t
}

/// Types `line` and Enter into the shell (insert mode, then back).
fn run_in_shell(t: &Tui, line: &str) {
    t.send(b"i");
    t.wait_mode("INSERT", LONG);
    t.send(line.as_bytes());
    t.send(b"\r");
}

/// `[`, `/marker-copy`, Enter, `V`, `y` copies a line from 500 lines back
/// in the scrollback: the clipboard gets exactly it, and corral is back in
/// normal mode on the live screen.
#[test]
fn search_and_yank_copy_a_line_from_the_scrollback() {
    let home = tempdir();
    let t = shell(home.path());
    run_in_shell(
        &t,
        "i=1; while [ $i -le 500 ]; do if [ $i = 42 ]; then echo marker-copy-$((40+2)); else echo \"line $i\"; fi; i=$((i+1)); done",
    );
    t.wait_text("line 500", LONG);
    t.send(b"\x1c");
    t.wait_mode("NORMAL", LONG);
    t.send(b"[");
    t.wait_mode("COPY", LONG);
    t.type_text("/marker-copy");
    t.wait_for("the search typed", LONG, |s| {
        s.lines().last().is_some_and(|l| l.contains("/marker-copy"))
    });
    t.send(b"\r");
    // The view went back 458 lines: the marker is on screen, with its count
    // (the command line typed holds the text too: the output is the second
    // of two).
    t.wait_for("the match in view", LONG, |s| {
        s.lines().any(|l| l.contains("marker-copy-42"))
            && s.lines()
                .last()
                .is_some_and(|l| l.contains("marker-copy: 2 of 2"))
    });
    t.send(b"V");
    t.send(b"y");
    t.wait_clipboard("marker-copy-42");
    // The configured copy command got it too.
    wait_until("copy_command's file", LONG, || {
        std::fs::read_to_string(home.path().join("clip.txt")).is_ok_and(|c| c == "marker-copy-42")
    });
    t.wait_mode("NORMAL", LONG);
    t.wait_text("line 500", LONG);
}

/// Copy mode on a pane that prints a line every 10 ms: what it shows does
/// not change for 3 s while the program goes on printing, and `q` returns
/// to the live screen.
#[test]
fn the_view_stays_frozen_while_the_pane_floods() {
    let home = tempdir();
    let h = home.path();
    let t = shell(h);
    run_in_shell(
        &t,
        "i=0; while :; do i=$((i+1)); echo \"tick $i\"; sleep 0.01; done",
    );
    t.wait_text("tick 50", LONG);
    t.send(b"\x1c");
    t.wait_mode("NORMAL", LONG);
    t.send(b"[");
    t.wait_mode("COPY", LONG);
    // Scrolled back into the history.
    t.send(b"\x15");
    let ticks = |s: &str| -> Vec<u64> {
        s.lines()
            .filter_map(|l| l.split("tick ").nth(1))
            .filter_map(|r| r.split_whitespace().next()?.parse().ok())
            .collect()
    };
    let server_tick = || {
        ticks(&ctl(h, &["screen", "sh"]).1)
            .into_iter()
            .max()
            .unwrap_or(0)
    };
    // The status line's `line/lines`: half a page up from the last line.
    let position = |s: &str| -> Option<(u64, u64)> {
        let last = s.lines().last()?.trim_end();
        let (a, b) = last.rsplit(' ').next()?.split_once('/')?;
        Some((a.parse().ok()?, b.parse().ok()?))
    };
    let scrolled = t.wait_for("the view scrolled back", LONG, |s| {
        s.lines().last().is_some_and(|l| l.contains("COPY"))
            && position(s).is_some_and(|(a, b)| a + 10 < b)
    });
    // The pane's rows, right of the sidebar (its ages and states move).
    let pane = |s: &str| -> Vec<String> {
        let rows: Vec<&str> = s.lines().collect();
        rows[1..rows.len().saturating_sub(2)]
            .iter()
            .map(|l| l.chars().skip(47).collect())
            .collect()
    };
    let frozen = pane(&scrolled);
    let shown_max = ticks(&frozen.join("\n")).into_iter().max().unwrap_or(0);
    assert!(shown_max > 0, "ticks in view:\n{scrolled}");
    let printed_before = server_tick();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        assert_eq!(pane(&t.text()), frozen, "the view moved");
        std::thread::sleep(Duration::from_millis(50));
    }
    let printed_after = server_tick();
    assert!(
        printed_after > printed_before + 20,
        "the program went on printing: {printed_before} -> {printed_after}"
    );
    t.send(b"q");
    t.wait_mode("NORMAL", LONG);
    t.wait_for("the live screen", LONG, |s| {
        ticks(s).into_iter().max().unwrap_or(0) > shown_max + 100
    });
    // Keys that act wait a moment after copy mode (`q q` must not quit):
    // stop the loop through ctl.
    assert_eq!(ctl(h, &["send", "sh", "--keys", "ctrl-c"]).0, 0);
}

/// A drag over two words of a pane copies those two words when the button
/// is let go, also while typing into a program that did not ask for the
/// mouse (insert mode comes back); a double click copies a word, a triple
/// click its line.
#[test]
fn a_drag_copies_the_words_it_covers() {
    let home = tempdir();
    let t = shell(home.path());
    run_in_shell(&t, "clear; echo 'alpha beta gamma delta'");
    t.wait_for("the words", LONG, |s| {
        s.lines()
            .any(|l| l.contains("alpha beta gamma delta") && !l.contains("echo"))
    });
    let s = t.text();
    let row = s
        .lines()
        .position(|l| l.contains("alpha beta gamma delta") && !l.contains("echo"))
        .unwrap_or(0)
        + 1;
    let line = s.lines().nth(row - 1).unwrap_or_default().to_string();
    let col_of =
        |w: &str| unicode_width::UnicodeWidthStr::width(&line[..line.find(w).unwrap_or(0)]) + 1;
    let (b, g) = (col_of("beta"), col_of("gamma"));
    let end = g + "gamma".len() - 1;
    // Still in insert mode: sh asked for no mouse reports.
    t.wait_mode("INSERT", LONG);
    t.send(format!("\x1b[<0;{b};{row}M").as_bytes());
    t.send(format!("\x1b[<32;{};{row}M", b + 2).as_bytes());
    t.send(format!("\x1b[<32;{end};{row}M").as_bytes());
    t.send(format!("\x1b[<0;{end};{row}m").as_bytes());
    t.wait_clipboard("beta gamma");
    t.wait_mode("INSERT", LONG);
    // Double and triple clicks, from normal mode.
    t.send(b"\x1c");
    t.wait_mode("NORMAL", LONG);
    let a = col_of("alpha") + 1;
    let click = format!("\x1b[<0;{a};{row}M\x1b[<0;{a};{row}m");
    t.send(click.repeat(2).as_bytes());
    t.wait_clipboard("alpha");
    // Elsewhere on the line: a new click, counted from one.
    let d = col_of("delta") + 1;
    let click = format!("\x1b[<0;{d};{row}M\x1b[<0;{d};{row}m");
    t.send(click.repeat(3).as_bytes());
    t.wait_clipboard("alpha beta gamma delta");
    t.wait_mode("NORMAL", LONG);
}

/// Inside tmux (`TMUX` set) the copy goes out twice: as OSC 52 (tmux with
/// `set-clipboard on` takes it) and wrapped for tmux's passthrough (for an
/// outer terminal tmux does not forward it to), every ESC inside doubled.
#[test]
fn inside_tmux_the_copy_is_also_wrapped_for_passthrough() {
    let home = tempdir();
    let h = home.path();
    let cfg = write_config(h, "[[slot]]\nid = \"sh\"\ncommand = \"/bin/sh\"\n");
    let t = Tui::corral_env(
        &["--config", &cfg],
        40,
        160,
        h,
        &[("TMUX", "/tmp/tmux-test/default,1,0")],
    );
    t.wait_mode("NORMAL", LONG);
    run_in_shell(&t, "echo marker-$((6*7))-tmux");
    t.wait_text("marker-42-tmux", LONG);
    t.send(b"\x1c");
    t.wait_mode("NORMAL", LONG);
    t.send(b"[");
    t.wait_mode("COPY", LONG);
    t.type_text("?marker-42");
    t.send(b"\r");
    t.send(b"V");
    t.send(b"y");
    t.wait_clipboard("marker-42-tmux");
    let b64 = base64::engine::general_purpose::STANDARD.encode("marker-42-tmux");
    let wrapped = format!("\x1bPtmux;\x1b\x1b]52;c;{b64}\x07\x1b\\");
    let raw = t.raw();
    assert!(
        raw.windows(wrapped.len()).any(|w| w == wrapped.as_bytes()),
        "no passthrough copy in the output"
    );
}
