//! Compiled core modules: compile, inspect, serialize and deserialize, and each module's export
//! table (`ExportTable`: names, signatures and wasmtime export indices, built once per module on
//! its first instantiation, so instantiating does no per-export work).
//!
//! A `Module` is immutable and shared between threads and stores of the same engine. Compiling and
//! (de)serializing are O(input) and run on dirty CPU schedulers; a large compile waits for a
//! permit (`engine::compile_permit`: the NIF answers `:busy` and Elixir tries again). Listing
//! more than `DIRTY_EXTERNS` exports or imports on a normal scheduler answers `{:ok, :dirty}`, and
//! `Wasmex.Module` calls the `*_dirty` variant.
//! The export table is built at most once (`OnceLock`) and shared behind an `Arc`.
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

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use rustler::{Binary, Encoder, Env, ResourceArc, Term};
use wasmtime::{
    Engine, ExternType, FuncType, GlobalType, InstancePre, MemoryType, Module, ModuleExport,
    Mutability, TableType, Val, ValType,
};

use crate::atoms;
use crate::cache::{disk, Cache};
use crate::engine::{
    cache_dir_for, compile_permit, engine_or_default, fits_run_slot, run_engine, take_run_slot,
    EngineResource, RUN_TABLE_ELEMENTS,
};
use crate::error::{Error, Result};
use crate::store::data::StoreData;
use crate::store::limits::{table_cap, StoreLimitsEx};
use crate::store::{new_wasi_for_run, Handle, StoreResource};
use crate::term::to_binary;

/// The largest compiled image `run_twin` copies (on a normal scheduler, once per module).
const TWIN_IMAGE: usize = 1024 * 1024;

/// `{store, module}` for one command run of `module` (of the default engine) with WASI P1
/// `options` (no preopens): a store of the run engine and the module's twin there while a run
/// slot is free, else a store of the default engine and `module` itself, exactly as
/// `store_new_wasi_normal` makes it. Never refuses for want of a slot.
#[rustler::nif]
fn store_new_wasi_run(
    options: Term,
    limits: Option<StoreLimitsEx>,
    module: ResourceArc<ModuleResource>,
) -> Result<(ResourceArc<StoreResource>, ResourceArc<ModuleResource>)> {
    // A table may grow as far on the run engine as the limits let it on the default one.
    let fits = table_cap(limits.as_ref()) <= RUN_TABLE_ELEMENTS;
    let twin = fits.then(|| module.run_twin()).flatten();
    match twin.and_then(|twin| take_run_slot().map(|slot| (twin, slot))) {
        Some((twin, slot)) => {
            let engine = twin.module.engine().clone();
            Ok((new_wasi_for_run(options, limits, engine, Some(slot))?, twin))
        }
        None => {
            let engine = crate::engine::default_engine()?;
            Ok((new_wasi_for_run(options, limits, engine, None)?, module))
        }
    }
}

/// Compiled modules, reused when the same bytes are compiled again (e.g. a restart).
static COMPILED: Cache<Module> = Cache::new();

pub struct ModuleResource {
    pub module: Module,
    /// Built with the resource, on the dirty scheduler that compiled or deserialized the module.
    pub exports: Arc<ExportTable>,
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
        ModuleResource {
            module,
            exports,
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
                let run = run_engine()?;
                let default = crate::engine::default_engine().ok()?;
                let image = self.module.image_range();
                let small = (image.end as usize).saturating_sub(image.start as usize) <= TWIN_IMAGE;
                if !Engine::same(self.module.engine(), &default) || !small {
                    return None;
                }
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

/// A function export's signature.
pub struct FuncSig {
    pub params: Vec<ValType>,
    /// Placeholder results of the right types, cloned for each call.
    pub results: Vec<Val>,
}

/// One export of a module: where instances hold it (wasmtime's export index), and its signature
/// if it is a function.
pub struct ExportEntry {
    /// Shared with the calls of the export, which name it in trap errors.
    pub name: Arc<str>,
    pub index: ModuleExport,
    pub func: Option<FuncSig>,
}

/// A module's exports in order, with a name index.
pub struct ExportTable {
    pub entries: Vec<ExportEntry>,
    by_name: HashMap<String, usize>,
    /// The positions of the exports that are not functions (memories, globals, tables): an
    /// instance resolves these few at instantiation, its functions when they are called.
    pub non_funcs: Vec<usize>,
}

impl ExportTable {
    fn of(module: &Module) -> Self {
        let mut entries = Vec::new();
        let mut by_name = HashMap::new();
        let mut non_funcs = Vec::new();
        for e in module.exports() {
            let Some(index) = module.get_export_index(e.name()) else {
                continue;
            };
            let ty = e.ty();
            let func = ty.func().map(|f| FuncSig {
                params: f.params().collect(),
                results: f
                    .results()
                    .map(|t| t.default_value().unwrap_or(Val::I32(0)))
                    .collect(),
            });
            if func.is_none() {
                non_funcs.push(entries.len());
            }
            by_name.insert(e.name().to_string(), entries.len());
            entries.push(ExportEntry {
                name: Arc::from(e.name()),
                index,
                func,
            });
        }
        ExportTable {
            entries,
            by_name,
            non_funcs,
        }
    }

    /// The position of the export `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    pub fn get(&self, name: &str) -> Option<&ExportEntry> {
        self.position(name).and_then(|i| self.entries.get(i))
    }
}

#[rustler::resource_impl]
impl rustler::Resource for ModuleResource {}

// A panic inside a NIF poisons the locks this resource holds, and later uses report an error.
impl std::panic::RefUnwindSafe for ModuleResource {}

/// The most exports or imports listed on a normal scheduler (about 1.5 µs each).
const DIRTY_EXTERNS: usize = 500;

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

fn val_type<'a>(env: Env<'a>, ty: &ValType) -> Term<'a> {
    match ty {
        ValType::I32 => atoms::i32().encode(env),
        ValType::I64 => atoms::i64().encode(env),
        ValType::F32 => atoms::f32().encode(env),
        ValType::F64 => atoms::f64().encode(env),
        ValType::V128 => atoms::v128().encode(env),
        ValType::Ref(r) => (atoms::reference(), r.to_string()).encode(env),
    }
}

