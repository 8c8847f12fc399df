//! `corral ctl`: its subcommands and the protocol request each makes.

use std::path::PathBuf;

use clap::Subcommand;

use crate::proto::ctl::{CtlAnswer, CtlRequest, SendInput, WaitFor};

/// `corral ctl ...` subcommands. Slots are named by id.
#[derive(Subcommand, Debug)]
pub(super) enum CtlCmd {
    /// Every slot: agent, role, state and for how long, pid, session
    /// generation, the prompt waiting in it.
    List,
    /// A slot's screen as text.
    Screen {
        /// The slot.
        slot: String,
        /// With SGR sequences for colours and attributes.
        #[arg(long)]
        ansi: bool,
        /// Rows of scrollback before the screen.
        #[arg(long, value_name = "N", default_value_t = 0)]
        scrollback: usize,
    },
    /// Types text into a slot (a bracketed paste when its program asked
    /// for one), or keys by name with --keys (`ctrl-c enter`). Refused while
    /// a prompt is open in the slot: only `ctl answer` answers prompts.
    Send {
        /// The slot.
        slot: String,
        /// The words are key names, each a key press.
        #[arg(long)]
        keys: bool,
        /// Enter after the text or keys.
        #[arg(long)]
        enter: bool,
        /// The text (words joined by spaces) or key names.
        #[arg(value_name = "TEXT")]
        text: Vec<String>,
    },
    /// Sends TEXT and Enter, waits until the slot leaves `working` for the
    /// state asked for, and prints the state, the prompt if one is open and
    /// the rows the agent printed since.
    Prompt {
        /// The slot.
        slot: String,
        /// The message.
        text: String,
        /// idle, needs-permission, needs-input or any-stop.
        #[arg(long, value_name = "STATE", default_value = "any-stop", value_parser = kebab::<WaitFor>)]
        wait: WaitFor,
        /// Longest wait, in seconds.
        #[arg(long, value_name = "S", default_value_t = 600.0)]
        timeout: f64,
    },
    /// Sends TEXT to a slot's agent as a task. With --wait, prints the
    /// turn's result when it ends: for a structured slot its final text,
    /// conversation, duration, cost, tokens and denied tools; for a PTY slot
    /// what `prompt` prints
    Task {
        /// The slot.
        slot: String,
        /// The message.
        text: String,
        /// Wait for the turn to end.
        #[arg(long)]
        wait: bool,
        /// Longest wait, in seconds.
        #[arg(long, value_name = "S", default_value_t = 600.0)]
        timeout: f64,
    },
    /// Waits until a slot is in a state (at once if it is). Ends with an
    /// error (exit 1) if the slot restarts or exits meanwhile.
    Wait {
        /// The slot.
        slot: String,
        /// starting, working, idle, needs-permission, needs-input, stalled,
        /// exited or any-stop.
        #[arg(long, value_name = "STATE", value_parser = kebab::<WaitFor>)]
        state: WaitFor,
        /// Longest wait, in seconds.
        #[arg(long, value_name = "S", default_value_t = 600.0)]
        timeout: f64,
    },
    /// Answers the prompt open in a slot, verified as a key is (the dialog
    /// must still be on screen); approvals only of a subject read whole.
    /// The audit names `ctl`.
    Answer {
        /// The slot.
        slot: String,
        /// approve-once, approve-always or deny.
        #[arg(value_parser = kebab::<CtlAnswer>)]
        answer: CtlAnswer,
        /// Only this prompt: its id as `ctl list` prints it (16 hex
        /// digits) or as `--json` gives it (a number).
        #[arg(long, value_name = "ID", value_parser = prompt_id)]
        prompt: Option<crate::detect::PromptId>,
    },
    /// Stops the slot's program and starts it again.
    Restart {
        /// The slot.
        slot: String,
    },
    /// Stops the slot's program (SIGHUP, SIGKILL after 2 s); no restart.
    Kill {
        /// The slot.
        slot: String,
    },
    /// Sends the agent's own interrupt key (Esc for Claude Code, Codex and
    /// Gemini CLI; ctrl-c otherwise).
    Interrupt {
        /// The slot.
        slot: String,
    },
    /// The session's events as they happen (state changes, prompts opened
    /// and closed, answers, exits, restarts, titles, bells), numbered.
    Events {
        /// Only this slot's.
        #[arg(long)]
        slot: Option<String>,
    },
    /// Per slot: bytes read, scrollback rows, engine memory, restarts,
    /// prompts answered by key, rule and ctl.
    Stats,
    /// What detection reads on a slot's live screen, and why.
    Explain {
        /// The slot.
        slot: String,
    },
    /// Adds a slot to the running session and starts COMMAND in it; every
    /// attached client shows it (the config file is not changed).
    New {
        /// The slot's id (unique, no spaces).
        #[arg(long)]
        id: String,
        /// Its agent profile: claude, codex, gemini, aider, generic or a
        /// user profile.
        #[arg(long, default_value = "generic")]
        agent: String,
        /// Its working directory (default: the server's).
        #[arg(long, value_name = "DIR")]
        cwd: Option<PathBuf>,
        /// Its role, shown in the sidebar.
        #[arg(long, default_value = "")]
        role: String,
        /// Run in a git worktree of its own on this branch (made from the
        /// repository of --cwd).
        #[arg(long, value_name = "BRANCH")]
        worktree: Option<String>,
        /// The program and its arguments, after `--`.
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// A slot's git worktree: `ctl worktree SLOT remove [--force]`.
    Worktree {
        /// The slot.
        slot: String,
        /// What to do.
        #[command(subcommand)]
        action: WorktreeCmd,
    },
    /// Prints the JSON schema of ctl's requests and replies (needs no
    /// server).
    Schema,
}

/// A prompt id: 16 hex digits (as corral prints it), else a decimal number.
pub(super) fn prompt_id(s: &str) -> Result<crate::detect::PromptId, String> {
    crate::detect::PromptId::parse(s)
}

/// `corral ctl worktree SLOT ...` subcommands.
#[derive(Subcommand, Debug)]
pub(super) enum WorktreeCmd {
    /// Removes the worktree (its branch stays); refuses while the slot
    /// runs, and, unless --force, while it has uncommitted changes.
    Remove {
        /// Even with uncommitted changes (they are lost).
        #[arg(long)]
        force: bool,
    },
}

/// A kebab-case name (`any-stop`) as the protocol spells it.
///
/// Errors: another name; the message lists the names there are.
pub(super) fn kebab<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|e| {
        // serde's "unknown variant `x`, expected one of `a`, `b`".
        let e = e.to_string();
        match e.split_once("expected one of ") {
            Some((_, names)) => format!("unknown value `{s}`; one of {names}"),
            None => format!("unknown value `{s}`"),
        }
    })
}

