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
mod copy_mode;
mod events;
mod keys;
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
}

#[cfg(test)]
mod tests;
