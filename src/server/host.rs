//! The server process of one named session: it takes the session's lock,
//! starts the session manager (every slot's PTY, engine, detection, hooks,
//! policy, audit and transcript) and the [`Hub`](super::clients::Hub) that
//! shows it to any number of clients over its socket, and runs until it is
//! told to stop.

use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use super::handle::SessionManager;
use super::options::{HookOptions, ManagerOptions};
use crate::config::Config;
use crate::policy::Policy;
use crate::profile::Profiles;
use crate::proto::{Event, ServerMsg};

use super::clients::Hub;
/// What [`run`] needs, checked by the command line.
pub struct ServerOptions {
    /// The session's name (`default`, `-s NAME`).
    pub session: String,
    /// The configuration the sessions run.
    pub config: Config,
    /// Agent profiles.
    pub profiles: Profiles,
    /// Where files go.
    pub paths: crate::paths::Paths,
    /// The `corral` executable agents' hooks run.
    pub exe: Option<PathBuf>,
    /// Each slot's first PTY size (rows, cols), from the client that started
    /// the server; missing entries get the minimum pane, at least 24x80.
    pub sizes: Vec<(u16, u16)>,
}

/// The socket of session `session` in `runtime_dir`.
pub fn socket_path(runtime_dir: &std::path::Path, session: &str) -> PathBuf {
    runtime_dir.join(format!("{session}.sock"))
}

/// Points standard output at `/dev/null`: a server started in the
/// background has said `ready` on it and nobody reads it any more.
pub fn release_stdout() {
    use std::os::unix::io::AsRawFd;
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        // SAFETY: dup2 onto standard output of a descriptor we own.
        unsafe {
            libc::dup2(null.as_raw_fd(), libc::STDOUT_FILENO);
        }
    }
}

/// Checks a session name: 1 to 64 of `A-Z a-z 0-9 _ -` (it names files).
///
/// Errors: what is wrong with it.
pub fn check_session_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "session name {name:?}: use 1 to 64 letters, digits, '_' or '-'"
        ))
    }
}

/// An exclusive lock on `<runtime>/<session>.lock`, held for the server's
/// life: one server per session, and a socket file without a lock holder is
/// stale.
struct SessionLock {
    _file: std::fs::File,
}

impl SessionLock {
    fn take(runtime_dir: &std::path::Path, session: &str) -> anyhow::Result<SessionLock> {
        use std::os::unix::fs::OpenOptionsExt;
        use std::os::unix::io::AsRawFd;
        let path = runtime_dir.join(format!("{session}.lock"));
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        // SAFETY: flock(2) on a descriptor we own; no memory effects.
        let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            anyhow::bail!("a server for session {session:?} is already running");
        }
        Ok(SessionLock { _file: f })
    }
}

/// Runs the server until `corral kill-server`, a client's quit, SIGTERM or
/// SIGINT; then stops every agent (SIGHUP, SIGKILL after
/// [`super::timing::SHUTDOWN_GRACE`]) and returns. `ready` is called once the
/// socket accepts clients, or with the error that stopped the start.
///
/// Errors: the runtime directory cannot be made private, another server
/// holds the session, the sessions cannot start.
pub fn run(o: ServerOptions, ready: impl FnOnce(Result<(), String>)) -> anyhow::Result<()> {
    let started = match start(o) {
        Ok(s) => {
            ready(Ok(()));
            s
        }
        Err(e) => {
            ready(Err(format!("{e:#}")));
            return Err(e);
        }
    };
    let (hub, mgr, mut events, mut quit_rx, _lock, notifier) = started;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let reason = runtime.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) else {
            return "no signal handlers".to_string();
        };
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Some(ev) => {
                        if let Some(n) = &notifier {
                            n.event(&ev);
                        }
                        hub.event(ev)
                    }
                    None => return "the sessions ended".to_string(),
                },
                why = quit_rx.recv() => return why.unwrap_or_default(),
                _ = term.recv() => return "SIGTERM".to_string(),
                _ = int.recv() => return "SIGINT".to_string(),
                // No terminal of its own: a hangup is not the end.
                _ = hup.recv() => tracing::info!("SIGHUP ignored"),
            }
        }
    });
    tracing::info!(reason, "server stopping");
    hub.broadcast(&ServerMsg::Bye {
        reason: reason.clone(),
    });
    mgr.shutdown();
    hub.close_all();
    tracing::info!("server stopped");
    Ok(())
}

