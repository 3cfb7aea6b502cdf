//! Compiled core modules: compile, name, serialize and deserialize; each module keeps its export
//! table (`exports`: built once, so instantiating does no per-export work), and `describe` lists
//! its exports and imports as terms.
//!
//! A `Module` is immutable and shared between threads and stores of the same engine. Compiling and
//! (de)serializing are O(input) and run on dirty CPU schedulers; a large compile waits for a
//! permit (`engine::compile_permit`: the NIF answers `:busy` and Elixir tries again).
//!
//! Each module also keeps its instantiation without Elixir imports or links prepared
//! (`prepared`: a wasmtime `InstancePre`, one for plain stores and one for WASI P1 stores, built
//! on first use), so a fresh instance in a fresh store (a command run, a `fresh: true` pool
//! member) neither clones the WASI linker nor resolves its imports by name.
//!
//! A module of the default engine also gets a *run twin* on the first command run
//! (`store_new_wasi_run`): the same compiled code on the run engine (`engine::run_engine`, the
//! pooling twin of the default engine), whose stores reuse memory slots. A run takes the twin
//! while a run slot is free and the module itself otherwise, so it never meets a full pool.

use std::sync::{Arc, OnceLock};

use rustler::{Binary, Encoder, Env, ResourceArc, Term};
use wasmtime::{InstancePre, Module};

use crate::atoms;
use crate::cache::{disk, Cache};
use crate::engine::{
    cache_dir_for, compile_permit, engine_or_default, fits_run_slot, take_run_slot, twin_engine,
    EngineResource,
};
use crate::error::{Error, Result};
use crate::store::data::StoreData;
use crate::store::limits::StoreLimitsEx;
use crate::store::{store_for_run, Handle, RunWasi, StoreResource};
use crate::term::to_binary;

mod describe;
mod exports;

pub use exports::{ExportEntry, ExportTable, FuncSig};

/// `{store, module}` for one command run of `module` (of the default engine) with WASI P1
/// `options` (no preopens), or for one call of a `fresh: true` pool member (`options` `nil`: a
/// plain store): a store of the run engine and the module's twin there while a run slot is
/// free (for a plain store, only when the module has a memory), else a store of the default
/// engine and `module` itself, exactly as `store_new_wasi_normal` (or `store_new`) makes it.
/// Never refuses for want of a slot.
#[rustler::nif]
fn store_new_wasi_run(
    options: Term,
    limits: Option<StoreLimitsEx>,
    module: ResourceArc<ModuleResource>,
) -> Result<(ResourceArc<StoreResource>, ResourceArc<ModuleResource>)> {
    let plain = options
        .decode::<rustler::Atom>()
        .is_ok_and(|atom| atom == rustler::types::atom::nil());
    let wasi = if plain {
        RunWasi::Plain
    } else {
        RunWasi::P1(options)
    };
    // A plain store gains nothing there when the module has no memory.
    let twin = |module: &ResourceArc<ModuleResource>| {
        let twin = (!plain || module.has_memory)
            .then(|| module.run_twin())
            .flatten()?;
        let engine = twin.module.engine().clone();
        Some((twin, engine))
    };
    store_for_run(wasi, limits, module, twin, take_run_slot)
}

/// Compiled modules, reused when the same bytes are compiled again (e.g. a restart).
static COMPILED: Cache<Module> = Cache::new();

pub struct ModuleResource {
    pub module: Module,
    /// Built with the resource, on the dirty scheduler that compiled or deserialized the module.
    pub exports: Arc<ExportTable>,
    /// Whether the module defines a memory (read for each `fresh: true` member's store).
    pub has_memory: bool,
    /// The instantiation without Elixir imports or links, for `[plain, WASI P1]` stores: `None`
    /// when the module's imports are not all WASI (instantiating then reports them).
    pre: [OnceLock<Option<InstancePre<StoreData>>>; 2],
    /// This module on the run engine (`engine::run_engine`), for a module of the default engine
    /// that fits a run slot; made on the first command run.
    run_twin: OnceLock<Option<ResourceArc<ModuleResource>>>,
}

impl ModuleResource {
    pub fn new(module: Module) -> Self {
        let exports = Arc::new(ExportTable::of(&module));
        let has_memory = module.resources_required().num_memories > 0;
        ModuleResource {
            module,
            exports,
            has_memory,
            pre: [OnceLock::new(), OnceLock::new()],
            run_twin: OnceLock::new(),
        }
    }

