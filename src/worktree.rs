//! Git worktrees for slots (`worktree = true`): each agent works in a
//! checkout of its own, on a branch of its own, so two agents never write
//! into the same files. Everything is done by running `git` itself.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What [`ensure`] found or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ensured {
    /// The worktree was made now (its setup commands are due).
    Created,
    /// A worktree of that branch was there already.
    Reused,
}

/// How long one git command may take before it is killed: an agent can
/// leave a FIFO where git reads (`HEAD`, the index) in a worktree, and the
/// server must never wait on it forever.
const GIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Runs `cmd` to its end, or kills it after [`GIT_TIMEOUT`].
///
/// Errors: it could not be run, or ran out of time.
fn bounded(mut cmd: Command) -> Result<std::process::Output, String> {
    use std::process::Stdio;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("running git: {e}"))?;
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("git".into())
        .spawn(move || {
            let _ = tx.send(child.wait_with_output());
        })
        .map_err(|e| format!("running git: {e}"))?;
    match rx.recv_timeout(GIT_TIMEOUT) {
        Ok(out) => out.map_err(|e| format!("running git: {e}")),
        Err(_) => {
            if let Ok(pid) = i32::try_from(pid) {
                // SAFETY: kill(2) of our own child, which has not been
                // reaped (its waiter thread still holds it).
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            Err(format!("git took more than {} s", GIT_TIMEOUT.as_secs()))
        }
    }
}

/// Reads a small file git keeps (`gitdir`, `commondir`, a `.git` file)
/// where an agent may have put something else: never through a symbolic
/// link, never from a FIFO or device, at most 4 KiB. `None` otherwise.
fn read_small(path: &Path) -> Option<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    let mut text = String::new();
    f.take(4096).read_to_string(&mut text).ok()?;
    Some(text)
}

/// Runs `git -C dir ARGS`; its standard output, trimmed.
///
/// Errors: git could not be run, ran out of time, or failed (its message).
fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(dir).args(args);
    let out = bounded(cmd)?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "git {}: {}",
            args.join(" "),
            err.trim().lines().last().unwrap_or("failed")
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
}

/// The top directory of the git repository `dir` is in.
///
/// Errors: `dir` is not inside a git repository (or git is missing).
pub fn repo_root(dir: &Path) -> Result<PathBuf, String> {
    git(dir, &["rev-parse", "--show-toplevel"])
        .map(PathBuf::from)
        .map_err(|_| format!("{} is not in a git repository", dir.display()))
}

/// The branch a slot's worktree uses by default: `corral/<slot>`.
pub fn default_branch(slot: &str) -> String {
    format!("corral/{slot}")
}

/// Makes sure `path` is a worktree of `repo` on `branch`: reuses one that
/// is, else adds one (the branch made from `base`, or from `HEAD`, if it
/// does not exist yet).
///
/// Errors: `path` exists and is something else, or git failed (its
/// message).
pub fn ensure(
    repo: &Path,
    path: &Path,
    branch: &str,
    base: Option<&str>,
) -> Result<Ensured, String> {
    if path.exists() {
        // An agent of the session before may have rewritten the links.
        if let Ok(w) = find_git(repo, path) {
            for f in repair_links(&w, path)? {
                tracing::warn!(worktree = %path.display(), "put back {f}: it had been changed");
            }
        }
        let on = git(path, &["rev-parse", "--abbrev-ref", "HEAD"]).ok();
        let top = git(path, &["rev-parse", "--show-toplevel"]).ok();
        let same = |t: &str| std::fs::canonicalize(t).ok() == std::fs::canonicalize(path).ok();
        if on.as_deref() == Some(branch) && top.as_deref().is_some_and(same) {
            // Of this repository, not a namesake's of another (a slot of
            // the same id in another config): its agent would work there.
            let common = |d: &Path| {
                git(
                    d,
                    &["rev-parse", "--path-format=absolute", "--git-common-dir"],
                )
                .ok()
                .and_then(|c| std::fs::canonicalize(c).ok())
            };
            let (theirs, ours) = (common(path), common(repo));
            if theirs.is_none() || theirs != ours {
                return Err(format!(
                    "{} is a worktree of another repository ({}): remove it there, or give this slot another id",
                    path.display(),
                    theirs.map_or_else(|| "unknown".into(), |t| t.display().to_string())
                ));
            }
            return Ok(Ensured::Reused);
        }
        return Err(format!(
            "{} exists and is not a worktree on branch {branch}",
            path.display()
        ));
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let path_s = path.to_string_lossy();
    let exists = git(
        repo,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{branch}"),
        ],
    )
    .is_ok();
    if exists {
        git(repo, &["worktree", "add", &path_s, branch])?;
    } else {
        git(
            repo,
            &[
                "worktree",
                "add",
                "-b",
                branch,
                &path_s,
                base.unwrap_or("HEAD"),
            ],
        )?;
    }
    // Before any agent ran in it: where its administrative directory is.
    let w = find_git(repo, path)?;
    replace_file(&marker(path), &format!("{}\n", w.admin.display()))?;
    Ok(Ensured::Created)
}

