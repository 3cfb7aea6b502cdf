//! Engines: configuration, the shared default engine and the epoch ticker.
//!
//! An `Engine` is immutable and shared between threads. One background thread (the ticker) bumps
//! the epoch of every live engine every quarter millisecond; stores yield at each tick, which bounds how
//! long one poll of a guest can hold a scheduler. Engines are registered weakly, so a dropped
//! engine stops being ticked.
//!
//! An engine allocates instances on demand (the default) or from wasmtime's pooling allocator
//! (`pooling` in the config): slots for instances, memories, tables and fiber stacks reserved
//! when the engine is made and reused, with copy-on-write memory images. A full pool fails an
//! instantiation with an error naming the option to raise (`error.rs`).

use std::sync::Mutex;
use std::time::Duration;

use once_cell::sync::Lazy;
use rustler::{Binary, Env, NifMap, ResourceArc};
use wasmtime::{
    Config, Engine, EngineWeak, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig,
    WasmBacktraceDetails,
};

use crate::atoms::{none, speed, speed_and_size};
use crate::error::{Error, Result};
use crate::term::to_binary;

/// How often the ticker bumps the epoch: the length of one time slice.
pub const TICK: Duration = Duration::from_micros(250);

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
    cranelift_opt_level: rustler::Atom,
    wasm_backtrace_details: bool,
    memory64: bool,
    wasm_component_model: bool,
    debug_info: bool,
    /// `nil` for the on-demand allocator.
    pooling: Option<PoolingEx>,
}

/// The pooling allocator's sizes (`Wasmex.EngineConfig.pooling/2`); `nil` keeps wasmtime's.
#[derive(NifMap)]
pub struct PoolingEx {
    instances: u32,
    core_instances: u32,
    memories: u32,
    tables: u32,
    max_memory_size: Option<usize>,
}

static TICKED: Lazy<Mutex<Vec<EngineWeak>>> = Lazy::new(|| {
    std::thread::Builder::new()
        .name("wasmex-epoch".into())
        .spawn(tick_forever)
        .ok();
    Mutex::new(Vec::new())
});

fn tick_forever() {
    loop {
        std::thread::sleep(TICK);
        if let Ok(mut engines) = TICKED.lock() {
            engines.retain(|weak| match weak.upgrade() {
                Some(engine) => {
                    engine.increment_epoch();
                    true
                }
                None => false,
            });
        }
    }
}

fn register(engine: &Engine) {
    if let Ok(mut engines) = TICKED.lock() {
        engines.push(engine.weak());
    }
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

/// The default engine is configured exactly like `Engine.new(%Wasmex.EngineConfig{})`, so modules
/// move between the two.
static DEFAULT: Lazy<std::result::Result<Engine, String>> = Lazy::new(|| {
    let defaults = EngineConfigEx {
        consume_fuel: false,
        cranelift_opt_level: none(),
        wasm_backtrace_details: false,
        memory64: false,
        wasm_component_model: true,
        debug_info: false,
        pooling: None,
    };
    config_from(&defaults)
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

fn config_from(ex: &EngineConfigEx) -> Result<Config> {
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
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    Ok(config)
}

#[rustler::nif]
fn engine_new(config: EngineConfigEx) -> Result<ResourceArc<EngineResource>> {
    let engine = new_engine(&config_from(&config)?)?;
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
