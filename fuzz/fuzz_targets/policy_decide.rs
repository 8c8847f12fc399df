//! Policy evaluation of any subject under allow-everything, a command rule
//! and a path rule, for a shell tool and a file tool: a decision always
//! comes back, and a subject that does not parse is never allowed.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use corral::policy::{Policy, PolicyRule, Subject, Verdict};
use libfuzzer_sys::fuzz_target;

fn rule(src: &str) -> PolicyRule {
    match toml::from_str(src) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    }
}

fn policies() -> &'static [Policy; 3] {
    static P: OnceLock<[Policy; 3]> = OnceLock::new();
    P.get_or_init(|| {
        [
            Policy::new(vec![rule("name = \"all\"\ndecision = \"allow\"\n")], vec![]),
            Policy::new(
                vec![
                    rule("name = \"echo\"\ndecision = \"allow\"\ntool = \"Bash\"\nsubject = \"echo *\"\n"),
                    rule("name = \"push\"\ndecision = \"deny\"\nsubject = \"git push*\"\n"),
                ],
                vec![],
            ),
            Policy::new(
                vec![rule("name = \"src\"\ndecision = \"allow\"\ntool = \"Edit\"\nsubject = \"src/**\"\n")],
                vec![],
            ),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let cwd = Path::new("/tmp/corral-fuzz-workspace");
    for p in policies() {
        for tool in ["Bash", "Edit"] {
            let s = Subject {
                cwd: Some(cwd),
                ..Subject::new("s", "r", "claude", tool, text)
            };
            let d = p.decide(&s);
            if tool == "Bash"
                && d.verdict == Verdict::Allow
                && corral::policy::shell::parse(text).is_err()
            {
                panic!("allowed text that does not parse: {text:?}");
            }
            let _ = corral::policy::report(p, &s);
        }
    }
});
