//! `corral web`: the gateway run as a user runs it, its page in a real
//! headless Chromium over WebDriver, its API and its refusals over plain
//! HTTP and WebSocket clients, beside a terminal client of the same
//! session. Chromium and its driver come from `scripts/install-browser.sh`
//! (paths in `CORRAL_CHROMIUM`, `CORRAL_CHROMEDRIVER`,
//! `CORRAL_BROWSER_LIBS`).

mod support;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::{
    Tui, audit_lines, corral_bin, demo_slot, tempdir, wait_until, wait_until_or, write_config,
};

const LONG: Duration = Duration::from_secs(40);

/// A running `corral web`, killed on drop.
struct Web {
    child: Child,
    /// The login URL it printed first.
    url: String,
    /// `http://127.0.0.1:PORT`.
    base: String,
    /// `127.0.0.1:PORT`.
    host: String,
    /// The token in the URL.
    token: String,
}

impl Drop for Web {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dirs(home: &Path) -> Vec<String> {
    [
        ("--config-dir", "config"),
        ("--data-dir", "data"),
        ("--runtime-dir", "run"),
    ]
    .iter()
    .flat_map(|(f, d)| [f.to_string(), home.join(d).to_string_lossy().into_owned()])
    .collect()
}

/// Starts `corral web` for the session of `home` (a terminal client runs
/// it already) with `args`, and reads the URL from its first line.
fn start_web(home: &Path, args: &[&str]) -> Web {
    let mut child = Command::new(corral_bin())
        .args(dirs(home))
        .args(["web", "--listen", "127.0.0.1:0", "--no-qr"])
        .args(args)
        .env("HOME", home)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("corral web: {e}"));
    let out = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut r = BufReader::new(out);
        let mut line = String::new();
        let _ = r.read_line(&mut line);
        let _ = tx.send(line);
        // Keep reading so the gateway never blocks on a full pipe.
        let mut sink = Vec::new();
        let _ = r.read_to_end(&mut sink);
    });
    let line = match rx.recv_timeout(LONG) {
        Ok(l) => l,
        Err(_) => {
            let _ = child.kill();
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("corral web printed no URL: {err}");
        }
    };
    let url = line.trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "first line: {url:?}");
    let base = url.split("/login").next().unwrap_or_default().to_string();
    let host = base.trim_start_matches("http://").to_string();
    let token = url.split("token=").nth(1).unwrap_or_default().to_string();
    Web {
        child,
        url,
        base,
        host,
        token,
    }
}

/// A config with one demo agent that asks for Bash soon.
fn demo_home() -> (tempfile::TempDir, String) {
    let home = tempdir();
    let cfg = write_config(home.path(), &demo_slot("api", "api", 300));
    (home, cfg)
}

