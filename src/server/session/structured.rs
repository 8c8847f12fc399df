//! A structured session: the agent's program on pipes (its stdin takes
//! protocol lines, its stdout gives them, its stderr is shown), a reader
//! thread per pipe, and the protocol log every line goes to.
//!
//! The reader bounds a line at [`MAX_LINE_BYTES`] and parses it with the
//! slot's codec off the manager thread; the manager only sees
//! [`AgentLine`]s. Nothing the agent writes can stop the reader but the end
//! of its output.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdout, Command, Stdio};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::thread;

use crate::agent_protocol::{AgentLine, MAX_LINE_BYTES, Transport, stream_json};
use crate::config::SlotConfig;
use crate::proto::SlotIdx;

use crate::server::bus::Msg;
use crate::server::session::launch::find_program;
use crate::server::transcript::Transcript;

/// Most bytes of one stderr line shown (the rest of it is dropped).
const MAX_STDERR_LINE: usize = 16 << 10;

/// Starts `run`'s program (its command and args, then `extra`) on pipes, in
/// `cwd`, in a session of its own (so its process group can be signalled
/// as a PTY session's is).
///
/// Errors: no such command, no such directory, the process cannot start.
pub(crate) fn spawn(
    run: &SlotConfig,
    extra: &[String],
    cwd: Option<PathBuf>,
) -> anyhow::Result<Child> {
    find_program(run)?;
    let cwd = cwd.ok_or_else(|| anyhow::anyhow!("no working directory"))?;
    if !cwd.is_dir() {
        anyhow::bail!("working directory {} does not exist", cwd.display());
    }
    let mut cmd = Command::new(run.command.get_ref());
    cmd.args(&run.args)
        .args(extra)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for k in [
        "TMUX",
        "TMUX_PANE",
        "TERM_PROGRAM",
        "TERM_PROGRAM_VERSION",
        "COLUMNS",
        "LINES",
    ] {
        cmd.env_remove(k);
    }
    // The agent has no terminal: it must not draw one.
    cmd.env("TERM", "dumb");
    cmd.env("CORRAL_SLOT", run.id.get_ref());
    for (k, v) in &run.env {
        cmd.env(k, v);
    }
    // SAFETY: setsid(2) is async-signal-safe and touches no memory of ours.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::setsid();
            Ok(())
        });
    }
    Ok(cmd.spawn()?)
}

/// A slot's protocol log: every line both ways, one JSON object per line
/// (`{"at":MS,"from":"agent"|"corral","msg":LINE}`, `text` instead of `msg`
/// for a line that is not JSON), in `<dir>/<slot>.protocol.jsonl`, rotated
/// like transcripts. Shared by the reader thread and the manager.
#[derive(Clone)]
pub(crate) struct ProtocolLog(Arc<Mutex<Option<Transcript>>>);

impl ProtocolLog {
    /// Opens slot `id`'s log in `dir` (`None`: no log is kept).
    pub(crate) fn open(dir: Option<&Path>, id: &str, max: u64) -> ProtocolLog {
        let t = dir.and_then(|d| {
            Transcript::open_file(d, &format!("{id}.protocol.jsonl"), max)
                .map_err(|e| tracing::warn!(slot = id, "protocol log: {e}"))
                .ok()
        });
        ProtocolLog(Arc::new(Mutex::new(t)))
    }

    /// Appends `line` (without its newline) as sent `from` the agent or
    /// corral.
    pub(crate) fn write(&self, from: &str, line: &[u8]) {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let Some(t) = g.as_mut() else { return };
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let text = String::from_utf8_lossy(line);
        let text = text.trim_end_matches(['\r', '\n']);
        let entry = match serde_json::from_str::<serde_json::Value>(text) {
            Ok(_) => format!("{{\"at\":{at},\"from\":\"{from}\",\"msg\":{text}}}\n"),
            Err(_) => format!(
                "{{\"at\":{at},\"from\":\"{from}\",\"text\":{}}}\n",
                serde_json::Value::String(text.to_string())
            ),
        };
        if let Err(e) = t.write(entry.as_bytes()) {
            tracing::warn!("protocol log: {e}; no longer written");
            *g = None;
        }
    }
}

/// Reads one line of `transport` from the agent.
pub(crate) fn read_line(transport: Transport, line: &[u8]) -> AgentLine {
    let text = String::from_utf8_lossy(line);
    let text = text.trim_end_matches(['\r', '\n']);
    if !text.trim_start().starts_with('{') {
        return AgentLine::Text(text.to_string());
    }
    let parsed = match transport {
        Transport::StreamJson | Transport::Pty => stream_json::parse(text),
        Transport::Acp => {
            return match serde_json::from_str(text) {
                Ok(v) => AgentLine::Rpc(v),
                Err(e) => AgentLine::Bad(format!("not JSON: {e}")),
            };
        }
    };
    match parsed {
        Ok(m) => AgentLine::Msgs(m),
        Err(e) => AgentLine::Bad(e.to_string()),
    }
}

