//! Reading a long result a page at a time into a channel, so that a day of fixes at 10 Hz is
//! never in memory at once: each page starts after the last row of the one before (keyset
//! paging), and the reading stops when the receiver is dropped.

use std::future::Future;

use tokio::sync::mpsc;

use crate::Result;

/// Rows per page, and the channel's depth.
pub(crate) const PAGE: u32 = 2000;

/// Streams the rows `fetch(after, PAGE)` gives, page after page, `after` being the key
/// (`key_of`) of the last row of the page before (`None` for the first).
pub(crate) fn stream_pages<T, K, F, Fut>(mut fetch: F, key_of: fn(&T) -> K) -> mpsc::Receiver<Result<T>>
where
    T: Send + 'static,
    K: Send + 'static,
    F: FnMut(Option<K>, u32) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Vec<T>>> + Send,
{
    let (tx, rx) = mpsc::channel(PAGE as usize);
    tokio::spawn(async move {
        let mut after = None;
        loop {
            let page = match fetch(after.take(), PAGE).await {
                Ok(page) => page,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            let last = page.last().map(key_of);
            let full = page.len() == PAGE as usize;
            for row in page {
                if tx.send(Ok(row)).await.is_err() {
                    return;
                }
            }
            match last {
                Some(last) if full => after = Some(last),
                _ => return,
            }
        }
    });
    rx
}
