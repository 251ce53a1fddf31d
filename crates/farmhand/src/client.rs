//! The signed Device Farm API client behind the user commands (`runs watch`, `devices`,
//! `logs`). It finds its endpoint, credentials and region the way the AWS CLI does, from
//! flags and `AWS_*` variables, so a user who can run `aws devicefarm …` against farmhand
//! can run these too, and no other login exists.

use anyhow::{bail, Context, Result};
use domain::arn::{Arn, ResourceKind};
use protocol::model::{Operation, TARGET_PREFIX};
use protocol::sigv4::{sign_headers, RequestParts, SigningParams};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// A server that takes no connection in this long is taken as down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest one API call may take, answer read included: a hung server fails the call
/// instead of hanging the command (`runs watch` in a CI gate would never end).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// The wait before the first retry of a transient failure; each further one doubles it, up
/// to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(8);

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// An answer the service gave as an AWS error body, shown as `NotFoundException: …`.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ServiceError {
    pub status: reqwest::StatusCode,
    pub code: String,
    pub message: String,
}

impl ServiceError {
    /// The error a non-2xx answer stands for. A body that is not an AWS error (a proxy's
    /// page) still names the HTTP status, so the one line says what happened.
    fn from_answer(status: reqwest::StatusCode, text: &str) -> Self {
        let body: Value = serde_json::from_str(text).unwrap_or_default();
        // Some services answer `namespace#Code`; the code is what users look up.
        let code = body["__type"].as_str().map(|t| t.rsplit('#').next().unwrap_or(t).to_string());
        let message = body["message"].as_str().or_else(|| body["Message"].as_str()).map(str::to_string);
        match (code, message) {
            (Some(code), message) => {
                Self { status, code, message: message.unwrap_or_else(|| format!("HTTP {status}")) }
            }
            (None, _) => {
                let snippet: String = text.chars().take(200).collect();
                Self { status, code: format!("HTTP {status}"), message: snippet.trim().to_string() }
            }
        }
    }
}

/// Whether a failed call may pass if made again: the service (or a proxy before it, 429)
/// throttled it or failed (5xx), or no answer came at all (refused, reset, timed out). Anything else (a 4xx, a bad answer)
/// fails the same way every time.
pub fn is_transient(error: &anyhow::Error) -> bool {
    if let Some(e) = error.downcast_ref::<ServiceError>() {
        return e.code == server::THROTTLED_CODE
            || e.status == reqwest::StatusCode::TOO_MANY_REQUESTS
            || e.status.is_server_error();
    }
    error.chain().any(|cause| cause.downcast_ref::<reqwest::Error>().is_some_and(|e| !e.is_builder()))
}

/// The wait before retry number `retry` (0 for the first): doubling from [`FIRST_BACKOFF`] to
/// at most [`MAX_BACKOFF`], each cut by a random part of up to half, so that many watchers
/// failing together (a server restart) do not all come back at the same instant.
pub fn backoff(retry: u32) -> Duration {
    let full = FIRST_BACKOFF.saturating_mul(1 << retry.min(16)).min(MAX_BACKOFF);
    full.mul_f64(1.0 - rand::random::<f64>() / 2.0)
}

/// Parses `text` as an ARN of `kind`, refusing one of another type by name, so that a run
/// ARN given where a job's is wanted says so instead of answering NotFound.
pub fn arn_of_kind(text: &str, kind: ResourceKind, what: &str) -> Result<Arn> {
    let arn: Arn = text.parse().with_context(|| format!("{what} is not a Device Farm ARN"))?;
    if arn.kind != kind {
        bail!("{text} is a {} ARN; expected a {} ARN", arn.kind.as_str(), kind.as_str());
    }
    Ok(arn)
}

pub struct Client {
    endpoint: url::Url,
    host: String,
    access_key_id: String,
    secret: String,
    session_token: Option<String>,
    region: String,
    http: reqwest::Client,
    /// Times [`Client::call`] makes a call again after a transient failure.
    retries: u32,
}

impl Client {
    /// A client for `endpoint_url` (else AWS_ENDPOINT_URL_DEVICE_FARM, else AWS_ENDPOINT_URL)
    /// with the environment's credentials. `region` is the ARN's when the command has one;
    /// otherwise AWS_REGION, AWS_DEFAULT_REGION, or Device Farm's one region, us-west-2.
    pub fn from_env(endpoint_url: Option<String>, region: Option<&str>) -> Result<Self> {
        let endpoint = endpoint_url
            .or_else(|| env("AWS_ENDPOINT_URL_DEVICE_FARM"))
            .or_else(|| env("AWS_ENDPOINT_URL"))
            .context("no endpoint: pass --endpoint-url or set AWS_ENDPOINT_URL_DEVICE_FARM")?;
        let parsed = url::Url::parse(&endpoint).with_context(|| format!("the endpoint {endpoint:?} is not a URL"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            bail!("the endpoint {endpoint} is not an http:// or https:// URL");
        }
        let host = match (parsed.host_str(), parsed.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => bail!("the endpoint {endpoint} has no host"),
        };
        let region = region
            .map(str::to_string)
            .or_else(|| env("AWS_REGION"))
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| server::config::DEFAULT_REGION.to_string());
        Ok(Self {
            endpoint: parsed,
            host,
            access_key_id: env("AWS_ACCESS_KEY_ID").context("AWS_ACCESS_KEY_ID is not set")?,
            secret: env("AWS_SECRET_ACCESS_KEY").context("AWS_SECRET_ACCESS_KEY is not set")?,
            session_token: env("AWS_SESSION_TOKEN"),
            region,
            // No total timeout here: `logs --follow` reads one answer for as long as the job
            // runs. API calls have theirs ([`CALL_TIMEOUT`]).
            http: reqwest::Client::builder().connect_timeout(CONNECT_TIMEOUT).build().context("setting up HTTP")?,
            retries: 0,
        })
    }

