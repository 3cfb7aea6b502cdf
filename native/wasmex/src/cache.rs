//! A small in-memory cache of compiled modules and components, keyed by engine and content.
//!
//! Compiling is the slow part of starting a server (seconds for a large component), and a
//! supervisor restarting a crashed server compiles the same bytes again. Entries are found by a
//! keyed SipHash of the bytes plus their length and the engine; the key is random per VM, so
//! hostile inputs cannot aim for collisions. At most `CAPACITY` entries are kept (the oldest is
//! evicted). Shared by all threads behind a mutex held only for lookups and inserts, never while
//! compiling.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::Mutex;

use once_cell::sync::Lazy;
use wasmtime::Engine;

use crate::error::Result;

const CAPACITY: usize = 32;

static KEYS: Lazy<RandomState> = Lazy::new(RandomState::new);

struct Entry<T> {
    hash: u64,
    len: usize,
    engine: Engine,
    value: T,
}

pub struct Cache<T> {
    entries: Mutex<Vec<Entry<T>>>,
}

impl<T: Clone> Cache<T> {
    pub const fn new() -> Self {
        Cache {
            entries: Mutex::new(Vec::new()),
        }
    }

    /// The cached value for `bytes` compiled with `engine`, or `compile()`'s (then cached).
    pub fn get_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        compile: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        let mut hasher = KEYS.build_hasher();
        hasher.write(bytes);
        let hash = hasher.finish();
        let found = |e: &Entry<T>| {
            e.hash == hash && e.len == bytes.len() && Engine::same(&e.engine, engine)
        };
        if let Ok(entries) = self.entries.lock() {
            if let Some(e) = entries.iter().find(|e| found(e)) {
                return Ok(e.value.clone());
            }
        }
        let value = compile()?;
        if let Ok(mut entries) = self.entries.lock() {
            if !entries.iter().any(found) {
                if entries.len() >= CAPACITY {
                    entries.remove(0);
                }
                entries.push(Entry {
                    hash,
                    len: bytes.len(),
                    engine: engine.clone(),
                    value: value.clone(),
                });
            }
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
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
}
