//! Unit tests of `cache::disk` (kept apart from the code).

#![cfg_attr(
    test,
    allow(clippy::unwrap_used, reason = "a failed unwrap fails the test")
)]

use super::*;

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
