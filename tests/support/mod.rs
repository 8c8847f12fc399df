//! Test harness: runs a program in a real PTY of a fixed size, reads its
//! output back through corral's own terminal engine (which answers terminal
//! queries as a terminal would) and waits on screen conditions with generous
//! timeouts, never fixed sleeps.

#![allow(dead_code)]

pub mod agents;
pub mod fake;
pub mod rules;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corral::engine::Engine;
use portable_pty::{CommandBuilder, MasterPty, PtySize, native_pty_system};

/// A program running in an outer PTY, with its screen.
pub struct Tui {
    engine: Arc<Mutex<Engine>>,
    writer: Arc<Mutex<Box<dyn Write + Send>>>,
    master: Box<dyn MasterPty + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    raw: Arc<Mutex<Vec<u8>>>,
    /// The runtime directory of the corral servers this terminal may have
    /// started: they are stopped when it is dropped.
    runtime: Option<PathBuf>,
}

/// A `[[slot]]` running corral's scripted Claude-Code-style demo agent
/// (`script`: api, web or docs; one time unit = `pace_ms`).
pub fn demo_slot(id: &str, script: &str, pace_ms: u32) -> String {
    format!(
        "[[slot]]\nid = \"{id}\"\nagent = \"claude\"\ncommand = \"{}\"\nargs = [\"demo-agent\", \"--script\", \"{script}\", \"--pace-ms\", \"{pace_ms}\"]\n",
        corral_bin().display()
    )
}

/// The path of the corral binary under test.
pub fn corral_bin() -> PathBuf {
    // Set for integration tests; examples (the fixture capture) use the
    // debug build.
    match option_env!("CARGO_BIN_EXE_corral") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/debug/corral"),
    }
}

impl Tui {
    /// Starts `program args` in a `rows` x `cols` PTY with `env` added, in `cwd`.
    pub fn spawn(
        program: &Path,
        args: &[&str],
        rows: u16,
        cols: u16,
        env: &[(&str, &str)],
        cwd: &Path,
    ) -> Tui {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap_or_else(|e| panic!("openpty: {e}"));
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        cmd.cwd(cwd);
        cmd.env("TERM", "xterm-256color");
        // A corral started here keeps its servers' sockets in the test's
        // own directory, never in the user's runtime directory.
        let runtime = args
            .iter()
            .position(|a| *a == "--runtime-dir")
            .and_then(|i| args.get(i + 1))
            .map(PathBuf::from)
            .unwrap_or_else(|| cwd.join("run"));
        cmd.env("XDG_RUNTIME_DIR", cwd.join("xdg-run"));
        // The suites stand in for a person at a terminal. CI runners export `CI=true`, which
        // makes Gemini CLI 0.61.0 run headless and exit 42 ("No input provided via stdin").
        for k in [
            "TMUX",
            "TMUX_PANE",
            "CI",
            "GITHUB_ACTIONS",
            "CONTINUOUS_INTEGRATION",
        ] {
            cmd.env_remove(k);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair
            .slave
            .spawn_command(cmd)
            .unwrap_or_else(|e| panic!("spawn {}: {e}", program.display()));
        drop(pair.slave);
        let mut reader = pair
            .master
            .try_clone_reader()
            .unwrap_or_else(|e| panic!("{e}"));
        let writer: Arc<Mutex<Box<dyn Write + Send>>> = Arc::new(Mutex::new(
            pair.master.take_writer().unwrap_or_else(|e| panic!("{e}")),
        ));
        let engine = Arc::new(Mutex::new(Engine::new(rows, cols, 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        {
            let engine = engine.clone();
            let writer = writer.clone();
            let raw = raw.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                loop {
                    match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            raw.lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .extend_from_slice(&buf[..n]);
                            let replies = engine
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .process(&buf[..n])
                                .replies;
                            if !replies.is_empty() {
                                let _ = writer
                                    .lock()
                                    .unwrap_or_else(|p| p.into_inner())
                                    .write_all(&replies);
                            }
                        }
                    }
                }
            });
        }
        Tui {
            engine,
            writer,
            master: pair.master,
            child,
            raw,
            runtime: Some(runtime),
        }
    }

    /// Starts the corral binary with `args` and a private config, data and
    /// runtime dir (`config/`, `data/`, `run/` under `home`).
    pub fn corral(args: &[&str], rows: u16, cols: u16, home: &Path) -> Tui {
        Tui::corral_env(args, rows, cols, home, &[])
    }

    /// [`Tui::corral`] with `env` added to the client's environment (and
    /// so the server's it starts): `TMUX`, a `PATH` with a wrapper first.
    pub fn corral_env(
        args: &[&str],
        rows: u16,
        cols: u16,
        home: &Path,
        env: &[(&str, &str)],
    ) -> Tui {
        let cfg = home.join("config");
        let data = home.join("data");
        let rt = home.join("run");
        let cfg_s = cfg.to_string_lossy().into_owned();
        let data_s = data.to_string_lossy().into_owned();
        let rt_s = rt.to_string_lossy().into_owned();
        let mut all: Vec<&str> = vec![
            "--config-dir",
            &cfg_s,
            "--data-dir",
            &data_s,
            "--runtime-dir",
            &rt_s,
        ];
        all.extend_from_slice(args);
        let home_s = home.to_string_lossy().into_owned();
        let mut vars = vec![("HOME", home_s.as_str()), ("SHELL", "/bin/sh")];
        vars.extend_from_slice(env);
        Tui::spawn(&corral_bin(), &all, rows, cols, &vars, home)
    }

