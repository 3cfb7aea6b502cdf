//! Stores: the one mutable piece of wasmtime state, and its owner handle.
//!
//! A `StoreResource` owns a heap-allocated `Store<StoreData>` behind a mutex. While a call is in
//! flight, the store is borrowed by the call's parked future (see `exec`), and the mutex guards the
//! pair; every NIF takes the lock for at most one time slice. A `CallerResource` names the store
//! of an import callback that is running in Elixir; it is valid only while that callback runs.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rustler::{NifMap, ResourceArc, Term};
use wasmtime::component::{ResourceAny, ResourceTable};
use wasmtime::{Engine, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi_http::WasiHttpCtx;

use crate::channel::Channel;
use crate::engine::{engine_or_default, EngineResource};
use crate::error::{Error, Result};
use crate::exec::Parked;
use crate::guest_resource::GuestResourceHandle;
use crate::host_resource::HostTable;
use crate::wasi::{wasi_from, wasi_p2_from, DenyOutgoingHttp, WasiOptionsEx, WasiP2OptionsEx};

/// Data every store carries.
pub struct StoreData {
    pub limits: StoreLimits,
    /// WASI Preview 1 context, for core modules.
    pub wasi: Option<WasiP1Ctx>,
    /// WASI Preview 2 context and resource table, for components.
    pub p2: Option<WasiCtx>,
    pub table: ResourceTable,
    /// wasi:http context. Outgoing requests are sent only for stores created with `allow_http`.
    pub http: WasiHttpCtx,
    pub allow_http: bool,
    pub deny_http: DenyOutgoingHttp,
    /// Mailbox between the NIFs and host functions suspended inside the parked call.
    pub chan: Arc<Mutex<Channel>>,
    /// The Elixir terms behind host resources handed to the guest.
    pub hosts: Arc<Mutex<HostTable>>,
    /// Set when a trap or a stopped call broke the store's component instances.
    pub poisoned: Arc<AtomicBool>,
}

/// The store plus the call currently borrowing it.
pub struct Slot {
    /// Declared before `store`: a parked future borrows the store and must be dropped first.
    pub parked: Option<Parked>,
    store: NonNull<Store<StoreData>>,
    poisoned: Arc<AtomicBool>,
}

// SAFETY: the store is `Send` (its data is `Send`); the pointer is uniquely owned by the slot and
// only dereferenced while the slot's mutex is held.
unsafe impl Send for Slot {}

impl Slot {
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

    pub fn poison(&self) {
        self.poisoned.store(true, Ordering::Relaxed);
    }

    /// A raw pointer for a future that will be parked in this slot.
    pub fn store_ptr(&mut self) -> NonNull<Store<StoreData>> {
        self.store
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.parked = None;
        // SAFETY: the pointer came from `Box::into_raw` and nothing borrows it any more.
        unsafe { drop(Box::from_raw(self.store.as_ptr())) };
    }
}

static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

pub struct StoreResource {
    pub id: u64,
    /// Whether the store carries a WASI P1 context (linked into its instances).
    pub wasi: bool,
    limits: Option<StoreLimitsEx>,
    recipe: Recipe,
    pub engine: Engine,
    pub chan: Arc<Mutex<Channel>>,
    pub hosts: Arc<Mutex<HostTable>>,
    /// Guest resources whose handles were garbage collected: dropped before the next call.
    pub pending_drops: Mutex<Vec<ResourceAny>>,
    /// The slot's `poisoned` flag, readable without taking the slot's lock.
    poisoned: Arc<AtomicBool>,
    slot: Mutex<Slot>,
}

#[rustler::resource_impl]
impl rustler::Resource for StoreResource {}

// A panic inside a NIF poisons the locks this resource holds, and later uses report an error.
impl std::panic::RefUnwindSafe for StoreResource {}

impl StoreResource {
    pub fn lock(&self) -> Result<MutexGuard<'_, Slot>> {
        self.slot
            .lock()
            .map_err(|_| Error::msg("the store was poisoned by an earlier panic"))
    }
}

pub fn lock_chan(chan: &Mutex<Channel>) -> Result<MutexGuard<'_, Channel>> {
    chan.lock()
        .map_err(|_| Error::msg("the store was poisoned by an earlier panic"))
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
        // A guest resource handle stands for its store (to drive the calls made on it).
        if let Ok(guest) = term.decode::<ResourceArc<GuestResourceHandle>>() {
            return Ok(Handle {
                store: guest.store.clone(),
                caller_id: None,
            });
        }
        Err(Error::msg("expected a store or caller resource"))
    }
}

/// `%Wasmex.StoreLimits{}` as the NIF sees it; `nil` fields keep wasmtime's defaults.
#[derive(NifMap, Clone)]
pub struct StoreLimitsEx {
    memory_size: Option<usize>,
    table_elements: Option<usize>,
    instances: Option<usize>,
    tables: Option<usize>,
    memories: Option<usize>,
}

