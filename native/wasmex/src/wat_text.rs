//! `Wasmex.Wat`: WAT text to wasm bytes (core modules and components). Pure; runs on a dirty CPU scheduler.

use rustler::{Binary, Env};

use crate::error::{Error, Result};
use crate::term::to_binary;

#[rustler::nif(schedule = "DirtyCpu")]
fn wat_to_wasm<'a>(env: Env<'a>, wat: Binary) -> Result<Binary<'a>> {
    let bytes = wat::parse_bytes(wat.as_slice())
        .map_err(|e| Error::msg(format!("Failed to parse WAT: {e}")))?;
    Ok(to_binary(env, &bytes))
}
