//! `farmhand runs watch RUN_ARN`: follows a run until it completes, polling GetRun and
//! ListJobs, and exits with a status that says how it ended, so CI can gate on it.
//!
//! Three ways to show it: on a terminal, a table redrawn in place; elsewhere (a CI log), a
//! line for every change; with `--output json`, a JSON object per change, the last one the
//! completed run with its jobs.

use crate::client::{arn_of_kind, Client};
use crate::output::Format;
use anyhow::{bail, Context, Result};
use domain::arn::ResourceKind;
use protocol::model::{Counters, ExecutionResult, ExecutionStatus, Job, Operation, Run};
use protocol::progress::tests_done;
use serde_json::{json, Value};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Times a failed poll's call is made again before the watch gives up: with
/// [`crate::client::backoff`], a throttling or unreachable server for up to about 20 s in a
/// row, so that a CI gate survives a server restart.
const RETRIES: u32 = 6;

pub const EXIT_STATUS_HELP: &str = "\
Exit status, from the run's result once it is COMPLETED:
  0  PASSED
  3  FAILED
  4  ERRORED
  5  STOPPED
  6  WARNED
  7  SKIPPED
  1  the run could not be watched (bad or wrong-type ARN, NotFoundException, no credentials
     or endpoint, the endpoint unreachable, throttling or failing (5xx) for about 20 s in a
     row: a failed poll is retried 6 times)
  2  bad usage (an unknown option, an --interval-seconds out of range)";

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// The run to watch: arn:aws:devicefarm:REGION:ACCOUNT:run:PROJECT_ID/RUN_ID.
    pub run_arn: String,
    /// Seconds between two polls of GetRun and ListJobs (0.1 to 3600).
    #[arg(long, default_value_t = 2.0, value_parser = parse_interval)]
    pub interval_seconds: f64,
    /// table: a live table on a terminal, one line per change otherwise. json:
    /// newline-delimited JSON, one {"run": …, "jobs": […]} object per change, as GetRun and
    /// ListJobs answered; the last line is the completed run with all its jobs (`tail -1`).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub output: Format,
    /// The Device Farm endpoint; default AWS_ENDPOINT_URL_DEVICE_FARM, then AWS_ENDPOINT_URL.
    #[arg(long)]
    pub endpoint_url: Option<String>,
}

fn parse_interval(text: &str) -> Result<f64, String> {
    let seconds: f64 = text.parse().map_err(|_| format!("'{text}' is not a number of seconds"))?;
    if !(0.1..=3600.0).contains(&seconds) {
        return Err(format!("{seconds} is outside 0.1 to 3600 seconds"));
    }
    Ok(seconds)
}

/// The exit status of a completed run's result (the table in [`EXIT_STATUS_HELP`]).
pub fn exit_status(result: Option<ExecutionResult>) -> Result<u8> {
    Ok(match result {
        Some(ExecutionResult::Passed) => 0,
        Some(ExecutionResult::Failed) => 3,
        Some(ExecutionResult::Errored) => 4,
        Some(ExecutionResult::Stopped) => 5,
        Some(ExecutionResult::Warned) => 6,
        Some(ExecutionResult::Skipped) => 7,
        Some(ExecutionResult::Pending) | None => bail!("the run completed without a result"),
    })
}

/// One poll: the answers as sent (for JSON) and their typed reading (for everything else).
struct Snapshot {
    run_json: Value,
    jobs_json: Vec<Value>,
    run: Run,
    jobs: Vec<Job>,
}

async fn poll(client: &Client, run_arn: &str) -> Result<Snapshot> {
    let mut answer = client.call(Operation::GetRun, &json!({ "arn": run_arn })).await?;
    let run_json = answer.get_mut("run").map(Value::take).context("GetRun answered without a run")?;
    let jobs_json = client.list_all(Operation::ListJobs, json!({ "arn": run_arn }), "jobs").await?;
    let run = serde_json::from_value(run_json.clone()).context("reading GetRun's run")?;
    let jobs = jobs_json
        .iter()
        .map(|j| serde_json::from_value(j.clone()).context("reading a job of ListJobs"))
        .collect::<Result<_>>()?;
    Ok(Snapshot { run_json, jobs_json, run, jobs })
}

