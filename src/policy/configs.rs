//! Output locations that a tool's own config file sets, read at decision
//! time: `tsc` with no input files compiles the project its
//! `tsconfig.json` describes (and, with `-b`, the projects it references),
//! and writes where its `outDir`, `outFile`, `declarationDir` and
//! `tsBuildInfoFile` say, or beside each input (TypeScript 5.6); ruff and
//! uv keep their caches where their config says. The command line shows
//! none of it.

use std::path::{Path, PathBuf};

/// Where a project's `tsc` writes, by the tsconfig it would use.
#[derive(Debug, Default)]
pub struct TsOutputs {
    /// Each output option (`outDir`, `outFile` ...) with its absolute path,
    /// from the config and every config it references (`tsc -b`).
    pub outputs: Vec<(String, PathBuf)>,
    /// `resolveJsonModule` with an `outDir`: imported JSON is copied there
    /// under its own name.
    pub copies_json: bool,
    /// Without an output directory, files emitted beside their inputs that
    /// land on a protected name (`.pnpmfile.cts` makes `.pnpmfile.cjs`),
    /// and inputs the config names outside its directory (`../x/*.ts`):
    /// absolute paths.
    pub beside: Vec<PathBuf>,
}

/// Where a project's `tsc` writes, by the tsconfig it finds from `start`
/// (a directory, walked up as tsc does, or a config file given by `-p`),
/// following `references` (what `tsc -b` builds) at most 8 deep.
///
/// Errors: why the outputs cannot be known: a config that does not parse,
/// one that `extends` another (its options may come from there), a tree
/// too big to look through.
pub fn tsconfig_outputs(start: &Path) -> Result<TsOutputs, String> {
    let file = if start.is_file() {
        start.to_path_buf()
    } else {
        match start
            .ancestors()
            .map(|d| d.join("tsconfig.json"))
            .find(|f| f.is_file())
        {
            Some(f) => f,
            None => return Ok(TsOutputs::default()),
        }
    };
    let mut found = TsOutputs::default();
    let mut seen = Vec::new();
    read_tsconfig(&file, 0, &mut seen, &mut found)?;
    Ok(found)
}

fn read_tsconfig(
    file: &Path,
    depth: usize,
    seen: &mut Vec<PathBuf>,
    found: &mut TsOutputs,
) -> Result<(), String> {
    if depth > 8 || seen.len() > 64 {
        return Err("its tsconfig references go too deep".into());
    }
    if seen.iter().any(|s| s == file) {
        return Ok(());
    }
    seen.push(file.to_path_buf());
    let dir = file.parent().unwrap_or(Path::new("/")).to_path_buf();
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("{} cannot be read: {e}", file.display()))?;
    if text.len() > 1 << 20 {
        return Err(format!("{} is over 1 MiB", file.display()));
    }
    let value: serde_json::Value = serde_json::from_str(&strip_jsonc(&text))
        .map_err(|e| format!("{} does not parse: {e}", file.display()))?;
    if value.get("extends").is_some() {
        return Err(format!(
            "{} extends another config, whose options corral does not read",
            file.display()
        ));
    }
    let options = value.get("compilerOptions");
    let mut outs = Vec::new();
    for key in [
        "outDir",
        "outFile",
        "out",
        "declarationDir",
        "tsBuildInfoFile",
    ] {
        match options.and_then(|o| o.get(key)) {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::String(p)) => outs.push((key.to_string(), dir.join(p))),
            Some(_) => return Err(format!("{key} in {} is not a path", file.display())),
        }
    }
    let json = options
        .and_then(|o| o.get("resolveJsonModule"))
        .is_some_and(|v| v.as_bool() != Some(false));
    let no_emit = options
        .and_then(|o| o.get("noEmit"))
        .is_some_and(|v| v.as_bool() == Some(true));
    let has_dir = outs
        .iter()
        .any(|(k, _)| matches!(k.as_str(), "outDir" | "outFile" | "out"));
    found.copies_json |= json && outs.iter().any(|(k, _)| k == "outDir");
    if !no_emit && !has_dir {
        // Emitted beside each input: inputs named outside the config's
        // directory, and inputs under it whose outputs are protected.
        for key in ["files", "include"] {
            for entry in value
                .get(key)
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
                .filter_map(|e| e.as_str())
            {
                let p = Path::new(entry);
                if p.is_absolute() || p.components().any(|c| c == std::path::Component::ParentDir) {
                    found.beside.push(dir.join(entry));
                }
            }
        }
        let mut budget = 20_000usize;
        emitted_protected(&dir, Path::new(""), 0, &mut budget, &mut found.beside)?;
    }
    found.outputs.extend(outs);
    for r in value
        .get("references")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
    {
        let Some(path) = r.get("path").and_then(|p| p.as_str()) else {
            return Err(format!("a reference in {} has no path", file.display()));
        };
        let target = dir.join(path);
        let target = if target.is_dir() {
            target.join("tsconfig.json")
        } else {
            target
        };
        read_tsconfig(&target, depth + 1, seen, found)?;
    }
    Ok(())
}

