//! Every fixture of every agent (real screens of Claude Code 2.1.329, Codex
//! CLI 0.169.0, Gemini CLI 0.61.0 and Aider 0.86.2, at each captured width)
//! detected with the built-in profiles: state, tool, subject and option kinds
//! as listed in tests/fixtures/expected.tsv. Raw PTY recordings are replayed
//! through the terminal engine too.
//!
//! Fixture names: `<agent>-<state>@<cols>.txt` is a 30-row capture,
//! `<agent>-<state>@<cols>x<rows>.txt` one of that exact size (the `.raw`
//! beside it is replayed at that size). The long-command dialogs
//! (`*-permission-{long,canary,word,typical}@<cols>x<rows>`, see
//! tests/fixtures/LONG-DIALOGS.md) have their ground truth in
//! tests/fixtures/expected-long.tsv (same columns), checked by
//! `long_command_dialogs_are_extracted_exactly`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use corral::detect::{Answer, ScreenSnapshot, Timing, detect};
use corral::engine::Engine;
use corral::profile::Profiles;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The screen size of a `@` capture: (rows, cols) from `@<cols>x<rows>` in
/// its name, else 30 rows and `cols`.
fn size_of(file: &str, cols: u16) -> (u16, u16) {
    file.rsplit_once('@')
        .map(|(_, s)| s.trim_end_matches(".txt"))
        .and_then(|s| s.split_once('x'))
        .and_then(|(c, r)| Some((r.parse().ok()?, c.parse().ok()?)))
        .unwrap_or((30, cols))
}

