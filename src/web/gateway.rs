//! The gateway: its watch connection to the server, what it keeps for its
//! web clients (per slot: the latest screen, the output stream, state
//! changes; the slot list), and the HTTP and WebSocket routes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::{Notify, broadcast, watch};

use super::access::{Origins, Throttle, TokenStore, b64url, random_bytes, sha256_hex};
use super::api::{AnswerReply, AnswerRequest, Me, SessionMsg, SlotInput, SlotMsg};
use super::page;
use crate::client::ctl::{CtlError, exchange};
use crate::client::link::{Link, LinkEvent};
use crate::proto::ctl::{CtlReply, CtlRequest, CtlSlot, SendInput};
use crate::proto::{Event, HelloKind, ServerMsg};

/// The cookie a login sets.
const COOKIE: &str = "corral_login";

/// Most screens a second one `?mode=screen` socket is sent.
const SCREEN_EVERY: Duration = Duration::from_millis(40);

/// Output chunks a slow socket may fall behind by before it gets a whole
/// screen instead.
const DATA_BACKLOG: usize = 1024;

/// Most rows of scrollback a socket may ask for at once.
const HISTORY_MAX: usize = 10_000;

/// Largest message a web client may send, in bytes.
const MESSAGE_MAX: usize = 256 * 1024;

/// One person's login: the cookie's value names it.
#[derive(Debug, Clone)]
struct Login {
    name: String,
    /// The token's SHA-256 (the login ends when the token is revoked).
    token_sha: String,
    read_only: bool,
    csrf: String,
}

/// What the gateway keeps of one slot for its clients.
struct SlotChan {
    id: String,
    /// Bumped on every change of its screen.
    version: watch::Sender<u64>,
    /// Its output as it comes, as `data` messages (JSON text, encoded once
    /// for every socket).
    data: broadcast::Sender<Arc<str>>,
    /// State changes and its exit.
    states: broadcast::Sender<SlotMsg>,
    /// The last screen rendered, and for which version (rendered once for
    /// every socket that shows it).
    cache: Mutex<(u64, Arc<String>)>,
}

