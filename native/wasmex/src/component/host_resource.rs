//! Host resources: resources a component imports and Elixir implements
//! (`%{"iface" => %{"name" => {:resource, drop_fun}, "[constructor]name" => {:fn, f}, ...}}`).
//!
//! Each resource is a wasmtime dynamic host resource type (one payload per interface and name,
//! process-wide). Its values are Elixir terms kept in the store's `HostTable`; the guest holds
//! their index (the resource's `rep`). An Elixir import that returns the resource registers its
//! term (see `resources`, which leaves the index as a placeholder `u32`, and `attach`,
//! which turns it into a handle once the store is at hand). A guest passing the resource to an
//! import gives the callback the term (`resolve`): a copy for `borrow<T>`, the term itself for
//! `own<T>` (it leaves the table, so its destructor is not called). When the guest drops an owned
//! handle, the destructor calls the Elixir `drop_fun` with the term, like any import (its
//! request is `DropRequest`).
//!
//! Threading: the table is behind its own mutex, touched by host functions (on the thread polling
//! the store) and by `exec_resume` (holding the store's slot lock), never contended.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use rustler::{Encoder, Env, Term};
use wasmtime::component::{LinkerInstance, ResourceAny, ResourceDynamic, ResourceType, Type, Val};
use wasmtime::StoreContextMut;

use crate::atoms;
use crate::error::{Error, Lock, Result};
use crate::store::callback::ask_elixir;
use crate::store::data::StoreData;
use crate::store::host_table::lock_table;
use crate::store::op::{Request, Vals};
use crate::store::Handle;
use crate::term::KeptTerm;

/// Names (`interface#resource`) of the host resource types, by payload.
static HOST_TYPES: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// How many payloads are in use (read without the lock: conversions check types often).
static HOST_TYPE_COUNT: AtomicU32 = AtomicU32::new(0);

/// The dynamic resource type for the resource `name` of `interface`.
fn type_for(interface: &str, name: &str) -> Result<ResourceType> {
    let key = format!("{interface}#{name}");
    let mut types = HOST_TYPES
        .lock()
        .map_err(|_| Error::Poisoned(Lock::HostRegistry))?;
    let payload = match types.iter().position(|k| *k == key) {
        Some(i) => i,
        None => {
            types.push(key);
            HOST_TYPE_COUNT.store(types.len() as u32, Ordering::Release);
            types.len() - 1
        }
    };
    Ok(ResourceType::host_dynamic(payload as u32))
}

/// The payload of `ty` when it is one of our host resource types.
pub fn payload_of(ty: &ResourceType) -> Option<u32> {
    let count = HOST_TYPE_COUNT.load(Ordering::Acquire);
    (0..count).find(|p| ResourceType::host_dynamic(*p) == *ty)
}

/// A destructor's call: `drop_fun` on the term of the dropped resource.
struct DropRequest {
    /// `[resource-drop]name`, for errors.
    name: String,
    fun: Arc<KeptTerm>,
    term: Arc<KeptTerm>,
}

impl Request for DropRequest {
    fn encode<'a>(&self, env: Env<'a>, _handle: &Handle, _caller_id: u64) -> Result<Term<'a>> {
        let fun = self.fun.load(env)?;
        let term = self.term.load(env)?;
        Ok((atoms::component_callback(), fun, vec![term]).encode(env))
    }

    fn decode_reply(&self, _value: Term, _handle: &Handle) -> Result<Vals> {
        Ok(Vals::Component(Vec::new()))
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn expected(&self) -> String {
        "any term".to_string()
    }
}

/// Defines the resource `name` of `interface`; dropping an owned handle calls `drop_fun`.
pub fn define(
    instance: &mut LinkerInstance<StoreData>,
    interface: &str,
    name: &str,
    drop_fun: Term,
) -> Result<()> {
    let fun = Arc::new(KeptTerm::save(drop_fun));
    let ty = type_for(interface, name)?;
    let label: Arc<str> = Arc::from(format!("[resource-drop]{name}"));
    instance
        .resource_async(name, ty, move |mut store, rep| {
            let fun = fun.clone();
            let label = label.clone();
            Box::new(async move {
                let hosts = store.data().hosts.clone();
                let Some(term) = lock_table(&hosts)?.take(rep) else {
                    return Ok(());
                };
                let request = Arc::new(DropRequest {
                    name: label.to_string(),
                    fun,
                    term,
                });
                ask_elixir(&mut store, request).await.map(|_| ())
            })
        })
        .map_err(|e| Error::msg(format!("Could not define resource `{name}`: {e:#}")))
}

