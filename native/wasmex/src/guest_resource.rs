//! Guest resources: handles to resources a component instance exports and owns
//! (`%Wasmex.Components.GuestResource{}`).
//!
//! A `GuestResourceHandle` holds an owned `ResourceAny` of one store and the instance that made
//! it, plus whether it is still ours: passing it to an `own<T>` parameter moves it into the guest
//! and dropping it ends it; either way later uses are errors. Constructors and static functions
//! are plain calls (`component::component_call_resource`); methods and drops start from the
//! handle (`guest_resource_call`, `guest_resource_drop`). A handle garbage collected while still
//! ours is queued on its store and dropped before the store's next call (`exec::start`).
//!
//! Exported resource types are read from the component when it is instantiated: the types in a
//! component's function signatures are not those of the instance, so `ExportedResource` maps one
//! to the other. Threading: the live flag is atomic; calls go through the store's slot lock.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rustler::{Encoder, Env, ResourceArc, Term};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Instance, ResourceAny, ResourceType};
use wasmtime::AsContextMut;

use crate::atoms;
use crate::component::{call, CallMode, ComponentInstanceResource};
use crate::driver::{start_op_with, step_or_error};
use crate::error::{Error, Result};
use crate::ops::Op;
use crate::store::{Handle, StoreData, StoreResource};

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

pub struct GuestResourceHandle {
    pub store: ResourceArc<StoreResource>,
    pub instance: ResourceArc<ComponentInstanceResource>,
    pub resource: ResourceAny,
    /// Still ours: not moved into the guest, not dropped.
    live: AtomicBool,
}

#[rustler::resource_impl]
impl rustler::Resource for GuestResourceHandle {}

// A panic inside a NIF poisons the locks this resource holds, and later uses report an error.
impl std::panic::RefUnwindSafe for GuestResourceHandle {}

impl Drop for GuestResourceHandle {
    fn drop(&mut self) {
        if self.is_live() {
            if let Ok(mut pending) = self.store.pending_drops.lock() {
                pending.push(self.resource);
            }
        }
    }
}

impl GuestResourceHandle {
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// Makes the handle ours again (a drop or move that never started).
    pub fn revive(&self) {
        self.live.store(true, Ordering::Release);
    }

    /// Marks the handle as no longer ours; returns whether it was.
    fn end(&self) -> bool {
        self.live.swap(false, Ordering::AcqRel)
    }

    /// The interface and name of the handle's resource type.
    fn exported(&self) -> Option<&ExportedResource> {
        let ty = self.resource.ty();
        self.instance.resources.iter().find(|e| e.ty == ty)
    }
}

/// The handle in a `%GuestResource{}` (any map with a `:resource` key) or a bare handle.
pub fn handle_of(term: Term) -> Option<ResourceArc<GuestResourceHandle>> {
    if let Ok(handle) = term.decode() {
        return Some(handle);
    }
    term.map_get(atoms::resource()).ok()?.decode().ok()
}

/// Checks that `handle` may fill a parameter of type `rt` of an instance of store `store_id`.
pub fn check(
    handle: &GuestResourceHandle,
    store_id: u64,
    exported: &[ExportedResource],
    rt: &ResourceType,
) -> std::result::Result<(), String> {
    if handle.store.id != store_id {
        return Err("Guest resource belongs to another store".into());
    }
    let expected = exported.iter().find(|e| e.declared == *rt);
    let expected_ty = expected.map(|e| e.ty).unwrap_or(*rt);
    if handle.resource.ty() != expected_ty {
        if expected.is_some_and(|e| handle.exported().is_some_and(|h| h.name == e.name)) {
            return Err("Guest resource belongs to another instance".into());
        }
        let name = |e: Option<&ExportedResource>| {
            e.map(|e| format!("`{}`", e.name))
                .unwrap_or_else(|| "another type".into())
        };
        return Err(format!(
            "Guest resource has the wrong resource type: expected {}, got {}",
            name(expected),
            name(handle.exported())
        ));
    }
    if !handle.is_live() {
        return Err("Guest resource has already been dropped or moved".into());
    }
    Ok(())
}

/// Marks the handles given to `own<T>` parameters of a call that started as moved.
pub fn mark_moved(moved: &[ResourceArc<GuestResourceHandle>]) {
    for handle in moved {
        handle.end();
    }
}

/// A new `%Wasmex.Components.GuestResource{}` for an owned resource returned by `instance`.
pub fn wrap<'a>(
    env: Env<'a>,
    store: &ResourceArc<StoreResource>,
    instance: &ResourceArc<ComponentInstanceResource>,
    resource: ResourceAny,
) -> Term<'a> {
    let handle = ResourceArc::new(GuestResourceHandle {
        store: store.clone(),
        instance: instance.clone(),
        resource,
        live: AtomicBool::new(true),
    });
    let keys = [
        atoms::__struct__().encode(env),
        atoms::resource().encode(env),
        atoms::reference().encode(env),
    ];
    let values = [
        atoms::guest_resource_module().encode(env),
        handle.encode(env),
        env.make_ref().encode(env),
    ];
    Term::map_from_term_arrays(env, &keys, &values).unwrap_or_else(|_| handle.encode(env))
}

fn handle_arg(resource: Term) -> Result<ResourceArc<GuestResourceHandle>> {
    handle_of(resource).ok_or_else(|| Error::msg("expected a %Wasmex.Components.GuestResource{}"))
}

/// Calls the method `name` of the resource (which is passed as `self`).
#[rustler::nif]
fn guest_resource_call<'a>(
    env: Env<'a>,
    resource: Term<'a>,
    name: Term<'a>,
    params: Term<'a>,
    timeout_ms: Option<u64>,
) -> Term<'a> {
    let result = handle_arg(resource).and_then(|handle| {
        let name = crate::convert::name_arg(name)
            .or_else(|shown| shown.ok_or(()))
            .map_err(|_| Error::msg("the method name must be a string"))?;
        let params = crate::component::params_arg(params)?;
        let exported = handle
            .exported()
            .ok_or_else(|| Error::msg("the resource's type is not exported by its instance"))?;
        let function = format!("[method]{}.{}", exported.name, name);
        let path: Vec<String> = exported
            .interface
            .iter()
            .cloned()
            .chain([function])
            .collect();
        let store = Handle {
            store: handle.store.clone(),
            caller_id: None,
        };
        call(
            env,
            store,
            &handle.instance,
            &path,
            &params,
            timeout_ms,
            CallMode::Resource(Some(resource)),
        )
    });
    step_or_error(env, result)
}

/// Drops the resource (running its destructor in the guest); a no-op when it is already gone.
#[rustler::nif]
fn guest_resource_drop<'a>(env: Env<'a>, resource: Term<'a>, timeout_ms: Option<u64>) -> Term<'a> {
    let started = Instant::now();
    let result = handle_arg(resource).map(|handle| {
        if !handle.end() {
            return (atoms::done(), (atoms::ok(), atoms::ok())).encode(env);
        }
        let store = Handle {
            store: handle.store.clone(),
            caller_id: None,
        };
        let op = Op::ResourceDrop(handle.resource);
        start_op_with(env, &store, op, timeout_ms, started, |began| {
            if !began {
                handle.revive();
            }
        })
    });
    step_or_error(env, result)
}