/// The terminal client, with the demo's prompt in its inbox.
fn tui_with_prompt(home: &Path, cfg: &str) -> Tui {
    let t = Tui::corral(&["--config", cfg], 30, 120, home);
    t.wait_for("a prompt in the inbox", LONG, |s| s.contains("▶ "));
    t
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

/// `(status, body)` of a request.
fn http(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> (u16, String) {
    let a = agent(Duration::from_secs(20));
    let mut resp = match method {
        "POST" => {
            let mut r = a.post(url);
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            r.send(body.unwrap_or(""))
        }
        _ => {
            let mut r = a.get(url);
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            r.call()
        }
    }
    .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (status, text)
}

/// Logs in with `token`: the cookie's `name=value`.
fn login(w: &Web, token: &str) -> String {
    let a = agent(Duration::from_secs(20));
    let resp = a
        .get(format!("{}/login?token={token}", w.base))
        .call()
        .unwrap_or_else(|e| panic!("login: {e}"));
    assert_eq!(resp.status().as_u16(), 303);
    let set = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    set.split(';').next().unwrap_or_default().to_string()
}

/// Opens a WebSocket with these headers; `Err(status)` when refused.
fn ws(
    w: &Web,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<std::net::TcpStream>>, u16> {
    use tungstenite::client::IntoClientRequest;
    let mut req = format!("ws://{}{path}", w.host)
        .into_client_request()
        .unwrap_or_else(|e| panic!("{e}"));
    for (k, v) in headers {
        req.headers_mut().insert(
            tungstenite::http::HeaderName::from_bytes(k.as_bytes())
                .unwrap_or_else(|e| panic!("{e}")),
            v.parse().unwrap_or_else(|e| panic!("{e}")),
        );
    }
    match tungstenite::connect(req) {
        Ok((s, _)) => {
            if let tungstenite::stream::MaybeTlsStream::Plain(t) = s.get_ref() {
                let _ = t.set_read_timeout(Some(Duration::from_secs(30)));
            }
            Ok(s)
        }
        Err(tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
        Err(e) => panic!("ws {path}: {e}"),
    }
}

fn next_json(
    s: &mut tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<std::net::TcpStream>>,
) -> serde_json::Value {
    loop {
        match s.read() {
            Ok(tungstenite::Message::Text(t)) => {
                return serde_json::from_str(t.as_str()).unwrap_or_else(|e| panic!("{e}: {t}"));
            }
            Ok(_) => {}
            Err(e) => panic!("ws read: {e}"),
        }
    }
}

/// The next `error` message on a slot's socket (others skipped).
fn next_error(
    s: &mut tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<std::net::TcpStream>>,
) -> serde_json::Value {
    loop {
        let m = next_json(s);
        if m["type"] == "error" {
            return m;
        }
    }
}

/// The open prompt of slot `id`, by `ctl list`.
fn open_prompt(home: &Path, id: &str) -> Option<serde_json::Value> {
    let out = Command::new(corral_bin())
        .args(dirs(home))
        .args(["ctl", "--json", "list"])
        .env("HOME", home)
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    v["slots"]
        .as_array()?
        .iter()
        .find(|s| s["id"] == id)
        .map(|s| s["prompt"].clone())
        .filter(|p| !p.is_null())
}

// --- the browser ---

/// chromedriver on a free port, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn browser_env(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run the tests through scripts/test.sh (it installs Chromium with scripts/install-browser.sh)")
    })
}

fn driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let child = Command::new(browser_env("CORRAL_CHROMEDRIVER"))
        .arg(format!("--port={port}"))
        .env("LD_LIBRARY_PATH", browser_env("CORRAL_BROWSER_LIBS"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("chromedriver: {e}"));
    let url = format!("http://127.0.0.1:{port}");
    wait_until("chromedriver to listen", LONG, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    Driver { child, url }
}

async fn browser(d: &Driver, width: u32, height: u32) -> fantoccini::Client {
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": browser_env("CORRAL_CHROMIUM"),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     format!("--window-size={width},{height}")],
        }),
    );
    fantoccini::ClientBuilder::rustls()
        .unwrap_or_else(|e| panic!("{e}"))
        .capabilities(caps)
        .connect(&d.url)
        .await
        .unwrap_or_else(|e| panic!("WebDriver session: {e}"))
}

