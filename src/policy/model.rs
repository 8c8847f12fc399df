//! The command model: what each option and operand of the programs agents
//! run does (docs/command-model.md).
//!
//! Data, not code: `src/policy/programs/*.toml` (built in) and `[[program]]`
//! tables of the config say, per program, which options are harmless, which
//! write a path, run code, talk to another host or change directory, and
//! what the operands are. [`Model::effects`] reads one command's words
//! against it and returns every effect it can see, including what it cannot
//! account for (an unknown option, an unknown subcommand). Pure: no I/O.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use serde::Deserialize;

use super::shell::{Word, basename};

mod sed;
mod specials;
mod targets;
mod trees;
use trees::{decompressed_names, tree_writes};

#[cfg(test)]
use sed::sed_effects;
use sed::sed_script;
use specials::{program_specials, remote};

/// The built-in model files, by name (for errors).
const BUILTIN: [(&str, &str); 4] = [
    ("shells.toml", include_str!("programs/shells.toml")),
    ("core.toml", include_str!("programs/core.toml")),
    ("git.toml", include_str!("programs/git.toml")),
    ("build.toml", include_str!("programs/build.toml")),
];

/// How many wrappers deep inner commands are followed; deeper is
/// unprovable.
const MAX_LAYERS: usize = 16;

/// What a program's operands are (docs/command-model.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operands {
    /// Paths read, or plain text.
    #[default]
    Paths,
    /// Every operand is a path written (`rm`, `touch`).
    Writes,
    /// The last operand is written (`cp`, `ln`); none when a `writes` option
    /// (`-t DIR`) was given.
    LastWrites,
    /// Every operand is written (`mv`).
    AllWrites,
    /// From the first operand on, a command run in turn (wrappers).
    Command,
    /// The operands run as code (`watch`, `ssh host CMD`).
    Code,
    /// Process ids (`kill PID`): each acts on another process, except a
    /// job of the shell itself (`%1`).
    Pids,
    /// The first operand is a script file that runs (`bash x.sh`,
    /// `python3 x.py`): the workspace's own code when it lies inside, code
    /// from elsewhere when not.
    Script,
    /// No operands.
    None,
}

/// How a program's words split into options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Style {
    /// `--long[=v]`, grouped short options `-abc`, `-n5`.
    #[default]
    Gnu,
    /// One word per option with one dash (`find -name`, `go -run=x`).
    SingleDash,
    /// Every word is an operand (`echo`).
    None,
}

/// An effect of running a program (or subcommand) at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProgramEffect {
    /// Runs the workspace's own code (`cargo test`, `make`): accepted by a
    /// rule that covers it.
    Project,
    /// Runs code the command line does not show (`docker run`, `git config`).
    RunsCode,
    /// Sends data to, or acts on, another host (`git push`).
    Network,
}

/// One `[[program]]` table, as written (docs/command-model.md).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramSpec {
    /// Command names (basenames).
    #[serde(default)]
    pub names: Vec<String>,
    /// Where the facts come from (manual, version).
    #[serde(default)]
    pub source: String,
    /// Options with no effect beyond the command's own output.
    #[serde(default)]
    pub harmless: Vec<String>,
    /// Options whose value is a path read.
    #[serde(default)]
    pub reads: Vec<String>,
    /// Options whose value is a path written.
    #[serde(default)]
    pub writes: Vec<String>,
    /// Options that run code or a program.
    #[serde(default)]
    pub code: Vec<String>,
    /// Options that send data to or act on another host.
    #[serde(default)]
    pub network: Vec<String>,
    /// Options whose value is another process, by id (`strace -p PID`,
    /// `taskset -p`): it is signalled, traced or changed.
    #[serde(default)]
    pub process: Vec<String>,
    /// Options whose value is the directory later paths resolve in.
    #[serde(default)]
    pub chdir: Vec<String>,
    /// Options whose value is a file or directory of code that runs
    /// (`java -jar X`, `-cp DIR`): the workspace's own when inside it.
    #[serde(default)]
    pub runs: Vec<String>,
    /// Options whose presence makes every path operand written.
    #[serde(default)]
    pub in_place: Vec<String>,
    /// What the operands are.
    #[serde(default)]
    pub operands: Operands,
    /// With `operands = "command"`: operands before the command.
    #[serde(default)]
    pub skip: usize,
    /// It writes files of its own naming in the directory in force
    /// (`csplit`'s `xx00`, `gcc`'s `a.out`, `cargo init`).
    #[serde(default)]
    pub writes_here: bool,
    /// How words split into options (a subcommand without one takes its
    /// program's).
    #[serde(default)]
    pub style: Option<Style>,
    /// Whether options may follow operands.
    #[serde(default = "yes")]
    pub permute: bool,
    /// An effect of running it at all.
    #[serde(default)]
    pub effect: Option<ProgramEffect>,
    /// Subcommands, by name.
    #[serde(default)]
    pub sub: HashMap<String, ProgramSpec>,
    /// For a subcommand: the subcommand it is a spelling of.
    #[serde(default)]
    pub same_as: Option<String>,
    /// For a subcommand: the program's options are valid after it too.
    #[serde(default)]
    pub inherit: bool,
}

fn yes() -> bool {
    true
}

/// The effect class of an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Harmless,
    Reads,
    Writes,
    Code,
    Network,
    Process,
    Chdir,
    InPlace,
    Runs,
}

/// Whether an option takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    No,
    Required,
    Optional,
    /// Every word up to `;` or `+` (find's `-exec`).
    UntilSemicolon,
}

#[derive(Debug, Clone, Copy)]
struct Opt {
    class: Class,
    value: Value,
}

/// A compiled [`ProgramSpec`].
#[derive(Debug, Clone, Default)]
struct Program {
    name: String,
    opts: HashMap<String, Opt>,
    numeric: bool,
    operands: Operands,
    skip: usize,
    writes_here: bool,
    style: Style,
    permute: bool,
    effect: Option<ProgramEffect>,
    sub: HashMap<String, Program>,
    same_as: Option<String>,
    inherit: bool,
}

/// Why a model file or table is malformed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ModelError(pub String);

