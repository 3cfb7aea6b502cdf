//! The one conversion layer between Elixir terms and wasm values.
//!
//! `core` converts numbers to and from core-module values (`i32`, `i64`, `f32`, `f64`, `v128`) with
//! range checks (a value that does not fit its type is an error, never wrapped). Pure functions over
//! terms of the calling NIF's environment; no shared state.

pub mod component;
pub mod component_out;
pub mod core;