/// A worktree's place in its repository's git directory, found from the
/// main repository's side ([`find_git`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorktreeGit {
    /// The repository's common git directory (`<repo>/.git`).
    pub common: PathBuf,
    /// The worktree's own administrative directory in it
    /// (`<common>/worktrees/<name>`).
    pub admin: PathBuf,
}

impl WorktreeGit {
    /// What a commit in the worktree writes in the repository's git
    /// directory: the shared objects, refs and logs, and the worktree's own
    /// administrative directory (its HEAD, index, reflog); never the hooks,
    /// the config, `info/` or `packed-refs`.
    pub fn commit_dirs(&self) -> Vec<PathBuf> {
        vec![
            self.common.join("objects"),
            self.common.join("refs"),
            self.common.join("logs"),
            self.admin.clone(),
        ]
    }
}

/// Finds worktree `path`'s administrative directory from repository
/// `repo`'s side, never from files in the worktree (its agent may have
/// rewritten its `.git` file to lead anywhere): the one directory of
/// `<common>/worktrees/` whose `gitdir` names `<path>/.git`.
///
/// Errors: git failed on `repo`, or not exactly one such directory exists.
pub fn find_git(repo: &Path, path: &Path) -> Result<WorktreeGit, String> {
    let common = git(
        repo,
        &["rev-parse", "--path-format=absolute", "--git-common-dir"],
    )?;
    let common = std::fs::canonicalize(&common).map_err(|e| format!("{common}: {e}"))?;
    let want = std::fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let dir = common.join("worktrees");
    // Named when corral made the worktree, before any agent ran in it.
    if let Some(admin) = read_small(&marker(path)).map(|t| PathBuf::from(t.trim_end()))
        && admin.parent() == Some(dir.as_path())
        && std::fs::symlink_metadata(&admin).is_ok_and(|m| m.is_dir())
    {
        return Ok(WorktreeGit { common, admin });
    }
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut found = Vec::new();
    for e in entries.filter_map(Result::ok) {
        let admin = e.path();
        let real_dir = std::fs::symlink_metadata(&admin).is_ok_and(|m| m.is_dir());
        let Some(text) = read_small(&admin.join("gitdir")) else {
            continue;
        };
        let named = PathBuf::from(text.trim_end_matches(['\n', '\r']));
        let names_us = named.file_name().is_some_and(|n| n == ".git")
            && named
                .parent()
                .and_then(|p| std::fs::canonicalize(p).ok())
                .is_some_and(|p| p == want);
        if real_dir && names_us {
            found.push(admin);
        }
    }
    match found.len() {
        1 => Ok(WorktreeGit {
            common,
            admin: found.remove(0),
        }),
        0 => Err(format!(
            "no entry of {} names the worktree {}",
            dir.display(),
            path.display()
        )),
        _ => Err(format!(
            "{} entries of {} name the worktree {}: run `git worktree repair` there",
            found.len(),
            dir.display(),
            path.display()
        )),
    }
}

/// Where corral notes a worktree's administrative directory when it makes
/// the worktree: beside it, in a directory its agent cannot write.
fn marker(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.gitdir"))
}

/// Removes every symbolic link under a worktree's share of its
/// repository's git directory (`refs/`, `logs/`, its admin directory):
/// git outside the sandbox appends to reflogs through such a link (found
/// by a red-team pass). Returns the links removed. Walks at most 100,000
/// entries.
pub fn sweep_links(w: &WorktreeGit) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let mut stack = vec![
        w.common.join("refs"),
        w.common.join("logs"),
        w.admin.clone(),
    ];
    let mut seen = 0usize;
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.filter_map(Result::ok) {
            seen += 1;
            if seen > 100_000 {
                return removed;
            }
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_symlink() && std::fs::remove_file(&p).is_ok() => removed.push(p),
                Ok(t) if t.is_dir() => stack.push(p),
                _ => {}
            }
        }
    }
    removed
}

/// Writes `text` to `path` by a new file renamed over it, so a symbolic
/// link put at `path` is replaced, never followed.
fn replace_file(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.corral-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("{}: {e}", path.display())
    })
}

