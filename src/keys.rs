//! Keys as corral sees them: a UI-free key model, the key notation used in
//! `keymap.toml` (`"y"`, `"ctrl-\\"`, `"shift-tab"`, `"pgup"`), and the
//! encoding of a key press into the bytes a terminal would send to a child.
//!
//! The encoding follows xterm (legacy CSI/SS3 sequences, `CSI 1;m X` modifier
//! parameters) and, when the child pushed the kitty keyboard protocol's
//! "disambiguate" flag, the kitty `CSI code;mods u` form for the keys that flag
//! changes (Esc and ctrl/alt combinations).

use std::fmt;
use std::str::FromStr;

/// Modifier keys held with a key press.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Mods {
    /// Control.
    pub ctrl: bool,
    /// Alt (Meta).
    pub alt: bool,
    /// Shift. For printable characters the shifted character itself is the
    /// key (`"A"`, not `"shift-a"`), so this is only set for named keys.
    pub shift: bool,
}

impl Mods {
    /// No modifier.
    pub const NONE: Mods = Mods {
        ctrl: false,
        alt: false,
        shift: false,
    };

    /// True when no modifier is held.
    pub fn is_empty(self) -> bool {
        !(self.ctrl || self.alt || self.shift)
    }

    /// The xterm modifier parameter: 1 + shift(1) + alt(2) + ctrl(4).
    fn xterm_param(self) -> u8 {
        1 + u8::from(self.shift) + 2 * u8::from(self.alt) + 4 * u8::from(self.ctrl)
    }
}

/// A key, without modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCode {
    /// A printable character (already shifted: `'A'`, `'?'`).
    Char(char),
    /// Enter / Return.
    Enter,
    /// Escape.
    Esc,
    /// Tab.
    Tab,
    /// Shift-Tab (reported by terminals as its own key).
    BackTab,
    /// Backspace.
    Backspace,
    /// Arrow up.
    Up,
    /// Arrow down.
    Down,
    /// Arrow left.
    Left,
    /// Arrow right.
    Right,
    /// Home.
    Home,
    /// End.
    End,
    /// Page up.
    PageUp,
    /// Page down.
    PageDown,
    /// Insert.
    Insert,
    /// Delete.
    Delete,
    /// Function key F1..F12.
    F(u8),
}

/// One key press: a key and the modifiers held with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyPress {
    /// The key.
    pub code: KeyCode,
    /// Modifiers held.
    pub mods: Mods,
}

impl KeyPress {
    /// A key press without modifiers.
    pub const fn plain(code: KeyCode) -> Self {
        KeyPress {
            code,
            mods: Mods::NONE,
        }
    }

    /// A character key press without modifiers.
    pub const fn ch(c: char) -> Self {
        Self::plain(KeyCode::Char(c))
    }

    /// A character with control held (`ctrl-c`).
    pub const fn ctrl(c: char) -> Self {
        KeyPress {
            code: KeyCode::Char(c),
            mods: Mods {
                ctrl: true,
                alt: false,
                shift: false,
            },
        }
    }
}

/// An error in key notation, such as `"ctrl-"` or `"hyper-x"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid key `{key}`: {reason}")]
pub struct KeyParseError {
    /// The notation as written.
    pub key: String,
    /// What is wrong with it.
    pub reason: String,
}

impl FromStr for KeyPress {
    type Err = KeyParseError;

