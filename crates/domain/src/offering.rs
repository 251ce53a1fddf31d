//! Offerings: the operator's catalog of unmetered device slots, and an account's ledger of
//! purchases and renewals, from which every answer (status now and next period, the
//! transaction history, the slots the scheduler grants) is derived.
//!
//! The ledger holds only what the account did (PURCHASE, RENEW). What the service does by
//! itself, the monthly renewal, is not stored: it is a function of the ledger and the
//! clock ([`Ledger::transactions`] lists it as SYSTEM), so no background task has to run at
//! midnight on the first of the month, and a replica that was down then answers the same.
//!
//! Rules (AWS's model documentation, then decisions where it is silent):
//! - A purchase is effective when made and adds to the quantity; it renews with it.
//! - Periods are calendar months (UTC); at the start of each, quantities renew with the
//!   latest total unless RenewOffering set the next period's quantity, which then stands,
//!   even against a purchase made after it in the same period.
//! - A cost is the offering's monthly price times the quantity (a purchase is not prorated),
//!   less the promotion's discount on a purchase.

use std::collections::BTreeMap;

use chrono::{Datelike, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::device::enums::DevicePlatform;

/// `OfferingIdentifier` in the model: at least 32 characters.
pub const MIN_OFFERING_ID_LEN: usize = 32;
/// `OfferingPromotionIdentifier` in the model: at least 4 characters.
pub const MIN_PROMOTION_ID_LEN: usize = 4;

/// The model's only `OfferingType`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum OfferingType {
    #[default]
    #[serde(rename = "RECURRING")]
    Recurring,
}

/// The model's only `CurrencyCode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Currency {
    #[default]
    #[serde(rename = "USD")]
    Usd,
}

/// The model's only `RecurringChargeFrequency`; [`period_start`] is its calendar.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Frequency {
    #[default]
    #[serde(rename = "MONTHLY")]
    Monthly,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub amount: f64,
    #[serde(default)]
    pub currency_code: Currency,
    #[serde(default)]
    pub frequency: Frequency,
}

/// One product of the catalog: a slot of one platform at a monthly price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offering {
    pub id: String,
    pub description: String,
    pub platform: DevicePlatform,
    #[serde(default, rename = "type")]
    pub offering_type: OfferingType,
    pub price: Price,
}

impl Offering {
    /// What `quantity` slots cost for one period, less `discount_percent`.
    pub fn cost(&self, quantity: i32, discount_percent: f64) -> f64 {
        let full = self.price.amount * f64::from(quantity);
        // Cents: a discount must not leave a fraction of a cent in a transaction's cost.
        (full * (100.0 - discount_percent)).round() / 100.0
    }
}

/// A promotion a purchase may name. `discount_percent` is farmhand's: the model gives a
/// promotion only an id and a description, and the operator decides what it is worth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Promotion {
    pub id: String,
    pub description: String,
    pub discount_percent: f64,
}

/// The operator's catalog, from the config file (or [`Catalog::demo`]).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Catalog {
    pub offerings: Vec<Offering>,
    pub promotions: Vec<Promotion>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid offering catalog: {0}")]
pub struct CatalogError(String);

impl Catalog {
    /// The catalog `serve` has when the config file defines none: one unmetered slot per
    /// platform at AWS's list price, and a promotion, so every offering operation works out
    /// of the box. The ids are fixed so scripts may hard-code them, as they do AWS's.
    pub fn demo() -> Catalog {
        let slot = |id: &str, platform: DevicePlatform| Offering {
            id: id.to_owned(),
            description: format!("{} Unmetered Device Slot", platform.display_name()),
            platform,
            offering_type: OfferingType::Recurring,
            price: Price { amount: 250.0, currency_code: Currency::Usd, frequency: Frequency::Monthly },
        };
        Catalog {
            offerings: vec![
                slot("8B2F6E0A-61C4-4D3B-9C52-3E1A7A0D4F01", DevicePlatform::Android),
                slot("8B2F6E0A-61C4-4D3B-9C52-3E1A7A0D4F02", DevicePlatform::Ios),
            ],
            promotions: vec![Promotion {
                id: "FIRST-MONTH-FREE".to_owned(),
                description: "The first month of a purchase is free".to_owned(),
                discount_percent: 100.0,
            }],
        }
    }

