//! NIFs that drive a parked call forward (`exec_continue`, `exec_resume`, `exec_cancel`) and the
//! encoding of a polling step into the terms the Elixir driver (`Wasmex.Driver`) understands:
//!
//! * `{:done, {:ok, value} | {:error, reason}}` — the operation finished;
//! * `{:callback, fun, params, memory | nil, caller}` — run an Elixir import, then `exec_resume`;
//! * `:yield` — the time slice is over, call `exec_continue`;
//! * `:wait` — the guest waits on I/O, pause briefly, then call `exec_continue`;
//! * `:dirty` — the operation has a large result to encode: call `exec_continue_dirty`, and keep
//!   polling on dirty schedulers;
//! * `:busy` — another process's call occupies the store: the operation did not start;
//! * `{:unusable, text}` — a trap or a stopped call broke the store's component instances: the
//!   operation did not start.
//!
//! The driver names no concept: a finished operation encodes itself (`op::Encode`), a callback
//! request encodes itself and decodes its reply (`op::Request`). Runs on the calling scheduler;
//! each NIF polls for at most one time slice.

use std::time::Instant;

use rustler::{Encoder, Env, Term};

use super::exec::{self, Step};
use super::op::Op;
use crate::atoms;
use crate::error::{Error, Result};
use crate::store::Handle;

/// Tells the scheduler how much of its time slice a NIF used.
fn account(env: Env, started: Instant) {
    let used = started.elapsed().as_micros() / 10; // percent of 1 ms
    if used > 0 {
        rustler::schedule::consume_timeslice(env, used.min(100) as i32);
    }
}

fn failed<'a>(env: Env<'a>, e: Error) -> Term<'a> {
    (atoms::done(), (atoms::error(), e)).encode(env)
}

/// Encodes a step for the Elixir driver.
fn encode_step<'a>(env: Env<'a>, handle: &Handle, step: Result<Step>) -> Term<'a> {
    match step {
        Err(Error::Busy) => atoms::busy().encode(env),
        Err(Error::Unusable) => (atoms::unusable(), Error::Unusable).encode(env),
        Err(e) => failed(env, e),
        Ok(Step::Done(Ok(mut finished))) => match finished.as_mut().encode(env, handle) {
            Ok(t) => (atoms::done(), (atoms::ok(), t)).encode(env),
            Err(e) => failed(env, e),
        },
        Ok(Step::Done(Err(e))) => failed(env, e),
        Ok(Step::Yield) => {
            // A guest that used up its slice gives the scheduler to other processes right away.
            rustler::schedule::consume_timeslice(env, 100);
            atoms::yield_().encode(env)
        }
        Ok(Step::Wait) => atoms::wait().encode(env),
        Ok(Step::Dirty) => atoms::dirty().encode(env),
        Ok(Step::Callback(request, caller_id)) => request
            .encode(env, handle, caller_id)
            .unwrap_or_else(|e| failed(env, e)),
        Ok(Step::Synced(_)) => failed(env, Error::Incomplete),
    }
}

/// Starts `op` on the store (with an optional timeout in ms), polls it for one time slice and
/// encodes the step for the Elixir driver; `started` is when the NIF began, for accounting.
pub fn start_op<'a, O: Op>(
    env: Env<'a>,
    handle: &Handle,
    op: O,
    timeout_ms: Option<u64>,
    started: Instant,
) -> Term<'a> {
    start_op_with(env, handle, op, timeout_ms, started, |_| {})
}

/// `start_op`, telling `began` whether the operation started (it did not if the store was busy).
pub fn start_op_with<'a, O: Op>(
    env: Env<'a>,
    handle: &Handle,
    op: O,
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
    result.unwrap_or_else(|e| failed(env, e))
}

#[rustler::nif]
fn exec_continue<'a>(env: Env<'a>, store_or_caller: Term<'a>) -> Term<'a> {
    continue_call(env, store_or_caller)
}

/// `exec_continue` on a dirty CPU scheduler, for calls started by `component_call_dirty` and
/// operations that answered `:dirty`.
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
    step.unwrap_or_else(|e| failed(env, e))
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
        let step = exec::reply(&h, |request| {
            const THREW: &str = "the elixir callback threw an exception";
            let value = match rustler::types::tuple::get_tuple(reply).as_deref() {
                Ok([tag, value]) if tag.decode::<rustler::Atom>().ok() == Some(atoms::ok()) => {
                    *value
                }
                // `{:error, banner}`: the exception the callback raised, as Elixir formats it.
                Ok([_, banner]) if banner.is_binary() => {
                    return Err(Error::ImportFailed {
                        import: request.name(),
                        why: format!("{THREW}: {}", banner.decode::<String>().unwrap_or_default()),
                        text: THREW.to_string(),
                    })
                }
                _ => {
                    return Err(Error::ImportFailed {
                        import: request.name(),
                        why: THREW.to_string(),
                        text: THREW.to_string(),
                    })
                }
            };
            request
                .decode_reply(value, &h)
                .map_err(|e| Error::ImportFailed {
                    import: request.name(),
                    why: format!(
                        "expected {}, got {} ({})",
                        request.expected(),
                        crate::convert::describe::term(value),
                        e.text()
                    ),
                    text: format!("{THREW}: invalid return value: {}", e.text()),
                })
        });
        encode_step(env, &h, step)
    });
    account(env, started);
    step.unwrap_or_else(|e| failed(env, e))
}

#[rustler::nif]
fn exec_cancel(store_or_caller: Term) -> Result<()> {
    let handle = Handle::decode(store_or_caller)?;
    exec::cancel(&handle, Error::Timeout)
}
