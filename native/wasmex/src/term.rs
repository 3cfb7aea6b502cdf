//! Term helpers every layer uses: terms kept outside any process (`KeptTerm`), new binaries
//! (`to_binary`) and string-keyed maps (`map_entries`).
//!
//! Threading: a `KeptTerm` lives in its own environment behind a mutex, so any thread may load it
//! into the environment of the NIF it runs; the other helpers are pure functions over terms of the
//! calling NIF's environment.

use std::sync::Mutex;

use rustler::env::{OwnedEnv, SavedTerm};
use rustler::{Binary, Env, MapIterator, Term};

use crate::error::{Error, Lock, Result};

/// A term kept outside any process: an Elixir function used as an import, or the value of a
/// host resource (see `component::host_resource`).
pub struct KeptTerm {
    /// The environment holding the term, and the term saved in it.
    saved: Mutex<(OwnedEnv, SavedTerm)>,
}

impl KeptTerm {
    /// Keeps `term` (a term of the calling NIF) for later use.
    pub fn save(term: Term) -> Self {
        let env = OwnedEnv::new();
        let saved = env.save(term);
        KeptTerm {
            saved: Mutex::new((env, saved)),
        }
    }

    /// The term, copied into `env`.
    pub fn load<'a>(&self, env: Env<'a>) -> Result<Term<'a>> {
        let saved = self
            .saved
            .lock()
            .map_err(|_| Error::Poisoned(Lock::ImportFunction))?;
        let (owned, term) = &*saved;
        Ok(owned.run(|own| term.load(own).in_env(env)))
    }
}

/// Copies bytes into a new Elixir binary.
pub fn to_binary<'a>(env: Env<'a>, bytes: &[u8]) -> Binary<'a> {
    let mut bin = rustler::NewBinary::new(env, bytes.len());
    bin.as_mut_slice().copy_from_slice(bytes);
    bin.into()
}

/// The entries of a map with string keys; `what` names the map in errors.
pub fn map_entries<'a>(term: Term<'a>, what: &str) -> Result<Vec<(String, Term<'a>)>> {
    let iter = MapIterator::new(term).ok_or_else(|| Error::msg(format!("{what} must be a map")))?;
    iter.map(|(k, v)| {
        k.decode::<String>()
            .map(|k| (k, v))
            .map_err(|_| Error::msg(format!("the keys of {what} must be strings")))
    })
    .collect()
}
