//! Unit tests of the fiber stack reuse (pure: no NIF API). Each test uses its own stack size, so
//! tests running in parallel do not take each other's stacks.

use super::*;

#[test]
fn a_dropped_stack_is_handed_out_again() {
    let reuse = Reuse;
    let first = reuse.new_stack(64 * 1024, false).unwrap();
    let range = first.range();
    assert_eq!(range.end - range.start, 64 * 1024);
    assert_eq!(first.top() as usize, range.end);
    assert_eq!(first.guard_range().end as usize, range.start);
    // SAFETY: the stack's own range, mapped read-write.
    unsafe { *((range.end - 1) as *mut u8) = 7 };
    drop(first);
    let again = reuse.new_stack(64 * 1024, false).unwrap();
    assert_eq!(again.range(), range);
    // SAFETY: as above.
    assert_eq!(unsafe { *((range.end - 1) as *const u8) }, 7);
    drop(again);
    let zeroed = reuse.new_stack(64 * 1024, true).unwrap();
    assert_eq!(zeroed.range(), range);
    // SAFETY: as above.
    assert_eq!(unsafe { *((range.end - 1) as *const u8) }, 0);
}

#[test]
fn live_stacks_are_not_limited() {
    let reuse = Reuse;
    let stacks: Vec<_> = (0..MAX_IDLE + 8)
        .map(|_| reuse.new_stack(16 * 1024, false).unwrap())
        .collect();
    let mut starts: Vec<usize> = stacks.iter().map(|s| s.range().start).collect();
    starts.sort();
    starts.dedup();
    assert_eq!(starts.len(), MAX_IDLE + 8);
    drop(stacks);
    assert!(IDLE.lock().unwrap().len() <= MAX_IDLE);
}
