//! Component calls: the NIFs that start them (`component_call(_dirty)`,
//! `component_call_resource`, `guest_resource_call`), export lookup by path and argument
//! conversion (the flat fast path for binaries, `flat`, or dynamic values). The `ComponentCall`
//! operation and the encoding of its results are in `func/call.rs`.
//!
//! Lookup and conversion use the component's types (no store access); the call runs through
//! `store::exec`, so it yields every time slice, can be stopped at a deadline and calls Elixir
//! imports without blocking. Threading: as `store::exec` says (under the store's slot lock, on
//! the calling scheduler).

use std::time::Instant;

use rustler::{Env, ResourceArc, Term};
use wasmtime::component::types::{ComponentItem, Type};
use wasmtime::component::{Component, ComponentExportIndex};

use super::flat::{self};
use super::guest_resource;
use super::resources::ResourcesIn;
use super::ComponentInstanceResource;
use crate::convert::component::term_to_val;
use crate::convert::{list_items, name_arg};
use crate::error::{Error, Result};
use crate::store::driver::{start_op_with, step_or_error};
use crate::store::Handle;

mod call;

use call::{ComponentCall, Params};

/// Finds the function at `path` (a root export, or interface exports then a function).
fn lookup(
    component: &Component,
    path: &[String],
) -> Result<(ComponentExportIndex, Vec<Type>, Vec<Type>)> {
    // Only a failed lookup shows the path.
    let shown = || match path {
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
                return Err(Error::msg(format!(
                    "exported function `{}` not found.",
                    shown()
                )))
            }
            None => {
                return Err(Error::msg(format!(
                "exported function `{}` not found. Could not find `{segment}` at position {pos}",
                shown()
            )))
            }
        }
    }
    match (item, parent) {
        (Some(ComponentItem::ComponentFunc(ty)), Some(index)) => Ok((
            index,
            ty.params().map(|(_, t)| t).collect(),
            ty.results().collect(),
        )),
        _ => Err(Error::msg(format!(
            "exported function `{}` not found.",
            shown()
        ))),
    }
}

/// How a call's arguments and results are treated.
enum CallMode<'a> {
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
fn params_arg(params: Term) -> Result<Vec<Term>> {
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
                call(env, handle, &instance, path, &params, timeout_ms, $mode)
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
fn call<'a>(
    env: Env<'a>,
    handle: Handle,
    instance: &ResourceArc<ComponentInstanceResource>,
    path: Vec<String>,
    params: &[Term<'a>],
    timeout_ms: Option<u64>,
    mode: CallMode<'a>,
) -> Result<Term<'a>> {
    let started = Instant::now();
    if handle.store.id != instance.store_id {
        return Err(Error::ForeignStore("instance"));
    }
    let (index, types, result_types) = lookup(&instance.component, &path)?;
    let n_results = result_types.len();
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
    let fast = match receiver {
        None if flat::fits(&types, &result_types) => flat::args(&args, &types),
        _ => None,
    };
    let params = match fast {
        Some(flat) => Params::Flat(flat),
        None => Params::Vals(
            args.iter()
                .zip(&types)
                .enumerate()
                .map(|(i, (term, ty))| {
                    term_to_val(*term, ty, &mut resources).map_err(|e| match receiver {
                        Some(_) if i == 0 => Error::msg(e.text()),
                        Some(_) => Error::msg(format!("{} (argument {})", e.text(), i)),
                        None => Error::msg(format!("{} (argument {})", e.text(), i + 1)),
                    })
                })
                .collect::<Result<Vec<_>>>()?,
        ),
    };
    let receiver = receiver.and_then(guest_resource::handle_of);
    resources.check_moves(receiver.as_deref())?;
    let op = ComponentCall {
        path,
        instance: instance.clone(),
        index,
        params,
        n_results,
        counted: matches!(mode, CallMode::Resource(_)),
        binary_result: instance.binary_lists
            && matches!(result_types.as_slice(), [t] if flat::Kind::of(t) == Some(flat::Kind::Bytes)),
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
                guest_resource::mark_moved(&moved);
            }
        },
    ))
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
    let result = guest_resource::handle_arg(resource).and_then(|handle| {
        let name = name_arg(name)
            .or_else(|shown| shown.ok_or(()))
            .map_err(|_| Error::msg("the method name must be a string"))?;
        let params = params_arg(params)?;
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
            path,
            &params,
            timeout_ms,
            CallMode::Resource(Some(resource)),
        )
    });
    step_or_error(env, result)
}
