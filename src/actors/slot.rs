//! A replaceable address: upstream actors send through a `Slot`, and the supervisor swaps in the
//! new actor when it rebuilds a failed one. Keeps concrete `Addr<Actor>` types out of other
//! modules' signatures (any `Recipient` can be put in a slot, fakes included).

use std::sync::{Arc, RwLock};

use actix::{Message, Recipient};

pub struct Slot<M: Message + Send>
where
    M::Result: Send,
{
    inner: Arc<RwLock<Option<Recipient<M>>>>,
}

impl<M: Message + Send> Clone for Slot<M>
where
    M::Result: Send,
{
    fn clone(&self) -> Self {
        Slot {
            inner: self.inner.clone(),
        }
    }
}

impl<M: Message + Send> Default for Slot<M>
where
    M::Result: Send,
{
    fn default() -> Self {
        Slot {
            inner: Arc::new(RwLock::new(None)),
        }
    }
}

impl<M: Message + Send + 'static> Slot<M>
where
    M::Result: Send,
{
    pub fn set(&self, recipient: Recipient<M>) {
        *self.inner.write().unwrap_or_else(|e| e.into_inner()) = Some(recipient);
    }

    pub fn get(&self) -> Option<Recipient<M>> {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Sends and waits for the handler (bounded mailboxes: a slow stage slows its sender). A
    /// message to a dead actor is dropped; its entries stay pending and are redelivered. The wait
    /// is recorded as `from`'s downstream wait (`pocketwatcher_downstream_wait_seconds`).
    pub async fn send(&self, from: &'static str, msg: M) -> bool {
        let started = std::time::Instant::now();
        let sent = match self.get() {
            Some(r) => r.send(msg).await.is_ok(),
            None => false,
        };
        metrics::histogram!(crate::metrics::DOWNSTREAM_WAIT_SECONDS, "stage" => from)
            .record(started.elapsed().as_secs_f64());
        sent
    }
}
