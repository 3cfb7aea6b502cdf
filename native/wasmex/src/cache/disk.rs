//! The compiled-code cache on disk: wasmtime's serialized modules and components, one file each.
//!
//! A file's name is its key: the SHA-256 of a format tag, the artifact kind, the digest of the
//! input bytes, the engine's compatibility hash (its compilation settings, which tell Winch from
//! Cranelift, and the wasmtime version), wasmtime's version and the target. A file holds a header (magic, the key again, the
//! payload's digest and length) and the payload, the bytes `serialize` gave. A digest is the
//! SHA-256 of the SHA-256s of 4 MiB chunks (`digest`), so the megabytes of a large component
//! (12 MB of input, 33 MB of code) are hashed on every core.
//!
//! Deserializing runs native code taken from the file, so a file is loaded only when its header
//! verifies first: right magic, right key (a file copied over another's name is refused), right
//! length (a truncated file is refused) and a payload whose hash matches. The payload is hashed
//! while it is copied into a sealed private memory file (`snapshot`, `digest_copying`) that
//! wasmtime then maps without copying it again, so what runs is what was verified. Any failure, and any error of wasmtime's own checks when
//! deserializing, compiles again and rewrites the file. The check guards against corruption and
//! mix-ups, not against someone who may write the directory: the directory must be writable
//! only by those trusted to run code.
//!
//! Threading: `digest` and `digest_copying` work on scoped threads of their own and the
//! calling one (`digest` inline when a thread cannot be spawned). Writers write a temporary file with a unique name (`.tmp-...`) in the
//! same directory and rename it over the final name, so readers on any thread, process or node
//! see a whole file or none. Temporary files a crashed writer left are removed once they are
//! `STALE` old, before each write and at the first lookup in a directory in this VM (`SWEPT`,
//! behind a mutex held only to look a directory up): a live writer writes its file continually,
//! and one stalled that long loses its write (the rename fails), never a file. Errors while
//! reading or writing the cache never fail a compile: the cache is skipped.
//!
//! The digests are computed in `disk/digest.rs`, the sweeping of stale temporary files is in
//! `disk/sweep.rs`; this file keeps the keys, the file format, loading and storing.

use std::fs;
use std::hash::Hasher;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Engine, Module};

use super::snapshot::Snapshot;
use crate::error::Result;

mod digest;
mod sweep;

pub use digest::{digest, digest_copying};
pub use sweep::sweep;
use sweep::sweep_once;

const MAGIC: &[u8; 8] = b"WASMEXC1";
const HEADER: usize = 8 + 32 + 32 + 8;
/// The chunk size of `digest`: part of the file format and of every key.
const CHUNK: usize = 4 << 20;
/// The wasmtime release the crate pins (Cargo.toml); part of every key.
const WASMTIME: &str = "48.0.8";
/// The piece of a chunk `digest_copying` reads, hashes and writes at a time: small enough to
/// stay in a core's L2 cache between the three.
const PIECE: usize = 256 << 10;
/// The prefix of a writer's temporary file.
const TMP: &str = ".tmp-";
/// How old a temporary file must be to be removed as a crashed writer's.
pub const STALE: Duration = Duration::from_secs(10 * 60);
/// The directories swept of stale temporary files at their first lookup in this VM.
static SWEPT: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Something wasmtime compiles and serializes: a core module or a component.
pub trait Artifact: Sized {
    /// The file extension, also part of the key.
    const KIND: &'static str;
    fn serialize(&self) -> wasmtime::Result<Vec<u8>>;
    /// # Safety
    /// `bytes` must come from `serialize` of the same wasmtime build (checked by the header).
    unsafe fn deserialize(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Self>;
    /// # Safety
    /// As `deserialize`, for the file at `path`, which must not change while the result lives.
    unsafe fn deserialize_file(engine: &Engine, path: &Path) -> wasmtime::Result<Self>;
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
    unsafe fn deserialize_file(engine: &Engine, path: &Path) -> wasmtime::Result<Self> {
        // SAFETY: the caller verified the file is this crate's own serialization.
        unsafe { Module::deserialize_file(engine, path) }
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
    unsafe fn deserialize_file(engine: &Engine, path: &Path) -> wasmtime::Result<Self> {
        // SAFETY: the caller verified the file is this crate's own serialization.
        unsafe { Component::deserialize_file(engine, path) }
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

/// The file that holds the artifact of `key` in `dir`.
pub fn path_of<A: Artifact>(dir: &Path, key: &[u8; 32]) -> PathBuf {
    dir.join(format!("{}.{}", hex(key), A::KIND))
}

/// The payload digest a file's `header` records, if the header is for `key` and a payload of
/// `payload_len` bytes.
fn recorded<'h>(header: &'h [u8], key: &[u8; 32], payload_len: u64) -> Option<&'h [u8]> {
    if header.len() < HEADER || &header[..8] != MAGIC || &header[8..40] != key {
        return None;
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&header[72..80]);
    (u64::from_le_bytes(len) == payload_len).then_some(&header[40..72])
}

/// The payload of `file` if its header verifies for `key`, else `None`.
pub fn verified<'f>(file: &'f [u8], key: &[u8; 32]) -> Option<&'f [u8]> {
    let payload = file.get(HEADER..)?;
    let recorded = recorded(file, key, payload.len() as u64)?;
    (digest(payload)[..] == *recorded).then_some(payload)
}

