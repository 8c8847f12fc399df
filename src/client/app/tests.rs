use super::*;
use crate::detect::{AnswerKind, PromptOption};
use std::path::Path;

fn config(n: usize) -> Config {
    let mut src = String::new();
    for i in 0..n {
        src.push_str(&format!(
            "[[slot]]\nid = \"s{i}\"\nagent = \"claude\"\ncommand = \"x\"\n"
        ));
    }
    Config::parse(Path::new("t.toml"), &src).unwrap_or_else(|e| panic!("{e}"))
}

fn app(n: usize) -> (App, Instant) {
    let now = Instant::now();
    let km = Keymap::default_keymap().unwrap_or_else(|e| panic!("{e}"));
    let mut a = App::new(&config(n), km, (200, 50), now);
    a.update(Msg::Resize(200, 50), now);
    copies_arrive(&mut a, now);
    (a, now)
}

/// Every slot's whole screen arrives at the size this client gave it,
/// as the server sends it.
fn copies_arrive(a: &mut App, now: Instant) {
    for (slot, (rows, cols)) in a.pane_sizes() {
        a.update(Msg::PtySize { slot, rows, cols }, now);
    }
}

/// The attach view of one slot in a 100x30 terminal, its copy current.
fn attached() -> (App, Instant) {
    let now = Instant::now();
    let km = Keymap::default_keymap().unwrap_or_else(|e| panic!("{e}"));
    let mut a = App::new(&config(1), km, (100, 30), now);
    a.attach_to(0);
    a.update(Msg::Resize(100, 30), now);
    copies_arrive(&mut a, now);
    (a, now)
}

/// A number in the details view chooses its option only on a prompt
/// seen whole there; a deny option's number always denies. The header
/// rows, as wrapped, count against what the view shows.
#[test]
fn numbers_in_details_choose_only_what_was_seen() {
    let (mut a, now) = attached();
    let mut p = prompt(91, "Bash");
    p.options.push(PromptOption {
        number: 2,
        label: "No".into(),
        kind: AnswerKind::Deny,
        keys: vec![KeyPress::ch('2')],
        selected: false,
    });
    p.subject = (0..40)
        .map(|i| format!("echo {i}"))
        .collect::<Vec<_>>()
        .join("\n");
    open(&mut a, 0, p.clone(), now);
    a.modal = Modal::Details(PromptId(91));
    let t = now + Duration::from_secs(2);
    assert!(!a.details_show_subject(&p), "taller than the view");
    assert!(sent(&key(&mut a, "1", t)).is_empty(), "not seen whole");
    a.modal = Modal::Details(PromptId(91));
    let fx = key(&mut a, "2", t);
    assert!(
        fx.iter().any(|f| matches!(
            f,
            Effect::Session(Command::Answer {
                answer: Answer::Select(2),
                ..
            })
        )),
        "{fx:?}"
    );
    // A subject that fits only if the header takes two rows: at 30
    // columns the header takes more, and the subject does not fit.
    let mut q = prompt(92, "Bash");
    q.incomplete = Some(crate::detect::Incomplete::Unprovable);
    q.subject = (0..20)
        .map(|i| format!("e{i}"))
        .collect::<Vec<_>>()
        .join("\n");
    a.size = (30, 24);
    open(&mut a, 0, q.clone(), t);
    let width = details_width(30);
    let header = wrap_cells(&details_header("s0", &q), width).len();
    assert!(header > 2, "{header}");
    assert!(!a.details_show_subject(&q));
}

/// Issue 22 (idle): slots whose states changed at different moments
/// relabel their ages on one shared minute tick, so an idle client wakes
/// at most once a minute for them, and past an hour once an hour.
#[test]
fn slot_ages_wait_for_one_shared_minute_tick() {
    let t0 = Instant::now();
    let km = Keymap::default_keymap().unwrap_or_else(|e| panic!("{e}"));
    let mut a = App::new(&config(8), km, (200, 50), t0);
    a.flash = None;
    for (i, s) in a.slots.iter_mut().enumerate() {
        s.since = t0 + Duration::from_secs(7 * i as u64 + 1);
    }
    let mut wakes = Vec::new();
    let mut now = t0 + Duration::from_secs(1);
    while now < t0 + Duration::from_secs(600) {
        let Some(at) = a.next_deadline(now) else {
            break;
        };
        assert!(at > now);
        wakes.push(at.duration_since(t0).as_secs());
        now = at;
    }
    // One wake a minute, on the minute, for all eight (the first at
    // two minutes: at one, every age read is still under a minute).
    assert_eq!(wakes, (2..=10).map(|m| m * 60).collect::<Vec<_>>());
    // Read on the tick: 1m59s is still shown as of 1m00s.
    let at = t0 + Duration::from_secs(119);
    assert_eq!(a.ages_at(at), t0 + Duration::from_secs(60));
    // Past an hour: the next change of `1h` is at two hours.
    for s in a.slots.iter_mut() {
        s.since = t0;
    }
    let now = t0 + Duration::from_secs(3700);
    let at = a
        .next_deadline(now)
        .map(|at| at.duration_since(t0).as_secs());
    assert_eq!(at, Some(7200));
}

