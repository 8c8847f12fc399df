//! A session's command line: conversation ids, hook tokens, quoting, the
//! program's lookup and the sandbox's temporary directory.

use std::fs::File;
use std::path::PathBuf;

use crate::config::SlotConfig;
use crate::profile::SessionSpec;

use crate::server::conversation;

/// The conversation slot `cfg` resumes: its known `id`, when the slot
/// resumes at all and the agent has a transcript of it (where the profile
/// says where to look).
pub(crate) fn conversation_to_resume(
    spec: &SessionSpec,
    cfg: &SlotConfig,
    id: Option<&str>,
) -> Option<String> {
    let id = id.filter(|id| conversation::is_uuid(id))?;
    if !cfg.resume {
        return None;
    }
    if spec.transcript.is_none() {
        return Some(id.to_string());
    }
    let pattern = transcript_pattern(spec, cfg)?;
    conversation::exists(&pattern, id).then(|| id.to_string())
}

/// The profile's transcript pattern with slot `cfg`'s environment (its
/// `env` table, then the server's) put in.
pub(crate) fn transcript_pattern(spec: &SessionSpec, cfg: &SlotConfig) -> Option<String> {
    let env = |k: &str| cfg.env.get(k).cloned().or_else(|| std::env::var(k).ok());
    conversation::expand(spec.transcript.as_deref()?, &env)
}

/// A random (version 4) UUID from the OS, as text; `None` when the OS
/// gives no randomness.
/// A random number from the system (0 when it has none to give).
pub(crate) fn random_u64() -> u64 {
    use std::io::Read;
    let mut b = [0u8; 8];
    match File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)) {
        Ok(()) => u64::from_le_bytes(b),
        Err(_) => 0,
    }
}

pub(crate) fn new_uuid() -> Option<String> {
    use std::io::Read;
    let mut b = [0u8; 16];
    File::open("/dev/urandom").ok()?.read_exact(&mut b).ok()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

/// A random secret for a session's hook (128 bits from the OS); `None`
/// when the OS gives none (the session then gets no hook).
pub(crate) fn new_token() -> Option<String> {
    use std::io::Read;
    let mut b = [0u8; 16];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(|e| tracing::warn!("no random token, so no hook: {e}"))
        .ok()?;
    Some(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// `w` quoted for a POSIX shell (agents run hook commands through one).
pub(crate) fn shell_quote(w: &str) -> String {
    if !w.is_empty()
        && w.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:@%+,".contains(&b))
    {
        return w.to_string();
    }
    format!("'{}'", w.replace('\'', "'\\''"))
}

/// Checks that slot `slot`'s program can be found: a bare name in the
/// `PATH` the child gets (the slot's own, else corral's).
///
/// Errors: "no such command in PATH" (with a hint when `command` holds
/// arguments).
pub(crate) fn find_program(slot: &SlotConfig) -> anyhow::Result<()> {
    let program = slot.command.get_ref();
    let path = slot
        .env
        .get("PATH")
        .map(std::ffi::OsString::from)
        .or_else(|| std::env::var_os("PATH"));
    let cwd_now = std::env::current_dir().unwrap_or_default();
    if !program.contains('/') && which::which_in(program, path, cwd_now).is_err() {
        // `command = "bash --norc"`: one program, its words in `args`.
        if let Some((first, _)) = program.split_once(char::is_whitespace) {
            anyhow::bail!(
                "no such command in PATH (`command` names one program; put its arguments in `args`: command = {first:?}, args = [...])"
            );
        }
        anyhow::bail!("no such command in PATH");
    }
    Ok(())
}

/// Where sandboxed slots of session `session` under the config `config`
/// (its path) get their private temporary directories:
/// `<tmp>/corral-<uid>-sandbox/<session>-<config hash>/<slot>`, so a slot of
/// the same id under another config never finds the first one's files.
pub(crate) fn sandbox_temp_base(session: &str, config: &str) -> PathBuf {
    use sha2::Digest;
    // SAFETY: getuid(2) has no failure modes and no memory effects.
    let uid = unsafe { libc::getuid() };
    let digest = sha2::Sha256::digest(config.as_bytes());
    let hash: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    std::env::temp_dir()
        .join(format!("corral-{uid}-sandbox"))
        .join(format!("{session}-{hash}"))
}

/// Landlock here, and whether the server can keep a sandbox's promise: a
/// server that itself runs with `no_new_privs` cannot tell a sandboxed
/// agent's connections from a person's.
pub(crate) fn sandbox_support() -> crate::sandbox::Support {
    match crate::sandbox::support() {
        crate::sandbox::Support::Available { .. } if crate::sandbox::server_has_no_new_privs() => {
            crate::sandbox::Support::Missing {
                why: "corral's server runs with no_new_privs set (a container or service manager set it), so it cannot tell a sandboxed agent's connections from yours".into(),
            }
        }
        other => other,
    }
}

/// `~` or `~/...` at the start of a path means the home directory.
pub(crate) fn expand_home(p: &std::path::Path) -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    match (p.strip_prefix("~"), home) {
        (Ok(rest), Some(h)) => h.join(rest),
        _ => p.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn tilde_means_home() {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default();
        assert_eq!(
            expand_home(std::path::Path::new("~/src/api")),
            home.join("src/api")
        );
        assert_eq!(expand_home(std::path::Path::new("~")), home);
        assert_eq!(
            expand_home(std::path::Path::new("/srv/~x")),
            PathBuf::from("/srv/~x")
        );
    }
}
