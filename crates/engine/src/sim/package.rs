//! Finding and reading `farmhand-sim.yaml` inside a test package zip.
//!
//! Where it is looked for, first match wins:
//! 1. at the zip root: `farmhand-sim.yaml`, or `farmhand-sim.yml`;
//! 2. otherwise, when every entry of the zip lies in one top-level directory (what
//!    "compress this folder" makes), in that directory: `<dir>/farmhand-sim.yaml` or
//!    `.yml`. macOS's `__MACOSX/` metadata entries do not count as a second directory.
//!
//! Names are matched exactly (case-sensitive), like the test frameworks treat their own
//! files. Both spellings at the same place is refused rather than guessing which one the
//! author edited last.
//!
//! The package already passed the upload's archive rules; this reads one entry only,
//! through a byte cap, and never writes anything.

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

use serde::{Deserialize, Serialize};
use zip::ZipArchive;

use super::error::ScenarioError;
use super::parse::MAX_SCENARIO_BYTES;
use super::scenario::Scenario;

const FILE_NAMES: [&str; 2] = ["farmhand-sim.yaml", "farmhand-sim.yml"];

/// Apple's archiver adds resource forks under this directory next to the real content.
const MACOS_METADATA_DIR: &str = "__MACOSX";

/// A package's scenario file as found, before parsing: small enough to keep on its own
/// (see [`super::stored`]) so that later readers need not open the package again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioSource {
    /// Its path inside the package, which errors name.
    pub file: String,
    pub text: String,
}

impl ScenarioSource {
    pub fn parse(&self) -> Result<Scenario, ScenarioError> {
        Scenario::parse(&self.text).map_err(|e| e.in_file(&self.file))
    }
}

/// The scenario a package's source (from [`read_source`]) stands for: none means the default.
pub fn scenario_of(source: Option<&ScenarioSource>) -> Result<Scenario, ScenarioError> {
    source.map_or_else(|| Ok(Scenario::default()), ScenarioSource::parse)
}

/// The scenario of the test package at `zip_path`: [`Scenario::default`] when it has no
/// scenario file, an error when the file is invalid or the package is not a zip.
pub fn read_from_package(zip_path: &Path) -> Result<Scenario, ScenarioError> {
    scenario_of(read_source(zip_path)?.as_ref())
}

/// The scenario file of the test package at `zip_path`, unparsed; `None` when it has none.
pub fn read_source(zip_path: &Path) -> Result<Option<ScenarioSource>, ScenarioError> {
    let file = File::open(zip_path).map_err(|e| ScenarioError::Package(e.to_string()))?;
    read_source_from(BufReader::new(file))
}

/// As [`read_source`], for a package already open (e.g. a copy with no name on disk).
pub fn read_source_from<R: Read + Seek>(package: R) -> Result<Option<ScenarioSource>, ScenarioError> {
    let mut zip =
        ZipArchive::new(package).map_err(|e| ScenarioError::Package(format!("not a valid zip archive ({e})")))?;
    let names: Vec<String> = zip
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<_, _>>()
        .map_err(|e| ScenarioError::Package(format!("not a valid zip archive ({e})")))?;

    let Some(file) = find_scenario(&names)? else {
        return Ok(None);
    };
    let text = read_capped(&mut zip, &file)?;
    Ok(Some(ScenarioSource { file, text }))
}

/// The entry name of the package's scenario file, if it has one.
fn find_scenario(names: &[String]) -> Result<Option<String>, ScenarioError> {
    if let Some(found) = find_in(names, "")? {
        return Ok(Some(found));
    }
    match single_top_level_dir(names) {
        Some(dir) => find_in(names, &format!("{dir}/")),
        None => Ok(None),
    }
}

fn find_in(names: &[String], prefix: &str) -> Result<Option<String>, ScenarioError> {
    let present: Vec<String> =
        FILE_NAMES.iter().map(|f| format!("{prefix}{f}")).filter(|candidate| names.contains(candidate)).collect();
    match present.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        [first, second, ..] => {
            Err(ScenarioError::invalid(None, format!("the package also holds {second}; keep only one of the two"))
                .in_file(first))
        }
    }
}

