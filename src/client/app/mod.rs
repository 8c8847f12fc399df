//! UI state and its transitions: messages in (keys, mouse, resize, session
//! events, ticks), state changes and effects out. [`App::update`] does no I/O,
//! so every transition is testable as "messages in, state and effects out".

use std::time::{Duration, Instant};

use crate::client::copy::{CopyMode, Direction, Motion, Pos, Shape};
use crate::config::Config;
use crate::detect::{AgentState, Answer, Prompt, PromptId};
use crate::engine::History;
use crate::keymap::{Action, Keymap, Lookup, Mode};
use crate::keys::{KeyCode, KeyPress, MouseReport};
use crate::server::{AnsweredBy, Command, Event, SlotIdx};
pub mod layout;

use layout::{Rect, ScreenLayout};

/// How long a flash message stays in the status line.
pub const FLASH_TTL: Duration = Duration::from_secs(4);

/// Slot ages in the sidebar are read on this tick (see [`App::ages_at`]).
pub const AGE_TICK: Duration = Duration::from_secs(60);

/// How long a notice (see [`App::notice`]) stays in the message area.
pub const NOTICE_TTL: Duration = Duration::from_secs(20);

/// After the prompt answer keys act on changes by itself (the one answered
/// closed, another arrived), an answer key pressed within this time of an
/// earlier one answers nothing: it was meant for the prompt before.
pub const RESELECT_GUARD: Duration = Duration::from_millis(400);

/// A slot as the UI shows it.
#[derive(Debug, Clone)]
pub struct SlotView {
    /// Slot id.
    pub id: String,
    /// Role from the config.
    pub role: String,
    /// Agent profile name.
    pub agent: String,
    /// Current state.
    pub state: AgentState,
    /// When the state began.
    pub since: Instant,
    /// Window title the child set.
    pub title: String,
    /// Session generation (1 = first start).
    pub generation: u64,
    /// The person asked for a restart: the session's end is not news.
    pub restart_asked: bool,
    /// Its git worktree's branch and files with uncommitted changes.
    pub worktree: Option<(String, usize)>,
    /// How its session is confined, when it asks for a sandbox.
    pub sandbox: Option<crate::sandbox::SandboxStatus>,
    /// When its program, which exited, starts again (its restart policy's
    /// delay): the sidebar counts down to it.
    pub restart_at: Option<Instant>,
    /// A structured slot's turns, tokens and cost, as its protocol said.
    pub usage: Option<crate::agent_protocol::SlotUsage>,
}

/// A pending prompt in the inbox.
#[derive(Debug, Clone)]
pub struct InboxEntry {
    /// The slot that asks.
    pub slot: SlotIdx,
    /// The prompt.
    pub prompt: Prompt,
    /// When it appeared.
    pub opened: Instant,
    /// The person opened it whole (details view or zoom): keys may answer
    /// it even where the pane or the inbox cuts it off.
    pub seen: bool,
}

pub use crate::model::shown;

/// `text` broken into rows of at most `width` display cells: its own line
/// breaks kept, long lines cut at cell boundaries (never re-flowed at
/// spaces, so what is shown is exactly the text).
pub fn wrap_cells(text: &str, width: usize) -> Vec<String> {
    use unicode_width::UnicodeWidthChar;
    let width = width.max(1);
    let mut rows = Vec::new();
    for line in text.split('\n') {
        let mut row = String::new();
        let mut used = 0;
        for c in line.chars() {
            let w = c.width().unwrap_or(0);
            if used + w > width && !row.is_empty() {
                rows.push(std::mem::take(&mut row));
                used = 0;
            }
            row.push(c);
            used += w;
        }
        rows.push(row);
    }
    rows
}

/// The rows the sidebar shows below the inbox for the selected prompt, in a
/// `width` x `height` area: its whole subject; for a subject read off the
/// screen that is not known exact, why; and what its approve-always option
/// says (`a = Yes, and don't ask again for …`), the scope `a` would grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectBlock {
    /// The rows, at most `height`.
    pub rows: Vec<String>,
    /// Rows of `rows` that are the subject (notes follow).
    pub subject_rows: usize,
    /// The first row of the approve-always label (`rows.len()` if none).
    pub always_from: usize,
    /// The subject fitted whole.
    pub subject_whole: bool,
    /// The approve-always option's label fitted whole (false when the
    /// prompt has none).
    pub always_whole: bool,
}

/// Lays out [`SubjectBlock`] for prompt `p` in `width` x `height` cells.
pub fn subject_block(p: &Prompt, width: usize, height: usize) -> SubjectBlock {
    let mut rows = wrap_cells(&shown(&p.subject), width);
    let mut notes = Vec::new();
    // A cut-off dialog's subject already says why.
    if let Some(why) = p
        .incomplete
        .filter(|_| p.tool != crate::detect::UNKNOWN_TOOL)
    {
        notes.extend(crate::model::wrap_words(&format!("! not exact: {why}"), width, usize::MAX).0);
    }
    let room = height.saturating_sub(notes.len());
    let subject_whole = rows.len() <= room;
    if !subject_whole {
        rows.truncate(room.saturating_sub(1));
        rows.push("… (v shows it whole)".chars().take(width).collect());
    }
    let subject_rows = rows.len().min(height);
    rows.extend(notes);
    let always = p
        .options
        .iter()
        .find(|o| o.kind == crate::detect::AnswerKind::ApproveAlways)
        // Words (prose), not cells as the subject: the scope reads whole.
        .map(|o| {
            crate::model::wrap_words(&format!("a = {}", shown(&o.label)), width, usize::MAX).0
        });
    let always_from = rows.len().min(height);
    let always_whole = match always {
        Some(a) if rows.len() + a.len() <= height => {
            rows.extend(a);
            true
        }
        _ => false,
    };
    rows.truncate(height);
    SubjectBlock {
        rows,
        subject_rows,
        always_from,
        subject_whole,
        always_whole,
    }
}

/// The details view's text width on a terminal `cols` cells wide.
pub fn details_width(cols: u16) -> usize {
    usize::from(cols.saturating_sub(4)).max(10)
}

/// The details view's header for prompt `p` of slot `slot`: where it comes
/// from and whether it is exact.
pub fn details_header(slot: &str, p: &Prompt) -> String {
    let source = match (p.source, p.incomplete) {
        (crate::detect::PromptSource::Hook, _) => "from the agent's hook: exact".to_string(),
        (_, None) => "read off the screen: every check passed".to_string(),
        (_, Some(why)) => format!("read off the screen, not exact: {why}"),
    };
    format!("{slot} · {} · {source}", p.tool)
}

/// Why answer keys may not act on a prompt yet (DESIGN.md §4.10: a person
/// answers only what they could see).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unseen {
    /// The dialog's top is cut off in its pane.
    CutOff,
    /// Its pane is not on screen (another pane is zoomed).
    PaneHidden,
    /// The inbox cannot show its whole subject.
    SubjectCut,
}

/// A modal overlay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Modal {
    /// What detection sees on the focused slot (`corral explain`'s text).
    Explain(String),
    /// None shown.
    None,
    /// The key help.
    Help,
    /// "Quit while agents run?"
    ConfirmQuit,
    /// The full dialog of the prompt with this id; digits choose an option.
    Details(PromptId),
    /// "New slot": the agent and branch typed so far.
    NewSlot(String),
}

/// A left-button press in a pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Press {
    slot: SlotIdx,
    at: (u16, u16),
    when: Instant,
    count: u8,
}

/// What a mouse gesture wants of copy mode, in the pane's cells (col, row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MouseIntent {
    /// A drag from one cell to another: select between them.
    Drag { from: (u16, u16), to: (u16, u16) },
    /// A double-click: copy the word there.
    Word((u16, u16)),
    /// A triple-click: copy the line there.
    Line((u16, u16)),
}

/// Presses closer together than this are a double (or triple) click.
pub const MULTI_CLICK: Duration = Duration::from_millis(500);

/// `n` and the word for it (`1 line`, `2 lines`).
fn plural_word(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// How long between two desktop notifications (bell, OSC 9/777).
pub const NOTIFY_EVERY: Duration = Duration::from_secs(2);

/// Recent decisions kept for the decisions panel.
pub const DECISIONS_KEPT: usize = 50;

/// One line of the decisions panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionLine {
    /// When.
    pub at: Instant,
    /// What happened, in words.
    pub text: String,
}

/// A short message in the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    /// The text.
    pub text: String,
    /// Shown in the error colour.
    pub error: bool,
    /// When it disappears.
    pub until: Instant,
}

/// A mouse event in terminal cells (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MouseMsg {
    /// Left button pressed at (col, row).
    Click(u16, u16),
    /// Left button released at (col, row).
    Release(u16, u16),
    /// Moved with the left button held, to (col, row).
    Drag(u16, u16),
    /// Wheel up at (col, row).
    WheelUp(u16, u16),
    /// Wheel down at (col, row).
    WheelDown(u16, u16),
}

