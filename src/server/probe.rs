//! The parse probe: before the policy parses a shell command in the
//! server, a child process (`corral parse-probe`) parses it first under
//! hard limits (CPU seconds and address space). brush-parser has
//! backtracking that is exponential in some nestings (fuzzing found six so
//! far, each now refused before parsing); text that makes the probe run
//! out of its limits is never parsed in the server, whose one thread
//! decides for every slot: a person decides it, with the reason.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// CPU seconds the probe may use.
pub const PROBE_CPU_SECONDS: u64 = 2;
/// Bytes of address space the probe may map (1 GiB).
pub const PROBE_ADDRESS_BYTES: u64 = 1 << 30;

/// Whether `text` parses within the limits, in a child process of `exe`
/// (`corral parse-probe`, which reads the text on its standard input).
///
/// Errors: why not, in one line (the limit it ran out of, or that the
/// probe could not run: then nothing is parsed in the server either).
pub fn check(exe: &Path, text: &str) -> Result<(), String> {
    let mut cmd = Command::new(exe);
    cmd.arg("parse-probe")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setrlimit(2) is async-signal-safe and touches only the
    // child's own limits, between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let cpu = libc::rlimit {
                rlim_cur: PROBE_CPU_SECONDS,
                rlim_max: PROBE_CPU_SECONDS,
            };
            let mem = libc::rlimit {
                rlim_cur: PROBE_ADDRESS_BYTES,
                rlim_max: PROBE_ADDRESS_BYTES,
            };
            if libc::setrlimit(libc::RLIMIT_CPU, &cpu) != 0
                || libc::setrlimit(libc::RLIMIT_AS, &mem) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("the parse probe did not start: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(text.as_bytes());
    }
    let status = child.wait().map_err(|e| format!("the parse probe: {e}"))?;
    if status.success() {
        return Ok(());
    }
    use std::os::unix::process::ExitStatusExt;
    Err(match status.signal() {
        Some(libc::SIGXCPU) | Some(libc::SIGKILL) => {
            format!("parsing it took more than {PROBE_CPU_SECONDS} s of CPU")
        }
        _ => format!(
            "parsing it failed within corral's limits ({PROBE_CPU_SECONDS} s of CPU, {} MiB)",
            PROBE_ADDRESS_BYTES >> 20
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("{e}"));
        p
    }

    #[test]
    fn a_probe_out_of_cpu_or_failing_says_so() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let ok = script(d.path(), "ok", "cat >/dev/null; exit 0");
        assert_eq!(check(&ok, "echo hi"), Ok(()));
        let busy = script(d.path(), "busy", "while :; do :; done");
        let e = check(&busy, "echo hi").err().unwrap_or_default();
        assert!(e.contains("more than 2 s"), "{e}");
        let bad = script(d.path(), "bad", "exit 3");
        let e = check(&bad, "echo hi").err().unwrap_or_default();
        assert!(e.contains("failed within"), "{e}");
    }

    #[test]
    fn a_probe_that_cannot_run_fails_closed() {
        let e = check(Path::new("/nonexistent/corral"), "echo hi").err();
        assert!(e.is_some_and(|e| e.contains("did not start")));
    }
}
