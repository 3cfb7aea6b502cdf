//! The execution core: every store operation that can run wasm is a future that the NIFs poll.
//!
//! A call (or an instantiation) becomes a boxed future that borrows the store and is polled with
//! a no-op waker on the calling scheduler thread. It finishes in one poll when it is short. It
//! returns `Pending` in two cases: the epoch ticker asked it to yield (a time slice is over), or a
//! host function is waiting on an import written in Elixir. Either way the future is parked in the
//! store's slot and the NIF returns to Elixir (`:yield` or `{:callback, ...}`); the Elixir driver
//! then calls `exec_continue` / `exec_resume`, which poll it again. Dropping the future stops the
//! guest (wasmtime unwinds the fiber), which is how timeouts and cancellation work.
//!
//! While a host function waits for its Elixir reply it also serves operations sent through the
//! store's `Channel` (memory access, fuel, globals, nested calls and instantiations): the callback
//! runs in the driving process, and whatever it asks of the store is executed by the suspended
//! host function on its `Caller`. Nothing ever blocks waiting for Elixir.
//!
//! Threading: all of this happens under the store's slot mutex, on whichever scheduler thread runs
//! the NIF; the parked future is `Send` and may be resumed on another thread.

use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use rustler::{Env, LocalPid};
use wasmtime::Store;

use crate::channel::{CallbackRequest, Channel, Inbox, ResultTypes, Vals};
use crate::error::{Error, Result};
use crate::ops::{run_op, run_sync, Op, Output, SyncOp};
use crate::store::{lock_chan, Handle, Slot, StoreData};

/// How long one NIF keeps polling a guest that yields before returning to the scheduler.
const BUDGET: Duration = Duration::from_micros(50);

type OpFuture = Pin<Box<dyn Future<Output = Result<Output>> + Send>>;

pub struct Parked {
    fut: OpFuture,
    deadline: Option<Instant>,
    driver: LocalPid,
    /// A component operation: stopping it poisons the store's component instances.
    component: bool,
}

/// The outcome of polling.
pub enum Step {
    Done(Result<Output>),
    Callback(CallbackRequest),
    /// The time slice is over; poll again soon.
    Yield,
    /// The guest waits on I/O (a file, a socket); poll again after a short pause.
    Wait,
}

struct StorePtr(NonNull<Store<StoreData>>);

// SAFETY: the store is `Send`; the pointer is used only by the one future that owns it.
unsafe impl Send for StorePtr {}

impl StorePtr {
    fn get(&self) -> *mut Store<StoreData> {
        self.0.as_ptr()
    }
}

/// Polls the parked future until it finishes, asks for Elixir, or its time slice is over.
///
/// Polls run inside wasmtime-wasi's Tokio runtime context: its clocks (a guest that sleeps with
/// `poll_oneoff` or `wasi:clocks`) arm Tokio timers, which panic outside a runtime. The timers
/// fire on that runtime's threads; the poll itself stays on the calling thread.
pub fn drive(slot: &mut Slot, chan: &Mutex<Channel>) -> Step {
    wasmtime_wasi::runtime::with_ambient_tokio_runtime(|| poll_slice(slot, chan))
}

fn poll_slice(slot: &mut Slot, chan: &Mutex<Channel>) -> Step {
    let start = Instant::now();
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        let Some(parked) = slot.parked.as_mut() else {
            let aborted = lock_chan(chan).ok().and_then(|c| c.aborted.clone());
            return Step::Done(Err(
                aborted.unwrap_or_else(|| Error::msg("no call is in progress on this store"))
            ));
        };
        if parked.deadline.is_some_and(|d| Instant::now() >= d) {
            return abort(slot, chan, Error::Timeout);
        }
        match parked.fut.as_mut().poll(&mut cx) {
            Poll::Ready(result) => {
                slot.parked = None;
                if let Ok(mut ch) = lock_chan(chan) {
                    ch.waiting.clear();
                    ch.serving = false;
                    ch.inbox = None;
                }
                return Step::Done(result);
            }
            Poll::Pending => {
                let mut ch = match lock_chan(chan) {
                    Ok(ch) => ch,
                    Err(e) => return abort(slot, chan, e),
                };
                if let Some(request) = ch.request.take() {
                    return Step::Callback(request);
                }
                if let Some(out) = ch.outbox.take() {
                    return Step::Done(out);
                }
                let yielded = std::mem::take(&mut ch.yielded);
                drop(ch);
                if start.elapsed() >= BUDGET {
                    return if yielded { Step::Yield } else { Step::Wait };
                }
            }
        }
    }
}

/// Stops the parked call: dropping its future unwinds the guest.
pub fn abort(slot: &mut Slot, chan: &Mutex<Channel>, reason: Error) -> Step {
    if slot.parked.take().is_some_and(|p| p.component) {
        slot.poison();
    }
    if let Ok(mut ch) = lock_chan(chan) {
        let next_id = ch.next_id;
        *ch = Channel {
            next_id,
            aborted: Some(reason.clone()),
            ..Channel::default()
        };
    }
    Step::Done(Err(reason))
}

