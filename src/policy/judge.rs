//! How a command's effects are judged: every write placed against the
//! workspace and the protected paths, code it runs, network use, other
//! processes, options and programs the command model does not know; and
//! a file tool's write. Fills an [`Analysis`] that the rules then read.

use std::path::Path;

use super::model::Model;
use super::*;

/// What a file tool's write of `subject` (a path, relative to `dir` or
/// else the workspace) cannot be shown to keep to: outside the workspace
/// `cwd` (or unplaceable), or a protected path.
pub(super) fn file_write_unprovable(
    subject: &str,
    cwd: Option<&Path>,
    dir: Option<&Path>,
) -> Vec<Unprovable> {
    let text = subject.trim();
    let frame = place::Frame::at(cwd, dir);
    let word = Word {
        text: text.to_string(),
        literal: true,
    };
    // A file tool may resolve `..` by text before the kernel follows links
    // (Node's `path.resolve`): outside by text is outside too.
    if let Some(ws) = cwd
        && !text.starts_with('~')
        && let Some(by_text) = place::lexical(&dir.unwrap_or(ws).join(text))
        && let Some(ws_text) = place::lexical(ws)
        && !by_text.starts_with(&ws_text)
        && frame
            .workspace
            .as_ref()
            .is_none_or(|w| !by_text.starts_with(w))
    {
        return vec![Unprovable {
            construct: Construct::WriteOutsideWorkspace,
            text: text.to_string(),
            why: format!(
                "{} by text, outside {}",
                by_text.display(),
                ws_text.display()
            ),
        }];
    }
    if let Some(entry) = frame.workspace.as_deref().and_then(workspace_in_protected) {
        return vec![Unprovable {
            construct: Construct::ProtectedPath,
            text: text.to_string(),
            why: format!("the workspace lies inside {entry}"),
        }];
    }
    match frame.place(&word, &[]) {
        place::Place::Inside(rel) => protected(&rel)
            .map(str::to_string)
            .or_else(|| frame.config_code(&rel))
            .map(|entry| Unprovable {
                construct: Construct::ProtectedPath,
                text: text.to_string(),
                why: format!("under {entry}"),
            })
            .into_iter()
            .collect(),
        place::Place::Device => Vec::new(),
        place::Place::Outside { why, .. } => vec![Unprovable {
            construct: Construct::WriteOutsideWorkspace,
            text: text.to_string(),
            why: if text.starts_with('~') || text.contains('$') {
                "not a plain path".into()
            } else {
                why
            },
        }],
    }
}

/// Why the workspace `root` itself lies in a protected place, as the
/// repository around it sees it: inside a git directory (`.git/hooks` as
/// the slot's or the hook's directory), or under a protected entry of the
/// nearest work tree above (`proj/.claude`, `proj/.vscode`). Walks up as
/// git's discovery does and stops at the first work tree: a worktree of
/// its own (`.claude/worktrees/x` with its `.git` file) is a workspace
/// like any other.
pub(super) fn workspace_in_protected(root: &Path) -> Option<String> {
    let in_entry = |rel: &Path| {
        protected(rel)
            .map(str::to_string)
            .or_else(|| protected_parent(rel).map(|e| format!("the directory of {e}")))
    };
    let mut d = root.to_path_buf();
    loop {
        let rel = root.strip_prefix(&d).ok()?;
        if d.join(".git").exists() {
            // A protected entry's directory (`.vscode`) counts too: its
            // files' names there are the workspace's top-level names.
            return (!rel.as_os_str().is_empty())
                .then(|| in_entry(rel))
                .flatten()
                .map(|e| format!("{e} of the work tree {}", d.display()));
        }
        if repo::is_git_dir(&d) {
            return Some(format!("the git directory {}", d.display()));
        }
        if !rel.as_os_str().is_empty()
            && let Some(e) = in_entry(rel)
        {
            return Some(format!("{e} in {}", d.display()));
        }
        if !d.pop() {
            return None;
        }
    }
}

/// Whether git started in `dir` (inside the workspace `root`) would find
/// a repository other than the workspace's own: a bare repository (a
/// directory with `HEAD`, `config` and `objects`) between `dir` and
/// `root`, whose config git would run (`cp -r .git y && git -C y log`).
pub(super) fn foreign_repository(dir: &Path, root: &Path) -> bool {
    let mut d = dir.to_path_buf();
    loop {
        if repo::is_git_dir(&d) {
            return true;
        }
        if d == root || !d.pop() || !d.starts_with(root) {
            return false;
        }
    }
}

/// Programs that read config from the directory they run in, which can
/// name a program to run (git's `core.fsmonitor`, cargo's
/// `.cargo/config.toml` wrapper, `.npmrc`'s `script-shell`, eslint's and
/// prettier's JavaScript configs): run elsewhere, they run its code.
const READS_DIRECTORY_CONFIG: [&str; 8] = [
    "git", "cargo", "npm", "npx", "pnpm", "yarn", "eslint", "prettier",
];

/// Programs whose output a command substitution may use: they read local
/// state and print (their options are still checked by the model).
const PURE_PRINTERS: [&str; 28] = [
    "cat", "date", "echo", "printf", "pwd", "basename", "dirname", "realpath", "readlink",
    "whoami", "id", "uname", "hostname", "head", "tail", "wc", "cut", "tr", "sort", "uniq", "ls",
    "grep", "jq", "seq", "nproc", "true", "false", "sed",
];

