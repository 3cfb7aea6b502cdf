//! The mailbox between the NIFs and host functions suspended inside a parked call.
//!
//! A host function that needs Elixir leaves a `CallbackRequest`; the NIF answers through the
//! `Inbox` (a reply, or a store operation for the suspended host function to run); the host
//! function leaves an operation's result in the outbox. Accessed under its own mutex, only by the
//! thread holding the store's slot mutex, so it is never contended.

use std::sync::Arc;

use wasmtime::component as cm;
use wasmtime::{Memory, Val, ValType};

use crate::error::{Error, Result};
use crate::imports::KeptTerm;
use crate::ops::{Op, Output};

/// Values crossing between a host function and Elixir: core or component values, or kept terms
/// (the value of a host resource, given to its destructor).
pub enum Vals {
    Core(Vec<Val>),
    Component(Vec<cm::Val>),
    Kept(Vec<Arc<KeptTerm>>),
}

/// The result types a waiting host function expects from Elixir.
pub enum ResultTypes {
    Core(Vec<ValType>),
    Component(Vec<cm::types::Type>),
}

pub struct Waiting {
    pub id: u64,
    pub results: ResultTypes,
}

pub struct CallbackRequest {
    pub callback: Arc<KeptTerm>,
    pub params: Vals,
    pub memory: Option<Memory>,
    pub caller_id: u64,
    /// The terms of the host resources among `params` (see `host_resource::resolve`).
    pub resources: Vec<(cm::ResourceAny, Arc<KeptTerm>)>,
}

pub enum Inbox {
    Reply(std::result::Result<Vals, String>),
    Op(Op),
}

/// The mailbox between NIFs and host functions suspended inside a parked call.
#[derive(Default)]
pub struct Channel {
    /// Left by a host function that needs its Elixir import run.
    pub request: Option<CallbackRequest>,
    /// Left by a NIF for the innermost waiting host function.
    pub inbox: Option<Inbox>,
    /// Left by a host function that executed an `Inbox::Op`.
    pub outbox: Option<Result<Output>>,
    /// Host functions waiting for their Elixir reply, innermost last.
    pub waiting: Vec<Waiting>,
    /// The innermost waiting host function is idle at its inbox.
    pub serving: bool,
    pub next_id: u64,
    /// Why the last call was stopped, reported to drivers that come back to it.
    pub aborted: Option<Error>,
    /// Set by the epoch callback: the guest yielded because its time slice is over.
    pub yielded: bool,
}
