//! Upload types and the rules attached to them: what each type is, which file names
//! CreateUpload accepts for it, and which upload types each test type takes as its test
//! package and test spec. Inspecting the uploaded bytes is the engine's job; this module
//! only holds the rules that need no file.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Declares a string-backed enum whose variants are spelled exactly as in the AWS model,
/// with `ALL`, `as_str`, `Display` and `FromStr`, so the wire names live in one place.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident, $error:ident, $what:literal { $($variant:ident = $wire:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant,)+
        }

        impl $name {
            /// Every value, in the order of the AWS model.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The value as the API spells it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = $error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    other => Err($error(other.to_owned())),
                }
            }
        }

        /// A string that is not one of the enum's values.
        #[derive(Debug, Clone, PartialEq, Eq, Error)]
        #[error("'{}' is not a valid {}", .0, $what)]
        pub struct $error(pub String);
    };
}

wire_enum! {
    /// What an upload is (the model's `UploadType`).
    UploadType, UnknownUploadType, "upload type" {
        AndroidApp = "ANDROID_APP",
        IosApp = "IOS_APP",
        WebApp = "WEB_APP",
        ExternalData = "EXTERNAL_DATA",
        AppiumJavaJunitTestPackage = "APPIUM_JAVA_JUNIT_TEST_PACKAGE",
        AppiumJavaTestngTestPackage = "APPIUM_JAVA_TESTNG_TEST_PACKAGE",
        AppiumPythonTestPackage = "APPIUM_PYTHON_TEST_PACKAGE",
        AppiumNodeTestPackage = "APPIUM_NODE_TEST_PACKAGE",
        AppiumRubyTestPackage = "APPIUM_RUBY_TEST_PACKAGE",
        AppiumWebJavaJunitTestPackage = "APPIUM_WEB_JAVA_JUNIT_TEST_PACKAGE",
        AppiumWebJavaTestngTestPackage = "APPIUM_WEB_JAVA_TESTNG_TEST_PACKAGE",
        AppiumWebPythonTestPackage = "APPIUM_WEB_PYTHON_TEST_PACKAGE",
        AppiumWebNodeTestPackage = "APPIUM_WEB_NODE_TEST_PACKAGE",
        AppiumWebRubyTestPackage = "APPIUM_WEB_RUBY_TEST_PACKAGE",
        CalabashTestPackage = "CALABASH_TEST_PACKAGE",
        InstrumentationTestPackage = "INSTRUMENTATION_TEST_PACKAGE",
        UiautomationTestPackage = "UIAUTOMATION_TEST_PACKAGE",
        UiautomatorTestPackage = "UIAUTOMATOR_TEST_PACKAGE",
        XctestTestPackage = "XCTEST_TEST_PACKAGE",
        XctestUiTestPackage = "XCTEST_UI_TEST_PACKAGE",
        AppiumJavaJunitTestSpec = "APPIUM_JAVA_JUNIT_TEST_SPEC",
        AppiumJavaTestngTestSpec = "APPIUM_JAVA_TESTNG_TEST_SPEC",
        AppiumPythonTestSpec = "APPIUM_PYTHON_TEST_SPEC",
        AppiumNodeTestSpec = "APPIUM_NODE_TEST_SPEC",
        AppiumRubyTestSpec = "APPIUM_RUBY_TEST_SPEC",
        AppiumWebJavaJunitTestSpec = "APPIUM_WEB_JAVA_JUNIT_TEST_SPEC",
        AppiumWebJavaTestngTestSpec = "APPIUM_WEB_JAVA_TESTNG_TEST_SPEC",
        AppiumWebPythonTestSpec = "APPIUM_WEB_PYTHON_TEST_SPEC",
        AppiumWebNodeTestSpec = "APPIUM_WEB_NODE_TEST_SPEC",
        AppiumWebRubyTestSpec = "APPIUM_WEB_RUBY_TEST_SPEC",
        InstrumentationTestSpec = "INSTRUMENTATION_TEST_SPEC",
        XctestUiTestSpec = "XCTEST_UI_TEST_SPEC",
    }
}

