//! Why a scenario could not be used: the file says something farmhand cannot run, or the
//! test package that should hold it cannot be read.

use thiserror::Error;

/// The name the scenario file is reported under when its real path is not known.
pub const SCENARIO_FILE_NAME: &str = "farmhand-sim.yaml";

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScenarioError {
    /// The scenario file is present but invalid. `file` is its path inside the package
    /// (so a user who wrote `tests/farmhand-sim.yml` is told about that file); `line` is
    /// 1-based, when the problem has a place.
    #[error("Invalid {file}: {}{message}", line_prefix(*.line))]
    Invalid { file: String, line: Option<u64>, message: String },
    /// The test package is not a zip that can be read.
    #[error("could not read the test package: {0}")]
    Package(String),
}

impl ScenarioError {
    pub(crate) fn invalid(line: Option<u64>, message: impl Into<String>) -> ScenarioError {
        ScenarioError::Invalid { file: SCENARIO_FILE_NAME.to_owned(), line, message: message.into() }
    }

    pub(crate) fn at(line: u64, message: impl Into<String>) -> ScenarioError {
        ScenarioError::invalid(Some(line).filter(|l| *l > 0), message)
    }

    /// The same error, reported against the file's real path in the package.
    pub(crate) fn in_file(self, path: &str) -> ScenarioError {
        match self {
            ScenarioError::Invalid { line, message, .. } => {
                ScenarioError::Invalid { file: path.to_owned(), line, message }
            }
            other => other,
        }
    }

    /// The line of an invalid file's problem, if it has one.
    pub fn line(&self) -> Option<u64> {
        match self {
            ScenarioError::Invalid { line, .. } => *line,
            ScenarioError::Package(_) => None,
        }
    }
}

fn line_prefix(line: Option<u64>) -> String {
    line.map(|l| format!("line {l}: ")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_file_and_the_line_when_known() {
        assert_eq!(ScenarioError::at(7, "bad").to_string(), "Invalid farmhand-sim.yaml: line 7: bad");
        assert_eq!(ScenarioError::invalid(None, "bad").to_string(), "Invalid farmhand-sim.yaml: bad");
        assert_eq!(
            ScenarioError::at(2, "bad").in_file("suite/farmhand-sim.yml").to_string(),
            "Invalid suite/farmhand-sim.yml: line 2: bad"
        );
    }
}
