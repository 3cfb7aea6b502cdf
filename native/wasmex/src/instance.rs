//! Instances: instantiation (with Elixir imports and linked modules), calls, globals and the
//! instance's memory.
//!
//! An `InstanceResource` is a handle into one store. It shares its module's export table (names
//! and signatures, built once per compiled module) and resolves its few non-function exports at
//! instantiation, so looking up an export needs no store access and instantiating does no
//! per-function work; a call resolves its function by export index inside the store. Calls and
//! instantiation are operations (`Op`: they may yield or call into Elixir) that encode their own
//! results; global access is a synchronous store operation (`SyncOp`). Threading: as `store::exec` says (under the store's
//! slot lock, on the calling scheduler).

use std::sync::Arc;
use std::time::Instant;

use rustler::{Encoder, Env, NifMap, ResourceArc, Term};
use wasmtime::{
    Extern, ExternType, Global, Linker, Module, ModuleExport, Mutability, StoreContextMut, Trap,
    Val,
};

use crate::atoms;
use crate::convert::core::{param_to_val, term_to_val, val_to_term, vals_to_list};
use crate::convert::{list_items, name_arg};
use crate::error::{import_lead, Error, Result};
use crate::imports;
use crate::memory::MemoryResource;
use crate::module::{ExportEntry, ExportTable, FuncSig, ModuleResource};
use crate::store::data::StoreData;
use crate::store::driver::{start_op, step_or_error};
use crate::store::exec;
use crate::store::op::{Op, SyncOp};
use crate::store::Handle;

/// A new instance with its non-function exports (see `ExportTable::non_funcs`).
pub struct InstanceExports {
    pub module: Module,
    pub table: Arc<ExportTable>,
    pub instance: wasmtime::Instance,
    pub others: Vec<(usize, Extern)>,
}

/// An instance: the module's shared export table (names and signatures, built once per module),
/// the instance's non-function exports resolved at instantiation, and the wasmtime instance, from
/// which a call resolves its function inside the store. Instantiating does no per-function work.
pub struct InstanceResource {
    pub store_id: u64,
    pub module: Module,
    table: Arc<ExportTable>,
    instance: wasmtime::Instance,
    /// `(position in the table, export)`, in export order.
    others: Vec<(usize, Extern)>,
}

#[rustler::resource_impl]
impl rustler::Resource for InstanceResource {}

// A panic inside a NIF poisons the locks this resource holds, and later uses report an error.
impl std::panic::RefUnwindSafe for InstanceResource {}

impl InstanceResource {
    pub fn new(store_id: u64, e: InstanceExports) -> Self {
        InstanceResource {
            store_id,
            module: e.module,
            table: e.table,
            instance: e.instance,
            others: e.others,
        }
    }

    /// The exported function `name`: where the instance holds it, and its signature.
    fn func(&self, name: &str) -> Option<(&ExportEntry, &FuncSig)> {
        let entry = self.table.get(name)?;
        entry.func.as_ref().map(|sig| (entry, sig))
    }

    /// The non-function export `name`.
    fn other(&self, name: &str) -> Option<&Extern> {
        let position = self.table.position(name)?;
        self.others
            .iter()
            .find(|(p, _)| *p == position)
            .map(|(_, e)| e)
    }

    pub fn first_memory(&self) -> Option<wasmtime::Memory> {
        self.others
            .iter()
            .find_map(|(_, e)| e.clone().into_memory())
    }

    pub fn check_store(&self, handle: &Handle) -> Result<()> {
        if self.store_id == handle.store.id {
            Ok(())
        } else {
            Err(Error::ForeignStore("instance"))
        }
    }
}

/// Instantiates `module` (after the modules it links, each under its name).
struct Instantiate {
    linker: Box<Linker<StoreData>>,
    links: Vec<(String, Module)>,
    module: Module,
    table: Arc<ExportTable>,
}

impl Op for Instantiate {
    type Out = InstanceExports;

    async fn run(self, mut ctx: StoreContextMut<'_, StoreData>) -> Result<InstanceExports> {
        let Instantiate {
            mut linker,
            links,
            module,
            table,
        } = self;
        for (name, linked) in links {
            let out = linker.instantiate_async(&mut ctx, &linked).await;
            let instance = started(&mut ctx, out)?;
            linker.instance(&mut ctx, &name, instance)?;
        }
        let out = linker.instantiate_async(&mut ctx, &module).await;
        let instance = started(&mut ctx, out)?;
        let others = table
            .non_funcs
            .iter()
            .filter_map(|p| {
                let entry = table.entries.get(*p)?;
                Some((*p, instance.get_module_export(&mut ctx, &entry.index)?))
            })
            .collect();
        Ok(InstanceExports {
            module,
            table,
            instance,
            others,
        })
    }

    fn encode<'a>(out: InstanceExports, env: Env<'a>, handle: &Handle) -> Result<Term<'a>> {
        Ok(ResourceArc::new(InstanceResource::new(handle.store.id, out)).encode(env))
    }
}