impl Program {
    fn compile(name: &str, s: &ProgramSpec, parent_style: Style) -> Result<Program, ModelError> {
        let style = s.style.unwrap_or(parent_style);
        let mut p = Program {
            name: name.to_string(),
            operands: s.operands,
            skip: s.skip,
            writes_here: s.writes_here,
            style,
            permute: s.permute,
            effect: s.effect,
            same_as: s.same_as.clone(),
            inherit: s.inherit,
            ..Program::default()
        };
        let lists = [
            (&s.harmless, Class::Harmless),
            (&s.reads, Class::Reads),
            (&s.writes, Class::Writes),
            (&s.code, Class::Code),
            (&s.network, Class::Network),
            (&s.process, Class::Process),
            (&s.chdir, Class::Chdir),
            (&s.runs, Class::Runs),
            (&s.in_place, Class::InPlace),
        ];
        for (list, class) in lists {
            for entry in list {
                if entry == "-#" {
                    p.numeric = true;
                    continue;
                }
                let (opt, value) = if let Some(o) = entry.strip_suffix("=;") {
                    (o, Value::UntilSemicolon)
                } else if let Some(o) = entry.strip_suffix("=?") {
                    (o, Value::Optional)
                } else if let Some(o) = entry.strip_suffix('=') {
                    (o, Value::Required)
                } else {
                    (entry.as_str(), Value::No)
                };
                if !opt.starts_with('-') && !opt.starts_with('+') || opt.len() < 2 {
                    return Err(ModelError(format!(
                        "{name}: option {entry:?} does not start with - or +"
                    )));
                }
                let key = match style {
                    Style::SingleDash => single_dash_key(opt),
                    _ => opt.to_string(),
                };
                // The most cautious reading wins when an option is listed
                // twice.
                let new = Opt { class, value };
                let keep = p
                    .opts
                    .get(&key)
                    .is_some_and(|old| rank(old.class) > rank(class));
                if !keep {
                    p.opts.insert(key, new);
                }
            }
        }
        for (sub, spec) in &s.sub {
            p.sub.insert(
                sub.clone(),
                Program::compile(&format!("{name} {sub}"), spec, style)?,
            );
        }
        Ok(p)
    }
}

/// How much an option class must be looked at; the higher wins a conflict.
fn rank(c: Class) -> u8 {
    match c {
        Class::Harmless | Class::Reads => 0,
        Class::Chdir | Class::Runs => 1,
        Class::InPlace | Class::Writes => 2,
        Class::Network | Class::Process => 3,
        Class::Code => 4,
    }
}

fn single_dash_key(opt: &str) -> String {
    format!("-{}", opt.trim_start_matches('-'))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    #[serde(default)]
    program: Vec<ProgramSpec>,
}

/// The model: programs by name.
#[derive(Debug, Clone, Default)]
pub struct Model {
    programs: HashMap<String, Arc<Program>>,
}

/// A path a command writes, as written, with the directory it resolves in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WritePath {
    /// The path word.
    pub path: Word,
    /// `chdir` values in force (`git -C DIR`, `tar -C DIR`), outermost
    /// first; the path resolves in the last one, each relative to the one
    /// before it.
    pub dirs: Vec<Word>,
}

/// A directory a program writes every file under (see [`Effects::trees`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeWrite {
    /// The directory (or file) operand.
    pub path: WritePath,
    /// Suffixes whose removal names a file it writes (decompression:
    /// `x.gz` is written as `x`); each file's own name counts too.
    pub strip: Vec<String>,
    /// git's own work-tree changes leave its `.git` alone: it is not
    /// looked through.
    pub spares_git: bool,
}

/// A binary `go build` names after its package's import path (see
/// [`Effects::module_binaries`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleBinary {
    /// The package directory (`.` when none is given), with the
    /// directories in force.
    pub package: WritePath,
    /// `-o` values: the binary lands in each under its name when it is a
    /// directory; without one it lands in the directory in force.
    pub outs: Vec<String>,
}

/// Everything one command does that the model can see (one layer: a
/// wrapper's inner command is another layer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    /// The program's name (basename), or the command word when unknown.
    pub program: String,
    /// Whether the model knows the program.
    pub known: bool,
    /// The canonical words: program, subcommands (as their canonical
    /// spelling), then every word after them; global options dropped.
    pub canonical: Vec<String>,
    /// Paths written.
    pub writes: Vec<WritePath>,
    /// Code it runs that the line shows or hides (option text).
    pub code: Vec<String>,
    /// Acts on or sends to another host (option text).
    pub network: Vec<String>,
    /// Signals, traces or changes another process by its id (`kill PID`,
    /// `strace -p PID`): the text shown.
    pub processes: Vec<String>,
    /// Options or subcommands not in the model.
    pub unknown: Vec<String>,
    /// Runs the workspace's own code.
    pub project: bool,
    /// Files it runs as code (a script operand, a `./tool` command word):
    /// the workspace's own code when inside it.
    pub runs: Vec<WritePath>,
    /// Operands of a program that runs the workspace's own code (test
    /// files, scripts, targets): one outside the workspace runs code from
    /// elsewhere (`pytest /tmp/x/test_a.py`).
    pub project_paths: Vec<WritePath>,
    /// Files it names by adding to a prefix (`split`'s and `csplit`'s
    /// PREFIXaa, PREFIX00): the path is the prefix.
    pub name_prefixes: Vec<WritePath>,
    /// Relative symbolic link targets that climb with `..`.
    pub climbing_links: Vec<String>,
    /// Sources of `cp`, `mv` and `rsync`: a symbolic link among them (or
    /// in a tree among them) that is absolute or climbs with `..` leads
    /// elsewhere from where it lands.
    pub moved: Vec<WritePath>,
    /// Glob words in the place of an option of a program with options that
    /// write or run code: a file whose name starts with `-` would become
    /// one (`tar -cf a.tar *` with a file `--checkpoint-action=exec=sh x`).
    pub option_globs: Vec<WritePath>,
    /// Directories an archive is extracted into (`tar -x`, `unzip`): the
    /// members' names are in the archive, not on the command line, so what
    /// lands there cannot be accounted for.
    pub extracts: Vec<WritePath>,
    /// Writes to a place corral cannot put in the workspace (another
    /// worktree by name, a branch every worktree shares): the text shown.
    pub elsewhere: Vec<String>,
    /// Words naming a repository to fetch from (`git fetch NAME`): a
    /// remote of the repository's config, or else a path git reads.
    pub repositories: Vec<WritePath>,
    /// Directories whose every file it rewrites, removes or decompresses
    /// (`gzip -r DIR`, `zip -mr a.zip DIR`, `gunzip -r DIR`): the names are
    /// the tree's, not the line's.
    pub trees: Vec<TreeWrite>,
    /// A copy or move that keeps the destination's old files as backups
    /// (`-b`, `--backup`, `--backup-dir`, `-S`): under a tree copy their
    /// names are the tree's members with a suffix, or under another
    /// directory.
    pub backups: bool,
    /// Output directories whose files are named by the inputs, not the
    /// line (`tsc --outDir`, `javac -d`): one named like a protected
    /// entry's directory fills it.
    pub out_dirs: Vec<WritePath>,
    /// Packages `go build` compiles with no file operand (`go build`,
    /// `go build .`, `go build ..`): the binary is named after the
    /// package's import path, which a module root takes from its
    /// `go.mod`, not the line.
    pub module_binaries: Vec<ModuleBinary>,
    /// Where a copy, move or link puts its sources (`cp -r SRC DEST`, `mv`,
    /// `rsync`, `git mv`, `ln -s TARGET NAME`): the members of a tree land
    /// under it, and a link there leads to its target.
    pub copy_dests: Vec<WritePath>,
    /// Targets of symbolic links it makes (`ln -s TARGET NAME`): a link
    /// leading outside lets a later write leave the workspace.
    pub links: Vec<WritePath>,
    /// Directories in force for the inner command.
    pub dirs: Vec<Word>,
}

