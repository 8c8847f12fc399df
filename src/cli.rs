//! The command line: its flags and subcommands, logging, and the one-shot
//! subcommands (`audit`, `explain`, `policy test`, `hook`, `demo-agent`,
//! `ls`, `kill-server`, `server`). The full-screen client is
//! [`crate::client`], the server [`crate::server::host`].

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::{Config, ConfigError};
use crate::detect::{ScreenSnapshot, Timing, detect};
use crate::engine::Engine;
use crate::keymap::Keymap;
use crate::paths::Paths;
use crate::policy::Policy;
use crate::profile::Profiles;
mod ctl;

use ctl::{CtlCmd, ctl_request};

/// The command line: global flags, and a subcommand or none (the client).
#[derive(Parser, Debug)]
#[command(
    name = "corral",
    version,
    about = "Supervise AI coding agents in tiled terminal panes"
)]
pub struct Cli {
    /// Config file (default: config.toml in the config directory; without one,
    /// corral runs its built-in demo). `explain` and `policy test` read its
    /// `[[policy]]` rules.
    #[arg(long, value_name = "PATH", global = true)]
    config: Option<PathBuf>,
    /// Keymap file (default: keymap.toml in the config directory, if present).
    #[arg(long, value_name = "PATH")]
    keymap: Option<PathBuf>,
    /// Show one slot of the running server full-screen, in insert mode
    /// (starting the server if none runs).
    #[arg(long, value_name = "SLOT")]
    attach: Option<String>,
    /// The session: each has its own server, agents and socket (default:
    /// `default`; `ls` and `audit` without it show every session).
    #[arg(
        short = 's',
        long = "session",
        value_name = "NAME",
        env = "CORRAL_SESSION",
        global = true
    )]
    session_arg: Option<String>,
    /// The session's name: the one given, else `default`.
    #[arg(skip = String::from("default"))]
    session: String,
    /// Log level for the log file: error, warn, info, debug, trace.
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    log_level: String,
    /// Override the config directory.
    #[arg(long, value_name = "DIR", global = true)]
    config_dir: Option<PathBuf>,
    /// Override the data directory (audit log, transcripts, logs).
    #[arg(long, value_name = "DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// Override the log directory (default: logs/ in the data directory).
    #[arg(long, value_name = "DIR", global = true)]
    log_dir: Option<PathBuf>,
    /// Override the runtime directory that holds the socket agents' hooks
    /// reach corral by (default: $XDG_RUNTIME_DIR/corral).
    #[arg(long, value_name = "DIR", global = true)]
    runtime_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Sub>,
}

