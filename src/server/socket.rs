//! The server's Unix socket: 0600 in a 0700 directory of the user's runtime
//! directory (DESIGN.md §4.7). A connection from another uid is refused, and
//! so is a client (ctl, attach) from inside a sandboxed slot: such a process
//! may send its own agent's hook requests, nothing else (see
//! [`crate::sandbox::peer_is_confined`]).
//!
//! One thread accepts; each connection gets a thread that reads its first
//! frame. A client's [`proto::Hello`] hands the connection to the server's
//! client handler on that thread. A hook's request and a clone of the
//! stream go to the manager; the thread then
//! blocks reading until the peer goes away (an agent kills its hook when the
//! person answers the dialog in the pane) and says so. The manager writes the
//! reply itself and shuts the stream down. Nothing polls: no CPU while a
//! prompt waits.

use std::io::{self, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::io::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

/// Takes over a client's connection after its [`proto::Hello`]: the reader
/// holds whatever the client sent after it.
pub type ClientHandler = Arc<dyn Fn(proto::Hello, std::io::BufReader<UnixStream>) + Send + Sync>;

use crate::proto::{self, HookReply, HookRequest, PROTO_VERSION};

/// How long a new connection may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What the socket tells the manager.
pub(super) enum SocketMsg {
    /// A hook request arrived on connection `conn`; reply on `stream`.
    Hook {
        conn: u64,
        request: HookRequest,
        stream: UnixStream,
    },
    /// Connection `conn`'s peer went away (or the stream was shut down).
    Gone { conn: u64 },
}

/// A bound socket and its accept thread; dropping it stops the thread and
/// removes the socket file.
pub(super) struct Socket {
    path: PathBuf,
    stop: Arc<AtomicBool>,
}

impl Socket {
    /// The socket's path (given to hooks).
    pub(super) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wake the accept thread so it sees the flag.
        let _ = UnixStream::connect(&self.path);
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The uid of the process at the other end of `s` (SO_PEERCRED).
fn peer_uid(s: &UnixStream) -> io::Result<u32> {
    crate::sandbox::peer_credentials(s.as_raw_fd()).map(|c| c.uid)
}

/// Binds `<dir>/<name>.sock` (or `<name>-<pid>.sock` when another live
/// corral holds the name) and starts accepting. A stale socket file (its
/// server died) is replaced.
///
/// Errors: the directory cannot be made private (see
/// [`crate::paths::ensure_private_dir`]), or binding fails.
pub(super) fn bind(
    dir: &Path,
    name: &str,
    to_manager: impl Fn(SocketMsg) -> bool + Send + Sync + 'static,
    clients: Option<ClientHandler>,
) -> io::Result<Socket> {
    crate::paths::ensure_private_dir(dir)?;
    let mut path = dir.join(format!("{name}.sock"));
    if path.exists() {
        if UnixStream::connect(&path).is_ok() {
            path = dir.join(format!("{name}-{}.sock", std::process::id()));
            let _ = std::fs::remove_file(&path);
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    let listener = UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let to_manager = Arc::new(to_manager);
    thread::Builder::new()
        .name("corral-socket".into())
        .spawn(move || accept_loop(listener, stop2, to_manager, clients))?;
    Ok(Socket { path, stop })
}

fn accept_loop(
    listener: UnixListener,
    stop: Arc<AtomicBool>,
    to_manager: Arc<dyn Fn(SocketMsg) -> bool + Send + Sync>,
    clients: Option<ClientHandler>,
) {
    // SAFETY: getuid(2) has no failure modes and no memory effects.
    let me = unsafe { libc::getuid() };
    // A server that has no_new_privs itself cannot tell sandboxed peers
    // from others (and then starts no sandboxed slot).
    let check_confined = !crate::sandbox::server_has_no_new_privs();
    let mut next_conn: u64 = 0;
    for stream in listener.incoming() {
        if stop.load(Ordering::Acquire) {
            return;
        }
        let Ok(stream) = stream else { continue };
        match peer_uid(&stream) {
            Ok(uid) if uid == me => {}
            Ok(uid) => {
                tracing::warn!(uid, "socket: refused a connection from another user");
                continue;
            }
            Err(e) => {
                tracing::warn!("socket: no peer credentials: {e}");
                continue;
            }
        }
        next_conn += 1;
        let conn = next_conn;
        let to_manager = to_manager.clone();
        let clients = clients.clone();
        let _ = thread::Builder::new()
            .name(format!("corral-conn-{conn}"))
            .spawn(move || serve(conn, stream, &*to_manager, clients, check_confined));
    }
}

fn serve(
    conn: u64,
    stream: UnixStream,
    to_manager: &(dyn Fn(SocketMsg) -> bool + Send + Sync),
    clients: Option<ClientHandler>,
    check_confined: bool,
) {
    let refuse = |mut s: &UnixStream, why: String| {
        tracing::info!(conn, "socket: {why}");
        let _ = proto::write_frame(&mut s, &HookReply::error(why));
    };
    let _ = stream.set_read_timeout(Some(REQUEST_TIMEOUT));
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    // Version first, so a mismatched peer hears why.
    let value: serde_json::Value = match proto::read_frame(&mut reader) {
        Ok(Some(v)) => v,
        Ok(None) => return,
        Err(e) => return refuse(&stream, format!("bad request: {e}")),
    };
    let v = value.get("v").and_then(serde_json::Value::as_u64);
    if v != Some(u64::from(PROTO_VERSION)) {
        return refuse(
            &stream,
            format!("protocol version {v:?}, this corral speaks {PROTO_VERSION}"),
        );
    }
    if value.get("hello").is_some() {
        let hello: proto::Hello = match serde_json::from_value(value) {
            Ok(h) => h,
            Err(e) => return refuse(&stream, format!("bad hello: {e}")),
        };
        let Some(handler) = clients else {
            return refuse(&stream, "this socket takes no clients".into());
        };
        if check_confined && crate::sandbox::peer_is_confined(stream.as_raw_fd()) {
            return refuse(
                &stream,
                "this client runs inside a sandbox (no_new_privs is set); a sandboxed agent may not drive corral".into(),
            );
        }
        let _ = stream.set_read_timeout(None);
        drop(stream);
        return handler(hello, reader);
    }
    let request: HookRequest = match serde_json::from_value(value) {
        Ok(r) => r,
        Err(e) => return refuse(&stream, format!("bad request: {e}")),
    };
    let _ = stream.set_read_timeout(None);
    let Ok(reply_half) = stream.try_clone() else {
        return;
    };
    if !to_manager(SocketMsg::Hook {
        conn,
        request,
        stream: reply_half,
    }) {
        return;
    }
    // Block until the peer hangs up or the manager shuts the stream down.
    let mut buf = [0u8; 64];
    loop {
        match reader.get_mut().read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    to_manager(SocketMsg::Gone { conn });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn socket_is_private_and_stale_ones_are_replaced() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let rt = dir.path().join("rt");
        // A stale socket file: bound once, its listener gone.
        crate::paths::ensure_private_dir(&rt).unwrap_or_else(|e| panic!("{e}"));
        drop(UnixListener::bind(rt.join("t.sock")).unwrap_or_else(|e| panic!("{e}")));
        let (tx, rx) = mpsc::channel();
        let sock =
            bind(&rt, "t", move |m| tx.send(m).is_ok(), None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sock.path(), rt.join("t.sock"));
        let mode = |p: &Path| {
            std::fs::metadata(p)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0)
        };
        assert_eq!(mode(&rt), 0o700);
        assert_eq!(mode(sock.path()), 0o600);
        // A live one keeps its name: a second server takes another.
        let (tx2, _rx2) = mpsc::channel();
        let other =
            bind(&rt, "t", move |m| tx2.send(m).is_ok(), None).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(other.path(), sock.path());

        // A request reaches the manager; a hang-up is reported.
        let mut c = UnixStream::connect(sock.path()).unwrap_or_else(|e| panic!("{e}"));
        let req = HookRequest {
            v: PROTO_VERSION,
            slot: "a".into(),
            generation: 1,
            token: "x".into(),
            protocol: proto::HookProtocol::ClaudePermissionRequest,
            event: serde_json::json!({}),
        };
        proto::write_frame(&mut c, &req).unwrap_or_else(|e| panic!("{e}"));
        let got = rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{e}"));
        let SocketMsg::Hook { conn, request, .. } = got else {
            panic!("not a hook request")
        };
        assert_eq!(request, req);
        drop(c);
        let gone = rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(gone, SocketMsg::Gone { conn: g } if g == conn));

        // Another version is refused with a reason.
        let mut c = UnixStream::connect(sock.path()).unwrap_or_else(|e| panic!("{e}"));
        proto::write_frame(&mut c, &serde_json::json!({"v": 99})).unwrap_or_else(|e| panic!("{e}"));
        let mut r = BufReader::new(c);
        let reply: Option<HookReply> = proto::read_frame(&mut r).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            reply
                .and_then(|r| r.error)
                .is_some_and(|e| e.contains("version"))
        );
        drop(sock);
        assert!(!rt.join("t.sock").exists());
    }
}
