//! The one conversion layer between Elixir terms and wasm values.
//!
//! `core` converts numbers to and from core-module values (`i32`, `i64`, `f32`, `f64`, `v128`);
//! `component` converts terms to component values against their WIT types and `component_out`
//! converts component values back; `resources` fills and reads resource positions in both.
//! Values that do not fit their type are errors, never wrapped. Pure functions over terms of the calling NIF's environment.

pub mod component;
pub mod component_out;
pub mod core;
pub mod resources;

use rustler::{Term, TermType};

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
