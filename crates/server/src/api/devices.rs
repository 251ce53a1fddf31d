//! Devices and device instances: the shared fleet as one account sees it.
//!
//! The fleet belongs to no account, yet UpdateDeviceInstance lets an account give an
//! instance its own labels and instance profile. Those are kept per account
//! ([`DeviceInstanceSettings`]) and laid over the fleet by [`InstanceOverrides::apply`],
//! the one place that rule lives: every device an operation shows or selects for an
//! account ([`live_devices`], [`selectable_devices`], [`job_device`]) goes through it, so
//! filters and pool rules on INSTANCE_LABELS / INSTANCE_ARN see what the account sees.

use super::records::{not_found, page_slice, RecordExt};
use super::{instance_profiles, parse_arn, Ctx};
use domain::arn::{Arn, ResourceKind};
use domain::device::{
    Device, DeviceFilter, DeviceFilterAttribute, DeviceInstance, FleetType, InstanceProfile, RuleOperator,
};
use domain::record_kind::RecordKind;
use domain::resources::{device_instance_settings_arn, DeviceInstanceSettings};
use protocol::model as wire;
use protocol::pagination::PAGE_SIZE;
use protocol::ApiError;
use std::collections::BTreeMap;
use store::{ListQuery, Record};

pub fn instance_profile_to_wire(p: &InstanceProfile) -> wire::InstanceProfile {
    wire::InstanceProfile {
        arn: Some(p.arn.clone()),
        package_cleanup: Some(p.package_cleanup),
        exclude_app_packages_from_cleanup: Some(p.exclude_app_packages_from_cleanup.clone()),
        reboot_after_use: Some(p.reboot_after_use),
        name: Some(p.name.clone()),
        description: p.description.clone(),
    }
}

pub fn instance_to_wire(i: &DeviceInstance) -> wire::DeviceInstance {
    wire::DeviceInstance {
        arn: Some(i.arn.clone()),
        device_arn: Some(i.device_arn.clone()),
        labels: Some(i.labels.clone()),
        status: wire::InstanceStatus::parse(i.status.as_str()),
        udid: Some(i.udid.clone()),
        instance_profile: i.instance_profile.as_ref().map(instance_profile_to_wire),
    }
}

pub fn device_to_wire(d: &Device) -> wire::Device {
    wire::Device {
        arn: Some(d.arn.clone()),
        name: Some(d.name.clone()),
        manufacturer: Some(d.manufacturer.clone()),
        model: Some(d.model.clone()),
        model_id: Some(d.model_id.clone()),
        form_factor: wire::DeviceFormFactor::parse(d.form_factor.as_str()),
        platform: wire::DevicePlatform::parse(d.platform.as_str()),
        os: Some(d.os.as_str().to_string()),
        cpu: Some(wire::CPU {
            frequency: Some(d.cpu.frequency.clone()),
            architecture: Some(d.cpu.architecture.clone()),
            clock: Some(d.cpu.clock),
        }),
        resolution: Some(wire::Resolution {
            width: Some(d.resolution.width as i32),
            height: Some(d.resolution.height as i32),
        }),
        heap_size: Some(d.heap_size as i64),
        memory: Some(d.memory as i64),
        image: d.image.clone(),
        carrier: d.carrier.clone(),
        radio: d.radio.clone(),
        remote_access_enabled: Some(d.remote_access_enabled),
        remote_debug_enabled: Some(d.remote_debug_enabled),
        fleet_type: Some(d.fleet_type.as_str().to_string()),
        fleet_name: Some(d.fleet_name.clone()),
        instances: Some(d.instances.iter().map(instance_to_wire).collect()),
        availability: wire::DeviceAvailability::parse(d.availability.as_str()),
    }
}

/// Wire filters → domain filters, checked against the operator rules AWS documents.
pub fn filters_from_wire(filters: &[wire::DeviceFilter]) -> Result<Vec<DeviceFilter>, ApiError> {
    filters
        .iter()
        .map(|f| {
            let attribute =
                DeviceFilterAttribute::parse(f.attribute.as_str()).map_err(|e| ApiError::argument(e.to_string()))?;
            let operator = RuleOperator::parse(f.operator.as_str()).map_err(|e| ApiError::argument(e.to_string()))?;
            let filter = DeviceFilter::new(attribute, operator, f.values.clone());
            filter.validate().map_err(|e| ApiError::argument(e.to_string()))?;
            Ok(filter)
        })
        .collect()
}

