//! wasmex: WebAssembly for the BEAM. A Rustler NIF that owns wasmtime and runs core modules and
//! components for supervised Elixir processes. This file is the guide; each file's header says
//! what it owns and its threading rules.
//!
//! # Core concepts
//!
//! An *engine* (`engine`) compiles; a *module* (`module`) or *component* (`component`) is compiled
//! code, immutable and shared. A *store* (`store`) is the one mutable piece: it owns the wasmtime
//! `Store`, and every *instance* (`instance`, `component::instance`), *memory* (`memory`) and guest
//! resource (`component::guest_resource`) is a handle into one store. Elixir imports (`imports`,
//! `component::imports`) are host functions that ask the driving Elixir process to run a function.
//!
//! # How a call is polled
//!
//! A NIF that may run wasm (a call, an instantiation, a resource drop) builds an *operation*: a
//! value of a type implementing `store::op::Op`, owned by its concept, which knows how to run on a
//! store context and how to encode its result. `store::driver::start_op` hands it to
//! `store::exec::start`, which parks its future in the store's slot and polls it with a no-op
//! waker, on the calling scheduler, for at most one time slice (`store::exec::drive`). A short call
//! finishes in that first poll and the NIF answers `{:done, result}`, encoded by the operation's
//! own encoder. Otherwise the NIF answers a step, and the Elixir driver (`Wasmex.Driver`) calls
//! `exec_continue` / `exec_resume` to poll again.
//!
//! # How an import suspends and resumes
//!
//! A host function for an Elixir import leaves a `store::op::Request` in the store's channel
//! (`store::callback::ask_elixir`) and returns `Pending`. The polling NIF answers the request's
//! own encoding (`{:callback, ...}` or `{:component_callback, ...}`); the driver runs the function
//! and calls `exec_resume` with its value, which the request decodes into the host function's
//! results (`Request::decode_reply`); polling continues where the guest stopped.
//!
//! # Nested operations
//!
//! While its Elixir function runs, a host function waits at the channel's inbox
//! (`store::callback`), so the callback can use the store through its caller: memory access,
//! fuel, globals (`store::op::SyncOp`) and even nested calls and instantiations (`Op`). They are
//! sent through the channel and run by the suspended host function on its wasmtime `Caller`;
//! their results come back through the outbox, encoded by their own types.
//!
//! # Timeouts, cancellation, dirty variants
//!
//! A call carries its deadline; every poll checks it, and the epoch ticker (`engine`) makes the
//! guest yield every quarter millisecond so polls stay short. Stopping a call drops its future,
//! which unwinds the guest (`store::exec::abort`); a stopped component call poisons the store's
//! component instances (they then refuse calls with `Error::Unusable`). `*_dirty` NIFs do the
//! same on a dirty CPU scheduler, for calls whose arguments or results are large.
//!
//! Host-side work proportional to its input is chosen by size: memory and pipe copies, export
//! lists and instantiations of large images have `*_dirty` variants (a normal NIF answers
//! `:dirty` when it sees the work is large); large compiles take a permit
//! (`engine::compile_permit`); big stores are dropped on a background thread (`store::slot`).
//! What remains: one bulk instruction (`memory.fill`, `memory.copy`, ...) cannot be interrupted,
//! so it runs to its end within one poll; the store's limits bound it (`store::limits`).
//! Operations nested from import callbacks are limited to `store::exec::MAX_NESTING` levels.
//!
//! # Threading rules
//!
//! * A store is used by one thread at a time: every NIF takes its slot mutex for at most one time
//!   slice; the channel and the host table have their own mutexes, taken only by the thread that
//!   holds the slot, so they are never contended.
//! * The parked future is `Send` and may be polled again on another scheduler thread.
//! * Nothing blocks waiting for Elixir: a waiting import is a parked future, not a blocked thread.
//! * Immutable things (engines, modules, components, caches of them) are shared behind `Arc`s
//!   and short-lived mutexes.
//!
//! # Layers (every dependency points down)
//!
//! 1. ground: `error`, `atoms`, `term`, `engine`, `stacks`, `cache`, `pipe`, `wat_text`,
//!    `convert/`;
//! 2. the store: `store` and `store/` (data, slot, limits, op, exec, callback, driver, wasi,
//!    host_table). It knows no concept: it runs `Op`s and `Request`s it does not look inside;
//! 3. core concepts, flat: `module`, `instance`, `func` (calls), `global`, `memory`, `imports`,
//!    `linker`;
//! 4. components: `component` and `component/`, mirroring the core files.
//!
//! No `use crate::` runs from a lower layer to a higher one, and no import circle spans folders;
//! `tools/layers.sh` checks both.

mod atoms;
mod cache;
mod convert;
mod engine;
mod error;
mod pipe;
mod stacks;
mod term;
mod wat_text;

mod store;

mod func;
mod global;
mod imports;
mod instance;
mod linker;
mod memory;
mod module;

mod component;

rustler::init!("Elixir.Wasmex.Native", load = wat_text::on_load);
