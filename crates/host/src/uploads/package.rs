//! Inspection of the zips that are unpacked on the host (test packages, extra data): the
//! archive rules are the whole check. Their contents are the test framework's business;
//! a broken package fails in its run with the framework's own error, which says more
//! than farmhand could guess here.

use super::archive::CheckedZip;
use super::Inspection;

/// A test package must hold at least one file; extra data may be an empty zip.
pub(crate) fn inspect(zip: &CheckedZip, require_files: bool) -> Inspection {
    if require_files && !zip.entries().iter().any(|e| !e.is_dir) {
        return Inspection::failed("Invalid test package: the zip contains no files".to_owned());
    }
    Inspection::succeeded(None)
}
