//! `Wasmex.Wat`: WAT text to wasm bytes (core modules and components). Pure; runs on a dirty CPU scheduler.
//!
//! `on_load` runs once, when the NIF library loads, before any text is parsed: it lets the wat
//! crate accept the legacy component-text forms wat 1.255 (Wasmex 0.15.1) accepted.

use rustler::{Binary, Env, Term};

use crate::error::{Error, Result};
use crate::term::to_binary;

#[rustler::nif(schedule = "DirtyCpu")]
fn wat_to_wasm<'a>(env: Env<'a>, wat: Binary) -> Result<Binary<'a>> {
    let bytes = wat::parse_bytes(wat.as_slice())
        .map_err(|e| Error::msg(format!("Failed to parse WAT: {e}")))?;
    Ok(to_binary(env, &bytes))
}

/// The wat crate reads `WAST_STRICT_COMPONENT_INDICES` once, at its first parse: `0` accepts
/// legacy forms such as `(memory $inst "mem")` inside `canon lift`. A value the user set is kept.
/// Runs while the library loads, before any NIF (and so any parse) can run.
pub fn on_load(_env: Env, _info: Term) -> bool {
    if std::env::var_os("WAST_STRICT_COMPONENT_INDICES").is_none() {
        std::env::set_var("WAST_STRICT_COMPONENT_INDICES", "0");
    }
    true
}
