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
//! host function on its `Caller` (see `callback`). Nothing ever blocks waiting for Elixir.
//!
//! Operations arrive as `Op`/`SyncOp` values this file does not look inside (see `op`).
//!
//! Threading: all of this happens under the store's slot mutex, on whichever scheduler thread runs
//! the NIF; the parked future is `Send` and may be resumed on another thread.

use std::any::Any;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use rustler::Env;
use wasmtime::{AsContextMut, StoreContextMut};

use super::data::{Channel, Inbox, Outbox, StoreData};
use super::op::{self, Finished, Op, Request, SyncOp, Vals};
use super::slot::{Parked, Slot};
use crate::error::{Error, Result};
use crate::store::{lock_chan, Handle};

/// How long one NIF keeps polling a guest that yields before returning to the scheduler.
const BUDGET: Duration = Duration::from_micros(50);

/// How deep operations started from import callbacks may nest (an import that calls back into
/// its instance, whose import calls back again, ...). Each level holds a wasmtime fiber stack.
pub const MAX_NESTING: usize = 100;

/// The outcome of polling.
pub enum Step {
    Done(Result<Finished>),
    /// A host function asks for its Elixir import (the request, and the caller id).
    Callback(Arc<dyn Request>, u64),
    /// The time slice is over; poll again soon.
    Yield,
    /// The guest waits on I/O (a file, a socket); poll again after a short pause.
    Wait,
    /// The operation has a large result to encode: poll it again on a dirty scheduler.
    Dirty,
    /// A `SyncOp` sent by `sync` finished (seen only by `sync`).
    Synced(Result<Box<dyn Any + Send>>),
}

/// Polls the parked future until it finishes, asks for Elixir, or its time slice is over.
///
/// Polls run inside wasmtime-wasi's Tokio runtime context: its clocks (a guest that sleeps with
/// `poll_oneoff` or `wasi:clocks`) arm Tokio timers, which panic outside a runtime. The timers
/// fire on that runtime's threads; the poll itself stays on the calling thread.
pub fn drive(slot: &mut Slot, chan: &Mutex<Channel>) -> Step {
    drive_from(slot, chan, Instant::now())
}

/// `drive`, for a caller that read the clock just before (`start` does): `now` begins the slice.
fn drive_from(slot: &mut Slot, chan: &Mutex<Channel>, now: Instant) -> Step {
    enter_tokio_runtime();
    poll_slice(slot, chan, now)
}

thread_local! {
    /// Whether this thread has entered wasmtime-wasi's Tokio runtime for good.
    static IN_RUNTIME: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// This thread's kind, as `enif_thread_type` answers it (0: not asked yet).
    static THREAD_TYPE: std::cell::Cell<i32> = const { std::cell::Cell::new(0) };
}

/// Whether this thread is a normal scheduler (not a dirty one, not a thread of ours).
fn on_normal_scheduler() -> bool {
    let mut kind = THREAD_TYPE.get();
    if kind == 0 {
        // SAFETY: `enif_thread_type` only reads the calling thread's kind; any thread may call it.
        kind = unsafe { rustler::sys::enif_thread_type() };
        THREAD_TYPE.set(kind);
    }
    kind == rustler::sys::ERL_NIF_THR_NORMAL_SCHEDULER
}

/// Enters wasmtime-wasi's Tokio runtime on this scheduler thread once, and stays in it: entering
/// it around every poll cost a noticeable part of a short call. Scheduler threads live as long as
/// the VM, and a runtime entered later on the same thread nests inside this one as usual.
fn enter_tokio_runtime() {
    if IN_RUNTIME.get() {
        return;
    }
    let handle =
        wasmtime_wasi::runtime::with_ambient_tokio_runtime(tokio::runtime::Handle::current);
    // The guard borrows the handle: leak both, once per thread, so the thread stays inside.
    let handle: &'static tokio::runtime::Handle = Box::leak(Box::new(handle));
    std::mem::forget(handle.enter());
    IN_RUNTIME.set(true);
}

