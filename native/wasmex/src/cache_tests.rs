//! Unit tests of `cache` (kept apart from the code).

#![cfg_attr(
    test,
    allow(clippy::unwrap_used, reason = "a failed unwrap fails the test")
)]

use super::*;
use std::cell::Cell;

#[test]
fn compiles_once_per_content_and_engine() {
    let cache: Cache<u32> = Cache::new();
    let engine = Engine::default();
    let other = Engine::default();
    let calls = Cell::new(0);
    let compile = |v| {
        calls.set(calls.get() + 1);
        Ok(v)
    };
    assert_eq!(
        cache
            .get_or_compile(&engine, b"abc", || compile(1))
            .unwrap(),
        1
    );
    assert_eq!(
        cache
            .get_or_compile(&engine, b"abc", || compile(2))
            .unwrap(),
        1
    );
    assert_eq!(
        cache
            .get_or_compile(&engine, b"abd", || compile(3))
            .unwrap(),
        3
    );
    assert_eq!(
        cache.get_or_compile(&other, b"abc", || compile(4)).unwrap(),
        4
    );
    assert_eq!(calls.get(), 3);
}

#[test]
fn failures_are_not_cached_and_capacity_is_bounded() {
    let cache: Cache<usize> = Cache::new();
    let engine = Engine::default();
    assert!(cache
        .get_or_compile(&engine, b"x", || Err(crate::error::Error::msg("no")))
        .is_err());
    assert_eq!(cache.get_or_compile(&engine, b"x", || Ok(7)).unwrap(), 7);
    for i in 0..(CAPACITY * 2) {
        let bytes = i.to_le_bytes();
        cache.get_or_compile(&engine, &bytes, || Ok(i)).unwrap();
    }
    assert_eq!(cache.entries.lock().unwrap().len(), CAPACITY);
}
