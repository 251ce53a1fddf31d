//! The six remote access operations. A session is stored here and waits for its device
//! like a job (`engine::scheduler`); the replica serving it (`crate::remote_access`) does
//! the rest. Every answer is the whole session as it stands at the request's instant.

use super::devices::{device_to_wire, job_device, live_device};
use super::records::{epoch_seconds, not_found, parse_arn, RecordExt};
use super::runs::schedule::{check_metered_quota, upload_for_run};
use super::runs::view::minutes;
use super::{network_profiles, projects, uploads, vpce, Ctx};
use domain::arn::{Arn, ResourceKind};
use domain::device::{Device, DevicePlatform};
use domain::job::status::ExecutionStatus;
use domain::remote_access::{Install, InteractionMode, RemoteSession};
use domain::run::{BillingMethod, JobPhase};
use domain::upload::{UploadKind, UploadType};
use protocol::model as wire;
use protocol::ApiError;
use store::{Record, StoreError};

fn mode_to_wire(mode: InteractionMode) -> Option<wire::InteractionMode> {
    wire::InteractionMode::parse(mode.as_str())
}

/// The session's endpoint: this farm's viewer page for it, behind a sealed token that opens
/// this one session until its longest possible end.
fn endpoint(ctx: &Ctx, arn: &Arn, session: &RemoteSession) -> String {
    let now = ctx.state.now_ms();
    let from = session.ready_ms.unwrap_or(now).max(now);
    let expires = from + i64::from(session.timeout_minutes) * 60_000 + 60_000;
    let token = ctx.state.remote_access.endpoint_token(arn, expires);
    format!("{}/remote-access/{token}", ctx.state.public_url)
}

pub fn to_wire(ctx: &Ctx, record: &Record, session: &RemoteSession) -> Result<wire::RemoteAccessSession, ApiError> {
    let arn: Arn = record.arn.parse().map_err(|e| ctx.internal(e))?;
    let view = session.view(ctx.state.now_ms());
    let live = view.status != ExecutionStatus::Completed;
    let endpoint = live.then(|| endpoint(ctx, &arn, session));
    Ok(wire::RemoteAccessSession {
        arn: Some(record.arn.clone()),
        name: Some(session.name.clone()),
        created: Some(epoch_seconds(record.created_ms)),
        status: wire::ExecutionStatus::parse(view.status.as_str()),
        result: wire::ExecutionResult::parse(view.result.as_str()),
        message: view.message.clone(),
        started: view.started_ms.map(epoch_seconds),
        stopped: view.stopped_ms.map(epoch_seconds),
        device: Some(device_to_wire(&job_device(ctx, &session.device))),
        instance_arn: session.instance_arn.clone(),
        billing_method: wire::BillingMethod::parse(session.billing_method.as_str()),
        device_minutes: Some(minutes(view.billed_seconds, session.billing_method)),
        endpoint: endpoint.clone(),
        endpoints: Some(wire::RemoteAccessEndpoints { interactive_endpoint: endpoint, remote_driver_endpoint: None }),
        device_udid: session.device_udid.clone(),
        interaction_mode: mode_to_wire(session.interaction_mode),
        skip_app_resign: Some(session.skip_app_resign),
        vpc_config: session.vpc_config.clone().map(|v| wire::VpcConfig {
            security_group_ids: v.security_group_ids,
            subnet_ids: v.subnet_ids,
            vpc_id: v.vpc_id,
        }),
        device_proxy: session.device_proxy.clone().and_then(|p| serde_json::from_value(p).ok()),
        app_upload: session.app_arn.clone(),
        remote_debug_enabled: Some(session.remote_debug_enabled),
        remote_record_enabled: Some(session.remote_record_enabled),
        remote_record_app_arn: session.remote_record_app_arn.clone(),
        host_address: None,
        client_id: session.client_id.clone(),
    })
}

fn app_type_for(platform: DevicePlatform) -> UploadType {
    match platform {
        DevicePlatform::Android => UploadType::AndroidApp,
        DevicePlatform::Ios => UploadType::IosApp,
    }
}

async fn app_for(ctx: &Ctx, project: &Arn, member: &str, arn: &str, device: &Device) -> Result<Arn, ApiError> {
    let wanted = app_type_for(device.platform);
    let (arn, _) = upload_for_run(ctx, project, member, arn, |t| t == wanted, wanted.as_str()).await?;
    Ok(arn)
}

