//! Matching a screen dialog with a hook request.

use crate::detect::Prompt;

/// Whether a screen dialog showing (tool, subject) `key` can be the dialog
/// of hook request `p`: the same tool, and the same subject with runs of
/// white space alike (the screen's reading of a wrapped command is a best
/// guess, so a subject cut off with `…` also matches its start).
pub(crate) fn same_call(p: &Prompt, key: &(String, String)) -> bool {
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let (tool, subject) = key;
    if *tool != p.tool {
        return false;
    }
    let (a, b) = (norm(subject), norm(&p.subject));
    a == b
        || a.strip_suffix('…')
            .is_some_and(|start| b.starts_with(start.trim_end()))
}
