//! Stores: the one mutable piece of wasmtime state, its owner handle and the machinery that runs
//! operations on it (the `store/` folder). This layer knows no concept: modules, instances,
//! memories and components hand it operations and requests it runs without looking inside
//! (`store::op`).
//!
//! A `StoreResource` owns a heap-allocated `Store<StoreData>` behind a mutex (its `Slot`). While
//! a call is in flight, the store is borrowed by the call's parked future (see `exec`), and the
//! mutex guards the pair; every NIF takes the lock for at most one time slice. A `CallerResource`
//! names the store of an import callback that is running in Elixir; it is valid only while that
//! callback runs. Making stores is in `make`; what a store reports (poisoned flag, exit code,
//! captured output, fuel) in `state`.

pub mod callback;
pub mod data;
pub mod deferred;
pub mod driver;
pub mod exec;
pub mod host_table;
pub mod limits;
pub mod op;
pub mod output;
pub mod slot;
pub mod wasi;

mod make;
mod state;

use make::Recipe;
pub use make::{store_for_run, RunWasi};

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, MutexGuard};

use rustler::{ResourceArc, Term};
use wasmtime::Engine;

use self::data::Channel;
use self::deferred::Deferred;
use self::host_table::HostTable;
use self::limits::StoreLimitsEx;
use self::op::Nested;
use self::slot::Slot;
use self::wasi::Captured;
use crate::error::{Error, Lock, Result};

static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

pub struct StoreResource {
    pub id: u64,
    /// The guest's stdout and stderr where no pipe takes them (for `store_take_output`).
    captured: Captured,
    /// Whether the store carries a WASI P1 context (linked into its instances).
    pub wasi: bool,
    limits: Option<StoreLimitsEx>,
    recipe: Recipe,
    pub engine: Engine,
    pub chan: Arc<Mutex<Channel>>,
    pub hosts: Arc<Mutex<HostTable>>,
    /// Operations left by handles that were garbage collected (a guest resource's drop), run
    /// before the next call; their results are ignored (see `deferred`).
    pub deferred: Arc<Deferred>,
    /// The slot's `poisoned` flag, readable without taking the slot's lock.
    poisoned: Arc<AtomicBool>,
    slot: Mutex<Slot>,
}

#[rustler::resource_impl]
impl rustler::Resource for StoreResource {}

// A panic inside a NIF poisons the locks this resource holds, and later uses report an error.
impl std::panic::RefUnwindSafe for StoreResource {}

impl StoreResource {
    /// Leaves `job` to run before the next call on this store.
    pub fn defer(&self, job: Box<dyn Nested>) {
        self.deferred.push(job);
    }

    pub fn lock(&self) -> Result<MutexGuard<'_, Slot>> {
        self.slot.lock().map_err(|_| Error::Poisoned(Lock::Store))
    }
}

pub fn lock_chan(chan: &Mutex<Channel>) -> Result<MutexGuard<'_, Channel>> {
    chan.lock().map_err(|_| Error::Poisoned(Lock::Store))
}

/// A running import callback's view of its store.
pub struct CallerResource {
    pub store: ResourceArc<StoreResource>,
    pub caller_id: u64,
}

#[rustler::resource_impl]
impl rustler::Resource for CallerResource {}

// A panic inside a NIF poisons the locks this resource holds, and later uses report an error.
impl std::panic::RefUnwindSafe for CallerResource {}

/// What a `%Wasmex.StoreOrCaller{}` resource resolves to.
pub struct Handle {
    pub store: ResourceArc<StoreResource>,
    pub caller_id: Option<u64>,
}

impl Handle {
    pub fn decode(term: Term) -> Result<Handle> {
        if let Ok(store) = term.decode::<ResourceArc<StoreResource>>() {
            return Ok(Handle {
                store,
                caller_id: None,
            });
        }
        if let Ok(caller) = term.decode::<ResourceArc<CallerResource>>() {
            return Ok(Handle {
                store: caller.store.clone(),
                caller_id: Some(caller.caller_id),
            });
        }
        Err(Error::msg("expected a store or caller resource"))
    }
}
