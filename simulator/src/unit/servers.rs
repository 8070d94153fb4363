//! The servers a unit may talk to (every node of a cluster), and the one it uses now.
//!
//! Both tasks move on to the next server together when the one in use fails: a follower answers
//! 503 `not-leader`, a dead node does not answer at all, and either way the leader is elsewhere.
//! The move is a compare-and-swap on the index that failed, so the two tasks failing at once
//! move one step, not two.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Server roots (`https://host[:port]`), checked, without trailing slashes.
#[derive(Debug)]
pub(crate) struct Servers {
    roots: Vec<String>,
    current: AtomicUsize,
}

impl Servers {
    /// The servers in the order they are tried; at least one.
    pub(crate) fn new(roots: Vec<String>) -> Self {
        Servers {
            roots,
            current: AtomicUsize::new(0),
        }
    }

    /// The server in use: its index (for [`Servers::failed`]) and root.
    pub(crate) fn current(&self) -> (usize, &str) {
        let index = self.current.load(Ordering::SeqCst) % self.roots.len().max(1);
        (index, self.roots.get(index).map_or("", String::as_str))
    }

    /// The server at `index` failed: the next one is used, unless another task moved on
    /// already.
    pub(crate) fn failed(&self, index: usize) {
        if self.roots.len() > 1 {
            let next = (index + 1) % self.roots.len();
            let _ = self
                .current
                .compare_exchange(index, next, Ordering::SeqCst, Ordering::SeqCst);
        }
    }
}

/// The WebSocket root of an HTTP root: `wss://` for `https://`, `ws://` for `http://`.
pub(crate) fn socket_root(root: &str) -> String {
    match root.strip_prefix("https://") {
        Some(host) => format!("wss://{host}"),
        None => format!("ws://{}", root.strip_prefix("http://").unwrap_or(root)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_moves_both_tasks_to_the_next_server_once_and_wraps_around() {
        let servers = Servers::new(vec!["http://a:1".into(), "http://b:1".into()]);
        assert_eq!(servers.current(), (0, "http://a:1"));
        // Both tasks saw server 0 fail: one step.
        servers.failed(0);
        servers.failed(0);
        assert_eq!(servers.current(), (1, "http://b:1"));
        servers.failed(1);
        assert_eq!(servers.current(), (0, "http://a:1"));
        let alone = Servers::new(vec!["https://only:443".into()]);
        alone.failed(0);
        assert_eq!(alone.current(), (0, "https://only:443"));
        assert_eq!(socket_root("https://only:443"), "wss://only:443");
        assert_eq!(socket_root("http://a:1"), "ws://a:1");
    }
}
