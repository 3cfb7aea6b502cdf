//! Components: compile, instantiate (with WASI P2 and Elixir imports) and call by name or path.
//!
//! A `ComponentResource` is immutable and shared. A `ComponentInstanceResource` is a handle into
//! one store. Export lookup and argument conversion use the component's types (no store access);
//! instantiation and calls go through `exec`, so they yield every time slice, can be stopped at a
//! deadline and call Elixir imports without blocking.

use std::sync::Mutex;
use std::time::Instant;

use rustler::env::{OwnedEnv, SavedTerm};
use rustler::{Binary, Env, ResourceArc, Term};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, ComponentExportIndex, Instance, InstancePre};
use wasmtime::Engine;

use crate::cache::Cache;
use crate::convert::component::term_to_val;
use crate::convert::resources::ResourcesIn;
use crate::convert::{list_items, name_arg};
use crate::driver::{start_op, start_op_with, step_or_error};
use crate::error::{Error, Result};
use crate::guest_resource::ExportedResource;
use crate::ops::Op;
use crate::store::{Handle, StoreData};

/// Compiled components, reused when the same bytes are compiled again (e.g. a restart).
static COMPILED: Cache<Component> = Cache::new();

pub struct ComponentResource {
    pub component: Component,
    /// Linked and type-checked instantiations, by engine and imports (see `prepared`).
    prepared: Mutex<Vec<Prepared>>,
}

/// A component linked with WASI and one imports map, ready to instantiate in any store of its
/// engine: type-checking the imports is most of the cost of instantiating.
struct Prepared {
    engine: Engine,
    imports: (OwnedEnv, SavedTerm),
    pre: InstancePre<StoreData>,
}

/// How many prepared instantiations a component keeps (the oldest is dropped).
const PREPARED: usize = 4;

impl ComponentResource {
    /// The prepared instantiation for `imports` in stores of `engine`, built on first use.
    fn prepared(&self, engine: &Engine, imports: Term) -> Result<InstancePre<StoreData>> {
        let env = imports.get_env();
        let same = |p: &Prepared| {
            Engine::same(&p.engine, engine)
                && p.imports.0.run(|own| p.imports.1.load(own).in_env(env)) == imports
        };
        if let Ok(entries) = self.prepared.lock() {
            if let Some(p) = entries.iter().find(|p| same(p)) {
                return Ok(p.pre.clone());
            }
        }
        let mut linker = crate::linkers::component(engine)?;
        crate::component_imports::define_all(&mut linker, imports)?;
        let pre = linker.instantiate_pre(&self.component)?;
        if let Ok(mut entries) = self.prepared.lock() {
            if entries.len() >= PREPARED {
                entries.remove(0);
            }
            let owned = OwnedEnv::new();
            let saved = owned.save(imports);
            entries.push(Prepared {
                engine: engine.clone(),
                imports: (owned, saved),
                pre: pre.clone(),
            });
        }
        Ok(pre)
    }
}

#[rustler::resource_impl]
impl rustler::Resource for ComponentResource {}

// A panic inside a NIF poisons the locks this resource holds, and later uses report an error.
impl std::panic::RefUnwindSafe for ComponentResource {}

pub struct ComponentInstanceResource {
    pub store_id: u64,
    pub instance: Instance,
    pub component: Component,
    /// The resource types the instance exports (see `guest_resource`).
    pub resources: Vec<ExportedResource>,
}

#[rustler::resource_impl]
impl rustler::Resource for ComponentInstanceResource {}

// A panic inside a NIF poisons the locks this resource holds, and later uses report an error.
impl std::panic::RefUnwindSafe for ComponentInstanceResource {}

