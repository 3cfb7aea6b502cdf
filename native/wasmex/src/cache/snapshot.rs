//! A sealed private copy of a cache file's payload, for `disk` to verify and wasmtime to map.
//!
//! Loading tens of megabytes of compiled code through `Module::deserialize` copies them into
//! fresh anonymous memory (a page fault per 4 KiB page) after the file was read into a buffer
//! (another copy). A snapshot instead is an anonymous memory file (`memfd_create`) that `disk`
//! writes once, on every core, piece by piece through a small buffer in which it hashes each
//! piece while it is in the CPU's cache; then it is sealed against any change (`F_SEAL_WRITE`,
//! `F_SEAL_SHRINK`, `F_SEAL_GROW`) and wasmtime maps the same memory file by its
//! `/proc/self/fd` name (`deserialize_file`, no copy), so the code that runs is exactly the
//! code that was hashed, whatever later happens to the file on disk (a cache file rewritten,
//! truncated or removed while its code runs changes nothing). Mapping the cache file itself
//! would save the copy but run whatever the file holds when a page is first touched. Linux
//! only, like the crate; `None` whenever a step is refused, and `disk` then reads the file.
//!
//! Threading: a `Snapshot` is a `File` (`Send + Sync`); the sealed memory file cannot change.
//! Dropping it closes this descriptor only: wasmtime holds its own (one per loaded artifact)
//! and its mapping.

use std::fs::File;
use std::os::unix::io::{AsRawFd, FromRawFd};
use std::path::PathBuf;

/// A sealed memory file; wasmtime opens it again by `path`, so it outlives this value.
pub struct Snapshot {
    memfd: File,
}

impl Snapshot {
    /// A sealed memory file of `len` bytes that `write` wrote (with positioned writes);
    /// `None` when `write` answers `false` or a step is refused.
    pub fn write(len: usize, write: impl FnOnce(&File) -> bool) -> Option<Snapshot> {
        if len == 0 {
            return None;
        }
        // SAFETY: a plain system call on a constant name; the result is checked.
        let fd = unsafe {
            libc::memfd_create(
                c"wasmex-cache".as_ptr(),
                libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
            )
        };
        if fd < 0 {
            return None;
        }
        // SAFETY: `fd` is a descriptor just opened and owned by nothing else.
        let memfd = unsafe { File::from_raw_fd(fd) };
        memfd.set_len(len as u64).ok()?;
        if !write(&memfd) {
            return None;
        }
        let seals =
            libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_SEAL;
        // SAFETY: sealing a memory file this function owns, of which no mapping exists.
        if unsafe { libc::fcntl(fd, libc::F_ADD_SEALS, seals) } != 0 {
            return None;
        }
        Some(Snapshot { memfd })
    }

    /// The bytes, read back (for wasmtime's `deserialize` where the path cannot be opened).
    pub fn read(&self) -> Option<Vec<u8>> {
        use std::os::unix::fs::FileExt;
        let len = usize::try_from(self.memfd.metadata().ok()?.len()).ok()?;
        let mut bytes = vec![0u8; len];
        self.memfd.read_exact_at(&mut bytes, 0).ok()?;
        Some(bytes)
    }

    /// A path that opens the memory file again (for wasmtime's `deserialize_file`).
    pub fn path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", self.memfd.as_raw_fd()))
    }
}