fn check_caller(handle: &Handle, ch: &Channel) -> Result<()> {
    match handle.caller_id {
        Some(id) if !ch.waiting.iter().any(|w| w.id == id) => {
            Err(Error::msg("Caller is no longer valid"))
        }
        _ => Ok(()),
    }
}

/// Starts an operation that may run wasm: on an idle store as a new parked call, or, while an
/// import callback of the same driver runs, as a nested operation served by its host function.
pub fn start(handle: &Handle, op: Op, deadline: Option<Instant>, env: Env) -> Result<Step> {
    let driver = env.pid();
    let chan = &handle.store.chan;
    let mut slot = handle.store.lock()?;
    // A call whose driving process died can never finish: stop it so the store is usable again.
    if slot
        .parked
        .as_ref()
        .is_some_and(|p| p.driver != driver && !p.driver.is_alive(env))
    {
        abort(
            &mut slot,
            chan,
            Error::msg("the process driving the call exited"),
        );
    }
    match slot.parked.as_ref() {
        None => {
            if handle.caller_id.is_some() {
                return Err(Error::msg("Caller is no longer valid"));
            }
            let component = op.is_component();
            if component && slot.poisoned() {
                return Err(Error::Unusable);
            }
            lock_chan(chan)?.aborted = None;
            slot.store()?.set_epoch_deadline(1);
            let ptr = StorePtr(slot.store_ptr());
            // Guest resources whose handles were garbage collected are dropped first.
            let drops = handle
                .store
                .pending_drops
                .lock()
                .map(|mut d| std::mem::take(&mut *d))
                .unwrap_or_default();
            let fut: OpFuture = Box::pin(async move {
                // SAFETY: the slot keeps the store alive and untouched while this future is
                // parked in it, and drops this future before the store.
                let store = unsafe { &mut *ptr.get() };
                for resource in drops {
                    // Best effort: the instance may be gone or broken by an earlier trap.
                    let _ = resource.resource_drop_async(&mut *store).await;
                }
                run_op(store, op).await
            });
            slot.parked = Some(Parked {
                fut,
                deadline,
                driver,
                component,
            });
        }
        Some(parked) => {
            let mut ch = lock_chan(chan)?;
            if parked.driver != driver {
                return Err(Error::Busy);
            }
            if !ch.serving {
                return Err(Error::msg(
                    "the store is busy with a running call (use the caller inside an import)",
                ));
            }
            check_caller(handle, &ch)?;
            ch.inbox = Some(Inbox::Op(op));
        }
    }
    Ok(drive(&mut slot, chan))
}

/// Runs an operation that never runs wasm, directly or through the waiting host function.
pub fn sync(handle: &Handle, op: SyncOp) -> Result<Output> {
    let chan = &handle.store.chan;
    let mut slot = handle.store.lock()?;
    if slot.parked.is_none() {
        if handle.caller_id.is_some() {
            return Err(Error::msg("Caller is no longer valid"));
        }
        return run_sync(slot.store()?, op);
    }
    {
        let mut ch = lock_chan(chan)?;
        if !ch.serving {
            return Err(Error::Busy);
        }
        check_caller(handle, &ch)?;
        ch.inbox = Some(Inbox::Op(Op::Sync(op)));
    }
    match drive(&mut slot, chan) {
        Step::Done(result) => result,
        Step::Callback(_) | Step::Yield | Step::Wait => {
            Err(Error::msg("store operation did not complete"))
        }
    }
}

/// Polls the parked call again after a yield.
pub fn resume_after_yield(handle: &Handle) -> Result<Step> {
    let mut slot = handle.store.lock()?;
    Ok(drive(&mut slot, &handle.store.chan))
}

/// Hands the innermost waiting host function its Elixir reply, then polls again.
pub fn reply(
    handle: &Handle,
    make: impl FnOnce(&ResultTypes) -> std::result::Result<Vals, String>,
) -> Result<Step> {
    let chan = &handle.store.chan;
    let mut slot = handle.store.lock()?;
    if slot.parked.is_some() {
        let mut ch = lock_chan(chan)?;
        let Some(waiting) = ch.waiting.last() else {
            return Err(Error::msg("no import callback is waiting for a reply"));
        };
        let vals = make(&waiting.results);
        ch.inbox = Some(Inbox::Reply(vals));
    }
    Ok(drive(&mut slot, chan))
}

/// Stops the parked call, if any.
pub fn cancel(handle: &Handle, reason: Error) -> Result<()> {
    let mut slot = handle.store.lock()?;
    if slot.parked.is_some() {
        abort(&mut slot, &handle.store.chan, reason);
    }
    Ok(())
}
