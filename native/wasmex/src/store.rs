//! Stores: the one mutable piece of wasmtime state, its owner handle and the machinery that runs
//! operations on it (the `store/` folder). This layer knows no concept: modules, instances,
//! memories and components hand it operations and requests it runs without looking inside
//! (`store::op`).
//!
//! A `StoreResource` owns a heap-allocated `Store<StoreData>` behind a mutex (its `Slot`). While
//! a call is in flight, the store is borrowed by the call's parked future (see `exec`), and the
//! mutex guards the pair; every NIF takes the lock for at most one time slice. A `CallerResource`
//! names the store of an import callback that is running in Elixir; it is valid only while that
//! callback runs. Fuel is a store property: its NIFs are here, as synchronous operations.

pub mod callback;
pub mod data;
pub mod driver;
pub mod exec;
pub mod host_table;
pub mod limits;
pub mod op;
pub mod output;
pub mod slot;
pub mod wasi;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rustler::{ResourceArc, Term};
use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store, StoreContextMut};
use wasmtime_wasi_http::WasiHttpCtx;

use self::data::{Channel, DenyOutgoingHttp, StoreData};
use self::host_table::HostTable;
use self::limits::{limits_from, StoreLimitsEx};
use self::op::{Nested, SyncOp};
use self::slot::Slot;
use self::wasi::{wasi_from, wasi_p2_from, Captured, WasiOptionsEx, WasiP2OptionsEx};
use crate::engine::{engine_or_default, EngineResource, RunSlot};
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
    /// before the next call; their results are ignored.
    deferred: Mutex<Vec<Box<dyn Nested>>>,
    /// Whether `deferred` may hold operations: read on every call, so the lock is taken only
    /// when there is something to take.
    has_deferred: AtomicBool,
    /// The slot's `poisoned` flag, readable without taking the slot's lock.
    poisoned: Arc<AtomicBool>,
    slot: Mutex<Slot>,
}

#[rustler::resource_impl]
impl rustler::Resource for StoreResource {}

// A panic inside a NIF poisons the locks this resource holds, and later uses report an error.
impl std::panic::RefUnwindSafe for StoreResource {}

/// How many deferred jobs (drops of collected guest resource handles) one call runs first.
pub const MAX_DEFERRED_PER_CALL: usize = 256;

impl StoreResource {
    /// Leaves `job` to run before the next call on this store.
    pub fn defer(&self, job: Box<dyn Nested>) {
        if let Ok(mut deferred) = self.deferred.lock() {
            deferred.push(job);
            self.has_deferred.store(true, Ordering::Release);
        }
    }

