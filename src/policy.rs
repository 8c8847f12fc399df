//! Policy: explicit, auditable rules that answer some prompts automatically.
//!
//! Each `[[policy]]` table of the config matches on slot, role, agent, tool and
//! subject and decides `allow`, `deny` or `ask`. Matching is by glob (`*` any
//! text, `?` one character, whole value, case-sensitive); a field ending in
//! `_regex` matches by regular expression instead (searched anywhere). A
//! matching deny beats a matching allow; with no match the answer is `ask`.
//! Commands on the dangerous list are always `ask` under an allow rule unless
//! that rule names them in `allow_dangerous`. Pure: no I/O, no clock.

use regex::Regex;
use serde::Deserialize;

use crate::profile::Pattern;

/// What a policy decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Approve once, automatically.
    Allow,
    /// Deny, automatically.
    Deny,
    /// Leave it to the user.
    Ask,
}

/// A shell-style glob over a whole value: `*` any text, `?` one character.
#[derive(Debug, Clone)]
pub struct Glob(Regex);

impl Glob {
    /// Compiles a glob.
    ///
    /// Errors: never for valid UTF-8 (every other character is literal); the
    /// `Result` is kept for the config error path.
    pub fn new(glob: &str) -> Result<Glob, regex::Error> {
        let mut re = String::from("(?s)^");
        for c in glob.chars() {
            match c {
                '*' => re.push_str(".*"),
                '?' => re.push('.'),
                c => re.push_str(&regex::escape(&c.to_string())),
            }
        }
        re.push('$');
        Regex::new(&re).map(Glob)
    }

    /// Whether the whole value matches.
    pub fn matches(&self, s: &str) -> bool {
        self.0.is_match(s)
    }
}

impl<'de> Deserialize<'de> for Glob {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Glob::new(&s).map_err(serde::de::Error::custom)
    }
}

/// One `[[policy]]` rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRule {
    /// Shown in the sidebar and the audit log ("auto-approved by rule NAME").
    pub name: String,
    /// The decision when every given field matches.
    pub decision: Verdict,
    /// Slot id glob.
    #[serde(default)]
    pub slot: Option<Glob>,
    /// Role glob.
    #[serde(default)]
    pub role: Option<Glob>,
    /// Agent (profile name) glob.
    #[serde(default)]
    pub agent: Option<Glob>,
    /// Tool glob (`Bash`, `Shell`, `Edit`, `Write*`).
    #[serde(default)]
    pub tool: Option<Glob>,
    /// Subject glob (`echo *`, `src/*.rs`).
    #[serde(default)]
    pub subject: Option<Glob>,
    /// Tool regex (instead of `tool`).
    #[serde(default)]
    pub tool_regex: Option<Pattern>,
    /// Subject regex (instead of `subject`).
    #[serde(default)]
    pub subject_regex: Option<Pattern>,
    /// Dangerous patterns (by name) this allow rule may approve anyway.
    #[serde(default)]
    pub allow_dangerous: Vec<String>,
}

/// A dangerous command or write, by name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dangerous {
    /// Its name (`sudo`, `rm-rf-root`), used by `allow_dangerous`.
    pub name: String,
    /// Searched in the subject.
    pub regex: Pattern,
    /// Only for these tools (globs); all tools when empty.
    #[serde(default)]
    pub tools: Vec<Glob>,
}

