//! The command model against hostile and benign commands
//! (`tests/fixtures/policy/model-*.toml`): under the one allow rule each
//! case names (a rule a careful user would write, or allow-everything), a
//! hostile command is never approved automatically and a benign one is;
//! under a deny rule every spelling of the command is denied.

use std::path::{Path, PathBuf};

use corral::policy::{Policy, PolicyRule, Subject, Verdict};
use serde::Deserialize;

#[derive(Deserialize)]
struct Cases {
    #[serde(default)]
    case: Vec<Case>,
    #[serde(default)]
    deny: Vec<DenyCase>,
    #[serde(default)]
    file: Vec<FileCase>,
    #[serde(default)]
    setup: Setup,
}

/// What a fixture's workspace holds beyond the default (paths relative to
/// it).
#[derive(Deserialize, Default)]
struct Setup {
    #[serde(default)]
    dirs: Vec<String>,
    #[serde(default)]
    files: Vec<String>,
    /// `[name, target]` symbolic links.
    #[serde(default)]
    links: Vec<[String; 2]>,
    /// The text of `n.txt`.
    #[serde(default)]
    n_txt: Option<String>,
    /// `[path, text]` files with a text of their own.
    #[serde(default)]
    texts: Vec<[String; 2]>,
}

#[derive(Deserialize)]
struct FileCase {
    tool: String,
    path: String,
    rule: String,
    expect: String,
    #[serde(default)]
    why: String,
}

#[derive(Deserialize)]
struct Case {
    command: String,
    rule: String,
    expect: String,
    #[serde(default)]
    why: String,
    /// The tool (default `Bash`).
    #[serde(default)]
    tool: Option<String>,
    /// The workspace, relative to the fixture's (default: the fixture's):
    /// a slot or hook started in `.git` or `.vscode`.
    #[serde(default)]
    cwd: Option<String>,
}

#[derive(Deserialize)]
struct DenyCase {
    command: String,
    rule: String,
    expect: String,
}

fn rule(toml_src: &str) -> PolicyRule {
    toml::from_str(toml_src).unwrap_or_else(|e| panic!("{toml_src}: {e}"))
}

fn allow_rule(subject: &str) -> PolicyRule {
    if subject == "*" {
        rule("name = \"all\"\ndecision = \"allow\"\n")
    } else {
        rule(&format!(
            "name = \"case\"\ndecision = \"allow\"\ntool = \"Bash\"\nsubject = {subject:?}\n"
        ))
    }
}

/// A fresh workspace like the cases assume: `src/lib.rs`, `README.md`,
/// `notes.txt`, `Cargo.toml`, `package.json`.
fn workspace(name: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("corral-model-{}-{name}", std::process::id()))
        .join("project");
    std::fs::create_dir_all(dir.join("src")).unwrap_or_else(|e| panic!("{e}"));
    for f in [
        "src/lib.rs",
        "README.md",
        "notes.txt",
        "Cargo.toml",
        "package.json",
    ] {
        std::fs::write(dir.join(f), "x\n").unwrap_or_else(|e| panic!("{e}"));
    }
    // A link out of the workspace, for the path model to follow.
    let _ = std::os::unix::fs::symlink("..", dir.join("link"));
    dir
}

fn decide(p: &Policy, cmd: &str, cwd: &Path) -> (Verdict, String) {
    let s = Subject {
        cwd: Some(cwd),
        ..Subject::new("s", "r", "claude", "Bash", cmd)
    };
    let d = p.decide(&s);
    (d.verdict, d.reason)
}