fn poll_slice(slot: &mut Slot, chan: &Mutex<Channel>, start: Instant) -> Step {
    let mut now = start;
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        let Some(parked) = slot.parked.as_mut() else {
            let aborted = lock_chan(chan).ok().and_then(|c| c.aborted.clone());
            return Step::Done(Err(aborted.unwrap_or(Error::NoCall)));
        };
        if parked.deadline.is_some_and(|d| now >= d) {
            return abort(slot, chan, Error::Timeout);
        }
        match parked.task.as_mut().poll_run(&mut cx) {
            Poll::Ready(()) => {
                let finished = slot.parked.take().map(|p| p.task as Finished);
                if let Ok(mut ch) = lock_chan(chan) {
                    ch.waiting.clear();
                    ch.serving = false;
                    ch.inbox = None;
                    // An earlier call's abort reason is stale now (see `start`).
                    ch.aborted = None;
                }
                return Step::Done(finished.ok_or(Error::NoCall));
            }
            Poll::Pending => {
                let mut ch = match lock_chan(chan) {
                    Ok(ch) => ch,
                    Err(e) => return abort(slot, chan, e),
                };
                if let Some((request, id)) = ch.request.take() {
                    return Step::Callback(request, id);
                }
                match ch.outbox.take() {
                    Some(Outbox::Op(finished)) => return Step::Done(Ok(finished)),
                    Some(Outbox::Sync(out)) => return Step::Synced(out),
                    None => {}
                }
                if std::mem::take(&mut ch.wants_dirty) || (slot.large() && on_normal_scheduler()) {
                    return Step::Dirty;
                }
                let yielded = std::mem::take(&mut ch.yielded);
                drop(ch);
                now = Instant::now();
                if now.duration_since(start) >= BUDGET {
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
        Some(id) if !ch.waiting.iter().any(|w| w.id == id) => Err(Error::CallerGone),
        _ => Ok(()),
    }
}

/// Starts an operation that may run wasm: on an idle store as a new parked call, or, while an
/// import callback of the same driver runs, as a nested operation served by its host function.
pub fn start<O: Op>(handle: &Handle, op: O, deadline: Option<Instant>, env: Env) -> Result<Step> {
    let driver = env.pid();
    let chan = &handle.store.chan;
    let mut slot = handle.store.lock()?;
    // One clock read serves the deadline check below and begins the time slice.
    let now = Instant::now();
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
                return Err(Error::CallerGone);
            }
            let component = O::ENTERS_COMPONENTS;
            if component && slot.poisoned() {
                return Err(Error::Unusable);
            }
            // A deadline that passed while this call waited (for the slot mutex, or in a queue)
            // ends it here, before it starts: stopping a guest that never ran would poison the
            // store's component instances for nothing.
            if deadline.is_some_and(|d| now >= d) {
                return Err(Error::Timeout);
            }
            // The reason an earlier call was aborted is cleared when the next call finishes:
            // it is read only while no call is parked, and this one is parked from here on.
            slot.store()?.set_epoch_deadline(1);
            let ptr = slot.store_ptr();
            // Clean-ups left by handles that were garbage collected run first, in the first half
            // of the call's time at most; what is left waits for the next call (see `deferred`).
            // (Nearly every call finds none: then nothing is cloned or computed for them.)
            let jobs = handle.store.deferred.take();
            let queue = (!jobs.is_empty()).then(|| {
                let half = deadline.map(|d| now + d.saturating_duration_since(now) / 2);
                (handle.store.deferred.clone(), half)
            });
            let task = op::task::<O, _>(async move {
                // SAFETY: the slot keeps the store alive and untouched while this future is
                // parked in it, and drops this future before the store.
                let store = unsafe { &mut *ptr.get() };
                if let Some((queue, half)) = queue {
                    let mut jobs = jobs.into_iter();
                    while let Some(job) = jobs.next() {
                        if half.is_some_and(|h| Instant::now() >= h) {
                            queue.give_back(std::iter::once(job).chain(jobs).collect());
                            break;
                        }
                        drop(job.run(store.as_context_mut()).await);
                    }
                }
                op.run(store.as_context_mut()).await
            });
            slot.parked = Some(Parked {
                task,
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
            if ch.waiting.len() >= MAX_NESTING {
                return Err(Error::Msg(format!(
                    "nested calls are limited to {MAX_NESTING} levels (an import calling back \
                     into the store {MAX_NESTING} times without returning)"
                )));
            }
            ch.inbox = Some(Inbox::Op(op::nested(op)));
        }
    }
    // A store with a large memory runs its guest on dirty schedulers from the first instruction:
    // one bulk instruction over that memory would hold a normal scheduler for longer than a slice.
    if slot.large() && on_normal_scheduler() {
        return Ok(Step::Dirty);
    }
    Ok(drive_from(&mut slot, chan, now))
}

/// Runs an operation that never runs wasm, directly or through the waiting host function.
pub fn sync<S: SyncOp>(handle: &Handle, op: S) -> Result<S::Out> {
    let chan = &handle.store.chan;
    let mut slot = handle.store.lock()?;
    if slot.parked.is_none() {
        if handle.caller_id.is_some() {
            return Err(Error::CallerGone);
        }
        return op.run(slot.store()?.as_context_mut());
    }
    {
        let mut ch = lock_chan(chan)?;
        if !ch.serving {
            return Err(Error::Busy);
        }
        check_caller(handle, &ch)?;
        ch.inbox = Some(Inbox::Sync(Box::new(op)));
    }
    match drive(&mut slot, chan) {
        Step::Synced(out) => out?
            .downcast::<S::Out>()
            .map(|out| *out)
            .map_err(|_| Error::Incomplete),
        // The call was stopped meanwhile (its deadline passed): why.
        Step::Done(Err(e)) => Err(e),
        Step::Done(Ok(_)) | Step::Callback(..) | Step::Yield | Step::Wait | Step::Dirty => {
            Err(Error::Incomplete)
        }
    }
}

/// Makes the running operation continue on a dirty scheduler: the poll returns `Step::Dirty`
/// (the driver then polls with `exec_continue_dirty`), and the operation goes on from here in
/// that poll. For an operation whose result is large to encode, since encoding runs in the NIF
/// that sees the operation finish.
pub fn to_dirty_scheduler(
    ctx: &StoreContextMut<'_, StoreData>,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    if let Ok(mut ch) = ctx.data().chan.lock() {
        ch.wants_dirty = true;
    }
    super::limits::yield_once()
}

/// Runs a future that never waits on anything but our own limiter (host-side `Memory.grow`:
/// the limiter suspends once when a store becomes large) to its end on this thread; `None` if it
/// is still pending after a few polls.
pub fn finish_now<F: std::future::Future>(fut: F) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    (0..4).find_map(|_| match fut.as_mut().poll(&mut cx) {
        Poll::Ready(out) => Some(out),
        Poll::Pending => None,
    })
}

/// Polls the parked call again after a yield.
pub fn resume_after_yield(handle: &Handle) -> Result<Step> {
    let mut slot = handle.store.lock()?;
    Ok(drive(&mut slot, &handle.store.chan))
}

/// Hands the innermost waiting host function its Elixir reply, then polls again.
pub fn reply(
    handle: &Handle,
    make: impl FnOnce(&dyn Request) -> std::result::Result<Vals, Error>,
) -> Result<Step> {
    let chan = &handle.store.chan;
    let mut slot = handle.store.lock()?;
    if slot.parked.is_some() {
        let mut ch = lock_chan(chan)?;
        let Some(waiting) = ch.waiting.last() else {
            return Err(Error::msg("no import callback is waiting for a reply"));
        };
        let vals = make(waiting.request.as_ref());
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
