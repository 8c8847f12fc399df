//! The real-agent suite: Claude Code 2.1.329, Codex CLI 0.169.0, Gemini CLI
//! 0.61.0 and Aider 0.86.2 (installed by scripts/install-agents.sh into a
//! cache outside the repository) run together in one corral, each against
//! corral's mock LLM API on 127.0.0.1. For each: working, then
//! needs-permission with the right tool and subject, `y` and the command runs,
//! another prompt and `n` and it does not, `a` where the agent has an
//! approve-always (and the next identical request runs without a prompt), and
//! back to idle. Never skipped.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::Tui;
use support::agents::{self, AgentRun};

const LONG: Duration = Duration::from_secs(90);
const AGENTS: [&str; 4] = ["claude", "codex", "gemini", "aider"];

fn sidebar_state(screen: &str, slot: &str) -> String {
    screen
        .lines()
        .find_map(|l| {
            let inner: String = l.chars().skip(3).collect();
            // A sandboxed slot's id ends in `⊡`.
            inner
                .strip_prefix(slot)
                .map(|r| r.strip_prefix('⊡').unwrap_or(r))
                .filter(|r| r.starts_with(' '))
                .map(|r| r.to_string())
        })
        .unwrap_or_default()
}

/// Whether the inbox lists `slot`'s prompt for `tool` and `subject`, exact
/// or not (`Shell?`: Aider's subjects are never exact).
fn inbox_has(screen: &str, slot: &str, tool: &str, subject: &str) -> bool {
    let exact = format!("▶ {slot} {tool} {subject}");
    let unproven = format!("▶ {slot} {tool}? {subject}");
    screen
        .lines()
        .any(|l| l.contains(&exact) || (slot == "aider" && l.contains(&unproven)))
}

struct Suite {
    t: Tui,
    focus: usize,
    dir: PathBuf,
}

impl Suite {
    /// Moves focus to pane `i` of the 2x2 grid with h/j/k/l.
    fn focus(&mut self, i: usize) {
        let (r0, c0) = (self.focus / 2, self.focus % 2);
        let (r1, c1) = (i / 2, i % 2);
        let mut keys = String::new();
        for _ in c1..c0 {
            keys.push('h');
        }
        for _ in c0..c1 {
            keys.push('l');
        }
        for _ in r1..r0 {
            keys.push('k');
        }
        for _ in r0..r1 {
            keys.push('j');
        }
        self.t.send(keys.as_bytes());
        self.focus = i;
    }

    /// Types a message into pane `i` and submits it.
    fn ask(&mut self, i: usize, text: &str) {
        self.focus(i);
        self.t.send(b"i");
        self.t.wait_mode("INSERT", LONG);
        for c in text.chars() {
            let mut b = [0u8; 4];
            self.t.send(c.encode_utf8(&mut b).as_bytes());
            std::thread::sleep(Duration::from_millis(15));
        }
        self.t.wait_text(text, LONG);
        // Codex takes Enter right after fast typing as part of a paste.
        std::thread::sleep(Duration::from_millis(600));
        self.t.send(b"\r");
        self.t.send(b"\x1c");
        self.t.wait_mode("NORMAL", LONG);
    }

    fn wait_state(&self, slot: &str, state: &str) -> String {
        self.t.wait_for(&format!("{slot} {state}"), LONG, |s| {
            sidebar_state(s, slot).contains(state)
        })
    }

    fn wait_prompt(&self, slot: &str, tool: &str, subject: &str) {
        let s = self.t.wait_for(
            &format!("{slot}'s {tool} prompt for {subject}"),
            LONG,
            |s| inbox_has(s, slot, tool, subject),
        );
        assert!(sidebar_state(&s, slot).contains("PERMISSION"), "{s}");
    }

