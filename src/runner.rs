//! Bounded concurrent fan-out: at most N items in flight, each on its own task, finished in
//! whatever order they finish (no item waits behind a slow one). It emits each result as an
//! event to the caller's callback and never prints.

use std::future::Future;

use futures::StreamExt;

/// Runs `work` over `items` with at most `concurrency` in flight, calling `on_done` with each
/// result as it finishes, on the caller's task.
pub async fn run<I, O, F, Fut>(
    items: Vec<I>,
    concurrency: usize,
    work: F,
    mut on_done: impl FnMut(O),
) where
    I: Send + 'static,
    O: Send + 'static,
    F: Fn(I) -> Fut,
    Fut: Future<Output = O> + Send + 'static,
{
    // `buffer_unordered` pulls the next item only when a slot frees, so items are started
    // lazily and memory holds only what is in flight.
    let mut results = futures::stream::iter(items)
        .map(|item| tokio::spawn(work(item)))
        .buffer_unordered(concurrency.max(1));
    while let Some(joined) = results.next().await {
        match joined {
            Ok(out) => on_done(out),
            // A panic in one target is a bug in this tool: surface it rather than lose a row.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[tokio::test]
    async fn slow_items_do_not_hold_back_fast_ones() {
        let mut order = vec![];
        let items = vec![300u64, 10, 10, 10];
        super::run(
            items,
            2,
            |ms| async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                ms
            },
            |ms| order.push(ms),
        )
        .await;
        assert_eq!(order, vec![10, 10, 10, 300]);
    }
}