/// What counts as a change: a status, result or counter of the run or of a job (device
/// minutes grow by themselves while a job runs and are not one).
type Progress = (Option<ExecutionStatus>, Option<ExecutionResult>, Option<Counters>);

fn progress_of_run(run: &Run) -> Progress {
    (run.status, run.result, run.counters.clone())
}

fn progress_of_job(job: &Job) -> Progress {
    (job.status, job.result, job.counters.clone())
}

fn status_str(status: Option<ExecutionStatus>) -> &'static str {
    status.map_or("-", ExecutionStatus::as_str)
}

fn result_str(result: Option<ExecutionResult>) -> &'static str {
    result.map_or("-", ExecutionResult::as_str)
}

fn device_name(job: &Job) -> &str {
    job.device.as_ref().and_then(|d| d.name.as_deref()).or(job.name.as_deref()).unwrap_or("?")
}

fn minutes(job: &Job) -> f64 {
    job.device_minutes.as_ref().and_then(|m| m.total).unwrap_or(0.0)
}

/// The run's counters in words: "4/12 tests: 3 passed, 1 failed".
fn counters_summary(counters: Option<&Counters>) -> String {
    let (done, total) = tests_done(counters);
    let mut parts = Vec::new();
    if let Some(c) = counters {
        for (name, n) in [
            ("passed", c.passed),
            ("failed", c.failed),
            ("errored", c.errored),
            ("warned", c.warned),
            ("stopped", c.stopped),
            ("skipped", c.skipped),
        ] {
            if let Some(n) = n.filter(|n| *n > 0) {
                parts.push(format!("{n} {name}"));
            }
        }
    }
    if parts.is_empty() {
        format!("{done}/{total} tests")
    } else {
        format!("{done}/{total} tests: {}", parts.join(", "))
    }
}

fn run_header(run: &Run, jobs: usize) -> String {
    format!(
        "run {}: {} {}, {}/{} jobs completed, {}",
        run.name.as_deref().unwrap_or("?"),
        status_str(run.status),
        result_str(run.result),
        run.completed_jobs.unwrap_or(0),
        run.total_jobs.map_or(jobs, |n| n as usize),
        counters_summary(run.counters.as_ref())
    )
}

/// A terminal's size, in character cells.
#[derive(Debug, Clone, Copy)]
struct Size {
    columns: usize,
    rows: usize,
}

impl Size {
    /// Stdout's terminal, read again before each redraw (it may have been resized); 80x24
    /// when the terminal does not say.
    fn of_stdout() -> Self {
        match terminal_size::terminal_size_of(std::io::stdout()) {
            Some((terminal_size::Width(w), terminal_size::Height(h))) if w > 0 && h > 0 => {
                Self { columns: w.into(), rows: h.into() }
            }
            _ => Self { columns: 80, rows: 24 },
        }
    }
}

const BAR_WIDE: usize = 20;
const BAR_NARROW: usize = 10;
const DEVICE_WIDE: usize = 28;
const DEVICE_NARROW: usize = 12;

/// The columns a row takes after the device's: status (as wide as PENDING_CONCURRENCY),
/// result, the bar, tests, minutes, and a space before each.
fn columns_after_device(bar: usize) -> usize {
    5 + 19 + 8 + bar + 9 + 8
}

