//! World introspection for the `use` macros: the functions a world exports (ComponentServer),
//! read from WIT text (wit-parser) or from a compiled component's own type (wasmtime), and the
//! resources of the interfaces it imports or exports (GuestResource / HostResource Discovery). Runs at
//! Elixir compile time, on dirty schedulers; pure apart from the engine it compiles with.

use std::collections::HashMap;

use rustler::{Atom, Binary, NifMap, ResourceArc};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::Component;
use wit_parser::{
    Function, FunctionKind, Resolve, TypeDefKind, TypeId, WorldId, WorldItem, WorldKey,
};

use crate::atoms::{async_method, async_static, constructor, method, static_};
use crate::engine::{engine_or_default, EngineResource};
use crate::error::{Error, Result};

/// Parses a WIT package, the text `wit` or the file or directory `path` (`label` names it in
/// errors), and selects its world `world` (or its only world).
fn load(
    label: &str,
    wit: Option<&str>,
    path: Option<&str>,
    world: Option<&str>,
) -> Result<(Resolve, WorldId)> {
    let mut resolve = Resolve::new();
    let pkg = match (wit, path) {
        (Some(text), _) => resolve.push_str(label, text).map_err(|e| format!("{e:#}")),
        (None, Some(path)) => (resolve.push_path(path))
            .map(|(pkg, _)| pkg)
            .map_err(|e| format!("{e:#}")),
        (None, None) => Err("no WIT given".to_string()),
    }
    .map_err(|e| Error::msg(format!("Failed to parse WIT: {e} (in `{label}`)")))?;
    let world = resolve
        .select_world(&[pkg], world)
        .map_err(|e| Error::msg(format!("Failed to select world: {e:#} (in `{label}`)")))?;
    Ok((resolve, world))
}

/// `%{"function-name" => arity}` for the functions exported by the world in `wit` (text read
/// from `path`, used for error messages). `world` picks one of several worlds.
#[rustler::nif(schedule = "DirtyCpu")]
fn wit_exported_functions(
    path: String,
    wit: String,
    world: Option<String>,
) -> Result<HashMap<String, usize>> {
    let (resolve, world) = load(&path, Some(&wit), None, world.as_deref())?;
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

/// One resource of an interface a world imports or exports (for the Discovery modules).
#[derive(NifMap)]
struct ResourceInfo {
    name: String,
    /// The interface's own name (`counters`).
    interface: String,
    /// The name the world imports or exports it under (`wasmex:resources/counters@1.2.3`).
    interface_path: Vec<String>,
    functions: Vec<FunctionInfo>,
}

#[derive(NifMap)]
struct FunctionInfo {
    /// The function's name within the resource (`add`; `constructor` for the constructor).
    wit_name: String,
    /// The name the component model gives it (`[method]accumulator.add`).
    canonical_name: String,
    kind: Atom,
    /// Parameters, leaving out a method's `self`.
    arity: usize,
    has_return: bool,
}

/// The resources of the interfaces the selected world of a WIT package imports (`imports` true)
/// or exports. The package is `wit` (text, `label` naming it in errors), or read from the file or
/// directory `path` (with its `deps/`).
#[rustler::nif(schedule = "DirtyIo")]
fn wit_resources(
    label: String,
    wit: Option<String>,
    path: Option<String>,
    world: Option<String>,
    imports: bool,
) -> Result<Vec<ResourceInfo>> {
    let (resolve, world) = load(&label, wit.as_deref(), path.as_deref(), world.as_deref())?;
    let world = &resolve.worlds[world];
    let items = if imports {
        &world.imports
    } else {
        &world.exports
    };
    let mut out = Vec::new();
    for (key, item) in items {
        let WorldItem::Interface { id, .. } = item else {
            continue;
        };
        let iface = &resolve.interfaces[*id];
        let export_name = resolve.name_world_key(key);
        for (rname, tid) in &iface.types {
            if !matches!(resolve.types[*tid].kind, TypeDefKind::Resource) {
                continue;
            }
            let functions = iface
                .functions
                .values()
                .filter_map(|f| function_info(f, *tid))
                .collect();
            out.push(ResourceInfo {
                name: rname.clone(),
                interface: iface.name.clone().unwrap_or_else(|| export_name.clone()),
                interface_path: vec![export_name.clone()],
                functions,
            });
        }
    }
    Ok(out)
}

fn function_info(f: &Function, resource: TypeId) -> Option<FunctionInfo> {
    let (kind, takes_self) = match f.kind {
        FunctionKind::Constructor(id) if id == resource => (constructor(), false),
        FunctionKind::Method(id) if id == resource => (method(), true),
        FunctionKind::AsyncMethod(id) if id == resource => (async_method(), true),
        FunctionKind::Static(id) if id == resource => (static_(), false),
        FunctionKind::AsyncStatic(id) if id == resource => (async_static(), false),
        _ => return None,
    };
    let wit_name = if kind == constructor() {
        "constructor".to_string()
    } else {
        f.name
            .rsplit_once('.')
            .map(|(_, n)| n.to_string())
            .unwrap_or_else(|| f.name.clone())
    };
    Some(FunctionInfo {
        wit_name,
        canonical_name: f.name.clone(),
        kind,
        arity: f.params.len() - usize::from(takes_self),
        has_return: f.result.is_some(),
    })
}
