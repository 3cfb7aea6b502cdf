//! Component model values -> Elixir terms.
//!
//! Resources become terms through the `LiftResource` hook (see `convert`). Non-finite floats
//! become `:nan`, `:infinity` or `:neg_infinity`. Names from the component's type
//! definitions (record fields, enum and variant cases, flags) become atoms, up to a global cap after which they stay strings, so hostile components cannot
//! fill the atom table. Pure functions over terms of the calling NIF's environment; the cap is a
//! process-wide atomic counter.

use std::sync::atomic::{AtomicUsize, Ordering};

use rustler::{Atom, Encoder, Env, Term};
use wasmtime::component::Val;

use super::float_term;
use super::LiftResource;
use crate::atoms::{error, none, ok, some};
use crate::error::{Error, Result};

/// Most atoms this module will create for names coming out of components.
pub const ATOM_CAP: usize = 100_000;
static ATOMS_CREATED: AtomicUsize = AtomicUsize::new(0);

/// A WIT name as an atom (an existing one, or a new one while under the cap), else a binary.
pub fn name_term<'a>(env: Env<'a>, name: &str) -> Term<'a> {
    if let Ok(atom) = Atom::existing_from_utf8_bytes(env, name.as_bytes()) {
        return atom.encode(env);
    }
    if ATOMS_CREATED.fetch_add(1, Ordering::Relaxed) < ATOM_CAP {
        if let Ok(atom) = Atom::from_str(env, name) {
            return atom.encode(env);
        }
    }
    name.encode(env)
}

fn all<'a>(env: Env<'a>, vals: &[Val], out: &dyn LiftResource) -> Result<Vec<Term<'a>>> {
    vals.iter().map(|v| val_to_term(env, v, out)).collect()
}

fn map<'a>(env: Env<'a>, keys: &[Term<'a>], values: &[Term<'a>]) -> Result<Term<'a>> {
    Term::map_from_term_arrays(env, keys, values).map_err(|_| Error::msg("duplicate map keys"))
}

/// A `list<u8>` given as `Val`s as a list of integers, without going through `val_to_term` per
/// element (a mebibyte of bytes is a million elements).
fn bytes<'a>(env: Env<'a>, items: &[Val]) -> Option<Term<'a>> {
    if !matches!(items.first(), Some(Val::U8(_))) {
        return None;
    }
    let raw: Vec<u8> = items
        .iter()
        .map(|v| match v {
            Val::U8(b) => *b,
            _ => 0,
        })
        .collect();
    Some(byte_list(env, &raw))
}

/// Bytes as a list of integers (how 0.15.1 returns a `list<u8>`), built from a table of the 256
/// byte terms.
pub fn byte_list<'a>(env: Env<'a>, raw: &[u8]) -> Term<'a> {
    let table: Vec<Term> = (0..=u8::MAX).map(|b| b.encode(env)).collect();
    let terms: Vec<Term> = raw.iter().map(|b| table[*b as usize]).collect();
    terms.encode(env)
}

/// Roughly how many terms `vals` become (list elements and fields, strings by their bytes / 64),
/// counted only up to `cap`: what choosing a scheduler for the encoding needs.
pub fn weight(vals: &[Val], cap: usize) -> usize {
    let mut total = 0;
    for v in vals {
        if total >= cap {
            break;
        }
        total += match v {
            Val::String(s) => 1 + s.len() / 64,
            Val::List(items) | Val::FixedLengthList(items) | Val::Tuple(items) => {
                1 + weight(items, cap - total)
            }
            Val::Record(fields) => {
                let mut w = 1;
                for (_, f) in fields {
                    w += weight(std::slice::from_ref(f), cap.saturating_sub(total + w));
                }
                w
            }
            Val::Variant(_, Some(p)) | Val::Option(Some(p)) => {
                1 + weight(std::slice::from_ref(&**p), cap - total)
            }
            Val::Result(Ok(Some(p))) | Val::Result(Err(Some(p))) => {
                1 + weight(std::slice::from_ref(&**p), cap - total)
            }
            Val::Map(pairs) => 1 + pairs.len() * 2,
            _ => 1,
        };
    }
    total
}

/// Converts a component value to a term.
pub fn val_to_term<'a>(env: Env<'a>, val: &Val, out: &dyn LiftResource) -> Result<Term<'a>> {
    Ok(match val {
        Val::Bool(b) => b.encode(env),
        Val::S8(i) => i.encode(env),
        Val::U8(i) => i.encode(env),
        Val::S16(i) => i.encode(env),
        Val::U16(i) => i.encode(env),
        Val::S32(i) => i.encode(env),
        Val::U32(i) => i.encode(env),
        Val::S64(i) => i.encode(env),
        Val::U64(i) => i.encode(env),
        Val::Float32(f) => float_term(env, *f as f64),
        Val::Float64(f) => float_term(env, *f),
        Val::Char(c) => c.to_string().encode(env),
        Val::String(s) => s.encode(env),
        Val::List(items) | Val::FixedLengthList(items) => match bytes(env, items) {
            Some(list) => list,
            None => all(env, items, out)?.encode(env),
        },
        Val::Tuple(items) => rustler::types::tuple::make_tuple(env, &all(env, items, out)?),
        Val::Record(fields) => {
            let keys: Vec<Term> = fields.iter().map(|(k, _)| name_term(env, k)).collect();
            let values = fields
                .iter()
                .map(|(_, v)| val_to_term(env, v, out))
                .collect::<Result<Vec<_>>>()?;
            map(env, &keys, &values)?
        }
        Val::Map(pairs) => {
            let keys = pairs
                .iter()
                .map(|(k, _)| val_to_term(env, k, out))
                .collect::<Result<Vec<_>>>()?;
            let values = pairs
                .iter()
                .map(|(_, v)| val_to_term(env, v, out))
                .collect::<Result<Vec<_>>>()?;
            map(env, &keys, &values)?
        }
        Val::Variant(name, None) | Val::Enum(name) => name_term(env, name),
        Val::Variant(name, Some(payload)) => {
            (name_term(env, name), val_to_term(env, payload, out)?).encode(env)
        }
        Val::Option(None) => none().encode(env),
        Val::Option(Some(v)) => (some(), val_to_term(env, v, out)?).encode(env),
        Val::Result(Ok(None)) => ok().encode(env),
        Val::Result(Ok(Some(v))) => (ok(), val_to_term(env, v, out)?).encode(env),
        Val::Result(Err(None)) => error().encode(env),
        Val::Result(Err(Some(v))) => (error(), val_to_term(env, v, out)?).encode(env),
        Val::Flags(names) => {
            let keys: Vec<Term> = names.iter().map(|n| name_term(env, n)).collect();
            let values: Vec<Term> = names.iter().map(|_| true.encode(env)).collect();
            map(env, &keys, &values)?
        }
        Val::Resource(r) => out.lift(env, r)?,
        Val::Future(_) | Val::Stream(_) | Val::ErrorContext(_) => "Unsupported type".encode(env),
    })
}
