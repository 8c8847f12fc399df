//! corral beside tmux, on the same machine in the same run: throughput (plain
//! and SGR), 8 panes at once, idle CPU, memory, key-to-echo latency and
//! launch time. Each multiplexer runs in an outer PTY of 200x50 that reads
//! and discards what it draws and answers terminal queries (DA1, cursor
//! position) as a terminal would. Only the multiplexer's own processes are
//! counted (corral; tmux server and client). A benchmark, not a test: see
//! bench/README.md.
//!
//! usage: bench/run.sh [RUNS [FILTER]]   (default 3 runs of each figure;
//!        FILTER runs only the figures whose name contains it;
//!        CORRAL_BENCH_BIN=PATH measures that corral binary instead, without
//!        corral's own figures)
//!        bench/run.sh SECS flood   (the flood run: memory, echo, transcripts)

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

const COLS: u16 = 200;
const ROWS: u16 = 50;

/// A multiplexer in an outer PTY whose output is counted and discarded.
struct Outer {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    writer: Arc<Mutex<Box<dyn Write + Send>>>,
    /// Bytes the multiplexer drew so far.
    bytes: Arc<AtomicU64>,
    /// The last 64 KiB it drew (for markers).
    tail: Arc<Mutex<Vec<u8>>>,
    /// A byte string to watch for, and when the reader thread first saw it
    /// in the output: timed where it arrives, not where a poll notices it.
    watch: Arc<Mutex<(Vec<u8>, Option<Instant>)>>,
    _master: Box<dyn portable_pty::MasterPty + Send>,
    /// The tmux server's socket name: the server outlives its client and is
    /// killed on stop, so no run leaves panes behind.
    tmux_socket: Option<String>,
    /// corral and its runtime dir: its server is stopped with the run.
    corral_runtime: Option<(PathBuf, PathBuf)>,
}

impl Outer {
    fn spawn(argv: &[String], env: &[(&str, String)]) -> Outer {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap_or_else(|e| panic!("openpty: {e}"));
        let mut cmd = CommandBuilder::new(&argv[0]);
        cmd.args(&argv[1..]);
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("TMUX");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair
            .slave
            .spawn_command(cmd)
            .unwrap_or_else(|e| panic!("spawn {argv:?}: {e}"));
        drop(pair.slave);
        let mut reader = pair
            .master
            .try_clone_reader()
            .unwrap_or_else(|e| panic!("{e}"));
        let writer: Arc<Mutex<Box<dyn Write + Send>>> = Arc::new(Mutex::new(
            pair.master.take_writer().unwrap_or_else(|e| panic!("{e}")),
        ));
        let bytes = Arc::new(AtomicU64::new(0));
        let tail = Arc::new(Mutex::new(Vec::new()));
        let watch = Arc::new(Mutex::new((Vec::new(), None)));
        {
            let (writer, bytes, tail, watch) =
                (writer.clone(), bytes.clone(), tail.clone(), watch.clone());
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 1 << 16];
                let mut carry: Vec<u8> = Vec::new();
                loop {
                    let n = match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let at = Instant::now();
                    bytes.fetch_add(n as u64, Ordering::Relaxed);
                    if let Ok(mut w) = watch.lock()
                        && !w.0.is_empty()
                        && w.1.is_none()
                        && buf[..n].windows(w.0.len()).any(|x| x == w.0.as_slice())
                    {
                        w.1 = Some(at);
                    }
                    // Answer queries split across reads too.
                    carry.extend_from_slice(&buf[..n]);
                    let mut reply = Vec::new();
                    for w in carry.windows(4) {
                        if w == b"\x1b[6n" {
                            reply.extend_from_slice(b"\x1b[1;1R");
                        }
                    }
                    for w in carry.windows(3) {
                        if w == b"\x1b[c" {
                            reply.extend_from_slice(b"\x1b[?62;22c");
                        }
                    }
                    let keep = carry.len().saturating_sub(3);
                    carry.drain(..keep);
                    if !reply.is_empty() {
                        let _ = writer.lock().map(|mut w| w.write_all(&reply));
                    }
                    if let Ok(mut t) = tail.lock() {
                        t.extend_from_slice(&buf[..n]);
                        let excess = t.len().saturating_sub(1 << 16);
                        t.drain(..excess);
                    }
                }
            });
        }
        Outer {
            child,
            writer,
            bytes,
            tail,
            watch,
            _master: pair.master,
            tmux_socket: None,
            corral_runtime: None,
        }
    }

    fn send(&self, b: &[u8]) {
        if let Ok(mut w) = self.writer.lock() {
            let _ = w.write_all(b);
            let _ = w.flush();
        }
    }

    /// Starts watching the output for `needle` (within one read).
    fn arm(&self, needle: &[u8]) {
        if let Ok(mut w) = self.watch.lock() {
            *w = (needle.to_vec(), None);
        }
    }

    /// When the armed needle was first read, if it was.
    fn seen_at(&self) -> Option<Instant> {
        self.watch.lock().ok().and_then(|w| w.1)
    }

    fn tail_has(&self, needle: &[u8]) -> bool {
        self.tail
            .lock()
            .is_ok_and(|t| t.windows(needle.len()).any(|w| w == needle))
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(sock) = &self.tmux_socket {
            let _ = Command::new("tmux")
                .args(["-L", sock, "kill-server"])
                .output();
        }
        if let Some((corral, rt)) = &self.corral_runtime {
            let _ = Command::new(corral)
                .arg("--runtime-dir")
                .arg(rt)
                .arg("kill-server")
                .output();
        }
    }
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A multiplexer under test.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mux {
    Corral,
    Tmux,
}