    /// Ids the model accepts and that name one thing each; prices and discounts that make a
    /// cost.
    pub fn validate(&self) -> Result<(), CatalogError> {
        distinct_ids("offering", self.offerings.iter().map(|o| o.id.as_str()), MIN_OFFERING_ID_LEN)?;
        distinct_ids("promotion", self.promotions.iter().map(|p| p.id.as_str()), MIN_PROMOTION_ID_LEN)?;
        if let Some(o) = self.offerings.iter().find(|o| !o.price.amount.is_finite() || o.price.amount < 0.0) {
            return Err(CatalogError(format!("offering {:?}: price.amount must be a non-negative number", o.id)));
        }
        if let Some(p) = self.promotions.iter().find(|p| !(0.0..=100.0).contains(&p.discount_percent)) {
            return Err(CatalogError(format!("promotion {:?}: discount_percent must be between 0 and 100", p.id)));
        }
        Ok(())
    }

    pub fn offering(&self, id: &str) -> Option<&Offering> {
        self.offerings.iter().find(|o| o.id == id)
    }

    pub fn promotion(&self, id: &str) -> Option<&Promotion> {
        self.promotions.iter().find(|p| p.id == id)
    }
}

/// Each id long enough for the model's pattern and naming one thing only.
fn distinct_ids<'a>(what: &str, ids: impl Iterator<Item = &'a str>, min_len: usize) -> Result<(), CatalogError> {
    let mut seen = std::collections::BTreeSet::new();
    for id in ids {
        if id.chars().count() < min_len {
            return Err(CatalogError(format!("{what} id {id:?} is shorter than {min_len} characters")));
        }
        if !seen.insert(id) {
            return Err(CatalogError(format!("{what} id {id:?} is used twice")));
        }
    }
    Ok(())
}

/// The model's `OfferingTransactionType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransactionType {
    #[serde(rename = "PURCHASE")]
    Purchase,
    #[serde(rename = "RENEW")]
    Renew,
    /// The monthly renewal the service makes itself; never stored.
    #[serde(rename = "SYSTEM")]
    System,
}

impl TransactionType {
    pub const fn as_str(self) -> &'static str {
        match self {
            TransactionType::Purchase => "PURCHASE",
            TransactionType::Renew => "RENEW",
            TransactionType::System => "SYSTEM",
        }
    }
}

/// One transaction. The offering is kept as it was then, so a later change to the catalog
/// does not rewrite history, and the scheduler needs no catalog to count slots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transaction {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: TransactionType,
    pub offering: Offering,
    pub quantity: i32,
    pub created_ms: i64,
    pub effective_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion_id: Option<String>,
    pub cost: f64,
}

/// What an account holds of one offering from some instant on (`OfferingStatus`).
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub kind: TransactionType,
    pub offering: Offering,
    pub quantity: i32,
    pub effective_ms: i64,
}

/// Why a purchase or renewal is refused; the API maps each to the model's exception.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("quantity must be at least 1, got {0}")]
    Quantity(i32),
    #[error("No offering was found with id {0}")]
    UnknownOffering(String),
    #[error("The account is not eligible for offering promotion {0}: there is no such promotion")]
    UnknownPromotion(String),
    #[error("The account is not eligible for offering promotion {0}: it has already used it")]
    PromotionUsed(String),
    #[error("The account is not eligible to renew offering {0}: it holds no slots of it")]
    NothingToRenew(String),
    #[error("The account may hold at most {max} slots of offering {offering}; this would make {wanted}")]
    OverMaxSlots { offering: String, max: i32, wanted: i32 },
}

/// What an account may buy: the catalog, and its `maxSlots` (offering id → most slots it
/// may hold; an offering it does not name is unbounded).
#[derive(Debug, Clone, Copy)]
pub struct Terms<'a> {
    pub catalog: &'a Catalog,
    pub max_slots: &'a BTreeMap<String, i32>,
}

impl Terms<'_> {
    /// The catalog's offering `offering_id`, for a purchase or renewal of `quantity` slots.
    fn offering_for(&self, offering_id: &str, quantity: i32) -> Result<&Offering, Refusal> {
        let offering =
            self.catalog.offering(offering_id).ok_or_else(|| Refusal::UnknownOffering(offering_id.to_owned()))?;
        if quantity < 1 {
            return Err(Refusal::Quantity(quantity));
        }
        Ok(offering)
    }
}