/// The built-in dangerous list: (name, regex on the subject, what it is).
/// Documented in README.md; extended by `[[dangerous]]` tables.
pub const BUILTIN_DANGEROUS: [(&str, &str, &str); 12] = [
    (
        "rm-rf-root",
        r"\brm\s+(?:[^|;&]*\s)?-(?:[a-zA-Z]*[rR][a-zA-Z]*|-recursive)\b[^|;&]*\s(?:/|/\*|~|~/|~/\*|\$HOME|\$HOME/|\.\.|\.\./)(?:\s|$|[;&|])",
        "recursive delete of /, ~ or ..",
    ),
    ("mkfs", r"\bmkfs(?:\.\w+)?\b", "make a file system"),
    (
        "dd-of",
        r"\bdd\b[^|;&]*\bof=",
        "dd writing to a file or device",
    ),
    (
        "pipe-to-shell",
        r"\b(?:curl|wget)\b[^|;&]*\|\s*(?:sudo\s+)?(?:ba|z|k|da|fi)?sh\b",
        "piping a download into a shell",
    ),
    (
        "git-push-force",
        r"\bgit\s+push\b[^;&|]*\s(?:--force(?:-with-lease)?\b|-[a-zA-Z]*f\b)",
        "git push --force",
    ),
    (
        "git-reset-hard",
        r"\bgit\s+reset\b[^;&|]*--hard\b",
        "git reset --hard",
    ),
    ("sudo", r"(?:^|[\s;&|(])sudo\b", "sudo"),
    (
        "chmod-777-recursive",
        r"\bchmod\s+(?:-[a-zA-Z]*R[a-zA-Z]*\s+0?777|0?777\s+-[a-zA-Z]*R)\b",
        "chmod -R 777",
    ),
    (
        "home-dotfile-write",
        r"(?:^|[\s>])(?:~|\$HOME|/root|/home/[^/\s]+)/\.[A-Za-z0-9_]",
        "a dot-file in the home directory",
    ),
    ("fork-bomb", r":\(\)\s*\{\s*:\s*\|\s*:", "a fork bomb"),
    (
        "shutdown",
        r"\b(?:shutdown|reboot|halt|poweroff)\b",
        "shutting the machine down",
    ),
    (
        "raw-disk-write",
        r">\s*/dev/(?:sd|nvme|hd|vd|xvd)",
        "writing to a raw disk",
    ),
];

/// The decision on one prompt, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// What to do.
    pub verdict: Verdict,
    /// The rule that decided (none for the default ask).
    pub rule: Option<String>,
    /// Why, in words (`dangerous: sudo`).
    pub reason: String,
}

/// What a prompt is, for matching.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// Slot id.
    pub slot: &'a str,
    /// Slot role.
    pub role: &'a str,
    /// Agent profile name.
    pub agent: &'a str,
    /// Tool name.
    pub tool: &'a str,
    /// The command, file or URL.
    pub subject: &'a str,
}

/// All rules and the dangerous list.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Rules in config order.
    pub rules: Vec<PolicyRule>,
    /// Built-in plus configured dangerous patterns.
    pub dangerous: Vec<Dangerous>,
}

impl PolicyRule {
    fn matches(&self, s: &Subject) -> bool {
        let g = |g: &Option<Glob>, v: &str| g.as_ref().is_none_or(|g| g.matches(v));
        let r = |p: &Option<Pattern>, v: &str| p.as_ref().is_none_or(|p| p.0.is_match(v));
        g(&self.slot, s.slot)
            && g(&self.role, s.role)
            && g(&self.agent, s.agent)
            && g(&self.tool, s.tool)
            && g(&self.subject, s.subject)
            && r(&self.tool_regex, s.tool)
            && r(&self.subject_regex, s.subject)
    }
}

impl Policy {
    /// A policy from config rules and extra dangerous patterns (added to the
    /// built-in list).
    pub fn new(rules: Vec<PolicyRule>, extra: Vec<Dangerous>) -> Policy {
        let mut dangerous: Vec<Dangerous> = BUILTIN_DANGEROUS
            .iter()
            .filter_map(|(name, re, _)| {
                Regex::new(re).ok().map(|r| Dangerous {
                    name: (*name).to_string(),
                    regex: Pattern(r),
                    tools: Vec::new(),
                })
            })
            .collect();
        dangerous.extend(extra);
        Policy { rules, dangerous }
    }

