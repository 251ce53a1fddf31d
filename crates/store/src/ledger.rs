//! The billing ledger: one row per settled job, written exactly once.
//!
//! The ledger is the durable record of device time billed. It is append-only and keyed by
//! the job ARN, so settling a job twice (two replicas racing, a retry after a crash) can
//! never bill twice. The store does not compute seconds; it keeps what the caller settled.

/// `billing_method` of time that counts against the account's metered-minutes quota.
pub const METERED: &str = "METERED";
/// `billing_method` of time on the account's unmetered device slots.
pub const UNMETERED: &str = "UNMETERED";
/// `billing_method` of desktop browser (TestGrid) session time: browser minutes, billed
/// apart from device minutes and never counted against the metered-minutes quota.
pub const BROWSER: &str = "BROWSER";

/// The device time one job was billed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// The key: a job has at most one entry.
    pub job_arn: String,
    pub account_id: String,
    pub project_arn: String,
    pub run_arn: String,
    pub device_arn: String,
    /// The device's name when the job ran, so a report reads well after the device is gone.
    pub device_name: String,
    pub platform: String,
    /// [`METERED`] or [`UNMETERED`].
    pub billing_method: String,
    /// Whole seconds billed, from setup start to teardown end; 0 for a job that never started.
    pub seconds: i64,
    pub started_ms: i64,
    /// When the job settled; reports select and sort by it.
    pub settled_ms: i64,
}

impl LedgerEntry {
    /// Why the store refuses to keep this entry, if it does.
    pub(crate) fn invalid_reason(&self) -> Option<String> {
        if ![METERED, UNMETERED, BROWSER].contains(&self.billing_method.as_str()) {
            return Some(format!(
                "billing method {:?} is none of {METERED}, {UNMETERED}, {BROWSER}",
                self.billing_method
            ));
        }
        if self.seconds < 0 {
            return Some(format!("negative billed seconds {}", self.seconds));
        }
        None
    }
}

/// The whole ledger's totals for one billing method: what `/metrics` reports, in one
/// aggregate query however many jobs have settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingTotal {
    /// [`METERED`] or [`UNMETERED`].
    pub billing_method: String,
    /// Settled jobs (one ledger row each).
    pub jobs: i64,
    pub seconds: i64,
}

/// What [`Store::billing_entries`](crate::Store::billing_entries) returns, ordered by
/// `(settled_ms, job_arn)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerQuery {
    /// Only this account's entries; every account's if `None`.
    pub account_id: Option<String>,
    /// Only entries settled at or after this instant.
    pub since_ms: Option<i64>,
    /// Only entries settled before this instant (exclusive, so consecutive periods
    /// `[a, b)`, `[b, c)` never count an entry twice).
    pub until_ms: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(method: &str, seconds: i64) -> LedgerEntry {
        LedgerEntry {
            job_arn: "arn:job".to_owned(),
            account_id: "111111111111".to_owned(),
            project_arn: "arn:project".to_owned(),
            run_arn: "arn:run".to_owned(),
            device_arn: "arn:device".to_owned(),
            device_name: "Pixel".to_owned(),
            platform: "ANDROID".to_owned(),
            billing_method: method.to_owned(),
            seconds,
            started_ms: 1_000,
            settled_ms: 2_000,
        }
    }

    #[test]
    fn only_known_methods_and_non_negative_seconds_are_kept() {
        assert_eq!(entry(METERED, 0).invalid_reason(), None);
        assert_eq!(entry(UNMETERED, 61).invalid_reason(), None);
        assert!(entry("metered", 1).invalid_reason().is_some());
        assert!(entry("", 1).invalid_reason().is_some());
        assert!(entry(METERED, -1).invalid_reason().is_some());
    }
}
