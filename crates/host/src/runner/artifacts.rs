//! The job's artifact zips, made after teardown: the spec's `artifacts` paths as
//! `customer-artifacts.zip` (CUSTOMER_ARTIFACT) and DEVICEFARM_LOG_DIR as
//! `customer-artifacts-log.zip` (CUSTOMER_ARTIFACT_LOG).
//!
//! Paths may use the job's variables (`$DEVICEFARM_LOG_DIR`, `${NAME}`); relative ones
//! start at the work directory. Anything that resolves outside it (`../x`, an absolute
//! path elsewhere, a symbolic link pointing out) is skipped with its reason, as is
//! anything that is not a regular file or directory; links inside a collected directory
//! are not followed, and reading a FIFO, which would block forever, is never attempted.
//! One bad path does not cost the others.

use std::collections::HashSet;
use std::fmt;
use std::fs::{self, File};
use std::io;
use std::path::{Component, Path, PathBuf};

use thiserror::Error;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::env::JobEnv;

pub const CUSTOMER_ARTIFACTS_ZIP: &str = "customer-artifacts.zip";
pub const CUSTOMER_ARTIFACTS_LOG_ZIP: &str = "customer-artifacts-log.zip";

/// The zips made, and what was left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArtifactsReport {
    /// The spec's artifacts; None when none of its paths held a file.
    pub customer_artifacts: Option<PathBuf>,
    /// DEVICEFARM_LOG_DIR; None when the directory held no file.
    pub customer_artifacts_log: Option<PathBuf>,
    pub skipped: Vec<SkippedArtifact>,
}

/// A path (as written in the spec, or found inside a collected directory) left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedArtifact {
    pub path: String,
    pub reason: SkipReason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    UnknownVariable(String),
    OutsideWorkDirectory,
    NotFound,
    SymbolicLink,
    NotRegularFile,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::UnknownVariable(name) => write!(f, "variable {name} is not set"),
            SkipReason::OutsideWorkDirectory => f.write_str("it is outside the job's work directory"),
            SkipReason::NotFound => f.write_str("it does not exist"),
            SkipReason::SymbolicLink => f.write_str("symbolic links are not followed"),
            SkipReason::NotRegularFile => f.write_str("it is not a regular file or directory"),
        }
    }
}

#[derive(Debug, Error)]
pub enum ArtifactError {
    #[error("could not read or write {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("could not write {path}: {source}")]
    Zip { path: PathBuf, source: zip::result::ZipError },
}

/// Where artifacts come from and go to.
#[derive(Debug, Clone)]
pub struct ArtifactSources {
    /// The work directory (canonical): relative paths start here, nothing may leave it.
    pub root: PathBuf,
    pub log_dir: PathBuf,
    /// Where the zips are written (outside `root`).
    pub output_dir: PathBuf,
}

/// Zips the spec's `paths` and the log directory.
pub fn collect_artifacts(
    sources: &ArtifactSources,
    paths: &[String],
    env: &JobEnv,
) -> Result<ArtifactsReport, ArtifactError> {
    let mut report = ArtifactsReport::default();

    let mut zip = LazyZip::new(sources.output_dir.join(CUSTOMER_ARTIFACTS_ZIP))?;
    for raw in paths {
        match resolve(&sources.root, raw, env) {
            Ok(path) => add_tree(&mut zip, &sources.root, &path, &mut report.skipped)?,
            Err(reason) => report.skipped.push(SkippedArtifact { path: raw.clone(), reason }),
        }
    }
    report.customer_artifacts = zip.finish()?;

    let mut zip = LazyZip::new(sources.output_dir.join(CUSTOMER_ARTIFACTS_LOG_ZIP))?;
    if sources.log_dir.is_dir() {
        add_tree(&mut zip, &sources.log_dir, &sources.log_dir, &mut report.skipped)?;
    }
    report.customer_artifacts_log = zip.finish()?;
    Ok(report)
}

/// The real path `raw` names, if it may be collected.
fn resolve(root: &Path, raw: &str, env: &JobEnv) -> Result<PathBuf, SkipReason> {
    let expanded = shellexpand::env_with_context(raw, |name| match env.get(name) {
        Some(value) => Ok(Some(value)),
        None => Err(()),
    })
    .map_err(|e| SkipReason::UnknownVariable(e.var_name))?;
    // Lexically first: `../x` is refused whether or not it exists.
    let lexical = normalize(&root.join(expanded.as_ref()));
    if !lexical.as_deref().is_some_and(|p| p.starts_with(root)) {
        return Err(SkipReason::OutsideWorkDirectory);
    }
    let real = fs::canonicalize(lexical.unwrap_or_default()).map_err(|_| SkipReason::NotFound)?;
    // Then for real: a link inside the work directory may point anywhere.
    if !real.starts_with(root) {
        return Err(SkipReason::OutsideWorkDirectory);
    }
    Ok(real)
}

