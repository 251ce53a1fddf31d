//! Device pools: private pools (rules over the fleet, per project) and the curated pools
//! every account sees. GetDevicePoolCompatibility explains, device by device, why a pool's
//! device can or cannot run a given app and test type.

use super::devices::{device_to_wire, selectable_devices};
use super::records::{not_found, page_slice, RecordExt};
use super::{parse_arn, projects, uploads, Ctx};
use domain::arn::{Arn, ResourceKind};
use domain::device::{self, AppInfo, CuratedPool, Device, DeviceAttribute, DevicePlatform, Rule, RuleOperator};
use domain::resources::DevicePool;
use domain::upload::{UploadKind, UploadStatus, UploadType};
use host::uploads::metadata::{APK_MIN_SDK_KEY, IPA_MIN_OS_KEY};
use protocol::model as wire;
use protocol::pagination::PAGE_SIZE;
use protocol::ApiError;
use store::Record;

fn rules_from_wire(rules: &[wire::Rule]) -> Result<Vec<Rule>, ApiError> {
    rules
        .iter()
        .map(|r| {
            let missing = |m: &str| ApiError::argument(format!("Each rule must have an {m}"));
            let attribute = r.attribute.ok_or_else(|| missing("attribute"))?;
            let operator = r.operator.ok_or_else(|| missing("operator"))?;
            let attribute =
                DeviceAttribute::parse(attribute.as_str()).map_err(|e| ApiError::argument(e.to_string()))?;
            let operator = RuleOperator::parse(operator.as_str()).map_err(|e| ApiError::argument(e.to_string()))?;
            let rule = Rule::new(attribute, operator, r.value.clone().unwrap_or_default());
            rule.validate().map_err(|e| ApiError::argument(e.to_string()))?;
            Ok(rule)
        })
        .collect()
}

fn rules_to_wire(rules: &[Rule]) -> Vec<wire::Rule> {
    rules
        .iter()
        .map(|r| wire::Rule {
            attribute: wire::DeviceAttribute::parse(r.attribute.as_str()),
            operator: wire::RuleOperator::parse(r.operator.as_str()),
            value: Some(r.value.clone()),
        })
        .collect()
}

fn check_max_devices(max: Option<i32>) -> Result<(), ApiError> {
    match max {
        Some(n) if n < 1 => Err(ApiError::argument(format!("maxDevices must be at least 1; got {n}"))),
        _ => Ok(()),
    }
}

fn private_to_wire(record: &Record, pool: DevicePool) -> wire::DevicePool {
    wire::DevicePool {
        arn: Some(record.arn.clone()),
        name: Some(pool.name),
        description: pool.description,
        r#type: Some(wire::DevicePoolType::Private),
        rules: Some(rules_to_wire(&pool.rules)),
        max_devices: pool.max_devices,
    }
}

fn curated_to_wire(pool: &CuratedPool) -> wire::DevicePool {
    wire::DevicePool {
        arn: Some(pool.arn.clone()),
        name: Some(pool.name.clone()),
        description: Some(pool.description.clone()),
        r#type: Some(wire::DevicePoolType::Curated),
        rules: Some(rules_to_wire(&pool.rules)),
        max_devices: pool.max_devices.map(|m| m as i32),
    }
}

/// A pool the caller may use: a curated one, or one of its own.
pub enum Pool {
    Curated(CuratedPool),
    Private { record: Record, pool: DevicePool },
}

impl Pool {
    pub fn rules(&self) -> &[Rule] {
        match self {
            Pool::Curated(c) => &c.rules,
            Pool::Private { pool, .. } => &pool.rules,
        }
    }

    pub fn max_devices(&self) -> Option<i32> {
        match self {
            Pool::Curated(c) => c.max_devices.map(|m| m as i32),
            Pool::Private { pool, .. } => pool.max_devices,
        }
    }

    /// The devices the pool selects from `devices` (the account's view of the fleet,
    /// `devices::selectable_devices`), in the fleet's selection order.
    pub fn devices<'d>(&self, devices: &'d [Device]) -> Vec<&'d Device> {
        device::select_by_rules(devices, self.rules(), self.max_devices().map(|m| m as usize))
    }

    fn to_wire(&self) -> wire::DevicePool {
        match self {
            Pool::Curated(c) => curated_to_wire(c),
            Pool::Private { record, pool, .. } => private_to_wire(record, pool.clone()),
        }
    }
}

