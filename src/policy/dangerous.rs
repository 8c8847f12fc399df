//! The dangerous list: named, documented patterns for commands and writes
//! that an allow rule must not approve unless it names them.
//!
//! Each built-in entry checks the parsed, unquoted words of every simple
//! command, seeing through wrappers (`env`, `nice`, `nohup`, `timeout`,
//! `command`, `builtin`, `exec`, `time`, `stdbuf`, `ionice`, `sudo`, `doas`,
//! `xargs`, ...; see [`super::shell::layers`]), and every path the command
//! line writes (redirection targets, `tee` files, `cp`/`mv`/`install`/`ln`
//! destinations, `dd of=`, `sed -i` files, `curl -o` files). Most entries
//! also have a regular expression searched in the raw subject, the whole
//! dialog text and the code given to interpreters, because the same words
//! can hide in a `-c` string or an `ssh host '...'` argument. Pure: no I/O.

use super::shell::{self, ParsedCommand, SimpleCommand, Word, basename, layers};

/// A built-in dangerous pattern.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// Its name, used by `allow_dangerous`.
    pub name: &'static str,
    /// What it catches, in one line (README table, `corral policy test`).
    pub what: &'static str,
    /// Checked on the words of every command layer (`sudo rm -rf /` is
    /// checked as itself and as `rm -rf /`).
    pub words: Option<fn(&[&str]) -> bool>,
    /// Checked on every path the command line may write.
    pub writes: Option<fn(&str) -> bool>,
    /// Checked on the whole parsed line.
    pub line: Option<fn(&ParsedCommand) -> bool>,
    /// Searched in the raw subject, the dialog text and inline code.
    pub text: Option<&'static str>,
}

const fn entry(name: &'static str, what: &'static str) -> Builtin {
    Builtin {
        name,
        what,
        words: None,
        writes: None,
        line: None,
        text: None,
    }
}

