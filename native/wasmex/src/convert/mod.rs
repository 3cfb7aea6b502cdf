//! The one conversion layer between Elixir terms and wasm values.
//!
//! `core` converts numbers to and from core-module values (`i32`, `i64`, `f32`, `f64`, `v128`);
//! `component` converts terms to component values against their WIT types and `component_out`
//! converts component values back. Resource positions are filled and read through two hooks,
//! `LowerResource` and `LiftResource` (wasmtime's `Lower`/`Lift` shape), which the component
//! layer implements (`component::resources`), so this layer knows no handle type.
//! Values that do not fit their type are errors, never wrapped. Non-finite floats are the atoms
//! `:nan`, `:infinity` and `:neg_infinity` both ways (`float_term` / `special_float`); a NaN's
//! payload and sign bits are not kept. Pure functions over terms of the calling NIF's environment.

pub mod component;
pub mod component_out;
pub mod core;
pub mod describe;

use rustler::{Atom, Encoder, Env, Term, TermType};
use wasmtime::component::{ResourceAny, ResourceType, Type, Val};

use crate::atoms::{infinity, nan, neg_infinity};
use crate::error::Result;

/// Fills an `own<T>` (`owned`) or `borrow<T>` position of resource type `rt` from a term.
pub trait LowerResource {
    /// The value for `term`; the error is the message, without the path (the caller adds it).
    fn lower(
        &mut self,
        term: Term,
        rt: &ResourceType,
        owned: bool,
    ) -> std::result::Result<Val, String>;
}

/// Turns a resource value into a term.
pub trait LiftResource {
    fn lift<'a>(&self, env: Env<'a>, r: &ResourceAny) -> Result<Term<'a>>;
}

/// A float as a term: a float when finite, else `:nan`, `:infinity` or `:neg_infinity` (the BEAM
/// has no non-finite floats).
pub fn float_term(env: Env<'_>, f: f64) -> Term<'_> {
    if f.is_nan() {
        nan().encode(env)
    } else if f == f64::INFINITY {
        infinity().encode(env)
    } else if f == f64::NEG_INFINITY {
        neg_infinity().encode(env)
    } else {
        f.encode(env)
    }
}

/// The value of `:nan`, `:infinity` or `:neg_infinity`; `None` for any other term.
pub fn special_float(term: Term) -> Option<f64> {
    let atom = term.decode::<Atom>().ok()?;
    if atom == nan() {
        Some(f64::NAN)
    } else if atom == infinity() {
        Some(f64::INFINITY)
    } else if atom == neg_infinity() {
        Some(f64::NEG_INFINITY)
    } else {
        None
    }
}

/// The kind of a term, as error messages name it (`Atom`, `Binary`, ...).
pub fn term_kind(term: Term) -> &'static str {
    match term.get_type() {
        TermType::Atom => "Atom",
        TermType::Binary => "Binary",
        TermType::Fun => "Fun",
        TermType::List => "List",
        TermType::Map => "Map",
        TermType::Integer => "Integer",
        TermType::Float => "Float",
        TermType::Pid => "Pid",
        TermType::Port => "Port",
        TermType::Ref => "Ref",
        TermType::Tuple => "Tuple",
        TermType::Unknown => "Unknown",
    }
}

/// The elements of a proper list; `None` for any other term. Improper lists (`[1 | 2]`) are
/// `None` too: rustler's own list decoders panic on them, so NIF arguments that take a list are
/// decoded here.
pub fn list_items(term: Term) -> Option<Vec<Term>> {
    let mut items = Vec::with_capacity(term.list_length().unwrap_or(0));
    let mut rest = term;
    while !rest.is_empty_list() {
        let (head, tail) = rest.list_get_cell().ok()?;
        items.push(head);
        rest = tail;
    }
    Some(items)
}

/// A name given as a binary: `Ok` with the text when it is UTF-8, else `Err` with the bytes shown
/// lossily (such a name matches no export, and error messages can still show it). `Err(None)`
/// when the term is not a binary at all.
pub fn name_arg(term: Term) -> std::result::Result<String, Option<String>> {
    name_ref(term).map(str::to_string)
}

/// `name_arg` without the copy: the name borrowed from the term's bytes.
pub fn name_ref<'a>(term: Term<'a>) -> std::result::Result<&'a str, Option<String>> {
    let bin = rustler::Binary::from_term(term).map_err(|_| None)?;
    let bytes: &'a [u8] = bin.as_slice();
    std::str::from_utf8(bytes).map_err(|_| Some(String::from_utf8_lossy(bytes).into_owned()))
}

/// Decodes `term` with its derived decoder after checking that it holds no improper list (the
/// derived list decoders panic on those) within a few levels; `what` names it in the error.
pub fn decode_checked<'a, T: rustler::Decoder<'a>>(
    term: Term<'a>,
    what: &str,
) -> crate::error::Result<T> {
    let invalid = || crate::error::Error::msg(format!("invalid {what}"));
    if !lists_proper(term, 8) {
        return Err(invalid());
    }
    term.decode().map_err(|_| invalid())
}

fn lists_proper(term: Term, depth: usize) -> bool {
    let inner = |t: &Term| depth > 0 && lists_proper(*t, depth - 1);
    match term.get_type() {
        TermType::List => list_items(term).is_some_and(|items| items.iter().all(inner)),
        TermType::Map => rustler::MapIterator::new(term)
            .is_some_and(|mut it| it.all(|(k, v)| inner(&k) && inner(&v))),
        TermType::Tuple => {
            rustler::types::tuple::get_tuple(term).is_ok_and(|items| items.iter().all(inner))
        }
        _ => true,
    }
}

/// The name of a WIT type as error messages spell it (`U8`, `Record`, ...), the counterpart of
/// `term_kind`.
pub fn type_label(ty: &Type) -> &'static str {
    match ty {
        Type::Bool => "Bool",
        Type::S8 => "S8",
        Type::U8 => "U8",
        Type::S16 => "S16",
        Type::U16 => "U16",
        Type::S32 => "S32",
        Type::U32 => "U32",
        Type::S64 => "S64",
        Type::U64 => "U64",
        Type::Float32 => "Float32",
        Type::Float64 => "Float64",
        Type::Char => "Char",
        Type::String => "String",
        Type::List(_) => "List",
        Type::Map(_) => "Map",
        Type::Record(_) => "Record",
        Type::Tuple(_) => "Tuple",
        Type::Variant(_) => "Variant",
        Type::Enum(_) => "Enum",
        Type::Option(_) => "Option",
        Type::Result(_) => "Result",
        Type::Flags(_) => "Flags",
        Type::Own(_) | Type::Borrow(_) => "Resource",
        Type::Future(_) => "Future",
        Type::Stream(_) => "Stream",
        Type::ErrorContext => "ErrorContext",
        Type::FixedLengthList(_) => "FixedLengthList",
    }
}
