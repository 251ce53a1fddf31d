//! Inspection of uploaded files: what decides whether an upload ends SUCCEEDED or
//! FAILED, and the metadata it reports. Also the safe unpacking of test packages.
//!
//! Every upload is untrusted. **Invariant:** inspection reads the file in place (zip
//! central directories, a few capped entries), never loads a whole upload into memory,
//! never writes to disk, and ends in an [`Inspection`] whatever the bytes are: it does not
//! panic or abort on any input.
//!
//! Layout:
//! - [`limits`]: the caps ([`InspectLimits`]).
//! - `archive` (+ `entry_path`, `declared_entries`): opening a zip under the safety rules.
//! - `apk`, `ipa`, `package`, [`test_spec`]: the per-type checks and metadata.
//! - [`extract`]: unpacking a test package for a run ([`extract_zip`]).

mod apk;
mod archive;
mod declared_entries;
mod entry_path;
pub mod extract;
mod ipa;
mod isolate;
pub mod limits;
mod package;
pub mod test_spec;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use domain::upload::{UploadKind, UploadType};

pub use archive::ArchiveError;
pub use entry_path::UnsafePath;
pub use extract::{extract_zip, ExtractError, ExtractReport};
pub use limits::InspectLimits;
pub use test_spec::{parse_test_spec, Phases, TestSpec, TestSpecError};

use archive::CheckedZip;

/// How processing of an upload ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inspection {
    /// The upload is usable. `metadata` is the JSON text of the Upload's `metadata`
    /// member, when the type has any.
    Succeeded { metadata: Option<String> },
    /// The upload is refused; `message` becomes the Upload's `message`.
    Failed { message: String },
}

impl Inspection {
    fn succeeded(metadata: Option<String>) -> Inspection {
        Inspection::Succeeded { metadata }
    }

    fn failed(message: String) -> Inspection {
        Inspection::Failed { message }
    }
}

/// Inspects the uploaded `file` as an upload of `upload_type`.
pub fn inspect(upload_type: UploadType, file: &Path, limits: &InspectLimits) -> Inspection {
    // The parsers below are third-party code fed hostile bytes; a bug in one must fail
    // this upload, not the worker that processes uploads.
    catch_unwind(AssertUnwindSafe(|| inspect_unguarded(upload_type, file, limits)))
        .unwrap_or_else(|_| Inspection::failed("farmhand could not inspect this upload (internal error)".to_owned()))
}

fn inspect_unguarded(upload_type: UploadType, file: &Path, limits: &InspectLimits) -> Inspection {
    let kind = upload_type.kind();
    if !upload_type.is_creatable() {
        return Inspection::failed(format!("Uploads of type {upload_type} are not supported"));
    }
    if kind == UploadKind::TestSpec {
        return inspect_test_spec(file, limits);
    }
    let what = match (upload_type, kind) {
        (UploadType::AndroidApp, _) => "Invalid Android app",
        (UploadType::IosApp, _) => "Invalid iOS app",
        (_, UploadKind::Data) => "Invalid extra data",
        _ => "Invalid test package",
    };
    let zip = match CheckedZip::open(file, limits) {
        Ok(zip) => zip,
        Err(e) => return Inspection::failed(format!("{what}: {e}")),
    };
    match (upload_type, kind) {
        (UploadType::AndroidApp, _) => apk::inspect(zip, limits),
        (UploadType::IosApp, _) => ipa::inspect(zip, limits),
        (_, UploadKind::Data) => package::inspect(&zip, false),
        _ => package::inspect(&zip, true),
    }
}

fn inspect_test_spec(file: &Path, limits: &InspectLimits) -> Inspection {
    let mut bytes = Vec::new();
    let read = File::open(file).and_then(|f| f.take(limits.max_test_spec.saturating_add(1)).read_to_end(&mut bytes));
    if let Err(e) = read {
        return Inspection::failed(format!("could not read the uploaded file: {e}"));
    }
    if bytes.len() as u64 > limits.max_test_spec {
        return Inspection::failed(format!(
            "Invalid test spec: the file is larger than {} bytes",
            limits.max_test_spec
        ));
    }
    let Ok(text) = String::from_utf8(bytes) else {
        return Inspection::failed("Invalid test spec: the file is not UTF-8 text".to_owned());
    };
    match parse_test_spec(&text) {
        Ok(_) => Inspection::succeeded(None),
        Err(e) => Inspection::failed(e.to_string()),
    }
}

/// Metadata keys other parts of farmhand read back (device compatibility): they are the
/// field names of the metadata structs in `apk` and `ipa`, named once here for readers.
pub mod metadata {
    pub const APK_MIN_SDK_KEY: &str = "sdk_version";
    pub const IPA_MIN_OS_KEY: &str = "minimum_os_version";
}
