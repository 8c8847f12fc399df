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

/// Keys whose value is a shell command (git-config(1), git 2.39): its first
/// word, when a path, is a program the repository runs. Lowercase; `*`
/// stands for one subsection.
const COMMAND_KEYS: [&str; 16] = [
    "core.fsmonitor",
    "core.editor",
    "core.pager",
    "core.sshcommand",
    "core.askpass",
    "sequence.editor",
    "diff.external",
    "diff.*.textconv",
    "diff.*.command",
    "filter.*.clean",
    "filter.*.smudge",
    "filter.*.process",
    "merge.*.driver",
    "credential.helper",
    "gpg.program",
    "gpg.*.program",
];

/// A path the repository's config makes code, absolute, with the key that
/// names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigPath {
    /// The file or directory (a hooks directory: everything under it).
    pub path: PathBuf,
    /// The config key (`core.hookspath`, `include.path`, `core.fsmonitor`).
    pub key: String,
}

/// Whether `key` (lowercase, `section.sub.name`) is one of
/// [`COMMAND_KEYS`].
fn command_key(key: &str) -> bool {
    COMMAND_KEYS.iter().any(|k| match k.split_once(".*.") {
        None => *k == key,
        Some((section, name)) => key
            .strip_prefix(section)
            .and_then(|r| r.strip_prefix('.'))
            .and_then(|r| r.rsplit_once('.'))
            .is_some_and(|(_, n)| n == name),
    }) || key.starts_with("alias.")
}

/// The repository around `dir`: its top (the directory holding `.git`) and
/// the directory holding its config (the common dir of a worktree).
fn repository(dir: &Path) -> Option<(PathBuf, PathBuf)> {
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
        return Some((d, git));
    }
    let text = std::fs::read_to_string(&git).ok()?;
    let gitdir = d.join(text.trim().strip_prefix("gitdir:")?.trim());
    let common = match std::fs::read_to_string(gitdir.join("commondir")) {
        Ok(c) => gitdir.join(c.trim()),
        Err(_) => gitdir,
    };
    Some((d, common))
}

/// The paths the config of the repository around `dir` makes code. Empty
/// without a repository or a `git` to read its config (then no hook of it
/// can run either).
pub fn config_paths(dir: &Path) -> Vec<ConfigPath> {
    let Some((top, gitdir)) = repository(dir) else {
        return Vec::new();
    };
    // In the repository (conditional includes evaluated), else the file
    // alone (a `.git` git does not take for a repository yet).
    let list = |args: &[&str]| {
        let mut cmd = Command::new("git");
        cmd.arg("--no-pager")
            .arg(format!("--git-dir={}", gitdir.display()))
            .arg("config")
            .args(args)
            .args(["--includes", "--null", "--list"])
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null");
        run_bounded(cmd)
    };
    let file = gitdir.join("config");
    let stdout = match list(&["--local"]) {
        Ok(Some(out)) => out,
        Ok(None) => match list(&["--file", &file.to_string_lossy()]) {
            Ok(Some(out)) => out,
            Ok(None) => return Vec::new(),
            Err(()) => return unreadable(&top),
        },
        Err(()) => return unreadable(&top),
    };
    let mut found = Vec::new();
    // Entries are `key\nvalue\0` (`key\0` for a key with no value).
    for entry in stdout.split(|b| *b == 0) {
        let entry = String::from_utf8_lossy(entry);
        let Some((key, value)) = entry.split_once('\n') else {
            continue;
        };
        let key = key.to_ascii_lowercase();
        let path = if key == "core.hookspath" {
            Some(top.join(value))
        } else if key == "include.path" || key.starts_with("includeif.") && key.ends_with(".path") {
            // Relative to the file that includes it: the repository's config.
            (!value.starts_with('~')).then(|| gitdir.join(value))
        } else if command_key(&key) {
            let value = value.trim_start_matches('!').trim_start();
            let first = value.split_whitespace().next().unwrap_or("");
            let first = first.trim_matches(['"', '\'']);
            (first.contains('/') && !first.starts_with('~')).then(|| top.join(first))
        } else {
            None
        };
        if let Some(p) = path {
            let path = super::place::lexical(&p).unwrap_or(p);
            found.push(ConfigPath { path, key });
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

    #[test]
    fn command_keys_match_their_subsections() {
        assert!(command_key("core.fsmonitor"));
        assert!(command_key("diff.lfs.textconv"));
        assert!(command_key("filter.x.y.smudge"));
        assert!(command_key("alias.st"));
        assert!(!command_key("diff.textconv"));
        assert!(!command_key("core.bare"));
        assert!(!command_key("user.name"));
    }
}