    /// Parses key notation: optional `ctrl-`, `alt-`, `shift-` prefixes (any
    /// order) and then a single character or a key name (`enter`, `esc`,
    /// `tab`, `backtab`, `backspace`, `space`, `up`, `down`, `left`, `right`,
    /// `home`, `end`, `pgup`, `pgdn`, `insert`, `delete`, `f1`..`f12`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: &str| KeyParseError {
            key: s.to_string(),
            reason: reason.to_string(),
        };
        let mut mods = Mods::NONE;
        let mut rest = s;
        loop {
            // A single remaining char is the key itself, even `-`.
            if rest.chars().count() <= 1 {
                break;
            }
            let lower = rest.to_ascii_lowercase();
            if lower.starts_with("ctrl-") {
                mods.ctrl = true;
                rest = &rest[5..];
            } else if lower.starts_with("alt-") {
                mods.alt = true;
                rest = &rest[4..];
            } else if lower.starts_with("shift-") {
                mods.shift = true;
                rest = &rest[6..];
            } else {
                break;
            }
        }
        if rest.is_empty() {
            return Err(err("no key after the modifiers"));
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(c),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" | "cr" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "backtab" => KeyCode::BackTab,
                "backspace" | "bs" => KeyCode::Backspace,
                "space" => KeyCode::Char(' '),
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pgup" | "pageup" => KeyCode::PageUp,
                "pgdn" | "pagedown" => KeyCode::PageDown,
                "insert" | "ins" => KeyCode::Insert,
                "delete" | "del" => KeyCode::Delete,
                name => {
                    let n = name
                        .strip_prefix('f')
                        .and_then(|n| n.parse::<u8>().ok())
                        .filter(|n| (1..=12).contains(n));
                    match n {
                        Some(n) => KeyCode::F(n),
                        None => return Err(err("unknown key name")),
                    }
                }
            },
        };
        // shift-tab is its own key in every terminal.
        let (code, mods) = match (code, mods.shift) {
            (KeyCode::Tab, true) => (
                KeyCode::BackTab,
                Mods {
                    shift: false,
                    ..mods
                },
            ),
            (KeyCode::Char(c), true) if c.is_ascii_alphabetic() => (
                KeyCode::Char(c.to_ascii_uppercase()),
                Mods {
                    shift: false,
                    ..mods
                },
            ),
            _ => (code, mods),
        };
        // Terminals cannot tell ctrl-A from ctrl-a.
        let code = match (code, mods.ctrl) {
            (KeyCode::Char(c), true) if c.is_ascii_uppercase() => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            _ => code,
        };
        Ok(KeyPress { code, mods })
    }
}

impl fmt::Display for KeyPress {
    /// Writes the canonical notation that [`KeyPress::from_str`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.mods.alt {
            f.write_str("alt-")?;
        }
        if self.mods.shift {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Up => f.write_str("up"),
            KeyCode::Down => f.write_str("down"),
            KeyCode::Left => f.write_str("left"),
            KeyCode::Right => f.write_str("right"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::Insert => f.write_str("insert"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::F(n) => write!(f, "f{n}"),
        }
    }
}

/// The key in notation (`"ctrl-c"`), as it is written; read back with
/// [`FromStr`]. A name that is not a key is an error.
impl<'de> serde::Deserialize<'de> for KeyPress {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for KeyPress {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// In a JSON schema: a string in key notation.
impl schemars::JsonSchema for KeyPress {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "KeyPress".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A key in corral's notation: optional ctrl-, alt-, shift- prefixes, then a character or a key name (enter, esc, tab, backtab, backspace, space, up, down, left, right, home, end, pgup, pgdn, insert, delete, f1..f12).",
            "examples": ["y", "ctrl-c", "enter", "shift-tab"]
        })
    }
}

/// The input modes a child set on its terminal, which change how keys are
/// encoded. Read from the session's terminal engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InputModes {
    /// DECCKM: arrows send `ESC O A` instead of `ESC [ A`.
    pub application_cursor: bool,
    /// Mode 2004: pasted text is wrapped in `ESC [200~` .. `ESC [201~`.
    pub bracketed_paste: bool,
    /// Kitty keyboard protocol flags currently in effect (only bit 1,
    /// "disambiguate", changes what corral sends).
    pub kitty_flags: u8,
    /// Mouse reporting the child asked for.
    pub mouse: MouseMode,
    /// Mode 1006: mouse reports in SGR form (`CSI < b;x;y M`).
    pub mouse_sgr: bool,
}

/// Which mouse events a child asked to receive (DEC modes 9, 1000, 1002, 1003).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub enum MouseMode {
    /// No mouse reporting: the mouse belongs to corral.
    #[default]
    None,
    /// Presses only (X10, mode 9).
    Press,
    /// Presses, releases and wheel (mode 1000).
    PressRelease,
    /// Also motion while a button is held (mode 1002).
    ButtonMotion,
    /// Also motion without a button (mode 1003).
    AnyMotion,
}

