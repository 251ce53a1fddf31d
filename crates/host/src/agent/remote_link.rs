//! [`RemoteLink`]: a host's [`JobLink`] to a control plane over the network. Reports go
//! over the current WebSocket and are kept until acknowledged, then resent after a
//! reconnect (to whichever replica answers), so a network blip loses none. Files go over
//! HTTP with the agent token. Orders arrive pushed and are kept for the executor.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use crate::agent::protocol::{Assignment, HostMessage, ARTIFACT_PATH, INPUT_PATH, OUTPUT_PATH};
use crate::agent::{JobLink, LinkError, Orders};
use async_trait::async_trait;
use domain::job::report::JobReport;
use futures::TryStreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc::UnboundedSender;

/// How long a file transfer keeps trying: past a replica's restart or a network blip (the
/// control plane gives a silent host 30 s by default), short of hanging a job for good on
/// a control plane that is gone.
const FILE_PATIENCE: Duration = Duration::from_secs(120);
const FIRST_RETRY: Duration = Duration::from_millis(250);
const MAX_RETRY: Duration = Duration::from_secs(5);

#[derive(Default)]
struct State {
    /// `http[s]://host:port` of the replica currently connected, for file transfers.
    base: Option<String>,
    sender: Option<UnboundedSender<HostMessage>>,
    next_seq: u64,
    pending: BTreeMap<u64, (String, JobReport)>,
    assignments: HashMap<String, Assignment>,
    orders: HashMap<String, Orders>,
    /// Jobs the control plane ended without this host: nothing more is said of them.
    forgotten: BTreeSet<String>,
}

pub struct RemoteLink {
    http: reqwest::Client,
    token: String,
    state: Mutex<State>,
}

fn unavailable(e: impl std::fmt::Display) -> LinkError {
    LinkError::Unavailable(e.to_string())
}

impl RemoteLink {
    /// `tls` is the agent's one TLS setup, so files reach an https:// server trusted
    /// exactly as the WebSocket is.
    pub fn new(token: String, tls: &rustls::ClientConfig) -> anyhow::Result<RemoteLink> {
        let http = reqwest::Client::builder().use_preconfigured_tls(tls.clone()).build()?;
        Ok(RemoteLink { http, token, state: Mutex::default() })
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> Result<T, LinkError> {
        self.state.lock().map(|mut s| f(&mut s)).map_err(|_| unavailable("link state poisoned"))
    }

    /// A connection to `base` is up: everything not yet acknowledged goes again.
    pub fn connected(&self, base: String, sender: UnboundedSender<HostMessage>) {
        let _ = self.with(|s| {
            for (seq, (job_arn, report)) in &s.pending {
                let _ =
                    sender.send(HostMessage::Report { seq: *seq, job_arn: job_arn.clone(), report: report.clone() });
            }
            s.base = Some(base);
            s.sender = Some(sender);
        });
    }

    pub fn disconnected(&self) {
        let _ = self.with(|s| s.sender = None);
    }

    /// Jobs with reports still to be acknowledged: the control plane must hear of them
    /// even if they no longer run here.
    pub fn unfinished_business(&self) -> Vec<String> {
        self.with(|s| s.pending.values().map(|(job, _)| job.clone()).collect::<BTreeSet<_>>().into_iter().collect())
            .unwrap_or_default()
    }

    pub fn assign(&self, assignment: Assignment) {
        let _ = self.with(|s| {
            s.forgotten.remove(&assignment.job_arn);
            s.assignments.insert(assignment.job_arn.clone(), assignment);
        });
    }

    pub fn set_orders(&self, job_arn: &str, orders: Orders) {
        let _ = self.with(|s| {
            let kept = s.orders.entry(job_arn.to_string()).or_default();
            // Orders only ever add: a stop is not taken back.
            kept.stop |= orders.stop;
            kept.time_out |= orders.time_out;
        });
    }

    pub fn forget(&self, job_arn: &str) {
        let _ = self.with(|s| {
            s.forgotten.insert(job_arn.to_string());
            s.pending.retain(|_, (job, _)| job != job_arn);
        });
    }

    pub fn acknowledged(&self, seq: u64) {
        let _ = self.with(|s| {
            if let Some((job_arn, report)) = s.pending.remove(&seq) {
                let ended = matches!(report, JobReport::Finished { .. } | JobReport::Failed { .. });
                if ended && !s.pending.values().any(|(job, _)| *job == job_arn) {
                    s.assignments.remove(&job_arn);
                    s.orders.remove(&job_arn);
                }
            }
        });
    }

    fn base(&self) -> Result<String, LinkError> {
        self.with(|s| s.base.clone())?.ok_or_else(|| unavailable("not connected to a server"))
    }

    /// Runs `attempt` against the current replica until it succeeds or the attempts run
    /// out; a replica that went away is replaced by the connection loop meanwhile.
    async fn retrying<T, F, Fut>(&self, what: &str, mut attempt: F) -> Result<T, LinkError>
    where
        F: FnMut(String) -> Fut,
        Fut: std::future::Future<Output = Result<T, LinkError>>,
    {
        let give_up = tokio::time::Instant::now() + FILE_PATIENCE;
        let mut pause = FIRST_RETRY;
        loop {
            let failure = match self.base() {
                Ok(base) => match attempt(base).await {
                    Ok(value) => return Ok(value),
                    Err(e @ LinkError::Gone(_)) => return Err(e),
                    Err(e) => e,
                },
                Err(e) => e,
            };
            if tokio::time::Instant::now() + pause > give_up {
                return Err(unavailable(format!("{what}: {failure}")));
            }
            tracing::debug!(error = %failure, "{what} failed; trying again");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_RETRY);
        }
    }

