//! Wrappers and interpreters: which words of a command are another
//! command (`nice`, `timeout`, `env` ...) and which are code given inline
//! (`bash -c`, `python3 -c`).

use super::*;

/// The last path component of a command name (`/bin/rm` -> `rm`).
pub fn basename(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// Shells: their `-c` code is parsed as shell too.
pub const SHELLS: [&str; 11] = [
    "sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "csh", "tcsh", "yash",
];

/// Whether a command name is a shell.
pub fn is_shell(name: &str) -> bool {
    SHELLS.contains(&name)
}

/// The inline-code flag of an interpreter, if it has one.
pub(super) fn code_flags(name: &str) -> Option<&'static [&'static str]> {
    let n = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    Some(match n {
        _ if is_shell(name) => &["-c"],
        "python" | "pypy" | "python3" => &["-c"],
        "node" | "nodejs" | "bun" => &["-e", "--eval", "-p", "--print"],
        "deno" => &["eval"],
        "perl" => &["-e", "-E"],
        "ruby" | "lua" | "luajit" | "osascript" | "Rscript" | "julia" => &["-e"],
        "php" => &["-r", "-R", "-B", "-E"],
        "tclsh" | "wish" | "expect" => &["-c"],
        "awk" | "gawk" | "mawk" | "nawk" | "busybox-awk" => &[],
        "pwsh" | "powershell" => &["-c", "-Command", "-command", "-EncodedCommand", "-e"],
        _ => return None,
    })
}

/// For an interpreter invocation: `Some(Some(code))` when code is given
/// inline (`-c CODE`), `Some(None)` when the program comes from standard
/// input (no script operand), `None` when it runs a script file or is not an
/// interpreter.
pub fn inline_code(argv: &[Word]) -> Option<Option<String>> {
    let name = basename(&argv.first()?.text);
    let flags = code_flags(name)?;
    let rest = &argv[1..];
    let is_awk = flags.is_empty();
    let mut i = 0;
    while let Some(w) = rest.get(i) {
        let a = w.text.as_str();
        if a == "--" {
            i += 1;
            break;
        }
        // `+x` options (`bash +x -c CODE`) are options too.
        if !(a.starts_with('-') || a.starts_with('+')) || a == "-" || a == "+" {
            break;
        }
        // Version and help: `node -v`, `perl -v` (python's `-v` is
        // verbose, and it then reads a program from its input).
        if matches!(a, "--version" | "-V" | "-VV" | "--help" | "-h")
            || (a == "-v" && !name.starts_with("python") && !is_shell(name))
        {
            return None;
        }
        // `python -m pytest`: a named module is a program, not inline code.
        if a == "-m" && name.starts_with("python") {
            return None;
        }
        if is_awk {
            // awk's options take values; `-f FILE` names the program file.
            if a == "-f" || a.starts_with("--file") {
                return None;
            }
            if matches!(a, "-v" | "-F") {
                i += 1;
            }
        } else if flags.contains(&a)
            || (!a.starts_with("--")
                && flags
                    .iter()
                    .any(|f| f.len() == 2 && a[1..].contains(&f[1..])))
        {
            // `-c CODE`, `-lc CODE`, `perl -ne CODE`.
            return Some(rest.get(i + 1).map(|w| w.text.clone()));
        } else if matches!(a, "-m" | "-W" | "-X" | "-o" | "-O" | "+O" | "+o") {
            // Options with a value.
            i += 1;
        }
        i += 1;
    }
    if flags.first() == Some(&"eval") {
        // `deno eval CODE`
        return rest
            .first()
            .filter(|w| w.text == "eval")
            .map(|_| rest.get(1).map(|w| w.text.clone()));
    }
    match rest.get(i) {
        None => Some(None),
        Some(w) if w.text == "-" || w.text == "/dev/stdin" => Some(None),
        Some(w) if is_awk => Some(Some(w.text.clone())),
        Some(_) => None,
    }
}

