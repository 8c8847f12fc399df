//! How a sandboxed slot's session is started: the places it may write
//! ([`Grant`]s, from its workspace, worktree, agent profile, private
//! temporary directory and `write` lists), the refusal when Landlock is
//! missing, and the command line that confines it (`corral sandbox --write
//! ... -- PROGRAM ARGS`). See [`crate::sandbox`].

use std::path::{Path, PathBuf};

use crate::config::{SandboxConfig, SlotConfig};
use crate::profile::Profile;
use crate::sandbox::{
    Grant, GrantKind, SandboxMode, SandboxState, SandboxStatus, Support, display_path, gaps,
};

/// What starting a slot's session under its sandbox setting comes to.
pub(super) enum Plan {
    /// No sandbox asked for.
    Off,
    /// Confined: start `run` (corral's `sandbox` command around the
    /// program).
    Confined {
        /// The command line to start.
        run: Box<SlotConfig>,
        /// For titles, `ctl list` and the audit.
        status: SandboxStatus,
        /// Things the person should know (a listed path that does not
        /// exist), one line each, for the pane.
        notes: Vec<String>,
    },
    /// `"if-available"` without Landlock: the program starts as it is.
    Unconfined {
        /// Says why.
        status: SandboxStatus,
    },
    /// The session must not start; the status says why.
    Refused {
        /// Says why.
        status: SandboxStatus,
    },
}

/// What [`plan`] needs to know of the server.
pub(super) struct Context<'a> {
    /// The `[sandbox]` table.
    pub defaults: &'a SandboxConfig,
    /// corral's own executable (it confines, then becomes the program).
    pub exe: Option<&'a Path>,
    /// Where private temporary directories go: `<base>/<slot>`.
    pub temp_base: &'a Path,
    /// Directories no grant may contain: corral's config, data and runtime
    /// directories (config, audit log, state file, socket).
    pub protected: &'a [PathBuf],
    /// Landlock here, probed once per start.
    pub support: Support,
}

/// The slot's environment: its own `env` table before the server's.
fn env_of<'a>(cfg: &'a SlotConfig) -> impl Fn(&str) -> Option<String> + 'a {
    move |k: &str| cfg.env.get(k).cloned().or_else(|| std::env::var(k).ok())
}

