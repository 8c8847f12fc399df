//! End to end: the corral server and its clients, each client the built
//! binary in an outer PTY; detach and reattach at another size, two clients
//! at once, a client killed or hung up, a server that dies, a stale socket,
//! a refused version, `ls` and `kill-server`.

mod support;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use support::{Tui, audit_lines, demo_slot, run_plain, tempdir, wait_until, write_config};

const LONG: Duration = Duration::from_secs(30);

/// A shell slot that writes its pid to `<home>/<id>.pid` and then runs sh.
fn shell_slot(home: &Path, id: &str) -> String {
    format!(
        "[[slot]]\nid = \"{id}\"\ncommand = \"/bin/sh\"\nargs = [\"-c\", \"echo $$ > {}/{id}.pid; exec /bin/sh\"]\n",
        home.display()
    )
}

/// A config of the demo agent `api` (a prompt soon) and shell slot `sh`.
fn demo_and_shell(home: &Path) -> String {
    write_config(
        home,
        &format!("{}{}", demo_slot("api", "api", 300), shell_slot(home, "sh")),
    )
}

fn pid_of(home: &Path, id: &str) -> i32 {
    let path = home.join(format!("{id}.pid"));
    wait_until("the slot's pid file", LONG, || {
        std::fs::read_to_string(&path).is_ok_and(|s| s.trim().parse::<i32>().is_ok())
    });
    std::fs::read_to_string(&path)
        .unwrap_or_default()
        .trim()
        .parse()
        .unwrap_or(0)
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    pid > 0 && unsafe { libc::kill(pid, 0) } == 0
}

fn ctl(home: &Path, args: &[&str]) -> (i32, String, String) {
    let rt = home.join("run").to_string_lossy().into_owned();
    let mut all = vec!["--runtime-dir", rt.as_str()];
    all.extend_from_slice(args);
    run_plain(&all, home)
}

