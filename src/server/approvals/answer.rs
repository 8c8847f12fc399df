//! Checking an answer against the screen as it is now, and the options a
//! hook request offers.

use crate::detect::{self, Answer, Prompt, PromptId};
use crate::keys::KeyPress;

/// The options of a hook prompt: what the inbox offers (approve once and
/// deny, both sent through the hook).
pub(crate) fn hook_options() -> Vec<detect::PromptOption> {
    vec![
        detect::PromptOption {
            number: 1,
            label: "Yes (through the hook)".into(),
            kind: detect::AnswerKind::ApproveOnce,
            keys: Vec::new(),
            selected: false,
        },
        detect::PromptOption {
            number: 2,
            label: "No (through the hook)".into(),
            kind: detect::AnswerKind::Deny,
            keys: Vec::new(),
            selected: false,
        },
    ]
}

/// The safety check in front of every answer (invariant 1 of DESIGN.md):
/// keys go out only if the prompt detected on the screen *now* (`current`)
/// is the dialog the manager announced (`known`) under the id the answer
/// names (`want`), and that prompt was not answered yet. Returns the prompt
/// and the keys, or why nothing may be sent (with the prompt, if known).
pub fn check_answer(
    current: Option<&Prompt>,
    known: Option<&Prompt>,
    answered: Option<PromptId>,
    want: PromptId,
    answer: Answer,
) -> Result<(Prompt, Vec<KeyPress>), Refusal> {
    let refuse = |reason: &str, p: Option<&Prompt>| Refusal {
        reason: reason.to_string(),
        prompt: p.map(|p| Box::new(p.clone())),
    };
    match (current, known) {
        (None, k) => Err(refuse(
            "the prompt is no longer on screen",
            k.filter(|k| k.id == want),
        )),
        (Some(cur), Some(k)) if cur.dialog_hash == k.dialog_hash && k.id == want => {
            if answered == Some(want) {
                return Err(refuse("this prompt was already answered", Some(k)));
            }
            match cur.keys_for(answer) {
                Ok(keys) => Ok((k.clone(), keys)),
                Err(e) => Err(refuse(&e.to_string(), Some(k))),
            }
        }
        (Some(_), k) => Err(refuse(
            "the prompt on screen changed since it was shown",
            k.filter(|k| k.id == want),
        )),
    }
}

/// Why an answer was not sent, with the prompt it named (when known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// In words, for the user and the audit log.
    pub reason: String,
    /// The prompt the answer named, if the manager knows it.
    pub prompt: Option<Box<Prompt>>,
}
