//! Unit tests of the store limiter (pure: no NIF API).

use super::*;
use std::task::Context;

/// The limiter's answer (its futures are pending at most once).
fn ready<T>(fut: impl Future<Output = T>) -> T {
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    for _ in 0..2 {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("the limiter stayed pending")
}

fn ex(table_elements: Option<usize>, memory_size: Option<usize>) -> StoreLimitsEx {
    StoreLimitsEx {
        memory_size,
        table_elements,
        instances: None,
        tables: None,
        memories: None,
    }
}

#[test]
fn tables_are_capped_by_default() {
    let mut limits = limits_from(None);
    let cap = DEFAULT_TABLE_ELEMENTS;
    assert!(ready(limits.table_growing(0, cap, None)).unwrap());
    assert!(!ready(limits.table_growing(0, cap + 1, None)).unwrap());
    assert!(!ready(limits.table_growing(1, i32::MAX as usize, None)).unwrap());
}

#[test]
fn an_explicit_table_limit_replaces_the_default() {
    let mut limits = limits_from(Some(ex(Some(5 * DEFAULT_TABLE_ELEMENTS), None)));
    assert!(ready(limits.table_growing(0, 2 * DEFAULT_TABLE_ELEMENTS, None)).unwrap());
    let mut limits = limits_from(Some(ex(Some(10), None)));
    assert!(!ready(limits.table_growing(0, 11, None)).unwrap());
}

#[test]
fn granted_memory_is_counted_and_refused_growth_is_not() {
    let mut limits = limits_from(Some(ex(None, Some(1 << 20))));
    assert!(ready(limits.memory_growing(0, 65_536, None)).unwrap());
    assert!(ready(limits.memory_growing(65_536, 131_072, None)).unwrap());
    assert!(!ready(limits.memory_growing(131_072, 2 << 20, None)).unwrap());
    assert_eq!(limits.memory_bytes, 131_072);
}

#[test]
fn a_store_is_large_once_its_memories_together_pass_the_dirty_size() {
    let mut limits = limits_from(None);
    let half = DIRTY_MEMORY / 2;
    assert!(ready(limits.memory_growing(0, half, None)).unwrap());
    assert!(!limits.large.load(Ordering::Relaxed));
    // a second memory of the same size: together they pass it, and the guest is suspended once
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let mut growing = limits.memory_growing(0, half + 65_536, None);
    assert!(growing.as_mut().poll(&mut cx).is_pending());
    assert!(matches!(
        growing.as_mut().poll(&mut cx),
        Poll::Ready(Ok(true))
    ));
    drop(growing);
    assert!(limits.large.load(Ordering::Relaxed));
    // later growth is not suspended
    let mut growing = limits.memory_growing(0, 65_536, None);
    assert!(matches!(
        growing.as_mut().poll(&mut cx),
        Poll::Ready(Ok(true))
    ));
}
