//! Accounts, their access keys, and the per-account settings and limits.
//!
//! farmhand is multi-tenant: every resource belongs to one account, identified like an AWS
//! account by 12 digits, and every request is signed with one of that account's access keys.
//! The types here are plain data; generators take their randomness from the caller so this
//! crate stays free of I/O and of a random-number dependency.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Number of digits in an account id (same as an AWS account number).
pub const ACCOUNT_ID_DIGITS: usize = 12;

/// Prefix of every access key id farmhand issues; AWS uses `AKIA` for long-term user keys,
/// and SDKs and tools that sniff the prefix then treat ours the same way.
pub const ACCESS_KEY_ID_PREFIX: &str = "AKIA";
/// Characters after [`ACCESS_KEY_ID_PREFIX`].
pub const ACCESS_KEY_ID_RANDOM_LEN: usize = 16;
/// Length of a secret access key (same as AWS).
pub const SECRET_ACCESS_KEY_LEN: usize = 40;
/// Random bytes [`AccessKey::generate`] needs: one per generated character.
pub const ACCESS_KEY_RANDOM_BYTES: usize = ACCESS_KEY_ID_RANDOM_LEN + SECRET_ACCESS_KEY_LEN;

/// Alphabet of the random part of an access key id. AWS key ids are base32 (A–Z, 2–7);
/// 32 symbols also means `byte % 32` picks each one with exactly equal probability.
const KEY_ID_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// Alphabet of secrets: the base64 characters AWS secrets are made of. 64 symbols keeps
/// `byte % 64` unbiased, giving 240 bits of entropy per secret.
const SECRET_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Why a string is not a valid account id or access key id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("account id must be exactly {ACCOUNT_ID_DIGITS} digits, got {0:?}")]
    InvalidAccountId(String),
    #[error("access key id must be {ACCESS_KEY_ID_PREFIX} followed by {ACCESS_KEY_ID_RANDOM_LEN} characters A-Z or 0-9, got {0:?}")]
    InvalidAccessKeyId(String),
    #[error("invalid account settings: {0}")]
    InvalidSettings(String),
}

/// A tenant of the farm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// 12 decimal digits, see [`validate_account_id`].
    pub id: String,
    pub name: String,
    pub created_ms: i64,
    pub settings: AccountSettings,
}

impl Account {
    /// A fresh account id from 8 caller-supplied random bytes.
    ///
    /// 64 random bits reduced modulo 10^12: the bias that leaves is below 10^-7, far below
    /// anything that matters for an identifier (ids are not secrets; keys are).
    pub fn new_id(random: [u8; 8]) -> String {
        let n = u64::from_le_bytes(random) % 1_000_000_000_000;
        format!("{n:012}")
    }
}

/// Checks that `id` is exactly 12 ASCII digits.
pub fn validate_account_id(id: &str) -> Result<(), AccountError> {
    if id.len() == ACCOUNT_ID_DIGITS && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(AccountError::InvalidAccountId(id.to_owned()))
    }
}

/// Checks that `id` has the shape of an AWS long-term access key id: `AKIA` and 16
/// upper-case letters or digits. Wider than what [`AccessKey::generate`] emits so that keys
/// an operator imports in AWS's format are accepted too.
pub fn validate_access_key_id(id: &str) -> Result<(), AccountError> {
    let ok = id.len() == ACCESS_KEY_ID_PREFIX.len() + ACCESS_KEY_ID_RANDOM_LEN
        && id.starts_with(ACCESS_KEY_ID_PREFIX)
        && id.bytes().skip(ACCESS_KEY_ID_PREFIX.len()).all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(AccountError::InvalidAccessKeyId(id.to_owned()))
    }
}