/// The verified payload of the file at `path` for `key`, read into a sealed snapshot and
/// hashed on the way (`Ok(None)`: the file does not verify), or `Err(())` when a snapshot
/// cannot be made.
fn verified_snapshot(path: &Path, key: &[u8; 32]) -> std::result::Result<Option<Snapshot>, ()> {
    use std::os::unix::fs::FileExt;
    let Ok(mut file) = fs::File::open(path) else {
        return Ok(None);
    };
    let mut header = [0u8; HEADER];
    let Ok(size) = file.metadata().map(|m| m.len()) else {
        return Ok(None);
    };
    if size < HEADER as u64 || file.read_exact(&mut header).is_err() {
        return Ok(None);
    }
    let payload_len = size - HEADER as u64;
    let Some(recorded) = recorded(&header, key, payload_len) else {
        return Ok(None);
    };
    let len = usize::try_from(payload_len).map_err(|_| ())?;
    let mut hashed = None;
    let snapshot = Snapshot::write(len, |memfd| {
        hashed = digest_copying(
            len,
            |chunk, at| file.read_exact_at(chunk, HEADER as u64 + at).is_ok(),
            |chunk, at| memfd.write_all_at(chunk, at).is_ok(),
        );
        hashed.is_some()
    });
    match (snapshot, hashed) {
        (Some(snapshot), Some(hashed)) => Ok((hashed[..] == *recorded).then_some(snapshot)),
        _ => Err(()),
    }
}

/// The artifact in the file at `path` if it verifies for `key` and wasmtime accepts it.
fn load<A: Artifact>(engine: &Engine, path: &Path, key: &[u8; 32]) -> Option<A> {
    match verified_snapshot(path, key) {
        // SAFETY: the snapshot holds a payload that hashes to the digest of a header naming
        // this key, so these are the bytes this crate serialized for this input and engine;
        // the snapshot is sealed, so they cannot change while wasmtime maps them.
        Ok(Some(snapshot)) => unsafe { A::deserialize_file(engine, &snapshot.path()) }
            .ok()
            // Where `/proc/self/fd` cannot be opened, wasmtime copies the same sealed bytes.
            .or_else(|| unsafe { A::deserialize(engine, &snapshot.read()?) }.ok()),
        Ok(None) => None,
        Err(()) => {
            let file = fs::read(path).ok()?;
            let payload = verified(&file, key)?;
            // SAFETY: as above; wasmtime copies the verified bytes.
            unsafe { A::deserialize(engine, payload) }.ok()
        }
    }
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
    let nanos = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let tmp = dir.join(format!(
        "{TMP}{}-{}-{}",
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
    sweep_once(dir);
    if let Some(artifact) = load(engine, &path, &key) {
        return Ok(artifact);
    }
    let artifact = compile()?;
    if let Ok(payload) = artifact.serialize() {
        sweep(dir);
        let _ = write_atomically(&path, &encode(&key, &payload));
    }
    Ok(artifact)
}

#[cfg(test)]
#[path = "disk_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "disk_profile_tests.rs"]
mod profile;
