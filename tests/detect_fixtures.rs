//! Detection on real screens of Claude Code 2.1.329 (captured at 120x40 by
//! tmux, see tests/fixtures/claude/): every text capture, and the raw PTY byte
//! stream of a whole session replayed through corral's terminal engine. And
//! the passing moments of Codex CLI 0.169.0 and Aider 0.86.2 that
//! `scripts/capture-fixtures.sh --moments` catches, at 40x30, 80x24, 120x40
//! and 200x50: their raw bytes replayed, and their text with its title.

use std::path::PathBuf;

use corral::detect::{AgentState, Answer, AnswerKind, ScreenSnapshot, Timing, detect};
use corral::engine::Engine;
use corral::keys::KeyPress;
use corral::profile::{Profile, Profiles};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/claude")
        .join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Capture name -> title (OSC 0) at capture time, from claude-titles.tsv.
fn title_of(capture: &str) -> String {
    read("claude-titles.tsv")
        .lines()
        .find(|l| l.split('\t').next() == Some(capture))
        .and_then(|l| l.split('\t').nth(1))
        .filter(|t| !t.starts_with("Gi="))
        .unwrap_or("")
        .to_string()
}

fn expected(capture: &str) -> AgentState {
    match capture {
        "working" | "after-approve" => AgentState::Working,
        "permission-bash"
        | "permission-bash2"
        | "permission-bash2-tab-amend"
        | "permission-edit"
        | "permission-write" => AgentState::NeedsPermission,
        "firstrun-api-key" | "firstrun-trust-folder" | "firstrun-auto-mode-offer" => {
            AgentState::NeedsInput
        }
        // The CLI printed its last words and exited; the session manager
        // reports `exited`, the screen alone shows nothing to detect.
        "exited" | "firstrun-unable-to-connect" => AgentState::Starting,
        _ => AgentState::Idle,
    }
}

#[test]
fn every_text_capture_is_detected() {
    let mut n = 0;
    let mut dir: Vec<_> = std::fs::read_dir(fixture(""))
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .filter(|p| !p.ends_with("claude-version.txt"))
        // Narrow `@` captures are checked by tests/agent_fixtures.rs.
        .filter(|p| !p.to_string_lossy().contains('@'))
        .collect();
    dir.sort();
    for p in dir {
        let stem = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let capture = stem.trim_start_matches("claude-");
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{e}"));
        let snap = ScreenSnapshot::from_text(&text, 120, &title_of(capture));
        let d = detect(&claude(), &snap, Timing::default());
        assert_eq!(
            d.state,
            expected(capture),
            "{capture}: rule {} evidence {:?}",
            d.rule,
            d.evidence
        );
        assert_eq!(
            d.prompt.is_some(),
            d.state == AgentState::NeedsPermission,
            "{capture}"
        );
        n += 1;
    }
    assert!(n >= 20, "only {n} captures found");
}

fn prompt_of(capture: &str) -> corral::detect::Prompt {
    let snap = ScreenSnapshot::from_text(&read(&format!("claude-{capture}.txt")), 120, "");
    detect(&claude(), &snap, Timing::default())
        .prompt
        .unwrap_or_else(|| panic!("{capture}: no prompt"))
}

#[test]
fn bash_prompt_tool_subject_and_keys() {
    let p = prompt_of("permission-bash");
    assert_eq!(p.tool, "Bash");
    assert_eq!(p.subject, "echo hello > hello.txt");
    assert_eq!(p.question, "Do you want to proceed?");
    let kinds: Vec<AnswerKind> = p.options.iter().map(|o| o.kind).collect();
    assert_eq!(
        kinds,
        [
            AnswerKind::ApproveOnce,
            AnswerKind::Other,
            AnswerKind::Other,
            AnswerKind::Deny
        ]
    );
    assert_eq!(p.keys_for(Answer::ApproveOnce), Ok(vec![KeyPress::ch('1')]));
    // "2. Yes, and always allow access to DIR" grants directory access; the
    // next identical command still asks (seen with 2.1.329): no approve-always.
    assert!(p.keys_for(Answer::ApproveAlways).is_err());
    // "No" is option 4 in a Bash dialog: found by its label.
    assert_eq!(p.keys_for(Answer::Deny), Ok(vec![KeyPress::ch('4')]));
    assert!(p.options[1].label.contains("always allow access to"));
    assert!(p.options[0].selected);
}

#[test]
fn write_and_edit_prompts_deny_with_three() {
    let w = prompt_of("permission-write");
    assert_eq!(
        (w.tool.as_str(), w.subject.as_str()),
        ("Write", "notes.txt")
    );
    assert_eq!(w.question, "Do you want to create notes.txt?");
    assert_eq!(w.keys_for(Answer::Deny), Ok(vec![KeyPress::ch('3')]));
    let e = prompt_of("permission-edit");
    assert_eq!((e.tool.as_str(), e.subject.as_str()), ("Edit", "README.md"));
    assert_eq!(e.keys_for(Answer::Deny), Ok(vec![KeyPress::ch('3')]));
    assert_eq!(
        e.keys_for(Answer::ApproveAlways),
        Ok(vec![KeyPress::ch('2')])
    );
}

