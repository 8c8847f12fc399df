//! Render snapshots: the UI drawn into ratatui's TestBackend at 80x24 and
//! 200x50, with panes fed real Claude Code screens (tests/fixtures/claude).

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use corral::client::app::{App, Msg};
use corral::client::ui::{self, ScreenSource};
use corral::config::Config;
use corral::detect::{AgentState, ScreenSnapshot, Timing, detect};
use corral::engine::Engine;
use corral::keymap::Keymap;
use corral::keys::KeyPress;
use corral::profile::{Profile, Profiles};
use corral::server::{Event, SlotIdx};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

struct Fixed(Vec<Mutex<Engine>>);

impl ScreenSource for Fixed {
    fn with_engine(&self, slot: SlotIdx, f: &mut dyn FnMut(&Engine)) {
        if let Some(e) = self.0.get(slot) {
            let e = e.lock().unwrap_or_else(|p| p.into_inner());
            f(&e);
        }
    }
}

/// A text capture without its trailing blank rows, so that after the replay
/// the cursor sits on the last drawn row (as in the live program).
fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/claude")
        .join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    text.trim_end().to_string()
}

const CONFIG: &str = r#"
[[slot]]
id = "api"
agent = "claude"
command = "claude"
[[slot]]
id = "web"
agent = "claude"
command = "claude"
[[slot]]
id = "docs"
agent = "claude"
command = "claude"
[[slot]]
id = "shell"
command = "sh"
"#;

/// An app for config `src` at `cols` x `rows` whose four panes show
/// `texts` (drawn at 120x40, then fitted to the pane as a PTY resize would)
/// in `states`, with a prompt read off the text of each slot in `prompts`
/// (slot index, slot id); 12 s later.
fn build(
    src: &str,
    (cols, rows): (u16, u16),
    texts: &[String; 4],
    states: [AgentState; 4],
    prompts: &[(usize, &str)],
) -> (App, Fixed, Instant) {
    let config = Config::parse(Path::new("t.toml"), src).unwrap_or_else(|e| panic!("{e}"));
    let km = Keymap::default_keymap().unwrap_or_else(|e| panic!("{e}"));
    let t0 = Instant::now();
    let mut app = App::new(&config, km, (cols, rows), t0);
    app.update(Msg::Resize(cols, rows), t0);
    let sizes = app.pane_sizes();
    let mut engines = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let (r, c) = sizes
            .iter()
            .find(|(s, _)| *s == i)
            .map_or((10, 40), |x| x.1);
        let mut e = Engine::new(40, 120, 100);
        e.process(text.replace('\n', "\r\n").as_bytes());
        e.resize(r, c);
        engines.push(Mutex::new(e));
    }
    for (slot, state) in states.into_iter().enumerate() {
        app.update(
            Msg::Session(Event::StateChanged {
                slot,
                state,
                rule: "test".into(),
            }),
            t0,
        );
    }
    for &(slot, id) in prompts {
        let snap = ScreenSnapshot::from_text(&texts[slot], 120, "");
        let mut prompt = detect(&claude(), &snap, Timing::default())
            .prompt
            .unwrap_or_else(|| panic!("no prompt in {id}'s text"));
        prompt.identify(id, 1, 1);
        app.update(Msg::Session(Event::PromptOpened { slot, prompt }), t0);
    }
    (app, Fixed(engines), t0 + Duration::from_secs(12))
}

const SHELL: &str = "$ ls\nCargo.toml  README.md  src  tests\n$ ";

/// The app and its four panes: a Bash prompt, working, idle and a shell.
fn scene(cols: u16, rows: u16) -> (App, Fixed, Instant) {
    build(
        CONFIG,
        (cols, rows),
        &[
            fixture("claude-permission-bash.txt"),
            fixture("claude-working.txt"),
            fixture("claude-idle.txt"),
            SHELL.to_string(),
        ],
        [
            AgentState::NeedsPermission,
            AgentState::Working,
            AgentState::Idle,
            AgentState::Idle,
        ],
        &[(0, "api")],
    )
}