/// Waits for the element at `css`.
async fn find(c: &fantoccini::Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(LONG)
        .for_element(fantoccini::Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The must-show: `corral web` prints a URL; the page shows the demo's
/// slot and its Bash prompt; Approve once answers it (audited `by: web`
/// with the token's name) and the terminal client sees it gone at once.
#[test]
fn the_page_approves_the_demo_bash_prompt_and_the_terminal_sees_it() {
    let (home, cfg) = demo_home();
    let t = tui_with_prompt(home.path(), &cfg);
    let w = start_web(home.path(), &["--name", "laptop"]);
    let d = driver();
    runtime().block_on(async {
        let c = browser(&d, 1280, 900).await;
        c.goto(&w.url).await.unwrap_or_else(|e| panic!("{e}"));
        let card = find(&c, "#inbox .card[data-slot='api']").await;
        let text = card.text().await.unwrap_or_default();
        assert!(text.contains("Bash"), "{text}");
        let subject = find(&c, "#inbox .card[data-slot='api'] .subject").await;
        let subject = subject.text().await.unwrap_or_default();
        assert!(!subject.is_empty());
        // The slot list and a live pane.
        find(&c, "#slots li[data-slot='api']").await;
        let pane = find(&c, ".pane[data-slot='api'] .screen .row").await;
        assert!(pane.text().await.is_ok());
        let approve = find(
            &c,
            "#inbox .card[data-slot='api'] button[data-answer='approve-once']",
        )
        .await;
        approve.click().await.unwrap_or_else(|e| panic!("{e}"));
        wait_until("the web answer in the audit log", LONG, || {
            audit_lines(home.path())
                .iter()
                .any(|a| a["by"]["source"] == "web" && a["result"] == "sent")
        });
        let _ = c.close().await;
    });
    let a = audit_lines(home.path());
    let line = a
        .iter()
        .find(|a| a["by"]["source"] == "web")
        .unwrap_or_else(|| panic!("{a:?}"));
    assert_eq!(line["slot"], "api");
    assert_eq!(line["tool"], "Bash");
    assert_eq!(line["answer"], "approve-once");
    assert_eq!(line["by"]["detail"], "laptop: approve-once", "{line}");
    t.wait_for("the prompt gone from the terminal's inbox", LONG, |s| {
        !s.contains("▶ ") && s.contains("● Bash(")
    });
}

/// The page at a phone's size (390x844): the inbox comes first and its
/// buttons fit; a screenshot is kept (docs/web-phone.png with
/// CORRAL_UPDATE_DOCS=1).
#[test]
fn the_page_works_at_a_phone_size() {
    let (home, cfg) = demo_home();
    let _t = tui_with_prompt(home.path(), &cfg);
    let w = start_web(home.path(), &[]);
    let d = driver();
    runtime().block_on(async {
        let c = browser(&d, 390, 844).await;
        c.set_window_size(390, 844)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        c.goto(&w.url).await.unwrap_or_else(|e| panic!("{e}"));
        find(&c, "#inbox .card[data-slot='api']").await;
        let width: f64 = c
            .execute("return document.documentElement.clientWidth", vec![])
            .await
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0);
        assert!(width <= 400.0, "not a phone's width: {width}");
        // Nothing wider than the screen: no sideways scrolling.
        let scroll: f64 = c
            .execute("return document.documentElement.scrollWidth", vec![])
            .await
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0);
        assert!(
            scroll <= width + 1.0,
            "the page scrolls sideways: {scroll} > {width}"
        );
        for b in ["approve-once", "approve-always", "deny"] {
            let el = find(&c, &format!("#inbox .card button[data-answer='{b}']")).await;
            let (x, y, bw, _) = el.rectangle().await.unwrap_or_else(|e| panic!("{e}"));
            assert!(
                x >= 0.0 && x + bw <= width + 1.0,
                "{b} button off screen: {x}+{bw}"
            );
            assert!(y < 844.0, "{b} button below the first screen: {y}");
        }
        // A pane zooms on a tap.
        find(&c, ".pane[data-slot='api']")
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        find(&c, "#zoom:not([hidden]) #zoom-screen .row").await;
        find(&c, "#zoom-close")
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let png = c.screenshot().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("web-phone.png");
        std::fs::write(&out, &png).unwrap_or_else(|e| panic!("{e}"));
        if std::env::var_os("CORRAL_UPDATE_DOCS").is_some() {
            let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/web-phone.png");
            std::fs::write(docs, &png).unwrap_or_else(|e| panic!("{e}"));
        }
        // Approve from the phone.
        find(
            &c,
            "#inbox .card[data-slot='api'] button[data-answer='deny']",
        )
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        wait_until("the phone's answer in the audit log", LONG, || {
            audit_lines(home.path())
                .iter()
                .any(|a| a["by"]["source"] == "web" && a["answer"] == "deny")
        });
        let _ = c.close().await;
    });
}

