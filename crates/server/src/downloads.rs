//! `GET /artifacts/…`, `GET /samples/…`, `GET /video/…` and `GET /curated-test-specs/…`: what
//! presigned artifact, sample and curated test spec URLs and video endpoints point at (the
//! signature is checked by `presign::require` before these run). Content is rendered from the
//! job's current snapshot.

use super::http::error_response;
use super::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::arn::{Arn, ResourceKind};
use domain::job::snapshot::JobSnapshot;
use domain::run::Job;
use engine::artifacts::{job_artifacts, rendered};
use engine::job_view::job_snapshot;
use engine::samples::{job_samples, sim, SampleKind, Source};
use engine::sim_artifacts::video_frame;
use protocol::ApiError;
use std::sync::Arc;

fn fail(e: ApiError) -> Response {
    error_response(&e, &uuid::Uuid::new_v4().to_string())
}

fn job_arn(state: &AppState, account: &str, job_id: &str) -> Arn {
    Arn::new(&state.region, account, ResourceKind::Job, job_id)
}

async fn load_job(state: &AppState, account: &str, job_id: &str) -> Result<(Job, JobSnapshot), ApiError> {
    let arn = job_arn(state, account, job_id);
    let record = state
        .store
        .get(account, &arn.to_string())
        .await
        .map_err(|e| state.internal(e))?
        .ok_or_else(|| ApiError::not_found("The job no longer exists"))?;
    let job = record.decode::<Job>().map_err(|e| state.internal(e))?;
    let snapshot = job_snapshot(&job, &record, state.engine.prep(), state.now_ms());
    Ok((job, snapshot))
}

pub async fn artifact(State(state): State<Arc<AppState>>, Path((account, path)): Path<(String, String)>) -> Response {
    let segments: Vec<&str> = path.split('/').collect();
    let missing = || fail(ApiError::not_found("No such artifact"));
    if segments.len() != 6 {
        return missing();
    }
    let numbers: Vec<Option<usize>> = segments[3..].iter().map(|s| s.parse().ok()).collect();
    let (Some(suite), Some(test), Some(index)) = (numbers[0], numbers[1], numbers[2]) else { return missing() };
    let (job, snapshot) = match load_job(&state, &account, &segments[..3].join("/")).await {
        Ok(found) => found,
        Err(e) => return fail(e),
    };
    let Some(artifact) = job_artifacts(&job, &snapshot)
        .into_iter()
        .find(|a| a.suite as usize == suite && a.test as usize == test && a.index as usize == index)
    else {
        return missing();
    };
    let disposition = format!("attachment; filename=\"{}.{}\"", artifact.name.replace('"', ""), artifact.extension);
    let headers = |content_type: &str| {
        [
            (http::header::CONTENT_TYPE, content_type.to_string()),
            (http::header::CONTENT_DISPOSITION, disposition.clone()),
        ]
    };
    match &artifact.blob_key {
        Some(key) => match state.blobs.get_stream(key).await {
            Ok(stream) => {
                let content_type = content_type_of(&artifact.extension);
                (StatusCode::OK, headers(content_type), Body::from_stream(stream)).into_response()
            }
            Err(e) => fail(state.internal(e)),
        },
        None => {
            let arn = job_arn(&state, &account, &segments[..3].join("/"));
            match rendered(&artifact, &job, &arn, &snapshot, &state.blobs).await {
                Ok(Some((content_type, bytes))) => (StatusCode::OK, headers(content_type), bytes).into_response(),
                Ok(None) => missing(),
                Err(e) => fail(state.internal(e)),
            }
        }
    }
}