    /// The module on the run engine, made once (a copy of the compiled code: serialized and
    /// deserialized, no compile), or `None` when it is not of the default engine, does not fit a
    /// run slot or is too large to copy on a normal scheduler.
    pub fn run_twin(&self) -> Option<ResourceArc<ModuleResource>> {
        self.run_twin
            .get_or_init(|| {
                let run = twin_engine(self.module.engine(), self.module.image_range())?;
                if !fits_run_slot(&self.module) {
                    return None;
                }
                let bytes = self.module.serialize().ok()?;
                // SAFETY: the bytes were just serialized by wasmtime from a module of an engine
                // configured like `run` but for its allocator.
                let twin = unsafe { Module::deserialize(run, &bytes) }.ok()?;
                Some(ResourceArc::new(ModuleResource::new(twin)))
            })
            .clone()
    }

    /// The module's instantiation in a store of its own engine without Elixir imports or links
    /// (with WASI P1 when `wasi`), prepared once; `None` when that cannot succeed.
    pub fn prepared(&self, wasi: bool) -> Option<InstancePre<StoreData>> {
        self.pre[usize::from(wasi)]
            .get_or_init(|| {
                let linker = crate::linker::core(self.module.engine(), wasi).ok()?;
                linker.instantiate_pre(&self.module).ok()
            })
            .clone()
    }
}

#[rustler::resource_impl]
impl rustler::Resource for ModuleResource {}

// A panic inside a NIF poisons the locks this resource holds, and later uses report an error.
impl std::panic::RefUnwindSafe for ModuleResource {}

/// `{:ok, module}`, `{:error, reason}`, or `:busy` while other large compiles hold every permit.
#[rustler::nif(schedule = "DirtyCpu")]
fn module_compile<'a>(
    env: Env<'a>,
    store_or_caller: Term<'a>,
    bytes: Binary<'a>,
    cache_dir: Option<String>,
) -> Term<'a> {
    let Some(_permit) = compile_permit(bytes.len()) else {
        return atoms::busy().encode(env);
    };
    match compile(store_or_caller, bytes, cache_dir) {
        Ok(module) => (atoms::ok(), module).encode(env),
        Err(e) => (atoms::error(), e).encode(env),
    }
}

fn compile(
    store_or_caller: Term,
    bytes: Binary,
    cache_dir: Option<String>,
) -> Result<ResourceArc<ModuleResource>> {
    let handle = Handle::decode(store_or_caller)?;
    let engine = &handle.store.engine;
    let dir = cache_dir_for(engine, cache_dir);
    let module = COMPILED.get_or_compile(engine, bytes.as_slice(), || {
        disk::get_or_compile(dir.as_deref(), engine, bytes.as_slice(), || {
            let wasm = wat::parse_bytes(bytes.as_slice())
                .map_err(|e| Error::msg(format!("Error while parsing bytes: {e}")))?;
            Module::from_binary(engine, &wasm)
                .map_err(|e| Error::msg(format!("Could not compile module: {e:#}")))
        })
    })?;
    Ok(ResourceArc::new(ModuleResource::new(module)))
}

#[rustler::nif]
fn module_name(module: ResourceArc<ModuleResource>) -> Option<String> {
    module.module.name().map(str::to_string)
}

#[rustler::nif(schedule = "DirtyCpu")]
fn module_serialize<'a>(env: Env<'a>, module: ResourceArc<ModuleResource>) -> Result<Binary<'a>> {
    let bytes = module
        .module
        .serialize()
        .map_err(|e| Error::msg(format!("Could not serialize module: {e:#}")))?;
    Ok(to_binary(env, &bytes))
}

#[rustler::nif(schedule = "DirtyCpu")]
fn module_unsafe_deserialize(
    bytes: Binary,
    engine: Option<ResourceArc<EngineResource>>,
) -> Result<ResourceArc<ModuleResource>> {
    let engine = engine_or_default(engine)?;
    // SAFETY: the API is documented as unsafe: only bytes produced by `serialize` with this
    // wasmtime version and a compatible engine may be given.
    let module = unsafe { Module::deserialize(&engine, bytes.as_slice()) }
        .map_err(|e| Error::msg(format!("Could not deserialize module: {e:#}")))?;
    Ok(ResourceArc::new(ModuleResource::new(module)))
}