#[derive(Subcommand, Debug)]
enum Sub {
    /// The server of a session, started in the background by `corral`.
    #[command(hide = true)]
    Server {
        /// Each slot's first PTY size, `ROWSxCOLS` in slot order, comma
        /// separated (the starting client's pane sizes).
        #[arg(long, value_name = "SIZES")]
        pane_sizes: Option<String>,
    },
    /// List the running servers (sessions) with their slots and states.
    Ls,
    /// Stop a session's server: its agents get SIGHUP, then SIGKILL after a
    /// grace period.
    KillServer,
    /// A scripted Claude-Code-style agent for the demo and the tests.
    #[command(hide = true)]
    DemoAgent {
        /// Script: api, web or docs.
        #[arg(long, default_value = "api")]
        script: String,
        /// Length of one scripted time unit, in milliseconds.
        #[arg(long, default_value_t = 1000)]
        pace_ms: u64,
        /// Speak a structured protocol on stdin and stdout instead of
        /// drawing a screen: `stream-json` (Claude Code's JSON stream) or
        /// `acp` (the Agent Client Protocol).
        #[arg(long)]
        protocol: Option<crate::agent_protocol::Transport>,
        /// The conversation's id (as Claude Code's `--session-id`).
        #[arg(long, value_name = "ID")]
        session_id: Option<String>,
        /// Resume conversation ID (as Claude Code's `--resume`).
        #[arg(long, value_name = "ID")]
        resume: Option<String>,
    },
    /// An agent's permission hook, installed by corral for one session: it
    /// forwards the agent's request on stdin to corral and prints corral's
    /// decision. When corral is not reachable, or the person answers in the
    /// pane, it prints nothing and exits 0, and the dialog stays for the
    /// person.
    #[command(hide = true)]
    Hook {
        /// corral's socket.
        #[arg(long, value_name = "PATH")]
        socket: PathBuf,
        /// The slot the agent runs in.
        #[arg(long)]
        slot: String,
        /// The session generation the hook was installed for.
        #[arg(long)]
        generation: u64,
        /// The session's secret.
        #[arg(long)]
        token: String,
        /// What the agent writes and reads (`claude-permission-request`).
        #[arg(long, value_parser = parse_protocol)]
        protocol: crate::proto::HookProtocol,
    },
    /// Run a command as a sandboxed slot runs its agent: it, and everything
    /// it starts, may write only beneath the `--write` paths, ttys and
    /// `/dev/null` (Linux Landlock; reading and the network stay open).
    /// Exits 126 when it cannot confine, else as the command does.
    Sandbox {
        /// A directory (everything beneath it) or file it may write; repeat.
        #[arg(long, value_name = "PATH")]
        write: Vec<PathBuf>,
        /// Run the command unconfined (saying so) where Landlock is missing.
        #[arg(long)]
        if_available: bool,
        /// Let it open terminals of its own (`/dev/pts`, which also holds
        /// the user's other terminals); else only the one it runs on.
        #[arg(long)]
        ptys: bool,
        /// The command and its arguments.
        #[arg(required = true, last = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Parses a shell command from standard input as the policy does and
    /// exits 0 (the server runs it under hard limits first: see
    /// `server::probe`).
    #[command(hide = true)]
    ParseProbe,
    /// Print the audit log: every answer (manual and automatic), every refusal
    /// and every prompt that vanished unanswered.
    Audit {
        /// One JSON object per line, as stored.
        #[arg(long)]
        json: bool,
        /// Only entries at or after this time: RFC 3339, or an age such as
        /// `30m`, `2h`, `1d`.
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
        /// Only this slot.
        #[arg(long, value_name = "SLOT")]
        slot: Option<String>,
    },
    /// Show what an agent profile detects on a screen: the state, the rule
    /// that matched, the evidence lines and the extracted prompt.
    Explain {
        /// The agent profile (claude, codex, gemini, aider, generic, or a
        /// user profile).
        #[arg(long)]
        agent: String,
        /// A screen capture as text (`.txt`), with escapes (`.ansi`), or a raw
        /// PTY recording (`.raw`, replayed through the terminal engine).
        file: PathBuf,
        /// Screen width in cells (default: `@<cols>` in the file name, else
        /// the widest row of a text capture, else 120).
        #[arg(long)]
        cols: Option<u16>,
        /// Screen height in cells for `.raw` (default 40).
        #[arg(long, default_value_t = 40)]
        rows: u16,
        /// Replay only the first N bytes of a `.raw` recording.
        #[arg(long)]
        bytes: Option<usize>,
        /// The window title at capture time (the engine reads it from `.raw`).
        #[arg(long, default_value = "")]
        title: String,
        /// Milliseconds since the program's last output (for time-based
        /// rules; default: no output seen).
        #[arg(long)]
        since_output_ms: Option<u64>,
    },
    /// Policy tools: `corral policy test -- COMMAND`.
    Policy {
        /// What to do.
        #[command(subcommand)]
        cmd: PolicyCmd,
    },
    /// Serve the session to a browser or a phone: the slots, their panes and
    /// the inbox, answers from anywhere. Prints the URL to open (with its
    /// token) on its first line, then a QR code of it.
    Web {
        /// Address to listen on. Anything but loopback needs TLS or
        /// --insecure-http.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8421")]
        listen: std::net::SocketAddr,
        /// TLS certificate chain (PEM): serve HTTPS (with --tls-key).
        #[arg(long, value_name = "PATH", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// TLS private key (PEM).
        #[arg(long, value_name = "PATH", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Serve plain HTTP on an address other than loopback (the page
        /// warns: tokens and answers cross the network in the clear).
        #[arg(long)]
        insecure_http: bool,
        /// The token's name, in the audit log (`by: web`).
        #[arg(long, default_value = "web")]
        name: String,
        /// The token may watch, not type or answer.
        #[arg(long)]
        read_only: bool,
        /// The URL people reach this gateway by (a reverse proxy or a DNS
        /// name), for the printed URL and the Host check.
        #[arg(long, value_name = "URL")]
        public_url: Option<String>,
        /// Do not print the QR code.
        #[arg(long)]
        no_qr: bool,
        /// End the web token NAME (or every one) and its logins, and exit.
        #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "")]
        revoke: Option<String>,
        /// Print the JSON schema of the web API's messages, and exit.
        #[arg(long)]
        schema: bool,
    },
    /// Drive a running session from scripts: list, screen, send, prompt,
    /// wait, answer, restart, kill, interrupt, events, stats, explain.
    /// Exits 0 on success, 1 on a runtime failure (no server, no such slot,
    /// a timeout), 2 on a usage error.
    Ctl {
        /// Print the server's JSON reply (for `events`, one object per
        /// line) instead of text.
        #[arg(long, global = true)]
        json: bool,
        /// What to do.
        #[command(subcommand)]
        cmd: CtlCmd,
    },
}

/// `corral policy ...` subcommands.
#[derive(Subcommand, Debug)]
enum PolicyCmd {
    /// Show what the policy decides for one command: the verdict (first
    /// word), the reason, the simple commands parsed and the dangerous
    /// patterns hit.
    Test {
        /// Config file with `[[policy]]` and `[[dangerous]]` tables (default:
        /// config.toml in the config directory; without one, no rules).
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
        /// Agent profile name.
        #[arg(long)]
        agent: Option<String>,
        /// Slot id; a configured slot also gives the role, agent and cwd.
        #[arg(long, default_value = "")]
        slot: String,
        /// Slot role.
        #[arg(long)]
        role: Option<String>,
        /// Tool name.
        #[arg(long, default_value = "Bash")]
        tool: String,
        /// Working directory (default: the current one).
        #[arg(long, value_name = "DIR")]
        cwd: Option<PathBuf>,
        /// The command: its words joined by spaces (or one quoted string).
        #[arg(required = true, last = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
}

/// The directories, from the flags or the platform's defaults.
fn paths_of(cli: &Cli) -> anyhow::Result<Paths> {
    Paths::resolve(
        cli.config_dir.as_deref(),
        cli.data_dir.as_deref(),
        cli.log_dir.as_deref(),
        cli.runtime_dir.as_deref(),
    )
}

/// An error that exits with status 2 (usage or config).
struct UsageError(String);

fn parse_protocol(s: &str) -> Result<crate::proto::HookProtocol, String> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| format!("unknown hook protocol {s:?}"))
}

