//! Unpacking a test package (or extra data) into a fresh folder, safely: the archive must
//! pass the same rules as at inspection, every file lands under the destination, and the
//! size caps are enforced on the bytes actually written, not on what headers declare.
//!
//! Symbolic links are never created. A link can point a later entry's path outside the
//! destination in ways no check of the link alone can see (a link to `..` under another
//! link), so link entries are skipped and listed in the report instead.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::archive::{ArchiveError, CheckedZip};
use super::limits::InspectLimits;

/// Why unpacking stopped. Whatever was written before stays in the destination; the
/// caller owns that folder and removes it.
#[derive(Debug, Error)]
pub enum ExtractError {
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("destination {0} exists and is not an empty folder")]
    DestinationNotEmpty(PathBuf),
    #[error("entry {name:?} unpacks to more bytes than its header declares")]
    LongerThanDeclared { name: String },
    #[error("the archive unpacks to more than the {max} bytes allowed")]
    TooLarge { max: u64 },
    #[error("could not write {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// What was unpacked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtractReport {
    pub files: u64,
    pub dirs: u64,
    pub bytes: u64,
    /// Names of the symbolic-link entries that were not created.
    pub skipped_symlinks: Vec<String>,
}

/// Unpacks the zip `file` into `dest_dir`, which must be absent or an empty folder.
pub fn extract_zip(file: &Path, dest_dir: &Path, limits: &InspectLimits) -> Result<ExtractReport, ExtractError> {
    let mut zip = CheckedZip::open(file, limits)?;
    prepare_destination(dest_dir)?;

    let mut report = ExtractReport::default();
    let entries = zip.entries().to_vec();
    for entry in entries {
        let target = dest_dir.join(&entry.path);
        if entry.is_symlink {
            report.skipped_symlinks.push(entry.name);
            continue;
        }
        if entry.is_dir {
            fs::create_dir_all(&target).map_err(|source| io_error(&target, source))?;
            report.dirs += 1;
            continue;
        }
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|source| io_error(parent, source))?;
        }
        // create_new: a second entry with the same path, or anything already there, is an
        // error rather than something to overwrite or follow.
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
            .map_err(|source| io_error(&target, source))?;
        let budget = limits.max_total_uncompressed.saturating_sub(report.bytes);
        let allowed = entry.size.min(budget);
        let written = copy_capped(zip.reader(entry.index)?, &mut out, allowed, &target)?;
        if written > allowed {
            return Err(if allowed < entry.size {
                ExtractError::TooLarge { max: limits.max_total_uncompressed }
            } else {
                ExtractError::LongerThanDeclared { name: entry.name }
            });
        }
        set_permissions(&out, entry.unix_mode, &target)?;
        report.bytes += written;
        report.files += 1;
    }
    Ok(report)
}

fn prepare_destination(dest_dir: &Path) -> Result<(), ExtractError> {
    match fs::read_dir(dest_dir) {
        Ok(mut listing) => {
            if listing.next().is_some() {
                return Err(ExtractError::DestinationNotEmpty(dest_dir.to_path_buf()));
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(dest_dir).map_err(|source| io_error(dest_dir, source))
        }
        Err(source) => Err(io_error(dest_dir, source)),
    }
}

/// Copies at most `allowed + 1` bytes, so a caller can tell "exactly allowed" from "more".
fn copy_capped(reader: impl Read, out: &mut File, allowed: u64, target: &Path) -> Result<u64, ExtractError> {
    let mut limited = reader.take(allowed.saturating_add(1));
    let written = io::copy(&mut limited, out).map_err(|source| io_error(target, source))?;
    out.flush().map_err(|source| io_error(target, source))?;
    Ok(written)
}

/// Keeps the executable bit (test scripts need it) and nothing else: no set-uid, no
/// world-writable files.
fn set_permissions(out: &File, unix_mode: Option<u32>, target: &Path) -> Result<(), ExtractError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let executable = unix_mode.is_some_and(|m| m & 0o111 != 0);
        let mode = if executable { 0o755 } else { 0o644 };
        out.set_permissions(fs::Permissions::from_mode(mode)).map_err(|source| io_error(target, source))?;
    }
    #[cfg(not(unix))]
    let _ = (out, unix_mode, target);
    Ok(())
}

fn io_error(path: &Path, source: io::Error) -> ExtractError {
    ExtractError::Io { path: path.to_path_buf(), source }
}