/// A message into [`App::update`].
#[derive(Debug, Clone)]
pub enum Msg {
    /// A key press.
    Key(KeyPress),
    /// A key was typed into `slot`'s pane by the client's input thread
    /// while [`App::typing_slot`] was that slot: the pane is back at its
    /// live screen.
    Typed {
        /// The slot.
        slot: SlotIdx,
    },
    /// Pasted text.
    Paste(String),
    /// A mouse event.
    Mouse(MouseMsg),
    /// The terminal is now `cols` x `rows` cells.
    Resize(u16, u16),
    /// An event from the session manager.
    Session(Event),
    /// Time passed (expire flashes, refresh ages).
    Tick,
    /// A slot's PTY (and this client's copy of its screen) is now `rows` x
    /// `cols` cells: set by whichever client typed into it last.
    PtySize {
        /// The slot.
        slot: SlotIdx,
        /// Rows in cells.
        rows: u16,
        /// Columns in cells.
        cols: u16,
    },
    /// Automatic answers were turned on or off (by any client).
    AutoAnswers(bool),
    /// This client's copy of a slot's screen lags (output was dropped)
    /// until its next [`Msg::PtySize`].
    PtyStale {
        /// The slot.
        slot: SlotIdx,
    },
}

/// Something [`App::update`] asks the outside to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Send a command to the session manager.
    Session(Command),
    /// Stop every agent and the server, and leave.
    Quit,
    /// Leave this client; the agents go on running in the server.
    Detach,
    /// Explain detection on this slot: call [`App::show_explain`] with the text.
    Explain(SlotIdx),
    /// Ring the outer terminal's bell and post a desktop notification
    /// (OSC 9 / OSC 777) with this text.
    Notify(String),
    /// Start copy mode on `slot`: call [`App::start_copy`] with a frozen
    /// copy of its lines ([`crate::engine::Engine::history`]).
    EnterCopy {
        /// The slot.
        slot: SlotIdx,
    },
    /// Put this text on the clipboard: OSC 52 to the outer terminal, and
    /// the configured `copy_command`.
    Copy(String),
    /// Ask the server for a slot running `agent`, in a worktree on
    /// `branch` if given.
    NewSlot {
        /// The agent profile.
        agent: String,
        /// The worktree's branch.
        branch: Option<String>,
        /// The focused slot, whose directory (or worktree) it works in.
        near: SlotIdx,
    },
}

/// The whole UI state.
#[derive(Debug, Clone)]
pub struct App {
    /// Every slot, in config order.
    pub slots: Vec<SlotView>,
    /// Pending prompts, oldest first.
    pub inbox: Vec<InboxEntry>,
    /// Selected inbox entry.
    pub inbox_sel: usize,
    /// Focused slot.
    pub focus: SlotIdx,
    /// Input mode.
    pub mode: Mode,
    /// Focused pane fills the tile area.
    pub zoom: bool,
    /// Open overlay.
    pub modal: Modal,
    /// Key bindings.
    pub keymap: Keymap,
    /// Terminal size as (cols, rows).
    pub size: (u16, u16),
    /// Sidebar width in cells.
    pub sidebar_width: u16,
    /// The smallest PTY a slot gets, as (cols, rows) in cells
    /// (`[ui] min_pane`).
    pub min_pane: (u16, u16),
    /// `--attach`: one slot full-screen with a one-line status bar.
    pub attach: bool,
    /// Status-line message.
    pub flash: Option<Flash>,
    /// Whole minutes from here are when the sidebar reads slot ages (see
    /// [`App::ages_at`]): every label changes on the same tick.
    pub ages_from: Instant,
    /// Recent decisions, newest last.
    pub decisions: Vec<DecisionLine>,
    /// The decisions panel is shown.
    pub show_decisions: bool,
    /// Automatic answers are paused.
    pub auto_paused: bool,
    /// Copy mode, while [`App::mode`] is [`Mode::Copy`].
    pub copy: Option<CopyMode>,
    /// The focused pane's program asked for mouse reports (set by the
    /// client before each mouse event): in insert mode the mouse is its;
    /// otherwise a drag there selects, as in every other pane.
    pub focus_wants_mouse: bool,
    /// What a mouse gesture asked of copy mode before it began.
    copy_intent: Option<MouseIntent>,
    /// The last left-button press: where (col, row), when, how many
    /// presses in a row (a double or triple click), and the pane's slot.
    press: Option<Press>,
    /// A drag in copy mode selects from here.
    drag_anchor: Option<Pos>,
    /// The left button went down in this slot's pane at this cell (col,
    /// row) and is not up yet: a drag selects there.
    held: Option<(SlotIdx, (u16, u16))>,
    /// Copy mode was just left by a key: keys until then do nothing (a
    /// key pressed again or held, `y y`, `enter enter`, `q q`, would
    /// otherwise answer a prompt, type into the pane or quit unseen).
    copy_guard_until: Option<Instant>,
    /// The mode copy mode returns to (insert, after a drag in the pane
    /// being typed in).
    copy_return: Mode,
    last_notify: Option<Instant>,
    /// Per slot: the person scrolled its pane back (as far as the app knows:
    /// cleared when it returns to the live screen, types, or is resized).
    scrolled: Vec<bool>,
    /// The prompt answer keys act on.
    target_id: Option<PromptId>,
    /// When an answer key was last pressed.
    last_answer_key: Option<Instant>,
    /// Answer keys were refused by the reselect guard until then.
    guard_until: Option<Instant>,
    pending: Vec<KeyPress>,
    escape_armed: Option<KeyPress>,
    sent_sizes: Vec<Option<(u16, u16)>>,
    /// Per slot: the size (rows, cols) of its PTY as this client's copy of
    /// the screen has it, once known. Another client may have set it.
    pty_sizes: Vec<Option<(u16, u16)>>,
}

impl App {
    /// A new app for `config`'s slots at terminal size `size` (cols, rows).
    pub fn new(config: &Config, keymap: Keymap, size: (u16, u16), now: Instant) -> Self {
        let slots = config
            .slots
            .iter()
            .map(|s| SlotView {
                id: s.id.get_ref().clone(),
                role: s.role.clone(),
                agent: s.agent.get_ref().clone(),
                state: AgentState::Starting,
                since: now,
                title: String::new(),
                generation: 0,
                restart_asked: false,
                restart_at: None,
                worktree: None,
                sandbox: None,
                usage: None,
            })
            .collect::<Vec<_>>();
        Self::with_ui(slots, &config.ui, keymap, size, now)
    }

    /// An app showing `slots`, with `ui` settings.
    fn with_ui(
        slots: Vec<SlotView>,
        ui: &crate::config::UiConfig,
        keymap: Keymap,
        size: (u16, u16),
        now: Instant,
    ) -> Self {
        let n = slots.len();
        App {
            ages_from: now,
            slots,
            inbox: Vec::new(),
            inbox_sel: 0,
            focus: 0,
            mode: Mode::Normal,
            zoom: false,
            modal: Modal::None,
            keymap,
            size,
            sidebar_width: ui.sidebar_width,
            // Bounded: a PTY (and its engine) this size is made for every
            // slot.
            min_pane: (
                ui.min_pane.cols.clamp(1, 500),
                ui.min_pane.rows.clamp(1, 200),
            ),
            attach: false,
            flash: None,
            decisions: Vec::new(),
            show_decisions: false,
            auto_paused: false,
            copy: None,
            focus_wants_mouse: true,
            copy_intent: None,
            press: None,
            drag_anchor: None,
            copy_return: Mode::Normal,
            held: None,
            copy_guard_until: None,
            last_notify: None,
            scrolled: vec![false; n],
            target_id: None,
            last_answer_key: None,
            guard_until: None,
            pending: Vec::new(),
            escape_armed: None,
            sent_sizes: vec![None; n],
            pty_sizes: vec![None; n],
        }
    }

    /// The app of a client that attached to a running server: its slots,
    /// inbox, decisions and paused-policy flag as the server's `welcome`
    /// has them (ages counted back from `now`), with `ui` settings from the
    /// client's own config.
    pub fn from_welcome(
        w: &crate::proto::Welcome,
        ui: &crate::config::UiConfig,
        keymap: Keymap,
        size: (u16, u16),
        now: Instant,
    ) -> Self {
        let ago = |ms: u64| now.checked_sub(Duration::from_millis(ms)).unwrap_or(now);
        let slots = w
            .slots
            .iter()
            .map(|s| SlotView {
                id: s.id.clone(),
                role: s.role.clone(),
                agent: s.agent.clone(),
                state: s.state.clone(),
                since: ago(s.state_age_ms),
                title: s.title.clone(),
                generation: s.generation,
                restart_asked: false,
                restart_at: None,
                worktree: s.worktree.clone(),
                sandbox: s.sandbox.as_deref().cloned(),
                usage: s.usage.as_deref().copied(),
            })
            .collect::<Vec<_>>();
        let n = slots.len();
        let mut app = Self::with_ui(slots, ui, keymap, size, now);
        app.inbox = w
            .inbox
            .iter()
            .filter(|e| e.slot < n)
            .map(|e| InboxEntry {
                slot: e.slot,
                prompt: e.prompt.clone(),
                opened: ago(e.age_ms),
                seen: false,
            })
            .collect();
        app.decisions = w
            .decisions
            .iter()
            .map(|d| DecisionLine {
                at: ago(d.age_ms),
                text: d.text.clone(),
            })
            .collect();
        app.auto_paused = !w.auto_answers;
        app
    }