/// Puts back the links between worktree `path` and its repository where
/// they were changed (a sandboxed agent may write both ends): `<path>/.git`
/// reads `gitdir: <admin>`, and `<admin>/commondir` leads to the common
/// directory. Else every git command later run in the worktree (by corral
/// or by you) would read a git directory, config and hooks of the agent's
/// choosing. Returns what it put back.
///
/// Errors: `<path>/.git` is not a file (a directory or a link was put
/// there), or a write failed.
pub fn repair_links(w: &WorktreeGit, path: &Path) -> Result<Vec<String>, String> {
    let mut fixed = Vec::new();
    let dotgit = path.join(".git");
    let meta = std::fs::symlink_metadata(&dotgit).ok();
    if !meta.as_ref().is_some_and(|m| m.is_file()) {
        return Err(format!(
            "{} is not the file git made (it was replaced): remove it and run `git worktree repair {}` in the repository",
            dotgit.display(),
            path.display()
        ));
    }
    let want = format!("gitdir: {}\n", w.admin.display());
    let have = read_small(&dotgit).unwrap_or_default();
    if have.trim_end() != want.trim_end() {
        replace_file(&dotgit, &want)?;
        fixed.push(format!("{}", dotgit.display()));
    }
    let commondir = w.admin.join("commondir");
    let leads = std::fs::symlink_metadata(&commondir).is_ok_and(|m| m.is_file())
        && read_small(&commondir)
            .and_then(|t| std::fs::canonicalize(w.admin.join(t.trim_end())).ok())
            .is_some_and(|c| c == w.common);
    if !leads {
        replace_file(&commondir, "../..\n")?;
        fixed.push(format!("{}", commondir.display()));
    }
    let back = format!("{}\n", dotgit.display());
    if read_small(&w.admin.join("gitdir")).as_deref() != Some(back.as_str()) {
        replace_file(&w.admin.join("gitdir"), &back)?;
        fixed.push(format!("{}", w.admin.join("gitdir").display()));
    }
    Ok(fixed)
}

/// The uncommitted changes in worktree `path` of repository `repo`, as
/// `git status --porcelain` lists them (`M src/main.rs`, `?? notes.txt`);
/// empty when clean. git runs pinned to the worktree's real git
/// directories ([`find_git`]), with no file-system monitor and no look
/// into submodules, so nothing an agent wrote in the worktree chooses what
/// git reads or runs.
///
/// Errors: the worktree's git directory is not found, or git failed.
pub fn changes(repo: &Path, path: &Path) -> Result<Vec<String>, String> {
    let w = find_git(repo, path)?;
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(path)
        .args([
            "-c",
            "core.fsmonitor=false",
            "status",
            "--porcelain",
            "--ignore-submodules=all",
        ])
        .env("GIT_DIR", &w.admin)
        .env("GIT_COMMON_DIR", &w.common)
        .env("GIT_WORK_TREE", path);
    let out = bounded(cmd)?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "git status: {}",
            err.trim().lines().last().unwrap_or("failed")
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect())
}

