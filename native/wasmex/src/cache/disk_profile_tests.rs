//! A stage profile of a cached boot (not a test of behaviour): ignored unless asked for.
//! `make cargo-test ARGS="--ignored cache::disk::profile --nocapture"` with
//! `WASMEX_PROFILE_WASM=path/to/component.wasm`. Prints each stage's time, best of 5.

#![cfg_attr(
    test,
    allow(clippy::unwrap_used, reason = "a failed unwrap fails the profile")
)]

use std::time::Instant;

use super::*;

fn best<T>(label: &str, mut f: impl FnMut() -> T) -> T {
    let mut best = std::time::Duration::MAX;
    let mut out = None;
    for _ in 0..5 {
        let t = Instant::now();
        let v = f();
        best = best.min(t.elapsed());
        out = Some(v);
    }
    eprintln!("{label:<48} {:>9.2} ms", best.as_secs_f64() * 1e3);
    out.unwrap()
}

#[test]
#[ignore = "a profile, run by hand"]
fn profile() {
    use std::hash::BuildHasher;
    let Ok(wasm) = std::env::var("WASMEX_PROFILE_WASM") else {
        eprintln!("set WASMEX_PROFILE_WASM");
        return;
    };
    let dir = std::env::temp_dir().join(format!("wasmex-profile-{}", std::process::id()));
    let engine = Engine::default();
    let source = best("read the source", || fs::read(&wasm).unwrap());
    eprintln!("source: {} bytes", source.len());
    best("siphash of the source (memory cache)", || {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write(&source);
        h.finish()
    });
    best("sha256 of the source, one thread", || {
        Sha256::digest(&source)
    });
    let key = best("key (digest of the source, all cores)", || {
        key::<Component>(&engine, &source)
    });
    let t = Instant::now();
    let compiled = Component::new(&engine, &source).unwrap();
    eprintln!("compile: {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
    let _: Component = get_or_compile(Some(&dir), &engine, &source, || Ok(compiled)).unwrap();
    let path = path_of::<Component>(&dir, &key);
    let size = fs::metadata(&path).unwrap().len();
    eprintln!("cache file: {size} bytes");
    let file = fs::File::open(&path).unwrap();
    let len = usize::try_from(size).unwrap() - HEADER;
    let snapshot = best("snapshot written with one pwrite (one thread)", || {
        use std::os::unix::fs::FileExt;
        let mut buf = vec![0u8; len];
        file.read_exact_at(&mut buf, HEADER as u64).unwrap();
        Snapshot::write(len, |f| f.write_all_at(&buf, 0).is_ok()).unwrap()
    });
    let payload = fs::read(snapshot.path()).unwrap();
    best("sha256 of the payload, one thread", || {
        Sha256::digest(&payload)
    });
    best("digest of the payload, all cores", || digest(&payload));
    best("verified_snapshot (copy + hash, all cores)", || {
        verified_snapshot(&path, &key).unwrap().unwrap()
    });
    best("deserialize_file of the snapshot", || unsafe {
        Component::deserialize_file(&engine, snapshot.path()).unwrap()
    });
    best("sweep the directory", || sweep(&dir));
    best("whole get_or_compile (hit)", || {
        get_or_compile::<Component>(Some(&dir), &engine, &source, || panic!("compiled")).unwrap()
    });
    best("before: read the file into a buffer", || {
        fs::read(&path).unwrap()
    });
    let bytes = fs::read(&path).unwrap();
    best("before: deserialize from the buffer (a copy)", || unsafe {
        Component::deserialize(&engine, &bytes[HEADER..]).unwrap()
    });
    let _ = fs::remove_dir_all(&dir);
}