/// `corral hook`: forwards one request and prints the decision. Always
/// exits 0: a hook that fails must leave the dialog to the person, never
/// block or deny the agent by accident.
fn hook(
    socket: &std::path::Path,
    slot: &str,
    generation: u64,
    token: &str,
    protocol: crate::proto::HookProtocol,
) -> Option<String> {
    use crate::proto::{self, HookReply, HookRequest, PROTO_VERSION};
    use std::io::Read;
    let mut input = Vec::new();
    io::stdin()
        .lock()
        .take(proto::MAX_FRAME_BYTES as u64)
        .read_to_end(&mut input)
        .ok()?;
    let event: serde_json::Value = serde_json::from_slice(&input).ok()?;
    let mut stream = std::os::unix::net::UnixStream::connect(socket).ok()?;
    let req = HookRequest {
        v: PROTO_VERSION,
        slot: slot.to_string(),
        generation,
        token: token.to_string(),
        protocol,
        event,
    };
    proto::write_frame(&mut stream, &req).ok()?;
    // No timeout: the person may take minutes; the agent's own hook timeout
    // ends this process if it must.
    let mut r = io::BufReader::new(stream);
    let reply: HookReply = proto::read_frame(&mut r).ok()??;
    if reply.v != PROTO_VERSION || reply.error.is_some() {
        return None;
    }
    crate::agent_hook::render(protocol, reply.decision, reply.message.as_deref())
}

/// `corral sandbox`: confines this process to `write` (and ttys), then
/// becomes `command`. Exits 126 when it cannot confine (unless
/// `if_available`), 127 when the command cannot be run.
fn sandbox_exec(write: &[PathBuf], if_available: bool, ptys: bool, command: &[String]) -> ExitCode {
    use std::os::unix::process::CommandExt;
    let Some((program, args)) = command.split_first() else {
        eprintln!("corral sandbox: no command");
        return ExitCode::from(2);
    };
    let write: Vec<PathBuf> = write
        .iter()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
        .collect();
    match crate::sandbox::confine(&write, ptys) {
        Ok(_) => {}
        Err(crate::sandbox::SandboxError::Unavailable(why)) if if_available => {
            eprintln!("corral sandbox: NOT confined: {why}");
        }
        Err(e) => {
            eprintln!("corral sandbox: cannot confine: {e}");
            return ExitCode::from(126);
        }
    }
    let err = std::process::Command::new(program).args(args).exec();
    eprintln!("corral sandbox: cannot run {program}: {err}");
    ExitCode::from(127)
}

