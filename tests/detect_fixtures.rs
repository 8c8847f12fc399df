//! Detection on real screens of Claude Code 2.1.329 (captured at 120x40 by
//! tmux, see tests/fixtures/claude/): every text capture, and the raw PTY byte
//! stream of a whole session replayed through corral's terminal engine.

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
