//! Instance profiles: an account's choice of what happens to a private device instance
//! between runs (package cleanup, reboot), attached to instances with UpdateDeviceInstance.
//!
//! An account's profiles are stored records. A fleet file may define profiles too: owned
//! by the account the file names, or by no account (then every account may use them, as
//! every account uses the fleet's devices). Those are visible (GetInstanceProfile, and
//! UpdateDeviceInstance may choose them, e.g. to go back to the fleet's) but read-only
//! here, since the file is their source; ListInstanceProfiles lists only the account's own.
//!
//! **Decision:** DeleteInstanceProfile refuses (ArgumentException, the error the model
//! gives the operation) a profile that one of the account's device instances uses; the
//! instance must be given another profile first. Deleting would otherwise silently change
//! what happens after that instance's next job.

use super::devices::{instance_profile_to_wire, instances_using_profile};
use super::records::{not_found, RecordExt};
use super::{parse_arn, Ctx};
use domain::arn::{Arn, ResourceKind};
use domain::device;
use domain::resources::InstanceProfile;
use protocol::model as wire;
use protocol::pagination::PAGE_SIZE;
use protocol::ApiError;
use store::Record;

fn to_wire(arn: &str, profile: &InstanceProfile) -> wire::InstanceProfile {
    instance_profile_to_wire(&profile.to_device_profile(arn))
}

/// The fleet file's profile at `arn`, if the caller may see it: one the file gives no
/// owner belongs to the farm (as its devices do) and every account may see and choose it;
/// one the file gives an account, only that account.
fn fleet_profile(ctx: &Ctx, arn: &str) -> Option<device::InstanceProfile> {
    let owner = arn.split(':').nth(4)?;
    if !owner.is_empty() && owner != ctx.account.id {
        return None;
    }
    ctx.state.fleet().instance_profiles().into_iter().find(|p| p.arn == arn).cloned()
}

/// The profile at `arn` as the caller may see it, from an ARN stored earlier: one of its
/// own or a fleet file's ([`fleet_profile`]). `None` for anything else, another
/// account's included.
pub async fn resolve(ctx: &Ctx, arn: &str) -> Result<Option<device::InstanceProfile>, ApiError> {
    if let Some(profile) = fleet_profile(ctx, arn) {
        return Ok(Some(profile));
    }
    let record = ctx.state.store.get(&ctx.account.id, arn).await.map_err(|e| ctx.internal(e))?;
    match record {
        Some(r) if r.kind == ResourceKind::InstanceProfile.into() => {
            Ok(Some(r.body_as::<InstanceProfile>()?.to_device_profile(arn)))
        }
        _ => Ok(None),
    }
}

/// The profile a request names (GetInstanceProfile, UpdateDeviceInstance's profileArn):
/// as [`resolve`], with the errors of a request. Fleet profiles are looked up first, since
/// an owner-less one has an ARN no account-owned resource could have.
pub async fn visible(ctx: &Ctx, text: &str) -> Result<device::InstanceProfile, ApiError> {
    if let Some(profile) = fleet_profile(ctx, text) {
        return Ok(profile);
    }
    parse_arn(ctx, text, ResourceKind::InstanceProfile)?;
    resolve(ctx, text).await?.ok_or_else(|| not_found(ResourceKind::InstanceProfile, text))
}

/// The caller's stored profile at `text`, for changing it. A fleet-file profile is the
/// caller's mistake to try to change, not a missing one.
async fn load_own(ctx: &Ctx, text: &str) -> Result<(Arn, Record, InstanceProfile), ApiError> {
    if fleet_profile(ctx, text).is_some() {
        return Err(ApiError::argument(format!(
            "Instance profile {text} is defined by the fleet file; change it there"
        )));
    }
    let arn = parse_arn(ctx, text, ResourceKind::InstanceProfile)?;
    let record = ctx.load(&arn).await?;
    let profile = record.body_as()?;
    Ok((arn, record, profile))
}

