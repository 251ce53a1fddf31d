//! Curated test specs: one upload per custom-environment test type that farmhand offers in
//! every project (category CURATED), as AWS offers its "Default TestSpec for …" uploads.
//! Each holds farmhand's own default spec for its test type (host::default_specs).
//!
//! Their ARNs are account-less, `arn:aws:devicefarm:REGION::upload:UUID`. Where public
//! material shows which of AWS's curated specs an id is (AWS's own examples pass them as
//! `testSpecArn` of a run of that type), the id is AWS's, so scripts that hard-code it work
//! unchanged; the others are name-based UUIDs (v5) of ours, from the upload type, so they
//! are the same in every region and at every start. docs/curated-identifiers.md holds the
//! evidence for each.

use uuid::Uuid;

use crate::upload::{TestType, UploadType};

/// farmhand's namespace for the ids of curated specs AWS's id of which is not known.
/// Changing it would change those ARNs.
const NAMESPACE: Uuid = Uuid::from_u128(0x6c1e_54a2_0f3b_4d8e_9a71_c3d2_5b8e_f104);

/// When every curated spec was "created": fixed, because they do not change while farmhand
/// runs and a listing must not change from one call to the next (2019-01-10, when AWS's
/// oldest known curated spec id was minted).
pub const CREATED_MS: i64 = 1_547_078_400_000;

/// A curated test spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CuratedSpec {
    /// The UUID after `upload:`.
    pub id: String,
    pub upload_type: UploadType,
    pub name: &'static str,
}

/// (AWS's id when known, type, name). An APPIUM_PYTHON spec appears twice because AWS's own
/// examples use two ids for it (its developer guide and its SDK code library).
const CATALOG: [(Option<&str>, UploadType, &str); 13] = [
    (
        Some("100e31e8-12ac-11e9-ab14-d663b5a4a906"),
        UploadType::AppiumJavaJunitTestSpec,
        "Default TestSpec for Android Appium Java Junit",
    ),
    (
        Some("100e31e8-12ac-11e9-ab14-d663b5a4a910"),
        UploadType::AppiumJavaTestngTestSpec,
        "Default TestSpec for Android Appium Java TestNG",
    ),
    (
        Some("101e31e8-12ac-11e9-ab14-d663bd873e83"),
        UploadType::AppiumPythonTestSpec,
        "Default TestSpec for Android Appium Python",
    ),
    (
        Some("20fcf771-eae3-4137-aa76-92e17fb3131b"),
        UploadType::AppiumPythonTestSpec,
        "Default TestSpec for Android Appium Python",
    ),
    (None, UploadType::AppiumNodeTestSpec, "Default TestSpec for Android Appium Node.js"),
    (None, UploadType::AppiumRubyTestSpec, "Default TestSpec for Android Appium Ruby"),
    (None, UploadType::AppiumWebJavaJunitTestSpec, "Default TestSpec for Web Appium Java Junit"),
    (None, UploadType::AppiumWebJavaTestngTestSpec, "Default TestSpec for Web Appium Java TestNG"),
    (None, UploadType::AppiumWebPythonTestSpec, "Default TestSpec for Web Appium Python"),
    (None, UploadType::AppiumWebNodeTestSpec, "Default TestSpec for Web Appium Node.js"),
    (None, UploadType::AppiumWebRubyTestSpec, "Default TestSpec for Web Appium Ruby"),
    (None, UploadType::InstrumentationTestSpec, "Default TestSpec for Android Instrumentation"),
    (None, UploadType::XctestUiTestSpec, "Default TestSpec for iOS XCTest UI"),
];

/// Every curated spec, in the order ListUploads gives them.
pub fn curated_specs() -> Vec<CuratedSpec> {
    CATALOG
        .iter()
        .map(|(aws_id, upload_type, name)| CuratedSpec {
            id: aws_id
                .map(str::to_owned)
                .unwrap_or_else(|| Uuid::new_v5(&NAMESPACE, upload_type.as_str().as_bytes()).to_string()),
            upload_type: *upload_type,
            name,
        })
        .collect()
}

/// `arn:aws:devicefarm:REGION::upload:ID`.
pub fn curated_spec_arn(region: &str, id: &str) -> String {
    format!("arn:aws:devicefarm:{region}::upload:{id}")
}

/// The curated spec `arn` names in `region`, if it names one.
pub fn find_curated_spec(region: &str, arn: &str) -> Option<CuratedSpec> {
    let id = arn.strip_prefix(&format!("arn:aws:devicefarm:{region}::upload:"))?;
    curated_specs().into_iter().find(|spec| spec.id == id)
}

/// The curated spec with this id, whatever the region (the download route knows only the id).
pub fn curated_spec_by_id(id: &str) -> Option<CuratedSpec> {
    curated_specs().into_iter().find(|spec| spec.id == id)
}

impl CuratedSpec {
    pub fn arn(&self, region: &str) -> String {
        curated_spec_arn(region, &self.id)
    }

    /// The test type (ScheduleRunTest.type) whose runs it serves.
    pub fn test_type(&self) -> TestType {
        // The catalog holds test spec types only (`every_test_spec_type_has_a_curated_spec_for_its_test_type`).
        self.upload_type.test_type().expect("a curated spec's upload type is a test spec type")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upload::{test_spec_type_for, UploadKind};
    use std::collections::BTreeSet;

    #[test]
    fn every_test_spec_type_has_a_curated_spec_for_its_test_type() {
        let specs = curated_specs();
        let covered: BTreeSet<&str> = specs.iter().map(|s| s.upload_type.as_str()).collect();
        let spec_types: BTreeSet<&str> =
            UploadType::ALL.iter().filter(|t| t.kind() == UploadKind::TestSpec).map(|t| t.as_str()).collect();
        assert_eq!(covered, spec_types);
        for spec in &specs {
            assert_eq!(test_spec_type_for(spec.test_type()), Some(spec.upload_type), "{}", spec.name);
        }
    }

    #[test]
    fn ids_are_unique_stable_uuids() {
        let specs = curated_specs();
        let ids: BTreeSet<&str> = specs.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids.len(), specs.len());
        assert!(specs.iter().all(|s| Uuid::parse_str(&s.id).is_ok()));
        assert_eq!(specs, curated_specs());
        // docs/curated-identifiers.md lists the ids of ours; they must not move.
        let node = specs.iter().find(|s| s.upload_type == UploadType::AppiumNodeTestSpec).expect("node");
        assert_eq!(node.id, "46234c21-96b4-5213-8f66-6f45096ba480");
        let xctest = specs.iter().find(|s| s.upload_type == UploadType::XctestUiTestSpec).expect("xctest");
        assert_eq!(xctest.id, "8aa1a00f-df29-54b4-b191-e8850eb5a908");
    }

    #[test]
    fn aws_ids_are_kept_and_found_only_in_their_region() {
        let arn = "arn:aws:devicefarm:us-west-2::upload:20fcf771-eae3-4137-aa76-92e17fb3131b";
        let spec = find_curated_spec("us-west-2", arn).expect("AWS's SDK example spec");
        assert_eq!(spec.upload_type, UploadType::AppiumPythonTestSpec);
        assert_eq!(spec.arn("us-west-2"), arn);
        assert_eq!(find_curated_spec("eu-west-1", arn), None);
        assert_eq!(find_curated_spec("us-west-2", "arn:aws:devicefarm:us-west-2::upload:nope"), None);
        assert_eq!(curated_spec_by_id(&spec.id), Some(spec));
    }
}
