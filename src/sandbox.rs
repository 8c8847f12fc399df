//! Sandboxed slots (`sandbox = true`): a slot's agent, and everything it
//! starts, may write only to the slot's workspace and a short list of other
//! places (its own state, a private temporary directory, ttys, the paths the
//! slot lists). Reading, running programs and the network stay open.
//!
//! Confinement is Linux Landlock (the `landlock` crate): unprivileged,
//! inherited by every child across `fork` and `exec`, no daemon, no image.
//! The server starts a sandboxed slot's program through `corral sandbox
//! --write PATH ... -- PROGRAM ARGS`, which confines itself ([`confine`])
//! and then `exec`s the program: the rules hold before the agent's first
//! instruction.
//!
//! Landlock also sets `no_new_privs` on the confined process, which no
//! descendant can clear: the server refuses every client connection (ctl,
//! attach) from a process that has it, so a sandboxed agent cannot ask
//! corral to act for it outside the sandbox ([`peer_is_confined`]).
//!
//! A leaf: this module depends on nothing else of corral's.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

/// The environment variable that simulates a kernel without Landlock (for
/// tests): `CORRAL_SANDBOX_SIMULATE=missing` in the server's environment.
pub const SIMULATE_ENV: &str = "CORRAL_SANDBOX_SIMULATE";

/// Device files every confined process may open for writing: the null and
/// zero devices, its own terminal (`/dev/tty`, and the PTY it was started
/// on, found from its standard streams), `/dev/ptmx`, and POSIX shared
/// memory (`/dev/shm`, used by Python's multiprocessing and browsers).
/// Other terminals under `/dev/pts` are not writable unless the agent
/// opens PTYs of its own ([`PTYS`]).
pub const DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
    "/dev/ptmx",
    "/dev/shm",
];

/// Granted as a whole only to agents that open PTYs of their own (Gemini
/// CLI's node-pty, Aider's pexpect, a shell that runs `ssh -t` or `tmux`):
/// it also holds every other terminal of the user.
pub const PTYS: &str = "/dev/pts";

/// The PTY the calling process was started on: the `/dev/pts/N` its
/// standard input, output or error is.
fn own_pty() -> Option<PathBuf> {
    (0..3).find_map(|fd| {
        std::fs::read_link(format!("/proc/self/fd/{fd}"))
            .ok()
            .filter(|p| p.starts_with(PTYS) && p != Path::new(PTYS))
    })
}

/// How a slot asks to be confined: `sandbox = true`, `false` or
/// `"if-available"` in a `[[slot]]` (or as the `[sandbox] default`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SandboxMode {
    /// Not confined (the default).
    #[default]
    Off,
    /// Confined; where Landlock is missing the slot does not start.
    On,
    /// Confined where Landlock is available, else started unconfined (and
    /// its title says so).
    IfAvailable,
}

impl<'de> Deserialize<'de> for SandboxMode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bool(bool),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Bool(true) => Ok(SandboxMode::On),
            Raw::Bool(false) => Ok(SandboxMode::Off),
            Raw::Text(t) if t == "if-available" => Ok(SandboxMode::IfAvailable),
            Raw::Text(t) => Err(serde::de::Error::custom(format!(
                "sandbox = {t:?}: true, false or \"if-available\""
            ))),
        }
    }
}

/// Landlock as this system offers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Support {
    /// Available, at this ABI version (1 = Linux 5.13; 3 adds truncation,
    /// 6 adds signal scoping).
    Available {
        /// The ABI version the kernel reports.
        abi: u32,
    },
    /// Not available, and why, in one sentence for the pane.
    Missing {
        /// Why.
        why: String,
    },
}

/// Probes the kernel for Landlock (`landlock_create_ruleset` with the
/// version flag), or reads the simulation switch [`SIMULATE_ENV`].
pub fn support() -> Support {
    if std::env::var(SIMULATE_ENV).is_ok_and(|v| v == "missing") {
        return Support::Missing {
            why: format!("Landlock is not available on this system (simulated by {SIMULATE_ENV})"),
        };
    }
    probe()
}