    fn audit(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.join("data/audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

fn exists(run: &AgentRun, file: &str) -> bool {
    run.cwd.join(file).exists()
}

/// How an agent's approve-always is exercised: the message that raises a
/// prompt with one, its tool, its subject and the file it writes.
struct Always {
    ask: &'static str,
    tool: &'static str,
    subject: &'static str,
    file: &'static str,
}

/// Works through one agent: approve, deny, approve-always (or its absence).
fn exercise(s: &mut Suite, i: usize, run: &AgentRun, tool: &str, always: Option<Always>) {
    let slot = run.agent.as_str();
    s.wait_state(slot, "idle");
    // 1. approve once: the command runs.
    s.ask(i, "corral:bash please");
    s.wait_state(slot, "working");
    s.wait_prompt(slot, tool, "echo hello > hello.txt");
    s.t.send(b"y");
    s.t.wait_for(&format!("{slot}: hello.txt"), LONG, |_| {
        exists(run, "hello.txt")
    });
    s.wait_state(slot, "idle");
    // 2. deny: it does not.
    s.ask(i, "corral:bash2 please");
    s.wait_prompt(slot, tool, "echo second > second.txt");
    s.t.send(b"n");
    s.wait_state(slot, "idle");
    assert!(!exists(run, "second.txt"), "{slot}: a denied command ran");
    match always {
        Some(a) => {
            // 3. approve always; the next identical request runs unasked.
            s.ask(i, &format!("{} again", a.ask));
            s.wait_prompt(slot, a.tool, a.subject);
            s.t.send(b"a");
            s.t.wait_for(&format!("{slot}: {}", a.file), LONG, |_| {
                exists(run, a.file)
            });
            s.wait_state(slot, "idle");
            std::fs::remove_file(run.cwd.join(a.file)).unwrap_or_else(|e| panic!("{e}"));
            let before = s.audit().len();
            s.ask(i, &format!("{} once more", a.ask));
            s.t.wait_for(&format!("{slot}: {} again", a.file), LONG, |_| {
                exists(run, a.file)
            });
            s.wait_state(slot, "idle");
            assert_eq!(s.audit().len(), before, "{slot}: no answer was needed");
        }
        None => {
            // No approve-always: corral says so and sends nothing.
            s.ask(i, "corral:bash2 again");
            s.wait_prompt(slot, tool, "echo second > second.txt");
            s.t.send(b"a");
            s.t.wait_text("nothing sent to", LONG);
            let refused = s.audit();
            assert!(
                refused.iter().any(|a| a["result"] == "refused"
                    && a["reason"]
                        .as_str()
                        .is_some_and(|r| r.contains("no approve-always"))),
                "{slot}: {refused:#?}"
            );
            s.t.send(b"n");
            s.wait_state(slot, "idle");
            assert!(!exists(run, "second.txt"), "{slot}: a denied command ran");
        }
    }
}

#[test]
fn four_real_agents_in_one_corral() {
    let dir = support::tempdir();
    let mock = agents::start_mock(dir.path(), 1500);
    let runs: Vec<AgentRun> = AGENTS
        .iter()
        .map(|a| agents::setup(a, &dir.path().join(a), mock.port))
        .collect();
    let config: String = runs
        .iter()
        .map(|r| r.slot_toml(&r.agent))
        .collect::<Vec<_>>()
        .join("\n");
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, config).unwrap_or_else(|e| panic!("{e}"));
    let cfg_s = cfg.to_string_lossy().into_owned();
    let t = Tui::corral(&["--config", &cfg_s], 64, 200, dir.path());
    let mut s = Suite {
        t,
        focus: 0,
        dir: dir.path().to_path_buf(),
    };
    for a in AGENTS {
        s.wait_state(a, "idle");
    }
    // Codex must not have exited at start-up (corral answers its cursor query).
    let screen = s.t.text();
    assert!(
        !sidebar_state(&screen, "codex").contains("exited"),
        "{screen}"
    );
    let bash2 = Always {
        ask: "corral:bash2",
        tool: "Shell",
        subject: "echo second > second.txt",
        file: "second.txt",
    };
    // Claude's Bash "2" only grants directory access; its approve-always is
    // "switch to accept edits" on a file write.
    let claude_always = Always {
        ask: "corral:write",
        tool: "Write",
        subject: "notes.txt",
        file: "notes.txt",
    };
    // CORRAL_SUITE_ONLY=aider narrows a local run to one agent (CI runs all).
    let only = std::env::var("CORRAL_SUITE_ONLY").unwrap_or_default();
    let run = |a: &str| only.is_empty() || only == a;
    if run("claude") {
        exercise(&mut s, 0, &runs[0], "Bash", Some(claude_always));
    }
    if run("codex") {
        exercise(&mut s, 1, &runs[1], "Shell", Some(Always { ..bash2 }));
    }
    if run("gemini") {
        exercise(&mut s, 2, &runs[2], "Shell", Some(bash2));
    }
    if run("aider") {
        exercise(&mut s, 3, &runs[3], "Shell", None);
    }
    let audit = s.audit();
    assert!(
        audit.iter().all(|a| a["result"] == "sent"
            || a["reason"]
                .as_str()
                .is_some_and(|r| r.contains("approve-always"))),
        "{audit:?}"
    );
    let _ = Path::new("");
}

/// Codex, Gemini CLI and Aider each complete a turn that writes a file, in
/// sandboxed slots (`[sandbox] default = true`): their own state, temporary
/// files and hooks work inside the sandbox, and the slot says it is
/// confined.
#[test]
fn three_real_agents_work_in_a_sandbox() {
    let dir = support::tempdir();
    let mock = agents::start_mock(dir.path(), 800);
    let names = ["codex", "gemini", "aider"];
    let runs: Vec<AgentRun> = names
        .iter()
        .map(|a| agents::setup(a, &dir.path().join(a), mock.port))
        .collect();
    let config: String = std::iter::once("[sandbox]\ndefault = true\n".to_string())
        .chain(runs.iter().map(|r| r.slot_toml(&r.agent)))
        .collect::<Vec<_>>()
        .join("\n");
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, config).unwrap_or_else(|e| panic!("{e}"));
    let cfg_s = cfg.to_string_lossy().into_owned();
    let t = Tui::corral(&["--config", &cfg_s], 64, 200, dir.path());
    let mut s = Suite {
        t,
        focus: 0,
        dir: dir.path().to_path_buf(),
    };
    let only = std::env::var("CORRAL_SUITE_ONLY").unwrap_or_default();
    for (i, run) in runs.iter().enumerate() {
        let slot = run.agent.as_str();
        if !only.is_empty() && only != slot {
            continue;
        }
        s.wait_state(slot, "idle");
        let listed = support::ctl(dir.path(), &["--json", "list"]).1;
        let v: serde_json::Value = serde_json::from_str(listed.trim()).unwrap_or_default();
        let me = v["slots"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["id"] == slot).cloned())
            .unwrap_or_default();
        assert_eq!(me["sandbox"]["state"], "confined", "{slot}: {me}");
        s.ask(i, "corral:bash please");
        s.wait_prompt(slot, "Shell", "echo hello > hello.txt");
        s.t.send(b"y");
        s.t.wait_for(&format!("{slot}: hello.txt"), LONG, |_| {
            exists(run, "hello.txt")
        });
        s.wait_state(slot, "idle");
        let screen = s.t.text();
        assert!(!sidebar_state(&screen, slot).contains("exited"), "{screen}");
    }
    let audit = s.audit();
    assert!(
        audit
            .iter()
            .filter(|a| a["result"] == "sent")
            .all(|a| a["sandbox"]["state"] == "confined"),
        "{audit:#?}"
    );
}

