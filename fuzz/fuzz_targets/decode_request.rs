//! A request body for any operation: JSON parsing, then validation against the model's
//! constraints. Whatever the bytes, the answer is a value or an AWS error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::model::Operation;

fuzz_target!(|data: &[u8]| {
    let Some((which, body)) = data.split_first() else { return };
    let operation = Operation::ALL[*which as usize % Operation::ALL.len()];
    let _ = protocol::decode_input::<serde_json::Value>(operation, body);
});