/// The request of a `corral ctl` command line.
///
/// Errors: a usage error (nothing to send, a key name that is not one).
pub(super) fn ctl_request(cmd: &CtlCmd) -> Result<CtlRequest, String> {
    let ms = |s: f64| {
        if s.is_finite() && s >= 0.0 {
            Ok((s * 1000.0) as u64)
        } else {
            Err(format!("--timeout {s}: a number of seconds, 0 or more"))
        }
    };
    Ok(match cmd {
        CtlCmd::List => CtlRequest::List,
        CtlCmd::Screen {
            slot,
            ansi,
            scrollback,
        } => CtlRequest::Screen {
            slot: slot.clone(),
            ansi: *ansi,
            scrollback: *scrollback,
        },
        CtlCmd::Send {
            slot,
            keys,
            enter,
            text,
        } => {
            if text.is_empty() && !enter {
                return Err(
                    "ctl send: nothing to send (give TEXT, key names with --keys, or --enter)"
                        .into(),
                );
            }
            let input = if *keys {
                SendInput::Keys(
                    text.iter()
                        .map(|k| {
                            k.parse::<crate::keys::KeyPress>()
                                .map_err(|e| e.to_string())
                        })
                        .collect::<Result<_, _>>()?,
                )
            } else {
                SendInput::Text(text.join(" "))
            };
            CtlRequest::Send {
                slot: slot.clone(),
                input,
                enter: *enter,
            }
        }
        CtlCmd::Prompt {
            slot,
            text,
            wait,
            timeout,
        } => CtlRequest::Prompt {
            slot: slot.clone(),
            text: text.clone(),
            wait: *wait,
            timeout_ms: ms(*timeout)?,
        },
        CtlCmd::Task {
            slot,
            text,
            wait,
            timeout,
        } => CtlRequest::Task {
            slot: slot.clone(),
            text: text.clone(),
            wait: *wait,
            timeout_ms: ms(*timeout)?,
        },
        CtlCmd::Wait {
            slot,
            state,
            timeout,
        } => CtlRequest::Wait {
            slot: slot.clone(),
            state: *state,
            timeout_ms: ms(*timeout)?,
        },
        CtlCmd::Answer {
            slot,
            answer,
            prompt,
        } => CtlRequest::Answer {
            slot: slot.clone(),
            answer: *answer,
            prompt: *prompt,
            by_web: None,
        },
        CtlCmd::Restart { slot } => CtlRequest::Restart { slot: slot.clone() },
        CtlCmd::Kill { slot } => CtlRequest::Kill { slot: slot.clone() },
        CtlCmd::Interrupt { slot } => CtlRequest::Interrupt { slot: slot.clone() },
        CtlCmd::Events { slot } => CtlRequest::Events { slot: slot.clone() },
        CtlCmd::Stats => CtlRequest::Stats,
        CtlCmd::Explain { slot } => CtlRequest::Explain { slot: slot.clone() },
        CtlCmd::Worktree {
            slot,
            action: WorktreeCmd::Remove { force },
        } => CtlRequest::RemoveWorktree {
            slot: slot.clone(),
            force: *force,
        },
        CtlCmd::New {
            id,
            agent,
            cwd,
            role,
            command,
            worktree,
        } => CtlRequest::New {
            id: id.clone(),
            agent: agent.clone(),
            role: role.clone(),
            // The caller's directory, not the server's.
            cwd: cwd
                .as_ref()
                .map(|d| {
                    std::path::absolute(d)
                        .map(|p| p.to_string_lossy().into_owned())
                        .map_err(|e| format!("--cwd {}: {e}", d.display()))
                })
                .transpose()?,
            command: command.clone(),
            worktree: worktree.clone(),
        },
        CtlCmd::Schema => return Err("the schema needs no request".into()),
    })
}
