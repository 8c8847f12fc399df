//! Workspace files that the repository's own config makes code: a
//! `core.hooksPath` directory (`.githooks/pre-commit` runs on the next
//! commit), a file `include.path` reads as config (`../.gitconfig` with a
//! `core.fsmonitor` runs on the next `git status`), and a program a
//! command-valued key names by a path (`core.fsmonitor =
//! ./scripts/fsmon`). Each is protected like `.git/hooks`, for the
//! repository the workspace is in, as its config stands at decision time.
//!
//! The config is read by git itself (`git config --list --includes`), so
//! its quoting, includes and conditions are git's; `git config` runs no
//! hook, pager or fsmonitor.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Hook names git runs from its hooks directory (githooks(5), git 2.39).
const HOOK_NAMES: [&str; 28] = [
    "applypatch-msg",
    "pre-applypatch",
    "post-applypatch",
    "pre-commit",
    "pre-merge-commit",
    "prepare-commit-msg",
    "commit-msg",
    "post-commit",
    "pre-rebase",
    "post-checkout",
    "post-merge",
    "pre-push",
    "pre-receive",
    "update",
    "proc-receive",
    "post-receive",
    "post-update",
    "reference-transaction",
    "push-to-checkout",
    "pre-auto-gc",
    "post-rewrite",
    "sendemail-validate",
    "fsmonitor-watchman",
    "p4-changelist",
    "p4-prepare-changelist",
    "p4-post-changelist",
    "p4-pre-submit",
    "post-index-change",
];

/// A path the repository's config makes code, absolute, with the key that
/// names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigPath {
    /// The file or directory (a hooks directory: everything under it).
    pub path: PathBuf,
    /// The config key (`core.hookspath`, `include.path`, `core.fsmonitor`),
    /// or what makes it code (a hook linked there).
    pub key: String,
}

/// Whether git would take `d` for a repository's git directory (git 2.39,
/// `is_git_directory`): `HEAD` (a file, or a link even to nothing, as a
/// symbolic ref may be) and `objects` (of any kind: git only asks that it
/// can be entered) or a `commondir` file naming where they are. git also
/// wants `refs`; not asking for it errs toward the safe side.
pub(super) fn is_git_dir(d: &Path) -> bool {
    let present = |n: &str| std::fs::symlink_metadata(d.join(n)).is_ok();
    present("HEAD") && (present("objects") || present("commondir"))
}

/// The repository around `dir`: its top (the directory holding `.git`),
/// its git directory (a worktree's own), and the common directory (its
/// config and hooks).
pub(super) struct Repository {
    pub(super) top: PathBuf,
    pub(super) gitdir: PathBuf,
    pub(super) common: PathBuf,
}

pub(super) fn repository(dir: &Path) -> Option<Repository> {
    let mut d = dir.to_path_buf();
    let git = loop {
        let g = d.join(".git");
        if g.exists() {
            break g;
        }
        if !d.pop() {
            return None;
        }
    };
    if git.is_dir() {
        return Some(Repository {
            top: d,
            gitdir: git.clone(),
            common: git,
        });
    }
    let text = std::fs::read_to_string(&git).ok()?;
    let gitdir = d.join(text.trim().strip_prefix("gitdir:")?.trim());
    let common = match std::fs::read_to_string(gitdir.join("commondir")) {
        Ok(c) => gitdir.join(c.trim()),
        Err(_) => gitdir.clone(),
    };
    Some(Repository {
        top: d,
        gitdir,
        common,
    })
}