/// What an account may do and use. Serialized in the store and in the server's config, so
/// every field has a default and an older document without a newer field still loads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountSettings {
    /// Upper bound for `executionConfiguration.jobTimeoutMinutes`.
    pub max_job_timeout_minutes: i32,
    /// Timeout of a job that asks for none.
    pub default_job_timeout_minutes: i32,
    /// Offering id → most slots the account may purchase (GetAccountSettings `maxSlots`).
    pub max_slots: BTreeMap<String, i32>,
    /// Platform (`ANDROID`/`IOS`) → devices that UNMETERED runs may use at once, before
    /// the slots the account purchased (`domain::offering::unmetered_devices`).
    pub unmetered_devices: BTreeMap<String, i32>,
    /// Platform → unmetered remote access devices; reported, not enforced.
    pub unmetered_remote_access_devices: BTreeMap<String, i32>,
    /// Metered device minutes the account may use in total; `None` is no quota.
    pub trial_minutes_total: Option<f64>,
    /// Jobs of the account running at once; more wait in PENDING_CONCURRENCY.
    pub max_concurrent_jobs: i32,
    /// GetAccountSettings `skipAppResign`; farmhand never re-signs, this is only echoed.
    pub skip_app_resign: bool,
    pub limits: AccountLimits,
    /// Dashboard sessions opened at or before this instant (ms, real time) are no longer
    /// accepted: how an operator signs an account out everywhere (`farmhand ui-token
    /// --revoke`), since a session is a signed value with no row to delete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dashboard_sessions_not_before_ms: Option<i64>,
}

/// Job timeouts in minutes, from the Device Farm documentation.
pub const DEFAULT_JOB_TIMEOUT_MINUTES: i32 = 150;
pub const MIN_JOB_TIMEOUT_MINUTES: i32 = 5;

impl Default for AccountSettings {
    fn default() -> Self {
        // Every account starts with one unmetered device per platform, so UNMETERED runs
        // work out of the box, one device at a time; PurchaseOffering adds slots on top,
        // and an operator may raise (or zero) the base with `account update`.
        let one_each: BTreeMap<String, i32> = [("ANDROID".to_owned(), 1), ("IOS".to_owned(), 1)].into_iter().collect();
        Self {
            max_job_timeout_minutes: DEFAULT_JOB_TIMEOUT_MINUTES,
            default_job_timeout_minutes: DEFAULT_JOB_TIMEOUT_MINUTES,
            max_slots: BTreeMap::new(),
            unmetered_devices: one_each.clone(),
            unmetered_remote_access_devices: one_each,
            trial_minutes_total: None,
            max_concurrent_jobs: 16,
            skip_app_resign: false,
            dashboard_sessions_not_before_ms: None,
            limits: AccountLimits::default(),
        }
    }
}

impl AccountSettings {
    /// Rejects settings no job could run under: a timeout below the minimum, a default above
    /// the maximum, negative counts or quota.
    pub fn validate(&self) -> Result<(), AccountError> {
        let bad = |why: String| Err(AccountError::InvalidSettings(why));
        if self.max_job_timeout_minutes < MIN_JOB_TIMEOUT_MINUTES {
            return bad(format!(
                "max_job_timeout_minutes {} is below the minimum {MIN_JOB_TIMEOUT_MINUTES}",
                self.max_job_timeout_minutes
            ));
        }
        if self.default_job_timeout_minutes < MIN_JOB_TIMEOUT_MINUTES
            || self.default_job_timeout_minutes > self.max_job_timeout_minutes
        {
            return bad(format!(
                "default_job_timeout_minutes {} must be between {MIN_JOB_TIMEOUT_MINUTES} and max_job_timeout_minutes {}",
                self.default_job_timeout_minutes, self.max_job_timeout_minutes
            ));
        }
        if self.max_concurrent_jobs < 1 {
            return bad(format!("max_concurrent_jobs {} must be at least 1", self.max_concurrent_jobs));
        }
        if let Some(total) = self.trial_minutes_total {
            if !total.is_finite() || total < 0.0 {
                return bad(format!("trial_minutes_total {total} must be a non-negative number"));
            }
        }
        let maps = [
            ("max_slots", &self.max_slots),
            ("unmetered_devices", &self.unmetered_devices),
            ("unmetered_remote_access_devices", &self.unmetered_remote_access_devices),
        ];
        for (field, map) in maps {
            if let Some((k, v)) = map.iter().find(|(_, v)| **v < 0) {
                return bad(format!("{field}[{k}] = {v} must not be negative"));
            }
        }
        self.limits.validate()
    }
}

