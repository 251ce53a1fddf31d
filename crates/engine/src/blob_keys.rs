//! Where each kind of file is kept in the blob store: its one layout, used by the API
//! (upload PUTs, downloads), the link (what hosts read and write) and the engine's own
//! rendered files.

use domain::arn::Arn;

/// An upload's content.
pub fn upload(arn: &Arn) -> String {
    format!("uploads/{}/{}", arn.account, arn.id)
}

/// [`upload`] of an upload ARN given as text, if it is a well-formed ARN of this region.
pub fn upload_in(region: &str, arn: &str) -> Option<String> {
    arn.parse::<Arn>().ok().filter(|a| a.region == region).map(|a| upload(&a))
}

/// A real job's output while it runs, and after it if the job never got to store its
/// artifacts.
pub fn live_output(job: &Arn) -> String {
    format!("artifacts/{}/{}/live-output", job.account, job.id)
}

/// A real job's artifact number `index`.
pub fn artifact(job: &Arn, index: u32) -> String {
    format!("artifacts/{}/{}/{index:05}", job.account, job.id)
}

/// A simulated job's video, once made.
pub fn video(job: &Arn) -> String {
    format!("artifacts/{}/{}/video.mp4", job.account, job.id)
}

/// A file a TestGrid session left (`filename` as listed: `video.mp4`, `selenium.log`).
pub fn testgrid_artifact(session: &Arn, filename: &str) -> String {
    format!("testgrid/{}/{}/{filename}", session.account, session.id)
}

/// A remote access session's file (its recording, its input log).
pub fn remote_access_artifact(session: &Arn, filename: &str) -> String {
    format!("remote-access/{}/{}/{filename}", session.account, session.id)
}