/// An instantiation's outcome, with a WASI exit from a start function kept in the store.
fn started(
    ctx: &mut StoreContextMut<'_, StoreData>,
    out: wasmtime::Result<wasmtime::Instance>,
) -> Result<wasmtime::Instance> {
    out.map_err(|e| {
        ctx.data_mut().note_exit(&e);
        Error::from(e)
    })
}

/// Calls an exported function (resolved in the store, from its export index).
struct Call {
    /// The export's name, for trap errors.
    name: Arc<str>,
    instance: wasmtime::Instance,
    export: ModuleExport,
    params: Vec<Val>,
    results: Vec<Val>,
}

impl Op for Call {
    type Out = Vec<Val>;

    async fn run(self, mut ctx: StoreContextMut<'_, StoreData>) -> Result<Vec<Val>> {
        let Call {
            name,
            instance,
            export,
            params,
            mut results,
        } = self;
        let func = instance
            .get_module_export(&mut ctx, &export)
            .and_then(Extern::into_func)
            .ok_or_else(|| Error::msg("exported function not found"))?;
        let mark = ctx.data().stderr_mark();
        if let Err(e) = func.call_async(&mut ctx, &params, &mut results).await {
            ctx.data_mut().note_exit(&e);
            return Err(ctx.data().with_stderr(mark, call_error(e).in_export(&name)));
        }
        Ok(results)
    }

    fn encode<'a>(out: Vec<Val>, env: Env<'a>, _handle: &Handle) -> Result<Term<'a>> {
        vals_to_list(env, &out)
    }
}

/// Maps a failed wasm call to the error texts of the API.
fn call_error(e: wasmtime::Error) -> Error {
    match e.downcast_ref::<Trap>() {
        Some(trap) => Error::Trap(format!("Error during function excecution ({trap}): {e:#}")),
        None => Error::Msg(format!(
            "Error during function excecution: {}{e:#}",
            import_lead(&e)
        )),
    }
}

/// Reads a global.
struct GetGlobal(Global);

impl SyncOp for GetGlobal {
    type Out = Val;

    fn run(self, ctx: StoreContextMut<'_, StoreData>) -> Result<Val> {
        Ok(self.0.get(ctx))
    }
}

/// Sets a global.
struct SetGlobal(Global, Val);

impl SyncOp for SetGlobal {
    type Out = ();

    fn run(self, ctx: StoreContextMut<'_, StoreData>) -> Result<()> {
        self.0
            .set(ctx, self.1)
            .map_err(|e| Error::Msg(format!("Could not set global: {e:#}")))
    }
}

#[derive(NifMap)]
struct LinkEx {
    name: String,
    module: ResourceArc<ModuleResource>,
}

/// A module whose compiled image (code plus data segments) is larger than this is instantiated
/// on a dirty CPU scheduler: wasmtime copies its data segments into memory in one poll.
const DIRTY_IMAGE: usize = 4 * 1024 * 1024;

/// Starts an instantiation, or answers `:dirty` for a module with a large image (then
/// `Wasmex.Instance` calls `instance_new_dirty` and drives the call on dirty schedulers).
#[rustler::nif]
fn instance_new<'a>(
    env: Env<'a>,
    store_or_caller: Term<'a>,
    module: ResourceArc<ModuleResource>,
    imports: Term<'a>,
    links: Term<'a>,
    timeout_ms: Option<u64>,
) -> Term<'a> {
    let image = module.module.image_range();
    if (image.end as usize).saturating_sub(image.start as usize) > DIRTY_IMAGE {
        return atoms::dirty().encode(env);
    }
    new_instance(env, store_or_caller, module, imports, links, timeout_ms)
}

/// `instance_new` on a dirty CPU scheduler, for modules with large images.
#[rustler::nif(schedule = "DirtyCpu")]
fn instance_new_dirty<'a>(
    env: Env<'a>,
    store_or_caller: Term<'a>,
    module: ResourceArc<ModuleResource>,
    imports: Term<'a>,
    links: Term<'a>,
    timeout_ms: Option<u64>,
) -> Term<'a> {
    new_instance(env, store_or_caller, module, imports, links, timeout_ms)
}

fn new_instance<'a>(
    env: Env<'a>,
    store_or_caller: Term<'a>,
    module: ResourceArc<ModuleResource>,
    imports: Term<'a>,
    links: Term<'a>,
    timeout_ms: Option<u64>,
) -> Term<'a> {
    let links = list_items(links)
        .and_then(|items| items.iter().map(|l| l.decode::<LinkEx>().ok()).collect())
        .ok_or_else(|| Error::msg("links must be a list of %{name: string, module: module}"));
    let result = links
        .and_then(|links| instantiate(env, store_or_caller, module, imports, links, timeout_ms));
    step_or_error(env, result)
}

