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

/// Runs `git -C dir ARGS`; its standard output, trimmed.
///
/// Errors: git could not be run, or failed (its message).
fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| format!("running git: {e}"))?;
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
    Ok(Ensured::Created)
}

/// The uncommitted changes in worktree `path`, as `git status --porcelain`
/// lists them (`M src/main.rs`, `?? notes.txt`); empty when clean.
///
/// Errors: git failed.
pub fn changes(path: &Path) -> Result<Vec<String>, String> {
    Ok(git(path, &["status", "--porcelain"])?
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
    if !force {
        let changed = changes(path)?;
        if !changed.is_empty() {
            return Err(format!(
                "{} has uncommitted changes ({}); commit them, or remove it with --force",
                path.display(),
                changed.join(", ")
            ));
        }
    }
    let path_s = path.to_string_lossy();
    let mut args = vec!["worktree", "remove"];
    if force {
        args.push("--force");
    }
    args.push(&path_s);
    git(repo, &args).map(|_| ())
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
