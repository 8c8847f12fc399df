//! What a build tool's operands ask of it: Maven's phases and plugin goals,
//! Gradle's tasks, an `install` target of make or ninja, and runners told
//! to read their program from standard input. The program tables say what
//! the options do; the operands here are words the tool resolves itself.

use super::*;
use crate::policy::configs::ts_output;

/// Maven 3's lifecycle phases (default, clean and site lifecycles), from
/// "Introduction to the Build Lifecycle", maven.apache.org (Maven 3.9).
const MAVEN_PHASES: [&str; 30] = [
    "validate",
    "initialize",
    "generate-sources",
    "process-sources",
    "generate-resources",
    "process-resources",
    "compile",
    "process-classes",
    "generate-test-sources",
    "process-test-sources",
    "generate-test-resources",
    "process-test-resources",
    "test-compile",
    "process-test-classes",
    "test",
    "prepare-package",
    "package",
    "pre-integration-test",
    "integration-test",
    "post-integration-test",
    "verify",
    "install",
    "deploy",
    "pre-clean",
    "clean",
    "post-clean",
    "pre-site",
    "site",
    "post-site",
    "site-deploy",
];

/// Plugin prefixes whose goals build, test, report on or run the project as
/// its pom configures them (`dependency:tree`, `spring-boot:run`,
/// `exec:java`). Their parameters come from the pom or from `-D`, which
/// asks. A prefix off this list may resolve to any plugin of the groups in
/// the user's settings, downloaded and run: it asks.
const MAVEN_PLUGINS: [&str; 36] = [
    "clean",
    "compiler",
    "surefire",
    "failsafe",
    "resources",
    "jar",
    "war",
    "ear",
    "source",
    "javadoc",
    "dependency",
    "help",
    "versions",
    "exec",
    "spotless",
    "checkstyle",
    "pmd",
    "spotbugs",
    "jacoco",
    "enforcer",
    "antrun",
    "spring-boot",
    "quarkus",
    "javafx",
    "jetty",
    "license",
    "fmt",
    "formatter",
    "sortpom",
    "build-helper",
    "assembly",
    "shade",
    "surefire-report",
    "project-info-reports",
    "site",
    "flatten",
];

/// Maven goals that publish (to a repository, an SCM, a registry, a
/// cluster or a site host): by plugin, or by a goal's name
/// (`quarkus:deploy`, `quarkus:image-push`, `jib:build`'s kin).
fn maven_publishes(prefix: &str, goal: &str) -> bool {
    matches!(prefix, "deploy" | "release" | "scm" | "wagon" | "gpg")
        || ["deploy", "push", "publish", "release", "upload"]
            .iter()
            .any(|w| goal.contains(w))
}