#[cfg(target_os = "linux")]
fn probe() -> Support {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: with the version flag the call reads no memory (null
    // attributes of size 0) and returns the ABI version or -1 with errno.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if v > 0 {
        return Support::Available { abi: v as u32 };
    }
    let why = match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::EOPNOTSUPP) => {
            "Landlock is built into this kernel but not enabled (add `landlock` to the `lsm=` boot parameter)"
        }
        _ => {
            "this kernel has no Landlock (Linux 5.13 or later built with CONFIG_SECURITY_LANDLOCK)"
        }
    };
    Support::Missing { why: why.into() }
}

#[cfg(not(target_os = "linux"))]
fn probe() -> Support {
    Support::Missing {
        why: "the sandbox uses Linux Landlock, which this system does not have".into(),
    }
}

/// What confinement at Landlock ABI `abi` leaves out, beyond what no ABI
/// covers (reads, the network, metadata such as permissions and times):
/// each a short phrase for the title, `explain` and `ctl list`.
pub fn gaps(abi: u32) -> Vec<&'static str> {
    let mut g = Vec::new();
    if abi < 3 {
        g.push("truncate(2) of files outside");
    }
    if abi < 6 {
        g.push("signals to processes outside (the server, other slots)");
    }
    g
}

/// Where a slot's session stands with its sandbox: shown in the pane's
/// title, the sidebar, `explain`, `ctl list` and the audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SandboxStatus {
    /// Confined, partly confined, unconfined or refused.
    pub state: SandboxState,
    /// The Landlock ABI version in use (when confined).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abi: Option<u32>,
    /// Where the session may write, `~` for the home directory, in the
    /// order of [`Grant`]s (devices left out).
    #[serde(default)]
    pub write: Vec<String>,
    /// Why it is not (fully) confined, or what it leaves out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

impl SandboxStatus {
    /// One short word for titles and the sidebar: `sandboxed`,
    /// `sandboxed (partly)`, `NOT confined`, `no sandbox`.
    pub fn label(&self) -> &'static str {
        match self.state {
            SandboxState::Confined => "sandboxed",
            SandboxState::Partial => "sandboxed (partly)",
            SandboxState::Unconfined => "NOT confined",
            SandboxState::Refused => "no sandbox: not started",
        }
    }
}

/// The closed set of sandbox outcomes for a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SandboxState {
    /// Every write outside the grants is refused by the kernel.
    Confined,
    /// Confined, but the kernel's Landlock misses parts ([`gaps`]).
    Partial,
    /// `sandbox = "if-available"` and Landlock is missing: running without.
    Unconfined,
    /// `sandbox = true` and Landlock is missing: the slot did not start.
    Refused,
}

/// Why a path is writable inside a slot's sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GrantKind {
    /// The slot's working directory or worktree.
    Workspace,
    /// A worktree's share of its repository's git directory (objects, refs,
    /// logs, its own `worktrees/<name>`).
    Git,
    /// The agent's own state, as its profile names it.
    AgentState,
    /// The slot's private temporary directory (`TMPDIR`).
    Temp,
    /// Listed by the slot's or the config's `write = [...]`.
    Listed,
}

/// One writable place of a sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// An absolute path: a directory (everything beneath it) or a file.
    pub path: PathBuf,
    /// Why it is writable.
    pub kind: GrantKind,
}

/// Why confinement failed in `corral sandbox`.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// Landlock is missing or refused the ruleset.
    #[error("{0}")]
    Unavailable(String),
    /// A path to grant cannot be opened.
    #[error("cannot grant {path}: {source}")]
    Path {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// How [`confine`] left the calling process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confinement {
    /// Every handled right is enforced.
    Full {
        /// The ABI in use.
        abi: u32,
    },
    /// Enforced, with [`gaps`] for this ABI.
    Partial {
        /// The ABI in use.
        abi: u32,
    },
}

