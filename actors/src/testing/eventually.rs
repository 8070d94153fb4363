//! Waiting for what the system does in its own tasks: a deadline actor ending a rental once
//! the manual clock has passed it, an acknowledgement arriving. The condition is polled, with a
//! bound, rather than a fixed sleep that hopes the work is done by then.

use std::future::Future;
use std::time::Duration;

/// How often the condition is asked, and how many times before the test fails.
const POLL: Duration = Duration::from_millis(10);
const POLLS: u32 = 1_000;

/// Returns once `condition` holds; panics naming `what` if it still does not after ten seconds.
pub async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..POLLS {
        if condition().await {
            return;
        }
        tokio::time::sleep(POLL).await;
    }
    panic!("timed out waiting for: {what}");
}
