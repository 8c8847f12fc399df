//! What a new user tripped over (issue 22), end to end with the built
//! binary: state kept per config and per slot identity, a client told that
//! the server runs another config, no server left behind without a
//! terminal, transcripts and the audit kept per session.

mod support;

use std::path::Path;
use std::time::Duration;

use support::{Tui, ctl, demo_slot, run_plain, tempdir, wait_until};

const LONG: Duration = Duration::from_secs(30);

fn slots(home: &Path) -> Vec<serde_json::Value> {
    let (code, out, err) = ctl(home, &["list", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    v["slots"].as_array().cloned().unwrap_or_default()
}

fn ids(home: &Path) -> Vec<String> {
    slots(home)
        .iter()
        .map(|s| s["id"].as_str().unwrap_or("").to_string())
        .collect()
}

fn generation(home: &Path, id: &str) -> u64 {
    slots(home)
        .iter()
        .find(|s| s["id"] == id)
        .and_then(|s| s["generation"].as_u64())
        .unwrap_or(0)
}

/// Waits until `n` slots run a program.
fn running(home: &Path, n: usize) {
    wait_until(&format!("{n} slots running"), LONG, || {
        ctl(home, &["list", "--json"]).0 == 0
            && slots(home)
                .iter()
                .filter(|s| s["pid"].as_u64().is_some())
                .count()
                == n
    });
}

fn kill_server(home: &Path, session: &str) {
    let rt = home.join("run").to_string_lossy().into_owned();
    let (code, _, err) = run_plain(&["--runtime-dir", &rt, "-s", session, "kill-server"], home);
    assert_eq!(code, 0, "{err}");
}

/// A shell slot `id` in directory `dir`.
fn shell_in(id: &str, dir: &Path) -> String {
    format!(
        "[[slot]]\nid = \"{id}\"\ncommand = \"/bin/sh\"\ncwd = \"{}\"\n",
        dir.display()
    )
}

fn write(path: &Path, text: &str) -> String {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
    path.to_string_lossy().into_owned()
}

/// Issue 22.1 and 22.2 with plain programs: config A's slots (one added at
/// runtime) do not come back under config B, whose `sh` of another
/// directory starts fresh and says so; a client naming A while B runs is
/// told, on screen and after it ends; A again brings back its own slots,
/// but not its `sh` once that moved to another directory.
#[test]
fn each_config_keeps_its_own_slots_and_a_changed_slot_starts_fresh() {
    let home = tempdir();
    let h = home.path();
    let (pa, pb) = (h.join("proj-a"), h.join("proj-b"));
    for d in [&pa, &pb] {
        std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("{e}"));
    }
    let a = write(
        &h.join("a.toml"),
        &format!("{}{}", shell_in("sh", &pa), shell_in("keep", &pa)),
    );
    let b = write(&h.join("b.toml"), &shell_in("sh", &pb));

    let mut t = Tui::corral(&["--config", &a], 40, 160, h);
    running(h, 2);
    let (code, _, err) = ctl(h, &["new", "--id", "extra", "--", "/bin/sh"]);
    assert_eq!(code, 0, "{err}");
    running(h, 3);
    assert_eq!(ctl(h, &["restart", "sh"]).0, 0);
    assert_eq!(generation(h, "sh"), 2);
    kill_server(h, "default");
    t.wait_exit(LONG);

    // Config B: its own slot only, in its first session, and it says why.
    let mut t = Tui::corral(&["--config", &b], 40, 160, h);
    running(h, 1);
    assert_eq!(ids(h), ["sh"]);
    assert_eq!(generation(h, "sh"), 1);
    t.wait_text("NORMAL", LONG);
    t.send(b"D");
    t.wait_text("fresh start: new in this config", LONG);

    // A client naming config A while B runs is told so, and how to load it.
    let mut other = Tui::corral(&["--config", &a], 30, 200, h);
    other.wait_for("the other config named", LONG, |s| {
        support::sidebar_text(s)
            .contains("session default runs b.toml, not a.toml; to load yours: corral kill-server")
    });
    other.wait_text("NORMAL", LONG);
    other.send(b"d");
    other.wait_exit(LONG);
    // The last bytes reach the reader after the exit: wait for them.
    wait_until("the message after the screen", LONG, || {
        String::from_utf8_lossy(&other.raw()).contains("kill-server` (its agents stop)")
    });
    let after = String::from_utf8_lossy(&other.raw()).into_owned();
    assert!(
        after.contains("corral: session default runs")
            && after.contains("b.toml")
            && after.contains("kill-server"),
        "{after}"
    );
    kill_server(h, "default");
    t.wait_exit(LONG);

    // A again, with `sh` moved to B's directory: `keep` and `extra` are
    // back in their next session, `sh` starts fresh.
    write(
        &h.join("a.toml"),
        &format!("{}{}", shell_in("sh", &pb), shell_in("keep", &pa)),
    );
    let t = Tui::corral(&["--config", &a], 40, 160, h);
    running(h, 3);
    assert_eq!(ids(h), ["sh", "keep", "extra"]);
    assert_eq!(generation(h, "sh"), 1);
    assert_eq!(generation(h, "keep"), 2);
    assert_eq!(generation(h, "extra"), 2);
    t.wait_text("NORMAL", LONG);
    t.send(b"D");
    t.wait_text("fresh start: its directory changed", LONG);
    // The same config file edited since its server started: said too.
    write(
        &h.join("a.toml"),
        &format!("{}{}# edited\n", shell_in("sh", &pb), shell_in("keep", &pa)),
    );
    let mut edited = Tui::corral(&["--config", &a], 30, 200, h);
    edited.wait_for("the edit named", LONG, |s| {
        support::sidebar_text(s).contains("a.toml changed since this server started")
    });
    edited.send(b"d");
    edited.wait_exit(LONG);
}

/// Issue 22.5: `corral` with no terminal says so and starts no server.
#[test]
fn without_a_terminal_corral_says_so_and_leaves_no_server() {
    let home = tempdir();
    let h = home.path();
    let cfg = write(&h.join("c.toml"), &shell_in("sh", h));
    let rt = h.join("run").to_string_lossy().into_owned();
    let data = h.join("data").to_string_lossy().into_owned();
    let out = std::process::Command::new(support::corral_bin())
        .args(["--runtime-dir", &rt, "--data-dir", &data, "--config", &cfg])
        .env("HOME", h)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("corral ctl"), "{err}");
    let (code, listed, _) = run_plain(&["--runtime-dir", &rt, "ls"], h);
    assert_eq!(code, 0);
    assert!(!listed.contains("default"), "a server runs: {listed}");
    assert!(!h.join("run/default.sock").exists());
}

