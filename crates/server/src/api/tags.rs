//! Tags on the resource types AWS lets users tag. Resources outside any account (fleet
//! devices and their instances) are shared, so their tags are kept per account: one
//! team's labels never show up for another.

use super::records::not_found;
use super::Ctx;
use domain::arn::{Arn, ResourceKind};
use protocol::model as wire;
use protocol::{ApiError, ErrorCode};

/// AWS's documented tag limit per resource.
pub const MAX_TAGS: usize = 50;

fn taggable(kind: ResourceKind) -> bool {
    matches!(
        kind,
        ResourceKind::Project
            | ResourceKind::Run
            | ResourceKind::DevicePool
            | ResourceKind::NetworkProfile
            | ResourceKind::InstanceProfile
            | ResourceKind::Session
            | ResourceKind::VpceConfiguration
            | ResourceKind::Device
            | ResourceKind::DeviceInstance
            | ResourceKind::TestGridProject
    )
}

/// Resolves the tag owner key: the ARN itself for account-owned resources, the ARN plus
/// the account for shared ones. Fails as AWS does when the resource is not there.
async fn tag_key(ctx: &Ctx, text: &str) -> Result<String, ApiError> {
    let arn: Arn = text.parse().map_err(|_| ApiError::not_found(format!("No resource was found with ARN {text}")))?;
    if !taggable(arn.kind) {
        return Err(ApiError::new(
            ErrorCode::Argument,
            format!("Resources of type {} cannot be tagged", arn.kind.as_str()),
        ));
    }
    match arn.kind {
        ResourceKind::Device | ResourceKind::DeviceInstance => {
            let exists = match arn.kind {
                ResourceKind::Device => ctx.state.fleet().device(text).is_some(),
                _ => ctx.state.fleet().instance(text).is_some(),
            };
            if !exists || arn.region != ctx.state.region {
                return Err(not_found(arn.kind, text));
            }
            Ok(format!("{text}#{}", ctx.account.id))
        }
        _ => {
            ctx.load(&arn).await?;
            Ok(text.to_string())
        }
    }
}

fn check_key(key: &str) -> Result<(), ApiError> {
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(ApiError::new(ErrorCode::TagOperation, format!("Tag key '{key}' uses the reserved prefix aws:")));
    }
    Ok(())
}

pub async fn tag(ctx: &Ctx, req: wire::TagResourceRequest) -> Result<wire::TagResourceResponse, ApiError> {
    let key = tag_key(ctx, &req.resource_arn).await?;
    for t in &req.tags {
        check_key(&t.key)?;
    }
    let tags: Vec<(String, String)> = req.tags.into_iter().map(|t| (t.key, t.value)).collect();
    match ctx.state.store.put_tags(&key, &tags).await {
        Ok(()) => Ok(wire::TagResourceResponse {}),
        Err(store::StoreError::TooManyTags { .. }) => {
            Err(ApiError::new(ErrorCode::TooManyTags, format!("A resource can have at most {MAX_TAGS} tags")))
        }
        Err(e) => Err(ctx.internal(e)),
    }
}

pub async fn untag(ctx: &Ctx, req: wire::UntagResourceRequest) -> Result<wire::UntagResourceResponse, ApiError> {
    let key = tag_key(ctx, &req.resource_arn).await?;
    ctx.state.store.remove_tags(&key, &req.tag_keys).await.map_err(|e| ctx.internal(e))?;
    Ok(wire::UntagResourceResponse {})
}

pub async fn list(
    ctx: &Ctx,
    req: wire::ListTagsForResourceRequest,
) -> Result<wire::ListTagsForResourceResponse, ApiError> {
    let key = tag_key(ctx, &req.resource_arn).await?;
    let tags = ctx.state.store.tags(&key).await.map_err(|e| ctx.internal(e))?;
    Ok(wire::ListTagsForResourceResponse {
        tags: Some(tags.into_iter().map(|(key, value)| wire::Tag { key, value }).collect()),
    })
}