fn builtin() -> &'static Result<Model, ModelError> {
    static MODEL: OnceLock<Result<Model, ModelError>> = OnceLock::new();
    MODEL.get_or_init(|| {
        let mut m = Model::default();
        for (file, text) in BUILTIN {
            let f: ModelFile =
                toml::from_str(text).map_err(|e| ModelError(format!("{file}: {e}")))?;
            m.add(&f.program)
                .map_err(|e| ModelError(format!("{file}: {e}")))?;
        }
        Ok(m)
    })
}

impl Model {
    /// The built-in model (`src/policy/programs/*.toml`).
    ///
    /// Errors: a built-in file is malformed (a test keeps them well-formed).
    pub fn builtin() -> Result<Model, ModelError> {
        builtin().clone()
    }

    /// The built-in model extended (or overridden, by name) with config
    /// tables.
    ///
    /// Errors: a table is malformed (an option not starting with `-`).
    pub fn with(extra: &[ProgramSpec]) -> Result<Model, ModelError> {
        let mut m = Model::builtin()?;
        m.add(extra)?;
        Ok(m)
    }

    fn add(&mut self, specs: &[ProgramSpec]) -> Result<(), ModelError> {
        for s in specs {
            let first = s
                .names
                .first()
                .ok_or_else(|| ModelError("a [[program]] table without names".into()))?;
            let p = Arc::new(Program::compile(first, s, Style::Gnu)?);
            for n in &s.names {
                self.programs.insert(n.clone(), p.clone());
            }
        }
        Ok(())
    }

    /// Whether a program (or any of its subcommands) has options that
    /// write, run code, talk to a host or change directory: a word that
    /// splits into several may become one of them.
    pub fn risky(&self, name: &str) -> bool {
        fn any(p: &Program) -> bool {
            p.opts
                .values()
                .any(|o| !matches!(o.class, Class::Harmless | Class::Reads))
                || p.sub.values().any(any)
        }
        self.programs.get(name).is_some_and(|p| any(p))
    }

    /// Whether the model knows a program by name.
    pub fn knows(&self, name: &str) -> bool {
        self.programs.contains_key(name)
    }

    /// Every program the model knows, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.programs.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    /// The effects of one command and of every command it runs through
    /// wrappers, outermost first. `argv` is the command's words, assignment
    /// prefixes removed.
    pub fn layers(&self, argv: &[Word]) -> Vec<Effects> {
        let mut out = Vec::new();
        let mut cur: Vec<Word> = argv.to_vec();
        let mut dirs: Vec<Word> = Vec::new();
        while !cur.is_empty() {
            if out.len() >= MAX_LAYERS {
                let mut e = Effects {
                    program: cur[0].text.clone(),
                    ..Effects::default()
                };
                e.unknown
                    .push(format!("more than {MAX_LAYERS} wrappers deep"));
                out.push(e);
                break;
            }
            let (mut e, inner) = self.one(&cur, &dirs);
            dirs = e.dirs.clone();
            e.dirs.clone_from(&dirs);
            out.push(e);
            match inner {
                Some(next) => cur = next,
                None => break,
            }
        }
        out
    }

    /// One layer: its effects and the inner command, if it runs one.
    fn one(&self, argv: &[Word], dirs: &[Word]) -> (Effects, Option<Vec<Word>>) {
        let mut e = Effects {
            dirs: dirs.to_vec(),
            ..Effects::default()
        };
        let Some(first) = argv.first() else {
            return (e, None);
        };
        let name = program_name(&first.text);
        e.program = name.unwrap_or(&first.text).to_string();
        // A command word with blanks or shell syntax in it names no program
        // a plain exec would find; a runner that hands it to a shell runs
        // it as a script (`yarn exec 'curl .. && ..'`: Yarn 2's exec).
        if first.text.contains(|c: char| {
            c.is_whitespace() || matches!(c, ';' | '&' | '|' | '<' | '>' | '(' | ')' | '$' | '`')
        }) {
            e.code.push(format!(
                "{:?} (a command word with blanks or shell syntax: a shell may run it as a script)",
                first.text
            ));
        }
        if name.is_none() {
            // `./build.sh`, `./gradlew`: a file that runs (the workspace's
            // code when inside it); its options are read by the model of
            // its name when there is one.
            e.known = true;
            e.runs.push(WritePath {
                path: first.clone(),
                dirs: dirs.to_vec(),
            });
        }
        let Some(prog) = self.programs.get(name.unwrap_or(basename(&first.text))) else {
            e.canonical = argv.iter().map(|w| w.text.clone()).collect();
            return (e, None);
        };
        e.known = true;
        e.canonical.push(e.program.clone());
        let mut inner = None;
        let rest: Vec<Word> = argv[1..].to_vec();
        walk(prog, None, &rest, &mut e, &mut inner);
        (e, inner)
    }
}

/// The name a command word is looked up by: the basename of a word that is
/// a bare name or a path in a system bin directory. Another path (`./x`,
/// `/tmp/git`) runs that file: `None`.
fn program_name(word: &str) -> Option<&str> {
    if !word.contains('/') {
        return Some(word);
    }
    let dir = word.rsplit_once('/').map_or("", |(d, _)| d);
    const SYSTEM_BINS: [&str; 6] = [
        "/bin",
        "/usr/bin",
        "/usr/local/bin",
        "/sbin",
        "/usr/sbin",
        "/usr/local/sbin",
    ];
    SYSTEM_BINS.contains(&dir).then(|| basename(word))
}