/// Confines the calling process, and every process it starts afterwards,
/// to writing only beneath `write` (directories) or to `write` (files), the
/// [`DEVICES`], its own PTY, and with `ptys` every PTY ([`PTYS`]); sets
/// `no_new_privs`. Paths that do not exist are
/// skipped (nothing can be created there). Call it single-threaded, right
/// before `exec`.
///
/// Handled: every Landlock file-system right that writes (write, truncate,
/// create, remove, rename or link across directories; not device ioctls,
/// which need a device opened for writing first, nor connecting to a
/// socket, which hooks need), and at ABI 6 or later signals to processes
/// outside the sandbox.
///
/// Errors: Landlock is missing or not enforced ([`SandboxError::Unavailable`]);
/// a path exists but cannot be opened ([`SandboxError::Path`]).
#[cfg(target_os = "linux")]
pub fn confine(write: &[PathBuf], ptys: bool) -> Result<Confinement, SandboxError> {
    use landlock::{
        ABI, AccessFs, BitFlags, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset,
        RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
    };
    let abi = match support() {
        Support::Available { abi } => abi,
        Support::Missing { why } => return Err(SandboxError::Unavailable(why)),
    };
    let unavailable = |e: landlock::RulesetError| SandboxError::Unavailable(e.to_string());
    // The newest ABI this crate knows; the kernel's own is used where lower.
    let crate_abi = ABI::V7;
    let handled: BitFlags<AccessFs> =
        AccessFs::from_write(crate_abi) & !(AccessFs::IoctlDev | AccessFs::ResolveUnix);
    let file_rights = handled & AccessFs::from_file(crate_abi);
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(handled)
        .map_err(unavailable)?;
    if abi >= 6 {
        ruleset = ruleset.scope(Scope::Signal).map_err(unavailable)?;
    }
    let mut created = ruleset.create().map_err(unavailable)?;
    let devices = DEVICES
        .iter()
        .map(PathBuf::from)
        .chain(own_pty())
        .chain(ptys.then(|| PathBuf::from(PTYS)));
    for path in write.iter().cloned().chain(devices) {
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(SandboxError::Path { path, source }),
        };
        let fd = PathFd::new(&path).map_err(|e| SandboxError::Path {
            path: path.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let rights = if meta.is_dir() { handled } else { file_rights };
        created = created
            .add_rule(PathBeneath::new(fd, rights))
            .map_err(unavailable)?;
    }
    let status = created.restrict_self().map_err(unavailable)?;
    if !status.no_new_privs {
        return Err(SandboxError::Unavailable(
            "no_new_privs could not be set".into(),
        ));
    }
    match status.ruleset {
        RulesetStatus::FullyEnforced if gaps(abi).is_empty() => Ok(Confinement::Full { abi }),
        RulesetStatus::FullyEnforced | RulesetStatus::PartiallyEnforced => {
            Ok(Confinement::Partial { abi })
        }
        RulesetStatus::NotEnforced => Err(SandboxError::Unavailable(
            "the kernel did not enforce the Landlock ruleset".into(),
        )),
    }
}

/// Not Linux: nothing can be confined.
///
/// Errors: always [`SandboxError::Unavailable`].
#[cfg(not(target_os = "linux"))]
pub fn confine(_write: &[PathBuf], _ptys: bool) -> Result<Confinement, SandboxError> {
    match support() {
        Support::Missing { why } => Err(SandboxError::Unavailable(why)),
        Support::Available { .. } => Err(SandboxError::Unavailable("no Landlock".into())),
    }
}

/// Whether `pid` runs with `no_new_privs` set (read from
/// `/proc/PID/status`), which every process of a sandboxed slot has; `None`
/// when it cannot be read.
pub fn no_new_privs(pid: i32) -> Option<bool> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("NoNewPrivs:"))
        .map(|v| v.trim() == "1")
}

/// Whether the server itself runs with `no_new_privs` set (a container or a
/// service manager set it): then it cannot tell a sandboxed agent's
/// connections from a person's, and sandboxed slots do not start.
pub fn server_has_no_new_privs() -> bool {
    // SAFETY: getpid(2) cannot fail.
    let me = unsafe { libc::getpid() };
    no_new_privs(me).unwrap_or(false)
}

