//! GetAccountSettings: the caller's account as the service sees it.

use super::Ctx;
use protocol::model as wire;
use protocol::ApiError;

pub async fn get_account_settings(
    ctx: &Ctx,
    _req: wire::GetAccountSettingsRequest,
) -> Result<wire::GetAccountSettingsResult, ApiError> {
    let s = &ctx.account.settings;
    // TODO(issue 3): subtract the metered minutes of the billing ledger once runs exist;
    // until ScheduleRun is served nothing can be billed, so the whole quota remains.
    let trial_minutes =
        s.trial_minutes_total.map(|total| wire::TrialMinutes { total: Some(total), remaining: Some(total) });
    Ok(wire::GetAccountSettingsResult {
        account_settings: Some(wire::AccountSettings {
            aws_account_number: Some(ctx.account.id.clone()),
            unmetered_devices: Some(s.unmetered_devices.clone()),
            unmetered_remote_access_devices: Some(s.unmetered_remote_access_devices.clone()),
            max_job_timeout_minutes: Some(s.max_job_timeout_minutes),
            trial_minutes,
            max_slots: Some(s.max_slots.clone()),
            default_job_timeout_minutes: Some(s.default_job_timeout_minutes),
            skip_app_resign: Some(s.skip_app_resign),
        }),
    })
}