impl SlotChan {
    fn new(id: String) -> SlotChan {
        SlotChan {
            id,
            version: watch::channel(0).0,
            data: broadcast::channel(DATA_BACKLOG).0,
            states: broadcast::channel(64).0,
            cache: Mutex::new((u64::MAX, Arc::new(String::new()))),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The gateway of one session.
pub struct Gateway {
    session: String,
    socket: PathBuf,
    store_path: PathBuf,
    /// The token store as last read, and the file's modification time then.
    store: Mutex<(Option<SystemTime>, TokenStore)>,
    /// Logins by the SHA-256 of their cookie.
    logins: Mutex<HashMap<String, Login>>,
    throttle: Mutex<Throttle>,
    origins: Origins,
    tls: bool,
    insecure: bool,
    link: Arc<Link>,
    /// Shared with the link's reader thread, which streams output.
    slots: Arc<Mutex<Vec<Arc<SlotChan>>>>,
    /// The slot list (`ctl list`), after every change.
    list: watch::Sender<Arc<Vec<CtlSlot>>>,
    /// Asks for the slot list again.
    relist: Notify,
    /// The link's events, taken once by [`Gateway::serve`].
    events: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<LinkEvent>>>,
}

impl Gateway {
    /// Connects to the session's server (starting it if none runs) as a
    /// watching client.
    ///
    /// Errors: the server cannot be reached or started.
    pub async fn connect(
        o: &super::Options,
        origins: Origins,
        store_path: PathBuf,
    ) -> anyhow::Result<Arc<Gateway>> {
        let socket = crate::server::host::socket_path(&o.paths.runtime_dir, &o.session);
        let connected = match crate::client::link::connect(&socket, &o.session, HelloKind::Watch) {
            Ok(c) => c,
            Err(crate::client::link::ConnectError::NoServer(_)) => {
                let exe = std::env::current_exe().context("finding corral's own executable")?;
                match crate::client::link::start_server(&exe, &o.session, &o.server_args, "") {
                    Ok(()) => {}
                    Err(e) if e.to_string().contains("already running") => {}
                    Err(e) => return Err(e),
                }
                let deadline = Instant::now() + Duration::from_secs(10);
                loop {
                    match crate::client::link::connect(&socket, &o.session, HelloKind::Watch) {
                        Ok(c) => break c,
                        Err(e) if Instant::now() > deadline => return Err(e.into()),
                        Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                }
            }
            Err(e) => return Err(e.into()),
        };
        let (welcome, stream, reader) = connected;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let chans: Vec<Arc<SlotChan>> = welcome
            .slots
            .iter()
            .map(|s| Arc::new(SlotChan::new(s.id.clone())))
            .collect();
        let slots = Arc::new(Mutex::new(chans));
        let on_output: crate::client::link::OnOutput = {
            let slots = slots.clone();
            Box::new(move |slot, bytes, _engine| {
                let chan = lock(&slots).get(slot).cloned();
                // Encoded once for every socket that streams it.
                if let Some(c) = chan
                    && c.data.receiver_count() > 0
                {
                    use base64::Engine as _;
                    let msg = SlotMsg::Data {
                        slot: c.id.clone(),
                        data: base64::engine::general_purpose::STANDARD.encode(bytes),
                    };
                    if let Ok(text) = serde_json::to_string(&msg) {
                        let _ = c.data.send(Arc::from(text));
                    }
                }
            })
        };
        let link = Arc::new(Link::start(
            &welcome,
            stream,
            reader,
            socket.clone(),
            tx,
            on_output,
        )?);
        let g = Gateway {
            session: o.session.clone(),
            socket,
            store: Mutex::new((None, TokenStore::default())),
            store_path,
            logins: Mutex::new(HashMap::new()),
            throttle: Mutex::new(Throttle::default()),
            origins,
            tls: o.tls.is_some(),
            insecure: o.insecure_http && !o.listen.ip().is_loopback(),
            link,
            slots,
            list: watch::channel(Arc::new(Vec::new())).0,
            relist: Notify::new(),
            events: Mutex::new(Some(rx)),
        };
        Ok(Arc::new(g))
    }

    /// Serves `listener` (HTTPS with `tls`) until the server ends or the
    /// process is interrupted.
    ///
    /// Errors: the certificate cannot be read; serving fails.
    pub async fn serve(
        self: Arc<Self>,
        listener: std::net::TcpListener,
        tls: Option<(PathBuf, PathBuf)>,
    ) -> anyhow::Result<()> {
        let events = lock(&self.events).take();
        let (gone_tx, mut gone_rx) = tokio::sync::mpsc::channel::<String>(1);
        if let Some(rx) = events {
            tokio::spawn(self.clone().follow(rx, gone_tx));
        }
        tokio::spawn(self.clone().keep_list());
        self.relist.notify_one();
        let app = Router::new()
            .route("/", get(index))
            .route("/login", get(login))
            .route("/logout", post(logout))
            .route(
                "/app.js",
                get(|| async { asset("text/javascript", page::APP_JS) }),
            )
            .route(
                "/app.css",
                get(|| async { asset("text/css", page::APP_CSS) }),
            )
            .route("/api/answer", post(answer))
            .route("/ws/session", get(ws_session))
            .route("/ws/events", get(ws_events))
            .route("/ws/slot/{id}", get(ws_slot))
            .with_state(self.clone());
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        let served = async move {
            match tls {
                Some((cert, key)) => {
                    let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key)
                        .await
                        .with_context(|| {
                            format!("reading {} and {}", cert.display(), key.display())
                        })?;
                    axum_server::from_tcp_rustls(listener, config)?
                        .serve(service)
                        .await
                        .context("serving HTTPS")
                }
                None => {
                    let l = tokio::net::TcpListener::from_std(listener)?;
                    axum::serve(l, service).await.context("serving HTTP")
                }
            }
        };
        let interrupt = async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async {
                    match term.as_mut() {
                        Some(t) => { t.recv().await; }
                        None => std::future::pending::<()>().await,
                    }
                } => {}
            }
        };
        tokio::select! {
            r = served => r,
            why = gone_rx.recv() => {
                anyhow::bail!("the server of session {} stopped: {}", self.session, why.unwrap_or_default())
            }
            () = interrupt => Ok(()),
        }
    }

    /// Feeds the link's events to the slots' channels; says when the
    /// server is gone.
    async fn follow(
        self: Arc<Self>,
        mut rx: tokio::sync::mpsc::UnboundedReceiver<LinkEvent>,
        gone: tokio::sync::mpsc::Sender<String>,
    ) {
        while let Some(ev) = rx.recv().await {
            match ev {
                LinkEvent::Output(slot) | LinkEvent::Screen { slot, .. } => {
                    if let Some(c) = self.chan(slot) {
                        c.version.send_modify(|v| *v += 1);
                    }
                }
                LinkEvent::Msg(ServerMsg::Event { event }) => {
                    self.event(event);
                }
                LinkEvent::Msg(ServerMsg::Bye { reason }) => {
                    let _ = gone.send(reason).await;
                    return;
                }
                LinkEvent::Closed => {
                    let _ = gone.send("its connection closed".into()).await;
                    return;
                }
                LinkEvent::Msg(_) => {}
            }
        }
        let _ = gone.send("its connection closed".into()).await;
    }

    fn event(&self, event: Event) {
        match &event {
            Event::StateChanged { slot, state, .. } => {
                if let Some(c) = self.chan(*slot) {
                    let _ = c.states.send(SlotMsg::State {
                        slot: c.id.clone(),
                        state: state.clone(),
                    });
                }
            }
            Event::Exited { slot, status, .. } => {
                if let Some(c) = self.chan(*slot) {
                    let _ = c.states.send(SlotMsg::Exit {
                        slot: c.id.clone(),
                        status: status.clone(),
                    });
                }
            }
            Event::SlotAdded { slot, info } => {
                let mut slots = lock(&self.slots);
                if *slot == slots.len() {
                    slots.push(Arc::new(SlotChan::new(info.id.clone())));
                }
            }
            _ => {}
        }
        // Output and titles change no slot's state or prompt.
        if !matches!(
            event,
            Event::Output { .. } | Event::Title { .. } | Event::Bell { .. }
        ) {
            self.relist.notify_one();
        }
    }

    /// Keeps the slot list current: `ctl list` after every change (changes
    /// close together are read once).
    async fn keep_list(self: Arc<Self>) {
        loop {
            self.relist.notified().await;
            tokio::time::sleep(Duration::from_millis(20)).await;
            let me = self.clone();
            let got = tokio::task::spawn_blocking(move || me.ctl_one(CtlRequest::List)).await;
            match got {
                Ok(Ok(CtlReply::Slots { slots })) => {
                    self.list.send_replace(Arc::new(slots));
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!("web: ctl list: {}", ctl_error(&e)),
                Err(e) => tracing::warn!("web: ctl list: {e}"),
            }
        }
    }

    fn chan(&self, slot: usize) -> Option<Arc<SlotChan>> {
        lock(&self.slots).get(slot).cloned()
    }

    fn slot_of(&self, id: &str) -> Option<(usize, Arc<SlotChan>)> {
        lock(&self.slots)
            .iter()
            .enumerate()
            .find(|(_, c)| c.id == id)
            .map(|(i, c)| (i, c.clone()))
    }

    /// One ctl request, its one reply (blocking: call off the runtime).
    fn ctl_one(&self, request: CtlRequest) -> Result<CtlReply, CtlError> {
        let mut got = None;
        exchange(&self.socket, &self.session, request, |_, r| {
            got = Some(r);
            false
        })?;
        got.ok_or_else(|| CtlError::Failed("no reply".into()))
    }

    /// The token store, read again when its file changed (a revocation
    /// takes effect at once).
    fn store(&self) -> TokenStore {
        let mtime = std::fs::metadata(&self.store_path)
            .and_then(|m| m.modified())
            .ok();
        let mut s = lock(&self.store);
        if s.0 != mtime || mtime.is_none() {
            match TokenStore::load(&self.store_path) {
                Ok(store) => *s = (mtime, store),
                Err(e) => {
                    // An unreadable store lets nobody in.
                    tracing::warn!("web: token store: {e}");
                    *s = (None, TokenStore::default());
                }
            }
        }
        s.1.clone()
    }

    /// Whether `login` still holds (its token was not revoked).
    fn valid(&self, login: &Login) -> bool {
        self.store().holds(&login.token_sha)
    }

    /// Who makes this request: a login cookie, or a token as `Bearer`.
    /// `Ok((login, by_cookie))`; else the refusal to send (logged).
    fn who(&self, headers: &HeaderMap, peer: SocketAddr) -> Result<(Login, bool), Response> {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        if !self.origins.host_ok(host) {
            tracing::warn!(%peer, host, "web: refused: unknown Host");
            return Err(refuse(
                StatusCode::FORBIDDEN,
                "this gateway is not reached by that name",
            ));
        }
        if let Some(sid) = cookie(headers, COOKIE) {
            let login = lock(&self.logins).get(&sha256_hex(&sid)).cloned();
            if let Some(l) = login
                && self.valid(&l)
            {
                return Ok((l, true));
            }
        }
        if let Some(token) = headers
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
        {
            return match self.check_token(token.trim(), peer) {
                Ok(l) => Ok((l, false)),
                Err(r) => Err(r),
            };
        }
        tracing::warn!(%peer, "web: refused: no login");
        Err(refuse(
            StatusCode::UNAUTHORIZED,
            "not logged in: open the URL `corral web` printed",
        ))
    }

    /// Checks a token, slowed down after bad ones from the same address.
    fn check_token(&self, token: &str, peer: SocketAddr) -> Result<Login, Response> {
        let now = Instant::now();
        if let Err(wait) = lock(&self.throttle).check(peer.ip(), now) {
            tracing::warn!(%peer, "web: refused: too many bad tokens");
            let mut r = refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "too many bad tokens: wait before trying again",
            );
            if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return Err(r);
        }
        let store = self.store();
        match store.verify(token) {
            Some(e) => {
                lock(&self.throttle).succeeded(peer.ip());
                Ok(Login {
                    name: e.name.clone(),
                    token_sha: e.sha256.clone(),
                    read_only: e.read_only,
                    csrf: String::new(),
                })
            }
            None => {
                lock(&self.throttle).failed(peer.ip(), now);
                tracing::warn!(%peer, "web: refused: bad token");
                Err(refuse(StatusCode::UNAUTHORIZED, "bad token"))
            }
        }
    }

    /// Checks a WebSocket's (or a page's `POST`'s) Origin: a browser always
    /// sends one; a login by cookie must come from this gateway's own page.
    fn origin_ok(&self, headers: &HeaderMap, by_cookie: bool, peer: SocketAddr) -> bool {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let ok = match headers.get(header::ORIGIN).map(|o| o.to_str()) {
            Some(Ok(origin)) => self.origins.origin_ok(origin, host),
            Some(Err(_)) => false,
            // Not a browser: no other site's page can be behind it, and a
            // cookie alone does not do.
            None => !by_cookie,
        };
        if !ok {
            tracing::warn!(%peer, "web: refused: wrong Origin");
        }
        ok
    }

    /// The slot's screen (with up to `history` rows of scrollback) as a
    /// [`SlotMsg::Screen`], JSON.
    fn screen(&self, slot: usize, chan: &SlotChan, history: usize) -> Arc<String> {
        let version = *chan.version.borrow();
        if history == 0 {
            let c = lock(&chan.cache);
            if c.0 == version {
                return c.1.clone();
            }
        }
        let msg = match self.link.mirrors.lock(slot) {
            Some(e) => {
                let (rows, cols) = e.size();
                let lines = e.lines(history, true);
                let cursor = e.screen().cursor_position();
                SlotMsg::Screen {
                    slot: chan.id.clone(),
                    rows,
                    cols,
                    cursor: [cursor.0, cursor.1],
                    title: e.title().to_string(),
                    scrollback: lines.len().saturating_sub(rows as usize),
                    lines,
                }
            }
            None => SlotMsg::Error {
                error: "no such slot".into(),
            },
        };
        let text = Arc::new(serde_json::to_string(&msg).unwrap_or_default());
        if history == 0 {
            *lock(&chan.cache) = (version, text.clone());
        }
        text
    }
}

fn ctl_error(e: &CtlError) -> String {
    match e {
        CtlError::Failed(s) | CtlError::Usage(s) => s.clone(),
    }
}

/// A cookie's value from the request's `Cookie` headers.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn refuse(status: StatusCode, why: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(AnswerReply {
            answered: None,
            error: Some(why.to_string()),
        }),
    )
        .into_response()
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// The headers every page carries: no framing, no scripts from elsewhere.
fn page_headers() -> [(header::HeaderName, &'static str); 5] {
    [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
        ),
    ]
}

