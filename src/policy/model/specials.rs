//! What some programs do that their option tables cannot say: values read
//! together (curl's and wget's file names, tar's letters, split's prefixes),
//! subcommands whose effect depends on an option (`git hash-object -t`), and
//! copies that place names in a directory.

use super::*;

/// Programs that read more arguments from an `@FILE` operand.
const RESPONSE_FILES: [&str; 21] = [
    "gcc", "cc", "g++", "c++", "clang", "clang++", "javac", "java", "ld", "rustc", "ar", "nvcc",
    // tsc 5.6 (`tsc @args.txt`), pytest 8.2 and mypy 1.13 (argparse's
    // `fromfile_prefix_chars`), ruff 0.17 (every argument, subcommands
    // too), jar and javadoc (JDK 9), 7-Zip's list files.
    "tsc", "pytest", "py.test", "mypy", "ruff", "jar", "javadoc", "7z", "7za",
];

/// make's variables that name a program its built-in rules (GNU make
/// 4.3's `make -p`) or common Makefiles run: set on the command line, the
/// program is the caller's choice.
const MAKE_PROGRAMS: [&str; 34] = [
    "CC",
    "CXX",
    "CPP",
    "FC",
    "F77",
    "PC",
    "LD",
    "AR",
    "AS",
    "RM",
    "CO",
    "GET",
    "LEX",
    "YACC",
    "LINT",
    "M2C",
    "MAKEINFO",
    "TEX",
    "TEXI2DVI",
    "WEAVE",
    "CWEAVE",
    "TANGLE",
    "CTANGLE",
    "INSTALL",
    "STRIP",
    "OBJCOPY",
    "RANLIB",
    "NM",
    "PKG_CONFIG",
    "PYTHON",
    "PERL",
    "GO",
    "CARGO",
    "NPM",
];

/// Whether `t` names a file on another host (`host:path`, `user@host:x`),
/// as tar, rsync and scp read it.
pub(super) fn remote(t: &str) -> bool {
    match t.find(':') {
        Some(i) => !t[..i].contains('/') && i > 0,
        None => false,
    }
}