struct Bench {
    dir: PathBuf,
    corral: PathBuf,
    seq: u32,
}

impl Bench {
    /// Starts `mux` with one pane per command; returns it once it drew.
    fn start(&mut self, mux: Mux, panes: &[String]) -> (Outer, Vec<u32>) {
        if mux == Mux::Corral {
            let mut slots = String::new();
            for (i, p) in panes.iter().enumerate() {
                slots.push_str(&format!(
                    "[[slot]]\nid = \"p{i}\"\ncommand = \"/bin/sh\"\nargs = [\"-c\", {p:?}]\n"
                ));
            }
            let (outer, pids, _) = self.start_corral(&slots);
            return (outer, pids);
        }
        self.seq += 1;
        let d = self.dir.join(format!("run{}", self.seq));
        std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
        let sock = format!("corral-bench-{}-{}", std::process::id(), self.seq);
        let mut conf = String::from("set -g status off\n");
        for (i, p) in panes.iter().enumerate() {
            let cmd = format!("/bin/sh -c {}", shell_quote(p));
            if i == 0 {
                conf.push_str(&format!(
                    "new-session -x {COLS} -y {ROWS} {}\n",
                    shell_quote(&cmd)
                ));
            } else {
                conf.push_str(&format!(
                    "split-window {}\nselect-layout tiled\n",
                    shell_quote(&cmd)
                ));
            }
        }
        std::fs::write(d.join("tmux.conf"), conf).unwrap_or_else(|e| panic!("{e}"));
        let argv: Vec<String> = vec![
            "tmux".into(),
            "-L".into(),
            sock,
            "-f".into(),
            d.join("tmux.conf").to_string_lossy().into_owned(),
            "attach".into(),
        ];
        let mut outer = Outer::spawn(&argv, &[]);
        outer.tmux_socket = Some(argv[2].clone());
        wait_for("first draw", Duration::from_secs(20), || {
            outer.bytes.load(Ordering::Relaxed) > 0
        });
        let pids = mux_pids(mux, outer.child.process_id().unwrap_or(0), &argv);
        (outer, pids)
    }

    /// Starts corral with `slots` (`[[slot]]` tables) after the bench's
    /// common settings; returns it once it drew, with its processes (client
    /// and server) and the directory that holds its config, `data` and
    /// `run`.
    fn start_corral(&mut self, slots: &str) -> (Outer, Vec<u32>, PathBuf) {
        self.seq += 1;
        let d = self.dir.join(format!("run{}", self.seq));
        std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
        // Transcripts never rotate here: the flood run compares them whole.
        // The panes are shells, not agents: a small minimum pane keeps
        // all eight tiled and drawn, as tmux's `tiled` layout does.
        // Each multiplexer keeps its default scrollback (corral 5,000
        // rows, tmux 2,000), as a user who sets nothing gets.
        let cfg = format!(
            "[ui]\nmin_pane = {{ cols = 20, rows = 5 }}\n[transcripts]\nmax_mib = 1048576\n{slots}"
        );
        std::fs::write(d.join("c.toml"), cfg).unwrap_or_else(|e| panic!("{e}"));
        let argv: Vec<String> = vec![
            self.corral.to_string_lossy().into_owned(),
            "--config".into(),
            d.join("c.toml").to_string_lossy().into_owned(),
            "--data-dir".into(),
            d.join("data").to_string_lossy().into_owned(),
            "--runtime-dir".into(),
            d.join("run").to_string_lossy().into_owned(),
        ];
        let mut outer = Outer::spawn(&argv, &[]);
        outer.corral_runtime = Some((self.corral.clone(), d.join("run")));
        wait_for("first draw", Duration::from_secs(20), || {
            outer.bytes.load(Ordering::Relaxed) > 0
        });
        let pids = mux_pids(Mux::Corral, outer.child.process_id().unwrap_or(0), &argv);
        (outer, pids, d)
    }