/// A mouse event at a cell of a pane, 0-based (col, row) inside the pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum MouseReport {
    /// Left button pressed.
    Press(u16, u16),
    /// Left button released.
    Release(u16, u16),
    /// Moved with the left button held.
    Drag(u16, u16),
    /// Wheel up.
    WheelUp(u16, u16),
    /// Wheel down.
    WheelDown(u16, u16),
}

/// Encodes a mouse event as the child asked (xterm protocol), or `None` when
/// the child did not ask for this kind of event.
pub fn encode_mouse(ev: MouseReport, modes: InputModes) -> Option<Vec<u8>> {
    let (button, col, row, release) = match ev {
        MouseReport::Press(c, r) => (0u16, c, r, false),
        MouseReport::Release(c, r) => (0, c, r, true),
        MouseReport::Drag(c, r) => (32, c, r, false),
        MouseReport::WheelUp(c, r) => (64, c, r, false),
        MouseReport::WheelDown(c, r) => (65, c, r, false),
    };
    let wanted = match ev {
        MouseReport::Press(..) => modes.mouse >= MouseMode::Press,
        MouseReport::Release(..) | MouseReport::WheelUp(..) | MouseReport::WheelDown(..) => {
            modes.mouse >= MouseMode::PressRelease
        }
        MouseReport::Drag(..) => modes.mouse >= MouseMode::ButtonMotion,
    };
    if !wanted {
        return None;
    }
    if modes.mouse_sgr {
        let end = if release { 'm' } else { 'M' };
        return Some(format!("\x1b[<{button};{};{}{end}", col + 1, row + 1).into_bytes());
    }
    // Legacy X10 form: one byte per value, offset by 32; positions past 223
    // cannot be expressed.
    let b = if release { 3 } else { button };
    let enc = |v: u16| u8::try_from(v + 33).ok().filter(|x| *x < 255);
    Some(vec![
        0x1b,
        b'[',
        b'M',
        u8::try_from(b + 32).ok()?,
        enc(col)?,
        enc(row)?,
    ])
}