/// Whether a word is a shell assignment (`NAME=value`).
fn is_assignment(w: &str) -> bool {
    match w.split_once('=') {
        Some((n, _)) => {
            !n.is_empty()
                && !n.starts_with(|c: char| c.is_ascii_digit())
                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    }
}

/// `set -o` options that only make the shell stricter or louder.
const SAFE_SET: [&str; 10] = [
    "errexit",
    "nounset",
    "pipefail",
    "xtrace",
    "verbose",
    "noclobber",
    "noglob",
    "errtrace",
    "functrace",
    "notify",
];

/// `shopt` options that change nothing corral reads (`nullglob` makes an
/// unmatched glob vanish, so the next word takes its place; `dotglob`,
/// `nocaseglob` and `globstar` change what a glob reaches).
const SAFE_SHOPT: [&str; 2] = ["failglob", "nocasematch"];

fn dot() -> Word {
    Word {
        text: ".".into(),
        literal: true,
    }
}

/// Programs rustup installs as proxies: each reads `+TOOLCHAIN` first.
const RUSTUP_PROXIES: [&str; 8] = [
    "rustc",
    "rustdoc",
    "rustfmt",
    "cargo-fmt",
    "cargo-clippy",
    "clippy-driver",
    "rust-gdb",
    "rust-lldb",
];

/// What reading one program's options has found so far.
/// Options whose value is a `:`-separated list of paths (OpenJDK 17's
/// class, source, module and processor paths): every element counts.
const PATH_LISTS: [&str; 9] = [
    "-cp",
    "-classpath",
    "-class-path",
    "-sourcepath",
    "-source-path",
    "-p",
    "-module-path",
    "-processorpath",
    "-processor-path",
];

/// The paths an option's value names: each element of a Java path list
/// (`lib:/tmp/x` is `lib` and `/tmp/x`; an empty one is the directory),
/// else the value whole.
fn path_list(program: &str, option: &str, v: &Word) -> Vec<Word> {
    // These programs read options with one dash or two alike.
    if matches!(program, "java" | "javac" | "javadoc" | "jar")
        && PATH_LISTS.contains(&single_dash_key(option).as_str())
    {
        v.text
            .split(':')
            .map(|t| Word {
                text: if t.is_empty() {
                    ".".into()
                } else {
                    t.to_string()
                },
                literal: v.literal,
            })
            .collect()
    } else {
        vec![v.clone()]
    }
}

/// Whether the path `t`'s last component is `name`.
fn last_component_is(t: &str, name: &str) -> bool {
    t.rsplit('/').next() == Some(name)
}

#[derive(Default)]
struct State {
    in_place: bool,
    wrote_by_option: bool,
    sed_scripts: Vec<String>,
    symbolic: bool,
    /// Every option seen, by its name.
    seen: Vec<String>,
    /// Options' values, by option name, in order.
    values: Vec<(String, String)>,
    /// `python -m MODULE`: the module, run as a program in turn.
    module: Option<Word>,
    /// sed's `-i SUFFIX` when it names another directory (`/` or `*`).
    sed_backup: Option<String>,
    /// The directories in force when the program started (tar opens its
    /// `-f` archive there, whatever `-C` says).
    start_dirs: Vec<Word>,
}

/// Reads `words` (the arguments after the program or subcommand name)
/// against `p`, recording effects in `e`; a wrapper's inner command goes to
/// `inner`.
fn walk(
    p: &Program,
    parent: Option<&Program>,
    words: &[Word],
    e: &mut Effects,
    inner: &mut Option<Vec<Word>>,
) {
    if let Some(effect) = p.effect {
        match effect {
            ProgramEffect::Project => e.project = true,
            ProgramEffect::RunsCode => e.code.push(e.canonical.join(" ")),
            ProgramEffect::Network => e.network.push(e.canonical.join(" ")),
        }
    }
    let lookup = |key: &str| -> Option<Opt> {
        p.opts.get(key).copied().or_else(|| {
            parent
                .filter(|_| p.inherit)
                .and_then(|q| q.opts.get(key).copied())
        })
    };
    if p.name == "systemd-run" {
        // A transient unit starts in the home directory (or `/`), not here.
        e.dirs.push(Word {
            text: "~".into(),
            literal: false,
        });
    }
    if p.writes_here {
        e.writes.push(WritePath {
            path: dot(),
            dirs: e.dirs.clone(),
        });
    }
    // Patches and foreign history name their own paths (`.claude/x`,
    // `.git/hooks/y` among them).
    if matches!(p.name.as_str(), "git apply" | "git am" | "patch") {
        e.extracts.push(WritePath {
            path: dot(),
            dirs: e.dirs.clone(),
        });
    }
    // An option that writes, runs code, talks to a host or moves: a word
    // the shell expands, in an option's place, may be one of them.
    let risky = |q: &Program| {
        q.opts
            .values()
            .any(|o| !matches!(o.class, Class::Harmless | Class::Reads))
    };
    let risky = risky(p) || (p.inherit && parent.is_some_and(risky));
    // (operand, directories in force when it was read)
    let mut operands: Vec<(Word, Vec<Word>)> = Vec::new();
    let mut st = State {
        start_dirs: e.dirs.clone(),
        ..State::default()
    };
    let mut options_done = p.style == Style::None;
    let is_tar = p.name == "tar";
    let is_sed = p.name == "sed";
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        let t = w.text.as_str();
        i += 1;
        if !options_done && !w.literal && risky && (p.name != "env" || !is_assignment(t)) {
            // `$X` may be an option; `-n$(cat f)` may split into several.
            e.unknown.push(format!(
                "{} {t} (the shell expands it: it may be an option that writes or runs code)",
                p.name
            ));
        }
        if !options_done && w.literal && risky && t.contains(['*', '?', '[']) {
            e.option_globs.push(WritePath {
                path: w.clone(),
                dirs: e.dirs.clone(),
            });
        }
        // `+x` is an option for the programs that list `+` options (bash's
        // `+O shopt`, `set +o`).
        let plus = t.starts_with('+') && t.len() > 1 && p.opts.keys().any(|k| k.starts_with('+'));
        if options_done || (!t.starts_with('-') && !plus) || t == "-" {
            // tar's old style: a first word of bundled letters (`cfz`),
            // each letter that takes a value taking the next word in turn
            // (`tar cfC A.tar DIR src`: f is A.tar, C is DIR; GNU tar 1.34).
            if is_tar && i == 1 && !t.starts_with('-') && !t.is_empty() {
                for letter in t.chars() {
                    let opt = Word {
                        text: format!("-{letter}"),
                        literal: w.literal,
                    };
                    let takes = lookup(&opt.text).is_some_and(|o| {
                        matches!(o.value, Value::Required | Value::UntilSemicolon)
                    });
                    if takes {
                        let Some(value) = words.get(i) else {
                            e.unknown.push(format!("tar {t} (-{letter} has no value)"));
                            break;
                        };
                        let pair = [opt.clone(), value.clone()];
                        read_option(p, &lookup, &pair[0], &pair[1..], e, &mut st);
                        i += 1;
                    } else {
                        read_option(p, &lookup, &opt, &[], e, &mut st);
                    }
                }
                continue;
            }
            if !p.sub.is_empty() && operands.is_empty() && !options_done {
                // The first operand names a subcommand.
                if t.starts_with('+') && p.name == "cargo" {
                    // `cargo +nightly build`: a toolchain by name; a path
                    // (`+/tmp/x`) is code from there.
                    if t.contains('/') || t.starts_with("+.") {
                        e.code.push(format!("cargo {t} (a toolchain from a path)"));
                    }
                    continue;
                }
                match p.sub.get(t) {
                    Some(sub) => {
                        let canon = sub.same_as.clone().unwrap_or_else(|| t.to_string());
                        e.canonical.push(canon);
                        walk(sub, Some(p), &words[i..], e, inner);
                    }
                    None => {
                        e.unknown.push(format!("{} {t} (a subcommand)", p.name));
                        e.canonical
                            .extend(words[i - 1..].iter().map(|w| w.text.clone()));
                    }
                }
                return;
            }
            if p.operands == Operands::Command && operands.len() >= p.skip {
                // env's NAME=VALUE words come before the command.
                if p.name == "env" && is_assignment(t) {
                    continue;
                }
                // `strace -o '|CMD'` (or `!CMD`) pipes the trace into a
                // shell command (strace 6.1).
                if e.program == "strace" {
                    for (opt, v) in &st.values {
                        if matches!(opt.as_str(), "-o" | "--output")
                            && (v.starts_with('|') || v.starts_with('!'))
                        {
                            e.code
                                .push(format!("strace {opt} {v} (the trace piped to a command)"));
                        }
                    }
                }
                // flock creates its lock file.
                if e.program == "flock"
                    && let Some((w, dirs)) = operands.first()
                {
                    e.writes.push(WritePath {
                        path: w.clone(),
                        dirs: dirs.clone(),
                    });
                }
                // nohup writes nohup.out where it runs when its output is a
                // terminal.
                if e.program == "nohup" {
                    e.writes.push(WritePath {
                        path: Word {
                            text: "nohup.out".into(),
                            literal: true,
                        },
                        dirs: e.dirs.clone(),
                    });
                }
                *inner = Some(words[i - 1..].to_vec());
                e.canonical
                    .extend(words[i - 1..].iter().map(|w| w.text.clone()));
                return;
            }
            operands.push((w.clone(), e.dirs.clone()));
            if !p.permute {
                options_done = true;
            }
            continue;
        }
        if t == "--" {
            // find's `--` ends only its leading options (-H, -L, -P, -D,
            // -O): the expression after the starting points still acts
            // (`find -- . -exec id \;`, findutils 4.9.0).
            if p.name != "find" {
                options_done = true;
            }
            continue;
        }
        i += read_option(p, &lookup, w, &words[i..], e, &mut st);
        // `python -m MODULE ARGS`: the module runs with the rest.
        if let Some(m) = st.module.take() {
            let mut argv = vec![m];
            argv.extend(words[i.min(words.len())..].iter().cloned());
            e.canonical.extend(words.iter().map(|w| w.text.clone()));
            *inner = Some(argv);
            return;
        }
    }
    e.canonical.extend(words.iter().map(|w| w.text.clone()));
    // sed: without -e/-f the first operand is the script.
    if is_sed {
        if st.sed_scripts.is_empty() && !operands.is_empty() {
            st.sed_scripts.push(operands.remove(0).0.text);
        }
        for s in &st.sed_scripts {
            sed_script(s, e);
        }
    }
    // Links: a symbolic link's target resolves in the link's directory; a
    // hard link (`ln`, `cp -l`) shares the file, so writing it writes the
    // target.
    let links = p.name == "ln"
        || (p.name == "cp"
            && st
                .seen
                .iter()
                .any(|o| matches!(o.as_str(), "-l" | "-s" | "--link" | "--symbolic-link")));
    if links && !operands.is_empty() {
        let (targets, link_dir) = if operands.len() > 1 {
            let (last, dirs) = &operands[operands.len() - 1];
            let dir = if last.text.ends_with('/') {
                Some(last.text.clone())
            } else {
                last.text.rsplit_once('/').map(|(d, _)| format!("{d}/"))
            };
            let mut dirs = dirs.clone();
            if let Some(d) = dir {
                dirs.push(Word {
                    text: d,
                    literal: last.literal,
                });
            }
            (&operands[..operands.len() - 1], dirs)
        } else {
            (&operands[..], e.dirs.clone())
        };
        let symbolic = st.symbolic
            || st
                .seen
                .iter()
                .any(|o| matches!(o.as_str(), "-s" | "--symbolic-link"));
        for (w, _) in targets {
            if symbolic && !w.text.starts_with('/') && w.text.split('/').any(|c| c == "..") {
                e.climbing_links.push(w.text.clone());
            }
        }
        for (w, dirs) in targets {
            let dirs = if st.symbolic && !w.text.starts_with('/') {
                link_dir.clone()
            } else {
                dirs.clone()
            };
            e.links.push(WritePath {
                path: w.clone(),
                dirs,
            });
        }
    }
    // sed -i with a backup elsewhere: `-i'/dir/*'` copies each file there.
    if let Some(b) = &st.sed_backup {
        for (w, dirs) in &operands {
            let base = w.text.rsplit('/').next().unwrap_or(&w.text);
            let path = if b.contains('*') {
                let named = b.replace('*', base);
                match (named.contains('/'), w.text.rsplit_once('/')) {
                    (false, Some((d, _))) => format!("{d}/{named}"),
                    _ => named,
                }
            } else {
                format!("{}{b}", w.text)
            };
            e.writes.push(WritePath {
                path: Word {
                    text: path,
                    literal: w.literal,
                },
                dirs: dirs.clone(),
            });
        }
    }
    // A copy into a directory writes DIR/NAME for each source NAME: placed
    // too, so a protected name (`cp docs/CLAUDE.md .`, `cp -r tpl/.claude
    // .`) or a link in DIR is seen. Whether DEST is a directory is not
    // known here: the name is placed either way.
    if matches!(e.program.as_str(), "cp" | "mv" | "install" | "ln" | "rsync") {
        let target_dir = st
            .values
            .iter()
            .find(|(o, _)| matches!(o.as_str(), "-t" | "--target-directory"))
            .map(|(_, v)| v.clone());
        let (sources, dest) = match &target_dir {
            Some(d) => (&operands[..], Some(d.clone())),
            None if operands.len() > 1 => (
                &operands[..operands.len() - 1],
                operands.last().map(|(w, _)| w.text.clone()),
            ),
            None => (&operands[..0], None),
        };
        if matches!(e.program.as_str(), "cp" | "mv" | "rsync") {
            for (w, dirs) in sources {
                e.moved.push(WritePath {
                    path: w.clone(),
                    dirs: dirs.clone(),
                });
            }
        }
        e.backups = st.seen.iter().any(|o| {
            matches!(
                o.as_str(),
                "-b" | "--backup" | "--backup-dir" | "-S" | "--suffix"
            )
        });
        if let Some(dest) = &dest {
            let (literal, dirs) = match (&target_dir, operands.last()) {
                (None, Some((w, dirs))) => (w.literal, dirs.clone()),
                _ => (true, e.dirs.clone()),
            };
            e.copy_dests.push(WritePath {
                path: Word {
                    text: dest.clone(),
                    literal,
                },
                dirs,
            });
        }
        if let Some(dest) = dest {
            let dest_literal =
                target_dir.is_some() || operands.last().is_some_and(|(w, _)| w.literal);
            for (w, dirs) in sources {
                let base = w
                    .text
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or("");
                // rsync's `src/` copies the contents: their names are not
                // known here.
                if base.is_empty() || base == "." || base == ".." || w.text.ends_with('/') {
                    continue;
                }
                e.writes.push(WritePath {
                    path: Word {
                        text: format!("{}/{base}", dest.trim_end_matches('/')),
                        literal: w.literal && dest_literal,
                    },
                    dirs: dirs.clone(),
                });
            }
        }
    }
    // `git mv DIR NEW` renames a tree as mv does.
    if p.name == "git mv" && operands.len() > 1 {
        let n = operands.len() - 1;
        for (w, dirs) in &operands[..n] {
            e.moved.push(WritePath {
                path: w.clone(),
                dirs: dirs.clone(),
            });
        }
        e.copy_dests.push(WritePath {
            path: operands[n].0.clone(),
            dirs: operands[n].1.clone(),
        });
    }
    // split FILE PREFIX and csplit -f PREFIX name their files PREFIX +
    // a suffix the command line chooses (`-b 'c%.0d'`): `.envr` makes
    // `.envrc`.
    let prefix = match e.program.as_str() {
        "split" if operands.len() >= 2 => operands.last().map(|(w, d)| (w.clone(), d.clone())),
        "csplit" => st
            .values
            .iter()
            .find(|(o, _)| matches!(o.as_str(), "-f" | "--prefix"))
            .map(|(_, v)| {
                (
                    Word {
                        text: v.clone(),
                        literal: true,
                    },
                    e.dirs.clone(),
                )
            }),
        _ => None,
    };
    if let Some((w, dirs)) = prefix {
        e.name_prefixes.push(WritePath { path: w, dirs });
    }
    // A rustup proxy's `+TOOLCHAIN` from a path runs that directory's
    // program (`rustc +/tmp/x`, `rustfmt +/tmp/x`), as cargo's does.
    if RUSTUP_PROXIES.contains(&e.program.as_str())
        && let Some((w, _)) = operands.first()
        && w.text.starts_with('+')
        && (w.text.contains('/') || w.text.starts_with("+.") || !w.literal)
    {
        e.code.push(format!(
            "{} {} (a toolchain from a path)",
            e.program, w.text
        ));
    }
    // Decompressing writes the name without its suffix (`gunzip
    // CLAUDE.md.gz` writes CLAUDE.md): placed too.
    let decompress = matches!(
        e.program.as_str(),
        "gunzip" | "unxz" | "bunzip2" | "unzstd" | "unlzma"
    ) || (matches!(
        e.program.as_str(),
        "gzip" | "xz" | "bzip2" | "zstd" | "lzma"
    ) && st
        .seen
        .iter()
        .any(|o| matches!(o.as_str(), "-d" | "--decompress" | "--uncompress")));
    if decompress
        && !st
            .seen
            .iter()
            .any(|o| matches!(o.as_str(), "-c" | "--stdout" | "--to-stdout"))
    {
        for (w, dirs) in &operands {
            for stem in decompressed_names(&w.text) {
                e.writes.push(WritePath {
                    path: Word {
                        text: stem,
                        literal: w.literal,
                    },
                    dirs: dirs.clone(),
                });
            }
        }
    }
    tree_writes(&p.name, &operands, &st, e);
    program_specials(p, &operands, &st, e);
    {
        let seen = |names: &[&str]| st.seen.iter().any(|o| names.contains(&o.as_str()));
        let invoked = e.program.clone();
        targets::build_targets(&invoked, &p.name, &operands, &seen, &st.values, e);
    }
    let here = Word {
        text: ".".into(),
        literal: true,
    };
    if is_tar && st.in_place {
        // Extraction writes the archive's members into the directory in
        // force.
        e.extracts.push(WritePath {
            path: here.clone(),
            dirs: e.dirs.clone(),
        });
    }
    if p.name == "unzip" {
        let lists = ["-l", "-t", "-v", "-Z", "-p", "-c", "-z", "-h", "--help"];
        if !st.seen.iter().any(|o| lists.contains(&o.as_str())) && !operands.is_empty() {
            let dirs = match e
                .writes
                .iter()
                .rev()
                .find(|_| st.seen.iter().any(|o| o == "-d"))
            {
                Some(w) => {
                    let mut d = w.dirs.clone();
                    d.push(w.path.clone());
                    d
                }
                None => e.dirs.clone(),
            };
            e.extracts.push(WritePath {
                path: here.clone(),
                dirs,
            });
        }
    }
    let write = |e: &mut Effects, (w, dirs): &(Word, Vec<Word>)| {
        e.writes.push(WritePath {
            path: w.clone(),
            dirs: dirs.clone(),
        });
    };
    if st.in_place {
        for o in &operands {
            write(e, o);
        }
        return;
    }
    match p.operands {
        Operands::Paths => {}
        Operands::Writes | Operands::AllWrites => {
            for o in &operands {
                write(e, o);
            }
        }
        Operands::LastWrites => {
            if !st.wrote_by_option
                && let Some(last) = operands.last()
            {
                write(e, last);
            }
        }
        Operands::Command => {
            // Fewer operands than `skip`: no command (`timeout --help`).
        }
        Operands::Script => {
            // No script (or `-`): the program comes from the input.
            let asks_version = st.seen.iter().any(|o| {
                matches!(
                    o.as_str(),
                    "--version"
                        | "-V"
                        | "--help"
                        | "-h"
                        | "-VV"
                        | "-c"
                        | "-e"
                        | "-E"
                        | "-p"
                        | "--eval"
                        | "--print"
                        | "-r"
                )
            }) || (st.seen.iter().any(|o| o == "-v")
                && !e.program.starts_with("python")
                && !matches!(
                    e.program.as_str(),
                    "bash" | "sh" | "dash" | "zsh" | "ksh" | "mksh" | "ash" | "yash"
                ));
            if !asks_version
                && operands
                    .first()
                    .is_none_or(|(w, _)| matches!(w.text.as_str(), "-" | "/dev/stdin"))
            {
                e.code
                    .push(format!("{} (reads its program from its input)", e.program));
            }
            if let Some((w, dirs)) = operands.first() {
                e.runs.push(WritePath {
                    path: w.clone(),
                    dirs: dirs.clone(),
                });
                // The script's own arguments: a path outside the workspace
                // given to the workspace's code is where it may write
                // (`python3 x.py /tmp/x`), as for node's and cargo run's.
                for (w, dirs) in &operands[1..] {
                    let t = w.text.split_once('=').map_or(w.text.as_str(), |(_, v)| v);
                    e.project_paths.push(WritePath {
                        path: Word {
                            text: t.to_string(),
                            literal: w.literal,
                        },
                        dirs: dirs.clone(),
                    });
                }
                // setuptools' `setup.py install` (and `develop`,
                // `easy_install`) writes the interpreter's site-packages,
                // whose `.pth` files run at every start.
                if last_component_is(&w.text, "setup.py")
                    && operands[1..].iter().any(|(o, _)| {
                        matches!(o.text.as_str(), "install" | "develop" | "easy_install")
                    })
                {
                    e.elsewhere.push(format!(
                        "{} (it installs into the interpreter's site-packages)",
                        w.text
                    ));
                }
            }
        }
        Operands::Code => {
            if !operands.is_empty() {
                let text: Vec<&str> = operands.iter().map(|(w, _)| w.text.as_str()).collect();
                e.code.push(format!("{} {}", p.name, text.join(" ")));
            }
        }
        Operands::Pids => {
            // `%N`, `%+`, `%name`: a job of this shell, started on the line
            // itself. Anything else (a number, `$pid`, `$(pgrep x)`) may be
            // any process of the user: corral's server, an editor.
            let lists = st.seen.iter().any(|o| {
                matches!(
                    o.as_str(),
                    "-l" | "-L" | "--list" | "-list" | "--table" | "-table"
                )
            });
            let job = |w: &Word| w.literal && w.text.starts_with('%');
            for (w, _) in operands.iter().filter(|_| !lists) {
                if !job(w) {
                    e.processes.push(format!("{} {}", p.name, w.text));
                }
            }
        }
        Operands::None => {
            if let Some((w, _)) = operands.first() {
                e.unknown
                    .push(format!("{} takes no operands ({})", p.name, w.text));
            }
        }
    }
}

