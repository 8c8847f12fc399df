//! The command model over any words: option reading (grouped short
//! options, values, `=;` lists), subcommands, wrappers and sed scripts never
//! panic, and wrappers never nest without bound.
#![no_main]

use std::sync::OnceLock;

use corral::policy::model::Model;
use corral::policy::shell::Word;
use libfuzzer_sys::fuzz_target;

fn model() -> &'static Model {
    static M: OnceLock<Model> = OnceLock::new();
    M.get_or_init(|| Model::builtin().unwrap_or_default())
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Words split on NUL, so a word may hold spaces and quotes.
    let words: Vec<Word> = text
        .split('\0')
        .map(|w| Word {
            text: w.to_string(),
            literal: !w.starts_with('$'),
        })
        .collect();
    let layers = model().layers(&words);
    assert!(layers.len() <= 17, "{} layers", layers.len());
});
