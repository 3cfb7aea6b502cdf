//! Component instantiation: the `component_instance_new` NIF, the type-checked instantiations a
//! component keeps per imports map (`Prepared`), and the `ComponentInstantiate` operation with
//! the encoder of its result. Calls are in `component::func`.
//!
//! Instantiation runs through `store::exec`, so it yields every time slice, can be stopped at a
//! deadline and calls Elixir imports without blocking. Threading: as `store::exec` says (under
//! the store's slot lock, on the calling scheduler).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use rustler::env::OwnedEnv;
use rustler::{Encoder, Env, ResourceArc, Term};
use wasmtime::component::{self as cm, Component, InstancePre};
use wasmtime::{Engine, StoreContextMut};

use super::{
    exported_resources, ComponentInstanceResource, ComponentResource, ExportedResource, Prepared,
    PreparedList,
};
use crate::error::Result;
use crate::store::data::StoreData;
use crate::store::driver::{start_op, step_or_error};
use crate::store::op::Op;
use crate::store::Handle;

/// How many prepared instantiations a component resource keeps (the oldest is dropped).
const PREPARED: usize = 4;

/// How many a compiled component keeps for all its resources.
const SHARED: usize = 16;

/// The prepared instantiation for `imports` in stores of `engine`: the resource's own, else one
/// another resource of the same compiled component made, else built (linking and type-checking
/// the imports: most of the cost of instantiating a small component).
fn prepared(
    component: &ComponentResource,
    engine: &Engine,
    imports: Term,
) -> Result<InstancePre<StoreData>> {
    let env = imports.get_env();
    let same = |p: &Prepared| {
        Engine::same(&p.engine, engine)
            && p.imports
                .lock()
                .is_ok_and(|saved| saved.0.run(|own| saved.1.load(own).in_env(env)) == imports)
    };
    let find = |list: &PreparedList| {
        list.lock()
            .ok()
            .and_then(|entries| entries.iter().find(|p| same(p)).cloned())
    };
    if let Some(p) = find(&component.prepared) {
        return Ok(p.pre.clone());
    }
    let p = match find(&component.shared) {
        Some(p) => p,
        None => {
            let mut linker = crate::linker::component(engine)?;
            super::imports::define_all(&mut linker, imports)?;
            let pre = linker.instantiate_pre(&component.component)?;
            let owned = OwnedEnv::new();
            let saved = owned.save(imports);
            let p = Arc::new(Prepared {
                engine: engine.clone(),
                imports: Mutex::new((owned, saved)),
                pre,
            });
            keep(&component.shared, p.clone(), SHARED);
            p
        }
    };
    keep(&component.prepared, p.clone(), PREPARED);
    Ok(p.pre.clone())
}

/// Adds `p` to `list`, dropping the oldest entry past `cap`.
fn keep(list: &PreparedList, p: Arc<Prepared>, cap: usize) {
    if let Ok(mut entries) = list.lock() {
        if entries.len() >= cap {
            entries.remove(0);
        }
        entries.push(p);
    }
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
    let pre = prepared(component, &handle.store.engine, imports)?;
    let op = ComponentInstantiate {
        pre,
        component: component.component.clone(),
        binary_lists: component.binary_lists,
    };
    Ok(start_op(env, &handle, op, timeout_ms, started))
}

/// Instantiates a prepared component.
struct ComponentInstantiate {
    pre: InstancePre<StoreData>,
    component: Component,
    binary_lists: bool,
}

impl Op for ComponentInstantiate {
    type Out = (cm::Instance, Component, Vec<ExportedResource>, bool);

    const ENTERS_COMPONENTS: bool = true;

    async fn run(self, mut ctx: StoreContextMut<'_, StoreData>) -> Result<Self::Out> {
        let instance = match self.pre.instantiate_async(&mut ctx).await {
            Ok(instance) => instance,
            Err(e) => {
                ctx.data_mut().note_exit(&e);
                return Err(e.into());
            }
        };
        let resources = exported_resources(&mut ctx, &self.component, &instance);
        Ok((instance, self.component, resources, self.binary_lists))
    }

    fn encode<'a>(out: Self::Out, env: Env<'a>, handle: &Handle) -> Result<Term<'a>> {
        let (instance, component, resources, binary_lists) = out;
        Ok(ResourceArc::new(ComponentInstanceResource {
            store_id: handle.store.id,
            instance,
            component,
            resources,
            binary_lists,
        })
        .encode(env))
    }
}
