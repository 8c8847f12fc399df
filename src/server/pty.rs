//! The two ends of a session's PTY master as corral uses them: a reader for
//! the child's output and an ordered input lane for everything written to
//! the child (keys, pastes, answers, replies to terminal queries).
//!
//! The master's open file description is non-blocking: a write from the UI
//! thread goes straight to the PTY when the PTY takes it whole and nothing
//! earlier is still queued, which spares a keystroke two thread hand-offs on
//! its way to the child. Only what the PTY does not take at once (a child
//! that is not reading, a long paste) goes through the session's writer
//! thread, and while anything is queued there every later write queues
//! behind it, so bytes reach the child in the order they were written.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;

use portable_pty::MasterPty;

/// Duplicates `master`'s descriptor (close-on-exec); the copy shares the
/// master's open file description, so its status flags too.
///
/// Errors: the PTY has no descriptor, or `dup` fails (out of descriptors).
pub(crate) fn dup_master(master: &dyn MasterPty) -> std::io::Result<File> {
    let fd = master
        .as_raw_fd()
        .ok_or_else(|| std::io::Error::other("the PTY has no file descriptor"))?;
    // SAFETY: `fd` is the master's open descriptor, alive for this call;
    // F_DUPFD_CLOEXEC returns a new descriptor that only we own.
    let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if dup < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `dup` was just returned by fcntl and has no other owner.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(dup) }))
}

/// Makes the master's open file description non-blocking (shared by every
/// descriptor of it: the reader, the input lane and portable-pty's own).
///
/// Errors: `fcntl` fails.
pub(crate) fn set_nonblocking(fd: RawFd) -> std::io::Result<()> {
    // SAFETY: plain fcntl calls on an open descriptor we hold.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Waits until `fd` is ready for `events` (`POLLIN` or `POLLOUT`), or
/// reports an error or hang-up; a signal ends the wait early.
pub(crate) fn wait_for(fd: RawFd, events: libc::c_short, timeout_ms: libc::c_int) -> bool {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd on an open descriptor.
    unsafe { libc::poll(&mut p, 1, timeout_ms) > 0 }
}

/// Opens both ends corral uses on a freshly opened PTY master: sets the
/// master non-blocking and returns its reader and a duplicate for the
/// input lane.
///
/// Errors: the PTY has no descriptor, `dup` or `fcntl` fails.
pub(crate) fn open(master: &dyn MasterPty) -> std::io::Result<(PtyReader, File)> {
    let reader = dup_master(master)?;
    set_nonblocking(reader.as_raw_fd())?;
    let input = dup_master(master)?;
    Ok((PtyReader { file: reader }, input))
}

/// The reading end of a session's PTY master, owned by the session's reader
/// thread, which can also ask whether more output is already waiting.
pub(crate) struct PtyReader {
    file: File,
}

impl PtyReader {
    /// Reads output into `buf`, waiting for some. Returns 0 at the end: the
    /// child side closed (Linux reports that as EIO).
    ///
    /// Errors: the read fails otherwise.
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            match self.file.read(buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    wait_for(self.file.as_raw_fd(), libc::POLLIN, -1);
                }
                Err(e) if e.raw_os_error() == Some(libc::EIO) => return Ok(0),
                r => return r,
            }
        }
    }

    /// True if a read would not block now (more output, or the end).
    pub(crate) fn ready(&self) -> bool {
        wait_for(self.file.as_raw_fd(), libc::POLLIN, 0)
    }
}

/// Why a write to a session's PTY was not carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// No session runs in the slot (not started yet, exited, restarting).
    #[error("no session is running")]
    NotRunning,
    /// The child has not read its input for a while and [`PENDING_MAX`]
    /// bytes already wait for it: the bytes were dropped.
    #[error("the child is not reading its input and its queue is full")]
    QueueFull,
}

/// The ordered input lane of a slot's PTY, shared by the UI, the manager and
/// the reader threads, and kept across restarts (each session opens it anew).
#[derive(Default)]
pub struct PtyInput {
    lane: Mutex<Lane>,
    /// Wakes the writer thread: bytes are pending, or the lane closed.
    wake: Condvar,
}