fn render(app: &App, screens: &Fixed, now: Instant) -> String {
    let (cols, rows) = app.size;
    let mut term = Terminal::new(TestBackend::new(cols, rows)).unwrap_or_else(|e| panic!("{e}"));
    term.draw(|f| ui::draw(f, app, screens, &mut ui::PaneCache::default(), now))
        .unwrap_or_else(|e| panic!("{e}"));
    term.backend().to_string()
}

#[test]
fn tiles_sidebar_and_inbox_200x50() {
    let (app, screens, now) = scene(200, 50);
    insta::assert_snapshot!(render(&app, &screens, now));
}

#[test]
fn tiles_sidebar_and_inbox_80x24() {
    let (app, screens, now) = scene(80, 24);
    insta::assert_snapshot!(render(&app, &screens, now));
}

#[test]
fn zoomed_pane_200x50() {
    let (mut app, screens, now) = scene(200, 50);
    app.update(Msg::Key(KeyPress::ch('z')), now);
    insta::assert_snapshot!(render(&app, &screens, now));
}

#[test]
fn help_overlay_80x24() {
    let (mut app, screens, now) = scene(80, 24);
    app.update(Msg::Key(KeyPress::ch('?')), now);
    insta::assert_snapshot!(render(&app, &screens, now));
}

/// Issue 22.9: no column of the help ends with a mode's heading (its keys
/// in the other column): at 80x24 COPY, at 200x50 INSERT did.
#[test]
fn help_keeps_each_heading_with_its_keys() {
    for (cols, rows) in [(80, 24), (200, 50), (100, 30), (120, 40)] {
        let (mut app, screens, now) = scene(cols, rows);
        app.update(Msg::Key(KeyPress::ch('?')), now);
        let text = render(&app, &screens, now);
        // The help box's rows: its two columns split at its middle.
        let rows_in: Vec<&str> = text.lines().filter(|l| l.contains("│")).collect();
        let heading = |cell: &str| cell.trim().ends_with(" mode");
        let mut left = Vec::new();
        let mut right = Vec::new();
        for r in &rows_in {
            let Some(start) = r.find("│") else { continue };
            let Some(end) = r.rfind("│") else { continue };
            if end <= start {
                continue;
            }
            let inner: Vec<char> = r[start + "│".len()..end].chars().collect();
            if inner.len() < 70 {
                continue;
            }
            let half = inner.len() / 2;
            left.push(inner[..half].iter().collect::<String>());
            right.push(inner[half..].iter().collect::<String>());
        }
        for col in [&left, &right] {
            let last = col.iter().rev().find(|c| !c.trim().is_empty());
            assert!(
                !last.is_some_and(|c| heading(c)),
                "{cols}x{rows}: a column ends with a heading:\n{text}"
            );
        }
    }
}

/// Issue 22.12: at 80x24 the details view cut option 2's key off (its long
/// label came first). Every option shows what it sends, and its label
/// wraps at words.
#[test]
fn details_show_every_options_keys_at_80x24() {
    let (mut app, screens, now) = scene(80, 24);
    app.update(Msg::Key(KeyPress::ch('v')), now);
    let text = render(&app, &screens, now);
    let p = &app.inbox[0].prompt;
    assert!(p.options.len() >= 3, "{:?}", p.options);
    for o in &p.options {
        let keys: Vec<String> = o.keys.iter().map(|k| k.to_string()).collect();
        let head = format!("{}  {:<15} [{}]", o.number, o.kind.name(), keys.join(" "));
        assert!(text.contains(&head), "{head} not shown:\n{text}");
    }
    // The long label's words are whole in the box.
    let boxed: String = text
        .lines()
        .filter_map(|l| l.split('│').nth(1))
        .collect::<Vec<_>>()
        .join(" ");
    let always = p
        .options
        .iter()
        .find(|o| o.label.len() > 40)
        .unwrap_or_else(|| panic!("no long label: {:?}", p.options));
    let squeezed = boxed.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(squeezed.contains(&always.label), "{}\n{text}", always.label);
}