/// An account's purchases and renewals, oldest first: the one stored document per account.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Ledger {
    pub transactions: Vec<Transaction>,
}

/// The start (ms, UTC) of the monthly period containing `ms`.
pub fn period_start(ms: i64) -> i64 {
    let t = Utc.timestamp_millis_opt(ms).single().unwrap_or_default();
    month_start(t.year(), t.month())
}

/// The start of the period after the one containing `ms`.
pub fn next_period_start(ms: i64) -> i64 {
    let t = Utc.timestamp_millis_opt(ms).single().unwrap_or_default();
    if t.month() == 12 {
        month_start(t.year() + 1, 1)
    } else {
        month_start(t.year(), t.month() + 1)
    }
}

fn month_start(year: i32, month: u32) -> i64 {
    Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0).single().map(|t| t.timestamp_millis()).unwrap_or_default()
}

impl Ledger {
    /// Stored transactions of `offering_id` in the order they take effect (ties: the one
    /// made later wins, so a second RenewOffering replaces the first).
    fn events(&self, offering_id: &str) -> Vec<&Transaction> {
        let mut events: Vec<&Transaction> = self.transactions.iter().filter(|t| t.offering.id == offering_id).collect();
        events.sort_by_key(|t| (t.effective_ms, t.created_ms));
        events
    }

