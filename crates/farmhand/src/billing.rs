//! `farmhand billing report`: the ledger as a person reads it (a table with totals) or as a
//! spreadsheet imports it (CSV). Minutes are the ledger's whole seconds / 60, as billed.

use anyhow::{Context, Result};
use std::io::Write;
use store::LedgerEntry;

/// Accepts RFC 3339 (`2026-11-25T10:00:00Z`) or a plain date (midnight UTC).
pub fn parse_instant(text: &str) -> Result<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_millis());
    }
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .with_context(|| format!("'{text}' is neither an RFC 3339 instant nor a YYYY-MM-DD date"))?;
    Ok(date.and_hms_opt(0, 0, 0).context("midnight")?.and_utc().timestamp_millis())
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn minutes(seconds: i64) -> String {
    format!("{:.2}", seconds as f64 / 60.0)
}

/// Quotes a CSV field when it needs it (RFC 4180).
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

pub fn write_csv(out: &mut impl Write, entries: &[LedgerEntry]) -> Result<()> {
    writeln!(out, "settled,account_id,project_arn,run_arn,job_arn,device_name,platform,billing_method,seconds,minutes")?;
    for e in entries {
        let row = [
            rfc3339(e.settled_ms),
            e.account_id.clone(),
            e.project_arn.clone(),
            e.run_arn.clone(),
            e.job_arn.clone(),
            e.device_name.clone(),
            e.platform.clone(),
            e.billing_method.clone(),
            e.seconds.to_string(),
            minutes(e.seconds),
        ];
        writeln!(out, "{}", row.iter().map(|f| field(f)).collect::<Vec<_>>().join(","))?;
    }
    Ok(())
}

pub fn write_table(out: &mut impl Write, entries: &[LedgerEntry]) -> Result<()> {
    writeln!(out, "{:<20} {:<12} {:<28} {:<10} {:<10} {:>9}", "SETTLED", "ACCOUNT", "DEVICE", "PLATFORM", "METHOD", "MINUTES")?;
    let (mut metered, mut unmetered) = (0i64, 0i64);
    for e in entries {
        writeln!(
            out,
            "{:<20} {:<12} {:<28} {:<10} {:<10} {:>9}",
            rfc3339(e.settled_ms),
            e.account_id,
            e.device_name,
            e.platform,
            e.billing_method,
            minutes(e.seconds)
        )?;
        match e.billing_method.as_str() {
            store::ledger::METERED => metered += e.seconds,
            _ => unmetered += e.seconds,
        }
    }
    writeln!(out, "{} jobs; metered {} min, unmetered {} min, total {} min", entries.len(), minutes(metered), minutes(unmetered), minutes(metered + unmetered))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(method: &str, seconds: i64, device: &str) -> LedgerEntry {
        LedgerEntry {
            job_arn: "arn:aws:devicefarm:us-west-2:123456789012:job:p/r/00000".into(),
            account_id: "123456789012".into(),
            project_arn: "arn:aws:devicefarm:us-west-2:123456789012:project:p".into(),
            run_arn: "arn:aws:devicefarm:us-west-2:123456789012:run:p/r".into(),
            device_arn: "arn:aws:devicefarm:us-west-2::device:ABC".into(),
            device_name: device.into(),
            platform: "ANDROID".into(),
            billing_method: method.into(),
            seconds,
            started_ms: 0,
            settled_ms: 1_764_000_000_000,
        }
    }

    #[test]
    fn csv_quotes_and_sums() {
        let mut out = Vec::new();
        write_csv(&mut out, &[entry("METERED", 90, "Pixel, \"8\"")]).expect("write");
        let text = String::from_utf8(out).expect("utf8");
        assert!(text.contains("\"Pixel, \"\"8\"\"\""), "{text}");
        assert!(text.trim_end().ends_with(",90,1.50"), "{text}");
    }

    #[test]
    fn table_totals_by_method() {
        let mut out = Vec::new();
        write_table(&mut out, &[entry("METERED", 90, "a"), entry("UNMETERED", 30, "b")]).expect("write");
        let text = String::from_utf8(out).expect("utf8");
        assert!(text.contains("2 jobs; metered 1.50 min, unmetered 0.50 min, total 2.00 min"), "{text}");
    }

    #[test]
    fn instants() {
        assert_eq!(parse_instant("1970-01-02").expect("date"), 86_400_000);
        assert_eq!(parse_instant("1970-01-01T00:00:01Z").expect("rfc3339"), 1000);
        assert!(parse_instant("yesterday").is_err());
    }
}
