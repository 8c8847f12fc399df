//! The server's state file (`<data dir>/state/<session>.json`): what a
//! server started again for the same session needs to bring its slots back
//! as they were: slots added at runtime, session generations, the ids of
//! the agents' conversations, worktrees. Written atomically (a temporary
//! file renamed over it) whenever one of them changes.
//!
//! Each config a session ran keeps its own part ([`ConfigState`], by the
//! config file's path), and each slot records what it was ([`Identity`]): a
//! slot comes back only into the config it belonged to, and only as the
//! same agent, program and workspace. Anything else starts fresh and says
//! why: a conversation is never resumed by another project's slot.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The version of the file's shape; a file of another version is moved
/// aside, never read. Version 1 had no configs and no identities.
pub const STATE_VERSION: u32 = 2;

/// Most configs one session's file remembers; the least recently run go.
pub const MAX_CONFIGS: usize = 16;

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// [`STATE_VERSION`].
    pub v: u32,
    /// Each config the session ran, the last run first.
    pub configs: Vec<ConfigState>,
}

/// What one config's slots left.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigState {
    /// The config file's absolute path (`<embedded demo config>` for the
    /// demo).
    pub config: String,
    /// Every slot, configured and added, in slot order.
    pub slots: Vec<SlotState>,
    /// Automatic (policy) answers were on (`P` pauses them).
    #[serde(default = "yes")]
    pub auto_answers: bool,
}

fn yes() -> bool {
    true
}

/// What a slot was: a slot whose identity changed (another agent, program
/// or directory under the same id) starts fresh.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Its agent profile's name.
    pub agent: String,
    /// Its program, as configured.
    pub command: String,
    /// Its workspace: the configured `cwd` made absolute (the server's
    /// directory when none), the repository a worktree is made from.
    pub workspace: PathBuf,
    /// Its worktree's branch, if it has one.
    #[serde(default)]
    pub worktree: Option<String>,
}

impl Identity {
    /// What differs from `now`: the names of the parts that changed
    /// (`agent`, `program`, `directory`, `worktree`), and the same with the
    /// values before and now (for the log). `None`: the same slot.
    pub fn changed(&self, now: &Identity) -> Option<(String, String)> {
        let mut names = Vec::new();
        let mut what = Vec::new();
        if self.agent != now.agent {
            names.push("agent");
            what.push(format!("agent {} → {}", self.agent, now.agent));
        }
        if self.command != now.command {
            names.push("program");
            what.push(format!("program {} → {}", self.command, now.command));
        }
        if self.workspace != now.workspace {
            names.push("directory");
            what.push(format!(
                "directory {} → {}",
                self.workspace.display(),
                now.workspace.display()
            ));
        }
        if self.worktree != now.worktree {
            names.push("worktree");
            let b = |w: &Option<String>| w.clone().unwrap_or_else(|| "none".into());
            what.push(format!(
                "worktree {} → {}",
                b(&self.worktree),
                b(&now.worktree)
            ));
        }
        (!names.is_empty()).then(|| (names.join(", "), what.join(", ")))
    }
}

/// One slot's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotState {
    /// The slot's id.
    pub id: String,
    /// What it was.
    pub identity: Identity,
    /// Its last session generation.
    pub generation: u64,
    /// The id of its agent's conversation.
    #[serde(default)]
    pub session_id: Option<String>,
    /// Its worktree's path and branch.
    #[serde(default)]
    pub worktree: Option<(PathBuf, String)>,
    /// How it was added at runtime (`corral ctl new`); `None` for a
    /// configured slot.
    #[serde(default)]
    pub added: Option<AddedSlot>,
}

/// A slot added with `corral ctl new`, as it is made again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddedSlot {
    /// Its agent profile.
    pub agent: String,
    /// Its role.
    pub role: String,
    /// Its working directory.
    pub cwd: Option<PathBuf>,
    /// The program.
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// The branch of its worktree, if it has one.
    pub worktree: Option<String>,
}

