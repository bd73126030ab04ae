//! One answer per key, shared by every target that asks: the first asks AWS, the others wait
//! for its answer (preflight's and the node check's caches).

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

pub(crate) struct Cache<K, T> {
    cells: Mutex<HashMap<K, Arc<OnceCell<T>>>>,
}

impl<K: Eq + Hash, T: Clone> Cache<K, T> {
    pub(crate) fn new() -> Self {
        Self {
            cells: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) async fn get<Fut: Future<Output = T>>(
        &self,
        key: K,
        fetch: impl FnOnce() -> Fut,
    ) -> T {
        let cell = self
            .cells
            .lock()
            .expect("not poisoned")
            .entry(key)
            .or_default()
            .clone();
        cell.get_or_init(fetch).await.clone()
    }

    /// Forgets the answer to `key`: one no other target will ask for again, not kept for the
    /// rest of the run.
    pub(crate) fn forget(&self, key: &K) {
        self.cells.lock().expect("not poisoned").remove(key);
    }
}

impl<K: Eq + Hash, T: Clone> Default for Cache<K, T> {
    fn default() -> Self {
        Self::new()
    }
}
