//! A fake spawner for in-process tests of the session manager: each
//! "program" is a PTY with no process behind it. The test writes the
//! program's screen into the PTY's other side, reads back the keys corral
//! sends, and ends it with the exit status it chooses.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use corral::config::{Config, SlotConfig};
use corral::server::{Event, HookOptions, ManagerOptions, SessionManager, Spawned, Spawner};
use portable_pty::{ChildKiller, ExitStatus, PtySize, native_pty_system};
use tokio::sync::mpsc::UnboundedReceiver;

const LONG: Duration = Duration::from_secs(30);

/// The exit a fake child reports, once set.
#[derive(Debug, Default)]
pub struct ExitCell {
    pub code: Mutex<Option<u32>>,
    set: Condvar,
}

impl ExitCell {
    pub fn exit(&self, code: u32) {
        let mut c = self.code.lock().unwrap_or_else(|p| p.into_inner());
        c.get_or_insert(code);
        self.set.notify_all();
    }
}

/// A child with no process: it "exits" when the test (or corral's kill)
/// says so.
#[derive(Debug, Clone)]
pub struct FakeChild(Arc<ExitCell>);

impl ChildKiller for FakeChild {
    fn kill(&mut self) -> std::io::Result<()> {
        // As a signal would: 128 + SIGHUP.
        self.0.exit(129);
        Ok(())
    }

    fn clone_killer(&self) -> Box<dyn ChildKiller + Send + Sync> {
        Box::new(self.clone())
    }
}

impl portable_pty::Child for FakeChild {
    fn try_wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        let c = self.0.code.lock().unwrap_or_else(|p| p.into_inner());
        Ok(c.map(ExitStatus::with_exit_code))
    }

    fn wait(&mut self) -> std::io::Result<ExitStatus> {
        let mut c = self.0.code.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(code) = *c {
                return Ok(ExitStatus::with_exit_code(code));
            }
            c = self.0.set.wait(c).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn process_id(&self) -> Option<u32> {
        None
    }
}

/// One started fake program.
pub struct Program {
    pub args: Vec<String>,
    /// The PTY's slave side, raw: what is written here is the program's
    /// output; what corral sends is read here.
    pub tty: File,
    pub exit: Arc<ExitCell>,
}

impl Program {
    /// Shows `text` as the program's screen (clears it first).
    pub fn show(&mut self, text: &str) {
        let bytes = format!("\x1b[2J\x1b[H{}", text.replace('\n', "\r\n"));
        self.tty
            .write_all(bytes.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Reads what corral sent until `want` came, or panics.
    pub fn expect_input(&mut self, want: &[u8]) -> Vec<u8> {
        let deadline = Instant::now() + LONG;
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        while !got.windows(want.len()).any(|w| w == want) {
            assert!(
                Instant::now() < deadline,
                "no {want:?} from corral; got {got:?}"
            );
            // SAFETY: poll on our own open descriptor.
            let ready = unsafe {
                let mut p = libc::pollfd {
                    fd: self.tty.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                libc::poll(&mut p, 1, 100)
            };
            if ready > 0 {
                let n = self.tty.read(&mut buf).unwrap_or(0);
                got.extend_from_slice(&buf[..n]);
            }
        }
        got
    }
}

/// Starts fake programs and hands them to the test.
#[derive(Default)]
pub struct FakeSpawner {
    started: Mutex<Vec<Program>>,
    ready: Condvar,
}

impl Spawner for FakeSpawner {
    fn spawn(
        &self,
        slot: &SlotConfig,
        extra_args: &[String],
        _cwd: Option<PathBuf>,
        (rows, cols): (u16, u16),
    ) -> anyhow::Result<Spawned> {
        let pair = native_pty_system().openpty(PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })?;
        let name = pair
            .master
            .tty_name()
            .ok_or_else(|| anyhow::anyhow!("the PTY has no name"))?;
        let tty = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&name)?;
        // SAFETY: termios calls on an open tty descriptor.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            libc::tcgetattr(tty.as_raw_fd(), &mut t);
            libc::cfmakeraw(&mut t);
            libc::tcsetattr(tty.as_raw_fd(), libc::TCSANOW, &t);
        }
        drop(pair.slave);
        let exit = Arc::new(ExitCell::default());
        let mut args = slot.args.clone();
        args.extend_from_slice(extra_args);
        self.started
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Program {
                args,
                tty,
                exit: exit.clone(),
            });
        self.ready.notify_all();
        Ok(Spawned {
            master: pair.master,
            child: Box::new(FakeChild(exit)),
        })
    }
}

impl FakeSpawner {
    /// The `n`th program started (0-based), once it is.
    pub fn program(&self, n: usize) -> Program {
        let deadline = Instant::now() + LONG;
        let mut started = self.started.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if started.len() > n {
                let p = &started[n];
                return Program {
                    args: p.args.clone(),
                    tty: p.tty.try_clone().unwrap_or_else(|e| panic!("{e}")),
                    exit: p.exit.clone(),
                };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "program {n} never started");
            started = self
                .ready
                .wait_timeout(started, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }
}

/// Starts a session manager over `cfg` with `spawner`, its audit log in
/// `dir`, the hook socket `hook` and the parse probe `probe_exe` if given.
pub fn start_with(
    cfg: &str,
    dir: &Path,
    spawner: Arc<FakeSpawner>,
    hook: Option<HookOptions>,
    probe_exe: Option<PathBuf>,
) -> (SessionManager, UnboundedReceiver<Event>) {
    let config = Config::parse(Path::new("test.toml"), cfg).unwrap_or_else(|e| panic!("{e}"));
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mgr = SessionManager::start(
        &config,
        ManagerOptions {
            transcript_dir: None,
            worktree_dir: None,
            state_file: None,
            session: "test".into(),
            flood_bytes: corral::server::FLOOD_BYTES,
            transcript_max_bytes: 0,
            audit_path: Some(dir.join("audit.jsonl")),
            sizes: vec![(30, 100); config.slots.len()],
            scrollback_rows: 100,
            profiles: corral::profile::Profiles::builtin().unwrap_or_else(|e| panic!("{e}")),
            policy: corral::policy::Policy::new(config.policy.clone(), config.dangerous.clone()),
            screens: None,
            hook,
            spawner: Some(spawner),
            probe_exe,
        },
        tx,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    (mgr, rx)
}

/// The next event that `pred` accepts (others are dropped).
pub fn next_event(
    rx: &mut UnboundedReceiver<Event>,
    what: &str,
    mut pred: impl FnMut(&Event) -> bool,
) -> Event {
    let deadline = Instant::now() + LONG;
    loop {
        match rx.try_recv() {
            Ok(e) if pred(&e) => return e,
            Ok(_) => {}
            Err(tokio::sync::mpsc::error::TryRecvError::Empty) => {
                assert!(Instant::now() < deadline, "timed out waiting for {what}");
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("events ended while waiting for {what}: {e}"),
        }
    }
}
