//! VPC endpoint configurations: account-scoped records naming a private service
//! (`vpceServiceName`) and the DNS name tests reach it by (`serviceDnsName`). ScheduleRun
//! copies each one a run names into the run's network ([`aliases_for_run`]), so a host can
//! resolve the name without the store, and a later change does not reach a scheduled run.

use super::records::RecordExt;
use super::{parse_arn, Ctx};
use domain::arn::{Arn, ResourceKind};
use domain::network::ServiceAlias;
use domain::vpce::VpceConfiguration;
use protocol::model as wire;
use protocol::pagination::PAGE_SIZE;
use protocol::ApiError;

fn to_wire(arn: &str, config: &VpceConfiguration) -> wire::VPCEConfiguration {
    wire::VPCEConfiguration {
        arn: Some(arn.to_string()),
        vpce_configuration_name: Some(config.name.clone()),
        vpce_service_name: Some(config.service_name.clone()),
        service_dns_name: Some(config.service_dns_name.clone()),
        vpce_configuration_description: config.description.clone(),
    }
}

async fn load(ctx: &Ctx, text: &str) -> Result<(Arn, VpceConfiguration), ApiError> {
    let arn = parse_arn(ctx, text, ResourceKind::VpceConfiguration)?;
    let config = ctx.load(&arn).await?.body_as()?;
    Ok((arn, config))
}

/// The names a run's VPC endpoint configurations give, in the order given, each once.
/// Every ARN must name one of the caller's configurations (NotFoundException otherwise).
pub async fn aliases_for_run(ctx: &Ctx, arns: &[String]) -> Result<Vec<ServiceAlias>, ApiError> {
    let mut aliases: Vec<ServiceAlias> = Vec::with_capacity(arns.len());
    for text in arns {
        let (_, config) = load(ctx, text).await?;
        let alias = config.alias();
        if let Some(clash) =
            aliases.iter().find(|a| a.dns_name.eq_ignore_ascii_case(&alias.dns_name) && a.target != alias.target)
        {
            return Err(ApiError::argument(format!(
                "vpceConfigurationArns give serviceDnsName {} two services: {} and {}",
                alias.dns_name, clash.target, alias.target
            )));
        }
        if !aliases.contains(&alias) {
            aliases.push(alias);
        }
    }
    Ok(aliases)
}

pub async fn create(
    ctx: &Ctx,
    req: wire::CreateVPCEConfigurationRequest,
) -> Result<wire::CreateVPCEConfigurationResult, ApiError> {
    let config = VpceConfiguration {
        name: req.vpce_configuration_name,
        service_name: req.vpce_service_name,
        service_dns_name: req.service_dns_name,
        description: req.vpce_configuration_description,
    };
    config.check().map_err(ApiError::argument)?;
    let arn = ctx.arn(ResourceKind::VpceConfiguration, uuid::Uuid::new_v4().to_string());
    let record = ctx.insert(&arn, None, &config.name, None, &config).await?;
    Ok(wire::CreateVPCEConfigurationResult { vpce_configuration: Some(to_wire(&record.arn, &config)) })
}

pub async fn get(
    ctx: &Ctx,
    req: wire::GetVPCEConfigurationRequest,
) -> Result<wire::GetVPCEConfigurationResult, ApiError> {
    let (arn, config) = load(ctx, &req.arn).await?;
    Ok(wire::GetVPCEConfigurationResult { vpce_configuration: Some(to_wire(&arn.to_string(), &config)) })
}

/// The account's configurations, oldest first, `maxResults` at a time (at most a page).
pub async fn list(
    ctx: &Ctx,
    req: wire::ListVPCEConfigurationsRequest,
) -> Result<wire::ListVPCEConfigurationsResult, ApiError> {
    if req.max_results.is_some_and(|n| n < 1) {
        return Err(ApiError::argument("maxResults must be at least 1"));
    }
    let limit = req.max_results.map_or(PAGE_SIZE, |n| (n as usize).min(PAGE_SIZE));
    let (records, next_token) = ctx
        .page_of("ListVPCEConfigurations", ResourceKind::VpceConfiguration, None, req.next_token.as_deref(), limit)
        .await?;
    let configs = records.iter().map(|r| Ok(to_wire(&r.arn, &r.body_as()?))).collect::<Result<Vec<_>, ApiError>>()?;
    Ok(wire::ListVPCEConfigurationsResult { vpce_configurations: Some(configs), next_token })
}

pub async fn update(
    ctx: &Ctx,
    req: wire::UpdateVPCEConfigurationRequest,
) -> Result<wire::UpdateVPCEConfigurationResult, ApiError> {
    let arn = parse_arn(ctx, &req.arn, ResourceKind::VpceConfiguration)?;
    let (record, config) = ctx
        .modify(&arn, |c: &mut VpceConfiguration, record| {
            if let Some(name) = &req.vpce_configuration_name {
                c.name = name.clone();
                record.name = name.clone();
            }
            if let Some(service) = &req.vpce_service_name {
                c.service_name = service.clone();
            }
            if let Some(dns) = &req.service_dns_name {
                c.service_dns_name = dns.clone();
            }
            if let Some(d) = &req.vpce_configuration_description {
                c.description = Some(d.clone());
            }
            c.check().map_err(ApiError::argument)
        })
        .await?;
    Ok(wire::UpdateVPCEConfigurationResult { vpce_configuration: Some(to_wire(&record.arn, &config)) })
}

pub async fn delete(
    ctx: &Ctx,
    req: wire::DeleteVPCEConfigurationRequest,
) -> Result<wire::DeleteVPCEConfigurationResult, ApiError> {
    let (arn, _) = load(ctx, &req.arn).await?;
    ctx.remove(&arn).await?;
    Ok(wire::DeleteVPCEConfigurationResult {})
}
