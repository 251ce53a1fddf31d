//! The resource limits an uploaded file is held to while it is inspected or unpacked.

/// Limits for inspecting and unpacking uploads. The defaults fit real apps and test
/// packages (AWS caps an upload at 4 GB) with room to spare, and refuse archives built
/// to exhaust memory or disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectLimits {
    /// Most entries a zip may hold.
    pub max_entries: u64,
    /// Most bytes all entries of a zip may add up to once uncompressed (declared sizes
    /// when inspecting, bytes actually written when unpacking).
    pub max_total_uncompressed: u64,
    /// Highest uncompressed:compressed ratio an entry may have…
    pub max_compression_ratio: u64,
    /// …once it is larger than this: small files of zeros compress far better than
    /// 200:1 and are harmless.
    pub ratio_check_min_size: u64,
    /// Most bytes read from one metadata file inside an app (AndroidManifest.xml,
    /// Info.plist). Real ones are kilobytes; the largest manifests stay under 2 MB.
    pub max_metadata_file: u64,
    /// Largest test spec accepted. Real ones are a few kilobytes.
    pub max_test_spec: u64,
}

impl Default for InspectLimits {
    fn default() -> Self {
        const MIB: u64 = 1024 * 1024;
        InspectLimits {
            max_entries: 100_000,
            max_total_uncompressed: 8 * 1024 * MIB,
            max_compression_ratio: 200,
            ratio_check_min_size: 4 * MIB,
            max_metadata_file: 8 * MIB,
            max_test_spec: MIB,
        }
    }
}
