//! A look at the entry count a zip file declares, before the zip crate is allowed to
//! load its central directory.
//!
//! `zip::ZipArchive::new` reads the whole central directory into memory at once, sized by
//! the count the file declares (bounded only by the directory's byte size). A hostile
//! upload of a few GB of tiny headers would take tens of GB of memory before farmhand
//! could count the entries, so the count is read first from the end-of-central-directory
//! records. Every candidate record in the tail is considered and the largest count wins,
//! so a decoy record cannot hide the one the zip crate ends up using.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

const EOCD_SIGNATURE: [u8; 4] = *b"PK\x05\x06";
const ZIP64_LOCATOR_SIGNATURE: [u8; 4] = *b"PK\x06\x07";
const ZIP64_EOCD_SIGNATURE: [u8; 4] = *b"PK\x06\x06";
const EOCD_MIN_LEN: usize = 22;
const ZIP64_LOCATOR_LEN: usize = 20;
const ZIP64_EOCD_LEN: usize = 56;
/// The record plus the longest comment it may carry, plus a zip64 locator before it.
const TAIL_LEN: u64 = (EOCD_MIN_LEN + u16::MAX as usize + ZIP64_LOCATOR_LEN) as u64;

/// The largest entry count any end-of-central-directory record in `file` declares, or
/// `None` when there is no such record (then the file is not a zip, which the zip crate
/// reports better).
pub fn max_declared_entries(file: &mut File) -> io::Result<Option<u64>> {
    let len = file.metadata()?.len();
    let tail_start = len.saturating_sub(TAIL_LEN);
    file.seek(SeekFrom::Start(tail_start))?;
    let mut tail = Vec::new();
    file.by_ref().take(TAIL_LEN).read_to_end(&mut tail)?;

    let mut max: Option<u64> = None;
    let Some(last_start) = tail.len().checked_sub(EOCD_MIN_LEN) else {
        return Ok(None);
    };
    for at in (0..=last_start).rev() {
        if tail.get(at..at + 4) != Some(&EOCD_SIGNATURE[..]) {
            continue;
        }
        let mut count = u64::from(le_u16(&tail, at + 10).unwrap_or(0));
        if let Some(zip64) = zip64_count(file, &tail, at)? {
            count = count.max(zip64);
        }
        max = Some(max.map_or(count, |m| m.max(count)));
    }
    Ok(max)
}

/// The entry count of the zip64 record a locator just before `eocd_at` points to.
fn zip64_count(file: &mut File, tail: &[u8], eocd_at: usize) -> io::Result<Option<u64>> {
    let Some(locator_at) = eocd_at.checked_sub(ZIP64_LOCATOR_LEN) else {
        return Ok(None);
    };
    if tail.get(locator_at..locator_at + 4) != Some(&ZIP64_LOCATOR_SIGNATURE[..]) {
        return Ok(None);
    }
    let Some(record_offset) = le_u64(tail, locator_at + 8) else {
        return Ok(None);
    };
    if file.seek(SeekFrom::Start(record_offset)).is_err() {
        return Ok(None);
    }
    let mut record = Vec::with_capacity(ZIP64_EOCD_LEN);
    file.by_ref().take(ZIP64_EOCD_LEN as u64).read_to_end(&mut record)?;
    if record.get(0..4) != Some(&ZIP64_EOCD_SIGNATURE[..]) {
        return Ok(None);
    }
    Ok(le_u64(&record, 32))
}

fn le_u16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn le_u64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(bytes: &[u8]) -> File {
        let mut f = tempfile::tempfile().expect("temp file");
        f.write_all(bytes).expect("write");
        f
    }

    fn eocd(entries: u16) -> Vec<u8> {
        let mut r = EOCD_SIGNATURE.to_vec();
        r.extend_from_slice(&[0; 4]);
        r.extend_from_slice(&entries.to_le_bytes());
        r.extend_from_slice(&entries.to_le_bytes());
        r.extend_from_slice(&[0; 10]);
        r
    }

    #[test]
    fn reads_the_declared_count() {
        let mut f = file_with(&eocd(7));
        assert_eq!(max_declared_entries(&mut f).expect("io"), Some(7));
    }

    #[test]
    fn a_decoy_record_in_the_comment_does_not_hide_a_larger_count() {
        let mut bytes = eocd(60_000);
        // The decoy sits where a comment would be: later in the file, closer to the end.
        bytes.extend_from_slice(&eocd(1));
        let mut f = file_with(&bytes);
        assert_eq!(max_declared_entries(&mut f).expect("io"), Some(60_000));
    }

    #[test]
    fn zip64_counts_are_read_through_the_locator() {
        let mut bytes = ZIP64_EOCD_SIGNATURE.to_vec();
        bytes.extend_from_slice(&[0; 28]);
        bytes.extend_from_slice(&5_000_000u64.to_le_bytes());
        bytes.extend_from_slice(&[0; 16]);
        assert_eq!(bytes.len(), ZIP64_EOCD_LEN);
        bytes.extend_from_slice(&ZIP64_LOCATOR_SIGNATURE);
        bytes.extend_from_slice(&[0; 4]);
        bytes.extend_from_slice(&0u64.to_le_bytes());
        bytes.extend_from_slice(&[0; 4]);
        bytes.extend_from_slice(&eocd(u16::MAX));
        let mut f = file_with(&bytes);
        assert_eq!(max_declared_entries(&mut f).expect("io"), Some(5_000_000));
    }

    #[test]
    fn no_record_means_none() {
        let mut f = file_with(b"definitely not a zip file at all");
        assert_eq!(max_declared_entries(&mut f).expect("io"), None);
        let mut f = file_with(b"");
        assert_eq!(max_declared_entries(&mut f).expect("io"), None);
    }
}