/// Effects of the operands of build tools and runners that the tables
/// cannot say: `invoked` is the program as run (`mvn`, `make`), `name` the
/// table's name (`bun run`), `seen` whether any of these options was given,
/// `values` the options' values in order.
pub(super) fn build_targets(
    invoked: &str,
    name: &str,
    operands: &[(Word, Vec<Word>)],
    seen: &dyn Fn(&[&str]) -> bool,
    values: &[(String, String)],
    e: &mut Effects,
) {
    match invoked {
        "mvn" | "mvnw" if !name.contains(' ') => maven(operands, e),
        "gradle" | "gradlew" if !name.contains(' ') => gradle(operands, e),
        // An install target copies the build to its prefix (/usr/local by
        // convention, or DESTDIR): outside the workspace. cmake's
        // `--target install` asks in the table's specials. A dry run (`make -n install`) prints the recipes; sub-makes it
        // runs inherit the `-n`.
        "make" | "gmake" | "bmake" | "ninja" | "samu"
            if !seen(&[
                "-n",
                "--just-print",
                "--dry-run",
                "--recon",
                "-q",
                "--question",
            ]) =>
        {
            for (w, dirs) in operands {
                let t = w.text.as_str();
                if t.contains('=') && invoked != "ninja" {
                    continue;
                }
                // A goal is a file the build may make: GNU make's built-in
                // rules make `X` from `X.sh`, `X.c` or `RCS/X,v` with no
                // Makefile at all (`make .mcp.json`); a build file names
                // its outputs.
                e.writes.push(WritePath {
                    path: w.clone(),
                    dirs: dirs.clone(),
                });
                if t.starts_with("install") || t.starts_with("uninstall") || !w.literal {
                    e.elsewhere.push(format!(
                        "{invoked} {t} (an install target writes the install prefix)"
                    ));
                }
            }
        }
        _ => {}
    }
    default_outputs(invoked, name, operands, seen, values, e);
    // `history -w` / `-a` with no file write $HISTFILE (~/.bash_history,
    // or ~/.history in a non-interactive bash 5.2).
    if name == "history" && seen(&["-w", "-a"]) && operands.is_empty() {
        e.elsewhere
            .push("history -w/-a without a file (writes $HISTFILE, in the home directory)".into());
    }
    match name {
        // Without -o or --out-dir, rustc writes its output in the current
        // directory, named after the source file (`pre-commit.rs` makes
        // `pre-commit`; rustc 1.95) or the crate.
        "rustc" if !seen(&["-o", "--out-dir"]) => {
            let crate_name = values
                .iter()
                .rev()
                .find(|(o, _)| o == "--crate-name")
                .map(|(_, v)| v.clone());
            let stem = operands
                .iter()
                .find(|(w, _)| !w.text.starts_with('-'))
                .map(|(w, _)| {
                    let base = w.text.rsplit('/').next().unwrap_or(&w.text);
                    Word {
                        text: base.strip_suffix(".rs").unwrap_or(base).to_string(),
                        literal: w.literal,
                    }
                });
            let names = stem.into_iter().chain(crate_name.map(|n| Word {
                text: n,
                literal: true,
            }));
            for path in names.filter(|w| !w.text.is_empty()) {
                e.writes.push(WritePath {
                    path,
                    dirs: e.dirs.clone(),
                });
            }
        }
        // A batch file holds its own file list, as an archive does; `-R`
        // keeps each source's path (after `/./`, if any) under the
        // destination.
        "rsync" => {
            let dest = operands.last().filter(|_| operands.len() > 1);
            if seen(&["--read-batch"]) {
                e.extracts.push(match dest {
                    Some((w, dirs)) => WritePath {
                        path: w.clone(),
                        dirs: dirs.clone(),
                    },
                    None => WritePath {
                        path: Word {
                            text: ".".into(),
                            literal: true,
                        },
                        dirs: e.dirs.clone(),
                    },
                });
            }
            if seen(&["-R", "--relative"])
                && let Some((d, dirs)) = dest
            {
                for (w, _) in &operands[..operands.len() - 1] {
                    let kept = match w.text.split_once("/./") {
                        Some((_, rest)) => rest,
                        None => w.text.trim_start_matches('/'),
                    };
                    e.writes.push(WritePath {
                        path: Word {
                            text: format!("{}/{kept}", d.text.trim_end_matches('/')),
                            literal: w.literal && d.literal,
                        },
                        dirs: dirs.clone(),
                    });
                }
            }
        }
        // A clone checks out the repository's files: their names (a nested
        // `.claude/`, `CLAUDE.md`, `.envrc`) are in the repository, as an
        // archive's members are in the archive.
        "git clone" => {
            let here = Word {
                text: ".".into(),
                literal: true,
            };
            let dest = operands.get(1).map(|(w, dirs)| WritePath {
                path: w.clone(),
                dirs: dirs.clone(),
            });
            if let Some(d) = &dest {
                e.writes.push(d.clone());
            }
            if !seen(&["-n", "--no-checkout", "--bare", "--mirror"]) {
                e.extracts.push(dest.unwrap_or(WritePath {
                    path: here,
                    dirs: e.dirs.clone(),
                }));
            }
        }
        // `git init --separate-git-dir=GD [DIR]` moves DIR's git directory
        // to GD and leaves a `.git` file naming it.
        "git init" if seen(&["--separate-git-dir"]) => match operands.first() {
            Some((w, dirs)) => e.writes.push(WritePath {
                path: Word {
                    text: format!("{}/.git", w.text.trim_end_matches('/')),
                    literal: w.literal,
                },
                dirs: dirs.clone(),
            }),
            None => write_here(e, ".git"),
        },
        // uv's default outputs, in the directory in force (`--directory`
        // and `--project` included; uv 0.13): a project's environment and
        // lock file, the `.python-version` pin (which may name an
        // interpreter by path), a new project's files.
        _ if name.starts_with("uv ") => uv_defaults(name, operands, seen, e),
        // Submodules check out other repositories' files, named there
        // (as a clone's are): `git submodule update`, `git pull
        // --recurse-submodules`.
        "git submodule update" => e.extracts.push(WritePath {
            path: Word {
                text: ".".into(),
                literal: true,
            },
            dirs: e.dirs.clone(),
        }),
        "git pull" if recurses_submodules(values, seen) => e.extracts.push(WritePath {
            path: Word {
                text: ".".into(),
                literal: true,
            },
            dirs: e.dirs.clone(),
        }),
        // git removing files of the work tree: untracked ones (`stash
        // -u`/`-a`), those a sparse checkout leaves out, every tracked one
        // (`switch --orphan`). A protected entry among them asks.
        "git stash" | "git stash push" | "git stash save"
            if seen(&["-u", "--include-untracked", "-a", "--all"]) =>
        {
            git_tree(e)
        }
        "git sparse-checkout set"
        | "git sparse-checkout init"
        | "git sparse-checkout add"
        | "git sparse-checkout reapply" => git_tree(e),
        "git switch" if seen(&["--orphan"]) => git_tree(e),
        // `git fetch -u SRC:DST` may move a branch checked out in another
        // worktree (git refuses without it).
        "git fetch" if seen(&["-u", "--update-head-ok"]) => e.elsewhere.push(
            "git fetch --update-head-ok (a branch every worktree shares, checked out or not)"
                .into(),
        ),
        // `bun run -` and `deno run -` read the program from standard input.
        "bun run" | "deno run"
            if operands
                .first()
                .is_some_and(|(w, _)| w.text == "-" || !w.literal) =>
        {
            e.code
                .push(format!("{name} - (reads its program from its input)"));
        }
        // A bare `deno` is its REPL: it runs what it reads.
        "deno" if operands.is_empty() && !seen(&["-h", "--help", "-V", "--version"]) => {
            e.code
                .push("deno without a subcommand (its REPL runs what it reads)".into());
        }
        _ => {}
    }
}