/// `corral ctl` requests, as the hub serves them.
fn serve_ctl(
    hub: &Arc<Hub>,
    mgr: &Arc<SessionManager>,
    request: crate::proto::ctl::CtlRequest,
    stream: UnixStream,
    reader: Box<dyn std::io::Read + Send>,
) {
    super::ctl::serve(hub, mgr, request, stream, reader);
}

type Started = (
    Arc<Hub>,
    Arc<SessionManager>,
    tokio::sync::mpsc::UnboundedReceiver<Event>,
    tokio::sync::mpsc::UnboundedReceiver<String>,
    SessionLock,
    Option<crate::notify::Notifier>,
);

fn start(o: ServerOptions) -> anyhow::Result<Started> {
    check_session_name(&o.session).map_err(anyhow::Error::msg)?;
    let rt = o.paths.runtime_dir.clone();
    crate::paths::ensure_private_dir(&rt)
        .with_context(|| format!("making {} private", rt.display()))?;
    let lock = SessionLock::take(&rt, &o.session)?;
    // Held by no one else: a socket file left here is stale.
    let sock = socket_path(&rt, &o.session);
    if sock.exists() {
        tracing::info!(path = %sock.display(), "replacing a stale socket");
        let _ = std::fs::remove_file(&sock);
    }
    let (quit_tx, quit_rx) = tokio::sync::mpsc::unbounded_channel();
    let config = &o.config;
    let config_id = config
        .origin
        .as_ref()
        .map(|(p, t)| crate::proto::ConfigId::of(p, t));
    let hub = Hub::new(
        o.session.clone(),
        config,
        config_id.clone(),
        quit_tx,
        serve_ctl,
    );
    let (tx, events) = tokio::sync::mpsc::unbounded_channel();
    let handler: super::socket::ClientHandler = {
        let hub = hub.clone();
        Arc::new(move |hello, reader| hub.clone().client(hello, reader))
    };
    let min = config.ui.min_pane;
    let fallback = (
        min.rows.clamp(1, 200).max(24),
        min.cols.clamp(1, 500).max(80),
    );
    let sizes: Vec<(u16, u16)> = (0..config.slots.len())
        .map(|i| {
            o.sizes
                .get(i)
                .map(|&(r, c)| (r.clamp(1, 1000), c.clamp(1, 1000)))
                .unwrap_or(fallback)
        })
        .collect();
    let mgr = Arc::new(SessionManager::start(
        config,
        ManagerOptions {
            transcript_dir: (config.transcripts.max_mib > 0)
                .then(|| o.paths.transcript_dir().join(&o.session)),
            worktree_dir: Some(o.paths.data_dir.join("worktrees").join(&o.session)),
            state_file: Some(
                o.paths
                    .data_dir
                    .join("state")
                    .join(format!("{}.json", o.session)),
            ),
            session: o.session.clone(),
            flood_bytes: super::session::reader::FLOOD_BYTES,
            transcript_max_bytes: config.transcripts.max_mib.saturating_mul(1 << 20),
            audit_path: Some(o.paths.audit_file()),
            sizes: sizes.clone(),
            scrollback_rows: config.ui.scrollback_rows,
            profiles: o.profiles,
            policy: Policy::with_programs(
                config.policy.clone(),
                config.dangerous.clone(),
                &config.programs,
            )
            .unwrap_or_else(|_| Policy::new(config.policy.clone(), config.dangerous.clone())),
            screens: Some(hub.clone()),
            spawner: None,
            probe_exe: std::env::current_exe().ok(),
            hook: Some(HookOptions {
                exe: o.exe.unwrap_or_default(),
                runtime_dir: rt.clone(),
                name: o.session.clone(),
                clients: Some(handler),
            }),
        },
        tx,
    )?);
    if !sock.exists() {
        anyhow::bail!("the socket {} could not be made", sock.display());
    }
    hub.set_sizes(&sizes);
    hub.set_manager(mgr.clone());
    tracing::info!(session = o.session, path = %sock.display(), "server listening");
    let notifier = crate::notify::Notifier::start(
        &config.notify,
        &o.session,
        config
            .slots
            .iter()
            .map(|s| s.id.get_ref().clone())
            .collect(),
    );
    Ok((hub, mgr, events, quit_rx, lock, notifier))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_name_files_and_nothing_else() {
        for ok in ["default", "a", "work-2", "x_y"] {
            assert!(check_session_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "../x", "a/b", "a b", ".", &"x".repeat(65), "é"] {
            assert!(check_session_name(bad).is_err(), "{bad}");
        }
    }
}
