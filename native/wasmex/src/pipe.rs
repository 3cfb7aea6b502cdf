//! In-memory pipes used as WASI stdin, stdout and stderr.
//!
//! A pipe is a byte buffer with one cursor shared by reads and writes, behind an `Arc<Mutex<_>>`:
//! clones handed to a WASI context and the Elixir handle see the same bytes. Any thread may use it;
//! every operation holds the lock only for a copy. Binary-safe: bytes are never decoded as text.
//!
//! A copy is O(its length): `pipe_read` on a normal scheduler answers `{:ok, :dirty}` instead of copying
//! more than `DIRTY_BYTES`, and `Wasmex.Pipe` then calls `pipe_read_dirty`; large writes go to
//! `pipe_write_dirty` directly (Elixir knows their size).

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use rustler::{Binary, Encoder, Env, ResourceArc, Term};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use wasmtime_wasi::cli::{IsTerminal, StdinStream, StdoutStream};
use wasmtime_wasi::p2::{InputStream, OutputStream, Pollable, StreamError, StreamResult};

use crate::atoms;
use crate::error::{Error, Lock, Result};
use crate::term::to_binary;

#[derive(Default)]
struct Buffer {
    data: Vec<u8>,
    pos: usize,
}

#[derive(Clone, Default)]
pub struct Pipe {
    buffer: Arc<Mutex<Buffer>>,
}

impl Pipe {
    fn with<R>(&self, f: impl FnOnce(&mut Buffer) -> R) -> Result<R> {
        let mut guard = self
            .buffer
            .lock()
            .map_err(|_| Error::Poisoned(Lock::Pipe))?;
        Ok(f(&mut guard))
    }

    fn write_bytes(&self, bytes: &[u8]) -> Result<usize> {
        self.with(|b| {
            let end = b.pos + bytes.len();
            if end > b.data.len() {
                b.data.resize(end, 0);
            }
            b.data[b.pos..end].copy_from_slice(bytes);
            b.pos = end;
            bytes.len()
        })
    }

    fn read_up_to(&self, max: usize) -> Result<Vec<u8>> {
        self.with(|b| {
            let start = b.pos.min(b.data.len());
            let end = start.saturating_add(max).min(b.data.len());
            b.pos = end;
            b.data[start..end].to_vec()
        })
    }
}

pub struct PipeResource {
    pub pipe: Pipe,
}

#[rustler::resource_impl]
impl rustler::Resource for PipeResource {}

// A panic inside a NIF poisons the locks this resource holds, and later uses report an error.
impl std::panic::RefUnwindSafe for PipeResource {}

#[rustler::nif]
fn pipe_new() -> Result<ResourceArc<PipeResource>> {
    Ok(ResourceArc::new(PipeResource {
        pipe: Pipe::default(),
    }))
}

#[rustler::nif]
fn pipe_size(pipe: ResourceArc<PipeResource>) -> Result<usize> {
    pipe.pipe.with(|b| b.data.len())
}

#[rustler::nif]
fn pipe_seek(pipe: ResourceArc<PipeResource>, pos: usize) -> Result<()> {
    pipe.pipe.with(|b| b.pos = pos)
}

/// The largest copy a pipe NIF makes on a normal scheduler (as `Wasmex.Utils.dirty_size?/1`).
const DIRTY_BYTES: usize = 65_536;

/// Reads to the end, or answers `:dirty` when that is more than `DIRTY_BYTES`.
#[rustler::nif]
fn pipe_read<'a>(env: Env<'a>, pipe: ResourceArc<PipeResource>) -> Result<Term<'a>> {
    let left = pipe.pipe.with(|b| b.data.len().saturating_sub(b.pos))?;
    if left > DIRTY_BYTES {
        return Ok(atoms::dirty().encode(env));
    }
    read_all(env, &pipe)
}

/// `pipe_read` of any size, on a dirty CPU scheduler.
#[rustler::nif(schedule = "DirtyCpu")]
fn pipe_read_dirty<'a>(env: Env<'a>, pipe: ResourceArc<PipeResource>) -> Result<Term<'a>> {
    read_all(env, &pipe)
}

fn read_all<'a>(env: Env<'a>, pipe: &PipeResource) -> Result<Term<'a>> {
    let bytes = pipe.pipe.read_up_to(usize::MAX)?;
    Ok(to_binary(env, &bytes).encode(env))
}

#[rustler::nif]
fn pipe_write(pipe: ResourceArc<PipeResource>, bytes: Binary) -> Result<usize> {
    pipe.pipe.write_bytes(bytes.as_slice())
}

/// `pipe_write` on a dirty CPU scheduler, for large writes.
#[rustler::nif(schedule = "DirtyCpu")]
fn pipe_write_dirty(pipe: ResourceArc<PipeResource>, bytes: Binary) -> Result<usize> {
    pipe.pipe.write_bytes(bytes.as_slice())
}

fn io_err(e: Error) -> io::Error {
    io::Error::other(e.text())
}

impl IsTerminal for Pipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

#[async_trait::async_trait]
impl Pollable for Pipe {
    async fn ready(&mut self) {}
}

impl InputStream for Pipe {
    fn read(&mut self, size: usize) -> StreamResult<Bytes> {
        let bytes = self
            .read_up_to(size)
            .map_err(|e| StreamError::trap(&e.text()))?;
        if bytes.is_empty() && size > 0 {
            return Err(StreamError::Closed);
        }
        Ok(Bytes::from(bytes))
    }
}

impl OutputStream for Pipe {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.write_bytes(&bytes)
            .map(|_| ())
            .map_err(|e| StreamError::trap(&e.text()))
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(1024 * 1024)
    }
}

impl AsyncRead for Pipe {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let bytes = self.read_up_to(buf.remaining()).map_err(io_err)?;
        buf.put_slice(&bytes);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Pipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(self.write_bytes(buf).map_err(io_err))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl StdinStream for Pipe {
    fn async_stream(&self) -> Box<dyn AsyncRead + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn InputStream> {
        Box::new(self.clone())
    }
}

impl StdoutStream for Pipe {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
#[path = "pipe_tests.rs"]
mod tests;