/// The issue's first scene: a marker typed into a shell; the terminal of
/// the client closes; the agent lives on; a client of another size shows
/// the marker with its scrollback; `d` detaches; `kill-server` leaves no
/// agent behind.
#[test]
fn agents_outlive_the_terminal_and_a_client_of_another_size_shows_them() {
    let home = tempdir();
    let cfg = write_config(home.path(), &shell_slot(home.path(), "sh"));
    let mut a = Tui::corral(&["--config", &cfg], 50, 200, home.path());
    a.wait_text("NORMAL", LONG);
    a.send(b"\r");
    a.wait_mode("INSERT", LONG);
    a.type_text("i=0; while [ $i -lt 100 ]; do i=$((i+1)); echo row-$i; done; echo marker-1\r");
    a.wait_text("marker-1", LONG);
    let pid = pid_of(home.path(), "sh");
    // The terminal goes away (its window closed): the client ends, the
    // server and the shell stay.
    let client = a.pid() as i32;
    // SAFETY: SIGKILL to a child we started.
    unsafe { libc::kill(client, libc::SIGKILL) };
    a.wait_exit(LONG);
    // Once the server has seen the client go, the shell is still there.
    wait_until("the server without clients", LONG, || {
        ctl(home.path(), &["ls"])
            .1
            .contains("default: 1 slot, 0 clients")
    });
    assert!(alive(pid), "the shell died with its client");

    // Another size: the marker, and the scrollback above it.
    let b = Tui::corral(&["--config", &cfg], 24, 80, home.path());
    let s = b.wait_text("marker-1", LONG);
    assert!(s.contains("NORMAL"), "{s}");
    b.send(b"\x1b[5~");
    b.wait_for("scrolled back to earlier rows", LONG, |s| {
        s.contains("row-6") && !s.contains("marker-1")
    });
    b.send(b"G");
    // The shell's PTY took this client's size.
    b.send(b"\r");
    b.wait_mode("INSERT", LONG);
    b.type_text("stty size\r");
    b.wait_for("the PTY at this client's pane size", LONG, |s| {
        s.lines().any(|l| {
            let w: Vec<u16> = l
                .trim_matches(|c: char| !c.is_ascii_digit())
                .split(' ')
                .filter_map(|x| x.parse().ok())
                .collect();
            w.len() == 2 && w[0] < 24 && w[1] < 80
        })
    });
    // Detach: the terminal is restored, the shell lives.
    b.send(b"\x1cd");
    b.wait_text("[detached from session default]", LONG);
    assert!(alive(pid));

    let (code, out, err) = ctl(home.path(), &["kill-server"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("stopped session default"), "{out}");
    wait_until("the shell gone", LONG, || !alive(pid));
    let (_, ls, _) = ctl(home.path(), &["ls"]);
    assert!(ls.contains("no server running"), "{ls}");
    let (code, _, err) = ctl(home.path(), &["kill-server"]);
    assert_eq!(code, 1);
    assert!(err.contains("no server is running"), "{err}");
}

/// Two clients at once: a full one and `--attach` of one slot in another
/// size. The attach client answers the prompt after ctrl-\; the full
/// client shows the decision and the state change at once.
#[test]
fn two_clients_see_one_inbox_and_an_answer_in_one_shows_in_the_other() {
    let home = tempdir();
    let cfg = demo_and_shell(home.path());
    let full = Tui::corral(&["--config", &cfg], 50, 200, home.path());
    full.wait_for("the prompt in the full client's inbox", LONG, |s| {
        s.contains("INBOX (1)") && s.contains("echo hello > hello.txt")
    });
    let one = Tui::corral(&["--config", &cfg, "--attach", "api"], 30, 100, home.path());
    // The state comes in the welcome; the dialog with the slot's screen,
    // a moment later (another path): wait for both.
    let s = one.wait_for("the attach view blocked on the prompt", LONG, |s| {
        s.lines()
            .last()
            .is_some_and(|l| l.contains("needs-permission"))
            && s.contains("Do you want to proceed?")
    });
    assert!(!s.contains("SLOTS"), "{s}");
    // Attaching gave the slot this client's size: the agent draws its
    // dialog again. Keys sent meanwhile are refused (the prompt they were
    // meant for may have changed): wait until it has settled.
    one.wait_quiet(Duration::from_millis(1000), LONG);
    one.send(b"\x1c");
    one.wait_mode("NORMAL", LONG);
    one.send(b"y");
    wait_until("an audit line", LONG, || {
        !audit_lines(home.path()).is_empty()
    });
    assert_eq!(
        audit_lines(home.path())[0]["result"],
        "sent",
        "{:?}",
        audit_lines(home.path())
    );
    // The full client: the prompt left its inbox, and the decision shows.
    full.wait_for("the answer in the other client", LONG, |s| {
        s.contains("INBOX (0)") && s.contains("approve-once (y) → api")
    });
    full.send(b"D");
    full.wait_text("approve-once (y) → api Bash echo hello", LONG);
    // Pausing the policy in one client pauses it in the other.
    full.send(b"P");
    one.wait_text("automatic answers paused", LONG);
    // A third client attaching now starts from the same decisions.
    let third = Tui::corral(&["--config", &cfg], 40, 160, home.path());
    third.wait_text("SLOTS", LONG);
    third.send(b"D");
    third.wait_text("approve-once (y) → api", LONG);
}

/// `kill -9` of a client and SIGHUP of another's terminal leave the
/// server, the agents and their output going; the next client sees output
/// that came meanwhile.
#[test]
fn killed_and_hung_up_clients_leave_the_agents_running() {
    let home = tempdir();
    let cfg = write_config(
        home.path(),
        "[[slot]]\nid = \"tick\"\ncommand = \"/bin/sh\"\nargs = [\"-c\", \"i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.1; done\"]\n",
    );
    let mut a = Tui::corral(&["--config", &cfg], 24, 80, home.path());
    a.wait_text("tick-3", LONG);
    // SAFETY: SIGKILL to a child we started.
    unsafe { libc::kill(a.pid() as i32, libc::SIGKILL) };
    a.wait_exit(LONG);
    let transcript = home.path().join("data/transcripts/default/tick.raw");
    let len = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let before = len(&transcript);
    wait_until("output while no client is attached", LONG, || {
        len(&transcript) > before + 100
    });

    let mut b = Tui::corral(&["--config", &cfg], 24, 80, home.path());
    let s = b.wait_text("tick-", LONG);
    let newest = |s: &str| {
        s.split("tick-")
            .filter_map(|t| {
                t.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
                    .parse::<u32>()
                    .ok()
            })
            .max()
            .unwrap_or(0)
    };
    assert!(newest(&s) > 5, "{s}");
    // SIGHUP, as a closing terminal sends: the terminal is restored and the
    // client ends; the server stays.
    // SAFETY: SIGHUP to a child we started.
    unsafe { libc::kill(b.pid() as i32, libc::SIGHUP) };
    assert_eq!(b.wait_exit(LONG), 0);
    let (_, ls, _) = ctl(home.path(), &["ls"]);
    assert!(ls.contains("tick"), "{ls}");
    let c = Tui::corral(&["--config", &cfg], 24, 80, home.path());
    c.wait_for("newer ticks", LONG, |t| newest(t) > newest(&s) + 5);
}

/// The server dies (SIGKILL): its client restores the terminal and says
/// so. The next `corral` finds the stale socket and starts a new server.
#[test]
fn a_dead_server_is_seen_by_its_client_and_its_socket_is_replaced() {
    let home = tempdir();
    let cfg = write_config(home.path(), &shell_slot(home.path(), "sh"));
    let mut a = Tui::corral(&["--config", &cfg], 24, 80, home.path());
    a.wait_text("NORMAL", LONG);
    let server = support::server_pid(home.path());
    // SAFETY: SIGKILL to the server this test started.
    unsafe { libc::kill(server, libc::SIGKILL) };
    let code = a.wait_exit(LONG);
    assert_eq!(code, 1);
    // Its last words may still be on their way through the outer terminal.
    let s = a.wait_text("the server of session default stopped", LONG);
    // Its terminal is back: the alternate screen is left (no sidebar).
    assert!(!s.contains("SLOTS"), "{s}");
    // The socket file is left behind, stale.
    let sock = home.path().join("run/default.sock");
    assert!(sock.exists());
    let (_, ls, _) = ctl(home.path(), &["ls"]);
    assert!(ls.contains("no server running"), "{ls}");
    let b = Tui::corral(&["--config", &cfg], 24, 80, home.path());
    b.wait_text("NORMAL", LONG);
    assert_ne!(support::server_pid(home.path()), server);
    // The old shell is gone with its server's PTY... or orphaned; the new
    // server started its own.
    let rt = home.path().join("run");
    let mode = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0)
    };
    assert_eq!(mode(&rt), 0o700, "runtime dir");
    assert_eq!(mode(&sock), 0o600, "socket");
}

