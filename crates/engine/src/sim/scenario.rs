//! A parsed scenario and how it turns into one device's [`JobPlan`]: the top-level keys,
//! then every device override that matches, least specific first, each replacing only
//! the keys it sets.

use domain::device::DevicePlatform;
use domain::job::plan::{JobPlan, SimFile, TestPlan};

use super::error::ScenarioError;
use super::parse::parse_scenario;

/// What the simulated devices do for one test package. [`Scenario::default`] is a
/// package without a scenario file: every device gets [`JobPlan::default_simulation`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scenario {
    pub(super) base: Settings,
    /// In file order; [`super::parse`] refuses two with the same match, so the order
    /// never decides between overrides.
    pub(super) overrides: Vec<DeviceOverride>,
}

/// The keys a scenario and each of its overrides may set; `None` leaves the value to
/// the layer below.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Settings {
    pub setup_ms: Option<i64>,
    pub teardown_ms: Option<i64>,
    pub tests: Option<Vec<TestPlan>>,
    pub customer_files: Option<Vec<SimFile>>,
}

impl Settings {
    fn apply_to(&self, plan: &mut JobPlan) {
        if let Some(ms) = self.setup_ms {
            plan.setup_ms = ms;
        }
        if let Some(ms) = self.teardown_ms {
            plan.teardown_ms = ms;
        }
        if let Some(tests) = &self.tests {
            plan.tests.clone_from(tests);
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DeviceOverride {
    pub matcher: DeviceMatch,
    pub settings: Settings,
}

/// Which devices an override is for. At least one field is set; every set field must
/// match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DeviceMatch {
    pub name: Option<String>,
    pub platform: Option<DevicePlatform>,
}

impl DeviceMatch {
    fn matches(&self, device_name: &str, platform: DevicePlatform) -> bool {
        self.name.as_deref().is_none_or(|n| n == device_name) && self.platform.is_none_or(|p| p == platform)
    }

    /// A name picks out fewer devices than a platform, and both together fewer still.
    fn specificity(&self) -> u8 {
        u8::from(self.name.is_some()) * 2 + u8::from(self.platform.is_some())
    }
}

impl Scenario {
    /// Parses the text of a `farmhand-sim.yaml` (format in [`super`]).
    pub fn parse(yaml: &str) -> Result<Scenario, ScenarioError> {
        parse_scenario(yaml)
    }

    /// The layers that apply to a device, the last one winning: the top level, then the
    /// matching overrides from least to most specific.
    fn layers(&self, device_name: &str, platform: DevicePlatform) -> Vec<&Settings> {
        let mut matching: Vec<&DeviceOverride> =
            self.overrides.iter().filter(|o| o.matcher.matches(device_name, platform)).collect();
        matching.sort_by_key(|o| o.matcher.specificity());
        std::iter::once(&self.base).chain(matching.into_iter().map(|o| &o.settings)).collect()
    }

    /// The plan of a job on the device called `device_name` of `platform`.
    pub fn plan_for(&self, device_name: &str, platform: DevicePlatform) -> JobPlan {
        let mut plan = JobPlan::default_simulation();
        for layer in self.layers(device_name, platform) {
            layer.apply_to(&mut plan);
        }
        plan
    }

    /// The files that job leaves in its Customer Artifacts zip (none by default).
    pub fn customer_files_for(&self, device_name: &str, platform: DevicePlatform) -> Vec<SimFile> {
        self.layers(device_name, platform)
            .into_iter()
            .rev()
            .find_map(|layer| layer.customer_files.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::job::status::ExecutionResult;

    const PIXEL: &str = "Google Pixel 8";

    #[test]
    fn no_file_gives_the_default_simulation_on_every_device() {
        let s = Scenario::default();
        assert_eq!(s.plan_for(PIXEL, DevicePlatform::Android), JobPlan::default_simulation());
        assert_eq!(s.plan_for("Apple iPhone 15", DevicePlatform::Ios), JobPlan::default_simulation());
    }

    #[test]
    fn missing_keys_take_the_defaults() {
        let s = Scenario::parse("setup_seconds: 2\n").expect("valid");
        let plan = s.plan_for(PIXEL, DevicePlatform::Android);
        let default = JobPlan::default_simulation();
        assert_eq!(plan.setup_ms, 2_000);
        assert_eq!(plan.teardown_ms, 5_000);
        assert_eq!(plan.tests, default.tests);
    }

    #[test]
    fn an_empty_test_list_means_no_tests_not_the_default_ones() {
        let s = Scenario::parse("tests: []\n").expect("valid");
        let plan = s.plan_for(PIXEL, DevicePlatform::Android);
        assert!(plan.tests.is_empty());
        assert_eq!((plan.setup_ms, plan.teardown_ms), (5_000, 5_000));
    }

    #[test]
    fn the_issue_example_gives_its_timeline() {
        let s = Scenario::parse(
            "setup_seconds: 2\n\
             teardown_seconds: 1\n\
             tests:\n  \
               - {name: test_login, seconds: 3, result: PASSED}\n  \
               - {name: test_checkout, seconds: 3, result: FAILED, message: \"expected 200, got 500\"}\n",
        )
        .expect("valid");
        let plan = s.plan_for(PIXEL, DevicePlatform::Android);
        assert_eq!(
            plan,
            JobPlan {
                setup_ms: 2_000,
                teardown_ms: 1_000,
                tests: vec![
                    TestPlan {
                        name: "test_login".into(),
                        duration_ms: 3_000,
                        result: ExecutionResult::Passed,
                        message: None,
                    },
                    TestPlan {
                        name: "test_checkout".into(),
                        duration_ms: 3_000,
                        result: ExecutionResult::Failed,
                        message: Some("expected 200, got 500".into()),
                    },
                ],
            }
        );
    }

    const LAYERED: &str = "\
setup_seconds: 1
tests:
  - {name: base, seconds: 1}
devices:
  - match: {name: Google Pixel 8}
    tests:
      - {name: pixel, seconds: 2, result: FAILED}
  - match: {platform: ANDROID}
    setup_seconds: 4
    tests:
      - {name: android, seconds: 3, result: WARNED}
  - match: {name: Google Pixel 8, platform: IOS}
    teardown_seconds: 9
";

    fn test_names(plan: &JobPlan) -> Vec<&str> {
        plan.tests.iter().map(|t| t.name.as_str()).collect()
    }

    #[test]
    fn a_name_override_beats_a_platform_override_whatever_the_file_order() {
        let s = Scenario::parse(LAYERED).expect("valid");
        let pixel = s.plan_for(PIXEL, DevicePlatform::Android);
        assert_eq!(test_names(&pixel), ["pixel"]);
        // Keys the name override leaves out still come from the platform override.
        assert_eq!(pixel.setup_ms, 4_000);
        // The name+platform override is for iOS, so it does not apply here.
        assert_eq!(pixel.teardown_ms, 5_000);
    }

    #[test]
    fn a_platform_override_applies_to_other_devices_of_that_platform_only() {
        let s = Scenario::parse(LAYERED).expect("valid");
        let other_android = s.plan_for("Samsung Galaxy S24", DevicePlatform::Android);
        assert_eq!(test_names(&other_android), ["android"]);
        assert_eq!(other_android.setup_ms, 4_000);

        let iphone = s.plan_for("Apple iPhone 15", DevicePlatform::Ios);
        assert_eq!(test_names(&iphone), ["base"]);
        assert_eq!((iphone.setup_ms, iphone.teardown_ms), (1_000, 5_000));
    }

    #[test]
    fn name_and_platform_together_need_both_and_beat_either() {
        let s = Scenario::parse(LAYERED).expect("valid");
        // A device of that name on iOS gets the name override's tests and the
        // name+platform override's teardown.
        let plan = s.plan_for(PIXEL, DevicePlatform::Ios);
        assert_eq!(test_names(&plan), ["pixel"]);
        assert_eq!((plan.setup_ms, plan.teardown_ms), (1_000, 9_000));
    }

    #[test]
    fn device_names_match_exactly() {
        let s = Scenario::parse(LAYERED).expect("valid");
        for near_miss in ["google pixel 8", "Google Pixel 8 Pro", " Google Pixel 8"] {
            let plan = s.plan_for(near_miss, DevicePlatform::Android);
            assert_eq!(test_names(&plan), ["android"], "{near_miss:?}");
        }
    }

    #[test]
    fn customer_files_come_from_the_most_specific_layer_that_sets_them() {
        let s = Scenario::parse(
            "customer_artifacts:\n  - {path: base.txt, text: b}\n\
             devices:\n  - match: {platform: IOS}\n    customer_artifacts: []\n\
             \x20 - match: {name: Google Pixel 8}\n    tests: []\n",
        )
        .expect("valid");
        let names = |d: &str, p| -> Vec<String> { s.customer_files_for(d, p).into_iter().map(|f| f.path).collect() };
        // The Pixel's override leaves the files alone, so the top level's stay.
        assert_eq!(names(PIXEL, DevicePlatform::Android), ["base.txt"]);
        assert!(names("Apple iPhone 15", DevicePlatform::Ios).is_empty());
        assert!(Scenario::default().customer_files_for(PIXEL, DevicePlatform::Android).is_empty());
    }

    /// The example in the module documentation, as a reader would copy it.
    fn documented_example() -> String {
        let doc = include_str!("mod.rs");
        let lines: Vec<&str> = doc
            .lines()
            .map(|l| l.strip_prefix("//!").unwrap_or(l))
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .skip_while(|l| *l != "```yaml")
            .skip(1)
            .take_while(|l| *l != "```")
            .collect();
        assert!(!lines.is_empty(), "the module doc has no ```yaml example");
        lines.join("\n")
    }

    #[test]
    fn the_documented_example_means_what_the_doc_says() {
        let s = Scenario::parse(&documented_example()).expect("the doc example is valid");

        let pixel = s.plan_for(PIXEL, DevicePlatform::Android);
        assert_eq!((pixel.setup_ms, pixel.teardown_ms), (2_000, 1_000));
        assert_eq!(test_names(&pixel), ["test_login"]);
        assert_eq!(pixel.tests[0].result, ExecutionResult::Errored);

        let other = s.plan_for("Samsung Galaxy S24", DevicePlatform::Android);
        assert_eq!(test_names(&other), ["test_login", "test_checkout", "test_search"]);
        let ms: Vec<i64> = other.tests.iter().map(|t| t.duration_ms).collect();
        assert_eq!(ms, [3_000, 3_500, 250]);
        assert_eq!(other.tests[2].result, ExecutionResult::Passed);

        let files = s.customer_files_for("Samsung Galaxy S24", DevicePlatform::Android);
        assert_eq!(files, [SimFile { path: "reports/summary.txt".into(), text: "3 tests, 1 failure\n".into() }]);

        let ipad = s.plan_for("Apple iPad Air", DevicePlatform::Ios);
        assert_eq!((ipad.setup_ms, ipad.teardown_ms), (4_000, 1_000));
        let iphone = s.plan_for("Apple iPhone 15", DevicePlatform::Ios);
        assert_eq!((iphone.setup_ms, iphone.teardown_ms), (4_000, 0));
    }
}
