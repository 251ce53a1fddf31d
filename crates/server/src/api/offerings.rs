//! Offerings: the operator's catalog (config file) and the account's slot purchases and
//! renewals. The rules are [`domain::offering`]'s; this module reads the catalog and the
//! clock, appends to the account's ledger ([`engine::offering_ledgers`]) and speaks the
//! wire shapes.
//!
//! **Decision** (where AWS only says "NotEligible if the user is not permitted"):
//! NotEligibleException for a promotion the catalog does not have, a promotion the account
//! has already used, and a renewal of an offering the account holds no slots of.
//! Exceeding GetAccountSettings `maxSlots` for the offering is LimitExceededException.

use super::records::{epoch_seconds, page_slice};
use super::Ctx;
use domain::offering::{self, Ledger, Refusal, Status, Terms, Transaction};
use engine::offering_ledgers::{self, AppendError};
use protocol::model as wire;
use protocol::pagination::PAGE_SIZE;
use protocol::{ApiError, ErrorCode};
use std::collections::BTreeMap;

fn offering_to_wire(o: &offering::Offering) -> wire::Offering {
    wire::Offering {
        id: Some(o.id.clone()),
        description: Some(o.description.clone()),
        r#type: Some(wire::OfferingType::Recurring),
        platform: wire::DevicePlatform::parse(o.platform.as_str()),
        recurring_charges: Some(vec![wire::RecurringCharge {
            cost: Some(money(o.price.amount)),
            frequency: Some(wire::RecurringChargeFrequency::Monthly),
        }]),
    }
}

fn money(amount: f64) -> wire::MonetaryAmount {
    wire::MonetaryAmount { amount: Some(amount), currency_code: Some(wire::CurrencyCode::Usd) }
}

fn transaction_type(kind: offering::TransactionType) -> wire::OfferingTransactionType {
    match kind {
        offering::TransactionType::Purchase => wire::OfferingTransactionType::Purchase,
        offering::TransactionType::Renew => wire::OfferingTransactionType::Renew,
        offering::TransactionType::System => wire::OfferingTransactionType::System,
    }
}

fn status_to_wire(s: &Status) -> wire::OfferingStatus {
    wire::OfferingStatus {
        r#type: Some(transaction_type(s.kind)),
        offering: Some(offering_to_wire(&s.offering)),
        quantity: Some(s.quantity),
        effective_on: Some(epoch_seconds(s.effective_ms)),
    }
}

fn transaction_to_wire(t: &Transaction) -> wire::OfferingTransaction {
    wire::OfferingTransaction {
        transaction_id: Some(t.id.clone()),
        offering_status: Some(status_to_wire(&Status {
            kind: t.kind,
            offering: t.offering.clone(),
            quantity: t.quantity,
            effective_ms: t.effective_ms,
        })),
        created_on: Some(epoch_seconds(t.created_ms)),
        offering_promotion_id: t.promotion_id.clone(),
        cost: Some(money(t.cost)),
    }
}

fn refusal_to_error(refusal: Refusal) -> ApiError {
    let message = refusal.to_string();
    match refusal {
        Refusal::Quantity(_) => ApiError::argument(message),
        Refusal::UnknownOffering(_) => ApiError::not_found(message),
        Refusal::UnknownPromotion(_) | Refusal::PromotionUsed(_) | Refusal::NothingToRenew(_) => {
            ApiError::new(ErrorCode::NotEligible, message)
        }
        Refusal::OverMaxSlots { .. } => ApiError::limit_exceeded(message),
    }
}

fn terms(ctx: &Ctx) -> Terms<'_> {
    Terms { catalog: &ctx.state.catalog, max_slots: &ctx.account.settings.max_slots }
}

async fn ledger(ctx: &Ctx) -> Result<Ledger, ApiError> {
    offering_ledgers::load(ctx.state.store.as_ref(), &ctx.account.id).await.map_err(|e| ctx.internal(e))
}

/// The account's unmetered devices per platform now: configured plus purchased
/// (GetAccountSettings `unmeteredDevices`, as the scheduler counts them).
pub async fn unmetered_devices(ctx: &Ctx) -> Result<BTreeMap<String, i32>, ApiError> {
    let ledger = ledger(ctx).await?;
    Ok(offering::unmetered_devices(&ctx.account.settings.unmetered_devices, &ledger, ctx.state.now_ms()))
}