async fn index(
    State(g): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    match g.who(&headers, peer) {
        Ok(_) => (page_headers(), page::INDEX_HTML).into_response(),
        Err(r) if r.status() == StatusCode::UNAUTHORIZED => {
            (StatusCode::UNAUTHORIZED, page_headers(), page::LOGIN_HTML).into_response()
        }
        Err(r) => r,
    }
}

#[derive(serde::Deserialize)]
struct LoginQuery {
    token: Option<String>,
}

async fn login(
    State(g): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !g.origins.host_ok(host) {
        tracing::warn!(%peer, host, "web: login refused: unknown Host");
        return refuse(
            StatusCode::FORBIDDEN,
            "this gateway is not reached by that name",
        );
    }
    let Some(token) = q.token else {
        return (StatusCode::UNAUTHORIZED, page_headers(), page::LOGIN_HTML).into_response();
    };
    let mut login = match g.check_token(&token, peer) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let (Ok(sid), Ok(csrf)) = (random_bytes::<32>(), random_bytes::<32>()) else {
        return refuse(StatusCode::INTERNAL_SERVER_ERROR, "no randomness");
    };
    let sid = b64url(&sid);
    login.csrf = b64url(&csrf);
    tracing::info!(%peer, name = %login.name, read_only = login.read_only, "web: logged in");
    lock(&g.logins).insert(sha256_hex(&sid), login);
    let secure = if g.tls { "; Secure" } else { "" };
    let set = format!("{COOKIE}={sid}; Path=/; HttpOnly; SameSite=Strict{secure}");
    let mut r = (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, "/".to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (header::REFERRER_POLICY, "no-referrer".to_string()),
        ],
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&set) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn logout(
    State(g): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let (login, by_cookie) = match g.who(&headers, peer) {
        Ok(w) => w,
        Err(r) => return r,
    };
    if by_cookie && !csrf_ok(&g, &headers, &login, peer) {
        return refuse(StatusCode::FORBIDDEN, "not from this gateway's page");
    }
    if let Some(sid) = cookie(&headers, COOKIE) {
        lock(&g.logins).remove(&sha256_hex(&sid));
    }
    (
        StatusCode::OK,
        [(
            header::SET_COOKIE,
            format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
        )],
    )
        .into_response()
}

