//! Imports written in Elixir for components: root functions (`%{"name" => {:fn, fun}}`) and
//! functions of imported interfaces (`%{"pkg:ns/iface@ver" => %{"name" => {:fn, fun}}}`).
//!
//! Each becomes an async host function that leaves a request for the driving Elixir process in the
//! store's channel and waits for its reply, exactly like core imports (see `imports` and `exec`).
//! The function gets the WIT parameters only (no context) and its value is converted against the
//! WIT result type. Entries with other tags are ignored, as in Wasmex 0.15.1.

use std::sync::Arc;

use rustler::types::tuple::get_tuple;
use rustler::{Atom, Term};
use wasmtime::component::{Linker, LinkerInstance};

use crate::channel::{ResultTypes, Vals};
use crate::error::{Error, Result};
use crate::host_resource::{self, has_resource};
use crate::imports::{ask_elixir, map_entries, Ask, KeptTerm};
use crate::store::StoreData;

rustler::atoms! { fn_ = "fn", resource }

/// The function of a `{tag, fun}` entry, or `None` for entries with other tags.
fn tagged(spec: Term, want: Atom) -> Option<Term> {
    match get_tuple(spec).as_deref() {
        Ok([tag, fun]) if tag.decode::<Atom>().ok() == Some(want) && fun.is_fun() => Some(*fun),
        _ => None,
    }
}

fn function_of(spec: Term) -> Option<Term> {
    tagged(spec, fn_())
}

/// Adds the Elixir imports to `linker` (after WASI, with shadowing allowed, so they may override
/// standard interfaces).
pub fn define_all(linker: &mut Linker<StoreData>, imports: Term) -> Result<()> {
    for (name, spec) in map_entries(imports, "imports")? {
        if spec.is_map() {
            let mut instance = linker
                .instance(&name)
                .map_err(|e| Error::msg(format!("Could not define import `{name}`: {e:#}")))?;
            for (fname, fspec) in map_entries(spec, "an imported interface")? {
                if let Some(fun) = function_of(fspec) {
                    define(&mut instance, &fname, fun)?;
                } else if let Some(drop_fun) = tagged(fspec, resource()) {
                    host_resource::define(&mut instance, &name, &fname, drop_fun)?;
                }
            }
        } else if let Some(fun) = function_of(spec) {
            define(&mut linker.root(), &name, fun)?;
        } else if let Some(drop_fun) = tagged(spec, resource()) {
            host_resource::define(&mut linker.root(), "", &name, drop_fun)?;
        }
    }
    Ok(())
}

fn define(instance: &mut LinkerInstance<StoreData>, name: &str, fun: Term) -> Result<()> {
    let fun = Arc::new(KeptTerm::save(fun));
    instance
        .func_new_async(name, move |mut store, ty, params, results| {
            let fun = fun.clone();
            Box::new(async move {
                let resources = if ty.params().any(|(_, t)| has_resource(&t)) {
                    host_resource::resolve(&mut store, params)?
                } else {
                    Vec::new()
                };
                let ask = Ask {
                    callback: fun,
                    params: Vals::Component(params.to_vec()),
                    results: ResultTypes::Component(ty.results().collect()),
                    memory: None,
                    resources,
                };
                match ask_elixir(&mut store, ask).await? {
                    Vals::Component(vals) => {
                        for ((slot, mut v), t) in results.iter_mut().zip(vals).zip(ty.results()) {
                            if has_resource(&t) {
                                host_resource::attach(&mut store, &mut v, &t)?;
                            }
                            *slot = v;
                        }
                        Ok(())
                    }
                    _ => Err(wasmtime::Error::msg("mismatched callback reply")),
                }
            })
        })
        .map_err(|e| Error::msg(format!("Could not define import `{name}`: {e:#}")))
}