    /// `corral ARGS` against the session started in `d`: (status, stdout).
    fn corral_cmd(&self, d: &Path, args: &[&str]) -> (bool, String) {
        let out = Command::new(&self.corral)
            .arg("--data-dir")
            .arg(d.join("data"))
            .arg("--runtime-dir")
            .arg(d.join("run"))
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("corral {args:?}: {e}"));
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The multiplexer's own processes: corral client and server; tmux client
/// and server.
fn mux_pids(mux: Mux, outer_child: u32, argv: &[String]) -> Vec<u32> {
    let mut pids = vec![outer_child];
    if mux == Mux::Corral {
        let rt = argv
            .iter()
            .position(|a| a == "--runtime-dir")
            .and_then(|i| argv.get(i + 1))
            .cloned()
            .unwrap_or_default();
        let ls = || {
            let out = Command::new(&argv[0])
                .args(["--runtime-dir", &rt, "ls"])
                .output()
                .ok()?;
            String::from_utf8_lossy(&out.stdout)
                .split("(pid ")
                .nth(1)?
                .split(')')
                .next()?
                .parse::<u32>()
                .ok()
        };
        wait_for("corral server", Duration::from_secs(10), || ls().is_some());
        if let Some(p) = ls() {
            pids.push(p);
        }
    }
    if mux == Mux::Tmux {
        let sock = &argv[2];
        wait_for("tmux server", Duration::from_secs(10), || {
            server_pid(sock).is_some()
        });
        if let Some(p) = server_pid(sock) {
            pids.push(p);
        }
    }
    pids
}

fn server_pid(sock: &str) -> Option<u32> {
    let out = Command::new("tmux")
        .args(["-L", sock, "display", "-p", "#{pid}"])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// CPU time of a process (all its threads), in milliseconds, from
/// /proc/PID/task/*/schedstat (nanosecond resolution).
fn cpu_ms(pid: u32) -> f64 {
    let mut ns: u64 = 0;
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.filter_map(Result::ok) {
            let s = std::fs::read_to_string(t.path().join("schedstat")).unwrap_or_default();
            ns += s
                .split_whitespace()
                .next()
                .and_then(|x| x.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    ns as f64 / 1e6
}

/// (RSS, PSS) of a process in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (field("Rss:"), field("Pss:"))
}

/// A pane script: wait for `go`, cat the file, record start and end times.
fn cat_script(file: &Path, go: &Path, out: &Path) -> String {
    format!(
        "while [ ! -e {go} ]; do sleep 0.01; done; s=$(date +%s%N); cat {file}; e=$(date +%s%N); echo \"$s $e\" > {out}.tmp; mv {out}.tmp {out}; sleep 600",
        go = go.display(),
        file = file.display(),
        out = out.display()
    )
}

fn read_times(p: &Path) -> Option<(u128, u128)> {
    let s = std::fs::read_to_string(p).ok()?;
    let mut it = s.split_whitespace().map(|x| x.parse::<u128>().ok());
    Some((it.next()??, it.next()??))
}

/// Seconds for `n` panes to each cat `file` through the multiplexer.
fn throughput(b: &mut Bench, mux: Mux, file: &Path, n: usize) -> f64 {
    let go = b.dir.join(format!("go{}", b.seq + 1));
    let outs: Vec<PathBuf> = (0..n)
        .map(|i| b.dir.join(format!("t{}-{i}", b.seq + 1)))
        .collect();
    let panes: Vec<String> = outs.iter().map(|o| cat_script(file, &go, o)).collect();
    let (outer, _) = b.start(mux, &panes);
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(&go, "").unwrap_or_else(|e| panic!("{e}"));
    wait_for("all panes done", Duration::from_secs(300), || {
        outs.iter().all(|o| o.exists())
    });
    let times: Vec<(u128, u128)> = outs.iter().filter_map(|o| read_times(o)).collect();
    outer.stop();
    let start = times.iter().map(|t| t.0).min().unwrap_or(0);
    let end = times.iter().map(|t| t.1).max().unwrap_or(0);
    (end - start) as f64 / 1e9
}

/// Wake-ups (context switches) of a process's threads so far, from
/// /proc/PID/task/*/schedstat (its third field: timeslices run).
fn wakeups(pid: u32) -> u64 {
    let mut n: u64 = 0;
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.filter_map(Result::ok) {
            let s = std::fs::read_to_string(t.path().join("schedstat")).unwrap_or_default();
            n += s
                .split_whitespace()
                .nth(2)
                .and_then(|x| x.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    n
}

/// Over 10 s with 8 idle panes: CPU milliseconds the multiplexer used,
/// times its threads ran (wake-ups), bytes it drew, and its PSS (MiB) with
/// nothing printed yet.
fn idle(b: &mut Bench, mux: Mux) -> (f64, f64, f64, f64) {
    let panes = vec!["sleep 600".to_string(); 8];
    let (outer, pids) = b.start(mux, &panes);
    std::thread::sleep(Duration::from_secs(3));
    let before: f64 = pids.iter().map(|p| cpu_ms(*p)).sum();
    let woke: u64 = pids.iter().map(|p| wakeups(*p)).sum();
    let drawn = outer.bytes.load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs(10));
    let after: f64 = pids.iter().map(|p| cpu_ms(*p)).sum();
    let woke = pids.iter().map(|p| wakeups(*p)).sum::<u64>() - woke;
    let drawn = outer.bytes.load(Ordering::Relaxed) - drawn;
    let pss: u64 = pids.iter().map(|p| memory_kib(*p).1).sum();
    outer.stop();
    (
        after - before,
        woke as f64,
        drawn as f64,
        pss as f64 / 1024.0,
    )
}

/// RSS and PSS (MiB) after 8 panes printed 10,000 lines each.
fn memory(b: &mut Bench, mux: Mux) -> (f64, f64) {
    let done: Vec<PathBuf> = (0..8)
        .map(|i| b.dir.join(format!("m{}-{i}", b.seq + 1)))
        .collect();
    let panes: Vec<String> = done
        .iter()
        .map(|d| format!("i=0; while [ $i -lt 10000 ]; do i=$((i+1)); echo \"line $i of the memory benchmark, some text to fill the row\"; done; touch {}; sleep 600", d.display()))
        .collect();
    let (outer, pids) = b.start(mux, &panes);
    wait_for(
        "10,000 lines in each pane",
        Duration::from_secs(300),
        || done.iter().all(|d| d.exists()),
    );
    std::thread::sleep(Duration::from_secs(1));
    let (rss, pss) = pids
        .iter()
        .map(|p| memory_kib(*p))
        .fold((0, 0), |a, m| (a.0 + m.0, a.1 + m.1));
    outer.stop();
    (rss as f64 / 1024.0, pss as f64 / 1024.0)
}

/// Milliseconds from a key to its echo on the outer terminal (the pane runs
/// `cat` in raw mode), `n` keys.
fn key_echo(b: &mut Bench, mux: Mux, n: usize) -> Vec<f64> {
    let ready = b.dir.join(format!("k{}", b.seq + 1));
    let panes = vec![format!("stty raw -echo; touch {}; cat", ready.display())];
    let (outer, _) = b.start(mux, &panes);
    wait_for("cat ready", Duration::from_secs(20), || ready.exists());
    let samples = echo_keys(&outer, mux, n);
    outer.stop();
    samples
}

/// Types `n` keys into the focused pane of `outer` (running `cat` in raw
/// mode) one at a time: milliseconds from each key to its echo.
fn echo_keys(outer: &Outer, mux: Mux, n: usize) -> Vec<f64> {
    if mux == Mux::Corral {
        outer.send(b"i");
    }
    std::thread::sleep(Duration::from_millis(500));
    let mut samples = Vec::new();
    let alphabet = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    for i in 0..n {
        // Two distinct letters, so the echo is recognisable in a redraw.
        let pair = [
            alphabet[i % alphabet.len()],
            alphabet[(i * 7 + 3) % alphabet.len()],
        ];
        outer.arm(&pair[..1]);
        let t0 = Instant::now();
        outer.send(&pair[..1]);
        wait_for("echo", Duration::from_secs(5), || outer.seen_at().is_some());
        let seen = outer.seen_at().unwrap_or_else(Instant::now);
        samples.push(seen.duration_since(t0).as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_millis(30));
        outer.send(b"\r");
        std::thread::sleep(Duration::from_millis(30));
        if let Ok(mut t) = outer.tail.lock() {
            t.clear();
        }
    }
    samples
}

/// Key to echo in corral (as [`key_echo`]) while `clients` WebSocket clients
/// of `corral web` watch the same pane (half its output stream, half its
/// rendered screens), every one reading all it is sent. Returns the
/// milliseconds of each key and the messages the clients got in all.
fn web_key_echo(b: &mut Bench, clients: usize, n: usize) -> (Vec<f64>, u64) {
    use std::io::BufRead;
    let ready = b.dir.join(format!("w{}", b.seq + 1));
    let slot = format!(
        "[[slot]]\nid = \"p0\"\ncommand = \"/bin/sh\"\nargs = [\"-c\", {:?}]\n",
        format!("stty raw -echo; touch {}; cat", ready.display())
    );
    let (outer, _, d) = b.start_corral(&slot);
    wait_for("cat ready", Duration::from_secs(20), || ready.exists());
    let mut web = Command::new(&b.corral)
        .arg("--data-dir")
        .arg(d.join("data"))
        .arg("--runtime-dir")
        .arg(d.join("run"))
        .args(["web", "--listen", "127.0.0.1:0", "--no-qr"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("corral web: {e}"));
    let mut out = std::io::BufReader::new(web.stdout.take().unwrap_or_else(|| panic!("stdout")));
    let mut url = String::new();
    let _ = out.read_line(&mut url);
    // The gateway must never block on a full pipe.
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut out, &mut std::io::sink());
    });
    let host = url
        .trim()
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let token = url
        .trim()
        .split("token=")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    assert!(
        !host.is_empty() && !token.is_empty(),
        "corral web printed {url:?}"
    );
    let got = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for k in 0..clients {
        use tungstenite::client::IntoClientRequest;
        let mode = if k % 2 == 0 { "" } else { "?mode=screen" };
        let mut req = format!("ws://{host}/ws/slot/p0{mode}")
            .into_client_request()
            .unwrap_or_else(|e| panic!("{e}"));
        req.headers_mut().insert(
            "Authorization",
            format!("Bearer {token}")
                .parse()
                .unwrap_or_else(|e| panic!("{e}")),
        );
        let (mut ws, _) = tungstenite::connect(req).unwrap_or_else(|e| panic!("ws {k}: {e}"));
        let got = got.clone();
        readers.push(std::thread::spawn(move || {
            while ws.read().is_ok() {
                got.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Every client has its first screen before the keys start.
    wait_for(
        "each client's first screen",
        Duration::from_secs(30),
        || got.load(Ordering::Relaxed) >= clients as u64,
    );
    let samples = echo_keys(&outer, Mux::Corral, n);
    let messages = got.load(Ordering::Relaxed);
    let _ = web.kill();
    let _ = web.wait();
    for r in readers {
        let _ = r.join();
    }
    outer.stop();
    (samples, messages)
}

/// A structured slot `id` running corral's scripted stream-json agent.
fn structured_slot(b: &Bench, id: &str) -> String {
    format!(
        "[[slot]]\nid = \"{id}\"\nagent = \"claude\"\ntransport = \"stream-json\"\ncommand = {:?}\nargs = [\"demo-agent\", \"--protocol\", \"stream-json\"]\ncwd = {:?}\nrestart = \"never\"\n",
        b.corral.to_string_lossy(),
        b.dir.to_string_lossy()
    )
}

/// Waits until `ctl list` in `d` shows `n` slots idle.
fn wait_idle(b: &Bench, d: &Path, n: usize) {
    wait_for("the slots idle", Duration::from_secs(60), || {
        let (_, out) = b.corral_cmd(d, &["ctl", "list"]);
        out.lines().filter(|l| l.contains(" idle")).count() >= n
    });
}

/// Over 10 s with 8 idle structured slots (stream-json): corral's CPU
/// milliseconds and wake-ups (client and server; the agents are not
/// corral's).
fn structured_idle(b: &mut Bench) -> (f64, f64) {
    let slots: String = (0..8)
        .map(|i| structured_slot(b, &format!("s{i}")))
        .collect();
    let (outer, pids, d) = b.start_corral(&slots);
    wait_idle(b, &d, 8);
    std::thread::sleep(Duration::from_secs(3));
    let before: f64 = pids.iter().map(|p| cpu_ms(*p)).sum();
    let woke: u64 = pids.iter().map(|p| wakeups(*p)).sum();
    std::thread::sleep(Duration::from_secs(10));
    let after: f64 = pids.iter().map(|p| cpu_ms(*p)).sum();
    let woke = pids.iter().map(|p| wakeups(*p)).sum::<u64>() - woke;
    outer.stop();
    (after - before, woke as f64)
}

/// A structured slot's conversation of 10,000 events (the scripted agent's
/// `mock:many`), shown in its pane: corral's RSS in MiB (client and server)
/// before and after, and the seconds the turn took.
fn conversation_memory(b: &mut Bench) -> (f64, f64, f64) {
    let (outer, pids, d) = b.start_corral(&structured_slot(b, "cc"));
    wait_idle(b, &d, 1);
    std::thread::sleep(Duration::from_secs(1));
    let rss = |pids: &[u32]| pids.iter().map(|p| memory_kib(*p).0).sum::<u64>() as f64 / 1024.0;
    let before = rss(&pids);
    let t0 = Instant::now();
    let (ok, out) = b.corral_cmd(
        &d,
        &[
            "ctl",
            "task",
            "cc",
            "mock:many",
            "--wait",
            "--timeout",
            "300",
        ],
    );
    assert!(ok, "ctl task: {out}");
    let took = t0.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_secs(1));
    let after = rss(&pids);
    outer.stop();
    (before, after, took)
}

/// Seconds from launching the multiplexer to the pane's first output on the
/// outer terminal.
fn launch(b: &mut Bench, mux: Mux) -> f64 {
    b.seq += 1;
    let d = b.dir.join(format!("run{}", b.seq));
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
    let marker = "LAUNCHED-MARKER-42";
    let pane = format!("echo {marker}; sleep 600");
    let argv: Vec<String> = match mux {
        Mux::Corral => {
            std::fs::write(
                d.join("c.toml"),
                format!("[[slot]]\nid = \"p\"\ncommand = \"/bin/sh\"\nargs = [\"-c\", {pane:?}]\n"),
            )
            .unwrap_or_else(|e| panic!("{e}"));
            // A runtime directory of its own: the server is started afresh
            // (and stopped after), never an earlier run's attached to.
            vec![
                b.corral.to_string_lossy().into_owned(),
                "--config".into(),
                d.join("c.toml").to_string_lossy().into_owned(),
                "--data-dir".into(),
                d.join("data").to_string_lossy().into_owned(),
                "--runtime-dir".into(),
                d.join("run").to_string_lossy().into_owned(),
            ]
        }
        Mux::Tmux => vec![
            "tmux".into(),
            "-L".into(),
            format!("corral-bench-launch-{}-{}", std::process::id(), b.seq),
            "-f".into(),
            "/dev/null".into(),
            "new-session".into(),
            format!("/bin/sh -c {}", shell_quote(&pane)),
        ],
    };
    let t0 = Instant::now();
    let mut outer = Outer::spawn(&argv, &[]);
    if mux == Mux::Corral {
        outer.corral_runtime = Some((b.corral.clone(), d.join("run")));
    }
    wait_for("the marker", Duration::from_secs(20), || {
        outer.tail_has(marker.as_bytes())
    });
    let s = t0.elapsed().as_secs_f64();
    if mux == Mux::Tmux {
        let _ = Command::new("tmux")
            .args(["-L", &argv[2], "kill-server"])
            .status();
    }
    outer.stop();
    s
}

/// Eight panes flood output for `secs` seconds while a ninth runs `cat` in
/// raw mode: corral's RSS every 3 s, key-to-echo latency under the load, and
/// a byte-for-byte comparison of each transcript with what its pane wrote.
fn flood(b: &mut Bench, secs: u64) {
    let mut panes = Vec::new();
    let mut sources = Vec::new();
    for i in 0..8 {
        let src = b.dir.join(format!("flood-src-{i}"));
        panes.push(format!(
            "timeout {secs} yes 'flood line from pane {i}: the quick brown fox jumps over the lazy dog 0123456789' | tee {} ; sleep 600",
            src.display()
        ));
        sources.push(src);
    }
    let ready = b.dir.join("flood-cat-ready");
    panes.push(format!("stty raw -echo; touch {}; cat", ready.display()));
    let (outer, pids) = b.start(Mux::Corral, &panes);
    let data = b.dir.join(format!("run{}", b.seq)).join("data");
    wait_for("cat ready", Duration::from_secs(20), || ready.exists());
    // Focus the cat pane (the ninth, bottom right of a 3x3 grid) and type.
    outer.send(b"jjll");
    outer.send(b"i");
    let start = Instant::now();
    let mut next_sample = Duration::ZERO;
    let mut echo = Vec::new();
    let mut sent_at = Vec::new();
    let mut curve = Vec::new();
    let mut i = 0usize;
    while start.elapsed() < Duration::from_secs(secs + 3) {
        if start.elapsed() >= next_sample {
            let rss: u64 = pids.iter().map(|p| memory_kib(*p).0).sum();
            curve.push((start.elapsed().as_secs(), rss / 1024));
            next_sample += Duration::from_secs(3);
        }
        let key = [b'A' + (i % 26) as u8];
        i += 1;
        outer.arm(&key);
        let t0 = Instant::now();
        outer.send(&key);
        wait_for("echo under load", Duration::from_secs(10), || {
            outer.seen_at().is_some()
        });
        let seen = outer.seen_at().unwrap_or_else(Instant::now);
        echo.push(seen.duration_since(t0).as_secs_f64() * 1000.0);
        sent_at.push(t0.duration_since(start).as_secs_f64());
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));
    let mut lost = 0u64;
    let mut total = 0u64;
    for (k, src) in sources.iter().enumerate() {
        let s = std::fs::read(src).unwrap_or_default();
        // The PTY turns each LF into CR LF.
        let want: Vec<u8> = s
            .iter()
            .flat_map(|b| {
                if *b == b'\n' {
                    vec![b'\r', b'\n']
                } else {
                    vec![*b]
                }
            })
            .collect();
        let got = std::fs::read(data.join(format!("transcripts/p{k}.raw"))).unwrap_or_default();
        total += want.len() as u64;
        if !got.starts_with(&want) {
            let same = got.iter().zip(&want).take_while(|(a, b)| a == b).count();
            lost += (want.len() - same) as u64;
        }
    }
    outer.stop();
    let (med, min, max) = stats(&echo);
    println!("flood: 8 panes of `yes` for {secs} s, a ninth pane running cat");
    println!("corral RSS (MiB) every 3 s: {curve:?}");
    println!(
        "key to echo under load: median {med:.2} ms, min {min:.2}, max {max:.2} ({} keys)",
        echo.len()
    );
    let mut slowest: Vec<(f64, f64)> = echo.iter().copied().zip(sent_at).collect();
    slowest.sort_by(|a, b| b.0.total_cmp(&a.0));
    let slowest: Vec<String> = slowest
        .iter()
        .take(5)
        .map(|(ms, at)| format!("{ms:.1} ms at {at:.1} s"))
        .collect();
    println!("slowest keys: {}", slowest.join(", "));
    println!(
        "transcripts: {} MiB written by the panes, {lost} bytes missing",
        total >> 20
    );
}

fn stats(v: &[f64]) -> (f64, f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let med = if s.is_empty() { 0.0 } else { s[s.len() / 2] };
    (
        med,
        s.first().copied().unwrap_or(0.0),
        s.last().copied().unwrap_or(0.0),
    )
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    // An optional second argument runs only the figures whose name has it.
    let only = std::env::args().nth(2).unwrap_or_default();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // CORRAL_BENCH_BIN measures another build (an earlier commit's) with
    // this harness; corral's own figures need this one's.
    let other = std::env::var_os("CORRAL_BENCH_BIN").map(PathBuf::from);
    let corral = other
        .clone()
        .unwrap_or_else(|| root.join("target/release/corral"));
    assert!(corral.exists(), "build it first: cargo build --release");
    let dir = std::env::temp_dir().join(format!("corral-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let mut b = Bench {
        dir: dir.clone(),
        corral,
        seq: 0,
    };
    if only == "flood" {
        flood(&mut b, runs as u64);
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    // Inputs: 20 MiB of plain text and of SGR-coloured text, and 5 MiB.
    let plain = dir.join("plain.txt");
    let sgr = dir.join("sgr.txt");
    let five = dir.join("five.txt");
    {
        let mut p = String::new();
        let mut s = String::new();
        let mut i = 0u64;
        while p.len() < 20 << 20 {
            p.push_str(&format!("{i:>10} the quick brown fox jumps over the lazy dog 0123456789 abcdefghijklmnopqrstuvwxyz\n"));
            s.push_str(&format!(
                "\x1b[38;5;{}m{i:>10}\x1b[0m \x1b[1;3{}mthe quick brown fox\x1b[0m jumps \x1b[48;2;{};{};{}mover the lazy dog\x1b[0m 0123456789\n",
                i % 256,
                i % 8,
                i % 256,
                (i * 3) % 256,
                (i * 7) % 256
            ));
            i += 1;
        }
        s.truncate(20 << 20);
        std::fs::write(&plain, &p).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&sgr, &s).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&five, &p[..5 << 20]).unwrap_or_else(|e| panic!("{e}"));
    }
    type Row = (&'static str, &'static str, Vec<f64>, Vec<f64>);
    let mut rows: Vec<Row> = Vec::new();
    // Figures measured by another figure's runs, listed after the rest.
    let mut extra: Vec<Row> = Vec::new();
    let muxes = [Mux::Corral, Mux::Tmux];
    let mut run_fig =
        |name: &'static str, unit: &'static str, f: &mut dyn FnMut(&mut Bench, Mux) -> Vec<f64>| {
            if !name.contains(only.as_str()) {
                return;
            }
            let mut res: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
            for _ in 0..runs {
                for (k, m) in muxes.iter().enumerate() {
                    res[k].extend(f(&mut b, *m));
                }
            }
            eprintln!(
                "{name}: corral {:?} tmux {:?}",
                stats(&res[0]),
                stats(&res[1])
            );
            rows.push((name, unit, res[0].clone(), res[1].clone()));
        };
    run_fig("20 MiB plain text cat, one pane", "s", &mut |b, m| {
        vec![throughput(b, m, &plain, 1)]
    });
    run_fig("20 MiB SGR-coloured text", "s", &mut |b, m| {
        vec![throughput(b, m, &sgr, 1)]
    });
    run_fig("8 panes x 5 MiB at once", "s", &mut |b, m| {
        vec![throughput(b, m, &five, 8)]
    });
    // One idle run gives four figures; the table gets a row for each.
    let mut idle_runs: [Vec<(f64, f64, f64, f64)>; 2] = [Vec::new(), Vec::new()];
    run_fig("CPU over 10 s, 8 idle panes", "ms", &mut |b, m| {
        let r = idle(b, m);
        idle_runs[usize::from(m == Mux::Tmux)].push(r);
        vec![r.0]
    });
    for (name, unit, pick) in [
        (
            "wake-ups over 10 s, 8 idle panes",
            "",
            (|r: &(f64, f64, f64, f64)| r.1) as fn(&(f64, f64, f64, f64)) -> f64,
        ),
        ("bytes drawn over 10 s, 8 idle panes", "B", |r| r.2),
        ("PSS with 8 idle panes, nothing printed", "MiB", |r| r.3),
    ] {
        if !idle_runs[0].is_empty() {
            extra.push((
                name,
                unit,
                idle_runs[0].iter().map(pick).collect(),
                idle_runs[1].iter().map(pick).collect(),
            ));
        }
    }
    let mut mem_runs: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    run_fig("RSS after 8 panes x 10,000 lines", "MiB", &mut |b, m| {
        let (rss, pss) = memory(b, m);
        mem_runs[usize::from(m == Mux::Tmux)].push(pss);
        vec![rss]
    });
    if !mem_runs[0].is_empty() {
        extra.push((
            "PSS after 8 panes x 10,000 lines",
            "MiB",
            mem_runs[0].clone(),
            mem_runs[1].clone(),
        ));
    }
    run_fig("key to echo (cat in raw mode)", "ms", &mut |b, m| {
        key_echo(b, m, 30)
    });
    run_fig("launch to the pane's first output", "s", &mut |b, m| {
        vec![launch(b, m)]
    });
    let tmux_v = Command::new("tmux")
        .arg("-V")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    rows.append(&mut extra);
    println!("| figure | corral median (min-max) | {tmux_v} median (min-max) | corral / tmux |");
    println!("| --- | --- | --- | --- |");
    for (name, unit, c, t) in rows {
        let (cm, cmin, cmax) = stats(&c);
        let (tm, tmin, tmax) = stats(&t);
        let ratio = if tm > 0.0 {
            format!("{:.2}", cm / tm)
        } else {
            "-".into()
        };
        println!(
            "| {name} | {cm:.3} {unit} ({cmin:.3}-{cmax:.3}) | {tm:.3} {unit} ({tmin:.3}-{tmax:.3}) | {ratio} |"
        );
    }
    // corral's own figures: nothing in tmux to set beside them.
    let mut own: Vec<(&str, &str, Vec<f64>)> = Vec::new();
    let only = if other.is_some() {
        "(none: another build)".to_string()
    } else {
        only
    };
    if "8 idle structured slots".contains(only.as_str()) {
        let runs_: Vec<(f64, f64)> = (0..runs).map(|_| structured_idle(&mut b)).collect();
        own.push((
            "CPU over 10 s, 8 idle structured slots",
            "ms",
            runs_.iter().map(|r| r.0).collect(),
        ));
        own.push((
            "wake-ups over 10 s, 8 idle structured slots",
            "",
            runs_.iter().map(|r| r.1).collect(),
        ));
    }
    if "10,000-event conversation".contains(only.as_str()) {
        let runs_: Vec<(f64, f64, f64)> = (0..runs).map(|_| conversation_memory(&mut b)).collect();
        own.push((
            "RSS before a 10,000-event conversation (one structured slot)",
            "MiB",
            runs_.iter().map(|r| r.0).collect(),
        ));
        own.push((
            "RSS after the 10,000-event conversation",
            "MiB",
            runs_.iter().map(|r| r.1).collect(),
        ));
        own.push((
            "the 10,000-event turn, sent to its end",
            "s",
            runs_.iter().map(|r| r.2).collect(),
        ));
    }
    if "key to echo, 50 web clients watching".contains(only.as_str()) {
        // Alternated in one run, so both see the same machine.
        let (mut alone, mut watched, mut messages) = (Vec::new(), Vec::new(), 0u64);
        for _ in 0..runs {
            alone.extend(key_echo(&mut b, Mux::Corral, 30));
            let (w, m) = web_key_echo(&mut b, 50, 30);
            watched.extend(w);
            messages += m;
        }
        let ratio = stats(&watched).0 / stats(&alone).0.max(f64::MIN_POSITIVE);
        own.push(("key to echo, no web client", "ms", alone));
        own.push(("key to echo, 50 web clients watching", "ms", watched));
        eprintln!("web clients: {messages} messages read; watched / alone = {ratio:.2}");
    }
    if !own.is_empty() {
        println!();
        println!("| corral's own figure | median (min-max) |");
        println!("| --- | --- |");
        for (name, unit, v) in own {
            let (m, lo, hi) = stats(&v);
            println!("| {name} | {m:.3} {unit} ({lo:.3}-{hi:.3}) |");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