    /// The screen as text, rows joined by newlines.
    pub fn text(&self) -> String {
        self.engine
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .snapshot()
            .rows
            .join("\n")
    }

    /// All bytes the program wrote so far.
    pub fn raw(&self) -> Vec<u8> {
        self.raw.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Every text the program put on the clipboard so far (OSC 52
    /// sequences in its output, decoded), oldest first.
    pub fn clipboard(&self) -> Vec<String> {
        use base64::Engine as _;
        let raw = self.raw();
        let mut out = Vec::new();
        let head = b"\x1b]52;c;";
        let mut at = 0;
        while let Some(k) = raw[at..].windows(head.len()).position(|w| w == head) {
            let start = at + k + head.len();
            let Some(len) = raw[start..].iter().position(|b| *b == 0x07) else {
                break;
            };
            let text = base64::engine::general_purpose::STANDARD
                .decode(&raw[start..start + len])
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_else(|e| panic!("bad base64 in OSC 52: {e}"));
            out.push(text);
            at = start + len;
        }
        out
    }

    /// Waits until the clipboard's newest text is `want` (30 s at most).
    pub fn wait_clipboard(&self, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.clipboard();
            if got.last().map(String::as_str) == Some(want) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "clipboard {got:?}, want {want:?}; screen:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until `pred(screen)` holds; panics with the screen after `timeout`.
    pub fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let t = self.text();
            if pred(&t) {
                return t;
            }
            if Instant::now() > deadline {
                panic!("timed out after {timeout:?} waiting for {what}; screen:\n{t}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the screen contains `needle`.
    pub fn wait_text(&self, needle: &str, timeout: Duration) -> String {
        self.wait_for(&format!("{needle:?}"), timeout, |t| t.contains(needle))
    }

    /// Waits until the status line (the last row) shows `mode` (`NORMAL`,
    /// `INSERT`); panics with the screen after `timeout`.
    pub fn wait_mode(&self, mode: &str, timeout: Duration) -> String {
        self.wait_for(&format!("{mode} in the status line"), timeout, |s| {
            s.lines().last().is_some_and(|l| l.contains(mode))
        })
    }

    /// Sends bytes as typed keys.
    pub fn send(&self, bytes: &[u8]) {
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        w.write_all(bytes).unwrap_or_else(|e| panic!("write: {e}"));
        let _ = w.flush();
    }

    /// Types text (one write per char, as a person would).
    pub fn type_text(&self, s: &str) {
        for c in s.chars() {
            let mut b = [0u8; 4];
            self.send(c.encode_utf8(&mut b).as_bytes());
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.process_id().unwrap_or(0)
    }

    /// Waits for the child to exit; returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> u32 {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st.exit_code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("did not exit within {timeout:?}; screen:\n{}", self.text());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the program has written nothing for `quiet` (it has
    /// settled: no frame pending, no timer about to fire); panics after
    /// `timeout`.
    pub fn wait_quiet(&self, quiet: Duration, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut len = self.raw.lock().unwrap_or_else(|p| p.into_inner()).len();
        let mut since = Instant::now();
        loop {
            std::thread::sleep(Duration::from_millis(20));
            let now_len = self.raw.lock().unwrap_or_else(|p| p.into_inner()).len();
            if now_len != len {
                len = now_len;
                since = Instant::now();
            } else if since.elapsed() >= quiet {
                return;
            }
            if Instant::now() > deadline {
                panic!("still writing after {timeout:?}; screen:\n{}", self.text());
            }
        }
    }

    /// Resizes the outer terminal to `rows` x `cols` (the program gets
    /// SIGWINCH), as a user dragging the window's edge.
    pub fn resize(&self, rows: u16, cols: u16) {
        self.engine
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .resize(rows, cols);
        self.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap_or_else(|e| panic!("resize: {e}"));
    }

    /// The PTY's terminal attributes (to check raw vs cooked mode).
    pub fn termios(&self) -> Option<nix::sys::termios::Termios> {
        self.master.get_termios()
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if let Some(rt) = &self.runtime {
            kill_servers(rt);
            kill_servers(&rt.with_file_name("xdg-run").join("corral"));
        }
    }
}

/// Stops every corral server whose socket is in `runtime_dir`
/// (`corral kill-server` for each), waiting until each is gone.
pub fn kill_servers(runtime_dir: &Path) {
    let Ok(dir) = std::fs::read_dir(runtime_dir) else {
        return;
    };
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(session) = name.strip_suffix(".sock") {
            let _ = std::process::Command::new(corral_bin())
                .arg("--runtime-dir")
                .arg(runtime_dir)
                .args(["kill-server", "-s", session])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

/// Runs a program to completion without a terminal; returns (status, stdout, stderr).
pub fn run_plain(args: &[&str], home: &Path) -> (i32, String, String) {
    let out = std::process::Command::new(corral_bin())
        .args(args)
        .env("HOME", home)
        .env("XDG_RUNTIME_DIR", home.join("xdg-run"))
        .output()
        .unwrap_or_else(|e| panic!("run corral: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `corral ctl ARGS` against the corral of `home` (the dirs `Tui::corral`
/// gives it): exit status, stdout, stderr.
pub fn ctl(home: &Path, args: &[&str]) -> (i32, String, String) {
    let out = ctl_cmd(home, args)
        .output()
        .unwrap_or_else(|e| panic!("run corral ctl: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The command line of `corral ctl ARGS` against the corral of `home`.
pub fn ctl_cmd(home: &Path, args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(corral_bin());
    c.arg("--runtime-dir")
        .arg(home.join("run"))
        .arg("--data-dir")
        .arg(home.join("data"))
        .arg("ctl")
        .args(args)
        .env("HOME", home)
        .stdin(std::process::Stdio::null());
    c
}

/// `corral ctl events --json ARGS` running in the background, its lines
/// read as they come; killed on drop.
pub struct Events {
    child: std::process::Child,
    lines: std::sync::Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Events {
    /// Starts the stream and waits until the server follows the session
    /// for it (its first line).
    pub fn start(home: &Path, args: &[&str]) -> Events {
        let mut all = vec!["events", "--json"];
        all.extend_from_slice(args);
        let mut child = ctl_cmd(home, &all)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn corral ctl events: {e}"));
        let lines = std::sync::Arc::new(Mutex::new(Vec::new()));
        if let Some(out) = child.stdout.take() {
            let lines = lines.clone();
            std::thread::spawn(move || {
                use std::io::BufRead;
                for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                    let v =
                        serde_json::from_str(&l).unwrap_or_else(|e| panic!("ctl events: {e}: {l}"));
                    lines.lock().unwrap_or_else(|p| p.into_inner()).push(v);
                }
            });
        }
        let e = Events { child, lines };
        wait_until("ctl events following", Duration::from_secs(30), || {
            e.all().first().is_some_and(|v| v["reply"] == "following")
        });
        e
    }

    /// Every line so far.
    pub fn all(&self) -> Vec<serde_json::Value> {
        self.lines.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The events so far (not the first line).
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.all()
            .into_iter()
            .filter(|v| v["reply"] == "event")
            .collect()
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The pid of the server of `home`'s corral (`Tui::corral`'s dirs), from
/// `corral ls`.
pub fn server_pid(home: &Path) -> i32 {
    let rt = home.join("run").to_string_lossy().into_owned();
    let (_, out, _) = run_plain(&["--runtime-dir", &rt, "ls"], home);
    out.split("(pid ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no pid in ls:\n{out}"))
}

/// A fresh temporary directory that is removed on drop.
pub fn tempdir() -> tempfile::TempDir {
    // CORRAL_KEEP_TMP=1 keeps the directories, to look at after a failure.
    let keep = std::env::var_os("CORRAL_KEEP_TMP").is_some();
    tempfile::Builder::new()
        .disable_cleanup(keep)
        .prefix("corral-test.")
        .tempdir()
        .unwrap_or_else(|e| panic!("tempdir: {e}"))
}

/// Waits until `pred()` holds, polling, for up to `timeout`; returns
/// whether it did (the caller asserts what it needs, with its own message).
pub fn wait_until_or(timeout: Duration, mut pred: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if pred() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    pred()
}

/// Waits until `pred()` holds, polling; panics with `what` after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut pred: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !pred() {
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Writes `body` as a config file in `dir`; returns its path.
pub fn write_config(dir: &Path, body: &str) -> String {
    let p = dir.join("test-config.toml");
    std::fs::write(&p, body).unwrap_or_else(|e| panic!("{e}"));
    p.to_string_lossy().into_owned()
}

/// The audit log's lines under a test's home (`data/audit.jsonl`), parsed.
pub fn audit_lines(home: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(home.join("data/audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The arguments of process `pid` once it runs its own program: right
/// after a session starts, its process may still be corral's fork, with
/// the server's arguments, until it has called exec (waits up to 30 s).
pub fn exec_args(pid: u64) -> Vec<String> {
    let corral = std::fs::canonicalize(corral_bin()).unwrap_or_else(|_| corral_bin());
    let exe = || std::fs::read_link(format!("/proc/{pid}/exe")).ok();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while exe().is_some_and(|e| e == corral) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .unwrap_or_default()
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// The sidebar's text in `screen`, its rows joined by spaces (a message
/// wraps there).
pub fn sidebar_text(screen: &str) -> String {
    screen
        .lines()
        .filter_map(|l| l.strip_prefix('│'))
        .filter_map(|l| l.split('│').next())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `git -C dir ARGS` with a fixed author; its standard output,
/// trimmed. Panics when git fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@t")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@t")
        .output()
        .unwrap_or_else(|e| panic!("git: {e}"));
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