#[rustler::nif(schedule = "DirtyCpu")]
fn component_new(
    store_or_caller: Term,
    bytes: Binary,
) -> std::result::Result<(rustler::Atom, ResourceArc<ComponentResource>), rustler::Error> {
    let as_term = |e: Error| rustler::Error::Term(Box::new(e));
    let handle = Handle::decode(store_or_caller).map_err(as_term)?;
    let engine = &handle.store.engine;
    let component = COMPILED
        .get_or_compile(engine, bytes.as_slice(), || {
            Component::new(engine, bytes.as_slice())
                .map_err(|e| Error::msg(format!("Unable to decode WASM: {e:#}")))
        })
        .map_err(as_term)?;
    if is_wit_package(engine, &component, bytes.as_slice()) {
        return Err(rustler::Error::RaiseAtom("Only components are supported"));
    }
    let resource = ResourceArc::new(ComponentResource {
        component,
        prepared: Mutex::new(Vec::new()),
    });
    Ok((crate::atoms::ok(), resource))
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

#[rustler::nif]
fn component_instance_new<'a>(
    env: Env<'a>,
    store_or_caller: Term<'a>,
    component: ResourceArc<ComponentResource>,
    imports: Term<'a>,
    timeout_ms: Option<u64>,
) -> Term<'a> {
    let result = instantiate(env, store_or_caller, &component, imports, timeout_ms);
    step_or_error(env, result)
}

fn instantiate<'a>(
    env: Env<'a>,
    store_or_caller: Term<'a>,
    component: &ComponentResource,
    imports: Term<'a>,
    timeout_ms: Option<u64>,
) -> Result<Term<'a>> {
    let started = Instant::now();
    let handle = Handle::decode(store_or_caller)?;
    let pre = component.prepared(&handle.store.engine, imports)?;
    let op = Op::ComponentInstantiate {
        pre,
        component: component.component.clone(),
    };
    Ok(start_op(env, &handle, op, timeout_ms, started))
}

/// Finds the function at `path` (a root export, or interface exports then a function).
fn lookup(
    component: &Component,
    path: &[String],
) -> Result<(
    ComponentExportIndex,
    usize,
    Vec<wasmtime::component::types::Type>,
)> {
    let shown = match path {
        [] => String::new(),
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    };
    let mut parent: Option<ComponentExportIndex> = None;
    let mut item = None;
    for (pos, segment) in path.iter().enumerate() {
        match component.get_export(parent.as_ref(), segment.as_str()) {
            Some((found, index)) => {
                parent = Some(index);
                item = Some(found);
            }
            None if path.len() == 1 => {
                return Err(Error::msg(format!("exported function `{shown}` not found.")))
            }
            None => {
                return Err(Error::msg(format!(
                    "exported function `{shown}` not found. Could not find `{segment}` at position {pos}"
                )))
            }
        }
    }
    match (item, parent) {
        (Some(ComponentItem::ComponentFunc(ty)), Some(index)) => Ok((
            index,
            ty.results().len(),
            ty.params().map(|(_, t)| t).collect(),
        )),
        _ => Err(Error::msg(format!(
            "exported function `{shown}` not found."
        ))),
    }
}

/// How a call's arguments and results are treated.
pub enum CallMode<'a> {
    /// `Wasmex.Components.call_function`: results as `{:ok, value}` / `{:ok, [values]}`.
    Function,
    /// A `GuestResource` call: argument counts leave out the receiver (given first, if any), and
    /// results come back with their count (`{count, value}`).
    Resource(Option<Term<'a>>),
}

/// A function path argument: a list of names. A name that is not UTF-8 names no export, so it
/// is kept lossily and the lookup fails with the usual "not found".
fn path_arg(path: Term) -> Result<Vec<String>> {
    list_items(path)
        .and_then(|names| {
            names
                .iter()
                .map(|n| name_arg(*n).or_else(|shown| shown.ok_or(())).ok())
                .collect()
        })
        .ok_or_else(|| Error::msg("the function path must be a list of strings"))
}

/// The arguments of a call: a proper list.
pub fn params_arg(params: Term) -> Result<Vec<Term>> {
    list_items(params).ok_or_else(|| Error::msg("params must be a list"))
}

