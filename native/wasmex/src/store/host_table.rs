//! The store's table of host resource terms: the Elixir values behind the host resources a
//! store's guests hold, by `rep` (see `component::host_resource` for what a host resource is).
//!
//! Threading: behind its own mutex, touched by host functions (on the thread polling the store)
//! and by `exec_resume` (holding the store's slot lock), so never contended.

use std::sync::{Arc, Mutex, MutexGuard};

use rustler::Term;

use crate::error::{Error, Lock};
use crate::term::KeptTerm;

/// The terms behind the host resources of one store, by `rep`.
#[derive(Default)]
pub struct HostTable {
    entries: Vec<Option<Arc<KeptTerm>>>,
    free: Vec<u32>,
}

impl HostTable {
    /// Keeps `term` and returns its `rep`.
    pub fn insert(&mut self, term: Term) -> u32 {
        let kept = Some(Arc::new(KeptTerm::save(term)));
        match self.free.pop() {
            Some(rep) => {
                self.entries[rep as usize] = kept;
                rep
            }
            None => {
                self.entries.push(kept);
                (self.entries.len() - 1) as u32
            }
        }
    }

    pub fn get(&self, rep: u32) -> Option<Arc<KeptTerm>> {
        self.entries.get(rep as usize).cloned().flatten()
    }

    pub fn take(&mut self, rep: u32) -> Option<Arc<KeptTerm>> {
        let taken = self.entries.get_mut(rep as usize).and_then(Option::take);
        if taken.is_some() {
            self.free.push(rep);
        }
        taken
    }
}

pub fn lock_table(table: &Mutex<HostTable>) -> wasmtime::Result<MutexGuard<'_, HostTable>> {
    table
        .lock()
        .map_err(|_| wasmtime::Error::new(Error::Poisoned(Lock::HostTable)))
}