fn instantiate<'a>(
    env: Env<'a>,
    store_or_caller: Term<'a>,
    module: ResourceArc<ModuleResource>,
    imports: Term<'a>,
    links: Vec<LinkEx>,
    timeout_ms: Option<u64>,
) -> Result<Term<'a>> {
    let started = Instant::now();
    let handle = Handle::decode(store_or_caller)?;
    let engine = &handle.store.engine;
    let linker = imports::linker(engine, handle.store.wasi, imports)?;
    let op = Instantiate {
        linker: Box::new(linker),
        links: links
            .into_iter()
            .map(|l| (l.name, l.module.module.clone()))
            .collect(),
        module: module.module.clone(),
        table: module.exports.clone(),
    };
    Ok(start_op(env, &handle, op, timeout_ms, started))
}

#[rustler::nif]
fn instance_call<'a>(
    env: Env<'a>,
    store_or_caller: Term<'a>,
    instance: ResourceArc<InstanceResource>,
    name: Term<'a>,
    params: Term<'a>,
    timeout_ms: Option<u64>,
) -> Term<'a> {
    let result = match name_arg(name) {
        Ok(name) => call(env, store_or_caller, instance, &name, params, timeout_ms),
        Err(shown) => Err(function_not_found(&shown.unwrap_or_default())),
    };
    step_or_error(env, result)
}

fn call<'a>(
    env: Env<'a>,
    store_or_caller: Term<'a>,
    instance: ResourceArc<InstanceResource>,
    name: &str,
    params: Term<'a>,
    timeout_ms: Option<u64>,
) -> Result<Term<'a>> {
    let started = Instant::now();
    let handle = Handle::decode(store_or_caller)?;
    instance.check_store(&handle)?;
    let not_found = || function_not_found(name);
    let (export, sig) = instance.func(name).ok_or_else(not_found)?;
    let tys = &sig.params;
    let given = params
        .list_length()
        .map_err(|_| Error::msg("params must be a list"))?;
    if tys.len() != given {
        return Err(Error::msg(format!(
            "number of params does not match. expected {}, got {given}",
            tys.len()
        )));
    }
    let mut vals = Vec::with_capacity(given);
    let mut rest = params;
    for (i, ty) in tys.iter().enumerate() {
        let (head, tail) = rest
            .list_get_cell()
            .map_err(|_| Error::msg("params must be a list"))?;
        vals.push(param_to_val(head, ty, i + 1)?);
        rest = tail;
    }
    let params = vals;
    let results = sig.results.clone();
    let op = Call {
        name: export.name.clone(),
        instance: instance.instance,
        export: export.index,
        params,
        results,
    };
    Ok(start_op(env, &handle, op, timeout_ms, started))
}

fn function_not_found(name: &str) -> Error {
    Error::msg(format!("exported function `{name}` not found"))
}

#[rustler::nif]
fn instance_function_export_exists(instance: ResourceArc<InstanceResource>, name: Term) -> bool {
    name_arg(name).is_ok_and(|name| instance.func(&name).is_some())
}

/// A global's name argument; a name that is not UTF-8 (or not a binary) names no global.
fn global_name(name: Term) -> Result<String> {
    name_arg(name).map_err(|shown| {
        Error::msg(format!(
            "exported global `{}` not found",
            shown.unwrap_or_default()
        ))
    })
}

fn global(instance: &InstanceResource, name: &str) -> Result<wasmtime::Global> {
    instance
        .other(name)
        .and_then(|e| e.clone().into_global())
        .ok_or_else(|| Error::msg(format!("exported global `{name}` not found")))
}

#[rustler::nif]
fn instance_get_global<'a>(
    env: Env<'a>,
    store_or_caller: Term<'a>,
    instance: ResourceArc<InstanceResource>,
    name: Term<'a>,
) -> Result<Term<'a>> {
    let name = global_name(name)?;
    let handle = Handle::decode(store_or_caller)?;
    instance.check_store(&handle)?;
    let g = global(&instance, &name)?;
    let value = exec::sync(&handle, GetGlobal(g))?;
    val_to_term(env, &value)
}

#[rustler::nif]
fn instance_set_global(
    store_or_caller: Term,
    instance: ResourceArc<InstanceResource>,
    name: Term,
    value: Term,
) -> Result<()> {
    let name = global_name(name)?;
    let handle = Handle::decode(store_or_caller)?;
    instance.check_store(&handle)?;
    let g = global(&instance, &name)?;
    let Some(ExternType::Global(gt)) = instance.module.get_export(&name) else {
        return Err(Error::msg(format!("exported global `{name}` not found")));
    };
    if gt.mutability() == Mutability::Const {
        return Err(Error::msg(
            "Could not set global: immutable global cannot be set",
        ));
    }
    let val = term_to_val(value, gt.content())?;
    exec::sync(&handle, SetGlobal(g, val))
}

#[rustler::nif]
fn memory_from_instance(
    store_or_caller: Term,
    instance: ResourceArc<InstanceResource>,
) -> Result<ResourceArc<MemoryResource>> {
    let handle = Handle::decode(store_or_caller)?;
    instance.check_store(&handle)?;
    let memory = instance
        .first_memory()
        .ok_or_else(|| Error::msg("The WebAssembly module has no exported memory."))?;
    Ok(ResourceArc::new(MemoryResource {
        store_id: instance.store_id,
        memory,
    }))
}
