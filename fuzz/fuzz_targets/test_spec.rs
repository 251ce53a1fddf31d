//! A test spec upload (YAML): parsed or refused with its line, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = host::uploads::parse_test_spec(text);
    }
});
