//! Sweeping a cache directory of the temporary files that crashed writers left (`.tmp-...`,
//! `STALE` old or older): before each write, and at the first lookup of a directory in this VM
//! (`SWEPT`, behind a mutex held only to look a directory up). A live writer keeps its file
//! fresh, so only a writer stalled that long loses its write, never a file.

use std::fs;
use std::path::Path;
use std::time::SystemTime;

use super::{STALE, SWEPT, TMP};

/// Removes the temporary files in `dir` last written `STALE` ago or earlier (crashed writers').
pub fn sweep(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_str().is_some_and(|n| n.starts_with(TMP)) {
            continue;
        }
        let modified = entry.metadata().and_then(|m| m.modified());
        if modified.is_ok_and(|m| now.duration_since(m).unwrap_or_default() >= STALE) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Sweeps `dir` at its first lookup in this VM.
pub(super) fn sweep_once(dir: &Path) {
    let first = SWEPT.lock().is_ok_and(|mut swept| {
        let first = !swept.iter().any(|d| d == dir);
        if first {
            swept.push(dir.to_path_buf());
        }
        first
    });
    if first {
        sweep(dir);
    }
}