pub async fn load(ctx: &Ctx, text: &str) -> Result<Pool, ApiError> {
    let arn = parse_arn(ctx, text, ResourceKind::DevicePool)?;
    if arn.account.is_empty() {
        return device::curated_pools(&ctx.state.fleet())
            .into_iter()
            .find(|p| p.arn == text)
            .map(Pool::Curated)
            .ok_or_else(|| not_found(ResourceKind::DevicePool, text));
    }
    let record = ctx.load(&arn).await?;
    let pool = record.body_as()?;
    Ok(Pool::Private { record, pool })
}

pub async fn create(ctx: &Ctx, req: wire::CreateDevicePoolRequest) -> Result<wire::CreateDevicePoolResult, ApiError> {
    let (project_arn, _, _) = projects::load(ctx, &req.project_arn).await?;
    let rules = rules_from_wire(&req.rules)?;
    check_max_devices(req.max_devices)?;
    let limit = ctx.account.settings.limits.max_device_pools_per_project;
    let arn = project_arn.child(ResourceKind::DevicePool, &uuid::Uuid::new_v4().to_string());
    let pool = DevicePool { name: req.name, description: req.description, rules, max_devices: req.max_devices };
    let record = ctx.insert_limited(&arn, Some(&project_arn), &pool.name, None, &pool, limit.into()).await?;
    Ok(wire::CreateDevicePoolResult { device_pool: Some(private_to_wire(&record, pool)) })
}

pub async fn get(ctx: &Ctx, req: wire::GetDevicePoolRequest) -> Result<wire::GetDevicePoolResult, ApiError> {
    Ok(wire::GetDevicePoolResult { device_pool: Some(load(ctx, &req.arn).await?.to_wire()) })
}

pub async fn list(ctx: &Ctx, req: wire::ListDevicePoolsRequest) -> Result<wire::ListDevicePoolsResult, ApiError> {
    let (project_arn, _, _) = projects::load(ctx, &req.arn).await?;
    let mut pools = Vec::new();
    if req.r#type.is_none_or(|t| t == wire::DevicePoolType::Curated) {
        pools.extend(device::curated_pools(&ctx.state.fleet()).iter().map(curated_to_wire));
    }
    if req.r#type.is_none_or(|t| t == wire::DevicePoolType::Private) {
        // Private pools per project are bounded by the account's limit, so reading them all
        // and paging the combined list keeps curated and private pools in one stable order.
        let mut token = None;
        loop {
            let (records, next) =
                ctx.page("ListDevicePools/all", ResourceKind::DevicePool, Some(&project_arn), token.as_deref()).await?;
            for r in &records {
                pools.push(private_to_wire(r, r.body_as()?));
            }
            match next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
    }
    let scope = format!("ListDevicePools|{}|{:?}", project_arn, req.r#type);
    let (page, next_token) =
        page_slice(ctx, &scope, &pools, |p| p.arn.clone().unwrap_or_default(), req.next_token.as_deref(), PAGE_SIZE)?;
    Ok(wire::ListDevicePoolsResult { device_pools: Some(page.to_vec()), next_token })
}

fn private_arn(ctx: &Ctx, text: &str) -> Result<Arn, ApiError> {
    let arn = parse_arn(ctx, text, ResourceKind::DevicePool)?;
    if arn.account.is_empty() {
        return Err(ApiError::argument(format!("Curated device pool {text} cannot be changed or deleted")));
    }
    Ok(arn)
}