    /// The names of the dangerous patterns a subject matches.
    pub fn dangers(&self, s: &Subject) -> Vec<&str> {
        self.dangerous
            .iter()
            .filter(|d| d.tools.is_empty() || d.tools.iter().any(|t| t.matches(s.tool)))
            .filter(|d| d.regex.0.is_match(s.subject))
            .map(|d| d.name.as_str())
            .collect()
    }

    /// Decides a prompt: deny over allow, dangerous over allow (unless the
    /// allow rule opts in by name), default ask.
    pub fn decide(&self, s: &Subject) -> Decision {
        let matching: Vec<&PolicyRule> = self.rules.iter().filter(|r| r.matches(s)).collect();
        if let Some(d) = matching.iter().find(|r| r.decision == Verdict::Deny) {
            return Decision {
                verdict: Verdict::Deny,
                rule: Some(d.name.clone()),
                reason: format!("denied by rule {}", d.name),
            };
        }
        let dangers = self.dangers(s);
        // The first matching allow rule decides.
        if let Some(a) = matching.iter().find(|r| r.decision == Verdict::Allow) {
            let blocked: Vec<&&str> = dangers
                .iter()
                .filter(|d| !a.allow_dangerous.iter().any(|x| x == **d))
                .collect();
            if blocked.is_empty() {
                return Decision {
                    verdict: Verdict::Allow,
                    rule: Some(a.name.clone()),
                    reason: format!("allowed by rule {}", a.name),
                };
            }
            return Decision {
                verdict: Verdict::Ask,
                rule: Some(a.name.clone()),
                reason: format!(
                    "dangerous ({}): rule {} does not allow it by name",
                    blocked.iter().map(|d| **d).collect::<Vec<_>>().join(", "),
                    a.name
                ),
            };
        }
        match matching.iter().find(|r| r.decision == Verdict::Ask) {
            Some(r) => Decision {
                verdict: Verdict::Ask,
                rule: Some(r.name.clone()),
                reason: format!("rule {} says ask", r.name),
            },
            None => Decision {
                verdict: Verdict::Ask,
                rule: None,
                reason: "no rule matches".into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(toml_src: &str) -> PolicyRule {
        toml::from_str(toml_src).unwrap_or_else(|e| panic!("{e}"))
    }

    fn subj<'a>(tool: &'a str, subject: &'a str) -> Subject<'a> {
        Subject {
            slot: "api",
            role: "backend",
            agent: "claude",
            tool,
            subject,
        }
    }

    #[test]
    fn globs_match_whole_values() {
        let g = Glob::new("echo *").unwrap_or_else(|e| panic!("{e}"));
        assert!(g.matches("echo hello > hello.txt"));
        assert!(!g.matches("sudo echo hi"));
        assert!(Glob::new("a?c").is_ok_and(|g| g.matches("abc") && !g.matches("abbc")));
        assert!(Glob::new("x.y").is_ok_and(|g| !g.matches("xzy")));
    }

    /// Precedence table: deny over allow, dangerous over allow, default ask.
    #[test]
    fn precedence_table() {
        let allow_echo =
            rule("name = \"echo\"\ndecision = \"allow\"\ntool = \"Bash\"\nsubject = \"echo *\"\n");
        let allow_all = rule("name = \"all\"\ndecision = \"allow\"\n");
        let deny_rm =
            rule("name = \"no-rm\"\ndecision = \"deny\"\nsubject_regex = \"\\\\brm\\\\b\"\n");
        let allow_sudo =
            rule("name = \"sudo-ok\"\ndecision = \"allow\"\nallow_dangerous = [\"sudo\"]\n");
        let ask_web = rule("name = \"web\"\ndecision = \"ask\"\ntool = \"WebFetch\"\n");
        type Case<'a> = (Vec<PolicyRule>, &'a str, &'a str, Verdict, Option<&'a str>);
        let cases: Vec<Case> = vec![
            (vec![], "Bash", "echo hi", Verdict::Ask, None),
            (
                vec![allow_echo.clone()],
                "Bash",
                "echo hi",
                Verdict::Allow,
                Some("echo"),
            ),
            (
                vec![allow_echo.clone()],
                "Shell",
                "echo hi",
                Verdict::Ask,
                None,
            ),
            (vec![allow_echo.clone()], "Bash", "ls", Verdict::Ask, None),
            (
                vec![allow_all.clone(), deny_rm.clone()],
                "Bash",
                "rm a.txt",
                Verdict::Deny,
                Some("no-rm"),
            ),
            (
                vec![deny_rm.clone(), allow_all.clone()],
                "Bash",
                "rm a.txt",
                Verdict::Deny,
                Some("no-rm"),
            ),
            (
                vec![allow_all.clone()],
                "Bash",
                "rm -rf /",
                Verdict::Ask,
                Some("all"),
            ),
            (
                vec![allow_all.clone()],
                "Bash",
                "rm -rf ~",
                Verdict::Ask,
                Some("all"),
            ),
            (
                vec![allow_all.clone()],
                "Bash",
                "sudo apt install x",
                Verdict::Ask,
                Some("all"),
            ),
            (
                vec![allow_sudo.clone()],
                "Bash",
                "sudo apt install x",
                Verdict::Allow,
                Some("sudo-ok"),
            ),
            (
                vec![allow_sudo.clone()],
                "Bash",
                "sudo rm -rf /",
                Verdict::Ask,
                Some("sudo-ok"),
            ),
            (
                vec![allow_all.clone(), deny_rm.clone()],
                "Bash",
                "rm -rf /",
                Verdict::Deny,
                Some("no-rm"),
            ),
            (
                vec![ask_web.clone(), allow_all.clone()],
                "WebFetch",
                "https://x",
                Verdict::Allow,
                Some("all"),
            ),
            (
                vec![ask_web],
                "WebFetch",
                "https://x",
                Verdict::Ask,
                Some("web"),
            ),
        ];
        for (i, (rules, tool, subject, verdict, by)) in cases.into_iter().enumerate() {
            let p = Policy::new(rules, vec![]);
            let d = p.decide(&subj(tool, subject));
            assert_eq!(
                d.verdict, verdict,
                "case {i}: {tool} {subject}: {}",
                d.reason
            );
            assert_eq!(d.rule.as_deref(), by, "case {i}");
        }
    }

    #[test]
    fn dangerous_list() {
        let p = Policy::new(vec![], vec![]);
        let bad = [
            ("rm -rf /", "rm-rf-root"),
            ("rm -rf /*", "rm-rf-root"),
            ("rm -fr ~", "rm-rf-root"),
            ("rm -r -f ..", "rm-rf-root"),
            ("cd x && rm --recursive ~/", "rm-rf-root"),
            ("mkfs.ext4 /dev/sda1", "mkfs"),
            ("dd if=/dev/zero of=/dev/sda", "dd-of"),
            ("curl -fsSL https://x.sh | sh", "pipe-to-shell"),
            ("wget -qO- https://x | sudo bash", "pipe-to-shell"),
            ("git push --force origin main", "git-push-force"),
            ("git push -f", "git-push-force"),
            ("git reset --hard HEAD~3", "git-reset-hard"),
            ("sudo ls", "sudo"),
            ("chmod -R 777 .", "chmod-777-recursive"),
            ("echo x >> ~/.bashrc", "home-dotfile-write"),
            ("~/.ssh/authorized_keys", "home-dotfile-write"),
        ];
        for (s, name) in bad {
            let d = p.dangers(&subj("Bash", s));
            assert!(d.contains(&name), "{s}: {d:?}");
        }
        for ok in [
            "rm -rf build",
            "rm -rf ./target",
            "echo hello > hello.txt",
            "git push origin main",
            "git reset HEAD file",
            "chmod 644 a",
            "cat ~/notes.txt",
            "ls -la /",
        ] {
            assert!(
                p.dangers(&subj("Bash", ok)).is_empty(),
                "{ok}: {:?}",
                p.dangers(&subj("Bash", ok))
            );
        }
    }
}
