//! Where an agent keeps a conversation, and which one a running agent has
//! open: the profile's `[session] transcript` pattern, checked before a
//! restart resumes an id (Claude Code 2.1.329 and Gemini CLI 0.61.0 exit
//! with "No conversation found" / "Invalid session identifier" for an id
//! that has no conversation yet), and matched against the files an agent
//! holds open to learn the id it chose (Codex CLI 0.169.0 keeps its
//! `rollout-<time>-<uuid>.jsonl` open while it runs).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Whether `s` is a UUID in its text form (8-4-4-4-12 hex digits): the
/// only ids corral puts on a command line or looks for in a file name.
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The profile's transcript pattern with the environment put in: a leading
/// `~` is `HOME`, `${NAME:-fallback}` is `NAME` when set and not empty, else
/// the fallback (itself expanded). `env` reads the slot's environment (its
/// own `env` table before the server's). `{id}` and `{id8}` stay for
/// [`with_id`]. `None` when `HOME` (or a variable with no fallback) is unset.
/// What came from the environment is escaped, so a `[` in a home directory
/// is not a glob class.
pub fn expand(pattern: &str, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    crate::paths::expand_vars(pattern, env, &|v| glob::Pattern::escape(v))
}

/// `pattern` (expanded) for conversation `id`: `{id}` is the id, `{id8}`
/// its first 8 characters (Gemini CLI names its file by those).
pub fn with_id(pattern: &str, id: &str) -> String {
    let id8: String = id.chars().take(8).collect();
    pattern
        .replace("{id}", &glob::Pattern::escape(id))
        .replace("{id8}", &glob::Pattern::escape(&id8))
}

/// Whether conversation `id` has a transcript on disk: a file matches the
/// expanded `pattern`. An id that is not a UUID never does.
pub fn exists(pattern: &str, id: &str) -> bool {
    is_uuid(id)
        && glob::glob(&with_id(pattern, id))
            .map(|mut paths| paths.any(|p| p.is_ok_and(|p| p.is_file())))
            .unwrap_or(false)
}

/// The transcript file of conversation `id` under the expanded `pattern`,
/// if there is one.
pub fn find(pattern: &str, id: &str) -> Option<std::path::PathBuf> {
    if !is_uuid(id) {
        return None;
    }
    glob::glob(&with_id(pattern, id))
        .ok()?
        .filter_map(Result::ok)
        .find(|p| p.is_file())
}

/// The conversation id in `path` if it matches the expanded `pattern`
/// (whose file name must end in `{id}` and a fixed suffix: the id is the
/// 36 characters before the suffix).
pub fn id_in_path(pattern: &str, path: &Path) -> Option<String> {
    let (_, file) = pattern.rsplit_once('/')?;
    let (_, suffix) = file.split_once("{id}")?;
    if suffix.contains(['*', '?', '[', '{']) {
        return None;
    }
    let glob = glob::Pattern::new(&pattern.replace("{id}", "*")).ok()?;
    let each_dir = glob::MatchOptions {
        require_literal_separator: true,
        ..glob::MatchOptions::new()
    };
    if !glob.matches_path_with(path, each_dir) {
        return None;
    }
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(suffix)?;
    let id = stem.get(stem.len().checked_sub(36)?..)?;
    is_uuid(id).then(|| id.to_ascii_lowercase())
}