fn progress_bar(done: i32, total: i32, width: usize) -> String {
    let filled = if total > 0 { (done.clamp(0, total) as usize * width) / total as usize } else { 0 };
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

/// `text` cut to `width` terminal columns (a wide character takes two), with control
/// characters shown as `?`: a line drawn must take exactly one terminal line, or the redraw
/// would move back over too few.
fn fit(text: &str, width: usize) -> String {
    let text: String = text.chars().map(|c| if c.is_control() { '?' } else { c }).collect();
    if text.width() <= width {
        return text;
    }
    let mut cut = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        used += w;
        cut.push(c);
    }
    cut.push('…');
    cut
}

/// `text` fitted to `width` columns and padded to them.
fn cell(text: &str, width: usize) -> String {
    let fitted = fit(text, width);
    let pad = width.saturating_sub(fitted.width());
    format!("{fitted}{}", " ".repeat(pad))
}

/// The live table for a terminal of `size`: the run's header, the column names, then a row
/// per job, every line narrower than the terminal and all of them, with the cursor's line
/// after them, within its height, so that a redraw neither wraps nor scrolls.
fn table(run: &Run, jobs: &[Job], size: Size) -> Vec<String> {
    // One column left free: a terminal without the "eat newline" quirk wraps a line that
    // fills the last column at once, which would add a line.
    let width = size.columns.saturating_sub(1).max(1);
    // The device column shrinks first, then the bar; past that the lines are cut.
    let bar = if width >= DEVICE_WIDE + columns_after_device(BAR_WIDE) { BAR_WIDE } else { BAR_NARROW };
    let device = width.saturating_sub(columns_after_device(bar)).clamp(DEVICE_NARROW, DEVICE_WIDE);
    let mut lines = vec![run_header(run, jobs.len())];
    lines.push(format!(
        "{} {:<19} {:<8} {} {:>9} {:>8}",
        cell("DEVICE", device),
        "STATUS",
        "RESULT",
        cell("PROGRESS", bar),
        "TESTS",
        "MINUTES"
    ));
    let room = size.rows.saturating_sub(1 + lines.len()).max(1);
    let shown = if jobs.len() > room { room - 1 } else { jobs.len() };
    for job in &jobs[..shown] {
        let (done, total) = tests_done(job.counters.as_ref());
        lines.push(format!(
            "{} {:<19} {:<8} {} {:>9} {:>8.2}",
            cell(device_name(job), device),
            status_str(job.status),
            result_str(job.result),
            progress_bar(done, total, bar),
            format!("{done}/{total}"),
            minutes(job)
        ));
    }
    if shown < jobs.len() {
        lines.push(format!("… and {} more jobs", jobs.len() - shown));
    }
    lines.iter().map(|line| fit(line, width)).collect()
}

/// A job's change as one log line.
fn job_line(job: &Job) -> String {
    let (done, total) = tests_done(job.counters.as_ref());
    format!(
        "job {}: {} {}, {done}/{total} tests, {:.2} min",
        device_name(job),
        status_str(job.status),
        result_str(job.result),
        minutes(job)
    )
}

enum Mode {
    /// Redrawn in place; remembers how many lines to move back over.
    Live {
        drawn: usize,
    },
    /// A line per change; remembers what was last said of the run and of each job.
    Lines {
        run: Option<Progress>,
        jobs: Vec<Option<Progress>>,
    },
    Json {
        last: Option<(Progress, Vec<Progress>)>,
    },
}

struct Screen {
    mode: Mode,
}

impl Screen {
    fn new(format: Format, terminal: bool) -> Self {
        let mode = match (format, terminal) {
            (Format::Json, _) => Mode::Json { last: None },
            (Format::Table, true) => Mode::Live { drawn: 0 },
            (Format::Table, false) => Mode::Lines { run: None, jobs: Vec::new() },
        };
        Self { mode }
    }