    /// Offering ids the account ever transacted, in first-transaction order.
    fn offering_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = Vec::new();
        for t in &self.transactions {
            if !ids.contains(&t.offering.id.as_str()) {
                ids.push(&t.offering.id);
            }
        }
        ids
    }

    /// What the account holds of `offering_id` at `at_ms`, with the transaction (stored or
    /// the system's renewal) that made it so; `None` when it holds none.
    pub fn status_at(&self, offering_id: &str, at_ms: i64) -> Option<Status> {
        let mut held: Option<Status> = None;
        for t in self.events(offering_id).into_iter().take_while(|t| t.effective_ms <= at_ms) {
            let quantity = match t.kind {
                TransactionType::Purchase => held.as_ref().map_or(0, |h| h.quantity) + t.quantity,
                _ => t.quantity,
            };
            held = Some(Status { kind: t.kind, offering: t.offering.clone(), quantity, effective_ms: t.effective_ms });
        }
        let mut held = held.filter(|h| h.quantity > 0)?;
        // Slots held since before this period were renewed by the system at its start.
        let start = period_start(at_ms);
        if held.effective_ms < start {
            held.kind = TransactionType::System;
            held.effective_ms = start;
        }
        Some(held)
    }

    /// GetOfferingStatus `current`: every offering held now.
    pub fn current(&self, now_ms: i64) -> BTreeMap<String, Status> {
        self.offering_ids().into_iter().filter_map(|id| Some((id.to_owned(), self.status_at(id, now_ms)?))).collect()
    }

    /// GetOfferingStatus `nextPeriod`: every offering that will be held when the next period
    /// starts, RENEW where RenewOffering set it and SYSTEM where it renews by itself.
    pub fn next_period(&self, now_ms: i64) -> BTreeMap<String, Status> {
        self.current(next_period_start(now_ms))
    }

    /// Slots per platform at `at_ms`: what the scheduler adds to the account's configured
    /// unmetered devices.
    pub fn slots(&self, at_ms: i64) -> BTreeMap<DevicePlatform, i32> {
        let mut slots = BTreeMap::new();
        for status in self.current(at_ms).into_values() {
            *slots.entry(status.offering.platform).or_insert(0) += status.quantity;
        }
        slots
    }

    /// Every transaction up to `now_ms`, most recent first (as ListOfferingTransactions
    /// orders them): the stored ones and the system's monthly renewals.
    pub fn transactions(&self, now_ms: i64) -> Vec<Transaction> {
        let mut all: Vec<Transaction> = self.transactions.clone();
        if let Some(first) = self.transactions.iter().map(|t| t.effective_ms).min() {
            let mut start = next_period_start(first);
            while start <= now_ms {
                for id in self.offering_ids() {
                    let renewed_here =
                        self.events(id).iter().any(|t| t.kind == TransactionType::Renew && t.effective_ms == start);
                    if renewed_here {
                        continue;
                    }
                    if let Some(s) = self.status_at(id, start).filter(|s| s.kind == TransactionType::System) {
                        all.push(Transaction {
                            id: format!("system-renewal-{start:013}-{id}"),
                            kind: TransactionType::System,
                            cost: s.offering.cost(s.quantity, 0.0),
                            offering: s.offering,
                            quantity: s.quantity,
                            created_ms: start,
                            effective_ms: start,
                            promotion_id: None,
                        });
                    }
                }
                start = next_period_start(start);
            }
        }
        all.sort_by(|a, b| (b.created_ms, &b.id).cmp(&(a.created_ms, &a.id)));
        all
    }

    /// PurchaseOffering's transaction, effective `now_ms`, checked against the account's
    /// terms and the promotions it has used.
    pub fn purchase(
        &self,
        terms: Terms<'_>,
        offering_id: &str,
        quantity: i32,
        promotion_id: Option<&str>,
        id: String,
        now_ms: i64,
    ) -> Result<Transaction, Refusal> {
        let offering = terms.offering_for(offering_id, quantity)?;
        let discount = match promotion_id {
            None => 0.0,
            Some(p) => {
                let promotion = terms.catalog.promotion(p).ok_or_else(|| Refusal::UnknownPromotion(p.to_owned()))?;
                // A promotion is an introductory offer: once per account.
                if self.transactions.iter().any(|t| t.promotion_id.as_deref() == Some(p)) {
                    return Err(Refusal::PromotionUsed(p.to_owned()));
                }
                promotion.discount_percent
            }
        };
        let held = self.status_at(offering_id, now_ms).map_or(0, |s| s.quantity);
        check_max(terms.max_slots, offering_id, held.saturating_add(quantity))?;
        Ok(Transaction {
            id,
            kind: TransactionType::Purchase,
            offering: offering.clone(),
            quantity,
            created_ms: now_ms,
            effective_ms: now_ms,
            promotion_id: promotion_id.map(str::to_owned),
            cost: offering.cost(quantity, discount),
        })
    }

    /// RenewOffering's transaction: the quantity from the start of the next period. Only an
    /// offering the account holds (now or from then) can be renewed.
    pub fn renew(
        &self,
        terms: Terms<'_>,
        offering_id: &str,
        quantity: i32,
        id: String,
        now_ms: i64,
    ) -> Result<Transaction, Refusal> {
        let offering = terms.offering_for(offering_id, quantity)?;
        let next = next_period_start(now_ms);
        if self.status_at(offering_id, now_ms).is_none() && self.status_at(offering_id, next).is_none() {
            return Err(Refusal::NothingToRenew(offering_id.to_owned()));
        }
        check_max(terms.max_slots, offering_id, quantity)?;
        Ok(Transaction {
            id,
            kind: TransactionType::Renew,
            offering: offering.clone(),
            quantity,
            created_ms: now_ms,
            effective_ms: next,
            promotion_id: None,
            cost: offering.cost(quantity, 0.0),
        })
    }
}

/// `maxSlots` bounds what an account may hold of an offering; one it does not name is
/// unbounded (a self-hosted farm's operator limits only what it chooses to).
fn check_max(max_slots: &BTreeMap<String, i32>, offering_id: &str, wanted: i32) -> Result<(), Refusal> {
    match max_slots.get(offering_id) {
        Some(&max) if wanted > max => Err(Refusal::OverMaxSlots { offering: offering_id.to_owned(), max, wanted }),
        _ => Ok(()),
    }
}