/// Splits what `r` gives into lines of at most `max` bytes and hands each
/// to `each` (an over-long line as `Err(its length so far)`, once); returns
/// at the end of the stream or when `each` says stop.
pub(crate) fn lines(
    mut r: impl Read,
    max: usize,
    mut each: impl FnMut(Result<&[u8], usize>) -> bool,
) {
    let mut buf = vec![0u8; 64 << 10];
    let mut line: Vec<u8> = Vec::new();
    let mut skipping: Option<usize> = None;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            let nl = rest.iter().position(|b| *b == b'\n');
            let (part, after) = match nl {
                Some(i) => (&rest[..i], Some(&rest[i + 1..])),
                None => (rest, None),
            };
            match &mut skipping {
                Some(len) => *len += part.len(),
                None if line.len() + part.len() > max => {
                    let len = line.len() + part.len();
                    line.clear();
                    if !each(Err(len)) {
                        return;
                    }
                    skipping = Some(len);
                }
                None => line.extend_from_slice(part),
            }
            match after {
                Some(a) => {
                    if skipping.take().is_none() && !each(Ok(&line)) {
                        return;
                    }
                    line.clear();
                    rest = a;
                }
                None => rest = &[],
            }
        }
    }
    if skipping.is_none() && !line.is_empty() {
        each(Ok(&line));
    }
}

/// Starts the reader threads of a structured session of slot `slot`
/// (generation `generation`): its stdout read as `transport` into
/// [`Msg::Agent`]s and the log, its stderr into [`AgentLine::Stderr`].
///
/// Returns a receiver that disconnects once both readers have ended (their
/// pipes closed): the session's waiter waits on it, so an agent's last lines
/// (a request it sent as it died) reach the manager before its exit does.
#[allow(clippy::too_many_arguments)]
pub(crate) fn spawn_readers(
    id: &str,
    slot: SlotIdx,
    generation: u64,
    transport: Transport,
    stdout: ChildStdout,
    stderr: Option<ChildStderr>,
    mgr: Sender<Msg>,
    log: ProtocolLog,
) -> std::sync::mpsc::Receiver<()> {
    let (done, drained) = std::sync::mpsc::channel::<()>();
    let tx = mgr.clone();
    let done_out = done.clone();
    let _ = thread::Builder::new()
        .name(format!("proto-{id}"))
        .spawn(move || {
            let _done = done_out;
            lines(stdout, MAX_LINE_BYTES, |l| {
                let line = match l {
                    Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => return true,
                    Ok(bytes) => {
                        log.write("agent", bytes);
                        read_line(transport, bytes)
                    }
                    Err(len) => AgentLine::Bad(format!(
                        "a line longer than {} MiB was dropped ({len} bytes so far)",
                        MAX_LINE_BYTES >> 20
                    )),
                };
                tx.send(Msg::Agent {
                    slot,
                    generation,
                    line,
                })
                .is_ok()
            });
        });
    if let Some(err) = stderr {
        let _ = thread::Builder::new()
            .name(format!("stderr-{id}"))
            .spawn(move || {
                let _done = done;
                lines(err, MAX_STDERR_LINE, |l| {
                    let text = match l {
                        Ok(b) => String::from_utf8_lossy(b).into_owned(),
                        Err(len) => format!("(a stderr line of {len} bytes)"),
                    };
                    if text.trim().is_empty() {
                        return true;
                    }
                    mgr.send(Msg::Agent {
                        slot,
                        generation,
                        line: AgentLine::Stderr(text),
                    })
                    .is_ok()
                });
            });
    }
    drained
}

/// The writer of a structured session's stdin: lines go out in order on a
/// thread of their own, so an agent that stops reading never blocks the
/// manager.
pub(crate) struct ProtocolInput {
    tx: Sender<Vec<u8>>,
}

impl ProtocolInput {
    /// Starts the writer thread for `stdin`; every line is also logged.
    ///
    /// Errors: the thread cannot start.
    pub(crate) fn start(
        id: &str,
        mut stdin: std::process::ChildStdin,
        log: ProtocolLog,
    ) -> std::io::Result<ProtocolInput> {
        let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
        thread::Builder::new()
            .name(format!("proto-in-{id}"))
            .spawn(move || {
                for line in rx {
                    log.write("corral", &line);
                    if stdin.write_all(&line).and_then(|()| stdin.flush()).is_err() {
                        break;
                    }
                }
            })?;
        Ok(ProtocolInput { tx })
    }

    /// Queues `line` (newline included) for the agent.
    ///
    /// Errors: the writer ended (the agent closed its stdin).
    pub(crate) fn send(&self, line: Vec<u8>) -> Result<(), ()> {
        self.tx.send(line).map_err(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(input: &[u8], max: usize) -> Vec<Result<String, usize>> {
        let mut out = Vec::new();
        lines(input, max, |l| {
            out.push(l.map(|b| String::from_utf8_lossy(b).into_owned()));
            true
        });
        out
    }

    #[test]
    fn lines_are_split_and_an_over_long_one_is_dropped_once() {
        assert_eq!(
            split(b"a\nbb\n\nccc", 10),
            vec![
                Ok("a".into()),
                Ok("bb".into()),
                Ok("".into()),
                Ok("ccc".into())
            ]
        );
        let long = [b"ok\n".as_slice(), &[b'x'; 50], b"\nnext\n"].concat();
        let got = split(&long, 10);
        assert_eq!(got.len(), 3);
        assert!(matches!(got[1], Err(n) if n > 10));
        assert_eq!(got[2], Ok("next".into()));
    }

    #[test]
    fn a_line_is_text_bad_or_messages() {
        let t = Transport::StreamJson;
        assert_eq!(
            read_line(t, b"npm warn x"),
            AgentLine::Text("npm warn x".into())
        );
        assert!(matches!(read_line(t, b"{not json"), AgentLine::Bad(_)));
        assert!(matches!(
            read_line(t, br#"{"type":"system","subtype":"init","session_id":"s"}"#),
            AgentLine::Msgs(m) if m.len() == 1
        ));
    }
}
