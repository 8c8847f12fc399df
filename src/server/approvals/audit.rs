//! One line of `audit.jsonl`, built from owned data, and its writing.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::detect::{Answer, Prompt, PromptId, PromptSource};
use crate::proto::AnsweredBy;
use crate::sandbox::SandboxStatus;

/// The slot a record is about, as it was when the record was made.
#[derive(Debug, Clone)]
pub struct AuditSlot {
    /// The session's name: `corral audit -s NAME` shows one session.
    pub session: String,
    /// The slot's id.
    pub slot: String,
    /// Its agent's profile name.
    pub agent: String,
    /// Its session's generation (1 for the first start).
    pub generation: u64,
    /// How its session was confined, when it asks for a sandbox.
    pub sandbox: Option<SandboxStatus>,
}

/// What happened to a prompt: `sent`, `refused` or `vanished` (closed with
/// no answer from corral: answered in the pane, withdrawn by the agent, or
/// its session ended).
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The answer given, if any.
    pub answer: Option<Answer>,
    /// Who decided (`keyboard`, `ctl`, `policy`, `pane`, `none`).
    pub by: AnsweredBy,
    /// `sent`, `refused` or `vanished`.
    pub result: &'static str,
    /// Why, in words.
    pub reason: Option<String>,
    /// Milliseconds from the prompt's detection to this record, when the
    /// inbox showed it.
    pub waited_ms: Option<u64>,
}

/// One line of `audit.jsonl`.
#[derive(Debug, Serialize)]
pub struct AuditRecord {
    /// RFC 3339, UTC.
    pub time: String,
    /// The session's name.
    pub session: String,
    /// The slot's id.
    pub slot: String,
    /// Its agent.
    pub agent: String,
    /// Its session's generation.
    pub generation: u64,
    /// The prompt's id (16 hex digits).
    pub prompt_id: String,
    /// The tool asked for.
    pub tool: String,
    /// What it acts on: the command, file or URL.
    pub subject: String,
    /// The dialog's question.
    pub question: String,
    /// The answer given (empty for none).
    pub answer: String,
    /// Who decided.
    pub by: AnsweredBy,
    /// `sent`, `refused` or `vanished`.
    pub result: &'static str,
    /// `hook` or `screen`: where the tool and subject came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<PromptSource>,
    /// Why a screen prompt's subject was not known exact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
    /// Why, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Milliseconds from the prompt's detection to this record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waited_ms: Option<u64>,
    /// How the slot's session was confined, when it asks for a sandbox.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<SandboxStatus>,
}

impl AuditRecord {
    /// The record of `outcome` for prompt `id` (`prompt`, when known) of
    /// `slot`, timed now.
    pub fn new(slot: AuditSlot, prompt: Option<&Prompt>, id: PromptId, outcome: Outcome) -> Self {
        AuditRecord {
            time: now_rfc3339(),
            session: slot.session,
            slot: slot.slot,
            agent: slot.agent,
            generation: slot.generation,
            prompt_id: id.to_string(),
            source: prompt.map(|p| p.source),
            incomplete: prompt.and_then(|p| p.incomplete).map(|i| i.to_string()),
            tool: prompt.map(|p| p.tool.clone()).unwrap_or_default(),
            subject: prompt.map(|p| p.subject.clone()).unwrap_or_default(),
            question: prompt.map(|p| p.question.clone()).unwrap_or_default(),
            answer: outcome.answer.map(|a| a.to_string()).unwrap_or_default(),
            by: outcome.by,
            result: outcome.result,
            reason: outcome.reason,
            waited_ms: outcome.waited_ms,
            sandbox: slot.sandbox,
        }
    }

    /// Appends the record to the log at `path` (made, with its directory,
    /// if missing). A failure is logged, never raised: an answer is not
    /// held back by a full disk.
    pub fn append(&self, path: &Path) {
        let line = match serde_json::to_string(self) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("audit: {e}");
                return;
            }
        };
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let res = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = res {
            tracing::warn!("audit log {}: {e}", path.display());
        }
    }
}

/// Now, as RFC 3339 in UTC (empty if the clock cannot be formatted).
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
