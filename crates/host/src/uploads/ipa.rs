//! Inspection of an iOS app: a zip holding `Payload/<Name>.app/Info.plist`, whose
//! bundle keys become the upload's metadata.
//!
//! AWS publishes no example of an IPA's metadata, so farmhand's keys follow the APK ones
//! where the meaning is the same (**decision**): `package_name` (CFBundleIdentifier),
//! `version_name` (CFBundleShortVersionString), `version_code` (CFBundleVersion), plus
//! `minimum_os_version` (MinimumOSVersion), `executable` (CFBundleExecutable) and
//! `app_name` (the `.app` folder's name). Keys missing from Info.plist are left out.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::io::Cursor;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::archive::CheckedZip;
use super::limits::InspectLimits;
use super::Inspection;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct IpaMetadata {
    pub app_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum_os_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executable: Option<String>,
}

pub(crate) fn inspect(mut zip: CheckedZip, limits: &InspectLimits) -> Inspection {
    let Some(app_name) = app_bundle_name(&zip) else {
        return Inspection::failed("Invalid iOS app: the IPA has no Payload/<Name>.app folder".to_owned());
    };
    let plist_name = format!("Payload/{app_name}/Info.plist");
    let Some(index) = zip.find(&plist_name).filter(|e| !e.is_dir).map(|e| e.index) else {
        return Inspection::failed(format!("Invalid iOS app: {plist_name} is missing"));
    };
    let bytes = match zip.read_capped(index, limits.max_metadata_file) {
        Ok(bytes) => bytes,
        Err(e) => return Inspection::failed(format!("Invalid iOS app: {e}")),
    };
    let info = match read_info_plist(bytes) {
        Ok(info) => info,
        Err(reason) => return Inspection::failed(format!("Invalid iOS app: {plist_name} {reason}")),
    };
    let text = |key: &str| info.get(key);
    let metadata = IpaMetadata {
        package_name: text("CFBundleIdentifier"),
        version_name: text("CFBundleShortVersionString"),
        version_code: text("CFBundleVersion"),
        minimum_os_version: text("MinimumOSVersion"),
        executable: text("CFBundleExecutable"),
        app_name: app_name.trim_end_matches(".app").to_owned(),
    };
    match serde_json::to_string(&metadata) {
        Ok(json) => Inspection::succeeded(Some(json)),
        Err(e) => Inspection::failed(format!("could not record the app's metadata: {e}")),
    }
}

/// The first `<Name>.app` folder directly under `Payload/`, in archive order.
fn app_bundle_name(zip: &CheckedZip) -> Option<String> {
    zip.entries().iter().find_map(|e| {
        let rest = e.name.strip_prefix("Payload/")?;
        let (bundle, _) = rest.split_once('/')?;
        (bundle.len() > ".app".len() && bundle.ends_with(".app")).then(|| bundle.to_owned())
    })
}

/// Reads the string values of [`WANTED_KEYS`] from a binary or XML property list whose
/// root must be a dictionary.
///
/// The plist is walked, never built into a tree: a binary plist may reference one array
/// from many places, so a few hundred bytes can stand for billions of values, and nesting
/// can go as deep as the file is long. The walk stops past [`MAX_DEPTH`] levels or
/// [`MAX_NODES`] values; real Info.plists are a few levels deep and a few thousand values.
fn read_info_plist(bytes: Vec<u8>) -> Result<InfoStrings, String> {
    plist::from_reader(Cursor::new(bytes)).map_err(|e| format!("is not a usable property list ({e})"))
}

const WANTED_KEYS: [&str; 5] =
    ["CFBundleIdentifier", "CFBundleShortVersionString", "CFBundleVersion", "MinimumOSVersion", "CFBundleExecutable"];
const MAX_DEPTH: u32 = 64;
const MAX_NODES: u32 = 100_000;

/// The wanted keys' values, when they are strings.
#[derive(Debug, Default)]
struct InfoStrings(BTreeMap<&'static str, String>);

impl InfoStrings {
    fn get(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
}

impl<'de> Deserialize<'de> for InfoStrings {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<InfoStrings, D::Error> {
        let budget = Cell::new(MAX_NODES);
        deserializer.deserialize_any(RootSeed { budget: &budget })
    }
}

struct RootSeed<'b> {
    budget: &'b Cell<u32>,
}

impl<'de> Visitor<'de> for RootSeed<'_> {
    type Value = InfoStrings;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a dictionary at the root")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<InfoStrings, A::Error> {
        let mut found = InfoStrings::default();
        while let Some(key) = map.next_key_seed(Bounded { depth: 1, budget: self.budget })? {
            let value = map.next_value_seed(Bounded { depth: 1, budget: self.budget })?;
            let wanted = key.and_then(|k| WANTED_KEYS.into_iter().find(|w| *w == k));
            if let (Some(wanted), Some(value)) = (wanted, value) {
                found.0.insert(wanted, value);
            }
        }
        Ok(found)
    }
}

/// Walks any value within the depth and node budget; yields it when it is a string.
#[derive(Clone, Copy)]
struct Bounded<'b> {
    depth: u32,
    budget: &'b Cell<u32>,
}

impl Bounded<'_> {
    fn spend<E: de::Error>(&self) -> Result<(), E> {
        let left = self.budget.get();
        if left == 0 {
            return Err(E::custom(format!("more than {MAX_NODES} values")));
        }
        self.budget.set(left - 1);
        Ok(())
    }

    fn child<E: de::Error>(&self) -> Result<Bounded<'_>, E> {
        if self.depth >= MAX_DEPTH {
            return Err(E::custom(format!("nested deeper than {MAX_DEPTH} levels")));
        }
        Ok(Bounded { depth: self.depth + 1, budget: self.budget })
    }
}

impl<'de> DeserializeSeed<'de> for Bounded<'_> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Bounded<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any property-list value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.spend()?;
        Ok(Some(v.to_owned()))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        self.spend().map(|()| None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        self.spend().map(|()| None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        self.spend().map(|()| None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        self.spend().map(|()| None)
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
        self.spend().map(|()| None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        self.spend()?;
        let child = self.child()?;
        while seq.next_element_seed(child)?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        self.spend()?;
        let child = self.child()?;
        while map.next_key_seed(child)?.is_some() {
            map.next_value_seed(child)?;
        }
        Ok(None)
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        // Dates and UIDs arrive as single-variant enums.
        self.spend()?;
        let (_, variant) = data.variant::<de::IgnoredAny>()?;
        variant.newtype_variant_seed(self.child()?)?;
        Ok(None)
    }
}
