//! Instances: instantiation (with Elixir imports and linked modules), the instance's exports and
//! its memory. Calls are in `func`, globals in `global`.
//!
//! An `InstanceResource` is a handle into one store. It shares its module's export table (names
//! and signatures, built once per compiled module) and resolves its few non-function exports at
//! instantiation, so looking up an export needs no store access and instantiating does no
//! per-function work; a call resolves its function by export index inside the store. Calls and
//! instantiation is an operation (`Op`: it may yield or call into Elixir) that encodes its own
//! result. Threading: as `store::exec` says (under the store's slot lock, on the calling
//! scheduler).

use std::sync::Arc;
use std::time::Instant;

use rustler::{Encoder, Env, NifMap, ResourceArc, Term};
use wasmtime::{Engine, Extern, InstancePre, Linker, Module, StoreContextMut};

use crate::atoms;
use crate::convert::list_items;
use crate::error::{Error, Result};
use crate::imports;
use crate::memory::MemoryResource;
use crate::module::{ExportEntry, ExportTable, FuncSig, ModuleResource};
use crate::store::data::StoreData;
use crate::store::driver::{start_op, step_or_error};
use crate::store::op::Op;
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
    pub instance: wasmtime::Instance,
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
    pub fn func(&self, name: &str) -> Option<(&ExportEntry, &FuncSig)> {
        let entry = self.table.get(name)?;
        entry.func.as_ref().map(|sig| (entry, sig))
    }

    /// The non-function export `name`.
    pub fn other(&self, name: &str) -> Option<&Extern> {
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

/// Instantiates `module` (after the modules it links, each under its name), through the
/// module's prepared instantiation when it has neither Elixir imports nor links.
struct Instantiate {
    how: How,
    module: Module,
    table: Arc<ExportTable>,
}

enum How {
    Link {
        linker: Box<Linker<StoreData>>,
        links: Vec<(String, Module)>,
    },
    Prepared(InstancePre<StoreData>),
}

impl Op for Instantiate {
    type Out = InstanceExports;

    async fn run(self, mut ctx: StoreContextMut<'_, StoreData>) -> Result<InstanceExports> {
        let Instantiate { how, module, table } = self;
        let out = match how {
            How::Prepared(pre) => pre.instantiate_async(&mut ctx).await,
            How::Link { mut linker, links } => {
                for (name, linked) in links {
                    let out = linker.instantiate_async(&mut ctx, &linked).await;
                    let instance = started(&mut ctx, out)?;
                    linker.instance(&mut ctx, &name, instance)?;
                }
                linker.instantiate_async(&mut ctx, &module).await
            }
        };
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

#[derive(NifMap)]
struct LinkEx {
    name: String,
    module: ResourceArc<ModuleResource>,
}

/// A module whose compiled image (code plus data segments) is larger than this is instantiated
/// on a dirty CPU scheduler: wasmtime copies its data segments into memory in one poll.
const DIRTY_IMAGE: usize = 4 * 1024 * 1024;

/// Starts an instantiation, or answers `:start_dirty` for a module with a large image (then
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
        return atoms::start_dirty().encode(env);
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
    let plain = links.is_empty()
        && imports.map_size().is_ok_and(|n| n == 0)
        && Engine::same(engine, module.module.engine());
    let prepared = plain.then(|| module.prepared(handle.store.wasi)).flatten();
    let how = match prepared {
        Some(pre) => How::Prepared(pre),
        None => How::Link {
            linker: Box::new(imports::linker(engine, handle.store.wasi, imports)?),
            links: links
                .into_iter()
                .map(|l| (l.name, l.module.module.clone()))
                .collect(),
        },
    };
    let op = Instantiate {
        how,
        module: module.module.clone(),
        table: module.exports.clone(),
    };
    Ok(start_op(env, &handle, op, timeout_ms, started))
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
