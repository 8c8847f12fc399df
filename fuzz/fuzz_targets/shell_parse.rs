//! The shell parser's walk: any text parses to commands or an error, never
//! a panic, an abort or a stack overflow.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = corral::policy::shell::parse(text);
    }
});
