//! One path model for every write: where a path a command or a file tool
//! writes lands, relative to the slot's workspace.
//!
//! A path is resolved against the directory in force (the workspace, or
//! where `cd`, `env -C`, `git -C` ... moved to), `.` and `..` taken in
//! order, and symbolic links in the part of the path that exists followed
//! on the file system at decision time (so `link/../x` is where the kernel
//! would put it). The one I/O of the policy: `symlink_metadata` and
//! `read_link` on the path's existing components.

use std::path::{Component, Path, PathBuf};

use std::sync::{Arc, OnceLock};

use super::repo::ConfigPath;
use super::shell::Word;

/// Symbolic links followed for one path before it counts as unplaceable
/// (Linux's own limit is 40).
const MAX_LINKS: usize = 40;

/// The directory relative paths resolve in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Here {
    /// A known absolute directory.
    Dir(PathBuf),
    /// Unknown (after `cd ~`, `cd $X`): why.
    Unknown(String),
}

/// The workspace and the directory in force, for placing paths.
#[derive(Debug, Clone)]
pub struct Frame {
    /// The workspace, symbolic links resolved; `None` when unknown.
    pub workspace: Option<PathBuf>,
    /// Where relative paths resolve now.
    pub here: Here,
    /// Where they may resolve instead: the directory before a `cd` that
    /// may have failed, not run (`false && cd x`), or run in a subshell
    /// (`(cd x); ...`), and `cd`'s logical reading of `..` beside the
    /// physical one. A path must land inside from every one of them.
    pub others: Vec<Here>,
    /// The line opens a file by redirection: `/dev/fd/N` and `/dev/stdout`
    /// may then reopen that file, with write access.
    pub reopens_files: bool,
    /// The workspace repository's config-named code paths, read once.
    repo: Arc<OnceLock<Vec<ConfigPath>>>,
}

/// Stands for an unknown workspace: a path no file system call can reach
/// (it holds a NUL), so relative paths resolve by text alone.
const UNKNOWN_ROOT: &str = "/\0workspace";

/// Where a written path lands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// Inside the workspace: the path relative to it (empty: the workspace
    /// itself).
    Inside(PathBuf),
    /// A terminal or descriptor (`/dev/null`, `/dev/fd/2`): not a file.
    Device,
    /// Outside, or not placeable: why, and the absolute path when known.
    Outside {
        /// Why, in words (`outside /work/p`, `the shell expands it`).
        why: String,
        /// The resolved absolute path, when there is one.
        abs: Option<PathBuf>,
    },
}

impl Frame {
    /// A frame at the workspace `cwd` (`None`: unknown, relative paths that
    /// stay below it count as inside).
    pub fn new(cwd: Option<&Path>) -> Frame {
        match cwd {
            Some(c) => {
                let ws = std::fs::canonicalize(c)
                    .ok()
                    .or_else(|| lexical(c))
                    .unwrap_or_else(|| c.to_path_buf());
                Frame {
                    here: Here::Dir(ws.clone()),
                    workspace: Some(ws),
                    others: Vec::new(),
                    reopens_files: false,
                    repo: Arc::default(),
                }
            }
            None => Frame {
                workspace: None,
                here: Here::Dir(PathBuf::from(UNKNOWN_ROOT)),
                others: Vec::new(),
                reopens_files: false,
                repo: Arc::default(),
            },
        }
    }

    /// A frame at the workspace `cwd` whose relative paths resolve in
    /// `dir` instead (where the agent says it runs the tool: a hook's
    /// `cwd`, which a `cd` in an earlier command may have moved).
    pub fn at(cwd: Option<&Path>, dir: Option<&Path>) -> Frame {
        let mut f = Frame::new(cwd);
        if let Some(d) = dir {
            let d = std::fs::canonicalize(d)
                .ok()
                .or_else(|| lexical(d))
                .unwrap_or_else(|| d.to_path_buf());
            f.here = Here::Dir(d);
        }
        f
    }

