//! `corral ls` and `corral kill-server`: clients without a terminal that
//! ask the servers in the runtime directory about themselves.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use super::link::{self, ConnectError};
use crate::proto::{HelloKind, Welcome};

/// How long `kill-server` waits for the server to end.
const KILL_WAIT: Duration = Duration::from_secs(15);

/// The running servers in `runtime_dir`, one block each: the session, its
/// pid, uptime and clients, then one row per slot with its agent, state and
/// the prompt it waits on; `only`: that session alone. "no server running"
/// when there is none. Stale sockets (their server died) are skipped.
///
/// Errors: the runtime directory cannot be read (other than missing).
pub fn list(runtime_dir: &Path, only: Option<&str>) -> anyhow::Result<String> {
    let mut names: Vec<String> = match std::fs::read_dir(runtime_dir) {
        Ok(d) => d
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_suffix(".sock"))
                    .map(str::to_string)
            })
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(anyhow::anyhow!("{}: {e}", runtime_dir.display())),
    };
    names.sort();
    let mut out = String::new();
    for name in names {
        if crate::server::host::check_session_name(&name).is_err()
            || only.is_some_and(|o| o != name)
        {
            continue;
        }
        let sock = crate::server::host::socket_path(runtime_dir, &name);
        match link::connect(&sock, &name, HelloKind::List) {
            Ok((w, _, _)) => out.push_str(&describe(&w)),
            Err(ConnectError::NoServer(_)) => {}
            Err(e) => out.push_str(&format!("{name}: {e}\n")),
        }
    }
    if out.is_empty() {
        match only {
            Some(name) => out.push_str(&format!("no server running for session {name}\n")),
            None => out.push_str("no server running\n"),
        }
    }
    Ok(out)
}

fn age(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        _ => format!("{}h{:02}m", s / 3600, s / 60 % 60),
    }
}

/// One server's block of `corral ls`.
pub fn describe(w: &Welcome) -> String {
    let mut out = format!(
        "{}: {} slot{}, {} client{} attached, up {} (pid {})\n",
        w.session,
        w.slots.len(),
        if w.slots.len() == 1 { "" } else { "s" },
        w.clients,
        if w.clients == 1 { "" } else { "s" },
        age(w.uptime_ms),
        w.pid
    );
    for (i, s) in w.slots.iter().enumerate() {
        let waiting = w
            .inbox
            .iter()
            .find(|e| e.slot == i)
            .map(|e| {
                format!(
                    "  {} {}",
                    e.prompt.tool,
                    crate::model::shown(&e.prompt.subject)
                )
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "  {:<12} {:<8} {:<16} {:>5}{waiting}\n",
            s.id,
            s.agent,
            s.state.label(),
            age(s.state_age_ms)
        ));
    }
    out
}

/// Stops the server of `session`: its agents get SIGHUP, then SIGKILL after
/// a grace period; returns when the server is gone.
///
/// Errors: no server runs for `session`, it refused, or it did not end in
/// time.
pub fn kill(runtime_dir: &Path, session: &str) -> anyhow::Result<String> {
    crate::server::host::check_session_name(session).map_err(anyhow::Error::msg)?;
    let sock = crate::server::host::socket_path(runtime_dir, session);
    let (w, stream, _) = link::connect(&sock, session, HelloKind::Kill)?;
    // The server keeps this connection open until it exits.
    stream.set_read_timeout(Some(KILL_WAIT))?;
    let mut buf = [0u8; 64];
    let mut s = &stream;
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                anyhow::bail!(
                    "the server of session {session} (pid {}) did not end within {}s",
                    w.pid,
                    KILL_WAIT.as_secs()
                )
            }
            Err(_) => break,
        }
    }
    Ok(format!(
        "stopped session {session} (pid {}, {} slot{})\n",
        w.pid,
        w.slots.len(),
        if w.slots.len() == 1 { "" } else { "s" }
    ))
}