/// The credentials (pid, uid, gid) of the process at the other end of Unix
/// socket `fd`, as the kernel recorded them at `connect` (SO_PEERCRED).
///
/// Errors: `getsockopt` fails (not a Unix socket).
#[cfg(target_os = "linux")]
pub fn peer_credentials(fd: std::os::fd::RawFd) -> std::io::Result<libc::ucred> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid for writes of the sizes given, and
    // the descriptor is the caller's, open for the duration of the call.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(cred)
}

/// Whether the process at the other end of a Unix socket must be treated as
/// inside a sandbox: it has `no_new_privs` set, or it cannot be identified
/// (no credentials, a process in another PID namespace, gone). The server
/// refuses such a peer everything but an agent hook's request.
///
/// The peer is pinned by a pidfd where the kernel offers one
/// (`SO_PEERPIDFD`, Linux 6.5), so a process that connects and exits cannot
/// pass its connection off under a reused process id.
#[cfg(target_os = "linux")]
pub fn peer_is_confined(fd: std::os::fd::RawFd) -> bool {
    use std::os::fd::{FromRawFd, OwnedFd};
    let Ok(cred) = peer_credentials(fd) else {
        return true;
    };
    if cred.pid <= 0 {
        return true;
    }
    const SO_PEERPIDFD: libc::c_int = 77;
    let mut pidfd: libc::c_int = -1;
    let mut plen = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `pidfd` and `plen` are valid for writes of the sizes given.
    let prc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            SO_PEERPIDFD,
            (&mut pidfd as *mut libc::c_int).cast(),
            &mut plen,
        )
    };
    // SAFETY: on success the kernel handed us a new descriptor we own.
    let pinned = (prc == 0 && pidfd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(pidfd) });
    let nnp = no_new_privs(cred.pid);
    if let Some(p) = &pinned {
        use std::os::fd::AsRawFd;
        // The status read was the peer's only if it is still alive now.
        // SAFETY: signal 0 on a pidfd we own only checks for existence.
        let alive = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                p.as_raw_fd(),
                0,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        } == 0;
        if !alive {
            return true;
        }
    }
    nnp != Some(false)
}

/// Not Linux: there is no sandbox to escape from.
#[cfg(not(target_os = "linux"))]
pub fn peer_is_confined(_fd: std::os::fd::RawFd) -> bool {
    false
}

/// `path` with the home directory shown as `~`.
pub fn display_path(path: &Path, home: Option<&Path>) -> String {
    match home.and_then(|h| path.strip_prefix(h).ok()) {
        Some(rest) if rest.as_os_str().is_empty() => "~".into(),
        Some(rest) => format!("~/{}", rest.display()),
        None => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_from_bool_and_text() {
        #[derive(Deserialize)]
        struct T {
            sandbox: SandboxMode,
        }
        let p = |s: &str| toml::from_str::<T>(s).map(|t| t.sandbox);
        assert_eq!(p("sandbox = true").ok(), Some(SandboxMode::On));
        assert_eq!(p("sandbox = false").ok(), Some(SandboxMode::Off));
        assert_eq!(
            p("sandbox = \"if-available\"").ok(),
            Some(SandboxMode::IfAvailable)
        );
        let e = p("sandbox = \"yes\"").err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("if-available")));
    }

    #[test]
    fn gaps_shrink_with_the_abi() {
        assert_eq!(gaps(1).len(), 2);
        assert_eq!(gaps(5).len(), 1);
        assert!(gaps(6).is_empty());
    }

    #[test]
    fn home_is_shown_as_tilde() {
        let h = Path::new("/home/u");
        assert_eq!(
            display_path(Path::new("/home/u/.codex"), Some(h)),
            "~/.codex"
        );
        assert_eq!(display_path(Path::new("/home/u"), Some(h)), "~");
        assert_eq!(display_path(Path::new("/tmp/x"), Some(h)), "/tmp/x");
    }
}