/// The paths the config of the repository around `dir` makes code: every
/// scope git reads there (system, global, the repository's, the
/// worktree's, and what they include). Empty without a repository or a
/// `git` to read its config (then no hook of it can run either).
///
/// Any key may name a program or a file of code (`core.fsmonitor = sh
/// tools/fsmon.sh`, `core.sshCommand = ssh -F tools/cfg`, `pager.log`,
/// `trailer.*.command`, `credential.<url>.helper` ...), so every word of
/// every value that lands inside the workspace, and is not a directory
/// there, counts; an include is placed against the file that includes it.
pub fn config_paths(dir: &Path) -> Vec<ConfigPath> {
    let Some(repo) = repository(dir) else {
        return Vec::new();
    };
    let top = super::place::lexical(&repo.top).unwrap_or(repo.top.clone());
    // In the repository (conditional includes evaluated), else the file
    // alone (a `.git` git does not take for a repository yet).
    let list = |args: &[&str]| {
        let mut cmd = Command::new("git");
        cmd.current_dir(&top)
            .arg("--no-pager")
            .arg(format!("--git-dir={}", repo.gitdir.display()))
            .arg("config")
            .args(args)
            .args(["--includes", "--show-origin", "--null", "--list"]);
        run_bounded(cmd)
    };
    let file = repo.common.join("config");
    // git reads a directory as a repository only with these; otherwise it
    // lists the other scopes alone.
    let valid = repo.common.join("objects").is_dir()
        && repo.common.join("refs").is_dir()
        && repo.gitdir.join("HEAD").is_file();
    let listed = if valid {
        list(&[])
    } else {
        list(&["--file", &file.to_string_lossy()])
    };
    let inside = |p: &Path| {
        let p = super::place::lexical(p).unwrap_or(p.to_path_buf());
        (p.starts_with(&top) && p != top).then_some(p)
    };
    // A `.git` file's git directory inside the work tree (`git init
    // --separate-git-dir=gd`): its config and hooks are `.git`'s.
    let mut found: Vec<ConfigPath> = [&repo.gitdir, &repo.common]
        .into_iter()
        .filter(|g| g.file_name().is_none_or(|n| n != ".git"))
        .filter_map(|g| inside(g))
        .map(|path| ConfigPath {
            path,
            key: "the repository's git directory, named by .git".into(),
        })
        .collect();
    let stdout = match listed {
        Ok(Some(out)) => out,
        Ok(None) => return found,
        Err(()) => return unreadable(&top),
    };
    let mut hook_dirs = vec![repo.common.join("hooks")];
    // Records are `file:ORIGIN\0KEY\nVALUE\0` (`KEY\0` without a value).
    let mut fields = stdout.split(|b| *b == 0);
    while let (Some(origin), Some(entry)) = (fields.next(), fields.next()) {
        let origin = String::from_utf8_lossy(origin);
        let entry = String::from_utf8_lossy(entry);
        let Some((key, value)) = entry.split_once('\n') else {
            continue;
        };
        let key = key.to_ascii_lowercase();
        let from = origin
            .strip_prefix("file:")
            .map(|f| top.join(f))
            .and_then(|f| f.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| repo.common.clone());
        if key == "core.hookspath" {
            let dir = top.join(value);
            match inside(&dir) {
                Some(d) => found.push(ConfigPath {
                    path: d,
                    key: key.clone(),
                }),
                None => hook_dirs.push(dir),
            }
            continue;
        }
        if key == "include.path" || key.starts_with("includeif.") && key.ends_with(".path") {
            if let Some(p) = (!value.starts_with('~'))
                .then(|| from.join(value))
                .and_then(|p| inside(&p))
            {
                found.push(ConfigPath { path: p, key });
            }
            continue;
        }
        for word in value.split_whitespace() {
            let word = word.trim_start_matches('!').trim_matches(['"', '\'']);
            // `--file=x`, `-Fx` is not split; the value after `=` is.
            let word = word.rsplit_once('=').map_or(word, |(_, v)| v);
            if word.is_empty() || word.starts_with(['-', '~', '$', '%']) || word.contains("://") {
                continue;
            }
            // A name like a path (`tools/x`, `fsmon.sh`) or a file there
            // now; not a bare word (`user.name = Src`, `pull.rebase =
            // true`) nor a directory.
            let path = top.join(word);
            let pathlike = word.contains(['/', '.']) || path.is_file();
            if pathlike
                && let Some(p) = inside(&path)
                && !p.is_dir()
            {
                found.push(ConfigPath {
                    path: p,
                    key: key.clone(),
                });
            }
        }
    }
    // Hooks in the hooks directories: by name where the directory is the
    // workspace itself, and wherever a hook links into the workspace.
    for dir in hook_dirs {
        if super::place::lexical(&dir).is_some_and(|d| d == top) {
            found.extend(HOOK_NAMES.iter().map(|n| ConfigPath {
                path: top.join(n),
                key: "core.hookspath".into(),
            }));
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten().take(1000) {
            // The target need not exist yet (`ln -s ../../scripts/x`).
            if entry.file_type().is_ok_and(|t| t.is_symlink())
                && let Ok(target) = std::fs::read_link(entry.path())
                && let Some(p) = inside(&dir.join(target))
            {
                found.push(ConfigPath {
                    path: p,
                    key: format!("the hook {}", entry.path().display()),
                });
            }
        }
    }
    found
}

/// How long reading the config may take (an include of a FIFO blocks).
const CONFIG_TIMEOUT: Duration = Duration::from_secs(2);

/// A config git cannot read in time (an include that blocks): the whole
/// repository counts as code, so every write in it asks.
fn unreadable(top: &Path) -> Vec<ConfigPath> {
    vec![ConfigPath {
        path: top.to_path_buf(),
        key: "a config git could not read in time".into(),
    }]
}

/// `cmd`'s standard output when it exits successfully (`None` when it
/// cannot start or fails); `Err` past [`CONFIG_TIMEOUT`], after killing it.
fn run_bounded(mut cmd: Command) -> Result<Option<Vec<u8>>, ()> {
    let Ok(mut child) = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    else {
        return Ok(None);
    };
    let Some(mut stdout) = child.stdout.take() else {
        return Ok(None);
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    let Ok(out) = rx.recv_timeout(CONFIG_TIMEOUT) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(());
    };
    Ok(child.wait().is_ok_and(|s| s.success()).then_some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_that_blocks_protects_the_whole_repository() {
        let dir = std::env::temp_dir().join(format!("corral-repo-fifo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(".git/objects")).expect("mkdir");
        std::fs::create_dir_all(dir.join(".git/refs")).expect("mkdir");
        std::fs::write(dir.join(".git/HEAD"), "ref: refs/heads/main\n").expect("HEAD");
        std::fs::write(dir.join(".git/config"), "[include]\n\tpath = ../fifo\n").expect("config");
        let fifo =
            std::ffi::CString::new(dir.join("fifo").to_string_lossy().as_bytes()).expect("path");
        // SAFETY: a NUL-terminated path; mkfifo only reads it.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let found = config_paths(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            dir.starts_with(&found[0].path) || found[0].path == dir,
            "{found:?}"
        );
    }

    #[test]
    fn hooks_path_and_includes_are_read_by_git() {
        let dir = std::env::temp_dir().join(format!("corral-repo-cfg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(".git")).expect("mkdir");
        std::fs::write(
            dir.join(".git/config"),
            "[core]\n\thooksPath = hooks\n\tfsmonitor = \"./bin/fsm --x\"\n[include]\n\tpath = ../.gitconfig\n",
        )
        .expect("config");
        let found = config_paths(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        let keys: Vec<(&Path, &str)> = found
            .iter()
            .map(|c| (c.path.strip_prefix(&dir).unwrap_or(&c.path), c.key.as_str()))
            .collect();
        assert!(
            keys.contains(&(Path::new("hooks"), "core.hookspath")),
            "{keys:?}"
        );
        assert!(
            keys.contains(&(Path::new("bin/fsm"), "core.fsmonitor")),
            "{keys:?}"
        );
        assert!(
            keys.contains(&(Path::new(".gitconfig"), "include.path")),
            "{keys:?}"
        );
    }
}
