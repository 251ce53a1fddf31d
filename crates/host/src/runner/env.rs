//! The environment of a spec's commands. Nothing is inherited from farmhand's own process
//! (its credentials, database URL and the like must not reach a user's test code): the
//! shell gets a few basics (PATH, LANG, its own HOME and TMPDIR) and then the job's variables
//! ([`JobEnv`]), which win over the basics.

use std::path::Path;

use thiserror::Error;

use super::workspace::Workspace;

/// Prefix reserved for the variables farmhand sets itself.
pub const RESERVED_PREFIX: &str = "DEVICEFARM_";

/// Why a variable was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EnvError {
    #[error("{0:?} is not a valid environment variable name")]
    InvalidName(String),
    #[error("the value of {0} contains a NUL byte")]
    NulInValue(String),
    #[error("user variable {0} may not start with {RESERVED_PREFIX}")]
    Reserved(String),
}

/// The job's variables (`DEVICEFARM_*`, `AWS_REGION`, `ANDROID_SERIAL`, the run's user
/// variables…), in the order they were set; setting a name again replaces its value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobEnv {
    vars: Vec<(String, String)>,
    /// The network namespace the commands run in (see [`super::netns`]); None: the host's.
    network_namespace: Option<String>,
}

impl JobEnv {
    pub fn new() -> JobEnv {
        JobEnv::default()
    }

    /// Runs the commands in the network namespace `name` (an `ip netns` name).
    pub fn set_network_namespace(&mut self, name: &str) -> &mut JobEnv {
        self.network_namespace = Some(name.to_owned());
        self
    }

    pub fn network_namespace(&self) -> Option<&str> {
        self.network_namespace.as_deref()
    }

    /// Sets one variable (farmhand's own: reserved names are allowed here).
    pub fn set(&mut self, name: &str, value: &str) -> Result<&mut JobEnv, EnvError> {
        if !is_valid_name(name) {
            return Err(EnvError::InvalidName(name.to_owned()));
        }
        if value.contains('\0') {
            return Err(EnvError::NulInValue(name.to_owned()));
        }
        match self.vars.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => value.clone_into(&mut slot.1),
            None => self.vars.push((name.to_owned(), value.to_owned())),
        }
        Ok(self)
    }

    /// Sets the path variables of `ws`: DEVICEFARM_TEST_PACKAGE_PATH, DEVICEFARM_LOG_DIR,
    /// DEVICEFARM_SCREENSHOT_PATH, and DEVICEFARM_APP_PATH when the job has an app.
    pub fn set_workspace_paths(&mut self, ws: &Workspace) -> &mut JobEnv {
        let mut paths = vec![
            ("DEVICEFARM_TEST_PACKAGE_PATH", ws.package_dir()),
            ("DEVICEFARM_LOG_DIR", ws.log_dir()),
            ("DEVICEFARM_SCREENSHOT_PATH", ws.screenshot_dir()),
        ];
        if let Some(app) = ws.app_path() {
            paths.push(("DEVICEFARM_APP_PATH", app));
        }
        for (name, path) in paths {
            // Names are constants and workspace paths are checked to be UTF-8 without NUL
            // when the workspace is created, so this cannot fail.
            let _ = self.set(name, &path_text(path));
        }
        self
    }

    /// Adds the run's user variables, which may not use the reserved prefix.
    pub fn add_user_variables<'a>(
        &mut self,
        vars: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<&mut JobEnv, EnvError> {
        for (name, value) in vars {
            if name.starts_with(RESERVED_PREFIX) {
                return Err(EnvError::Reserved(name.to_owned()));
            }
            self.set(name, value)?;
        }
        Ok(self)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn vars(&self) -> &[(String, String)] {
        &self.vars
    }
}

/// What every phase starts from, before the job's variables: a fixed PATH and locale, and
/// a HOME and TMPDIR of the job's own, so caches and temporary files of one job are never
/// seen by the next.
pub(crate) fn base_environment(path: &str, lang: &str, ws: &Workspace) -> Vec<(String, String)> {
    vec![
        ("PATH".to_owned(), path.to_owned()),
        ("LANG".to_owned(), lang.to_owned()),
        ("HOME".to_owned(), path_text(ws.home_dir())),
        ("TMPDIR".to_owned(), path_text(ws.tmp_dir())),
    ]
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// POSIX's portable names: a letter or `_`, then letters, digits and `_`. Shells cannot
/// expand anything else.
fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setting_again_replaces_and_keeps_order() {
        let mut env = JobEnv::new();
        env.set("A", "1").and_then(|e| e.set("B", "2")).expect("valid");
        env.set("A", "3").expect("valid");
        assert_eq!(env.vars(), [("A".to_owned(), "3".to_owned()), ("B".to_owned(), "2".to_owned())]);
        assert_eq!(env.get("A"), Some("3"));
        assert_eq!(env.get("C"), None);
    }

    #[test]
    fn bad_names_and_values_are_refused() {
        let mut env = JobEnv::new();
        for name in ["", "1A", "A-B", "A B", "A=B", "É"] {
            assert_eq!(env.set(name, "x").err(), Some(EnvError::InvalidName(name.to_owned())), "{name:?}");
        }
        assert!(matches!(env.set("A", "x\0y"), Err(EnvError::NulInValue(_))));
        assert!(env.set("_a1", "").is_ok());
    }

    #[test]
    fn user_variables_may_not_use_the_reserved_prefix() {
        let mut env = JobEnv::new();
        env.add_user_variables([("MY_VAR", "1")]).expect("allowed");
        let err = env.add_user_variables([("DEVICEFARM_LOG_DIR", "/tmp")]).expect_err("reserved");
        assert_eq!(err, EnvError::Reserved("DEVICEFARM_LOG_DIR".to_owned()));
        assert_eq!(env.get("DEVICEFARM_LOG_DIR"), None);
    }
}
