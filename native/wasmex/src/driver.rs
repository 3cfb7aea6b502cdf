//! NIFs that drive a parked call forward (`exec_continue`, `exec_resume`, `exec_cancel`) and the
//! encoding of a polling step into the terms the Elixir driver (`Wasmex.Driver`) understands:
//!
//! * `{:done, {:ok, value} | {:error, reason}}` — the operation finished;
//! * `{:callback, fun, params, memory | nil, caller}` — run an Elixir import, then `exec_resume`;
//! * `:yield` — the time slice is over, call `exec_continue`;
//! * `:wait` — the guest waits on I/O, pause briefly, then call `exec_continue`;
//! * `:busy` — another process's call occupies the store: the operation did not start;
//! * `{:unusable, text}` — a trap or a stopped call broke the store's component instances: the
//!   operation did not start.
//!
//! Runs on the calling scheduler; each NIF polls for at most one time slice.

use std::time::Instant;

use rustler::{Encoder, Env, ResourceArc, Term};

use crate::atoms;
use crate::channel::{ResultTypes, Vals};
use crate::convert::component_out as component;
use crate::convert::core::{callback_results, val_to_term, vals_to_list, vals_to_terms};
use crate::error::{Error, Result};
use crate::exec::{self, Step};
use crate::instance::InstanceResource;
use crate::memory::MemoryResource;
use crate::ops::{Op, Output};
use crate::store::{CallerResource, Handle};

/// Tells the scheduler how much of its time slice a NIF used.
pub fn account(env: Env, started: Instant) {
    let used = started.elapsed().as_micros() / 10; // percent of 1 ms
    if used > 0 {
        rustler::schedule::consume_timeslice(env, used.min(100) as i32);
    }
}

pub fn encode_output<'a>(env: Env<'a>, handle: &Handle, out: Output) -> Result<Term<'a>> {
    Ok(match out {
        Output::Vals(vals) => vals_to_list(env, &vals)?,
        Output::Instance(exports) => {
            ResourceArc::new(InstanceResource::new(handle.store.id, exports)).encode(env)
        }
        Output::Bytes(bytes) => crate::engine::to_binary(env, &bytes).encode(env),
        Output::U64(n) => n.encode(env),
        Output::Val(v) => val_to_term(env, &v)?,
        Output::Unit => atoms::ok().encode(env),
        Output::ComponentVals {
            vals,
            instance,
            counted,
        } => {
            let out = component::ResourcesOut::Guest(&handle.store, &instance);
            let value = match vals.as_slice() {
                [one] => component::val_to_term(env, one, &out)?,
                many => many
                    .iter()
                    .map(|v| component::val_to_term(env, v, &out))
                    .collect::<Result<Vec<_>>>()?
                    .encode(env),
            };
            if counted {
                (vals.len(), value).encode(env)
            } else {
                value
            }
        }
        Output::ComponentInstance(instance, component, resources) => {
            ResourceArc::new(crate::component::ComponentInstanceResource {
                store_id: handle.store.id,
                instance,
                component,
                resources,
            })
            .encode(env)
        }
    })
}

fn encode_result<'a>(env: Env<'a>, handle: &Handle, result: Result<Output>) -> Term<'a> {
    match result.and_then(|out| encode_output(env, handle, out)) {
        Ok(t) => (atoms::ok(), t).encode(env),
        Err(e) => (atoms::error(), e).encode(env),
    }
}

/// Encodes a step for the Elixir driver.
pub fn encode_step<'a>(env: Env<'a>, handle: &Handle, step: Result<Step>) -> Term<'a> {
    match step {
        Err(Error::Busy) => atoms::busy().encode(env),
        Err(Error::Unusable) => (atoms::unusable(), Error::Unusable).encode(env),
        Err(e) => (atoms::done(), (atoms::error(), e)).encode(env),
        Ok(Step::Done(result)) => (atoms::done(), encode_result(env, handle, result)).encode(env),
        Ok(Step::Yield) => {
            // A guest that used up its slice gives the scheduler to other processes right away.
            rustler::schedule::consume_timeslice(env, 100);
            atoms::yield_().encode(env)
        }
        Ok(Step::Wait) => atoms::wait().encode(env),
        Ok(Step::Callback(req)) => {
            let fun = match req.callback.load(env) {
                Ok(f) => f,
                Err(e) => return (atoms::done(), (atoms::error(), e)).encode(env),
            };
            let params = match &req.params {
                Vals::Core(vals) => vals_to_terms(env, vals),
                Vals::Component(vals) => {
                    let out = component::ResourcesOut::Host(&req.resources);
                    let terms = vals
                        .iter()
                        .map(|v| component::val_to_term(env, v, &out))
                        .collect::<Result<Vec<Term>>>();
                    return match terms {
                        Ok(terms) => (atoms::component_callback(), fun, terms).encode(env),
                        Err(e) => (atoms::done(), (atoms::error(), e)).encode(env),
                    };
                }
                Vals::Kept(kept) => {
                    let terms = kept
                        .iter()
                        .map(|k| k.load(env))
                        .collect::<Result<Vec<Term>>>();
                    return match terms {
                        Ok(terms) => (atoms::component_callback(), fun, terms).encode(env),
                        Err(e) => (atoms::done(), (atoms::error(), e)).encode(env),
                    };
                }
            };
            let params = match params {
                Ok(p) => p,
                Err(e) => return (atoms::done(), (atoms::error(), e)).encode(env),
            };
            let memory = match req.memory {
                Some(m) => ResourceArc::new(MemoryResource {
                    store_id: handle.store.id,
                    memory: m,
                })
                .encode(env),
                None => atoms::nil().encode(env),
            };
            let caller = ResourceArc::new(CallerResource {
                store: handle.store.clone(),
                caller_id: req.caller_id,
            });
            (atoms::callback(), fun, params, memory, caller).encode(env)
        }
    }
}