#[derive(Default)]
pub(crate) struct Lane {
    /// The running session's master (non-blocking); `None` when closed.
    master: Option<File>,
    /// Bumped per session, so the writer thread of an earlier one stops.
    generation: u64,
    /// Bytes the PTY did not take at once, in order, for the writer thread.
    pending: Vec<u8>,
    /// The writer thread holds bytes taken from `pending` and not yet
    /// written whole.
    writing: bool,
    /// Called once everything written so far reached the PTY (or the
    /// session ended): see [`PtyInput::when_idle`].
    on_idle: Vec<IdleCallback>,
}

/// What [`PtyInput::when_idle`] calls: once, on whichever thread emptied the
/// lane.
pub type IdleCallback = Box<dyn FnOnce() + Send>;

/// Most bytes waiting for a child that does not read before further writes
/// are dropped (a long paste fits).
pub(crate) const PENDING_MAX: usize = 8 << 20;

/// How long the writer thread waits at most for a child to read before it
/// checks whether its session ended, in milliseconds.
pub(crate) const WRITER_POLL_MS: libc::c_int = 1000;

impl PtyInput {
    fn lane(&self) -> MutexGuard<'_, Lane> {
        self.lane.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens the lane for a new session: `master` is a descriptor of its
    /// (non-blocking) PTY master. Starts the session's writer thread, named
    /// after the slot `id`; an earlier session's ends.
    ///
    /// Errors: the descriptor cannot be duplicated or the writer thread
    /// cannot be started (the lane stays closed).
    pub(crate) fn open(self: &Arc<Self>, id: &str, master: File) -> std::io::Result<()> {
        let writer = master.try_clone()?;
        // The lane is open before the writer thread starts: a writer that
        // found it closed would end at once, and bytes queued later would
        // never reach the child.
        let generation = {
            let mut lane = self.lane();
            lane.generation += 1;
            lane.master = Some(master);
            lane.pending.clear();
            lane.writing = false;
            (lane.generation, std::mem::take(&mut lane.on_idle))
        };
        let (generation, idle) = generation;
        // What waited for the session before is as done as it will be.
        idle.into_iter().for_each(|f| f());
        self.wake.notify_all();
        let me = self.clone();
        let started = thread::Builder::new()
            .name(format!("write-{id}"))
            .spawn(move || me.run_writer(writer, generation));
        if let Err(e) = started {
            let mut lane = self.lane();
            if lane.generation == generation {
                lane.master = None;
            }
            return Err(e);
        }
        Ok(())
    }

    /// A descriptor of the running session's PTY master (non-blocking, the
    /// same open file as the lane's), for a client that writes typed keys
    /// to it itself; `None` when no session runs.
    pub fn descriptor(&self) -> Option<File> {
        self.lane().master.as_ref().and_then(|m| m.try_clone().ok())
    }

    /// Closes the lane at the end of a session: later writes fail with
    /// [`InputError::NotRunning`], pending bytes are dropped and the writer
    /// thread ends.
    pub(crate) fn close(&self) {
        let idle = {
            let mut lane = self.lane();
            lane.master = None;
            lane.pending = Vec::new();
            std::mem::take(&mut lane.on_idle)
        };
        self.wake.notify_all();
        idle.into_iter().for_each(|f| f());
    }

    /// Calls `f` once every byte written to the lane so far has reached the
    /// PTY (at once when none waits), or the session ended: a client that
    /// sent keys through the server then writes its own after them, never
    /// before.
    pub fn when_idle(&self, f: IdleCallback) {
        let mut lane = self.lane();
        if lane.master.is_none() || lane.pending.is_empty() && !lane.writing {
            drop(lane);
            f();
            return;
        }
        lane.on_idle.push(f);
    }