/// Issue 22.12: a restart its policy delays is counted down in the
/// sidebar for as long as it is due (the message said it for 3 s).
#[test]
fn a_delayed_restart_is_counted_down_until_it_starts() {
    let t0 = Instant::now();
    let km = Keymap::default_keymap().unwrap_or_else(|e| panic!("{e}"));
    let mut a = App::new(&config(1), km, (200, 50), t0);
    a.flash = None;
    a.update(
        Msg::Session(Event::Exited {
            slot: 0,
            status: "1".into(),
            restart_in: Some(Duration::from_secs(30)),
        }),
        t0,
    );
    a.update(
        Msg::Session(Event::StateChanged {
            slot: 0,
            state: AgentState::Restarting,
            rule: "t".into(),
        }),
        t0,
    );
    assert_eq!(a.slots[0].restart_at, Some(t0 + Duration::from_secs(30)));
    // Woken every second while it counts, not only for the message.
    let later = t0 + Duration::from_millis(10_300);
    let next = a
        .next_deadline(later)
        .unwrap_or(later + Duration::from_secs(99));
    assert!(next <= later + Duration::from_secs(1), "{:?}", next - later);
    a.update(
        Msg::Session(Event::StateChanged {
            slot: 0,
            state: AgentState::Starting,
            rule: "t".into(),
        }),
        t0 + Duration::from_secs(30),
    );
    assert_eq!(a.slots[0].restart_at, None);
}

/// Issue 22.11: a slot waiting to restart runs no program: quitting
/// stops none of it.
#[test]
fn a_slot_waiting_to_restart_is_not_counted_as_running() {
    let now = Instant::now();
    let km = Keymap::default_keymap().unwrap_or_else(|e| panic!("{e}"));
    let mut a = App::new(&config(2), km, (100, 30), now);
    assert_eq!(a.running_count(), 2);
    for (slot, state) in [
        (0, AgentState::Restarting),
        (1, AgentState::Exited("1".into())),
    ] {
        a.update(
            Msg::Session(Event::StateChanged {
                slot,
                state,
                rule: "t".into(),
            }),
            now,
        );
    }
    assert_eq!(a.running_count(), 0);
    assert!(!a.agents_running());
}

/// Issue 22.7: in the attach view, `n` on a prompt that had just changed
/// (its subject too long for the status line, so not seen whole)
/// opened the details view instead of denying. A deny key always denies
/// the prompt on screen, in the details view too.
#[test]
fn a_deny_key_always_denies_the_prompt_on_screen() {
    let (mut a, now) = attached();
    let mut p = prompt(71, "Bash");
    p.source = crate::detect::PromptSource::Hook;
    p.subject = format!("echo {}; rm -rf ~/x", "a".repeat(300));
    open(&mut a, 0, p.clone(), now);
    let t = now + Duration::from_secs(2);
    key(&mut a, "ctrl-\\", t);
    assert_eq!(a.mode, Mode::Normal);
    // Approving it is refused (not seen whole) and shows it...
    assert!(sent(&key(&mut a, "y", t)).is_empty());
    assert_eq!(a.modal, Modal::Details(PromptId(71)));
    // ...and `n` there denies it, although it is taller than the view.
    a.size = (100, 3);
    assert_eq!(
        sent(&key(&mut a, "n", t)),
        vec![(0, PromptId(71), Answer::Deny)]
    );
    a.size = (100, 30);
    // The prompt changes under the person's eyes: `n` denies the new
    // one, never opens anything.
    a.update(
        Msg::Session(Event::PromptClosed {
            slot: 0,
            prompt: PromptId(71),
        }),
        t,
    );
    let mut q = p;
    q.id = PromptId(72);
    open(&mut a, 0, q, t);
    let t = t + Duration::from_secs(2);
    assert_eq!(
        sent(&key(&mut a, "n", t)),
        vec![(0, PromptId(72), Answer::Deny)]
    );
    assert_eq!(a.modal, Modal::None);
}

#[test]
fn the_attach_view_answers_a_hook_prompt_whose_subject_its_status_line_shows() {
    let (mut a, now) = attached();
    let mut p = prompt(61, "Bash");
    p.source = crate::detect::PromptSource::Hook;
    open(&mut a, 0, p.clone(), now);
    let t = now + Duration::from_secs(2);
    key(&mut a, "ctrl-\\", t);
    assert_eq!(a.mode, Mode::Normal);
    assert_eq!(
        sent(&key(&mut a, "y", t)),
        vec![(0, PromptId(61), Answer::ApproveOnce)]
    );
    // A subject longer than the status line: not seen; `y` opens the
    // details view instead.
    let mut long = p;
    long.id = PromptId(62);
    long.subject = format!("echo {}; rm -rf ~/x", "a".repeat(120));
    a.update(
        Msg::Session(Event::PromptClosed {
            slot: 0,
            prompt: PromptId(61),
        }),
        t,
    );
    open(&mut a, 0, long, t);
    let t = t + Duration::from_secs(2);
    a.flash = None;
    assert!(sent(&key(&mut a, "y", t)).is_empty(), "subject cut");
    assert_eq!(a.modal, Modal::Details(PromptId(62)));
    // A short subject of two lines: one status line cannot show it as
    // it is (the second command would read as part of the first).
    a.modal = Modal::None;
    let mut two = prompt(63, "Bash");
    two.source = crate::detect::PromptSource::Hook;
    two.subject = "echo ok\nrm -rf ~/x".into();
    a.update(
        Msg::Session(Event::PromptClosed {
            slot: 0,
            prompt: PromptId(62),
        }),
        t,
    );
    open(&mut a, 0, two, t);
    let t = t + Duration::from_secs(2);
    a.flash = None;
    assert!(sent(&key(&mut a, "y", t)).is_empty(), "two lines");
}