/// Defines a NIF that decodes the store, starts a call in `$mode` and answers the first step.
macro_rules! call_nif {
    ($(#[$attr:meta])* $name:ident, $mode:expr) => {
        $(#[$attr])*
        fn $name<'a>(
            env: Env<'a>,
            store_or_caller: Term<'a>,
            instance: ResourceArc<ComponentInstanceResource>,
            path: Term<'a>,
            params: Term<'a>,
            timeout_ms: Option<u64>,
        ) -> Term<'a> {
            let result = Handle::decode(store_or_caller).and_then(|handle| {
                let (path, params) = (path_arg(path)?, params_arg(params)?);
                call(env, handle, &instance, &path, &params, timeout_ms, $mode)
            });
            step_or_error(env, result)
        }
    };
}

call_nif!(
    /// `Wasmex.Components.call_function`: calls the function at `path`.
    #[rustler::nif]
    component_call,
    CallMode::Function
);

call_nif!(
    /// `component_call` on a dirty CPU scheduler, for calls with large arguments: converting and
    /// lowering them (and lifting the results, when the call finishes in the same poll) runs in
    /// one NIF call that would otherwise hold a normal scheduler for milliseconds.
    #[rustler::nif(schedule = "DirtyCpu")]
    component_call_dirty,
    CallMode::Function
);

call_nif!(
    /// Calls a resource constructor or static function (`GuestResource.new/4`, `call_static/6`).
    #[rustler::nif]
    component_call_resource,
    CallMode::Resource(None)
);

/// Converts the arguments against the function's types and starts the call.
pub fn call<'a>(
    env: Env<'a>,
    handle: Handle,
    instance: &ResourceArc<ComponentInstanceResource>,
    path: &[String],
    params: &[Term<'a>],
    timeout_ms: Option<u64>,
    mode: CallMode<'a>,
) -> Result<Term<'a>> {
    let started = Instant::now();
    if handle.store.id != instance.store_id {
        return Err(Error::msg("the instance belongs to another store"));
    }
    let (index, n_results, types) = lookup(&instance.component, path)?;
    let receiver = match mode {
        CallMode::Resource(r) => r,
        CallMode::Function => None,
    };
    let args: Vec<Term> = receiver
        .iter()
        .copied()
        .chain(params.iter().copied())
        .collect();
    if types.len() != args.len() {
        return Err(Error::msg(match (&mode, receiver) {
            (CallMode::Function, _) => format!(
                "number of params does not match. expected {}, got {}",
                types.len(),
                args.len()
            ),
            (CallMode::Resource(_), r) => {
                let own = usize::from(r.is_some());
                format!(
                    "Expected {} guest resource arguments, got {}",
                    types.len().saturating_sub(own),
                    params.len()
                )
            }
        }));
    }
    let mut resources = ResourcesIn::for_call(instance.store_id, &instance.resources);
    let params = args
        .iter()
        .zip(&types)
        .enumerate()
        .map(|(i, (term, ty))| {
            term_to_val(*term, ty, &mut resources).map_err(|e| match receiver {
                Some(_) if i == 0 => Error::msg(e.text()),
                Some(_) => Error::msg(format!("{} (argument {})", e.text(), i)),
                None => Error::msg(format!("{} (argument {})", e.text(), i + 1)),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let receiver = receiver.and_then(crate::guest_resource::handle_of);
    resources.check_moves(receiver.as_deref())?;
    let op = Op::ComponentCall {
        instance: instance.clone(),
        index,
        params,
        n_results,
        counted: matches!(mode, CallMode::Resource(_)),
    };
    let moved = resources.into_moved();
    Ok(start_op_with(
        env,
        &handle,
        op,
        timeout_ms,
        started,
        |began| {
            if began {
                crate::guest_resource::mark_moved(&moved);
            }
        },
    ))
}