/// A sample's series as CSV (host::samples::series): `PROJECT/RUN/JOB/NNNNN`.
pub async fn sample(State(state): State<Arc<AppState>>, Path((account, path)): Path<(String, String)>) -> Response {
    let Some((job_id, kind)) = path.rsplit_once('/') else { return fail(no_sample()) };
    let Some(kind) = kind.parse().ok().and_then(SampleKind::from_index) else { return fail(no_sample()) };
    match sample_csv(&state, &account, job_id, kind).await {
        Ok(csv) => {
            let disposition = format!("attachment; filename=\"{}.csv\"", kind.as_str());
            let headers = [
                (http::header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (http::header::CONTENT_DISPOSITION, disposition),
            ];
            (StatusCode::OK, headers, csv).into_response()
        }
        Err(e) => fail(e),
    }
}

fn no_sample() -> ApiError {
    ApiError::not_found("No such sample")
}

/// The CSV of the job's `kind` series, for the download route and the dashboard's charts.
/// A stored series is at most a few hundred kB (a point a second), so it is read whole.
pub async fn sample_csv(state: &AppState, account: &str, job_id: &str, kind: SampleKind) -> Result<String, ApiError> {
    let (job, snapshot) = load_job(state, account, job_id).await?;
    let (_, source) = job_samples(&job, &snapshot).into_iter().find(|(k, _)| *k == kind).ok_or_else(no_sample)?;
    match source {
        Source::Blob(key) => {
            let mut stream = state.blobs.get_stream(&key).await.map_err(|e| state.internal(e))?;
            let mut bytes = Vec::new();
            while let Some(chunk) = futures::StreamExt::next(&mut stream).await {
                bytes.extend_from_slice(&chunk.map_err(|e| state.internal(e))?);
            }
            String::from_utf8(bytes).map_err(|e| state.internal(e))
        }
        Source::Simulated => Ok(sim::series(job_id, &snapshot, kind, state.now_ms()).to_csv()),
    }
}

/// A live view of the device's screen as `multipart/x-mixed-replace` PNG frames (what
/// browsers play as a motion-JPEG-style stream), one per real second, until the job ends.
pub async fn video(State(state): State<Arc<AppState>>, Path((account, job_id)): Path<(String, String)>) -> Response {
    if let Err(e) = load_job(&state, &account, &job_id).await {
        return fail(e);
    }
    let frames =
        futures::stream::unfold((state, account, job_id, false), |(state, account, job_id, done)| async move {
            if done {
                return None;
            }
            let (job, snapshot) = load_job(&state, &account, &job_id).await.ok()?;
            let png = video_frame(&job, &snapshot);
            let mut part =
                format!("--frame\r\nContent-Type: image/png\r\nContent-Length: {}\r\n\r\n", png.len()).into_bytes();
            part.extend_from_slice(&png);
            part.extend_from_slice(b"\r\n");
            let finished = snapshot.is_final;
            if !finished {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            Some((Ok::<_, std::convert::Infallible>(part), (state, account, job_id, finished)))
        });
    (
        StatusCode::OK,
        [(http::header::CONTENT_TYPE, "multipart/x-mixed-replace; boundary=frame")],
        Body::from_stream(frames),
    )
        .into_response()
}

/// A TestGrid session's artifact: `PROJECT/SESSION/FILENAME` of an ended session that
/// kept it (`testgrid::artifacts`).
pub async fn testgrid_artifact(
    State(state): State<Arc<AppState>>,
    Path((account, path)): Path<(String, String)>,
) -> Response {
    let missing = || fail(ApiError::not_found("No such TestGrid artifact"));
    let Some((session_id, filename)) = path.rsplit_once('/') else { return missing() };
    let arn = Arn::new(&state.region, &account, ResourceKind::TestGridSession, session_id);
    let session = match state.store.get(&account, &arn.to_string()).await {
        Ok(Some(record)) => match record.decode::<domain::testgrid::TestGridSession>() {
            Ok(session) => session,
            Err(e) => return fail(state.internal(e)),
        },
        Ok(None) => return missing(),
        Err(e) => return fail(state.internal(e)),
    };
    if !session.artifacts.iter().any(|a| a.filename == filename) {
        return missing();
    }
    let extension = filename.rsplit_once('.').map_or("", |(_, e)| e);
    let key = engine::blob_keys::testgrid_artifact(&arn, filename);
    match state.blobs.get_stream(&key).await {
        Ok(stream) => {
            let headers = [
                (http::header::CONTENT_TYPE, content_type_of(extension).to_string()),
                (http::header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
            ];
            (StatusCode::OK, headers, Body::from_stream(stream)).into_response()
        }
        Err(e) => fail(state.internal(e)),
    }
}

/// A curated test spec's YAML (`api::uploads::curated_spec_path`).
pub async fn curated_spec(Path(id): Path<String>) -> Response {
    let Some(spec) = domain::curated_specs::curated_spec_by_id(&id) else {
        return fail(ApiError::not_found("No such curated test spec"));
    };
    let disposition = format!("attachment; filename=\"{}.yml\"", spec.name.replace('"', ""));
    let headers =
        [(http::header::CONTENT_TYPE, "application/yaml".to_owned()), (http::header::CONTENT_DISPOSITION, disposition)];
    (StatusCode::OK, headers, host::default_specs::curated_spec_yaml(&spec)).into_response()
}

fn content_type_of(extension: &str) -> &'static str {
    match extension {
        "txt" | "log" => "text/plain; charset=utf-8",
        "zip" => "application/zip",
        "png" => "image/png",
        "xml" => "application/xml",
        "mp4" => "video/mp4",
        _ => "application/octet-stream",
    }
}

/// `GET /remote-access-artifacts/ACCOUNT/PROJECT/SESSION/00000/NNNNN` (presigned): a remote
/// access session's recording or input log.
pub async fn remote_access_artifact(
    State(state): State<Arc<AppState>>,
    Path((account, path)): Path<(String, String)>,
) -> Response {
    let missing = || fail(ApiError::not_found("No such remote access artifact"));
    let Some((session_id, position)) = path.rsplit_once('/') else { return missing() };
    let Ok(position) = position.parse::<usize>() else { return missing() };
    let arn = Arn::new(&state.region, &account, ResourceKind::Session, session_id);
    let session = match state.store.get(&account, &arn.to_string()).await {
        Ok(Some(record)) => match record.decode::<domain::remote_access::RemoteSession>() {
            Ok(session) => session,
            Err(e) => return fail(state.internal(e)),
        },
        Ok(None) => return missing(),
        Err(e) => return fail(state.internal(e)),
    };
    let Some(artifact) = session.artifacts.get(position) else { return missing() };
    match state.blobs.get_stream(&artifact.blob_key).await {
        Ok(stream) => {
            let filename = format!("{}.{}", artifact.name.replace(' ', "_"), artifact.extension);
            let headers = [
                (http::header::CONTENT_TYPE, content_type_of(&artifact.extension).to_string()),
                (http::header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
            ];
            (StatusCode::OK, headers, Body::from_stream(stream)).into_response()
        }
        Err(e) => fail(state.internal(e)),
    }
}
