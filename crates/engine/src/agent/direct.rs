//! [`DirectLink`]: the control plane's side of every host, over the store and the blob
//! store. Jobs run by the server process itself use it directly; reports from remote
//! agents arrive over the network and are applied by the same methods.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use domain::clock::Clock;
use domain::job::observed::ObservedJob;
use domain::job::report::{self, JobReport};
use domain::resources::Upload;
use domain::run::{Job, Run};
use store::blob::BlobStore;
use store::{Record, Store, StoreError};

use host::agent::link::{JobLink, LinkError, Orders};
use host::agent::protocol::{Assignment, InputFile};

#[derive(Clone)]
pub struct DirectLink {
    store: Arc<dyn Store>,
    blobs: BlobStore,
    clock: Arc<dyn Clock>,
    /// The farm's region: an upload ARN of another names nothing here.
    region: String,
    time_scale: f64,
}

/// The store failing is the link being unavailable: the host retries.
fn unavailable(e: StoreError) -> LinkError {
    LinkError::Unavailable(e.to_string())
}

fn decode<T: serde::de::DeserializeOwned>(record: &Record) -> Result<T, LinkError> {
    record.decode().map_err(|e| LinkError::Gone(e.to_string()))
}

impl DirectLink {
    pub fn new(store: Arc<dyn Store>, blobs: BlobStore, clock: Arc<dyn Clock>, region: impl Into<String>) -> Self {
        DirectLink { store, blobs, clock, region: region.into(), time_scale: 1.0 }
    }

    /// How fast the service clock runs (`serve --time-scale`), told to hosts with each job.
    pub fn with_time_scale(mut self, time_scale: f64) -> Self {
        self.time_scale = time_scale;
        self
    }

    async fn job_record(&self, job_arn: &str) -> Result<Record, LinkError> {
        self.store
            .get_any(job_arn)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| LinkError::Gone(format!("job {job_arn} no longer exists")))
    }

    async fn input(&self, arn: &Option<String>) -> Result<(Option<InputFile>, Option<Upload>), LinkError> {
        let Some(arn) = arn else { return Ok((None, None)) };
        let record = self
            .store
            .get_any(arn)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| LinkError::Gone(format!("upload {arn} no longer exists")))?;
        let upload: Upload = decode(&record)?;
        let file_name =
            Some(upload.name.clone()).filter(|n| !n.is_empty() && !n.contains('/')).unwrap_or_else(|| "upload".into());
        Ok((Some(InputFile { arn: arn.clone(), file_name }), Some(upload)))
    }

    /// Applies `report` as of `at_ms`: now for what a host reports, the host's last sign of
    /// life for a job the control plane ends because its host went silent.
    pub async fn report_at(&self, job_arn: &str, report: &JobReport, at_ms: i64) -> Result<(), LinkError> {
        self.report_if(job_arn, report, at_ms, |_| true).await
    }

    /// [`DirectLink::report_at`] for a job that passes `allowed` (whose host may report on
    /// it), checked on the same read the report is applied to.
    pub async fn report_if(
        &self,
        job_arn: &str,
        report: &JobReport,
        at_ms: i64,
        allowed: impl Fn(&Job) -> bool,
    ) -> Result<(), LinkError> {
        loop {
            let record = self.job_record(job_arn).await?;
            let mut job: Job = decode(&record)?;
            if !allowed(&job) {
                return Err(LinkError::Gone(format!("job {job_arn} is not this host's")));
            }
            let observed = job.observed.get_or_insert_with(ObservedJob::default);
            report::apply(observed, &mut job.artifacts, report, at_ms);
            let mut updated = record.clone();
            updated.body = serde_json::to_value(&job).map_err(|e| LinkError::Unavailable(e.to_string()))?;
            // Another writer (a stop request) may have got there first: apply again on top.
            match self.store.update(&updated).await {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(unavailable(e)),
            }
        }
    }

    /// Where one of the job's uploads is stored; a job may read its run's uploads only.
    pub async fn input_key(&self, job_arn: &str, upload_arn: &str) -> Result<String, LinkError> {
        let record = self.job_record(job_arn).await?;
        let (_, run) = self.run_of(&record).await?;
        if !Self::may_read(&run, upload_arn) {
            return Err(LinkError::Gone(format!("{upload_arn} is not an upload of this job's run")));
        }
        crate::blob_keys::upload_in(&self.region, upload_arn)
            .ok_or_else(|| LinkError::Gone(format!("no stored file for {upload_arn}")))
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The uploads a job may read: its run's, and nothing else.
    fn may_read(run: &Run, upload_arn: &str) -> bool {
        [&run.test_package_arn, &run.app_arn, &run.test_spec_arn].into_iter().flatten().any(|a| a == upload_arn)
    }

    async fn run_of(&self, record: &Record) -> Result<(String, Run), LinkError> {
        let run_arn = record.parent_arn.clone().ok_or_else(|| LinkError::Gone("job without a run".into()))?;
        let run_record = self
            .store
            .get(&record.account_id, &run_arn)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| LinkError::Gone("the run is gone".into()))?;
        Ok((run_arn, decode(&run_record)?))
    }
}