/// The built-in list. Documented in README.md; extended by `[[dangerous]]`.
pub const BUILTIN: [Builtin; 28] = [
    Builtin {
        words: Some(rm_critical),
        text: Some(
            r#"\brm\s+(?:[^|;&\n]*\s)?-(?:[a-zA-Z]*[rR][a-zA-Z]*|-recursive)\b[^|;&\n]*\s["']?(?:/|/\*|~|~/|~/\*|\$HOME|\$\{HOME\}|\$HOME/|\.\.|\.\./|\.|\*|\./\*|/etc|/usr|/var|/home)["']?(?:\s|$|[;&|"')])"#,
        ),
        ..entry(
            "rm-rf-root",
            "recursive delete (rm -r, rsync --delete) of /, ~, $HOME, a home or system directory, ., .., * or a bare variable",
        )
    },
    Builtin {
        words: Some(mv_critical),
        ..entry(
            "mv-critical",
            "moving /, ~, a home or system directory, . or .. away, or moving files to /dev/null",
        )
    },
    Builtin {
        words: Some(find_delete),
        text: Some(r"\bfind\b[^|;&\n]*\s-(?:delete|exec(?:dir)?\s+(?:\S*/)?(?:rm|shred|unlink)\b)"),
        ..entry(
            "find-delete",
            "find -delete, or find -exec running rm, shred, a shell ...",
        )
    },
    Builtin {
        words: Some(xargs_delete),
        text: Some(r"\bxargs\b[^|;&\n]*\b(?:rm|shred|unlink|rmdir)\b"),
        ..entry(
            "xargs-delete",
            "xargs running rm, shred, unlink, rmdir, mv, chmod or a shell",
        )
    },
    Builtin {
        words: Some(shred),
        text: Some(r"\b(?:shred|wipefs|blkdiscard)\b"),
        ..entry(
            "shred-wipe",
            "shred, wipefs, blkdiscard: unrecoverable erasure",
        )
    },
    Builtin {
        words: Some(mkfs),
        text: Some(r"\b(?:mkfs(?:\.\w+)?|mke2fs|mkswap)\b"),
        ..entry(
            "mkfs",
            "making a file system or partition table (mkfs*, mkswap, fdisk, parted ...)",
        )
    },
    Builtin {
        words: Some(dd_of),
        text: Some(r"\bdd\b[^|;&\n]*\bof="),
        ..entry("dd-of", "dd writing to a file or device (of=)")
    },
    Builtin {
        writes: Some(raw_disk),
        text: Some(r">\s*/dev/(?:sd|nvme|hd|vd|xvd|mmcblk|disk|rdisk)"),
        ..entry(
            "raw-disk-write",
            "writing to a raw disk device (/dev/sd*, /dev/nvme*, /dev/disk* ...)",
        )
    },
    Builtin {
        words: Some(privilege),
        text: Some(r"(?:^|[\s;&|(`'])(?:sudo|doas|pkexec|su)(?:\s|$)"),
        ..entry(
            "sudo",
            "running as another user: sudo, doas, su, pkexec, runuser, run0",
        )
    },
    Builtin {
        words: Some(eval),
        ..entry("eval", "eval: running a string as shell code")
    },
    Builtin {
        line: Some(download_exec),
        text: Some(
            r"\b(?:curl|wget|fetch)\b[^|;&\n]*\|\s*(?:sudo\s+)?(?:env\s+)?(?:ba|z|k|da|fi)?sh\b|\bbase64\s+(?:-d|--decode)\b[^|;&\n]*\|\s*(?:ba|z|k|da)?sh\b",
        ),
        ..entry(
            "pipe-to-shell",
            "download or decode, then run: curl|sh, wget -O- | bash, bash <(curl ..), sh -c \"$(curl ..)\", base64 -d | sh",
        )
    },
    Builtin {
        words: Some(git_push_force),
        text: Some(
            r"\bgit\s+push\b[^;&|\n]*\s(?:--force\S*|-[a-zA-Z]*f\b|--mirror\b|--delete\b|\+\S)",
        ),
        ..entry(
            "git-push-force",
            "git push that rewrites or deletes remote history: --force, -f, --force-with-lease, +refspec, --mirror, --delete, :branch",
        )
    },
    Builtin {
        words: Some(git_reset_hard),
        text: Some(r"\bgit\s+reset\b[^;&|\n]*--hard\b"),
        ..entry(
            "git-reset-hard",
            "discarding uncommitted work: git reset --hard/--merge, git checkout -- PATH (or . or -f), git restore PATH, git switch -f/--discard-changes, git stash drop/clear",
        )
    },
    Builtin {
        words: Some(git_clean),
        text: Some(r"\bgit\s+clean\b[^;&|\n]*\s-[a-zA-Z]*f"),
        ..entry(
            "git-clean",
            "git clean -f (-d, -x): deletes untracked and ignored files",
        )
    },
    Builtin {
        words: Some(git_rewrite),
        text: Some(r"\bgit\s+(?:filter-branch|filter-repo)\b"),
        ..entry(
            "git-filter-branch",
            "rewriting or losing git history: filter-branch, filter-repo, reflog expire, update-ref -d, gc --prune=now, prune, submodule deinit -f",
        )
    },
    Builtin {
        words: Some(git_config_exec),
        writes: Some(git_hook_path),
        text: Some(r"\.git/hooks/|core\.hooksPath"),
        ..entry(
            "git-hooks-write",
            "writing .git/hooks or .git/config (also of submodules), or .envrc, or git config that runs commands (core.hooksPath, core.fsmonitor, core.sshCommand, aliases, include.path, *.program, credential helpers ...)",
        )
    },
    Builtin {
        words: Some(chmod_open),
        text: Some(r"\bchmod\s+(?:-[a-zA-Z]*R[a-zA-Z]*\s+0?777|0?777\s+-[a-zA-Z]*R)\b"),
        ..entry(
            "chmod-777-recursive",
            "chmod making files world-writable or setuid (777, a+rwx, o+w, u+s) recursively or on a critical path, or chmod -R on one",
        )
    },
    Builtin {
        words: Some(chown_recursive),
        ..entry(
            "chown-recursive",
            "chown or chgrp recursive, or on a critical path",
        )
    },
    Builtin {
        words: Some(crontab),
        ..entry(
            "crontab",
            "crontab -r (remove) or installing a crontab (anything but -l)",
        )
    },
    Builtin {
        writes: Some(home_dotfile),
        text: Some(
            r#"(?:^|[\s>"'=])(?:~|\$HOME|\$\{HOME\}|/root|/home/[^/\s]+|/Users/[^/\s]+)/\.(?:bash|zsh|profile|ssh|config|local|gnupg|aws|kube|netrc|gitconfig|npmrc|pypirc|docker)"#,
        ),
        ..entry(
            "home-dotfile-write",
            "writing a dot-file in a home directory (~/.bashrc, ~/.ssh/..., ~/.profile, $HOME/.x)",
        )
    },
    Builtin {
        writes: Some(bin_dir),
        ..entry(
            "bin-dir-write",
            "writing into ~/bin, ~/.local/bin or another bin directory outside the project",
        )
    },
    Builtin {
        writes: Some(system_path),
        ..entry(
            "system-write",
            "writing under /etc, /usr, /bin, /boot, /var, /opt, /Library ... (system files)",
        )
    },
    Builtin {
        line: Some(interpreter_destructive),
        text: None,
        ..entry(
            "interpreter-destructive",
            "interpreter one-liner that deletes or runs commands (shutil.rmtree, fs.rmSync, system(), subprocess ...)",
        )
    },
    Builtin {
        text: Some(
            r":\s*\(\)\s*\{\s*:\s*\|\s*:\s*&|\b(\w+)\s*\(\)\s*\{[^}]*\|[^}]*&\s*;?\s*\}|fork\s+while\s+fork",
        ),
        ..entry("fork-bomb", "a fork bomb (:(){ :|:& };:)")
    },
    Builtin {
        words: Some(sed_exec),
        ..entry(
            "sed-exec",
            "GNU sed running its pattern space as a command (s///e, the e command)",
        )
    },
    Builtin {
        words: Some(shutdown),
        text: Some(r"(?:^|[\s;&|(])(?:shutdown|reboot|halt|poweroff)(?:\s|$)"),
        ..entry(
            "shutdown",
            "shutdown, reboot, halt, poweroff, init 0/6, systemctl poweroff",
        )
    },
    Builtin {
        words: Some(kill_all),
        text: Some(r"\bkill\s+(?:-\S+\s+)*-1\b"),
        ..entry(
            "kill-all",
            "killing every process or a process group: kill -9 -1 (also -01), kill 1 (init), kill 0 or a negative group id, killall, killall5, pkill",
        )
    },
    Builtin {
        words: Some(firewall_or_history),
        text: Some(
            r"\b(?:iptables|ip6tables)\s+(?:-t\s+\S+\s+)?(?:-F|--flush)\b|\bhistory\s+-c\b|\bunset\s+HISTFILE\b",
        ),
        ..entry(
            "firewall-or-history",
            "flushing the firewall (iptables -F, nft flush, ufw disable) or erasing shell history (history -c, unset HISTFILE)",
        )
    },
];

