//! ARN parsing: never panics, and what parses prints back to text that parses to the same ARN.
#![no_main]

use domain::arn::Arn;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(arn) = text.parse::<Arn>() {
        let again: Arn = arn.to_string().parse().expect("a printed ARN parses");
        assert_eq!(again, arn);
    }
});