/// How a store was made, so that a fresh one like it can be made (`store_renew`).
#[derive(Clone)]
enum Recipe {
    Plain,
    P1(WasiOptionsEx),
    P2(WasiP2OptionsEx),
}

fn limits_from(ex: Option<StoreLimitsEx>) -> StoreLimits {
    let mut b = StoreLimitsBuilder::new();
    if let Some(ex) = ex {
        if let Some(v) = ex.memory_size {
            b = b.memory_size(v);
        }
        if let Some(v) = ex.table_elements {
            b = b.table_elements(v);
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
    b.build()
}

fn make_store(
    engine: Engine,
    limits: Option<StoreLimitsEx>,
    recipe: Recipe,
) -> Result<ResourceArc<StoreResource>> {
    let (wasi, p2, http) = match recipe.clone() {
        Recipe::Plain => (None, None, false),
        Recipe::P1(options) => (Some(wasi_from(options)?), None, false),
        Recipe::P2(options) => {
            let (ctx, http) = wasi_p2_from(options)?;
            (None, Some(ctx), http)
        }
    };
    let chan = Arc::new(Mutex::new(Channel::default()));
    let hosts = Arc::new(Mutex::new(HostTable::default()));
    let poisoned = Arc::new(AtomicBool::new(false));
    let has_wasi = wasi.is_some();
    let data = StoreData {
        limits: limits_from(limits.clone()),
        wasi,
        p2,
        table: ResourceTable::new(),
        http: WasiHttpCtx::new(),
        allow_http: http,
        deny_http: DenyOutgoingHttp,
        chan: chan.clone(),
        hosts: hosts.clone(),
        poisoned: poisoned.clone(),
    };
    let mut store = Store::new(&engine, data);
    store.limiter(|d| &mut d.limits);
    // Each epoch tick (a quarter millisecond) ends a time slice: note it for the driver, then yield.
    store.epoch_deadline_callback(|ctx| {
        if let Ok(mut ch) = ctx.data().chan.lock() {
            ch.yielded = true;
        }
        Ok(wasmtime::UpdateDeadline::Yield(1))
    });
    let store = NonNull::from(Box::leak(Box::new(store)));
    Ok(ResourceArc::new(StoreResource {
        id: NEXT_STORE_ID.fetch_add(1, Ordering::Relaxed),
        wasi: has_wasi,
        limits,
        recipe,
        engine,
        chan,
        hosts,
        pending_drops: Mutex::new(Vec::new()),
        poisoned: poisoned.clone(),
        slot: Mutex::new(Slot {
            parked: None,
            store,
            poisoned,
        }),
    }))
}

#[rustler::nif]
fn store_new(
    limits: Option<StoreLimitsEx>,
    engine: Option<ResourceArc<EngineResource>>,
) -> Result<ResourceArc<StoreResource>> {
    make_store(engine_or_default(engine)?, limits, Recipe::Plain)
}

#[rustler::nif(schedule = "DirtyIo")]
fn store_new_wasi(
    options: Term,
    limits: Option<StoreLimitsEx>,
    engine: Option<ResourceArc<EngineResource>>,
) -> Result<ResourceArc<StoreResource>> {
    let options: WasiOptionsEx = crate::convert::decode_checked(options, "WASI options")?;
    make_store(engine_or_default(engine)?, limits, Recipe::P1(options))
}

#[rustler::nif(schedule = "DirtyIo")]
fn store_new_wasi_p2(
    options: Term,
    limits: Option<StoreLimitsEx>,
    engine: Option<ResourceArc<EngineResource>>,
) -> Result<ResourceArc<StoreResource>> {
    let options: WasiP2OptionsEx = crate::convert::decode_checked(options, "WASI options")?;
    make_store(engine_or_default(engine)?, limits, Recipe::P2(options))
}

/// A fresh, empty store made like `store` (same engine, limits, WASI options and remaining fuel).
/// Used to replace a store whose component instances were poisoned by a trap.
#[rustler::nif(schedule = "DirtyIo")]
fn store_renew(store_or_caller: Term) -> Result<ResourceArc<StoreResource>> {
    let handle = Handle::decode(store_or_caller)?;
    let old = &handle.store;
    // The fuel left in the old store carries over (fuel is a budget, not per store).
    let fuel = old.lock()?.store().ok().and_then(|s| s.get_fuel().ok());
    let fresh = make_store(old.engine.clone(), old.limits.clone(), old.recipe.clone())?;
    if let Some(fuel) = fuel {
        fresh.lock()?.store()?.set_fuel(fuel)?;
    }
    Ok(fresh)
}

/// Whether a trap or a stopped call broke the store's component instances. Elixir asks this
/// instead of reading error texts.
#[rustler::nif]
fn store_poisoned(store_or_caller: Term) -> Result<bool> {
    let handle = Handle::decode(store_or_caller)?;
    Ok(handle.store.poisoned.load(Ordering::Relaxed))
}