/// The conversation the process `pid` or one of its descendants holds open
/// for writing: `known` if that one is among them, else the id in the
/// newest (by modification time) such file that matches `pattern`. Only processes named one of `names` (their `comm`, as the
/// profile's `programs`) count when `names` is not empty: a command the
/// agent runs (model-written) could hold another conversation's file open
/// to make a restart resume that one. Read from `/proc`; `None` where there
/// is none (or no `/proc`).
pub fn open_by(pid: u32, pattern: &str, names: &[String], known: Option<&str>) -> Option<String> {
    let mut best: Option<(SystemTime, String)> = None;
    for p in process_tree(pid) {
        if !names.is_empty() {
            let comm = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
            if !names.iter().any(|n| n == comm.trim_end()) {
                continue;
            }
        }
        let Ok(fds) = std::fs::read_dir(format!("/proc/{p}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            // Written, not only read: Codex reads other conversations'
            // files too (listing them), and appends to its own.
            let writes = std::fs::read_to_string(format!(
                "/proc/{p}/fdinfo/{}",
                fd.file_name().to_string_lossy()
            ))
            .ok()
            .and_then(|info| {
                info.lines()
                    .find_map(|l| l.strip_prefix("flags:"))
                    .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
            })
            .is_some_and(|flags| flags & 3 != 0);
            if !writes {
                continue;
            }
            if let Some(id) = id_in_path(pattern, &target) {
                // The conversation corral knows is still open: it stays.
                if known == Some(id.as_str()) {
                    return Some(id);
                }
                let at = std::fs::metadata(&target)
                    .and_then(|m| m.modified())
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                if best.as_ref().is_none_or(|(t, _)| at > *t) {
                    best = Some((at, id));
                }
            }
        }
    }
    best.map(|(_, id)| id)
}

/// Every process as (pid, parent pid, session id), from `/proc/<pid>/stat`.
fn processes() -> Vec<(u32, u32, u32)> {
    let mut out = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let mut stat = PathBuf::from("/proc");
            stat.push(p.to_string());
            stat.push("stat");
            // `pid (comm) state ppid pgrp session ...`: comm may hold
            // spaces and `)`.
            if let Ok(text) = std::fs::read_to_string(stat)
                && let Some((_, after)) = text.rsplit_once(')')
            {
                let f: Vec<&str> = after.split_whitespace().collect();
                if let (Some(Ok(ppid)), Some(Ok(sid))) =
                    (f.get(1).map(|v| v.parse()), f.get(3).map(|v| v.parse()))
                {
                    out.push((p, ppid, sid));
                }
            }
        }
    }
    out
}

