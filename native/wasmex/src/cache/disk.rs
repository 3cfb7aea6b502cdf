//! The compiled-code cache on disk: wasmtime's serialized modules and components, one file each.
//!
//! A file's name is its key: the SHA-256 of a format tag, the artifact kind, the digest of the
//! input bytes, the engine's compatibility hash (its compilation settings, which tell Winch from
//! Cranelift, and the wasmtime version), wasmtime's version and the target. A file holds a
//! header (magic, the key again, the payload's digest and length) and the payload, the bytes
//! `serialize` gave. A digest is the SHA-256 of the SHA-256s of 4 MiB chunks (`digest`), so the
//! megabytes of a large component (12 MB of input, 40 MB of code) are hashed on every core.
//!
//! Deserializing runs native code taken from the file, so a file is loaded only when its header
//! verifies first: right magic, right key (a file copied over another's name is refused), right
//! length (a truncated file is refused) and a payload whose hash matches. Any failure, and any
//! error of wasmtime's own checks when deserializing, compiles again and rewrites the file. The
//! check guards against corruption and mix-ups, not against someone who may write the directory:
//! the directory must be writable only by those trusted to run code.
//!
//! Threading: no shared state; `digest` hashes chunks on scoped threads of its own (or
//! inline when a thread cannot be spawned). Writers write a temporary file with a unique name in the same
//! directory and rename it over the final name, so readers on any thread, process or node see a
//! whole file or none. Errors while reading or writing the cache never fail a compile: the cache
//! is skipped.

use std::fs;
use std::hash::Hasher;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Engine, Module};

use crate::error::Result;

const MAGIC: &[u8; 8] = b"WASMEXC1";
const HEADER: usize = 8 + 32 + 32 + 8;
/// The chunk size of `digest`: part of the file format and of every key.
const CHUNK: usize = 4 << 20;
/// The wasmtime release the crate pins (Cargo.toml); part of every key.
const WASMTIME: &str = "48.0.8";