/// The names of the built-in patterns.
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    BUILTIN.iter().map(|b| b.name)
}

fn is_opt(a: &str) -> bool {
    a.starts_with('-') && a.len() > 1
}

/// Short-option clusters and long options before `--`, and the operands.
fn split(args: &[&str]) -> (Vec<String>, Vec<String>) {
    let mut opts = Vec::new();
    let mut ops = Vec::new();
    let mut end = false;
    for a in args {
        if !end && *a == "--" {
            end = true;
        } else if !end && is_opt(a) {
            opts.push((*a).to_string());
        } else {
            ops.push((*a).to_string());
        }
    }
    (opts, ops)
}

fn has_short(opts: &[String], letters: &[char]) -> bool {
    opts.iter()
        .any(|o| !o.starts_with("--") && o[1..].chars().any(|c| letters.contains(&c)))
}

fn has_long(opts: &[String], names: &[&str]) -> bool {
    opts.iter().any(|o| {
        names
            .iter()
            .any(|n| o == n || o.starts_with(&format!("{n}=")))
    })
}

fn name<'a>(w: &[&'a str]) -> &'a str {
    w.first().map(|n| basename(n)).unwrap_or_default()
}

/// Normalizes a path for matching: the home directory in any spelling
/// becomes `~`, `//` and `./` parts go, a trailing `/` goes.
pub fn norm_path(p: &str) -> String {
    let mut s = p.to_string();
    for home in ["${HOME}", "$HOME", "~+/.."] {
        if let Some(rest) = s.strip_prefix(home) {
            s = format!("~{rest}");
        }
    }
    for prefix in ["/root", "/home/", "/Users/"] {
        if let Some(rest) = s.strip_prefix(prefix) {
            let rest = if prefix.ends_with('/') {
                match rest.split_once('/') {
                    Some((_, r)) => format!("/{r}"),
                    None => String::new(),
                }
            } else if rest.is_empty() || rest.starts_with('/') {
                rest.to_string()
            } else {
                continue;
            };
            s = format!("~{rest}");
            break;
        }
    }
    while s.contains("//") {
        s = s.replace("//", "/");
    }
    while s.contains("/./") {
        s = s.replace("/./", "/");
    }
    while let Some(rest) = s.strip_prefix("./") {
        s = rest.to_string();
    }
    if (s.starts_with('/') || s.starts_with("~/")) && s.contains("..") {
        // `/tmp/../etc` is `/etc`: resolve `..` by text.
        let (root, rest) = s.split_at(1);
        let mut parts: Vec<&str> = Vec::new();
        for part in rest.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                p => parts.push(p),
            }
        }
        s = format!("{root}/{}", parts.join("/"));
    } else if s.contains("..") {
        // `.git/objects/../hooks` is `.git/hooks`; a `..` that climbs out of
        // the start is kept.
        let mut parts: Vec<&str> = Vec::new();
        for part in s.split('/') {
            match part {
                "" | "." => {}
                ".." if parts.last().is_some_and(|p| *p != "..") => {
                    parts.pop();
                }
                p => parts.push(p),
            }
        }
        s = parts.join("/");
    }
    if s.len() > 1 {
        while s.ends_with('/') || s.ends_with("/.") {
            s = s.trim_end_matches('/').trim_end_matches("/.").to_string();
        }
    }
    s
}

const SYSTEM_DIRS: [&str; 24] = [
    "etc",
    "usr",
    "var",
    "bin",
    "sbin",
    "lib",
    "lib32",
    "lib64",
    "libx32",
    "boot",
    "opt",
    "root",
    "srv",
    "dev",
    "proc",
    "sys",
    "snap",
    "nix",
    "System",
    "Library",
    "Applications",
    "private",
    "home",
    "Users",
];

