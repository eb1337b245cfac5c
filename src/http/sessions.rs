//! Legacy (`initialize`) sessions bound to the identity that opened them,
//! and bounded: a session id presented by another identity is refused, and
//! the number of open sessions is capped in total and per identity.
//!
//! [`OwnedSessions`] wraps rmcp's in-memory session manager to learn when
//! sessions close (DELETE, idle timeout, shutdown); the HTTP gate records
//! the owner when the `initialize` answer carries a new session id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::Stream;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::{RestoreOutcome, ServerSseMessage, SessionId};
use rmcp::transport::streamable_http_server::{SessionManager, session::EventStore};

/// Who owns which session, and the caps.
#[derive(Debug)]
pub struct SessionBook {
    inner: Mutex<Book>,
    pub max_total: usize,
    pub max_per_owner: usize,
}

#[derive(Debug, Default)]
struct Book {
    owners: HashMap<String, Arc<str>>,
    per_owner: HashMap<Arc<str>, usize>,
    /// Sessions being opened (initialize in flight), counted against the caps.
    pending: usize,
    pending_per_owner: HashMap<Arc<str>, usize>,
}

/// Why a new session is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Full {
    /// The server-wide cap (503).
    Total(usize),
    /// This identity's cap (429).
    Owner(usize),
}

/// A place for one new session, released on drop unless confirmed.
pub struct Reservation {
    book: Arc<SessionBook>,
    owner: Arc<str>,
    done: bool,
}

impl Reservation {
    /// The `initialize` answer named session `id`: it now belongs to the owner.
    pub fn confirm(mut self, id: &str) {
        self.done = true;
        let mut b = self.book.lock();
        release_pending(&mut b, &self.owner);
        if b.owners.insert(id.to_string(), self.owner.clone()).is_none() {
            *b.per_owner.entry(self.owner.clone()).or_default() += 1;
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.done {
            let mut b = self.book.lock();
            release_pending(&mut b, &self.owner);
        }
    }
}

fn release_pending(b: &mut Book, owner: &Arc<str>) {
    b.pending = b.pending.saturating_sub(1);
    if let Some(n) = b.pending_per_owner.get_mut(owner) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            b.pending_per_owner.remove(owner);
        }
    }
}

impl SessionBook {
    pub fn new(max_total: usize, max_per_owner: usize) -> Arc<SessionBook> {
        Arc::new(SessionBook {
            inner: Mutex::new(Book::default()),
            max_total,
            max_per_owner,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Book> {
        // A panic while holding this lock cannot leave the map inconsistent
        // in a way that matters more than refusing service.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The owner of a session, if the session is open.
    pub fn owner(&self, id: &str) -> Option<Arc<str>> {
        self.lock().owners.get(id).cloned()
    }

    /// Open sessions (confirmed).
    pub fn open(&self) -> usize {
        self.lock().owners.len()
    }

    /// Reserves a place for a new session of `owner`.
    pub fn reserve(self: &Arc<Self>, owner: Arc<str>) -> Result<Reservation, Full> {
        let mut b = self.lock();
        if b.owners.len() + b.pending >= self.max_total {
            return Err(Full::Total(self.max_total));
        }
        let mine =
            b.per_owner.get(&owner).copied().unwrap_or(0) + b.pending_per_owner.get(&owner).copied().unwrap_or(0);
        if mine >= self.max_per_owner {
            return Err(Full::Owner(self.max_per_owner));
        }
        b.pending += 1;
        *b.pending_per_owner.entry(owner.clone()).or_default() += 1;
        drop(b);
        Ok(Reservation {
            book: self.clone(),
            owner,
            done: false,
        })
    }

    fn closed(&self, id: &str) {
        let mut b = self.lock();
        if let Some(owner) = b.owners.remove(id)
            && let Some(n) = b.per_owner.get_mut(&owner)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                b.per_owner.remove(&owner);
            }
        }
    }
}

/// rmcp's local session manager, reporting closed sessions to the book.
pub struct OwnedSessions {
    inner: LocalSessionManager,
    book: Arc<SessionBook>,
}

impl OwnedSessions {
    pub fn new(inner: LocalSessionManager, book: Arc<SessionBook>) -> OwnedSessions {
        OwnedSessions { inner, book }
    }
}

impl SessionManager for OwnedSessions {
    type Error = <LocalSessionManager as SessionManager>::Error;
    type Transport = <LocalSessionManager as SessionManager>::Transport;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        self.inner.create_session().await
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        self.inner.initialize_session(id, message).await
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        self.inner.has_session(id).await
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        let r = self.inner.close_session(id).await;
        self.book.closed(id.as_ref());
        r
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner.create_stream(id, message).await
    }

    async fn accept_message(&self, id: &SessionId, message: ClientJsonRpcMessage) -> Result<(), Self::Error> {
        self.inner.accept_message(id, message).await
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner.create_standalone_stream(id).await
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner.resume(id, last_event_id).await
    }

    async fn restore_session(&self, _id: SessionId) -> Result<RestoreOutcome<Self::Transport>, Self::Error> {
        // No external store: a session lives on the replica that opened it.
        Ok(RestoreOutcome::NotSupported)
    }

    fn event_store(&self) -> Option<Arc<dyn EventStore>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_and_ownership() {
        let book = SessionBook::new(3, 2);
        let a: Arc<str> = Arc::from("alice");
        let b: Arc<str> = Arc::from("bob");
        book.reserve(a.clone()).unwrap().confirm("s1");
        let r2 = book.reserve(a.clone()).unwrap();
        // The pending reservation counts against alice's cap.
        assert_eq!(book.reserve(a.clone()).err(), Some(Full::Owner(2)));
        r2.confirm("s2");
        assert_eq!(book.owner("s1").as_deref(), Some("alice"));
        let r3 = book.reserve(b.clone()).unwrap();
        assert_eq!(book.reserve(b.clone()).err(), Some(Full::Total(3)));
        drop(r3); // initialize failed: the place is free again
        book.reserve(b.clone()).unwrap().confirm("s3");
        assert_eq!(book.open(), 3);
        book.closed("s1");
        assert_eq!(book.owner("s1"), None);
        book.reserve(a).unwrap().confirm("s4");
        assert_eq!(book.owner("s3").as_deref(), Some("bob"));
    }
}