#[test]
fn attach_view_80x24() {
    let config = Config::parse(
        Path::new("t.toml"),
        "[[slot]]\nid = \"api\"\nagent = \"claude\"\ncommand = \"claude\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let km = Keymap::default_keymap().unwrap_or_else(|e| panic!("{e}"));
    let t0 = Instant::now();
    let mut app = App::new(&config, km, (80, 24), t0);
    app.attach_to(0);
    let text = fixture("claude-permission-bash.txt");
    let mut e = Engine::new(40, 120, 100);
    e.process(text.replace('\n', "\r\n").as_bytes());
    e.resize(23, 80);
    let screens = Fixed(vec![Mutex::new(e)]);
    app.update(
        Msg::Session(Event::StateChanged {
            slot: 0,
            state: AgentState::NeedsPermission,
            rule: "t".into(),
        }),
        t0,
    );
    let mut prompt = detect(
        &claude(),
        &ScreenSnapshot::from_text(&text, 120, ""),
        Timing::default(),
    )
    .prompt
    .unwrap_or_else(|| panic!("no prompt"));
    prompt.identify("api", 1, 1);
    app.update(Msg::Session(Event::PromptOpened { slot: 0, prompt }), t0);
    insta::assert_snapshot!(render(&app, &screens, t0));
}

#[test]
fn quit_confirmation_80x24() {
    let (mut app, screens, now) = scene(80, 24);
    app.update(Msg::Key(KeyPress::ch('q')), now);
    insta::assert_snapshot!(render(&app, &screens, now));
}

/// The embedded demo's four slots with a prompt pending in each of its
/// three agents (real Claude Code screens: Bash, Edit, Write) and the shell
/// idle, 12 s after the prompts opened.
fn demo_scene(cols: u16, rows: u16) -> (App, Fixed, Instant) {
    build(
        corral::config::DEMO_CONFIG,
        (cols, rows),
        &[
            fixture("claude-permission-bash.txt"),
            fixture("claude-permission-edit.txt"),
            fixture("claude-permission-write.txt"),
            SHELL.to_string(),
        ],
        [
            AgentState::NeedsPermission,
            AgentState::NeedsPermission,
            AgentState::NeedsPermission,
            AgentState::Idle,
        ],
        &[(0, "api"), (1, "web"), (2, "docs")],
    )
}

/// What every demo frame must show, at any size: the mode first and the
/// help key last on the status line, and each prompt in the inbox with its
/// tool (never `?`).
fn check_demo_frame(frame: &str) {
    let rows: Vec<&str> = frame.lines().collect();
    let status = rows.last().copied().unwrap_or_default().trim_matches('"');
    assert!(status.starts_with(" NORMAL "), "{status}");
    assert!(status.trim_end().ends_with("? help"), "{status}");
    for (id, tool) in [("api", "Bash"), ("web", "Edit"), ("docs", "Write")] {
        assert!(
            rows.iter().any(|r| r.contains(&format!(" {id} {tool} "))),
            "{id} {tool} not in the inbox:\n{frame}"
        );
    }
    assert!(
        !frame.contains(" ? ("),
        "a prompt without its tool:\n{frame}"
    );
}

#[test]
fn demo_with_prompts_80x24() {
    let (app, screens, now) = demo_scene(80, 24);
    let frame = render(&app, &screens, now);
    check_demo_frame(&frame);
    // Too small for a grid of minimum panes: the focused one takes the
    // area, the others are one-row bars.
    let lay = app.layout();
    assert_eq!(lay.panes.len(), 1);
    assert_eq!(lay.bars.len(), 3);
    insta::assert_snapshot!(frame);
}

#[test]
fn demo_with_prompts_100x30() {
    let (app, screens, now) = demo_scene(100, 30);
    let frame = render(&app, &screens, now);
    check_demo_frame(&frame);
    insta::assert_snapshot!(frame);
}

#[test]
fn demo_with_prompts_200x50() {
    let (app, screens, now) = demo_scene(200, 50);
    let frame = render(&app, &screens, now);
    check_demo_frame(&frame);
    assert_eq!(app.layout().panes.len(), 4, "a 2x2 grid");
    insta::assert_snapshot!(frame);
}

#[test]
fn no_pane_is_smaller_than_the_minimum_at_any_size() {
    // A terminal smaller than one minimum pane: the PTY keeps the minimum
    // and the pane shows part of it.
    let (app, _, _) = demo_scene(60, 20);
    let lay = app.layout();
    assert!(lay.summary.is_some() && lay.sidebar.is_none(), "{lay:?}");
    assert!(lay.panes.iter().all(|p| p.clipped()), "{lay:?}");
    assert!(
        app.pane_sizes()
            .iter()
            .all(|(_, (r, c))| (*c, *r) >= app.min_pane && *r >= app.min_pane.1)
    );
    for (cols, rows) in [
        (80, 24),
        (100, 30),
        (120, 40),
        (160, 45),
        (200, 50),
        (300, 80),
    ] {
        let (app, _, _) = demo_scene(cols, rows);
        let (min_cols, min_rows) = app.min_pane;
        // Every pane shows its whole screen (no clipping): the layout made
        // room, it did not shrink the view.
        for p in app.layout().panes {
            assert!(!p.clipped(), "{cols}x{rows}: {p:?}");
            assert_eq!(p.pty, (p.inner.height, p.inner.width), "{cols}x{rows}");
            assert!(
                p.inner.height >= min_rows && p.inner.width >= min_cols,
                "{cols}x{rows}: slot {} is {}x{}",
                p.slot,
                p.inner.width,
                p.inner.height
            );
        }
        for (slot, (r, c)) in app.pane_sizes() {
            assert!(
                r >= min_rows && c >= min_cols,
                "{cols}x{rows}: slot {slot} gets {c}x{r}"
            );
        }
        // Every slot has a size: visible, or stacked at the focused size.
        let mut slots: Vec<usize> = app.pane_sizes().iter().map(|x| x.0).collect();
        slots.sort_unstable();
        slots.dedup();
        assert_eq!(slots.len(), 4, "{cols}x{rows}");
    }
}

fn claude() -> std::sync::Arc<Profile> {
    Profiles::builtin()
        .unwrap_or_else(|e| panic!("{e}"))
        .get("claude")
        .unwrap_or_else(|| panic!("no claude profile"))
}

/// The scene's screens, with slot 3 flooding: its engine is busy while
/// `busy` is set.
struct Flooding<'a> {
    inner: &'a Fixed,
    busy: std::cell::Cell<bool>,
}