/// Outputs tsc emits beside sources under `top` (skipping `node_modules`
/// and `.git`, as tsc does by default) whose names are protected.
fn emitted_protected(
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
        if *budget == 0 || depth > 64 {
            return Err("its project has too many files to look through".into());
        }
        *budget -= 1;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let r = rel.join(name.as_ref());
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if name != "node_modules" && name != ".git" {
                emitted_protected(top, &r, depth + 1, budget, out)?;
            }
        } else if let Some(js) = ts_output(&name) {
            let emitted = r.with_file_name(js);
            if super::protected(&emitted).is_some() {
                out.push(top.join(emitted));
            }
        }
    }
    Ok(())
}

/// The JavaScript file tsc emits for source `t` (TypeScript 5.6): `.ts`
/// and `.tsx` as `.js`, `.mts` as `.mjs`, `.cts` as `.cjs`; none for a
/// declaration file.
pub(crate) fn ts_output(t: &str) -> Option<String> {
    [
        (".d.ts", None),
        (".mts", Some(".mjs")),
        (".cts", Some(".cjs")),
        (".tsx", Some(".js")),
        (".ts", Some(".js")),
        (".jsx", Some(".js")),
    ]
    .iter()
    .find_map(|(ext, to)| {
        t.strip_suffix(ext)
            .and_then(|stem| to.map(|to| format!("{stem}{to}")))
    })
}

/// The cache directories ruff and uv use by their config files (found
/// walking up from `start`): ruff's `cache-dir` in `.ruff.toml`,
/// `ruff.toml` or `[tool.ruff]` of `pyproject.toml` (ruff 0.17), uv's in
/// `uv.toml` or `[tool.uv]` (uv 0.13); absolute.
///
/// Errors: a config file of theirs that does not parse.
pub fn cache_dirs(program: &str, start: &Path) -> Result<Vec<PathBuf>, String> {
    let (files, table): (&[&str], &str) = match program {
        "ruff" => (&[".ruff.toml", "ruff.toml", "pyproject.toml"], "ruff"),
        "uv" | "uvx" => (&["uv.toml", "pyproject.toml"], "uv"),
        _ => return Ok(Vec::new()),
    };
    let mut out = Vec::new();
    for dir in start.ancestors() {
        for name in files {
            let file = dir.join(name);
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let value: toml::Value = toml::from_str(&text)
                .map_err(|e| format!("{} does not parse: {e}", file.display()))?;
            let section = if *name == "pyproject.toml" {
                match value.get("tool").and_then(|t| t.get(table)) {
                    Some(s) => s,
                    None => continue,
                }
            } else {
                &value
            };
            if let Some(c) = section.get("cache-dir") {
                match c.as_str() {
                    Some(p) if !p.starts_with('~') && !p.starts_with('$') => out.push(dir.join(p)),
                    _ => {
                        return Err(format!(
                            "cache-dir in {} is not a plain path",
                            file.display()
                        ));
                    }
                }
            }
            // The first config found is the one in force.
            return Ok(out);
        }
    }
    Ok(out)
}

/// The names `go build` may give the binary of the package in `dir`: the
/// last element of its import path (go 1.23, `DefaultExecName`). In a
/// module root that path is `go.mod`'s `module` line; below it, the
/// directory's own name ends it. A major-version element (`/v2`) gives
/// way to the one before it: both are returned, as neither the package
/// clause nor the go version is read.
///
/// Errors: a `go.mod` that cannot be read or names no module.
pub fn go_binary_names(dir: &Path) -> Result<Vec<String>, String> {
    let gomod = dir.join("go.mod");
    let own = || {
        dir.file_name()
            .map(|n| vec![n.to_string_lossy().into_owned()])
            .unwrap_or_default()
    };
    if !gomod.exists() {
        return Ok(own());
    }
    let text = std::fs::read_to_string(&gomod)
        .map_err(|e| format!("{} cannot be read: {e}", gomod.display()))?;
    let path = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or("").trim())
        .find_map(|l| l.strip_prefix("module"))
        .map(|rest| rest.trim().trim_matches(|c| c == '"' || c == '`').trim())
        .filter(|p| !p.is_empty() && !p.starts_with('('))
        .ok_or_else(|| format!("{} names no module go build can read", gomod.display()))?;
    let mut elems = path.rsplit('/');
    let mut names = Vec::new();
    if let Some(last) = elems.next() {
        names.push(last.to_string());
        if last.len() > 1
            && last.starts_with('v')
            && last[1..].bytes().all(|b| b.is_ascii_digit())
            && let Some(prev) = elems.next()
        {
            names.push(prev.to_string());
        }
    }
    Ok(names)
}