    /// Shows an explain text (the answer to [`Effect::Explain`]).
    pub fn show_explain(&mut self, text: String) {
        self.modal = Modal::Explain(text);
    }

    /// Switches to the `--attach` view of one slot, in insert mode.
    pub fn attach_to(&mut self, slot: SlotIdx) {
        self.attach = true;
        self.focus = slot.min(self.slots.len().saturating_sub(1));
        self.mode = Mode::Insert;
    }

    /// The slot a key typed now goes into as it is, with no other effect:
    /// the focused pane in insert mode with no dialog open (unless the key
    /// leaves insert mode, [`App::leaves_insert`]). The client's input
    /// thread types such keys itself ([`crate::client::input::Route`]).
    pub fn typing_slot(&self) -> Option<SlotIdx> {
        (self.mode == Mode::Insert
            && self.modal == Modal::None
            && self.copy_guard_until.is_none()
            && self.focus < self.slots.len())
        .then_some(self.focus)
    }

    /// Forgets a mouse gesture's wish for copy mode that could not be
    /// carried out (no copy of the slot's screen yet).
    pub fn cancel_copy_intent(&mut self) {
        self.copy_intent = None;
    }

    /// Whether `k` leaves insert mode under `keymap` rather than going to
    /// the pane.
    pub fn leaves_insert(keymap: &Keymap, k: KeyPress) -> bool {
        keymap.lookup(Mode::Insert, &[k]) == Lookup::Action(Action::Normal)
    }

    /// The current screen layout.
    pub fn layout(&self) -> ScreenLayout {
        layout::compute(self)
    }

    /// The PTY size (rows, cols) of each visible pane's slot, and of each
    /// slot stacked away under the focused pane.
    pub fn pane_sizes(&self) -> Vec<(SlotIdx, (u16, u16))> {
        let lay = self.layout();
        lay.panes
            .iter()
            .map(|p| (p.slot, (p.pty.0.max(1), p.pty.1.max(1))))
            .chain(lay.stacked_sizes.iter().copied())
            .collect()
    }

    /// The inbox entry that answer keys act on: in the attach view, the
    /// attached slot's prompt; otherwise the selected entry.
    pub fn target_prompt(&self) -> Option<&InboxEntry> {
        if self.attach {
            self.inbox.iter().find(|e| e.slot == self.focus)
        } else {
            self.inbox.get(self.inbox_sel)
        }
    }

    /// Whether the person can see entry `e` whole now, for `answer`: a
    /// screen prompt in a pane on screen (whole, at its live screen) whose
    /// dialog is not cut off; or a prompt whose subject the inbox shows
    /// whole (a screen prompt only when exact), and for approve-always also
    /// the scope it grants (the option's label, or the dialog in its pane);
    /// or one they opened in the details view.
    ///
    /// Errors: why not.
    pub fn visible(&self, e: &InboxEntry, answer: Answer) -> Result<(), Unseen> {
        if e.seen {
            return Ok(());
        }
        let lay = self.layout();
        let always = answer == Answer::ApproveAlways;
        // The sidebar shows the selected prompt's whole subject.
        let block = lay
            .inbox_detail
            .filter(|_| {
                self.inbox
                    .get(self.inbox_sel)
                    .is_some_and(|s| s.prompt.id == e.prompt.id)
            })
            .map(|r| subject_block(&e.prompt, usize::from(r.width), usize::from(r.height)));
        let in_inbox = block
            .as_ref()
            .is_some_and(|b| b.subject_whole && (!always || b.always_whole));
        // The pane shows the whole screen: not clipped by the layout, its
        // copy of the screen current (not before the first whole screen,
        // not while output is dropped), and the PTY (whose size the client
        // that typed last set) fits in it.
        let fits = |p: &layout::PaneArea| match self.pty_sizes.get(p.slot).copied().flatten() {
            Some((rows, cols)) => rows <= p.inner.height && cols <= p.inner.width,
            None => false,
        };
        let in_pane = lay
            .panes
            .iter()
            .any(|p| p.slot == e.slot && !p.clipped() && fits(p))
            && !self.scrolled.get(e.slot).copied().unwrap_or(false);
        match e.prompt.source {
            crate::detect::PromptSource::Screen => {
                if e.prompt.incomplete == Some(crate::detect::Incomplete::CutOff) {
                    return Err(Unseen::CutOff);
                }
                if in_pane {
                    return Ok(());
                }
                // Stacked away, zoomed past or scrolled back: an exact
                // subject the inbox shows whole was seen there.
                if e.prompt.incomplete.is_none() && in_inbox {
                    return Ok(());
                }
                Err(Unseen::PaneHidden)
            }
            // A hook request has no approve-always option of its own: `a`
            // goes to the agent's dialog, whose scope shows only there.
            crate::detect::PromptSource::Hook if always && !in_pane => Err(Unseen::PaneHidden),
            crate::detect::PromptSource::Hook
                if block.as_ref().is_some_and(|b| b.subject_whole) =>
            {
                Ok(())
            }
            // The attach view's status line shows the exact subject whole.
            crate::detect::PromptSource::Hook if self.attach_shows_subject(e) => Ok(()),
            crate::detect::PromptSource::Hook => Err(Unseen::SubjectCut),
            // A protocol request is answered on the protocol, every answer
            // with its own option (approve-always's rule is in its details):
            // seen when its exact subject was shown whole.
            crate::detect::PromptSource::Protocol
                if block.as_ref().is_some_and(|b| b.subject_whole)
                    || self.attach_shows_subject(e) =>
            {
                Ok(())
            }
            crate::detect::PromptSource::Protocol => Err(Unseen::SubjectCut),
        }
    }

    /// The status line's text on the left: the mode badge, and the paused
    /// badge when rules are paused, in a terminal `total` cells wide.
    pub fn status_badges(&self, total: usize) -> Vec<String> {
        let mut out = vec![format!(" {} ", self.mode.label())];
        if self.auto_paused {
            out.push(
                if total >= 60 {
                    " AUTO PAUSED "
                } else {
                    " PAUSED "
                }
                .to_string(),
            );
        }
        // One pane fills the area: the others are still there.
        if self.zoom && !self.attach {
            out.push(" ZOOM ".to_string());
        }
        out
    }

    /// The status line's help key text on the right (`? help`, or `ctrl-\ ?
    /// help` in insert mode when there is room), in a terminal `total`
    /// cells wide.
    pub fn status_help(&self, total: usize) -> String {
        self.keymap
            .key_for(Mode::Normal, Action::Help)
            .map(|k| match self.mode {
                Mode::Normal => format!(" {k} help "),
                Mode::Copy => match &self.copy {
                    Some(c) => format!(" {} ", c.position_label()),
                    None => String::new(),
                },
                Mode::Insert => {
                    let leave = self
                        .keymap
                        .key_for(Mode::Insert, Action::Normal)
                        .unwrap_or_default();
                    if total >= 60 {
                        format!(" {leave} {k} help ")
                    } else {
                        format!(" {k} help ")
                    }
                }
            })
            .unwrap_or_default()
    }

    /// Cells of the status line between the badges and the help key, in a
    /// terminal `total` cells wide.
    pub fn status_room(&self, total: usize) -> usize {
        let w = |s: &str| unicode_width::UnicodeWidthStr::width(s);
        let used: usize = self.status_badges(total).iter().map(|b| w(b)).sum();
        total.saturating_sub(used + w(&self.status_help(total)) + 1)
    }

    /// The attach view's status line for prompt `e` of the attached slot:
    /// the state (full, or the slot id alone), the answer keys (full or
    /// short), and the subject (`· Tool subject `), as (state full, state
    /// short, keys full, keys short, subject).
    pub fn attach_status_parts(&self, e: &InboxEntry) -> [String; 5] {
        let (id, label) = self
            .slots
            .get(self.focus)
            .map_or((String::new(), String::new()), |s| {
                (s.id.clone(), s.state.label())
            });
        let leave = self
            .keymap
            .key_for(Mode::Insert, Action::Normal)
            .unwrap_or_default();
        let k = |a: Action| {
            self.keymap
                .key_for(Mode::Normal, a)
                .unwrap_or_else(|| "-".into())
        };
        // In insert mode the answer keys come after the leave key.
        let lead = |then: &str| match self.mode {
            Mode::Insert => format!("{leave}{then}"),
            Mode::Copy => format!(
                "{}{then}",
                self.keymap
                    .key_for(Mode::Copy, Action::Normal)
                    .unwrap_or_default()
            ),
            Mode::Normal => String::new(),
        };
        let (y, a, n) = (
            k(Action::ApproveOnce),
            k(Action::ApproveAlways),
            k(Action::Deny),
        );
        [
            format!(" {id} · {label} "),
            format!(" {id} "),
            format!("· {}{y} approve · {a} always · {n} deny ", lead(" then ")),
            format!("· {}{y}/{a}/{n} ", lead(" ")),
            format!("· {} {} ", e.prompt.tool, shown(&e.prompt.subject)),
        ]
    }

