//! A dialog drawn again after a resize: the same prompt or another.

use std::time::{Duration, Instant};

use crate::detect::{self, Prompt, PromptId};

use super::inbox::Inbox;
use super::{POLICY_SETTLE_MS, REFLOW_GRACE_MS, REFLOW_MAX_MS, REFLOW_QUIET_MS};

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

/// After corral resized slot `slot`'s pane (at `s.reflowed_at`; `s` is its
/// inbox, `generation` its session's, `detect_due` its next screen read), the dialog its agent draws again
/// is the prompt the inbox shows: a reading with no dialog (mid-redraw) keeps
/// the old prompt (`held`), and a redraw of the same dialog ([`same_dialog`])
/// keeps its place and age. Returns whether the prompt was held, and the id
/// it had with the prompt as read now when the inbox's prompt was redrawn.
pub fn carry_through_reflow(
    s: &mut Inbox,
    slot: &str,
    generation: u64,
    detect_due: &mut Option<Instant>,
    read: &mut Option<Prompt>,
    last_output: Option<Instant>,
    now: Instant,
) -> (bool, Option<(PromptId, Prompt)>) {
    let reflow_end = s
        .reflowed_at
        .map(|t| {
            let quiet = last_output
                .filter(|o| *o > t)
                .map(|o| o + Duration::from_millis(REFLOW_QUIET_MS));
            let end = t + Duration::from_millis(REFLOW_GRACE_MS);
            quiet
                .map_or(end, |q| end.max(q))
                .min(t + Duration::from_millis(REFLOW_MAX_MS))
        })
        .filter(|end| *end > now);
    // Outside a reflow (nearly always) nothing is copied.
    let Some(end) = reflow_end else {
        return (false, None);
    };
    let Some(old) = s.screen.clone() else {
        return (false, None);
    };
    if s.answered == Some(old.id) {
        return (false, None);
    }
    match &*read {
        // Mid-redraw: the dialog is still there for the agent.
        None => {
            *read = Some(old);
            *detect_due = Some(detect_due.map_or(end, |x| x.min(end)));
            (true, None)
        }
        Some(new) if new.dialog_hash != old.dialog_hash && same_dialog(&old, new) => {
            let mut new = new.clone();
            // An id names what the person saw: a reading that says
            // something else (more of a cut subject) gets a new id, so an
            // answer to the old one is refused; the inbox entry and its age
            // stay.
            let reads_otherwise = old.subject != new.subject
                || old.tool != new.tool
                || old.incomplete != new.incomplete;
            if reads_otherwise {
                s.prompt_seq = s.prompt_seq.wrapping_add(1);
                new.identify(slot, generation, s.prompt_seq);
            } else {
                new.id = old.id;
            }
            if s.answered_dialog == Some(old.dialog_hash) {
                s.answered_dialog = Some(new.dialog_hash);
            }
            s.screen = Some(new.clone());
            *read = Some(new.clone());
            if s.prompt.as_ref().is_none_or(|p| p.id != old.id) {
                return (false, None);
            }
            s.prompt = Some(new.clone());
            if reads_otherwise {
                // Judge it again as it reads now.
                let at = now + Duration::from_millis(POLICY_SETTLE_MS);
                s.policy_due = Some((at, new.id));
            }
            (false, Some((old.id, new)))
        }
        Some(_) => (false, None),
    }
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

    /// A slot's inbox and next read, for [`carry_through_reflow`].
    struct Owned {
        inbox: Inbox,
        detect_due: Option<Instant>,
    }

    impl Owned {
        fn carry(
            &mut self,
            read: &mut Option<Prompt>,
            last_output: Option<Instant>,
            now: Instant,
        ) -> (bool, Option<(PromptId, Prompt)>) {
            carry_through_reflow(
                &mut self.inbox,
                "cc",
                1,
                &mut self.detect_due,
                read,
                last_output,
                now,
            )
        }
    }

    #[test]
    fn a_reflow_carries_the_prompt_through_a_redraw_and_only_then() {
        let t0 = Instant::now();
        let mut shown = read(&dialog("npm test"), 80);
        shown.identify("cc", 1, 1);
        let tracked = || {
            let mut inbox = Inbox::new(1);
            inbox.prompt = Some(shown.clone());
            inbox.screen = Some(shown.clone());
            inbox.reflowed_at = Some(t0);
            Owned {
                inbox,
                detect_due: None,
            }
        };
        let grace = Duration::from_millis(REFLOW_GRACE_MS);
        // Mid-redraw (no dialog read): held, and read again by the end.
        let mut s = tracked();
        let mut none = None;
        assert_eq!(s.carry(&mut none, None, t0), (true, None));
        assert_eq!(none.as_ref().map(|p| p.id), Some(shown.id));
        assert_eq!(s.detect_due, Some(t0 + grace));
        // Output after the resize stretches the window by its quiet time,
        // never past its maximum.
        let mut s = tracked();
        let late = t0 + grace + Duration::from_millis(500);
        let out = Some(t0 + grace);
        assert!(s.carry(&mut None, out, late).0);
        let max = Duration::from_millis(REFLOW_MAX_MS);
        let mut s = tracked();
        let out = Some(t0 + max);
        assert!(!s.carry(&mut None, out, t0 + max).0);
        // Outside the window: nothing is carried.
        let mut s = tracked();
        assert_eq!(s.carry(&mut None, None, t0 + grace), (false, None));
        // Redrawn at another width: the same prompt keeps its id.
        let mut s = tracked();
        // (a re-wrap changes the dialog's rows, so its text hash)
        let mut again = read(&format!("\n\n{}", dialog("npm test")), 70);
        again.dialog_hash ^= 1;
        let mut again = Some(again);
        let (held, updated) = s.carry(&mut again, None, t0);
        assert!(!held);
        assert_eq!(
            updated.map(|(old, new)| (old, new.id)),
            Some((shown.id, shown.id))
        );
        assert_eq!(s.inbox.prompt.as_ref().map(|p| p.id), Some(shown.id));
        assert_eq!(s.inbox.policy_due, None);
        // A reading that says more (a cut subject read whole) is a new id,
        // judged again once it settles; the inbox entry stays.
        let mut cut = shown.clone();
        cut.subject = "npm t".into();
        cut.incomplete = Some(detect::Incomplete::Truncated);
        let mut s = tracked();
        s.inbox.prompt = Some(cut.clone());
        s.inbox.screen = Some(cut.clone());
        let mut whole = read(&format!("\n{}", dialog("npm test")), 70);
        whole.dialog_hash ^= 2;
        let mut whole = Some(whole);
        let (_, updated) = s.carry(&mut whole, None, t0);
        let (old, new) = updated.unwrap_or_else(|| panic!("not carried"));
        assert_eq!(old, cut.id);
        assert_ne!(new.id, cut.id);
        assert_eq!(s.inbox.prompt_seq, 2);
        assert_eq!(
            s.inbox.policy_due,
            Some((t0 + Duration::from_millis(POLICY_SETTLE_MS), new.id))
        );
        // Another command is never the same prompt; an answered one is not
        // carried.
        let mut s = tracked();
        let mut other = Some(read(&dialog("rm -rf build"), 80));
        assert_eq!(s.carry(&mut other, None, t0), (false, None));
        let mut s = tracked();
        s.inbox.answered = Some(shown.id);
        assert_eq!(s.carry(&mut None, None, t0), (false, None));
    }
}