/// The data rows of an expectations table (`expected*.tsv`).
fn table_rows(name: &str) -> Vec<String> {
    std::fs::read_to_string(dir().join(name))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// The title at capture time, from `<agent>-titles.tsv` (narrow `@` captures
/// have none: their raw recordings carry it).
fn title(agent: &str, file: &str) -> String {
    if file.contains('@') {
        return String::new();
    }
    let key = file
        .trim_end_matches(".txt")
        .trim_start_matches(&format!("{agent}-"))
        .split('@')
        .next()
        .unwrap_or("")
        .to_string();
    std::fs::read_to_string(dir().join(agent).join(format!("{agent}-titles.tsv")))
        .unwrap_or_default()
        .lines()
        .find(|l| l.split('\t').next() == Some(key.as_str()))
        .and_then(|l| l.split('\t').nth(1))
        .filter(|t| !t.starts_with("Gi="))
        .unwrap_or("")
        .trim_end()
        .to_string()
}

#[test]
fn every_fixture_at_every_width_is_detected() {
    let profiles = Profiles::builtin().unwrap_or_else(|e| panic!("{e}"));
    let table =
        std::fs::read_to_string(dir().join("expected.tsv")).unwrap_or_else(|e| panic!("{e}"));
    let mut listed = BTreeSet::new();
    let mut failures = Vec::new();
    for line in table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let f: Vec<&str> = line.split('\t').collect();
        let [agent, file, cols, state, tool, subject, kinds] = f.as_slice() else {
            panic!("bad expected.tsv line: {line:?}");
        };
        listed.insert(format!("{agent}/{file}"));
        let profile = profiles
            .get(agent)
            .unwrap_or_else(|| panic!("no profile {agent}"));
        let text = std::fs::read_to_string(dir().join(agent).join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let cols: u16 = cols.parse().unwrap_or(120);
        let snap = ScreenSnapshot::from_text(&text, cols, &title(agent, file));
        // Captures were taken while the program was live: output had just
        // arrived (this matters only for time-based rules).
        let d = detect(
            &profile,
            &snap,
            Timing {
                since_output_ms: Some(200),
            },
        );
        let got_kinds: Vec<&str> = d
            .prompt
            .as_ref()
            .map(|p| p.options.iter().map(|o| o.kind.name()).collect())
            .unwrap_or_default();
        let ok = if *state == "exited" {
            d.prompt.is_none()
        } else {
            d.state.label() == *state
                && d.prompt.as_ref().map_or("", |p| p.tool.as_str()) == *tool
                && d.prompt.as_ref().map_or("", |p| p.subject.as_str()) == *subject
                && got_kinds.join(",") == *kinds
        };
        if !ok {
            failures.push(format!(
                "{agent}/{file} @{cols}: want {state} {tool:?} {subject:?} [{kinds}], got {} {:?} {:?} [{}] (rule {})",
                d.state.label(),
                d.prompt.as_ref().map_or("", |p| p.tool.as_str()),
                d.prompt.as_ref().map_or("", |p| p.subject.as_str()),
                got_kinds.join(","),
                d.rule
            ));
        }
        if let Some(p) = &d.prompt {
            // Every prompt can be denied, with keys from the dialog or the
            // profile's fallback.
            assert!(
                p.keys_for(Answer::Deny).is_ok(),
                "{agent}/{file}: no deny keys"
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Every fixture has an expectation (the long-command dialogs in
    // expected-long.tsv).
    for line in table_rows("expected-long.tsv") {
        let f: Vec<&str> = line.split('\t').collect();
        listed.insert(format!("{}/{}", f[0], f.get(1).unwrap_or(&"")));
    }
    for agent in ["claude", "codex", "gemini", "aider"] {
        for e in std::fs::read_dir(dir().join(agent)).unwrap_or_else(|e| panic!("{e}")) {
            let name = e
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.ends_with(".txt") && !name.ends_with("-version.txt") {
                assert!(
                    listed.contains(&format!("{agent}/{name}")),
                    "{agent}/{name} has no row in expected.tsv"
                );
            }
        }
    }
}

/// Replays a raw recording up to each capture's byte offset (from the
/// titles file) at 120x40 and checks the state matches expected.tsv.
fn replay(agent: &str) -> usize {
    let profiles = Profiles::builtin().unwrap_or_else(|e| panic!("{e}"));
    let profile = profiles.get(agent).unwrap_or_else(|| panic!("no profile"));
    let raw = std::fs::read(dir().join(agent).join(format!("{agent}-session.raw")))
        .unwrap_or_else(|e| panic!("{e}"));
    let table = std::fs::read_to_string(dir().join("expected.tsv")).unwrap_or_default();
    let titles = std::fs::read_to_string(dir().join(agent).join(format!("{agent}-titles.tsv")))
        .unwrap_or_default();
    let mut checked = 0;
    for line in titles.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let Some(off) = cols
            .iter()
            .find_map(|c| c.strip_prefix("raw_bytes="))
            .and_then(|n| n.parse::<usize>().ok())
        else {
            continue;
        };
        let file = format!("{agent}-{}.txt", cols[0]);
        let Some(want) = table
            .lines()
            .find(|l| l.split('\t').nth(1) == Some(file.as_str()))
            .and_then(|l| l.split('\t').nth(3))
        else {
            continue;
        };
        if want == "exited" {
            continue;
        }
        let mut e = Engine::new(40, 120, 1000);
        e.process(&raw[..off.min(raw.len())]);
        let snap = e.snapshot();
        let d = detect(
            &profile,
            &snap,
            Timing {
                since_output_ms: Some(200),
            },
        );
        assert_eq!(
            d.state.label(),
            want,
            "{file} at byte {off}: rule {} {:?}\n{}",
            d.rule,
            d.evidence,
            snap.rows.join("\n")
        );
        checked += 1;
    }
    checked
}

/// Narrow captures (`<agent>-<state>@<cols>.txt`, 30 rows) come with the raw
/// PTY bytes up to the capture: replayed through the engine at that size they
/// give the same detection as the text.
#[test]
fn narrow_raw_captures_replay_to_the_same_detection() {
    let profiles = Profiles::builtin().unwrap_or_else(|e| panic!("{e}"));
    let table = std::fs::read_to_string(dir().join("expected.tsv")).unwrap_or_default();
    let mut checked = 0;
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        let [agent, file, cols, state, tool, subject, _kinds] = f.as_slice() else {
            continue;
        };
        if !file.contains('@') {
            continue;
        }
        let raw_path = dir().join(agent).join(file.replace(".txt", ".raw"));
        let raw =
            std::fs::read(&raw_path).unwrap_or_else(|e| panic!("{}: {e}", raw_path.display()));
        let (rows, cols) = size_of(file, cols.parse().unwrap_or(80));
        let mut e = Engine::new(rows, cols, 1000);
        e.process(&raw);
        let snap = e.snapshot();
        let profile = profiles
            .get(agent)
            .unwrap_or_else(|| panic!("no profile {agent}"));
        let d = detect(
            &profile,
            &snap,
            Timing {
                since_output_ms: Some(200),
            },
        );
        assert_eq!(
            d.state.label(),
            *state,
            "{agent}/{file}: rule {}\n{}",
            d.rule,
            snap.rows.join("\n")
        );
        assert_eq!(
            d.prompt.as_ref().map_or("", |p| p.tool.as_str()),
            *tool,
            "{agent}/{file}"
        );
        assert_eq!(
            d.prompt.as_ref().map_or("", |p| p.subject.as_str()),
            *subject,
            "{agent}/{file}"
        );
        checked += 1;
    }
    assert!(checked >= 12, "only {checked} narrow raw captures");
}

/// The permission dialogs of long commands that wrap (captured at 40x30,
/// 60x30, 80x24 and 120x40): the text capture and the raw recording replayed
/// at its size both give the exact command as subject. Whether corral may
/// call it exact is checked too: only a command on one row is (nor anything
/// read from a text capture of Aider: no reverse video).
/// A `<agent>/<file>` capture's text, and its two screens at `(rows, cols)`:
/// the text as captured and its `.raw` bytes replayed through the engine.
fn text_and_raw(
    agent: &str,
    file: &str,
    (rows, cols): (u16, u16),
) -> (String, [(&'static str, ScreenSnapshot); 2]) {
    let text = std::fs::read_to_string(dir().join(agent).join(file))
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    let raw = std::fs::read(dir().join(agent).join(file.replace(".txt", ".raw")))
        .unwrap_or_else(|e| panic!("{file} (raw): {e}"));
    let mut e = Engine::new(rows, cols, 1000);
    e.process(&raw);
    let snaps = [
        ("text", ScreenSnapshot::from_text(&text, cols, "")),
        ("raw", e.snapshot()),
    ];
    (text, snaps)
}

#[test]
fn long_command_dialogs_are_extracted_exactly() {
    let profiles = Profiles::builtin().unwrap_or_else(|e| panic!("{e}"));
    let mut failures = Vec::new();
    let mut checked = 0;
    for line in table_rows("expected-long.tsv") {
        let f: Vec<&str> = line.split('\t').collect();
        let [agent, file, cols, state, tool, subject, kinds] = f.as_slice() else {
            panic!("bad expected-long.tsv line: {line:?}");
        };
        let profile = profiles
            .get(agent)
            .unwrap_or_else(|| panic!("no profile {agent}"));
        let (rows, cols) = size_of(file, cols.parse().unwrap_or(80));
        let (text, snaps) = text_and_raw(agent, file, (rows, cols));
        for (how, snap) in snaps {
            let d = detect(
                &profile,
                &snap,
                Timing {
                    since_output_ms: Some(200),
                },
            );
            let got_kinds: Vec<&str> = d
                .prompt
                .as_ref()
                .map(|p| p.options.iter().map(|o| o.kind.name()).collect())
                .unwrap_or_default();
            let got = (
                d.state.label().to_string(),
                d.prompt.as_ref().map_or("", |p| p.tool.as_str()),
                d.prompt.as_ref().map_or("", |p| p.subject.as_str()),
                got_kinds.join(","),
            );
            let exact = d.prompt.as_ref().is_some_and(|p| p.incomplete.is_none());
            // A command on one row is read exactly; one broken over rows is
            // not provable from the screen (a wrap and a line break at the
            // same place look the same), so never called exact.
            let one_row = text.lines().any(|l| l.contains(*subject));
            // Aider's subjects are never exact: the model's text reaches
            // the screen with its escapes (the profile's
            // `model-text-with-escapes` check).
            if *agent == "aider" {
                let why = d.prompt.as_ref().and_then(|p| p.incomplete);
                if why.is_none() {
                    failures.push(format!("{agent}/{file} ({how}): called exact"));
                }
            } else if exact != one_row {
                failures.push(format!(
                    "{agent}/{file} ({how}): exact {exact} ({:?}), but the command is {}",
                    d.prompt.as_ref().and_then(|p| p.incomplete),
                    if one_row {
                        "on one row"
                    } else {
                        "broken over rows"
                    }
                ));
            }
            if (got.0.as_str(), got.1, got.2, got.3.as_str()) != (*state, *tool, *subject, *kinds) {
                failures.push(format!(
                    "{agent}/{file} ({how}, {cols}x{rows}): want {state} {tool:?} {subject:?} [{kinds}], got {} {:?} {:?} [{}] (rule {})",
                    got.0, got.1, got.2, got.3, d.rule
                ));
            }
            checked += 1;
        }
    }
    assert!(checked >= 96, "only {checked} checks");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Claude Code in a pane shorter than its dialog scrolls the option list
/// (`↓ 2. …`, `↑ 5 more lines`) and hides the header: still a permission
/// dialog (the pane must not look `starting`), and never exact, so no rule
/// and no key answers it until the person sees it whole.
#[test]
fn claude_in_a_short_pane_is_waiting_for_permission_and_never_exact() {
    let profiles = Profiles::builtin().unwrap_or_else(|e| panic!("{e}"));
    let profile = profiles
        .get("claude")
        .unwrap_or_else(|| panic!("no claude"));
    for file in [
        "claude-permission-typical@80x10.txt",
        "claude-permission-typical@50x17.txt",
        "claude-permission-typical@40x20.txt",
    ] {
        let (_, snaps) = text_and_raw("claude", file, size_of(file, 80));
        for (how, snap) in snaps {
            let d = detect(&profile, &snap, Timing::default());
            assert_eq!(d.state.label(), "needs-permission", "{file} ({how})");
            let p = d
                .prompt
                .unwrap_or_else(|| panic!("{file} ({how}): no prompt"));
            assert_eq!(
                p.incomplete,
                Some(corral::detect::Incomplete::CutOff),
                "{file} ({how}): {} {:?}",
                p.tool,
                p.subject
            );
        }
    }
}

#[test]
fn raw_recordings_replay_to_the_same_states() {
    assert!(replay("claude") >= 10);
    assert!(replay("gemini") >= 10);
}

#[test]
fn aider_never_offers_approve_always() {
    let profiles = Profiles::builtin().unwrap_or_else(|e| panic!("{e}"));
    let aider = profiles.get("aider").unwrap_or_else(|| panic!("no aider"));
    for f in [
        "aider-07-prompt-run-shell.txt",
        "aider-16-prompt-add-file-group.txt",
    ] {
        let text = std::fs::read_to_string(dir().join("aider").join(f)).unwrap_or_default();
        let d = detect(
            &aider,
            &ScreenSnapshot::from_text(&text, 120, ""),
            Timing::default(),
        );
        let p = d.prompt.unwrap_or_else(|| panic!("{f}: no prompt"));
        let err = p
            .keys_for(Answer::ApproveAlways)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("no approve-always"), "{f}: {err}");
        // `d` (don't ask again) is never an approve.
        assert!(p.options.iter().all(
            |o| !(o.label.starts_with("Don't") && o.kind != corral::detect::AnswerKind::Other)
        ));
    }
}

#[test]
fn gemini_never_sends_the_external_editor_option() {
    let profiles = Profiles::builtin().unwrap_or_else(|e| panic!("{e}"));
    let g = profiles
        .get("gemini")
        .unwrap_or_else(|| panic!("no gemini"));
    let text = std::fs::read_to_string(dir().join("gemini/gemini-permission-edit.txt"))
        .unwrap_or_default();
    let p = detect(
        &g,
        &ScreenSnapshot::from_text(&text, 120, ""),
        Timing::default(),
    )
    .prompt
    .unwrap_or_else(|| panic!("no prompt"));
    for a in [Answer::ApproveOnce, Answer::ApproveAlways, Answer::Deny] {
        let keys = p.keys_for(a).unwrap_or_default();
        assert_ne!(
            keys,
            vec![corral::keys::KeyPress::ch('3')],
            "{a} would open the editor"
        );
    }
    assert_eq!(
        p.keys_for(Answer::Deny),
        Ok(vec![corral::keys::KeyPress::ch('4')])
    );
}

#[test]
fn codex_keys_are_single_letters() {
    let profiles = Profiles::builtin().unwrap_or_else(|e| panic!("{e}"));
    let c = profiles.get("codex").unwrap_or_else(|| panic!("no codex"));
    for (f, always) in [
        ("codex-04-prompt-exec.txt", 'p'),
        ("codex-11-prompt-patch-create.txt", 'a'),
    ] {
        let text = std::fs::read_to_string(dir().join("codex").join(f)).unwrap_or_default();
        let p = detect(
            &c,
            &ScreenSnapshot::from_text(&text, 120, ""),
            Timing::default(),
        )
        .prompt
        .unwrap_or_else(|| panic!("no prompt"));
        let k = |s: &str| {
            s.parse::<corral::keys::KeyPress>()
                .unwrap_or_else(|e| panic!("{e}"))
        };
        assert_eq!(p.keys_for(Answer::ApproveOnce), Ok(vec![k("y")]));
        assert_eq!(
            p.keys_for(Answer::ApproveAlways),
            Ok(vec![corral::keys::KeyPress::ch(always)])
        );
        assert_eq!(p.keys_for(Answer::Deny), Ok(vec![k("esc")]));
    }
}