/// Waits, up to `limit`, until no process is left in session `sid` (an
/// agent's PTY session, whose leader has exited): an agent whose program
/// runs in a child (Gemini CLI relaunches itself) may still be writing its
/// conversation when the leader's exit is seen, and a restart must not
/// read it half-written. Returns whether the session is empty.
pub fn wait_session_gone(sid: u32, limit: std::time::Duration) -> bool {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if !processes().iter().any(|(_, _, s)| *s == sid) {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Sends SIGKILL to every process left in session `sid` (a sandboxed
/// slot's, whose leader has exited). A process that left the session
/// (`setsid`) is not found.
pub fn kill_session(sid: u32) {
    for (pid, _, s) in processes() {
        if s == sid
            && let Ok(pid) = i32::try_from(pid)
            && pid > 1
        {
            // SAFETY: kill(2) with a valid signal has no memory effects.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// `pid` and every process descended from it, from the parent ids in
/// `/proc/<pid>/stat`.
fn process_tree(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = processes().into_iter().map(|(p, pp, _)| (p, pp)).collect();
    let mut tree = vec![pid];
    let mut seen: std::collections::HashSet<u32> = tree.iter().copied().collect();
    let mut i = 0;
    // A pid reused during the scan can make a cycle: each process once.
    while i < tree.len() {
        let at = tree[i];
        for (p, pp) in &parents {
            if *pp == at && seen.insert(*p) {
                tree.push(*p);
            }
        }
        i += 1;
    }
    tree
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODEX: &str = "${CODEX_HOME:-~/.codex}/sessions/*/*/*/rollout-*-{id}.jsonl";
    const ID: &str = "01a235bd-3d62-7870-89e5-967cf6696e2f";

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn uuids_only() {
        assert!(is_uuid(ID));
        assert!(!is_uuid("01a235bd-3d62-7870-89e5-967cf6696e2"));
        assert!(!is_uuid("01a235bd-3d62-7870-89e5-967cf6696e2f0"));
        assert!(!is_uuid("01a235bd_3d62-7870-89e5-967cf6696e2f"));
        assert!(!is_uuid("../../../../etc/passwd-aaaaaaaaaaaaa"));
        assert!(!is_uuid("*1a235bd-3d62-7870-89e5-967cf6696e2f"));
    }

    #[test]
    fn the_environment_goes_in_escaped() {
        let e = env(&[("HOME", "/h[1]")]);
        assert_eq!(
            expand(CODEX, &e).as_deref(),
            Some("/h[[]1[]]/.codex/sessions/*/*/*/rollout-*-{id}.jsonl")
        );
        let e = env(&[("HOME", "/h"), ("CODEX_HOME", "/c")]);
        assert_eq!(
            expand(CODEX, &e).as_deref(),
            Some("/c/sessions/*/*/*/rollout-*-{id}.jsonl")
        );
        // Set but empty is unset, as in sh's `:-`.
        let e = env(&[("HOME", "/h"), ("CODEX_HOME", "")]);
        assert!(expand(CODEX, &e).is_some_and(|p| p.starts_with("/h/.codex/")));
        assert_eq!(expand(CODEX, &env(&[])), None);
        assert_eq!(expand("${NOPE}/x", &env(&[("HOME", "/h")])), None);
    }

    #[test]
    fn a_conversation_exists_only_with_its_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let home = dir.path().to_string_lossy().into_owned();
        let vars = [("HOME", home.as_str())];
        let e = env(&vars);
        let claude =
            expand("${CLAUDE_CONFIG_DIR:-~/.claude}/projects/*/{id}.jsonl", &e).unwrap_or_default();
        let gemini = expand("~/.gemini/tmp/*/chats/session-*-{id8}.json*", &e).unwrap_or_default();
        assert!(!exists(&claude, ID));
        let proj = dir.path().join(".claude/projects/-tmp-proj");
        std::fs::create_dir_all(&proj).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(proj.join(format!("{ID}.jsonl")), "{}\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(exists(&claude, ID));
        assert!(!exists(&claude, "01a235bd-3d62-7870-89e5-000000000000"));
        // A glob in place of an id matches nothing.
        assert!(!exists(&claude, "*"));
        let chats = dir.path().join(".gemini/tmp/proj/chats");
        std::fs::create_dir_all(&chats).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            chats.join("session-2026-12-02T07-52-01a235bd.jsonl"),
            "{}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(exists(&gemini, ID));
    }

    #[test]
    fn the_id_is_read_from_a_matching_path_only() {
        let p = expand(CODEX, &env(&[("HOME", "/h")])).unwrap_or_default();
        let path = format!("/h/.codex/sessions/2026/12/02/rollout-2026-12-02T07-52-04-{ID}.jsonl");
        assert_eq!(id_in_path(&p, Path::new(&path)).as_deref(), Some(ID));
        for other in [
            format!("/x/.codex/sessions/2026/12/02/rollout-2026-12-02T07-52-04-{ID}.jsonl"),
            format!("/h/.codex/sessions/2026/12/rollout-{ID}.jsonl"),
            format!("/h/.codex/sessions/2026/12/02/rollout-2026-12-02T07-52-04-{ID}.json"),
            "/h/.codex/sessions/2026/12/02/rollout-2026-12-02T07-52-04-not-a-uuid.jsonl".into(),
        ] {
            assert_eq!(id_in_path(&p, Path::new(&other)), None, "{other}");
        }
    }

    #[test]
    fn an_open_transcript_of_a_child_names_the_conversation() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let day = dir.path().join(".codex/sessions/2026/12/02");
        std::fs::create_dir_all(&day).unwrap_or_else(|e| panic!("{e}"));
        let file = day.join(format!("rollout-2026-12-02T07-52-04-{ID}.jsonl"));
        std::fs::write(&file, "{}\n").unwrap_or_else(|e| panic!("{e}"));
        let home = dir.path().to_string_lossy().into_owned();
        let vars = [("HOME", home.as_str())];
        let p = expand(CODEX, &env(&vars)).unwrap_or_default();
        // sh holds the file open (appending) on fd 3 in a child of its own,
        // and another conversation's file open for reading only.
        let other =
            day.join("rollout-2026-12-02T07-52-05-01a235bd-3d62-7870-89e5-000000000001.jsonl");
        std::fs::write(&other, "{}\n").unwrap_or_else(|e| panic!("{e}"));
        let mut sh = std::process::Command::new("sh")
            .arg("-c")
            .arg("sh -c 'exec 3>>\"$0\" 4<\"$1\"; read x' \"$0\" \"$1\"")
            .arg(&file)
            .arg(&other)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut seen = None;
        while seen.is_none() && std::time::Instant::now() < deadline {
            seen = open_by(sh.id(), &p, &[], None);
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(seen.as_deref(), Some(ID));
        let elsewhere = expand(CODEX, &env(&[("HOME", "/elsewhere")])).unwrap_or_default();
        assert_eq!(open_by(sh.id(), &elsewhere, &[], None), None);
        // Only a process with the agent's name counts.
        assert_eq!(open_by(sh.id(), &p, &["codex".to_string()], None), None);
        assert_eq!(
            open_by(sh.id(), &p, &["sh".to_string()], None).as_deref(),
            Some(ID)
        );
        // A known id still open stays; one no longer open is replaced.
        assert_eq!(open_by(sh.id(), &p, &[], Some(ID)).as_deref(), Some(ID));
        let gone = "01a235bd-3d62-7870-89e5-00000000dead";
        assert_eq!(open_by(sh.id(), &p, &[], Some(gone)).as_deref(), Some(ID));
        drop(sh.stdin.take());
        let _ = sh.wait();
    }
}
