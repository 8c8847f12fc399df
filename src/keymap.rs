//! The keymap: which key (or key sequence) runs which [`Action`] in each
//! [`Mode`]. `keymap.toml` at the repository root is embedded as the default;
//! a user file overrides it binding by binding.

use std::collections::BTreeMap;
use std::path::Path;

use serde::de::IntoDeserializer;
use serde::{Deserialize, Serialize};

use crate::config::ConfigError;
use crate::keys::KeyPress;

/// The embedded default keymap (the repository's `keymap.toml`).
pub const DEFAULT_KEYMAP: &str = include_str!("../keymap.toml");

/// An input mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Keys are corral commands.
    Normal,
    /// Keys go to the focused pane.
    Insert,
    /// A cursor moves over a frozen copy of the focused pane's lines,
    /// selects and searches them, and copies to the clipboard.
    Copy,
}

impl Mode {
    /// The name shown in the status line.
    pub fn label(self) -> &'static str {
        match self {
            Mode::Normal => "NORMAL",
            Mode::Insert => "INSERT",
            Mode::Copy => "COPY",
        }
    }
}

/// A named corral command: the vocabulary of `keymap.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Focus the pane to the left.
    FocusLeft,
    /// Focus the pane to the right.
    FocusRight,
    /// Focus the pane above.
    FocusUp,
    /// Focus the pane below.
    FocusDown,
    /// Focus the next pane in slot order.
    FocusNext,
    /// Focus the previous pane in slot order.
    FocusPrev,
    /// Enter insert mode: keys go to the focused pane.
    Insert,
    /// Back to normal mode, from insert mode or copy mode (which returns
    /// the pane to its live screen).
    Normal,
    /// Enter copy mode on the focused pane: its view freezes, a cursor
    /// moves with vi motions, `v`/`V`/`ctrl-v` select and `y` copies.
    CopyMode,
    /// Copy mode: the cursor one cell left.
    CursorLeft,
    /// Copy mode: the cursor one line down.
    CursorDown,
    /// Copy mode: the cursor one line up.
    CursorUp,
    /// Copy mode: the cursor one cell right.
    CursorRight,
    /// Copy mode: to the start of the next word.
    NextWord,
    /// Copy mode: to the start of this or the previous word.
    PreviousWord,
    /// Copy mode: to the end of this or the next word.
    NextWordEnd,
    /// Copy mode: to column 0.
    StartOfLine,
    /// Copy mode: to the line's first non-blank character.
    BackToIndentation,
    /// Copy mode: to the line's last non-blank character.
    EndOfLine,
    /// Copy mode: to the oldest line of the scrollback.
    HistoryTop,
    /// Copy mode: to the newest line.
    HistoryBottom,
    /// Copy mode: select characters from the cursor (again: stop selecting).
    SelectChars,
    /// Copy mode: select whole lines.
    SelectLines,
    /// Copy mode: select a rectangle.
    SelectBlock,
    /// Copy mode: copy the selection to the clipboard (OSC 52, and the
    /// configured `copy_command`) and leave copy mode.
    CopySelection,
    /// Copy mode: type a text and search toward older lines.
    SearchUp,
    /// Copy mode: type a text and search toward newer lines.
    SearchDown,
    /// Copy mode: the last search again, the same way.
    SearchAgain,
    /// Copy mode: the last search again, the other way.
    SearchReverse,
    /// Approve the selected inbox prompt once.
    ApproveOnce,
    /// Approve the selected inbox prompt and its kind from now on.
    ApproveAlways,
    /// Deny the selected inbox prompt.
    Deny,
    /// Select the next inbox prompt.
    InboxNext,
    /// Select the previous inbox prompt.
    InboxPrev,
    /// Focus the pane of the selected inbox prompt.
    GoToPrompt,
    /// Show the focused pane alone, or go back to the tiles.
    Zoom,
    /// Scroll the focused pane's scrollback up one row.
    ScrollUp,
    /// Scroll the focused pane's scrollback down one row.
    ScrollDown,
    /// Scroll up a page: the pane's height minus one row, so one row of
    /// context stays in view (as tmux's copy mode does).
    ScrollPageUp,
    /// Scroll down a page (the pane's height minus one row).
    ScrollPageDown,
    /// Scroll up half the pane's height.
    ScrollHalfPageUp,
    /// Scroll down half the pane's height.
    ScrollHalfPageDown,
    /// Back to the live screen.
    ScrollBottom,
    /// Restart the focused slot's session.
    Restart,
    /// Show or hide the help overlay.
    Help,
    /// Focus the slot that has waited longest for the user.
    GoToWaiting,
    /// Show the selected prompt in full; a number then chooses an option.
    Details,
    /// Show or hide the panel of recent decisions (manual and automatic).
    Decisions,
    /// Pause automatic (policy) answers, or resume them.
    PauseAuto,
    /// Show what detection sees on the focused pane: state, rule, evidence
    /// and the extracted prompt (as `corral explain`).
    Explain,
    /// Add a slot: asks for an agent profile and, optionally, the branch
    /// of a git worktree for it.
    NewSlot,
    /// Quit: stop every agent and the server (asks first while agents run).
    Quit,
    /// Leave this client; the server and its agents go on running, and
    /// `corral` attaches again.
    Detach,
    /// Does nothing; in a user keymap it removes a default binding.
    None,
}

