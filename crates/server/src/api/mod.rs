//! The operations: one module per resource family, one async function per operation,
//! each taking the typed, already-validated input and returning the typed output.
//! [`dispatch`] is the single table from [`Operation`] to function.

mod artifacts;
mod devices;
mod instance_profiles;
mod network_profiles;
mod offerings;
mod pools;
mod projects;
mod records;
pub mod remote_access;
pub mod runs;
mod samples;
mod settings;
mod tags;
mod testgrid;
pub mod uploads;
mod vpce;

use crate::AppState;
use domain::account::Account;
use protocol::model::Operation;
use protocol::{decode_input, ApiError};
use std::sync::Arc;

pub use records::parse_arn;

/// What an operation runs with: the server's state and the caller's account.
pub struct Ctx {
    pub state: Arc<AppState>,
    pub account: Account,
}

fn encode<T: serde::Serialize>(output: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(output).map_err(|_| ApiError::internal())
}

pub async fn dispatch(ctx: &Ctx, op: Operation, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    macro_rules! table {
        // Every operation of the model has its function: a new one in the model fails to
        // compile here until it has one.
        ($($variant:ident => $handler:path),* $(,)?) => {
            match op {
                $(Operation::$variant => encode(&$handler(ctx, decode_input(op, body)?).await?),)*
            }
        };
    }
    table! {
        CreateProject => projects::create,
        GetProject => projects::get,
        ListProjects => projects::list,
        UpdateProject => projects::update,
        DeleteProject => projects::delete,
        TagResource => tags::tag,
        UntagResource => tags::untag,
        ListTagsForResource => tags::list,
        GetAccountSettings => settings::get_account_settings,
        GetDevice => devices::get,
        ListDevices => devices::list,
        GetDeviceInstance => devices::get_instance,
        ListDeviceInstances => devices::list_instances,
        UpdateDeviceInstance => devices::update_instance,
        CreateInstanceProfile => instance_profiles::create,
        GetInstanceProfile => instance_profiles::get,
        ListInstanceProfiles => instance_profiles::list,
        UpdateInstanceProfile => instance_profiles::update,
        DeleteInstanceProfile => instance_profiles::delete,
        CreateNetworkProfile => network_profiles::create,
        GetNetworkProfile => network_profiles::get,
        ListNetworkProfiles => network_profiles::list,
        UpdateNetworkProfile => network_profiles::update,
        DeleteNetworkProfile => network_profiles::delete,
        CreateVPCEConfiguration => vpce::create,
        GetVPCEConfiguration => vpce::get,
        ListVPCEConfigurations => vpce::list,
        UpdateVPCEConfiguration => vpce::update,
        DeleteVPCEConfiguration => vpce::delete,
        CreateDevicePool => pools::create,
        GetDevicePool => pools::get,
        ListDevicePools => pools::list,
        UpdateDevicePool => pools::update,
        DeleteDevicePool => pools::delete,
        GetDevicePoolCompatibility => pools::compatibility,
        CreateUpload => uploads::create,
        GetUpload => uploads::get,
        ListUploads => uploads::list,
        UpdateUpload => uploads::update,
        DeleteUpload => uploads::delete,
        ScheduleRun => runs::schedule,
        GetRun => runs::get_run,
        ListRuns => runs::list_runs,
        DeleteRun => runs::delete_run,
        StopRun => runs::stop::stop_run,
        GetJob => runs::get_job,
        ListJobs => runs::list_jobs,
        StopJob => runs::stop::stop_job,
        GetSuite => runs::get_suite,
        ListSuites => runs::list_suites,
        GetTest => runs::get_test,
        ListTests => runs::list_tests,
        ListUniqueProblems => runs::list_unique_problems,
        ListArtifacts => artifacts::list,
        ListOfferings => offerings::list,
        ListOfferingPromotions => offerings::list_promotions,
        PurchaseOffering => offerings::purchase,
        RenewOffering => offerings::renew,
        GetOfferingStatus => offerings::status,
        ListOfferingTransactions => offerings::list_transactions,
        ListSamples => samples::list,
        CreateTestGridProject => testgrid::create_project,
        GetTestGridProject => testgrid::get_project,
        ListTestGridProjects => testgrid::list_projects,
        UpdateTestGridProject => testgrid::update_project,
        DeleteTestGridProject => testgrid::delete_project,
        CreateTestGridUrl => testgrid::create_url,
        GetTestGridSession => testgrid::get_session,
        ListTestGridSessions => testgrid::list_sessions,
        ListTestGridSessionActions => testgrid::list_session_actions,
        ListTestGridSessionArtifacts => testgrid::list_session_artifacts,
        CreateRemoteAccessSession => remote_access::create,
        GetRemoteAccessSession => remote_access::get,
        ListRemoteAccessSessions => remote_access::list,
        StopRemoteAccessSession => remote_access::stop,
        DeleteRemoteAccessSession => remote_access::delete,
        InstallToRemoteAccessSession => remote_access::install,
    }
}
