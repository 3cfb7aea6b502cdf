//! Engines: their configuration (`Wasmex.EngineConfig` decoded into a wasmtime `Config`), the
//! shared default engine, the compiled-code cache directory an engine uses, and the engine NIFs.
//! An `Engine` is immutable and shared between threads.
//!
//! Beside it, in `engine/`: the epoch ticker that ends time slices (`ticker`), the permits that
//! keep large compiles off one dirty scheduler (`permits`), and the run engine for commands
//! (`run`).
//!
//! An engine compiles with Cranelift (the default, optimizing) or Winch (`compiler` in the config:
//! wasmtime's baseline compiler, one pass per function, faster compiles and slower code). Winch
//! checks epochs and fuel like Cranelift; it cannot emit native debug information (`debug_info`
//! is refused with an error naming both options) and leaves out the proposals it does not
//! implement (GC, function references, tail calls, exceptions, relaxed SIMD), which wasmtime turns
//! off for it.
//!
//! An engine allocates instances on demand (the default) or from wasmtime's pooling allocator
//! (`pooling` in the config): slots for instances, memories, tables and fiber stacks reserved
//! when the engine is made and reused, with copy-on-write memory images. A full pool fails an
//! instantiation with an error naming the option to raise (`error.rs`). On-demand engines take
//! their fiber stacks from `stacks` (reused mappings, not limited in number).
//!
//! Either way each linear memory reserves address space: by default 4 GiB plus guards, which
//! caps a VM at about 31,000 live memories in a 47-bit address space. `memory` in the config
//! (`Wasmex.EngineConfig.memory/2`) sets the reservation, the guard and the room for growth, for
//! many small instances (the "Many live instances" guide has the figures).

use std::path::PathBuf;
use std::sync::Mutex;

use once_cell::sync::Lazy;
use rustler::{Binary, Env, NifMap, ResourceArc};
use wasmtime::{
    Config, Engine, EngineWeak, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig,
    Strategy, WasmBacktraceDetails,
};

use crate::atoms::{cranelift, none, speed, speed_and_size, winch};
use crate::error::{Error, Result};
use crate::term::to_binary;

mod permits;
mod run;
mod ticker;

pub use permits::compile_permit;
#[cfg(test)]
pub use permits::{big_compiles, CompilePermit, SMALL_COMPILE};
pub use run::{
    fits_run_slot, take_component_run_slot, take_run_slot, twin_engine, RunSlot, RUN_TABLE_ELEMENTS,
};
pub use ticker::note_slice_used;
use ticker::register;

pub struct EngineResource {
    pub engine: Engine,
}

#[rustler::resource_impl]
impl rustler::Resource for EngineResource {}

// A panic inside a NIF poisons the locks this resource holds, and later uses report an error.
impl std::panic::RefUnwindSafe for EngineResource {}

/// `%Wasmex.EngineConfig{}` as the NIF sees it.
#[derive(NifMap)]
pub struct EngineConfigEx {
    consume_fuel: bool,
    /// `:cranelift` or `:winch`.
    compiler: rustler::Atom,
    cranelift_opt_level: rustler::Atom,
    wasm_backtrace_details: bool,
    memory64: bool,
    wasm_component_model: bool,
    debug_info: bool,
    /// `nil` for the on-demand allocator.
    pooling: Option<PoolingEx>,
    /// How much address space each linear memory reserves (`Wasmex.EngineConfig.memory/2`);
    /// `nil` keeps wasmtime's.
    memory: Option<MemoryEx>,
    /// The compiled-code cache directory of this engine's modules and components (`nil`: the
    /// application's `:cache_dir`, see `cache_dir_for`).
    cache_dir: Option<String>,
}

/// The pooling allocator's sizes (`Wasmex.EngineConfig.pooling/2`); `nil` keeps wasmtime's.
#[derive(NifMap)]
pub struct PoolingEx {
    instances: u32,
    core_instances: u32,
    memories: u32,
    tables: u32,
    max_memory_size: Option<usize>,
    /// Bytes of each memory and table zeroed with `memset` when freed (wasmtime's
    /// `linear_memory_keep_resident` and `table_keep_resident`).
    keep_resident: usize,
}

/// Each linear memory's reservation, guard and room for growth, in bytes
/// (`Wasmex.EngineConfig.memory/2`); a `nil` field keeps wasmtime's default (4 GiB, 32 MiB and
/// 2 GiB on 64-bit hosts).
#[derive(NifMap)]
pub struct MemoryEx {
    reservation: Option<u64>,
    guard_size: Option<u64>,
    reservation_for_growth: Option<u64>,
}

/// Engines created with a `cache_dir`, weakly (a dropped engine's entry is skipped and pruned).
static CACHE_DIRS: Lazy<Mutex<Vec<(EngineWeak, PathBuf)>>> = Lazy::new(|| Mutex::new(Vec::new()));

fn set_cache_dir(engine: &Engine, dir: &str) {
    if let Ok(mut dirs) = CACHE_DIRS.lock() {
        dirs.retain(|(weak, _)| weak.upgrade().is_some());
        dirs.push((engine.weak(), PathBuf::from(dir)));
    }
}