/// Issue 22.4: two sessions with a slot of the same id keep their own
/// transcripts, their audit lines name their session, and `corral audit -s`
/// shows one session (without `-s`: every session's).
#[test]
fn sessions_keep_their_own_transcripts_and_audit() {
    let home = tempdir();
    let h = home.path();
    let one = write(&h.join("one.toml"), &demo_slot("web", "web", 200));
    let two = write(
        &h.join("two.toml"),
        &format!(
            "{}[[slot]]\nid = \"sh\"\ncommand = \"/bin/sh\"\nargs = [\"-c\", \"echo only-in-two; exec /bin/sh\"]\n",
            demo_slot("web", "web", 200)
        ),
    );
    let _a = Tui::corral(&["-s", "one", "--config", &one], 40, 160, h);
    let _b = Tui::corral(&["-s", "two", "--config", &two], 40, 160, h);
    for s in ["one", "two"] {
        wait_until("the server up", LONG, || ctl(h, &["-s", s, "list"]).0 == 0);
        let (code, _, err) = ctl(
            h,
            &[
                "-s",
                s,
                "wait",
                "web",
                "--state",
                "needs-permission",
                "--timeout",
                "30",
            ],
        );
        assert_eq!(code, 0, "{err}");
        let (code, _, err) = ctl(h, &["-s", s, "answer", "web", "deny"]);
        assert_eq!(code, 0, "{err}");
    }
    let data = h.join("data").to_string_lossy().into_owned();
    let audit = |args: &[&str]| {
        let mut all = vec!["--data-dir", data.as_str(), "audit"];
        all.extend_from_slice(args);
        let (code, out, err) = run_plain(&all, h);
        assert_eq!(code, 0, "{err}");
        out
    };
    wait_until("both denies audited", LONG, || {
        audit(&[]).matches("deny").count() >= 2
    });
    for s in ["one", "two"] {
        let json = audit(&["-s", s, "--json"]);
        let lines: Vec<serde_json::Value> = json
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        assert!(!lines.is_empty(), "{json}");
        assert!(lines.iter().all(|l| l["session"] == s), "{json}");
    }
    let table = audit(&[]);
    assert!(
        table.starts_with("SESSION") && table.contains("one") && table.contains("two"),
        "{table}"
    );
    // Each session writes its own transcript of its own `web`.
    let t = |s: &str, slot: &str| {
        std::fs::read(h.join(format!("data/transcripts/{s}/{slot}.raw"))).unwrap_or_default()
    };
    wait_until("two's sh transcript", LONG, || {
        String::from_utf8_lossy(&t("two", "sh")).contains("only-in-two")
    });
    assert!(!t("one", "web").is_empty() && !t("two", "web").is_empty());
    assert!(!h.join("data/transcripts/one/sh.raw").exists());
    kill_server(h, "one");
    kill_server(h, "two");
}