    /// Shows `s`; `size` is the terminal's, for the live table.
    fn show(&mut self, out: &mut impl Write, s: &Snapshot, size: Size) -> Result<()> {
        match &mut self.mode {
            Mode::Live { drawn } => {
                if *drawn > 0 {
                    // Up to the first line drawn last time, then clear to the end of the screen.
                    write!(out, "\x1b[{drawn}F\x1b[J")?;
                }
                let lines = table(&s.run, &s.jobs, size);
                for line in &lines {
                    writeln!(out, "{line}")?;
                }
                *drawn = lines.len();
            }
            Mode::Lines { run, jobs } => {
                jobs.resize(s.jobs.len(), None);
                for (job, said) in s.jobs.iter().zip(jobs.iter_mut()) {
                    let now = progress_of_job(job);
                    if said.as_ref() != Some(&now) {
                        writeln!(out, "{}", job_line(job))?;
                        *said = Some(now);
                    }
                }
                let now = progress_of_run(&s.run);
                if run.as_ref() != Some(&now) {
                    writeln!(out, "{}", run_header(&s.run, s.jobs.len()))?;
                    *run = Some(now);
                }
            }
            Mode::Json { last } => {
                let now = (progress_of_run(&s.run), s.jobs.iter().map(progress_of_job).collect());
                if last.as_ref() != Some(&now) {
                    let object = json!({ "run": s.run_json, "jobs": s.jobs_json });
                    writeln!(out, "{}", serde_json::to_string(&object)?)?;
                    *last = Some(now);
                }
            }
        }
        out.flush()?;
        Ok(())
    }
}

