//! `corral demo-agent`: a scripted stand-in for a Claude-Code-style agent, so
//! a new user sees corral at work with nothing installed.
//!
//! It draws the shapes of Claude Code 2.1.329 that the `claude` profile
//! detects: the `❯` input box between `─` rules with a mode footer when idle,
//! a spinner line and `esc to interrupt` while working, and Bash/Edit/Write
//! permission dialogs with numbered options. Its Bash dialog has three options
//! (Yes / Yes, and always / No) where the real one has four, so "No" must be
//! found by its label. It never runs the commands it asks about.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use crossterm::terminal;

/// A tool request in a scripted task.
#[derive(Debug, Clone)]
enum Tool {
    Bash {
        cmd: &'static str,
        desc: &'static str,
        output: &'static str,
    },
    Edit {
        file: &'static str,
        old: &'static str,
        new: &'static str,
    },
    Write {
        file: &'static str,
        content: &'static str,
    },
}

impl Tool {
    fn kind(&self) -> &'static str {
        match self {
            Tool::Bash { .. } => "Bash",
            Tool::Edit { .. } => "Edit",
            Tool::Write { .. } => "Write",
        }
    }
}

#[derive(Debug, Clone)]
struct Task {
    prompt: &'static str,
    intro: &'static str,
    tool: Option<Tool>,
    reply: &'static str,
    /// Work before the tool request, in pace units.
    think: u32,
}

fn script(name: &str) -> Option<Vec<Task>> {
    let t = |prompt, intro, tool, reply, think| Task {
        prompt,
        intro,
        tool,
        reply,
        think,
    };
    Some(match name {
        "api" => vec![
            t(
                "add a /health endpoint and test it",
                "I will run the health check test.",
                Some(Tool::Bash {
                    cmd: "echo hello > hello.txt",
                    desc: "Write a marker file",
                    output: "(no output)",
                }),
                "The marker file is written; next I will wire the endpoint.",
                2,
            ),
            t(
                "wire /health into the router",
                "I will update the router.",
                Some(Tool::Edit {
                    file: "src/router.rs",
                    old: "    .route(\"/\", get(index))",
                    new: "    .route(\"/\", get(index))\n    .route(\"/health\", get(health))",
                }),
                "The /health route is in place.",
                3,
            ),
            t(
                "run the test suite",
                "Running the tests.",
                Some(Tool::Bash {
                    cmd: "cargo test --quiet",
                    desc: "Run the test suite",
                    output: "test result: ok. 42 passed; 0 failed",
                }),
                "All 42 tests pass.",
                3,
            ),
        ],
        "web" => vec![
            t(
                "make the header sticky",
                "I will edit the stylesheet.",
                Some(Tool::Edit {
                    file: "web/src/header.css",
                    old: ".header { position: static; }",
                    new: ".header { position: sticky; top: 0; }",
                }),
                "The header now sticks to the top.",
                4,
            ),
            t(
                "check the bundle size",
                "Let me build the bundle.",
                Some(Tool::Bash {
                    cmd: "npm run build -- --report",
                    desc: "Build and report bundle size",
                    output: "dist/app.js  182.4 kB │ gzip: 58.1 kB",
                }),
                "The bundle is 58 kB gzipped.",
                3,
            ),
        ],
        "docs" => vec![
            t(
                "write the getting-started guide",
                "I will create the guide.",
                Some(Tool::Write {
                    file: "docs/getting-started.md",
                    content: "# Getting started\n\nInstall, configure, run.",
                }),
                "The guide is written.",
                6,
            ),
            t(
                "summarise the changelog",
                "Reading the changelog.",
                None,
                "Three releases this month: faster start-up, a new config format, bug fixes.",
                4,
            ),
            t(
                "check links in the docs",
                "I will run the link checker.",
                Some(Tool::Bash {
                    cmd: "lychee docs/",
                    desc: "Check links in the docs",
                    output: "✔ 118 OK, 0 errors",
                }),
                "All links work.",
                3,
            ),
        ],
        _ => return None,
    })
}

/// The names of the built-in scripts.
pub const SCRIPTS: [&str; 3] = ["api", "web", "docs"];

enum Phase {
    Idle { next_task_at: Option<Instant> },
    Working { until: Instant, then: AfterWork },
    Dialog { tool: Tool, selected: usize },
}

enum AfterWork {
    /// Show the task's tool request (or its reply when it has none).
    Request,
    /// Print the reply and go idle.
    Reply(String),
}

