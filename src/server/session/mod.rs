//! How a session's program runs: its live PTY and process ([`Live`]), the
//! spawner, the reader thread, and the command line it starts with.
//!
//! A session runs on a PTY (screen, keys, hooks) or, for a structured
//! slot, on pipes that carry its agent's protocol ([`structured`]).

pub(crate) mod launch;
pub(crate) mod reader;
pub(crate) mod spawn;
pub(crate) mod structured;

use std::sync::{Arc, Mutex};
use std::thread::{self};
use std::time::Duration;

use portable_pty::MasterPty;

use crate::server::pty::*;

/// What a running session is attached by.
pub(crate) enum Backend {
    /// A PTY: its master side (output read, input written, size set).
    Pty { master: Box<dyn MasterPty + Send> },
    /// Pipes carrying the agent's protocol: lines for its stdin.
    Structured { input: structured::ProtocolInput },
}

pub(crate) struct Live {
    pub(crate) backend: Backend,
    pub(crate) input: Arc<PtyInput>,
    pub(crate) pid: Option<u32>,
    /// Ends a child that has no process id to signal (a test's fake).
    pub(crate) killer: Option<Mutex<Box<dyn portable_pty::ChildKiller + Send + Sync>>>,
}

impl Live {
    /// Sends `sig` to the child's process group; a child without a process
    /// id is killed through its killer.
    pub(crate) fn signal(&self, sig: libc::c_int) {
        if self.pid.is_some() {
            signal_group(self.pid, sig);
        } else if let Some(k) = &self.killer {
            let _ = k.lock().unwrap_or_else(|p| p.into_inner()).kill();
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.input.close();
    }
}

pub(crate) fn signal_group(pid: Option<u32>, sig: libc::c_int) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()).filter(|p| *p > 0) {
        // The child leads its own session (setsid), so -pid is its group.
        // SAFETY: kill(2) with a valid signal number has no memory effects.
        unsafe {
            if libc::kill(-pid, sig) != 0 {
                libc::kill(pid, sig);
            }
        }
    }
}

/// SIGHUP the child's process group now and SIGKILL it 2 s later if needed.
pub(crate) fn kill_later(live: &Live) {
    live.signal(libc::SIGHUP);
    let pid = live.pid;
    let _ = thread::Builder::new().name("killer".into()).spawn(move || {
        thread::sleep(Duration::from_secs(2));
        signal_group(pid, libc::SIGKILL);
    });
}
