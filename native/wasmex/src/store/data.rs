//! The data every store carries (`StoreData`, with the views wasmtime-wasi and
//! wasmtime-wasi-http use to reach its contexts) and the mailbox between the NIFs and the host
//! functions suspended inside the store's parked call (`Channel`).
//!
//! A host function that needs Elixir leaves its `Request` in the channel; the NIF answers through
//! the `Inbox` (a reply, or an operation for the suspended host function to run); the host
//! function leaves an operation's result in the outbox. `StoreData` lives inside the wasmtime
//! store and is touched only by the thread holding the store's slot mutex; the channel has its
//! own mutex (shared with the `StoreResource`), taken only by that same thread, so it is never
//! contended. This is the one type recursion of the crate: the channel carries operations over
//! `StoreData`, which holds the channel (as wasmtime's `Store<T>` does).

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use super::host_table::HostTable;
use super::limits::Limits;
use super::op::{Finished, Nested, Request, SyncJob, Vals};
use crate::error::Error;

/// Data every store carries.
pub struct StoreData {
    pub limits: Limits,
    /// WASI Preview 1 context, for core modules.
    pub wasi: Option<WasiP1Ctx>,
    /// WASI Preview 2 context and resource table, for components.
    pub p2: Option<WasiCtx>,
    pub table: ResourceTable,
    /// wasi:http context. Outgoing requests are sent only for stores created with `allow_http`.
    pub http: WasiHttpCtx,
    pub allow_http: bool,
    pub deny_http: DenyOutgoingHttp,
    /// Mailbox between the NIFs and host functions suspended inside the parked call.
    pub chan: Arc<Mutex<Channel>>,
    /// The Elixir terms behind host resources handed to the guest.
    pub hosts: Arc<Mutex<HostTable>>,
    /// Set when a trap or a stopped call broke the store's component instances.
    pub poisoned: Arc<AtomicBool>,
    /// The code of the last WASI exit (P1 `proc_exit`, P2 `wasi:cli/exit`) that ended a call or
    /// an instantiation on this store, read by `store_exit_code`.
    pub exit_code: Option<i32>,
    /// The guest's stdout and stderr where no pipe takes them.
    pub captured: super::wasi::Captured,
}

impl StoreData {
    /// A mark of the guest's stderr, for `stderr_since` (0 without a captured stderr).
    pub fn stderr_mark(&self) -> u64 {
        self.captured.stderr.as_ref().map_or(0, |o| o.mark())
    }

    /// `error` (a failed call's) with what the guest wrote to stderr since `mark` appended (the
    /// last 4 KiB), so a trap carries the guest's own message.
    pub fn with_stderr(&self, mark: u64, error: crate::error::Error) -> crate::error::Error {
        use crate::error::Error;
        let Some(out) = &self.captured.stderr else {
            return error;
        };
        let text = out.since(mark);
        let text = text.trim_end();
        if text.is_empty() {
            return error;
        }
        match error {
            Error::Trap(t) => Error::Trap(format!("{t}\nguest stderr:\n{text}")),
            Error::Msg(t) => Error::Msg(format!("{t}\nguest stderr:\n{text}")),
            other => other,
        }
    }

    /// Keeps the exit code when a failed call or instantiation was a WASI exit (wasmtime-wasi's
    /// `I32Exit`), so that Elixir reads it typed instead of from the error text.
    pub fn note_exit(&mut self, e: &wasmtime::Error) {
        if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
            self.exit_code = Some(exit.0);
        }
    }
}

/// wasi:http hooks of a store without `allow_http`: every outgoing request is refused (the guest
/// gets `error-code.HTTP-protocol-error`), so components that merely import wasi:http still run.
pub struct DenyOutgoingHttp;

impl WasiHttpHooks for DenyOutgoingHttp {
    fn is_supported_scheme(&mut self, _scheme: &http::uri::Scheme) -> bool {
        false
    }

    fn default_scheme(&mut self) -> Option<http::uri::Scheme> {
        None
    }
}

impl WasiHttpView for StoreData {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        let hooks: &mut dyn WasiHttpHooks = if self.allow_http {
            wasmtime_wasi_http::default_hooks()
        } else {
            &mut self.deny_http
        };
        WasiHttpCtxView {
            hooks,
            table: &mut self.table,
            ctx: &mut self.http,
        }
    }
}

impl WasiView for StoreData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        // A component store built without WASI gets an empty context (no stdio, files or
        // network) the first time a guest uses WASI.
        let ctx = self.p2.get_or_insert_with(|| WasiCtxBuilder::new().build());
        WasiCtxView {
            ctx,
            table: &mut self.table,
        }
    }
}

/// A host function waiting for its Elixir reply, and what it asked (to decode the reply).
pub struct Waiting {
    pub id: u64,
    pub request: Arc<dyn Request>,
}

/// What a NIF hands the innermost waiting host function.
pub enum Inbox {
    /// The Elixir import's value, converted (or why it failed).
    Reply(std::result::Result<Vals, Error>),
    /// An operation that may run wasm, started from the callback.
    Op(Box<dyn Nested>),
    /// An operation that never runs wasm, from the callback.
    Sync(Box<dyn SyncJob>),
}

/// What the host function left after running an `Inbox` operation.
pub enum Outbox {
    Op(Finished),
    Sync(crate::error::Result<Box<dyn std::any::Any + Send>>),
}

/// The mailbox between NIFs and host functions suspended inside a parked call.
#[derive(Default)]
pub struct Channel {
    /// Left by a host function that needs its Elixir import run (with its caller id).
    pub request: Option<(Arc<dyn Request>, u64)>,
    /// Left by a NIF for the innermost waiting host function.
    pub inbox: Option<Inbox>,
    /// Left by a host function that executed an `Inbox` operation.
    pub outbox: Option<Outbox>,
    /// Host functions waiting for their Elixir reply, innermost last.
    pub waiting: Vec<Waiting>,
    /// The innermost waiting host function is idle at its inbox.
    pub serving: bool,
    pub next_id: u64,
    /// Why the last call was stopped, reported to drivers that come back to it.
    pub aborted: Option<Error>,
    /// Set by the epoch callback: the guest yielded because its time slice is over.
    pub yielded: bool,
    /// Set by an operation about to encode a large result (`exec::to_dirty_scheduler`): poll it
    /// on a dirty scheduler from now on.
    pub wants_dirty: bool,
}