    /// The attach view's status line shows prompt `e`'s whole subject (with
    /// the shortest state and keys): one line of it, and no message covers
    /// it.
    pub fn attach_shows_subject(&self, e: &InboxEntry) -> bool {
        let w = |s: &str| unicode_width::UnicodeWidthStr::width(s);
        let [_, state_short, _, keys_short, subject] = self.attach_status_parts(e);
        // One status line shows one line: a subject of several (a second
        // command after a line break) is never shown there as it is.
        self.attach
            && e.slot == self.focus
            && self.flash.is_none()
            && !e.prompt.subject.contains('\n')
            && 2 + w(&state_short) + w(&keys_short) + w(&subject)
                <= self.status_room(usize::from(self.size.0))
    }

    /// Whether the details view shows prompt `p`'s whole subject on this
    /// terminal (it does not scroll: a taller one is cut at the bottom).
    pub fn details_show_subject(&self, p: &Prompt) -> bool {
        let (cols, rows) = self.size;
        let width = details_width(cols);
        let slot = self
            .inbox
            .iter()
            .find(|e| e.prompt.id == p.id)
            .and_then(|e| self.slots.get(e.slot))
            .map_or("", |s| s.id.as_str());
        // Box borders, the header rows as wrapped, then the subject's.
        let header = wrap_cells(&details_header(slot, p), width).len();
        wrap_cells(&shown(&p.subject), width).len() + header + 2 <= usize::from(rows)
    }

    /// Opens prompt `id` in the details view; marks it seen when the view
    /// shows its whole subject.
    fn open_details(&mut self, id: PromptId) -> bool {
        let whole = self
            .inbox
            .iter()
            .find(|e| e.prompt.id == id)
            .is_some_and(|e| self.details_show_subject(&e.prompt));
        if let Some(e) = self.inbox.iter_mut().find(|e| e.prompt.id == id) {
            e.seen |= whole;
        }
        self.modal = Modal::Details(id);
        whole
    }

    /// Sends `answer` for the target prompt if the person could see it
    /// whole; otherwise shows it (details, or zoom for a dialog cut off in
    /// its pane) and says so.
    fn answer_target(
        &mut self,
        answer: Answer,
        detail: String,
        now: Instant,
        fx: &mut Vec<Effect>,
    ) {
        let Some(e) = self.target_prompt().cloned() else {
            self.flash("no prompt is waiting", true, now);
            return;
        };
        // A key pressed again (or held) right after the prompt it answered
        // closed must not answer the one that took its place: after such a
        // move, answer keys wait for a pause of RESELECT_GUARD.
        self.last_answer_key = Some(now);
        if self.guard_until.is_some_and(|g| now < g) {
            self.guard_until = Some(now + RESELECT_GUARD);
            let id = self
                .slots
                .get(e.slot)
                .map(|s| s.id.clone())
                .unwrap_or_default();
            self.flash(
                format!("nothing sent: the selection just moved to {id}'s prompt; press again"),
                true,
                now,
            );
            return;
        }
        // Denying is always safe (DESIGN.md §4.10): a deny key denies the
        // prompt the person sees, whether or not they saw all of it.
        let seen = if answer == Answer::Deny {
            Ok(())
        } else {
            self.visible(&e, answer)
        };
        match seen {
            Ok(()) => fx.push(Effect::Session(Command::Answer {
                slot: e.slot,
                prompt: e.prompt.id,
                answer,
                by: AnsweredBy {
                    source: "keyboard".into(),
                    detail,
                },
            })),
            Err(Unseen::CutOff) if !self.attach => {
                self.focus = e.slot;
                self.zoom = true;
                self.flash(
                    "nothing sent: the dialog is cut off in its pane; zoomed to show it whole",
                    true,
                    now,
                );
            }
            Err(_) => {
                let text = if self.open_details(e.prompt.id) {
                    "nothing sent: you had not seen this prompt whole; here it is"
                } else {
                    "nothing sent: the command is taller than the screen; answer it in its pane (g)"
                };
                self.flash(text, true, now);
            }
        }
    }

    /// True while any slot's child is running (so quitting would stop it).
    pub fn agents_running(&self) -> bool {
        self.running_count() > 0
    }