/// A client of another protocol version is refused with a reason; a hello
/// that is not JSON is refused too; neither harms the server.
#[test]
fn a_mismatched_client_is_refused_clearly() {
    let home = tempdir();
    let cfg = write_config(home.path(), &shell_slot(home.path(), "sh"));
    let a = Tui::corral(&["--config", &cfg], 24, 80, home.path());
    a.wait_text("NORMAL", LONG);
    let sock = home.path().join("run/default.sock");
    let ask = |line: &str| -> String {
        let mut s = UnixStream::connect(&sock).unwrap_or_else(|e| panic!("{e}"));
        std::io::Write::write_all(&mut s, line.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let mut r = BufReader::new(s);
        let mut reply = String::new();
        r.read_line(&mut reply).unwrap_or_else(|e| panic!("{e}"));
        reply
    };
    let reply =
        ask("{\"v\":99,\"hello\":{\"kind\":\"attach\",\"cols\":80,\"rows\":24,\"slot\":null}}\n");
    assert!(
        reply.contains("protocol version") && reply.contains("99"),
        "{reply}"
    );
    let reply = ask("not json\n");
    assert!(reply.contains("error"), "{reply}");
    // The server still serves.
    let (code, ls, err) = ctl(home.path(), &["ls"]);
    assert_eq!(code, 0, "{err}");
    assert!(ls.contains("default: 1 slot, 1 client"), "{ls}");
}

/// Named sessions: `-s work` and `CORRAL_SESSION` run servers of their own,
/// side by side; `ls` lists both.
#[test]
fn named_sessions_run_side_by_side() {
    let home = tempdir();
    let cfg = write_config(home.path(), &shell_slot(home.path(), "sh"));
    let a = Tui::corral(&["--config", &cfg], 24, 80, home.path());
    a.wait_text("NORMAL", LONG);
    let b = Tui::corral(&["--config", &cfg, "-s", "work"], 24, 80, home.path());
    b.wait_text("NORMAL", LONG);
    let (_, ls, _) = ctl(home.path(), &["ls"]);
    assert!(
        ls.contains("default: 1 slot") && ls.contains("work: 1 slot"),
        "{ls}\n{}\n{:?}",
        b.text(),
        std::fs::read_dir(home.path().join("data/logs")).map(|d| d
            .flatten()
            .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
            .collect::<Vec<_>>())
    );
    let (code, _, err) = ctl(home.path(), &["kill-server", "-s", "work"]);
    assert_eq!(code, 0, "{err}");
    b.wait_text("the server of session work stopped", LONG);
    let (_, ls, _) = ctl(home.path(), &["ls"]);
    assert!(
        ls.contains("default: 1 slot") && !ls.contains("work:"),
        "{ls}"
    );
    let (code, _, err) = ctl(home.path(), &["-s", "../x", "ls"]);
    assert_eq!(code, 0, "ls lists all: {err}");
    let (code, _, err) = run_plain(&["--config", &cfg, "-s", "a/b"], home.path());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("session name"), "{err}");
}