/// Runs what the command line asks for; the exit status: 0 ok, 1 runtime
/// failure, 2 usage or config error.
pub fn dispatch(mut cli: Cli) -> ExitCode {
    if let Some(s) = &cli.session_arg {
        cli.session = s.clone();
    }
    if let Some(Sub::DemoAgent {
        script,
        pace_ms,
        protocol,
        session_id,
        resume,
    }) = &cli.command
    {
        let run = match protocol {
            Some(crate::agent_protocol::Transport::StreamJson) => {
                crate::demo_stream::run(resume.clone().or_else(|| session_id.clone()))
            }
            Some(crate::agent_protocol::Transport::Acp) => crate::demo_acp::run(),
            Some(crate::agent_protocol::Transport::Pty) | None => {
                crate::demo::run(script, *pace_ms)
            }
        };
        return match run {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("corral demo-agent: {e:#}");
                ExitCode::from(2)
            }
        };
    }
    if let Some(Sub::Hook {
        socket,
        slot,
        generation,
        token,
        protocol,
    }) = &cli.command
    {
        if let Some(out) = hook(socket, slot, *generation, token, *protocol) {
            println!("{out}");
        }
        return ExitCode::SUCCESS;
    }
    if let Some(Sub::Sandbox {
        write,
        if_available,
        ptys,
        command,
    }) = &cli.command
    {
        // Before logging: no thread, no file, until the rules hold.
        return sandbox_exec(write, *if_available, *ptys, command);
    }
    if let Some(Sub::ParseProbe) = &cli.command {
        use std::io::Read;
        let mut text = String::new();
        let _ = io::stdin()
            .lock()
            .take(crate::policy::shell::MAX_TEXT_BYTES as u64 + 1)
            .read_to_string(&mut text);
        let _ = crate::policy::shell::parse(&text);
        return ExitCode::SUCCESS;
    }
    if let Some(Sub::Audit { json, since, slot }) = &cli.command {
        let session = cli.session_arg.as_deref();
        return match audit(&cli, *json, since.as_deref(), slot.as_deref(), session) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("corral audit: {e:#}");
                ExitCode::from(2)
            }
        };
    }
    if let Some(Sub::Policy { cmd }) = &cli.command {
        return match policy_test(&cli, cmd) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("corral policy: {e}");
                ExitCode::from(2)
            }
        };
    }
    if let Some(Sub::Explain { .. }) = &cli.command {
        return match explain(&cli) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("corral explain: {e:#}");
                ExitCode::from(2)
            }
        };
    }
    if let Some(Sub::Ctl { json, cmd }) = &cli.command {
        if let CtlCmd::Schema = cmd {
            let schema = crate::proto::ctl::schema();
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            );
            return ExitCode::SUCCESS;
        }
        let request = match ctl_request(cmd) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("corral ctl: {e}");
                return ExitCode::from(2);
            }
        };
        if let Err(e) = crate::server::host::check_session_name(&cli.session) {
            eprintln!("corral ctl: {e}");
            return ExitCode::from(2);
        }
        let paths = match paths_of(&cli) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("corral ctl: {e:#}");
                return ExitCode::from(2);
            }
        };
        let socket = crate::server::host::socket_path(&paths.runtime_dir, &cli.session);
        let mut out = std::io::stdout().lock();
        return match crate::client::ctl::run(&socket, &cli.session, request, *json, &mut out) {
            Ok(()) => ExitCode::SUCCESS,
            Err(crate::client::ctl::CtlError::Usage(e)) => {
                eprintln!("corral ctl: {e}");
                ExitCode::from(2)
            }
            Err(crate::client::ctl::CtlError::Failed(e)) => {
                eprintln!("corral ctl: {e}");
                ExitCode::from(1)
            }
        };
    }
    if let Some(Sub::Web { .. }) = &cli.command {
        return web(&cli);
    }
    if let Some(Sub::Ls) = &cli.command {
        let only = cli.session_arg.as_deref();
        return match paths_of(&cli).and_then(|p| crate::client::admin::list(&p.runtime_dir, only)) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("corral ls: {e:#}");
                ExitCode::from(1)
            }
        };
    }
    if let Some(Sub::KillServer) = &cli.command {
        let done =
            paths_of(&cli).and_then(|p| crate::client::admin::kill(&p.runtime_dir, &cli.session));
        return match done {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("corral kill-server: {e:#}");
                ExitCode::from(1)
            }
        };
    }
    if let Some(Sub::Server { .. }) = &cli.command {
        return match server(&cli) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("corral server: {e:#}");
                ExitCode::from(1)
            }
        };
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => match e.downcast::<UsageError>() {
            Ok(u) => {
                eprintln!("corral: {}", u.0);
                ExitCode::from(2)
            }
            Err(e) => {
                eprintln!("corral: {e:#}");
                ExitCode::from(1)
            }
        },
    }
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::fmt::Debug for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for UsageError {}
impl From<ConfigError> for UsageError {
    fn from(e: ConfigError) -> Self {
        UsageError(e.to_string())
    }
}

/// Log lines a process may have waiting for its log file.
const LOG_QUEUE_LINES: usize = 1024;

