//! Making stores: plain, WASI P1 and WASI P2 (the `store_new*` NIFs), renewing a store like a
//! given one (`store_renew`, from the `Recipe` it keeps), and the stores of command runs on the
//! run engine (`store_for_run`). Building a WASI context with preopened directories is file
//! system I/O, so those NIFs run on a dirty I/O scheduler; the `_normal` variants (no preopens)
//! on the caller's. Threading: a new store is owned by nobody until its resource is returned.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rustler::{ResourceArc, Term};
use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store};
use wasmtime_wasi_http::WasiHttpCtx;

use super::data::{Channel, DenyOutgoingHttp, StoreData};
use super::host_table::HostTable;
use super::limits::{limits_from, table_cap, StoreLimitsEx};
use super::slot::Slot;
use super::wasi::{wasi_from, wasi_p2_from, Captured, WasiOptionsEx, WasiP2OptionsEx};
use super::{Handle, StoreResource, NEXT_STORE_ID};
use crate::engine::{
    default_engine, engine_or_default, EngineResource, RunSlot, RUN_TABLE_ELEMENTS,
};
use crate::error::{Error, Result};

/// How a store was made, so that a fresh one like it can be made (`store_renew`).
#[derive(Clone)]
pub(super) enum Recipe {
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
    store.limiter_async(|d| &mut d.limits);
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
        deferred: Arc::default(),
        poisoned: poisoned.clone(),
        slot: Mutex::new(Slot::new(Box::new(store), poisoned, run_slot)),
    }))
}

/// What a run's store has: no WASI (a `fresh: true` pool member's), WASI Preview 1 (a core
/// module's command run) or Preview 2 (a component's), with its options.
pub enum RunWasi<'a> {
    Plain,
    P1(Term<'a>),
    P2(Term<'a>),
}

/// `(store, code)` for one run of `code` (of the default engine): a store of the run engine
/// (`engine::run_engine`) and `twin(&code)`, the code's twin there with that engine, holding a slot
/// from `take_slot`, while the limits let a table grow there as far as on the default engine
/// and a slot is free; else a store of the default engine and `code` itself, as the `store_new*`
/// NIFs make it. No preopened directories (they need a store of their own); never refuses for
/// want of a slot.
pub fn store_for_run<C>(
    wasi: RunWasi,
    limits: Option<StoreLimitsEx>,
    code: C,
    twin: impl FnOnce(&C) -> Option<(C, Engine)>,
    take_slot: fn() -> Option<RunSlot>,
) -> Result<(ResourceArc<StoreResource>, C)> {
    let (does_io, recipe) = match wasi {
        RunWasi::Plain => (false, Recipe::Plain),
        RunWasi::P1(term) => p1_recipe(crate::convert::decode_checked(term, "WASI options")?),
        RunWasi::P2(term) => p2_recipe(crate::convert::decode_checked(term, "WASI options")?),
    };
    if does_io {
        return Err(Error::msg(
            "preopened directories need a store of their own",
        ));
    }
    let fits = table_cap(limits.as_ref()) <= RUN_TABLE_ELEMENTS;
    let twin = fits.then(|| twin(&code)).flatten();
    match twin.and_then(|(twin, engine)| take_slot().map(|slot| (twin, engine, slot))) {
        Some((twin, engine, slot)) => {
            Ok((make_store_with(engine, limits, recipe, Some(slot))?, twin))
        }
        None => Ok((
            make_store_with(default_engine()?, limits, recipe, None)?,
            code,
        )),
    }
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
