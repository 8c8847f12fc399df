//! Output locations that a tool's own config file sets, read at decision
//! time: `tsc` with no input files compiles the project its
//! `tsconfig.json` describes, and writes where its `outDir`, `outFile`,
//! `declarationDir` and `tsBuildInfoFile` say (TypeScript 5.6), which the
//! command line does not show.

use std::path::{Path, PathBuf};

/// Where a project's `tsc` writes, by the tsconfig it finds from `start`
/// (a directory, walked up as tsc does, or a config file given by `-p`):
/// each output option with its absolute path, and whether imported JSON
/// modules are copied into `outDir` (`resolveJsonModule`).
///
/// Errors: why the outputs cannot be known: a config that does not parse,
/// or one that `extends` another (its options may come from there).
pub fn tsconfig_outputs(start: &Path) -> Result<(Vec<(String, PathBuf)>, bool), String> {
    let file = if start.is_file() {
        start.to_path_buf()
    } else {
        match start
            .ancestors()
            .map(|d| d.join("tsconfig.json"))
            .find(|f| f.is_file())
        {
            Some(f) => f,
            None => return Ok((Vec::new(), false)),
        }
    };
    let dir = file.parent().unwrap_or(Path::new("/")).to_path_buf();
    let text = std::fs::read_to_string(&file)
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
    let mut out = Vec::new();
    for key in [
        "outDir",
        "outFile",
        "out",
        "declarationDir",
        "tsBuildInfoFile",
    ] {
        match options.and_then(|o| o.get(key)) {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::String(p)) => out.push((key.to_string(), dir.join(p))),
            Some(_) => return Err(format!("{key} in {} is not a path", file.display())),
        }
    }
    let json = options
        .and_then(|o| o.get("resolveJsonModule"))
        .is_some_and(|v| v.as_bool() != Some(false));
    let copies_json = json && out.iter().any(|(k, _)| k == "outDir");
    Ok((out, copies_json))
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
        let (out, json) = tsconfig_outputs(&dir.join("src")).expect("reads");
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