    /// How many slots' children are running (one waiting to restart runs
    /// none).
    pub fn running_count(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| !matches!(s.state, AgentState::Exited(_) | AgentState::Restarting))
            .count()
    }

    /// The moment the sidebar reads slot ages at, for a frame drawn at
    /// `now`: the last whole minute since [`App::ages_from`]. Slot ages show
    /// minutes (`<1m`, `4m`, `2h`), so they may wait for the minute: every
    /// label changes on one tick, and an idle corral wakes at most once a
    /// minute for all of them (and not at all while none would change).
    pub fn ages_at(&self, now: Instant) -> Instant {
        let into = now.saturating_duration_since(self.ages_from).as_secs();
        self.ages_from + Duration::from_secs(into - into % AGE_TICK.as_secs())
    }

    /// When the app next needs a [`Msg::Tick`] without any other input: a
    /// flash expiring, or an age label in the sidebar changing.
    pub fn next_deadline(&self, now: Instant) -> Option<Instant> {
        let mut next = self.flash.as_ref().map(|f| f.until);
        // `step` zero: at `since` itself; else the next whole `step` of
        // age since it.
        let mut at_boundary = |since: Instant, step: Duration| {
            let at = if step.is_zero() {
                since
            } else {
                let age = now.saturating_duration_since(since);
                let into = Duration::from_millis((age.as_millis() % step.as_millis()) as u64);
                now + (step - into)
            };
            next = Some(next.map_or(at, |n: Instant| n.min(at)));
        };
        if !self.attach && self.sidebar_width > 0 {
            // Each slot's label changes on the first age tick after its age
            // crosses its next step (a minute, past an hour an hour).
            let tick = self.ages_at(now);
            for s in &self.slots {
                let age = tick.saturating_duration_since(s.since);
                let step = if age < Duration::from_secs(3600) {
                    Duration::from_secs(60)
                } else {
                    Duration::from_secs(3600)
                };
                let crosses = s.since
                    + Duration::from_secs((age.as_secs() / step.as_secs() + 1) * step.as_secs());
                let after = crosses
                    .saturating_duration_since(self.ages_from)
                    .as_secs()
                    .div_ceil(AGE_TICK.as_secs());
                let at = (self.ages_from + AGE_TICK * after as u32).max(tick + AGE_TICK);
                at_boundary(at, Duration::ZERO);
            }
            // A restart counts down by the second.
            for s in &self.slots {
                if let Some(at) = s.restart_at.filter(|at| *at > now) {
                    let left = at.saturating_duration_since(now);
                    let into = Duration::from_nanos((left.as_nanos() % 1_000_000_000) as u64);
                    let step = if into.is_zero() {
                        Duration::from_secs(1)
                    } else {
                        into
                    };
                    at_boundary(now + step, Duration::ZERO);
                }
            }
            // A waiting prompt's age counts seconds for its first minute.
            for e in &self.inbox {
                if now.saturating_duration_since(e.opened) < Duration::from_secs(60) {
                    at_boundary(e.opened, Duration::from_secs(1));
                }
            }
        }
        next
    }

    fn decision(&mut self, text: String, now: Instant) {
        self.decisions.push(DecisionLine { at: now, text });
        if self.decisions.len() > DECISIONS_KEPT {
            self.decisions.remove(0);
        }
    }

    /// Asks for attention for `slot`, unless the user is typing into it or a
    /// notification went out less than [`NOTIFY_EVERY`] ago.
    fn notify(&mut self, slot: SlotIdx, text: String, now: Instant, fx: &mut Vec<Effect>) {
        let typing_here = self.mode == Mode::Insert && self.focus == slot;
        let recent = self
            .last_notify
            .is_some_and(|t| now.duration_since(t) < NOTIFY_EVERY);
        if typing_here || recent {
            return;
        }
        self.last_notify = Some(now);
        fx.push(Effect::Notify(text));
    }

    /// Shows `text`, which matters more than a flash, in the message area
    /// for [`NOTICE_TTL`] (in red) and keeps it in the decisions panel.
    pub fn notice(&mut self, text: impl Into<String>, now: Instant) {
        let text = text.into();
        self.decision(text.clone(), now);
        self.flash = Some(Flash {
            text,
            error: true,
            until: now + NOTICE_TTL,
        });
    }

    /// Shows `text` in the message area for a while (`error`: in red).
    pub fn flash(&mut self, text: impl Into<String>, error: bool, now: Instant) {
        self.flash = Some(Flash {
            text: text.into(),
            error,
            until: now + FLASH_TTL,
        });
    }

    /// Applies one message; returns the effects to carry out.
    pub fn update(&mut self, msg: Msg, now: Instant) -> Vec<Effect> {
        let mut fx = Vec::new();
        let by_session = matches!(msg, Msg::Session(_));
        match msg {
            Msg::Key(k) => self.key(k, now, &mut fx),
            Msg::Typed { slot } => {
                if let Some(s) = self.scrolled.get_mut(slot) {
                    *s = false;
                }
            }
            Msg::Paste(text) => {
                if self.mode == Mode::Insert && self.modal == Modal::None {
                    fx.push(Effect::Session(Command::Paste {
                        slot: self.focus,
                        text,
                    }));
                }
            }
            Msg::Mouse(m) => self.mouse(m, now, &mut fx),
            Msg::Resize(cols, rows) => {
                self.size = (cols, rows);
            }
            Msg::Session(ev) => self.session_event(ev, now, &mut fx),
            Msg::Tick => {
                if self.flash.as_ref().is_some_and(|f| f.until <= now) {
                    self.flash = None;
                }
                if self.copy_guard_until.is_some_and(|g| g <= now) {
                    self.copy_guard_until = None;
                }
            }
            Msg::PtySize { slot, rows, cols } => {
                if let Some(s) = self.pty_sizes.get_mut(slot) {
                    *s = Some((rows, cols));
                }
            }
            Msg::PtyStale { slot } => {
                if let Some(s) = self.pty_sizes.get_mut(slot) {
                    *s = None;
                }
            }
            Msg::AutoAnswers(enabled) => {
                if self.auto_paused == enabled {
                    self.auto_paused = !enabled;
                    let text = if enabled {
                        "automatic answers resumed"
                    } else {
                        "automatic answers paused"
                    };
                    self.flash(text, false, now);
                }
            }
        }
        let target = self.target_prompt().map(|e| e.prompt.id);
        if target != self.target_id {
            self.target_id = target;
            // Moved by itself while the person was answering: their next
            // keys were meant for the prompt before.
            if by_session
                && target.is_some()
                && self
                    .last_answer_key
                    .is_some_and(|k| now.saturating_duration_since(k) < RESELECT_GUARD)
            {
                self.guard_until = Some(now + RESELECT_GUARD);
            }
        }
        self.sync_sizes(&mut fx);
        for f in &fx {
            match f {
                // Back to the live screen: a resize (the engine's view
                // resets), typing, or the person's own scroll.
                Effect::Session(Command::Resize { slot, .. } | Command::Key { slot, .. }) => {
                    if let Some(s) = self.scrolled.get_mut(*slot) {
                        *s = false;
                    }
                }
                Effect::Session(Command::Scroll { slot, delta }) => {
                    if let Some(s) = self.scrolled.get_mut(*slot) {
                        // Down may or may not reach the live screen: still
                        // back until it surely is.
                        if *delta == i32::MIN {
                            *s = false;
                        } else if *delta > 0 {
                            *s = true;
                        }
                    }
                }
                // The wheel in insert mode scrolls a pane whose program did
                // not ask for mouse reports.
                Effect::Session(Command::Mouse {
                    slot,
                    event: MouseReport::WheelUp(..),
                }) => {
                    if let Some(s) = self.scrolled.get_mut(*slot) {
                        *s = true;
                    }
                }
                _ => {}
            }
        }
        fx
    }

    /// Emits resize commands for visible panes whose size changed.
    fn sync_sizes(&mut self, fx: &mut Vec<Effect>) {
        for (slot, (rows, cols)) in self.pane_sizes() {
            if self.sent_sizes.get(slot).copied().flatten() != Some((rows, cols)) {
                if let Some(s) = self.sent_sizes.get_mut(slot) {
                    *s = Some((rows, cols));
                }
                fx.push(Effect::Session(Command::Resize { slot, rows, cols }));
            }
        }
    }

    fn session_event(&mut self, ev: Event, now: Instant, fx: &mut Vec<Effect>) {
        // Decisions are worded before the event changes the inbox (an
        // answered prompt's subject is still there).
        let decision = match &ev {
            Event::PolicyAsked { .. }
            | Event::AnswerSent { .. }
            | Event::AnswerRefused { .. }
            | Event::Notice { .. } => self.decision_text(&ev),
            _ => None,
        };
        match ev {
            Event::Output { .. } | Event::Bell { .. } => {}
            Event::Usage { slot, usage } => {
                if let Some(s) = self.slots.get_mut(slot) {
                    s.usage = Some(usage);
                }
            }
            Event::TurnEnded { slot, result } => {
                if let Some(s) = self.slots.get_mut(slot) {
                    s.usage.get_or_insert_default().add(&result);
                }
            }
            Event::SlotAdded { slot, info } => {
                if slot == self.slots.len() {
                    self.slots.push(SlotView {
                        id: info.id.clone(),
                        role: info.role.clone(),
                        agent: info.agent.clone(),
                        state: info.state.clone(),
                        since: now,
                        title: info.title.clone(),
                        generation: info.generation,
                        restart_asked: false,
                        restart_at: None,
                        worktree: info.worktree.clone(),
                        sandbox: info.sandbox.as_deref().cloned(),
                        usage: info.usage.as_deref().copied(),
                    });
                    self.scrolled.push(false);
                    self.sent_sizes.push(None);
                    self.pty_sizes.push(Some((info.rows, info.cols)));
                    self.flash(format!("slot {} added", info.id), false, now);
                }
            }
            Event::Started { slot, generation } => {
                if let Some(s) = self.slots.get_mut(slot) {
                    s.generation = generation;
                    s.restart_asked = false;
                }
            }
            Event::StateChanged { slot, state, .. } => {
                if let Some(s) = self.slots.get_mut(slot)
                    && s.state != state
                {
                    let id = s.id.clone();
                    s.state = state.clone();
                    s.since = now;
                    if !matches!(state, AgentState::Restarting | AgentState::Exited(_)) {
                        s.restart_at = None;
                    }
                    if state == AgentState::NeedsInput {
                        self.notify(slot, format!("{id} needs input"), now, fx);
                    }
                }
            }
            Event::PromptOpened { slot, prompt } => {
                if !self.inbox.iter().any(|e| e.prompt.id == prompt.id) {
                    let id = self
                        .slots
                        .get(slot)
                        .map(|s| s.id.clone())
                        .unwrap_or_default();
                    let text = format!(
                        "{id} needs permission: {} {}",
                        prompt.tool,
                        shown(&prompt.subject)
                    );
                    self.inbox.push(InboxEntry {
                        slot,
                        prompt,
                        opened: now,
                        seen: false,
                    });
                    self.notify(slot, text, now, fx);
                }
            }
            Event::PolicyAsked { .. } => {
                if let Some(text) = decision {
                    self.decision(text, now);
                }
            }
            Event::PromptUpdated { was, prompt, .. } => {
                let now_id = prompt.id;
                if let Some(e) = self.inbox.iter_mut().find(|e| e.prompt.id == was) {
                    // What the person saw is no longer what it says (a new
                    // id: it reads otherwise, if only in how sure it is).
                    if now_id != was
                        || e.prompt.tool != prompt.tool
                        || e.prompt.subject != prompt.subject
                    {
                        e.seen = false;
                    }
                    e.prompt = prompt;
                }
                // Details of what it said before: show it as it reads now.
                if let Modal::Details(id) = self.modal
                    && id == was
                {
                    self.modal = Modal::Details(now_id);
                }
            }
            Event::PromptClosed { prompt, .. } => self.remove_prompt(prompt),
            Event::Title { slot, title } => {
                if let Some(s) = self.slots.get_mut(slot) {
                    s.title = title;
                }
            }
            Event::Exited {
                slot,
                status,
                restart_in,
            } => {
                let Some(s) = self.slots.get(slot) else {
                    return;
                };
                let id = s.id.clone();
                // Stopped for the restart the person asked for: "restarting"
                // already says it.
                if s.restart_asked && restart_in.is_some() {
                    if let Some(s) = self.slots.get_mut(slot) {
                        s.restart_asked = false;
                    }
                    return;
                }
                let text = match restart_in {
                    Some(d) => format!("{id} exited ({status}); restarting in {}s", d.as_secs()),
                    None => format!("{id} exited ({status})"),
                };
                // The sidebar counts down to the restart for as long as it
                // is due; the message says why once.
                if let Some(s) = self.slots.get_mut(slot) {
                    s.restart_at = restart_in.map(|d| now + d);
                }
                self.flash(text, status != "0", now);
            }
            Event::AnswerSent { .. } => {
                if let Some(text) = decision {
                    self.flash(text.clone(), false, now);
                    self.decision(text, now);
                }
            }
            Event::AnswerRefused { .. } => {
                if let Some(text) = decision {
                    self.flash(text.clone(), true, now);
                    self.decision(text, now);
                }
            }
            Event::SpawnFailed { error, .. } => self.flash(error, true, now),
            Event::InputRefused { reason, .. } => self.flash(reason, true, now),
            Event::Worktree {
                slot,
                branch,
                changes,
            } => {
                if let Some(s) = self.slots.get_mut(slot) {
                    s.worktree = Some((branch, changes));
                }
            }
            Event::WorktreeRemoved { slot } => {
                if let Some(s) = self.slots.get_mut(slot) {
                    s.worktree = None;
                }
            }
            Event::Sandbox { slot, status } => {
                if let Some(s) = self.slots.get_mut(slot) {
                    s.sandbox = status.map(|b| *b);
                }
            }
            Event::Notice { .. } => {
                if let Some(text) = decision {
                    self.flash(text.clone(), false, now);
                    self.decision(text, now);
                }
            }
        }
    }

    /// [`crate::proto::decision_text`] with this app's slots and inbox.
    fn decision_text(&self, ev: &Event) -> Option<String> {
        crate::proto::decision_text(
            ev,
            |slot| {
                self.slots
                    .get(slot)
                    .map(|s| s.id.clone())
                    .unwrap_or_default()
            },
            |id| {
                self.inbox
                    .iter()
                    .find(|e| e.prompt.id == id)
                    .map(|e| (e.prompt.tool.clone(), e.prompt.subject.clone()))
            },
        )
    }

    fn remove_prompt(&mut self, id: PromptId) {
        let Some(pos) = self.inbox.iter().position(|e| e.prompt.id == id) else {
            return;
        };
        self.inbox.remove(pos);
        if pos < self.inbox_sel {
            self.inbox_sel -= 1;
        }
        if self.inbox_sel >= self.inbox.len() {
            self.inbox_sel = self.inbox.len().saturating_sub(1);
        }
    }

    fn key(&mut self, k: KeyPress, now: Instant, fx: &mut Vec<Effect>) {
        if let Some(until) = self.copy_guard_until {
            // Keys that act on an agent or on corral wait; moving about
            // does not.
            let acts = self.mode == Mode::Insert
                || matches!(
                    self.keymap.lookup(Mode::Normal, &[k]),
                    Lookup::Action(
                        Action::ApproveOnce
                            | Action::ApproveAlways
                            | Action::Deny
                            | Action::Insert
                            | Action::Quit
                            | Action::Detach
                            | Action::Restart
                            | Action::PauseAuto
                            | Action::Details
                    )
                );
            if now < until && self.mode != Mode::Copy && acts {
                self.copy_guard_until = Some(now + RESELECT_GUARD);
                self.flash(
                    format!("copy mode just ended: {k} did nothing; press it again"),
                    true,
                    now,
                );
                return;
            }
            if now >= until {
                self.copy_guard_until = None;
            }
        }
        match self.modal.clone() {
            Modal::Help | Modal::Explain(_) => {
                self.modal = Modal::None;
                return;
            }
            Modal::Details(id) => {
                self.modal = Modal::None;
                // The person sees it whole here: answer keys act on it.
                let answer = match self.keymap.lookup(Mode::Normal, &[k]) {
                    Lookup::Action(Action::ApproveOnce) => Some(Answer::ApproveOnce),
                    Lookup::Action(Action::ApproveAlways) => Some(Answer::ApproveAlways),
                    Lookup::Action(Action::Deny) => Some(Answer::Deny),
                    _ => None,
                };
                // Deny needs no whole view: it is always safe.
                if let Some(answer) = answer
                    && let Some(e) = self
                        .inbox
                        .iter()
                        .find(|e| e.prompt.id == id && (e.seen || answer == Answer::Deny))
                {
                    fx.push(Effect::Session(Command::Answer {
                        slot: e.slot,
                        prompt: id,
                        answer,
                        by: AnsweredBy {
                            source: "keyboard".into(),
                            detail: format!("details {k}"),
                        },
                    }));
                    return;
                }
                // A number chooses its option only on a prompt seen whole
                // here, unless the option denies.
                if let KeyCode::Char(c @ '1'..='9') = k.code
                    && let Some(e) = self.inbox.iter().find(|e| e.prompt.id == id)
                {
                    let n = c as u8 - b'0';
                    let option = e.prompt.options.iter().find(|o| o.number == n);
                    let denies = option.is_some_and(|o| o.kind == crate::detect::AnswerKind::Deny);
                    if option.is_some() && (e.seen || denies) {
                        fx.push(Effect::Session(Command::Answer {
                            slot: e.slot,
                            prompt: id,
                            answer: Answer::Select(n),
                            by: AnsweredBy {
                                source: "keyboard".into(),
                                detail: format!("details {n}"),
                            },
                        }));
                    }
                }
                return;
            }
            Modal::NewSlot(mut text) => {
                match k.code {
                    KeyCode::Esc => self.modal = Modal::None,
                    KeyCode::Enter => {
                        self.modal = Modal::None;
                        let mut words = text.split_whitespace();
                        if let Some(agent) = words.next() {
                            fx.push(Effect::NewSlot {
                                agent: agent.to_string(),
                                branch: words.next().map(str::to_string),
                                near: self.focus,
                            });
                        }
                    }
                    KeyCode::Backspace => {
                        text.pop();
                        self.modal = Modal::NewSlot(text);
                    }
                    KeyCode::Char(c) if !k.mods.ctrl && !k.mods.alt && text.len() < 200 => {
                        text.push(c);
                        self.modal = Modal::NewSlot(text);
                    }
                    _ => {}
                }
                return;
            }
            Modal::ConfirmQuit => {
                self.modal = Modal::None;
                if matches!(
                    k.code,
                    KeyCode::Char('y') | KeyCode::Char('q') | KeyCode::Enter
                ) {
                    fx.push(Effect::Quit);
                }
                return;
            }
            Modal::None => {}
        }
        match self.mode {
            Mode::Copy => self.copy_key(k, now, fx),
            Mode::Insert => {
                if App::leaves_insert(&self.keymap, k) {
                    self.mode = Mode::Normal;
                    self.escape_armed = Some(k);
                    return;
                }
                fx.push(Effect::Session(Command::Key {
                    slot: self.focus,
                    key: k,
                }));
            }
            Mode::Normal => {
                if let Some(esc) = self.escape_armed.take()
                    && esc == k
                    && self.pending.is_empty()
                {
                    // The leave-insert key pressed twice: send it through.
                    self.mode = Mode::Insert;
                    fx.push(Effect::Session(Command::Key {
                        slot: self.focus,
                        key: k,
                    }));
                    return;
                }
                if let Some((a, keys)) = self.pending_action(Mode::Normal, k) {
                    self.run(a, &keys, now, fx);
                }
            }
        }
    }

    fn run(&mut self, a: Action, keys: &[KeyPress], now: Instant, fx: &mut Vec<Effect>) {
        let n = self.slots.len();
        match a {
            Action::FocusLeft | Action::FocusRight | Action::FocusUp | Action::FocusDown => {
                if !self.attach && !self.zoom {
                    let lay = self.layout();
                    if let Some(to) = layout::neighbour(&lay, self.focus, a) {
                        self.focus = to;
                    }
                }
            }
            Action::FocusNext if !self.attach && n > 0 => self.focus = (self.focus + 1) % n,
            Action::FocusPrev if !self.attach && n > 0 => self.focus = (self.focus + n - 1) % n,
            Action::FocusNext | Action::FocusPrev => {}
            Action::Insert => {
                self.mode = Mode::Insert;
                fx.push(Effect::Session(Command::Scroll {
                    slot: self.focus,
                    delta: i32::MIN,
                }));
            }
            Action::Normal => self.mode = Mode::Normal,
            Action::CopyMode => {
                self.copy_intent = None;
                fx.push(Effect::EnterCopy { slot: self.focus });
            }
            // Copy mode's own keys ([`App::copy_key`]).
            Action::CursorLeft
            | Action::CursorDown
            | Action::CursorUp
            | Action::CursorRight
            | Action::NextWord
            | Action::PreviousWord
            | Action::NextWordEnd
            | Action::StartOfLine
            | Action::BackToIndentation
            | Action::EndOfLine
            | Action::HistoryTop
            | Action::HistoryBottom
            | Action::SelectChars
            | Action::SelectLines
            | Action::SelectBlock
            | Action::CopySelection
            | Action::SearchUp
            | Action::SearchDown
            | Action::SearchAgain
            | Action::SearchReverse => {}
            Action::ApproveOnce | Action::ApproveAlways | Action::Deny => {
                let answer = match a {
                    Action::ApproveOnce => Answer::ApproveOnce,
                    Action::ApproveAlways => Answer::ApproveAlways,
                    _ => Answer::Deny,
                };
                let detail = keys
                    .iter()
                    .map(|k| k.to_string())
                    .collect::<Vec<_>>()
                    .join(" ");
                self.answer_target(answer, detail, now, fx);
            }
            Action::InboxNext if !self.inbox.is_empty() => {
                self.inbox_sel = (self.inbox_sel + 1) % self.inbox.len();
            }
            Action::InboxPrev if !self.inbox.is_empty() => {
                self.inbox_sel = (self.inbox_sel + self.inbox.len() - 1) % self.inbox.len();
            }
            Action::InboxNext | Action::InboxPrev => {}
            Action::GoToPrompt => {
                if let Some(e) = self.inbox.get(self.inbox_sel)
                    && !self.attach
                {
                    self.focus = e.slot;
                }
            }
            Action::Zoom => {
                if !self.attach {
                    self.zoom = !self.zoom;
                }
            }
            Action::ScrollUp
            | Action::ScrollDown
            | Action::ScrollPageUp
            | Action::ScrollPageDown
            | Action::ScrollHalfPageUp
            | Action::ScrollHalfPageDown => {
                let height = self
                    .layout()
                    .panes
                    .iter()
                    .find(|p| p.slot == self.focus)
                    .map_or(20, |p| i32::from(p.inner.height));
                let page = (height - 1).max(1);
                let half = (height / 2).max(1);
                let delta = match a {
                    Action::ScrollUp => 1,
                    Action::ScrollDown => -1,
                    Action::ScrollPageUp => page,
                    Action::ScrollPageDown => -page,
                    Action::ScrollHalfPageUp => half,
                    _ => -half,
                };
                fx.push(Effect::Session(Command::Scroll {
                    slot: self.focus,
                    delta,
                }));
            }
            Action::ScrollBottom => fx.push(Effect::Session(Command::Scroll {
                slot: self.focus,
                delta: i32::MIN,
            })),
            Action::Restart => {
                fx.push(Effect::Session(Command::Restart { slot: self.focus }));
                if let Some(s) = self.slots.get_mut(self.focus) {
                    s.restart_asked = true;
                }
                let id = self
                    .slots
                    .get(self.focus)
                    .map(|s| s.id.clone())
                    .unwrap_or_default();
                self.flash(format!("restarting {id}"), false, now);
            }
            Action::Help => self.modal = Modal::Help,
            Action::GoToWaiting => {
                let oldest = self
                    .slots
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.state.is_blocked())
                    .min_by_key(|(_, s)| s.since)
                    .map(|(i, _)| i);
                match oldest {
                    Some(i) if !self.attach => {
                        self.focus = i;
                        if let Some(pos) = self.inbox.iter().position(|e| e.slot == i) {
                            self.inbox_sel = pos;
                        }
                    }
                    Some(_) => {}
                    None => self.flash("no slot is waiting", false, now),
                }
            }
            Action::Details => match self.target_prompt().map(|e| e.prompt.id) {
                Some(id) => {
                    self.open_details(id);
                }
                None => self.flash("no prompt is waiting", true, now),
            },
            Action::Decisions => self.show_decisions = !self.show_decisions,
            Action::NewSlot if !self.attach => self.modal = Modal::NewSlot(String::new()),
            Action::NewSlot => {}
            Action::PauseAuto => {
                self.auto_paused = !self.auto_paused;
                fx.push(Effect::Session(Command::SetAutoAnswers {
                    enabled: !self.auto_paused,
                }));
                let text = if self.auto_paused {
                    "automatic answers paused"
                } else {
                    "automatic answers resumed"
                };
                self.flash(text, false, now);
            }
            Action::Explain => fx.push(Effect::Explain(self.focus)),
            Action::Detach => fx.push(Effect::Detach),
            Action::Quit => {
                if self.agents_running() {
                    self.modal = Modal::ConfirmQuit;
                } else {
                    fx.push(Effect::Quit);
                }
            }
            Action::None => {}
        }
    }

    /// The inner area of `slot`'s pane, if it is on screen.
    fn pane_inner(&self, slot: SlotIdx) -> Option<Rect> {
        self.layout()
            .panes
            .iter()
            .find(|p| p.slot == slot)
            .map(|p| p.inner)
    }

    /// Starts copy mode on `slot` (the answer to [`Effect::EnterCopy`])
    /// over `history`, its pane's view `offset` lines back and the
    /// program's cursor at `cursor` (row, col); carries out the mouse
    /// gesture that asked for it, if any. Returns what that asks of the
    /// outside (a copy).
    pub fn start_copy(
        &mut self,
        slot: SlotIdx,
        history: History,
        offset: usize,
        cursor: Option<(u16, u16)>,
        now: Instant,
    ) -> Vec<Effect> {
        let mut fx = Vec::new();
        let Some(inner) = self.pane_inner(slot) else {
            self.copy_intent = None;
            return fx;
        };
        if self.modal != Modal::None {
            self.copy_intent = None;
            return fx;
        }
        let mut c = CopyMode::new(slot, history, offset, inner.height, cursor);
        let intent = self.copy_intent.take();
        if self.mode != Mode::Copy {
            self.copy_return = if self.mode == Mode::Insert && slot == self.focus {
                Mode::Insert
            } else {
                Mode::Normal
            };
        }
        self.focus = slot;
        self.mode = Mode::Copy;
        self.pending.clear();
        match intent {
            Some(MouseIntent::Drag { from, to }) => {
                let a = c.pos_at(from.1, from.0);
                c.select_range(a, c.pos_at(to.1, to.0));
                self.drag_anchor = Some(a);
                self.copy = Some(c);
            }
            Some(MouseIntent::Word(at)) => {
                c.select_word(c.pos_at(at.1, at.0));
                self.copy = Some(c);
                self.copy_selection(now, &mut fx);
            }
            Some(MouseIntent::Line(at)) => {
                c.select_line(c.pos_at(at.1, at.0));
                self.copy = Some(c);
                self.copy_selection(now, &mut fx);
            }
            None => self.copy = Some(c),
        }
        fx
    }

    /// Leaves copy mode: back to normal mode and the pane's live screen.
    fn leave_copy(&mut self, fx: &mut Vec<Effect>) {
        if let Some(c) = self.copy.take() {
            fx.push(Effect::Session(Command::Scroll {
                slot: c.slot,
                delta: i32::MIN,
            }));
        }
        self.drag_anchor = None;
        self.pending.clear();
        self.mode = std::mem::replace(&mut self.copy_return, Mode::Normal);
    }

    /// Copies the selection and leaves copy mode; with none, says so.
    fn copy_selection(&mut self, now: Instant, fx: &mut Vec<Effect>) {
        match self.copy.as_ref().and_then(CopyMode::selected_text) {
            Some(text) if !text.is_empty() => {
                let n = text.chars().count();
                let lines = text.lines().count();
                fx.push(Effect::Copy(text));
                self.flash(
                    format!(
                        "copied {} ({})",
                        plural_word(n, "character", "characters"),
                        plural_word(lines, "line", "lines")
                    ),
                    false,
                    now,
                );
                self.leave_copy(fx);
            }
            _ => self.flash("nothing selected: v, V or ctrl-v selects", true, now),
        }
    }

    /// A key in copy mode: a search being typed takes it as text;
    /// otherwise the `[[copy]]` keymap.
    fn copy_key(&mut self, k: KeyPress, now: Instant, fx: &mut Vec<Effect>) {
        let height = self.copy.as_ref().and_then(|c| self.pane_inner(c.slot));
        let Some(c) = self.copy.as_mut() else {
            self.mode = Mode::Normal;
            return;
        };
        if let Some(h) = height {
            c.set_height(h.height);
        }
        if let Some((dir, mut text)) = c.input.take() {
            match k.code {
                KeyCode::Esc => {}
                KeyCode::Enter => {
                    // An empty search repeats the last one, as in vi.
                    let found = if text.is_empty() {
                        c.search.is_some() && c.search_again(false)
                    } else {
                        c.search(&text, dir)
                    };
                    if !found {
                        let what = if text.is_empty() {
                            c.search
                                .as_ref()
                                .map(|s| s.pattern.clone())
                                .unwrap_or_default()
                        } else {
                            text
                        };
                        self.flash(format!("not found: {what}"), true, now);
                    }
                }
                KeyCode::Backspace => {
                    text.pop();
                    c.input = Some((dir, text));
                }
                KeyCode::Char(ch) if !k.mods.ctrl && !k.mods.alt && text.chars().count() < 200 => {
                    text.push(ch);
                    c.input = Some((dir, text));
                }
                _ => c.input = Some((dir, text)),
            }
            return;
        }
        if let Some((a, _)) = self.pending_action(Mode::Copy, k) {
            self.run_copy(a, now, fx);
            if self.mode != Mode::Copy {
                self.copy_guard_until = Some(now + RESELECT_GUARD);
            }
        }
    }

    /// `k` after the keys pressed so far, looked up in `mode`: the action
    /// they complete, with the keys; `None` while they are a prefix or
    /// when nothing is bound to them (then they are forgotten).
    fn pending_action(&mut self, mode: Mode, k: KeyPress) -> Option<(Action, Vec<KeyPress>)> {
        self.pending.push(k);
        match self.keymap.lookup(mode, &self.pending) {
            Lookup::Prefix => None,
            Lookup::Unbound => {
                self.pending.clear();
                None
            }
            Lookup::Action(a) => Some((a, std::mem::take(&mut self.pending))),
        }
    }

    /// Runs action `a` in copy mode.
    fn run_copy(&mut self, a: Action, now: Instant, fx: &mut Vec<Effect>) {
        let motion = match a {
            Action::CursorLeft => Some(Motion::Left),
            Action::CursorDown => Some(Motion::Down),
            Action::CursorUp => Some(Motion::Up),
            Action::CursorRight => Some(Motion::Right),
            Action::NextWord => Some(Motion::NextWord),
            Action::PreviousWord => Some(Motion::PrevWord),
            Action::NextWordEnd => Some(Motion::WordEnd),
            Action::StartOfLine => Some(Motion::LineStart),
            Action::BackToIndentation => Some(Motion::FirstNonBlank),
            Action::EndOfLine => Some(Motion::LineEnd),
            Action::HistoryTop => Some(Motion::Top),
            Action::HistoryBottom | Action::ScrollBottom => Some(Motion::Bottom),
            Action::ScrollHalfPageUp => Some(Motion::HalfPageUp),
            Action::ScrollHalfPageDown => Some(Motion::HalfPageDown),
            Action::ScrollPageUp => Some(Motion::PageUp),
            Action::ScrollPageDown => Some(Motion::PageDown),
            Action::ScrollUp => Some(Motion::Up),
            Action::ScrollDown => Some(Motion::Down),
            _ => None,
        };
        let Some(c) = self.copy.as_mut() else {
            return;
        };
        if let Some(m) = motion {
            c.motion(m);
            return;
        }
        match a {
            Action::SelectChars => c.toggle_selection(Shape::Chars),
            Action::SelectLines => c.toggle_selection(Shape::Lines),
            Action::SelectBlock => c.toggle_selection(Shape::Block),
            Action::SearchUp => c.input = Some((Direction::Up, String::new())),
            Action::SearchDown => c.input = Some((Direction::Down, String::new())),
            Action::SearchAgain | Action::SearchReverse => {
                let Some(what) = c.search.as_ref().map(|s| s.pattern.clone()) else {
                    self.flash("no search yet: / or ? searches", true, now);
                    return;
                };
                if !c.search_again(a == Action::SearchReverse) {
                    self.flash(format!("not found: {what}"), true, now);
                }
            }
            Action::CopySelection => self.copy_selection(now, fx),
            Action::Normal => self.leave_copy(fx),
            Action::Help => self.modal = Modal::Help,
            _ => {}
        }
    }

    /// A mouse event over a pane outside insert mode: a click focuses it,
    /// a drag selects (copy mode begins) and the release copies, a double
    /// click copies a word and a triple click a line; the wheel scrolls.
    fn pane_mouse(
        &mut self,
        m: MouseMsg,
        p: &layout::PaneArea,
        now: Instant,
        fx: &mut Vec<Effect>,
    ) {
        let inner = p.inner;
        let (col, row) = match m {
            MouseMsg::Click(c, r)
            | MouseMsg::Release(c, r)
            | MouseMsg::Drag(c, r)
            | MouseMsg::WheelUp(c, r)
            | MouseMsg::WheelDown(c, r) => (c, r),
        };
        // In the pane's cells, clamped to it (a drag may leave it).
        let cell = (
            col.clamp(inner.x, inner.x + inner.width.max(1) - 1) - inner.x,
            row.clamp(inner.y, inner.y + inner.height.max(1) - 1) - inner.y,
        );
        let copying = self.copy.as_ref().is_some_and(|c| c.slot == p.slot);
        match m {
            MouseMsg::Click(..) => {
                if self.copy.is_some() && !copying {
                    self.leave_copy(fx);
                }
                self.focus = p.slot;
                let count = match self.press {
                    Some(q)
                        if q.slot == p.slot
                            && q.at == cell
                            && now.saturating_duration_since(q.when) < MULTI_CLICK =>
                    {
                        q.count % 3 + 1
                    }
                    _ => 1,
                };
                self.press = Some(Press {
                    slot: p.slot,
                    at: cell,
                    when: now,
                    count,
                });
                self.held = Some((p.slot, cell));
                self.drag_anchor = None;
                let intent = match count {
                    2 => Some(MouseIntent::Word(cell)),
                    3 => Some(MouseIntent::Line(cell)),
                    _ => None,
                };
                match (intent, copying) {
                    (Some(i), true) => {
                        if let Some(c) = self.copy.as_mut() {
                            let at = c.pos_at(cell.1, cell.0);
                            match i {
                                MouseIntent::Word(_) => c.select_word(at),
                                _ => c.select_line(at),
                            }
                        }
                        self.copy_selection(now, fx);
                    }
                    (Some(i), false) => {
                        self.copy_intent = Some(i);
                        fx.push(Effect::EnterCopy { slot: p.slot });
                    }
                    (None, true) => {
                        if let Some(c) = self.copy.as_mut() {
                            let at = c.pos_at(cell.1, cell.0);
                            c.selection = None;
                            c.select_range(at, at);
                            c.selection = None;
                        }
                    }
                    (None, false) => {}
                }
            }
            MouseMsg::Drag(..) => {
                let Some((_, at)) = self.held.filter(|(s, _)| *s == p.slot) else {
                    return;
                };
                if copying {
                    let Some(c) = self.copy.as_mut() else {
                        return;
                    };
                    // Past the top or bottom edge: the view scrolls.
                    if row < inner.y {
                        c.motion(Motion::Up);
                    } else if row >= inner.y + inner.height {
                        c.motion(Motion::Down);
                    }
                    let anchor = *self.drag_anchor.get_or_insert(c.pos_at(at.1, at.0));
                    c.select_range(anchor, c.pos_at(cell.1, cell.0));
                } else if cell != at && self.copy_intent.is_none() && self.modal == Modal::None {
                    self.copy_intent = Some(MouseIntent::Drag { from: at, to: cell });
                    fx.push(Effect::EnterCopy { slot: p.slot });
                }
            }
            MouseMsg::Release(..) => {
                if copying && self.drag_anchor.is_some() {
                    if let Some(c) = self.copy.as_mut() {
                        let anchor = self.drag_anchor.unwrap_or_default();
                        c.select_range(anchor, c.pos_at(cell.1, cell.0));
                    }
                    self.copy_selection(now, fx);
                }
                self.drag_anchor = None;
                self.held = None;
            }
            MouseMsg::WheelUp(..) | MouseMsg::WheelDown(..) if copying => {
                if let Some(c) = self.copy.as_mut() {
                    let m = if matches!(m, MouseMsg::WheelUp(..)) {
                        Motion::Up
                    } else {
                        Motion::Down
                    };
                    for _ in 0..3 {
                        c.motion(m);
                    }
                }
            }
            MouseMsg::WheelUp(..) => fx.push(Effect::Session(Command::Scroll {
                slot: p.slot,
                delta: 3,
            })),
            MouseMsg::WheelDown(..) => fx.push(Effect::Session(Command::Scroll {
                slot: p.slot,
                delta: -3,
            })),
        }
    }

    fn mouse(&mut self, m: MouseMsg, now: Instant, fx: &mut Vec<Effect>) {
        if self.modal != Modal::None {
            return;
        }
        let lay = self.layout();
        let (col, row) = match m {
            MouseMsg::Click(c, r)
            | MouseMsg::Release(c, r)
            | MouseMsg::Drag(c, r)
            | MouseMsg::WheelUp(c, r)
            | MouseMsg::WheelDown(c, r) => (c, r),
        };
        let hit =
            |r: &Rect| col >= r.x && col < r.x + r.width && row >= r.y && row < r.y + r.height;
        // Insert mode: events inside the focused pane belong to its program
        // when it asked for mouse reports; else they select, as elsewhere.
        if self.mode == Mode::Insert
            && self.focus_wants_mouse
            && let Some(p) = lay
                .panes
                .iter()
                .find(|p| p.slot == self.focus && hit(&p.inner))
        {
            let (c, r) = (col - p.inner.x, row - p.inner.y);
            let event = match m {
                MouseMsg::Click(..) => MouseReport::Press(c, r),
                MouseMsg::Release(..) => MouseReport::Release(c, r),
                MouseMsg::Drag(..) => MouseReport::Drag(c, r),
                MouseMsg::WheelUp(..) => MouseReport::WheelUp(c, r),
                MouseMsg::WheelDown(..) => MouseReport::WheelDown(c, r),
            };
            fx.push(Effect::Session(Command::Mouse {
                slot: p.slot,
                event,
            }));
            // The program has the button: no selection of corral's.
            if matches!(m, MouseMsg::Click(..) | MouseMsg::Release(..)) {
                self.held = None;
            }
            return;
        }
        // A drag goes on in the pane it began in, wherever the pointer is.
        let dragging = match m {
            MouseMsg::Drag(..) | MouseMsg::Release(..) => self.held.map(|(s, _)| s),
            _ => None,
        };
        if let Some(p) = lay
            .panes
            .iter()
            .find(|p| Some(p.slot) == dragging)
            .or_else(|| lay.panes.iter().find(|p| hit(&p.area)))
        {
            let p = *p;
            self.pane_mouse(m, &p, now, fx);
            return;
        }
        if matches!(m, MouseMsg::Click(..) | MouseMsg::Release(..)) {
            self.held = None;
        }
        if let MouseMsg::Click(..) = m {
            if let Some(slot) = lay.bars.iter().find(|b| hit(&b.area)).and_then(|b| b.slot) {
                self.focus = slot;
            } else if let Some((i, _)) = lay.inbox_rows.iter().find(|(_, r)| hit(r)) {
                self.inbox_sel = *i;
            } else if let Some((slot, _)) = lay.slot_rows.iter().find(|(_, r)| hit(r)) {
                self.focus = *slot;
            }
        }
    }
}

#[cfg(test)]
mod tests {
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
}
