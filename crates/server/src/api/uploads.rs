//! Uploads: apps, test packages, test specs and extra data. CreateUpload hands out a
//! presigned PUT URL served by farmhand itself; the PUT lands in `server::upload_put`,
//! which streams the file to the blob store and starts inspection. Every project also
//! lists the curated test specs (`domain::curated_specs`), which are read-only and whose
//! presigned GET URL (`server::downloads::curated_spec`) downloads their YAML.

use super::projects;
use super::records::{epoch_seconds, RecordExt};
use super::{parse_arn, Ctx};
use crate::AppState;
use domain::arn::{Arn, ResourceKind};
use domain::curated_specs::{self, CuratedSpec};
use domain::resources::Upload;
use domain::upload::{validate_new_upload, UploadCategory, UploadKind, UploadStatus, UploadType};
use protocol::model as wire;
use protocol::pagination::PAGE_SIZE;
use protocol::ApiError;
use store::Record;

use crate::presign::URL_VALIDITY_SECS;

/// The URL path of an upload's PUT endpoint.
pub fn put_path(arn: &Arn) -> String {
    format!("/uploads/{}/{}", arn.account, arn.id)
}

fn presigned_url(state: &AppState, arn: &Arn) -> Result<String, ApiError> {
    crate::presign::url(state, "PUT", &put_path(arn))
}

/// The URL path a curated spec's YAML is downloaded from.
pub fn curated_spec_path(spec: &CuratedSpec) -> String {
    format!("/curated-test-specs/{}", spec.id)
}

/// The curated spec `arn` names, if it names one in this server's region.
pub fn curated(ctx: &Ctx, arn: &str) -> Option<CuratedSpec> {
    curated_specs::find_curated_spec(&ctx.state.region, arn)
}

fn curated_to_wire(ctx: &Ctx, spec: &CuratedSpec) -> Result<wire::Upload, ApiError> {
    Ok(wire::Upload {
        arn: Some(spec.arn(&ctx.state.region)),
        name: Some(spec.name.to_owned()),
        created: Some(epoch_seconds(curated_specs::CREATED_MS)),
        r#type: wire::UploadType::parse(spec.upload_type.as_str()),
        status: Some(wire::UploadStatus::Succeeded),
        url: Some(crate::presign::url(&ctx.state, "GET", &curated_spec_path(spec))?),
        metadata: None,
        content_type: None,
        message: None,
        category: Some(wire::UploadCategory::Curated),
    })
}

/// AWS owns its curated uploads; so does farmhand.
fn refuse_curated(ctx: &Ctx, arn: &str) -> Result<(), ApiError> {
    match curated(ctx, arn) {
        Some(spec) => Err(ApiError::argument(format!(
            "{arn} is the curated upload \"{}\", which cannot be changed or deleted",
            spec.name
        ))),
        None => Ok(()),
    }
}

pub fn to_wire(record: &Record, upload: Upload) -> wire::Upload {
    let url = (upload.status == UploadStatus::Initialized).then_some(upload.url);
    wire::Upload {
        arn: Some(record.arn.clone()),
        name: Some(upload.name),
        created: Some(epoch_seconds(record.created_ms)),
        r#type: wire::UploadType::parse(upload.upload_type.as_str()),
        status: wire::UploadStatus::parse(upload.status.as_str()),
        url,
        metadata: upload.metadata,
        content_type: upload.content_type,
        message: upload.message,
        category: wire::UploadCategory::parse(upload.category.as_str()),
    }
}

pub async fn load(ctx: &Ctx, arn: &str) -> Result<(Arn, Record, Upload), ApiError> {
    let arn = parse_arn(ctx, arn, ResourceKind::Upload)?;
    let record = ctx.load(&arn).await?;
    let upload = record.body_as()?;
    Ok((arn, record, upload))
}

pub async fn create(ctx: &Ctx, req: wire::CreateUploadRequest) -> Result<wire::CreateUploadResult, ApiError> {
    let (project_arn, _, _) = projects::load(ctx, &req.project_arn).await?;
    let upload_type = req.r#type.as_str().parse::<UploadType>().map_err(|e| ApiError::argument(e.to_string()))?;
    validate_new_upload(&req.name, upload_type).map_err(|e| ApiError::argument(e.to_string()))?;
    let limit = ctx.account.settings.limits.max_uploads_per_project;
    let arn = project_arn.child(ResourceKind::Upload, &uuid::Uuid::new_v4().to_string());
    let now = ctx.state.now_ms();
    let upload = Upload {
        name: req.name,
        upload_type,
        status: UploadStatus::Initialized,
        category: UploadCategory::Private,
        content_type: req.content_type,
        metadata: None,
        message: None,
        url: presigned_url(&ctx.state, &arn)?,
        url_expires_ms: now + URL_VALIDITY_SECS as i64 * 1000,
        size_bytes: None,
    };
    let record = ctx
        .insert_limited(&arn, Some(&project_arn), &upload.name, Some(upload.status.as_str()), &upload, limit.into())
        .await?;
    Ok(wire::CreateUploadResult { upload: Some(to_wire(&record, upload)) })
}

