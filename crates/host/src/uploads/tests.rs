//! Inspection and unpacking over files made at test time.

use std::path::{Path, PathBuf};

use domain::upload::UploadType;
use proptest::prelude::*;
use tempfile::TempDir;

use super::fixtures::{el, encode_axml, sample_manifest, write_zip, write_zip_with_raw_name, AttrValue, ZipItem};
use super::*;

fn dir() -> TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn limits() -> InspectLimits {
    InspectLimits::default()
}

fn metadata(inspection: Inspection) -> serde_json::Value {
    match inspection {
        Inspection::Succeeded { metadata: Some(json) } => serde_json::from_str(&json).expect("metadata is JSON"),
        other => panic!("expected metadata, got {other:?}"),
    }
}

fn failure(inspection: Inspection) -> String {
    match inspection {
        Inspection::Failed { message } => message,
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn write(path: &Path, bytes: &[u8]) -> PathBuf {
    std::fs::write(path, bytes).expect("write file");
    path.to_path_buf()
}

// --- APK -------------------------------------------------------------------------------

#[test]
fn a_good_apk_reports_its_manifest() {
    let d = dir();
    let manifest = sample_manifest();
    let apk = write_zip(
        &d.path().join("app.apk"),
        &[
            ZipItem::File("AndroidManifest.xml", &manifest),
            ZipItem::File("classes.dex", b"dex\n035\0"),
            ZipItem::File("lib/arm64-v8a/libnative.so", b"\x7fELF"),
            ZipItem::File("lib/x86_64/libnative.so", b"\x7fELF"),
        ],
    );
    let meta = metadata(inspect(UploadType::AndroidApp, &apk, &limits()));
    assert_eq!(meta["package_name"], "com.example.app");
    assert_eq!(meta["version_code"], "42");
    assert_eq!(meta["version_name"], "1.2.3");
    assert_eq!(meta["sdk_version"], "24");
    assert_eq!(meta["target_sdk_version"], "33");
    assert_eq!(meta["activity_name"], "com.example.app.MainActivity");
    assert_eq!(meta["native_code"], serde_json::json!(["arm64-v8a", "x86_64"]));
    assert_eq!(meta["screens"], serde_json::json!(["normal", "large", "xlarge"]));
    assert_eq!(meta["device_admin"], false);
    assert!(meta["error_type"].is_null());
}

#[test]
fn an_apk_without_optional_parts_still_succeeds() {
    use AttrValue::*;
    let d = dir();
    let manifest = encode_axml(&el(
        "manifest",
        vec![("package", Str("org.min")), ("versionName", Reference(0x7f0f_0001))],
        vec![el(
            "application",
            vec![],
            vec![el(
                "receiver",
                vec![("name", Str("org.min.Admin")), ("permission", Str("android.permission.BIND_DEVICE_ADMIN"))],
                vec![],
            )],
        )],
    ));
    let apk = write_zip(&d.path().join("a.apk"), &[ZipItem::File("AndroidManifest.xml", &manifest)]);
    let meta = metadata(inspect(UploadType::AndroidApp, &apk, &limits()));
    assert_eq!(meta["package_name"], "org.min");
    assert_eq!(meta["device_admin"], true);
    let object = meta.as_object().expect("object");
    for absent in ["version_name", "version_code", "sdk_version", "activity_name"] {
        assert!(!object.contains_key(absent), "{absent} should be left out: {meta}");
    }
}

#[test]
fn an_apk_without_manifest_fails() {
    let d = dir();
    let apk = write_zip(&d.path().join("a.apk"), &[ZipItem::File("classes.dex", b"dex")]);
    let message = failure(inspect(UploadType::AndroidApp, &apk, &limits()));
    assert!(message.contains("missing AndroidManifest.xml"), "{message}");
}

#[test]
fn an_apk_with_a_garbage_manifest_fails() {
    let d = dir();
    let apk = write_zip(
        &d.path().join("a.apk"),
        &[ZipItem::File("AndroidManifest.xml", b"<manifest package=\"text.xml\"/>")],
    );
    let message = failure(inspect(UploadType::AndroidApp, &apk, &limits()));
    assert!(message.contains("not valid Android binary XML"), "{message}");
}

#[test]
fn an_apk_whose_manifest_names_no_package_fails() {
    let d = dir();
    let manifest = encode_axml(&el("manifest", vec![("versionCode", AttrValue::Int(1))], vec![]));
    let apk = write_zip(&d.path().join("a.apk"), &[ZipItem::File("AndroidManifest.xml", &manifest)]);
    let message = failure(inspect(UploadType::AndroidApp, &apk, &limits()));
    assert!(message.contains("does not name the app's package"), "{message}");
}

#[test]
fn a_file_that_is_not_a_zip_fails() {
    let d = dir();
    let file = write(&d.path().join("a.apk"), b"this is not a zip archive at all");
    let message = failure(inspect(UploadType::AndroidApp, &file, &limits()));
    assert!(message.starts_with("Invalid Android app: the file is not a valid zip"), "{message}");
    let message = failure(inspect(UploadType::AppiumNodeTestPackage, &file, &limits()));
    assert!(message.starts_with("Invalid test package: "), "{message}");
}

#[test]
fn a_deeply_nested_manifest_does_not_crash_the_process() {
    // 60 bytes per level: a manifest of about 6 MB nesting 100 000 elements. Dropping
    // such a tree recursively on a normal thread would overflow its stack.
    fn nest(depth: usize) -> Vec<u8> {
        let mut e = el("leaf", vec![], vec![]);
        for _ in 0..depth {
            e = el("x", vec![], vec![e]);
        }
        let root = el("manifest", vec![("package", AttrValue::Str("deep.app"))], vec![e]);
        encode_on_big_stack(root)
    }
    let manifest = nest(100_000);
    let d = dir();
    let apk = write_zip(&d.path().join("a.apk"), &[ZipItem::File("AndroidManifest.xml", &manifest)]);
    let meta = metadata(inspect(UploadType::AndroidApp, &apk, &limits()));
    assert_eq!(meta["package_name"], "deep.app");
}

/// Encodes (and drops) the fixture tree on a thread with room for its recursion: the
/// test's own thread has an ordinary stack.
fn encode_on_big_stack(root: fixtures::XmlElement<'static>) -> Vec<u8> {
    std::thread::Builder::new()
        .stack_size(512 * 1024 * 1024)
        .spawn(move || encode_axml(&root))
        .expect("spawn")
        .join()
        .expect("encode")
}

#[test]
fn an_oversized_manifest_is_refused_before_it_is_read() {
    let d = dir();
    let manifest = sample_manifest();
    let apk = write_zip(&d.path().join("a.apk"), &[ZipItem::File("AndroidManifest.xml", &manifest)]);
    let tight = InspectLimits { max_metadata_file: 64, ..limits() };
    let message = failure(inspect(UploadType::AndroidApp, &apk, &tight));
    assert!(message.contains("larger than the 64 bytes allowed"), "{message}");
}

// --- IPA -------------------------------------------------------------------------------

fn info_plist(binary: bool) -> Vec<u8> {
    let mut dict = plist::Dictionary::new();
    dict.insert("CFBundleIdentifier".into(), "com.example.ios".into());
    dict.insert("CFBundleShortVersionString".into(), "2.0".into());
    dict.insert("CFBundleVersion".into(), "200".into());
    dict.insert("MinimumOSVersion".into(), "15.0".into());
    dict.insert("CFBundleExecutable".into(), "Example".into());
    dict.insert("UIDeviceFamily".into(), plist::Value::Array(vec![1.into(), 2.into()]));
    let mut out = Vec::new();
    let value = plist::Value::Dictionary(dict);
    if binary {
        value.to_writer_binary(&mut out).expect("binary plist");
    } else {
        value.to_writer_xml(&mut out).expect("xml plist");
    }
    out
}

#[test]
fn a_good_ipa_reports_its_info_plist_in_both_encodings() {
    for binary in [true, false] {
        let d = dir();
        let plist = info_plist(binary);
        let ipa = write_zip(
            &d.path().join("app.ipa"),
            &[
                ZipItem::Dir("Payload/"),
                ZipItem::Dir("Payload/Example.app/"),
                ZipItem::File("Payload/Example.app/Info.plist", &plist),
                ZipItem::File("Payload/Example.app/Example", b"\xcf\xfa\xed\xfe"),
            ],
        );
        let meta = metadata(inspect(UploadType::IosApp, &ipa, &limits()));
        assert_eq!(meta["package_name"], "com.example.ios", "binary={binary}");
        assert_eq!(meta["version_name"], "2.0");
        assert_eq!(meta["version_code"], "200");
        assert_eq!(meta["minimum_os_version"], "15.0");
        assert_eq!(meta["executable"], "Example");
        assert_eq!(meta["app_name"], "Example");
    }
}

#[test]
fn an_ipa_without_payload_app_fails() {
    let d = dir();
    let ipa = write_zip(&d.path().join("a.ipa"), &[ZipItem::File("Example.app/Info.plist", b"x")]);
    let message = failure(inspect(UploadType::IosApp, &ipa, &limits()));
    assert!(message.contains("no Payload/<Name>.app folder"), "{message}");
}

#[test]
fn an_ipa_without_info_plist_fails() {
    let d = dir();
    let ipa = write_zip(&d.path().join("a.ipa"), &[ZipItem::File("Payload/X.app/X", b"bin")]);
    let message = failure(inspect(UploadType::IosApp, &ipa, &limits()));
    assert!(message.contains("Payload/X.app/Info.plist is missing"), "{message}");
}

#[test]
fn an_ipa_with_a_broken_or_non_dictionary_plist_fails() {
    let d = dir();
    let ipa = write_zip(&d.path().join("a.ipa"), &[ZipItem::File("Payload/X.app/Info.plist", b"bplist00 garbage")]);
    let message = failure(inspect(UploadType::IosApp, &ipa, &limits()));
    assert!(message.contains("Info.plist is not a usable property list"), "{message}");

    let mut array = Vec::new();
    plist::Value::Array(vec!["a".into()]).to_writer_xml(&mut array).expect("xml");
    let ipa = write_zip(&d.path().join("b.ipa"), &[ZipItem::File("Payload/X.app/Info.plist", &array)]);
    let message = failure(inspect(UploadType::IosApp, &ipa, &limits()));
    assert!(message.contains("dictionary"), "{message}");
}

#[test]
fn a_binary_plist_that_expands_exponentially_is_refused() {
    // Each level is an array holding the level below twice: 2^40 values in a few hundred
    // bytes, if anything expanded it.
    let plist = exponential_binary_plist(40);
    assert!(plist.len() < 1024);
    let d = dir();
    let ipa = write_zip(&d.path().join("a.ipa"), &[ZipItem::File("Payload/X.app/Info.plist", &plist)]);
    let message = failure(inspect(UploadType::IosApp, &ipa, &limits()));
    assert!(message.contains("more than 100000 values"), "{message}");
}

/// A binary plist: root dict {"k": A0}, A_i = [A_{i+1}, A_{i+1}], A_levels = "leaf".
fn exponential_binary_plist(levels: u8) -> Vec<u8> {
    let mut out = b"bplist00".to_vec();
    let mut offsets = Vec::new();
    // object 0: root dict with one key (object 1) -> value (object 2)
    offsets.push(out.len());
    out.extend_from_slice(&[0xD1, 1, 2]);
    offsets.push(out.len());
    out.extend_from_slice(&[0x51, b'k']);
    for i in 0..levels {
        offsets.push(out.len());
        let child = 3 + i;
        out.extend_from_slice(&[0xA2, child, child]);
    }
    offsets.push(out.len());
    out.extend_from_slice(&[0x54, b'l', b'e', b'a', b'f']);
    let table_at = out.len();
    for o in &offsets {
        out.extend_from_slice(&u16::try_from(*o).expect("small").to_be_bytes());
    }
    let mut trailer = vec![0u8; 6];
    trailer.push(2); // offset size
    trailer.push(1); // object ref size
    trailer.extend_from_slice(&(offsets.len() as u64).to_be_bytes());
    trailer.extend_from_slice(&0u64.to_be_bytes()); // top object
    trailer.extend_from_slice(&(table_at as u64).to_be_bytes());
    out.extend(trailer);
    out
}

// --- Test packages, extra data ---------------------------------------------------------

#[test]
fn test_packages_must_be_non_empty_zips_while_extra_data_may_be_empty() {
    let d = dir();
    let empty = write_zip(&d.path().join("e.zip"), &[ZipItem::Dir("only/")]);
    let message = failure(inspect(UploadType::AppiumPythonTestPackage, &empty, &limits()));
    assert!(message.contains("contains no files"), "{message}");
    assert_eq!(inspect(UploadType::ExternalData, &empty, &limits()), Inspection::Succeeded { metadata: None });
    let good = write_zip(&d.path().join("t.zip"), &[ZipItem::File("tests/test_app.py", b"pass")]);
    assert_eq!(
        inspect(UploadType::AppiumPythonTestPackage, &good, &limits()),
        Inspection::Succeeded { metadata: None }
    );
}

#[test]
fn web_apps_are_never_accepted() {
    let d = dir();
    let zip = write_zip(&d.path().join("w.zip"), &[ZipItem::File("index.html", b"<html>")]);
    let message = failure(inspect(UploadType::WebApp, &zip, &limits()));
    assert!(message.contains("WEB_APP"), "{message}");
}

// --- Archive safety --------------------------------------------------------------------

#[test]
fn zip_slip_entries_are_refused() {
    let d = dir();
    for (placeholder, hostile) in [("aa/evil", "../evil"), ("aaaa", "/abs"), ("aaaaaa", "C:\\bad")] {
        let zip = write_zip_with_raw_name(&d.path().join("slip.zip"), placeholder, hostile);
        for t in [UploadType::AppiumNodeTestPackage, UploadType::AndroidApp, UploadType::ExternalData] {
            let message = failure(inspect(t, &zip, &limits()));
            assert!(message.contains("unsafe path"), "{hostile} as {t}: {message}");
        }
    }
}

#[test]
fn highly_compressed_large_entries_are_refused() {
    let d = dir();
    let zeros = vec![0u8; 8 * 1024 * 1024];
    let zip = write_zip(&d.path().join("bomb.zip"), &[ZipItem::File("zeros.bin", &zeros)]);
    let message = failure(inspect(UploadType::ExternalData, &zip, &limits()));
    assert!(message.contains("possible zip bomb"), "{message}");
    assert!(message.contains("zeros.bin"), "{message}");
    // The same bytes under the size where ratios are checked are fine.
    let relaxed = InspectLimits { ratio_check_min_size: 16 * 1024 * 1024, ..limits() };
    assert_eq!(inspect(UploadType::ExternalData, &zip, &relaxed), Inspection::Succeeded { metadata: None });
}

#[test]
fn the_declared_total_size_is_capped() {
    let d = dir();
    let data = vec![7u8; 4096];
    let zip = write_zip(&d.path().join("big.zip"), &[ZipItem::File("a", &data), ZipItem::File("b", &data)]);
    let tight = InspectLimits { max_total_uncompressed: 6000, ..limits() };
    let message = failure(inspect(UploadType::ExternalData, &zip, &tight));
    assert!(message.contains("more than the 6000 bytes allowed"), "{message}");
}

#[test]
fn too_many_entries_are_refused() {
    let d = dir();
    let items: Vec<String> = (0..20).map(|i| format!("f{i}")).collect();
    let entries: Vec<ZipItem<'_>> = items.iter().map(|n| ZipItem::File(n, b"x")).collect();
    let zip = write_zip(&d.path().join("many.zip"), &entries);
    let tight = InspectLimits { max_entries: 10, ..limits() };
    let message = failure(inspect(UploadType::ExternalData, &zip, &tight));
    assert!(message.contains("20 entries, more than the 10 allowed"), "{message}");
}

// --- Test specs ------------------------------------------------------------------------

#[test]
fn test_spec_uploads_are_parsed() {
    let d = dir();
    let good = write(&d.path().join("spec.yml"), b"version: 0.1\nphases:\n  test:\n    commands:\n      - echo hi\n");
    assert_eq!(inspect(UploadType::AppiumPythonTestSpec, &good, &limits()), Inspection::Succeeded { metadata: None });
    let bad = write(&d.path().join("bad.yml"), b"version: 0.1\nphases:\n  test:\n  - : [\n");
    let message = failure(inspect(UploadType::AppiumPythonTestSpec, &bad, &limits()));
    assert!(message.starts_with("Invalid test spec: line "), "{message}");
    let binary = write(&d.path().join("bin.yml"), b"version: 0.1\n\xff\xfe");
    let message = failure(inspect(UploadType::AppiumPythonTestSpec, &binary, &limits()));
    assert!(message.contains("not UTF-8"), "{message}");
    let tight = InspectLimits { max_test_spec: 10, ..limits() };
    let message = failure(inspect(UploadType::AppiumPythonTestSpec, &good, &tight));
    assert!(message.contains("larger than 10 bytes"), "{message}");
}

// --- Unpacking -------------------------------------------------------------------------

#[test]
fn extract_writes_files_keeps_exec_bits_and_skips_links() {
    let d = dir();
    let zip = write_zip(
        &d.path().join("pkg.zip"),
        &[
            ZipItem::Dir("tests/"),
            ZipItem::File("tests/test_a.py", b"def test(): pass\n"),
            ZipItem::Executable("run.sh", b"#!/bin/sh\n"),
            ZipItem::Symlink("link", "/etc"),
        ],
    );
    let dest = d.path().join("out");
    let report = extract_zip(&zip, &dest, &limits()).expect("extracts");
    assert_eq!(report.files, 2);
    assert_eq!(report.dirs, 1);
    assert_eq!(report.skipped_symlinks, ["link"]);
    assert_eq!(std::fs::read(dest.join("tests/test_a.py")).expect("file"), b"def test(): pass\n");
    assert!(!dest.join("link").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &str| std::fs::metadata(dest.join(p)).expect("meta").permissions().mode();
        assert_eq!(mode("run.sh") & 0o777, 0o755);
        assert_eq!(mode("tests/test_a.py") & 0o777, 0o644);
    }
}

#[test]
fn extract_refuses_traversal_and_writes_nothing_outside() {
    let d = dir();
    let zip = write_zip_with_raw_name(&d.path().join("slip.zip"), "aa/evil", "../evil");
    let dest = d.path().join("out");
    let err = extract_zip(&zip, &dest, &limits()).unwrap_err();
    assert!(matches!(err, ExtractError::Archive(ArchiveError::UnsafePath(_))), "{err}");
    assert!(!d.path().join("evil").exists());
}

#[test]
fn extract_enforces_the_size_cap() {
    let d = dir();
    let data = vec![1u8; 10_000];
    let zip = write_zip(&d.path().join("z.zip"), &[ZipItem::File("a", &data), ZipItem::File("b", &data)]);
    let tight = InspectLimits { max_total_uncompressed: 15_000, ..limits() };
    let err = extract_zip(&zip, &d.path().join("out"), &tight).unwrap_err();
    assert!(matches!(err, ExtractError::Archive(ArchiveError::TooLarge { .. })), "{err}");
}

#[test]
fn extract_stops_an_entry_that_is_longer_than_declared() {
    // Shrink the declared size of a stored entry in both headers: the data that follows
    // is longer than declared, and unpacking must not trust the header.
    let d = dir();
    let path = d.path().join("lie.zip");
    let file = std::fs::File::create(&path).expect("create");
    let mut zip = zip::ZipWriter::new(file);
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("data.bin", stored).expect("start");
    std::io::Write::write_all(&mut zip, &[5u8; 1000]).expect("write");
    zip.finish().expect("finish");
    let mut bytes = std::fs::read(&path).expect("read");
    let declared = 1000u32.to_le_bytes();
    let lie = 10u32.to_le_bytes();
    let mut patched = 0;
    for i in 0..bytes.len().saturating_sub(4) {
        // The uncompressed size follows the compressed size in both headers.
        if bytes[i..i + 4] == declared && bytes[i + 4..i + 8] == declared {
            bytes[i + 4..i + 8].copy_from_slice(&lie);
            patched += 1;
        }
    }
    assert_eq!(patched, 2);
    std::fs::write(&path, bytes).expect("write");
    let dest = d.path().join("out");
    // Either farmhand's own cap or the zip reader's size check may stop it first.
    let result = extract_zip(&path, &dest, &limits());
    assert!(result.is_err(), "{result:?}");
    let written = std::fs::metadata(dest.join("data.bin")).map(|m| m.len()).unwrap_or(0);
    assert!(written <= 11, "wrote {written} bytes");
}

#[test]
fn extract_wants_an_empty_destination() {
    let d = dir();
    let zip = write_zip(&d.path().join("z.zip"), &[ZipItem::File("a", b"x")]);
    let dest = d.path().join("out");
    std::fs::create_dir(&dest).expect("mkdir");
    std::fs::write(dest.join("existing"), b"x").expect("write");
    let err = extract_zip(&zip, &dest, &limits()).unwrap_err();
    assert!(matches!(err, ExtractError::DestinationNotEmpty(_)), "{err}");
}

// --- Robustness ------------------------------------------------------------------------

const ALL_TYPES: &[UploadType] = UploadType::ALL;

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn inspect_never_panics_on_random_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        type_index in 0..ALL_TYPES.len(),
    ) {
        let d = dir();
        let file = write(&d.path().join("upload"), &bytes);
        let _ = inspect(ALL_TYPES[type_index], &file, &limits());
    }

    #[test]
    fn inspect_never_panics_on_mutated_apks_and_ipas(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
        ios in any::<bool>(),
    ) {
        let d = dir();
        let manifest = sample_manifest();
        let plist = info_plist(true);
        let (upload_type, items) = if ios {
            (UploadType::IosApp, vec![ZipItem::File("Payload/A.app/Info.plist", &plist[..])])
        } else {
            (UploadType::AndroidApp, vec![ZipItem::File("AndroidManifest.xml", &manifest[..])])
        };
        // Stored, so that edits land in the manifest or plist bytes as often as in headers.
        let path = d.path().join("app");
        {
            let file = std::fs::File::create(&path).expect("create");
            let mut zip = zip::ZipWriter::new(file);
            let stored = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored);
            for item in &items {
                if let ZipItem::File(name, bytes) = item {
                    zip.start_file(*name, stored).expect("start");
                    std::io::Write::write_all(&mut zip, bytes).expect("write");
                }
            }
            zip.finish().expect("finish");
        }
        let mut bytes = std::fs::read(&path).expect("read");
        for (index, value) in edits {
            let i = index.index(bytes.len());
            bytes[i] = value;
        }
        std::fs::write(&path, &bytes).expect("write");
        let _ = inspect(upload_type, &path, &limits());
        let _ = extract_zip(&path, &d.path().join("out"), &limits());
    }

    #[test]
    fn decoding_never_panics_on_mutated_manifests(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..24),
    ) {
        let mut manifest = sample_manifest();
        for (index, value) in edits {
            let i = index.index(manifest.len());
            manifest[i] = value;
        }
        let _ = apk::decode_manifest(manifest);
    }
}
