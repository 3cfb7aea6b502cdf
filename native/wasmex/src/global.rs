//! Exported globals: the `instance_get_global` / `instance_set_global` NIFs and the synchronous
//! store operations they run (`SyncOp`: directly on an idle store, or through the host function
//! of a running import callback). Threading: as `store::exec` says.

use rustler::{Env, ResourceArc, Term};
use wasmtime::{ExternType, Global, Mutability, StoreContextMut, Val};

use crate::convert::core::{term_to_val, val_to_term};
use crate::convert::name_arg;
use crate::error::{Error, Result};
use crate::instance::InstanceResource;
use crate::store::data::StoreData;
use crate::store::exec;
use crate::store::op::SyncOp;
use crate::store::Handle;

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

/// A global's name argument; a name that is not UTF-8 (or not a binary) names no global.
fn global_name(name: Term) -> Result<String> {
    name_arg(name).map_err(|shown| not_found(&shown.unwrap_or_default()))
}

fn not_found(name: &str) -> Error {
    Error::msg(format!("exported global `{name}` not found"))
}

fn global(instance: &InstanceResource, name: &str) -> Result<wasmtime::Global> {
    instance
        .other(name)
        .and_then(|e| e.clone().into_global())
        .ok_or_else(|| not_found(name))
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
        return Err(not_found(&name));
    };
    if gt.mutability() == Mutability::Const {
        return Err(Error::msg(
            "Could not set global: immutable global cannot be set",
        ));
    }
    let val = term_to_val(value, gt.content())?;
    exec::sync(&handle, SetGlobal(g, val))
}
