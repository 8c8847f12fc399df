//! What every permission request has, whatever its source: how an answer
//! reaches the agent ([`Via`]), and whether a rule may answer it at all
//! ([`exactness`], [`inside`]), decided before any rule is looked at.

use std::path::Path;

use crate::detect::{Prompt, PromptSource};

/// How an answer to a request reaches its agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A screen dialog: the option's keys, written only after a fresh read
    /// of the screen shows the same dialog.
    Keys,
    /// The agent's permission hook: a decision on the hook's own
    /// connection `conn`, bound to that request.
    Hook {
        /// The hook connection's number.
        conn: u64,
    },
    /// A structured slot's protocol: an answer line on the agent's stdin,
    /// bound to the request's own key.
    Protocol,
}

impl Via {
    /// A word for logs: `keys`, `hook` or `protocol`.
    pub fn label(self) -> &'static str {
        match self {
            Via::Keys => "keys",
            Via::Hook { .. } => "hook",
            Via::Protocol => "protocol",
        }
    }
}

/// Whether a rule may answer `p` by itself (invariant 8: never on a
/// guess): a hook's request always; a dialog read off the screen only when
/// every structural check passed, and never on a slot whose hook is
/// installed (`hooked`): the hook reports every real request, so a dialog
/// it did not report may be model text drawn to look like one.
///
/// Errors: why not, for the inbox.
pub fn exactness(p: &Prompt, hooked: bool) -> Result<(), String> {
    match p.source {
        PromptSource::Hook => Ok(()),
        // Exact unless corral could not read the request's input.
        PromptSource::Protocol => match p.incomplete {
            Some(why) => Err(why.to_string()),
            None => Ok(()),
        },
        PromptSource::Screen if hooked => Err("the agent's hook did not report this dialog".into()),
        PromptSource::Screen => match p.incomplete {
            Some(why) => Err(why.to_string()),
            None => Ok(()),
        },
    }
}

/// Whether the directory an agent reported for a request (`reported`) is
/// inside the slot's (`slot`): writes are judged against the slot's
/// directory only while the agent runs there.
///
/// Errors: where it runs instead, for the policy's reason.
pub fn inside(reported: Option<&Path>, slot: Option<&Path>) -> Result<(), String> {
    match (reported, slot) {
        (Some(r), Some(s)) if !r.starts_with(s) => Err(format!(
            "the agent runs in {}, outside the slot's directory {}",
            r.display(),
            s.display()
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{Incomplete, PromptId};

    fn prompt(source: PromptSource, incomplete: Option<Incomplete>) -> Prompt {
        Prompt {
            source,
            incomplete,
            id: PromptId(1),
            dialog_hash: 1,
            tool: "Bash".into(),
            subject: "rm -rf build".into(),
            question: String::new(),
            options: Vec::new(),
            dialog: Vec::new(),
            deny_fallback: Vec::new(),
            unavailable: Default::default(),
        }
    }

    #[test]
    fn only_a_hooks_request_or_a_whole_dialog_on_an_unhooked_slot_is_exact() {
        assert!(exactness(&prompt(PromptSource::Hook, None), true).is_ok());
        assert!(exactness(&prompt(PromptSource::Screen, None), false).is_ok());
        let hooked = exactness(&prompt(PromptSource::Screen, None), true);
        assert!(hooked.is_err_and(|w| w.contains("hook did not report")));
        let cut = exactness(
            &prompt(PromptSource::Screen, Some(Incomplete::Truncated)),
            false,
        );
        assert_eq!(cut, Err(Incomplete::Truncated.to_string()));
        // A hooked slot's dialog is not exact however whole it reads.
        let both = exactness(
            &prompt(PromptSource::Screen, Some(Incomplete::CutOff)),
            true,
        );
        assert!(both.is_err_and(|w| w.contains("hook")));
    }

    #[test]
    fn a_request_from_outside_the_slots_directory_is_said() {
        let slot = Some(Path::new("/srv/api"));
        assert!(inside(Some(Path::new("/srv/api/sub")), slot).is_ok());
        assert!(inside(None, slot).is_ok());
        assert!(inside(Some(Path::new("/srv")), None).is_ok());
        // A sibling that starts with the same letters is outside.
        for out in ["/srv/api-old", "/srv", "/"] {
            assert!(inside(Some(Path::new(out)), slot).is_err(), "{out}");
        }
    }
}