/// What one account set for one instance, its profile resolved.
#[derive(Debug, Clone, Default, PartialEq)]
struct InstanceOverride {
    labels: Option<Vec<String>>,
    profile: Option<InstanceProfile>,
}

/// One account's settings for the fleet's instances, keyed by instance ARN.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstanceOverrides {
    by_instance: BTreeMap<String, InstanceOverride>,
}

impl InstanceOverrides {
    /// Every setting of the caller's account, with the profiles they name read once each.
    pub async fn load(ctx: &Ctx) -> Result<InstanceOverrides, ApiError> {
        let mut profiles: BTreeMap<String, Option<InstanceProfile>> = BTreeMap::new();
        let mut by_instance = BTreeMap::new();
        for (instance_arn, settings) in account_settings(ctx).await? {
            let profile = match settings.profile_arn {
                Some(arn) => match profiles.get(&arn) {
                    Some(p) => p.clone(),
                    None => {
                        let resolved = instance_profiles::resolve(ctx, &arn).await?;
                        profiles.insert(arn, resolved.clone());
                        resolved
                    }
                },
                None => None,
            };
            by_instance.insert(instance_arn, InstanceOverride { labels: settings.labels, profile });
        }
        Ok(InstanceOverrides { by_instance })
    }

    /// `device` as the account sees it: its labels replace the fleet's where it set some, its
    /// profile replaces the fleet's where it chose one. A profile that has gone (deleted
    /// while being chosen) leaves the fleet's, rather than showing a dangling ARN.
    pub fn apply(&self, device: &mut Device) {
        for instance in &mut device.instances {
            let Some(o) = self.by_instance.get(&instance.arn) else { continue };
            if let Some(labels) = &o.labels {
                instance.labels = labels.clone();
            }
            if let Some(profile) = &o.profile {
                instance.instance_profile = Some(profile.clone());
            }
        }
    }
}

/// The caller's stored settings, as (instance ARN, settings). Bounded by the fleet's
/// instance count: an account has at most one per instance.
async fn account_settings(ctx: &Ctx) -> Result<Vec<(String, DeviceInstanceSettings)>, ApiError> {
    let mut query = ListQuery::new(ctx.account.id.clone(), RecordKind::DeviceInstanceSettings, 1000);
    let mut settings = Vec::new();
    loop {
        let page = ctx.state.store.list(&query).await.map_err(|e| ctx.internal(e))?;
        for record in &page.records {
            settings.push((record.name.clone(), record.body_as()?));
        }
        match page.next {
            Some(next) => query.after = Some(next),
            None => return Ok(settings),
        }
    }
}

/// The instances of the caller's account whose settings name `profile_arn`.
pub async fn instances_using_profile(ctx: &Ctx, profile_arn: &str) -> Result<Vec<String>, ApiError> {
    Ok(account_settings(ctx)
        .await?
        .into_iter()
        .filter(|(_, s)| s.profile_arn.as_deref() == Some(profile_arn))
        .map(|(instance, _)| instance)
        .collect())
}

fn fleet_live(ctx: &Ctx, device: &Device) -> Device {
    let in_use =
        ctx.state.engine.instances_in_use_among(device.instances.iter().map(|i| i.arn.as_str()), ctx.state.now_ms());
    domain::device::live(device, &in_use)
}

/// The fleet's devices as the caller sees them now: instances held by jobs IN_USE, fully
/// used devices BUSY, the account's labels and profiles on its instances.
pub async fn live_devices(ctx: &Ctx) -> Result<Vec<Device>, ApiError> {
    let overrides = InstanceOverrides::load(ctx).await?;
    let in_use = ctx.state.engine.instances_in_use(ctx.state.now_ms());
    Ok(ctx
        .state
        .fleet()
        .devices()
        .iter()
        .map(|d| {
            let mut device = domain::device::live(d, &in_use);
            overrides.apply(&mut device);
            device
        })
        .collect())
}

/// One device as the caller sees it now, or `None` when the fleet has no such device.
pub async fn live_device(ctx: &Ctx, arn: &str) -> Result<Option<Device>, ApiError> {
    let fleet = ctx.state.fleet();
    let Some(device) = fleet.device(arn) else { return Ok(None) };
    let mut device = fleet_live(ctx, device);
    InstanceOverrides::load(ctx).await?.apply(&mut device);
    Ok(Some(device))
}

/// The devices runs and pools choose from for the caller: the fleet's baseline
/// availability (so the same rules pick the same devices whatever is running), with the
/// account's labels and profiles.
pub async fn selectable_devices(ctx: &Ctx) -> Result<Vec<Device>, ApiError> {
    let overrides = InstanceOverrides::load(ctx).await?;
    Ok(ctx
        .state
        .fleet()
        .devices()
        .iter()
        .map(|d| {
            let mut device = d.clone();
            overrides.apply(&mut device);
            device
        })
        .collect())
}