/// git subcommands a command substitution may use (they read the
/// repository and print).
const PURE_GIT: [&str; 11] = [
    "rev-parse",
    "describe",
    "log",
    "show",
    "branch",
    "status",
    "diff",
    "ls-files",
    "symbolic-ref",
    "rev-list",
    "merge-base",
];

/// Commands that change the directory later relative paths resolve in.
const CHDIR: [&str; 4] = ["cd", "pushd", "popd", "chdir"];

/// Fills `a` with what a parsed line does: its constructs, every write
/// (redirections and the command model's) placed against the workspace
/// `cwd` as `cd` and `-C` options move, code it runs, network use, options
/// and programs the model does not know, and the texts rules match.
pub(super) fn shell_findings(
    model: &Model,
    p: &ParsedCommand,
    cwd: Option<&Path>,
    dir: Option<&Path>,
    a: &mut Analysis,
) {
    a.unprovable = p
        .constructs
        .iter()
        .map(|(c, t)| Unprovable {
            construct: *c,
            text: t.clone(),
            why: String::new(),
        })
        .collect();
    let mut frame = place::Frame::at(cwd, dir);
    // The agent already works inside a protected directory (a hook's
    // `cwd` after `cd .git/hooks`).
    if let Some(entry) = frame.workspace.as_deref().and_then(workspace_in_protected) {
        a.unprovable.push(Unprovable {
            construct: Construct::ProtectedPath,
            text: "the workspace".into(),
            why: format!("it lies inside {entry}, where programs write their default outputs"),
        });
    } else if let Some(entry) = works_in_protected(&frame) {
        a.unprovable.push(Unprovable {
            construct: Construct::ProtectedPath,
            text: format!(
                "the command runs in {}",
                dir.map_or(String::new(), |d| d.display().to_string())
            ),
            why: format!("inside {entry}, where programs write their default outputs"),
        });
    }
    // `/dev/fd/N` and `/dev/stdout` reopen what the descriptor is: on a line
    // that opens a file by redirection, that may be the file, with write
    // access (`echo x < /elsewhere/f > /dev/fd/0`).
    let reopen = |t: &str| {
        matches!(t, "/dev/stdout" | "/dev/stderr" | "/dev/stdin") || t.starts_with("/dev/fd/")
    };
    let opens_files = p.simple.iter().any(|c| {
        c.redirects.iter().any(|r| {
            !matches!(
                r.op,
                shell::RedirectOp::DupInput
                    | shell::RedirectOp::DupOutput
                    | shell::RedirectOp::HereDoc
                    | shell::RedirectOp::HereString
            ) && !reopen(&r.target.text)
                && r.target.text != "/dev/null"
        })
    });
    frame.reopens_files = opens_files;
    // A loop whose body changes directory runs its later rounds elsewhere
    // (`for i in 1 2; do touch x; cd ..; done`).
    if p.loops
        && p.simple.iter().any(|c| {
            c.argv
                .first()
                .is_some_and(|w| CHDIR.contains(&shell::basename(&w.text)))
        })
    {
        frame
            .others
            .push(place::Here::Unknown("a loop that changes directory".into()));
    }
    let mut push = |a: &mut Analysis, construct: Construct, text: String, why: String| {
        let u = Unprovable {
            construct,
            text,
            why,
        };
        if !a.unprovable.contains(&u) {
            a.unprovable.push(u);
        }
    };
    // A command substitution is provable when every command inside it
    // only reads local state and prints (`$(date)`, `$(cat <<'EOF' ..)`,
    // `$(git rev-parse HEAD)`); its output then is words the model reads as
    // expanded. Anything else there (`$(curl ..)`) is left to a person.
    if !p.substitutions.is_empty() {
        let impure = p.simple.iter().filter(|c| c.depth > 0).find(|c| {
            let words = c.words();
            let layers = shell::layers(&words);
            let inner = layers.last().copied().unwrap_or(&words[..]);
            let name = inner.first().map_or("", |n| shell::basename(n));
            let sub = inner.get(1).copied().unwrap_or("");
            !(PURE_PRINTERS.contains(&name) || name == "git" && PURE_GIT.contains(&sub))
        });
        if let Some(c) = impure {
            a.unprovable.push(Unprovable {
                construct: Construct::CommandSubstitution,
                text: p.substitutions.first().cloned().unwrap_or_default(),
                why: format!("{:?} in it is not a plain local read", c.canonical()),
            });
        }
    }
    let mut made = copies::Made::default();
    for c in &p.simple {
        for r in c.redirects.iter().filter(|r| r.writes_file()) {
            made.redirect(&frame, &r.target);
            if opens_files && reopen(&r.target.text) {
                let why = "it reopens a descriptor that a redirection on this line may have opened on a file".to_string();
                a.effects
                    .push(format!("write {} (outside: {why})", r.target.text));
                push(a, Construct::RedirectOutsideCwd, r.canonical(), why);
                continue;
            }
            match frame.place(&r.target, &[]) {
                place::Place::Outside { why, .. } => {
                    a.effects
                        .push(format!("write {} (outside: {why})", r.target.text));
                    push(a, Construct::RedirectOutsideCwd, r.canonical(), why);
                }
                place::Place::Inside(rel) => match protected_write(&frame, &r.target, &[], &rel) {
                    Some(entry) => {
                        a.effects
                            .push(format!("write {} (protected: {entry})", r.target.text));
                        push(
                            a,
                            Construct::ProtectedPath,
                            r.canonical(),
                            format!("under {entry}"),
                        );
                    }
                    None => a.effects.push(format!("write {} (inside)", r.target.text)),
                },
                place::Place::Device => {}
            }
        }
        let mut texts = vec![c.canonical()];
        if c.argv.is_empty() {
            a.texts.push(texts);
            a.wrapped.push(false);
            continue;
        }
        for l in shell::layers(&c.argv) {
            let t = l
                .iter()
                .map(|w| w.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            if !texts.contains(&t) {
                texts.push(t);
            }
        }
        let layers = model.layers(&c.argv);
        // A wrapper that runs code of its own (`uv run` syncs and builds the
        // project, `python3 -m ls` runs ./ls.py): a rule that names only
        // the inner command does not cover it.
        a.wrapped.push(
            layers.len() > 1
                && layers[..layers.len() - 1]
                    .iter()
                    .any(|l| l.project || !l.runs.is_empty() || !l.code.is_empty() || !l.known),
        );
        if let Some(first) = layers.first() {
            let own = first.canonical.join(" ");
            a.own_texts.push((a.texts.len(), own));
        }
        // `git log --format $(cat f)`: unquoted, the value splits, and its
        // rest becomes options (`--output=../x`).
        if let Some(w) = c
            .argv
            .iter()
            .skip(1)
            .find(|w| p.split_words.contains(&w.text))
            && layers.iter().any(|l| model.risky(&l.program))
        {
            let text = format!(
                "{} (unquoted: the shell splits it into words that may be options)",
                w.text
            );
            a.effects.push(format!("unknown option: {text}"));
            push(a, Construct::UnknownOption, text, "quote it".into());
        }
        for l in &layers {
            let canon = l.canonical.join(" ");
            if !texts.contains(&canon) {
                texts.push(canon);
            }
            layer_findings(l, &frame, &made, a, &mut push);
            copies::copy_findings(l, &frame, &made, a, &mut push);
            made.layer(l, &frame);
        }
        // npx (npm exec, bunx) runs node_modules/.bin's program of that
        // name, or fetches the registry's package of that name and runs it:
        // `npx tree` where tree is not installed runs whoever owns the npm
        // name `tree`, whatever the model knows of the real `tree`.
        for pair in layers.windows(2) {
            let (outer, inner) = (&pair[0], &pair[1]);
            let word = |i: usize| outer.canonical.get(i).map(String::as_str);
            let fetches = match word(0) {
                Some("npx" | "bunx") => true,
                Some("npm") => matches!(word(1), Some("exec" | "x")),
                Some("bun") => word(1) == Some("x"),
                _ => false,
            };
            if fetches && !local_bin(&frame, &outer.dirs, &inner.program) {
                let text = outer.canonical.join(" ");
                a.effects.push(format!(
                    "runs code: {text} (not in node_modules/.bin: the registry's package of that name)"
                ));
                a.named_only.push(NamedOnly {
                    construct: Construct::RunsCode,
                    program: outer.program.clone(),
                    text,
                    why: format!(
                        "{} is not in node_modules/.bin, so it may fetch and run the registry's package of that name",
                        inner.program
                    ),
                    command: a.texts.len(),
                    any_program_ok: false,
                });
            }
        }
        a.texts.push(texts);
        // `cd DIR` (also through a wrapper: `command cd x`) moves later
        // relative paths.
        if let Some(l) = layers.iter().find(|l| CHDIR.contains(&l.program.as_str())) {
            let dir = l.canonical.iter().skip(1).find(|w| !w.starts_with('-'));
            let word = dir.and_then(|d| c.argv.iter().rev().find(|w| &w.text == d).cloned());
            if l.program == "popd" {
                frame.here = place::Here::Unknown("after `popd`".into());
            } else {
                frame.change_dir(word.as_ref(), &l.dirs);
            }
            if let Some(entry) = works_in_protected(&frame) {
                let text = l.canonical.join(" ");
                let why = format!(
                    "later commands run inside {entry}, where programs write their default outputs (`rustc x.rs`, `go mod init`)"
                );
                a.effects.push(format!("{text} ({why})"));
                push(a, Construct::ProtectedPath, text, why);
            }
        }
    }
}

/// Where a project's `tsc` writes by its tsconfig (found from `start`):
/// outside the workspace, a protected path, the directory of one, or the
/// workspace's top (where its outputs' names are the inputs') asks.
fn tsconfig_findings(
    start: &Path,
    frame: &place::Frame,
    a: &mut Analysis,
    push: &mut impl FnMut(&mut Analysis, Construct, String, String),
) {
    let configs::TsOutputs {
        outputs,
        copies_json,
        beside,
    } = match configs::tsconfig_outputs(start) {
        Ok(found) => found,
        Err(why) => {
            a.effects.push(format!("tsc: {why}"));
            push(
                a,
                Construct::UnknownOption,
                "tsc (its tsconfig)".into(),
                why,
            );
            return;
        }
    };
    if copies_json {
        let why =
            "its tsconfig copies imported JSON files into outDir under their own names".to_string();
        a.effects.push(format!("tsc: {why}"));
        push(
            a,
            Construct::ProtectedPath,
            "tsc (its tsconfig)".into(),
            why,
        );
    }
    let beside = beside
        .into_iter()
        .map(|p| ("beside its input".to_string(), p));
    for (key, path) in outputs.into_iter().chain(beside) {
        let word = Word {
            text: path.to_string_lossy().into_owned(),
            literal: true,
        };
        let text = format!("tsc writes {} ({key}, by its tsconfig)", path.display());
        match frame.place(&word, &[]) {
            place::Place::Outside { why, .. } => {
                a.effects.push(format!("{text} (outside: {why})"));
                push(a, Construct::WriteOutsideWorkspace, text, why);
            }
            place::Place::Inside(rel) => {
                let entry = protected(&rel)
                    .or_else(|| protected_parent(&rel))
                    .map(str::to_string)
                    .or_else(|| frame.config_code(&rel))
                    .or_else(|| {
                        (matches!(key.as_str(), "outDir" | "declarationDir")
                            && rel.as_os_str().is_empty())
                        .then(|| "the workspace's top, where the inputs name the outputs".into())
                    });
                if let Some(entry) = entry {
                    a.effects.push(format!("{text} (protected: {entry})"));
                    push(a, Construct::ProtectedPath, text, format!("under {entry}"));
                }
            }
            place::Place::Device => {}
        }
    }
}

/// Project tools and the files by which they find their project, walking
/// up from where they run (npm 10, cargo 1.95, go 1.23, pytest 8's
/// rootdir files).
const MANIFESTS: [(&str, &[&str]); 11] = [
    ("uv", &["pyproject.toml", "uv.lock"]),
    ("poetry", &["pyproject.toml"]),
    ("tsc", &["tsconfig.json"]),
    ("npm", &["package.json", "node_modules"]),
    ("yarn", &["package.json"]),
    ("pnpm", &["package.json"]),
    ("bun", &["package.json"]),
    ("cargo", &["Cargo.toml"]),
    ("go", &["go.mod"]),
    (
        "pytest",
        &["pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg"],
    ),
    (
        "py.test",
        &["pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg"],
    ),
];

/// Subcommands that write the files of the project they find (its
/// manifest, lock file, `vendor/`, `target/`) without running its code:
/// found above the workspace, they write outside it (`go mod tidy`
/// rewrites `../go.mod`, `npm pkg set` plants a script in
/// `../package.json`).
fn writes_project_files(canonical: &[String]) -> bool {
    let sub = canonical.get(1).map_or("", String::as_str);
    match canonical.first().map_or("", String::as_str) {
        "cargo" => matches!(
            sub,
            "fmt"
                | "clean"
                | "generate-lockfile"
                | "update"
                | "add"
                | "remove"
                | "vendor"
                | "fix"
                | "tree"
                | "metadata"
                | "package"
                | "fetch"
        ),
        // A bare `yarn` (or one with options only) is `yarn install`.
        "yarn" if sub.is_empty() || sub.starts_with('-') => true,
        "go" => matches!(sub, "mod" | "work" | "get" | "fmt" | "fix" | "generate"),
        "npm" | "pnpm" | "yarn" | "bun" => matches!(
            sub,
            "pkg"
                | "shrinkwrap"
                | "install"
                | "i"
                | "ci"
                | "uninstall"
                | "remove"
                | "rm"
                | "update"
                | "up"
                | "upgrade"
                | "dedupe"
                | "prune"
                | "add"
                | "version"
                | "audit"
                | "link"
                | "unlink"
                | "import"
        ),
        "uv" => matches!(
            sub,
            "lock" | "sync" | "version" | "tree" | "export" | "add" | "remove" | "run"
        ),
        "poetry" => matches!(
            sub,
            "lock" | "version" | "add" | "remove" | "update" | "install" | "sync"
        ),
        _ => false,
    }
}

/// The protected entry (or config-named code path) the line's current
/// directory is inside, from any directory it may be in.
fn works_in_protected(frame: &place::Frame) -> Option<String> {
    let root = frame.workspace.as_ref()?;
    std::iter::once(&frame.here)
        .chain(frame.others.iter())
        .find_map(|here| match here {
            place::Here::Dir(d) => {
                let rel = d.strip_prefix(root).ok()?;
                if rel.as_os_str().is_empty() {
                    return None;
                }
                protected(rel)
                    .map(str::to_string)
                    .or_else(|| frame.config_code(rel))
            }
            place::Here::Unknown(_) => None,
        })
}

/// One layer's effects into `a`.
pub(super) fn layer_findings(
    l: &model::Effects,
    frame: &place::Frame,
    made: &copies::Made,
    a: &mut Analysis,
    push: &mut impl FnMut(&mut Analysis, Construct, String, String),
) {
    if !l.known {
        a.effects.push(format!("unknown program: {}", l.program));
        a.unknown_programs.push((l.program.clone(), a.texts.len()));
    }
    for u in &l.unknown {
        a.effects.push(format!("unknown option: {u}"));
        push(
            a,
            Construct::UnknownOption,
            u.clone(),
            "not in corral's command model".into(),
        );
    }
    for c in &l.code {
        a.effects.push(format!("runs code: {c}"));
        push(a, Construct::RunsCode, c.clone(), String::new());
    }
    for n in &l.network {
        a.effects.push(format!("network: {n}"));
        push(a, Construct::Network, n.clone(), String::new());
    }
    for n in &l.processes {
        a.effects.push(format!("other process: {n}"));
        a.named_only.push(NamedOnly {
            construct: Construct::OtherProcess,
            program: l.program.clone(),
            text: n.clone(),
            why: "a process id may name any process of the user, corral's server included".into(),
            command: a.texts.len(),
            any_program_ok: false,
        });
    }
    if l.project {
        a.effects.push(format!(
            "runs the workspace's own code: {}",
            l.canonical.join(" ")
        ));
    }
    // git in another repository runs that repository's config
    // (core.fsmonitor, core.pager, aliases): `git -C /tmp/evil status`,
    // `cd /tmp/evil && git log`; a build or test runner there runs that
    // directory's code (`make -C ~`, `cd /tmp/x && cargo test`).
    if l.known && (READS_DIRECTORY_CONFIG.contains(&l.program.as_str()) || l.project) {
        let elsewhere = match frame.dir_of_all(&l.dirs) {
            Ok(d) => {
                !d.starts_with(frame.root())
                    || (l.program == "git" && foreign_repository(&d, &frame.root()))
                    // A directory this line makes first (`git init --bare y &&
                    // ... y/config && git -C y status`): nothing to check yet.
                    || (l.program == "git" && d != frame.root() && !d.exists())
                    // Or one it writes first (`git init --bare src/sub`, a
                    // config there): what git finds there is not on disk yet.
                    || (l.program == "git" && d != frame.root() && made.touches(&d))
            }
            Err(_) => true,
        };
        if elsewhere {
            let text = format!(
                "git in {}",
                l.dirs
                    .last()
                    .map_or("another directory", |d| d.text.as_str())
            );
            a.effects.push(format!(
                "runs code: {text} (another repository's config runs)"
            ));
            push(
                a,
                Construct::RunsCode,
                text,
                "outside the workspace, another repository's config runs".into(),
            );
        }
    }
    // `tsc` with no inputs writes where its tsconfig says; `tsc -b`'s
    // operands are projects, each built by its tsconfig.
    if l.program == "tsc" && !l.canonical.iter().any(|w| w == "--noEmit") {
        let build = l.canonical.iter().any(|w| w == "-b" || w == "--build");
        if build && !l.project_paths.is_empty() {
            for w in &l.project_paths {
                match frame.place(&w.path, &w.dirs) {
                    place::Place::Inside(rel) => {
                        tsconfig_findings(&frame.root().join(rel), frame, a, push)
                    }
                    place::Place::Outside { abs: Some(p), .. } => {
                        tsconfig_findings(&p, frame, a, push)
                    }
                    _ => {}
                }
            }
        } else if l.project_paths.is_empty()
            && let Ok(start) = frame.dir_of_all(&l.dirs)
        {
            tsconfig_findings(&start, frame, a, push);
        }
    }
    // ruff and uv keep their caches where their config files say.
    if matches!(l.program.as_str(), "ruff" | "uv" | "uvx")
        && let Ok(start) = frame.dir_of_all(&l.dirs)
    {
        let dirs = configs::cache_dirs(&l.program, &start).map_err(|why| {
            a.effects.push(format!("{}: {why}", l.program));
            push(
                a,
                Construct::UnknownOption,
                format!("{} (its config)", l.program),
                why,
            );
        });
        for dir in dirs.unwrap_or_default() {
            let word = Word {
                text: dir.to_string_lossy().into_owned(),
                literal: true,
            };
            let text = format!("{} writes its cache in {}", l.program, dir.display());
            match frame.place(&word, &[]) {
                place::Place::Outside { why, .. } => {
                    a.effects.push(format!("{text} (outside: {why})"));
                    push(a, Construct::WriteOutsideWorkspace, text, why);
                }
                place::Place::Inside(rel) => {
                    if let Some(entry) = protected(&rel).or_else(|| protected_parent(&rel)) {
                        a.effects.push(format!("{text} (protected: {entry})"));
                        push(a, Construct::ProtectedPath, text, format!("under {entry}"));
                    }
                }
                place::Place::Device => {}
            }
        }
    }
    // A project tool finds its project by walking up: with no manifest in
    // the workspace (or one this line moves away), the one above runs
    // (`npm test` runs a parent's scripts, `cargo build` its build.rs).
    if (l.project || writes_project_files(&l.canonical))
        && let Some((_, names)) = MANIFESTS.iter().find(|(p, _)| *p == l.program)
        && let Ok(start) = frame.dir_of_all(&l.dirs)
    {
        let root = frame.root();
        let found = start
            .ancestors()
            .find_map(|d| names.iter().map(|n| d.join(n)).find(|p| p.exists()));
        let why = match found {
            Some(m) if !m.starts_with(&root) => Some(format!(
                "the workspace has no {} of its own: {} uses {}",
                names.join(" or "),
                l.program,
                m.display()
            )),
            Some(m) if made.touches(&m) => Some(format!(
                "{} is changed earlier on this line: {} may use one above the workspace",
                m.display(),
                l.program
            )),
            _ => None,
        };
        if let Some(why) = why {
            let text = l.canonical.join(" ");
            if l.project {
                a.effects.push(format!("runs code: {text} ({why})"));
                push(a, Construct::RunsCode, text, why);
            } else {
                a.effects.push(format!("writes: {text} ({why})"));
                push(a, Construct::WriteOutsideWorkspace, text, why);
            }
        }
    }
    // `go build` in a module root names its binary after go.mod's
    // module path (`module x/CLAUDE.md` writes ./CLAUDE.md).
    let mut named = Vec::new();
    for m in &l.module_binaries {
        let mut dirs = m.package.dirs.clone();
        dirs.push(m.package.path.clone());
        match frame
            .dir_of_all(&dirs)
            .and_then(|d| configs::go_binary_names(&d))
        {
            Ok(names) => {
                for name in names {
                    let texts: Vec<String> = if m.outs.is_empty() {
                        vec![name]
                    } else {
                        m.outs
                            .iter()
                            .map(|o| format!("{}/{name}", o.trim_end_matches('/')))
                            .collect()
                    };
                    named.extend(texts.into_iter().map(|text| model::WritePath {
                        path: Word {
                            text,
                            literal: true,
                        },
                        dirs: l.dirs.clone(),
                    }));
                }
            }
            Err(why) => {
                let text = format!("{} names its binary by its package", l.program);
                a.effects.push(format!("{text} ({why})"));
                push(a, Construct::UnknownOption, text, why);
            }
        }
    }
    for w in l.writes.iter().chain(&named) {
        match frame.place(&w.path, &w.dirs) {
            place::Place::Outside { why, abs } => {
                let to = abs
                    .map(|p| format!(" -> {}", p.display()))
                    .unwrap_or_default();
                a.effects
                    .push(format!("write {}{to} (outside: {why})", w.path.text));
                push(
                    a,
                    Construct::WriteOutsideWorkspace,
                    format!("{} writes {}", l.program, w.path.text),
                    why,
                );
            }
            place::Place::Inside(rel) => match protected_write(frame, &w.path, &w.dirs, &rel) {
                Some(entry) => {
                    a.effects
                        .push(format!("write {} (protected: {entry})", w.path.text));
                    push(
                        a,
                        Construct::ProtectedPath,
                        format!("{} writes {}", l.program, w.path.text),
                        format!("under {entry}"),
                    );
                }
                None => {
                    a.effects
                        .push(format!("write {} (inside: {})", w.path.text, rel.display()))
                }
            },
            place::Place::Device => {}
        }
    }
    // An output directory named like a protected entry's directory is
    // filled with names the inputs choose (`tsc --outDir .vscode`).
    for w in &l.out_dirs {
        if let place::Place::Inside(rel) = frame.place(&w.path, &w.dirs)
            && let Some(entry) = protected_parent(&rel)
        {
            let why = format!("its files are named by the inputs, and {entry} lies under it");
            a.effects
                .push(format!("output directory {} ({why})", w.path.text));
            push(
                a,
                Construct::ProtectedPath,
                format!("{} writes into {}", l.program, w.path.text),
                why,
            );
        }
    }
    // A program told to work in a protected directory (`go build -C
    // .git/hooks`, `make -C .claude`) writes its default outputs there.
    if !l.dirs.is_empty()
        && let Ok(d) = frame.dir_of_all(&l.dirs)
        && let Ok(rel) = d.strip_prefix(frame.root())
        && !rel.as_os_str().is_empty()
        && let Some(entry) = protected(rel)
            .map(str::to_string)
            .or_else(|| frame.config_code(rel))
    {
        let text = format!(
            "{} in {}",
            l.program,
            l.dirs.last().map_or("", |d| d.text.as_str())
        );
        let why = format!("it works inside {entry}, where its default outputs land");
        a.effects.push(format!("{text} ({why})"));
        push(a, Construct::ProtectedPath, text, why);
    }
    for w in &l.name_prefixes {
        if let place::Place::Inside(rel) = frame.place(&w.path, &w.dirs)
            && let Some(entry) = protected_by_prefix(&rel)
        {
            a.effects
                .push(format!("names files {}… (protected: {entry})", w.path.text));
            push(
                a,
                Construct::ProtectedPath,
                format!("{} names files {}…", l.program, w.path.text),
                format!("a name that starts so may be {entry}"),
            );
        }
    }
    for t in &l.elsewhere {
        let why = "outside the workspace, where corral cannot place it".to_string();
        a.effects.push(format!("write {t} ({why})"));
        push(a, Construct::WriteOutsideWorkspace, t.clone(), why);
    }
    for r in &l.repositories {
        if !configured_remote(frame, &r.dirs, &r.path.text) {
            let text = l.canonical.join(" ");
            let why = format!(
                "{} is not a remote of this repository: git reads it as a path (a bundle or a repository)",
                r.path.text
            );
            a.effects.push(format!("network: {text} ({why})"));
            push(a, Construct::Network, text, why);
        }
    }
    for t in &l.trees {
        // A glob names what matches it now (`venv --clear rep?1`): each
        // match is walked.
        let rels: Vec<PathBuf> = if t.path.path.text.contains(['*', '?', '[']) {
            match frame.starts(&t.path.path, &t.path.dirs) {
                Ok(starts) => starts
                    .iter()
                    .filter_map(|s| {
                        let w = Word {
                            text: s.to_string_lossy().into_owned(),
                            literal: true,
                        };
                        match frame.place(&w, &[]) {
                            place::Place::Inside(rel) => Some(rel),
                            _ => None,
                        }
                    })
                    .collect(),
                Err(why) => {
                    let text = format!("{} {}", l.program, t.path.path.text);
                    a.effects
                        .push(format!("write under {} ({why})", t.path.path.text));
                    push(a, Construct::ProtectedPath, text, why);
                    continue;
                }
            }
        } else {
            match frame.place(&t.path.path, &t.path.dirs) {
                place::Place::Inside(rel) => vec![rel],
                // Outside (or a device): the operand's own write says so.
                _ => continue,
            }
        };
        for rel in rels {
            if rel.as_os_str().is_empty() && !t.spares_git {
                let why = format!(
                    "it rewrites or removes every file under {}, the workspace itself",
                    t.path.path.text
                );
                a.effects
                    .push(format!("write under {} ({why})", t.path.path.text));
                push(
                    a,
                    Construct::ProtectedPath,
                    format!("{} {}", l.program, t.path.path.text),
                    why,
                );
                continue;
            }
            let mut entry = None;
            let spare = |p: &Path| t.spares_git && p.file_name().is_some_and(|n| n == ".git");
            let found = frame.find_in_tree_sparing(&rel, &spare, &mut |p: &Path| {
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
                // A suffix is compared without regard to case (gzip's), and
                // `x.tgz` may become `x` or `x.tar`.
                let stripped: Vec<PathBuf> = name
                    .as_deref()
                    .map(|n| {
                        let lower = n.to_ascii_lowercase();
                        t.strip
                            .iter()
                            .filter(|x| {
                                lower.len() > x.len() && lower.ends_with(&x.to_ascii_lowercase())
                            })
                            .flat_map(|x| {
                                let stem = &n[..n.len() - x.len()];
                                [
                                    p.with_file_name(stem),
                                    p.with_file_name(format!("{stem}.tar")),
                                ]
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                entry = protected(p).or_else(|| stripped.iter().find_map(|s| protected(s)));
                entry.is_some()
            });
            let why = match (found, entry) {
                (Ok(Some(p)), Some(entry)) => Some(format!(
                    "it rewrites every file under {}, {} among them (under {entry})",
                    t.path.path.text,
                    p.display()
                )),
                (Ok(_), _) => None,
                (Err(why), _) => Some(format!(
                    "it rewrites every file under {}, and {why}",
                    t.path.path.text
                )),
            };
            if let Some(why) = why {
                a.effects
                    .push(format!("write under {} ({why})", t.path.path.text));
                push(
                    a,
                    Construct::ProtectedPath,
                    format!("{} {}", l.program, t.path.path.text),
                    why,
                );
            }
        }
    }
    for w in &l.extracts {
        match frame.place(&w.path, &w.dirs) {
            place::Place::Outside { why, .. } => {
                a.effects
                    .push(format!("extracts an archive outside the workspace ({why})"));
                push(
                    a,
                    Construct::WriteOutsideWorkspace,
                    format!(
                        "{} extracts into {}",
                        l.program,
                        w.dirs.last().map_or(".", |d| d.text.as_str())
                    ),
                    why,
                );
            }
            _ => {
                a.effects.push("extracts an archive into the workspace: its members are not on the command line".into());
                push(
                    a,
                    Construct::ProtectedPath,
                    format!("{} extracts an archive", l.program),
                    "its members may include protected paths (.git/hooks, .claude/ ...)".into(),
                );
            }
        }
    }
    for w in &l.links {
        match frame.place(&w.path, &w.dirs) {
            place::Place::Outside { why, .. } => {
                a.effects
                    .push(format!("link to {} (outside: {why})", w.path.text));
                push(
                    a,
                    Construct::WriteOutsideWorkspace,
                    format!("a link to {}", w.path.text),
                    why,
                );
            }
            // A link to a protected path, or to the directory of one, is a
            // door to it (`ln -s .claude c`, `ln -s .vscode v`).
            place::Place::Inside(rel) => {
                if let Some(entry) = protected(&rel).or_else(|| protected_parent(&rel)) {
                    a.effects
                        .push(format!("link to {} (protected: {entry})", w.path.text));
                    push(
                        a,
                        Construct::ProtectedPath,
                        format!("a link to {}", w.path.text),
                        format!("under {entry}"),
                    );
                }
            }
            place::Place::Device => {}
        }
    }
    for t in &l.climbing_links {
        let why =
            "a relative symbolic link that climbs with `..` points elsewhere once moved or copied"
                .to_string();
        a.effects.push(format!("link to {t} ({why})"));
        push(
            a,
            Construct::WriteOutsideWorkspace,
            format!("a link to {t}"),
            why,
        );
    }
    for w in &l.moved {
        // `cp -r .gi? y`: a glob that may name `.git` (or another
        // protected dot-name).
        if w.path.text.contains(['*', '?', '['])
            && w.path
                .text
                .split('/')
                .any(|c| c.starts_with('.') || c.starts_with('['))
        {
            let why = "a glob that may name .git or another protected path".to_string();
            a.effects.push(format!("copies {} ({why})", w.path.text));
            push(
                a,
                Construct::ProtectedPath,
                format!("{} {}", l.program, w.path.text),
                why,
            );
        }
        // A copy of a repository's internals is a repository whose config
        // git runs there (`cp -r .git y && git -C y log`).
        if let place::Place::Inside(rel) = frame.place(&w.path, &w.dirs)
            && protected(&rel) == Some(".git")
        {
            let why = "a copy of a repository's internals".to_string();
            a.effects.push(format!("copies {} ({why})", w.path.text));
            push(
                a,
                Construct::ProtectedPath,
                format!("{} {}", l.program, w.path.text),
                why,
            );
        }
        // A link carried along (`cp -P docs/home x`, `cp -a tree y`,
        // `rsync -a`) leads outside from its new place, where nothing
        // exists yet to resolve: `... && echo >> x/.bashrc`.
        let why = match frame.carried_link(&w.path, &w.dirs) {
            Ok(None) => None,
            Ok(Some(link)) => Some(format!(
                "it carries a symbolic link that leads elsewhere from its new place ({link})"
            )),
            Err(why) => Some(format!("its symbolic links cannot be checked: {why}")),
        };
        if let Some(why) = why {
            a.effects.push(format!("copies {} ({why})", w.path.text));
            push(
                a,
                Construct::WriteOutsideWorkspace,
                format!("{} {}", l.program, w.path.text),
                why,
            );
        }
    }
    for w in &l.option_globs {
        // Names on disk now, and names the line makes before (`touch
        // ./--pre=sh && rg foo *`).
        let found = frame
            .glob_option_names(&w.path, &w.dirs)
            .into_iter()
            .next()
            .or_else(|| {
                frame
                    .dir_of_all(&w.dirs)
                    .ok()
                    .and_then(|d| made.option_like(&d))
            });
        if let Some(name) = found {
            let text = format!(
                "{} {} (matches {name:?}, which it would read as an option)",
                l.program, w.path.text
            );
            a.effects.push(format!("unknown option: {text}"));
            push(
                a,
                Construct::UnknownOption,
                text,
                "a file name that starts with - or @".into(),
            );
        }
    }
    for w in &l.project_paths {
        let placed = frame.place(&w.path, &w.dirs);
        // `bun run /dev/stdin`, `pytest /dev/fd/3`: the code comes from a
        // descriptor, not the workspace.
        if placed == place::Place::Device && w.path.text != "/dev/null" {
            a.effects
                .push(format!("runs code from {} (a descriptor)", w.path.text));
            push(
                a,
                Construct::RunsCode,
                format!("{} {}", l.program, w.path.text),
                "code read from a descriptor".into(),
            );
        }
        if let place::Place::Outside { why, .. } = placed
            && (w.path.text.starts_with('/')
                || w.path.text.contains("..")
                || !w.path.literal
                || w.path.text.starts_with('~'))
        {
            a.effects.push(format!(
                "runs code from {} (outside the workspace: {why})",
                w.path.text
            ));
            push(
                a,
                Construct::RunsCode,
                format!("{} {}", l.program, w.path.text),
                why,
            );
        }
    }
    for w in &l.runs {
        match frame.place(&w.path, &w.dirs) {
            place::Place::Inside(_) => {
                a.effects
                    .push(format!("runs the workspace's file {}", w.path.text));
                // A command word that is a path (`gcc/x`): a rule names it
                // only by its directory, letter by letter (`gcc*` does not
                // name `gcc/x`; `./scripts/*` names `./scripts/b.sh`).
                if w.path.text.contains('/') && l.canonical.first() == Some(&w.path.text) {
                    a.named_only.push(NamedOnly {
                        construct: Construct::RunsCode,
                        program: w.path.text.clone(),
                        text: w.path.text.clone(),
                        why: "a rule must name the directory of a program it runs by path".into(),
                        command: a.texts.len(),
                        any_program_ok: true,
                    });
                }
            }
            place::Place::Outside { why, .. } => {
                a.effects.push(format!(
                    "runs {} (outside the workspace: {why})",
                    w.path.text
                ));
                push(a, Construct::RunsCode, format!("runs {}", w.path.text), why);
            }
            place::Place::Device => {
                push(
                    a,
                    Construct::RunsCode,
                    format!("runs {}", w.path.text),
                    "a device".into(),
                );
            }
        }
    }
}

/// The protected entry a write of `path` (in `dirs`, placed at `rel`
/// inside the workspace) falls under: by its name, by any name its glob may
/// match (`AGENT?.md`, `.cargo/conf*`), or by where a current match lands
/// through a link.
fn protected_write(frame: &place::Frame, path: &Word, dirs: &[Word], rel: &Path) -> Option<String> {
    protected(rel)
        .or_else(|| {
            frame
                .glob_inside(path, dirs)
                .iter()
                .find_map(|m| protected(m))
        })
        .map(str::to_string)
        .or_else(|| frame.config_code(rel))
}

/// Whether `node_modules/.bin/NAME` exists in the directory in force
/// (`dirs`) or one above it inside the workspace, as npx looks for it.
fn local_bin(frame: &place::Frame, dirs: &[Word], name: &str) -> bool {
    let root = frame.root();
    let Ok(mut d) = frame.dir_of_all(dirs) else {
        return false;
    };
    if name.is_empty() || name.contains('/') || !d.starts_with(&root) {
        return false;
    }
    loop {
        if d.join("node_modules/.bin").join(name).exists() {
            return true;
        }
        if d == root || !d.pop() {
            return false;
        }
    }
}

/// Whether `name` is a remote (`[remote "NAME"]`) in the config of the
/// repository git finds from the directory in force (`dirs`): `.git` a
/// directory, or a file naming one (a worktree: the config is in its
/// common directory). True when there is no repository (git fetches
/// nothing); false when the config cannot be read.
fn configured_remote(frame: &place::Frame, dirs: &[Word], name: &str) -> bool {
    let Ok(d) = frame.dir_of_all(dirs) else {
        return false;
    };
    let Some(repo) = repo::repository(&d) else {
        // No repository: git fails before it fetches anything. A `.git`
        // that cannot be read: not known.
        return !d.ancestors().any(|a| a.join(".git").exists());
    };
    let Ok(config) = std::fs::read_to_string(repo.common.join("config")) else {
        return false;
    };
    let want = format!("[remote \"{name}\"]");
    config.lines().any(|l| l.trim() == want)
}
