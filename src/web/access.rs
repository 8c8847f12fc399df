//! Who may use `corral web`, decided without I/O of its own: the token
//! store (names, hashes, read-only), the login throttle, and the Host and
//! Origin checks that keep other sites out. The gateway feeds it the
//! clock and the request's headers.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Bytes of randomness in a token (256 bits; shown as 43 base64url
/// characters).
pub const TOKEN_BYTES: usize = 32;

/// One token a person holds, as stored: never the token itself, only its
/// SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenEntry {
    /// Its name, shown in the audit log (`by: web`, detail `NAME: answer`).
    pub name: String,
    /// SHA-256 of the token, lowercase hex.
    pub sha256: String,
    /// It may watch but not type or answer.
    pub read_only: bool,
    /// When it was made (RFC 3339, UTC).
    pub created: String,
}

/// Every token of a session's gateway: the file
/// `<data dir>/web/<session>.tokens.json`, mode 0600.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenStore {
    /// The tokens, oldest first.
    pub tokens: Vec<TokenEntry>,
}

/// Random bytes from the operating system.
///
/// Errors: the system has no randomness to give.
pub fn random_bytes<const N: usize>() -> anyhow::Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(b)
}

/// `bytes` as URL-safe base64 without padding.
pub fn b64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of `text`, lowercase hex.
pub fn sha256_hex(text: &str) -> String {
    let d = Sha256::digest(text.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `a` and `b` are equal, in time that depends on their lengths
/// only (a guess learns nothing from how long a refusal took).
pub fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl TokenStore {
    /// Reads the store at `path`; a missing file is an empty store.
    ///
    /// Errors: the file cannot be read or is not a store.
    pub fn load(path: &Path) -> anyhow::Result<TokenStore> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TokenStore::default()),
            Err(e) => Err(anyhow::anyhow!("{}: {e}", path.display())),
        }
    }

    /// Writes the store to `path` (its directory made private first), by a
    /// rename so a reader never sees half a file; mode 0600.
    ///
    /// Errors: the directory or the file cannot be written.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        if let Some(dir) = path.parent() {
            crate::paths::ensure_private_dir(dir)
                .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
        }
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self)?;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| anyhow::anyhow!("{}: {e}", tmp.display()))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Ok(())
    }

    /// Makes a token named `name` (replacing one of that name), returns it
    /// (the only time it is seen whole).
    ///
    /// Errors: no randomness.
    pub fn mint(&mut self, name: &str, read_only: bool, now: String) -> anyhow::Result<String> {
        let token = b64url(&random_bytes::<TOKEN_BYTES>()?);
        self.tokens.retain(|t| t.name != name);
        self.tokens.push(TokenEntry {
            name: name.to_string(),
            sha256: sha256_hex(&token),
            read_only,
            created: now,
        });
        Ok(token)
    }

    /// The entry `token` is, if any (every entry compared in constant
    /// time).
    pub fn verify(&self, token: &str) -> Option<&TokenEntry> {
        let h = sha256_hex(token);
        let mut found = None;
        for t in &self.tokens {
            if same(t.sha256.as_bytes(), h.as_bytes()) {
                found = Some(t);
            }
        }
        found
    }

    /// Removes the token named `name`, or every token; returns how many
    /// went.
    pub fn revoke(&mut self, name: Option<&str>) -> usize {
        let before = self.tokens.len();
        self.tokens.retain(|t| name.is_some_and(|n| t.name != n));
        before - self.tokens.len()
    }

    /// Whether a token with this hash is still held (a cookie's login
    /// ends with its token).
    pub fn holds(&self, sha256: &str) -> bool {
        self.tokens
            .iter()
            .any(|t| same(t.sha256.as_bytes(), sha256.as_bytes()))
    }
}

/// Where a session's token store lives.
pub fn store_path(data_dir: &Path, session: &str) -> std::path::PathBuf {
    data_dir.join("web").join(format!("{session}.tokens.json"))
}

/// Bad tokens seen from one address.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

/// Slows down guessing: after each bad token from an address, its next
/// try must wait twice as long as the last (from [`Throttle::FIRST_WAIT`]
/// up to [`Throttle::MAX_WAIT`]); all addresses together may fail at most
/// [`Throttle::GLOBAL_PER_MINUTE`] times a minute. An address's count is
/// forgotten [`Throttle::FORGET`] after its last failure, or on a success.
#[derive(Debug, Default)]
pub struct Throttle {
    by_ip: HashMap<IpAddr, Failures>,
    recent: std::collections::VecDeque<Instant>,
}

impl Throttle {
    /// The wait after the first failure.
    pub const FIRST_WAIT: Duration = Duration::from_millis(500);
    /// The longest wait between two tries of one address.
    pub const MAX_WAIT: Duration = Duration::from_secs(60);
    /// Failures of every address together, per minute, before every login
    /// waits.
    pub const GLOBAL_PER_MINUTE: usize = 60;
    /// How long an address's failures are remembered.
    pub const FORGET: Duration = Duration::from_secs(15 * 60);
    /// Most addresses remembered (the oldest go first).
    const MAX_ADDRESSES: usize = 4096;