/// Encodes one key press as the bytes a terminal sends to the program in it.
pub fn encode(key: KeyPress, modes: InputModes) -> Vec<u8> {
    let m = key.mods;
    let kitty = modes.kitty_flags & 1 != 0;
    let csi_u = |code: u32, mods: Mods| -> Vec<u8> {
        if mods.is_empty() {
            format!("\x1b[{code}u").into_bytes()
        } else {
            format!("\x1b[{code};{}u", mods.xterm_param()).into_bytes()
        }
    };
    let cursor = |c: char| -> Vec<u8> {
        if m.is_empty() {
            if modes.application_cursor {
                format!("\x1bO{c}").into_bytes()
            } else {
                format!("\x1b[{c}").into_bytes()
            }
        } else {
            format!("\x1b[1;{}{c}", m.xterm_param()).into_bytes()
        }
    };
    let tilde = |n: u8| -> Vec<u8> {
        if m.is_empty() {
            format!("\x1b[{n}~").into_bytes()
        } else {
            format!("\x1b[{n};{}~", m.xterm_param()).into_bytes()
        }
    };
    let alt_prefix = |mut bytes: Vec<u8>| -> Vec<u8> {
        if m.alt {
            bytes.insert(0, 0x1b);
        }
        bytes
    };
    match key.code {
        KeyCode::Char(c) => {
            if kitty && (m.ctrl || m.alt) {
                return csi_u(u32::from(c.to_ascii_lowercase()), m);
            }
            if m.ctrl {
                let b = match c.to_ascii_lowercase() {
                    c @ 'a'..='z' => Some(c as u8 - b'a' + 1),
                    ' ' | '@' | '2' => Some(0),
                    '[' | '3' => Some(0x1b),
                    '\\' | '4' => Some(0x1c),
                    ']' | '5' => Some(0x1d),
                    '^' | '6' => Some(0x1e),
                    '_' | '-' | '7' => Some(0x1f),
                    '?' | '8' => Some(0x7f),
                    _ => None,
                };
                if let Some(b) = b {
                    return alt_prefix(vec![b]);
                }
            }
            let mut buf = [0u8; 4];
            alt_prefix(c.encode_utf8(&mut buf).as_bytes().to_vec())
        }
        KeyCode::Enter if kitty && !m.is_empty() => csi_u(13, m),
        KeyCode::Tab if kitty && !m.is_empty() => csi_u(9, m),
        KeyCode::Backspace if kitty && !m.is_empty() => csi_u(127, m),
        KeyCode::Esc if kitty => csi_u(27, m),
        KeyCode::Enter => alt_prefix(b"\r".to_vec()),
        KeyCode::Esc => alt_prefix(b"\x1b".to_vec()),
        KeyCode::Tab => alt_prefix(b"\t".to_vec()),
        KeyCode::BackTab => b"\x1b[Z".to_vec(),
        KeyCode::Backspace => {
            if m.ctrl {
                alt_prefix(vec![0x08])
            } else {
                alt_prefix(vec![0x7f])
            }
        }
        KeyCode::Up => cursor('A'),
        KeyCode::Down => cursor('B'),
        KeyCode::Right => cursor('C'),
        KeyCode::Left => cursor('D'),
        KeyCode::Home => cursor('H'),
        KeyCode::End => cursor('F'),
        KeyCode::Insert => tilde(2),
        KeyCode::Delete => tilde(3),
        KeyCode::PageUp => tilde(5),
        KeyCode::PageDown => tilde(6),
        KeyCode::F(n @ 1..=4) => {
            let c = (b'P' + n - 1) as char;
            if m.is_empty() {
                format!("\x1bO{c}").into_bytes()
            } else {
                format!("\x1b[1;{}{c}", m.xterm_param()).into_bytes()
            }
        }
        KeyCode::F(n) => {
            let code = match n {
                5 => 15,
                6 => 17,
                7 => 18,
                8 => 19,
                9 => 20,
                10 => 21,
                11 => 23,
                _ => 24,
            };
            tilde(code)
        }
    }
}

