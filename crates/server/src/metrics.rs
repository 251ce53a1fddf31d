//! `GET /metrics`: the server's metrics in the Prometheus text format, or in OpenMetrics
//! text for a scraper that asks for it (`Accept: application/openmetrics-text`, as
//! Prometheus itself does).
//!
//! Two kinds of figures. What happens on this replica — API requests and their latency,
//! stop latency — is counted as it happens, in [`Metrics`]. What the farm *is* — jobs by
//! status, the queue, the devices, the bill — is read at scrape time from the store (the
//! waiting and active jobs through `engine::job_view`, so a scrape agrees with GetJob; the
//! ledger as one aggregate query), so it is right across restarts and replicas and a scrape
//! stays cheap however many jobs have settled.
//!
//! Like `/healthz`, it needs no credentials unless `--metrics-token` is set
//! (`metrics_access`), so no label ever carries an account id, an ARN or anything a caller
//! chose: operations are the model's names (or `unknown`), codes are the service's error
//! codes.

use super::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use domain::device::{Fleet, InstanceStatus};
use domain::job::status::ExecutionStatus;
use domain::run::JobPhase;
use engine::job_view::job_snapshot;
use engine::scheduler::{decode_job, scan_jobs, SchedulerError, SettleObserver};
use http::{HeaderValue, StatusCode};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;
use store::ledger::{BROWSER, METERED, UNMETERED};
use store::BillingTotal;

const OPENMETRICS: &str = "application/openmetrics-text";
const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The `code` label of a request that succeeded; failures carry the AWS error code.
pub const OK_CODE: &str = "OK";
/// The `operation` label of a request whose target names no operation of the model.
pub const UNKNOWN_OPERATION: &str = "unknown";

/// The statuses of a job waiting for the scheduler.
const WAITING: [ExecutionStatus; 3] =
    [ExecutionStatus::Pending, ExecutionStatus::PendingConcurrency, ExecutionStatus::PendingDevice];