    /// Uploads `file` to `path_and_query` of the server this host is connected to.
    pub async fn put_file_here(&self, path_and_query: &str, file: &Path) -> Result<(), LinkError> {
        let base = self.base()?;
        self.put_file(&base, path_and_query, file).await.map(|_| ())
    }

    /// Downloads `path_and_query` of the server this host is connected to into `dest`.
    pub async fn get_file_here(&self, path_and_query: &str, dest: &Path) -> Result<(), LinkError> {
        let base = self.base()?;
        let response = self
            .http
            .get(format!("{base}{path_and_query}"))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(unavailable)?;
        if !response.status().is_success() {
            return answer_text(response).await.map(|_| ());
        }
        let gone = |e: std::io::Error| LinkError::Gone(format!("{}: {e}", dest.display()));
        let mut out = tokio::fs::File::create(dest).await.map_err(gone)?;
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.try_next().await.map_err(unavailable)? {
            out.write_all(&chunk).await.map_err(gone)?;
        }
        out.flush().await.map_err(gone)
    }

    async fn put_file(&self, base: &str, path_and_query: &str, file: &Path) -> Result<String, LinkError> {
        let opened =
            tokio::fs::File::open(file).await.map_err(|e| LinkError::Gone(format!("{}: {e}", file.display())))?;
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(opened));
        let response = self
            .http
            .put(format!("{base}{path_and_query}"))
            .bearer_auth(&self.token)
            .body(body)
            .send()
            .await
            .map_err(unavailable)?;
        answer_text(response).await
    }
}

async fn answer_text(response: reqwest::Response) -> Result<String, LinkError> {
    let status = response.status();
    let text = response.text().await.map_err(unavailable)?;
    match status.as_u16() {
        200..=299 => Ok(text),
        403 | 404 => Err(LinkError::Gone(text)),
        _ => Err(unavailable(format!("{status}: {text}"))),
    }
}

fn query(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

#[async_trait]
impl JobLink for RemoteLink {
    async fn orders(&self, job_arn: &str) -> Result<Orders, LinkError> {
        self.with(|s| s.orders.get(job_arn).copied().unwrap_or_default())
    }

    async fn assignment(&self, job_arn: &str) -> Result<Assignment, LinkError> {
        self.with(|s| s.assignments.get(job_arn).cloned())?
            .ok_or_else(|| LinkError::Gone(format!("no assignment for {job_arn}")))
    }

    async fn fetch_input(&self, job_arn: &str, upload_arn: &str, dest: &Path) -> Result<(), LinkError> {
        let q = query(&[("job", job_arn), ("upload", upload_arn)]);
        self.retrying("fetching an input", |base| {
            let url = format!("{base}{INPUT_PATH}?{q}");
            async move {
                let response = self.http.get(url).bearer_auth(&self.token).send().await.map_err(unavailable)?;
                if !response.status().is_success() {
                    return answer_text(response).await.map(|_| ());
                }
                let mut out = tokio::fs::File::create(dest)
                    .await
                    .map_err(|e| LinkError::Gone(format!("{}: {e}", dest.display())))?;
                let mut stream = response.bytes_stream();
                while let Some(chunk) = stream.try_next().await.map_err(unavailable)? {
                    out.write_all(&chunk).await.map_err(|e| LinkError::Gone(format!("{}: {e}", dest.display())))?;
                }
                out.flush().await.map_err(|e| LinkError::Gone(e.to_string()))
            }
        })
        .await
    }

    async fn report(&self, job_arn: &str, report: JobReport) -> Result<(), LinkError> {
        self.with(|s| {
            if s.forgotten.contains(job_arn) {
                return;
            }
            s.next_seq += 1;
            let seq = s.next_seq;
            s.pending.insert(seq, (job_arn.to_string(), report.clone()));
            if let Some(sender) = &s.sender {
                let _ = sender.send(HostMessage::Report { seq, job_arn: job_arn.to_string(), report });
            }
        })
    }

    async fn put_output(&self, job_arn: &str, file: &Path) -> Result<(), LinkError> {
        let q = query(&[("job", job_arn)]);
        self.retrying("sending the output", |base| {
            let path = format!("{OUTPUT_PATH}?{q}");
            async move { self.put_file(&base, &path, file).await.map(|_| ()) }
        })
        .await
    }

    async fn put_artifact(&self, job_arn: &str, index: u32, file: &Path) -> Result<String, LinkError> {
        let q = query(&[("job", job_arn), ("index", &index.to_string())]);
        self.retrying("sending an artifact", |base| {
            let path = format!("{ARTIFACT_PATH}?{q}");
            async move { self.put_file(&base, &path, file).await }
        })
        .await
    }
}