/// Whether `--recurse-submodules` is on (not `=no`).
fn recurses_submodules(values: &[(String, String)], seen: &dyn Fn(&[&str]) -> bool) -> bool {
    seen(&["--recurse-submodules"])
        && !values
            .iter()
            .any(|(o, v)| o == "--recurse-submodules" && v == "no")
}

/// Every file of the work tree (but `.git`) that git may remove.
fn git_tree(e: &mut Effects) {
    e.trees.push(TreeWrite {
        path: WritePath {
            path: Word {
                text: ".".into(),
                literal: true,
            },
            dirs: e.dirs.clone(),
        },
        strip: Vec::new(),
        spares_git: true,
    });
}

/// uv's outputs a subcommand names by default (see [`build_targets`]).
fn uv_defaults(
    name: &str,
    operands: &[(Word, Vec<Word>)],
    seen: &dyn Fn(&[&str]) -> bool,
    e: &mut Effects,
) {
    let frozen = seen(&["--frozen", "--dry-run"]);
    match name {
        "uv venv" if operands.is_empty() => write_here(e, ".venv"),
        "uv init" => {
            let dir = operands
                .first()
                .map_or_else(|| ".".to_string(), |(w, _)| w.text.clone());
            let dir = dir.trim_end_matches('/');
            let mut files = vec!["pyproject.toml"];
            if !seen(&["--no-pin-python", "--bare"]) {
                files.push(".python-version");
            }
            for f in files {
                write_here(e, &format!("{dir}/{f}"));
            }
        }
        "uv python pin" if !seen(&["--global"]) => write_here(e, ".python-version"),
        "uv version" if (!operands.is_empty() || seen(&["--bump"])) && !frozen => {
            write_here(e, "pyproject.toml");
            write_here(e, "uv.lock");
        }
        "uv tree" | "uv export" | "uv add" | "uv remove" | "uv lock" | "uv sync" | "uv run"
            if !frozen && !seen(&["--locked", "--offline"]) || name == "uv lock" =>
        {
            write_here(e, "uv.lock");
            if matches!(name, "uv add" | "uv remove" | "uv sync" | "uv run") {
                write_here(e, ".venv");
            }
        }
        _ => {}
    }
    // `uv python find|list|pin REQUEST`: a request that is a path is an
    // interpreter uv runs to read its version.
    if matches!(name, "uv python find" | "uv python list" | "uv python pin")
        && let Some((w, dirs)) = operands.first()
        && (w.text.contains('/')
            || w.text.starts_with('.')
            || w.text.starts_with('~')
            || !w.literal)
    {
        e.runs.push(WritePath {
            path: w.clone(),
            dirs: dirs.clone(),
        });
    }
}

