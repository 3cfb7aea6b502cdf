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
}

impl Error {
    pub fn msg(text: impl Into<String>) -> Self {
        Error::Msg(text.into())
    }

    pub fn text(&self) -> String {
        match self {
            Error::Msg(m) => m.clone(),
            Error::Timeout => "timeout".to_string(),
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
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
