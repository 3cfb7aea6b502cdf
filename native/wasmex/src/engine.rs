//! Engines: configuration, the shared default engine and the epoch ticker.
//!
//! An `Engine` is immutable and shared between threads. One background thread (the ticker) bumps
//! the epoch of every live engine every quarter millisecond; stores yield at each tick, which bounds how
//! long one poll of a guest can hold a scheduler. The ticker asks for a higher OS priority
//! (`raise_priority`), since a late tick lengthens every running poll. Engines are registered weakly, so a dropped
//! engine stops being ticked. While no guest runs to the end of a slice for 100 ms, the ticker
//! ticks every millisecond instead (an idle VM pays a quarter of the wake-ups); the first yield
//! of a long-running guest brings back the quarter millisecond.
//!
//! Compiles of large inputs take a permit (`compile_permit`): at most `big_compiles()` run at a
//! time, one fewer than the cores (the BEAM's default dirty CPU scheduler count), so large
//! compiles never occupy every dirty CPU scheduler. The permit count is an atomic; any thread.
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
//!
//! The *run engine* (`run_engine`) is a pooling twin of the default engine, made on first use,
//! for short-lived WASI stores of commands (`Wasmex.Command`): its memory slots are reused
//! instead of mapped and unmapped per store. It is never full: a store takes a slot
//! (`take_run_slot`, an atomic count under the pool's capacity) before it is made on this
//! engine, and a command that finds none runs on the default engine instead.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use once_cell::sync::Lazy;
use rustler::{Binary, Env, NifMap, ResourceArc};
use wasmtime::{
    Config, Engine, EngineWeak, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig,
    Strategy, WasmBacktraceDetails,
};

use crate::atoms::{cranelift, none, speed, speed_and_size, winch};
use crate::error::{Error, Result};
use crate::term::to_binary;

/// How often the ticker bumps the epoch: the length of one time slice.
pub const TICK: Duration = Duration::from_micros(250);

/// Inputs up to this size compile without a permit: they take milliseconds.
const SMALL_COMPILE: usize = 64 * 1024;

static BIG_COMPILES: AtomicUsize = AtomicUsize::new(0);

/// How many large compiles may run at once: one fewer than the cores, and at least one.
pub fn big_compiles() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get().saturating_sub(1))
        .unwrap_or(1)
        .max(1)
}

/// Leave to compile `len` bytes, held until dropped; `None` while `big_compiles()` large
/// compiles run (the caller answers `:busy` and Elixir tries again).
pub fn compile_permit(len: usize) -> Option<CompilePermit> {
    if len <= SMALL_COMPILE {
        return Some(CompilePermit(false));
    }
    let cap = big_compiles();
    BIG_COMPILES
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < cap).then_some(n + 1)
        })
        .ok()
        .map(|_| CompilePermit(true))
}

/// A compile's permit (`true` when it counts against `big_compiles()`).
pub struct CompilePermit(bool);

impl Drop for CompilePermit {
    fn drop(&mut self) {
        if self.0 {
            BIG_COMPILES.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

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

static TICKED: Lazy<Mutex<Vec<EngineWeak>>> = Lazy::new(|| {
    std::thread::Builder::new()
        .name("wasmex-epoch".into())
        .spawn(tick_forever)
        .ok();
    Mutex::new(Vec::new())
});

/// How much the ticker raises its priority (a nice value) when the OS lets it.
const TICKER_NICE: i32 = -10;

/// Asks the OS to run this thread ahead of ordinary threads. Every guest poll ends at the next
/// tick, so a ticker the OS leaves waiting (a loaded machine) makes every running poll that much
/// longer: a plain sleeping thread was seen 107 ms late on a loaded 2-core machine. Without the
/// privilege to raise priorities (`CAP_SYS_NICE`) the request fails and nothing changes.
fn raise_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on the calling thread's own id; no memory is shared.
        unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, tid, TICKER_NICE);
        }
    }
}

/// Whether a guest used up a time slice since the ticker last looked (`note_slice_used`).
static SLICE_USED: AtomicBool = AtomicBool::new(false);

/// After this many ticks in which no guest used up its slice, the ticker slows to `IDLE_TICK`.
const IDLE_AFTER: u32 = 400;