pub async fn create(
    ctx: &Ctx,
    req: wire::CreateInstanceProfileRequest,
) -> Result<wire::CreateInstanceProfileResult, ApiError> {
    let arn = ctx.arn(ResourceKind::InstanceProfile, uuid::Uuid::new_v4().to_string());
    let profile = InstanceProfile {
        name: req.name,
        description: req.description,
        package_cleanup: req.package_cleanup.unwrap_or(InstanceProfile::DEFAULT_PACKAGE_CLEANUP),
        exclude_app_packages_from_cleanup: req.exclude_app_packages_from_cleanup.unwrap_or_default(),
        reboot_after_use: req.reboot_after_use.unwrap_or(InstanceProfile::DEFAULT_REBOOT_AFTER_USE),
    };
    let record = ctx.insert(&arn, None, &profile.name, None, &profile).await?;
    Ok(wire::CreateInstanceProfileResult { instance_profile: Some(to_wire(&record.arn, &profile)) })
}

pub async fn get(ctx: &Ctx, req: wire::GetInstanceProfileRequest) -> Result<wire::GetInstanceProfileResult, ApiError> {
    let profile = visible(ctx, &req.arn).await?;
    Ok(wire::GetInstanceProfileResult { instance_profile: Some(instance_profile_to_wire(&profile)) })
}

/// The account's own profiles, oldest first. Fleet-file profiles are not listed: they
/// belong to the fleet's configuration, and show on the instances that use them.
pub async fn list(
    ctx: &Ctx,
    req: wire::ListInstanceProfilesRequest,
) -> Result<wire::ListInstanceProfilesResult, ApiError> {
    let limit = req.max_results.map_or(PAGE_SIZE, |n| n.clamp(1, PAGE_SIZE as i32) as usize);
    let (records, next_token) = ctx
        .page_of("ListInstanceProfiles", ResourceKind::InstanceProfile, None, req.next_token.as_deref(), limit)
        .await?;
    let profiles = records.iter().map(|r| Ok(to_wire(&r.arn, &r.body_as()?))).collect::<Result<Vec<_>, ApiError>>()?;
    Ok(wire::ListInstanceProfilesResult { instance_profiles: Some(profiles), next_token })
}

pub async fn update(
    ctx: &Ctx,
    req: wire::UpdateInstanceProfileRequest,
) -> Result<wire::UpdateInstanceProfileResult, ApiError> {
    let (arn, _, _) = load_own(ctx, &req.arn).await?;
    let (record, profile) = ctx
        .modify(&arn, |p: &mut InstanceProfile, record| {
            if let Some(name) = &req.name {
                p.name = name.clone();
                record.name = name.clone();
            }
            if let Some(d) = &req.description {
                p.description = Some(d.clone());
            }
            if let Some(c) = req.package_cleanup {
                p.package_cleanup = c;
            }
            if let Some(packages) = &req.exclude_app_packages_from_cleanup {
                p.exclude_app_packages_from_cleanup = packages.clone();
            }
            if let Some(r) = req.reboot_after_use {
                p.reboot_after_use = r;
            }
            Ok(())
        })
        .await?;
    Ok(wire::UpdateInstanceProfileResult { instance_profile: Some(to_wire(&record.arn, &profile)) })
}

pub async fn delete(
    ctx: &Ctx,
    req: wire::DeleteInstanceProfileRequest,
) -> Result<wire::DeleteInstanceProfileResult, ApiError> {
    let (arn, record, _) = load_own(ctx, &req.arn).await?;
    let users = instances_using_profile(ctx, &record.arn).await?;
    if let Some(first) = users.first() {
        return Err(ApiError::argument(format!(
            "Instance profile {} is used by {} device instance(s), e.g. {first}; give them another profile first",
            record.arn,
            users.len()
        )));
    }
    ctx.remove(&arn).await?;
    Ok(wire::DeleteInstanceProfileResult {})
}
