//! Fuel of a store, read and set through a store or a running callback's caller.
//!
//! Synchronous store operations (`exec::sync`); no wasm runs.

use rustler::Term;

use crate::error::{Error, Result};
use crate::exec;
use crate::ops::{Output, SyncOp};
use crate::store::Handle;

#[rustler::nif]
fn store_get_fuel(store_or_caller: Term) -> Result<u64> {
    let handle = Handle::decode(store_or_caller)?;
    match exec::sync(&handle, SyncOp::GetFuel)? {
        Output::U64(n) => Ok(n),
        _ => Err(Error::msg("unexpected store answer")),
    }
}

#[rustler::nif]
fn store_set_fuel(store_or_caller: Term, fuel: u64) -> Result<()> {
    let handle = Handle::decode(store_or_caller)?;
    exec::sync(&handle, SyncOp::SetFuel(fuel)).map(|_| ())
}