#[test]
fn a_pane_shows_its_dialog_only_with_a_current_copy_that_fits() {
    let now = Instant::now();
    let km = Keymap::default_keymap().unwrap_or_else(|e| panic!("{e}"));
    let mut a = App::new(&config(2), km, (200, 50), now);
    a.update(Msg::Resize(200, 50), now);
    // An exact screen prompt whose subject the inbox cannot show whole:
    // only the pane can show it.
    let mut p = prompt(51, "Bash");
    p.subject = "x ".repeat(3000);
    open(&mut a, 0, p, now);
    let t = now + Duration::from_secs(2);
    // No copy of the screen yet (just attached).
    assert!(sent(&key(&mut a, "y", t)).is_empty(), "no copy yet");
    // The refusal opened the details view: forget it was seen there.
    a.modal = Modal::None;
    a.inbox[0].seen = false;
    copies_arrive(&mut a, t);
    let t = t + Duration::from_secs(1);
    // Another client set a PTY bigger than this pane.
    let (rows, cols) = a.pane_sizes()[0].1;
    a.update(
        Msg::PtySize {
            slot: 0,
            rows: rows + 5,
            cols,
        },
        t,
    );
    assert!(
        sent(&key(&mut a, "y", t)).is_empty(),
        "PTY taller than the pane"
    );
    // The refusal opened the details view: forget it was seen there.
    a.modal = Modal::None;
    a.inbox[0].seen = false;
    // Output dropped: the copy lags.
    a.update(
        Msg::PtySize {
            slot: 0,
            rows,
            cols,
        },
        t,
    );
    a.update(Msg::PtyStale { slot: 0 }, t);
    let t = t + Duration::from_secs(1);
    assert!(sent(&key(&mut a, "y", t)).is_empty(), "stale copy");
    // The refusal opened the details view: forget it was seen there.
    a.modal = Modal::None;
    a.inbox[0].seen = false;
    // The whole screen again, at a size that fits.
    a.update(
        Msg::PtySize {
            slot: 0,
            rows,
            cols,
        },
        t,
    );
    let t = t + Duration::from_secs(1);
    assert_eq!(
        sent(&key(&mut a, "y", t)),
        vec![(0, PromptId(51), Answer::ApproveOnce)]
    );
}

fn prompt(id: u64, tool: &str) -> Prompt {
    Prompt {
        source: crate::detect::PromptSource::Screen,
        incomplete: None,
        id: PromptId(id),
        dialog_hash: id,
        tool: tool.into(),
        subject: "echo hi".into(),
        question: "Do you want to proceed?".into(),
        options: vec![PromptOption {
            number: 1,
            label: "Yes".into(),
            kind: AnswerKind::ApproveOnce,
            keys: vec![KeyPress::ch('1')],
            selected: true,
        }],
        dialog: vec![],
        deny_fallback: vec![],
        unavailable: Default::default(),
    }
}

fn key(a: &mut App, s: &str, now: Instant) -> Vec<Effect> {
    let k: KeyPress = s.parse().unwrap_or_else(|e| panic!("{e}"));
    a.update(Msg::Key(k), now)
}

fn answers(fx: &[Effect]) -> usize {
    fx.iter()
        .filter(|e| matches!(e, Effect::Session(Command::Answer { .. })))
        .count()
}

/// No blind answers: a hook prompt whose subject the sidebar cannot show
/// opens in details first; one taller than the screen is never answered
/// by key from corral (only in its pane).
#[test]
fn keys_answer_only_what_was_seen_whole() {
    let (mut a, now) = app(2);
    let mut p = prompt(9, "Bash");
    p.source = crate::detect::PromptSource::Hook;
    p.subject = format!("echo {} && rm -rf ~/work", "a".repeat(3000));
    a.update(
        Msg::Session(Event::PromptOpened { slot: 0, prompt: p }),
        now,
    );
    assert_eq!(answers(&key(&mut a, "y", now)), 0, "cut in the sidebar");
    assert_eq!(a.modal, Modal::Details(PromptId(9)));
    assert_eq!(answers(&key(&mut a, "y", now)), 1, "seen whole in details");

    let mut tall = prompt(10, "Bash");
    tall.source = crate::detect::PromptSource::Hook;
    tall.subject = (0..60)
        .map(|i| format!("echo {i}"))
        .collect::<Vec<_>>()
        .join("\n");
    a.update(
        Msg::Session(Event::PromptOpened {
            slot: 1,
            prompt: tall,
        }),
        now,
    );
    a.inbox_sel = a.inbox.len() - 1;
    assert_eq!(answers(&key(&mut a, "y", now)), 0);
    assert_eq!(answers(&key(&mut a, "y", now)), 0, "taller than the screen");
    assert!(a.flash.as_ref().is_some_and(|f| f.text.contains("taller")));
}

