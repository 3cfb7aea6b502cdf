//! Instances: instantiation (with Elixir imports and linked modules), calls and globals.
//!
//! An `InstanceResource` is a handle into one store, with its exports resolved at instantiation,
//! so looking up an export needs no store access. Calls and instantiation go through `exec` (they
//! may yield or call into Elixir); global access is a synchronous store operation.

use std::time::Instant;

use rustler::{Env, NifMap, ResourceArc, Term};
use wasmtime::{ExternType, Module, Mutability};

use crate::convert::core::{param_to_val, term_to_val};
use crate::convert::{list_items, name_arg};
use crate::driver::{encode_output, start_op, step_or_error};
use crate::error::{Error, Result};
use crate::exec;
use crate::imports;
use crate::module::ModuleResource;
use crate::ops::{Export, InstanceExports, Op, Output, SyncOp};
use crate::store::Handle;

pub struct InstanceResource {
    pub store_id: u64,
    pub module: Module,
    exports: Vec<Export>,
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
            exports: e.exports,
        }
    }

    pub fn export(&self, name: &str) -> Option<&Export> {
        self.exports.iter().find(|e| e.name == name)
    }

    pub fn first_memory(&self) -> Option<wasmtime::Memory> {
        self.exports
            .iter()
            .find_map(|e| e.item.clone().into_memory())
    }

    pub fn check_store(&self, handle: &Handle) -> Result<()> {
        if self.store_id == handle.store.id {
            Ok(())
        } else {
            Err(Error::msg("the instance belongs to another store"))
        }
    }
}

#[derive(NifMap)]
struct LinkEx {
    name: String,
    module: ResourceArc<ModuleResource>,
}

#[rustler::nif]
fn instance_new<'a>(
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
    let op = Op::Instantiate {
        linker: Box::new(linker),
        links: links
            .into_iter()
            .map(|l| (l.name, l.module.module.clone()))
            .collect(),
        module: module.module.clone(),
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
    let export = instance.export(name).ok_or_else(not_found)?;
    let (Some(func), Some(sig)) = (export.item.clone().into_func(), export.func.as_ref()) else {
        return Err(not_found());
    };
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
    let op = Op::Call {
        func,
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
    name_arg(name).is_ok_and(|name| instance.export(&name).is_some_and(|e| e.func.is_some()))
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
        .export(name)
        .and_then(|e| e.item.clone().into_global())
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
    let out = exec::sync(&handle, SyncOp::GetGlobal(g))?;
    encode_output(env, &handle, out)
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
    match exec::sync(&handle, SyncOp::SetGlobal(g, val))? {
        Output::Unit => Ok(()),
        _ => Err(Error::msg("unexpected store answer")),
    }
}