/// A `POST` by cookie must come from the page: its Origin, and the CSRF
/// value only the page could read.
fn csrf_ok(g: &Gateway, headers: &HeaderMap, login: &Login, peer: SocketAddr) -> bool {
    if !g.origin_ok(headers, true, peer) {
        return false;
    }
    let sent = headers
        .get("x-corral-csrf")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ok = !login.csrf.is_empty() && super::access::same(sent.as_bytes(), login.csrf.as_bytes());
    if !ok {
        tracing::warn!(%peer, "web: refused: missing or wrong CSRF value");
    }
    ok
}

async fn answer(
    State(g): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let (login, by_cookie) = match g.who(&headers, peer) {
        Ok(w) => w,
        Err(r) => return r,
    };
    if by_cookie && !csrf_ok(&g, &headers, &login, peer) {
        return refuse(StatusCode::FORBIDDEN, "not from this gateway's page");
    }
    if login.read_only {
        tracing::warn!(%peer, name = %login.name, "web: refused: a read-only token answered");
        return refuse(StatusCode::FORBIDDEN, "this token may watch, not answer");
    }
    let req: AnswerRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &format!("bad answer: {e}")),
    };
    let request = CtlRequest::Answer {
        slot: req.slot.clone(),
        answer: req.answer,
        prompt: Some(req.prompt),
        by_web: Some(login.name.clone()),
    };
    let me = g.clone();
    let got = tokio::task::spawn_blocking(move || me.ctl_one(request)).await;
    match got {
        Ok(Ok(CtlReply::Answered { prompt, .. })) => {
            tracing::info!(%peer, name = %login.name, slot = %req.slot, %prompt, "web: answered");
            (
                StatusCode::OK,
                axum::Json(AnswerReply {
                    answered: Some(prompt),
                    error: None,
                }),
            )
                .into_response()
        }
        Ok(Ok(other)) => refuse(
            StatusCode::CONFLICT,
            &format!("unexpected reply: {other:?}"),
        ),
        Ok(Err(e)) => {
            tracing::warn!(%peer, name = %login.name, slot = %req.slot, "web: not answered: {}", ctl_error(&e));
            refuse(StatusCode::CONFLICT, &ctl_error(&e))
        }
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// Checks a WebSocket upgrade: a login, and the Origin.
fn ws_gate(g: &Gateway, headers: &HeaderMap, peer: SocketAddr) -> Result<Login, Response> {
    let (login, by_cookie) = g.who(headers, peer)?;
    if !g.origin_ok(headers, by_cookie, peer) {
        return Err(refuse(StatusCode::FORBIDDEN, "wrong Origin"));
    }
    Ok(login)
}

async fn ws_session(
    State(g): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let login = match ws_gate(&g, &headers, peer) {
        Ok(l) => l,
        Err(r) => return r,
    };
    ws.max_message_size(MESSAGE_MAX)
        .on_upgrade(move |socket| session_socket(g, login, socket))
}

async fn send_json<T: serde::Serialize>(socket: &mut WebSocket, msg: &T) -> bool {
    match serde_json::to_string(msg) {
        Ok(t) => socket.send(Message::Text(t.into())).await.is_ok(),
        Err(_) => false,
    }
}

async fn session_socket(g: Arc<Gateway>, login: Login, mut socket: WebSocket) {
    let hello = SessionMsg::Hello {
        session: g.session.clone(),
        me: Me {
            name: login.name.clone(),
            read_only: login.read_only,
            csrf: login.csrf.clone(),
        },
        insecure: g.insecure,
    };
    if !send_json(&mut socket, &hello).await {
        return;
    }
    let mut list = g.list.subscribe();
    let mut check = tokio::time::interval(Duration::from_secs(1));
    loop {
        let slots = list.borrow_and_update().clone();
        if !send_json(
            &mut socket,
            &SessionMsg::Slots {
                slots: slots.as_ref().clone(),
            },
        )
        .await
        {
            return;
        }
        loop {
            tokio::select! {
                changed = list.changed() => {
                    if changed.is_err() { return; }
                    break;
                }
                msg = socket.recv() => match msg {
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    _ => {}
                },
                _ = check.tick() => if !g.valid(&login) {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                },
            }
        }
    }
}

async fn ws_events(
    State(g): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let login = match ws_gate(&g, &headers, peer) {
        Ok(l) => l,
        Err(r) => return r,
    };
    ws.max_message_size(MESSAGE_MAX)
        .on_upgrade(move |socket| events_socket(g, login, socket))
}

async fn events_socket(g: Arc<Gateway>, login: Login, mut socket: WebSocket) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(1024);
    let socket_path = g.socket.clone();
    let session = g.session.clone();
    std::thread::spawn(move || {
        let _ = exchange(
            &socket_path,
            &session,
            CtlRequest::Events { slot: None },
            |value, _| tx.blocking_send(value.to_string()).is_ok(),
        );
    });
    let mut check = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            line = rx.recv() => match line {
                Some(l) => if socket.send(Message::Text(l.into())).await.is_err() { return; },
                None => { let _ = socket.send(Message::Close(None)).await; return; }
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                _ => {}
            },
            _ = check.tick() => if !g.valid(&login) {
                let _ = socket.send(Message::Close(None)).await;
                return;
            },
        }
    }
}