#[test]
fn first_layout_resizes_every_pane() {
    let now = Instant::now();
    let km = Keymap::default_keymap().unwrap_or_else(|e| panic!("{e}"));
    let mut a = App::new(&config(4), km, (200, 50), now);
    let fx = a.update(Msg::Tick, now);
    let resizes = fx
        .iter()
        .filter(|e| matches!(e, Effect::Session(Command::Resize { .. })))
        .count();
    assert_eq!(resizes, 4);
    assert!(
        a.update(Msg::Tick, now).is_empty(),
        "no resize when nothing changed"
    );
}

#[test]
fn y_answers_the_selected_prompt_with_its_id() {
    let (mut a, now) = app(3);
    a.update(
        Msg::Session(Event::PromptOpened {
            slot: 1,
            prompt: prompt(7, "Bash"),
        }),
        now,
    );
    a.update(
        Msg::Session(Event::PromptOpened {
            slot: 2,
            prompt: prompt(9, "Edit"),
        }),
        now,
    );
    key(&mut a, "tab", now);
    let fx = key(&mut a, "y", now);
    assert!(
        matches!(
            fx.as_slice(),
            [Effect::Session(Command::Answer {
                slot: 2,
                prompt: PromptId(9),
                answer: Answer::ApproveOnce,
                ..
            })]
        ),
        "{fx:?}"
    );
    let fx = key(&mut a, "n", now);
    assert!(matches!(
        fx.as_slice(),
        [Effect::Session(Command::Answer {
            answer: Answer::Deny,
            ..
        })]
    ));
    a.update(
        Msg::Session(Event::PromptClosed {
            slot: 2,
            prompt: PromptId(9),
        }),
        now,
    );
    assert_eq!(a.inbox.len(), 1);
    assert_eq!(a.inbox_sel, 0);
}

#[test]
fn typing_in_insert_mode_never_answers() {
    let (mut a, now) = app(2);
    a.update(
        Msg::Session(Event::PromptOpened {
            slot: 0,
            prompt: prompt(1, "Bash"),
        }),
        now,
    );
    key(&mut a, "i", now);
    assert_eq!(a.mode, Mode::Insert);
    for k in ["y", "a", "n", "1", "enter", "esc"] {
        let fx = key(&mut a, k, now);
        assert!(
            fx.iter()
                .all(|e| matches!(e, Effect::Session(Command::Key { slot: 0, .. }))),
            "{k}: {fx:?}"
        );
    }
}

#[test]
fn leave_key_twice_sends_it_through() {
    let (mut a, now) = app(1);
    key(&mut a, "enter", now);
    assert_eq!(a.mode, Mode::Insert);
    assert!(key(&mut a, "ctrl-\\", now).is_empty());
    assert_eq!(a.mode, Mode::Normal);
    let fx = key(&mut a, "ctrl-\\", now);
    assert_eq!(
        fx,
        vec![Effect::Session(Command::Key {
            slot: 0,
            key: KeyPress::ctrl('\\')
        })]
    );
    assert_eq!(a.mode, Mode::Insert);
}

#[test]
fn focus_moves_geometrically_and_quit_asks() {
    let (mut a, now) = app(4);
    key(&mut a, "l", now);
    assert_eq!(a.focus, 1);
    key(&mut a, "j", now);
    assert_eq!(a.focus, 3);
    key(&mut a, "left", now);
    assert_eq!(a.focus, 2);
    key(&mut a, "q", now);
    assert_eq!(a.modal, Modal::ConfirmQuit);
    assert!(key(&mut a, "n", now).is_empty());
    key(&mut a, "q", now);
    assert_eq!(key(&mut a, "y", now), vec![Effect::Quit]);
}

#[test]
fn zoom_resizes_the_focused_pane() {
    let (mut a, now) = app(4);
    let fx = key(&mut a, "z", now);
    assert!(
        matches!(
            fx.as_slice(),
            [Effect::Session(Command::Resize { slot: 0, .. })]
        ),
        "{fx:?}"
    );
}

/// A history of `lines` in a terminal as big as slot 0's pane.
fn history_of(a: &App, lines: &[&str]) -> (History, Option<(u16, u16)>) {
    let inner = a.layout().panes[0].inner;
    let mut e = crate::engine::Engine::new(inner.height, inner.width, 1000);
    for l in lines {
        e.process(format!("{l}\r\n").as_bytes());
    }
    let cursor = Some(e.screen().cursor_position());
    (e.history(), cursor)
}

fn copied(fx: &[Effect]) -> Option<String> {
    fx.iter().find_map(|f| match f {
        Effect::Copy(t) => Some(t.clone()),
        _ => None,
    })
}

