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

/// `p` made absolute with `.` and `..` taken away as text (no link is
/// followed).
fn lexical(p: &Path) -> PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
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
            Ok(w) => {
                // Links an agent of a session before left where git
                // outside the sandbox would write through them.
                for l in crate::worktree::sweep_links(&w) {
                    notes.push(format!(
                        "sandbox: removed the link {} (git would follow it)",
                        l.display()
                    ));
                }
                grants.extend(w.commit_dirs().into_iter().map(|path| Grant {
                    path,
                    kind: GrantKind::Git,
                }));
            }
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
    // Every level private and ours: another user's directory (or link)
    // placed there first would decide where the grant leads.
    let made = temp
        .ancestors()
        .take(3)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .try_for_each(crate::paths::ensure_private_dir);
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
    // A grant is given as its real path, and never one found through a
    // place the agent can write: a listed `cache/` inside the workspace
    // could be replaced by a link to `~/.ssh` before the next start.
    // (Inside another grant it is writable anyway.)
    let real: Vec<PathBuf> = grants
        .iter()
        .map(|g| std::fs::canonicalize(&g.path).unwrap_or_else(|_| g.path.clone()))
        .collect();
    let mut kept: Vec<Grant> = Vec::new();
    for (i, g) in grants.iter().enumerate() {
        let lexical = lexical(&g.path);
        let under = |p: &Path| {
            real.iter()
                .enumerate()
                .any(|(j, r)| j != i && p.starts_with(r) && (p != r.as_path() || j < i))
        };
        if under(&lexical) || under(&real[i]) {
            if !matches!(g.kind, GrantKind::Workspace) {
                notes.push(format!(
                    "sandbox: {} is not granted on its own: it is inside another writable place, where a link could lead it anywhere",
                    display_path(&g.path, home.as_deref())
                ));
            }
            continue;
        }
        kept.push(Grant {
            path: real[i].clone(),
            kind: g.kind,
        });
    }
    let grants = kept;
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
        && let Err(e) = super::session::launch::find_program(&run)
    {
        return refuse(format!("{e:#}"));
    }
    let mut args = vec!["sandbox".to_string()];
    if profile.sandbox.ptys {
        args.push("--ptys".into());
    }
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
                .chain(
                    profile
                        .sandbox
                        .ptys
                        .then(|| format!("{} (its own terminals)", crate::sandbox::PTYS)),
                )
                .collect(),
            why: (!missing.is_empty())
                .then(|| format!("Landlock ABI {abi} does not cover {}", missing.join(", "))),
        },
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    struct Fixture {
        _dir: tempfile::TempDir,
        root: PathBuf,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = std::fs::canonicalize(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        for d in ["home/.claude", "ws", "data", "run", "cargo"] {
            std::fs::create_dir_all(root.join(d)).unwrap_or_else(|e| panic!("{e}"));
        }
        Fixture { _dir: dir, root }
    }

    fn slot(f: &Fixture, extra: &str) -> (Config, SlotConfig) {
        let src = format!(
            "{extra}\n[[slot]]\nid = \"s\"\nagent = \"claude\"\ncommand = \"/bin/sh\"\ncwd = {:?}\nsandbox = true\n[slot.env]\nHOME = {:?}\n",
            f.root.join("ws"),
            f.root.join("home")
        );
        let c = Config::parse(Path::new("t.toml"), &src).unwrap_or_else(|e| panic!("{e}"));
        let s = c.slots[0].clone();
        (c, s)
    }

    fn plan_for(f: &Fixture, extra: &str, cwd: &Path, support: Support) -> Plan {
        let (c, s) = slot(f, extra);
        let protected = vec![f.root.join("data"), f.root.join("run")];
        plan_with(f, &c, &s, cwd, support, &protected)
    }

    /// Plans slot `s` of config `c` as Claude Code in `cwd`.
    fn plan_with(
        f: &Fixture,
        c: &Config,
        s: &SlotConfig,
        cwd: &Path,
        support: Support,
        protected: &[PathBuf],
    ) -> Plan {
        let profiles = crate::profile::Profiles::builtin().unwrap_or_else(|e| panic!("{e}"));
        let profile = profiles.get("claude").unwrap_or_else(|| panic!("claude"));
        let temp = f.root.join("tmp");
        let ctx = Context {
            defaults: &c.sandbox,
            exe: Some(Path::new("/usr/bin/corral")),
            temp_base: &temp,
            protected,
            support,
        };
        plan(&ctx, s, &profile, s, Some(cwd), None)
    }

    const HERE: Support = Support::Available { abi: 7 };

    fn refused_why(p: Plan) -> String {
        match p {
            Plan::Refused { status } => status.why.unwrap_or_default(),
            _ => panic!("not refused"),
        }
    }

    #[test]
    fn a_confined_slot_gets_its_workspace_state_temp_and_lists() {
        let f = fixture();
        let extra = format!("[sandbox]\nwrite = [{:?}]\n", f.root.join("cargo"));
        let Plan::Confined { run, status, notes } = plan_for(&f, &extra, &f.root.join("ws"), HERE)
        else {
            panic!("not confined")
        };
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(status.state, SandboxState::Confined);
        assert_eq!(run.command.get_ref(), "/usr/bin/corral");
        let args = run.args.join(" ");
        for want in ["ws", "home/.claude", "home/.claude.json", "tmp/s", "cargo"] {
            if want == "home/.claude.json" {
                // A file that does not exist is not granted.
                assert!(!args.contains(want), "{args}");
                continue;
            }
            assert!(
                args.contains(&format!("{}", f.root.join(want).display())),
                "{want}: {args}"
            );
        }
        assert!(args.ends_with("-- /bin/sh"), "{args}");
        assert_eq!(
            run.env.get("TMPDIR").map(String::as_str),
            Some(f.root.join("tmp/s").to_string_lossy().as_ref())
        );
        assert!(
            status.write.iter().any(|w| w == "~/.claude"),
            "{:?}",
            status.write
        );
    }

    #[test]
    fn grants_that_hold_everything_or_corrals_own_files_are_refused() {
        let f = fixture();
        // The home directory, through a listed path or a link to it.
        let w = refused_why(plan_for(
            &f,
            "[sandbox]\nwrite = [\"~\"]\n",
            &f.root.join("ws"),
            HERE,
        ));
        assert!(w.contains("everything"), "{w}");
        std::os::unix::fs::symlink(f.root.join("home"), f.root.join("ws/h"))
            .unwrap_or_else(|e| panic!("{e}"));
        // Inside the workspace it is not granted at all (a link there is
        // the agent's to change).
        let Plan::Confined { run, .. } =
            plan_for(&f, "[sandbox]\nwrite = [\"h\"]\n", &f.root.join("ws"), HERE)
        else {
            panic!("not confined")
        };
        assert!(
            !run.args.iter().any(|a| a.ends_with("/home")),
            "{:?}",
            run.args
        );
        let w = refused_why(plan_for(
            &f,
            "[sandbox]\nwrite = [\"/\"]\n",
            &f.root.join("ws"),
            HERE,
        ));
        assert!(w.contains("everything"), "{w}");
        // A workspace holding corral's data or runtime directory.
        let w = refused_why(plan_for(&f, "", &f.root, HERE));
        assert!(w.contains("corral's own"), "{w}");
        // Through `..` in a listed path.
        let w = refused_why(plan_for(
            &f,
            "[sandbox]\nwrite = [\"../data/..\"]\n",
            &f.root.join("ws"),
            HERE,
        ));
        assert!(w.contains("corral's own"), "{w}");
    }

    #[test]
    fn a_listed_path_inside_the_workspace_is_never_granted_through_a_link() {
        let f = fixture();
        let ws = f.root.join("ws");
        // The agent replaced the listed `cache/` with a link to ~/.ssh.
        std::fs::create_dir_all(f.root.join("home/.ssh")).unwrap_or_else(|e| panic!("{e}"));
        std::os::unix::fs::symlink(f.root.join("home/.ssh"), ws.join("cache"))
            .unwrap_or_else(|e| panic!("{e}"));
        let (c, mut s) = slot(&f, "");
        s.write = vec![PathBuf::from("cache/"), PathBuf::from("sub/../cache")];
        let Plan::Confined { run, notes, .. } = plan_with(&f, &c, &s, &ws, HERE, &[]) else {
            panic!("not confined")
        };
        let args = run.args.join(" ");
        assert!(!args.contains(".ssh"), "{args}");
        assert!(
            notes
                .iter()
                .any(|n| n.contains("inside another writable place")),
            "{notes:?}"
        );
    }

    #[test]
    fn without_landlock_strict_slots_are_refused_and_if_available_ones_run() {
        let f = fixture();
        let missing = || Support::Missing {
            why: "no Landlock here".into(),
        };
        let w = refused_why(plan_for(&f, "", &f.root.join("ws"), missing()));
        assert!(
            w.contains("no Landlock here") && w.contains("if-available"),
            "{w}"
        );
        let (c, mut s) = slot(&f, "");
        s.sandbox = Some(SandboxMode::IfAvailable);
        let ws = f.root.join("ws");
        assert!(matches!(
            plan_with(&f, &c, &s, &ws, missing(), &[]),
            Plan::Unconfined { status } if status.state == SandboxState::Unconfined
        ));
        s.sandbox = Some(SandboxMode::Off);
        assert!(matches!(
            plan_with(&f, &c, &s, &ws, missing(), &[]),
            Plan::Off
        ));
    }

    #[test]
    fn a_missing_listed_path_is_said_and_one_ending_in_a_slash_is_made() {
        let f = fixture();
        let extra = format!(
            "[sandbox]\nwrite = [{:?}, \"{}/\"]\n",
            f.root.join("nope"),
            f.root.join("made").display()
        );
        let Plan::Confined { notes, run, .. } = plan_for(&f, &extra, &f.root.join("ws"), HERE)
        else {
            panic!("not confined")
        };
        assert!(
            notes
                .iter()
                .any(|n| n.contains("nope") && n.contains("does not exist")),
            "{notes:?}"
        );
        assert!(f.root.join("made").is_dir());
        assert!(run.args.join(" ").contains("made"));
    }
}
