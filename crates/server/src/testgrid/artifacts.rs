//! A session's video and driver log, moved from its directory into the blob store when it
//! ends (`engine::blob_keys::testgrid_artifact`), listed by ListTestGridSessionArtifacts
//! and downloaded through presigned URLs.

use crate::AppState;
use domain::arn::Arn;
use domain::testgrid::{SessionArtifact, SessionArtifactKind};
use host::browser::session::Artifacts;
use std::path::Path;

pub const VIDEO_FILE: &str = "video.mp4";
pub const LOG_FILE: &str = "selenium.log";

async fn put_file(state: &AppState, key: &str, path: &Path) -> Result<u64, String> {
    let file = tokio::fs::File::open(path).await.map_err(|e| e.to_string())?;
    let stream = tokio_util::io::ReaderStream::new(file);
    state.blobs.put_stream(key, stream, u64::MAX).await.map_err(|e| e.to_string())
}

/// Keeps what the session left; the artifacts stored (a missing or failed one is logged
/// and left out, never invented).
pub async fn keep(state: &AppState, session: &Arn, left: Artifacts) -> Vec<SessionArtifact> {
    let mut kept = Vec::new();
    let files = [
        (SessionArtifactKind::Video, VIDEO_FILE, left.video.clone()),
        (SessionArtifactKind::SeleniumLog, LOG_FILE, Some(left.log.clone())),
    ];
    for (kind, filename, path) in files {
        let Some(path) = path.filter(|p| p.is_file()) else { continue };
        let key = engine::blob_keys::testgrid_artifact(session, filename);
        match put_file(state, &key, &path).await {
            Ok(_) => kept.push(SessionArtifact { kind, filename: filename.to_string() }),
            Err(e) => tracing::error!(error = %e, session = %session, filename, "keeping a TestGrid artifact"),
        }
    }
    kept
}

/// The path of an artifact's presigned download, below the server's URL.
pub fn download_path(session: &Arn, filename: &str) -> String {
    format!("/testgrid-artifacts/{}/{}/{filename}", session.account, session.id)
}
