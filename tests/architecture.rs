//! The shape of DESIGN.md §2, enforced: the module graph (derived from the
//! `crate::` paths in the source) has no cycle and its leaves depend on
//! nothing; the session manager, the terminal engine and detection never use
//! the UI libraries; detection is pure.

use std::path::Path;

fn source(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel))
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Non-comment lines before the unit tests.
fn code_lines(src: &str) -> impl Iterator<Item = &str> {
    let end = src.find("#[cfg(test)]").unwrap_or(src.len());
    src[..end]
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("//"))
}

#[test]
fn server_engine_and_detect_are_ui_free() {
    // Every file of the server, as it grows.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let server: Vec<String> = rust_files(&root.join("src/server"))
        .iter()
        .map(|p| {
            p.strip_prefix(root)
                .unwrap_or(p)
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert!(
        server.iter().any(|f| f.ends_with("approvals/answer.rs")),
        "{server:?}"
    );
    assert!(server.len() >= 8, "{server:?}");
    for file in server.iter().map(String::as_str).chain([
        "src/proto.rs",
        "src/engine/mod.rs",
        "src/engine/grid.rs",
        "src/engine/parser.rs",
        "src/engine/term.rs",
        "src/engine/scrollback.rs",
        "src/detect.rs",
        "src/keys.rs",
        "src/config.rs",
        "src/sandbox.rs",
    ]) {
        let src = source(file);
        for lib in [
            "ratatui",
            "crossterm",
            "tui_term",
            "crate::client::ui",
            "crate::client::app",
            "crate::client",
        ] {
            assert!(
                !code_lines(&src).any(|l| l.contains(lib)),
                "{file} must not use {lib}"
            );
        }
    }
}

#[test]
fn detect_does_no_io_and_reads_no_clock() {
    let src = source("src/detect.rs");
    for banned in [
        "std::fs",
        "std::net",
        "std::process",
        "Instant",
        "SystemTime",
        "std::io",
    ] {
        assert!(
            !code_lines(&src).any(|l| l.contains(banned)),
            "detect.rs uses {banned}"
        );
    }
}

#[test]
fn app_update_does_no_io() {
    let src = source("src/client/app/mod.rs");
    for banned in [
        "std::fs",
        "std::io",
        "std::process",
        "Instant::now",
        "println!",
        "crossterm",
    ] {
        assert!(
            !code_lines(&src).any(|l| l.contains(banned)),
            "app.rs uses {banned}"
        );
    }
}

/// Every edge `from -> to` between corral's top-level modules, read from the
/// `crate::to` paths (plain and grouped `use crate::{a, b}`) in each file
/// under `src/` before its unit tests.
fn module_graph() -> std::collections::BTreeSet<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap_or_else(|e| panic!("{e}")).path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut edges = std::collections::BTreeSet::new();
    for f in files {
        let rel = f.strip_prefix(&root).unwrap_or(&f);
        let from = rel
            .components()
            .next()
            .map(|c| {
                c.as_os_str()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_string()
            })
            .unwrap_or_default();
        let src = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{e}"));
        for line in code_lines(&src) {
            for (i, _) in line.match_indices("crate::") {
                let rest = &line[i + "crate::".len()..];
                let targets: Vec<String> = match rest.strip_prefix('{') {
                    Some(group) => group
                        .split(',')
                        .map(|t| ident(t.trim()))
                        .filter(|t| !t.is_empty())
                        .collect(),
                    None => vec![ident(rest)],
                };
                for to in targets {
                    if !to.is_empty() && to != from {
                        edges.insert((from.clone(), to));
                    }
                }
            }
        }
    }
    edges
}

#[test]
fn the_module_graph_has_no_cycle_and_leaves_depend_on_nothing() {
    let edges = module_graph();
    assert!(edges.len() > 20, "the graph was not read: {edges:?}");
    let reaches = |a: &str, b: &str| {
        let mut seen = std::collections::BTreeSet::new();
        let mut todo = vec![a.to_string()];
        while let Some(n) = todo.pop() {
            if n == b {
                return true;
            }
            for (x, y) in &edges {
                if *x == n && seen.insert(y.clone()) {
                    todo.push(y.clone());
                }
            }
        }
        false
    };
    let cycles: Vec<_> = edges.iter().filter(|(a, b)| reaches(b, a)).collect();
    assert!(cycles.is_empty(), "edges on a cycle: {cycles:?}");
    // Leaves: shared types, key notation, patterns.
    for leaf in ["model", "keys", "pattern", "sandbox"] {
        let out: Vec<_> = edges.iter().filter(|(a, _)| a == leaf).collect();
        assert!(out.is_empty(), "{leaf} must depend on nothing: {out:?}");
    }
    // Nothing below the client reaches up into it.
    for lower in [
        "session", "engine", "detect", "policy", "config", "profile", "model", "keys",
    ] {
        for upper in ["app", "ui", "client"] {
            assert!(!reaches(lower, upper), "{lower} reaches {upper}: {edges:?}");
        }
    }
    // The server has no web code: `corral web` is a client of it.
    for x in ["web", "client"] {
        assert!(!reaches("server", x), "server reaches {x}");
    }
    // Detection is pure: no engine, no session.
    for x in ["engine", "session"] {
        assert!(!reaches("detect", x), "detect reaches {x}");
    }
}

#[test]
fn main_only_dispatches() {
    let src = source("src/main.rs");
    let code: Vec<&str> = code_lines(&src).filter(|l| !l.is_empty()).collect();
    assert!(code.len() < 30, "src/main.rs grew: {} lines", code.len());
    for l in &code {
        if let Some(path) = l.strip_prefix("use ") {
            assert!(
                path.starts_with("std::") || path.starts_with("clap::"),
                "main.rs uses {path}"
            );
        }
    }
    assert!(
        src.contains("corral::cli::dispatch"),
        "main.rs dispatches to cli"
    );
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap_or_else(|e| panic!("{e}")).path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// The rooms of the source and the edges between them: a room is a
/// top-level module, and inside `server/` each file or directory below it
/// (`server::manager`, `server::approvals`, `server::ctl`); `server` itself
/// is the server's face (`server/mod.rs`), which holds every server room.
/// Read from `crate::` paths and `super::` chains, resolved against each
/// file's own module path.
fn room_graph() -> (
    std::collections::BTreeSet<String>,
    std::collections::BTreeSet<(String, String)>,
) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let server_rooms: Vec<String> = std::fs::read_dir(root.join("server"))
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() || p.extension().is_some_and(|x| x == "rs"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|n| n != "mod")
        .collect();
    let room_of = |path: &[String]| -> String {
        match path {
            [s, r, ..] if s == "server" && server_rooms.contains(r) => format!("server::{r}"),
            [top, ..] => top.clone(),
            [] => String::new(),
        }
    };
    let mut rooms = std::collections::BTreeSet::new();
    let mut edges = std::collections::BTreeSet::new();
    for r in &server_rooms {
        edges.insert(("server".to_string(), format!("server::{r}")));
    }
    for f in rust_files(&root) {
        let rel = f.strip_prefix(&root).unwrap_or(&f);
        let mut module: Vec<String> = rel
            .components()
            .map(|c| {
                c.as_os_str()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_string()
            })
            .collect();
        if module
            .last()
            .is_some_and(|l| l == "mod" || l == "lib" || l == "main")
        {
            module.pop();
        }
        let from = room_of(&module);
        if from.is_empty() {
            continue;
        }
        rooms.insert(from.clone());
        let src = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{e}"));
        for line in code_lines(&src) {
            let mut targets: Vec<Vec<String>> = Vec::new();
            for (i, _) in line.match_indices("crate::") {
                if line[..i].ends_with("::") || line[..i].ends_with(|c: char| c.is_alphanumeric()) {
                    continue;
                }
                let rest = &line[i + "crate::".len()..];
                let mut path = Vec::new();
                let mut rest = rest;
                loop {
                    let id = ident(rest);
                    if id.is_empty() {
                        break;
                    }
                    rest = &rest[id.len()..];
                    path.push(id);
                    match rest.strip_prefix("::") {
                        Some(r) => rest = r,
                        None => break,
                    }
                }
                match rest.strip_prefix('{') {
                    Some(group) => {
                        for t in group.split(',') {
                            let mut p = path.clone();
                            p.push(ident(t.trim()));
                            targets.push(p);
                        }
                    }
                    None => targets.push(path),
                }
            }
            for (i, _) in line.match_indices("super::") {
                if line[..i].ends_with("super::")
                    || line[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                {
                    continue;
                }
                let mut base = module.clone();
                let mut rest = &line[i..];
                while let Some(r) = rest.strip_prefix("super::") {
                    base.pop();
                    rest = r;
                }
                let id = ident(rest);
                let after = &rest[id.len()..];
                let mut first = base.clone();
                first.push(id);
                match after.strip_prefix("::") {
                    Some(r) if !ident(r).is_empty() => {
                        first.push(ident(r));
                        targets.push(first);
                    }
                    _ => targets.push(first),
                }
                if let Some(group) = rest.strip_prefix('{') {
                    for t in group.split(',') {
                        let mut p = base.clone();
                        p.push(ident(t.trim()));
                        targets.push(p);
                    }
                }
            }
            for t in targets {
                let to = room_of(&t);
                if !to.is_empty() && to != from {
                    edges.insert((from.clone(), to));
                }
            }
        }
    }
    (rooms, edges)
}

/// The rooms of `src/` (every top-level module, and the rooms inside
/// `server/`) depend on one another without a circle; the approvals room
/// uses no other room of the server; the server's face holds no code; no
/// file of the server is much over 800 lines.
#[test]
fn the_rooms_have_no_cycle_and_approvals_stands_alone() {
    let (rooms, edges) = room_graph();
    for r in [
        "server::approvals",
        "server::manager",
        "server::session",
        "server::handle",
        "server::clients",
        "server::ctl",
        "server::view",
        "server::host",
    ] {
        assert!(rooms.contains(r), "{r} not read: {rooms:?}");
    }
    let reaches = |a: &str, b: &str| {
        let mut seen = vec![a.to_string()];
        let mut i = 0;
        while i < seen.len() {
            let at = seen[i].clone();
            if at == b {
                return true;
            }
            for (x, y) in &edges {
                if *x == at && !seen.contains(y) {
                    seen.push(y.clone());
                }
            }
            i += 1;
        }
        false
    };
    let cycles: Vec<_> = edges.iter().filter(|(a, b)| reaches(b, a)).collect();
    assert!(cycles.is_empty(), "rooms on a cycle: {cycles:?}");
    // The reading works: edges the code is known to have.
    for (a, b) in [
        ("server::ctl", "server::clients"),
        ("server::manager", "server::approvals"),
        ("server::handle", "server::manager"),
        ("server::approvals", "detect"),
    ] {
        assert!(
            edges.contains(&(a.into(), b.into())),
            "{a} -> {b}: {edges:?}"
        );
    }
    // Approvals stand alone in the server.
    let out: Vec<_> = edges
        .iter()
        .filter(|(a, b)| a == "server::approvals" && b.starts_with("server"))
        .collect();
    assert!(out.is_empty(), "approvals uses {out:?}");
    // The manager never reaches up to whoever holds its handle.
    for up in [
        "server::handle",
        "server::clients",
        "server::view",
        "server::ctl",
        "server::host",
    ] {
        assert!(!reaches("server::manager", up), "the manager reaches {up}");
    }
    // The face only names rooms and re-exports.
    let face = source("src/server/mod.rs");
    for l in code_lines(&face).filter(|l| !l.is_empty()) {
        assert!(
            l.starts_with("mod ")
                || l.starts_with("pub mod ")
                || l.starts_with("pub use ")
                || !l.contains(|c: char| c == '(' || c == '{' && !l.starts_with("pub use")),
            "src/server/mod.rs holds code: {l}"
        );
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/server");
    for f in rust_files(&root) {
        let n = std::fs::read_to_string(&f)
            .unwrap_or_default()
            .lines()
            .count();
        assert!(n <= 850, "{} has {n} lines", f.display());
    }
}
