//! Resources in the conversion layer: how `own<T>` / `borrow<T>` positions are filled from terms
//! (`ResourcesIn`, the `convert::LowerResource` hook) and what resource values become
//! (`ResourcesOut`, the `convert::LiftResource` hook).
//!
//! Guest resources travel as `%GuestResource{}` handles (see `guest_resource`): going in, a
//! handle is checked (store, type, still ours) and noted as moved or borrowed; coming out of a
//! call, an owned resource becomes a new handle. Host resources (see `host_resource`) travel as
//! the Elixir terms that stand for them: an import's result registers its term in the store's
//! table, an import's argument gives the callback the term. Pure apart from that table, which is
//! behind its own mutex.

use std::sync::{Arc, Mutex};

use rustler::{Env, ResourceArc, Term};
use wasmtime::component::{ResourceAny, ResourceType, Val};

use super::guest_resource::{self, GuestResourceHandle};
use super::host_resource::payload_of;
use super::{ComponentInstanceResource, ExportedResource};
use crate::convert::{term_kind as kind, LiftResource, LowerResource};
use crate::error::{Error, Result};
use crate::store::host_table::HostTable;
use crate::store::StoreResource;
use crate::term::KeptTerm;

/// How `own<T>` and `borrow<T>` positions are filled while converting.
#[derive(Default)]
pub struct ResourcesIn<'r> {
    /// Arguments of a call into an instance: its store and exported resource types, for
    /// `%GuestResource{}` handles.
    guest: Option<(u64, &'r [ExportedResource])>,
    /// Results of an Elixir import: the table where host resource terms are registered.
    hosts: Option<&'r Mutex<HostTable>>,
    /// Guest handles given to `own<T>` positions: they move if the call starts.
    moved: Vec<ResourceArc<GuestResourceHandle>>,
    /// Guest handles given to `borrow<T>` positions.
    borrowed: Vec<ResourceArc<GuestResourceHandle>>,
    /// Host resource terms registered so far (removed again if the conversion fails).
    registered: Vec<u32>,
}

impl<'r> ResourcesIn<'r> {
    /// For the arguments of a call into an instance of store `store_id`.
    pub fn for_call(store_id: u64, exported: &'r [ExportedResource]) -> Self {
        ResourcesIn {
            guest: Some((store_id, exported)),
            ..Self::default()
        }
    }

    /// For the result of an Elixir import, registering host resource terms in `hosts`.
    pub fn for_import_result(hosts: &'r Mutex<HostTable>) -> Self {
        ResourcesIn {
            hosts: Some(hosts),
            ..Self::default()
        }
    }

    /// The guest handles given to `own<T>` positions (they move when the call starts).
    pub fn into_moved(self) -> Vec<ResourceArc<GuestResourceHandle>> {
        self.moved
    }

    /// Registers the term an Elixir import returned for a host resource; the value is its `rep`
    /// as a placeholder, which `host_resource::attach` turns into a handle.
    fn register(&mut self, term: Term, owned: bool) -> std::result::Result<Val, String> {
        if !owned {
            return Err("Returning borrowed host resources is not supported".into());
        }
        let Some(Ok(mut table)) = self.hosts.map(|h| h.lock()) else {
            return Err(
                "host resources can only be created by the Elixir imports that implement them"
                    .into(),
            );
        };
        let rep = table.insert(term);
        self.registered.push(rep);
        Ok(Val::U32(rep))
    }

    /// Checks the handles of a whole call: none moved while also borrowed (in particular, not
    /// the receiver of a method).
    pub fn check_moves(&self, receiver: Option<&GuestResourceHandle>) -> Result<()> {
        let moved = |r: &ResourceAny| self.moved.iter().any(|m| m.resource == *r);
        if receiver.is_some_and(|r| moved(&r.resource)) {
            return Err(Error::msg("Guest resource cannot move its own receiver"));
        }
        if self.borrowed.iter().any(|b| moved(&b.resource)) {
            return Err(Error::msg(
                "Guest resource cannot be borrowed and moved in the same call",
            ));
        }
        Ok(())
    }

    /// Forgets the host resource terms registered by a conversion that failed.
    pub fn rollback(&mut self) {
        if let Some(Ok(mut table)) = self.hosts.map(|h| h.lock()) {
            for rep in self.registered.drain(..) {
                table.take(rep);
            }
        }
    }
}

impl LowerResource for ResourcesIn<'_> {
    /// The value for `term` at an `own<T>` (`owned`) or `borrow<T>` position of type `rt`.
    fn lower(
        &mut self,
        term: Term,
        rt: &ResourceType,
        owned: bool,
    ) -> std::result::Result<Val, String> {
        if payload_of(rt).is_some() {
            return self.register(term, owned);
        }
        let Some(handle) = guest_resource::handle_of(term) else {
            return Err(format!("Could not convert {} to Resource", kind(term)));
        };
        let Some((store_id, exported)) = self.guest else {
            return Err("a guest resource cannot be passed here".into());
        };
        guest_resource::check(&handle, store_id, exported, rt)?;
        if owned {
            if self.moved.iter().any(|m| m.resource == handle.resource) {
                return Err("Guest resource cannot be moved more than once".into());
            }
            self.moved.push(handle.clone());
        } else {
            self.borrowed.push(handle.clone());
        }
        Ok(Val::Resource(handle.resource))
    }
}

/// What resources in a value become.
pub enum ResourcesOut<'r> {
    /// Results of a call into `instance`: owned resources become `%GuestResource{}` handles.
    Guest(
        &'r ResourceArc<StoreResource>,
        &'r ResourceArc<ComponentInstanceResource>,
    ),
    /// Arguments of an Elixir import: host resources become their terms.
    Host(&'r [(ResourceAny, Arc<KeptTerm>)]),
}

impl LiftResource for ResourcesOut<'_> {
    /// The term for the resource `r`.
    fn lift<'a>(&self, env: Env<'a>, r: &ResourceAny) -> Result<Term<'a>> {
        match self {
            ResourcesOut::Guest(store, instance) => {
                if !r.owned() {
                    return Err(Error::msg("A borrowed guest resource cannot escape a call"));
                }
                Ok(guest_resource::wrap(env, store, instance, *r))
            }
            ResourcesOut::Host(known) => match known.iter().find(|(any, _)| any == r) {
                Some((_, term)) => term.load(env),
                None => Ok(rustler::Encoder::encode(&"Unsupported type", env)),
            },
        }
    }
}
