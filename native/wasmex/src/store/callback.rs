//! The suspended host function's side of an Elixir import: `ask_elixir` leaves a `Request` in
//! the store's channel and waits; while it waits it serves the operations the callback sends
//! (`serve`), and returns the converted reply.
//!
//! Threading: runs inside the parked future, on whichever scheduler thread polls it, under the
//! store's slot mutex; the channel's own mutex is taken only briefly and never contended.

use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;

use wasmtime::AsContextMut;

use super::data::{Channel, Inbox, Outbox, StoreData, Waiting};
use super::op::{Request, Vals};
use crate::error::{Error, Lock};

/// Has the driving Elixir process run an import: leaves `request` in the store's channel,
/// serves the store operations the callback sends, and returns the callback's converted value.
pub async fn ask_elixir<C>(caller: &mut C, request: Arc<dyn Request>) -> wasmtime::Result<Vals>
where
    C: AsContextMut<Data = StoreData> + Send,
{
    let chan = caller.as_context_mut().data().chan.clone();
    let id = {
        let mut ch = lock(&chan)?;
        ch.next_id += 1;
        let id = ch.next_id;
        ch.waiting.push(Waiting {
            id,
            request: request.clone(),
        });
        ch.request = Some((request, id));
        id
    };
    let reply = serve(caller, &chan).await;
    lock(&chan)?.waiting.retain(|w| w.id != id);
    reply.map_err(wasmtime::Error::new)
}

fn lock(chan: &Mutex<Channel>) -> wasmtime::Result<MutexGuard<'_, Channel>> {
    chan.lock()
        .map_err(|_| wasmtime::Error::new(Error::Poisoned(Lock::Channel)))
}

/// Waits for the Elixir reply, executing the store operations the callback sends meanwhile.
async fn serve<C>(caller: &mut C, chan: &Arc<Mutex<Channel>>) -> std::result::Result<Vals, Error>
where
    C: AsContextMut<Data = StoreData> + Send,
{
    loop {
        let msg = std::future::poll_fn(|_| {
            let Ok(mut ch) = chan.lock() else {
                return Poll::Ready(None);
            };
            match ch.inbox.take() {
                Some(m) => {
                    ch.serving = false;
                    Poll::Ready(Some(m))
                }
                None => {
                    ch.serving = true;
                    Poll::Pending
                }
            }
        })
        .await;
        let out = match msg {
            None => return Err(Error::Poisoned(Lock::Channel)),
            Some(Inbox::Reply(r)) => return r,
            Some(Inbox::Op(op)) => Outbox::Op(op.run(caller.as_context_mut()).await),
            Some(Inbox::Sync(job)) => Outbox::Sync(job.run_job(caller.as_context_mut())),
        };
        if let Ok(mut ch) = chan.lock() {
            ch.outbox = Some(out);
        }
    }
}
