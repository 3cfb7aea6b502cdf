//! Components: compiled components (`ComponentResource`) and their instances
//! (`ComponentInstanceResource`), the handle types of the `component/` folder, the way wasmtime's
//! `runtime/component/` mirrors its core files:
//!
//! * `instance`: instantiation; `func`: calls (the component operations and their encoders);
//! * `flat`: the fast path for calls that take and return only strings and lists of numbers
//!   (`flat_nums` holds the lists other than `list<u8>`);
//! * `imports`: imports written in Elixir, and the requests they make of the driving process;
//! * `resources`: how resource positions are filled and read (the conversion hooks);
//! * `guest_resource` / `host_resource`: resources the guest exports / Elixir implements;
//! * `wit`: WIT introspection; `wit_print`: a component's world as WIT text.
//!
//! A `ComponentResource` is immutable and shared (its caches of prepared instantiations are behind
//! mutexes held only to look up or insert; the compile cache's entry shares one of them between
//! every resource compiled from the same bytes). A `ComponentInstanceResource` is a handle into
//! one store.

pub mod flat;
pub mod flat_nums;
pub mod func;
pub mod guest_resource;
pub mod host_resource;
pub mod imports;
pub mod instance;
pub mod resources;
pub mod wit;
pub mod wit_print;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};

use rustler::env::{OwnedEnv, SavedTerm};
use rustler::{Binary, Encoder, Env, ResourceArc, Term};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Instance, InstancePre, ResourceType};
use wasmtime::{AsContextMut, Engine, Trap};

use crate::cache::{disk, Cache};
use crate::engine::{cache_dir_for, take_component_run_slot, twin_engine};
use crate::error::{import_lead, mapping_hint, Error};
use crate::store::data::StoreData;
use crate::store::limits::StoreLimitsEx;
use crate::store::{store_for_run, Handle, RunWasi, StoreResource};

/// Compiled components, reused when the same bytes are compiled again (e.g. a restart, or one
/// server per session), with the instantiations prepared for them by any resource.
static COMPILED: Cache<(Component, Arc<PreparedList>)> = Cache::new();

/// Prepared instantiations (see `instance::prepared`), the most recent last.
pub type PreparedList = Mutex<Vec<Arc<Prepared>>>;

pub struct ComponentResource {
    pub component: Component,
    /// Linked and type-checked instantiations made for this resource, by engine and imports
    /// (see `instance::prepared`).
    pub prepared: PreparedList,
    /// The ones made for any resource of the same compiled component (the compile cache's):
    /// 100,000 servers of one component link and type-check it once, not 100,000 times.
    pub shared: Arc<PreparedList>,
    /// A function result of type `list<u8>` comes back as a binary, not a list of integers
    /// (`Component.new/3`'s `list_u8: :binary`).
    pub binary_lists: bool,
    /// This component on the run engine (`engine::run_engine`), for a component of the default
    /// engine that fits a component run slot; made on the first command run.
    run_twin: OnceLock<Option<ResourceArc<ComponentResource>>>,
}

impl ComponentResource {
    pub fn new(component: Component, shared: Arc<PreparedList>, binary_lists: bool) -> Self {
        ComponentResource {
            component,
            prepared: Mutex::new(Vec::new()),
            shared,
            binary_lists,
            run_twin: OnceLock::new(),
        }
    }

    /// The component on the run engine, made once (a copy of the compiled code: serialized and
    /// deserialized, no compile), or `None` when it is not of the default engine, is too large
    /// to copy on a normal scheduler, or does not fit a component run slot (wasmtime checks the
    /// pooling limits when it deserializes the copy).
    pub fn run_twin(&self) -> Option<ResourceArc<ComponentResource>> {
        self.run_twin
            .get_or_init(|| {
                let run = twin_engine(self.component.engine(), self.component.image_range())?;
                let bytes = self.component.serialize().ok()?;
                // SAFETY: the bytes were just serialized by wasmtime from a component of an
                // engine configured like `run` but for its allocator.
                let twin = unsafe { Component::deserialize(run, &bytes) }.ok()?;
                let shared = Arc::default();
                Some(ResourceArc::new(Self::new(twin, shared, self.binary_lists)))
            })
            .clone()
    }
}

/// `{store, component}` for one command run of `component` (of the default engine) with WASI P2
/// `options` (no preopens): a store of the run engine and the component's twin there while a
/// component run slot is free, else a store of the default engine and `component` itself, as
/// `store_new_wasi_p2_normal` makes it. Never refuses for want of a slot.
#[rustler::nif]
fn component_store_new_wasi_run(
    options: Term,
    limits: Option<StoreLimitsEx>,
    component: ResourceArc<ComponentResource>,
) -> Result<(ResourceArc<StoreResource>, ResourceArc<ComponentResource>), Error> {
    let twin = |component: &ResourceArc<ComponentResource>| {
        let twin = component.run_twin()?;
        let engine = twin.component.engine().clone();
        Some((twin, engine))
    };
    let wasi = RunWasi::P2(options);
    store_for_run(wasi, limits, component, twin, take_component_run_slot)
}

/// A component linked with WASI and one imports map, ready to instantiate in any store of its
/// engine: type-checking the imports is most of the cost of instantiating.
pub struct Prepared {
    pub engine: Engine,
    /// The imports map it was made for (behind a mutex: an `OwnedEnv` is used by one thread at
    /// a time, and a `Prepared` is in two lists).
    pub imports: Mutex<(OwnedEnv, SavedTerm)>,
    pub pre: InstancePre<StoreData>,
}

#[rustler::resource_impl]
impl rustler::Resource for ComponentResource {}