fn init_logging(
    paths: &Paths,
    level: &str,
    file: &str,
) -> anyhow::Result<tracing_appender::non_blocking::WorkerGuard> {
    std::fs::create_dir_all(&paths.log_dir)
        .with_context(|| format!("creating log directory {}", paths.log_dir.display()))?;
    let filter: tracing_subscriber::filter::LevelFilter = level.parse().map_err(|_| {
        UsageError(format!(
            "--log-level {level:?}: use off, error, warn, info, debug or trace"
        ))
    })?;
    let appender = tracing_appender::rolling::RollingFileAppender::builder()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix(file)
        .build(&paths.log_dir)
        .with_context(|| format!("creating log file {}", paths.log_dir.join(file).display()))?;
    // A short queue: the default (128,000 lines) preallocates 4 MiB in every
    // corral process; a log this far behind drops lines (counted) rather
    // than hold up the session.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(LOG_QUEUE_LINES)
        .lossy(true)
        .finish(appender);
    tracing_subscriber::fmt()
        .with_max_level(filter)
        .with_writer(writer)
        .with_ansi(false)
        .init();
    Ok(guard)
}

/// Loads config and keymap; `Ok((config, is_demo))`.
fn load_config(cli: &Cli, paths: &Paths) -> Result<(Config, bool), UsageError> {
    let path = cli.config.clone().unwrap_or_else(|| paths.config_file());
    if cli.config.is_some() || path.exists() {
        return Ok((Config::load(&path)?, false));
    }
    let exe = std::env::current_exe()
        .map_err(|e| UsageError(format!("cannot find corral's own executable: {e}")))?;
    let shell = std::env::var("SHELL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/bin/sh".into());
    Ok((Config::demo(&exe, &shell)?, true))
}

fn load_keymap(cli: &Cli, paths: &Paths) -> Result<Keymap, UsageError> {
    let path = cli.keymap.clone().unwrap_or_else(|| paths.keymap_file());
    if cli.keymap.is_some() || path.exists() {
        let src = std::fs::read_to_string(&path)
            .map_err(|e| UsageError(format!("{}: cannot read: {e}", path.display())))?;
        return Ok(Keymap::load(Some((&path, &src)))?);
    }
    Ok(Keymap::default_keymap()?)
}

/// `corral policy test`: the policy report for one command.
fn policy_test(cli: &Cli, cmd: &PolicyCmd) -> Result<String, UsageError> {
    let PolicyCmd::Test {
        config,
        agent,
        slot,
        role,
        tool,
        cwd,
        command,
    } = cmd;
    let path = match config.clone().or_else(|| cli.config.clone()) {
        Some(p) => Some(p),
        None => {
            let paths = paths_of(cli).map_err(|e| UsageError(e.to_string()))?;
            Some(paths.config_file()).filter(|p| p.exists())
        }
    };
    let cfg = path.map(|p| Config::load_policy(&p)).transpose()?;
    let policy = cfg
        .as_ref()
        .map(|c| {
            Policy::with_programs(c.policy.clone(), c.dangerous.clone(), &c.programs)
                .map_err(|e| UsageError(format!("[[program]]: {e}")))
        })
        .transpose()?
        .unwrap_or_default();
    let slot_cfg = cfg
        .as_ref()
        .and_then(|c| c.slot_index(slot).map(|i| &c.slots[i]));
    let here =
        std::env::current_dir().map_err(|e| UsageError(format!("current directory: {e}")))?;
    // An explicit flag wins over the slot's config.
    let cwd = match (cwd, slot_cfg.and_then(|s| s.cwd.as_ref())) {
        (Some(c), _) => here.join(c),
        (None, Some(c)) => match (c.strip_prefix("~"), std::env::var_os("HOME")) {
            (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
            _ => here.join(c),
        },
        (None, None) => here,
    };
    let role = role
        .clone()
        .or_else(|| slot_cfg.map(|s| s.role.clone()))
        .unwrap_or_default();
    let agent = agent
        .clone()
        .filter(|a| !a.is_empty())
        .or_else(|| slot_cfg.map(|s| s.agent.get_ref().clone()))
        .unwrap_or_default();
    let subject = command.join(" ");
    let s = crate::policy::Subject {
        cwd: Some(&cwd),
        ..crate::policy::Subject::new(slot, &role, &agent, tool, &subject)
    };
    Ok(crate::policy::report(&policy, &s))
}

/// Parses `--since`: RFC 3339, or an age (`90s`, `30m`, `2h`, `1d`).
fn since_cutoff(s: &str) -> anyhow::Result<time::OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t);
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| anyhow::anyhow!("--since {s:?}: give RFC 3339 or an age like 30m, 2h, 1d"))?;
    let secs = match unit {
        "s" | "" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        _ => anyhow::bail!("--since {s:?}: unit must be s, m, h or d"),
    };
    Ok(time::OffsetDateTime::now_utc() - time::Duration::seconds(secs))
}