pub async fn load(ctx: &Ctx, text: &str) -> Result<(Arn, Record, RemoteSession), ApiError> {
    let arn = parse_arn(ctx, text, ResourceKind::Session)?;
    let record = ctx.load(&arn).await?;
    let session = record.body_as()?;
    Ok((arn, record, session))
}

pub async fn create(
    ctx: &Ctx,
    req: wire::CreateRemoteAccessSessionRequest,
) -> Result<wire::CreateRemoteAccessSessionResult, ApiError> {
    let (project_arn, _, project) = projects::load(ctx, &req.project_arn).await?;
    let device_arn = parse_arn(ctx, &req.device_arn, ResourceKind::Device)?;
    let device = live_device(ctx, &req.device_arn).await?.ok_or_else(|| not_found(device_arn.kind, &req.device_arn))?;
    if !device.remote_access_enabled {
        return Err(ApiError::argument(format!(
            "Remote access is not enabled on device {} ({})",
            device.name, device.arn
        )));
    }
    if let Some(instance) = &req.instance_arn {
        if device.instance(instance).is_none() {
            return Err(ApiError::argument(format!(
                "instanceArn {instance} is not an instance of device {}",
                device.arn
            )));
        }
    }
    let app_arn = match &req.app_arn {
        Some(arn) => Some(app_for(ctx, &project_arn, "appArn", arn, &device).await?.to_string()),
        None => None,
    };
    let record_app_arn = match &req.remote_record_app_arn {
        Some(arn) => Some(app_for(ctx, &project_arn, "remoteRecordAppArn", arn, &device).await?.to_string()),
        None => None,
    };
    let configuration = req.configuration.clone().unwrap_or_default();
    for arn in configuration.auxiliary_apps.iter().flatten() {
        upload_for_run(ctx, &project_arn, "auxiliaryApps", arn, |t| t.kind() == UploadKind::App, "an app upload")
            .await?;
    }
    let vpce_arns = configuration.vpce_configuration_arns.clone().unwrap_or_default();
    vpce::aliases_for_run(ctx, &vpce_arns).await?;
    let network_profile = match &configuration.network_profile_arn {
        Some(arn) => Some(network_profiles::for_run(ctx, arn).await?),
        None => None,
    };
    let billing_method = match configuration.billing_method {
        Some(wire::BillingMethod::Unmetered) => BillingMethod::Unmetered,
        _ => BillingMethod::Metered,
    };
    if billing_method == BillingMethod::Metered {
        check_metered_quota(ctx).await?;
    }
    let interaction_mode =
        req.interaction_mode.and_then(|m| InteractionMode::parse(m.as_str())).unwrap_or(InteractionMode::Interactive);
    let timeout = ctx.account.settings.max_job_timeout_minutes;
    let name = req.name.clone().unwrap_or_else(|| device.name.clone());
    let driver = ctx.state.fleet().driver(&device.arn);
    let session = RemoteSession {
        requested_instance_arn: req.instance_arn.clone(),
        interaction_mode,
        skip_app_resign: req.skip_app_resign.unwrap_or(false),
        remote_debug_enabled: req.remote_debug_enabled.unwrap_or(false),
        // Today's SDKs cannot send remoteRecordEnabled (the model dropped it), and AWS keeps a
        // video of every remote access session: recorded unless a request says not to.
        remote_record_enabled: req.remote_record_enabled.unwrap_or(true),
        remote_record_app_arn: record_app_arn,
        client_id: req.client_id.clone(),
        app_arn: app_arn.clone(),
        vpce_configuration_arns: vpce_arns,
        network_profile,
        device_proxy: configuration.device_proxy.as_ref().and_then(|p| serde_json::to_value(p).ok()),
        vpc_config: project.vpc_config.clone(),
        // The app given at creation is installed as soon as the device is up.
        installs: app_arn
            .into_iter()
            .map(|app_arn| Install { app_arn, requested_ms: ctx.state.now_ms(), outcome: None })
            .collect(),
        ..RemoteSession::waiting(name, device, driver, billing_method, timeout)
    };
    let arn = project_arn.child(ResourceKind::Session, &format!("{}/00000", uuid::Uuid::new_v4()));
    let record =
        ctx.insert(&arn, Some(&project_arn), &session.name, Some(JobPhase::Waiting.as_str()), &session).await?;
    ctx.state.engine.wake();
    Ok(wire::CreateRemoteAccessSessionResult { remote_access_session: Some(to_wire(ctx, &record, &session)?) })
}

