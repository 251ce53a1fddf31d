//! Step 2 of SigV4: the string to sign, which binds the canonical request to a time and a
//! credential scope.

use sha2::{Digest, Sha256};

/// The only algorithm farmhand accepts (and the only one AWS SigV4 defines for HMAC).
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Hex SHA-256, the hash SigV4 uses everywhere (payloads and the canonical request).
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// `AWS4-HMAC-SHA256\n<amz date>\n<scope>\n<hex sha256 of canonical request>`.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!("{ALGORITHM}\n{amz_date}\n{scope}\n{}", sha256_hex(canonical_request.as_bytes()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn empty_payload_hash_is_the_well_known_constant() {
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn lines_are_in_sigv4_order() {
        let sts = string_to_sign("20150830T123600Z", "20150830/r/s/aws4_request", "");
        let lines: Vec<&str> = sts.lines().collect();
        assert_eq!(lines[0], ALGORITHM);
        assert_eq!(lines[1], "20150830T123600Z");
        assert_eq!(lines[2], "20150830/r/s/aws4_request");
        assert_eq!(lines[3], sha256_hex(b""));
    }
}
