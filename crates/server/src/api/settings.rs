//! GetAccountSettings: the caller's account as the service sees it; its unmetered devices
//! include the slots it has purchased.

use super::Ctx;
use protocol::model as wire;
use protocol::ApiError;

pub async fn get_account_settings(
    ctx: &Ctx,
    _req: wire::GetAccountSettingsRequest,
) -> Result<wire::GetAccountSettingsResult, ApiError> {
    let s = &ctx.account.settings;
    let trial_minutes = match s.trial_minutes_total {
        Some(total) => {
            let used_seconds = ctx.state.store.metered_seconds(&ctx.account.id).await.map_err(|e| ctx.internal(e))?;
            let remaining = (total - used_seconds as f64 / 60.0).max(0.0);
            Some(wire::TrialMinutes { total: Some(total), remaining: Some(remaining) })
        }
        None => None,
    };
    Ok(wire::GetAccountSettingsResult {
        account_settings: Some(wire::AccountSettings {
            aws_account_number: Some(ctx.account.id.clone()),
            unmetered_devices: Some(super::offerings::unmetered_devices(ctx).await?),
            unmetered_remote_access_devices: Some(s.unmetered_remote_access_devices.clone()),
            max_job_timeout_minutes: Some(s.max_job_timeout_minutes),
            trial_minutes,
            max_slots: Some(s.max_slots.clone()),
            default_job_timeout_minutes: Some(s.default_job_timeout_minutes),
            skip_app_resign: Some(s.skip_app_resign),
        }),
    })
}