    /// The first `MAX_DEFERRED_PER_CALL` jobs `defer` left, taken (none without taking the lock
    /// when there are none). The rest wait for the following calls: they run inside the call's
    /// deadline, so a call after thousands of collected handles must not spend it on them.
    pub fn take_deferred(&self) -> Vec<Box<dyn Nested>> {
        if !self.has_deferred.swap(false, Ordering::AcqRel) {
            return Vec::new();
        }
        let Ok(mut deferred) = self.deferred.lock() else {
            return Vec::new();
        };
        if deferred.len() <= MAX_DEFERRED_PER_CALL {
            return std::mem::take(&mut *deferred);
        }
        let taken = deferred.drain(..MAX_DEFERRED_PER_CALL).collect();
        self.has_deferred.store(true, Ordering::Release);
        taken
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

/// How a store was made, so that a fresh one like it can be made (`store_renew`).
#[derive(Clone)]
enum Recipe {
    Plain,
    P1(WasiOptionsEx),
    P2(WasiP2OptionsEx),
}

fn make_store(
    engine: Engine,
    limits: Option<StoreLimitsEx>,
    recipe: Recipe,
) -> Result<ResourceArc<StoreResource>> {
    make_store_with(engine, limits, recipe, None)
}

fn make_store_with(
    engine: Engine,
    limits: Option<StoreLimitsEx>,
    recipe: Recipe,
    run_slot: Option<RunSlot>,
) -> Result<ResourceArc<StoreResource>> {
    let (wasi, p2, http, captured) = match recipe.clone() {
        Recipe::Plain => (None, None, false, Captured::default()),
        Recipe::P1(options) => {
            let (ctx, captured) = wasi_from(options)?;
            (Some(ctx), None, false, captured)
        }
        Recipe::P2(options) => {
            let (ctx, http, captured) = wasi_p2_from(options)?;
            (None, Some(ctx), http, captured)
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
        exit_code: None,
        captured: captured.clone(),
    };
    let mut store = Store::new(&engine, data);
    store.limiter(|d| &mut d.limits);
    // Each epoch tick (a quarter millisecond) ends a time slice: note it for the driver, then yield.
    store.epoch_deadline_callback(|ctx| {
        crate::engine::note_slice_used();
        if let Ok(mut ch) = ctx.data().chan.lock() {
            ch.yielded = true;
        }
        Ok(wasmtime::UpdateDeadline::Yield(1))
    });
    Ok(ResourceArc::new(StoreResource {
        id: NEXT_STORE_ID.fetch_add(1, Ordering::Relaxed),
        captured,
        wasi: has_wasi,
        limits,
        recipe,
        engine,
        chan,
        hosts,
        deferred: Mutex::new(Vec::new()),
        has_deferred: AtomicBool::new(false),
        poisoned: poisoned.clone(),
        slot: Mutex::new(Slot::new(Box::new(store), poisoned, run_slot)),
    }))
}

/// A WASI P1 store without preopened directories on `engine` (the caller's scheduler), holding
/// `run_slot` when `engine` is the run engine (`engine::run_engine`).
pub fn new_wasi_for_run(
    options: Term,
    limits: Option<StoreLimitsEx>,
    engine: Engine,
    run_slot: Option<RunSlot>,
) -> Result<ResourceArc<StoreResource>> {
    let options: WasiOptionsEx = crate::convert::decode_checked(options, "WASI options")?;
    if options.does_io() {
        return Err(Error::msg("preopened directories need store_new_wasi"));
    }
    make_store_with(engine, limits, Recipe::P1(options), run_slot)
}

#[rustler::nif]
fn store_new(
    limits: Option<StoreLimitsEx>,
    engine: Option<ResourceArc<EngineResource>>,
) -> Result<ResourceArc<StoreResource>> {
    make_store(engine_or_default(engine)?, limits, Recipe::Plain)
}

fn p1_recipe(o: WasiOptionsEx) -> (bool, Recipe) {
    (o.does_io(), Recipe::P1(o))
}

fn p2_recipe(o: WasiP2OptionsEx) -> (bool, Recipe) {
    (o.does_io(), Recipe::P2(o))
}

#[rustler::nif(schedule = "DirtyIo")]
fn store_new_wasi(
    options: Term,
    limits: Option<StoreLimitsEx>,
    engine: Option<ResourceArc<EngineResource>>,
) -> Result<ResourceArc<StoreResource>> {
    new_wasi(options, limits, engine, None, p1_recipe)
}

/// `store_new_wasi` on a normal scheduler, for options without preopened directories.
#[rustler::nif]
fn store_new_wasi_normal(
    options: Term,
    limits: Option<StoreLimitsEx>,
    engine: Option<ResourceArc<EngineResource>>,
) -> Result<ResourceArc<StoreResource>> {
    new_wasi(options, limits, engine, Some("store_new_wasi"), p1_recipe)
}

#[rustler::nif(schedule = "DirtyIo")]
fn store_new_wasi_p2(
    options: Term,
    limits: Option<StoreLimitsEx>,
    engine: Option<ResourceArc<EngineResource>>,
) -> Result<ResourceArc<StoreResource>> {
    new_wasi(options, limits, engine, None, p2_recipe)
}

/// `store_new_wasi_p2` on a normal scheduler, for options without preopened directories.
#[rustler::nif]
fn store_new_wasi_p2_normal(
    options: Term,
    limits: Option<StoreLimitsEx>,
    engine: Option<ResourceArc<EngineResource>>,
) -> Result<ResourceArc<StoreResource>> {
    new_wasi(
        options,
        limits,
        engine,
        Some("store_new_wasi_p2"),
        p2_recipe,
    )
}

/// A WASI store from `options` (of P1 or P2), refusing preopens off a dirty scheduler.
fn new_wasi<'a, O: rustler::Decoder<'a>>(
    options: Term<'a>,
    limits: Option<StoreLimitsEx>,
    engine: Option<ResourceArc<EngineResource>>,
    // `Some(name of the dirty variant)` when called on a normal scheduler.
    dirty_variant: Option<&str>,
    recipe: fn(O) -> (bool, Recipe),
) -> Result<ResourceArc<StoreResource>> {
    let options: O = crate::convert::decode_checked(options, "WASI options")?;
    let (does_io, recipe) = recipe(options);
    if let (true, Some(nif)) = (does_io, dirty_variant) {
        return Err(Error::msg(format!("preopened directories need {nif}")));
    }
    make_store(engine_or_default(engine)?, limits, recipe)
}

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

/// Reads the code of the last WASI exit that ended a call or instantiation on the store.
struct GetExitCode;

impl SyncOp for GetExitCode {
    type Out = Option<i32>;

    fn run(self, ctx: StoreContextMut<'_, StoreData>) -> Result<Option<i32>> {
        Ok(ctx.data().exit_code)
    }
}

/// `{:ok, nil | code}`: the exit code of the last WASI exit (P1 `proc_exit`, P2 `wasi:cli/exit`)
/// that ended a call or an instantiation on the store, `nil` if none did.
#[rustler::nif]
fn store_exit_code(store_or_caller: Term) -> Result<Option<i32>> {
    let handle = Handle::decode(store_or_caller)?;
    exec::sync(&handle, GetExitCode)
}

/// `{:ok, [{:stdout | :stderr, line}]}`: the complete lines the guest wrote since the last take,
/// for a store made with `log_output: true` (else `[]`); `all` takes a partial last line too.
/// Needs no lock of the store: it may run while a call is parked.
#[rustler::nif]
fn store_take_output(store_or_caller: Term, all: bool) -> Result<Vec<(rustler::Atom, String)>> {
    let handle = Handle::decode(store_or_caller)?;
    let c = &handle.store.captured;
    let mut lines = Vec::new();
    for (tag, out) in [
        (crate::atoms::stdout(), &c.stdout),
        (crate::atoms::stderr(), &c.stderr),
    ] {
        if let Some(out) = out {
            lines.extend(out.take_lines(all).into_iter().map(|l| (tag, l)));
        }
    }
    Ok(lines)
}

/// Whether the store was made with `log_output: true` and keeps lines for `store_take_output`
/// (a store made like it by `store_renew` does too). Needs no lock of the store.
#[rustler::nif]
fn store_logs_output(store_or_caller: Term) -> Result<bool> {
    Ok(Handle::decode(store_or_caller)?.store.captured.logs())
}

/// Reads the store's fuel.
struct GetFuel;

impl SyncOp for GetFuel {
    type Out = u64;

    fn run(self, ctx: StoreContextMut<'_, StoreData>) -> Result<u64> {
        ctx.get_fuel()
            .map_err(|e| Error::Msg(format!("Could not get fuel: {e:#}")))
    }
}

/// Sets the store's fuel.
struct SetFuel(u64);

impl SyncOp for SetFuel {
    type Out = ();

    fn run(self, mut ctx: StoreContextMut<'_, StoreData>) -> Result<()> {
        ctx.set_fuel(self.0)
            .map_err(|e| Error::Msg(format!("Could not set fuel: {e:#}")))
    }
}

#[rustler::nif]
fn store_get_fuel(store_or_caller: Term) -> Result<u64> {
    let handle = Handle::decode(store_or_caller)?;
    exec::sync(&handle, GetFuel)
}

#[rustler::nif]
fn store_set_fuel(store_or_caller: Term, fuel: u64) -> Result<()> {
    let handle = Handle::decode(store_or_caller)?;
    exec::sync(&handle, SetFuel(fuel))
}