/// `corral audit`: the audit log as a table or JSON lines; `session`: only
/// that session's entries (`-s`), else every session's with a SESSION
/// column (entries of a corral before sessions were recorded have none).
fn audit(
    cli: &Cli,
    json: bool,
    since: Option<&str>,
    slot: Option<&str>,
    session: Option<&str>,
) -> anyhow::Result<String> {
    use time::format_description::well_known::Rfc3339;
    let paths = paths_of(cli)?;
    let file = paths.audit_file();
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(anyhow::anyhow!("{}: {e}", file.display())),
    };
    let cutoff = since.map(since_cutoff).transpose()?;
    let mut out = String::new();
    if !json {
        if session.is_none() {
            out.push_str(&format!("{:<12} ", "SESSION"));
        }
        out.push_str(&format!(
            "{:<20} {:<10} {:<8} {:<8} {:<36} {:<15} {:<22} {}\n",
            "TIME", "SLOT", "AGENT", "TOOL", "SUBJECT", "ANSWER", "BY", "RESULT"
        ));
    }
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let field = |k: &str| v[k].as_str().unwrap_or("").to_string();
        if slot.is_some_and(|s| field("slot") != s) {
            continue;
        }
        if session.is_some_and(|s| v["session"].as_str() != Some(s)) {
            continue;
        }
        if let Some(c) = cutoff {
            match time::OffsetDateTime::parse(&field("time"), &Rfc3339) {
                Ok(t) if t >= c => {}
                _ => continue,
            }
        }
        if json {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let by = match (v["by"]["source"].as_str(), v["by"]["detail"].as_str()) {
            (Some("policy"), Some(d)) => format!("rule {d}"),
            (Some("keyboard"), Some(d)) => format!("key {d}"),
            (Some(s), _) => s.to_string(),
            _ => String::new(),
        };
        let mut subject = field("subject");
        if subject.chars().count() > 36 {
            subject = subject.chars().take(35).collect::<String>() + "…";
        }
        let result = match v["reason"].as_str() {
            Some(r) => format!("{} ({r})", field("result")),
            None => field("result"),
        };
        if session.is_none() {
            out.push_str(&format!("{:<12} ", field("session")));
        }
        out.push_str(&format!(
            "{:<20} {:<10} {:<8} {:<8} {:<36} {:<15} {:<22} {}\n",
            field("time")
                .chars()
                .take(19)
                .collect::<String>()
                .replace('T', " "),
            field("slot"),
            field("agent"),
            field("tool"),
            subject,
            field("answer"),
            by,
            result
        ));
    }
    Ok(out)
}

fn load_profiles(paths: &Paths) -> Result<Profiles, UsageError> {
    Ok(Profiles::load(Some(&paths.profile_dir()))?)
}

/// `corral explain`: detection on a capture file, as text.
fn explain(cli: &Cli) -> anyhow::Result<String> {
    let Some(Sub::Explain {
        agent,
        file,
        cols,
        rows,
        bytes,
        title,
        since_output_ms,
    }) = &cli.command
    else {
        anyhow::bail!("not an explain command");
    };
    let paths = paths_of(cli)?;
    let profiles = Profiles::load(Some(&paths.profile_dir()))?;
    let profile = profiles.get(agent).ok_or_else(|| {
        anyhow::anyhow!(
            "unknown agent {agent:?} (known: {})",
            profiles.names().join(", ")
        )
    })?;
    let data = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
    // Agents wrap to the width they were given: take it from the flag, or
    // from a capture's name (`…@60x30.txt`, `…@80.raw`).
    let named_cols = file
        .file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.rsplit_once('@'))
        .and_then(|(_, size)| size.split('x').next().and_then(|c| c.parse::<u16>().ok()));
    let cols_given = cols.or(named_cols);
    let cols = &cols_given.unwrap_or(120);
    let snap = match ext {
        "raw" | "ansi" => {
            let mut bytes_in = data;
            if let Some(n) = bytes {
                bytes_in.truncate(*n);
            }
            let (r, feed) = if ext == "ansi" {
                let text = String::from_utf8_lossy(&bytes_in).into_owned();
                let lines = text.lines().count().max(1) as u16;
                let body = text.trim_end_matches('\n').replace('\n', "\r\n");
                (lines, body.into_bytes())
            } else {
                (*rows, bytes_in)
            };
            let mut e = Engine::new(r, *cols, 0);
            e.process(&feed);
            let mut snap = e.snapshot();
            if !title.is_empty() {
                snap.title = title.clone();
            }
            snap
        }
        _ => {
            let text = String::from_utf8_lossy(&data).into_owned();
            let widest = text
                .lines()
                .map(unicode_width::UnicodeWidthStr::width)
                .max()
                .unwrap_or(80);
            let width = cols_given.unwrap_or(u16::try_from(widest).unwrap_or(u16::MAX));
            ScreenSnapshot::from_text(&text, width, title)
        }
    };
    let d = detect(
        &profile,
        &snap,
        Timing {
            since_output_ms: *since_output_ms,
        },
    );
    let mut out = crate::detect::explain(&profile, &d);
    // With a config: what its rules would do with this prompt.
    if let (Some(path), Some(p)) = (&cli.config, &d.prompt) {
        let config = Config::load_policy(path).map_err(|e| UsageError(e.to_string()))?;
        let policy = Policy::with_programs(
            config.policy.clone(),
            config.dangerous.clone(),
            &config.programs,
        )
        .map_err(|e| UsageError(format!("[[program]]: {e}")))?;
        let cwd = std::env::current_dir().ok();
        let incomplete = p.incomplete.map(|i| i.to_string());
        let dialog = p.dialog.join("\n");
        let mut subject = crate::policy::Subject::new("", "", &profile.name, &p.tool, &p.subject);
        subject.cwd = cwd.as_deref();
        subject.dialog = &dialog;
        subject.incomplete = incomplete.as_deref();
        let decision = policy.decide(&subject);
        out.push_str(&format!(
            "policy: {} {}\n",
            decision.verdict.name(),
            decision.reason
        ));
    }
    Ok(out)
}