/// Where `engine` caches compiled code: its own `cache_dir`, else `app_dir` (the application
/// environment's, read by the Elixir caller at each compile), else nowhere.
pub fn cache_dir_for(engine: &Engine, app_dir: Option<String>) -> Option<PathBuf> {
    let own = CACHE_DIRS.lock().ok().and_then(|dirs| {
        dirs.iter()
            .find(|(weak, _)| weak.upgrade().is_some_and(|e| Engine::same(&e, engine)))
            .map(|(_, dir)| dir.clone())
    });
    own.or_else(|| app_dir.filter(|d| !d.is_empty()).map(PathBuf::from))
}

fn base_config() -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config
}

pub fn new_engine(config: &Config) -> Result<Engine> {
    let engine = Engine::new(config)?;
    register(&engine);
    Ok(engine)
}

pub(crate) fn default_config() -> EngineConfigEx {
    EngineConfigEx {
        consume_fuel: false,
        compiler: cranelift(),
        cranelift_opt_level: none(),
        wasm_backtrace_details: false,
        memory64: false,
        wasm_component_model: true,
        debug_info: false,
        cache_dir: None,
        pooling: None,
        memory: None,
    }
}

/// The default engine is configured exactly like `Engine.new(%Wasmex.EngineConfig{})`, so modules
/// move between the two.
static DEFAULT: Lazy<std::result::Result<Engine, String>> = Lazy::new(|| {
    config_from(&default_config())
        .and_then(|config| new_engine(&config))
        .map_err(|e| e.text())
});

/// The engine shared by every store created without an explicit engine.
pub fn default_engine() -> Result<Engine> {
    DEFAULT.clone().map_err(Error::Msg)
}

/// The engine of an optional handle, or the shared default.
pub fn engine_or_default(engine: Option<ResourceArc<EngineResource>>) -> Result<Engine> {
    match engine {
        Some(e) => Ok(e.engine.clone()),
        None => default_engine(),
    }
}

pub(crate) fn config_from(ex: &EngineConfigEx) -> Result<Config> {
    let mut config = base_config();
    let level = if ex.cranelift_opt_level == none() {
        OptLevel::None
    } else if ex.cranelift_opt_level == speed() {
        OptLevel::Speed
    } else if ex.cranelift_opt_level == speed_and_size() {
        OptLevel::SpeedAndSize
    } else {
        return Err(Error::msg(
            "cranelift_opt_level must be :none, :speed or :speed_and_size",
        ));
    };
    config.strategy(strategy_from(ex)?);
    config
        .consume_fuel(ex.consume_fuel)
        .cranelift_opt_level(level)
        .wasm_backtrace_details(if ex.wasm_backtrace_details {
            WasmBacktraceDetails::Enable
        } else {
            WasmBacktraceDetails::Disable
        })
        .wasm_memory64(ex.memory64)
        .wasm_component_model(ex.wasm_component_model)
        .debug_info(ex.debug_info);
    if let Some(m) = &ex.memory {
        if let Some(bytes) = m.reservation {
            config.memory_reservation(bytes);
        }
        if let Some(bytes) = m.guard_size {
            config.memory_guard_size(bytes);
        }
        if let Some(bytes) = m.reservation_for_growth {
            config.memory_reservation_for_growth(bytes);
        }
    }
    if let Some(p) = &ex.pooling {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(p.instances)
            .total_stacks(p.instances)
            .total_core_instances(p.core_instances)
            .total_memories(p.memories)
            .total_tables(p.tables);
        if let Some(bytes) = p.max_memory_size {
            pool.max_memory_size(bytes);
        }
        pool.linear_memory_keep_resident(p.keep_resident)
            .table_keep_resident(p.keep_resident);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    } else {
        // On demand, a fresh store's fiber stack is a reused mapping rather than a new one.
        config.with_host_stack(crate::stacks::Reuse::shared());
    }
    Ok(config)
}

/// The compiler of `ex`, refusing the settings it cannot honour (wasmtime's own refusal would
/// name neither option).
fn strategy_from(ex: &EngineConfigEx) -> Result<Strategy> {
    if ex.compiler == cranelift() {
        Ok(Strategy::Cranelift)
    } else if ex.compiler != winch() {
        Err(Error::msg("compiler must be :cranelift or :winch"))
    } else if ex.debug_info {
        Err(Error::msg(
            "compiler :winch does not support debug_info: true (Winch emits no native debug information)",
        ))
    } else {
        Ok(Strategy::Winch)
    }
}

#[rustler::nif]
fn engine_new(config: EngineConfigEx) -> Result<ResourceArc<EngineResource>> {
    let engine = new_engine(&config_from(&config)?)?;
    if let Some(dir) = config.cache_dir.as_deref().filter(|d| !d.is_empty()) {
        set_cache_dir(&engine, dir);
    }
    Ok(ResourceArc::new(EngineResource { engine }))
}

#[rustler::nif]
fn engine_default() -> Result<ResourceArc<EngineResource>> {
    Ok(ResourceArc::new(EngineResource {
        engine: default_engine()?,
    }))
}

#[rustler::nif(schedule = "DirtyCpu")]
fn engine_precompile_module<'a>(
    env: Env<'a>,
    engine: ResourceArc<EngineResource>,
    bytes: Binary,
) -> Result<Binary<'a>> {
    let out = engine.engine.precompile_module(bytes.as_slice())?;
    Ok(to_binary(env, &out))
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
