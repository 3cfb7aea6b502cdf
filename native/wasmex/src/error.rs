//! The crate's one error type, with kinds for the failures callers decide on.
//!
//! Every NIF returns `Result<T, Error>`; rustler encodes `Ok(t)` as `{:ok, t}` and `Err(e)` as
//! `{:error, reason}`, where `reason` is the kind's text as a binary (the texts are fixed by the
//! API, byte for byte) or, for `Timeout`, the atom `:timeout`. The drivers turn two kinds into
//! steps of their own (`:busy`, `{:unusable, text}`; see `store::driver`). Two wasmtime failures
//! get a hint naming the settings to raise, found by the error's type, never its text: a full
//! pooling allocator and a memory mapping the kernel refused (`refused_mapping`). No threading
//! concerns: values are plain data.

use std::fmt;

use rustler::{Encoder, Env, Term};

use crate::atoms;

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// A human-readable message; encoded as a binary.
    Msg(String),
    /// The call ran past its deadline and was stopped.
    Timeout,
    /// Another process's call occupies the store; the operation did not start. Drivers see it
    /// as the `:busy` step; elsewhere it is its text.
    Busy,
    /// A trap or a stopped call broke the store's component instances; the operation did not
    /// start. Drivers see it as `{:unusable, text}`; elsewhere it is its text.
    Unusable,
    /// The caller names an import callback that has returned (or was never running).
    CallerGone,
    /// A handle (an instance, a memory) was used with a store it does not belong to.
    ForeignStore(&'static str),
    /// A lock was poisoned by a panic in an earlier NIF.
    Poisoned(Lock),
    /// The guest trapped; the text says where, as the API prints it.
    Trap(String),
    /// A driving NIF found no call parked in the store.
    NoCall,
    /// A store operation stopped before it produced its result.
    Incomplete,
    /// A host function got a reply of the wrong kind (core values for a component import, ...).
    MismatchedReply,
    /// An Elixir import raised, or returned a value its types do not take. Displays as the API's
    /// text (`text`); `import: why` leads the failed call's error (`import_lead`).
    ImportFailed {
        import: String,
        why: String,
        text: String,
    },
}

/// The locks whose poisoning is reported (each with its own text).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lock {
    /// The store's slot or its channel.
    Store,
    /// A kept term (an import function, a host resource's value).
    ImportFunction,
    /// The channel, as a suspended host function sees it.
    Channel,
    /// A store's table of host resource terms.
    HostTable,
    /// The process-wide registry of host resource types.
    HostRegistry,
    /// A pipe's buffer.
    Pipe,
}

/// The text of `Error::Busy`, fixed by the API.
pub const BUSY: &str = "the store is busy with a running call";

/// The text of `Error::Unusable`.
pub const UNUSABLE: &str =
    "Error executing function: the component instance is unusable after a trap or a timeout";

impl Error {
    pub fn msg(text: impl Into<String>) -> Self {
        Error::Msg(text.into())
    }

    pub fn text(&self) -> String {
        self.to_string()
    }

    /// A trap's text with the export that was called named after it (other errors unchanged).
    pub fn in_export(self, name: &str) -> Self {
        match self {
            Error::Trap(t) => Error::Trap(format!("{t}\ncalled export: `{name}`")),
            other => other,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Msg(m) => f.write_str(m),
            Error::Timeout => f.write_str("timeout"),
            Error::Busy => f.write_str(BUSY),
            Error::Unusable => f.write_str(UNUSABLE),
            Error::CallerGone => f.write_str("Caller is no longer valid"),
            Error::ForeignStore(what) => write!(f, "the {what} belongs to another store"),
            Error::Poisoned(lock) => f.write_str(match lock {
                Lock::Store => "the store was poisoned by an earlier panic",
                Lock::ImportFunction => "import function lock poisoned",
                Lock::Channel => "store channel poisoned",
                Lock::HostTable => "host resource table poisoned",
                Lock::HostRegistry => "host resource registry poisoned",
                Lock::Pipe => "pipe lock poisoned",
            }),
            Error::Trap(text) => f.write_str(text),
            Error::NoCall => f.write_str("no call is in progress on this store"),
            Error::Incomplete => f.write_str("store operation did not complete"),
            Error::MismatchedReply => f.write_str("mismatched callback reply"),
            Error::ImportFailed { text, .. } => f.write_str(text),
        }
    }
}

impl std::error::Error for Error {}

/// What leads a failed call's error when an Elixir import failed it: `import: why` and a line
/// break, before the error chain and its wasm backtrace; else nothing.
pub fn import_lead(e: &wasmtime::Error) -> String {
    match e.downcast_ref::<Error>() {
        Some(Error::ImportFailed { import, why, .. }) => format!("{import}: {why}\n"),
        _ => String::new(),
    }
}

impl From<wasmtime::Error> for Error {
    fn from(e: wasmtime::Error) -> Self {
        if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
            .is_some()
        {
            return Error::Msg(format!(
                "{e:#}: the engine's pooling allocator is full (raise `instances`, \
                 `core_instances`, `memories` or `tables` in Wasmex.EngineConfig.pooling/2)"
            ));
        }
        Error::Msg(format!("{e:#}{}", mapping_hint(&e)))
    }
}

/// What a failure to map memory adds to its error: the settings that raise the limits it hit.
pub const REFUSED_MAPPING: &str = "the kernel refused a memory mapping (ENOMEM): raise the \
     mapping count limit (sysctl vm.max_map_count) or the address space limit (ulimit -v), or \
     reserve less per linear memory (Wasmex.EngineConfig.memory/2)";

/// What follows the text of a failed operation: `": " + REFUSED_MAPPING` when the kernel
/// refused one of its memory mappings (`refused_mapping`), else nothing.
pub fn mapping_hint(e: &wasmtime::Error) -> String {
    if refused_mapping(e) {
        format!(": {REFUSED_MAPPING}")
    } else {
        String::new()
    }
}

/// Whether `e` comes from a memory mapping the kernel refused (`ENOMEM` from mmap or mprotect:
/// past `vm.max_map_count` or the address space). Found by the error's type and errno: wasmtime
/// maps with rustix, whose `Errno` it keeps in the chain; `std::io::Error`s are checked too.
pub fn refused_mapping(e: &wasmtime::Error) -> bool {
    e.downcast_ref::<rustix::io::Errno>()
        .is_some_and(|n| *n == rustix::io::Errno::NOMEM)
        || e.chain().any(|cause| {
            cause
                .downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::raw_os_error)
                == Some(libc::ENOMEM)
        })
}

impl From<String> for Error {
    fn from(s: String) -> Self {
        Error::Msg(s)
    }
}

impl From<&str> for Error {
    fn from(s: &str) -> Self {
        Error::Msg(s.to_string())
    }
}

impl Encoder for Error {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        match self {
            Error::Timeout => atoms::timeout().encode(env),
            Error::Msg(m) => m.encode(env),
            other => other.to_string().encode(env),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
