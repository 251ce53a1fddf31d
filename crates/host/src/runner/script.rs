//! The shell script one phase runs: the phase's commands in order, in one shell (a `cd` or
//! `export` carries over to the next command), stopping at the first that fails.
//!
//! Each command is passed to `eval` as a single-quoted string rather than pasted into the
//! script, so a command with a syntax error fails on its own, as that command, instead of
//! breaking the parse of its neighbours. Before each command the script records the
//! command's index in a step file, so farmhand can name the command that failed even when
//! it ended the shell itself (`exit 3`, a syntax error, a user's `set -e`).

use std::fs;
use std::path::Path;

/// Prefix of the lines farmhand adds to a phase's output.
pub(crate) const MARK: &str = "[farmhand]";

/// The script for `commands`, recording progress in `step_file`.
pub(crate) fn phase_script(phase: &str, commands: &[String], step_file: &Path) -> String {
    let step_file = quote(&step_file.to_string_lossy());
    let mut script = format!("# farmhand: phase {phase}, {} commands\n", commands.len());
    for (index, command) in commands.iter().enumerate() {
        let command = quote(command);
        script.push_str(&format!(
            "printf '%s\\n' {index} >{step_file}\n\
             printf '{MARK} $ %s\\n' {command}\n\
             eval {command}\n\
             __farmhand_status=$?\n\
             if [ \"$__farmhand_status\" -ne 0 ]; then exit \"$__farmhand_status\"; fi\n"
        ));
    }
    script
}

/// The index of the last command the script started, if it started any.
pub(crate) fn last_started(step_file: &Path) -> Option<usize> {
    fs::read_to_string(step_file).ok()?.trim().parse().ok()
}

/// `text` as one POSIX shell word that expands to exactly `text`: single quotes keep
/// everything literal, and a single quote itself is closed, escaped and reopened.
pub(crate) fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::process::Command;

    fn sh(script: &str) -> std::process::Output {
        Command::new("/bin/sh").arg("-c").arg(script).output().expect("run sh")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn quoted_text_reaches_the_shell_unchanged(text in "[^\\x00]{0,40}") {
            let out = sh(&format!("printf '%s' {}", quote(&text)));
            prop_assert_eq!(String::from_utf8_lossy(&out.stdout), text);
        }
    }

    #[test]
    fn the_first_failing_command_ends_the_script_and_is_recorded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let step = dir.path().join("step");
        let commands = [
            "X=kept; cd /".to_owned(),
            "echo \"$X $(pwd)\"".to_owned(),
            "echo 'it''s' && (exit 3)".to_owned(),
            "echo never".to_owned(),
        ];
        let out = sh(&phase_script("test", &commands, &step));
        assert_eq!(out.status.code(), Some(3));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("kept /\n"), "{stdout}");
        assert!(stdout.contains("its\n"), "{stdout}");
        assert!(!stdout.contains("[farmhand] $ echo never"), "{stdout}");
        assert!(!stdout.contains("never\n"), "{stdout}");
        assert_eq!(last_started(&step), Some(2));
    }

    #[test]
    fn a_syntax_error_is_that_commands_failure() {
        let dir = tempfile::tempdir().expect("tempdir");
        let step = dir.path().join("step");
        let commands = ["true".to_owned(), "echo \"unterminated".to_owned()];
        let out = sh(&phase_script("install", &commands, &step));
        assert_ne!(out.status.code(), Some(0));
        assert_eq!(last_started(&step), Some(1));
    }

    #[test]
    fn all_commands_succeeding_exits_zero_and_multiline_commands_work() {
        let dir = tempfile::tempdir().expect("tempdir");
        let step = dir.path().join("step");
        let commands = ["for i in 1 2; do\n  echo n$i\ndone".to_owned(), "true".to_owned()];
        let out = sh(&phase_script("test", &commands, &step));
        assert_eq!(out.status.code(), Some(0));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("n1\nn2\n"), "{stdout}");
        assert_eq!(last_started(&step), Some(1));
    }
}
