//! Policy rules the policy and detection tests share.

use corral::policy::{Policy, PolicyRule};

/// One `[[policy]]` table's body.
pub fn rule(src: &str) -> PolicyRule {
    toml::from_str(src).unwrap_or_else(|e| panic!("{src}: {e}"))
}

/// `[[policy]] name = "all" decision = "allow"`: allows everything that is
/// not dangerous or unprovable.
pub fn allow_all() -> Policy {
    Policy::new(vec![rule("name = \"all\"\ndecision = \"allow\"\n")], vec![])
}

/// Allows `echo *` for any tool (the README's example rule).
pub fn allow_echo() -> Policy {
    Policy::new(
        vec![rule(
            "name = \"echo\"\ndecision = \"allow\"\nsubject = \"echo *\"\n",
        )],
        vec![],
    )
}