/// Resource counts an account may hold; creating one more is LimitExceededException.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountLimits {
    pub max_projects: i32,
    pub max_uploads_per_project: i32,
    pub max_device_pools_per_project: i32,
}

impl Default for AccountLimits {
    // AWS publishes no fixed numbers for these; the defaults are generous enough for a real
    // team and small enough that a runaway script hits a clear error before the disk fills.
    fn default() -> Self {
        Self { max_projects: 1000, max_uploads_per_project: 5000, max_device_pools_per_project: 200 }
    }
}

impl AccountLimits {
    fn validate(&self) -> Result<(), AccountError> {
        let fields = [
            ("max_projects", self.max_projects),
            ("max_uploads_per_project", self.max_uploads_per_project),
            ("max_device_pools_per_project", self.max_device_pools_per_project),
        ];
        match fields.iter().find(|(_, v)| *v < 0) {
            Some((field, v)) => {
                Err(AccountError::InvalidSettings(format!("limits.{field} = {v} must not be negative")))
            }
            None => Ok(()),
        }
    }
}

/// A credential pair for SigV4. The secret is kept in clear because verifying a signature
/// needs it (SigV4 is an HMAC, not a password hash).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKey {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub account_id: String,
    pub created_ms: i64,
    /// When the key was revoked; a revoked key authenticates nothing.
    pub revoked_ms: Option<i64>,
}

impl AccessKey {
    /// A new key for `account_id` from [`ACCESS_KEY_RANDOM_BYTES`] caller-supplied random
    /// bytes, which must come from a cryptographically secure source: the secret is made
    /// of them.
    pub fn generate(account_id: &str, created_ms: i64, random: &[u8; ACCESS_KEY_RANDOM_BYTES]) -> AccessKey {
        let (id_bytes, secret_bytes) = random.split_at(ACCESS_KEY_ID_RANDOM_LEN);
        let mut access_key_id = String::with_capacity(ACCESS_KEY_ID_PREFIX.len() + ACCESS_KEY_ID_RANDOM_LEN);
        access_key_id.push_str(ACCESS_KEY_ID_PREFIX);
        access_key_id.extend(id_bytes.iter().map(|b| char::from(KEY_ID_ALPHABET[usize::from(b % 32)])));
        let secret_access_key = secret_bytes.iter().map(|b| char::from(SECRET_ALPHABET[usize::from(b % 64)])).collect();
        AccessKey { access_key_id, secret_access_key, account_id: account_id.to_owned(), created_ms, revoked_ms: None }
    }

    pub fn is_active(&self) -> bool {
        self.revoked_ms.is_none()
    }
}

