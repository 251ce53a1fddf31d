//! The credential scope `AKID/20150830/us-west-2/devicefarm/aws4_request`: who signed and
//! for which day, region and service the derived key is valid.

use super::error::AuthError;

const TERMINATOR: &str = "aws4_request";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub access_key_id: String,
    /// `yyyyMMdd`, as signed.
    pub date: String,
    pub region: String,
    pub service: String,
}

impl Credential {
    /// Parses the `Credential=` value. Only the shape is checked here; whether the scope is
    /// acceptable is [`verify`](super::ParsedAuth::verify)'s decision.
    pub fn parse(value: &str) -> Result<Self, AuthError> {
        let parts: Vec<&str> = value.split('/').collect();
        let [akid, date, region, service, terminator] = parts.as_slice() else {
            return Err(AuthError::IncompleteSignature(format!(
                "Credential should have exactly 5 slash-separated parts \
                 ('<access key id>/<yyyyMMdd>/<region>/<service>/aws4_request'), not {}: '{value}'.",
                parts.len()
            )));
        };
        if akid.is_empty() {
            return Err(AuthError::IncompleteSignature(format!("Credential has an empty access key id: '{value}'.")));
        }
        if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AuthError::IncompleteSignature(format!(
                "Credential date must be in the form yyyyMMdd, not '{date}'."
            )));
        }
        if *terminator != TERMINATOR {
            return Err(AuthError::InvalidSignature(format!(
                "Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{terminator}'."
            )));
        }
        Ok(Self {
            access_key_id: (*akid).to_owned(),
            date: (*date).to_owned(),
            region: (*region).to_owned(),
            service: (*service).to_owned(),
        })
    }

    /// `date/region/service/aws4_request`, the scope line of the string to sign.
    pub fn scope(&self) -> String {
        scope(&self.date, &self.region, &self.service)
    }
}

pub fn scope(date: &str, region: &str, service: &str) -> String {
    format!("{date}/{region}/{service}/{TERMINATOR}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_well_formed_credential() {
        let c = Credential::parse("AKID/20150830/us-west-2/devicefarm/aws4_request").unwrap();
        assert_eq!(c.access_key_id, "AKID");
        assert_eq!(c.scope(), "20150830/us-west-2/devicefarm/aws4_request");
    }

    #[test]
    fn rejects_wrong_part_count_bad_date_and_terminator() {
        assert!(matches!(
            Credential::parse("AKID/20150830/us-west-2/aws4_request"),
            Err(AuthError::IncompleteSignature(_))
        ));
        assert!(matches!(
            Credential::parse("AKID/2015-08-30/us-west-2/devicefarm/aws4_request"),
            Err(AuthError::IncompleteSignature(_))
        ));
        assert!(matches!(
            Credential::parse("AKID/20150830/us-west-2/devicefarm/aws5_request"),
            Err(AuthError::InvalidSignature(_))
        ));
    }
}
