//! Imports written in Elixir, and the linker that wires them (and WASI P1) into an instance.
//!
//! Each Elixir import becomes an async host function. When the guest calls it, the host function
//! leaves a `CoreRequest` in the store's channel and suspends (`store::callback::ask_elixir`); the
//! NIF that was polling returns the request, encoded here as `{:callback, fun, params, memory,
//! caller}`, to the driving Elixir process, which runs the function and replies through
//! `exec_resume`; the reply is decoded here too. While suspended, the host function serves store
//! operations sent by that callback (see `store::exec`). The Elixir function itself is kept in a
//! process-independent environment (`term::KeptTerm`). Threading: host functions run on the
//! thread polling the store; requests are shared (`Arc`) between the channel and the driver.

use std::sync::Arc;

use rustler::{Encoder, Env, ResourceArc, Term};
use wasmtime::{Engine, FuncType, Linker, Memory, Val, ValType};

use crate::atoms::{self, f32, f64, fn_, i32, i64, v128};
use crate::convert::core::{callback_results, vals_to_terms};
use crate::error::{Error, Result};
use crate::memory::MemoryResource;
use crate::store::callback::ask_elixir;
use crate::store::data::StoreData;
use crate::store::op::{Request, Vals};
use crate::store::{CallerResource, Handle};
use crate::term::{map_entries, KeptTerm};

/// An Elixir function with the core wasm signature it was declared with.
struct CoreImport {
    /// `namespace::name`, for errors.
    name: String,
    fun: Arc<KeptTerm>,
    params: Vec<ValType>,
    results: Vec<ValType>,
}

fn decode_type(term: Term, ns: &str, name: &str) -> Result<ValType> {
    let atom = term.decode::<rustler::Atom>().map_err(|_| {
        Error::msg(format!(
            "not_an_atom: the types of import `{ns}::{name}` must be atoms"
        ))
    })?;
    if atom == i32() {
        Ok(ValType::I32)
    } else if atom == i64() {
        Ok(ValType::I64)
    } else if atom == f32() {
        Ok(ValType::F32)
    } else if atom == f64() {
        Ok(ValType::F64)
    } else if atom == v128() {
        Ok(ValType::V128)
    } else {
        Err(Error::msg(format!(
            "unknown: import `{ns}::{name}` uses an unknown value type (expected :i32, :i64, :f32, :f64 or :v128)"
        )))
    }
}

fn decode_types(term: Term, ns: &str, name: &str) -> Result<Vec<ValType>> {
    let items = crate::convert::list_items(term).ok_or_else(|| {
        Error::msg(format!(
            "not_an_atom: the types of import `{ns}::{name}` must be a list of atoms"
        ))
    })?;
    items.iter().map(|t| decode_type(*t, ns, name)).collect()
}

fn decode_fn(spec: Term, ns: &str, name: &str) -> Result<CoreImport> {
    let parts = rustler::types::tuple::get_tuple(spec).unwrap_or_default();
    let is_fn = parts.first().and_then(|t| t.decode::<rustler::Atom>().ok()) == Some(fn_());
    if parts.len() != 4 || !is_fn {
        return Err(Error::msg(format!(
            "unknown import type for `{ns}::{name}`: expected {{:fn, params, results, function}}"
        )));
    }
    if !parts[3].is_fun() {
        return Err(Error::msg(format!(
            "import `{ns}::{name}` must be given a function"
        )));
    }
    Ok(CoreImport {
        name: format!("{ns}::{name}"),
        params: decode_types(parts[1], ns, name)?,
        results: decode_types(parts[2], ns, name)?,
        fun: Arc::new(KeptTerm::save(parts[3])),
    })
}

/// Adds every import of `%{namespace => %{name => {:fn, params, results, fun}}}` to `linker`.
pub fn define_all(linker: &mut Linker<StoreData>, engine: &Engine, imports: Term) -> Result<()> {
    for (ns, funs) in map_entries(imports, "imports")? {
        for (name, spec) in map_entries(funs, "an import namespace")? {
            let f = Arc::new(decode_fn(spec, &ns, &name)?);
            define(linker, engine, &ns, &name, f)?;
        }
    }
    Ok(())
}

fn define(
    linker: &mut Linker<StoreData>,
    engine: &Engine,
    ns: &str,
    name: &str,
    f: Arc<CoreImport>,
) -> Result<()> {
    let ty = FuncType::new(engine, f.params.clone(), f.results.clone());
    linker.func_new_async(ns, name, ty, move |mut caller, params, results| {
        let f = f.clone();
        Box::new(async move {
            let request = Arc::new(CoreRequest {
                memory: caller.get_export("memory").and_then(|e| e.into_memory()),
                params: params.to_vec(),
                import: f,
            });
            match ask_elixir(&mut caller, request).await? {
                Vals::Core(vals) => {
                    for (slot, v) in results.iter_mut().zip(vals) {
                        *slot = v;
                    }
                    Ok(())
                }
                _ => Err(wasmtime::Error::new(Error::MismatchedReply)),
            }
        })
    })?;
    Ok(())
}

/// A core import's call, as its host function asks Elixir to run it.
struct CoreRequest {
    import: Arc<CoreImport>,
    params: Vec<Val>,
    /// The guest's memory, for the import's context.
    memory: Option<Memory>,
}

impl Request for CoreRequest {
    fn encode<'a>(&self, env: Env<'a>, handle: &Handle, caller_id: u64) -> Result<Term<'a>> {
        let fun = self.import.fun.load(env)?;
        let params = vals_to_terms(env, &self.params)?;
        let memory = match self.memory {
            Some(memory) => ResourceArc::new(MemoryResource {
                store_id: handle.store.id,
                memory,
            })
            .encode(env),
            None => atoms::nil().encode(env),
        };
        let caller = ResourceArc::new(CallerResource {
            store: handle.store.clone(),
            caller_id,
        });
        Ok((atoms::callback(), fun, params, memory, caller).encode(env))
    }

    fn decode_reply(&self, value: Term, _handle: &Handle) -> Result<Vals> {
        callback_results(value, &self.import.results).map(Vals::Core)
    }

    fn name(&self) -> String {
        self.import.name.clone()
    }

    fn expected(&self) -> String {
        crate::convert::describe::core_shape(&self.import.results)
    }
}

/// A linker for `engine`, with WASI P1 (overridable by Elixir imports) when the store has it.
pub fn linker(engine: &Engine, wasi: bool, imports: Term) -> Result<Linker<StoreData>> {
    let mut linker = crate::linker::core(engine, wasi)?;
    define_all(&mut linker, engine, imports)?;
    Ok(linker)
}
