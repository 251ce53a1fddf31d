//! ScheduleRun: check every input the way the service does, pick the devices, and store
//! one run and one job per compatible device. From then on the scheduler and the timeline
//! take over; nothing here waits for a device.

use super::super::devices::{filters_from_wire, selectable_devices};
use super::super::pools;
use super::super::projects::{self, check_job_timeout};
use super::super::uploads;
use super::super::Ctx;
use super::super::{network_profiles, vpce};
use crate::api::records::to_json;
use domain::arn::{index, Arn, ResourceKind};
use domain::device::{self, check_compatibility, AppInfo, Device};
use domain::network::JobNetwork;
use domain::resources::{check_environment_variables, EnvironmentVariable, Upload};
use domain::run::{BillingMethod, DeviceSelection, Job, JobPhase, Run, WaitReason};
use domain::upload::{test_package_type_for, test_spec_type_for, TestType, UploadKind, UploadStatus, UploadType};
use engine::sim::stored::LoadError;
use engine::sim::Scenario;
use protocol::model as wire;
use protocol::ApiError;

/// The model's test type as farmhand's: the same values, so a miss is a model farmhand does
/// not know yet, answered as bad input rather than guessed at.
pub fn domain_test_type(t: wire::TestType) -> Result<TestType, ApiError> {
    t.as_str().parse().map_err(|e: domain::upload::UnknownTestType| ApiError::argument(e.to_string()))
}

/// Test types that need no app: web tests run in the device's browser, built-in tests and
/// remote access bring their own.
fn app_optional(test_type: TestType) -> bool {
    use TestType::*;
    test_type.is_web()
        || matches!(
            test_type,
            BuiltinFuzz | BuiltinExplorer | WebPerformanceProfile | RemoteAccessRecord | RemoteAccessReplay
        )
}

/// Loads an upload named by a ScheduleRun member: it must be the caller's, belong to the
/// run's project, have finished processing successfully, and be of an accepted type.
pub(crate) async fn upload_for_run(
    ctx: &Ctx,
    project: &Arn,
    member: &str,
    arn: &str,
    accepts: impl Fn(UploadType) -> bool,
    wanted: &str,
) -> Result<(Arn, Upload), ApiError> {
    let (arn, _, upload) = uploads::load(ctx, arn).await?;
    if arn.project().as_ref() != Some(project) {
        return Err(ApiError::argument(format!("{member} {arn} belongs to another project")));
    }
    if !accepts(upload.upload_type) {
        return Err(ApiError::argument(format!(
            "{member} {arn} is a {} upload; this run needs {wanted}",
            upload.upload_type.as_str()
        )));
    }
    if upload.status != UploadStatus::Succeeded {
        return Err(ApiError::argument(format!(
            "{member} {arn} is {}, not SUCCEEDED{}",
            upload.status.as_str(),
            upload.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
        )));
    }
    Ok((arn, upload))
}

/// The scenario that scripts the simulated devices: kept beside the test package when it
/// was uploaded, so the package itself is not fetched here.
async fn scenario(ctx: &Ctx, package: Option<&Arn>) -> Result<Scenario, ApiError> {
    let Some(arn) = package else { return Ok(Scenario::default()) };
    engine::sim::stored::load(&ctx.state.blobs, &engine::blob_keys::upload(arn)).await.map_err(|e| match e {
        LoadError::Scenario(e) => ApiError::argument(e.to_string()),
        other => ctx.internal(other),
    })
}

