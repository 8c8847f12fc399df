//! What a slot's inbox shows and when an answer may go, decided from plain
//! values and a `now` the caller passes: the hook grace period, the settle
//! before keys, the re-answer window, and an answer handed back from a hook
//! to the agent's own dialog (Codex).

use std::time::{Duration, Instant};

use crate::detect::{Answer, Prompt, PromptId};
use crate::proto::AnsweredBy;

use super::{HOOK_GRACE_MS, POLICY_SETTLE_MS, REANSWER_AFTER_MS};

/// A slot's prompt tracking: what its inbox shows and what was answered,
/// the dialog on its screen, and the answers and decisions waiting on the
/// clock. Held in the manager's slot record; this room's functions read and
/// change it, with `now` passed in.
#[derive(Debug)]
pub struct Inbox {
    /// The prompt the inbox shows.
    pub prompt: Option<Prompt>,
    /// How many prompts this slot has opened (a prompt id names it; it
    /// starts at random so ids never repeat across servers).
    pub prompt_seq: u64,
    /// When the shown prompt was detected.
    pub prompt_opened: Option<Instant>,
    /// A policy decision waiting for the prompt to settle.
    pub policy_due: Option<(Instant, PromptId)>,
    /// An answer by keys waiting for the agent's dialog to settle (agents
    /// drop keys that come before they listen).
    pub answer_due: Option<(Instant, PromptId, Answer, AnsweredBy)>,
    /// The prompt answered last.
    pub answered: Option<PromptId>,
    /// When it was answered (the re-answer window counts from here).
    pub answered_at: Option<Instant>,
    /// The prompt read off the screen now (with its id), whether or not the
    /// inbox shows it.
    pub screen: Option<Prompt>,
    /// When the current screen prompt appeared.
    pub screen_since: Option<Instant>,
    /// A screen dialog whose hook request was answered: never shown again.
    pub answered_dialog: Option<u64>,
    /// When corral last resized the PTY of the running session.
    pub reflowed_at: Option<Instant>,
    /// An answer the hook could not carry, for the dialog the agent draws
    /// next (see [`crate::profile::HookSpec::dialog_after_hook`]).
    pub after_hook: Option<HandBack>,
}

impl Inbox {
    /// An empty inbox whose prompt numbers start after `prompt_seq`.
    pub fn new(prompt_seq: u64) -> Self {
        Inbox {
            prompt: None,
            prompt_seq,
            prompt_opened: None,
            policy_due: None,
            answer_due: None,
            answered: None,
            answered_at: None,
            screen: None,
            screen_since: None,
            answered_dialog: None,
            reflowed_at: None,
            after_hook: None,
        }
    }
}

/// The prompt an inbox shows, and since when: the oldest hook request
/// (`hook`, with when it came), else the dialog read off the screen
/// (`screen`, drawn at `screen_since`). On a hooked slot (`hooked`) a screen
/// dialog shows only once [`HOOK_GRACE_MS`] passed without its hook
/// request; a dialog whose hook request was answered (`answered_dialog`,
/// its text hash) never shows again.
pub fn shown<'a>(
    hook: Option<(&'a Prompt, Instant)>,
    screen: Option<&'a Prompt>,
    screen_since: Option<Instant>,
    answered_dialog: Option<u64>,
    hooked: bool,
    now: Instant,
) -> (Option<&'a Prompt>, Option<Instant>) {
    if let Some((p, opened)) = hook {
        return (Some(p), Some(opened));
    }
    let Some(p) = screen else {
        return (None, None);
    };
    let grace_over = screen_since
        .is_some_and(|t| now.saturating_duration_since(t) >= Duration::from_millis(HOOK_GRACE_MS));
    if answered_dialog == Some(p.dialog_hash) || (hooked && !grace_over) {
        return (None, None);
    }
    (Some(p), screen_since)
}

/// When the screen must be read again for a hooked slot's dialog to reach
/// the inbox if its hook request never comes: the end of its grace period
/// (`None` once it is over, or with no dialog).
pub fn grace_ends(screen_since: Option<Instant>, now: Instant) -> Option<Instant> {
    screen_since
        .map(|t| t + Duration::from_millis(HOOK_GRACE_MS))
        .filter(|at| *at > now)
}

/// Until when keys for a dialog drawn at `screen_since` wait (agents drop
/// keys that come before they listen): `None` when they may go now.
pub fn settle_until(screen_since: Option<Instant>, now: Instant) -> Option<Instant> {
    screen_since
        .map(|t| t + Duration::from_millis(POLICY_SETTLE_MS))
        .filter(|at| *at > now)
}

/// The prompt answered last (`answered`, at `answered_at`) while its answer
/// still counts: the same prompt on screen within [`REANSWER_AFTER_MS`] of
/// it is taken as not redrawn yet, later as keys the agent missed (it may be
/// answered again).
pub fn still_answered(
    answered: Option<PromptId>,
    answered_at: Option<Instant>,
    now: Instant,
) -> Option<PromptId> {
    answered.filter(|_| {
        answered_at.is_none_or(|t| {
            now.saturating_duration_since(t) < Duration::from_millis(REANSWER_AFTER_MS)
        })
    })
}

/// An answer a hook could not carry (approve-always, another option),
/// handed back to the agent, which then draws its own dialog (Codex; see
/// [`crate::profile::HookSpec::dialog_after_hook`]): it answers that
/// dialog when it shows the same call, read exactly.
#[derive(Debug, Clone)]
pub struct HandBack {
    /// The tool of the request handed back.
    pub tool: String,
    /// Its subject, exactly as the hook reported it.
    pub subject: String,
    /// The answer the person gave.
    pub answer: Answer,
    /// Who gave it.
    pub by: AnsweredBy,
    /// Given up after this (the dialog then waits for the person).
    pub until: Instant,
}

