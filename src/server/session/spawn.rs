//! What starts a slot's program: [`Spawner`], real ([`PtySpawner`]) or a
//! test's fake.

use std::path::PathBuf;

use portable_pty::{CommandBuilder, MasterPty, PtySize, native_pty_system};

use crate::config::SlotConfig;

use crate::server::session::launch::*;

/// What starts a slot's program: a real process on a new PTY
/// ([`PtySpawner`]), or a fake in tests (a PTY with no process, whose
/// "program" the test plays through the PTY's other side).
pub trait Spawner: Send + Sync {
    /// Starts `slot`'s program with `extra_args` (resume and hook
    /// arguments) after its own, in `cwd`, on a PTY of `size` (rows, cols).
    ///
    /// Errors: why it cannot start (no such command, no such directory, no
    /// PTY), in one line for the pane.
    fn spawn(
        &self,
        slot: &SlotConfig,
        extra_args: &[String],
        cwd: Option<PathBuf>,
        size: (u16, u16),
    ) -> anyhow::Result<Spawned>;
}

/// A started program: the PTY's master side and the child.
pub struct Spawned {
    /// The PTY's master side (output is read, input written, size set here).
    pub master: Box<dyn MasterPty + Send>,
    /// The child: its exit is waited for, and it is killed through it when
    /// it has no process id to signal.
    pub child: Box<dyn portable_pty::Child + Send + Sync>,
}

/// Starts real processes on new PTYs (portable-pty), each in a session of
/// its own.
pub struct PtySpawner;

impl Spawner for PtySpawner {
    fn spawn(
        &self,
        slot: &SlotConfig,
        extra_args: &[String],
        cwd: Option<PathBuf>,
        (rows, cols): (u16, u16),
    ) -> anyhow::Result<Spawned> {
        let pair = native_pty_system().openpty(PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })?;
        let program = slot.command.get_ref();
        find_program(slot)?;
        let mut cmd = CommandBuilder::new(program);
        cmd.args(&slot.args);
        cmd.args(extra_args);
        let cwd = cwd.ok_or_else(|| anyhow::anyhow!("no working directory"))?;
        if !cwd.is_dir() {
            anyhow::bail!("working directory {} does not exist", cwd.display());
        }
        cmd.cwd(cwd);
        // The child's terminal is corral, not whatever corral runs in.
        for k in [
            "TMUX",
            "TMUX_PANE",
            "TERM_PROGRAM",
            "TERM_PROGRAM_VERSION",
            "COLUMNS",
            "LINES",
        ] {
            cmd.env_remove(k);
        }
        cmd.env("TERM", "xterm-256color");
        cmd.env("COLORTERM", "truecolor");
        cmd.env("CORRAL_SLOT", slot.id.get_ref());
        for (k, v) in &slot.env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd)?;
        drop(pair.slave);
        Ok(Spawned {
            master: pair.master,
            child,
        })
    }
}
