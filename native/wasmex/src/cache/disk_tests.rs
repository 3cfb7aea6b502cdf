//! Unit tests of `cache::disk` (kept apart from the code).

#![cfg_attr(
    test,
    allow(clippy::unwrap_used, reason = "a failed unwrap fails the test")
)]

use super::*;
use crate::cache::snapshot::Snapshot;

#[test]
fn a_header_verifies_only_for_its_key_length_and_payload() {
    let key = [7u8; 32];
    let file = encode(&key, b"payload");
    assert_eq!(verified(&file, &key), Some(&b"payload"[..]));
    assert_eq!(verified(&file, &[8u8; 32]), None);
    assert_eq!(verified(&file[..file.len() - 1], &key), None);
    assert_eq!(verified(&file[..10], &key), None);
    let mut flipped = file.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    assert_eq!(verified(&flipped, &key), None);
    let mut longer = file;
    longer.push(0);
    assert_eq!(verified(&longer, &key), None);
}

#[test]
fn keys_depend_on_bytes_kind_and_engine_settings() {
    let engine = Engine::default();
    let same = Engine::default();
    let mut config = wasmtime::Config::new();
    config.consume_fuel(true);
    let fueled = Engine::new(&config).unwrap();
    let k = key::<Module>(&engine, b"(module)");
    assert_eq!(k, key::<Module>(&same, b"(module)"));
    assert_ne!(k, key::<Module>(&engine, b"(module $a)"));
    assert_ne!(k, key::<Component>(&engine, b"(module)"));
    assert_ne!(k, key::<Module>(&fueled, b"(module)"));
}

