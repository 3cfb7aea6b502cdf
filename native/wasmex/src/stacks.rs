//! Fiber stacks for engines that allocate on demand: mapped once and reused, so a fresh store's
//! first call does not map, guard and unmap a new 2 MiB stack (the on-demand allocator's way).
//!
//! wasmtime runs every async call on a fiber stack it asks the engine's stack creator for, one
//! per store, and drops it with the store. `Reuse` keeps dropped stacks in a process-wide list of
//! idle ones (at most `MAX_IDLE`, the rest are unmapped) and hands them out again. The number of
//! live stacks is not limited: when the list is empty a new stack is mapped, so nothing here can
//! refuse an instantiation (unlike the pooling allocator). Each stack has a guard page below it
//! that stays inaccessible. A reused stack is not cleared unless wasmtime asks for zeroed stacks
//! (as the pooling allocator does: guest code cannot address the host stack). Any thread; the
//! list's mutex is held only to push or pop.

use std::ops::Range;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

use wasmtime::{StackCreator, StackMemory};

/// Idle stacks kept for reuse (2 MiB of address space each; resident only where touched).
const MAX_IDLE: usize = 64;

/// One mapping: a guard page at `base`, then `size` bytes of stack.
struct Mapping {
    base: NonNull<u8>,
    size: usize,
}

// SAFETY: a mapping is plain memory owned by exactly one `Mapping` at a time.
unsafe impl Send for Mapping {}
unsafe impl Sync for Mapping {}

fn page_size() -> usize {
    // SAFETY: sysconf has no memory effects.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096)
}

impl Mapping {
    fn guard(&self) -> usize {
        page_size()
    }

    /// `size` is a multiple of the page size.
    fn map(size: usize) -> Result<Mapping, wasmtime::Error> {
        let guard = page_size();
        let len = size + guard;
        // SAFETY: a fresh anonymous private mapping; no existing memory is touched.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANON | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(wasmtime::Error::msg("could not map a fiber stack"));
        }
        let base = NonNull::new(ptr.cast::<u8>())
            .ok_or_else(|| wasmtime::Error::msg("could not map a fiber stack"))?;
        let mapping = Mapping { base, size };
        // SAFETY: the range lies inside the mapping made above.
        let ok = unsafe {
            libc::mprotect(
                base.as_ptr().add(guard).cast(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        if ok != 0 {
            return Err(wasmtime::Error::msg("could not map a fiber stack"));
        }
        Ok(mapping)
    }

    /// Gives the stack's pages back to the OS; they read as zeros afterwards.
    fn zero(&self) {
        // SAFETY: the stack range of this mapping, which no fiber uses while it is idle.
        unsafe {
            libc::madvise(
                self.base.as_ptr().add(self.guard()).cast(),
                self.size,
                libc::MADV_DONTNEED,
            );
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the whole mapping made by `map`, unmapped once.
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.size + self.guard());
        }
    }
}

static IDLE: Mutex<Vec<Mapping>> = Mutex::new(Vec::new());

/// The stack creator of every on-demand engine.
pub struct Reuse;

impl Reuse {
    pub fn shared() -> Arc<Reuse> {
        Arc::new(Reuse)
    }
}

// SAFETY: every stack handed out is a page-aligned mapping of at least `size` bytes with a guard
// page below it, used by one fiber until dropped.
unsafe impl StackCreator for Reuse {
    fn new_stack(
        &self,
        size: usize,
        zeroed: bool,
    ) -> Result<Box<dyn StackMemory>, wasmtime::Error> {
        let size = size.div_ceil(page_size()) * page_size();
        let reused = IDLE.lock().ok().and_then(|mut idle| {
            let at = idle.iter().rposition(|m| m.size == size)?;
            Some(idle.swap_remove(at))
        });
        let mapping = match reused {
            Some(m) => {
                if zeroed {
                    m.zero();
                }
                m
            }
            None => Mapping::map(size)?,
        };
        Ok(Box::new(Stack(Some(mapping))))
    }
}

/// A stack in use; dropping it returns the mapping to the idle list.
struct Stack(Option<Mapping>);

impl Stack {
    fn mapping(&self) -> Option<&Mapping> {
        self.0.as_ref()
    }
}

// SAFETY: the ranges describe the mapping this stack owns.
unsafe impl StackMemory for Stack {
    fn top(&self) -> *mut u8 {
        self.mapping().map_or(std::ptr::null_mut(), |m| {
            // SAFETY: one past the end of the mapping.
            unsafe { m.base.as_ptr().add(m.guard() + m.size) }
        })
    }

    fn range(&self) -> Range<usize> {
        self.mapping().map_or(0..0, |m| {
            let start = m.base.as_ptr() as usize + m.guard();
            start..start + m.size
        })
    }

    fn guard_range(&self) -> Range<*mut u8> {
        self.mapping()
            .map_or(std::ptr::null_mut()..std::ptr::null_mut(), |m| {
                // SAFETY: the guard page at the start of the mapping.
                m.base.as_ptr()..unsafe { m.base.as_ptr().add(m.guard()) }
            })
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(mapping) = self.0.take() {
            if let Ok(mut idle) = IDLE.lock() {
                if idle.len() < MAX_IDLE {
                    idle.push(mapping);
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "stacks_tests.rs"]
mod tests;
