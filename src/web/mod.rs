//! `corral web`: an HTTP and WebSocket gateway for one session, for a
//! browser or a phone, and for scripts.
//!
//! It is a client of the session's server like any other: it watches over
//! the server's socket ([`crate::proto::HelloKind::Watch`]: every slot's
//! output and events, no size, no commands) and asks for what it does
//! (answers, typing, the slot list) with `ctl` requests, checked by the
//! server as `corral ctl`'s are. The server has no listener and no web
//! code.
//!
//! Access: a random token, shown once as a URL, is exchanged for an
//! HttpOnly, SameSite=Strict cookie ([`access`]); scripts send it as
//! `Authorization: Bearer`. A read-only token watches only. Every
//! WebSocket's Origin and every request's Host are checked, a `POST` from
//! the page carries a CSRF header, and bad tokens are slowed down.

pub mod access;
pub mod api;
mod gateway;
mod page;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;

pub use gateway::Gateway;

/// What `corral web` was asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// The session.
    pub session: String,
    /// corral's directories.
    pub paths: crate::paths::Paths,
    /// Arguments for a server this starts (when none runs).
    pub server_args: Vec<std::ffi::OsString>,
    /// Where to listen (`127.0.0.1:8421` unless given).
    pub listen: SocketAddr,
    /// A certificate chain and its private key (PEM): serve HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Serve plain HTTP on an address other than loopback (the page warns).
    pub insecure_http: bool,
    /// The token's name (in the audit log).
    pub name: String,
    /// The token may watch only.
    pub read_only: bool,
    /// The URL people reach the gateway by, when not its listen address
    /// (a reverse proxy, a DNS name): used in the printed URL and the Host
    /// check.
    pub public_url: Option<String>,
    /// Print the URL as a QR code too.
    pub qr: bool,
}

/// The port `corral web` listens on unless told.
pub const DEFAULT_PORT: u16 = 8421;

/// Why `corral web` would not start: the caller exits 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Checks the listen address against TLS: only loopback may serve plain
/// HTTP without `--insecure-http`.
///
/// Errors: [`UsageError`].
pub fn check_listen(o: &Options) -> Result<(), UsageError> {
    if !o.listen.ip().is_loopback() && o.tls.is_none() && !o.insecure_http {
        return Err(UsageError(format!(
            "--listen {}: an address other than loopback needs TLS (--tls-cert and --tls-key) \
             or --insecure-http (tokens and answers would cross the network in the clear)",
            o.listen
        )));
    }
    if o.name.is_empty() || o.name.len() > 64 || o.name.chars().any(|c| c.is_control()) {
        return Err(UsageError(format!(
            "--name {:?}: 1 to 64 printable characters",
            o.name
        )));
    }
    Ok(())
}

/// Runs the gateway until it is interrupted or the server ends: prints
/// the login URL on the first line of standard output (then a QR code),
/// and serves.
///
/// Errors: the server cannot be reached or started, the address cannot be
/// bound, the certificate cannot be read.
pub fn run(o: Options) -> anyhow::Result<()> {
    check_listen(&o)?;
    // Both rustls providers may be linked in (the tests' WebDriver client
    // brings aws-lc): corral's TLS is ring's.
    #[allow(deprecated)] // ring: no post-quantum key exchange, and no C toolchain needed
    let _ = rustls::crypto::ring::default_provider().install_default();
    let listener = std::net::TcpListener::bind(o.listen)
        .with_context(|| format!("listening on {}", o.listen))?;
    listener.set_nonblocking(true)?;
    let bound = listener.local_addr()?;
    let store_path = access::store_path(&o.paths.data_dir, &o.session);
    let mut store = access::TokenStore::load(&store_path)?;
    let token = store.mint(&o.name, o.read_only, now_rfc3339())?;
    store.save(&store_path)?;
    let scheme = if o.tls.is_some() { "https" } else { "http" };
    let base = match &o.public_url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => {
            let host = if bound.ip().is_unspecified() {
                format!("127.0.0.1:{}", bound.port())
            } else {
                bound.to_string()
            };
            format!("{scheme}://{host}")
        }
    };
    let url = format!("{base}/login?token={token}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let origins = access::Origins::new(bound, o.tls.is_some(), o.public_url.as_deref());
    let gateway = runtime.block_on(Gateway::connect(&o, origins, store_path))?;
    // After the connect, which may have started the server: it must not
    // inherit this.
    lower_priority();
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{url}")?;
        let access = if o.read_only { "read-only" } else { "full" };
        writeln!(
            out,
            "corral web: session {} on {scheme}://{bound} ({access} access for {:?}; the URL is \
             shown once; `corral web --revoke` ends every login)",
            o.session, o.name
        )?;
        if o.insecure_http && !bound.ip().is_loopback() {
            writeln!(
                out,
                "corral web: WARNING: plain HTTP on {bound}: the token crosses the network in \
                 the clear"
            )?;
        }
        if o.qr
            && let Some(code) = qr_text(&url)
        {
            writeln!(out, "{code}")?;
        }
        out.flush()?;
    }
    tracing::info!(%bound, name = %o.name, read_only = o.read_only, "corral web listening");
    runtime.block_on(gateway.serve(listener, o.tls.clone()))
}

/// `url` as a QR code of half-block characters, for a phone's camera.
fn qr_text(url: &str) -> Option<String> {
    let code = qrcode::QrCode::new(url.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::unicode::Dense1x2>()
            .dark_color(qrcode::render::unicode::Dense1x2::Light)
            .light_color(qrcode::render::unicode::Dense1x2::Dark)
            .build(),
    )
}

/// `corral web --revoke [NAME]`: ends the token named `name` (or every
/// token) of `session`, and with it every login made with it, at once in a
/// running gateway. Returns what it did, in words.
///
/// Errors: the store cannot be read or written.
pub fn revoke(
    paths: &crate::paths::Paths,
    session: &str,
    name: Option<&str>,
) -> anyhow::Result<String> {
    let path = access::store_path(&paths.data_dir, session);
    let mut store = access::TokenStore::load(&path)?;
    let n = store.revoke(name);
    store.save(&path)?;
    Ok(match name {
        Some(name) if n == 0 => format!("no web token named {name:?} in session {session}\n"),
        Some(name) => format!("revoked web token {name:?} of session {session}\n"),
        None => format!("revoked {n} web token(s) of session {session}\n"),
    })
}

/// Now, RFC 3339, UTC.
fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Lowers every thread of this process (and so every thread it starts
/// later) to nice 10: a gateway serving many browsers must never take a
/// core from a terminal client's echo or from an agent (measured in
/// bench/README.md: key to echo with 50 web clients watching). A failure
/// leaves the priority as it was.
fn lower_priority() {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return;
    };
    for t in tasks.flatten() {
        if let Some(tid) = t
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<libc::id_t>().ok())
        {
            // SAFETY: setpriority takes plain integers and touches no memory
            // of ours; Linux keeps a nice value per thread.
            unsafe {
                libc::setpriority(libc::PRIO_PROCESS, tid, 10);
            }
        }
    }
}