/// The one directory every entry (bar macOS metadata) sits in, if there is one.
fn single_top_level_dir(names: &[String]) -> Option<&str> {
    let mut tops = names.iter().filter_map(|name| match name.split_once('/') {
        Some((top, _)) if top == MACOS_METADATA_DIR => None,
        // A top-level file means the content is not wrapped in a directory.
        Some((top, _)) => Some(Some(top)),
        None => Some(None),
    });
    let first = tops.next()??;
    tops.all(|t| t == Some(first)).then_some(first).filter(|d| !d.is_empty())
}

fn read_capped<R: Read + Seek>(zip: &mut ZipArchive<R>, name: &str) -> Result<String, ScenarioError> {
    let invalid = |message: String| ScenarioError::invalid(None, message).in_file(name);
    let entry = zip.by_name(name).map_err(|e| invalid(format!("could not read it from the package ({e})")))?;
    if entry.is_symlink() {
        // Its content would be a link target, not YAML; following it is not on offer.
        return Err(invalid("it is a symbolic link".to_owned()));
    }
    let cap = MAX_SCENARIO_BYTES as u64;
    let mut bytes = Vec::new();
    // The declared size may lie, so the cap is on what is actually decompressed.
    entry
        .take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| invalid(format!("could not read it from the package ({e})")))?;
    if bytes.len() > MAX_SCENARIO_BYTES {
        return Err(invalid(format!("the file is larger than {MAX_SCENARIO_BYTES} bytes")));
    }
    String::from_utf8(bytes).map_err(|_| invalid("the file is not UTF-8 text".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::path::PathBuf;

    use domain::device::DevicePlatform;
    use domain::job::plan::JobPlan;
    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, ZipWriter};

    enum Entry<'a> {
        File(&'a str, &'a [u8]),
        Dir(&'a str),
        Symlink(&'a str, &'a str),
    }
    use Entry::{Dir, File as F, Symlink};

    const SCRIPT: &[u8] = b"setup_seconds: 1\ntests: [{name: scripted, seconds: 2}]\n";

    /// A zip holding `entries`, written into `dir`.
    fn package(dir: &tempfile::TempDir, entries: &[Entry<'_>]) -> PathBuf {
        let path = dir.path().join("tests.zip");
        let mut zip = ZipWriter::new(File::create(&path).expect("create zip"));
        let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        for entry in entries {
            match entry {
                F(name, bytes) => {
                    zip.start_file(*name, options).expect("start entry");
                    zip.write_all(bytes).expect("write entry");
                }
                Dir(name) => zip.add_directory(*name, options).expect("add dir"),
                Symlink(name, target) => {
                    zip.add_symlink(*name, *target, options).expect("add symlink");
                }
            }
        }
        zip.finish().expect("finish zip");
        path
    }

    fn read(entries: &[Entry<'_>]) -> Result<Scenario, ScenarioError> {
        let dir = tempfile::tempdir().expect("tempdir");
        read_from_package(&package(&dir, entries))
    }

    fn is_scripted(scenario: &Scenario) -> bool {
        let plan = scenario.plan_for("Pixel", DevicePlatform::Android);
        plan.setup_ms == 1_000 && plan.tests.len() == 1 && plan.tests[0].name == "scripted"
    }

    #[test]
    fn a_package_without_the_file_gets_the_default_scenario() {
        let scenario = read(&[F("test_app.py", b"def test(): pass\n"), Dir("lib/")]).expect("readable");
        assert_eq!(scenario, Scenario::default());
        assert_eq!(scenario.plan_for("Pixel", DevicePlatform::Android), JobPlan::default_simulation());
    }

    #[test]
    fn the_file_at_the_root_is_read_under_either_extension() {
        for name in FILE_NAMES {
            let scenario = read(&[F("test_app.py", b""), F(name, SCRIPT)]).expect(name);
            assert!(is_scripted(&scenario), "{name}: {scenario:?}");
        }
    }

    #[test]
    fn the_file_in_a_single_wrapping_directory_is_read() {
        let scenario = read(&[
            Dir("suite/"),
            F("suite/test_app.py", b""),
            F("suite/farmhand-sim.yml", SCRIPT),
            // What macOS's "Compress" adds; it must not count as a second directory.
            F("__MACOSX/suite/._farmhand-sim.yml", b"\0\x05\x16\x07"),
        ])
        .expect("readable");
        assert!(is_scripted(&scenario), "{scenario:?}");
    }

    #[test]
    fn files_elsewhere_or_differently_spelt_are_not_the_scenario() {
        let ignored: [&[Entry<'_>]; 4] = [
            // Two top-level directories: no single wrapper.
            &[F("a/farmhand-sim.yaml", SCRIPT), F("b/test.py", b"")],
            // A top-level file next to the directory.
            &[F("suite/farmhand-sim.yaml", SCRIPT), F("README", b"")],
            // Two levels down.
            &[F("suite/inner/farmhand-sim.yaml", SCRIPT)],
            // Names are case-sensitive.
            &[F("Farmhand-Sim.yaml", SCRIPT)],
        ];
        for entries in ignored {
            assert_eq!(read(entries), Ok(Scenario::default()));
        }
    }

    #[test]
    fn both_spellings_at_once_are_refused() {
        let e = read(&[F("farmhand-sim.yaml", SCRIPT), F("farmhand-sim.yml", SCRIPT)]).expect_err("ambiguous");
        assert_eq!(
            e.to_string(),
            "Invalid farmhand-sim.yaml: the package also holds farmhand-sim.yml; keep only one of the two"
        );
    }

    #[test]
    fn an_invalid_file_is_reported_with_its_path_and_line() {
        let e = read(&[F("suite/test.py", b""), F("suite/farmhand-sim.yml", b"setup_seconds: 1\nsetup: 2\n")])
            .expect_err("invalid");
        assert_eq!(e.line(), Some(2));
        assert!(e.to_string().starts_with("Invalid suite/farmhand-sim.yml: line 2: unknown field `setup`"), "{e}");
    }

    #[test]
    fn a_file_over_the_cap_is_refused_whatever_it_compresses_to() {
        // Valid YAML (a comment) that deflates to a few kilobytes.
        let mut big = b"# ".to_vec();
        big.resize(MAX_SCENARIO_BYTES + 1, b'x');
        let e = read(&[F("farmhand-sim.yaml", &big)]).expect_err("too large");
        assert!(e.to_string().contains("larger than 1048576 bytes"), "{e}");

        let mut at_cap = b"# ".to_vec();
        at_cap.resize(MAX_SCENARIO_BYTES, b'x');
        assert_eq!(read(&[F("farmhand-sim.yaml", &at_cap)]), Ok(Scenario::default()));
    }

    #[test]
    fn a_file_that_is_not_text_or_is_a_link_is_refused() {
        let e = read(&[F("farmhand-sim.yaml", b"tests: [\xff]\n")]).expect_err("binary");
        assert!(e.to_string().contains("not UTF-8"), "{e}");

        let e = read(&[Symlink("farmhand-sim.yaml", "/etc/passwd")]).expect_err("symlink");
        assert!(e.to_string().contains("symbolic link"), "{e}");
    }

    #[test]
    fn a_package_that_is_not_a_zip_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tests.zip");
        std::fs::write(&path, b"setup_seconds: 1\n").expect("write");
        let e = read_from_package(&path).expect_err("not a zip");
        assert!(matches!(e, ScenarioError::Package(_)), "{e:?}");
        assert!(e.to_string().contains("not a valid zip"), "{e}");

        let missing = read_from_package(&dir.path().join("absent.zip")).expect_err("missing");
        assert!(matches!(missing, ScenarioError::Package(_)), "{missing:?}");
    }
}
