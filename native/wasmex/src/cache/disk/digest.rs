//! Digests of the disk cache: the SHA-256 of a tag, the length and the SHA-256 of each `CHUNK`
//! of a payload, the chunks hashed on every core (`digest`), and the same digest taken while a
//! payload is copied, in `PIECE`s that stay in a core's cache between reading, hashing and
//! writing (`digest_copying`). The result does not depend on the number of threads. Threading:
//! scoped threads of their own and the calling one.

use sha2::{Digest, Sha256};

use super::{CHUNK, PIECE};

fn chunk_digests(chunks: &[&[u8]]) -> Vec<[u8; 32]> {
    chunks.iter().map(|c| Sha256::digest(c).into()).collect()
}

/// SHA-256 over a tag, the payload's length and the SHA-256 of each `CHUNK` of it; the chunks
/// are hashed on up to as many threads as there are cores, this one included (inline for one
/// chunk). The result
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
            let mut groups = chunks.chunks(per);
            // The first group is hashed on this thread while the others run.
            let first = groups.next().unwrap_or(&[]);
            let spawned: Vec<_> = groups
                .map(|group| {
                    let spawned = std::thread::Builder::new()
                        .name("wasmex-cache-hash".into())
                        .spawn_scoped(scope, move || chunk_digests(group));
                    (group, spawned)
                })
                .collect();
            let mut digests = chunk_digests(first);
            // A group whose thread could not start (or failed) is hashed here.
            for (group, spawned) in spawned {
                match spawned.map(|h| h.join()) {
                    Ok(Ok(group_digests)) => digests.extend(group_digests),
                    _ => digests.extend(chunk_digests(group)),
                }
            }
            digests
        })
    };
    combine(payload.len(), &digests)
}

/// The digest of a payload of `len` chunk digests.
fn combine(len: usize, digests: &[[u8; 32]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"wasmex-chunks-4MiB\0");
    h.update((len as u64).to_le_bytes());
    for chunk_digest in digests {
        h.update(chunk_digest);
    }
    h.finalize().into()
}

/// `digest` of a payload of `len` bytes copied piece by piece (`PIECE`): `read(buf, at)` fills a
/// buffer of the thread's with the payload's bytes from `at`, the piece is hashed (into its
/// chunk's digest) while it is in the CPU's cache, then handed to `write(piece, at)`. On up to as many threads as there are cores,
/// this one included; `None` when a `read` or `write` fails.
pub fn digest_copying(
    len: usize,
    read: impl Fn(&mut [u8], u64) -> bool + Sync,
    write: impl Fn(&[u8], u64) -> bool + Sync,
) -> Option<[u8; 32]> {
    let count = len.div_ceil(CHUNK);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, count.max(1));
    let per = count.div_ceil(threads).max(1);
    let copy = |chunks: std::ops::Range<usize>| -> Option<Vec<[u8; 32]>> {
        let mut buf = vec![0u8; PIECE.min(len)];
        chunks
            .map(|i| {
                let (start, end) = (i * CHUNK, ((i + 1) * CHUNK).min(len));
                let mut h = Sha256::new();
                for at in (start..end).step_by(PIECE) {
                    let piece = &mut buf[..PIECE.min(end - at)];
                    if !read(piece, at as u64) {
                        return None;
                    }
                    h.update(&*piece);
                    if !write(piece, at as u64) {
                        return None;
                    }
                }
                Some(h.finalize().into())
            })
            .collect()
    };
    let copy = &copy;
    let groups: Vec<_> = (0..count)
        .step_by(per)
        .map(|start| start..(start + per).min(count))
        .collect();
    let digests = std::thread::scope(|scope| {
        let spawned: Vec<_> = groups
            .iter()
            .skip(1)
            .map(|group| {
                let chunks = group.clone();
                let thread = std::thread::Builder::new()
                    .name("wasmex-cache-hash".into())
                    .spawn_scoped(scope, move || copy(chunks));
                (group.clone(), thread)
            })
            .collect();
        let mut digests = copy(groups.first().cloned().unwrap_or(0..0))?;
        // A group whose thread could not start (or failed) is copied here.
        for (group, thread) in spawned {
            match thread.map(|h| h.join()) {
                Ok(Ok(group_digests)) => digests.extend(group_digests?),
                _ => digests.extend(copy(group)?),
            }
        }
        Some(digests)
    })?;
    Some(combine(len, &digests))
}
