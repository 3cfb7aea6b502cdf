//! What the store runs without knowing what it is: operations (`Op`, `SyncOp`) and the requests
//! a suspended host function makes of Elixir (`Request`). The concepts implement these traits in
//! their own files (a call in `instance`, a memory read in `memory`, a component call in
//! `component::instance`, ...), each with its own result encoder, so `store/` carries values it
//! does not look inside and every value it hands back returns to the file that handed it in.
//!
//! The erasure keeps the hot path's allocations: a top-level operation's future and its result
//! share the one allocation the parked future needs anyway (`Task`), an encoder is a plain
//! function of the operation's type (no allocation, one virtual call per finished operation),
//! and a `SyncOp` on an idle store runs without erasure. A callback's request is one `Arc`
//! (holding what the channel held inline before, its parameters, and the import's shared
//! result types instead of a copy of them). Operations nested in a callback (`Nested`,
//! `SyncJob`) are boxed once more, and so is their result, since they cross the channel.
//!
//! Threading: everything here runs on the thread holding the store's slot mutex.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use rustler::{Env, Term};
use wasmtime::component as cm;
use wasmtime::{StoreContextMut, Val};

use super::data::StoreData;
use crate::error::{Error, Result};
use crate::store::Handle;

/// An operation that may run wasm (so it may yield or call into Elixir): a call, an
/// instantiation, a resource drop.
pub trait Op: Send + Sized + 'static {
    /// What the operation produces, still as wasmtime values; `encode` makes it a term.
    type Out: Send + Unpin + 'static;

    /// Whether the operation enters component instances: a store whose instances a trap broke
    /// refuses it (`Error::Unusable`), and stopping it breaks them.
    const ENTERS_COMPONENTS: bool = false;

    /// Runs the operation on an idle store or on the caller of a suspended host function.
    fn run(
        self,
        ctx: StoreContextMut<'_, StoreData>,
    ) -> impl Future<Output = Result<Self::Out>> + Send;

    /// The term for the operation's result, in the NIF that saw it finish.
    fn encode<'a>(out: Self::Out, env: Env<'a>, handle: &Handle) -> Result<Term<'a>>;
}

/// An operation that never runs wasm (memory, globals, fuel): its NIF decodes and encodes.
pub trait SyncOp: Send + 'static {
    type Out: Send + 'static;

    fn run(self, ctx: StoreContextMut<'_, StoreData>) -> Result<Self::Out>;
}

/// Values crossing from Elixir back to a waiting host function (wasmtime's values).
pub enum Vals {
    Core(Vec<Val>),
    Component(Vec<cm::Val>),
}

/// What a suspended host function asks of the driving Elixir process.
pub trait Request: Send + Sync {
    /// The step for the Elixir driver (`{:callback, ...}` or `{:component_callback, ...}`);
    /// `caller_id` names the waiting host function for a `CallerResource`.
    fn encode<'a>(&self, env: Env<'a>, handle: &Handle, caller_id: u64) -> Result<Term<'a>>;

    /// The host function's results from the Elixir import's value (of `{:ok, value}`).
    fn decode_reply(&self, value: Term, handle: &Handle) -> Result<Vals>;

    /// The import's name, for errors (`publish-message`, `env::add`).
    fn name(&self) -> String;

    /// The Elixir shape of the value the import must return, for errors.
    fn expected(&self) -> String;
}

/// A finished operation's result, which encodes itself (see `Op::encode`).
pub trait Encode: Send {
    fn encode<'a>(self: Pin<&mut Self>, env: Env<'a>, handle: &Handle) -> Result<Term<'a>>;
}

/// A finished operation, type-erased.
pub type Finished = Pin<Box<dyn Encode>>;

/// A top-level operation parked in the store's slot: polled until it is ready, then encoded.
pub trait Running: Encode {
    fn poll_run(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()>;
}

pin_project! {
    /// The future of an operation and, once it is ready, its result.
    struct Task<O: Op, F> {
        #[pin]
        fut: F,
        out: Option<Result<O::Out>>,
    }
}

/// Erases the future of the operation `O` into the one allocation the slot parks.
pub fn task<O: Op, F>(fut: F) -> Pin<Box<dyn Running>>
where
    F: Future<Output = Result<O::Out>> + Send + 'static,
{
    Box::pin(Task::<O, F> { fut, out: None })
}

fn encode_out<'a, O: Op>(
    out: Option<Result<O::Out>>,
    env: Env<'a>,
    handle: &Handle,
) -> Result<Term<'a>> {
    match out {
        Some(Ok(out)) => O::encode(out, env, handle),
        Some(Err(e)) => Err(e),
        None => Err(Error::Incomplete),
    }
}

impl<O: Op, F: Future<Output = Result<O::Out>> + Send> Encode for Task<O, F> {
    fn encode<'a>(self: Pin<&mut Self>, env: Env<'a>, handle: &Handle) -> Result<Term<'a>> {
        encode_out::<O>(self.project().out.take(), env, handle)
    }
}

impl<O: Op, F: Future<Output = Result<O::Out>> + Send> Running for Task<O, F> {
    fn poll_run(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if this.out.is_some() {
            return Poll::Ready(());
        }
        match this.fut.poll(cx) {
            Poll::Ready(out) => {
                *this.out = Some(out);
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The result of an operation that ran nested in a callback.
struct Ready<O: Op>(Option<Result<O::Out>>);

impl<O: Op> Encode for Ready<O> {
    fn encode<'a>(mut self: Pin<&mut Self>, env: Env<'a>, handle: &Handle) -> Result<Term<'a>> {
        encode_out::<O>(self.0.take(), env, handle)
    }
}

/// An operation sent through the channel to the suspended host function that runs it.
pub trait Nested: Send {
    fn run<'s>(
        self: Box<Self>,
        ctx: StoreContextMut<'s, StoreData>,
    ) -> Pin<Box<dyn Future<Output = Finished> + Send + 's>>;
}

struct Pending<O>(O);

/// Erases `op` for the channel.
pub fn nested<O: Op>(op: O) -> Box<dyn Nested> {
    Box::new(Pending(op))
}

impl<O: Op> Nested for Pending<O> {
    fn run<'s>(
        self: Box<Self>,
        ctx: StoreContextMut<'s, StoreData>,
    ) -> Pin<Box<dyn Future<Output = Finished> + Send + 's>> {
        Box::pin(async move {
            let out = self.0.run(ctx).await;
            Box::pin(Ready::<O>(Some(out))) as Finished
        })
    }
}

/// A `SyncOp` sent through the channel; its result comes back as `Any` to be downcast.
pub trait SyncJob: Send {
    fn run_job(self: Box<Self>, ctx: StoreContextMut<'_, StoreData>)
        -> Result<Box<dyn Any + Send>>;
}

impl<S: SyncOp> SyncJob for S {
    fn run_job(
        self: Box<Self>,
        ctx: StoreContextMut<'_, StoreData>,
    ) -> Result<Box<dyn Any + Send>> {
        SyncOp::run(*self, ctx).map(|out| Box::new(out) as Box<dyn Any + Send>)
    }
}
