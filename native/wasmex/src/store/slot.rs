//! The store's slot: the heap-allocated wasmtime store plus the call currently borrowing it
//! (`Parked`), and the pointer that call's future holds (`StorePtr`).
//!
//! Threading: the slot lives behind the `StoreResource`'s mutex; every access holds it. The
//! parked future is `Send` and may be polled again on another scheduler thread. Dropping a store
//! unmaps its memories, O(the memory it touched): a store that was granted more than
//! `BACKGROUND_DROP` bytes of linear memory is dropped on the `wasmex-drop` thread instead of the
//! scheduler that garbage-collected its resource.

use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use once_cell::sync::Lazy;
use rustler::LocalPid;
use wasmtime::Store;

use super::data::StoreData;
use super::op::Running;
use crate::engine::RunSlot;
use crate::error::{Error, Result};

/// A call in flight: its future, its deadline and the process driving it.
pub struct Parked {
    pub task: Pin<Box<dyn Running>>,
    pub deadline: Option<Instant>,
    pub driver: LocalPid,
    /// A component operation: stopping it poisons the store's component instances.
    pub component: bool,
}

/// The store plus the call currently borrowing it.
pub struct Slot {
    /// Declared before `store`: a parked future borrows the store and must be dropped first.
    pub parked: Option<Parked>,
    store: NonNull<Store<StoreData>>,
    poisoned: Arc<AtomicBool>,
    /// The limiter's flag: the store has more linear memory than `limits::DIRTY_MEMORY`.
    large: Arc<AtomicBool>,
    /// A store of the run engine holds one of its slots until the store itself is dropped.
    run_slot: Option<RunSlot>,
}

// SAFETY: the store is `Send` (its data is `Send`); the pointer is uniquely owned by the slot and
// only dereferenced while the slot's mutex is held.
unsafe impl Send for Slot {}

impl Slot {
    /// Takes ownership of `store` (leaked from a `Box`) and of the run slot it holds.
    pub fn new(
        store: Box<Store<StoreData>>,
        poisoned: Arc<AtomicBool>,
        run_slot: Option<RunSlot>,
    ) -> Self {
        let large = store.data().limits.large.clone();
        Slot {
            large,
            parked: None,
            store: NonNull::from(Box::leak(store)),
            poisoned,
            run_slot,
        }
    }

    /// The store, when no call borrows it.
    pub fn store(&mut self) -> Result<&mut Store<StoreData>> {
        if self.parked.is_some() {
            return Err(Error::Busy);
        }
        // SAFETY: no parked future holds the pointer, and `&mut self` is exclusive.
        Ok(unsafe { self.store.as_mut() })
    }

    pub fn poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Relaxed)
    }

    /// Whether the store's guest code belongs on dirty schedulers (see `limits::DIRTY_MEMORY`).
    pub fn large(&self) -> bool {
        self.large.load(Ordering::Relaxed)
    }

    pub fn poison(&self) {
        self.poisoned.store(true, Ordering::Relaxed);
    }

    /// A pointer for a future that will be parked in this slot.
    pub fn store_ptr(&mut self) -> StorePtr {
        StorePtr(self.store)
    }
}

/// Stores granted more linear memory than this are dropped on the background thread.
const BACKGROUND_DROP: usize = 16 * 1024 * 1024;

/// A store on its way to the background thread, with its run slot: a tuple drops in order, so
/// the slot is given back only after the store (and its pool slot) is gone.
type Doomed = (Box<Store<StoreData>>, Option<RunSlot>);

/// The background thread's inbox: stores to drop (`None` if the thread could not start).
static DROPPER: Lazy<Option<Mutex<Sender<Doomed>>>> = Lazy::new(|| {
    let (tx, rx) = channel::<Doomed>();
    std::thread::Builder::new()
        .name("wasmex-drop".into())
        .spawn(move || rx.into_iter().for_each(drop))
        .ok()
        .map(|_| Mutex::new(tx))
});

/// Drops `store` here when it is small, else hands it to the background thread.
fn drop_store(store: Doomed) {
    if store.0.data().limits.memory_bytes <= BACKGROUND_DROP {
        return drop(store);
    }
    let sender = DROPPER.as_ref().and_then(|m| m.lock().ok());
    if let Some(tx) = sender {
        // A failed send hands the store back; it is then dropped here.
        if let Err(failed) = tx.send(store) {
            drop(failed.0);
        }
    } else {
        drop(store);
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.parked = None;
        // SAFETY: the pointer came from `Box::leak` and nothing borrows it any more.
        drop_store((
            unsafe { Box::from_raw(self.store.as_ptr()) },
            self.run_slot.take(),
        ));
    }
}

/// The store as the parked future sees it.
pub struct StorePtr(NonNull<Store<StoreData>>);

// SAFETY: the store is `Send`; the pointer is used only by the one future that owns it.
unsafe impl Send for StorePtr {}

impl StorePtr {
    pub fn get(&self) -> *mut Store<StoreData> {
        self.0.as_ptr()
    }
}