struct Demo {
    name: String,
    cwd: String,
    tasks: Vec<Task>,
    next: usize,
    current: Option<Task>,
    phase: Phase,
    history: Vec<String>,
    input: String,
    always: Vec<&'static str>,
    pace: Duration,
    spin: usize,
    last_ctrl_c: Option<Instant>,
    title: String,
}

const SPINNER: [&str; 6] = ["·", "✢", "*", "✶", "✻", "✽"];

fn wrap(text: &str, width: usize, indent: usize) -> Vec<String> {
    let width = width.max(indent + 8);
    let lead: String = text.chars().take_while(|c| *c == ' ').collect();
    let mut out = Vec::new();
    let mut line = lead.clone();
    let mut fresh = true;
    for word in text[lead.len()..].split(' ') {
        let cur = line.chars().count();
        let wl = word.chars().count();
        if !fresh && cur + 1 + wl > width {
            out.push(std::mem::take(&mut line));
            line = " ".repeat(indent);
            fresh = true;
        }
        if !fresh {
            line.push(' ');
        }
        line.push_str(word);
        fresh = false;
    }
    out.push(line);
    out
}

impl Demo {
    fn units(&self, n: u32) -> Duration {
        self.pace * n
    }

    fn start_next_task(&mut self, now: Instant) {
        let task = self.tasks[self.next % self.tasks.len()].clone();
        self.next += 1;
        self.history.push(format!("❯ {}", task.prompt));
        self.phase = Phase::Working {
            until: now + self.units(task.think),
            then: AfterWork::Request,
        };
        self.current = Some(task);
    }

    fn after_work(&mut self, then: AfterWork, now: Instant) {
        match then {
            AfterWork::Reply(r) => {
                self.history.push(format!("● {r}"));
                self.history.push(String::new());
                self.phase = Phase::Idle {
                    next_task_at: Some(now + self.units(5)),
                };
            }
            AfterWork::Request => {
                let Some(task) = self.current.clone() else {
                    self.phase = Phase::Idle { next_task_at: None };
                    return;
                };
                self.history.push(format!("● {}", task.intro));
                match task.tool {
                    Some(tool) if !self.always.contains(&tool.kind()) => {
                        self.phase = Phase::Dialog { tool, selected: 0 };
                    }
                    Some(tool) => self.run_tool(&tool, now),
                    None => self.after_work(AfterWork::Reply(task.reply.to_string()), now),
                }
            }
        }
    }

    fn run_tool(&mut self, tool: &Tool, now: Instant) {
        match tool {
            Tool::Bash { cmd, output, .. } => {
                self.history.push(format!("● Bash({cmd})"));
                self.history.push(format!("  ⎿  {output}"));
            }
            Tool::Edit { file, .. } => {
                self.history.push(format!("● Update({file})"));
                self.history.push("  ⎿  Updated with 1 addition".into());
            }
            Tool::Write { file, .. } => {
                self.history.push(format!("● Write({file})"));
                self.history.push("  ⎿  Wrote 3 lines".into());
            }
        }
        let reply = self
            .current
            .as_ref()
            .map_or("Done.", |t| t.reply)
            .to_string();
        self.phase = Phase::Working {
            until: now + self.units(2),
            then: AfterWork::Reply(reply),
        };
    }

    fn deny(&mut self, tool: &Tool, now: Instant) {
        match tool {
            Tool::Bash { cmd, .. } => {
                self.history.push("  Did not run 1 call".into());
                self.history.push(format!("  ⎿  $ {cmd}"));
                self.history
                    .push("  ⎿  Interrupted · What should Claude do instead?".into());
            }
            Tool::Edit { file, .. } => {
                self.history.push(format!("● Update({file})"));
                self.history.push(format!("  ⎿  Rejected update to {file}"));
            }
            Tool::Write { file, .. } => {
                self.history.push(format!("● Write({file})"));
                self.history.push(format!("  ⎿  Rejected write to {file}"));
            }
        }
        self.history.push(String::new());
        self.phase = Phase::Idle {
            next_task_at: Some(now + self.units(6)),
        };
    }

