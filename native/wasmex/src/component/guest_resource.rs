//! Guest resources: handles to resources a component instance exports and owns
//! (`%Wasmex.Components.GuestResource{}`).
//!
//! A `GuestResourceHandle` holds an owned `ResourceAny` of one store and the instance that made
//! it, plus whether it is still ours: passing it to an `own<T>` parameter moves it into the guest
//! and dropping it ends it; either way later uses are errors. Constructors, static functions and
//! methods are calls (`component::instance`); a drop is an operation of its own here
//! (`ResourceDrop`, started by `guest_resource_drop`). A handle garbage collected while still
//! ours leaves its drop on its store, run before the store's next call (`CollectedDrop`).
//! Elixir drives a handle's calls with its store (`guest_resource_store`), so the store layer
//! never sees a handle. Threading: the live flag is atomic; calls go through the store's slot lock.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rustler::{Encoder, Env, ResourceArc, Term};
use wasmtime::component::{ResourceAny, ResourceType};
use wasmtime::StoreContextMut;

use super::{component_failure, ComponentInstanceResource, ExportedResource};
use crate::atoms;
use crate::error::{Error, Result};
use crate::store::data::StoreData;
use crate::store::driver::{start_op_with, step_or_error};
use crate::store::op::{self, Op};
use crate::store::{Handle, StoreResource};

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
            self.store.defer(op::nested(CollectedDrop(self.resource)));
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
    pub fn exported(&self) -> Option<&ExportedResource> {
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

pub fn handle_arg(resource: Term) -> Result<ResourceArc<GuestResourceHandle>> {
    handle_of(resource).ok_or_else(|| Error::msg("expected a %Wasmex.Components.GuestResource{}"))
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
        let op = ResourceDrop(handle.resource);
        start_op_with(env, &store, op, timeout_ms, started, |began| {
            if !began {
                handle.revive();
            }
        })
    });
    step_or_error(env, result)
}

/// Drops a guest resource (running its destructor).
struct ResourceDrop(ResourceAny);

impl Op for ResourceDrop {
    type Out = ();

    const ENTERS_COMPONENTS: bool = true;

    async fn run(self, mut ctx: StoreContextMut<'_, StoreData>) -> Result<()> {
        let mark = ctx.data().stderr_mark();
        if let Err(e) = self.0.resource_drop_async(&mut ctx).await {
            return Err(component_failure(&mut ctx, e, mark, "[resource-drop]"));
        }
        Ok(())
    }

    fn encode<'a>(_out: (), env: Env<'a>, _handle: &Handle) -> Result<Term<'a>> {
        Ok(atoms::ok().encode(env))
    }
}

/// Drops the resource of a handle that was garbage collected while still ours, before the
/// store's next call. Best effort: the instance may be gone or broken by an earlier trap, so a
/// failure is ignored (and does not poison the store).
struct CollectedDrop(ResourceAny);

impl Op for CollectedDrop {
    type Out = ();

    async fn run(self, mut ctx: StoreContextMut<'_, StoreData>) -> Result<()> {
        let _ = self.0.resource_drop_async(&mut ctx).await;
        Ok(())
    }

    fn encode<'a>(_out: (), env: Env<'a>, _handle: &Handle) -> Result<Term<'a>> {
        Ok(atoms::ok().encode(env))
    }
}

/// The store a guest resource handle belongs to, for driving the calls made on it (anything
/// else is returned as it is, so that a bad handle fails in the call NIF with its usual error).
#[rustler::nif]
fn guest_resource_store(resource: Term) -> Term {
    match handle_of(resource) {
        Some(handle) => handle.store.encode(resource.get_env()),
        None => resource,
    }
}
