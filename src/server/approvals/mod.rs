//! The approval layer's pure parts: checking an answer against the screen,
//! matching a screen dialog with a hook request or with itself after a
//! resize, and the audit record. Imports nothing else from `server/` (a test
//! holds it to that), so each part is testable alone.

pub(crate) mod answer;
pub(crate) mod audit;
pub(crate) mod reflow;
pub(crate) mod screen;