// A panic inside a NIF poisons the locks this resource holds, and later uses report an error.
impl std::panic::RefUnwindSafe for ComponentResource {}

pub struct ComponentInstanceResource {
    pub store_id: u64,
    pub instance: Instance,
    pub component: Component,
    /// The resource types the instance exports (see `exported_resources`).
    pub resources: Vec<ExportedResource>,
    /// As `ComponentResource::binary_lists`, for the component it was made from.
    pub binary_lists: bool,
}

#[rustler::resource_impl]
impl rustler::Resource for ComponentInstanceResource {}

// A panic inside a NIF poisons the locks this resource holds, and later uses report an error.
impl std::panic::RefUnwindSafe for ComponentInstanceResource {}

/// `{:ok, component}`, `{:error, reason}`, or `:busy` while other large compiles hold every
/// permit (`engine::compile_permit`; Elixir tries again).
#[rustler::nif(schedule = "DirtyCpu")]
fn component_new<'a>(
    env: Env<'a>,
    store_or_caller: Term<'a>,
    bytes: Binary<'a>,
    cache_dir: Option<String>,
    binary_lists: bool,
) -> std::result::Result<Term<'a>, rustler::Error> {
    let Some(_permit) = crate::engine::compile_permit(bytes.len()) else {
        return Ok(crate::atoms::busy().encode(env));
    };
    let as_term = |e: Error| rustler::Error::Term(Box::new(e));
    let handle = Handle::decode(store_or_caller).map_err(as_term)?;
    let engine = &handle.store.engine;
    let dir = cache_dir_for(engine, cache_dir);
    let (component, shared) = COMPILED
        .get_or_compile(engine, bytes.as_slice(), || {
            disk::get_or_compile(dir.as_deref(), engine, bytes.as_slice(), || {
                Component::new(engine, bytes.as_slice())
                    .map_err(|e| Error::msg(format!("Unable to decode WASM: {e:#}")))
            })
            .map(|component| (component, Arc::default()))
        })
        .map_err(as_term)?;
    if is_wit_package(engine, &component, bytes.as_slice()) {
        return Err(rustler::Error::RaiseAtom("Only components are supported"));
    }
    let resource = ResourceArc::new(ComponentResource::new(component, shared, binary_lists));
    Ok((crate::atoms::ok(), resource).encode(env))
}

/// Whether `bytes` is a WIT package in its binary form (a component that only exports types: the
/// package's interfaces and worlds, as component types),
/// rather than a component to run.
fn is_wit_package(engine: &Engine, component: &Component, bytes: &[u8]) -> bool {
    let ty = component.component_type();
    let only_types = ty.imports(engine).len() == 0
        && ty.exports(engine).len() > 0
        && ty
            .exports(engine)
            .all(|(_, e)| matches!(e.ty, ComponentItem::Type(_) | ComponentItem::Component(_)));
    only_types
        && matches!(
            wit_parser::decoding::decode(bytes),
            Ok(wit_parser::decoding::DecodedWasm::WitPackage(..))
        )
}

/// A resource type exported by an instance (`interface` is `None` at the root).
pub struct ExportedResource {
    pub interface: Option<String>,
    pub name: String,
    /// The type as the component's function signatures name it.
    pub declared: ResourceType,
    /// The type of this instance's values.
    pub ty: ResourceType,
}

/// The resource types `instance` exports, at the root and in exported interfaces.
pub fn exported_resources(
    mut ctx: impl AsContextMut<Data = StoreData>,
    component: &Component,
    instance: &Instance,
) -> Vec<ExportedResource> {
    let engine = ctx.as_context().engine().clone();
    let mut wanted = Vec::new();
    for (name, export) in component.component_type().exports(&engine) {
        match export.ty {
            ComponentItem::ComponentInstance(inner) => {
                let Some((_, parent)) = component.get_export(None, name) else {
                    continue;
                };
                for (rname, rexport) in inner.exports(&engine) {
                    if let ComponentItem::Resource(declared) = rexport.ty {
                        if let Some((_, index)) = component.get_export(Some(&parent), rname) {
                            wanted.push((
                                Some(name.to_string()),
                                rname.to_string(),
                                declared,
                                index,
                            ));
                        }
                    }
                }
            }
            ComponentItem::Resource(declared) => {
                if let Some((_, index)) = component.get_export(None, name) {
                    wanted.push((None, name.to_string(), declared, index));
                }
            }
            _ => {}
        }
    }
    wanted
        .into_iter()
        .filter_map(|(interface, name, declared, index)| {
            let ty = instance.get_resource(&mut ctx, index)?;
            Some(ExportedResource {
                interface,
                name,
                declared,
                ty,
            })
        })
        .collect()
}

/// A failed component call. A trap, or a failed host function unwinding through the guest, leaves
/// wasmtime's component instances of the store unenterable: mark the store poisoned. A trap
/// carries what the guest wrote to stderr since `stderr_mark` (see `StoreData::with_stderr`).
pub fn component_failure(
    ctx: &mut impl AsContextMut<Data = StoreData>,
    e: wasmtime::Error,
    stderr_mark: u64,
    export: &str,
) -> Error {
    let mut ctx = ctx.as_context_mut();
    let data = ctx.data_mut();
    data.poisoned.store(true, Ordering::Relaxed);
    data.note_exit(&e);
    let error = match e.downcast_ref::<Trap>() {
        Some(trap) => Error::Trap(format!("Error executing function ({trap}): {e:#}")),
        None => Error::Msg(format!(
            "Error executing function: {}{e:#}{}",
            import_lead(&e),
            mapping_hint(&e)
        )),
    };
    data.with_stderr(stderr_mark, error.in_export(export))
}