    /// This client, making each API call up to `retries` more times, after [`backoff`], while
    /// it fails transiently ([`is_transient`]). Only for calls that change nothing: a retried
    /// call may have been carried out already.
    pub fn retrying(self, retries: u32) -> Self {
        Self { retries, ..self }
    }

    fn url(&self, path_and_query: &str) -> Result<url::Url> {
        let base = self.endpoint.as_str().trim_end_matches('/');
        url::Url::parse(&format!("{base}{path_and_query}"))
            .with_context(|| format!("building a URL for {path_and_query}"))
    }

    /// `headers` plus the signature headers (SigV4, this client's key and region).
    fn signed(
        &self,
        method: &str,
        url: &url::Url,
        mut headers: Vec<(String, String)>,
        body: &[u8],
    ) -> Result<Vec<(String, String)>> {
        headers.push(("host".to_string(), self.host.clone()));
        if let Some(token) = &self.session_token {
            headers.push(("x-amz-security-token".to_string(), token.clone()));
        }
        let body_hash = hex::encode(Sha256::digest(body));
        let parts = RequestParts {
            method,
            raw_path: url.path(),
            raw_query: url.query().unwrap_or_default(),
            headers: &headers,
            payload_sha256: Some(&body_hash),
        };
        let params = SigningParams {
            access_key_id: &self.access_key_id,
            secret: &self.secret,
            region: &self.region,
            service: server::SIGNING_SERVICE,
            time: chrono::Utc::now(),
        };
        let signature = sign_headers(&parts, &params)?;
        // reqwest sets Host itself, from the URL.
        headers.retain(|(name, _)| name != "host");
        headers.extend(signature);
        Ok(headers)
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        headers: Vec<(String, String)>,
    ) -> Result<reqwest::Response> {
        let request = headers.into_iter().fold(request, |r, (name, value)| r.header(name, value));
        let response = request.send().await.with_context(|| format!("connecting to {}", self.endpoint))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        Err(ServiceError::from_answer(status, &text).into())
    }

    /// A signed `GET` of a farmhand path (`/output/…`); the answer of a 2xx, else its error.
    pub async fn get(&self, path_and_query: &str) -> Result<reqwest::Response> {
        let url = self.url(path_and_query)?;
        let headers = self.signed("GET", &url, Vec::new(), b"")?;
        self.send(self.http.get(url), headers).await
    }

    /// One API call: `POST /` with `X-Amz-Target`, the JSON 1.1 body, signed. The answer is
    /// kept as JSON, so `--output json` prints exactly what the service said.
    pub async fn call(&self, operation: Operation, body: &Value) -> Result<Value> {
        let mut retry = 0;
        loop {
            match self.call_once(operation, body).await {
                Err(e) if retry < self.retries && is_transient(&e) => {
                    let wait = backoff(retry);
                    // Not on stderr: it would land inside `runs watch`'s live table.
                    tracing::debug!("{} failed ({e:#}); retrying in {wait:?}", operation.name());
                    tokio::time::sleep(wait).await;
                    retry += 1;
                }
                answer => return answer,
            }
        }
    }

    async fn call_once(&self, operation: Operation, body: &Value) -> Result<Value> {
        let url = self.url("/")?;
        let body = serde_json::to_vec(body)?;
        let headers = vec![
            ("content-type".to_string(), "application/x-amz-json-1.1".to_string()),
            ("x-amz-target".to_string(), format!("{TARGET_PREFIX}.{}", operation.name())),
        ];
        let headers = self.signed("POST", &url, headers, &body)?;
        let response = self.send(self.http.post(url).timeout(CALL_TIMEOUT).body(body), headers).await?;
        let text = response.text().await.with_context(|| format!("reading the answer to {}", operation.name()))?;
        serde_json::from_str(&text).with_context(|| format!("the answer to {} is not JSON", operation.name()))
    }

