//! Component model values -> Elixir terms.
//!
//! Names from the component's type definitions (record fields, enum and variant cases, flags)
//! become atoms, up to a global cap after which they stay strings, so hostile components cannot
//! fill the atom table. Pure functions over terms of the calling NIF's environment; the cap is a
//! process-wide atomic counter.

use std::sync::atomic::{AtomicUsize, Ordering};

use rustler::{Atom, Encoder, Env, Term};
use wasmtime::component::Val;

/// Most atoms this module will create for names coming out of components.
pub const ATOM_CAP: usize = 100_000;
static ATOMS_CREATED: AtomicUsize = AtomicUsize::new(0);

rustler::atoms! { ok, error, none, some, nil }

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

/// Converts a component value to a term.
pub fn val_to_term<'a>(env: Env<'a>, val: &Val) -> Term<'a> {
    match val {
        Val::Bool(b) => b.encode(env),
        Val::S8(i) => i.encode(env),
        Val::U8(i) => i.encode(env),
        Val::S16(i) => i.encode(env),
        Val::U16(i) => i.encode(env),
        Val::S32(i) => i.encode(env),
        Val::U32(i) => i.encode(env),
        Val::S64(i) => i.encode(env),
        Val::U64(i) => i.encode(env),
        Val::Float32(f) => (*f as f64).encode(env),
        Val::Float64(f) => f.encode(env),
        Val::Char(c) => c.to_string().encode(env),
        Val::String(s) => s.encode(env),
        Val::List(items) | Val::FixedLengthList(items) => items
            .iter()
            .map(|v| val_to_term(env, v))
            .collect::<Vec<_>>()
            .encode(env),
        Val::Tuple(items) => {
            let terms: Vec<Term> = items.iter().map(|v| val_to_term(env, v)).collect();
            rustler::types::tuple::make_tuple(env, &terms)
        }
        Val::Record(fields) => {
            let keys: Vec<Term> = fields.iter().map(|(k, _)| name_term(env, k)).collect();
            let values: Vec<Term> = fields.iter().map(|(_, v)| val_to_term(env, v)).collect();
            Term::map_from_term_arrays(env, &keys, &values).unwrap_or_else(|_| nil().encode(env))
        }
        Val::Map(pairs) => {
            let keys: Vec<Term> = pairs.iter().map(|(k, _)| val_to_term(env, k)).collect();
            let values: Vec<Term> = pairs.iter().map(|(_, v)| val_to_term(env, v)).collect();
            Term::map_from_term_arrays(env, &keys, &values).unwrap_or_else(|_| nil().encode(env))
        }
        Val::Variant(name, None) | Val::Enum(name) => name_term(env, name),
        Val::Variant(name, Some(payload)) => {
            (name_term(env, name), val_to_term(env, payload)).encode(env)
        }
        Val::Option(None) => none().encode(env),
        Val::Option(Some(v)) => (some(), val_to_term(env, v)).encode(env),
        Val::Result(Ok(None)) => ok().encode(env),
        Val::Result(Ok(Some(v))) => (ok(), val_to_term(env, v)).encode(env),
        Val::Result(Err(None)) => error().encode(env),
        Val::Result(Err(Some(v))) => (error(), val_to_term(env, v)).encode(env),
        Val::Flags(names) => {
            let keys: Vec<Term> = names.iter().map(|n| name_term(env, n)).collect();
            let values: Vec<Term> = names.iter().map(|_| true.encode(env)).collect();
            Term::map_from_term_arrays(env, &keys, &values).unwrap_or_else(|_| nil().encode(env))
        }
        Val::Resource(_) | Val::Future(_) | Val::Stream(_) | Val::ErrorContext(_) => {
            "Unsupported type".encode(env)
        }
    }
}
