//! Writes `crates/protocol/src/model/generated.rs` from botocore's Device Farm service model.
//!
//! The model is the contract for every operation, shape, enum and constraint; generating
//! from it (instead of typing 77 operations and 340 shapes by hand) keeps farmhand exact and
//! lets a model update be a regenerate-and-review. The output is checked in so that a build
//! never needs Python or botocore; `.ci/run` regenerates it and fails on a difference.
//!
//! Usage: `cargo run -p codegen -- [MODEL_PATH] [OUTPUT_PATH]`. Without a model path the
//! model is found inside the installed botocore package (via `python3`).

use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Read;
use std::path::PathBuf;

/// Test types that the seed (an older API version) still lists and today's model dropped.
/// Users' scripts written against it must keep working, so they are accepted everywhere the
/// model's `TestType` is.
const SEED_ERA_TEST_TYPES: &[&str] = &[
    "BUILTIN_EXPLORER",
    "WEB_PERFORMANCE_PROFILE",
    "CALABASH",
    "UIAUTOMATION",
    "UIAUTOMATOR",
    "REMOTE_ACCESS_RECORD",
    "REMOTE_ACCESS_REPLAY",
];

/// Members of remote access sessions that the seed's API version has and today's model
/// dropped (`shape`, `member`, target shape), accepted and answered so that scripts written
/// against it keep working. `networkProfileArn` is farmhand's own: the notes give remote
/// access sessions a network profile, which no model version carries.
const SEED_ERA_MEMBERS: &[(&str, &str, &str)] = &[
    ("CreateRemoteAccessSessionRequest", "remoteDebugEnabled", "Boolean"),
    ("CreateRemoteAccessSessionRequest", "remoteRecordEnabled", "Boolean"),
    ("CreateRemoteAccessSessionRequest", "remoteRecordAppArn", "AmazonResourceName"),
    ("CreateRemoteAccessSessionRequest", "sshPublicKey", "SshPublicKey"),
    ("CreateRemoteAccessSessionRequest", "clientId", "ClientId"),
    ("CreateRemoteAccessSessionConfiguration", "networkProfileArn", "AmazonResourceName"),
    ("RemoteAccessSession", "remoteDebugEnabled", "Boolean"),
    ("RemoteAccessSession", "remoteRecordEnabled", "Boolean"),
    ("RemoteAccessSession", "remoteRecordAppArn", "AmazonResourceName"),
    ("RemoteAccessSession", "hostAddress", "HostAddress"),
    ("RemoteAccessSession", "clientId", "ClientId"),
];

/// The seed era's string shapes those members name (`name`, max length).
const SEED_ERA_STRINGS: &[(&str, u32)] = &[("SshPublicKey", 8192), ("ClientId", 64), ("HostAddress", 1024)];

const DEFAULT_OUTPUT: &str = "crates/protocol/src/model/generated.rs";

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let model_path = match args.next() {
        Some(p) => PathBuf::from(p),
        None => locate_botocore_model()?,
    };
    let output = PathBuf::from(args.next().unwrap_or_else(|| DEFAULT_OUTPUT.to_string()));
    let mut model = read_model(&model_path)?;
    add_seed_era_members(&mut model)?;
    let code = Generator::new(&model)?.generate()?;
    std::fs::write(&output, code).with_context(|| format!("writing {}", output.display()))?;
    eprintln!("wrote {}", output.display());
    Ok(())
}

fn locate_botocore_model() -> Result<PathBuf> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(python)
        .args(["-c", "import botocore, os; print(os.path.dirname(botocore.__file__))"])
        .output()
        .context("running python3 to find botocore")?;
    if !out.status.success() {
        bail!("botocore is not importable: {}", String::from_utf8_lossy(&out.stderr));
    }
    let dir = String::from_utf8(out.stdout)?.trim().to_string();
    Ok(PathBuf::from(dir).join("data/devicefarm/2015-06-23/service-2.json.gz"))
}

fn add_seed_era_members(model: &mut Value) -> Result<()> {
    let shapes = model["shapes"].as_object_mut().context("model has no shapes")?;
    for (name, max) in SEED_ERA_STRINGS {
        shapes.entry(*name).or_insert_with(|| serde_json::json!({"type": "string", "min": 0, "max": max}));
    }
    for (shape, member, target) in SEED_ERA_MEMBERS {
        let members = shapes
            .get_mut(*shape)
            .and_then(|s| s.get_mut("members"))
            .and_then(Value::as_object_mut)
            .with_context(|| format!("model has no structure {shape}"))?;
        members.entry(*member).or_insert_with(|| serde_json::json!({"shape": target}));
    }
    Ok(())
}

fn read_model(path: &PathBuf) -> Result<Value> {
    let raw = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let text = if path.extension().is_some_and(|e| e == "gz") {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&raw[..]).read_to_string(&mut s)?;
        s
    } else {
        String::from_utf8(raw)?
    };
    Ok(serde_json::from_str(&text)?)
}