/// A write of the fixed path `text`, in the directories in force.
fn write_here(e: &mut Effects, text: &str) {
    let dirs = e.dirs.clone();
    e.writes.push(WritePath {
        path: Word {
            text: text.into(),
            literal: true,
        },
        dirs,
    });
}

/// Maven's operands are phases and goals: `prefix:goal` or a plugin by its
/// coordinates (`group:artifact[:version]:goal`), which Maven downloads and
/// runs.
fn maven(operands: &[(Word, Vec<Word>)], e: &mut Effects) {
    for (w, _) in operands {
        let t = w.text.as_str();
        if !w.literal {
            e.unknown
                .push(format!("mvn {t} (a goal the shell expands)"));
            continue;
        }
        let parts: Vec<&str> = t.split(':').collect();
        match parts.as_slice() {
            ["install"] => e.elsewhere.push(
                "mvn install (writes the artifacts into ~/.m2/repository, which every project reads)"
                    .into(),
            ),
            ["deploy" | "site-deploy"] => e
                .network
                .push(format!("mvn {t} (publishes to a remote repository)")),
            [phase] if MAVEN_PHASES.contains(phase) => {}
            [_] => e.unknown.push(format!("mvn {t} (not a lifecycle phase)")),
            ["install", _]
            | ["dependency", "purge-local-repository"]
            | ["build-helper", "remove-project-artifact"] => e
                .elsewhere
                .push(format!("mvn {t} (writes ~/.m2/repository)")),
            // The wrapper's properties name the Maven it downloads and runs.
            ["wrapper", _] => write_here(e, ".mvn/wrapper/maven-wrapper.properties"),
            [prefix, goal] if maven_publishes(prefix, goal) => e
                .network
                .push(format!("mvn {t} (publishes to another host)")),
            [prefix, _] if MAVEN_PLUGINS.contains(prefix) => {}
            [_, _] => e.unknown.push(format!(
                "mvn {t} (a plugin prefix corral does not know: it may be downloaded and run)"
            )),
            _ => e.code.push(format!(
                "mvn {t} (a plugin by its coordinates: downloaded and run)"
            )),
        }
    }
}

