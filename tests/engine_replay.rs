//! `Engine::replay`: every recorded agent stream (the real CLIs' PTY bytes in
//! tests/fixtures), cut at several points; the replay of the engine at each
//! cut, fed to a fresh engine, rebuilds it (screen, scrollback, cursor,
//! modes, title), and both then take the rest of the stream alike (the pen,
//! the scroll region and the saved cursor came across too).

use std::path::{Path, PathBuf};

use corral::engine::Engine;

fn raws() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    let mut dirs = vec![root];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap_or_else(|e| panic!("{e}")).path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "raw") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// (rows, cols) of a capture from its name: `@CxR`, `@C` (30 rows), else
/// 40x120.
fn size(p: &Path) -> (u16, u16) {
    let name = p
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Some((_, s)) = name.rsplit_once('@') else {
        return (40, 120);
    };
    match s.split_once('x') {
        Some((c, r)) => (r.parse().unwrap_or(40), c.parse().unwrap_or(120)),
        None => (30, s.parse().unwrap_or(120)),
    }
}

/// What differs between two engines, in words; empty when they are alike.
fn differences(a: &Engine, b: &Engine) -> Vec<String> {
    let mut d = Vec::new();
    let (sa, sb) = (a.live_screen(), b.live_screen());
    for (i, (ra, rb)) in sa.rows().iter().zip(sb.rows()).enumerate() {
        if ra != rb {
            d.push(format!(
                "screen row {i}: {:?} (wrapped {}) vs {:?} (wrapped {})",
                ra.text(),
                ra.wrapped(),
                rb.text(),
                rb.wrapped()
            ));
        }
    }
    if sa.cursor_position() != sb.cursor_position() {
        d.push(format!(
            "cursor {:?} vs {:?}",
            sa.cursor_position(),
            sb.cursor_position()
        ));
    }
    if sa.hide_cursor() != sb.hide_cursor() {
        d.push("cursor visibility".into());
    }
    if a.alternate_screen() != b.alternate_screen() {
        d.push("alternate screen".into());
    }
    if a.input_modes() != b.input_modes() {
        d.push(format!("{:?} vs {:?}", a.input_modes(), b.input_modes()));
    }
    if a.title() != b.title() {
        d.push(format!("title {:?} vs {:?}", a.title(), b.title()));
    }
    if a.scrollback_len() != b.scrollback_len() {
        d.push(format!(
            "scrollback {} vs {} rows",
            a.scrollback_len(),
            b.scrollback_len()
        ));
    } else {
        let cols = sa.size().1;
        for (i, (x, y)) in a.scrollback().zip(b.scrollback()).enumerate() {
            if x.expand(cols) != y.expand(cols) {
                d.push(format!(
                    "scrollback row {i}: {:?} (wrapped {}) vs {:?} (wrapped {})",
                    x.text(),
                    x.wrapped(),
                    y.text(),
                    y.wrapped()
                ));
            }
        }
    }
    d
}

#[test]
fn a_replay_rebuilds_the_engine_and_both_go_on_alike() {
    let files = raws();
    assert!(files.len() > 50, "only {} recordings", files.len());
    let mut failures = Vec::new();
    let mut checked = 0;
    for f in &files {
        let bytes = std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let (rows, cols) = size(f);
        for cut in [bytes.len() / 3, bytes.len() * 2 / 3, bytes.len()] {
            // Cut where the stream is between sequences (a server snapshots
            // there too): move on byte by byte until the parser is at rest.
            let mut a = Engine::new(rows, cols, 500);
            a.process(&bytes[..cut]);
            let mut cut = cut;
            while !a.at_rest() && cut < bytes.len() {
                a.process(&bytes[cut..cut + 1]);
                cut += 1;
            }
            let mut b = Engine::new(rows, cols, 500);
            b.process(&a.replay());
            let now = differences(&a, &b);
            a.process(&bytes[cut..]);
            b.process(&bytes[cut..]);
            let after = differences(&a, &b);
            let name = f.file_name().map(|n| n.to_string_lossy().into_owned());
            for (when, diff) in [("at the cut", now), ("after the rest", after)] {
                if !diff.is_empty() {
                    failures.push(format!(
                        "{name:?} cut at {cut}/{} ({when}): {}",
                        bytes.len(),
                        diff.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
                    ));
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 150, "only {checked} cuts");
    assert!(
        failures.is_empty(),
        "{} of {checked} cuts differ:\n{}",
        failures.len(),
        failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn a_replay_keeps_colours_wide_characters_and_soft_wraps() {
    let mut a = Engine::new(6, 20, 100);
    let s = "\x1b[1;31mred\x1b[0m 漢字 \x1b[48;2;1;2;3mbg\x1b[K\r\n\x1b[0m\
             a soft-wrapped line that runs past twenty columns\r\n\
             \x1b[38;5;200mx\x1b[0m\x1b[5X\x1b[6Cy\r\n\
             \x1b[2;5r\x1b[?2004h\x1b[?1000h\x1b[?1006h\x1b]2;title\x07\x1b[4;3H\x1b[7m";
    a.process(s.as_bytes());
    for _ in 0..12 {
        a.process(b"more rows to scroll\r\n");
    }
    let mut b = Engine::new(6, 20, 100);
    b.process(&a.replay());
    assert_eq!(differences(&a, &b), Vec::<String>::new());
    // The pen and the scroll region came across: both draw the same.
    a.process(b"inverse\x1b[1;1Hhome\x1b[5;1H\n\n\nscrolled in the region");
    b.process(b"inverse\x1b[1;1Hhome\x1b[5;1H\n\n\nscrolled in the region");
    assert_eq!(differences(&a, &b), Vec::<String>::new());
    // On the alternate screen, with the primary kept behind it.
    a.process(b"\x1b[?1049h\x1b[3;3Halt text\x1b[?25l");
    let mut c = Engine::new(6, 20, 100);
    c.process(&a.replay());
    assert_eq!(differences(&a, &c), Vec::<String>::new());
    a.process(b"\x1b[?1049l");
    c.process(b"\x1b[?1049l");
    assert_eq!(differences(&a, &c), Vec::<String>::new());
}