pub async fn schedule(ctx: &Ctx, req: wire::ScheduleRunRequest) -> Result<wire::ScheduleRunResult, ApiError> {
    let (project_arn, _, project) = projects::load(ctx, &req.project_arn).await?;
    let test_type = domain_test_type(req.test.r#type)?;
    let configuration = req.configuration.clone().unwrap_or_default();
    let execution = req.execution_configuration.clone().unwrap_or_default();

    let app = match &req.app_arn {
        Some(arn) => Some(
            upload_for_run(
                ctx,
                &project_arn,
                "appArn",
                arn,
                |t| t.kind() == UploadKind::App,
                "an ANDROID_APP or IOS_APP upload",
            )
            .await?,
        ),
        None if app_optional(test_type) => None,
        None => return Err(ApiError::argument(format!("appArn is required for {test_type} runs"))),
    };
    let package = match (test_package_type_for(test_type), &req.test.test_package_arn) {
        (Some(expected), Some(arn)) => {
            Some(upload_for_run(ctx, &project_arn, "testPackageArn", arn, |t| t == expected, expected.as_str()).await?)
        }
        (Some(expected), None) => {
            return Err(ApiError::argument(format!(
                "{test_type} runs need a testPackageArn of type {}",
                expected.as_str()
            )))
        }
        (None, Some(_)) => return Err(ApiError::argument(format!("{test_type} runs take no test package"))),
        (None, None) => None,
    };
    let spec_arn = match (&req.test.test_spec_arn, test_spec_type_for(test_type)) {
        // A curated spec belongs to every project, like AWS's.
        (Some(arn), Some(expected)) => Some(match uploads::curated(ctx, arn) {
            Some(curated) if curated.upload_type == expected => arn.clone(),
            Some(curated) => {
                return Err(ApiError::argument(format!(
                    "testSpecArn {arn} is a {} upload; this run needs {}",
                    curated.upload_type.as_str(),
                    expected.as_str()
                )))
            }
            None => upload_for_run(ctx, &project_arn, "testSpecArn", arn, |t| t == expected, expected.as_str())
                .await?
                .0
                .to_string(),
        }),
        (Some(_), None) => return Err(ApiError::argument(format!("{test_type} runs cannot use a test spec"))),
        (None, _) => None,
    };
    if let Some(arn) = &configuration.extra_data_package_arn {
        upload_for_run(
            ctx,
            &project_arn,
            "extraDataPackageArn",
            arn,
            |t| t == UploadType::ExternalData,
            "an EXTERNAL_DATA upload",
        )
        .await?;
    }
    for arn in configuration.auxiliary_apps.iter().flatten() {
        upload_for_run(ctx, &project_arn, "auxiliaryApps", arn, |t| t.kind() == UploadKind::App, "an app upload")
            .await?;
    }
    // Resolved now and copied onto the run: a later change to the profile or a
    // configuration does not reach a run already scheduled.
    let network = JobNetwork {
        profile: match &configuration.network_profile_arn {
            Some(arn) => Some(network_profiles::for_run(ctx, arn).await?),
            None => None,
        },
        aliases: vpce::aliases_for_run(ctx, configuration.vpce_configuration_arns.as_deref().unwrap_or_default())
            .await?,
    };

    let app_info = app.as_ref().map(|(_, u)| app_info(u));
    let (candidates, selection) = select_devices(ctx, &req).await?;
    let devices: Vec<Device> = candidates
        .into_iter()
        .filter(|d| check_compatibility(d, app_info.as_ref(), Some(test_type)).is_empty())
        .collect();
    if devices.is_empty() {
        return Err(ApiError::argument(format!(
            "None of the selected devices is compatible with this {test_type} run{}",
            app.as_ref().map(|(_, u)| format!(" of {}", u.name)).unwrap_or_default()
        )));
    }

    check_job_timeout(ctx, execution.job_timeout_minutes, "executionConfiguration.jobTimeoutMinutes")?;
    let timeout = execution
        .job_timeout_minutes
        .or(project.default_job_timeout_minutes)
        .unwrap_or(ctx.account.settings.default_job_timeout_minutes);
    let billing_method = match configuration.billing_method {
        Some(wire::BillingMethod::Unmetered) => BillingMethod::Unmetered,
        _ => BillingMethod::Metered,
    };
    if billing_method == BillingMethod::Metered {
        check_metered_quota(ctx).await?;
    }
    let variables: Vec<EnvironmentVariable> = match &configuration.environment_variables {
        Some(vars) => {
            vars.iter().map(|v| EnvironmentVariable { name: v.name.clone(), value: v.value.clone() }).collect()
        }
        None => project.environment_variables.clone(),
    };
    check_environment_variables(&variables).map_err(ApiError::argument)?;

    let scenario = scenario(ctx, package.as_ref().map(|(arn, _)| arn)).await?;
    let platform = app_info.as_ref().map(|a| a.platform).unwrap_or(devices[0].platform);
    let name =
        req.name.clone().or_else(|| app.as_ref().map(|(_, u)| u.name.clone())).unwrap_or_else(|| test_type.to_string());
    let run_arn = project_arn.child(ResourceKind::Run, &uuid::Uuid::new_v4().to_string());
    let mut echo = serde_json::json!({
        "configuration": configuration,
        "executionConfiguration": execution,
        "environmentVariables": variables.iter().map(|v| serde_json::json!({"name": v.name, "value": v.value})).collect::<Vec<_>>(),
        "testFilter": req.test.filter,
        "testParameters": req.test.parameters,
    });
    if let Some(vpc) = &project.vpc_config {
        echo["vpcConfig"] = serde_json::json!({
            "securityGroupIds": vpc.security_group_ids, "subnetIds": vpc.subnet_ids, "vpcId": vpc.vpc_id
        });
    }
    if let Some(role) = configuration.execution_role_arn.clone().or(project.execution_role_arn.clone()) {
        echo["executionRoleArn"] = serde_json::Value::String(role);
    }
    let run = Run {
        name,
        test_type,
        platform,
        app_arn: app.as_ref().map(|(a, _)| a.to_string()),
        test_package_arn: package.as_ref().map(|(a, _)| a.to_string()),
        test_spec_arn: spec_arn,
        device_pool_arn: req.device_pool_arn.clone(),
        billing_method,
        job_timeout_minutes: timeout,
        total_jobs: devices.len() as u32,
        device_selection: selection,
        stop_requested_ms: None,
        stop_grace_ms: None,
        network,
        echo,
    };
    let run_record = ctx.new_record(&run_arn, Some(&project_arn), &run.name, Some("ACTIVE"), &run)?;
    let video_capture = execution.video_capture.unwrap_or(true);
    let mut job_records = Vec::with_capacity(devices.len());
    for (i, device) in devices.into_iter().enumerate() {
        let driver = ctx.state.fleet().driver(&device.arn);
        let job = Job {
            index: i as u32,
            test_type,
            plan: scenario.plan_for(&device.name, device.platform),
            customer_files: scenario.customer_files_for(&device.name, device.platform),
            device,
            billing_method,
            timeout_minutes: timeout,
            video_capture,
            phase: JobPhase::Waiting,
            wait_reason: WaitReason::Pending,
            instance_arn: None,
            assigned_ms: None,
            stop_requested_ms: None,
            stop_grace_ms: None,
            settled_ms: None,
            driver,
            observed: None,
            artifacts: Vec::new(),
        };
        let job_arn = run_arn.child(ResourceKind::Job, &index(i as u32));
        job_records.push(ctx.new_record(
            &job_arn,
            Some(&run_arn),
            &job.device.name,
            Some(JobPhase::Waiting.as_str()),
            &job,
        )?);
    }
    // A run without all its jobs would never run them, or end COMPLETED with none: the
    // run and its jobs are stored together or not at all (a crash, a full disk).
    let records = [std::slice::from_ref(&run_record), &job_records].concat();
    ctx.state.store.insert_all(&records).await.map_err(|e| ctx.internal(e))?;
    ctx.state.engine.wake();
    let view = super::view::run_view(ctx, &run_record, &run, &job_records)?;
    Ok(wire::ScheduleRunResult { run: Some(view) })
}

fn app_info(upload: &Upload) -> AppInfo {
    pools::app_info_from_metadata(upload.upload_type, upload.metadata.as_deref())
}

/// The devices a run asks for, from the caller's view of the fleet (its instance labels
/// and profiles included, so rules and filters on them select what the account sees).
async fn select_devices(
    ctx: &Ctx,
    req: &wire::ScheduleRunRequest,
) -> Result<(Vec<Device>, Option<DeviceSelection>), ApiError> {
    let fleet = selectable_devices(ctx).await?;
    match (&req.device_pool_arn, &req.device_selection_configuration) {
        (Some(_), Some(_)) => {
            Err(ApiError::argument("Give either devicePoolArn or deviceSelectionConfiguration, not both"))
        }
        (None, None) => Err(ApiError::argument("devicePoolArn or deviceSelectionConfiguration is required")),
        (Some(pool), None) => {
            let pool = pools::load(ctx, pool).await?;
            Ok((pool.devices(&fleet).into_iter().cloned().collect(), None))
        }
        (None, Some(selection)) => {
            if selection.max_devices < 1 {
                return Err(ApiError::argument("deviceSelectionConfiguration.maxDevices must be at least 1"));
            }
            let filters = filters_from_wire(&selection.filters)?;
            let matched = device::select_by_filters(&fleet, &filters, None);
            let chosen = device::select_by_filters(&fleet, &filters, Some(selection.max_devices as usize));
            let record = DeviceSelection {
                filters: to_json(&selection.filters)?,
                matched_devices_count: matched.len() as u32,
                max_devices: selection.max_devices as u32,
            };
            Ok((chosen.into_iter().cloned().collect(), Some(record)))
        }
    }
}

pub(crate) async fn check_metered_quota(ctx: &Ctx) -> Result<(), ApiError> {
    let Some(total_minutes) = ctx.account.settings.trial_minutes_total else { return Ok(()) };
    let used_seconds = ctx.state.store.metered_seconds(&ctx.account.id).await.map_err(|e| ctx.internal(e))?;
    if used_seconds as f64 / 60.0 >= total_minutes {
        return Err(ApiError::service_account(format!(
            "The account has used all {total_minutes} of its metered device minutes"
        )));
    }
    Ok(())
}