    /// Whether `ip` may try a token at `now`; `Err(wait)` says how long it
    /// must wait first.
    pub fn check(&mut self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(60))
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= Self::GLOBAL_PER_MINUTE {
            let oldest = self.recent.front().copied().unwrap_or(now);
            return Err(Duration::from_secs(60).saturating_sub(now.duration_since(oldest)));
        }
        let Some(f) = self.by_ip.get(&ip).copied() else {
            return Ok(());
        };
        if now.duration_since(f.last) > Self::FORGET {
            self.by_ip.remove(&ip);
            return Ok(());
        }
        let wait = Self::wait_after(f.count);
        let since = now.duration_since(f.last);
        if since < wait {
            return Err(wait - since);
        }
        Ok(())
    }

    /// The wait after `count` failures in a row.
    fn wait_after(count: u32) -> Duration {
        let doubled = Self::FIRST_WAIT.saturating_mul(1u32 << count.saturating_sub(1).min(16));
        doubled.min(Self::MAX_WAIT)
    }

    /// A bad token from `ip` at `now`.
    pub fn failed(&mut self, ip: IpAddr, now: Instant) {
        if self.by_ip.len() >= Self::MAX_ADDRESSES
            && !self.by_ip.contains_key(&ip)
            && let Some(oldest) = self
                .by_ip
                .iter()
                .min_by_key(|(_, f)| f.last)
                .map(|(i, _)| *i)
        {
            self.by_ip.remove(&oldest);
        }
        let f = self.by_ip.entry(ip).or_insert(Failures {
            count: 0,
            last: now,
        });
        f.count = f.count.saturating_add(1);
        f.last = now;
        self.recent.push_back(now);
    }

    /// A good token from `ip`: its failures are forgotten.
    pub fn succeeded(&mut self, ip: IpAddr) {
        self.by_ip.remove(&ip);
    }
}

/// Which Host and Origin headers belong to this gateway: a page of another
/// site (or one reached through DNS rebinding) must not drive it.
#[derive(Debug, Clone)]
pub struct Origins {
    /// `http` or `https`.
    pub scheme: &'static str,
    /// The hosts (`name:port`, lowercase) a request may name; empty: any
    /// (a gateway on every address, whose names corral cannot know).
    pub hosts: Vec<String>,
}

impl Origins {
    /// The hosts of a gateway listening on `addr`: a loopback address by
    /// its number and `localhost`; `public` (a URL or `host:port`) when
    /// given; any for a gateway on every address.
    pub fn new(addr: std::net::SocketAddr, tls: bool, public: Option<&str>) -> Origins {
        let port = addr.port();
        let mut hosts = Vec::new();
        let ip = addr.ip();
        if ip.is_loopback() {
            hosts.push(match ip {
                IpAddr::V4(v4) => format!("{v4}:{port}"),
                IpAddr::V6(v6) => format!("[{v6}]:{port}"),
            });
            hosts.push(format!("localhost:{port}"));
        } else if !ip.is_unspecified() {
            hosts.push(match ip {
                IpAddr::V4(v4) => format!("{v4}:{port}"),
                IpAddr::V6(v6) => format!("[{v6}]:{port}"),
            });
        }
        if let Some(p) = public {
            let rest = p
                .strip_prefix("https://")
                .or_else(|| p.strip_prefix("http://"))
                .unwrap_or(p);
            let host = rest.split('/').next().unwrap_or(rest).to_ascii_lowercase();
            if !host.is_empty() {
                hosts.push(host);
            }
        }
        // A gateway on every address with no public name takes any host
        // (the token and the SameSite cookie still hold).
        if ip.is_unspecified() && public.is_none() {
            hosts.clear();
        }
        Origins {
            scheme: if tls { "https" } else { "http" },
            hosts,
        }
    }

    /// Whether a request's `Host` header names this gateway.
    pub fn host_ok(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        if host.is_empty()
            || host
                .chars()
                .any(|c| c.is_whitespace() || c == '/' || c == '@')
        {
            return false;
        }
        self.hosts.is_empty() || self.hosts.contains(&host)
    }

