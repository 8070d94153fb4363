//! Set-up work spread over a bounded number of tasks.
//!
//! Registering thousands of cars or customers one at a time would take minutes (every
//! registration waits for a flush), and all at once would flood the mailboxes and the login
//! limiter; a fixed width lets group commit batch the flushes while the queue stays short.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `job(0..count)` with at most `width` jobs at a time and returns the results in index
/// order.
pub async fn map_concurrent<T, F, Fut>(count: usize, width: usize, job: F) -> Vec<T>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let job = Arc::new(job);
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..width.min(count))
        .map(|_| {
            let (job, next) = (job.clone(), next.clone());
            tokio::spawn(async move {
                let mut done = Vec::new();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= count {
                        return done;
                    }
                    done.push((index, job(index).await));
                }
            })
        })
        .collect();
    let mut results = Vec::with_capacity(count);
    for task in tasks {
        results.extend(task.await.expect("set-up task"));
    }
    results.sort_unstable_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}