const PLATFORMS: [&str; 2] = ["ANDROID", "IOS"];
const INSTANCE_STATES: [&str; 3] = ["in_use", "free", "unavailable"];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    operation: &'static str,
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InstanceLabels {
    platform: String,
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PlatformLabels {
    platform: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BrowserLabels {
    browser: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SessionStartLabels {
    browser: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    billing_method: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;
type FloatCounter = Counter<f64, AtomicU64>;

fn request_histogram() -> Histogram {
    // 1 ms to about 16 s: a read is a few ms, a large ScheduleRun or a slow database more.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// What this replica counts as it happens; kept in [`AppState`].
#[derive(Debug)]
pub struct Metrics {
    requests: Family<RequestLabels, Counter>,
    durations: Family<RequestLabels, Histogram, fn() -> Histogram>,
    stop_latency: Histogram,
    session_starts: Family<SessionStartLabels, Counter>,
    hub_commands: Family<BrowserLabels, Histogram, fn() -> Histogram>,
    active_sessions: Family<BrowserLabels, Gauge>,
}

fn command_histogram() -> Histogram {
    // 0.1 ms to about 26 s: the hub's own share is well under a millisecond, a page load
    // or a script may take seconds.
    Histogram::new(exponential_buckets(0.0001, 2.0, 19))
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: Family::default(),
            durations: Family::new_with_constructor(request_histogram),
            // 10 ms to about 80 min of real time: a stop before setup ends at the next
            // pass, one during a test waits for the test and the teardown.
            stop_latency: Histogram::new(exponential_buckets(0.01, 2.0, 19)),
            session_starts: Family::default(),
            hub_commands: Family::new_with_constructor(command_histogram),
            active_sessions: Family::default(),
        }
    }
}

impl Metrics {
    /// One JSON API request: its operation (the model's name, or [`UNKNOWN_OPERATION`]),
    /// [`OK_CODE`] or its error code, and how long it took.
    pub fn record_request(&self, operation: &'static str, code: &'static str, took: Duration) {
        let labels = RequestLabels { operation, code };
        self.requests.get_or_create(&labels).inc();
        self.durations.get_or_create(&labels).observe(took.as_secs_f64());
    }

    /// A new TestGrid session asked of this replica's hub: `started`, or `refused` (a
    /// quota, no browser with room, the browser did not start).
    pub fn record_session_start(&self, browser: &'static str, started: bool) {
        let outcome = if started { "started" } else { "refused" };
        self.session_starts.get_or_create(&SessionStartLabels { browser, outcome }).inc();
    }

    /// One WebDriver command through the hub, from its arrival to the driver's answer.
    pub fn record_hub_command(&self, browser: &'static str, took: Duration) {
        self.hub_commands.get_or_create(&BrowserLabels { browser }).observe(took.as_secs_f64());
    }

    /// The sessions this replica's hub runs now, by browser.
    pub fn set_active_sessions(&self, browser: &'static str, count: i64) {
        self.active_sessions.get_or_create(&BrowserLabels { browser }).set(count);
    }

    fn register(&self, registry: &mut Registry) {
        registry.register(
            "testgrid_session_starts",
            "New TestGrid sessions asked of this replica's hub, by browser and outcome",
            self.session_starts.clone(),
        );
        registry.register(
            "testgrid_command_duration_seconds",
            "WebDriver commands through this replica's hub, arrival to the driver's answer, by browser",
            self.hub_commands.clone(),
        );
        registry.register(
            "testgrid_active_sessions",
            "TestGrid sessions this replica's hub runs now, by browser",
            self.active_sessions.clone(),
        );
        registry.register("api_requests", "JSON API requests, by operation and result code", self.requests.clone());
        registry.register(
            "api_request_duration_seconds",
            "JSON API request latency in seconds, by operation and result code",
            self.durations.clone(),
        );
        registry.register(
            "stop_latency_seconds",
            "Real seconds from a StopJob or StopRun being recorded to the job being settled (jobs settled by this replica)",
            self.stop_latency.clone(),
        );
    }
}

impl SettleObserver for Metrics {
    fn stopped_job_settled(&self, latency: Duration) {
        self.stop_latency.observe(latency.as_secs_f64());
    }
}

/// The farm as it is at one instant, read for a scrape.
#[derive(Debug, Default, PartialEq)]
struct FarmFigures {
    /// Jobs not yet settled, by what GetJob shows as their status.
    jobs: BTreeMap<&'static str, i64>,
    /// Device instances by platform and state (`in_use`, `free`, `unavailable`).
    instances: BTreeMap<(String, &'static str), i64>,
    billing: Vec<BillingTotal>,
}

async fn read_figures(state: &AppState) -> Result<FarmFigures, SchedulerError> {
    let now = state.now_ms();
    let prep = state.engine.prep();
    let mut jobs: BTreeMap<&'static str, i64> = BTreeMap::new();
    for phase in [JobPhase::Waiting, JobPhase::Active] {
        for record in scan_jobs(state.store.as_ref(), phase).await? {
            let job = decode_job(&record)?;
            *jobs.entry(job_snapshot(&job, &record, prep, now).status.as_str()).or_default() += 1;
        }
    }
    let billing = state.store.billing_totals().await?;
    let instances = instance_states(&state.fleet(), &state.engine.instances_in_use(now));
    Ok(FarmFigures { jobs, instances, billing })
}

/// Each instance of the fleet in one state: held by a job (whatever its host's health), else
/// unavailable as the scheduler sees it, else free.
fn instance_states(fleet: &Fleet, in_use: &BTreeSet<String>) -> BTreeMap<(String, &'static str), i64> {
    let mut states = BTreeMap::new();
    for device in fleet.devices() {
        for instance in &device.instances {
            let state = if in_use.contains(&instance.arn) {
                "in_use"
            } else if instance.status == InstanceStatus::NotAvailable {
                "unavailable"
            } else {
                "free"
            };
            *states.entry((device.platform.as_str().to_string(), state)).or_default() += 1;
        }
    }
    states
}

impl FarmFigures {
    fn register(&self, registry: &mut Registry) {
        let jobs = Family::<StatusLabels, Gauge>::default();
        // Every status, so one no job has reads 0 rather than vanishing.
        for status in ExecutionStatus::ALL.iter().map(|s| s.as_str()) {
            jobs.get_or_create(&StatusLabels { status }).set(self.jobs.get(status).copied().unwrap_or(0));
        }
        registry.register("jobs", "Jobs not yet settled, by the status GetJob shows", jobs);

        let queue = Family::<ReasonLabels, Gauge>::default();
        for reason in WAITING.map(ExecutionStatus::as_str) {
            queue.get_or_create(&ReasonLabels { reason }).set(self.jobs.get(reason).copied().unwrap_or(0));
        }
        registry.register("scheduler_queue_length", "Jobs waiting for a device, by why they wait", queue);

        let instances = Family::<InstanceLabels, Gauge>::default();
        let ratio = Family::<PlatformLabels, FloatGauge>::default();
        let platforms: BTreeSet<String> =
            PLATFORMS.iter().map(|p| p.to_string()).chain(self.instances.keys().map(|(p, _)| p.clone())).collect();
        for platform in platforms {
            let count = |state: &'static str| self.instances.get(&(platform.clone(), state)).copied().unwrap_or(0);
            for state in INSTANCE_STATES {
                instances.get_or_create(&InstanceLabels { platform: platform.clone(), state }).set(count(state));
            }
            let usable = count("in_use") + count("free");
            let used = if usable == 0 { 0.0 } else { count("in_use") as f64 / usable as f64 };
            ratio.get_or_create(&PlatformLabels { platform }).set(used);
        }
        registry.register("device_instances", "Device instances by platform and state", instances);
        registry.register(
            "device_utilisation_ratio",
            "Share of the available device instances that run a job, by platform",
            ratio,
        );

        let minutes = Family::<MethodLabels, FloatCounter>::default();
        let settled = Family::<MethodLabels, Counter>::default();
        // Every method always shows, at 0 until something is billed under it.
        for method in [METERED, UNMETERED, BROWSER] {
            let labels = MethodLabels { billing_method: method.to_string() };
            let _ = minutes.get_or_create(&labels);
            let _ = settled.get_or_create(&labels);
        }
        for total in &self.billing {
            let labels = MethodLabels { billing_method: total.billing_method.clone() };
            minutes.get_or_create(&labels).inc_by(total.seconds as f64 / 60.0);
            settled.get_or_create(&labels).inc_by(u64::try_from(total.jobs).unwrap_or(0));
        }
        registry.register(
            "billed_minutes",
            "Device minutes billed, from the durable ledger (every replica, every account)",
            minutes,
        );
        registry.register("settled_jobs", "Jobs settled and billed, from the durable ledger", settled);
    }
}

fn render(metrics: &Metrics, figures: &FarmFigures) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::with_prefix("farmhand");
    metrics.register(&mut registry);
    figures.register(&mut registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry)?;
    Ok(text)
}

/// The Prometheus text format of the same figures, from the OpenMetrics text the crate
/// writes: the two differ, for what we write, only in that a counter family is named with
/// its `_total` suffix and there is no `# EOF` line.
fn to_prometheus_text(openmetrics: &str) -> String {
    let counters: BTreeSet<&str> =
        openmetrics.lines().filter_map(|line| line.strip_prefix("# TYPE ")?.strip_suffix(" counter")).collect();
    let mut text = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let comment = ["# HELP ", "# TYPE "].into_iter().find_map(|kind| Some((kind, line.strip_prefix(kind)?)));
        match comment {
            Some((kind, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                let suffix = if counters.contains(name) { "_total" } else { "" };
                for part in [kind, name, suffix] {
                    text.push_str(part);
                }
                if !tail.is_empty() {
                    text.push(' ');
                    text.push_str(tail);
                }
            }
            None => text.push_str(line),
        }
        text.push('\n');
    }
    text
}

fn wants_openmetrics(headers: &http::HeaderMap) -> bool {
    headers
        .get_all(http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|accept| accept.split(',').any(|range| range.trim().starts_with(OPENMETRICS)))
}

pub async fn metrics(State(state): State<Arc<AppState>>, headers: http::HeaderMap) -> Response {
    let mut active: BTreeMap<&'static str, i64> = BTreeMap::new();
    for offer in state.grid.offers() {
        *active.entry(offer.kind.name()).or_default() += i64::from(offer.in_use);
    }
    for (browser, count) in active {
        state.metrics.set_active_sessions(browser, count);
    }
    let rendered = match read_figures(&state).await {
        Ok(figures) => render(&state.metrics, &figures).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match rendered {
        Ok(text) => {
            let openmetrics = wants_openmetrics(&headers);
            let (body, content_type) = if openmetrics {
                (text, OPENMETRICS_CONTENT_TYPE)
            } else {
                (to_prometheus_text(&text), PROMETHEUS_CONTENT_TYPE)
            };
            let mut response = body.into_response();
            let headers = response.headers_mut();
            headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            headers.insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(cause) => {
            // The cause may name the database; a scraper, perhaps unauthenticated, gets no details.
            tracing::error!(%cause, "metrics: reading the farm failed");
            (StatusCode::SERVICE_UNAVAILABLE, "metrics unavailable: the store did not answer\n").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sample(text: &str, name_and_labels: &str) -> Option<f64> {
        text.lines()
            .find_map(|line| line.strip_prefix(name_and_labels).and_then(|rest| rest.strip_prefix(' ')))
            .map(|value| value.parse().unwrap())
    }

    #[test]
    fn requests_are_counted_and_timed_by_operation_and_code() {
        let metrics = Metrics::default();
        metrics.record_request("GetJob", OK_CODE, Duration::from_millis(3));
        metrics.record_request("GetJob", "NotFoundException", Duration::from_millis(1));
        metrics.record_request("GetJob", OK_CODE, Duration::from_secs(100));
        let text = render(&metrics, &FarmFigures::default()).unwrap();
        assert_eq!(sample(&text, r#"farmhand_api_requests_total{operation="GetJob",code="OK"}"#), Some(2.0), "{text}");
        assert_eq!(
            sample(&text, r#"farmhand_api_requests_total{operation="GetJob",code="NotFoundException"}"#),
            Some(1.0)
        );
        let bucket = |le: &str| {
            sample(
                &text,
                &format!(r#"farmhand_api_request_duration_seconds_bucket{{le="{le}",operation="GetJob",code="OK"}}"#),
            )
        };
        assert_eq!(bucket("0.004"), Some(1.0));
        assert_eq!(bucket("+Inf"), Some(2.0), "the slow one is only in +Inf");
        assert_eq!(
            sample(&text, r#"farmhand_api_request_duration_seconds_count{operation="GetJob",code="OK"}"#),
            Some(2.0)
        );
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn figures_render_every_status_state_and_method() {
        let figures = FarmFigures {
            jobs: BTreeMap::from([("RUNNING", 2), ("PENDING_CONCURRENCY", 3)]),
            instances: BTreeMap::from([(("ANDROID".to_string(), "in_use"), 1), (("ANDROID".to_string(), "free"), 3)]),
            billing: vec![BillingTotal { billing_method: METERED.into(), jobs: 4, seconds: 90 }],
        };
        let metrics = Metrics::default();
        metrics.stopped_job_settled(Duration::from_millis(250));
        let text = render(&metrics, &figures).unwrap();
        assert_eq!(sample(&text, r#"farmhand_jobs{status="RUNNING"}"#), Some(2.0), "{text}");
        assert_eq!(sample(&text, r#"farmhand_jobs{status="STOPPING"}"#), Some(0.0));
        assert_eq!(sample(&text, r#"farmhand_scheduler_queue_length{reason="PENDING_CONCURRENCY"}"#), Some(3.0));
        assert_eq!(sample(&text, r#"farmhand_scheduler_queue_length{reason="PENDING"}"#), Some(0.0));
        assert_eq!(sample(&text, r#"farmhand_device_instances{platform="ANDROID",state="free"}"#), Some(3.0));
        assert_eq!(sample(&text, r#"farmhand_device_instances{platform="IOS",state="in_use"}"#), Some(0.0));
        assert_eq!(sample(&text, r#"farmhand_device_utilisation_ratio{platform="ANDROID"}"#), Some(0.25));
        assert_eq!(sample(&text, r#"farmhand_device_utilisation_ratio{platform="IOS"}"#), Some(0.0));
        assert_eq!(sample(&text, r#"farmhand_billed_minutes_total{billing_method="METERED"}"#), Some(1.5));
        assert_eq!(sample(&text, r#"farmhand_billed_minutes_total{billing_method="UNMETERED"}"#), Some(0.0));
        assert_eq!(sample(&text, r#"farmhand_settled_jobs_total{billing_method="METERED"}"#), Some(4.0));
        assert_eq!(sample(&text, "farmhand_stop_latency_seconds_count"), Some(1.0));
        assert_eq!(sample(&text, r#"farmhand_stop_latency_seconds_bucket{le="0.16"}"#), Some(0.0));
        assert_eq!(sample(&text, r#"farmhand_stop_latency_seconds_bucket{le="0.32"}"#), Some(1.0));
    }

    #[test]
    fn the_prometheus_text_names_counters_with_their_suffix_and_has_no_eof() {
        let metrics = Metrics::default();
        metrics.record_request("ListRuns", OK_CODE, Duration::from_millis(2));
        let openmetrics = render(&metrics, &FarmFigures::default()).unwrap();
        let text = to_prometheus_text(&openmetrics);
        assert!(text.contains("# TYPE farmhand_api_requests_total counter\n"), "{text}");
        assert!(text.contains("# HELP farmhand_api_requests_total JSON API requests"), "{text}");
        assert!(text.contains("# TYPE farmhand_api_request_duration_seconds histogram\n"));
        assert!(text.contains("# TYPE farmhand_jobs gauge\n"));
        assert!(!text.contains("# EOF"));
        // Samples are the same lines.
        let samples = |t: &str| t.lines().filter(|l| !l.starts_with('#')).map(str::to_string).collect::<Vec<_>>();
        assert_eq!(samples(&text), samples(&openmetrics));
    }

    #[test]
    fn openmetrics_is_served_to_who_asks_for_it() {
        let mut headers = http::HeaderMap::new();
        assert!(!wants_openmetrics(&headers));
        headers.insert(http::header::ACCEPT, HeaderValue::from_static("text/plain;version=0.0.4;q=0.5,*/*;q=0.1"));
        assert!(!wants_openmetrics(&headers));
        headers.insert(
            http::header::ACCEPT,
            HeaderValue::from_static("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"),
        );
        assert!(wants_openmetrics(&headers));
    }

    #[test]
    fn every_instance_is_counted_once_and_held_ones_are_in_use() {
        let fleet = Fleet::demo("us-west-2");
        let first = &fleet.devices()[0];
        let held: BTreeSet<String> = first.instances.iter().map(|i| i.arn.clone()).collect();
        let states = instance_states(&fleet, &held);
        let platform = first.platform.as_str().to_string();
        assert_eq!(states.get(&(platform, "in_use")).copied(), Some(held.len() as i64));
        let total: i64 = states.values().sum();
        assert_eq!(total, fleet.devices().iter().map(|d| d.instances.len() as i64).sum::<i64>());
    }
}