/// Something wasmtime compiles and serializes: a core module or a component.
pub trait Artifact: Sized {
    /// The file extension, also part of the key.
    const KIND: &'static str;
    fn serialize(&self) -> wasmtime::Result<Vec<u8>>;
    /// # Safety
    /// `bytes` must come from `serialize` of the same wasmtime build (checked by the header).
    unsafe fn deserialize(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Self>;
}

impl Artifact for Module {
    const KIND: &'static str = "cwasm";
    fn serialize(&self) -> wasmtime::Result<Vec<u8>> {
        Module::serialize(self)
    }
    unsafe fn deserialize(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Self> {
        // SAFETY: the caller verified the bytes are this crate's own serialization.
        unsafe { Module::deserialize(engine, bytes) }
    }
}

impl Artifact for Component {
    const KIND: &'static str = "ccwasm";
    fn serialize(&self) -> wasmtime::Result<Vec<u8>> {
        Component::serialize(self)
    }
    unsafe fn deserialize(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Self> {
        // SAFETY: the caller verified the bytes are this crate's own serialization.
        unsafe { Component::deserialize(engine, bytes) }
    }
}

/// Feeds `Hash` output into SHA-256, so the engine's compatibility hash is stable across runs.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// The key of `bytes` compiled as `A` by `engine`.
pub fn key<A: Artifact>(engine: &Engine, bytes: &[u8]) -> [u8; 32] {
    let mut h = ShaHasher(Sha256::new());
    h.write(b"wasmex-cache-1\0");
    h.write(A::KIND.as_bytes());
    h.write(&digest(bytes));
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut h);
    h.write(WASMTIME.as_bytes());
    h.write(std::env::consts::ARCH.as_bytes());
    h.write(std::env::consts::OS.as_bytes());
    h.0.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn chunk_digests(chunks: &[&[u8]]) -> Vec<[u8; 32]> {
    chunks.iter().map(|c| Sha256::digest(c).into()).collect()
}

/// SHA-256 over a tag, the payload's length and the SHA-256 of each `CHUNK` of it; the chunks
/// are hashed on up to as many threads as there are cores (inline for one chunk). The result
/// does not depend on the number of threads.
pub fn digest(payload: &[u8]) -> [u8; 32] {
    let chunks: Vec<&[u8]> = payload.chunks(CHUNK).collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, chunks.len().max(1));
    let per = chunks.len().div_ceil(threads).max(1);
    let digests: Vec<[u8; 32]> = if threads == 1 {
        chunk_digests(&chunks)
    } else {
        std::thread::scope(|scope| {
            let groups: Vec<_> = chunks
                .chunks(per)
                .map(|group| {
                    let spawned = std::thread::Builder::new()
                        .name("wasmex-cache-hash".into())
                        .spawn_scoped(scope, move || chunk_digests(group));
                    (group, spawned)
                })
                .collect();
            // A group whose thread could not start (or failed) is hashed here.
            groups
                .into_iter()
                .flat_map(|(group, spawned)| match spawned.map(|h| h.join()) {
                    Ok(Ok(digests)) => digests,
                    _ => chunk_digests(group),
                })
                .collect()
        })
    };
    let mut h = Sha256::new();
    h.update(b"wasmex-chunks-4MiB\0");
    h.update((payload.len() as u64).to_le_bytes());
    for chunk_digest in &digests {
        h.update(chunk_digest);
    }
    h.finalize().into()
}

/// The file that holds the artifact of `key` in `dir`.
pub fn path_of<A: Artifact>(dir: &Path, key: &[u8; 32]) -> PathBuf {
    dir.join(format!("{}.{}", hex(key), A::KIND))
}

/// The payload of `file` if its header verifies for `key`, else `None`.
pub fn verified<'f>(file: &'f [u8], key: &[u8; 32]) -> Option<&'f [u8]> {
    if file.len() < HEADER || &file[..8] != MAGIC || &file[8..40] != key {
        return None;
    }
    let recorded = &file[40..72];
    let mut len = [0u8; 8];
    len.copy_from_slice(&file[72..80]);
    let payload = &file[HEADER..];
    if u64::from_le_bytes(len) != payload.len() as u64 || digest(payload)[..] != *recorded {
        return None;
    }
    Some(payload)
}

/// A cache file's contents: the header for `key` and `payload`.
pub fn encode(key: &[u8; 32], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(key);
    out.extend_from_slice(&digest(payload));
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Writes `contents` to `path` through a temporary file in the same directory and a rename.
fn write_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let tmp = dir.join(format!(
        ".tmp-{}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    ));
    let written = fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(contents)?;
        f.sync_all()
    });
    match written.and_then(|()| fs::rename(&tmp, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// The artifact for `bytes` from `dir` when a verified file is there, else `compile()`'s
/// (then written to `dir`). Without a directory, just `compile()`.
pub fn get_or_compile<A: Artifact>(
    dir: Option<&Path>,
    engine: &Engine,
    bytes: &[u8],
    compile: impl FnOnce() -> Result<A>,
) -> Result<A> {
    let Some(dir) = dir else {
        return compile();
    };
    let key = key::<A>(engine, bytes);
    let path = path_of::<A>(dir, &key);
    if let Ok(file) = fs::read(&path) {
        if let Some(payload) = verified(&file, &key) {
            // SAFETY: the header names this key and the payload hashes to the header's digest,
            // so these are the bytes this crate serialized for this input and engine.
            if let Ok(artifact) = unsafe { A::deserialize(engine, payload) } {
                return Ok(artifact);
            }
        }
    }
    let artifact = compile()?;
    if let Ok(payload) = artifact.serialize() {
        let _ = write_atomically(&path, &encode(&key, &payload));
    }
    Ok(artifact)
}

#[cfg(test)]
#[path = "disk_tests.rs"]
mod tests;