/// Whether deleting, moving or chmod-ing this path recursively is
/// catastrophic: `/`, `~` and anything under it, `$VAR`, `.`, `..`, `*`,
/// top-level and system directories.
pub fn critical_path(p: &str) -> bool {
    let mut s = norm_path(p);
    // `/*`, `~/*`, `./*`, `*` itself: the directory's whole content.
    loop {
        let t = s
            .trim_end_matches("/*")
            .trim_end_matches("/.*")
            .trim_end_matches('/')
            .to_string();
        if t == s {
            break;
        }
        s = t;
    }
    if matches!(
        s.as_str(),
        "" | "/" | "~" | "." | ".." | "*" | ".*" | "./*" | "?*" | "*/"
    ) {
        return true;
    }
    if s.starts_with('~') || s == ".." || s.starts_with("../") {
        return true;
    }
    if let Some(rest) = s.strip_prefix('$') {
        // A bare variable (`$X`, `${X}`, `$X/`): its value is unknown.
        let name_len = if let Some(r) = rest.strip_prefix('{') {
            r.find('}').map_or(rest.len(), |i| i + 2)
        } else {
            rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len())
        };
        let after = rest.get(name_len..).unwrap_or_default();
        return after.trim_matches(|c| c == '/' || c == '*').is_empty();
    }
    if let Some(abs) = s.strip_prefix('/') {
        let parts: Vec<&str> = abs.split('/').filter(|x| !x.is_empty()).collect();
        return match parts.first() {
            None => true,
            Some(_) if parts.len() == 1 => true,
            Some(first) => SYSTEM_DIRS.contains(first) && !matches!(parts.get(1), Some(&"tmp")),
        };
    }
    false
}

fn rm_critical(w: &[&str]) -> bool {
    let args = w.get(1..).unwrap_or_default();
    match name(w) {
        "rm" => {
            let (opts, ops) = split(args);
            (has_short(&opts, &['r', 'R']) || has_long(&opts, &["--recursive"]))
                && ops.iter().any(|o| critical_path(o))
        }
        "rsync" => {
            let (opts, ops) = split(args);
            opts.iter()
                // `--del` is rsync's own alias of --delete-during.
                .any(|o| o.starts_with("--del") || o.starts_with("--remove"))
                && ops.last().is_some_and(|o| critical_path(o))
        }
        // Recursive by nature (npm's rimraf, del-cli).
        "rimraf" | "del" | "del-cli" => split(args).1.iter().any(|o| critical_path(o)),
        _ => false,
    }
}

fn mv_critical(w: &[&str]) -> bool {
    if name(w) != "mv" {
        return false;
    }
    let (_, ops) = split(w.get(1..).unwrap_or_default());
    let Some((dest, sources)) = ops.split_last() else {
        return false;
    };
    dest == "/dev/null" || sources.iter().any(|o| critical_path(o))
}

fn find_delete(w: &[&str]) -> bool {
    if name(w) != "find" {
        return false;
    }
    w.iter().enumerate().any(|(i, a)| {
        *a == "-delete"
            || (matches!(*a, "-exec" | "-execdir" | "-ok" | "-okdir")
                && w.get(i + 1).is_some_and(|c| {
                    let c = basename(c);
                    DESTRUCTIVE.contains(&c) || shell::is_shell(c)
                }))
    })
}

/// Commands that delete or change files or processes wholesale.
const DESTRUCTIVE: [&str; 10] = [
    "rm", "rmdir", "unlink", "shred", "mv", "chmod", "chown", "dd", "truncate", "kill",
];

fn xargs_delete(w: &[&str]) -> bool {
    if name(w) != "xargs" {
        return false;
    }
    let layers = layers(w);
    layers.get(1).is_some_and(|next| {
        let n = name(next);
        DESTRUCTIVE.contains(&n) || shell::is_shell(n)
    })
}

fn shred(w: &[&str]) -> bool {
    matches!(name(w), "shred" | "wipefs" | "blkdiscard" | "srm")
}

fn mkfs(w: &[&str]) -> bool {
    let n = name(w);
    n.starts_with("mkfs")
        || matches!(
            n,
            "mke2fs"
                | "mkswap"
                | "fdisk"
                | "sfdisk"
                | "cfdisk"
                | "parted"
                | "sgdisk"
                | "gdisk"
                | "newfs"
        )
        || (n == "diskutil"
            && w.iter()
                .any(|a| a.starts_with("erase") || *a == "partitionDisk"))
}

fn dd_of(w: &[&str]) -> bool {
    name(w) == "dd" && w.iter().any(|a| a.starts_with("of="))
}

fn raw_disk(p: &str) -> bool {
    [
        "sd", "nvme", "hd", "vd", "xvd", "mmcblk", "disk", "rdisk", "mapper/", "dm-", "md", "loop",
        "sr",
    ]
    .iter()
    .any(|d| p.starts_with(&format!("/dev/{d}")))
}

fn privilege(w: &[&str]) -> bool {
    matches!(
        name(w),
        "sudo" | "doas" | "su" | "pkexec" | "runuser" | "run0" | "sudoedit" | "gosu" | "su-exec"
    )
}

fn eval(w: &[&str]) -> bool {
    name(w) == "eval"
}