/// `path` with `.` and `..` resolved by text alone; None if `..` climbs above `/`.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Some(out)
}

/// Adds `path` (a file, or a directory and everything below) under its name relative to
/// `base`.
fn add_tree(
    zip: &mut LazyZip,
    base: &Path,
    path: &Path,
    skipped: &mut Vec<SkippedArtifact>,
) -> Result<(), ArtifactError> {
    let meta = fs::symlink_metadata(path).map_err(|e| io_error(path, e))?;
    let name = entry_name(base, path);
    let skip = |reason| SkippedArtifact { path: path.to_string_lossy().into_owned(), reason };
    if meta.is_symlink() {
        skipped.push(skip(SkipReason::SymbolicLink));
    } else if meta.is_dir() {
        if !name.is_empty() {
            zip.add_dir(&name)?;
        }
        let mut children: Vec<PathBuf> = fs::read_dir(path)
            .map_err(|e| io_error(path, e))?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(|e| io_error(path, e))?;
        children.sort();
        for child in children {
            add_tree(zip, base, &child, skipped)?;
        }
    } else if meta.is_file() {
        zip.add_file(&name, path, &meta)?;
    } else {
        skipped.push(skip(SkipReason::NotRegularFile));
    }
    Ok(())
}

/// `path` relative to `base`, with `/` separators as zip requires.
fn entry_name(base: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(base).unwrap_or(path);
    relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// A zip written only once it gets its first file, so "no artifacts" leaves no empty zip.
struct LazyZip {
    path: PathBuf,
    writer: Option<ZipWriter<File>>,
    names: HashSet<String>,
    files: usize,
}

impl LazyZip {
    fn new(path: PathBuf) -> Result<LazyZip, ArtifactError> {
        // A zip of an earlier attempt must not pass for this one's.
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_error(&path, e)),
            _ => {}
        }
        Ok(LazyZip { path, writer: None, names: HashSet::new(), files: 0 })
    }

    fn writer(&mut self) -> Result<&mut ZipWriter<File>, ArtifactError> {
        let writer = match self.writer.take() {
            Some(writer) => writer,
            None => ZipWriter::new(File::create(&self.path).map_err(|e| io_error(&self.path, e))?),
        };
        Ok(self.writer.insert(writer))
    }

    fn add_dir(&mut self, name: &str) -> Result<(), ArtifactError> {
        let name = format!("{name}/");
        if !self.names.insert(name.clone()) {
            return Ok(());
        }
        let path = self.path.clone();
        self.writer()?
            .add_directory(name, SimpleFileOptions::default())
            .map_err(|source| ArtifactError::Zip { path, source })
    }

    /// Adds a file, once: two spec paths may cover the same file.
    fn add_file(&mut self, name: &str, source: &Path, meta: &fs::Metadata) -> Result<(), ArtifactError> {
        use std::os::unix::fs::PermissionsExt;
        if !self.names.insert(name.to_owned()) {
            return Ok(());
        }
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .unix_permissions(meta.permissions().mode() & 0o777)
            .large_file(meta.len() >= u64::from(u32::MAX));
        let mut input = File::open(source).map_err(|e| io_error(source, e))?;
        let path = self.path.clone();
        let writer = self.writer()?;
        writer.start_file(name, options).map_err(|source| ArtifactError::Zip { path: path.clone(), source })?;
        io::copy(&mut input, writer).map_err(|e| io_error(source, e))?;
        self.files += 1;
        Ok(())
    }

    fn finish(self) -> Result<Option<PathBuf>, ArtifactError> {
        let Some(writer) = self.writer else {
            return Ok(None);
        };
        writer.finish().map_err(|source| ArtifactError::Zip { path: self.path.clone(), source })?;
        if self.files == 0 {
            // Only empty directories: nothing worth an artifact.
            fs::remove_file(&self.path).map_err(|e| io_error(&self.path, e))?;
            return Ok(None);
        }
        Ok(Some(self.path))
    }
}