/// The device a job shows: its state now (availability, instances in use), with the
/// labels and profiles the account had on it when the run was scheduled (the copy the job
/// keeps, taken from [`selectable_devices`]). Falls back to that copy if the fleet no
/// longer has the device.
pub fn job_device(ctx: &Ctx, scheduled: &Device) -> Device {
    let fleet = ctx.state.fleet();
    let Some(device) = fleet.device(&scheduled.arn) else { return scheduled.clone() };
    let mut device = fleet_live(ctx, device);
    for instance in &mut device.instances {
        if let Some(then) = scheduled.instance(&instance.arn) {
            instance.labels = then.labels.clone();
            instance.instance_profile = then.instance_profile.clone();
        }
    }
    device
}

pub async fn get(ctx: &Ctx, req: wire::GetDeviceRequest) -> Result<wire::GetDeviceResult, ApiError> {
    parse_arn(ctx, &req.arn, ResourceKind::Device)?;
    let device = live_device(ctx, &req.arn).await?.ok_or_else(|| not_found(ResourceKind::Device, &req.arn))?;
    Ok(wire::GetDeviceResult { device: Some(device_to_wire(&device)) })
}

pub async fn list(ctx: &Ctx, req: wire::ListDevicesRequest) -> Result<wire::ListDevicesResult, ApiError> {
    // The legacy `arn` names a project; the fleet is the same for every project.
    if let Some(arn) = &req.arn {
        super::projects::load(ctx, arn).await?;
    }
    let filters = filters_from_wire(req.filters.as_deref().unwrap_or_default())?;
    let devices: Vec<Device> =
        live_devices(ctx).await?.into_iter().filter(|d| domain::device::matches_all(&filters, d)).collect();
    let scope = format!("ListDevices|{}", serde_json::to_string(&req.filters).unwrap_or_default());
    let (page, next_token) =
        page_slice(ctx, &scope, &devices, |d| d.arn.clone(), req.next_token.as_deref(), PAGE_SIZE)?;
    Ok(wire::ListDevicesResult { devices: Some(page.iter().map(device_to_wire).collect()), next_token })
}

/// The instance at `arn` as the caller sees it now.
async fn account_instance(ctx: &Ctx, arn: &str) -> Result<DeviceInstance, ApiError> {
    let missing = || not_found(ResourceKind::DeviceInstance, arn);
    let fleet = ctx.state.fleet();
    let (device, _) = fleet.instance(arn).ok_or_else(missing)?;
    let device = live_device(ctx, &device.arn).await?.ok_or_else(missing)?;
    device.instance(arn).cloned().ok_or_else(missing)
}

pub async fn get_instance(
    ctx: &Ctx,
    req: wire::GetDeviceInstanceRequest,
) -> Result<wire::GetDeviceInstanceResult, ApiError> {
    parse_arn(ctx, &req.arn, ResourceKind::DeviceInstance)?;
    let instance = account_instance(ctx, &req.arn).await?;
    Ok(wire::GetDeviceInstanceResult { device_instance: Some(instance_to_wire(&instance)) })
}

pub async fn list_instances(
    ctx: &Ctx,
    req: wire::ListDeviceInstancesRequest,
) -> Result<wire::ListDeviceInstancesResult, ApiError> {
    let devices = live_devices(ctx).await?;
    let instances: Vec<&DeviceInstance> = devices.iter().flat_map(|d| d.instances.iter()).collect();
    let page_size = req.max_results.map(|m| m as usize).unwrap_or(PAGE_SIZE).min(PAGE_SIZE);
    let scope = format!("ListDeviceInstances|{page_size}");
    let (page, next_token) =
        page_slice(ctx, &scope, &instances, |i| i.arn.clone(), req.next_token.as_deref(), page_size)?;
    Ok(wire::ListDeviceInstancesResult {
        device_instances: Some(page.iter().map(|i| instance_to_wire(i)).collect()),
        next_token,
    })
}