impl Action {
    /// The action's name as written in `keymap.toml`.
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

/// One binding: a key sequence, its action, and its hint text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The keys, pressed in order (usually one).
    pub keys: Vec<KeyPress>,
    /// What they run.
    pub action: Action,
    /// Hint shown in the status line; bindings without one only appear in help.
    pub desc: Option<String>,
}

impl Binding {
    /// The keys in notation, joined by spaces (`"g g"`).
    pub fn keys_label(&self) -> String {
        self.keys
            .iter()
            .map(|k| k.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Result of looking up pressed keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// The keys complete a binding.
    Action(Action),
    /// The keys start a longer binding: wait for more.
    Prefix,
    /// No binding starts with these keys.
    Unbound,
}

/// All bindings of all modes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    modes: BTreeMap<Mode, Vec<Binding>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OnField {
    One(String),
    Seq(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBinding {
    on: toml::Spanned<OnField>,
    run: toml::Spanned<String>,
    #[serde(default)]
    desc: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeymap {
    #[serde(default)]
    normal: Vec<RawBinding>,
    #[serde(default)]
    insert: Vec<RawBinding>,
    #[serde(default)]
    copy: Vec<RawBinding>,
}

fn parse_file(path: &Path, src: &str) -> Result<BTreeMap<Mode, Vec<Binding>>, ConfigError> {
    let raw: RawKeymap = toml::from_str(src).map_err(|e| ConfigError::from_toml(path, src, &e))?;
    let mut out = BTreeMap::new();
    for (mode, list) in [
        (Mode::Normal, raw.normal),
        (Mode::Insert, raw.insert),
        (Mode::Copy, raw.copy),
    ] {
        let mut bindings: Vec<Binding> = Vec::new();
        for rb in list {
            let span = rb.on.span();
            let names = match rb.on.into_inner() {
                OnField::One(s) => vec![s],
                OnField::Seq(v) => v,
            };
            if names.is_empty() {
                return Err(ConfigError::at(
                    path,
                    src,
                    Some(span),
                    "empty key sequence".into(),
                ));
            }
            let mut keys = Vec::new();
            for n in &names {
                let k: KeyPress = n.parse().map_err(|e: crate::keys::KeyParseError| {
                    ConfigError::at(path, src, Some(span.clone()), e.to_string())
                })?;
                keys.push(k);
            }
            let action = Action::deserialize(rb.run.get_ref().as_str().into_deserializer())
                .map_err(|_: serde::de::value::Error| {
                    ConfigError::at(
                        path,
                        src,
                        Some(rb.run.span()),
                        format!("unknown action {:?}", rb.run.get_ref()),
                    )
                })?;
            if let Some(prev) = bindings
                .iter()
                .find(|b| b.keys == keys || b.keys.starts_with(&keys) || keys.starts_with(&b.keys))
            {
                let what = if prev.keys == keys {
                    "duplicate key"
                } else {
                    "key sequence overlaps"
                };
                return Err(ConfigError::at(
                    path,
                    src,
                    Some(span),
                    format!(
                        "{what} `{}` in [{}] (already bound to {})",
                        names.join(" "),
                        mode.label().to_lowercase(),
                        prev.action.name()
                    ),
                ));
            }
            bindings.push(Binding {
                keys,
                action,
                desc: rb.desc,
            });
        }
        out.insert(mode, bindings);
    }
    Ok(out)
}

impl Keymap {
    /// The embedded default keymap.
    ///
    /// Errors: only if the embedded file is broken (a test guards it).
    pub fn default_keymap() -> Result<Keymap, ConfigError> {
        Self::load(None)
    }

    /// The default keymap merged with a user file's text, if any: a user
    /// binding replaces the default binding of the same keys in the same mode;
    /// `run = "none"` removes it.
    ///
    /// Errors (with file, line and column): TOML errors, unknown actions, bad
    /// key notation, duplicate or overlapping keys within a mode, and an insert
    /// or copy mode without a key bound to `normal` (it could never be left).
    pub fn load(user: Option<(&Path, &str)>) -> Result<Keymap, ConfigError> {
        let mut modes = parse_file(Path::new("<default keymap.toml>"), DEFAULT_KEYMAP)?;
        if let Some((path, src)) = user {
            let overrides = parse_file(path, src)?;
            for (mode, list) in overrides {
                let base = modes.entry(mode).or_default();
                for b in list {
                    base.retain(|x| {
                        !(x.keys == b.keys
                            || x.keys.starts_with(&b.keys)
                            || b.keys.starts_with(&x.keys))
                    });
                    if b.action != Action::None {
                        base.push(b);
                    }
                }
            }
            for (mode, table) in [(Mode::Insert, "[[insert]]"), (Mode::Copy, "[[copy]]")] {
                let escapable = modes
                    .get(&mode)
                    .is_some_and(|l| l.iter().any(|b| b.action == Action::Normal));
                if !escapable {
                    let pos = src.find(table).map(|p| p..p + 1);
                    return Err(ConfigError::at(
                        path,
                        src,
                        pos,
                        format!(
                            "{} mode has no key bound to `normal`: it could never be left",
                            mode.label().to_lowercase()
                        ),
                    ));
                }
            }
        }
        Ok(Keymap { modes })
    }

    /// The bindings of a mode, in file order (defaults first, then additions).
    pub fn bindings(&self, mode: Mode) -> &[Binding] {
        self.modes.get(&mode).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Looks up a sequence of pressed keys in a mode.
    pub fn lookup(&self, mode: Mode, keys: &[KeyPress]) -> Lookup {
        let mut prefix = false;
        for b in self.bindings(mode) {
            if b.keys == keys {
                return Lookup::Action(b.action);
            }
            if b.keys.starts_with(keys) {
                prefix = true;
            }
        }
        if prefix {
            Lookup::Prefix
        } else {
            Lookup::Unbound
        }
    }

    /// The first key sequence bound to an action in a mode, as notation.
    pub fn key_for(&self, mode: Mode, action: Action) -> Option<String> {
        self.bindings(mode)
            .iter()
            .find(|b| b.action == action)
            .map(Binding::keys_label)
    }

    /// Status-line hints of a mode: for each binding with a `desc`, the keys of
    /// every binding of the same action that has no desc of its own are shown
    /// with it (`←↓↑→ focus`).
    pub fn hints(&self, mode: Mode) -> Vec<Hint> {
        let list = self.bindings(mode);
        let mut out = Vec::new();
        for b in list.iter().filter(|b| b.desc.is_some()) {
            let desc = b.desc.clone().unwrap_or_default();
            let mut keys = vec![short_key(&b.keys_label())];
            // Focus hints group the four directions under one desc.
            let group: &[Action] = match b.action {
                Action::FocusLeft | Action::FocusRight | Action::FocusUp | Action::FocusDown => &[
                    Action::FocusLeft,
                    Action::FocusDown,
                    Action::FocusUp,
                    Action::FocusRight,
                ],
                Action::ScrollPageUp | Action::ScrollPageDown => {
                    &[Action::ScrollPageUp, Action::ScrollPageDown]
                }
                Action::CursorLeft
                | Action::CursorDown
                | Action::CursorUp
                | Action::CursorRight => &[
                    Action::CursorLeft,
                    Action::CursorDown,
                    Action::CursorUp,
                    Action::CursorRight,
                ],
                _ => &[],
            };
            if !group.is_empty() {
                keys.clear();
                for a in group {
                    if let Some(k) = list.iter().find(|x| x.action == *a) {
                        keys.push(short_key(&k.keys_label()));
                    }
                }
                let joined = if keys.iter().all(|k| k.chars().count() == 1) {
                    keys.concat()
                } else {
                    keys.join("/")
                };
                out.push(Hint {
                    keys: joined,
                    desc,
                    action: b.action,
                });
                continue;
            }
            out.push(Hint {
                keys: keys.concat(),
                desc,
                action: b.action,
            });
        }
        out
    }
}

/// One status-line hint: keys, what they do, and the action they run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    /// The keys, compact (`←↓↑→`, `y`).
    pub keys: String,
    /// The binding's `desc`.
    pub desc: String,
    /// The action.
    pub action: Action,
}

/// Compact key labels for the status line.
fn short_key(k: &str) -> String {
    match k {
        "left" => "←".into(),
        "right" => "→".into(),
        "up" => "↑".into(),
        "down" => "↓".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> KeyPress {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn default_keymap_loads() {
        let km = Keymap::default_keymap().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            km.lookup(Mode::Normal, &[k("y")]),
            Lookup::Action(Action::ApproveOnce)
        );
        assert_eq!(
            km.lookup(Mode::Normal, &[k("n")]),
            Lookup::Action(Action::Deny)
        );
        assert_eq!(
            km.lookup(Mode::Insert, &[k("ctrl-\\")]),
            Lookup::Action(Action::Normal)
        );
        assert_eq!(km.lookup(Mode::Insert, &[k("y")]), Lookup::Unbound);
        // Copy mode has a table of its own, where `y` copies.
        assert_eq!(
            km.lookup(Mode::Normal, &[k("[")]),
            Lookup::Action(Action::CopyMode)
        );
        for (key, action) in [
            ("y", Action::CopySelection),
            ("q", Action::Normal),
            ("esc", Action::Normal),
            ("v", Action::SelectChars),
            ("V", Action::SelectLines),
            ("ctrl-v", Action::SelectBlock),
            ("/", Action::SearchUp),
            ("?", Action::SearchDown),
            ("n", Action::SearchAgain),
            ("N", Action::SearchReverse),
            ("0", Action::StartOfLine),
            ("^", Action::BackToIndentation),
            ("$", Action::EndOfLine),
            ("ctrl-u", Action::ScrollHalfPageUp),
            ("ctrl-f", Action::ScrollPageDown),
        ] {
            assert_eq!(
                km.lookup(Mode::Copy, &[k(key)]),
                Lookup::Action(action),
                "{key}"
            );
        }
        let hints = km.hints(Mode::Normal);
        assert_eq!(
            (hints[0].keys.as_str(), hints[0].desc.as_str()),
            ("←↓↑→", "focus")
        );
    }

    #[test]
    fn user_overrides_by_key_and_sequences_work() {
        let user = "[[normal]]\non = \"y\"\nrun = \"none\"\n[[normal]]\non = [\"g\", \"y\"]\nrun = \"approve-once\"\n";
        let km = Keymap::load(Some((Path::new("u.toml"), user))).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(km.lookup(Mode::Normal, &[k("y")]), Lookup::Unbound);
        assert_eq!(km.lookup(Mode::Normal, &[k("g")]), Lookup::Prefix);
        assert_eq!(
            km.lookup(Mode::Normal, &[k("g"), k("y")]),
            Lookup::Action(Action::ApproveOnce)
        );
    }

    #[test]
    fn errors_have_positions() {
        let e = Keymap::load(Some((
            Path::new("u.toml"),
            "[[normal]]\non = \"x\"\nrun = \"fly\"\n",
        )))
        .err()
        .unwrap_or_else(|| panic!("expected an error"));
        assert_eq!((e.line, e.column), (Some(3), Some(7)), "{e}");
        assert!(e.message.contains("unknown action"));

        let dup =
            "[[normal]]\non = \"x\"\nrun = \"zoom\"\n[[normal]]\non = \"x\"\nrun = \"help\"\n";
        let e = Keymap::load(Some((Path::new("u.toml"), dup)))
            .err()
            .unwrap_or_else(|| panic!("expected an error"));
        assert_eq!(e.line, Some(5), "{e}");
        assert!(e.message.contains("duplicate key"));

        let trap = "[[insert]]\non = \"ctrl-\\\\\"\nrun = \"none\"\n";
        let e = Keymap::load(Some((Path::new("u.toml"), trap)))
            .err()
            .unwrap_or_else(|| panic!("expected an error"));
        assert_eq!(e.line, Some(1), "{e}");
        assert!(e.message.contains("never be left"));

        let trap = "[[copy]]\non = \"q\"\nrun = \"none\"\n[[copy]]\non = \"esc\"\nrun = \"none\"\n";
        let e = Keymap::load(Some((Path::new("u.toml"), trap)))
            .err()
            .unwrap_or_else(|| panic!("expected an error"));
        assert!(e.message.contains("copy mode"), "{e}");

        let bad = "[[normal]]\non = \"hyper-q\"\nrun = \"quit\"\n";
        let e = Keymap::load(Some((Path::new("u.toml"), bad)))
            .err()
            .unwrap_or_else(|| panic!("expected an error"));
        assert_eq!((e.line, e.column), (Some(2), Some(6)), "{e}");
    }
}