    /// Writes `bytes` to the child, after everything written before.
    ///
    /// When nothing is pending, the bytes go to the PTY at once from the
    /// calling thread (non-blocking `write`s, which never wait); what the
    /// PTY does not take waits for the writer thread.
    ///
    /// Errors: [`InputError::NotRunning`], or [`InputError::QueueFull`] (the
    /// bytes are dropped). A write error (the child side closed) counts as
    /// written: the session's end is reported by its reader.
    pub fn write(&self, bytes: &[u8]) -> Result<(), InputError> {
        let mut lane = self.lane();
        let idle = lane.pending.is_empty() && !lane.writing;
        let Some(master) = lane.master.as_mut() else {
            return Err(InputError::NotRunning);
        };
        let mut done = 0;
        if idle {
            while done < bytes.len() {
                match master.write(&bytes[done..]) {
                    Ok(0) => break,
                    Ok(n) => done += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(_) => return Ok(()),
                }
            }
            if done == bytes.len() {
                return Ok(());
            }
        }
        let rest = &bytes[done..];
        if lane.pending.len() + rest.len() > PENDING_MAX {
            return Err(InputError::QueueFull);
        }
        lane.pending.extend_from_slice(rest);
        drop(lane);
        self.wake.notify_all();
        Ok(())
    }