    /// Handles a key; returns false to exit.
    fn key(&mut self, code: KeyCode, mods: KeyModifiers, now: Instant) -> bool {
        if code == KeyCode::Char('c') && mods.contains(KeyModifiers::CONTROL) {
            if !self.input.is_empty() {
                self.input.clear();
                return true;
            }
            if self
                .last_ctrl_c
                .is_some_and(|t| now.duration_since(t) < Duration::from_secs(2))
            {
                return false;
            }
            self.last_ctrl_c = Some(now);
            self.history.push("  Press Ctrl-C again to exit".into());
            return true;
        }
        match &mut self.phase {
            Phase::Dialog { tool, selected } => {
                let tool = tool.clone();
                let n_opts = 3;
                let choice = match code {
                    KeyCode::Char(c @ '1'..='3') => Some(c as usize - '1' as usize),
                    KeyCode::Enter => Some(*selected),
                    KeyCode::Esc => Some(2),
                    KeyCode::Up => {
                        *selected = (*selected + n_opts - 1) % n_opts;
                        None
                    }
                    KeyCode::Down | KeyCode::Tab => {
                        *selected = (*selected + 1) % n_opts;
                        None
                    }
                    _ => None,
                };
                match choice {
                    Some(0) => self.run_tool(&tool, now),
                    Some(1) => {
                        self.always.push(tool.kind());
                        self.run_tool(&tool, now);
                    }
                    Some(_) => self.deny(&tool, now),
                    None => {}
                }
            }
            Phase::Working { .. } => match code {
                KeyCode::Esc => {
                    self.history.push("  ⎿  Interrupted by user".into());
                    self.history.push(String::new());
                    self.phase = Phase::Idle {
                        next_task_at: Some(now + self.units(8)),
                    };
                }
                KeyCode::Char(c) => self.input.push(c),
                KeyCode::Backspace => {
                    self.input.pop();
                }
                _ => {}
            },
            Phase::Idle { .. } => match code {
                KeyCode::Char(c) => self.input.push(c),
                KeyCode::Backspace => {
                    self.input.pop();
                }
                KeyCode::Enter if !self.input.trim().is_empty() => {
                    let text = std::mem::take(&mut self.input);
                    self.history.push(format!("❯ {text}"));
                    self.current = None;
                    self.phase = Phase::Working {
                        until: now + self.units(2),
                        then: AfterWork::Reply(format!(
                            "(demo) I only follow my script, but I read: \"{}\"",
                            text.trim()
                        )),
                    };
                }
                _ => {}
            },
        }
        true
    }

    fn tick(&mut self, now: Instant) {
        match &self.phase {
            Phase::Idle {
                next_task_at: Some(t),
            } if *t <= now => self.start_next_task(now),
            Phase::Working { until, .. } if *until <= now => {
                let Phase::Working { then, .. } =
                    std::mem::replace(&mut self.phase, Phase::Idle { next_task_at: None })
                else {
                    return;
                };
                self.after_work(then, now);
            }
            _ => {}
        }
    }

