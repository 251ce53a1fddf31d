//! A session's recording (`video.mp4`, VIDEO) and input log (`input.log`, MESSAGE_LOG),
//! moved from its directory into the blob store when it ends, listed by ListArtifacts on
//! the session's ARN and downloaded through presigned URLs.

use crate::AppState;
use domain::arn::{index, Arn, ResourceKind};
use domain::remote_access::SessionArtifact;
use std::path::Path;

pub const VIDEO_FILE: &str = "video.mp4";
pub const INPUT_LOG_FILE: &str = "input.log";

async fn put_file(state: &AppState, key: &str, path: &Path) -> Result<u64, String> {
    let file = tokio::fs::File::open(path).await.map_err(|e| e.to_string())?;
    let stream = tokio_util::io::ReaderStream::new(file);
    state.blobs.put_stream(key, stream, u64::MAX).await.map_err(|e| e.to_string())
}

/// Keeps the session's files that exist; a failed one is logged and left out.
pub async fn keep(state: &AppState, session: &Arn, video: Option<&Path>, input_log: &Path) -> Vec<SessionArtifact> {
    let mut kept = Vec::new();
    let files = [
        ("Video", "VIDEO", VIDEO_FILE, "mp4", video),
        ("Input Log", "MESSAGE_LOG", INPUT_LOG_FILE, "log", Some(input_log)),
    ];
    for (name, artifact_type, filename, extension, path) in files {
        let Some(path) = path.filter(|p| p.is_file()) else { continue };
        let key = engine::blob_keys::remote_access_artifact(session, filename);
        match put_file(state, &key, path).await {
            Ok(_) => kept.push(SessionArtifact {
                name: name.to_string(),
                artifact_type: artifact_type.to_string(),
                extension: extension.to_string(),
                blob_key: key,
            }),
            Err(e) => tracing::error!(error = %e, session = %session, filename, "keeping a remote access artifact"),
        }
    }
    kept
}

/// The artifact's ARN: `…:artifact:PROJECT/SESSION/00000/NNNNN`.
pub fn artifact_arn(session: &Arn, position: usize) -> Arn {
    Arn::new(
        &session.region,
        &session.account,
        ResourceKind::Artifact,
        format!("{}/{}", session.id, index(position as u32)),
    )
}

/// The path of an artifact's presigned download, below the server's URL.
pub fn download_path(session: &Arn, position: usize) -> String {
    format!("/remote-access-artifacts/{}/{}/{}", session.account, session.id, index(position as u32))
}
