//! A small in-memory cache of compiled modules and components, keyed by engine and content.
//!
//! Compiling is the slow part of starting a server (seconds for a large component), and a
//! supervisor restarting a crashed server compiles the same bytes again. Entries are found by a
//! keyed SipHash of the bytes plus their length and the engine; the key is random per VM, so
//! hostile inputs cannot aim for collisions. At most `CAPACITY` entries are kept (the oldest is
//! evicted). Shared by all threads behind a mutex held only for lookups and inserts, never while
//! compiling.
//!
//! Behind it, when a cache directory is set, `disk` keeps compiled code across VMs and nodes.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::Mutex;

use once_cell::sync::Lazy;
use wasmtime::Engine;

use crate::error::Result;

pub mod disk;
mod snapshot;

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
#[path = "cache_tests.rs"]
mod tests;