pub async fn get(
    ctx: &Ctx,
    req: wire::GetRemoteAccessSessionRequest,
) -> Result<wire::GetRemoteAccessSessionResult, ApiError> {
    let (_, record, session) = load(ctx, &req.arn).await?;
    Ok(wire::GetRemoteAccessSessionResult { remote_access_session: Some(to_wire(ctx, &record, &session)?) })
}

pub async fn list(
    ctx: &Ctx,
    req: wire::ListRemoteAccessSessionsRequest,
) -> Result<wire::ListRemoteAccessSessionsResult, ApiError> {
    let (project_arn, _, _) = projects::load(ctx, &req.arn).await?;
    let (records, next_token) = ctx
        .page("ListRemoteAccessSessions", ResourceKind::Session, Some(&project_arn), req.next_token.as_deref())
        .await?;
    let sessions = records.iter().map(|r| to_wire(ctx, r, &r.body_as()?)).collect::<Result<Vec<_>, ApiError>>()?;
    Ok(wire::ListRemoteAccessSessionsResult { remote_access_sessions: Some(sessions), next_token })
}

fn store_error(ctx: &Ctx, arn: &Arn, e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => not_found(ResourceKind::Session, &arn.to_string()),
        other => ctx.internal(other),
    }
}

pub async fn stop(
    ctx: &Ctx,
    req: wire::StopRemoteAccessSessionRequest,
) -> Result<wire::StopRemoteAccessSessionResult, ApiError> {
    let (arn, _, _) = load(ctx, &req.arn).await?;
    let state = &ctx.state;
    let (record, session) =
        state.remote_access.request_stop(state, &arn).await.map_err(|e| store_error(ctx, &arn, e))?;
    Ok(wire::StopRemoteAccessSessionResult { remote_access_session: Some(to_wire(ctx, &record, &session)?) })
}

pub async fn delete(
    ctx: &Ctx,
    req: wire::DeleteRemoteAccessSessionRequest,
) -> Result<wire::DeleteRemoteAccessSessionResult, ApiError> {
    let (arn, _, session) = load(ctx, &req.arn).await?;
    if session.phase != JobPhase::Settled {
        return Err(ApiError::argument(format!(
            "Remote access session {arn} is {}; stop it before deleting it",
            session.view(ctx.state.now_ms()).status.as_str()
        )));
    }
    let deleted = ctx.state.store.delete(&ctx.account.id, &arn.to_string()).await.map_err(|e| ctx.internal(e))?;
    if !deleted {
        return Err(not_found(ResourceKind::Session, &req.arn));
    }
    for artifact in &session.artifacts {
        if let Err(e) = ctx.state.blobs.delete(&artifact.blob_key).await {
            tracing::warn!(error = %e, key = %artifact.blob_key, "deleting a remote access artifact");
        }
    }
    Ok(wire::DeleteRemoteAccessSessionResult {})
}

pub async fn install(
    ctx: &Ctx,
    req: wire::InstallToRemoteAccessSessionRequest,
) -> Result<wire::InstallToRemoteAccessSessionResult, ApiError> {
    let (arn, _, session) = load(ctx, &req.remote_access_session_arn).await?;
    let status = session.view(ctx.state.now_ms()).status;
    if status != ExecutionStatus::Running {
        return Err(ApiError::argument(format!(
            "Remote access session {arn} is {}; apps are installed while it is RUNNING",
            status.as_str()
        )));
    }
    let project = arn.project().ok_or_else(|| ctx.internal("a session ARN without its project"))?;
    let app = app_for(ctx, &project, "appArn", &req.app_arn, &session.device).await?;
    let now = ctx.state.now_ms();
    ctx.modify(&arn, |s: &mut RemoteSession, _| {
        if s.ended_ms.is_some() || s.stop_requested_ms.is_some() {
            return Err(ApiError::argument(format!("Remote access session {arn} has been stopped")));
        }
        s.installs.push(Install { app_arn: app.to_string(), requested_ms: now, outcome: None });
        Ok(())
    })
    .await?;
    ctx.state.remote_access.wake.wake();
    let (_, record, upload) = uploads::load(ctx, &app.to_string()).await?;
    Ok(wire::InstallToRemoteAccessSessionResult { app_upload: Some(uploads::to_wire(&record, upload)) })
}