#[test]
fn a_second_compile_reads_the_file_and_a_bad_file_is_rewritten() {
    let dir = std::env::temp_dir().join(format!("wasmex-disk-test-{}", std::process::id()));
    let engine = Engine::default();
    let wat = b"(module (func (export \"f\")))";
    let compile = || Module::new(&engine, wat).map_err(crate::error::Error::from);
    let first: Module = get_or_compile(Some(&dir), &engine, wat, compile).unwrap();
    let path = path_of::<Module>(&dir, &key::<Module>(&engine, wat));
    let written = fs::read(&path).unwrap();
    assert!(verified(&written, &key::<Module>(&engine, wat)).is_some());
    let second: Module =
        get_or_compile(Some(&dir), &engine, wat, || panic!("compiled again")).unwrap();
    assert_eq!(first.exports().count(), second.exports().count());
    fs::write(&path, &written[..written.len() / 2]).unwrap();
    let mut compiled = false;
    let _: Module = get_or_compile(Some(&dir), &engine, wat, || {
        compiled = true;
        compile()
    })
    .unwrap();
    assert!(compiled);
    assert!(verified(&fs::read(&path).unwrap(), &key::<Module>(&engine, wat)).is_some());
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn the_digest_is_the_sha256_of_the_chunks_sha256s() {
    let payload: Vec<u8> = (0..(2 * CHUNK + 17)).map(|i| (i % 251) as u8).collect();
    let mut h = Sha256::new();
    h.update(b"wasmex-chunks-4MiB\0");
    h.update((payload.len() as u64).to_le_bytes());
    for chunk in payload.chunks(CHUNK) {
        h.update(Sha256::digest(chunk));
    }
    let expected: [u8; 32] = h.finalize().into();
    assert_eq!(digest(&payload), expected);
    assert_ne!(digest(&payload[1..]), expected);
    assert_eq!(digest(b""), digest(b""));
}

#[test]
fn keys_depend_on_the_compiler() {
    let mut cranelift = wasmtime::Config::new();
    cranelift.strategy(wasmtime::Strategy::Cranelift);
    let mut winch = wasmtime::Config::new();
    winch.strategy(wasmtime::Strategy::Winch);
    let cranelift = Engine::new(&cranelift).unwrap();
    let winch = Engine::new(&winch).unwrap();
    assert_ne!(
        key::<Module>(&cranelift, b"(module)"),
        key::<Module>(&winch, b"(module)")
    );
    assert_ne!(
        key::<Component>(&cranelift, b"(component)"),
        key::<Component>(&winch, b"(component)")
    );
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wasmex-disk-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_snapshot_holds_what_was_written_and_cannot_be_changed() {
    use std::os::unix::fs::FileExt;
    let snapshot = Snapshot::write(7, |f| f.write_all_at(b"payload", 0).is_ok()).unwrap();
    assert_eq!(fs::read(snapshot.path()).unwrap(), b"payload");
    assert_eq!(snapshot.read().unwrap(), b"payload");
    assert!(
        fs::write(snapshot.path(), b"x").is_err(),
        "the memory file is sealed"
    );
    assert!(Snapshot::write(7, |_| false).is_none());
    assert!(Snapshot::write(0, |_| true).is_none());
}

#[test]
fn digest_copying_is_the_digest_of_what_was_copied() {
    let payload: Vec<u8> = (0..(5 * CHUNK + 17)).map(|i| (i % 251) as u8).collect();
    let copied = Mutex::new(vec![0u8; payload.len()]);
    let at = |at: u64| usize::try_from(at).unwrap();
    let read = |chunk: &mut [u8], from: u64| {
        chunk.copy_from_slice(&payload[at(from)..at(from) + chunk.len()]);
        true
    };
    let write = |chunk: &[u8], to: u64| {
        copied.lock().unwrap()[at(to)..at(to) + chunk.len()].copy_from_slice(chunk);
        true
    };
    assert_eq!(
        digest_copying(payload.len(), read, write),
        Some(digest(&payload))
    );
    assert_eq!(*copied.lock().unwrap(), payload);
    assert_eq!(
        digest_copying(payload.len(), |_, from| from == 0, write),
        None
    );
    assert_eq!(digest_copying(payload.len(), read, |_, to| to == 0), None);
}

#[test]
fn code_loaded_from_a_file_runs_as_verified_after_the_file_changes_in_place() {
    let dir = temp_dir("changed");
    let engine = Engine::default();
    let wat = b"(module (func (export \"f\") (result i32) i32.const 7))";
    let compile = || Module::new(&engine, wat).map_err(crate::error::Error::from);
    let _: Module = get_or_compile(Some(&dir), &engine, wat, compile).unwrap();
    let path = path_of::<Module>(&dir, &key::<Module>(&engine, wat));
    let loaded: Module =
        get_or_compile(Some(&dir), &engine, wat, || panic!("compiled again")).unwrap();
    let mut store = wasmtime::Store::new(&engine, ());
    let instance = wasmtime::Instance::new(&mut store, &loaded, &[]).unwrap();
    let f = instance.get_typed_func::<(), i32>(&mut store, "f").unwrap();
    // Written in place (same inode), not renamed: code mapped from the file itself would see
    // it, and fault on the pages a truncation removes.
    let mut flipped = fs::read(&path).unwrap();
    for byte in &mut flipped[HEADER..] {
        *byte ^= 0xFF;
    }
    let mut file = fs::File::options().write(true).open(&path).unwrap();
    file.write_all(&flipped).unwrap();
    assert_eq!(f.call(&mut store, ()).unwrap(), 7);
    file.set_len(0).unwrap();
    assert_eq!(f.call(&mut store, ()).unwrap(), 7);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn stale_temporary_files_are_swept_and_fresh_ones_kept() {
    let dir = temp_dir("sweep");
    let stale = dir.join(".tmp-1-0-0");
    let fresh = dir.join(".tmp-2-0-0");
    let old_cache_file = dir.join("old.cwasm");
    for path in [&stale, &fresh, &old_cache_file] {
        fs::write(path, b"bytes").unwrap();
    }
    let old = SystemTime::now() - STALE - Duration::from_secs(1);
    for path in [&stale, &old_cache_file] {
        let file = fs::File::options().write(true).open(path).unwrap();
        file.set_modified(old).unwrap();
    }
    sweep(&dir);
    assert!(!stale.exists());
    assert!(fresh.exists());
    assert!(old_cache_file.exists(), "only temporary files are swept");
    let _ = fs::remove_dir_all(&dir);
}