impl ScreenSource for Flooding<'_> {
    fn with_engine(&self, slot: SlotIdx, f: &mut dyn FnMut(&Engine)) {
        self.inner.with_engine(slot, f);
    }

    fn yields(&self, slot: SlotIdx) -> bool {
        slot == 3
    }

    fn try_with_engine(&self, slot: SlotIdx, f: &mut dyn FnMut(&Engine)) -> bool {
        if slot == 3 && self.busy.get() {
            return false;
        }
        self.with_engine(slot, f);
        true
    }
}

#[test]
fn a_busy_flooding_pane_shows_its_last_frame_and_never_blocks() {
    let (app, screens, now) = scene(200, 50);
    let src = Flooding {
        inner: &screens,
        busy: std::cell::Cell::new(false),
    };
    let (cols, rows) = app.size;
    let mut term = Terminal::new(TestBackend::new(cols, rows)).unwrap_or_else(|e| panic!("{e}"));
    let mut cache = ui::PaneCache::default();
    let mut draw = |src: &Flooding, cache: &mut ui::PaneCache| {
        term.draw(|f| ui::draw(f, &app, src, cache, now))
            .unwrap_or_else(|e| panic!("{e}"));
        term.backend().to_string()
    };
    let first = draw(&src, &mut cache);
    assert!(first.contains("Cargo.toml  README.md"), "{first}");
    if let Some(e) = screens.0.get(3) {
        let mut e = e.lock().unwrap_or_else(|p| p.into_inner());
        e.process(b"\r\nflood line 1\r\nflood line 2");
    }
    // Busy: the pane shows what it showed before, and the frame completes.
    src.busy.set(true);
    let stale = draw(&src, &mut cache);
    assert_eq!(stale, first);
    // Free again: the new output appears.
    src.busy.set(false);
    let fresh = draw(&src, &mut cache);
    assert!(fresh.contains("flood line 2"), "{fresh}");
    // Busy with nothing kept yet (a fresh cache): it waits for the engine.
    src.busy.set(true);
    let waited = draw(&src, &mut ui::PaneCache::default());
    assert!(waited.contains("flood line 2"), "{waited}");
}

