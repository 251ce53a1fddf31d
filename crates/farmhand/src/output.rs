//! `--output`: how a command prints what it found — a table for people, JSON for scripts.

use anyhow::Result;
use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns with a header line.
    Table,
    /// JSON (camelCase keys, as the Device Farm API names things).
    Json,
}

/// Prints `value` as one JSON document followed by a newline.
pub fn print_json(value: &serde_json::Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// An instant in milliseconds as RFC 3339, the form every table and JSON output uses.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339()
}

#[cfg(test)]
mod tests {
    /// `--output json` reprints the service's numbers; serde_json's default parser may be
    /// off by an ulp (1.0666666666666667 read back as …669), which `float_roundtrip` fixes.
    #[test]
    fn numbers_are_reprinted_as_received() {
        for text in ["1.0666666666666667", "0.016666666666666666", "1764000000.123"] {
            let v: serde_json::Value = serde_json::from_str(text).expect("a number");
            assert_eq!(v.to_string(), text);
        }
    }
}
