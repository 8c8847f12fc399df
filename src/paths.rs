//! Where corral's files live: config, keymap and profiles in the config
//! directory; logs, the audit log and transcripts in the data directory. Paths
//! come from the `directories` crate (`ProjectDirs` for "corral") unless a
//! flag overrides them.

use std::path::{Path, PathBuf};

/// Resolved file locations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// Holds `config.toml` and `keymap.toml`.
    pub config_dir: PathBuf,
    /// Holds `audit.jsonl` and `transcripts/`.
    pub data_dir: PathBuf,
    /// Holds the daily log files.
    pub log_dir: PathBuf,
    /// Holds the server's Unix socket (`$XDG_RUNTIME_DIR/corral`, else
    /// `corral-<uid>` in the system temp dir). Created 0700 by
    /// [`ensure_private_dir`] when the socket is bound.
    pub runtime_dir: PathBuf,
}

/// Creates `dir` (and its parents) if missing, with mode 0700, and checks it
/// is a directory owned by this user that no one else can enter: the socket
/// in it is how agents' hooks reach corral (DESIGN.md §4.7).
///
/// Errors: I/O errors; the directory belongs to another user or is open to
/// group or others (it is then not used, and hooks stay off).
pub fn ensure_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let meta = std::fs::symlink_metadata(dir)?;
    // SAFETY: getuid(2) has no failure modes and no memory effects.
    let uid = unsafe { libc::getuid() };
    if !meta.is_dir() || meta.uid() != uid {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!("{} is not a directory of this user", dir.display()),
        ));
    }
    if meta.mode() & 0o077 != 0 {
        // Ours: close it rather than refuse.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// The runtime directory when no flag gives one.
fn default_runtime_dir(dirs: Option<&directories::ProjectDirs>) -> PathBuf {
    if let Some(d) = dirs.and_then(|d| d.runtime_dir()) {
        return d.to_path_buf();
    }
    // SAFETY: getuid(2) has no failure modes and no memory effects.
    let uid = unsafe { libc::getuid() };
    std::env::temp_dir().join(format!("corral-{uid}"))
}

impl Paths {
    /// Resolves the directories, each overridable.
    ///
    /// Errors: no override given and the platform has no home directory.
    pub fn resolve(
        config_dir: Option<&Path>,
        data_dir: Option<&Path>,
        log_dir: Option<&Path>,
        runtime_dir: Option<&Path>,
    ) -> anyhow::Result<Paths> {
        let dirs = directories::ProjectDirs::from("", "", "corral");
        let pick = |over: Option<&Path>, f: fn(&directories::ProjectDirs) -> &Path| {
            over.map(Path::to_path_buf)
                .or_else(|| dirs.as_ref().map(|d| f(d).to_path_buf()))
                .ok_or_else(|| {
                    anyhow::anyhow!("no home directory: pass --config-dir and --data-dir")
                })
        };
        let config_dir = pick(config_dir, |d| d.config_dir())?;
        let data_dir = pick(data_dir, |d| d.data_dir())?;
        let log_dir = match log_dir {
            Some(p) => p.to_path_buf(),
            None => data_dir.join("logs"),
        };
        let runtime_dir = runtime_dir
            .map(Path::to_path_buf)
            .unwrap_or_else(|| default_runtime_dir(dirs.as_ref()));
        Ok(Paths {
            config_dir,
            data_dir,
            log_dir,
            runtime_dir,
        })
    }

    /// `config.toml` in the config directory.
    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }

    /// `keymap.toml` in the config directory.
    pub fn keymap_file(&self) -> PathBuf {
        self.config_dir.join("keymap.toml")
    }

    /// User agent profiles (`<agent>.toml`), which override or add to the
    /// built-in ones.
    pub fn profile_dir(&self) -> PathBuf {
        self.config_dir.join("profiles")
    }

    /// The audit log.
    pub fn audit_file(&self) -> PathBuf {
        self.data_dir.join("audit.jsonl")
    }

    /// The raw transcripts directory.
    pub fn transcript_dir(&self) -> PathBuf {
        self.data_dir.join("transcripts")
    }
}

/// `pattern` with the environment put in: a leading `~` is `HOME`,
/// `${NAME:-fallback}` is `NAME` when set and not empty, else the fallback
/// (itself expanded). `env` reads the slot's environment; `escape` is
/// applied to every value put in (a glob's escape, or none). `None` when
/// `HOME` (or a variable with no fallback) is unset, or a `${` is not
/// closed.
pub fn expand_vars(
    pattern: &str,
    env: &dyn Fn(&str) -> Option<String>,
    escape: &dyn Fn(&str) -> String,
) -> Option<String> {
    let mut out = String::new();
    let mut rest = pattern;
    if let Some(r) = rest.strip_prefix('~') {
        out.push_str(&escape(&env("HOME").filter(|h| !h.is_empty())?));
        rest = r;
    }
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let body = &rest[at + 2..];
        let end = body.find('}')?;
        let (name, fallback) = match body[..end].split_once(":-") {
            Some((n, f)) => (n, Some(f)),
            None => (&body[..end], None),
        };
        match env(name).filter(|v| !v.is_empty()) {
            Some(v) => out.push_str(&escape(&v)),
            None => out.push_str(&expand_vars(fallback?, env, escape)?),
        }
        rest = &body[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}