/// Starts `op` on the store (with an optional timeout in ms), polls it for one time slice and
/// encodes the step for the Elixir driver; `started` is when the NIF began, for accounting.
pub fn start_op<'a>(
    env: Env<'a>,
    handle: &Handle,
    op: Op,
    timeout_ms: Option<u64>,
    started: Instant,
) -> Term<'a> {
    start_op_with(env, handle, op, timeout_ms, started, |_| {})
}

/// `start_op`, telling `began` whether the operation started (it did not if the store was busy).
pub fn start_op_with<'a>(
    env: Env<'a>,
    handle: &Handle,
    op: Op,
    timeout_ms: Option<u64>,
    started: Instant,
    began: impl FnOnce(bool),
) -> Term<'a> {
    let deadline = timeout_ms.map(|ms| started + std::time::Duration::from_millis(ms));
    let step = exec::start(handle, op, deadline, env);
    began(step.is_ok());
    let out = encode_step(env, handle, step);
    account(env, started);
    out
}

/// A NIF answer for the driver: the step, or `{:done, {:error, reason}}` when it never started.
pub fn step_or_error<'a>(env: Env<'a>, result: Result<Term<'a>>) -> Term<'a> {
    result.unwrap_or_else(|e| (atoms::done(), (atoms::error(), e)).encode(env))
}

#[rustler::nif]
fn exec_continue<'a>(env: Env<'a>, store_or_caller: Term<'a>) -> Term<'a> {
    continue_call(env, store_or_caller)
}

/// `exec_continue` on a dirty CPU scheduler, for calls started by `component_call_dirty`.
#[rustler::nif(schedule = "DirtyCpu")]
fn exec_continue_dirty<'a>(env: Env<'a>, store_or_caller: Term<'a>) -> Term<'a> {
    continue_call(env, store_or_caller)
}

fn continue_call<'a>(env: Env<'a>, store_or_caller: Term<'a>) -> Term<'a> {
    let started = Instant::now();
    let step = Handle::decode(store_or_caller).map(|h| {
        let step = exec::resume_after_yield(&h);
        encode_step(env, &h, step)
    });
    account(env, started);
    step.unwrap_or_else(|e| (atoms::done(), (atoms::error(), e)).encode(env))
}

/// `reply` is `{:ok, value}` from the Elixir import, or anything else for a failed callback.
#[rustler::nif]
fn exec_resume<'a>(env: Env<'a>, store_or_caller: Term<'a>, reply: Term<'a>) -> Term<'a> {
    resume_call(env, store_or_caller, reply)
}

/// `exec_resume` on a dirty CPU scheduler, for calls started by `component_call_dirty`.
#[rustler::nif(schedule = "DirtyCpu")]
fn exec_resume_dirty<'a>(env: Env<'a>, store_or_caller: Term<'a>, reply: Term<'a>) -> Term<'a> {
    resume_call(env, store_or_caller, reply)
}

fn resume_call<'a>(env: Env<'a>, store_or_caller: Term<'a>, reply: Term<'a>) -> Term<'a> {
    let started = Instant::now();
    let step = Handle::decode(store_or_caller).map(|h| {
        let step = exec::reply(&h, |tys| {
            let value = match rustler::types::tuple::get_tuple(reply).as_deref() {
                Ok([tag, value]) if tag.decode::<rustler::Atom>().ok() == Some(atoms::ok()) => {
                    *value
                }
                _ => return Err("the elixir callback threw an exception".to_string()),
            };
            let vals = match tys {
                ResultTypes::Core(tys) => callback_results(value, tys).map(Vals::Core),
                ResultTypes::Component(tys) => {
                    component_results(value, tys, &h.store.hosts).map(Vals::Component)
                }
            };
            vals.map_err(|e| {
                format!(
                    "the elixir callback threw an exception: invalid return value: {}",
                    e.text()
                )
            })
        });
        encode_step(env, &h, step)
    });
    account(env, started);
    step.unwrap_or_else(|e| (atoms::done(), (atoms::error(), e)).encode(env))
}

fn component_results(
    value: Term,
    tys: &[wasmtime::component::types::Type],
    hosts: &std::sync::Mutex<crate::host_resource::HostTable>,
) -> Result<Vec<wasmtime::component::Val>> {
    match tys {
        [] => Ok(vec![]),
        [ty] => {
            let mut resources = crate::convert::resources::ResourcesIn::for_import_result(hosts);
            let val = crate::convert::component::term_to_val(value, ty, &mut resources);
            if val.is_err() {
                resources.rollback();
            }
            Ok(vec![val?])
        }
        _ => Err(Error::msg(
            "Component callbacks with multiple results are not supported",
        )),
    }
}

#[rustler::nif]
fn exec_cancel(store_or_caller: Term) -> Result<()> {
    let handle = Handle::decode(store_or_caller)?;
    exec::cancel(&handle, Error::Timeout)
}
