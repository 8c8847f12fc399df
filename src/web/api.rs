//! The messages of `corral web`'s WebSocket and HTTP API, for its page and
//! for scripts: `/ws/slot/<id>` ([`SlotMsg`] out, [`SlotInput`] in),
//! `/ws/session` ([`SessionMsg`]), `/ws/events` (the `ctl events` replies,
//! [`crate::proto::ctl::CtlEvent`]), and `POST /api/answer`
//! ([`AnswerRequest`]). `corral web --schema` prints their JSON schema.

use serde::{Deserialize, Serialize};

use crate::detect::{AgentState, PromptId};
use crate::proto::ctl::{CtlAnswer, CtlSlot};

/// A message on `/ws/slot/<id>`, from the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum SlotMsg {
    /// The slot's whole screen: first on connecting, after output the
    /// stream could not keep up with, in `?mode=screen` after every change
    /// (at most 25 a second), and in answer to [`SlotInput::History`].
    Screen {
        /// The slot's id.
        slot: String,
        /// Screen height in cells.
        rows: u16,
        /// Screen width in cells.
        cols: u16,
        /// The cursor: row, column (cells, from 0).
        cursor: [u16; 2],
        /// The window title the program set.
        title: String,
        /// Rows of scrollback at the start of `lines`.
        scrollback: usize,
        /// The rows (scrollback first, then the screen), each as text with
        /// SGR sequences for colours and attributes, ending with a reset.
        lines: Vec<String>,
    },
    /// Output of the program as it came (after the last `screen`), base64.
    Data {
        /// The slot's id.
        slot: String,
        /// The bytes, base64 (standard, padded).
        data: String,
    },
    /// The slot's detected state changed.
    State {
        /// The slot's id.
        slot: String,
        /// The state.
        state: AgentState,
    },
    /// The slot's program exited.
    Exit {
        /// The slot's id.
        slot: String,
        /// Its exit status, in words.
        status: String,
    },
    /// What was asked could not be done.
    Error {
        /// Why.
        error: String,
    },
}

/// A message on `/ws/slot/<id>`, to the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum SlotInput {
    /// Type text (as a paste), as `ctl send` does: refused for a read-only
    /// token, and while a prompt is open in the slot (answer it instead).
    Text {
        /// The text.
        text: String,
    },
    /// Press keys by name (`enter`, `ctrl-c`, `up`), as `ctl send --keys`.
    Keys {
        /// The keys.
        keys: Vec<crate::keys::KeyPress>,
    },
    /// Send the screen with up to `rows` rows of scrollback before it.
    History {
        /// Rows of scrollback wanted.
        rows: usize,
    },
}

/// The person the page is for: which token it logged in with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Me {
    /// The token's name (what the audit log says answered).
    pub name: String,
    /// It may watch but not type or answer.
    pub read_only: bool,
    /// The value of the `X-Corral-CSRF` header a `POST` from the page
    /// carries (a page on another site cannot read it).
    pub csrf: String,
}

/// A message on `/ws/session`, from the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum SessionMsg {
    /// First: who this is, and how the gateway is reached.
    Hello {
        /// The session's name.
        session: String,
        /// The token this connection logged in with.
        me: Me,
        /// The gateway serves plain HTTP on an address other than loopback
        /// (`--insecure-http`): tokens and answers cross the network in
        /// the clear.
        insecure: bool,
    },
    /// Every slot, with its state and open prompt (the inbox is the slots
    /// with a prompt); again after every change.
    Slots {
        /// The slots, in slot order.
        slots: Vec<CtlSlot>,
    },
}

/// `POST /api/answer`: answers a prompt as the inbox's buttons do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AnswerRequest {
    /// The slot's id.
    pub slot: String,
    /// The prompt the page showed: refused if another one is open now.
    pub prompt: PromptId,
    /// The answer.
    pub answer: CtlAnswer,
}

/// The reply to `POST /api/answer`: `200` with `answered`, or an error
/// status with `error` (401 no login, 403 read-only or wrong origin, 409
/// not answered: stale, incomplete, gone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AnswerReply {
    /// The prompt answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered: Option<PromptId>,
    /// Why not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Every message of the web API, for its JSON schema.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum WebApi {
    /// From `/ws/slot/<id>`.
    Slot(SlotMsg),
    /// To `/ws/slot/<id>`.
    SlotInput(SlotInput),
    /// From `/ws/session`.
    Session(SessionMsg),
    /// `POST /api/answer`.
    Answer(AnswerRequest),
    /// Its reply.
    AnswerReply(AnswerReply),
    /// From `/ws/events`: one per event, as `ctl events --json` prints.
    Event(crate::proto::ctl::CtlEvent),
}

/// The JSON schema of [`WebApi`].
pub fn schema() -> schemars::Schema {
    schemars::schema_for!(WebApi)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema in `docs/` is the one the code makes (regenerate it with
    /// `corral web --schema > docs/web.schema.json`).
    #[test]
    fn the_documented_schema_is_the_one_the_code_makes() {
        let made = serde_json::to_string_pretty(&schema()).unwrap_or_default() + "\n";
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/web.schema.json");
        let doc = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            made == doc,
            "docs/web.schema.json is out of date: run `corral web --schema > docs/web.schema.json`"
        );
        for name in [
            "screen", "data", "state", "exit", "slots", "hello", "prompt",
        ] {
            assert!(made.contains(&format!("\"{name}\"")), "{name} missing");
        }
    }

    #[test]
    fn messages_read_as_the_schema_says() {
        let m: SlotInput = serde_json::from_str(r#"{"type":"keys","keys":["ctrl-c","enter"]}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            m,
            SlotInput::Keys {
                keys: vec![
                    "ctrl-c".parse().unwrap_or_else(|e| panic!("{e}")),
                    "enter".parse().unwrap_or_else(|e| panic!("{e}"))
                ]
            }
        );
        let a: AnswerRequest = serde_json::from_str(
            r#"{"slot":"api","prompt":"00000000000000ff","answer":"approve-always"}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.prompt, PromptId(255));
        assert!(
            serde_json::from_str::<AnswerRequest>(r#"{"slot":"api","answer":"deny"}"#).is_err()
        );
    }
}
