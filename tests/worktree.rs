//! Slots in git worktrees of their own, end to end with real git: each runs
//! on its own branch in its own checkout, setup commands run in a new one,
//! `ctl worktree SLOT remove` refuses while the slot runs or has changes.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::{Tui, ctl, git, run_plain, tempdir, wait_until, write_config};

const LONG: Duration = Duration::from_secs(30);

/// A repository with one commit.
fn repo(dir: &Path) -> std::path::PathBuf {
    let r = dir.join("repo");
    std::fs::create_dir_all(&r).unwrap_or_else(|e| panic!("{e}"));
    git(&r, &["init", "-q", "-b", "main"]);
    std::fs::write(r.join("README"), "hi\n").unwrap_or_else(|e| panic!("{e}"));
    git(&r, &["add", "README"]);
    git(&r, &["commit", "-q", "-m", "first"]);
    r
}

#[test]
fn each_slot_works_in_its_own_worktree() {
    let home = tempdir();
    let h = home.path();
    let r = repo(h);
    let cfg = write_config(
        h,
        &format!(
            "[[slot]]\nid = \"a\"\ncommand = \"/bin/sh\"\ncwd = {r:?}\nworktree = true\nsetup = [\"echo setup-ran > setup.txt\"]\n\n\
             [[slot]]\nid = \"b\"\ncommand = \"/bin/sh\"\ncwd = {r:?}\nworktree = {{ branch = \"feature-b\" }}\n"
        ),
    );
    let t = Tui::corral(&["--config", &cfg], 40, 160, h);
    let wa = h.join("data/worktrees/default/a");
    let wb = h.join("data/worktrees/default/b");
    wait_until("both worktrees made", LONG, || {
        wa.join("README").exists() && wb.join("README").exists()
    });
    assert_eq!(git(&wa, &["rev-parse", "--abbrev-ref", "HEAD"]), "corral/a");
    assert_eq!(
        git(&wb, &["rev-parse", "--abbrev-ref", "HEAD"]),
        "feature-b"
    );
    // Setup ran in the new worktree, before the shell.
    wait_until("setup's file", LONG, || wa.join("setup.txt").exists());
    assert!(!wb.join("setup.txt").exists() && !r.join("setup.txt").exists());
    // Each shell runs in its worktree; a file one writes is not in the other.
    wait_until("the shells up", LONG, || ctl(h, &["list"]).0 == 0);
    ctl(
        h,
        &["send", "a", "--enter", "pwd; echo only-a > only-a.txt"],
    );
    wait_until("a's file", LONG, || wa.join("only-a.txt").exists());
    assert!(!wb.join("only-a.txt").exists() && !r.join("only-a.txt").exists());
    let screen = ctl(h, &["screen", "a"]).1;
    assert!(screen.contains("worktrees/default/a"), "{screen}");
    // The pane's title names the branch and, once the shell is idle again,
    // the files with uncommitted changes (setup.txt, only-a.txt).
    t.wait_text("⎇ feature-b", LONG);
    t.wait_text("⎇ corral/a *2", LONG);
    // Remove: not while it runs; not with changes (named); then forced.
    let (code, _, err) = ctl(h, &["worktree", "a", "remove"]);
    assert_eq!(code, 1);
    assert!(err.contains("stop it first"), "{err}");
    assert_eq!(ctl(h, &["kill", "a"]).0, 0);
    wait_until("a exited", LONG, || {
        ctl(h, &["list", "--json"]).1.contains("\"exited\"")
    });
    let (code, _, err) = ctl(h, &["worktree", "a", "remove"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("only-a.txt") && err.contains("setup.txt"),
        "{err}"
    );
    assert!(wa.exists());
    let (code, _, err) = ctl(h, &["worktree", "a", "remove", "--force"]);
    assert_eq!(code, 0, "{err}");
    assert!(!wa.exists());
    // Issue 22.11: its title no longer names the worktree.
    t.wait_for("a's title without its worktree", LONG, |s| {
        !s.contains("⎇ corral/a") && s.contains("⎇ feature-b")
    });
    // Its branch stays; b's worktree is untouched.
    assert_eq!(git(&r, &["rev-parse", "--verify", "corral/a"]).len(), 40);
    assert!(wb.join("README").exists());
    // A clean worktree goes without --force once its slot stopped.
    assert_eq!(ctl(h, &["kill", "b"]).0, 0);
    wait_until("b's worktree removable", LONG, || {
        ctl(h, &["worktree", "b", "remove"]).0 == 0
    });
    assert!(!wb.exists());
    drop(t);
}

/// Restarting reuses the slot's worktree (and runs no setup again).
#[test]
fn a_restart_reuses_the_worktree() {
    let home = tempdir();
    let h = home.path();
    let r = repo(h);
    let cfg = write_config(
        h,
        &format!(
            "[[slot]]\nid = \"a\"\ncommand = \"/bin/sh\"\ncwd = {r:?}\nworktree = true\nsetup = [\"echo x >> setup.log\"]\n"
        ),
    );
    let _t = Tui::corral(&["--config", &cfg], 30, 100, h);
    let wa = h.join("data/worktrees/default/a");
    wait_until("the worktree and its setup", LONG, || {
        wa.join("setup.log").exists()
    });
    ctl(h, &["send", "a", "--enter", "echo kept > kept.txt"]);
    wait_until("a file in it", LONG, || wa.join("kept.txt").exists());
    assert_eq!(ctl(h, &["restart", "a"]).0, 0);
    wait_until("session 2", LONG, || {
        ctl(h, &["list", "--json"]).1.contains("\"generation\":2")
    });
    ctl(h, &["send", "a", "--enter", "cat kept.txt"]);
    wait_until(
        "the file still there, seen from the new shell",
        LONG,
        || {
            ctl(h, &["screen", "a"])
                .1
                .lines()
                .filter(|l| l.trim() == "kept")
                .count()
                >= 1
        },
    );
    let log = std::fs::read_to_string(wa.join("setup.log")).unwrap_or_default();
    assert_eq!(log.lines().count(), 1, "setup ran again: {log}");
}

/// A slot with `worktree = true` outside any repository is a config error
/// naming the slot: exit 2.
#[test]
fn a_worktree_outside_a_repository_is_a_config_error() {
    let home = tempdir();
    let h = home.path();
    let plain = h.join("plain");
    std::fs::create_dir_all(&plain).unwrap_or_else(|e| panic!("{e}"));
    let cfg = write_config(
        h,
        &format!(
            "[[slot]]\nid = \"lost\"\ncommand = \"/bin/sh\"\ncwd = {plain:?}\nworktree = true\n"
        ),
    );
    let rt = h.join("rt");
    let rt_s = rt.to_string_lossy().into_owned();
    let data = h.join("d");
    let data_s = data.to_string_lossy().into_owned();
    let (code, _, err) = run_plain(
        &[
            "--config",
            &cfg,
            "--runtime-dir",
            &rt_s,
            "--data-dir",
            &data_s,
        ],
        h,
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("\"lost\"") && err.contains("not in a git repository"),
        "{err}"
    );
}

/// `N` asks for an agent and a branch and adds that slot, in a worktree of
/// the focused slot's repository (not the one corral was started in); an
/// unknown agent is refused.
#[test]
fn the_new_slot_key_adds_an_agent_in_a_worktree() {
    let home = tempdir();
    let h = home.path();
    // The repository is the focused slot's directory, not corral's.
    let repo = h.join("repo");
    std::fs::create_dir_all(&repo).unwrap_or_else(|e| panic!("{e}"));
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("README"), "hi\n").unwrap_or_else(|e| panic!("{e}"));
    git(&repo, &["add", "README"]);
    git(&repo, &["commit", "-q", "-m", "first"]);
    let cfg = write_config(
        h,
        &format!(
            "[[slot]]\nid = \"sh\"\ncommand = \"/bin/sh\"\ncwd = {:?}\n",
            repo.to_string_lossy()
        ),
    );
    let t = Tui::corral(&["--config", &cfg], 40, 160, h);
    t.wait_mode("NORMAL", LONG);
    t.send(b"N");
    t.wait_text("agent [branch]:", LONG);
    t.type_text("generic feat-n");
    t.wait_text("agent [branch]: generic feat-n_", LONG);
    t.send(b"\r");
    t.wait_text("⎇ feat-n", LONG);
    let wt = h.join("data/worktrees/default/generic-1");
    wait_until("its worktree", LONG, || wt.join("README").exists());
    assert_eq!(git(&wt, &["rev-parse", "--abbrev-ref", "HEAD"]), "feat-n");
    assert!(ctl(h, &["list"]).1.contains("generic-1"));
    // An unknown agent: refused, said in the message area.
    t.send(b"N");
    t.wait_text("agent [branch]:", LONG);
    t.type_text("nope");
    t.send(b"\r");
    t.wait_text("no agent profile \"nope\"", LONG);
    // Esc cancels.
    t.send(b"N");
    t.wait_text("agent [branch]:", LONG);
    t.send(b"\x1b");
    t.wait_for("the box closed", LONG, |s| !s.contains("agent [branch]:"));
}