// Hand-written so the secret never lands in a log line through `{:?}`.
impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("account_id", &self.account_id)
            .field("created_ms", &self.created_ms)
            .field("revoked_ms", &self.revoked_ms)
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn generated_account_ids_are_valid(random in any::<[u8; 8]>()) {
            let id = Account::new_id(random);
            prop_assert!(validate_account_id(&id).is_ok(), "{id}");
        }

        #[test]
        fn generated_keys_have_aws_shape(random in proptest::collection::vec(any::<u8>(), ACCESS_KEY_RANDOM_BYTES)) {
            let random: [u8; ACCESS_KEY_RANDOM_BYTES] = random.try_into().unwrap();
            let key = AccessKey::generate("123456789012", 7, &random);
            prop_assert!(validate_access_key_id(&key.access_key_id).is_ok(), "{}", key.access_key_id);
            prop_assert!(key.access_key_id[ACCESS_KEY_ID_PREFIX.len()..].bytes().all(|b| KEY_ID_ALPHABET.contains(&b)));
            prop_assert_eq!(key.secret_access_key.len(), SECRET_ACCESS_KEY_LEN);
            prop_assert!(key.secret_access_key.bytes().all(|b| SECRET_ALPHABET.contains(&b)));
            prop_assert!(key.is_active());
        }

        #[test]
        fn account_id_validation_accepts_only_twelve_digits(s in "\\PC{0,20}") {
            let expected = s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit());
            prop_assert_eq!(validate_account_id(&s).is_ok(), expected);
        }
    }

    #[test]
    fn account_id_keeps_leading_zeros() {
        assert_eq!(Account::new_id(5u64.to_le_bytes()), "000000000005");
    }

    #[test]
    fn key_id_and_secret_use_separate_bytes() {
        let mut random = [0u8; ACCESS_KEY_RANDOM_BYTES];
        random[ACCESS_KEY_ID_RANDOM_LEN..].fill(1);
        let key = AccessKey::generate("123456789012", 0, &random);
        assert_eq!(key.access_key_id, "AKIAAAAAAAAAAAAAAAAA");
        assert_eq!(key.secret_access_key, "B".repeat(SECRET_ACCESS_KEY_LEN));
    }

    #[test]
    fn access_key_id_validation() {
        assert!(validate_access_key_id("AKIAIOSFODNN7EXAMPLE").is_ok(), "AWS's documented example");
        assert!(validate_access_key_id("AKIA0123456789ABCDEF").is_ok());
        assert!(validate_access_key_id("ASIAIOSFQDNN7EXAMPLE").is_err());
        assert!(validate_access_key_id("AKIAIOSFQDNN7EXAMPL").is_err());
        assert!(validate_access_key_id("AKIAiosfqdnn7example").is_err());
        assert!(validate_access_key_id("AKIAIOSFQDNN7EXAMP/E").is_err());
    }

    #[test]
    fn debug_hides_the_secret() {
        let key = AccessKey::generate("123456789012", 0, &[9; ACCESS_KEY_RANDOM_BYTES]);
        let shown = format!("{key:?}");
        assert!(!shown.contains(&key.secret_access_key), "{shown}");
        assert!(shown.contains(&key.access_key_id));
    }

    #[test]
    fn default_settings_are_valid_and_match_aws_defaults() {
        let s = AccountSettings::default();
        assert_eq!(s.validate(), Ok(()));
        assert_eq!(s.default_job_timeout_minutes, 150);
        assert_eq!(s.max_job_timeout_minutes, 150);
    }

    #[test]
    fn settings_validation_rejects_impossible_values() {
        let base = AccountSettings::default();
        let cases: Vec<AccountSettings> = vec![
            AccountSettings { max_job_timeout_minutes: 4, default_job_timeout_minutes: 4, ..base.clone() },
            AccountSettings { default_job_timeout_minutes: 151, ..base.clone() },
            AccountSettings { max_concurrent_jobs: 0, ..base.clone() },
            AccountSettings { trial_minutes_total: Some(-1.0), ..base.clone() },
            AccountSettings { trial_minutes_total: Some(f64::NAN), ..base.clone() },
            AccountSettings { unmetered_devices: [("IOS".to_owned(), -1)].into_iter().collect(), ..base.clone() },
            AccountSettings { limits: AccountLimits { max_projects: -1, ..base.limits }, ..base.clone() },
        ];
        for s in cases {
            assert!(s.validate().is_err(), "{s:?}");
        }
    }

    #[test]
    fn settings_missing_fields_take_defaults() {
        let s: AccountSettings =
            serde_json::from_str(r#"{"max_concurrent_jobs": 3, "limits": {"max_projects": 2}}"#).unwrap();
        assert_eq!(s.max_concurrent_jobs, 3);
        assert_eq!(s.limits.max_projects, 2);
        assert_eq!(s.limits.max_uploads_per_project, AccountLimits::default().max_uploads_per_project);
        assert_eq!(s.default_job_timeout_minutes, 150);
    }
}
