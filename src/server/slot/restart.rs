//! The restart policy: whether and when a slot's ended session starts
//! again, with backoff, and a resume the agent refused.
//!
//! Pure: no I/O; durations are computed from what the caller measured.

use std::time::Duration;

use crate::config::RestartPolicy;

/// The first restart's delay, and the delay again after a session ran for
/// [`RESTART_RESET_AFTER`].
pub const RESTART_MIN: Duration = Duration::from_secs(1);
/// The longest delay between restarts (the backoff doubles up to it).
pub const RESTART_MAX: Duration = Duration::from_secs(30);
/// A session that ran this long resets the backoff to [`RESTART_MIN`].
pub const RESTART_RESET_AFTER: Duration = Duration::from_secs(30);
/// A resumed session that fails this soon, before its agent was ever
/// ready, was refused by the agent: corral starts a new conversation.
pub const RESUME_GRACE: Duration = Duration::from_secs(10);

/// How a session ended, as the restart policy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ended {
    /// It exited successfully (status 0).
    pub success: bool,
    /// Its status is an exit code of its own (not a signal, not a start
    /// that failed).
    pub exit_code: bool,
    /// How long it ran.
    pub ran_for: Duration,
    /// It was started resuming a conversation.
    pub resuming: bool,
    /// Its agent was idle, working or asking at some point.
    pub was_ready: bool,
    /// The slot knows a conversation id to resume.
    pub has_conversation: bool,
    /// A restart was asked for (the `R` key, `ctl restart`, a refused
    /// resume): it starts again at once whatever the policy.
    pub restart_now: bool,
}

/// Whether the agent refused to resume its conversation: a resumed session
/// that failed with an exit code of its own within [`RESUME_GRACE`], before
/// its agent was ever ready (Claude Code's "No conversation found", Gemini
/// CLI's exit 42 for an empty conversation it deleted as it exited), and not
/// a restart asked for.
pub fn resume_refused(e: &Ended) -> bool {
    e.resuming
        && !e.success
        && !e.restart_now
        && !e.was_ready
        && e.exit_code
        && e.ran_for < RESUME_GRACE
        && e.has_conversation
}

/// A slot's backoff between automatic restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay before the next automatic restart.
    pub next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: RESTART_MIN }
    }
}

impl Backoff {
    /// When an ended session starts again under `policy`: `None` never,
    /// `Some(ZERO)` at once (a restart asked for, `restart_now`), else after
    /// the backoff, which then doubles up to [`RESTART_MAX`]. A session that
    /// ran [`RESTART_RESET_AFTER`] or longer starts the backoff over.
    pub fn after(&mut self, policy: RestartPolicy, e: &Ended) -> Option<Duration> {
        if e.restart_now {
            return Some(Duration::ZERO);
        }
        let restart = match policy {
            RestartPolicy::Never => false,
            RestartPolicy::OnFailure => !e.success,
            RestartPolicy::Always => true,
        };
        if !restart {
            return None;
        }
        if e.ran_for >= RESTART_RESET_AFTER {
            self.next = RESTART_MIN;
        }
        let d = self.next;
        self.next = (self.next * 2).min(RESTART_MAX);
        Some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crash(ran_for: Duration) -> Ended {
        Ended {
            success: false,
            exit_code: true,
            ran_for,
            resuming: false,
            was_ready: true,
            has_conversation: false,
            restart_now: false,
        }
    }

    #[test]
    fn backoff_doubles_to_its_cap_and_resets_after_a_long_run() {
        let mut b = Backoff::default();
        let quick = crash(Duration::from_millis(200));
        let delays: Vec<u64> = (0..7)
            .filter_map(|_| b.after(RestartPolicy::Always, &quick))
            .map(|d| d.as_secs())
            .collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30]);
        // A session that ran 30 s was healthy: the next crash waits 1 s.
        let long = crash(RESTART_RESET_AFTER);
        assert_eq!(b.after(RestartPolicy::Always, &long), Some(RESTART_MIN));
        assert_eq!(b.next, RESTART_MIN * 2);
        // Just under it is not.
        let mut b = Backoff {
            next: Duration::from_secs(8),
        };
        let almost = crash(RESTART_RESET_AFTER - Duration::from_millis(1));
        assert_eq!(
            b.after(RestartPolicy::Always, &almost),
            Some(Duration::from_secs(8))
        );
    }

    #[test]
    fn the_policy_decides_and_a_restart_asked_for_goes_at_once() {
        let mut b = Backoff::default();
        let ok = Ended {
            success: true,
            ..crash(Duration::from_secs(1))
        };
        assert_eq!(b.after(RestartPolicy::Never, &crash(Duration::ZERO)), None);
        assert_eq!(b.after(RestartPolicy::OnFailure, &ok), None);
        assert_eq!(
            b.after(RestartPolicy::OnFailure, &crash(Duration::ZERO)),
            Some(RESTART_MIN)
        );
        assert_eq!(b.after(RestartPolicy::Always, &ok), Some(RESTART_MIN * 2));
        let asked = Ended {
            restart_now: true,
            ..ok
        };
        let before = b;
        assert_eq!(b.after(RestartPolicy::Never, &asked), Some(Duration::ZERO));
        assert_eq!(b, before, "a restart asked for leaves the backoff");
    }

    #[test]
    fn a_refused_resume_is_a_quick_failure_of_a_resumed_agent_never_ready() {
        let refused = Ended {
            success: false,
            exit_code: true,
            ran_for: Duration::from_secs(2),
            resuming: true,
            was_ready: false,
            has_conversation: true,
            restart_now: false,
        };
        assert!(resume_refused(&refused));
        for (what, e) in [
            (
                "not resuming",
                Ended {
                    resuming: false,
                    ..refused
                },
            ),
            (
                "succeeded",
                Ended {
                    success: true,
                    ..refused
                },
            ),
            (
                "killed by a signal",
                Ended {
                    exit_code: false,
                    ..refused
                },
            ),
            (
                "was ready once",
                Ended {
                    was_ready: true,
                    ..refused
                },
            ),
            (
                "ran past the grace",
                Ended {
                    ran_for: RESUME_GRACE,
                    ..refused
                },
            ),
            (
                "no conversation",
                Ended {
                    has_conversation: false,
                    ..refused
                },
            ),
            (
                "a restart asked for",
                Ended {
                    restart_now: true,
                    ..refused
                },
            ),
        ] {
            assert!(!resume_refused(&e), "{what}");
        }
    }
}