#[derive(serde::Deserialize)]
struct SlotQuery {
    /// `screen`: whole screens after every change instead of output.
    mode: Option<String>,
}

async fn ws_slot(
    State(g): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<SlotQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    let login = match ws_gate(&g, &headers, peer) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let Some((slot, chan)) = g.slot_of(&id) else {
        return refuse(StatusCode::NOT_FOUND, &format!("no slot {id:?}"));
    };
    let screens = q.mode.as_deref() == Some("screen");
    ws.max_message_size(MESSAGE_MAX)
        .on_upgrade(move |socket| slot_socket(g, login, slot, chan, screens, peer, socket))
}

async fn slot_socket(
    g: Arc<Gateway>,
    login: Login,
    slot: usize,
    chan: Arc<SlotChan>,
    screens: bool,
    peer: SocketAddr,
    mut socket: WebSocket,
) {
    let mut data = chan.data.subscribe();
    let mut states = chan.states.subscribe();
    let mut version = chan.version.subscribe();
    version.borrow_and_update();
    let first = g.screen(slot, &chan, 0);
    if socket
        .send(Message::Text(first.as_str().into()))
        .await
        .is_err()
    {
        return;
    }
    let mut check = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            changed = version.changed(), if screens => {
                if changed.is_err() { return; }
                version.borrow_and_update();
                let s = g.screen(slot, &chan, 0);
                if socket.send(Message::Text(s.as_str().into())).await.is_err() { return; }
                tokio::time::sleep(SCREEN_EVERY).await;
            }
            got = data.recv(), if !screens => match got {
                Ok(text) => {
                    if socket.send(Message::Text(text.as_ref().into())).await.is_err() { return; }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // Fell behind: the screen as it is now, then on.
                    data = chan.data.subscribe();
                    let s = g.screen(slot, &chan, 0);
                    if socket.send(Message::Text(s.as_str().into())).await.is_err() { return; }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            got = states.recv() => match got {
                Ok(m) => if !send_json(&mut socket, &m).await { return; },
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(t))) => {
                    let reply = slot_input(&g, &login, slot, &chan, t.as_str(), peer).await;
                    if let Some(r) = reply
                        && socket.send(Message::Text(r.as_str().into())).await.is_err()
                    {
                        return;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                _ => {}
            },
            _ = check.tick() => if !g.valid(&login) {
                let _ = socket.send(Message::Close(None)).await;
                return;
            },
        }
    }
}