#[test]
fn a_terminal_smaller_than_the_layout_does_not_panic() {
    // ratatui resizes its frame on draw, before corral handles the resize
    // event: for one frame the layout is larger than the terminal.
    let (app, screens, now) = scene(200, 50);
    let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap_or_else(|e| panic!("{e}"));
    term.draw(|f| ui::draw(f, &app, &screens, &mut ui::PaneCache::default(), now))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(term.backend().to_string().contains("corral"));
}

/// The 200x50 scene with `slot` focused in insert mode.
fn typing_in(slot: SlotIdx) -> (App, Fixed, Instant) {
    let (mut app, screens, now) = scene(200, 50);
    app.focus = slot;
    app.update(Msg::Key(KeyPress::ch('i')), now);
    (app, screens, now)
}

#[test]
fn an_early_echo_draws_exactly_what_the_next_frame_changes() {
    // Type into the shell pane (slot 3).
    let (app, screens, now) = typing_in(3);
    let (cols, rows) = app.size;
    let mut term = Terminal::new(TestBackend::new(cols, rows)).unwrap_or_else(|e| panic!("{e}"));
    let mut cache = ui::PaneCache::default();
    let mut draw = |cache: &mut ui::PaneCache| {
        term.draw(|f| ui::draw(f, &app, &screens, cache, now))
            .unwrap_or_else(|e| panic!("{e}"));
        term.backend().buffer().clone()
    };
    let before = draw(&mut cache);
    let lock = |i: usize| screens.0[i].lock().unwrap_or_else(|p| p.into_inner());
    lock(3).process("ls -l 漢字 \x1b[31mred\x1b[0m".as_bytes());
    let frame = before.area;
    let mut cells = Vec::new();
    let cursor = ui::early_echo(&mut cache, 3, &lock(3), frame, &mut cells)
        .unwrap_or_else(|| panic!("no early echo for the pane being typed in"));
    assert!(!cells.is_empty());
    // The echo on top of the last frame is the next frame, cell for cell
    // (the second cells of wide characters belong to the first).
    let mut patched = before.clone();
    for (x, y, c) in &cells {
        patched[(*x, *y)] = c.clone();
    }
    let after = draw(&mut cache);
    for y in 0..rows {
        for x in 0..cols {
            let wide_tail =
                x > 0 && unicode_width::UnicodeWidthStr::width(after[(x - 1, y)].symbol()) == 2;
            if !wide_tail {
                assert_eq!(patched[(x, y)], after[(x, y)], "cell {x},{y}");
            }
        }
    }
    let (cx, cy) = cursor.unwrap_or_else(|| panic!("the cursor shows in insert mode"));
    assert!(after[(cx - 1, cy)].symbol() == "d", "cursor after the echo");
    // Nothing changed since: no cells. Another pane: no early echo.
    cells.clear();
    assert!(ui::early_echo(&mut cache, 3, &lock(3), frame, &mut cells).is_some());
    assert!(cells.is_empty());
    assert!(ui::early_echo(&mut cache, 0, &lock(0), frame, &mut cells).is_none());
}

