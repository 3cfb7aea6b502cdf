//! Clean-ups left by handles that were garbage collected (a guest resource's drop, see
//! `component::guest_resource`), run inside the next call on their store, before its own work.
//!
//! They run within that call's deadline, so they are bounded twice: a call takes at most
//! `MAX_DEFERRED_PER_CALL` of them, and stops running them once half of its time is gone,
//! handing the rest back for the following calls. Otherwise a call with a short timeout, made
//! just after thousands of handles were collected, would be stopped during the clean-ups, and a
//! stopped component call leaves its instance unusable: state lost for nothing the caller did.
//!
//! Threading: handles are dropped on whichever thread collects them (any scheduler); the queue
//! is a mutex plus a flag read without it on every call. Shared (`Arc`) with the call that runs
//! the jobs, which hands back the ones it left.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::op::Nested;

/// How many deferred jobs one call takes at most.
pub const MAX_DEFERRED_PER_CALL: usize = 256;

/// The store's queue of deferred jobs.
#[derive(Default)]
pub struct Deferred {
    jobs: Mutex<Vec<Box<dyn Nested>>>,
    /// Whether `jobs` may hold any, so that a call takes the lock only when there are some.
    pending: AtomicBool,
}

impl Deferred {
    /// Leaves `job` for the next call.
    pub fn push(&self, job: Box<dyn Nested>) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.push(job);
            self.pending.store(true, Ordering::Release);
        }
    }

    /// The oldest `MAX_DEFERRED_PER_CALL` jobs, taken (none without the lock when there are
    /// none); the rest wait for the following calls.
    pub fn take(&self) -> Vec<Box<dyn Nested>> {
        if !self.pending.swap(false, Ordering::AcqRel) {
            return Vec::new();
        }
        let Ok(mut jobs) = self.jobs.lock() else {
            return Vec::new();
        };
        if jobs.len() <= MAX_DEFERRED_PER_CALL {
            return std::mem::take(&mut *jobs);
        }
        let taken = jobs.drain(..MAX_DEFERRED_PER_CALL).collect();
        self.pending.store(true, Ordering::Release);
        taken
    }

    /// Puts back jobs a call took and did not run, ahead of the ones left since.
    pub fn give_back(&self, left: Vec<Box<dyn Nested>>) {
        if left.is_empty() {
            return;
        }
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.splice(0..0, left);
            self.pending.store(true, Ordering::Release);
        }
    }
}