    /// The writer thread of one session: writes what the PTY did not take
    /// at once, waiting for the child to read, until the session ends.
    fn run_writer(&self, mut file: File, generation: u64) {
        let mut buf = Vec::new();
        let mut lane = self.lane();
        loop {
            if lane.generation != generation || lane.master.is_none() && lane.pending.is_empty() {
                return;
            }
            if lane.pending.is_empty() {
                lane = self.wake.wait(lane).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            // Take the pending bytes and mark them in flight under one lock,
            // so no direct write can slip in before them.
            std::mem::swap(&mut buf, &mut lane.pending);
            lane.writing = true;
            drop(lane);
            let written = self.write_all(&mut file, &buf, generation);
            buf.clear();
            lane = self.lane();
            if lane.generation != generation {
                return;
            }
            lane.writing = false;
            if !written {
                lane.pending.clear();
            }
            if lane.pending.is_empty() && !lane.on_idle.is_empty() {
                let idle = std::mem::take(&mut lane.on_idle);
                drop(lane);
                idle.into_iter().for_each(|f| f());
                lane = self.lane();
            }
            if !written {
                return;
            }
        }
    }

    /// Writes all of `bytes` to the non-blocking `file`, waiting while the
    /// PTY is full. False if the child's side closed, or the session ended.
    fn write_all(&self, file: &mut File, bytes: &[u8], generation: u64) -> bool {
        let mut done = 0;
        while done < bytes.len() {
            match file.write(&bytes[done..]) {
                Ok(0) => return false,
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if !wait_for(file.as_raw_fd(), libc::POLLOUT, WRITER_POLL_MS) {
                        let lane = self.lane();
                        if lane.generation != generation || lane.master.is_none() {
                            return false;
                        }
                    }
                }
                Err(_) => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portable_pty::{PtySize, native_pty_system};

    fn pty() -> portable_pty::PtyPair {
        native_pty_system()
            .openpty(PtySize {
                rows: 24,
                cols: 80,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap_or_else(|e| panic!("openpty: {e}"))
    }

    /// The slave side in raw mode, so bytes pass through unchanged.
    fn raw_slave(pair: &portable_pty::PtyPair) -> File {
        let name = pair
            .master
            .tty_name()
            .unwrap_or_else(|| panic!("the PTY has no name"));
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&name)
            .unwrap_or_else(|e| panic!("{}: {e}", name.display()));
        // SAFETY: termios calls on an open tty descriptor.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            assert_eq!(libc::tcgetattr(f.as_raw_fd(), &mut t), 0);
            libc::cfmakeraw(&mut t);
            assert_eq!(libc::tcsetattr(f.as_raw_fd(), libc::TCSANOW, &t), 0);
        }
        f
    }

    #[test]
    fn writes_arrive_whole_and_in_order_past_a_full_pty() {
        let pair = pty();
        let slave = raw_slave(&pair);
        let (_reader, master) = open(&*pair.master).unwrap_or_else(|e| panic!("{e}"));
        let input = Arc::new(PtyInput::default());
        assert_eq!(input.write(b"x"), Err(InputError::NotRunning));
        input.open("t", master).unwrap_or_else(|e| panic!("{e}"));
        // Far more than the PTY buffers while nobody reads: the first
        // writes go straight in, the rest queue behind them, and the small
        // writes after them must not overtake.
        let mut sent = Vec::new();
        for i in 0..64u32 {
            let chunk: Vec<u8> = format!("{i:04}:")
                .bytes()
                .chain(std::iter::repeat_n(b'a' + (i % 26) as u8, 4000))
                .collect();
            assert_eq!(input.write(&chunk), Ok(()));
            sent.extend_from_slice(&chunk);
        }
        assert!(
            !input.lane().pending.is_empty(),
            "the PTY should have filled up"
        );
        // The child starts reading while small writes keep coming: room in
        // the PTY must not let them overtake what is still queued.
        let total = sent.len() + 2000 * 5;
        let mut slave = slave;
        let drain = thread::spawn(move || {
            let mut got = vec![0u8; total];
            let mut at = 0;
            while at < total {
                let n = slave
                    .read(&mut got[at..(at + 512).min(total)])
                    .unwrap_or_else(|e| panic!("read: {e}"));
                assert!(n > 0, "the PTY closed");
                at += n;
            }
            got
        });
        for k in 0..2000u32 {
            let small = format!("{:05}", k);
            assert_eq!(input.write(small.as_bytes()), Ok(()));
            sent.extend_from_slice(small.as_bytes());
        }
        let got = drain.join().unwrap_or_else(|_| panic!("reader panicked"));
        if let Some(at) = got.iter().zip(&sent).position(|(a, b)| a != b) {
            panic!(
                "bytes reordered or lost at {at} of {}: got {:?}, sent {:?}",
                sent.len(),
                String::from_utf8_lossy(&got[at.saturating_sub(8)..(at + 24).min(got.len())]),
                String::from_utf8_lossy(&sent[at.saturating_sub(8)..(at + 24).min(sent.len())]),
            );
        }
        input.close();
        assert_eq!(input.write(b"x"), Err(InputError::NotRunning));
    }

    /// `when_idle` waits for every queued byte: a client's own write made
    /// when it is called lands after them; with nothing queued, or no
    /// session, it is called at once.
    #[test]
    fn when_idle_waits_for_the_queue_then_direct_writes_come_after() {
        use std::sync::mpsc;
        let pair = pty();
        let slave = raw_slave(&pair);
        let (_reader, master) = open(&*pair.master).unwrap_or_else(|e| panic!("{e}"));
        let input = Arc::new(PtyInput::default());
        let (tx, rx) = mpsc::channel::<&'static str>();
        let t = tx.clone();
        input.when_idle(Box::new(move || {
            let _ = t.send("closed");
        }));
        assert_eq!(rx.try_recv(), Ok("closed"));
        input.open("t", master).unwrap_or_else(|e| panic!("{e}"));
        let direct = input
            .descriptor()
            .unwrap_or_else(|| panic!("no descriptor"));
        let t = tx.clone();
        input.when_idle(Box::new(move || {
            let _ = t.send("idle");
        }));
        assert_eq!(rx.try_recv(), Ok("idle"));
        let mut sent = Vec::new();
        for i in 0..40u32 {
            let chunk = vec![b'a' + (i % 26) as u8; 4000];
            assert_eq!(input.write(&chunk), Ok(()));
            sent.extend_from_slice(&chunk);
        }
        assert!(!input.lane().pending.is_empty(), "the PTY should be full");
        // The client's write, made when the lane says it is idle.
        let written = Arc::new(Mutex::new(false));
        let w = written.clone();
        input.when_idle(Box::new(move || {
            let mut d = &direct;
            let ok = d.write(b"Z").is_ok_and(|n| n == 1);
            *w.lock().unwrap_or_else(|p| p.into_inner()) = ok;
            let _ = tx.send("drained");
        }));
        assert!(rx.try_recv().is_err(), "called with bytes still queued");
        let total = sent.len() + 1;
        let mut slave = slave;
        let mut got = vec![0u8; total];
        let mut at = 0;
        while at < total {
            let n = slave
                .read(&mut got[at..])
                .unwrap_or_else(|e| panic!("read: {e}"));
            assert!(n > 0, "the PTY closed");
            at += n;
        }
        assert_eq!(
            rx.recv_timeout(std::time::Duration::from_secs(30)),
            Ok("drained")
        );
        assert!(*written.lock().unwrap_or_else(|p| p.into_inner()));
        assert_eq!(got.last(), Some(&b'Z'), "the direct write came last");
        assert_eq!(&got[..sent.len()], &sent[..]);
        input.close();
    }
}