/// What to do with a [`HandBack`] after a screen read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandBackStep {
    /// Its time is over: drop it; the dialog waits for a person.
    Expired,
    /// The agent's dialog for it is on screen as this prompt: answer it.
    Answer(PromptId),
    /// Not yet: read the screen again at this time (the agent may still be
    /// drawing).
    ReadAt(Instant),
}

impl HandBack {
    /// Its next step, given the dialog on screen now. A dialog that is not
    /// read exactly, or shows another tool or subject, is never answered by
    /// it (a model could draw a look-alike).
    pub fn step(&self, screen: Option<&Prompt>, recheck: Duration, now: Instant) -> HandBackStep {
        if self.until < now {
            return HandBackStep::Expired;
        }
        match screen {
            Some(p)
                if p.incomplete.is_none() && p.subject == self.subject && p.tool == self.tool =>
            {
                HandBackStep::Answer(p.id)
            }
            _ => HandBackStep::ReadAt(now + recheck),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{Incomplete, PromptSource};

    fn prompt(tool: &str, subject: &str, hash: u64) -> Prompt {
        Prompt {
            tool: tool.into(),
            subject: subject.into(),
            dialog_hash: hash,
            id: PromptId(hash),
            source: PromptSource::Screen,
            incomplete: None,
            question: String::new(),
            options: Vec::new(),
            dialog: Vec::new(),
            deny_fallback: Vec::new(),
            unavailable: Default::default(),
        }
    }

    #[test]
    fn a_hooked_slots_screen_dialog_waits_out_the_grace_period() {
        let t0 = Instant::now();
        let screen = prompt("Bash", "npm test", 7);
        let grace = Duration::from_millis(HOOK_GRACE_MS);
        // Not hooked: at once.
        let (p, since) = shown(None, Some(&screen), Some(t0), None, false, t0);
        assert_eq!((p.map(|p| p.id), since), (Some(screen.id), Some(t0)));
        // Hooked: only after the grace period, and the re-read is due then.
        let before = t0 + grace - Duration::from_millis(1);
        assert!(
            shown(None, Some(&screen), Some(t0), None, true, before)
                .0
                .is_none()
        );
        assert_eq!(grace_ends(Some(t0), before), Some(t0 + grace));
        assert_eq!(
            shown(None, Some(&screen), Some(t0), None, true, t0 + grace)
                .0
                .map(|p| p.id),
            Some(screen.id)
        );
        assert_eq!(grace_ends(Some(t0), t0 + grace), None);
        // A hook request comes first, with its own age.
        let hook = prompt("Bash", "npm test", 9);
        let t1 = t0 + Duration::from_millis(5);
        let (p, since) = shown(Some((&hook, t1)), Some(&screen), Some(t0), None, true, t0);
        assert_eq!((p.map(|p| p.id), since), (Some(hook.id), Some(t1)));
        // A dialog whose hook request was answered never shows again.
        let late = t0 + grace * 10;
        assert!(
            shown(None, Some(&screen), Some(t0), Some(7), true, late)
                .0
                .is_none()
        );
        assert!(
            shown(None, Some(&screen), Some(t0), Some(7), false, late)
                .0
                .is_none()
        );
    }

    #[test]
    fn keys_wait_for_the_dialog_to_settle() {
        let t0 = Instant::now();
        let settle = Duration::from_millis(POLICY_SETTLE_MS);
        assert_eq!(settle_until(Some(t0), t0), Some(t0 + settle));
        assert_eq!(settle_until(Some(t0), t0 + settle / 2), Some(t0 + settle));
        assert_eq!(settle_until(Some(t0), t0 + settle), None);
        assert_eq!(settle_until(None, t0), None);
    }

    #[test]
    fn an_answer_counts_for_the_reanswer_window_then_the_prompt_may_be_answered_again() {
        let t0 = Instant::now();
        let window = Duration::from_millis(REANSWER_AFTER_MS);
        let id = Some(PromptId(3));
        assert_eq!(still_answered(id, Some(t0), t0), id);
        assert_eq!(
            still_answered(id, Some(t0), t0 + window - Duration::from_millis(1)),
            id
        );
        assert_eq!(still_answered(id, Some(t0), t0 + window), None);
        assert_eq!(still_answered(id, None, t0 + window * 9), id);
        assert_eq!(still_answered(None, Some(t0), t0), None);
    }

    #[test]
    fn a_handed_back_answer_goes_only_to_the_exact_same_call_in_time() {
        let t0 = Instant::now();
        let recheck = Duration::from_millis(250);
        let back = HandBack {
            tool: "Bash".into(),
            subject: "cargo test".into(),
            answer: Answer::ApproveAlways,
            by: AnsweredBy {
                source: "keyboard".into(),
                detail: "a".into(),
            },
            until: t0 + Duration::from_secs(30),
        };
        let same = prompt("Bash", "cargo test", 1);
        assert_eq!(
            back.step(Some(&same), recheck, t0),
            HandBackStep::Answer(same.id)
        );
        // Not drawn yet, or another call, or a reading not exact: look again.
        for p in [
            None,
            Some(prompt("Bash", "cargo test --release", 2)),
            Some(prompt("Edit", "cargo test", 3)),
            Some(Prompt {
                incomplete: Some(Incomplete::Truncated),
                ..prompt("Bash", "cargo test", 4)
            }),
        ] {
            assert_eq!(
                back.step(p.as_ref(), recheck, t0),
                HandBackStep::ReadAt(t0 + recheck),
                "{p:?}"
            );
        }
        // Past its time: dropped, whatever is on screen.
        let late = t0 + Duration::from_secs(31);
        assert_eq!(back.step(Some(&same), recheck, late), HandBackStep::Expired);
    }
}