/// Whether values of `ty` can hold a resource.
pub fn has_resource(ty: &Type) -> bool {
    match ty {
        Type::Own(_) | Type::Borrow(_) => true,
        Type::List(l) => has_resource(&l.ty()),
        Type::Record(r) => r.fields().any(|f| has_resource(&f.ty)),
        Type::Tuple(t) => t.types().any(|t| has_resource(&t)),
        Type::Variant(v) => v.cases().any(|c| c.ty.as_ref().is_some_and(has_resource)),
        Type::Option(o) => has_resource(&o.ty()),
        Type::Result(r) => {
            r.ok().as_ref().is_some_and(has_resource) || r.err().as_ref().is_some_and(has_resource)
        }
        _ => false,
    }
}

fn collect(val: &Val, out: &mut Vec<ResourceAny>) {
    match val {
        Val::Resource(r) => out.push(*r),
        Val::List(items) | Val::Tuple(items) => items.iter().for_each(|v| collect(v, out)),
        Val::Record(fields) => fields.iter().for_each(|(_, v)| collect(v, out)),
        Val::Variant(_, Some(v)) | Val::Option(Some(v)) => collect(v, out),
        Val::Result(Ok(Some(v))) | Val::Result(Err(Some(v))) => collect(v, out),
        _ => {}
    }
}

/// The terms of the host resources among an import's arguments: a borrowed one stays in the
/// table, an owned one leaves it (the callback now owns the term).
pub fn resolve(
    store: &mut StoreContextMut<'_, StoreData>,
    params: &[Val],
) -> wasmtime::Result<Vec<(ResourceAny, Arc<KeptTerm>)>> {
    let mut found = Vec::new();
    params.iter().for_each(|v| collect(v, &mut found));
    let hosts = store.data().hosts.clone();
    let mut out = Vec::new();
    for any in found {
        if payload_of(&any.ty()).is_none() {
            continue;
        }
        let dynamic = any.try_into_resource_dynamic(&mut *store)?;
        let mut table = lock_table(&hosts)?;
        let term = if dynamic.owned() {
            table.take(dynamic.rep())
        } else {
            table.get(dynamic.rep())
        };
        if let Some(term) = term {
            out.push((any, term));
        }
    }
    Ok(out)
}

/// Turns the placeholders left for host resources returned by an import (their `rep` as a `u32`
/// at an `own<T>` position) into owned handles.
pub fn attach(
    store: &mut StoreContextMut<'_, StoreData>,
    val: &mut Val,
    ty: &Type,
) -> wasmtime::Result<()> {
    match (ty, val) {
        (Type::Own(rt), v) => {
            if let (Some(payload), Val::U32(rep)) = (payload_of(rt), &*v) {
                let any =
                    ResourceDynamic::new_own(*rep, payload).try_into_resource_any(&mut *store)?;
                *v = Val::Resource(any);
            }
        }
        (Type::List(l), Val::List(items)) => {
            let t = l.ty();
            for v in items {
                attach(store, v, &t)?;
            }
        }
        (Type::Record(r), Val::Record(fields)) => {
            for (f, (_, v)) in r.fields().zip(fields.iter_mut()) {
                attach(store, v, &f.ty)?;
            }
        }
        (Type::Tuple(t), Val::Tuple(items)) => {
            for (t, v) in t.types().zip(items.iter_mut()) {
                attach(store, v, &t)?;
            }
        }
        (Type::Variant(var), Val::Variant(name, Some(v))) => {
            if let Some(t) = var.cases().find(|c| c.name == name).and_then(|c| c.ty) {
                attach(store, v, &t)?;
            }
        }
        (Type::Option(o), Val::Option(Some(v))) => attach(store, v, &o.ty())?,
        (Type::Result(r), Val::Result(Ok(Some(v)))) => {
            if let Some(t) = r.ok() {
                attach(store, v, &t)?;
            }
        }
        (Type::Result(r), Val::Result(Err(Some(v)))) => {
            if let Some(t) = r.err() {
                attach(store, v, &t)?;
            }
        }
        _ => {}
    }
    Ok(())
}