/// `git worktree add` (a large repository's checkout can take seconds)
/// runs off the session manager's thread: while it has not finished, the
/// other slots start and answer, and the slot's pane says what it waits
/// for. Here `git` is a wrapper that holds `worktree add` until the test
/// lets it go.
#[test]
fn a_slow_worktree_holds_up_no_other_slot() {
    let home = tempdir();
    let h = home.path();
    let r = repo(h);
    let real_git = String::from_utf8_lossy(
        &Command::new("sh")
            .arg("-c")
            .arg("command -v git")
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
            .stdout,
    )
    .trim()
    .to_string();
    let bin = h.join("bin");
    std::fs::create_dir_all(&bin).unwrap_or_else(|e| panic!("{e}"));
    let gate = h.join("go");
    let wrapper = bin.join("git");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = add ] && while [ ! -e '{}' ]; do sleep 0.05; done; done\nexec '{real_git}' \"$@\"\n",
            gate.display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let cfg = write_config(
        h,
        &format!(
            "[[slot]]\nid = \"a\"\ncommand = \"/bin/sh\"\ncwd = {r:?}\nworktree = true\nsetup = [\"echo setup-ran > setup.txt\"]\n\n\
             [[slot]]\nid = \"b\"\ncommand = \"/bin/sh\"\n"
        ),
    );
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let t = Tui::corral_env(&["--config", &cfg], 40, 160, h, &[("PATH", &path)]);
    // b runs and answers while a's worktree is held.
    wait_until("the server up", LONG, || ctl(h, &["list"]).0 == 0);
    assert_eq!(ctl(h, &["send", "b", "--enter", "echo", "b-$((6*7))"]).0, 0);
    wait_until("b's echo", LONG, || {
        ctl(h, &["screen", "b"]).1.lines().any(|l| l == "b-42")
    });
    let slots: serde_json::Value =
        serde_json::from_str(&ctl(h, &["list", "--json"]).1).unwrap_or_default();
    assert!(
        slots["slots"][0]["pid"].is_null(),
        "a started early: {slots}"
    );
    assert!(
        ctl(h, &["screen", "a"])
            .1
            .contains("making a git worktree on corral/a"),
        "{}",
        ctl(h, &["screen", "a"]).1
    );
    // Let git go: a starts in its new worktree, its setup run.
    std::fs::write(&gate, "").unwrap_or_else(|e| panic!("{e}"));
    let wa = h.join("data/worktrees/default/a");
    wait_until("a's worktree and setup", LONG, || {
        wa.join("setup.txt").exists()
    });
    wait_until("a running", LONG, || {
        let v: serde_json::Value =
            serde_json::from_str(&ctl(h, &["list", "--json"]).1).unwrap_or_default();
        v["slots"][0]["pid"].as_u64().is_some() && v["slots"][0]["generation"] == 1
    });
    t.wait_text("⎇ corral/a", LONG);
}