/// Plans slot `slot`'s next session: `run` is what would start without a
/// sandbox (the agent, or the worktree setup script around it), `cwd` its
/// workspace, `worktree` its repository and worktree directory.
pub(super) fn plan(
    ctx: &Context,
    slot: &SlotConfig,
    profile: &Profile,
    run: &SlotConfig,
    cwd: Option<&Path>,
    worktree: Option<(&Path, &Path)>,
) -> Plan {
    let mode = slot.sandbox.unwrap_or(ctx.defaults.default);
    if mode == SandboxMode::Off {
        return Plan::Off;
    }
    let env = env_of(slot);
    let home = env("HOME").map(PathBuf::from);
    let refuse = |why: String| Plan::Refused {
        status: SandboxStatus {
            state: SandboxState::Refused,
            abi: None,
            write: Vec::new(),
            why: Some(why),
        },
    };
    let abi = match &ctx.support {
        Support::Available { abi } => *abi,
        Support::Missing { why } => {
            return match mode {
                SandboxMode::IfAvailable => Plan::Unconfined {
                    status: SandboxStatus {
                        state: SandboxState::Unconfined,
                        abi: None,
                        write: Vec::new(),
                        why: Some(why.clone()),
                    },
                },
                _ => refuse(format!(
                    "sandbox: {why}; set sandbox = \"if-available\" on the slot to run it unconfined"
                )),
            };
        }
    };
    let Some(exe) = ctx.exe else {
        return refuse(
            "sandbox: corral cannot find its own executable to confine the agent".into(),
        );
    };
    let Some(cwd) = cwd else {
        return refuse("sandbox: the slot has no working directory".into());
    };
    let mut grants: Vec<Grant> = Vec::new();
    let mut notes = Vec::new();
    let workspace = std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf());
    grants.push(Grant {
        path: workspace,
        kind: GrantKind::Workspace,
    });
    if let Some((repo, dir)) = worktree {
        match crate::worktree::find_git(repo, dir) {
            Ok(w) => grants.extend(w.commit_dirs().into_iter().map(|path| Grant {
                path,
                kind: GrantKind::Git,
            })),
            Err(e) => return refuse(format!("sandbox: the worktree's git directory: {e}")),
        }
    }
    for pattern in &profile.sandbox.write {
        let Some(p) = crate::paths::expand_vars(pattern, &env, &|v| v.to_string()) else {
            continue;
        };
        let path = PathBuf::from(&p);
        if p.ends_with('/') {
            if let Err(e) = std::fs::create_dir_all(&path) {
                notes.push(format!("sandbox: cannot make {}: {e}", path.display()));
                continue;
            }
        } else if !path.exists() {
            continue;
        }
        grants.push(Grant {
            path,
            kind: GrantKind::AgentState,
        });
    }
    // A private temporary directory, unless the slot names its own.
    let mut run = run.clone();
    let temp = match slot.env.get("TMPDIR") {
        Some(t) => PathBuf::from(t),
        None => {
            let t = ctx.temp_base.join(slot.id.get_ref());
            run.env
                .insert("TMPDIR".into(), t.to_string_lossy().into_owned());
            t
        }
    };
    let made = match temp.parent() {
        Some(parent) => crate::paths::ensure_private_dir(parent)
            .and_then(|()| crate::paths::ensure_private_dir(&temp)),
        None => crate::paths::ensure_private_dir(&temp),
    };
    if let Err(e) = made {
        return refuse(format!(
            "sandbox: the temporary directory {}: {e}",
            temp.display()
        ));
    }
    grants.push(Grant {
        path: temp,
        kind: GrantKind::Temp,
    });
    for listed in ctx.defaults.write.iter().chain(&slot.write) {
        let text = listed.to_string_lossy();
        let Some(p) = crate::paths::expand_vars(&text, &env, &|v| v.to_string()) else {
            notes.push(format!("sandbox: cannot expand {text}"));
            continue;
        };
        let path = cwd.join(&p);
        if p.ends_with('/')
            && let Err(e) = std::fs::create_dir_all(&path)
        {
            notes.push(format!("sandbox: cannot make {}: {e}", path.display()));
            continue;
        }
        if !path.exists() {
            notes.push(format!(
                "sandbox: {} does not exist, so it is not writable (end it with / and corral makes it)",
                path.display()
            ));
            continue;
        }
        grants.push(Grant {
            path,
            kind: GrantKind::Listed,
        });
    }
    // A grant that holds corral's own files, or the whole home, is no
    // sandbox: the agent could rewrite the config, the audit log or the
    // socket, or everything the person has.
    for g in &grants {
        let real = std::fs::canonicalize(&g.path).unwrap_or_else(|_| g.path.clone());
        let home_real = home.as_ref().and_then(|h| std::fs::canonicalize(h).ok());
        let holds = |p: &Path| {
            let p = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
            p.starts_with(&real)
        };
        if real == Path::new("/") || home_real.as_ref().is_some_and(|h| *h == real) {
            return refuse(format!(
                "sandbox: {} would be writable, which is everything",
                display_path(&g.path, home.as_deref())
            ));
        }
        if let Some(p) = ctx.protected.iter().find(|p| holds(p)) {
            return refuse(format!(
                "sandbox: {} would be writable, and it holds corral's own {}",
                display_path(&g.path, home.as_deref()),
                display_path(p, home.as_deref())
            ));
        }
    }
    if !run.command.get_ref().contains('/')
        && let Err(e) = super::find_program(&run)
    {
        return refuse(format!("{e:#}"));
    }
    let mut args = vec!["sandbox".to_string()];
    for g in &grants {
        args.push("--write".into());
        args.push(g.path.to_string_lossy().into_owned());
    }
    args.push("--".into());
    args.push(run.command.get_ref().clone());
    args.append(&mut run.args);
    run.command = toml::Spanned::new(0..0, exe.to_string_lossy().into_owned());
    run.args = args;
    let missing = gaps(abi);
    Plan::Confined {
        run: Box::new(run),
        status: SandboxStatus {
            state: if missing.is_empty() {
                SandboxState::Confined
            } else {
                SandboxState::Partial
            },
            abi: Some(abi),
            write: grants
                .iter()
                .map(|g| display_path(&g.path, home.as_deref()))
                .collect(),
            why: (!missing.is_empty())
                .then(|| format!("Landlock ABI {abi} does not cover {}", missing.join(", "))),
        },
        notes,
    }
}
