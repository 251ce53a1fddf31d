//! Network profiles: a project's own (PRIVATE, stored records under the project) and AWS's
//! curated set (CURATED, account-less ARNs, the same for every project and read-only).
//! A run takes a copy of its profile when it is scheduled ([`for_run`]), so updating or
//! deleting a profile never changes a run already scheduled.

use super::projects;
use super::records::{page_slice, RecordExt};
use super::{parse_arn, Ctx};
use domain::arn::{Arn, ResourceKind};
use domain::network::{LinkShape, NetworkShape};
use domain::network_profile::{curated_profiles, LinkChange, NetworkProfile};
use protocol::model as wire;
use protocol::pagination::PAGE_SIZE;
use protocol::ApiError;
use store::{ListQuery, Record};

/// The uplink and downlink members of a Create or Update request (the two shapes have
/// the same members but are different types).
macro_rules! link_changes {
    ($req:expr) => {
        (
            LinkChange {
                bandwidth_bits: $req.uplink_bandwidth_bits,
                delay_ms: $req.uplink_delay_ms,
                jitter_ms: $req.uplink_jitter_ms,
                loss_percent: $req.uplink_loss_percent,
            },
            LinkChange {
                bandwidth_bits: $req.downlink_bandwidth_bits,
                delay_ms: $req.downlink_delay_ms,
                jitter_ms: $req.downlink_jitter_ms,
                loss_percent: $req.downlink_loss_percent,
            },
        )
    };
}

fn to_wire(arn: &str, profile: &NetworkProfile, curated: bool) -> wire::NetworkProfile {
    shape_to_wire(&profile.to_shape(arn, curated))
}

/// The whole NetworkProfile shape, from a profile or from the copy a run keeps.
pub fn shape_to_wire(shape: &NetworkShape) -> wire::NetworkProfile {
    let (up, down): (LinkShape, LinkShape) = (shape.uplink, shape.downlink);
    wire::NetworkProfile {
        arn: Some(shape.arn.clone()),
        name: Some(shape.name.clone()),
        description: shape.description.clone(),
        r#type: Some(if shape.curated { wire::NetworkProfileType::Curated } else { wire::NetworkProfileType::Private }),
        uplink_bandwidth_bits: Some(up.bandwidth_bits),
        uplink_delay_ms: Some(up.delay_ms),
        uplink_jitter_ms: Some(up.jitter_ms),
        uplink_loss_percent: Some(up.loss_percent),
        downlink_bandwidth_bits: Some(down.bandwidth_bits),
        downlink_delay_ms: Some(down.delay_ms),
        downlink_jitter_ms: Some(down.jitter_ms),
        downlink_loss_percent: Some(down.loss_percent),
    }
}

fn curated(ctx: &Ctx, arn: &str) -> Option<NetworkProfile> {
    curated_profiles(&ctx.state.region).into_iter().find(|(a, _)| a == arn).map(|(_, p)| p)
}

/// Only farmhand maintains the curated set; a caller may neither create one nor turn its
/// own into one.
fn refuse_curated_type(kind: Option<wire::NetworkProfileType>) -> Result<(), ApiError> {
    match kind {
        Some(wire::NetworkProfileType::Curated) => Err(ApiError::argument(
            "Only PRIVATE network profiles can be created or updated; CURATED ones are the service's",
        )),
        _ => Ok(()),
    }
}

/// The caller's own profile at `text`, for changing it. A curated one is read-only: the
/// caller's mistake, not a missing profile.
async fn load_own(ctx: &Ctx, text: &str) -> Result<(Arn, NetworkProfile), ApiError> {
    if curated(ctx, text).is_some() {
        return Err(ApiError::argument(format!("Network profile {text} is a CURATED profile and cannot be changed")));
    }
    let arn = parse_arn(ctx, text, ResourceKind::NetworkProfile)?;
    let record = ctx.load(&arn).await?;
    Ok((arn, record.body_as()?))
}

/// The profile at `text` as a run keeps it: a curated one, or one of the caller's. Another
/// account's, or one that does not exist, is NotFoundException (the notes, "ARNs").
pub async fn for_run(ctx: &Ctx, text: &str) -> Result<NetworkShape, ApiError> {
    if let Some(profile) = curated(ctx, text) {
        return Ok(profile.to_shape(text, true));
    }
    let arn = parse_arn(ctx, text, ResourceKind::NetworkProfile)?;
    let profile: NetworkProfile = ctx.load(&arn).await?.body_as()?;
    Ok(profile.to_shape(text, false))
}

