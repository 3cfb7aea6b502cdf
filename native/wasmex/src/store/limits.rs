//! Store limits: `%Wasmex.StoreLimits{}` as the NIF sees it, and the store's resource limiter
//! built from it (`Limits`: wasmtime's `StoreLimits` plus a count of the linear memory the store
//! has allocated, which decides where the store is dropped, see `slot`, and whether its calls run
//! on dirty schedulers, see `exec`).
//!
//! Plain data, built on the NIF's thread; the limiter lives in the store's data and is used only
//! by the thread holding the store's slot.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Poll;

use rustler::NifMap;
use wasmtime::{ResourceLimiter, ResourceLimiterAsync, StoreLimits, StoreLimitsBuilder};

/// Elements per table when `table_elements` is `nil`: one `table.grow` cannot run for long or
/// allocate gigabytes (wasmtime's own default is unlimited: 2^31-1 elements took 16 GiB).
pub const DEFAULT_TABLE_ELEMENTS: usize = 1_000_000;

/// Linear memory (all of a store's memories together) past which the store's guest code runs on
/// dirty schedulers. wasmtime cannot interrupt one bulk instruction (`memory.fill`, `memory.copy`,
/// `memory.init`), and one over the whole memory runs about 1 ms per 2-3 MiB: below this size it
/// ends within some 30 ms; above it, it holds a dirty scheduler, never a normal one, so callers
/// waiting on their timers are answered on time.
pub const DIRTY_MEMORY: usize = 64 * 1024 * 1024;

/// `%Wasmex.StoreLimits{}` as the NIF sees it; `nil` fields keep wasmtime's defaults, except
/// `table_elements` (`DEFAULT_TABLE_ELEMENTS`).
#[derive(NifMap, Clone)]
pub struct StoreLimitsEx {
    memory_size: Option<usize>,
    table_elements: Option<usize>,
    instances: Option<usize>,
    tables: Option<usize>,
    memories: Option<usize>,
}

/// The elements a table may grow to under `limits` (`None`: no limits given).
pub fn table_cap(limits: Option<&StoreLimitsEx>) -> usize {
    limits
        .and_then(|l| l.table_elements)
        .unwrap_or(DEFAULT_TABLE_ELEMENTS)
}

/// The store's resource limiter.
pub struct Limits {
    inner: StoreLimits,
    /// Bytes of linear memory granted so far (every memory, initial sizes included).
    pub memory_bytes: usize,
    /// Set once `memory_bytes` passes `DIRTY_MEMORY` (it never shrinks); read by the store's slot
    /// while a call borrows the store, hence shared and atomic.
    pub large: Arc<AtomicBool>,
}

pub fn limits_from(ex: Option<StoreLimitsEx>) -> Limits {
    let mut b = StoreLimitsBuilder::new();
    let mut table_elements = DEFAULT_TABLE_ELEMENTS;
    if let Some(ex) = ex {
        if let Some(v) = ex.memory_size {
            b = b.memory_size(v);
        }
        if let Some(v) = ex.table_elements {
            table_elements = v;
        }
        if let Some(v) = ex.instances {
            b = b.instances(v);
        }
        if let Some(v) = ex.tables {
            b = b.tables(v);
        }
        if let Some(v) = ex.memories {
            b = b.memories(v);
        }
    }
    Limits {
        inner: b.table_elements(table_elements).build(),
        memory_bytes: 0,
        large: Arc::new(AtomicBool::new(false)),
    }
}

/// Pending once, then ready: awaited inside a guest call, it suspends the call's fiber once, so
/// that the poll returns and the driver can move the call (to a dirty scheduler: see `exec`).
pub fn yield_once() -> impl Future<Output = ()> + Send + 'static {
    let mut pending = true;
    std::future::poll_fn(move |_| {
        if std::mem::take(&mut pending) {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
}

// Async, so that a growth past `DIRTY_MEMORY` inside a guest suspends it before its next
// instruction: `memory.grow` then one `memory.fill` over the new pages would otherwise run on
// the normal scheduler the call started on. Host-side growth (`Memory.grow`) polls it to its end.
#[async_trait::async_trait]
impl ResourceLimiterAsync for Limits {
    async fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allow = self.inner.memory_growing(current, desired, maximum)?;
        if allow {
            self.memory_bytes = self
                .memory_bytes
                .saturating_add(desired.saturating_sub(current));
            if self.memory_bytes > DIRTY_MEMORY && !self.large.swap(true, Ordering::Relaxed) {
                yield_once().await;
            }
        }
        Ok(allow)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.inner.memory_grow_failed(error)
    }

    async fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.inner.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

#[cfg(test)]
#[path = "limits_tests.rs"]
mod tests;
