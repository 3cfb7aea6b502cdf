//! Imports written in Elixir, and the linker that wires them (and WASI P1) into an instance.
//!
//! Each Elixir import becomes an async host function. When the guest calls it, the host function
//! leaves a `CallbackRequest` in the store's channel and suspends; the NIF that was polling returns
//! the request to the driving Elixir process, which runs the function and replies through
//! `exec_resume`. While suspended, the host function serves store operations sent by that callback
//! (see `exec`). The Elixir function itself is kept in a process-independent environment.

use std::sync::{Arc, Mutex};
use std::task::Poll;

use rustler::env::{OwnedEnv, SavedTerm};
use rustler::{Env, MapIterator, Term};
use wasmtime::component::ResourceAny;
use wasmtime::{AsContextMut, Engine, FuncType, Linker, ValType};

use crate::channel::{CallbackRequest, Channel, Inbox, ResultTypes, Vals, Waiting};
use crate::error::{Error, Result};
use crate::ops::run_op;
use crate::store::StoreData;

/// A term kept outside any process: an Elixir function used as an import, or the value of a
/// host resource (see `host_resource`).
pub struct KeptTerm {
    /// The environment holding the term, and the term saved in it.
    saved: Mutex<(OwnedEnv, SavedTerm)>,
}

/// An Elixir function with the core wasm signature it was declared with.
struct CoreImport {
    fun: Arc<KeptTerm>,
    params: Vec<ValType>,
    results: Vec<ValType>,
}

impl KeptTerm {
    /// Keeps `fun` (a term of the calling NIF) for later calls.
    pub fn save(fun: Term) -> Self {
        let env = OwnedEnv::new();
        let saved = env.save(fun);
        KeptTerm {
            saved: Mutex::new((env, saved)),
        }
    }

    /// The term, copied into `env`.
    pub fn load<'a>(&self, env: Env<'a>) -> Result<Term<'a>> {
        let saved = self
            .saved
            .lock()
            .map_err(|_| Error::msg("import function lock poisoned"))?;
        let (owned, fun) = &*saved;
        Ok(owned.run(|own| fun.load(own).in_env(env)))
    }
}

rustler::atoms! { fn_ = "fn", i32, i64, f32, f64, v128 }

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
        params: decode_types(parts[1], ns, name)?,
        results: decode_types(parts[2], ns, name)?,
        fun: Arc::new(KeptTerm::save(parts[3])),
    })
}

pub fn map_entries<'a>(term: Term<'a>, what: &str) -> Result<Vec<(String, Term<'a>)>> {
    let iter = MapIterator::new(term).ok_or_else(|| Error::msg(format!("{what} must be a map")))?;
    iter.map(|(k, v)| {
        k.decode::<String>()
            .map(|k| (k, v))
            .map_err(|_| Error::msg(format!("the keys of {what} must be strings")))
    })
    .collect()
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
            let ask = Ask {
                callback: f.fun.clone(),
                params: Vals::Core(params.to_vec()),
                results: ResultTypes::Core(f.results.clone()),
                memory: caller.get_export("memory").and_then(|e| e.into_memory()),
                resources: Vec::new(),
            };
            match ask_elixir(&mut caller, ask).await? {
                Vals::Core(vals) => {
                    for (slot, v) in results.iter_mut().zip(vals) {
                        *slot = v;
                    }
                    Ok(())
                }
                _ => Err(wasmtime::Error::msg("mismatched callback reply")),
            }
        })
    })?;
    Ok(())
}

/// What a host function asks of Elixir: run `callback` on `params`, expecting `results`.
pub struct Ask {
    pub callback: Arc<KeptTerm>,
    pub params: Vals,
    pub results: ResultTypes,
    /// The guest's memory, for core imports' context.
    pub memory: Option<wasmtime::Memory>,
    /// The terms of the host resources among `params` (see `host_resource::resolve`).
    pub resources: Vec<(ResourceAny, Arc<KeptTerm>)>,
}

/// Has the driving Elixir process run an import: leaves the request in the store's channel,
/// serves the store operations the callback sends, and returns the callback's converted value.
pub async fn ask_elixir<C>(caller: &mut C, ask: Ask) -> wasmtime::Result<Vals>
where
    C: AsContextMut<Data = StoreData> + Send,
{
    let chan = caller.as_context_mut().data().chan.clone();
    let id = {
        let mut ch = lock(&chan)?;
        ch.next_id += 1;
        let id = ch.next_id;
        ch.waiting.push(Waiting {
            id,
            results: ask.results,
        });
        ch.request = Some(CallbackRequest {
            callback: ask.callback,
            params: ask.params,
            memory: ask.memory,
            caller_id: id,
            resources: ask.resources,
        });
        id
    };
    let reply = serve(caller, &chan).await;
    lock(&chan)?.waiting.retain(|w| w.id != id);
    reply.map_err(wasmtime::Error::msg)
}

pub fn lock(chan: &Mutex<Channel>) -> wasmtime::Result<std::sync::MutexGuard<'_, Channel>> {
    chan.lock()
        .map_err(|_| wasmtime::Error::msg("store channel poisoned"))
}

/// Waits for the Elixir reply, executing the store operations the callback sends meanwhile.
pub async fn serve<C>(
    caller: &mut C,
    chan: &Arc<Mutex<Channel>>,
) -> std::result::Result<Vals, String>
where
    C: AsContextMut<Data = StoreData> + Send,
{
    loop {
        let msg = std::future::poll_fn(|_| {
            let Ok(mut ch) = chan.lock() else {
                return Poll::Ready(None);
            };
            match ch.inbox.take() {
                Some(m) => {
                    ch.serving = false;
                    Poll::Ready(Some(m))
                }
                None => {
                    ch.serving = true;
                    Poll::Pending
                }
            }
        })
        .await;
        match msg {
            None => return Err("store channel poisoned".into()),
            Some(Inbox::Reply(r)) => return r,
            Some(Inbox::Op(op)) => {
                let out = run_op(&mut *caller, op).await;
                if let Ok(mut ch) = chan.lock() {
                    ch.outbox = Some(out);
                }
            }
        }
    }
}

/// A linker for `engine`, with WASI P1 (overridable by Elixir imports) when the store has it.
pub fn linker(engine: &Engine, wasi: bool, imports: Term) -> Result<Linker<StoreData>> {
    let mut linker = crate::linkers::core(engine, wasi)?;
    define_all(&mut linker, engine, imports)?;
    Ok(linker)
}

pub fn wasi_ctx(data: &mut StoreData) -> &mut wasmtime_wasi::p1::WasiP1Ctx {
    // Only linked when the store was built with WASI, so the empty fallback is never used.
    data.wasi
        .get_or_insert_with(|| wasmtime_wasi::WasiCtxBuilder::new().build_p1())
}