    /// Every item of a paginated list: the `key` arrays of each page, following `nextToken`.
    pub async fn list_all(&self, operation: Operation, body: Value, key: &str) -> Result<Vec<Value>> {
        let mut items = Vec::new();
        let mut body = body;
        loop {
            let mut page = self.call(operation, &body).await?;
            if let Some(Value::Array(page_items)) = page.get_mut(key).map(Value::take) {
                items.extend(page_items);
            }
            match page.get("nextToken").and_then(Value::as_str) {
                Some(token) => body["nextToken"] = Value::String(token.to_string()),
                None => return Ok(items),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_become_one_line() {
        let e = ServiceError::from_answer(
            reqwest::StatusCode::BAD_REQUEST,
            r#"{"__type":"NotFoundException","message":"no run"}"#,
        );
        assert_eq!(e.to_string(), "NotFoundException: no run");
        let e =
            ServiceError::from_answer(reqwest::StatusCode::BAD_REQUEST, r#"{"__type":"com.amazon#ArgumentException"}"#);
        assert_eq!(e.to_string(), "ArgumentException: HTTP 400 Bad Request");
        let e = ServiceError::from_answer(reqwest::StatusCode::BAD_GATEWAY, "<html>bad gateway</html>\n");
        assert_eq!(e.to_string(), "HTTP 502 Bad Gateway: <html>bad gateway</html>");
    }

    #[test]
    fn throttling_server_faults_and_lost_connections_are_transient() {
        let answer = |status, body: &str| anyhow::Error::from(ServiceError::from_answer(status, body));
        let throttled =
            answer(reqwest::StatusCode::BAD_REQUEST, r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#);
        assert!(is_transient(&throttled));
        assert!(is_transient(&answer(reqwest::StatusCode::SERVICE_UNAVAILABLE, "")));
        assert!(is_transient(&answer(reqwest::StatusCode::TOO_MANY_REQUESTS, "slow down")));
        assert!(is_transient(&answer(
            reqwest::StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"__type":"ServiceAccountException"}"#
        )));
        assert!(!is_transient(&answer(reqwest::StatusCode::BAD_REQUEST, r#"{"__type":"NotFoundException"}"#)));
        assert!(!is_transient(&answer(reqwest::StatusCode::FORBIDDEN, r#"{"__type":"InvalidSignatureException"}"#)));
        assert!(!is_transient(&anyhow::anyhow!("the answer to GetRun is not JSON")));
    }

    #[tokio::test]
    async fn a_refused_connection_is_transient() {
        // A port just bound and released: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let http = reqwest::Client::new();
        let refused = http.get(format!("http://127.0.0.1:{port}/")).send().await.expect_err("refused");
        assert!(is_transient(&anyhow::Error::from(refused).context("connecting to the endpoint")));
    }

    #[test]
    fn backoff_doubles_up_to_its_cap_with_jitter() {
        for retry in 0..12 {
            let full = FIRST_BACKOFF.saturating_mul(1 << retry).min(MAX_BACKOFF);
            let wait = backoff(retry);
            assert!(wait <= full && wait >= full / 2, "retry {retry}: {wait:?} of {full:?}");
        }
        assert!(backoff(u32::MAX) <= MAX_BACKOFF);
    }

    #[test]
    fn a_session_token_is_sent_and_signed() {
        let client = Client {
            endpoint: url::Url::parse("http://127.0.0.1:9/").expect("url"),
            host: "127.0.0.1:9".into(),
            access_key_id: "AKIAEXAMPLE".into(),
            secret: "secret".into(),
            session_token: Some("token-1".into()),
            region: "us-west-2".into(),
            http: reqwest::Client::new(),
            retries: 0,
        };
        let url = client.url("/").expect("url");
        let headers = client.signed("POST", &url, vec![("x-amz-target".into(), "T".into())], b"{}").expect("signed");
        assert!(headers.contains(&("x-amz-security-token".to_string(), "token-1".to_string())), "{headers:?}");
        assert!(!headers.iter().any(|(n, _)| n == "host"), "reqwest sends Host itself");
        let auth = headers.iter().find(|(n, _)| n == "authorization").map(|(_, v)| v.as_str()).expect("signed");
        assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/"), "{auth}");
        assert!(auth.contains("/us-west-2/devicefarm/aws4_request"), "{auth}");
        assert!(auth.contains("SignedHeaders=host;x-amz-date;x-amz-security-token;x-amz-target"), "{auth}");
    }

    #[test]
    fn arns_of_another_type_are_refused_by_name() {
        let run = "arn:aws:devicefarm:us-west-2:123456789012:run:11111111-1111-1111-1111-111111111111/22222222-2222-2222-2222-222222222222";
        assert_eq!(arn_of_kind(run, ResourceKind::Run, "RUN_ARN").expect("a run").region, "us-west-2");
        let refused = arn_of_kind(run, ResourceKind::Job, "JOB_ARN").expect_err("not a job");
        assert!(refused.to_string().contains("is a run ARN; expected a job ARN"), "{refused}");
        let garbage = arn_of_kind("nope", ResourceKind::Run, "RUN_ARN").expect_err("garbage");
        assert!(format!("{garbage:#}").starts_with("RUN_ARN is not a Device Farm ARN"), "{garbage:#}");
    }
}
