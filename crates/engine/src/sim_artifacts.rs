//! What a simulated job leaves behind, AWS's whole set: a device log, JUnit results, the
//! test spec output ([`crate::sim_transcript`]), the Customer Artifacts zip
//! ([`crate::sim_customer_zip`]), the video ([`crate::sim_video`]) and a screenshot per test
//! that ran. They are rendered from the job's snapshot when downloaded, so they are always
//! consistent with what the API reports and survive restarts without being stored (the
//! video, costlier to make, is kept once made).
//!
//! Placement (notes: artifact ARNs are `…/JOB/SUITE/TEST/NNNNN`): the job-wide files hang
//! off the Setup Test (suite 0, test 0); each screenshot hangs off its test.

use domain::job::snapshot::{JobSnapshot, TestSnapshot};
use domain::job::status::{ExecutionResult, ExecutionStatus};
use domain::run::Job;
use std::fmt::Write as _;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactSpec {
    pub suite: usize,
    pub test: usize,
    pub index: u32,
    pub name: String,
    /// The model's ArtifactType, which also decides its category (`domain::artifact`).
    pub artifact_type: &'static str,
    pub extension: &'static str,
}

const DEVICE_LOG: u32 = 0;
const RESULTS: u32 = 1;
const TESTSPEC_OUTPUT: u32 = 2;
const CUSTOMER_ARTIFACT: u32 = 3;
const VIDEO: u32 = 4;
const SCREENSHOT: u32 = 0;

fn ran(test: &TestSnapshot) -> bool {
    test.status == ExecutionStatus::Completed && test.started_ms.is_some()
}

fn job_file(index: u32, name: &str, artifact_type: &'static str, extension: &'static str) -> ArtifactSpec {
    ArtifactSpec { suite: 0, test: 0, index, name: name.into(), artifact_type, extension }
}

/// The artifacts the job has at this snapshot.
pub fn artifacts_of(job: &Job, snapshot: &JobSnapshot) -> Vec<ArtifactSpec> {
    let mut out = Vec::new();
    if snapshot.started_ms.is_none() {
        return out;
    }
    out.push(ArtifactSpec {
        suite: 0,
        test: 0,
        index: DEVICE_LOG,
        name: "Device Log".into(),
        artifact_type: "DEVICE_LOG",
        extension: "txt",
    });
    if snapshot.is_final {
        out.push(ArtifactSpec {
            suite: 0,
            test: 0,
            index: RESULTS,
            name: "Test Results".into(),
            artifact_type: "RESULT_LOG",
            extension: "xml",
        });
        // As on AWS, these exist once the job is over.
        out.push(job_file(TESTSPEC_OUTPUT, "Test spec output", "TESTSPEC_OUTPUT", "txt"));
        if !job.customer_files.is_empty() {
            out.push(job_file(CUSTOMER_ARTIFACT, "Customer Artifacts", "CUSTOMER_ARTIFACT", "zip"));
        }
        if job.video_capture && crate::sim_video::ffmpeg().is_some() {
            out.push(job_file(VIDEO, "Video", "VIDEO", "mp4"));
        }
    }
    for (s, suite) in snapshot.suites.iter().enumerate().filter(|(s, _)| *s == 1) {
        for (t, test) in suite.tests.iter().enumerate().filter(|(_, t)| ran(t)) {
            out.push(ArtifactSpec {
                suite: s,
                test: t,
                index: SCREENSHOT,
                name: test.name.clone(),
                artifact_type: "SCREENSHOT",
                extension: "png",
            });
        }
    }
    out
}

fn stamp(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    format!("{}.{:03}", secs, ms.rem_euclid(1000))
}

