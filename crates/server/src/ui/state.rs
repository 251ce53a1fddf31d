//! What a run page and a job page show, as plain values read through the operations: the
//! page renders them, and the live stream sends the same values whenever they change, so
//! an update can never show something the first render would not have.

use super::calls;
use super::layout;
use crate::api::Ctx;
use protocol::model as wire;
use protocol::ApiError;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunState {
    pub arn: String,
    pub name: String,
    pub status: &'static str,
    pub result: &'static str,
    pub counters: String,
    pub minutes: String,
    pub completed: bool,
    pub message: Option<String>,
    pub jobs: Vec<JobCard>,
}

/// One device of a run's grid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobCard {
    pub arn: String,
    pub path: String,
    pub device: String,
    pub platform: String,
    pub status: &'static str,
    pub result: &'static str,
    pub done: i32,
    pub total: i32,
    pub minutes: String,
    pub counters: String,
    pub completed: bool,
    pub message: Option<String>,
}

impl JobCard {
    pub fn of(job: &wire::Job) -> JobCard {
        let arn = job.arn.clone().unwrap_or_default();
        let (done, total) = protocol::progress::tests_done(job.counters.as_ref());
        let device = job.device.as_ref();
        JobCard {
            path: layout::job_path(&arn),
            arn,
            device: device.and_then(|d| d.name.clone()).or_else(|| job.name.clone()).unwrap_or_default(),
            platform: device.and_then(|d| d.platform).map(|p| p.as_str().to_string()).unwrap_or_default(),
            status: layout::status(job.status),
            result: layout::result(job.result),
            done,
            total,
            minutes: layout::minutes(job.device_minutes.as_ref()),
            counters: layout::counters(job.counters.as_ref()),
            completed: layout::is_completed(job.status),
            message: job.message.clone(),
        }
    }
}

pub async fn run_state(ctx: &Ctx, run_arn: &str) -> Result<RunState, ApiError> {
    let run = calls::run(ctx, run_arn).await?;
    let jobs = calls::jobs(ctx, run_arn).await?;
    Ok(RunState {
        arn: run.arn.clone().unwrap_or_default(),
        name: run.name.clone().unwrap_or_else(|| "(unnamed run)".into()),
        status: layout::status(run.status),
        result: layout::result(run.result),
        counters: layout::counters(run.counters.as_ref()),
        minutes: layout::minutes(run.device_minutes.as_ref()),
        completed: layout::is_completed(run.status),
        message: run.message.clone(),
        jobs: jobs.iter().map(JobCard::of).collect(),
    })
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobState {
    pub job: JobCard,
    pub run_arn: String,
    pub suites: Vec<SuiteRows>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SuiteRows {
    pub arn: String,
    pub name: String,
    pub status: &'static str,
    pub result: &'static str,
    pub minutes: String,
    pub tests: Vec<TestRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestRow {
    pub arn: String,
    pub name: String,
    pub status: &'static str,
    pub result: &'static str,
    pub minutes: String,
    pub message: Option<String>,
}

pub async fn job_state(ctx: &Ctx, job_arn: &str) -> Result<JobState, ApiError> {
    let job = calls::job(ctx, job_arn).await?;
    let mut suites = Vec::new();
    for suite in calls::suites(ctx, job_arn).await? {
        let arn = suite.arn.clone().unwrap_or_default();
        let tests = calls::tests(ctx, &arn)
            .await?
            .into_iter()
            .map(|t| TestRow {
                arn: t.arn.clone().unwrap_or_default(),
                name: t.name.clone().unwrap_or_default(),
                status: layout::status(t.status),
                result: layout::result(t.result),
                minutes: layout::minutes(t.device_minutes.as_ref()),
                message: t.message.clone(),
            })
            .collect();
        suites.push(SuiteRows {
            arn,
            name: suite.name.clone().unwrap_or_default(),
            status: layout::status(suite.status),
            result: layout::result(suite.result),
            minutes: layout::minutes(suite.device_minutes.as_ref()),
            tests,
        });
    }
    let card = JobCard::of(&job);
    let run_arn = run_of(&card.arn);
    Ok(JobState { job: card, run_arn, suites })
}

/// A job's run: the job ARN without its last path segment.
fn run_of(job_arn: &str) -> String {
    job_arn
        .parse::<domain::arn::Arn>()
        .ok()
        .and_then(|arn| arn.parent(domain::arn::ResourceKind::Run))
        .map(|run| run.to_string())
        .unwrap_or_default()
}

/// A job's files, as ListArtifacts gives them (presigned download URLs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArtifactLink {
    pub name: String,
    pub kind: String,
    pub file_name: String,
    pub url: String,
}

pub async fn artifacts(ctx: &Ctx, job_arn: &str) -> Result<Vec<ArtifactLink>, ApiError> {
    let mut out = Vec::new();
    for category in [wire::ArtifactCategory::File, wire::ArtifactCategory::Log, wire::ArtifactCategory::Screenshot] {
        for a in calls::artifacts(ctx, job_arn, category).await? {
            let name = a.name.clone().unwrap_or_default();
            let extension = a.extension.clone().unwrap_or_default();
            out.push(ArtifactLink {
                file_name: if extension.is_empty() { name.clone() } else { format!("{name}.{extension}") },
                name,
                kind: a.r#type.map(|t| t.as_str().to_string()).unwrap_or_default(),
                url: a.url.clone().unwrap_or_default(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_jobs_run_is_its_arn_without_the_index() {
        assert_eq!(
            super::run_of("arn:aws:devicefarm:us-west-2:123456789012:job:p-1/r-2/00001"),
            "arn:aws:devicefarm:us-west-2:123456789012:run:p-1/r-2"
        );
    }
}