/// Commands that fetch or decode data that may be code.
fn is_fetch(w: &[&str]) -> bool {
    let args = w.get(1..).unwrap_or_default();
    match name(w) {
        "curl" | "wget" | "fetch" | "aria2c" | "http" | "https" | "xh" | "lwp-request" | "GET"
        | "nc" | "ncat" | "socat" | "lynx" | "links" => true,
        "base64" | "base32" | "basenc" => {
            args.iter().any(|a| matches!(*a, "-d" | "--decode" | "-D"))
        }
        "xxd" => args.iter().any(|a| a.starts_with("-r")),
        "openssl" => args.iter().any(|a| *a == "-d" || *a == "base64"),
        "uudecode" | "gunzip" | "zcat" => true,
        _ => false,
    }
}

/// Commands that run code: shells, interpreters, `eval`, `source`.
fn is_exec(w: &[&str]) -> bool {
    let n = name(w);
    let words: Vec<Word> = w
        .iter()
        .map(|t| Word {
            text: (*t).to_string(),
            literal: true,
        })
        .collect();
    shell::is_shell(n)
        || matches!(
            n,
            "eval" | "source" | "." | "python" | "python3" | "node" | "perl" | "ruby" | "php"
        )
        || shell::inline_code(&words).is_some()
}

fn command_layers(c: &SimpleCommand) -> Vec<Vec<&str>> {
    let words = c.words();
    layers(&words).iter().map(|l| l.to_vec()).collect()
}

fn download_exec(p: &ParsedCommand) -> bool {
    let all: Vec<Vec<&str>> = p.simple.iter().flat_map(command_layers).collect();
    all.iter().any(|l| is_fetch(l)) && all.iter().any(|l| is_exec(l))
}

/// Git's subcommand and its arguments, after global options.
fn git_sub<'a>(w: &[&'a str]) -> Option<(&'a str, Vec<&'a str>)> {
    if name(w) != "git" {
        return None;
    }
    let mut i = 1;
    while let Some(a) = w.get(i) {
        if matches!(
            *a,
            "-C" | "-c" | "--git-dir" | "--work-tree" | "--namespace" | "--exec-path"
        ) {
            i += 2;
        } else if a.starts_with('-') {
            i += 1;
        } else {
            return Some((a, w.get(i + 1..).unwrap_or_default().to_vec()));
        }
    }
    None
}

fn git_push_force(w: &[&str]) -> bool {
    let Some(("push", args)) = git_sub(w) else {
        return false;
    };
    let (opts, ops) = split(&args);
    has_short(&opts, &['f', 'd'])
        || has_long(
            &opts,
            &[
                "--force",
                "--force-with-lease",
                "--force-if-includes",
                "--mirror",
                "--delete",
                "--prune",
            ],
        )
        || ops
            .iter()
            .skip(1)
            .any(|r| r.starts_with('+') || r.starts_with(':'))
}

fn git_reset_hard(w: &[&str]) -> bool {
    match git_sub(w) {
        Some(("reset", args)) => args.iter().any(|a| *a == "--hard" || *a == "--merge"),
        // `git checkout -- .`, `git checkout .`, `git checkout -f`: working
        // tree files overwritten from the index. A branch switch alone
        // (`git checkout main`) keeps local changes or refuses.
        Some(("checkout", args)) => {
            let (opts, ops) = split(&args);
            has_short(&opts, &['f'])
                || has_long(&opts, &["--force", "--ours", "--theirs"])
                || args
                    .iter()
                    .position(|a| *a == "--")
                    .is_some_and(|i| i + 1 < args.len())
                || ops.iter().any(|o| {
                    matches!(o.as_str(), "." | "*" | "./" | ":/" | "..") || o.starts_with("./")
                })
        }
        Some(("restore", args)) => {
            let (opts, _) = split(&args);
            // Only `--staged` alone leaves the working tree.
            !(has_long(&opts, &["--staged"]) || has_short(&opts, &['S']))
                || has_long(&opts, &["--worktree"])
                || has_short(&opts, &['W'])
        }
        Some(("switch", args)) => {
            let (opts, _) = split(&args);
            has_short(&opts, &['f']) || has_long(&opts, &["--force", "--discard-changes"])
        }
        Some(("stash", args)) => matches!(args.first(), Some(&"drop" | &"clear")),
        _ => false,
    }
}

fn git_clean(w: &[&str]) -> bool {
    let Some(("clean", args)) = git_sub(w) else {
        return false;
    };
    let (opts, _) = split(&args);
    has_short(&opts, &['f']) || has_long(&opts, &["--force"])
}

fn git_rewrite(w: &[&str]) -> bool {
    match git_sub(w) {
        Some(("filter-branch" | "filter-repo", _)) => true,
        Some(("reflog", args)) => {
            args.first() == Some(&"expire") || args.first() == Some(&"delete")
        }
        Some(("update-ref", args)) => args.contains(&"-d"),
        // Unreachable commits go for good (after `branch -D`, a reset):
        // the reflog no longer saves them.
        Some(("gc", args)) => args
            .iter()
            .any(|a| matches!(*a, "--prune=now" | "--prune=all") || *a == "--prune"),
        Some(("prune", args)) => !args.iter().any(|a| matches!(*a, "-n" | "--dry-run")),
        // `submodule deinit -f` throws away a submodule's uncommitted work.
        Some(("submodule", args)) => {
            args.first() == Some(&"deinit") && args.iter().any(|a| matches!(*a, "-f" | "--force"))
        }
        _ => false,
    }
}

