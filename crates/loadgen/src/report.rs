//! Plain-text tables and the list of targets, each marked PASS or MISS. A missed target is
//! reported, never turned into a failing exit code: the machine's noise is not a regression.

use crate::load::Stats;

pub struct Table {
    title: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(title: impl Into<String>, header: &[&str]) -> Table {
        Table { title: title.into(), header: header.iter().map(|h| h.to_string()).collect(), rows: Vec::new() }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn print(&self) {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(String::len).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.len());
            }
        }
        println!("\n{}", self.title);
        let line = |cells: &[String]| {
            let text: Vec<String> = cells
                .iter()
                .enumerate()
                .map(
                    |(i, c)| if i == 0 { format!("{c:<w$}", w = widths[i]) } else { format!("{c:>w$}", w = widths[i]) },
                )
                .collect();
            println!("  {}", text.join("  ").trim_end());
        };
        line(&self.header);
        for row in &self.rows {
            line(row);
        }
    }
}

/// The cells every load row shares: req/s, p50, p99, and failures if any.
pub fn load_cells(stats: &Stats) -> Vec<String> {
    vec![
        format!("{:.0}", stats.per_second()),
        format!("{:.2}", stats.percentile_ms(50.0)),
        format!("{:.2}", stats.percentile_ms(99.0)),
        if stats.failures == 0 {
            "0".to_string()
        } else {
            format!("{} ({})", stats.failures, stats.first_failure.clone().unwrap_or_default())
        },
    ]
}

pub fn ratio(value: f64, baseline: f64) -> String {
    if baseline <= 0.0 {
        "-".to_string()
    } else {
        format!("{:.2}x", value / baseline)
    }
}

pub struct Target {
    pub what: String,
    pub goal: String,
    pub measured: String,
    pub pass: bool,
}

#[derive(Default)]
pub struct Targets(Vec<Target>);

impl Targets {
    pub fn add(&mut self, what: impl Into<String>, goal: impl Into<String>, measured: impl Into<String>, pass: bool) {
        self.0.push(Target { what: what.into(), goal: goal.into(), measured: measured.into(), pass });
    }

    pub fn print(&self) {
        let mut table =
            Table::new("Targets (reported, never failing the run)", &["target", "goal", "measured", "verdict"]);
        for t in &self.0 {
            table.row(vec![
                t.what.clone(),
                t.goal.clone(),
                t.measured.clone(),
                if t.pass { "PASS" } else { "MISS" }.to_string(),
            ]);
        }
        table.print();
        let missed = self.0.iter().filter(|t| !t.pass).count();
        println!("\n{} of {} targets reached", self.0.len() - missed, self.0.len());
    }
}