#[test]
fn amend_mode_keeps_the_same_answers() {
    let p = prompt_of("permission-bash2-tab-amend");
    assert_eq!(p.subject, "touch second.txt");
    assert_eq!(p.keys_for(Answer::ApproveOnce), Ok(vec![KeyPress::ch('1')]));
    assert_eq!(p.keys_for(Answer::Deny), Ok(vec![KeyPress::ch('4')]));
}

/// Replays the raw PTY stream of the captured session up to each capture's
/// byte offset and detects on the engine's screen: the state matches the
/// text capture's.
#[test]
fn raw_session_replay_matches_the_captures() {
    let raw = std::fs::read(fixture("claude-session.raw")).unwrap_or_else(|e| panic!("{e}"));
    let titles = read("claude-titles.tsv");
    let mut checked = 0;
    let mut seen_prompt = 0;
    for line in titles.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let Some(off) = cols
            .get(3)
            .and_then(|c| c.strip_prefix("raw_bytes="))
            .and_then(|n| n.parse::<usize>().ok())
        else {
            continue;
        };
        let capture = cols[0];
        let mut e = Engine::new(40, 120, 1000);
        e.process(&raw[..off.min(raw.len())]);
        let snap = e.snapshot();
        let d = detect(&claude(), &snap, Timing::default());
        let want = expected(capture);
        assert_eq!(
            d.state,
            want,
            "{capture} at byte {off}: rule {} evidence {:?}\n{}",
            d.rule,
            d.evidence,
            snap.rows.join("\n")
        );
        if let Some(p) = d.prompt {
            seen_prompt += 1;
            assert!(
                ["Bash", "Write", "Edit"].contains(&p.tool.as_str()),
                "{}",
                p.tool
            );
            assert!(!p.subject.is_empty());
            assert!(p.keys_for(Answer::Deny).is_ok());
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} offsets");
    assert!(seen_prompt >= 3, "only {seen_prompt} prompts in the replay");
}

/// Claude sets its title with OSC 0: the engine keeps it and detection uses it.
#[test]
fn raw_session_titles() {
    let raw = std::fs::read(fixture("claude-session.raw")).unwrap_or_else(|e| panic!("{e}"));
    let mut e = Engine::new(40, 120, 1000);
    let mut titles = std::collections::BTreeSet::new();
    for chunk in raw.chunks(512) {
        if e.process(chunk).title_changed {
            titles.insert(e.title().chars().next().unwrap_or(' '));
        }
    }
    assert!(titles.contains(&'✳'), "{titles:?}");
    assert!(titles.contains(&'◐') || titles.contains(&'◑'), "{titles:?}");
}

fn claude() -> std::sync::Arc<Profile> {
    Profiles::builtin()
        .unwrap_or_else(|e| panic!("{e}"))
        .get("claude")
        .unwrap_or_else(|| panic!("no claude profile"))
}

/// The sizes the moments are captured at (`@<cols>x<rows>` in their names).
const MOMENT_SIZES: [(u16, u16); 4] = [(40, 30), (80, 24), (120, 40), (200, 50)];

