//! Request timestamps: the ISO-8601 basic format SigV4 signs (`20150830T123600Z`), the
//! HTTP `Date` fallback, and the clock-skew window AWS allows.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};

const AMZ_DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// How far a header-signed request's time may be from the server's clock, either way.
pub const MAX_CLOCK_SKEW: Duration = Duration::minutes(15);

/// Parses `20150830T123600Z`. Strict about length so that chrono's lenient field widths
/// cannot accept a string whose first eight characters are not the scope date.
pub fn parse_amz_date(s: &str) -> Option<DateTime<Utc>> {
    if s.len() != 16 || !s.is_ascii() {
        return None;
    }
    NaiveDateTime::parse_from_str(s, AMZ_DATE_FORMAT).ok().map(|t| t.and_utc())
}

/// Parses an HTTP `Date` header (`Sun, 30 Aug 2015 12:36:00 GMT`).
pub fn parse_http_date(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(s).ok().map(|t| t.with_timezone(&Utc))
}

pub fn format_amz_date(t: &DateTime<Utc>) -> String {
    t.format(AMZ_DATE_FORMAT).to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn amz_date_round_trips() {
        let t = parse_amz_date("20150830T123600Z").unwrap();
        assert_eq!(format_amz_date(&t), "20150830T123600Z");
    }

    #[test]
    fn amz_date_rejects_other_shapes() {
        for bad in
            ["2015-08-30T12:36:00Z", "20150830T123600", "2015830T123600Z", "20150830T1236000Z", "20151330T123600Z"]
        {
            assert!(parse_amz_date(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn http_date_is_accepted() {
        let t = parse_http_date("Sun, 30 Aug 2015 12:36:00 GMT").unwrap();
        assert_eq!(format_amz_date(&t), "20150830T123600Z");
    }
}
