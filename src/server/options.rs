//! What starts a session manager: [`ManagerOptions`], [`HookOptions`].

use std::path::PathBuf;
use std::sync::Arc;

use crate::policy::Policy;
use crate::profile::Profiles;

use crate::server::session::spawn::*;
use crate::server::shared::*;
use crate::server::socket::ClientHandler;

/// Options of [`SessionManager::start`].
#[derive(Clone)]
pub struct ManagerOptions {
    /// Directory for raw transcripts (`<slot>.raw`), created if missing;
    /// `None` keeps none.
    pub transcript_dir: Option<PathBuf>,
    /// Where slots with `worktree` get theirs (`<dir>/<slot id>`); the
    /// system's temporary directory when `None`.
    pub worktree_dir: Option<PathBuf>,
    /// The state file ([`state`]): read at start to bring the slots back
    /// as a server before left them, and kept up to date. `None`: none.
    /// It keeps each config's slots apart (by the config's path, from
    /// [`Config::origin`]).
    pub state_file: Option<PathBuf>,
    /// The session's name, written in every audit record.
    pub session: String,
    /// Bytes within one second above which a session counts as flooding
    /// and its reader yields ([`FLOOD_BYTES`] in the server; a test on a
    /// slow PTY may take less).
    pub flood_bytes: usize,
    /// Bytes a transcript file holds before it becomes `<slot>.raw.1`
    /// (replacing the one before) and a new one starts.
    pub transcript_max_bytes: u64,
    /// The audit log (JSON lines), created if missing.
    pub audit_path: Option<PathBuf>,
    /// Initial PTY size of each slot as (rows, cols); missing entries get 24x80.
    pub sizes: Vec<(u16, u16)>,
    /// Scrollback rows per slot.
    pub scrollback_rows: usize,
    /// Agent profiles; a slot whose agent has none uses `generic`.
    pub profiles: Profiles,
    /// Rules that answer prompts automatically.
    pub policy: Policy,
    /// Where agents' permission hooks reach this manager; `None` installs no
    /// hooks (every prompt is read off the screen).
    pub hook: Option<HookOptions>,
    /// Told of every change to every slot's terminal, in order (see
    /// [`ScreenSink`]): the server forwards them to its clients' mirrors.
    pub screens: Option<Arc<dyn ScreenSink>>,
    /// What starts the programs; `None` starts real processes
    /// ([`PtySpawner`]).
    pub spawner: Option<Arc<dyn Spawner>>,
    /// corral's executable, whose `parse-probe` parses each shell command
    /// under hard limits before the policy does ([`probe`]); `None` parses
    /// in process only (tests that run no corral binary).
    pub probe_exe: Option<PathBuf>,
}

/// How agents' permission hooks reach the session manager.
#[derive(Clone)]
pub struct HookOptions {
    /// The `corral` executable the hook command runs (`corral hook ...`).
    pub exe: PathBuf,
    /// The directory of the socket (made private, 0700).
    pub runtime_dir: PathBuf,
    /// The socket's name: `<name>.sock` (the session name).
    pub name: String,
    /// Who takes connections that open with a client [`proto::Hello`]
    /// (`None`: they are refused).
    pub clients: Option<ClientHandler>,
}