/// `corral ctl` drives each real agent: `ctl prompt` returns with its
/// permission prompt (tool and exact command), `ctl answer` approves it,
/// `ctl wait` returns once the agent is idle again, and the audit names
/// ctl.
#[test]
fn ctl_drives_four_real_agents() {
    let dir = support::tempdir();
    let h = dir.path();
    let mock = agents::start_mock(h, 300);
    let runs: Vec<AgentRun> = AGENTS
        .iter()
        .map(|a| agents::setup(a, &h.join(a), mock.port))
        .collect();
    let config: String = runs
        .iter()
        .map(|r| r.slot_toml(&r.agent))
        .collect::<Vec<_>>()
        .join("\n");
    let cfg = h.join("config.toml");
    std::fs::write(&cfg, config).unwrap_or_else(|e| panic!("{e}"));
    let cfg_s = cfg.to_string_lossy().into_owned();
    let _t = Tui::corral(&["--config", &cfg_s], 64, 200, h);
    support::wait_until("the server up", LONG, || support::ctl(h, &["list"]).0 == 0);
    let only = std::env::var("CORRAL_SUITE_ONLY").unwrap_or_default();
    let secs = LONG.as_secs().to_string();
    for (run, tool) in runs.iter().zip(["Bash", "Shell", "Shell", "Shell"]) {
        let slot = run.agent.as_str();
        if !only.is_empty() && only != slot {
            continue;
        }
        let (code, _, err) =
            support::ctl(h, &["wait", slot, "--state", "idle", "--timeout", &secs]);
        assert_eq!(code, 0, "{slot}: {err}");
        let (code, out, err) = support::ctl(
            h,
            &[
                "prompt",
                slot,
                "mock:bash please",
                "--wait",
                "needs-permission",
                "--timeout",
                &secs,
                "--json",
            ],
        );
        assert_eq!(
            code,
            0,
            "{slot}: {err}\n{}",
            support::ctl(h, &["screen", slot]).1
        );
        let reached: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{slot}: {e}: {out}"));
        assert_eq!(reached["prompt"]["tool"], tool, "{slot}: {out}");
        assert_eq!(
            reached["prompt"]["subject"], "echo hello > hello.txt",
            "{slot}: {out}"
        );
        // Aider's subject is never exact (the model's text reaches its
        // screen with its escapes): a script cannot approve it, only deny.
        if slot == "aider" {
            assert!(reached["prompt"]["incomplete"] == "unprovable", "{out}");
            let (code, _, err) = support::ctl(h, &["answer", slot, "approve-once"]);
            assert_eq!(code, 1, "{err}");
            assert!(err.contains("cannot prove what runs"), "{err}");
            let (code, _, err) = support::ctl(h, &["answer", slot, "deny"]);
            assert_eq!(code, 0, "{slot}: {err}");
            let (code, _, err) =
                support::ctl(h, &["wait", slot, "--state", "idle", "--timeout", &secs]);
            assert_eq!(code, 0, "{slot}: {err}");
            assert!(!exists(run, "hello.txt"), "a denied command ran");
            continue;
        }
        let (code, _, err) = support::ctl(h, &["answer", slot, "approve-once"]);
        assert_eq!(code, 0, "{slot}: {err}");
        let (code, _, err) =
            support::ctl(h, &["wait", slot, "--state", "idle", "--timeout", &secs]);
        assert_eq!(code, 0, "{slot}: {err}");
        support::wait_until(&format!("{slot}: hello.txt"), LONG, || {
            exists(run, "hello.txt")
        });
        let audit: Vec<serde_json::Value> = std::fs::read_to_string(h.join("data/audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        assert!(
            audit.iter().any(|a| a["slot"] == slot
                && a["by"]["source"] == "ctl"
                && a["answer"] == "approve-once"
                && a["result"] == "sent"),
            "{slot}: {audit:#?}"
        );
        // Claude Code's, Codex's and Gemini CLI's own transcripts give a
        // PTY slot's usage.
        if slot == "claude" || slot == "codex" || slot == "gemini" {
            support::wait_until(&format!("{slot}: usage from its transcript"), LONG, || {
                let v: serde_json::Value =
                    serde_json::from_str(&support::ctl(h, &["list", "--json"]).1)
                        .unwrap_or_default();
                v["slots"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|s| s["id"] == slot)
                    .is_some_and(|s| {
                        s["usage"]["usage"]["input_tokens"]
                            .as_u64()
                            .is_some_and(|n| n > 0)
                            && s["usage"]["turns"].as_u64().is_some_and(|n| n >= 1)
                    })
            });
        }
    }
}

/// The arguments of process `pid` once it runs its own program.
fn process_args(pid: u64) -> Vec<String> {
    support::exec_args(pid)
}

/// Two Codex slots in ONE project and one agent home, so "the latest
/// conversation in this directory" is the other slot's, and a Gemini slot.
/// Each slot's conversation id is known (Codex: read from the transcript
/// it holds open; Gemini: given by corral), a restart resumes exactly it
/// (`codex resume <id>`, `gemini --resume <id>`) and shows its own earlier
/// messages, and a restart before any message leaves the agent running in
/// a new conversation (Gemini keeps an empty one's file while it runs and
/// refuses to resume it once it exited: corral starts afresh).
#[test]
fn codex_and_gemini_restart_into_their_own_conversations() {
    let dir = support::tempdir();
    let h = dir.path();
    let mock = agents::start_mock(h, 100);
    let codex = agents::setup("codex", &h.join("codex"), mock.port);
    let gemini = agents::setup("gemini", &h.join("gemini"), mock.port);
    let config = [
        codex.slot_toml("cx1"),
        codex.slot_toml("cx2"),
        gemini.slot_toml("gm"),
    ]
    .join("\n");
    let cfg = h.join("config.toml");
    std::fs::write(&cfg, config).unwrap_or_else(|e| panic!("{e}"));
    let cfg_s = cfg.to_string_lossy().into_owned();
    let _t = Tui::corral(&["--config", &cfg_s], 50, 200, h);
    support::wait_until("the server up", LONG, || support::ctl(h, &["list"]).0 == 0);
    let secs = LONG.as_secs().to_string();
    let slot = |id: &str, k: &str| {
        let v: serde_json::Value =
            serde_json::from_str(&support::ctl(h, &["list", "--json"]).1).unwrap_or_default();
        v["slots"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["id"] == id))
            .map(|s| s[k].clone())
            .unwrap_or_default()
    };
    let idle = |id: &str| {
        let (code, out, err) =
            support::ctl(h, &["wait", id, "--state", "idle", "--timeout", &secs]);
        assert_eq!(
            code,
            0,
            "{id}: {out}{err}\n{}",
            support::ctl(h, &["screen", id]).1
        );
    };
    let say = |id: &str, text: &str| {
        idle(id);
        let (code, out, err) = support::ctl(
            h,
            &["prompt", id, text, "--wait", "idle", "--timeout", &secs],
        );
        assert_eq!(
            code,
            0,
            "{id}: {out}{err}\n{}",
            support::ctl(h, &["screen", id]).1
        );
        // The agent answered it (the mock's reply is what it printed).
        assert!(
            out.contains("Hello from corral"),
            "{id}: no reply to {text:?}: {out}\n{}",
            support::ctl(h, &["screen", id]).1
        );
    };
    // A restart before any message: the agent runs again, never left
    // exited by a resume of a conversation it never wrote.
    support::wait_until("gm started", LONG, || slot("gm", "pid").as_u64().is_some());
    let first = slot("gm", "session_id")
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(first.len(), 36, "gemini is given an id at its start");
    let args = process_args(slot("gm", "pid").as_u64().unwrap_or(0));
    assert!(
        args.windows(2)
            .any(|w| w[0] == "--session-id" && w[1] == first),
        "{args:?}"
    );
    idle("gm");
    assert_eq!(support::ctl(h, &["restart", "gm"]).0, 0);
    support::wait_until("gm running again", LONG, || {
        slot("gm", "generation").as_u64().is_some_and(|g| g >= 2)
            && slot("gm", "pid").as_u64().is_some()
    });
    support::wait_until("gm idle again", LONG, || slot("gm", "state") == "idle");

    // The first Codex slot, then the second: the second is the latest.
    say("cx1", "corral:text remember tangerine");
    say("cx2", "corral:text remember pineapple");
    say("gm", "corral:text remember tangerine");
    for id in ["cx1", "cx2"] {
        support::wait_until(&format!("{id}: its conversation read"), LONG, || {
            slot(id, "session_id")
                .as_str()
                .is_some_and(|s| s.len() == 36)
        });
    }
    let conv = |id: &str| {
        slot(id, "session_id")
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_ne!(conv("cx1"), conv("cx2"));
    // The ids are the agents' own: Codex's transcript is named by it.
    let rollouts: Vec<String> = walk(&codex.cwd.join("../home/.codex/sessions"));
    for id in ["cx1", "cx2"] {
        assert!(
            rollouts
                .iter()
                .any(|r| r.ends_with(&format!("-{}.jsonl", conv(id)))),
            "{id} {} in {rollouts:?}",
            conv(id)
        );
    }
    // Gemini saves a conversation a moment after it shows the reply: the
    // test restarts it once it is saved.
    let id8: String = conv("gm").chars().take(8).collect();
    support::wait_until("gm's conversation saved", LONG, || {
        walk(&h.join("gemini/home/.gemini/tmp")).iter().any(|f| {
            f.contains(&id8)
                && std::fs::read_to_string(f).is_ok_and(|c| {
                    c.contains("remember tangerine") && c.contains("Hello from corral")
                })
        })
    });
    for (id, resume) in [("cx1", "resume"), ("gm", "--resume")] {
        let want = conv(id);
        let before = slot(id, "generation").as_u64().unwrap_or(0);
        assert_eq!(support::ctl(h, &["restart", id]).0, 0);
        support::wait_until(&format!("{id} restarted"), LONG, || {
            slot(id, "generation").as_u64() == Some(before + 1)
                && slot(id, "pid").as_u64().is_some()
        });
        let args = process_args(slot(id, "pid").as_u64().unwrap_or(0));
        assert!(
            args.windows(2).any(|w| w[0] == resume && w[1] == want),
            "{id}: {args:?}"
        );
        let deadline = std::time::Instant::now() + LONG;
        while !support::ctl(h, &["screen", id])
            .1
            .contains("remember tangerine")
        {
            assert!(
                std::time::Instant::now() < deadline,
                "{id}: its own conversation not on screen:\n{}",
                support::ctl(h, &["screen", id]).1
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let screen = support::ctl(h, &["screen", id]).1;
        assert!(
            !screen.contains("pineapple"),
            "{id} shows the other's:\n{screen}"
        );
        assert_eq!(conv(id), want, "{id} keeps its id");
    }
}

/// Every file under `dir`, as paths.
fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.to_string_lossy().into_owned());
        }
    }
    out
}

