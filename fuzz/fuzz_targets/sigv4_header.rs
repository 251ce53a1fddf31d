//! The SigV4 `Authorization` header and presigned query: whatever a client sends, parsing
//! ends in a parsed signature or an authentication error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::sigv4::{parse, RequestParts};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The first line is the query, the rest the Authorization header.
    let (query, authorization) = text.split_once('\n').unwrap_or(("", &text));
    let mut headers = vec![
        ("host".to_owned(), "127.0.0.1:4766".to_owned()),
        ("x-amz-date".to_owned(), "20261125T120000Z".to_owned()),
    ];
    if !authorization.is_empty() {
        headers.push(("authorization".to_owned(), authorization.to_owned()));
    }
    let request =
        RequestParts { method: "POST", raw_path: "/", raw_query: query, headers: &headers, payload_sha256: None };
    let _ = parse(&request);
});