    /// The workspace path (`rel`, relative to it) that the repository's
    /// config makes code, with the key naming it: a `core.hooksPath`
    /// directory or what is under it, an included config file, a program a
    /// command-valued key names. Compared as a case-insensitive file
    /// system would.
    pub fn config_code(&self, rel: &Path) -> Option<String> {
        let root = self.workspace.as_ref()?;
        // Inside a directory git takes for a repository's (`q/config` of a
        // `q/` with HEAD and objects): its config and hooks run.
        let mut d = root.join(rel);
        while d.pop() && d.starts_with(root) && d != *root {
            if super::repo::is_git_dir(&d) {
                return Some(format!("{} (a git directory)", d.display()));
            }
        }
        let paths = self.repo.get_or_init(|| {
            let mut all = super::repo::config_paths(root);
            all.extend(super::configs::envrc_paths(root));
            all.extend(super::configs::path_dirs(root));
            all
        });
        let fold = |p: &Path| super::fold_case(&p.to_string_lossy());
        let abs = fold(&root.join(rel));
        paths.iter().find_map(|c| {
            let at = fold(&c.path);
            (abs == at || abs.starts_with(&format!("{at}/")))
                .then(|| format!("{} ({})", c.path.display(), c.key))
        })
    }

    /// The workspace, or the stand-in for an unknown one.
    pub fn root(&self) -> PathBuf {
        self.workspace
            .clone()
            .unwrap_or_else(|| PathBuf::from(UNKNOWN_ROOT))
    }

    /// The directory `dirs` (each relative to the one before, starting
    /// here) lead to.
    ///
    /// Errors: why it cannot be placed (an expanded word, an unknown start).
    pub fn dir_of(&self, dirs: &[Word]) -> Result<PathBuf, String> {
        let mut base = match &self.here {
            Here::Dir(d) => d.clone(),
            Here::Unknown(why) => return Err(why.clone()),
        };
        for d in dirs {
            if !d.literal || d.text.starts_with('~') {
                return Err(format!("in directory {}, which the shell expands", d.text));
            }
            if d.text.is_empty() {
                return Err("in an empty directory name".into());
            }
            base = resolve(&base, &d.text);
        }
        Ok(base)
    }

    /// Moves to a directory (`cd DIR`): `None` for `cd` alone, `cd -`, or a
    /// word the shell expands, after which relative paths are unplaceable.
    /// The directory before stays possible (the `cd` may fail, not run, or
    /// run in a subshell), and so does `cd`'s logical reading of `..`
    /// (`cd link/..` is the link's directory to the shell, not its
    /// target's parent).
    pub fn change_dir(&mut self, dir: Option<&Word>, dirs: &[Word]) {
        // With CDPATH set, `cd name` may go to a directory elsewhere.
        let cdpath = std::env::var_os("CDPATH").is_some_and(|v| !v.is_empty());
        let mut logical = None;
        let new = match dir {
            Some(d)
                if d.literal
                    && !d.text.starts_with(['~', '-', '+'])
                    && !d.text.contains(['*', '?', '['])
                    && !d.text.is_empty()
                    && (!cdpath || d.text.starts_with(['.', '/'])) =>
            {
                match self.dir_of(dirs) {
                    Ok(base) => {
                        logical = lexical(&base.join(&d.text))
                            .map(|l| Here::Dir(resolve(Path::new("/"), &l.to_string_lossy())));
                        Here::Dir(resolve(&base, &d.text))
                    }
                    Err(why) => Here::Unknown(why),
                }
            }
            Some(d) => Here::Unknown(format!(
                "after `cd {}`, a directory corral cannot place",
                d.text
            )),
            None => Here::Unknown(
                "after `cd` to the home directory (or `pushd`, `popd` with no directory)".into(),
            ),
        };
        let old = std::mem::replace(&mut self.here, new);
        for h in [Some(old), logical].into_iter().flatten() {
            if h != self.here && !self.others.contains(&h) {
                self.others.push(h);
            }
        }
        if self.others.len() > 8 {
            self.others = vec![Here::Unknown(
                "after more directory changes than corral follows".into(),
            )];
        }
    }

    /// This frame at each directory the line may be in.
    fn each(&self) -> Vec<Frame> {
        std::iter::once(self.here.clone())
            .chain(self.others.iter().cloned())
            .map(|here| Frame {
                workspace: self.workspace.clone(),
                here,
                others: Vec::new(),
                reopens_files: self.reopens_files,
                repo: self.repo.clone(),
            })
            .collect()
    }

    /// [`Frame::dir_of`] from every directory the line may be in: the
    /// first that is unplaceable or, with `inside`, not inside the
    /// workspace wins.
    pub fn dir_of_all(&self, dirs: &[Word]) -> Result<PathBuf, String> {
        let root = self.root();
        let mut first = None;
        for f in self.each() {
            let d = f.dir_of(dirs)?;
            if !d.starts_with(&root) {
                return Ok(d);
            }
            first.get_or_insert(d);
        }
        first.ok_or_else(|| "no directory".into())
    }

