//! ARCHITECTURE.md and docs/decisions.md are maps: a path either names must exist, or the
//! map has drifted from the code. Backticked paths count: ARCHITECTURE.md's from the
//! repository root (`crates/…`, `tests/…`, `scripts/…`, `fuzz/…`, `docs/…`),
//! docs/decisions.md's from `crates/` (`server/src/…`).

use std::path::{Path, PathBuf};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `…` span whose text starts with one of `roots` and looks like a path.
fn backticked_paths<'a>(text: &'a str, roots: &[&str]) -> Vec<&'a str> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| roots.iter().any(|r| span.starts_with(r)))
        .filter(|span| span.chars().all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c)))
        .collect()
}

fn missing(doc: &str, base: &Path, roots: &[&str]) -> Vec<String> {
    let text = std::fs::read_to_string(repository().join(doc)).expect("read the document");
    let paths = backticked_paths(&text, roots);
    assert!(!paths.is_empty(), "{doc} names no paths: the pattern no longer matches how it cites them");
    paths.into_iter().filter(|p| !base.join(p.trim_end_matches('/')).exists()).map(str::to_owned).collect()
}

#[test]
fn every_path_architecture_md_names_exists() {
    let gone = missing("ARCHITECTURE.md", &repository(), &["crates/", "tests/", "scripts/", "fuzz/", "docs/"]);
    assert!(gone.is_empty(), "ARCHITECTURE.md names paths that do not exist: {gone:?}");
}

#[test]
fn every_path_the_decisions_name_exists() {
    let roots = ["domain/", "protocol/", "store/", "host/", "engine/", "server/", "farmhand/"];
    let gone = missing("docs/decisions.md", &repository().join("crates"), &roots);
    assert!(gone.is_empty(), "docs/decisions.md names paths that do not exist: {gone:?}");
}

#[test]
fn architecture_md_stays_a_short_map() {
    let size = std::fs::metadata(repository().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md").len();
    assert!(size <= 12_000, "ARCHITECTURE.md is {size} bytes; the map is meant to be at most 12,000");
}

#[test]
fn a_missing_path_is_found() {
    let spans = backticked_paths("see `crates/nowhere/x.rs` and `crates/domain` and `not a path`", &["crates/"]);
    assert_eq!(spans, ["crates/nowhere/x.rs", "crates/domain"]);
    assert!(!repository().join(spans[0]).exists());
}
