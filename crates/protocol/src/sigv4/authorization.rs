//! The header form: parsing `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
//! Signature=…`.

use super::credential::Credential;
use super::error::AuthError;
use super::string_to_sign::ALGORITHM;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationHeader {
    pub credential: Credential,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

impl AuthorizationHeader {
    pub fn parse(value: &str) -> Result<Self, AuthError> {
        let value = value.trim();
        let (algorithm, rest) = value.split_once(|c: char| c.is_ascii_whitespace()).unwrap_or((value, ""));
        if algorithm != ALGORITHM {
            return Err(AuthError::IncompleteSignature(format!(
                "Unsupported AWS 'algorithm': '{algorithm}'; only '{ALGORITHM}' is accepted. \
                 Authorization={value}"
            )));
        }

        let mut credential = None;
        let mut signed_headers = None;
        let mut signature = None;
        for field in rest.split(',').map(str::trim).filter(|f| !f.is_empty()) {
            let Some((key, val)) = field.split_once('=') else {
                return Err(AuthError::IncompleteSignature(format!(
                    "Authorization header requires each component to be of the form key=value: \
                     '{field}'. Authorization={value}"
                )));
            };
            match key.trim() {
                "Credential" => credential = Some(val.trim()),
                "SignedHeaders" => signed_headers = Some(val.trim()),
                "Signature" => signature = Some(val.trim()),
                // Unknown components are ignored, as AWS does.
                _ => {}
            }
        }

        let mut missing = String::new();
        for (name, found) in [("Credential", credential), ("Signature", signature), ("SignedHeaders", signed_headers)] {
            if found.is_none_or(str::is_empty) {
                missing.push_str(&format!("Authorization header requires '{name}' parameter. "));
            }
        }
        match (credential, signed_headers, signature) {
            (Some(credential), Some(signed_headers), Some(signature)) if missing.is_empty() => Ok(Self {
                credential: Credential::parse(credential)?,
                signed_headers: split_signed_headers(signed_headers),
                signature: signature.to_owned(),
            }),
            _ => Err(AuthError::IncompleteSignature(format!("{missing}Authorization={value}"))),
        }
    }
}

/// `host;x-amz-date` → names as listed; the client's order is what it signed.
pub fn split_signed_headers(value: &str) -> Vec<String> {
    value.split(';').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_botocore_style_header() {
        let h = AuthorizationHeader::parse(
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-west-2/devicefarm/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=abc123",
        )
        .unwrap();
        assert_eq!(h.credential.access_key_id, "AKID");
        assert_eq!(h.signed_headers, vec!["host", "x-amz-date"]);
        assert_eq!(h.signature, "abc123");
    }

    #[test]
    fn names_every_missing_component() {
        let err = AuthorizationHeader::parse("AWS4-HMAC-SHA256 SignedHeaders=host").unwrap_err();
        let msg = err.message();
        assert!(msg.contains("requires 'Credential'"), "{msg}");
        assert!(msg.contains("requires 'Signature'"), "{msg}");
        assert!(!msg.contains("requires 'SignedHeaders'"), "{msg}");
        assert_eq!(err.code().as_str(), "IncompleteSignatureException");
    }

    #[test]
    fn rejects_other_algorithms_and_shapeless_fields() {
        assert!(matches!(
            AuthorizationHeader::parse("AWS4-HMAC-SHA512 Credential=a/b/c/d/e"),
            Err(AuthError::IncompleteSignature(_))
        ));
        assert!(matches!(
            AuthorizationHeader::parse("AWS4-HMAC-SHA256 Credential"),
            Err(AuthError::IncompleteSignature(_))
        ));
    }
}
