//! Putting text into the commands of a default spec safely.
//!
//! Whatever reaches a default spec from a user (test parameters, the test filter, package
//! and file names) is pasted into shell commands, and some of it travels on through
//! `adb shell` into a second shell on the device. Every such value goes through
//! [`shell_quote`] (or [`device_quote`] for the device's shell), or is first checked
//! against a grammar that leaves nothing for a shell to interpret.

/// `text` as one POSIX shell word that expands to exactly `text`.
///
/// The runner has the same rule for its own scripts; it is private to the runner, and a
/// spec's commands are a different layer (they are themselves quoted again by the runner).
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `text` as one word of a command line that `adb shell` hands to the device's shell:
/// `adb` joins its arguments with spaces and the device's shell splits them again, so the
/// value is quoted once for the device and once more for the host.
pub fn device_quote(text: &str) -> String {
    shell_quote(&shell_quote(text))
}

/// A command that fails the phase it is in, saying `why` on stderr. The failing command
/// becomes the job's message ("Command failed (exit status 1): …"), so the text is kept to
/// one line and reads as a sentence.
pub fn fail_with(why: &str) -> String {
    let one_line = why.replace(['\n', '\r'], " ");
    format!("echo {} >&2; exit 1", shell_quote(&one_line))
}

/// Whether `name` is an Android package name (dot-separated Java identifiers, at least
/// two of them): only such names are pasted unquoted into device commands.
pub fn is_android_package(name: &str) -> bool {
    let segments: Vec<&str> = name.split('.').collect();
    segments.len() >= 2
        && segments.iter().all(|segment| {
            let mut chars = segment.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn sh(script: &str) -> String {
        let out = Command::new("/bin/sh").arg("-c").arg(script).output().expect("sh");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[test]
    fn quoted_text_reaches_the_command_unchanged() {
        for text in ["plain", "it's", "$(touch /tmp/x) `id` $HOME;|&<>", "", "a\nb", "'''"] {
            assert_eq!(sh(&format!("printf '%s' {}", shell_quote(text))), text);
        }
    }

    #[test]
    fn device_quoted_text_survives_a_second_shell() {
        // What `adb shell` does: its arguments, joined by spaces, are parsed by another shell.
        for text in ["com.example.FooTest#testBar", "x'; reboot; '", "$(id) a b"] {
            let sent_to_device = sh(&format!("printf '%s' {}", device_quote(text)));
            assert_eq!(sh(&format!("printf '%s' {sent_to_device}")), text);
        }
    }

    #[test]
    fn a_failing_command_says_why_on_one_line() {
        let command = fail_with("no tests jar in 'pkg'\nsecond line");
        let out = Command::new("/bin/sh").arg("-c").arg(&command).output().expect("sh");
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(String::from_utf8_lossy(&out.stderr), "no tests jar in 'pkg' second line\n");
        assert!(!command.contains('\n'));
    }

    #[test]
    fn android_package_names_follow_the_java_grammar() {
        for good in ["com.example.app", "a.b", "com.example_1.App2"] {
            assert!(is_android_package(good), "{good}");
        }
        for bad in ["", "app", "com..app", "1com.app", "com.app;reboot", "com.app x", "com.$app", "com.app."] {
            assert!(!is_android_package(bad), "{bad}");
        }
    }
}
