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
    let server: Vec<String> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/server"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| {
            format!(
                "src/server/{}",
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            )
        })
        .collect();
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

/// The files of `src/server/` (but its `mod.rs`, the room that still holds
/// the manager) depend on one another without a circle: read from their
/// `super::FILE` paths (plain and grouped `use super::{a, b}`).
#[test]
fn the_server_files_have_no_cycle() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/server");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|n| n != "mod")
        .collect();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut edges = std::collections::BTreeSet::new();
    for from in &names {
        let src = source(&format!("src/server/{from}.rs"));
        for line in code_lines(&src) {
            for (i, _) in line.match_indices("super::") {
                let rest = &line[i + "super::".len()..];
                let targets: Vec<String> = match rest.strip_prefix('{') {
                    Some(group) => group.split(',').map(|t| ident(t.trim())).collect(),
                    None => vec![ident(rest)],
                };
                for to in targets {
                    if names.contains(&to) && &to != from {
                        edges.insert((from.clone(), to));
                    }
                }
            }
        }
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
    assert!(cycles.is_empty(), "server files on a cycle: {cycles:?}");
    // The seam the ctl/host circle went through (and the reading works).
    assert!(
        !edges.contains(&("clients".into(), "ctl".into())),
        "{edges:?}"
    );
    assert!(
        edges.contains(&("ctl".into(), "clients".into())),
        "{edges:?}"
    );
}