/// The account's unmetered devices per platform: what the operator configured plus the
/// slots it holds at `at_ms`.
pub fn unmetered_devices(configured: &BTreeMap<String, i32>, ledger: &Ledger, at_ms: i64) -> BTreeMap<String, i32> {
    let mut all = configured.clone();
    for (platform, n) in ledger.slots(at_ms) {
        let slot = all.entry(platform.as_str().to_owned()).or_insert(0);
        *slot = slot.saturating_add(n);
    }
    all
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// 2026-12-06T17:00:00Z.
    const NOW: i64 = 1_796_576_400_000;
    const DEC_1: i64 = 1_796_083_200_000;
    const JAN_1: i64 = 1_798_761_600_000;
    const FEB_1: i64 = 1_801_440_000_000;
    const DAY: i64 = 86_400_000;

    fn android() -> String {
        Catalog::demo().offerings[0].id.clone()
    }

    fn buy(ledger: &mut Ledger, quantity: i32, promotion: Option<&str>, at: i64) -> Result<Transaction, Refusal> {
        let id = format!("tx{}", ledger.transactions.len());
        let t = ledger.purchase(
            Terms { catalog: &Catalog::demo(), max_slots: &BTreeMap::new() },
            &android(),
            quantity,
            promotion,
            id,
            at,
        )?;
        ledger.transactions.push(t.clone());
        Ok(t)
    }

    fn renew(ledger: &mut Ledger, quantity: i32, at: i64) -> Result<Transaction, Refusal> {
        let id = format!("tx{}", ledger.transactions.len());
        let t = ledger.renew(
            Terms { catalog: &Catalog::demo(), max_slots: &BTreeMap::new() },
            &android(),
            quantity,
            id,
            at,
        )?;
        ledger.transactions.push(t.clone());
        Ok(t)
    }

    #[test]
    fn periods_are_calendar_months_in_utc() {
        assert_eq!(period_start(NOW), DEC_1);
        assert_eq!(next_period_start(NOW), JAN_1);
        assert_eq!(next_period_start(JAN_1), FEB_1);
        assert_eq!(period_start(JAN_1 - 1), DEC_1);
    }

    #[test]
    fn the_demo_catalog_is_valid_and_bad_ones_are_not() {
        assert_eq!(Catalog::demo().validate(), Ok(()));
        let mut short = Catalog::demo();
        short.offerings[0].id = "too-short".into();
        assert!(short.validate().is_err());
        let mut twice = Catalog::demo();
        twice.offerings[1].id = twice.offerings[0].id.clone();
        assert!(twice.validate().is_err());
        let mut discount = Catalog::demo();
        discount.promotions[0].discount_percent = 120.0;
        assert!(discount.validate().is_err());
        let mut price = Catalog::demo();
        price.offerings[0].price.amount = -1.0;
        assert!(price.validate().is_err());
    }

    #[test]
    fn a_purchase_is_effective_now_and_adds_up() {
        let mut l = Ledger::default();
        let t = buy(&mut l, 2, None, NOW).unwrap();
        assert_eq!((t.effective_ms, t.cost, t.kind), (NOW, 500.0, TransactionType::Purchase));
        assert_eq!(l.status_at(&android(), NOW - 1), None, "nothing before the purchase");
        buy(&mut l, 3, None, NOW + DAY).unwrap();
        let s = l.current(NOW + DAY).remove(&android()).unwrap();
        assert_eq!((s.quantity, s.kind, s.effective_ms), (5, TransactionType::Purchase, NOW + DAY));
        assert_eq!(l.slots(NOW + DAY), BTreeMap::from([(DevicePlatform::Android, 5)]));
    }

    #[test]
    fn slots_renew_by_themselves_with_the_latest_total() {
        let mut l = Ledger::default();
        buy(&mut l, 2, None, NOW).unwrap();
        let next = l.next_period(NOW).remove(&android()).unwrap();
        assert_eq!((next.kind, next.quantity, next.effective_ms), (TransactionType::System, 2, JAN_1));
        let txs = l.transactions(FEB_1);
        let kinds: Vec<_> = txs.iter().map(|t| (t.kind, t.effective_ms, t.quantity)).collect();
        assert_eq!(
            kinds,
            vec![
                (TransactionType::System, FEB_1, 2),
                (TransactionType::System, JAN_1, 2),
                (TransactionType::Purchase, NOW, 2)
            ],
            "most recent first"
        );
        assert_eq!(l.transactions(JAN_1 - 1).len(), 1, "no renewal before its period starts");
    }

    #[test]
    fn a_renewal_sets_the_next_period_and_stands_against_later_purchases() {
        let mut l = Ledger::default();
        buy(&mut l, 4, None, NOW).unwrap();
        let r = renew(&mut l, 1, NOW + 1).unwrap();
        assert_eq!((r.effective_ms, r.cost), (JAN_1, 250.0));
        buy(&mut l, 2, None, NOW + 2).unwrap();
        assert_eq!(l.status_at(&android(), NOW + 2).unwrap().quantity, 6, "the renewal does not change this period");
        let next = l.next_period(NOW + 2).remove(&android()).unwrap();
        assert_eq!((next.kind, next.quantity, next.effective_ms), (TransactionType::Renew, 1, JAN_1));
        renew(&mut l, 3, NOW + 3).unwrap();
        assert_eq!(l.next_period(NOW + 3)[&android()].quantity, 3, "the later renewal replaces the earlier");
        let jan: Vec<_> = l.transactions(JAN_1).into_iter().filter(|t| t.effective_ms == JAN_1).collect();
        assert!(
            jan.iter().all(|t| t.kind == TransactionType::Renew),
            "no system renewal where the account renewed: {jan:?}"
        );
        assert_eq!(
            l.next_period(JAN_1)[&android()].kind,
            TransactionType::System,
            "and the renewed quantity renews on"
        );
        assert_eq!(l.next_period(JAN_1)[&android()].quantity, 3);
    }

    #[test]
    fn refusals() {
        let mut l = Ledger::default();
        let catalog = Catalog::demo();
        let none = BTreeMap::new();
        assert_eq!(buy(&mut l, 0, None, NOW), Err(Refusal::Quantity(0)));
        assert_eq!(
            l.purchase(
                Terms { catalog: &catalog, max_slots: &none },
                "X".repeat(32).as_str(),
                1,
                None,
                "t".into(),
                NOW
            ),
            Err(Refusal::UnknownOffering("X".repeat(32)))
        );
        assert_eq!(buy(&mut l, 1, Some("NOPE"), NOW), Err(Refusal::UnknownPromotion("NOPE".into())));
        assert_eq!(renew(&mut l, 1, NOW), Err(Refusal::NothingToRenew(android())));
        assert!(l.transactions.is_empty(), "a refusal records nothing");
        let t = buy(&mut l, 2, Some("FIRST-MONTH-FREE"), NOW).unwrap();
        assert_eq!(t.cost, 0.0);
        assert_eq!(
            buy(&mut l, 1, Some("FIRST-MONTH-FREE"), NOW),
            Err(Refusal::PromotionUsed("FIRST-MONTH-FREE".into()))
        );
        let max = BTreeMap::from([(android(), 3)]);
        assert_eq!(
            l.purchase(Terms { catalog: &catalog, max_slots: &max }, &android(), 2, None, "t".into(), NOW),
            Err(Refusal::OverMaxSlots { offering: android(), max: 3, wanted: 4 })
        );
        assert!(l.purchase(Terms { catalog: &catalog, max_slots: &max }, &android(), 1, None, "t".into(), NOW).is_ok());
        assert!(l.renew(Terms { catalog: &catalog, max_slots: &max }, &android(), 4, "t".into(), NOW).is_err());
    }

    #[test]
    fn unmetered_devices_add_slots_to_the_configured_ones() {
        let mut l = Ledger::default();
        buy(&mut l, 2, None, NOW).unwrap();
        let configured = BTreeMap::from([("ANDROID".to_owned(), 1), ("IOS".to_owned(), 1)]);
        let all = unmetered_devices(&configured, &l, NOW);
        assert_eq!(all, BTreeMap::from([("ANDROID".to_owned(), 3), ("IOS".to_owned(), 1)]));
        assert_eq!(unmetered_devices(&configured, &l, NOW - 1), configured);
    }

    #[test]
    fn the_catalog_reads_from_toml_with_the_models_constants_as_defaults() {
        let text = r#"
            [[offerings]]
            id = "11111111-2222-3333-4444-555555555555"
            description = "Android slot"
            platform = "ANDROID"
            price = { amount = 99.5 }
            [[promotions]]
            id = "HALF"
            description = "Half off"
            discount_percent = 50
        "#;
        let c: Catalog = toml::from_str(text).unwrap();
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.offerings[0].offering_type, OfferingType::Recurring);
        assert_eq!(c.offerings[0].price.frequency, Frequency::Monthly);
        assert_eq!(c.offerings[0].cost(3, 50.0), 149.25);
        assert!(toml::from_str::<Catalog>(&text.replace("ANDROID", "WINDOWS")).is_err());
    }
}