    /// Where `path` lands when written in `dirs` (see [`Frame::dir_of`]),
    /// from every directory the line may be in: outside from any is
    /// outside.
    pub fn place(&self, path: &Word, dirs: &[Word]) -> Place {
        let mut first = None;
        for f in self.each() {
            let p = f.place_here(path, dirs);
            if matches!(p, Place::Outside { .. }) {
                return p;
            }
            first.get_or_insert(p);
        }
        first.unwrap_or(Place::Device)
    }

    fn place_here(&self, path: &Word, dirs: &[Word]) -> Place {
        let t = path.text.as_str();
        let outside = |why: String| Place::Outside { why, abs: None };
        let descriptor = matches!(t, "/dev/stdout" | "/dev/stderr" | "/dev/stdin")
            || t.strip_prefix("/dev/fd/")
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        if descriptor && self.reopens_files {
            return outside(
                "it reopens a descriptor that a redirection on this line may have opened on a file"
                    .into(),
            );
        }
        if descriptor || matches!(t, "/dev/null" | "/dev/tty") {
            return Place::Device;
        }
        if !path.literal || t.starts_with('~') {
            return outside("the shell expands it".into());
        }
        if t.is_empty() {
            return outside("not a plain path".into());
        }
        // A glob stays where its directory is unless a component could
        // match `..` (one that starts with `.` or a bracket).
        if t.split('/')
            .any(|c| c.contains(['*', '?', '[']) && (c.starts_with('.') || c.starts_with('[')))
        {
            return outside("a glob that may match `..`".into());
        }
        let base = if t.starts_with('/') {
            PathBuf::from("/")
        } else {
            match self.dir_of(dirs) {
                Ok(b) => b,
                Err(why) => return outside(format!("a relative path {why}")),
            }
        };
        // A glob is expanded here only so deep (a broad one could make the
        // decision walk a whole tree); `**` is `*` to bash without globstar
        // but recursive to the matcher.
        let wild = t.split('/').filter(|c| c.contains(['*', '?', '['])).count();
        if wild > 2 || t.contains("**") {
            return outside(
                "a glob broader than corral expands (more than two levels, or **)".into(),
            );
        }
        // A glob is placed by what it matches now, too: `*/x` through a
        // link in the workspace that leads out is outside.
        if t.contains(['*', '?', '['])
            && let Some(bad) = self.glob_matches(&base, t).into_iter().find_map(|m| {
                let w = Word {
                    text: m.to_string_lossy().into_owned(),
                    literal: true,
                };
                match self.place(&w, &[]) {
                    Place::Outside { why, .. } => {
                        Some(format!("{} matches {}: {why}", t, m.display()))
                    }
                    _ => None,
                }
            })
        {
            return outside(bad);
        }
        let abs = resolve(&base, t);
        let root = self.root();
        match abs.strip_prefix(&root) {
            // The workspace itself (`cd .. && rm -rf project`): it holds
            // every protected path.
            // `.` stays the plain destination directory it is (`cp x .`).
            Ok(rel)
                if rel.as_os_str().is_empty()
                    && self.workspace.is_some()
                    && !matches!(t.trim_end_matches('/'), "." | "") =>
            {
                Place::Outside {
                    why: "the workspace itself".into(),
                    abs: Some(abs),
                }
            }
            Ok(rel) => Place::Inside(rel.to_path_buf()),
            Err(_) if self.workspace.is_none() => Place::Outside {
                why: if abs.starts_with(UNKNOWN_ROOT) || !t.starts_with('/') {
                    "`..` leaves the working directory".into()
                } else {
                    "an absolute path, and the working directory is unknown".into()
                },
                abs: Some(abs).filter(|a| !a.starts_with(UNKNOWN_ROOT)),
            },
            Err(_) => Place::Outside {
                why: if abs == lexical(&base.join(t)).unwrap_or_default() {
                    format!("outside {}", root.display())
                } else {
                    format!(
                        "{} (links followed), outside {}",
                        abs.display(),
                        root.display()
                    )
                },
                abs: Some(abs),
            },
        }
    }
}