/// Two `corral`s started at the same moment start one server between them
/// and both attach to it.
#[test]
fn two_clients_started_at_once_share_one_server() {
    let home = tempdir();
    let cfg = write_config(home.path(), &shell_slot(home.path(), "sh"));
    let a = Tui::corral(&["--config", &cfg], 24, 80, home.path());
    let b = Tui::corral(&["--config", &cfg], 30, 100, home.path());
    a.wait_text("NORMAL", LONG);
    b.wait_text("NORMAL", LONG);
    let (_, ls, _) = ctl(home.path(), &["ls"]);
    assert!(ls.contains("default: 1 slot, 2 clients"), "{ls}");
    assert_eq!(ls.matches("(pid ").count(), 1, "{ls}");
}

/// The person's keys go straight into the slot's PTY (the server hands the
/// client its input): they reach a restarted session's new PTY too, and a
/// second client's keys reach the same program.
#[test]
fn keys_reach_the_program_across_a_restart_and_from_every_client() {
    let home = tempdir();
    let cfg = write_config(home.path(), &shell_slot(home.path(), "sh"));
    let a = Tui::corral(&["--config", &cfg], 24, 80, home.path());
    a.wait_text("NORMAL", LONG);
    a.send(b"\r");
    a.wait_mode("INSERT", LONG);
    a.type_text("echo one-$((40+2))\r");
    a.wait_text("one-42", LONG);
    let first = pid_of(home.path(), "sh");
    std::fs::remove_file(home.path().join("sh.pid")).unwrap_or_else(|e| panic!("{e}"));
    a.send(b"\x1cR");
    let second = pid_of(home.path(), "sh");
    assert_ne!(first, second, "restarted");
    a.send(b"\r");
    a.wait_mode("INSERT", LONG);
    a.type_text("echo two-$((40+3))\r");
    a.wait_text("two-43", LONG);
    let b = Tui::corral(&["--config", &cfg], 30, 100, home.path());
    b.wait_text("NORMAL", LONG);
    b.send(b"\r");
    b.wait_mode("INSERT", LONG);
    b.type_text("echo three-$((40+4))\r");
    b.wait_text("three-44", LONG);
    a.wait_text("three-44", LONG);
}

