//! A job's own directory on the host: where its package is unpacked, its app placed, its
//! commands run, and its logs and artifacts end up. Removed when the job is done.
//!
//! ```text
//! <parent>/<job id>/
//!   work/               cwd of every command; relative artifact paths start here
//!     package/          DEVICEFARM_TEST_PACKAGE_PATH (the unzipped test package)
//!     app/<file name>   DEVICEFARM_APP_PATH
//!     logs/             DEVICEFARM_LOG_DIR (zipped as the customer artifact log)
//!     screenshots/      DEVICEFARM_SCREENSHOT_PATH
//!   home/  tmp/         HOME and TMPDIR of the commands
//!   farmhand/           written by farmhand only, outside `work/`
//!     scripts/          each phase's generated shell script
//!     testspec-output/  <phase>.log and the combined testspec-output.log
//!     artifacts/        customer-artifacts.zip, customer-artifacts-log.zip
//! ```
//!
//! farmhand's own outputs sit outside `work/` so that an artifact path such as `.` cannot
//! take in the zip being written, and a command's `rm -rf ./*` does not erase the logs.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use thiserror::Error;

use crate::uploads::{extract_zip, ExtractError, InspectLimits};

/// The app to place in the workspace. `file_name` is kept because tools look at the
/// extension (`adb install` wants `.apk`), which the stored upload may not have.
#[derive(Debug, Clone, Copy)]
pub struct AppFile<'a> {
    pub source: &'a Path,
    pub file_name: &'a str,
}