/// Gradle's operands are tasks, each named in full or by an abbreviation
/// (`pTML` is `publishToMavenLocal`: each camel-case part a prefix of the
/// task's), optionally under a project path (`:app:publish`).
fn gradle(operands: &[(Word, Vec<Word>)], e: &mut Effects) {
    for (w, _) in operands {
        let t = w.text.as_str();
        if !w.literal {
            e.unknown
                .push(format!("gradle {t} (a task the shell expands)"));
            continue;
        }
        let task = t.rsplit(':').next().unwrap_or(t);
        // The first camel-case part: what the abbreviation starts with.
        let head: String = task
            .chars()
            .enumerate()
            .take_while(|(i, c)| *i == 0 || !c.is_ascii_uppercase())
            .map(|(_, c)| c.to_ascii_lowercase())
            .collect();
        if head.is_empty() {
            continue;
        }
        let may_be = |full: &str| full.starts_with(head.as_str());
        // Its camel-case parts: a part that sends anywhere in the name
        // (`dockerPushImage`, `appengineDeploy`), `release` only first
        // (`assembleRelease` is an Android build variant).
        let mut parts: Vec<String> = Vec::new();
        for c in task.chars() {
            if c.is_ascii_uppercase() || parts.is_empty() {
                parts.push(String::new());
            }
            if let Some(p) = parts.last_mut() {
                p.push(c.to_ascii_lowercase());
            }
        }
        let sends = [
            "publish",
            "upload",
            "deploy",
            "push",
            "sonar",
            "sonarqube",
            "jib",
        ];
        let releases = parts
            .first()
            .is_some_and(|p| p.starts_with("release") || p == "jreleaser")
            || parts
                .iter()
                .any(|p| matches!(p.as_str(), "github" | "staging"));
        if releases
            || sends
                .iter()
                .any(|w| may_be(w) || parts.iter().any(|p| p == w))
            || may_be("release")
        {
            e.network.push(format!(
                "gradle {t} (a task that publishes, pushes or uploads, or an abbreviation of one)"
            ));
        } else if may_be("install") {
            e.elsewhere.push(format!(
                "gradle {t} (an install task, or an abbreviation of one: it writes the Maven repository or a device)"
            ));
        } else if may_be("wrapper") {
            write_here(e, "gradle/wrapper/gradle-wrapper.properties");
        }
    }
}

/// A path operand's last component (`./cmd/x/` and `./cmd/x/.` are `x`).
fn last_component(t: &str) -> &str {
    let mut t = t;
    loop {
        let trimmed = t.trim_end_matches('/');
        match trimmed.strip_suffix("/.") {
            Some(rest) => t = rest,
            None => {
                t = trimmed;
                break;
            }
        }
    }
    t.rsplit('/').next().unwrap_or(t)
}

