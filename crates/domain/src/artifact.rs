//! Which ListArtifacts category (`type` FILE, LOG or SCREENSHOT) each of the model's
//! ArtifactTypes is listed under: the one table every producer of artifacts and
//! ListArtifacts read, so an artifact is filed the same way whoever made it and whenever it
//! was stored (the category is never taken from a stored record).
//!
//! Evidence (ARCHITECTURE.md, decisions): AWS's docs list "Test spec output" and "Customer
//! artifacts" as the files of a custom environment, reports under Files; a recorded
//! `list-artifacts --type FILE` answer of AWS (public test fixture) holds TESTSPEC_OUTPUT,
//! VIDEO, CUSTOMER_ARTIFACT_LOG and WEBKIT_LOG; public pipelines archive
//! `Customer Artifacts.zip` from a FILE listing. The outputs of AWS's legacy frameworks
//! (instrumentation, Appium, Calabash, XCTest, the explorer) and the device's logs are LOG.

/// The model's ArtifactCategory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArtifactCategory {
    File,
    Log,
    Screenshot,
}

impl ArtifactCategory {
    pub const ALL: [ArtifactCategory; 3] =
        [ArtifactCategory::File, ArtifactCategory::Log, ArtifactCategory::Screenshot];

    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactCategory::File => "FILE",
            ArtifactCategory::Log => "LOG",
            ArtifactCategory::Screenshot => "SCREENSHOT",
        }
    }
}

/// The category AWS lists an artifact of this ArtifactType under. A type the model may add
/// later (or UNKNOWN) is a FILE: something downloadable that is neither a log of a known
/// framework nor a picture.
pub fn category_of(artifact_type: &str) -> ArtifactCategory {
    match artifact_type {
        "SCREENSHOT" => ArtifactCategory::Screenshot,
        "DEVICE_LOG"
        | "MESSAGE_LOG"
        | "VIDEO_LOG"
        | "SERVICE_LOG"
        | "INSTRUMENTATION_OUTPUT"
        | "EXERCISER_MONKEY_OUTPUT"
        | "CALABASH_JSON_OUTPUT"
        | "CALABASH_PRETTY_OUTPUT"
        | "CALABASH_STANDARD_OUTPUT"
        | "CALABASH_JAVA_XML_OUTPUT"
        | "AUTOMATION_OUTPUT"
        | "APPIUM_SERVER_OUTPUT"
        | "APPIUM_JAVA_OUTPUT"
        | "APPIUM_JAVA_XML_OUTPUT"
        | "APPIUM_PYTHON_OUTPUT"
        | "APPIUM_PYTHON_XML_OUTPUT"
        | "EXPLORER_EVENT_LOG"
        | "EXPLORER_SUMMARY_LOG"
        | "APPLICATION_CRASH_REPORT"
        | "XCTEST_LOG" => ArtifactCategory::Log,
        // TESTSPEC_OUTPUT, CUSTOMER_ARTIFACT, CUSTOMER_ARTIFACT_LOG, VIDEO, WEBKIT_LOG,
        // RESULT_LOG (a report), UNKNOWN.
        _ => ArtifactCategory::File,
    }
}

/// Whether `artifact_type` names one of the model's SampleTypes: a job's performance series
/// is stored beside its artifacts under the sample's type, and the two sets of names are
/// disjoint, so the type alone tells a series from an artifact.
pub fn is_sample_type(artifact_type: &str) -> bool {
    matches!(
        artifact_type,
        "CPU"
            | "MEMORY"
            | "THREADS"
            | "RX_RATE"
            | "TX_RATE"
            | "RX"
            | "TX"
            | "NATIVE_FRAMES"
            | "NATIVE_FPS"
            | "NATIVE_MIN_DRAWTIME"
            | "NATIVE_AVG_DRAWTIME"
            | "NATIVE_MAX_DRAWTIME"
            | "OPENGL_FRAMES"
            | "OPENGL_FPS"
            | "OPENGL_MIN_DRAWTIME"
            | "OPENGL_AVG_DRAWTIME"
            | "OPENGL_MAX_DRAWTIME"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_environment_files_are_files() {
        for t in ["TESTSPEC_OUTPUT", "CUSTOMER_ARTIFACT", "CUSTOMER_ARTIFACT_LOG", "VIDEO", "WEBKIT_LOG", "RESULT_LOG"]
        {
            assert_eq!(category_of(t), ArtifactCategory::File, "{t}");
        }
    }

    #[test]
    fn logs_and_screenshots() {
        for t in ["DEVICE_LOG", "INSTRUMENTATION_OUTPUT", "APPIUM_SERVER_OUTPUT", "XCTEST_LOG", "EXPLORER_EVENT_LOG"] {
            assert_eq!(category_of(t), ArtifactCategory::Log, "{t}");
        }
        assert_eq!(category_of("SCREENSHOT"), ArtifactCategory::Screenshot);
    }

    #[test]
    fn sample_types_are_not_artifact_types() {
        for t in ["CPU", "MEMORY", "THREADS", "RX_RATE", "TX_RATE", "RX", "TX", "OPENGL_MAX_DRAWTIME"] {
            assert!(is_sample_type(t), "{t}");
        }
        for t in ["TESTSPEC_OUTPUT", "VIDEO", "DEVICE_LOG", "SCREENSHOT", "UNKNOWN"] {
            assert!(!is_sample_type(t), "{t}");
        }
    }

    #[test]
    fn categories_are_the_models_words() {
        let words: Vec<&str> = ArtifactCategory::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(words, ["FILE", "LOG", "SCREENSHOT"]);
    }
}