/// A log in the spirit of logcat: one line per step start and end, in time order.
pub fn device_log(job: &Job, snapshot: &JobSnapshot) -> String {
    let mut events: Vec<(i64, String)> = Vec::new();
    if let Some(at) = snapshot.started_ms {
        events.push((at, format!("I/farmhand: device {} ({}) assigned", job.device.name, job.device.os.as_str())));
    }
    for suite in &snapshot.suites {
        for test in &suite.tests {
            if let Some(at) = test.started_ms {
                events.push((at, format!("I/TestRunner: started: {} ({})", test.name, suite.name)));
            }
            if let (Some(at), true) = (test.stopped_ms, ran(test)) {
                let message = test.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
                events.push((at, format!("I/TestRunner: finished: {} {}{message}", test.name, test.result.as_str())));
            }
        }
    }
    if let Some(at) = snapshot.stopped_ms {
        events.push((at, format!("I/farmhand: job {} {}", snapshot.status.as_str(), snapshot.result.as_str())));
    }
    events.sort_by_key(|(at, _)| *at);
    let mut text = String::new();
    for (at, line) in events {
        let _ = writeln!(text, "{} {line}", stamp(at));
    }
    text
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The Tests Suite as JUnit XML, the format CI systems read.
pub fn junit_results(job: &Job, snapshot: &JobSnapshot) -> String {
    let tests = snapshot.suites.get(1).map(|s| s.tests.as_slice()).unwrap_or_default();
    let count = |r: ExecutionResult| tests.iter().filter(|t| t.result == r).count();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
        xml_escape(&job.device.name),
        tests.len(),
        count(ExecutionResult::Failed),
        count(ExecutionResult::Errored),
        count(ExecutionResult::Skipped) + count(ExecutionResult::Stopped),
    );
    for t in tests {
        let seconds = match (t.started_ms, t.stopped_ms) {
            (Some(a), Some(b)) => (b - a) as f64 / 1000.0,
            _ => 0.0,
        };
        let _ = write!(xml, "  <testcase name=\"{}\" time=\"{seconds:.3}\"", xml_escape(&t.name));
        let message = xml_escape(t.message.as_deref().unwrap_or_default());
        match t.result {
            ExecutionResult::Failed => {
                let _ = writeln!(xml, "><failure message=\"{message}\"/></testcase>");
            }
            ExecutionResult::Errored => {
                let _ = writeln!(xml, "><error message=\"{message}\"/></testcase>");
            }
            ExecutionResult::Skipped | ExecutionResult::Stopped => {
                let _ = writeln!(xml, "><skipped message=\"{}\"/></testcase>", t.result.as_str());
            }
            _ => {
                let _ = writeln!(xml, "/>");
            }
        }
    }
    xml.push_str("</testsuite>\n");
    xml
}

/// A frame of the simulated screen: the device's aspect ratio, a status bar coloured by
/// result, and a progress bar for how far the job's tests have got.
pub fn screen_png(job: &Job, result: ExecutionResult, progress: f64) -> Vec<u8> {
    let (w, h) = {
        let r = &job.device.resolution;
        let scale = (r.width.max(1) as f64 / 180.0).max(1.0);
        (((r.width as f64 / scale) as u32).max(60), ((r.height as f64 / scale) as u32).max(100))
    };
    let color = match result {
        ExecutionResult::Passed => [46, 160, 67],
        ExecutionResult::Failed | ExecutionResult::Errored => [207, 34, 46],
        ExecutionResult::Warned => [191, 135, 0],
        ExecutionResult::Stopped | ExecutionResult::Skipped => [110, 119, 129],
        ExecutionResult::Pending => [9, 105, 218],
    };
    let bar_end = (w as f64 * progress.clamp(0.0, 1.0)) as u32;
    let mut pixels = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let rgb = if y < h / 10 {
                color
            } else if y > h - h / 12 && x < bar_end {
                [9, 105, 218]
            } else {
                [246, 248, 250]
            };
            pixels.extend_from_slice(&rgb);
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Encoding into a Vec fails only on invalid dimensions, which the clamps above rule out.
    if let Ok(mut writer) = encoder.write_header() {
        let _ = writer.write_image_data(&pixels);
    }
    out
}

/// The rendered bytes and content type of `spec` at this snapshot; `None` for the video,
/// which [`crate::sim_video::video`] makes.
pub fn render(spec: &ArtifactSpec, job: &Job, snapshot: &JobSnapshot) -> Option<(&'static str, Vec<u8>)> {
    const TEXT: &str = "text/plain; charset=utf-8";
    Some(match spec.artifact_type {
        "DEVICE_LOG" => (TEXT, device_log(job, snapshot).into_bytes()),
        "RESULT_LOG" => ("application/xml", junit_results(job, snapshot).into_bytes()),
        "TESTSPEC_OUTPUT" => (TEXT, crate::sim_transcript::testspec_output(job, snapshot).into_bytes()),
        // The scenario parser checked every path, so writing to memory cannot fail.
        "CUSTOMER_ARTIFACT" => ("application/zip", crate::sim_customer_zip::customer_zip(&job.customer_files).ok()?),
        "VIDEO" => return None,
        // SCREENSHOT, the only other type `artifacts_of` makes.
        _ => {
            let result = snapshot
                .suites
                .get(spec.suite)
                .and_then(|s| s.tests.get(spec.test))
                .map(|t| t.result)
                .unwrap_or(ExecutionResult::Pending);
            let total = snapshot.suites.get(1).map(|s| s.tests.len()).unwrap_or(1).max(1);
            ("image/png", screen_png(job, result, (spec.test + 1) as f64 / total as f64))
        }
    })
}

/// One video frame: the screen as the job is now.
pub fn video_frame(job: &Job, snapshot: &JobSnapshot) -> Vec<u8> {
    let tests = snapshot.suites.get(1).map(|s| s.tests.as_slice()).unwrap_or_default();
    let done = tests.iter().filter(|t| t.status == ExecutionStatus::Completed).count();
    let progress = if tests.is_empty() { 0.0 } else { done as f64 / tests.len() as f64 };
    screen_png(job, snapshot.result, progress)
}