pub async fn create(
    ctx: &Ctx,
    req: wire::CreateNetworkProfileRequest,
) -> Result<wire::CreateNetworkProfileResult, ApiError> {
    refuse_curated_type(req.r#type)?;
    let (project_arn, _, _) = projects::load(ctx, &req.project_arn).await?;
    let (up, down) = link_changes!(req);
    let mut profile = NetworkProfile {
        name: req.name.clone(),
        description: req.description.clone(),
        uplink: LinkShape::UNSHAPED,
        downlink: LinkShape::UNSHAPED,
    };
    up.apply(&mut profile.uplink);
    down.apply(&mut profile.downlink);
    profile.check().map_err(ApiError::argument)?;
    let arn = project_arn.child(ResourceKind::NetworkProfile, &uuid::Uuid::new_v4().to_string());
    let record = ctx.insert(&arn, Some(&project_arn), &profile.name, None, &profile).await?;
    Ok(wire::CreateNetworkProfileResult { network_profile: Some(to_wire(&record.arn, &profile, false)) })
}

pub async fn get(ctx: &Ctx, req: wire::GetNetworkProfileRequest) -> Result<wire::GetNetworkProfileResult, ApiError> {
    let shape = for_run(ctx, &req.arn).await?;
    Ok(wire::GetNetworkProfileResult { network_profile: Some(shape_to_wire(&shape)) })
}

/// Every private profile of `project`, oldest first. A project holds few profiles, and
/// the list merges them after the curated ones, so one in-memory page over both is the
/// simple way to keep `nextToken` consistent.
async fn all_private(ctx: &Ctx, project: &Arn) -> Result<Vec<Record>, ApiError> {
    let mut records = Vec::new();
    let mut after = None;
    loop {
        let query = ListQuery {
            parent_arn: Some(project.to_string()),
            after,
            ..ListQuery::new(ctx.account.id.clone(), ResourceKind::NetworkProfile, PAGE_SIZE as u32)
        };
        let page = ctx.state.store.list(&query).await.map_err(|e| ctx.internal(e))?;
        records.extend(page.records);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(records),
        }
    }
}

/// The curated profiles, then the project's own, each filtered by `type` when given.
pub async fn list(
    ctx: &Ctx,
    req: wire::ListNetworkProfilesRequest,
) -> Result<wire::ListNetworkProfilesResult, ApiError> {
    let (project_arn, _, _) = projects::load(ctx, &req.arn).await?;
    let wants = |kind: wire::NetworkProfileType| req.r#type.is_none_or(|t| t == kind);
    let mut profiles = Vec::new();
    if wants(wire::NetworkProfileType::Curated) {
        profiles.extend(curated_profiles(&ctx.state.region).iter().map(|(arn, p)| to_wire(arn, p, true)));
    }
    if wants(wire::NetworkProfileType::Private) {
        for record in all_private(ctx, &project_arn).await? {
            profiles.push(to_wire(&record.arn, &record.body_as()?, false));
        }
    }
    let scope = format!("ListNetworkProfiles|{project_arn}|{}", req.r#type.map(|t| t.as_str()).unwrap_or_default());
    let key = |p: &wire::NetworkProfile| p.arn.clone().unwrap_or_default();
    let (page, next_token) = page_slice(ctx, &scope, &profiles, key, req.next_token.as_deref(), PAGE_SIZE)?;
    Ok(wire::ListNetworkProfilesResult { network_profiles: Some(page.to_vec()), next_token })
}

pub async fn update(
    ctx: &Ctx,
    req: wire::UpdateNetworkProfileRequest,
) -> Result<wire::UpdateNetworkProfileResult, ApiError> {
    refuse_curated_type(req.r#type)?;
    let (arn, _) = load_own(ctx, &req.arn).await?;
    let (up, down) = link_changes!(req);
    let (record, profile) = ctx
        .modify(&arn, |p: &mut NetworkProfile, record| {
            if let Some(name) = &req.name {
                p.name = name.clone();
                record.name = name.clone();
            }
            if let Some(d) = &req.description {
                p.description = Some(d.clone());
            }
            up.apply(&mut p.uplink);
            down.apply(&mut p.downlink);
            // Checked on the result, so nothing out of range is ever stored.
            p.check().map_err(ApiError::argument)
        })
        .await?;
    Ok(wire::UpdateNetworkProfileResult { network_profile: Some(to_wire(&record.arn, &profile, false)) })
}

pub async fn delete(
    ctx: &Ctx,
    req: wire::DeleteNetworkProfileRequest,
) -> Result<wire::DeleteNetworkProfileResult, ApiError> {
    let (arn, _) = load_own(ctx, &req.arn).await?;
    ctx.remove(&arn).await?;
    Ok(wire::DeleteNetworkProfileResult {})
}