/// What [`load`] found.
#[derive(Debug)]
pub enum Loaded {
    /// No file: a first start.
    None,
    /// The state.
    State(State),
    /// The file could not be read as a state of this version: it was moved
    /// to `moved` (or could not be), and why.
    Bad {
        /// Why it was not read.
        why: String,
        /// Where it is now.
        moved: Option<PathBuf>,
    },
}

/// Reads the state file at `path`; a corrupt one, or one of another
/// version, is moved aside (`<path>.bad-<unix seconds>`).
pub fn load(path: &Path) -> Loaded {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Loaded::None,
        Err(e) => return bad(path, format!("reading it: {e}")),
    };
    // The version first: another version's shape need not parse as this.
    #[derive(Deserialize)]
    struct Version {
        v: u32,
    }
    match serde_json::from_str::<Version>(&text) {
        Ok(Version { v: STATE_VERSION }) => match serde_json::from_str::<State>(&text) {
            Ok(s) => Loaded::State(s),
            Err(e) => bad(path, format!("not a state file: {e}")),
        },
        Ok(Version { v }) => bad(
            path,
            format!("version {v}, this corral reads {STATE_VERSION}"),
        ),
        Err(e) => bad(path, format!("not a state file: {e}")),
    }
}

fn bad(path: &Path, why: String) -> Loaded {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let to = PathBuf::from(format!("{}.bad-{secs}", path.display()));
    let moved = std::fs::rename(path, &to).ok().map(|()| to);
    Loaded::Bad { why, moved }
}

/// Writes `state` to `path` atomically.
///
/// Errors: the directory or file cannot be written.
pub fn save(path: &Path, state: &State) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = PathBuf::from(format!("{}.tmp-{}", path.display(), std::process::id()));
    let text = serde_json::to_string_pretty(state).map_err(std::io::Error::other)?;
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_round_trips_and_a_bad_file_is_moved_aside() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = d.path().join("state/default.json");
        assert!(matches!(load(&p), Loaded::None));
        let s = State {
            v: STATE_VERSION,
            configs: vec![ConfigState {
                config: "/p/a.toml".into(),
                auto_answers: false,
                slots: vec![SlotState {
                    id: "cc".into(),
                    identity: Identity {
                        agent: "claude".into(),
                        command: "claude".into(),
                        workspace: "/p".into(),
                        worktree: None,
                    },
                    generation: 3,
                    session_id: Some("0b1c".into()),
                    worktree: None,
                    added: Some(AddedSlot {
                        agent: "claude".into(),
                        command: "claude".into(),
                        ..AddedSlot::default()
                    }),
                }],
            }],
        };
        save(&p, &s).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(load(&p), Loaded::State(x) if x == s));
        // Version 1 (no configs, no identities) is not read as this one.
        for text in [
            "{not json",
            "{\"v\": 99, \"configs\": []}",
            "{\"v\": 1, \"slots\": [{\"id\": \"cc\", \"generation\": 2}]}",
        ] {
            std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
            match load(&p) {
                Loaded::Bad { moved: Some(m), .. } => {
                    assert!(m.exists() && !p.exists(), "{}", m.display());
                    let _ = std::fs::remove_file(m);
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn an_identity_names_what_changed() {
        let a = Identity {
            agent: "claude".into(),
            command: "claude".into(),
            workspace: "/p/a".into(),
            worktree: None,
        };
        assert_eq!(a.changed(&a.clone()), None);
        let b = Identity {
            workspace: "/p/b".into(),
            ..a.clone()
        };
        assert_eq!(
            a.changed(&b),
            Some(("directory".into(), "directory /p/a → /p/b".into()))
        );
        let c = Identity {
            agent: "codex".into(),
            command: "codex".into(),
            worktree: Some("w".into()),
            ..a.clone()
        };
        assert_eq!(
            a.changed(&c),
            Some((
                "agent, program, worktree".into(),
                "agent claude → codex, program claude → codex, worktree none → w".into()
            ))
        );
    }
}