/// A moment's capture: its text with the title it had (from
/// `<agent>-titles.tsv`, for a text named `-<cols>x<rows>`), and its raw
/// bytes (`@<cols>x<rows>.raw`) replayed at its size.
fn moment(
    agent: &str,
    name: &str,
    (cols, rows): (u16, u16),
) -> [(&'static str, ScreenSnapshot); 2] {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(agent);
    let file = format!("{agent}-{name}@{cols}x{rows}");
    // A moment told by its title has its text named so that
    // tests/agent_fixtures.rs reads it with its title.
    let titled = dir.join(format!("{agent}-{name}-{cols}x{rows}.txt"));
    let text_path = if titled.exists() {
        titled
    } else {
        dir.join(format!("{file}.txt"))
    };
    let text = std::fs::read_to_string(&text_path)
        .unwrap_or_else(|e| panic!("{}: {e}", text_path.display()));
    let raw = std::fs::read(dir.join(format!("{file}.raw")))
        .unwrap_or_else(|e| panic!("{file}.raw: {e}"));
    let key = format!("{name}-{cols}x{rows}");
    let title = std::fs::read_to_string(dir.join(format!("{agent}-titles.tsv")))
        .unwrap_or_default()
        .lines()
        .find(|l| l.split('\t').next() == Some(key.as_str()))
        .and_then(|l| l.split('\t').nth(1))
        .unwrap_or("")
        .to_string();
    let mut e = Engine::new(rows, cols, 0);
    e.process(&raw);
    let replayed = e.snapshot();
    assert_eq!(
        replayed.title, title,
        "{file}: the title file disagrees with the raw"
    );
    [
        ("text", ScreenSnapshot::from_text(&text, cols, &title)),
        ("raw", replayed),
    ]
}

fn builtin(agent: &str) -> std::sync::Arc<Profile> {
    Profiles::builtin()
        .unwrap_or_else(|e| panic!("{e}"))
        .get(agent)
        .unwrap_or_else(|| panic!("no {agent} profile"))
}

/// Codex streaming its answer hides its status line, and its footer reads
/// as idle; the title's spinner says it works (issue 22).
#[test]
fn codex_streaming_its_answer_without_a_status_line_is_working() {
    let codex = builtin("codex");
    for size in MOMENT_SIZES {
        for (how, snap) in moment("codex", "working-streaming", size) {
            assert!(
                !snap.rows.iter().any(|r| r.contains("esc to interrupt")),
                "{size:?} ({how}): the capture shows the status line"
            );
            // Captured while it streamed: output had just arrived.
            let flowing = Timing {
                since_output_ms: Some(200),
            };
            let d = detect(&codex, &snap, flowing);
            assert_eq!(
                (d.state.clone(), d.rule.as_str()),
                (AgentState::Working, "working-title"),
                "{size:?} ({how}): {:?} {:?}\n{}",
                snap.title,
                d.evidence,
                snap.rows.join("\n")
            );
            // The screen alone says idle: the title is the only sign.
            let mut untitled = snap.clone();
            untitled.title.clear();
            assert_eq!(
                detect(&codex, &untitled, flowing).state,
                AgentState::Idle,
                "{size:?} ({how})"
            );
            // A spinner that no longer turns (a session name the model
            // chose to start with one, on an idle Codex): not working.
            let still = Timing {
                since_output_ms: Some(10_000),
            };
            assert_eq!(
                detect(&codex, &snap, still).state,
                AgentState::Idle,
                "{size:?} ({how}): a still spinner"
            );
        }
    }
}

/// An idle Codex whose answer quotes its status line, a spinner and the
/// escape that sets a title: the plain title says it is idle.
#[test]
fn codex_answer_quoting_its_working_signs_is_idle() {
    let codex = builtin("codex");
    for size in MOMENT_SIZES {
        for (how, snap) in moment("codex", "idle-quoted-status", size) {
            assert_eq!(snap.title, "Mock session | project", "{size:?} ({how})");
            assert!(
                snap.rows
                    .iter()
                    .any(|r| r.contains("• Working (3s • esc to interrupt)")),
                "{size:?} ({how}): no quote on screen"
            );
            let d = detect(&codex, &snap, Timing::default());
            assert_eq!(
                d.state,
                AgentState::Idle,
                "{size:?} ({how}): rule {} {:?}",
                d.rule,
                d.evidence
            );
        }
    }
}

/// The output of a command Aider ran stands between the command and `Add
/// command output to the chat?`: the subject is the command, exact only
/// with the reverse video that marks it (issue 22).
#[test]
fn aider_add_output_names_the_command_that_ran() {
    let aider = builtin("aider");
    let cmd = "echo hi > hi.txt && cat hi.txt";
    let mut screens: Vec<(String, ScreenSnapshot)> = Vec::new();
    for size in MOMENT_SIZES {
        for (how, snap) in moment("aider", "permission-add-output", size) {
            screens.push((format!("{size:?} ({how})"), snap));
        }
    }
    // The tmux capture of tests/fixtures/aider (120x40), with its escapes.
    let ansi = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/aider/aider-08-prompt-add-output.ansi"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut e = Engine::new(40, 120, 0);
    e.process(ansi.trim_end_matches('\n').replace('\n', "\r\n").as_bytes());
    screens.push(("aider-08 (ansi)".into(), e.snapshot()));
    for (name, snap) in screens {
        let d = detect(&aider, &snap, Timing::default());
        let p = d
            .prompt
            .unwrap_or_else(|| panic!("{name}: no prompt ({})", d.rule));
        let attributes = !snap.inverse.is_empty();
        assert_eq!(
            (p.tool.as_str(), p.subject.as_str()),
            ("AddOutput", cmd),
            "{name}"
        );
        // Never exact: the command's output can draw all of this (see the
        // profile's `add-output-drawn-by-output` check and
        // detect_hostile's `aider_screens_drawn_by_escapes_are_not_exact`).
        let _ = attributes;
        assert_eq!(
            p.incomplete,
            Some(corral::detect::Incomplete::Ambiguous),
            "{name}"
        );
        assert!(p.question.starts_with("Add command output to the chat?"));
        // The details view shows the command with its output.
        assert!(
            p.dialog.iter().any(|r| r.contains(cmd)),
            "{name}: {:?}",
            p.dialog
        );
        assert_eq!(
            p.keys_for(Answer::Deny),
            Ok(vec![
                KeyPress::ch('n'),
                KeyPress::plain(corral::keys::KeyCode::Enter)
            ])
        );
    }
}
