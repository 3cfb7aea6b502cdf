//! Linear memory access from Elixir, through a store or through a running callback's caller.
//!
//! A `MemoryResource` is a handle into one store. Every access is a synchronous store operation
//! (`exec::sync`): direct on an idle store, or served by the suspended host function while an
//! import callback runs. Bounds are checked; nothing is read or written out of range.

use rustler::{Binary, Env, ResourceArc, Term};

use crate::driver::encode_output;
use crate::error::{Error, Result};
use crate::exec;
use crate::instance::InstanceResource;
use crate::ops::{Output, SyncOp};
use crate::store::Handle;

pub struct MemoryResource {
    pub store_id: u64,
    pub memory: wasmtime::Memory,
}

#[rustler::resource_impl]
impl rustler::Resource for MemoryResource {}

// A panic inside a NIF poisons the locks this resource holds, and later uses report an error.
impl std::panic::RefUnwindSafe for MemoryResource {}

fn handle_for(store_or_caller: Term, memory: &MemoryResource) -> Result<Handle> {
    let handle = Handle::decode(store_or_caller)?;
    if handle.store.id != memory.store_id {
        return Err(Error::msg("the memory belongs to another store"));
    }
    Ok(handle)
}

#[rustler::nif]
fn memory_from_instance(
    store_or_caller: Term,
    instance: ResourceArc<InstanceResource>,
) -> Result<ResourceArc<MemoryResource>> {
    let handle = Handle::decode(store_or_caller)?;
    instance.check_store(&handle)?;
    let memory = instance
        .first_memory()
        .ok_or_else(|| Error::msg("The WebAssembly module has no exported memory."))?;
    Ok(ResourceArc::new(MemoryResource {
        store_id: instance.store_id,
        memory,
    }))
}

fn run<'a>(
    env: Env<'a>,
    store_or_caller: Term<'a>,
    memory: &MemoryResource,
    op: SyncOp,
) -> Result<Term<'a>> {
    let handle = handle_for(store_or_caller, memory)?;
    let out = exec::sync(&handle, op)?;
    encode_output(env, &handle, out)
}

#[rustler::nif]
fn memory_size<'a>(
    env: Env<'a>,
    store_or_caller: Term<'a>,
    memory: ResourceArc<MemoryResource>,
) -> Result<Term<'a>> {
    run(
        env,
        store_or_caller,
        &memory,
        SyncOp::MemSize(memory.memory),
    )
}

#[rustler::nif]
fn memory_grow<'a>(
    env: Env<'a>,
    store_or_caller: Term<'a>,
    memory: ResourceArc<MemoryResource>,
    pages: u64,
) -> Result<Term<'a>> {
    if handle_for(store_or_caller, &memory)?.caller_id.is_some() {
        return Err(Error::msg("Cannot grow memory from caller"));
    }
    run(
        env,
        store_or_caller,
        &memory,
        SyncOp::MemGrow(memory.memory, pages),
    )
}

#[rustler::nif]
fn memory_read_binary<'a>(
    env: Env<'a>,
    store_or_caller: Term<'a>,
    memory: ResourceArc<MemoryResource>,
    index: usize,
    length: usize,
) -> Result<Term<'a>> {
    run(
        env,
        store_or_caller,
        &memory,
        SyncOp::Read(memory.memory, index, length),
    )
}

#[rustler::nif]
fn memory_write_binary(
    store_or_caller: Term,
    memory: ResourceArc<MemoryResource>,
    index: usize,
    bytes: Binary,
) -> Result<()> {
    let handle = handle_for(store_or_caller, &memory)?;
    match exec::sync(
        &handle,
        SyncOp::Write(memory.memory, index, bytes.as_slice().to_vec()),
    )? {
        Output::Unit => Ok(()),
        _ => Err(Error::msg("unexpected store answer")),
    }
}
