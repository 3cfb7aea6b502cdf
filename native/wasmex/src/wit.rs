//! World introspection for `use Wasmex.Components.ComponentServer`: the functions a world exports,
//! read from WIT text (wit-parser) or from a compiled component's own type (wasmtime). Runs at
//! Elixir compile time, on dirty schedulers; pure apart from the engine it compiles with.

use std::collections::HashMap;

use rustler::{Binary, ResourceArc};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::Component;
use wit_parser::{Resolve, WorldItem, WorldKey};

use crate::engine::{engine_or_default, EngineResource};
use crate::error::{Error, Result};

/// `%{"function-name" => arity}` for the functions exported by the world in `wit` (text read
/// from `path`, used for error messages). `world` picks one of several worlds.
#[rustler::nif(schedule = "DirtyCpu")]
fn wit_exported_functions(
    path: String,
    wit: String,
    world: Option<String>,
) -> Result<HashMap<String, usize>> {
    let mut resolve = Resolve::new();
    let pkg = resolve
        .push_str(&path, &wit)
        .map_err(|e| Error::msg(format!("Could not parse WIT `{path}`: {e:#}")))?;
    let world = resolve
        .select_world(&[pkg], world.as_deref())
        .map_err(|e| Error::msg(format!("Could not select a world in `{path}`: {e:#}")))?;
    let mut out = HashMap::new();
    for (key, item) in &resolve.worlds[world].exports {
        if let (WorldKey::Name(name), WorldItem::Function(f)) = (key, item) {
            out.insert(name.clone(), f.params.len());
        }
    }
    Ok(out)
}

/// The same, read from a compiled component's root exports.
#[rustler::nif(schedule = "DirtyCpu")]
fn component_exported_functions(
    bytes: Binary,
    engine: Option<ResourceArc<EngineResource>>,
) -> Result<HashMap<String, usize>> {
    let engine = engine_or_default(engine)?;
    let component = Component::new(&engine, bytes.as_slice())
        .map_err(|e| Error::msg(format!("Unable to decode WASM: {e:#}")))?;
    let ty = component.component_type();
    let mut out = HashMap::new();
    for (name, item) in ty.exports(&engine) {
        if let ComponentItem::ComponentFunc(f) = item.ty {
            out.insert(name.to_string(), f.params().len());
        }
    }
    Ok(out)
}