    /// Whether `origin` is this gateway's own page, reached as `host`.
    pub fn origin_ok(&self, origin: &str, host: &str) -> bool {
        self.host_ok(host)
            && origin.eq_ignore_ascii_case(&format!("{}://{}", self.scheme, host.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_token_verifies_and_its_store_holds_no_secret() {
        let mut s = TokenStore::default();
        let t = s
            .mint("laptop", false, "now".into())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(t.len() >= 43, "{t}");
        let text = serde_json::to_string(&s).unwrap_or_default();
        assert!(!text.contains(&t), "the store holds the token itself");
        assert_eq!(s.verify(&t).map(|e| e.name.as_str()), Some("laptop"));
        assert!(s.verify("").is_none());
        assert!(s.verify(&t[..t.len() - 1]).is_none());
        assert!(s.verify(&format!("{t}x")).is_none());
        let ro = s
            .mint("phone", true, "now".into())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(ro, t);
        assert_eq!(s.verify(&ro).map(|e| e.read_only), Some(true));
        // Minting a name again replaces it: the old token stops working.
        let again = s
            .mint("laptop", false, "now".into())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(s.verify(&t).is_none());
        assert!(s.verify(&again).is_some());
        assert_eq!(s.revoke(Some("phone")), 1);
        assert!(s.verify(&ro).is_none());
        assert!(s.verify(&again).is_some());
        assert_eq!(s.revoke(None), 1);
        assert!(s.tokens.is_empty());
    }

    #[test]
    fn the_store_is_private_and_survives_a_reload() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = store_path(dir.path(), "default");
        let mut s = TokenStore::load(&p).unwrap_or_else(|e| panic!("{e}"));
        let t = s
            .mint("web", false, "now".into())
            .unwrap_or_else(|e| panic!("{e}"));
        s.save(&p).unwrap_or_else(|e| panic!("{e}"));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0);
        assert_eq!(mode, 0o600);
        let back = TokenStore::load(&p).unwrap_or_else(|e| panic!("{e}"));
        assert!(back.verify(&t).is_some());
        std::fs::write(&p, "not json").unwrap_or_else(|e| panic!("{e}"));
        assert!(TokenStore::load(&p).is_err());
    }

    #[test]
    fn bad_tokens_from_one_address_wait_longer_each_time() {
        let mut th = Throttle::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap_or_else(|e| panic!("{e}"));
        let other: IpAddr = "192.0.2.2".parse().unwrap_or_else(|e| panic!("{e}"));
        let t0 = Instant::now();
        assert!(th.check(ip, t0).is_ok());
        th.failed(ip, t0);
        assert!(th.check(ip, t0).is_err());
        assert!(th.check(other, t0).is_ok(), "another address is not held");
        let t1 = t0 + Throttle::FIRST_WAIT;
        assert!(th.check(ip, t1).is_ok());
        th.failed(ip, t1);
        assert!(th.check(ip, t1 + Throttle::FIRST_WAIT).is_err());
        assert!(th.check(ip, t1 + Throttle::FIRST_WAIT * 2).is_ok());
        let mut t = t1;
        for _ in 0..20 {
            th.failed(ip, t);
            t += Duration::from_millis(1);
        }
        let wait = th.check(ip, t).err().unwrap_or_default();
        assert!(wait <= Throttle::MAX_WAIT && wait > Duration::from_secs(50));
        th.succeeded(ip);
        assert!(th.check(ip, t).is_ok());
        th.failed(ip, t);
        assert!(
            th.check(ip, t + Throttle::FORGET + Duration::from_secs(1))
                .is_ok()
        );
    }

    #[test]
    fn many_addresses_together_are_held_too() {
        let mut th = Throttle::default();
        let t0 = Instant::now();
        for i in 0..Throttle::GLOBAL_PER_MINUTE {
            let ip = IpAddr::from([10, 0, (i / 256) as u8, (i % 256) as u8]);
            th.failed(ip, t0);
        }
        let fresh = IpAddr::from([10, 9, 9, 9]);
        assert!(th.check(fresh, t0).is_err());
        assert!(th.check(fresh, t0 + Duration::from_secs(61)).is_ok());
    }

    #[test]
    fn hosts_and_origins_of_a_loopback_gateway() {
        let o = Origins::new(
            "127.0.0.1:8080".parse().unwrap_or_else(|e| panic!("{e}")),
            false,
            None,
        );
        assert!(o.host_ok("127.0.0.1:8080"));
        assert!(o.host_ok("LOCALHOST:8080"));
        assert!(!o.host_ok("evil.example:8080"), "DNS rebinding");
        assert!(!o.host_ok("127.0.0.1:8081"));
        assert!(!o.host_ok(""));
        assert!(o.origin_ok("http://127.0.0.1:8080", "127.0.0.1:8080"));
        assert!(!o.origin_ok("https://127.0.0.1:8080", "127.0.0.1:8080"));
        assert!(!o.origin_ok("http://evil.example", "127.0.0.1:8080"));
        assert!(!o.origin_ok("null", "127.0.0.1:8080"));
        assert!(!o.origin_ok("http://127.0.0.1:8080.evil.example", "127.0.0.1:8080"));
        assert!(!o.origin_ok("http://evil.example:8080", "evil.example:8080"));
    }

    #[test]
    fn a_gateway_on_every_address_checks_origin_against_host() {
        let o = Origins::new(
            "0.0.0.0:8443".parse().unwrap_or_else(|e| panic!("{e}")),
            true,
            None,
        );
        assert!(o.host_ok("box.lan:8443"));
        assert!(o.origin_ok("https://box.lan:8443", "box.lan:8443"));
        assert!(!o.origin_ok("https://evil.example", "box.lan:8443"));
        assert!(!o.origin_ok("http://box.lan:8443", "box.lan:8443"));
        let named = Origins::new(
            "0.0.0.0:8443".parse().unwrap_or_else(|e| panic!("{e}")),
            true,
            Some("https://box.lan:8443/"),
        );
        assert!(named.host_ok("box.lan:8443"));
        assert!(!named.host_ok("other.lan:8443"));
    }
}
