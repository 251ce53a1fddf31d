//! Test fixtures made at test time: zips, and Android binary XML manifests.
//!
//! No tool that produces binary XML (aapt2) runs offline in tests, so a small encoder
//! writes the format the way aapt2 lays it out: a UTF-16 string pool whose first entries
//! are the attribute names listed in the resource map, then namespace and element chunks.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// One zip entry to write.
pub enum ZipItem<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    Executable(&'a str, &'a [u8]),
}

pub fn write_zip(path: &Path, items: &[ZipItem<'_>]) -> PathBuf {
    let file = File::create(path).expect("create zip");
    let mut zip = ZipWriter::new(file);
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for item in items {
        match item {
            ZipItem::File(name, bytes) => {
                zip.start_file(*name, options).expect("start file");
                zip.write_all(bytes).expect("write entry");
            }
            ZipItem::Executable(name, bytes) => {
                zip.start_file(*name, options.unix_permissions(0o755)).expect("start file");
                zip.write_all(bytes).expect("write entry");
            }
            ZipItem::Dir(name) => zip.add_directory(*name, options).expect("add dir"),
            ZipItem::Symlink(name, target) => zip.add_symlink(*name, *target, options).expect("add symlink"),
        }
    }
    zip.finish().expect("finish zip");
    path.to_path_buf()
}

/// Writes a zip with `placeholder` as an entry name, then renames that entry to `name`
/// (same length) in the raw bytes: the zip writer would not produce hostile names itself.
pub fn write_zip_with_raw_name(path: &Path, placeholder: &str, name: &str) -> PathBuf {
    assert_eq!(placeholder.len(), name.len());
    write_zip(path, &[ZipItem::File("ok.txt", b"fine"), ZipItem::File(placeholder, b"evil")]);
    let mut bytes = std::fs::read(path).expect("read zip");
    let mut replaced = 0;
    let mut at = 0;
    while let Some(pos) = find(&bytes[at..], placeholder.as_bytes()) {
        let start = at + pos;
        bytes[start..start + name.len()].copy_from_slice(name.as_bytes());
        at = start + name.len();
        replaced += 1;
    }
    assert_eq!(replaced, 2, "local header and central directory");
    std::fs::write(path, bytes).expect("write zip");
    path.to_path_buf()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

// ---------------------------------------------------------------------------------------
// Android binary XML

const ANDROID_NS: &str = "http://schemas.android.com/apk/res/android";
const NO_INDEX: u32 = u32::MAX;

/// A typed attribute value.
#[derive(Clone, Copy)]
pub enum AttrValue<'a> {
    Str(&'a str),
    Int(u32),
    Bool(bool),
    Reference(u32),
}

/// An element of the manifest to encode. Attribute names with an Android resource id
/// (`versionCode`, `name`, …) are put in the android namespace, like aapt2 does.
pub struct XmlElement<'a> {
    pub name: &'a str,
    pub attrs: Vec<(&'a str, AttrValue<'a>)>,
    pub children: Vec<XmlElement<'a>>,
}

pub fn el<'a>(name: &'a str, attrs: Vec<(&'a str, AttrValue<'a>)>, children: Vec<XmlElement<'a>>) -> XmlElement<'a> {
    XmlElement { name, attrs, children }
}

fn android_attr_id(name: &str) -> Option<u32> {
    Some(match name {
        "label" => 0x0101_0001,
        "name" => 0x0101_0003,
        "permission" => 0x0101_0006,
        "enabled" => 0x0101_000e,
        "minSdkVersion" => 0x0101_020c,
        "versionCode" => 0x0101_021b,
        "versionName" => 0x0101_021c,
        "targetSdkVersion" => 0x0101_0270,
        "smallScreens" => 0x0101_0284,
        "normalScreens" => 0x0101_0285,
        "largeScreens" => 0x0101_0286,
        "xlargeScreens" => 0x0101_02bf,
        _ => return None,
    })
}

/// The string pool: resource-mapped attribute names first, in resource-map order.
struct Pool {
    strings: Vec<String>,
    resource_ids: Vec<u32>,
}

impl Pool {
    fn index(&mut self, s: &str) -> u32 {
        let at = match self.strings.iter().position(|x| x == s) {
            Some(i) => i,
            None => {
                self.strings.push(s.to_owned());
                self.strings.len() - 1
            }
        };
        u32::try_from(at).expect("small pool")
    }

    fn collect_attr_names(&mut self, e: &XmlElement<'_>) {
        for (name, _) in &e.attrs {
            if let Some(id) = android_attr_id(name) {
                if !self.strings.iter().any(|s| s == name) {
                    self.strings.push((*name).to_owned());
                    self.resource_ids.push(id);
                }
            }
        }
        for c in &e.children {
            self.collect_attr_names(c);
        }
    }
}

fn push_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn push_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn chunk(kind: u16, header_size: u16, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    push_u16(&mut out, kind);
    push_u16(&mut out, header_size);
    push_u32(&mut out, u32::try_from(8 + body.len()).expect("small chunk"));
    out.extend_from_slice(body);
    out
}

/// Encodes `root` as an AndroidManifest.xml in Android's binary XML format.
pub fn encode_axml(root: &XmlElement<'_>) -> Vec<u8> {
    let mut pool = Pool { strings: Vec::new(), resource_ids: Vec::new() };
    pool.collect_attr_names(root);
    let ns_prefix = pool.index("android");
    let ns_uri = pool.index(ANDROID_NS);

    let mut nodes = Vec::new();
    nodes.extend(namespace_chunk(0x0100, ns_prefix, ns_uri));
    encode_element(root, &mut pool, ns_uri, &mut nodes);
    nodes.extend(namespace_chunk(0x0101, ns_prefix, ns_uri));

    let mut map = Vec::new();
    for id in &pool.resource_ids {
        push_u32(&mut map, *id);
    }
    let mut body = string_pool_chunk(&pool.strings);
    body.extend(chunk(0x0180, 8, &map));
    body.extend(nodes);
    chunk(0x0003, 8, &body)
}

fn namespace_chunk(kind: u16, prefix: u32, uri: u32) -> Vec<u8> {
    let mut body = Vec::new();
    push_u32(&mut body, 1); // line number
    push_u32(&mut body, NO_INDEX); // comment
    push_u32(&mut body, prefix);
    push_u32(&mut body, uri);
    chunk(kind, 16, &body)
}

fn encode_element(e: &XmlElement<'_>, pool: &mut Pool, ns_uri: u32, out: &mut Vec<u8>) {
    let name = pool.index(e.name);
    let mut body = Vec::new();
    push_u32(&mut body, 1);
    push_u32(&mut body, NO_INDEX);
    push_u32(&mut body, NO_INDEX); // element namespace
    push_u32(&mut body, name);
    push_u16(&mut body, 20); // attribute start
    push_u16(&mut body, 20); // attribute size
    push_u16(&mut body, u16::try_from(e.attrs.len()).expect("few attributes"));
    push_u16(&mut body, 0); // id index
    push_u16(&mut body, 0); // class index
    push_u16(&mut body, 0); // style index
    for (attr_name, value) in &e.attrs {
        let ns = if android_attr_id(attr_name).is_some() { ns_uri } else { NO_INDEX };
        let name_index = pool.index(attr_name);
        let (raw, data_type, data) = match value {
            AttrValue::Str(s) => {
                let i = pool.index(s);
                (i, 0x03u8, i)
            }
            AttrValue::Int(v) => (NO_INDEX, 0x10, *v),
            AttrValue::Bool(b) => (NO_INDEX, 0x12, if *b { u32::MAX } else { 0 }),
            AttrValue::Reference(id) => (NO_INDEX, 0x01, *id),
        };
        push_u32(&mut body, ns);
        push_u32(&mut body, name_index);
        push_u32(&mut body, raw);
        push_u16(&mut body, 8); // Res_value size
        body.push(0);
        body.push(data_type);
        push_u32(&mut body, data);
    }
    out.extend(chunk(0x0102, 16, &body));
    for c in &e.children {
        encode_element(c, pool, ns_uri, out);
    }
    let mut end = Vec::new();
    push_u32(&mut end, 1);
    push_u32(&mut end, NO_INDEX);
    push_u32(&mut end, NO_INDEX);
    push_u32(&mut end, name);
    out.extend(chunk(0x0103, 16, &end));
}

/// A UTF-16 string pool (no styles), as aapt2 writes for manifests.
fn string_pool_chunk(strings: &[String]) -> Vec<u8> {
    let mut data = Vec::new();
    let mut offsets = Vec::new();
    for s in strings {
        offsets.push(u32::try_from(data.len()).expect("small pool"));
        let units: Vec<u16> = s.encode_utf16().collect();
        push_u16(&mut data, u16::try_from(units.len()).expect("short string"));
        for u in units {
            push_u16(&mut data, u);
        }
        push_u16(&mut data, 0);
    }
    while data.len() % 4 != 0 {
        data.push(0);
    }
    let header_size = 28u32;
    let strings_start = header_size + 4 * u32::try_from(strings.len()).expect("small pool");
    let mut body = Vec::new();
    push_u32(&mut body, u32::try_from(strings.len()).expect("small pool"));
    push_u32(&mut body, 0); // style count
    push_u32(&mut body, 0); // flags: UTF-16, unsorted
    push_u32(&mut body, strings_start);
    push_u32(&mut body, 0); // styles start
    for o in offsets {
        push_u32(&mut body, o);
    }
    body.extend(data);
    chunk(0x0001, 28, &body)
}

/// A typical app manifest: package, versions, uses-sdk, a launcher activity.
pub fn sample_manifest() -> Vec<u8> {
    use AttrValue::*;
    encode_axml(&el(
        "manifest",
        vec![("versionCode", Int(42)), ("versionName", Str("1.2.3")), ("package", Str("com.example.app"))],
        vec![
            el("uses-sdk", vec![("minSdkVersion", Int(24)), ("targetSdkVersion", Int(33))], vec![]),
            el("supports-screens", vec![("smallScreens", Bool(false))], vec![]),
            el(
                "application",
                vec![("label", Reference(0x7f0a_0001))],
                vec![
                    el("activity", vec![("name", Str(".SettingsActivity"))], vec![]),
                    el(
                        "activity",
                        vec![("name", Str(".MainActivity"))],
                        vec![el(
                            "intent-filter",
                            vec![],
                            vec![
                                el("action", vec![("name", Str("android.intent.action.MAIN"))], vec![]),
                                el("category", vec![("name", Str("android.intent.category.LAUNCHER"))], vec![]),
                            ],
                        )],
                    ),
                ],
            ),
        ],
    ))
}