pub async fn get(ctx: &Ctx, req: wire::GetUploadRequest) -> Result<wire::GetUploadResult, ApiError> {
    if let Some(spec) = curated(ctx, &req.arn) {
        return Ok(wire::GetUploadResult { upload: Some(curated_to_wire(ctx, &spec)?) });
    }
    let (_, record, upload) = load(ctx, &req.arn).await?;
    Ok(wire::GetUploadResult { upload: Some(to_wire(&record, upload)) })
}

pub async fn list(ctx: &Ctx, req: wire::ListUploadsRequest) -> Result<wire::ListUploadsResult, ApiError> {
    let (project_arn, _, _) = projects::load(ctx, &req.arn).await?;
    let type_filter = req.r#type.map(|t| t.as_str());
    let scope = format!("ListUploads|{}", type_filter.unwrap_or_default());
    // AWS lists its curated specs in every project: they open the first page, and the
    // project's own uploads fill the rest of it.
    let mut uploads = Vec::new();
    if req.next_token.is_none() {
        for spec in curated_specs::curated_specs() {
            if type_filter.is_none_or(|t| t == spec.upload_type.as_str()) {
                uploads.push(curated_to_wire(ctx, &spec)?);
            }
        }
    }
    // The type filter is applied here, so a page of the store may hold fewer matches than
    // a page of the answer: keep reading until the answer's page is full or the list ends.
    let mut token = req.next_token;
    loop {
        let room = PAGE_SIZE - uploads.len();
        let (records, next) =
            ctx.page_of(&scope, ResourceKind::Upload, Some(&project_arn), token.as_deref(), room).await?;
        for record in &records {
            let upload: Upload = record.body_as()?;
            if type_filter.is_none_or(|t| t == upload.upload_type.as_str()) {
                uploads.push(to_wire(record, upload));
            }
        }
        token = next;
        if token.is_none() || uploads.len() >= PAGE_SIZE {
            break;
        }
    }
    Ok(wire::ListUploadsResult { uploads: Some(uploads), next_token: token })
}

pub async fn update(ctx: &Ctx, req: wire::UpdateUploadRequest) -> Result<wire::UpdateUploadResult, ApiError> {
    refuse_curated(ctx, &req.arn)?;
    let arn = parse_arn(ctx, &req.arn, ResourceKind::Upload)?;
    let now = ctx.state.now_ms();
    let fresh_url = presigned_url(&ctx.state, &arn)?;
    let (record, upload) = ctx
        .modify(&arn, |u: &mut Upload, record| {
            if let Some(name) = &req.name {
                validate_new_upload(name, u.upload_type).map_err(|e| ApiError::argument(e.to_string()))?;
                u.name = name.clone();
                record.name = name.clone();
            }
            if let Some(ct) = &req.content_type {
                u.content_type = Some(ct.clone());
            }
            if req.edit_content == Some(true) {
                // AWS lets only test specs be edited in place: their content is replaced by
                // a new PUT and inspected again.
                if u.upload_type.kind() != UploadKind::TestSpec {
                    return Err(ApiError::argument("Only test spec uploads can have their content edited"));
                }
                u.status = UploadStatus::Initialized;
                u.url = fresh_url.clone();
                u.url_expires_ms = now + URL_VALIDITY_SECS as i64 * 1000;
                u.metadata = None;
                u.message = None;
                record.status = Some(u.status.as_str().to_string());
            }
            Ok(())
        })
        .await?;
    Ok(wire::UpdateUploadResult { upload: Some(to_wire(&record, upload)) })
}

pub async fn delete(ctx: &Ctx, req: wire::DeleteUploadRequest) -> Result<wire::DeleteUploadResult, ApiError> {
    refuse_curated(ctx, &req.arn)?;
    let (arn, _, _) = load(ctx, &req.arn).await?;
    ctx.remove(&arn).await?;
    delete_blobs(ctx, &arn).await?;
    Ok(wire::DeleteUploadResult {})
}

/// Removes an upload's file and what was kept from it (a test package's scenario).
pub async fn delete_blobs(ctx: &Ctx, arn: &Arn) -> Result<(), ApiError> {
    let key = engine::blob_keys::upload(arn);
    ctx.state.blobs.delete(&key).await.map_err(|e| ctx.internal(e))?;
    engine::sim::stored::forget(&ctx.state.blobs, &key).await.map_err(|e| ctx.internal(e))
}

/// Every upload of a project, for removing their stored files once the project is deleted.
pub async fn uploads_of_project(ctx: &Ctx, project: &Arn) -> Result<Vec<Arn>, ApiError> {
    let mut arns = Vec::new();
    let mut token = None;
    loop {
        let (records, next) = ctx.page("DeleteProject", ResourceKind::Upload, Some(project), token.as_deref()).await?;
        for r in records {
            arns.push(r.arn.parse().map_err(|e| ctx.internal(e))?);
        }
        match next {
            Some(t) => token = Some(t),
            None => return Ok(arns),
        }
    }
}