#[test]
fn copy_mode_searches_selects_copies_and_returns_to_the_live_screen() {
    let (mut a, now) = app(1);
    let fx = key(&mut a, "[", now);
    assert_eq!(fx, vec![Effect::EnterCopy { slot: 0 }]);
    let mut lines: Vec<String> = (1..=500).map(|i| format!("line {i}")).collect();
    lines[41] = "marker-copy-42".into();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (h, cursor) = history_of(&a, &refs);
    assert!(a.start_copy(0, h, 0, cursor, now).is_empty());
    assert_eq!(a.mode, Mode::Copy);
    // Copy mode's keys are its own: `y` copies, it never answers.
    assert!(
        copied(&key(&mut a, "y", now)).is_none(),
        "nothing selected yet"
    );
    assert_eq!(a.mode, Mode::Copy);
    for k in ["/", "m", "a", "r", "k", "e", "r", "enter"] {
        key(&mut a, k, now);
    }
    let c = a.copy.as_ref().unwrap_or_else(|| panic!("copy mode"));
    assert_eq!(c.cursor.line, 41);
    assert_eq!(
        c.search.as_ref().map(|s| (s.total, s.current)),
        Some((1, Some(1)))
    );
    key(&mut a, "V", now);
    let fx = key(&mut a, "y", now);
    assert_eq!(copied(&fx).as_deref(), Some("marker-copy-42"));
    assert!(
        fx.contains(&Effect::Session(Command::Scroll {
            slot: 0,
            delta: i32::MIN
        })),
        "back to the live screen: {fx:?}"
    );
    assert_eq!(a.mode, Mode::Normal);
    assert!(a.copy.is_none());
    // q leaves too, and Escape; a search being typed takes q as text.
    key(&mut a, "[", now);
    let (h, cursor) = history_of(&a, &["one", "two"]);
    a.start_copy(0, h, 0, cursor, now);
    key(&mut a, "?", now);
    key(&mut a, "q", now);
    assert_eq!(
        a.copy.as_ref().and_then(|c| c.input.clone()).map(|i| i.1),
        Some("q".into())
    );
    key(&mut a, "esc", now);
    assert_eq!(a.mode, Mode::Copy, "Escape ends the search being typed");
    key(&mut a, "esc", now);
    assert_eq!(a.mode, Mode::Normal);
}

#[test]
fn keys_right_after_copy_mode_answer_nothing() {
    let (mut a, now) = app(1);
    open(&mut a, 0, prompt(1, "Bash"), now);
    key(&mut a, "[", now);
    let (h, cursor) = history_of(&a, &["one", "two"]);
    a.start_copy(0, h, 0, cursor, now);
    key(&mut a, "k", now);
    key(&mut a, "V", now);
    // `y y`: the first copies, the second (or a held key) answers nothing.
    let fx = key(&mut a, "y", now);
    assert!(copied(&fx).is_some());
    assert!(sent(&key(&mut a, "y", now + Duration::from_millis(100))).is_empty());
    assert!(
        sent(&key(&mut a, "y", now + Duration::from_millis(450))).is_empty(),
        "held"
    );
    assert!(
        key(&mut a, "q", now + Duration::from_millis(500)).is_empty(),
        "no quit"
    );
    assert_eq!(a.modal, Modal::None);
    assert!(a.typing_slot().is_none());
    // Moving about is not held back, and does not end the wait.
    key(&mut a, "j", now + Duration::from_millis(600));
    assert!(sent(&key(&mut a, "y", now + Duration::from_millis(700))).is_empty());
    // After a pause the key works.
    let later = now + Duration::from_secs(2);
    assert_eq!(sent(&key(&mut a, "y", later)).len(), 1);
}

#[test]
fn a_press_elsewhere_ends_what_a_drag_would_select() {
    let (mut a, now) = app(2);
    let lay = a.layout();
    let p = lay.panes[0].inner;
    a.update(Msg::Mouse(MouseMsg::Click(p.x + 1, p.y)), now);
    a.update(Msg::Mouse(MouseMsg::Release(p.x + 1, p.y)), now);
    // A press on the sidebar, then a move: nothing selects in pane 0.
    let later = now + Duration::from_secs(1);
    a.update(Msg::Mouse(MouseMsg::Click(1, 3)), later);
    let fx = a.update(Msg::Mouse(MouseMsg::Drag(p.x + 5, p.y)), later);
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(a.mode, Mode::Normal);
}