struct Generator<'m> {
    shapes: &'m Map<String, Value>,
    operations: &'m Map<String, Value>,
    /// Shape name → index in the generated `SHAPES` table.
    index: BTreeMap<&'m str, usize>,
    target_prefix: String,
}

impl<'m> Generator<'m> {
    fn new(model: &'m Value) -> Result<Self> {
        let shapes = model["shapes"].as_object().context("model has no shapes")?;
        let operations = model["operations"].as_object().context("model has no operations")?;
        let index = shapes.keys().enumerate().map(|(i, k)| (k.as_str(), i)).collect();
        let target_prefix =
            model["metadata"]["targetPrefix"].as_str().context("model has no targetPrefix")?.to_string();
        Ok(Self { shapes, operations, index, target_prefix })
    }

    fn shape(&self, name: &str) -> Result<&'m Map<String, Value>> {
        self.shapes[name].as_object().with_context(|| format!("shape {name} is not an object"))
    }

    fn enum_values(&self, name: &str, shape: &Map<String, Value>) -> Vec<String> {
        let mut values: Vec<String> = shape
            .get("enum")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        if name == "TestType" {
            for extra in SEED_ERA_TEST_TYPES {
                if !values.iter().any(|v| v == extra) {
                    values.push((*extra).to_string());
                }
            }
        }
        values
    }

    fn generate(&self) -> Result<String> {
        let mut out = String::new();
        writeln!(out, "// @generated by `cargo run -p codegen` from botocore's devicefarm 2015-06-23 model.")?;
        writeln!(out, "// Do not edit: change crates/codegen and regenerate.")?;
        writeln!(out, "#![allow(clippy::all, missing_docs)]\n")?;
        writeln!(out, "use super::schema::{{Kind, Member, ShapeDef}};")?;
        writeln!(out, "use serde::{{Deserialize, Serialize}};")?;
        writeln!(out, "use std::collections::BTreeMap;\n")?;
        writeln!(out, "pub const TARGET_PREFIX: &str = {:?};\n", self.target_prefix)?;
        self.gen_operations(&mut out)?;
        self.gen_shape_table(&mut out)?;
        self.gen_types(&mut out)?;
        Ok(out)
    }

    fn gen_operations(&self, out: &mut String) -> Result<()> {
        let names: Vec<&String> = self.operations.keys().collect();
        writeln!(out, "/// Every operation of the Device Farm API.")?;
        writeln!(out, "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]")?;
        writeln!(out, "pub enum Operation {{")?;
        for n in &names {
            writeln!(out, "    {n},")?;
        }
        writeln!(out, "}}\n")?;
        writeln!(out, "impl Operation {{")?;
        writeln!(out, "    pub const ALL: [Operation; {}] = [", names.len())?;
        for n in &names {
            writeln!(out, "        Operation::{n},")?;
        }
        writeln!(out, "    ];\n")?;
        writeln!(out, "    pub fn name(self) -> &'static str {{\n        match self {{")?;
        for n in &names {
            writeln!(out, "            Operation::{n} => {n:?},")?;
        }
        writeln!(out, "        }}\n    }}\n")?;
        writeln!(out, "    pub fn from_name(name: &str) -> Option<Self> {{\n        match name {{")?;
        for n in &names {
            writeln!(out, "            {n:?} => Some(Operation::{n}),")?;
        }
        writeln!(out, "            _ => None,\n        }}\n    }}\n")?;
        writeln!(out, "    /// Index in [`SHAPES`] of the operation's input structure.")?;
        writeln!(out, "    pub fn input_shape(self) -> Option<usize> {{\n        match self {{")?;
        for n in &names {
            match self.operations[n.as_str()]["input"]["shape"].as_str() {
                Some(s) => writeln!(out, "            Operation::{n} => Some({}),", self.index[s])?,
                None => writeln!(out, "            Operation::{n} => None,")?,
            }
        }
        writeln!(out, "        }}\n    }}\n")?;
        writeln!(out, "    /// The modelled errors the operation may return.")?;
        writeln!(out, "    pub fn errors(self) -> &'static [&'static str] {{\n        match self {{")?;
        for n in &names {
            let errs: Vec<String> = self.operations[n.as_str()]["errors"]
                .as_array()
                .map(|a| a.iter().filter_map(|e| e["shape"].as_str().map(|s| format!("{s:?}"))).collect())
                .unwrap_or_default();
            writeln!(out, "            Operation::{n} => &[{}],", errs.join(", "))?;
        }
        writeln!(out, "        }}\n    }}\n}}\n")?;
        Ok(())
    }

    fn gen_shape_table(&self, out: &mut String) -> Result<()> {
        writeln!(out, "/// Every shape of the model with its constraints, indexed by position.")?;
        writeln!(out, "pub static SHAPES: [ShapeDef; {}] = [", self.shapes.len())?;
        for (name, _) in self.shapes {
            let s = self.shape(name)?;
            let kind = self.kind_literal(name, s)?;
            writeln!(out, "    ShapeDef {{ name: {name:?}, kind: {kind} }},")?;
        }
        writeln!(out, "];\n")?;
        writeln!(out, "pub fn shape_index(name: &str) -> Option<usize> {{\n    match name {{")?;
        for (name, i) in &self.index {
            writeln!(out, "        {name:?} => Some({i}),")?;
        }
        writeln!(out, "        _ => None,\n    }}\n}}\n")?;
        Ok(())
    }

    fn bound(s: &Map<String, Value>, key: &str) -> String {
        match s.get(key).and_then(Value::as_f64) {
            Some(v) => format!("Some({})", v as i64),
            None => "None".into(),
        }
    }

    fn kind_literal(&self, name: &str, s: &Map<String, Value>) -> Result<String> {
        let (min, max) = (Self::bound(s, "min"), Self::bound(s, "max"));
        Ok(match s["type"].as_str().unwrap_or_default() {
            "structure" => {
                let required: BTreeSet<&str> = s
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let mut members = String::new();
                if let Some(ms) = s.get("members").and_then(Value::as_object) {
                    for (m, def) in ms {
                        let target = def["shape"].as_str().context("member without shape")?;
                        write!(
                            members,
                            "Member {{ name: {m:?}, shape: {}, required: {} }}, ",
                            self.index[target],
                            required.contains(m.as_str())
                        )?;
                    }
                }
                format!("Kind::Structure {{ members: &[{members}] }}")
            }
            "list" => {
                let member = s["member"]["shape"].as_str().context("list without member")?;
                format!("Kind::List {{ member: {}, min: {min}, max: {max} }}", self.index[member])
            }
            "map" => {
                let key = s["key"]["shape"].as_str().context("map without key")?;
                let value = s["value"]["shape"].as_str().context("map without value")?;
                format!(
                    "Kind::Map {{ key: {}, value: {}, min: {min}, max: {max} }}",
                    self.index[key], self.index[value]
                )
            }
            "string" => {
                let values = self.enum_values(name, s);
                let values: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
                let pattern = match s.get("pattern").and_then(Value::as_str) {
                    Some(p) => format!("Some({p:?})"),
                    None => "None".into(),
                };
                format!(
                    "Kind::String {{ enum_values: &[{}], pattern: {pattern}, min: {min}, max: {max} }}",
                    values.join(", ")
                )
            }
            "integer" => format!("Kind::Integer {{ min: {min}, max: {max}, wide: false }}"),
            "long" => format!("Kind::Integer {{ min: {min}, max: {max}, wide: true }}"),
            "double" | "float" => format!("Kind::Double {{ min: {min}, max: {max} }}"),
            "boolean" => "Kind::Boolean".into(),
            "timestamp" => "Kind::Timestamp".into(),
            "blob" => "Kind::Blob".into(),
            other => bail!("shape {name} has unsupported type {other}"),
        })
    }

    fn rust_type(&self, shape: &str) -> Result<String> {
        let s = self.shape(shape)?;
        Ok(match s["type"].as_str().unwrap_or_default() {
            "structure" => shape.to_string(),
            "string" if s.contains_key("enum") => shape.to_string(),
            "string" => "String".into(),
            "integer" => "i32".into(),
            "long" => "i64".into(),
            "double" | "float" => "f64".into(),
            "boolean" => "bool".into(),
            "timestamp" => "Timestamp".into(),
            "blob" => "String".into(),
            "list" => format!("Vec<{}>", self.rust_type(s["member"]["shape"].as_str().unwrap_or_default())?),
            "map" => format!("BTreeMap<String, {}>", self.rust_type(s["value"]["shape"].as_str().unwrap_or_default())?),
            other => bail!("unsupported type {other}"),
        })
    }

    /// Whether `Default` can be derived: enums have no meaningful default, so a structure
    /// that *requires* an enum (or a structure without one) cannot have one either.
    fn has_default(&self, shape: &str) -> Result<bool> {
        let s = self.shape(shape)?;
        Ok(match s["type"].as_str().unwrap_or_default() {
            "string" => !s.contains_key("enum"),
            "structure" => {
                let required: Vec<&str> = s
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let members = s.get("members").and_then(Value::as_object);
                let mut ok = true;
                for r in required {
                    if let Some(target) = members.and_then(|m| m[r]["shape"].as_str()) {
                        ok &= self.has_default(target)?;
                    }
                }
                ok
            }
            _ => true,
        })
    }

    fn gen_types(&self, out: &mut String) -> Result<()> {
        writeln!(out, "/// Epoch seconds, fractions allowed, as the JSON 1.1 protocol sends timestamps.")?;
        writeln!(out, "pub type Timestamp = f64;\n")?;
        for (name, _) in self.shapes {
            let s = self.shape(name)?;
            match s["type"].as_str().unwrap_or_default() {
                "structure" => self.gen_struct(out, name, s)?,
                "string" if s.contains_key("enum") => self.gen_enum(out, name, s)?,
                _ => {}
            }
        }
        Ok(())
    }

    fn gen_struct(&self, out: &mut String, name: &str, s: &Map<String, Value>) -> Result<()> {
        let required: BTreeSet<&str> = s
            .get("required")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let derive_default = if self.has_default(name)? { ", Default" } else { "" };
        writeln!(out, "#[derive(Debug, Clone, PartialEq, Serialize, Deserialize{derive_default})]")?;
        writeln!(out, "pub struct {name} {{")?;
        if let Some(ms) = s.get("members").and_then(Value::as_object) {
            for (m, def) in ms {
                let target = def["shape"].as_str().context("member without shape")?;
                let ty = self.rust_type(target)?;
                let field = field_name(m);
                if required.contains(m.as_str()) {
                    writeln!(out, "    #[serde(rename = {m:?})]")?;
                    writeln!(out, "    pub {field}: {ty},")?;
                } else {
                    writeln!(out, "    #[serde(rename = {m:?}, default, skip_serializing_if = \"Option::is_none\")]")?;
                    writeln!(out, "    pub {field}: Option<{ty}>,")?;
                }
            }
        }
        writeln!(out, "}}\n")?;
        Ok(())
    }

    fn gen_enum(&self, out: &mut String, name: &str, s: &Map<String, Value>) -> Result<()> {
        let values = self.enum_values(name, s);
        writeln!(out, "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]")?;
        writeln!(out, "pub enum {name} {{")?;
        for v in &values {
            writeln!(out, "    #[serde(rename = {v:?})]\n    {},", variant_name(v))?;
        }
        writeln!(out, "}}\n")?;
        writeln!(out, "impl {name} {{")?;
        writeln!(
            out,
            "    pub const ALL: &'static [{name}] = &[{}];",
            values.iter().map(|v| format!("{name}::{}", variant_name(v))).collect::<Vec<_>>().join(", ")
        )?;
        writeln!(out, "    pub fn as_str(self) -> &'static str {{\n        match self {{")?;
        for v in &values {
            writeln!(out, "            {name}::{} => {v:?},", variant_name(v))?;
        }
        writeln!(out, "        }}\n    }}\n")?;
        writeln!(out, "    pub fn parse(value: &str) -> Option<Self> {{\n        match value {{")?;
        for v in &values {
            writeln!(out, "            {v:?} => Some({name}::{}),", variant_name(v))?;
        }
        writeln!(out, "            _ => None,\n        }}\n    }}\n}}\n")?;
        writeln!(out, "impl std::fmt::Display for {name} {{\n    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{\n        f.write_str(self.as_str())\n    }}\n}}\n")?;
        Ok(())
    }
}

