//! Imports written in Elixir for components: root functions (`%{"name" => {:fn, fun}}`) and
//! functions of imported interfaces (`%{"pkg:ns/iface@ver" => %{"name" => {:fn, fun}}}`).
//!
//! Each becomes an async host function that leaves a `ComponentRequest` for the driving Elixir
//! process in the store's channel and waits for its reply, exactly like core imports (see
//! `crate::imports` and `store::callback`). The request encodes its WIT arguments
//! (`{:component_callback, fun, args}`) and decodes the reply against the WIT result type, so an
//! import's whole life is in this file. The function gets the WIT parameters only (no context).
//! Entries with other tags are ignored, as in Wasmex 0.15.1. Threading: host functions run on the
//! thread polling the store; requests are shared (`Arc`) between the channel and the driver.

use std::sync::Arc;

use rustler::types::tuple::get_tuple;
use rustler::{Atom, Encoder, Env, Term};
use wasmtime::component::types::Type;
use wasmtime::component::{Linker, LinkerInstance, ResourceAny, Val};

use super::host_resource::{self, has_resource};
use super::resources::{ResourcesIn, ResourcesOut};
use crate::atoms::{self, fn_, resource};
use crate::convert::component::term_to_val;
use crate::convert::component_out::val_to_term;
use crate::error::{Error, Result};
use crate::store::callback::ask_elixir;
use crate::store::data::StoreData;
use crate::store::op::{Request, Vals};
use crate::store::Handle;
use crate::term::{map_entries, KeptTerm};

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
                    define(&mut instance, &fname, &format!("{name}#{fname}"), fun)?;
                } else if let Some(drop_fun) = tagged(fspec, resource()) {
                    host_resource::define(&mut instance, &name, &fname, drop_fun)?;
                }
            }
        } else if let Some(fun) = function_of(spec) {
            define(&mut linker.root(), &name, &name, fun)?;
        } else if let Some(drop_fun) = tagged(spec, resource()) {
            host_resource::define(&mut linker.root(), "", &name, drop_fun)?;
        }
    }
    Ok(())
}

/// Defines the import `name`; `label` names it in errors.
fn define(
    instance: &mut LinkerInstance<StoreData>,
    name: &str,
    label: &str,
    fun: Term,
) -> Result<()> {
    let fun = Arc::new(KeptTerm::save(fun));
    let label: Arc<str> = Arc::from(label);
    instance
        .func_new_async(name, move |mut store, ty, params, results| {
            let fun = fun.clone();
            let name = label.clone();
            Box::new(async move {
                let resources = if ty.params().any(|(_, t)| has_resource(&t)) {
                    host_resource::resolve(&mut store, params)?
                } else {
                    Vec::new()
                };
                let request = Arc::new(ComponentRequest {
                    name,
                    fun,
                    params: params.to_vec(),
                    results: ty.results().collect(),
                    resources,
                });
                match ask_elixir(&mut store, request).await? {
                    Vals::Component(vals) => {
                        for ((slot, mut v), t) in results.iter_mut().zip(vals).zip(ty.results()) {
                            if has_resource(&t) {
                                host_resource::attach(&mut store, &mut v, &t)?;
                            }
                            *slot = v;
                        }
                        Ok(())
                    }
                    _ => Err(wasmtime::Error::new(Error::MismatchedReply)),
                }
            })
        })
        .map_err(|e| Error::msg(format!("Could not define import `{name}`: {e:#}")))
}

/// A component import's call, as its host function asks Elixir to run it.
struct ComponentRequest {
    /// The import's WIT name (`interface#name` for an interface's function), for errors.
    name: Arc<str>,
    fun: Arc<KeptTerm>,
    params: Vec<Val>,
    results: Vec<Type>,
    /// The terms of the host resources among `params` (see `host_resource::resolve`).
    resources: Vec<(ResourceAny, Arc<KeptTerm>)>,
}

impl Request for ComponentRequest {
    fn encode<'a>(&self, env: Env<'a>, _handle: &Handle, _caller_id: u64) -> Result<Term<'a>> {
        let fun = self.fun.load(env)?;
        let lift = ResourcesOut::Host(&self.resources);
        let args = self
            .params
            .iter()
            .map(|v| val_to_term(env, v, &lift))
            .collect::<Result<Vec<Term>>>()?;
        Ok((atoms::component_callback(), fun, args).encode(env))
    }

    /// The import's results: none, or the value converted against the one result type (host
    /// resources it returns are registered in the store's table, and forgotten again if the
    /// conversion fails).
    fn decode_reply(&self, value: Term, handle: &Handle) -> Result<Vals> {
        match self.results.as_slice() {
            [] => Ok(Vals::Component(vec![])),
            [ty] => {
                let mut resources = ResourcesIn::for_import_result(&handle.store.hosts);
                let val = term_to_val(value, ty, &mut resources);
                if val.is_err() {
                    resources.rollback();
                }
                Ok(Vals::Component(vec![val?]))
            }
            _ => Err(Error::msg(
                "Component callbacks with multiple results are not supported",
            )),
        }
    }

    fn name(&self) -> String {
        self.name.to_string()
    }

    fn expected(&self) -> String {
        match self.results.as_slice() {
            [ty] => crate::convert::describe::wit_shape(ty),
            _ => "any term".to_string(),
        }
    }
}