/// Git config keys whose value is a command or a hooks directory.
fn exec_key(k: &str) -> bool {
    let k = k.to_ascii_lowercase();
    k == "core.hookspath"
        || k == "core.fsmonitor"
        || k == "core.sshcommand"
        || k == "core.pager"
        || k == "core.editor"
        || k.starts_with("alias.")
        || k.ends_with(".command")
        || k.starts_with("filter.")
        || k.ends_with(".textconv")
        || (k.starts_with("credential.") && k.ends_with(".helper"))
        || k == "credential.helper"
        || k.starts_with("include.")
        || k.starts_with("includeif.")
        || k.ends_with(".program")
        || k.ends_with(".cmd")
        || k.ends_with(".tool")
        || k.ends_with("askpass")
        || k.ends_with(".editor")
        || k.ends_with("proxy")
        || k == "diff.external"
        || k.ends_with(".receivepack")
        || k.ends_with(".uploadpack")
}

fn git_config_exec(w: &[&str]) -> bool {
    if name(w) != "git" {
        return false;
    }
    // `git -c key=value ...`
    let global = w
        .windows(2)
        .any(|p| p[0] == "-c" && exec_key(p[1].split('=').next().unwrap_or_default()));
    let config = matches!(git_sub(w), Some(("config", args)) if args.iter().any(|a| exec_key(a)));
    global || config
}

fn git_hook_path(p: &str) -> bool {
    // Case-insensitive: `.GIT/hooks` is `.git/hooks` on macOS and Windows.
    let p = norm_path(p).to_ascii_lowercase();
    let in_git = p.starts_with(".git/") || p.contains("/.git/") || p == ".git";
    p.contains(".git/hooks")
        || (in_git && (p.contains("/hooks/") || p.ends_with("/hooks") || p.ends_with("/config")))
        || p.ends_with(".git/config")
        || p.starts_with(".husky")
        // direnv runs it on entering the directory.
        || p == ".envrc"
        || p.ends_with("/.envrc")
}

/// Whether a chmod mode grants world write or setuid/setgid.
fn open_mode(m: &str) -> bool {
    if m.chars().all(|c| c.is_ascii_digit()) && !m.is_empty() {
        let digits: Vec<u32> = m.chars().filter_map(|c| c.to_digit(8)).collect();
        let other = digits.last().copied().unwrap_or(0);
        let special = if digits.len() == 4 { digits[0] } else { 0 };
        return other & 2 != 0 || special & 6 != 0;
    }
    m.split(',').any(|clause| {
        let who: String = clause.chars().take_while(|c| "ugoa".contains(*c)).collect();
        let rest = &clause[who.len()..];
        let grants = rest.starts_with('+') || rest.starts_with('=');
        let world = who.is_empty() || who.contains('a') || who.contains('o');
        grants && ((world && rest.contains('w')) || rest.contains('s'))
    })
}

fn chmod_open(w: &[&str]) -> bool {
    if name(w) != "chmod" {
        return false;
    }
    let (opts, ops) = split(w.get(1..).unwrap_or_default());
    // A symbolic mode like `-w` parses as an option; it removes rights.
    let recursive = has_short(&opts, &['R']) || has_long(&opts, &["--recursive"]);
    let Some((mode, targets)) = ops.split_first() else {
        return false;
    };
    let critical = targets.iter().any(|t| critical_path(t));
    (open_mode(mode) && (recursive || critical)) || (recursive && critical)
}

fn chown_recursive(w: &[&str]) -> bool {
    if !matches!(name(w), "chown" | "chgrp") {
        return false;
    }
    let (opts, ops) = split(w.get(1..).unwrap_or_default());
    has_short(&opts, &['R'])
        || has_long(&opts, &["--recursive"])
        || ops.iter().skip(1).any(|t| critical_path(t))
}

fn crontab(w: &[&str]) -> bool {
    name(w) == "crontab" && !w.contains(&"-l")
}

fn home_dotfile(p: &str) -> bool {
    // The home directory itself: a copy or an archive extracted into it can
    // put any dot-file there.
    let p = norm_path(p);
    p.starts_with("~/.") || p == "~"
}

fn bin_dir(p: &str) -> bool {
    let p = norm_path(p);
    (p.starts_with('~') || p.starts_with('/')) && p.split('/').any(|c| c == "bin" || c == "sbin")
}

fn system_path(p: &str) -> bool {
    let p = norm_path(p);
    if matches!(
        p.as_str(),
        "/dev/null" | "/dev/stdout" | "/dev/stderr" | "/dev/tty"
    ) || p.starts_with("/dev/fd/")
        || p.starts_with("/var/tmp/")
        || p.starts_with("/private/tmp/")
    {
        return false;
    }
    let first = p.strip_prefix('/').and_then(|r| r.split('/').next());
    first.is_some_and(|f| SYSTEM_DIRS.contains(&f) && f != "home" && f != "Users")
}