pub async fn run(args: WatchArgs) -> Result<ExitCode> {
    let arn = arn_of_kind(&args.run_arn, ResourceKind::Run, "RUN_ARN")?;
    // Retrying is safe: GetRun and ListJobs change nothing.
    let client = Client::from_env(args.endpoint_url, Some(&arn.region))?.retrying(RETRIES);
    let mut screen = Screen::new(args.output, std::io::stdout().is_terminal());
    let interval = Duration::from_secs_f64(args.interval_seconds);
    loop {
        let snapshot = poll(&client, &args.run_arn).await?;
        screen.show(&mut std::io::stdout().lock(), &snapshot, Size::of_stdout())?;
        if snapshot.run.status == Some(ExecutionStatus::Completed) {
            return Ok(ExitCode::from(exit_status(snapshot.run.result)?));
        }
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::model::{Device, DeviceMinutes};

    fn counters(total: i32, passed: i32, failed: i32) -> Counters {
        Counters { total: Some(total), passed: Some(passed), failed: Some(failed), ..Counters::default() }
    }

    fn job(name: &str, status: ExecutionStatus, result: ExecutionResult, c: Counters) -> Job {
        Job {
            name: Some(name.into()),
            device: Some(Device { name: Some(name.into()), ..Device::default() }),
            status: Some(status),
            result: Some(result),
            counters: Some(c),
            device_minutes: Some(DeviceMinutes { total: Some(1.5), ..DeviceMinutes::default() }),
            ..Job::default()
        }
    }

    fn snapshot(status: ExecutionStatus, result: ExecutionResult, jobs: Vec<Job>) -> Snapshot {
        let run = Run {
            name: Some("nightly".into()),
            status: Some(status),
            result: Some(result),
            total_jobs: Some(jobs.len() as i32),
            ..Run::default()
        };
        Snapshot {
            run_json: serde_json::to_value(&run).expect("json"),
            jobs_json: jobs.iter().map(|j| serde_json::to_value(j).expect("json")).collect(),
            run,
            jobs,
        }
    }

    const WIDE: Size = Size { columns: 120, rows: 40 };

    fn shown(screen: &mut Screen, s: &Snapshot) -> String {
        shown_on(screen, s, WIDE)
    }

    fn shown_on(screen: &mut Screen, s: &Snapshot, size: Size) -> String {
        let mut out = Vec::new();
        screen.show(&mut out, s, size).expect("shown");
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn every_result_has_its_own_exit_status() {
        let codes: Vec<u8> = [
            ExecutionResult::Passed,
            ExecutionResult::Failed,
            ExecutionResult::Errored,
            ExecutionResult::Stopped,
            ExecutionResult::Warned,
            ExecutionResult::Skipped,
        ]
        .into_iter()
        .map(|r| exit_status(Some(r)).expect("a final result"))
        .collect();
        assert_eq!(codes, [0, 3, 4, 5, 6, 7]);
        assert!(exit_status(Some(ExecutionResult::Pending)).is_err());
        assert!(exit_status(None).is_err());
        assert!(EXIT_STATUS_HELP.contains(&format!("retried {RETRIES} times")), "the help says what the code does");
    }

    #[test]
    fn progress_counts_tests_with_a_result() {
        let c = Counters { total: Some(5), passed: Some(1), failed: Some(1), stopped: Some(1), ..Counters::default() };
        assert_eq!(progress_bar(3, 5, 20), format!("{}{}", "█".repeat(12), "░".repeat(8)));
        assert_eq!(progress_bar(0, 0, 10), "░".repeat(10));
        assert_eq!(counters_summary(Some(&c)), "3/5 tests: 1 passed, 1 failed, 1 stopped");
    }

    #[test]
    fn lines_are_printed_only_for_what_changed() {
        let mut screen = Screen::new(Format::Table, false);
        let running = snapshot(
            ExecutionStatus::Running,
            ExecutionResult::Pending,
            vec![
                job("Pixel", ExecutionStatus::Running, ExecutionResult::Pending, counters(4, 1, 0)),
                job("iPhone", ExecutionStatus::Pending, ExecutionResult::Pending, counters(4, 0, 0)),
            ],
        );
        let first = shown(&mut screen, &running);
        assert_eq!(
            first.lines().collect::<Vec<_>>(),
            [
                "job Pixel: RUNNING PENDING, 1/4 tests, 1.50 min",
                "job iPhone: PENDING PENDING, 0/4 tests, 1.50 min",
                "run nightly: RUNNING PENDING, 0/2 jobs completed, 0/0 tests",
            ]
        );
        assert_eq!(shown(&mut screen, &running), "", "nothing changed");
        let mut later = snapshot(ExecutionStatus::Running, ExecutionResult::Pending, running.jobs.clone());
        later.jobs[1] = job("iPhone", ExecutionStatus::Running, ExecutionResult::Pending, counters(4, 0, 1));
        assert_eq!(shown(&mut screen, &later), "job iPhone: RUNNING PENDING, 1/4 tests, 1.50 min\n");
        assert!(!first.contains('\x1b'), "no ANSI outside a terminal");
    }

    #[test]
    fn the_live_table_is_redrawn_over_itself() {
        let mut screen = Screen::new(Format::Table, true);
        let s = snapshot(
            ExecutionStatus::Running,
            ExecutionResult::Pending,
            vec![job(
                "A device with a name far too long for its column",
                ExecutionStatus::Running,
                ExecutionResult::Pending,
                counters(2, 1, 0),
            )],
        );
        let first = shown(&mut screen, &s);
        assert!(!first.contains('\x1b'), "nothing to move over the first time");
        let rows: Vec<&str> = first.lines().collect();
        assert_eq!(rows.len(), 3);
        assert!(rows[2].starts_with("A device with a name far to… RUNNING"), "{}", rows[2]);
        assert!(rows[2].contains(&format!("{}{}", "█".repeat(10), "░".repeat(10))), "{}", rows[2]);
        let second = shown(&mut screen, &s);
        assert!(second.starts_with("\x1b[3F\x1b[J"), "{second:?}");
    }

    fn many_jobs(n: usize) -> Snapshot {
        let jobs = (0..n)
            .map(|i| {
                job(
                    &format!("Device {i} with a long model name"),
                    ExecutionStatus::PendingConcurrency,
                    ExecutionResult::Pending,
                    counters(1000, 10, 990),
                )
            })
            .collect();
        let mut s = snapshot(ExecutionStatus::Running, ExecutionResult::Pending, jobs);
        s.run.name = Some("a nightly regression run with a name as long as people give them".into());
        s.run.counters = Some(counters(1000, 500, 400));
        s
    }

    #[test]
    fn every_line_fits_an_80_column_terminal() {
        let s = many_jobs(2);
        let lines = table(&s.run, &s.jobs, Size { columns: 80, rows: 24 });
        assert_eq!(lines.len(), 4);
        for line in &lines {
            assert!(line.width() < 80, "{} columns: {line}", line.width());
        }
        assert!(lines[0].ends_with('…'), "the run's header is cut: {}", lines[0]);
        // The device column and the bar shrank, so a row keeps every column.
        assert!(lines[2].starts_with("Device 0 with a lon… PENDING_CONCURRENCY PENDING  █"), "{}", lines[2]);
        assert!(lines[2].ends_with("1000/1000     1.50"), "{}", lines[2]);
        let wide = table(&s.run, &s.jobs, Size { columns: 200, rows: 24 });
        assert!(wide[2].starts_with("Device 0 with a long model … PENDING_CONCURRENCY"), "{}", wide[2]);
        assert_eq!(wide[2].width(), DEVICE_WIDE + columns_after_device(BAR_WIDE));
        let tiny = table(&s.run, &s.jobs, Size { columns: 30, rows: 24 });
        assert!(tiny.iter().all(|line| line.width() < 30), "{tiny:#?}");
    }

    #[test]
    fn the_table_never_outgrows_the_terminal_height() {
        let s = many_jobs(30);
        let lines = table(&s.run, &s.jobs, Size { columns: 80, rows: 24 });
        assert_eq!(lines.len(), 23, "with the cursor's line, the screen's 24");
        assert_eq!(lines[22], "… and 10 more jobs");
        assert!(lines[21].starts_with("Device 19 "), "{}", lines[21]);
        assert_eq!(table(&s.run, &s.jobs[..21], Size { columns: 80, rows: 24 }).len(), 23, "21 jobs just fit");
        let mut screen = Screen::new(Format::Table, true);
        shown_on(&mut screen, &s, Size { columns: 80, rows: 24 });
        assert!(shown_on(&mut screen, &s, Size { columns: 80, rows: 24 }).starts_with("\x1b[23F\x1b[J"));
    }

    #[test]
    fn names_are_cut_by_the_columns_they_take() {
        assert_eq!(fit("Pixel", 5), "Pixel");
        assert_eq!(fit("Pixel 8 Pro", 6), "Pixel…");
        // Each of these takes two columns.
        assert_eq!(fit("华为手机测试", 6), "华为…");
        assert_eq!(cell("华为", 6), "华为  ");
        assert_eq!(fit("two\nlines\x1b[2J", 40), "two?lines?[2J");
    }

    #[test]
    fn json_lines_carry_the_answers_as_sent() {
        let mut screen = Screen::new(Format::Json, false);
        let mut s = snapshot(
            ExecutionStatus::Completed,
            ExecutionResult::Passed,
            vec![job("Pixel", ExecutionStatus::Completed, ExecutionResult::Passed, counters(1, 1, 0))],
        );
        s.run_json["extra"] = json!("kept");
        let line = shown(&mut screen, &s);
        let parsed: Value = serde_json::from_str(line.trim_end()).expect("one JSON line");
        assert_eq!(parsed["run"], s.run_json);
        assert_eq!(parsed["jobs"], Value::Array(s.jobs_json.clone()));
        assert_eq!(shown(&mut screen, &s), "", "one object per change");
    }

    #[test]
    fn intervals_are_checked() {
        assert_eq!(parse_interval("0.5"), Ok(0.5));
        assert!(parse_interval("0").is_err());
        assert!(parse_interval("soon").is_err());
        assert!(parse_interval("NaN").is_err());
    }
}
