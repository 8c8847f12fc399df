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
}

impl Paths {
    /// Resolves the directories, each overridable.
    ///
    /// Errors: no override given and the platform has no home directory.
    pub fn resolve(
        config_dir: Option<&Path>,
        data_dir: Option<&Path>,
        log_dir: Option<&Path>,
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
        Ok(Paths {
            config_dir,
            data_dir,
            log_dir,
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