const DESTRUCTIVE_CODE: &str = r"(?i)rmtree|rmSync|rmdirSync|unlinkSync|rm_r\b|rm_rf|FileUtils\.rm|os\.remove|os\.unlink|os\.rmdir|os\.system|subprocess|child_process|execSync|spawnSync|\bspawn\b|\bsystem\s*\(|\bsystem\s+['\x22]|\bexec\s*\(|`|popen|shell_exec|passthru|proc_open|do shell script|File\.delete|Remove-Item|rimraf|\bunlink\b|Dir\.rmdir|rm\s+-|fs\.rm|\.truncate|Path\(.*\)\.unlink|\bkill\b";

fn interpreter_destructive(p: &ParsedCommand) -> bool {
    static RE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let Some(re) = RE.get_or_init(|| regex::Regex::new(DESTRUCTIVE_CODE).ok()) else {
        // Fail closed: a pattern that does not compile flags any inline code.
        return !p.inline_code.is_empty();
    };
    p.inline_code.iter().any(|c| re.is_match(c))
}

fn sed_exec(w: &[&str]) -> bool {
    if name(w) != "sed" {
        return false;
    }
    let scripts: Vec<&str> = w
        .iter()
        .skip(1)
        .filter(|a| !a.starts_with('-') || a.len() == 1)
        .copied()
        .chain(
            w.windows(2)
                .filter(|p| p[0] == "-e" || p[0] == "--expression")
                .map(|p| p[1]),
        )
        .collect();
    scripts.iter().any(|script| {
        script.split([';', '\n']).any(|cmd| {
            let cmd = cmd.trim_start();
            if cmd == "e" || cmd.starts_with("e ") {
                return true;
            }
            // `s<d>pattern<d>replacement<d>flags`: look for `e` in the flags.
            let mut chars = cmd.chars();
            match (chars.next(), chars.next()) {
                (Some('s'), Some(d)) if !d.is_alphanumeric() && d != ' ' => {
                    let parts: Vec<&str> = cmd[1 + d.len_utf8()..].split(d).collect();
                    parts.get(2).is_some_and(|flags| {
                        flags
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric())
                            .any(|c| c == 'e')
                    })
                }
                _ => false,
            }
        })
    })
}

fn shutdown(w: &[&str]) -> bool {
    let args = w.get(1..).unwrap_or_default();
    match name(w) {
        "shutdown" | "reboot" | "halt" | "poweroff" => true,
        "init" | "telinit" => args
            .iter()
            .any(|a| matches!(*a, "0" | "6" | "1" | "s" | "S")),
        "systemctl" | "loginctl" => args.iter().any(|a| {
            matches!(
                *a,
                "poweroff" | "reboot" | "halt" | "kexec" | "rescue" | "emergency" | "soft-reboot"
            )
        }),
        _ => false,
    }
}

fn kill_all(w: &[&str]) -> bool {
    match name(w) {
        "killall" | "killall5" | "pkill" => true,
        "kill" => {
            kill_pids(w.get(1..).unwrap_or_default())
                .iter()
                .any(|p| match p.parse::<i64>() {
                    // -1 every process, 0 and negatives a process group, 1 init.
                    Ok(n) => n <= 1,
                    Err(_) => !p.starts_with('%'),
                })
        }
        _ => false,
    }
}

/// The process ids of `kill`'s arguments: after a leading signal option
/// (`-9`, `-KILL`, `-s SIG`, `-n NUM`, `--signal SIG`) and `--`.
fn kill_pids<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut i = 0;
    let mut first = true;
    while let Some(a) = args.get(i) {
        match *a {
            "--" => {
                i += 1;
                break;
            }
            "-s" | "-n" | "--signal" => i += 2,
            "-l" | "-L" | "--list" | "--table" => return Vec::new(),
            a if first && a.starts_with('-') && a.len() > 1 => i += 1,
            _ => break,
        }
        first = false;
    }
    args.get(i..).unwrap_or_default().to_vec()
}

fn firewall_or_history(w: &[&str]) -> bool {
    let args = w.get(1..).unwrap_or_default();
    match name(w) {
        "iptables" | "ip6tables" | "iptables-legacy" | "iptables-nft" => args
            .iter()
            .any(|a| matches!(*a, "-F" | "--flush" | "-X" | "--delete-chain")),
        "nft" => args.contains(&"flush"),
        "ufw" => args.iter().any(|a| matches!(*a, "disable" | "reset")),
        "history" => args.iter().any(|a| a.starts_with("-c")),
        "unset" => args.contains(&"HISTFILE"),
        _ => false,
    }
}