fn func_info<'a>(env: Env<'a>, tag: rustler::Atom, ty: &FuncType) -> Term<'a> {
    let params: Vec<Term> = ty.params().map(|t| val_type(env, &t)).collect();
    let results: Vec<Term> = ty.results().map(|t| val_type(env, &t)).collect();
    (tag, params, results).encode(env)
}

fn global_info<'a>(env: Env<'a>, ty: &GlobalType) -> Term<'a> {
    let mutability = match ty.mutability() {
        Mutability::Const => atoms::const_(),
        Mutability::Var => atoms::var(),
    };
    let map = Term::map_from_pairs(
        env,
        &[
            (atoms::mutability().encode(env), mutability.encode(env)),
            (atoms::type_().encode(env), val_type(env, ty.content())),
        ],
    );
    (
        atoms::global(),
        map.unwrap_or_else(|_| atoms::nil().encode(env)),
    )
        .encode(env)
}

fn memory_info<'a>(env: Env<'a>, ty: &MemoryType) -> Term<'a> {
    let mut pairs = vec![
        (atoms::minimum().encode(env), ty.minimum().encode(env)),
        (atoms::shared().encode(env), ty.is_shared().encode(env)),
        (atoms::memory64().encode(env), ty.is_64().encode(env)),
    ];
    if let Some(max) = ty.maximum() {
        pairs.push((atoms::maximum().encode(env), max.encode(env)));
    }
    let map = Term::map_from_pairs(env, &pairs).unwrap_or_else(|_| atoms::nil().encode(env));
    (atoms::memory(), map).encode(env)
}

fn table_info<'a>(env: Env<'a>, ty: &TableType) -> Term<'a> {
    let mut pairs = vec![
        (atoms::minimum().encode(env), ty.minimum().encode(env)),
        (
            atoms::type_().encode(env),
            (atoms::reference(), ty.element().to_string()).encode(env),
        ),
    ];
    if let Some(max) = ty.maximum() {
        pairs.push((atoms::maximum().encode(env), max.encode(env)));
    }
    let map = Term::map_from_pairs(env, &pairs).unwrap_or_else(|_| atoms::nil().encode(env));
    (atoms::table(), map).encode(env)
}

fn extern_info<'a>(env: Env<'a>, ty: &ExternType) -> Term<'a> {
    match ty {
        ExternType::Func(f) => func_info(env, atoms::fn_(), f),
        ExternType::Global(g) => global_info(env, g),
        ExternType::Memory(m) => memory_info(env, m),
        ExternType::Table(t) => table_info(env, t),
        ExternType::Tag(t) => func_info(env, atoms::tag(), t.ty()),
    }
}

#[rustler::nif]
fn module_exports<'a>(env: Env<'a>, module: ResourceArc<ModuleResource>) -> Result<Term<'a>> {
    if module.module.exports().len() > DIRTY_EXTERNS {
        return Ok(atoms::dirty().encode(env));
    }
    exports(env, &module)
}

/// `module_exports` of any size, on a dirty CPU scheduler.
#[rustler::nif(schedule = "DirtyCpu")]
fn module_exports_dirty<'a>(env: Env<'a>, module: ResourceArc<ModuleResource>) -> Result<Term<'a>> {
    exports(env, &module)
}

fn exports<'a>(env: Env<'a>, module: &ModuleResource) -> Result<Term<'a>> {
    let mut map = Term::map_new(env);
    for e in module.module.exports() {
        map = map
            .map_put(e.name(), extern_info(env, &e.ty()))
            .map_err(|_| Error::msg("could not build the exports map"))?;
    }
    Ok(map)
}

#[rustler::nif]
fn module_imports<'a>(env: Env<'a>, module: ResourceArc<ModuleResource>) -> Result<Term<'a>> {
    if module.module.imports().len() > DIRTY_EXTERNS {
        return Ok(atoms::dirty().encode(env));
    }
    imports(env, &module)
}

/// `module_imports` of any size, on a dirty CPU scheduler.
#[rustler::nif(schedule = "DirtyCpu")]
fn module_imports_dirty<'a>(env: Env<'a>, module: ResourceArc<ModuleResource>) -> Result<Term<'a>> {
    imports(env, &module)
}

fn imports<'a>(env: Env<'a>, module: &ModuleResource) -> Result<Term<'a>> {
    let mut namespaces: Vec<(String, Term<'a>)> = Vec::new();
    for i in module.module.imports() {
        let info = extern_info(env, &i.ty());
        let pos = match namespaces.iter().position(|(ns, _)| ns == i.module()) {
            Some(pos) => pos,
            None => {
                namespaces.push((i.module().to_string(), Term::map_new(env)));
                namespaces.len() - 1
            }
        };
        let entry = &mut namespaces[pos].1;
        *entry = entry
            .map_put(i.name(), info)
            .map_err(|_| Error::msg("could not build the imports map"))?;
    }
    let mut map = Term::map_new(env);
    for (ns, inner) in namespaces {
        map = map
            .map_put(ns, inner)
            .map_err(|_| Error::msg("could not build the imports map"))?;
    }
    Ok(map)
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
