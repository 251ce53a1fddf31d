//! Devices and device instances: the fleet, read-only through the API.

use super::records::page_slice;
use super::{parse_arn, Ctx};
use domain::arn::ResourceKind;
use domain::device::{Device, DeviceFilter, DeviceFilterAttribute, DeviceInstance, InstanceProfile, RuleOperator};
use protocol::model as wire;
use protocol::pagination::PAGE_SIZE;
use protocol::ApiError;

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
            let attribute = DeviceFilterAttribute::parse(f.attribute.as_str()).map_err(|e| ApiError::argument(e.to_string()))?;
            let operator = RuleOperator::parse(f.operator.as_str()).map_err(|e| ApiError::argument(e.to_string()))?;
            let filter = DeviceFilter::new(attribute, operator, f.values.clone());
            filter.validate().map_err(|e| ApiError::argument(e.to_string()))?;
            Ok(filter)
        })
        .collect()
}

/// The fleet's devices as they are now: instances held by jobs IN_USE, fully used devices BUSY.
pub fn live_devices(ctx: &Ctx) -> Vec<Device> {
    let in_use = ctx.state.engine.instances_in_use(ctx.state.now_ms());
    ctx.state.fleet.devices().iter().map(|d| domain::device::live(d, &in_use)).collect()
}

/// One device as it is now, or `None` when the fleet has no such device.
pub fn live_device(ctx: &Ctx, arn: &str) -> Option<Device> {
    let in_use = ctx.state.engine.instances_in_use(ctx.state.now_ms());
    ctx.state.fleet.device(arn).map(|d| domain::device::live(d, &in_use))
}

pub async fn get(ctx: &Ctx, req: wire::GetDeviceRequest) -> Result<wire::GetDeviceResult, ApiError> {
    parse_arn(ctx, &req.arn, ResourceKind::Device)?;
    let device = live_device(ctx, &req.arn).ok_or_else(|| super::records::not_found(ResourceKind::Device, &req.arn))?;
    Ok(wire::GetDeviceResult { device: Some(device_to_wire(&device)) })
}

pub async fn list(ctx: &Ctx, req: wire::ListDevicesRequest) -> Result<wire::ListDevicesResult, ApiError> {
    // The legacy `arn` names a project; the fleet is the same for every project.
    if let Some(arn) = &req.arn {
        super::projects::load(ctx, arn).await?;
    }
    let filters = filters_from_wire(req.filters.as_deref().unwrap_or_default())?;
    let devices: Vec<Device> =
        live_devices(ctx).into_iter().filter(|d| domain::device::matches_all(&filters, d)).collect();
    let scope = format!(
        "ListDevices|{}",
        serde_json::to_string(&req.filters).unwrap_or_default()
    );
    let (page, next_token) = page_slice(ctx, &scope, &devices, |d| d.arn.clone(), req.next_token.as_deref(), PAGE_SIZE)?;
    Ok(wire::ListDevicesResult {
        devices: Some(page.iter().map(device_to_wire).collect()),
        next_token,
    })
}

pub async fn get_instance(ctx: &Ctx, req: wire::GetDeviceInstanceRequest) -> Result<wire::GetDeviceInstanceResult, ApiError> {
    parse_arn(ctx, &req.arn, ResourceKind::DeviceInstance)?;
    let (device, _) = ctx
        .state
        .fleet
        .instance(&req.arn)
        .ok_or_else(|| super::records::not_found(ResourceKind::DeviceInstance, &req.arn))?;
    let live = live_device(ctx, &device.arn).ok_or_else(ApiError::internal)?;
    let instance = live.instance(&req.arn).ok_or_else(ApiError::internal)?;
    Ok(wire::GetDeviceInstanceResult { device_instance: Some(instance_to_wire(instance)) })
}

pub async fn list_instances(
    ctx: &Ctx,
    req: wire::ListDeviceInstancesRequest,
) -> Result<wire::ListDeviceInstancesResult, ApiError> {
    let devices = live_devices(ctx);
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