/// `UPPER_SNAKE` enum value → `UpperCamel` variant.
fn variant_name(value: &str) -> String {
    let mut name = String::new();
    for part in value.split(|c: char| !c.is_ascii_alphanumeric()).filter(|p| !p.is_empty()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            name.push(first.to_ascii_uppercase());
            name.extend(chars.map(|c| c.to_ascii_lowercase()));
        }
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, 'V');
    }
    name
}

/// camelCase member → snake_case field, escaping Rust keywords.
fn field_name(member: &str) -> String {
    let mut name = String::new();
    let chars: Vec<char> = member.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev_lower = i > 0 && !chars[i - 1].is_ascii_uppercase();
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if i > 0 && (prev_lower || next_lower) {
                name.push('_');
            }
            name.push(c.to_ascii_lowercase());
        } else {
            name.push(*c);
        }
    }
    match name.as_str() {
        "type" | "match" | "ref" | "self" | "mod" | "use" | "loop" | "move" => format!("r#{name}"),
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(variant_name("PENDING_CONCURRENCY"), "PendingConcurrency");
        assert_eq!(variant_name("XCTEST_UI"), "XctestUi");
        assert_eq!(field_name("deviceMinutes"), "device_minutes");
        assert_eq!(field_name("type"), "r#type");
        assert_eq!(field_name("Key"), "key");
        assert_eq!(field_name("awsAccountNumber"), "aws_account_number");
        assert_eq!(field_name("maxSlots"), "max_slots");
        assert_eq!(field_name("udid"), "udid");
        assert_eq!(field_name("vpceIds"), "vpce_ids");
        assert_eq!(field_name("appARN"), "app_arn");
    }
}