#[derive(Debug, Error)]
pub enum WorkspaceError {
    #[error("job id {0:?} cannot name a directory")]
    InvalidJobId(String),
    #[error("app file name {0:?} is not a plain file name")]
    InvalidAppName(String),
    #[error("workspace path {0} is not UTF-8 text")]
    NotUtf8(PathBuf),
    #[error("workspace {0} already exists")]
    AlreadyExists(PathBuf),
    #[error("could not prepare {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("could not unpack the test package: {0}")]
    Package(#[from] ExtractError),
}

/// A created workspace. Paths are absolute and canonical.
#[derive(Debug)]
pub struct Workspace {
    dir: PathBuf,
    root: PathBuf,
    package_dir: PathBuf,
    app_path: Option<PathBuf>,
    log_dir: PathBuf,
    screenshot_dir: PathBuf,
    home_dir: PathBuf,
    tmp_dir: PathBuf,
    scripts_dir: PathBuf,
    output_dir: PathBuf,
    artifacts_dir: PathBuf,
}

impl Workspace {
    /// Makes `<parent>/<job_id>` (which must not exist yet), unpacks `package_zip` into
    /// it under `limits`, and copies the app. On error nothing is left behind.
    pub fn create(
        parent: &Path,
        job_id: &str,
        package_zip: Option<&Path>,
        app: Option<AppFile<'_>>,
        limits: &InspectLimits,
    ) -> Result<Workspace, WorkspaceError> {
        if !is_plain_name(job_id) {
            return Err(WorkspaceError::InvalidJobId(job_id.to_owned()));
        }
        if let Some(app) = app {
            if !is_plain_name(app.file_name) {
                return Err(WorkspaceError::InvalidAppName(app.file_name.to_owned()));
            }
        }
        fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
        let parent = fs::canonicalize(parent).map_err(|e| io_error(parent, e))?;
        let dir = parent.join(job_id);
        // Paths become environment variables and shell text: they must be plain text.
        if dir.to_str().is_none_or(|s| s.contains('\0')) {
            return Err(WorkspaceError::NotUtf8(dir));
        }
        // create_dir, not create_dir_all: a leftover directory of the same job is refused
        // rather than run in with whatever it holds.
        fs::create_dir(&dir).map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => WorkspaceError::AlreadyExists(dir.clone()),
            _ => io_error(&dir, e),
        })?;
        let ws = Workspace::layout(dir, app.map(|a| a.file_name));
        match ws.populate(package_zip, app, limits) {
            Ok(()) => Ok(ws),
            Err(e) => {
                let _ = ws.remove();
                Err(e)
            }
        }
    }

    fn layout(dir: PathBuf, app_name: Option<&str>) -> Workspace {
        let root = dir.join("work");
        let farmhand = dir.join("farmhand");
        Workspace {
            package_dir: root.join("package"),
            app_path: app_name.map(|name| root.join("app").join(name)),
            log_dir: root.join("logs"),
            screenshot_dir: root.join("screenshots"),
            home_dir: dir.join("home"),
            tmp_dir: dir.join("tmp"),
            scripts_dir: farmhand.join("scripts"),
            output_dir: farmhand.join("testspec-output"),
            artifacts_dir: farmhand.join("artifacts"),
            root,
            dir,
        }
    }

    fn populate(
        &self,
        package_zip: Option<&Path>,
        app: Option<AppFile<'_>>,
        limits: &InspectLimits,
    ) -> Result<(), WorkspaceError> {
        for dir in [
            &self.root,
            &self.log_dir,
            &self.screenshot_dir,
            &self.home_dir,
            &self.tmp_dir,
            &self.scripts_dir,
            &self.output_dir,
            &self.artifacts_dir,
        ] {
            fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        }
        match package_zip {
            Some(zip) => {
                extract_zip(zip, &self.package_dir, limits)?;
            }
            None => fs::create_dir(&self.package_dir).map_err(|e| io_error(&self.package_dir, e))?,
        }
        if let (Some(app), Some(target)) = (app, &self.app_path) {
            if let Some(app_dir) = target.parent() {
                fs::create_dir_all(app_dir).map_err(|e| io_error(app_dir, e))?;
            }
            // A copy, not a link: the job may modify its app, the stored upload must not change.
            fs::copy(app.source, target).map_err(|e| io_error(app.source, e))?;
        }
        Ok(())
    }

    /// Places a test package that is one file (an `.apk` or `.jar`, which AWS takes as
    /// is) in the package directory under its own name, instead of unpacking it.
    pub fn place_package_file(&self, source: &Path, file_name: &str) -> io::Result<()> {
        if !is_plain_name(file_name) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("package file name {file_name:?} is not a plain file name"),
            ));
        }
        fs::copy(source, self.package_dir.join(file_name)).map(|_| ())
    }

    /// Deletes the whole job directory, including what the commands made read-only.
    pub fn remove(self) -> io::Result<()> {
        match fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                // Tools such as Go's module cache leave read-only directories, whose
                // entries cannot be unlinked until the directory is writable again.
                make_dirs_writable(&self.dir);
                fs::remove_dir_all(&self.dir)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    /// The job's directory (everything below is removed with the workspace).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    /// Where commands run; relative artifact paths start here.
    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn package_dir(&self) -> &Path {
        &self.package_dir
    }
    pub fn app_path(&self) -> Option<&Path> {
        self.app_path.as_deref()
    }
    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }
    pub fn screenshot_dir(&self) -> &Path {
        &self.screenshot_dir
    }
    pub fn home_dir(&self) -> &Path {
        &self.home_dir
    }
    pub fn tmp_dir(&self) -> &Path {
        &self.tmp_dir
    }
    pub(crate) fn scripts_dir(&self) -> &Path {
        &self.scripts_dir
    }
    /// Each phase's output (`<phase>.log`) and the combined [`Self::combined_log`].
    pub fn output_dir(&self) -> &Path {
        &self.output_dir
    }
    /// The "Test spec output": every phase's output in the order it was produced.
    pub fn combined_log(&self) -> PathBuf {
        self.output_dir.join("testspec-output.log")
    }
    /// Where the artifact zips are written.
    pub fn artifacts_dir(&self) -> &Path {
        &self.artifacts_dir
    }
}

/// One normal path component: no separators, not `.` or `..`, no NUL.
fn is_plain_name(name: &str) -> bool {
    let mut components = Path::new(name).components();
    matches!(components.next(), Some(Component::Normal(_)))
        && components.next().is_none()
        && !name.contains(['/', '\0'])
}

