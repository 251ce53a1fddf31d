//! An uploaded zip unpacked into a job's directory: refused or unpacked, and never anything
//! written outside the destination.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    let zip = dir.path().join("upload.zip");
    if std::fs::write(&zip, data).is_err() {
        return;
    }
    let dest = dir.path().join("out");
    let _ = host::uploads::extract_zip(&zip, &dest, &host::uploads::InspectLimits::default());
    // Only the upload and the destination may exist next to each other.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .map(|entries| entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    assert!(names.iter().all(|n| n == "upload.zip" || n == "out"), "written beside the destination: {names:?}");
});