/// Issue 22.11: `ls -s NAME` lists that session alone; `ctl wait --state`
/// with a state that is none lists the states; `ctl list --json` gives
/// each slot's command line and directory.
#[test]
fn ls_ctl_wait_and_list_say_what_they_mean() {
    let home = tempdir();
    let h = home.path();
    let proj = h.join("proj");
    std::fs::create_dir_all(&proj).unwrap_or_else(|e| panic!("{e}"));
    let cfg = write(
        &h.join("c.toml"),
        &format!(
            "[[slot]]\nid = \"sh\"\ncommand = \"/bin/sh\"\nargs = [\"-i\"]\ncwd = \"{}\"\n",
            proj.display()
        ),
    );
    let _t = Tui::corral(&["--config", &cfg], 30, 120, h);
    running(h, 1);
    let sh = &slots(h)[0];
    assert_eq!(sh["command"], serde_json::json!(["/bin/sh", "-i"]), "{sh}");
    assert_eq!(sh["cwd"], proj.to_string_lossy().as_ref(), "{sh}");
    let rt = h.join("run").to_string_lossy().into_owned();
    let (code, out, _) = run_plain(&["--runtime-dir", &rt, "ls", "-s", "nosuch"], h);
    assert_eq!(code, 0);
    assert_eq!(out, "no server running for session nosuch\n");
    let (_, out, _) = run_plain(&["--runtime-dir", &rt, "ls", "-s", "default"], h);
    assert!(out.starts_with("default: 1 slot"), "{out}");
    let (code, _, err) = ctl(h, &["wait", "sh", "--state", "bogus"]);
    assert_eq!(code, 2);
    for state in ["idle", "needs-permission", "any-stop", "exited"] {
        assert!(err.contains(&format!("`{state}`")), "{err}");
    }
    kill_server(h, "default");
}

/// Issue 22.12: every config error names the config as it was given (a
/// relative path stays relative), with line and column, and exits 2,
/// whether the client or the server would find it.
#[test]
fn config_errors_name_the_file_as_given() {
    let home = tempdir();
    let h = home.path();
    let outside = tempdir();
    for (name, body, want) in [
        (
            "agent.toml",
            "[[slot]]\nid = \"a\"\nagent = \"nosuch\"\ncommand = \"sh\"\n".to_string(),
            "agent.toml:3:9: unknown agent \"nosuch\"",
        ),
        (
            "tree.toml",
            format!(
                "[[slot]]\nid = \"lost\"\ncommand = \"sh\"\nworktree = true\ncwd = \"{}\"\n",
                outside.path().display()
            ),
            "tree.toml:2:6: slot \"lost\" has worktree = true",
        ),
        (
            "key.toml",
            "[[slot]]\nid = \"a\"\ncommand = \"sh\"\nbogus = 1\n".to_string(),
            "key.toml:4:1: unknown field `bogus`",
        ),
    ] {
        write(&h.join(name), &body);
        let out = std::process::Command::new(support::corral_bin())
            .args([
                "--runtime-dir",
                "run",
                "--data-dir",
                "data",
                "--config",
                name,
            ])
            .current_dir(h)
            .env("HOME", h)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.starts_with(&format!("corral: {want}")), "{name}: {err}");
    }
}

/// A slot added at runtime keeps the directory it was added in: a server
/// started again from another directory brings it back there, in its next
/// session (not in the new directory, resuming what it ran elsewhere).
#[test]
fn a_slot_added_at_runtime_comes_back_where_it_was() {
    let home = tempdir();
    let h = home.path();
    let (a, b) = (h.join("from-a"), h.join("from-b"));
    for d in [&a, &b] {
        std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("{e}"));
    }
    let cfg = write(&h.join("c.toml"), &shell_in("sh", h));
    let start = |dir: &Path| {
        let s = |p: &Path| p.to_string_lossy().into_owned();
        let (c, d, r, k) = (
            s(&h.join("config")),
            s(&h.join("data")),
            s(&h.join("run")),
            cfg.clone(),
        );
        let home_s = s(h);
        Tui::spawn(
            &support::corral_bin(),
            &[
                "--config-dir",
                &c,
                "--data-dir",
                &d,
                "--runtime-dir",
                &r,
                "--config",
                &k,
            ],
            30,
            120,
            &[("HOME", home_s.as_str()), ("SHELL", "/bin/sh")],
            dir,
        )
    };
    let mut t = start(&a);
    running(h, 1);
    let (code, _, err) = ctl(h, &["new", "--id", "extra", "--", "/bin/sh"]);
    assert_eq!(code, 0, "{err}");
    running(h, 2);
    let cwd_of = |id: &str| {
        slots(h)
            .iter()
            .find(|s| s["id"] == id)
            .and_then(|s| s["cwd"].as_str().map(str::to_string))
            .unwrap_or_default()
    };
    assert_eq!(cwd_of("extra"), a.to_string_lossy());
    kill_server(h, "default");
    t.wait_exit(LONG);
    let _t = start(&b);
    running(h, 2);
    assert_eq!(cwd_of("extra"), a.to_string_lossy());
    assert_eq!(generation(h, "extra"), 2);
    kill_server(h, "default");
}