#[test]
fn a_drag_selects_and_copies_on_release_and_clicks_take_words_and_lines() {
    let (mut a, now) = app(1);
    let inner = a.layout().panes[0].inner;
    let (x, y) = (inner.x, inner.y);
    let (h, cursor) = history_of(&a, &["cargo test --release", "next"]);
    // Press on `test`, drag to the end of `--release`: copy mode begins.
    a.update(Msg::Mouse(MouseMsg::Click(x + 6, y)), now);
    let fx = a.update(Msg::Mouse(MouseMsg::Drag(x + 9, y)), now);
    assert_eq!(fx, vec![Effect::EnterCopy { slot: 0 }]);
    assert!(a.start_copy(0, h.clone(), 0, cursor, now).is_empty());
    a.update(Msg::Mouse(MouseMsg::Drag(x + 19, y)), now);
    let fx = a.update(Msg::Mouse(MouseMsg::Release(x + 19, y)), now);
    assert_eq!(copied(&fx).as_deref(), Some("test --release"));
    assert_eq!(a.mode, Mode::Normal);
    // A double click: the word; a third: the line.
    let later = now + Duration::from_secs(2);
    a.update(Msg::Mouse(MouseMsg::Click(x + 1, y)), later);
    a.update(Msg::Mouse(MouseMsg::Release(x + 1, y)), later);
    let fx = a.update(Msg::Mouse(MouseMsg::Click(x + 1, y)), later);
    assert_eq!(fx, vec![Effect::EnterCopy { slot: 0 }]);
    let fx = a.start_copy(0, h.clone(), 0, cursor, later);
    assert_eq!(copied(&fx).as_deref(), Some("cargo"));
    let fx = a.update(Msg::Mouse(MouseMsg::Click(x + 1, y)), later);
    assert_eq!(fx, vec![Effect::EnterCopy { slot: 0 }]);
    let fx = a.start_copy(0, h.clone(), 0, cursor, later);
    assert_eq!(copied(&fx).as_deref(), Some("cargo test --release"));
    // Clicks apart in time are single clicks.
    let much_later = later + MULTI_CLICK * 2;
    assert!(
        a.update(Msg::Mouse(MouseMsg::Click(x + 1, y)), much_later)
            .is_empty()
    );
    // In insert mode a pane whose program asked for the mouse gets it;
    // one that did not selects, and insert mode comes back.
    key(&mut a, "i", much_later);
    a.focus_wants_mouse = true;
    let fx = a.update(Msg::Mouse(MouseMsg::Drag(x + 9, y)), much_later);
    assert!(
        matches!(fx.as_slice(), [Effect::Session(Command::Mouse { .. })]),
        "{fx:?}"
    );
    a.focus_wants_mouse = false;
    a.update(Msg::Mouse(MouseMsg::Click(x, y + 1)), much_later);
    let fx = a.update(Msg::Mouse(MouseMsg::Drag(x + 3, y + 1)), much_later);
    assert_eq!(fx, vec![Effect::EnterCopy { slot: 0 }]);
    a.start_copy(0, h, 0, cursor, much_later);
    let fx = a.update(Msg::Mouse(MouseMsg::Release(x + 3, y + 1)), much_later);
    assert_eq!(copied(&fx).as_deref(), Some("next"));
    assert_eq!(a.mode, Mode::Insert);
}

#[test]
fn click_focuses_a_pane() {
    let (mut a, now) = app(4);
    let lay = a.layout();
    let p = &lay.panes[3];
    a.update(Msg::Mouse(MouseMsg::Click(p.area.x + 2, p.area.y + 2)), now);
    assert_eq!(a.focus, 3);
}

#[test]
fn insert_mode_mouse_goes_to_the_focused_pane_in_pane_cells() {
    let (mut a, now) = app(4);
    key(&mut a, "i", now);
    let p = a.layout().panes[0];
    let fx = a.update(
        Msg::Mouse(MouseMsg::Click(p.inner.x + 3, p.inner.y + 1)),
        now,
    );
    assert_eq!(
        fx,
        vec![Effect::Session(Command::Mouse {
            slot: 0,
            event: MouseReport::Press(3, 1)
        })]
    );
    // A click on another pane still moves focus.
    let q = a.layout().panes[1];
    a.update(Msg::Mouse(MouseMsg::Click(q.inner.x, q.inner.y)), now);
    assert_eq!(a.focus, 1);
}

#[test]
fn small_terminals_stack_and_every_focus_key_and_click_moves_through_the_stack() {
    let (mut a, now) = app(4);
    a.update(Msg::Resize(80, 24), now);
    let lay = a.layout();
    assert_eq!(lay.panes.len(), 1, "stacked");
    assert_eq!(lay.bars.len(), 3);
    let focused = lay.panes[0].pty;
    // Every slot gets the focused pane's size: moving the focus resizes
    // nothing.
    assert!(a.pane_sizes().iter().all(|(_, sz)| *sz == focused));
    key(&mut a, "j", now);
    assert_eq!(a.focus, 1);
    let fx = key(&mut a, "j", now);
    assert_eq!(a.focus, 2);
    assert!(
        !fx.iter()
            .any(|f| matches!(f, Effect::Session(Command::Resize { .. }))),
        "{fx:?}"
    );
    key(&mut a, "k", now);
    assert_eq!(a.focus, 1);
    // A click on a bar focuses its slot.
    let bar = a.layout().bars[2];
    a.update(Msg::Mouse(MouseMsg::Click(bar.area.x + 3, bar.area.y)), now);
    assert_eq!(Some(a.focus), bar.slot);
}