/// Reads one option word (and its value from `next`, if it takes one);
/// returns how many of `next` it used.
fn read_option(
    p: &Program,
    lookup: &dyn Fn(&str) -> Option<Opt>,
    w: &Word,
    next: &[Word],
    e: &mut Effects,
    st: &mut State,
) -> usize {
    let t = w.text.as_str();
    let mut used = 0;
    let mut apply = |opt: Opt, name: &str, value: Option<Word>, e: &mut Effects| {
        let shown = match &value {
            Some(v) => format!("{name} {}", v.text),
            None => name.to_string(),
        };
        if p.name == "sed"
            && matches!(name, "-e" | "--expression")
            && let Some(v) = &value
        {
            st.sed_scripts.push(v.text.clone());
        }
        st.seen.push(name.to_string());
        if let Some(v) = &value {
            st.values.push((name.to_string(), v.text.clone()));
            // A project program's option value that names a path outside
            // the workspace may be code it loads (`eslint --format=/tmp/x.js`,
            // `mocha --reporter=../r.js`): placed like its operands.
            if p.effect == Some(ProgramEffect::Project) && v.literal {
                for part in path_list(&p.name, name, v) {
                    if part.text.starts_with('/')
                        || part.text.starts_with('~')
                        || part.text.contains("..")
                    {
                        e.project_paths.push(WritePath {
                            path: part,
                            dirs: e.dirs.clone(),
                        });
                    }
                }
            }
            // pytest-cov's `--cov-report=html:DIR` writes DIR.
            if matches!(p.name.as_str(), "pytest" | "coverage")
                && name == "--cov-report"
                && let Some((_, dir)) = v.text.split_once(':')
            {
                e.writes.push(WritePath {
                    path: Word {
                        text: dir.to_string(),
                        literal: v.literal,
                    },
                    dirs: e.dirs.clone(),
                });
            }
            let special = match (p.name.as_str(), name) {
                // A value the shell expands (`-u "ci:$TOKEN"`) may carry a
                // secret to the host.
                ("curl" | "wget", _) if !v.literal => {
                    Some((Class::Network, "a value the shell expands"))
                }
                // A package index by URL: what the tool fetches (and, for
                // an install or sync, runs) comes from that host, and the
                // URL itself may carry data (pip 23, uv, cargo 1.8x).
                (
                    prog,
                    "-i" | "--index-url" | "--extra-index-url" | "--default-index" | "--index",
                ) if ["pip", "uv", "cargo", "poetry", "pdm", "pipx"]
                    .iter()
                    .any(|x| prog.starts_with(x))
                    && (v.text.contains("://") || !v.literal) =>
                {
                    Some((Class::Network, "a package index on that host"))
                }
                // kubectl reads manifests (and kustomizations) by URL.
                (prog, "-f" | "--filename" | "-k" | "--kustomize")
                    if prog.starts_with("kubectl")
                        && (v.text.contains("://") || v.text.starts_with("git@") || !v.literal) =>
                {
                    Some((Class::Network, "a manifest from that host"))
                }
                // Without `=` the value is a cookie file: its values go out.
                ("curl", "-b" | "--cookie") if !v.text.contains('=') => {
                    Some((Class::Network, "sends the cookies in a file"))
                }
                ("sed", "-i" | "--in-place") if v.text.contains(['/', '*']) => {
                    st.sed_backup = Some(v.text.clone());
                    None
                }
                ("tar", "-f" | "--file") if remote(&v.text) => {
                    Some((Class::Network, "an archive on another host"))
                }
                ("set", "-o" | "+o") if !SAFE_SET.contains(&v.text.as_str()) => Some((
                    Class::Code,
                    "a shell option that changes how later commands run",
                )),
                ("cmake", "--target" | "-t") if v.text == "install" => {
                    Some((Class::Code, "installs"))
                }
                _ => None,
            };
            if let Some((class, why)) = special {
                let text = format!("{} {name} {} ({why})", p.name, v.text);
                match class {
                    Class::Network => e.network.push(text),
                    _ => e.code.push(text),
                }
            }
        }
        if p.name == "ln" && matches!(name, "-s" | "--symbolic") {
            st.symbolic = true;
        }
        match opt.class {
            Class::Harmless | Class::Reads => {}
            Class::Writes => {
                // Only a target directory (`cp -t DIR`) takes the place of
                // the last operand.
                if matches!(name, "-t" | "--target-directory") {
                    st.wrote_by_option = true;
                }
                if let Some(v) = value {
                    let dirs = if p.name == "tar" && matches!(name, "-f" | "--file") {
                        st.start_dirs.clone()
                    } else {
                        e.dirs.clone()
                    };
                    e.writes.push(WritePath { path: v, dirs });
                }
            }
            // `python -m MODULE`: the module runs as a program, read in
            // turn by the model (`python -m pytest -p evil` is pytest's).
            // (A module may be the workspace's own file: `-m ls` runs
            // ./ls.py.)
            Class::Code if p.name.starts_with("python") && name == "-m" => {
                st.module.clone_from(&value);
                e.project = true;
            }
            Class::Code => e.code.push(format!("{} {shown}", p.name)),
            Class::Network => e.network.push(format!("{} {shown}", p.name)),
            Class::Process => e.processes.push(format!("{} {shown}", p.name)),
            Class::Chdir => {
                if let Some(v) = value {
                    e.dirs.push(v);
                }
            }
            Class::InPlace => st.in_place = true,
            Class::Runs => {
                if let Some(v) = value {
                    for part in path_list(&p.name, name, &v) {
                        e.runs.push(WritePath {
                            path: part,
                            dirs: e.dirs.clone(),
                        });
                    }
                }
            }
        }
    };
    let unknown = |e: &mut Effects, what: &str| e.unknown.push(format!("{} {what}", p.name));
    if p.style == Style::SingleDash || t.starts_with("--") {
        let (key, attached) = match t.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (t, None),
        };
        let key = if p.style == Style::SingleDash {
            single_dash_key(key)
        } else {
            key.to_string()
        };
        let Some(opt) = lookup(&key) else {
            unknown(e, t);
            return 0;
        };
        let value = match (opt.value, attached) {
            (Value::No, Some(_)) => {
                unknown(e, t);
                return 0;
            }
            (Value::No, None) | (Value::Optional, None) => None,
            (_, Some(v)) => Some(Word {
                text: v.to_string(),
                literal: w.literal,
            }),
            (Value::Required, None) => {
                used = 1;
                next.first().cloned()
            }
            (Value::UntilSemicolon, None) => {
                let end = next
                    .iter()
                    .position(|x| x.text == ";" || x.text == "+")
                    .map_or(next.len(), |n| n + 1);
                used = end;
                let text: Vec<&str> = next[..end].iter().map(|x| x.text.as_str()).collect();
                Some(Word {
                    text: text.join(" "),
                    literal: next[..end].iter().all(|x| x.literal),
                })
            }
        };
        apply(opt, &key, value, e);
        return used;
    }
    // GNU short options, grouped (`+x` for programs with `+` options).
    let sign = if t.starts_with('+') { '+' } else { '-' };
    let body = &t[1..];
    if p.numeric && body.chars().all(|c| c.is_ascii_digit()) {
        return 0;
    }
    let chars: Vec<(usize, char)> = body.char_indices().collect();
    for (idx, (off, c)) in chars.iter().enumerate() {
        let key = format!("{sign}{c}");
        let Some(opt) = lookup(&key) else {
            unknown(e, &key);
            return used;
        };
        let rest = &body[off + c.len_utf8()..];
        match opt.value {
            Value::No => {
                apply(opt, &key, None, e);
                let _ = idx;
            }
            Value::Optional => {
                let v = (!rest.is_empty()).then(|| Word {
                    text: rest.to_string(),
                    literal: w.literal,
                });
                apply(opt, &key, v, e);
                return used;
            }
            Value::Required | Value::UntilSemicolon => {
                let v = if rest.is_empty() {
                    used = 1;
                    next.first().cloned()
                } else {
                    Some(Word {
                        text: rest.trim_start_matches('=').to_string(),
                        literal: w.literal,
                    })
                };
                apply(opt, &key, v, e);
                return used;
            }
        }
    }
    used
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &[&str]) -> Vec<Word> {
        s.iter()
            .map(|t| Word {
                text: t.to_string(),
                literal: true,
            })
            .collect()
    }

    #[test]
    fn builtin_model_loads() {
        let m = Model::builtin().unwrap_or_else(|e| panic!("{e}"));
        for p in ["ls", "git", "cargo", "find", "sed", "sort", "env", "cd"] {
            assert!(m.knows(p), "{p}");
        }
    }

    #[test]
    fn sed_scripts() {
        assert_eq!(sed_effects("1,10p"), Ok(vec![]));
        assert_eq!(sed_effects("s/hello/help/g"), Ok(vec![]));
        assert_eq!(sed_effects("s|a|b|;s/x/y/"), Ok(vec![]));
        assert!(sed_effects("1e rm -rf ~/src").is_err());
        assert!(sed_effects("s/x/id/e").is_err());
        assert_eq!(sed_effects("w /etc/x"), Ok(vec!["/etc/x".to_string()]));
        assert_eq!(
            sed_effects("s/a/b/w ../out"),
            Ok(vec!["../out".to_string()])
        );
        assert!(sed_effects("/x/ e id").is_err());
        assert!(sed_effects("$!N;e id").is_err());
        assert_eq!(sed_effects("/start/,/end/d"), Ok(vec![]));
        assert!(sed_effects("s/unterminated").is_err());
        // GNU sed reads `/` inside a bracket expression literally.
        assert!(sed_effects("/[/b]/e touch x").is_err());
        assert_eq!(sed_effects("/[/b]/w ../x"), Ok(vec!["../x".to_string()]));
        assert_eq!(sed_effects("s/[a-z]/X/g;s/[[:digit:]]\\+/N/"), Ok(vec![]));
        assert!(sed_effects(":a;$e id").is_err());
    }

    #[test]
    fn options_and_values() {
        let m = Model::builtin().unwrap_or_else(|e| panic!("{e}"));
        let l = m.layers(&words(&["sort", "-o", "../.bashrc", "x"]));
        assert_eq!(l[0].writes[0].path.text, "../.bashrc");
        let l = m.layers(&words(&["sort", "--compress-program=./x.sh", "x"]));
        assert!(!l[0].code.is_empty());
        let l = m.layers(&words(&["sort", "--compress-prog=./x.sh", "x"]));
        assert!(!l[0].unknown.is_empty(), "{l:?}");
        let l = m.layers(&words(&["ls", "-la"]));
        assert!(l[0].unknown.is_empty() && l[0].writes.is_empty(), "{l:?}");
        let l = m.layers(&words(&["timeout", "5", "rm", "-rf", "x"]));
        assert_eq!(l.len(), 2, "{l:?}");
        assert_eq!(l[1].writes[0].path.text, "x");
        let l = m.layers(&words(&["git", "-C", ".", "push", "origin"]));
        assert_eq!(l[0].canonical, ["git", "push", "origin"]);
    }
}