/// What some programs do that their option table cannot say.
pub(super) fn program_specials(
    p: &Program,
    operands: &[(Word, Vec<Word>)],
    st: &State,
    e: &mut Effects,
) {
    let seen = |names: &[&str]| st.seen.iter().any(|o| names.contains(&o.as_str()));
    // The last value given to any of these options.
    let value = |names: &[&str]| {
        st.values
            .iter()
            .rev()
            .find(|(n, _)| names.contains(&n.as_str()))
            .map(|(_, v)| v.clone())
    };
    // A subcommand by its full name (`git pull`), a program as invoked
    // (entries group names: `shopt` is among the shell's builtins).
    let invoked = e.program.clone();
    let name = if p.name.contains(' ') {
        p.name.as_str()
    } else {
        invoked.as_str()
    };
    if p.effect == Some(ProgramEffect::Project) {
        // libtest's `--logfile PATH` (after `cargo test --`) writes PATH.
        for pair in operands.windows(2) {
            if pair[0].0.text == "--logfile" {
                e.writes.push(WritePath {
                    path: pair[1].0.clone(),
                    dirs: pair[1].1.clone(),
                });
            }
        }
        for (w, dirs) in operands {
            if let Some(v) = w.text.strip_prefix("--logfile=") {
                e.writes.push(WritePath {
                    path: Word {
                        text: v.to_string(),
                        literal: w.literal,
                    },
                    dirs: dirs.clone(),
                });
            }
        }
        for (w, dirs) in operands {
            e.project_paths.push(WritePath {
                path: w.clone(),
                dirs: dirs.clone(),
            });
            // The project's own program reads `--opt=VALUE` after `--` as
            // an option too (libtest's `--logfile=../x`): its value is a
            // path like an operand.
            if let Some((opt, value)) = w.text.split_once('=')
                && opt.starts_with('-')
                && !value.is_empty()
            {
                e.project_paths.push(WritePath {
                    path: Word {
                        text: value.to_string(),
                        literal: w.literal,
                    },
                    dirs: dirs.clone(),
                });
            }
        }
    }
    let first = |n: &str| n.split(' ').next().unwrap_or(n).to_string();
    if (RESPONSE_FILES.contains(&first(name).as_str())
        || RESPONSE_FILES.contains(&first(&p.name).as_str()))
        && let Some(t) = operands
            .iter()
            .map(|(w, _)| w.text.as_str())
            .chain(st.values.iter().map(|(_, v)| v.as_str()))
            .find(|t| t.starts_with('@'))
    {
        // gcc expands `@FILE` wherever it stands, an option's value too
        // (`-D @x`, `-o @x`).
        e.code
            .push(format!("{name} {t} (arguments read from a file)"));
    }
    // `-Xsubtree=PREFIX` moves the other side's files under PREFIX
    // (`-Xsubtree=.claude`: a root settings.json lands in .claude/);
    // `-s subtree` guesses the prefix.
    if matches!(
        name,
        "git merge" | "git pull" | "git cherry-pick" | "git rebase" | "git revert"
    ) {
        for (o, v) in &st.values {
            let subtree = match o.as_str() {
                "-X" | "--strategy-option" => v.strip_prefix("subtree"),
                _ => None,
            };
            match subtree {
                Some(rest) if rest.starts_with('=') && rest.len() > 1 => {
                    // The prefix itself, and each protected path under it
                    // (`.vscode` holds tasks.json).
                    let prefix = rest[1..].trim_end_matches('/');
                    let lower = format!("{}/", prefix.to_lowercase());
                    let under = crate::policy::PROTECTED.iter().filter_map(|entry| {
                        entry
                            .to_lowercase()
                            .strip_prefix(&lower)
                            .map(|tail| format!("{prefix}/{tail}"))
                    });
                    for text in std::iter::once(prefix.to_string()).chain(under) {
                        e.writes.push(WritePath {
                            path: Word {
                                text,
                                literal: true,
                            },
                            dirs: e.dirs.clone(),
                        });
                    }
                }
                Some(_) => e
                    .unknown
                    .push(format!("{name} -X {v} (a prefix git guesses)")),
                None => {}
            }
            if matches!(o.as_str(), "-s" | "--strategy") && v == "subtree" {
                e.unknown
                    .push(format!("{name} -s subtree (a prefix git guesses)"));
            }
        }
    }
    // A repository named by a word that is not a URL or a path is a
    // remote if the repository's config names one; else git reads it as a
    // path (`git fetch b.bundle`): checked against the config when it
    // decides.
    if matches!(name, "git fetch" | "git pull")
        && let Some((w, dirs)) = operands.first()
        && !(w.text.contains(':') || w.text.contains('/') || w.text.starts_with('.'))
    {
        e.repositories.push(WritePath {
            path: w.clone(),
            dirs: dirs.clone(),
        });
    }
    // A backup renames the old destination DEST+SUFFIX (`cp -b -S .md x
    // AGENTS` makes AGENTS.md); a suffix without `-b` is counted too (the
    // safe side).
    if matches!(name, "cp" | "mv" | "ln" | "install" | "rsync")
        && let Some(sfx) = value(&["-S", "--suffix"])
    {
        // The destination (the last operand; its own write is added after
        // this) and each DEST/NAME a copy into a directory makes.
        let last = operands.last().map(|(w, dirs)| WritePath {
            path: w.clone(),
            dirs: dirs.clone(),
        });
        let backups: Vec<WritePath> = e
            .writes
            .iter()
            .chain(last.as_ref())
            .map(|w| WritePath {
                path: Word {
                    text: format!("{}{sfx}", w.path.text.trim_end_matches('/')),
                    literal: w.path.literal,
                },
                dirs: w.dirs.clone(),
            })
            .collect();
        e.writes.extend(backups);
    }
    // A compressor's own suffix: `gzip -S .md AGENTS` writes AGENTS.md,
    // `gunzip -S .x CLAUDE.md.x` writes CLAUDE.md.
    if matches!(
        name,
        "gzip" | "gunzip" | "xz" | "unxz" | "lzma" | "unlzma" | "zstd" | "unzstd"
    ) && let Some(sfx) = value(&["-S", "--suffix"])
    {
        for (w, dirs) in operands {
            let mut names = vec![format!("{}{sfx}", w.text)];
            if let Some(stem) = w.text.strip_suffix(sfx.as_str()) {
                names.push(stem.to_string());
            }
            for text in names {
                e.writes.push(WritePath {
                    path: Word {
                        text,
                        literal: w.literal,
                    },
                    dirs: dirs.clone(),
                });
            }
        }
    }
    match name {
        // `cargo clippy -- ARGS` hands ARGS to clippy-driver, a rustc: lint
        // levels are all a rule for clippy means (`-D warnings`); any other
        // (`-C linker=/tmp/x`, `--emit=dep-info=../x`) is the compiler's.
        "cargo clippy" => {
            let level = |t: &str| {
                matches!(
                    t,
                    "-D" | "-W"
                        | "-A"
                        | "-F"
                        | "--deny"
                        | "--warn"
                        | "--allow"
                        | "--forbid"
                        | "--cap-lints"
                )
            };
            let mut it = operands.iter().map(|(w, _)| w.text.as_str());
            while let Some(t) = it.next() {
                if level(t) {
                    it.next();
                    continue;
                }
                let attached = t.split_once('=').is_some_and(|(f, _)| level(f))
                    || (["-D", "-W", "-A", "-F"].iter().any(|f| t.starts_with(f)) && t.len() > 2);
                if !attached {
                    e.code.push(format!(
                        "cargo clippy -- {t} (an argument for the compiler)"
                    ));
                }
            }
        }
        // `curl -o '#1'` names the file from the URL's glob (`{..}`, `[..]`).
        "curl"
            if st
                .values
                .iter()
                .any(|(o, v)| matches!(o.as_str(), "-o" | "--output") && v.contains('#')) =>
        {
            e.unknown
                .push("curl -o with #N (the name comes from the URL)".to_string());
        }
        // `git fetch URL` (not a configured remote) then `git merge
        // FETCH_HEAD` is a `git pull URL`: history from elsewhere.
        // Objects of its own making: a tree or commit can hold any file
        // (`.envrc`, a link to `~`) that a later checkout, stash pop or
        // merge writes, and no command line shows it. A blob is a file's
        // content, as harmless as writing the file.
        "git hash-object"
            if seen(&["-w"])
                && (seen(&["--literally"]) || value(&["-t"]).is_some_and(|t| t != "blob")) =>
        {
            e.writes.push(WritePath {
                path: Word {
                    text: ".git/objects".into(),
                    literal: true,
                },
                dirs: e.dirs.clone(),
            });
        }
        // `--cacheinfo MODE,OBJECT,PATH` stages content at a path that a
        // later checkout writes: the path is placed like a write, and a
        // link (120000) or a submodule (160000) cannot be accounted for.
        // `--index-info` reads such lines from its input; the old
        // three-word `--cacheinfo MODE OBJECT PATH` is not read here.
        "git update-index" => {
            let mut unplaced = seen(&["--index-info"]);
            for (o, v) in &st.values {
                if o != "--cacheinfo" {
                    continue;
                }
                match v.splitn(3, ',').collect::<Vec<_>>()[..] {
                    [mode, _, path] if !matches!(mode, "120000" | "160000") => {
                        e.writes.push(WritePath {
                            path: Word {
                                text: path.to_string(),
                                literal: true,
                            },
                            dirs: e.dirs.clone(),
                        });
                    }
                    _ => unplaced = true,
                }
            }
            if unplaced {
                e.writes.push(WritePath {
                    path: Word {
                        text: ".git/index".into(),
                        literal: true,
                    },
                    dirs: e.dirs.clone(),
                });
            }
        }
        // A bundle's objects and refs come from a file, as a fetch would
        // bring them.
        "git bundle unbundle" => {
            e.writes.push(WritePath {
                path: Word {
                    text: ".git/objects".into(),
                    literal: true,
                },
                dirs: e.dirs.clone(),
            });
        }
        // git matches a worktree by the last part of its path: `git
        // worktree remove -f -f NAME` removes another slot's worktree
        // (corral's are named by slot id), wherever it lies.
        "git worktree remove" | "git worktree move" => {
            for (w, _) in operands.iter().take(1) {
                e.elsewhere.push(format!(
                    "{name} {} (git finds the worktree by name, wherever it is)",
                    w.text
                ));
            }
        }
        // A branch is shared by every worktree of the repository: moving
        // it by hand rewinds another slot's work (git refuses `branch -f`
        // on a branch checked out elsewhere; update-ref does not check).
        "git update-ref" => {
            if let Some((w, _)) = operands
                .iter()
                .find(|(w, _)| w.text.starts_with("refs/heads/") || !w.text.contains('/'))
            {
                e.elsewhere.push(format!(
                    "{name} {} (a branch every worktree shares)",
                    w.text
                ));
            }
        }
        // With no command they start $SHELL, which runs what it reads
        // (`fakeroot < f`, `unshare -r < f`, `script -q < f`).
        "script" if !seen(&["-c", "--command"]) => {
            e.code
                .push("script without -c (it starts $SHELL, which runs its input)".into());
        }
        "unshare" | "fakeroot"
            if operands.is_empty() && !seen(&["-h", "--help", "-V", "--version", "-v"]) =>
        {
            e.code.push(format!(
                "{name} without a command (it starts $SHELL, which runs its input)"
            ));
        }
        // A package by URL or git remote: fetched from that host (and
        // `pack` runs its prepare script).
        "npm pack" | "npm view" | "npm info" | "npm show" | "npm v" | "yarn info" => {
            for (w, _) in operands {
                let t = w.text.as_str();
                if t.contains("://")
                    || [
                        "git+",
                        "git:",
                        "github:",
                        "gitlab:",
                        "bitbucket:",
                        "gist:",
                        "file:",
                    ]
                    .iter()
                    .any(|p| t.starts_with(p))
                    || !w.literal
                {
                    e.network
                        .push(format!("{name} {t} (a package from that place)"));
                    if name == "npm pack" {
                        e.code
                            .push(format!("{name} {t} (runs the package's prepare script)"));
                    }
                }
            }
        }
        "compileall" if operands.is_empty() || seen(&["-i"]) => {
            e.unknown.push(
                "compileall without a directory, or with -i (it writes __pycache__ beside sources corral cannot see: sys.path's, a list's)"
                    .into(),
            );
        }
        // The starting points come from a file: what -delete deletes is
        // not on the line.
        "find" if seen(&["-files0-from"]) && seen(&["-delete"]) => {
            e.unknown
                .push("find -files0-from with -delete (the paths deleted are in a file)".into());
        }
        "git fetch" => {
            if let Some((w, _)) = operands.first()
                && (w.text.contains(':') || w.text.contains('/') || w.text.starts_with('.'))
            {
                e.network
                    .push(format!("{name} {} (a repository by URL or path)", w.text));
            }
        }
        // `deno test URL` / `deno bench npm:x` run code from elsewhere.
        "deno test" | "deno bench" => {
            for (w, _) in operands {
                if w.text.contains("://")
                    || ["npm:", "jsr:", "http:", "https:"]
                        .iter()
                        .any(|x| w.text.starts_with(x))
                {
                    e.code
                        .push(format!("{name} {} (code from elsewhere)", w.text));
                }
            }
        }
        "curl" | "wget" => {
            for (w, dirs) in operands {
                if !w.literal {
                    e.network
                        .push(format!("{name} {} (a URL the shell expands)", w.text));
                }
                if let Some((scheme, _)) = w.text.split_once("://")
                    && !matches!(
                        scheme.to_ascii_lowercase().as_str(),
                        "http" | "https" | "ftp" | "ftps"
                    )
                {
                    e.network
                        .push(format!("{name} {} (a {scheme}:// URL)", w.text));
                }
                // The file named by the URL, in the directory in force
                // (under wget's -P or curl's --output-dir).
                let named = name == "wget" && !seen(&["-O", "--output-document", "--spider"])
                    || name == "curl" && seen(&["-O", "--remote-name", "--remote-name-all"]);
                if named {
                    match url_file_name(name, &w.text, &value(&["--default-page"])) {
                        Some(file) => {
                            let prefix = value(if name == "wget" {
                                &["-P", "--directory-prefix"]
                            } else {
                                &["--output-dir"]
                            });
                            let text = match prefix {
                                Some(d) => format!("{}/{file}", d.trim_end_matches('/')),
                                None => file,
                            };
                            e.writes.push(WritePath {
                                path: Word {
                                    text,
                                    literal: w.literal,
                                },
                                dirs: dirs.clone(),
                            });
                        }
                        None => e.extracts.push(WritePath {
                            path: dot(),
                            dirs: dirs.clone(),
                        }),
                    }
                }
            }
            // wget's -i: the URLs, so the names, are in a file. -x and
            // --protocol-directories make directories named by the host.
            if name == "wget"
                && !seen(&["-O", "--output-document", "--spider"])
                && seen(&[
                    "-i",
                    "--input-file",
                    "-x",
                    "--force-directories",
                    "--protocol-directories",
                ])
            {
                e.extracts.push(WritePath {
                    path: dot(),
                    dirs: e.dirs.clone(),
                });
            }
            let server_names = name == "curl" && seen(&["-J", "--remote-header-name"])
                || name == "wget"
                    && seen(&[
                        "-r",
                        "--recursive",
                        "-m",
                        "--mirror",
                        "-p",
                        "--page-requisites",
                        "--content-disposition",
                        "--trust-server-names",
                    ]);
            if server_names {
                e.extracts.push(WritePath {
                    path: dot(),
                    dirs: e.dirs.clone(),
                });
            }
        }
        // awk's first operand is its program (unless -f names a file).
        "awk" | "gawk" | "mawk" | "nawk" | "busybox-awk" => {
            if !seen(&["-f", "--file", "-e", "--source", "-i", "--include"])
                && let Some((w, _)) = operands.first()
            {
                e.code.push(format!("{name} program {:?}", w.text));
            }
        }
        "csplit" | "split" => {
            // Output files are PREFIX + SUFFIX, both of which may hold `/`.
            let prefix = if name == "csplit" {
                value(&["-f", "--prefix"]).unwrap_or_else(|| "xx".into())
            } else if operands.len() > 1 {
                operands[operands.len() - 1].0.text.clone()
            } else {
                "x".into()
            };
            let suffix = if name == "csplit" {
                value(&["-b", "--suffix-format"]).unwrap_or_else(|| "00".into())
            } else {
                format!("aa{}", value(&["--additional-suffix"]).unwrap_or_default())
            };
            e.writes.push(WritePath {
                path: Word {
                    text: format!("{prefix}{}", suffix.replace('%', "")),
                    literal: true,
                },
                dirs: e.dirs.clone(),
            });
        }
        // ruff keeps its cache in the project root of the files it reads
        // (ruff 0.17): one outside the workspace gets a `.ruff_cache`,
        // or whatever that project's `cache-dir` says.
        "ruff check" | "ruff format"
            if !st
                .seen
                .iter()
                .any(|o| matches!(o.as_str(), "--no-cache" | "-n")) =>
        {
            for (w, dirs) in operands {
                if w.text.starts_with(['/', '~']) || w.text.contains("..") || !w.literal {
                    e.writes.push(WritePath {
                        path: w.clone(),
                        dirs: dirs.clone(),
                    });
                }
            }
        }
        "rsync" => {
            if let Some((w, _)) = operands.iter().find(|(w, _)| remote(&w.text)) {
                e.network.push(format!("rsync {} (another host)", w.text));
            }
        }
        "make" => {
            // A special variable (`.DEFAULT_GOAL`, `.EXTRA_PREREQS`,
            // `.SHELLFLAGS` ...) set on the command line steers what make
            // builds or how it runs recipes (GNU make 4.3).
            if let Some((w, _)) = operands.iter().find(|(w, _)| {
                w.text
                    .split_once('=')
                    .is_some_and(|(var, _)| var.trim_start().starts_with('.'))
            }) {
                e.code.push(format!("make {} (a special variable)", w.text));
            }
            for (w, _) in operands {
                if let Some((var, value)) = w.text.split_once('=') {
                    let steer = matches!(
                        var.trim_end_matches([':', '+', '?']),
                        "SHELL"
                            | ".SHELLFLAGS"
                            | "MAKEFLAGS"
                            | "MAKEFILES"
                            | "MAKE"
                            | "MFLAGS"
                            | "GNUMAKEFLAGS"
                    );
                    // A value is pasted into the recipe's shell line:
                    // shell syntax in it runs (`CC='cd ..;touch x;true'`),
                    // and a program-naming variable runs what it names.
                    let shell_syntax = value.contains([
                        ';', '&', '|', '`', '$', '(', ')', '<', '>', '\n', '\'', '"', '\\',
                    ]);
                    let names_program =
                        MAKE_PROGRAMS.contains(&var.trim_end_matches([':', '+', '?']));
                    if steer || value.contains('/') || !w.literal || shell_syntax || names_program {
                        e.code.push(format!(
                            "make {} (a variable that names a program or holds shell syntax)",
                            w.text
                        ));
                    }
                }
            }
        }
        "go run" | "go test" | "go build" | "go install" | "go vet" | "go generate" | "go get" => {
            // `example.com/x/cmd@latest`: a module from the network.
            if let Some((w, _)) = operands.iter().find(|(w, _)| {
                !w.text.starts_with(['.', '/', '-'])
                    && (w.text.contains('@')
                        || w.text
                            .split('/')
                            .next()
                            .is_some_and(|h| h.contains('.') && w.text.contains('/')))
            }) {
                e.code
                    .push(format!("{name} {} (a module from the network)", w.text));
            }
        }
        // less's `+CMD` operands run at start (`+!cmd` runs a shell
        // command); `+G`, `+F`, `+N` and `+/pattern` only move.
        "less" | "more" => {
            if let Some((w, _)) = operands.iter().find(|(w, _)| {
                w.text.strip_prefix('+').is_some_and(|c| {
                    !(matches!(c, "G" | "F" | "")
                        || c.chars().all(|d| d.is_ascii_digit())
                        || c.starts_with('/') && !c.contains('!'))
                })
            }) {
                e.code
                    .push(format!("{name} {} (a command run at start)", w.text));
            }
        }
        "node" if operands.first().is_some_and(|(w, _)| w.text == "inspect") => {
            e.code
                .push("node inspect (a debugger that runs what it reads)".into());
        }
        "git pull" => {
            if let Some((w, _)) = operands.first().filter(|(w, _)| {
                w.text.contains("://")
                    || remote(&w.text)
                    || w.text.starts_with('/')
                    || w.text.starts_with('.')
            }) {
                e.extracts.push(WritePath {
                    path: Word {
                        text: ".".into(),
                        literal: true,
                    },
                    dirs: e.dirs.clone(),
                });
                e.network.push(format!(
                    "git pull {} (history from a repository that is not a remote)",
                    w.text
                ));
            }
        }
        // Flags bundle (`-qs`, `-os`); with `o` the names are `set -o`'s.
        "shopt" => {
            let flags: String = operands
                .iter()
                .filter_map(|(w, _)| w.text.strip_prefix('-'))
                .collect();
            let sets = flags.contains(['s', 'u']);
            let safe: &[&str] = if flags.contains('o') {
                &SAFE_SET
            } else {
                &SAFE_SHOPT
            };
            if sets
                && let Some((w, _)) = operands
                    .iter()
                    .find(|(w, _)| !w.text.starts_with('-') && !safe.contains(&w.text.as_str()))
            {
                e.code.push(format!(
                    "shopt {} (changes how the shell reads later commands)",
                    w.text
                ));
            }
        }
        _ => {}
    }
}

