//! What a store reports and keeps outside any call: whether its component instances are broken
//! (`store_poisoned`), the exit code a WASI guest left, the output captured where no pipe takes
//! it (and whether it goes to Logger), and fuel. Fuel goes through the store as a synchronous
//! operation (`SyncOp`), so it is read and set even while an import callback runs.

use std::sync::atomic::Ordering;

use rustler::Term;
use wasmtime::StoreContextMut;

use super::data::StoreData;
use super::exec;
use super::op::SyncOp;
use super::Handle;
use crate::error::{Error, Result};

/// Whether a trap or a stopped call broke the store's component instances. Elixir asks this
/// instead of reading error texts.
#[rustler::nif]
fn store_poisoned(store_or_caller: Term) -> Result<bool> {
    let handle = Handle::decode(store_or_caller)?;
    Ok(handle.store.poisoned.load(Ordering::Relaxed))
}

/// Reads the code of the last WASI exit that ended a call or instantiation on the store.
struct GetExitCode;

impl SyncOp for GetExitCode {
    type Out = Option<i32>;

    fn run(self, ctx: StoreContextMut<'_, StoreData>) -> Result<Option<i32>> {
        Ok(ctx.data().exit_code)
    }
}

/// `{:ok, nil | code}`: the exit code of the last WASI exit (P1 `proc_exit`, P2 `wasi:cli/exit`)
/// that ended a call or an instantiation on the store, `nil` if none did.
#[rustler::nif]
fn store_exit_code(store_or_caller: Term) -> Result<Option<i32>> {
    let handle = Handle::decode(store_or_caller)?;
    exec::sync(&handle, GetExitCode)
}

/// `{:ok, [{:stdout | :stderr, line}]}`: the complete lines the guest wrote since the last take,
/// for a store made with `log_output: true` (else `[]`); `all` takes a partial last line too.
/// Needs no lock of the store: it may run while a call is parked.
#[rustler::nif]
fn store_take_output(store_or_caller: Term, all: bool) -> Result<Vec<(rustler::Atom, String)>> {
    let handle = Handle::decode(store_or_caller)?;
    let c = &handle.store.captured;
    let mut lines = Vec::new();
    for (tag, out) in [
        (crate::atoms::stdout(), &c.stdout),
        (crate::atoms::stderr(), &c.stderr),
    ] {
        if let Some(out) = out {
            lines.extend(out.take_lines(all).into_iter().map(|l| (tag, l)));
        }
    }
    Ok(lines)
}

/// Whether the store was made with `log_output: true` and keeps lines for `store_take_output`
/// (a store made like it by `store_renew` does too). Needs no lock of the store.
#[rustler::nif]
fn store_logs_output(store_or_caller: Term) -> Result<bool> {
    Ok(Handle::decode(store_or_caller)?.store.captured.logs())
}

/// Reads the store's fuel.
struct GetFuel;

impl SyncOp for GetFuel {
    type Out = u64;

    fn run(self, ctx: StoreContextMut<'_, StoreData>) -> Result<u64> {
        ctx.get_fuel()
            .map_err(|e| Error::Msg(format!("Could not get fuel: {e:#}")))
    }
}

/// Sets the store's fuel.
struct SetFuel(u64);

impl SyncOp for SetFuel {
    type Out = ();

    fn run(self, mut ctx: StoreContextMut<'_, StoreData>) -> Result<()> {
        ctx.set_fuel(self.0)
            .map_err(|e| Error::Msg(format!("Could not set fuel: {e:#}")))
    }
}

#[rustler::nif]
fn store_get_fuel(store_or_caller: Term) -> Result<u64> {
    let handle = Handle::decode(store_or_caller)?;
    exec::sync(&handle, GetFuel)
}

#[rustler::nif]
fn store_set_fuel(store_or_caller: Term, fuel: u64) -> Result<()> {
    let handle = Handle::decode(store_or_caller)?;
    exec::sync(&handle, SetFuel(fuel))
}
