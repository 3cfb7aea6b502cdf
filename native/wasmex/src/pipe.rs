//! In-memory pipes used as WASI stdin, stdout and stderr.
//!
//! A pipe is a byte buffer with one cursor shared by reads and writes, behind an `Arc<Mutex<_>>`:
//! clones handed to a WASI context and the Elixir handle see the same bytes. Any thread may use it;
//! every operation holds the lock only for a copy. Binary-safe: bytes are never decoded as text.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use rustler::{Binary, Env, ResourceArc};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use wasmtime_wasi::cli::{IsTerminal, StdinStream, StdoutStream};
use wasmtime_wasi::p2::{InputStream, OutputStream, Pollable, StreamError, StreamResult};

use crate::engine::to_binary;
use crate::error::{Error, Result};

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
            .map_err(|_| Error::msg("pipe lock poisoned"))?;
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

#[rustler::nif]
fn pipe_read<'a>(env: Env<'a>, pipe: ResourceArc<PipeResource>) -> Result<Binary<'a>> {
    let bytes = pipe.pipe.read_up_to(usize::MAX)?;
    Ok(to_binary(env, &bytes))
}

#[rustler::nif]
fn pipe_write(pipe: ResourceArc<PipeResource>, bytes: Binary) -> Result<usize> {
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
mod tests {
    use super::*;

    /// A simple model of a pipe: one buffer, one cursor.
    fn model_write(data: &mut Vec<u8>, pos: &mut usize, bytes: &[u8]) {
        let end = *pos + bytes.len();
        if end > data.len() {
            data.resize(end, 0);
        }
        data[*pos..end].copy_from_slice(bytes);
        *pos = end;
    }

    #[test]
    fn write_then_read_from_start_round_trips_any_bytes() {
        let pipe = Pipe::default();
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(pipe.write_bytes(&bytes).unwrap(), 256);
        pipe.with(|b| b.pos = 0).unwrap();
        assert_eq!(pipe.read_up_to(usize::MAX).unwrap(), bytes);
        assert!(pipe.read_up_to(10).unwrap().is_empty());
    }

    #[test]
    fn writes_and_seeks_match_the_model() {
        // A deterministic pseudo-random sequence of operations checked against the model.
        let pipe = Pipe::default();
        let (mut data, mut pos) = (Vec::new(), 0usize);
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for step in 0..2_000u64 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            match seed >> 62 {
                0 | 1 => {
                    let len = (seed >> 40) as usize % 17;
                    let bytes: Vec<u8> = (0..len).map(|i| (step as usize + i) as u8).collect();
                    pipe.write_bytes(&bytes).unwrap();
                    model_write(&mut data, &mut pos, &bytes);
                }
                2 => {
                    let to = (seed >> 20) as usize % (data.len() + 5);
                    pipe.with(|b| b.pos = to).unwrap();
                    pos = to;
                }
                _ => {
                    let max = (seed >> 30) as usize % 9;
                    let got = pipe.read_up_to(max).unwrap();
                    let start = pos.min(data.len());
                    let end = (start + max).min(data.len());
                    assert_eq!(got, data[start..end].to_vec(), "step {step}");
                    pos = end;
                }
            }
            assert_eq!(pipe.with(|b| b.data.len()).unwrap(), data.len());
        }
    }

    #[test]
    fn stdin_stream_reports_end_of_input_when_drained() {
        let mut pipe = Pipe::default();
        pipe.write_bytes(b"abc").unwrap();
        pipe.with(|b| b.pos = 0).unwrap();
        let got = InputStream::read(&mut pipe, 2).unwrap();
        assert_eq!(&got[..], b"ab");
        let got = InputStream::read(&mut pipe, 10).unwrap();
        assert_eq!(&got[..], b"c");
        assert!(matches!(
            InputStream::read(&mut pipe, 10),
            Err(StreamError::Closed)
        ));
    }
}