#[test]
fn a_prompt_redrawn_after_a_resize_keeps_its_age_and_loses_seen_if_it_reads_otherwise() {
    let (mut a, now) = app(2);
    let p = prompt(7, "Bash");
    a.update(
        Msg::Session(Event::PromptOpened {
            slot: 0,
            prompt: p.clone(),
        }),
        now,
    );
    a.inbox[0].seen = true;
    let later = now + Duration::from_secs(5);
    let mut q = p.clone();
    q.dialog_hash ^= 1;
    let was = p.id;
    a.update(
        Msg::Session(Event::PromptUpdated {
            slot: 0,
            was,
            prompt: q,
        }),
        later,
    );
    assert_eq!(a.inbox.len(), 1);
    assert_eq!(
        a.inbox[0].opened, now,
        "the age counts from the first sight"
    );
    assert!(a.inbox[0].seen, "same tool and subject: still seen");
    let mut r = p.clone();
    r.subject.push_str(" && rm -rf ~");
    r.id = PromptId(8);
    a.update(
        Msg::Session(Event::PromptUpdated {
            slot: 0,
            was,
            prompt: r,
        }),
        later,
    );
    assert_eq!(a.inbox[0].prompt.id, PromptId(8));
    assert_eq!(a.inbox[0].opened, now);
    assert!(
        !a.inbox[0].seen,
        "a subject that reads otherwise must be seen again"
    );
}

fn sent(fx: &[Effect]) -> Vec<(SlotIdx, PromptId, Answer)> {
    fx.iter()
        .filter_map(|f| match f {
            Effect::Session(Command::Answer {
                slot,
                prompt,
                answer,
                ..
            }) => Some((*slot, *prompt, *answer)),
            _ => None,
        })
        .collect()
}

fn open(a: &mut App, slot: SlotIdx, p: Prompt, now: Instant) {
    a.update(Msg::Session(Event::PromptOpened { slot, prompt: p }), now);
}

fn with_always(mut p: Prompt, label: &str) -> Prompt {
    p.options.push(PromptOption {
        number: 2,
        label: label.into(),
        kind: AnswerKind::ApproveAlways,
        keys: vec![KeyPress::ch('2')],
        selected: false,
    });
    p
}

/// 80x24: slot 0 focused, slot 1 stacked away as a one-row bar.
fn stacked() -> (App, Instant) {
    let (mut a, now) = app(2);
    a.update(Msg::Resize(80, 24), now);
    assert_eq!(a.layout().panes.len(), 1);
    (a, now)
}

#[test]
fn a_stacked_prompt_is_answered_from_the_inbox_only_when_exact_and_shown_whole() {
    let (mut a, now) = stacked();
    let t = now + Duration::from_secs(2);
    open(
        &mut a,
        1,
        with_always(prompt(11, "Bash"), "Yes, and don't ask again for echo"),
        now,
    );
    assert_eq!(
        sent(&key(&mut a, "y", t)),
        vec![(1, PromptId(11), Answer::ApproveOnce)]
    );
    // `a` also needs the scope it grants, which the sidebar shows.
    assert_eq!(
        sent(&key(&mut a, "a", t + Duration::from_secs(1))),
        vec![(1, PromptId(11), Answer::ApproveAlways)]
    );
    // Not exact: the inbox route is closed; the details view opens.
    a.update(
        Msg::Session(Event::PromptClosed {
            slot: 1,
            prompt: PromptId(11),
        }),
        t,
    );
    let mut p = prompt(12, "Bash");
    p.incomplete = Some(crate::detect::Incomplete::Wrapped);
    open(&mut a, 1, p, t);
    let later = t + Duration::from_secs(2);
    assert!(sent(&key(&mut a, "y", later)).is_empty());
    assert_eq!(a.modal, Modal::Details(PromptId(12)));
}

#[test]
fn approve_always_from_the_inbox_needs_its_scope_shown() {
    let (mut a, now) = stacked();
    let long = "Yes, and don't ask again for ".to_string() + &"x".repeat(400);
    open(&mut a, 1, with_always(prompt(21, "Bash"), &long), now);
    let t = now + Duration::from_secs(2);
    assert!(
        sent(&key(&mut a, "a", t)).is_empty(),
        "the scope does not fit"
    );
    assert_eq!(a.modal, Modal::Details(PromptId(21)));
    // A hook request's scope is in its agent's dialog only.
    a.modal = Modal::None;
    a.update(
        Msg::Session(Event::PromptClosed {
            slot: 1,
            prompt: PromptId(21),
        }),
        t,
    );
    let mut h = prompt(22, "Bash");
    h.source = crate::detect::PromptSource::Hook;
    open(&mut a, 1, h, t);
    let t2 = t + Duration::from_secs(2);
    assert!(sent(&key(&mut a, "a", t2)).is_empty());
    a.modal = Modal::None;
    assert_eq!(
        sent(&key(&mut a, "y", t2 + Duration::from_secs(1))),
        vec![(1, PromptId(22), Answer::ApproveOnce)]
    );
}

