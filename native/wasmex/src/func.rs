//! Calls of exported functions: the `instance_call` NIF, the `Call` operation it hands the store
//! (it may yield or call into Elixir, and encodes its own results) and the API's error texts for
//! failed calls. The function is resolved inside the store, from its export index, so a call
//! needs no per-instance table of functions. Threading: as `store::exec` says (under the store's
//! slot lock, on the calling scheduler).

use std::sync::Arc;
use std::time::Instant;

use rustler::{Env, ResourceArc, Term};
use smallvec::SmallVec;
use wasmtime::{Extern, ModuleExport, StoreContextMut, Trap, Val};

use crate::convert::core::{param_to_val, vals_to_list};
use crate::convert::{name_arg, name_ref};
use crate::error::{import_lead, mapping_hint, Error, Result};
use crate::instance::InstanceResource;
use crate::store::data::StoreData;
use crate::store::driver::{start_op, step_or_error};
use crate::store::op::Op;
use crate::store::Handle;

/// A call's arguments or results: inline up to four values.
type Vals = SmallVec<[Val; 4]>;

/// Calls an exported function (resolved in the store, from its export index).
struct Call {
    /// The export's name, for trap errors.
    name: Arc<str>,
    instance: wasmtime::Instance,
    export: ModuleExport,
    params: Vals,
    results: Vals,
}

impl Op for Call {
    type Out = Vals;

    async fn run(self, mut ctx: StoreContextMut<'_, StoreData>) -> Result<Vals> {
        let Call {
            name,
            instance,
            export,
            params,
            mut results,
        } = self;
        let func = instance
            .get_module_export(&mut ctx, &export)
            .and_then(Extern::into_func)
            .ok_or_else(|| Error::msg("exported function not found"))?;
        let mark = ctx.data().stderr_mark();
        if let Err(e) = func.call_async(&mut ctx, &params, &mut results).await {
            ctx.data_mut().note_exit(&e);
            return Err(ctx.data().with_stderr(mark, call_error(e).in_export(&name)));
        }
        Ok(results)
    }

    fn encode<'a>(out: Vals, env: Env<'a>, _handle: &Handle) -> Result<Term<'a>> {
        vals_to_list(env, &out)
    }
}

/// Maps a failed wasm call to the error texts of the API.
fn call_error(e: wasmtime::Error) -> Error {
    match e.downcast_ref::<Trap>() {
        Some(trap) => Error::Trap(format!("Error during function excecution ({trap}): {e:#}")),
        None => Error::Msg(format!(
            "Error during function excecution: {}{e:#}{}",
            import_lead(&e),
            mapping_hint(&e)
        )),
    }
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
    let result = match name_ref(name) {
        Ok(name) => call(env, store_or_caller, instance, name, params, timeout_ms),
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
    let (export, sig) = instance.func(name).ok_or_else(not_found)?;
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
    let mut vals = Vals::with_capacity(given);
    let mut rest = params;
    for (i, ty) in tys.iter().enumerate() {
        let (head, tail) = rest
            .list_get_cell()
            .map_err(|_| Error::msg("params must be a list"))?;
        vals.push(param_to_val(head, ty, i + 1)?);
        rest = tail;
    }
    let params = vals;
    let results = sig.results.iter().cloned().collect();
    let op = Call {
        name: export.name.clone(),
        instance: instance.instance,
        export: export.index,
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
    name_arg(name).is_ok_and(|name| instance.func(&name).is_some())
}

/// A reference for the call benchmark (`bench/core.exs`): decodes what `instance_call` decodes
/// (the store or caller, the instance, the name and the argument list) and does nothing else,
/// so the call's own cost can be told from the cost of reaching a NIF at all.
#[rustler::nif]
fn instance_call_floor(
    store_or_caller: Term,
    instance: ResourceArc<InstanceResource>,
    name: Term,
    params: Term,
) -> bool {
    Handle::decode(store_or_caller).is_ok_and(|h| instance.check_store(&h).is_ok())
        && name_ref(name).is_ok()
        && params.list_length().is_ok()
}
