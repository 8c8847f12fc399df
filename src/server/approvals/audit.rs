//! One line of `audit.jsonl`, built from owned data, and its writing.

use serde::Serialize;

use crate::detect::PromptSource;
use crate::proto::AnsweredBy;

/// One line of `audit.jsonl`.
#[derive(Debug, Serialize)]
pub(crate) struct AuditRecord<'a> {
    pub(crate) time: String,
    /// The session's name: `corral audit -s NAME` shows one session.
    pub(crate) session: &'a str,
    pub(crate) slot: &'a str,
    pub(crate) agent: &'a str,
    pub(crate) generation: u64,
    pub(crate) prompt_id: String,
    pub(crate) tool: &'a str,
    pub(crate) subject: &'a str,
    pub(crate) question: &'a str,
    pub(crate) answer: String,
    pub(crate) by: &'a AnsweredBy,
    pub(crate) result: &'a str,
    /// `hook` or `screen`: where the tool and subject came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) source: Option<PromptSource>,
    /// Why a screen prompt's subject was not known exact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) incomplete: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<&'a str>,
    /// Milliseconds from the prompt's detection to this record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) waited_ms: Option<u64>,
    /// How the slot's session was confined, when it asks for a sandbox.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sandbox: Option<&'a crate::sandbox::SandboxStatus>,
}

pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