/// Removes worktree `path` of `repo` (its branch stays). Without `force`
/// it refuses while there are uncommitted changes, naming them.
///
/// Errors: the changes, or git failed.
pub fn remove(repo: &Path, path: &Path, force: bool) -> Result<(), String> {
    // `git worktree remove` runs git in the worktree: through its real
    // links only.
    if let Ok(w) = find_git(repo, path) {
        repair_links(&w, path)?;
    }
    if !force {
        let changed = changes(repo, path)?;
        if !changed.is_empty() {
            return Err(format!(
                "{} has uncommitted changes ({}); commit them, or remove it with --force",
                path.display(),
                changed.join(", ")
            ));
        }
    }
    // Always forced: git's own check runs `git status` in the worktree
    // through its `.git` file, which an agent (a process left behind)
    // could point anywhere between our check and git's.
    let path_s = path.to_string_lossy();
    git(repo, &["worktree", "remove", "--force", &path_s])?;
    let _ = std::fs::remove_file(marker(path));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let run = |args: &[&str]| {
            let ok = Command::new("git")
                .arg("-C")
                .arg(d.path())
                .args(args)
                .env("GIT_AUTHOR_NAME", "t")
                .env("GIT_AUTHOR_EMAIL", "t@t")
                .env("GIT_COMMITTER_NAME", "t")
                .env("GIT_COMMITTER_EMAIL", "t@t")
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "git {args:?}");
        };
        run(&["init", "-q", "-b", "main"]);
        std::fs::write(d.path().join("README"), "hi\n").unwrap_or_else(|e| panic!("{e}"));
        run(&["add", "README"]);
        run(&["commit", "-q", "-m", "first"]);
        d
    }

    #[test]
    fn a_worktree_is_made_reused_and_removed_only_when_clean() {
        let r = repo();
        let root = repo_root(r.path()).unwrap_or_else(|e| panic!("{e}"));
        let wt = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = wt.path().join("a");
        let branch = default_branch("a");
        assert_eq!(ensure(&root, &path, &branch, None), Ok(Ensured::Created));
        assert!(path.join("README").exists());
        assert_eq!(
            git(&path, &["rev-parse", "--abbrev-ref", "HEAD"]).as_deref(),
            Ok("corral/a")
        );
        // Again: reused, not made twice.
        assert_eq!(ensure(&root, &path, &branch, None), Ok(Ensured::Reused));
        // A file written in it is not in the main checkout.
        std::fs::write(path.join("notes.txt"), "x").unwrap_or_else(|e| panic!("{e}"));
        assert!(!r.path().join("notes.txt").exists());
        // Dirty: refused, naming the file; forced: gone.
        let err = remove(&root, &path, false).err().unwrap_or_default();
        assert!(err.contains("notes.txt"), "{err}");
        assert!(path.exists());
        assert_eq!(remove(&root, &path, true), Ok(()));
        assert!(!path.exists());
        // The branch stays: the next worktree of it reuses the branch.
        assert_eq!(ensure(&root, &path, &branch, None), Ok(Ensured::Created));
        assert_eq!(remove(&root, &path, false), Ok(()));
    }

    /// A worktree left by a namesake slot of another repository (another
    /// config) is never reused: its agent would work in that project.
    #[test]
    fn another_repositorys_worktree_is_never_reused() {
        let (a, b) = (repo(), repo());
        let root_a = repo_root(a.path()).unwrap_or_else(|e| panic!("{e}"));
        let root_b = repo_root(b.path()).unwrap_or_else(|e| panic!("{e}"));
        let wt = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = wt.path().join("w");
        let branch = default_branch("w");
        assert_eq!(ensure(&root_a, &path, &branch, None), Ok(Ensured::Created));
        let err = ensure(&root_b, &path, &branch, None)
            .err()
            .unwrap_or_default();
        assert!(err.contains("another repository"), "{err}");
        assert_eq!(ensure(&root_a, &path, &branch, None), Ok(Ensured::Reused));
    }

    /// What a sandboxed agent may do to its worktree's links (a red-team
    /// pass): a FIFO where corral reads, a `gitdir` that names nothing, a
    /// `.git` file pointing at a git directory of its own, links in the
    /// reflogs. None hangs corral, none steers it.
    #[test]
    fn a_tampered_worktree_neither_hangs_nor_steers_corral() {
        let r = repo();
        let root = repo_root(r.path()).unwrap_or_else(|e| panic!("{e}"));
        let wt = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = wt.path().join("t");
        assert_eq!(ensure(&root, &path, "corral/t", None), Ok(Ensured::Created));
        let w = find_git(&root, &path).unwrap_or_else(|e| panic!("{e}"));
        // A FIFO in place of `gitdir`, and `.git` pointing elsewhere.
        let gitdir = w.admin.join("gitdir");
        std::fs::remove_file(&gitdir).unwrap_or_else(|e| panic!("{e}"));
        let c = std::ffi::CString::new(gitdir.to_string_lossy().as_bytes().to_vec())
            .unwrap_or_else(|e| panic!("{e}"));
        // SAFETY: mkfifo with a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        std::fs::write(path.join(".git"), "gitdir: /nowhere\n").unwrap_or_else(|e| panic!("{e}"));
        // The marker written at creation finds the admin directory anyway.
        let again = find_git(&root, &path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again, w);
        let fixed = repair_links(&w, &path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fixed.len(), 2, "{fixed:?}");
        assert!(
            std::fs::read_to_string(path.join(".git"))
                .unwrap_or_default()
                .contains("worktrees")
        );
        assert!(std::fs::symlink_metadata(&gitdir).is_ok_and(|m| m.is_file()));
        assert_eq!(changes(&root, &path), Ok(vec![]));
        // A link in the reflogs is swept.
        let link = w.common.join("logs/refs/heads/evil");
        std::fs::create_dir_all(link.parent().unwrap_or(&w.common))
            .unwrap_or_else(|e| panic!("{e}"));
        std::os::unix::fs::symlink("/etc/passwd", &link).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sweep_links(&w), vec![link.clone()]);
        assert!(std::fs::symlink_metadata(&link).is_err());
        assert_eq!(remove(&root, &path, false), Ok(()));
    }

    #[test]
    fn a_directory_outside_any_repository_is_refused() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let err = repo_root(d.path()).err().unwrap_or_default();
        assert!(err.contains("not in a git repository"), "{err}");
        // A path that is something else is never taken over.
        let r = repo();
        let other = d.path().join("x");
        std::fs::create_dir_all(&other).unwrap_or_else(|e| panic!("{e}"));
        assert!(ensure(r.path(), &other, "corral/x", None).is_err());
    }
}