/// `corral server`: runs the session's server; says `ready` (or `error:
/// ...`) on one line of standard output once its socket takes clients, then
/// lets go of standard output.
fn server(cli: &Cli) -> anyhow::Result<()> {
    use std::io::Write;
    let say = |line: &str| {
        let mut out = io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    let started = (|| -> anyhow::Result<_> {
        crate::server::host::check_session_name(&cli.session).map_err(UsageError)?;
        let paths = paths_of(cli)?;
        let (config, _) = load_config(cli, &paths)?;
        let profiles = load_profiles(&paths)?;
        config
            .check_agents(&profiles.names())
            .map_err(UsageError::from)?;
        config.check_worktrees().map_err(UsageError::from)?;
        Ok((paths, config, profiles))
    })();
    let (paths, config, profiles) = match started {
        Ok(s) => s,
        Err(e) => {
            // A config or profile error is the user's to fix: the client
            // that started this server exits 2 with it.
            let line = match e.downcast_ref::<UsageError>() {
                Some(u) => format!("usage-error: {}", u.0),
                None => format!("error: {e:#}"),
            };
            say(&line.replace('\n', " "));
            return Err(e);
        }
    };
    let _log_guard = match init_logging(
        &paths,
        &cli.log_level,
        &format!("server-{}.log", cli.session),
    ) {
        Ok(g) => g,
        Err(e) => {
            say(&format!("error: {e:#}"));
            return Err(e);
        }
    };
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        session = cli.session,
        "corral server starting"
    );
    crate::server::host::run(
        crate::server::host::ServerOptions {
            session: cli.session.clone(),
            config,
            profiles,
            paths,
            sizes: match &cli.command {
                Some(Sub::Server {
                    pane_sizes: Some(p),
                }) => p
                    .split(',')
                    .map(|rc| {
                        rc.split_once('x')
                            .and_then(|(r, c)| Some((r.parse().ok()?, c.parse().ok()?)))
                    })
                    .collect::<Option<Vec<(u16, u16)>>>()
                    .unwrap_or_default(),
                _ => Vec::new(),
            },
            exe: std::env::current_exe()
                .map_err(|e| tracing::warn!("no hooks: cannot find corral's own executable: {e}"))
                .ok(),
        },
        |r| {
            match r {
                Ok(()) => say("ready"),
                Err(e) => say(&format!("error: {e}")),
            }
            // Nobody reads it from now on: the log file has the rest.
            crate::server::host::release_stdout();
        },
    )
}

