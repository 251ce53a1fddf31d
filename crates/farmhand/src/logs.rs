//! `farmhand logs JOB_ARN [--follow]`: prints a real job's test-spec output, following it
//! while the job runs. Signs its request with the caller's AWS credentials from the
//! environment, like the AWS CLI, so no other login exists.

use anyhow::{bail, Context, Result};
use domain::arn::{Arn, ResourceKind};
use futures::StreamExt;
use protocol::sigv4::{sign_headers, RequestParts, SigningParams};
use sha2::{Digest, Sha256};
use std::io::Write;

pub struct LogsArgs {
    pub job_arn: String,
    pub follow: bool,
    pub endpoint_url: Option<String>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

pub async fn run(args: LogsArgs) -> Result<()> {
    let arn: Arn = args.job_arn.parse().context("JOB_ARN is not a Device Farm ARN")?;
    if arn.kind != ResourceKind::Job {
        bail!("{} is a {} ARN; farmhand logs takes a job ARN", args.job_arn, arn.kind.as_str());
    }
    let endpoint = args
        .endpoint_url
        .or_else(|| env("AWS_ENDPOINT_URL_DEVICE_FARM"))
        .or_else(|| env("AWS_ENDPOINT_URL"))
        .context("no endpoint: pass --endpoint-url or set AWS_ENDPOINT_URL_DEVICE_FARM")?;
    let key_id = env("AWS_ACCESS_KEY_ID").context("AWS_ACCESS_KEY_ID is not set")?;
    let secret = env("AWS_SECRET_ACCESS_KEY").context("AWS_SECRET_ACCESS_KEY is not set")?;
    let url = url::Url::parse(&format!(
        "{}/output/{}/{}{}",
        endpoint.trim_end_matches('/'),
        arn.account,
        arn.id,
        if args.follow { "?follow=true" } else { "" }
    ))?;
    let host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => bail!("the endpoint {endpoint} has no host"),
    };
    let headers = vec![("host".to_string(), host)];
    let body_hash = hex::encode(Sha256::digest(b""));
    let parts = RequestParts {
        method: "GET",
        raw_path: url.path(),
        raw_query: url.query().unwrap_or_default(),
        headers: &headers,
        payload_sha256: Some(&body_hash),
    };
    let params = SigningParams {
        access_key_id: &key_id,
        secret: &secret,
        region: &arn.region,
        service: crate::server::SIGNING_SERVICE,
        time: chrono::Utc::now(),
    };
    let signed = sign_headers(&parts, &params)?;
    let mut request = reqwest::Client::new().get(url.clone());
    for (name, value) in signed {
        request = request.header(name, value);
    }
    let response = request.send().await.with_context(|| format!("connecting to {endpoint}"))?;
    if !response.status().is_success() {
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        bail!(
            "{} ({status}): {}",
            body["__type"].as_str().unwrap_or("error"),
            body["message"].as_str().unwrap_or_default()
        );
    }
    let mut stream = response.bytes_stream();
    let mut out = std::io::stdout().lock();
    while let Some(chunk) = stream.next().await {
        out.write_all(&chunk?)?;
        out.flush()?;
    }
    Ok(())
}