wire_enum! {
    /// What a run tests with (the model's `TestType`, which keeps the older API version's
    /// types that clients still send: CALABASH, UIAUTOMATION, UIAUTOMATOR, …).
    TestType, UnknownTestType, "test type" {
        BuiltinFuzz = "BUILTIN_FUZZ",
        AppiumJavaJunit = "APPIUM_JAVA_JUNIT",
        AppiumJavaTestng = "APPIUM_JAVA_TESTNG",
        AppiumPython = "APPIUM_PYTHON",
        AppiumNode = "APPIUM_NODE",
        AppiumRuby = "APPIUM_RUBY",
        AppiumWebJavaJunit = "APPIUM_WEB_JAVA_JUNIT",
        AppiumWebJavaTestng = "APPIUM_WEB_JAVA_TESTNG",
        AppiumWebPython = "APPIUM_WEB_PYTHON",
        AppiumWebNode = "APPIUM_WEB_NODE",
        AppiumWebRuby = "APPIUM_WEB_RUBY",
        Instrumentation = "INSTRUMENTATION",
        Xctest = "XCTEST",
        XctestUi = "XCTEST_UI",
        BuiltinExplorer = "BUILTIN_EXPLORER",
        WebPerformanceProfile = "WEB_PERFORMANCE_PROFILE",
        Calabash = "CALABASH",
        Uiautomation = "UIAUTOMATION",
        Uiautomator = "UIAUTOMATOR",
        RemoteAccessRecord = "REMOTE_ACCESS_RECORD",
        RemoteAccessReplay = "REMOTE_ACCESS_REPLAY",
    }
}

wire_enum! {
    /// Where an upload is in its life (the model's `UploadStatus`).
    UploadStatus, UnknownUploadStatus, "upload status" {
        Initialized = "INITIALIZED",
        Processing = "PROCESSING",
        Succeeded = "SUCCEEDED",
        Failed = "FAILED",
    }
}

wire_enum! {
    /// Who manages an upload (the model's `UploadCategory`): Device Farm itself or the
    /// customer.
    UploadCategory, UnknownUploadCategory, "upload category" {
        Curated = "CURATED",
        Private = "PRIVATE",
    }
}

/// What role an upload plays in a run. Not an API value: farmhand uses it to pick the
/// inspection and to check that a run's ARNs point at the right kind of upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UploadKind {
    /// The app under test (`appArn`).
    App,
    /// The tests (`test.testPackageArn`), a zip (or an apk/ipa runner) to unpack.
    TestPackage,
    /// A YAML test spec (`test.testSpecArn`).
    TestSpec,
    /// Extra data for the device (`configuration.extraDataPackageArn`).
    Data,
}

impl UploadStatus {
    /// Whether processing has finished, one way or the other.
    pub fn is_final(self) -> bool {
        matches!(self, UploadStatus::Succeeded | UploadStatus::Failed)
    }
}

impl UploadType {
    /// The role this type plays in a run.
    pub fn kind(self) -> UploadKind {
        use UploadType::*;
        match self {
            AndroidApp | IosApp | WebApp => UploadKind::App,
            ExternalData => UploadKind::Data,
            AppiumJavaJunitTestSpec
            | AppiumJavaTestngTestSpec
            | AppiumPythonTestSpec
            | AppiumNodeTestSpec
            | AppiumRubyTestSpec
            | AppiumWebJavaJunitTestSpec
            | AppiumWebJavaTestngTestSpec
            | AppiumWebPythonTestSpec
            | AppiumWebNodeTestSpec
            | AppiumWebRubyTestSpec
            | InstrumentationTestSpec
            | XctestUiTestSpec => UploadKind::TestSpec,
            AppiumJavaJunitTestPackage
            | AppiumJavaTestngTestPackage
            | AppiumPythonTestPackage
            | AppiumNodeTestPackage
            | AppiumRubyTestPackage
            | AppiumWebJavaJunitTestPackage
            | AppiumWebJavaTestngTestPackage
            | AppiumWebPythonTestPackage
            | AppiumWebNodeTestPackage
            | AppiumWebRubyTestPackage
            | CalabashTestPackage
            | InstrumentationTestPackage
            | UiautomationTestPackage
            | UiautomatorTestPackage
            | XctestTestPackage
            | XctestUiTestPackage => UploadKind::TestPackage,
        }
    }