/// Issue 26's one inbox: Claude Code in a terminal (with its hook), Claude
/// Code over its JSON stream and Gemini CLI over ACP, in tiles of one
/// corral. An `echo *` rule answers each one's `echo hello > hello.txt`;
/// `y`, `n` and `a` answer a command of each from the inbox; the audit names
/// the source of every prompt.
#[test]
fn three_transports_share_one_inbox() {
    let dir = support::tempdir();
    let h = dir.path();
    let mock = agents::start_mock(h, 0);
    let slots = [
        ("cc", "claude", "pty", "hook"),
        ("cs", "claude", "stream-json", "protocol"),
        ("gm", "gemini", "acp", "protocol"),
    ];
    let runs: Vec<AgentRun> = slots
        .iter()
        .map(|(id, agent, _, _)| agents::setup(agent, &h.join(id), mock.port))
        .collect();
    let mut config = String::from(
        "[[policy]]\nname = \"echo\"\ndecision = \"allow\"\ntool = \"Bash\"\nsubject = \"echo *\"\n\n",
    );
    for ((id, _, transport, _), run) in slots.iter().zip(&runs) {
        config.push_str(&run.slot_toml(id).replacen(
            "[[slot]]\n",
            &format!("[[slot]]\ntransport = \"{transport}\"\n"),
            1,
        ));
        config.push('\n');
    }
    let cfg = h.join("config.toml");
    std::fs::write(&cfg, config).unwrap_or_else(|e| panic!("{e}"));
    let cfg_s = cfg.to_string_lossy().into_owned();
    let t = Tui::corral(&["--config", &cfg_s], 50, 200, h);
    support::wait_until("the server up", LONG, || support::ctl(h, &["list"]).0 == 0);
    let secs = LONG.as_secs().to_string();
    for ((id, _, _, _), run) in slots.iter().zip(&runs) {
        let (code, _, err) = support::ctl(h, &["wait", id, "--state", "idle", "--timeout", &secs]);
        assert_eq!(code, 0, "{id}: {err}");
        // By rule.
        let (code, _, err) = support::ctl(h, &["task", id, "mock:bash please"]);
        assert_eq!(code, 0, "{id}: {err}");
        support::wait_until(&format!("{id}: hello.txt by rule"), LONG, || {
            exists(run, "hello.txt")
        });
        let (code, _, err) = support::ctl(h, &["wait", id, "--state", "idle", "--timeout", &secs]);
        assert_eq!(code, 0, "{id}: {err}");
        // By key: y, n, a. Claude Code's Bash "always" in its dialog only
        // grants a directory: its approve-always is a Write's (as above).
        let always = match *id {
            "cc" => ("mock:write", "Write", "notes.txt".to_string(), "notes.txt"),
            _ => (
                "mock:cmd touch a.txt",
                "Bash",
                "touch a.txt".to_string(),
                "a.txt",
            ),
        };
        let steps = [
            (
                b"y",
                "mock:cmd touch y.txt",
                "Bash",
                "touch y.txt".to_string(),
                "y.txt",
            ),
            (
                b"n",
                "mock:cmd touch n.txt",
                "Bash",
                "touch n.txt".to_string(),
                "n.txt",
            ),
            (b"a", always.0, always.1, always.2, always.3),
        ];
        for (key, text, tool, subject, file) in steps {
            let (code, _, err) = support::ctl(h, &["task", id, text]);
            assert_eq!(code, 0, "{id}: {err}");
            t.wait_for(&format!("{id}: {subject} in the inbox"), LONG, |s| {
                inbox_has(s, id, tool, &subject)
            });
            // A pause after the prompt took the selection (RESELECT_GUARD).
            let shown = std::time::Instant::now();
            support::wait_until("a pause", LONG, || {
                shown.elapsed() > corral::client::app::RESELECT_GUARD
            });
            t.send(key);
            if file == "n.txt" {
                t.wait_for(&format!("{id}: the denial"), LONG, |s| {
                    !inbox_has(s, id, tool, &subject)
                });
            } else {
                support::wait_until(&format!("{id}: {file}"), LONG, || exists(run, file));
            }
            let (code, _, err) =
                support::ctl(h, &["wait", id, "--state", "idle", "--timeout", &secs]);
            assert_eq!(code, 0, "{id}: {err}");
        }
        assert!(!exists(run, "n.txt"), "{id}: a denied command ran");
    }
    let audit = support::audit_lines(h);
    for (id, _, _, source) in slots {
        let mine: Vec<&serde_json::Value> = audit
            .iter()
            .filter(|l| l["slot"] == id && l["result"] == "sent")
            .collect();
        assert!(mine.len() >= 4, "{id}: {audit:?}");
        assert!(
            mine.iter()
                .any(|l| l["source"] == source && l["by"]["source"] == "policy"),
            "{id}: {mine:?}"
        );
        for answer in ["approve-once", "deny", "approve-always"] {
            assert!(
                mine.iter()
                    .any(|l| l["answer"] == answer && l["by"]["source"] == "keyboard"),
                "{id} {answer}: {mine:?}"
            );
        }
    }
}

