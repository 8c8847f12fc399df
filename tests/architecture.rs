//! The shape of DESIGN.md §2, enforced: the session manager, the terminal
//! engine and detection never use the UI libraries, and detection is pure.

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
fn session_engine_and_detect_are_ui_free() {
    for file in [
        "src/session/mod.rs",
        "src/session/pty.rs",
        "src/engine/mod.rs",
        "src/engine/grid.rs",
        "src/engine/parser.rs",
        "src/engine/term.rs",
        "src/engine/scrollback.rs",
        "src/detect.rs",
        "src/keys.rs",
        "src/config.rs",
    ] {
        let src = source(file);
        for lib in [
            "ratatui",
            "crossterm",
            "tui_term",
            "crate::ui",
            "crate::app",
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
    let src = source("src/app.rs");
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
