//! `farmhand billing report`: the ledger as a person reads it (a table with totals), as a
//! spreadsheet imports it (CSV) or as a script reads it (JSON, with the totals). Minutes are
//! the ledger's whole seconds / 60, as billed.

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

/// Billed seconds as the minutes every report shows: two decimals.
pub fn minutes(seconds: i64) -> String {
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
    writeln!(
        out,
        "settled,account_id,project_arn,run_arn,job_arn,device_name,platform,billing_method,seconds,minutes"
    )?;
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

/// How the report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A row per job, then the totals.
    Table,
    /// A header line, then a row per job (RFC 4180).
    Csv,
    /// {"entries": [...], "totals": {"metered", "unmetered", "total"}}, each total with its
    /// jobs, seconds and minutes.
    Json,
}

/// Jobs and billed seconds of one kind of billing.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sum {
    pub jobs: usize,
    pub seconds: i64,
}

impl Sum {
    fn add(&mut self, seconds: i64) {
        self.jobs += 1;
        self.seconds += seconds;
    }

    fn json(self) -> serde_json::Value {
        serde_json::json!({ "jobs": self.jobs, "seconds": self.seconds, "minutes": self.seconds as f64 / 60.0 })
    }
}

/// The report's totals: the one place entries are summed, for every format.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub metered: Sum,
    pub unmetered: Sum,
    /// Desktop browser sessions: browser minutes, not device minutes.
    pub browser: Sum,
}

impl Totals {
    pub fn of(entries: &[LedgerEntry]) -> Self {
        let mut t = Totals::default();
        for e in entries {
            match e.billing_method.as_str() {
                store::ledger::METERED => t.metered.add(e.seconds),
                store::ledger::BROWSER => t.browser.add(e.seconds),
                _ => t.unmetered.add(e.seconds),
            }
        }
        t
    }

    /// Device minutes, metered and unmetered (browser minutes are their own kind).
    pub fn total(&self) -> Sum {
        Sum { jobs: self.metered.jobs + self.unmetered.jobs, seconds: self.metered.seconds + self.unmetered.seconds }
    }
}

pub fn write(out: &mut impl Write, format: Format, entries: &[LedgerEntry]) -> Result<()> {
    match format {
        Format::Table => write_table(out, entries),
        Format::Csv => write_csv(out, entries),
        Format::Json => write_json(out, entries),
    }
}

pub fn write_json(out: &mut impl Write, entries: &[LedgerEntry]) -> Result<()> {
    let rows: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            serde_json::json!({
                "settled": rfc3339(e.settled_ms),
                "accountId": e.account_id,
                "projectArn": e.project_arn,
                "runArn": e.run_arn,
                "jobArn": e.job_arn,
                "deviceArn": e.device_arn,
                "deviceName": e.device_name,
                "platform": e.platform,
                "billingMethod": e.billing_method,
                "seconds": e.seconds,
                "minutes": e.seconds as f64 / 60.0,
            })
        })
        .collect();
    let totals = Totals::of(entries);
    let report = serde_json::json!({
        "entries": rows,
        "totals": {
            "metered": totals.metered.json(),
            "unmetered": totals.unmetered.json(),
            "total": totals.total().json(),
            "browser": totals.browser.json(),
        },
    });
    serde_json::to_writer_pretty(&mut *out, &report)?;
    writeln!(out)?;
    Ok(())
}

pub fn write_table(out: &mut impl Write, entries: &[LedgerEntry]) -> Result<()> {
    writeln!(
        out,
        "{:<20} {:<12} {:<28} {:<10} {:<10} {:>9}",
        "SETTLED", "ACCOUNT", "DEVICE", "PLATFORM", "METHOD", "MINUTES"
    )?;
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
    }
    let totals = Totals::of(entries);
    write!(
        out,
        "{} jobs; metered {} min, unmetered {} min, total {} min",
        totals.total().jobs,
        minutes(totals.metered.seconds),
        minutes(totals.unmetered.seconds),
        minutes(totals.total().seconds),
    )?;
    if totals.browser.jobs > 0 {
        write!(out, "; {} browser sessions, {} browser min", totals.browser.jobs, minutes(totals.browser.seconds))?;
    }
    writeln!(out)?;
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
    fn json_has_the_entries_and_totals_per_method() {
        let mut out = Vec::new();
        write_json(&mut out, &[entry("METERED", 90, "a"), entry("UNMETERED", 30, "b"), entry("METERED", 1, "c")])
            .expect("write");
        let report: serde_json::Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(report["entries"].as_array().map(Vec::len), Some(3));
        assert_eq!(report["entries"][0]["deviceName"], "a");
        assert_eq!(report["entries"][0]["minutes"], 1.5);
        assert_eq!(report["totals"]["metered"], serde_json::json!({"jobs": 2, "seconds": 91, "minutes": 91.0 / 60.0}));
        assert_eq!(report["totals"]["unmetered"], serde_json::json!({"jobs": 1, "seconds": 30, "minutes": 0.5}));
        assert_eq!(report["totals"]["total"]["seconds"], 121);
    }

    #[test]
    fn browser_minutes_are_their_own_kind() {
        let entries = [entry("METERED", 60, "a"), entry("BROWSER", 30, "chrome 156"), entry("BROWSER", 90, "firefox")];
        let mut out = Vec::new();
        write_table(&mut out, &entries).expect("write");
        let text = String::from_utf8(out).expect("utf8");
        assert!(
            text.contains(
                "1 jobs; metered 1.00 min, unmetered 0.00 min, total 1.00 min; 2 browser sessions, 2.00 browser min"
            ),
            "{text}"
        );
        let mut out = Vec::new();
        write_json(&mut out, &entries).expect("write");
        let report: serde_json::Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(report["totals"]["browser"], serde_json::json!({"jobs": 2, "seconds": 120, "minutes": 2.0}));
        assert_eq!(report["totals"]["total"]["seconds"], 60);
    }

    #[test]
    fn instants() {
        assert_eq!(parse_instant("1970-01-02").expect("date"), 86_400_000);
        assert_eq!(parse_instant("1970-01-01T00:00:01Z").expect("rfc3339"), 1000);
        assert!(parse_instant("yesterday").is_err());
    }
}