/// Every bad access is refused and logged, and none answers the prompt:
/// no login, a bad token (then slowed down), a wrong Origin, a cookie's
/// POST without the page's CSRF value, a read-only token, a stale prompt
/// id, a revoked token.
#[test]
fn bad_access_is_refused_logged_and_answers_nothing() {
    let (home, cfg) = demo_home();
    let _t = tui_with_prompt(home.path(), &cfg);
    let w = start_web(home.path(), &[]);
    let prompt = open_prompt(home.path(), "api").unwrap_or_else(|| panic!("no prompt"));
    let id = prompt["id"].as_str().unwrap_or_default().to_string();
    let body = format!(r#"{{"slot":"api","prompt":"{id}","answer":"approve-once"}}"#);
    let answer_url = format!("{}/api/answer", w.base);
    let json = ("Content-Type", "application/json");
    let origin = format!("http://{}", w.host);

    // No login.
    assert_eq!(http("GET", &format!("{}/", w.base), &[], None).0, 401);
    assert_eq!(http("POST", &answer_url, &[json], Some(&body)).0, 401);
    assert_eq!(ws(&w, "/ws/slot/api", &[]).err(), Some(401));
    assert_eq!(
        ws(&w, "/ws/session", &[("Origin", &origin)]).err(),
        Some(401)
    );
    // A wrong Host (DNS rebinding).
    let bearer = format!("Bearer {}", w.token);
    let auth = ("Authorization", bearer.as_str());
    assert_eq!(
        http(
            "GET",
            &format!("{}/", w.base),
            &[auth, ("Host", "evil.example")],
            None
        )
        .0,
        403
    );
    // A wrong Origin on a WebSocket, with a good token or cookie.
    let cookie = login(&w, &w.token);
    assert_eq!(
        ws(
            &w,
            "/ws/slot/api",
            &[auth, ("Origin", "http://evil.example")]
        )
        .err(),
        Some(403)
    );
    assert_eq!(
        ws(
            &w,
            "/ws/session",
            &[("Cookie", &cookie), ("Origin", "http://evil.example")]
        )
        .err(),
        Some(403)
    );
    // A cookie with no Origin at all is not a page of this gateway.
    assert_eq!(
        ws(&w, "/ws/session", &[("Cookie", &cookie)]).err(),
        Some(403)
    );
    // A cookie's POST without the page's CSRF value, or from another site.
    let c = ("Cookie", cookie.as_str());
    assert_eq!(
        http(
            "POST",
            &answer_url,
            &[json, c, ("Origin", &origin)],
            Some(&body)
        )
        .0,
        403
    );
    assert_eq!(
        http(
            "POST",
            &answer_url,
            &[
                json,
                c,
                ("Origin", "http://evil.example"),
                ("X-Corral-CSRF", "x")
            ],
            Some(&body)
        )
        .0,
        403
    );
    // A read-only token (a second gateway shares the session's tokens).
    let ro = start_web(home.path(), &["--read-only", "--name", "phone"]);
    let ro_bearer = format!("Bearer {}", ro.token);
    let ro_auth = ("Authorization", ro_bearer.as_str());
    let (status, text) = http("POST", &answer_url, &[json, ro_auth], Some(&body));
    assert_eq!(status, 403, "{text}");
    let mut s = ws(&w, "/ws/slot/api", &[ro_auth]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(next_json(&mut s)["type"], "screen");
    s.send(tungstenite::Message::Text(
        r#"{"type":"text","text":"1"}"#.into(),
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let reply = next_error(&mut s);
    assert!(
        reply["error"]
            .as_str()
            .unwrap_or_default()
            .contains("watch"),
        "{reply}"
    );
    // A stale prompt id.
    let stale = r#"{"slot":"api","prompt":"0000000000000001","answer":"approve-once"}"#;
    let (status, text) = http("POST", &answer_url, &[json, auth], Some(stale));
    assert_eq!(status, 409, "{text}");
    assert!(text.contains("not open"), "{text}");
    // Typing while a prompt is open is refused too: text never answers it.
    let mut s = ws(&w, "/ws/slot/api", &[auth]).unwrap_or_else(|e| panic!("{e}"));
    s.send(tungstenite::Message::Text(
        r#"{"type":"text","text":"1"}"#.into(),
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let reply = next_error(&mut s);
    assert!(
        reply["error"]
            .as_str()
            .unwrap_or_default()
            .contains("prompt"),
        "{reply}"
    );
    // Revoked: the token stops working, in the running gateway.
    let (code, out, err) = {
        let o = Command::new(corral_bin())
            .args(dirs(home.path()))
            .args(["web", "--revoke"])
            .env("HOME", home.path())
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(http("GET", &format!("{}/", w.base), &[auth], None).0, 401);
    assert_eq!(http("GET", &format!("{}/", w.base), &[c], None).0, 401);
    // Bad tokens are slowed down: each try from the address waits twice
    // as long as the one before.
    let bad_bearer = ("Authorization", "Bearer wrong");
    let tries: Vec<u16> = (0..5)
        .map(|i| {
            if i % 2 == 0 {
                http("GET", &format!("{}/login?token=nope{i}", w.base), &[], None).0
            } else {
                http("POST", &answer_url, &[json, bad_bearer], Some(&body)).0
            }
        })
        .collect();
    assert!(tries.iter().all(|s| *s == 401 || *s == 429), "{tries:?}");
    assert!(tries.contains(&429), "never slowed down: {tries:?}");
    // Nothing answered the prompt, and the refusals are in the log.
    assert_eq!(
        open_prompt(home.path(), "api").map(|p| p["id"].clone()),
        Some(prompt["id"].clone())
    );
    assert!(
        audit_lines(home.path()).is_empty(),
        "{:?}",
        audit_lines(home.path())
    );
    let logs = || {
        std::fs::read_dir(home.path().join("data/logs"))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter(|e| {
                        e.file_name()
                            .to_string_lossy()
                            .starts_with("corral-web.log")
                    })
                    .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                    .collect::<String>()
            })
            .unwrap_or_default()
    };
    // The log is written by a thread of its own: wait for each line.
    for what in [
        "no login",
        "bad token",
        "too many bad tokens",
        "wrong Origin",
        "unknown Host",
        "CSRF",
        "read-only token answered",
        "read-only token typed",
    ] {
        if !wait_until_or(LONG, || logs().contains(what)) {
            panic!("not logged: {what}\n{}", logs());
        }
    }
    drop(ro);
}

/// The scripts' API: `/ws/slot/<id>` sends the screen, then output as it
/// comes (`data`) and state changes; typing goes to the pane; `/ws/events`
/// streams the numbered events as `ctl events` does.
#[test]
fn slot_and_event_sockets_stream_the_session() {
    let home = tempdir();
    let cfg = write_config(
        home.path(),
        "[[slot]]\nid = \"sh\"\ncommand = \"/bin/sh\"\n",
    );
    let t = Tui::corral(&["--config", &cfg], 24, 80, home.path());
    t.wait_text("NORMAL", LONG);
    let w = start_web(home.path(), &[]);
    let bearer = format!("Bearer {}", w.token);
    let auth = ("Authorization", bearer.as_str());
    let mut events = ws(&w, "/ws/events", &[auth]).unwrap_or_else(|e| panic!("{e}"));
    let mut s = ws(&w, "/ws/slot/sh", &[auth]).unwrap_or_else(|e| panic!("{e}"));
    let first = next_json(&mut s);
    assert_eq!(first["type"], "screen", "{first}");
    assert_eq!(first["slot"], "sh");
    assert!(first["rows"].as_u64().is_some_and(|r| r > 0), "{first}");
    s.send(tungstenite::Message::Text(
        r#"{"type":"text","text":"echo web-$((6*7))"}"#.into(),
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    s.send(tungstenite::Message::Text(
        r#"{"type":"keys","keys":["enter"]}"#.into(),
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + LONG;
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "no echo: {:?}",
            String::from_utf8_lossy(&seen)
        );
        let m = next_json(&mut s);
        if m["type"] == "data" {
            use base64::Engine as _;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(m["data"].as_str().unwrap_or_default())
                .unwrap_or_default();
            seen.extend_from_slice(&bytes);
            if String::from_utf8_lossy(&seen).contains("web-42") {
                break;
            }
        }
    }
    t.wait_text("web-42", LONG);
    // The scrollback comes on request.
    s.send(tungstenite::Message::Text(
        r#"{"type":"history","rows":50}"#.into(),
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    loop {
        let m = next_json(&mut s);
        if m["type"] == "screen" {
            assert!(m["lines"].as_array().is_some_and(|l| !l.is_empty()));
            break;
        }
    }
    // Numbered events, as `ctl events --json` prints them: a restart's.
    let first = next_json(&mut events);
    assert_eq!(first["reply"], "following", "{first}");
    let o = Command::new(corral_bin())
        .args(dirs(home.path()))
        .args(["ctl", "restart", "sh"])
        .env("HOME", home.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(o.status.success());
    let e = loop {
        let e = next_json(&mut events);
        if e["reply"] == "event" && e["event"] == "started" {
            break e;
        }
    };
    assert!(e["seq"].as_u64().is_some_and(|n| n > 0), "{e}");
    assert_eq!(e["slot_id"], "sh", "{e}");
    // The slot's own socket says it exited.
    loop {
        let m = next_json(&mut s);
        if m["type"] == "exit" {
            assert_eq!(m["slot"], "sh");
            break;
        }
    }
}

/// `corral web` on an address other than loopback without TLS is a usage
/// error (exit 2), unless told `--insecure-http`.
#[test]
fn the_network_needs_tls_or_insecure_http() {
    let home = tempdir();
    let o = Command::new(corral_bin())
        .args(dirs(home.path()))
        .args(["web", "--listen", "0.0.0.0:0", "--no-qr"])
        .env("HOME", home.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("TLS") && err.contains("--insecure-http"),
        "{err}"
    );
}

/// One request a receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

/// A local ntfy-compatible (and webhook) receiver: records every request.
fn receiver() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<Received>>>) {
    use std::io::Write;
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = l.local_addr().map(|a| a.port()).unwrap_or_default();
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let g = got.clone();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut c) = conn else { continue };
            let mut r = BufReader::new(match c.try_clone() {
                Ok(c) => c,
                Err(_) => continue,
            });
            let mut line = String::new();
            if r.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split(' ').nth(1).unwrap_or_default().to_string();
            let mut headers = Vec::new();
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = h.trim().split_once(':') {
                    headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                }
            }
            let len: usize = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0u8; len];
            let _ = r.read_exact(&mut body);
            g.lock().unwrap_or_else(|p| p.into_inner()).push(Received {
                path,
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            let _ =
                c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (port, got)
}

/// `[notify]`: the demo's needs-permission prompt reaches the webhook (a
/// JSON body with slot, tool and subject) and the ntfy topic (text with a
/// title and the page's link); the terminal client still shows it.
#[test]
fn a_prompt_is_pushed_to_the_webhook_and_ntfy() {
    let (port, got) = receiver();
    let home = tempdir();
    let cfg = write_config(
        home.path(),
        &format!(
            "[notify]\nwebhook = \"http://127.0.0.1:{port}/hook\"\nntfy = \"http://127.0.0.1:{port}/corral-topic\"\nlink = \"http://127.0.0.1:8421/\"\n{}",
            demo_slot("api", "api", 300)
        ),
    );
    let t = Tui::corral(&["--config", &cfg], 30, 120, home.path());
    t.wait_for("a prompt in the inbox", LONG, |s| s.contains("▶ "));
    let shown = std::time::Instant::now();
    let all = || got.lock().unwrap_or_else(|p| p.into_inner()).clone();
    wait_until("the webhook and the ntfy topic", LONG, || {
        let a = all();
        a.iter().any(|r| r.path == "/hook") && a.iter().any(|r| r.path == "/corral-topic")
    });
    eprintln!(
        "pushed {:?} after the terminal showed the prompt",
        shown.elapsed()
    );
    let a = all();
    let hook = a
        .iter()
        .find(|r| r.path == "/hook")
        .unwrap_or_else(|| panic!("{a:?}"));
    let body: serde_json::Value =
        serde_json::from_str(&hook.body).unwrap_or_else(|e| panic!("{e}: {}", hook.body));
    assert_eq!(body["slot"], "api", "{body}");
    assert_eq!(body["kind"], "needs-permission", "{body}");
    assert_eq!(body["tool"], "Bash", "{body}");
    assert_eq!(body["subject"], "echo hello > hello.txt", "{body}");
    assert_eq!(body["session"], "default", "{body}");
    assert_eq!(body["link"], "http://127.0.0.1:8421/", "{body}");
    assert_eq!(
        open_prompt(home.path(), "api").map(|p| p["id"].clone()),
        Some(body["prompt_id"].clone())
    );
    let ntfy = a
        .iter()
        .find(|r| r.path == "/corral-topic")
        .unwrap_or_else(|| panic!("{a:?}"));
    assert_eq!(
        ntfy.body,
        "api needs permission: Bash echo hello > hello.txt"
    );
    let header = |k: &str| {
        ntfy.headers
            .iter()
            .find(|(h, _)| h == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(header("title"), "corral: api needs permission");
    assert_eq!(header("click"), "http://127.0.0.1:8421/");
    assert_eq!(header("priority"), "high");
    // Sent once, not again while the same prompt waits.
    assert_eq!(a.iter().filter(|r| r.path == "/hook").count(), 1, "{a:?}");
    assert!(t.text().contains("▶ "), "the terminal still shows it");
}