    /// When the demo must wake up next without input.
    fn deadline(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Idle { next_task_at } => *next_task_at,
            Phase::Working { until, .. } => {
                Some((*until).min(Instant::now() + Duration::from_millis(250)))
            }
            Phase::Dialog { .. } => None,
        }
    }

    fn frame(&mut self, cols: usize, rows: usize) -> (String, Vec<String>) {
        let rule = "─".repeat(cols);
        let dashed = "╌".repeat(cols);
        let mut bottom: Vec<String> = Vec::new();
        let title;
        match &self.phase {
            Phase::Dialog { tool, selected } => {
                title = format!("✳ demo {}", self.name);
                bottom.push(rule.clone());
                let (header, sub, body, question, always): (&str, String, Vec<String>, String, String) = match tool {
                    Tool::Bash { cmd, desc, .. } => (
                        "Bash command",
                        desc.to_string(),
                        vec![cmd.to_string()],
                        "Do you want to proceed?".into(),
                        format!("Yes, and always allow access to {} from this project", self.cwd),
                    ),
                    Tool::Edit { file, old, new } => {
                        let mut body = vec![];
                        for l in old.lines() {
                            body.push(format!("1 -{l}"));
                        }
                        for l in new.lines() {
                            body.push(format!("1 +{l}"));
                        }
                        (
                            "Edit file",
                            file.to_string(),
                            body,
                            format!("Do you want to make this edit to {file}?"),
                            "Yes, and switch to accept edits (auto-approve file edits) for this session (shift+tab)".into(),
                        )
                    }
                    Tool::Write { file, content } => (
                        "Create file",
                        file.to_string(),
                        content.lines().enumerate().map(|(i, l)| format!("{} {l}", i + 1)).collect(),
                        format!("Do you want to create {file}?"),
                        "Yes, and switch to accept edits (auto-approve file edits) for this session (shift+tab)".into(),
                    ),
                };
                bottom.push(format!(" {header}"));
                bottom.extend(wrap(&format!(" {sub}"), cols, 1));
                bottom.push(dashed.clone());
                for l in body {
                    bottom.extend(wrap(&format!(" {l}"), cols, 1));
                }
                bottom.push(dashed);
                bottom.extend(wrap(&format!(" {question}"), cols, 1));
                for (i, label) in ["Yes".to_string(), always, "No".to_string()]
                    .iter()
                    .enumerate()
                {
                    let mark = if i == *selected { " ❯ " } else { "   " };
                    bottom.extend(wrap(&format!("{mark}{}. {label}", i + 1), cols, 6));
                }
                bottom.push(String::new());
                bottom.push(" Esc to cancel · Tab to amend".into());
            }
            Phase::Working { until, .. } => {
                self.spin = (self.spin + 1) % SPINNER.len();
                title = format!(
                    "{} demo {}",
                    if self.spin.is_multiple_of(2) {
                        "◐"
                    } else {
                        "◑"
                    },
                    self.name
                );
                let left = until.saturating_duration_since(Instant::now()).as_secs();
                bottom.push(format!("{} Working… ({left}s)", SPINNER[self.spin]));
                bottom.push(rule.clone());
                bottom.push(format!("❯\u{a0}{}", self.input));
                bottom.push(rule);
                bottom.push("  ⏸ manual mode on · esc to interrupt".into());
            }
            Phase::Idle { .. } => {
                title = format!("✳ demo {}", self.name);
                bottom.push(rule.clone());
                bottom.push(format!("❯\u{a0}{}", self.input));
                bottom.push(rule);
                bottom.push("  ⏸ manual mode on · ? for shortcuts".into());
            }
        }
        let mut lines = vec![
            format!(" ✻ corral demo-agent · script {}", self.name),
            String::new(),
        ];
        let hist: Vec<String> = self.history.iter().flat_map(|h| wrap(h, cols, 2)).collect();
        let room = rows.saturating_sub(lines.len() + bottom.len());
        let skip = hist.len().saturating_sub(room);
        lines.extend(hist.into_iter().skip(skip));
        while lines.len() + bottom.len() < rows {
            lines.push(String::new());
        }
        lines.extend(bottom);
        let start = lines.len().saturating_sub(rows);
        (title, lines.split_off(start))
    }

    fn draw(&mut self, out: &mut impl Write) -> io::Result<()> {
        let (cols, rows) = terminal::size().unwrap_or((80, 24));
        let (title, lines) = self.frame(usize::from(cols.max(20)), usize::from(rows.max(8)));
        let mut buf = String::from("\x1b[?2026h");
        if title != self.title {
            buf.push_str(&format!("\x1b]0;{title}\x07"));
            self.title = title;
        }
        buf.push_str("\x1b[H");
        let n = lines.len();
        for (i, l) in lines.into_iter().enumerate() {
            let l: String = l.chars().take(usize::from(cols)).collect();
            buf.push_str(&l);
            buf.push_str("\x1b[K");
            if i + 1 < n {
                buf.push_str("\r\n");
            }
        }
        buf.push_str("\x1b[?2026l");
        out.write_all(buf.as_bytes())?;
        out.flush()
    }
}

