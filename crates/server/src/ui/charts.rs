//! A job's samples drawn as SVG line charts on the server (no script library): one chart
//! per series, the value axis from zero to the series' maximum, time from the first point.

use engine::samples::{SampleKind, Series};
use maud::{html, Markup};
use std::fmt::Write as _;

const WIDTH: f64 = 480.0;
const HEIGHT: f64 = 120.0;

/// The polyline's points in the chart's coordinates (y grows downward in SVG).
fn polyline(series: &Series, max: f64) -> String {
    let (Some(first), Some(last)) = (series.points.first(), series.points.last()) else { return String::new() };
    let span = (last.0 - first.0).max(1) as f64;
    let mut out = String::new();
    for (at, value) in &series.points {
        let x = (at - first.0) as f64 / span * WIDTH;
        let y = HEIGHT - value / max * HEIGHT;
        let _ = write!(out, "{x:.1},{y:.1} ");
    }
    out.trim_end().to_string()
}

fn figure(value: f64) -> String {
    if value >= 10_000.0 {
        format!("{:.0}", value)
    } else {
        format!("{:.1}", value)
    }
}

pub fn chart(kind: SampleKind, series: &Series) -> Markup {
    let max = series.points.iter().map(|(_, v)| *v).fold(0.0, f64::max);
    let scale = if max > 0.0 { max } else { 1.0 };
    let seconds = match (series.points.first(), series.points.last()) {
        (Some(a), Some(b)) => (b.0 - a.0) / 1000,
        _ => 0,
    };
    let label = format!("{} ({}), max {}, over {} s", kind.as_str(), kind.unit(), figure(max), seconds);
    html! {
        figure.sample data-type=(kind.as_str()) {
            svg viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } width=(WIDTH) height=(HEIGHT) role="img" aria-label=(label) {
                rect x="0" y="0" width=(WIDTH) height=(HEIGHT) fill="none" stroke="currentColor" stroke-opacity="0.2" {}
                polyline fill="none" stroke="currentColor" stroke-width="1.5" points=(polyline(series, scale)) {}
            }
            figcaption { (label) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_span_the_width_and_the_maximum_touches_the_top() {
        let series = Series { points: vec![(1_000, 0.0), (2_000, 50.0), (3_000, 25.0)] };
        assert_eq!(polyline(&series, 50.0), "0.0,120.0 240.0,0.0 480.0,60.0");
        let svg = chart(SampleKind::Cpu, &series).into_string();
        assert!(svg.contains("CPU (%), max 50.0, over 2 s"), "{svg}");
        assert!(chart(SampleKind::Rx, &Series::default()).into_string().contains("points=\"\""));
    }
}
