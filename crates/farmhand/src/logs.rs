//! `farmhand logs JOB_ARN [--follow]`: prints a real job's test-spec output, following it
//! while the job runs, through the signed [`crate::client`].

use anyhow::Result;
use domain::arn::ResourceKind;
use futures::StreamExt;
use std::io::Write;

pub struct LogsArgs {
    pub job_arn: String,
    pub follow: bool,
    pub endpoint_url: Option<String>,
}

pub async fn run(args: LogsArgs) -> Result<()> {
    let arn = crate::client::arn_of_kind(&args.job_arn, ResourceKind::Job, "JOB_ARN")?;
    let client = crate::client::Client::from_env(args.endpoint_url, Some(&arn.region))?;
    let path = format!("/output/{}/{}{}", arn.account, arn.id, if args.follow { "?follow=true" } else { "" });
    let mut stream = client.get(&path).await?.bytes_stream();
    let mut out = std::io::stdout().lock();
    while let Some(chunk) = stream.next().await {
        out.write_all(&chunk?)?;
        out.flush()?;
    }
    Ok(())
}
