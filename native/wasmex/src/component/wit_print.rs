//! A component's world as WIT text (`mix wasmex.wit`), decoded and printed by wit-component.
//!
//! Pure: reads only the bytes it is given (a component binary, or component WAT text). Decoding is
//! O(input), so the NIF runs on a dirty CPU scheduler; no state is shared between calls.

use rustler::Binary;

use crate::error::{Error, Result};

/// The WIT of `bytes`: the package holding the component's world first, then every package it
/// uses, nested in the same text.
#[rustler::nif(schedule = "DirtyCpu")]
fn component_wit(bytes: Binary) -> Result<String> {
    let wasm = wat::parse_bytes(bytes.as_slice())
        .map_err(|e| Error::msg(format!("Unable to decode WASM: {e:#}")))?;
    let decoded = wit_component::decode(&wasm)
        .map_err(|e| Error::msg(format!("Unable to decode WASM: {e:#}")))?;
    let resolve = decoded.resolve();
    let main = decoded.package();
    let nested: Vec<_> = resolve
        .packages
        .iter()
        .map(|(id, _)| id)
        .filter(|id| *id != main)
        .collect();
    let mut printer = wit_component::WitPrinter::default();
    printer
        .print(resolve, main, &nested)
        .map_err(|e| Error::msg(format!("Could not print the WIT: {e:#}")))?;
    Ok(printer.output.to_string())
}
