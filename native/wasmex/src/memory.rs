//! Linear memory access from Elixir, through a store or through a running callback's caller.
//!
//! A `MemoryResource` is a handle into one store (made by `instance::memory_from_instance` or
//! given to an import callback). Every access is a synchronous store operation (`SyncOp`, run by
//! `store::exec::sync`): direct on an idle store, or served by the suspended host function while
//! an import callback runs. Bounds are checked; nothing is read or written out of range.
//!
//! Threading: a copy is O(its length), so `Wasmex.Memory` sends reads and writes larger than
//! `Wasmex.Memory`'s dirty threshold (64 KiB) to the `*_dirty` variants, on a dirty CPU
//! scheduler; smaller ones stay on the calling normal scheduler (well under 1 ms).

use rustler::{Binary, Encoder, Env, ResourceArc, Term};
use wasmtime::{Memory, StoreContextMut};

use crate::error::{Error, Result};
use crate::store::data::StoreData;
use crate::store::exec;
use crate::store::op::SyncOp;
use crate::store::Handle;
use crate::term::to_binary;

pub struct MemoryResource {
    pub store_id: u64,
    pub memory: Memory,
}

#[rustler::resource_impl]
impl rustler::Resource for MemoryResource {}

// A panic inside a NIF poisons the locks this resource holds, and later uses report an error.
impl std::panic::RefUnwindSafe for MemoryResource {}

fn handle_for(store_or_caller: Term, memory: &MemoryResource) -> Result<Handle> {
    let handle = Handle::decode(store_or_caller)?;
    if handle.store.id != memory.store_id {
        return Err(Error::ForeignStore("memory"));
    }
    Ok(handle)
}

fn out_of_bounds() -> Error {
    Error::msg("out of bounds memory access")
}

/// The memory's size in bytes.
struct Size(Memory);

impl SyncOp for Size {
    type Out = u64;

    fn run(self, ctx: StoreContextMut<'_, StoreData>) -> Result<u64> {
        Ok(self.0.data_size(&ctx) as u64)
    }
}

/// Grows the memory by some pages; the old size in pages.
struct Grow(Memory, u64);

impl SyncOp for Grow {
    type Out = u64;

    fn run(self, ctx: StoreContextMut<'_, StoreData>) -> Result<u64> {
        let grown = exec::finish_now(self.0.grow_async(ctx, self.1))
            .ok_or_else(|| Error::msg("Failed to grow the memory: the limiter did not answer."))?;
        grown.map_err(|e| Error::Msg(format!("Failed to grow the memory: {e:#}.")))
    }
}

/// Copies `len` bytes at `offset` out of the memory.
struct Read {
    memory: Memory,
    offset: usize,
    len: usize,
}

impl SyncOp for Read {
    type Out = Vec<u8>;

    fn run(self, ctx: StoreContextMut<'_, StoreData>) -> Result<Vec<u8>> {
        let end = self
            .offset
            .checked_add(self.len)
            .ok_or_else(out_of_bounds)?;
        if end > self.memory.data_size(&ctx) {
            return Err(out_of_bounds());
        }
        Ok(self.memory.data(&ctx)[self.offset..end].to_vec())
    }
}

/// Writes bytes at `offset`.
struct Write {
    memory: Memory,
    offset: usize,
    bytes: Vec<u8>,
}

impl SyncOp for Write {
    type Out = ();

    fn run(self, ctx: StoreContextMut<'_, StoreData>) -> Result<()> {
        self.memory
            .write(ctx, self.offset, &self.bytes)
            .map_err(|_| out_of_bounds())
    }
}

#[rustler::nif]
fn memory_size<'a>(
    env: Env<'a>,
    store_or_caller: Term<'a>,
    memory: ResourceArc<MemoryResource>,
) -> Result<Term<'a>> {
    let handle = handle_for(store_or_caller, &memory)?;
    Ok(exec::sync(&handle, Size(memory.memory))?.encode(env))
}

#[rustler::nif]
fn memory_grow<'a>(
    env: Env<'a>,
    store_or_caller: Term<'a>,
    memory: ResourceArc<MemoryResource>,
    pages: u64,
) -> Result<Term<'a>> {
    let handle = handle_for(store_or_caller, &memory)?;
    if handle.caller_id.is_some() {
        return Err(Error::msg("Cannot grow memory from caller"));
    }
    Ok(exec::sync(&handle, Grow(memory.memory, pages))?.encode(env))
}

#[rustler::nif]
fn memory_read_binary<'a>(
    env: Env<'a>,
    store_or_caller: Term<'a>,
    memory: ResourceArc<MemoryResource>,
    index: usize,
    length: usize,
) -> Result<Term<'a>> {
    read_binary(env, store_or_caller, memory, index, length)
}

/// `memory_read_binary` on a dirty CPU scheduler, for large reads.
#[rustler::nif(schedule = "DirtyCpu")]
fn memory_read_binary_dirty<'a>(
    env: Env<'a>,
    store_or_caller: Term<'a>,
    memory: ResourceArc<MemoryResource>,
    index: usize,
    length: usize,
) -> Result<Term<'a>> {
    read_binary(env, store_or_caller, memory, index, length)
}

fn read_binary<'a>(
    env: Env<'a>,
    store_or_caller: Term<'a>,
    memory: ResourceArc<MemoryResource>,
    index: usize,
    length: usize,
) -> Result<Term<'a>> {
    let handle = handle_for(store_or_caller, &memory)?;
    let read = Read {
        memory: memory.memory,
        offset: index,
        len: length,
    };
    let bytes = exec::sync(&handle, read)?;
    Ok(to_binary(env, &bytes).encode(env))
}

#[rustler::nif]
fn memory_write_binary(
    store_or_caller: Term,
    memory: ResourceArc<MemoryResource>,
    index: usize,
    bytes: Binary,
) -> Result<()> {
    write_binary(store_or_caller, memory, index, bytes)
}

/// `memory_write_binary` on a dirty CPU scheduler, for large writes.
#[rustler::nif(schedule = "DirtyCpu")]
fn memory_write_binary_dirty(
    store_or_caller: Term,
    memory: ResourceArc<MemoryResource>,
    index: usize,
    bytes: Binary,
) -> Result<()> {
    write_binary(store_or_caller, memory, index, bytes)
}

fn write_binary(
    store_or_caller: Term,
    memory: ResourceArc<MemoryResource>,
    index: usize,
    bytes: Binary,
) -> Result<()> {
    let handle = handle_for(store_or_caller, &memory)?;
    let write = Write {
        memory: memory.memory,
        offset: index,
        bytes: bytes.as_slice().to_vec(),
    };
    exec::sync(&handle, write)
}