    /// The file-name extensions (lower case, with the dot) CreateUpload accepts for this
    /// type; the first one is the one error messages ask for.
    ///
    /// AWS's reference says ".zip for all others", but its own guides upload the
    /// instrumentation tests as the test APK, the XCUITest runner as an .ipa and UI
    /// Automator tests as a .jar, so those are accepted too: real pipelines send them.
    /// `WEB_APP` has none: it cannot be created.
    pub fn accepted_extensions(self) -> &'static [&'static str] {
        match self {
            UploadType::AndroidApp => &[".apk"],
            UploadType::IosApp => &[".ipa"],
            UploadType::WebApp => &[],
            UploadType::InstrumentationTestPackage => &[".zip", ".apk"],
            UploadType::XctestUiTestPackage => &[".zip", ".ipa"],
            UploadType::UiautomatorTestPackage => &[".zip", ".jar"],
            other => match other.kind() {
                UploadKind::TestSpec => &[".yml", ".yaml"],
                _ => &[".zip"],
            },
        }
    }

    /// The extension a name of this type is expected to end with (`None` for `WEB_APP`,
    /// which cannot be created).
    pub fn required_extension(self) -> Option<&'static str> {
        self.accepted_extensions().first().copied()
    }

    /// Whether CreateUpload may create an upload of this type. `WEB_APP` exists in the
    /// model but AWS answers ArgumentException when asked to create one.
    pub fn is_creatable(self) -> bool {
        self != UploadType::WebApp
    }
}

/// Why CreateUpload refuses a name/type pair. The API maps every variant to
/// `ArgumentException` with this text as the message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UploadRuleError {
    #[error("Uploads of type {0} cannot be created")]
    NotCreatable(UploadType),
    #[error("Invalid upload name: the name must not be empty")]
    EmptyName,
    #[error("Invalid upload name '{0}': the name must not contain a forward slash (/)")]
    SlashInName(String),
    #[error("Invalid upload name '{name}': uploads of type {upload_type} must have a name ending in {expected}")]
    WrongExtension {
        name: String,
        upload_type: UploadType,
        /// The accepted extensions, joined for the message (e.g. ".yml or .yaml").
        expected: String,
    },
}

/// Checks a CreateUpload request's name against its type.
pub fn validate_new_upload(name: &str, upload_type: UploadType) -> Result<(), UploadRuleError> {
    if !upload_type.is_creatable() {
        return Err(UploadRuleError::NotCreatable(upload_type));
    }
    if name.is_empty() {
        return Err(UploadRuleError::EmptyName);
    }
    // The name becomes part of download file names; AWS documents that it must not
    // contain a slash.
    if name.contains('/') {
        return Err(UploadRuleError::SlashInName(name.to_owned()));
    }
    let accepted = upload_type.accepted_extensions();
    if accepted.iter().any(|ext| has_extension(name, ext)) {
        Ok(())
    } else {
        Err(UploadRuleError::WrongExtension { name: name.to_owned(), upload_type, expected: accepted.join(" or ") })
    }
}

/// Case-insensitive suffix test that also demands something before the dot, so ".apk"
/// alone is not an APK name.
fn has_extension(name: &str, ext: &str) -> bool {
    name.len() > ext.len() && name.get(name.len() - ext.len()..).is_some_and(|tail| tail.eq_ignore_ascii_case(ext))
}

impl TestType {
    /// Tests run in the device's browser (APPIUM_WEB_*): they need no app.
    pub fn is_web(self) -> bool {
        use TestType::*;
        matches!(self, AppiumWebJavaJunit | AppiumWebJavaTestng | AppiumWebPython | AppiumWebNode | AppiumWebRuby)
    }
}

impl UploadType {
    /// The test type whose runs take this upload as their package or spec.
    pub fn test_type(self) -> Option<TestType> {
        TestType::ALL
            .iter()
            .copied()
            .find(|t| test_package_type_for(*t) == Some(self) || test_spec_type_for(*t) == Some(self))
    }
}

/// The upload type a run of `test_type` takes as `test.testPackageArn`, or `None` when
/// that test type has no test package (built-in tests, remote access) or is unknown.
///
pub fn test_package_type_for(test_type: TestType) -> Option<UploadType> {
    use UploadType::*;
    Some(match test_type.as_str() {
        "APPIUM_JAVA_JUNIT" => AppiumJavaJunitTestPackage,
        "APPIUM_JAVA_TESTNG" => AppiumJavaTestngTestPackage,
        "APPIUM_PYTHON" => AppiumPythonTestPackage,
        "APPIUM_NODE" => AppiumNodeTestPackage,
        "APPIUM_RUBY" => AppiumRubyTestPackage,
        "APPIUM_WEB_JAVA_JUNIT" => AppiumWebJavaJunitTestPackage,
        "APPIUM_WEB_JAVA_TESTNG" => AppiumWebJavaTestngTestPackage,
        "APPIUM_WEB_PYTHON" => AppiumWebPythonTestPackage,
        "APPIUM_WEB_NODE" => AppiumWebNodeTestPackage,
        "APPIUM_WEB_RUBY" => AppiumWebRubyTestPackage,
        "CALABASH" => CalabashTestPackage,
        "INSTRUMENTATION" => InstrumentationTestPackage,
        "UIAUTOMATION" => UiautomationTestPackage,
        "UIAUTOMATOR" => UiautomatorTestPackage,
        "XCTEST" => XctestTestPackage,
        "XCTEST_UI" => XctestUiTestPackage,
        _ => return None,
    })
}