/// Encodes pasted text: wrapped in bracketed-paste markers when the child
/// enabled mode 2004, with any embedded end marker removed so the paste cannot
/// escape its brackets; line feeds become carriage returns as in xterm.
pub fn encode_paste(text: &str, modes: InputModes) -> Vec<u8> {
    let body = text.replace("\r\n", "\r").replace('\n', "\r");
    if modes.bracketed_paste {
        // Removing one end marker can join the bytes around it into
        // another: remove until none is left.
        let mut body = body;
        while body.contains("\x1b[201~") {
            body = body.replace("\x1b[201~", "");
        }
        let mut out = Vec::with_capacity(body.len() + 12);
        out.extend_from_slice(b"\x1b[200~");
        out.extend_from_slice(body.as_bytes());
        out.extend_from_slice(b"\x1b[201~");
        out
    } else {
        body.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A paste cannot end its own brackets early, however it nests the
    /// end marker.
    #[test]
    fn a_paste_cannot_close_its_brackets_early() {
        let modes = InputModes {
            bracketed_paste: true,
            ..InputModes::default()
        };
        for text in [
            "a\x1b[201~b",
            "\x1b[20\x1b[201~1~\x1b[Z\r",
            "\x1b[2\x1b[20\x1b[201~1~01~y\r",
        ] {
            let out = encode_paste(text, modes);
            let inner = &out[6..out.len() - 6];
            assert!(
                !inner.windows(6).any(|w| w == b"\x1b[201~"),
                "{text:?} -> {:?}",
                String::from_utf8_lossy(&out)
            );
            assert!(out.starts_with(b"\x1b[200~") && out.ends_with(b"\x1b[201~"));
        }
    }

    fn k(s: &str) -> KeyPress {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn notation_round_trips() {
        for s in [
            "y",
            "ctrl-\\",
            "shift-tab",
            "pgup",
            "alt-x",
            "ctrl-alt-delete",
            "f5",
            "space",
            "?",
            "-",
            "enter",
        ] {
            assert_eq!(k(&k(s).to_string()), k(s), "{s}");
        }
        assert_eq!(k("shift-tab").code, KeyCode::BackTab);
        assert_eq!(k("shift-a"), KeyPress::ch('A'));
        assert_eq!(k("ctrl-C"), KeyPress::ctrl('c'));
    }

    #[test]
    fn notation_errors() {
        assert!("ctrl-".parse::<KeyPress>().is_err());
        assert!("hyper-x".parse::<KeyPress>().is_err());
        assert!("f13".parse::<KeyPress>().is_err());
        assert!("".parse::<KeyPress>().is_err());
    }

    #[test]
    fn legacy_encoding() {
        let m = InputModes::default();
        assert_eq!(encode(k("a"), m), b"a");
        assert_eq!(encode(k("ctrl-c"), m), [3]);
        assert_eq!(encode(k("ctrl-\\"), m), [0x1c]);
        assert_eq!(encode(k("alt-x"), m), b"\x1bx");
        assert_eq!(encode(k("up"), m), b"\x1b[A");
        assert_eq!(encode(k("ctrl-up"), m), b"\x1b[1;5A");
        assert_eq!(encode(k("shift-tab"), m), b"\x1b[Z");
        assert_eq!(encode(k("f1"), m), b"\x1bOP");
        assert_eq!(encode(k("f5"), m), b"\x1b[15~");
        assert_eq!(encode(k("shift-f5"), m), b"\x1b[15;2~");
        assert_eq!(encode(k("pgdn"), m), b"\x1b[6~");
        assert_eq!(encode(k("backspace"), m), [0x7f]);
        assert_eq!(encode(k("enter"), m), b"\r");
        assert_eq!(encode(KeyPress::ch('é'), m), "é".as_bytes());
        let app = InputModes {
            application_cursor: true,
            ..m
        };
        assert_eq!(encode(k("up"), app), b"\x1bOA");
    }

    #[test]
    fn kitty_disambiguate_encoding() {
        let m = InputModes {
            kitty_flags: 1,
            ..InputModes::default()
        };
        assert_eq!(encode(k("esc"), m), b"\x1b[27u");
        assert_eq!(encode(k("ctrl-c"), m), b"\x1b[99;5u");
        assert_eq!(encode(k("a"), m), b"a");
        assert_eq!(encode(k("1"), m), b"1");
        assert_eq!(encode(k("enter"), m), b"\r");
    }

    #[test]
    fn mouse_reports_follow_the_childs_modes() {
        let none = InputModes::default();
        assert_eq!(encode_mouse(MouseReport::Press(0, 0), none), None);
        let sgr = InputModes {
            mouse: MouseMode::AnyMotion,
            mouse_sgr: true,
            ..none
        };
        assert_eq!(
            encode_mouse(MouseReport::Press(4, 2), sgr),
            Some(b"\x1b[<0;5;3M".to_vec())
        );
        assert_eq!(
            encode_mouse(MouseReport::Release(4, 2), sgr),
            Some(b"\x1b[<0;5;3m".to_vec())
        );
        assert_eq!(
            encode_mouse(MouseReport::WheelUp(0, 0), sgr),
            Some(b"\x1b[<64;1;1M".to_vec())
        );
        let x10 = InputModes {
            mouse: MouseMode::Press,
            ..none
        };
        assert_eq!(
            encode_mouse(MouseReport::Press(0, 0), x10),
            Some(b"\x1b[M !!".to_vec())
        );
        assert_eq!(encode_mouse(MouseReport::WheelUp(0, 0), x10), None);
        let far = InputModes {
            mouse: MouseMode::PressRelease,
            ..none
        };
        assert_eq!(encode_mouse(MouseReport::Press(300, 0), far), None);
    }

    #[test]
    fn paste_is_bracketed_only_when_asked() {
        let plain = InputModes::default();
        assert_eq!(encode_paste("a\nb", plain), b"a\rb");
        let br = InputModes {
            bracketed_paste: true,
            ..plain
        };
        assert_eq!(encode_paste("x\x1b[201~y", br), b"\x1b[200~xy\x1b[201~");
    }
}
