//! Which waiting job gets which device instance: the scheduler's decision, as a pure
//! function of who waits, who holds what, and each account's limits.
//!
//! Jobs are considered oldest first (FIFO across runs and accounts). A job waits in
//! PENDING_CONCURRENCY while its account has no free slot: metered jobs are bounded by the
//! account's concurrent-job limit, unmetered jobs by its unmetered devices for the job's
//! platform. It waits in PENDING_DEVICE while every instance of its device is taken.
//!
//! Remote access sessions wait in the same line and hold devices the same way: a metered
//! session takes one of the account's concurrent slots like a job, an unmetered one one of
//! its unmetered remote access devices (AWS counts those apart from unmetered devices).
//!
//! **Invariant:** an instance is never given to two jobs: the decision starts from the
//! instances active jobs hold and removes each one it hands out.

use crate::run::{BillingMethod, WaitReason};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingJob {
    pub key: String,
    pub account_id: String,
    pub platform: String,
    pub billing_method: BillingMethod,
    pub device_arn: String,
    /// A remote access session rather than a job.
    pub remote_access: bool,
    /// The one instance it may have (CreateRemoteAccessSession's `instanceArn`).
    pub only_instance: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveJob {
    pub account_id: String,
    pub platform: String,
    pub billing_method: BillingMethod,
    pub instance_arn: String,
    pub remote_access: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSlots {
    pub max_concurrent_jobs: i32,
    /// Platform → unmetered devices.
    pub unmetered_devices: BTreeMap<String, i32>,
    /// Platform → unmetered remote access devices.
    pub unmetered_remote_access_devices: BTreeMap<String, i32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Assign { key: String, instance_arn: String },
    Wait { key: String, reason: WaitReason },
}

/// Decides, for every waiting job in `waiting` (oldest first), whether it starts now and on
/// which instance. `instances` maps a device ARN to its instance ARNs, in preference order;
/// `unavailable` lists instances that cannot take jobs (not AVAILABLE).
pub fn decide(
    waiting: &[WaitingJob],
    active: &[ActiveJob],
    instances: &BTreeMap<String, Vec<String>>,
    unavailable: &BTreeSet<String>,
    slots: &BTreeMap<String, AccountSlots>,
) -> Vec<Decision> {
    let mut busy: BTreeSet<&str> = active.iter().map(|a| a.instance_arn.as_str()).collect();
    let mut metered: BTreeMap<&str, i32> = BTreeMap::new();
    let mut unmetered: BTreeMap<(&str, &str, bool), i32> = BTreeMap::new();
    for a in active {
        match a.billing_method {
            BillingMethod::Metered => *metered.entry(&a.account_id).or_default() += 1,
            BillingMethod::Unmetered => {
                *unmetered.entry((&a.account_id, &a.platform, a.remote_access)).or_default() += 1
            }
        }
    }
    let mut decisions = Vec::with_capacity(waiting.len());
    for job in waiting {
        let limits = slots.get(&job.account_id);
        let has_slot = match job.billing_method {
            BillingMethod::Metered => {
                let max = limits.map(|l| l.max_concurrent_jobs).unwrap_or(0);
                metered.get(job.account_id.as_str()).copied().unwrap_or(0) < max
            }
            BillingMethod::Unmetered => {
                let pool = limits.map(|l| match job.remote_access {
                    false => &l.unmetered_devices,
                    true => &l.unmetered_remote_access_devices,
                });
                let max = pool.and_then(|p| p.get(&job.platform)).copied().unwrap_or(0);
                let key = (job.account_id.as_str(), job.platform.as_str(), job.remote_access);
                unmetered.get(&key).copied().unwrap_or(0) < max
            }
        };
        if !has_slot {
            decisions.push(Decision::Wait { key: job.key.clone(), reason: WaitReason::Concurrency });
            continue;
        }
        let free = instances
            .get(&job.device_arn)
            .into_iter()
            .flatten()
            .filter(|i| job.only_instance.as_ref().is_none_or(|only| only == *i))
            .find(|i| !busy.contains(i.as_str()) && !unavailable.contains(i.as_str()));
        let Some(instance) = free else {
            decisions.push(Decision::Wait { key: job.key.clone(), reason: WaitReason::Device });
            continue;
        };
        busy.insert(instance);
        match job.billing_method {
            BillingMethod::Metered => *metered.entry(&job.account_id).or_default() += 1,
            BillingMethod::Unmetered => {
                *unmetered.entry((&job.account_id, &job.platform, job.remote_access)).or_default() += 1
            }
        }
        decisions.push(Decision::Assign { key: job.key.clone(), instance_arn: instance.clone() });
    }
    decisions
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn waiting(key: &str, account: &str, device: &str, billing: BillingMethod) -> WaitingJob {
        WaitingJob {
            key: key.into(),
            account_id: account.into(),
            platform: "ANDROID".into(),
            billing_method: billing,
            device_arn: device.into(),
            remote_access: false,
            only_instance: None,
        }
    }

    fn slots(max: i32, unmetered: i32) -> AccountSlots {
        AccountSlots {
            max_concurrent_jobs: max,
            unmetered_devices: [("ANDROID".to_string(), unmetered)].into(),
            unmetered_remote_access_devices: [("ANDROID".to_string(), 1)].into(),
        }
    }

    fn fleet(devices: &[(&str, usize)]) -> BTreeMap<String, Vec<String>> {
        devices.iter().map(|(d, n)| (d.to_string(), (0..*n).map(|i| format!("{d}/i{i}")).collect())).collect()
    }

    #[test]
    fn busy_device_means_pending_device_and_fifo_wins() {
        let w =
            [waiting("a", "1", "pixel", BillingMethod::Metered), waiting("b", "2", "pixel", BillingMethod::Metered)];
        let s = [("1".to_string(), slots(5, 0)), ("2".to_string(), slots(5, 0))].into();
        let d = decide(&w, &[], &fleet(&[("pixel", 1)]), &BTreeSet::new(), &s);
        assert_eq!(d[0], Decision::Assign { key: "a".into(), instance_arn: "pixel/i0".into() });
        assert_eq!(d[1], Decision::Wait { key: "b".into(), reason: WaitReason::Device });
    }

    #[test]
    fn account_limit_means_pending_concurrency() {
        let w = [waiting("a", "1", "p1", BillingMethod::Metered), waiting("b", "1", "p2", BillingMethod::Metered)];
        let s = [("1".to_string(), slots(1, 0))].into();
        let d = decide(&w, &[], &fleet(&[("p1", 1), ("p2", 1)]), &BTreeSet::new(), &s);
        assert!(matches!(d[0], Decision::Assign { .. }));
        assert_eq!(d[1], Decision::Wait { key: "b".into(), reason: WaitReason::Concurrency });
    }

    #[test]
    fn unmetered_jobs_use_the_platform_slots() {
        let w = [waiting("a", "1", "p1", BillingMethod::Unmetered), waiting("b", "1", "p2", BillingMethod::Unmetered)];
        let s = [("1".to_string(), slots(10, 1))].into();
        let d = decide(&w, &[], &fleet(&[("p1", 1), ("p2", 1)]), &BTreeSet::new(), &s);
        assert!(matches!(d[0], Decision::Assign { .. }));
        assert_eq!(d[1], Decision::Wait { key: "b".into(), reason: WaitReason::Concurrency });
    }

    #[test]
    fn unavailable_and_held_instances_are_skipped() {
        let w = [waiting("a", "1", "p", BillingMethod::Metered)];
        let s = [("1".to_string(), slots(5, 0))].into();
        let active = [ActiveJob {
            account_id: "2".into(),
            platform: "ANDROID".into(),
            billing_method: BillingMethod::Metered,
            instance_arn: "p/i0".into(),
            remote_access: false,
        }];
        let unavailable: BTreeSet<String> = ["p/i1".to_string()].into();
        let d = decide(&w, &active, &fleet(&[("p", 3)]), &unavailable, &s);
        assert_eq!(d[0], Decision::Assign { key: "a".into(), instance_arn: "p/i2".into() });
    }

    #[test]
    fn sessions_share_metered_slots_but_have_unmetered_slots_of_their_own() {
        let session =
            |key: &str, device: &str, billing| WaitingJob { remote_access: true, ..waiting(key, "1", device, billing) };
        let s = [("1".to_string(), slots(1, 1))].into();
        let devices = fleet(&[("p1", 1), ("p2", 1), ("p3", 1), ("p4", 1)]);
        let w = [
            waiting("job", "1", "p1", BillingMethod::Metered),
            session("metered-session", "p2", BillingMethod::Metered),
            waiting("unmetered-job", "1", "p3", BillingMethod::Unmetered),
            session("unmetered-session", "p4", BillingMethod::Unmetered),
        ];
        let d = decide(&w, &[], &devices, &BTreeSet::new(), &s);
        assert!(matches!(d[0], Decision::Assign { .. }));
        assert_eq!(d[1], Decision::Wait { key: "metered-session".into(), reason: WaitReason::Concurrency });
        assert!(matches!(d[2], Decision::Assign { .. }));
        assert!(matches!(d[3], Decision::Assign { .. }), "the remote access slot is not the job's");
    }

    #[test]
    fn a_session_asking_for_one_instance_waits_for_that_one() {
        let mut w = waiting("s", "1", "p", BillingMethod::Metered);
        w.remote_access = true;
        w.only_instance = Some("p/i0".into());
        let active = [ActiveJob {
            account_id: "2".into(),
            platform: "ANDROID".into(),
            billing_method: BillingMethod::Metered,
            instance_arn: "p/i0".into(),
            remote_access: false,
        }];
        let s = [("1".to_string(), slots(5, 0))].into();
        let d = decide(std::slice::from_ref(&w), &active, &fleet(&[("p", 2)]), &BTreeSet::new(), &s);
        assert_eq!(d[0], Decision::Wait { key: "s".into(), reason: WaitReason::Device });
        let d = decide(&[w], &[], &fleet(&[("p", 2)]), &BTreeSet::new(), &s);
        assert_eq!(d[0], Decision::Assign { key: "s".into(), instance_arn: "p/i0".into() });
    }

    proptest! {
        #[test]
        fn an_instance_never_runs_two_jobs(
            jobs in prop::collection::vec((0..3usize, 0..4usize, any::<bool>()), 0..40),
            held in prop::collection::vec((0..3usize, 0..4usize), 0..6),
            max in 0..6i32,
        ) {
            let devices = fleet(&[("d0", 1), ("d1", 2), ("d2", 3), ("d3", 1)]);
            let accounts = ["a0", "a1", "a2"];
            let w: Vec<WaitingJob> = jobs.iter().enumerate().map(|(i, (a, d, m))| waiting(
                &i.to_string(), accounts[*a], &format!("d{d}"),
                if *m { BillingMethod::Metered } else { BillingMethod::Unmetered })).collect();
            let active: Vec<ActiveJob> = held.iter().filter_map(|(a, d)| devices[&format!("d{d}")].first().map(|i| ActiveJob {
                account_id: accounts[*a].into(), platform: "ANDROID".into(),
                billing_method: BillingMethod::Metered, instance_arn: i.clone(), remote_access: false })).collect();
            let s = accounts.iter().map(|a| (a.to_string(), slots(max, max / 2))).collect();
            let decisions = decide(&w, &active, &devices, &BTreeSet::new(), &s);
            prop_assert_eq!(decisions.len(), w.len());
            let mut taken: BTreeSet<String> = active.iter().map(|a| a.instance_arn.clone()).collect();
            let mut metered_per_account: BTreeMap<String, i32> = BTreeMap::new();
            for a in &active { *metered_per_account.entry(a.account_id.clone()).or_default() += 1; }
            for (job, d) in w.iter().zip(&decisions) {
                if let Decision::Assign { instance_arn, .. } = d {
                    prop_assert!(taken.insert(instance_arn.clone()), "instance given twice");
                    prop_assert!(instance_arn.starts_with(&job.device_arn));
                    if job.billing_method == BillingMethod::Metered {
                        let n = metered_per_account.entry(job.account_id.clone()).or_default();
                        *n += 1;
                        prop_assert!(*n <= max.max(0) || *n <= active.iter().filter(|a| a.account_id == job.account_id).count() as i32);
                    }
                }
            }
        }
    }
}
