//! What the status worker counts about an ajp worker's backend traffic, as mod_jk's
//! jk_ajp_common counts it: the AJP bytes one request sent to and received from the backend
//! (every packet whole, header included: forward request, body chunks, CPing/CPong on the
//! request's behalf, and every reply packet), and the connections open to the backend.

use std::sync::Arc;

/// AJP bytes of one request (mod_jk `jk_endpoint_t` `wr` / `rd`, which `ajp_update_stats`
/// adds to the worker's `transferred` and `readed` whatever the request's outcome).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Traffic {
    /// Bytes of the packets sent whole to the backend (status worker `transferred`).
    pub sent: u64,
    /// Bytes received from the backend: each packet's 4-byte header once it arrived, its
    /// payload once complete (status worker `read`).
    pub received: u64,
}

impl Traffic {
    /// Both directions added.
    pub fn total(&self) -> u64 {
        self.sent.saturating_add(self.received)
    }
}

/// Where an endpoint reports the connections it opens and closes (mod_jk `connected` and
/// `max_connected`, kept in shared memory by the caller so every httpd child's connections
/// add up).
pub trait ConnectionCounter: Send + Sync {
    /// A connection to the backend was opened. The value returned comes back to
    /// [`closed`](ConnectionCounter::closed) when that connection closes.
    fn opened(&self) -> usize;
    /// The connection [`opened`](ConnectionCounter::opened) returned `token` for was closed.
    fn closed(&self, token: usize);
}

/// Held by an open connection: reports its close exactly once, however the connection ends
/// (shut down, dropped with its pool, or with a panicking request).
pub(crate) struct OpenMark {
    counter: Arc<dyn ConnectionCounter>,
    token: usize,
}

impl OpenMark {
    pub(crate) fn new(counter: &Arc<dyn ConnectionCounter>) -> OpenMark {
        OpenMark {
            token: counter.opened(),
            counter: Arc::clone(counter),
        }
    }
}

impl Drop for OpenMark {
    fn drop(&mut self) {
        self.counter.closed(self.token);
    }
}
