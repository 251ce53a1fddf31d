//! Opening an uploaded zip (apk, ipa, test package, extra data) under the safety rules
//! every archive must pass, from its central directory alone: nothing is decompressed
//! to check it, and nothing is ever written to disk here.
//!
//! Rules: at most `max_entries` entries; every path stays inside the archive
//! ([`super::entry_path`]); declared sizes add up to at most `max_total_uncompressed`;
//! no large entry compressed beyond `max_compression_ratio`; no two entries sharing
//! compressed bytes (the overlapping-entries zip bomb). Entries read afterwards are read
//! through a byte cap, because the sizes a header declares may lie.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use thiserror::Error;
use zip::ZipArchive;

use super::declared_entries::max_declared_entries;
use super::entry_path::{safe_relative_path, UnsafePath};
use super::limits::InspectLimits;

/// Why an archive was refused. The text is what the upload's `message` says.
#[derive(Debug, Error)]
pub enum ArchiveError {
    #[error("could not read the uploaded file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the file is not a valid zip archive ({0})")]
    NotZip(String),
    #[error("the archive has {count} entries, more than the {max} allowed")]
    TooManyEntries { count: u64, max: u64 },
    #[error("the archive contains an {0}")]
    UnsafePath(#[from] UnsafePath),
    #[error("the archive would unpack to more than the {max} bytes allowed (possible zip bomb)")]
    TooLarge { max: u64 },
    #[error(
        "entry {name:?} is compressed {ratio}:1 ({size} bytes from {compressed}), beyond the \
         {max}:1 allowed (possible zip bomb)"
    )]
    CompressionRatio { name: String, size: u64, compressed: u64, ratio: u64, max: u64 },
    #[error("entries of the archive share compressed data (possible zip bomb)")]
    Overlapping,
    #[error("entry {name:?} is larger than the {max} bytes allowed")]
    EntryTooLarge { name: String, max: u64 },
    #[error("could not read entry {name:?} ({reason})")]
    Entry { name: String, reason: String },
}

/// What the central directory says about one entry, once it passed the rules.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Position in the archive, for reading it.
    pub index: usize,
    /// The name exactly as stored.
    pub name: String,
    /// The name as a safe relative path.
    pub path: PathBuf,
    pub is_dir: bool,
    pub is_symlink: bool,
    /// Uncompressed size as declared (not trusted when reading).
    pub size: u64,
    /// Unix permission bits, when the archive was made on a Unix system.
    pub unix_mode: Option<u32>,
}

/// A zip that passed the rules, ready to have entries read.
pub struct CheckedZip {
    zip: ZipArchive<BufReader<File>>,
    entries: Vec<Entry>,
}

impl std::fmt::Debug for CheckedZip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckedZip").field("entries", &self.entries.len()).finish()
    }
}

impl CheckedZip {
    /// Opens `file` and checks every entry against `limits`.
    pub fn open(file: &Path, limits: &InspectLimits) -> Result<CheckedZip, ArchiveError> {
        let mut handle = File::open(file)?;
        if let Some(count) = max_declared_entries(&mut handle)? {
            check_entry_count(count, limits)?;
        }
        let mut zip = ZipArchive::new(BufReader::new(handle)).map_err(|e| ArchiveError::NotZip(e.to_string()))?;
        check_entry_count(zip.len() as u64, limits)?;

        let mut entries = Vec::with_capacity(zip.len());
        let mut total: u64 = 0;
        for index in 0..zip.len() {
            let data = zip.by_index_data(index).map_err(|e| ArchiveError::NotZip(e.to_string()))?;
            let name = data.name().map_err(|e| ArchiveError::NotZip(e.to_string()))?.into_owned();
            let path = safe_relative_path(&name)?;
            let (size, compressed) = (data.size(), data.compressed_size());
            check_ratio(&name, size, compressed, limits)?;
            total = total.saturating_add(size);
            if total > limits.max_total_uncompressed {
                return Err(ArchiveError::TooLarge { max: limits.max_total_uncompressed });
            }
            entries.push(Entry {
                index,
                is_dir: data.is_dir(),
                is_symlink: data.is_symlink(),
                unix_mode: data.unix_mode(),
                name,
                path,
                size,
            });
        }
        if zip.has_overlapping_files().map_err(|e| ArchiveError::NotZip(e.to_string()))? {
            return Err(ArchiveError::Overlapping);
        }
        Ok(CheckedZip { zip, entries })
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry stored under exactly `name`.
    pub fn find(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// Reads a whole entry into memory, refusing it once it passes `max` bytes whatever
    /// its header declares.
    pub fn read_capped(&mut self, index: usize, max: u64) -> Result<Vec<u8>, ArchiveError> {
        let name = self.entry_name(index);
        let too_large = || ArchiveError::EntryTooLarge { name: name.clone(), max };
        let entry_error = |e: &dyn std::fmt::Display| ArchiveError::Entry { name: name.clone(), reason: e.to_string() };
        let file = self.zip.by_index(index).map_err(|e| entry_error(&e))?;
        if file.size() > max {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        file.take(max.saturating_add(1)).read_to_end(&mut bytes).map_err(|e| entry_error(&e))?;
        if bytes.len() as u64 > max {
            return Err(too_large());
        }
        Ok(bytes)
    }

    /// A reader over an entry's decompressed bytes, for unpacking.
    pub fn reader(&mut self, index: usize) -> Result<impl Read + '_, ArchiveError> {
        let name = self.entry_name(index);
        self.zip.by_index(index).map_err(|e| ArchiveError::Entry { name, reason: e.to_string() })
    }

    fn entry_name(&self, index: usize) -> String {
        self.entries.get(index).map_or_else(|| "?".to_owned(), |e| e.name.clone())
    }
}

fn check_entry_count(count: u64, limits: &InspectLimits) -> Result<(), ArchiveError> {
    if count > limits.max_entries {
        Err(ArchiveError::TooManyEntries { count, max: limits.max_entries })
    } else {
        Ok(())
    }
}

fn check_ratio(name: &str, size: u64, compressed: u64, limits: &InspectLimits) -> Result<(), ArchiveError> {
    if size <= limits.ratio_check_min_size {
        return Ok(());
    }
    let ratio = size / compressed.max(1);
    if ratio > limits.max_compression_ratio {
        return Err(ArchiveError::CompressionRatio {
            name: name.to_owned(),
            size,
            compressed,
            ratio,
            max: limits.max_compression_ratio,
        });
    }
    Ok(())
}