impl Frame {
    /// The names a glob word expands to now that start with `-` (a file
    /// named like an option), from every directory the line may be in.
    pub fn glob_option_names(&self, word: &Word, dirs: &[Word]) -> Vec<String> {
        let mut out = Vec::new();
        let wild = word
            .text
            .split('/')
            .filter(|c| c.contains(['*', '?', '[']))
            .count();
        if wild > 2 || word.text.contains("**") {
            // Too broad to expand: it may name anything.
            return vec![format!("{} (not expanded)", word.text)];
        }
        for f in self.each() {
            let Ok(base) = f.dir_of(dirs) else {
                continue;
            };
            for m in f.glob_matches(&base, &word.text) {
                let rel = m
                    .strip_prefix(&base)
                    .unwrap_or(&m)
                    .to_string_lossy()
                    .into_owned();
                let rel = rel.trim_end_matches('/').to_string();
                // `-x` is an option; `@x` a response file to the programs
                // that read one (gcc, javac, tsc, pytest ...).
                if rel.starts_with(['-', '@']) {
                    out.push(rel);
                }
            }
        }
        out
    }

    /// The paths glob `t` stands for now in `base` (at most 256, as bash
    /// would expand them: a leading dot only matched literally): each
    /// match of its part up to the last component with a wildcard, joined
    /// with the rest (`*/.bashrc` through `link` is `link/.bashrc`, which
    /// need not exist yet).
    fn glob_matches(&self, base: &Path, t: &str) -> Vec<PathBuf> {
        if base.as_os_str().to_string_lossy().contains('\0') {
            return Vec::new();
        }
        let parts: Vec<&str> = t.split('/').collect();
        let Some(last) = parts.iter().rposition(|c| c.contains(['*', '?', '['])) else {
            return Vec::new();
        };
        let rest: PathBuf = parts[last + 1..].iter().collect();
        let pattern = base.join(parts[..=last].join("/"));
        let opts = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: true,
        };
        match glob::glob_with(&pattern.to_string_lossy(), opts) {
            // (`m.join("")` would add a `/`, which follows a link.)
            Ok(paths) => paths
                .flatten()
                .take(256)
                .map(|m| {
                    if rest.as_os_str().is_empty() {
                        m
                    } else {
                        m.join(&rest)
                    }
                })
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

impl Frame {
    /// Where each current match of the glob `path` (in `dirs`) lands inside
    /// the workspace, links followed (`d*/x` through a link `docs ->
    /// .claude` is `.claude/x`). Empty for a word without glob characters.
    pub fn glob_inside(&self, path: &Word, dirs: &[Word]) -> Vec<PathBuf> {
        let t = path.text.as_str();
        if !path.literal || !t.contains(['*', '?', '[']) {
            return Vec::new();
        }
        let mut out = Vec::new();
        for f in self.each() {
            let base = if t.starts_with('/') {
                PathBuf::from("/")
            } else {
                match f.dir_of(dirs) {
                    Ok(b) => b,
                    Err(_) => continue,
                }
            };
            for m in f.glob_matches(&base, t) {
                let w = Word {
                    text: m.to_string_lossy().into_owned(),
                    literal: true,
                };
                if let Place::Inside(rel) = self.place(&w, &[]) {
                    out.push(rel);
                }
            }
        }
        out
    }

    /// A symbolic link that a copy or move of `path` (in `dirs`) would carry
    /// along and that leads elsewhere from its new place: the link itself,
    /// or one in the tree under it, whose target is absolute or climbs with
    /// `..`. `Err` says why it cannot be checked (a word the shell expands,
    /// a tree too big to walk). Looked at from every directory the line may
    /// be in; the path's last component is not followed.
    pub fn carried_link(&self, path: &Word, dirs: &[Word]) -> Result<Option<String>, String> {
        let mut budget = MAX_SCAN;
        for start in self.starts(path, dirs)? {
            if let Some(found) = scan_links(&start, 0, &mut budget)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// The absolute paths a copy's source operand `path` (in `dirs`) names,
    /// from every directory the line may be in: a glob's current matches,
    /// else the path with its last component not followed (it need not
    /// exist). `Err` for a word the shell expands or an unknown directory.
    pub fn starts(&self, path: &Word, dirs: &[Word]) -> Result<Vec<PathBuf>, String> {
        let t = path.text.as_str();
        if !path.literal || t.starts_with('~') {
            return Err("the shell expands it".into());
        }
        let mut out = Vec::new();
        for f in self.each() {
            let base = if t.starts_with('/') {
                PathBuf::from("/")
            } else {
                f.dir_of(dirs)?
            };
            if t.contains(['*', '?', '[']) {
                out.extend(f.glob_matches(&base, t));
            } else {
                out.push(unfollowed(&base, t));
            }
        }
        Ok(out)
    }
}

/// The entries under the directory `top` (followed when it is a link),
/// relative to it, links below not followed; empty when `top` is not a
/// directory. `Err` past [`MAX_SCAN`] entries or [`MAX_SCAN_DEPTH`] levels.
pub fn members(top: &Path) -> Result<Vec<PathBuf>, String> {
    fn walk_in(
        top: &Path,
        rel: &Path,
        depth: usize,
        budget: &mut usize,
        out: &mut Vec<PathBuf>,
    ) -> Result<(), String> {
        let Ok(entries) = std::fs::read_dir(top.join(rel)) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            if *budget == 0 || depth > MAX_SCAN_DEPTH {
                return Err(format!(
                    "more than {MAX_SCAN} files or {MAX_SCAN_DEPTH} levels to look through"
                ));
            }
            *budget -= 1;
            let r = rel.join(entry.file_name());
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            out.push(r.clone());
            if is_dir {
                walk_in(top, &r, depth + 1, budget, out)?;
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    if std::fs::metadata(top).is_ok_and(|m| m.is_dir()) {
        let mut budget = MAX_SCAN;
        walk_in(top, Path::new(""), 0, &mut budget, &mut out)?;
    }
    Ok(out)
}

impl Frame {
    /// The first entry at or under `rel` (a path inside the workspace) for
    /// which `hit` holds, relative to the workspace; links are not
    /// followed. `Err` when the tree is too big to walk, or the workspace
    /// unknown.
    pub fn find_in_tree(
        &self,
        rel: &Path,
        hit: &mut dyn FnMut(&Path) -> bool,
    ) -> Result<Option<PathBuf>, String> {
        self.find_in_tree_sparing(rel, &|_| false, hit)
    }

    /// As [`Frame::find_in_tree`], not looking at or under an entry for
    /// which `spare` holds (`.git`, for what git itself removes).
    pub fn find_in_tree_sparing(
        &self,
        rel: &Path,
        spare: &dyn Fn(&Path) -> bool,
        hit: &mut dyn FnMut(&Path) -> bool,
    ) -> Result<Option<PathBuf>, String> {
        let Some(root) = self.workspace.as_ref() else {
            return Err("the workspace is unknown".into());
        };
        let mut budget = MAX_SCAN;
        find_in(root, rel, 0, &mut budget, spare, hit)
    }
}

fn find_in(
    root: &Path,
    rel: &Path,
    depth: usize,
    budget: &mut usize,
    spare: &dyn Fn(&Path) -> bool,
    hit: &mut dyn FnMut(&Path) -> bool,
) -> Result<Option<PathBuf>, String> {
    if !rel.as_os_str().is_empty() && spare(rel) {
        return Ok(None);
    }
    if *budget == 0 || depth > MAX_SCAN_DEPTH {
        return Err(format!(
            "more than {MAX_SCAN} files or {MAX_SCAN_DEPTH} levels to look through"
        ));
    }
    *budget -= 1;
    if !rel.as_os_str().is_empty() && hit(rel) {
        return Ok(Some(rel.to_path_buf()));
    }
    let abs = root.join(rel);
    let Ok(meta) = std::fs::symlink_metadata(&abs) else {
        return Ok(None);
    };
    if meta.is_dir() {
        let Ok(entries) = std::fs::read_dir(&abs) else {
            return Ok(None);
        };
        for entry in entries.flatten() {
            if let Some(found) = find_in(
                root,
                &rel.join(entry.file_name()),
                depth + 1,
                budget,
                spare,
                hit,
            )? {
                return Ok(Some(found));
            }
        }
    }
    Ok(None)
}

/// How many directory entries [`Frame::carried_link`] looks at, in all.
const MAX_SCAN: usize = 20_000;

/// How deep [`Frame::carried_link`] walks a tree.
const MAX_SCAN_DEPTH: usize = 64;

/// `rel` in `base` with every component but the last resolved (links
/// followed): the entry itself, a link not followed.
fn unfollowed(base: &Path, rel: &str) -> PathBuf {
    let trimmed = rel.trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some((parent, name)) if !matches!(name, "" | "." | "..") => {
            let parent = if parent.is_empty() { "/" } else { parent };
            resolve(base, parent).join(name)
        }
        _ if matches!(trimmed, "" | "." | "..")
            || trimmed.ends_with("/..")
            || trimmed.ends_with("/.") =>
        {
            resolve(base, rel)
        }
        _ => base.join(trimmed),
    }
}

/// The first link under `p` (itself included) whose target is absolute or
/// climbs with `..`, as "PATH -> TARGET".
fn scan_links(p: &Path, depth: usize, budget: &mut usize) -> Result<Option<String>, String> {
    if *budget == 0 || depth > MAX_SCAN_DEPTH {
        return Err(format!(
            "more than {MAX_SCAN} files or {MAX_SCAN_DEPTH} levels to look through for links"
        ));
    }
    *budget -= 1;
    let Ok(meta) = std::fs::symlink_metadata(p) else {
        return Ok(None);
    };
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(p).unwrap_or_default();
        let leaves = target.is_absolute()
            || target
                .components()
                .any(|c| matches!(c, Component::ParentDir));
        return Ok(leaves.then(|| format!("{} -> {}", p.display(), target.display())));
    }
    if meta.is_dir() {
        let Ok(entries) = std::fs::read_dir(p) else {
            return Ok(None);
        };
        for entry in entries.flatten() {
            if let Some(found) = scan_links(&entry.path(), depth + 1, budget)? {
                return Ok(Some(found));
            }
        }
    }
    Ok(None)
}

/// `rel` resolved in the absolute directory `base`: `.` and `..` in order,
/// symbolic links in the existing part followed.
pub fn resolve(base: &Path, rel: &str) -> PathBuf {
    let mut links = 0;
    let start = if rel.starts_with('/') {
        PathBuf::from("/")
    } else {
        base.to_path_buf()
    };
    walk(start, Path::new(rel), &mut links)
}

fn walk(mut cur: PathBuf, rel: &Path, links: &mut usize) -> PathBuf {
    for c in rel.components() {
        match c {
            Component::RootDir => cur = PathBuf::from("/"),
            Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                cur.pop();
            }
            Component::Normal(n) => {
                cur.push(n);
                let is_link = std::fs::symlink_metadata(&cur)
                    .map(|m| m.file_type().is_symlink())
                    .unwrap_or(false);
                if is_link {
                    *links += 1;
                    if *links > MAX_LINKS {
                        // Unplaceable: a path no workspace contains.
                        return PathBuf::from("/\0loop");
                    }
                    let Ok(target) = std::fs::read_link(&cur) else {
                        continue;
                    };
                    cur.pop();
                    let from = if target.is_absolute() {
                        PathBuf::from("/")
                    } else {
                        cur.clone()
                    };
                    cur = walk(from, &target, links);
                }
            }
        }
    }
    cur
}

/// An absolute path with `.` and `..` resolved by text; `None` when `..`
/// climbs above `/`.
pub fn lexical(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::Normal(n) => out.push(n),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(t: &str) -> Word {
        Word {
            text: t.into(),
            literal: true,
        }
    }

    #[test]
    fn places_paths() {
        let f = Frame::new(Some(Path::new("/nonexistent-corral/p")));
        assert_eq!(f.place(&w("src/x"), &[]), Place::Inside("src/x".into()));
        assert!(matches!(f.place(&w("../x"), &[]), Place::Outside { .. }));
        assert!(matches!(
            f.place(&w("src/../../x"), &[]),
            Place::Outside { .. }
        ));
        assert_eq!(f.place(&w("/dev/null"), &[]), Place::Device);
        assert!(matches!(
            f.place(&w("x"), &[w("..")]),
            Place::Outside { .. }
        ));
        assert_eq!(f.place(&w("x"), &[w("src")]), Place::Inside("src/x".into()));
        let u = Frame::new(None);
        assert_eq!(u.place(&w("a/b"), &[]), Place::Inside("a/b".into()));
        assert!(matches!(u.place(&w("../b"), &[]), Place::Outside { .. }));
        assert!(matches!(u.place(&w("/etc/x"), &[]), Place::Outside { .. }));
    }

    #[test]
    fn follows_links_in_the_existing_part() {
        let dir = std::env::temp_dir().join(format!("corral-place-{}", std::process::id()));
        let ws = dir.join("ws");
        let _ = std::fs::create_dir_all(ws.join("src"));
        let _ = std::os::unix::fs::symlink(&dir, ws.join("up"));
        let f = Frame::new(Some(&ws));
        assert!(
            matches!(f.place(&w("up/x"), &[]), Place::Outside { .. }),
            "{:?}",
            f.place(&w("up/x"), &[])
        );
        assert_eq!(f.place(&w("src/x"), &[]), Place::Inside("src/x".into()));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
