//! The data directory must take writes before anything is opened in it: a read-only one
//! would otherwise let the server start, serve reads, and fail the first write of every
//! client, or fail deep inside the store with an error that does not name the directory.

use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;

/// Creates the directory if needed and proves it writable with a file written, synced and
/// removed (creating the directory succeeds on a read-only mount when it already exists).
pub fn prepare(dir: &Path) -> Result<()> {
    let not_writable = || format!("the data directory {} is not writable", dir.display());
    std::fs::create_dir_all(dir).with_context(not_writable)?;
    let probe = dir.join(format!(".farmhand-write-probe-{}", std::process::id()));
    let written = std::fs::File::create(&probe).and_then(|mut file| {
        file.write_all(b"farmhand")?;
        file.sync_all()
    });
    // Removed whether or not the write went through: a full disk can create the file and
    // still refuse its bytes.
    let removed = std::fs::remove_file(&probe);
    written.with_context(not_writable)?;
    match removed {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).with_context(not_writable),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_writable_directory_is_created_and_left_clean() {
        let root = std::env::temp_dir().join(format!("farmhand-data-dir-{}", std::process::id()));
        let dir = root.join("nested");
        prepare(&dir).expect("a fresh directory under the temp dir is writable");
        assert_eq!(std::fs::read_dir(&dir).expect("listable").count(), 0, "the probe was removed");
        std::fs::remove_dir_all(&root).expect("cleanup");
    }

    #[test]
    fn a_path_that_cannot_be_a_directory_is_refused_naming_it() {
        let file = std::env::temp_dir().join(format!("farmhand-data-dir-file-{}", std::process::id()));
        std::fs::write(&file, b"not a directory").expect("temp file");
        let err = prepare(&file.join("data")).expect_err("a directory under a file cannot be made");
        assert!(format!("{err:#}").contains(&file.display().to_string()), "{err:#}");
        std::fs::remove_file(&file).expect("cleanup");
    }
}