/// Runs the demo agent on the current terminal until Ctrl-C twice.
///
/// `pace_ms` is the scripted time unit in milliseconds (1000 for the demo;
/// tests use less).
///
/// Errors: unknown script name, or the terminal cannot be put in raw mode.
pub fn run(script_name: &str, pace_ms: u64) -> anyhow::Result<()> {
    let tasks = script(script_name).ok_or_else(|| {
        anyhow::anyhow!(
            "unknown demo script {script_name:?} (have: {})",
            SCRIPTS.join(", ")
        )
    })?;
    let cwd = std::env::current_dir()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| ".".into());
    let now = Instant::now();
    let pace = Duration::from_millis(pace_ms.max(1));
    let mut demo = Demo {
        name: script_name.to_string(),
        cwd,
        tasks,
        next: 0,
        current: None,
        phase: Phase::Idle {
            next_task_at: Some(now + pace / 2),
        },
        history: Vec::new(),
        input: String::new(),
        always: Vec::new(),
        pace,
        spin: 0,
        last_ctrl_c: None,
        title: String::new(),
    };
    terminal::enable_raw_mode()?;
    let mut out = io::stdout();
    out.write_all(b"\x1b[?1049h\x1b[?2004h\x1b[?25l")?;
    let result = (|| -> anyhow::Result<()> {
        demo.draw(&mut out)?;
        loop {
            let timeout = demo
                .deadline()
                .map(|d| d.saturating_duration_since(Instant::now()));
            let ready = match timeout {
                Some(t) => event::poll(t)?,
                None => event::poll(Duration::from_secs(3600))?,
            };
            let now = Instant::now();
            if ready {
                match event::read()? {
                    Event::Key(k)
                        if k.kind != KeyEventKind::Release
                            && !demo.key(k.code, k.modifiers, now) =>
                    {
                        return Ok(());
                    }
                    Event::Paste(p) => demo.input.push_str(&p),
                    _ => {}
                }
            }
            demo.tick(now);
            demo.draw(&mut out)?;
        }
    })();
    let _ = out.write_all(b"\x1b[?25h\x1b[?2004l\x1b[?1049l");
    let _ = terminal::disable_raw_mode();
    println!("Resume this session with:\r\ncorral demo-agent --script {script_name}\r");
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{AgentState, Answer, ScreenSnapshot, Timing, detect};
    use crate::profile::Profiles;

    fn demo(script_name: &str) -> Demo {
        Demo {
            name: script_name.into(),
            cwd: "/home/u/proj".into(),
            tasks: script(script_name).unwrap_or_default(),
            next: 0,
            current: None,
            phase: Phase::Idle { next_task_at: None },
            history: vec![],
            input: String::new(),
            always: vec![],
            pace: Duration::from_millis(10),
            spin: 0,
            last_ctrl_c: None,
            title: String::new(),
        }
    }

    fn state(d: &mut Demo, cols: usize) -> crate::detect::Detection {
        let (title, lines) = d.frame(cols, 30);
        let snap = ScreenSnapshot {
            rows: lines
                .iter()
                .map(|l| {
                    l.chars()
                        .take(cols)
                        .collect::<String>()
                        .trim_end()
                        .to_string()
                })
                .collect(),
            cols: cols as u16,
            title,
            cursor: (0, 0),
            alternate: true,
            inverse: vec![],
            inverse_end: vec![],
            wrapped: vec![],
            continued: false,
        };
        let profiles = Profiles::builtin().unwrap_or_else(|e| panic!("{e}"));
        let claude = profiles
            .get("claude")
            .unwrap_or_else(|| panic!("no claude profile"));
        detect(&claude, &snap, Timing::default())
    }

    #[test]
    fn demo_screens_are_detected_by_the_claude_profile_at_every_width() {
        for cols in [40, 60, 80, 120] {
            for name in SCRIPTS {
                let mut d = demo(name);
                assert_eq!(state(&mut d, cols).state, AgentState::Idle, "{name} {cols}");
                let now = Instant::now();
                d.start_next_task(now);
                assert_eq!(
                    state(&mut d, cols).state,
                    AgentState::Working,
                    "{name} {cols}"
                );
                d.tick(now + Duration::from_secs(60));
                let det = state(&mut d, cols);
                assert_eq!(det.state, AgentState::NeedsPermission, "{name} {cols}");
                let p = det.prompt.unwrap_or_else(|| panic!("no prompt"));
                assert_eq!(p.keys_for(Answer::Deny).map(|k| k.len()), Ok(1));
                assert_eq!(p.options.len(), 3, "{name} {cols}: {:?}", p.options);
                let want_subject = match &d.phase {
                    Phase::Dialog {
                        tool: Tool::Bash { cmd, .. },
                        ..
                    } => cmd.to_string(),
                    Phase::Dialog {
                        tool: Tool::Edit { file, .. } | Tool::Write { file, .. },
                        ..
                    } => file.to_string(),
                    _ => String::new(),
                };
                assert_eq!(p.subject, want_subject, "{name} {cols}");
            }
        }
    }

    #[test]
    fn no_option_denies_and_the_agent_carries_on() {
        let mut d = demo("api");
        let now = Instant::now();
        d.start_next_task(now);
        d.tick(now + Duration::from_secs(1));
        assert!(matches!(d.phase, Phase::Dialog { .. }));
        d.key(KeyCode::Char('3'), KeyModifiers::NONE, now);
        assert!(d.history.iter().any(|h| h.contains("Interrupted")));
        assert!(matches!(
            d.phase,
            Phase::Idle {
                next_task_at: Some(_)
            }
        ));
        d.tick(now + Duration::from_secs(1));
        assert!(matches!(d.phase, Phase::Working { .. }), "next task starts");
    }
}