/// What the workspace's `.envrc` makes code (direnv 2.32's stdlib): the
/// scripts it sources (`source_env`, `source_env_if_exists`, `source`,
/// `.`), the dotenv files it loads (`dotenv`, `dotenv_if_exists`), the
/// files it watches, the Nix files `use flake`/`use nix` evaluate, and the
/// directories `PATH_add` puts first on `PATH`. direnv authorises the
/// `.envrc` alone: a change to any of these runs without a new `direnv
/// allow`. Only literal words are read; a `.envrc` of more than 64 KiB is
/// not.
pub fn envrc_paths(top: &Path) -> Vec<super::repo::ConfigPath> {
    let Ok(text) = std::fs::read_to_string(top.join(".envrc")) else {
        return Vec::new();
    };
    if text.len() > 64 * 1024 {
        return vec![super::repo::ConfigPath {
            path: top.to_path_buf(),
            key: ".envrc too big to read".into(),
        }];
    }
    let mut out = Vec::new();
    let mut add = |rel: &str, key: &str| {
        let rel = rel.trim_matches(['"', '\'']);
        // `$(expand_path x)` is x; `$PWD/x`, `${PWD}/x`, `~+/x` are the
        // workspace's `x`.
        let rel = rel
            .strip_prefix("$(expand_path ")
            .and_then(|r| r.strip_suffix(')'))
            .unwrap_or(rel)
            .trim_matches(['"', '\'']);
        let rel = ["$PWD/", "${PWD}/", "$(pwd)/", "~+/"]
            .iter()
            .find_map(|p| rel.strip_prefix(p))
            .unwrap_or(rel);
        if rel.is_empty() || rel.starts_with(['$', '~', '-']) || rel.contains('$') {
            return;
        }
        let path = super::place::lexical(&top.join(rel)).unwrap_or_else(|| top.join(rel));
        if path.starts_with(top) && path != top {
            out.push(super::repo::ConfigPath {
                path,
                key: format!(".envrc: {key}"),
            });
        }
    };
    // Continued lines joined; commands split at `;`, `&&`, `||`, `|`.
    let joined = text.replace("\\\n", " ");
    let commands = joined
        .lines()
        .map(|l| l.split(" #").next().unwrap_or(""))
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| {
            l.split([';', '&', '|'])
                .map(str::to_string)
                .collect::<Vec<_>>()
        });
    for command in commands {
        let words = envrc_words(&command);
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let Some((cmd, args)) = words.split_first() else {
            continue;
        };
        // `PATH=$PWD/bin:$PATH` without export: .envrc runs in bash, and
        // direnv exports what changed.
        if let Some((var, value)) = cmd.split_once('=')
            && !var.is_empty()
            && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            for part in value.split([':', ' ', '=']).chain(args.iter().copied()) {
                if !part.is_empty() {
                    add(part, "an assignment");
                }
            }
            continue;
        }
        match *cmd {
            "source_env"
            | "source_env_if_exists"
            | "source"
            | "."
            | "dotenv"
            | "dotenv_if_exists"
            | "watch_file"
            | "PATH_add"
            | "path_add"
            | "load_prefix"
            | "watch_dir"
            | "env_vars_required" => {
                // `dotenv` with no file loads `.env`; `path_add VAR DIR`.
                let files: &[&str] = match *cmd {
                    "path_add" => args.get(1..).unwrap_or_default(),
                    "env_vars_required" => &[],
                    _ => args,
                };
                if files.is_empty() && cmd.starts_with("dotenv") {
                    add(".env", cmd);
                }
                for f in files {
                    add(f, cmd);
                }
            }
            // direnv's layouts put directories of the workspace first on
            // PATH (`.direnv/` holds their environments); their arguments
            // may name a program they run (`layout anaconda env ./conda`).
            "layout" => {
                add(".direnv", "layout");
                match args.first().copied() {
                    Some("node") => add("node_modules/.bin", "layout node"),
                    Some("php") => add("vendor/bin", "layout php"),
                    Some("pipenv") => {
                        add("Pipfile", "layout pipenv");
                        add(".venv", "layout pipenv");
                    }
                    Some("go" | "ruby" | "perl") => add("bin", "layout"),
                    _ => {}
                }
                for a in args.iter().skip(1) {
                    add(a, "layout");
                }
            }
            // `export NAME=VALUE` (`PATH=$PWD/bin:$PATH`, `LD_PRELOAD`,
            // `PYTHONPATH`, `NODE_OPTIONS=--require ./x.js` ...): every
            // path its value names in the workspace.
            "export" | "declare" | "typeset" | "local" | "readonly" => {
                let rest = args.join(" ");
                if let Some((_, value)) = rest.split_once('=') {
                    for part in value.split([':', ' ', '=']) {
                        if !part.is_empty() {
                            add(part, "export");
                        }
                    }
                }
            }
            "use" => {
                match args.first().copied() {
                    Some("flake") => {
                        add("flake.nix", "use flake");
                        add("flake.lock", "use flake");
                    }
                    Some("nix") => {
                        add("shell.nix", "use nix");
                        add("default.nix", "use nix");
                    }
                    Some("guix") => {
                        for f in ["channels.scm", "manifest.scm", "guix.scm"] {
                            add(f, "use guix");
                        }
                    }
                    Some("vim") => add(".vimrc.local", "use vim"),
                    _ => {}
                }
                for a in args.iter().skip(1) {
                    add(a, "use");
                }
            }
            _ => {}
        }
    }
    out
}

