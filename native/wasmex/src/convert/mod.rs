//! The one conversion layer between Elixir terms and wasm values.
//!
//! `core` converts numbers to and from core-module values (`i32`, `i64`, `f32`, `f64`, `v128`);
//! `component` converts terms to component values against their WIT types and `component_out`
//! converts component values back. Resource positions are filled and read through two hooks,
//! `LowerResource` and `LiftResource` (wasmtime's `Lower`/`Lift` shape), which the component
//! layer implements (`component::resources`), so this layer knows no handle type.
//! Values that do not fit their type are errors, never wrapped. Pure functions over terms of the
//! calling NIF's environment.

pub mod component;
pub mod component_out;
pub mod core;

use rustler::{Env, Term, TermType};
use wasmtime::component::{ResourceAny, ResourceType, Val};

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
