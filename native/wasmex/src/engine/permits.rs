//! Compile permits: large compiles take one, and at most `big_compiles()` (one fewer than the
//! cores, the BEAM's default dirty CPU scheduler count) run at a time, so large compiles never
//! occupy every dirty CPU scheduler. The count is an atomic; any thread.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Inputs up to this size compile without a permit: they take milliseconds.
pub const SMALL_COMPILE: usize = 64 * 1024;

static BIG_COMPILES: AtomicUsize = AtomicUsize::new(0);

/// How many large compiles may run at once: one fewer than the cores, and at least one.
pub fn big_compiles() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get().saturating_sub(1))
        .unwrap_or(1)
        .max(1)
}

/// Leave to compile `len` bytes, held until dropped; `None` while `big_compiles()` large
/// compiles run (the caller answers `:busy` and Elixir tries again).
pub fn compile_permit(len: usize) -> Option<CompilePermit> {
    if len <= SMALL_COMPILE {
        return Some(CompilePermit(false));
    }
    let cap = big_compiles();
    BIG_COMPILES
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < cap).then_some(n + 1)
        })
        .ok()
        .map(|_| CompilePermit(true))
}

/// A compile's permit (`true` when it counts against `big_compiles()`).
pub struct CompilePermit(bool);

impl Drop for CompilePermit {
    fn drop(&mut self) {
        if self.0 {
            BIG_COMPILES.fetch_sub(1, Ordering::AcqRel);
        }
    }
}