fn io_error(path: &Path, source: io::Error) -> ArtifactError {
    ArtifactError::Io { path: path.to_path_buf(), source }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    struct Fixture {
        _tmp: tempfile::TempDir,
        sources: ArtifactSources,
        env: JobEnv,
    }

    fn fixture() -> Fixture {
        let tmp = tempfile::tempdir().expect("tempdir");
        let base = fs::canonicalize(tmp.path()).expect("canonical");
        let root = base.join("work");
        let log_dir = root.join("logs");
        let output_dir = base.join("out");
        for dir in [&log_dir, &output_dir, &root.join("results/sub")] {
            fs::create_dir_all(dir).expect("mkdir");
        }
        fs::write(log_dir.join("junit.xml"), b"<testsuite/>").expect("write");
        fs::write(root.join("results/a.txt"), b"a").expect("write");
        fs::write(root.join("results/sub/b.txt"), b"b").expect("write");
        fs::write(base.join("secret"), b"outside").expect("write");
        let mut env = JobEnv::new();
        env.set("DEVICEFARM_LOG_DIR", &log_dir.to_string_lossy()).expect("set");
        Fixture { _tmp: tmp, sources: ArtifactSources { root, log_dir, output_dir }, env }
    }

    fn entries(zip: &Path) -> Vec<(String, String)> {
        let mut archive = zip::ZipArchive::new(File::open(zip).expect("open")).expect("zip");
        let mut out = Vec::new();
        for i in 0..archive.len() {
            let mut entry = archive.by_index(i).expect("entry");
            let mut text = String::new();
            entry.read_to_string(&mut text).expect("read");
            out.push((entry.name().expect("name").into_owned(), text));
        }
        out
    }

    #[test]
    fn zips_spec_paths_and_the_log_directory() {
        let f = fixture();
        let paths = ["results".to_owned(), "$DEVICEFARM_LOG_DIR".to_owned(), "./results/a.txt".to_owned()];
        let report = collect_artifacts(&f.sources, &paths, &f.env).expect("collected");
        assert!(report.skipped.is_empty(), "{:?}", report.skipped);
        let zip = report.customer_artifacts.expect("artifacts zip");
        assert_eq!(zip, f.sources.output_dir.join(CUSTOMER_ARTIFACTS_ZIP));
        assert_eq!(
            entries(&zip),
            [
                ("results/".to_owned(), String::new()),
                ("results/a.txt".to_owned(), "a".to_owned()),
                ("results/sub/".to_owned(), String::new()),
                ("results/sub/b.txt".to_owned(), "b".to_owned()),
                ("logs/".to_owned(), String::new()),
                ("logs/junit.xml".to_owned(), "<testsuite/>".to_owned()),
            ]
        );
        let log_zip = report.customer_artifacts_log.expect("log zip");
        assert_eq!(entries(&log_zip), [("junit.xml".to_owned(), "<testsuite/>".to_owned())]);
    }

    #[test]
    fn paths_leaving_the_work_directory_are_refused() {
        let f = fixture();
        std::os::unix::fs::symlink(f.sources.root.join("../secret"), f.sources.root.join("link")).expect("symlink");
        let outside = f.sources.root.join("../secret").to_string_lossy().into_owned();
        let paths = [
            "../secret".to_owned(),
            "../does-not-exist".to_owned(),
            outside,
            "link".to_owned(),
            "results/../../secret".to_owned(),
        ];
        let report = collect_artifacts(&f.sources, &paths, &f.env).expect("collected");
        assert_eq!(report.customer_artifacts, None);
        assert!(!f.sources.output_dir.join(CUSTOMER_ARTIFACTS_ZIP).exists());
        let reasons: Vec<_> = report.skipped.iter().map(|s| &s.reason).collect();
        assert_eq!(reasons, [&SkipReason::OutsideWorkDirectory; 5]);
    }

    #[test]
    fn unknown_variables_missing_paths_and_inner_links_are_skipped() {
        let f = fixture();
        std::os::unix::fs::symlink("/etc/passwd", f.sources.root.join("results/passwd")).expect("symlink");
        let paths = ["$NOPE/x".to_owned(), "missing".to_owned(), "results".to_owned()];
        let report = collect_artifacts(&f.sources, &paths, &f.env).expect("collected");
        let reasons: Vec<_> = report.skipped.iter().map(|s| s.reason.clone()).collect();
        assert_eq!(
            reasons,
            [SkipReason::UnknownVariable("NOPE".to_owned()), SkipReason::NotFound, SkipReason::SymbolicLink]
        );
        let names: Vec<_> = entries(&report.customer_artifacts.expect("zip")).into_iter().map(|(n, _)| n).collect();
        assert!(!names.iter().any(|n| n.contains("passwd")), "{names:?}");
        assert!(names.contains(&"results/a.txt".to_owned()));
    }

    #[test]
    fn an_empty_log_directory_makes_no_zip() {
        let f = fixture();
        fs::remove_file(f.sources.log_dir.join("junit.xml")).expect("rm");
        let report = collect_artifacts(&f.sources, &[], &f.env).expect("collected");
        assert_eq!(report, ArtifactsReport::default());
    }
}