/// Appends the transaction `decide` makes, with a fresh id, at the service clock's now.
async fn append(
    ctx: &Ctx,
    decide: impl Fn(&Ledger, String, i64) -> Result<Transaction, Refusal>,
) -> Result<wire::OfferingTransaction, ApiError> {
    let now = ctx.state.now_ms();
    // 32 hex digits: the model's TransactionIdentifier is at least 32 characters.
    let id = uuid::Uuid::new_v4().simple().to_string();
    let store = ctx.state.store.as_ref();
    match offering_ledgers::append(store, &ctx.account.id, now, |l| decide(l, id.clone(), now)).await {
        Ok(t) => Ok(transaction_to_wire(&t)),
        Err(AppendError::Refused(refusal)) => Err(refusal_to_error(refusal)),
        Err(e) => Err(ctx.internal(e)),
    }
}

pub async fn list(ctx: &Ctx, req: wire::ListOfferingsRequest) -> Result<wire::ListOfferingsResult, ApiError> {
    let all = &ctx.state.catalog.offerings;
    let (page, next_token) =
        page_slice(ctx, "ListOfferings", all, |o| o.id.clone(), req.next_token.as_deref(), PAGE_SIZE)?;
    Ok(wire::ListOfferingsResult { offerings: Some(page.iter().map(offering_to_wire).collect()), next_token })
}

pub async fn list_promotions(
    ctx: &Ctx,
    req: wire::ListOfferingPromotionsRequest,
) -> Result<wire::ListOfferingPromotionsResult, ApiError> {
    let all = &ctx.state.catalog.promotions;
    let (page, next_token) =
        page_slice(ctx, "ListOfferingPromotions", all, |p| p.id.clone(), req.next_token.as_deref(), PAGE_SIZE)?;
    let promotions = page
        .iter()
        .map(|p| wire::OfferingPromotion { id: Some(p.id.clone()), description: Some(p.description.clone()) })
        .collect();
    Ok(wire::ListOfferingPromotionsResult { offering_promotions: Some(promotions), next_token })
}

pub async fn purchase(ctx: &Ctx, req: wire::PurchaseOfferingRequest) -> Result<wire::PurchaseOfferingResult, ApiError> {
    let terms = terms(ctx);
    let promotion = req.offering_promotion_id.as_deref();
    let transaction =
        append(ctx, |ledger, id, now| ledger.purchase(terms, &req.offering_id, req.quantity, promotion, id, now))
            .await?;
    // Jobs waiting for an unmetered slot may start now.
    ctx.state.engine.wake();
    Ok(wire::PurchaseOfferingResult { offering_transaction: Some(transaction) })
}

pub async fn renew(ctx: &Ctx, req: wire::RenewOfferingRequest) -> Result<wire::RenewOfferingResult, ApiError> {
    let terms = terms(ctx);
    let transaction =
        append(ctx, |ledger, id, now| ledger.renew(terms, &req.offering_id, req.quantity, id, now)).await?;
    Ok(wire::RenewOfferingResult { offering_transaction: Some(transaction) })
}

/// Every offering the account holds fits one answer (a catalog is a handful of
/// offerings), so no token is ever issued; one sent anyway is checked like any other.
pub async fn status(ctx: &Ctx, req: wire::GetOfferingStatusRequest) -> Result<wire::GetOfferingStatusResult, ApiError> {
    if let Some(token) = req.next_token.as_deref() {
        ctx.state.tokens.open(&format!("GetOfferingStatus|{}", ctx.account.id), token)?;
    }
    let ledger = ledger(ctx).await?;
    let now = ctx.state.now_ms();
    let map = |m: BTreeMap<String, Status>| m.iter().map(|(id, s)| (id.clone(), status_to_wire(s))).collect();
    Ok(wire::GetOfferingStatusResult {
        current: Some(map(ledger.current(now))),
        next_period: Some(map(ledger.next_period(now))),
        next_token: None,
    })
}

pub async fn list_transactions(
    ctx: &Ctx,
    req: wire::ListOfferingTransactionsRequest,
) -> Result<wire::ListOfferingTransactionsResult, ApiError> {
    let all = ledger(ctx).await?.transactions(ctx.state.now_ms());
    let (page, next_token) =
        page_slice(ctx, "ListOfferingTransactions", &all, |t| t.id.clone(), req.next_token.as_deref(), PAGE_SIZE)?;
    Ok(wire::ListOfferingTransactionsResult {
        offering_transactions: Some(page.iter().map(transaction_to_wire).collect()),
        next_token,
    })
}
