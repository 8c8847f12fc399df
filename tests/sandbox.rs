//! Sandboxed slots end to end, with plain programs in the real binary: a
//! confined shell cannot create, change or delete anything outside its
//! workspace however it spells the path (`..`, a symbolic link,
//! `/proc/self/cwd/..`, a child of a child), can inside, cannot drive
//! corral or signal the server; a missing Landlock (simulated) refuses the
//! slot with its reason, or runs it unconfined where it says
//! `"if-available"`; a sandboxed worktree slot commits on its branch but
//! cannot touch the main checkout, its hooks or its config.

mod support;

use std::path::Path;
use std::time::Duration;

use support::{Tui, corral_bin, ctl, git, sidebar_text, tempdir, wait_until, write_config};

const LONG: Duration = Duration::from_secs(30);

/// Sends `script` to slot `slot`'s shell and waits until its screen shows
/// `marker` (the script's last `echo`).
fn run_in(home: &Path, slot: &str, script: &str, marker: &str) -> String {
    let (st, _, err) = ctl(home, &["send", slot, "--enter", script]);
    assert_eq!(st, 0, "ctl send: {err}");
    let mut screen = String::new();
    wait_until(&format!("{marker} in {slot}"), LONG, || {
        screen = ctl(home, &["screen", slot, "--scrollback", "500"]).1;
        screen.lines().any(|l| l.trim() == marker)
    });
    screen
}

fn slot_json(home: &Path, id: &str) -> serde_json::Value {
    let out = ctl(home, &["--json", "list"]).1;
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap_or_default();
    v["slots"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["id"] == id).cloned())
        .unwrap_or_default()
}