/// Wrappers that run their arguments as a command, with the options that
/// take a value (each such option's value is skipped).
pub(super) const WRAPPERS: [(&str, &[&str]); 24] = [
    // Package runners run a package's program: `npx rimraf ~`.
    ("npx", &["-p", "--package", "-c", "--call"]),
    ("bunx", &["-p", "--package"]),
    (
        "env",
        &["-u", "--unset", "-C", "--chdir", "-S", "--split-string"],
    ),
    ("nice", &["-n", "--adjustment"]),
    ("nohup", &[]),
    ("timeout", &["-s", "--signal", "-k", "--kill-after"]),
    ("command", &[]),
    ("builtin", &[]),
    ("exec", &["-a"]),
    ("time", &["-f", "--format", "-o", "--output"]),
    (
        "stdbuf",
        &["-i", "-o", "-e", "--input", "--output", "--error"],
    ),
    (
        "ionice",
        &["-c", "--class", "-n", "--classdata", "-p", "-P", "-u"],
    ),
    (
        "sudo",
        &[
            "-u",
            "--user",
            "-g",
            "--group",
            "-h",
            "--host",
            "-p",
            "--prompt",
            "-C",
            "--close-from",
            "-D",
            "--chdir",
            "-r",
            "--role",
            "-t",
            "--type",
            "-U",
            "--other-user",
            "-T",
            "--command-timeout",
            "-R",
            "--chroot",
        ],
    ),
    ("doas", &["-u", "-C"]),
    (
        "xargs",
        &[
            "-a",
            "--arg-file",
            "-d",
            "--delimiter",
            "-E",
            "-e",
            "-I",
            "-L",
            "-l",
            "--max-lines",
            "-n",
            "--max-args",
            "-P",
            "--max-procs",
            "-s",
            "--max-chars",
            "--process-slot-var",
        ],
    ),
    ("setsid", &[]),
    ("unbuffer", &[]),
    ("nocache", &[]),
    ("chrt", &[]),
    ("taskset", &[]),
    ("flock", &["-w", "--timeout", "-E", "--conflict-exit-code"]),
    ("busybox", &[]),
    ("toybox", &[]),
    ("caffeinate", &["-t", "-w"]),
];

/// The command and every command it runs through wrappers: for
/// `sudo -u root env X=1 rm -rf /` the layers are the whole argv,
/// `env X=1 rm -rf /` and `rm -rf /`.
pub fn layers<T: AsRef<str>>(argv: &[T]) -> Vec<&[T]> {
    let mut out = vec![argv];
    let mut cur = argv;
    while let Some(next) = unwrap_once(cur) {
        if next.is_empty() || out.len() > 16 {
            break;
        }
        out.push(next);
        cur = next;
    }
    out
}

pub(super) fn unwrap_once<T: AsRef<str>>(argv: &[T]) -> Option<&[T]> {
    let name = basename(argv.first()?.as_ref());
    let (_, valued) = WRAPPERS.iter().find(|(w, _)| *w == name)?;
    let mut i = 1;
    // `timeout` and `flock` take a positional (duration, lock file) and
    // `chrt`/`taskset` a priority or mask before the command.
    let positional = match name {
        "timeout" | "flock" | "chrt" | "taskset" => 1,
        _ => 0,
    };
    let mut seen_positional = 0;
    while let Some(w) = argv.get(i) {
        let a = w.as_ref();
        if a == "--" {
            i += 1;
            break;
        }
        if name == "env" && !a.starts_with('-') && a.contains('=') {
            i += 1;
            continue;
        }
        if a.starts_with('-') && a.len() > 1 {
            let key = a.split('=').next().unwrap_or(a);
            if valued.contains(&key) && !a.contains('=') {
                i += 1;
            }
            i += 1;
            continue;
        }
        if name == "nice" && a.starts_with('+') {
            i += 1;
            continue;
        }
        if seen_positional < positional {
            seen_positional += 1;
            i += 1;
            continue;
        }
        break;
    }
    argv.get(i..)
}