/// Files compilers write without an output option, named after their
/// inputs: beside each input (javac's `.class`, tsc's `.js`, gcc's
/// precompiled header `.gch`) or where the line is (`go build`'s binary,
/// gcc `-c`'s `.o`). Directories an output option names, whose files are
/// named elsewhere (tsc `--outDir`, javac `-d`), are recorded in
/// `out_dirs`.
fn default_outputs(
    invoked: &str,
    name: &str,
    operands: &[(Word, Vec<Word>)],
    seen: &dyn Fn(&[&str]) -> bool,
    values: &[(String, String)],
    e: &mut Effects,
) {
    let here = |text: String, literal: bool, e: &mut Effects| {
        let dirs = e.dirs.clone();
        e.writes.push(WritePath {
            path: Word { text, literal },
            dirs,
        });
    };
    let beside = |w: &Word, dirs: &[Word], text: String, e: &mut Effects| {
        e.writes.push(WritePath {
            path: Word {
                text,
                literal: w.literal,
            },
            dirs: dirs.to_vec(),
        });
    };
    let value_of = |opts: &[&str]| {
        values
            .iter()
            .filter(|(o, _)| opts.contains(&o.as_str()))
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
    };
    match name {
        // go build (and go test -c) name the binary after the first .go
        // file or the package's last path element (go 1.23, `go help
        // build`), in the directory in force.
        // With `-o DIR` (an existing directory, or ending in `/`), the
        // binary lands in DIR under that name: both are placed.
        "go build" => {
            let first = operands.first();
            let package = match first {
                None => Some((
                    Word {
                        text: ".".into(),
                        literal: true,
                    },
                    e.dirs.clone(),
                )),
                Some((w, dirs)) if matches!(last_component(&w.text), "." | "..") => {
                    Some((w.clone(), dirs.clone()))
                }
                Some(_) => None,
            };
            if let Some((path, dirs)) = package {
                e.module_binaries.push(ModuleBinary {
                    package: WritePath { path, dirs },
                    outs: value_of(&["-o"]),
                });
            }
            if let Some((w, _)) = first {
                let base = last_component(&w.text);
                let bin = base.strip_suffix(".go").unwrap_or(base);
                if !bin.is_empty() && bin != "." && bin != ".." {
                    let outs = value_of(&["-o"]);
                    if outs.is_empty() {
                        here(bin.to_string(), w.literal, e);
                    }
                    for o in outs {
                        here(format!("{}/{bin}", o.trim_end_matches('/')), w.literal, e);
                    }
                }
            }
        }
        "go test" if seen(&["-c"]) && !seen(&["-o"]) => {
            if let Some((w, _)) = operands.first() {
                here(format!("{}.test", last_component(&w.text)), w.literal, e);
            }
        }
        // javac without -d writes X.class beside X.java.
        "javac" if !seen(&["-d"]) => {
            for (w, dirs) in operands {
                if let Some(stem) = w.text.strip_suffix(".java") {
                    beside(w, dirs, format!("{stem}.class"), e);
                }
            }
        }
        // tsc without --outDir writes each input's output beside it: `.ts`
        // and `.tsx` as `.js`, `.mts` as `.mjs`, `.cts` as `.cjs`
        // (TypeScript 5.6), with `.d.ts` and `.map` beside.
        // With --outDir each output lands there (under its path from the
        // inputs' common directory: its name is placed); imported JSON
        // modules are copied there under names the line does not show.
        "tsc" if seen(&["--outDir"]) && !seen(&["--noEmit"]) => {
            if seen(&["--resolveJsonModule"]) && !operands.is_empty() {
                e.unknown.push(
                    "tsc --resolveJsonModule with --outDir (imported JSON files are copied there under their own names)"
                        .into(),
                );
            }
            for out in value_of(&["--outDir"]) {
                for (w, _) in operands {
                    if let Some(js) = ts_output(last_component(&w.text)) {
                        here(format!("{}/{js}", out.trim_end_matches('/')), w.literal, e);
                    }
                }
            }
        }
        "tsc" if !seen(&["--outDir", "--outFile", "--noEmit"]) => {
            for (w, dirs) in operands {
                if let Some(out) = ts_output(&w.text) {
                    beside(w, dirs, out, e);
                }
            }
        }
        _ => {}
    }
    // Output directories whose files are named by the inputs (and the
    // JSON modules tsc copies): one named like a protected entry's
    // directory fills it (`tsc --outDir .vscode` with a tasks.json).
    let dir_opts: &[&str] = match name {
        "tsc" => &["--outDir", "--declarationDir"],
        "javac" => &["-d", "-s", "-h"],
        "rustc" => &["--out-dir"],
        _ => &[],
    };
    for v in value_of(dir_opts) {
        let dirs = e.dirs.clone();
        e.out_dirs.push(WritePath {
            path: Word {
                text: v,
                literal: true,
            },
            dirs,
        });
    }
    // gcc and clang: a header compiled alone becomes X.gch beside it;
    // `-c` and `-S` write the object or assembly here, named after each
    // source (gcc 12).
    if matches!(
        invoked,
        "gcc" | "cc" | "g++" | "c++" | "clang" | "clang++" | "gcc-12" | "g++-12"
    ) && !seen(&["-o", "-E", "-fsyntax-only"])
    {
        let header_mode = values
            .iter()
            .any(|(o, v)| o == "-x" && v.ends_with("-header"));
        for (w, dirs) in operands {
            let t = w.text.as_str();
            let header = header_mode
                || [".h", ".hh", ".hpp", ".hxx", ".H"]
                    .iter()
                    .any(|x| t.ends_with(x));
            if header {
                beside(w, dirs, format!("{t}.gch"), e);
            } else if seen(&["-c", "-S"])
                && let Some((stem, _)) = last_component(t).rsplit_once('.')
            {
                let ext = if seen(&["-S"]) { "s" } else { "o" };
                here(format!("{stem}.{ext}"), w.literal, e);
            }
        }
    }
}