/// UpdateDeviceInstance: the caller's labels and profile for a private fleet instance. AWS
/// documents the operation for private devices only, so a public fleet's instance is
/// refused. Members left out keep what the account set before.
pub async fn update_instance(
    ctx: &Ctx,
    req: wire::UpdateDeviceInstanceRequest,
) -> Result<wire::UpdateDeviceInstanceResult, ApiError> {
    parse_arn(ctx, &req.arn, ResourceKind::DeviceInstance)?;
    let fleet = ctx.state.fleet();
    let (device, _) = fleet.instance(&req.arn).ok_or_else(|| not_found(ResourceKind::DeviceInstance, &req.arn))?;
    if device.fleet_type != FleetType::Private {
        return Err(ApiError::argument(format!(
            "Device instance {} belongs to the {} fleet; only private device instances can be updated",
            req.arn,
            device.fleet_type.as_str()
        )));
    }
    if let Some(profile) = &req.profile_arn {
        instance_profiles::visible(ctx, profile).await?;
    }
    let key = device_instance_settings_arn(&req.arn, &ctx.account.id).ok_or_else(ApiError::internal)?;
    let change = |s: &mut DeviceInstanceSettings| {
        if let Some(labels) = &req.labels {
            s.labels = Some(labels.clone());
        }
        if let Some(profile) = &req.profile_arn {
            s.profile_arn = Some(profile.clone());
        }
    };
    save_settings(ctx, &key, &req.arn, change).await?;
    let instance = account_instance(ctx, &req.arn).await?;
    Ok(wire::UpdateDeviceInstanceResult { device_instance: Some(instance_to_wire(&instance)) })
}

/// Creates or changes the caller's settings record for an instance. Two first updates may
/// race to create it; the loser changes the winner's record instead.
async fn save_settings(
    ctx: &Ctx,
    key: &Arn,
    instance_arn: &str,
    change: impl Fn(&mut DeviceInstanceSettings),
) -> Result<(), ApiError> {
    for _ in 0..4 {
        match ctx
            .modify(key, |s: &mut DeviceInstanceSettings, _| {
                change(s);
                Ok(())
            })
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) if e.code != protocol::ErrorCode::NotFound => return Err(e),
            Err(_) => {}
        }
        let mut settings = DeviceInstanceSettings::default();
        change(&mut settings);
        let mut record = Record {
            arn: key.to_string(),
            account_id: ctx.account.id.clone(),
            kind: RecordKind::DeviceInstanceSettings,
            parent_arn: None,
            // The instance the settings are for, so listing them needs no ARN arithmetic.
            name: instance_arn.to_string(),
            status: None,
            created_ms: ctx.state.now_ms(),
            version: 0,
            body: serde_json::Value::Null,
        };
        record.set_body(&settings)?;
        match ctx.state.store.insert(&record).await {
            Ok(()) => return Ok(()),
            Err(store::StoreError::AlreadyExists) => continue,
            Err(e) => return Err(ctx.internal(e)),
        }
    }
    Err(ctx.internal(format!("gave up saving the settings of {instance_arn}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::device::Fleet;

    fn profile(name: &str) -> InstanceProfile {
        InstanceProfile {
            arn: format!("arn:aws:devicefarm:us-west-2:111111111111:instanceprofile:{name}"),
            package_cleanup: true,
            exclude_app_packages_from_cleanup: vec![],
            reboot_after_use: false,
            name: name.into(),
            description: None,
        }
    }

    #[test]
    fn overrides_replace_only_what_the_account_set() {
        let fleet = Fleet::demo("us-west-2");
        let device = fleet.devices().iter().find(|d| d.instances.len() == 2).expect("a two-unit model").clone();
        let (first, second) = (&device.instances[0], &device.instances[1]);
        let mut overrides = InstanceOverrides::default();
        overrides
            .by_instance
            .insert(first.arn.clone(), InstanceOverride { labels: Some(vec!["mine".into()]), profile: None });
        overrides
            .by_instance
            .insert(second.arn.clone(), InstanceOverride { labels: None, profile: Some(profile("p")) });
        let mut seen = device.clone();
        overrides.apply(&mut seen);
        assert_eq!(seen.instances[0].labels, ["mine"]);
        assert_eq!(seen.instances[0].instance_profile, first.instance_profile);
        assert_eq!(seen.instances[1].labels, second.labels);
        assert_eq!(seen.instances[1].instance_profile, Some(profile("p")));
        // Everything but the instances' labels and profiles stays the fleet's.
        let mut untouched = seen.clone();
        untouched.instances = device.instances.clone();
        assert_eq!(untouched, device);
    }

    #[test]
    fn no_settings_is_the_fleet() {
        let fleet = Fleet::demo("us-west-2");
        for device in fleet.devices() {
            let mut seen = device.clone();
            InstanceOverrides::default().apply(&mut seen);
            assert_eq!(&seen, device);
        }
    }
}