/// Carries out what a web client sent on a slot's socket; the message to
/// send back, if any.
async fn slot_input(
    g: &Arc<Gateway>,
    login: &Login,
    slot: usize,
    chan: &Arc<SlotChan>,
    text: &str,
    peer: SocketAddr,
) -> Option<Arc<String>> {
    let error = |e: String| {
        Some(Arc::new(
            serde_json::to_string(&SlotMsg::Error { error: e }).unwrap_or_default(),
        ))
    };
    let input: SlotInput = match serde_json::from_str(text) {
        Ok(i) => i,
        Err(e) => return error(format!("bad message: {e}")),
    };
    let send = match input {
        SlotInput::History { rows } => {
            let (me, chan2) = (g.clone(), chan.clone());
            let rows = rows.min(HISTORY_MAX);
            return tokio::task::spawn_blocking(move || {
                me.link.ensure_history(slot, Duration::from_secs(2));
                me.screen(slot, &chan2, rows)
            })
            .await
            .ok();
        }
        SlotInput::Text { text } => SendInput::Text(text),
        SlotInput::Keys { keys } => SendInput::Keys(keys),
    };
    if login.read_only {
        tracing::warn!(%peer, name = %login.name, "web: refused: a read-only token typed");
        return error("this token may watch, not type".into());
    }
    let request = CtlRequest::Send {
        slot: chan.id.clone(),
        input: send,
        enter: false,
    };
    let me = g.clone();
    match tokio::task::spawn_blocking(move || me.ctl_one(request)).await {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => error(ctl_error(&e)),
        Err(e) => error(e.to_string()),
    }
}