fn make_dirs_writable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = fs::symlink_metadata(dir) else {
        return;
    };
    if !meta.is_dir() {
        return;
    }
    let mode = meta.permissions().mode() | 0o700;
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(mode));
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            make_dirs_writable(&entry.path());
        }
    }
}

fn io_error(path: &Path, source: io::Error) -> WorkspaceError {
    WorkspaceError::Io { path: path.to_path_buf(), source }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    use zip::write::SimpleFileOptions;

    fn package(dir: &Path) -> PathBuf {
        let path = dir.join("tests.zip");
        let mut zip = zip::ZipWriter::new(fs::File::create(&path).expect("create"));
        zip.start_file("tests/run.sh", SimpleFileOptions::default().unix_permissions(0o755)).expect("entry");
        zip.write_all(b"#!/bin/sh\necho ran\n").expect("write");
        zip.finish().expect("finish");
        path
    }

    #[test]
    fn creates_the_layout_unpacks_the_package_and_places_the_app() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let zip = package(tmp.path());
        let apk = tmp.path().join("stored-upload");
        fs::write(&apk, b"apk bytes").expect("write");
        let app = AppFile { source: &apk, file_name: "app.apk" };
        let ws = Workspace::create(&tmp.path().join("jobs"), "job-1", Some(&zip), Some(app), &InspectLimits::default())
            .expect("created");
        assert!(ws.root().is_absolute());
        let script = ws.package_dir().join("tests/run.sh");
        assert!(script.is_file());
        let mode = fs::metadata(&script).expect("meta").permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "executable bit kept");
        assert_eq!(fs::read(ws.app_path().expect("app")).expect("read"), b"apk bytes");
        assert!(ws.app_path().expect("app").ends_with("app/app.apk"));
        for dir in [ws.log_dir(), ws.screenshot_dir(), ws.home_dir(), ws.tmp_dir()] {
            assert!(dir.is_dir(), "{}", dir.display());
        }
        assert!(!ws.output_dir().starts_with(ws.root()));
        assert!(!ws.artifacts_dir().starts_with(ws.root()));

        let dir = ws.dir().to_path_buf();
        // A read-only directory left by a command does not stop removal.
        fs::create_dir_all(ws.root().join("ro/inner")).expect("mkdir");
        fs::write(ws.root().join("ro/inner/f"), b"x").expect("write");
        fs::set_permissions(ws.root().join("ro"), fs::Permissions::from_mode(0o500)).expect("chmod");
        ws.remove().expect("removed");
        assert!(!dir.exists());
    }

    #[test]
    fn job_ids_and_app_names_must_be_plain_names() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let limits = InspectLimits::default();
        for id in ["", ".", "..", "a/b", "../x", "/abs"] {
            assert!(
                matches!(Workspace::create(tmp.path(), id, None, None, &limits), Err(WorkspaceError::InvalidJobId(_))),
                "{id:?}"
            );
        }
        let app = AppFile { source: tmp.path(), file_name: "../evil.apk" };
        assert!(matches!(
            Workspace::create(tmp.path(), "j", None, Some(app), &limits),
            Err(WorkspaceError::InvalidAppName(_))
        ));
    }

    #[test]
    fn an_existing_job_directory_is_refused_and_a_failed_create_leaves_nothing() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let limits = InspectLimits::default();
        fs::create_dir(tmp.path().join("j")).expect("mkdir");
        assert!(matches!(
            Workspace::create(tmp.path(), "j", None, None, &limits),
            Err(WorkspaceError::AlreadyExists(_))
        ));

        let not_a_zip = tmp.path().join("broken.zip");
        fs::write(&not_a_zip, b"not a zip").expect("write");
        assert!(matches!(
            Workspace::create(tmp.path(), "k", Some(&not_a_zip), None, &limits),
            Err(WorkspaceError::Package(_))
        ));
        assert!(!tmp.path().join("k").exists());
    }
}
