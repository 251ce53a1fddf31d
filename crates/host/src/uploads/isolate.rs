//! Running a third-party parser over hostile bytes on its own thread, so that neither a
//! panic nor deep recursion in it can take the server down.
//!
//! The binary-XML parser builds an element tree whose drop recurses once per nesting
//! level; a crafted manifest nests as deep as its size allows (one level per 36 bytes),
//! which would overflow a normal thread's stack and abort the process. The thread gets a
//! stack sized for the worst case of the input it is given (reserved address space; only
//! the pages used are touched) and a panic comes back as an error.

use std::thread;

/// Stack reserved per possible nesting level: dropping the tree took under 128 bytes a
/// level in a debug build (measured with the deep-manifest test); four times that.
const STACK_PER_LEVEL: usize = 512;
const BASE_STACK: usize = 8 * 1024 * 1024;

/// Runs `parse` on a thread whose stack can hold `max_depth` levels of recursion, and
/// returns its result, or a description of the panic or spawn failure.
pub fn run_isolated<T, F>(name: &str, max_depth: usize, parse: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let stack = BASE_STACK.saturating_add(max_depth.saturating_mul(STACK_PER_LEVEL));
    let handle = thread::Builder::new()
        .name(name.to_owned())
        .stack_size(stack)
        .spawn(parse)
        .map_err(|e| format!("could not start the {name} parser: {e}"))?;
    handle.join().map_err(|_| format!("the {name} parser failed on this input"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back() {
        assert_eq!(run_isolated("t", 0, || 40 + 2), Ok(42));
    }

    #[test]
    fn a_panic_becomes_an_error() {
        let result: Result<(), String> = run_isolated("t", 0, || panic!("boom"));
        assert_eq!(result, Err("the t parser failed on this input".to_owned()));
    }
}
