//! The status line's text: the mode first, then the key hints shortened
//! (shorter words, then fewer hints) until they fit, and the help key always
//! at the right end. Pure functions, so every width can be tested.

use unicode_width::UnicodeWidthStr;

use crate::keymap::{Action, Hint};

/// Display width of `s` in cells.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// How much a hint matters now (0 first); `waiting` is the number of
/// prompts in the inbox. The answer keys matter most while prompts wait
/// and least when none does.
fn priority(a: Action, waiting: usize) -> u8 {
    match a {
        Action::Normal => 0,
        Action::ApproveOnce | Action::ApproveAlways | Action::Deny if waiting > 0 => 0,
        Action::Insert => 1,
        Action::InboxNext | Action::InboxPrev if waiting > 1 => 2,
        Action::FocusLeft | Action::FocusRight | Action::FocusUp | Action::FocusDown => 2,
        Action::Quit => 3,
        Action::Detach => 5,
        Action::Zoom => 4,
        Action::GoToPrompt | Action::Details if waiting > 0 => 5,
        Action::ScrollPageUp | Action::ScrollPageDown => 6,
        Action::Restart => 7,
        Action::GoToWaiting => 8,
        Action::PauseAuto => 9,
        _ => 10,
    }
}

/// The first word of a hint's description (`next prompt` -> `next`).
fn short(desc: &str) -> &str {
    desc.split_whitespace().next().unwrap_or(desc)
}

/// `hints` (without the help key, which has its own place) as one line of
/// at most `width` cells: every hint in full if they fit; else each one's
/// first word, with the three answer keys as one `y/a/n answer`; else
/// without the least important ones. Empty if not even one fits.
pub fn fit_hints(hints: &[Hint], width_cells: usize, waiting: usize) -> String {
    let full: Vec<(String, u8)> = hints
        .iter()
        .map(|h| {
            (
                format!("{} {}", h.keys, h.desc),
                priority(h.action, waiting),
            )
        })
        .collect();
    let joined = |v: &[(String, u8)]| {
        v.iter()
            .map(|(t, _)| t.as_str())
            .collect::<Vec<_>>()
            .join(" · ")
    };
    let line = joined(&full);
    if width(&line) <= width_cells {
        return line;
    }
    let mut shorter: Vec<(String, u8)> = Vec::new();
    let answers = [Action::ApproveOnce, Action::ApproveAlways, Action::Deny];
    let answer_keys: Vec<&str> = answers
        .iter()
        .filter_map(|a| hints.iter().find(|h| h.action == *a))
        .map(|h| h.keys.as_str())
        .collect();
    let grouped = answer_keys.len() == 3;
    for h in hints {
        if grouped && answers.contains(&h.action) {
            if h.action == Action::ApproveOnce {
                shorter.push((
                    format!("{} answer", answer_keys.join("/")),
                    priority(h.action, waiting),
                ));
            }
            continue;
        }
        shorter.push((
            format!("{} {}", h.keys, short(&h.desc)),
            priority(h.action, waiting),
        ));
    }
    // Drop the least important (the last of equals) until it fits.
    loop {
        let line = joined(&shorter);
        if width(&line) <= width_cells {
            return line;
        }
        let Some(worst) = shorter
            .iter()
            .enumerate()
            .max_by_key(|(i, (_, p))| (*p, *i))
            .map(|(i, _)| i)
        else {
            return String::new();
        };
        shorter.remove(worst);
    }
}

pub use crate::model::wrap_words;

/// `s` cut to at most `width_cells` cells, ending in `…` when cut.
pub fn cut(s: &str, width_cells: usize) -> String {
    if width(s) <= width_cells {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > width_cells {
            break;
        }
        out.push(c);
        used += w;
    }
    if width_cells > 0 {
        out.push('…');
    }
    out
}

/// `s` cut at its start to at most `width_cells` cells, beginning with `…`
/// when cut: the end of a text being typed stays in view.
pub fn cut_left(s: &str, width_cells: usize) -> String {
    if width(s) <= width_cells {
        return s.to_string();
    }
    let mut kept: Vec<char> = Vec::new();
    let mut used = 0;
    for c in s.chars().rev() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > width_cells {
            break;
        }
        kept.push(c);
        used += w;
    }
    let mut out = String::new();
    if width_cells > 0 {
        out.push('…');
    }
    out.extend(kept.iter().rev());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keymap::{Keymap, Mode};

    fn hints(mode: Mode) -> Vec<Hint> {
        let km = Keymap::default_keymap().unwrap_or_else(|e| panic!("{e}"));
        km.hints(mode)
            .into_iter()
            .filter(|h| h.action != Action::Help)
            .collect()
    }

    #[test]
    fn wide_lines_show_every_hint_in_full() {
        let line = fit_hints(&hints(Mode::Normal), 300, 1);
        assert!(line.contains("y approve · a always · n deny"), "{line}");
        assert!(line.contains("tab next prompt"), "{line}");
        assert!(line.contains("q quit"), "{line}");
    }

    #[test]
    fn narrow_lines_shorten_then_drop_the_least_important() {
        let h = hints(Mode::Normal);
        for w in [20, 40, 55, 70, 100] {
            let line = fit_hints(&h, w, 2);
            assert!(width(&line) <= w, "{w}: {line}");
            assert!(!line.contains('…'), "never cut mid-word: {line}");
        }
        let line = fit_hints(&h, 60, 2);
        assert!(
            line.starts_with("←↓↑→ focus · enter type · y/a/n answer"),
            "{line}"
        );
        assert!(line.contains("tab next"), "{line}");
        // With nothing waiting the answer keys go first.
        let idle = fit_hints(&h, 40, 0);
        assert!(!idle.contains("answer"), "{idle}");
        assert!(idle.contains("enter type"), "{idle}");
        assert_eq!(fit_hints(&h, 3, 0), "");
    }

    #[test]
    fn insert_mode_keeps_the_way_out() {
        let line = fit_hints(&hints(Mode::Insert), 20, 0);
        assert_eq!(line, "ctrl-\\ normal");
    }

    #[test]
    fn messages_wrap_at_spaces() {
        let (rows, whole) = wrap_words("approve-always (a) → web Bash npm run build", 20, 3);
        assert_eq!(
            rows,
            vec!["approve-always (a) →", "web Bash npm run", "build"]
        );
        assert!(whole);
        let (rows, whole) = wrap_words("abcdefghij klm", 4, 2);
        assert_eq!(rows, vec!["abcd", "efgh"]);
        assert!(!whole);
    }

    #[test]
    fn cut_marks_what_it_cut() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
        assert_eq!(cut("界界界", 4), "界…");
    }
}