/// The upload type a run of `test_type` takes as `test.testSpecArn` (the custom test
/// environment), or `None` when that test type cannot run a test spec. Only the
/// frameworks AWS offers custom environments for have a `*_TEST_SPEC` type.
pub fn test_spec_type_for(test_type: TestType) -> Option<UploadType> {
    use UploadType::*;
    Some(match test_type.as_str() {
        "APPIUM_JAVA_JUNIT" => AppiumJavaJunitTestSpec,
        "APPIUM_JAVA_TESTNG" => AppiumJavaTestngTestSpec,
        "APPIUM_PYTHON" => AppiumPythonTestSpec,
        "APPIUM_NODE" => AppiumNodeTestSpec,
        "APPIUM_RUBY" => AppiumRubyTestSpec,
        "APPIUM_WEB_JAVA_JUNIT" => AppiumWebJavaJunitTestSpec,
        "APPIUM_WEB_JAVA_TESTNG" => AppiumWebJavaTestngTestSpec,
        "APPIUM_WEB_PYTHON" => AppiumWebPythonTestSpec,
        "APPIUM_WEB_NODE" => AppiumWebNodeTestSpec,
        "APPIUM_WEB_RUBY" => AppiumWebRubyTestSpec,
        "INSTRUMENTATION" => InstrumentationTestSpec,
        "XCTEST_UI" => XctestUiTestSpec,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_type_round_trips_through_its_wire_name() {
        assert_eq!(UploadType::ALL.len(), 32);
        for t in UploadType::ALL {
            assert_eq!(t.as_str().parse::<UploadType>(), Ok(*t));
            assert_eq!(t.to_string(), t.as_str());
            let json = serde_json::to_string(t).expect("serialises");
            assert_eq!(json, format!("\"{}\"", t.as_str()));
        }
        for s in UploadStatus::ALL {
            assert_eq!(s.as_str().parse::<UploadStatus>(), Ok(*s));
        }
        for c in UploadCategory::ALL {
            assert_eq!(c.as_str().parse::<UploadCategory>(), Ok(*c));
        }
    }

    #[test]
    fn unknown_names_are_rejected_with_the_name() {
        let err = "android_app".parse::<UploadType>().unwrap_err();
        assert_eq!(err.to_string(), "'android_app' is not a valid upload type");
        assert!("DONE".parse::<UploadStatus>().is_err());
        assert!("PUBLIC".parse::<UploadCategory>().is_err());
    }

    #[test]
    fn kinds_follow_the_type_names() {
        for t in UploadType::ALL {
            let name = t.as_str();
            let expected = if name.ends_with("_TEST_SPEC") {
                UploadKind::TestSpec
            } else if name.ends_with("_TEST_PACKAGE") {
                UploadKind::TestPackage
            } else if name.ends_with("_APP") {
                UploadKind::App
            } else {
                UploadKind::Data
            };
            assert_eq!(t.kind(), expected, "{name}");
        }
    }

    #[test]
    fn web_app_cannot_be_created() {
        assert_eq!(
            validate_new_upload("site.zip", UploadType::WebApp),
            Err(UploadRuleError::NotCreatable(UploadType::WebApp))
        );
        assert_eq!(UploadType::WebApp.required_extension(), None);
    }

    #[test]
    fn extensions_per_type() {
        use UploadType::*;
        let ok = [
            ("app.apk", AndroidApp),
            ("App.APK", AndroidApp),
            ("app.ipa", IosApp),
            ("tests.zip", AppiumPythonTestPackage),
            ("data.ZIP", ExternalData),
            ("spec.yml", AppiumNodeTestSpec),
            ("spec.YAML", XctestUiTestSpec),
            ("app-debug-androidTest.apk", InstrumentationTestPackage),
            ("tests.zip", InstrumentationTestPackage),
            ("Runner.ipa", XctestUiTestPackage),
        ];
        for (name, t) in ok {
            assert_eq!(validate_new_upload(name, t), Ok(()), "{name} as {t}");
        }
        let bad = [
            ("app.zip", AndroidApp),
            ("app.apk", IosApp),
            ("tests.tar.gz", AppiumJavaJunitTestPackage),
            ("spec.json", AppiumPythonTestSpec),
            ("data.apk", ExternalData),
            (".apk", AndroidApp),
            ("apk", AndroidApp),
        ];
        for (name, t) in bad {
            assert!(
                matches!(validate_new_upload(name, t), Err(UploadRuleError::WrongExtension { .. })),
                "{name} as {t}"
            );
        }
    }

    #[test]
    fn wrong_extension_message_names_what_is_expected() {
        let err = validate_new_upload("spec.txt", UploadType::AppiumPythonTestSpec).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid upload name 'spec.txt': uploads of type APPIUM_PYTHON_TEST_SPEC must have a name ending in .yml or .yaml"
        );
    }

    #[test]
    fn names_with_slashes_or_empty_are_refused() {
        assert_eq!(
            validate_new_upload("dir/app.apk", UploadType::AndroidApp),
            Err(UploadRuleError::SlashInName("dir/app.apk".into()))
        );
        assert_eq!(validate_new_upload("", UploadType::AndroidApp), Err(UploadRuleError::EmptyName));
    }

    #[test]
    fn test_types_map_to_their_package_and_spec_types() {
        use TestType as T;
        assert_eq!(test_package_type_for(T::AppiumPython), Some(UploadType::AppiumPythonTestPackage));
        assert_eq!(test_spec_type_for(T::AppiumWebRuby), Some(UploadType::AppiumWebRubyTestSpec));
        assert_eq!(test_package_type_for(T::Xctest), Some(UploadType::XctestTestPackage));
        assert_eq!(test_spec_type_for(T::Xctest), None);
        assert_eq!(test_spec_type_for(T::XctestUi), Some(UploadType::XctestUiTestSpec));
        assert_eq!(test_package_type_for(T::Calabash), Some(UploadType::CalabashTestPackage));
        assert_eq!(test_spec_type_for(T::Calabash), None);
        for no_package in
            [T::BuiltinFuzz, T::BuiltinExplorer, T::WebPerformanceProfile, T::RemoteAccessRecord, T::RemoteAccessReplay]
        {
            assert_eq!(test_package_type_for(no_package), None, "{no_package}");
            assert_eq!(test_spec_type_for(no_package), None, "{no_package}");
        }
        assert!("NOT_A_TEST_TYPE".parse::<TestType>().is_err());
        assert_eq!(TestType::ALL.len(), 21, "the model's TestType values");
    }

    #[test]
    fn every_package_and_spec_type_belongs_to_a_test_type() {
        for t in UploadType::ALL {
            let covered = TestType::ALL
                .iter()
                .any(|tt| test_package_type_for(*tt) == Some(*t) || test_spec_type_for(*tt) == Some(*t));
            let expected = matches!(t.kind(), UploadKind::TestPackage | UploadKind::TestSpec);
            assert_eq!(covered, expected, "{t}");
        }
        for tt in TestType::ALL {
            if let Some(p) = test_package_type_for(*tt) {
                assert_eq!(p.as_str(), format!("{tt}_TEST_PACKAGE"));
            }
            if let Some(s) = test_spec_type_for(*tt) {
                assert_eq!(s.as_str(), format!("{tt}_TEST_SPEC"));
            }
        }
    }

    proptest! {
        #[test]
        fn extension_check_ignores_case(stem in "[A-Za-z0-9_-]{1,20}", upper in any::<bool>()) {
            let ext = if upper { ".IPA" } else { ".ipa" };
            let name = format!("{stem}{ext}");
            prop_assert_eq!(validate_new_upload(&name, UploadType::IosApp), Ok(()));
            prop_assert!(validate_new_upload(&name, UploadType::AndroidApp).is_err());
        }

        #[test]
        fn validation_never_panics(name in "\\PC{0,40}", idx in 0usize..32) {
            let _ = validate_new_upload(&name, UploadType::ALL[idx]);
        }
    }
}