/// The name `wget` or `curl -O` saves URL under, or None when it cannot be
/// told from the words.
///
/// Facts: GNU Wget 1.21.3 names the file after the URL's last path segment,
/// percent-decoded except for `/` and control characters (its default
/// `--restrict-file-names=unix`), or `--default-page` (`index.html`) when the
/// segment is empty; curl 7.88 (`-O`) uses the segment as written, and fails
/// on an empty one. The query and fragment are cut here: the name becomes
/// shorter, never a different protected name.
fn url_file_name(program: &str, url: &str, default_page: &Option<String>) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.split(['?', '#']).next().unwrap_or("");
    let segment = match path.split_once('/') {
        Some((_, p)) => p.rsplit('/').next().unwrap_or(""),
        None => "",
    };
    if program != "wget" {
        // curl expands `{a,b}` and `[1-3]` in a URL itself (unless -g):
        // the names are the expansions, not the text.
        if segment.contains(['{', '[']) {
            return None;
        }
        return Some(segment.to_string());
    }
    let segment = if segment.is_empty() {
        default_page.clone().unwrap_or_else(|| "index.html".into())
    } else {
        segment.to_string()
    };
    // Decode %XX the way wget does; a `/` or a control character stays
    // escaped. Anything that does not decode to text is not placed.
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = segment.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            if b == b'/' || b < 0x20 || b == 0x7f {
                out.extend_from_slice(&bytes[i..i + 3]);
            } else {
                out.push(b);
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
