//! wasmex: WebAssembly for the BEAM. This file only wires the modules; see each one's header for
//! what it owns and its threading rules. `exec` holds the execution model.

mod atoms;
mod cache;
mod channel;
mod component;
mod component_imports;
mod convert;
mod driver;
mod engine;
mod error;
mod exec;
mod fuel;
mod guest_resource;
mod host_resource;
mod imports;
mod instance;
mod linkers;
mod memory;
mod module;
mod ops;
mod pipe;
mod store;
mod wasi;
mod wat_text;
mod wit;

rustler::init!("Elixir.Wasmex.Native", load = wat_text::on_load);