fn run(file: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/policy")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    let cases: Cases = toml::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    let ws = workspace(file);
    let ok = |r: std::io::Result<()>| r.unwrap_or_else(|e| panic!("{file}: setup: {e}"));
    for d in &cases.setup.dirs {
        ok(std::fs::create_dir_all(ws.join(d)));
    }
    for f in &cases.setup.files {
        ok(std::fs::write(ws.join(f), "x\n"));
    }
    for [name, target] in &cases.setup.links {
        ok(std::os::unix::fs::symlink(target, ws.join(name)));
    }
    for [name, text] in &cases.setup.texts {
        if let Some(parent) = ws.join(name).parent() {
            ok(std::fs::create_dir_all(parent));
        }
        ok(std::fs::write(ws.join(name), text));
    }
    if let Some(t) = &cases.setup.n_txt {
        ok(std::fs::write(ws.join("n.txt"), t));
    }
    let mut wrong = Vec::new();
    let (mut benign, mut hostile) = (0, 0);
    for c in &cases.case {
        let p = Policy::new(vec![allow_rule(&c.rule)], vec![]);
        let command = c.command.replace("@WS@", &ws.to_string_lossy());
        let here = c.cwd.as_ref().map_or_else(|| ws.clone(), |d| ws.join(d));
        let (v, reason) = match &c.tool {
            None => decide(&p, &command, &here),
            Some(tool) => {
                let d = p.decide(&Subject {
                    cwd: Some(&here),
                    ..Subject::new("s", "r", "claude", tool, &command)
                });
                (d.verdict, d.reason)
            }
        };
        let want = match c.expect.as_str() {
            "allow" => {
                benign += 1;
                Verdict::Allow
            }
            "ask" => {
                hostile += 1;
                Verdict::Ask
            }
            other => panic!("{file}: expect {other:?}"),
        };
        // A hostile case must never be allowed; a deny is as good as an ask.
        let ok = match want {
            Verdict::Allow => v == Verdict::Allow,
            _ => v != Verdict::Allow,
        };
        if !ok {
            wrong.push(format!(
                "  [{}] {:?} under {:?}: {} ({reason}){}",
                c.expect,
                c.command,
                c.rule,
                v.name(),
                if c.why.is_empty() {
                    String::new()
                } else {
                    format!(" -- case says: {}", c.why)
                }
            ));
        }
    }
    for c in &cases.deny {
        let p = Policy::new(
            vec![rule(&format!(
                "name = \"deny\"\ndecision = \"deny\"\nsubject = {:?}\n",
                c.rule
            ))],
            vec![],
        );
        let (v, reason) = decide(&p, &c.command, &ws);
        let ok = match c.expect.as_str() {
            "deny" => v == Verdict::Deny,
            "not-deny" => v != Verdict::Deny,
            other => panic!("{file}: expect {other:?}"),
        };
        if !ok {
            wrong.push(format!(
                "  [deny:{}] {:?} under {:?}: {} ({reason})",
                c.expect,
                c.command,
                c.rule,
                v.name()
            ));
        }
    }
    for c in &cases.file {
        let p = Policy::new(
            vec![rule(&format!(
                "name = \"case\"\ndecision = \"allow\"\ntool = {:?}\nsubject = {:?}\n",
                c.tool, c.rule
            ))],
            vec![],
        );
        let path = c.path.replace("@WS@", &ws.to_string_lossy());
        let s = Subject {
            cwd: Some(&ws),
            ..Subject::new("s", "r", "claude", &c.tool, &path)
        };
        let d = p.decide(&s);
        let ok = match c.expect.as_str() {
            "allow" => d.verdict == Verdict::Allow,
            "ask" => d.verdict != Verdict::Allow,
            other => panic!("{file}: expect {other:?}"),
        };
        if !ok {
            wrong.push(format!(
                "  [file:{}] {} {path:?} under {:?}: {} ({}) {}",
                c.expect,
                c.tool,
                c.rule,
                d.verdict.name(),
                d.reason,
                c.why
            ));
        }
    }
    let _ = std::fs::remove_dir_all(ws.parent().unwrap_or(&ws));
    assert!(
        wrong.is_empty(),
        "{file}: {} of {} cases ({benign} benign, {hostile} hostile, {} deny) decided wrongly:\n{}",
        wrong.len(),
        cases.case.len() + cases.deny.len(),
        cases.deny.len(),
        wrong.join("\n")
    );
}

#[test]
fn core_utilities() {
    run("model-core.toml");
}

#[test]
fn git() {
    run("model-git.toml");
}

#[test]
fn build_tools_network_and_runners() {
    run("model-build.toml");
}

#[test]
fn shell_constructs_and_paths() {
    run("model-shell.toml");
}

#[test]
fn red_team_findings() {
    run("model-redteam.toml");
}

#[test]
fn fourth_red_team_pass() {
    run("model-redteam2.toml");
}

#[test]
fn fifth_red_team_pass() {
    run("model-redteam3.toml");
}

#[test]
fn ninth_red_team_pass() {
    run("model-redteam4.toml");
}

/// A project tool walks up for its manifest: without one in the workspace,
/// the parent's runs (its npm scripts, its build.rs), outside the rule's
/// reach; with one, it is the workspace's own.
#[test]
fn a_project_above_the_workspace_is_not_the_workspaces() {
    let parent = std::env::temp_dir().join(format!("corral-model-{}-above", std::process::id()));
    let ws = parent.join("ws");
    std::fs::create_dir_all(ws.join("src")).unwrap_or_else(|e| panic!("{e}"));
    for f in ["package.json", "Cargo.toml", "pytest.ini"] {
        std::fs::write(parent.join(f), "x\n").unwrap_or_else(|e| panic!("{e}"));
    }
    let p = Policy::new(vec![allow_rule("*")], vec![]);
    let mut wrong = Vec::new();
    for cmd in [
        "npm test",
        "cargo build",
        "pytest -q",
        "cd src && npm run build",
    ] {
        let (v, reason) = decide(&p, cmd, &ws);
        if v == Verdict::Allow {
            wrong.push(format!("{cmd:?} allowed with the manifest above: {reason}"));
        }
    }
    for f in ["package.json", "Cargo.toml", "pytest.ini"] {
        std::fs::write(ws.join(f), "x\n").unwrap_or_else(|e| panic!("{e}"));
    }
    for cmd in ["npm test", "cargo build", "pytest -q"] {
        let (v, reason) = decide(&p, cmd, &ws);
        if v != Verdict::Allow {
            wrong.push(format!(
                "{cmd:?} not allowed with its own manifest: {reason}"
            ));
        }
    }
    let (v, _) = decide(&p, "mv Cargo.toml src/ && cargo build", &ws);
    if v == Verdict::Allow {
        wrong.push("a manifest moved away on the line is not noticed".into());
    }
    let _ = std::fs::remove_dir_all(&parent);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The tenth stop's cases: a `go build` binary named by go.mod, and what
/// the sixteenth red-team passes found.
#[test]
fn sixteenth_red_team_pass() {
    run("model-redteam5.toml");
}
