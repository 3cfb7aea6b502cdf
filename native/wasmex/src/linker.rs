//! Base linkers with WASI already defined (core: P1; components: P2 and wasi:http), built once
//! per engine and cloned per instantiation.
//!
//! Defining the ~100 WASI host functions is most of the cost of instantiating a small module or
//! component; a clone of a prepared linker shares the host functions. At most `CAPACITY` entries
//! (two per engine) are kept, so a program creating many engines keeps only the first few alive
//! here. Shared by all threads behind a mutex held only to look up or insert (never while
//! building).

use std::sync::Mutex;

use wasmtime::component;
use wasmtime::{Engine, Linker};

use crate::error::Result;
use crate::store::data::StoreData;

const CAPACITY: usize = 16;

struct Entry<L> {
    engine: Engine,
    variant: bool,
    linker: L,
}

struct Bases<L> {
    entries: Mutex<Vec<Entry<L>>>,
}

impl<L: Clone> Bases<L> {
    const fn new() -> Self {
        Bases {
            entries: Mutex::new(Vec::new()),
        }
    }

    fn get(&self, engine: &Engine, variant: bool, build: impl FnOnce() -> Result<L>) -> Result<L> {
        let found = |e: &Entry<L>| e.variant == variant && Engine::same(&e.engine, engine);
        if let Ok(entries) = self.entries.lock() {
            if let Some(e) = entries.iter().find(|e| found(e)) {
                return Ok(e.linker.clone());
            }
        }
        let linker = build()?;
        if let Ok(mut entries) = self.entries.lock() {
            if !entries.iter().any(found) && entries.len() < CAPACITY {
                entries.push(Entry {
                    engine: engine.clone(),
                    variant,
                    linker: linker.clone(),
                });
            }
        }
        Ok(linker)
    }
}

static CORE: Bases<Linker<StoreData>> = Bases::new();
static COMPONENT: Bases<component::Linker<StoreData>> = Bases::new();

/// A core linker, with WASI P1 (overridable: shadowing allowed) when `wasi` is set.
pub fn core(engine: &Engine, wasi: bool) -> Result<Linker<StoreData>> {
    CORE.get(engine, wasi, || {
        let mut linker = Linker::new(engine);
        if wasi {
            wasmtime_wasi::p1::add_to_linker_async(&mut linker, wasi_ctx)?;
            linker.allow_shadowing(true);
        }
        Ok(linker)
    })
}

/// A component linker with WASI P2 and wasi:http (whose outgoing requests the store's hooks allow
/// or refuse); shadowing allowed so Elixir imports may replace standard interfaces.
pub fn component(engine: &Engine) -> Result<component::Linker<StoreData>> {
    COMPONENT.get(engine, true, || {
        let mut linker = component::Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        linker.allow_shadowing(true);
        Ok(linker)
    })
}

/// The store's WASI P1 context, as wasmtime-wasi reaches it.
fn wasi_ctx(data: &mut StoreData) -> &mut wasmtime_wasi::p1::WasiP1Ctx {
    // Only linked when the store was built with WASI, so the empty fallback is never used.
    data.wasi
        .get_or_insert_with(|| wasmtime_wasi::WasiCtxBuilder::new().build_p1())
}