#[async_trait]
impl JobLink for DirectLink {
    async fn orders(&self, job_arn: &str) -> Result<Orders, LinkError> {
        let job: Job = decode(&self.job_record(job_arn).await?)?;
        Ok(Orders::for_job(&job, self.clock.now_ms()).0)
    }

    async fn assignment(&self, job_arn: &str) -> Result<Assignment, LinkError> {
        let record = self.job_record(job_arn).await?;
        let job: Job = decode(&record)?;
        let (run_arn, run) = self.run_of(&record).await?;
        let (package, _) = self.input(&run.test_package_arn).await?;
        let (app, app_upload) = self.input(&run.app_arn).await?;
        let region = run_arn.parse::<domain::arn::Arn>().map(|a| a.region).unwrap_or_default();
        let spec = match &run.test_spec_arn {
            // A curated spec holds the default, which is made for each job (the app, device).
            Some(arn) if !host::default_specs::runs_default_spec(&region, Some(arn)) => {
                let key = crate::blob_keys::upload_in(&self.region, arn)
                    .ok_or_else(|| LinkError::Gone(format!("no stored file for {arn}")))?;
                let bytes = read_small(&self.blobs, &key).await?;
                Some(String::from_utf8(bytes).map_err(|_| LinkError::Gone("the test spec is not UTF-8 text".into()))?)
            }
            _ => None,
        };
        let app_package = app_upload.as_ref().and_then(host::default_specs::app_package_name);
        Ok(Assignment {
            job_arn: job_arn.to_string(),
            account: record.account_id,
            job,
            run_arn,
            run,
            spec,
            package,
            app,
            app_package,
            time_scale: self.time_scale,
        })
    }

    async fn fetch_input(&self, job_arn: &str, upload_arn: &str, dest: &Path) -> Result<(), LinkError> {
        let key = self.input_key(job_arn, upload_arn).await?;
        self.blobs
            .copy_to_file(&key, dest)
            .await
            .map(|_| ())
            .map_err(|e| LinkError::Unavailable(format!("reading {upload_arn}: {e}")))
    }

    async fn report(&self, job_arn: &str, report: JobReport) -> Result<(), LinkError> {
        self.report_at(job_arn, &report, self.clock.now_ms()).await
    }

    async fn put_output(&self, job_arn: &str, file: &Path) -> Result<(), LinkError> {
        let arn: domain::arn::Arn = job_arn.parse().map_err(|_| LinkError::Gone(format!("bad job ARN {job_arn}")))?;
        let key = crate::blob_keys::live_output(&arn);
        put_file(&self.blobs, &key, file).await
    }

    async fn put_artifact(&self, job_arn: &str, index: u32, file: &Path) -> Result<String, LinkError> {
        let arn: domain::arn::Arn = job_arn.parse().map_err(|_| LinkError::Gone(format!("bad job ARN {job_arn}")))?;
        let key = crate::blob_keys::artifact(&arn, index);
        put_file(&self.blobs, &key, file).await?;
        Ok(key)
    }
}

async fn put_file(blobs: &BlobStore, key: &str, file: &Path) -> Result<(), LinkError> {
    let opened = tokio::fs::File::open(file).await.map_err(|e| LinkError::Gone(format!("{}: {e}", file.display())))?;
    blobs
        .put_stream(key, tokio_util::io::ReaderStream::new(opened), u64::MAX)
        .await
        .map(|_| ())
        .map_err(|e| LinkError::Unavailable(format!("storing {key}: {e}")))
}

/// Test specs are checked at upload to be small YAML; anything past this is not one.
const MAX_SPEC_BYTES: usize = 1 << 20;

async fn read_small(blobs: &BlobStore, key: &str) -> Result<Vec<u8>, LinkError> {
    use futures::TryStreamExt;
    let mut stream = blobs.get_stream(key).await.map_err(|e| match e {
        store::blob::BlobError::NotFound(_) => {
            LinkError::Gone(format!("{key} is not stored (is the blob store shared by every replica?)"))
        }
        e => LinkError::Unavailable(format!("reading {key}: {e}")),
    })?;
    let mut bytes = Vec::new();
    while let Some(chunk) =
        stream.try_next().await.map_err(|e| LinkError::Unavailable(format!("reading {key}: {e}")))?
    {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_SPEC_BYTES {
            return Err(LinkError::Gone(format!("{key} is larger than a test spec can be")));
        }
    }
    Ok(bytes)
}
