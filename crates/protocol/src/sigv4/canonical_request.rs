//! Step 1 of SigV4: the canonical request, built from the request exactly as it arrived.
//!
//! The path rule is the one AWS's non-S3 services use (and botocore's `SigV4Auth`): remove
//! dot segments and empty segments, then URI-encode the *already encoded* path once more, so
//! `/a%20b` signs as `/a%2520b`. The query is decoded and re-encoded strictly so that
//! clients that encode differently on the wire (`%7E` vs `~`) still agree on one form.

use percent_encoding::{percent_decode_str, percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986 unreserved characters is encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Like [`UNRESERVED`] but keeps the path separators.
const PATH: &AsciiSet = &UNRESERVED.remove(b'/');

/// A header named in `SignedHeaders` that the request does not carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingSignedHeader(pub String);

/// URI-encodes bytes the way SigV4 wants query keys and values (and credential values).
pub fn uri_encode(bytes: &[u8]) -> String {
    percent_encode(bytes, UNRESERVED).to_string()
}

/// The canonical URI for a raw (as sent on the wire) request path.
pub fn canonical_uri(raw_path: &str) -> String {
    percent_encode(remove_dot_segments(raw_path).as_bytes(), PATH).to_string()
}

/// RFC 3986 dot-segment removal plus collapsing of repeated slashes, which AWS services
/// require too. Keeps a trailing slash only when something is left before it.
fn remove_dot_segments(path: &str) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    let mut kept: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            s => kept.push(s),
        }
    }
    let lead = if path.starts_with('/') { "/" } else { "" };
    let trail = if path.ends_with('/') && !kept.is_empty() { "/" } else { "" };
    format!("{lead}{}{trail}", kept.join("/"))
}

/// The canonical query string: every `key=value` pair decoded, re-encoded strictly, and
/// sorted by key then value. `exclude_key` drops a parameter (presigned URLs do not sign
/// their own `X-Amz-Signature`).
pub fn canonical_query(raw_query: &str, exclude_key: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = raw_query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
            (reencode(key), reencode(value))
        })
        .filter(|(key, _)| Some(key.as_str()) != exclude_key)
        .collect();
    pairs.sort();
    let mut out = String::with_capacity(raw_query.len());
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
    out
}

fn reencode(component: &str) -> String {
    let bytes: Vec<u8> = percent_decode_str(component).collect();
    uri_encode(&bytes)
}

/// Trims a header value and collapses inner whitespace runs to one space.
pub fn trim_header_value(value: &str) -> String {
    value.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

/// One `name:value\n` line per signed header, in `signed` order; repeated headers are
/// joined with `,` in the order they arrived.
pub fn canonical_headers(headers: &[(String, String)], signed: &[String]) -> Result<String, MissingSignedHeader> {
    let mut out = String::new();
    for name in signed {
        let values: Vec<String> =
            headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| trim_header_value(v)).collect();
        if values.is_empty() {
            return Err(MissingSignedHeader(name.clone()));
        }
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    Ok(out)
}

/// The full canonical request. `canonical_query` comes from [`canonical_query`]; the
/// payload hash is the hex SHA-256 of the body or `UNSIGNED-PAYLOAD`.
pub fn canonical_request(
    method: &str,
    raw_path: &str,
    canonical_query: &str,
    headers: &[(String, String)],
    signed_headers: &[String],
    payload_hash: &str,
) -> Result<String, MissingSignedHeader> {
    let canonical_headers = canonical_headers(headers, signed_headers)?;
    Ok(format!(
        "{method}\n{uri}\n{canonical_query}\n{canonical_headers}\n{signed}\n{payload_hash}",
        uri = canonical_uri(raw_path),
        signed = signed_headers.join(";"),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn root_and_empty_paths_are_a_single_slash() {
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("//"), "/");
    }

    #[test]
    fn encoded_paths_are_encoded_again() {
        // What botocore's SigV4Auth does with a path it already percent-encoded.
        assert_eq!(canonical_uri("/a%20b/%E1%88%B4"), "/a%2520b/%25E1%2588%25B4");
        assert_eq!(canonical_uri("/a b"), "/a%20b");
    }

    #[test]
    fn dot_segments_and_double_slashes_are_removed() {
        assert_eq!(canonical_uri("/a/./b//c/../d/"), "/a/b/d/");
        assert_eq!(canonical_uri("/.."), "/");
    }

    #[test]
    fn query_is_sorted_by_key_then_value_and_strictly_encoded() {
        assert_eq!(canonical_query("b=2&a=z&a=y&c=%7e+x&d", None), "a=y&a=z&b=2&c=~%2Bx&d=");
    }

    #[test]
    fn excluded_key_is_dropped() {
        assert_eq!(canonical_query("X-Amz-Signature=abc&X-Amz-Date=1", Some("X-Amz-Signature")), "X-Amz-Date=1");
    }

    #[test]
    fn repeated_headers_join_in_arrival_order() {
        let headers = vec![
            ("host".to_owned(), "h".to_owned()),
            ("my-header".to_owned(), "  b   c ".to_owned()),
            ("my-header".to_owned(), "a".to_owned()),
        ];
        let signed = vec!["host".to_owned(), "my-header".to_owned()];
        assert_eq!(canonical_headers(&headers, &signed).unwrap(), "host:h\nmy-header:b c,a\n");
    }

    #[test]
    fn missing_signed_header_is_reported() {
        let signed = vec!["host".to_owned()];
        assert_eq!(canonical_headers(&[], &signed), Err(MissingSignedHeader("host".to_owned())));
    }
}