pub async fn update(ctx: &Ctx, req: wire::UpdateDevicePoolRequest) -> Result<wire::UpdateDevicePoolResult, ApiError> {
    let arn = private_arn(ctx, &req.arn)?;
    if req.clear_max_devices == Some(true) && req.max_devices.is_some() {
        return Err(ApiError::argument("maxDevices and clearMaxDevices cannot be given together"));
    }
    check_max_devices(req.max_devices)?;
    let rules = req.rules.as_deref().map(rules_from_wire).transpose()?;
    let (record, pool) = ctx
        .modify(&arn, |p: &mut DevicePool, record| {
            if let Some(name) = &req.name {
                p.name = name.clone();
                record.name = name.clone();
            }
            if let Some(d) = &req.description {
                p.description = Some(d.clone());
            }
            if let Some(r) = &rules {
                p.rules = r.clone();
            }
            if req.max_devices.is_some() {
                p.max_devices = req.max_devices;
            }
            if req.clear_max_devices == Some(true) {
                p.max_devices = None;
            }
            Ok(())
        })
        .await?;
    Ok(wire::UpdateDevicePoolResult { device_pool: Some(private_to_wire(&record, pool)) })
}

pub async fn delete(ctx: &Ctx, req: wire::DeleteDevicePoolRequest) -> Result<wire::DeleteDevicePoolResult, ApiError> {
    let arn = private_arn(ctx, &req.arn)?;
    ctx.load(&arn).await?;
    ctx.remove(&arn).await?;
    Ok(wire::DeleteDevicePoolResult {})
}

/// What the app upload tells about the devices it can run on.
async fn app_info(ctx: &Ctx, app_arn: &str) -> Result<AppInfo, ApiError> {
    let (_, _, upload) = uploads::load(ctx, app_arn).await?;
    if upload.upload_type.kind() != UploadKind::App {
        return Err(ApiError::argument(format!("{app_arn} is a {} upload, not an app", upload.upload_type.as_str())));
    }
    if upload.status != UploadStatus::Succeeded {
        return Err(ApiError::argument(format!(
            "The app upload {app_arn} is {}, not SUCCEEDED",
            upload.status.as_str()
        )));
    }
    Ok(app_info_from_metadata(upload.upload_type, upload.metadata.as_deref()))
}

pub async fn compatibility(
    ctx: &Ctx,
    req: wire::GetDevicePoolCompatibilityRequest,
) -> Result<wire::GetDevicePoolCompatibilityResult, ApiError> {
    let pool = load(ctx, &req.device_pool_arn).await?;
    let app = match &req.app_arn {
        Some(arn) => Some(app_info(ctx, arn).await?),
        None => None,
    };
    let test_type = req
        .test
        .as_ref()
        .map(|t| t.r#type)
        .or(req.test_type)
        .map(super::runs::schedule::domain_test_type)
        .transpose()?;
    let mut compatible = Vec::new();
    let mut incompatible = Vec::new();
    let devices = selectable_devices(ctx).await?;
    for device in pool.devices(&devices) {
        let reasons = device::check_compatibility(device, app.as_ref(), test_type);
        let result = wire::DevicePoolCompatibilityResult {
            device: Some(device_to_wire(device)),
            compatible: Some(reasons.is_empty()),
            incompatibility_messages: Some(
                reasons
                    .into_iter()
                    .map(|r| wire::IncompatibilityMessage {
                        message: Some(r.message),
                        r#type: wire::DeviceAttribute::parse(r.type_.as_str()),
                    })
                    .collect(),
            ),
        };
        if result.compatible == Some(true) {
            compatible.push(result);
        } else {
            incompatible.push(result);
        }
    }
    Ok(wire::GetDevicePoolCompatibilityResult {
        compatible_devices: Some(compatible),
        incompatible_devices: Some(incompatible),
    })
}

/// The platform comes from the upload type; the minimum OS from what inspection read out of
/// the package (absent when the manifest could not be parsed: then only the platform counts).
pub fn app_info_from_metadata(upload_type: UploadType, metadata: Option<&str>) -> AppInfo {
    let meta: serde_json::Value = metadata.and_then(|m| serde_json::from_str(m).ok()).unwrap_or_default();
    let text = |key: &str| {
        meta.get(key).and_then(|v| v.as_str().map(str::to_string).or_else(|| v.as_u64().map(|n| n.to_string())))
    };
    match upload_type {
        UploadType::IosApp => AppInfo { platform: DevicePlatform::Ios, min_sdk: None, min_os: text(IPA_MIN_OS_KEY) },
        _ => AppInfo {
            platform: DevicePlatform::Android,
            min_sdk: text(APK_MIN_SDK_KEY).and_then(|s| s.parse().ok()),
            min_os: None,
        },
    }
}
