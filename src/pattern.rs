//! [`Pattern`]: a regular expression read from TOML. A leaf: profiles and
//! policy rules both use it, and it depends on nothing of corral's.

use regex::Regex;
use serde::{Deserialize, Deserializer, de};

/// A regular expression that deserializes from a string (errors name the
/// pattern).
#[derive(Debug, Clone)]
pub struct Pattern(pub Regex);

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Regex::new(&s)
            .map(Pattern)
            .map_err(|e| de::Error::custom(format!("bad regex {s:?}: {e}")))
    }
}