/// One `.envrc` command's words, quotes removed (`load_prefix "my pfx"`
/// is one word). Escapes and expansions are kept as written.
fn envrc_words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in command.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            (None, c) => word.push(c),
        }
    }
    if any || !word.is_empty() {
        words.push(word);
    }
    words
}

/// Directories on corral's own `PATH` inside the workspace `top` (an agent
/// started from a direnv shell inherits `PATH_add bin`): a file written
/// there runs by name, in place of a program (`bin/git`).
pub fn path_dirs(top: &Path) -> Vec<super::repo::ConfigPath> {
    let Some(path) = std::env::var_os("PATH") else {
        return Vec::new();
    };
    std::env::split_paths(&path)
        .filter(|d| d.is_absolute())
        .map(|d| std::fs::canonicalize(&d).unwrap_or(d))
        .filter(|d| d.starts_with(top) && d != top)
        .map(|d| super::repo::ConfigPath {
            path: d,
            key: "a directory on PATH".into(),
        })
        .collect()
}

/// JSON with comments (`//`, `/* */`) and trailing commas, as tsc reads
/// it, made plain JSON: comments become spaces, a comma before `}` or `]`
/// is dropped. Strings are kept as written.
fn strip_jsonc(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            out.push(c);
            i += 1;
            while i < chars.len() {
                out.push(chars[i]);
                if chars[i] == '\\' && i + 1 < chars.len() {
                    out.push(chars[i + 1]);
                    i += 2;
                    continue;
                }
                i += 1;
                if chars[i - 1] == '"' {
                    break;
                }
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
            out.push(' ');
        } else if c == ',' {
            let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
            if !matches!(next, Some('}' | ']')) {
                out.push(c);
            }
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_trailing_commas_are_read_as_tsc_reads_them() {
        let t = "{ // c\n \"a\": \"x//y\", /* b */ \"c\": [1, 2,],\n}";
        let v: serde_json::Value = serde_json::from_str(&strip_jsonc(t)).expect("parses");
        assert_eq!(v["a"], "x//y");
        assert_eq!(v["c"][1], 2);
    }

    #[test]
    fn outputs_resolve_in_the_configs_directory() {
        let dir = std::env::temp_dir().join(format!("corral-tsconfig-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("src")).expect("mkdir");
        std::fs::write(
            dir.join("tsconfig.json"),
            "{\"compilerOptions\": {\"outFile\": \".git/config\", \"outDir\": \"../x\", \"resolveJsonModule\": true}}",
        )
        .expect("write");
        let found = tsconfig_outputs(&dir.join("src")).expect("reads");
        let (out, json) = (&found.outputs, found.copies_json);
        assert!(
            out.contains(&("outFile".into(), dir.join(".git/config"))),
            "{out:?}"
        );
        assert!(
            out.contains(&("outDir".into(), dir.join("../x"))),
            "{out:?}"
        );
        assert!(json);
        std::fs::write(dir.join("tsconfig.json"), "{\"extends\": \"./base.json\"}").expect("write");
        assert!(tsconfig_outputs(&dir).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
