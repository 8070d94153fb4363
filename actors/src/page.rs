//! One page of a list, for every service: lists run in id order (ids are UUIDv7, so that is
//! creation order), and the last id of a page is where the next one starts.

use serde::Serialize;

/// One page of a list whose items are keyed by ids of type `C`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page<T, C> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as `after` to get the next page; `None` on the last one.
    pub next_cursor: Option<C>,
}
