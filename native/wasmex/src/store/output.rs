//! Guest stdout and stderr that no user pipe takes: a WASI output stream (`Output`) that keeps
//! the last `TAIL` bytes (stderr's tail goes into the error of a call that traps, so a guest's
//! last words reach the caller), optionally passes the bytes on to the BEAM's own stream (the
//! `inherit_*` options), and optionally keeps complete lines for Elixir to send to `Logger`
//! (`log_output: true`; taken with `store_take_output`).
//!
//! Threading: clones share one buffer behind a mutex, taken for a copy only; the guest writes
//! from the thread polling the store, Elixir takes lines from any thread.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// How many of the last bytes written are kept for errors.
pub const TAIL: usize = 4096;
/// How many bytes of lines wait for Elixir at most; older ones are dropped first.
const LOG_MAX: usize = 64 * 1024;

/// Which of the BEAM's streams an `Output` passes its bytes on to.
#[derive(Clone, Copy, PartialEq)]
pub enum Inherit {
    No,
    Stderr,
}

#[derive(Default)]
struct Buffer {
    tail: VecDeque<u8>,
    /// Bytes written since the stream was made (marks for `since`).
    written: u64,
    /// With logging: bytes not yet taken by Elixir.
    pending: Vec<u8>,
}

#[derive(Clone)]
pub struct Output {
    buffer: Arc<Mutex<Buffer>>,
    inherit: Inherit,
    log: bool,
}

impl Output {
    pub fn new(inherit: Inherit, log: bool) -> Self {
        Output {
            buffer: Arc::default(),
            inherit,
            log,
        }
    }

    fn write_bytes(&self, bytes: &[u8]) {
        if let Ok(mut b) = self.buffer.lock() {
            b.written += bytes.len() as u64;
            let keep = bytes.len().min(TAIL);
            let drop = (b.tail.len() + keep).saturating_sub(TAIL);
            b.tail.drain(..drop);
            b.tail.extend(&bytes[bytes.len() - keep..]);
            if self.log {
                b.pending.extend_from_slice(bytes);
                let over = b.pending.len().saturating_sub(LOG_MAX);
                b.pending.drain(..over);
            }
        }
        // The BEAM's own stream, as an inherited stream would write it (errors are ignored).
        let _ = match self.inherit {
            Inherit::No => Ok(()),
            Inherit::Stderr => io::stderr().write_all(bytes),
        };
    }

    /// Whether complete lines are kept for Elixir (`log_output: true`).
    pub fn logs(&self) -> bool {
        self.log
    }

    /// A mark: the count of bytes written so far.
    pub fn mark(&self) -> u64 {
        self.buffer.lock().map(|b| b.written).unwrap_or(0)
    }

    /// What was written since `mark` (at most the last `TAIL` bytes), as text.
    pub fn since(&self, mark: u64) -> String {
        let Ok(b) = self.buffer.lock() else {
            return String::new();
        };
        let n = (b.written.saturating_sub(mark) as usize).min(b.tail.len());
        let bytes: Vec<u8> = b.tail.iter().skip(b.tail.len() - n).copied().collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The complete lines written since the last take (without their line breaks); a partial
    /// last line waits for its end, unless `all`.
    pub fn take_lines(&self, all: bool) -> Vec<String> {
        let Ok(mut b) = self.buffer.lock() else {
            return Vec::new();
        };
        let end = if all {
            b.pending.len()
        } else {
            b.pending
                .iter()
                .rposition(|&c| c == b'\n')
                .map_or(0, |i| i + 1)
        };
        let taken: Vec<u8> = b.pending.drain(..end).collect();
        String::from_utf8_lossy(&taken)
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl IsTerminal for Output {
    fn is_terminal(&self) -> bool {
        false
    }
}

#[async_trait::async_trait]
impl Pollable for Output {
    async fn ready(&mut self) {}
}

impl OutputStream for Output {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.write_bytes(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(1024 * 1024)
    }
}

impl AsyncWrite for Output {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.write_bytes(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl StdoutStream for Output {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
#[path = "output_tests.rs"]
mod tests;