fn run(cli: Cli) -> anyhow::Result<()> {
    crate::server::host::check_session_name(&cli.session).map_err(UsageError)?;
    let paths = paths_of(&cli).map_err(|e| UsageError(e.to_string()))?;
    let (config, is_demo) = load_config(&cli, &paths)?;
    let keymap = load_keymap(&cli, &paths)?;
    // What the server would refuse, said here as well: with no terminal
    // (a script, a typo'd command) the config's error comes first.
    let profiles = load_profiles(&paths)?;
    config
        .check_agents(&profiles.names())
        .map_err(UsageError::from)?;
    config.check_worktrees().map_err(UsageError::from)?;
    drop(profiles);
    // A client that cannot write its log (a read-only home, a sandbox)
    // still runs; a bad --log-level is the user's to fix.
    let _log_guard = match init_logging(&paths, &cli.log_level, "corral.log") {
        Ok(g) => Some(g),
        Err(e) if e.downcast_ref::<UsageError>().is_some() => return Err(e),
        Err(e) => {
            eprintln!("corral: no log file: {e:#}");
            None
        }
    };
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        demo = is_demo,
        "corral starting"
    );

    let server_args = server_args(&cli, &paths);
    let session = cli.session.clone();
    let ended = crate::client::run(crate::client::Options {
        session: session.clone(),
        ui: config.ui.clone(),
        keymap,
        paths,
        attach: cli.attach.clone(),
        config_slots: config
            .slots
            .iter()
            .map(|s| s.id.get_ref().clone())
            .collect(),
        is_demo,
        config: config
            .origin
            .as_ref()
            .map(|(p, t)| crate::proto::ConfigId::of(p, t)),
        config_given: cli.config.is_some(),
        server_args,
    })
    .map_err(
        |e| match e.downcast::<crate::client::link::ConnectError>() {
            Ok(crate::client::link::ConnectError::Refused { why, usage: true }) => {
                UsageError(why).into()
            }
            Ok(other) => anyhow::Error::from(other),
            Err(e) => e,
        },
    )?;
    match ended {
        crate::client::Ended::Quit => {}
        crate::client::Ended::Detached => println!("[detached from session {session}]"),
        crate::client::Ended::ServerGone(why) if why == "quit by a client" => {
            println!("[session {session} was quit by another client]")
        }
        crate::client::Ended::ServerGone(why) => {
            anyhow::bail!("the server of session {session} stopped: {why}")
        }
    }
    Ok(())
}

/// The arguments a client gives the server it starts: the config and the
/// directories it was given, made absolute.
fn server_args(cli: &Cli, paths: &Paths) -> Vec<std::ffi::OsString> {
    let mut server_args: Vec<std::ffi::OsString> = Vec::new();
    if let Some(c) = &cli.config {
        server_args.push("--config".into());
        server_args.push(std::path::absolute(c).unwrap_or_else(|_| c.clone()).into());
    }
    for (flag, dir) in [
        ("--config-dir", &paths.config_dir),
        ("--data-dir", &paths.data_dir),
        ("--log-dir", &paths.log_dir),
        ("--runtime-dir", &paths.runtime_dir),
    ] {
        server_args.push(flag.into());
        server_args.push(
            std::path::absolute(dir)
                .unwrap_or_else(|_| dir.clone())
                .into(),
        );
    }
    server_args.push("--log-level".into());
    server_args.push(cli.log_level.clone().into());
    server_args
}

/// `corral web`.
fn web(cli: &Cli) -> ExitCode {
    let Some(Sub::Web {
        listen,
        tls_cert,
        tls_key,
        insecure_http,
        name,
        read_only,
        public_url,
        no_qr,
        revoke,
        schema,
    }) = &cli.command
    else {
        return ExitCode::from(2);
    };
    if *schema {
        let schema = crate::web::api::schema();
        println!(
            "{}",
            serde_json::to_string_pretty(&schema).unwrap_or_default()
        );
        return ExitCode::SUCCESS;
    }
    if let Err(e) = crate::server::host::check_session_name(&cli.session) {
        eprintln!("corral web: {e}");
        return ExitCode::from(2);
    }
    let paths = match paths_of(cli) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("corral web: {e:#}");
            return ExitCode::from(2);
        }
    };
    if let Some(which) = revoke {
        let name = (!which.is_empty()).then_some(which.as_str());
        return match crate::web::revoke(&paths, &cli.session, name) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("corral web: {e:#}");
                ExitCode::from(1)
            }
        };
    }
    let _log_guard = init_logging(&paths, &cli.log_level, "corral-web.log").ok();
    let o = crate::web::Options {
        session: cli.session.clone(),
        server_args: server_args(cli, &paths),
        paths,
        listen: *listen,
        tls: tls_cert.clone().zip(tls_key.clone()),
        insecure_http: *insecure_http,
        name: name.clone(),
        read_only: *read_only,
        public_url: public_url.clone(),
        qr: !*no_qr,
    };
    if let Err(e) = crate::web::check_listen(&o) {
        eprintln!("corral web: {e}");
        return ExitCode::from(2);
    }
    match crate::web::run(o) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("corral web: {e:#}");
            ExitCode::from(1)
        }
    }
}
