//! A dialog drawn again after a resize: the same prompt or another.

use crate::detect::{self, Prompt};

/// Whether `new`, read after corral resized the pane, is dialog `old` drawn
/// again at the new size: the same options, the same tool (unless the pane
/// cut the tool off), and the same subject as far as either reading can
/// tell (a re-wrap may drop spaces or cut it short; a dialog cut off by the
/// pane showed no subject at all). A reading whose structure is in doubt
/// (possibly model text imitating a dialog) is never the same dialog.
pub(crate) fn same_dialog(old: &Prompt, new: &Prompt) -> bool {
    use detect::Incomplete;
    let options = |p: &Prompt| {
        p.options
            .iter()
            .map(|o| (o.number, o.kind))
            .collect::<Vec<_>>()
    };
    let doubtful = |p: &Prompt| {
        matches!(
            p.incomplete,
            Some(Incomplete::Ambiguous | Incomplete::SecondDialog | Incomplete::Empty)
        )
    };
    if doubtful(old) || doubtful(new) || options(old) != options(new) {
        return false;
    }
    if old.incomplete == Some(Incomplete::CutOff) || new.incomplete == Some(Incomplete::CutOff) {
        return old.tool == new.tool
            || old.tool == detect::UNKNOWN_TOOL
            || new.tool == detect::UNKNOWN_TOOL;
    }
    if old.tool != new.tool {
        return false;
    }
    if old.subject == new.subject {
        return true;
    }
    let dense = |s: &str| {
        s.chars()
            .filter(|c| !c.is_whitespace() && *c != '…')
            .collect::<String>()
    };
    let (a, b) = (dense(&old.subject), dense(&new.subject));
    // Two exact readings that differ are two commands (`rm -rf / tmp` is not
    // `rm -rf /tmp`).
    (old.incomplete.is_some() || new.incomplete.is_some())
        && !a.is_empty()
        && !b.is_empty()
        && (a.starts_with(&b) || b.starts_with(&a))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{self, Prompt, Timing};

    fn read(text: &str, cols: u16) -> Prompt {
        let profile = crate::profile::Profiles::builtin()
            .ok()
            .and_then(|p| p.get("claude"))
            .unwrap_or_else(|| panic!("no claude profile"));
        let snap = crate::detect::ScreenSnapshot::from_text(text, cols, "");
        detect::detect(&profile, &snap, Timing::default())
            .prompt
            .unwrap_or_else(|| panic!("no prompt in:\n{text}"))
    }

    fn dialog(subject: &str) -> String {
        let rule = "─".repeat(60);
        let dash = "╌".repeat(60);
        format!(
            "{rule}\n Bash command\n{dash}\n {subject}\n{dash}\n Do you want to proceed?\n ❯ 1. Yes\n   2. No\n\n Esc to cancel\n"
        )
    }

    #[test]
    fn a_redrawn_dialog_is_the_same_prompt_and_another_command_never_is() {
        let a = read(&dialog("npm test"), 80);
        // Drawn again at another width: the same prompt.
        let b = read(&format!("\n\n{}", dialog("npm test")), 70);
        assert!(same_dialog(&a, &b));
        // Exact readings that differ are two commands, however close.
        for other in ["npm  test", "npm test2", "npm tes", "rm -rf / tmp"] {
            let c = read(&dialog(other), 80);
            assert!(!same_dialog(&a, &c), "{other}");
        }
        let rm = read(&dialog("rm -rf /tmp"), 80);
        let spaced = read(&dialog("rm -rf / tmp"), 80);
        assert!(!same_dialog(&rm, &spaced));
        // A reading that is not exact matches one it could be the start of.
        let mut cut = a.clone();
        cut.subject = "npm t".into();
        cut.incomplete = Some(detect::Incomplete::Truncated);
        assert!(same_dialog(&cut, &a) && same_dialog(&a, &cut));
        cut.subject = "npx t".into();
        assert!(!same_dialog(&cut, &a));
        // Another tool or other options: another dialog.
        let mut edit = a.clone();
        edit.tool = "Edit".into();
        assert!(!same_dialog(&a, &edit));
        let mut fewer = a.clone();
        fewer.options.pop();
        assert!(!same_dialog(&a, &fewer));
    }
}
