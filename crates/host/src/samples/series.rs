//! The SampleTypes farmhand measures and the format a sample's URL downloads.
//!
//! AWS documents no format for the sample file, so ours is CSV with the header
//! `timestamp,value`: the epoch time in seconds (millisecond precision) and the value in the
//! type's unit (CPU: percent of one core; MEMORY: kB; THREADS: count; RX/TX: bytes so far;
//! RX_RATE/TX_RATE: bytes per second).

use std::fmt::Write as _;

/// The model's SampleTypes that can be measured truthfully on every driver; the frame and
/// draw-time types need a renderer's cooperation and are not offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleKind {
    Cpu,
    Memory,
    Threads,
    RxRate,
    TxRate,
    Rx,
    Tx,
}

impl SampleKind {
    /// In listing order; a sample's ARN ends with its position here.
    pub const ALL: [SampleKind; 7] = [
        SampleKind::Cpu,
        SampleKind::Memory,
        SampleKind::Threads,
        SampleKind::RxRate,
        SampleKind::TxRate,
        SampleKind::Rx,
        SampleKind::Tx,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SampleKind::Cpu => "CPU",
            SampleKind::Memory => "MEMORY",
            SampleKind::Threads => "THREADS",
            SampleKind::RxRate => "RX_RATE",
            SampleKind::TxRate => "TX_RATE",
            SampleKind::Rx => "RX",
            SampleKind::Tx => "TX",
        }
    }

    pub fn index(self) -> u32 {
        Self::ALL.iter().position(|k| *k == self).unwrap_or_default() as u32
    }

    pub fn from_index(index: u32) -> Option<SampleKind> {
        Self::ALL.get(index as usize).copied()
    }

    /// The unit a chart's axis shows.
    pub fn unit(self) -> &'static str {
        match self {
            SampleKind::Cpu => "%",
            SampleKind::Memory => "kB",
            SampleKind::Threads => "threads",
            SampleKind::RxRate | SampleKind::TxRate => "B/s",
            SampleKind::Rx | SampleKind::Tx => "B",
        }
    }
}

/// One series: `(epoch ms, value)` in time order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    pub points: Vec<(i64, f64)>,
}

impl Series {
    pub fn to_csv(&self) -> String {
        let mut out = String::from("timestamp,value\n");
        for (at, value) in &self.points {
            let _ = writeln!(out, "{}.{:03},{}", at.div_euclid(1000), at.rem_euclid(1000), round(*value));
        }
        out
    }

    pub fn parse_csv(text: &str) -> Option<Series> {
        let mut lines = text.lines();
        if lines.next()? != "timestamp,value" {
            return None;
        }
        let mut points = Vec::new();
        for line in lines.filter(|l| !l.is_empty()) {
            let (at, value) = line.split_once(',')?;
            let seconds: f64 = at.parse().ok()?;
            points.push(((seconds * 1000.0).round() as i64, value.parse().ok()?));
        }
        Some(Series { points })
    }
}

/// Two decimals: finer than any of the measured quantities are accurate to.
fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trips_and_keeps_millisecond_times() {
        let series = Series { points: vec![(1_700_000_000_250, 12.5), (1_700_000_001_250, 0.0)] };
        let csv = series.to_csv();
        assert_eq!(csv, "timestamp,value\n1700000000.250,12.5\n1700000001.250,0\n");
        assert_eq!(Series::parse_csv(&csv), Some(series));
    }

    #[test]
    fn indexes_name_the_kinds_in_order() {
        for kind in SampleKind::ALL {
            assert_eq!(SampleKind::from_index(kind.index()), Some(kind));
        }
        assert_eq!(SampleKind::from_index(7), None);
    }
}