/// The ticker's period while no guest runs long: an idle VM then wakes it 1,000 times a second
/// instead of 4,000. A guest that starts a long run meanwhile gets one slice of at most this
/// long before its first yield, which brings the ticker back to `TICK`.
const IDLE_TICK: Duration = Duration::from_millis(1);

/// Tells the ticker that a guest ran to the end of its time slice (called on every yield).
pub fn note_slice_used() {
    SLICE_USED.store(true, Ordering::Relaxed);
}

fn tick_forever() {
    raise_priority();
    let mut idle_ticks: u32 = 0;
    loop {
        std::thread::sleep(if idle_ticks >= IDLE_AFTER {
            IDLE_TICK
        } else {
            TICK
        });
        idle_ticks = if SLICE_USED.swap(false, Ordering::Relaxed) {
            0
        } else {
            idle_ticks.saturating_add(1)
        };
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

/// Stores the run engine holds at once (its pool's capacity for instances, memories, tables
/// and stacks); each reserves a 4 GiB memory slot of address space, not memory.
pub const RUN_SLOTS: u32 = 128;

/// Table elements a run engine's table may hold: the store limiter's default cap, so a table
/// grows as far on the run engine as on the default one.
pub const RUN_TABLE_ELEMENTS: usize = 1_000_000;

/// The largest instance state (`VMContext`) of a run engine's instance: generous, so a module
/// with many globals or functions instantiates there as on the default engine.
const RUN_INSTANCE_SIZE: usize = 16 << 20;

/// Bytes of a run engine's table slot zeroed with `memset` when a store ends, instead of handing
/// the pages back with `madvise`: the next store's first write to its table then takes no
/// copy-on-write fault. Both the `madvise` and that fault flush the other cores' TLBs, and with
/// every scheduler running commands those cross-core flushes were a third of the CPU time (in a
/// VM, where each one traps to the hypervisor).
const RUN_TABLE_KEEP_RESIDENT: usize = 64 << 10;

/// Ended stores whose memory slots are handed back to the OS together (one `process_madvise`,
/// so one cross-core TLB flush, for the batch). A slot waiting in a batch is flushed at once
/// when an instantiation finds no free slot.
const RUN_DECOMMIT_BATCH: usize = 16;

static RUN_ENGINE: Lazy<Option<Engine>> = Lazy::new(|| {
    let mut config = config_from(&default_config()).ok()?;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(RUN_SLOTS)
        .total_core_instances(RUN_SLOTS)
        .total_memories(RUN_SLOTS)
        .total_tables(RUN_SLOTS)
        .total_stacks(RUN_SLOTS)
        .table_elements(RUN_TABLE_ELEMENTS)
        .max_core_instance_size(RUN_INSTANCE_SIZE)
        .table_keep_resident(RUN_TABLE_KEEP_RESIDENT)
        .decommit_batch_size(RUN_DECOMMIT_BATCH);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    new_engine(&config).ok()
});

/// The pooling twin of the default engine, or `None` when it cannot be made (e.g. too little
/// address space for its slots).
pub fn run_engine() -> Option<&'static Engine> {
    RUN_ENGINE.as_ref()
}

static RUN_STORES: AtomicUsize = AtomicUsize::new(0);

/// A store's claim on one of the run engine's slots, given back when dropped (after the store).
pub struct RunSlot(());

impl Drop for RunSlot {
    fn drop(&mut self) {
        RUN_STORES.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A slot of the run engine, or `None` while `RUN_SLOTS` stores hold one.
pub fn take_run_slot() -> Option<RunSlot> {
    RUN_STORES
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < RUN_SLOTS as usize).then_some(n + 1)
        })
        .ok()
        .map(|_| RunSlot(()))
}

/// Whether a module's instance fits one slot of the run engine (one memory of at most 4 GiB,
/// one table of at most `RUN_TABLE_ELEMENTS`, as the pooling allocator's defaults allow).
pub fn fits_run_slot(module: &wasmtime::Module) -> bool {
    let needs = module.resources_required();
    let pages_max = 1u64 << 16;
    needs.num_memories <= 1
        && needs.num_tables <= 1
        && needs.max_initial_memory_size.unwrap_or(0) <= pages_max
        && needs.max_initial_table_size.unwrap_or(0) <= RUN_TABLE_ELEMENTS as u64
}

fn default_config() -> EngineConfigEx {
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