/// Bytes written through a backend, kept for the test to take.
#[derive(Clone, Default)]
struct Sink(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The frame's rows as text, as a terminal shows them (the second cell of a
/// wide character belongs to the first).
fn buffer_rows(buf: &ratatui::buffer::Buffer) -> Vec<String> {
    (0..buf.area.height)
        .map(|y| {
            let mut row = String::new();
            let mut skip = false;
            for x in 0..buf.area.width {
                if std::mem::take(&mut skip) {
                    continue;
                }
                let s = buf[(x, y)].symbol();
                skip = unicode_width::UnicodeWidthStr::width(s) > 1;
                row.push_str(s);
            }
            row.trim_end().to_string()
        })
        .collect()
}

/// Frames and early echoes, written as corral writes them, leave a terminal
/// showing exactly the last frame, also when a dialog opened over the echo
/// before that frame (ratatui alone would skip the dialog's blank cells,
/// which equal the pane's before the echo).
#[test]
fn a_dialog_over_an_early_echo_is_drawn_whole_by_the_next_frame() {
    use ratatui::backend::CrosstermBackend;
    use ratatui::layout::Rect;
    use ratatui::{TerminalOptions, Viewport};
    // Type into the docs pane (slot 2, bottom left, where help opens).
    let (mut app, screens, now) = typing_in(2);
    let (cols, rows) = app.size;
    let sink = Sink::default();
    let mut term = Terminal::with_options(
        CrosstermBackend::new(sink.clone()),
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, cols, rows)),
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // The user's terminal, fed every byte corral writes.
    let mut outer = Engine::new(rows, cols, 0);
    let mut shown = ui::Shown::default();
    let mut frame = |app: &corral::client::app::App, shown: &mut ui::Shown, outer: &mut Engine| {
        let mut repair = Vec::new();
        let done = term
            .draw(|f| {
                ui::draw(f, app, &screens, &mut shown.cache, now);
                shown
                    .repair(f.buffer_mut(), &mut repair)
                    .unwrap_or_else(|e| panic!("{e}"));
            })
            .unwrap_or_else(|e| panic!("{e}"));
        let want = buffer_rows(done.buffer);
        let written = std::mem::take(&mut *sink.0.borrow_mut());
        outer.process(&repair);
        outer.process(&written);
        (want, repair.len())
    };
    let (first, _) = frame(&app, &mut shown, &mut outer);
    let lock = |i: usize| screens.0[i].lock().unwrap_or_else(|p| p.into_inner());
    lock(2).process(
        "\x1b[3;1Hls -l 漢字 \x1b[31mred\x1b[0m; echo a long line of typing into the pane"
            .as_bytes(),
    );
    let mut echo = Vec::new();
    assert_eq!(
        shown
            .echo(2, &lock(2), &mut echo)
            .unwrap_or_else(|e| panic!("{e}")),
        ui::Echoed::Written
    );
    outer.process(&echo);
    let echoed = outer.snapshot().rows;
    assert!(
        echoed
            .iter()
            .any(|r| r.contains("ls -l 漢字 red; echo a long line of typing")),
        "the echo is on the terminal:\n{}",
        echoed.join("\n")
    );
    assert_ne!(
        first,
        echoed
            .iter()
            .map(|r| r.trim_end().to_string())
            .collect::<Vec<_>>()
    );
    // A key that only moves the cursor goes out at once too.
    let (row, col) = outer.screen().cursor_position();
    lock(2).process(b"\x1b[5D");
    echo.clear();
    assert_eq!(
        shown
            .echo(2, &lock(2), &mut echo)
            .unwrap_or_else(|e| panic!("{e}")),
        ui::Echoed::Written
    );
    outer.process(&echo);
    assert_eq!(outer.screen().cursor_position(), (row, col - 5));
    echo.clear();
    assert_eq!(
        shown
            .echo(2, &lock(2), &mut echo)
            .unwrap_or_else(|e| panic!("{e}")),
        ui::Echoed::Unchanged,
        "nothing changed since"
    );
    // A dialog opens over the pane before the next frame.
    app.modal = corral::client::app::Modal::Help;
    let (want, repaired) = frame(&app, &mut shown, &mut outer);
    assert!(
        repaired > 0,
        "the dialog covers echoed cells:\n{}",
        want.join("\n")
    );
    let got: Vec<String> = outer
        .snapshot()
        .rows
        .iter()
        .map(|r| r.trim_end().to_string())
        .collect();
    for (y, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "row {y}:\n{}", got.join("\n"));
    }
    // Nothing echoed since: the frame after needs no repair.
    app.modal = corral::client::app::Modal::None;
    let (want, repaired) = frame(&app, &mut shown, &mut outer);
    assert_eq!(repaired, 0);
    let got: Vec<String> = outer
        .snapshot()
        .rows
        .iter()
        .map(|r| r.trim_end().to_string())
        .collect();
    assert_eq!(got, want);
}
