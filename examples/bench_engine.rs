//! Micro-benchmarks of the core: bytes per second through the terminal
//! engine (parse) and through parse + detection, for plain text, SGR-coloured
//! text and a real Claude Code session recording. Medians of 5 runs.
//!
//! usage: cargo run --release --example bench_engine

use std::path::Path;
use std::time::Instant;

use corral::detect::{Timing, detect};
use corral::engine::Engine;
use corral::profile::Profiles;

fn inputs() -> Vec<(&'static str, Vec<u8>)> {
    let mut plain = String::new();
    let mut sgr = String::new();
    let mut i = 0u64;
    while plain.len() < 8 << 20 {
        plain.push_str(&format!("{i:>10} the quick brown fox jumps over the lazy dog 0123456789 abcdefghijklmnopqrstuvwxyz\r\n"));
        sgr.push_str(&format!(
            "\x1b[38;5;{}m{i:>10}\x1b[0m \x1b[1;3{}mthe quick brown fox\x1b[0m jumps \x1b[48;2;{};{};{}mover the lazy dog\x1b[0m\r\n",
            i % 256, i % 8, i % 256, (i * 3) % 256, (i * 7) % 256
        ));
        i += 1;
    }
    let raw = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/claude/claude-session.raw"),
    )
    .unwrap_or_default();
    let mut claude = Vec::new();
    while claude.len() < 8 << 20 && !raw.is_empty() {
        claude.extend_from_slice(&raw);
    }
    vec![
        ("plain text", plain.into_bytes()),
        ("SGR text", sgr.into_bytes()),
        ("Claude Code session", claude),
    ]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let profiles = Profiles::builtin().unwrap_or_else(|e| panic!("{e}"));
    let claude = profiles
        .get("claude")
        .unwrap_or_else(|| panic!("no claude profile"));
    println!("| input | parse MiB/s | parse + detect every 64 KiB, MiB/s |");
    println!("| --- | --- | --- |");
    for (name, data) in inputs() {
        let mib = data.len() as f64 / (1 << 20) as f64;
        let mut parse = Vec::new();
        let mut both = Vec::new();
        for _ in 0..5 {
            let mut e = Engine::new(50, 200, 5000);
            let t = Instant::now();
            for chunk in data.chunks(64 << 10) {
                e.process(chunk);
            }
            parse.push(mib / t.elapsed().as_secs_f64());
            let mut e = Engine::new(50, 200, 5000);
            let t = Instant::now();
            for chunk in data.chunks(64 << 10) {
                e.process(chunk);
                let snap = e.snapshot();
                std::hint::black_box(detect(&claude, &snap, Timing::default()));
            }
            both.push(mib / t.elapsed().as_secs_f64());
        }
        println!("| {name} | {:.1} | {:.1} |", median(parse), median(both));
    }
}