/// Every path a command may write: redirection targets and the files or
/// destinations of `tee`, `cp`, `mv`, `install`, `ln`, `rsync`, `scp`,
/// `dd of=`, `sed -i`, `truncate`, `curl -o`, `wget -O`.
pub fn written_paths(c: &SimpleCommand) -> Vec<String> {
    let mut out: Vec<String> = c
        .redirects
        .iter()
        .filter(|r| r.writes_file())
        .map(|r| r.target.text.clone())
        .collect();
    for layer in command_layers(c) {
        let args = layer.get(1..).unwrap_or_default();
        let (opts, ops) = split(args);
        match name(&layer) {
            "tee" | "truncate" | "touch" => out.extend(ops),
            "cp" | "mv" | "install" | "ln" | "rsync" | "scp" | "ditto" => {
                // `-t DIR` names the destination; otherwise the last operand.
                let t = args
                    .windows(2)
                    .find(|p| p[0] == "-t")
                    .map(|p| p[1].to_string());
                let t = t.or_else(|| {
                    args.iter()
                        .find_map(|a| a.strip_prefix("--target-directory=").map(str::to_string))
                });
                out.extend(t.or_else(|| ops.last().cloned()));
            }
            // Extracting an archive writes into its target directory.
            // `tar -xf`, `tar --extract`, or old-style `tar xzf` (letters
            // only, first).
            "tar"
                if args.iter().any(|a| {
                    a.starts_with("--extract")
                        || a.starts_with("--get")
                        || (a.starts_with('-') && !a.starts_with("--") && a.contains('x'))
                }) || args.first().is_some_and(|a| {
                    a.contains('x') && a.chars().all(|c| c.is_ascii_alphabetic())
                }) =>
            {
                for (i, a) in args.iter().enumerate() {
                    if *a == "-C" || *a == "--directory" {
                        out.extend(args.get(i + 1).map(|s| (*s).to_string()));
                    } else if let Some(d) = a.strip_prefix("--directory=") {
                        out.push(d.to_string());
                    }
                }
            }
            "unzip" => {
                for (i, a) in args.iter().enumerate() {
                    if *a == "-d" {
                        out.extend(args.get(i + 1).map(|s| (*s).to_string()));
                    }
                }
            }
            "dd" => out.extend(
                args.iter()
                    .filter_map(|a| a.strip_prefix("of=").map(str::to_string)),
            ),
            "sed" | "perl"
                if opts.iter().any(|o| {
                    o.starts_with("-i")
                        || o.starts_with("--in-place")
                        || (o.starts_with('-') && !o.starts_with("--") && o.contains('i'))
                }) =>
            {
                out.extend(ops.iter().skip(1).cloned())
            }
            "curl" | "wget" => {
                for (i, a) in args.iter().enumerate() {
                    if matches!(*a, "-o" | "-O" | "--output" | "--output-document") {
                        out.extend(args.get(i + 1).map(|s| (*s).to_string()));
                    } else if let Some(p) = a
                        .strip_prefix("--output=")
                        .or_else(|| a.strip_prefix("--output-document="))
                    {
                        out.push(p.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// A configured `[[dangerous]]` pattern's view of a parsed line: the texts
/// its regex is searched in besides the subject and dialog (each simple
/// command's canonical text and each wrapper layer's words).
pub fn command_texts(p: &ParsedCommand) -> Vec<String> {
    let mut out = Vec::new();
    for c in &p.simple {
        out.push(c.canonical());
        for l in command_layers(c).iter().skip(1) {
            out.push(l.join(" "));
        }
    }
    out.extend(p.inline_code.iter().cloned());
    out
}

/// The built-in patterns a parsed line matches, by words, writes or line.
pub fn builtin_hits(p: &ParsedCommand) -> Vec<&'static str> {
    let mut hits = Vec::new();
    let writes: Vec<String> = p.simple.iter().flat_map(written_paths).collect();
    let all_layers: Vec<Vec<&str>> = p.simple.iter().flat_map(command_layers).collect();
    for b in &BUILTIN {
        let by_words = b.words.is_some_and(|f| all_layers.iter().any(|l| f(l)));
        let by_writes = b.writes.is_some_and(|f| writes.iter().any(|w| f(w)));
        let by_line = b.line.is_some_and(|f| f(p));
        if by_words || by_writes || by_line {
            hits.push(b.name);
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn critical_paths() {
        for p in [
            "/",
            "/*",
            "~",
            "~/",
            "~/*",
            "$HOME",
            "${HOME}/",
            "/home/bob",
            "/etc",
            "/usr/lib",
            ".",
            "..",
            "*",
            "./*",
            "../x",
            "$X",
            "${X}/",
            "/root",
            "/Users/me/x",
            "/var",
        ] {
            assert!(critical_path(p), "{p}");
        }
        for p in [
            "build",
            "./target",
            "target/debug",
            "/tmp/x",
            "$X/build",
            "/tmp/a/b",
            "a/*",
        ] {
            assert!(!critical_path(p), "{p}");
        }
    }

    #[test]
    fn modes() {
        for m in [
            "777", "0777", "a+rwx", "o+w", "+s", "u+s", "4755", "666", "ugo+w",
        ] {
            assert!(open_mode(m), "{m}");
        }
        for m in ["644", "755", "u+x", "+x", "go-w", "0644"] {
            assert!(!open_mode(m), "{m}");
        }
    }
}
