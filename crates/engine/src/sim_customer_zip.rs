//! A simulated job's "Customer Artifacts": a real zip of the files its scenario declares
//! (`customer_artifacts`), laid out as a real job's zip is, by path.

use std::io::{Cursor, Write as _};

use domain::job::plan::SimFile;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// The zip holding `files`. The scenario parser has checked every path (relative, no
/// `..`, each once), so the zip unpacks inside whatever directory it is unzipped into.
pub fn customer_zip(files: &[SimFile]) -> Result<Vec<u8>, zip::result::ZipError> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for file in files {
        zip.start_file(file.path.as_str(), options)?;
        zip.write_all(file.text.as_bytes())?;
    }
    Ok(zip.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    #[test]
    fn the_zip_holds_each_declared_file_at_its_path() {
        let files = [
            SimFile { path: "reports/summary.txt".into(), text: "3 tests\n".into() },
            SimFile { path: "app.log".into(), text: String::new() },
        ];
        let bytes = customer_zip(&files).expect("zip");
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("a readable zip");
        assert_eq!(archive.len(), 2);
        for f in &files {
            let mut text = String::new();
            archive.by_name(&f.path).expect("entry").read_to_string(&mut text).expect("read");
            assert_eq!(text, f.text);
        }
    }
}