#[test]
fn a_sandboxed_shell_writes_inside_its_workspace_and_nowhere_else() {
    let home = tempdir();
    let h = home.path();
    let ws = h.join("ws");
    std::fs::create_dir_all(ws.join("sub")).unwrap_or_else(|e| panic!("{e}"));
    let keep = h.join("keep.txt");
    std::fs::write(&keep, "keep\n").unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(ws.join("old.txt"), "old\n").unwrap_or_else(|e| panic!("{e}"));
    let cfg = write_config(
        h,
        &format!(
            "[[slot]]\nid = \"box\"\ncommand = \"/bin/sh\"\ncwd = {ws:?}\nsandbox = true\n\n\
             [[slot]]\nid = \"free\"\ncommand = \"/bin/sh\"\ncwd = {ws:?}\n"
        ),
    );
    let t = Tui::corral(&["--config", &cfg], 40, 160, h);
    wait_until("the shells up", LONG, || {
        slot_json(h, "box")["pid"].as_u64().is_some()
    });
    // Shown where it matters: title, sidebar, ctl list, explain.
    let screen = t.wait_text("· sandboxed", LONG);
    assert!(sidebar_text(&screen).contains("box⊡"), "{screen}");
    let sb = &slot_json(h, "box")["sandbox"];
    assert_eq!(sb["state"], "confined", "{sb}");
    let write: Vec<String> = sb["write"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    assert!(write.iter().any(|w| w.ends_with("/ws")), "{write:?}");
    assert!(slot_json(h, "free")["sandbox"].is_null());
    let explained = ctl(h, &["explain", "box"]).1;
    assert!(
        explained.contains("sandbox: sandboxed") && explained.contains("may write"),
        "{explained}"
    );

    // Outside, spelled every way; each attempt runs on even when one fails.
    let outside = [
        "echo x > ../out1.txt",
        "echo x >> ../keep.txt",
        "rm -f ../keep.txt",
        "mv ../keep.txt moved.txt",
        "truncate -s 0 ../keep.txt",
        "mkdir ../newdir",
        "ln -s .. up; echo x > up/out2.txt",
        "echo x > /proc/self/cwd/../out3.txt",
        "cd sub && echo x > ../../out4.txt; cd ..",
        "sh -c 'sh -c \"echo x > ../out5.txt\"'",
        "(sleep 0.2; echo x > ../out6.txt) & wait",
        "ln ../keep.txt hard.txt",
        "mv old.txt ../old.txt",
        "cp old.txt $HOME/out7.txt",
    ];
    let script = format!("{}; echo OUTSIDE-DONE", outside.join("; "));
    run_in(h, "box", &script, "OUTSIDE-DONE");
    assert_eq!(
        std::fs::read_to_string(&keep).ok().as_deref(),
        Some("keep\n"),
        "keep.txt changed"
    );
    for f in [
        "out1.txt", "out2.txt", "out3.txt", "out4.txt", "out5.txt", "out6.txt", "out7.txt",
        "newdir", "old.txt",
    ] {
        assert!(!h.join(f).exists(), "{f} was written outside");
    }
    assert!(
        !ws.join("hard.txt").exists(),
        "a hard link to an outside file"
    );
    assert!(ws.join("old.txt").exists());

    // Inside: create, change, delete, rename, a directory; temp files.
    let inside = "echo in > in.txt && echo more >> in.txt && mkdir -p d/e && echo y > d/e/f.txt \
                  && mv d/e/f.txt g.txt && rm old.txt && t=$(mktemp) && echo t > \"$t\" && rm \"$t\" \
                  && echo x > /dev/null && echo INSIDE-OK";
    run_in(h, "box", inside, "INSIDE-OK");
    assert_eq!(
        std::fs::read_to_string(ws.join("in.txt")).ok().as_deref(),
        Some("in\nmore\n")
    );
    assert!(ws.join("g.txt").exists() && !ws.join("old.txt").exists());

    // It may not drive corral (a client from inside is refused), nor
    // signal the server or another slot.
    let bin = corral_bin();
    let server = support::server_pid(h);
    let free_pid = slot_json(h, "free")["pid"].as_u64().unwrap_or(0);
    let rt = h.join("run");
    // Nor write into another slot's terminal (its own is fine).
    let other_tty =
        std::fs::read_link(format!("/proc/{free_pid}/fd/0")).unwrap_or_else(|e| panic!("{e}"));
    let screen = run_in(
        h,
        "box",
        &format!(
            "printf x > {other_tty:?}; echo pts=$?; printf '' > /dev/tty; echo tty=$?; echo PTS-DONE"
        ),
        "PTS-DONE",
    );
    assert!(
        screen.contains("pts=1") || screen.contains("pts=2"),
        "{screen}"
    );
    assert!(screen.contains("tty=0"), "{screen}");
    let drive = format!(
        "{bin:?} --runtime-dir {rt:?} ctl send free 'touch {h:?}/driven.txt' --enter; \
         echo ctl=$?; {bin:?} --runtime-dir {rt:?} ctl new --id x -- sh; echo new=$?; \
         kill -TERM {server}; echo k1=$?; kill -KILL {free_pid}; echo k2=$?; echo DRIVE-DONE"
    );
    let screen = run_in(h, "box", &drive, "DRIVE-DONE");
    assert!(screen.contains("runs inside a sandbox"), "{screen}");
    assert!(
        screen.contains("ctl=1") && screen.contains("new=1"),
        "{screen}"
    );
    assert!(
        screen.contains("k1=1") && screen.contains("k2=1"),
        "{screen}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(!h.join("driven.txt").exists());
    assert_eq!(slot_json(h, "free")["pid"].as_u64(), Some(free_pid));
    assert_eq!(ctl(h, &["list"]).0, 0, "the server is gone");
    // A person outside drives it as ever.
    assert_eq!(ctl(h, &["send", "free", "--enter", "echo hi"]).0, 0);
    // What the sandboxed agent leaves running ends with its session.
    let marker = "987654";
    let (st, _, _) = ctl(
        h,
        &[
            "send",
            "box",
            "--enter",
            &format!("nohup sleep {marker} >/dev/null 2>&1 & exit"),
        ],
    );
    assert_eq!(st, 0);
    let left = || {
        std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
            .any(|c| String::from_utf8_lossy(&c).contains(&format!("sleep\0{marker}")))
    };
    wait_until("the background sleep started", LONG, left);
    wait_until("the background sleep killed with the session", LONG, || {
        !left()
    });
    drop(t);
    support::kill_servers(&h.join("run"));
}

#[test]
fn without_landlock_a_sandboxed_slot_does_not_start_and_says_why() {
    let home = tempdir();
    let h = home.path();
    let ws = h.join("ws");
    std::fs::create_dir_all(&ws).unwrap_or_else(|e| panic!("{e}"));
    let cfg = write_config(
        h,
        &format!(
            "[sandbox]\ndefault = true\n\n\
             [[slot]]\nid = \"loose\"\ncommand = \"/bin/sh\"\ncwd = {ws:?}\nsandbox = \"if-available\"\n\n\
             [[slot]]\nid = \"strict\"\ncommand = \"/bin/sh\"\ncwd = {ws:?}\n\n\
             [[slot]]\nid = \"plain\"\ncommand = \"/bin/sh\"\ncwd = {ws:?}\nsandbox = false\n"
        ),
    );
    let t = Tui::corral_env(
        &["--config", &cfg],
        40,
        200,
        h,
        &[("CORRAL_SANDBOX_SIMULATE", "missing")],
    );
    wait_until("the loose shell up", LONG, || {
        slot_json(h, "loose")["pid"].as_u64().is_some()
    });
    // Each slot starts on its own: the strict one may still be starting
    // when the loose one is up.
    wait_until("the strict slot refused", LONG, || {
        !slot_json(h, "strict")["sandbox"].is_null()
    });
    let strict = slot_json(h, "strict");
    assert_eq!(strict["sandbox"]["state"], "refused", "{strict}");
    assert!(strict["pid"].is_null(), "{strict}");
    let why = strict["sandbox"]["why"].as_str().unwrap_or_default();
    assert!(
        why.contains("Landlock is not available") && why.contains("if-available"),
        "{why}"
    );
    // So does the text table.
    let table = ctl(h, &["list"]).1;
    assert!(
        table.lines().next().unwrap_or("").contains("SANDBOX"),
        "{table}"
    );
    assert!(
        table.contains("# strict: no sandbox: not started: sandbox: Landlock is not available"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("loose") && l.contains("unconfined")),
        "{table}"
    );
    // The pane says why too.
    let pane = ctl(h, &["screen", "strict"]).1;
    assert!(pane.contains("Landlock is not available"), "{pane}");
    assert_eq!(slot_json(h, "loose")["sandbox"]["state"], "unconfined");
    assert!(slot_json(h, "plain")["sandbox"].is_null());
    // The focused pane's title says so; the sidebar marks both.
    let screen = t.wait_text("· NOT confined", LONG);
    let side = sidebar_text(&screen);
    assert!(
        side.contains("loose!") && side.contains("strict!"),
        "{screen}"
    );
    assert!(!side.contains("plain!"), "{screen}");
    // Unconfined means unconfined: it writes where it likes.
    run_in(
        h,
        "loose",
        "echo x > ../loose.txt; echo LOOSE-DONE",
        "LOOSE-DONE",
    );
    assert!(h.join("loose.txt").exists());
    drop(t);
    support::kill_servers(&h.join("run"));
}

#[test]
fn a_sandboxed_worktree_slot_commits_but_cannot_touch_the_main_checkout() {
    let home = tempdir();
    let h = home.path();
    let r = h.join("repo");
    std::fs::create_dir_all(&r).unwrap_or_else(|e| panic!("{e}"));
    git(&r, &["init", "-q", "-b", "main"]);
    std::fs::write(r.join("README"), "hi\n").unwrap_or_else(|e| panic!("{e}"));
    git(&r, &["add", "README"]);
    git(&r, &["commit", "-q", "-m", "first"]);
    let config_before = std::fs::read_to_string(r.join(".git/config")).unwrap_or_default();
    let cfg = write_config(
        h,
        &format!(
            "[[slot]]\nid = \"wt\"\ncommand = \"/bin/sh\"\ncwd = {r:?}\nworktree = true\nsandbox = true\n\
             setup = [\"echo setup-ran > setup.txt\"]\n\
             [slot.env]\nGIT_AUTHOR_NAME = \"t\"\nGIT_AUTHOR_EMAIL = \"t@t\"\n\
             GIT_COMMITTER_NAME = \"t\"\nGIT_COMMITTER_EMAIL = \"t@t\"\n"
        ),
    );
    let t = Tui::corral(&["--config", &cfg], 40, 160, h);
    let w = h.join("data/worktrees/default/wt");
    // The setup commands ran, confined, in the new worktree.
    wait_until("setup's file", LONG, || w.join("setup.txt").exists());
    wait_until("the shell up", LONG, || {
        slot_json(h, "wt")["pid"].as_u64().is_some()
    });
    assert_eq!(slot_json(h, "wt")["sandbox"]["state"], "confined");
    run_in(
        h,
        "wt",
        "echo work > work.txt && git add work.txt && git commit -qm from-the-sandbox && echo COMMITTED",
        "COMMITTED",
    );
    assert_eq!(
        git(&r, &["log", "-1", "--format=%s", "corral/wt"]),
        "from-the-sandbox"
    );
    // The main checkout's files, hooks and config are out of reach.
    let attack = format!(
        "echo evil > {r:?}/README; echo evil > {r:?}/new.txt; \
         printf '[core]\\n\\tfsmonitor = touch {h:?}/fsmonitor-ran\\n' >> {r:?}/.git/config; \
         printf '#!/bin/sh\\ntouch {h:?}/hook-ran\\n' > {r:?}/.git/hooks/pre-commit; \
         echo x > {r:?}/.git/info/exclude; echo ATTACK-DONE"
    );
    run_in(h, "wt", &attack, "ATTACK-DONE");
    assert_eq!(
        std::fs::read_to_string(r.join("README")).ok().as_deref(),
        Some("hi\n")
    );
    assert!(!r.join("new.txt").exists());
    assert!(!r.join(".git/hooks/pre-commit").exists());
    assert_eq!(
        std::fs::read_to_string(r.join(".git/config")).unwrap_or_default(),
        config_before
    );
    // The worktree's own link to the repository is the agent's to write:
    // pointed at a git directory of its making, it would choose the config
    // (and so the programs) of every git run in the worktree. corral puts
    // it back before the next session and pins its own git to the real one.
    let fake = w.join("fake");
    let tamper = format!(
        "mkdir -p fake && git init -q fake-src && cp -r fake-src/.git/. fake/ && \
         printf '[core]\\n\\tfsmonitor = touch {h:?}/fsmonitor-ran\\n' >> fake/config && \
         printf 'gitdir: %s\\n' {fake:?} > .git && echo TAMPERED"
    );
    run_in(h, "wt", &tamper, "TAMPERED");
    assert!(
        std::fs::read_to_string(w.join(".git"))
            .unwrap_or_default()
            .contains("fake")
    );
    let (st, _, err) = ctl(h, &["restart", "wt"]);
    assert_eq!(st, 0, "{err}");
    wait_until("the link put back", LONG, || {
        std::fs::read_to_string(w.join(".git"))
            .unwrap_or_default()
            .contains("worktrees")
    });
    wait_until("the shell back", LONG, || {
        slot_json(h, "wt")["pid"].as_u64().is_some()
    });
    run_in(
        h,
        "wt",
        "git status --short; echo STATUS-DONE",
        "STATUS-DONE",
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(!h.join("fsmonitor-ran").exists(), "the fake config ran");
    assert!(!h.join("hook-ran").exists());
    drop(t);
    support::kill_servers(&h.join("run"));
}

/// A second config (another project) with a slot of the same id, run after
/// the first: nothing the first one's agent left in its temporary
/// directory or workspace reaches it.
#[test]
fn a_slot_of_the_same_id_under_another_config_starts_clean() {
    let home = tempdir();
    let h = home.path();
    let run = |name: &str, script: &str, marker: &str| -> (String, String) {
        let ws = h.join(name);
        std::fs::create_dir_all(&ws).unwrap_or_else(|e| panic!("{e}"));
        let cfg = h.join(format!("{name}.toml"));
        std::fs::write(
            &cfg,
            format!(
                "[[slot]]\nid = \"box\"\ncommand = \"/bin/sh\"\ncwd = {ws:?}\nsandbox = true\n"
            ),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let t = Tui::corral(&["--config", &cfg.to_string_lossy()], 30, 120, h);
        wait_until("the shell up", LONG, || {
            slot_json(h, "box")["pid"].as_u64().is_some()
        });
        let tmp = slot_json(h, "box")["sandbox"]["write"]
            .as_array()
            .and_then(|w| {
                w.iter().find_map(|p| {
                    p.as_str()
                        .filter(|p| p.contains("-sandbox/"))
                        .map(String::from)
                })
            })
            .unwrap_or_default();
        let screen = run_in(h, "box", script, marker);
        drop(t);
        support::kill_servers(&h.join("run"));
        (tmp, screen)
    };
    let (first_tmp, _) = run(
        "one",
        "echo secret > \"$TMPDIR/left.txt\"; echo FIRST-DONE",
        "FIRST-DONE",
    );
    assert!(std::path::Path::new(&first_tmp).join("left.txt").exists());
    let (second_tmp, screen) = run(
        "two",
        "ls \"$TMPDIR\"; pwd; echo SECOND-DONE",
        "SECOND-DONE",
    );
    assert_ne!(first_tmp, second_tmp);
    assert!(!screen.contains("left.txt"), "{screen}");
    assert!(screen.contains("/two"), "{screen}");
}
