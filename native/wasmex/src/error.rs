//! The crate's one error type.
//!
//! Every NIF returns `Result<T, Error>`; rustler encodes `Ok(t)` as `{:ok, t}` and `Err(e)` as
//! `{:error, reason}` where `reason` is a binary message or, for the failure kinds we introduce
//! (`:timeout`), an atom. No threading concerns: values are plain data.

use rustler::{Encoder, Env, Term};

use crate::atoms;

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// A human-readable message; encoded as a binary.
    Msg(String),
    /// The call ran past its deadline and was stopped.
    Timeout,
    /// Another process's call occupies the store; the operation did not start. Drivers see it
    /// as the `:busy` step (see `driver::encode_step`); elsewhere it is its text.
    Busy,
    /// A trap or a stopped call broke the store's component instances; the operation did not
    /// start. Drivers see it as `{:unusable, text}`; elsewhere it is its text.
    Unusable,
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
        match self {
            Error::Msg(m) => m.clone(),
            Error::Timeout => "timeout".to_string(),
            Error::Busy => BUSY.to_string(),
            Error::Unusable => UNUSABLE.to_string(),
        }
    }
}

impl From<wasmtime::Error> for Error {
    fn from(e: wasmtime::Error) -> Self {
        Error::Msg(format!("{e:#}"))
    }
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
            Error::Msg(m) => m.encode(env),
            Error::Timeout => atoms::timeout().encode(env),
            Error::Busy => BUSY.encode(env),
            Error::Unusable => UNUSABLE.encode(env),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
