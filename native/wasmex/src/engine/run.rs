//! The *run engine*: a pooling twin of the default engine, made on first use, for the
//! short-lived WASI stores of commands (`Wasmex.Command`). Its slots are reused instead of mapped
//! and unmapped per store. It is never full: a store takes a slot (`take_run_slot` for a core
//! module's store, `take_component_run_slot` for a component's: atomic counts under the pool's
//! capacity) before it is made on this engine, and a command that finds none runs on the
//! default engine instead. A component that fits a component slot (at most
//! `RUN_COMPONENT_CORE_INSTANCES` core instances, `RUN_COMPONENT_MEMORIES` memories and
//! `RUN_COMPONENT_TABLES` tables, which wasmtime checks when the component is loaded onto this
//! engine) so never finds the pool short in the middle of its instantiation, after a start
//! function may have run. Threading: any thread.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

use once_cell::sync::Lazy;
use wasmtime::{Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::{config_from, default_config, new_engine};

/// Stores the run engine holds at once (`take_run_slot` counts them).
const RUN_SLOTS: u32 = 128;

/// The run engine's pool capacity for instances, memories, tables and stacks: twice the stores it
/// holds, since a slot is not reusable at once when its store ends. Pages handed back with
/// `madvise` wait in a decommit batch, and while one thread flushes a batch its slots are
/// neither free nor queued, so another thread's instantiation that finds the pool full cannot
/// reclaim them (with two schedulers running commands back to back, one of 61,000 runs failed
/// with "maximum concurrent limit of 128 ... reached"). Each slot reserves address space for a
/// 4 GiB memory, not memory.
const RUN_POOL: u32 = 2 * RUN_SLOTS;

/// Component stores the run engine holds at once (`take_component_run_slot` counts them).
const RUN_COMPONENT_SLOTS: u32 = 64;

/// Core instances, memories and tables one component may have to run on the run engine (each
/// core module of it at most one memory and one table, wasmtime's pooling defaults). The pool
/// holds them for twice `RUN_COMPONENT_SLOTS` components, as `RUN_POOL` does for modules. A
/// component built for `wasm32-wasip2` has one memory (its main module's) and a few tables (the
/// shims'); one with more gets no twin and runs on the default engine. Each memory slot reserves
/// 4 GiB of address space (the run engine reserves about 1.5 TiB in all), not memory.
const RUN_COMPONENT_CORE_INSTANCES: u32 = 16;
const RUN_COMPONENT_MEMORIES: u32 = 1;
const RUN_COMPONENT_TABLES: u32 = 8;

/// The part of the pool that component stores may take, for each kind of slot.
const fn for_components(per_component: u32) -> u32 {
    2 * RUN_COMPONENT_SLOTS * per_component
}

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

/// Bytes at the start of a run engine's linear memory zeroed with `memset` when a store ends
/// (the rest is handed back with `madvise`), for the same reason as `RUN_TABLE_KEEP_RESIDENT`:
/// a Rust command's 1 MiB stack and its data sit there, and the next run's first writes to
/// them took about six page faults, each a cross-core TLB flush. With it a prepared JSON
/// command ran in 13 µs instead of 22 µs with 1 caller, and 35-39k instead of 28-30k runs/s
/// with 4 (`bench/command.exs`). A memory smaller than this is zeroed whole.
const RUN_MEMORY_KEEP_RESIDENT: usize = 2 << 20;

/// Ended stores whose memory slots are handed back to the OS together (one `process_madvise`,
/// so one cross-core TLB flush, for the batch). A slot waiting in a batch is flushed at once
/// when an instantiation finds no free slot.
const RUN_DECOMMIT_BATCH: usize = 16;

static RUN_ENGINE: Lazy<Option<Engine>> = Lazy::new(|| {
    let mut config = config_from(&default_config()).ok()?;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(for_components(1))
        .max_core_instances_per_component(RUN_COMPONENT_CORE_INSTANCES)
        .max_memories_per_component(RUN_COMPONENT_MEMORIES)
        .max_tables_per_component(RUN_COMPONENT_TABLES)
        .max_component_instance_size(RUN_INSTANCE_SIZE)
        .total_core_instances(RUN_POOL + for_components(RUN_COMPONENT_CORE_INSTANCES))
        .total_memories(RUN_POOL + for_components(RUN_COMPONENT_MEMORIES))
        .total_tables(RUN_POOL + for_components(RUN_COMPONENT_TABLES))
        .total_stacks(RUN_POOL + for_components(1))
        .table_elements(RUN_TABLE_ELEMENTS)
        .max_core_instance_size(RUN_INSTANCE_SIZE)
        .table_keep_resident(RUN_TABLE_KEEP_RESIDENT)
        .linear_memory_keep_resident(RUN_MEMORY_KEEP_RESIDENT)
        .decommit_batch_size(RUN_DECOMMIT_BATCH);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    new_engine(&config).ok()
});

/// The pooling twin of the default engine, or `None` when it cannot be made (e.g. too little
/// address space for its slots).
pub fn run_engine() -> Option<&'static Engine> {
    RUN_ENGINE.as_ref()
}

/// The largest compiled image copied onto the run engine (on a normal scheduler, once per
/// module or component).
const TWIN_IMAGE: usize = 1024 * 1024;

/// The run engine, for code of `engine` whose compiled image is `image`, when that code should
/// get a twin there: `engine` is the default engine and the image is at most `TWIN_IMAGE`.
pub fn twin_engine(engine: &Engine, image: Range<*const u8>) -> Option<&'static Engine> {
    let run = run_engine()?;
    let default = super::default_engine().ok()?;
    let small = (image.end as usize).saturating_sub(image.start as usize) <= TWIN_IMAGE;
    (Engine::same(engine, &default) && small).then_some(run)
}

static RUN_STORES: AtomicUsize = AtomicUsize::new(0);
static RUN_COMPONENT_STORES: AtomicUsize = AtomicUsize::new(0);

/// A store's claim on one of the run engine's slots (of its count: modules' or components'),
/// given back when dropped (after the store).
pub struct RunSlot(&'static AtomicUsize);

impl Drop for RunSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A slot of the run engine for a core module's store, or `None` while `RUN_SLOTS` stores
/// hold one.
pub fn take_run_slot() -> Option<RunSlot> {
    take(&RUN_STORES, RUN_SLOTS)
}

/// A slot of the run engine for a component's store, or `None` while `RUN_COMPONENT_SLOTS`
/// stores hold one.
pub fn take_component_run_slot() -> Option<RunSlot> {
    take(&RUN_COMPONENT_STORES, RUN_COMPONENT_SLOTS)
}

fn take(count: &'static AtomicUsize, slots: u32) -> Option<RunSlot> {
    count
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < slots as usize).then_some(n + 1)
        })
        .ok()
        .map(|_| RunSlot(count))
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