#[test]
fn a_scrolled_back_pane_does_not_show_its_dialog() {
    let (mut a, now) = app(2);
    let mut p = prompt(31, "Bash");
    p.incomplete = Some(crate::detect::Incomplete::Truncated);
    open(&mut a, 0, p, now);
    let t = now + Duration::from_secs(2);
    key(&mut a, "pgup", t);
    assert!(sent(&key(&mut a, "y", t)).is_empty(), "scrolled back");
    assert_eq!(a.modal, Modal::Details(PromptId(31)));
    a.modal = Modal::None;
    a.inbox[0].seen = false;
    key(&mut a, "G", t);
    assert_eq!(
        sent(&key(&mut a, "y", t + Duration::from_secs(1))),
        vec![(0, PromptId(31), Answer::ApproveOnce)]
    );
}

#[test]
fn a_key_pressed_again_does_not_answer_the_prompt_that_took_the_place() {
    let (mut a, now) = app(2);
    open(&mut a, 0, prompt(41, "Bash"), now);
    open(&mut a, 1, prompt(42, "Bash"), now);
    let t = now + Duration::from_secs(2);
    assert_eq!(sent(&key(&mut a, "y", t)).len(), 1);
    let closed = t + Duration::from_millis(80);
    a.update(
        Msg::Session(Event::PromptClosed {
            slot: 0,
            prompt: PromptId(41),
        }),
        closed,
    );
    // Held key or a double press: nothing for the next prompt.
    assert!(sent(&key(&mut a, "y", closed + Duration::from_millis(40))).is_empty());
    assert!(
        a.flash
            .as_ref()
            .is_some_and(|f| f.text.contains("selection just moved"))
    );
    // Held down (auto-repeat): still nothing.
    let mut at = closed + Duration::from_millis(40);
    for _ in 0..30 {
        at += Duration::from_millis(30);
        assert!(sent(&key(&mut a, "y", at)).is_empty(), "auto-repeat");
    }
    // Pressed again after a pause: answered.
    assert_eq!(
        sent(&key(&mut a, "y", at + RESELECT_GUARD)),
        vec![(1, PromptId(42), Answer::ApproveOnce)]
    );
    // A prompt the person selects with tab is theirs at once.
    open(&mut a, 0, prompt(43, "Bash"), closed);
    let t3 = closed + Duration::from_secs(3);
    key(&mut a, "y", t3);
    key(&mut a, "tab", t3);
    assert_eq!(sent(&key(&mut a, "y", t3)).len(), 1);
}

#[test]
fn invisible_characters_in_a_subject_are_shown_and_counted() {
    assert_eq!(
        shown("echo ok\x1b[2J\u{202e}fr- mr\u{200b}\r\n#"),
        "echo ok⟨U+001B⟩[2J⟨U+202E⟩fr- mr⟨U+200B⟩⟨U+000D⟩\n#"
    );
    // The sidebar shows the hidden characters, and what no longer fits
    // is not answered from there.
    let (mut a, now) = stacked();
    let mut p = prompt(51, "Bash");
    p.source = crate::detect::PromptSource::Hook;
    p.subject = format!("rm -rf ./build{}", "\u{200b}".repeat(60));
    open(&mut a, 1, p.clone(), now);
    let r = a.layout().inbox_detail.unwrap_or_default();
    let b = subject_block(&p, usize::from(r.width), usize::from(r.height));
    assert!(b.rows.concat().contains("⟨U+200B⟩"), "{:?}", b.rows);
    assert!(!b.subject_whole);
    let t = now + Duration::from_secs(2);
    assert!(sent(&key(&mut a, "y", t)).is_empty(), "not seen whole");
}

/// Issue 22.12: the approve-always scope (prose) wraps at words, never
/// inside one; the subject (a command) still wraps by cells.
#[test]
fn the_approve_always_scope_wraps_at_words() {
    let mut p = prompt(81, "Bash");
    p.options.push(PromptOption {
        number: 2,
        label: "Yes, and don't ask again for npm run build commands in /home/me/project".into(),
        kind: AnswerKind::ApproveAlways,
        keys: vec![KeyPress::ch('2')],
        selected: false,
    });
    p.subject = "npm run build --workspace=packages/frontend".into();
    for width in [20, 31, 44] {
        let b = subject_block(&p, width, 20);
        assert!(b.always_whole);
        let scope = &b.rows[b.always_from..];
        let words: Vec<&str> = scope.iter().flat_map(|r| r.split_whitespace()).collect();
        assert_eq!(
            words.join(" "),
            "a = Yes, and don't ask again for npm run build commands in /home/me/project",
            "{width}: {scope:?}"
        );
        assert!(
            scope.iter().all(|r| r.chars().count() <= width),
            "{scope:?}"
        );
        // The subject's rows hold it exactly, cut by cells.
        assert_eq!(b.rows[..b.subject_rows].concat(), p.subject, "{width}");
    }
}

#[test]
fn no_prompt_flashes() {
    let (mut a, now) = app(1);
    assert!(key(&mut a, "y", now).is_empty());
    assert!(a.flash.as_ref().is_some_and(|f| f.error));
    a.update(Msg::Tick, now + FLASH_TTL);
    assert!(a.flash.is_none());
}