/// A third ACP agent, opencode 1.18.33 (`opencode acp`), against the mock's
/// OpenAI-compatible API: its bash request reaches the inbox with the exact
/// command but is not exact for policy (its request does not say where the
/// command runs), so an `echo *` rule leaves it to a person; `y` runs it.
#[test]
fn opencode_over_acp_asks_a_person() {
    let dir = support::tempdir();
    let h = dir.path();
    let mock = agents::start_mock(h, 0);
    let run = agents::setup("opencode", &h.join("oc"), mock.port);
    let config = format!(
        "[[policy]]\nname = \"echo\"\ndecision = \"allow\"\ntool = \"Bash\"\nsubject = \"echo *\"\n\n{}",
        run.slot_toml("oc")
            .replacen("[[slot]]\n", "[[slot]]\ntransport = \"acp\"\n", 1)
    );
    let cfg = h.join("config.toml");
    std::fs::write(&cfg, config).unwrap_or_else(|e| panic!("{e}"));
    let cfg_s = cfg.to_string_lossy().into_owned();
    let t = Tui::corral(&["--config", &cfg_s], 50, 200, h);
    support::wait_until("the server up", LONG, || support::ctl(h, &["list"]).0 == 0);
    let secs = LONG.as_secs().to_string();
    let (code, _, err) = support::ctl(h, &["wait", "oc", "--state", "idle", "--timeout", &secs]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = support::ctl(h, &["task", "oc", "mock:bash please write hello.txt"]);
    assert_eq!(code, 0, "{err}");
    t.wait_for("the request in the inbox", LONG, |s| {
        s.contains("▶ oc Bash") && s.contains("echo hello > hello.txt")
    });
    assert!(!exists(&run, "hello.txt"), "approved with no one asked");
    t.send(b"y");
    support::wait_until("hello.txt", LONG, || exists(&run, "hello.txt"));
    let audit = support::audit_lines(h);
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0]["source"], "protocol");
    assert_eq!(audit[0]["by"]["source"], "keyboard");
    assert_eq!(audit[0]["subject"], "echo hello > hello.txt");
}