/// A client that sends junk (bad frames, unknown slots, huge sizes, a
/// forged rule answer) harms nothing: the server drops it or refuses, keeps
/// serving, and no answer is audited as a rule's.
#[test]
fn a_hostile_client_harms_nothing() {
    use std::io::Write as _;
    let home = tempdir();
    let cfg = demo_and_shell(home.path());
    let a = Tui::corral(&["--config", &cfg], 50, 200, home.path());
    let s = a.wait_for("the prompt", LONG, |s| s.contains("INBOX (1)"));
    assert!(s.contains("echo hello > hello.txt"), "{s}");
    let sock = home.path().join("run/default.sock");
    let hello = format!(
        "{{\"v\":{},\"hello\":{{\"kind\":\"attach\",\"cols\":80,\"rows\":24,\"slot\":null}}}}\n",
        corral::proto::PROTO_VERSION
    );
    let frame = |json: &str| {
        let mut f = vec![1u8];
        f.extend_from_slice(&(json.len() as u32).to_le_bytes());
        f.extend_from_slice(json.as_bytes());
        f
    };
    let attacks: Vec<Vec<u8>> = vec![
        frame("not json"),
        frame(
            "{\"msg\":\"command\",\"command\":{\"cmd\":\"resize\",\"slot\":1,\"rows\":65535,\"cols\":65535}}",
        ),
        frame("{\"msg\":\"command\",\"command\":{\"cmd\":\"key\",\"slot\":99999,\"key\":\"y\"}}"),
        frame(
            "{\"msg\":\"command\",\"command\":{\"cmd\":\"answer\",\"slot\":0,\"prompt\":12345,\"answer\":\"approve-once\",\"by\":{\"source\":\"policy\",\"detail\":\"forged\"}}}",
        ),
        frame("{\"msg\":\"command\",\"command\":{\"cmd\":\"shutdown\"}}"),
        frame("{\"msg\":\"explain\",\"slot\":77}"),
        vec![2u8, 3, 0, 0, 0, 1, 2, 3],
        vec![9u8, 0, 0, 0, 0],
        vec![1u8, 0xff, 0xff, 0xff, 0x7f],
    ];
    for junk in attacks {
        let mut c = UnixStream::connect(&sock).unwrap_or_else(|e| panic!("{e}"));
        c.write_all(hello.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        let _ = c.write_all(&junk);
        std::thread::sleep(Duration::from_millis(100));
        drop(c);
    }
    // Still serving, with its slots running, and the PTY at a sane size.
    let (code, ls, err) = ctl(home.path(), &["ls"]);
    assert_eq!(code, 0, "{err}");
    assert!(ls.contains("default: 2 slots"), "{ls}");
    a.send(b"l\r");
    a.wait_mode("INSERT", LONG);
    a.type_text("stty size\r");
    a.wait_for("a sane PTY size", LONG, |s| {
        s.lines().any(|l| {
            let w: Vec<u32> = l
                .trim_matches(|c: char| !c.is_ascii_digit())
                .split(' ')
                .filter_map(|x| x.parse().ok())
                .collect();
            w.len() == 2 && w[0] <= 1000 && w[1] <= 1000 && w[0] > 0
        })
    });
    // The forged "policy" answer was for no prompt on screen: refused, and
    // audited as the keyboard's.
    for line in audit_lines(home.path()) {
        assert_ne!(line["by"]["source"], "policy", "{line}");
    }
    assert!(a.text().contains("INBOX (1)") || a.text().contains("echo hello"));
}

/// Issue 22 (memory): a client's copy of a slot holds the screen only; the
/// server sends the scrollback when the client asks for it (a scroll back,
/// copy mode) and the screen only again once it says it is done.
#[test]
fn a_client_gets_a_slots_scrollback_only_when_it_asks() {
    use corral::proto::{ClientMsg, Frame, PROTO_VERSION};
    use std::io::Write as _;
    let home = tempdir();
    let cfg = write_config(
        home.path(),
        "[[slot]]\nid = \"sh\"\ncommand = \"/bin/sh\"\nargs = [\"-c\", \"i=0; while [ $i -lt 300 ]; do i=$((i+1)); echo old-row-$i; done; echo rows-done; exec /bin/sh\"]\n",
    );
    let a = Tui::corral(&["--config", &cfg], 24, 80, home.path());
    a.wait_text("rows-done", LONG);
    let sock = home.path().join("run/default.sock");
    let mut c = UnixStream::connect(&sock).unwrap_or_else(|e| panic!("{e}"));
    let hello = format!(
        "{{\"v\":{PROTO_VERSION},\"hello\":{{\"kind\":\"attach\",\"cols\":80,\"rows\":24,\"slot\":null}}}}\n"
    );
    c.write_all(hello.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    c.set_read_timeout(Some(LONG))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut r = BufReader::new(c.try_clone().unwrap_or_else(|e| panic!("{e}")));
    let mut welcome = String::new();
    r.read_line(&mut welcome).unwrap_or_else(|e| panic!("{e}"));
    assert!(welcome.contains("\"scrollback_rows\""), "{welcome}");
    // The next whole terminal of slot 0, and whether it came with history.
    let next_screen = |r: &mut BufReader<UnixStream>| -> (bool, String) {
        loop {
            match Frame::read(r) {
                Ok(Some(Frame::Screen {
                    slot: 0,
                    history,
                    replay,
                    ..
                })) => return (history, String::from_utf8_lossy(&replay).into_owned()),
                Ok(Some(_)) => {}
                other => panic!("no screen frame: {other:?}"),
            }
        }
    };
    let (history, replay) = next_screen(&mut r);
    assert!(!history);
    assert!(
        replay.contains("rows-done") && !replay.contains("old-row-1\r"),
        "{replay}"
    );
    let send = |c: &mut UnixStream, m: &ClientMsg| {
        let f = Frame::json(m).unwrap_or_else(|e| panic!("{e}")).encode();
        c.write_all(&f).unwrap_or_else(|e| panic!("{e}"));
    };
    send(&mut c, &ClientMsg::History { slot: 0, on: true });
    let (history, replay) = next_screen(&mut r);
    assert!(history);
    assert!(
        replay.contains("old-row-1\r") && replay.contains("old-row-250"),
        "{replay}"
    );
    // Done with it: a whole terminal sent again (a resize) is the screen.
    send(&mut c, &ClientMsg::History { slot: 0, on: false });
    send(
        &mut c,
        &ClientMsg::Command {
            command: corral::proto::Command::Resize {
                slot: 0,
                rows: 20,
                cols: 70,
            },
        },
    );
    let (history, replay) = next_screen(&mut r);
    assert!(!history && !replay.contains("old-row-1\r"), "{replay}");
}
